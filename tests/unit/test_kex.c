/* Unit tests for the key-exchange primitives (crypto/kexalg.c). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/buf.h"
#include "crypto/kexalg.h"
#include "crypto/mlkem.h"
#include "tests/unit/test.h"

static const enum st_kex_group all_groups[] = { ST_KEX_X25519, ST_KEX_ECDH_P256,
						ST_KEX_DH_GROUP14, ST_KEX_DH_GROUP16 };
#define NGROUPS (sizeof(all_groups) / sizeof(all_groups[0]))

/* Derives K against `peer` and returns the encoded bytes in k[0..*klen). */
static int derive_enc(const struct st_kex_keypair *kp, const uint8_t *peer, size_t peer_len,
		      uint8_t *k, size_t ksz, size_t *klen)
{
	struct st_buf b;
	int r;

	st_buf_wrap(&b, k, ksz);
	r = st_kex_derive(kp, peer, peer_len, &b);
	*klen = b.len;
	return r;
}

/* The bytes must be exactly one minimal, non-negative mpint; returns its magnitude length. */
static size_t check_mpint(const uint8_t *k, size_t klen)
{
	struct st_buf r;
	const uint8_t *mag;
	size_t mlen = 0;

	st_buf_from(&r, k, klen);
	CHECK_OK(st_buf_get_mpint(&r, &mag, &mlen));
	CHECK_OK(st_buf_end(&r));
	CHECK(mlen > 0);
	return mlen;
}

static void test_names(void)
{
	CHECK(strcmp(st_kex_group_name(ST_KEX_X25519), "x25519") == 0);
	CHECK(strcmp(st_kex_group_name(ST_KEX_ECDH_P256), "nistp256") == 0);
	CHECK(strcmp(st_kex_group_name(ST_KEX_DH_GROUP14), "dh-group14") == 0);
	CHECK(strcmp(st_kex_group_name(ST_KEX_DH_GROUP16), "dh-group16") == 0);
	CHECK(strcmp(st_kex_group_name((enum st_kex_group)17), "unknown") == 0);
	CHECK(strcmp(st_kex_group_name((enum st_kex_group)-1), "unknown") == 0);
}

/* RFC 7748 §6.1: Alice's and Bob's keys and their shared secret. */
static void test_x25519_rfc7748(void)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], shared[32], want_k[36];
	uint8_t pub[ST_KEX_PUBLIC_MAX], k[ST_KEX_SECRET_ENC_MAX];
	size_t publen = 0, klen = 0;
	struct st_kex_keypair *a = NULL, *b = NULL;

	st_test_unhex("77076d0a7318a57d3c16c17251b26645"
		      "df4c2f87ebc0992ab177fba51db92c2a", a_priv, 32);
	st_test_unhex("8520f0098930a754748b7ddcb43ef75a"
		      "0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pub, 32);
	st_test_unhex("5dab087e624a8a4b79e17f8b83800ee6"
		      "6f3bb1292618b6fd1c2f8b27ff88e0eb", b_priv, 32);
	st_test_unhex("de9edb7d7b7dc1b4d35b61c2ece43537"
		      "3f8343c85b78674dadfc7e146f882b4f", b_pub, 32);
	st_test_unhex("4a5d9d5ba4ce2de1728e3bf480350f25"
		      "e07e21c947d19e3376f09b3c1e161742", shared, 32);
	/* K as mpint: top bit clear, so length 32 and no sign byte. */
	st_test_unhex("00000020", want_k, 4);
	memcpy(want_k + 4, shared, 32);

	CHECK_OK(st_kex_keypair_from_private(ST_KEX_X25519, a_priv, 32, &a));
	CHECK_OK(st_kex_keypair_from_private(ST_KEX_X25519, b_priv, 32, &b));
	if (a == NULL || b == NULL)
		goto out;
	CHECK_INT(st_kex_keypair_group(a), ST_KEX_X25519);
	CHECK_OK(st_kex_public(a, pub, sizeof(pub), &publen));
	CHECK_INT(publen, 32);
	CHECK_MEM(pub, a_pub, 32);
	CHECK_OK(st_kex_public(b, pub, sizeof(pub), &publen));
	CHECK_INT(publen, 32);
	CHECK_MEM(pub, b_pub, 32);

	CHECK_OK(derive_enc(a, b_pub, 32, k, sizeof(k), &klen));
	CHECK_INT(klen, 36);
	CHECK_MEM(k, want_k, 36);
	CHECK_OK(derive_enc(b, a_pub, 32, k, sizeof(k), &klen));
	CHECK_INT(klen, 36);
	CHECK_MEM(k, want_k, 36);
	/* A keypair is not consumed by a derivation. */
	CHECK_OK(derive_enc(b, a_pub, 32, k, sizeof(k), &klen));
	CHECK_MEM(k, want_k, 36);
out:
	st_kex_keypair_free(a);
	st_kex_keypair_free(b);
}

/* RFC 5903 §8.1 (256-bit random ECP group): i, g^i, r, g^r and the x of g^ir. */
static void test_p256_rfc5903(void)
{
	uint8_t i_priv[32], r_priv[32], gi[65], gr[65], want_k[4 + 1 + 32];
	uint8_t pub[ST_KEX_PUBLIC_MAX], k[ST_KEX_SECRET_ENC_MAX];
	size_t publen = 0, klen = 0;
	struct st_kex_keypair *i = NULL, *r = NULL;

	st_test_unhex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433", i_priv,
		      32);
	st_test_unhex("04"
		      "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
		      "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
		      gi, 65);
	st_test_unhex("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53", r_priv,
		      32);
	st_test_unhex("04"
		      "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
		      "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
		      gr, 65);
	/* x(g^ir) has its top bit set: the mpint gets a 0x00 sign byte. */
	st_test_unhex("00000021"
		      "00D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
		      want_k, sizeof(want_k));

	CHECK_OK(st_kex_keypair_from_private(ST_KEX_ECDH_P256, i_priv, 32, &i));
	CHECK_OK(st_kex_keypair_from_private(ST_KEX_ECDH_P256, r_priv, 32, &r));
	if (i == NULL || r == NULL)
		goto out;
	CHECK_OK(st_kex_public(i, pub, sizeof(pub), &publen));
	CHECK_INT(publen, 65);
	CHECK_MEM(pub, gi, 65);
	CHECK_OK(st_kex_public(r, pub, sizeof(pub), &publen));
	CHECK_INT(publen, 65);
	CHECK_MEM(pub, gr, 65);
	CHECK_OK(derive_enc(i, gr, 65, k, sizeof(k), &klen));
	CHECK_INT(klen, sizeof(want_k));
	CHECK_MEM(k, want_k, sizeof(want_k));
	CHECK_OK(derive_enc(r, gi, 65, k, sizeof(k), &klen));
	CHECK_INT(klen, sizeof(want_k));
	CHECK_MEM(k, want_k, sizeof(want_k));
	check_mpint(k, klen);
out:
	st_kex_keypair_free(i);
	st_kex_keypair_free(r);
}

/* Fixed DH exponents x = 2 and x = 3: e = 4, f = 8, K = 2^6 = 64, in both groups. */
static void test_dh_small_exponents(void)
{
	static const uint8_t two[] = { 2 }, three[] = { 0, 0, 3 }; /* leading zeros are ignored */
	static const uint8_t want_k[] = { 0, 0, 0, 1, 0x40 };
	uint8_t pub[ST_KEX_PUBLIC_MAX], k[ST_KEX_SECRET_ENC_MAX];
	size_t publen = 0, klen = 0;

	for (size_t g = 2; g < NGROUPS; g++) {
		struct st_kex_keypair *a = NULL, *b = NULL;
		CHECK_OK(st_kex_keypair_from_private(all_groups[g], two, sizeof(two), &a));
		CHECK_OK(st_kex_keypair_from_private(all_groups[g], three, sizeof(three), &b));
		if (a == NULL || b == NULL)
			goto next;
		CHECK_OK(st_kex_public(a, pub, sizeof(pub), &publen));
		CHECK_INT(publen, 1);
		CHECK_INT(pub[0], 4);
		CHECK_OK(st_kex_public(b, pub, sizeof(pub), &publen));
		CHECK_INT(publen, 1);
		CHECK_INT(pub[0], 8);
		/* 8 and 4 have one bit set: refused as peer values (a flood's free
		 * choice), however the private key was chosen. */
		CHECK_ERR(derive_enc(a, pub, publen, k, sizeof(k), &klen), ST_ERR_KEX_PUBLIC_INVALID);
		pub[0] = 4;
		CHECK_ERR(derive_enc(b, pub, 1, k, sizeof(k), &klen), ST_ERR_KEX_PUBLIC_INVALID);
		(void)want_k;
	next:
		st_kex_keypair_free(a);
		st_kex_keypair_free(b);
	}
}

/* Two fresh keypairs agree on K, and K is a valid minimal mpint, in every group. */
static void test_roundtrip_all_groups(void)
{
	static const size_t pub_max[] = { 32, 65, 256, 512 };

	for (size_t g = 0; g < NGROUPS; g++) {
		for (int rep = 0; rep < 3; rep++) {
			struct st_kex_keypair *a = NULL, *b = NULL;
			uint8_t pa[ST_KEX_PUBLIC_MAX], pb[ST_KEX_PUBLIC_MAX];
			uint8_t ka[ST_KEX_SECRET_ENC_MAX], kb[ST_KEX_SECRET_ENC_MAX];
			size_t la = 0, lb = 0, kla = 0, klb = 0;

			CHECK_OK(st_kex_keypair_new(all_groups[g], &a));
			CHECK_OK(st_kex_keypair_new(all_groups[g], &b));
			if (a == NULL || b == NULL)
				goto next;
			CHECK_INT(st_kex_keypair_group(a), all_groups[g]);
			CHECK_OK(st_kex_public(a, pa, sizeof(pa), &la));
			CHECK_OK(st_kex_public(b, pb, sizeof(pb), &lb));
			CHECK(la <= pub_max[g] && lb <= pub_max[g]);
			if (g < 2) {
				CHECK_INT(la, pub_max[g]);
				CHECK_INT(lb, pub_max[g]);
			} else {
				/* DH: minimal magnitude, normally full size. */
				CHECK(la > pub_max[g] - 8 && pa[0] != 0);
			}
			if (g == 1)
				CHECK_INT(pa[0], 0x04);
			CHECK(la != lb || memcmp(pa, pb, la) != 0);
			CHECK_OK(derive_enc(a, pb, lb, ka, sizeof(ka), &kla));
			CHECK_OK(derive_enc(b, pa, la, kb, sizeof(kb), &klb));
			CHECK_INT(kla, klb);
			CHECK_MEM(ka, kb, kla);
			size_t mlen = check_mpint(ka, kla);
			CHECK(mlen <= (g == 0 ? 32 : g == 1 ? 32 : pub_max[g]));
			/* Our own public value as the peer's is legal and gives another K. */
			CHECK_OK(derive_enc(a, pa, la, kb, sizeof(kb), &klb));
			CHECK(klb != kla || memcmp(ka, kb, kla) != 0);
		next:
			st_kex_keypair_free(a);
			st_kex_keypair_free(b);
		}
	}
}

/*
 * Rejected peer values: exactly ST_ERR_KEX_PUBLIC_INVALID, and nothing appended
 * to the output buffer. A macro so that a failure names the caller's line.
 */
static int reject_check(const struct st_kex_keypair *kp, const uint8_t *peer, size_t len,
			size_t *appended)
{
	uint8_t k[ST_KEX_SECRET_ENC_MAX];
	struct st_buf b;
	int r;

	st_buf_wrap(&b, k, sizeof(k));
	r = st_kex_derive(kp, peer, len, &b);
	*appended = b.len;
	return r;
}

#define expect_reject(kp, peer, len, what)                                                    \
	do {                                                                                  \
		size_t _app = 0;                                                              \
		int _r = reject_check((kp), (peer), (len), &_app);                            \
		if (_r != ST_ERR_KEX_PUBLIC_INVALID || _app != 0)                             \
			st_test_fail(__FILE__, __LINE__, "%s (len %zu) -> %s, appended %zu", \
				     (what), (size_t)(len), st_err_name(_r), _app);           \
	} while (0)

static void test_x25519_reject(void)
{
	struct st_kex_keypair *kp = NULL, *other = NULL;
	uint8_t pub[40], v[33];
	size_t publen;

	CHECK_OK(st_kex_keypair_new(ST_KEX_X25519, &kp));
	CHECK_OK(st_kex_keypair_new(ST_KEX_X25519, &other));
	if (kp == NULL || other == NULL)
		goto out;
	CHECK_OK(st_kex_public(other, pub, sizeof(pub), &publen));
	/* Every truncation, and one byte too many. */
	for (size_t n = 0; n < 32; n++)
		expect_reject(kp, pub, n, "truncated x25519");
	memcpy(v, pub, 32);
	v[32] = 0;
	expect_reject(kp, v, 33, "x25519 + 1 byte");
	expect_reject(kp, NULL, 0, "no value");

	/* Low-order points give an all-zero secret: u = 0, 1, p, p + 1, and 0 with bit 255 set. */
	memset(v, 0, 32);
	expect_reject(kp, v, 32, "u = 0");
	v[31] = 0x80;
	expect_reject(kp, v, 32, "u = 0 with the masked top bit");
	memset(v, 0, 32);
	v[0] = 1;
	expect_reject(kp, v, 32, "u = 1");
	memset(v, 0xff, 32); /* little-endian p = 2^255 - 19 */
	v[0] = 0xed;
	v[31] = 0x7f;
	expect_reject(kp, v, 32, "u = p");
	v[0] = 0xee;
	expect_reject(kp, v, 32, "u = p + 1");
out:
	st_kex_keypair_free(kp);
	st_kex_keypair_free(other);
}

static void test_p256_reject(void)
{
	/* Field prime of P-256. */
	static const char *p_hex =
		"ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
	struct st_kex_keypair *kp = NULL, *other = NULL;
	uint8_t pub[ST_KEX_PUBLIC_MAX], v[80], k[ST_KEX_SECRET_ENC_MAX];
	size_t publen, klen;

	CHECK_OK(st_kex_keypair_new(ST_KEX_ECDH_P256, &kp));
	CHECK_OK(st_kex_keypair_new(ST_KEX_ECDH_P256, &other));
	if (kp == NULL || other == NULL)
		goto out;
	CHECK_OK(st_kex_public(other, pub, sizeof(pub), &publen));
	CHECK_INT(publen, 65);
	CHECK_OK(derive_enc(kp, pub, 65, k, sizeof(k), &klen));

	for (size_t n = 0; n < 65; n++)
		expect_reject(kp, pub, n, "truncated point");
	memcpy(v, pub, 65);
	v[65] = 0;
	expect_reject(kp, v, 66, "point + 1 byte");
	/* Point at infinity (SEC1: the single byte 0x00), also padded to full length. */
	memset(v, 0, sizeof(v));
	expect_reject(kp, v, 1, "infinity");
	expect_reject(kp, v, 65, "zeros");
	v[0] = 0x04;
	expect_reject(kp, v, 65, "(0, 0)");
	/* Compressed form of a valid point: both its real length and padded to 65. */
	memcpy(v, pub, 33);
	v[0] = (uint8_t)(0x02 | (pub[64] & 1));
	expect_reject(kp, v, 33, "compressed");
	memcpy(v + 33, pub + 33, 32);
	expect_reject(kp, v, 65, "0x02/0x03 prefix on 65 bytes");
	/* Hybrid form (0x06 / 0x07) and garbage prefixes. */
	memcpy(v, pub, 65);
	v[0] = (uint8_t)(0x06 | (pub[64] & 1));
	expect_reject(kp, v, 65, "hybrid");
	v[0] = 0x05;
	expect_reject(kp, v, 65, "prefix 5");
	/* Off the curve: any change of y (or x) breaks y^2 = x^3 - 3x + b. */
	for (size_t bit = 0; bit < 8; bit++) {
		memcpy(v, pub, 65);
		v[64] ^= (uint8_t)(1u << bit);
		expect_reject(kp, v, 65, "y off curve");
		memcpy(v, pub, 65);
		v[1 + bit] ^= 0x10;
		expect_reject(kp, v, 65, "x off curve");
	}
	/* Coordinates not reduced mod p: x = p, and x + p style overflow (x = all ones). */
	memcpy(v, pub, 65);
	st_test_unhex(p_hex, v + 1, 32);
	expect_reject(kp, v, 65, "x = p");
	memset(v + 1, 0xff, 32);
	expect_reject(kp, v, 65, "x = 2^256 - 1");
	memcpy(v, pub, 65);
	st_test_unhex(p_hex, v + 33, 32);
	expect_reject(kp, v, 65, "y = p");
	/* Random garbage with the right prefix. */
	for (uint64_t s = 0; s < 64; s++) {
		st_test_fill(v, 65, 1000 + s);
		v[0] = 0x04;
		expect_reject(kp, v, 65, "garbage point");
	}
out:
	st_kex_keypair_free(kp);
	st_kex_keypair_free(other);
}

/* The group's modulus p, from OpenSSL's named group, as minimal big-endian bytes. */
static size_t dh_modulus(const char *name, uint8_t *out, size_t outsz)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *params = NULL;
	BIGNUM *p = NULL;
	OSSL_PARAM in[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t n = 0;

	if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &params, EVP_PKEY_KEY_PARAMETERS, in) == 1 &&
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
	    (size_t)BN_num_bytes(p) <= outsz)
		n = (size_t)BN_bn2bin(p, out);
	BN_free(p);
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(ctx);
	return n;
}

/* Adds a small signed delta to a big-endian number in place (no change of length). */
static void be_add(uint8_t *v, size_t n, int delta)
{
	int carry = delta;
	for (size_t i = n; i-- > 0 && carry != 0;) {
		int x = v[i] + carry;
		v[i] = (uint8_t)(x & 0xff);
		carry = x >> 8; /* arithmetic shift: -1 on borrow */
	}
}

/* RFC 3526 §3: the 2048-bit MODP group's prime (group14). */
static const char *rfc3526_2048 =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
	"514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
	"F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
	"C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
	"9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
	"15728E5A8AACAA68FFFFFFFFFFFFFFFF";

static void test_dh_reject(void)
{
	static const char *ossl_names[] = { "modp_2048", "modp_4096" };
	static const size_t bits[] = { 2048, 4096 };

	for (size_t gi = 0; gi < 2; gi++) {
		enum st_kex_group g = gi == 0 ? ST_KEX_DH_GROUP14 : ST_KEX_DH_GROUP16;
		struct st_kex_keypair *kp = NULL;
		uint8_t p[ST_KEX_PUBLIC_MAX], v[ST_KEX_PUBLIC_MAX + 2], k[ST_KEX_SECRET_ENC_MAX];
		size_t plen = dh_modulus(ossl_names[gi], p, sizeof(p)), klen;

		CHECK_INT(plen, bits[gi] / 8);
		if (gi == 0) {
			uint8_t want[256];
			CHECK_INT(st_test_unhex(rfc3526_2048, want, sizeof(want)), 256);
			CHECK_MEM(p, want, 256);
		}
		CHECK_OK(st_kex_keypair_new(g, &kp));
		if (kp == NULL || plen == 0)
			goto next;

		/* 0 (empty, and as explicit zero bytes), 1. */
		expect_reject(kp, NULL, 0, "0 (empty)");
		memset(v, 0, sizeof(v));
		expect_reject(kp, v, 1, "0");
		expect_reject(kp, v, plen, "0 padded");
		v[0] = 1;
		expect_reject(kp, v, 1, "1");
		v[plen - 1] = 1;
		v[0] = 0;
		expect_reject(kp, v, plen, "1 padded");
		/* 2, 4, 7: in range, but under 4 bits set (OpenSSH refuses these too);
		 * 15 is the smallest value taken. */
		v[0] = 2;
		expect_reject(kp, v, 1, "2 (one bit)");
		v[0] = 7;
		expect_reject(kp, v, 1, "7 (three bits)");
		v[0] = 0x80;
		v[1] = 0x01;
		expect_reject(kp, v, 2, "0x8001 (two bits)");
		v[0] = 15;
		CHECK_OK(derive_enc(kp, v, 1, k, sizeof(k), &klen));
		check_mpint(k, klen);

		/* p - 1, p, p + 1: rejected; p - 2: the largest valid value. */
		memcpy(v, p, plen);
		be_add(v, plen, -1);
		expect_reject(kp, v, plen, "p - 1");
		v[0] = 0;
		memcpy(v + 1, p, plen);
		be_add(v + 1, plen, -1);
		expect_reject(kp, v, plen + 1, "p - 1 with a leading zero");
		memcpy(v, p, plen);
		expect_reject(kp, v, plen, "p");
		be_add(v, plen, 1);
		expect_reject(kp, v, plen, "p + 1");
		memcpy(v, p, plen);
		be_add(v, plen, -2);
		CHECK_OK(derive_enc(kp, v, plen, k, sizeof(k), &klen));
		check_mpint(k, klen);
		/* Above p: all ones, and longer than p. */
		memset(v, 0xff, plen);
		expect_reject(kp, v, plen, "2^n - 1");
		memset(v, 0, sizeof(v));
		v[0] = 1;
		expect_reject(kp, v, plen + 1, "2^n");
		memset(v, 0xff, sizeof(v));
		expect_reject(kp, v, plen + 2, "too long");
	next:
		st_kex_keypair_free(kp);
	}
}

static void test_bad_args(void)
{
	struct st_kex_keypair *kp = NULL, *x = NULL;
	uint8_t buf[ST_KEX_PUBLIC_MAX], k[8];
	size_t len = 0;
	struct st_buf b;
	static const uint8_t zeros[32];
	uint8_t ones[32];

	memset(ones, 0xff, sizeof(ones));
	CHECK_ERR(st_kex_keypair_new((enum st_kex_group)6, &kp), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_kex_keypair_new((enum st_kex_group)-1, &kp), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_kex_keypair_new(ST_KEX_X25519, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK(kp == NULL);
	CHECK_ERR(st_kex_keypair_from_private((enum st_kex_group)9, zeros, 32, &x),
		  ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_X25519, zeros, 31, &x),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_X25519, NULL, 32, &x),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_ECDH_P256, zeros, 33, &x),
		  ST_ERR_INVALID_ARGUMENT);
	/* P-256 scalar must be in [1, n-1]: 0, n and 2^256-1 are refused. */
	uint8_t n[32];
	st_test_unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", n, 32);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_ECDH_P256, zeros, 32, &x), ST_ERR_KEY_INVALID);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_ECDH_P256, n, 32, &x), ST_ERR_KEY_INVALID);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_ECDH_P256, ones, 32, &x), ST_ERR_KEY_INVALID);
	n[31] -= 1; /* n - 1 is fine */
	CHECK_OK(st_kex_keypair_from_private(ST_KEX_ECDH_P256, n, 32, &x));
	st_kex_keypair_free(x);
	x = NULL;
	/* DH exponent must be in [2, p-2]. */
	static const uint8_t one[] = { 1 };
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_DH_GROUP14, zeros, 32, &x),
		  ST_ERR_KEY_INVALID);
	CHECK_ERR(st_kex_keypair_from_private(ST_KEX_DH_GROUP14, one, 1, &x), ST_ERR_KEY_INVALID);
	{
		uint8_t big[ST_KEX_PUBLIC_MAX + 1];
		size_t plen = dh_modulus("modp_2048", big, sizeof(big));
		CHECK_INT(plen, 256);
		be_add(big, plen, -1);
		CHECK_ERR(st_kex_keypair_from_private(ST_KEX_DH_GROUP14, big, plen, &x),
			  ST_ERR_KEY_INVALID);
		memset(big, 0xff, sizeof(big));
		CHECK_ERR(st_kex_keypair_from_private(ST_KEX_DH_GROUP14, big, sizeof(big), &x),
			  ST_ERR_KEY_INVALID);
	}
	CHECK(x == NULL);
	st_kex_keypair_free(NULL);

	CHECK_OK(st_kex_keypair_new(ST_KEX_ECDH_P256, &kp));
	if (kp == NULL)
		return;
	CHECK_ERR(st_kex_public(kp, buf, 64, &len), ST_ERR_NO_SPACE);
	CHECK_ERR(st_kex_public(kp, NULL, 65, &len), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_public(kp, buf, 65, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_public(NULL, buf, 65, &len), ST_ERR_INVALID_ARGUMENT);
	CHECK_OK(st_kex_public(kp, buf, 65, &len));
	CHECK_INT(len, 65);
	/* Output buffer too small for K: refused without a partial write. */
	st_buf_wrap(&b, k, sizeof(k));
	CHECK_ERR(st_kex_derive(kp, buf, len, &b), ST_ERR_NO_SPACE);
	CHECK_INT(b.len, 0);
	CHECK_ERR(st_kex_derive(kp, buf, len, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_derive(NULL, buf, len, &b), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_derive(kp, NULL, 65, &b), ST_ERR_INVALID_ARGUMENT);
	/* K is appended after what the buffer already holds (as when building a hash input). */
	{
		uint8_t big[64];
		st_buf_wrap(&b, big, sizeof(big));
		CHECK_OK(st_buf_put_u32(&b, 0xdeadbeef));
		CHECK_OK(st_kex_derive(kp, buf, len, &b));
		CHECK(b.len > 4 + 4 && b.len <= 4 + 4 + 33);
		CHECK_INT(st_peek_u32(big), 0xdeadbeef);
		check_mpint(big + 4, b.len - 4);
	}
	st_kex_keypair_free(kp);
}

/* Random peer values of random lengths: every group answers OK or rejects; nothing crashes. */
static void test_random_peers(void)
{
	for (size_t g = 0; g < NGROUPS; g++) {
		struct st_kex_keypair *kp = NULL;
		uint8_t v[ST_KEX_PUBLIC_MAX + 8], k[ST_KEX_SECRET_ENC_MAX];
		size_t klen;
		int iters = g < 2 ? 300 : 40;

		CHECK_OK(st_kex_keypair_new(all_groups[g], &kp));
		if (kp == NULL)
			continue;
		for (int i = 0; i < iters; i++) {
			size_t len;
			st_test_fill(&len, sizeof(len), 7000 + (uint64_t)i);
			len %= sizeof(v) + 1;
			if (i % 3 == 0) /* often the right size */
				len = g == 0 ? 32 : g == 1 ? 65 : (g == 2 ? 256 : 512);
			st_test_fill(v, len, 9000 + (uint64_t)i * 7 + g);
			int r = derive_enc(kp, v, len, k, sizeof(k), &klen);
			CHECK(r == ST_OK || r == ST_ERR_KEX_PUBLIC_INVALID);
			if (r == ST_OK)
				check_mpint(k, klen);
			else
				CHECK_INT(klen, 0);
		}
		st_kex_keypair_free(kp);
	}
}

/* The hybrid KEM groups: lengths of Q_C, Q_S and K, and the hash. */
static const struct {
	enum st_kex_group g;
	const char *name;
	size_t q_c, q_s, k, kem_pk;
} hybrids[] = {
	{ST_KEX_MLKEM768_X25519, "mlkem768x25519", 1184 + 32, 1088 + 32, 32, 1184},
	{ST_KEX_SNTRUP761_X25519, "sntrup761x25519", 1158 + 32, 1039 + 32, 64, 1158},
};

/* K of a hybrid group: exactly one SSH string of the hash length. */
static void check_k_string(const uint8_t *k, size_t klen, size_t want)
{
	struct st_buf r;
	const uint8_t *v;
	size_t vlen = 0;

	st_buf_from(&r, k, klen);
	CHECK_OK(st_buf_get_string(&r, &v, &vlen));
	CHECK_OK(st_buf_end(&r));
	CHECK_INT(vlen, want);
}

/* Server step on q_c: the return code, with Q_S and K when it succeeds. */
static int respond(enum st_kex_group g, const uint8_t *q_c, size_t q_c_len, uint8_t *q_s,
		   size_t *q_s_len, uint8_t *k, size_t *klen)
{
	struct st_buf b;
	int r;

	st_buf_wrap(&b, k, ST_KEX_SECRET_ENC_MAX);
	r = st_kex_server_respond(g, q_c, q_c_len, q_s, ST_KEX_PUBLIC_MAX, q_s_len, &b);
	*klen = b.len;
	return r;
}

static int finish(const struct st_kex_keypair *kp, const uint8_t *q_s, size_t q_s_len,
		  uint8_t *k, size_t *klen)
{
	struct st_buf b;
	int r;

	st_buf_wrap(&b, k, ST_KEX_SECRET_ENC_MAX);
	r = st_kex_client_finish(kp, q_s, q_s_len, &b);
	*klen = b.len;
	return r;
}

static void test_hybrid_roundtrip(void)
{
	for (size_t i = 0; i < sizeof(hybrids) / sizeof(hybrids[0]); i++) {
		for (int rep = 0; rep < 3; rep++) {
			struct st_kex_keypair *c = NULL;
			uint8_t q_c[ST_KEX_PUBLIC_MAX], q_s[ST_KEX_PUBLIC_MAX];
			uint8_t ks[ST_KEX_SECRET_ENC_MAX], kc[ST_KEX_SECRET_ENC_MAX];
			size_t lc = 0, ls = 0, kls = 0, klc = 0;

			CHECK(st_kex_group_is_kem(hybrids[i].g));
			CHECK(strcmp(st_kex_group_name(hybrids[i].g), hybrids[i].name) == 0);
			CHECK_OK(st_kex_keypair_new(hybrids[i].g, &c));
			if (c == NULL)
				continue;
			CHECK_OK(st_kex_public(c, q_c, sizeof(q_c), &lc));
			CHECK_INT(lc, hybrids[i].q_c);
			CHECK_OK(respond(hybrids[i].g, q_c, lc, q_s, &ls, ks, &kls));
			CHECK_INT(ls, hybrids[i].q_s);
			check_k_string(ks, kls, hybrids[i].k);
			CHECK_OK(finish(c, q_s, ls, kc, &klc));
			CHECK_INT(klc, kls);
			CHECK_MEM(kc, ks, kls);
			/* A second response to the same Q_C is a fresh encapsulation and X25519 key. */
			uint8_t q_s2[ST_KEX_PUBLIC_MAX], ks2[ST_KEX_SECRET_ENC_MAX];
			size_t ls2 = 0, kls2 = 0;
			CHECK_OK(respond(hybrids[i].g, q_c, lc, q_s2, &ls2, ks2, &kls2));
			CHECK(memcmp(q_s, q_s2, ls) != 0 && memcmp(ks, ks2, kls) != 0);
			/*
			 * A flipped ciphertext bit is not an error (implicit rejection) but
			 * gives another K; the host key signature over H then fails.
			 */
			q_s[7] ^= 1;
			CHECK_OK(finish(c, q_s, ls, kc, &klc));
			CHECK(memcmp(kc, ks, kls) != 0);
			/* No DH step on a KEM keypair, and no fixed-key construction. */
			CHECK_ERR(derive_enc(c, q_s, ls, kc, sizeof(kc), &klc), ST_ERR_ALG_UNSUPPORTED);
			struct st_kex_keypair *x = NULL;
			CHECK_ERR(st_kex_keypair_from_private(hybrids[i].g, q_c, 32, &x),
				  ST_ERR_ALG_UNSUPPORTED);
			CHECK(x == NULL);
			st_kex_keypair_free(c);
		}
	}
	/* The DH groups answer through the same two calls, K as mpint. */
	for (size_t g = 0; g < NGROUPS; g++) {
		struct st_kex_keypair *c = NULL;
		uint8_t q_c[ST_KEX_PUBLIC_MAX], q_s[ST_KEX_PUBLIC_MAX];
		uint8_t ks[ST_KEX_SECRET_ENC_MAX], kc[ST_KEX_SECRET_ENC_MAX];
		size_t lc = 0, ls = 0, kls = 0, klc = 0;

		CHECK(!st_kex_group_is_kem(all_groups[g]));
		CHECK_OK(st_kex_keypair_new(all_groups[g], &c));
		if (c == NULL)
			continue;
		CHECK_OK(st_kex_public(c, q_c, sizeof(q_c), &lc));
		CHECK_OK(respond(all_groups[g], q_c, lc, q_s, &ls, ks, &kls));
		CHECK_OK(finish(c, q_s, ls, kc, &klc));
		CHECK_INT(klc, kls);
		CHECK_MEM(kc, ks, kls);
		check_mpint(ks, kls);
		st_kex_keypair_free(c);
	}
}

/* A rejected value: ST_ERR_KEX_PUBLIC_INVALID, no Q_S and no K written. */
#define expect_respond_reject(g, q_c, len, what)                                              \
	do {                                                                                  \
		uint8_t _qs[ST_KEX_PUBLIC_MAX], _k[ST_KEX_SECRET_ENC_MAX];                    \
		size_t _ls = 12345, _kl = 0;                                                  \
		int _r = respond((g), (q_c), (len), _qs, &_ls, _k, &_kl);                     \
		if (_r != ST_ERR_KEX_PUBLIC_INVALID || _kl != 0 || _ls != 12345)              \
			st_test_fail(__FILE__, __LINE__, "%s (len %zu) -> %s, K %zu", (what), \
				     (size_t)(len), st_err_name(_r), _kl);                    \
	} while (0)

#define expect_finish_reject(kp, q_s, len, what)                                              \
	do {                                                                                  \
		uint8_t _k[ST_KEX_SECRET_ENC_MAX];                                            \
		size_t _kl = 0;                                                               \
		int _r = finish((kp), (q_s), (len), _k, &_kl);                                \
		if (_r != ST_ERR_KEX_PUBLIC_INVALID || _kl != 0)                              \
			st_test_fail(__FILE__, __LINE__, "%s (len %zu) -> %s, K %zu", (what), \
				     (size_t)(len), st_err_name(_r), _kl);                    \
	} while (0)

static void test_hybrid_reject(void)
{
	/* u = 0 and u = 1: low-order points, the X25519 result is all zero. */
	static const uint8_t low_order[2][32] = {{0}, {1}};

	for (size_t i = 0; i < sizeof(hybrids) / sizeof(hybrids[0]); i++) {
		enum st_kex_group g = hybrids[i].g;
		struct st_kex_keypair *c = NULL;
		uint8_t q_c[ST_KEX_PUBLIC_MAX + 1], q_s[ST_KEX_PUBLIC_MAX + 1];
		uint8_t k[ST_KEX_SECRET_ENC_MAX];
		size_t lc = 0, ls = 0, kl = 0;

		CHECK_OK(st_kex_keypair_new(g, &c));
		if (c == NULL)
			continue;
		CHECK_OK(st_kex_public(c, q_c, ST_KEX_PUBLIC_MAX, &lc));
		q_c[lc] = 0;
		/* Wrong lengths of Q_C: empty, one short, one long, the other KEM's length. */
		expect_respond_reject(g, q_c, 0, "empty Q_C");
		expect_respond_reject(g, q_c, lc - 1, "Q_C one byte short");
		expect_respond_reject(g, q_c, lc + 1, "Q_C one byte long");
		expect_respond_reject(g, q_c, 32, "X25519 only");
		expect_respond_reject(g, q_c, hybrids[1 - i].q_c, "the other KEM's Q_C");
		/* An all-zero X25519 result behind a good KEM key. */
		uint8_t bad[ST_KEX_PUBLIC_MAX];
		for (int z = 0; z < 2; z++) {
			memcpy(bad, q_c, lc);
			memcpy(bad + hybrids[i].kem_pk, low_order[z], 32);
			expect_respond_reject(g, bad, lc, "low-order X25519 in Q_C");
		}
		/* Client side: wrong-length and low-order Q_S. */
		CHECK_OK(respond(g, q_c, lc, q_s, &ls, k, &kl));
		expect_finish_reject(c, q_s, 0, "empty Q_S");
		expect_finish_reject(c, q_s, ls - 1, "Q_S one byte short");
		q_s[ls] = 0;
		expect_finish_reject(c, q_s, ls + 1, "Q_S one byte long");
		for (int z = 0; z < 2; z++) {
			memcpy(bad, q_s, ls);
			memcpy(bad + ls - 32, low_order[z], 32);
			expect_finish_reject(c, bad, ls, "low-order X25519 in Q_S");
		}
		st_kex_keypair_free(c);
	}

	/* ML-KEM: an encapsulation key failing the FIPS 203 modulus check. */
	{
		uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN], q_c[ST_KEX_PUBLIC_MAX];
		struct st_kex_keypair *x = NULL;
		size_t xl = 0;

		CHECK_OK(st_mlkem768_keygen(ek, dk));
		CHECK_OK(st_kex_keypair_new(ST_KEX_X25519, &x));
		memcpy(q_c, ek, sizeof(ek));
		if (x != NULL)
			CHECK_OK(st_kex_public(x, q_c + sizeof(ek), 32, &xl));
		/* the good key passes */
		{
			uint8_t qs[ST_KEX_PUBLIC_MAX], k[ST_KEX_SECRET_ENC_MAX];
			size_t ls = 0, kl = 0;
			CHECK_OK(respond(ST_KEX_MLKEM768_X25519, q_c, sizeof(ek) + 32, qs, &ls, k,
					 &kl));
		}
		/* the first coefficient 0xfff (>= q = 3329); then q itself, the smallest bad one */
		q_c[0] = 0xff;
		q_c[1] = (uint8_t)((q_c[1] & 0xf0) | 0x0f);
		expect_respond_reject(ST_KEX_MLKEM768_X25519, q_c, sizeof(ek) + 32, "ek >= q");
		q_c[0] = 3329 & 0xff;
		q_c[1] = (uint8_t)((q_c[1] & 0xf0) | (3329 >> 8));
		expect_respond_reject(ST_KEX_MLKEM768_X25519, q_c, sizeof(ek) + 32, "ek == q");
		/* the last coefficient of the last polynomial (ek's t part ends at 1152) */
		memcpy(q_c, ek, sizeof(ek));
		q_c[1150] = 0xff;
		q_c[1151] = 0xff;
		expect_respond_reject(ST_KEX_MLKEM768_X25519, q_c, sizeof(ek) + 32,
				      "last coefficient >= q");
		st_kex_keypair_free(x);
	}

	/* Argument checks. */
	{
		uint8_t q[ST_KEX_PUBLIC_MAX] = {0}, k[ST_KEX_SECRET_ENC_MAX];
		size_t l = 0;
		struct st_buf b;
		st_buf_wrap(&b, k, sizeof(k));
		CHECK_ERR(st_kex_server_respond((enum st_kex_group)6, q, 32, q, sizeof(q), &l, &b),
			  ST_ERR_ALG_UNSUPPORTED);
		CHECK_ERR(st_kex_server_respond(ST_KEX_X25519, q, 32, NULL, sizeof(q), &l, &b),
			  ST_ERR_INVALID_ARGUMENT);
		CHECK_ERR(st_kex_server_respond(ST_KEX_MLKEM768_X25519, q, 1216, q, 1119, &l, &b),
			  ST_ERR_NO_SPACE);
		CHECK_ERR(st_kex_client_finish(NULL, q, 32, &b), ST_ERR_INVALID_ARGUMENT);
		CHECK_INT(b.len, 0);
	}
}

int main(void)
{
	RUN(test_names);
	RUN(test_x25519_rfc7748);
	RUN(test_p256_rfc5903);
	RUN(test_dh_small_exponents);
	RUN(test_roundtrip_all_groups);
	RUN(test_x25519_reject);
	RUN(test_p256_reject);
	RUN(test_dh_reject);
	RUN(test_bad_args);
	RUN(test_random_peers);
	RUN(test_hybrid_roundtrip);
	RUN(test_hybrid_reject);
	return st_test_done("kex");
}
