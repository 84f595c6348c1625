/*
 * A kernel TAP interface as the dataplane's port, opened with a virtio-net
 * header (IFF_VNET_HDR) so that whole TSO packets (up to 64 KiB) cross the
 * kernel boundary in one read or write, with their checksums left partial
 * both ways (TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4).
 *
 * Why not net_tap: DPDK 22.11's TAP PMD opens the interface without that
 * header, so it moves one frame per system call (its TSO is software GSO
 * before its writes), and on the demo path the system calls were 9 of the
 * worker's 9.7 cycles per byte. There is no driver SDK in Debian's DPDK to
 * make this an ethdev, so the worker calls it directly where it would call
 * rte_eth_rx_burst / rte_eth_tx_burst (one branch per burst).
 *
 * One queue per worker: a multi-queue TAP (IFF_MULTI_QUEUE) has one file
 * descriptor per queue, and the kernel picks the queue of a flow by its own
 * hash. Each struct dp_vtap_q is owned by its worker's lcore; the port
 * (struct dp_vtap) by the thread that opened it (dp_create / dp_destroy).
 */
#ifndef ST_DP_VTAP_H
#define ST_DP_VTAP_H
#include <stdint.h>

#include <linux/virtio_net.h>
#include <rte_mbuf.h>

struct dp_worker;

/* Most mbufs one received packet takes: 64 KiB plus an Ethernet header in 2 KiB data rooms. */
#define DP_VTAP_RX_SEGS 34

struct dp_vtap_q {
	int fd;
	uint16_t nspare;
	struct rte_mempool *pool;
	/* Allocated mbufs the next read lands in (taken from the end). */
	struct rte_mbuf *spare[DP_VTAP_RX_SEGS];
};

struct dp_vtap {
	char ifname[16];
	uint16_t nb_queues;
	struct dp_vtap_q q[];
};

/*
 * Creates (or attaches to) TAP interface ifname with nb_queues queues, sets
 * its MTU and brings it up; the queues' mbufs come from pools[q]. Returns
 * ST_OK, or an ST_ERR_* with the reason on stderr.
 */
int dp_vtap_open(const char *ifname, uint16_t nb_queues, uint16_t mtu,
		 struct rte_mempool *const *pools, struct dp_vtap **out);
/* Frees the spare mbufs and closes the queues (the interface goes with its last fd). */
void dp_vtap_close(struct dp_vtap *t);

/* Up to max received packets (reads until the queue is empty); each a chain, flags set. */
uint16_t dp_vtap_rx(struct dp_worker *w, struct dp_vtap_q *q, struct rte_mbuf **pkts,
		    uint16_t max);
/*
 * Writes pkts[0..n) (each consumed: sent, or dropped and counted) and returns
 * how many were taken: fewer only when the kernel's queue pushes back
 * (EAGAIN), the rest stay the caller's.
 */
uint16_t dp_vtap_tx(struct dp_worker *w, struct dp_vtap_q *q, struct rte_mbuf **pkts,
		    uint16_t n);

/*
 * The virtio-net header for transmitting m, from its offload flags: TSO
 * (RTE_MBUF_F_TX_TCP_SEG) becomes a GSO_TCPV4 packet, a TCP checksum left to
 * the port a partial one (csum_start/offset). Also completes what the kernel
 * expects in the packet: the IPv4 header checksum (virtio has no offload for
 * it) and, for TSO, the pseudo-header sum with the L4 length in the TCP
 * checksum field (DPDK leaves the length out; Linux re-segments with it).
 * Returns 0, or -1 for a packet the kernel would refuse (TSO headers not in
 * the first segment, or longer than 65535 bytes of IP).
 */
int dp_vtap_tx_hdr(struct rte_mbuf *m, struct virtio_net_hdr *h);
/*
 * Receive side: checksum flags on m from the header the kernel wrote. A
 * partial checksum (NEEDS_CSUM) or DATA_VALID means the kernel vouches for
 * the TCP bytes (they never left the host); anything else is checked in
 * software. Returns 1 for a GSO packet (several segments in one), else 0.
 */
int dp_vtap_rx_flags(const struct virtio_net_hdr *h, struct rte_mbuf *m);

#endif
