/*
 * ssh-userauth (RFC 4252) on the control plane: the SERVICE_REQUEST that
 * starts it, and USERAUTH_REQUEST with the methods "none" (answered with the
 * list "publickey") and "publickey" / "publickey-hostbound-v00@openssh.com"
 * (query -> PK_OK, signature -> verified over RFC 4252 §7's data).
 * Keys are looked up in the AuthorizedKeysFile (control/authkeys.h); deny by
 * default: anything not positively accepted is a failure, unknown users fail
 * exactly like wrong keys. MaxAuthTries failures end the connection.
 *
 * The handlers are picked per message by the connection's dispatch
 * (control/conn_internal.h); this header only names the building blocks
 * that tests use.
 */
#ifndef ST_CONTROL_USERAUTH_H
#define ST_CONTROL_USERAUTH_H

#include <stddef.h>
#include <stdint.h>

struct st_buf;

/*
 * USERAUTH_REQUESTs of any kind (queries and "none" do not count as
 * failures) allowed per connection before it is ended like MaxAuthTries.
 */
#define ST_USERAUTH_REQUESTS_MAX 64

/* Longest user name accepted in a request; longer ones end the connection. */
#define ST_USERAUTH_NAME_WIRE_MAX 255

#define ST_USERAUTH_METHOD_PUBKEY "publickey"
#define ST_USERAUTH_METHOD_HOSTBOUND "publickey-hostbound-v00@openssh.com"

/*
 * Appends the data a publickey signature covers (RFC 4252 §7; the hostbound
 * variant adds the server host key blob, OpenSSH PROTOCOL §2.5):
 *   string session id, byte 50, string user, string service, string method,
 *   boolean TRUE, string algorithm, string key blob [, string host key blob]
 * hostkey may be NULL for plain "publickey".
 * Returns ST_OK, ST_ERR_NO_SPACE / ST_ERR_ALLOC.
 */
int st_userauth_signed_data(struct st_buf *out, const uint8_t *sid, size_t sid_len,
			    const char *user, size_t user_len, const char *service,
			    const char *method, const char *alg, size_t alg_len,
			    const uint8_t *blob, size_t blob_len, const uint8_t *hostkey,
			    size_t hostkey_len);

/*
 * 1 when a user name may be looked up at all: 1..ST_USER_MAX-1 bytes of
 * [A-Za-z0-9._@+-], not starting with '-' or '.'. Other names fail
 * authentication without a lookup (and without telling the client why).
 */
int st_userauth_name_ok(const char *user, size_t len);

#endif
