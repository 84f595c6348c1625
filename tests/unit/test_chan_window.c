/*
 * Channel window growth (dataplane/ssh/channel.c): a model peer that sends
 * whatever window it was granted, one RTT per round, against a sink. The
 * window grows with the bytes consumed per RTT, never past window_max, the
 * channels of a table together never past it either, not while a stalled
 * service holds input, and shrinking after idling only ever gives back less:
 * the peer's own view of its window always equals what we think it may
 * send, and it never has to send less than it was granted.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/buf.h"
#include "dataplane/ssh/channel.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/test.h"

#define RTT 100u
#define PKT 32768u
#define INIT (2u << 20)

/* ---- a tx that keeps the WINDOW_ADJUSTs per channel and counts the rest ---- */

struct tx {
	uint8_t buf[PKT + 64];
	uint64_t adjust[4]; /* granted per remote id (id - 100), not yet seen by the peer */
	unsigned room;      /* ~0u: unlimited */
	unsigned others;
};

static int tx_begin(void *ctx, size_t max, uint8_t **p)
{
	struct tx *x = ctx;

	if (x->room == 0 || max > sizeof(x->buf))
		return ST_ERR_NO_SPACE;
	*p = x->buf;
	return ST_OK;
}

static int tx_commit(void *ctx, size_t len)
{
	struct tx *x = ctx;
	uint32_t rid = len >= 5 ? st_peek_u32(x->buf + 1) : 0;

	if (x->buf[0] == SSH_MSG_CHANNEL_WINDOW_ADJUST && len == 9 && rid >= 100 && rid < 104)
		x->adjust[rid - 100] += st_peek_u32(x->buf + 5);
	else
		x->others++;
	if (x->room != ~0u)
		x->room--;
	return ST_OK;
}

/* The peer: per channel, the window it believes it has. */
struct peer {
	uint64_t win[4];
};

static struct tx *tx;
static struct st_chan_table t;
static struct peer pr;
static uint8_t data[PKT];

static void setup(void)
{
	struct st_chan_tx ops = {.begin = tx_begin, .commit = tx_commit, .ctx = NULL};

	tx = calloc(1, sizeof(*tx));
	tx->room = ~0u;
	ops.ctx = tx;
	st_chan_table_init(&t, &ops, NULL, NULL);
	memset(&pr, 0, sizeof(pr));
	st_test_fill(data, sizeof(data), 3);
}

static void teardown(void)
{
	st_chan_table_free(&t);
	free(tx);
}

static int open_chan(uint32_t id, enum st_service_kind kind, uint32_t window_max,
		     uint32_t remote_window)
{
	struct st_chan_bind b = {.local_id = id,
				 .remote_id = 100 + id,
				 .local_window = INIT,
				 .local_max_packet = PKT,
				 .remote_window = remote_window,
				 .remote_max_packet = PKT,
				 .window_max = window_max};
	struct st_service_params p = {.kind = kind};
	int r = st_chan_bind(&t, &b);

	if (r != ST_OK)
		return r;
	pr.win[id] = INIT;
	return st_chan_attach(&t, id, &p, "test", 0);
}

static void check_invariants(uint32_t id)
{
	struct st_chan *c = st_chan_find(&t, id);

	if (c == NULL) {
		CHECK(!"channel");
		return;
	}
	CHECK_INT((uint64_t)c->local_window + c->ring_len + c->credit, c->local_window_max);
	/* what the peer believes it may send, with the adjusts on their way, is
	 * exactly what we let it send: nothing granted is ever taken back */
	CHECK_INT(pr.win[id] + tx->adjust[id], c->local_window);
	CHECK(c->local_window_max <= (t.win_budget > INIT ? t.win_budget : INIT));
}

/*
 * One round trip: the adjusts sent last round reach the peer, time moves one
 * RTT, and the peer sends up to `limit` bytes (0: all its window) on each of
 * the first n channels, interleaved packet by packet. Returns the bytes sent.
 */
static uint64_t round_trip(unsigned n, uint64_t limit)
{
	uint64_t sent[4] = {0}, total = 0;
	int more = 1, h;

	for (unsigned id = 0; id < n; id++) {
		pr.win[id] += tx->adjust[id];
		tx->adjust[id] = 0;
	}
	st_chan_table_path(&t, t.now_ms + RTT, RTT);
	while (more) {
		more = 0;
		for (unsigned id = 0; id < n; id++) {
			uint64_t k = pr.win[id] < PKT ? pr.win[id] : PKT;
			uint8_t m[9 + PKT];

			if (limit && sent[id] + k > limit)
				k = limit - sent[id];
			if (k == 0)
				continue;
			m[0] = SSH_MSG_CHANNEL_DATA;
			st_poke_u32(m + 1, id);
			st_poke_u32(m + 5, (uint32_t)k);
			memcpy(m + 9, data, k);
			CHECK_OK(st_chan_input(&t, m, 9 + k, &h)); /* never past the window */
			pr.win[id] -= k;
			sent[id] += k;
			total += k;
			CHECK_OK(st_chan_pump(&t));
			more = 1;
		}
	}
	for (unsigned id = 0; id < n; id++)
		check_invariants(id);
	return total;
}

static void test_want_math(void)
{
	/* a 2 MiB window's worth per RTT: 4 MiB */
	CHECK_INT(st_chan_window_want(INIT, 16u << 20, INIT, 100, 100), 4u << 20);
	/* over two RTTs: half the rate, no growth */
	CHECK_INT(st_chan_window_want(INIT, 16u << 20, INIT, 200, 100), INIT);
	/* rounded up to 64 KiB steps */
	CHECK_INT(st_chan_window_want(INIT, 16u << 20, (3u << 19) + 1, 100, 100), (3u << 20) + (64u << 10));
	/* capped; at the cap stays; no RTT or a short interval: unchanged */
	CHECK_INT(st_chan_window_want(INIT, 3u << 20, 8u << 20, 100, 100), 3u << 20);
	CHECK_INT(st_chan_window_want(3u << 20, 3u << 20, 8u << 20, 100, 100), 3u << 20);
	CHECK_INT(st_chan_window_want(INIT, 16u << 20, 8u << 20, 100, 0), INIT);
	CHECK_INT(st_chan_window_want(INIT, 16u << 20, 8u << 20, 99, 100), INIT);
	/* no overflow with huge byte counts */
	CHECK_INT(st_chan_window_want(INIT, ST_CHAN_GROW_MAX, 1ull << 45, 1000, 1000),
		  ST_CHAN_GROW_MAX);
}

/* A window-limited peer: the window doubles per RTT up to window_max, and the rate with it. */
static void test_grows_to_cap(void)
{
	const uint32_t cap = 16u << 20;
	uint64_t first, last = 0;
	struct st_chan *c;

	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, cap, 0));
	first = round_trip(1, 0);
	for (unsigned i = 0; i < 12; i++)
		last = round_trip(1, 0);
	c = st_chan_find(&t, 0);
	CHECK(c != NULL);
	if (c != NULL)
		CHECK_INT(c->local_window_max, cap);
	CHECK(last >= 4 * first); /* 16 MiB per RTT against 2 MiB */
	CHECK(t.cnt[ST_CHAN_CNT_WINDOW_GROWN] >= 3);
	CHECK(t.cnt[ST_CHAN_CNT_WINDOW_AT_MAX] >= 1);
	CHECK_INT(t.win_sum, cap);
	for (unsigned i = 0; i < 3; i++)
		round_trip(1, 0);
	if ((c = st_chan_find(&t, 0)) != NULL)
		CHECK_INT(c->local_window_max, cap); /* stays at the cap */
	teardown();
}

/* A peer that sends little per RTT, or a fixed window_max: no growth. */
static void test_no_growth_without_need(void)
{
	struct st_chan *c;

	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, 16u << 20, 0));
	for (unsigned i = 0; i < 10; i++)
		round_trip(1, 512u << 10); /* a quarter of the window per RTT */
	c = st_chan_find(&t, 0);
	if (c != NULL)
		CHECK_INT(c->local_window_max, INIT);
	CHECK_INT(t.cnt[ST_CHAN_CNT_WINDOW_GROWN], 0);
	teardown();

	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, INIT, 0)); /* ChannelWindowMax 2M: fixed */
	for (unsigned i = 0; i < 6; i++)
		round_trip(1, 0);
	c = st_chan_find(&t, 0);
	if (c != NULL)
		CHECK_INT(c->local_window_max, INIT);
	CHECK_INT(t.cnt[ST_CHAN_CNT_WINDOW_GROWN], 0);
	teardown();

	/* no RTT known: no growth */
	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, 16u << 20, 0));
	for (unsigned i = 0; i < 6; i++) {
		round_trip(1, 0);
		t.rtt_ms = 0;
		CHECK_OK(st_chan_pump(&t));
	}
	teardown();
}

/* Two channels share the session's budget: together never past it. */
static void test_budget_shared(void)
{
	const uint32_t budget = 12u << 20;
	struct st_chan *a, *b;

	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, budget, 0));
	CHECK_OK(open_chan(1, ST_SERVICE_SINK, budget, 0));
	for (unsigned i = 0; i < 12; i++) {
		round_trip(2, 0);
		a = st_chan_find(&t, 0);
		b = st_chan_find(&t, 1);
		if (a == NULL || b == NULL) {
			CHECK(!"channels");
			break;
		}
		CHECK((uint64_t)a->local_window_max + b->local_window_max <= budget);
		CHECK_INT(t.win_sum, (uint64_t)a->local_window_max + b->local_window_max);
	}
	a = st_chan_find(&t, 0);
	b = st_chan_find(&t, 1);
	if (a != NULL && b != NULL) {
		CHECK(a->local_window_max > INIT && b->local_window_max > INIT); /* both grew */
		CHECK((uint64_t)a->local_window_max + b->local_window_max >= budget - (1u << 20));
	}
	CHECK(t.cnt[ST_CHAN_CNT_WINDOW_AT_MAX] >= 1);
	teardown();
}

/* A service that does not keep up holds input: the window does not grow. */
static void test_no_growth_while_held(void)
{
	struct st_chan *c;

	setup();
	/* echo with no window for its output: it fills its ring, then input is held */
	CHECK_OK(open_chan(0, ST_SERVICE_ECHO, 16u << 20, 0));
	for (unsigned i = 0; i < 6; i++)
		round_trip(1, 0);
	c = st_chan_find(&t, 0);
	if (c != NULL) {
		CHECK(c->ring_len > 0);
		CHECK_INT(c->local_window_max, INIT);
		CHECK(c->ring_cap == INIT);
	}
	CHECK_INT(t.cnt[ST_CHAN_CNT_WINDOW_GROWN], 0);
	teardown();
}

/*
 * After idling, a grown window shrinks back by granting less as data comes:
 * the peer is never told to send less than it was granted (its own count
 * always matches ours, and every byte it sends within it is accepted).
 */
static void test_shrink_after_idle(void)
{
	struct st_chan *c;
	uint32_t grown;

	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, 16u << 20, 0));
	for (unsigned i = 0; i < 8; i++)
		round_trip(1, 0);
	c = st_chan_find(&t, 0);
	if (c == NULL) {
		CHECK(!"channel");
		teardown();
		return;
	}
	grown = c->local_window_max;
	CHECK(grown > INIT);
	/* idle: the shrink ticks pass without input (the first one sees the last input) */
	st_chan_table_shrink(&t);
	for (unsigned i = 0; i < ST_CHAN_IDLE_SHRINK_TICKS - 1; i++)
		st_chan_table_shrink(&t);
	CHECK_INT(c->win_floor, 0); /* not yet */
	st_chan_table_shrink(&t);
	CHECK_INT(c->win_floor, INIT);
	CHECK_INT(c->local_window_max, grown); /* nothing taken back */
	/* the peer sends slowly again (no growth): its window falls to the initial one */
	for (unsigned i = 0; i < 40 && c->local_window_max > INIT; i++)
		round_trip(1, 1u << 20);
	CHECK_INT(c->local_window_max, INIT);
	CHECK_INT(c->win_floor, 0);
	CHECK_INT(t.cnt[ST_CHAN_CNT_WINDOW_SHRUNK], 1);
	CHECK_INT(t.win_sum, INIT);
	/* and it can grow again */
	for (unsigned i = 0; i < 6; i++)
		round_trip(1, 0);
	CHECK(c->local_window_max > INIT);
	teardown();
}

/* Closing a grown channel gives its share of the budget back. */
static void test_close_returns_budget(void)
{
	int h;
	struct st_chan *c;

	setup();
	CHECK_OK(open_chan(0, ST_SERVICE_SINK, 16u << 20, 0));
	for (unsigned i = 0; i < 8; i++)
		round_trip(1, 0);
	c = st_chan_find(&t, 0);
	CHECK(c != NULL && c->local_window_max > INIT);
	uint8_t m[5] = {SSH_MSG_CHANNEL_CLOSE, 0, 0, 0, 0};
	CHECK_OK(st_chan_input(&t, m, sizeof(m), &h));
	CHECK_OK(st_chan_pump(&t));
	CHECK(st_chan_find(&t, 0) == NULL);
	CHECK_INT(t.win_sum, 0);
	teardown();
}

static void test_bind_limits(void)
{
	struct st_chan_bind b = {.local_id = 1,
				 .remote_id = 101,
				 .local_window = INIT,
				 .local_max_packet = PKT,
				 .remote_max_packet = PKT,
				 .window_max = ST_CHAN_GROW_MAX + 1};

	setup();
	CHECK_ERR(st_chan_bind(&t, &b), ST_ERR_INVALID_ARGUMENT);
	b.window_max = ST_CHAN_GROW_MAX;
	CHECK_OK(st_chan_bind(&t, &b));
	CHECK_INT(t.win_budget, ST_CHAN_GROW_MAX);
	CHECK_INT(t.win_sum, INIT);
	teardown();
}

int main(void)
{
	RUN(test_want_math);
	RUN(test_grows_to_cap);
	RUN(test_no_growth_without_need);
	RUN(test_budget_shared);
	RUN(test_no_growth_while_held);
	RUN(test_shrink_after_idle);
	RUN(test_close_returns_budget);
	RUN(test_bind_limits);
	return st_test_done("chan_window");
}
