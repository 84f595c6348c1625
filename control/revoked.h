/*
 * RevokedKeys: a KRL or public key list (crypto/krl.h) read at each
 * authentication, as sshd reads it, so a new list takes effect at once.
 * Fails closed: a file that cannot be read or parsed revokes everything
 * (sshd refuses every key then too).
 *
 * Runs on the control thread that authenticates the session; no state.
 */
#ifndef ST_CONTROL_REVOKED_H
#define ST_CONTROL_REVOKED_H

#include <stddef.h>

struct st_cert;
struct st_key;

/*
 * 1 when path revokes key (cert NULL) or the certificate cert (its CA, its
 * key, its serial or key id); also when the file cannot be used, with the
 * reason in why[whysz]. 0 when not revoked. path "" revokes nothing.
 */
int st_revoked_check(const char *path, const struct st_key *key, const struct st_cert *cert,
		     char *why, size_t whysz);

#endif
