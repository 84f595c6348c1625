/* Unit tests: the per-worker hashed timer wheel. */
#include <string.h>

#include "dataplane/timer.h"
#include "tests/unit/test.h"

struct ent {
	struct dp_timer t;
	int fired;
	uint64_t at;
};

static struct dp_wheel wheel;
static uint64_t now_g;

static void on_fire(struct dp_timer *t, void *arg)
{
	struct ent *e = (struct ent *)t;

	(void)arg;
	e->fired++;
	e->at = now_g;
}

static void test_fire_in_order(void)
{
	struct ent e[3];

	memset(e, 0, sizeof(e));
	dp_wheel_init(&wheel, 1000);
	for (int i = 0; i < 3; i++) {
		dp_timer_init(&e[i].t);
		dp_timer_arm(&wheel, &e[i].t, 1000 + 10 * (i + 1));
	}
	now_g = 1015;
	CHECK_INT(dp_wheel_advance(&wheel, now_g, on_fire, NULL), 1);
	CHECK_INT(e[0].fired, 1);
	CHECK_INT(e[1].fired, 0);
	now_g = 1100;
	CHECK_INT(dp_wheel_advance(&wheel, now_g, on_fire, NULL), 2);
	CHECK_INT(wheel.armed, 0);
	CHECK(!dp_timer_armed(&e[2].t));
}

static void test_cancel_rearm_past(void)
{
	struct ent e;

	memset(&e, 0, sizeof(e));
	dp_wheel_init(&wheel, 0);
	dp_timer_init(&e.t);
	dp_timer_arm(&wheel, &e.t, 50);
	dp_timer_cancel(&wheel, &e.t);
	dp_timer_cancel(&wheel, &e.t); /* idempotent */
	now_g = 100;
	CHECK_INT(dp_wheel_advance(&wheel, now_g, on_fire, NULL), 0);
	dp_timer_arm(&wheel, &e.t, 10); /* in the past: fires on the next advance */
	dp_timer_arm(&wheel, &e.t, 20); /* re-arm moves it */
	CHECK_INT(wheel.armed, 1);
	now_g = 101;
	CHECK_INT(dp_wheel_advance(&wheel, now_g, on_fire, NULL), 1);
	CHECK_INT(e.fired, 1);
}

static void test_beyond_span(void)
{
	struct ent e;

	memset(&e, 0, sizeof(e));
	dp_wheel_init(&wheel, 0);
	dp_timer_init(&e.t);
	dp_timer_arm(&wheel, &e.t, 3 * DP_WHEEL_SLOTS + 5);
	for (now_g = 1; now_g < 3 * DP_WHEEL_SLOTS + 5; now_g += 7)
		dp_wheel_advance(&wheel, now_g, on_fire, NULL);
	CHECK_INT(e.fired, 0);
	now_g = 3 * DP_WHEEL_SLOTS + 5;
	dp_wheel_advance(&wheel, now_g, on_fire, NULL);
	CHECK_INT(e.fired, 1);
	CHECK(e.at == 3 * DP_WHEEL_SLOTS + 5);
}

static void test_big_jump(void)
{
	struct ent e[100];

	memset(e, 0, sizeof(e));
	dp_wheel_init(&wheel, 0);
	for (int i = 0; i < 100; i++) {
		dp_timer_init(&e[i].t);
		dp_timer_arm(&wheel, &e[i].t, (uint64_t)(i * 97) % 20000 + 1);
	}
	now_g = 1000000; /* far beyond the span: everything fires once */
	CHECK_INT(dp_wheel_advance(&wheel, now_g, on_fire, NULL), 100);
	for (int i = 0; i < 100; i++)
		CHECK_INT(e[i].fired, 1);
}

static struct ent *rearm_e;
static void on_fire_rearm(struct dp_timer *t, void *arg)
{
	(void)arg;
	on_fire(t, NULL);
	if (rearm_e->fired < 5)
		dp_timer_arm(&wheel, t, now_g + 3);
}

static void test_rearm_from_callback(void)
{
	struct ent e;

	memset(&e, 0, sizeof(e));
	rearm_e = &e;
	dp_wheel_init(&wheel, 0);
	dp_timer_init(&e.t);
	dp_timer_arm(&wheel, &e.t, 1);
	for (now_g = 1; now_g < 100; now_g++)
		dp_wheel_advance(&wheel, now_g, on_fire_rearm, NULL);
	CHECK_INT(e.fired, 5);
	CHECK_INT(wheel.armed, 0);
}

int main(void)
{
	RUN(test_fire_in_order);
	RUN(test_cancel_rearm_past);
	RUN(test_beyond_span);
	RUN(test_big_jump);
	RUN(test_rearm_from_callback);
	return st_test_done("test_dp_timer");
}
