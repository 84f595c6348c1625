/*
 * OpenSSH certificates (PROTOCOL.certkeys): ssh-ed25519-cert-v01@openssh.com,
 * ecdsa-sha2-nistp256-cert-v01@openssh.com and ssh-rsa-cert-v01@openssh.com.
 *
 * A certificate blob is: string type, string nonce, the certified key's
 * public fields (as in its plain blob, without the type name), uint64 serial,
 * uint32 type (1 user, 2 host), string key id, string valid principals (a
 * packed list of strings), uint64 valid after, uint64 valid before, string
 * critical options, string extensions (each a packed list of string name,
 * string data), string reserved, string
 * signature key (a plain public key blob: the CA), string signature.
 *
 * st_cert_parse() checks the layout strictly (every length bounded, no
 * trailing bytes anywhere, principals and key id free of NUL, option lists
 * well formed, no name twice) and verifies the CA's signature over every byte
 * before the signature field. An RSA CA must sign with rsa-sha2-256 or
 * rsa-sha2-512; an "ssh-rsa" (SHA-1) signature is refused, as OpenSSH 8.8+
 * refuses it. The CA may not be a certificate itself.
 *
 * Policy (validity interval, principals, options) is the caller's: the
 * helpers below answer questions about a parsed certificate; nothing here
 * reads a clock or a file.
 *
 * A struct st_cert has no shared state: whoever parsed it owns it (the
 * control plane thread that authenticates a session, or the config loader).
 */
#ifndef ST_CRYPTO_CERT_H
#define ST_CRYPTO_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

struct st_key;

#define ST_CERT_BLOB_MAX 16384      /* bytes of one certificate blob */
#define ST_CERT_MAX_PRINCIPALS 256  /* as OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS */
#define ST_CERT_KEY_ID_MAX 1024     /* bytes of the key id */
#define ST_CERT_NAME_MAX 256        /* bytes of one principal or option name */
#define ST_CERT_MAX_OPTIONS 64      /* critical options, and extensions, per certificate */

enum st_cert_type {
	ST_CERT_USER = 1,
	ST_CERT_HOST = 2,
};

struct st_cert {
	uint8_t *blob; /* the whole certificate, owned */
	size_t blob_len;
	struct st_key *key;     /* the certified public key, owned */
	struct st_key *ca;      /* the signature key, owned */
	enum st_sig_alg ca_alg; /* the algorithm the CA signed with */
	uint64_t serial;
	enum st_cert_type type;
	char key_id[ST_CERT_KEY_ID_MAX + 1];
	uint64_t valid_after;  /* seconds since the epoch, inclusive */
	uint64_t valid_before; /* exclusive; UINT64_MAX: forever */
	unsigned n_principals;
	/* Packed lists inside blob (borrowed from it). */
	const uint8_t *principals;
	size_t principals_len;
	const uint8_t *critical;
	size_t critical_len;
	const uint8_t *extensions;
	size_t extensions_len;
};

/*
 * 1 when name[0..len) is a certificate key type name (the three above), and
 * *plain then gets the plain key type name ("ssh-ed25519" ...). 0 otherwise.
 */
int st_cert_type_name(const char *name, size_t len, const char **plain);

/*
 * Parses and verifies a certificate blob[0..len); *out is new (st_cert_free).
 * Returns ST_OK;
 *   ST_ERR_KEY_TYPE_UNKNOWN: the type is not one of the three certificate types;
 *   ST_ERR_FORMAT: truncation, a field over its cap, a bad type value, a NUL
 *     in the key id or a principal, a malformed option list (a name twice too);
 *   ST_ERR_TRAILING: bytes after the signature or inside a packed field;
 *   ST_ERR_KEY_INVALID: the certified key or the CA key is not a valid key
 *     (codes of st_key_from_blob() for them otherwise);
 *   ST_ERR_ALG_UNSUPPORTED: the CA signed with ssh-rsa (SHA-1) or an unknown
 *     algorithm;
 *   ST_ERR_SIG_INVALID: the CA signature does not verify (codes of
 *     st_sig_verify() otherwise);
 *   ST_ERR_ALLOC.
 */
int st_cert_parse(const uint8_t *blob, size_t len, struct st_cert **out);

/*
 * Parses a certificate line "<type> <base64> [comment]" as ssh-keygen writes
 * *-cert.pub files (leading blanks and one trailing line break allowed). The
 * type word must be a certificate type and match the blob.
 * Returns the codes of st_cert_parse(); ST_ERR_FORMAT for a malformed line or
 * bad base64; ST_ERR_KEY_TYPE_MISMATCH when the word and the blob differ.
 */
int st_cert_parse_line(const char *line, size_t len, struct st_cert **out);

/*
 * Copies s[0..len) into out[outsz] for a log line: bytes outside 0x20..0x7e
 * become '?', cut to fit, always NUL-terminated (outsz > 0). Key ids,
 * principals and option names come from the peer.
 */
void st_cert_printable(const char *s, size_t len, char *out, size_t outsz);

/* Frees c (NULL is a no-op). */
void st_cert_free(struct st_cert *c);

enum st_cert_time {
	ST_CERT_TIME_OK,        /* valid_after <= now < valid_before */
	ST_CERT_NOT_YET_VALID,  /* now < valid_after */
	ST_CERT_EXPIRED,        /* now >= valid_before */
};

/* Where now (seconds since the epoch) lies against c's validity interval. */
enum st_cert_time st_cert_check_time(const struct st_cert *c, uint64_t now);

/* 1 when name (NUL-terminated) is one of c's principals, 0 otherwise. */
int st_cert_has_principal(const struct st_cert *c, const char *name);

/*
 * The i-th principal (0-based, < n_principals) copied into out[outsz] as a
 * NUL-terminated string. ST_OK, ST_ERR_NOT_FOUND, ST_ERR_STRING_TOO_LARGE.
 */
int st_cert_principal(const struct st_cert *c, unsigned i, char *out, size_t outsz);

/*
 * Walks a packed option list (c->critical or c->extensions): *pos starts at 0;
 * each call gives the next name (borrowed, not NUL-terminated) and its data
 * (the raw data string: for force-command and source-address an inner
 * string, for flag extensions empty). Returns ST_OK, ST_ERR_NOT_FOUND at the
 * end, ST_ERR_FORMAT on a malformed list (not for lists st_cert_parse() took).
 */
int st_cert_option_next(const uint8_t *list, size_t list_len, size_t *pos, const char **name,
			size_t *name_len, const uint8_t **data, size_t *data_len);

/*
 * Finds option `name` in a packed list; *value gets its inner string (the
 * data field holds one SSH string) and *value_len its length. Returns 1 when
 * present with a well-formed inner string, 0 when absent, -1 when present but
 * the data is not exactly one string.
 */
int st_cert_option_string(const uint8_t *list, size_t list_len, const char *name,
			  const uint8_t **value, size_t *value_len);

/* 1 when flag `name` is in the list (extensions such as "permit-pty"), else 0. */
int st_cert_has_option(const uint8_t *list, size_t list_len, const char *name);

#endif
