/*
 * sshterm-tcpsvc: a test TCP service on the sshterm dataplane.
 *
 *   sshterm-tcpsvc [EAL args] -- --ip A.B.C.D[/len] [--gw G]
 *       [--discard PORT] [--echo PORT] [--chargen PORT --chargen-bytes N]
 *       [--connect IP:PORT --conns N --send BYTES [--connect-delay-ms N|-1]]
 *       [--parallel P]                                  active-open client; -1 waits for SIGUSR1;
 *                                                       with --parallel, P at a time until N are done
 *       [--connect-all]                                 every worker opens N (default: worker 0)
 *       [--arp-reachable-ms N] [--idle-sleep-ms N]      ARP aging; idle workers sleep (WorkerIdle)
 *       [--fault-rx SPEC] [--fault-tx SPEC]             e.g. drop=20,dup=10,reorder=10,seed=3
 *       [--max-conns N] [--rcvbuf N] [--sndbuf N] [--syn-backlog N] [--tw-ms N]
 *       [--keepalive-ms N] [--always-cookies] [--no-offload] [--mbufs N] [--duration S]
 *       [--quiet] [--no-hash]
 *
 * discard: counts and SHA-256s what it receives; echo: sends it back (zero
 * copy: the received mbufs are queued for sending); chargen: sends N bytes of
 * a fixed 1024-byte-period pattern then closes. Per connection it prints
 *   conn <kind> id=N peer=IP:PORT rx=BYTES rx_sha256=HEX tx=BYTES tx_sha256=HEX err=NAME
 * and at exit per-worker counters. SIGINT / SIGTERM end it cleanly; a pure
 * client run (no listeners) ends when every connection has closed.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "crypto/err.h"
#include "dataplane/dp.h"
#include "dataplane/tcp/tcp_cc.h"

#define PAT_LEN 1024u

enum kind { K_DISCARD, K_ECHO, K_CHARGEN, K_CLIENT };
static const char *const kind_names[] = {"discard", "echo", "chargen", "client"};

struct svc_conn {
	struct svc_worker *sw;
	struct svc_conn *next_free;
	enum kind kind;
	tcp_handle_t h;
	uint32_t id;
	uint64_t rx, tx, to_send;
	EVP_MD_CTX *rx_sha, *tx_sha;
	struct rte_mbuf *pending; /* echo data waiting for send space */
	int eof;
	int shut;
};

struct svc_worker {
	struct dp_worker *w;
	struct svc_conn *conns;
	struct svc_conn *free;
	uint32_t nconns;
	struct rte_mbuf *pat; /* 2 * PAT_LEN pattern bytes */
	uint32_t next_id;
	uint32_t clients_open;
	uint64_t done_conns;
	uint32_t c_started, c_finished; /* this worker's client connections */
	int c_begun;
};

static struct {
	uint16_t discard_port, echo_port, chargen_port;
	uint64_t chargen_bytes;
	uint32_t connect_ip;
	uint16_t connect_port;
	uint32_t conns;
	uint32_t parallel; /* 0: all connections at once */
	uint32_t started, finished;
	uint64_t t_first_tsc, t_last_tsc;
	uint64_t send_bytes;
	double duration;
	int32_t connect_delay_ms; /* -1: wait for SIGUSR1 */
	uint64_t connect_tsc;
	int connect_all;          /* every worker opens --conns, not worker 0 alone */
	unsigned client_workers;  /* workers that open connections */
	unsigned workers_done;    /* of those, how many saw all theirs close (atomic) */
	int quiet;
	int no_hash; /* benchmarks: skip SHA-256 (the sums printed are then of nothing) */
	struct svc_worker sw[DP_MAX_WORKERS];
	uint64_t end_tsc;
} app;

static volatile int quit;
static volatile int go; /* SIGUSR1: start the active opens now (--connect-delay-ms -1) */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		quit = 1;
}

static int start_one(struct dp_worker *w);

static uint8_t pat_byte(uint32_t i)
{
	i %= PAT_LEN;
	return (uint8_t)(i * 7 + (i >> 8) * 13 + 0x41);
}

static struct svc_conn *conn_get(struct svc_worker *sw, enum kind k)
{
	struct svc_conn *c = sw->free;

	if (!c)
		return NULL;
	sw->free = c->next_free;
	EVP_DigestInit_ex(c->rx_sha, EVP_sha256(), NULL);
	EVP_DigestInit_ex(c->tx_sha, EVP_sha256(), NULL);
	c->kind = k;
	c->rx = c->tx = c->to_send = 0;
	c->pending = NULL;
	c->eof = c->shut = 0;
	c->id = sw->next_id++;
	return c;
}

static void conn_put(struct svc_worker *sw, struct svc_conn *c)
{
	if (c->pending)
		rte_pktmbuf_free(c->pending);
	c->pending = NULL;
	c->next_free = sw->free;
	sw->free = c;
}

static void sha_chain(EVP_MD_CTX *ctx, const struct rte_mbuf *m)
{
	if (app.no_hash)
		return;
	for (; m; m = m->next)
		EVP_DigestUpdate(ctx, rte_pktmbuf_mtod(m, const void *), m->data_len);
}

static void hexsha(EVP_MD_CTX *ctx, char out[65])
{
	uint8_t md[32];
	unsigned len = 0;

	EVP_DigestFinal_ex(ctx, md, &len);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Queues pattern bytes (clones of the pattern mbuf) while there is room. */
static void fill(struct svc_conn *c)
{
	struct svc_worker *sw = c->sw;
	struct tcp_worker *tw = sw->w->tcp;

	while (c->to_send) {
		struct rte_mbuf *head = NULL, *tail = NULL;
		uint32_t bytes = 0;
		int r;

		for (int k = 0; k < 32 && c->to_send - bytes; k++) {
			uint32_t off = (uint32_t)((c->tx + bytes) % PAT_LEN);
			uint64_t left = c->to_send - bytes;
			uint32_t n = PAT_LEN < left ? PAT_LEN : (uint32_t)left;
			struct rte_mbuf *m = rte_pktmbuf_clone(sw->pat, sw->w->pool);

			if (!m)
				break;
			m->data_off = (uint16_t)(m->data_off + off);
			m->data_len = (uint16_t)n;
			m->pkt_len = n;
			if (tail)
				tail->next = m;
			else
				head = m;
			tail = m;
			head->nb_segs = (uint16_t)(k + 1);
			bytes += n;
		}
		if (!head)
			return;
		head->pkt_len = bytes;
		r = tcp_write(tw, c->h, head);
		if (r != ST_OK) {
			rte_pktmbuf_free(head);
			return;
		}
		{
			/* hash the bytes just queued (the pattern is periodic) */
			uint64_t pos = c->tx;
			uint32_t left = bytes;

			while (left) {
				uint32_t off = (uint32_t)(pos % PAT_LEN), n = PAT_LEN - off;

				if (n > left)
					n = left;
				if (!app.no_hash)
					EVP_DigestUpdate(c->tx_sha,
							 rte_pktmbuf_mtod_offset(sw->pat, uint8_t *, off), n);
				pos += n;
				left -= n;
			}
		}
		c->tx += bytes;
		c->to_send -= bytes;
	}
	if (!c->shut) {
		c->shut = 1;
		tcp_shutdown(tw, c->h);
	}
}

static void on_readable(void *ctx, tcp_handle_t h)
{
	struct svc_conn *c = ctx;
	struct tcp_worker *tw = c->sw->w->tcp;

	for (;;) {
		struct rte_mbuf *m;
		int n;

		if (c->kind == K_ECHO && c->pending)
			return; /* backpressure: the window closes until we can send */
		n = tcp_read(tw, h, &m);
		if (n == ST_ERR_EOF) {
			if (!c->eof) {
				c->eof = 1;
				if (c->kind == K_ECHO && !c->pending) {
					c->shut = 1;
					tcp_shutdown(tw, h);
				} else if (c->kind == K_DISCARD) {
					tcp_close(tw, h);
				}
			}
			return;
		}
		if (n <= 0)
			return;
		c->rx += (uint64_t)n;
		sha_chain(c->rx_sha, m);
		if (c->kind == K_ECHO) {
			/* tcp_write takes the whole chain whenever there is any send space */
			if (tcp_send_space(tw, h) > 0) {
				sha_chain(c->tx_sha, m);
				if (tcp_write(tw, h, m) == ST_OK) {
					c->tx += (uint64_t)n;
					continue;
				}
			} else if (tcp_write(tw, h, m) == ST_OK) { /* not expected: space is 0 */
				c->tx += (uint64_t)n;
				continue;
			}
			/* ST_ERR_AGAIN armed writable(); keep the chain until then */
			c->pending = m;
		} else {
			rte_pktmbuf_free(m);
		}
	}
}

static void on_writable(void *ctx, tcp_handle_t h)
{
	struct svc_conn *c = ctx;
	struct tcp_worker *tw = c->sw->w->tcp;

	if (c->kind == K_ECHO) {
		if (c->pending) {
			uint32_t n = c->pending->pkt_len;

			if (tcp_send_space(tw, h) == 0) {
				if (tcp_write(tw, h, c->pending) == ST_OK) { /* not expected */
					c->pending = NULL;
					c->tx += n;
				}
				return; /* ST_ERR_AGAIN: writable() again later */
			}
			sha_chain(c->tx_sha, c->pending);
			if (tcp_write(tw, h, c->pending) != ST_OK)
				return;
			c->pending = NULL;
			c->tx += n;
		}
		if (c->eof && !c->shut) {
			c->shut = 1;
			tcp_shutdown(tw, h);
			return;
		}
		on_readable(ctx, h);
		return;
	}
	fill(c);
}

static void on_closed(void *ctx, tcp_handle_t h, int err)
{
	struct svc_conn *c = ctx;
	struct tcp_conn_info ci;
	char rs[65], ts[65];
	struct in_addr a;

	(void)h;
	hexsha(c->rx_sha, rs);
	hexsha(c->tx_sha, ts);
	memset(&ci, 0, sizeof(ci));
	if (!app.quiet || err != ST_OK) {
		printf("conn %s id=%u rx=%" PRIu64 " rx_sha256=%s tx=%" PRIu64 " tx_sha256=%s err=%s\n",
		       kind_names[c->kind], c->id, c->rx, rs, c->tx, ts, st_err_name(err));
		fflush(stdout);
	}
	(void)a;
	(void)ci;
	c->sw->done_conns++;
	if (c->kind == K_CLIENT) {
		struct svc_worker *sw = c->sw;

		__atomic_add_fetch(&app.finished, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&app.t_last_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
		if (sw->clients_open)
			sw->clients_open--;
		sw->c_finished++;
		conn_put(sw, c);
		/* --parallel: keep the number of open connections up until --conns are done */
		if (sw->c_started < app.conns && start_one(sw->w) != 0)
			quit = 1;
		/* A pure client run ends when its connections are done; with listeners it keeps serving. */
		if (sw->c_finished == app.conns &&
		    __atomic_add_fetch(&app.workers_done, 1, __ATOMIC_ACQ_REL) == app.client_workers &&
		    !app.discard_port && !app.echo_port && !app.chargen_port)
			quit = 1;
		return;
	}
	conn_put(c->sw, c);
}

static void on_connected(void *ctx, tcp_handle_t h)
{
	struct svc_conn *c = ctx;

	(void)h;
	c->to_send = app.send_bytes;
	fill(c);
}

static const struct tcp_ops conn_ops = {
	.connected = on_connected,
	.readable = on_readable,
	.writable = on_writable,
	.closed = on_closed,
};

static int on_accept(void *lctx, tcp_handle_t h, void **cctx)
{
	struct svc_worker *sw = &app.sw[tcp_handle_worker(h)];
	enum kind k = (enum kind)(uintptr_t)lctx;
	struct svc_conn *c = conn_get(sw, k);

	if (!c)
		return -1;
	c->h = h;
	*cctx = c;
	if (k == K_CHARGEN) {
		c->to_send = app.chargen_bytes;
		fill(c);
	}
	return 0;
}

static const struct tcp_ops listen_ops = {
	.accepted = on_accept,
	.readable = on_readable,
	.writable = on_writable,
	.closed = on_closed,
};

static int svc_start(struct dp_worker *w, void *arg)
{
	struct svc_worker *sw = &app.sw[w->id];
	int r = 0;

	(void)arg;
	sw->w = w;
	if (app.discard_port)
		r |= tcp_listen(w->tcp, 0, app.discard_port, &listen_ops, (void *)(uintptr_t)K_DISCARD,
				NULL);
	if (app.echo_port)
		r |= tcp_listen(w->tcp, 0, app.echo_port, &listen_ops, (void *)(uintptr_t)K_ECHO, NULL);
	if (app.chargen_port)
		r |= tcp_listen(w->tcp, 0, app.chargen_port, &listen_ops, (void *)(uintptr_t)K_CHARGEN,
				NULL);
	if (r) {
		fprintf(stderr, "tcpsvc: listen failed\n");
		return -1;
	}
	return 0;
}

/* Opens one more client connection; -1 when that fails. */
static int start_one(struct dp_worker *w)
{
	struct svc_worker *sw = &app.sw[w->id];
	struct svc_conn *c = conn_get(sw, K_CLIENT);
	int r = ST_ERR_NO_SPACE;

	if (!c || (r = tcp_connect(w->tcp, app.connect_ip, app.connect_port, &conn_ops, c, &c->h)) !=
			  ST_OK) {
		fprintf(stderr, "tcpsvc: connect: %s\n", st_err_str(r));
		if (c)
			conn_put(sw, c);
		return -1;
	}
	if (__atomic_fetch_add(&app.started, 1, __ATOMIC_RELAXED) == 0)
		__atomic_store_n(&app.t_first_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
	sw->c_started++;
	sw->clients_open++;
	return 0;
}

/* Active opens from worker 0, or every worker (after --connect-delay-ms or SIGUSR1). */
static int start_clients(struct dp_worker *w)
{
	uint32_t n = app.parallel && app.parallel < app.conns ? app.parallel : app.conns;

	if (!app.connect_ip || (w->id != 0 && !app.connect_all))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (start_one(w) != 0)
			return -1;
	return 0;
}

static void svc_poll(struct dp_worker *w, void *arg)
{
	struct svc_worker *sw = &app.sw[w->id];

	(void)arg;
	if (app.connect_ip && !sw->c_begun && (w->id == 0 || app.connect_all) &&
	    (go || (app.connect_delay_ms >= 0 && w->now_tsc >= app.connect_tsc))) {
		sw->c_begun = 1;
		if (start_clients(w) != 0)
			quit = 1;
	}
	if (app.end_tsc && w->now_tsc > app.end_tsc)
		quit = 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sshterm-tcpsvc [EAL args] -- --ip A.B.C.D[/len] [--gw G] "
			"[--discard P] [--echo P] [--chargen P --chargen-bytes N] "
			"[--connect IP:PORT --conns N --send N] [--fault-rx SPEC] [--fault-tx SPEC] [--mtu N] [--gro] "
			"[--max-conns N] [--rcvbuf N] [--sndbuf N] [--syn-backlog N] [--tw-ms N] "
			"[--keepalive-ms N] [--always-cookies] [--no-offload] [--mbufs N] "
			"[--duration S] [--quiet] [--connect-all] [--arp-reachable-ms N] "
			"[--idle-sleep-ms N] [--cc cubic|newreno]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ip", 1, 0, 'i'},           {"gw", 1, 0, 'g'},          {"discard", 1, 0, 'd'},
		{"echo", 1, 0, 'e'},         {"chargen", 1, 0, 'c'},     {"chargen-bytes", 1, 0, 'C'},
		{"connect", 1, 0, 'k'},      {"conns", 1, 0, 'n'},       {"send", 1, 0, 's'},
		{"fault-rx", 1, 0, 'R'},     {"fault-tx", 1, 0, 'T'},    {"max-conns", 1, 0, 'm'},
		{"rcvbuf", 1, 0, 'r'},       {"sndbuf", 1, 0, 'S'},      {"syn-backlog", 1, 0, 'b'},
		{"tw-ms", 1, 0, 'w'},        {"keepalive-ms", 1, 0, 'K'}, {"always-cookies", 0, 0, 'A'},
		{"no-offload", 0, 0, 'O'},   {"mbufs", 1, 0, 'M'},       {"duration", 1, 0, 'D'},
		{"quiet", 0, 0, 'q'},        {"connect-delay-ms", 1, 0, 'L'}, {"parallel", 1, 0, 'P'},
		{"no-hash", 0, 0, 'H'},      {"mtu", 1, 0, 'U'},
		{"gro", 0, 0, 'G'},          {"connect-all", 0, 0, 'a'},
		{"arp-reachable-ms", 1, 0, 'Y'}, {"idle-sleep-ms", 1, 0, 'I'},
		{"cc", 1, 0, 'Z'},
		{0, 0, 0, 0},
	};
	struct dp_cfg cfg;
	struct dp_ctx *dp = NULL;
	struct dp_stats tot;
	int n, opt, r;
	uint64_t v;

	n = dp_eal_init(argc, argv);
	if (n < 0)
		return 1;
	argc -= n;
	argv += n;
	memset(&cfg, 0, sizeof(cfg));
	tcp_cfg_defaults(&cfg.tcp);
	cfg.prefix_len = 24;
	app.conns = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *slash, *colon;
		struct in_addr a;

		switch (opt) {
		case 'i':
			if ((slash = strchr(optarg, '/')) != NULL) {
				*slash = 0;
				cfg.prefix_len = (uint8_t)atoi(slash + 1);
			}
			if (inet_pton(AF_INET, optarg, &a) != 1)
				goto bad;
			cfg.ip = ntohl(a.s_addr);
			break;
		case 'g':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				goto bad;
			cfg.gateway = ntohl(a.s_addr);
			break;
		case 'd': app.discard_port = (uint16_t)atoi(optarg); break;
		case 'e': app.echo_port = (uint16_t)atoi(optarg); break;
		case 'c': app.chargen_port = (uint16_t)atoi(optarg); break;
		case 'C':
			if (parse_u64(optarg, &app.chargen_bytes))
				goto bad;
			break;
		case 'k':
			if ((colon = strchr(optarg, ':')) == NULL)
				goto bad;
			*colon = 0;
			if (inet_pton(AF_INET, optarg, &a) != 1)
				goto bad;
			app.connect_ip = ntohl(a.s_addr);
			app.connect_port = (uint16_t)atoi(colon + 1);
			break;
		case 'n': app.conns = (uint32_t)atoi(optarg); break;
		case 's':
			if (parse_u64(optarg, &app.send_bytes))
				goto bad;
			break;
		case 'R':
			if (dp_fault_parse(optarg, &cfg.rx_fault) != ST_OK)
				goto bad;
			break;
		case 'T':
			if (dp_fault_parse(optarg, &cfg.tx_fault) != ST_OK)
				goto bad;
			break;
		case 'm': cfg.tcp.max_conns = (uint32_t)atoi(optarg); break;
		case 'r':
			if (parse_u64(optarg, &v))
				goto bad;
			cfg.tcp.rcvbuf = (uint32_t)v;
			break;
		case 'S':
			if (parse_u64(optarg, &v))
				goto bad;
			cfg.tcp.sndbuf = (uint32_t)v;
			break;
		case 'b': cfg.tcp.syn_backlog = (uint32_t)atoi(optarg); break;
		case 'U': cfg.mtu = (uint16_t)atoi(optarg); break;
		case 'G': cfg.sw_gro = 1; break;
		case 'a': app.connect_all = 1; break;
		case 'Y': cfg.arp_reachable_ms = (uint32_t)atoi(optarg); break;
		case 'I': cfg.idle_sleep_ms = (uint32_t)atoi(optarg); break;
		case 'Z':
			if (strcmp(optarg, "cubic") == 0)
				cfg.tcp.cc_algo = TCP_CC_CUBIC;
			else if (strcmp(optarg, "newreno") == 0)
				cfg.tcp.cc_algo = TCP_CC_NEWRENO;
			else
				goto bad;
			break;
		case 'w': cfg.tcp.time_wait_ms = (uint32_t)atoi(optarg); break;
		case 'K': cfg.tcp.keepalive_ms = (uint32_t)atoi(optarg); break;
		case 'A': cfg.tcp.always_cookies = 1; break;
		case 'O': cfg.no_offload = 1; break;
		case 'M': cfg.nb_mbufs = (uint32_t)atoi(optarg); break;
		case 'D': app.duration = atof(optarg); break;
		case 'q': app.quiet = 1; break;
		case 'L': app.connect_delay_ms = atoi(optarg); break;
		case 'P': app.parallel = (uint32_t)atoi(optarg); break;
		case 'H': app.no_hash = 1; break;
		default:
			goto bad;
		}
	}
	if (cfg.ip == 0)
		goto bad;
	cfg.quit = &quit;
	cfg.on_start = svc_start;
	cfg.on_poll = svc_poll;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	if ((r = dp_create(&cfg, &dp)) != ST_OK) {
		fprintf(stderr, "tcpsvc: dataplane: %s\n", st_err_str(r));
		rte_eal_cleanup();
		return 1;
	}
	/* Per-worker application state, preallocated. */
	for (unsigned i = 0; i < dp_nb_workers(dp); i++) {
		struct svc_worker *sw = &app.sw[i];
		struct dp_worker *w = dp_worker_get(dp, i);

		sw->nconns = cfg.tcp.max_conns;
		sw->conns = calloc(sw->nconns, sizeof(*sw->conns));
		sw->pat = rte_pktmbuf_alloc(w->pool);
		if (!sw->conns || !sw->pat) {
			fprintf(stderr, "tcpsvc: out of memory\n");
			return 1;
		}
		for (uint32_t k = 0; k < 2 * PAT_LEN; k++)
			rte_pktmbuf_mtod(sw->pat, uint8_t *)[k] = pat_byte(k);
		sw->pat->data_len = 2 * PAT_LEN;
		sw->pat->pkt_len = 2 * PAT_LEN;
		for (uint32_t k = 0; k < sw->nconns; k++) {
			struct svc_conn *c = &sw->conns[k];

			c->sw = sw;
			c->rx_sha = EVP_MD_CTX_new();
			c->tx_sha = EVP_MD_CTX_new();
			if (!c->rx_sha || !c->tx_sha)
				return 1;
			c->next_free = sw->free;
			sw->free = c;
		}
	}
	app.client_workers = app.connect_all ? dp_nb_workers(dp) : 1;
	app.connect_tsc = rte_rdtsc() + rte_get_tsc_hz() / 1000 * (uint64_t)(app.connect_delay_ms > 0 ? app.connect_delay_ms : 0);
	if (app.duration > 0)
		app.end_tsc = rte_rdtsc() + (uint64_t)(app.duration * (double)rte_get_tsc_hz());
	printf("tcpsvc: ready\n");
	fflush(stdout);
	dp_run(dp);
	if (app.finished && app.t_last_tsc > app.t_first_tsc)
		printf("clients finished=%u seconds=%.3f conns_per_s=%.0f\n", app.finished,
		       (double)(app.t_last_tsc - app.t_first_tsc) / (double)rte_get_tsc_hz(),
		       (double)app.finished * (double)rte_get_tsc_hz() /
			       (double)(app.t_last_tsc - app.t_first_tsc));
	dp_stats_total(dp, &tot);
	dp_print_stats(dp, stdout);
	dp_stats_print(stdout, "total", &tot);
	for (unsigned i = 0; i < dp_nb_workers(dp); i++) {
		struct svc_worker *sw = &app.sw[i];

		if (sw->pat)
			rte_pktmbuf_free(sw->pat);
		for (uint32_t k = 0; k < sw->nconns; k++) {
			EVP_MD_CTX_free(sw->conns[k].rx_sha);
			EVP_MD_CTX_free(sw->conns[k].tx_sha);
			if (sw->conns[k].pending)
				rte_pktmbuf_free(sw->conns[k].pending);
		}
		free(sw->conns);
	}
	printf("tcpsvc: exit\n");
	fflush(stdout);
	dp_destroy(dp);
	rte_eal_cleanup();
	return 0;
bad:
	usage();
	return 2;
}
