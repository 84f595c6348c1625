/*
 * OpenSSH key revocation lists (PROTOCOL.krl), as `ssh-keygen -k` writes
 * them, and plain public key lists, for RevokedKeys.
 *
 * A KRL is: uint64 magic "SSHKRL\n\0", uint32 format version 1, uint64 KRL
 * version, uint64 generated date, uint64 flags, string reserved, string
 * comment, then sections (byte type, string data):
 *   1 certificates: string CA key (empty: any CA), string reserved, then
 *     subsections (byte type, string data): 0x20 serial list (uint64s),
 *     0x21 serial range (uint64 min, uint64 max), 0x22 serial bitmap
 *     (uint64 offset, mpint bitmap: bit i revokes offset + i), 0x23 key ids
 *     (strings);
 *   2 explicit keys (public key blobs), 3 SHA-1 and 5 SHA-256 fingerprints
 *     of key blobs (strings of 20 / 32 bytes);
 *   4 signature (string key, string signature): must come last; like sshd,
 *     which verifies none for RevokedKeys, its contents are not checked.
 * st_krl_parse() checks all of that strictly (bounded lengths, no trailing
 * bytes in any section, unknown section types refused); queries then walk
 * the validated copy.
 *
 * A text file whose first line is not the magic is a list of public keys,
 * one per line as in a .pub file ('#' comments and blank lines skipped;
 * lines that do not parse are refused, so a typo cannot revoke nothing).
 *
 * A struct st_krl belongs to whoever parsed it (the control thread checking
 * one authentication); no shared state.
 */
#ifndef ST_CRYPTO_KRL_H
#define ST_CRYPTO_KRL_H

#include <stddef.h>
#include <stdint.h>

struct st_cert;
struct st_key;
struct st_krl;

#define ST_KRL_MAX (16u * 1024u * 1024u) /* bytes of one RevokedKeys file */

/*
 * Parses data[0..len): a binary KRL or a public key list (see above).
 * Returns ST_OK with *out (st_krl_free);
 *   ST_ERR_FORMAT: truncated or malformed, a wrong format version, an
 *     unknown section, a fingerprint of the wrong length, a serial range
 *     with min > max, a section after the signature, a key list line that
 *     does not parse (*line gets its number when line is not NULL);
 *   ST_ERR_TRAILING: bytes left inside a section;
 *   ST_ERR_NO_SPACE: over ST_KRL_MAX; ST_ERR_ALLOC.
 */
int st_krl_parse(const uint8_t *data, size_t len, struct st_krl **out, size_t *line);

void st_krl_free(struct st_krl *k);

/* 1 when key is revoked (explicitly or by SHA-1 / SHA-256 fingerprint), 0 when not. */
int st_krl_key_revoked(const struct st_krl *k, const struct st_key *key);

/*
 * 1 when the certificate is revoked: its CA key or its certified key
 * revoked as keys, or a certificates section for its CA (or for any CA)
 * listing its serial (serial 0 never matches, as in OpenSSH) or key id.
 */
int st_krl_cert_revoked(const struct st_krl *k, const struct st_cert *c);

#endif
