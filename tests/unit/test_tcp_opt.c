/* Unit tests: TCP option parsing (well-formed, truncated, malicious) and writing. */
#include <string.h>

#include "dataplane/tcp/tcp_opt.h"
#include "tests/unit/test.h"

static void test_syn_options(void)
{
	/* MSS 1460, SACK_OK, TS 1/0, NOP, WS 7 */
	const uint8_t p[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
	struct tcp_opts o;

	CHECK_OK(tcp_opts_parse(p, sizeof(p), &o));
	CHECK_INT(o.flags, TCP_OF_MSS | TCP_OF_SACK_OK | TCP_OF_TS | TCP_OF_WS);
	CHECK_INT(o.mss, 1460);
	CHECK_INT(o.ws, 7);
	CHECK_INT(o.tsval, 1);
	CHECK_INT(o.tsecr, 0);
}

static void test_sack_blocks(void)
{
	uint8_t p[40] = {1, 1, 5, 2 + 8 * 3};
	struct tcp_opts o;

	for (unsigned i = 0; i < 24; i++)
		p[4 + i] = (uint8_t)i;
	CHECK_OK(tcp_opts_parse(p, 28, &o));
	CHECK(o.flags & TCP_OF_SACK);
	CHECK_INT(o.nsack, 3);
	CHECK(o.sack[0][0] == 0x00010203u);
	CHECK(o.sack[0][1] == 0x04050607u);
	CHECK(o.sack[2][1] == 0x14151617u);
	/* 4 blocks (no timestamps) */
	p[3] = 2 + 8 * 4;
	CHECK_OK(tcp_opts_parse(p, 36, &o));
	CHECK_INT(o.nsack, 4);
}

static void test_eol_and_padding(void)
{
	const uint8_t p[] = {1, 1, 0, 2, 0xff, 0xff, 0xff, 0xff}; /* junk after EOL is ignored */
	struct tcp_opts o;

	CHECK_OK(tcp_opts_parse(p, sizeof(p), &o));
	CHECK_INT(o.flags, 0);
	CHECK_OK(tcp_opts_parse(p, 0, &o));
}

static void test_truncated_everywhere(void)
{
	const uint8_t p[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
	struct tcp_opts o;

	/* Every prefix either parses (cut at an option boundary) or is rejected; none crash. */
	for (size_t n = 0; n <= sizeof(p); n++) {
		int r = tcp_opts_parse(p, n, &o);

		if (n == 1 || n == 2 || n == 3 || n == 5 || (n > 6 && n < 16) || n == 18 ||
		    n == 19)
			CHECK_ERR(r, ST_ERR_FORMAT);
		else
			CHECK_OK(r);
	}
}

static void test_malicious_lengths(void)
{
	struct tcp_opts o;
	const uint8_t zero_len[] = {8, 0, 1, 1};
	const uint8_t one_len[] = {2, 1, 1, 1};
	const uint8_t past_end[] = {5, 40, 1, 1};
	const uint8_t big_unknown[] = {99, 255};
	const uint8_t wrong_mss[] = {2, 6, 1, 2, 3, 4, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0};
	const uint8_t bad_sack[] = {5, 9, 1, 2, 3, 4, 5, 6, 7};
	const uint8_t ws_big[] = {3, 3, 200, 0};
	uint8_t too_long[41];

	CHECK_ERR(tcp_opts_parse(zero_len, sizeof(zero_len), &o), ST_ERR_FORMAT);
	CHECK_ERR(tcp_opts_parse(one_len, sizeof(one_len), &o), ST_ERR_FORMAT);
	CHECK_ERR(tcp_opts_parse(past_end, sizeof(past_end), &o), ST_ERR_FORMAT);
	CHECK_ERR(tcp_opts_parse(big_unknown, sizeof(big_unknown), &o), ST_ERR_FORMAT);
	/* a known option with the wrong length is ignored, the rest still parsed */
	CHECK_OK(tcp_opts_parse(wrong_mss, sizeof(wrong_mss), &o));
	CHECK(!(o.flags & TCP_OF_MSS));
	CHECK(o.flags & TCP_OF_TS);
	CHECK_INT(o.tsval, 9);
	CHECK_OK(tcp_opts_parse(bad_sack, sizeof(bad_sack), &o));
	CHECK(!(o.flags & TCP_OF_SACK));
	CHECK_OK(tcp_opts_parse(ws_big, sizeof(ws_big), &o));
	CHECK_INT(o.ws, TCP_MAX_WSCALE);
	memset(too_long, 1, sizeof(too_long));
	CHECK_ERR(tcp_opts_parse(too_long, sizeof(too_long), &o), ST_ERR_FORMAT);
}

static void test_fuzz_no_crash(void)
{
	uint8_t buf[40];
	struct tcp_opts o;

	for (unsigned seed = 1; seed < 20000; seed++) {
		size_t n = seed % 41;
		int r;

		st_test_fill(buf, sizeof(buf), seed);
		r = tcp_opts_parse(buf, n, &o);
		CHECK(r == ST_OK || r == ST_ERR_FORMAT);
		if (r == ST_OK)
			CHECK(o.nsack <= TCP_MAX_SACK && o.ws <= TCP_MAX_WSCALE);
	}
}

static void test_write_parse_roundtrip(void)
{
	uint8_t buf[40];
	struct tcp_opts o, p;
	size_t n;

	memset(&o, 0, sizeof(o));
	o.flags = TCP_OF_MSS | TCP_OF_WS | TCP_OF_SACK_OK | TCP_OF_TS;
	o.mss = 1400;
	o.ws = 9;
	o.tsval = 0xdeadbeef;
	o.tsecr = 42;
	n = tcp_opts_write(buf, 1, &o);
	CHECK_INT(n % 4, 0);
	CHECK(n <= 40);
	CHECK_OK(tcp_opts_parse(buf, n, &p));
	CHECK_INT(p.flags, o.flags);
	CHECK_INT(p.mss, 1400);
	CHECK_INT(p.ws, 9);
	CHECK(p.tsval == 0xdeadbeef);
	/* data segment: TS + 3 SACK blocks fill 40 bytes exactly */
	memset(&o, 0, sizeof(o));
	o.flags = TCP_OF_TS | TCP_OF_SACK;
	o.nsack = 4; /* only 3 fit with timestamps */
	for (unsigned i = 0; i < 4; i++) {
		o.sack[i][0] = 1000 * i;
		o.sack[i][1] = 1000 * i + 500;
	}
	n = tcp_opts_write(buf, 0, &o);
	CHECK_INT(n, 40);
	CHECK_OK(tcp_opts_parse(buf, n, &p));
	CHECK_INT(p.nsack, 3);
	CHECK_INT(p.sack[2][1], 2500);
	/* each SYN option alone stays 4-byte aligned */
	const uint8_t sets[] = {TCP_OF_MSS, TCP_OF_SACK_OK, TCP_OF_TS, TCP_OF_WS,
				TCP_OF_MSS | TCP_OF_SACK_OK};
	for (unsigned i = 0; i < sizeof(sets); i++) {
		memset(&o, 0, sizeof(o));
		o.flags = sets[i];
		n = tcp_opts_write(buf, 1, &o);
		CHECK_INT(n % 4, 0);
		CHECK_OK(tcp_opts_parse(buf, n, &p));
		CHECK_INT(p.flags, sets[i]);
	}
}

int main(void)
{
	RUN(test_syn_options);
	RUN(test_sack_blocks);
	RUN(test_eol_and_padding);
	RUN(test_truncated_everywhere);
	RUN(test_malicious_lengths);
	RUN(test_fuzz_no_crash);
	RUN(test_write_parse_roundtrip);
	return st_test_done("test_tcp_opt");
}
