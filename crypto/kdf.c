#include "crypto/kdf.h"

#include <string.h>

#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"

/* Checks the inputs every derivation shares. */
static int kdf_check_common(enum st_hash_alg alg, const uint8_t *k_enc, size_t k_enc_len,
			    const uint8_t *h, size_t h_len, const uint8_t *session_id,
			    size_t sid_len)
{
	if (st_hash_len(alg) == 0)
		return ST_ERR_ALG_UNSUPPORTED;
	if (k_enc == NULL || k_enc_len < 4 || st_peek_u32(k_enc) != k_enc_len - 4)
		return ST_ERR_INVALID_ARGUMENT;
	if (h == NULL || h_len == 0 || h_len > ST_HASH_MAX_LEN)
		return ST_ERR_INVALID_ARGUMENT;
	if (session_id == NULL || sid_len == 0 || sid_len > ST_HASH_MAX_LEN)
		return ST_ERR_INVALID_ARGUMENT;
	return ST_OK;
}

/* Starts *base as HASH state over K || H. */
static int kdf_base(struct st_hash_ctx *base, enum st_hash_alg alg, const uint8_t *k_enc,
		    size_t k_enc_len, const uint8_t *h, size_t h_len)
{
	int r;

	if ((r = st_hash_init(base, alg)) != ST_OK)
		return r;
	if ((r = st_hash_update(base, k_enc, k_enc_len)) != ST_OK ||
	    (r = st_hash_update(base, h, h_len)) != ST_OK) {
		st_hash_ctx_free(base);
		return r;
	}
	return ST_OK;
}

/*
 * Expands one letter from a K || H state (left untouched) into out[0..need).
 * Only running copies are extended: after Kn is emitted the chain state is
 * K || H || K1 || ... || Kn, so each further block costs one hash of one
 * block, not of everything again.
 */
static int kdf_expand(const struct st_hash_ctx *base, char letter, const uint8_t *session_id,
		      size_t sid_len, uint8_t *out, size_t need)
{
	struct st_hash_ctx chain = { 0 }, blk = { 0 };
	uint8_t block[ST_HASH_MAX_LEN];
	size_t hlen = st_hash_len(base->alg), have = 0, n;
	uint8_t l = (uint8_t)letter;
	int r;

	if (need == 0)
		return ST_OK;
	/* K1 = HASH(K || H || letter || session_id) */
	if ((r = st_hash_ctx_copy(&blk, base)) != ST_OK)
		goto out;
	if ((r = st_hash_update(&blk, &l, 1)) != ST_OK ||
	    (r = st_hash_update(&blk, session_id, sid_len)) != ST_OK ||
	    (r = st_hash_final(&blk, block, sizeof(block))) != ST_OK)
		goto out;
	st_hash_ctx_free(&blk);
	for (;;) {
		n = need - have < hlen ? need - have : hlen;
		memcpy(out + have, block, n);
		have += n;
		if (have == need)
			break;
		/* Kn = HASH(K || H || K1 || ... || Kn-1) */
		if (chain.impl == NULL && (r = st_hash_ctx_copy(&chain, base)) != ST_OK)
			goto out;
		if ((r = st_hash_update(&chain, block, hlen)) != ST_OK ||
		    (r = st_hash_ctx_copy(&blk, &chain)) != ST_OK ||
		    (r = st_hash_final(&blk, block, sizeof(block))) != ST_OK)
			goto out;
		st_hash_ctx_free(&blk);
	}
	r = ST_OK;
out:
	st_hash_ctx_free(&blk);
	st_hash_ctx_free(&chain);
	st_wipe(block, sizeof(block));
	return r;
}

int st_kdf_derive(enum st_hash_alg alg, const uint8_t *k_enc, size_t k_enc_len,
		  const uint8_t *h, size_t h_len, char letter, const uint8_t *session_id,
		  size_t sid_len, uint8_t *out, size_t need)
{
	struct st_hash_ctx base = { 0 };
	int r;

	if (out == NULL && need > 0)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = kdf_check_common(alg, k_enc, k_enc_len, h, h_len, session_id, sid_len)) !=
	    ST_OK)
		goto out;
	if (letter < 'A' || letter > 'F') {
		r = ST_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = kdf_base(&base, alg, k_enc, k_enc_len, h, h_len)) != ST_OK)
		goto out;
	if ((r = kdf_expand(&base, letter, session_id, sid_len, out, need)) != ST_OK)
		goto out;
	r = ST_OK;
out:
	st_hash_ctx_free(&base);
	if (r != ST_OK)
		st_wipe(out, need);
	return r;
}

/* Zeroes every buffer of a direction (used on failure); NULL buffers are skipped. */
static void kdf_dir_wipe(const struct st_kdf_dir *d)
{
	if (d == NULL)
		return;
	st_wipe(d->iv, d->iv_len);
	st_wipe(d->key, d->key_len);
	st_wipe(d->mac, d->mac_len);
}

static int kdf_dir_valid(const struct st_kdf_dir *d)
{
	if (d == NULL)
		return 0;
	return (d->iv != NULL || d->iv_len == 0) && (d->key != NULL || d->key_len == 0) &&
	       (d->mac != NULL || d->mac_len == 0);
}

int st_kdf_derive_all(enum st_hash_alg alg, const uint8_t *k_enc, size_t k_enc_len,
		      const uint8_t *h, size_t h_len, const uint8_t *session_id, size_t sid_len,
		      const struct st_kdf_dir *c2s, const struct st_kdf_dir *s2c)
{
	struct st_hash_ctx base = { 0 };
	int r;

	if (!kdf_dir_valid(c2s) || !kdf_dir_valid(s2c)) {
		r = ST_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = kdf_check_common(alg, k_enc, k_enc_len, h, h_len, session_id, sid_len)) !=
	    ST_OK)
		goto out;
	if ((r = kdf_base(&base, alg, k_enc, k_enc_len, h, h_len)) != ST_OK)
		goto out;
	if ((r = kdf_expand(&base, 'A', session_id, sid_len, c2s->iv, c2s->iv_len)) != ST_OK ||
	    (r = kdf_expand(&base, 'B', session_id, sid_len, s2c->iv, s2c->iv_len)) != ST_OK ||
	    (r = kdf_expand(&base, 'C', session_id, sid_len, c2s->key, c2s->key_len)) != ST_OK ||
	    (r = kdf_expand(&base, 'D', session_id, sid_len, s2c->key, s2c->key_len)) != ST_OK ||
	    (r = kdf_expand(&base, 'E', session_id, sid_len, c2s->mac, c2s->mac_len)) != ST_OK ||
	    (r = kdf_expand(&base, 'F', session_id, sid_len, s2c->mac, s2c->mac_len)) != ST_OK)
		goto out;
	r = ST_OK;
out:
	st_hash_ctx_free(&base);
	if (r != ST_OK) {
		kdf_dir_wipe(c2s);
		kdf_dir_wipe(s2c);
	}
	return r;
}
