/* Unit tests for the PROXY protocol v1/v2 parser and v2 builder (control/proxyhdr.c). */
#include <string.h>

#include "control/proxyhdr.h"
#include "tests/unit/test.h"

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static int parse_str(const char *s, struct st_proxyhdr *h)
{
	return st_proxyhdr_parse((const uint8_t *)s, strlen(s), h);
}

static void test_v1_valid(void)
{
	struct st_proxyhdr h;
	const char *l4 = "PROXY TCP4 198.18.0.9 198.18.0.1 51234 22\r\n";
	size_t total = 0;

	CHECK_INT(parse_str(l4, &h), 0);
	CHECK_INT(h.version, 1);
	CHECK_INT(h.family, ST_PROXYHDR_INET);
	CHECK_MEM(h.src, "\xc6\x12\x00\x09", 4);
	CHECK_MEM(h.dst, "\xc6\x12\x00\x01", 4);
	CHECK_INT(h.src_port, 51234);
	CHECK_INT(h.dst_port, 22);
	CHECK_INT(h.len, strlen(l4));
	/* framing finds the end with bytes after it */
	char buf[128];
	snprintf(buf, sizeof(buf), "%sSSH-2.0-x\r\n", l4);
	CHECK_INT(st_proxyhdr_frame((const uint8_t *)buf, strlen(buf), &total), 0);
	CHECK_INT(total, strlen(l4));

	CHECK_INT(parse_str("PROXY TCP6 fd00::9 fd00::1 65535 0\r\n", &h), 0);
	CHECK_INT(h.family, ST_PROXYHDR_INET6);
	CHECK_INT(h.src[0], 0xfd);
	CHECK_INT(h.src[15], 9);
	CHECK_INT(h.src_port, 65535);
	CHECK_INT(h.dst_port, 0);

	CHECK_INT(parse_str("PROXY UNKNOWN\r\n", &h), 0);
	CHECK_INT(h.family, ST_PROXYHDR_NONE);
	CHECK_INT(parse_str("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", &h), 0);
	CHECK_INT(h.family, ST_PROXYHDR_NONE);

	/* the longest possible line (107 bytes) is accepted */
	const char *longest = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	CHECK_INT(strlen(longest), 104);
	CHECK_INT(parse_str(longest, &h), 0);
	char l107[ST_PROXYHDR_V1_MAX + 1];
	memset(l107, 'x', sizeof(l107));
	memcpy(l107, "PROXY UNKNOWN ", 14);
	memcpy(l107 + 105, "\r\n", 2);
	l107[107] = '\0';
	CHECK_INT(parse_str(l107, &h), 0);
	CHECK_INT(h.len, 107);
}

static void test_v1_bad(void)
{
	static const struct {
		const char *s;
		int want;
	} t[] = {
		{"PROXY TCP4 198.18.0.9 198.18.0.1 51234 22\n", ST_PROXYHDR_E_SYNTAX},  /* bare LF */
		{"PROXY TCP4 198.18.0.9 198.18.0.1 51234 22\rx\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY TCP4  198.18.0.9 198.18.0.1 51234 22\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 51234 22 \r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 51234 22 7\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 51234\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY TCP5 198.18.0.9 198.18.0.1 51234 22\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY tcp4 198.18.0.9 198.18.0.1 51234 22\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY \r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY TCP4 fd00::9 198.18.0.1 51234 22\r\n", ST_PROXYHDR_E_ADDRESS},
		{"PROXY TCP6 198.18.0.9 fd00::1 51234 22\r\n", ST_PROXYHDR_E_ADDRESS},
		{"PROXY TCP4 198.18.0.256 198.18.0.1 51234 22\r\n", ST_PROXYHDR_E_ADDRESS},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 65536 22\r\n", ST_PROXYHDR_E_PORT},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 051234 22\r\n", ST_PROXYHDR_E_PORT},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 -1 22\r\n", ST_PROXYHDR_E_PORT},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 2x 22\r\n", ST_PROXYHDR_E_PORT},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 1 02\r\n", ST_PROXYHDR_E_PORT},
		{"PROXY TCP4 198.18.0.9 198.18.0.1 51234 22\r\nX", ST_PROXYHDR_E_SYNTAX}, /* trailing */
		{"PROXY UNKNOWN \x01\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXY UNKNOWN \xc3\xa9\r\n", ST_PROXYHDR_E_SYNTAX},
		{"PROXX TCP4\r\n", ST_PROXYHDR_E_SIGNATURE},
		{"SSH-2.0-OpenSSH\r\n", ST_PROXYHDR_E_SIGNATURE},
		{"PROXYTCP4\r\n", ST_PROXYHDR_E_SIGNATURE},
	};
	struct st_proxyhdr h;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = parse_str(t[i].s, &h);
		if (r != t[i].want)
			st_test_fail(__FILE__, __LINE__, "case %zu: %d want %d", i, r, t[i].want);
	}
	/* no CR LF within 107 bytes: oversize, from framing as from parsing */
	char big[200];
	size_t total = 0;
	memset(big, 'a', sizeof(big));
	memcpy(big, "PROXY UNKNOWN ", 14);
	CHECK_INT(st_proxyhdr_frame((uint8_t *)big, ST_PROXYHDR_V1_MAX, &total), ST_PROXYHDR_E_OVERSIZE);
	CHECK_INT(st_proxyhdr_frame((uint8_t *)big, ST_PROXYHDR_V1_MAX - 1, &total),
		  ST_PROXYHDR_E_TRUNCATED);
	memcpy(big + 106, "\r\n", 2); /* 108 bytes with the CR LF */
	CHECK_INT(st_proxyhdr_frame((uint8_t *)big, 108, &total), ST_PROXYHDR_E_OVERSIZE);
	CHECK_INT(st_proxyhdr_parse((uint8_t *)big, 108, &h), ST_PROXYHDR_E_OVERSIZE);
	CHECK_INT(total, 0);
}

/* Every proper prefix of a valid header is "truncated", for framing and parsing. */
static void check_prefixes(const uint8_t *p, size_t n)
{
	struct st_proxyhdr h;
	size_t total;

	for (size_t k = 0; k < n; k++) {
		total = 12345;
		int f = st_proxyhdr_frame(p, k, &total);
		int r = st_proxyhdr_parse(p, k, &h);
		if (f != ST_PROXYHDR_E_TRUNCATED || r != ST_PROXYHDR_E_TRUNCATED || total != 12345) {
			st_test_fail(__FILE__, __LINE__, "prefix %zu of %zu: frame %d parse %d", k, n, f, r);
			return;
		}
	}
	CHECK_INT(st_proxyhdr_frame(p, n, &total), 0);
	CHECK_INT(total, n);
	CHECK_INT(st_proxyhdr_parse(p, n, &h), 0);
}

static size_t v2_make(uint8_t *b, uint8_t vc, uint8_t fam, const uint8_t *body, size_t blen)
{
	memcpy(b, SIG, 12);
	b[12] = vc;
	b[13] = fam;
	b[14] = (uint8_t)(blen >> 8);
	b[15] = (uint8_t)blen;
	memcpy(b + 16, body, blen);
	return 16 + blen;
}

static void test_truncations(void)
{
	const char *l4 = "PROXY TCP4 198.18.0.9 198.18.0.1 51234 22\r\n";
	uint8_t b[256], body[64];

	check_prefixes((const uint8_t *)l4, strlen(l4));
	memset(body, 0, sizeof(body));
	check_prefixes(b, v2_make(b, 0x21, 0x11, body, 12));
	check_prefixes(b, v2_make(b, 0x21, 0x21, body, 36));
	check_prefixes(b, v2_make(b, 0x20, 0x00, body, 0));
}

static void test_v2_valid(void)
{
	uint8_t b[256], body[64];
	struct st_proxyhdr h;

	/* TCP4 with TLVs: NOOP (empty), AUTHORITY, application */
	memcpy(body, "\xc6\x12\x00\x09\xc6\x12\x00\x01\xc8\x22\x00\x16", 12);
	memcpy(body + 12, "\x04\x00\x00" "\x02\x00\x03" "abc" "\xe5\x00\x01" "Z", 3 + 6 + 4);
	size_t n = v2_make(b, 0x21, 0x11, body, 12 + 13);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), 0);
	CHECK_INT(h.version, 2);
	CHECK_INT(h.family, ST_PROXYHDR_INET);
	CHECK_MEM(h.src, "\xc6\x12\x00\x09", 4);
	CHECK_INT(h.src_port, 51234);
	CHECK_INT(h.dst_port, 22);
	CHECK_INT(h.tlv_len, 13);
	size_t off = 0;
	uint8_t type;
	const uint8_t *val;
	uint16_t vl;
	CHECK(st_proxyhdr_tlv_next(b, &h, &off, &type, &val, &vl) == 1 && type == 4 && vl == 0);
	CHECK(st_proxyhdr_tlv_next(b, &h, &off, &type, &val, &vl) == 1 && type == 2 && vl == 3 &&
	      memcmp(val, "abc", 3) == 0);
	CHECK(st_proxyhdr_tlv_next(b, &h, &off, &type, &val, &vl) == 1 && type == 0xe5 && vl == 1);
	CHECK_INT(st_proxyhdr_tlv_next(b, &h, &off, &type, &val, &vl), 0);

	/* TCP6 */
	memset(body, 0, 36);
	body[0] = 0xfd;
	body[15] = 9;
	body[32] = 0x01;
	body[33] = 0x02;
	n = v2_make(b, 0x21, 0x21, body, 36);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), 0);
	CHECK_INT(h.family, ST_PROXYHDR_INET6);
	CHECK_INT(h.src[15], 9);
	CHECK_INT(h.src_port, 0x0102);
	CHECK_INT(h.tlv_len, 0);

	/* LOCAL: whatever follows is skipped, even an odd family */
	memset(body, 0xee, 20);
	n = v2_make(b, 0x20, 0x31, body, 20);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), 0);
	CHECK_INT(h.family, ST_PROXYHDR_NONE);
	/* PROXY with UNSPEC: as LOCAL */
	n = v2_make(b, 0x21, 0x00, body, 0);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), 0);
	CHECK_INT(h.family, ST_PROXYHDR_NONE);
	/* the longest accepted body */
	static uint8_t big[ST_PROXYHDR_MAX + 16];
	memset(body, 0, 12);
	memcpy(big, SIG, 12);
	big[12] = 0x21;
	big[13] = 0x11;
	big[14] = ST_PROXYHDR_V2_BODY_MAX >> 8;
	big[15] = ST_PROXYHDR_V2_BODY_MAX & 0xff;
	memset(big + 16, 0, ST_PROXYHDR_V2_BODY_MAX);
	size_t tl = ST_PROXYHDR_V2_BODY_MAX - 12 - 3;
	big[16 + 12] = 0xe0;
	big[16 + 13] = (uint8_t)(tl >> 8);
	big[16 + 14] = (uint8_t)tl;
	CHECK_INT(st_proxyhdr_parse(big, ST_PROXYHDR_MAX, &h), 0);
}

static void test_v2_bad(void)
{
	uint8_t b[256], body[64];
	struct st_proxyhdr h;
	size_t n, total = 0;

	memset(body, 0, sizeof(body));
	/* bad signature at each byte */
	for (size_t i = 0; i < 12; i++) {
		n = v2_make(b, 0x21, 0x11, body, 12);
		b[i] ^= 0x40;
		int r = st_proxyhdr_parse(b, n, &h);
		if (r != ST_PROXYHDR_E_SIGNATURE)
			st_test_fail(__FILE__, __LINE__, "signature byte %zu: %d", i, r);
		if (st_proxyhdr_frame(b, i + 1, &total) != ST_PROXYHDR_E_SIGNATURE)
			st_test_fail(__FILE__, __LINE__, "frame of signature byte %zu", i);
	}
	n = v2_make(b, 0x11, 0x11, body, 12);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_VERSION);
	CHECK_INT(st_proxyhdr_frame(b, 13, &total), ST_PROXYHDR_E_VERSION);
	n = v2_make(b, 0x31, 0x11, body, 12);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_VERSION);
	n = v2_make(b, 0x22, 0x11, body, 12);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_COMMAND);
	n = v2_make(b, 0x2f, 0x11, body, 12);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_COMMAND);
	static const uint8_t bad_fam[] = {0x12, 0x22, 0x31, 0x32, 0x10, 0x20, 0x41, 0x01, 0x13};
	for (size_t i = 0; i < sizeof(bad_fam); i++) {
		n = v2_make(b, 0x21, bad_fam[i], body, 60);
		if (st_proxyhdr_parse(b, n, &h) != ST_PROXYHDR_E_FAMILY)
			st_test_fail(__FILE__, __LINE__, "family 0x%02x accepted", bad_fam[i]);
	}
	/* body shorter than the address block */
	n = v2_make(b, 0x21, 0x11, body, 11);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_LENGTH);
	n = v2_make(b, 0x21, 0x21, body, 35);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_LENGTH);
	/* trailing bytes after the stated length */
	n = v2_make(b, 0x21, 0x11, body, 12);
	CHECK_INT(st_proxyhdr_parse(b, n + 1, &h), ST_PROXYHDR_E_LENGTH);
	/* TLVs that overrun: partial type/length, value past the end */
	n = v2_make(b, 0x21, 0x11, body, 13);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_TLV);
	n = v2_make(b, 0x21, 0x11, body, 14);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_TLV);
	memcpy(body + 12, "\xe0\x00\x05" "abcd", 7);
	n = v2_make(b, 0x21, 0x11, body, 19);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_TLV);
	memcpy(body + 12, "\xe0\xff\xff", 3);
	n = v2_make(b, 0x21, 0x11, body, 15);
	CHECK_INT(st_proxyhdr_parse(b, n, &h), ST_PROXYHDR_E_TLV);
	/* oversize body, from the fixed header alone */
	memcpy(b, SIG, 12);
	b[12] = 0x21;
	b[13] = 0x11;
	b[14] = (ST_PROXYHDR_V2_BODY_MAX + 1) >> 8;
	b[15] = (ST_PROXYHDR_V2_BODY_MAX + 1) & 0xff;
	CHECK_INT(st_proxyhdr_frame(b, 16, &total), ST_PROXYHDR_E_OVERSIZE);
	CHECK_INT(st_proxyhdr_parse(b, 16, &h), ST_PROXYHDR_E_OVERSIZE);
	b[14] = b[15] = 0xff;
	CHECK_INT(st_proxyhdr_frame(b, 16, &total), ST_PROXYHDR_E_OVERSIZE);
	/* NULL arguments */
	CHECK_INT(st_proxyhdr_parse(NULL, 4, &h), ST_PROXYHDR_E_ARG);
	CHECK_INT(st_proxyhdr_parse(b, 16, NULL), ST_PROXYHDR_E_ARG);
	CHECK_INT(st_proxyhdr_frame(b, 16, NULL), ST_PROXYHDR_E_ARG);
	CHECK_INT(st_proxyhdr_parse(b, 0, &h), ST_PROXYHDR_E_TRUNCATED);
	CHECK(strcmp(st_proxyhdr_err_str(ST_PROXYHDR_E_TLV), "unknown") != 0);
	CHECK(strcmp(st_proxyhdr_err_str(-99), "unknown") == 0);
}

static void test_build(void)
{
	struct st_proxyhdr in, out;
	uint8_t b[ST_PROXYHDR_MAX];
	size_t n = 0;
	struct st_proxyhdr_tlv t[3] = {
		{ST_PP2_TYPE_USER, (const uint8_t *)"alice", 5},
		{ST_PP2_TYPE_KEY_FP, (const uint8_t *)"SHA256:abc", 10},
		{ST_PP2_TYPE_COMMAND, NULL, 0},
	};

	memset(&in, 0, sizeof(in));
	in.family = ST_PROXYHDR_INET6;
	in.src[0] = 0xfd;
	in.src[15] = 7;
	in.dst[0] = 0xfd;
	in.dst[15] = 1;
	in.src_port = 40000;
	in.dst_port = 22;
	CHECK_INT(st_proxyhdr_v2_build(&in, t, 3, b, sizeof(b), &n), 0);
	CHECK_INT(n, 16 + 36 + 8 + 13 + 3);
	CHECK_INT(st_proxyhdr_parse(b, n, &out), 0);
	CHECK_INT(out.family, ST_PROXYHDR_INET6);
	CHECK_MEM(out.src, in.src, 16);
	CHECK_MEM(out.dst, in.dst, 16);
	CHECK_INT(out.src_port, 40000);
	CHECK_INT(out.dst_port, 22);
	size_t off = 0;
	uint8_t type;
	const uint8_t *val;
	uint16_t vl;
	unsigned k = 0;
	while (k < 8 && st_proxyhdr_tlv_next(b, &out, &off, &type, &val, &vl)) {
		CHECK(k < 3 && type == t[k].type && vl == t[k].len);
		if (k < 3 && vl == t[k].len && vl > 0)
			CHECK_MEM(val, t[k].val, vl);
		k++;
	}
	CHECK_INT(k, 3);
	/* IPv4 and LOCAL */
	in.family = ST_PROXYHDR_INET;
	CHECK_INT(st_proxyhdr_v2_build(&in, NULL, 0, b, sizeof(b), &n), 0);
	CHECK_INT(n, 28);
	CHECK_INT(st_proxyhdr_parse(b, n, &out), 0);
	CHECK_INT(out.family, ST_PROXYHDR_INET);
	in.family = ST_PROXYHDR_NONE;
	CHECK_INT(st_proxyhdr_v2_build(&in, NULL, 0, b, sizeof(b), &n), 0);
	CHECK_INT(n, 16);
	CHECK_INT(b[12], 0x20);
	/* too big: body over the cap, or output too small */
	static uint8_t blob[ST_PROXYHDR_V2_BODY_MAX];
	struct st_proxyhdr_tlv big = {ST_PP2_TYPE_COMMAND, blob, ST_PROXYHDR_V2_BODY_MAX - 2};
	CHECK_INT(st_proxyhdr_v2_build(&in, &big, 1, b, sizeof(b), &n), ST_PROXYHDR_E_ARG);
	big.len = ST_PROXYHDR_V2_BODY_MAX - 3;
	CHECK_INT(st_proxyhdr_v2_build(&in, &big, 1, b, sizeof(b), &n), 0);
	CHECK_INT(st_proxyhdr_v2_build(&in, &big, 1, b, 100, &n), ST_PROXYHDR_E_ARG);
}

int main(void)
{
	RUN(test_v1_valid);
	RUN(test_v1_bad);
	RUN(test_truncations);
	RUN(test_v2_valid);
	RUN(test_v2_bad);
	RUN(test_build);
	return st_test_done("test_proxyhdr");
}
