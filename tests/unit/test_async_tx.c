/*
 * Asynchronous sealing on enqueue/dequeue cryptodevs (the worker's send
 * path, docs/ARCHITECTURE.md "Asynchronous sealing"): packets framed by the
 * record layer in DPDK mbufs (st_pkt.mbuf), handed to the device with
 * st_record_tx_enqueue(), collected with the backend's dequeue_burst.
 *
 *   - byte-exact: what comes back equals EVP sealing the same payloads with
 *     the same keys and padding, several packets sharing an mbuf;
 *   - order: many sessions interleaved, each one's packets come back in
 *     sequence order, bytes exact;
 *   - backpressure: a 16-deep queue pair takes fewer than offered; the rest
 *     is offered again after dequeuing, nothing is sealed twice;
 *   - zombie: the owner frees its mbufs and its record while seals are in
 *     flight; the shells keep the mbufs alive, the device session is
 *     retired until they are back, then everything is returned;
 *   - rekey: keys switched with seals of the old keys in flight.
 *
 * Devices: crypto_openssl (no CPU crypto), crypto_aesni_gcm and
 * crypto_aesni_mb forced to the op path; a PMD that is missing is a skip.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/cipher.h"
#include "dataplane/crypto/cryptodev.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"
#include "tests/unit/test.h"

#define NPKT 600
#define MAXP 1400

static struct rte_mempool *mpool;
static const struct st_crypto_backend *cdev;
static int small_queue;

/* One session's send side twice: on the device, and on EVP for reference. */
struct twin {
	struct st_record dev, ref;
	struct st_buf wire; /* EVP's sealed bytes, in order */
	struct rte_mbuf *cur; /* mbuf being filled */
};

static const struct st_test_suite gcm_suites[2] = {
	{"aes128-gcm@openssh.com", NULL},
	{"aes256-gcm@openssh.com", NULL},
};

static void twin_init(struct twin *t, const struct st_test_suite *s, uint64_t seed)
{
	struct st_dir_keys k;
	uint8_t nk = SSH_MSG_NEWKEYS;
	struct st_buf scratch;

	CHECK_OK(st_record_init(&t->dev, cdev, 0));
	CHECK_OK(st_record_init(&t->ref, &st_crypto_backend_evp, 0));
	CHECK_OK(st_buf_alloc(&t->wire, 0, 8u << 20));
	CHECK_OK(st_buf_alloc(&scratch, 0, 1u << 16));
	st_test_suite_keys(s, seed, &k);
	CHECK_OK(st_record_set_next_keys(&t->dev, &k, NULL));
	CHECK_OK(st_record_set_next_keys(&t->ref, &k, NULL));
	st_wipe(&k, sizeof(k));
	CHECK_OK(st_record_send(&t->dev, &nk, 1, &scratch));
	CHECK_OK(st_record_send(&t->ref, &nk, 1, &scratch));
	st_buf_free(&scratch);
	CHECK(st_record_tx_async(&t->dev));
	CHECK(!st_record_tx_async(&t->ref));
	t->cur = NULL;
}

static void twin_free(struct twin *t)
{
	st_record_free(&t->dev);
	st_record_free(&t->ref);
	st_buf_free(&t->wire);
	if (t->cur != NULL)
		rte_pktmbuf_free(t->cur);
	t->cur = NULL;
}

/*
 * Frames one packet of `len` bytes on the device side into an mbuf (the
 * tail of the current one when it fits, as the worker does) and seals the
 * same payload on EVP with the same padding. *pk is ready to enqueue; the
 * mbuf carries a reference for the test (released by the caller).
 */
static struct rte_mbuf *twin_frame_type(struct twin *t, uint8_t type, uint32_t len, uint64_t seed,
				       struct st_pkt *pk)
{
	uint8_t payload[MAXP];
	struct st_record_out o;
	size_t need = st_record_seal_size(&t->dev, len);

	st_test_fill(payload, len, seed);
	payload[0] = type;
	for (unsigned i = 0; i < sizeof(t->dev.pad_pool); i++)
		t->dev.pad_pool[i] = t->ref.pad_pool[i] = (uint8_t)(seed + i * 13);
	t->dev.pad_used = t->ref.pad_used = 0;
	if (t->cur == NULL || rte_pktmbuf_tailroom(t->cur) < need) {
		if (t->cur != NULL)
			rte_pktmbuf_free(t->cur);
		t->cur = rte_pktmbuf_alloc(mpool);
		CHECK(t->cur != NULL);
		if (t->cur == NULL)
			return NULL;
	}
	o.buf = rte_pktmbuf_mtod_offset(t->cur, uint8_t *, t->cur->data_len);
	o.cap = need;
	o.payload_len = len;
	memcpy(o.buf + ST_RECORD_PAYLOAD_OFFSET, payload, len);
	CHECK_OK(st_record_frame(&t->dev, &o, pk));
	pk->mbuf = t->cur;
	t->cur->data_len = (uint16_t)(t->cur->data_len + o.wire_len);
	t->cur->pkt_len = t->cur->data_len;
	CHECK_OK(st_record_send(&t->ref, payload, len, &t->wire));
	rte_mbuf_refcnt_update(t->cur, 1); /* the test's own reference, for checking */
	return t->cur;
}

static struct rte_mbuf *twin_frame(struct twin *t, uint32_t len, uint64_t seed, struct st_pkt *pk)
{
	return twin_frame_type(t, 94 /* CHANNEL_DATA */, len, seed, pk);
}

/* What came back for packet p, against EVP's bytes at *off. */
static int same_as_ref(struct twin *t, const struct st_pkt *p, size_t *off)
{
	uint32_t wl = p->len + t->dev.tx.crypto.tag_len;
	int ok = *off + wl <= st_buf_avail(&t->wire) &&
		 memcmp(p->buf, st_buf_ptr(&t->wire) + *off, wl) == 0;
	*off += wl;
	return ok;
}

/* Enqueues p[0..n) in bursts, draining completions; returns how many were refused once. */
static unsigned enqueue_all(struct st_record *r, struct st_pkt *p, unsigned n, struct st_pkt **done,
			    unsigned *ndone)
{
	unsigned taken = 0, refused = 0, guard = 0;

	while (taken < n && guard++ < 1000000) {
		unsigned want = n - taken < 32 ? n - taken : 32;
		int got = st_record_tx_enqueue(r, p + taken, want);
		CHECK(got >= 0);
		if (got < 0)
			break;
		if ((unsigned)got < want)
			refused++;
		taken += (unsigned)got;
		if ((unsigned)got < want) /* backpressure: what is done comes home first */
			*ndone += cdev->dequeue_burst(done + *ndone, 64);
	}
	return refused;
}

static void drain_all(struct st_pkt **done, unsigned *ndone, unsigned want)
{
	for (unsigned guard = 0; *ndone < want && guard < 10000000; guard++)
		*ndone += cdev->dequeue_burst(done + *ndone, 64);
}

/* One session: byte-exact against EVP, packets sharing mbufs, in order. */
static void test_exact_one_session(void)
{
	for (unsigned si = 0; si < 2; si++) {
		static struct st_pkt p[NPKT], *done[NPKT + 64];
		static struct rte_mbuf *mb[NPKT];
		struct twin t;
		unsigned nd = 0, bad = 0, order = 0;
		size_t off = 0;

		twin_init(&t, &gcm_suites[si], 10 + si);
		for (unsigned i = 0; i < NPKT; i++)
			mb[i] = twin_frame(&t, 1 + (i * 389) % MAXP, 1000 + i, &p[i]);
		unsigned refused = enqueue_all(&t.dev, p, NPKT, done, &nd);
		drain_all(done, &nd, NPKT);
		CHECK_INT(nd, NPKT);
		for (unsigned i = 0; i < nd && i < NPKT; i++) {
			order += done[i] != &p[i];
			bad += done[i]->status != ST_OK || !same_as_ref(&t, done[i], &off);
		}
		CHECK_INT(order, 0);
		CHECK_INT(bad, 0);
		if (small_queue)
			CHECK(refused > 0); /* a 16-deep queue cannot take 32 at once */
		for (unsigned i = 0; i < NPKT; i++)
			rte_pktmbuf_free(mb[i]);
		twin_free(&t);
	}
}

/* Many sessions interleaved: each one's packets in sequence order, bytes exact. */
static void test_order_many_sessions(void)
{
	enum { NS = 24, PER = 40 };
	static struct twin t[NS];
	static struct st_pkt p[NS * PER], *done[NS * PER + 64];
	static struct rte_mbuf *mb[NS * PER];
	static uint32_t next_seq[NS];
	static size_t off[NS];
	static uint8_t owner[NS * PER];
	unsigned nd = 0, bad = 0, order = 0, n = 0, cnt[NS] = {0};

	for (unsigned s = 0; s < NS; s++) {
		twin_init(&t[s], &gcm_suites[s % 2], 100 + s);
		next_seq[s] = t[s].dev.tx.seq;
		off[s] = 0;
	}
	/* Bursts of 1..5 packets of a pseudo-random session at a time. */
	uint64_t x = 88172645463325252ull;
	while (n < NS * PER) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned s = (unsigned)(x % NS), k = 1 + (unsigned)((x >> 20) % 5), first = n;
		for (; k > 0 && cnt[s] < PER; k--, cnt[s]++, n++) {
			owner[n] = (uint8_t)s;
			mb[n] = twin_frame(&t[s], 1 + (unsigned)((x >> 8) + n * 97) % MAXP, n, &p[n]);
		}
		if (n > first)
			enqueue_all(&t[s].dev, p + first, n - first, done, &nd);
	}
	drain_all(done, &nd, NS * PER);
	CHECK_INT(nd, NS * PER);
	for (unsigned i = 0; i < nd; i++) {
		size_t idx = (size_t)(done[i] - p);
		if (idx >= NS * PER) {
			bad++;
			continue;
		}
		unsigned s = owner[idx];
		order += done[i]->seq != next_seq[s];
		next_seq[s] = done[i]->seq + 1;
		bad += done[i]->status != ST_OK || !same_as_ref(&t[s], done[i], &off[s]);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(order, 0);
	for (unsigned i = 0; i < NS * PER; i++)
		rte_pktmbuf_free(mb[i]);
	for (unsigned s = 0; s < NS; s++)
		twin_free(&t[s]);
}

/*
 * Zombie: the owner lets go of its mbufs and its record (keys, device
 * session) while the seals are in flight. The shells hold the mbufs, the
 * device session waits in the retired list; once dequeued all is returned.
 */
static void test_zombie_in_flight(void)
{
	static struct st_pkt p[64], *done[128];
	struct st_cryptodev_info info;
	struct twin t;
	unsigned nd = 0;
	unsigned avail0 = rte_mempool_avail_count(mpool);

	twin_init(&t, &gcm_suites[0], 300);
	CHECK_OK(st_cryptodev_info(&info));
	uint32_t sess_before = info.sessions;
	static struct rte_mbuf *mb[48];
	for (unsigned i = 0; i < 48; i++)
		mb[i] = twin_frame(&t, 200 + i, 3000 + i, &p[i]);
	unsigned taken = 0;
	for (unsigned guard = 0; taken < 48 && guard < 1000; guard++) {
		int got = st_record_tx_enqueue(&t.dev, p + taken, 48 - taken);
		CHECK(got >= 0);
		if (got <= 0)
			break;
		taken += (unsigned)got;
	}
	/* In flight now (16-deep queue: the rest never went). The owner goes. */
	twin_free(&t); /* frees its current mbuf and the device session */
	for (unsigned i = 0; i < 48; i++)
		rte_pktmbuf_free(mb[i]); /* the mbufs' last references but the shells' */
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, sess_before); /* the sealing session waits: retired */
	CHECK(rte_mempool_avail_count(mpool) < avail0); /* shells hold the mbufs */
	drain_all(done, &nd, taken);
	CHECK_INT(nd, taken);
	for (unsigned i = 0; i < nd; i++)
		CHECK_INT(done[i]->status, ST_OK);
	(void)cdev->dequeue_burst(done, 1); /* reaps the retired session */
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, sess_before - 1); /* only the EVP side had none */
	CHECK_INT(rte_mempool_avail_count(mpool), avail0);
}

/* Rekey with seals of the old keys in flight: the old device session stays until they are back. */
static void test_rekey_in_flight(void)
{
	static struct st_pkt p[41], *done[128];
	static struct rte_mbuf *mb[41];
	struct st_cryptodev_info info;
	struct st_dir_keys k;
	struct twin t;
	unsigned nd = 0, bad = 0;
	size_t off = 0;

	twin_init(&t, &gcm_suites[1], 400);
	for (unsigned i = 0; i < 20; i++)
		mb[i] = twin_frame(&t, 300 + i, 4000 + i, &p[i]);
	st_test_suite_keys(&gcm_suites[0], 401, &k);
	CHECK_OK(st_record_set_next_keys(&t.dev, &k, NULL));
	CHECK_OK(st_record_set_next_keys(&t.ref, &k, NULL));
	st_wipe(&k, sizeof(k));
	/* NEWKEYS framed behind the 20, all enqueued, then the switch */
	mb[20] = twin_frame_type(&t, SSH_MSG_NEWKEYS, 1, 4020, &p[20]);
	enqueue_all(&t.dev, p, 21, done, &nd);
	CHECK_OK(st_cryptodev_info(&info));
	uint32_t before = info.sessions;
	CHECK_OK(st_record_tx_switch(&t.dev)); /* new session; the old one retired if in flight */
	CHECK(t.ref.tx.keyed); /* st_record_send switched the reference already */
	for (unsigned i = 21; i < 41; i++)
		mb[i] = twin_frame(&t, 500 + i, 4100 + i, &p[i]);
	enqueue_all(&t.dev, p + 21, 20, done, &nd);
	CHECK_OK(st_cryptodev_info(&info));
	CHECK(info.sessions >= before); /* old (retired or freed) + new */
	drain_all(done, &nd, 41);
	CHECK_INT(nd, 41);
	for (unsigned i = 0; i < nd; i++) {
		CHECK_INT(done[i]->status, ST_OK);
		CHECK(done[i] == &p[i]);
		bad += !same_as_ref(&t, done[i], &off);
	}
	CHECK_INT(bad, 0);
	(void)cdev->dequeue_burst(done, 1);
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, before); /* the old one is gone, the new one is there */
	for (unsigned i = 0; i < 41; i++)
		rte_pktmbuf_free(mb[i]);
	twin_free(&t);
}

/*
 * Asynchronous receive: packets sealed by EVP into mbufs (several per mbuf,
 * the last one cut short) are opened on the device with
 * st_record_rx_enqueue, come back through dequeue_burst and give their
 * messages from st_record_rx_complete; a partial packet stops the burst, a
 * tampered one fails with ST_ERR_MAC_INVALID and is wiped.
 */
static void test_rx_async(void)
{
	for (unsigned si = 0; si < 2; si++) {
		struct st_record tx, rx;
		struct st_dir_keys k;
		struct st_buf w;
		struct st_record_msg msg[ST_RECORD_BURST];
		static struct st_pkt pk[ST_RECORD_BURST], *done[64];
		static struct st_seg segs[256];
		struct rte_mbuf *mb[4];
		struct st_rx_piece pc[4];
		uint8_t nk = SSH_MSG_NEWKEYS, pl[700];
		unsigned n = 0, busy_seen = 0, total = 0, bad = 0;
		size_t used;
		int busy;

		st_test_suite_keys(&gcm_suites[si], 700 + si, &k);
		CHECK_OK(st_record_init(&tx, &st_crypto_backend_evp, 0));
		CHECK_OK(st_record_init(&rx, cdev, 0));
		CHECK_OK(st_buf_alloc(&w, 0, 1u << 20));
		CHECK_OK(st_record_set_next_keys(&tx, &k, NULL));
		CHECK_OK(st_record_set_next_keys(&rx, NULL, &k));
		st_wipe(&k, sizeof(k));
		CHECK_OK(st_record_send(&tx, &nk, 1, &w));
		st_record_feed(&rx, st_buf_ptr(&w), st_buf_avail(&w), &used);
		CHECK_OK(st_record_read(&rx, msg, 1, &n));
		CHECK_INT(n, 1);
		CHECK(st_record_rx_async(&rx));
		/* 4 mbufs of 3 packets each (payload 1 + i*57 bytes), the last packet short */
		for (unsigned m = 0; m < 4; m++) {
			mb[m] = rte_pktmbuf_alloc(mpool);
			st_buf_reset(&w);
			for (unsigned j = 0; j < 3; j++) {
				unsigned i = m * 3 + j;
				pl[0] = 94;
				st_test_fill(pl + 1, 56 * i, i);
				CHECK_OK(st_record_send(&tx, pl, 1 + 56 * i, &w));
			}
			size_t len = st_buf_avail(&w) - (m == 3 ? 10 : 0);
			memcpy(rte_pktmbuf_mtod(mb[m], uint8_t *), st_buf_ptr(&w), len);
			mb[m]->data_len = (uint16_t)len;
			pc[m] = (struct st_rx_piece){rte_pktmbuf_mtod(mb[m], uint8_t *), (uint32_t)len, mb[m]};
		}
		/* enqueue as much as the device takes, complete, release, again */
		unsigned at = 0;
		size_t off = 0;
		for (int guard = 0; guard < 100; guard++) {
			struct st_rx_piece rest[4];
			unsigned nr = 0;
			size_t skip = off;
			for (unsigned m = at; m < 4; m++) {
				if (skip >= pc[m].len) {
					skip -= pc[m].len;
					continue;
				}
				rest[nr] = pc[m];
				rest[nr].p += skip;
				rest[nr].len -= (uint32_t)skip;
				skip = 0;
				nr++;
			}
			CHECK_OK(st_record_rx_enqueue(&rx, rest, nr, pk, ST_RECORD_BURST, segs, 256, &n, &busy));
			busy_seen += busy;
			if (n == 0 && !busy)
				break; /* the cut-short packet: the synchronous path would wait for it */
			CHECK(!st_record_rx_async(&rx)); /* in flight: nothing more */
			unsigned nd = 0;
			for (int g = 0; nd < n && g < 1000000; g++)
				nd += cdev->dequeue_burst(done + nd, (uint16_t)(64 - nd));
			CHECK_INT(nd, n);
			for (unsigned i = 0; i < nd; i++)
				CHECK(done[i] == &pk[i]);
			CHECK_OK(st_record_rx_complete(&rx, pk, n, msg, &used));
			for (unsigned i = 0; i < n; i++) {
				unsigned idx = total + i;
				pl[0] = 94;
				st_test_fill(pl + 1, 56 * idx, idx);
				bad += msg[i].len != 1 + 56 * idx || msg[i].payload == NULL ||
				       memcmp(msg[i].payload, pl, msg[i].len) != 0;
			}
			total += n;
			off += used;
		}
		CHECK_INT(total, 11); /* the 12th is cut short */
		CHECK_INT(bad, 0);
		CHECK_INT(rx.rx.seq, tx.tx.seq - 1);
		(void)busy_seen;
		/* a tampered packet among three: MAC error, wiped, the record dead */
		{
			struct st_record tx2, rx2;
			struct rte_mbuf *t = rte_pktmbuf_alloc(mpool);
			size_t lens[3], o2 = 0;
			unsigned nd = 0;
			st_test_suite_keys(&gcm_suites[si], 800 + si, &k);
			CHECK_OK(st_record_init(&tx2, &st_crypto_backend_evp, 0));
			CHECK_OK(st_record_init(&rx2, cdev, 0));
			CHECK_OK(st_record_set_next_keys(&tx2, &k, NULL));
			CHECK_OK(st_record_set_next_keys(&rx2, NULL, &k));
			st_wipe(&k, sizeof(k));
			st_buf_reset(&w);
			CHECK_OK(st_record_send(&tx2, &nk, 1, &w));
			st_record_feed(&rx2, st_buf_ptr(&w), st_buf_avail(&w), &used);
			CHECK_OK(st_record_read(&rx2, msg, 1, &n));
			st_buf_reset(&w);
			for (unsigned j = 0; j < 3; j++) {
				size_t before = st_buf_avail(&w);
				pl[0] = 94;
				CHECK_OK(st_record_send(&tx2, pl, 100, &w));
				lens[j] = st_buf_avail(&w) - before;
			}
			uint8_t *b0 = rte_pktmbuf_mtod(t, uint8_t *);
			memcpy(b0, st_buf_ptr(&w), st_buf_avail(&w));
			b0[lens[0] + 20] ^= 1; /* the second packet's payload */
			struct st_rx_piece tp = {b0, (uint32_t)st_buf_avail(&w), t};
			CHECK_OK(st_record_rx_enqueue(&rx2, &tp, 1, pk, ST_RECORD_BURST, NULL, 0, &n, &busy));
			CHECK(n >= 2);
			for (int g = 0; nd < n && g < 1000000; g++)
				nd += cdev->dequeue_burst(done + nd, (uint16_t)(64 - nd));
			CHECK_INT(nd, n);
			CHECK_INT(pk[0].status, ST_OK);
			CHECK_INT(pk[1].status, ST_ERR_MAC_INVALID);
			CHECK_ERR(st_record_rx_complete(&rx2, pk, n, msg, &o2), ST_ERR_MAC_INVALID);
			uint8_t z[64] = {0};
			CHECK_MEM(b0 + lens[0] + 4, z, 64); /* no unauthenticated plaintext */
			CHECK(!st_record_rx_async(&rx2));
			rte_pktmbuf_free(t);
			st_record_free(&tx2);
			st_record_free(&rx2);
		}
		for (unsigned m = 0; m < 4; m++)
			rte_pktmbuf_free(mb[m]);
		st_record_free(&tx);
		st_record_free(&rx);
		st_buf_free(&w);
	}
}

/* Asynchronous receive of packets cut across small pieces (the scatter-gather path). */
static void test_rx_async_scattered(void)
{
	for (unsigned si = 0; si < 2; si++) {
		struct st_record tx, rx;
		struct st_dir_keys k;
		struct st_buf w;
		struct st_record_msg msg[ST_RECORD_BURST];
		static struct st_pkt pk[ST_RECORD_BURST], *done[64];
		static struct st_seg segs[512];
		static struct st_rx_piece pc[64];
		uint8_t nk = SSH_MSG_NEWKEYS, pl[700], got[700];
		unsigned n = 0, npc = 0, bad = 0, nd = 0;
		size_t used;
		int busy;

		st_test_suite_keys(&gcm_suites[si], 900 + si, &k);
		CHECK_OK(st_record_init(&tx, &st_crypto_backend_evp, 0));
		CHECK_OK(st_record_init(&rx, cdev, 0));
		CHECK_OK(st_buf_alloc(&w, 0, 1u << 20));
		CHECK_OK(st_record_set_next_keys(&tx, &k, NULL));
		CHECK_OK(st_record_set_next_keys(&rx, NULL, &k));
		st_wipe(&k, sizeof(k));
		CHECK_OK(st_record_send(&tx, &nk, 1, &w));
		st_record_feed(&rx, st_buf_ptr(&w), st_buf_avail(&w), &used);
		CHECK_OK(st_record_read(&rx, msg, 1, &n));
		st_buf_reset(&w);
		for (unsigned i = 0; i < 5; i++) {
			pl[0] = 94;
			st_test_fill(pl + 1, 50 + 110 * i, 40 + i);
			CHECK_OK(st_record_send(&tx, pl, 51 + 110 * i, &w));
		}
		struct rte_mbuf *m = rte_pktmbuf_alloc(mpool);
		uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
		size_t total = st_buf_avail(&w);
		memcpy(b, st_buf_ptr(&w), total);
		for (size_t off = 0; off < total; off += 97)
			pc[npc++] = (struct st_rx_piece){b + off, (uint32_t)(total - off < 97 ? total - off : 97), m};
		CHECK_OK(st_record_rx_enqueue(&rx, pc, npc, pk, ST_RECORD_BURST, segs, 512, &n, &busy));
		CHECK_INT(n + (unsigned)busy * 5, 5 + (unsigned)busy * n); /* all, or the device was full */
		unsigned scattered = 0;
		for (unsigned i = 0; i < n; i++)
			scattered += pk[i].segs != NULL;
		CHECK(n == 0 || scattered > 0);
		for (int g = 0; nd < n && g < 1000000; g++)
			nd += cdev->dequeue_burst(done + nd, (uint16_t)(64 - nd));
		CHECK_INT(nd, n);
		CHECK_OK(st_record_rx_complete(&rx, pk, n, msg, &used));
		for (unsigned i = 0; i < n; i++) {
			pl[0] = 94;
			st_test_fill(pl + 1, 50 + 110 * i, 40 + i);
			if (msg[i].len != 51 + 110 * i) {
				bad++;
				continue;
			}
			if (msg[i].payload != NULL)
				memcpy(got, msg[i].payload, msg[i].len);
			else
				st_segs_read(msg[i].segs, msg[i].nseg, 0, got, msg[i].len);
			bad += memcmp(got, pl, msg[i].len) != 0;
		}
		CHECK_INT(bad, 0);
		if (n == 5)
			CHECK_INT(used, total);
		rte_pktmbuf_free(m);
		st_record_free(&tx);
		st_record_free(&rx);
		st_buf_free(&w);
	}
}

static void run_device(const char *dev, const char *label, int force_ops, uint32_t qdesc)
{
	struct st_cryptodev_info info;
	struct st_cryptodev_conf conf = {.qp_descriptors = qdesc};
	int r = st_cryptodev_setup(dev, 1, &conf);

	if (r != ST_OK) {
		printf("  SKIP %s: st_cryptodev_setup(\"%s\"): %s (PMD not available here)\n", label,
		       dev, st_err_str(r));
		return;
	}
	st_cryptodev_force_ops(force_ops);
	small_queue = qdesc != 0 && qdesc <= 16;
	cdev = st_crypto_backend_by_name("cryptodev");
	CHECK_OK(st_cryptodev_info(&info));
	printf("  -- %s: device %s, driver %s\n", label, info.name, info.driver);
	RUN(test_exact_one_session);
	RUN(test_order_many_sessions);
	RUN(test_zombie_in_flight);
	RUN(test_rekey_in_flight);
	RUN(test_rx_async);
	RUN(test_rx_async_scattered);
	CHECK_OK(st_cryptodev_teardown());
}

int main(int argc, char **argv)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=st_test_atx_%d", (int)getpid());
	char *eal[] = {argv[0],	 "--no-huge",	   "-m", "256", "--no-pci", "--no-shconf",
		       prefix,	 "--no-telemetry", "-l", "0",	"--log-level", "error"};
	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		printf("  SKIP all: rte_eal_init failed\nasync_tx: 0 passed, 0 failed\n");
		return 0;
	}
	mpool = rte_pktmbuf_pool_create("st_atx_mb", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					SOCKET_ID_ANY);
	if (mpool == NULL) {
		printf("  SKIP all: no mbuf pool\nasync_tx: 0 passed, 0 failed\n");
		return 0;
	}
	run_device("crypto_aesni_gcm", "aesni_gcm/ops", 1, 0);
	run_device("crypto_aesni_mb", "aesni_mb/ops", 1, 0);
	run_device("crypto_aesni_mb", "aesni_mb/ops 16-deep queue", 1, 16);
	/* last: removing crypto_openssl leaves libcrypto unusable for EVP here */
	run_device("crypto_openssl", "openssl", 0, 0);
	run_device("crypto_openssl", "openssl/16-deep queue", 0, 16);
	rte_mempool_free(mpool);
	rte_eal_cleanup();
	st_test_sh("rm -rf /var/run/dpdk/st_test_atx_%d", (int)getpid());
	return st_test_done("async_tx");
}
