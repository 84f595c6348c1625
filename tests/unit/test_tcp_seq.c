/* Unit tests: TCP sequence arithmetic across the 2^32 wrap. */
#include "dataplane/tcp/tcp_seq.h"
#include "tests/unit/test.h"

static void test_basic_order(void)
{
	CHECK(seq_lt(1, 2));
	CHECK(!seq_lt(2, 2));
	CHECK(seq_leq(2, 2));
	CHECK(seq_gt(3, 2));
	CHECK(seq_geq(3, 3));
	CHECK(!seq_gt(2, 3));
}

static void test_wraparound(void)
{
	uint32_t a = 0xfffffff0u, b = 0x10u;

	CHECK(seq_lt(a, b));
	CHECK(seq_gt(b, a));
	CHECK_INT(b - a, 0x20);
	CHECK(seq_in(0xffffffffu, a, b));
	CHECK(seq_in(0, a, b));
	CHECK(!seq_in(b, a, b));
	CHECK(seq_in(a, a, b));
	CHECK(seq_max(a, b) == b);
	CHECK(seq_min(a, b) == a);
	/* Half the space apart: the comparison flips at exactly 2^31. */
	CHECK(seq_lt(0, 0x7fffffffu));
	CHECK(seq_gt(0, 0x80000001u));
}

static void test_window_edges(void)
{
	uint32_t nxt = 0xffffff00u, wnd = 0x200;

	CHECK(seq_in(nxt + wnd - 1, nxt, nxt + wnd));
	CHECK(!seq_in(nxt + wnd, nxt, nxt + wnd));
	CHECK(!seq_in(nxt - 1, nxt, nxt + wnd));
}

int main(void)
{
	RUN(test_basic_order);
	RUN(test_wraparound);
	RUN(test_window_edges);
	return st_test_done("test_tcp_seq");
}
