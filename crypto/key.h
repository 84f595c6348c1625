/*
 * Host and user keys: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256 (RFC 5656)
 * and ssh-rsa (RFC 4253 §6.6, signed with rsa-sha2-256/512, RFC 8332).
 *
 * A struct st_key is opaque: a key type plus a libcrypto key, either public
 * only or with its private part. Private keys come from crypto/keyfile.h or
 * st_key_generate(); public keys from wire blobs, authorized_keys-style lines
 * or .pub files. st_key_free() lets go of (and wipes) private material.
 *
 * Every key accepted here has been validated: RSA moduli of 1024..16384 bits
 * with an odd modulus and an odd public exponent 3 <= e < n; P-256 points in
 * uncompressed form, on the curve and in the prime-order group; private parts
 * consistent with their public parts.
 *
 * Signatures live in crypto/sig.h, private key files in crypto/keyfile.h.
 */
#ifndef ST_CRYPTO_KEY_H
#define ST_CRYPTO_KEY_H

#include <stddef.h>
#include <stdint.h>

struct st_buf;
struct st_key;

enum st_key_type {
	ST_KEY_ED25519,
	ST_KEY_ECDSA_P256,
	ST_KEY_RSA,
};

#define ST_KEY_RSA_MIN_BITS 1024
#define ST_KEY_RSA_MAX_BITS 16384
/* Largest public key blob accepted anywhere (a 16384-bit RSA blob is ~4.1 KiB). */
#define ST_KEY_BLOB_MAX 8192
/* Buffer size that always holds st_key_fingerprint_sha256() ("SHA256:" + 43 + NUL). */
#define ST_KEY_FP_SIZE 64

/*
 * Key type from its SSH name ("ssh-ed25519", "ecdsa-sha2-nistp256",
 * "ssh-rsa"); name need not be NUL-terminated.
 * Returns ST_OK or ST_ERR_KEY_TYPE_UNKNOWN (any other name, certificates
 * included; also "rsa-sha2-256"/"rsa-sha2-512", which only st_key_from_blob()
 * takes as RSA).
 */
int st_key_type_from_name(const char *name, size_t len, enum st_key_type *out);

/*
 * Parses a public key blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) that
 * must fill blob[0..len) exactly. *out is a new public-only key. Like
 * OpenSSH's sshkey_from_blob(), an RSA blob may name its type "rsa-sha2-256"
 * or "rsa-sha2-512" instead of "ssh-rsa" (dev-tunnels-ssh sends its user key
 * so); the key is the same (st_key_to_blob() writes "ssh-rsa").
 * Returns ST_OK;
 *   ST_ERR_KEY_TYPE_UNKNOWN for a type name other than the three above and
 *     those two;
 *   ST_ERR_TRAILING when bytes follow the last field;
 *   ST_ERR_KEY_INVALID for everything else that is wrong: truncation, wrong
 *     field sizes, a curve name other than "nistp256", a compressed, off-curve
 *     or otherwise invalid point, an RSA modulus outside 1024..16384 bits or
 *     even, an RSA exponent that is even, below 3 or not below n, malformed
 *     mpints;
 *   ST_ERR_ALLOC / ST_ERR_CRYPTO.
 */
int st_key_from_blob(const uint8_t *blob, size_t len, struct st_key **out);

/*
 * Appends k's public key blob to out.
 * Returns ST_OK, ST_ERR_NO_SPACE / ST_ERR_ALLOC (out unchanged), ST_ERR_CRYPTO.
 */
int st_key_to_blob(const struct st_key *k, struct st_buf *out);

/* 1 when a and b have the same type and public key, 0 otherwise (also on any error). */
int st_key_equal_public(const struct st_key *a, const struct st_key *b);

enum st_key_type st_key_type(const struct st_key *k);

/* SSH key type name: "ssh-ed25519", "ecdsa-sha2-nistp256" or "ssh-rsa". */
const char *st_key_type_name(const struct st_key *k);

/* Short label as OpenSSH log lines and ssh-keygen -l print it: "ED25519", "ECDSA", "RSA". */
const char *st_key_type_label(const struct st_key *k);

/* Key size in bits as ssh-keygen -l prints it: 256, 256, or the RSA modulus size. */
int st_key_bits(const struct st_key *k);

/* 1 when k holds a private key, 0 for public-only keys. */
int st_key_has_private(const struct st_key *k);

/*
 * Writes "SHA256:<base64 of SHA-256(public blob), no padding>", exactly as
 * ssh-keygen -lf prints it, into out[outsz] (ST_KEY_FP_SIZE is always enough).
 * Returns ST_OK, ST_ERR_NO_SPACE (out is then ""), ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_key_fingerprint_sha256(const struct st_key *k, char *out, size_t outsz);

/* The same "SHA256:<base64, no padding>" form over any blob (a certificate's). */
int st_blob_fingerprint_sha256(const uint8_t *blob, size_t len, char *out, size_t outsz);

/*
 * Parses one authorized_keys-style public key "<type> <base64 blob> [comment]"
 * (leading spaces/tabs allowed; one trailing "\n" or "\r\n" allowed). Options
 * before the type are not handled here. The type name must match the blob.
 * When comment is not NULL the comment (without surrounding blanks; "" when
 * absent) is copied there as a NUL-terminated string.
 * Returns ST_OK;
 *   ST_ERR_FORMAT: missing fields, bad base64, text after a line break;
 *   ST_ERR_KEY_TYPE_UNKNOWN: unknown type name (in the line or in the blob);
 *   ST_ERR_KEY_TYPE_MISMATCH: the blob's type differs from the named type;
 *   ST_ERR_STRING_TOO_LARGE: the comment does not fit in commentsz;
 *   the errors of st_key_from_blob() for the blob itself (ST_ERR_TRAILING,
 *   ST_ERR_KEY_INVALID for a blob over ST_KEY_BLOB_MAX too).
 */
int st_key_parse_public_line(const char *line, struct st_key **out, char *comment,
			     size_t commentsz);

/*
 * Writes "<type> <base64 blob>[ <comment>]" (no newline) into out[outsz], as
 * ssh-keygen writes a .pub file's line. comment may be NULL or "" (then left
 * out). Returns ST_OK, ST_ERR_NO_SPACE (out is then ""), ST_ERR_INVALID_ARGUMENT
 * for a comment holding CR or LF, ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_key_format_public_line(const struct st_key *k, const char *comment, char *out, size_t outsz);

/*
 * New private key: ST_KEY_ED25519 and ST_KEY_ECDSA_P256 ignore bits; ST_KEY_RSA
 * takes ST_KEY_RSA_MIN_BITS..ST_KEY_RSA_MAX_BITS (e = 65537).
 * Returns ST_OK, ST_ERR_INVALID_ARGUMENT, ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_key_generate(enum st_key_type type, int bits, struct st_key **out);

/* Frees k; private material is wiped. NULL is a no-op. */
void st_key_free(struct st_key *k);

#endif
