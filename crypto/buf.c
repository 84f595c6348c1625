#include "crypto/buf.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

void st_buf_from(struct st_buf *b, const void *data, size_t len)
{
	/* The cast drops const: a read-only buffer refuses every write below. */
	b->data = (uint8_t *)(uintptr_t)data;
	b->off = 0;
	b->len = len;
	b->cap = len;
	b->max = len;
	b->owned = 0;
	b->readonly = 1;
}

void st_buf_wrap(struct st_buf *b, void *data, size_t cap)
{
	b->data = data;
	b->off = 0;
	b->len = 0;
	b->cap = cap;
	b->max = cap;
	b->owned = 0;
	b->readonly = 0;
}

int st_buf_alloc(struct st_buf *b, size_t initial, size_t max)
{
	if (initial > max || max == 0)
		return ST_ERR_INVALID_ARGUMENT;
	if (initial == 0)
		initial = max < 256 ? max : 256;
	uint8_t *p = malloc(initial);
	if (p == NULL)
		return ST_ERR_ALLOC;
	b->data = p;
	b->off = 0;
	b->len = 0;
	b->cap = initial;
	b->max = max;
	b->owned = 1;
	b->readonly = 0;
	return ST_OK;
}

void st_buf_free(struct st_buf *b)
{
	if (b->owned && b->data != NULL) {
		st_wipe(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

void st_buf_reset(struct st_buf *b)
{
	if (b->owned)
		st_wipe(b->data, b->len);
	b->off = 0;
	b->len = 0;
}

int st_buf_end(const struct st_buf *b)
{
	return b->off == b->len ? ST_OK : ST_ERR_TRAILING;
}

int st_buf_skip(struct st_buf *b, size_t n)
{
	if (st_buf_avail(b) < n)
		return ST_ERR_INCOMPLETE;
	b->off += n;
	return ST_OK;
}

int st_buf_get_raw(struct st_buf *b, const uint8_t **p, size_t n)
{
	if (st_buf_avail(b) < n)
		return ST_ERR_INCOMPLETE;
	if (p != NULL)
		*p = b->data + b->off;
	b->off += n;
	return ST_OK;
}

int st_buf_get_bytes(struct st_buf *b, void *out, size_t n)
{
	const uint8_t *p;
	int r = st_buf_get_raw(b, &p, n);
	if (r == ST_OK && n > 0)
		memcpy(out, p, n);
	return r;
}

int st_buf_get_u8(struct st_buf *b, uint8_t *v)
{
	const uint8_t *p;
	int r = st_buf_get_raw(b, &p, 1);
	if (r == ST_OK)
		*v = p[0];
	return r;
}

int st_buf_get_bool(struct st_buf *b, int *v)
{
	uint8_t x;
	int r = st_buf_get_u8(b, &x);
	if (r == ST_OK)
		*v = x != 0;
	return r;
}

int st_buf_get_u32(struct st_buf *b, uint32_t *v)
{
	const uint8_t *p;
	int r = st_buf_get_raw(b, &p, 4);
	if (r == ST_OK)
		*v = st_peek_u32(p);
	return r;
}

int st_buf_get_u64(struct st_buf *b, uint64_t *v)
{
	const uint8_t *p;
	int r = st_buf_get_raw(b, &p, 8);
	if (r == ST_OK)
		*v = st_peek_u64(p);
	return r;
}

int st_buf_get_string(struct st_buf *b, const uint8_t **p, size_t *len)
{
	if (st_buf_avail(b) < 4)
		return ST_ERR_INCOMPLETE;
	uint32_t n = st_peek_u32(b->data + b->off);
	if (n > ST_BUF_MAX_STRING)
		return ST_ERR_STRING_TOO_LARGE;
	if (st_buf_avail(b) - 4 < n)
		return ST_ERR_INCOMPLETE;
	if (p != NULL)
		*p = b->data + b->off + 4;
	if (len != NULL)
		*len = n;
	b->off += 4 + (size_t)n;
	return ST_OK;
}

int st_buf_get_cstring(struct st_buf *b, char *out, size_t outsz)
{
	struct st_buf save = *b;
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = st_buf_get_string(b, &p, &n)) != ST_OK)
		return r;
	if (memchr(p, '\0', n) != NULL) {
		*b = save;
		return ST_ERR_FORMAT;
	}
	if (outsz == 0 || n > outsz - 1) {
		*b = save;
		return ST_ERR_STRING_TOO_LARGE;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return ST_OK;
}

int st_buf_get_sub(struct st_buf *b, struct st_buf *sub)
{
	const uint8_t *p;
	size_t n;
	int r = st_buf_get_string(b, &p, &n);
	if (r == ST_OK)
		st_buf_from(sub, p, n);
	return r;
}

int st_buf_get_mpint(struct st_buf *b, const uint8_t **p, size_t *len)
{
	struct st_buf save = *b;
	const uint8_t *d;
	size_t n;
	int r;

	if ((r = st_buf_get_string(b, &d, &n)) != ST_OK)
		return r;
	r = ST_OK;
	if (n > 0 && (d[0] & 0x80) != 0)
		r = ST_ERR_BIGNUM_NEGATIVE;
	/* Minimal encoding: a leading zero only when the next byte has its top bit set. */
	else if (n > 0 && d[0] == 0 && (n == 1 || (d[1] & 0x80) == 0))
		r = ST_ERR_FORMAT;
	else if (n > ST_BUF_MAX_MPINT_BYTES)
		r = ST_ERR_BIGNUM_TOO_LARGE;
	if (r != ST_OK) {
		*b = save;
		return r;
	}
	if (n > 0 && d[0] == 0) {
		d++;
		n--;
	}
	*p = d;
	*len = n;
	return ST_OK;
}

int st_buf_get_namelist(struct st_buf *b, const char **p, size_t *len)
{
	struct st_buf save = *b;
	const uint8_t *d;
	size_t n, i, namelen = 0;
	int r;

	if ((r = st_buf_get_string(b, &d, &n)) != ST_OK)
		return r;
	if (n > ST_BUF_MAX_NAMELIST)
		goto bad;
	/*
	 * Empty names (a leading, trailing or doubled comma) are accepted:
	 * RFC 4251 §5 forbids them, but libssh 0.10 ends its KEXINIT lists with
	 * a comma and OpenSSH, which does not check names at all, takes such
	 * lists. Consumers treat an empty name as matching nothing
	 * (st_namelist_has); everything else is still checked here.
	 */
	for (i = 0; i < n; i++) {
		uint8_t c = d[i];
		if (c == ',') {
			namelen = 0;
			continue;
		}
		/* Printable US-ASCII, no space (RFC 4251 §6). */
		if (c <= ' ' || c >= 0x7f)
			goto bad;
		if (++namelen > ST_BUF_MAX_NAME)
			goto bad;
	}
	*p = (const char *)d;
	*len = n;
	return ST_OK;
bad:
	*b = save;
	return ST_ERR_NAME_INVALID;
}

/* Makes room for n more bytes; grows owned buffers geometrically up to max. */
static int buf_room(struct st_buf *b, size_t n)
{
	if (b->readonly)
		return ST_ERR_NO_SPACE;
	if (b->cap - b->len >= n)
		return ST_OK;
	if (!b->owned || b->max - b->len < n)
		return ST_ERR_NO_SPACE;
	size_t need = b->len + n;
	size_t ncap = b->cap * 2;
	if (ncap < need)
		ncap = need;
	if (ncap > b->max)
		ncap = b->max;
	/* No realloc: the old region may hold secrets and must be wiped. */
	uint8_t *p = malloc(ncap);
	if (p == NULL)
		return ST_ERR_ALLOC;
	memcpy(p, b->data, b->len);
	st_wipe(b->data, b->cap);
	free(b->data);
	b->data = p;
	b->cap = ncap;
	return ST_OK;
}

int st_buf_reserve(struct st_buf *b, size_t n, uint8_t **p)
{
	int r = buf_room(b, n);
	if (r != ST_OK)
		return r;
	if (p != NULL)
		*p = b->data + b->len;
	b->len += n;
	return ST_OK;
}

int st_buf_put_bytes(struct st_buf *b, const void *p, size_t n)
{
	uint8_t *d;
	int r = st_buf_reserve(b, n, &d);
	if (r == ST_OK && n > 0)
		memcpy(d, p, n);
	return r;
}

int st_buf_put_u8(struct st_buf *b, uint8_t v)
{
	return st_buf_put_bytes(b, &v, 1);
}

int st_buf_put_bool(struct st_buf *b, int v)
{
	return st_buf_put_u8(b, v ? 1 : 0);
}

int st_buf_put_u32(struct st_buf *b, uint32_t v)
{
	uint8_t *d;
	int r = st_buf_reserve(b, 4, &d);
	if (r == ST_OK)
		st_poke_u32(d, v);
	return r;
}

int st_buf_put_u64(struct st_buf *b, uint64_t v)
{
	uint8_t *d;
	int r = st_buf_reserve(b, 8, &d);
	if (r == ST_OK)
		st_poke_u64(d, v);
	return r;
}

int st_buf_put_string(struct st_buf *b, const void *p, size_t n)
{
	uint8_t *d;
	int r;

	if (n > ST_BUF_MAX_STRING)
		return ST_ERR_STRING_TOO_LARGE;
	if ((r = st_buf_reserve(b, 4 + n, &d)) != ST_OK)
		return r;
	st_poke_u32(d, (uint32_t)n);
	if (n > 0)
		memcpy(d + 4, p, n);
	return ST_OK;
}

int st_buf_put_cstring(struct st_buf *b, const char *s)
{
	return st_buf_put_string(b, s, strlen(s));
}

int st_buf_put_stringb(struct st_buf *b, const struct st_buf *v)
{
	return st_buf_put_string(b, st_buf_ptr(v), st_buf_avail(v));
}

int st_buf_put_mpint(struct st_buf *b, const uint8_t *mag, size_t n)
{
	uint8_t *d;
	int r;

	while (n > 0 && mag[0] == 0) {
		mag++;
		n--;
	}
	if (n > ST_BUF_MAX_MPINT_BYTES - 1)
		return ST_ERR_BIGNUM_TOO_LARGE;
	size_t pad = (n > 0 && (mag[0] & 0x80) != 0) ? 1 : 0;
	if ((r = st_buf_reserve(b, 4 + pad + n, &d)) != ST_OK)
		return r;
	st_poke_u32(d, (uint32_t)(pad + n));
	if (pad)
		d[4] = 0;
	if (n > 0)
		memcpy(d + 4 + pad, mag, n);
	return ST_OK;
}
