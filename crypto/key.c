#include "crypto/key.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "crypto/base64.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key_internal.h"
#include "crypto/secmem.h"

struct st_key {
	enum st_key_type type;
	int has_private;
	EVP_PKEY *pkey; /* owned */
};

static const struct key_type_info {
	enum st_key_type type;
	const char *name;  /* SSH wire name */
	const char *label; /* ssh-keygen -l / auth log label */
} key_types[] = {
	{ ST_KEY_ED25519, "ssh-ed25519", "ED25519" },
	{ ST_KEY_ECDSA_P256, "ecdsa-sha2-nistp256", "ECDSA" },
	{ ST_KEY_RSA, "ssh-rsa", "RSA" },
};

#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

#define ECDSA_CURVE_NAME "nistp256"  /* RFC 5656 §6.1 identifier in blobs */
#define P256_OSSL_GROUP "prime256v1" /* the same curve in libcrypto */
#define P256_FIELD_BYTES 32
#define P256_POINT_BYTES (1 + 2 * P256_FIELD_BYTES) /* SEC1 uncompressed */
#define RSA_MAX_BYTES (ST_KEY_RSA_MAX_BITS / 8)

static const struct key_type_info *key_info(enum st_key_type type)
{
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].type == type)
			return &key_types[i];
	return NULL;
}

int st_key_type_from_name(const char *name, size_t len, enum st_key_type *out)
{
	for (size_t i = 0; i < N_KEY_TYPES; i++) {
		if (strlen(key_types[i].name) == len && memcmp(key_types[i].name, name, len) == 0) {
			*out = key_types[i].type;
			return ST_OK;
		}
	}
	return ST_ERR_KEY_TYPE_UNKNOWN;
}

EVP_PKEY *st_key_pkey(const struct st_key *k)
{
	return k->pkey;
}

enum st_key_type st_key_type(const struct st_key *k)
{
	return k->type;
}

const char *st_key_type_name(const struct st_key *k)
{
	const struct key_type_info *ti = key_info(k->type);
	return ti != NULL ? ti->name : "unknown";
}

const char *st_key_type_label(const struct st_key *k)
{
	const struct key_type_info *ti = key_info(k->type);
	return ti != NULL ? ti->label : "UNKNOWN";
}

int st_key_bits(const struct st_key *k)
{
	switch (k->type) {
	case ST_KEY_ED25519:
	case ST_KEY_ECDSA_P256:
		return 256;
	case ST_KEY_RSA:
		return EVP_PKEY_get_bits(k->pkey);
	}
	return 0;
}

int st_key_has_private(const struct st_key *k)
{
	return k->has_private;
}

void st_key_free(struct st_key *k)
{
	if (k == NULL)
		return;
	/* libcrypto clears private key material (BN_clear_free, secure heap) on free. */
	EVP_PKEY_free(k->pkey);
	st_wipe(k, sizeof(*k));
	free(k);
}

/* --- validation ----------------------------------------------------------- */

/* Public RSA parameters OpenSSH would accept (and a bit stricter on e). */
static int rsa_check_public(const BIGNUM *n, const BIGNUM *e)
{
	int bits = BN_num_bits(n);

	if (bits < ST_KEY_RSA_MIN_BITS || bits > ST_KEY_RSA_MAX_BITS || !BN_is_odd(n))
		return ST_ERR_KEY_INVALID;
	/* e odd, e >= 3 (an odd value with at least two bits), e < n. */
	if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_cmp(e, n) >= 0)
		return ST_ERR_KEY_INVALID;
	return ST_OK;
}

/*
 * The private RSA parameters belong to the public ones: n = p*q, e*d = 1
 * modulo p-1 and q-1, iqmp*q = 1 mod p with iqmp < p, and (when given) the
 * CRT exponents are d mod (p-1) and d mod (q-1). Runs only when a key is
 * loaded, not per signature.
 */
static int rsa_check_private(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d, const BIGNUM *p,
			     const BIGNUM *q, const BIGNUM *dmp1, const BIGNUM *dmq1,
			     const BIGNUM *iqmp)
{
	BN_CTX *ctx = NULL;
	BIGNUM *t, *pm1, *qm1;
	int r = ST_ERR_KEY_INVALID;

	if (BN_num_bits(p) < 2 || BN_num_bits(q) < 2 || BN_is_zero(d) || BN_is_negative(d) ||
	    BN_is_negative(p) || BN_is_negative(q) || BN_is_negative(iqmp) || BN_cmp(iqmp, p) >= 0)
		return ST_ERR_KEY_INVALID;
	if ((ctx = BN_CTX_secure_new()) == NULL)
		return ST_ERR_ALLOC;
	BN_CTX_start(ctx);
	t = BN_CTX_get(ctx);
	pm1 = BN_CTX_get(ctx);
	qm1 = BN_CTX_get(ctx);
	if (qm1 == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (!BN_mul(t, p, q, ctx) || !BN_copy(pm1, p) || !BN_sub_word(pm1, 1) || !BN_copy(qm1, q) ||
	    !BN_sub_word(qm1, 1)) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (BN_cmp(t, n) != 0)
		goto out;
	if (!BN_mod_mul(t, e, d, pm1, ctx) || !BN_is_one(t))
		goto out;
	if (!BN_mod_mul(t, e, d, qm1, ctx) || !BN_is_one(t))
		goto out;
	if (!BN_mod_mul(t, iqmp, q, p, ctx) || !BN_is_one(t))
		goto out;
	if (dmp1 != NULL && (!BN_mod(t, d, pm1, ctx) || BN_cmp(t, dmp1) != 0))
		goto out;
	if (dmq1 != NULL && (!BN_mod(t, d, qm1, ctx) || BN_cmp(t, dmq1) != 0))
		goto out;
	r = ST_OK;
out:
	BN_CTX_end(ctx); /* clears the secure frame */
	BN_CTX_free(ctx);
	return r;
}

static int rsa_validate(EVP_PKEY *pkey, int has_private)
{
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *p = NULL, *q = NULL;
	BIGNUM *dmp1 = NULL, *dmq1 = NULL, *iqmp = NULL;
	int r;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	if ((r = rsa_check_public(n, e)) != ST_OK || !has_private)
		goto out;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &p) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, &q) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, &dmp1) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, &dmq1) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &iqmp)) {
		r = ST_ERR_KEY_INVALID; /* private key without CRT factors */
		goto out;
	}
	r = rsa_check_private(n, e, d, p, q, dmp1, dmq1, iqmp);
out:
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(dmp1);
	BN_clear_free(dmq1);
	BN_clear_free(iqmp);
	return r;
}

static int ecdsa_validate(EVP_PKEY *pkey, int has_private)
{
	EVP_PKEY_CTX *ctx = NULL;
	char group[64];
	size_t glen = 0;
	int r = ST_ERR_KEY_INVALID;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    &glen) ||
	    strcmp(group, P256_OSSL_GROUP) != 0)
		return ST_ERR_KEY_TYPE_UNKNOWN; /* another curve, or explicit parameters */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return ST_ERR_ALLOC;
	/* On the curve, not infinity, order * Q = infinity. */
	if (EVP_PKEY_public_check(ctx) != 1)
		goto out;
	/* 1 <= d < order and d * G == Q. */
	if (has_private && (EVP_PKEY_private_check(ctx) != 1 || EVP_PKEY_pairwise_check(ctx) != 1))
		goto out;
	r = ST_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int pkey_has_private(EVP_PKEY *pkey, enum st_key_type type)
{
	BIGNUM *bn = NULL;
	size_t len = 0;
	int ok = 0;

	switch (type) {
	case ST_KEY_ED25519:
		ok = EVP_PKEY_get_raw_private_key(pkey, NULL, &len) == 1 &&
		     len == ST_ED25519_SEED_SIZE;
		break;
	case ST_KEY_ECDSA_P256:
		ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
		break;
	case ST_KEY_RSA:
		ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
		break;
	}
	BN_clear_free(bn);
	return ok;
}

/*
 * Validates pkey as a key of `type` and wraps it. On ST_OK *out owns pkey;
 * otherwise the caller keeps it. Leaves libcrypto's error queue empty on
 * failure so that expected rejections do not pile up there.
 */
static int key_adopt(EVP_PKEY *pkey, enum st_key_type type, int has_private, struct st_key **out)
{
	struct st_key *k = NULL;
	int r;

	if (has_private && !pkey_has_private(pkey, type)) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	switch (type) {
	case ST_KEY_ED25519:
		r = ST_OK; /* any 32 bytes are a valid encoding; the seed determines the rest */
		break;
	case ST_KEY_ECDSA_P256:
		r = ecdsa_validate(pkey, has_private);
		break;
	case ST_KEY_RSA:
		r = rsa_validate(pkey, has_private);
		break;
	default:
		r = ST_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
	if (r != ST_OK)
		goto out;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	k->type = type;
	k->has_private = has_private ? 1 : 0;
	k->pkey = pkey;
	*out = k;
	r = ST_OK;
out:
	if (r != ST_OK)
		ERR_clear_error();
	return r;
}

int st_key_from_pkey(EVP_PKEY *pkey, int want_private, struct st_key **out)
{
	enum st_key_type type;

	if (pkey == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		type = ST_KEY_ED25519;
	else if (EVP_PKEY_is_a(pkey, "EC"))
		type = ST_KEY_ECDSA_P256;
	else if (EVP_PKEY_is_a(pkey, "RSA"))
		type = ST_KEY_RSA; /* not RSA-PSS: that is a distinct type */
	else
		return ST_ERR_KEY_TYPE_UNKNOWN;
	return key_adopt(pkey, type, want_private, out);
}

/* --- constructors from raw components ----------------------------------- */

int st_key_ed25519_from_raw(const uint8_t *pub, const uint8_t *seed, struct st_key **out)
{
	EVP_PKEY *pkey = NULL;
	uint8_t derived[ST_ED25519_PUBLIC_SIZE];
	size_t dlen = sizeof(derived);
	int r;

	if (pub == NULL && seed == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (seed != NULL) {
		pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed,
						       ST_ED25519_SEED_SIZE);
		if (pkey == NULL) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		if (EVP_PKEY_get_raw_public_key(pkey, derived, &dlen) != 1 ||
		    dlen != sizeof(derived)) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		if (pub != NULL && !st_ct_equal(derived, pub, sizeof(derived))) {
			r = ST_ERR_KEY_INVALID;
			goto out;
		}
	} else {
		pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub,
						      ST_ED25519_PUBLIC_SIZE);
		if (pkey == NULL) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
	}
	if ((r = key_adopt(pkey, ST_KEY_ED25519, seed != NULL, out)) != ST_OK)
		goto out;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	if (r != ST_OK)
		ERR_clear_error();
	return r;
}

int st_key_ed25519_from_seed(const uint8_t seed[ST_ED25519_SEED_SIZE], struct st_key **out)
{
	return st_key_ed25519_from_raw(NULL, seed, out);
}

/* EVP_PKEY_fromdata() for `keytype` over the parameters built in bld. */
static int pkey_fromdata(const char *keytype, OSSL_PARAM_BLD *bld, int selection, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, keytype, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1 || pkey == NULL) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	*out = pkey;
	r = ST_OK;
out:
	/* Secret parameters sit in the builder's secure block, cleared on free. */
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int st_key_ecdsa_from_raw(const uint8_t *q, size_t qlen, const uint8_t *d, size_t dlen,
			  struct st_key **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *dbn = NULL;
	EVP_PKEY *pkey = NULL;
	int r;

	/* OpenSSH accepts only uncompressed points; so do we. */
	if (qlen != P256_POINT_BYTES || q[0] != 0x04)
		return ST_ERR_KEY_INVALID;
	if (d != NULL && dlen > ST_BUF_MAX_MPINT_BYTES)
		return ST_ERR_KEY_INVALID;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, P256_OSSL_GROUP, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen)) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (d != NULL) {
		/* A secure BIGNUM makes the builder keep it in memory cleared on free. */
		if ((dbn = BN_secure_new()) == NULL || BN_bin2bn(d, (int)dlen, dbn) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn)) {
			r = ST_ERR_ALLOC;
			goto out;
		}
	}
	if ((r = pkey_fromdata("EC", bld, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			       &pkey)) != ST_OK)
		goto out;
	if ((r = key_adopt(pkey, ST_KEY_ECDSA_P256, d != NULL, out)) != ST_OK)
		goto out;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BN_clear_free(dbn);
	OSSL_PARAM_BLD_free(bld);
	if (r != ST_OK)
		ERR_clear_error();
	return r;
}

/* A BIGNUM from a magnitude; secure (cleared on free) when `secret`. */
static int bn_from_mag(const uint8_t *p, size_t len, int secret, BIGNUM **out)
{
	BIGNUM *bn;

	if (len > ST_BUF_MAX_MPINT_BYTES)
		return ST_ERR_KEY_INVALID;
	if ((bn = secret ? BN_secure_new() : BN_new()) == NULL)
		return ST_ERR_ALLOC;
	if (BN_bin2bn(p, (int)len, bn) == NULL) {
		BN_clear_free(bn);
		return ST_ERR_ALLOC;
	}
	*out = bn;
	return ST_OK;
}

int st_key_rsa_from_raw(const struct st_key_rsa_raw *raw, struct st_key **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BN_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *p = NULL, *q = NULL, *iqmp = NULL;
	BIGNUM *dmp1 = NULL, *dmq1 = NULL, *t = NULL;
	EVP_PKEY *pkey = NULL;
	int priv = raw->d != NULL || raw->p != NULL || raw->q != NULL || raw->iqmp != NULL;
	int r;

	if (priv && (raw->d == NULL || raw->p == NULL || raw->q == NULL || raw->iqmp == NULL))
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = bn_from_mag(raw->n, raw->nlen, 0, &n)) != ST_OK ||
	    (r = bn_from_mag(raw->e, raw->elen, 0, &e)) != ST_OK)
		goto out;
	if ((r = rsa_check_public(n, e)) != ST_OK)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (priv) {
		if ((r = bn_from_mag(raw->d, raw->dlen, 1, &d)) != ST_OK ||
		    (r = bn_from_mag(raw->p, raw->plen, 1, &p)) != ST_OK ||
		    (r = bn_from_mag(raw->q, raw->qlen, 1, &q)) != ST_OK ||
		    (r = bn_from_mag(raw->iqmp, raw->iqmplen, 1, &iqmp)) != ST_OK)
			goto out;
		if (BN_num_bits(p) < 2 || BN_num_bits(q) < 2) {
			r = ST_ERR_KEY_INVALID;
			goto out;
		}
		/* openssh-key-v1 omits the CRT exponents: d mod (p-1), d mod (q-1). */
		if ((ctx = BN_CTX_secure_new()) == NULL || (dmp1 = BN_secure_new()) == NULL ||
		    (dmq1 = BN_secure_new()) == NULL || (t = BN_secure_new()) == NULL) {
			r = ST_ERR_ALLOC;
			goto out;
		}
		if (!BN_copy(t, p) || !BN_sub_word(t, 1) || !BN_mod(dmp1, d, t, ctx) ||
		    !BN_copy(t, q) || !BN_sub_word(t, 1) || !BN_mod(dmq1, d, t, ctx)) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		/* Consistency with n and e is checked once, in key_adopt(). */
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp)) {
			r = ST_ERR_ALLOC;
			goto out;
		}
	}
	if ((r = pkey_fromdata("RSA", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, &pkey)) !=
	    ST_OK)
		goto out;
	if ((r = key_adopt(pkey, ST_KEY_RSA, priv, out)) != ST_OK)
		goto out;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(iqmp);
	BN_clear_free(dmp1);
	BN_clear_free(dmq1);
	BN_clear_free(t);
	if (r != ST_OK)
		ERR_clear_error();
	return r;
}

/* --- public blobs --------------------------------------------------------- */

/*
 * The key type a blob names. Besides the key type names, the RSA signature
 * algorithm names rsa-sha2-256/512 name an RSA key: OpenSSH's
 * sshkey_type_from_name() maps them to KEY_RSA, so its sshkey_from_blob()
 * (the one blob parser it has, userauth included) takes such blobs, and
 * dev-tunnels-ssh sends its RSA user key that way. The key is the same RSA
 * key: st_key_to_blob() writes it back as "ssh-rsa", fingerprints and
 * authorized_keys matches see no difference, and which hash a signature uses
 * is still decided by the signature algorithm (crypto/sig.h).
 * st_key_type_from_name() stays strict: these are not key type names in
 * authorized_keys lines or key files.
 */
static int blob_type_from_name(const char *name, size_t len, enum st_key_type *out)
{
	static const char *const rsa_sig_names[] = { "rsa-sha2-256", "rsa-sha2-512" };

	if (st_key_type_from_name(name, len, out) == ST_OK)
		return ST_OK;
	for (size_t i = 0; i < sizeof(rsa_sig_names) / sizeof(rsa_sig_names[0]); i++) {
		if (strlen(rsa_sig_names[i]) == len && memcmp(rsa_sig_names[i], name, len) == 0) {
			*out = ST_KEY_RSA;
			return ST_OK;
		}
	}
	return ST_ERR_KEY_TYPE_UNKNOWN;
}

int st_key_from_blob(const uint8_t *blob, size_t len, struct st_key **out)
{
	struct st_buf b;
	const uint8_t *name, *f1, *f2;
	size_t namelen, l1, l2;
	enum st_key_type type;
	struct st_key *k = NULL;
	struct st_key_rsa_raw rsa;
	int r;

	st_buf_from(&b, blob, len);
	if (st_buf_get_string(&b, &name, &namelen) != ST_OK)
		return ST_ERR_KEY_INVALID;
	if ((r = blob_type_from_name((const char *)name, namelen, &type)) != ST_OK)
		return r;
	switch (type) {
	case ST_KEY_ED25519: /* RFC 8709 §4: string key */
		if (st_buf_get_string(&b, &f1, &l1) != ST_OK || l1 != ST_ED25519_PUBLIC_SIZE)
			return ST_ERR_KEY_INVALID;
		if (st_buf_end(&b) != ST_OK)
			return ST_ERR_TRAILING;
		r = st_key_ed25519_from_raw(f1, NULL, &k);
		break;
	case ST_KEY_ECDSA_P256: /* RFC 5656 §3.1: string curve, string Q */
		if (st_buf_get_string(&b, &f1, &l1) != ST_OK || l1 != strlen(ECDSA_CURVE_NAME) ||
		    memcmp(f1, ECDSA_CURVE_NAME, l1) != 0 ||
		    st_buf_get_string(&b, &f2, &l2) != ST_OK)
			return ST_ERR_KEY_INVALID;
		if (st_buf_end(&b) != ST_OK)
			return ST_ERR_TRAILING;
		r = st_key_ecdsa_from_raw(f2, l2, NULL, 0, &k);
		break;
	case ST_KEY_RSA: /* RFC 4253 §6.6: mpint e, mpint n */
		memset(&rsa, 0, sizeof(rsa));
		if (st_buf_get_mpint(&b, &rsa.e, &rsa.elen) != ST_OK ||
		    st_buf_get_mpint(&b, &rsa.n, &rsa.nlen) != ST_OK)
			return ST_ERR_KEY_INVALID;
		if (st_buf_end(&b) != ST_OK)
			return ST_ERR_TRAILING;
		r = st_key_rsa_from_raw(&rsa, &k);
		break;
	default:
		return ST_ERR_KEY_TYPE_UNKNOWN;
	}
	if (r != ST_OK)
		return r;
	*out = k;
	return ST_OK;
}

/* Appends the blob; on error out may hold a partial blob (callers roll back). */
static int key_put_blob(const struct st_key *k, struct st_buf *out)
{
	uint8_t raw[RSA_MAX_BYTES];
	BIGNUM *x = NULL, *y = NULL;
	size_t len;
	int r;

	if ((r = st_buf_put_cstring(out, st_key_type_name(k))) != ST_OK)
		return r;
	switch (k->type) {
	case ST_KEY_ED25519:
		len = ST_ED25519_PUBLIC_SIZE;
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 ||
		    len != ST_ED25519_PUBLIC_SIZE) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		r = st_buf_put_string(out, raw, len);
		break;
	case ST_KEY_ECDSA_P256:
		/* Build the uncompressed point from the affine coordinates. */
		if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
		    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		raw[0] = 0x04;
		if (BN_bn2binpad(x, raw + 1, P256_FIELD_BYTES) != P256_FIELD_BYTES ||
		    BN_bn2binpad(y, raw + 1 + P256_FIELD_BYTES, P256_FIELD_BYTES) !=
			    P256_FIELD_BYTES) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		if ((r = st_buf_put_cstring(out, ECDSA_CURVE_NAME)) != ST_OK)
			goto out;
		r = st_buf_put_string(out, raw, P256_POINT_BYTES);
		break;
	case ST_KEY_RSA:
		if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &x) ||
		    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &y) ||
		    BN_num_bytes(x) > (int)sizeof(raw) || BN_num_bytes(y) > (int)sizeof(raw)) {
			r = ST_ERR_CRYPTO;
			goto out;
		}
		len = (size_t)BN_bn2bin(x, raw);
		if ((r = st_buf_put_mpint(out, raw, len)) != ST_OK)
			goto out;
		len = (size_t)BN_bn2bin(y, raw);
		r = st_buf_put_mpint(out, raw, len);
		break;
	default:
		r = ST_ERR_INTERNAL;
		break;
	}
out:
	BN_free(x);
	BN_free(y);
	if (r != ST_OK)
		ERR_clear_error();
	return r;
}

int st_key_to_blob(const struct st_key *k, struct st_buf *out)
{
	size_t start = out->len;
	int r;

	if ((r = key_put_blob(k, out)) != ST_OK)
		out->len = start;
	return r;
}

/* The public blob in a fresh owned buffer (freed by the caller). */
static int key_blob_alloc(const struct st_key *k, struct st_buf *b)
{
	int r;

	if ((r = st_buf_alloc(b, 512, ST_KEY_BLOB_MAX)) != ST_OK)
		return r;
	if ((r = key_put_blob(k, b)) != ST_OK)
		st_buf_free(b);
	return r;
}

int st_key_equal_public(const struct st_key *a, const struct st_key *b)
{
	struct st_buf ba, bb;
	int eq;

	if (a == NULL || b == NULL || a->type != b->type)
		return 0;
	if (key_blob_alloc(a, &ba) != ST_OK)
		return 0;
	if (key_blob_alloc(b, &bb) != ST_OK) {
		st_buf_free(&ba);
		return 0;
	}
	eq = st_buf_avail(&ba) == st_buf_avail(&bb) &&
	     memcmp(st_buf_ptr(&ba), st_buf_ptr(&bb), st_buf_avail(&ba)) == 0;
	st_buf_free(&ba);
	st_buf_free(&bb);
	return eq;
}

int st_blob_fingerprint_sha256(const uint8_t *blob, size_t len, char *out, size_t outsz)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[64];
	int r, n;

	if (outsz > 0)
		out[0] = '\0';
	if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return ST_ERR_CRYPTO;
	if ((r = st_base64_encode(md, mdlen, b64, sizeof(b64), ST_BASE64_NOPAD)) != ST_OK)
		return r;
	n = snprintf(out, outsz, "SHA256:%s", b64);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return ST_ERR_NO_SPACE;
	}
	return ST_OK;
}

int st_key_fingerprint_sha256(const struct st_key *k, char *out, size_t outsz)
{
	struct st_buf b;
	int r;

	if (outsz > 0)
		out[0] = '\0';
	if ((r = key_blob_alloc(k, &b)) != ST_OK)
		return r;
	r = st_blob_fingerprint_sha256(st_buf_ptr(&b), st_buf_avail(&b), out, outsz);
	st_buf_free(&b);
	return r;
}

/* --- public key lines ------------------------------------------------------ */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_eol(char c)
{
	return c == '\r' || c == '\n';
}

int st_key_parse_public_line(const char *line, struct st_key **out, char *comment, size_t commentsz)
{
	const char *p = line, *type, *b64, *c = "", *end;
	size_t typelen, b64len, clen = 0;
	enum st_key_type t;
	struct st_buf blob;
	struct st_key *k = NULL;
	int r;

	memset(&blob, 0, sizeof(blob));
	while (is_blank(*p))
		p++;
	for (type = p; *p != '\0' && !is_blank(*p) && !is_eol(*p); p++)
		;
	typelen = (size_t)(p - type);
	if (typelen == 0)
		return ST_ERR_FORMAT;
	if ((r = st_key_type_from_name(type, typelen, &t)) != ST_OK)
		return r;
	if (!is_blank(*p))
		return ST_ERR_FORMAT; /* no blob */
	while (is_blank(*p))
		p++;
	for (b64 = p; *p != '\0' && !is_blank(*p) && !is_eol(*p); p++)
		;
	b64len = (size_t)(p - b64);
	if (b64len == 0)
		return ST_ERR_FORMAT;
	if (is_blank(*p)) {
		while (is_blank(*p))
			p++;
		c = p;
		while (*p != '\0' && !is_eol(*p))
			p++;
		/* Trailing blanks are not part of the comment. */
		for (end = p; end > c && is_blank(end[-1]); end--)
			;
		clen = (size_t)(end - c);
	}
	/* At most one line break, and nothing after it. */
	if (p[0] == '\r' && p[1] == '\n')
		p += 2;
	else if (p[0] == '\n')
		p++;
	if (*p != '\0')
		return ST_ERR_FORMAT;
	if (comment != NULL && clen >= commentsz)
		return ST_ERR_STRING_TOO_LARGE;

	if ((r = st_buf_alloc(&blob, 512, ST_KEY_BLOB_MAX)) != ST_OK)
		return r;
	if ((r = st_base64_decode(b64, b64len, &blob, 0)) != ST_OK) {
		r = r == ST_ERR_NO_SPACE ? ST_ERR_KEY_INVALID : r;
		goto out;
	}
	if ((r = st_key_from_blob(st_buf_ptr(&blob), st_buf_avail(&blob), &k)) != ST_OK)
		goto out;
	if (st_key_type(k) != t) {
		r = ST_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if (comment != NULL) {
		memcpy(comment, c, clen);
		comment[clen] = '\0';
	}
	*out = k;
	k = NULL;
	r = ST_OK;
out:
	st_key_free(k);
	st_buf_free(&blob);
	return r;
}

int st_key_format_public_line(const struct st_key *k, const char *comment, char *out, size_t outsz)
{
	const char *name = st_key_type_name(k);
	struct st_buf blob;
	size_t nlen = strlen(name), clen = comment != NULL ? strlen(comment) : 0, b64size, need;
	int r;

	if (outsz > 0)
		out[0] = '\0';
	if (comment != NULL && strpbrk(comment, "\r\n") != NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = key_blob_alloc(k, &blob)) != ST_OK)
		return r;
	b64size = st_base64_encoded_size(st_buf_avail(&blob), 0); /* includes the NUL */
	need = nlen + 1 + b64size + (clen > 0 ? 1 + clen : 0);
	if (need > outsz) {
		r = ST_ERR_NO_SPACE;
		goto out;
	}
	memcpy(out, name, nlen);
	out[nlen] = ' ';
	if ((r = st_base64_encode(st_buf_ptr(&blob), st_buf_avail(&blob), out + nlen + 1,
				  outsz - nlen - 1, 0)) != ST_OK)
		goto out;
	if (clen > 0) {
		size_t at = nlen + 1 + b64size - 1;
		out[at] = ' ';
		memcpy(out + at + 1, comment, clen);
		out[at + 1 + clen] = '\0';
	}
	r = ST_OK;
out:
	if (r != ST_OK && outsz > 0)
		out[0] = '\0';
	st_buf_free(&blob);
	return r;
}

/* --- generation ----------------------------------------------------------- */

int st_key_generate(enum st_key_type type, int bits, struct st_key **out)
{
	EVP_PKEY *pkey = NULL;
	int r;

	switch (type) {
	case ST_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case ST_KEY_ECDSA_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ST_KEY_RSA:
		if (bits < ST_KEY_RSA_MIN_BITS || bits > ST_KEY_RSA_MAX_BITS)
			return ST_ERR_INVALID_ARGUMENT;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	default:
		return ST_ERR_INVALID_ARGUMENT;
	}
	if (pkey == NULL) {
		ERR_clear_error();
		return ST_ERR_CRYPTO;
	}
	if ((r = key_adopt(pkey, type, 1, out)) != ST_OK)
		EVP_PKEY_free(pkey);
	return r;
}
