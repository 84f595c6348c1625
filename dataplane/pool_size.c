/*
 * Sizing the port's mbuf pool (pool_size.h), the way DPDK's l3fwd computes
 * NB_MBUF: every mbuf that can sit somewhere for good is counted once.
 *
 *   fixed  = workers x (rxd                   filled RX descriptors
 *                       + txd                 sent, not yet freed by the PMD
 *                       + 1.5 x cache         the per-lcore cache's flush threshold
 *                       + DP_RX_BURST + DP_TX_BUF      one burst in, one buffered out
 *                       + DP_ARP_SIZE x DP_ARP_HOLD    packets waiting for ARP / ND
 *                       + inbox and handoff buffers    (more than one worker only)
 *                       + vtap spare)
 *   per_sessions = workers x sessions x DP_POOL_MBUFS_PER_SESSION
 *   growth       = workers x grow_window / mss          one window grown to its cap
 *   total        = fixed + per_sessions + growth, within DP_POOL_MIN..DP_POOL_MAX
 */
#include "dataplane/pool_size.h"

#include "dataplane/dp.h"
#include "dataplane/mq.h"

uint32_t dp_pool_size(struct dp_pool_parts *p)
{
	uint64_t w = p->workers ? p->workers : 1, per_worker, t;
	uint32_t mss = p->mss ? p->mss : 1460;

	per_worker = (uint64_t)p->rxd + p->txd + DP_POOL_CACHE * 3 / 2 + DP_RX_BURST + DP_TX_BUF +
		     (uint64_t)DP_ARP_SIZE * DP_ARP_HOLD + p->vtap_spare;
	/* Segments for another worker wait in our handoff buffers, then in its inbox. */
	if (p->all_workers > 1)
		per_worker += DP_HANDOFF_RING + (uint64_t)(p->all_workers - 1) * DP_HANDOFF_BURST;
	p->fixed = w * per_worker;
	p->per_sessions = w * p->sessions * DP_POOL_MBUFS_PER_SESSION;
	p->growth = w * ((p->grow_window + mss - 1) / mss);
	t = p->fixed + p->per_sessions + p->growth;
	p->total = (uint32_t)(t < DP_POOL_MIN ? DP_POOL_MIN : t > DP_POOL_MAX ? DP_POOL_MAX : t);
	return p->total;
}

uint32_t dp_pool_rx_share(uint32_t size, uint64_t fixed, uint32_t workers)
{
	uint64_t w = workers ? workers : 1, part = size / w, left;

	left = size > fixed ? (size - fixed) / w : 0;
	/* An operator's pool below the fixed part still leaves each worker something. */
	return (uint32_t)(left > part / 8 ? left : part / 8);
}
