/*
 * Pure parsers and builders for Ethernet, ARP, IPv4 and ICMP over plain byte
 * buffers. No EAL, no mbufs: unit tests call them with arrays. Every parser
 * returns DP_DROP_NONE (0) and fills *out, or a drop reason and leaves *out
 * untouched. Addresses in the info structs are in host byte order.
 */
#ifndef ST_DATAPLANE_PROTO_H
#define ST_DATAPLANE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/stats.h"

#define DP_ETH_HLEN 14
#define DP_ETHERTYPE_IPV4 0x0800
#define DP_ETHERTYPE_ARP 0x0806
#define DP_IP_HLEN 20
#define DP_IPPROTO_ICMP 1
#define DP_IPPROTO_TCP 6
#define DP_ARP_LEN 28
#define DP_ARP_OP_REQUEST 1
#define DP_ARP_OP_REPLY 2

struct dp_eth_info {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;
};

struct dp_arp_info {
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
};

struct dp_ipv4_info {
	uint32_t src;
	uint32_t dst;
	uint8_t proto;
	uint8_t ttl;
	uint16_t hlen;      /* header length in bytes (20..60) */
	uint16_t total_len; /* from the header; <= the buffer length */
};

/* Ethernet header. DP_DROP_ETH_SHORT if len < 14. */
int dp_eth_parse(const uint8_t *p, size_t len, struct dp_eth_info *out);

/* ARP payload (after Ethernet): only Ethernet/IPv4 (htype 1, ptype 0x0800, 6/4). */
int dp_arp_parse(const uint8_t *p, size_t len, struct dp_arp_info *out);

/* Writes a 28-byte ARP payload. */
void dp_arp_build(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa,
		  const uint8_t tha[6], uint32_t tpa);

/*
 * IPv4 header: version, IHL, total length against len, checksum (unless
 * csum_ok says the port already verified it), fragments (MF or offset set ->
 * DP_DROP_IP_FRAG) and source address sanity (not 0, multicast, broadcast or
 * loopback -> DP_DROP_IP_SRC).
 */
int dp_ipv4_parse(const uint8_t *p, size_t len, int csum_ok, struct dp_ipv4_info *out);

/* Writes a 20-byte IPv4 header with DF set and its checksum (unless no_csum). */
void dp_ipv4_build(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t total_len,
		   uint16_t id, int no_csum);

/*
 * ICMP echo request check: len >= 8, checksum over the whole message, type 8
 * code 0. DP_DROP_ICMP_TYPE for any other well-formed ICMP message.
 */
int dp_icmp_echo_parse(const uint8_t *p, size_t len);

/* Internet checksum helpers (RFC 1071). */
uint32_t dp_csum_partial(const void *p, size_t len, uint32_t sum);
uint16_t dp_csum_fold(uint32_t sum); /* returns the complemented 16-bit checksum */

#endif
