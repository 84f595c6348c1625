/*
 * Per-worker hashed timer wheel with 1 ms ticks. Timers are intrusive nodes
 * embedded in their owner (a connection); arming, cancelling and firing do no
 * allocation. A timer further away than the wheel span stays in its slot and
 * is re-examined each revolution. Single-threaded: one wheel per worker.
 */
#ifndef ST_DATAPLANE_TIMER_H
#define ST_DATAPLANE_TIMER_H

#include <stdint.h>

#define DP_WHEEL_SLOTS 4096u /* power of two */

struct dp_timer {
	struct dp_timer *next, *prev; /* NULL when not armed */
	uint64_t expire;              /* tick */
};

struct dp_wheel {
	uint64_t now;  /* last tick processed */
	uint32_t armed;
	struct dp_timer slot[DP_WHEEL_SLOTS]; /* list heads */
};

typedef void dp_timer_fn(struct dp_timer *t, void *arg);

void dp_wheel_init(struct dp_wheel *w, uint64_t now);
static inline int dp_timer_armed(const struct dp_timer *t)
{
	return t->next != 0;
}
static inline void dp_timer_init(struct dp_timer *t)
{
	t->next = t->prev = 0;
	t->expire = 0;
}
/* (Re)arms t to fire at tick expire (a past tick fires on the next advance). */
void dp_timer_arm(struct dp_wheel *w, struct dp_timer *t, uint64_t expire);
void dp_timer_cancel(struct dp_wheel *w, struct dp_timer *t);
/*
 * Fires every timer whose expire <= now, in slot order; fn may re-arm or cancel
 * any timer. Returns the number fired.
 */
unsigned dp_wheel_advance(struct dp_wheel *w, uint64_t now, dp_timer_fn *fn, void *arg);

#endif
