#include "crypto/hash.h"

#include <string.h>

#include <openssl/evp.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

/* EVP digest for an algorithm, or NULL when unknown. */
static const EVP_MD *hash_md(enum st_hash_alg alg)
{
	switch (alg) {
	case ST_HASH_SHA256:
		return EVP_sha256();
	case ST_HASH_SHA384:
		return EVP_sha384();
	case ST_HASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

size_t st_hash_len(enum st_hash_alg alg)
{
	switch (alg) {
	case ST_HASH_SHA256:
		return 32;
	case ST_HASH_SHA384:
		return 48;
	case ST_HASH_SHA512:
		return 64;
	}
	return 0;
}

const char *st_hash_name(enum st_hash_alg alg)
{
	switch (alg) {
	case ST_HASH_SHA256:
		return "sha256";
	case ST_HASH_SHA384:
		return "sha384";
	case ST_HASH_SHA512:
		return "sha512";
	}
	return "unknown";
}

int st_hash_init(struct st_hash_ctx *ctx, enum st_hash_alg alg)
{
	const EVP_MD *md = hash_md(alg);
	EVP_MD_CTX *c = NULL;
	int r;

	if (ctx == NULL || ctx->impl != NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (md == NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	if ((c = EVP_MD_CTX_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestInit_ex(c, md, NULL) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	ctx->impl = c;
	ctx->alg = alg;
	ctx->finished = 0;
	c = NULL;
	r = ST_OK;
out:
	EVP_MD_CTX_free(c);
	return r;
}

/* ST_OK when ctx is initialised and not yet finished. */
static int hash_running(const struct st_hash_ctx *ctx)
{
	if (ctx->impl == NULL || ctx->finished)
		return ST_ERR_STATE;
	return ST_OK;
}

int st_hash_update(struct st_hash_ctx *ctx, const void *data, size_t len)
{
	int r;

	if (ctx == NULL || (data == NULL && len > 0))
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = hash_running(ctx)) != ST_OK)
		return r;
	if (len == 0)
		return ST_OK;
	if (EVP_DigestUpdate(ctx->impl, data, len) != 1)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

int st_hash_final(struct st_hash_ctx *ctx, uint8_t *out, size_t outsz)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t want;
	int r;

	if (ctx == NULL || out == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = hash_running(ctx)) != ST_OK)
		return r;
	want = st_hash_len(ctx->alg);
	if (outsz < want)
		return ST_ERR_NO_SPACE;
	/* Whatever happens below, this state cannot be fed or finished again. */
	ctx->finished = 1;
	if (EVP_DigestFinal_ex(ctx->impl, md, &mdlen) != 1 || mdlen != want) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	memcpy(out, md, want);
	r = ST_OK;
out:
	st_wipe(md, sizeof(md));
	return r;
}

int st_hash_ctx_copy(struct st_hash_ctx *dst, const struct st_hash_ctx *src)
{
	EVP_MD_CTX *c = NULL;
	int r;

	if (dst == NULL || src == NULL || dst->impl != NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = hash_running(src)) != ST_OK)
		return r;
	if ((c = EVP_MD_CTX_new()) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if (EVP_MD_CTX_copy_ex(c, src->impl) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	dst->impl = c;
	dst->alg = src->alg;
	dst->finished = 0;
	c = NULL;
	r = ST_OK;
out:
	EVP_MD_CTX_free(c);
	return r;
}

void st_hash_ctx_free(struct st_hash_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* EVP_MD_CTX_free() cleanses the digest state before releasing it. */
	EVP_MD_CTX_free(ctx->impl);
	ctx->impl = NULL;
	ctx->alg = 0;
	ctx->finished = 0;
}

int st_hash(enum st_hash_alg alg, const void *data, size_t len, uint8_t *out)
{
	struct st_hash_ctx c = { 0 };
	int r;

	if (out == NULL || (data == NULL && len > 0))
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = st_hash_init(&c, alg)) != ST_OK)
		goto out;
	if ((r = st_hash_update(&c, data, len)) != ST_OK)
		goto out;
	if ((r = st_hash_final(&c, out, st_hash_len(alg))) != ST_OK)
		goto out;
out:
	st_hash_ctx_free(&c);
	return r;
}
