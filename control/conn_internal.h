/*
 * Internal layout of a control-plane connection, shared by conn.c (transport
 * and dispatch), userauth.c and channels.c. Not for use outside control/.
 */
#ifndef ST_CONTROL_CONN_INTERNAL_H
#define ST_CONTROL_CONN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "control/authkeys.h"
#include "control/config.h"
#include "control/conn.h"
#include "control/kex.h"
#include "crypto/buf.h"
#include "crypto/hash.h"
#include "crypto/key.h"

/* Bytes of a certificate key id sent to backends in the PROXY v2 TLV 0xE4. */
#define ST_CTL_CERT_ID_TLV_MAX 256

struct st_ctl_conn;

/*
 * Handles one payload p[0..len) (message number at p[0]) with sequence
 * number seq. Returns ST_OK, or an error: the dispatcher turns buffer errors
 * into a "malformed" DISCONNECT and others into an internal one, unless the
 * handler already ended the connection with ctl_fail().
 */
typedef int (*st_ctl_handler)(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p,
			      size_t len);

enum ctl_kx_state {
	KX_NONE,          /* no key exchange running (after the initial one) */
	KX_WAIT_KEXINIT,  /* ours sent, waiting for the peer's */
	KX_WAIT_INIT,     /* KEXINITs exchanged, waiting for KEX_ECDH_INIT */
	KX_WAIT_NEWKEYS,  /* reply and NEWKEYS sent, waiting for the peer's NEWKEYS */
};

enum ctl_sv_state {
	SV_PRE,           /* before the version line / first kex */
	SV_WAIT_SERVICE,  /* first kex done: SERVICE_REQUEST ssh-userauth */
	SV_USERAUTH,      /* ssh-userauth running */
	SV_CONNECTION,    /* authenticated: ssh-connection */
};

enum ctl_chan_kind {
	CHAN_FREE = 0,
	CHAN_SESSION,
	CHAN_DIRECT_TCPIP,
};

struct ctl_chan {
	enum ctl_chan_kind kind;
	uint32_t remote_id;
	uint8_t attached; /* a service is attached (exec/shell/subsystem done) */
	uint8_t pty;
	uint8_t pending;  /* direct-tcpip waiting for the worker's confirmation */
};

#define CTL_MAX_FAILED_LOG 160
/* Up messages held while a helper job (AuthorizedKeysCommand, key exchange) runs; more ends
 * the connection. */
#define CTL_HELD 32

struct st_ctl_conn {
	const struct st_ctl_config *cfg;
	struct st_conn_handle h;
	struct st_plane_sink sink;
	struct st_ctl_log log;
	struct st_ctl_stats *stats;
	struct st_ctl_stats own_stats;

	char peer_ip[ST_IP_STR];
	char local_ip[ST_IP_STR];
	uint16_t peer_port, local_port;
	/* PROXY protocol (conn_proxy.c) */
	char tcp_peer_ip[ST_IP_STR];  /* the TCP peer (the load balancer when proxied) */
	uint16_t tcp_peer_port;
	uint8_t proxy_listed;  /* the TCP peer is in ProxyProtocolFrom */
	uint8_t proxy_seen;    /* a header was accepted */
	uint8_t peer_final;    /* peer_ip/peer_port will not change any more */
	char key_fp[ST_KEY_FP_SIZE]; /* "SHA256:..." of the accepted user key, "" before */
	char cert_fp[ST_KEY_FP_SIZE]; /* "SHA256:..." of the accepted certificate blob, or "" */
	char cert_id[ST_CTL_CERT_ID_TLV_MAX + 1]; /* its key id, printable (cut), or "" */
	uint8_t opened;
	uint8_t closing; /* CLOSE sent (or the peer left): drop input */
	uint8_t done;    /* ST_UP_CLOSED seen */
	uint8_t we_closed;
	int disc;        /* ST_CTL_DISC_* of the reason we closed (when we_closed) */


	/* transport */
	char v_c[256];
	uint8_t have_version;
	enum ctl_kx_state kx;
	uint8_t initial_done;  /* the peer's first NEWKEYS arrived */
	uint8_t strict;        /* kex-strict negotiated on the initial kex */
	uint8_t ext_info_c;
	uint8_t ignore_guess;  /* drop the next kex packet (wrong guess) */
	struct st_buf i_s, i_c; /* KEXINIT payloads of the running exchange */
	struct st_kex_neg neg;
	struct st_kex_neg cur; /* the algorithms of the keys in force (for operators) */
	uint8_t session_id[ST_HASH_MAX_LEN];
	size_t sid_len;
	/* SHA-256 of the host key blob of the initial kex, for hostbound publickey
	 * requests (a digest, not the blob: an RSA blob would be most of this struct). */
	uint8_t hostkey_sha256[32];

	/* user authentication */
	enum ctl_sv_state sv;
	char user[ST_USER_MAX]; /* printable copy for logs (cut) */
	uint8_t user_raw[256];  /* as sent, for the no-change check */
	size_t user_raw_len;
	uint8_t user_set;
	uint8_t authed;
	unsigned failures;
	unsigned requests; /* every USERAUTH_REQUEST, queries and "none" included */
	struct st_authkey_opts opts; /* of the accepted key */
	uint64_t t_start;
	uint8_t t_started;

	/* AuthorizedKeysCommand (conn_akc.c) */
	struct st_ctl_akc akc;     /* where jobs go; pool NULL: none */
	uint8_t akc_wait;          /* a job runs: input is held */
	uint64_t akc_id;           /* of the job we wait for */
	struct st_akc_job *akc_res; /* its result, for the replayed request */

	/* key exchange on the helper pool (conn_kex.c) */
	struct st_ctl_kexp kexp;   /* where jobs go; submit NULL: computed here */
	uint8_t kex_wait;          /* a job computes our reply: input is held */
	uint64_t kex_id;           /* of the job we wait for */

	/*
	 * Input held while akc_wait or kex_wait (one at a time: while one job
	 * runs no message is handled, so no other can start): for a command the
	 * request that waits first, then what followed; for a key exchange what
	 * followed the KEX_ECDH_INIT.
	 */
	struct st_plane_msg *held[CTL_HELD];
	unsigned nheld;

	/* channels */
	struct ctl_chan *chans;
	uint32_t nchans;
	uint8_t no_more_sessions; /* no-more-sessions@openssh.com received */
};

/* Sends a payload (ST_DOWN_SEND). */
int ctl_send(struct st_ctl_conn *c, const struct st_buf *payload);
/* Sends a down message of `type` with data (copied). */
int ctl_emit(struct st_ctl_conn *c, struct st_plane_msg *m);
struct st_plane_msg *ctl_msg(struct st_ctl_conn *c, enum st_plane_type type, const void *data,
			     size_t len);

/*
 * Ends the connection: DISCONNECT(code, text) in a ST_DOWN_CLOSE, counter,
 * log line. Returns ST_ERR_STATE so that a handler can `return ctl_fail(..)`.
 */
int ctl_fail(struct st_ctl_conn *c, enum st_ctl_counter ctr, uint32_t code,
	     enum st_close_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void ctl_count(struct st_ctl_conn *c, enum st_ctl_counter ctr);
void ctl_logf(struct st_ctl_conn *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));


/* userauth.c */
int ctl_h_service_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len);
int ctl_h_userauth_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len);

/*
 * conn_akc.c: the AuthorizedKeysCommand step of a publickey lookup, after
 * the AuthorizedKeysFile did not grant key. ST_OK with *opts (the output
 * grants it); ST_ERR_NOT_FOUND (no command, the command failed or does not
 * list the key: logged); ST_ERR_AGAIN: a job was started, the connection
 * waits (the handler returns ST_ERR_AGAIN without answering; the request is
 * replayed once the job is done).
 */
int ctl_akc_lookup(struct st_ctl_conn *c, const struct st_key *key, struct st_authkey_opts *opts);
/* Frees a result. */
void ctl_akc_free(struct st_ctl_conn *c);

/* conn.c: held input. Holds m while a job runs (takes it). ST_OK, or an error that ended the
 * connection. */
int ctl_hold(struct st_ctl_conn *c, struct st_plane_msg *m);
/* The job is back: hands the held messages to st_ctl_conn_input in order (a message that
 * starts another job holds the rest again). */
void ctl_replay_held(struct st_ctl_conn *c);
/* The DISCONNECT for handler error r of message `type` (ctl_fail's return). */
int ctl_map_error(struct st_ctl_conn *c, int r, unsigned type);

/*
 * conn_kex.c: the server side of a key exchange on the helper pool.
 * ctl_kex_submit hands the exchange to the pool: ST_OK (c->kex_wait is set,
 * the answer comes with st_ctl_conn_kex_done), or an error when there is no
 * pool or it refused the job: the caller computes it itself.
 */
int ctl_kex_submit(struct st_ctl_conn *c, const struct st_kex_transcript *t, const uint8_t *p,
		   size_t len);
/* conn.c: sends the reply, KEYS, NEWKEYS (and EXT_INFO) of a computed exchange; r is
 * st_ctl_kex_reply's result. ST_OK or an error for ctl_map_error (or ctl_fail's). */
int ctl_kex_finish(struct st_ctl_conn *c, int r, const struct st_buf *reply,
		   const struct st_kex_result *res);

/* channels.c */
int ctl_channels_init(struct st_ctl_conn *c);
void ctl_channels_free(struct st_ctl_conn *c);
int ctl_h_global_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len);
int ctl_h_channel_open(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len);
int ctl_h_channel_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len);
int ctl_h_channel_unbound(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len);
void ctl_channel_closed(struct st_ctl_conn *c, uint32_t local_id);
/* conn_proxy.c: on ST_UP_OPEN (after the addresses are copied), ST_UP_PROXY, ST_UP_VERSION. */
int ctl_proxy_open(struct st_ctl_conn *c);
int ctl_proxy_header(struct st_ctl_conn *c, const struct st_plane_msg *m);
int ctl_proxy_version(struct st_ctl_conn *c);
/*
 * When the BACKEND service that attach m names has proxy-protocol=v2: puts
 * the PROXY v2 header for it in m->data (client and local address, TLVs
 * user, key fingerprint and cmd[0..len)). ST_OK (also when there is none to
 * send), ST_ERR_ALLOC.
 */
int ctl_proxy_backend_header(struct st_ctl_conn *c, struct st_plane_msg *m, const char *cmd,
			     size_t len);
void ctl_backend_failed(struct st_ctl_conn *c, uint32_t local_id, int err);

#endif
