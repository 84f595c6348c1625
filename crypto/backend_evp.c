/*
 * The OpenSSL EVP crypto backend: AES-GCM, AES-CTR + HMAC-SHA2 (MtE and EtM)
 * and chacha20-poly1305@openssh.com, each with contexts created once per
 * session direction and re-keyed in place at rekey. Nothing here allocates
 * per packet.
 *
 * Every suite has two forms per operation, picked per packet: contiguous
 * (p->segs == NULL, the original code, untouched) and scattered (*_sg),
 * which runs the same EVP calls as one update per piece. All these ciphers
 * are stream modes in OpenSSL (CTR, GCM and ChaCha20 keep their partial
 * block between updates), so cutting the input anywhere gives the same bytes
 * as one update. Only the 4 length bytes (GCM AAD, ChaCha K_1 field) and the
 * tag go through stack scratch.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/evp_prims.h"
#include "crypto/secmem.h"

#define GCM_IV_LEN 12
#define CHACHA_KEY_LEN 32
#define POLY1305_KEY_LEN 32
#define POLY1305_TAG_LEN 16

struct evp_dir {
	EVP_CIPHER_CTX *cipher; /* GCM, CTR, or ChaCha20 with K_2 (payload) */
	EVP_CIPHER_CTX *hdr;    /* ChaCha20 with K_1 (packet length) */
	EVP_MAC_CTX *mac;       /* HMAC (keyed once) or Poly1305 (keyed per packet) */
	enum st_cipher_id cipher_id;
	int mac_id;             /* -1 when no HMAC */
	/* chosen once at init: no per-packet dispatch on the suite */
	int (*seal_one)(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
	int (*open_one)(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
	/* the same for scattered packets (p->segs != NULL, already checked) */
	int (*seal_sg)(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
	int (*open_sg)(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
	uint8_t gcm_iv[GCM_IV_LEN]; /* 4-byte fixed field + 64-bit invocation counter */
};

static int gcm_seal(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int gcm_open(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int chacha_seal(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int chacha_open(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int ctr_hmac_seal(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int ctr_hmac_open(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int gcm_seal_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int gcm_open_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int chacha_seal_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int chacha_open_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int ctr_hmac_seal_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);
static int ctr_hmac_open_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p);

static const char *evp_cipher_name(enum st_cipher_id id)
{
	switch (id) {
	case ST_CIPHER_AES128_GCM:
		return "AES-128-GCM";
	case ST_CIPHER_AES256_GCM:
		return "AES-256-GCM";
	case ST_CIPHER_CHACHA20_POLY1305:
		return "ChaCha20";
	case ST_CIPHER_AES128_CTR:
		return "AES-128-CTR";
	case ST_CIPHER_AES256_CTR:
		return "AES-256-CTR";
	default:
		return NULL;
	}
}

static void evp_dir_free(struct evp_dir *e)
{
	if (e == NULL)
		return;
	EVP_CIPHER_CTX_free(e->cipher); /* cleanses key schedules */
	EVP_CIPHER_CTX_free(e->hdr);
	EVP_MAC_CTX_free(e->mac);
	st_wipe(e, sizeof(*e));
	st_secret_free(e);
}

int st_evp_cipher_key(EVP_CIPHER_CTX **ctx, const char *name, const uint8_t *key,
		      const uint8_t *iv, int enc)
{
	EVP_CIPHER *c = NULL;
	int r = ST_ERR_CRYPTO;

	if (*ctx == NULL && (*ctx = EVP_CIPHER_CTX_new()) == NULL)
		return ST_ERR_ALLOC;
	if ((c = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL) {
		r = ST_ERR_ALG_UNSUPPORTED;
		goto out;
	}
	if (EVP_CipherInit_ex2(*ctx, c, key, iv, enc, NULL) != 1)
		goto out;
	r = ST_OK;
out:
	EVP_CIPHER_free(c);
	return r;
}

int st_evp_mac_setup(EVP_MAC_CTX **ctx, const char *alg, const char *digest,
		     const uint8_t *key, size_t keylen)
{
	OSSL_PARAM params[2];

	if (*ctx == NULL) {
		EVP_MAC *m = EVP_MAC_fetch(NULL, alg, NULL);
		if (m == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
		*ctx = EVP_MAC_CTX_new(m);
		EVP_MAC_free(m);
		if (*ctx == NULL)
			return ST_ERR_ALLOC;
	}
	if (digest == NULL)
		return ST_OK; /* Poly1305: keyed per packet */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	return EVP_MAC_init(*ctx, key, keylen, params) == 1 ? ST_OK : ST_ERR_CRYPTO;
}

static int evp_init(struct st_crypto_dir *d, const struct st_dir_keys *k)
{
	struct evp_dir *e = d->priv;
	const struct st_cipher_info *c = k->cipher;
	int r;

	/* Contexts are kept across rekeys only when the algorithms stay the same. */
	if (e != NULL && (e->cipher_id != c->id ||
			  e->mac_id != (d->mac != NULL ? (int)d->mac->id : -1))) {
		evp_dir_free(e);
		e = d->priv = NULL;
	}
	if (e == NULL) {
		if ((e = st_secret_alloc(sizeof(*e))) == NULL)
			return ST_ERR_ALLOC;
		d->priv = e;
	}
	e->cipher_id = c->id;
	e->mac_id = d->mac != NULL ? (int)d->mac->id : -1;

	switch (c->kind) {
	case ST_CIPHER_KIND_GCM:
		e->seal_one = gcm_seal;
		e->open_one = gcm_open;
		e->seal_sg = gcm_seal_sg;
		e->open_sg = gcm_open_sg;
		memcpy(e->gcm_iv, k->iv, GCM_IV_LEN);
		return st_evp_cipher_key(&e->cipher, evp_cipher_name(c->id), k->key, NULL,
					 d->seal);
	case ST_CIPHER_KIND_CHACHA:
		e->seal_one = chacha_seal;
		e->open_one = chacha_open;
		e->seal_sg = chacha_seal_sg;
		e->open_sg = chacha_open_sg;
		/* PROTOCOL.chacha20poly1305: K_2 (payload) first, then K_1 (length). */
		if ((r = st_evp_cipher_key(&e->cipher, "ChaCha20", k->key, NULL, 1)) != ST_OK)
			return r;
		if ((r = st_evp_cipher_key(&e->hdr, "ChaCha20", k->key + CHACHA_KEY_LEN, NULL,
					   1)) != ST_OK)
			return r;
		return st_evp_mac_setup(&e->mac, "POLY1305", NULL, NULL, 0);
	case ST_CIPHER_KIND_CTR:
		e->seal_one = ctr_hmac_seal;
		e->open_one = ctr_hmac_open;
		e->seal_sg = ctr_hmac_seal_sg;
		e->open_sg = ctr_hmac_open_sg;
		if ((r = st_evp_cipher_key(&e->cipher, evp_cipher_name(c->id), k->key, k->iv,
					   d->seal)) != ST_OK)
			return r;
		return st_evp_mac_setup(&e->mac, "HMAC", d->mac->sha512 ? "SHA2-512" : "SHA2-256",
					k->mac_key, d->mac->key_len);
	}
	return ST_ERR_ALG_UNSUPPORTED;
}

static void evp_fini(struct st_crypto_dir *d)
{
	evp_dir_free(d->priv);
	d->priv = NULL;
}

int st_evp_chacha20(EVP_CIPHER_CTX *ctx, const uint8_t nonce[8], uint32_t counter,
		    const uint8_t *in, uint8_t *out, size_t len)
{
	/* OpenSSL's ChaCha20 IV is a 32-bit little-endian block counter and a
	 * 96-bit nonce (RFC 8439). The original layout has a 64-bit counter and a
	 * 64-bit nonce: counter low word, counter high word (0 here), nonce. */
	uint8_t iv[16];
	int outl;

	iv[0] = (uint8_t)counter;
	iv[1] = (uint8_t)(counter >> 8);
	iv[2] = (uint8_t)(counter >> 16);
	iv[3] = (uint8_t)(counter >> 24);
	memset(iv + 4, 0, 4);
	memcpy(iv + 8, nonce, 8);
	if (EVP_CipherInit_ex2(ctx, NULL, NULL, iv, 1, NULL) != 1)
		return ST_ERR_CRYPTO;
	if (len > 0 && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

/* The SSH nonce is the 64-bit big-endian sequence number. */
static int chacha_seq(EVP_CIPHER_CTX *ctx, uint32_t seq, const uint8_t *in, uint8_t *out,
		      size_t len)
{
	uint8_t nonce[8];
	st_poke_u64(nonce, seq);
	return st_evp_chacha20(ctx, nonce, 0, in, out, len);
}

/* Derives the Poly1305 key from keystream block 0 of K_2; leaves the stream at block 1. */
static int chacha_poly_key(struct evp_dir *e, uint32_t seq, uint8_t polykey[64])
{
	static const uint8_t zero[64];
	return chacha_seq(e->cipher, seq, zero, polykey, 64);
}

int st_evp_poly1305(EVP_MAC_CTX *ctx, const uint8_t key[32], const uint8_t *data, size_t len,
		    uint8_t tag[16])
{
	size_t outl;

	if (EVP_MAC_init(ctx, key, POLY1305_KEY_LEN, NULL) != 1 ||
	    EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, tag, &outl, POLY1305_TAG_LEN) != 1 || outl != POLY1305_TAG_LEN)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

int st_evp_hmac(EVP_MAC_CTX *ctx, const uint8_t *prefix, size_t plen, const uint8_t *data,
		size_t len, uint8_t *out, size_t maclen)
{
	size_t outl;

	/* EVP_MAC_init with a NULL key restarts HMAC with the key set at setup. */
	if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
	    (plen > 0 && EVP_MAC_update(ctx, prefix, plen) != 1) ||
	    EVP_MAC_update(ctx, data, len) != 1 || EVP_MAC_final(ctx, out, &outl, maclen) != 1 ||
	    outl != maclen)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

/* SSH MACs are computed over uint32 sequence number || packet. */
static int hmac_seq(struct evp_dir *e, uint32_t seq, const uint8_t *data, size_t len,
		    uint8_t *out, size_t maclen)
{
	uint8_t s[4];
	st_poke_u32(s, seq);
	return st_evp_hmac(e->mac, s, 4, data, len, out, maclen);
}

/* Adds one to the 64-bit invocation counter of the GCM nonce (RFC 5647 §7.1). */
static void gcm_iv_next(uint8_t iv[GCM_IV_LEN])
{
	for (int i = GCM_IV_LEN - 1; i >= 4; i--)
		if (++iv[i] != 0)
			break;
}

int st_evp_gcm_seal(EVP_CIPHER_CTX *ctx, const uint8_t iv[12], const uint8_t *aad,
		    size_t aadlen, uint8_t *data, size_t len, uint8_t tag[16])
{
	int outl;

	if (EVP_CipherInit_ex2(ctx, NULL, NULL, iv, 1, NULL) != 1 ||
	    (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) != 1) ||
	    (len > 0 && EVP_CipherUpdate(ctx, data, &outl, data, (int)len) != 1) ||
	    EVP_CipherFinal_ex(ctx, data + len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

int st_evp_gcm_open(EVP_CIPHER_CTX *ctx, const uint8_t iv[12], const uint8_t *aad,
		    size_t aadlen, uint8_t *data, size_t len, const uint8_t tag[16])
{
	int outl;

	if (EVP_CipherInit_ex2(ctx, NULL, NULL, iv, 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(uintptr_t)tag) != 1 ||
	    (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) != 1) ||
	    (len > 0 && EVP_CipherUpdate(ctx, data, &outl, data, (int)len) != 1))
		return ST_ERR_CRYPTO;
	if (EVP_CipherFinal_ex(ctx, data + len, &outl) != 1)
		return ST_ERR_MAC_INVALID;
	return ST_OK;
}

static int gcm_seal(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	(void)d;
	int r = st_evp_gcm_seal(e->cipher, e->gcm_iv, p->buf, 4, p->buf + 4, p->len - 4,
				p->buf + p->len);
	gcm_iv_next(e->gcm_iv);
	return r;
}

static int gcm_open(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	(void)d;
	int r = st_evp_gcm_open(e->cipher, e->gcm_iv, p->buf, 4, p->buf + 4, p->len - 4,
				p->buf + p->len);
	gcm_iv_next(e->gcm_iv);
	return r;
}

static int chacha_seal(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	(void)d;
	uint8_t polykey[64];
	int r, outl;

	if ((r = chacha_seq(e->hdr, p->seq, p->buf, p->buf, 4)) != ST_OK ||
	    (r = chacha_poly_key(e, p->seq, polykey)) != ST_OK)
		goto out;
	if (EVP_CipherUpdate(e->cipher, p->buf + 4, &outl, p->buf + 4, (int)p->len - 4) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	r = st_evp_poly1305(e->mac, polykey, p->buf, p->len, p->buf + p->len);
out:
	st_wipe(polykey, sizeof(polykey));
	return r;
}

static int chacha_open(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	(void)d;
	uint8_t polykey[64], tag[POLY1305_TAG_LEN];
	int r, outl;

	if ((r = chacha_poly_key(e, p->seq, polykey)) != ST_OK ||
	    (r = st_evp_poly1305(e->mac, polykey, p->buf, p->len, tag)) != ST_OK)
		goto out;
	/* Authenticate before decrypting anything. */
	if (!st_ct_equal(tag, p->buf + p->len, POLY1305_TAG_LEN)) {
		r = ST_ERR_MAC_INVALID;
		goto out;
	}
	if (EVP_CipherUpdate(e->cipher, p->buf + 4, &outl, p->buf + 4, (int)p->len - 4) != 1 ||
	    chacha_seq(e->hdr, p->seq, p->buf, p->buf, 4) != ST_OK) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	r = ST_OK;
out:
	st_wipe(polykey, sizeof(polykey));
	return r;
}

static int ctr_xor(struct evp_dir *e, uint8_t *p, uint32_t len)
{
	int outl;
	if (len == 0)
		return ST_OK;
	return EVP_CipherUpdate(e->cipher, p, &outl, p, (int)len) == 1 ? ST_OK : ST_ERR_CRYPTO;
}

static int ctr_hmac_seal(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	int r;

	if (d->mac->etm) {
		if ((r = ctr_xor(e, p->buf + 4, p->len - 4)) != ST_OK)
			return r;
		return hmac_seq(e, p->seq, p->buf, p->len, p->buf + p->len, d->tag_len);
	}
	if ((r = hmac_seq(e, p->seq, p->buf, p->len, p->buf + p->len, d->tag_len)) != ST_OK)
		return r;
	return ctr_xor(e, p->buf, p->len);
}

static int ctr_hmac_open(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t mac[ST_MAC_MAX_LEN];
	int r;

	if (d->mac->etm) {
		if ((r = hmac_seq(e, p->seq, p->buf, p->len, mac, d->tag_len)) != ST_OK)
			return r;
		if (!st_ct_equal(mac, p->buf + p->len, d->tag_len))
			return ST_ERR_MAC_INVALID;
		return ctr_xor(e, p->buf + 4, p->len - 4);
	}
	/* MtE: the first block was decrypted by open_length; the MAC is over plaintext. */
	if ((r = ctr_xor(e, p->buf + d->first_len, p->len - d->first_len)) != ST_OK)
		return r;
	if ((r = hmac_seq(e, p->seq, p->buf, p->len, mac, d->tag_len)) != ST_OK)
		return r;
	return st_ct_equal(mac, p->buf + p->len, d->tag_len) ? ST_OK : ST_ERR_MAC_INVALID;
}

/* ---------------- scattered packets ---------------- */

/*
 * Runs stream cipher `ctx` in place over bytes [off, off + len) of the
 * pieces, one update per piece. A stream mode returns as many bytes as it
 * takes; anything else would misplace output, so it is checked.
 */
static int sg_xor(EVP_CIPHER_CTX *ctx, const struct st_pkt *p, uint32_t off, uint32_t len)
{
	struct st_seg_iter it;
	uint8_t *q;
	uint32_t n;
	int outl;

	st_seg_iter_init(&it, p->segs, p->nseg, off, len);
	while ((n = st_seg_iter_next(&it, &q)) != 0)
		if (EVP_CipherUpdate(ctx, q, &outl, q, (int)n) != 1 || (uint32_t)outl != n)
			return ST_ERR_CRYPTO;
	return ST_OK;
}

/* Feeds bytes [off, off + len) of the pieces to a started MAC. */
static int sg_mac(EVP_MAC_CTX *ctx, const struct st_pkt *p, uint32_t off, uint32_t len)
{
	struct st_seg_iter it;
	uint8_t *q;
	uint32_t n;

	st_seg_iter_init(&it, p->segs, p->nseg, off, len);
	while ((n = st_seg_iter_next(&it, &q)) != 0)
		if (EVP_MAC_update(ctx, q, n) != 1)
			return ST_ERR_CRYPTO;
	return ST_OK;
}

/* uint32 seqno || packet, the packet in pieces (hmac_seq's scattered twin). */
static int sg_hmac(struct evp_dir *e, const struct st_pkt *p, uint8_t *out, size_t maclen)
{
	uint8_t s[4];
	size_t outl;

	st_poke_u32(s, p->seq);
	/* EVP_MAC_init with a NULL key restarts HMAC with the key set at setup. */
	if (EVP_MAC_init(e->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(e->mac, s, 4) != 1 ||
	    sg_mac(e->mac, p, 0, p->len) != ST_OK || EVP_MAC_final(e->mac, out, &outl, maclen) != 1 ||
	    outl != maclen)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

/* Poly1305 under a one-time key over the first len bytes of the pieces. */
static int sg_poly1305(struct evp_dir *e, const struct st_pkt *p, const uint8_t key[32],
		       uint8_t tag[POLY1305_TAG_LEN])
{
	size_t outl;

	if (EVP_MAC_init(e->mac, key, POLY1305_KEY_LEN, NULL) != 1 ||
	    sg_mac(e->mac, p, 0, p->len) != ST_OK ||
	    EVP_MAC_final(e->mac, tag, &outl, POLY1305_TAG_LEN) != 1 || outl != POLY1305_TAG_LEN)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

/* The 4 length bytes are the AAD; they may straddle pieces, so they are gathered. */
static int gcm_seal_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t aad[4], tag[16];
	int outl, r = ST_ERR_CRYPTO;

	(void)d;
	st_segs_read(p->segs, p->nseg, 0, aad, 4);
	if (EVP_CipherInit_ex2(e->cipher, NULL, NULL, e->gcm_iv, 1, NULL) != 1 ||
	    EVP_CipherUpdate(e->cipher, NULL, &outl, aad, 4) != 1 ||
	    sg_xor(e->cipher, p, 4, p->len - 4) != ST_OK ||
	    EVP_CipherFinal_ex(e->cipher, tag, &outl) != 1 || /* GCM: no output here */
	    EVP_CIPHER_CTX_ctrl(e->cipher, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	st_segs_write(p->segs, p->nseg, p->len, tag, 16);
	r = ST_OK;
out:
	gcm_iv_next(e->gcm_iv);
	return r;
}

static int gcm_open_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t aad[4], tag[16];
	int outl, r = ST_ERR_CRYPTO;

	(void)d;
	st_segs_read(p->segs, p->nseg, 0, aad, 4);
	st_segs_read(p->segs, p->nseg, p->len, tag, 16);
	if (EVP_CipherInit_ex2(e->cipher, NULL, NULL, e->gcm_iv, 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(e->cipher, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_CipherUpdate(e->cipher, NULL, &outl, aad, 4) != 1 ||
	    sg_xor(e->cipher, p, 4, p->len - 4) != ST_OK)
		goto out;
	/* Plaintext is already in the pieces: a failure here is wiped by the caller. */
	r = EVP_CipherFinal_ex(e->cipher, tag, &outl) == 1 ? ST_OK : ST_ERR_MAC_INVALID;
out:
	gcm_iv_next(e->gcm_iv);
	return r;
}

static int chacha_seal_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t hdr[4], polykey[64], tag[POLY1305_TAG_LEN];
	int r;

	(void)d;
	st_segs_read(p->segs, p->nseg, 0, hdr, 4);
	if ((r = chacha_seq(e->hdr, p->seq, hdr, hdr, 4)) != ST_OK ||
	    (r = chacha_poly_key(e, p->seq, polykey)) != ST_OK ||
	    (r = sg_xor(e->cipher, p, 4, p->len - 4)) != ST_OK)
		goto out;
	st_segs_write(p->segs, p->nseg, 0, hdr, 4);
	/* Poly1305 covers the encrypted length and the encrypted payload. */
	if ((r = sg_poly1305(e, p, polykey, tag)) != ST_OK)
		goto out;
	st_segs_write(p->segs, p->nseg, p->len, tag, POLY1305_TAG_LEN);
out:
	st_wipe(polykey, sizeof(polykey));
	return r;
}

static int chacha_open_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t hdr[4], polykey[64], tag[POLY1305_TAG_LEN], want[POLY1305_TAG_LEN];
	int r;

	(void)d;
	if ((r = chacha_poly_key(e, p->seq, polykey)) != ST_OK ||
	    (r = sg_poly1305(e, p, polykey, tag)) != ST_OK)
		goto out;
	/* Authenticate before decrypting anything. */
	st_segs_read(p->segs, p->nseg, p->len, want, POLY1305_TAG_LEN);
	if (!st_ct_equal(tag, want, POLY1305_TAG_LEN)) {
		r = ST_ERR_MAC_INVALID;
		goto out;
	}
	st_segs_read(p->segs, p->nseg, 0, hdr, 4);
	if ((r = sg_xor(e->cipher, p, 4, p->len - 4)) != ST_OK ||
	    (r = chacha_seq(e->hdr, p->seq, hdr, hdr, 4)) != ST_OK)
		goto out;
	st_segs_write(p->segs, p->nseg, 0, hdr, 4);
	st_wipe(hdr, sizeof(hdr));
out:
	st_wipe(polykey, sizeof(polykey));
	return r;
}

static int ctr_hmac_seal_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t mac[ST_MAC_MAX_LEN];
	int r;

	if (d->mac->etm) {
		if ((r = sg_xor(e->cipher, p, 4, p->len - 4)) != ST_OK ||
		    (r = sg_hmac(e, p, mac, d->tag_len)) != ST_OK)
			return r;
	} else if ((r = sg_hmac(e, p, mac, d->tag_len)) != ST_OK ||
		   (r = sg_xor(e->cipher, p, 0, p->len)) != ST_OK) {
		return r;
	}
	st_segs_write(p->segs, p->nseg, p->len, mac, d->tag_len);
	return ST_OK;
}

static int ctr_hmac_open_sg(struct st_crypto_dir *d, struct evp_dir *e, struct st_pkt *p)
{
	uint8_t mac[ST_MAC_MAX_LEN], want[ST_MAC_MAX_LEN];
	int r;

	st_segs_read(p->segs, p->nseg, p->len, want, d->tag_len);
	if (d->mac->etm) {
		if ((r = sg_hmac(e, p, mac, d->tag_len)) != ST_OK)
			return r;
		if (!st_ct_equal(mac, want, d->tag_len))
			return ST_ERR_MAC_INVALID;
		return sg_xor(e->cipher, p, 4, p->len - 4);
	}
	/* MtE: the caller wrote the first_len bytes open_length decrypted back. */
	if ((r = sg_xor(e->cipher, p, d->first_len, p->len - d->first_len)) != ST_OK ||
	    (r = sg_hmac(e, p, mac, d->tag_len)) != ST_OK)
		return r;
	return st_ct_equal(mac, want, d->tag_len) ? ST_OK : ST_ERR_MAC_INVALID;
}

int st_evp_dir_seek(struct st_crypto_dir *d, const uint8_t iv[16])
{
	struct evp_dir *e = d->priv;

	switch (d->cipher->kind) {
	case ST_CIPHER_KIND_GCM:
		memcpy(e->gcm_iv, iv, GCM_IV_LEN);
		return ST_OK;
	case ST_CIPHER_KIND_CTR:
		/* A new IV restarts the counter at a block boundary. */
		return EVP_CipherInit_ex2(e->cipher, NULL, NULL, iv, d->seal, NULL) == 1
			       ? ST_OK
			       : ST_ERR_CRYPTO;
	case ST_CIPHER_KIND_CHACHA:
		return ST_OK; /* per-packet state is the sequence number */
	}
	return ST_ERR_INTERNAL;
}

static int evp_open_length(struct st_crypto_dir *d, uint32_t seq, uint8_t *hdr, uint32_t *plen)
{
	struct evp_dir *e = d->priv;
	uint8_t tmp[4];
	int r;

	switch (d->cipher->kind) {
	case ST_CIPHER_KIND_CHACHA:
		/* Decrypt a copy: the Poly1305 tag covers the encrypted length. */
		if ((r = chacha_seq(e->hdr, seq, hdr, tmp, 4)) != ST_OK)
			return r;
		*plen = st_peek_u32(tmp);
		st_wipe(tmp, sizeof(tmp));
		return ST_OK;
	case ST_CIPHER_KIND_CTR:
		if (!d->mac->etm && (r = ctr_xor(e, hdr, d->first_len)) != ST_OK)
			return r;
		*plen = st_peek_u32(hdr);
		return ST_OK;
	case ST_CIPHER_KIND_GCM:
		*plen = st_peek_u32(hdr);
		return ST_OK;
	}
	return ST_ERR_INTERNAL;
}

static uint16_t evp_seal_burst(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n)
{
	struct evp_dir *e = d->priv;
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (p[i].segs == NULL)
			p[i].status = e->seal_one(d, e, &p[i]);
		else if ((p[i].status = st_pkt_segs_check(&p[i], d->tag_len, d->first_len)) == ST_OK)
			p[i].status = e->seal_sg(d, e, &p[i]);
		if (p[i].status != ST_OK)
			break;
	}
	return i;
}

static uint16_t evp_open_burst(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n)
{
	struct evp_dir *e = d->priv;
	uint16_t i;

	for (i = 0; i < n; i++) {
		int r;
		if (p[i].segs == NULL)
			r = e->open_one(d, e, &p[i]);
		else if ((r = st_pkt_segs_check(&p[i], d->tag_len, d->first_len)) == ST_OK)
			r = e->open_sg(d, e, &p[i]);
		if (r != ST_OK)
			st_pkt_wipe(&p[i]); /* no unauthenticated plaintext escapes */
		p[i].status = r;
		if (r == ST_ERR_CRYPTO)
			break;
	}
	return i;
}

const struct st_crypto_backend st_crypto_backend_evp = {
	.name = "evp",
	.init = evp_init,
	.fini = evp_fini,
	.open_length = evp_open_length,
	.seal_burst = evp_seal_burst,
	.open_burst = evp_open_burst,
};
