/* Ethernet / ARP / IPv4 / ICMP parsing over plain buffers. */
#include <string.h>

#include "dataplane/proto.h"

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t dp_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum;

	while (len >= 2) {
		s += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t dp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int dp_eth_parse(const uint8_t *p, size_t len, struct dp_eth_info *out)
{
	if (len < DP_ETH_HLEN)
		return DP_DROP_ETH_SHORT;
	memcpy(out->dst, p, 6);
	memcpy(out->src, p + 6, 6);
	out->type = rd16(p + 12);
	return DP_DROP_NONE;
}

int dp_arp_parse(const uint8_t *p, size_t len, struct dp_arp_info *out)
{
	if (len < DP_ARP_LEN)
		return DP_DROP_ARP_MALFORMED;
	if (rd16(p) != 1 || rd16(p + 2) != DP_ETHERTYPE_IPV4 || p[4] != 6 || p[5] != 4)
		return DP_DROP_ARP_MALFORMED;
	out->op = rd16(p + 6);
	memcpy(out->sha, p + 8, 6);
	out->spa = rd32(p + 14);
	memcpy(out->tha, p + 18, 6);
	out->tpa = rd32(p + 24);
	return DP_DROP_NONE;
}

void dp_arp_build(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa,
		  const uint8_t tha[6], uint32_t tpa)
{
	wr16(p, 1);
	wr16(p + 2, DP_ETHERTYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	wr16(p + 6, op);
	memcpy(p + 8, sha, 6);
	wr32(p + 14, spa);
	memcpy(p + 18, tha, 6);
	wr32(p + 24, tpa);
}

static int bad_source(uint32_t a)
{
	uint8_t top = (uint8_t)(a >> 24);

	return a == 0 || a == 0xffffffffu || top == 127 || top >= 224;
}

int dp_ipv4_parse(const uint8_t *p, size_t len, int csum_ok, struct dp_ipv4_info *out)
{
	unsigned hlen, tlen;

	if (len < DP_IP_HLEN)
		return DP_DROP_IP_SHORT;
	if ((p[0] >> 4) != 4)
		return DP_DROP_IP_VERSION;
	hlen = (unsigned)(p[0] & 0xf) * 4;
	if (hlen < DP_IP_HLEN || hlen > len)
		return DP_DROP_IP_HLEN;
	tlen = rd16(p + 2);
	if (tlen < hlen || tlen > len)
		return DP_DROP_IP_LEN;
	if (!csum_ok && dp_csum_fold(dp_csum_partial(p, hlen, 0)) != 0)
		return DP_DROP_IP_CSUM;
	if (rd16(p + 6) & 0x3fff) /* MF or fragment offset */
		return DP_DROP_IP_FRAG;
	if (bad_source(rd32(p + 12)))
		return DP_DROP_IP_SRC;
	out->src = rd32(p + 12);
	out->dst = rd32(p + 16);
	out->proto = p[9];
	out->ttl = p[8];
	out->hlen = (uint16_t)hlen;
	out->total_len = (uint16_t)tlen;
	return DP_DROP_NONE;
}

void dp_ipv4_build(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t total_len,
		   uint16_t id, int no_csum)
{
	p[0] = 0x45;
	p[1] = 0;
	wr16(p + 2, total_len);
	wr16(p + 4, id);
	wr16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = proto;
	wr16(p + 10, 0);
	wr32(p + 12, src);
	wr32(p + 16, dst);
	if (!no_csum)
		wr16(p + 10, dp_csum_fold(dp_csum_partial(p, DP_IP_HLEN, 0)));
}

int dp_icmp_echo_parse(const uint8_t *p, size_t len)
{
	if (len < 8)
		return DP_DROP_ICMP_SHORT;
	if (dp_csum_fold(dp_csum_partial(p, len, 0)) != 0)
		return DP_DROP_ICMP_CSUM;
	if (p[0] != 8 || p[1] != 0)
		return DP_DROP_ICMP_TYPE;
	return DP_DROP_NONE;
}
