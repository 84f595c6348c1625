#include "crypto/sig.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/key_internal.h"
#include "crypto/secmem.h"

static const struct sig_alg_info {
	enum st_sig_alg alg;
	const char *name;
	const char *cert_name; /* the OpenSSH certificate form (PROTOCOL.certkeys) */
	enum st_key_type key_type;
	const char *digest; /* NULL: pure Ed25519 */
} sig_algs[] = {
	{ ST_SIG_ED25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", ST_KEY_ED25519,
	  NULL },
	{ ST_SIG_ECDSA_P256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
	  ST_KEY_ECDSA_P256, "SHA256" },
	{ ST_SIG_RSA_SHA256, "rsa-sha2-256", "rsa-sha2-256-cert-v01@openssh.com", ST_KEY_RSA,
	  "SHA256" },
	{ ST_SIG_RSA_SHA512, "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com", ST_KEY_RSA,
	  "SHA512" },
};

#define N_SIG_ALGS (sizeof(sig_algs) / sizeof(sig_algs[0]))

#define ED25519_SIG_BYTES 64
#define P256_SCALAR_BYTES 32
#define RSA_MAX_SIG_BYTES (ST_KEY_RSA_MAX_BITS / 8)

/* The order n of the P-256 base point (FIPS 186-4 D.1.2.3), big-endian. */
static const uint8_t p256_order[P256_SCALAR_BYTES] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static const struct sig_alg_info *sig_info(enum st_sig_alg alg)
{
	for (size_t i = 0; i < N_SIG_ALGS; i++)
		if (sig_algs[i].alg == alg)
			return &sig_algs[i];
	return NULL;
}

int st_sig_alg_from_name(const char *name, size_t len, enum st_sig_alg *out)
{
	for (size_t i = 0; i < N_SIG_ALGS; i++) {
		if (strlen(sig_algs[i].name) == len && memcmp(sig_algs[i].name, name, len) == 0) {
			*out = sig_algs[i].alg;
			return ST_OK;
		}
	}
	return ST_ERR_ALG_UNSUPPORTED;
}

int st_sig_alg_from_cert_name(const char *name, size_t len, enum st_sig_alg *out)
{
	for (size_t i = 0; i < N_SIG_ALGS; i++) {
		if (strlen(sig_algs[i].cert_name) == len &&
		    memcmp(sig_algs[i].cert_name, name, len) == 0) {
			*out = sig_algs[i].alg;
			return ST_OK;
		}
	}
	return ST_ERR_ALG_UNSUPPORTED;
}

const char *st_sig_alg_cert_name(enum st_sig_alg alg)
{
	const struct sig_alg_info *si = sig_info(alg);
	return si != NULL ? si->cert_name : "unknown";
}

const char *st_sig_alg_name(enum st_sig_alg alg)
{
	const struct sig_alg_info *si = sig_info(alg);
	return si != NULL ? si->name : "unknown";
}

int st_sig_alg_matches_key(enum st_sig_alg alg, const struct st_key *k)
{
	const struct sig_alg_info *si = sig_info(alg);
	return si != NULL && si->key_type == st_key_type(k);
}

/* The algorithm's table entry, checked against the key. */
static int sig_lookup(enum st_sig_alg alg, const struct st_key *k, const struct sig_alg_info **out)
{
	const struct sig_alg_info *si = sig_info(alg);

	if (si == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (si->key_type != st_key_type(k))
		return ST_ERR_KEY_TYPE_MISMATCH;
	*out = si;
	return ST_OK;
}

/* A digest-sign or digest-verify context for the algorithm, PKCS#1 v1.5 for RSA. */
static int sig_ctx_init(const struct sig_alg_info *si, const struct st_key *k, int sign,
			EVP_MD_CTX **out)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return ST_ERR_ALLOC;
	if (sign)
		ok = EVP_DigestSignInit_ex(md, &pctx, si->digest, NULL, NULL, st_key_pkey(k),
					   NULL) == 1;
	else
		ok = EVP_DigestVerifyInit_ex(md, &pctx, si->digest, NULL, NULL, st_key_pkey(k),
					     NULL) == 1;
	if (ok && si->key_type == ST_KEY_RSA)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	if (!ok) {
		EVP_MD_CTX_free(md);
		return ST_ERR_CRYPTO;
	}
	*out = md;
	return ST_OK;
}

/* DER ECDSA-Sig-Value -> the RFC 5656 inner string (mpint r, mpint s), appended to out. */
static int ecdsa_der_to_ssh(const uint8_t *der, size_t derlen, struct st_buf *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *br, *bs;
	uint8_t r[P256_SCALAR_BYTES], s[P256_SCALAR_BYTES];
	uint8_t inner_mem[2 * (4 + 1 + P256_SCALAR_BYTES)];
	struct st_buf inner;
	int ret;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL || p != der + derlen) {
		ret = ST_ERR_CRYPTO;
		goto out;
	}
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, r, sizeof(r)) < 0 || BN_bn2binpad(bs, s, sizeof(s)) < 0) {
		ret = ST_ERR_CRYPTO;
		goto out;
	}
	st_buf_wrap(&inner, inner_mem, sizeof(inner_mem));
	if ((ret = st_buf_put_mpint(&inner, r, sizeof(r))) != ST_OK ||
	    (ret = st_buf_put_mpint(&inner, s, sizeof(s))) != ST_OK)
		goto out;
	ret = st_buf_put_stringb(out, &inner);
out:
	ECDSA_SIG_free(es);
	return ret;
}

int st_sig_sign(const struct st_key *k, enum st_sig_alg alg, const uint8_t *data, size_t len,
		struct st_buf *out)
{
	static const uint8_t empty[1];
	const struct sig_alg_info *si;
	EVP_MD_CTX *md = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0, start = out->len;
	int r;

	if ((r = sig_lookup(alg, k, &si)) != ST_OK)
		return r;
	if (!st_key_has_private(k))
		return ST_ERR_INVALID_ARGUMENT;
	if (data == NULL)
		data = empty; /* len is 0; libcrypto wants a pointer */
	if ((r = sig_ctx_init(si, k, 1, &md)) != ST_OK)
		goto out;
	if (EVP_DigestSign(md, NULL, &siglen, data, len) != 1 || siglen == 0) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((sig = malloc(siglen)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestSign(md, sig, &siglen, data, len) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = st_buf_put_cstring(out, si->name)) != ST_OK)
		goto out;
	switch (si->key_type) {
	case ST_KEY_ED25519:
		r = siglen == ED25519_SIG_BYTES ? st_buf_put_string(out, sig, siglen)
						: ST_ERR_CRYPTO;
		break;
	case ST_KEY_ECDSA_P256:
		r = ecdsa_der_to_ssh(sig, siglen, out);
		break;
	case ST_KEY_RSA:
		/* libcrypto always emits exactly the modulus length. */
		r = siglen == (size_t)EVP_PKEY_get_size(st_key_pkey(k))
			    ? st_buf_put_string(out, sig, siglen)
			    : ST_ERR_CRYPTO;
		break;
	}
out:
	if (r != ST_OK) {
		out->len = start;
		ERR_clear_error();
	}
	free(sig);
	EVP_MD_CTX_free(md);
	return r;
}

/* Magnitude (no leading zeros) in [1, n-1] for the P-256 order n. */
static int p256_scalar_in_range(const uint8_t *mag, size_t len)
{
	uint8_t v[P256_SCALAR_BYTES] = { 0 };

	if (len == 0 || len > P256_SCALAR_BYTES)
		return 0;
	memcpy(v + sizeof(v) - len, mag, len);
	return memcmp(v, p256_order, sizeof(v)) < 0;
}

/* RFC 5656 inner string (mpint r, mpint s) -> DER for libcrypto; *der is malloc'd. */
static int ecdsa_ssh_to_der(const uint8_t *p, size_t len, uint8_t **der, size_t *derlen)
{
	struct st_buf b;
	const uint8_t *rm, *sm;
	size_t rl, sl;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *d = NULL;
	int n, r;

	st_buf_from(&b, p, len);
	if (st_buf_get_mpint(&b, &rm, &rl) != ST_OK || st_buf_get_mpint(&b, &sm, &sl) != ST_OK ||
	    st_buf_end(&b) != ST_OK)
		return ST_ERR_FORMAT;
	if (!p256_scalar_in_range(rm, rl) || !p256_scalar_in_range(sm, sl))
		return ST_ERR_SIG_INVALID;
	if ((es = ECDSA_SIG_new()) == NULL || (br = BN_bin2bn(rm, (int)rl, NULL)) == NULL ||
	    (bs = BN_bin2bn(sm, (int)sl, NULL)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (!ECDSA_SIG_set0(es, br, bs)) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	br = bs = NULL; /* owned by es now */
	if ((n = i2d_ECDSA_SIG(es, &d)) <= 0) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	*der = d;
	*derlen = (size_t)n;
	r = ST_OK;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

int st_sig_verify(const struct st_key *k, enum st_sig_alg alg, const uint8_t *sig, size_t siglen,
		  const uint8_t *data, size_t len)
{
	static const uint8_t empty[1];
	const struct sig_alg_info *si;
	struct st_buf b;
	const uint8_t *name, *s;
	size_t namelen, slen, modlen;
	uint8_t *der = NULL, *padded = NULL;
	EVP_MD_CTX *md = NULL;
	int r;

	if ((r = sig_lookup(alg, k, &si)) != ST_OK)
		return r;
	if (data == NULL)
		data = empty;
	st_buf_from(&b, sig, siglen);
	if (st_buf_get_string(&b, &name, &namelen) != ST_OK ||
	    st_buf_get_string(&b, &s, &slen) != ST_OK || st_buf_end(&b) != ST_OK)
		return ST_ERR_FORMAT;
	if (namelen != strlen(si->name) || memcmp(name, si->name, namelen) != 0)
		return ST_ERR_SIG_INVALID;

	switch (si->key_type) {
	case ST_KEY_ED25519:
		if (slen != ED25519_SIG_BYTES)
			return ST_ERR_FORMAT;
		break;
	case ST_KEY_ECDSA_P256:
		if ((r = ecdsa_ssh_to_der(s, slen, &der, &slen)) != ST_OK)
			return r;
		s = der;
		break;
	case ST_KEY_RSA:
		modlen = (size_t)EVP_PKEY_get_size(st_key_pkey(k));
		if (slen == 0 || slen > modlen || modlen > RSA_MAX_SIG_BYTES)
			return ST_ERR_SIG_INVALID;
		if (slen < modlen) {
			/* Some signers drop leading zeros; OpenSSH pads them back. */
			if ((padded = calloc(1, modlen)) == NULL)
				return ST_ERR_ALLOC;
			memcpy(padded + (modlen - slen), s, slen);
			s = padded;
			slen = modlen;
		}
		break;
	}
	if ((r = sig_ctx_init(si, k, 0, &md)) != ST_OK)
		goto out;
	r = EVP_DigestVerify(md, s, slen, data, len) == 1 ? ST_OK : ST_ERR_SIG_INVALID;
out:
	if (r != ST_OK)
		ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	free(padded);
	return r;
}
