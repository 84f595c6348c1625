/* Unit tests: SYN cookies (SipHash-2-4 MAC, MSS table, ageing, forgery). */
#include <string.h>

#include "dataplane/tcp/tcp_cookie.h"
#include "tests/unit/test.h"

static const struct tcp_cookie_key key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

static void test_siphash_vector(void)
{
	/* Reference vector from the SipHash paper: key 00..0f, message 00..0e. */
	uint8_t msg[15];

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	CHECK(st_siphash24(&key, msg, 15) == 0xa129ca6149be45e5ull);
	CHECK(st_siphash24(&key, msg, 0) == 0x726fdb47dd0e0e31ull);
}

static void test_roundtrip(void)
{
	uint16_t mss = 0;
	uint32_t c = tcp_cookie_make(&key, 0xc6120001, 0xc6120002, 40000, 22, 0x12345678, 1460, 1000);

	CHECK_OK(tcp_cookie_check(&key, c, 0xc6120001, 0xc6120002, 40000, 22, 0x12345678, 1000, &mss));
	CHECK_INT(mss, 1460);
	/* still valid in the next period, not in the one after */
	mss = 0;
	CHECK_OK(tcp_cookie_check(&key, c, 0xc6120001, 0xc6120002, 40000, 22, 0x12345678,
				  1000 + TCP_COOKIE_PERIOD_S, &mss));
	CHECK_ERR(tcp_cookie_check(&key, c, 0xc6120001, 0xc6120002, 40000, 22, 0x12345678,
				   1000 + 3 * TCP_COOKIE_PERIOD_S, &mss),
		  ST_ERR_STATE);
}

static void test_mss_table(void)
{
	uint16_t mss;
	const uint16_t in[] = {536, 1000, 1400, 1460, 9000, 100};
	const uint16_t want[] = {536, 536, 1400, 1460, 8960, 536};

	for (unsigned i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint32_t c = tcp_cookie_make(&key, 1, 2, 3, 4, 5, in[i], 77);

		CHECK_OK(tcp_cookie_check(&key, c, 1, 2, 3, 4, 5, 77, &mss));
		CHECK_INT(mss, want[i]);
	}
}

static void test_forgeries_rejected(void)
{
	uint16_t mss = 0;
	uint32_t c = tcp_cookie_make(&key, 0xc6120001, 0xc6120002, 40000, 22, 0x1111, 1460, 5000);
	struct tcp_cookie_key other = {1, 2};
	int accepted = 0;

	/* any other tuple, ISN or key */
	CHECK(tcp_cookie_check(&key, c, 0xc6120003, 0xc6120002, 40000, 22, 0x1111, 5000, &mss) != 0);
	CHECK(tcp_cookie_check(&key, c, 0xc6120001, 0xc6120002, 40001, 22, 0x1111, 5000, &mss) != 0);
	CHECK(tcp_cookie_check(&key, c, 0xc6120001, 0xc6120002, 40000, 22, 0x1112, 5000, &mss) != 0);
	CHECK(tcp_cookie_check(&other, c, 0xc6120001, 0xc6120002, 40000, 22, 0x1111, 5000, &mss) != 0);
	/* every single-bit flip of the cookie */
	for (unsigned b = 0; b < 32; b++)
		if (tcp_cookie_check(&key, c ^ (1u << b), 0xc6120001, 0xc6120002, 40000, 22, 0x1111,
				     5000, &mss) == 0)
			accepted++;
	CHECK_INT(accepted, 0);
	/* a blind guess with the right time bits: 1 in 2^24 at best */
	accepted = 0;
	for (uint32_t g = 0; g < 100000; g++) {
		uint32_t guess = (c & 0xff000000u) | (g * 2654435761u & 0xffffff);

		if (guess != c && tcp_cookie_check(&key, guess, 0xc6120001, 0xc6120002, 40000, 22,
						   0x1111, 5000, &mss) == 0)
			accepted++;
	}
	CHECK(accepted <= 1);
	CHECK_INT(mss, 0); /* never written on failure */
}

static void test_ts_bits(void)
{
	CHECK_INT(tcp_cookie_ts_bits(1, 7, 1), 0x17);
	CHECK_INT(tcp_cookie_ts_bits(0, 7, 0), 0x0f);
	CHECK_INT(tcp_cookie_ts_bits(1, 14, 0), 0x0e);
}

int main(void)
{
	RUN(test_siphash_vector);
	RUN(test_roundtrip);
	RUN(test_mss_table);
	RUN(test_forgeries_rejected);
	RUN(test_ts_bits);
	return st_test_done("test_tcp_cookie");
}
