/*
 * The poll-mode worker: RX burst -> Ethernet -> ARP / IPv4 -> ICMP / TCP,
 * events, application hook, TCP output, timers, deferred TX flush.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dataplane/csum.h"
#include "dataplane/dp.h"
#include "dataplane/proto.h"
#include "dataplane/worker.h"

void dp_tx_flush(struct dp_worker *w)
{
	struct rte_mbuf *pkts[DP_TX_BUF];
	uint16_t n = w->tx_n, sent = 0, tries = 0;

	if (n == 0)
		return;
	memcpy(pkts, w->tx, n * sizeof(pkts[0]));
	w->tx_n = 0;
	for (uint16_t i = 0; i < n; i++)
		w->st->tx_bytes += pkts[i]->pkt_len;
	{
		uint64_t t0 = rte_rdtsc();

		while (sent < n && tries++ < 8)
			sent += rte_eth_tx_burst(w->port, w->queue, pkts + sent, n - sent);
		w->st->io_tsc += rte_rdtsc() - t0;
	}
	w->st->tx_pkts += sent;
	for (uint16_t i = sent; i < n; i++) {
		w->st->tx_bytes -= pkts[i]->pkt_len;
		dp_drop(w, pkts[i], DP_DROP_TX_FULL);
	}
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
	m->ol_flags = 0;
	w->st->ctr[DP_CTR_ICMP_ECHO_REPLIES]++;
	dp_tx(w, m);
}

static void ipv4_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh)
{
	const uint8_t *p = (const uint8_t *)eh + DP_ETH_HLEN;
	struct dp_ipv4_info ip;
	uint32_t len;
	int csum_ok = 0, r;

	if (m->nb_segs == 1)
		len = m->data_len - DP_ETH_HLEN;
	else if (m->data_len >= DP_ETH_HLEN + 60 + 60)
		len = m->pkt_len - DP_ETH_HLEN;
	else {
		dp_drop(w, m, DP_DROP_IP_SHORT);
		return;
	}
	if (w->rx_csum_offload) {
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

		if (w->rx_csum_offload) {
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

void dp_worker_input(struct dp_worker *w, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh;

	w->st->rx_bytes += m->pkt_len;
	if (m->data_len < DP_ETH_HLEN) {
		dp_drop(w, m, DP_DROP_ETH_SHORT);
		return;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (!rte_is_same_ether_addr(&eh->dst_addr, &w->mac) &&
	    !rte_is_broadcast_ether_addr(&eh->dst_addr)) {
		dp_drop(w, m, DP_DROP_ETH_DST);
		return;
	}
	switch (rte_be_to_cpu_16(eh->ether_type)) {
	case DP_ETHERTYPE_IPV4:
		ipv4_input(w, m, eh);
		return;
	case DP_ETHERTYPE_ARP:
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
	if (cfg->on_start && cfg->on_start(w, cfg->app_arg) != 0)
		return -1;
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
	int busy;

	w->now_tsc = start;
	w->now_ms = start / w->tsc_per_ms;
	n = rte_eth_rx_burst(w->port, w->queue, pkts, DP_RX_BURST);
	if (n)
		w->st->io_tsc += rte_rdtsc() - start;
	w->st->rx_pkts += n;
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		dp_worker_input(w, pkts[i]);
	}
	tcp_dispatch_events(w->tcp);
	if (cfg->on_poll)
		cfg->on_poll(w, cfg->app_arg);
	tcp_timers(w->tcp);
	if (w->now_ms - w->last_arp_ms >= 100) {
		w->last_arp_ms = w->now_ms;
		dp_arp_timer(w);
	}
	tcp_dispatch_events(w->tcp);
	tcp_flush_output(w->tcp);
	dp_tx_flush(w);
	end = rte_rdtsc();
	busy = n || w->st->tx_pkts != tx_before;
	if (busy) {
		w->st->busy_tsc += end - start;
		w->st->busy_polls++;
	} else {
		w->st->idle_tsc += end - start;
		w->st->idle_polls++;
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
	for (unsigned i = 0; i < DP_ARP_SIZE; i++) {
		for (unsigned k = 0; k < w->arp[i].nhold; k++)
			rte_pktmbuf_free(w->arp[i].hold[k]);
		w->arp[i].nhold = 0;
	}
}

void dp_worker_loop(struct dp_worker *w)
{
	if (dp_worker_begin(w) != 0)
		return;
	while (!*w->cfg->quit)
		(void)dp_worker_pass(w);
	dp_worker_end(w);
}
