/*
 * OpenSSL provider and engine selection: loading by name, property queries,
 * missing providers / engines / algorithms failing with a code and a
 * message, the fallback flag, and the EVP record backend still working
 * after each.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/provider.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/provider.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"
#include "tests/unit/test.h"

static const struct {
	const char *cipher, *mac;
} suites[] = {
	{"aes128-gcm@openssh.com", NULL},
	{"aes256-gcm@openssh.com", NULL},
	{"chacha20-poly1305@openssh.com", NULL},
	{"aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
	{"aes256-ctr", "hmac-sha2-512"},
};

/* Keyed sender and receiver on EVP; a few packets through; 1 when all came out. */
static int evp_record_works(void)
{
	int ok = 1;
	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct st_record tx, rx;
		struct st_buf wire;
		struct st_dir_keys k;
		struct st_record_msg m[4];
		uint8_t data[3000], nk = SSH_MSG_NEWKEYS;
		unsigned n, got = 0;
		size_t used;

		memset(&k, 0, sizeof(k));
		k.cipher = st_cipher_by_name(suites[si].cipher, strlen(suites[si].cipher));
		k.mac = suites[si].mac ? st_mac_by_name(suites[si].mac, strlen(suites[si].mac))
				       : NULL;
		st_test_fill(k.key, sizeof(k.key), si);
		st_test_fill(k.iv, sizeof(k.iv), si + 1);
		st_test_fill(k.mac_key, sizeof(k.mac_key), si + 2);
		st_test_fill(data, sizeof(data), 9);
		data[0] = 94;
		if (st_record_init(&tx, &st_crypto_backend_evp, 0) != ST_OK ||
		    st_record_init(&rx, &st_crypto_backend_evp, 0) != ST_OK ||
		    st_buf_alloc(&wire, 0, 1 << 20) != ST_OK)
			return 0;
		st_record_set_next_keys(&tx, &k, NULL);
		st_record_set_next_keys(&rx, NULL, &k);
		st_wipe(&k, sizeof(k));
		/* NEWKEYS alone: the packets after it need the keys it switches on. */
		int r = st_record_send(&tx, &nk, 1, &wire);
		st_record_feed(&rx, st_buf_ptr(&wire), st_buf_avail(&wire), &used);
		st_buf_reset(&wire);
		if (r == ST_OK && (r = st_record_read(&rx, m, 1, &n)) == ST_OK)
			got = n;
		for (int i = 0; r == ST_OK && i < 3; i++)
			r = st_record_send(&tx, data, sizeof(data) - (size_t)i * 1000, &wire);
		st_record_feed(&rx, st_buf_ptr(&wire), st_buf_avail(&wire), &used);
		while (r == ST_OK && got < 4) {
			r = st_record_read(&rx, m, 4, &n);
			if (r == ST_OK && n == 0)
				break;
			for (unsigned i = 0; r == ST_OK && i < n; i++, got++)
				if (got > 0 && (m[i].len != sizeof(data) - (got - 1) * 1000 ||
						memcmp(m[i].payload, data, m[i].len) != 0))
					r = ST_ERR_INTERNAL;
		}
		if (r != ST_OK || got != 4) {
			st_test_fail(__FILE__, __LINE__, "EVP record %s: %s, %u packets",
				     suites[si].cipher, st_err_name(r), got);
			ok = 0;
		}
		st_record_free(&tx);
		st_record_free(&rx);
		st_buf_free(&wire);
	}
	return ok;
}

static void test_default(void)
{
	char msg[ST_PROVIDER_MSG_MAX] = "";
	int fb = -1;
	CHECK_OK(st_crypto_provider_load("default", 0, &fb, msg, sizeof(msg)));
	CHECK_INT(fb, 0);
	CHECK_OK(st_crypto_provider_check(msg, sizeof(msg)));
	CHECK(evp_record_works());
	st_crypto_provider_unload_all();
	CHECK(evp_record_works());
}

static void test_legacy(void)
{
	char msg[ST_PROVIDER_MSG_MAX] = "";
	int fb = -1;
	CHECK_OK(st_crypto_provider_load("legacy", 0, &fb, msg, sizeof(msg)));
	CHECK_INT(fb, 0);
	CHECK(OSSL_PROVIDER_available(NULL, "legacy"));
	CHECK(OSSL_PROVIDER_available(NULL, "default"));
	/* Only the legacy provider has MD4: it is really in use. */
	EVP_MD *md4 = EVP_MD_fetch(NULL, "MD4", NULL);
	CHECK(md4 != NULL);
	EVP_MD_free(md4);
	/* The record ciphers come from default beside it. */
	CHECK(evp_record_works());
	st_crypto_provider_unload_all();
	CHECK(!OSSL_PROVIDER_available(NULL, "legacy"));
	CHECK(evp_record_works());
}

static void test_property_query(void)
{
	char msg[ST_PROVIDER_MSG_MAX] = "";
	int fb = -1;
	/* default with an explicit query: fine */
	CHECK_OK(st_crypto_provider_load("default:provider=default", 0, &fb, msg, sizeof(msg)));
	st_crypto_provider_unload_all();
	/* Legacy made mandatory lacks AES-GCM: a clear error, and nothing changed. */
	msg[0] = '\0';
	CHECK_ERR(st_crypto_provider_load("legacy:provider=legacy", 0, &fb, msg, sizeof(msg)),
		  ST_ERR_ALG_UNSUPPORTED);
	printf("    error: %s\n", msg);
	CHECK(strstr(msg, "legacy") != NULL && strstr(msg, "AES-128-GCM") != NULL);
	CHECK(!OSSL_PROVIDER_available(NULL, "legacy"));
	CHECK(evp_record_works());
	/* The same with fallback allowed: loads, says so, and EVP works. */
	msg[0] = '\0';
	CHECK_OK(st_crypto_provider_load("legacy:provider=legacy", 1, &fb, msg, sizeof(msg)));
	CHECK_INT(fb, 1);
	printf("    fallback: %s\n", msg);
	CHECK(strstr(msg, "falling back to the default provider") != NULL);
	CHECK(evp_record_works());
	/* A query that does not parse. */
	CHECK_ERR(st_crypto_provider_load("default:provider==", 0, &fb, msg, sizeof(msg)),
		  ST_ERR_CRYPTO);
	CHECK(evp_record_works());
	st_crypto_provider_unload_all();
}

static void test_missing_provider(void)
{
	char msg[ST_PROVIDER_MSG_MAX] = "";
	int fb = -1;
	CHECK_ERR(st_crypto_provider_load("no_such_provider", 0, &fb, msg, sizeof(msg)),
		  ST_ERR_NOT_FOUND);
	printf("    error: %s\n", msg);
	CHECK(strstr(msg, "no_such_provider") != NULL && strstr(msg, "does not load") != NULL);
	CHECK_INT(fb, -1); /* outputs untouched on error */
	CHECK_OK(st_crypto_provider_load("no_such_provider", 1, &fb, msg, sizeof(msg)));
	CHECK_INT(fb, 1);
	CHECK(evp_record_works());
	/* malformed specs */
	CHECK_ERR(st_crypto_provider_load("", 0, NULL, msg, sizeof(msg)), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_crypto_provider_load(":provider=x", 0, NULL, msg, sizeof(msg)),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_crypto_provider_load(NULL, 0, NULL, NULL, 0), ST_ERR_INVALID_ARGUMENT);
	st_crypto_provider_unload_all();
}

static void test_missing_engine(void)
{
	char msg[ST_PROVIDER_MSG_MAX] = "";
	int fb = -1;
	CHECK_ERR(st_crypto_engine_load("no_such_engine", 0, &fb, msg, sizeof(msg)),
		  ST_ERR_NOT_FOUND);
	printf("    error: %s\n", msg);
	CHECK(strstr(msg, "no_such_engine") != NULL && strstr(msg, "no such engine") != NULL);
	CHECK_OK(st_crypto_engine_load("no_such_engine", 1, &fb, msg, sizeof(msg)));
	CHECK_INT(fb, 1);
	CHECK(evp_record_works());
	/* An engine that exists but has no device here (VIA PadLock on x86-64
	 * without it), where OpenSSL ships it; elsewhere it is not found. */
	int r = st_crypto_engine_load("padlock", 0, &fb, msg, sizeof(msg));
	printf("    padlock: %s (%s)\n", st_err_name(r), msg);
	CHECK(r == ST_ERR_CRYPTO || r == ST_ERR_NOT_FOUND || r == ST_OK);
	CHECK_ERR(st_crypto_engine_load("", 0, NULL, msg, sizeof(msg)), ST_ERR_INVALID_ARGUMENT);
	st_crypto_provider_unload_all();
	CHECK(evp_record_works());
}

int main(void)
{
	RUN(test_default);
	RUN(test_legacy);
	RUN(test_property_query);
	RUN(test_missing_provider);
	RUN(test_missing_engine);
	return st_test_done("provider");
}
