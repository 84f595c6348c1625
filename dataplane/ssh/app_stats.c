/*
 * The SSH application's counters as the control plane reads them.
 *
 * These run on the control or telemetry thread and read worker-owned memory
 * with plain loads: a figure may be a pass old, and a session's counters are
 * copied only when the handle still names that session (the slot's
 * generation is checked first). Publishing tear-free snapshots is the control
 * plane issue's work (docs/ARCHITECTURE.md, ownership).
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

void st_sshapp_worker_stats(const struct st_sshapp *app, unsigned worker,
			    struct st_sshapp_stats *out,
			    const struct st_wsess_worker_stats **wstats)
{
	const struct st_sshapp_worker *aw = worker < DP_MAX_WORKERS ? app->w[worker] : NULL;
	struct tcp_worker_info ti;

	memset(out, 0, sizeof(*out));
	*wstats = NULL;
	if (aw == NULL)
		return;
	memcpy(out->counters, aw->cnt, sizeof(out->counters));
	out->sessions_active = aw->active;
	out->sessions_max = aw->nsess;
	tcp_worker_info(aw->w->tcp, &ti);
	out->tcp_orphans = ti.orphans;
	out->tcp_time_wait = ti.time_wait;
	out->tcp_ooo_bytes = ti.ooo_bytes;
	if (aw->seal_pool != NULL) {
		out->seal_mbufs_in_use = rte_mempool_in_use_count(aw->seal_pool);
		out->seal_mbufs = aw->seal_pool->size;
	}
	*wstats = &aw->wstats;
}

int st_sshapp_session_stats(const struct st_sshapp *app, struct st_conn_handle h,
			    struct st_wsess_stats *out)
{
	const struct st_sshapp_worker *aw = h.worker < DP_MAX_WORKERS ? app->w[h.worker] : NULL;
	if (aw == NULL || h.slot >= aw->nsess)
		return ST_ERR_STALE;
	const struct sess *s = &aw->sess[h.slot];
	if (!s->active || s->gen != h.gen)
		return ST_ERR_STALE;
	*out = s->ws.st;
	return ST_OK;
}
