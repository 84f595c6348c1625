#define _GNU_SOURCE /* pthread_setname_np */
#include "control/ctlplane.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring.h>

#include "control/ctlsock.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "dataplane/ssh/msg.h"

#define UP_BURST 64
#define TICK_MS 100
#define SHUTDOWN_GRACE_MS 3000
#define DOWN_RETRY_US 10000 /* how long a full down ring may hold the control plane */

struct st_ctlplane_sess {
	struct st_ctl_conn *conn;          /* NULL: free */
	struct st_daemon_conf *conf;       /* the config it started with */
	uint64_t id;
	struct st_conn_handle h;           /* the worker connection it mirrors */
	char peer[ST_IP_STR];
	uint16_t peer_port;
	uint8_t authed;                    /* counted out of cp->unauth */
	time_t since;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void st_ctlplane_log(void *ctx, int level, const char *line)
{
	const struct st_ctlplane *cp = ctx;
	if (level > LOG_INFO && (cp == NULL || !cp->debug))
		return;
	fprintf(stderr, "sshterm[%d]: %s\n", (int)getpid(), line);
}

static void logf_(struct st_ctlplane *cp, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(struct st_ctlplane *cp, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st_ctlplane_log(cp, level, line);
}

/* printf into an st_buf; silently truncates at the buffer's cap. */
static void bprintf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct st_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		st_buf_put_bytes(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- config lifetime across reloads ---- */

static void conf_release(struct st_ctlplane *cp, struct st_daemon_conf *c)
{
	if (c == cp->conf)
		return;
	for (int i = 0; i < ST_CTLPLANE_MAX_RETIRED; i++) {
		if (cp->retired[i].conf == c && --cp->retired[i].users == 0) {
			st_daemon_conf_free(c);
			free(c);
			cp->retired[i].conf = NULL;
		}
	}
}

static unsigned conf_users(struct st_ctlplane *cp, const struct st_daemon_conf *c)
{
	unsigned n = 0;
	for (unsigned w = 0; w < cp->nb_workers; w++)
		for (uint32_t i = 0; i < cp->max_sessions; i++)
			n += cp->sess[w][i].conn != NULL && cp->sess[w][i].conf == c;
	return n;
}

/*
 * Re-reads the configuration file and the host keys it names. New
 * connections use the new host keys; live sessions keep theirs (and the old
 * config) until they end. authorized_keys files are read at every
 * authentication attempt, so they need nothing here. Listen address, port
 * and interface settings are not changed by a reload.
 */
static int do_reload(struct st_ctlplane *cp, char *err, size_t errsz)
{
	struct st_daemon_conf *n = calloc(1, sizeof(*n));
	int r, slot = -1;

	if (n == NULL)
		return ST_ERR_ALLOC;
	st_daemon_conf_init(n);
	if ((r = st_daemon_conf_load(n, cp->conf_path, err, errsz)) != ST_OK ||
	    (r = st_daemon_conf_load_hostkeys(n, err, errsz)) != ST_OK)
		goto fail;
	unsigned users = conf_users(cp, cp->conf);
	if (users > 0) {
		for (int i = 0; i < ST_CTLPLANE_MAX_RETIRED && slot < 0; i++)
			if (cp->retired[i].conf == NULL)
				slot = i;
		if (slot < 0) {
			snprintf(err, errsz, "too many reloads while old sessions are still open");
			r = ST_ERR_NO_SPACE;
			goto fail;
		}
		cp->retired[slot].conf = cp->conf;
		cp->retired[slot].users = users;
	} else {
		st_daemon_conf_free(cp->conf);
		free(cp->conf);
	}
	cp->conf = n;
	logf_(cp, LOG_INFO, "Received reload: %u host key(s) loaded from %s", n->ctl.n_hostkeys,
	      cp->conf_path);
	return ST_OK;
fail:
	st_daemon_conf_free(n);
	free(n);
	return r;
}

/* ---- messages to and from the workers ---- */

static int down_deliver(void *ctx, struct st_plane_msg *m)
{
	struct st_ctlplane *cp = ctx;
	unsigned w = m->conn.worker;
	uint64_t deadline = 0;

	if (w >= cp->nb_workers) {
		st_plane_msg_free(m);
		return ST_ERR_INVALID_ARGUMENT;
	}
	/* The worker drains its ring every pass; a full ring is a brief state. */
	while (rte_ring_sp_enqueue(cp->app->down[w], m) != 0) {
		uint64_t now = mono_ms() * 1000;
		if (deadline == 0)
			deadline = now + DOWN_RETRY_US;
		if (now >= deadline) {
			st_plane_msg_free(m);
			return ST_ERR_NO_SPACE;
		}
		usleep(50);
	}
	dp_idle_kick(dp_worker_get(cp->dp, w)); /* a sleeping worker wakes for it */
	return ST_OK;
}

static struct st_ctlplane_sess *sess_of(struct st_ctlplane *cp, struct st_conn_handle h)
{
	if (h.worker >= cp->nb_workers || h.slot >= cp->max_sessions)
		return NULL;
	struct st_ctlplane_sess *s = &cp->sess[h.worker][h.slot];
	return s->conn != NULL && s->h.gen == h.gen ? s : NULL;
}

static void sess_end(struct st_ctlplane *cp, struct st_ctlplane_sess *s)
{
	if (!s->authed && cp->unauth > 0)
		cp->unauth--;
	st_ctl_conn_free(s->conn);
	s->conn = NULL;
	conf_release(cp, s->conf);
	s->conf = NULL;
}

/*
 * MaxStartups start:rate:full, as sshd applies it: below `start`
 * unauthenticated connections everything is accepted, from `start` on a new
 * one is refused with probability rate% rising linearly to 100% at `full`.
 */
static int startup_refused(const struct st_ctlplane *cp)
{
	const struct st_daemon_conf *c = cp->conf;
	unsigned n = cp->unauth;

	if (n < c->max_startups_begin)
		return 0;
	if (n >= c->max_startups_full)
		return 1;
	unsigned span = c->max_startups_full - c->max_startups_begin;
	unsigned p = c->max_startups_rate +
		     (100 - c->max_startups_rate) * (n - c->max_startups_begin) / (span ? span : 1);
	return (unsigned)(random() % 100) < p;
}

/* Refuses a new connection before any key exchange: DISCONNECT, then close. */
static void refuse_startup(struct st_ctlplane *cp, const struct st_plane_msg *m)
{
	uint8_t pl[96];
	struct st_buf b;

	st_buf_wrap(&b, pl, sizeof(pl));
	st_buf_put_u8(&b, SSH_MSG_DISCONNECT);
	st_buf_put_u32(&b, SSH_DISCONNECT_TOO_MANY_CONNECTIONS);
	st_buf_put_cstring(&b, "too many unauthenticated connections");
	st_buf_put_cstring(&b, "");
	struct st_plane_msg *c = st_plane_msg_new(ST_DOWN_CLOSE, m->conn, pl, (uint32_t)b.len);
	if (c != NULL)
		down_deliver(cp, c);
	cp->startups_dropped++;
	logf_(cp, LOG_NOTICE, "drop connection #%llu from [%s]:%u on [%s]:%u past MaxStartups",
	      (unsigned long long)cp->startups_dropped, m->u.open.peer_ip, m->u.open.peer_port,
	      m->u.open.local_ip, m->u.open.local_port);
}

static void handle_up(struct st_ctlplane *cp, struct st_plane_msg *m)
{
	struct st_plane_sink down = {down_deliver, cp};
	struct st_ctl_log log = {st_ctlplane_log, cp};
	struct st_ctlplane_sess *s;

	if (m->type == ST_UP_OPEN) {
		if (m->conn.worker >= cp->nb_workers || m->conn.slot >= cp->max_sessions) {
			st_plane_msg_free(m);
			return;
		}
		s = &cp->sess[m->conn.worker][m->conn.slot];
		if (s->conn != NULL)
			sess_end(cp, s); /* the worker reused the slot: the old one is gone */
		if (startup_refused(cp)) {
			refuse_startup(cp, m);
			st_plane_msg_free(m);
			return;
		}
		s->conn = st_ctl_conn_new(&cp->conf->ctl, m->conn, &down, &log, &cp->stats);
		if (s->conn == NULL) {
			struct st_plane_msg *c = st_plane_msg_new(ST_DOWN_CLOSE, m->conn, NULL, 0);
			if (c != NULL)
				down_deliver(cp, c);
			st_plane_msg_free(m);
			return;
		}
		s->conf = cp->conf;
		s->authed = 0;
		cp->unauth++;
		s->h = m->conn;
		s->id = ++cp->next_id;
		s->since = time(NULL);
		snprintf(s->peer, sizeof(s->peer), "%s", m->u.open.peer_ip);
		s->peer_port = m->u.open.peer_port;
	} else if ((s = sess_of(cp, m->conn)) == NULL) {
		st_plane_msg_free(m);
		return;
	}
	st_ctl_conn_input(s->conn, m);
	if (!s->authed && st_ctl_conn_user(s->conn) != NULL) {
		s->authed = 1;
		cp->unauth--;
	}
	if (st_ctl_conn_done(s->conn))
		sess_end(cp, s);
}

static int pump_up(struct st_ctlplane *cp)
{
	void *msgs[UP_BURST];
	int work = 0;

	for (unsigned w = 0; w < cp->nb_workers; w++) {
		unsigned n = rte_ring_sc_dequeue_burst(cp->app->up[w], msgs, UP_BURST, NULL);
		for (unsigned i = 0; i < n; i++)
			handle_up(cp, msgs[i]);
		work += (int)n;
	}
	return work;
}

static unsigned count_sessions(struct st_ctlplane *cp, unsigned *authed)
{
	unsigned n = 0, a = 0;
	for (unsigned w = 0; w < cp->nb_workers; w++)
		for (uint32_t i = 0; i < cp->max_sessions; i++) {
			struct st_ctlplane_sess *s = &cp->sess[w][i];
			if (s->conn == NULL)
				continue;
			n++;
			a += st_ctl_conn_user(s->conn) != NULL;
		}
	if (authed != NULL)
		*authed = a;
	return n;
}

/* ---- operator commands ---- */

static int has_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			return 1;
	return 0;
}

static struct st_ctlplane_sess *find_id(struct st_ctlplane *cp, const char *id)
{
	char *end;
	unsigned long long v = strtoull(id, &end, 10);
	if (*id == '\0' || *end != '\0')
		return NULL;
	for (unsigned w = 0; w < cp->nb_workers; w++)
		for (uint32_t i = 0; i < cp->max_sessions; i++)
			if (cp->sess[w][i].conn != NULL && cp->sess[w][i].id == v)
				return &cp->sess[w][i];
	return NULL;
}

static int cmd_status(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	unsigned authed, n = count_sessions(cp, &authed);
	long up = (long)(time(NULL) - cp->started);

	if (has_json(argc, argv)) {
		bprintf(out,
			"{\"version\":\"%s\",\"uptime_s\":%ld,\"workers\":%u,\"address\":\"%s/%u\","
			"\"port\":%u,\"sessions\":%u,\"authenticated\":%u,\"config\":\"%s\"}\n",
			cp->conf->ctl.version, up, cp->nb_workers, cp->conf->address,
			cp->conf->prefix_len, cp->app->listen_port, n, authed, cp->conf_path);
		return ST_OK;
	}
	bprintf(out, "version        %s\n", cp->conf->ctl.version);
	bprintf(out, "uptime         %ld s\n", up);
	bprintf(out, "workers        %u\n", cp->nb_workers);
	bprintf(out, "address        %s/%u\n", cp->conf->address, cp->conf->prefix_len);
	bprintf(out, "listening      port %u\n", cp->app->listen_port);
	bprintf(out, "sessions       %u (%u authenticated)\n", n, authed);
	bprintf(out, "host keys      %u\n", cp->conf->ctl.n_hostkeys);
	bprintf(out, "config         %s\n", cp->conf_path);
	return ST_OK;
}

static void session_line(struct st_ctlplane *cp, struct st_ctlplane_sess *s, int json,
			 struct st_buf *out)
{
	struct st_wsess_stats ws;
	const char *user = st_ctl_conn_user(s->conn);
	unsigned w = s->h.worker;
	int have = st_sshapp_session_stats(cp->app, s->h, &ws) == ST_OK;
	long age = (long)(time(NULL) - s->since);
	char algs[256];

	if (!have)
		memset(&ws, 0, sizeof(ws));
	st_ctl_conn_algorithms(s->conn, algs, sizeof(algs));
	unsigned long long chans = ws.channels_bound - ws.channels_closed;
	if (json)
		bprintf(out,
			"{\"id\":%llu,\"user\":\"%s\",\"peer\":\"%s\",\"port\":%u,\"worker\":%u,"
			"\"age_s\":%ld,\"algorithms\":\"%s\",\"channels\":%llu,\"bytes_in\":%llu,"
			"\"bytes_out\":%llu,\"packets_in\":%llu,\"packets_out\":%llu,"
			"\"key_exchanges\":%llu}",
			(unsigned long long)s->id, user ? user : "", s->peer, s->peer_port, w, age, algs,
			chans, (unsigned long long)ws.bytes_in, (unsigned long long)ws.bytes_out,
			(unsigned long long)ws.packets_in, (unsigned long long)ws.packets_out,
			(unsigned long long)ws.kex_done);
	else
		bprintf(out, "%-6llu %-12s %-22s %-6u %-8ld %-4llu %-14llu %-14llu %s\n",
			(unsigned long long)s->id, user ? user : "(auth)", s->peer, w, age, chans,
			(unsigned long long)ws.bytes_in, (unsigned long long)ws.bytes_out, algs);
}

#define SESSION_HEADER                                                                      \
	"%-6s %-12s %-22s %-6s %-8s %-4s %-14s %-14s %s\n", "ID", "USER", "PEER", "WORKER", "AGE_S", \
		"CHAN", "BYTES_IN", "BYTES_OUT", "ALGORITHMS"

static int cmd_sessions(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	int json = has_json(argc, argv), first = 1;

	if (json)
		bprintf(out, "[");
	else
		bprintf(out, SESSION_HEADER);
	for (unsigned w = 0; w < cp->nb_workers; w++)
		for (uint32_t i = 0; i < cp->max_sessions; i++) {
			struct st_ctlplane_sess *s = &cp->sess[w][i];
			if (s->conn == NULL)
				continue;
			if (json && !first)
				bprintf(out, ",");
			first = 0;
			session_line(cp, s, json, out);
		}
	if (json)
		bprintf(out, "]\n");
	return ST_OK;
}

static struct st_ctlplane_sess *arg_session(struct st_ctlplane *cp, int argc, char **argv,
					     struct st_buf *out)
{
	struct st_ctlplane_sess *s = argc >= 2 ? find_id(cp, argv[1]) : NULL;
	if (s == NULL)
		bprintf(out, "no session '%s'", argc >= 2 ? argv[1] : "");
	return s;
}

static int cmd_session(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	struct st_ctlplane_sess *s = arg_session(cp, argc, argv, out);
	if (s == NULL)
		return ST_ERR_NOT_FOUND;
	int json = has_json(argc, argv);
	if (!json)
		bprintf(out, SESSION_HEADER);
	session_line(cp, s, json, out);
	if (json)
		bprintf(out, "\n");
	return ST_OK;
}

static int cmd_kill(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	struct st_ctlplane_sess *s = arg_session(cp, argc, argv, out);
	uint8_t pl[128];
	struct st_buf b;

	if (s == NULL)
		return ST_ERR_NOT_FOUND;
	/* SSH_MSG_DISCONNECT, BY_APPLICATION, description, language tag */
	st_buf_wrap(&b, pl, sizeof(pl));
	st_buf_put_u8(&b, SSH_MSG_DISCONNECT);
	st_buf_put_u32(&b, SSH_DISCONNECT_BY_APPLICATION);
	st_buf_put_cstring(&b, "killed by administrator");
	st_buf_put_cstring(&b, "");
	struct st_plane_msg *m = st_plane_msg_new(ST_DOWN_CLOSE, s->h, pl, (uint32_t)b.len);
	if (m == NULL || down_deliver(cp, m) != ST_OK) {
		bprintf(out, "could not reach the worker");
		return ST_ERR_NO_SPACE;
	}
	logf_(cp, LOG_INFO, "Session %llu (%s port %u) killed by administrator",
	      (unsigned long long)s->id, s->peer, s->peer_port);
	bprintf(out, "session %llu: disconnecting\n", (unsigned long long)s->id);
	return ST_OK;
}

static int cmd_rekey(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	struct st_ctlplane_sess *s = arg_session(cp, argc, argv, out);
	if (s == NULL)
		return ST_ERR_NOT_FOUND;
	/* The same path as a RekeyLimit reached on the worker. */
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_REKEY_DUE, s->h, NULL, 0);
	if (m == NULL)
		return ST_ERR_ALLOC;
	st_ctl_conn_input(s->conn, m);
	if (st_ctl_conn_done(s->conn)) {
		sess_end(cp, s);
		bprintf(out, "session ended");
		return ST_ERR_STATE;
	}
	bprintf(out, "session %llu: key exchange started\n", (unsigned long long)s->id);
	return ST_OK;
}

static int cmd_reload(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	char err[ST_CONF_ERR_MAX];
	(void)argc;
	(void)argv;
	int r = do_reload(cp, err, sizeof(err));
	if (r != ST_OK) {
		bprintf(out, "reload failed, old configuration kept: %s", err);
		return r;
	}
	bprintf(out, "reloaded %s: %u host key(s); live sessions kept\n", cp->conf_path,
		cp->conf->ctl.n_hostkeys);
	return ST_OK;
}

static int cmd_stats(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	int json = has_json(argc, argv);

	if (json)
		bprintf(out, "{\"workers\":[");
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		struct dp_worker *dw = dp_worker_get(cp->dp, w);
		const struct dp_stats *st = dw != NULL ? dw->st : NULL;
		struct st_sshapp_stats as;
		const struct st_wsess_worker_stats *ws;
		if (st == NULL)
			continue;
		st_sshapp_worker_stats(cp->app, w, &as, &ws);
		uint64_t pkts = st->rx_pkts + st->tx_pkts, bytes = st->rx_bytes + st->tx_bytes;
		double cpp = pkts ? (double)st->busy_tsc / (double)pkts : 0;
		double cpb = bytes ? (double)st->busy_tsc / (double)bytes : 0;
		double busy = st->busy_tsc + st->idle_tsc
				      ? 100.0 * (double)st->busy_tsc /
						(double)(st->busy_tsc + st->idle_tsc)
				      : 0;
		if (json) {
			bprintf(out,
				"%s{\"worker\":%u,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
				"\"tx_packets\":%llu,\"tx_bytes\":%llu,\"busy_cycles\":%llu,"
				"\"idle_cycles\":%llu,\"cycles_per_packet\":%.1f,"
				"\"cycles_per_byte\":%.3f,\"busy_percent\":%.1f,"
				"\"io_cycles\":%llu,\"app_cycles\":%llu,\"crypto_cycles\":%llu,"
				"\"service_cycles\":%llu,"
				"\"sessions\":%u,\"tcp_retransmits\":%llu,\"drops\":{",
				w ? "," : "", w, (unsigned long long)st->rx_pkts,
				(unsigned long long)st->rx_bytes, (unsigned long long)st->tx_pkts,
				(unsigned long long)st->tx_bytes, (unsigned long long)st->busy_tsc,
				(unsigned long long)st->idle_tsc, cpp, cpb, busy,
				(unsigned long long)st->io_tsc, (unsigned long long)st->app_tsc,
				(unsigned long long)st->crypto_tsc,
				(unsigned long long)st->service_tsc, as.sessions_active,
				(unsigned long long)st->ctr[DP_CTR_TCP_RETRANS]);
			int first = 1;
			for (unsigned d = 1; d < DP_DROP_MAX; d++)
				if (st->drop[d]) {
					bprintf(out, "%s\"%s\":%llu", first ? "" : ",", dp_drop_name(d),
						(unsigned long long)st->drop[d]);
					first = 0;
				}
			bprintf(out, "},\"counters\":{");
			first = 1;
			for (unsigned c = 0; c < DP_CTR_MAX; c++)
				if (st->ctr[c]) {
					bprintf(out, "%s\"%s\":%llu", first ? "" : ",", dp_ctr_name(c),
						(unsigned long long)st->ctr[c]);
					first = 0;
				}
			bprintf(out,
				"},\"tcp\":{\"time_wait\":%u,\"orphans\":%u,\"ooo_bytes\":%llu},"
				"\"seal_mbufs\":{\"size\":%u,\"in_use\":%u},\"app\":{",
				as.tcp_time_wait, as.tcp_orphans, (unsigned long long)as.tcp_ooo_bytes,
				as.seal_mbufs, as.seal_mbufs_in_use);
			for (unsigned c = 0; c < ST_SSHAPP_COUNTER_COUNT; c++)
				bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_sshapp_counter_name(c),
					(unsigned long long)as.counters[c]);
			bprintf(out, "},\"closes\":{");
			for (unsigned c = 0; ws != NULL && c < ST_CLOSE_REASON_COUNT; c++)
				bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_close_reason_str(c),
					(unsigned long long)ws->closes[c]);
			bprintf(out, "}}");
			continue;
		}
		bprintf(out, "worker %u\n", w);
		bprintf(out, "  packets      rx %llu  tx %llu\n", (unsigned long long)st->rx_pkts,
			(unsigned long long)st->tx_pkts);
		bprintf(out, "  bytes        rx %llu  tx %llu\n", (unsigned long long)st->rx_bytes,
			(unsigned long long)st->tx_bytes);
		bprintf(out, "  busy         %.1f%%  %.1f cycles/packet  %.3f cycles/byte\n", busy,
			cpp, cpb);
		if (st->busy_tsc)
			bprintf(out, "  busy split   pmd %.0f%%  ssh %.0f%%  record crypto %.0f%%"
				"  services %.0f%%  tcp+rest %.0f%%\n",
				100.0 * (double)st->io_tsc / (double)st->busy_tsc,
				100.0 * (double)(st->app_tsc - st->crypto_tsc - st->service_tsc) /
					(double)st->busy_tsc,
				100.0 * (double)st->crypto_tsc / (double)st->busy_tsc,
				100.0 * (double)st->service_tsc / (double)st->busy_tsc,
				100.0 * (double)(st->busy_tsc - st->io_tsc - st->app_tsc) /
					(double)st->busy_tsc);
		bprintf(out, "  sessions     %u of %u\n", as.sessions_active, as.sessions_max);
		bprintf(out, "  tcp          retransmits %llu  rto %llu  accepted %llu\n",
			(unsigned long long)st->ctr[DP_CTR_TCP_RETRANS],
			(unsigned long long)st->ctr[DP_CTR_TCP_RTO],
			(unsigned long long)st->ctr[DP_CTR_TCP_ACCEPTED]);
		for (unsigned d = 1; d < DP_DROP_MAX; d++)
			if (st->drop[d])
				bprintf(out, "  drop %-20s %llu  (%s)\n", dp_drop_name(d),
					(unsigned long long)st->drop[d], dp_drop_text(d));
		bprintf(out, "  tcp          time_wait %u  closing %u  out-of-order %llu bytes\n",
			as.tcp_time_wait, as.tcp_orphans, (unsigned long long)as.tcp_ooo_bytes);
		bprintf(out, "  seal mbufs   %u in use of %u\n", as.seal_mbufs_in_use, as.seal_mbufs);
		for (unsigned c = 0; c < DP_CTR_MAX; c++)
			if (st->ctr[c])
				bprintf(out, "  ctr  %-20s %llu  (%s)\n", dp_ctr_name(c),
					(unsigned long long)st->ctr[c], dp_ctr_text(c));
		for (unsigned c = 0; c < ST_SSHAPP_COUNTER_COUNT; c++)
			if (as.counters[c])
				bprintf(out, "  app  %-20s %llu\n", st_sshapp_counter_name(c),
					(unsigned long long)as.counters[c]);
		for (unsigned c = 0; ws != NULL && c < ST_CLOSE_REASON_COUNT; c++)
			if (ws->closes[c])
				bprintf(out, "  close %-30s %llu\n", st_close_reason_str(c),
					(unsigned long long)ws->closes[c]);
	}
	/* The record-layer crypto backend (counters only the cryptodev backend keeps). */
	const struct st_crypto_backend *be = cp->app->wcfg.be;
	struct st_crypto_stats cs;
	memset(&cs, 0, sizeof(cs));
	if (be->stats != NULL)
		be->stats(&cs);
	if (json)
		bprintf(out,
			"],\"crypto\":{\"backend\":\"%s\",\"ops\":%llu,\"bytes\":%llu,"
			"\"auth_fail\":%llu,\"enqueue_fail\":%llu,\"fallbacks\":%llu,"
			"\"fallback_ops\":%llu,\"errors\":%llu,\"queue_depth\":%u,"
			"\"queue_depth_max\":%u",
			be->name, (unsigned long long)cs.ops, (unsigned long long)cs.bytes,
			(unsigned long long)cs.auth_fail, (unsigned long long)cs.enq_fail,
			(unsigned long long)cs.fallbacks, (unsigned long long)cs.fb_ops,
			(unsigned long long)cs.errors, cs.qdepth, cs.qdepth_max);
	else if (be->stats != NULL)
		bprintf(out,
			"crypto backend %s\n  ops %llu  bytes %llu  auth failures %llu  enqueue "
			"failures %llu\n  fallbacks %llu (%llu ops)  errors %llu  queue depth %u (max %u)\n",
			be->name, (unsigned long long)cs.ops, (unsigned long long)cs.bytes,
			(unsigned long long)cs.auth_fail, (unsigned long long)cs.enq_fail,
			(unsigned long long)cs.fallbacks, (unsigned long long)cs.fb_ops,
			(unsigned long long)cs.errors, cs.qdepth, cs.qdepth_max);
	else
		bprintf(out, "crypto backend %s\n", be->name);
	if (json) {
		bprintf(out, "},\"maxstartups_dropped\":%llu,\"unauthenticated\":%u,\"control\":{",
			(unsigned long long)cp->startups_dropped, cp->unauth);
		for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
			bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_ctl_counter_name(c),
				(unsigned long long)cp->stats.v[c]);
		bprintf(out, "}}\n");
	} else {
		bprintf(out, "control\n");
		bprintf(out, "  %-28s %u\n", "UNAUTHENTICATED", cp->unauth);
		if (cp->startups_dropped)
			bprintf(out, "  %-28s %llu  (connections refused by MaxStartups)\n",
				"MAXSTARTUPS_DROPPED", (unsigned long long)cp->startups_dropped);
		for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
			if (cp->stats.v[c])
				bprintf(out, "  %-28s %llu  (%s)\n", st_ctl_counter_name(c),
					(unsigned long long)cp->stats.v[c], st_ctl_counter_text(c));
	}
	return ST_OK;
}

/* ---- the thread ---- */

int st_ctlplane_init(struct st_ctlplane *cp, char *err, size_t errsz)
{
	int r;

	cp->started = time(NULL);
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		cp->sess[w] = calloc(cp->max_sessions, sizeof(*cp->sess[w]));
		if (cp->sess[w] == NULL) {
			snprintf(err, errsz, "out of memory");
			return ST_ERR_ALLOC;
		}
	}
	if ((r = st_ctlsock_open(cp->conf->control_socket, &cp->sock)) != ST_OK) {
		snprintf(err, errsz, "%s: %s", cp->conf->control_socket,
			 r == ST_ERR_STATE ? "another sshterm is listening there"
			 : r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return r;
	}
	/* The doorbell the workers ring when they queue for a sleeping control thread. */
	cp->app->ctl_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cp->app->ctl_wake_fd >= 0)
		st_ctlsock_set_wake_fd(cp->sock, cp->app->ctl_wake_fd);
	st_ctlsock_register(cp->sock, "status", "daemon state", cmd_status, cp);
	st_ctlsock_register(cp->sock, "sessions", "one line per session", cmd_sessions, cp);
	st_ctlsock_register(cp->sock, "session", "one session", cmd_session, cp);
	st_ctlsock_register(cp->sock, "kill", "disconnect a session", cmd_kill, cp);
	st_ctlsock_register(cp->sock, "rekey", "start a key exchange", cmd_rekey, cp);
	st_ctlsock_register(cp->sock, "reload", "re-read host keys and configuration", cmd_reload,
			    cp);
	st_ctlsock_register(cp->sock, "stats", "counters per worker", cmd_stats, cp);
	return ST_OK;
}

/*
 * Sessions still holding a worker slot, plus closed connections whose TCP is
 * still delivering the DISCONNECT and FIN (plain reads of workers' counters).
 */
static unsigned worker_sessions(struct st_ctlplane *cp)
{
	unsigned n = 0;
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		struct st_sshapp_stats as;
		const struct st_wsess_worker_stats *ws;
		st_sshapp_worker_stats(cp->app, w, &as, &ws);
		n += as.sessions_active + as.tcp_orphans;
	}
	return n;
}

static void *ctl_thread(void *arg)
{
	struct st_ctlplane *cp = arg;
	uint64_t last_tick = mono_ms();

	while (!cp->quit) {
		int work = pump_up(cp);
		uint64_t now = mono_ms();
		if (now - last_tick >= TICK_MS) {
			last_tick = now;
			for (unsigned w = 0; w < cp->nb_workers; w++)
				for (uint32_t i = 0; i < cp->max_sessions; i++) {
					struct st_ctlplane_sess *s = &cp->sess[w][i];
					if (s->conn == NULL)
						continue;
					st_ctl_conn_tick(s->conn, now / 1000);
					if (st_ctl_conn_done(s->conn))
						sess_end(cp, s);
				}
		}
		if (cp->reload) {
			char err[ST_CONF_ERR_MAX];
			cp->reload = 0;
			if (do_reload(cp, err, sizeof(err)) != ST_OK)
				logf_(cp, LOG_ERR, "reload failed, old configuration kept: %s", err);
		}
		/*
		 * The socket poll doubles as the idle wait of this (non-polling)
		 * thread: up to 1 ms (the tick), or until a worker rings. The flag
		 * goes up before the rings are looked at again, so a message queued
		 * in between is either seen here or rings the bell.
		 */
		if (!work && cp->app->ctl_wake_fd >= 0) {
			__atomic_store_n(&cp->app->ctl_sleeping, 1, __ATOMIC_SEQ_CST);
			work = pump_up(cp);
		}
		st_ctlsock_poll(cp->sock, work ? 0 : 1);
		__atomic_store_n(&cp->app->ctl_sleeping, 0, __ATOMIC_RELAXED);
	}

	/* Shutdown: the workers disconnect every session politely, then stop. */
	logf_(cp, LOG_INFO, "Received signal; terminating.");
	cp->app->stopping = 1;
	/* Wait until every session is closed on the control side, its worker
	 * slot is free and TCP has delivered its DISCONNECT and FIN (the slot is
	 * freed when the bytes are handed to TCP, before they are sent). */
	uint64_t deadline = mono_ms() + SHUTDOWN_GRACE_MS;
	while ((count_sessions(cp, NULL) > 0 || worker_sessions(cp) > 0) && mono_ms() < deadline) {
		if (pump_up(cp) == 0)
			usleep(1000);
	}
	*cp->dp_quit = 1;
	return NULL;
}

int st_ctlplane_start(struct st_ctlplane *cp)
{
	if (pthread_create(&cp->thread, NULL, ctl_thread, cp) != 0)
		return ST_ERR_SYSTEM;
	/* A name for top(1) and for benchmarks that read its CPU time from /proc. */
	(void)pthread_setname_np(cp->thread, "st-control");
	return ST_OK;
}

void st_ctlplane_join(struct st_ctlplane *cp)
{
	pthread_join(cp->thread, NULL);
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		for (uint32_t i = 0; cp->sess[w] != NULL && i < cp->max_sessions; i++)
			if (cp->sess[w][i].conn != NULL)
				sess_end(cp, &cp->sess[w][i]);
		free(cp->sess[w]);
		cp->sess[w] = NULL;
	}
	st_ctlsock_close(cp->sock);
	cp->sock = NULL;
	if (cp->app->ctl_wake_fd >= 0) { /* the workers have stopped */
		close(cp->app->ctl_wake_fd);
		cp->app->ctl_wake_fd = -1;
	}
}
