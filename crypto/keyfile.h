/*
 * Key files: private host/user keys and .pub files.
 *
 * Private keys come in two encodings:
 *   - "-----BEGIN OPENSSH PRIVATE KEY-----" (openssh-key-v1, what ssh-keygen
 *     writes by default), unencrypted only (cipher and kdf "none");
 *   - PEM as libcrypto reads it: PKCS#8 "BEGIN PRIVATE KEY", traditional
 *     "BEGIN RSA PRIVATE KEY" / "BEGIN EC PRIVATE KEY" (ssh-keygen -m PEM /
 *     -m PKCS8). Passphrase-protected files are refused.
 * Supported key types are those of crypto/key.h, with the same validation.
 *
 * File contents holding private keys are read into wipe-on-free memory, and
 * all intermediate buffers are wiped. The loaders do not check file modes;
 * callers that care (OpenSSH's "UNPROTECTED PRIVATE KEY FILE") do that.
 *
 * Callers report "<path>: <st_err_str(r)>", so each failure has its own code.
 */
#ifndef ST_CRYPTO_KEYFILE_H
#define ST_CRYPTO_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

struct st_key;

/* Largest key file read (private or public). */
#define ST_KEYFILE_MAX (1024u * 1024u)

/*
 * Parses a private key file's contents data[0..len). *out is a new private key.
 * Returns ST_OK;
 *   ST_ERR_FORMAT: not a key file we know (no BEGIN line at the start for
 *     openssh-key-v1 or anywhere for PEM, empty input, NUL bytes, bad base64,
 *     missing END line or text after it, wrong openssh-key-v1 magic);
 *   ST_ERR_KEY_ENCRYPTED: protected by a passphrase (openssh-key-v1 cipher
 *     other than "none", encrypted PKCS#8, or Proc-Type: 4,ENCRYPTED PEM);
 *   ST_ERR_KEY_TYPE_UNKNOWN: a key type or curve not in crypto/key.h (DSA,
 *     P-384, RSA-PSS, sk-*, ...);
 *   ST_ERR_KEY_INVALID: recognised but damaged: truncated or trailing data,
 *     kdf not "none", key count not 1, checkints differ, bad padding,
 *     public part not matching the private part, inconsistent private values,
 *     RSA sizes out of range, a PEM body libcrypto cannot decode;
 *   ST_ERR_ALLOC / ST_ERR_CRYPTO.
 */
int st_keyfile_parse_private(const uint8_t *data, size_t len, struct st_key **out);

/*
 * Reads the file at path (at most ST_KEYFILE_MAX bytes) and parses it with
 * st_keyfile_parse_private().
 * Returns its codes, plus ST_ERR_SYSTEM when the file cannot be opened or read
 * (errno is left as open/read set it: ENOENT, EACCES, EISDIR, ...) and
 * ST_ERR_FORMAT for a file over ST_KEYFILE_MAX.
 */
int st_keyfile_load_private(const char *path, struct st_key **out);

/*
 * Reads a .pub file: one public key line as st_key_parse_public_line() takes
 * it, optionally followed by a line break; nothing else but blank space may
 * follow. When comment is not NULL the key's comment is copied there.
 * Returns ST_OK, ST_ERR_SYSTEM (errno kept), ST_ERR_FORMAT (empty, NUL bytes,
 * more than one line, over ST_KEYFILE_MAX), or the codes of
 * st_key_parse_public_line().
 */
int st_keyfile_load_public(const char *path, struct st_key **out, char *comment, size_t commentsz);

/*
 * Writes a new private key to `path` as PKCS#8 PEM (mode 0600) and its public
 * line to `path`.pub (mode 0644). Never overwrites: ST_ERR_SYSTEM with
 * errno EEXIST when either file exists (nothing is left behind on failure).
 * ST_ERR_INVALID_ARGUMENT for a public-only key, ST_ERR_CRYPTO, ST_ERR_ALLOC.
 */
int st_keyfile_write_private(const struct st_key *k, const char *path, const char *comment);

#endif
