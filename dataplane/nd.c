/*
 * IPv6 input, ICMPv6 (echo) and Neighbor Discovery (RFC 8200, 4443, 4861,
 * 4862) on a worker.
 *
 * Our addresses: the configured one (w->ip6, used once duplicate address
 * detection passed) and the link-local one made from the port's MAC
 * (w->ll6, not probed: the MAC is taken to be unique). A packet is ours when
 * it goes to either, or, for ICMPv6 only, to their solicited-node groups or
 * to all-nodes (ff02::1). The port takes those groups' MACs (port.c; TAP
 * ports take every frame), and dp_eth_dst_ok lets them past the worker's
 * Ethernet check.
 *
 * Neighbor Discovery: a Neighbor Solicitation for one of our addresses is
 * answered with an Advertisement (to all-nodes for a DAD probe from ::, else
 * unicast, solicited and override); its source link-layer option is learnt.
 * An Advertisement updates an entry we already have (override set, or the
 * entry unresolved), so a neighbor whose MAC changed is followed. Learnt
 * entries go through the one neighbor cache (arp.c) and are posted to the
 * other workers like ARP's. Resolution and refresh solicitations come from
 * the cache's aging (dp_nd_solicit).
 *
 * DAD: at start every worker holds ip6 tentative for dad_ms (default 1 s,
 * RetransTimer); worker 0 sends the one probe (DupAddrDetectTransmits 1).
 * While tentative, traffic to ip6 is dropped (IP6_TENTATIVE) and an NS from
 * :: or an NA for ip6 means someone else has it: the worker that sees it
 * counts ND_DAD_CONFLICT and stops using the address (dad_state DUPLICATE).
 * Workers do not share the verdict (they share nothing writable): on a
 * multi-queue NIC the answer may reach any queue, so an operator reads the
 * counter (each multicast frame reaches one queue; a conflict shows there).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"
#include "dataplane/worker.h"

#define ND_DAD_MS_DEFAULT 1000
#define ND_HOP_LIMIT 64

static const struct rte_ether_addr all_nodes_mac = {.addr_bytes = {0x33, 0x33, 0, 0, 0, 1}};

static int ip6_usable(const struct dp_worker *w)
{
	return w->dad_state == DP_DAD_DONE;
}

/* One of our unicast addresses (the configured one only once DAD passed). */
static int ours_unicast(const struct dp_worker *w, const struct dp_ip *a)
{
	if (w->dad_state == DP_DAD_NONE)
		return 0;
	return dp_ip_eq(a, &w->ll6) || (ip6_usable(w) && dp_ip_eq(a, &w->ip6));
}

static int ours_group(const struct dp_worker *w, const struct dp_ip *a)
{
	struct dp_ip s1, s2;

	if (w->dad_state == DP_DAD_NONE)
		return 0;
	if (dp_ip6_is_all_nodes(a))
		return 1;
	s1 = dp_ip6_solicited(&w->ip6);
	s2 = dp_ip6_solicited(&w->ll6);
	return dp_ip_eq(a, &s1) || dp_ip_eq(a, &s2);
}

int dp_eth_dst_ok(const struct dp_worker *w, const struct rte_ether_addr *dst)
{
	uint8_t m[6];
	struct dp_ip s;

	if (rte_is_same_ether_addr(dst, &w->mac) || rte_is_broadcast_ether_addr(dst))
		return 1;
	if (w->dad_state == DP_DAD_NONE || dst->addr_bytes[0] != 0x33 || dst->addr_bytes[1] != 0x33)
		return 0;
	if (rte_is_same_ether_addr(dst, &all_nodes_mac))
		return 1;
	s = dp_ip6_solicited(&w->ip6);
	dp_ip6_mcast_mac(&s, m);
	if (memcmp(m, dst->addr_bytes, 6) == 0)
		return 1;
	s = dp_ip6_solicited(&w->ll6);
	dp_ip6_mcast_mac(&s, m);
	return memcmp(m, dst->addr_bytes, 6) == 0;
}

/* The source address for talking to dst: link-local to link-local, else the configured one. */
static const struct dp_ip *src_for(const struct dp_worker *w, const struct dp_ip *dst)
{
	if (dp_ip6_is_link_local(dst) || !ip6_usable(w))
		return &w->ll6;
	return &w->ip6;
}

/* An ND message: Ethernet + IPv6 (hop limit 255) + the ICMPv6 body built by fill. */
static void nd_send(struct dp_worker *w, const struct rte_ether_addr *dmac, const struct dp_ip *src,
		    const struct dp_ip *dst, const uint8_t *body, size_t blen, unsigned ctr)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	struct rte_ether_hdr *eh;
	uint8_t *p;

	if (!m) {
		w->st->drop[DP_DROP_NO_MBUF]++;
		return;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_ETH_HLEN + DP_IP6_HLEN + blen));
	if (!p) {
		dp_drop(w, m, DP_DROP_NO_MBUF);
		return;
	}
	eh = (struct rte_ether_hdr *)p;
	eh->dst_addr = *dmac;
	eh->src_addr = w->mac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV6);
	dp_ipv6_build(p + DP_ETH_HLEN, src, dst, DP_IPPROTO_ICMPV6, (uint16_t)blen, 255);
	memcpy(p + DP_ETH_HLEN + DP_IP6_HLEN, body, blen);
	dp_icmp6_csum_set(src, dst, p + DP_ETH_HLEN + DP_IP6_HLEN, blen);
	w->st->ctr[ctr]++;
	dp_tx(w, m);
}

void dp_nd_solicit(struct dp_worker *w, const struct dp_ip *target, const struct rte_ether_addr *mac)
{
	uint8_t body[DP_ND_NS_LEN + DP_ND_LLA_OPT_LEN];
	struct rte_ether_addr dmac;
	struct dp_ip dst;
	size_t n;

	if (w->dad_state == DP_DAD_NONE)
		return;
	if (mac) {
		dst = *target;
		dmac = *mac;
	} else {
		dst = dp_ip6_solicited(target);
		dp_ip6_mcast_mac(&dst, dmac.addr_bytes);
	}
	n = dp_nd_build_ns(body, target, w->mac.addr_bytes);
	nd_send(w, &dmac, src_for(w, target), &dst, body, n, DP_CTR_ND_NS_SENT);
}

static void dad_probe(struct dp_worker *w)
{
	uint8_t body[DP_ND_NS_LEN];
	static const struct dp_ip any;
	struct rte_ether_addr dmac;
	struct dp_ip dst = dp_ip6_solicited(&w->ip6);
	size_t n = dp_nd_build_ns(body, &w->ip6, NULL);

	dp_ip6_mcast_mac(&dst, dmac.addr_bytes);
	nd_send(w, &dmac, &any, &dst, body, n, DP_CTR_ND_DAD_SENT);
}

void dp_nd_start(struct dp_worker *w)
{
	const struct dp_cfg *cfg = w->cfg;

	if (cfg == NULL || dp_ip_is_any(&cfg->ip6)) {
		w->dad_state = DP_DAD_NONE;
		return;
	}
	w->ip6 = cfg->ip6;
	w->prefix6 = cfg->prefix6;
	w->gw6 = cfg->gateway6;
	w->ll6 = dp_ip6_link_local(w->mac.addr_bytes);
	w->dad_state = DP_DAD_TENTATIVE;
	w->dad_until_ms = w->now_ms + (cfg->dad_ms ? cfg->dad_ms : ND_DAD_MS_DEFAULT);
	if (w->id == 0)
		dad_probe(w);
}

void dp_nd_timer(struct dp_worker *w)
{
	if (w->dad_state == DP_DAD_TENTATIVE && w->now_ms >= w->dad_until_ms) {
		w->dad_state = DP_DAD_DONE;
		w->st->ctr[DP_CTR_ND_DAD_DONE]++;
	}
}

static void dad_conflict(struct dp_worker *w)
{
	w->st->ctr[DP_CTR_ND_DAD_CONFLICT]++;
	if (w->dad_state == DP_DAD_TENTATIVE)
		w->dad_state = DP_DAD_DUPLICATE;
}

static void ns_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh,
		     const struct dp_ipv6_info *ip, const struct dp_nd_info *nd)
{
	uint8_t body[DP_ND_NS_LEN + DP_ND_LLA_OPT_LEN];
	int from_any = dp_ip_is_any(&ip->src);
	struct rte_ether_addr lla, dmac;
	struct dp_ip dst;
	size_t n;

	if (w->dad_state == DP_DAD_TENTATIVE && dp_ip_eq(&nd->target, &w->ip6)) {
		/* Another node probing for our tentative address (RFC 4862 5.4.3). */
		if (from_any)
			dad_conflict(w);
		dp_drop(w, m, DP_DROP_IP6_TENTATIVE);
		return;
	}
	if (!from_any && nd->has_lla) {
		memcpy(lla.addr_bytes, nd->lla, 6);
		dp_neigh_learn(w, &ip->src, &lla);
	}
	if (!ours_unicast(w, &nd->target)) {
		dp_drop(w, m, DP_DROP_ND_NOT_US);
		return;
	}
	if (from_any) { /* a DAD probe for an address we hold: tell all nodes (RFC 4861 7.2.4) */
		dst = (struct dp_ip){.b = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
		dmac = all_nodes_mac;
		n = dp_nd_build_na(body, &nd->target, DP_ND_NA_OVERRIDE, w->mac.addr_bytes);
	} else {
		dst = ip->src;
		if (nd->has_lla)
			memcpy(dmac.addr_bytes, nd->lla, 6);
		else
			dmac = eh->src_addr;
		n = dp_nd_build_na(body, &nd->target, DP_ND_NA_SOLICITED | DP_ND_NA_OVERRIDE,
				   w->mac.addr_bytes);
	}
	nd_send(w, &dmac, &nd->target, &dst, body, n, DP_CTR_ND_NA_SENT);
	rte_pktmbuf_free(m);
}

static void na_input(struct dp_worker *w, struct rte_mbuf *m, const struct dp_nd_info *nd)
{
	struct rte_ether_addr lla;
	int known;

	if (w->dad_state != DP_DAD_NONE && dp_ip_eq(&nd->target, &w->ip6)) {
		dad_conflict(w); /* someone advertises our address */
		dp_drop(w, m, DP_DROP_IP6_TENTATIVE);
		return;
	}
	known = dp_neigh_known(w, &nd->target);
	if (!known || !nd->has_lla) {
		/* Unsolicited news about a stranger, or nothing to learn (RFC 4861 7.2.5). */
		dp_drop(w, m, DP_DROP_ND_NOT_US);
		return;
	}
	/* Override, or an entry still waiting: take the MAC (a moved neighbor is followed). */
	if ((nd->flags & DP_ND_NA_OVERRIDE) || known == 1) {
		memcpy(lla.addr_bytes, nd->lla, 6);
		dp_neigh_learn(w, &nd->target, &lla);
	}
	rte_pktmbuf_free(m);
}

/* Echo reply in place: our address as the source, extension headers dropped. */
static void echo_input(struct dp_worker *w, struct rte_mbuf *m, const struct dp_ipv6_info *ip,
		       uint8_t *icmp, uint32_t len)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *), *iph = eth + DP_ETH_HLEN;
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)eth;
	struct dp_ip src = ours_unicast(w, &ip->dst) ? ip->dst : *src_for(w, &ip->src);
	struct dp_ip dst = ip->src;
	int r = dp_icmp6_echo_parse(icmp, len);

	if (r != DP_DROP_NONE) {
		dp_drop(w, m, (unsigned)r);
		return;
	}
	if (ip->l4_off != DP_IP6_HLEN) {
		memmove(iph + DP_IP6_HLEN, icmp, len);
		rte_pktmbuf_trim(m, (uint16_t)(ip->l4_off - DP_IP6_HLEN));
		icmp = iph + DP_IP6_HLEN;
	}
	eh->dst_addr = eh->src_addr;
	eh->src_addr = w->mac;
	dp_ipv6_build(iph, &src, &dst, DP_IPPROTO_ICMPV6, (uint16_t)len, ND_HOP_LIMIT);
	icmp[0] = DP_ICMP6_ECHO_REPLY;
	dp_icmp6_csum_set(&src, &dst, icmp, len);
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	w->st->ctr[DP_CTR_ICMP6_ECHO_REPLIES]++;
	dp_tx(w, m);
}

static void icmp6_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh,
			const struct dp_ipv6_info *ip)
{
	uint8_t *icmp = rte_pktmbuf_mtod_offset(m, uint8_t *, DP_ETH_HLEN + ip->l4_off);
	uint32_t len = (uint32_t)DP_IP6_HLEN + ip->payload_len - ip->l4_off;
	struct dp_nd_info nd;
	int r;

	if (m->nb_segs != 1 || len < 4) {
		dp_drop(w, m, DP_DROP_ICMP6_SHORT);
		return;
	}
	if (!dp_icmp6_csum_ok(&ip->src, &ip->dst, icmp, len)) {
		dp_drop(w, m, DP_DROP_ICMP6_CSUM);
		return;
	}
	if (dp_ip_is_any(&ip->src) && icmp[0] != DP_ND_NS) {
		dp_drop(w, m, DP_DROP_IP6_SRC);
		return;
	}
	switch (icmp[0]) {
	case DP_ICMP6_ECHO_REQUEST:
		echo_input(w, m, ip, icmp, len);
		return;
	case DP_ND_NS:
	case DP_ND_NA:
		r = dp_nd_parse(icmp, len, ip->hop_limit, &ip->src, &ip->dst, &nd);
		if (r != DP_DROP_NONE) {
			dp_drop(w, m, (unsigned)r);
			return;
		}
		if (nd.type == DP_ND_NS)
			ns_input(w, m, eh, ip, &nd);
		else
			na_input(w, m, &nd);
		return;
	default:
		dp_drop(w, m, DP_DROP_ICMP6_TYPE);
		return;
	}
}

void dp_ipv6_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh)
{
	const uint8_t *p = (const uint8_t *)eh + DP_ETH_HLEN;
	uint32_t head = m->data_len - DP_ETH_HLEN, len = m->pkt_len - DP_ETH_HLEN;
	struct dp_ipv6_info ip;
	int r, group;

	if (w->dad_state == DP_DAD_NONE) {
		dp_drop(w, m, DP_DROP_ETH_TYPE); /* no IPv6 on this port */
		return;
	}
	r = dp_ipv6_parse(p, len, head, &ip);
	if (r != DP_DROP_NONE) {
		dp_drop(w, m, (unsigned)r);
		return;
	}
	group = ours_group(w, &ip.dst);
	if (!group && !ours_unicast(w, &ip.dst)) {
		dp_drop(w, m, w->dad_state != DP_DAD_DONE && dp_ip_eq(&ip.dst, &w->ip6)
				      ? DP_DROP_IP6_TENTATIVE
				      : DP_DROP_IP6_NOT_US);
		return;
	}
	w->st->ctr[DP_CTR_IP6_RX]++;
	/* Drop Ethernet padding. */
	if (m->pkt_len > (uint32_t)DP_ETH_HLEN + DP_IP6_HLEN + ip.payload_len)
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - DP_ETH_HLEN - DP_IP6_HLEN - ip.payload_len));
	switch (ip.proto) {
	case DP_IPPROTO_ICMPV6:
		icmp6_input(w, m, eh, &ip);
		return;
	case DP_IPPROTO_TCP:
		if (group || dp_ip_is_any(&ip.src)) {
			dp_drop(w, m, group ? DP_DROP_IP6_NOT_US : DP_DROP_IP6_SRC);
			return;
		}
		dp_ipv6_tcp_input(w, m, eh, &ip);
		return;
	default:
		dp_drop(w, m, DP_DROP_IP6_PROTO);
		return;
	}
}
