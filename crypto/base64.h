/*
 * Base64 (RFC 4648 §4, the standard alphabet) for public-key lines,
 * fingerprints and PEM-style key files.
 *
 * The decoder is strict: only alphabet characters, '=' padding at the end to a
 * multiple of four characters, and the unused low bits of the last symbol must
 * be zero, so every byte string has exactly one accepted encoding. Decoded bytes
 * are appended to a struct st_buf (an owned buffer wipes them on free, so key
 * files may be decoded into one).
 */
#ifndef ST_CRYPTO_BASE64_H
#define ST_CRYPTO_BASE64_H

#include <stddef.h>
#include <stdint.h>

struct st_buf;

/* Encoder flags. */
#define ST_BASE64_NOPAD 0x1 /* leave out the trailing '=' (SHA256 fingerprints) */

/* Decoder flags. */
#define ST_BASE64_SKIP_WS 0x1 /* ignore space, tab, CR and LF anywhere (key file bodies) */

/*
 * Characters st_base64_encode() writes for n input bytes, counting the
 * terminating NUL; SIZE_MAX when that would overflow.
 */
size_t st_base64_encoded_size(size_t n, int flags);

/*
 * Encodes in[0..n) into out[outsz] as a NUL-terminated string.
 * Returns ST_OK, or ST_ERR_NO_SPACE when outsz < st_base64_encoded_size(n)
 * (out is then left as an empty string when outsz > 0).
 */
int st_base64_encode(const uint8_t *in, size_t n, char *out, size_t outsz, int flags);

/*
 * Decodes in[0..n) and appends the bytes to out.
 * Returns ST_OK;
 *   ST_ERR_FORMAT for a character outside the alphabet, misplaced or missing
 *     '=' padding, a length that is not a multiple of four, or nonzero unused
 *     bits in the last symbol;
 *   ST_ERR_NO_SPACE / ST_ERR_ALLOC when out cannot take the bytes.
 * On error out keeps its previous contents (anything partly appended is
 * wiped and dropped).
 */
int st_base64_decode(const char *in, size_t n, struct st_buf *out, int flags);

#endif
