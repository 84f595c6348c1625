/*
 * Client side of publickey user authentication (RFC 4252 §7, OpenSSH
 * PROTOCOL §2.5 for publickey-hostbound-v00@openssh.com), I/O free.
 */
#ifndef ST_CONTROL_CLIENT_SSHC_AUTH_H
#define ST_CONTROL_CLIENT_SSHC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

struct st_buf;
struct st_key;

/*
 * The signature algorithm for a user key: ed25519 and ecdsa have one; for
 * RSA the first of rsa-sha2-512, rsa-sha2-256 that the server lists in
 * server-sig-algs (RFC 8308 §3.1), rsa-sha2-256 when it sent no list
 * (server_sig_algs NULL or empty).
 */
enum st_sig_alg st_sshc_auth_alg(const struct st_key *key, const char *server_sig_algs);

/* A USERAUTH_REQUEST publickey to build. */
struct st_sshc_pubkey_req {
	const uint8_t *sid;      /* session identifier */
	size_t sid_len;
	const char *user;
	const struct st_key *key; /* signs (when sign is set) */
	const char *alg;          /* algorithm name sent and signed */
	const uint8_t *blob;      /* key blob sent; NULL: the key's own */
	size_t blob_len;
	const uint8_t *hostkey;   /* non-NULL: the hostbound method with this host key blob */
	size_t hostkey_len;
	int sign;                 /* 0: a query without signature */
};

/*
 * Appends the request (message number included) to out; the signature, when
 * asked for, is made with `alg` (the base algorithm of a -cert-v01 name), or
 * with the key's natural algorithm if `alg` does not fit
 * it. Returns ST_OK, ST_ERR_NO_SPACE / ST_ERR_ALLOC, ST_ERR_CRYPTO, the
 * st_sig_sign() errors; nothing is appended on failure.
 */
int st_sshc_auth_pubkey_build(const struct st_sshc_pubkey_req *q, struct st_buf *out);

#endif
