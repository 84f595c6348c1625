/*
 * The load generator's DPDK transport: the client runs on sshterm's own
 * userspace TCP stack (dataplane/), on any DPDK port, typically net_memif
 * against a daemon at the other end of the memif.
 *
 *   sshterm-bench MODE [options] [user@]host [COMMAND] --dpdk ADDR/PREFIX [EAL args]
 *
 * Each load thread owns one dataplane worker: its queue pair, mbuf cache,
 * TCP table and timers. The thread registers itself with EAL
 * (rte_thread_register) so that it has an lcore id of its own, then runs
 * the worker's passes from its poll(). Connections are opened with
 * tcp_connect, whose default source-port choice puts every connection on
 * the queue its worker reads (symmetric RSS), so replies come back to the
 * thread that owns the connection. Bytes to send are copied into mbufs from
 * the worker's pool; received mbuf chains are handed to the engine segment
 * by segment and freed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "crypto/err.h"
#include "dataplane/dp.h"
#include "dataplane/tcp/tcp_cc.h"
#include "scripts/bench/loadgen.h"

struct dslot {
	struct dthread *dt;
	uint32_t slot;
	tcp_handle_t h;     /* 0: none */
	uint8_t stopped;    /* the load generator said LG_STOP: no more callbacks */
	uint8_t paused;
	uint8_t pending;    /* readable while paused */
};

struct dthread {
	struct dp_worker *w;
	struct lg_thread *t;
	uint32_t raddr;
	uint16_t rport;
	uint32_t nslots;
	struct dslot *slots;
	unsigned events; /* callbacks made in this poll */
};

struct dglobal {
	struct dp_ctx *dp;
	volatile int quit;
	unsigned next_worker;
};

/* What `--dpdk` gave: the generator's own address and the EAL arguments. */
static int dpdk_argc;
static char **dpdk_argv;
static uint32_t dpdk_ip;
static uint8_t dpdk_prefix = 24;
static uint16_t dpdk_mtu; /* 0: the dataplane's default */

int lg_dpdk_configure(int argc, char **argv)
{
	char addr[64], *slash, *opt;
	struct in_addr a;

	if (argc < 1 || strlen(argv[0]) >= sizeof(addr)) {
		fprintf(stderr, "sshterm-bench: --dpdk needs ADDR/PREFIX, then EAL arguments\n");
		return ST_ERR_INVALID_ARGUMENT;
	}
	snprintf(addr, sizeof(addr), "%s", argv[0]);
	/* ADDR/PREFIX,mtu=N: the port's MTU (jumbo frames on ports that take them). */
	if ((opt = strchr(addr, ',')) != NULL) {
		char *end;
		unsigned long m;

		*opt++ = '\0';
		m = strncmp(opt, "mtu=", 4) == 0 ? strtoul(opt + 4, &end, 10) : 0;
		if (m < DP_MTU_MIN || m > DP_MTU_MAX || *end != '\0') {
			fprintf(stderr, "sshterm-bench: --dpdk %s: expected ADDR/PREFIX[,mtu=%u..%u]\n",
				argv[0], DP_MTU_MIN, DP_MTU_MAX);
			return ST_ERR_INVALID_ARGUMENT;
		}
		dpdk_mtu = (uint16_t)m;
	}
	if ((slash = strchr(addr, '/')) != NULL) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (*end != '\0' || p < 1 || p > 32) {
			fprintf(stderr, "sshterm-bench: bad prefix length in %s\n", argv[0]);
			return ST_ERR_INVALID_ARGUMENT;
		}
		dpdk_prefix = (uint8_t)p;
		*slash = '\0';
	}
	if (inet_pton(AF_INET, addr, &a) != 1) {
		fprintf(stderr, "sshterm-bench: --dpdk %s: not an IPv4 address\n", argv[0]);
		return ST_ERR_INVALID_ARGUMENT;
	}
	dpdk_ip = ntohl(a.s_addr);
	dpdk_argc = argc; /* argv[0] stands in for the program name EAL skips */
	dpdk_argv = argv;
	return ST_OK;
}

static int d_init(const struct lg_target *tgt, unsigned threads, void **gctx)
{
	struct dglobal *g;
	struct dp_cfg cfg;
	int n, r;

	if (tgt->addr.ss_family != AF_INET) {
		fprintf(stderr, "sshterm-bench: the DPDK transport is IPv4 only\n");
		return ST_ERR_INVALID_ARGUMENT;
	}
	if (dpdk_argv == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((n = dp_eal_init(dpdk_argc, dpdk_argv)) < 0) {
		fprintf(stderr, "sshterm-bench: EAL init failed\n");
		return n;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return ST_ERR_ALLOC;
	memset(&cfg, 0, sizeof(cfg));
	tcp_cfg_defaults(&cfg.tcp);
	cfg.ip = dpdk_ip;
	cfg.prefix_len = dpdk_prefix;
	cfg.mtu = dpdk_mtu;
	cfg.quit = &g->quit;
	/* The client closes first, so TIME_WAIT is ours: keep it short and the table large. */
	cfg.tcp.max_conns = 65536;
	cfg.tcp.time_wait_ms = 2000;
	cfg.tcp.eph_lo = 1024;
	cfg.tcp.eph_hi = 65535;
	/* A bulk upload over a long path keeps a whole window in flight: the generator's own
	 * send queue must not be what limits it (memory only as queued). */
	cfg.tcp.sndbuf = 64u << 20;
	/* Benchmarks of the path (scripts/bench-bdp.sh) may take the sender's congestion control
	 * out of the picture: NewReno slow-starts until loss or the receive window, where
	 * CUBIC's HyStart++ may leave slow start early on a long, CPU-bound path. */
	{
		const char *cc = getenv("SSHTERM_BENCH_TCP_CC");

		const char *l = getenv("SSHTERM_BENCH_SS_ACK_SEGS");

		if (cc != NULL && strcmp(cc, "newreno") == 0)
			cfg.tcp.cc_algo = TCP_CC_NEWRENO;
		/* A receiver that acknowledges a burst at once (sshterm does) sends stretch ACKs;
		 * Linux's slow start counts every segment they cover, RFC 3465's L = 2 does not. */
		if (l != NULL && atoi(l) > 0 && atoi(l) <= 255)
			cfg.tcp.ss_ack_segs = (uint8_t)atoi(l);
	}
	if ((r = dp_create(&cfg, &g->dp)) != ST_OK) {
		fprintf(stderr, "sshterm-bench: dataplane setup failed: %s\n", st_err_str(r));
		free(g);
		rte_eal_cleanup();
		return r;
	}
	if (threads > dp_nb_workers(g->dp)) {
		fprintf(stderr,
			"sshterm-bench: -j %u needs as many dataplane workers; the EAL lcore list "
			"gives %u\n",
			threads, dp_nb_workers(g->dp));
		dp_destroy(g->dp);
		free(g);
		rte_eal_cleanup();
		return ST_ERR_INVALID_ARGUMENT;
	}
	/* Connections opened before the link is up would wait for SYN retransmits. */
	for (int i = 0; i < 1000; i++) {
		struct rte_eth_link link;
		if (rte_eth_link_get_nowait(cfg.port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			break;
		rte_delay_ms(10);
	}
	*gctx = g;
	return ST_OK;
}

static void d_fini(void *gctx)
{
	struct dglobal *g = gctx;

	if (g == NULL)
		return;
	/* The generator's own dataplane counters (drops, retransmits), for the record. */
	fprintf(stderr, "sshterm-bench: generator dataplane:\n");
	dp_print_stats(g->dp, stderr);
	dp_destroy(g->dp);
	free(g);
	rte_eal_cleanup();
}

static void d_connected(void *ctx, tcp_handle_t h)
{
	struct dslot *s = ctx;

	(void)h;
	if (s->stopped)
		return;
	s->dt->events++;
	if (lg_on_connected(s->dt->t, s->slot) == LG_STOP)
		s->stopped = 1;
}

static void d_readable(void *ctx, tcp_handle_t h)
{
	struct dslot *s = ctx;
	struct dthread *dt = s->dt;
	struct rte_mbuf *chain, *m;
	int n;

	if (s->stopped)
		return;
	if (s->paused) {
		s->pending = 1;
		return;
	}
	dt->events++;
	n = tcp_read(dt->w->tcp, h, &chain);
	if (n == ST_ERR_EOF) {
		if (lg_on_eof(dt->t, s->slot) == LG_STOP)
			s->stopped = 1;
		return;
	}
	if (n <= 0)
		return;
	for (m = chain; m != NULL; m = m->next) {
		if (s->stopped || m->data_len == 0)
			continue;
		if (lg_on_data(dt->t, s->slot, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len) ==
		    LG_STOP)
			s->stopped = 1;
	}
	rte_pktmbuf_free(chain);
}

static void d_writable(void *ctx, tcp_handle_t h)
{
	struct dslot *s = ctx;

	(void)h;
	if (s->stopped)
		return;
	s->dt->events++;
	if (lg_on_writable(s->dt->t, s->slot) == LG_STOP)
		s->stopped = 1;
}

static void d_closed(void *ctx, tcp_handle_t h, int err)
{
	struct dslot *s = ctx;
	enum st_sshc_fail why;
	int r;

	(void)h;
	s->h = 0; /* the stack gave the handle back */
	if (s->stopped)
		return;
	s->dt->events++;
	if (err == 0)
		r = lg_on_eof(s->dt->t, s->slot);
	else {
		why = err == ST_ERR_CONN_REFUSED ? SSHC_FAIL_REFUSED
		      : err == ST_ERR_TIMEOUT	 ? SSHC_FAIL_TIMEOUT
						 : SSHC_FAIL_IO;
		r = lg_on_error(s->dt->t, s->slot, why, 0);
	}
	s->stopped = 1;
	(void)r;
}

static const struct tcp_ops d_ops = {
	.connected = d_connected,
	.readable = d_readable,
	.writable = d_writable,
	.closed = d_closed,
};

static int d_thread_init(void *gctx, const struct lg_target *tgt, struct lg_thread *t,
			 uint32_t slots, void **tctx)
{
	struct dglobal *g = gctx;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&tgt->addr;
	struct dthread *dt;
	unsigned idx;

	if (rte_thread_register() != 0) {
		fprintf(stderr, "sshterm-bench: rte_thread_register: %s\n",
			rte_strerror(rte_errno));
		return ST_ERR_SYSTEM;
	}
	idx = __atomic_fetch_add(&g->next_worker, 1, __ATOMIC_RELAXED);
	if ((dt = calloc(1, sizeof(*dt))) == NULL ||
	    (dt->slots = calloc(slots, sizeof(dt->slots[0]))) == NULL) {
		free(dt);
		return ST_ERR_ALLOC;
	}
	dt->w = dp_worker_get(g->dp, idx);
	dt->t = t;
	dt->raddr = ntohl(sin->sin_addr.s_addr);
	dt->rport = ntohs(sin->sin_port);
	dt->nslots = slots;
	for (uint32_t i = 0; i < slots; i++) {
		dt->slots[i].dt = dt;
		dt->slots[i].slot = i;
	}
	if (dt->w == NULL || dp_worker_begin(dt->w) != 0) {
		free(dt->slots);
		free(dt);
		return ST_ERR_INTERNAL;
	}
	/*
	 * Resolve the next hop before the first SYN: a burst of connections to an
	 * unresolved address would overflow the ARP hold queue and wait a second
	 * for SYN retransmits. Bounded: without an answer TCP retries as usual.
	 */
	{
		uint32_t hop = dp_next_hop(dt->w, dt->raddr);
		uint64_t end = rte_rdtsc() + 2 * rte_get_tsc_hz();
		while (hop != 0 && dp_arp_lookup(dt->w, hop) == NULL && rte_rdtsc() < end)
			for (int i = 0; i < 1000; i++)
				(void)dp_worker_pass(dt->w);
	}
	*tctx = dt;
	return ST_OK;
}

static void d_thread_fini(void *tctx)
{
	struct dthread *dt = tctx;

	for (uint32_t i = 0; i < dt->nslots; i++)
		if (dt->slots[i].h != 0)
			(void)tcp_abort(dt->w->tcp, dt->slots[i].h);
	dp_worker_end(dt->w);
	free(dt->slots);
	free(dt);
	rte_thread_unregister();
}

static int d_connect(void *tctx, uint32_t slot)
{
	struct dthread *dt = tctx;
	struct dslot *s = &dt->slots[slot];
	int r;

	s->stopped = s->paused = s->pending = 0;
	if ((r = tcp_connect(dt->w->tcp, dt->raddr, dt->rport, &d_ops, s, &s->h)) != ST_OK) {
		s->h = 0;
		errno = EADDRNOTAVAIL;
		return ST_ERR_SYSTEM;
	}
	return ST_OK;
}

static int d_send(void *tctx, uint32_t slot, const uint8_t *p, size_t n, size_t *sent)
{
	struct dthread *dt = tctx;
	struct dslot *s = &dt->slots[slot];
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t space;
	size_t take, off = 0;
	int r;

	*sent = 0;
	if (s->h == 0) {
		errno = ECONNRESET;
		return ST_ERR_CONN_RESET;
	}
	space = tcp_send_space(dt->w->tcp, s->h);
	take = n < space ? n : space;
	while (off < take) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(dt->w->pool);
		uint16_t room;
		size_t k;
		if (m == NULL)
			break; /* the pool is short: send what we have, writable() comes later */
		room = rte_pktmbuf_tailroom(m);
		k = take - off < room ? take - off : room;
		memcpy(rte_pktmbuf_append(m, (uint16_t)k), p + off, k);
		off += k;
		if (head == NULL) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += (uint32_t)k;
		}
	}
	if (head == NULL)
		return ST_OK;
	r = tcp_write(dt->w->tcp, s->h, head);
	if (r == ST_ERR_AGAIN) {
		rte_pktmbuf_free(head);
		return ST_OK;
	}
	if (r != ST_OK) {
		rte_pktmbuf_free(head);
		errno = EPIPE;
		return ST_ERR_CONN_RESET;
	}
	*sent = off;
	return ST_OK;
}

static void d_read_pause(void *tctx, uint32_t slot, int paused)
{
	struct dthread *dt = tctx;
	struct dslot *s = &dt->slots[slot];

	s->paused = (uint8_t)(paused != 0);
	if (!paused && s->pending && s->h != 0) {
		s->pending = 0;
		d_readable(s, s->h);
	}
}

static void d_close(void *tctx, uint32_t slot)
{
	struct dthread *dt = tctx;
	struct dslot *s = &dt->slots[slot];

	if (s->h != 0)
		(void)tcp_release(dt->w->tcp, s->h); /* FIN after what is queued; no more events */
	s->h = 0;
	s->stopped = 1;
}

static int d_poll(void *tctx, int timeout_ms)
{
	struct dthread *dt = tctx;
	uint64_t end = rte_rdtsc() + (uint64_t)timeout_ms * (rte_get_tsc_hz() / 1000);

	/* Busy-poll the worker until something happened or the time is up. */
	dt->events = 0;
	do {
		(void)dp_worker_pass(dt->w);
	} while (dt->events == 0 && rte_rdtsc() < end);
	return ST_OK;
}

const struct lg_transport lg_transport_dpdk = {
	.name = "dpdk",
	.init = d_init,
	.fini = d_fini,
	.thread_init = d_thread_init,
	.thread_fini = d_thread_fini,
	.connect = d_connect,
	.send = d_send,
	.read_pause = d_read_pause,
	.close = d_close,
	.poll = d_poll,
};
