/*
 * One SSH connection as the control plane sees it, I/O free.
 *
 * The worker that owns the connection sends up messages (dataplane/ssh/
 * planes.h); st_ctl_conn_input() consumes one and answers through the sink
 * with down messages, in order. The control plane runs the version exchange
 * check, key exchanges (initial and rekeys, strict kex), ext-info,
 * ssh-userauth (publickey) and channel / request policy.
 *
 * Errors end only this connection: a DISCONNECT payload with the RFC 4253
 * §11.1 reason code goes out in a ST_DOWN_CLOSE, the matching counter of
 * struct st_ctl_stats is bumped and a line is logged. After that, everything
 * but ST_UP_CLOSED is dropped. After ST_UP_CLOSED (the worker's last message)
 * st_ctl_conn_done() is 1 and the owner frees the connection.
 *
 * Lifecycle: st_ctl_conn_new(); the worker's ST_UP_OPEN (we answer with our
 * identification line, ST_DOWN_VERSION_LINE); a PROXY protocol header
 * (ST_UP_PROXY, control/conn_proxy.c: the client's address replaces the TCP
 * peer's); the peer's line (ST_UP_VERSION;
 * we answer with our KEXINIT); payloads ... ; ST_UP_CLOSED; st_ctl_conn_free().
 *
 * Time: st_ctl_conn_tick(now) with a monotonic clock in seconds. The first
 * tick starts the LoginGraceTime clock, so the owner ticks right after
 * creating a connection and then periodically.
 */
#ifndef ST_CONTROL_CONN_H
#define ST_CONTROL_CONN_H

#include <stdint.h>

#include "control/config.h"
#include "dataplane/ssh/planes.h"

/* Log priorities, as syslog(3) numbers them. */
enum st_ctl_log_level {
	ST_LOG_ERR = 3,
	ST_LOG_WARNING = 4,
	ST_LOG_NOTICE = 5,
	ST_LOG_INFO = 6,
	ST_LOG_DEBUG = 7,
};

/* Receives one log line (no newline), e.g. "Accepted publickey for ...". */
typedef void (*st_ctl_log_fn)(void *ctx, int level, const char *line);

struct st_ctl_log {
	st_ctl_log_fn fn; /* NULL: no logging */
	void *ctx;
};

/*
 * Control-plane counters, one list. DISC_* count connections we ended, one
 * counter per reason; the rest count events.
 */
#define ST_CTL_COUNTERS(X)                                                      \
	X(CONN_OPENED, "connections opened")                                    \
	X(CONN_CLOSED, "connections closed")                                    \
	X(KEX_DONE, "key exchanges completed (initial and rekeys)")             \
	X(REKEY_SERVER, "rekeys started by us")                                 \
	X(REKEY_CLIENT, "rekeys started by the peer")                           \
	X(AUTH_ACCEPTED, "publickey authentications accepted")                  \
	X(AUTH_FAILED, "failed authentication attempts")                        \
	X(AUTH_KEY_REVOKED, "publickey refused: key revoked by RevokedKeys")     \
	X(AUTH_CERT_INVALID, "user certificates refused: malformed or bad CA signature") \
	X(AUTH_CERT_CA_ALG, "user certificates refused: CA signature algorithm not allowed") \
	X(AUTH_CERT_NOT_USER, "user certificates refused: not a user certificate") \
	X(AUTH_CERT_CA_UNTRUSTED, "user certificates refused: CA not trusted")  \
	X(AUTH_CERT_REVOKED, "user certificates refused: key or CA revoked")    \
	X(AUTH_CERT_NOT_YET_VALID, "user certificates refused: not yet valid")  \
	X(AUTH_CERT_EXPIRED, "user certificates refused: expired")              \
	X(AUTH_CERT_PRINCIPAL, "user certificates refused: no allowed principal") \
	X(AUTH_CERT_SOURCE, "user certificates refused: source-address mismatch") \
	X(AUTH_CERT_OPTION, "user certificates refused: unknown critical option") \
	X(AUTH_CERT_COMMAND, "user certificates refused: force-command conflicts with command=") \
	X(UNIMPLEMENTED_SENT, "SSH_MSG_UNIMPLEMENTED sent")                     \
	X(CHANNEL_OPENED, "channels opened")                                    \
	X(CHANNEL_REFUSED, "channel opens refused")                             \
	X(PEER_DISCONNECT, "peer sent DISCONNECT")                              \
	X(DISC_VERSION, "disconnect: bad identification line")                 \
	X(DISC_MALFORMED, "disconnect: malformed or truncated message")         \
	X(DISC_UNEXPECTED, "disconnect: message not allowed in this state")     \
	X(DISC_STRICT_KEX, "disconnect: strict kex violation")                  \
	X(DISC_KEX_NEGOTIATION, "disconnect: no common algorithm")              \
	X(DISC_KEX_FAILED, "disconnect: key exchange failed")                   \
	X(DISC_SERVICE, "disconnect: service not available")                    \
	X(DISC_AUTH_TRIES, "disconnect: too many authentication failures")      \
	X(DISC_AUTH_CHANGE, "disconnect: user or service changed during auth")  \
	X(DISC_LOGIN_GRACE, "disconnect: login grace time exceeded")            \
	X(DISC_CHANNEL, "disconnect: bad channel reference")                    \
	X(DISC_RESOURCES, "disconnect: out of resources")                       \
	X(DISC_INTERNAL, "disconnect: internal error")                          \
	X(PROXY_ACCEPTED, "PROXY protocol headers accepted")                    \
	X(DISC_PROXY_UNLISTED, "disconnect: PROXY header (or, under require, a connection) from a source not in ProxyProtocolFrom") \
	X(DISC_PROXY_MISSING, "disconnect: no PROXY header under ProxyProtocol require") \
	X(DISC_PROXY_BAD, "disconnect: malformed, truncated or oversize PROXY header")

enum st_ctl_counter {
#define ST_CTL_CNT_ENUM(name, text) ST_CTL_##name,
	ST_CTL_COUNTERS(ST_CTL_CNT_ENUM)
#undef ST_CTL_CNT_ENUM
	ST_CTL_COUNTER_COUNT
};

/* Plain counters, one writer (the control thread). */
struct st_ctl_stats {
	uint64_t v[ST_CTL_COUNTER_COUNT];
};

/* Counter name ("DISC_MALFORMED") and description; "unknown" outside the list. */
const char *st_ctl_counter_name(enum st_ctl_counter c);
const char *st_ctl_counter_text(enum st_ctl_counter c);

struct st_ctl_conn;

/*
 * New connection state for handle h. cfg must outlive the connection and
 * hold at least one host key. sink receives the down messages; log may be
 * NULL; stats may be NULL (then a private set is kept, see st_ctl_conn_stats).
 * Returns NULL on allocation failure.
 */
struct st_ctl_conn *st_ctl_conn_new(const struct st_ctl_config *cfg, struct st_conn_handle h,
				    const struct st_plane_sink *sink, const struct st_ctl_log *log,
				    struct st_ctl_stats *stats);

/*
 * Consumes one up message (takes ownership of m, frees it in every case).
 * Returns ST_OK when the message was consumed, including when it ended the
 * connection (see st_ctl_conn_closing: a sink that refused a message, or
 * memory running out, also ends it); ST_ERR_INVALID_ARGUMENT for a message
 * that is not for this connection (NULL, another handle, a down type, an
 * unknown type), which changes nothing.
 */
int st_ctl_conn_input(struct st_ctl_conn *c, struct st_plane_msg *m);

/* LoginGraceTime: disconnects an unauthenticated connection after cfg->login_grace_time s. */
void st_ctl_conn_tick(struct st_ctl_conn *c, uint64_t now);

/* 1 once we sent ST_DOWN_CLOSE (or the peer went away). */
int st_ctl_conn_closing(const struct st_ctl_conn *c);

/* 1 after ST_UP_CLOSED: the owner frees the connection. */
int st_ctl_conn_done(const struct st_ctl_conn *c);

/*
 * The client's address as the connection knows it: the TCP peer, or the
 * source of an accepted PROXY protocol header. Returns 1 once it is final
 * (the source is not in ProxyProtocolFrom, a header was accepted, or the
 * identification line came without one), 0 while a header may still come.
 */
int st_ctl_conn_peer(const struct st_ctl_conn *c, const char **ip, uint16_t *port);

/* The address the client connected to (a PROXY header's destination when one was accepted). */
void st_ctl_conn_local(const struct st_ctl_conn *c, const char **ip, uint16_t *port);

/* The authenticated user, or NULL. */
const char *st_ctl_conn_user(const struct st_ctl_conn *c);

/* How a connection ended, for per-source penalties (control/srclimit.h). */
struct st_ctl_conn_end {
	int authed;          /* a user was authenticated */
	unsigned failures;   /* failed authentication attempts */
	unsigned requests;   /* USERAUTH_REQUESTs of any kind */
	int we_closed;       /* we ended it (ctl_fail), else the peer or the worker did */
	int disc;            /* when we_closed: the ST_CTL_DISC_* counter of the reason */
};
void st_ctl_conn_end_info(const struct st_ctl_conn *c, struct st_ctl_conn_end *out);

/* The counters this connection updates. */
const struct st_ctl_stats *st_ctl_conn_stats(const struct st_ctl_conn *c);

/*
 * AuthorizedKeysCommand (control/conn_akc.c). Where a connection sends its
 * command jobs: the pool (control/akc_pool.h) and the callback its jobs
 * finish with (on a helper thread), which must bring the job back to the
 * thread that owns the connection and hand it to st_ctl_conn_akc_done()
 * there. Without one (pool NULL: unit tests, the fuzzer) a configured
 * command is not run and its keys are denied.
 */
struct st_akc_pool;
struct st_akc_job;
struct st_kex_job;
struct st_ctl_akc {
	struct st_akc_pool *pool;
	void (*done)(void *ctx, struct st_akc_job *job);
	void *ctx;
};
void st_ctl_conn_set_akc(struct st_ctl_conn *c, const struct st_ctl_akc *a);

/*
 * A finished job of this connection (job->h is its handle), on the owner's
 * thread; consumes it. While the job ran, the connection held its input:
 * the USERAUTH_REQUEST that started the job is handled again, now with the
 * command's output, then the messages held behind it, in order. A job that
 * is not the one the connection waits for (it ended, it timed out on
 * LoginGraceTime) is dropped.
 */
void st_ctl_conn_akc_done(struct st_ctl_conn *c, struct st_akc_job *job);

/*
 * Key exchanges on the helper pool (control/conn_kex.c, control/kex_pool.h).
 * When the client's KEX_ECDH_INIT / KEXDH_INIT arrives, the connection
 * copies what the exchange needs into a job and calls submit (on its owner's
 * thread). ST_OK: the job is out, the connection holds its input until the
 * job comes back to st_ctl_conn_kex_done() on the owner's thread; any error:
 * the connection computes the exchange itself, as without a pool (submit
 * NULL: KexThreads 0, unit tests, the fuzzer). The host key of job->neg is
 * the configuration's: the submitter keeps that alive until the job is back.
 */
struct st_ctl_kexp {
	int (*submit)(void *ctx, struct st_kex_job *job);
	void *ctx;
};
void st_ctl_conn_set_kexp(struct st_ctl_conn *c, const struct st_ctl_kexp *k);

/*
 * A computed job of this connection (job->h is its handle), on the owner's
 * thread; consumes it (its keys wiped). Sends the reply, KEYS and NEWKEYS as
 * an exchange computed in place would, then handles the messages held
 * meanwhile, in order. A failed job ends the connection as the exchange
 * would have (a rejected public value: "key exchange failed"; a stopped
 * pool: "server shutting down"). Returns 1 when the result was used, 0 when
 * it was dropped: not the job the connection waits for, or the connection
 * is closing (c may then be NULL).
 */
int st_ctl_conn_kex_done(struct st_ctl_conn *c, struct st_kex_job *job);

/* 1 while a key-exchange job of the connection is out. */
int st_ctl_conn_kex_waiting(const struct st_ctl_conn *c);

/* Frees everything, wiping secrets. NULL is a no-op. */
void st_ctl_conn_free(struct st_ctl_conn *c);

/*
 * The algorithms of the current keys as "KEX HOSTKEYALG CIPHER[/MAC]" (the
 * client-to-server cipher and MAC; the other direction is shown only when it
 * differs), or "-" before the first key exchange completed. Always
 * NUL-terminates out.
 */
void st_ctl_conn_algorithms(const struct st_ctl_conn *c, char *out, size_t outsz);

#endif
