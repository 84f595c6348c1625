/* SYN cookies with a SipHash-2-4 MAC. */
#include <string.h>

#include "crypto/err.h"
#include "dataplane/ipaddr.h"
#include "dataplane/tcp/tcp_cookie.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                     \
	do {                                                         \
		v0 += v1;                                            \
		v1 = ROTL(v1, 13);                                   \
		v1 ^= v0;                                            \
		v0 = ROTL(v0, 32);                                   \
		v2 += v3;                                            \
		v3 = ROTL(v3, 16);                                   \
		v3 ^= v2;                                            \
		v0 += v3;                                            \
		v3 = ROTL(v3, 21);                                   \
		v3 ^= v0;                                            \
		v2 += v1;                                            \
		v1 = ROTL(v1, 17);                                   \
		v1 ^= v2;                                            \
		v2 = ROTL(v2, 32);                                   \
	} while (0)

static uint64_t rd64le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t st_siphash24(const struct tcp_cookie_key *key, const void *buf, unsigned len)
{
	const uint8_t *p = buf;
	uint64_t v0 = 0x736f6d6570736575ull ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ key->k0;
	uint64_t v3 = 0x7465646279746573ull ^ key->k1;
	uint64_t b = (uint64_t)len << 56, m;
	unsigned left = len & 7;
	const uint8_t *end = p + len - left;

	for (; p != end; p += 8) {
		m = rd64le(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (unsigned i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static const uint16_t mss_table[8] = {536, 1200, 1360, 1400, 1440, 1452, 1460, 8960};

uint16_t tcp_cookie_mss(unsigned idx)
{
	return mss_table[idx & 7];
}

unsigned tcp_cookie_mss_idx(uint16_t mss)
{
	unsigned i = 7;

	while (i > 0 && mss_table[i] > mss)
		i--;
	return i;
}

static uint32_t cookie_hash(const struct tcp_cookie_key *key, uint32_t saddr, uint32_t daddr,
			    uint16_t sport, uint16_t dport, uint32_t isn, uint32_t count,
			    unsigned idx)
{
	uint8_t in[20];
	uint32_t w[5] = {saddr, daddr, (uint32_t)sport << 16 | dport, isn, count << 3 | idx};

	memcpy(in, w, sizeof(in));
	return (uint32_t)st_siphash24(key, in, sizeof(in)) & 0xffffff;
}

uint32_t tcp_cookie_make(const struct tcp_cookie_key *key, uint32_t saddr, uint32_t daddr,
			 uint16_t sport, uint16_t dport, uint32_t peer_isn, uint16_t mss,
			 uint64_t now_s)
{
	uint32_t count = (uint32_t)(now_s / TCP_COOKIE_PERIOD_S) & 31;
	unsigned idx = tcp_cookie_mss_idx(mss);

	return count << 27 | (uint32_t)idx << 24 |
	       cookie_hash(key, saddr, daddr, sport, dport, peer_isn, count, idx);
}

int tcp_cookie_check(const struct tcp_cookie_key *key, uint32_t cookie, uint32_t saddr,
		     uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t peer_isn,
		     uint64_t now_s, uint16_t *mss_out)
{
	uint32_t now_count = (uint32_t)(now_s / TCP_COOKIE_PERIOD_S) & 31;
	uint32_t count = cookie >> 27;
	unsigned idx = (cookie >> 24) & 7;
	uint32_t h = cookie & 0xffffff, diff = (now_count - count) & 31;

	if (diff > 1)
		return ST_ERR_STATE;
	if (cookie_hash(key, saddr, daddr, sport, dport, peer_isn, count, idx) != h)
		return ST_ERR_MAC_INVALID;
	*mss_out = mss_table[idx];
	return ST_OK;
}

/* IPv6: the 4-tuple folded by SipHash first, so the cookie's own hash keeps its input shape. */
static void fold6(const struct tcp_cookie_key *key, const struct dp_ip *saddr,
		  const struct dp_ip *daddr, uint32_t *s, uint32_t *d)
{
	uint8_t in[32];
	uint64_t h;

	memcpy(in, saddr->b, 16);
	memcpy(in + 16, daddr->b, 16);
	h = st_siphash24(key, in, sizeof(in));
	*s = (uint32_t)h;
	*d = (uint32_t)(h >> 32);
}

uint32_t tcp_cookie_make_ip(const struct tcp_cookie_key *key, const struct dp_ip *saddr,
			    const struct dp_ip *daddr, uint16_t sport, uint16_t dport,
			    uint32_t peer_isn, uint16_t mss, uint64_t now_s)
{
	uint32_t s, d;

	if (dp_ip_is_v4(saddr))
		return tcp_cookie_make(key, dp_ip_v4_of(saddr), dp_ip_v4_of(daddr), sport, dport,
				       peer_isn, mss, now_s);
	fold6(key, saddr, daddr, &s, &d);
	return tcp_cookie_make(key, s, d, sport, dport, peer_isn, mss, now_s);
}

int tcp_cookie_check_ip(const struct tcp_cookie_key *key, uint32_t cookie, const struct dp_ip *saddr,
			const struct dp_ip *daddr, uint16_t sport, uint16_t dport, uint32_t peer_isn,
			uint64_t now_s, uint16_t *mss_out)
{
	uint32_t s, d;

	if (dp_ip_is_v4(saddr))
		return tcp_cookie_check(key, cookie, dp_ip_v4_of(saddr), dp_ip_v4_of(daddr), sport,
					dport, peer_isn, now_s, mss_out);
	fold6(key, saddr, daddr, &s, &d);
	return tcp_cookie_check(key, cookie, s, d, sport, dport, peer_isn, now_s, mss_out);
}
