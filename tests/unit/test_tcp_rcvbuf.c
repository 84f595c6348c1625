/*
 * Unit tests: TCP receive window autotuning (dataplane/tcp/tcp_rcvbuf.c).
 * The arithmetic on its own; the window scale offered for a cap; and a
 * connection set up by hand (no port) fed round after round of a peer that
 * sends whatever window we advertised, one RTT later: the window grows with
 * the delivered bytes per RTT, only when the application reads them, never
 * past the cap or what the scale can say, and every ACK's right edge is at
 * or right of the one before (it never retracts). And the send buffer
 * (tcp_sndbuf.c): a writer that found it full gets twice min(cwnd, peer's
 * window) after the next ACK, never more than its cap.
 */
#include <string.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/proto.h"
#include "dataplane/tcp/tcp_internal.h"
#include "tests/unit/test.h"

#define US 0xc6120002u   /* 198.18.0.2 */
#define PEER 0xc6120001u /* 198.18.0.1 */
#define ISS 1000u
#define IRS 5000u
#define SEG 1448u
#define RTT_MS 100u

static struct rte_mempool *pool;
static struct dp_worker *w;
static struct dp_stats st;
static struct tcp_worker *tw;
static struct tcp_conn *c;
static uint32_t last_right; /* right edge of our last ACK */

static int setup(uint32_t rcvbuf, uint32_t rcvbuf_max, int ts)
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
	tc.rcvbuf = rcvbuf;
	tc.rcvbuf_max = rcvbuf_max;
	tc.sndbuf_max = rcvbuf_max; /* the same cap for the send buffer */
	if (tcp_worker_create(w, &tc, &tw) != ST_OK) {
		rte_free(w);
		return -1;
	}
	w->tcp = tw;
	c = tcp_conn_alloc(tw);
	c->laddr = dp_ip_v4(US);
	c->raddr = dp_ip_v4(PEER);
	c->lport = 22;
	c->rport = 40000;
	c->state = TCP_ESTABLISHED;
	c->flags = TF_RMAC | TF_APP_KNOWN | (ts ? TF_TS : 0);
	memset(c->rmac.addr_bytes, 0x02, sizeof(c->rmac.addr_bytes));
	c->mss = 1460;
	c->rcv_ws = tw->rcv_ws;
	c->snd_ws = 7;
	c->iss = ISS;
	c->snd_una = c->snd_nxt = c->snd_max = ISS + 1;
	c->snd_wnd = c->max_snd_wnd = 1u << 20;
	c->irs = IRS;
	c->rcv_nxt = c->rcv_adv = IRS + 1;
	tcp_rtt_init(&c->rtt, 200);
	tcp_cc_init(&c->cc, c->mss, TCP_CC_NEWRENO);
	tcp_conn_hash_insert(tw, c);
	last_right = c->rcv_adv;
	return 0;
}

static void teardown(void)
{
	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
	tcp_worker_drain(tw);
	dp_timer_cancel(&w->wheel, &c->tm);
	tcp_worker_destroy(tw);
	rte_free(w);
}

/* One data segment from the peer at seq, with a timestamp option echoing tsecr when ts. */
static void peer_data(uint32_t seq, uint32_t len, int ts, uint32_t tsecr)
{
	struct dp_ipv4_info ip = {.src = PEER, .dst = US, .proto = 6, .ttl = 64, .hlen = 20};
	uint8_t mac[6] = {2, 2, 2, 2, 2, 2};
	uint32_t hl = ts ? 32 : 20;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len)) : NULL;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)p;

	if (!p) {
		CHECK(!"mbuf");
		return;
	}
	memset(p, 0, hl + len);
	th->src_port = rte_cpu_to_be_16(40000);
	th->dst_port = rte_cpu_to_be_16(22);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ISS + 1);
	th->data_off = (uint8_t)((hl / 4) << 4);
	th->tcp_flags = TH_ACK;
	th->rx_win = rte_cpu_to_be_16(8192);
	if (ts) {
		uint8_t *o = p + 20;
		o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
		uint32_t v = rte_cpu_to_be_32(7u), e = rte_cpu_to_be_32(tsecr);
		memcpy(o + 4, &v, 4);
		memcpy(o + 8, &e, 4);
	}
	ip.total_len = (uint16_t)(20 + hl + len);
	tcp_input(tw, m, &ip, mac, 1);
}

/* The application reads everything queued. Returns the bytes read. */
static uint32_t app_read(void)
{
	struct rte_mbuf *got = NULL;
	int n = tcp_read(tw, tcp_handle_of(tw, c), &got);

	if (got)
		rte_pktmbuf_free(got);
	return n > 0 ? (uint32_t)n : 0;
}

/*
 * We send an ACK: checks its window against the scale and the cap, and that
 * its right edge did not move left. Returns the window it advertised.
 */
static uint32_t our_ack(void)
{
	struct rte_tcp_hdr *th;
	uint32_t win, ack, right;

	w->tx_n = 0;
	tcp_send_ack(tw, c);
	if (w->tx_n != 1) {
		CHECK_INT(w->tx_n, 1);
		return 0;
	}
	th = rte_pktmbuf_mtod_offset(w->tx[0], struct rte_tcp_hdr *, DP_ETH_HLEN + DP_IP_HLEN);
	win = (uint32_t)rte_be_to_cpu_16(th->rx_win) << c->rcv_ws;
	ack = rte_be_to_cpu_32(th->recv_ack);
	right = ack + win;
	CHECK(seq_geq(right, last_right));
	CHECK(win <= tcp_rcvwin_cap(tw, c) + (1u << c->rcv_ws));
	CHECK_INT(c->rcv_adv, right);
	last_right = right;
	rte_pktmbuf_free(w->tx[0]);
	w->tx_n = 0;
	return win;
}

/*
 * One round trip: we ACK (TSval now), the peer sends `burst` bytes (0: the
 * whole window we advertised) that arrive one RTT later echoing that TSval,
 * and the application reads them as they come (when `reads`).
 */
static uint32_t round_trip(int ts, uint32_t burst, int reads)
{
	uint32_t win = our_ack(), tsecr = tcp_ts_now(tw), sent = 0;

	if (burst == 0 || burst > win)
		burst = win;
	w->now_ms += RTT_MS;
	while (sent + SEG <= burst) {
		peer_data(c->rcv_nxt, SEG, ts, tsecr);
		sent += SEG;
		if (reads && (sent / SEG) % 32 == 0)
			app_read();
	}
	if (reads)
		app_read();
	return sent;
}

static void test_want_math(void)
{
	const uint32_t mss = 1460, slack = 4 * 1460;

	/* a window's worth per RTT: twice that, plus slack */
	CHECK_INT(tcp_rcvwin_want(256u << 10, 16u << 20, 256u << 10, 100, 100, mss),
		  (512u << 10) + slack);
	/* the same bytes over two RTTs: half the rate */
	CHECK_INT(tcp_rcvwin_want(256u << 10, 16u << 20, 256u << 10, 200, 100, mss),
		  (256u << 10) + slack);
	/* little delivered: no growth, and never below the window now */
	CHECK_INT(tcp_rcvwin_want(256u << 10, 16u << 20, 10000, 100, 100, mss), 256u << 10);
	/* capped */
	CHECK_INT(tcp_rcvwin_want(12u << 20, 16u << 20, 12u << 20, 100, 100, mss), 16u << 20);
	/* not a whole RTT yet, or no RTT: unchanged */
	CHECK_INT(tcp_rcvwin_want(256u << 10, 16u << 20, 1u << 30, 99, 100, mss), 256u << 10);
	CHECK_INT(tcp_rcvwin_want(256u << 10, 16u << 20, 1u << 30, 100, 0, mss), 256u << 10);
	/* at or past the cap: the cap */
	CHECK_INT(tcp_rcvwin_want(16u << 20, 16u << 20, 1u << 30, 100, 100, mss), 16u << 20);
	CHECK_INT(tcp_rcvwin_want(256u << 10, 65535, 1u << 30, 100, 100, mss), 65535);
	/* huge rates do not overflow */
	CHECK_INT(tcp_rcvwin_want(1u << 20, TCP_RCVBUF_LIMIT, 1ull << 40, 1000, 1000, mss),
		  TCP_RCVBUF_LIMIT);
}

/* The scale offered at SYN lets the window reach its cap, and no further than needed. */
static void test_wscale_for_cap(void)
{
	static const struct {
		uint32_t rcvbuf, max;
		uint8_t ws;
	} cases[] = {
		{256u << 10, 256u << 10, 3}, /* fixed windows: as before */
		{256u << 10, 0, 3},
		{256u << 10, 16u << 20, 9},
		{256u << 10, 64u << 20, 11},
		{256u << 10, 65535u << 14, 14},
		{65535, 65535, 0},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (setup(cases[i].rcvbuf, cases[i].max, 1) != 0) {
			CHECK(!"setup");
			continue;
		}
		CHECK_INT(tw->rcv_ws, cases[i].ws);
		CHECK((uint64_t)65535 << tw->rcv_ws >=
		      (cases[i].max > cases[i].rcvbuf ? cases[i].max : cases[i].rcvbuf));
		CHECK_INT(c->rcv_wnd, cases[i].rcvbuf);
		teardown();
	}
	/* past what scale 14 can say: refused */
	CHECK(setup(256u << 10, (65535u << 14) + 1, 1) != 0);
}

/* A sender that fills every window: the window doubles per RTT up to the cap. */
static void check_growth(int ts)
{
	const uint32_t cap = 4u << 20;
	uint32_t prev, rounds = 0;

	if (setup(256u << 10, cap, ts) != 0) {
		CHECK(!"setup");
		return;
	}
	round_trip(ts, 0, 1); /* starts the first interval (and, without timestamps, the timing) */
	prev = c->rcv_wnd;
	for (; rounds < 20 && c->rcv_wnd < cap; rounds++) {
		round_trip(ts, 0, 1);
		CHECK(c->rcv_wnd >= prev);
		CHECK(c->rcv_wnd <= cap);
		prev = c->rcv_wnd;
	}
	CHECK_INT(c->rcv_wnd, cap);
	CHECK(rounds <= 8); /* 256 KiB to 4 MiB: four doublings, and the first samples */
	CHECK(st.ctr[DP_CTR_TCP_RCVWND_GROWN] >= 4);
	CHECK_INT(st.ctr[DP_CTR_TCP_RCVWND_AT_MAX], 1);
	CHECK(tcp_rcv_rtt_ms(c) >= RTT_MS - 1 && tcp_rcv_rtt_ms(c) <= 2 * RTT_MS);
	/* at the cap it stays there, and the advertised window is the whole cap */
	round_trip(ts, 0, 1);
	CHECK_INT(c->rcv_wnd, cap);
	CHECK(our_ack() >= cap - (1u << c->rcv_ws));
	CHECK_INT(st.drop[DP_DROP_TCP_RCVBUF], 0);
	teardown();
}

static void test_grows_with_timestamps(void)
{
	check_growth(1);
}

static void test_grows_without_timestamps(void)
{
	check_growth(0);
}

/* A sender that sends little, or an application that reads nothing: no growth. */
static void test_no_growth_without_demand(void)
{
	if (setup(256u << 10, 16u << 20, 1) != 0) {
		CHECK(!"setup");
		return;
	}
	for (unsigned i = 0; i < 10; i++)
		round_trip(1, 32u * SEG, 1); /* 46 KiB per RTT: far from the window */
	CHECK_INT(c->rcv_wnd, 256u << 10);
	CHECK_INT(st.ctr[DP_CTR_TCP_RCVWND_GROWN], 0);
	teardown();

	if (setup(256u << 10, 16u << 20, 1) != 0) {
		CHECK(!"setup");
		return;
	}
	app_read();
	for (unsigned i = 0; i < 4; i++)
		round_trip(1, 0, 0); /* the window fills and closes; nobody reads */
	CHECK_INT(c->rcv_wnd, 256u << 10);
	CHECK(c->rq_bytes <= 256u << 10);
	/* closed but for the rest of the last window (not a whole segment), rounded up to the
	 * scale's unit rather than moving the edge left */
	CHECK(our_ack() < SEG + (1u << c->rcv_ws));
	teardown();
}

/* Without a scale (the peer offered none) the window cannot say more than 64 KiB. */
static void test_unscaled_cap(void)
{
	if (setup(32u << 10, 16u << 20, 1) != 0) {
		CHECK(!"setup");
		return;
	}
	c->rcv_ws = 0;
	round_trip(1, 0, 1);
	for (unsigned i = 0; i < 6; i++)
		round_trip(1, 0, 1);
	CHECK_INT(c->rcv_wnd, 65535);
	CHECK_INT(tcp_rcvwin_cap(tw, c), 65535);
	teardown();
}

/*
 * The scale rounds the window to 512-byte units (scale 9): when the space
 * left is not a whole unit, the field is rounded up rather than moving the
 * right edge left of the last ACK's.
 */
static void test_scaled_edge_never_retracts(void)
{
	if (setup(256u << 10, 16u << 20, 1) != 0) {
		CHECK(!"setup");
		return;
	}
	CHECK_INT(c->rcv_ws, 9);
	our_ack();
	/* Odd-sized segments the application does not read: the space shrinks by odd amounts. */
	for (unsigned i = 0; i < 50; i++) {
		peer_data(c->rcv_nxt, 777, 1, tcp_ts_now(tw));
		our_ack();
		if (i % 7 == 6)
			app_read(); /* and now and then it opens again */
	}
	teardown();
}

/* A pure ACK from the peer acknowledging up to ack, window field win (scaled by snd_ws). */
static void peer_ack(uint32_t ack, uint16_t win)
{
	struct dp_ipv4_info ip = {.src = PEER, .dst = US, .proto = 6, .ttl = 64, .hlen = 20};
	uint8_t mac[6] = {2, 2, 2, 2, 2, 2};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_tcp_hdr *th = m ? (struct rte_tcp_hdr *)rte_pktmbuf_append(m, 20) : NULL;

	if (!th) {
		CHECK(!"mbuf");
		return;
	}
	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(40000);
	th->dst_port = rte_cpu_to_be_16(22);
	th->sent_seq = rte_cpu_to_be_32(c->rcv_nxt);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = TH_ACK;
	th->rx_win = rte_cpu_to_be_16(win);
	ip.total_len = 40;
	tcp_input(tw, m, &ip, mac, 1);
}

/* Queues n bytes and pretends they were all sent (the ACK path frees what is acknowledged). */
static void queue_sent(uint32_t n)
{
	struct rte_mbuf *head = NULL, *tail = NULL;

	for (uint32_t off = 0; off < n;) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint16_t k = (uint16_t)(n - off > 2048 ? 2048 : n - off);

		if (!m || !rte_pktmbuf_append(m, k)) {
			CHECK(!"mbuf");
			break;
		}
		off += k;
		if (!head) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += k;
		}
	}
	CHECK_OK(tcp_write(tw, tcp_handle_of(tw, c), head));
	c->snd_nxt = c->snd_max = c->snd_una + n;
}

static void test_sndbuf_want_math(void)
{
	CHECK_INT(tcp_sndbuf_want(256u << 10, 16u << 20, 4u << 20, 8u << 20), 8u << 20);
	CHECK_INT(tcp_sndbuf_want(256u << 10, 16u << 20, 8u << 20, 1u << 20), 2u << 20);
	CHECK_INT(tcp_sndbuf_want(256u << 10, 4u << 20, 8u << 20, 8u << 20), 4u << 20);
	CHECK_INT(tcp_sndbuf_want(256u << 10, 16u << 20, 100000, 8u << 20), 256u << 10);
	CHECK_INT(tcp_sndbuf_want(256u << 10, 16u << 20, 4u << 20, 0), 256u << 10);
	CHECK_INT(tcp_sndbuf_want(16u << 20, 16u << 20, 1u << 30, 1u << 30), 16u << 20);
	CHECK_INT(tcp_sndbuf_want(256u << 10, TCP_RCVBUF_LIMIT, 1u << 30, 1u << 30), TCP_RCVBUF_LIMIT);
}

/* A full buffer and an ACK: twice min(cwnd, the peer's window); not without a waiting writer. */
static void test_sndbuf_grows_for_a_waiting_writer(void)
{
	tcp_handle_t h;

	if (setup(256u << 10, 16u << 20, 0) != 0) {
		CHECK(!"setup");
		return;
	}
	h = tcp_handle_of(tw, c);
	CHECK_INT(c->snd_buf, 256u << 10);
	c->cc.cwnd = 4u << 20;
	queue_sent(256u << 10);
	CHECK_INT(tcp_send_space(tw, h), 0); /* full: the writer waits */
	peer_ack(c->snd_una + (64u << 10), 65535); /* 8 MiB with scale 7 */
	/* the ACK grew cwnd a little (slow start) before the buffer followed it */
	CHECK(c->cc.cwnd >= 4u << 20 && c->cc.cwnd < c->snd_wnd);
	CHECK_INT(c->snd_buf, 2 * c->cc.cwnd);
	CHECK_INT(st.ctr[DP_CTR_TCP_SNDBUF_GROWN], 1);
	CHECK_INT(tcp_send_space(tw, h), 2 * c->cc.cwnd - (192u << 10));
	teardown();

	/* nobody waiting: no growth */
	if (setup(256u << 10, 16u << 20, 0) != 0) {
		CHECK(!"setup");
		return;
	}
	c->cc.cwnd = 4u << 20;
	queue_sent(128u << 10);
	peer_ack(c->snd_una + (64u << 10), 65535);
	CHECK_INT(c->snd_buf, 256u << 10);
	teardown();

	/* a small congestion window, a small peer window, a fixed buffer: as they say */
	if (setup(256u << 10, 16u << 20, 0) != 0) {
		CHECK(!"setup");
		return;
	}
	h = tcp_handle_of(tw, c);
	c->cc.cwnd = 100000;
	queue_sent(256u << 10);
	CHECK_INT(tcp_send_space(tw, h), 0);
	peer_ack(c->snd_una + (16u << 10), 65535);
	CHECK_INT(c->snd_buf, 256u << 10);
	c->cc.cwnd = 4u << 20;
	CHECK_INT(tcp_send_space(tw, h), 16u << 10);
	queue_sent(16u << 10);
	CHECK_INT(tcp_send_space(tw, h), 0);
	peer_ack(c->snd_una + (16u << 10), 4096); /* 512 KiB: now the smaller */
	CHECK_INT(c->snd_buf, 1u << 20);
	teardown();
	if (setup(256u << 10, 256u << 10, 0) != 0) {
		CHECK(!"setup");
		return;
	}
	h = tcp_handle_of(tw, c);
	c->cc.cwnd = 4u << 20;
	queue_sent(256u << 10);
	CHECK_INT(tcp_send_space(tw, h), 0);
	peer_ack(c->snd_una + (64u << 10), 65535);
	CHECK_INT(c->snd_buf, 256u << 10); /* TCPSendBufferMax 256K: fixed */
	teardown();
}

int main(int argc, char **argv)
{
	(void)argc;
	if (st_test_eal_init(argv[0], "tcp_rcvbuf") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("tcp_rcvbuf", "rcvbuf", 8192, RTE_MBUF_DEFAULT_BUF_SIZE)) ==
	    NULL)
		return 1;
	RUN(test_want_math);
	RUN(test_wscale_for_cap);
	RUN(test_grows_with_timestamps);
	RUN(test_grows_without_timestamps);
	RUN(test_no_growth_without_demand);
	RUN(test_unscaled_cap);
	RUN(test_scaled_edge_never_retracts);
	RUN(test_sndbuf_want_math);
	RUN(test_sndbuf_grows_for_a_waiting_writer);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("tcp_rcvbuf");
	return st_test_done("tcp_rcvbuf");
}
