/*
 * The poll-mode worker: RX burst -> Ethernet -> ARP / IPv4 -> ICMP / TCP,
 * events, application hook, TCP output, timers, deferred TX flush.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_gro.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "dataplane/csum.h"
#include "dataplane/dp.h"
#include "dataplane/mq.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"
#include "dataplane/vtap.h"
#include "dataplane/worker.h"

void dp_tx_flush(struct dp_worker *w)
{
	struct rte_mbuf *pkts[DP_TX_BUF];
	uint16_t n = w->tx_n, sent = 0, tries = 0;

	if (n == 0)
		return;
	memcpy(pkts, w->tx, n * sizeof(pkts[0]));
	w->tx_n = 0;
	{
		uint64_t t0 = rte_rdtsc();

		if (w->vtap) { /* counts what it writes itself (it may drop a packet) */
			while (sent < n && tries++ < 8)
				sent += dp_vtap_tx(w, w->vtap, pkts + sent, n - sent);
		} else {
			for (uint16_t i = 0; i < n; i++)
				w->st->tx_bytes += pkts[i]->pkt_len;
			while (sent < n && tries++ < 8)
				sent += rte_eth_tx_burst(w->port, w->queue, pkts + sent, n - sent);
			w->st->tx_pkts += sent;
			for (uint16_t i = sent; i < n; i++)
				w->st->tx_bytes -= pkts[i]->pkt_len;
		}
		w->st->io_tsc += rte_rdtsc() - t0;
	}
	for (uint16_t i = sent; i < n; i++)
		dp_drop(w, pkts[i], DP_DROP_TX_FULL);
}

static void icmp_input(struct dp_worker *w, struct rte_mbuf *m, const struct dp_ipv4_info *ip)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *iph = eth + DP_ETH_HLEN, *icmp = iph + ip->hlen;
	uint32_t len = ip->total_len - ip->hlen;
	uint8_t mac[6];
	int r;

	if (m->nb_segs != 1) {
		dp_drop(w, m, DP_DROP_ICMP_SHORT);
		return;
	}
	r = dp_icmp_echo_parse(icmp, len);
	if (r != DP_DROP_NONE) {
		dp_drop(w, m, (unsigned)r);
		return;
	}
	/* Turn the request into the reply in place. */
	memcpy(mac, eth, 6);
	memcpy(eth, eth + 6, 6);
	memcpy(eth + 6, mac, 6);
	icmp[0] = 0;
	icmp[2] = icmp[3] = 0;
	{
		uint16_t c = dp_csum_fold(dp_csum_partial(icmp, len, 0));

		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	}
	/* Rebuild a plain 20-byte header (options dropped), keep the id. */
	if (ip->hlen != DP_IP_HLEN) {
		memmove(iph + DP_IP_HLEN, icmp, len);
		rte_pktmbuf_trim(m, (uint16_t)(ip->hlen - DP_IP_HLEN));
	}
	dp_ipv4_build(iph, w->ip, ip->src, DP_IPPROTO_ICMP, (uint16_t)(DP_IP_HLEN + len),
		      (uint16_t)(iph[4] << 8 | iph[5]), 0);
	/* No offloads; but what the buffer is attached to (an external or another mbuf's) stays. */
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	w->st->ctr[DP_CTR_ICMP_ECHO_REPLIES]++;
	dp_tx(w, m);
}

static void ipv4_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh)
{
	const uint8_t *p = (const uint8_t *)eh + DP_ETH_HLEN;
	struct dp_ipv4_info ip;
	uint32_t len;
	int csum_ok = 0, r;

	if (m->nb_segs == 1) {
		len = m->data_len - DP_ETH_HLEN;
	} else {
		/*
		 * A chain (RX scatter, GRO): the IPv4 header and a minimal TCP
		 * header must be in the first segment (tcp_input checks the
		 * options); the payload may span the rest.
		 */
		uint32_t first = m->data_len - DP_ETH_HLEN;

		if (first < DP_IP_HLEN || first < (uint32_t)(p[0] & 0xf) * 4u + 20u) {
			dp_drop(w, m, DP_DROP_IP_SHORT);
			return;
		}
		len = m->pkt_len - DP_ETH_HLEN;
	}
	/* Flags are trusted from the port, or from the GRO stage that checked them. */
	if (w->rx_csum_offload || w->gro) {
		uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

		if (f == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
			dp_drop(w, m, DP_DROP_IP_CSUM);
			return;
		}
		csum_ok = f == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	}
	r = dp_ipv4_parse(p, len, csum_ok, &ip);
	if (r != DP_DROP_NONE) {
		dp_drop(w, m, (unsigned)r);
		return;
	}
	if (ip.dst != w->ip) {
		dp_drop(w, m, DP_DROP_IP_NOT_US);
		return;
	}
	/* Drop Ethernet padding. */
	if (m->pkt_len > (uint32_t)DP_ETH_HLEN + ip.total_len)
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - (uint32_t)DP_ETH_HLEN - ip.total_len));
	switch (ip.proto) {
	case DP_IPPROTO_TCP: {
		int l4_ok = 0;

		if (w->rx_csum_offload || w->gro) {
			uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

			if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
				dp_drop(w, m, DP_DROP_TCP_CSUM);
				return;
			}
			l4_ok = f == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		}
		if (!l4_ok) {
			if (ip.total_len - ip.hlen < 20) {
				dp_drop(w, m, DP_DROP_TCP_SHORT);
				return;
			}
			if (!dp_l4_cksum_ipv4_ok(m, (const struct rte_ipv4_hdr *)p,
						 DP_ETH_HLEN + ip.hlen)) {
				dp_drop(w, m, DP_DROP_TCP_CSUM);
				return;
			}
		}
		rte_pktmbuf_adj(m, (uint16_t)(DP_ETH_HLEN + ip.hlen));
		/* Another worker's flow (dataplane/mq.h): hand it over, headers still in front. */
		if (w->nb_workers > 1 && ip.total_len - ip.hlen >= 20) {
			const uint8_t *th = rte_pktmbuf_mtod(m, const uint8_t *);
			unsigned owner = dp_flow_owner(w, ip.dst, (uint16_t)(th[2] << 8 | th[3]), ip.src,
						       (uint16_t)(th[0] << 8 | th[1]));

			if (owner != w->id) {
				m->l2_len = DP_ETH_HLEN;
				m->l3_len = ip.hlen;
				dp_mq_handoff(w, m, owner);
				return;
			}
		}
		tcp_input(w->tcp, m, &ip, eh->src_addr.addr_bytes, 1);
		return;
	}
	case DP_IPPROTO_ICMP:
		icmp_input(w, m, &ip);
		return;
	default:
		dp_drop(w, m, DP_DROP_IP_PROTO);
		return;
	}
}

/*
 * May m go into GRO? A TCP/IPv4 data segment with only ACK set (what
 * librte_gro merges), headers in the first segment and checksums known good.
 * GRO does not fix the checksums of what it merges, so they are checked here
 * (in software unless the port did) and the result is left in ol_flags for
 * ipv4_input. Sets the packet type and header lengths GRO reads.
 */
static int gro_candidate(struct dp_worker *w, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	const struct rte_tcp_hdr *th;
	uint32_t ihl, doff, tlen;
	uint64_t fip, fl4;

	/* Only GRO's own checks stand behind the flags: drop what the port did not promise. */
	if (!w->rx_csum_offload)
		m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	if (m->data_len < DP_ETH_HLEN + DP_IP_HLEN + 20 ||
	    eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_IPV4) ||
	    !rte_is_same_ether_addr(&eh->dst_addr, &w->mac) ||
	    (ip->version_ihl >> 4) != 4 || ip->next_proto_id != DP_IPPROTO_TCP ||
	    (ip->fragment_offset & rte_cpu_to_be_16(0x3fff)) != 0)
		return 0;
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	tlen = rte_be_to_cpu_16(ip->total_length);
	if (ihl < DP_IP_HLEN || DP_ETH_HLEN + ihl + 20 > m->data_len ||
	    DP_ETH_HLEN + tlen > m->pkt_len)
		return 0;
	th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + ihl);
	doff = (uint32_t)(th->data_off >> 4) * 4;
	if (th->tcp_flags != RTE_TCP_ACK_FLAG || doff < 20 || DP_ETH_HLEN + ihl + doff > m->data_len ||
	    tlen <= ihl + doff)
		return 0;
	/* Ethernet padding would count as payload. */
	if (m->pkt_len > DP_ETH_HLEN + tlen &&
	    rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - DP_ETH_HLEN - tlen)) != 0)
		return 0;
	fip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	fl4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (fip == RTE_MBUF_F_RX_IP_CKSUM_BAD || fl4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return 0;
	if (fip != RTE_MBUF_F_RX_IP_CKSUM_GOOD && dp_csum_fold(dp_csum_partial(ip, ihl, 0)) != 0)
		return 0;
	if (fl4 != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    !dp_l4_cksum_ipv4_ok(m, ip, DP_ETH_HLEN + ihl))
		return 0;
	m->ol_flags = (m->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) |
		      RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
	m->l2_len = DP_ETH_HLEN;
	m->l3_len = ihl;
	m->l4_len = doff;
	return 1;
}

/*
 * GRO over a burst, in place; returns the new count. rte_gro_reassemble_burst
 * puts what it does not merge before what it does, so only runs of
 * candidates go to it: everything else keeps its place, and within a flow
 * GRO keeps arrival order, so TCP sees no reordering it would not have seen.
 */
static uint16_t rx_gro(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_gro_param param = {
		.gro_types = RTE_GRO_TCP_IPV4,
		.max_flow_num = DP_RX_BURST,
		.max_item_per_flow = DP_RX_BURST,
	};
	uint16_t in = 0, out = 0;

	while (in < n) {
		uint16_t run = 0, k;

		while (in + run < n && gro_candidate(w, pkts[in + run]))
			run++;
		if (run >= 2) {
			k = rte_gro_reassemble_burst(pkts + in, run, &param);
			w->st->ctr[DP_CTR_RX_GRO_MERGED] += (uint16_t)(run - k);
			for (uint16_t i = 0; i < k; i++)
				pkts[out++] = pkts[in + i];
		} else if (run == 1) {
			pkts[out++] = pkts[in];
		}
		in = (uint16_t)(in + run);
		if (in < n) /* not a candidate */
			pkts[out++] = pkts[in++];
	}
	return out;
}

void dp_ipv6_tcp_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh,
		       const struct dp_ipv6_info *ip)
{
	uint32_t l4len = (uint32_t)DP_IP6_HLEN + ip->payload_len - ip->l4_off;
	int l4_ok = 0;

	/* The TCP header must be in the first segment, like IPv4's (tcp_input checks options). */
	if (l4len < 20 || (uint32_t)m->data_len < DP_ETH_HLEN + ip->l4_off + 20u) {
		dp_drop(w, m, DP_DROP_TCP_SHORT);
		return;
	}
	if (w->rx_csum_offload) {
		uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

		if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
			dp_drop(w, m, DP_DROP_TCP_CSUM);
			return;
		}
		l4_ok = f == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
	if (!l4_ok && !dp_l4_cksum_ipv6_ok(m, &ip->src, &ip->dst, DP_ETH_HLEN + ip->l4_off)) {
		dp_drop(w, m, DP_DROP_TCP_CSUM);
		return;
	}
	rte_pktmbuf_adj(m, (uint16_t)(DP_ETH_HLEN + ip->l4_off));
	if (w->nb_workers > 1) {
		const uint8_t *th = rte_pktmbuf_mtod(m, const uint8_t *);
		unsigned owner = dp_flow_owner_ip(w, &ip->dst, (uint16_t)(th[2] << 8 | th[3]), &ip->src,
						  (uint16_t)(th[0] << 8 | th[1]));

		if (owner != w->id) {
			m->l2_len = DP_ETH_HLEN;
			m->l3_len = ip->l4_off; /* the IPv6 header and its extension headers */
			dp_mq_handoff(w, m, owner);
			return;
		}
	}
	tcp_input_ip(w->tcp, m, &ip->src, &ip->dst, l4len, eh->src_addr.addr_bytes);
}

void dp_worker_input(struct dp_worker *w, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh;

	w->st->rx_bytes += m->pkt_len;
	if (m->data_len < DP_ETH_HLEN) {
		dp_drop(w, m, DP_DROP_ETH_SHORT);
		return;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	/* Our MAC inline; broadcast and the IPv6 groups out of line (nd.c). */
	if (!rte_is_same_ether_addr(&eh->dst_addr, &w->mac) && !dp_eth_dst_ok(w, &eh->dst_addr)) {
		dp_drop(w, m, DP_DROP_ETH_DST);
		return;
	}
	switch (rte_be_to_cpu_16(eh->ether_type)) {
	case DP_ETHERTYPE_IPV4:
		if (w->ip == 0) { /* an IPv6-only port: 0.0.0.0 is nobody's address */
			dp_drop(w, m, DP_DROP_ETH_TYPE);
			return;
		}
		ipv4_input(w, m, eh);
		return;
	case DP_ETHERTYPE_IPV6:
		dp_ipv6_input(w, m, eh);
		return;
	case DP_ETHERTYPE_ARP:
		if (w->ip == 0) {
			dp_drop(w, m, DP_DROP_ARP_NOT_US);
			return;
		}
		dp_arp_input(w, m, (const uint8_t *)eh + DP_ETH_HLEN, m->data_len - DP_ETH_HLEN);
		return;
	default:
		dp_drop(w, m, DP_DROP_ETH_TYPE);
		return;
	}
}

int dp_worker_begin(struct dp_worker *w)
{
	const struct dp_cfg *cfg = w->cfg;

	w->now_tsc = rte_rdtsc();
	w->now_ms = w->now_tsc / w->tsc_per_ms;
	w->last_arp_ms = 0;
	dp_wheel_init(&w->wheel, w->now_ms);
	dp_nd_start(w);
	int r;
	if (cfg->on_start && (r = cfg->on_start(w, cfg->app_arg)) != 0)
		return r < 0 ? r : -r;
	dp_idle_init(w);
	return 0;
}

int dp_worker_pass(struct dp_worker *w)
{
	const struct dp_cfg *cfg = w->cfg;
	struct rte_mbuf *pkts[DP_RX_BURST];
	uint64_t start = rte_rdtsc(), end;
	uint16_t n, i;
	uint64_t tx_before = w->st->tx_pkts;
	unsigned ho = 0;
	int busy;

	w->now_tsc = start;
	w->now_ms = start / w->tsc_per_ms;
	/*
	 * Segments other workers handed us first: they were read off the wire
	 * before what our own queue holds now (dataplane/mq.h), so a flow whose
	 * queue changed keeps its order where it can.
	 */
	if (w->mq)
		ho = dp_mq_poll(w);
	uint64_t rx0 = w->mq ? rte_rdtsc() : start;
	n = w->vtap ? dp_vtap_rx(w, w->vtap, pkts, DP_RX_BURST)
		    : rte_eth_rx_burst(w->port, w->queue, pkts, DP_RX_BURST);
	if (n)
		w->st->io_tsc += rte_rdtsc() - rx0;
	w->st->rx_pkts += n;
	if (w->gro && n)
		n = rx_gro(w, pkts, n);
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		dp_worker_input(w, pkts[i]);
	}
	if (w->mq)
		dp_mq_flush(w);
	uint64_t a0 = rte_rdtsc(), c0 = cfg->crypto_cycles ? cfg->crypto_cycles() : 0;
	uint64_t s0 = cfg->service_cycles ? cfg->service_cycles() : 0;
	tcp_dispatch_events(w->tcp);
	if (cfg->on_poll)
		cfg->on_poll(w, cfg->app_arg);
	uint64_t app = rte_rdtsc() - a0;
	tcp_timers(w->tcp);
	if (w->now_ms - w->last_arp_ms >= 100) {
		w->last_arp_ms = w->now_ms;
		dp_arp_timer(w);
		dp_nd_timer(w);
	}
	a0 = rte_rdtsc();
	tcp_dispatch_events(w->tcp);
	app += rte_rdtsc() - a0;
	tcp_flush_output(w->tcp);
	dp_tx_flush(w);
	end = rte_rdtsc();
	busy = n || ho || w->st->tx_pkts != tx_before;
	if (busy) {
		w->st->busy_tsc += end - start;
		w->st->app_tsc += app;
		if (cfg->crypto_cycles)
			w->st->crypto_tsc += cfg->crypto_cycles() - c0;
		if (cfg->service_cycles)
			w->st->service_tsc += cfg->service_cycles() - s0;
		w->st->busy_polls++;
	} else {
		w->st->idle_tsc += end - start;
		w->st->idle_polls++;
	}
	if (w->pub != NULL && w->now_ms - w->last_pub_ms >= DP_STATS_PUB_MS) {
		w->last_pub_ms = w->now_ms;
		dp_stats_publish(w->pub, w->st);
	}
	if (dp_idle_after_pass(w, busy))
		w->st->idle_tsc += rte_rdtsc() - end; /* slept: idle time, not busy */
	return busy;
}

void dp_worker_end(struct dp_worker *w)
{
	const struct dp_cfg *cfg = w->cfg;

	dp_idle_fini(w);
	if (cfg->on_stop)
		cfg->on_stop(w, cfg->app_arg);
	tcp_worker_drain(w->tcp);
	dp_tx_flush(w);
	for (unsigned o = 0; o < DP_MAX_WORKERS; o++) { /* flushed every pass: normally empty */
		for (unsigned k = 0; k < w->ho_n[o]; k++)
			rte_pktmbuf_free(w->ho[o][k]);
		w->ho_n[o] = 0;
	}
	for (unsigned i = 0; i < DP_ARP_SIZE; i++) {
		for (unsigned k = 0; k < w->arp[i].nhold; k++)
			rte_pktmbuf_free(w->arp[i].hold[k]);
		w->arp[i].nhold = 0;
	}
	if (w->pub != NULL)
		dp_stats_publish(w->pub, w->st);
}

int dp_worker_loop(struct dp_worker *w)
{
	int r = dp_worker_begin(w);

	if (r != 0)
		return r;
	while (!*w->cfg->quit)
		(void)dp_worker_pass(w);
	dp_worker_end(w);
	return 0;
}
