/*
 * The Prometheus text exposition of every counter (metrics.h). Families are
 * written whole (HELP, TYPE, then every series), as the format requires.
 */
#include "control/metrics.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/ctlplane.h"
#include "control/histo.h"
#include "crypto/err.h"

/* The names of the lists that only carry a description; the enum names without their prefix. */
static const char *const close_names[ST_CLOSE_REASON_COUNT] = {
#define CLOSE_NAME(name, text) #name,
	ST_CLOSE_REASONS(CLOSE_NAME)
#undef CLOSE_NAME
};
static const char *const wdrop_names[ST_WDROP_COUNT] = {
#define WDROP_NAME(name, text) #name,
	ST_WSESS_DROPS(WDROP_NAME)
#undef WDROP_NAME
};
static const char *const chan_names[ST_CHAN_CNT_COUNT] = {
#define CHAN_NAME(name, text) #name,
	ST_CHAN_COUNTERS(CHAN_NAME)
#undef CHAN_NAME
};

static const char *strip(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 ? name + n : name;
}

/* One worker's snapshots. */
struct wsnap {
	int valid;
	struct dp_stats st;
	struct st_sshapp_stats as;
	struct st_wsess_worker_stats ws;
};

/* The output and its first failure: a line that did not fit is an error, never a cut line. */
struct mx {
	struct st_buf *out;
	int r;
};

static void __attribute__((format(printf, 2, 3))) emit(struct mx *m, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (m->r != ST_OK)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		m->r = ST_ERR_INTERNAL; /* our own names and numbers: cannot happen */
		return;
	}
	if (st_buf_put_bytes(m->out, line, (size_t)n) != ST_OK)
		m->r = ST_ERR_NO_SPACE;
}

int st_metrics_label_escape(struct st_buf *out, const char *s)
{
	int r = ST_OK;

	for (; s != NULL && *s != '\0' && r == ST_OK; s++) {
		if (*s == '\\' || *s == '"') {
			uint8_t e[2] = {'\\', (uint8_t)*s};
			r = st_buf_put_bytes(out, e, 2);
		} else if (*s == '\n') {
			r = st_buf_put_bytes(out, "\\n", 2);
		} else {
			r = st_buf_put_u8(out, (uint8_t)*s);
		}
	}
	return r;
}

/* A label value from outside our own lists. */
static void emit_label(struct mx *m, const char *s)
{
	if (m->r == ST_OK && st_metrics_label_escape(m->out, s) != ST_OK)
		m->r = ST_ERR_NO_SPACE;
}

static void family(struct mx *m, const char *name, const char *type, const char *help)
{
	emit(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with no labels. */
static void single(struct mx *m, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	family(m, name, type, help);
	emit(m, "%s %llu\n", name, v);
}

/* Per-worker values: fields of the snapshot, by a getter. */
typedef uint64_t (*wget)(const struct wsnap *w);
#define WGET(fname, expr) \
	static uint64_t fname(const struct wsnap *w) { return (uint64_t)(expr); }
WGET(w_rx_pkts, w->st.rx_pkts)
WGET(w_tx_pkts, w->st.tx_pkts)
WGET(w_rx_bytes, w->st.rx_bytes)
WGET(w_tx_bytes, w->st.tx_bytes)
WGET(w_busy, w->st.busy_tsc)
WGET(w_idle, w->st.idle_tsc)
WGET(w_io, w->st.io_tsc)
WGET(w_app, w->st.app_tsc)
WGET(w_crypto, w->st.crypto_tsc)
WGET(w_service, w->st.service_tsc)
WGET(w_busy_polls, w->st.busy_polls)
WGET(w_idle_polls, w->st.idle_polls)
WGET(w_sessions, w->as.sessions_active)
WGET(w_sessions_max, w->as.sessions_max)
WGET(w_sessions_total, w->ws.sessions)
WGET(w_rekeys_due, w->ws.rekeys_due)
WGET(w_time_wait, w->as.tcp_time_wait)
WGET(w_orphans, w->as.tcp_orphans)
WGET(w_ooo, w->as.tcp_ooo_bytes)
WGET(w_seal, w->as.seal_mbufs)
WGET(w_seal_used, w->as.seal_mbufs_in_use)
#undef WGET

static const struct {
	const char *name, *type, *help;
	wget get;
} worker_metrics[] = {
	{"sshterm_worker_rx_packets_total", "counter", "Packets received by the worker.", w_rx_pkts},
	{"sshterm_worker_tx_packets_total", "counter", "Packets sent by the worker.", w_tx_pkts},
	{"sshterm_worker_rx_bytes_total", "counter", "Bytes received by the worker (frames).", w_rx_bytes},
	{"sshterm_worker_tx_bytes_total", "counter", "Bytes sent by the worker (frames).", w_tx_bytes},
	{"sshterm_worker_busy_cycles_total", "counter", "TSC cycles in loop passes that did work.", w_busy},
	{"sshterm_worker_idle_cycles_total", "counter", "TSC cycles in empty loop passes.", w_idle},
	{"sshterm_worker_io_cycles_total", "counter", "Busy cycles inside rx/tx burst calls.", w_io},
	{"sshterm_worker_app_cycles_total", "counter", "Busy cycles in TCP events and the SSH layer.", w_app},
	{"sshterm_worker_crypto_cycles_total", "counter", "Busy cycles in record crypto.", w_crypto},
	{"sshterm_worker_service_cycles_total", "counter", "Busy cycles in services.", w_service},
	{"sshterm_worker_busy_polls_total", "counter", "Loop passes that did work.", w_busy_polls},
	{"sshterm_worker_idle_polls_total", "counter", "Empty loop passes.", w_idle_polls},
	{"sshterm_worker_sessions", "gauge", "Sessions the worker holds now.", w_sessions},
	{"sshterm_worker_sessions_max", "gauge", "Session slots of the worker.", w_sessions_max},
	{"sshterm_worker_sessions_total", "counter", "Sessions the worker has opened.", w_sessions_total},
	{"sshterm_worker_rekeys_due_total", "counter", "Rekeys the worker asked for (RekeyLimit).", w_rekeys_due},
	{"sshterm_worker_tcp_time_wait", "gauge", "TCP connections in TIME-WAIT.", w_time_wait},
	{"sshterm_worker_tcp_closing", "gauge", "Closed connections still sending their last bytes.", w_orphans},
	{"sshterm_worker_tcp_ooo_bytes", "gauge", "Buffer bytes held out of order.", w_ooo},
	{"sshterm_worker_seal_mbufs", "gauge", "Size of the worker's seal mbuf pool.", w_seal},
	{"sshterm_worker_seal_mbufs_in_use", "gauge", "Seal mbufs in use.", w_seal_used},
};

/* A per-worker family with one label besides worker: value(w, i) for i < n, label name(i). */
typedef uint64_t (*wlget)(const struct wsnap *w, unsigned i);
static uint64_t wl_drop(const struct wsnap *w, unsigned i) { return w->st.drop[i]; }
static uint64_t wl_ctr(const struct wsnap *w, unsigned i) { return w->st.ctr[i]; }
static uint64_t wl_app(const struct wsnap *w, unsigned i) { return w->as.counters[i]; }
static uint64_t wl_close(const struct wsnap *w, unsigned i) { return w->ws.closes[i]; }
static uint64_t wl_wdrop(const struct wsnap *w, unsigned i) { return w->ws.drops[i]; }
static uint64_t wl_chan(const struct wsnap *w, unsigned i) { return w->ws.chan[i]; }

static void worker_labelled(struct mx *m, const struct wsnap *ws, unsigned nw, const char *name,
			    const char *help, const char *label, unsigned first, unsigned n,
			    const char *(*lname)(unsigned i), wlget get)
{
	family(m, name, "counter", help);
	for (unsigned w = 0; w < nw; w++) {
		if (!ws[w].valid)
			continue;
		for (unsigned i = first; i < n; i++)
			emit(m, "%s{worker=\"%u\",%s=\"%s\"} %llu\n", name, w, label, lname(i),
			     (unsigned long long)get(&ws[w], i));
	}
}

static const char *n_drop(unsigned i) { return dp_drop_name(i); }
static const char *n_ctr(unsigned i) { return dp_ctr_name(i); }
static const char *n_app(unsigned i) { return st_sshapp_counter_name(i); }
static const char *n_close(unsigned i) { return strip(close_names[i], "ST_CLOSE_"); }
static const char *n_wdrop(unsigned i) { return strip(wdrop_names[i], "ST_WDROP_"); }
static const char *n_chan(unsigned i) { return strip(chan_names[i], "ST_CHAN_CNT_"); }

static void workers(struct mx *m, struct st_ctlplane *cp, const struct wsnap *ws)
{
	unsigned nw = cp->nb_workers;

	for (size_t k = 0; k < sizeof(worker_metrics) / sizeof(worker_metrics[0]); k++) {
		family(m, worker_metrics[k].name, worker_metrics[k].type, worker_metrics[k].help);
		for (unsigned w = 0; w < nw; w++)
			if (ws[w].valid)
				emit(m, "%s{worker=\"%u\"} %llu\n", worker_metrics[k].name, w,
				     (unsigned long long)worker_metrics[k].get(&ws[w]));
	}
	worker_labelled(m, ws, nw, "sshterm_worker_drops_total",
			"Packets dropped by the worker, by reason (docs/OPERATIONS.md).", "reason", 1,
			DP_DROP_MAX, n_drop, wl_drop);
	worker_labelled(m, ws, nw, "sshterm_worker_events_total",
			"Worker events (ARP, TCP), by counter name.", "event", 0, DP_CTR_MAX, n_ctr,
			wl_ctr);
	worker_labelled(m, ws, nw, "sshterm_worker_app_events_total",
			"SSH application events and refusals of the worker.", "event", 0,
			ST_SSHAPP_COUNTER_COUNT, n_app, wl_app);
	worker_labelled(m, ws, nw, "sshterm_worker_session_closes_total",
			"Sessions ended on the worker, by reason.", "reason", 0, ST_CLOSE_REASON_COUNT,
			n_close, wl_close);
	worker_labelled(m, ws, nw, "sshterm_worker_session_drops_total",
			"Session-layer drops on the worker, by reason.", "reason", 0, ST_WDROP_COUNT,
			n_wdrop, wl_wdrop);
	worker_labelled(m, ws, nw, "sshterm_worker_channel_events_total",
			"Channel counters of ended sessions, by event.", "event", 0, ST_CHAN_CNT_COUNT,
			n_chan, wl_chan);
}

static void crypto(struct mx *m, struct st_ctlplane *cp)
{
	const struct st_crypto_backend *be = cp->app->wcfg.be;
	struct st_crypto_stats cs;
	static const char *const names[] = {
		"sshterm_crypto_ops_total", "sshterm_crypto_bytes_total",
		"sshterm_crypto_auth_failures_total", "sshterm_crypto_enqueue_failures_total",
		"sshterm_crypto_fallbacks_total", "sshterm_crypto_fallback_ops_total",
		"sshterm_crypto_errors_total",
	};
	static const char *const helps[] = {
		"Packets sealed or opened on the record crypto backend itself.",
		"Bytes of those packets.",
		"Packets whose MAC or tag did not verify on the backend.",
		"Operations the device queue did not take.",
		"Session directions that went to the fallback backend.",
		"Packets processed by the fallback backend.",
		"Internal crypto failures.",
	};

	memset(&cs, 0, sizeof(cs));
	if (be->stats != NULL)
		be->stats(&cs);
	const uint64_t v[] = {cs.ops, cs.bytes, cs.auth_fail, cs.enq_fail, cs.fallbacks, cs.fb_ops,
			      cs.errors};
	family(m, "sshterm_crypto_backend_info", "gauge", "The record crypto backend (label backend).");
	emit(m, "sshterm_crypto_backend_info{backend=\"");
	emit_label(m, be->name);
	emit(m, "\"} 1\n");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		single(m, names[i], "counter", helps[i], (unsigned long long)v[i]);
	single(m, "sshterm_crypto_queue_depth", "gauge", "Operations in flight on the device now.",
	       cs.qdepth);
	single(m, "sshterm_crypto_queue_depth_max", "gauge", "Highest queue depth seen.",
	       cs.qdepth_max);
}

/* The per-source table: counters first, then gauges, by their `stats` names. */
static int src_is_gauge(const char *name)
{
	static const char *const gauges[] = {"SRC_ENTRIES4", "SRC_ENTRIES6", "SRC_PENALISED4",
					     "SRC_PENALISED6", "SRC_TABLE_SLOTS", "SRC_TABLE_BYTES"};
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(name, gauges[i]) == 0)
			return 1;
	return 0;
}

static void persource(struct mx *m, struct st_ctlplane *cp)
{
	struct st_srclimit_named src[ST_SRCLIMIT_NAMED_MAX];

	pthread_mutex_lock(&cp->src_lock);
	size_t n = st_srclimit_counters_named(&cp->src, src, ST_SRCLIMIT_NAMED_MAX);
	pthread_mutex_unlock(&cp->src_lock);
	if (n > ST_SRCLIMIT_NAMED_MAX)
		n = ST_SRCLIMIT_NAMED_MAX;
	for (size_t i = 0; i < n; i++) {
		char name[96];
		int g = src_is_gauge(src[i].name);
		if (strcmp(src[i].name, "SRC_KEX_CPU_NS") == 0) {
			/* Prometheus wants base units: seconds, not ns. */
			family(m, "sshterm_src_kex_cpu_seconds_total", "counter",
			       "Key-exchange CPU time charged to sources (PerSourceKexRate).");
			emit(m, "sshterm_src_kex_cpu_seconds_total %llu.%09llu\n",
			     (unsigned long long)(src[i].value / 1000000000u),
			     (unsigned long long)(src[i].value % 1000000000u));
			continue;
		}
		size_t k = (size_t)snprintf(name, sizeof(name), "sshterm_");
		for (const char *p = src[i].name; *p != '\0' && k + 8 < sizeof(name); p++)
			name[k++] = (char)tolower((unsigned char)*p);
		snprintf(name + k, sizeof(name) - k, "%s", g ? "" : "_total");
		single(m, name, g ? "gauge" : "counter",
		       g ? "Per-source table (PerSource*): gauge of the same name in sshtermctl stats."
			 : "Per-source limits (PerSource*): counter of the same name in sshtermctl stats.",
		       (unsigned long long)src[i].value);
	}
}

static void control(struct mx *m, struct st_ctlplane *cp)
{
	struct st_ctl_shard_pub *p = calloc(cp->nshards, sizeof(*p));
	struct st_ctl_stats cs;
	struct st_histo h;
	unsigned long long sessions = 0, authed = 0, bl = 0, blf = 0;

	if (p == NULL) {
		m->r = ST_ERR_ALLOC;
		return;
	}
	memset(&cs, 0, sizeof(cs));
	memset(&h, 0, sizeof(h));
	for (unsigned k = 0; k < cp->nshards; k++) {
		st_ctl_shard_read_pub(&cp->shards[k], &p[k]);
		for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
			cs.v[c] += p[k].stats.v[c];
		st_histo_add(&h, &p[k].auth_latency);
		sessions += p[k].sessions;
		authed += p[k].authed;
		bl += p[k].backlogged;
		blf += p[k].backlog_full;
	}
	family(m, "sshterm_control_events_total", "counter",
	       "Control-plane events (key exchanges, authentications, channels), by counter name.");
	for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
		if (strncmp(st_ctl_counter_name(c), "DISC_", 5) != 0)
			emit(m, "sshterm_control_events_total{event=\"%s\"} %llu\n",
			     st_ctl_counter_name(c), (unsigned long long)cs.v[c]);
	family(m, "sshterm_control_disconnects_total", "counter",
	       "Connections the control plane ended, by reason.");
	for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
		if (strncmp(st_ctl_counter_name(c), "DISC_", 5) == 0)
			emit(m, "sshterm_control_disconnects_total{reason=\"%s\"} %llu\n",
			     st_ctl_counter_name(c) + 5, (unsigned long long)cs.v[c]);
	single(m, "sshterm_control_sessions", "gauge", "Sessions the control shards hold now.",
	       sessions);
	single(m, "sshterm_control_authenticated_sessions", "gauge",
	       "Sessions that have authenticated.", authed);
	single(m, "sshterm_unauthenticated_connections", "gauge",
	       "Connections not yet authenticated (what MaxStartups counts).",
	       __atomic_load_n(&cp->unauth, __ATOMIC_RELAXED));
	single(m, "sshterm_maxstartups_dropped_total", "counter",
	       "Connections refused by MaxStartups or a per-source limit.",
	       (unsigned long long)__atomic_load_n(&cp->startups_dropped, __ATOMIC_RELAXED));
	single(m, "sshterm_control_down_backlogged_total", "counter",
	       "Control messages that waited for a full down ring.", bl);
	single(m, "sshterm_control_down_backlog_full_total", "counter",
	       "Sessions ended because their worker took no messages.", blf);
	uint64_t akc[ST_AKC_COUNTER_COUNT];
	st_akc_pool_counters(&cp->akc, akc);
	family(m, "sshterm_authorized_keys_command_total", "counter",
	       "AuthorizedKeysCommand lookups, runs, cache use and failures by reason.");
	for (unsigned c = 0; c < ST_AKC_COUNTER_COUNT; c++)
		emit(m, "sshterm_authorized_keys_command_total{event=\"%s\"} %llu\n",
		     st_akc_counter_name(c), (unsigned long long)akc[c]);
	uint64_t kexp[ST_KEXP_COUNTER_COUNT];
	st_kex_pool_counters(&cp->kexp, kexp);
	family(m, "sshterm_kex_pool_total", "counter",
	       "Key exchanges of the kex helper threads by event (BUSY_NS: their CPU time, ns).");
	for (unsigned c = 0; c < ST_KEXP_COUNTER_COUNT; c++)
		emit(m, "sshterm_kex_pool_total{event=\"%s\"} %llu\n", st_kexp_counter_name(c),
		     (unsigned long long)kexp[c]);
	family(m, "sshterm_control_cycles_total", "counter",
	       "TSC cycles each control shard spent handling messages.");
	for (unsigned k = 0; k < cp->nshards; k++)
		emit(m, "sshterm_control_cycles_total{shard=\"%u\"} %llu\n", k,
		     (unsigned long long)p[k].ctl_cycles);
	free(p);

	family(m, "sshterm_login_latency_seconds", "histogram",
	       "Time from the TCP connection's OPEN to USERAUTH_SUCCESS, per authenticated session.");
	for (unsigned i = 0; i < ST_HISTO_NBOUNDS; i++) {
		uint64_t b = st_histo_bounds_us[i];
		emit(m, "sshterm_login_latency_seconds_bucket{le=\"%llu.%06llu\"} %llu\n",
		     (unsigned long long)(b / 1000000), (unsigned long long)(b % 1000000),
		     (unsigned long long)st_histo_cumulative(&h, i));
	}
	emit(m, "sshterm_login_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	     (unsigned long long)h.count);
	emit(m, "sshterm_login_latency_seconds_sum %llu.%06llu\n",
	     (unsigned long long)(h.sum_us / 1000000), (unsigned long long)(h.sum_us % 1000000));
	emit(m, "sshterm_login_latency_seconds_count %llu\n", (unsigned long long)h.count);
}

int st_metrics_render(struct st_ctlplane *cp, struct st_buf *out)
{
	struct mx m = {out, ST_OK};
	struct wsnap *ws = calloc(cp->nb_workers ? cp->nb_workers : 1, sizeof(*ws));

	if (ws == NULL)
		return ST_ERR_ALLOC;
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		if (dp_worker_stats_read(cp->dp, w, &ws[w].st) != ST_OK)
			continue;
		st_sshapp_worker_stats(cp->app, w, &ws[w].as, &ws[w].ws);
		ws[w].valid = 1;
	}
	struct st_conf_ref *cr = st_confs_get(&cp->confs);
	family(&m, "sshterm_build_info", "gauge", "The daemon's identification (label version).");
	emit(&m, "sshterm_build_info{version=\"");
	emit_label(&m, cr->conf.ctl.version);
	emit(&m, "\"} 1\n");
	st_confs_put(&cp->confs, cr);
	single(&m, "sshterm_start_time_seconds", "gauge", "When the daemon started (Unix time).",
	       (unsigned long long)cp->started);
	single(&m, "sshterm_uptime_seconds", "gauge", "Seconds since the daemon started.",
	       (unsigned long long)(time(NULL) - cp->started));
	single(&m, "sshterm_workers", "gauge", "Worker lcores.", cp->nb_workers);
	single(&m, "sshterm_control_threads", "gauge", "Control-plane shards.", cp->nshards);
	single(&m, "sshterm_kex_threads", "gauge",
	       "Key-exchange helper threads (0: the shards compute their key exchanges).",
	       cp->kex_threads);
	workers(&m, cp, ws);
	free(ws);
	control(&m, cp);
	persource(&m, cp);
	crypto(&m, cp);
	return m.r;
}
