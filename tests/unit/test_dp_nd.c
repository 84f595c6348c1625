/*
 * Unit tests: IPv6 input, ICMPv6 echo and Neighbor Discovery on hand-built
 * workers (dataplane/nd.c, the neighbor cache in dataplane/arp.c):
 *   - DAD: the probe at start (from ::, to the solicited-node group, no
 *     link-layer option), traffic to the tentative address dropped, the
 *     address usable after dad_ms; an NA for it during DAD is a conflict;
 *   - an NS for our address is answered (unicast, solicited + override,
 *     our MAC, a valid checksum), its sender learnt; a DAD probe from ::
 *     for our address is answered to all-nodes;
 *   - resolution: a packet for an unknown neighbor is held and an NS goes
 *     to its solicited-node group; the NA releases it with the MAC;
 *   - a neighbor whose MAC changes (NA with override) is followed, and the
 *     update reaches the other worker through its inbox;
 *   - echo replies to our unicast address, to all-nodes, and across
 *     extension headers (which the reply leaves out);
 *   - bad frames are dropped and counted: hop limit, checksum, zero-length
 *     option, fragment, multicast MACs that are not ours.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

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
static const struct rte_ether_addr peer_mac2 = {{0x02, 0, 0, 0, 0, 0x11}};
static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static struct dp_ip US6, PEER6, ALL6, ANY6;

static void drain_tx(struct dp_worker *w)
{
	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
}

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.ip6 = US6;
	cfg.prefix6 = 64;
	cfg.dad_ms = 1000;
	mq = rte_zmalloc("mq", sizeof(*mq), RTE_CACHE_LINE_SIZE);
	dp_rss_init(&mq->rss, (const uint8_t *)"0123456789012345678901234567890123456789", 40, NW);
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
		CHECK_ERR(tcp_worker_create(w, &tc, &w->tcp), ST_OK);
		dp_nd_start(w);
		ws[i] = w;
	}
}

static void teardown(void)
{
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

static void dad_done(void)
{
	for (unsigned i = 0; i < NW; i++) {
		ws[i]->now_ms += 1000;
		dp_nd_timer(ws[i]);
		CHECK_INT(ws[i]->dad_state, DP_DAD_DONE);
		drain_tx(ws[i]);
	}
}

/* A frame: Ethernet to dmac, IPv6 src -> dst with hop limit hl, body (an ICMPv6 message,
 * checksum set unless raw) after ext bytes of extension headers. */
static struct rte_mbuf *frame6(const struct rte_ether_addr *smac, const struct rte_ether_addr *dmac,
			       const struct dp_ip *src, const struct dp_ip *dst, uint8_t hl,
			       const uint8_t *ext, size_t elen, uint8_t nh, uint8_t *body,
			       size_t blen, int raw)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_ETH_HLEN + DP_IP6_HLEN + elen + blen));
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;

	eh->dst_addr = *dmac;
	eh->src_addr = *smac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV6);
	if (!raw && nh == DP_IPPROTO_ICMPV6)
		dp_icmp6_csum_set(src, dst, body, blen);
	dp_ipv6_build(p + DP_ETH_HLEN, src, dst, elen ? ext[-1] : nh, (uint16_t)(elen + blen), hl);
	memcpy(p + DP_ETH_HLEN + DP_IP6_HLEN, ext, elen);
	memcpy(p + DP_ETH_HLEN + DP_IP6_HLEN + elen, body, blen);
	return m;
}

static struct rte_mbuf *icmp6(const struct rte_ether_addr *smac, const struct rte_ether_addr *dmac,
			      const struct dp_ip *src, const struct dp_ip *dst, uint8_t hl,
			      uint8_t *body, size_t blen)
{
	return frame6(smac, dmac, src, dst, hl, NULL, 0, DP_IPPROTO_ICMPV6, body, blen, 0);
}

static struct rte_ether_addr mcast_of(const struct dp_ip *a)
{
	struct rte_ether_addr mac;

	dp_ip6_mcast_mac(a, mac.addr_bytes);
	return mac;
}

/* Parses w's TX frame i as ICMPv6; returns its message (NULL if not one) and fills hdr. */
static const uint8_t *tx_icmp6(struct dp_worker *w, unsigned i, struct dp_ipv6_info *ip,
			       const struct rte_ether_hdr **eh, size_t *len)
{
	const uint8_t *p;

	if (i >= w->tx_n)
		return NULL;
	p = rte_pktmbuf_mtod(w->tx[i], const uint8_t *);
	*eh = (const struct rte_ether_hdr *)p;
	if ((*eh)->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_IPV6))
		return NULL;
	if (dp_ipv6_parse(p + DP_ETH_HLEN, w->tx[i]->data_len - DP_ETH_HLEN,
			  w->tx[i]->data_len - DP_ETH_HLEN, ip) != DP_DROP_NONE ||
	    ip->proto != DP_IPPROTO_ICMPV6)
		return NULL;
	*len = (size_t)DP_IP6_HLEN + ip->payload_len - ip->l4_off;
	if (!dp_icmp6_csum_ok(&ip->src, &ip->dst, p + DP_ETH_HLEN + ip->l4_off, *len))
		return NULL;
	return p + DP_ETH_HLEN + ip->l4_off;
}

static void test_dad(void)
{
	struct dp_ipv6_info ip;
	const struct rte_ether_hdr *eh;
	const uint8_t *msg;
	struct dp_ip sn = dp_ip6_solicited(&US6);
	struct rte_ether_addr snmac = mcast_of(&sn);
	uint8_t body[64];
	size_t len;

	setup();
	/* worker 0 probes, worker 1 does not */
	CHECK_INT(ws[0]->tx_n, 1);
	CHECK_INT(ws[1]->tx_n, 0);
	CHECK_INT(sts[0].ctr[DP_CTR_ND_DAD_SENT], 1);
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg) {
		struct dp_nd_info nd;

		CHECK(dp_ip_is_any(&ip.src));
		CHECK(dp_ip_eq(&ip.dst, &sn));
		CHECK(rte_is_same_ether_addr(&eh->dst_addr, &snmac));
		CHECK_INT(ip.hop_limit, 255);
		CHECK_INT(dp_nd_parse(msg, len, ip.hop_limit, &ip.src, &ip.dst, &nd), DP_DROP_NONE);
		CHECK(dp_ip_eq(&nd.target, &US6));
		CHECK(!nd.has_lla);
	}
	drain_tx(ws[0]);
	CHECK_INT(ws[0]->dad_state, DP_DAD_TENTATIVE);
	/* an echo request to the tentative address: dropped */
	memset(body, 0, 16);
	body[0] = DP_ICMP6_ECHO_REQUEST;
	dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &PEER6, &US6, 64, body, 16));
	CHECK_INT(sts[0].drop[DP_DROP_IP6_TENTATIVE], 1);
	CHECK_INT(ws[0]->tx_n, 0);
	/* an NS for it from a unicast source is not answered either */
	len = dp_nd_build_ns(body, &US6, peer_mac.addr_bytes);
	dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &PEER6, &sn, 255, body, len));
	CHECK_INT(ws[0]->tx_n, 0);
	CHECK_INT(sts[0].drop[DP_DROP_IP6_TENTATIVE], 2);
	CHECK_INT(sts[0].ctr[DP_CTR_ND_DAD_CONFLICT], 0);
	/* worker 1 hears another node's advertisement of the address: a conflict there */
	len = dp_nd_build_na(body, &US6, DP_ND_NA_OVERRIDE, peer_mac.addr_bytes);
	{
		struct rte_ether_addr allmac = mcast_of(&ALL6);

		dp_worker_input(ws[1], icmp6(&peer_mac, &allmac, &PEER6, &ALL6, 255, body, len));
	}
	CHECK_INT(sts[1].ctr[DP_CTR_ND_DAD_CONFLICT], 1);
	CHECK_INT(ws[1]->dad_state, DP_DAD_DUPLICATE);
	/* worker 0's DAD times out clean: the address is ours */
	ws[0]->now_ms += 999;
	dp_nd_timer(ws[0]);
	CHECK_INT(ws[0]->dad_state, DP_DAD_TENTATIVE);
	ws[0]->now_ms += 1;
	dp_nd_timer(ws[0]);
	CHECK_INT(ws[0]->dad_state, DP_DAD_DONE);
	body[0] = DP_ICMP6_ECHO_REQUEST;
	memset(body + 1, 0, 15);
	dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &PEER6, &US6, 64, body, 16));
	CHECK_INT(sts[0].ctr[DP_CTR_ICMP6_ECHO_REPLIES], 1);
	teardown();

	/* a probe from :: during our DAD is a conflict too */
	setup();
	drain_tx(ws[0]);
	len = dp_nd_build_ns(body, &US6, NULL);
	dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &ANY6, &sn, 255, body, len));
	CHECK_INT(sts[0].ctr[DP_CTR_ND_DAD_CONFLICT], 1);
	CHECK_INT(ws[0]->dad_state, DP_DAD_DUPLICATE);
	ws[0]->now_ms += 5000;
	dp_nd_timer(ws[0]);
	CHECK_INT(ws[0]->dad_state, DP_DAD_DUPLICATE);
	teardown();
}

static void test_ns_answered(void)
{
	struct dp_ipv6_info ip;
	const struct rte_ether_hdr *eh;
	const uint8_t *msg;
	struct dp_ip sn = dp_ip6_solicited(&US6);
	struct rte_ether_addr snmac = mcast_of(&sn), allmac = mcast_of(&ALL6);
	const struct rte_ether_addr *got;
	struct dp_nd_info nd;
	uint8_t body[64];
	size_t len;

	setup();
	dad_done();
	len = dp_nd_build_ns(body, &US6, peer_mac.addr_bytes);
	dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &PEER6, &sn, 255, body, len));
	CHECK_INT(sts[0].ctr[DP_CTR_ND_NA_SENT], 1);
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg) {
		CHECK(dp_ip_eq(&ip.src, &US6));
		CHECK(dp_ip_eq(&ip.dst, &PEER6));
		CHECK(rte_is_same_ether_addr(&eh->dst_addr, &peer_mac));
		CHECK(rte_is_same_ether_addr(&eh->src_addr, &our_mac));
		CHECK_INT(dp_nd_parse(msg, len, ip.hop_limit, &ip.src, &ip.dst, &nd), DP_DROP_NONE);
		CHECK_INT(nd.type, DP_ND_NA);
		CHECK_INT(nd.flags, DP_ND_NA_SOLICITED | DP_ND_NA_OVERRIDE);
		CHECK(dp_ip_eq(&nd.target, &US6));
		CHECK(nd.has_lla && memcmp(nd.lla, our_mac.addr_bytes, 6) == 0);
	}
	drain_tx(ws[0]);
	/* the sender was learnt, and worker 1 hears of it through its inbox */
	got = dp_neigh_lookup(ws[0], &PEER6);
	CHECK(got && rte_is_same_ether_addr(got, &peer_mac));
	CHECK_INT(sts[0].ctr[DP_CTR_ND_LEARNED], 1);
	dp_mq_poll(ws[1]);
	got = dp_neigh_lookup(ws[1], &PEER6);
	CHECK(got && rte_is_same_ether_addr(got, &peer_mac));
	CHECK_INT(ws[1]->tx_n, 0);
	/* a DAD probe from :: for an address we hold: the NA goes to all-nodes, not solicited */
	len = dp_nd_build_ns(body, &US6, NULL);
	dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &ANY6, &sn, 255, body, len));
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg) {
		CHECK(dp_ip_eq(&ip.dst, &ALL6));
		CHECK(rte_is_same_ether_addr(&eh->dst_addr, &allmac));
		CHECK_INT(dp_nd_parse(msg, len, ip.hop_limit, &ip.src, &ip.dst, &nd), DP_DROP_NONE);
		CHECK_INT(nd.flags, DP_ND_NA_OVERRIDE);
	}
	drain_tx(ws[0]);
	/* an NS for the link-local address, from a link-local source */
	{
		struct dp_ip peer_ll = dp_ip6_link_local(peer_mac.addr_bytes);
		struct dp_ip llsn = dp_ip6_solicited(&ws[0]->ll6);
		struct rte_ether_addr llmac = mcast_of(&llsn);

		len = dp_nd_build_ns(body, &ws[0]->ll6, peer_mac.addr_bytes);
		dp_worker_input(ws[0], icmp6(&peer_mac, &llmac, &peer_ll, &llsn, 255, body, len));
		msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
		CHECK(msg != NULL);
		if (msg)
			CHECK(dp_ip_eq(&ip.src, &ws[0]->ll6));
		drain_tx(ws[0]);
	}
	/* an NS for an address that is not ours */
	{
		struct dp_ip other = PEER6;

		other.b[15] = 0x77;
		len = dp_nd_build_ns(body, &other, peer_mac.addr_bytes);
		dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &PEER6, &sn, 255, body, len));
		CHECK_INT(sts[0].drop[DP_DROP_ND_NOT_US], 1);
		CHECK_INT(ws[0]->tx_n, 0);
	}
	teardown();
}

static void test_resolve_and_move(void)
{
	struct dp_ipv6_info ip;
	const struct rte_ether_hdr *eh;
	const uint8_t *msg;
	struct dp_ip psn = dp_ip6_solicited(&PEER6);
	struct rte_ether_addr psnmac = mcast_of(&psn);
	const struct rte_ether_addr *got;
	struct dp_nd_info nd;
	struct rte_mbuf *m;
	uint8_t body[64];
	size_t len;

	setup();
	dad_done();
	m = rte_pktmbuf_alloc(pool);
	memset(rte_pktmbuf_append(m, 80), 0, 80);
	dp_neigh_output(ws[0], m, &PEER6);
	CHECK_INT(sts[0].ctr[DP_CTR_ND_NS_SENT], 1);
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg) {
		CHECK(dp_ip_eq(&ip.dst, &psn));
		CHECK(dp_ip_eq(&ip.src, &US6));
		CHECK(rte_is_same_ether_addr(&eh->dst_addr, &psnmac));
		CHECK_INT(dp_nd_parse(msg, len, ip.hop_limit, &ip.src, &ip.dst, &nd), DP_DROP_NONE);
		CHECK(dp_ip_eq(&nd.target, &PEER6));
		CHECK(nd.has_lla && memcmp(nd.lla, our_mac.addr_bytes, 6) == 0);
	}
	drain_tx(ws[0]);
	/* the advertisement releases the held packet with the peer's MAC */
	len = dp_nd_build_na(body, &PEER6, DP_ND_NA_SOLICITED | DP_ND_NA_OVERRIDE, peer_mac.addr_bytes);
	dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &PEER6, &US6, 255, body, len));
	CHECK_INT(ws[0]->tx_n, 1);
	if (ws[0]->tx_n == 1)
		CHECK(rte_is_same_ether_addr(
			&rte_pktmbuf_mtod(ws[0]->tx[0], struct rte_ether_hdr *)->dst_addr, &peer_mac));
	drain_tx(ws[0]);
	/* the peer moves to another MAC and says so (unsolicited NA, override) */
	ws[0]->now_ms += 2000;
	ws[1]->now_ms += 2000;
	len = dp_nd_build_na(body, &PEER6, DP_ND_NA_OVERRIDE, peer_mac2.addr_bytes);
	{
		struct rte_ether_addr allmac = mcast_of(&ALL6);

		dp_worker_input(ws[0], icmp6(&peer_mac2, &allmac, &PEER6, &ALL6, 255, body, len));
	}
	got = dp_neigh_lookup(ws[0], &PEER6);
	CHECK(got && rte_is_same_ether_addr(got, &peer_mac2));
	/* ... and worker 1 follows */
	dp_mq_poll(ws[1]);
	got = dp_neigh_lookup(ws[1], &PEER6);
	CHECK(got && rte_is_same_ether_addr(got, &peer_mac2));
	/* an NA without override does not move a resolved entry */
	len = dp_nd_build_na(body, &PEER6, DP_ND_NA_SOLICITED, peer_mac.addr_bytes);
	dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &PEER6, &US6, 255, body, len));
	got = dp_neigh_lookup(ws[0], &PEER6);
	CHECK(got && rte_is_same_ether_addr(got, &peer_mac2));
	/* an NA for a neighbor we never asked about: not learnt */
	{
		struct dp_ip other = PEER6;

		other.b[15] = 0x55;
		len = dp_nd_build_na(body, &other, DP_ND_NA_OVERRIDE, peer_mac.addr_bytes);
		dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &other, &US6, 255, body, len));
		CHECK_INT(dp_neigh_known(ws[0], &other), 0);
		CHECK_INT(sts[0].drop[DP_DROP_ND_NOT_US], 1);
	}
	/* an off-link destination goes to the gateway; none configured: dropped, counted */
	{
		struct dp_ip far;
		struct dp_ip hop;

		CHECK_INT(dp_ip_parse("fd01::9", &far), 0);
		hop = dp_next_hop_ip(ws[0], &far);
		CHECK(dp_ip_is_any(&hop));
		m = rte_pktmbuf_alloc(pool);
		memset(rte_pktmbuf_append(m, 80), 0, 80);
		dp_neigh_output(ws[0], m, &hop);
		CHECK_INT(sts[0].drop[DP_DROP_ND_UNRESOLVED], 1);
		hop = dp_next_hop_ip(ws[0], &PEER6);
		CHECK(dp_ip_eq(&hop, &PEER6));
		/* with a gateway: off-link goes to it, resolved by an NS to its group */
		CHECK_INT(dp_ip_parse("fd00:18::fe", &ws[0]->gw6), 0);
		hop = dp_next_hop_ip(ws[0], &far);
		CHECK(dp_ip_eq(&hop, &ws[0]->gw6));
		drain_tx(ws[0]);
		m = rte_pktmbuf_alloc(pool);
		memset(rte_pktmbuf_append(m, 80), 0, 80);
		dp_neigh_output(ws[0], m, &hop);
		{
			struct dp_ipv6_info nip;
			const struct rte_ether_hdr *neh;
			struct dp_nd_info gnd;
			struct dp_ip gsn = dp_ip6_solicited(&ws[0]->gw6);
			const uint8_t *ns = tx_icmp6(ws[0], 0, &nip, &neh, &len);

			CHECK(ns != NULL);
			if (ns) {
				CHECK(dp_ip_eq(&nip.dst, &gsn));
				CHECK_INT(dp_nd_parse(ns, len, nip.hop_limit, &nip.src, &nip.dst, &gnd),
					  DP_DROP_NONE);
				CHECK(dp_ip_eq(&gnd.target, &ws[0]->gw6));
			}
		}
		/* a link-local destination is on-link whatever the prefix */
		{
			struct dp_ip ll = dp_ip6_link_local(peer_mac.addr_bytes);

			hop = dp_next_hop_ip(ws[0], &ll);
			CHECK(dp_ip_eq(&hop, &ll));
		}
		/* an IPv6-only worker: IPv4 next hops are unreachable, ARP and IPv4 are not taken */
		{
			struct dp_ip v4 = dp_ip_v4(0xc6120001);
			struct rte_mbuf *a = rte_pktmbuf_alloc(pool);
			uint8_t *p = (uint8_t *)rte_pktmbuf_append(a, DP_ETH_HLEN + DP_ARP_LEN);
			struct rte_ether_hdr *aeh = (struct rte_ether_hdr *)p;
			static const uint8_t zero[6];

			hop = dp_next_hop_ip(ws[0], &v4);
			CHECK(dp_ip_is_any(&hop));
			aeh->dst_addr = (struct rte_ether_addr){{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
			aeh->src_addr = peer_mac;
			aeh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_ARP);
			dp_arp_build(p + DP_ETH_HLEN, DP_ARP_OP_REQUEST, peer_mac.addr_bytes, 0xc6120001,
				     zero, 0);
			dp_worker_input(ws[1], a);
			CHECK_INT(sts[1].drop[DP_DROP_ARP_NOT_US], 1);
			CHECK_INT(ws[1]->tx_n, 0);
		}
	}
	drain_tx(ws[0]);
	teardown();
}

static void test_echo(void)
{
	struct dp_ipv6_info ip;
	const struct rte_ether_hdr *eh;
	const uint8_t *msg;
	uint8_t body[64], ext[16];
	size_t len;

	setup();
	dad_done();
	memset(body, 0, sizeof(body));
	body[0] = DP_ICMP6_ECHO_REQUEST;
	body[4] = 0x12;
	memcpy(body + 8, "pingpong", 8);
	dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &PEER6, &US6, 64, body, 16));
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg) {
		CHECK_INT(msg[0], DP_ICMP6_ECHO_REPLY);
		CHECK_INT(len, 16);
		CHECK(memcmp(msg + 8, "pingpong", 8) == 0);
		CHECK(dp_ip_eq(&ip.src, &US6));
		CHECK(dp_ip_eq(&ip.dst, &PEER6));
		CHECK(rte_is_same_ether_addr(&eh->dst_addr, &peer_mac));
	}
	drain_tx(ws[0]);
	/* to all-nodes: answered from our address */
	body[0] = DP_ICMP6_ECHO_REQUEST;
	{
		struct rte_ether_addr allmac = mcast_of(&ALL6);

		dp_worker_input(ws[0], icmp6(&peer_mac, &allmac, &PEER6, &ALL6, 64, body, 16));
	}
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg)
		CHECK(dp_ip_eq(&ip.src, &US6) && rte_is_same_ether_addr(&eh->src_addr, &our_mac));
	drain_tx(ws[0]);
	/* through a destination-options header: the reply has none */
	memset(ext, 0, sizeof(ext));
	ext[0] = DP_IPPROTO_DSTOPTS; /* frame6 reads the first next header from ext[-1] */
	ext[1] = DP_IPPROTO_ICMPV6;
	ext[2] = 0;
	ext[3] = 1;
	ext[4] = 4;
	body[0] = DP_ICMP6_ECHO_REQUEST;
	dp_icmp6_csum_set(&PEER6, &US6, body, 16);
	dp_worker_input(ws[0], frame6(&peer_mac, &our_mac, &PEER6, &US6, 64, ext + 1, 8,
				      DP_IPPROTO_ICMPV6, body, 16, 1));
	msg = tx_icmp6(ws[0], 0, &ip, &eh, &len);
	CHECK(msg != NULL);
	if (msg) {
		CHECK_INT(ip.l4_off, DP_IP6_HLEN);
		CHECK_INT(ws[0]->tx[0]->pkt_len, DP_ETH_HLEN + DP_IP6_HLEN + 16);
	}
	drain_tx(ws[0]);
	CHECK_INT(sts[0].ctr[DP_CTR_ICMP6_ECHO_REPLIES], 3);
	teardown();
}

static void test_bad_frames(void)
{
	struct dp_ip sn = dp_ip6_solicited(&US6);
	struct rte_ether_addr snmac = mcast_of(&sn), other = {{0x33, 0x33, 0xff, 1, 2, 3}};
	uint8_t body[64], ext[16];
	size_t len;

	setup();
	dad_done();
	/* hop limit 254 on an NS */
	len = dp_nd_build_ns(body, &US6, peer_mac.addr_bytes);
	dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &PEER6, &sn, 254, body, len));
	CHECK_INT(sts[0].drop[DP_DROP_ND_HOPLIMIT], 1);
	/* checksum */
	len = dp_nd_build_ns(body, &US6, peer_mac.addr_bytes);
	{
		struct rte_mbuf *m = icmp6(&peer_mac, &snmac, &PEER6, &sn, 255, body, len);

		rte_pktmbuf_mtod(m, uint8_t *)[DP_ETH_HLEN + DP_IP6_HLEN + 20] ^= 1;
		dp_worker_input(ws[0], m);
	}
	CHECK_INT(sts[0].drop[DP_DROP_ICMP6_CSUM], 1);
	/* zero-length option */
	len = dp_nd_build_ns(body, &US6, peer_mac.addr_bytes);
	body[25] = 0;
	dp_worker_input(ws[0], icmp6(&peer_mac, &snmac, &PEER6, &sn, 255, body, len));
	CHECK_INT(sts[0].drop[DP_DROP_ND_OPT_ZERO], 1);
	/* a fragment header */
	memset(ext, 0, sizeof(ext));
	ext[0] = DP_IPPROTO_FRAGMENT;
	ext[1] = DP_IPPROTO_ICMPV6;
	len = dp_nd_build_ns(body, &US6, peer_mac.addr_bytes);
	dp_worker_input(ws[0], frame6(&peer_mac, &our_mac, &PEER6, &US6, 255, ext + 1, 8,
				      DP_IPPROTO_ICMPV6, body, len, 0));
	CHECK_INT(sts[0].drop[DP_DROP_IP6_FRAG], 1);
	/* another node's solicited-node group MAC: not ours */
	dp_worker_input(ws[0], icmp6(&peer_mac, &other, &PEER6, &sn, 255, body, len));
	CHECK_INT(sts[0].drop[DP_DROP_ETH_DST], 1);
	/* a truncated frame: payload length beyond the frame */
	{
		struct rte_mbuf *m = icmp6(&peer_mac, &our_mac, &PEER6, &US6, 64, body, 16);

		rte_pktmbuf_trim(m, 4);
		dp_worker_input(ws[0], m);
	}
	CHECK_INT(sts[0].drop[DP_DROP_IP6_LEN], 1);
	/* echo from :: */
	body[0] = DP_ICMP6_ECHO_REQUEST;
	memset(body + 1, 0, 15);
	dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &ANY6, &US6, 64, body, 16));
	CHECK_INT(sts[0].drop[DP_DROP_IP6_SRC], 1);
	/* not for us */
	{
		struct dp_ip o = US6;

		o.b[15] ^= 0x40;
		dp_worker_input(ws[0], icmp6(&peer_mac, &our_mac, &PEER6, &o, 64, body, 16));
		CHECK_INT(sts[0].drop[DP_DROP_IP6_NOT_US], 1);
	}
	CHECK_INT(ws[0]->tx_n, 0);
	teardown();
}

int main(int argc, char **argv)
{
	(void)argc;
	dp_ip_parse("fd00:18::2", &US6);
	dp_ip_parse("fd00:18::1", &PEER6);
	dp_ip_parse("ff02::1", &ALL6);
	dp_ip_parse("::", &ANY6);
	if (st_test_eal_init(argv[0], "dp_nd") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("dp_nd", "nd", 4096, RTE_MBUF_DEFAULT_BUF_SIZE)) == NULL)
		return 1;
	RUN(test_dad);
	RUN(test_ns_answered);
	RUN(test_resolve_and_move);
	RUN(test_echo);
	RUN(test_bad_frames);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("dp_nd");
	return st_test_done("dp_nd");
}
