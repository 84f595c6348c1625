/*
 * OpenSSL provider and engine selection (crypto/provider.h).
 *
 * The ENGINE API is deprecated in OpenSSL 3.0 but is still the only way to
 * use engines that have not become providers. This file is the one place in
 * sshterm that calls it, so it alone suppresses the deprecation attributes
 * (OPENSSL_SUPPRESS_DEPRECATED, before any OpenSSL header); everything else
 * keeps building with deprecation warnings as errors.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/provider.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "crypto/err.h"
#include "crypto/mlkem_evp.h"

#define MAX_LOADED 8
#define MAX_NAME 128

/* Startup-only state: what we loaded, so that it can be unloaded. */
static struct {
	OSSL_PROVIDER *def;              /* "default", kept beside the others */
	OSSL_PROVIDER *prov[MAX_LOADED];
	ENGINE *eng[MAX_LOADED];
	unsigned nprov, neng;
	char propq[MAX_NAME + 16]; /* the default property query we set last */
} ld;

enum alg_kind { ALG_CIPHER, ALG_MAC, ALG_MD, ALG_KEYMGMT, ALG_KEYEXCH, ALG_SIGNATURE };

static const struct {
	enum alg_kind kind;
	const char *name;
	const char *what;
} needed[] = {
	{ALG_CIPHER, "AES-128-GCM", "cipher"},   {ALG_CIPHER, "AES-256-GCM", "cipher"},
	{ALG_CIPHER, "AES-128-CTR", "cipher"},   {ALG_CIPHER, "AES-256-CTR", "cipher"},
	{ALG_CIPHER, "ChaCha20", "cipher"},      {ALG_MAC, "HMAC", "MAC"},
	{ALG_MAC, "POLY1305", "MAC"},            {ALG_MD, "SHA2-256", "digest"},
	{ALG_MD, "SHA2-512", "digest"},          {ALG_KEYMGMT, "X25519", "key type"},
	{ALG_KEYEXCH, "X25519", "key exchange"}, {ALG_KEYMGMT, "ED25519", "key type"},
	{ALG_SIGNATURE, "ED25519", "signature"}, {ALG_KEYMGMT, "EC", "key type"},
	{ALG_KEYEXCH, "ECDH", "key exchange"},   {ALG_SIGNATURE, "ECDSA", "signature"},
	{ALG_KEYMGMT, "RSA", "key type"},        {ALG_SIGNATURE, "RSA", "signature"},
	{ALG_KEYMGMT, "DH", "key type"},         {ALG_KEYEXCH, "DH", "key exchange"},
};

static void say(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* The newest libcrypto error as text (and the queue emptied), or "". */
static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error(); /* the first: the cause, not the consequence */

	buf[0] = '\0';
	if (e != 0) {
		const char *r = ERR_reason_error_string(e), *l = ERR_lib_error_string(e);
		if (r != NULL)
			snprintf(buf, len, ": %s%s%s", l != NULL ? l : "", l != NULL ? ": " : "", r);
		else
			snprintf(buf, len, ": libcrypto error %lx", e);
	}
	ERR_clear_error();
	return buf;
}

static int fetch_one(enum alg_kind kind, const char *name)
{
	switch (kind) {
	case ALG_CIPHER: {
		EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
		EVP_CIPHER_free(c);
		return c != NULL;
	}
	case ALG_MAC: {
		EVP_MAC *m = EVP_MAC_fetch(NULL, name, NULL);
		EVP_MAC_free(m);
		return m != NULL;
	}
	case ALG_MD: {
		EVP_MD *m = EVP_MD_fetch(NULL, name, NULL);
		EVP_MD_free(m);
		return m != NULL;
	}
	case ALG_KEYMGMT: {
		EVP_KEYMGMT *k = EVP_KEYMGMT_fetch(NULL, name, NULL);
		EVP_KEYMGMT_free(k);
		return k != NULL;
	}
	case ALG_KEYEXCH: {
		EVP_KEYEXCH *k = EVP_KEYEXCH_fetch(NULL, name, NULL);
		EVP_KEYEXCH_free(k);
		return k != NULL;
	}
	case ALG_SIGNATURE: {
		EVP_SIGNATURE *s = EVP_SIGNATURE_fetch(NULL, name, NULL);
		EVP_SIGNATURE_free(s);
		return s != NULL;
	}
	}
	return 0;
}

int st_crypto_provider_check(char *msg, size_t msglen)
{
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!fetch_one(needed[i].kind, needed[i].name)) {
			char why[160];
			say(msg, msglen, "%s %s not available%s", needed[i].what, needed[i].name,
			    ossl_reason(why, sizeof(why)));
			return ST_ERR_ALG_UNSUPPORTED;
		}
	}
	return ST_OK;
}

static int ensure_default(char *msg, size_t msglen)
{
	char why[160];

	/* Loading any provider explicitly stops the implicit load of "default". */
	if (ld.def == NULL && (ld.def = OSSL_PROVIDER_load(NULL, "default")) == NULL) {
		say(msg, msglen, "the default provider does not load%s",
		    ossl_reason(why, sizeof(why)));
		return ST_ERR_CRYPTO;
	}
	return ST_OK;
}

/* Reports a failure, or turns it into a fallback when allowed. */
static int finish(int r, int fallback, int *fell_back, char *msg, size_t msglen,
		  const char *what, const char *name, const char *detail)
{
	/* A failed load leaves the query as the last successful one set it. */
	if (r != ST_OK)
		EVP_set_default_properties(NULL, ld.propq);
	/* Where ML-KEM-768 comes from may have changed (mlkem_evp.h). */
	(void)st_mlkem768_evp_probe();
	if (r == ST_OK) {
		if (fell_back != NULL)
			*fell_back = 0;
		return ST_OK;
	}
	if (fallback) {
		ERR_clear_error();
		say(msg, msglen, "%s %s: %s; falling back to the default provider", what, name,
		    detail);
		if (fell_back != NULL)
			*fell_back = 1;
		return ST_OK;
	}
	say(msg, msglen, "%s %s: %s", what, name, detail);
	return r;
}

int st_crypto_provider_load(const char *spec, int fallback, int *fell_back, char *msg,
			    size_t msglen)
{
	char name[MAX_NAME], propq[MAX_NAME + 16], detail[512], why[160];
	const char *colon;
	size_t nl;
	OSSL_PROVIDER *p = NULL;
	int r;

	if (spec == NULL)
		goto bad;
	colon = strchr(spec, ':');
	nl = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (nl == 0 || nl >= sizeof(name) || (colon != NULL && strlen(colon + 1) >= MAX_NAME))
		goto bad;
	memcpy(name, spec, nl);
	name[nl] = '\0';
	if (colon != NULL && colon[1] != '\0')
		snprintf(propq, sizeof(propq), "%s", colon + 1);
	else
		snprintf(propq, sizeof(propq), "?provider=%s", name);
	if (ld.nprov == MAX_LOADED) {
		say(msg, msglen, "CryptoProvider %s: too many providers", name);
		return ST_ERR_NO_SPACE;
	}
	if ((r = ensure_default(detail, sizeof(detail))) != ST_OK)
		return finish(r, 0, fell_back, msg, msglen, "CryptoProvider", name, detail);

	if ((p = OSSL_PROVIDER_load(NULL, name)) == NULL) {
		snprintf(detail, sizeof(detail), "provider does not load%s",
			 ossl_reason(why, sizeof(why)));
		r = ST_ERR_NOT_FOUND;
		goto out;
	}
	if (EVP_set_default_properties(NULL, propq) != 1) {
		snprintf(detail, sizeof(detail), "property query \"%s\" refused%s", propq,
			 ossl_reason(why, sizeof(why)));
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = st_crypto_provider_check(why, sizeof(why))) != ST_OK) {
		snprintf(detail, sizeof(detail), "%s with properties \"%s\"", why, propq);
		goto out;
	}
	ld.prov[ld.nprov++] = p;
	p = NULL;
	snprintf(ld.propq, sizeof(ld.propq), "%s", propq);
out:
	if (p != NULL)
		OSSL_PROVIDER_unload(p);
	return finish(r, fallback, fell_back, msg, msglen, "CryptoProvider", name, detail);
bad:
	say(msg, msglen, "CryptoProvider: expected NAME[:property-query]");
	return ST_ERR_INVALID_ARGUMENT;
}

/* Undoes ENGINE_set_default(e, ENGINE_METHOD_ALL). */
static void unregister_all(ENGINE *e)
{
	ENGINE_unregister_ciphers(e);
	ENGINE_unregister_digests(e);
	ENGINE_unregister_RSA(e);
	ENGINE_unregister_DSA(e);
	ENGINE_unregister_DH(e);
	ENGINE_unregister_EC(e);
	ENGINE_unregister_RAND(e);
	ENGINE_unregister_pkey_meths(e);
	ENGINE_unregister_pkey_asn1_meths(e);
}

int st_crypto_engine_load(const char *id, int fallback, int *fell_back, char *msg,
			  size_t msglen)
{
	char detail[512], why[160];
	ENGINE *e = NULL;
	int inited = 0, r;

	if (id == NULL || *id == '\0' || strlen(id) >= MAX_NAME) {
		say(msg, msglen, "CryptoEngine: expected an engine id");
		return ST_ERR_INVALID_ARGUMENT;
	}
	if (ld.neng == MAX_LOADED) {
		say(msg, msglen, "CryptoEngine %s: too many engines", id);
		return ST_ERR_NO_SPACE;
	}
	if ((r = ensure_default(detail, sizeof(detail))) != ST_OK)
		return finish(r, 0, fell_back, msg, msglen, "CryptoEngine", id, detail);
	ENGINE_load_builtin_engines();
	/* Finds built-in engines and, through "dynamic", ENGINESDIR/<id>.so. */
	if ((e = ENGINE_by_id(id)) == NULL) {
		snprintf(detail, sizeof(detail), "no such engine%s", ossl_reason(why, sizeof(why)));
		r = ST_ERR_NOT_FOUND;
		goto out;
	}
	if (ENGINE_init(e) != 1) {
		snprintf(detail, sizeof(detail), "engine does not initialize (no device?)%s",
			 ossl_reason(why, sizeof(why)));
		r = ST_ERR_CRYPTO;
		goto out;
	}
	inited = 1;
	if (ENGINE_set_default(e, ENGINE_METHOD_ALL) != 1) {
		snprintf(detail, sizeof(detail), "cannot become the default engine%s",
			 ossl_reason(why, sizeof(why)));
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = st_crypto_provider_check(why, sizeof(why))) != ST_OK) {
		snprintf(detail, sizeof(detail), "%s", why);
		goto out;
	}
	ld.eng[ld.neng++] = e;
	e = NULL;
out:
	if (e != NULL) {
		if (inited) {
			unregister_all(e);
			ENGINE_finish(e);
		}
		ENGINE_free(e);
	}
	return finish(r, fallback, fell_back, msg, msglen, "CryptoEngine", id, detail);
}

void st_crypto_provider_unload_all(void)
{
	ld.propq[0] = '\0';
	EVP_set_default_properties(NULL, "");
	while (ld.neng > 0) {
		ENGINE *e = ld.eng[--ld.neng];
		unregister_all(e);
		ENGINE_finish(e);
		ENGINE_free(e);
	}
	while (ld.nprov > 0)
		OSSL_PROVIDER_unload(ld.prov[--ld.nprov]);
	/* "default" stays: once a provider was loaded explicitly, libcrypto
	 * never loads it implicitly again, and nothing would be left. */
	ERR_clear_error();
	(void)st_mlkem768_evp_probe();
}
