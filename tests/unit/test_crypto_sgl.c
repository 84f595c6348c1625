/*
 * Scatter-gather open and seal (st_pkt.segs, crypto/backend.h), every suite,
 * on the EVP backend and, where this machine has the PMDs, on the cryptodev
 * backend (CPU crypto and enqueue/dequeue, synchronous bursts and the
 * asynchronous enqueue/dequeue pair):
 *   - packets of 16..~330 bytes split in two at every position, sealed by
 *     the backend under test equal byte for byte to EVP sealing contiguously
 *     with the same keys and sequence numbers, and EVP-sealed ones opened back;
 *   - 3-piece and many-piece splits (1-byte pieces, the length field and the
 *     tag cut, empty pieces, the tag alone) up to 35000-byte payloads, mixed
 *     with contiguous packets in the same bursts;
 *   - every single-bit flip of a split packet rejected, its len bytes wiped;
 *   - refused segs: wrong totals, no pieces, too many, a packet too short.
 * The pieces lie in reverse order with canary gaps around them, so a backend
 * that reads past a piece or writes in front of one (the headroom rule does
 * not apply to scattered packets) is caught.
 *
 * EAL runs as in test_cryptodev.c (no hugepages, a per-process prefix); a
 * PMD this machine cannot create is reported as SKIP.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/secmem.h"
#include "dataplane/crypto/cryptodev.h"
#include "tests/unit/test.h"


static const struct st_crypto_backend *evp = &st_crypto_backend_evp;
/* the backend under test, and how it is driven */
static const struct st_crypto_backend *tbe = &st_crypto_backend_evp;
static int use_async;
static const char *label = "evp";

#define GAP 8          /* canary bytes around every piece */
#define CANARY 0xa5
#define HEAD 16        /* headroom in front of contiguous packets */
#define MAXTAG 64

static const char *sname(const struct st_test_suite *s)
{
	static char b[96];
	snprintf(b, sizeof(b), "%s %s/%s", label, s->cipher, s->mac ? s->mac : "-");
	return b;
}

/* Frames one plaintext packet of `pay` payload bytes at b; returns len (4 + packet_length). */
static uint32_t frame(const struct st_crypto_dir *d, uint8_t *b, uint32_t pay, uint64_t seed)
{
	uint32_t block = d->block_size;
	uint32_t base = 1 + pay + (d->len_in_aad ? 0 : 4);
	uint32_t pad = block - base % block;
	if (pad < 4)
		pad += block;
	uint32_t plen = 1 + pay + pad;
	st_poke_u32(b, plen);
	b[4] = (uint8_t)pad;
	st_test_fill(b + 5, pay + pad, seed);
	return 4 + plen;
}

/* Packet bytes for the smallest payload giving at least `want` bytes of len + tag. */
static uint32_t total_of(const struct st_crypto_dir *d, uint32_t pay)
{
	uint8_t tmp[600];
	return frame(d, tmp, pay, 0) + d->tag_len;
}

/*
 * A packet laid out in pieces: pl[0..n) piece lengths (n == 0: contiguous at
 * buf, with HEAD bytes of headroom). Pieces go into `arena` in reverse order,
 * each with GAP canary bytes in front and after it.
 */
struct spkt {
	uint32_t pl[ST_PKT_MAX_SEGS + 2];
	uint16_t n;
	struct st_seg seg[ST_PKT_MAX_SEGS + 2];
	uint8_t *arena;
	size_t arena_len;
	uint32_t span; /* len + tag: what the pieces (or buf) cover */
};

/* Sizes s for a packet of `total` = len + tag bytes and allocates its arena. */
static void arena_alloc(struct spkt *s, uint32_t total)
{
	s->span = total;
	s->arena_len = total + (size_t)(s->n + 1) * GAP + HEAD;
	s->arena = malloc(s->arena_len);
}

/* Places src[0..total) into s's pieces (or contiguously); fills st_pkt *p. */
static void lay_out(struct spkt *s, const uint8_t *src, uint32_t total, uint32_t len,
		    uint32_t seq, struct st_pkt *p)
{
	memset(s->arena, CANARY, s->arena_len);
	memset(p, 0, sizeof(*p));
	p->len = len;
	p->seq = seq;
	p->status = -999;
	if (s->n == 0) {
		p->buf = s->arena + HEAD;
		memcpy(p->buf, src, total);
		return;
	}
	size_t off = s->arena_len;
	uint32_t at = 0;
	for (uint16_t i = 0; i < s->n; i++) {
		off -= GAP + s->pl[i];
		s->seg[i].p = s->arena + off;
		s->seg[i].len = s->pl[i];
		/* src has `total` bytes (len when sealing: the tag's place is zeroed) */
		uint32_t c = at >= total ? 0 : total - at < s->pl[i] ? total - at : s->pl[i];
		memcpy(s->seg[i].p, src + at, c);
		memset(s->seg[i].p + c, 0, s->pl[i] - c);
		at += s->pl[i];
	}
	p->buf = (uint8_t *)(uintptr_t)1; /* must be ignored */
	p->segs = s->seg;
	p->nseg = s->n;
}

/* Gathers the packet's first `total` bytes; 1 when every canary is intact. */
static int gather(const struct spkt *s, const struct st_pkt *p, uint8_t *dst, uint32_t total)
{
	int ok = 1;
	if (s->n == 0) {
		memcpy(dst, p->buf, total);
		for (size_t i = HEAD + s->span; i < s->arena_len; i++)
			if (s->arena[i] != CANARY)
				ok = 0;
		return ok; /* headroom is the backend's to use and restore */
	}
	st_segs_read(p->segs, p->nseg, 0, dst, total);
	for (size_t i = 0; i < s->arena_len; i++) {
		int inside = 0;
		for (uint16_t k = 0; k < s->n && !inside; k++)
			inside = s->arena + i >= s->seg[k].p && s->arena + i < s->seg[k].p + s->seg[k].len;
		if (!inside && s->arena[i] != CANARY)
			ok = 0;
	}
	return ok;
}

/* ---------------- driving the backend under test ---------------- */

/* Length first the way a record layer would: gather, open_length, write back (MtE). */
static int length_of(struct st_crypto_dir *d, struct st_pkt *p, uint32_t *plen)
{
	uint8_t hdr[ST_CIPHER_MAX_BLOCK];
	int r;
	if (p->segs == NULL)
		return d->be->open_length(d, p->seq, p->buf, plen);
	st_segs_read(p->segs, p->nseg, 0, hdr, d->first_len);
	if ((r = d->be->open_length(d, p->seq, hdr, plen)) == ST_OK && d->serial_open)
		st_segs_write(p->segs, p->nseg, 0, hdr, d->first_len);
	return r;
}

/*
 * Runs n packets through d (seal or open by d->seal) in bursts of up to 41
 * (more than the cryptodev backend's 32 per device call) or, with
 * use_async, through enqueue/dequeue, checking completion order. Returns the
 * number processed, or a negative error from enqueue_burst.
 */
static int run(struct st_crypto_dir *d, struct st_pkt *p, int n)
{
	int done = 0;
	if (n == 0)
		return 0;
	if (!use_async) {
		while (done < n) {
			int serial = !d->seal && d->serial_open;
			int k = serial ? 1 : (n - done < 41 ? n - done : 41);
			if (serial) {
				uint32_t plen;
				length_of(d, &p[done], &plen);
			}
			uint16_t got = d->seal ? d->be->seal_burst(d, p + done, (uint16_t)k)
					       : d->be->open_burst(d, p + done, (uint16_t)k);
			done += got;
			if (got < k)
				break;
		}
		return done;
	}
	int taken = 0, lenned = 0, guard = 0;
	while (done < n && guard++ < 1000000) {
		if (taken < n) {
			int k = n - taken < 37 ? n - taken : 37;
			if (!d->seal && d->serial_open) {
				uint32_t plen;
				k = 1;
				if (lenned == taken) {
					length_of(d, &p[taken], &plen);
					lenned++;
				}
			}
			int r = d->be->enqueue_burst(d, p + taken, (uint16_t)k);
			if (r < 0) {
				/* drain what was taken; the count tells the caller */
				struct st_pkt *q[64];
				for (int g = 0; done < taken && g < 100000; g++)
					done += d->be->dequeue_burst(q, 64);
				return done;
			}
			taken += r;
		}
		struct st_pkt *q[64];
		uint16_t m = d->be->dequeue_burst(q, 64);
		for (uint16_t i = 0; i < m; i++, done++)
			if (q[i] != &p[done])
				st_test_fail(__FILE__, __LINE__, "%s: completion %d out of order",
					     label, done);
	}
	return done;
}

/* ---------------- the stream check ---------------- */

/* Piece lengths for packet k of a stream (n = 0: contiguous). */
typedef void (*cut_fn)(struct spkt *s, int k, uint32_t len, uint32_t tag, uint64_t *rng);

static uint32_t rnd(uint64_t *x, uint32_t mod)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return (uint32_t)(*x % mod);
}

/* Two pieces, cut after byte k + 1. */
static void cut_two(struct spkt *s, int k, uint32_t len, uint32_t tag, uint64_t *rng)
{
	(void)rng;
	s->n = 2;
	s->pl[0] = (uint32_t)k + 1;
	s->pl[1] = len + tag - s->pl[0];
}

/* Sets pieces from cut positions c[0..m) (ascending, within (0, total)). */
static void from_cuts(struct spkt *s, const uint32_t *c, int m, uint32_t total)
{
	uint32_t prev = 0;
	s->n = 0;
	for (int i = 0; i < m; i++) {
		s->pl[s->n++] = c[i] - prev;
		prev = c[i];
	}
	s->pl[s->n++] = total - prev;
}

/*
 * A mix, chosen by k: contiguous; three pieces at random cuts; one byte per
 * piece where that fits 64 pieces, else up to 64 random ones with 1-byte
 * pieces among them; the length field cut at every byte and the tag cut;
 * the tag alone; empty pieces.
 */
static void cut_mix(struct spkt *s, int k, uint32_t len, uint32_t tag, uint64_t *rng)
{
	uint32_t total = len + tag, c[ST_PKT_MAX_SEGS];
	int m = 0;

	switch (k % 7) {
	case 0:
		s->n = 0;
		return;
	case 1: {
		uint32_t a = 1 + rnd(rng, total - 1), b = 1 + rnd(rng, total - 1);
		if (a == b)
			b = a < total - 1 ? a + 1 : a - 1;
		c[0] = a < b ? a : b;
		c[1] = a < b ? b : a;
		m = 2;
		break;
	}
	case 2:
		if (total <= ST_PKT_MAX_SEGS) {
			for (uint32_t i = 1; i < total; i++)
				c[m++] = i;
		} else {
			/* 63 cuts: a run of 1-byte pieces at a random spot, the rest random */
			uint32_t at = rnd(rng, total - 20);
			for (uint32_t i = 1; i <= 16; i++)
				c[m++] = at + i;
			while (m < ST_PKT_MAX_SEGS - 1)
				c[m++] = 1 + rnd(rng, total - 1);
			/* sort, drop duplicates */
			for (int i = 1; i < m; i++)
				for (int j = i; j > 0 && c[j - 1] > c[j]; j--) {
					uint32_t t = c[j];
					c[j] = c[j - 1];
					c[j - 1] = t;
				}
			int w = 0;
			for (int i = 0; i < m; i++)
				if (w == 0 || c[i] != c[w - 1])
					c[w++] = c[i];
			m = w;
		}
		break;
	case 3: /* 1|1|1|1|...| tag cut in three */
		c[m++] = 1;
		c[m++] = 2;
		c[m++] = 3;
		c[m++] = len - 1;
		c[m++] = len + 1;
		c[m++] = len + tag / 2;
		c[m++] = total - 1;
		break;
	case 4: /* the tag alone, the packet in one piece */
		c[m++] = len;
		break;
	case 5: /* empty pieces, at the front, in the middle, at the end */
		s->n = 0;
		s->pl[s->n++] = 0;
		s->pl[s->n++] = 5;
		s->pl[s->n++] = 0;
		s->pl[s->n++] = 0;
		s->pl[s->n++] = total - 5;
		s->pl[s->n++] = 0;
		return;
	default: /* a single piece */
		break;
	}
	from_cuts(s, c, m, total);
}

/*
 * K packets of payload lengths pay(k): EVP seals them contiguously (the
 * reference); the backend under test seals the same plaintexts laid out by
 * cut(k) and must produce the same bytes; then it opens the reference
 * ciphertexts laid out the same way and must give the plaintexts back.
 */
static void stream(const struct st_test_suite *su, uint64_t seed, int K, const uint32_t *pay, cut_fn cut)
{
	struct st_dir_keys k;
	struct st_crypto_dir ref, ts, to;
	uint32_t *len = calloc(K, sizeof(*len));
	uint8_t **plain = calloc(K, sizeof(*plain)), **ct = calloc(K, sizeof(*ct));
	struct spkt *sp = calloc(K, sizeof(*sp));
	struct st_pkt *p = calloc(K, sizeof(*p));
	uint64_t rng = seed | 1;
	int bad = 0;

	st_test_suite_keys(su, seed, &k);
	memset(&ref, 0, sizeof(ref));
	memset(&ts, 0, sizeof(ts));
	memset(&to, 0, sizeof(to));
	CHECK_OK(st_crypto_dir_init(&ref, evp, &k, 1));
	CHECK_OK(st_crypto_dir_init(&ts, tbe, &k, 1));
	CHECK_OK(st_crypto_dir_init(&to, tbe, &k, 0));
	uint32_t tag = ref.tag_len;
	for (int i = 0; i < K; i++) {
		plain[i] = malloc(pay[i] + 600);
		ct[i] = malloc(pay[i] + 600 + HEAD);
		len[i] = frame(&ref, plain[i], pay[i], seed + (uint64_t)i);
		memcpy(ct[i] + HEAD, plain[i], len[i]);
		p[i] = (struct st_pkt){.buf = ct[i] + HEAD, .len = len[i], .seq = (uint32_t)i};
		cut(&sp[i], i, len[i], tag, &rng);
		arena_alloc(&sp[i], len[i] + tag);
	}
	CHECK_INT(ref.be->seal_burst(&ref, p, (uint16_t)K), K);

	/* seal split == seal contiguous */
	for (int i = 0; i < K; i++)
		lay_out(&sp[i], plain[i], len[i], len[i], (uint32_t)i, &p[i]);
	CHECK_INT(run(&ts, p, K), K);
	for (int i = 0; i < K && bad < 3; i++) {
		uint8_t got[36000];
		int canary = gather(&sp[i], &p[i], got, len[i] + tag);
		if (p[i].status != ST_OK || !canary ||
		    memcmp(got, ct[i] + HEAD, len[i] + tag) != 0) {
			st_test_fail(__FILE__, __LINE__,
				     "%s seal pkt %d (len %u, %u pieces, first %u): status %s canary %d %s",
				     sname(su), i, len[i], sp[i].n, sp[i].pl[0], st_err_name(p[i].status),
				     canary, memcmp(got, ct[i] + HEAD, len[i] + tag) ? "bytes differ" : "");
			bad++;
		}
	}

	/* open split -> plaintext */
	for (int i = 0; i < K; i++)
		lay_out(&sp[i], ct[i] + HEAD, len[i] + tag, len[i], (uint32_t)i, &p[i]);
	CHECK_INT(run(&to, p, K), K);
	for (int i = 0; i < K && bad < 6; i++) {
		uint8_t got[36000];
		int canary = gather(&sp[i], &p[i], got, len[i]);
		if (p[i].status != ST_OK || !canary || memcmp(got, plain[i], len[i]) != 0) {
			st_test_fail(__FILE__, __LINE__,
				     "%s open pkt %d (len %u, %u pieces, first %u): status %s canary %d",
				     sname(su), i, len[i], sp[i].n, sp[i].pl[0], st_err_name(p[i].status),
				     canary);
			bad++;
		}
	}
	st_crypto_dir_fini(&ref);
	st_crypto_dir_fini(&ts);
	st_crypto_dir_fini(&to);
	st_wipe(&k, sizeof(k));
	for (int i = 0; i < K; i++) {
		free(plain[i]);
		free(ct[i]);
		free(sp[i].arena);
	}
	free(len);
	free(plain);
	free(ct);
	free(sp);
	free(p);
}

/* Every split position of packets of 16..~330 bytes. */
static void test_split_two_everywhere(void)
{
	static const uint32_t pays[] = {1, 9, 20, 45, 100, 170, 250};
	uint32_t pay[400];
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		for (size_t z = 0; z < sizeof(pays) / sizeof(pays[0]); z++) {
			struct st_crypto_dir d;
			struct st_dir_keys k;
			memset(&d, 0, sizeof(d));
			st_test_suite_keys(&st_test_suites[si], 1, &k);
			CHECK_OK(st_crypto_dir_init(&d, evp, &k, 1));
			int K = (int)total_of(&d, pays[z]) - 1; /* cut after byte 1 .. total-1 */
			st_crypto_dir_fini(&d);
			for (int i = 0; i < K; i++)
				pay[i] = pays[z];
			stream(&st_test_suites[si], 100 + si * 10 + z, K, pay, cut_two);
		}
	}
}

/* Three pieces, many pieces, odd cuts, mixed with contiguous packets. */
static void test_split_many(void)
{
	enum { K = 70 };
	uint32_t pay[K];
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		for (int i = 0; i < K; i++) {
			static const uint32_t big[] = {1000, 5000, 35000, 1448, 3};
			pay[i] = i % 3 == 2 ? big[(i / 3) % 5] : (uint32_t)(1 + (i * 37) % 300);
		}
		stream(&st_test_suites[si], 500 + si, K, pay, cut_mix);
	}
}

/* Every single-bit flip of a split packet is rejected and its len bytes wiped. */
static void test_bitflips_split(void)
{
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct st_dir_keys k;
		struct st_crypto_dir ref, o;
		uint8_t plain[200], ct[200 + HEAD], got[300];
		struct spkt sp;
		struct st_pkt p;
		int accepted = 0, unwiped = 0;

		st_test_suite_keys(&st_test_suites[si], 900 + si, &k);
		memset(&ref, 0, sizeof(ref));
		CHECK_OK(st_crypto_dir_init(&ref, evp, &k, 1));
		uint32_t len = frame(&ref, plain, 20, 3), tag = ref.tag_len, total = len + tag;
		memcpy(ct + HEAD, plain, len);
		p = (struct st_pkt){.buf = ct + HEAD, .len = len, .seq = 0};
		CHECK_INT(ref.be->seal_burst(&ref, &p, 1), 1);
		/* cuts inside the length, in the payload, inside the tag */
		uint32_t c[3] = {2, 11, len + 3};
		from_cuts(&sp, c, 3, total);
		arena_alloc(&sp, total);
		for (uint32_t bit = 0; bit < total * 8; bit++) {
			memset(&o, 0, sizeof(o));
			CHECK_OK(st_crypto_dir_init(&o, tbe, &k, 0));
			ct[HEAD + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			lay_out(&sp, ct + HEAD, total, len, 0, &p);
			ct[HEAD + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK_INT(run(&o, &p, 1), 1);
			if (p.status == ST_OK)
				accepted++;
			gather(&sp, &p, got, len);
			for (uint32_t i = 0; i < len; i++)
				if (got[i] != 0) {
					unwiped++;
					break;
				}
			st_crypto_dir_fini(&o);
		}
		if (accepted || unwiped)
			st_test_fail(__FILE__, __LINE__, "%s: %d of %u flips accepted, %d not wiped",
				     sname(&st_test_suites[si]), accepted, total * 8, unwiped);
		/* and unflipped it opens */
		memset(&o, 0, sizeof(o));
		CHECK_OK(st_crypto_dir_init(&o, tbe, &k, 0));
		lay_out(&sp, ct + HEAD, total, len, 0, &p);
		CHECK_INT(run(&o, &p, 1), 1);
		CHECK_OK(p.status);
		gather(&sp, &p, got, len);
		CHECK_MEM(got, plain, len);
		st_crypto_dir_fini(&o);
		st_crypto_dir_fini(&ref);
		st_wipe(&k, sizeof(k));
		free(sp.arena);
	}
}

/* Refused segs: ST_ERR_INVALID_ARGUMENT, nothing sealed, opened bytes wiped. */
static void test_bad_segs(void)
{
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct st_dir_keys k;
		struct st_crypto_dir s, o;
		uint8_t buf[3][400], orig[400], z[400] = {0};
		struct st_seg seg[3][ST_PKT_MAX_SEGS + 1];
		struct st_pkt p[3];

		st_test_suite_keys(&st_test_suites[si], 1300 + si, &k);
		memset(&s, 0, sizeof(s));
		CHECK_OK(st_crypto_dir_init(&s, tbe, &k, 1));
		uint32_t len = frame(&s, orig, 30, 1), tag = s.tag_len, total = len + tag;
		/* kind 0..4: total short by one, long by one, no pieces, 65 pieces, len < first_len */
		for (int kind = 0; kind < 5; kind++) {
			for (int i = 0; i < 3; i++) {
				memcpy(buf[i], orig, total);
				seg[i][0] = (struct st_seg){buf[i], 7};
				seg[i][1] = (struct st_seg){buf[i] + 7, total - 7};
				p[i] = (struct st_pkt){.len = len, .seq = (uint32_t)i, .segs = seg[i],
						       .nseg = 2, .status = -999};
			}
			struct st_pkt *b = &p[1];
			if (kind == 0)
				seg[1][1].len--;
			else if (kind == 1)
				seg[1][1].len++;
			else if (kind == 2)
				b->nseg = 0;
			else if (kind == 3) {
				for (int i = 0; i < ST_PKT_MAX_SEGS + 1; i++)
					seg[1][i] = (struct st_seg){buf[1] + i, 1};
				seg[1][ST_PKT_MAX_SEGS].len = total - ST_PKT_MAX_SEGS;
				b->nseg = ST_PKT_MAX_SEGS + 1;
			} else {
				b->len = s.first_len - 1;
				seg[1][1].len = b->len + tag - 7;
			}
			/* seal: stops at the bad packet, which stays untouched */
			if (!use_async) {
				CHECK_INT(s.be->seal_burst(&s, p, 3), 1);
				CHECK_OK(p[0].status);
			} else {
				CHECK_INT(run(&s, p, 3), 1);
				CHECK_ERR(s.be->enqueue_burst(&s, p + 1, 2), ST_ERR_INVALID_ARGUMENT);
			}
			if (!use_async)
				CHECK_ERR(p[1].status, ST_ERR_INVALID_ARGUMENT);
			CHECK_MEM(buf[1], orig, total);
			st_crypto_dir_fini(&s);
			memset(&s, 0, sizeof(s));
			CHECK_OK(st_crypto_dir_init(&s, tbe, &k, 1));

			/* open: refused and wiped, the packet before it opened */
			memset(&o, 0, sizeof(o));
			CHECK_OK(st_crypto_dir_init(&o, tbe, &k, 0));
			struct st_crypto_dir r2;
			memset(&r2, 0, sizeof(r2));
			CHECK_OK(st_crypto_dir_init(&r2, evp, &k, 1));
			struct st_pkt c0 = {.buf = buf[0], .len = len, .seq = 0};
			memcpy(buf[0], orig, total);
			CHECK_INT(r2.be->seal_burst(&r2, &c0, 1), 1);
			p[0] = (struct st_pkt){.len = len, .seq = 0, .segs = seg[0], .nseg = 2};
			seg[0][0] = (struct st_seg){buf[0], 7};
			seg[0][1] = (struct st_seg){buf[0] + 7, total - 7};
			memcpy(buf[1], orig, total);
			CHECK_INT(run(&o, p, 2), 2);
			CHECK_OK(p[0].status);
			CHECK_MEM(buf[0], orig, len);
			CHECK_ERR(p[1].status, ST_ERR_INVALID_ARGUMENT);
			uint32_t wiped = kind == 4 ? b->len : kind == 0 ? total - 1 : len;
			if (kind != 2) /* no pieces: nothing to wipe */
				CHECK_MEM(buf[1], z, wiped < len ? wiped : len);
			st_crypto_dir_fini(&o);
			st_crypto_dir_fini(&r2);
		}
		st_crypto_dir_fini(&s);
		st_wipe(&k, sizeof(k));
	}
}

static void run_all(void)
{
	RUN(test_split_two_everywhere);
	RUN(test_split_many);
	RUN(test_bitflips_split);
	RUN(test_bad_segs);
}

static void run_device(const char *dev, const char *lbl, int force_ops)
{
	struct st_cryptodev_info info;
	struct st_crypto_stats s0, s1;
	char l[128];
	int r = st_cryptodev_setup(dev, 1, NULL);

	if (r != ST_OK) {
		printf("  SKIP %s: st_cryptodev_setup(\"%s\"): %s (PMD not available here)\n", lbl, dev,
		       st_err_str(r));
		return;
	}
	st_cryptodev_force_ops(force_ops);
	CHECK_OK(st_cryptodev_info(&info));
	printf("  -- %s: driver %s, %s; scattered packets on the device: GCM %s, CTR+HMAC %s\n",
	       lbl, info.driver, info.cpu_crypto && !force_ops ? "CPU crypto" : "enqueue/dequeue",
	       info.sgl & ST_CRYPTODEV_SGL_GCM ? "yes" : "no (EVP)",
	       info.sgl & ST_CRYPTODEV_SGL_CTR_HMAC ? "yes" : "no (EVP)");
	tbe = &st_crypto_backend_cryptodev;
	for (use_async = 0; use_async <= 1; use_async++) {
		snprintf(l, sizeof(l), "%s %s", lbl, use_async ? "async" : "sync");
		label = l;
		printf("  -- %s\n", l);
		tbe->stats(&s0);
		run_all();
		tbe->stats(&s1);
		/* scattered packets where the device has no SGL are visible as fallback work */
		if ((info.sgl & (ST_CRYPTODEV_SGL_GCM | ST_CRYPTODEV_SGL_CTR_HMAC)) !=
		    (ST_CRYPTODEV_SGL_GCM | ST_CRYPTODEV_SGL_CTR_HMAC))
			CHECK(s1.fb_ops > s0.fb_ops && s1.fallbacks > s0.fallbacks);
		CHECK_INT(s1.qdepth, 0);
	}
	use_async = 0;
	CHECK_OK(st_cryptodev_teardown());
}

int main(int argc, char **argv)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=st_test_sgl_%d", (int)getpid());
	char *eal[] = {argv[0], "--no-huge",	  "-m", "256", "--no-pci", "--no-shconf",
		       prefix,	"--no-telemetry", "-l", "0",   "--log-level", "error"};
	(void)argc;

	printf("  -- evp\n");
	run_all();
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		printf("  SKIP cryptodev: rte_eal_init failed\n");
		return st_test_done("crypto_sgl");
	}
	run_device("crypto_aesni_mb", "aesni_mb", 0);
	run_device("crypto_aesni_mb", "aesni_mb/ops", 1);
	run_device("crypto_aesni_gcm", "aesni_gcm", 0);
	run_device("crypto_aesni_gcm", "aesni_gcm/ops", 1);
	run_device("crypto_openssl", "openssl", 0);
	rte_eal_cleanup();
	st_test_sh("rm -rf /var/run/dpdk/st_test_sgl_%d", (int)getpid());
	return st_test_done("crypto_sgl");
}
