/*
 * Seeded fault injector (tests only; this kernel has no netem), wrapped around
 * the port as DPDK ethdev RX/TX callbacks on each queue. It exists only when a
 * fault spec is configured: dp_fault_install() adds no callback otherwise, so
 * rte_eth_rx_burst / rte_eth_tx_burst do no extra work and the worker's
 * per-packet path carries no test hook.
 *
 * Rates are per mille. Drop frees the packet (drop reason FAULT). Duplicate
 * sends an indirect clone just before the packet (FAULT_DUP). Reorder holds
 * one packet back and releases it after the next packet, or after a few polls
 * of the queue without one (FAULT_REORDER). Corrupt flips one bit in the first
 * segment (the headers) so the bytes a retransmission will reuse are never
 * touched (FAULT_CORRUPT); on TX it therefore needs checksums computed in
 * software (the port layer disables TX checksum offload when TX faults are
 * configured), on RX it clears the checksum status the PMD already set, so
 * the stack verifies that packet in software. Counters go to the dp_stats of the worker that owns the queue.
 *
 * Delay (RX only): every received packet waits delay=MS milliseconds in a
 * FIFO before the worker sees it, adding MS to each round trip through the
 * port, as a long path would (FAULT_DELAYED; a packet that finds the FIFO
 * full is dropped as FAULT). Released packets go where the burst has room, so
 * a long FIFO drains at up to max_pkts per poll; they hold mbufs of the
 * queue's pool meanwhile, which must be sized for bandwidth x delay.
 *
 * RX: the callback rewrites the received burst in place and may return up to
 * max_pkts packets, so duplicates and released packets fit where there is
 * room (a full burst still gets drops, holds and corruption). RX callbacks run
 * on empty polls too (rte_eth_rx_burst calls them whatever the PMD returned),
 * which is what releases a held packet when traffic stops.
 *
 * TX: a TX callback can neither grow the burst nor shrink it safely. The
 * caller owns pkts[sent..n) after rte_eth_tx_burst returns `sent` and retries
 * or frees them; a callback that returned fewer packets than it was given
 * would leave that tail pointing at packets it freed or already sent. So the
 * TX callback keeps the count at exactly n:
 *   - a dropped or held packet's slot is taken by a filler frame (60 bytes,
 *     the packet's own MAC addresses, ethertype 0x88B5 "local experimental",
 *     which the receiver discards): the wire loses the packet, the caller's
 *     accounting stays exact. Fillers are removed again where the burst has
 *     extra packets to cover the slot. No filler mbuf: no drop, no hold;
 *   - extra packets (duplicates, a released held packet) make the rewritten
 *     sequence longer than n: the callback transmits the first (len - n)
 *     itself through the PMD (q->xmit, rte_eth_tx_burst, with the per-queue
 *     reentrancy guard q->in_xmit set so the nested call passes straight
 *     through), then returns the last n in pkts for the PMD: wire order is the
 *     rewritten order. What the PMD refuses of its own part is freed as
 *     TX_FULL and counted in tx_pkts/tx_bytes only when sent;
 *   - a held TX packet with no later TX traffic is released by the same
 *     queue's RX callback after a few polls (installed for that purpose even
 *     without RX faults), through the same guarded transmit.
 * This relies on each RX/TX queue pair being polled by one thread (the worker
 * that owns it), as dp_create sets up.
 */
#ifndef ST_DATAPLANE_FAULT_H
#define ST_DATAPLANE_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/stats.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_eth_rxtx_callback;

/* Bursts longer than this pass through untouched. */
#define DP_FAULT_MAX_BURST 256
/* Packets a delay line holds at most per queue (about 1 Gbit/s for 150 ms at MTU 1500). */
#define DP_FAULT_DELAY_CAP 16384
#define DP_FAULT_DELAY_MAX_MS 10000
/* A held packet is released after this many polls of its queue without a later packet. */
#define DP_FAULT_HOLD_POLLS 4
#define DP_FAULT_FILLER_ETHERTYPE 0x88b5
#define DP_FAULT_FILLER_LEN 60

struct dp_fault_cfg {
	uint16_t drop_pm, dup_pm, reorder_pm, corrupt_pm;
	uint32_t delay_ms; /* RX only */
	uint64_t seed;
};

/* A FIFO of received packets and the TSC at which each is due. */
struct dp_fault_delay {
	struct rte_mbuf **m;
	uint64_t *due;
	uint32_t cap, head, n;
	uint64_t cycles; /* delay_ms in TSC cycles */
};

/* One direction of one queue. */
struct dp_fault {
	struct dp_fault_cfg cfg;
	uint64_t rng;
	struct rte_mbuf *held;
	unsigned held_passes;
};

typedef uint16_t (*dp_fault_xmit_fn)(uint16_t port, uint16_t queue, struct rte_mbuf **pkts,
				     uint16_t n);

/* Both directions of one RX/TX queue pair: the callbacks' user_param. */
struct dp_fault_queue {
	struct dp_fault rx, tx;
	struct dp_stats *st;       /* the owning worker's counters */
	struct rte_mempool *pool;  /* clones and filler frames */
	dp_fault_xmit_fn xmit;     /* the callback's own transmissions (rte_eth_tx_burst) */
	uint8_t in_xmit;           /* reentrancy guard around xmit */
	uint16_t port, queue;
	struct dp_fault_delay delay; /* RX delay line; m == NULL when there is none */
	const struct rte_eth_rxtx_callback *rx_cb, *tx_cb;
};

/* "drop=20,dup=10,reorder=10,corrupt=5,delay=50,seed=7"; ST_ERR_INVALID_ARGUMENT on junk. */
int dp_fault_parse(const char *s, struct dp_fault_cfg *out);
/*
 * The spec in environment variable `var` (e.g. SSHTERM_TEST_FAULT_RX): unset or
 * empty gives an inactive configuration. ST_ERR_INVALID_ARGUMENT on a bad spec.
 */
int dp_fault_getenv(const char *var, struct dp_fault_cfg *out);
/* "drop=20,dup=10,reorder=0,corrupt=0,delay=0,seed=7", or "none" when inactive. */
void dp_fault_format(const struct dp_fault_cfg *c, char *buf, size_t len);
static inline int dp_fault_active(const struct dp_fault_cfg *c)
{
	return c->drop_pm || c->dup_pm || c->reorder_pm || c->corrupt_pm || c->delay_ms;
}
void dp_fault_init(struct dp_fault *f, const struct dp_fault_cfg *cfg, unsigned salt);
/* One pseudo-random draw 0..999 (xorshift64*; exposed for tests). */
unsigned dp_fault_draw(struct dp_fault *f);

/*
 * Sets up one queue pair's state: RX stream salted 2*queue, TX 2*queue+1,
 * xmit = rte_eth_tx_burst (tests may replace it). Installs nothing.
 */
void dp_fault_queue_init(struct dp_fault_queue *q, const struct dp_fault_cfg *rx,
			 const struct dp_fault_cfg *tx, uint16_t port, uint16_t queue,
			 struct dp_stats *st, struct rte_mempool *pool);
/* The callbacks (rte_rx_callback_fn / rte_tx_callback_fn); arg is a struct dp_fault_queue. */
uint16_t dp_fault_rx_cb(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t n,
			uint16_t max_pkts, void *arg);
uint16_t dp_fault_tx_cb(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t n,
			void *arg);
/*
 * Gives q an RX delay line of cap packets for rx->delay_ms (tsc_hz: cycles per
 * second). ST_ERR_ALLOC. dp_fault_queue_release frees it.
 */
int dp_fault_delay_setup(struct dp_fault_queue *q, uint32_t cap, uint64_t tsc_hz);
/* The RX delay line on one burst at TSC now: see fault.h's header comment. */
uint16_t dp_fault_delay_run(struct dp_fault_queue *q, struct rte_mbuf *pkts[], uint16_t n,
			    uint16_t max_pkts, uint64_t now);
/* Frees the packets held back in both directions and the delay line with its packets. */
void dp_fault_queue_release(struct dp_fault_queue *q);

struct dp_fault_port;
/*
 * After the port's queues are set up: when rx or tx is active, allocates the
 * state of queues 0..nb_queues-1 (counters st[q], mbufs from pool[q]), adds
 * the callbacks and prints one warning line to stderr; *out is then the
 * wrapper. When neither is active nothing is installed and *out is NULL.
 * Returns ST_OK, ST_ERR_ALLOC, or ST_ERR_SYSTEM when ethdev refuses a
 * callback (then nothing stays installed).
 */
int dp_fault_install(uint16_t port, uint16_t nb_queues, const struct dp_fault_cfg *rx,
		     const struct dp_fault_cfg *tx, struct dp_stats *const *st,
		     struct rte_mempool *const *pool, struct dp_fault_port **out);
/* Removes the callbacks and frees the state and held packets; the port must be stopped. NULL: no-op. */
void dp_fault_uninstall(struct dp_fault_port *fp);

#endif
