/*
 * Unit tests: out-of-order reassembly queue with plain test objects standing
 * in for mbuf chains (each object records which bytes it still covers).
 */
#include <string.h>

#include "dataplane/tcp/tcp_ooo.h"
#include "tests/unit/test.h"

struct tobj {
	uint32_t start, end; /* byte range still owned */
	struct tobj *next;   /* linked pieces */
	int live;
};

static struct tobj pool[512];
static unsigned npool, nlive;

static struct tobj *mk(uint32_t start, uint32_t len)
{
	struct tobj *o = &pool[npool++];

	o->start = start;
	o->end = start + len;
	o->next = NULL;
	o->live = 1;
	nlive++;
	return o;
}

static void *t_trim_front(void *obj, uint32_t n)
{
	struct tobj *o = obj;

	o->start += n;
	return o;
}

static void *t_trim_back(void *obj, uint32_t n)
{
	struct tobj *o = obj, *last = o;

	while (last->next)
		last = last->next;
	last->end -= n;
	return o;
}

static void t_free(void *obj)
{
	for (struct tobj *o = obj; o; o = o->next) {
		if (o->live) {
			o->live = 0;
			nlive--;
		}
	}
}

static void *t_tail(void *obj)
{
	struct tobj *o = obj;

	while (o->next)
		o = o->next;
	return o;
}

static void t_link(void *a, void *b)
{
	((struct tobj *)a)->next = b;
}

static const struct tcp_ooo_ops ops = {t_trim_front, t_trim_back, t_free, t_tail, t_link,
				       NULL,	     NULL};

/* Cost accounting: every live piece costs 100; pieces of up to 4 bytes are absorbed. */
static uint32_t t_cost(const void *obj)
{
	uint32_t c = 0;

	for (const struct tobj *o = obj; o; o = o->next)
		c += 100;
	return c;
}

static int t_absorb(void *a_tail, void *b, uint32_t len)
{
	if (len > 4)
		return 0;
	((struct tobj *)a_tail)->end += len;
	t_free(b);
	return 1;
}

static const struct tcp_ooo_ops cops = {t_trim_front, t_trim_back, t_free, t_tail, t_link,
					t_cost,	      t_absorb};

static void reset(struct tcp_ooo *q)
{
	npool = nlive = 0;
	memset(pool, 0, sizeof(pool));
	tcp_ooo_init(q);
}

/* Total bytes covered by an object chain. */
static uint32_t chain_bytes(struct tobj *o)
{
	uint32_t n = 0;

	for (; o; o = o->next)
		n += o->end - o->start;
	return n;
}

/* The queue's cost is exactly what its live pieces cost, through overlaps, joins and pops. */
static void test_cost_follows_pieces(void)
{
	struct tcp_ooo q;
	void *obj;
	uint32_t len;

	reset(&q);
	tcp_ooo_insert(&q, &cops, 100, 10, mk(100, 10));
	tcp_ooo_insert(&q, &cops, 200, 10, mk(200, 10));
	tcp_ooo_insert(&q, &cops, 300, 10, mk(300, 10));
	CHECK_INT(q.cost, 300);
	tcp_ooo_insert(&q, &cops, 190, 40, mk(190, 40)); /* covers 200..210: replaces it */
	CHECK_INT(q.cost, 300);
	CHECK_INT(nlive, 3);
	tcp_ooo_insert(&q, &cops, 110, 20, mk(110, 20)); /* joins 100..110 */
	CHECK_INT(q.cost, 400);
	CHECK_INT(q.n, 3);
	CHECK_INT(tcp_ooo_pop(&q, &cops, 100, &obj, &len), 1);
	CHECK_INT(len, 30);
	CHECK_INT(q.cost, 200);
	t_free(obj);
	tcp_ooo_clear(&q, &cops);
	CHECK_INT(q.cost, 0);
	CHECK_INT(nlive, 0);
}

/* Tiny segments that extend a range are absorbed: 200 one-byte segments, one piece. */
static void test_small_segments_absorbed(void)
{
	struct tcp_ooo q;
	void *obj;
	uint32_t len;

	reset(&q);
	tcp_ooo_insert(&q, &cops, 1000, 10, mk(1000, 10));
	for (uint32_t i = 0; i < 200; i++)
		CHECK_INT(tcp_ooo_insert(&q, &cops, 1010 + i, 1, mk(1010 + i, 1)), TCP_OOO_QUEUED);
	CHECK_INT(q.n, 1);
	CHECK_INT(q.bytes, 210);
	CHECK_INT(q.cost, 100);
	CHECK_INT(nlive, 1);
	/* an absorbed segment that closes a hole joins the next range too */
	tcp_ooo_insert(&q, &cops, 1212, 5, mk(1212, 5));
	tcp_ooo_insert(&q, &cops, 1210, 2, mk(1210, 2));
	CHECK_INT(q.n, 1);
	CHECK_INT(q.bytes, 217);
	CHECK_INT(q.cost, 200);
	CHECK_INT(tcp_ooo_pop(&q, &cops, 1000, &obj, &len), 1);
	CHECK_INT(len, 217);
	CHECK_INT(chain_bytes(obj), 217);
	t_free(obj);
	CHECK_INT(nlive, 0);
}

static void test_in_order_pop(void)
{
	struct tcp_ooo q;
	void *obj;
	uint32_t len;

	reset(&q);
	CHECK_INT(tcp_ooo_insert(&q, &ops, 200, 100, mk(200, 100)), TCP_OOO_QUEUED);
	CHECK_INT(tcp_ooo_insert(&q, &ops, 400, 100, mk(400, 100)), TCP_OOO_QUEUED);
	CHECK_INT(q.n, 2);
	CHECK_INT(q.bytes, 200);
	CHECK_INT(tcp_ooo_pop(&q, &ops, 100, &obj, &len), 0);
	CHECK_INT(tcp_ooo_pop(&q, &ops, 200, &obj, &len), 1);
	CHECK_INT(len, 100);
	CHECK_INT(((struct tobj *)obj)->start, 200);
	t_free(obj);
	CHECK_INT(tcp_ooo_pop(&q, &ops, 300, &obj, &len), 0);
	tcp_ooo_clear(&q, &ops);
	CHECK_INT(nlive, 0);
}

static void test_adjacent_merge(void)
{
	struct tcp_ooo q;
	void *obj;
	uint32_t len;

	reset(&q);
	tcp_ooo_insert(&q, &ops, 100, 10, mk(100, 10));
	tcp_ooo_insert(&q, &ops, 120, 10, mk(120, 10));
	CHECK_INT(q.n, 2);
	tcp_ooo_insert(&q, &ops, 110, 10, mk(110, 10)); /* fills the gap: one range */
	CHECK_INT(q.n, 1);
	CHECK_INT(q.e[0].start, 100);
	CHECK_INT(q.e[0].end, 130);
	CHECK_INT(tcp_ooo_pop(&q, &ops, 100, &obj, &len), 1);
	CHECK_INT(len, 30);
	CHECK_INT(chain_bytes(obj), 30);
	t_free(obj);
	CHECK_INT(nlive, 0);
}

static void test_duplicates_and_overlaps(void)
{
	struct tcp_ooo q;

	reset(&q);
	tcp_ooo_insert(&q, &ops, 1000, 100, mk(1000, 100));
	/* exact duplicate and contained duplicate */
	CHECK_INT(tcp_ooo_insert(&q, &ops, 1000, 100, mk(1000, 100)), TCP_OOO_DUP);
	CHECK_INT(tcp_ooo_insert(&q, &ops, 1010, 50, mk(1010, 50)), TCP_OOO_DUP);
	CHECK_INT(nlive, 1);
	/* overlaps the front: the new one is trimmed at the back */
	CHECK_INT(tcp_ooo_insert(&q, &ops, 950, 100, mk(950, 100)), TCP_OOO_QUEUED);
	CHECK_INT(q.n, 1); /* merged with [1000,1100) */
	CHECK_INT(q.e[0].start, 950);
	CHECK_INT(q.e[0].end, 1100);
	CHECK_INT(q.bytes, 150);
	/* overlaps the back: trimmed at the front */
	CHECK_INT(tcp_ooo_insert(&q, &ops, 1050, 100, mk(1050, 100)), TCP_OOO_QUEUED);
	CHECK_INT(q.e[0].end, 1150);
	CHECK_INT(q.bytes, 200);
	/* covers several entries entirely: they are replaced */
	tcp_ooo_insert(&q, &ops, 1300, 10, mk(1300, 10));
	tcp_ooo_insert(&q, &ops, 1400, 10, mk(1400, 10));
	CHECK_INT(q.n, 3);
	CHECK_INT(tcp_ooo_insert(&q, &ops, 1200, 300, mk(1200, 300)), TCP_OOO_QUEUED);
	CHECK_INT(q.n, 2);
	CHECK_INT(q.bytes, 200 + 300);
	CHECK_INT(chain_bytes(q.e[1].obj), 300);
	tcp_ooo_clear(&q, &ops);
	CHECK_INT(nlive, 0);
}

static void test_pop_partial_below(void)
{
	struct tcp_ooo q;
	void *obj;
	uint32_t len;

	reset(&q);
	tcp_ooo_insert(&q, &ops, 100, 100, mk(100, 100));
	tcp_ooo_insert(&q, &ops, 300, 100, mk(300, 100));
	/* rcv_nxt moved past the first entirely and into the second */
	CHECK_INT(tcp_ooo_pop(&q, &ops, 350, &obj, &len), 1);
	CHECK_INT(len, 50);
	CHECK_INT(((struct tobj *)obj)->start, 350);
	t_free(obj);
	CHECK_INT(nlive, 0);
	CHECK_INT(q.n, 0);
	CHECK_INT(q.bytes, 0);
}

static void test_bounded(void)
{
	struct tcp_ooo q;
	int full = 0;

	reset(&q);
	for (unsigned i = 0; i < TCP_OOO_MAX + 10; i++) {
		int r = tcp_ooo_insert(&q, &ops, 1000 + 20 * i, 10, mk(1000 + 20 * i, 10));

		if (r == TCP_OOO_FULL)
			full++;
	}
	CHECK_INT(q.n, TCP_OOO_MAX);
	CHECK_INT(full, 10);
	CHECK_INT(nlive, TCP_OOO_MAX); /* rejected objects were freed */
	tcp_ooo_clear(&q, &ops);
	CHECK_INT(nlive, 0);
}

static void test_wrap(void)
{
	struct tcp_ooo q;
	void *obj;
	uint32_t len;

	reset(&q);
	tcp_ooo_insert(&q, &ops, 0xfffffff0u, 0x20, mk(0xfffffff0u, 0x20));
	tcp_ooo_insert(&q, &ops, 0x30, 0x10, mk(0x30, 0x10));
	CHECK_INT(q.n, 2);
	CHECK(q.e[0].start == 0xfffffff0u);
	CHECK_INT(tcp_ooo_pop(&q, &ops, 0xffffffe0u, &obj, &len), 0);
	CHECK_INT(tcp_ooo_pop(&q, &ops, 0xfffffff0u, &obj, &len), 1);
	CHECK_INT(len, 0x20);
	t_free(obj);
	tcp_ooo_clear(&q, &ops);
	CHECK_INT(nlive, 0);
}

static void test_sack_blocks(void)
{
	struct tcp_ooo q;
	uint32_t b[4][2];
	unsigned n;

	reset(&q);
	tcp_ooo_insert(&q, &ops, 100, 10, mk(100, 10));
	tcp_ooo_insert(&q, &ops, 200, 10, mk(200, 10));
	tcp_ooo_insert(&q, &ops, 300, 10, mk(300, 10));
	tcp_ooo_insert(&q, &ops, 210, 10, mk(210, 10)); /* most recent, merges into [200,220) */
	n = tcp_ooo_sack_blocks(&q, b, 3);
	CHECK_INT(n, 3);
	CHECK_INT(b[0][0], 200);
	CHECK_INT(b[0][1], 220);
	CHECK_INT(b[1][0], 100);
	CHECK_INT(b[2][0], 300);
	CHECK_INT(tcp_ooo_sack_blocks(&q, b, 1), 1);
	tcp_ooo_clear(&q, &ops);
	CHECK_INT(tcp_ooo_sack_blocks(&q, b, 3), 0);
}

int main(void)
{
	RUN(test_cost_follows_pieces);
	RUN(test_small_segments_absorbed);
	RUN(test_in_order_pop);
	RUN(test_adjacent_merge);
	RUN(test_duplicates_and_overlaps);
	RUN(test_pop_partial_below);
	RUN(test_bounded);
	RUN(test_wrap);
	RUN(test_sack_blocks);
	return st_test_done("test_tcp_ooo");
}
