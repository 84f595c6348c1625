/*
 * The SSH wire format (RFC 4251 §5): one bounds-checked buffer API that every
 * parser and encoder in sshterm goes through.
 *
 * A struct st_buf is a window [off, len) of readable bytes inside a region of
 * `cap` bytes. It has two backings:
 *   - borrowed: st_buf_from()/st_buf_wrap() over caller memory (an mbuf data
 *     area, a packet payload, a stack array). Never allocates, never frees.
 *   - owned: st_buf_alloc() gets heap memory that grows on write up to a hard
 *     `max` chosen by the caller; st_buf_free() wipes it before freeing, so an
 *     owned buffer may hold secrets.
 *
 * Readers (st_buf_get_*) consume from the front; each checks that the bytes it
 * needs are present and returns ST_ERR_INCOMPLETE otherwise without consuming
 * anything. Writers (st_buf_put_*) append at the end and return ST_ERR_NO_SPACE
 * when the region (or `max`) is exhausted, again without a partial write.
 * After parsing a message the caller checks st_buf_end() so that trailing
 * garbage is rejected.
 *
 * "Borrowing" getters return pointers into the buffer; they stay valid while the
 * underlying memory does (for owned buffers: until the next write or free).
 */
#ifndef ST_CRYPTO_BUF_H
#define ST_CRYPTO_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Hard caps, applied by every reader. */
#define ST_BUF_MAX_STRING (256u * 1024u) /* any SSH string */
#define ST_BUF_MAX_MPINT_BYTES 2049u     /* 16384-bit magnitude + sign byte */
#define ST_BUF_MAX_NAMELIST 65536u       /* comma-separated name-list */
#define ST_BUF_MAX_NAME 64u              /* one algorithm name (RFC 4251 §6) */

struct st_buf {
	uint8_t *data; /* start of the region */
	size_t off;    /* read position */
	size_t len;    /* end of valid data (write position) */
	size_t cap;    /* bytes available at data */
	size_t max;    /* owned: growth limit; borrowed: == cap */
	int owned;     /* 1 when data came from st_buf_alloc */
	int readonly;  /* 1 for st_buf_from(): writes fail */
};

/* Reader over `len` bytes of caller memory. */
void st_buf_from(struct st_buf *b, const void *data, size_t len);

/* Empty writer over `cap` bytes of caller memory. */
void st_buf_wrap(struct st_buf *b, void *data, size_t cap);

/*
 * Empty owned buffer: `initial` bytes now, growing up to `max` on demand.
 * Returns ST_OK or ST_ERR_ALLOC / ST_ERR_INVALID_ARGUMENT (initial > max).
 */
int st_buf_alloc(struct st_buf *b, size_t initial, size_t max);

/* Wipes (explicit_bzero) and frees an owned buffer; no-op on borrowed ones. */
void st_buf_free(struct st_buf *b);

/* Forgets the contents (wiped for owned buffers) and keeps the memory. */
void st_buf_reset(struct st_buf *b);

static inline size_t st_buf_avail(const struct st_buf *b) { return b->len - b->off; }
static inline const uint8_t *st_buf_ptr(const struct st_buf *b) { return b->data + b->off; }

/* ST_OK when all bytes have been consumed, ST_ERR_TRAILING otherwise. */
int st_buf_end(const struct st_buf *b);

/* Drops `n` bytes from the front. ST_ERR_INCOMPLETE if fewer are present. */
int st_buf_skip(struct st_buf *b, size_t n);

/* --- readers (consume from the front) --- */
int st_buf_get_u8(struct st_buf *b, uint8_t *v);
/* SSH boolean: any nonzero byte is true (RFC 4251 §5); *v is 0 or 1. */
int st_buf_get_bool(struct st_buf *b, int *v);
int st_buf_get_u32(struct st_buf *b, uint32_t *v);
int st_buf_get_u64(struct st_buf *b, uint64_t *v);
/* Copies exactly n raw bytes out. */
int st_buf_get_bytes(struct st_buf *b, void *out, size_t n);
/* Borrows n raw bytes. */
int st_buf_get_raw(struct st_buf *b, const uint8_t **p, size_t n);

/* Borrows a string: *p points into the buffer, *len its length (<= ST_BUF_MAX_STRING). */
int st_buf_get_string(struct st_buf *b, const uint8_t **p, size_t *len);

/*
 * Copies a string that must hold text without NUL bytes into out[outsz] and
 * NUL-terminates it. ST_ERR_STRING_TOO_LARGE if it does not fit, ST_ERR_FORMAT
 * if it contains a NUL.
 */
int st_buf_get_cstring(struct st_buf *b, char *out, size_t outsz);

/*
 * Borrows a string and parses it as an SSH string inside a sub-buffer (for
 * nested blobs such as a public key inside a message).
 */
int st_buf_get_sub(struct st_buf *b, struct st_buf *sub);

/*
 * Borrows a non-negative mpint's magnitude: *p / *len are the big-endian bytes
 * without the sign byte (len 0 for zero). Rejects negative values
 * (ST_ERR_BIGNUM_NEGATIVE), non-minimal encodings (ST_ERR_FORMAT) and
 * magnitudes over ST_BUF_MAX_MPINT_BYTES (ST_ERR_BIGNUM_TOO_LARGE).
 */
int st_buf_get_mpint(struct st_buf *b, const uint8_t **p, size_t *len);

/*
 * Borrows a name-list (RFC 4251 §5): printable US-ASCII without spaces, names
 * separated by commas, each at most ST_BUF_MAX_NAME bytes, total at most
 * ST_BUF_MAX_NAMELIST. An empty list (length 0) is valid. Empty names (",a",
 * "a,", "a,,b", ",") are accepted, as OpenSSH accepts them from peers; they
 * must match nothing wherever the list is used (st_namelist_has() never
 * matches an empty name). Returns ST_OK, ST_ERR_NAME_INVALID (a byte outside
 * 0x21..0x7e, a name over ST_BUF_MAX_NAME, a list over ST_BUF_MAX_NAMELIST)
 * or the errors of st_buf_get_string(); nothing is consumed on error.
 */
int st_buf_get_namelist(struct st_buf *b, const char **p, size_t *len);

/* --- writers (append at the end) --- */
int st_buf_put_u8(struct st_buf *b, uint8_t v);
int st_buf_put_bool(struct st_buf *b, int v);
int st_buf_put_u32(struct st_buf *b, uint32_t v);
int st_buf_put_u64(struct st_buf *b, uint64_t v);
int st_buf_put_bytes(struct st_buf *b, const void *p, size_t n);
int st_buf_put_string(struct st_buf *b, const void *p, size_t n);
int st_buf_put_cstring(struct st_buf *b, const char *s);
/* Appends the contents [off, len) of another buffer as an SSH string. */
int st_buf_put_stringb(struct st_buf *b, const struct st_buf *v);
/*
 * Appends an mpint from an unsigned big-endian magnitude: leading zero bytes
 * are stripped and a 0x00 is prepended when the top bit is set (RFC 4251 §5).
 */
int st_buf_put_mpint(struct st_buf *b, const uint8_t *mag, size_t n);

/*
 * Reserves n bytes at the end and returns a pointer to them for the caller to
 * fill. The pointer is valid until the next write to an owned buffer.
 */
int st_buf_reserve(struct st_buf *b, size_t n, uint8_t **p);

/* Big-endian helpers for code that works on raw headers. */
static inline uint32_t st_peek_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void st_poke_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint64_t st_peek_u64(const uint8_t *p)
{
	return ((uint64_t)st_peek_u32(p) << 32) | st_peek_u32(p + 4);
}

static inline void st_poke_u64(uint8_t *p, uint64_t v)
{
	st_poke_u32(p, (uint32_t)(v >> 32));
	st_poke_u32(p + 4, (uint32_t)v);
}

#endif
