/*
 * Unit tests: the fault injector (dataplane/fault.c): configuration parsing,
 * its seeded generator, and the RX / TX ethdev callbacks called directly on
 * real mbufs (rates, seeding, held-packet release, the TX count-keeping
 * rewrite with fillers and the guarded own transmission), then installed on a
 * loopback net_ring port: nothing installed without a spec, and a held packet
 * released by rte_eth_rx_burst's empty polls.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "dataplane/fault.h"
#include "tests/unit/test.h"

#define PKT_LEN 64

static struct rte_mempool *pool;
static struct dp_stats st;

/* A frame carrying id at offset 14 (and its pattern after it). */
static struct rte_mbuf *mk(uint32_t id)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	if (!m)
		abort();
	p = (uint8_t *)rte_pktmbuf_append(m, PKT_LEN);
	for (unsigned i = 0; i < PKT_LEN; i++)
		p[i] = (uint8_t)(i * 7 + id);
	p[0] = 0x02, p[5] = 0x01;  /* dst */
	p[6] = 0x02, p[11] = 0x02; /* src */
	p[12] = 0x08, p[13] = 0x00;
	memcpy(p + 14, &id, 4);
	return m;
}

static uint32_t id_of(const struct rte_mbuf *m)
{
	uint32_t id;

	memcpy(&id, rte_pktmbuf_mtod(m, const uint8_t *) + 14, 4);
	return id;
}

static int is_filler(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return m->pkt_len == DP_FAULT_FILLER_LEN && p[12] == (DP_FAULT_FILLER_ETHERTYPE >> 8) &&
	       p[13] == (DP_FAULT_FILLER_ETHERTYPE & 0xff);
}

static void free_all(struct rte_mbuf **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(p[i]);
}

static struct dp_fault_cfg cfg_of(const char *spec)
{
	struct dp_fault_cfg c;

	memset(&c, 0, sizeof(c));
	if (spec && dp_fault_parse(spec, &c) != ST_OK)
		abort();
	return c;
}

/* The wire as the TX callback's own transmissions saw it (accepting up to cap_accept). */
static struct rte_mbuf *wire[65536];
static unsigned wire_n, cap_accept = 1u << 30, nested_ok = 1;
static struct dp_fault_queue *cur_q;

static uint16_t capture_xmit(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t take = n < cap_accept ? n : (uint16_t)cap_accept;

	/* What ethdev does next: the TX callback again, which must pass straight through. */
	if (!cur_q->in_xmit || dp_fault_tx_cb(port, queue, pkts, n, cur_q) != n)
		nested_ok = 0;
	for (uint16_t i = 0; i < take; i++)
		wire[wire_n++] = pkts[i];
	return take;
}

static void queue_setup(struct dp_fault_queue *q, const char *rx, const char *tx, uint16_t queue)
{
	struct dp_fault_cfg r = cfg_of(rx), t = cfg_of(tx);

	memset(&st, 0, sizeof(st));
	dp_fault_queue_init(q, &r, &t, 0, queue, &st, pool);
	q->xmit = capture_xmit;
	cur_q = q;
	wire_n = 0;
	cap_accept = 1u << 30;
	nested_ok = 1;
}

static void test_parse(void)
{
	struct dp_fault_cfg c;
	char buf[96];

	CHECK_OK(dp_fault_parse("drop=20,dup=10,reorder=10,corrupt=5,seed=7", &c));
	CHECK_INT(c.drop_pm, 20);
	CHECK_INT(c.dup_pm, 10);
	CHECK_INT(c.reorder_pm, 10);
	CHECK_INT(c.corrupt_pm, 5);
	CHECK_INT(c.seed, 7);
	CHECK(dp_fault_active(&c));
	dp_fault_format(&c, buf, sizeof(buf));
	CHECK(strcmp(buf, "drop=20,dup=10,reorder=10,corrupt=5,delay=0,seed=7") == 0);
	CHECK_OK(dp_fault_parse("delay=150", &c));
	CHECK_INT(c.delay_ms, 150);
	CHECK(dp_fault_active(&c));
	CHECK_ERR(dp_fault_parse("delay=10001", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_OK(dp_fault_parse("seed=3", &c));
	CHECK(!dp_fault_active(&c));
	dp_fault_format(&c, buf, sizeof(buf));
	CHECK(strcmp(buf, "none") == 0);
	CHECK_ERR(dp_fault_parse("drop=1001", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("drop", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("drop=", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("drop=5x", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(dp_fault_parse("loss=5", &c), ST_ERR_INVALID_ARGUMENT);
}

static void test_getenv(void)
{
	struct dp_fault_cfg c;

	unsetenv("ST_TEST_FAULT_X");
	c.drop_pm = 9;
	CHECK_OK(dp_fault_getenv("ST_TEST_FAULT_X", &c));
	CHECK(!dp_fault_active(&c));
	setenv("ST_TEST_FAULT_X", "", 1);
	CHECK_OK(dp_fault_getenv("ST_TEST_FAULT_X", &c));
	CHECK(!dp_fault_active(&c));
	setenv("ST_TEST_FAULT_X", "drop=20,seed=4", 1);
	CHECK_OK(dp_fault_getenv("ST_TEST_FAULT_X", &c));
	CHECK_INT(c.drop_pm, 20);
	CHECK_INT(c.seed, 4);
	setenv("ST_TEST_FAULT_X", "drop=20,bogus", 1);
	c.drop_pm = 7;
	CHECK_ERR(dp_fault_getenv("ST_TEST_FAULT_X", &c), ST_ERR_INVALID_ARGUMENT);
	CHECK_INT(c.drop_pm, 7); /* untouched on failure */
	unsetenv("ST_TEST_FAULT_X");
}

static void test_draw_seeded(void)
{
	struct dp_fault a, b;
	struct dp_fault_cfg c;
	unsigned below20 = 0;

	memset(&c, 0, sizeof(c));
	c.seed = 42;
	dp_fault_init(&a, &c, 0);
	dp_fault_init(&b, &c, 0);
	for (int i = 0; i < 100000; i++) {
		unsigned x = dp_fault_draw(&a);

		CHECK(x < 1000);
		CHECK(x == dp_fault_draw(&b)); /* same seed, same sequence */
		if (x < 20)
			below20++;
	}
	/* 2% +- a margin */
	CHECK(below20 > 1700 && below20 < 2300);
	dp_fault_init(&b, &c, 1); /* another direction/worker: another stream */
	dp_fault_init(&a, &c, 0);
	CHECK(dp_fault_draw(&a) != dp_fault_draw(&b) || dp_fault_draw(&a) != dp_fault_draw(&b));
}

#define RATE_PKTS 20000
#define RATE_BURST 8
/* 10% of RATE_PKTS, +- 15% of that (about 7 standard deviations). */
#define NEAR_10PC(x) ((x) > 1700 && (x) < 2300)

static int rx_good_csum; /* mark packets as checksum-verified, as an offloading PMD does */

/*
 * RATE_PKTS packets through the RX callback in bursts of RATE_BURST (room 32);
 * the ids delivered go to ids[] (when not NULL); returns how many.
 */
static unsigned rx_run(struct dp_fault_queue *q, uint32_t *ids, struct rte_mbuf **keep)
{
	unsigned got = 0, next = 0;

	while (next < RATE_PKTS || q->rx.held) {
		struct rte_mbuf *p[32];
		uint16_t n = 0, k;

		while (n < RATE_BURST && next < RATE_PKTS) {
			p[n] = mk(next++);
			if (rx_good_csum) /* as a PMD with RX checksum offload marks it */
				p[n]->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
			n++;
		}
		k = dp_fault_rx_cb(0, q->queue, p, n, 32, q);
		CHECK(k <= 32);
		for (uint16_t i = 0; i < k; i++) {
			if (ids)
				ids[got] = id_of(p[i]);
			if (keep)
				keep[got] = p[i];
			else
				rte_pktmbuf_free(p[i]);
			got++;
		}
	}
	return got;
}

static uint32_t ids[2 * RATE_PKTS], ids2[2 * RATE_PKTS];
static struct rte_mbuf *kept[2 * RATE_PKTS];

static void test_rx_rates(void)
{
	struct dp_fault_queue q;
	unsigned got, inversions = 0, corrupted = 0;

	queue_setup(&q, "drop=100,seed=5", NULL, 0);
	got = rx_run(&q, ids, NULL);
	CHECK(NEAR_10PC(st.drop[DP_DROP_FAULT]));
	CHECK_INT(got + st.drop[DP_DROP_FAULT], RATE_PKTS);
	for (unsigned i = 1; i < got; i++)
		CHECK(ids[i] > ids[i - 1]); /* drops only: order kept */

	queue_setup(&q, "dup=100,seed=5", NULL, 0);
	got = rx_run(&q, ids, kept);
	CHECK(NEAR_10PC(st.ctr[DP_CTR_FAULT_DUP]));
	CHECK_INT(got, RATE_PKTS + st.ctr[DP_CTR_FAULT_DUP]);
	for (unsigned i = 0; i + 1 < got; i++)
		if (ids[i] == ids[i + 1]) { /* the clone comes first and shares the data */
			CHECK(RTE_MBUF_CLONED(kept[i]));
			CHECK(rte_pktmbuf_mtod(kept[i], void *) == rte_pktmbuf_mtod(kept[i + 1], void *));
		}
	free_all(kept, got);

	queue_setup(&q, "reorder=100,seed=5", NULL, 0);
	got = rx_run(&q, ids, NULL);
	CHECK_INT(got, RATE_PKTS);
	CHECK(NEAR_10PC(st.ctr[DP_CTR_FAULT_REORDER]));
	/* Each held packet comes right after the next one: one inversion each. */
	for (unsigned i = 1; i < got; i++)
		inversions += ids[i] < ids[i - 1];
	CHECK_INT(inversions, st.ctr[DP_CTR_FAULT_REORDER]);

	queue_setup(&q, "corrupt=100,seed=5", NULL, 0);
	rx_good_csum = 1;
	got = rx_run(&q, NULL, kept);
	rx_good_csum = 0;
	CHECK_INT(got, RATE_PKTS);
	for (unsigned i = 0; i < got; i++) {
		struct rte_mbuf *ref = mk(i);
		const uint8_t *a = rte_pktmbuf_mtod(kept[i], const uint8_t *);
		const uint8_t *b = rte_pktmbuf_mtod(ref, const uint8_t *);
		unsigned bits = 0, first = PKT_LEN;

		for (unsigned j = 0; j < PKT_LEN; j++)
			if (a[j] != b[j]) {
				bits += (unsigned)__builtin_popcount(a[j] ^ b[j]);
				if (first == PKT_LEN)
					first = j;
			}
		if (bits) {
			corrupted++;
			CHECK_INT(bits, 1);
			CHECK(first >= 14); /* never the Ethernet header */
			/* the PMD's verdict is gone: the stack checks the sums itself */
			CHECK_INT(kept[i]->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK), 0);
		} else {
			CHECK(kept[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_GOOD);
		}
		rte_pktmbuf_free(ref);
	}
	CHECK_INT(corrupted, st.ctr[DP_CTR_FAULT_CORRUPT]);
	CHECK(NEAR_10PC(corrupted));
	free_all(kept, got);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

static void test_rx_seeded(void)
{
	struct dp_fault_queue q;
	unsigned a, b;
	const char *spec = "drop=30,dup=30,reorder=30,seed=77";

	queue_setup(&q, spec, NULL, 0);
	a = rx_run(&q, ids, NULL);
	queue_setup(&q, spec, NULL, 0);
	b = rx_run(&q, ids2, NULL);
	CHECK_INT(a, b);
	CHECK(memcmp(ids, ids2, a * sizeof(ids[0])) == 0); /* same seed and queue: same faults */
	queue_setup(&q, spec, NULL, 1);                    /* another queue: another stream */
	b = rx_run(&q, ids2, NULL);
	CHECK(a != b || memcmp(ids, ids2, a * sizeof(ids[0])) != 0);
	queue_setup(&q, "drop=30,dup=30,reorder=30,seed=78", NULL, 0);
	b = rx_run(&q, ids2, NULL);
	CHECK(a != b || memcmp(ids, ids2, a * sizeof(ids[0])) != 0);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

static void test_rx_held_release_on_empty_polls(void)
{
	struct dp_fault_queue q;
	struct rte_mbuf *p[32], *a;

	queue_setup(&q, "reorder=1000", NULL, 0);
	p[0] = a = mk(1);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 1, 32, &q), 0); /* held */
	for (unsigned i = 1; i < DP_FAULT_HOLD_POLLS; i++)
		CHECK_INT(dp_fault_rx_cb(0, 0, p, 0, 32, &q), 0);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 0, 32, &q), 1); /* an empty poll releases it */
	CHECK(p[0] == a);
	rte_pktmbuf_free(a);
	/* With traffic it comes right after the next packet. */
	p[0] = mk(1);
	p[1] = mk(2);
	p[2] = mk(3);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 3, 32, &q), 2);
	CHECK_INT(id_of(p[0]), 2);
	CHECK_INT(id_of(p[1]), 1);
	free_all(p, 2);
	CHECK(q.rx.held != NULL && id_of(q.rx.held) == 3);
	dp_fault_queue_release(&q);
	CHECK(q.rx.held == NULL);
	CHECK_INT(st.ctr[DP_CTR_FAULT_REORDER], 3);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

/* The RX delay line on a fake clock of 1000 cycles per ms: order, due times, room, overflow. */
static void test_rx_delay(void)
{
	struct dp_fault_queue q;
	struct rte_mbuf *p[16];
	uint64_t t = 1000000;

	queue_setup(&q, "delay=5", NULL, 0);
	CHECK_OK(dp_fault_delay_setup(&q, 8, 1000000));
	for (unsigned i = 0; i < 3; i++)
		p[i] = mk(i);
	CHECK_INT(dp_fault_delay_run(&q, p, 3, 16, t), 0); /* all wait */
	CHECK_INT(dp_fault_delay_run(&q, p, 0, 16, t + 4999), 0);
	p[0] = mk(3);
	CHECK_INT(dp_fault_delay_run(&q, p, 1, 16, t + 2000), 0); /* due at t + 7000 */
	CHECK_INT(dp_fault_delay_run(&q, p, 0, 16, t + 5000), 3);   /* the first three, in order */
	for (unsigned i = 0; i < 3; i++)
		CHECK_INT(id_of(p[i]), i);
	free_all(p, 3);
	CHECK_INT(dp_fault_delay_run(&q, p, 0, 16, t + 6999), 0);
	CHECK_INT(dp_fault_delay_run(&q, p, 0, 16, t + 7000), 1);
	CHECK_INT(id_of(p[0]), 3);
	free_all(p, 1);
	/* Released packets go only where the burst has room; a full line drops (FAULT). */
	for (unsigned i = 0; i < 10; i++)
		p[i] = mk(10 + i);
	CHECK_INT(dp_fault_delay_run(&q, p, 10, 16, t + 10000), 0);
	CHECK_INT(st.drop[DP_DROP_FAULT], 2);
	CHECK_INT(st.ctr[DP_CTR_FAULT_DELAYED], 12);
	CHECK_INT(dp_fault_delay_run(&q, p, 0, 3, t + 20000), 3);
	CHECK_INT(id_of(p[0]), 10);
	free_all(p, 3);
	CHECK_INT(dp_fault_delay_run(&q, p, 0, 16, t + 20000), 5);
	CHECK_INT(id_of(p[4]), 17);
	free_all(p, 5);
	/* Through the callback, with drops before the line; release frees what waits. */
	p[0] = mk(30);
	p[1] = mk(31);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 2, 16, &q), 0);
	CHECK_INT(q.delay.n, 2);
	dp_fault_queue_release(&q);
	CHECK(q.delay.m == NULL);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

static void test_rx_room(void)
{
	struct dp_fault_queue q;
	struct rte_mbuf *p[9];
	struct rte_mbuf *canary = (struct rte_mbuf *)(uintptr_t)0x1234;

	/* A full burst has no room for duplicates: nothing written past max_pkts. */
	queue_setup(&q, "dup=1000", NULL, 0);
	for (unsigned i = 0; i < 8; i++)
		p[i] = mk(i);
	p[8] = canary;
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 8, 8, &q), 8);
	CHECK(p[8] == canary);
	for (unsigned i = 0; i < 8; i++)
		CHECK_INT(id_of(p[i]), i);
	free_all(p, 8);
	/* Half full: every packet duplicated. */
	for (unsigned i = 0; i < 4; i++)
		p[i] = mk(i);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 4, 8, &q), 8);
	CHECK(p[8] == canary);
	CHECK_INT(st.ctr[DP_CTR_FAULT_DUP], 4);
	free_all(p, 8);
	/* Drops need no room. */
	queue_setup(&q, "drop=1000", NULL, 0);
	for (unsigned i = 0; i < 8; i++)
		p[i] = mk(i);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 8, 8, &q), 0);
	CHECK_INT(st.drop[DP_DROP_FAULT], 8);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

static void test_tx_drop_keeps_count(void)
{
	struct dp_fault_queue q;
	struct rte_mbuf *p[4];

	queue_setup(&q, NULL, "drop=1000", 0);
	for (unsigned i = 0; i < 4; i++)
		p[i] = mk(i);
	/* The caller owns p[sent..n) afterwards: the count never changes. */
	CHECK_INT(dp_fault_tx_cb(0, 0, p, 4, &q), 4);
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *b = rte_pktmbuf_mtod(p[i], const uint8_t *);

		CHECK(is_filler(p[i]));
		CHECK(b[0] == 0x02 && b[5] == 0x01 && b[6] == 0x02 && b[11] == 0x02);
		CHECK_INT(p[i]->ol_flags, 0);
	}
	CHECK_INT(st.drop[DP_DROP_FAULT], 4);
	CHECK_INT(wire_n, 0);
	free_all(p, 4);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

static void test_tx_dup_sends_prefix_itself(void)
{
	struct dp_fault_queue q;
	struct rte_mbuf *p[2], *a, *b;

	queue_setup(&q, NULL, "dup=1000", 0);
	p[0] = a = mk(1);
	p[1] = b = mk(2);
	CHECK_INT(dp_fault_tx_cb(0, 0, p, 2, &q), 2);
	/* Wire order A' A B' B: the callback sent A' A itself, the PMD gets B' B. */
	CHECK_INT(wire_n, 2);
	CHECK(nested_ok);
	CHECK(RTE_MBUF_CLONED(wire[0]) && id_of(wire[0]) == 1);
	CHECK(wire[1] == a);
	CHECK(RTE_MBUF_CLONED(p[0]) && id_of(p[0]) == 2);
	CHECK(p[1] == b);
	CHECK_INT(st.ctr[DP_CTR_FAULT_DUP], 2);
	CHECK_INT(st.tx_pkts, 2); /* the callback's own sends are counted */
	free_all(p, 2);
	free_all(wire, wire_n);
	/* The PMD refuses the callback's own part: freed and counted, nothing leaks. */
	wire_n = 0;
	cap_accept = 0;
	p[0] = mk(1);
	p[1] = mk(2);
	CHECK_INT(dp_fault_tx_cb(0, 0, p, 2, &q), 2);
	CHECK_INT(wire_n, 0);
	CHECK_INT(st.drop[DP_DROP_TX_FULL], 2);
	free_all(p, 2);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

static void test_tx_reorder_and_release(void)
{
	struct dp_fault_queue q;
	struct rte_mbuf *p[3];

	queue_setup(&q, NULL, "reorder=1000", 0);
	for (unsigned i = 0; i < 3; i++)
		p[i] = mk(i + 1);
	/* A held (its filler dropped: the release covers the slot), B, A, C held (filler). */
	CHECK_INT(dp_fault_tx_cb(0, 0, p, 3, &q), 3);
	CHECK_INT(id_of(p[0]), 2);
	CHECK_INT(id_of(p[1]), 1);
	CHECK(is_filler(p[2]));
	CHECK_INT(wire_n, 0);
	free_all(p, 3);
	CHECK(q.tx.held != NULL && id_of(q.tx.held) == 3);
	/* No more TX traffic: the queue's RX polls release it through the guarded xmit. */
	for (unsigned i = 1; i < DP_FAULT_HOLD_POLLS; i++)
		CHECK_INT(dp_fault_rx_cb(0, 0, p, 0, 32, &q), 0);
	CHECK_INT(wire_n, 0);
	CHECK_INT(dp_fault_rx_cb(0, 0, p, 0, 32, &q), 0);
	CHECK_INT(wire_n, 1);
	CHECK(nested_ok);
	CHECK(q.tx.held == NULL && id_of(wire[0]) == 3);
	CHECK_INT(st.ctr[DP_CTR_FAULT_REORDER], 2);
	free_all(wire, wire_n);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

/*
 * Random bursts through the TX callback: the burst count never changes, the
 * wire (own sends, then the returned burst) carries every packet not dropped
 * once plus its duplicates, and nothing leaks. Returns the wire's ids in ids[].
 */
static unsigned tx_run(struct dp_fault_queue *q, uint32_t *out)
{
	unsigned next = 0, got = 0, fillers = 0;
	uint64_t rnd = 12345;
	static unsigned seen[RATE_PKTS];

	memset(seen, 0, sizeof(seen));
	while (next < RATE_PKTS) {
		struct rte_mbuf *p[64];
		uint16_t n = 0, want;

		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		want = (uint16_t)(1 + (rnd >> 33) % 64);
		while (n < want && next < RATE_PKTS)
			p[n++] = mk(next++);
		wire_n = 0;
		CHECK_INT(dp_fault_tx_cb(0, q->queue, p, n, q), n);
		for (uint16_t i = 0; i < n; i++)
			wire[wire_n++] = p[i];
		for (unsigned i = 0; i < wire_n; i++) {
			if (is_filler(wire[i])) {
				fillers++;
			} else {
				uint32_t id = id_of(wire[i]);

				CHECK(id < RATE_PKTS);
				if (id < RATE_PKTS)
					seen[id]++;
				out[got++] = id;
			}
			rte_pktmbuf_free(wire[i]);
		}
	}
	if (q->tx.held) {
		seen[id_of(q->tx.held)]++;
		out[got++] = id_of(q->tx.held);
	}
	dp_fault_queue_release(q);
	{
		uint64_t once = 0, twice = 0, never = 0;

		for (unsigned i = 0; i < RATE_PKTS; i++) {
			once += seen[i] == 1;
			twice += seen[i] == 2;
			never += seen[i] == 0;
			CHECK(seen[i] <= 2);
		}
		CHECK_INT(never, q->st->drop[DP_DROP_FAULT]);
		CHECK_INT(twice, q->st->ctr[DP_CTR_FAULT_DUP]);
		CHECK_INT(once + twice + never, RATE_PKTS);
	}
	CHECK(fillers <= q->st->drop[DP_DROP_FAULT] + q->st->ctr[DP_CTR_FAULT_REORDER]);
	CHECK(nested_ok);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	return got;
}

static void test_tx_rates_and_seeding(void)
{
	struct dp_fault_queue q;
	unsigned a, b;
	const char *spec = "drop=100,dup=100,reorder=100,seed=9";

	queue_setup(&q, NULL, spec, 0);
	a = tx_run(&q, ids);
	CHECK(NEAR_10PC(st.drop[DP_DROP_FAULT]));
	CHECK(st.ctr[DP_CTR_FAULT_DUP] > 1400 && st.ctr[DP_CTR_FAULT_DUP] < 2300); /* of the survivors */
	CHECK(st.ctr[DP_CTR_FAULT_REORDER] > 1200 && st.ctr[DP_CTR_FAULT_REORDER] < 2300);
	queue_setup(&q, NULL, spec, 0);
	b = tx_run(&q, ids2);
	CHECK_INT(a, b);
	CHECK(memcmp(ids, ids2, a * sizeof(ids[0])) == 0);
	queue_setup(&q, NULL, spec, 3);
	b = tx_run(&q, ids2);
	CHECK(a != b || memcmp(ids, ids2, a * sizeof(ids[0])) != 0);
	/* Corruption on TX: one bit past the Ethernet header, counted. */
	queue_setup(&q, NULL, "corrupt=1000", 0);
	{
		struct rte_mbuf *p[1] = {mk(5)}, *ref = mk(5);

		CHECK_INT(dp_fault_tx_cb(0, 0, p, 1, &q), 1);
		CHECK(memcmp(rte_pktmbuf_mtod(p[0], void *), rte_pktmbuf_mtod(ref, void *), 14) == 0);
		CHECK(memcmp(rte_pktmbuf_mtod(p[0], void *), rte_pktmbuf_mtod(ref, void *), PKT_LEN) != 0);
		CHECK_INT(st.ctr[DP_CTR_FAULT_CORRUPT], 1);
		rte_pktmbuf_free(p[0]);
		rte_pktmbuf_free(ref);
	}
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

/* ---- installed on a port: net_ring0 without arguments loops TX back to RX ---- */

static int ring_port = -1;

static int port_prepare(uint16_t port)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 256, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 256, 0, NULL) != 0)
		return -1;
	return 0;
}

static void test_install(void)
{
	struct dp_fault_cfg none = cfg_of(NULL), rx = cfg_of("reorder=1000"), seedonly = cfg_of("seed=5");
	struct dp_stats *stp[1] = {&st};
	struct rte_mempool *pools[1] = {pool};
	struct dp_fault_port *fp = (struct dp_fault_port *)(uintptr_t)1;
	struct rte_mbuf *p[32], *a;
	uint16_t port;

	if (ring_port < 0) {
		printf("   (no net_ring PMD: skipped)\n");
		return;
	}
	port = (uint16_t)ring_port;
	memset(&st, 0, sizeof(st));
	CHECK_INT(port_prepare(port), 0);
	/* No spec (or a seed alone): nothing installed, the bursts have no extra work. */
	CHECK_OK(dp_fault_install(port, 1, &none, &seedonly, stp, pools, &fp));
	CHECK(fp == NULL);
	CHECK_INT(rte_eth_dev_start(port), 0);
	CHECK(rte_eth_fp_ops[port].rxq.clbk[0] == NULL);
	CHECK(rte_eth_fp_ops[port].txq.clbk[0] == NULL);
	CHECK_INT(rte_eth_dev_stop(port), 0);

	/* RX reorder only: an RX callback, no TX one. */
	CHECK_OK(dp_fault_install(port, 1, &rx, &none, stp, pools, &fp));
	CHECK(fp != NULL);
	CHECK_INT(rte_eth_dev_start(port), 0);
	CHECK(rte_eth_fp_ops[port].rxq.clbk[0] != NULL);
	CHECK(rte_eth_fp_ops[port].txq.clbk[0] == NULL);
	p[0] = a = mk(7);
	CHECK_INT(rte_eth_tx_burst(port, 0, p, 1), 1); /* looped back to RX */
	CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 0); /* held by the callback */
	CHECK_INT(st.ctr[DP_CTR_FAULT_REORDER], 1);
	/* ethdev runs RX callbacks on empty polls too: they release it. */
	for (unsigned i = 1; i < DP_FAULT_HOLD_POLLS; i++)
		CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 0);
	CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 1);
	CHECK(p[0] == a);
	rte_pktmbuf_free(a);
	CHECK_INT(rte_eth_dev_stop(port), 0);
	dp_fault_uninstall(fp);
	CHECK_INT(rte_eth_dev_start(port), 0);
	CHECK(rte_eth_fp_ops[port].rxq.clbk[0] == NULL);
	CHECK_INT(rte_eth_dev_stop(port), 0);

	/* An RX delay through the installed callback: the packet comes after 20 ms, not before. */
	{
		struct dp_fault_cfg d = cfg_of("delay=20"), txd = cfg_of("delay=20");
		uint64_t t0;
		unsigned got = 0;

		CHECK_ERR(dp_fault_install(port, 1, &none, &txd, stp, pools, &fp),
			  ST_ERR_INVALID_ARGUMENT); /* received packets only */
		CHECK(fp == NULL);
		CHECK_OK(dp_fault_install(port, 1, &d, &none, stp, pools, &fp));
		CHECK_INT(rte_eth_dev_start(port), 0);
		p[0] = a = mk(9);
		t0 = rte_get_tsc_cycles();
		CHECK_INT(rte_eth_tx_burst(port, 0, p, 1), 1);
		while (!got && rte_get_tsc_cycles() - t0 < rte_get_tsc_hz())
			got = rte_eth_rx_burst(port, 0, p, 32);
		CHECK_INT(got, 1);
		CHECK(rte_get_tsc_cycles() - t0 >= rte_get_tsc_hz() / 50);
		CHECK(got == 1 && p[0] == a);
		if (got)
			rte_pktmbuf_free(a);
		/* One left waiting is freed by the uninstall. */
		p[0] = mk(10);
		CHECK_INT(rte_eth_tx_burst(port, 0, p, 1), 1);
		CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 0);
		CHECK_INT(rte_eth_dev_stop(port), 0);
		dp_fault_uninstall(fp);
		CHECK_INT(rte_mempool_in_use_count(pool), 0);
	}

	/* TX faults: a TX callback, and an RX one to age a held TX packet. */
	{
		struct dp_fault_cfg tx = cfg_of("reorder=1000");

		CHECK_OK(dp_fault_install(port, 1, &none, &tx, stp, pools, &fp));
		CHECK(fp != NULL);
		CHECK_INT(rte_eth_dev_start(port), 0);
		CHECK(rte_eth_fp_ops[port].rxq.clbk[0] != NULL);
		CHECK(rte_eth_fp_ops[port].txq.clbk[0] != NULL);
		p[0] = a = mk(8);
		CHECK_INT(rte_eth_tx_burst(port, 0, p, 1), 1); /* held; a filler goes instead */
		CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 1);
		CHECK(is_filler(p[0]));
		rte_pktmbuf_free(p[0]);
		for (unsigned i = 1; i < DP_FAULT_HOLD_POLLS; i++)
			CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 0);
		/* the last of those put it on the ring: this one receives it */
		CHECK_INT(rte_eth_rx_burst(port, 0, p, 32), 1);
		CHECK(p[0] == a);
		rte_pktmbuf_free(a);
		CHECK_INT(rte_eth_dev_stop(port), 0);
		dp_fault_uninstall(fp);
	}
	dp_fault_uninstall(NULL);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
}

int main(int argc, char **argv)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=st_test_fault_%d", (int)getpid());
	char *eal[] = {argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf", prefix,
		       "--no-telemetry", "-l", "0", "--log-level", "error", "--vdev=net_ring0"};
	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		printf("dp_fault: rte_eal_init failed\ntest_dp_fault: 0 passed, 1 failed\n");
		return 1;
	}
	/* small buffers: the rate tests keep every delivered packet (and clone) at once */
	pool = rte_pktmbuf_pool_create("fault", 65535, 0, 0, RTE_PKTMBUF_HEADROOM + 256, 0);
	if (!pool) {
		printf("dp_fault: no mbuf pool\ntest_dp_fault: 0 passed, 1 failed\n");
		return 1;
	}
	{
		uint16_t pid;

		RTE_ETH_FOREACH_DEV(pid) {
			struct rte_eth_dev_info info;

			if (rte_eth_dev_info_get(pid, &info) == 0 && strstr(info.driver_name, "ring"))
				ring_port = pid;
		}
	}
	RUN(test_parse);
	RUN(test_getenv);
	RUN(test_draw_seeded);
	RUN(test_rx_rates);
	RUN(test_rx_seeded);
	RUN(test_rx_held_release_on_empty_polls);
	RUN(test_rx_room);
	RUN(test_rx_delay);
	RUN(test_tx_drop_keeps_count);
	RUN(test_tx_dup_sends_prefix_itself);
	RUN(test_tx_reorder_and_release);
	RUN(test_tx_rates_and_seeding);
	RUN(test_install);
	if (ring_port >= 0)
		rte_eth_dev_close((uint16_t)ring_port);
	rte_eal_cleanup();
	st_test_sh("rm -rf /var/run/dpdk/st_test_fault_%d", (int)getpid()); /* EAL runtime dir */
	return st_test_done("test_dp_fault");
}
