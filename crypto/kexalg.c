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
#include "crypto/hash.h"
#include "crypto/mlkem.h"
#include "crypto/mlkem_evp.h"
#include "crypto/secmem.h"
#include "crypto/sntrup761.h"

#define X25519_LEN 32
#define DH_MAX 512 /* a 4096-bit modulus, public value or shared secret */
#define KEM_SS_LEN 32 /* both KEMs' shared secret */
#define KEM_SK_MAX ST_MLKEM768_DK_LEN /* above sntrup761's 1763 */
#define P256_SCALAR_LEN 32
#define P256_POINT_LEN (1 + 2 * 32) /* 0x04 || x || y */

struct kex_ops;

struct st_kex_keypair {
	enum st_kex_group group;
	const struct kex_ops *ops;
	EVP_PKEY *pkey; /* our (X25519 / EC / DH) key pair; the private half stays in OpenSSL */
	size_t pub_len;
	uint8_t pub[ST_KEX_PUBLIC_MAX]; /* public value in st_kex_public() form */
	size_t p_len;                   /* DH only: the modulus, big-endian */
	uint8_t p[DH_MAX];
	uint8_t kem_sk[KEM_SK_MAX]; /* hybrid only: the KEM secret key */
};

/*
 * The KEM half of a hybrid group. Lengths are exact; encaps checks the
 * peer's public key (ST_ERR_KEX_PUBLIC_INVALID), decaps the ciphertext length.
 */
struct kem_ops {
	size_t pk_len, sk_len, ct_len;
	enum st_hash_alg hash; /* K = hash(KEM ss || X25519 ss) */
	int (*keypair)(uint8_t *pk, uint8_t *sk);
	int (*encaps)(const uint8_t *pk, size_t pk_len, uint8_t *ct, uint8_t ss[KEM_SS_LEN]);
	int (*decaps)(const uint8_t *sk, const uint8_t *ct, size_t ct_len,
		      uint8_t ss[KEM_SS_LEN]);
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
	/* Hybrid groups: the KEM beside X25519 (NULL for the DH groups). */
	const struct kem_ops *kem;
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

/* Copies a BIGNUM parameter of pkey into out[0..DH_MAX) as minimal big-endian. */
static int dh_get_bn(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t *outlen)
{
	BIGNUM *bn = NULL;
	int n, r;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	n = BN_num_bytes(bn);
	if (n <= 0 || n > DH_MAX || BN_bn2bin(bn, out) != n) {
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

/* --- hybrid KEM + X25519 (draft-ietf-sshm-mlkem-hybrid-kex, RFC 9941) --- */

/*
 * ML-KEM-768 from an OpenSSL provider when one offers it (OpenSSL 3.5+,
 * mlkem_evp.h), else crypto/mlkem.c: the encodings are the same.
 */
static int mlkem_keypair(uint8_t *pk, uint8_t *sk)
{
	if (st_mlkem768_evp_available())
		return st_mlkem768_evp_keygen(pk, sk);
	return st_mlkem768_keygen(pk, sk);
}

static int mlkem_encaps(const uint8_t *pk, size_t pk_len, uint8_t *ct, uint8_t ss[KEM_SS_LEN])
{
	/* Length and the FIPS 203 §7.2 modulus check: ST_ERR_KEX_PUBLIC_INVALID. */
	if (st_mlkem768_evp_available())
		return st_mlkem768_evp_encaps(pk, pk_len, ct, ss);
	return st_mlkem768_encaps(pk, pk_len, ct, ss);
}

static int mlkem_decaps(const uint8_t *sk, const uint8_t *ct, size_t ct_len,
			uint8_t ss[KEM_SS_LEN])
{
	if (st_mlkem768_evp_available())
		return st_mlkem768_evp_decaps(sk, ST_MLKEM768_DK_LEN, ct, ct_len, ss);
	return st_mlkem768_decaps(sk, ST_MLKEM768_DK_LEN, ct, ct_len, ss);
}

static int sntrup_keypair(uint8_t *pk, uint8_t *sk)
{
	return st_sntrup761_keypair(pk, sk);
}

static int sntrup_encaps(const uint8_t *pk, size_t pk_len, uint8_t *ct, uint8_t ss[KEM_SS_LEN])
{
	/* Every 1158-byte string is a public key: only the length is checked. */
	return st_sntrup761_enc_checked(ct, ST_SNTRUP761_CIPHERTEXT_LEN, ss, pk, pk_len);
}

static int sntrup_decaps(const uint8_t *sk, const uint8_t *ct, size_t ct_len,
			 uint8_t ss[KEM_SS_LEN])
{
	return st_sntrup761_dec_checked(ss, ct, ct_len, sk);
}

static const struct kem_ops kem_mlkem768 = {
	.pk_len = ST_MLKEM768_EK_LEN,
	.sk_len = ST_MLKEM768_DK_LEN,
	.ct_len = ST_MLKEM768_CT_LEN,
	.hash = ST_HASH_SHA256,
	.keypair = mlkem_keypair,
	.encaps = mlkem_encaps,
	.decaps = mlkem_decaps,
};

static const struct kem_ops kem_sntrup761 = {
	.pk_len = ST_SNTRUP761_PUBLIC_LEN,
	.sk_len = ST_SNTRUP761_SECRET_LEN,
	.ct_len = ST_SNTRUP761_CIPHERTEXT_LEN,
	.hash = ST_HASH_SHA512,
	.keypair = sntrup_keypair,
	.encaps = sntrup_encaps,
	.decaps = sntrup_decaps,
};

/* Client side: KEM keypair, then X25519; pub = KEM pk || X25519 public. */
static int hybrid_generate(struct st_kex_keypair *kp)
{
	const struct kem_ops *kem = kp->ops->kem;
	size_t len = X25519_LEN;
	int r;

	if ((r = kem->keypair(kp->pub, kp->kem_sk)) != ST_OK)
		return r;
	if ((r = kex_keygen(kp->ops->ossl_type, NULL, &kp->pkey)) != ST_OK)
		return r;
	if (EVP_PKEY_get_raw_public_key(kp->pkey, kp->pub + kem->pk_len, &len) != 1 ||
	    len != X25519_LEN)
		return ST_ERR_CRYPTO;
	kp->pub_len = kem->pk_len + X25519_LEN;
	return ST_OK;
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
	/* Hybrids: the X25519 half goes through the x25519 entries' import and checks. */
	[ST_KEX_MLKEM768_X25519] = {
		.name = "mlkem768x25519",
		.ossl_type = "X25519",
		.ossl_group = NULL,
		.generate = hybrid_generate,
		.from_private = NULL,
		.peer_key = x25519_peer_key,
		.derive_err = ST_ERR_KEX_PUBLIC_INVALID,
		.kem = &kem_mlkem768,
	},
	[ST_KEX_SNTRUP761_X25519] = {
		.name = "sntrup761x25519",
		.ossl_type = "X25519",
		.ossl_group = NULL,
		.generate = hybrid_generate,
		.from_private = NULL,
		.peer_key = x25519_peer_key,
		.derive_err = ST_ERR_KEX_PUBLIC_INVALID,
		.kem = &kem_sntrup761,
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

int st_kex_group_is_kem(enum st_kex_group g)
{
	const struct kex_ops *ops = kex_lookup(g);

	return ops != NULL && ops->kem != NULL;
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
	if (kp->ops->from_private == NULL) {
		r = ST_ERR_ALG_UNSUPPORTED;
		goto out;
	}
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

/*
 * The raw DH / ECDH / X25519 shared secret of kp and a peer value, checked,
 * into secret[0..DH_MAX) with its length in *slen. On failure the buffer is
 * wiped and the OpenSSL error queue cleared of a peer's bad value.
 */
static int kex_shared(const struct st_kex_keypair *kp, const uint8_t *peer, size_t peer_len,
		      uint8_t secret[DH_MAX], size_t *slen)
{
	EVP_PKEY *peer_key = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = DH_MAX;
	int r;

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
	if (EVP_PKEY_derive(ctx, secret, &len) != 1) {
		r = kp->ops->derive_err;
		goto out;
	}
	/* RFC 7748 §6.1 / RFC 8731 §3 for X25519; elsewhere a zero K cannot occur, but is fatal. */
	if (len == 0 || len > DH_MAX || all_zero(secret, len)) {
		r = ST_ERR_KEX_PUBLIC_INVALID;
		goto out;
	}
	*slen = len;
	r = ST_OK;
out:
	if (r != ST_OK)
		st_wipe(secret, DH_MAX);
	/* A peer's bad value must not leave noise in this thread's OpenSSL error queue. */
	if (r == ST_ERR_KEX_PUBLIC_INVALID)
		ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer_key);
	return r;
}

int st_kex_derive(const struct st_kex_keypair *kp, const uint8_t *peer, size_t peer_len,
		  struct st_buf *k_out)
{
	uint8_t secret[DH_MAX];
	size_t slen = 0;
	int r;

	if (kp == NULL || k_out == NULL || (peer == NULL && peer_len > 0))
		return ST_ERR_INVALID_ARGUMENT;
	if (kp->ops->kem != NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	if ((r = kex_shared(kp, peer, peer_len, secret, &slen)) != ST_OK)
		return r;
	r = st_buf_put_mpint(k_out, secret, slen);
	st_wipe(secret, sizeof(secret));
	return r;
}

/* K = HASH(ss[0..64)) of the two halves, appended to k_out as an SSH string. */
static int hybrid_put_k(const struct kem_ops *kem, const uint8_t ss[KEM_SS_LEN + X25519_LEN],
			struct st_buf *k_out)
{
	uint8_t k[ST_HASH_MAX_LEN];
	int r;

	if ((r = st_hash(kem->hash, ss, KEM_SS_LEN + X25519_LEN, k)) == ST_OK)
		r = st_buf_put_string(k_out, k, st_hash_len(kem->hash));
	st_wipe(k, sizeof(k));
	return r;
}

/* The server's hybrid step: encapsulate to the client's KEM key, X25519 with a fresh key. */
static int hybrid_respond(const struct kex_ops *ops, const uint8_t *q_c, size_t q_c_len,
			  uint8_t *q_s, size_t q_s_size, size_t *q_s_len, struct st_buf *k_out)
{
	const struct kem_ops *kem = ops->kem;
	struct st_kex_keypair *x = NULL;
	uint8_t reply[ST_KEX_PUBLIC_MAX], ss[KEM_SS_LEN + X25519_LEN], xs[DH_MAX];
	size_t xlen = 0, qlen = kem->ct_len + X25519_LEN;
	int r;

	if (q_c_len != kem->pk_len + X25519_LEN)
		return ST_ERR_KEX_PUBLIC_INVALID;
	if (q_s_size < qlen)
		return ST_ERR_NO_SPACE;
	if ((r = kem->encaps(q_c, kem->pk_len, reply, ss)) != ST_OK)
		goto out;
	if ((r = st_kex_keypair_new(ST_KEX_X25519, &x)) != ST_OK ||
	    (r = kex_shared(x, q_c + kem->pk_len, X25519_LEN, xs, &xlen)) != ST_OK)
		goto out;
	if (xlen != X25519_LEN) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	memcpy(ss + KEM_SS_LEN, xs, X25519_LEN);
	memcpy(reply + kem->ct_len, x->pub, X25519_LEN);
	if ((r = hybrid_put_k(kem, ss, k_out)) != ST_OK)
		goto out;
	memcpy(q_s, reply, qlen);
	*q_s_len = qlen;
out:
	st_wipe(ss, sizeof(ss));
	st_wipe(xs, sizeof(xs));
	st_kex_keypair_free(x);
	return r;
}

int st_kex_server_respond(enum st_kex_group g, const uint8_t *q_c, size_t q_c_len,
			  uint8_t *q_s, size_t q_s_size, size_t *q_s_len, struct st_buf *k_out)
{
	const struct kex_ops *ops = kex_lookup(g);
	struct st_kex_keypair *kp = NULL;
	size_t mark, len = 0;
	int r;

	if ((q_c == NULL && q_c_len > 0) || q_s == NULL || q_s_len == NULL || k_out == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (ops == NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	if (ops->kem != NULL)
		return hybrid_respond(ops, q_c, q_c_len, q_s, q_s_size, q_s_len, k_out);
	mark = k_out->len;
	if ((r = st_kex_keypair_new(g, &kp)) != ST_OK)
		goto out;
	if (q_s_size < kp->pub_len) {
		r = ST_ERR_NO_SPACE;
		goto out;
	}
	if ((r = st_kex_derive(kp, q_c, q_c_len, k_out)) != ST_OK ||
	    (r = st_kex_public(kp, q_s, q_s_size, &len)) != ST_OK) {
		k_out->len = mark;
		goto out;
	}
	*q_s_len = len;
out:
	st_kex_keypair_free(kp);
	return r;
}

int st_kex_client_finish(const struct st_kex_keypair *kp, const uint8_t *q_s, size_t q_s_len,
			 struct st_buf *k_out)
{
	const struct kem_ops *kem;
	uint8_t ss[KEM_SS_LEN + X25519_LEN], xs[DH_MAX];
	size_t xlen = 0;
	int r;

	if (kp == NULL || k_out == NULL || (q_s == NULL && q_s_len > 0))
		return ST_ERR_INVALID_ARGUMENT;
	if ((kem = kp->ops->kem) == NULL)
		return st_kex_derive(kp, q_s, q_s_len, k_out);
	if (q_s_len != kem->ct_len + X25519_LEN)
		return ST_ERR_KEX_PUBLIC_INVALID;
	if ((r = kem->decaps(kp->kem_sk, q_s, kem->ct_len, ss)) != ST_OK)
		goto out;
	if ((r = kex_shared(kp, q_s + kem->ct_len, X25519_LEN, xs, &xlen)) != ST_OK)
		goto out;
	if (xlen != X25519_LEN) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	memcpy(ss + KEM_SS_LEN, xs, X25519_LEN);
	r = hybrid_put_k(kem, ss, k_out);
out:
	st_wipe(ss, sizeof(ss));
	st_wipe(xs, sizeof(xs));
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
