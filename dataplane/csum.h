/*
 * Internet checksums (RFC 1071) over mbuf chains whose segments have any
 * length and alignment.
 *
 * DPDK 22.11's rte_raw_cksum_mbuf() (behind rte_ipv4_udptcp_cksum_mbuf and its
 * _verify twin) truncates a segment's unreduced sum to 16 bits before it
 * byte-swaps a segment that starts at an odd offset, so a chain with an
 * odd-length segment before the last one can get a wrong checksum. These
 * functions reduce each piece first, then swap. Called on the owning worker;
 * they only read the chain.
 */
#ifndef ST_DATAPLANE_CSUM_H
#define ST_DATAPLANE_CSUM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_ipv4_hdr;

/*
 * Ones'-complement sum (folded to 16 bits, not complemented, in the host's
 * word order as rte_raw_cksum returns it) of len bytes of chain m starting at
 * byte off. Bytes past the chain's end count as absent.
 */
uint16_t dp_cksum_chain(const struct rte_mbuf *m, uint32_t off, uint32_t len);

/*
 * The TCP/UDP checksum field for the L4 segment that starts at byte l4_off of
 * m and ends at the chain's end (pkt_len), with the IPv4 pseudo-header of ip.
 * The field must be zero when this is called to compute it.
 */
uint16_t dp_l4_cksum_ipv4(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
			  uint32_t l4_off);

/* 1 when the received L4 segment at l4_off (checksum field included) sums correctly. */
int dp_l4_cksum_ipv4_ok(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
			uint32_t l4_off);

/* The same over IPv6's pseudo-header (RFC 8200 8.1; TCP's length is the chain's rest). */
struct dp_ip;
uint16_t dp_l4_cksum_ipv6(const struct rte_mbuf *m, const struct dp_ip *src, const struct dp_ip *dst,
			  uint32_t l4_off);
int dp_l4_cksum_ipv6_ok(const struct rte_mbuf *m, const struct dp_ip *src, const struct dp_ip *dst,
			uint32_t l4_off);

/*
 * 1 when every segment of m before the last has even length. Port checksum
 * offload is only trusted for such chains: some PMDs (net_tap in 22.11) add
 * segment sums without odd-offset handling.
 */
int dp_chain_even_pieces(const struct rte_mbuf *m);

#endif
