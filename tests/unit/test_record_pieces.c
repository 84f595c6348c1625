/*
 * Record layer, zero-copy receive (st_record_read_pieces): packets opened in
 * place in the owner's pieces, for every cipher suite, with the pieces split
 * at every position, at random, into single bytes and at the edges of the
 * length, payload and tag; offered as TCP delivers them (one more piece per
 * call, the unconsumed rest offered again). Also tampering, length caps,
 * NEWKEYS and the pause for keys, the bounce fallback, and the lazily
 * allocated reassembly buffer of the copying interface.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"
#include "tests/unit/test.h"


/* st_test_suites[si], or NULL (no keys: plain packets) for si == ST_TEST_NSUITES. */
static const struct st_test_suite *suite_at(size_t si)
{
	return si < ST_TEST_NSUITES ? &st_test_suites[si] : NULL;
}

static const char *suite_name(const struct st_test_suite *s)
{
	return s == NULL ? "none" : s->mac != NULL ? s->mac : s->cipher;
}

static int suite_mte(const struct st_test_suite *s)
{
	return s != NULL && s->mac != NULL && strstr(s->mac, "etm") == NULL;
}

/* ---------------- a sealed stream ---------------- */

#define MAXP 64

/*
 * What a peer sent: with keys, KEXINIT and NEWKEYS in the clear first (as a
 * real key exchange ends), then the payloads sealed with the keys.
 */
struct stream {
	const struct st_test_suite *s;
	struct st_dir_keys k; /* the receiver's keys for that NEWKEYS */
	uint8_t *wire;
	size_t wl;
	unsigned count;
	size_t off[MAXP + 1]; /* packet g is wire[off[g], off[g + 1]) */
	const uint8_t *pay[MAXP];
	uint32_t len[MAXP];
	uint32_t seq[MAXP];
	uint32_t tag; /* MAC/tag bytes of the keyed packets */
	uint8_t *data;
};

static uint8_t kexinit_msg[1] = {SSH_MSG_KEXINIT};
static uint8_t newkeys_msg[1] = {SSH_MSG_NEWKEYS};

static void stream_add(struct stream *st, struct st_record *tx, struct st_buf *w, const uint8_t *p,
		       uint32_t len)
{
	size_t before = st_buf_avail(w);
	st->seq[st->count] = tx->tx.seq;
	CHECK_OK(st_record_send(tx, p, len, w));
	st->off[st->count] = before;
	st->pay[st->count] = p;
	st->len[st->count] = len;
	st->count++;
	st->off[st->count] = st_buf_avail(w);
}

static void stream_build(struct stream *st, const struct st_test_suite *s, uint64_t seed,
			 const uint32_t *lens, unsigned n)
{
	struct st_record tx;
	struct st_buf w;
	size_t total = 0, at = 0;

	memset(st, 0, sizeof(*st));
	st->s = s;
	CHECK_OK(st_record_init(&tx, &st_crypto_backend_evp, 0));
	CHECK_OK(st_buf_alloc(&w, 0, 64u << 20));
	for (unsigned i = 0; i < n; i++)
		total += lens[i];
	st->data = malloc(total + 1);
	st_test_fill(st->data, total + 1, seed);
	if (s != NULL) {
		st_test_suite_keys(s, seed + 10, &st->k);
		CHECK_OK(st_record_set_next_keys(&tx, &st->k, NULL));
		stream_add(st, &tx, &w, kexinit_msg, 1);
		stream_add(st, &tx, &w, newkeys_msg, 1);
		st->tag = tx.tx.crypto.tag_len;
	}
	for (unsigned i = 0; i < n; i++) {
		st->data[at] = SSH_MSG_CHANNEL_DATA; /* never a kex message */
		stream_add(st, &tx, &w, st->data + at, lens[i]);
		at += lens[i];
	}
	st->wl = st_buf_avail(&w);
	st->wire = malloc(st->wl);
	memcpy(st->wire, st_buf_ptr(&w), st->wl);
	st_buf_free(&w);
	st_record_free(&tx);
}

static void stream_free(struct stream *st)
{
	free(st->wire);
	free(st->data);
	st_wipe(&st->k, sizeof(st->k));
}

/*
 * A receiver that knows the stream's keys. Like a server, it has sent its own
 * KEXINIT first: a key exchange is in progress (packets opened one at a time)
 * before the peer's NEWKEYS can arrive.
 */
static void rx_new(struct st_record *rx, const struct stream *st)
{
	struct st_buf out;

	CHECK_OK(st_record_init(rx, &st_crypto_backend_evp, 0));
	if (st->s == NULL)
		return;
	CHECK_OK(st_record_set_next_keys(rx, NULL, &st->k));
	CHECK_OK(st_buf_alloc(&out, 0, 1u << 16));
	CHECK_OK(st_record_send(rx, kexinit_msg, 1, &out));
	CHECK(rx->kex_active);
	st_buf_free(&out);
}

/* ---------------- pieces ---------------- */

#define HR ST_CRYPTO_HEADROOM
#define CANARY 0xa5

/* The wire cut into pieces, each its own allocation with HR bytes in front. */
struct pieces {
	unsigned n;
	uint8_t **mem;
	uint32_t *len;
	size_t *start; /* offset in the wire */
};

static uint8_t *piece(const struct pieces *p, unsigned k)
{
	return p->mem[k] + HR;
}

/* Pieces between consecutive cut points (sorted; equal ones give empty pieces). */
static void pieces_cut(struct pieces *p, const uint8_t *w, size_t wl, const size_t *cuts,
		       unsigned ncuts)
{
	size_t at = 0;

	p->n = ncuts + 1;
	p->mem = calloc(p->n, sizeof(*p->mem));
	p->len = calloc(p->n, sizeof(*p->len));
	p->start = calloc(p->n, sizeof(*p->start));
	for (unsigned k = 0; k < p->n; k++) {
		size_t end = k < ncuts ? cuts[k] : wl;
		if (end < at)
			end = at;
		if (end > wl)
			end = wl;
		p->len[k] = (uint32_t)(end - at);
		p->start[k] = at;
		p->mem[k] = malloc(HR + p->len[k] + 1);
		memset(p->mem[k], CANARY, HR);
		memcpy(piece(p, k), w + at, p->len[k]);
		at = end;
	}
}

static uint64_t xs(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Random piece sizes. profile 0: a mix from 0 and 1 byte up to 20000; 1: TCP
 * segments around 1448; 2: up to 64 KiB; 3: single bytes. Pieces also end at
 * force[0..nforce).
 */
static void pieces_random_at(struct pieces *p, const uint8_t *w, size_t wl, uint64_t seed,
			     int profile, const size_t *force, unsigned nforce)
{
	size_t cap = wl + 2 + nforce, n = 0, at = 0;
	size_t *cuts = malloc(cap * sizeof(*cuts));
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	while (at < wl && n < cap) {
		uint64_t v = xs(&x), sz;
		switch (profile) {
		case 0: {
			unsigned c = (unsigned)(v % 20);
			sz = c == 0 ? 0 : c < 5 ? 1 : c < 9 ? 2 + (v >> 8) % 15
				       : c < 15 ? 17 + (v >> 8) % 1484 : 1501 + (v >> 8) % 18500;
			break;
		}
		case 1:
			sz = (v % 4) ? 1448 : 1 + (v >> 8) % 1448;
			break;
		case 2:
			sz = 1 + (v >> 8) % 65536;
			break;
		default:
			sz = 1;
			break;
		}
		at = at + sz > wl ? wl : at + sz;
		if (at < wl)
			cuts[n++] = at;
	}
	for (unsigned i = 0; i < nforce; i++)
		cuts[n++] = force[i];
	qsort(cuts, n, sizeof(*cuts), cmp_size);
	pieces_cut(p, w, wl, cuts, (unsigned)n);
	free(cuts);
}

static void pieces_random(struct pieces *p, const uint8_t *w, size_t wl, uint64_t seed, int profile)
{
	pieces_random_at(p, w, wl, seed, profile, NULL, 0);
}

static int pieces_canaries_ok(const struct pieces *p)
{
	for (unsigned k = 0; k < p->n; k++)
		for (unsigned i = 0; i < HR; i++)
			if (p->mem[k][i] != CANARY)
				return 0;
	return 1;
}

static void pieces_free(struct pieces *p)
{
	for (unsigned k = 0; k < p->n; k++)
		free(p->mem[k]);
	free(p->mem);
	free(p->len);
	free(p->start);
	memset(p, 0, sizeof(*p));
}

/* The piece holding wire byte a (non-empty), or p->n. */
static unsigned piece_of(const struct pieces *p, size_t a)
{
	for (unsigned k = 0; k < p->n; k++)
		if (p->len[k] > 0 && a >= p->start[k] && a < p->start[k] + p->len[k])
			return k;
	return p->n;
}

/* Non-empty pieces that bytes [a, b) touch. */
static unsigned pieces_spanned(const struct pieces *p, size_t a, size_t b)
{
	unsigned c = 0;
	for (unsigned k = 0; k < p->n; k++)
		if (p->len[k] > 0 && p->start[k] < b && p->start[k] + p->len[k] > a)
			c++;
	return c;
}

/* ---------------- the owner: TCP delivery and the contract ---------------- */

struct feeder {
	struct st_record *rx;
	const struct stream *st;
	const struct pieces *pc;
	unsigned delivered; /* pieces TCP has handed over so far */
	unsigned got;       /* packets read */
	size_t cons;        /* wire bytes consumed (released) */
	uint64_t rnd;       /* 0: max = ST_RECORD_BURST; else a random max per call */
	int err;
	unsigned bounced;   /* packets that had to take the bounce path */
	unsigned calls;
	struct st_rx_piece *list;
};

static void feeder_init(struct feeder *f, struct st_record *rx, const struct stream *st,
			const struct pieces *pc, uint64_t rnd)
{
	memset(f, 0, sizeof(*f));
	f->rx = rx;
	f->st = st;
	f->pc = pc;
	f->rnd = rnd;
	f->list = calloc(pc->n + 1, sizeof(*f->list));
}

static void feeder_free(struct feeder *f)
{
	free(f->list);
}

/* Packets checked by check_msg, by where their payload was: a sanity total. */
static unsigned long n_inplace, n_scattered, n_bounced;

/* Checks message m, packet g of the stream: contents, seq, and where it lies. */
static int check_msg(struct feeder *f, const struct st_record_msg *m, unsigned g)
{
	const struct stream *st = f->st;
	const struct pieces *pc = f->pc;
	uint8_t *tmp;
	int ok = 1;

	if (g >= st->count) {
		st_test_fail(__FILE__, __LINE__, "%s: packet %u beyond the stream", suite_name(st->s),
			     g);
		return 0;
	}
	if (m->len != st->len[g] || m->seq != st->seq[g]) {
		st_test_fail(__FILE__, __LINE__, "%s: packet %u len %u seq %u, wanted %u %u",
			     suite_name(st->s), g, m->len, m->seq, st->len[g], st->seq[g]);
		return 0;
	}
	size_t a = st->off[g] + ST_RECORD_PAYLOAD_OFFSET, b = a + m->len;
	unsigned k = piece_of(pc, a);
	int bounce = pieces_spanned(pc, st->off[g], st->off[g + 1]) > ST_PKT_MAX_SEGS;
	tmp = malloc(m->len);
	if (bounce) {
		f->bounced++;
		n_bounced++;
		/* In the bounce buffer: not in any piece. */
		if (m->payload == NULL || m->segs != NULL || m->nseg != 0)
			ok = 0;
		for (unsigned j = 0; ok && j < pc->n; j++)
			if (m->payload >= piece(pc, j) && m->payload < piece(pc, j) + pc->len[j])
				ok = 0;
		if (ok)
			memcpy(tmp, m->payload, m->len);
	} else if (k < pc->n && b <= pc->start[k] + pc->len[k]) {
		/* Inside one piece: a pointer into it, in place. */
		n_inplace++;
		if (m->payload != piece(pc, k) + (a - pc->start[k]) || m->segs != NULL || m->nseg != 0)
			ok = 0;
		else
			memcpy(tmp, m->payload, m->len);
	} else {
		/* Across pieces: runs that are the pieces' bytes, in order. */
		uint64_t sum = 0;
		size_t at = a;
		n_scattered++;
		if (m->payload != NULL || m->segs == NULL || m->nseg < 2 ||
		    m->nseg > ST_PKT_MAX_SEGS)
			ok = 0;
		for (unsigned i = 0; ok && i < m->nseg; i++) {
			unsigned j = piece_of(pc, at);
			if (j == pc->n || m->segs[i].len == 0 ||
			    m->segs[i].p != piece(pc, j) + (at - pc->start[j]))
				ok = 0;
			sum += m->segs[i].len;
			at += m->segs[i].len;
		}
		if (ok && sum != m->len)
			ok = 0;
		if (ok) {
			st_segs_read(m->segs, m->nseg, 0, tmp, m->len);
			if (m->segs[0].p[0] != st->pay[g][0])
				ok = 0;
		}
	}
	if (!ok)
		st_test_fail(__FILE__, __LINE__, "%s: packet %u (len %u) not where expected",
			     suite_name(st->s), g, m->len);
	else if (memcmp(tmp, st->pay[g], m->len) != 0) {
		st_test_fail(__FILE__, __LINE__, "%s: packet %u payload differs", suite_name(st->s),
			     g);
		ok = 0;
	}
	free(tmp);
	return ok;
}

/* The delivered pieces from the first byte not consumed. */
static unsigned offered(struct feeder *f)
{
	unsigned nl = 0;
	for (unsigned k = 0; k < f->delivered; k++) {
		size_t s = f->pc->start[k], e = s + f->pc->len[k];
		if (e <= f->cons && f->pc->len[k] > 0)
			continue;
		if (e < f->cons)
			continue;
		size_t skip = f->cons > s ? f->cons - s : 0;
		f->list[nl].p = piece(f->pc, k) + skip;
		f->list[nl].len = (uint32_t)(e - s - skip);
		nl++;
	}
	return nl;
}

/* Copies the first len bytes offered now to dst; returns how many there were. */
static uint32_t offered_read(struct feeder *f, uint8_t *dst, uint32_t len)
{
	unsigned nl = offered(f);
	uint32_t got = 0;

	for (unsigned i = 0; i < nl && got < len; i++) {
		uint32_t n = f->list[i].len < len - got ? f->list[i].len : len - got;
		memcpy(dst + got, f->list[i].p, n);
		got += n;
	}
	return got;
}

/*
 * Reads until a call returns nothing. 0, or -1 on a record error (f->err),
 * or -2 when a check failed.
 */
static int feeder_drain(struct feeder *f)
{
	struct st_record_msg m[ST_RECORD_BURST];

	for (;;) {
		unsigned nl = offered(f), n = 99, max = ST_RECORD_BURST;
		size_t took = 12345;
		if (f->rnd != 0) {
			static const unsigned maxes[] = {1, 2, 3, ST_RECORD_BURST, 5};
			max = maxes[xs(&f->rnd) % 5];
		}
		f->calls++;
		int r = st_record_read_pieces(f->rx, f->list, nl, m, max, &n, &took);
		if (r != ST_OK) {
			f->err = r;
			if (n != 0 || took != 0) {
				st_test_fail(__FILE__, __LINE__, "outputs set on error");
				return -2;
			}
			return -1;
		}
		if (n > max || f->got + n > f->st->count) {
			st_test_fail(__FILE__, __LINE__, "%u packets for max %u", n, max);
			return -2;
		}
		/* Exactly the returned packets' bytes. */
		if (took != f->st->off[f->got + n] - f->st->off[f->got]) {
			st_test_fail(__FILE__, __LINE__, "%s: consumed %zu for %u packets from %u",
				     suite_name(f->st->s), took, n, f->got);
			return -2;
		}
		for (unsigned i = 0; i < n; i++)
			if (!check_msg(f, &m[i], f->got + i))
				return -2;
		f->got += n;
		f->cons += took;
		if (n == 0)
			return 0;
	}
}

/* Delivers `step` more pieces per call until all are in, reading after each. */
static int feeder_run(struct feeder *f, unsigned step)
{
	int r;

	for (;;) {
		if ((r = feeder_drain(f)) != 0)
			return r;
		if (f->delivered == f->pc->n)
			return 0;
		f->delivered = f->delivered + step > f->pc->n ? f->pc->n : f->delivered + step;
	}
}

/* A whole stream through pieces: every packet back, counters and memory right. */
static int run_stream(const struct stream *st, const struct pieces *pc, unsigned step,
		      uint64_t rnd)
{
	struct st_record rx;
	struct feeder f;
	unsigned want_bounced = 0;
	int ok;

	for (unsigned g = 0; g < st->count; g++)
		if (pieces_spanned(pc, st->off[g], st->off[g + 1]) > ST_PKT_MAX_SEGS)
			want_bounced++;
	rx_new(&rx, st);
	feeder_init(&f, &rx, st, pc, rnd);
	int r = feeder_run(&f, step);
	ok = r == 0 && f.got == st->count && f.cons == st->wl;
	if (r == -1)
		st_test_fail(__FILE__, __LINE__, "%s: %s after %u packets", suite_name(st->s),
			     st_err_name(f.err), f.got);
	else if (r == 0 && !ok)
		st_test_fail(__FILE__, __LINE__, "%s: %u of %u packets, %zu of %zu bytes",
			     suite_name(st->s), f.got, st->count, f.cons, st->wl);
	if (ok) {
		CHECK_INT(rx.rx.packets, st->count);
		CHECK_INT(rx.rx.bytes, st->wl);
		CHECK_INT(rx.rx.seq, st->count);
		CHECK_INT(rx.rx_bounced, want_bounced);
		CHECK_INT(f.bounced, want_bounced);
		CHECK(rx.rxbuf == NULL && rx.rxmem == NULL); /* never a reassembly buffer */
		CHECK(!rx.cur_known);
		CHECK(pieces_canaries_ok(pc));
		if (st->s != NULL)
			CHECK(rx.rx.keyed);
	}
	feeder_free(&f);
	st_record_free(&rx);
	return ok;
}

/* ---------------- tests ---------------- */

/* A short stream cut in two at every position, delivered piece by piece and at once. */
static void test_every_split(void)
{
	static const uint32_t lens[] = {1, 37, 300};
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct stream st;
		int bad = 0;
		stream_build(&st, suite_at(si), 1000 + si, lens, 3);
		for (size_t cut = 0; cut <= st.wl && bad < 3; cut++) {
			for (unsigned step = 1; step <= 2; step++) {
				struct pieces pc;
				pieces_cut(&pc, st.wire, st.wl, &cut, 1);
				if (!run_stream(&st, &pc, step, 0)) {
					st_test_fail(__FILE__, __LINE__, "%s: cut at %zu, step %u",
						     suite_name(st.s), cut, step);
					bad++;
				}
				pieces_free(&pc);
			}
		}
		stream_free(&st);
	}
}

/* Sizes 1..40000 cut at random into many pieces, 0- and 1-byte ones included. */
static void test_random_splits(void)
{
	static const uint32_t lens[] = {1,    2,     17,  100, 1000, 1448, 5000, 16384, 40000, 3,
					255,  30000, 600, 7,   64,   1,    9000, 2,     35000, 12};
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct stream st;
		stream_build(&st, suite_at(si), 2000 + si, lens, sizeof(lens) / sizeof(lens[0]));
		for (uint64_t seed = 1; seed <= 6; seed++) {
			struct pieces pc;
			int profile = (int)(seed % 3);
			pieces_random(&pc, st.wire, st.wl, seed * 31 + si, profile);
			if (!run_stream(&st, &pc, 1, seed & 1 ? seed : 0))
				st_test_fail(__FILE__, __LINE__, "%s: seed %u profile %d",
					     suite_name(st.s), (unsigned)seed, profile);
			pieces_free(&pc);
		}
		stream_free(&st);
	}
}

/* Single-byte pieces: short packets go scattered, longer ones bounce. */
static void test_one_byte_pieces(void)
{
	static const uint32_t lens[] = {1, 5, 50, 200, 33, 1};
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct stream st;
		struct pieces pc;
		stream_build(&st, suite_at(si), 3000 + si, lens, sizeof(lens) / sizeof(lens[0]));
		pieces_random(&pc, st.wire, st.wl, 1, 3);
		CHECK_INT(pc.n, st.wl);
		if (!run_stream(&st, &pc, 1, 7))
			st_test_fail(__FILE__, __LINE__, "%s", suite_name(st.s));
		pieces_free(&pc);
		stream_free(&st);
	}
}

/* Piece edges inside the length, at and inside the payload, inside the tag. */
static void test_boundaries(void)
{
	static const uint32_t lens[] = {1, 100, 5000, 40000, 20, 2};
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct stream st;
		size_t cuts[16 * MAXP];
		unsigned nc = 0;
		stream_build(&st, suite_at(si), 4000 + si, lens, sizeof(lens) / sizeof(lens[0]));
		for (unsigned g = 0; g < st.count; g++) {
			size_t o = st.off[g], e = st.off[g + 1], pay = o + ST_RECORD_PAYLOAD_OFFSET;
			size_t c[] = {o + 1,  o + 2, o + 3, o + 4, pay, pay + 1, pay + st.len[g] / 2,
				      pay + st.len[g], e - st.tag + st.tag / 2, e - 1, e};
			for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
				if (c[i] > o && c[i] <= e && (nc == 0 || c[i] > cuts[nc - 1]))
					cuts[nc++] = c[i];
		}
		for (unsigned variant = 0; variant < 3; variant++) {
			struct pieces pc;
			/* variant 1: every other cut; 2: with empty pieces (doubled cuts) */
			size_t v[32 * MAXP];
			unsigned nv = 0;
			for (unsigned i = 0; i < nc; i++) {
				if (variant == 1 && (i & 1))
					continue;
				v[nv++] = cuts[i];
				if (variant == 2 && (i % 3) == 0)
					v[nv++] = cuts[i];
			}
			pieces_cut(&pc, st.wire, st.wl, v, nv);
			if (!run_stream(&st, &pc, 1, variant == 0 ? 0 : 11 + variant))
				st_test_fail(__FILE__, __LINE__, "%s: variant %u", suite_name(st.s),
					     variant);
			pieces_free(&pc);
		}
		stream_free(&st);
	}
}

/*
 * The first block of a packet split over pieces and offered again and again
 * before the rest arrives. MtE CTR: it is decrypted once, the plaintext
 * written back into the pieces; the other st_test_suites leave it as it came.
 */
static void test_header_reoffered(void)
{
	static const uint32_t lens[] = {700};
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct stream st;
		struct pieces pc;
		struct st_record rx;
		struct feeder f;
		stream_build(&st, suite_at(si), 5000 + si, lens, 1);
		unsigned g = 2; /* the data packet */
		size_t o = st.off[g];
		size_t cuts[] = {st.off[1], o, o + 1, o + 3, o + 6, o + 11, o + 15, o + 16, o + 17,
				 o + 200, st.off[3] - 5};
		pieces_cut(&pc, st.wire, st.wl, cuts, sizeof(cuts) / sizeof(cuts[0]));
		rx_new(&rx, &st);
		feeder_init(&f, &rx, &st, &pc, 0);
		uint32_t plen = (uint32_t)(st.off[3] - o - 4 - st.tag);
		uint8_t first[16], now[16];
		uint32_t hl = 0;
		int known_at = -1;
		for (unsigned d = 0; d < pc.n && f.got < 3; d++) {
			f.delivered = d + 1;
			for (int again = 0; again < 3; again++) {
				if (feeder_drain(&f) != 0)
					break;
				if (f.got < 2 || f.got == 3)
					continue;
				/* Waiting for the data packet. */
				size_t have = pc.start[d] + pc.len[d] - o;
				if (rx.cur_known && known_at < 0) {
					known_at = (int)have;
					hl = offered_read(&f, first, 16);
					if (suite_mte(st.s)) {
						CHECK_INT(hl, 16);
						CHECK_INT(st_peek_u32(first), plen);
						CHECK_INT(first[5], SSH_MSG_CHANNEL_DATA);
					} else {
						CHECK_MEM(first, st.wire + o, hl);
					}
				} else if (known_at >= 0) {
					/* Offered again: not decrypted a second time. */
					CHECK(offered_read(&f, now, 16) >= hl);
					CHECK_MEM(now, first, hl);
				}
			}
		}
		CHECK_INT(f.got, 3);
		/* Known as soon as the first block was in, not before. */
		CHECK_INT(known_at, suite_mte(st.s) ? 16 : 6);
		CHECK(!rx.cur_known);
		feeder_free(&f);
		st_record_free(&rx);
		pieces_free(&pc);
		stream_free(&st);
	}
}

/* Every bit flip of a scattered packet fails; errors are sticky; nothing leaks. */
static void test_bitflips(void)
{
	static const uint32_t lens[] = {40};
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct stream st;
		stream_build(&st, suite_at(si), 6000 + si, lens, 1);
		size_t o = st.off[2], e = st.off[3];
		int accepted = 0, wrong = 0, leaked = 0;
		uint8_t *w = malloc(st.wl + 70000);
		for (size_t bit = 0; bit < (e - o) * 8; bit++) {
			memcpy(w, st.wire, st.wl);
			memset(w + st.wl, 0x5a, 70000); /* for a longer length: plenty */
			w[o + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			size_t cuts[] = {st.off[1], o, o + 2, o + 9, o + 25, e - st.tag / 2, e};
			struct pieces pc;
			struct st_record rx;
			struct feeder f;
			pieces_cut(&pc, w, st.wl + 70000, cuts, sizeof(cuts) / sizeof(cuts[0]));
			rx_new(&rx, &st);
			feeder_init(&f, &rx, &st, &pc, 0);
			int r = feeder_run(&f, 1);
			if (r == 0 || f.got > 2)
				accepted++;
			else if (r == -1) {
				/* Outside packet_length only the MAC/tag can catch it. */
				if (bit >= 32 && f.err != ST_ERR_MAC_INVALID)
					wrong++;
				struct st_record_msg m[4];
				unsigned n = 7;
				size_t took = 7;
				unsigned nl = offered(&f);
				CHECK_ERR(st_record_read_pieces(&rx, f.list, nl, m, 4, &n, &took), f.err);
				CHECK(!rx.rx.keyed || rx.rx.packets == 2);
				CHECK(n == 0 && took == 0);
				if (bit >= 32 && f.err == ST_ERR_MAC_INVALID) {
					/* The packet's bytes were wiped, across its pieces. */
					uint8_t z[256] = {0}, got[256];
					uint32_t pl = (uint32_t)(e - o - st.tag);
					if (offered_read(&f, got, pl) != pl || memcmp(got, z, pl) != 0)
						leaked++;
				}
			}
			feeder_free(&f);
			st_record_free(&rx);
			pieces_free(&pc);
		}
		if (accepted || wrong || leaked)
			st_test_fail(__FILE__, __LINE__, "%s: %d accepted, %d not MAC_INVALID, %d leaked",
				     suite_name(st.s), accepted, wrong, leaked);
		free(w);
		stream_free(&st);
	}
}

/* A length over the cap (or malformed) fails from the header alone: nothing opened. */
static void test_length_caps(void)
{
	static const uint32_t lens[] = {100};
	static const uint32_t want_len[] = {0x7fffffffu, 0x00010010u, 0, 3, 0};
	static const int want_err[] = {ST_ERR_PACKET_TOO_LARGE, ST_ERR_PACKET_TOO_LARGE,
				       ST_ERR_BAD_LENGTH, ST_ERR_BAD_LENGTH, ST_ERR_BAD_LENGTH};
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct stream st;
		stream_build(&st, suite_at(si), 7000 + si, lens, 1);
		unsigned g = st.count - 1;
		size_t o = st.off[g], e = st.off[g + 1];
		uint32_t plen = (uint32_t)(e - o - 4 - st.tag);
		for (size_t h = 0; h < 5; h++) {
			uint32_t want = h == 4 ? plen + 1 : want_len[h]; /* not a block multiple */
			uint8_t *w = malloc(st.wl);
			memcpy(w, st.wire, st.wl);
			/* Every suite's length is plain or under a stream cipher: XOR sets it. */
			uint8_t x[4];
			st_poke_u32(x, plen ^ want);
			for (int i = 0; i < 4; i++)
				w[o + i] ^= x[i];
			size_t cuts[] = {o, o + 1, o + 3, o + 17};
			for (int all = 0; all <= 1; all++) {
				struct pieces pc;
				struct st_record rx;
				struct feeder f;
				int r = 0;
				pieces_cut(&pc, w, st.wl, cuts, 4);
				rx_new(&rx, &st);
				feeder_init(&f, &rx, &st, &pc, 0);
				if (all) {
					/* Everything there at once. */
					f.delivered = pc.n;
					r = feeder_drain(&f);
				} else {
					/* Up to the first block alone (o + 17) is enough. */
					f.delivered = 1;
					CHECK_INT(feeder_drain(&f), 0);
					CHECK_INT(f.got, g);
					for (unsigned d = 2; d <= 4 && r == 0; d++) {
						f.delivered = d;
						r = feeder_drain(&f);
					}
				}
				CHECK_INT(r, -1);
				CHECK_ERR(f.err, want_err[h]);
				CHECK_INT(f.got, g);
				CHECK_INT(rx.rx.packets, g);
				/* Nothing was decrypted, wiped or written back. */
				CHECK_MEM(piece(&pc, 1), w + o, 1);
				CHECK_MEM(piece(&pc, 2), w + o + 1, 2);
				CHECK_MEM(piece(&pc, 3), w + o + 3, 14);
				CHECK_MEM(piece(&pc, 4), w + o + 17, e - o - 17);
				feeder_free(&f);
				st_record_free(&rx);
				pieces_free(&pc);
			}
			free(w);
		}
		stream_free(&st);
	}
}

/*
 * A rekey through the pieces: KEXINIT, NEWKEYS to keys of another suite, data
 * after; the receiver pauses after the peer's NEWKEYS until it has the keys.
 */
static void test_newkeys(void)
{
	for (int strict = 0; strict <= 1; strict++) {
		for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
			const struct st_test_suite *s2 = &st_test_suites[(si + 4) % ST_TEST_NSUITES];
			struct stream st;
			struct st_record tx;
			struct st_buf w;
			struct st_dir_keys k2;
			uint8_t data[3000];

			memset(&st, 0, sizeof(st));
			st.s = &st_test_suites[si];
			st_test_suite_keys(st.s, 8000 + si, &st.k);
			st_test_suite_keys(s2, 8100 + si, &k2);
			st_test_fill(data, sizeof(data), 8200 + si);
			data[0] = SSH_MSG_CHANNEL_DATA;
			CHECK_OK(st_record_init(&tx, &st_crypto_backend_evp, 0));
			CHECK_OK(st_buf_alloc(&w, 0, 1u << 20));
			if (strict)
				st_record_set_strict(&tx);
			CHECK_OK(st_record_set_next_keys(&tx, &st.k, NULL));
			stream_add(&st, &tx, &w, kexinit_msg, 1);
			stream_add(&st, &tx, &w, newkeys_msg, 1);
			stream_add(&st, &tx, &w, data, 3000);
			stream_add(&st, &tx, &w, data, 17);
			unsigned kex2 = st.count;
			stream_add(&st, &tx, &w, kexinit_msg, 1);
			stream_add(&st, &tx, &w, data, 2000);
			CHECK_OK(st_record_set_next_keys(&tx, &k2, NULL));
			stream_add(&st, &tx, &w, newkeys_msg, 1);
			unsigned after = st.count;
			stream_add(&st, &tx, &w, data, 1000);
			stream_add(&st, &tx, &w, data, 1);
			stream_add(&st, &tx, &w, data, 2999);
			st.wl = st_buf_avail(&w);
			st.wire = malloc(st.wl);
			memcpy(st.wire, st_buf_ptr(&w), st.wl);
			st_buf_free(&w);
			st_record_free(&tx);
			if (strict)
				CHECK_INT(st.seq[after], 0);

			for (uint64_t seed = 1; seed <= 3; seed++) {
				struct pieces pc;
				struct st_record rx;
				struct feeder f;
				/* The peer sends its NEWKEYS only after our reply to its KEXINIT:
				 * TCP cannot deliver the two at once. */
				pieces_random_at(&pc, st.wire, st.wl, seed + si, seed == 3 ? 1 : 0,
						 &st.off[kex2 + 1], 1);
				rx_new(&rx, &st);
				if (strict)
					st_record_set_strict(&rx);
				feeder_init(&f, &rx, &st, &pc, seed);
				CHECK_INT(feeder_run(&f, 1), 0);
				/* Everything delivered, read up to the NEWKEYS: paused. */
				CHECK_INT(f.got, after);
				CHECK(rx.rx_wait_keys);
				CHECK_INT(f.cons, st.off[after]);
				CHECK_INT(feeder_drain(&f), 0);
				CHECK_INT(f.got, after);
				CHECK_OK(st_record_set_next_keys(&rx, NULL, &k2));
				CHECK(!rx.rx_wait_keys && !rx.kex_active);
				CHECK_INT(rx.rx.epoch_packets, 0);
				CHECK_INT(feeder_run(&f, 1), 0);
				CHECK_INT(f.got, st.count);
				CHECK_INT(f.cons, st.wl);
				CHECK_INT(rx.rx.packets, st.count);
				CHECK_INT(rx.rx.bytes, st.wl);
				CHECK_INT(rx.rx.epoch_packets, st.count - after);
				CHECK(rx.rxbuf == NULL);
				feeder_free(&f);
				st_record_free(&rx);
				pieces_free(&pc);
			}
			st_wipe(&k2, sizeof(k2));
			stream_free(&st);
		}
	}

	/* Data after the peer's NEWKEYS in one burst (a broken peer): fatal. */
	struct st_record rx;
	struct st_dir_keys k;
	static const uint8_t two[] = {0, 0, 0, 12, 10, SSH_MSG_NEWKEYS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				      0, 0, 0, 12, 10, 94, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	uint8_t a[7], b[13], c[12];
	memcpy(a, two, 7);
	memcpy(b, two + 7, 13);
	memcpy(c, two + 20, 12);
	struct st_rx_piece pc[3] = {{a, 7, NULL}, {b, 13, NULL}, {c, 12, NULL}};
	struct st_record_msg m[4];
	unsigned n;
	size_t took;
	CHECK_OK(st_record_init(&rx, &st_crypto_backend_evp, 0));
	st_test_suite_keys(&st_test_suites[0], 1, &k);
	CHECK_OK(st_record_set_next_keys(&rx, NULL, &k));
	CHECK_ERR(st_record_read_pieces(&rx, pc, 3, m, 4, &n, &took), ST_ERR_STATE);
	CHECK_ERR(st_record_read_pieces(&rx, pc, 3, m, 4, &n, &took), ST_ERR_STATE);
	st_wipe(&k, sizeof(k));
	st_record_free(&rx);
}

/* More pieces than ST_PKT_MAX_SEGS: the packets before come first, then it alone. */
static void test_bounce(void)
{
	static const uint32_t lens[] = {100, 5000, 10};
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct stream st;
		stream_build(&st, suite_at(si), 9000 + si, lens, 3);
		unsigned g = st.count - 2; /* the 5000-byte one */
		size_t cuts[2 * MAXP + 8];
		unsigned nc = 0;
		for (unsigned i = 0; i < st.count - 2; i++)
			cuts[nc++] = st.off[i + 1]; /* whole packets, one piece each */
		for (unsigned i = 1; i <= ST_PKT_MAX_SEGS + 10; i++)
			cuts[nc++] = st.off[g] + i * 60;
		cuts[nc++] = st.off[g + 1];
		struct pieces pc;
		pieces_cut(&pc, st.wire, st.wl, cuts, nc);
		CHECK(pieces_spanned(&pc, st.off[g], st.off[g + 1]) > ST_PKT_MAX_SEGS);

		/* All at once: the packets before it in one call, it in the next. */
		struct st_record rx;
		struct feeder f;
		rx_new(&rx, &st);
		feeder_init(&f, &rx, &st, &pc, 0);
		f.delivered = pc.n;
		struct st_record_msg m[ST_RECORD_BURST];
		unsigned n;
		size_t took;
		while (f.got < g) {
			unsigned nl = offered(&f);
			CHECK_OK(st_record_read_pieces(&rx, f.list, nl, m, ST_RECORD_BURST, &n, &took));
			CHECK(n > 0);
			if (n == 0)
				break;
			for (unsigned i = 0; i < n; i++)
				check_msg(&f, &m[i], f.got + i);
			f.got += n;
			f.cons += took;
		}
		CHECK_INT(f.got, g);
		CHECK_INT(rx.rx_bounced, 0);
		unsigned nl = offered(&f);
		CHECK_OK(st_record_read_pieces(&rx, f.list, nl, m, ST_RECORD_BURST, &n, &took));
		CHECK_INT(n, 1); /* alone */
		CHECK_INT(took, st.off[g + 1] - st.off[g]);
		CHECK_INT(rx.rx_bounced, 1);
		if (n == 1) {
			CHECK(check_msg(&f, &m[0], g));
			f.got++;
			f.cons += took;
			const uint8_t *bp = m[0].payload;
			CHECK_INT(feeder_drain(&f), 0);
			CHECK_INT(f.got, st.count);
			/* The bounce buffer's bytes were wiped at the next call. */
			uint8_t z[5000] = {0};
			if (bp != NULL)
				CHECK_MEM(bp, z, 5000);
		}
		CHECK_INT(rx.rx.packets, st.count);
		CHECK_INT(rx.rx.bytes, st.wl);
		feeder_free(&f);
		st_record_free(&rx);

		pieces_free(&pc);
		/* Piece by piece, as TCP delivers it, and with random bursts (fresh
		 * pieces: opening left plaintext in the old ones). */
		for (unsigned step = 1; step <= 3; step += 2) {
			pieces_cut(&pc, st.wire, st.wl, cuts, nc);
			CHECK(run_stream(&st, &pc, step, step == 1 ? 0 : 5));
			pieces_free(&pc);
		}
		stream_free(&st);
	}
}

/* st_record_init allocates nothing; the copying interface allocates at first need. */
static void test_lazy_rxbuf(void)
{
	struct st_record r, z;
	struct st_buf w;
	struct st_record_msg m[4];
	unsigned n;
	size_t used, took;
	uint8_t pay[300];

	CHECK_OK(st_record_init(&r, &st_crypto_backend_evp, 0));
	CHECK(r.rxbuf == NULL && r.rxmem == NULL && r.rxcap == 0);
	CHECK_OK(st_record_read(&r, m, 4, &n));
	CHECK_INT(n, 0);
	CHECK(r.rxbuf == NULL);
	/* Pieces with nothing in them: fine, still no buffer. */
	CHECK_OK(st_record_read_pieces(&r, NULL, 0, m, 4, &n, &took));
	CHECK(n == 0 && took == 0 && r.rxbuf == NULL);
	/* Committing without space taken does not count bytes. */
	st_record_rx_commit(&r, 100);
	CHECK_INT(r.rx_end, 0);

	/* Plain packets through feed/read, as before. */
	CHECK_OK(st_buf_alloc(&w, 0, 1u << 20));
	CHECK_OK(st_record_init(&z, &st_crypto_backend_evp, 0));
	st_test_fill(pay, sizeof(pay), 1);
	pay[0] = SSH_MSG_CHANNEL_DATA;
	CHECK_OK(st_record_send(&z, pay, 300, &w));
	CHECK_OK(st_record_send(&z, pay, 30, &w));
	st_record_feed(&r, st_buf_ptr(&w), 10, &used);
	CHECK_INT(used, 10);
	CHECK(r.rxbuf != NULL && r.rxmem != NULL && r.rxcap > 0);
	CHECK(r.rxbuf - r.rxmem >= ST_CRYPTO_HEADROOM);
	/* Unread bytes in the reassembly buffer: pieces refused, not fatal. */
	struct st_rx_piece pc = {(uint8_t *)st_buf_ptr(&w) + 10, 5, NULL};
	CHECK_ERR(st_record_read_pieces(&r, &pc, 1, m, 4, &n, &took), ST_ERR_STATE);
	CHECK_INT(r.dead, ST_OK);
	st_record_feed(&r, st_buf_ptr(&w) + 10, st_buf_avail(&w) - 10, &used);
	CHECK_INT(used, st_buf_avail(&w) - 10);
	CHECK_OK(st_record_read(&r, m, 4, &n));
	CHECK_INT(n, 2);
	CHECK(n == 2 && m[0].len == 300 && memcmp(m[0].payload, pay, 300) == 0);
	CHECK(n == 2 && m[0].segs == NULL && m[0].nseg == 0 && m[1].segs == NULL);
	CHECK(n == 2 && m[1].len == 30 && m[1].seq == 1);
	/* Drained: the pieces interface may take over. */
	st_buf_reset(&w);
	CHECK_OK(st_record_send(&z, pay, 77, &w));
	pc.p = (uint8_t *)st_buf_ptr(&w);
	pc.len = (uint32_t)st_buf_avail(&w);
	uint8_t *copy = malloc(HR + pc.len);
	memcpy(copy + HR, pc.p, pc.len);
	pc.p = copy + HR;
	CHECK_OK(st_record_read_pieces(&r, &pc, 1, m, 4, &n, &took));
	CHECK_INT(n, 1);
	CHECK_INT(took, pc.len);
	CHECK(n == 1 && m[0].payload == copy + HR + 5 && m[0].len == 77 && m[0].seq == 2);
	free(copy);
	st_record_free(&r);
	CHECK(r.rxmem == NULL && r.rxbuf == NULL);
	st_record_free(&r); /* all zero now: a no-op */
	st_record_free(&z);
	st_buf_free(&w);

	/* Free on a record that was never used, and on an all-zero one. */
	CHECK_OK(st_record_init(&r, &st_crypto_backend_evp, 0));
	st_record_free(&r);
	memset(&z, 0, sizeof(z));
	st_record_free(&z);
}

int main(void)
{
	RUN(test_lazy_rxbuf);
	RUN(test_every_split);
	RUN(test_random_splits);
	RUN(test_one_byte_pieces);
	RUN(test_boundaries);
	RUN(test_header_reoffered);
	RUN(test_bitflips);
	RUN(test_length_caps);
	RUN(test_newkeys);
	RUN(test_bounce);
	st_record_thread_fini();
	printf("record_pieces: %lu packets checked: %lu in place in one piece, %lu scattered, "
	       "%lu bounced\n",
	       n_inplace + n_scattered + n_bounced, n_inplace, n_scattered, n_bounced);
	return st_test_done("record_pieces");
}
