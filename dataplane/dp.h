/*
 * The dataplane: EAL start-up, mbuf pools, port setup and poll-mode workers.
 *
 *   prog [EAL args] -- [own args]
 *
 *   n = dp_eal_init(argc, argv)        consumes the EAL args (returns how many)
 *   dp_create(&cfg, &dp)               pools (one per NUMA socket), the port
 *                                      (one RX/TX queue pair per lcore, at
 *                                      most DP_MAX_WORKERS; RSS with a
 *                                      symmetric key and a programmed
 *                                      redirection table when > 1 queue),
 *                                      per-worker contexts and TCP tables,
 *                                      the handoff / ARP inboxes (mq.h)
 *   dp_run(dp)                         runs a worker on every lcore, main
 *                                      included, until *cfg.quit is set
 *   dp_stats_total(dp, &sum) / dp_print_stats(dp, f)
 *   dp_destroy(dp)
 *
 * A worker loop pass: RX burst -> GRO (TCP/IPv4, when on) -> eth -> ARP / IPv4 ->
 * ICMP echo / TCP (segments another worker owns are handed to it), the
 * inboxes (ARP updates, segments handed to us), then TCP events to the application, application poll hook,
 * TCP output, timer wheel, deferred TX flush. No locks, no allocation, no
 * system calls in the loop (the application's hooks must follow the same rule).
 */
#ifndef ST_DATAPLANE_DP_H
#define ST_DATAPLANE_DP_H

#include <stdint.h>
#include <stdio.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/fault.h"
#include "dataplane/idle.h"
#include "dataplane/ipaddr.h"
#include "dataplane/stats.h"
#include "dataplane/timer.h"
#include "dataplane/tcp/tcp.h"

#define DP_MAX_WORKERS 16
#define DP_RX_BURST 32
#define DP_TX_BUF 64
#define DP_ARP_SIZE 256 /* power of two */
#define DP_ARP_HOLD 4
#define DP_ARP_REACHABLE_MS 30000 /* default dp_cfg.arp_reachable_ms (Linux's base_reachable_time) */
#define DP_HANDOFF_BURST 32       /* segments buffered per destination worker within a burst */
#define DP_MTU_DEFAULT 1500
#define DP_MTU_MIN 576
#define DP_MTU_MAX 9000

struct dp_worker;
struct dp_vtap_q;
struct dp_mq;

struct dp_cfg {
	uint16_t port_id;
	uint32_t ip;       /* host order; 0 = no IPv4 (then ip6 must be set) */
	uint8_t prefix_len;
	uint32_t gateway;  /* 0 = none */
	/* IPv6 (dataplane/nd.c): the address (:: = none), its prefix length, the gateway (:: = none). */
	struct dp_ip ip6;
	uint8_t prefix6;
	struct dp_ip gateway6;
	/* Duplicate address detection: how long the probe waits for an answer (0: 1000 ms; RetransTimer). */
	uint32_t dad_ms;
	uint32_t nb_mbufs; /* per socket */
	uint16_t rxd, txd;
	int no_offload;    /* 1: no offloads: every checksum in software, no TSO, no GRO/LRO */
	/*
	 * 1: software GRO on ports without LRO. Off by default: on net_memif it
	 * cut handshakes/s from 2,680 to 1,227 and bulk download from 6.6 to
	 * 1.1 Gbit/s in the same benchmark (scripts/bench-daemon.sh).
	 */
	int sw_gro;
	/*
	 * Port MTU, 576..9000; 0: 1500
	 * (test programs without an MTU option). tcp.mss follows it (MTU - 40).
	 * dp_create fails when the port cannot do it.
	 */
	uint16_t mtu;
	/*
	 * A kernel TAP interface with virtio-net headers as the port
	 * (dataplane/vtap.h) instead of ethdev port_id; NULL: port_id.
	 */
	const char *vtap_ifname;
	uint32_t idle_sleep_ms; /* WorkerIdle: sleep after this long without packets, 0 = poll */
	/*
	 * ARP: an entry is confirmed for this long (0: DP_ARP_REACHABLE_MS).
	 * Entries in use are refreshed before it runs out (dataplane/arp.c).
	 */
	uint32_t arp_reachable_ms;
	/*
	 * Tests only: fault injection on received / transmitted frames, installed
	 * as ethdev callbacks around the port when active (dataplane/fault.h).
	 */
	struct dp_fault_cfg rx_fault, tx_fault;
	struct tcp_cfg tcp;
	volatile int *quit;
	/* Application hooks, called on each worker's own lcore. */
	int (*on_start)(struct dp_worker *w, void *arg); /* listeners, connects */
	void (*on_poll)(struct dp_worker *w, void *arg); /* every pass */
	void (*on_stop)(struct dp_worker *w, void *arg);
	/* May the worker sleep now? 0 when work is queued for it (optional). */
	int (*can_sleep)(struct dp_worker *w, void *arg);
	/* Optional: cycles the calling thread spent in record crypto so far (dp_stats.crypto_tsc). */
	uint64_t (*crypto_cycles)(void);
	/* Optional: the same for the application's services (dp_stats.service_tsc). */
	uint64_t (*service_cycles)(void);
	void *app_arg;
};

/* One neighbor cache entry, either family: ARP for IPv4, Neighbor Discovery for IPv6. */
struct dp_arp_ent {
	struct dp_ip ip;
	uint8_t state; /* 0 free, 1 incomplete, 2 resolved */
	uint8_t nhold;
	uint8_t tries; /* requests sent since the entry was last confirmed */
	struct rte_ether_addr mac;
	uint64_t req_ms;       /* last request sent */
	uint64_t confirmed_ms; /* last learned from an ARP packet (here or on another worker) */
	uint64_t used_ms;      /* last packet sent through the entry */
	uint64_t shared_ms;    /* last posted to the other workers */
	struct rte_mbuf *hold[DP_ARP_HOLD];
};

struct dp_worker {
	/* Hot: touched for every packet. */
	struct rte_mempool *pool;
	struct dp_stats *st;
	struct tcp_worker *tcp;
	struct dp_vtap_q *vtap; /* the kernel TAP port's queue (dataplane/vtap.h), else NULL: ethdev */
	const struct dp_mq *mq; /* the port's flow-owner model and inboxes (dataplane/mq.h) */
	uint64_t now_tsc;
	uint64_t now_ms;
	uint32_t ip;
	uint32_t mask;
	uint16_t port;
	uint16_t queue;
	uint16_t tx_n;
	uint8_t id;
	uint8_t tx_csum_offload; /* port computes IPv4 + TCP checksums */
	uint8_t rx_csum_offload; /* port reports checksum status */
	uint8_t tso;             /* port segments TCP (RTE_ETH_TX_OFFLOAD_TCP_TSO) */
	uint8_t tso6;            /* ... over IPv6 too (net_tap's software GSO is IPv4 only) */
	uint8_t gro;             /* software GRO (librte_gro) on received TCP/IPv4 */
	/*
	 * Payload pieces (indirect mbufs) per transmitted packet, from the PMD's
	 * tx_desc_lim less the header mbuf; 0 means the built-in default.
	 * tx_pieces: a plain segment; tso_pieces: a whole TSO packet;
	 * tso_seg_pieces: each MSS-sized segment the port cuts out of one.
	 */
	uint16_t tx_pieces, tso_pieces, tso_seg_pieces;
	/* PMD quirks: bytes tso_segsz must leave free below the MTU (net_tap counts L2 in it),
	 * segments one TSO packet may be cut into (0: no limit) */
	uint16_t tso_mtu_slack, tso_max_segs;
	struct rte_ether_addr mac;
	struct rte_mbuf *tx[DP_TX_BUF];

	/* Cold: set up once or touched rarely. */
	uint64_t tsc_per_ms __rte_cache_aligned;
	uint32_t gateway;
	uint16_t nb_workers;
	uint16_t ip_id;
	const struct dp_cfg *cfg;
	struct dp_arp_ent arp[DP_ARP_SIZE];
	struct dp_wheel wheel;
	uint8_t rx_intr_conf; /* the port was configured with RX queue interrupts */
	uint16_t mtu;
	uint64_t last_arp_ms;
	uint32_t arp_reach_ms; /* dp_cfg.arp_reachable_ms; 0: DP_ARP_REACHABLE_MS */
	struct dp_idle idle;
	struct dp_stats_pub *pub; /* what other threads read of st (stats.h) */
	uint64_t last_pub_ms;
	/* IPv6 (dataplane/nd.c): :: when the port has none. */
	struct dp_ip ip6, ll6, gw6; /* configured, link-local (from the MAC), gateway */
	uint8_t prefix6;
	uint8_t dad_state; /* enum dp_dad_state: our ip6 is usable once DAD passed */
	uint64_t dad_until_ms;
	/* Segments for other workers, enqueued at the end of the burst (dataplane/mq.h). */
	uint16_t ho_n[DP_MAX_WORKERS];
	struct rte_mbuf *ho[DP_MAX_WORKERS][DP_HANDOFF_BURST];
};

/* Runs rte_eal_init; returns the number of argv entries it consumed (>= 0) or an ST_ERR_*. */
int dp_eal_init(int argc, char **argv);

struct dp_ctx;
int dp_create(const struct dp_cfg *cfg, struct dp_ctx **out);
/*
 * Runs the workers until *cfg->quit. A worker whose on_start fails says so on
 * stderr and sets *cfg->quit, so that the others stop too; dp_run then
 * returns ST_ERR_STATE (ST_OK after a normal stop).
 */
int dp_run(struct dp_ctx *dp);
/*
 * For programs that run their own loop on a worker's thread instead of
 * dp_run (the load generator): begin once (on_start; its error, made negative, when it refused),
 * then one pass per call (returns 1 when it moved packets), then end once.
 */
int dp_worker_begin(struct dp_worker *w);
int dp_worker_pass(struct dp_worker *w);
void dp_worker_end(struct dp_worker *w);
unsigned dp_nb_workers(const struct dp_ctx *dp);
struct dp_worker *dp_worker_get(struct dp_ctx *dp, unsigned i);
void dp_stats_total(const struct dp_ctx *dp, struct dp_stats *sum);
/* Worker i's published counters, from any thread: ST_OK or ST_ERR_NOT_FOUND. */
int dp_worker_stats_read(struct dp_ctx *dp, unsigned i, struct dp_stats *out);
void dp_print_stats(const struct dp_ctx *dp, FILE *f);
void dp_destroy(struct dp_ctx *dp);

/* ---- used by the protocol modules on the worker ---- */

void dp_tx_flush(struct dp_worker *w);
static inline void dp_tx(struct dp_worker *w, struct rte_mbuf *m)
{
	if (w->tx_n == DP_TX_BUF)
		dp_tx_flush(w);
	w->tx[w->tx_n++] = m;
}
static inline void dp_drop(struct dp_worker *w, struct rte_mbuf *m, unsigned reason)
{
	w->st->drop[reason]++;
	rte_pktmbuf_free(m);
}

/* Next hop for dst: dst itself on the local subnet, else the gateway (0 = unreachable). */
uint32_t dp_next_hop(const struct dp_worker *w, uint32_t dst);
/* The same for either family; an unspecified address (dp_ip_is_any) when unreachable. */
struct dp_ip dp_next_hop_ip(const struct dp_worker *w, const struct dp_ip *dst);
/* Resolved MAC for ip, or NULL (then an ARP request is sent if none is pending). */
const struct rte_ether_addr *dp_arp_lookup(struct dp_worker *w, uint32_t ip);
/*
 * Sends a frame whose Ethernet header is in place except the destination MAC:
 * fills it from the ARP cache, or holds the packet until the reply comes.
 */
void dp_ip_output(struct dp_worker *w, struct rte_mbuf *m, uint32_t nexthop);
void dp_arp_input(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *arp, uint32_t len);
/*
 * ip is at mac, as an ARP packet this worker received says: updates the
 * cache, sends what was held for it, and posts the entry to the other
 * workers (dataplane/mq.h).
 */
void dp_arp_learn(struct dp_worker *w, uint32_t ip, const struct rte_ether_addr *mac);
/* The same from another worker's post (confirmed at confirmed_ms); not posted on. */
void dp_arp_apply(struct dp_worker *w, uint32_t ip, const struct rte_ether_addr *mac,
		  uint64_t confirmed_ms);
/*
 * Every 100 ms: retries unresolved entries, refreshes entries in use before
 * they expire, expires the rest (dataplane/arp.c has the rules).
 */
void dp_arp_timer(struct dp_worker *w);

/*
 * The neighbor cache for either family (dataplane/arp.c): the uint32_t
 * functions above are its IPv4 face. Resolution asks with ARP or with a
 * Neighbor Solicitation (dp_nd_solicit) by the address's family.
 */
const struct rte_ether_addr *dp_neigh_lookup(struct dp_worker *w, const struct dp_ip *ip);
void dp_neigh_output(struct dp_worker *w, struct rte_mbuf *m, const struct dp_ip *nexthop);
void dp_neigh_learn(struct dp_worker *w, const struct dp_ip *ip, const struct rte_ether_addr *mac);
void dp_neigh_apply(struct dp_worker *w, const struct dp_ip *ip, const struct rte_ether_addr *mac,
		    uint64_t confirmed_ms);
/* 0: no entry, 1: one waits for resolution, 2: resolved. */
int dp_neigh_known(struct dp_worker *w, const struct dp_ip *ip);

/* ---- IPv6, ICMPv6 and Neighbor Discovery (dataplane/nd.c) ---- */

enum dp_dad_state {
	DP_DAD_NONE = 0,   /* no IPv6 address */
	DP_DAD_TENTATIVE,  /* probe sent, waiting dad_ms for an objection */
	DP_DAD_DONE,       /* the address is ours */
	DP_DAD_DUPLICATE,  /* someone else has it: not used (counted in ND_DAD_CONFLICT) */
};

/* An IPv6 frame (Ethernet header at the start of m). */
void dp_ipv6_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh);
/* Neighbor Solicitation for target: to its solicited-node group, or unicast to mac (refresh). */
void dp_nd_solicit(struct dp_worker *w, const struct dp_ip *target, const struct rte_ether_addr *mac);
/* At start: sets up the link-local address and starts DAD (worker 0 sends the probe). */
void dp_nd_start(struct dp_worker *w);
/* Every 100 ms, with the ARP timer: ends DAD. */
void dp_nd_timer(struct dp_worker *w);
/* Is dst's Ethernet address one the port must take (ours, broadcast, our IPv6 groups)? */
int dp_eth_dst_ok(const struct dp_worker *w, const struct rte_ether_addr *dst);

#endif
