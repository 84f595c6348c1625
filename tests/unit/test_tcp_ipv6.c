/*
 * Unit tests: TCP over IPv6 on hand-built workers (dataplane/tcp with
 * two-family tuples, the IPv6 input in dataplane/worker.c and mq.c):
 *   - passive open on the worker's IPv6 address: SYN-ACK in an IPv6 frame
 *     with MSS = MTU - 60 and a TCP checksum over IPv6's pseudo-header,
 *     the ACK completes it, data is read, conn_info names the peer;
 *   - SYN cookies over IPv6 tuples: a cookie ACK completes, the same ACK
 *     from another source address is refused;
 *   - active open (tcp_connect_ip): the SYN waits for Neighbor Discovery,
 *     goes out after the NA, and its source port maps back to the opening
 *     worker through the RSS model;
 *   - checksum offload: the flags and the pseudo-header sum the port wants,
 *     and our software sum against DPDK's over a flat buffer;
 *   - a SYN on the wrong worker's queue is handed to the owner, which
 *     answers it;
 *   - bad segments: wrong checksum, TCP to a multicast group.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/csum.h"
#include "dataplane/mq.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"
#include "dataplane/tcp/tcp_internal.h"
#include "dataplane/worker.h"
#include "tests/unit/test.h"

#define NW 2

static struct rte_mempool *pool;
static struct dp_mq *mq;
static struct dp_worker *ws[NW];
static struct dp_stats sts[NW];
static struct dp_cfg cfg;
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static struct dp_ip US6, PEER6, PEER6B;
static unsigned n_accepted, n_connected;
static tcp_handle_t last_h;

const uint8_t *dp_rss_key(void);

static int on_accepted(void *lctx, tcp_handle_t h, void **cctx)
{
	(void)lctx;
	*cctx = NULL;
	n_accepted++;
	last_h = h;
	return 0;
}

static void on_connected(void *ctx, tcp_handle_t h)
{
	(void)ctx;
	(void)h;
	n_connected++;
}

static void on_nothing(void *ctx, tcp_handle_t h)
{
	(void)ctx;
	(void)h;
}

static void on_closed(void *ctx, tcp_handle_t h, int err)
{
	(void)ctx;
	(void)h;
	(void)err;
}

static const struct tcp_ops ops = {on_accepted, on_connected, on_nothing, on_nothing, on_closed};

static void drain_tx(struct dp_worker *w)
{
	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
}

static void setup(int cookies)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.ip6 = US6;
	cfg.prefix6 = 64;
	n_accepted = n_connected = 0;
	mq = rte_zmalloc("mq", sizeof(*mq), RTE_CACHE_LINE_SIZE);
	dp_rss_init(&mq->rss, dp_rss_key(), 40, NW);
	CHECK_ERR(dp_mq_create(mq, NW, 0, SOCKET_ID_ANY), ST_OK);
	for (unsigned i = 0; i < NW; i++) {
		struct tcp_cfg tc;
		struct dp_worker *w = rte_zmalloc("w", sizeof(*w), RTE_CACHE_LINE_SIZE);

		memset(&sts[i], 0, sizeof(sts[i]));
		w->pool = pool;
		w->st = &sts[i];
		w->now_ms = 100000;
		w->tsc_per_ms = 1000000;
		w->id = (uint8_t)i;
		w->nb_workers = NW;
		w->mac = our_mac;
		w->idle.wake_fd = -1;
		w->mq = mq;
		w->cfg = &cfg;
		mq->w[i] = w;
		dp_wheel_init(&w->wheel, w->now_ms);
		tcp_cfg_defaults(&tc);
		tc.max_conns = 16;
		tc.always_cookies = cookies;
		CHECK_ERR(tcp_worker_create(w, &tc, &w->tcp), ST_OK);
		dp_nd_start(w);
		w->now_ms += 1000;
		dp_nd_timer(w);
		drain_tx(w);
		ws[i] = w;
	}
}

static void teardown(void)
{
	for (unsigned i = 0; i < NW; i++) {
		struct dp_worker *w = ws[i];

		dp_mq_flush(w);
	}
	for (unsigned i = 0; i < NW; i++) {
		struct dp_worker *w = ws[i];

		dp_mq_poll(w);
		tcp_worker_drain(w->tcp);
		for (unsigned k = 0; k < DP_ARP_SIZE; k++)
			for (unsigned j = 0; j < w->arp[k].nhold; j++)
				rte_pktmbuf_free(w->arp[k].hold[j]);
		drain_tx(w);
		tcp_worker_destroy(w->tcp);
		rte_free(w);
		ws[i] = NULL;
	}
	dp_mq_destroy(mq);
	rte_free(mq);
}

/* Ethernet + IPv6 + TCP (with an MSS option on a SYN) + payload, checksum right. */
static struct rte_mbuf *seg6(const struct dp_ip *src, const struct dp_ip *dst, uint16_t sport,
			     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
			     const char *data)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	size_t dl = data ? strlen(data) : 0, ol = (flags & RTE_TCP_SYN_FLAG) ? 4 : 0;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_ETH_HLEN + DP_IP6_HLEN + 20 + ol + dl));
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + DP_ETH_HLEN + DP_IP6_HLEN);

	eh->dst_addr = our_mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV6);
	dp_ipv6_build(p + DP_ETH_HLEN, src, dst, DP_IPPROTO_TCP, (uint16_t)(20 + ol + dl), 64);
	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((20 + ol) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	if (ol) {
		uint8_t *o = (uint8_t *)(th + 1);

		o[0] = 2;
		o[1] = 4;
		o[2] = 1460 >> 8;
		o[3] = 1460 & 0xff;
	}
	if (dl)
		memcpy((uint8_t *)(th + 1) + ol, data, dl);
	th->cksum = dp_l4_cksum_ipv6(m, src, dst, DP_ETH_HLEN + DP_IP6_HLEN);
	return m;
}

/* w's TX frame i as IPv6/TCP with a valid checksum: its TCP header, or NULL. */
static const struct rte_tcp_hdr *tx_tcp6(struct dp_worker *w, unsigned i, struct dp_ipv6_info *ip)
{
	const uint8_t *p;
	struct rte_mbuf *m;

	if (i >= w->tx_n)
		return NULL;
	m = w->tx[i];
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	if (((const struct rte_ether_hdr *)p)->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_IPV6))
		return NULL;
	if (dp_ipv6_parse(p + DP_ETH_HLEN, m->pkt_len - DP_ETH_HLEN, m->data_len - DP_ETH_HLEN, ip) !=
		    DP_DROP_NONE ||
	    ip->proto != DP_IPPROTO_TCP)
		return NULL;
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) &&
	    !dp_l4_cksum_ipv6_ok(m, &ip->src, &ip->dst, DP_ETH_HLEN + ip->l4_off))
		return NULL;
	return (const struct rte_tcp_hdr *)(p + DP_ETH_HLEN + ip->l4_off);
}

static uint16_t syn_mss(const struct rte_tcp_hdr *th)
{
	struct tcp_opts o;

	if (tcp_opts_parse((const uint8_t *)(th + 1), (size_t)(th->data_off >> 4) * 4 - 20, &o) != 0 ||
	    !(o.flags & TCP_OF_MSS))
		return 0;
	return o.mss;
}

/* The worker that owns PEER6:sport -> US6:22. */
static unsigned owner_of(uint16_t sport)
{
	return dp_flow_owner_ip(ws[0], &US6, 22, &PEER6, sport);
}

static void test_passive(void)
{
	struct dp_ip any6;
	struct dp_ipv6_info ip;
	const struct rte_tcp_hdr *th;
	struct tcp_conn_info ci;
	struct rte_mbuf *chain = NULL;
	uint32_t iss = 0;
	unsigned o;

	setup(0);
	CHECK_INT(dp_ip_parse("::", &any6), 0);
	for (unsigned i = 0; i < NW; i++)
		CHECK_ERR(tcp_listen_ip(ws[i]->tcp, &any6, 22, &ops, NULL, NULL), ST_OK);
	o = owner_of(40000);
	dp_worker_input(ws[o], seg6(&PEER6, &US6, 40000, 22, 1000, 0, RTE_TCP_SYN_FLAG, NULL));
	tcp_flush_output(ws[o]->tcp);
	th = tx_tcp6(ws[o], 0, &ip);
	CHECK(th != NULL);
	if (th) {
		CHECK_INT(th->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
		CHECK_INT(rte_be_to_cpu_32(th->recv_ack), 1001);
		CHECK(dp_ip_eq(&ip.src, &US6) && dp_ip_eq(&ip.dst, &PEER6));
		CHECK_INT(syn_mss(th), 1460 - 20); /* MTU 1500 - 60 */
		iss = rte_be_to_cpu_32(th->sent_seq);
	}
	drain_tx(ws[o]);
	dp_worker_input(ws[o], seg6(&PEER6, &US6, 40000, 22, 1001, iss + 1, RTE_TCP_ACK_FLAG, NULL));
	tcp_dispatch_events(ws[o]->tcp);
	CHECK_INT(n_accepted, 1);
	CHECK_ERR(tcp_conn_info(ws[o]->tcp, last_h, &ci), ST_OK);
	CHECK(dp_ip_eq(&ci.rip, &PEER6) && dp_ip_eq(&ci.lip, &US6));
	CHECK_INT(ci.raddr, 0);
	CHECK_INT(ci.rport, 40000);
	CHECK_INT(ci.state, TCP_ESTABLISHED);
	CHECK_INT(ci.snd_mss, 1440);
	dp_worker_input(ws[o], seg6(&PEER6, &US6, 40000, 22, 1001, iss + 1,
				    RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, "hello"));
	CHECK_INT(tcp_read(ws[o]->tcp, last_h, &chain), 5);
	if (chain) {
		CHECK(memcmp(rte_pktmbuf_mtod(chain, const char *), "hello", 5) == 0);
		rte_pktmbuf_free(chain);
	}
	/*
	 * Sending 8400 bytes: with TSO for IPv4 only (net_tap), plain segments of at most
	 * 1440 bytes (the initial window's three); then, acknowledged, with IPv6 TSO:
	 * a TSO packet flagged IPv6 (no IPv4 flags).
	 */
	uint32_t sent = 0;
	for (int t6 = 0; t6 < 2; t6++) {
		struct rte_mbuf *d = rte_pktmbuf_alloc(pool);
		unsigned plain = 0, tso = 0;

		memset(rte_pktmbuf_append(d, 1400), 'x', 1400);
		for (unsigned k = 1; k < 6; k++) { /* 8400 bytes in six mbufs */
			struct rte_mbuf *more = rte_pktmbuf_alloc(pool);

			memset(rte_pktmbuf_append(more, 1400), 'y', 1400);
			CHECK_INT(rte_pktmbuf_chain(d, more), 0);
		}

		ws[o]->tso = 1;
		ws[o]->tso6 = (uint8_t)t6;
		ws[o]->tso_pieces = ws[o]->tso_seg_pieces = TCP_TSO_PIECES;
		CHECK_ERR(tcp_write(ws[o]->tcp, last_h, d), ST_OK);
		tcp_flush_output(ws[o]->tcp);
		for (unsigned i = 0; i < ws[o]->tx_n; i++) {
			struct rte_mbuf *x = ws[o]->tx[i];
			uint32_t pay = x->pkt_len - DP_ETH_HLEN - DP_IP6_HLEN - (uint32_t)x->l4_len;

			sent += pay;
			if (x->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
				tso++;
				CHECK_INT(x->ol_flags & (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IPV4 |
							 RTE_MBUF_F_TX_IP_CKSUM),
					  RTE_MBUF_F_TX_IPV6);
			} else if (pay > 0) {
				plain++;
				CHECK(pay <= 1440);
				CHECK(tx_tcp6(ws[o], i, &ip) != NULL);
			}
		}
		if (t6)
			CHECK(tso >= 1);
		else
			CHECK(tso == 0 && plain == 3);
		drain_tx(ws[o]);
		/* the peer takes it all, so the next round starts from an empty queue */
		dp_worker_input(ws[o], seg6(&PEER6, &US6, 40000, 22, 1006, iss + 1 + sent,
					    RTE_TCP_ACK_FLAG, NULL));
		tcp_flush_output(ws[o]->tcp);
		drain_tx(ws[o]);
	}
	/* listening twice on the same address is refused; an IPv4 listener needs an IPv4 address */
	CHECK_ERR(tcp_listen_ip(ws[o]->tcp, &US6, 22, &ops, NULL, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(tcp_listen(ws[o]->tcp, 0, 23, &ops, NULL, NULL), ST_ERR_INVALID_ARGUMENT);
	tcp_flush_output(ws[o]->tcp);
	teardown();
}

static void test_cookies(void)
{
	struct dp_ipv6_info ip;
	const struct rte_tcp_hdr *th;
	uint32_t iss = 0;
	unsigned o, ob;

	setup(1);
	for (unsigned i = 0; i < NW; i++)
		CHECK_ERR(tcp_listen_ip(ws[i]->tcp, &US6, 22, &ops, NULL, NULL), ST_OK);
	o = owner_of(40001);
	dp_worker_input(ws[o], seg6(&PEER6, &US6, 40001, 22, 5000, 0, RTE_TCP_SYN_FLAG, NULL));
	tcp_flush_output(ws[o]->tcp);
	CHECK_INT(sts[o].ctr[DP_CTR_TCP_COOKIES_SENT], 1);
	th = tx_tcp6(ws[o], 0, &ip);
	CHECK(th != NULL);
	if (th) {
		iss = rte_be_to_cpu_32(th->sent_seq);
		CHECK_INT(syn_mss(th), 1440);
	}
	drain_tx(ws[o]);
	/* the same ACK from another address (same worker or not) does not pass the cookie */
	ob = dp_flow_owner_ip(ws[0], &US6, 22, &PEER6B, 40001);
	dp_worker_input(ws[ob], seg6(&PEER6B, &US6, 40001, 22, 5001, iss + 1, RTE_TCP_ACK_FLAG, NULL));
	dp_mq_flush(ws[ob]);
	CHECK_INT(sts[ob].drop[DP_DROP_TCP_COOKIE], 1);
	CHECK_INT(n_accepted, 0);
	tcp_flush_output(ws[ob]->tcp);
	drain_tx(ws[ob]);
	dp_worker_input(ws[o], seg6(&PEER6, &US6, 40001, 22, 5001, iss + 1, RTE_TCP_ACK_FLAG, NULL));
	tcp_dispatch_events(ws[o]->tcp);
	CHECK_INT(sts[o].ctr[DP_CTR_TCP_COOKIES_OK], 1);
	CHECK_INT(n_accepted, 1);
	teardown();
}

static void test_active(void)
{
	struct dp_ipv6_info ip;
	const struct rte_tcp_hdr *th;
	struct tcp_conn_info ci;
	tcp_handle_t h;
	uint8_t body[32];
	size_t len;

	setup(0);
	for (unsigned i = 0; i < NW; i++) {
		CHECK_ERR(tcp_connect_ip(ws[i]->tcp, &PEER6, 5432, &ops, NULL, &h), ST_OK);
		CHECK_ERR(tcp_conn_info(ws[i]->tcp, h, &ci), ST_OK);
		/* the peer's answers hash back to this worker */
		CHECK_INT(dp_flow_owner_ip(ws[(i + 1) % NW], &US6, ci.lport, &PEER6, 5432), i);
		CHECK(dp_ip_eq(&ci.lip, &US6));
		CHECK_INT(ci.snd_mss, 1440);
		/*
		 * Worker 0: no neighbor yet, a solicitation goes out and the SYN
		 * waits for the NA. Worker 1 heard of the NA through its inbox.
		 */
		if (i == 0) {
			CHECK_INT(sts[i].ctr[DP_CTR_ND_NS_SENT], 1);
			CHECK_INT(ws[i]->tx_n, 1);
			CHECK(tx_tcp6(ws[i], 0, &ip) == NULL);
			drain_tx(ws[i]);
			len = dp_nd_build_na(body, &PEER6, DP_ND_NA_SOLICITED | DP_ND_NA_OVERRIDE,
					     peer_mac.addr_bytes);
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
			uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_ETH_HLEN + DP_IP6_HLEN + len));
			struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;

			eh->dst_addr = our_mac;
			eh->src_addr = peer_mac;
			eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV6);
			dp_icmp6_csum_set(&PEER6, &US6, body, len);
			dp_ipv6_build(p + DP_ETH_HLEN, &PEER6, &US6, DP_IPPROTO_ICMPV6, (uint16_t)len, 255);
			memcpy(p + DP_ETH_HLEN + DP_IP6_HLEN, body, len);
			dp_worker_input(ws[i], m);
		} else {
			CHECK_INT(sts[i].ctr[DP_CTR_ND_NS_SENT], 0);
			CHECK_INT(sts[i].ctr[DP_CTR_ARP_SHARED_IN], 1);
		}
		th = tx_tcp6(ws[i], 0, &ip);
		CHECK(th != NULL);
		if (th) {
			CHECK_INT(th->tcp_flags, RTE_TCP_SYN_FLAG);
			CHECK_INT(rte_be_to_cpu_16(th->src_port), ci.lport);
			CHECK_INT(syn_mss(th), 1440);
			CHECK(rte_is_same_ether_addr(
				&rte_pktmbuf_mtod(ws[i]->tx[0], struct rte_ether_hdr *)->dst_addr,
				&peer_mac));
			/* the SYN-ACK completes it */
			dp_worker_input(ws[i], seg6(&PEER6, &US6, 5432, ci.lport, 9000,
						    rte_be_to_cpu_32(th->sent_seq) + 1,
						    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL));
			tcp_dispatch_events(ws[i]->tcp);
			CHECK_INT(n_connected, i + 1);
		}
		drain_tx(ws[i]);
		tcp_flush_output(ws[i]->tcp);
		drain_tx(ws[i]);
		dp_mq_poll(ws[(i + 1) % NW]); /* the other worker's copy of the neighbor */
	}
	/* a link-local peer is reached from our link-local address */
	{
		struct dp_ip ll = dp_ip6_link_local(peer_mac.addr_bytes);

		CHECK_ERR(tcp_connect_ip(ws[0]->tcp, &ll, 5432, &ops, NULL, &h), ST_OK);
		CHECK_ERR(tcp_conn_info(ws[0]->tcp, h, &ci), ST_OK);
		CHECK(dp_ip_eq(&ci.lip, &ws[0]->ll6));
		drain_tx(ws[0]);
	}
	/* while the address is tentative nothing is sent from it; link-local still works */
	ws[0]->dad_state = DP_DAD_TENTATIVE;
	CHECK_ERR(tcp_connect_ip(ws[0]->tcp, &PEER6, 5433, &ops, NULL, &h), ST_ERR_INVALID_ARGUMENT);
	{
		struct dp_ip ll = dp_ip6_link_local(peer_mac.addr_bytes);

		CHECK_ERR(tcp_connect_ip(ws[0]->tcp, &ll, 5433, &ops, NULL, &h), ST_OK);
		drain_tx(ws[0]);
	}
	ws[0]->dad_state = DP_DAD_DONE;
	/* off-link without a gateway: refused at once */
	{
		struct dp_ip far;

		CHECK_INT(dp_ip_parse("fd01::1", &far), 0);
		CHECK_ERR(tcp_connect_ip(ws[0]->tcp, &far, 5432, &ops, NULL, &h), ST_ERR_INVALID_ARGUMENT);
	}
	teardown();
}

static void test_offload_and_csum(void)
{
	struct dp_ipv6_info ip;
	const struct rte_tcp_hdr *th;
	unsigned o;

	setup(0);
	for (unsigned i = 0; i < NW; i++) {
		ws[i]->tx_csum_offload = 1;
		CHECK_ERR(tcp_listen_ip(ws[i]->tcp, &US6, 22, &ops, NULL, NULL), ST_OK);
	}
	o = owner_of(40002);
	dp_worker_input(ws[o], seg6(&PEER6, &US6, 40002, 22, 1, 0, RTE_TCP_SYN_FLAG, NULL));
	tcp_flush_output(ws[o]->tcp);
	th = tx_tcp6(ws[o], 0, &ip);
	CHECK(th != NULL);
	if (th) {
		struct rte_mbuf *m = ws[o]->tx[0];
		const struct rte_ipv6_hdr *ih = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *,
									 DP_ETH_HLEN);
		uint8_t flat[128];
		uint32_t tl = m->pkt_len - DP_ETH_HLEN - DP_IP6_HLEN;

		CHECK_INT(m->ol_flags & (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4),
			  RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM);
		CHECK_INT(m->l3_len, DP_IP6_HLEN);
		CHECK_INT(th->cksum, rte_ipv6_phdr_cksum(ih, m->ol_flags));
		/* our software sum over the same segment equals DPDK's */
		CHECK(tl <= sizeof(flat) - DP_IP6_HLEN);
		memcpy(flat, ih, DP_IP6_HLEN + tl);
		((struct rte_tcp_hdr *)(flat + DP_IP6_HLEN))->cksum = 0;
		{
			uint16_t want = rte_ipv6_udptcp_cksum((const struct rte_ipv6_hdr *)flat,
							      flat + DP_IP6_HLEN);
			struct rte_mbuf *c = rte_pktmbuf_alloc(pool);

			memcpy(rte_pktmbuf_append(c, (uint16_t)(DP_IP6_HLEN + tl)), flat, DP_IP6_HLEN + tl);
			CHECK_INT(dp_l4_cksum_ipv6(c, &ip.src, &ip.dst, DP_IP6_HLEN), want);
			rte_pktmbuf_free(c);
		}
	}
	teardown();
}

static void test_handoff_and_bad(void)
{
	struct dp_ipv6_info ip;
	struct rte_mbuf *m;
	uint16_t sport = 41000;
	unsigned o, other;

	setup(0);
	for (unsigned i = 0; i < NW; i++)
		CHECK_ERR(tcp_listen_ip(ws[i]->tcp, &US6, 22, &ops, NULL, NULL), ST_OK);
	o = owner_of(sport);
	other = (o + 1) % NW;
	dp_worker_input(ws[other], seg6(&PEER6, &US6, sport, 22, 77, 0, RTE_TCP_SYN_FLAG, NULL));
	CHECK_INT(sts[other].ctr[DP_CTR_TCP_HANDOFF_OUT], 1);
	dp_mq_flush(ws[other]);
	CHECK_INT(dp_mq_poll(ws[o]), 1);
	CHECK_INT(sts[o].ctr[DP_CTR_TCP_HANDOFF_IN], 1);
	tcp_flush_output(ws[o]->tcp);
	CHECK(tx_tcp6(ws[o], 0, &ip) != NULL);
	CHECK_INT(ws[other]->tx_n, 0);
	drain_tx(ws[o]);
	/* a bad checksum */
	m = seg6(&PEER6, &US6, sport, 22, 77, 0, RTE_TCP_SYN_FLAG, NULL);
	rte_pktmbuf_mtod(m, uint8_t *)[m->pkt_len - 1] ^= 0x10;
	dp_worker_input(ws[o], m);
	CHECK_INT(sts[o].drop[DP_DROP_TCP_CSUM], 1);
	/* TCP to all-nodes */
	{
		struct dp_ip all;
		uint8_t *p;

		CHECK_INT(dp_ip_parse("ff02::1", &all), 0);
		m = seg6(&PEER6, &all, sport, 22, 77, 0, RTE_TCP_SYN_FLAG, NULL);
		p = rte_pktmbuf_mtod(m, uint8_t *);
		p[0] = 0x33, p[1] = 0x33, p[2] = 0, p[3] = 0, p[4] = 0, p[5] = 1;
		dp_worker_input(ws[o], m);
		CHECK_INT(sts[o].drop[DP_DROP_IP6_NOT_US], 1);
	}
	/* a header cut short: 10 bytes of TCP */
	m = seg6(&PEER6, &US6, sport, 22, 77, 0, RTE_TCP_ACK_FLAG, NULL);
	rte_pktmbuf_trim(m, 10);
	rte_pktmbuf_mtod(m, uint8_t *)[DP_ETH_HLEN + 5] = 10;
	dp_worker_input(ws[o], m);
	CHECK_INT(sts[o].drop[DP_DROP_TCP_SHORT], 1);
	CHECK_INT(ws[o]->tx_n, 0);
	teardown();
}

int main(int argc, char **argv)
{
	(void)argc;
	dp_ip_parse("fd00:18::2", &US6);
	dp_ip_parse("fd00:18::1", &PEER6);
	dp_ip_parse("fd00:18::3", &PEER6B);
	if (st_test_eal_init(argv[0], "tcp_ipv6") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("tcp_ipv6", "t6", 4096, RTE_MBUF_DEFAULT_BUF_SIZE)) == NULL)
		return 1;
	RUN(test_passive);
	RUN(test_cookies);
	RUN(test_active);
	RUN(test_offload_and_csum);
	RUN(test_handoff_and_bad);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("tcp_ipv6");
	return st_test_done("tcp_ipv6");
}
