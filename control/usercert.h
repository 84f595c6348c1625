/*
 * User certificates for publickey authentication (PROTOCOL.certkeys), with
 * sshd's rules:
 *   - a user certificate only;
 *   - trusted when its CA is listed in TrustedUserCAKeys, or (failing that)
 *     on a cert-authority line of the user's authorized_keys;
 *   - valid_after <= now < valid_before;
 *   - principals: with TrustedUserCAKeys, one of the certificate's
 *     principals must be a line of AuthorizedPrincipalsFile (%u, %h) when
 *     that is set, else the user name must be one of them (an empty list
 *     refuses); with a cert-authority line, one of them must be in its
 *     principals= list when it has one, else the user name must be one of
 *     them (an empty list allows any user, as sshd allows it);
 *   - critical options: force-command (the forced command or service; one
 *     that differs from the line's command= refuses), source-address (a
 *     CIDR list the client address must lie in); any other refuses;
 *   - extensions: without permit-port-forwarding no direct-tcpip, without
 *     permit-pty no pty (and likewise agent, X11, user-rc); others ignored.
 * The CA signature itself (and the refusal of SHA-1 "ssh-rsa" CA
 * signatures) is crypto/cert.c's.
 *
 * Runs on the control thread that owns the session being authenticated; it
 * reads files (bounded, non-blocking opens) and keeps no state.
 */
#ifndef ST_CONTROL_USERCERT_H
#define ST_CONTROL_USERCERT_H

#include <stddef.h>
#include <stdint.h>

#include "control/authkeys.h"
#include "control/conn.h"

struct st_cert;
struct st_ctl_config;

#define ST_PRINCIPALS_FILE_MAX (1024u * 1024u)

struct st_usercert_req {
	const struct st_ctl_config *cfg;
	const char *user;    /* the user name, already checked by st_userauth_name_ok() */
	const char *peer_ip; /* the client's address (text) */
	uint64_t now;        /* seconds since the epoch */
	st_authkeys_log_fn log;
	void *log_ctx;
};

/*
 * Decides whether cert (parsed and CA-verified) logs q->user in.
 * Returns ST_OK with *opts (the restrictions to apply: the authorized_keys
 * or principals line's options merged with the certificate's; the caller
 * frees them with st_authkey_opts_free()) and *via: "TrustedUserCAKeys" or
 * "authorized_keys". Otherwise ST_ERR_NOT_FOUND (refused) with *why the
 * counter of the reason and a log line through q->log; ST_ERR_ALLOC.
 */
int st_usercert_authorize(const struct st_usercert_req *q, const struct st_cert *cert,
			  struct st_authkey_opts *opts, enum st_ctl_counter *why);

/*
 * Is ip inside one of the comma-separated CIDR blocks of list (a
 * certificate's source-address)? 1 yes, 0 no, -1 when the list is malformed
 * (an entry that is not an address or address/prefix, an empty entry).
 */
int st_usercert_source_ok(const char *ip, const char *list, size_t list_len);

#endif
