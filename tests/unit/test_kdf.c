/* Unit tests for the hashes (crypto/hash.c) and the SSH KDF (crypto/kdf.c). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/buf.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "tests/unit/test.h"

static const enum st_hash_alg all_algs[] = { ST_HASH_SHA256, ST_HASH_SHA384, ST_HASH_SHA512 };

/* FIPS 180-2 appendix examples: "abc" and the empty message. */
static void test_hash_known_answers(void)
{
	static const struct {
		enum st_hash_alg alg;
		const char *abc;
		const char *empty;
	} kat[] = {
		{ ST_HASH_SHA256,
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ ST_HASH_SHA384,
		  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
		  "8086072ba1e7cc2358baeca134c825a7",
		  "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
		  "274edebfe76f65fbd51ad2f14898b95b" },
		{ ST_HASH_SHA512,
		  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
	};
	uint8_t want[ST_HASH_MAX_LEN], got[ST_HASH_MAX_LEN];

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		size_t n = st_test_unhex(kat[i].abc, want, sizeof(want));
		CHECK_INT(st_hash_len(kat[i].alg), n);
		CHECK_OK(st_hash(kat[i].alg, "abc", 3, got));
		CHECK_MEM(got, want, n);
		n = st_test_unhex(kat[i].empty, want, sizeof(want));
		CHECK_OK(st_hash(kat[i].alg, NULL, 0, got));
		CHECK_MEM(got, want, n);
	}
	CHECK(strcmp(st_hash_name(ST_HASH_SHA256), "sha256") == 0);
	CHECK(strcmp(st_hash_name(ST_HASH_SHA512), "sha512") == 0);
	CHECK(strcmp(st_hash_name((enum st_hash_alg)0), "unknown") == 0);
	CHECK_INT(st_hash_len((enum st_hash_alg)0), 0);
	CHECK_INT(st_hash_len((enum st_hash_alg)99), 0);
}

/* Feeding the input in pieces, and forking a prefix with copy, match the one-shot digest. */
static void test_hash_incremental(void)
{
	uint8_t data[1000], one[ST_HASH_MAX_LEN], inc[ST_HASH_MAX_LEN], fork[ST_HASH_MAX_LEN];

	st_test_fill(data, sizeof(data), 1);
	for (size_t a = 0; a < sizeof(all_algs) / sizeof(all_algs[0]); a++) {
		enum st_hash_alg alg = all_algs[a];
		size_t hl = st_hash_len(alg);
		struct st_hash_ctx c = { 0 }, d = { 0 };

		CHECK_OK(st_hash(alg, data, sizeof(data), one));
		CHECK_OK(st_hash_init(&c, alg));
		CHECK_OK(st_hash_update(&c, data, 1));
		CHECK_OK(st_hash_update(&c, NULL, 0));
		CHECK_OK(st_hash_update(&c, data + 1, 499));
		/* Fork at 500 bytes; both branches finish with the same tail. */
		CHECK_OK(st_hash_ctx_copy(&d, &c));
		CHECK_OK(st_hash_update(&c, data + 500, 500));
		CHECK_OK(st_hash_update(&d, data + 500, 500));
		CHECK_ERR(st_hash_final(&c, inc, hl - 1), ST_ERR_NO_SPACE);
		CHECK_OK(st_hash_final(&c, inc, sizeof(inc)));
		CHECK_OK(st_hash_final(&d, fork, hl));
		CHECK_MEM(inc, one, hl);
		CHECK_MEM(fork, one, hl);
		/* A finished context accepts nothing more until it is freed and re-initialised. */
		CHECK_ERR(st_hash_update(&c, data, 1), ST_ERR_STATE);
		CHECK_ERR(st_hash_final(&c, inc, sizeof(inc)), ST_ERR_STATE);
		CHECK_ERR(st_hash_ctx_copy(&d, &c), ST_ERR_INVALID_ARGUMENT); /* d still live */
		st_hash_ctx_free(&d);
		CHECK_ERR(st_hash_ctx_copy(&d, &c), ST_ERR_STATE); /* c finished */
		CHECK_ERR(st_hash_init(&c, alg), ST_ERR_INVALID_ARGUMENT);
		st_hash_ctx_free(&c);
		st_hash_ctx_free(&c); /* idempotent */
		CHECK_OK(st_hash_init(&c, alg));
		CHECK_OK(st_hash_update(&c, "abc", 3));
		CHECK_OK(st_hash_final(&c, inc, sizeof(inc)));
		CHECK_OK(st_hash(alg, "abc", 3, one));
		CHECK_MEM(inc, one, hl);
		st_hash_ctx_free(&c);
		st_hash_ctx_free(&d);
	}
}

static void test_hash_bad_args(void)
{
	struct st_hash_ctx c = { 0 };
	uint8_t out[ST_HASH_MAX_LEN];

	CHECK_ERR(st_hash((enum st_hash_alg)0, "a", 1, out), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_hash((enum st_hash_alg)42, "a", 1, out), ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_hash(ST_HASH_SHA256, NULL, 1, out), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_hash(ST_HASH_SHA256, "a", 1, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_hash_init(NULL, ST_HASH_SHA256), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_hash_init(&c, (enum st_hash_alg)7), ST_ERR_ALG_UNSUPPORTED);
	CHECK(c.impl == NULL);
	CHECK_ERR(st_hash_update(&c, "a", 1), ST_ERR_STATE);
	CHECK_ERR(st_hash_final(&c, out, sizeof(out)), ST_ERR_STATE);
	CHECK_OK(st_hash_init(&c, ST_HASH_SHA384));
	CHECK_ERR(st_hash_update(&c, NULL, 3), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_hash_final(&c, NULL, 64), ST_ERR_INVALID_ARGUMENT);
	st_hash_ctx_free(&c);
	st_hash_ctx_free(NULL);
}

/* --- KDF --- */

struct cavp_kdf {
	enum st_hash_alg alg;
	const char *k, *h, *sid;
	char letter;
	const char *out;
};

/*
 * NIST CAVS 14.1 SSH KDF vectors (SP 800-135; the same set OpenSSL's SSHKDF
 * tests use). K is given mpint-encoded; the outputs fit one hash block.
 */
static const struct cavp_kdf cavp[] = {
	{ ST_HASH_SHA256,
	  "0000008100b3462ee942f026de0922ab88b6ebf5ee2c968a4e12cbf374593f3542c6eb619ea1ec29b958"
	  "c65a83305c37008de3b691ec020cc989e6c5393dae36bbb3bf0d1a29ed0bab6d23f60e63e277119b7a4c"
	  "0a5fa96d9c043a5ace58034052ffb71b8bf0eaea8a6bc9a9834c512d7470122c71908a44ef7f3227b512"
	  "f6971c82436e96",
	  "3d5d7f742b08976755e2eb8457f1d9401d918bbf7e201fe0742f00ae799082df",
	  "50bcad2970e07c3ad3f14db05d451d77304fe70927ba26815fcaf1f3a723af91", 'A',
	  "1f9e7ad5592ac73d" },
	{ ST_HASH_SHA256,
	  "0000008100b3462ee942f026de0922ab88b6ebf5ee2c968a4e12cbf374593f3542c6eb619ea1ec29b958"
	  "c65a83305c37008de3b691ec020cc989e6c5393dae36bbb3bf0d1a29ed0bab6d23f60e63e277119b7a4c"
	  "0a5fa96d9c043a5ace58034052ffb71b8bf0eaea8a6bc9a9834c512d7470122c71908a44ef7f3227b512"
	  "f6971c82436e96",
	  "3d5d7f742b08976755e2eb8457f1d9401d918bbf7e201fe0742f00ae799082df",
	  "50bcad2970e07c3ad3f14db05d451d77304fe70927ba26815fcaf1f3a723af91", 'C',
	  "88eadd5802e1a748284684438eb1b1bdc9b20ea30c59950d" },
	{ ST_HASH_SHA256,
	  "0000008100b3462ee942f026de0922ab88b6ebf5ee2c968a4e12cbf374593f3542c6eb619ea1ec29b958"
	  "c65a83305c37008de3b691ec020cc989e6c5393dae36bbb3bf0d1a29ed0bab6d23f60e63e277119b7a4c"
	  "0a5fa96d9c043a5ace58034052ffb71b8bf0eaea8a6bc9a9834c512d7470122c71908a44ef7f3227b512"
	  "f6971c82436e96",
	  "3d5d7f742b08976755e2eb8457f1d9401d918bbf7e201fe0742f00ae799082df",
	  "50bcad2970e07c3ad3f14db05d451d77304fe70927ba26815fcaf1f3a723af91", 'E',
	  "090d2f273a690ed1d67dd9919c34385b18a661f8657b84bef6832f2396771979" },
	{ ST_HASH_SHA256,
	  "0000008100b3462ee942f026de0922ab88b6ebf5ee2c968a4e12cbf374593f3542c6eb619ea1ec29b958"
	  "c65a83305c37008de3b691ec020cc989e6c5393dae36bbb3bf0d1a29ed0bab6d23f60e63e277119b7a4c"
	  "0a5fa96d9c043a5ace58034052ffb71b8bf0eaea8a6bc9a9834c512d7470122c71908a44ef7f3227b512"
	  "f6971c82436e96",
	  "3d5d7f742b08976755e2eb8457f1d9401d918bbf7e201fe0742f00ae799082df",
	  "50bcad2970e07c3ad3f14db05d451d77304fe70927ba26815fcaf1f3a723af91", 'F',
	  "1f3082fa5ac8ec565595c4c5b8a7ddbba88ed4936fca913bba6a8715dc856f30" },
	/* 2048-bit K, H == session id (first exchange). */
	{ ST_HASH_SHA256,
	  "000001006ac382eaaca093e125e25c24bebc84640c11987507344b5c739ceb84a9e0b222b9a8b51c839e"
	  "5ebe49cfadbfb39599764ed522099dc912751950dc7dc97fbdc06328b68f22781fd315af568009a5509e"
	  "5b87a11bf527c056daffd82ab6cbc25cca37143459e7bc63bcde52757adeb7df01cf12173f1fef8102ec"
	  "5ab142c213dd9d30696278a8d8bc32dde9592d28c078c6d92b947d825acaab6494846a49de24b9623f48"
	  "89e8adc38e8c669effef176040ad945e90a7d3eec15efeee78ae71043c96511103a16ba7caf0acd0642e"
	  "fdbe809934faa1a5f1bd11043649b25ccd1fee2e38815d4d5f5fc6b4102969f21c22ae1b0e7d3603a556"
	  "a13262ff628de222",
	  "7b7001185e256d4493445f39a55fb905e6321f4b5dd8bbf3100d51ba0bda3d2d",
	  "7b7001185e256d4493445f39a55fb905e6321f4b5dd8bbf3100d51ba0bda3d2d", 'D',
	  "7e9d79032090d99f98b015634dd9f462" },
	{ ST_HASH_SHA512,
	  "0000008045cafef6acb29ea351ad025a32cb0fb88fe52f138ac3cd7718140c883cffbc10778c2e6c573b"
	  "dbfaf32eceaa2fc1e106170dadcdf1cb0e1653f2361c76f5153262295b16371daf9ae2015dfb407f4920"
	  "240eb10293c48971d2086723507d2eb7e1481f2b737df223628ee602a49bb7f1ac52068f5c1a24b44578"
	  "6e35042fc6c0",
	  "b1ce6e766a7340f40cec52585087c60e456cc390d0ee294bbc460d50b93c2170344cca3dd2e3067ebefe"
	  "3efbd002ec4ed7f0fc1a8771eaffbc1fd4d5800aec21",
	  "85ae5c53a8286dfddf295dd0b31237bc8c54e9858647e222db29a4f60ffb74a175e5de22c132a1a06826"
	  "c6e0122e63aa657fc670ca44943159560ce1c48b6906",
	  'A', "c5dffc4eb99a1c36" },
	{ ST_HASH_SHA512,
	  "0000008045cafef6acb29ea351ad025a32cb0fb88fe52f138ac3cd7718140c883cffbc10778c2e6c573b"
	  "dbfaf32eceaa2fc1e106170dadcdf1cb0e1653f2361c76f5153262295b16371daf9ae2015dfb407f4920"
	  "240eb10293c48971d2086723507d2eb7e1481f2b737df223628ee602a49bb7f1ac52068f5c1a24b44578"
	  "6e35042fc6c0",
	  "b1ce6e766a7340f40cec52585087c60e456cc390d0ee294bbc460d50b93c2170344cca3dd2e3067ebefe"
	  "3efbd002ec4ed7f0fc1a8771eaffbc1fd4d5800aec21",
	  "85ae5c53a8286dfddf295dd0b31237bc8c54e9858647e222db29a4f60ffb74a175e5de22c132a1a06826"
	  "c6e0122e63aa657fc670ca44943159560ce1c48b6906",
	  'C', "4d77a9a1a36500d9ea0389e3813a201fb9b30751d1fcf0b3" },
	{ ST_HASH_SHA512,
	  "0000008045cafef6acb29ea351ad025a32cb0fb88fe52f138ac3cd7718140c883cffbc10778c2e6c573b"
	  "dbfaf32eceaa2fc1e106170dadcdf1cb0e1653f2361c76f5153262295b16371daf9ae2015dfb407f4920"
	  "240eb10293c48971d2086723507d2eb7e1481f2b737df223628ee602a49bb7f1ac52068f5c1a24b44578"
	  "6e35042fc6c0",
	  "b1ce6e766a7340f40cec52585087c60e456cc390d0ee294bbc460d50b93c2170344cca3dd2e3067ebefe"
	  "3efbd002ec4ed7f0fc1a8771eaffbc1fd4d5800aec21",
	  "85ae5c53a8286dfddf295dd0b31237bc8c54e9858647e222db29a4f60ffb74a175e5de22c132a1a06826"
	  "c6e0122e63aa657fc670ca44943159560ce1c48b6906",
	  'E',
	  "b4035effa78e6da307f4c096226150e5cab92794192bba492ff8576da3fdbbfdc87fbf79721de0e8f386"
	  "47261dcad096fd536c4f724f09782a4b684902a4b979" },
	{ ST_HASH_SHA512,
	  "0000008045cafef6acb29ea351ad025a32cb0fb88fe52f138ac3cd7718140c883cffbc10778c2e6c573b"
	  "dbfaf32eceaa2fc1e106170dadcdf1cb0e1653f2361c76f5153262295b16371daf9ae2015dfb407f4920"
	  "240eb10293c48971d2086723507d2eb7e1481f2b737df223628ee602a49bb7f1ac52068f5c1a24b44578"
	  "6e35042fc6c0",
	  "b1ce6e766a7340f40cec52585087c60e456cc390d0ee294bbc460d50b93c2170344cca3dd2e3067ebefe"
	  "3efbd002ec4ed7f0fc1a8771eaffbc1fd4d5800aec21",
	  "85ae5c53a8286dfddf295dd0b31237bc8c54e9858647e222db29a4f60ffb74a175e5de22c132a1a06826"
	  "c6e0122e63aa657fc670ca44943159560ce1c48b6906",
	  'F',
	  "eae8776eddb75cd4d14d2db129172bab92f0c8d2c8a439d4b63824c23e7481af502a45d2ebee77f3a801"
	  "d658b59f6cbbdb797f479787ae4d5839b7ddf49ff908" },
};

static void test_kdf_cavp(void)
{
	uint8_t k[300], h[64], sid[64], want[64], got[64];

	for (size_t i = 0; i < sizeof(cavp) / sizeof(cavp[0]); i++) {
		size_t kl = st_test_unhex(cavp[i].k, k, sizeof(k));
		size_t hl = st_test_unhex(cavp[i].h, h, sizeof(h));
		size_t sl = st_test_unhex(cavp[i].sid, sid, sizeof(sid));
		size_t ol = st_test_unhex(cavp[i].out, want, sizeof(want));

		memset(got, 0xaa, sizeof(got));
		CHECK_OK(
		    st_kdf_derive(cavp[i].alg, k, kl, h, hl, cavp[i].letter, sid, sl, got, ol));
		CHECK_MEM(got, want, ol);
		for (size_t j = ol; j < sizeof(got); j++)
			CHECK(got[j] == 0xaa); /* nothing written past `need` */
	}
}

/* OpenSSL's independent SSHKDF implementation, as the reference. */
static int ref_sshkdf(enum st_hash_alg alg, const uint8_t *k, size_t kl, const uint8_t *h,
		      size_t hl, char letter, const uint8_t *sid, size_t sl, uint8_t *out,
		      size_t need)
{
	const char *md = alg == ST_HASH_SHA256   ? "SHA256"
			 : alg == ST_HASH_SHA384 ? "SHA384"
						 : "SHA512";
	char type[2] = { letter, 0 };
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSHKDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)k, kl),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SSHKDF_XCGHASH, (void *)h, hl),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SSHKDF_SESSION_ID, (void *)sid,
						  sl),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_SSHKDF_TYPE, type, 0),
		OSSL_PARAM_construct_end(),
	};
	int ok = kctx != NULL && EVP_KDF_derive(kctx, out, need, params) == 1;

	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok;
}

/* Builds an mpint-encoded K from `n` pseudo-random magnitude bytes. */
static size_t make_k(uint8_t *k, size_t ksz, size_t n, uint64_t seed, uint8_t top)
{
	uint8_t mag[600];
	struct st_buf b;

	st_test_fill(mag, n, seed);
	mag[0] = top; /* exercise the sign byte (top >= 0x80) and stripping (top == 0) */
	st_buf_wrap(&b, k, ksz);
	if (st_buf_put_mpint(&b, mag, n) != ST_OK)
		return 0;
	return b.len;
}

/* Compares every letter and output length for one (alg, K, H, session id). */
static int compare_letters(enum st_hash_alg alg, const uint8_t *k, size_t kl, const uint8_t *h,
			   size_t hl, const uint8_t *sid, size_t sl)
{
	static const size_t lens[] = { 1, 8, 16, 31, 32, 33, 48, 63, 64, 65, 100, 129, 200 };
	uint8_t got[256], want[256];
	int compared = 0;

	for (char letter = 'A'; letter <= 'F'; letter++) {
		for (size_t n = 0; n < sizeof(lens) / sizeof(lens[0]); n++) {
			memset(got, 0, sizeof(got));
			memset(want, 0, sizeof(want));
			CHECK(ref_sshkdf(alg, k, kl, h, hl, letter, sid, sl, want, lens[n]));
			CHECK_OK(st_kdf_derive(alg, k, kl, h, hl, letter, sid, sl, got, lens[n]));
			if (!CHECK_MEM(got, want, sizeof(got)))
				return compared;
			compared++;
		}
	}
	return compared;
}

/* Against OpenSSL's SSHKDF: all hashes, all letters, outputs of 1 to 200 bytes (K1..K7). */
static void test_kdf_vs_openssl(void)
{
	static const uint8_t tops[] = { 0x7f, 0x80, 0x00, 0xff };
	uint8_t k[600], h[64], sid[64];
	int compared = 0;

	for (size_t a = 0; a < sizeof(all_algs) / sizeof(all_algs[0]); a++) {
		enum st_hash_alg alg = all_algs[a];
		size_t hl = st_hash_len(alg);

		for (size_t t = 0; t < sizeof(tops); t++) {
			size_t klen_mag = t == 3 ? 32 : 256 + t;
			size_t kl = make_k(k, sizeof(k), klen_mag, a * 10 + t, tops[t]);
			CHECK(kl > 4);
			st_test_fill(h, hl, 100 + t);
			/* First exchange: session id == H; after a rekey: another, maybe shorter. */
			size_t sl = t % 2 == 0 ? hl : 32;
			if (t % 2 == 0)
				memcpy(sid, h, hl);
			else
				st_test_fill(sid, sl, 200 + t);
			compared += compare_letters(alg, k, kl, h, hl, sid, sl);
		}
	}
	CHECK_INT(compared, 3 * 4 * 6 * 13);
}

/* A longer output starts with the shorter one (truncation of the same stream). */
static void test_kdf_prefix(void)
{
	uint8_t k[300], h[32], big[200], small[200];
	size_t kl = make_k(k, sizeof(k), 256, 7, 0x91);

	st_test_fill(h, sizeof(h), 8);
	CHECK_OK(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'C', h, 32, big, sizeof(big)));
	for (size_t n = 1; n < sizeof(big); n += 13) {
		memset(small, 0, sizeof(small));
		CHECK_OK(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'C', h, 32, small, n));
		CHECK_MEM(small, big, n);
		CHECK(n == sizeof(small) || small[n] == 0);
	}
	/* need == 0 is a no-op; out may then be NULL. */
	CHECK_OK(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'C', h, 32, NULL, 0));
}

static void test_kdf_derive_all(void)
{
	uint8_t k[300], h[64], sid[32];
	size_t kl = make_k(k, sizeof(k), 256, 9, 0xc3);
	uint8_t iv1[16], iv2[12], key1[32], key2[64], mac1[64], mac2[32];
	uint8_t want[64];
	struct st_kdf_dir c2s = { iv1, sizeof(iv1), key1, sizeof(key1), mac1, sizeof(mac1) };
	struct st_kdf_dir s2c = { iv2, sizeof(iv2), key2, sizeof(key2), mac2, sizeof(mac2) };
	const struct {
		char letter;
		const uint8_t *buf;
		size_t len;
	} parts[] = {
		{ 'A', iv1, sizeof(iv1) },   { 'B', iv2, sizeof(iv2) },
		{ 'C', key1, sizeof(key1) }, { 'D', key2, sizeof(key2) },
		{ 'E', mac1, sizeof(mac1) }, { 'F', mac2, sizeof(mac2) },
	};

	CHECK(kl > 4);
	st_test_fill(h, sizeof(h), 10);
	st_test_fill(sid, sizeof(sid), 11);
	CHECK_OK(st_kdf_derive_all(ST_HASH_SHA512, k, kl, h, 64, sid, 32, &c2s, &s2c));
	for (size_t i = 0; i < 6; i++) {
		CHECK_OK(st_kdf_derive(ST_HASH_SHA512, k, kl, h, 64, parts[i].letter, sid, 32, want,
				       parts[i].len));
		CHECK_MEM(parts[i].buf, want, parts[i].len);
	}

	/* AEAD-style: no MAC keys, no IV on one side; NULL buffers with zero lengths. */
	struct st_kdf_dir a = { NULL, 0, key1, sizeof(key1), NULL, 0 };
	struct st_kdf_dir b = { iv2, sizeof(iv2), key2, 32, NULL, 0 };
	CHECK_OK(st_kdf_derive_all(ST_HASH_SHA256, k, kl, h, 32, sid, 32, &a, &b));
	CHECK_OK(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'D', sid, 32, want, 32));
	CHECK_MEM(key2, want, 32);

	/* Failure zeroes every output. */
	memset(key1, 0x55, sizeof(key1));
	memset(iv2, 0x55, sizeof(iv2));
	k[0] ^= 1; /* length prefix no longer matches */
	CHECK_ERR(st_kdf_derive_all(ST_HASH_SHA256, k, kl, h, 32, sid, 32, &a, &b),
		  ST_ERR_INVALID_ARGUMENT);
	k[0] ^= 1;
	static const uint8_t zero[64];
	CHECK_MEM(key1, zero, sizeof(key1));
	CHECK_MEM(iv2, zero, sizeof(iv2));
	struct st_kdf_dir bad = { NULL, 4, key1, sizeof(key1), NULL, 0 };
	CHECK_ERR(st_kdf_derive_all(ST_HASH_SHA256, k, kl, h, 32, sid, 32, &bad, &b),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kdf_derive_all(ST_HASH_SHA256, k, kl, h, 32, sid, 32, NULL, &b),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kdf_derive_all((enum st_hash_alg)0, k, kl, h, 32, sid, 32, &a, &b),
		  ST_ERR_ALG_UNSUPPORTED);
}

static void test_kdf_bad_args(void)
{
	uint8_t k[300], h[32], out[40];
	static const uint8_t zero[40];
	size_t kl = make_k(k, sizeof(k), 64, 12, 0x10);

	st_test_fill(h, sizeof(h), 13);
#define BAD(expr, err)                                   \
	do {                                             \
		memset(out, 0x33, sizeof(out));          \
		CHECK_ERR(expr, err);                    \
		CHECK_MEM(out, zero, sizeof(out));       \
	} while (0)
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'G', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, '@', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'a', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	/* A raw secret (no length prefix) and truncated encodings are refused. */
	BAD(st_kdf_derive(ST_HASH_SHA256, k + 4, kl - 4, h, 32, 'A', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	for (size_t n = 0; n < kl; n++)
		BAD(st_kdf_derive(ST_HASH_SHA256, k, n, h, 32, 'A', h, 32, out, sizeof(out)),
		    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, NULL, kl, h, 32, 'A', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 0, 'A', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, NULL, 32, 'A', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'A', h, 0, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 65, 'A', h, 32, out, sizeof(out)),
	    ST_ERR_INVALID_ARGUMENT);
	BAD(st_kdf_derive((enum st_hash_alg)0, k, kl, h, 32, 'A', h, 32, out, sizeof(out)),
	    ST_ERR_ALG_UNSUPPORTED);
#undef BAD
	CHECK_ERR(st_kdf_derive(ST_HASH_SHA256, k, kl, h, 32, 'A', h, 32, NULL, 16),
		  ST_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	RUN(test_hash_known_answers);
	RUN(test_hash_incremental);
	RUN(test_hash_bad_args);
	RUN(test_kdf_cavp);
	RUN(test_kdf_vs_openssl);
	RUN(test_kdf_prefix);
	RUN(test_kdf_derive_all);
	RUN(test_kdf_bad_args);
	return st_test_done("kdf");
}
