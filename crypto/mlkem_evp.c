#include "crypto/mlkem_evp.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

#define ALG "ML-KEM-768"

/* Written by the probe (startup, provider changes: the main thread), read by every kex. */
static int avail; /* __atomic: written by the probe, read by every kex */
static char prov_name[64];
static pthread_once_t first_probe = PTHREAD_ONCE_INIT;

int st_mlkem768_evp_probe(void)
{
	EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(NULL, ALG, NULL);
	EVP_KEM *kem = EVP_KEM_fetch(NULL, ALG, NULL);
	int a = km != NULL && kem != NULL;

	prov_name[0] = '\0';
	if (a) {
		const char *n = OSSL_PROVIDER_get0_name(EVP_KEM_get0_provider(kem));
		snprintf(prov_name, sizeof(prov_name), "%s", n != NULL ? n : "?");
	}
	EVP_KEM_free(kem);
	EVP_KEYMGMT_free(km);
	ERR_clear_error(); /* OpenSSL 3.0: "unsupported" from the failed fetches */
	__atomic_store_n(&avail, a, __ATOMIC_RELEASE);
	return a;
}

static void probe_once(void)
{
	(void)st_mlkem768_evp_probe();
}

int st_mlkem768_evp_available(void)
{
	pthread_once(&first_probe, probe_once);
	return __atomic_load_n(&avail, __ATOMIC_ACQUIRE);
}

const char *st_mlkem768_evp_provider(void)
{
	return st_mlkem768_evp_available() ? prov_name : NULL;
}

/* A key from its encoding: param PUB_KEY (ek) or PRIV_KEY (dk, which holds ek too). */
static EVP_PKEY *key_from(const char *param, int selection, const uint8_t *b, size_t len)
{
	OSSL_PARAM p[2];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, ALG, NULL);
	EVP_PKEY *k = NULL;

	p[0] = OSSL_PARAM_construct_octet_string(param, (void *)b, len);
	p[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, selection, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static int get_exact(const EVP_PKEY *k, const char *param, uint8_t *out, size_t len)
{
	size_t n = 0;
	return EVP_PKEY_get_octet_string_param(k, param, out, len, &n) == 1 && n == len ? ST_OK
											 : ST_ERR_CRYPTO;
}

int st_mlkem768_evp_keygen(uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN])
{
	uint8_t e[ST_MLKEM768_EK_LEN], d[ST_MLKEM768_DK_LEN];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;
	int r = ST_ERR_CRYPTO;

	if (!st_mlkem768_evp_available())
		return ST_ERR_NOT_FOUND;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, ALG, NULL);
	if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_generate(ctx, &k) == 1 &&
	    get_exact(k, OSSL_PKEY_PARAM_PUB_KEY, e, sizeof(e)) == ST_OK &&
	    get_exact(k, OSSL_PKEY_PARAM_PRIV_KEY, d, sizeof(d)) == ST_OK) {
		memcpy(ek, e, sizeof(e));
		memcpy(dk, d, sizeof(d));
		r = ST_OK;
	}
	st_wipe(d, sizeof(d));
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/*
 * One KEM operation on a key imported from its encoding: encapsulation to
 * an ek (ct_out set) or decapsulation of ct_in with a dk. An encoding the
 * provider's import refuses (its FIPS 203 checks: the modulus check of ek,
 * H(ek) in dk) is `refused`; outputs are written only on success.
 */
static int kem_run(const char *param, int selection, int refused, const uint8_t *key,
		   size_t key_len, const uint8_t *ct_in, uint8_t *ct_out,
		   uint8_t ss[ST_MLKEM768_SS_LEN])
{
	uint8_t c[ST_MLKEM768_CT_LEN], s[ST_MLKEM768_SS_LEN];
	size_t cl = sizeof(c), sl = sizeof(s);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k;
	int r = ST_ERR_CRYPTO, ok;

	if ((k = key_from(param, selection, key, key_len)) == NULL) {
		ERR_clear_error();
		return refused;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	if (ct_out != NULL)
		ok = ctx != NULL && EVP_PKEY_encapsulate_init(ctx, NULL) == 1 &&
		     EVP_PKEY_encapsulate(ctx, c, &cl, s, &sl) == 1 && cl == sizeof(c);
	else
		ok = ctx != NULL && EVP_PKEY_decapsulate_init(ctx, NULL) == 1 &&
		     EVP_PKEY_decapsulate(ctx, s, &sl, ct_in, ST_MLKEM768_CT_LEN) == 1;
	if (ok && sl == sizeof(s)) {
		if (ct_out != NULL)
			memcpy(ct_out, c, sizeof(c));
		memcpy(ss, s, sizeof(s));
		r = ST_OK;
	}
	st_wipe(s, sizeof(s));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return r;
}

int st_mlkem768_evp_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[ST_MLKEM768_CT_LEN],
			   uint8_t ss[ST_MLKEM768_SS_LEN])
{
	if (!st_mlkem768_evp_available())
		return ST_ERR_NOT_FOUND;
	if (ek == NULL || ek_len != ST_MLKEM768_EK_LEN)
		return ST_ERR_KEX_PUBLIC_INVALID;
	/* A refused ek is the peer's fault. */
	return kem_run(OSSL_PKEY_PARAM_PUB_KEY, EVP_PKEY_PUBLIC_KEY, ST_ERR_KEX_PUBLIC_INVALID, ek,
		       ek_len, NULL, ct, ss);
}

int st_mlkem768_evp_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
			   uint8_t ss[ST_MLKEM768_SS_LEN])
{
	if (!st_mlkem768_evp_available())
		return ST_ERR_NOT_FOUND;
	if (ct == NULL || ct_len != ST_MLKEM768_CT_LEN)
		return ST_ERR_KEX_PUBLIC_INVALID;
	if (dk == NULL || dk_len != ST_MLKEM768_DK_LEN)
		return ST_ERR_KEY_INVALID;
	return kem_run(OSSL_PKEY_PARAM_PRIV_KEY, EVP_PKEY_KEYPAIR, ST_ERR_KEY_INVALID, dk, dk_len, ct,
		       NULL, ss);
}
