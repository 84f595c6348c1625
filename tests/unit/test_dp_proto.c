/* Unit tests: Ethernet / ARP / IPv4 / ICMP parsers with short and malformed packets. */
#include <string.h>

#include "dataplane/proto.h"
#include "tests/unit/test.h"

static void mk_ip(uint8_t *p, uint16_t total)
{
	dp_ipv4_build(p, 0xc6120001, 0xc6120002, DP_IPPROTO_TCP, total, 7, 0);
}

static void test_eth(void)
{
	uint8_t f[14] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x06};
	struct dp_eth_info e;

	for (size_t n = 0; n < 14; n++)
		CHECK_INT(dp_eth_parse(f, n, &e), DP_DROP_ETH_SHORT);
	CHECK_INT(dp_eth_parse(f, 14, &e), DP_DROP_NONE);
	CHECK_INT(e.type, DP_ETHERTYPE_ARP);
	CHECK_INT(e.src[0], 7);
}

static void test_ipv4_valid_and_checksum(void)
{
	uint8_t p[60];
	struct dp_ipv4_info ip;

	memset(p, 0, sizeof(p));
	mk_ip(p, 40);
	CHECK_INT(dp_ipv4_parse(p, 40, 0, &ip), DP_DROP_NONE);
	CHECK_INT(ip.src, 0xc6120001);
	CHECK_INT(ip.dst, 0xc6120002);
	CHECK_INT(ip.hlen, 20);
	CHECK_INT(ip.total_len, 40);
	CHECK_INT(ip.proto, DP_IPPROTO_TCP);
	/* trailing Ethernet padding is allowed */
	CHECK_INT(dp_ipv4_parse(p, 60, 0, &ip), DP_DROP_NONE);
	p[12] ^= 1; /* corrupt: checksum no longer matches */
	CHECK_INT(dp_ipv4_parse(p, 40, 0, &ip), DP_DROP_IP_CSUM);
	/* unless the port already verified it */
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_NONE);
}

static void test_ipv4_malformed(void)
{
	uint8_t p[64];
	struct dp_ipv4_info ip;

	memset(&ip, 0xaa, sizeof(ip));
	memset(p, 0, sizeof(p));
	mk_ip(p, 40);
	for (size_t n = 0; n < 20; n++)
		CHECK_INT(dp_ipv4_parse(p, n, 0, &ip), DP_DROP_IP_SHORT);
	CHECK_INT(dp_ipv4_parse(p, 39, 0, &ip), DP_DROP_IP_LEN); /* total > buffer */
	p[0] = 0x65;
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_IP_VERSION);
	p[0] = 0x44; /* IHL 16 bytes */
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_IP_HLEN);
	p[0] = 0x4f; /* IHL 60 > buffer of 40 */
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_IP_HLEN);
	mk_ip(p, 19); /* total length below the header */
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_IP_LEN);
	/* fragments: MF, or an offset */
	mk_ip(p, 40);
	p[6] = 0x20;
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_IP_FRAG);
	p[6] = 0x00;
	p[7] = 0x10;
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_IP_FRAG);
	/* DF alone is fine */
	p[6] = 0x40;
	p[7] = 0;
	CHECK_INT(dp_ipv4_parse(p, 40, 1, &ip), DP_DROP_NONE);
	/* bad sources */
	const uint32_t bad[] = {0, 0xffffffffu, 0x7f000001u, 0xe0000001u};
	for (unsigned i = 0; i < 4; i++) {
		dp_ipv4_build(p, bad[i], 0xc6120002, 6, 40, 1, 0);
		CHECK_INT(dp_ipv4_parse(p, 40, 0, &ip), DP_DROP_IP_SRC);
	}
	/* options are accepted (IHL 6) */
	mk_ip(p, 44);
	p[0] = 0x46;
	p[10] = p[11] = 0;
	{
		uint16_t c = dp_csum_fold(dp_csum_partial(p, 24, 0));

		p[10] = (uint8_t)(c >> 8);
		p[11] = (uint8_t)c;
	}
	CHECK_INT(dp_ipv4_parse(p, 44, 0, &ip), DP_DROP_NONE);
	CHECK_INT(ip.hlen, 24);
}

static void test_ipv4_fuzz(void)
{
	uint8_t p[80];
	struct dp_ipv4_info ip;

	for (unsigned seed = 1; seed < 20000; seed++) {
		size_t n = seed % 81;
		int r;

		st_test_fill(p, sizeof(p), seed);
		if (seed & 1)
			p[0] = (uint8_t)(0x40 | (p[0] & 0xf));
		r = dp_ipv4_parse(p, n, (int)(seed & 2), &ip);
		CHECK(r >= 0 && r < DP_DROP_MAX);
		if (r == DP_DROP_NONE)
			CHECK(ip.hlen >= 20 && ip.total_len <= n && ip.hlen <= ip.total_len);
	}
}

static void test_arp(void)
{
	uint8_t p[28];
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 1}, zero[6] = {0};
	struct dp_arp_info a;

	dp_arp_build(p, DP_ARP_OP_REQUEST, mac, 0xc6120001, zero, 0xc6120002);
	CHECK_INT(dp_arp_parse(p, 28, &a), DP_DROP_NONE);
	CHECK_INT(a.op, DP_ARP_OP_REQUEST);
	CHECK_INT(a.spa, 0xc6120001);
	CHECK_INT(a.tpa, 0xc6120002);
	CHECK(memcmp(a.sha, mac, 6) == 0);
	for (size_t n = 0; n < 28; n++)
		CHECK_INT(dp_arp_parse(p, n, &a), DP_DROP_ARP_MALFORMED);
	p[1] = 6; /* htype */
	CHECK_INT(dp_arp_parse(p, 28, &a), DP_DROP_ARP_MALFORMED);
	p[1] = 1;
	p[3] = 0xdd; /* ptype */
	CHECK_INT(dp_arp_parse(p, 28, &a), DP_DROP_ARP_MALFORMED);
	p[3] = 0;
	p[4] = 8; /* hlen */
	CHECK_INT(dp_arp_parse(p, 28, &a), DP_DROP_ARP_MALFORMED);
	p[4] = 6;
	p[5] = 16; /* plen */
	CHECK_INT(dp_arp_parse(p, 28, &a), DP_DROP_ARP_MALFORMED);
}

static void test_icmp(void)
{
	uint8_t p[64];
	uint16_t c;

	memset(p, 0x5a, sizeof(p));
	p[0] = 8;
	p[1] = 0;
	p[2] = p[3] = 0;
	c = dp_csum_fold(dp_csum_partial(p, sizeof(p), 0));
	p[2] = (uint8_t)(c >> 8);
	p[3] = (uint8_t)c;
	CHECK_INT(dp_icmp_echo_parse(p, sizeof(p)), DP_DROP_NONE);
	for (size_t n = 0; n < 8; n++)
		CHECK_INT(dp_icmp_echo_parse(p, n), DP_DROP_ICMP_SHORT);
	CHECK_INT(dp_icmp_echo_parse(p, 63), DP_DROP_ICMP_CSUM); /* truncated: checksum fails */
	p[10] ^= 0xff;
	CHECK_INT(dp_icmp_echo_parse(p, sizeof(p)), DP_DROP_ICMP_CSUM);
	p[10] ^= 0xff;
	/* a well-formed echo reply (type 0) is not answered */
	p[0] = 0;
	p[2] = p[3] = 0;
	c = dp_csum_fold(dp_csum_partial(p, sizeof(p), 0));
	p[2] = (uint8_t)(c >> 8);
	p[3] = (uint8_t)c;
	CHECK_INT(dp_icmp_echo_parse(p, sizeof(p)), DP_DROP_ICMP_TYPE);
}

static void test_csum_odd_and_known(void)
{
	/* RFC 1071 example bytes: 00 01 f2 03 f4 f5 f6 f7 -> sum ddf2, checksum 220d */
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	CHECK_INT(dp_csum_fold(dp_csum_partial(b, 8, 0)), 0x220d);
	CHECK_INT(dp_csum_partial(b, 1, 0), 0);
	CHECK_INT(dp_csum_partial(b + 1, 1, 0), 0x0100);
}

static void test_drop_names(void)
{
	CHECK(strcmp(dp_drop_name(DP_DROP_IP_FRAG), "IP_FRAG") == 0);
	CHECK(strcmp(dp_drop_name(DP_DROP_MAX + 5), "UNKNOWN") == 0);
	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		CHECK(dp_drop_name(i) != NULL && dp_drop_text(i) != NULL);
}

int main(void)
{
	RUN(test_eth);
	RUN(test_ipv4_valid_and_checksum);
	RUN(test_ipv4_malformed);
	RUN(test_ipv4_fuzz);
	RUN(test_arp);
	RUN(test_icmp);
	RUN(test_csum_odd_and_known);
	RUN(test_drop_names);
	return st_test_done("test_dp_proto");
}
