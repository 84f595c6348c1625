/*
 * Unit tests: IPv6 / ICMPv6 / Neighbor Discovery parsers (dataplane/proto6.h)
 * with truncated and malicious input: the extension-header walk (every
 * header type, bounds, the count limit, misplaced hop-by-hop, routing with
 * segments left, fragments, discard-type options), the ICMPv6 checksum
 * against a hand-computed value and a one-bit flip, ND option bounds
 * (zero length, past the end, wrong size, multicast or repeated
 * link-layer addresses), the RFC 4861 rules (hop limit, DAD from ::,
 * multicast solicited NA), and address text both ways.
 */
#include <string.h>

#include "dataplane/proto.h"
#include "dataplane/proto6.h"
#include "tests/unit/test.h"

static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 0x01};

static struct dp_ip ip6(const char *s)
{
	struct dp_ip a;

	memset(&a, 0, sizeof(a));
	CHECK_INT(dp_ip_parse(s, &a), 0);
	return a;
}

/* A 40-byte header + payload of plen bytes starting with next header nh. */
static void mk6(uint8_t *p, uint8_t nh, uint16_t plen)
{
	struct dp_ip s = ip6("fd00:18::1"), d = ip6("fd00:18::2");

	dp_ipv6_build(p, &s, &d, nh, plen, 64);
}

static void test_addr_text(void)
{
	struct dp_ip a;
	char buf[DP_IP_STRLEN];

	CHECK_INT(dp_ip_parse("fd00:18::2", &a), 0);
	CHECK(!dp_ip_is_v4(&a));
	CHECK(strcmp(dp_ip_str(&a, buf, sizeof(buf)), "fd00:18::2") == 0);
	CHECK_INT(dp_ip_parse("198.18.0.1", &a), 0);
	CHECK(dp_ip_is_v4(&a));
	CHECK_INT(dp_ip_v4_of(&a), 0xc6120001);
	CHECK(strcmp(dp_ip_str(&a, buf, sizeof(buf)), "198.18.0.1") == 0);
	CHECK_INT(dp_ip_parse("fd00::1/64", &a), -1);
	CHECK_INT(dp_ip_parse("[fd00::1]", &a), -1);
	CHECK_INT(dp_ip_parse("", &a), -1);
	a = ip6("::");
	CHECK(dp_ip_is_any(&a));
	{
		struct dp_ip x = ip6("fd00:18::1"), y = ip6("fd00:18::ffff"), z = ip6("fd00:19::1");

		CHECK(dp_ip_same_prefix(&x, &y, 64));
		CHECK(!dp_ip_same_prefix(&x, &z, 64));
		CHECK(dp_ip_same_prefix(&x, &z, 16));
		CHECK(!dp_ip_same_prefix(&x, &z, 129));
	}
}

static void test_ipv6_header(void)
{
	uint8_t p[128];
	struct dp_ipv6_info ip;

	memset(p, 0, sizeof(p));
	mk6(p, DP_IPPROTO_TCP, 20);
	CHECK_INT(dp_ipv6_parse(p, 60, 60, &ip), DP_DROP_NONE);
	CHECK_INT(ip.proto, DP_IPPROTO_TCP);
	CHECK_INT(ip.l4_off, 40);
	CHECK_INT(ip.payload_len, 20);
	CHECK_INT(ip.hop_limit, 64);
	CHECK_INT(dp_ipv6_parse(p, 100, 100, &ip), DP_DROP_NONE); /* Ethernet padding */
	for (size_t n = 0; n < 40; n++)
		CHECK_INT(dp_ipv6_parse(p, n, n, &ip), DP_DROP_IP6_SHORT);
	CHECK_INT(dp_ipv6_parse(p, 59, 59, &ip), DP_DROP_IP6_LEN); /* payload beyond the frame */
	p[0] = 0x40;
	CHECK_INT(dp_ipv6_parse(p, 60, 60, &ip), DP_DROP_IP6_VERSION);
	p[0] = 0x60;
	/* sources: multicast, loopback, IPv4-mapped */
	p[8] = 0xff;
	CHECK_INT(dp_ipv6_parse(p, 60, 60, &ip), DP_DROP_IP6_SRC);
	memset(p + 8, 0, 16);
	p[23] = 1;
	CHECK_INT(dp_ipv6_parse(p, 60, 60, &ip), DP_DROP_IP6_SRC);
	p[23] = 0;
	p[18] = p[19] = 0xff;
	p[20] = 198;
	CHECK_INT(dp_ipv6_parse(p, 60, 60, &ip), DP_DROP_IP6_SRC);
	memset(p + 8, 0, 16); /* :: passes here (DAD), the caller decides */
	CHECK_INT(dp_ipv6_parse(p, 60, 60, &ip), DP_DROP_NONE);
}

static void test_ext_walk(void)
{
	uint8_t e[256];
	uint8_t proto = 0;
	uint16_t off = 0;

	memset(e, 0, sizeof(e));
	/* hop-by-hop (8, PadN) -> routing (segments left 0) -> dest opts (16) -> TCP */
	e[0] = DP_IPPROTO_ROUTING;
	e[1] = 0;
	e[2] = 1; /* PadN */
	e[3] = 4;
	e[8] = DP_IPPROTO_DSTOPTS;
	e[9] = 0;
	e[11] = 0; /* segments left */
	e[16] = DP_IPPROTO_TCP;
	e[17] = 1; /* 16 bytes: Pad1 x 14 */
	CHECK_INT(dp_ipv6_ext_walk(e, 32 + 20, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_NONE);
	CHECK_INT(proto, DP_IPPROTO_TCP);
	CHECK_INT(off, 32);
	/* every truncation of the chain is caught, none reads past len */
	for (size_t n = 0; n < 32; n++)
		CHECK_INT(dp_ipv6_ext_walk(e, n, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_EXT);
	/* the upper layer itself may be empty here: its own parser checks it */
	CHECK_INT(dp_ipv6_ext_walk(e, 32, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_NONE);
	/* routing with segments left */
	e[11] = 1;
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_ROUTING);
	e[11] = 0;
	/* hop-by-hop not first */
	e[16] = DP_IPPROTO_HOPOPTS;
	e[32] = DP_IPPROTO_TCP;
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_EXT);
	/* fragment, no next header, ESP */
	e[16] = DP_IPPROTO_FRAGMENT;
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_FRAG);
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_FRAGMENT, &proto, &off), DP_DROP_IP6_FRAG);
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_NONE, &proto, &off), DP_DROP_IP6_PROTO);
	CHECK_INT(dp_ipv6_ext_walk(e, 52, 50, &proto, &off), DP_DROP_IP6_PROTO);
	e[16] = DP_IPPROTO_TCP;
	/* an option whose length runs past its header */
	e[3] = 5;
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_EXT);
	/* an unknown option: type 0x05 (00: skip) passes, 0x45 / 0x85 / 0xc5 (discard) drop */
	e[2] = 0x05;
	e[3] = 4;
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_NONE);
	for (unsigned t = 1; t < 4; t++) {
		e[2] = (uint8_t)(t << 6 | 5);
		CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_OPT);
	}
	e[2] = 1;
	/* a header length that claims more than there is */
	e[9] = 200;
	CHECK_INT(dp_ipv6_ext_walk(e, 52, DP_IPPROTO_HOPOPTS, &proto, &off), DP_DROP_IP6_EXT);
	/* more than DP_IP6_EXT_MAX destination-option headers (each 8 bytes of PadN) */
	memset(e, 0, sizeof(e));
	for (unsigned i = 0; i < 20; i++) {
		e[i * 8] = DP_IPPROTO_DSTOPTS;
		e[i * 8 + 2] = 1;
		e[i * 8 + 3] = 4;
	}
	e[(DP_IP6_EXT_MAX - 1) * 8] = DP_IPPROTO_TCP;
	CHECK_INT(dp_ipv6_ext_walk(e, 200, DP_IPPROTO_DSTOPTS, &proto, &off), DP_DROP_NONE);
	CHECK_INT(off, DP_IP6_EXT_MAX * 8);
	e[(DP_IP6_EXT_MAX - 1) * 8] = DP_IPPROTO_DSTOPTS;
	CHECK_INT(dp_ipv6_ext_walk(e, 200, DP_IPPROTO_DSTOPTS, &proto, &off), DP_DROP_IP6_EXT);
}

static void test_parse_head_bound(void)
{
	uint8_t p[128];
	struct dp_ipv6_info ip;

	/* a destination-options header that lies past the contiguous head */
	memset(p, 0, sizeof(p));
	mk6(p, DP_IPPROTO_DSTOPTS, 48);
	p[40] = DP_IPPROTO_TCP;
	p[41] = 0;
	p[42] = 1;
	p[43] = 4;
	CHECK_INT(dp_ipv6_parse(p, 88, 88, &ip), DP_DROP_NONE);
	CHECK_INT(ip.l4_off, 48);
	CHECK_INT(dp_ipv6_parse(p, 88, 44, &ip), DP_DROP_IP6_EXT);
}

static void test_icmp6_csum(void)
{
	uint8_t m[16] = {DP_ICMP6_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 1, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
	struct dp_ip s = ip6("fe80::1"), d = ip6("fe80::2");
	uint32_t sum = 0;

	dp_icmp6_csum_set(&s, &d, m, sizeof(m));
	/* By hand: fe80 + 1 + fe80 + 2 + length 16 + next header 58 + the message's words. */
	sum = 0xfe80 + 0x0001 + 0xfe80 + 0x0002 + 16 + 58;
	sum += 0x8000 + 0x1234 + 0x0001 + 0x6162 + 0x6364 + 0x6566 + 0x6768;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	CHECK_INT(m[2] << 8 | m[3], (uint16_t)~sum);
	CHECK(dp_icmp6_csum_ok(&s, &d, m, sizeof(m)));
	for (unsigned bit = 0; bit < sizeof(m) * 8; bit += 7) {
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(!dp_icmp6_csum_ok(&s, &d, m, sizeof(m)));
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* the pseudo-header counts: other addresses, other sum */
	d = ip6("fe80::3");
	CHECK(!dp_icmp6_csum_ok(&s, &d, m, sizeof(m)));
	CHECK_INT(dp_icmp6_echo_parse(m, sizeof(m)), DP_DROP_NONE);
	CHECK_INT(dp_icmp6_echo_parse(m, 7), DP_DROP_ICMP6_SHORT);
	m[0] = DP_ICMP6_ECHO_REPLY;
	CHECK_INT(dp_icmp6_echo_parse(m, sizeof(m)), DP_DROP_ICMP6_TYPE);
}

static void test_nd_parse(void)
{
	uint8_t m[64];
	struct dp_nd_info nd;
	struct dp_ip src = ip6("fd00:18::1"), us = ip6("fd00:18::2"), any = ip6("::");
	struct dp_ip sn = dp_ip6_solicited(&us);
	size_t n;

	memset(&nd, 0, sizeof(nd));
	n = dp_nd_build_ns(m, &us, mac1);
	CHECK_INT(n, 32);
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_NONE);
	CHECK_INT(nd.type, DP_ND_NS);
	CHECK(nd.has_lla && memcmp(nd.lla, mac1, 6) == 0);
	CHECK(dp_ip_eq(&nd.target, &us));
	/* hop limit must be 255: anything routed is refused */
	CHECK_INT(dp_nd_parse(m, n, 254, &src, &sn, &nd), DP_DROP_ND_HOPLIMIT);
	CHECK_INT(dp_nd_parse(m, n, 64, &src, &sn, &nd), DP_DROP_ND_HOPLIMIT);
	/* truncated anywhere: the fixed part, the option header, the option body */
	for (size_t k = 0; k < 24; k++)
		CHECK_INT(dp_nd_parse(m, k, 255, &src, &sn, &nd), DP_DROP_ND_MALFORMED);
	CHECK_INT(dp_nd_parse(m, 25, 255, &src, &sn, &nd), DP_DROP_ND_OPT_TRUNC);
	for (size_t k = 26; k < 32; k++)
		CHECK_INT(dp_nd_parse(m, k, 255, &src, &sn, &nd), DP_DROP_ND_OPT_TRUNC);
	/* zero-length option (the classic infinite loop) */
	m[25] = 0;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ND_OPT_ZERO);
	/* a length that claims 255 * 8 bytes */
	m[25] = 255;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ND_OPT_TRUNC);
	/* a link-layer option of 16 bytes (not Ethernet) */
	memset(m + 32, 0, 8);
	m[25] = 2;
	CHECK_INT(dp_nd_parse(m, 40, 255, &src, &sn, &nd), DP_DROP_ND_OPT_BAD);
	m[25] = 1;
	/* multicast and zero MACs */
	m[26] = 0x01;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ND_OPT_BAD);
	memset(m + 26, 0, 6);
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ND_OPT_BAD);
	memcpy(m + 26, mac1, 6);
	/* two source link-layer options */
	memcpy(m + 32, m + 24, 8);
	CHECK_INT(dp_nd_parse(m, 40, 255, &src, &sn, &nd), DP_DROP_ND_OPT_BAD);
	/* an unknown option before it is skipped */
	m[24] = 14; /* nonce */
	CHECK_INT(dp_nd_parse(m, 40, 255, &src, &sn, &nd), DP_DROP_NONE);
	CHECK(nd.has_lla);
	m[24] = DP_ND_OPT_SLLA;
	/* code, multicast target */
	m[1] = 1;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ND_MALFORMED);
	m[1] = 0;
	m[8] = 0xff;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ND_MALFORMED);
	m[8] = 0xfd;
	/* DAD probe: from ::, to the solicited-node group, no link-layer option */
	n = dp_nd_build_ns(m, &us, NULL);
	CHECK_INT(dp_nd_parse(m, n, 255, &any, &sn, &nd), DP_DROP_NONE);
	CHECK(!nd.has_lla);
	CHECK_INT(dp_nd_parse(m, n, 255, &any, &us, &nd), DP_DROP_ND_MALFORMED);
	n = dp_nd_build_ns(m, &us, mac1);
	CHECK_INT(dp_nd_parse(m, n, 255, &any, &sn, &nd), DP_DROP_ND_MALFORMED);
	/* NA: flags and target link-layer address; a multicast one may not be solicited */
	n = dp_nd_build_na(m, &src, DP_ND_NA_SOLICITED | DP_ND_NA_OVERRIDE, mac1);
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &us, &nd), DP_DROP_NONE);
	CHECK_INT(nd.type, DP_ND_NA);
	CHECK_INT(nd.flags, DP_ND_NA_SOLICITED | DP_ND_NA_OVERRIDE);
	CHECK(nd.has_lla);
	{
		struct dp_ip all = ip6("ff02::1");

		CHECK_INT(dp_nd_parse(m, n, 255, &src, &all, &nd), DP_DROP_ND_MALFORMED);
		m[4] = DP_ND_NA_OVERRIDE;
		CHECK_INT(dp_nd_parse(m, n, 255, &src, &all, &nd), DP_DROP_NONE);
	}
	CHECK_INT(dp_nd_parse(m, n, 255, &any, &us, &nd), DP_DROP_ND_MALFORMED);
	/* an NS's target link-layer option is not its source one: ignored, not taken */
	n = dp_nd_build_ns(m, &us, mac1);
	m[24] = DP_ND_OPT_TLLA;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_NONE);
	CHECK(!nd.has_lla);
	/* other ICMPv6 types are not ND */
	m[0] = 134;
	CHECK_INT(dp_nd_parse(m, n, 255, &src, &sn, &nd), DP_DROP_ICMP6_TYPE);
}

static void test_multicast_helpers(void)
{
	struct dp_ip a = ip6("fd00:18::12:3456"), s = dp_ip6_solicited(&a), want = ip6("ff02::1:ff12:3456");
	uint8_t mac[6], ll_want_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	struct dp_ip ll = dp_ip6_link_local(ll_want_mac), ll_want = ip6("fe80::11:22ff:fe33:4455");

	CHECK(dp_ip_eq(&s, &want));
	dp_ip6_mcast_mac(&s, mac);
	CHECK(mac[0] == 0x33 && mac[1] == 0x33 && mac[2] == 0xff && mac[3] == 0x12 && mac[4] == 0x34 &&
	      mac[5] == 0x56);
	CHECK(dp_ip_eq(&ll, &ll_want));
	CHECK(dp_ip6_is_link_local(&ll));
	CHECK(!dp_ip6_is_link_local(&a));
}

int main(void)
{
	RUN(test_addr_text);
	RUN(test_ipv6_header);
	RUN(test_ext_walk);
	RUN(test_parse_head_bound);
	RUN(test_icmp6_csum);
	RUN(test_nd_parse);
	RUN(test_multicast_helpers);
	return st_test_done("dp_proto6");
}
