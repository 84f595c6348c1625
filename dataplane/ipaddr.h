/*
 * One address type for both IP families in the dataplane: 16 bytes in network
 * order. An IPv4 address is held IPv4-mapped (::ffff:a.b.c.d, RFC 4291
 * 2.5.5.2), so a 4-tuple compares, hashes and prints the same way whatever
 * its family, and an IPv4 flow never equals an IPv6 one. Plain values: no
 * owner, copied freely; every function here is pure.
 */
#ifndef ST_DATAPLANE_IPADDR_H
#define ST_DATAPLANE_IPADDR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DP_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

struct dp_ip {
	union {
		uint8_t b[16];
		uint32_t w[4];
		uint64_t q[2];
	};
};

static inline struct dp_ip dp_ip_v4(uint32_t host)
{
	struct dp_ip a = {.b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(host >> 24),
				(uint8_t)(host >> 16), (uint8_t)(host >> 8), (uint8_t)host}};
	return a;
}

static inline struct dp_ip dp_ip_v6(const uint8_t b[16])
{
	struct dp_ip a;

	memcpy(a.b, b, 16);
	return a;
}

static inline int dp_ip_is_v4(const struct dp_ip *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a->b, pfx, 12) == 0;
}

/* The IPv4 address in host order (meaningful only when dp_ip_is_v4). */
static inline uint32_t dp_ip_v4_of(const struct dp_ip *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
	       a->b[15];
}

static inline int dp_ip_eq(const struct dp_ip *a, const struct dp_ip *b)
{
	return a->q[0] == b->q[0] && a->q[1] == b->q[1];
}

/* :: (the IPv6 unspecified address) or 0.0.0.0 mapped. */
static inline int dp_ip_is_any(const struct dp_ip *a)
{
	return (a->q[0] == 0 && a->q[1] == 0) || (dp_ip_is_v4(a) && dp_ip_v4_of(a) == 0);
}

/* Both in the same prefix of plen bits (IPv6 bits; an IPv4 /n is 96 + n). */
static inline int dp_ip_same_prefix(const struct dp_ip *a, const struct dp_ip *b, unsigned plen)
{
	unsigned n = plen / 8, r = plen % 8;

	if (plen > 128)
		return 0;
	if (memcmp(a->b, b->b, n) != 0)
		return 0;
	return r == 0 || ((a->b[n] ^ b->b[n]) & (0xff00u >> r)) == 0;
}

/* Text the way sshd prints it: dotted quad for IPv4, RFC 5952 for IPv6. */
const char *dp_ip_str(const struct dp_ip *a, char *buf, size_t len);
/* Parses either family's text (no brackets, no prefix); 0 or -1. */
int dp_ip_parse(const char *s, struct dp_ip *out);

#endif
