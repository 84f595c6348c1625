/* Unit tests: sender-side SACK scoreboard. */
#include "dataplane/tcp/tcp_sack.h"
#include "tests/unit/test.h"

static void test_add_merge(void)
{
	struct tcp_sb sb;
	uint32_t end;

	tcp_sb_init(&sb);
	CHECK_INT(tcp_sb_add(&sb, 2000, 3000, 1000, 10000), 1000);
	CHECK_INT(tcp_sb_add(&sb, 4000, 5000, 1000, 10000), 1000);
	CHECK_INT(sb.n, 2);
	/* duplicate report adds nothing */
	CHECK_INT(tcp_sb_add(&sb, 2000, 3000, 1000, 10000), 0);
	/* bridging block merges all three */
	CHECK_INT(tcp_sb_add(&sb, 2500, 4500, 1000, 10000), 1000);
	CHECK_INT(sb.n, 1);
	CHECK_INT(sb.sacked, 3000);
	CHECK(tcp_sb_is_sacked(&sb, 2000, &end));
	CHECK_INT(end, 5000);
	CHECK(!tcp_sb_is_sacked(&sb, 1999, &end));
	CHECK(!tcp_sb_is_sacked(&sb, 5000, &end));
	CHECK_INT(tcp_sb_high(&sb, 1000), 5000);
}

static void test_reject_invalid(void)
{
	struct tcp_sb sb;

	tcp_sb_init(&sb);
	CHECK_INT(tcp_sb_add(&sb, 500, 900, 1000, 10000), 0);    /* below una */
	CHECK_INT(tcp_sb_add(&sb, 900, 1500, 1000, 10000), 0);   /* straddles una (D-SACK-like) */
	CHECK_INT(tcp_sb_add(&sb, 9000, 11000, 1000, 10000), 0); /* beyond snd_max */
	CHECK_INT(tcp_sb_add(&sb, 3000, 3000, 1000, 10000), 0);  /* empty */
	CHECK_INT(tcp_sb_add(&sb, 3000, 2000, 1000, 10000), 0);  /* reversed */
	CHECK_INT(sb.n, 0);
	CHECK_INT(sb.sacked, 0);
}

static void test_ack_trims(void)
{
	struct tcp_sb sb;

	tcp_sb_init(&sb);
	tcp_sb_add(&sb, 2000, 3000, 1000, 10000);
	tcp_sb_add(&sb, 4000, 5000, 1000, 10000);
	tcp_sb_ack(&sb, 2500);
	CHECK_INT(sb.n, 2);
	CHECK_INT(sb.r[0][0], 2500);
	CHECK_INT(sb.sacked, 1500);
	tcp_sb_ack(&sb, 4500);
	CHECK_INT(sb.n, 1);
	CHECK_INT(sb.sacked, 500);
	tcp_sb_ack(&sb, 6000);
	CHECK_INT(sb.n, 0);
	CHECK_INT(sb.sacked, 0);
}

static void test_holes(void)
{
	struct tcp_sb sb;
	uint32_t s, e;

	tcp_sb_init(&sb);
	tcp_sb_add(&sb, 2000, 3000, 1000, 10000);
	tcp_sb_add(&sb, 4000, 5000, 1000, 10000);
	CHECK(tcp_sb_next_hole(&sb, 1000, &s, &e));
	CHECK_INT(s, 1000);
	CHECK_INT(e, 2000);
	CHECK(tcp_sb_next_hole(&sb, 2000, &s, &e)); /* inside a SACKed range: skip it */
	CHECK_INT(s, 3000);
	CHECK_INT(e, 4000);
	CHECK(tcp_sb_next_hole(&sb, 3500, &s, &e));
	CHECK_INT(s, 3500);
	CHECK(!tcp_sb_next_hole(&sb, 4000, &s, &e)); /* nothing SACKed above: not a hole */
}

static void test_bounded_and_wrap(void)
{
	struct tcp_sb sb;
	uint32_t una = 0xffff0000u, max = una + 0x100000, s, e;

	tcp_sb_init(&sb);
	for (unsigned i = 0; i < TCP_SB_MAX + 8; i++)
		tcp_sb_add(&sb, una + 100 + 200 * i, una + 200 + 200 * i, una, max);
	CHECK_INT(sb.n, TCP_SB_MAX);
	/* a lower block still gets in (the highest is forgotten) */
	CHECK(tcp_sb_add(&sb, una + 10, una + 20, una, max) == 10);
	CHECK_INT(sb.n, TCP_SB_MAX);
	CHECK(tcp_sb_next_hole(&sb, una, &s, &e));
	CHECK(s == una);
	CHECK(e == una + 10);
}

int main(void)
{
	RUN(test_add_merge);
	RUN(test_reject_invalid);
	RUN(test_ack_trims);
	RUN(test_holes);
	RUN(test_bounded_and_wrap);
	return st_test_done("test_tcp_sack");
}
