/*
 * Seeded fault injector for the port layer (tests only; this kernel has no
 * netem). Applied to each RX burst after rte_eth_rx_burst and to each TX
 * burst before rte_eth_tx_burst. Rates are per mille. Reordering holds one
 * packet back and releases it after the next packet (or after a few empty
 * passes). Corruption flips one byte in the first segment (the headers) so
 * the bytes a retransmission will reuse are never touched; on TX it therefore
 * needs checksums computed in software (the port layer disables TX checksum
 * offload when TX corruption is configured).
 */
#ifndef ST_DATAPLANE_FAULT_H
#define ST_DATAPLANE_FAULT_H

#include <stdint.h>

#include "dataplane/stats.h"

struct rte_mbuf;
struct rte_mempool;

struct dp_fault_cfg {
	uint16_t drop_pm, dup_pm, reorder_pm, corrupt_pm;
	uint64_t seed;
};

struct dp_fault {
	struct dp_fault_cfg cfg;
	uint64_t rng;
	struct rte_mbuf *held;
	unsigned held_passes;
	struct rte_mempool *clone_pool;
};

/* "drop=20,dup=10,reorder=10,corrupt=5,seed=7"; ST_ERR_INVALID_ARGUMENT on junk. */
int dp_fault_parse(const char *s, struct dp_fault_cfg *out);
static inline int dp_fault_active(const struct dp_fault_cfg *c)
{
	return c->drop_pm || c->dup_pm || c->reorder_pm || c->corrupt_pm;
}
void dp_fault_init(struct dp_fault *f, const struct dp_fault_cfg *cfg, unsigned salt,
		   struct rte_mempool *clone_pool);
/* One pseudo-random draw 0..999 (xorshift64*; exposed for tests). */
unsigned dp_fault_draw(struct dp_fault *f);
/*
 * Rewrites pkts[0..n) in place (the array has room for cap entries); returns
 * the new count. Dropped packets are freed and counted as DP_DROP_FAULT.
 */
uint16_t dp_fault_apply(struct dp_fault *f, struct rte_mbuf **pkts, uint16_t n, uint16_t cap,
			struct dp_stats *st);
void dp_fault_release(struct dp_fault *f);

#endif
