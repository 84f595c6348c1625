/*
 * Pure parsers and builders for IPv6 (RFC 8200), ICMPv6 (RFC 4443) and
 * Neighbor Discovery (RFC 4861) over plain byte buffers, like proto.h for
 * IPv4: no EAL, no mbufs, so unit tests feed them arrays. Every parser
 * returns DP_DROP_NONE (0) and fills *out, or a drop reason and leaves *out
 * untouched. Addresses are struct dp_ip (network order, ipaddr.h).
 */
#ifndef ST_DATAPLANE_PROTO6_H
#define ST_DATAPLANE_PROTO6_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/ipaddr.h"
#include "dataplane/stats.h"

#define DP_ETHERTYPE_IPV6 0x86dd
#define DP_IP6_HLEN 40
#define DP_IPPROTO_HOPOPTS 0
#define DP_IPPROTO_ROUTING 43
#define DP_IPPROTO_FRAGMENT 44
#define DP_IPPROTO_ICMPV6 58
#define DP_IPPROTO_NONE 59
#define DP_IPPROTO_DSTOPTS 60
#define DP_IP6_EXT_MAX 8 /* extension headers walked before the packet is dropped */

#define DP_ICMP6_ECHO_REQUEST 128
#define DP_ICMP6_ECHO_REPLY 129
#define DP_ND_NS 135
#define DP_ND_NA 136
#define DP_ND_OPT_SLLA 1
#define DP_ND_OPT_TLLA 2
#define DP_ND_NA_ROUTER 0x80
#define DP_ND_NA_SOLICITED 0x40
#define DP_ND_NA_OVERRIDE 0x20
#define DP_ND_NS_LEN 24 /* without options */
#define DP_ND_LLA_OPT_LEN 8

struct dp_ipv6_info {
	struct dp_ip src, dst;
	uint8_t proto;        /* upper-layer protocol, after the extension headers */
	uint8_t hop_limit;
	uint16_t l4_off;      /* upper-layer header offset from the start of the IPv6 header */
	uint16_t payload_len; /* from the header; 40 + payload_len <= the buffer length */
};

struct dp_nd_info {
	uint8_t type;  /* DP_ND_NS or DP_ND_NA */
	uint8_t flags; /* NA: DP_ND_NA_* bits */
	uint8_t has_lla;
	uint8_t lla[6]; /* the source (NS) or target (NA) link-layer address option */
	struct dp_ip target;
};

/*
 * IPv6 header and extension headers: version, payload length against len
 * (the packet's bytes), source sanity (not multicast, loopback or
 * IPv4-mapped -> DP_DROP_IP6_SRC; :: passes, the caller decides), then
 * dp_ipv6_ext_walk over what of the payload lies in the first head bytes
 * (contiguous at p; head >= len for a flat buffer): extension headers past
 * them are DP_DROP_IP6_EXT.
 */
int dp_ipv6_parse(const uint8_t *p, size_t len, size_t head, struct dp_ipv6_info *out);

/*
 * Walks the extension headers at p (len bytes after the fixed header, first
 * header type nh) to the upper layer. Hop-by-hop only first; routing only
 * with segments left 0 (DP_DROP_IP6_ROUTING); hop-by-hop and destination
 * options are walked TLV by TLV, unknown options whose type says "discard"
 * drop the packet (DP_DROP_IP6_OPT); fragments -> DP_DROP_IP6_FRAG; no next
 * header, ESP, AH -> DP_DROP_IP6_PROTO; more than DP_IP6_EXT_MAX headers or
 * one that does not fit -> DP_DROP_IP6_EXT. On success *proto and *off (from
 * p) name the upper-layer header.
 */
int dp_ipv6_ext_walk(const uint8_t *p, size_t len, uint8_t nh, uint8_t *proto, uint16_t *off);

/* Writes a 40-byte IPv6 header (traffic class and flow label 0). */
void dp_ipv6_build(uint8_t *p, const struct dp_ip *src, const struct dp_ip *dst, uint8_t nh,
		   uint16_t payload_len, uint8_t hop_limit);

/* Unfolded ones'-complement sum of the IPv6 pseudo-header (RFC 8200 8.1). */
uint32_t dp_ip6_pseudo_sum(const struct dp_ip *src, const struct dp_ip *dst, uint32_t len,
			   uint8_t nh);
/* 1 when the ICMPv6 message p[0..len) sums right with its pseudo-header. */
int dp_icmp6_csum_ok(const struct dp_ip *src, const struct dp_ip *dst, const uint8_t *p,
		     size_t len);
/* Sets the checksum field of ICMPv6 message p[0..len). */
void dp_icmp6_csum_set(const struct dp_ip *src, const struct dp_ip *dst, uint8_t *p, size_t len);

/*
 * A Neighbor Solicitation or Advertisement (checksum already verified): hop
 * limit 255 (DP_DROP_ND_HOPLIMIT), code 0, length, target not multicast
 * (DP_DROP_ND_MALFORMED), options bounded one by one (DP_DROP_ND_OPT_ZERO for
 * a zero length, DP_DROP_ND_OPT_TRUNC past the end, DP_DROP_ND_OPT_BAD for a
 * link-layer option that is not 6 bytes of unicast MAC, or a second one),
 * and RFC 4861's rules: an NS from :: goes to a solicited-node address and
 * has no source link-layer option; a multicast NA is not solicited.
 */
int dp_nd_parse(const uint8_t *p, size_t len, uint8_t hop_limit, const struct dp_ip *src,
		const struct dp_ip *dst, struct dp_nd_info *out);

/*
 * Writes an NS for target (with a source link-layer option when lla is not
 * NULL) or an NA (flags DP_ND_NA_*, target link-layer option lla); returns
 * the length. The checksum is left to dp_icmp6_csum_set.
 */
size_t dp_nd_build_ns(uint8_t *p, const struct dp_ip *target, const uint8_t *lla);
size_t dp_nd_build_na(uint8_t *p, const struct dp_ip *target, uint8_t flags, const uint8_t lla[6]);

/* ff02::1:ffXX:XXXX for a (RFC 4291 2.7.1). */
struct dp_ip dp_ip6_solicited(const struct dp_ip *a);
/* 33:33 + the low 32 bits (RFC 2464 7). */
void dp_ip6_mcast_mac(const struct dp_ip *a, uint8_t mac[6]);
/* fe80::/64 with the modified EUI-64 interface id of mac (RFC 4291 2.5.1). */
struct dp_ip dp_ip6_link_local(const uint8_t mac[6]);
static inline int dp_ip6_is_mcast(const struct dp_ip *a)
{
	return a->b[0] == 0xff;
}
static inline int dp_ip6_is_link_local(const struct dp_ip *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}
static inline int dp_ip6_is_all_nodes(const struct dp_ip *a)
{
	static const uint8_t an[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	return memcmp(a->b, an, 16) == 0;
}

/* ICMPv6 echo request check: len >= 8, type 128 code 0 (checksum verified by the caller). */
int dp_icmp6_echo_parse(const uint8_t *p, size_t len);

#endif
