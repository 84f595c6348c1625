/*
 * The neighbor cache, both families, and ARP: answer requests for our
 * address, resolve next hops and cache them per worker, holding a few
 * packets per unresolved entry. The cache is a small open-addressing table
 * (linear probing, backward-shift deletion) keyed by struct dp_ip; no
 * allocation after start-up. IPv6 entries are the same entries with the
 * same aging: only the question differs (a Neighbor Solicitation from
 * dataplane/nd.c, multicast to the solicited-node group where ARP
 * broadcasts, unicast for a refresh), and so does what answers it (an NA).
 *
 * Sharing: what one worker learns from an ARP packet it posts to every other
 * worker's inbox (dataplane/mq.h), so a reply that lands on one queue serves
 * all workers. The newer confirmation wins when two posts disagree.
 *
 * Aging, with reach = dp_cfg.arp_reachable_ms (default 30 s, Linux's
 * base_reachable_time), age = time since the entry was last confirmed, and
 * "in use" = a packet went through it within the last reach:
 *   age < refresh point (3/4 reach, staggered by worker)   used as is
 *   from the refresh point, in use                         still used; a request
 *       every ARP_RETRY_MS, the first ARP_PROBES unicast to the cached MAC,
 *       then broadcast; any reply (on any worker) confirms it again
 *   age >= reach, not in use                               deleted
 *   age >= reach + ARP_MAX_TRIES * ARP_RETRY_MS, in use    the refresh went
 *       unanswered: the entry turns unresolved, so packets are held and a
 *       broadcast request asks again (a neighbor that moved to a new MAC is
 *       found; a dead one is not sent to for ever)
 * Unresolved entries drop what they hold after ARP_MAX_TRIES requests and are
 * deleted.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/mq.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"

#define ARP_RETRY_MS 1000
#define ARP_MAX_TRIES 5 /* requests before held packets are dropped */
#define ARP_PROBES 3    /* unicast refresh requests before they turn broadcast */
#define ARP_STAGGER_MS 100 /* refresh point offset per worker: the first answer serves all */

enum { ARP_FREE = 0, ARP_INCOMPLETE = 1, ARP_RESOLVED = 2 };

_Static_assert((DP_ARP_SIZE & (DP_ARP_SIZE - 1)) == 0, "DP_ARP_SIZE must be a power of two");

static unsigned arp_home(const struct dp_ip *ip)
{
	uint32_t k = ip->w[0] ^ ip->w[1] ^ ip->w[2] ^ ip->w[3];

	return (k * 2654435761u) >> (32 - __builtin_ctz(DP_ARP_SIZE));
}

static uint32_t arp_reach(const struct dp_worker *w)
{
	return w->arp_reach_ms ? w->arp_reach_ms : DP_ARP_REACHABLE_MS;
}

static struct dp_arp_ent *arp_find(struct dp_worker *w, const struct dp_ip *ip, int create)
{
	unsigned h = arp_home(ip), i;

	for (i = 0; i < DP_ARP_SIZE; i++) {
		struct dp_arp_ent *e = &w->arp[(h + i) & (DP_ARP_SIZE - 1)];

		if (e->state && dp_ip_eq(&e->ip, ip))
			return e;
		if (!e->state) {
			if (!create)
				return NULL;
			memset(e, 0, sizeof(*e));
			e->ip = *ip;
			e->state = ARP_INCOMPLETE;
			return e;
		}
	}
	return NULL;
}

/* Frees slot i (nothing held) and moves later entries of its probe run back into the gap. */
static void arp_delete(struct dp_worker *w, unsigned i)
{
	const unsigned mask = DP_ARP_SIZE - 1;
	unsigned j = i;

	for (unsigned n = 0; n < DP_ARP_SIZE; n++) {
		unsigned k;

		j = (j + 1) & mask;
		if (w->arp[j].state == ARP_FREE)
			break;
		k = arp_home(&w->arp[j].ip);
		/* Entry j may fill the gap at i unless its home lies cyclically in (i, j]. */
		if (((j - k) & mask) >= ((j - i) & mask)) {
			w->arp[i] = w->arp[j];
			i = j;
		}
	}
	memset(&w->arp[i], 0, sizeof(w->arp[i]));
}

uint32_t dp_next_hop(const struct dp_worker *w, uint32_t dst)
{
	if (((dst ^ w->ip) & w->mask) == 0)
		return dst;
	return w->gateway;
}

struct dp_ip dp_next_hop_ip(const struct dp_worker *w, const struct dp_ip *dst)
{
	static const struct dp_ip none;

	if (dp_ip_is_v4(dst))
		return w->ip ? dp_ip_v4(dp_next_hop(w, dp_ip_v4_of(dst))) : none;
	if (dp_ip_is_any(&w->ip6))
		return none;
	/* On-link: our prefix, and link-local addresses on the one link we have. */
	if (dp_ip6_is_link_local(dst) || dp_ip_same_prefix(dst, &w->ip6, w->prefix6))
		return *dst;
	return w->gw6;
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

/*
 * A request for e->ip: broadcast (IPv6: a Neighbor Solicitation to the
 * solicited-node group), or unicast to the cached MAC (a refresh probe).
 */
static void arp_request(struct dp_worker *w, struct dp_arp_ent *e, int unicast)
{
	static const uint8_t zero[6];
	struct rte_ether_addr bcast = {.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

	if (e->tries < 255)
		e->tries++;
	e->req_ms = w->now_ms;
	if (dp_ip_is_v4(&e->ip))
		arp_send(w, DP_ARP_OP_REQUEST, unicast ? &e->mac : &bcast, zero,
			 dp_ip_v4_of(&e->ip));
	else
		dp_nd_solicit(w, &e->ip, unicast ? &e->mac : NULL);
}

static unsigned unresolved_reason(const struct dp_ip *ip)
{
	return dp_ip_is_v4(ip) ? DP_DROP_ARP_UNRESOLVED : DP_DROP_ND_UNRESOLVED;
}

/* Resolved now: what waited goes out. */
static void arp_release_held(struct dp_worker *w, struct dp_arp_ent *e)
{
	for (unsigned i = 0; i < e->nhold; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(e->hold[i], struct rte_ether_hdr *);

		eh->dst_addr = e->mac;
		dp_tx(w, e->hold[i]);
	}
	e->nhold = 0;
}

void dp_neigh_learn(struct dp_worker *w, const struct dp_ip *ip, const struct rte_ether_addr *mac)
{
	struct dp_arp_ent *e = arp_find(w, ip, 1);
	int changed;

	if (!e)
		return;
	changed = e->state != ARP_RESOLVED || !rte_is_same_ether_addr(&e->mac, mac);
	e->mac = *mac;
	e->state = ARP_RESOLVED;
	e->tries = 0;
	e->req_ms = 0;
	e->confirmed_ms = w->now_ms;
	w->st->ctr[dp_ip_is_v4(ip) ? DP_CTR_ARP_LEARNED : DP_CTR_ND_LEARNED]++;
	arp_release_held(w, e);
	/* News for everyone; a refresh at most once per ARP_RETRY_MS (a chatty neighbor). */
	if (changed || w->now_ms - e->shared_ms >= ARP_RETRY_MS) {
		e->shared_ms = w->now_ms;
		dp_mq_post_neigh(w, ip, mac, w->now_ms);
	}
}

void dp_arp_learn(struct dp_worker *w, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct dp_ip a = dp_ip_v4(ip);

	dp_neigh_learn(w, &a, mac);
}

int dp_neigh_known(struct dp_worker *w, const struct dp_ip *ip)
{
	const struct dp_arp_ent *e = arp_find(w, ip, 0);

	return e ? e->state : 0;
}

void dp_arp_apply(struct dp_worker *w, uint32_t ip, const struct rte_ether_addr *mac,
		  uint64_t confirmed_ms)
{
	struct dp_ip a = dp_ip_v4(ip);

	dp_neigh_apply(w, &a, mac, confirmed_ms);
}

void dp_neigh_apply(struct dp_worker *w, const struct dp_ip *ip, const struct rte_ether_addr *mac,
		    uint64_t confirmed_ms)
{
	struct dp_arp_ent *e = arp_find(w, ip, 1);

	if (!e)
		return;
	/* The poster's clock read may be a little ahead of ours (its pass started later). */
	if (confirmed_ms > w->now_ms)
		confirmed_ms = w->now_ms;
	/* An older word than what we have (posts from two workers crossing) changes nothing. */
	if (e->state == ARP_RESOLVED && e->confirmed_ms >= confirmed_ms)
		return;
	e->mac = *mac;
	e->state = ARP_RESOLVED;
	e->tries = 0;
	e->req_ms = 0;
	e->confirmed_ms = confirmed_ms;
	e->shared_ms = confirmed_ms; /* the poster told the others */
	w->st->ctr[DP_CTR_ARP_SHARED_IN]++;
	arp_release_held(w, e);
}

const struct rte_ether_addr *dp_arp_lookup(struct dp_worker *w, uint32_t ip)
{
	struct dp_ip a = dp_ip_v4(ip);

	return dp_neigh_lookup(w, &a);
}

const struct rte_ether_addr *dp_neigh_lookup(struct dp_worker *w, const struct dp_ip *ip)
{
	struct dp_arp_ent *e = arp_find(w, ip, 1);

	if (!e)
		return NULL;
	if (e->state == ARP_RESOLVED) {
		e->used_ms = w->now_ms;
		return &e->mac;
	}
	if (e->req_ms == 0 || w->now_ms - e->req_ms >= ARP_RETRY_MS)
		arp_request(w, e, 0);
	return NULL;
}

void dp_ip_output(struct dp_worker *w, struct rte_mbuf *m, uint32_t nexthop)
{
	struct dp_ip a = dp_ip_v4(nexthop);

	dp_neigh_output(w, m, &a);
}

void dp_neigh_output(struct dp_worker *w, struct rte_mbuf *m, const struct dp_ip *nexthop)
{
	struct dp_arp_ent *e;

	if (dp_ip_is_any(nexthop)) {
		dp_drop(w, m, unresolved_reason(nexthop));
		return;
	}
	e = arp_find(w, nexthop, 1);
	if (!e) {
		dp_drop(w, m, unresolved_reason(nexthop));
		return;
	}
	if (e->state == ARP_RESOLVED) {
		e->used_ms = w->now_ms;
		rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = e->mac;
		dp_tx(w, m);
		return;
	}
	if (e->nhold == DP_ARP_HOLD) {
		dp_drop(w, m, unresolved_reason(nexthop));
		return;
	}
	e->hold[e->nhold++] = m;
	if (e->req_ms == 0 || w->now_ms - e->req_ms >= ARP_RETRY_MS)
		arp_request(w, e, 0);
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
	{
		struct dp_ip spa = dp_ip_v4(a.spa);

		if (a.tpa == w->ip || arp_find(w, &spa, 0))
			dp_neigh_learn(w, &spa, &sha);
	}
	if (a.tpa != w->ip) {
		dp_drop(w, m, DP_DROP_ARP_NOT_US);
		return;
	}
	if (a.op == DP_ARP_OP_REQUEST)
		arp_send(w, DP_ARP_OP_REPLY, &sha, a.sha, a.spa);
	rte_pktmbuf_free(m);
}

/* One entry's timer step; returns 1 when it deleted the entry (slot i holds another now). */
static int arp_age(struct dp_worker *w, unsigned i)
{
	struct dp_arp_ent *e = &w->arp[i];
	uint64_t now = w->now_ms, reach = arp_reach(w), age, refresh_at;
	int in_use;

	if (e->state == ARP_INCOMPLETE) {
		if (w->now_ms - e->req_ms < ARP_RETRY_MS)
			return 0;
		if (e->nhold && e->tries < ARP_MAX_TRIES) {
			arp_request(w, e, 0);
			return 0;
		}
		/* unresolved (or nothing waits any more): drop what waits; the next send starts over */
		if (e->nhold == 0 && w->now_ms - e->req_ms < (uint64_t)ARP_MAX_TRIES * ARP_RETRY_MS)
			return 0;
		for (unsigned k = 0; k < e->nhold; k++)
			dp_drop(w, e->hold[k], unresolved_reason(&e->ip));
		e->nhold = 0;
		arp_delete(w, i);
		return 1;
	}
	age = now > e->confirmed_ms ? now - e->confirmed_ms : 0;
	in_use = e->used_ms != 0 && now - e->used_ms < reach;
	refresh_at = reach - reach / 4 + (uint64_t)w->id * ARP_STAGGER_MS % (reach / 8 + 1);
	if (age < refresh_at)
		return 0;
	if (!in_use) {
		if (age < reach)
			return 0;
		w->st->ctr[DP_CTR_ARP_EXPIRED]++;
		arp_delete(w, i);
		return 1;
	}
	if (age >= reach + (uint64_t)ARP_MAX_TRIES * ARP_RETRY_MS) {
		/* The neighbor did not answer: stop sending to that MAC, ask the link again. */
		w->st->ctr[DP_CTR_ARP_EXPIRED]++;
		e->state = ARP_INCOMPLETE;
		e->tries = 0;
		arp_request(w, e, 0);
		return 0;
	}
	if (e->req_ms == 0 || now - e->req_ms >= ARP_RETRY_MS) {
		w->st->ctr[DP_CTR_ARP_REFRESH]++;
		arp_request(w, e, e->tries < ARP_PROBES);
	}
	return 0;
}

void dp_arp_timer(struct dp_worker *w)
{
	/* A deletion pulls a later entry into slot i: look at i again (at most DP_ARP_SIZE times). */
	for (unsigned i = 0, deleted = 0; i < DP_ARP_SIZE;) {
		if (w->arp[i].state != ARP_FREE && deleted < DP_ARP_SIZE && arp_age(w, i)) {
			deleted++;
			continue;
		}
		i++;
	}
}
