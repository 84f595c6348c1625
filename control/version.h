/*
 * SSH identification line check (RFC 4253 §4.2): "SSH-protoversion-
 * softwareversion SP comments", at most 255 bytes including CR LF, printable
 * US-ASCII. The worker strips CR LF and sends every line it gets before the
 * version line; a server-style banner line from a client is an error here.
 */
#ifndef ST_CONTROL_VERSION_H
#define ST_CONTROL_VERSION_H

#include <stddef.h>
#include <stdint.h>

/* Longest line without its CR LF. */
#define ST_VERSION_LINE_MAX 253

/*
 * Checks line[0..len) (without CR LF) and copies it NUL-terminated into
 * out[outsz] (outsz > ST_VERSION_LINE_MAX is always enough).
 * Returns ST_OK for "SSH-2.0-..." and "SSH-1.99-..." with a non-empty
 * software version; ST_ERR_ALG_UNSUPPORTED for other protocol versions
 * ("SSH-1.5-..."); ST_ERR_FORMAT for anything else (not starting with "SSH-",
 * too long, control or non-ASCII bytes, empty software version);
 * ST_ERR_NO_SPACE when out is too small.
 */
int st_version_check(const uint8_t *line, size_t len, char *out, size_t outsz);

#endif
