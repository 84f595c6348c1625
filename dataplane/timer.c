/* Hashed timer wheel. */
#include "dataplane/timer.h"

void dp_wheel_init(struct dp_wheel *w, uint64_t now)
{
	w->now = now;
	w->armed = 0;
	for (unsigned i = 0; i < DP_WHEEL_SLOTS; i++)
		w->slot[i].next = w->slot[i].prev = &w->slot[i];
}

static void link_timer(struct dp_wheel *w, struct dp_timer *t)
{
	uint64_t at = t->expire > w->now ? t->expire : w->now + 1;
	struct dp_timer *h = &w->slot[at & (DP_WHEEL_SLOTS - 1)];

	t->next = h->next;
	t->prev = h;
	h->next->prev = t;
	h->next = t;
}

static void unlink_timer(struct dp_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = 0;
}

void dp_timer_arm(struct dp_wheel *w, struct dp_timer *t, uint64_t expire)
{
	if (t->next)
		unlink_timer(t);
	else
		w->armed++;
	t->expire = expire;
	link_timer(w, t);
}

void dp_timer_cancel(struct dp_wheel *w, struct dp_timer *t)
{
	if (!t->next)
		return;
	unlink_timer(t);
	w->armed--;
}

unsigned dp_wheel_advance(struct dp_wheel *w, uint64_t now, dp_timer_fn *fn, void *arg)
{
	unsigned fired = 0;
	uint64_t tick;

	if (now <= w->now)
		return 0;
	tick = w->now + 1;
	if (now - w->now > DP_WHEEL_SLOTS)
		tick = now - DP_WHEEL_SLOTS + 1;
	w->now = now;
	for (; tick <= now && w->armed; tick++) {
		struct dp_timer *h = &w->slot[tick & (DP_WHEEL_SLOTS - 1)];
		struct dp_timer local, *t;

		if (h->next == h)
			continue;
		/* Move the slot's list aside so callbacks can re-arm freely. */
		local.next = h->next;
		local.prev = h->prev;
		local.next->prev = &local;
		local.prev->next = &local;
		h->next = h->prev = h;
		while ((t = local.next) != &local) {
			unlink_timer(t);
			if (t->expire <= now) {
				w->armed--;
				fired++;
				fn(t, arg);
			} else {
				link_timer(w, t);
			}
		}
	}
	return fired;
}
