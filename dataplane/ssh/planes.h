/*
 * Messages between the control plane and the worker that owns an SSH
 * connection. These are the only way the two planes talk: in the test
 * harness they are queued and delivered in one process; in the daemon they
 * ride on per-worker SPSC rings. A message is a small fixed struct plus an
 * optional heap payload that the receiver takes over and frees with
 * st_plane_msg_free().
 *
 * Up (worker -> control):
 *   OPEN            a TCP connection was accepted (addresses in u.open)
 *   VERSION         the peer's identification line, without CR LF (data)
 *   PAYLOAD         an SSH message the worker does not handle itself (data),
 *                   in arrival order; includes NEWKEYS so that the control
 *                   plane knows the peer switched keys
 *   REKEY_DUE       RekeyLimit volume or time reached (u.rekey)
 *   CHANNEL_CLOSED  a bound channel is fully closed; its id may be reused
 *   CLOSED          the connection is gone (u.closed); the last message
 *   PROXY           the bytes of a PROXY protocol header (data) the peer sent
 *                   before its identification line (control/proxyhdr.h):
 *                   framed by the worker, whole, or, when they can never be
 *                   a header, what arrived (the worker then discards further
 *                   input and waits for CLOSE); at most one, before VERSION
 *
 * Down (control -> worker), executed in order:
 *   SEND            send this payload (data). The worker seals it in order
 *                   with its own traffic; while a key exchange is in progress
 *                   (our KEXINIT sent, our NEWKEYS not yet) it sends only
 *                   transport messages (numbers 1..49) and holds the rest.
 *   KEYS            keys for the next NEWKEYS in each direction (u.keys),
 *                   sent before the SEND of our NEWKEYS; strict kex flag.
 *   AUTHED          the user is authenticated (u.authed), for stats/logs
 *   BIND_CHANNEL    a confirmed channel moves to the fast path (u.bind):
 *                   from now on the worker handles CHANNEL_DATA,
 *                   EXTENDED_DATA, WINDOW_ADJUST, EOF and CLOSE for it.
 *                   Data arriving before a service is attached is held
 *                   (bounded by the window we granted).
 *   ATTACH_SERVICE  connect a bound channel to a service (u.service)
 *   CLOSE           send the DISCONNECT payload in data (if any), then close
 *   VERSION_LINE    write our identification line (data, without CR LF)
 *                   raw, followed by CR LF, before any binary packet
 *
 * Further fields of these messages:
 *   PAYLOAD carries the packet's sequence number in u.payload.seq (needed
 *   for SSH_MSG_UNIMPLEMENTED and for the strict-kex "KEXINIT first" check).
 *   KEYS carries the RekeyLimit (u.keys.rekey_bytes / rekey_seconds, 0 = no
 *   limit) under which the worker reports REKEY_DUE for the new keys.
 *   BACKEND_FAILED (up): a BACKEND service could not connect (u.backend).
 *   BIND_CHANNEL u.bind.confirm_on_connect (direct-tcpip, when the config
 *   asks for it): the control plane has NOT sent OPEN_CONFIRMATION; the
 *   worker sends it itself (recipient remote_id, sender local_id,
 *   local_window, local_max_packet) once the backend TCP connection is up.
 *   If the connect fails it forgets the channel (no CHANNEL_CLOSED) and
 *   reports BACKEND_FAILED; the control plane then sends OPEN_FAILURE
 *   (CONNECT_FAILED) and frees the id. For channels bound without the flag
 *   a failing backend is the worker's to close (EOF/CLOSE, exit-status);
 *   BACKEND_FAILED is then only logged.
 */
#ifndef ST_SSH_PLANES_H
#define ST_SSH_PLANES_H

#include <stdint.h>

#include "crypto/cipher.h"

/* Names a connection: worker index, slot in that worker's table, generation
 * (bumped every time the slot is reused, so a stale handle is detected; 32
 * bits, so that a slot reused 100,000 times a second repeats a generation
 * only after half a day, where 16 bits wrapped in under a second). */
struct st_conn_handle {
	uint16_t worker;
	uint32_t gen; /* never 0 */
	uint32_t slot;
};

#define ST_IP_STR 46       /* INET6_ADDRSTRLEN */
#define ST_USER_MAX 64
#define ST_SERVICE_NAME_MAX 32
#define ST_SERVICE_ARGS_MAX 256
#define ST_HOST_MAX 256

enum st_plane_type {
	/* up: worker -> control */
	ST_UP_OPEN = 1,
	ST_UP_VERSION,
	ST_UP_PAYLOAD,
	ST_UP_REKEY_DUE,
	ST_UP_CHANNEL_CLOSED,
	ST_UP_CLOSED,
	ST_UP_BACKEND_FAILED,
	ST_UP_PROXY,
	/* down: control -> worker */
	ST_DOWN_SEND = 64,
	ST_DOWN_KEYS,
	ST_DOWN_AUTHED,
	ST_DOWN_BIND_CHANNEL,
	ST_DOWN_ATTACH_SERVICE,
	ST_DOWN_CLOSE,
	ST_DOWN_VERSION_LINE,
};

/* Why a connection ended, as counted and reported (one list, see st_close_reason_str). */
#define ST_CLOSE_REASONS(X)                                              \
	X(ST_CLOSE_PEER, "closed by peer")                               \
	X(ST_CLOSE_PEER_DISCONNECT, "peer sent disconnect")              \
	X(ST_CLOSE_PROTOCOL, "protocol error")                           \
	X(ST_CLOSE_MAC, "corrupted MAC on input")                        \
	X(ST_CLOSE_PACKET_SIZE, "bad packet length")                     \
	X(ST_CLOSE_KEX_FAILED, "key exchange failed")                    \
	X(ST_CLOSE_AUTH_FAILED, "too many authentication failures")      \
	X(ST_CLOSE_LOGIN_GRACE, "login grace time exceeded")             \
	X(ST_CLOSE_VERSION, "bad protocol version identification")       \
	X(ST_CLOSE_REFUSED, "refused by a connection limit")             \
	X(ST_CLOSE_ADMIN, "killed by administrator")                     \
	X(ST_CLOSE_SHUTDOWN, "server shutting down")                     \
	X(ST_CLOSE_RESOURCES, "out of resources")                        \
	X(ST_CLOSE_INTERNAL, "internal error")

enum st_close_reason {
#define ST_CLOSE_ENUM(name, text) name,
	ST_CLOSE_REASONS(ST_CLOSE_ENUM)
#undef ST_CLOSE_ENUM
	ST_CLOSE_REASON_COUNT
};

const char *st_close_reason_str(enum st_close_reason r);

enum st_service_kind {
	ST_SERVICE_SINK = 1,   /* discard; on EOF report "<bytes> <sha256hex>\n" */
	ST_SERVICE_SOURCE,     /* send `bytes` of a deterministic stream, then EOF */
	ST_SERVICE_ECHO,       /* send back what arrives */
	ST_SERVICE_BACKEND,    /* TCP to host:port (named Service or direct-tcpip) */
};

struct st_plane_msg {
	enum st_plane_type type;
	struct st_conn_handle conn;
	union {
		struct {
			char peer_ip[ST_IP_STR];
			char local_ip[ST_IP_STR];
			uint16_t peer_port;
			uint16_t local_port;
		} open;
		struct {
			enum st_close_reason reason;
			int err; /* ST_ERR_* detail, 0 if none */
		} closed;
		struct {
			uint64_t bytes; /* bytes under the current keys */
			uint32_t seconds;
		} rekey;
		struct {
			uint32_t local_id;
		} channel_closed;
		struct {
			struct st_dir_keys tx, rx; /* secret: wiped by st_plane_msg_free */
			uint8_t strict;            /* kex-strict negotiated */
			uint64_t rekey_bytes;      /* RekeyLimit volume, 0: none */
			uint32_t rekey_seconds;    /* RekeyLimit time, 0: none */
		} keys;
		struct {
			uint32_t seq; /* sequence number of the packet */
		} payload;
		struct {
			uint32_t local_id;
			int err; /* ST_ERR_* detail */
		} backend;
		struct {
			char user[ST_USER_MAX];
		} authed;
		struct {
			uint32_t local_id, remote_id;
			uint32_t local_window;     /* window we granted */
			uint32_t window_max;       /* ChannelWindowMax: what it may grow to */
			uint32_t local_max_packet; /* max packet we announced */
			uint32_t remote_window;    /* window the peer granted */
			uint32_t remote_max_packet;
			uint8_t confirm_on_connect; /* see BACKEND_FAILED above */
		} bind;
		struct {
			uint32_t local_id;
			enum st_service_kind kind;
			uint64_t source_bytes;               /* SOURCE */
			char name[ST_SERVICE_NAME_MAX];      /* for logs and stats */
			char host[ST_HOST_MAX];              /* BACKEND */
			uint16_t port;                       /* BACKEND */
			uint8_t want_exit_status;            /* session channels: send exit-status */
		} service;
	} u;
	uint32_t len;  /* bytes at data */
	uint8_t *data; /* heap, owned by the message; NULL when len == 0 */
};

/*
 * Allocates a message of `type` with a copy of data[0..len) (len may be 0).
 * Returns NULL on allocation failure.
 */
struct st_plane_msg *st_plane_msg_new(enum st_plane_type type, struct st_conn_handle conn,
				      const void *data, uint32_t len);

/* Frees a message and its payload, wiping keys and payload bytes. NULL is a no-op. */
void st_plane_msg_free(struct st_plane_msg *m);

/*
 * Where a plane delivers the messages it produces. The receiver takes
 * ownership of `m` (also when it fails: it frees it). Returns ST_OK or an
 * error (e.g. ST_ERR_NO_SPACE when a ring is full: the sender decides).
 */
struct st_plane_sink {
	int (*deliver)(void *ctx, struct st_plane_msg *m);
	void *ctx;
};

static inline int st_plane_deliver(const struct st_plane_sink *s, struct st_plane_msg *m)
{
	return s->deliver(s->ctx, m);
}

#endif
