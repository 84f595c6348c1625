/* Unit tests for SSH signatures (crypto/sig.c) over keys from crypto/key.c. */
#include <string.h>

#include "crypto/buf.h"
#include "crypto/key.h"
#include "crypto/key_internal.h"
#include "crypto/sig.h"
#include "tests/unit/test.h"

#define SIG_MAX 4096

struct sigbuf {
	uint8_t mem[SIG_MAX];
	size_t len;
};

static int do_sign(const struct st_key *k, enum st_sig_alg alg, const uint8_t *msg, size_t len,
		   struct sigbuf *s)
{
	struct st_buf b;
	int r;

	st_buf_wrap(&b, s->mem, sizeof(s->mem));
	r = st_sig_sign(k, alg, msg, len, &b);
	s->len = b.len;
	return r;
}

/* The inner signature string of a blob (name checked). */
static int blob_inner(const struct sigbuf *s, const char *name, const uint8_t **p, size_t *len)
{
	struct st_buf b;
	const uint8_t *n;
	size_t nl;

	st_buf_from(&b, s->mem, s->len);
	if (st_buf_get_string(&b, &n, &nl) != ST_OK || nl != strlen(name) ||
	    memcmp(n, name, nl) != 0 || st_buf_get_string(&b, p, len) != ST_OK ||
	    st_buf_end(&b) != ST_OK)
		return -1;
	return 0;
}

/* A signature blob from a name and an inner signature string. */
static void make_blob(struct sigbuf *s, const char *name, const uint8_t *inner, size_t len)
{
	struct st_buf b;

	st_buf_wrap(&b, s->mem, sizeof(s->mem));
	CHECK_OK(st_buf_put_cstring(&b, name));
	CHECK_OK(st_buf_put_string(&b, inner, len));
	s->len = b.len;
}

/* A public-only copy of k through its blob. */
static struct st_key *public_copy(const struct st_key *k)
{
	uint8_t mem[ST_KEY_BLOB_MAX];
	struct st_buf b;
	struct st_key *pub = NULL;

	st_buf_wrap(&b, mem, sizeof(mem));
	CHECK_OK(st_key_to_blob(k, &b));
	CHECK_OK(st_key_from_blob(mem, b.len, &pub));
	return pub;
}

/* RFC 8032 §7.1, TEST 1..3. */
static const struct {
	const char *secret, *public, *message, *signature;
} ed25519_kat[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void test_ed25519_rfc8032(void)
{
	for (size_t t = 0; t < sizeof(ed25519_kat) / sizeof(ed25519_kat[0]); t++) {
		uint8_t seed[32], pubk[32], msg[16], want[64], blob[128];
		size_t mlen;
		struct st_key *k = NULL, *pub = NULL;
		struct st_buf b;
		struct sigbuf s, bad;
		const uint8_t *p;
		size_t plen;

		st_test_unhex(ed25519_kat[t].secret, seed, sizeof(seed));
		st_test_unhex(ed25519_kat[t].public, pubk, sizeof(pubk));
		mlen = st_test_unhex(ed25519_kat[t].message, msg, sizeof(msg));
		st_test_unhex(ed25519_kat[t].signature, want, sizeof(want));

		CHECK_OK(st_key_ed25519_from_seed(seed, &k));
		if (k == NULL)
			return;
		CHECK(st_key_has_private(k));
		CHECK_INT(st_key_type(k), ST_KEY_ED25519);

		/* secret key -> public key, as the public blob carries it */
		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_key_to_blob(k, &b));
		CHECK_INT(b.len, 4 + 11 + 4 + 32);
		CHECK_MEM(blob + b.len - 32, pubk, 32);

		/* -> signature, byte-exact */
		CHECK_OK(do_sign(k, ST_SIG_ED25519, msg, mlen, &s));
		CHECK(blob_inner(&s, "ssh-ed25519", &p, &plen) == 0);
		CHECK_INT(plen, 64);
		CHECK_MEM(p, want, 64);

		/* verify with the private key and with the public key alone */
		CHECK_OK(st_key_ed25519_from_raw(pubk, NULL, &pub));
		CHECK(!st_key_has_private(pub));
		CHECK_OK(st_sig_verify(k, ST_SIG_ED25519, s.mem, s.len, msg, mlen));
		CHECK_OK(st_sig_verify(pub, ST_SIG_ED25519, s.mem, s.len, msg, mlen));

		/* every 1-bit flip of the signature is rejected */
		for (size_t bit = 0; bit < 64 * 8; bit++) {
			uint8_t flipped[64];
			memcpy(flipped, want, 64);
			flipped[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			make_blob(&bad, "ssh-ed25519", flipped, 64);
			CHECK_ERR(st_sig_verify(pub, ST_SIG_ED25519, bad.mem, bad.len, msg, mlen),
				  ST_ERR_SIG_INVALID);
		}
		/* every 1-bit flip of the message, and one extra byte, is rejected */
		for (size_t bit = 0; bit < mlen * 8; bit++) {
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK_ERR(st_sig_verify(pub, ST_SIG_ED25519, s.mem, s.len, msg, mlen),
				  ST_ERR_SIG_INVALID);
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		msg[mlen] = 0;
		CHECK_ERR(st_sig_verify(pub, ST_SIG_ED25519, s.mem, s.len, msg, mlen + 1),
			  ST_ERR_SIG_INVALID);

		/* the seed with another public key is refused */
		pubk[0] ^= 1;
		struct st_key *mis = NULL;
		CHECK_ERR(st_key_ed25519_from_raw(pubk, seed, &mis), ST_ERR_KEY_INVALID);
		CHECK(mis == NULL);
		st_key_free(pub);
		st_key_free(k);
	}
}

static void test_alg_names(void)
{
	static const char *names[] = { "ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256",
				       "rsa-sha2-512" };
	enum st_sig_alg a;

	for (int i = 0; i < 4; i++) {
		CHECK_OK(st_sig_alg_from_name(names[i], strlen(names[i]), &a));
		CHECK(strcmp(st_sig_alg_name(a), names[i]) == 0);
	}
	CHECK_ERR(st_sig_alg_from_name("ssh-rsa", 7, &a), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_sig_alg_from_name("rsa-sha2-256x", 13, &a), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_sig_alg_from_name("rsa-sha2-25", 11, &a), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_sig_alg_from_name("", 0, &a), ST_ERR_ALG_UNSUPPORTED);
	/* the length counts, not a NUL */
	CHECK_OK(st_sig_alg_from_name("ssh-ed25519XYZ", 11, &a));
	CHECK_INT(a, ST_SIG_ED25519);
	CHECK(strcmp(st_sig_alg_name((enum st_sig_alg)99), "unknown") == 0);
}

struct keycase {
	enum st_key_type type;
	int bits;
	enum st_sig_alg algs[2];
	int nalgs;
};

static const struct keycase keycases[] = {
	{ ST_KEY_ED25519, 0, { ST_SIG_ED25519 }, 1 },
	{ ST_KEY_ECDSA_P256, 0, { ST_SIG_ECDSA_P256 }, 1 },
	{ ST_KEY_RSA, 2048, { ST_SIG_RSA_SHA256, ST_SIG_RSA_SHA512 }, 2 },
};

static const enum st_sig_alg all_algs[] = { ST_SIG_ED25519, ST_SIG_ECDSA_P256, ST_SIG_RSA_SHA256,
					    ST_SIG_RSA_SHA512 };

static int alg_in(const struct keycase *kc, enum st_sig_alg a)
{
	for (int i = 0; i < kc->nalgs; i++)
		if (kc->algs[i] == a)
			return 1;
	return 0;
}

/* Sign/verify round trips, strict parsing and cross-algorithm rejection, per key type. */
static void test_roundtrip_all_types(void)
{
	uint8_t msg[300];

	st_test_fill(msg, sizeof(msg), 7);
	for (size_t c = 0; c < sizeof(keycases) / sizeof(keycases[0]); c++) {
		const struct keycase *kc = &keycases[c];
		struct st_key *k = NULL, *pub, *other = NULL;
		struct sigbuf s, t;

		CHECK_OK(st_key_generate(kc->type, kc->bits, &k));
		if (k == NULL)
			return;
		CHECK_OK(st_key_generate(kc->type, kc->bits, &other));
		pub = public_copy(k);
		CHECK(st_key_equal_public(k, pub));
		CHECK(!st_key_equal_public(k, other));

		for (size_t ai = 0; ai < 4; ai++) {
			enum st_sig_alg a = all_algs[ai];
			CHECK_INT(st_sig_alg_matches_key(a, k), alg_in(kc, a));
			if (!alg_in(kc, a)) {
				CHECK_ERR(do_sign(k, a, msg, sizeof(msg), &s),
					  ST_ERR_KEY_TYPE_MISMATCH);
				CHECK_INT(s.len, 0);
				continue;
			}
			CHECK_OK(do_sign(k, a, msg, sizeof(msg), &s));
			CHECK_OK(st_sig_verify(pub, a, s.mem, s.len, msg, sizeof(msg)));
			CHECK_OK(st_sig_verify(k, a, s.mem, s.len, msg, sizeof(msg)));
			/* empty message */
			CHECK_OK(do_sign(k, a, NULL, 0, &t));
			CHECK_OK(st_sig_verify(pub, a, t.mem, t.len, NULL, 0));
			CHECK_ERR(st_sig_verify(pub, a, t.mem, t.len, msg, 1), ST_ERR_SIG_INVALID);
			/* another key, another message */
			CHECK_ERR(st_sig_verify(other, a, s.mem, s.len, msg, sizeof(msg)),
				  ST_ERR_SIG_INVALID);
			CHECK_ERR(st_sig_verify(pub, a, s.mem, s.len, msg, sizeof(msg) - 1),
				  ST_ERR_SIG_INVALID);
			/* the blob under every other algorithm */
			for (size_t bi = 0; bi < 4; bi++) {
				enum st_sig_alg b = all_algs[bi];
				if (b == a)
					continue;
				CHECK_ERR(st_sig_verify(pub, b, s.mem, s.len, msg, sizeof(msg)),
					  alg_in(kc, b) ? ST_ERR_SIG_INVALID
							: ST_ERR_KEY_TYPE_MISMATCH);
			}
			/* every truncation fails, trailing bytes fail */
			for (size_t n = 0; n < s.len; n++)
				CHECK(st_sig_verify(pub, a, s.mem, n, msg, sizeof(msg)) != ST_OK);
			s.mem[s.len] = 0;
			CHECK_ERR(st_sig_verify(pub, a, s.mem, s.len + 1, msg, sizeof(msg)),
				  ST_ERR_FORMAT);
			/* a flipped bit anywhere after the name fails */
			for (size_t i = 4 + strlen(st_sig_alg_name(a)); i < s.len; i += 7) {
				s.mem[i] ^= 0x10;
				CHECK(st_sig_verify(pub, a, s.mem, s.len, msg, sizeof(msg)) !=
				      ST_OK);
				s.mem[i] ^= 0x10;
			}
			CHECK_OK(st_sig_verify(pub, a, s.mem, s.len, msg, sizeof(msg)));
		}
		/* public-only keys cannot sign; a full buffer is left untouched */
		CHECK_ERR(do_sign(pub, kc->algs[0], msg, sizeof(msg), &s), ST_ERR_INVALID_ARGUMENT);
		{
			uint8_t small[40];
			struct st_buf b;
			st_buf_wrap(&b, small, sizeof(small));
			CHECK_OK(st_buf_put_u32(&b, 0xdeadbeef));
			CHECK_ERR(st_sig_sign(k, kc->algs[0], msg, sizeof(msg), &b),
				  ST_ERR_NO_SPACE);
			CHECK_INT(b.len, 4);
		}
		st_key_free(pub);
		st_key_free(other);
		st_key_free(k);
	}
}

/* rsa-sha2-256 and rsa-sha2-512 are not interchangeable, even with the name swapped. */
static void test_rsa_alg_confusion(void)
{
	struct st_key *k = NULL;
	struct sigbuf s, t;
	const uint8_t *p;
	size_t plen;
	uint8_t msg[] = "exchange hash";

	CHECK_OK(st_key_generate(ST_KEY_RSA, 2048, &k));
	if (k == NULL)
		return;
	CHECK_OK(do_sign(k, ST_SIG_RSA_SHA256, msg, sizeof(msg), &s));
	CHECK_ERR(st_sig_verify(k, ST_SIG_RSA_SHA512, s.mem, s.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	CHECK(blob_inner(&s, "rsa-sha2-256", &p, &plen) == 0);
	CHECK_INT(plen, 256);
	make_blob(&t, "rsa-sha2-512", p, plen);
	CHECK_ERR(st_sig_verify(k, ST_SIG_RSA_SHA512, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	make_blob(&t, "ssh-rsa", p, plen);
	CHECK_ERR(st_sig_verify(k, ST_SIG_RSA_SHA256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	CHECK_OK(st_sig_verify(k, ST_SIG_RSA_SHA256, s.mem, s.len, msg, sizeof(msg)));
	st_key_free(k);
}

/* Short RSA signatures are left-padded (as OpenSSH does); long ones are refused. */
static void test_rsa_signature_length(void)
{
	struct st_key *k = NULL;
	struct sigbuf s, t;
	const uint8_t *p = NULL;
	size_t plen = 0;
	uint8_t msg[16], longer[129];
	int found = 0;

	CHECK_OK(st_key_generate(ST_KEY_RSA, 1024, &k));
	if (k == NULL)
		return;
	CHECK_INT(st_key_bits(k), 1024);
	/* About one signature in 256 starts with a zero byte. */
	for (uint64_t i = 0; i < 8192 && !found; i++) {
		st_test_fill(msg, sizeof(msg), i);
		CHECK_OK(do_sign(k, ST_SIG_RSA_SHA256, msg, sizeof(msg), &s));
		CHECK(blob_inner(&s, "rsa-sha2-256", &p, &plen) == 0);
		CHECK_INT(plen, 128);
		found = p[0] == 0;
	}
	CHECK(found);
	make_blob(&t, "rsa-sha2-256", p + 1, plen - 1);
	CHECK_OK(st_sig_verify(k, ST_SIG_RSA_SHA256, t.mem, t.len, msg, sizeof(msg)));
	make_blob(&t, "rsa-sha2-256", p + 2, plen - 2);
	CHECK_ERR(st_sig_verify(k, ST_SIG_RSA_SHA256, t.mem, t.len, msg, sizeof(msg)),
		  p[1] == 0 ? ST_OK : ST_ERR_SIG_INVALID);
	/* One byte longer than the modulus, even if only by a leading zero. */
	longer[0] = 0;
	memcpy(longer + 1, p, plen);
	make_blob(&t, "rsa-sha2-256", longer, plen + 1);
	CHECK_ERR(st_sig_verify(k, ST_SIG_RSA_SHA256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	make_blob(&t, "rsa-sha2-256", NULL, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_RSA_SHA256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	st_key_free(k);
}

/* The P-256 group order n. */
static const char *p256_n = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

/* An ECDSA blob from magnitudes of r and s (as mpints) plus optional trailing bytes. */
static void make_ecdsa_blob(struct sigbuf *out, const uint8_t *r, size_t rl, const uint8_t *s,
			    size_t sl, size_t trailing)
{
	uint8_t inner[128];
	struct st_buf b;

	st_buf_wrap(&b, inner, sizeof(inner));
	CHECK_OK(st_buf_put_mpint(&b, r, rl));
	CHECK_OK(st_buf_put_mpint(&b, s, sl));
	for (size_t i = 0; i < trailing; i++)
		CHECK_OK(st_buf_put_u8(&b, 0));
	make_blob(out, "ecdsa-sha2-nistp256", inner, b.len);
}

static void test_ecdsa_scalar_ranges(void)
{
	struct st_key *k = NULL;
	struct sigbuf s, t;
	const uint8_t *p;
	size_t plen;
	struct st_buf in;
	const uint8_t *rm, *sm;
	size_t rl, sl;
	uint8_t r[33], sv[33], n[32], nplus[32], zero[1] = { 0 };
	uint8_t msg[] = "data";

	CHECK_OK(st_key_generate(ST_KEY_ECDSA_P256, 0, &k));
	if (k == NULL)
		return;
	CHECK_OK(do_sign(k, ST_SIG_ECDSA_P256, msg, sizeof(msg), &s));
	CHECK(blob_inner(&s, "ecdsa-sha2-nistp256", &p, &plen) == 0);
	st_buf_from(&in, p, plen);
	CHECK_OK(st_buf_get_mpint(&in, &rm, &rl));
	CHECK_OK(st_buf_get_mpint(&in, &sm, &sl));
	CHECK_OK(st_buf_end(&in));
	memcpy(r, rm, rl);
	memcpy(sv, sm, sl);
	st_test_unhex(p256_n, n, sizeof(n));
	memcpy(nplus, n, sizeof(n));
	nplus[31]++;

	/* the original, rebuilt, verifies */
	make_ecdsa_blob(&t, r, rl, sv, sl, 0);
	CHECK_OK(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)));
	/* r or s = 0 */
	make_ecdsa_blob(&t, zero, 0, sv, sl, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	make_ecdsa_blob(&t, r, rl, zero, 0, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	/* r or s = n, n + 1 */
	make_ecdsa_blob(&t, n, 32, sv, sl, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	make_ecdsa_blob(&t, r, rl, n, 32, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	make_ecdsa_blob(&t, nplus, 32, sv, sl, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	make_ecdsa_blob(&t, r, rl, nplus, 32, 0);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_SIG_INVALID);
	/* 2^256 + r (a 33-byte magnitude) is out of range, not reduced */
	{
		uint8_t big[33] = { 1 };
		memcpy(big + sizeof(big) - rl, r, rl);
		make_ecdsa_blob(&t, big, sizeof(big), sv, sl, 0);
		CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
			  ST_ERR_SIG_INVALID);
	}
	/* n - 1 is in range: the range check passes it and verification rejects it */
	{
		uint8_t nm1[32];
		memcpy(nm1, n, 32);
		nm1[31]--;
		make_ecdsa_blob(&t, r, rl, nm1, 32, 0);
		CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
			  ST_ERR_SIG_INVALID);
	}
	/* trailing bytes inside the inner string */
	make_ecdsa_blob(&t, r, rl, sv, sl, 1);
	CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
		  ST_ERR_FORMAT);
	/* a non-minimal mpint (a zero byte more than the sign needs) */
	{
		uint8_t inner[80];
		size_t zeros = (r[0] & 0x80) ? 2 : 1;
		struct st_buf b;
		st_buf_wrap(&b, inner, sizeof(inner));
		CHECK_OK(st_buf_put_u32(&b, (uint32_t)(rl + zeros)));
		for (size_t i = 0; i < zeros; i++)
			CHECK_OK(st_buf_put_u8(&b, 0));
		CHECK_OK(st_buf_put_bytes(&b, r, rl));
		CHECK_OK(st_buf_put_mpint(&b, sv, sl));
		make_blob(&t, "ecdsa-sha2-nistp256", inner, b.len);
		CHECK_ERR(st_sig_verify(k, ST_SIG_ECDSA_P256, t.mem, t.len, msg, sizeof(msg)),
			  ST_ERR_FORMAT);
	}
	st_key_free(k);
}

int main(void)
{
	RUN(test_ed25519_rfc8032);
	RUN(test_alg_names);
	RUN(test_roundtrip_all_types);
	RUN(test_rsa_alg_confusion);
	RUN(test_rsa_signature_length);
	RUN(test_ecdsa_scalar_ranges);
	return st_test_done("sig");
}
