/* IPv6 / ICMPv6 / Neighbor Discovery parsing over plain buffers (proto6.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/proto.h"
#include "dataplane/proto6.h"

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

const char *dp_ip_str(const struct dp_ip *a, char *buf, size_t len)
{
	if (dp_ip_is_v4(a)) {
		if (!inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len))
			snprintf(buf, len, "?");
	} else if (!inet_ntop(AF_INET6, a->b, buf, (socklen_t)len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

int dp_ip_parse(const char *s, struct dp_ip *out)
{
	struct dp_ip a;
	uint8_t v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		*out = dp_ip_v4((uint32_t)v4[0] << 24 | (uint32_t)v4[1] << 16 |
				(uint32_t)v4[2] << 8 | v4[3]);
		return 0;
	}
	if (inet_pton(AF_INET6, s, a.b) != 1)
		return -1;
	*out = a;
	return 0;
}

static int bad_source6(const struct dp_ip *a)
{
	static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	/* IPv4-mapped on the wire would alias an IPv4 flow in our tables (ipaddr.h). */
	return dp_ip6_is_mcast(a) || memcmp(a->b, loop, 16) == 0 || dp_ip_is_v4(a);
}

/* Hop-by-hop / destination options, TLV by TLV (RFC 8200 4.2). */
static int walk_options(const uint8_t *p, size_t len)
{
	size_t i = 2; /* after next header and length */

	while (i < len) {
		uint8_t t = p[i];

		if (t == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return DP_DROP_IP6_EXT;
		/* Unknown types: the top two bits say skip (00) or discard (anything else). */
		if (t != 1 && (t >> 6) != 0)
			return DP_DROP_IP6_OPT;
		i += 2 + (size_t)p[i + 1];
	}
	return DP_DROP_NONE;
}

int dp_ipv6_ext_walk(const uint8_t *p, size_t len, uint8_t nh, uint8_t *proto, uint16_t *off)
{
	size_t o = 0;
	int r;

	for (unsigned n = 0;; n++) {
		size_t hl;

		switch (nh) {
		case DP_IPPROTO_HOPOPTS:
		case DP_IPPROTO_ROUTING:
		case DP_IPPROTO_DSTOPTS:
			break;
		case DP_IPPROTO_FRAGMENT:
			return DP_DROP_IP6_FRAG;
		case DP_IPPROTO_NONE:
		case 50: /* ESP */
		case 51: /* AH */
			return DP_DROP_IP6_PROTO;
		default:
			*proto = nh;
			*off = (uint16_t)o;
			return DP_DROP_NONE;
		}
		if (n >= DP_IP6_EXT_MAX)
			return DP_DROP_IP6_EXT;
		/* Hop-by-hop options must come right after the fixed header (RFC 8200 4.3). */
		if (nh == DP_IPPROTO_HOPOPTS && n != 0)
			return DP_DROP_IP6_EXT;
		if (len - o < 8)
			return DP_DROP_IP6_EXT;
		hl = ((size_t)p[o + 1] + 1) * 8;
		if (hl > len - o)
			return DP_DROP_IP6_EXT;
		if (nh == DP_IPPROTO_ROUTING) {
			if (p[o + 3] != 0) /* segments left: we are not a router */
				return DP_DROP_IP6_ROUTING;
		} else if ((r = walk_options(p + o, hl)) != DP_DROP_NONE) {
			return r;
		}
		nh = p[o];
		o += hl;
	}
}

int dp_ipv6_parse(const uint8_t *p, size_t len, size_t head, struct dp_ipv6_info *out)
{
	struct dp_ip src, dst;
	uint16_t plen, off;
	size_t walk;
	uint8_t proto;
	int r;

	if (len < DP_IP6_HLEN || head < DP_IP6_HLEN)
		return DP_DROP_IP6_SHORT;
	if ((p[0] >> 4) != 6)
		return DP_DROP_IP6_VERSION;
	plen = rd16(p + 4);
	if ((size_t)plen > len - DP_IP6_HLEN)
		return DP_DROP_IP6_LEN;
	memcpy(src.b, p + 8, 16);
	memcpy(dst.b, p + 24, 16);
	if (bad_source6(&src))
		return DP_DROP_IP6_SRC;
	walk = head - DP_IP6_HLEN < plen ? head - DP_IP6_HLEN : plen;
	if ((r = dp_ipv6_ext_walk(p + DP_IP6_HLEN, walk, p[6], &proto, &off)) != DP_DROP_NONE)
		return r;
	out->src = src;
	out->dst = dst;
	out->proto = proto;
	out->hop_limit = p[7];
	out->l4_off = (uint16_t)(DP_IP6_HLEN + off);
	out->payload_len = plen;
	return DP_DROP_NONE;
}

void dp_ipv6_build(uint8_t *p, const struct dp_ip *src, const struct dp_ip *dst, uint8_t nh,
		   uint16_t payload_len, uint8_t hop_limit)
{
	p[0] = 0x60;
	p[1] = p[2] = p[3] = 0;
	p[4] = (uint8_t)(payload_len >> 8);
	p[5] = (uint8_t)payload_len;
	p[6] = nh;
	p[7] = hop_limit;
	memcpy(p + 8, src->b, 16);
	memcpy(p + 24, dst->b, 16);
}

uint32_t dp_ip6_pseudo_sum(const struct dp_ip *src, const struct dp_ip *dst, uint32_t len,
			   uint8_t nh)
{
	uint8_t tail[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			   (uint8_t)len, 0, 0, 0, nh};
	uint32_t s = dp_csum_partial(src->b, 16, 0);

	s = dp_csum_partial(dst->b, 16, s);
	return dp_csum_partial(tail, sizeof(tail), s);
}

int dp_icmp6_csum_ok(const struct dp_ip *src, const struct dp_ip *dst, const uint8_t *p,
		     size_t len)
{
	uint32_t s = dp_ip6_pseudo_sum(src, dst, (uint32_t)len, DP_IPPROTO_ICMPV6);

	return dp_csum_fold(dp_csum_partial(p, len, s)) == 0;
}

void dp_icmp6_csum_set(const struct dp_ip *src, const struct dp_ip *dst, uint8_t *p, size_t len)
{
	uint16_t c;

	p[2] = p[3] = 0;
	c = dp_csum_fold(dp_csum_partial(p, len, dp_ip6_pseudo_sum(src, dst, (uint32_t)len,
								   DP_IPPROTO_ICMPV6)));
	p[2] = (uint8_t)(c >> 8);
	p[3] = (uint8_t)c;
}

static int is_solicited_node(const struct dp_ip *a)
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};

	return memcmp(a->b, pfx, 13) == 0;
}

int dp_nd_parse(const uint8_t *p, size_t len, uint8_t hop_limit, const struct dp_ip *src,
		const struct dp_ip *dst, struct dp_nd_info *out)
{
	struct dp_nd_info nd;
	uint8_t want_opt;
	size_t i;

	if (len < DP_ND_NS_LEN)
		return DP_DROP_ND_MALFORMED;
	if (p[0] != DP_ND_NS && p[0] != DP_ND_NA)
		return DP_DROP_ICMP6_TYPE;
	/* Only a neighbor on the link sends 255: nothing routed can forge ND (RFC 4861 7.1). */
	if (hop_limit != 255)
		return DP_DROP_ND_HOPLIMIT;
	if (p[1] != 0)
		return DP_DROP_ND_MALFORMED;
	memset(&nd, 0, sizeof(nd));
	nd.type = p[0];
	nd.flags = nd.type == DP_ND_NA ? (uint8_t)(p[4] & 0xe0) : 0;
	memcpy(nd.target.b, p + 8, 16);
	if (dp_ip6_is_mcast(&nd.target))
		return DP_DROP_ND_MALFORMED;
	want_opt = nd.type == DP_ND_NS ? DP_ND_OPT_SLLA : DP_ND_OPT_TLLA;
	for (i = DP_ND_NS_LEN; i < len;) {
		size_t ol;

		if (len - i < 2)
			return DP_DROP_ND_OPT_TRUNC;
		if (p[i + 1] == 0) /* would loop for ever (RFC 4861 4.6) */
			return DP_DROP_ND_OPT_ZERO;
		ol = (size_t)p[i + 1] * 8;
		if (ol > len - i)
			return DP_DROP_ND_OPT_TRUNC;
		if (p[i] == want_opt) {
			/* Ethernet: exactly 6 bytes of address, one option, a unicast MAC. */
			static const uint8_t zero[6];

			if (ol != DP_ND_LLA_OPT_LEN || nd.has_lla || (p[i + 2] & 1) ||
			    memcmp(p + i + 2, zero, 6) == 0)
				return DP_DROP_ND_OPT_BAD;
			memcpy(nd.lla, p + i + 2, 6);
			nd.has_lla = 1;
		}
		/* Other options (nonce, prefix info, ...) are skipped (RFC 4861 4.6). */
		i += ol;
	}
	if (nd.type == DP_ND_NS && dp_ip_is_any(src) && (!is_solicited_node(dst) || nd.has_lla))
		return DP_DROP_ND_MALFORMED;
	if (nd.type == DP_ND_NA && dp_ip6_is_mcast(dst) && (nd.flags & DP_ND_NA_SOLICITED))
		return DP_DROP_ND_MALFORMED;
	if (nd.type == DP_ND_NA && dp_ip_is_any(src))
		return DP_DROP_ND_MALFORMED;
	*out = nd;
	return DP_DROP_NONE;
}

size_t dp_nd_build_ns(uint8_t *p, const struct dp_ip *target, const uint8_t *lla)
{
	memset(p, 0, DP_ND_NS_LEN);
	p[0] = DP_ND_NS;
	memcpy(p + 8, target->b, 16);
	if (!lla)
		return DP_ND_NS_LEN;
	p[24] = DP_ND_OPT_SLLA;
	p[25] = 1;
	memcpy(p + 26, lla, 6);
	return DP_ND_NS_LEN + DP_ND_LLA_OPT_LEN;
}

size_t dp_nd_build_na(uint8_t *p, const struct dp_ip *target, uint8_t flags, const uint8_t lla[6])
{
	memset(p, 0, DP_ND_NS_LEN);
	p[0] = DP_ND_NA;
	p[4] = flags;
	memcpy(p + 8, target->b, 16);
	p[24] = DP_ND_OPT_TLLA;
	p[25] = 1;
	memcpy(p + 26, lla, 6);
	return DP_ND_NS_LEN + DP_ND_LLA_OPT_LEN;
}

struct dp_ip dp_ip6_solicited(const struct dp_ip *a)
{
	struct dp_ip s = {.b = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a->b[13], a->b[14],
				a->b[15]}};
	return s;
}

void dp_ip6_mcast_mac(const struct dp_ip *a, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, a->b + 12, 4);
}

struct dp_ip dp_ip6_link_local(const uint8_t mac[6])
{
	struct dp_ip a = {.b = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, (uint8_t)(mac[0] ^ 0x02), mac[1], mac[2],
				0xff, 0xfe, mac[3], mac[4], mac[5]}};
	return a;
}

int dp_icmp6_echo_parse(const uint8_t *p, size_t len)
{
	if (len < 8)
		return DP_DROP_ICMP6_SHORT;
	if (p[0] != DP_ICMP6_ECHO_REQUEST || p[1] != 0)
		return DP_DROP_ICMP6_TYPE;
	return DP_DROP_NONE;
}
