/* Unit tests: fault injector configuration parsing and its seeded generator. */
#include <string.h>

#include "dataplane/fault.h"
#include "tests/unit/test.h"

static void test_parse(void)
{
	struct dp_fault_cfg c;

	CHECK_OK(dp_fault_parse("drop=20,dup=10,reorder=10,corrupt=5,seed=7", &c));
	CHECK_INT(c.drop_pm, 20);
	CHECK_INT(c.dup_pm, 10);
	CHECK_INT(c.reorder_pm, 10);
	CHECK_INT(c.corrupt_pm, 5);
	CHECK_INT(c.seed, 7);
	CHECK(dp_fault_active(&c));
	CHECK_OK(dp_fault_parse("seed=3", &c));
	CHECK(!dp_fault_active(&c));
	CHECK_ERR(dp_fault_parse("drop=1001", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("drop", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("drop=", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("drop=5x", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("loss=5", &c), ST_ERR_INVALID_ARGUMENT);
}

static void test_draw_seeded(void)
{
	struct dp_fault a, b;
	struct dp_fault_cfg c;
	unsigned below20 = 0;

	memset(&c, 0, sizeof(c));
	c.seed = 42;
	dp_fault_init(&a, &c, 0, NULL);
	dp_fault_init(&b, &c, 0, NULL);
	for (int i = 0; i < 100000; i++) {
		unsigned x = dp_fault_draw(&a);

		CHECK(x < 1000);
		CHECK(x == dp_fault_draw(&b)); /* same seed, same sequence */
		if (x < 20)
			below20++;
	}
	/* 2% +- a margin */
	CHECK(below20 > 1700 && below20 < 2300);
	dp_fault_init(&b, &c, 1, NULL); /* another direction/worker: another stream */
	dp_fault_init(&a, &c, 0, NULL);
	CHECK(dp_fault_draw(&a) != dp_fault_draw(&b) || dp_fault_draw(&a) != dp_fault_draw(&b));
}

int main(void)
{
	RUN(test_parse);
	RUN(test_draw_seeded);
	return st_test_done("test_dp_fault");
}
