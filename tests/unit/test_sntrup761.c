/*
 * Unit tests for Streamlined NTRU Prime sntrup761 (crypto/sntrup761.c).
 *
 * Known answers: the NIST submission's KAT file (kat_kem.rsp, made by NIST's
 * PQCgenKAT_kem with the AES-256 CTR DRBG of NIST's rng.c) is reproduced
 * here: the DRBG below (written for this test, AES-256 via OpenSSL EVP) is
 * seeded with the bytes 0..47, gives the 100 case seeds, and each case
 * re-seeds it for keypair and enc. The text of the file is hashed and
 * compared with the SHA-256 values in tests/vectors/sntrup761_kat.txt (see
 * its header for their sources): case 0 alone, and all 100 cases (the file
 * less its "# sntrup761" header and its final blank line, as liboqs hashes
 * it); the shared secrets of cases 0..9 are there too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/secmem.h"
#include "crypto/sntrup761.h"
#include "tests/unit/test.h"

/* Valgrind's client requests for the constant-time check; no-ops outside valgrind. */
#if defined(__has_include) && !defined(__SANITIZE_ADDRESS__)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK 1
#endif
#endif

#define PK_LEN ST_SNTRUP761_PUBLIC_LEN
#define SK_LEN ST_SNTRUP761_SECRET_LEN
#define CT_LEN ST_SNTRUP761_CIPHERTEXT_LEN
#define SS_LEN ST_SNTRUP761_SHARED_LEN

#define VECTORS "tests/vectors/sntrup761_kat.txt"

/* --- NIST's AES-256 CTR DRBG (rng.c of the submission packages), no derivation function --- */

struct nist_drbg {
	uint8_t key[32], v[16];
	EVP_CIPHER_CTX *aes;
	int failed;
};

static void drbg_block(struct nist_drbg *d, uint8_t out[16])
{
	int outl = 0;

	/* V as a 128-bit big-endian counter, incremented before each block */
	for (int j = 15; j >= 0; j--) {
		if (++d->v[j] != 0)
			break;
	}
	if (EVP_EncryptInit_ex(d->aes, NULL, NULL, d->key, NULL) != 1 ||
	    EVP_EncryptUpdate(d->aes, out, &outl, d->v, 16) != 1 || outl != 16)
		d->failed = 1;
}

static void drbg_update(struct nist_drbg *d, const uint8_t *provided)
{
	uint8_t t[48];

	for (int i = 0; i < 3; i++)
		drbg_block(d, t + 16 * i);
	if (provided != NULL) {
		for (int i = 0; i < 48; i++)
			t[i] ^= provided[i];
	}
	memcpy(d->key, t, 32);
	memcpy(d->v, t + 32, 16);
}

static void drbg_init(struct nist_drbg *d, const uint8_t seed[48])
{
	memset(d->key, 0, sizeof(d->key));
	memset(d->v, 0, sizeof(d->v));
	drbg_update(d, seed);
}

/* randombytes(): whole blocks, the last one cut, then an update without data. */
static int drbg_bytes(void *ctx, uint8_t *out, size_t len)
{
	struct nist_drbg *d = ctx;
	uint8_t b[16];

	while (len > 0) {
		size_t n = len < 16 ? len : 16;

		drbg_block(d, b);
		memcpy(out, b, n);
		out += n;
		len -= n;
	}
	drbg_update(d, NULL);
	return d->failed ? -1 : 0;
}

static int drbg_new(struct nist_drbg *d)
{
	memset(d, 0, sizeof(*d));
	if ((d->aes = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(d->aes, EVP_aes_256_ecb(), NULL, d->key, NULL) != 1)
		return -1;
	EVP_CIPHER_CTX_set_padding(d->aes, 0);
	return 0;
}

/* --- the KAT file text, hashed as it is produced --- */

static void md_str(EVP_MD_CTX *md, const char *s)
{
	EVP_DigestUpdate(md, s, strlen(s));
}

/* "label = HEX\n" with upper-case hex, as NIST's fprintBstr. */
static void md_hex(EVP_MD_CTX *md, const char *label, const uint8_t *a, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";
	char buf[2 * 2048];

	md_str(md, label);
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = hx[a[i] >> 4];
		buf[2 * i + 1] = hx[a[i] & 15];
	}
	EVP_DigestUpdate(md, buf, 2 * n);
	md_str(md, "\n");
}

/*
 * Reads "name HEX" from the vectors file into out; returns the byte count,
 * or 0 (a failure of the test unless optional).
 */
static size_t vector(const char *name, uint8_t *out, size_t outsz, int optional)
{
	char line[512], want[64];
	size_t n = 0;
	FILE *f = fopen(VECTORS, "r");

	if (f == NULL) {
		st_test_fail(__FILE__, __LINE__, "cannot open %s", VECTORS);
		return 0;
	}
	snprintf(want, sizeof(want), "%s ", name);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, strlen(want)) == 0) {
			char *hex = line + strlen(want);

			hex[strcspn(hex, " \r\n")] = '\0';
			n = st_test_unhex(hex, out, outsz);
			break;
		}
	}
	fclose(f);
	if (n == 0 && !optional)
		st_test_fail(__FILE__, __LINE__, "%s: no %s", VECTORS, name);
	return n;
}

#define KAT_CASES 100

static void test_nist_kat(void)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], ct[CT_LEN];
	uint8_t seeds[KAT_CASES][48], entropy[48], ss[SS_LEN], ss2[SS_LEN];
	uint8_t h_one[32], h_all[32], want_one[32], want_all[32], want_ss[SS_LEN];
	struct nist_drbg d;
	EVP_MD_CTX *one = EVP_MD_CTX_new(), *all = EVP_MD_CTX_new();
	char name[32], line[64];

	CHECK(one != NULL && all != NULL);
	CHECK(drbg_new(&d) == 0);
	if (st_test_failures() > 0)
		goto out;
	EVP_DigestInit_ex(one, EVP_sha256(), NULL);
	EVP_DigestInit_ex(all, EVP_sha256(), NULL);

	for (int i = 0; i < 48; i++)
		entropy[i] = (uint8_t)i;
	drbg_init(&d, entropy);
	for (int i = 0; i < KAT_CASES; i++)
		CHECK(drbg_bytes(&d, seeds[i], 48) == 0);

	for (int i = 0; i < KAT_CASES; i++) {
		drbg_init(&d, seeds[i]);
		CHECK_OK(st_sntrup761_keypair_rng(pk, sk, drbg_bytes, &d));
		CHECK_OK(st_sntrup761_enc_rng(ct, ss, pk, drbg_bytes, &d));
		CHECK_OK(st_sntrup761_dec(ss2, ct, sk));
		CHECK_MEM(ss, ss2, SS_LEN);

		if (i > 0)
			md_str(all, "\n");
		snprintf(line, sizeof(line), "count = %d\n", i);
		md_str(all, line);
		md_hex(all, "seed = ", seeds[i], 48);
		md_hex(all, "pk = ", pk, PK_LEN);
		md_hex(all, "sk = ", sk, SK_LEN);
		md_hex(all, "ct = ", ct, CT_LEN);
		md_hex(all, "ss = ", ss, SS_LEN);
		if (i == 0) {
			md_str(one, line);
			md_hex(one, "seed = ", seeds[i], 48);
			md_hex(one, "pk = ", pk, PK_LEN);
			md_hex(one, "sk = ", sk, SK_LEN);
			md_hex(one, "ct = ", ct, CT_LEN);
			md_hex(one, "ss = ", ss, SS_LEN);
		}
		/* the shared secrets of the first cases, for a quick diagnosis */
		if (i < 10) {
			snprintf(name, sizeof(name), "ss%d", i);
			if (vector(name, want_ss, sizeof(want_ss), 0) == SS_LEN)
				CHECK_MEM(ss, want_ss, SS_LEN);
		}
		if (st_test_failures() > 0)
			break;
	}
	EVP_DigestFinal_ex(one, h_one, NULL);
	EVP_DigestFinal_ex(all, h_all, NULL);
	CHECK(d.failed == 0);
	if (vector("single-sha256", want_one, sizeof(want_one), 0) == 32)
		CHECK_MEM(h_one, want_one, 32);
	if (vector("all-sha256", want_all, sizeof(want_all), 0) == 32)
		CHECK_MEM(h_all, want_all, 32);
out:
	EVP_MD_CTX_free(one);
	EVP_MD_CTX_free(all);
	EVP_CIPHER_CTX_free(d.aes);
	st_wipe(sk, sizeof(sk));
}

/* Random keys from RAND_bytes: both sides agree, and every key and ciphertext differs. */
static void test_round_trips(void)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], ct[CT_LEN], ct_prev[CT_LEN];
	uint8_t ss[SS_LEN], ss2[SS_LEN], ss_prev[SS_LEN];

	memset(ct_prev, 0, sizeof(ct_prev));
	memset(ss_prev, 0, sizeof(ss_prev));
	for (int i = 0; i < 10; i++) {
		CHECK_OK(st_sntrup761_keypair(pk, sk));
		CHECK_MEM(sk + 2 * 191, pk, PK_LEN); /* sk carries pk */
		for (int j = 0; j < 3; j++) {
			CHECK_OK(st_sntrup761_enc(ct, ss, pk));
			CHECK_OK(st_sntrup761_dec(ss2, ct, sk));
			CHECK_MEM(ss, ss2, SS_LEN);
			CHECK(memcmp(ct, ct_prev, CT_LEN) != 0);
			CHECK(memcmp(ss, ss_prev, SS_LEN) != 0);
			memcpy(ct_prev, ct, CT_LEN);
			memcpy(ss_prev, ss, SS_LEN);
		}
	}
	st_wipe(sk, sizeof(sk));
}

/* The rejection key computed here from the specification: Hash0(Hash3(rho), ct). */
static void rejection_key(uint8_t out[SS_LEN], const uint8_t *sk, const uint8_t *ct)
{
	uint8_t b, h3[64], md[64];
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	b = 3;
	EVP_DigestInit_ex(m, EVP_sha512(), NULL);
	EVP_DigestUpdate(m, &b, 1);
	EVP_DigestUpdate(m, sk + 2 * 191 + PK_LEN, 191);
	EVP_DigestFinal_ex(m, h3, NULL);
	b = 0;
	EVP_DigestInit_ex(m, EVP_sha512(), NULL);
	EVP_DigestUpdate(m, &b, 1);
	EVP_DigestUpdate(m, h3, 32);
	EVP_DigestUpdate(m, ct, CT_LEN);
	EVP_DigestFinal_ex(m, md, NULL);
	memcpy(out, md, SS_LEN);
	EVP_MD_CTX_free(m);
}

/*
 * A tampered ciphertext decapsulates without error to the implicit-rejection
 * key, the same each time, and not the sender's key.
 */
static void test_implicit_rejection(void)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], ct[CT_LEN], bad[CT_LEN];
	static const size_t where[] = { 0, 1, 500, 1006, 1007, 1020, CT_LEN - 1 };
	uint8_t ss[SS_LEN], got[SS_LEN], again[SS_LEN], want[SS_LEN];

	CHECK_OK(st_sntrup761_keypair(pk, sk));
	CHECK_OK(st_sntrup761_enc(ct, ss, pk));
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(bad, ct, CT_LEN);
			bad[where[i]] ^= (uint8_t)(1u << bit);
			CHECK_OK(st_sntrup761_dec(got, bad, sk));
			CHECK(memcmp(got, ss, SS_LEN) != 0);
			CHECK_OK(st_sntrup761_dec(again, bad, sk));
			CHECK_MEM(got, again, SS_LEN);
			rejection_key(want, sk, bad);
			CHECK_MEM(got, want, SS_LEN);
		}
	}
	/* all-zero and all-ones ciphertexts too */
	memset(bad, 0, CT_LEN);
	CHECK_OK(st_sntrup761_dec(got, bad, sk));
	rejection_key(want, sk, bad);
	CHECK_MEM(got, want, SS_LEN);
	memset(bad, 0xff, CT_LEN);
	CHECK_OK(st_sntrup761_dec(got, bad, sk));
	rejection_key(want, sk, bad);
	CHECK_MEM(got, want, SS_LEN);
	/* the untampered one still gives the sender's key */
	CHECK_OK(st_sntrup761_dec(got, ct, sk));
	CHECK_MEM(got, ss, SS_LEN);
	st_wipe(sk, sizeof(sk));
}

/* Another key pair's ciphertext is rejected implicitly as well. */
static void test_wrong_key(void)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], pk2[PK_LEN], sk2[SK_LEN], ct[CT_LEN];
	uint8_t ss[SS_LEN], got[SS_LEN], want[SS_LEN];

	CHECK_OK(st_sntrup761_keypair(pk, sk));
	CHECK_OK(st_sntrup761_keypair(pk2, sk2));
	CHECK_OK(st_sntrup761_enc(ct, ss, pk));
	CHECK_OK(st_sntrup761_dec(got, ct, sk2));
	CHECK(memcmp(got, ss, SS_LEN) != 0);
	rejection_key(want, sk2, ct);
	CHECK_MEM(got, want, SS_LEN);
	st_wipe(sk, sizeof(sk));
	st_wipe(sk2, sizeof(sk2));
}

static void test_lengths(void)
{
	static uint8_t pk[PK_LEN + 1], sk[SK_LEN], ct[CT_LEN + 1];
	uint8_t ss[SS_LEN], ss2[SS_LEN], zero[SS_LEN];

	memset(zero, 0, sizeof(zero));
	CHECK_OK(st_sntrup761_keypair(pk, sk));
	memset(ss, 0xaa, SS_LEN);
	CHECK_ERR(st_sntrup761_enc_checked(ct, sizeof(ct), ss, pk, PK_LEN - 1),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_MEM(ss, zero, SS_LEN);
	CHECK_ERR(st_sntrup761_enc_checked(ct, sizeof(ct), ss, pk, PK_LEN + 1),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_sntrup761_enc_checked(ct, sizeof(ct), ss, pk, 0), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_sntrup761_enc_checked(ct, CT_LEN - 1, ss, pk, PK_LEN), ST_ERR_NO_SPACE);
	CHECK_OK(st_sntrup761_enc_checked(ct, CT_LEN, ss, pk, PK_LEN));

	memset(ss2, 0xaa, SS_LEN);
	CHECK_ERR(st_sntrup761_dec_checked(ss2, ct, CT_LEN - 1, sk), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_MEM(ss2, zero, SS_LEN);
	CHECK_ERR(st_sntrup761_dec_checked(ss2, ct, CT_LEN + 1, sk), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_sntrup761_dec_checked(ss2, ct, 0, sk), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_OK(st_sntrup761_dec_checked(ss2, ct, CT_LEN, sk));
	CHECK_MEM(ss, ss2, SS_LEN);
	st_wipe(sk, sizeof(sk));
}

/*
 * Any 1158 bytes are a public key (Decode reduces each value mod q): enc
 * works on all-zero, all-ones and random strings, and the 1039 bytes it
 * writes are all that it writes.
 */
static void test_any_public_key(void)
{
	static uint8_t pk[PK_LEN], ct[CT_LEN + 16], guard[16];
	uint8_t ss[SS_LEN];

	memset(guard, 0xc3, sizeof(guard));
	for (int k = 0; k < 4; k++) {
		if (k == 0)
			memset(pk, 0, PK_LEN);
		else if (k == 1)
			memset(pk, 0xff, PK_LEN);
		else
			st_test_fill(pk, PK_LEN, 77 + (uint64_t)k);
		memcpy(ct + CT_LEN, guard, sizeof(guard));
		CHECK_OK(st_sntrup761_enc(ct, ss, pk));
		CHECK_MEM(ct + CT_LEN, guard, sizeof(guard));
	}
}

/* A source of test bytes that fails after `left` requests. */
struct failing {
	int left;
	uint64_t seed;
};

static int failing_rng(void *ctx, uint8_t *out, size_t len)
{
	struct failing *f = ctx;

	if (f->left <= 0)
		return -1;
	f->left--;
	st_test_fill(out, len, ++f->seed);
	return 0;
}

/*
 * A failing randomness source is an error, and the secret outputs are
 * zeroed: failing for g (request 1), for f (2, after an invertible g) and
 * for rho (3); in enc for r.
 */
static void test_rng_failure(void)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], ct[CT_LEN], zsk[SK_LEN];
	uint8_t ss[SS_LEN], zero[SS_LEN];
	struct failing f;

	memset(zero, 0, sizeof(zero));
	memset(zsk, 0, sizeof(zsk));
	for (int n = 0; n < 3; n++) {
		f.left = n;
		f.seed = 1000;
		memset(sk, 0xaa, SK_LEN);
		CHECK_ERR(st_sntrup761_keypair_rng(pk, sk, failing_rng, &f), ST_ERR_CRYPTO);
		CHECK_MEM(sk, zsk, SK_LEN);
	}
	/* the same source with enough requests: the key pair works, and is reproducible */
	f.left = 3;
	f.seed = 1000;
	CHECK_OK(st_sntrup761_keypair_rng(pk, sk, failing_rng, &f));
	f.left = 0;
	memset(ss, 0xaa, SS_LEN);
	CHECK_ERR(st_sntrup761_enc_rng(ct, ss, pk, failing_rng, &f), ST_ERR_CRYPTO);
	CHECK_MEM(ss, zero, SS_LEN);
	st_wipe(sk, sizeof(sk));
}

/* Reads exactly n bytes from DIR/name.i; 0 on success. */
static int read_exact(const char *dir, const char *name, int i, uint8_t *out, size_t n)
{
	char path[512];
	FILE *f;
	size_t got;
	int extra;

	snprintf(path, sizeof(path), "%s/%s.%d", dir, name, i);
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	got = fread(out, 1, n, f);
	extra = fgetc(f);
	fclose(f);
	return got == n && extra == EOF ? 0 : -1;
}

static void write_to(const char *dir, const char *name, int i, const uint8_t *data, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.%d", dir, name, i);
	st_test_write_file(path, data, n);
}

#define XC_N 4
#define XC_SCRIPT "tests/crosscheck/sntrup761_crosscheck.mjs"
#define XC_MODULE "tests/crosscheck/node_modules/@oqs/liboqs-js"

/*
 * Interop with liboqs (npm @oqs/liboqs-js, WebAssembly) through
 * tests/crosscheck/sntrup761_crosscheck.mjs: it encapsulates to our keys and
 * we decapsulate; we encapsulate to its keys and it decapsulates; a tampered
 * ciphertext gives the same implicit-rejection key on both sides. Skipped
 * (and said so) without node or the package (scripts/install-deps.sh).
 */
static void test_npm_liboqs(void)
{
	static uint8_t our_pk[XC_N][PK_LEN], our_sk[XC_N][SK_LEN], their_pk[PK_LEN],
		their_sk[SK_LEN], ct[CT_LEN];
	uint8_t ss[XC_N][SS_LEN], bad_ss[XC_N][SS_LEN], got[SS_LEN], want[SS_LEN];
	char dir[] = "/tmp/st_sntrup_xc_XXXXXX";
	FILE *probe;

	if ((probe = fopen(XC_MODULE "/package.json", "r")) == NULL ||
	    st_test_sh("node --version >/dev/null 2>&1") != 0) {
		if (probe != NULL)
			fclose(probe);
		fprintf(stderr, "  (skipped: no node or no %s)\n", XC_MODULE);
		return;
	}
	fclose(probe);
	CHECK(mkdtemp(dir) != NULL);
	if (st_test_failures() > 0)
		return;

	for (int i = 0; i < XC_N; i++) {
		CHECK_OK(st_sntrup761_keypair(our_pk[i], our_sk[i]));
		write_to(dir, "our_pk", i, our_pk[i], PK_LEN);
	}
	CHECK_INT(st_test_sh("node " XC_SCRIPT " gen %s %d", dir, XC_N), 0);
	for (int i = 0; i < XC_N && st_test_failures() == 0; i++) {
		/* theirs to ours */
		CHECK(read_exact(dir, "their_ct", i, ct, CT_LEN) == 0);
		CHECK(read_exact(dir, "their_ss", i, want, SS_LEN) == 0);
		CHECK_OK(st_sntrup761_dec(got, ct, our_sk[i]));
		CHECK_MEM(got, want, SS_LEN);
		/* ours to theirs, and a tampered copy */
		CHECK(read_exact(dir, "their_pk", i, their_pk, PK_LEN) == 0);
		CHECK(read_exact(dir, "their_sk", i, their_sk, SK_LEN) == 0);
		CHECK_MEM(their_sk + 2 * 191, their_pk, PK_LEN);
		CHECK_OK(st_sntrup761_enc(ct, ss[i], their_pk));
		write_to(dir, "our_ct", i, ct, CT_LEN);
		ct[(size_t)i * 331 % CT_LEN] ^= 0x10;
		write_to(dir, "bad_ct", i, ct, CT_LEN);
		CHECK_OK(st_sntrup761_dec(bad_ss[i], ct, their_sk));
		CHECK(memcmp(bad_ss[i], ss[i], SS_LEN) != 0);
	}
	if (st_test_failures() == 0)
		CHECK_INT(st_test_sh("node " XC_SCRIPT " dec %s %d", dir, XC_N), 0);
	for (int i = 0; i < XC_N && st_test_failures() == 0; i++) {
		CHECK(read_exact(dir, "their_ss_dec", i, got, SS_LEN) == 0);
		CHECK_MEM(got, ss[i], SS_LEN);
		CHECK(read_exact(dir, "their_ss_bad", i, got, SS_LEN) == 0);
		CHECK_MEM(got, bad_ss[i], SS_LEN);
	}
	st_test_sh("rm -rf %s", dir);
	st_wipe(our_sk, sizeof(our_sk));
	st_wipe(their_sk, sizeof(their_sk));
}

#ifdef HAVE_MEMCHECK
/* RAND_bytes, its output then marked undefined: a secret for memcheck. */
static int secret_rng(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	if (RAND_bytes(out, (int)len) != 1)
		return -1;
	VALGRIND_MAKE_MEM_UNDEFINED(out, len);
	return 0;
}

/*
 * Under valgrind (argv[1] "--ct-keypair" or "--ct-encdec"): the secrets are
 * marked undefined, so memcheck reports every branch and every memory
 * index that depends on them. Outputs that are public (pk, ct, the return
 * codes) are marked defined again before they are looked at.
 */
static int ct_mode(const char *mode)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], ct[CT_LEN];
	uint8_t ss[SS_LEN], ss2[SS_LEN];
	int r;

	if (strcmp(mode, "--ct-keypair") == 0) {
		r = st_sntrup761_keypair_rng(pk, sk, secret_rng, NULL);
		VALGRIND_MAKE_MEM_DEFINED(&r, sizeof(r));
		return r == ST_OK ? 0 : 1;
	}
	if (st_sntrup761_keypair(pk, sk) != ST_OK)
		return 1;
	r = st_sntrup761_enc_rng(ct, ss, pk, secret_rng, NULL);
	VALGRIND_MAKE_MEM_DEFINED(&r, sizeof(r));
	VALGRIND_MAKE_MEM_DEFINED(ct, sizeof(ct));
	if (r != ST_OK)
		return 1;
	VALGRIND_MAKE_MEM_UNDEFINED(sk, sizeof(sk));
	r = st_sntrup761_dec(ss2, ct, sk);
	ct[100] ^= 1;
	r |= st_sntrup761_dec(ss2, ct, sk);
	VALGRIND_MAKE_MEM_DEFINED(&r, sizeof(r));
	return r == ST_OK ? 0 : 1;
}
#endif

/*
 * Constant time, checked by memcheck (the ctgrind method): enc with a secret
 * r and dec (good and tampered ciphertexts) with a secret sk make no
 * report at all; keypair makes exactly one, the branch of its rejection
 * sampling (is g invertible?), which only tells that a discarded g was not.
 * Skipped (and said so) without valgrind or in an ASan build.
 */
static void test_constant_time(void)
{
#ifdef HAVE_MEMCHECK
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || st_test_sh("valgrind --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "  (skipped: no valgrind)\n");
		return;
	}
	self[n] = '\0';
	CHECK_INT(st_test_sh("valgrind -q --error-exitcode=3 %s --ct-encdec", self), 0);
	CHECK_INT(st_test_sh("out=$(valgrind -q %s --ct-keypair 2>&1) || exit 2; "
			     "n=$(printf '%%s\\n' \"$out\" | grep -c 'uninitialised value'); "
			     "[ \"$n\" -eq 1 ] || { printf '%%s\\n' \"$out\"; exit 3; }; "
			     "printf '%%s\\n' \"$out\" | grep -A1 'uninitialised value' | "
			     "grep -q 'keypair'",
			     self),
		  0);
#else
	fprintf(stderr, "  (skipped: no valgrind/memcheck.h, or an ASan build)\n");
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static uint64_t cycles(void)
{
	return __rdtsc();
}
#define CYCLE_UNIT "cycles (TSC)"
#else
static uint64_t cycles(void)
{
	return now_ns();
}
#define CYCLE_UNIT "ns"
#endif

/* Not a check: the cost of each operation, the median of a few runs, on stderr. */
static void test_cost(void)
{
	static uint8_t pk[PK_LEN], sk[SK_LEN], ct[CT_LEN];
	uint8_t ss[SS_LEN];
	enum { RUNS = 7 };
	uint64_t t[3][RUNS], t0;

	for (int i = 0; i < RUNS; i++) {
		t0 = cycles();
		CHECK_OK(st_sntrup761_keypair(pk, sk));
		t[0][i] = cycles() - t0;
		t0 = cycles();
		CHECK_OK(st_sntrup761_enc(ct, ss, pk));
		t[1][i] = cycles() - t0;
		t0 = cycles();
		CHECK_OK(st_sntrup761_dec(ss, ct, sk));
		t[2][i] = cycles() - t0;
	}
	for (int k = 0; k < 3; k++) {
		for (int i = 1; i < RUNS; i++) {
			for (int j = i; j > 0 && t[k][j - 1] > t[k][j]; j--) {
				uint64_t x = t[k][j];

				t[k][j] = t[k][j - 1];
				t[k][j - 1] = x;
			}
		}
	}
	fprintf(stderr, "sntrup761 median %s: keypair %llu, enc %llu, dec %llu\n", CYCLE_UNIT,
		(unsigned long long)t[0][RUNS / 2], (unsigned long long)t[1][RUNS / 2],
		(unsigned long long)t[2][RUNS / 2]);
	st_wipe(sk, sizeof(sk));
}

int main(int argc, char **argv)
{
	uint64_t t0;

#ifdef HAVE_MEMCHECK
	if (argc > 1)
		return ct_mode(argv[1]);
#else
	(void)argv;
	if (argc > 1)
		return 1;
#endif
	t0 = now_ns();
	RUN(test_nist_kat);
	fprintf(stderr, "sntrup761: 100 KAT cases in %.1f s\n", (double)(now_ns() - t0) / 1e9);
	RUN(test_round_trips);
	RUN(test_implicit_rejection);
	RUN(test_wrong_key);
	RUN(test_lengths);
	RUN(test_any_public_key);
	RUN(test_rng_failure);
	RUN(test_npm_liboqs);
	RUN(test_constant_time);
	RUN(test_cost);
	return st_test_done("test_sntrup761");
}
