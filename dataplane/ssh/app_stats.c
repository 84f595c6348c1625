/*
 * The SSH application's counters as other threads see them: the worker
 * publishes snapshots (single-writer seqcounts in memory the app allocated at
 * init, which outlives the worker's own state), and readers copy them. No
 * reader touches a worker's st_sshapp_worker or its sessions.
 */
#include <string.h>

#include <rte_mempool.h>

#include "crypto/err.h"
#include "dataplane/ssh/app_internal.h"

const char *st_sshapp_counter_name(enum st_sshapp_counter c)
{
	switch (c) {
#define ST_SSHAPP_CASE(name, text) \
	case ST_SSHAPP_##name:     \
		return #name;
		ST_SSHAPP_COUNTERS(ST_SSHAPP_CASE)
#undef ST_SSHAPP_CASE
	default:
		return "unknown";
	}
}

void st_app_publish(struct st_sshapp_worker *aw)
{
	struct st_sshapp_pub *p = aw->app->pub[aw->w->id];
	struct tcp_worker_info ti;

	tcp_worker_info(aw->w->tcp, &ti);
	st_seq_write_begin(&p->sc);
	memcpy(p->as.counters, aw->cnt, sizeof(p->as.counters));
	p->as.sessions_active = aw->active;
	p->as.sessions_max = aw->nsess;
	p->as.tcp_orphans = ti.orphans;
	p->as.tcp_time_wait = ti.time_wait;
	p->as.tcp_ooo_bytes = ti.ooo_bytes;
	p->as.seal_mbufs_in_use = rte_mempool_in_use_count(aw->seal_pool);
	p->as.seal_mbufs = aw->seal_pool->size;
	p->ws = aw->wstats;
	st_seq_write_end(&p->sc);
}

void st_app_sess_publish(const struct sess *s, uint32_t gen)
{
	struct st_sess_pub *p = &s->aw->app->sess_pub[s->aw->w->id][s->slot];

	struct st_wsess_stats st = s->ws.st;
	struct st_chan_windows cw;
	struct tcp_conn_info ti;

	if (gen != 0) {
		st_chan_table_windows(&s->ws.chans, &cw);
		st.chan_window = cw.local;
		st.chan_window_peer = cw.remote;
		st.chan_window_grown = s->ws.chans.cnt[ST_CHAN_CNT_WINDOW_GROWN];
		if (s->tcp != 0 && tcp_conn_info(s->aw->w->tcp, s->tcp, &ti) == ST_OK) {
			st.tcp_rcv_wnd = ti.rcv_wnd;
			st.tcp_snd_wnd = ti.snd_wnd;
			st.tcp_snd_buf = ti.snd_buf;
			st.rtt_ms = tcp_conn_rtt_ms(s->aw->w->tcp, s->tcp);
		}
	}
	st_seq_write_begin(&p->sc);
	p->gen = gen;
	p->st = st;
	st_seq_write_end(&p->sc);
}

void st_sshapp_worker_stats(const struct st_sshapp *app, unsigned worker,
			    struct st_sshapp_stats *out, struct st_wsess_worker_stats *wstats)
{
	const struct st_sshapp_pub *p = worker < DP_MAX_WORKERS ? app->pub[worker] : NULL;
	uint32_t sn;

	memset(out, 0, sizeof(*out));
	memset(wstats, 0, sizeof(*wstats));
	if (p == NULL)
		return;
	do {
		sn = st_seq_read_begin(&p->sc);
		memcpy(out, &p->as, sizeof(*out));
		memcpy(wstats, &p->ws, sizeof(*wstats));
	} while (st_seq_read_retry(&p->sc, sn));
}

int st_sshapp_session_stats(const struct st_sshapp *app, struct st_conn_handle h,
			    struct st_wsess_stats *out)
{
	if (h.worker >= DP_MAX_WORKERS || app->sess_pub[h.worker] == NULL ||
	    h.slot >= app->max_sessions)
		return ST_ERR_STALE;
	const struct st_sess_pub *p = &app->sess_pub[h.worker][h.slot];
	uint32_t sn, gen;
	do {
		sn = st_seq_read_begin(&p->sc);
		gen = p->gen;
		memcpy(out, &p->st, sizeof(*out));
	} while (st_seq_read_retry(&p->sc, sn));
	if (gen != h.gen) {
		memset(out, 0, sizeof(*out));
		return ST_ERR_STALE;
	}
	return ST_OK;
}
