/*
 * Streamlined NTRU Prime sntrup761, written from the specification ("NTRU
 * Prime: round 3", section 2, and draft-josefsson-ntruprime-streamlined):
 *
 *   R   = Z[x]/(x^p - x - 1), Rq = R/q, R3 = R/3
 *   KeyGen: g small and invertible in R3 (v = 1/g), f short (weight w),
 *           h = g/(3f) in Rq; pk = Encode(h), sk = f, v, pk, rho, Hash4(pk).
 *   Hide:   c = Round(h r), C = Encode(c) || Hash2(Hash3(r), Hash4(pk)).
 *   Enc:    r short at random; K = Hash1(Hash3(r), C).
 *   Dec:    r' = weight-forced (v * R3(3 f c)); re-Hide; on mismatch the
 *           session key is Hash0(Hash3(rho), C) instead, chosen by a mask.
 *
 * Representations: Fq as int16 in [-(q-1)/2, (q-1)/2], F3 as int8 in
 * {-1, 0, 1}. Every loop bound and every branch depends on public sizes
 * only; conditional moves use masks.
 */
#include "crypto/sntrup761.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

#define P 761
#define Q 4591
#define W 286
#define Q12 ((Q - 1) / 2)

#define SMALL_BYTES 191   /* 4 coefficients a byte, the last byte holds one */
#define RQ_BYTES 1158     /* Encode with every modulus q */
#define ROUNDED_BYTES 1007 /* Encode with every modulus (q + 2) / 3 */
#define HASH_BYTES 32
#define CONFIRM_BYTES 32

#define SK_F 0
#define SK_V SMALL_BYTES
#define SK_PK (2 * SMALL_BYTES)
#define SK_RHO (SK_PK + RQ_BYTES)
#define SK_CACHE (SK_RHO + SMALL_BYTES)

_Static_assert(RQ_BYTES == ST_SNTRUP761_PUBLIC_LEN, "public key length");
_Static_assert(ROUNDED_BYTES + CONFIRM_BYTES == ST_SNTRUP761_CIPHERTEXT_LEN, "ciphertext length");
_Static_assert(SK_CACHE + HASH_BYTES == ST_SNTRUP761_SECRET_LEN, "secret key length");

/* --- constant-time helpers --- */

/*
 * Returns x through an empty asm, so that the compiler cannot know that a
 * mask is 0 or -1 (clang otherwise turns "a & ~mask" loops back into a
 * branch on the mask, as valgrind showed in dec).
 */
static inline int32_t ct_opaque(int32_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

/* -1 when x != 0, else 0. */
static int32_t ct_nonzero_mask(int32_t x)
{
	uint32_t u = (uint32_t)x;

	return ct_opaque(-(int32_t)((u | (0u - u)) >> 31));
}

/* -1 when x > 0, else 0 (|x| < 2^31). */
static int32_t ct_positive_mask(int32_t x)
{
	return ct_opaque(-(int32_t)((uint32_t)(0 - x) >> 31));
}

/*
 * x mod 3 as -1, 0 or 1, for |x| < 2^15: x - 3 round(x / 3), the quotient
 * from a 2^20-scaled reciprocal (error under 0.02, far from a rounding edge).
 */
static int8_t f3_freeze(int32_t x)
{
	int32_t t = (int32_t)(((int64_t)x * 349525 + (1 << 19)) >> 20);

	return (int8_t)(x - 3 * t);
}

/*
 * x mod q in [-(q-1)/2, (q-1)/2], for |x| < 2^26: the quotient from a
 * 2^32-scaled reciprocal can be one off near the rounding edge; two masked
 * corrections bring the remainder into range.
 */
static int16_t fq_freeze(int32_t x)
{
	int32_t t = (int32_t)(((int64_t)x * 935519 + ((int64_t)1 << 31)) >> 32);
	int32_t r = x - t * Q;

	r -= Q & ((Q12 - r) >> 31); /* r > Q12 */
	r += Q & ((r + Q12) >> 31); /* r < -Q12 */
	return (int16_t)r;
}

/* a^(q-2) = 1/a in Fq (a != 0); the exponent is public. */
static int16_t fq_recip(int16_t a)
{
	int32_t acc = 1, base = a;
	unsigned e = Q - 2;

	for (int bit = 12; bit >= 0; bit--) {
		acc = fq_freeze(acc * acc);
		if ((e >> bit) & 1)
			acc = fq_freeze(acc * base);
	}
	return (int16_t)acc;
}

/*
 * x = quot * m + rem for x < 2^32 and a public 1 <= m < 2^14, without a
 * division instruction (whose timing can depend on x).
 */
static void u32_divmod_u14(uint32_t *quot, uint16_t *rem, uint32_t x, uint16_t m)
{
	uint32_t v = 0x80000000u / m; /* public */
	uint32_t qt = 0, t, mask;

	/* Each estimate undershoots: x*v/2^31 <= x/m. Two rounds leave x < 2m. */
	t = (uint32_t)(((uint64_t)x * v) >> 31);
	qt += t;
	x -= t * m;
	t = (uint32_t)(((uint64_t)x * v) >> 31);
	qt += t;
	x -= t * m;
	/* One masked subtraction of m if x >= m. */
	t = x - m;
	mask = 0u - (1u ^ (t >> 31)); /* x >= m: x < 2^15 so t's top bit is the borrow */
	x = (x & ~mask) | (t & mask);
	qt += 1u & mask;
	*quot = qt;
	*rem = (uint16_t)x;
}

/* Ascending, branch-free compare and exchange. */
static void minmax_u32(uint32_t *a, uint32_t *b)
{
	uint32_t x = *a, y = *b;
	uint32_t mask = 0u - (uint32_t)(((uint64_t)y - x) >> 63); /* y < x */
	uint32_t d = (x ^ y) & mask;

	*a = x ^ d;
	*b = y ^ d;
}

#define SORT_N 1024 /* P rounded up to a power of two; the pad is all-ones */

/*
 * Sorts x[0..P) ascending with a bitonic network over SORT_N slots: the
 * sequence of compare-exchanges depends only on SORT_N (djbsort's goal,
 * Batcher's network).
 */
static void sort_u32(uint32_t *x)
{
	uint32_t a[SORT_N];

	memcpy(a, x, P * sizeof(a[0]));
	for (size_t i = P; i < SORT_N; i++)
		a[i] = 0xffffffffu;
	for (size_t k = 2; k <= SORT_N; k <<= 1) {
		for (size_t j = k >> 1; j > 0; j >>= 1) {
			for (size_t i = 0; i < SORT_N; i++) {
				size_t l = i ^ j;

				if (l <= i)
					continue;
				if ((i & k) == 0)
					minmax_u32(&a[i], &a[l]);
				else
					minmax_u32(&a[l], &a[i]);
			}
		}
	}
	memcpy(x, a, P * sizeof(a[0]));
	st_wipe(a, sizeof(a));
}

/* --- polynomial arithmetic --- */

/*
 * acc = f g with x^p = x + 1 folding the top half down, for f with int16
 * coefficients (f16, Rq) or int8 ones (f8, R3; the other pointer NULL: which
 * one is public). The products of Rq and R3 differ only in the final freeze.
 */
static void mult_fold(int32_t acc[2 * P - 1], const int16_t *f16, const int8_t *f8,
		      const int8_t *g)
{
	memset(acc, 0, sizeof(int32_t) * (2 * P - 1));
	for (int i = 0; i < P; i++) {
		int32_t fi = f16 != NULL ? f16[i] : f8[i];

		for (int j = 0; j < P; j++)
			acc[i + j] += fi * g[j];
	}
	for (int i = 2 * P - 2; i >= P; i--) {
		acc[i - P] += acc[i];
		acc[i - P + 1] += acc[i];
	}
}

/* h = f g in Rq, f in Rq, g small. */
static void rq_mult_small(int16_t *h, const int16_t *f, const int8_t *g)
{
	int32_t acc[2 * P - 1];

	mult_fold(acc, f, NULL, g);
	for (int i = 0; i < P; i++)
		h[i] = fq_freeze(acc[i]);
	st_wipe(acc, sizeof(acc));
}

/* h = f g in R3. */
static void r3_mult(int8_t *h, const int8_t *f, const int8_t *g)
{
	int32_t acc[2 * P - 1];

	mult_fold(acc, NULL, f, g);
	for (int i = 0; i < P; i++)
		h[i] = f3_freeze(acc[i]);
	st_wipe(acc, sizeof(acc));
}

/*
 * Reciprocals by the constant-time extended GCD of the specification
 * (Bernstein-Yang division steps on reversed polynomials): F starts as the
 * reversal of x^p - x - 1, G as the reversal of the input; each of the 2p - 1
 * steps cancels G's constant term against F's (swapping the two when delta
 * > 0 and G's constant term is non-zero) and divides G by x, while V and R
 * follow the same combinations. The input is invertible exactly when delta
 * ends at 0; then V, reversed and scaled by 1/F(0), is the reciprocal.
 */

/* out = 1/in in R3; 0 when in is invertible, -1 otherwise (out then unusable). */
static int r3_recip(int8_t *out, const int8_t *in)
{
	int8_t f[P + 1], g[P + 1], v[P + 1], r[P + 1];
	int32_t delta = 1;

	memset(f, 0, sizeof(f));
	memset(v, 0, sizeof(v));
	memset(r, 0, sizeof(r));
	r[0] = 1;
	f[0] = 1;
	f[P - 1] = -1;
	f[P] = -1;
	for (int i = 0; i < P; i++)
		g[P - 1 - i] = in[i];
	g[P] = 0;

	for (int step = 0; step < 2 * P - 1; step++) {
		int32_t swap, c;

		memmove(v + 1, v, P);
		v[0] = 0;

		/* the factor that cancels: g0 + c f0 = 0 (f0, g0 are units or 0) */
		c = -(int32_t)g[0] * f[0];
		swap = ct_positive_mask(delta) & ct_nonzero_mask(g[0]);
		delta = (delta ^ (swap & (delta ^ -delta))) + 1;
		for (int i = 0; i <= P; i++) {
			int8_t t = (int8_t)(swap & (f[i] ^ g[i]));

			f[i] ^= t;
			g[i] ^= t;
			t = (int8_t)(swap & (v[i] ^ r[i]));
			v[i] ^= t;
			r[i] ^= t;
		}
		for (int i = 0; i <= P; i++) {
			g[i] = f3_freeze(g[i] + c * f[i]);
			r[i] = f3_freeze(r[i] + c * v[i]);
		}
		memmove(g, g + 1, P);
		g[P] = 0;
	}

	for (int i = 0; i < P; i++)
		out[i] = (int8_t)(f[0] * v[P - 1 - i]);
	st_wipe(f, sizeof(f));
	st_wipe(g, sizeof(g));
	st_wipe(v, sizeof(v));
	st_wipe(r, sizeof(r));
	return (int)ct_nonzero_mask(delta);
}

/* out = 1/(3 in) in Rq; 0 when invertible (always, for a short in). */
static int rq_recip3(int16_t *out, const int8_t *in)
{
	int16_t f[P + 1], g[P + 1], v[P + 1], r[P + 1];
	int32_t delta = 1, scale;

	memset(f, 0, sizeof(f));
	memset(v, 0, sizeof(v));
	memset(r, 0, sizeof(r));
	r[0] = fq_recip(3);
	f[0] = 1;
	f[P - 1] = -1;
	f[P] = -1;
	for (int i = 0; i < P; i++)
		g[P - 1 - i] = in[i];
	g[P] = 0;

	for (int step = 0; step < 2 * P - 1; step++) {
		int32_t swap, f0, g0;

		memmove(v + 1, v, P * sizeof(v[0]));
		v[0] = 0;

		swap = ct_positive_mask(delta) & ct_nonzero_mask(g[0]);
		delta = (delta ^ (swap & (delta ^ -delta))) + 1;
		for (int i = 0; i <= P; i++) {
			int16_t t = (int16_t)(swap & (f[i] ^ g[i]));

			f[i] ^= t;
			g[i] ^= t;
			t = (int16_t)(swap & (v[i] ^ r[i]));
			v[i] ^= t;
			r[i] ^= t;
		}
		/* g <- f0 g - g0 f: no field division inside the loop */
		f0 = f[0];
		g0 = g[0];
		for (int i = 0; i <= P; i++) {
			g[i] = fq_freeze(f0 * g[i] - g0 * f[i]);
			r[i] = fq_freeze(f0 * r[i] - g0 * v[i]);
		}
		memmove(g, g + 1, P * sizeof(g[0]));
		g[P] = 0;
	}

	scale = fq_recip(f[0]);
	for (int i = 0; i < P; i++)
		out[i] = fq_freeze(scale * v[P - 1 - i]);
	st_wipe(f, sizeof(f));
	st_wipe(g, sizeof(g));
	st_wipe(v, sizeof(v));
	st_wipe(r, sizeof(r));
	return (int)ct_nonzero_mask(delta);
}

/* --- encodings --- */

/* Small: each coefficient + 1 in two bits, four a byte, low bits first. */
static void small_encode(uint8_t *s, const int8_t *f)
{
	for (int i = 0; i < P / 4; i++) {
		uint8_t x = 0;

		for (int j = 0; j < 4; j++)
			x |= (uint8_t)((f[4 * i + j] + 1) << (2 * j));
		s[i] = x;
	}
	s[P / 4] = (uint8_t)(f[P - 1] + 1);
}

static void small_decode(int8_t *f, const uint8_t *s)
{
	for (int i = 0; i < P / 4; i++) {
		uint8_t x = s[i];

		for (int j = 0; j < 4; j++)
			f[4 * i + j] = (int8_t)(((x >> (2 * j)) & 3) - 1);
	}
	f[P - 1] = (int8_t)((s[P / 4] & 3) - 1);
}

/*
 * The specification's mixed-radix Encode: values r[i] < m[i] (m[i] < 2^14).
 * Adjacent pairs merge into one value mod m[i] m[i+1], emitting low bytes
 * while that modulus is at least 2^14; the merged list is encoded in turn
 * until one value is left, which is written in as many bytes as its
 * modulus needs. Which bytes go where depends only on m. Returns the end.
 */
static uint8_t *encode(uint8_t *s, const uint16_t *r, const uint16_t *m, size_t n)
{
	uint16_t r2[(P + 1) / 2], m2[(P + 1) / 2];
	size_t n2 = (n + 1) / 2;

	if (n == 0)
		return s;
	if (n == 1) {
		uint32_t x = r[0], mm = m[0];

		while (mm > 1) {
			*s++ = (uint8_t)x;
			x >>= 8;
			mm = (mm + 255) >> 8;
		}
		return s;
	}
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t mm = (uint32_t)m[i] * m[i + 1];
		uint32_t x = r[i] + (uint32_t)m[i] * r[i + 1];

		while (mm >= 16384) {
			*s++ = (uint8_t)x;
			x >>= 8;
			mm = (mm + 255) >> 8;
		}
		r2[i / 2] = (uint16_t)x;
		m2[i / 2] = (uint16_t)mm;
	}
	if (n & 1) {
		r2[n2 - 1] = r[n - 1];
		m2[n2 - 1] = m[n - 1];
	}
	s = encode(s, r2, m2, n2);
	st_wipe(r2, sizeof(r2));
	return s;
}

/* The inverse of encode(): every output r[i] < m[i], whatever the bytes. */
static const uint8_t *decode(uint16_t *r, const uint8_t *s, const uint16_t *m, size_t n)
{
	uint16_t r2[(P + 1) / 2], m2[(P + 1) / 2];
	uint32_t low[P / 2];
	uint8_t shift[P / 2];
	size_t n2 = (n + 1) / 2;
	uint32_t quot;

	if (n == 0)
		return s;
	if (n == 1) {
		uint32_t x = 0, mm = m[0];
		unsigned k = 0;

		while (mm > 1) {
			x |= (uint32_t)*s++ << (8 * k++);
			mm = (mm + 255) >> 8;
		}
		u32_divmod_u14(&quot, &r[0], x, m[0]);
		return s;
	}
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t mm = (uint32_t)m[i] * m[i + 1], x = 0;
		unsigned k = 0;

		while (mm >= 16384) {
			x |= (uint32_t)*s++ << (8 * k++);
			mm = (mm + 255) >> 8;
		}
		low[i / 2] = x;
		shift[i / 2] = (uint8_t)(8 * k);
		m2[i / 2] = (uint16_t)mm;
	}
	if (n & 1)
		m2[n2 - 1] = m[n - 1];
	s = decode(r2, s, m2, n2);
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t x = low[i / 2] + ((uint32_t)r2[i / 2] << shift[i / 2]);
		uint16_t hi;

		u32_divmod_u14(&x, &r[i], x, m[i]);
		u32_divmod_u14(&quot, &hi, x, m[i + 1]);
		r[i + 1] = hi;
	}
	if (n & 1)
		r[n - 1] = r2[n2 - 1];
	return s;
}

static void rq_encode(uint8_t *s, const int16_t *h)
{
	uint16_t r[P], m[P];

	for (int i = 0; i < P; i++) {
		r[i] = (uint16_t)(h[i] + Q12);
		m[i] = Q;
	}
	encode(s, r, m, P);
}

static void rq_decode(int16_t *h, const uint8_t *s)
{
	uint16_t r[P], m[P];

	for (int i = 0; i < P; i++)
		m[i] = Q;
	decode(r, s, m, P);
	for (int i = 0; i < P; i++)
		h[i] = (int16_t)(r[i] - Q12);
}

/* c's coefficients are multiples of 3; they are encoded as (c + q12)/3 mod (q+2)/3. */
static void rounded_encode(uint8_t *s, const int16_t *c)
{
	uint16_t r[P], m[P];

	for (int i = 0; i < P; i++) {
		/* (c + Q12) / 3 for 0 <= c + Q12 < 2^15, exactly, by a reciprocal */
		r[i] = (uint16_t)(((uint32_t)(c[i] + Q12) * 10923) >> 15);
		m[i] = (Q + 2) / 3;
	}
	encode(s, r, m, P);
	st_wipe(r, sizeof(r));
}

static void rounded_decode(int16_t *c, const uint8_t *s)
{
	uint16_t r[P], m[P];

	for (int i = 0; i < P; i++)
		m[i] = (Q + 2) / 3;
	decode(r, s, m, P);
	for (int i = 0; i < P; i++)
		c[i] = (int16_t)(r[i] * 3 - Q12);
}

/* --- hashing --- */

/* out = first 32 bytes of SHA-512(b || x || y); y may be NULL. */
static int hash_prefix(uint8_t out[HASH_BYTES], uint8_t b, const uint8_t *x, size_t xlen,
		       const uint8_t *y, size_t ylen)
{
	uint8_t md[64];
	EVP_MD_CTX *ctx;
	int r = ST_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ST_ERR_CRYPTO;
	if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &b, 1) != 1 || EVP_DigestUpdate(ctx, x, xlen) != 1 ||
	    (y != NULL && EVP_DigestUpdate(ctx, y, ylen) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	memcpy(out, md, HASH_BYTES);
	r = ST_OK;
out:
	st_wipe(md, sizeof(md));
	EVP_MD_CTX_free(ctx);
	return r;
}

/* --- randomness --- */

struct rng {
	st_sntrup761_rng_fn fn; /* NULL: RAND_bytes */
	void *ctx;
};

static int rng_bytes(const struct rng *g, uint8_t *out, size_t len)
{
	if (g->fn == NULL)
		return RAND_bytes(out, (int)len) == 1 ? ST_OK : ST_ERR_CRYPTO;
	return g->fn(g->ctx, out, len) == 0 ? ST_OK : ST_ERR_CRYPTO;
}

/* P little-endian uint32s from one request of 4 P bytes. */
static int rng_words(const struct rng *g, uint32_t *L)
{
	uint8_t buf[4 * P];
	int r;

	if ((r = rng_bytes(g, buf, sizeof(buf))) == ST_OK) {
		for (int i = 0; i < P; i++)
			L[i] = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 |
			       (uint32_t)buf[4 * i + 2] << 16 | (uint32_t)buf[4 * i + 3] << 24;
	}
	st_wipe(buf, sizeof(buf));
	return r;
}

/* A small polynomial: each coefficient floor(3 u / 2^30) - 1 for a 30-bit u. */
static int small_random(const struct rng *g, int8_t *out)
{
	uint32_t L[P];
	int r;

	if ((r = rng_words(g, L)) == ST_OK) {
		for (int i = 0; i < P; i++)
			out[i] = (int8_t)((((L[i] & 0x3fffffffu) * 3) >> 30) - 1);
	}
	st_wipe(L, sizeof(L));
	return r;
}

/*
 * A short polynomial (w coefficients +-1, the rest 0) from random words:
 * the low two bits of the first w words are set to 0 or 2 (+-1 after the
 * -1), of the rest to 1 (0); sorting shuffles them by the high bits.
 */
static int short_random(const struct rng *g, int8_t *out)
{
	uint32_t L[P];
	int r;

	if ((r = rng_words(g, L)) == ST_OK) {
		for (int i = 0; i < W; i++)
			L[i] &= ~1u;
		for (int i = W; i < P; i++)
			L[i] = (L[i] & ~3u) | 1u;
		sort_u32(L);
		for (int i = 0; i < P; i++)
			out[i] = (int8_t)((L[i] & 3) - 1);
	}
	st_wipe(L, sizeof(L));
	return r;
}

/* --- the KEM --- */

/*
 * Hide: ct = Encode(Round(h r)) || Hash2(Hash3(Small(r)), cache), with
 * r_enc = Small(r) and h3 = Hash3(r_enc) returned for the session key.
 */
static int hide(uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN], uint8_t r_enc[SMALL_BYTES],
		uint8_t h3[HASH_BYTES], const int8_t *r, const uint8_t *pk,
		const uint8_t cache[HASH_BYTES])
{
	int16_t h[P], c[P];
	int ret;

	small_encode(r_enc, r);
	rq_decode(h, pk);
	rq_mult_small(c, h, r);
	for (int i = 0; i < P; i++)
		c[i] = (int16_t)(c[i] - f3_freeze(c[i]));
	rounded_encode(ct, c);
	if ((ret = hash_prefix(h3, 3, r_enc, SMALL_BYTES, NULL, 0)) == ST_OK)
		ret = hash_prefix(ct + ROUNDED_BYTES, 2, h3, HASH_BYTES, cache, HASH_BYTES);
	st_wipe(c, sizeof(c));
	return ret;
}

static int keypair(uint8_t *pk, uint8_t *sk, const struct rng *rg)
{
	int8_t g[P], v[P], f[P];
	int16_t finv[P], h[P];
	int r;

	for (;;) {
		if ((r = small_random(rg, g)) != ST_OK)
			goto out;
		/* Rejection sampling: only the fact that a discarded g was not invertible shows. */
		if (r3_recip(v, g) == 0)
			break;
	}
	if ((r = short_random(rg, f)) != ST_OK)
		goto out;
	rq_recip3(finv, f); /* f is short, 3f always invertible */
	rq_mult_small(h, finv, g);
	rq_encode(pk, h);

	small_encode(sk + SK_F, f);
	small_encode(sk + SK_V, v);
	memcpy(sk + SK_PK, pk, RQ_BYTES);
	if ((r = rng_bytes(rg, sk + SK_RHO, SMALL_BYTES)) != ST_OK)
		goto out;
	r = hash_prefix(sk + SK_CACHE, 4, pk, RQ_BYTES, NULL, 0);
out:
	if (r != ST_OK)
		st_wipe(sk, ST_SNTRUP761_SECRET_LEN);
	st_wipe(g, sizeof(g));
	st_wipe(v, sizeof(v));
	st_wipe(f, sizeof(f));
	st_wipe(finv, sizeof(finv));
	return r;
}

static int enc(uint8_t *ct, uint8_t *ss, const uint8_t *pk, const struct rng *rg)
{
	uint8_t cache[HASH_BYTES], r_enc[SMALL_BYTES], h3[HASH_BYTES];
	int8_t rr[P];
	int r;

	if ((r = hash_prefix(cache, 4, pk, RQ_BYTES, NULL, 0)) != ST_OK ||
	    (r = short_random(rg, rr)) != ST_OK ||
	    (r = hide(ct, r_enc, h3, rr, pk, cache)) != ST_OK)
		goto out;
	r = hash_prefix(ss, 1, h3, HASH_BYTES, ct, ST_SNTRUP761_CIPHERTEXT_LEN);
out:
	if (r != ST_OK)
		st_wipe(ss, ST_SNTRUP761_SHARED_LEN);
	st_wipe(rr, sizeof(rr));
	st_wipe(r_enc, sizeof(r_enc));
	st_wipe(h3, sizeof(h3));
	return r;
}

int st_sntrup761_keypair_rng(uint8_t pk[ST_SNTRUP761_PUBLIC_LEN],
			     uint8_t sk[ST_SNTRUP761_SECRET_LEN], st_sntrup761_rng_fn rng,
			     void *ctx)
{
	struct rng g = { rng, ctx };

	return keypair(pk, sk, &g);
}

int st_sntrup761_keypair(uint8_t pk[ST_SNTRUP761_PUBLIC_LEN], uint8_t sk[ST_SNTRUP761_SECRET_LEN])
{
	struct rng g = { NULL, NULL };

	return keypair(pk, sk, &g);
}

int st_sntrup761_enc_rng(uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN],
			 uint8_t ss[ST_SNTRUP761_SHARED_LEN],
			 const uint8_t pk[ST_SNTRUP761_PUBLIC_LEN], st_sntrup761_rng_fn rng,
			 void *ctx)
{
	struct rng g = { rng, ctx };

	return enc(ct, ss, pk, &g);
}

int st_sntrup761_enc(uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN], uint8_t ss[ST_SNTRUP761_SHARED_LEN],
		     const uint8_t pk[ST_SNTRUP761_PUBLIC_LEN])
{
	struct rng g = { NULL, NULL };

	return enc(ct, ss, pk, &g);
}

int st_sntrup761_dec(uint8_t ss[ST_SNTRUP761_SHARED_LEN],
		     const uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN],
		     const uint8_t sk[ST_SNTRUP761_SECRET_LEN])
{
	const uint8_t *pk = sk + SK_PK, *rho = sk + SK_RHO, *cache = sk + SK_CACHE;
	uint8_t cnew[ST_SNTRUP761_CIPHERTEXT_LEN], r_enc[SMALL_BYTES], h3[HASH_BYTES];
	int16_t c[P], cf[P];
	int8_t f[P], v[P], e[P], rr[P];
	int32_t mask, weight = 0;
	uint8_t diff = 0;
	int r;

	/* r' = v * (3 f c mod q, mod 3) */
	rounded_decode(c, ct);
	small_decode(f, sk + SK_F);
	small_decode(v, sk + SK_V);
	rq_mult_small(cf, c, f);
	for (int i = 0; i < P; i++)
		e[i] = f3_freeze(fq_freeze(3 * cf[i]));
	r3_mult(rr, e, v);

	/* not of weight w: (1, .., 1, 0, .., 0) with w ones instead */
	for (int i = 0; i < P; i++)
		weight += rr[i] & 1;
	mask = ct_nonzero_mask(weight - W);
	for (int i = 0; i < W; i++)
		rr[i] = (int8_t)(((rr[i] ^ 1) & ~mask) ^ 1);
	for (int i = W; i < P; i++)
		rr[i] = (int8_t)(rr[i] & ~mask);

	if ((r = hide(cnew, r_enc, h3, rr, pk, cache)) != ST_OK)
		goto out;

	/* mismatch: mask = -1 and r_enc becomes rho */
	for (size_t i = 0; i < ST_SNTRUP761_CIPHERTEXT_LEN; i++)
		diff |= ct[i] ^ cnew[i];
	mask = ct_nonzero_mask(diff);
	for (int i = 0; i < SMALL_BYTES; i++)
		r_enc[i] ^= (uint8_t)(mask & (r_enc[i] ^ rho[i]));
	if ((r = hash_prefix(h3, 3, r_enc, SMALL_BYTES, NULL, 0)) != ST_OK)
		goto out;
	r = hash_prefix(ss, (uint8_t)(1 + mask), h3, HASH_BYTES, ct, ST_SNTRUP761_CIPHERTEXT_LEN);
out:
	if (r != ST_OK)
		st_wipe(ss, ST_SNTRUP761_SHARED_LEN);
	st_wipe(cnew, sizeof(cnew));
	st_wipe(r_enc, sizeof(r_enc));
	st_wipe(h3, sizeof(h3));
	st_wipe(cf, sizeof(cf));
	st_wipe(f, sizeof(f));
	st_wipe(v, sizeof(v));
	st_wipe(e, sizeof(e));
	st_wipe(rr, sizeof(rr));
	return r;
}

int st_sntrup761_enc_checked(uint8_t *ct, size_t ct_size, uint8_t ss[ST_SNTRUP761_SHARED_LEN],
			     const uint8_t *pk, size_t pk_len)
{
	if (pk_len != ST_SNTRUP761_PUBLIC_LEN) {
		st_wipe(ss, ST_SNTRUP761_SHARED_LEN);
		return ST_ERR_KEX_PUBLIC_INVALID;
	}
	if (ct_size < ST_SNTRUP761_CIPHERTEXT_LEN) {
		st_wipe(ss, ST_SNTRUP761_SHARED_LEN);
		return ST_ERR_NO_SPACE;
	}
	return st_sntrup761_enc(ct, ss, pk);
}

int st_sntrup761_dec_checked(uint8_t ss[ST_SNTRUP761_SHARED_LEN], const uint8_t *ct,
			     size_t ct_len, const uint8_t sk[ST_SNTRUP761_SECRET_LEN])
{
	if (ct_len != ST_SNTRUP761_CIPHERTEXT_LEN) {
		st_wipe(ss, ST_SNTRUP761_SHARED_LEN);
		return ST_ERR_KEX_PUBLIC_INVALID;
	}
	return st_sntrup761_dec(ss, ct, sk);
}
