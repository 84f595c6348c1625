/*
 * The size of the port's mbuf pool, one per NUMA socket, as DPDK's l3fwd
 * sizes NB_MBUF: what the rings and caches hold for good, plus a budget per
 * session slot, plus room for a few windows to grow, bounded by a floor and
 * a ceiling. And each worker's share of it for TCP receive queues
 * (dataplane/tcp/tcp_rcvmem.c). Pure arithmetic, no EAL: set-up time only.
 */
#ifndef ST_DATAPLANE_POOL_SIZE_H
#define ST_DATAPLANE_POOL_SIZE_H

#include <stdint.h>

/*
 * Mbufs budgeted per session slot: what an idle-but-reading session holds
 * at one time. One received segment on its way through TCP's queue and the
 * record layer's chain, one small sealed reply (an echo, a window adjust)
 * in TCP's send queue until acknowledged, one for its backend's side of the
 * same (the connector's copy). Bulk transfer beyond it is paid for by the
 * growth room and by the sessions that hold nothing at the moment.
 */
#define DP_POOL_MBUFS_PER_SESSION 3u
#define DP_POOL_MIN 16383u      /* mbufs per socket at least (2^14 - 1, ~37 MiB) */
#define DP_POOL_MAX 16777215u   /* and at most (2^24 - 1, ~37 GiB) */
#define DP_POOL_CACHE 256u      /* per-lcore cache of the pool */
#define DP_POOL_LEGACY 65535u   /* programs that budget no sessions (dp_cfg.pool_sessions 0) */
#define DP_RXD_DEFAULT 1024u    /* RX / TX descriptors per queue unless dp_cfg says */
#define DP_TXD_DEFAULT 1024u

/* What one socket's pool is made of (inputs, and the parts computed). */
struct dp_pool_parts {
	/* inputs */
	uint32_t workers;      /* workers (queue pairs) on this socket */
	uint32_t all_workers;  /* workers of the port (inboxes exist only when > 1) */
	uint32_t rxd, txd;     /* descriptors per RX / TX queue */
	uint32_t sessions;     /* session slots per worker (sshterm -m); 0: none budgeted */
	uint32_t grow_window;  /* bytes one connection's window may grow to (TCPReceiveWindowMax) */
	uint32_t mss;          /* payload bytes per received mbuf, at best */
	uint32_t vtap_spare;   /* mbufs a kernel TAP queue keeps for its next read */
	/* outputs (dp_pool_size) */
	uint64_t fixed;        /* rings, bursts, caches, ARP / ND holds, inboxes */
	uint64_t per_sessions; /* sessions x workers x DP_POOL_MBUFS_PER_SESSION */
	uint64_t growth;       /* one grown window per worker */
	uint32_t total;        /* the sum, within DP_POOL_MIN..DP_POOL_MAX */
};

/* Fills the outputs of p from its inputs and returns p->total. */
uint32_t dp_pool_size(struct dp_pool_parts *p);

/*
 * Mbufs of a pool of `size` one of `workers` workers may let its TCP
 * receive queues hold: what the fixed part leaves, split evenly (each
 * worker accounts for its own connections only, without touching the
 * shared pool). At least 1/8 of the worker's part of the pool.
 */
uint32_t dp_pool_rx_share(uint32_t size, uint64_t fixed, uint32_t workers);

#endif
