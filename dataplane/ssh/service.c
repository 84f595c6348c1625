#include "dataplane/ssh/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/err.h"
#include "crypto/hash.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/cycles.h"

/* Cycles in on_data and produce on this thread (st_service_thread_cycles). */
static _Thread_local uint64_t service_cycles;

/* ---------------- sink ---------------- */

static int sink_start(struct st_service *sv, const struct st_service_params *p,
		      const struct st_service_env *env)
{
	(void)p;
	(void)env;
	return st_hash_init(&sv->u.sink.hash, ST_HASH_SHA256);
}

static int sink_on_data(struct st_service *sv, const uint8_t *p, size_t n, size_t *consumed)
{
	int r;

	if ((r = st_hash_update(&sv->u.sink.hash, p, n)) != ST_OK)
		return r;
	*consumed = n;
	return ST_OK;
}

static int sink_on_eof(struct st_service *sv)
{
	uint8_t md[32];
	char hex[65];
	int r, n;

	if ((r = st_hash_final(&sv->u.sink.hash, md, sizeof(md))) != ST_OK)
		return r;
	for (unsigned i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	n = snprintf(sv->u.sink.line, sizeof(sv->u.sink.line), "%llu %s\n",
		     (unsigned long long)sv->bytes_in, hex);
	if (n < 0 || (size_t)n >= sizeof(sv->u.sink.line))
		return ST_ERR_INTERNAL;
	sv->u.sink.line_len = (uint32_t)n;
	sv->u.sink.line_off = 0;
	return ST_OK;
}

static int sink_produce(struct st_service *sv, uint8_t *buf, size_t cap, size_t *n)
{
	uint32_t left = sv->u.sink.line_len - sv->u.sink.line_off;
	size_t take = left < cap ? left : cap;

	*n = 0;
	if (!sv->in_eof)
		return ST_OK;
	memcpy(buf, sv->u.sink.line + sv->u.sink.line_off, take);
	sv->u.sink.line_off += (uint32_t)take;
	*n = take;
	if (sv->u.sink.line_off == sv->u.sink.line_len) {
		sv->out_done = 1;
		sv->exit_status = 0;
	}
	return ST_OK;
}

static void sink_close(struct st_service *sv)
{
	st_hash_ctx_free(&sv->u.sink.hash);
}

static const struct st_service_ops sink_ops = {
	.name = "sink",
	.start = sink_start,
	.on_data = sink_on_data,
	.on_eof = sink_on_eof,
	.produce = sink_produce,
	.close = sink_close,
};

/* ---------------- source ---------------- */

static int source_start(struct st_service *sv, const struct st_service_params *p,
			const struct st_service_env *env)
{
	static const uint8_t zero[16];
	EVP_CIPHER_CTX *c;

	(void)env;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return ST_ERR_ALLOC;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, zero, zero) != 1) {
		EVP_CIPHER_CTX_free(c);
		return ST_ERR_CRYPTO;
	}
	sv->u.source.evp = c;
	sv->u.source.remaining = p->source_bytes;
	if (p->source_bytes == 0) {
		sv->out_done = 1;
		sv->exit_status = 0;
	}
	return ST_OK;
}

static int source_on_data(struct st_service *sv, const uint8_t *p, size_t n, size_t *consumed)
{
	(void)sv;
	(void)p;
	*consumed = n; /* input is discarded */
	return ST_OK;
}

static int source_on_eof(struct st_service *sv)
{
	(void)sv;
	return ST_OK;
}

/*
 * The keystream is AES-CTR over zeros: read from a constant all-zero block
 * rather than zeroing buf first (the memset was a tenth of a worker's cycles
 * in a download).
 */
#define SOURCE_ZERO_BLOCK 16384u
static const uint8_t source_zeros[SOURCE_ZERO_BLOCK];

static int source_produce(struct st_service *sv, uint8_t *buf, size_t cap, size_t *n)
{
	size_t take = cap, done = 0;

	*n = 0;
	if (sv->out_done)
		return ST_OK;
	if (take > sv->u.source.remaining)
		take = (size_t)sv->u.source.remaining;
	while (done < take) {
		size_t k = take - done < SOURCE_ZERO_BLOCK ? take - done : SOURCE_ZERO_BLOCK;
		int outl = 0;
		if (EVP_EncryptUpdate(sv->u.source.evp, buf + done, &outl, source_zeros, (int)k) != 1 ||
		    (size_t)outl != k)
			return ST_ERR_CRYPTO;
		done += k;
	}
	sv->u.source.remaining -= take;
	*n = take;
	if (sv->u.source.remaining == 0) {
		sv->out_done = 1;
		sv->exit_status = 0;
	}
	return ST_OK;
}

static void source_close(struct st_service *sv)
{
	EVP_CIPHER_CTX_free(sv->u.source.evp);
	sv->u.source.evp = NULL;
}

static const struct st_service_ops source_ops = {
	.name = "source",
	.start = source_start,
	.on_data = source_on_data,
	.on_eof = source_on_eof,
	.produce = source_produce,
	.close = source_close,
};

/* ---------------- echo ---------------- */

/*
 * Echo reflects (service.h): it has no state and no buffer. The channel
 * calls it while the bytes are still in the receive mbuf, with the payload
 * area of the CHANNEL_DATA packet that will carry them back, sealed in
 * place: this memcpy is the only copy between the two crypto passes.
 * Sealing out of place (the cipher reading the receive mbuf and writing
 * the seal mbuf) would remove it; docs/PERFORMANCE.md has what it costs.
 */
static int echo_start(struct st_service *sv, const struct st_service_params *p,
		      const struct st_service_env *env)
{
	(void)sv;
	(void)p;
	(void)env;
	return ST_OK;
}

static void echo_reflect(struct st_service *sv, uint8_t *dst, const uint8_t *src, size_t n)
{
	(void)sv;
	memcpy(dst, src, n);
}

/* Everything before the EOF was reflected already (the channel delivers EOF after its hold ring). */
static int echo_on_eof(struct st_service *sv)
{
	sv->out_done = 1;
	sv->exit_status = 0;
	return ST_OK;
}

static void echo_close(struct st_service *sv)
{
	(void)sv;
}

static const struct st_service_ops echo_ops = {
	.name = "echo",
	.start = echo_start,
	.on_eof = echo_on_eof,
	.reflect = echo_reflect,
	.close = echo_close,
};

/* ---------------- backend ---------------- */

static int backend_start(struct st_service *sv, const struct st_service_params *p,
			 const struct st_service_env *env)
{
	if (env == NULL || env->connector == NULL || p->host == NULL)
		return ST_ERR_NOT_FOUND;
	sv->u.backend.c = env->connector;
	if (p->prefix_len > 0) {
		if (p->prefix == NULL || p->prefix_len > ST_SERVICE_PREFIX_MAX)
			return ST_ERR_INVALID_ARGUMENT;
		if ((sv->u.backend.pre = malloc(p->prefix_len)) == NULL)
			return ST_ERR_ALLOC;
		memcpy(sv->u.backend.pre, p->prefix, p->prefix_len);
		sv->u.backend.pre_len = p->prefix_len;
	}
	return env->connector->ops->connect(env->connector->ctx, p->host, p->port, env->owner,
					    &sv->u.backend.conn);
}

static void backend_fail(struct st_service *sv)
{
	sv->out_done = 1;
	sv->exit_status = 1;
}

static void backend_drop_prefix(struct st_service *sv)
{
	free(sv->u.backend.pre);
	sv->u.backend.pre = NULL;
	sv->u.backend.pre_len = sv->u.backend.pre_off = 0;
}

/*
 * Writes what is left of the prefix. 1 once it is all out (or there is none),
 * 0 while the connection takes no more (connecting, or its buffer is full).
 * A deferred EOF follows the prefix.
 */
static int backend_flush_prefix(struct st_service *sv)
{
	const struct st_connector *c = sv->u.backend.c;
	size_t w = 0;

	if (sv->u.backend.pre != NULL) {
		if (c->ops->write(sv->u.backend.conn, sv->u.backend.pre + sv->u.backend.pre_off,
				  sv->u.backend.pre_len - sv->u.backend.pre_off, &w) != ST_OK) {
			backend_drop_prefix(sv);
			backend_fail(sv);
			return 0;
		}
		sv->u.backend.pre_off += (uint32_t)w;
		if (sv->u.backend.pre_off < sv->u.backend.pre_len)
			return 0;
		backend_drop_prefix(sv);
	}
	if (sv->u.backend.eof_wanted && !sv->u.backend.peer_eof_sent) {
		sv->u.backend.peer_eof_sent = 1;
		if (c->ops->shutdown_write(sv->u.backend.conn) != ST_OK)
			backend_fail(sv);
	}
	return 1;
}

static int backend_on_data(struct st_service *sv, const uint8_t *p, size_t n, size_t *consumed)
{
	const struct st_connector *c = sv->u.backend.c;

	*consumed = 0;
	if (sv->out_done) { /* backend gone: discard */
		*consumed = n;
		return ST_OK;
	}
	if (!backend_flush_prefix(sv)) {
		if (sv->out_done)
			*consumed = n;
		return ST_OK; /* channel data waits behind the prefix */
	}
	if (c->ops->write(sv->u.backend.conn, p, n, consumed) != ST_OK) {
		backend_fail(sv);
		*consumed = n;
	}
	return ST_OK;
}

static int backend_on_eof(struct st_service *sv)
{
	const struct st_connector *c = sv->u.backend.c;

	if (!sv->out_done && !sv->u.backend.peer_eof_sent && sv->u.backend.pre != NULL) {
		sv->u.backend.eof_wanted = 1; /* after the prefix (backend_flush_prefix) */
		(void)backend_flush_prefix(sv);
	} else if (!sv->out_done && !sv->u.backend.peer_eof_sent) {
		sv->u.backend.peer_eof_sent = 1;
		if (c->ops->shutdown_write(sv->u.backend.conn) != ST_OK)
			backend_fail(sv);
	}
	return ST_OK;
}

static int backend_produce(struct st_service *sv, uint8_t *buf, size_t cap, size_t *n)
{
	const struct st_connector *c = sv->u.backend.c;
	int eof = 0;

	*n = 0;
	if (sv->out_done)
		return ST_OK;
	if (sv->u.backend.pre != NULL && !backend_flush_prefix(sv) && sv->out_done)
		return ST_OK;
	if (c->ops->read(sv->u.backend.conn, buf, cap, n, &eof) != ST_OK) {
		*n = 0;
		backend_fail(sv);
		return ST_OK;
	}
	if (eof && *n == 0) {
		sv->out_done = 1;
		sv->exit_status = 0;
	}
	return ST_OK;
}

static void backend_close(struct st_service *sv)
{
	if (sv->u.backend.conn != NULL)
		sv->u.backend.c->ops->close(sv->u.backend.conn);
	sv->u.backend.conn = NULL;
	backend_drop_prefix(sv);
}

static const struct st_service_ops backend_ops = {
	.name = "backend",
	.start = backend_start,
	.on_data = backend_on_data,
	.on_eof = backend_on_eof,
	.produce = backend_produce,
	.close = backend_close,
};

/* ---------------- table ---------------- */

const struct st_service_ops *st_service_ops_for(enum st_service_kind kind)
{
	switch (kind) {
	case ST_SERVICE_SINK:
		return &sink_ops;
	case ST_SERVICE_SOURCE:
		return &source_ops;
	case ST_SERVICE_ECHO:
		return &echo_ops;
	case ST_SERVICE_BACKEND:
		return &backend_ops;
	}
	return NULL;
}

int st_service_start(struct st_service *sv, const struct st_service_params *p,
		     const struct st_service_env *env)
{
	const struct st_service_ops *ops = st_service_ops_for(p->kind);
	int r;

	memset(sv, 0, sizeof(*sv));
	if (ops == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = ops->start(sv, p, env)) != ST_OK) {
		ops->close(sv);
		memset(sv, 0, sizeof(*sv));
		return r;
	}
	sv->ops = ops;
	return ST_OK;
}

int st_service_data(struct st_service *sv, const uint8_t *p, size_t n, size_t *consumed)
{
	uint64_t t0 = st_cycles_now();
	int r = sv->ops->on_data(sv, p, n, consumed);

	service_cycles += st_cycles_now() - t0;
	return r;
}

int st_service_produce(struct st_service *sv, uint8_t *buf, size_t cap, size_t *n)
{
	uint64_t t0 = st_cycles_now();
	int r = sv->ops->produce(sv, buf, cap, n);

	service_cycles += st_cycles_now() - t0;
	return r;
}

void st_service_reflect(struct st_service *sv, uint8_t *dst, const uint8_t *src, size_t n)
{
	uint64_t t0 = st_cycles_now();

	sv->ops->reflect(sv, dst, src, n);
	service_cycles += st_cycles_now() - t0;
}

uint64_t st_service_thread_cycles(void)
{
	return service_cycles;
}

void st_service_close(struct st_service *sv)
{
	if (sv->ops != NULL)
		sv->ops->close(sv);
	memset(sv, 0, sizeof(*sv));
}

int st_service_ready(const struct st_service *sv)
{
	if (sv->ops != &backend_ops)
		return ST_OK;
	if (sv->u.backend.conn == NULL)
		return ST_ERR_STATE;
	const struct st_connector *c = sv->u.backend.c;
	return c->ops->state != NULL ? c->ops->state(sv->u.backend.conn) : ST_OK;
}
