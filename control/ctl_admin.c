/*
 * The operator commands of the control socket (sshtermctl), run on the admin
 * thread. Commands about sessions ask the shards that own them
 * (st_ctl_req through each shard's inbox) and wait for their answers; the
 * rest reads published snapshots and the current configuration (a
 * reference). See ctlplane.h for the threads.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/ctl_confs.h"
#include "control/ctl_json.h"
#include "control/ctlplane.h"
#include "control/ctlsock.h"
#include "control/metrics.h"
#include "crypto/err.h"

static int has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}

static int has_json(int argc, char **argv)
{
	return has_flag(argc, argv, "--json");
}

static int parse_id(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || *s == '-' || v == 0)
		return ST_ERR_FORMAT;
	*out = v;
	return ST_OK;
}

/*
 * Posts a request of `kind` to every shard and waits for every answer (the
 * shards never block, so they answer within a pass). Returns the array
 * (caller frees with reqs_free) or NULL when out of memory.
 */
static struct st_ctl_req *ask_shards(struct st_ctlplane *cp, enum st_ctl_req_kind kind,
				     uint64_t id, int json)
{
	struct st_ctl_req *rq = calloc(cp->nshards, sizeof(*rq));
	struct timespec pause = {0, 100000};

	if (rq == NULL)
		return NULL;
	for (unsigned k = 0; k < cp->nshards; k++) {
		rq[k].kind = kind;
		rq[k].id = id;
		rq[k].json = json;
		if (st_buf_alloc(&rq[k].out, 4096, ST_CTLSOCK_ANSWER_MAX) != ST_OK ||
		    st_ctl_shard_post(&cp->shards[k], &rq[k]) != ST_OK) {
			rq[k].rc = ST_ERR_NO_SPACE;
			rq[k].done = 1;
		}
	}
	for (unsigned k = 0; k < cp->nshards; k++)
		while (!__atomic_load_n(&rq[k].done, __ATOMIC_ACQUIRE))
			nanosleep(&pause, NULL);
	return rq;
}

static void reqs_free(struct st_ctlplane *cp, struct st_ctl_req *rq)
{
	for (unsigned k = 0; rq != NULL && k < cp->nshards; k++)
		st_buf_free(&rq[k].out);
	free(rq);
}

static int cmd_status(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	unsigned authed, n = st_ctlplane_sessions(cp, &authed);
	long up = (long)(time(NULL) - cp->started);
	struct st_conf_ref *cr = st_confs_get(&cp->confs);
	const struct st_daemon_conf *c = &cr->conf;

	if (has_json(argc, argv))
		st_bprintf(out,
			   "{\"version\":\"%s\",\"uptime_s\":%ld,\"workers\":%u,"
			   "\"control_threads\":%u,\"kex_threads\":%u,\"address\":\"%s/%u\","
			   "\"address6\":\"%s/%u\","
			   "\"port\":%u,\"sessions\":%u,\"authenticated\":%u,\"config\":\"%s\"}\n",
			   c->ctl.version, up, cp->nb_workers, cp->nshards, cp->kex_threads, c->address,
			   c->prefix_len, c->address6, c->prefix6, cp->app->listen_port, n, authed,
			   cp->conf_path);
	else {
		st_bprintf(out, "version        %s\n", c->ctl.version);
		st_bprintf(out, "uptime         %ld s\n", up);
		st_bprintf(out, "workers        %u\n", cp->nb_workers);
		st_bprintf(out, "control        %u thread%s\n", cp->nshards,
			   cp->nshards == 1 ? "" : "s");
		st_bprintf(out, "kex helpers    %u thread%s%s\n", cp->kex_threads,
			   cp->kex_threads == 1 ? "" : "s",
			   cp->kex_threads == 0 ? " (key exchanges on the control threads)" : "");
		if (c->address[0] != '\0')
			st_bprintf(out, "address        %s/%u\n", c->address, c->prefix_len);
		if (c->address6[0] != '\0')
			st_bprintf(out, "address        %s/%u\n", c->address6, c->prefix6);
		st_bprintf(out, "listening      port %u\n", cp->app->listen_port);
		st_bprintf(out, "sessions       %u (%u authenticated)\n", n, authed);
		st_bprintf(out, "host keys      %u\n", c->ctl.n_hostkeys);
		st_bprintf(out, "config         %s\n", cp->conf_path);
	}
	st_confs_put(&cp->confs, cr);
	return ST_OK;
}

static int list(struct st_ctlplane *cp, uint64_t id, int json, struct st_buf *out)
{
	struct st_ctl_req *rq = ask_shards(cp, ST_CTL_REQ_LIST, id, json);
	unsigned rows = 0;
	int found = 0;

	if (rq == NULL)
		return ST_ERR_ALLOC;
	if (json && id == 0)
		st_bprintf(out, "[");
	else if (!json)
		st_ctl_session_header(out);
	for (unsigned k = 0; k < cp->nshards; k++) {
		if (rq[k].rows == 0)
			continue;
		if (json && rows > 0)
			st_bprintf(out, ",");
		st_buf_put_bytes(out, st_buf_ptr(&rq[k].out), st_buf_avail(&rq[k].out));
		rows += rq[k].rows;
		found |= rq[k].found;
	}
	if (json)
		st_bprintf(out, id == 0 ? "]\n" : "\n");
	reqs_free(cp, rq);
	if (id != 0 && !found) {
		st_buf_reset(out);
		st_bprintf(out, "no session '%llu'", (unsigned long long)id);
		return ST_ERR_NOT_FOUND;
	}
	return ST_OK;
}

static int cmd_sessions(void *ctx, int argc, char **argv, struct st_buf *out)
{
	return list(ctx, 0, has_json(argc, argv), out);
}

static int arg_id(int argc, char **argv, uint64_t *id, struct st_buf *out)
{
	if (argc < 2 || parse_id(argv[1], id) != ST_OK) {
		st_bprintf(out, "no session '%s'", argc >= 2 ? argv[1] : "");
		return ST_ERR_NOT_FOUND;
	}
	return ST_OK;
}

static int cmd_session(void *ctx, int argc, char **argv, struct st_buf *out)
{
	uint64_t id;
	int r = arg_id(argc, argv, &id, out);

	return r != ST_OK ? r : list(ctx, id, has_json(argc, argv), out);
}

/* kill / rekey: the shard that owns the session does it and says what happened. */
static int act(struct st_ctlplane *cp, enum st_ctl_req_kind kind, int argc, char **argv,
	       struct st_buf *out)
{
	uint64_t id;
	int r = arg_id(argc, argv, &id, out);

	if (r != ST_OK)
		return r;
	struct st_ctl_req *rq = ask_shards(cp, kind, id, 0);
	if (rq == NULL)
		return ST_ERR_ALLOC;
	r = ST_ERR_NOT_FOUND;
	for (unsigned k = 0; k < cp->nshards; k++)
		if (rq[k].found) {
			st_buf_put_bytes(out, st_buf_ptr(&rq[k].out), st_buf_avail(&rq[k].out));
			r = rq[k].rc;
		}
	reqs_free(cp, rq);
	if (r == ST_ERR_NOT_FOUND)
		st_bprintf(out, "no session '%s'", argv[1]);
	return r;
}

static int cmd_kill(void *ctx, int argc, char **argv, struct st_buf *out)
{
	return act(ctx, ST_CTL_REQ_KILL, argc, argv, out);
}

static int cmd_rekey(void *ctx, int argc, char **argv, struct st_buf *out)
{
	return act(ctx, ST_CTL_REQ_REKEY, argc, argv, out);
}

static int cmd_reload(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	char err[ST_CONF_ERR_MAX];
	(void)argc;
	(void)argv;
	int r = st_ctlplane_reload(cp, err, sizeof(err));
	if (r != ST_OK) {
		st_bprintf(out, "reload failed, old configuration kept: %s", err);
		return r;
	}
	struct st_conf_ref *c = st_confs_get(&cp->confs);
	st_bprintf(out, "reloaded %s: %u host key(s); live sessions kept\n", cp->conf_path,
		   c->conf.ctl.n_hostkeys);
	st_confs_put(&cp->confs, c);
	return ST_OK;
}

/* Busy cycles per packet and per byte, and the busy share in percent. */
static void derived(const struct dp_stats *st, double *cpp, double *cpb, double *busy)
{
	uint64_t pkts = st->rx_pkts + st->tx_pkts, bytes = st->rx_bytes + st->tx_bytes;
	uint64_t all = st->busy_tsc + st->idle_tsc;

	*cpp = pkts ? (double)st->busy_tsc / (double)pkts : 0;
	*cpb = bytes ? (double)st->busy_tsc / (double)bytes : 0;
	*busy = all ? 100.0 * (double)st->busy_tsc / (double)all : 0;
}

static void worker_json(struct st_buf *out, unsigned w, const struct dp_stats *st,
			const struct st_sshapp_stats *as, const struct st_wsess_worker_stats *ws)
{
	double cpp, cpb, busy;

	derived(st, &cpp, &cpb, &busy);

	st_bprintf(out,
		   "%s{\"worker\":%u,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
		   "\"tx_packets\":%llu,\"tx_bytes\":%llu,\"busy_cycles\":%llu,"
		   "\"idle_cycles\":%llu,\"cycles_per_packet\":%.1f,"
		   "\"cycles_per_byte\":%.3f,\"busy_percent\":%.1f,"
		   "\"io_cycles\":%llu,\"app_cycles\":%llu,\"crypto_cycles\":%llu,"
		   "\"service_cycles\":%llu,"
		   "\"sessions\":%u,\"tcp_retransmits\":%llu,\"drops\":{",
		   w ? "," : "", w, (unsigned long long)st->rx_pkts, (unsigned long long)st->rx_bytes,
		   (unsigned long long)st->tx_pkts, (unsigned long long)st->tx_bytes,
		   (unsigned long long)st->busy_tsc, (unsigned long long)st->idle_tsc, cpp, cpb, busy,
		   (unsigned long long)st->io_tsc, (unsigned long long)st->app_tsc,
		   (unsigned long long)st->crypto_tsc, (unsigned long long)st->service_tsc,
		   as->sessions_active, (unsigned long long)st->ctr[DP_CTR_TCP_RETRANS]);
	int first = 1;
	for (unsigned d = 1; d < DP_DROP_MAX; d++)
		if (st->drop[d]) {
			st_bprintf(out, "%s\"%s\":%llu", first ? "" : ",", dp_drop_name(d),
				   (unsigned long long)st->drop[d]);
			first = 0;
		}
	st_bprintf(out, "},\"counters\":{");
	first = 1;
	for (unsigned c = 0; c < DP_CTR_MAX; c++)
		if (st->ctr[c]) {
			st_bprintf(out, "%s\"%s\":%llu", first ? "" : ",", dp_ctr_name(c),
				   (unsigned long long)st->ctr[c]);
			first = 0;
		}
	st_bprintf(out,
		   "},\"tcp\":{\"time_wait\":%u,\"orphans\":%u,\"ooo_bytes\":%llu},"
		   "\"seal_mbufs\":{\"size\":%u,\"in_use\":%u},\"app\":{",
		   as->tcp_time_wait, as->tcp_orphans, (unsigned long long)as->tcp_ooo_bytes,
		   as->seal_mbufs, as->seal_mbufs_in_use);
	for (unsigned c = 0; c < ST_SSHAPP_COUNTER_COUNT; c++)
		st_bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_sshapp_counter_name(c),
			   (unsigned long long)as->counters[c]);
	st_bprintf(out, "},\"closes\":{");
	for (unsigned c = 0; c < ST_CLOSE_REASON_COUNT; c++)
		st_bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_close_reason_str(c),
			   (unsigned long long)ws->closes[c]);
	st_bprintf(out, "}}");
}

static void worker_text(struct st_buf *out, unsigned w, const struct dp_stats *st,
			const struct st_sshapp_stats *as, const struct st_wsess_worker_stats *ws)
{
	double cpp, cpb, busy;

	derived(st, &cpp, &cpb, &busy);

	st_bprintf(out, "worker %u\n", w);
	st_bprintf(out, "  packets      rx %llu  tx %llu\n", (unsigned long long)st->rx_pkts,
		   (unsigned long long)st->tx_pkts);
	st_bprintf(out, "  bytes        rx %llu  tx %llu\n", (unsigned long long)st->rx_bytes,
		   (unsigned long long)st->tx_bytes);
	st_bprintf(out, "  busy         %.1f%%  %.1f cycles/packet  %.3f cycles/byte\n", busy, cpp,
		   cpb);
	if (st->busy_tsc)
		st_bprintf(out,
			   "  busy split   pmd %.0f%%  ssh %.0f%%  record crypto %.0f%%"
			   "  services %.0f%%  tcp+rest %.0f%%\n",
			   100.0 * (double)st->io_tsc / (double)st->busy_tsc,
			   100.0 * (double)(st->app_tsc - st->crypto_tsc - st->service_tsc) /
				   (double)st->busy_tsc,
			   100.0 * (double)st->crypto_tsc / (double)st->busy_tsc,
			   100.0 * (double)st->service_tsc / (double)st->busy_tsc,
			   100.0 * (double)(st->busy_tsc - st->io_tsc - st->app_tsc) /
				   (double)st->busy_tsc);
	st_bprintf(out, "  sessions     %u of %u\n", as->sessions_active, as->sessions_max);
	st_bprintf(out, "  tcp          retransmits %llu  rto %llu  accepted %llu\n",
		   (unsigned long long)st->ctr[DP_CTR_TCP_RETRANS],
		   (unsigned long long)st->ctr[DP_CTR_TCP_RTO],
		   (unsigned long long)st->ctr[DP_CTR_TCP_ACCEPTED]);
	for (unsigned d = 1; d < DP_DROP_MAX; d++)
		if (st->drop[d])
			st_bprintf(out, "  drop %-20s %llu  (%s)\n", dp_drop_name(d),
				   (unsigned long long)st->drop[d], dp_drop_text(d));
	st_bprintf(out, "  tcp          time_wait %u  closing %u  out-of-order %llu bytes\n",
		   as->tcp_time_wait, as->tcp_orphans, (unsigned long long)as->tcp_ooo_bytes);
	st_bprintf(out, "  seal mbufs   %u in use of %u\n", as->seal_mbufs_in_use, as->seal_mbufs);
	for (unsigned c = 0; c < DP_CTR_MAX; c++)
		if (st->ctr[c])
			st_bprintf(out, "  ctr  %-20s %llu  (%s)\n", dp_ctr_name(c),
				   (unsigned long long)st->ctr[c], dp_ctr_text(c));
	for (unsigned c = 0; c < ST_SSHAPP_COUNTER_COUNT; c++)
		if (as->counters[c])
			st_bprintf(out, "  app  %-20s %llu\n", st_sshapp_counter_name(c),
				   (unsigned long long)as->counters[c]);
	for (unsigned c = 0; c < ST_CLOSE_REASON_COUNT; c++)
		if (ws->closes[c])
			st_bprintf(out, "  close %-30s %llu\n", st_close_reason_str(c),
				   (unsigned long long)ws->closes[c]);
}

static void crypto_stats(struct st_ctlplane *cp, int json, struct st_buf *out)
{
	/* The record-layer crypto backend (counters only the cryptodev backend keeps). */
	const struct st_crypto_backend *be = cp->app->wcfg.be;
	struct st_crypto_stats cs;

	memset(&cs, 0, sizeof(cs));
	if (be->stats != NULL)
		be->stats(&cs);
	if (json)
		st_bprintf(out,
			   "],\"crypto\":{\"backend\":\"%s\",\"ops\":%llu,\"bytes\":%llu,"
			   "\"auth_fail\":%llu,\"enqueue_fail\":%llu,\"fallbacks\":%llu,"
			   "\"fallback_ops\":%llu,\"errors\":%llu,\"queue_depth\":%u,"
			   "\"queue_depth_max\":%u",
			   be->name, (unsigned long long)cs.ops, (unsigned long long)cs.bytes,
			   (unsigned long long)cs.auth_fail, (unsigned long long)cs.enq_fail,
			   (unsigned long long)cs.fallbacks, (unsigned long long)cs.fb_ops,
			   (unsigned long long)cs.errors, cs.qdepth, cs.qdepth_max);
	else if (be->stats != NULL)
		st_bprintf(out,
			   "crypto backend %s\n  ops %llu  bytes %llu  auth failures %llu  enqueue "
			   "failures %llu\n  fallbacks %llu (%llu ops)  errors %llu  queue depth %u "
			   "(max %u)\n",
			   be->name, (unsigned long long)cs.ops, (unsigned long long)cs.bytes,
			   (unsigned long long)cs.auth_fail, (unsigned long long)cs.enq_fail,
			   (unsigned long long)cs.fallbacks, (unsigned long long)cs.fb_ops,
			   (unsigned long long)cs.errors, cs.qdepth, cs.qdepth_max);
	else
		st_bprintf(out, "crypto backend %s\n", be->name);
}

static void control_stats(struct st_ctlplane *cp, int json, struct st_buf *out)
{
	struct st_ctl_stats cs;
	uint64_t backlog_full = 0, backlogged = 0;
	unsigned unauth = __atomic_load_n(&cp->unauth, __ATOMIC_RELAXED);
	unsigned long long dropped = __atomic_load_n(&cp->startups_dropped, __ATOMIC_RELAXED);

	struct st_srclimit_named src[ST_SRCLIMIT_NAMED_MAX];
	pthread_mutex_lock(&cp->src_lock);
	size_t nsrc = st_srclimit_counters_named(&cp->src, src, ST_SRCLIMIT_NAMED_MAX);
	pthread_mutex_unlock(&cp->src_lock);
	if (nsrc > ST_SRCLIMIT_NAMED_MAX)
		nsrc = ST_SRCLIMIT_NAMED_MAX;
	st_ctlplane_stats(cp, &cs);
	uint64_t akc[ST_AKC_COUNTER_COUNT], kexp[ST_KEXP_COUNTER_COUNT];
	st_akc_pool_counters(&cp->akc, akc);
	st_kex_pool_counters(&cp->kexp, kexp);
	for (unsigned k = 0; k < cp->nshards; k++) {
		struct st_ctl_shard_pub p;
		st_ctl_shard_read_pub(&cp->shards[k], &p);
		backlog_full += p.backlog_full;
		backlogged += p.backlogged;
	}
	if (json) {
		st_bprintf(out,
			   "},\"maxstartups_dropped\":%llu,\"unauthenticated\":%u,"
			   "\"control_threads\":%u,\"down_backlogged\":%llu,"
			   "\"down_backlog_full\":%llu,\"control\":{",
			   dropped, unauth, cp->nshards, (unsigned long long)backlogged,
			   (unsigned long long)backlog_full);
		for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
			st_bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_ctl_counter_name(c),
				   (unsigned long long)cs.v[c]);
		st_bprintf(out, "},\"authorized_keys_command\":{");
		for (unsigned c = 0; c < ST_AKC_COUNTER_COUNT; c++)
			st_bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_akc_counter_name(c),
				   (unsigned long long)akc[c]);
		st_bprintf(out, "},\"kex_threads\":%u,\"kex_pool\":{", cp->kex_threads);
		for (unsigned c = 0; c < ST_KEXP_COUNTER_COUNT; c++)
			st_bprintf(out, "%s\"%s\":%llu", c ? "," : "", st_kexp_counter_name(c),
				   (unsigned long long)kexp[c]);
		st_bprintf(out, "},\"per_source\":{");
		for (size_t i = 0; i < nsrc; i++)
			st_bprintf(out, "%s\"%s\":%llu", i ? "," : "", src[i].name,
				   (unsigned long long)src[i].value);
		st_bprintf(out, "}}\n");
		return;
	}
	st_bprintf(out, "control (%u thread%s)\n", cp->nshards, cp->nshards == 1 ? "" : "s");
	st_bprintf(out, "  %-28s %u\n", "UNAUTHENTICATED", unauth);
	if (dropped)
		st_bprintf(out, "  %-28s %llu  (connections refused by MaxStartups)\n",
			   "MAXSTARTUPS_DROPPED", dropped);
	if (backlogged)
		st_bprintf(out, "  %-28s %llu  (control messages that waited for a full down ring)\n",
			   "DOWN_BACKLOGGED", (unsigned long long)backlogged);
	if (backlog_full)
		st_bprintf(out, "  %-28s %llu  (sessions ended: their worker took no messages)\n",
			   "DOWN_BACKLOG_FULL", (unsigned long long)backlog_full);
	for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
		if (cs.v[c])
			st_bprintf(out, "  %-28s %llu  (%s)\n", st_ctl_counter_name(c),
				   (unsigned long long)cs.v[c], st_ctl_counter_text(c));
	for (size_t i = 0; i < nsrc; i++)
		if (src[i].value)
			st_bprintf(out, "  %-28s %llu\n", src[i].name, (unsigned long long)src[i].value);
	for (unsigned c = 0; c < ST_AKC_COUNTER_COUNT; c++)
		if (akc[c])
			st_bprintf(out, "  AKC_%-24s %llu  (%s)\n", st_akc_counter_name(c),
				   (unsigned long long)akc[c], st_akc_counter_text(c));
	for (unsigned c = 0; c < ST_KEXP_COUNTER_COUNT; c++)
		if (kexp[c])
			st_bprintf(out, "  KEXPOOL_%-20s %llu  (%s)\n", st_kexp_counter_name(c),
				   (unsigned long long)kexp[c], st_kexp_counter_text(c));
}

static int cmd_stats(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlplane *cp = ctx;
	int json = has_json(argc, argv);

	if (has_flag(argc, argv, "--prometheus")) {
		/* The same text as MetricsListen's GET /metrics (control/metrics.h). */
		int r = st_metrics_render(cp, out);
		if (r != ST_OK) {
			st_buf_reset(out);
			st_bprintf(out, "metrics: %s", st_err_str(r));
		}
		return r;
	}
	if (json)
		st_bprintf(out, "{\"workers\":[");
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		struct dp_stats st;
		struct st_sshapp_stats as;
		struct st_wsess_worker_stats ws;
		if (dp_worker_stats_read(cp->dp, w, &st) != ST_OK)
			continue;
		st_sshapp_worker_stats(cp->app, w, &as, &ws);
		if (json)
			worker_json(out, w, &st, &as, &ws);
		else
			worker_text(out, w, &st, &as, &ws);
	}
	crypto_stats(cp, json, out);
	control_stats(cp, json, out);
	return ST_OK;
}

void st_ctl_admin_register(struct st_ctlplane *cp)
{
	st_ctlsock_register(cp->sock, "status", "daemon state", cmd_status, cp);
	st_ctlsock_register(cp->sock, "sessions", "one line per session", cmd_sessions, cp);
	st_ctlsock_register(cp->sock, "session", "one session", cmd_session, cp);
	st_ctlsock_register(cp->sock, "kill", "disconnect a session", cmd_kill, cp);
	st_ctlsock_register(cp->sock, "rekey", "start a key exchange", cmd_rekey, cp);
	st_ctlsock_register(cp->sock, "reload", "re-read host keys and configuration", cmd_reload,
			    cp);
	st_ctlsock_register(cp->sock, "stats", "counters per worker", cmd_stats, cp);
}
