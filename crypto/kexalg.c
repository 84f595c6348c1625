/*
 * Ephemeral key exchange over OpenSSL 3 EVP: one table entry per group with
 * its key generation, fixed-key construction and peer-value import; the
 * derivation and the encoding of K are shared.
 */
#include "crypto/kexalg.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

#define X25519_LEN 32
#define P256_SCALAR_LEN 32
#define P256_POINT_LEN (1 + 2 * 32) /* 0x04 || x || y */

struct kex_ops;

struct st_kex_keypair {
	enum st_kex_group group;
	const struct kex_ops *ops;
	EVP_PKEY *pkey; /* our key pair; the private half never leaves OpenSSL */
	size_t pub_len;
	uint8_t pub[ST_KEX_PUBLIC_MAX]; /* public value in st_kex_public() form */
	size_t p_len;                   /* DH only: the modulus, big-endian */
	uint8_t p[ST_KEX_PUBLIC_MAX];
};

struct kex_ops {
	const char *name;       /* for logs */
	const char *ossl_type;  /* OpenSSL key type */
	const char *ossl_group; /* OpenSSL group name (EC and DH) */
	int (*generate)(struct st_kex_keypair *kp);
	int (*from_private)(struct st_kex_keypair *kp, const uint8_t *priv, size_t len);
	/* Checks a peer value and imports it as an EVP_PKEY. */
	int (*peer_key)(const struct st_kex_keypair *kp, const uint8_t *peer, size_t len,
			EVP_PKEY **out);
	/* What a failed EVP derive means once the peer value was imported. */
	int derive_err;
};

/* --- shared OpenSSL helpers --- */

static int kex_keygen(const char *type, const OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int r;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_keygen_init(ctx) != 1 ||
	    (params != NULL && EVP_PKEY_CTX_set_params(ctx, params) != 1) ||
	    EVP_PKEY_generate(ctx, &k) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	*out = k;
	k = NULL;
	r = ST_OK;
out:
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/*
 * Builds a key of `type` from the parameters in bld. A refusal by OpenSSL
 * (bad point, bad value) gives `refused`; other failures ST_ERR_CRYPTO.
 * Parameters pushed as secure BIGNUMs are cleansed when freed.
 */
static int kex_fromdata(const char *type, int selection, OSSL_PARAM_BLD *bld, int refused,
			EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int r;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &k, selection, params) != 1) {
		r = refused;
		goto out;
	}
	*out = k;
	k = NULL;
	r = ST_OK;
out:
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Skips leading zero bytes of a big-endian number. */
static void strip_zeros(const uint8_t **p, size_t *len)
{
	while (*len > 0 && (*p)[0] == 0) {
		(*p)++;
		(*len)--;
	}
}

/* --- curve25519-sha256 (RFC 8731) --- */

static int x25519_fill_public(struct st_kex_keypair *kp)
{
	size_t len = sizeof(kp->pub);

	if (EVP_PKEY_get_raw_public_key(kp->pkey, kp->pub, &len) != 1 || len != X25519_LEN)
		return ST_ERR_CRYPTO;
	kp->pub_len = len;
	return ST_OK;
}

static int x25519_generate(struct st_kex_keypair *kp)
{
	int r;

	if ((r = kex_keygen(kp->ops->ossl_type, NULL, &kp->pkey)) != ST_OK)
		return r;
	return x25519_fill_public(kp);
}

static int x25519_from_private(struct st_kex_keypair *kp, const uint8_t *priv, size_t len)
{
	if (len != X25519_LEN)
		return ST_ERR_INVALID_ARGUMENT;
	kp->pkey = EVP_PKEY_new_raw_private_key_ex(NULL, kp->ops->ossl_type, NULL, priv, len);
	if (kp->pkey == NULL)
		return ST_ERR_CRYPTO;
	return x25519_fill_public(kp);
}

static int x25519_peer_key(const struct st_kex_keypair *kp, const uint8_t *peer, size_t len,
			   EVP_PKEY **out)
{
	EVP_PKEY *k;

	/* Every 32-byte string is a u-coordinate (RFC 7748 §5); only the length is checked. */
	if (len != X25519_LEN)
		return ST_ERR_KEX_PUBLIC_INVALID;
	k = EVP_PKEY_new_raw_public_key_ex(NULL, kp->ops->ossl_type, NULL, peer, len);
	if (k == NULL)
		return ST_ERR_CRYPTO;
	*out = k;
	return ST_OK;
}

/* --- ecdh-sha2-nistp256 (RFC 5656) --- */

static int p256_fill_public(struct st_kex_keypair *kp)
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(kp->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					    kp->pub, sizeof(kp->pub), &len) != 1 ||
	    len != P256_POINT_LEN || kp->pub[0] != POINT_CONVERSION_UNCOMPRESSED)
		return ST_ERR_CRYPTO;
	kp->pub_len = len;
	return ST_OK;
}

static int p256_generate(struct st_kex_keypair *kp)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						 (char *)kp->ops->ossl_group, 0),
		OSSL_PARAM_construct_end(),
	};
	int r;

	if ((r = kex_keygen(kp->ops->ossl_type, params, &kp->pkey)) != ST_OK)
		return r;
	return p256_fill_public(kp);
}

static int p256_from_private(struct st_kex_keypair *kp, const uint8_t *priv, size_t len)
{
	EC_GROUP *grp = NULL;
	EC_POINT *q = NULL;
	BIGNUM *d = NULL;
	BN_CTX *bnctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	uint8_t pub[P256_POINT_LEN];
	int r;

	if (len != P256_SCALAR_LEN)
		return ST_ERR_INVALID_ARGUMENT;
	if ((grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (q = EC_POINT_new(grp)) == NULL || (d = BN_secure_new()) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (BN_bin2bn(priv, (int)len, d) == NULL) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	BN_set_flags(d, BN_FLG_CONSTTIME);
	/* OpenSSL 3.0 does not derive the public point on import, so compute Q = dG here. */
	if (EC_POINT_mul(grp, q, d, NULL, NULL, bnctx) != 1 ||
	    EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), bnctx) !=
		    sizeof(pub)) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kp->ops->ossl_group,
					    0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = kex_fromdata(kp->ops->ossl_type, EVP_PKEY_KEYPAIR, bld, ST_ERR_KEY_INVALID,
			      &kp->pkey)) != ST_OK)
		goto out;
	r = p256_fill_public(kp);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_free(bnctx);
	BN_clear_free(d);
	EC_POINT_free(q);
	EC_GROUP_free(grp);
	return r;
}

static int p256_peer_key(const struct st_kex_keypair *kp, const uint8_t *peer, size_t len,
			 EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *k = NULL;
	int r;

	/* Only the uncompressed form (RFC 5656 §3.1 with SEC1 §2.3.3); never infinity (0x00). */
	if (len != P256_POINT_LEN || peer[0] != POINT_CONVERSION_UNCOMPRESSED)
		return ST_ERR_KEX_PUBLIC_INVALID;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kp->ops->ossl_group,
					    0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, peer, len) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	/* The import decodes the point: coordinates must be below p and on the curve. */
	if ((r = kex_fromdata(kp->ops->ossl_type, EVP_PKEY_PUBLIC_KEY, bld,
			      ST_ERR_KEX_PUBLIC_INVALID, &k)) != ST_OK)
		goto out;
	/* Checked again explicitly, so the guarantee does not rest on import internals. */
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_public_check_quick(check) != 1) {
		r = ST_ERR_KEX_PUBLIC_INVALID;
		goto out;
	}
	*out = k;
	k = NULL;
	r = ST_OK;
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(k);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/* --- diffie-hellman-group14 / group16 (RFC 3526 groups, RFC 8268) --- */

/* Copies a BIGNUM parameter of pkey into out[0..ST_KEX_PUBLIC_MAX) as minimal big-endian. */
static int dh_get_bn(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t *outlen)
{
	BIGNUM *bn = NULL;
	int n, r;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	n = BN_num_bytes(bn);
	if (n <= 0 || n > ST_KEX_PUBLIC_MAX || BN_bn2bin(bn, out) != n) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	*outlen = (size_t)n;
	r = ST_OK;
out:
	BN_free(bn);
	return r;
}

static int dh_fill_public(struct st_kex_keypair *kp)
{
	int r;

	if ((r = dh_get_bn(kp->pkey, OSSL_PKEY_PARAM_PUB_KEY, kp->pub, &kp->pub_len)) != ST_OK ||
	    (r = dh_get_bn(kp->pkey, OSSL_PKEY_PARAM_FFC_P, kp->p, &kp->p_len)) != ST_OK)
		return r;
	/* The range check below relies on an odd modulus of more than one byte. */
	if (kp->p_len < 2 || (kp->p[kp->p_len - 1] & 1) == 0)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

static int dh_generate(struct st_kex_keypair *kp)
{
	int bits = ST_KEX_DH_PRIV_BITS;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						 (char *)kp->ops->ossl_group, 0),
		OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &bits),
		OSSL_PARAM_construct_end(),
	};
	int r;

	if ((r = kex_keygen(kp->ops->ossl_type, params, &kp->pkey)) != ST_OK)
		return r;
	return dh_fill_public(kp);
}

/* 1 when 1 < y < p - 1, for minimal big-endian y and odd p (comparison of public values). */
static int dh_in_range(const struct st_kex_keypair *kp, const uint8_t *y, size_t ylen)
{
	const uint8_t *p = kp->p;
	size_t plen = kp->p_len;
	int c;

	if (ylen == 0 || (ylen == 1 && y[0] <= 1))
		return 0;
	if (ylen != plen)
		return ylen < plen;
	/* p is odd, so p - 1 is p with its last byte decremented and no borrow. */
	if ((c = memcmp(y, p, plen - 1)) != 0)
		return c < 0;
	return y[plen - 1] < p[plen - 1] - 1;
}

static int dh_from_private(struct st_kex_keypair *kp, const uint8_t *priv, size_t len)
{
	OSSL_PARAM_BLD *bld = NULL, *bld2 = NULL;
	EVP_PKEY *params_key = NULL;
	BIGNUM *p = NULL, *g = NULL, *pm1 = NULL, *x = NULL, *y = NULL;
	BN_CTX *bnctx = NULL;
	int r;

	strip_zeros(&priv, &len);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || (bld2 = OSSL_PARAM_BLD_new()) == NULL ||
	    (x = BN_secure_new()) == NULL || (y = BN_new()) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	/* The group's p and g, from a parameters-only key. */
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kp->ops->ossl_group,
					    0) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = kex_fromdata(kp->ops->ossl_type, EVP_PKEY_KEY_PARAMETERS, bld, ST_ERR_CRYPTO,
			      &params_key)) != ST_OK)
		goto out;
	if (EVP_PKEY_get_bn_param(params_key, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
	    EVP_PKEY_get_bn_param(params_key, OSSL_PKEY_PARAM_FFC_G, &g) != 1 ||
	    (pm1 = BN_dup(p)) == NULL || BN_sub_word(pm1, 1) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (len > (size_t)BN_num_bytes(p)) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	if (BN_bin2bn(priv, (int)len, x) == NULL) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (BN_cmp(x, BN_value_one()) <= 0 || BN_cmp(x, pm1) >= 0) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	/* OpenSSL 3.0 does not derive the public value on import: y = g^x mod p. */
	if (BN_mod_exp_mont_consttime(y, g, x, p, bnctx, NULL) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld2, OSSL_PKEY_PARAM_GROUP_NAME, kp->ops->ossl_group,
					    0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld2, OSSL_PKEY_PARAM_PRIV_KEY, x) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld2, OSSL_PKEY_PARAM_PUB_KEY, y) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = kex_fromdata(kp->ops->ossl_type, EVP_PKEY_KEYPAIR, bld2, ST_ERR_KEY_INVALID,
			      &kp->pkey)) != ST_OK)
		goto out;
	r = dh_fill_public(kp);
out:
	BN_CTX_free(bnctx);
	BN_free(y);
	BN_clear_free(x);
	BN_free(pm1);
	BN_free(g);
	BN_free(p);
	EVP_PKEY_free(params_key);
	OSSL_PARAM_BLD_free(bld2);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int dh_peer_key(const struct st_kex_keypair *kp, const uint8_t *peer, size_t len,
		       EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *y = NULL;
	EVP_PKEY *k = NULL;
	int r;

	strip_zeros(&peer, &len);
	/* RFC 4253 §8: 1 < f < p-1. Cheap, and excludes 0, 1 and p-1 (order 1 and 2). */
	if (!dh_in_range(kp, peer, len))
		return ST_ERR_KEX_PUBLIC_INVALID;
	/*
	 * Fewer than 4 bits set: a value like 2^k, whose discrete log to base 2
	 * is known, and which a flooding client picks because it costs nothing
	 * (OpenSSH refuses these too). A real public value has about half its
	 * bits set.
	 */
	unsigned bits = 0;
	for (size_t i = 0; i < len && bits < 4; i++)
		bits += (unsigned)__builtin_popcount(peer[i]);
	if (bits < 4)
		return ST_ERR_KEX_PUBLIC_INVALID;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if ((y = BN_bin2bn(peer, (int)len, NULL)) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kp->ops->ossl_group,
					    0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if ((r = kex_fromdata(kp->ops->ossl_type, EVP_PKEY_PUBLIC_KEY, bld,
			      ST_ERR_KEX_PUBLIC_INVALID, &k)) != ST_OK)
		goto out;
	*out = k;
	k = NULL;
	r = ST_OK;
out:
	EVP_PKEY_free(k);
	BN_free(y);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/* --- the group table --- */

static const struct kex_ops kex_groups[] = {
	[ST_KEX_X25519] = {
		.name = "x25519",
		.ossl_type = "X25519",
		.ossl_group = NULL,
		.generate = x25519_generate,
		.from_private = x25519_from_private,
		.peer_key = x25519_peer_key,
		/* OpenSSL refuses an all-zero X25519 output: a low-order peer point. */
		.derive_err = ST_ERR_KEX_PUBLIC_INVALID,
	},
	[ST_KEX_ECDH_P256] = {
		.name = "nistp256",
		.ossl_type = "EC",
		.ossl_group = "P-256",
		.generate = p256_generate,
		.from_private = p256_from_private,
		.peer_key = p256_peer_key,
		.derive_err = ST_ERR_CRYPTO,
	},
	[ST_KEX_DH_GROUP14] = {
		.name = "dh-group14",
		.ossl_type = "DH",
		.ossl_group = "modp_2048",
		.generate = dh_generate,
		.from_private = dh_from_private,
		.peer_key = dh_peer_key,
		.derive_err = ST_ERR_CRYPTO,
	},
	[ST_KEX_DH_GROUP16] = {
		.name = "dh-group16",
		.ossl_type = "DH",
		.ossl_group = "modp_4096",
		.generate = dh_generate,
		.from_private = dh_from_private,
		.peer_key = dh_peer_key,
		.derive_err = ST_ERR_CRYPTO,
	},
};

static const struct kex_ops *kex_lookup(enum st_kex_group g)
{
	if ((unsigned int)g >= sizeof(kex_groups) / sizeof(kex_groups[0]))
		return NULL;
	return &kex_groups[g];
}

const char *st_kex_group_name(enum st_kex_group g)
{
	const struct kex_ops *ops = kex_lookup(g);

	return ops != NULL ? ops->name : "unknown";
}

/* A zeroed keypair for group g, ready for its generate / from_private. */
static int kex_alloc(enum st_kex_group g, struct st_kex_keypair **out)
{
	const struct kex_ops *ops = kex_lookup(g);
	struct st_kex_keypair *kp;

	if (ops == NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	if ((kp = calloc(1, sizeof(*kp))) == NULL)
		return ST_ERR_ALLOC;
	kp->group = g;
	kp->ops = ops;
	*out = kp;
	return ST_OK;
}

int st_kex_keypair_new(enum st_kex_group g, struct st_kex_keypair **out)
{
	struct st_kex_keypair *kp = NULL;
	int r;

	if (out == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = kex_alloc(g, &kp)) != ST_OK)
		goto out;
	if ((r = kp->ops->generate(kp)) != ST_OK)
		goto out;
	*out = kp;
	kp = NULL;
out:
	st_kex_keypair_free(kp);
	return r;
}

int st_kex_keypair_from_private(enum st_kex_group g, const uint8_t *priv, size_t len,
				struct st_kex_keypair **out)
{
	struct st_kex_keypair *kp = NULL;
	int r;

	if (out == NULL || priv == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = kex_alloc(g, &kp)) != ST_OK)
		goto out;
	if ((r = kp->ops->from_private(kp, priv, len)) != ST_OK)
		goto out;
	*out = kp;
	kp = NULL;
out:
	st_kex_keypair_free(kp);
	return r;
}

enum st_kex_group st_kex_keypair_group(const struct st_kex_keypair *kp)
{
	return kp->group;
}

int st_kex_public(const struct st_kex_keypair *kp, uint8_t *out, size_t outsz, size_t *outlen)
{
	if (kp == NULL || out == NULL || outlen == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (outsz < kp->pub_len)
		return ST_ERR_NO_SPACE;
	memcpy(out, kp->pub, kp->pub_len);
	*outlen = kp->pub_len;
	return ST_OK;
}

int st_kex_derive(const struct st_kex_keypair *kp, const uint8_t *peer, size_t peer_len,
		  struct st_buf *k_out)
{
	EVP_PKEY *peer_key = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t secret[ST_KEX_PUBLIC_MAX];
	size_t slen = sizeof(secret);
	int r;

	if (kp == NULL || k_out == NULL || (peer == NULL && peer_len > 0))
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = kp->ops->peer_key(kp, peer, peer_len, &peer_key)) != ST_OK)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, kp->pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	/*
	 * The peer was validated above; OpenSSL's own full check would add a
	 * 4095-bit exponentiation for DH group16 (y^q == 1) on every handshake.
	 */
	if (EVP_PKEY_derive_set_peer_ex(ctx, peer_key, 0) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_derive(ctx, secret, &slen) != 1) {
		r = kp->ops->derive_err;
		goto out;
	}
	/* RFC 7748 §6.1 / RFC 8731 §3 for X25519; elsewhere a zero K cannot occur, but is fatal. */
	if (slen == 0 || slen > sizeof(secret) || all_zero(secret, slen)) {
		r = ST_ERR_KEX_PUBLIC_INVALID;
		goto out;
	}
	if ((r = st_buf_put_mpint(k_out, secret, slen)) != ST_OK)
		goto out;
	r = ST_OK;
out:
	/* A peer's bad value must not leave noise in this thread's OpenSSL error queue. */
	if (r == ST_ERR_KEX_PUBLIC_INVALID)
		ERR_clear_error();
	st_wipe(secret, sizeof(secret));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer_key);
	return r;
}

void st_kex_keypair_free(struct st_kex_keypair *kp)
{
	if (kp == NULL)
		return;
	/* EVP_PKEY_free() cleanses the private key; the rest is public but wiped anyway. */
	EVP_PKEY_free(kp->pkey);
	st_wipe(kp, sizeof(*kp));
	free(kp);
}
