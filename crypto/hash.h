/*
 * Hash functions for the key exchange (exchange hash H) and the key
 * derivation (RFC 4253 §7.2): SHA-256, SHA-384 and SHA-512 through OpenSSL
 * EVP, so that a provider loaded for EVP serves them too.
 *
 * One-shot:     st_hash(alg, data, len, out)
 * Incremental:  struct st_hash_ctx c = { 0 };
 *               st_hash_init(&c, alg); st_hash_update(&c, ...) ...;
 *               st_hash_final(&c, out, outsz); st_hash_ctx_free(&c);
 *
 * st_hash_ctx_free() is safe on a zeroed context, on one whose init failed
 * and on one already freed, so a single `out:` label can always call it.
 * Freeing wipes the context's internal state.
 */
#ifndef ST_CRYPTO_HASH_H
#define ST_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Digest size of the largest supported hash (SHA-512). */
#define ST_HASH_MAX_LEN 64

/* Starts at 1 so that a zeroed configuration is not silently SHA-256. */
enum st_hash_alg {
	ST_HASH_SHA256 = 1,
	ST_HASH_SHA384,
	ST_HASH_SHA512,
};

/* Incremental context. The implementation state is opaque (an EVP_MD_CTX). */
struct st_hash_ctx {
	void *impl;            /* owned implementation state; NULL when not initialised */
	enum st_hash_alg alg;  /* algorithm given to st_hash_init() */
	int finished;          /* 1 after st_hash_final(): only free (or init after free) remains */
};

/* Digest length in bytes (32, 48, 64), or 0 for an unknown algorithm. */
size_t st_hash_len(enum st_hash_alg alg);

/* "sha256", "sha384", "sha512" for logs; "unknown" for anything else. Never NULL. */
const char *st_hash_name(enum st_hash_alg alg);

/*
 * One-shot digest of data[0..len) into out, which must hold st_hash_len(alg)
 * bytes. data may be NULL when len is 0.
 * Returns ST_OK, ST_ERR_ALG_UNSUPPORTED (unknown alg), ST_ERR_INVALID_ARGUMENT
 * (NULL out, or NULL data with len > 0), ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_hash(enum st_hash_alg alg, const void *data, size_t len, uint8_t *out);

/*
 * Initialises a zeroed (or freed) context. On failure the context stays
 * uninitialised (st_hash_ctx_free() remains safe).
 * Returns ST_OK, ST_ERR_ALG_UNSUPPORTED, ST_ERR_INVALID_ARGUMENT (NULL ctx,
 * or a ctx that is still initialised), ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_hash_init(struct st_hash_ctx *ctx, enum st_hash_alg alg);

/*
 * Absorbs data[0..len). data may be NULL when len is 0.
 * Returns ST_OK, ST_ERR_INVALID_ARGUMENT (NULL pointers), ST_ERR_STATE (ctx
 * not initialised, or already finished) or ST_ERR_CRYPTO.
 */
int st_hash_update(struct st_hash_ctx *ctx, const void *data, size_t len);

/*
 * Writes the digest (st_hash_len(ctx->alg) bytes) to out[0..outsz) and marks
 * the context finished. out is written only on success.
 * Returns ST_OK, ST_ERR_INVALID_ARGUMENT (NULL pointers), ST_ERR_NO_SPACE
 * (outsz below the digest length; the context is unchanged), ST_ERR_STATE
 * (not initialised, or already finished) or ST_ERR_CRYPTO.
 */
int st_hash_final(struct st_hash_ctx *ctx, uint8_t *out, size_t outsz);

/*
 * Initialises dst (zeroed or freed) as a copy of the running state of src,
 * so a common prefix can be hashed once and finished several ways.
 * Returns ST_OK, ST_ERR_INVALID_ARGUMENT (NULL pointers, or dst still
 * initialised), ST_ERR_STATE (src not initialised, or finished), ST_ERR_ALLOC
 * or ST_ERR_CRYPTO. On failure dst stays uninitialised.
 */
int st_hash_ctx_copy(struct st_hash_ctx *dst, const struct st_hash_ctx *src);

/* Releases and wipes the state; the context returns to the zeroed state. NULL is a no-op. */
void st_hash_ctx_free(struct st_hash_ctx *ctx);

#endif
