/*
 * Unit tests: receive memory against the mbuf pool (dataplane/tcp/tcp_rcvmem.c)
 * and the pool's sizing (dataplane/pool_size.c).
 * The arithmetic on its own: a connection's allowance, what may be queued,
 * the window space it may advertise; the pool's parts and bounds and each
 * worker's share. Then two connections set up by hand (no port) on a worker
 * with a share of 200 mbufs: one whose application never reads is held
 * within the share (no growth, no new room, TCP_RCVMEM past it, its right
 * edge never moving left), while the other, with nothing queued, still takes
 * its segments; after a read everything is open again.
 */
#include <string.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/pool_size.h"
#include "dataplane/proto.h"
#include "dataplane/tcp/tcp_internal.h"
#include "tests/unit/test.h"

#define US 0xc6120002u   /* 198.18.0.2 */
#define PEER 0xc6120001u /* 198.18.0.1 */
#define ISS 1000u
#define IRS 5000u
#define SEG 1448u
#define COST 2304u /* tcp_chain_cost of one default mbuf: 2176 + 128 */
#define SHARE (200u * COST)
#define BASE (2u * TCP_RCVMEM_BASE_DEFAULT)

static struct rte_mempool *pool;
static struct dp_worker *w;
static struct dp_stats st;
static struct tcp_worker *tw;

static void test_allowance_math(void)
{
	/* an eighth of what is left, never below the base */
	CHECK_INT(tcp_rcvmem_allowance(8000000, 0, 1000), 1000000);
	CHECK_INT(tcp_rcvmem_allowance(8000000, 4000000, 1000), 500000);
	CHECK_INT(tcp_rcvmem_allowance(8000000, 7999000, 1000), 1000);
	CHECK_INT(tcp_rcvmem_allowance(8000000, 9000000, 1000), 1000); /* over the share */
}

static void test_admit_math(void)
{
	const uint64_t s = 1000000;
	const uint32_t b = 10000;

	/* nothing queued: always, even far past the share (no deadlock) */
	CHECK(tcp_rcvmem_admit(s, 5 * s, 0, 65536, b, 0));
	/* below three quarters: anyone */
	CHECK(tcp_rcvmem_admit(s, 700000, 600000, 50000, b, 0));
	CHECK(!tcp_rcvmem_admit(s, 700001, 600000, 50000, b, 0));
	/* the last quarter: only within the allowance (max(base, left / 8)) */
	CHECK(tcp_rcvmem_admit(s, 800000, 5000, 2304, b, 0));     /* within the base */
	CHECK(tcp_rcvmem_admit(s, 800000, 20000, 2304, b, 0));    /* within 200000 / 8 */
	CHECK(!tcp_rcvmem_admit(s, 800000, 24000, 2304, b, 0));   /* past it */
	CHECK(!tcp_rcvmem_admit(s, 800000, 24000, 2304, b, 1));   /* past the base too */
	/* past the share: an empty queue, or a reader within its base */
	CHECK(!tcp_rcvmem_admit(s, s, 1, 2304, b, 0));
	CHECK(!tcp_rcvmem_admit(s, s - 1000, 2304, 2304, b, 0));
	CHECK(tcp_rcvmem_admit(s, 2 * s, 2304, 2304, b, 1));
	CHECK(!tcp_rcvmem_admit(s, 2 * s, 9000, 2304, b, 1));
}

static void test_space_math(void)
{
	const uint64_t s = 1000000;
	const uint32_t b = 10000;

	/* no pressure below half the share: the window as it is */
	CHECK_INT(tcp_rcvmem_space(1u << 20, s, 499999, 400000, b), 1u << 20);
	/* pressure: half the allowance left, in window bytes */
	CHECK_INT(tcp_rcvmem_space(1u << 20, s, 500000, 0, b), 31250); /* 500000 / 8 / 2 */
	CHECK_INT(tcp_rcvmem_space(1u << 20, s, 500000, 2500, b), 30000);
	CHECK_INT(tcp_rcvmem_space(1000, s, 500000, 0, b), 1000); /* never more than the window */
	/* a connection holding its allowance or more: no new room */
	CHECK_INT(tcp_rcvmem_space(1u << 20, s, 500000, 62500, b), 0);
	CHECK_INT(tcp_rcvmem_space(1u << 20, s, 900000, 400000, b), 0);
	/* past the share an empty connection still gets its base's window */
	CHECK_INT(tcp_rcvmem_space(1u << 20, s, 2 * s, 0, b), b / 2);
}

static void test_pool_size(void)
{
	struct dp_pool_parts p;

	/* the defaults: 1 worker, -m 1024, 1024 descriptors each way, 16 MiB windows */
	memset(&p, 0, sizeof(p));
	p.workers = p.all_workers = 1;
	p.rxd = p.txd = 1024;
	p.sessions = 1024;
	p.grow_window = 16u << 20;
	p.mss = 1460;
	CHECK_INT(dp_pool_size(&p), 18116);
	CHECK_INT(p.fixed, 1024 + 1024 + 384 + 32 + 64 + 1024);
	CHECK_INT(p.per_sessions, 3072);
	CHECK_INT(p.growth, 11492);
	/* 100,000 slots */
	p.sessions = 100000;
	CHECK_INT(dp_pool_size(&p), 3552 + 300000 + 11492);
	/* four workers on the socket: inboxes and handoff buffers too */
	p.workers = p.all_workers = 4;
	p.sessions = 1024;
	CHECK_INT(dp_pool_size(&p), 4 * (3552 + 2048 + 3 * 32) + 4 * 3072 + 4 * 11492);
	/* two of eight workers on this socket */
	p.workers = 2;
	p.all_workers = 8;
	dp_pool_size(&p);
	CHECK_INT(p.fixed, 2 * (3552 + 2048 + 7 * 32));
	/* the floor and the ceiling */
	memset(&p, 0, sizeof(p));
	p.workers = p.all_workers = 1;
	CHECK_INT(dp_pool_size(&p), DP_POOL_MIN);
	p.sessions = 1u << 20;
	p.workers = p.all_workers = 16;
	CHECK_INT(dp_pool_size(&p), DP_POOL_MAX);
	/* a kernel TAP port: no rings, the spare of its reads */
	memset(&p, 0, sizeof(p));
	p.workers = p.all_workers = 1;
	p.vtap_spare = 34;
	p.sessions = 10000;
	dp_pool_size(&p);
	CHECK_INT(p.fixed, 384 + 32 + 64 + 1024 + 34);
}

static void test_rx_share(void)
{
	CHECK_INT(dp_pool_rx_share(18116, 3552, 1), 14564);
	CHECK_INT(dp_pool_rx_share(8192, 3552, 1), 4640);
	CHECK_INT(dp_pool_rx_share(81040, 22784, 4), 14564);
	/* a pool below its fixed part: an eighth of each worker's part still */
	CHECK_INT(dp_pool_rx_share(4096, 5000, 1), 512);
	CHECK_INT(dp_pool_rx_share(4096, 5000, 0), 512);
}

/* ---- two connections on a worker with a small share ---- */

struct pconn {
	struct tcp_conn *c;
	uint16_t rport;
	uint32_t last_right;
};

static int setup(void)
{
	struct tcp_cfg tc;

	w = rte_zmalloc("w", sizeof(*w), RTE_CACHE_LINE_SIZE);
	memset(&st, 0, sizeof(st));
	w->pool = pool;
	w->st = &st;
	w->ip = US;
	w->mask = 0xffffff00u;
	w->now_ms = 1000;
	w->tsc_per_ms = 1000000;
	w->tx_csum_offload = 1;
	dp_wheel_init(&w->wheel, w->now_ms);
	tcp_cfg_defaults(&tc);
	tc.max_conns = 16;
	tc.rcvmem_worker_max = SHARE;
	if (tcp_worker_create(w, &tc, &tw) != ST_OK) {
		rte_free(w);
		return -1;
	}
	w->tcp = tw;
	return 0;
}

static void conn_open(struct pconn *p, uint16_t rport)
{
	struct tcp_conn *c = tcp_conn_alloc(tw);

	p->c = c;
	p->rport = rport;
	c->laddr = dp_ip_v4(US);
	c->raddr = dp_ip_v4(PEER);
	c->lport = 22;
	c->rport = rport;
	c->state = TCP_ESTABLISHED;
	c->flags = TF_RMAC | TF_APP_KNOWN;
	memset(c->rmac.addr_bytes, 0x02, sizeof(c->rmac.addr_bytes));
	c->mss = 1460;
	c->rcv_ws = tw->rcv_ws;
	c->snd_ws = 7;
	c->iss = ISS;
	c->snd_una = c->snd_nxt = c->snd_max = ISS + 1;
	c->snd_wnd = c->max_snd_wnd = 1u << 20;
	c->irs = IRS;
	c->rcv_nxt = IRS + 1;
	c->rcv_adv = IRS + 1 + c->rcv_wnd; /* the initial window was advertised */
	tcp_rtt_init(&c->rtt, 200);
	tcp_cc_init(&c->cc, c->mss, TCP_CC_NEWRENO);
	tcp_conn_hash_insert(tw, c);
	p->last_right = c->rcv_adv;
}

static void teardown(struct pconn *a, struct pconn *b)
{
	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
	tcp_worker_drain(tw);
	dp_timer_cancel(&w->wheel, &a->c->tm);
	dp_timer_cancel(&w->wheel, &b->c->tm);
	tcp_worker_destroy(tw);
	rte_free(w);
}

/* One full-size data segment from the peer of p at its rcv_nxt. */
static void peer_data(struct pconn *p)
{
	struct dp_ipv4_info ip = {.src = PEER, .dst = US, .proto = 6, .ttl = 64, .hlen = 20};
	uint8_t mac[6] = {2, 2, 2, 2, 2, 2};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *d = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(20 + SEG)) : NULL;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)d;

	if (!d) {
		CHECK(!"mbuf");
		return;
	}
	memset(d, 0, 20 + SEG);
	th->src_port = rte_cpu_to_be_16(p->rport);
	th->dst_port = rte_cpu_to_be_16(22);
	th->sent_seq = rte_cpu_to_be_32(p->c->rcv_nxt);
	th->recv_ack = rte_cpu_to_be_32(ISS + 1);
	th->data_off = 5 << 4;
	th->tcp_flags = TH_ACK;
	th->rx_win = rte_cpu_to_be_16(8192);
	ip.total_len = (uint16_t)(40 + SEG);
	tcp_input(tw, m, &ip, mac, 1);
}

/* We ACK on p: its right edge never moves left. Returns that edge. */
static uint32_t our_ack(struct pconn *p)
{
	struct rte_tcp_hdr *th;
	uint32_t right;

	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
	tcp_send_ack(tw, p->c);
	if (w->tx_n != 1) {
		CHECK_INT(w->tx_n, 1);
		return p->last_right;
	}
	th = rte_pktmbuf_mtod_offset(w->tx[0], struct rte_tcp_hdr *, DP_ETH_HLEN + DP_IP_HLEN);
	right = rte_be_to_cpu_32(th->recv_ack) +
		((uint32_t)rte_be_to_cpu_16(th->rx_win) << p->c->rcv_ws);
	CHECK(seq_geq(right, p->last_right));
	p->last_right = right;
	rte_pktmbuf_free(w->tx[0]);
	w->tx_n = 0;
	return right;
}

static uint32_t app_read(struct pconn *p)
{
	struct rte_mbuf *got = NULL;
	int n = tcp_read(tw, tcp_handle_of(tw, p->c), &got);

	if (got)
		rte_pktmbuf_free(got);
	return n > 0 ? (uint32_t)n : 0;
}

static void test_greedy_within_share(void)
{
	struct pconn a, b;
	uint32_t edge, sent = 0, queued0;

	if (setup() != 0) {
		CHECK(!"setup");
		return;
	}
	conn_open(&a, 40000);
	conn_open(&b, 40001);
	/* a's peer fills the 256 KiB it was granted; nobody reads */
	while (sent + SEG <= 256u << 10) {
		peer_data(&a);
		sent += SEG;
		CHECK(tcp_rcvmem_held(tw) <= SHARE + COST);
	}
	CHECK(st.drop[DP_DROP_TCP_RCVMEM] > 0);
	CHECK(tcp_rcvmem_held(tw) <= SHARE);
	CHECK(tcp_rcvmem_held(tw) >= SHARE / 2); /* under pressure now */
	/* a holds more than its allowance: its ACK opens nothing beyond the old grant */
	edge = our_ack(&a);
	CHECK_INT(edge, a.c->rcv_adv);
	CHECK(edge - (IRS + 1 + (256u << 10)) < (1u << a.c->rcv_ws)); /* scaling rounds up only */
	/* b has nothing queued: its segments are taken */
	queued0 = b.c->rq_bytes;
	peer_data(&b);
	peer_data(&b);
	CHECK_INT(b.c->rq_bytes, queued0 + 2 * SEG);
	/* b reads: its window alone would open, the pool holds it at its old edge */
	CHECK_INT(st.ctr[DP_CTR_TCP_RCVWIN_POOL_CAPPED], 0);
	CHECK_INT(app_read(&b), 2 * SEG);
	CHECK(our_ack(&b) - (IRS + 1 + (256u << 10)) < (1u << b.c->rcv_ws));
	CHECK(st.ctr[DP_CTR_TCP_RCVWIN_POOL_CAPPED] > 0);
	/* no growth under pressure */
	CHECK_INT(a.c->rcv_wnd, 256u << 10);
	/* a reads: memory is back, its window opens again */
	CHECK(app_read(&a) > 0);
	CHECK_INT(tcp_rcvmem_held(tw), 0);
	CHECK(seq_gt(our_ack(&a), edge));
	CHECK_INT(tw->rq_cost, 0);
	teardown(&a, &b);
}

static void test_accounting_on_close(void)
{
	struct pconn a, b;

	if (setup() != 0) {
		CHECK(!"setup");
		return;
	}
	conn_open(&a, 40000);
	conn_open(&b, 40001);
	for (int i = 0; i < 20; i++)
		peer_data(&a);
	CHECK_INT(tw->rq_cost, 20u * COST);
	/* closing drops what it held from the worker's count */
	CHECK_OK(tcp_close(tw, tcp_handle_of(tw, a.c)));
	CHECK_INT(tw->rq_cost, 0);
	CHECK_INT(tcp_rcvmem_held(tw), 0);
	teardown(&a, &b);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (st_test_eal_init(argv[0], "tcp_rcvmem") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("tcp_rcvmem", "rcvmem", 8192, RTE_MBUF_DEFAULT_BUF_SIZE)) ==
	    NULL)
		return 1;
	RUN(test_allowance_math);
	RUN(test_admit_math);
	RUN(test_space_math);
	RUN(test_pool_size);
	RUN(test_rx_share);
	RUN(test_greedy_within_share);
	RUN(test_accounting_on_close);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("tcp_rcvmem");
	return st_test_done("tcp_rcvmem");
}
