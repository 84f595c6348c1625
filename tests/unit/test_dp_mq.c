/*
 * Unit tests: multi-queue ports (dataplane/mq.h, dataplane/arp.c).
 *   - the table-driven Toeplitz hash against DPDK's rte_softrss (symmetric
 *     and asymmetric keys), and symmetry with our key;
 *   - redirection tables: validation, lookup, the default model;
 *   - tcp_connect's source port on every worker maps back to that worker
 *     through a non-trivial table (checked with rte_softrss independently);
 *   - wrong-worker segments: handed to the owner (counted), a SYN-ACK of an
 *     active open completes it there, an unknown segment gets one RST, from
 *     the owner only;
 *   - ARP: learned on one worker, used by all (no request from the others),
 *     crossing posts, refresh of an entry in use (unicast, then broadcast),
 *     expiry of unused entries, an unanswered refresh stops using the MAC,
 *     deletion keeping colliding entries reachable;
 *   - an ICMP echo request in an external buffer: the in-place reply keeps
 *     the buffer attached, and freeing it calls the buffer's free callback.
 * Workers are built by hand (no port): what they send lands in their TX
 * buffers and is read back from there.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_thash.h>

#include "dataplane/csum.h"
#include "dataplane/mq.h"
#include "dataplane/proto.h"
#include "dataplane/tcp/tcp_internal.h"
#include "dataplane/worker.h"
#include "tests/unit/test.h"

#define US 0xc6120002u   /* 198.18.0.2 */
#define PEER 0xc6120001u /* 198.18.0.1 */
#define NW 4

const uint8_t *dp_rss_key(void);

static struct rte_mempool *pool;
static struct dp_mq *mq;
static struct dp_worker *ws[NW];
static struct dp_stats sts[NW];
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x02}};

/* The RSS key DPDK's own tests use (asymmetric). */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 16);
}

static uint32_t softrss(const uint8_t *key, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	uint32_t t[3] = {src, dst, (uint32_t)sp << 16 | dp};

	return rte_softrss(t, 3, key);
}

static void drain_tx(struct dp_worker *w)
{
	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
}

/* NW workers sharing one model and inboxes; reta: NULL for the default table. */
static void setup(const uint16_t *reta, unsigned reta_size, unsigned nw)
{
	mq = rte_zmalloc("mq", sizeof(*mq), RTE_CACHE_LINE_SIZE);
	dp_rss_init(&mq->rss, dp_rss_key(), 40, (uint16_t)nw);
	if (reta)
		CHECK_ERR(dp_rss_set_reta(&mq->rss, reta, reta_size, DP_RETA_PROGRAMMED), ST_OK);
	CHECK_ERR(dp_mq_create(mq, nw, 0, SOCKET_ID_ANY), ST_OK);
	for (unsigned i = 0; i < nw; i++) {
		struct tcp_cfg tc;
		struct dp_worker *w = rte_zmalloc("w", sizeof(*w), RTE_CACHE_LINE_SIZE);

		memset(&sts[i], 0, sizeof(sts[i]));
		w->pool = pool;
		w->st = &sts[i];
		w->ip = US;
		w->mask = 0xffffff00u;
		w->now_ms = 100000;
		w->tsc_per_ms = 1000000;
		w->id = (uint8_t)i;
		w->queue = (uint16_t)i;
		w->nb_workers = (uint16_t)nw;
		w->mac = our_mac;
		w->idle.wake_fd = -1;
		w->mq = mq;
		mq->w[i] = w;
		dp_wheel_init(&w->wheel, w->now_ms);
		tcp_cfg_defaults(&tc);
		tc.max_conns = 64;
		CHECK_ERR(tcp_worker_create(w, &tc, &w->tcp), ST_OK);
		ws[i] = w;
	}
}

static void teardown(unsigned nw)
{
	for (unsigned i = 0; i < nw; i++) {
		struct dp_worker *w = ws[i];

		tcp_worker_drain(w->tcp);
		for (unsigned k = 0; k < DP_ARP_SIZE; k++)
			for (unsigned j = 0; j < w->arp[k].nhold; j++)
				rte_pktmbuf_free(w->arp[k].hold[j]);
		for (unsigned o = 0; o < DP_MAX_WORKERS; o++)
			for (unsigned j = 0; j < w->ho_n[o]; j++)
				rte_pktmbuf_free(w->ho[o][j]);
		drain_tx(w);
		tcp_worker_destroy(ws[i]->tcp);
		rte_free(ws[i]);
		ws[i] = NULL;
	}
	dp_mq_destroy(mq);
	rte_free(mq);
	mq = NULL;
}

static void set_now(unsigned nw, uint64_t ms)
{
	for (unsigned i = 0; i < nw; i++)
		ws[i]->now_ms = ms;
}

/* ---- hash and table ---- */

static void test_hash_matches_softrss(void)
{
	struct dp_rss *r = rte_zmalloc("r", sizeof(*r), 0);

	dp_rss_init(r, ms_key, sizeof(ms_key), 4);
	/* DPDK's test vector (test_thash.c): 66.9.149.187:2794 -> 161.142.100.80:1766 */
	CHECK_INT(dp_rss_hash(r, 0x420995bbu, 0xa18e6450u, 2794, 1766),
		  0x51ccc178);
	for (unsigned i = 0; i < 2000; i++) {
		uint32_t s = rnd(), d = rnd();
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();

		CHECK_INT(dp_rss_hash(r, s, d, sp, dp), softrss(ms_key, s, d, sp, dp));
	}
	dp_rss_init(r, dp_rss_key(), 40, 4);
	for (unsigned i = 0; i < 2000; i++) {
		uint32_t s = rnd(), d = rnd();
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();
		uint32_t h = dp_rss_hash(r, s, d, sp, dp);

		CHECK_INT(h, softrss(dp_rss_key(), s, d, sp, dp));
		CHECK_INT(h, dp_rss_hash(r, d, s, dp, sp)); /* symmetric: both directions alike */
	}
	rte_free(r);
}

/* IPv6: 36 bytes of input (src, dst, ports), against rte_softrss over 9 words. */
static uint32_t softrss6(const uint8_t *key, const struct dp_ip *s, const struct dp_ip *d,
			 uint16_t sp, uint16_t dp)
{
	uint32_t t[9];

	for (unsigned i = 0; i < 4; i++) {
		t[i] = (uint32_t)s->b[4 * i] << 24 | (uint32_t)s->b[4 * i + 1] << 16 |
		       (uint32_t)s->b[4 * i + 2] << 8 | s->b[4 * i + 3];
		t[4 + i] = (uint32_t)d->b[4 * i] << 24 | (uint32_t)d->b[4 * i + 1] << 16 |
			   (uint32_t)d->b[4 * i + 2] << 8 | d->b[4 * i + 3];
	}
	t[8] = (uint32_t)sp << 16 | dp;
	return rte_softrss(t, 9, key);
}

static void test_hash6_matches_softrss(void)
{
	struct dp_rss *r = rte_zmalloc("r", sizeof(*r), 0);
	struct dp_ip s, d, s4 = dp_ip_v4(0x420995bbu), d4 = dp_ip_v4(0xa18e6450u);

	dp_rss_init(r, ms_key, sizeof(ms_key), 4);
	/* an IPv4-mapped pair hashes as IPv4 (the same test vector) */
	CHECK_INT(dp_rss_hash_ip(r, &s4, &d4, 2794, 1766), 0x51ccc178);
	/* DPDK's IPv6 test vector (test_thash.c): 3ffe:2501:200:1fff::7 -> 3ffe:2501:200:3::1 */
	CHECK_INT(dp_ip_parse("3ffe:2501:200:1fff::7", &s), 0);
	CHECK_INT(dp_ip_parse("3ffe:2501:200:3::1", &d), 0);
	CHECK_INT(dp_rss_hash_ip(r, &s, &d, 2794, 1766), 0x40207d3d);
	for (unsigned i = 0; i < 1000; i++) {
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();

		for (unsigned k = 0; k < 4; k++) {
			s.w[k] = rnd() ^ rnd() << 16;
			d.w[k] = rnd() ^ rnd() << 16;
		}
		s.b[0] = 0xfd; /* not IPv4-mapped */
		CHECK_INT(dp_rss_hash_ip(r, &s, &d, sp, dp), softrss6(ms_key, &s, &d, sp, dp));
	}
	dp_rss_init(r, dp_rss_key(), 40, 4);
	for (unsigned i = 0; i < 1000; i++) {
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();
		uint32_t h;

		for (unsigned k = 0; k < 4; k++) {
			s.w[k] = rnd() ^ rnd() << 16;
			d.w[k] = rnd() ^ rnd() << 16;
		}
		s.b[0] = d.b[0] = 0xfd;
		h = dp_rss_hash_ip(r, &s, &d, sp, dp);
		CHECK_INT(h, softrss6(dp_rss_key(), &s, &d, sp, dp));
		CHECK_INT(h, dp_rss_hash_ip(r, &d, &s, dp, sp)); /* symmetric */
	}
	rte_free(r);
}

static void test_reta(void)
{
	struct dp_rss *r = rte_zmalloc("r", sizeof(*r), 0);
	uint16_t t[512];

	dp_rss_init(r, dp_rss_key(), 40, 3);
	CHECK_INT(r->reta_size, DP_RETA_DEFAULT);
	CHECK_INT(r->source, DP_RETA_DEFAULT_TABLE);
	for (unsigned i = 0; i < DP_RETA_DEFAULT; i++)
		CHECK_INT(r->reta[i], i % 3);
	for (unsigned i = 0; i < 512; i++)
		t[i] = (uint16_t)((i * 7 + 1) % 3);
	t[5] = 3; /* no such queue */
	CHECK_ERR(dp_rss_set_reta(r, t, 512, DP_RETA_QUERIED), ST_ERR_INVALID_ARGUMENT);
	CHECK_INT(r->reta_size, DP_RETA_DEFAULT); /* unchanged */
	t[5] = 2;
	CHECK_ERR(dp_rss_set_reta(r, t, 0, DP_RETA_QUERIED), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_rss_set_reta(r, t, DP_RETA_MAX + 1, DP_RETA_QUERIED), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_rss_set_reta(r, t, 512, DP_RETA_QUERIED), ST_OK);
	CHECK_INT(r->source, DP_RETA_QUERIED);
	for (unsigned i = 0; i < 1000; i++) {
		uint32_t s = rnd(), d = rnd();
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();

		CHECK_INT(dp_rss_queue(r, s, d, sp, dp), t[softrss(dp_rss_key(), s, d, sp, dp) % 512]);
	}
	/* A size that is not a power of two: entry hash % size. */
	CHECK_ERR(dp_rss_set_reta(r, t, 100, DP_RETA_QUERIED), ST_OK);
	for (unsigned i = 0; i < 200; i++) {
		uint32_t s = rnd(), d = rnd();
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();

		CHECK_INT(dp_rss_queue(r, s, d, sp, dp), t[softrss(dp_rss_key(), s, d, sp, dp) % 100]);
	}
	rte_free(r);
}

/* ---- source ports and handoff ---- */

/* A 512-entry table that is not i % n: blocks of queues in a scrambled order. */
static void odd_table(uint16_t *t, unsigned size, unsigned nw)
{
	for (unsigned i = 0; i < size; i++)
		t[i] = (uint16_t)(((i / 3) * 5 + (i >> 6)) % nw);
}

static struct tcp_ops null_ops;

static void test_sport_maps_back(void)
{
	uint16_t t[512];
	tcp_handle_t h;

	odd_table(t, 512, NW);
	setup(t, 512, NW);
	for (unsigned i = 0; i < NW; i++)
		dp_arp_learn(ws[i], PEER, &peer_mac);
	for (unsigned i = 0; i < NW; i++) {
		for (unsigned k = 0; k < 8; k++) {
			struct tcp_conn_info ci;

			CHECK_ERR(tcp_connect(ws[i]->tcp, PEER, (uint16_t)(5000 + k), &null_ops, NULL, &h),
				 ST_OK);
			CHECK_ERR(tcp_conn_info(ws[i]->tcp, h, &ci), ST_OK);
			/* The peer's answer: PEER:rport -> US:lport, hashed by the port. */
			CHECK_INT(t[softrss(dp_rss_key(), PEER, US, ci.rport, ci.lport) % 512], i);
			CHECK_INT(dp_flow_owner(ws[(i + 1) % NW], US, ci.lport, PEER, ci.rport), i);
		}
		drain_tx(ws[i]);
	}
	teardown(NW);
}

/* An Ethernet + IPv4 + TCP frame PEER:sport -> US:dport with good checksums. */
static struct rte_mbuf *tcp_frame(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
				  uint8_t flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, DP_ETH_HLEN + DP_IP_HLEN + 20);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + DP_ETH_HLEN + DP_IP_HLEN);

	eh->dst_addr = our_mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV4);
	dp_ipv4_build(p + DP_ETH_HLEN, PEER, US, DP_IPPROTO_TCP, DP_IP_HLEN + 20, 1, 0);
	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	th->cksum = dp_l4_cksum_ipv4(m, (const struct rte_ipv4_hdr *)(p + DP_ETH_HLEN),
				     DP_ETH_HLEN + DP_IP_HLEN);
	return m;
}

static void test_handoff_synack(void)
{
	tcp_handle_t h;
	struct tcp_conn_info ci;
	struct tcp_conn *c;
	unsigned owner = 2, other = 0;

	setup(NULL, 0, NW);
	dp_arp_learn(ws[owner], PEER, &peer_mac);
	CHECK_ERR(tcp_connect(ws[owner]->tcp, PEER, 5001, &null_ops, NULL, &h), ST_OK);
	CHECK_ERR(tcp_conn_info(ws[owner]->tcp, h, &ci), ST_OK);
	CHECK_INT(ci.state, TCP_SYN_SENT);
	{
		struct dp_ip us = dp_ip_v4(US), peer = dp_ip_v4(PEER);

		c = tcp_conn_lookup(ws[owner]->tcp, &us, ci.lport, &peer, 5001);
	}
	CHECK(c != NULL);
	if (!c)
		goto out;
	drain_tx(ws[owner]);
	/* The SYN-ACK lands on another worker's queue. */
	dp_worker_input(ws[other], tcp_frame(5001, ci.lport, 7000, c->iss + 1, RTE_TCP_SYN_FLAG |
										      RTE_TCP_ACK_FLAG));
	CHECK_INT(sts[other].ctr[DP_CTR_TCP_HANDOFF_OUT], 1);
	CHECK_INT(sts[other].ctr[DP_CTR_TCP_RST_SENT], 0);
	CHECK_INT(ws[other]->tx_n, 0);
	dp_mq_flush(ws[other]);
	CHECK(dp_mq_pending(ws[owner]));
	CHECK(rte_ring_empty(mq->handoff[other])); /* its ARP inbox has the owner's post */
	CHECK_INT(dp_mq_poll(ws[owner]), 1);
	CHECK_INT(sts[owner].ctr[DP_CTR_TCP_HANDOFF_IN], 1);
	CHECK_ERR(tcp_conn_info(ws[owner]->tcp, h, &ci), ST_OK);
	CHECK_INT(ci.state, TCP_ESTABLISHED);
	CHECK_INT(sts[owner].ctr[DP_CTR_TCP_CONNECTED], 1);
	/* A segment on the owner's own queue is not handed anywhere. */
	dp_worker_input(ws[owner], tcp_frame(5001, ci.lport, 7001, c->iss + 1, RTE_TCP_ACK_FLAG));
	CHECK_INT(sts[owner].ctr[DP_CTR_TCP_HANDOFF_OUT], 0);
out:
	teardown(NW);
}

static void test_unknown_segment_one_rst(void)
{
	uint16_t sport = 40000, dport = 22;
	unsigned owner;
	uint64_t rst = 0, ho = 0;

	setup(NULL, 0, NW);
	owner = dp_flow_owner(ws[0], US, dport, PEER, sport);
	/* The same stray ACK arrives on every queue. */
	for (unsigned i = 0; i < NW; i++)
		dp_worker_input(ws[i], tcp_frame(sport, dport, 1, 1, RTE_TCP_ACK_FLAG));
	for (unsigned i = 0; i < NW; i++)
		dp_mq_flush(ws[i]);
	for (unsigned i = 0; i < NW; i++)
		dp_mq_poll(ws[i]);
	for (unsigned i = 0; i < NW; i++) {
		tcp_flush_output(ws[i]->tcp);
		rst += sts[i].ctr[DP_CTR_TCP_RST_SENT];
		ho += sts[i].ctr[DP_CTR_TCP_HANDOFF_OUT];
		if (i != owner)
			CHECK_INT(sts[i].ctr[DP_CTR_TCP_RST_SENT], 0);
	}
	CHECK_INT(ho, NW - 1);
	CHECK_INT(sts[owner].ctr[DP_CTR_TCP_HANDOFF_IN], NW - 1);
	CHECK_INT(rst, NW); /* one RST per segment, all from the owner */
	CHECK_INT(sts[owner].ctr[DP_CTR_TCP_RST_SENT], NW);
	teardown(NW);
}

static void test_handoff_ring_full(void)
{
	unsigned n = 0;
	uint16_t sport;

	setup(NULL, 0, 2);
	/* Fill worker 1's inbox past its size with segments it owns, from worker 0. */
	for (sport = 1024; n < DP_HANDOFF_RING + 10; sport++) {
		if (dp_flow_owner(ws[0], US, 22, PEER, sport) != 1)
			continue;
		dp_worker_input(ws[0], tcp_frame(sport, 22, 1, 1, RTE_TCP_ACK_FLAG));
		n++;
	}
	dp_mq_flush(ws[0]);
	CHECK_INT(sts[0].ctr[DP_CTR_TCP_HANDOFF_OUT], n);
	CHECK_INT(sts[0].drop[DP_DROP_HANDOFF_FULL], 10 + 1); /* the ring holds size - 1 */
	teardown(2); /* frees what is queued */
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

/* ---- ARP ---- */

static void arp_reply_to(struct dp_worker *w, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, DP_ETH_HLEN + DP_ARP_LEN);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;

	eh->dst_addr = our_mac;
	eh->src_addr = *mac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_ARP);
	dp_arp_build(p + DP_ETH_HLEN, DP_ARP_OP_REPLY, mac->addr_bytes, ip, our_mac.addr_bytes, US);
	dp_worker_input(w, m);
}

/* Number of ARP requests in w's TX buffer; *unicast gets how many were not broadcast. */
static unsigned tx_requests(struct dp_worker *w, unsigned *unicast)
{
	unsigned n = 0, u = 0;

	for (unsigned i = 0; i < w->tx_n; i++) {
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(w->tx[i], const struct rte_ether_hdr *);

		if (eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_ARP))
			continue;
		n++;
		u += !rte_is_broadcast_ether_addr(&eh->dst_addr);
	}
	if (unicast)
		*unicast = u;
	drain_tx(w);
	return n;
}

static void test_arp_shared(void)
{
	struct rte_mbuf *m;
	const struct rte_ether_addr *got;

	setup(NULL, 0, NW);
	/* Worker 3 wants the peer first: it asks, and holds its packet. */
	m = rte_pktmbuf_alloc(pool);
	rte_pktmbuf_append(m, 60);
	memset(rte_pktmbuf_mtod(m, void *), 0, 60);
	dp_ip_output(ws[3], m, PEER);
	CHECK_INT(tx_requests(ws[3], NULL), 1);
	/* The reply lands on worker 0's queue (ARP is not hashed: queue 0). */
	arp_reply_to(ws[0], PEER, &peer_mac);
	CHECK_INT(sts[0].ctr[DP_CTR_ARP_LEARNED], 1);
	CHECK_INT(sts[0].ctr[DP_CTR_ARP_SHARED_OUT], NW - 1);
	for (unsigned i = 1; i < NW; i++) {
		CHECK(dp_mq_pending(ws[i]));
		dp_mq_poll(ws[i]);
		CHECK_INT(sts[i].ctr[DP_CTR_ARP_SHARED_IN], 1);
		got = dp_arp_lookup(ws[i], PEER);
		CHECK(got && rte_is_same_ether_addr(got, &peer_mac));
		if (i != 3)
			CHECK_INT(tx_requests(ws[i], NULL), 0); /* used, never asked */
	}
	/* Worker 3's held packet left with the peer's MAC. */
	CHECK_INT(ws[3]->tx_n, 1);
	if (ws[3]->tx_n == 1)
		CHECK(rte_is_same_ether_addr(
			&rte_pktmbuf_mtod(ws[3]->tx[0], struct rte_ether_hdr *)->dst_addr, &peer_mac));
	drain_tx(ws[3]);
	/* Another reply within ARP_RETRY_MS: learned, not posted again. */
	arp_reply_to(ws[0], PEER, &peer_mac);
	CHECK_INT(sts[0].ctr[DP_CTR_ARP_SHARED_OUT], NW - 1);
	/* A new MAC is news at once. */
	{
		struct rte_ether_addr moved = {{0x02, 0, 0, 0, 0, 0x09}};

		set_now(NW, 100500);
		arp_reply_to(ws[0], PEER, &moved);
		CHECK_INT(sts[0].ctr[DP_CTR_ARP_SHARED_OUT], 2 * (NW - 1));
		dp_mq_poll(ws[1]);
		got = dp_arp_lookup(ws[1], PEER);
		CHECK(got && rte_is_same_ether_addr(got, &moved));
		/* A post older than what worker 1 has changes nothing (crossing posts). */
		dp_arp_apply(ws[1], PEER, &peer_mac, 100100);
		got = dp_arp_lookup(ws[1], PEER);
		CHECK(got && rte_is_same_ether_addr(got, &moved));
	}
	for (unsigned i = 0; i < NW; i++)
		drain_tx(ws[i]);
	teardown(NW);
}

static void test_arp_refresh_and_expiry(void)
{
	const uint64_t t0 = 100000, reach = DP_ARP_REACHABLE_MS;
	const uint32_t idle_ip = PEER + 5;
	unsigned uni = 0, n;
	const struct rte_ether_addr *got;

	setup(NULL, 0, 1); /* one worker: no inboxes, the aging alone */
	dp_arp_learn(ws[0], PEER, &peer_mac);
	dp_arp_learn(ws[0], idle_ip, &peer_mac);
	set_now(1, t0 + 1000);
	CHECK(dp_arp_lookup(ws[0], PEER) != NULL); /* PEER in use, idle_ip not */
	/* Before the refresh point: nothing. */
	set_now(1, t0 + reach / 2);
	dp_arp_timer(ws[0]);
	CHECK_INT(tx_requests(ws[0], NULL), 0);
	/* At 3/4 reach an entry in use is refreshed: unicast to the cached MAC; still used. */
	set_now(1, t0 + reach * 3 / 4);
	dp_arp_timer(ws[0]);
	CHECK_INT(tx_requests(ws[0], &uni), 1);
	CHECK_INT(uni, 1);
	CHECK_INT(sts[0].ctr[DP_CTR_ARP_REFRESH], 1);
	CHECK(dp_arp_lookup(ws[0], PEER) != NULL);
	/* Not again within ARP_RETRY_MS. */
	set_now(1, t0 + reach * 3 / 4 + 500);
	dp_arp_timer(ws[0]);
	CHECK_INT(tx_requests(ws[0], NULL), 0);
	/* The reply confirms it: no more requests until the next refresh point. */
	arp_reply_to(ws[0], PEER, &peer_mac);
	set_now(1, t0 + reach * 3 / 4 + 2000);
	dp_arp_timer(ws[0]);
	CHECK_INT(tx_requests(ws[0], NULL), 0);
	/* The unused entry expired at reach; asking for it again sends a request. */
	set_now(1, t0 + reach + 100);
	dp_arp_timer(ws[0]);
	CHECK_INT(sts[0].ctr[DP_CTR_ARP_EXPIRED], 1);
	CHECK(dp_arp_lookup(ws[0], idle_ip) == NULL);
	CHECK_INT(tx_requests(ws[0], NULL), 1);
	/* PEER stays in use but stops answering: 3 unicast probes, then broadcast, in use all along. */
	{
		uint64_t c1 = t0 + reach * 3 / 4 + 500; /* the last confirmation */
		unsigned total = 0, unicast = 0;

		for (uint64_t t = c1 + reach * 3 / 4; t < c1 + reach + 5000; t += 100) {
			set_now(1, t);
			got = dp_arp_lookup(ws[0], PEER);
			CHECK(got != NULL);
			dp_arp_timer(ws[0]);
			total += tx_requests(ws[0], &uni);
			unicast += uni;
		}
		CHECK(total >= 5);
		CHECK_INT(unicast, 3);
		/* Past reach + 5 s unconfirmed: the MAC is no longer used, the link is asked. */
		set_now(1, c1 + reach + 5000);
		dp_arp_timer(ws[0]);
		n = tx_requests(ws[0], &uni);
		CHECK_INT(n, 1);
		CHECK_INT(uni, 0);
		CHECK(dp_arp_lookup(ws[0], PEER) == NULL);
		CHECK_INT(sts[0].ctr[DP_CTR_ARP_EXPIRED], 2);
		/* An answer brings it back. */
		arp_reply_to(ws[0], PEER, &peer_mac);
		CHECK(dp_arp_lookup(ws[0], PEER) != NULL);
	}
	drain_tx(ws[0]);
	teardown(1);
}

static unsigned home(uint32_t ip)
{
	return (ip * 2654435761u) >> (32 - __builtin_ctz(DP_ARP_SIZE));
}

static void test_arp_delete_keeps_run(void)
{
	uint32_t ips[6];
	unsigned n = 0, h0 = home(PEER + 100);
	struct rte_ether_addr mac = peer_mac;

	setup(NULL, 0, 1);
	/* Six addresses with the same home slot, learned in order: one probe run. */
	for (uint32_t ip = PEER + 100; n < 6; ip++)
		if (home(ip) == h0)
			ips[n++] = ip;
	for (unsigned i = 0; i < 6; i++) {
		mac.addr_bytes[5] = (uint8_t)i;
		dp_arp_learn(ws[0], ips[i], &mac);
	}
	/* Keep 1, 3 and 5 in use; 0, 2 and 4 expire and are deleted from the middle of the run. */
	set_now(1, 100000 + DP_ARP_REACHABLE_MS / 2);
	for (unsigned i = 1; i < 6; i += 2)
		CHECK(dp_arp_lookup(ws[0], ips[i]) != NULL);
	set_now(1, 100000 + DP_ARP_REACHABLE_MS + 10);
	/* The answers to the refreshes keep the used ones. */
	dp_arp_timer(ws[0]);
	for (unsigned i = 1; i < 6; i += 2) {
		mac.addr_bytes[5] = (uint8_t)i;
		dp_arp_learn(ws[0], ips[i], &mac);
	}
	CHECK_INT(sts[0].ctr[DP_CTR_ARP_EXPIRED], 3);
	drain_tx(ws[0]);
	for (unsigned i = 1; i < 6; i += 2) {
		const struct rte_ether_addr *got = dp_arp_lookup(ws[0], ips[i]);

		CHECK(got && got->addr_bytes[5] == i);
	}
	CHECK_INT(tx_requests(ws[0], NULL), 0);
	{
		unsigned used = 0;

		for (unsigned i = 0; i < DP_ARP_SIZE; i++)
			used += ws[0]->arp[i].state != 0;
		CHECK_INT(used, 3);
	}
	teardown(1);
}

/* ---- ICMP echo on a buffer the mbuf does not own ---- */

static unsigned ext_freed;

static void ext_free_cb(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
	ext_freed++;
}

/*
 * An echo request in an external buffer (PMDs such as mlx5 receive into
 * them): the reply is built in place and sent, and freeing it gives the
 * buffer back through its callback. icmp_input used to clear all of
 * ol_flags, RTE_MBUF_F_EXTERNAL included, so the mbuf went back to the pool
 * still pointing at the foreign buffer. Found by fuzz_dpinput.
 */
static void test_icmp_echo_extbuf(void)
{
	static uint8_t buf[RTE_PKTMBUF_HEADROOM + 98];
	static struct rte_mbuf_ext_shared_info sh;
	uint8_t *p = buf + RTE_PKTMBUF_HEADROOM, *icmp = p + DP_ETH_HLEN + DP_IP_HLEN;
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	struct rte_mbuf *m;
	unsigned in_use = rte_mempool_in_use_count(pool);
	uint16_t c;

	setup(NULL, 0, 1);
	eh->dst_addr = our_mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV4);
	dp_ipv4_build(p + DP_ETH_HLEN, PEER, US, DP_IPPROTO_ICMP, DP_IP_HLEN + 64, 9, 0);
	memset(icmp, 0x5a, 64);
	icmp[0] = 8;
	icmp[1] = icmp[2] = icmp[3] = 0;
	c = dp_csum_fold(dp_csum_partial(icmp, 64, 0));
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	ext_freed = 0;
	sh.free_cb = ext_free_cb;
	sh.fcb_opaque = NULL;
	rte_mbuf_ext_refcnt_set(&sh, 1);
	m = rte_pktmbuf_alloc(pool);
	rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t)(uintptr_t)buf, sizeof(buf), &sh);
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = m->pkt_len = 98;
	dp_worker_input(ws[0], m);
	CHECK_INT(ws[0]->tx_n, 1);
	CHECK_INT(sts[0].ctr[DP_CTR_ICMP_ECHO_REPLIES], 1);
	if (ws[0]->tx_n == 1) {
		CHECK(ws[0]->tx[0] == m);
		CHECK(RTE_MBUF_HAS_EXTBUF(m));
		CHECK_INT(icmp[0], 0); /* echo reply */
		CHECK_INT(dp_csum_fold(dp_csum_partial(icmp, 64, 0)), 0);
	}
	teardown(1);
	CHECK_INT(ext_freed, 1);
	CHECK_INT(rte_mempool_in_use_count(pool), in_use);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (st_test_eal_init(argv[0], "dp_mq") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("dp_mq", "mq", 8192, RTE_MBUF_DEFAULT_BUF_SIZE)) == NULL)
		return 1;
	RUN(test_hash_matches_softrss);
	RUN(test_hash6_matches_softrss);
	RUN(test_reta);
	RUN(test_sport_maps_back);
	RUN(test_handoff_synack);
	RUN(test_unknown_segment_one_rst);
	RUN(test_handoff_ring_full);
	RUN(test_arp_shared);
	RUN(test_arp_refresh_and_expiry);
	RUN(test_arp_delete_keeps_run);
	RUN(test_icmp_echo_extbuf);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("dp_mq");
	return st_test_done("dp_mq");
}
