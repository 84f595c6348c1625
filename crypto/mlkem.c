/*
 * ML-KEM-768 per FIPS 203. The arithmetic follows the usual layout: the
 * polynomial ring Z_q[X]/(X^256 + 1), q = 3329, with a 7-layer NTT over
 * int16 coefficients, Montgomery multiplication (R = 2^16) and Barrett
 * reduction; the NTT-domain product is the FIPS 203 BaseCaseMultiply on
 * pairs of coefficients.
 *
 * Constant time: coefficients are reduced, compressed and decompressed with
 * multiplications, shifts and masks only; the message bits become
 * coefficients through a mask; decapsulation compares the re-encrypted
 * ciphertext with an OR of XORs and selects the key with a mask. The only
 * data-dependent loop is the rejection sampling of the matrix A from rho,
 * which is public.
 *
 * SHAKE128 for SampleNTT: OpenSSL 3.0 cannot squeeze an XOF incrementally
 * (EVP_DigestSqueeze is 3.3+), so each matrix entry takes one
 * EVP_DigestFinalXOF of XOF_FIRST_BLOCKS blocks (3 * 168 bytes), which holds
 * 256 accepted coefficients in about 99% of cases; when it does not, the
 * same input is hashed again with XOF_MORE_BLOCKS more blocks and parsing
 * resumes where it stopped (an XOF's shorter output is a prefix of its
 * longer one). A bound of XOF_MAX_BLOCKS keeps the loop finite; reaching it
 * (probability far below 2^-200) is reported as ST_ERR_CRYPTO.
 */
#include "crypto/mlkem.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

/*
 * DECLASSIFY marks a value computed from secrets that the algorithm makes
 * public (rho, which goes into ek) for the constant-time check: with
 * ST_MLKEM_CT_CHECK (st-mlkem-tool's copy of this file) it tells valgrind
 * the bytes are defined; otherwise it does nothing.
 */
#ifdef ST_MLKEM_CT_CHECK
#include <valgrind/memcheck.h>
#define DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

#define N 256
#define Q 3329
#define K 3
#define ETA 2      /* eta1 = eta2 = 2 for ML-KEM-768 */
#define DU 10
#define DV 4
#define QINV -3327 /* q^-1 mod 2^16, signed */

#define POLY_BYTES 384                    /* ByteEncode12 of one polynomial */
#define VEC_BYTES (K * POLY_BYTES)        /* 1152 */
#define CT_U_BYTES (K * N * DU / 8)       /* 960 */
#define CT_V_BYTES (N * DV / 8)           /* 128 */
#define CBD_BYTES (64 * ETA)              /* PRF output per sampled polynomial */

#define XOF_BLOCK 168
#define XOF_FIRST_BLOCKS 3
#define XOF_MORE_BLOCKS 2
#define XOF_MAX_BLOCKS 32

_Static_assert(VEC_BYTES + 32 == ST_MLKEM768_EK_LEN, "ek size");
_Static_assert(2 * VEC_BYTES + 96 == ST_MLKEM768_DK_LEN, "dk size");
_Static_assert(CT_U_BYTES + CT_V_BYTES == ST_MLKEM768_CT_LEN, "ct size");

struct poly {
	int16_t c[N];
};

struct polyvec {
	struct poly p[K];
};

/* zeta^BitRev7(i) * 2^16 mod q, centered: the NTT's twiddle factors in Montgomery form. */
static const int16_t zetas[128] = {
	-1044, -758, -359, -1517, 1493, 1422, 287, 202,
	-171, 622, 1577, 182, 962, -1202, -1474, 1468,
	573, -1325, 264, 383, -829, 1458, -1602, -130,
	-681, 1017, 732, 608, -1542, 411, -205, -1571,
	1223, 652, -552, 1015, -1293, 1491, -282, -1544,
	516, -8, -320, -666, -1618, -1162, 126, 1469,
	-853, -90, -271, 830, 107, -1421, -247, -951,
	-398, 961, -1508, -725, 448, -1065, 677, -1275,
	-1103, 430, 555, 843, -1251, 871, 1550, 105,
	422, 587, 177, -235, -291, -460, 1574, 1653,
	-246, 778, 1159, -147, -777, 1483, -602, 1119,
	-1590, 644, -872, 349, 418, 329, -156, -75,
	817, 1097, 603, 610, 1322, -1285, -1465, 384,
	-1215, -136, 1218, -1335, -874, 220, -1187, -1659,
	-1185, -1530, -1278, 794, -1510, -854, -870, 478,
	-108, -308, 996, 991, 958, -1460, 1522, 1628,
};

/* --- modular arithmetic --- */

/* a * 2^-16 mod q for |a| < q * 2^15; result in (-q, q). */
static int16_t mont_reduce(int32_t a)
{
	int16_t t = (int16_t)((int16_t)a * QINV);

	return (int16_t)((a - (int32_t)t * Q) >> 16);
}

static int16_t fqmul(int16_t a, int16_t b)
{
	return mont_reduce((int32_t)a * b);
}

/* a mod q, centered in [-(q-1)/2, (q-1)/2]. */
static int16_t barrett_reduce(int16_t a)
{
	const int16_t v = ((1 << 26) + Q / 2) / Q;
	int16_t t = (int16_t)(((int32_t)v * a + (1 << 25)) >> 26);

	return (int16_t)(a - t * Q);
}

/* Maps a in (-q, q) to [0, q) without a branch. */
static uint16_t to_pos(int16_t a)
{
	a = (int16_t)(a + ((a >> 15) & Q));
	return (uint16_t)a;
}

/* --- polynomials --- */

static void poly_reduce(struct poly *r)
{
	for (int i = 0; i < N; i++)
		r->c[i] = barrett_reduce(r->c[i]);
}

static void poly_add(struct poly *r, const struct poly *a, const struct poly *b)
{
	for (int i = 0; i < N; i++)
		r->c[i] = (int16_t)(a->c[i] + b->c[i]);
}

static void poly_sub(struct poly *r, const struct poly *a, const struct poly *b)
{
	for (int i = 0; i < N; i++)
		r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

/* Multiplies by 2^16 (leaves Montgomery form after a Montgomery product). */
static void poly_tomont(struct poly *r)
{
	const int16_t f = (int16_t)((1ULL << 32) % Q);

	for (int i = 0; i < N; i++)
		r->c[i] = fqmul(r->c[i], f);
}

/* FIPS 203 Algorithm 9 in place, output in bit-reversed order, reduced. */
static void poly_ntt(struct poly *r)
{
	unsigned k = 1;

	for (unsigned len = 128; len >= 2; len >>= 1) {
		for (unsigned start = 0; start < N; start += 2 * len) {
			int16_t zeta = zetas[k++];

			for (unsigned j = start; j < start + len; j++) {
				int16_t t = fqmul(zeta, r->c[j + len]);

				r->c[j + len] = (int16_t)(r->c[j] - t);
				r->c[j] = (int16_t)(r->c[j] + t);
			}
		}
	}
	poly_reduce(r);
}

/* FIPS 203 Algorithm 10, also multiplying by 2^16 (undoes a Montgomery product's 2^-16). */
static void poly_invntt_tomont(struct poly *r)
{
	const int16_t f = 1441; /* 2^32 / 128 mod q */
	unsigned k = 127;

	for (unsigned len = 2; len <= 128; len <<= 1) {
		for (unsigned start = 0; start < N; start += 2 * len) {
			int16_t zeta = zetas[k--];

			for (unsigned j = start; j < start + len; j++) {
				int16_t t = r->c[j];

				r->c[j] = barrett_reduce((int16_t)(t + r->c[j + len]));
				r->c[j + len] = (int16_t)(r->c[j + len] - t);
				r->c[j + len] = fqmul(zeta, r->c[j + len]);
			}
		}
	}
	for (int j = 0; j < N; j++)
		r->c[j] = fqmul(r->c[j], f);
}

/* FIPS 203 Algorithm 12 on one pair, times 2^-16. */
static void basemul(int16_t r[2], const int16_t a[2], const int16_t b[2], int16_t zeta)
{
	r[0] = fqmul(a[1], b[1]);
	r[0] = fqmul(r[0], zeta);
	r[0] = (int16_t)(r[0] + fqmul(a[0], b[0]));
	r[1] = fqmul(a[0], b[1]);
	r[1] = (int16_t)(r[1] + fqmul(a[1], b[0]));
}

/* FIPS 203 Algorithm 11 (MultiplyNTTs), times 2^-16. */
static void poly_basemul(struct poly *r, const struct poly *a, const struct poly *b)
{
	for (int i = 0; i < N / 4; i++) {
		basemul(&r->c[4 * i], &a->c[4 * i], &b->c[4 * i], zetas[64 + i]);
		basemul(&r->c[4 * i + 2], &a->c[4 * i + 2], &b->c[4 * i + 2],
			(int16_t)-zetas[64 + i]);
	}
}

/* r = sum_i a[i] * b[i] in the NTT domain, times 2^-16, reduced. */
static void polyvec_dot(struct poly *r, const struct polyvec *a, const struct polyvec *b)
{
	struct poly t;

	poly_basemul(r, &a->p[0], &b->p[0]);
	for (int i = 1; i < K; i++) {
		poly_basemul(&t, &a->p[i], &b->p[i]);
		poly_add(r, r, &t);
	}
	poly_reduce(r);
	st_wipe(&t, sizeof(t));
}

/* --- encodings (FIPS 203 §4.2.1) --- */

/* ByteEncode12 of a reduced polynomial. */
static void poly_tobytes(uint8_t r[POLY_BYTES], const struct poly *a)
{
	for (int i = 0; i < N / 2; i++) {
		uint16_t t0 = to_pos(a->c[2 * i]), t1 = to_pos(a->c[2 * i + 1]);

		r[3 * i] = (uint8_t)t0;
		r[3 * i + 1] = (uint8_t)((t0 >> 8) | (t1 << 4));
		r[3 * i + 2] = (uint8_t)(t1 >> 4);
	}
}

/* ByteDecode12: 12-bit values, then reduced mod q (one masked subtraction). */
static void poly_frombytes(struct poly *r, const uint8_t a[POLY_BYTES])
{
	for (int i = 0; i < N / 2; i++) {
		uint16_t t0 = (uint16_t)((a[3 * i] | (a[3 * i + 1] << 8)) & 0xfff);
		uint16_t t1 = (uint16_t)(((a[3 * i + 1] >> 4) | (a[3 * i + 2] << 4)) & 0xfff);

		r->c[2 * i] = (int16_t)to_pos((int16_t)(t0 - Q));
		r->c[2 * i + 1] = (int16_t)to_pos((int16_t)(t1 - Q));
	}
}

/* 1 when every 12-bit value in the encoding is below q (public data). */
static int vec_modulus_ok(const uint8_t a[VEC_BYTES])
{
	for (int i = 0; i < VEC_BYTES / 3; i++) {
		uint16_t t0 = (uint16_t)((a[3 * i] | (a[3 * i + 1] << 8)) & 0xfff);
		uint16_t t1 = (uint16_t)((a[3 * i + 1] >> 4) | (a[3 * i + 2] << 4));

		if (t0 >= Q || t1 >= Q)
			return 0;
	}
	return 1;
}

static void polyvec_tobytes(uint8_t r[VEC_BYTES], const struct polyvec *a)
{
	for (int i = 0; i < K; i++)
		poly_tobytes(r + i * POLY_BYTES, &a->p[i]);
}

static void polyvec_frombytes(struct polyvec *r, const uint8_t a[VEC_BYTES])
{
	for (int i = 0; i < K; i++)
		poly_frombytes(&r->p[i], a + i * POLY_BYTES);
}

/* Decompress_1(ByteDecode_1(m)): each bit becomes 0 or (q+1)/2 through a mask. */
static void poly_frommsg(struct poly *r, const uint8_t m[32])
{
	for (int i = 0; i < N / 8; i++) {
		for (int j = 0; j < 8; j++) {
			int16_t mask = (int16_t)-(int16_t)((m[i] >> j) & 1);

			r->c[8 * i + j] = (int16_t)(mask & ((Q + 1) / 2));
		}
	}
}

/*
 * ByteEncode_1(Compress_1(a)) of a reduced polynomial. Compress_d(x) is
 * round(2^d * x / q) mod 2^d; the division by q is a multiplication by
 * 2^28 / q (80635; 2^32 / q = 1290167 for du) and a shift, after adding
 * 1665: with these constants the result equals the exact rounding for every
 * x in [0, q) (checked exhaustively). The 32-bit products may wrap; only
 * bits below 2^32 are used.
 */
static void poly_tomsg(uint8_t m[32], const struct poly *a)
{
	for (int i = 0; i < N / 8; i++) {
		uint8_t b = 0;

		for (int j = 0; j < 8; j++) {
			uint32_t t = to_pos(a->c[8 * i + j]);

			t = (((t << 1) + 1665) * 80635) >> 28;
			b = (uint8_t)(b | ((t & 1) << j));
		}
		m[i] = b;
	}
}

/* ByteEncode_du(Compress_du(u)), du = 10. */
static void polyvec_compress(uint8_t r[CT_U_BYTES], const struct polyvec *a)
{
	for (int i = 0; i < K; i++) {
		for (int j = 0; j < N / 4; j++) {
			uint16_t t[4];

			for (int l = 0; l < 4; l++) {
				uint64_t d0 = to_pos(a->p[i].c[4 * j + l]);

				d0 = (((d0 << 10) + 1665) * 1290167) >> 32;
				t[l] = (uint16_t)(d0 & 0x3ff);
			}
			r[0] = (uint8_t)t[0];
			r[1] = (uint8_t)((t[0] >> 8) | (t[1] << 2));
			r[2] = (uint8_t)((t[1] >> 6) | (t[2] << 4));
			r[3] = (uint8_t)((t[2] >> 4) | (t[3] << 6));
			r[4] = (uint8_t)(t[3] >> 2);
			r += 5;
		}
	}
}

/* Decompress_du(ByteDecode_du(c)): round(q * y / 2^10). */
static void polyvec_decompress(struct polyvec *r, const uint8_t a[CT_U_BYTES])
{
	for (int i = 0; i < K; i++) {
		for (int j = 0; j < N / 4; j++) {
			uint16_t t[4];

			t[0] = (uint16_t)(a[0] | (a[1] << 8));
			t[1] = (uint16_t)((a[1] >> 2) | (a[2] << 6));
			t[2] = (uint16_t)((a[2] >> 4) | (a[3] << 4));
			t[3] = (uint16_t)((a[3] >> 6) | (a[4] << 2));
			a += 5;
			for (int l = 0; l < 4; l++)
				r->p[i].c[4 * j + l] =
					(int16_t)(((uint32_t)(t[l] & 0x3ff) * Q + 512) >> 10);
		}
	}
}

/* ByteEncode_dv(Compress_dv(v)), dv = 4. */
static void poly_compress(uint8_t r[CT_V_BYTES], const struct poly *a)
{
	for (int i = 0; i < N / 2; i++) {
		uint32_t t0 = to_pos(a->c[2 * i]), t1 = to_pos(a->c[2 * i + 1]);

		t0 = (((t0 << 4) + 1665) * 80635) >> 28;
		t1 = (((t1 << 4) + 1665) * 80635) >> 28;
		r[i] = (uint8_t)((t0 & 0xf) | ((t1 & 0xf) << 4));
	}
}

/* Decompress_dv(ByteDecode_dv(c)). */
static void poly_decompress(struct poly *r, const uint8_t a[CT_V_BYTES])
{
	for (int i = 0; i < N / 2; i++) {
		r->c[2 * i] = (int16_t)((((uint32_t)(a[i] & 15)) * Q + 8) >> 4);
		r->c[2 * i + 1] = (int16_t)((((uint32_t)(a[i] >> 4)) * Q + 8) >> 4);
	}
}

/* --- hashing and sampling --- */

/*
 * md over a || b (b may be empty) into out: outlen bytes for an XOF, the
 * digest size otherwise. ctx is reused between calls.
 */
static int hash2(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *a, size_t alen,
		 const uint8_t *b, size_t blen, uint8_t *out, size_t outlen)
{
	int xof = (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0;

	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1))
		return ST_ERR_CRYPTO;
	if (xof) {
		if (EVP_DigestFinalXOF(ctx, out, outlen) != 1)
			return ST_ERR_CRYPTO;
	} else if ((size_t)EVP_MD_get_size(md) != outlen ||
		   EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
		return ST_ERR_CRYPTO;
	}
	return ST_OK;
}

/* FIPS 203 Algorithm 8 for eta = 2: SamplePolyCBD_2(PRF_2(sigma, nonce)). */
static int poly_cbd(EVP_MD_CTX *ctx, struct poly *r, const uint8_t sigma[32], uint8_t nonce)
{
	uint8_t buf[CBD_BYTES];
	int rc;

	if ((rc = hash2(ctx, EVP_shake256(), sigma, 32, &nonce, 1, buf, sizeof(buf))) != ST_OK)
		goto out;
	for (int i = 0; i < N / 8; i++) {
		uint32_t t = (uint32_t)buf[4 * i] | ((uint32_t)buf[4 * i + 1] << 8) |
			     ((uint32_t)buf[4 * i + 2] << 16) | ((uint32_t)buf[4 * i + 3] << 24);
		uint32_t d = (t & 0x55555555) + ((t >> 1) & 0x55555555);

		for (int j = 0; j < 8; j++) {
			int16_t x = (int16_t)((d >> (4 * j)) & 3);
			int16_t y = (int16_t)((d >> (4 * j + 2)) & 3);

			r->c[8 * i + j] = (int16_t)(x - y);
		}
	}
out:
	st_wipe(buf, sizeof(buf));
	return rc;
}

/*
 * FIPS 203 Algorithm 7: SampleNTT(rho || j || i) into r (rejection sampling
 * of 12-bit values below q). Public input only. See the top of the file for
 * the XOF output length.
 */
static int poly_sample_ntt(EVP_MD_CTX *ctx, struct poly *r, const uint8_t rho[32], uint8_t j,
			   uint8_t i)
{
	uint8_t buf[XOF_MAX_BLOCKS * XOF_BLOCK];
	uint8_t idx[2] = { j, i };
	size_t len = XOF_FIRST_BLOCKS * XOF_BLOCK, pos = 0;
	int n = 0, rc;

	for (;;) {
		if ((rc = hash2(ctx, EVP_shake128(), rho, 32, idx, 2, buf, len)) != ST_OK)
			return rc;
		for (; pos + 3 <= len && n < N; pos += 3) {
			uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
			uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));

			if (d1 < Q)
				r->c[n++] = (int16_t)d1;
			if (d2 < Q && n < N)
				r->c[n++] = (int16_t)d2;
		}
		if (n == N)
			return ST_OK;
		if (len + XOF_MORE_BLOCKS * XOF_BLOCK > sizeof(buf))
			return ST_ERR_CRYPTO;
		len += XOF_MORE_BLOCKS * XOF_BLOCK;
	}
}

/* The matrix A (transposed when `transpose`): a[i].p[j] = SampleNTT(rho || j || i). */
static int gen_matrix(EVP_MD_CTX *ctx, struct polyvec a[K], const uint8_t rho[32], int transpose)
{
	int rc;

	for (int i = 0; i < K; i++) {
		for (int j = 0; j < K; j++) {
			uint8_t x = (uint8_t)(transpose ? i : j), y = (uint8_t)(transpose ? j : i);

			if ((rc = poly_sample_ntt(ctx, &a[i].p[j], rho, x, y)) != ST_OK)
				return rc;
		}
	}
	return ST_OK;
}

/* --- K-PKE (FIPS 203 §5) --- */

/* Secret working state of one K-PKE call, wiped as a whole. */
struct pke_tmp {
	uint8_t g[64]; /* rho || sigma */
	struct polyvec s, e;
	struct poly v, w;
};

/* K-PKE.KeyGen(d): ek_pke (VEC_BYTES + 32) and dk_pke (VEC_BYTES). */
static int pke_keygen(EVP_MD_CTX *ctx, const uint8_t d[32], uint8_t *ek, uint8_t *dk)
{
	struct polyvec a[K], t;
	struct pke_tmp *x = st_secret_alloc(sizeof(*x));
	const uint8_t kbyte = K;
	uint8_t nonce = 0;
	int rc;

	if (x == NULL)
		return ST_ERR_ALLOC;
	if ((rc = hash2(ctx, EVP_sha3_512(), d, 32, &kbyte, 1, x->g, 64)) != ST_OK)
		goto out;
	DECLASSIFY(x->g, 32); /* rho is public */
	if ((rc = gen_matrix(ctx, a, x->g, 0)) != ST_OK)
		goto out;
	for (int i = 0; i < K; i++)
		if ((rc = poly_cbd(ctx, &x->s.p[i], x->g + 32, nonce++)) != ST_OK)
			goto out;
	for (int i = 0; i < K; i++)
		if ((rc = poly_cbd(ctx, &x->e.p[i], x->g + 32, nonce++)) != ST_OK)
			goto out;
	for (int i = 0; i < K; i++) {
		poly_ntt(&x->s.p[i]);
		poly_ntt(&x->e.p[i]);
	}
	for (int i = 0; i < K; i++) {
		polyvec_dot(&t.p[i], &a[i], &x->s);
		poly_tomont(&t.p[i]);
		poly_add(&t.p[i], &t.p[i], &x->e.p[i]);
		poly_reduce(&t.p[i]);
	}
	polyvec_tobytes(ek, &t);
	memcpy(ek + VEC_BYTES, x->g, 32);
	polyvec_tobytes(dk, &x->s);
	rc = ST_OK;
out:
	st_secret_free(x);
	st_wipe(&t, sizeof(t));
	return rc;
}

/* K-PKE.Encrypt(ek_pke, m, r) into ct; ek_pke has passed the modulus check or comes from dk. */
static int pke_encrypt(EVP_MD_CTX *ctx, const uint8_t *ek, const uint8_t m[32],
		       const uint8_t r[32], uint8_t ct[ST_MLKEM768_CT_LEN])
{
	struct polyvec at[K], t;
	struct pke_tmp *x = st_secret_alloc(sizeof(*x));
	struct polyvec *y, *u;
	uint8_t nonce = 0;
	int rc;

	if (x == NULL)
		return ST_ERR_ALLOC;
	y = &x->s; /* y, then e1 added into u */
	u = &x->e;
	polyvec_frombytes(&t, ek);
	if ((rc = gen_matrix(ctx, at, ek + VEC_BYTES, 1)) != ST_OK)
		goto out;
	for (int i = 0; i < K; i++)
		if ((rc = poly_cbd(ctx, &y->p[i], r, nonce++)) != ST_OK)
			goto out;
	for (int i = 0; i < K; i++) {
		poly_ntt(&y->p[i]);
	}
	for (int i = 0; i < K; i++) {
		polyvec_dot(&u->p[i], &at[i], y);
		poly_invntt_tomont(&u->p[i]);
	}
	polyvec_dot(&x->v, &t, y);
	poly_invntt_tomont(&x->v);
	for (int i = 0; i < K; i++) {
		if ((rc = poly_cbd(ctx, &x->w, r, nonce++)) != ST_OK) /* e1[i] */
			goto out;
		poly_add(&u->p[i], &u->p[i], &x->w);
		poly_reduce(&u->p[i]);
	}
	if ((rc = poly_cbd(ctx, &x->w, r, nonce++)) != ST_OK) /* e2 */
		goto out;
	poly_add(&x->v, &x->v, &x->w);
	poly_frommsg(&x->w, m);
	poly_add(&x->v, &x->v, &x->w);
	poly_reduce(&x->v);
	polyvec_compress(ct, u);
	poly_compress(ct + CT_U_BYTES, &x->v);
	rc = ST_OK;
out:
	st_secret_free(x);
	return rc;
}

/* K-PKE.Decrypt(dk_pke, ct) into m. */
static void pke_decrypt(const uint8_t *dk, const uint8_t ct[ST_MLKEM768_CT_LEN], uint8_t m[32],
			struct pke_tmp *x)
{
	polyvec_decompress(&x->e, ct);
	poly_decompress(&x->v, ct + CT_U_BYTES);
	polyvec_frombytes(&x->s, dk);
	for (int i = 0; i < K; i++)
		poly_ntt(&x->e.p[i]);
	polyvec_dot(&x->w, &x->s, &x->e);
	poly_invntt_tomont(&x->w);
	poly_sub(&x->w, &x->v, &x->w);
	poly_reduce(&x->w);
	poly_tomsg(m, &x->w);
}

/* --- ML-KEM (FIPS 203 §6, §7) --- */

static EVP_MD_CTX *md_ctx(void)
{
	return EVP_MD_CTX_new();
}

int st_mlkem768_keygen_derand(const uint8_t d[ST_MLKEM768_SEED_LEN],
			      const uint8_t z[ST_MLKEM768_SEED_LEN],
			      uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN])
{
	EVP_MD_CTX *ctx = md_ctx();
	uint8_t *k = st_secret_alloc(ST_MLKEM768_DK_LEN);
	int rc;

	if (ctx == NULL || k == NULL) {
		rc = ST_ERR_ALLOC;
		goto out;
	}
	if ((rc = pke_keygen(ctx, d, k + VEC_BYTES, k)) != ST_OK ||
	    (rc = hash2(ctx, EVP_sha3_256(), k + VEC_BYTES, ST_MLKEM768_EK_LEN, NULL, 0,
			k + VEC_BYTES + ST_MLKEM768_EK_LEN, 32)) != ST_OK)
		goto out;
	memcpy(k + ST_MLKEM768_DK_LEN - 32, z, 32);
	memcpy(ek, k + VEC_BYTES, ST_MLKEM768_EK_LEN);
	memcpy(dk, k, ST_MLKEM768_DK_LEN);
	rc = ST_OK;
out:
	st_secret_free(k);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int st_mlkem768_keygen(uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN])
{
	uint8_t dz[64];
	int rc;

	if (RAND_bytes(dz, sizeof(dz)) != 1)
		rc = ST_ERR_CRYPTO;
	else
		rc = st_mlkem768_keygen_derand(dz, dz + 32, ek, dk);
	st_wipe(dz, sizeof(dz));
	return rc;
}

int st_mlkem768_encaps_derand(const uint8_t *ek, size_t ek_len,
			      const uint8_t m[ST_MLKEM768_SEED_LEN],
			      uint8_t ct[ST_MLKEM768_CT_LEN], uint8_t ss[ST_MLKEM768_SS_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t h[32], kr[64], c[ST_MLKEM768_CT_LEN];
	int rc;

	if (ek == NULL || ek_len != ST_MLKEM768_EK_LEN || !vec_modulus_ok(ek))
		return ST_ERR_KEX_PUBLIC_INVALID;
	if ((ctx = md_ctx()) == NULL)
		return ST_ERR_ALLOC;
	/* (K, r) = G(m || H(ek)) */
	if ((rc = hash2(ctx, EVP_sha3_256(), ek, ek_len, NULL, 0, h, 32)) != ST_OK ||
	    (rc = hash2(ctx, EVP_sha3_512(), m, 32, h, 32, kr, 64)) != ST_OK ||
	    (rc = pke_encrypt(ctx, ek, m, kr + 32, c)) != ST_OK)
		goto out;
	memcpy(ct, c, sizeof(c));
	memcpy(ss, kr, 32);
	rc = ST_OK;
out:
	st_wipe(kr, sizeof(kr));
	EVP_MD_CTX_free(ctx);
	return rc;
}

int st_mlkem768_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[ST_MLKEM768_CT_LEN],
		       uint8_t ss[ST_MLKEM768_SS_LEN])
{
	uint8_t m[32];
	int rc;

	if (RAND_bytes(m, sizeof(m)) != 1)
		rc = ST_ERR_CRYPTO;
	else
		rc = st_mlkem768_encaps_derand(ek, ek_len, m, ct, ss);
	st_wipe(m, sizeof(m));
	return rc;
}

/* 0xff when a[0..n) == b[0..n), else 0; no branch on the contents. */
static uint8_t ct_eq_mask(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint32_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint32_t)(a[i] ^ b[i]);
	/* d in [0, 255]: d - 1 has bit 31 set only when d == 0. */
	return (uint8_t)(0 - (((d - 1) >> 31) & 1));
}

/* Secret working state of one decapsulation. */
struct decaps_tmp {
	struct pke_tmp pke;
	uint8_t m[32];
	uint8_t kr[64];   /* K' || r' */
	uint8_t kbar[32]; /* J(z || c) */
	uint8_t c2[ST_MLKEM768_CT_LEN];
};

int st_mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
		       uint8_t ss[ST_MLKEM768_SS_LEN])
{
	const uint8_t *ek, *h, *z;
	EVP_MD_CTX *ctx = NULL;
	struct decaps_tmp *x = NULL;
	uint8_t hek[32], mask;
	int rc;

	if (ct == NULL || ct_len != ST_MLKEM768_CT_LEN)
		return ST_ERR_KEX_PUBLIC_INVALID;
	if (dk == NULL || dk_len != ST_MLKEM768_DK_LEN)
		return ST_ERR_KEY_INVALID;
	ek = dk + VEC_BYTES;
	h = ek + ST_MLKEM768_EK_LEN;
	z = h + 32;
	if ((ctx = md_ctx()) == NULL || (x = st_secret_alloc(sizeof(*x))) == NULL) {
		rc = ST_ERR_ALLOC;
		goto out;
	}
	/* Hash check (§7.3): H(ek) stored in dk must match; ek and h are public. */
	if ((rc = hash2(ctx, EVP_sha3_256(), ek, ST_MLKEM768_EK_LEN, NULL, 0, hek, 32)) != ST_OK)
		goto out;
	if (memcmp(hek, h, 32) != 0) {
		rc = ST_ERR_KEY_INVALID;
		goto out;
	}
	pke_decrypt(dk, ct, x->m, &x->pke);
	if ((rc = hash2(ctx, EVP_sha3_512(), x->m, 32, h, 32, x->kr, 64)) != ST_OK ||
	    (rc = hash2(ctx, EVP_shake256(), z, 32, ct, ct_len, x->kbar, 32)) != ST_OK ||
	    (rc = pke_encrypt(ctx, ek, x->m, x->kr + 32, x->c2)) != ST_OK)
		goto out;
	/* ss = (c == c') ? K' : Kbar, by mask; the barrier keeps the compiler from a branch. */
	mask = ct_eq_mask(ct, x->c2, ST_MLKEM768_CT_LEN);
	__asm__("" : "+r"(mask));
	for (int i = 0; i < 32; i++)
		ss[i] = (uint8_t)(x->kbar[i] ^ (mask & (x->kr[i] ^ x->kbar[i])));
	rc = ST_OK;
out:
	st_secret_free(x);
	EVP_MD_CTX_free(ctx);
	return rc;
}
