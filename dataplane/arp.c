/*
 * ARP: answer requests for our address, resolve next hops and cache them per
 * worker, holding a few packets per unresolved entry. The cache is a small
 * open-addressing table; no allocation after start-up.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/proto.h"

#define ARP_RETRY_MS 1000
#define ARP_MAX_TRIES 5 /* requests before held packets are dropped */

static struct dp_arp_ent *arp_find(struct dp_worker *w, uint32_t ip, int create)
{
	unsigned h = (ip * 2654435761u) >> 24, i;

	for (i = 0; i < DP_ARP_SIZE; i++) {
		struct dp_arp_ent *e = &w->arp[(h + i) & (DP_ARP_SIZE - 1)];

		if (e->state && e->ip == ip)
			return e;
		if (!e->state) {
			if (!create)
				return NULL;
			memset(e, 0, sizeof(*e));
			e->ip = ip;
			e->state = 1;
			return e;
		}
	}
	return NULL;
}

uint32_t dp_next_hop(const struct dp_worker *w, uint32_t dst)
{
	if (((dst ^ w->ip) & w->mask) == 0)
		return dst;
	return w->gateway;
}

static void arp_send(struct dp_worker *w, uint16_t op, const struct rte_ether_addr *dst_mac,
		     const uint8_t tha[6], uint32_t tpa)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	struct rte_ether_hdr *eh;
	uint8_t *p;

	if (!m) {
		w->st->drop[DP_DROP_NO_MBUF]++;
		return;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, DP_ETH_HLEN + DP_ARP_LEN);
	eh = (struct rte_ether_hdr *)p;
	eh->dst_addr = *dst_mac;
	eh->src_addr = w->mac;
	eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_ARP);
	dp_arp_build(p + DP_ETH_HLEN, op, w->mac.addr_bytes, w->ip, tha, tpa);
	w->st->ctr[op == DP_ARP_OP_REPLY ? DP_CTR_ARP_REPLIES_SENT : DP_CTR_ARP_REQUESTS_SENT]++;
	dp_tx(w, m);
}

static void arp_request(struct dp_worker *w, struct dp_arp_ent *e)
{
	if (e->tries < 255)
		e->tries++;
	static const uint8_t zero[6];
	struct rte_ether_addr bcast = {.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

	e->req_ms = w->now_ms;
	arp_send(w, DP_ARP_OP_REQUEST, &bcast, zero, e->ip);
}

void dp_arp_learn(struct dp_worker *w, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct dp_arp_ent *e = arp_find(w, ip, 1);

	if (!e)
		return;
	e->mac = *mac;
	e->state = 2;
	e->tries = 0;
	e->req_ms = w->now_ms;
	w->st->ctr[DP_CTR_ARP_LEARNED]++;
	for (unsigned i = 0; i < e->nhold; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(e->hold[i], struct rte_ether_hdr *);

		eh->dst_addr = *mac;
		dp_tx(w, e->hold[i]);
	}
	e->nhold = 0;
}

const struct rte_ether_addr *dp_arp_lookup(struct dp_worker *w, uint32_t ip)
{
	struct dp_arp_ent *e = arp_find(w, ip, 1);

	if (!e)
		return NULL;
	if (e->state == 2)
		return &e->mac;
	if (e->req_ms == 0 || w->now_ms - e->req_ms >= ARP_RETRY_MS)
		arp_request(w, e);
	return NULL;
}

void dp_ip_output(struct dp_worker *w, struct rte_mbuf *m, uint32_t nexthop)
{
	struct dp_arp_ent *e;

	if (nexthop == 0) {
		dp_drop(w, m, DP_DROP_ARP_UNRESOLVED);
		return;
	}
	e = arp_find(w, nexthop, 1);
	if (!e) {
		dp_drop(w, m, DP_DROP_ARP_UNRESOLVED);
		return;
	}
	if (e->state == 2) {
		rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = e->mac;
		dp_tx(w, m);
		return;
	}
	if (e->nhold == DP_ARP_HOLD) {
		dp_drop(w, m, DP_DROP_ARP_UNRESOLVED);
		return;
	}
	e->hold[e->nhold++] = m;
	if (e->req_ms == 0 || w->now_ms - e->req_ms >= ARP_RETRY_MS)
		arp_request(w, e);
}

void dp_arp_input(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *arp, uint32_t len)
{
	struct dp_arp_info a;
	struct rte_ether_addr sha;
	int r = dp_arp_parse(arp, len, &a);

	if (r != DP_DROP_NONE) {
		dp_drop(w, m, (unsigned)r);
		return;
	}
	if (a.op != DP_ARP_OP_REQUEST && a.op != DP_ARP_OP_REPLY) {
		dp_drop(w, m, DP_DROP_ARP_OP);
		return;
	}
	memcpy(sha.addr_bytes, a.sha, 6);
	if (a.spa == 0 || rte_is_multicast_ether_addr(&sha) || rte_is_zero_ether_addr(&sha)) {
		dp_drop(w, m, DP_DROP_ARP_MALFORMED);
		return;
	}
	/* Refresh an entry we already track (RFC 826 merge), or learn when it targets us. */
	if (a.tpa == w->ip || arp_find(w, a.spa, 0))
		dp_arp_learn(w, a.spa, &sha);
	if (a.tpa != w->ip) {
		dp_drop(w, m, DP_DROP_ARP_NOT_US);
		return;
	}
	if (a.op == DP_ARP_OP_REQUEST)
		arp_send(w, DP_ARP_OP_REPLY, &sha, a.sha, a.spa);
	rte_pktmbuf_free(m);
}

void dp_arp_timer(struct dp_worker *w)
{
	for (unsigned i = 0; i < DP_ARP_SIZE; i++) {
		struct dp_arp_ent *e = &w->arp[i];

		if (e->state != 1)
			continue;
		if (!e->nhold || w->now_ms - e->req_ms < ARP_RETRY_MS)
			continue;
		if (e->tries >= ARP_MAX_TRIES) {
			/* unresolved: drop what waits; the next send starts over */
			for (unsigned k = 0; k < e->nhold; k++)
				dp_drop(w, e->hold[k], DP_DROP_ARP_UNRESOLVED);
			e->nhold = 0;
			e->tries = 0;
		} else {
			arp_request(w, e);
		}
	}
}
