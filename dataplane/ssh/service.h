/*
 * Channel services: what sits at the worker end of a bound SSH channel.
 *
 * A service is a table of functions (struct st_service_ops) driven by the
 * channel layer (dataplane/ssh/channel.c), sans I/O:
 *
 *   start    once, when the control plane attaches the service to a channel
 *   on_data  bytes the peer sent; the service says how many it consumed.
 *            Consuming fewer is backpressure: the channel keeps the rest
 *            (bounded by the window it granted) and withholds WINDOW_ADJUST
 *            until they are consumed.
 *   on_eof   the peer sent CHANNEL_EOF (delivered after all its data)
 *   produce  writes up to `cap` bytes of output into a buffer the channel
 *            provides (the payload area of a CHANNEL_DATA packet: no copy).
 *            `cap` already respects the peer's window and max packet. When
 *            the service will never produce again it sets sv->out_done and
 *            sv->exit_status; the channel then sends exit-status (session
 *            channels), EOF and CLOSE.
 *   reflect  instead of on_data and produce, for a service whose output is
 *            its input (echo): the channel builds the CHANNEL_DATA packet
 *            for the bytes the moment they arrive (while they are still in
 *            the receive mbuf) and the service writes its output for them
 *            into the packet's payload area, which is then sealed in place.
 *            What the peer's window or the tx path cannot take now waits
 *            in the channel's hold ring, like any unconsumed input.
 *   close    releases everything; called exactly once after a successful start.
 *
 * Built-in services:
 *   sink       discards; on the peer's EOF writes "<bytes> <sha256hex>\n"
 *              (decimal byte count, lowercase SHA-256 of everything received),
 *              then exit status 0.
 *   source N   writes the first N bytes of the stream defined below, then
 *              exit status 0. Does not wait for the peer's EOF.
 *   echo       writes back what arrives (reflect: one copy, from the
 *              received packet into the sealed one, and no buffer of its
 *              own); after the peer's EOF, exit status 0.
 *   backend    TCP to host:port through a connector (below); bytes both ways,
 *              after an optional prefix (a PROXY v2 header) the service
 *              writes first
 *              with backpressure; the peer's EOF shuts the backend's write
 *              side; the backend's EOF ends the service (exit status 0; a
 *              failed connect or reset gives exit status 1).
 *
 * The source stream (ST_SOURCE_STREAM): the AES-128-CTR keystream under the
 * all-zero 128-bit key with an initial counter block of all zeros, counter
 * incremented as one 128-bit big-endian integer: AES_0(0) || AES_0(1) || ...
 * Byte i of the stream is byte (i mod 16) of AES_0(floor(i / 16)).
 * Reproduce it independently with, e.g.:
 *   openssl enc -aes-128-ctr -K 00000000000000000000000000000000 \
 *       -iv 00000000000000000000000000000000 -in /dev/zero | head -c N
 * or Python's `cryptography`: Cipher(AES(bytes(16)), CTR(bytes(16))).encryptor()
 * applied to N zero bytes. SHA-256 of the first 1 MiB:
 * see tests/unit/test_channel.c (test_source_stream).
 */
#ifndef ST_SSH_SERVICE_H
#define ST_SSH_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "dataplane/ssh/planes.h"

/* ---- backend connector: how a service reaches a TCP backend ---- */

/*
 * A connector opens and drives backend TCP connections for services. In the
 * test harness it is a kernel-socket connector; in the daemon it will be the
 * worker's userspace TCP. All calls are non-blocking. The I/O owner, on any
 * event of a connection (connected, readable, writable, closed), calls
 * st_wsess_pump() for the session named by `owner` at connect time.
 */
struct st_connector_ops {
	/*
	 * Starts a connection to host:port. On ST_OK *conn is a handle (possibly
	 * still connecting). Returns ST_OK, ST_ERR_NOT_FOUND (bad host),
	 * ST_ERR_SYSTEM, ST_ERR_ALLOC.
	 */
	int (*connect)(void *ctx, const char *host, uint16_t port, void *owner, void **conn);
	/*
	 * Writes up to n bytes; *written may be less than n (0 while connecting
	 * or when the send buffer is full: backpressure; the connector reports
	 * writability later). Returns ST_OK or ST_ERR_SYSTEM (connection failed).
	 */
	int (*write)(void *conn, const uint8_t *p, size_t n, size_t *written);
	/*
	 * Reads up to cap bytes into p. *n is 0 when nothing is available;
	 * *eof is set once the backend closed its side (after all data).
	 * Returns ST_OK or ST_ERR_SYSTEM (connection failed or reset).
	 */
	int (*read)(void *conn, uint8_t *p, size_t cap, size_t *n, int *eof);
	/* No more writes: half-close towards the backend (after pending data). */
	int (*shutdown_write)(void *conn);
	/* Closes and releases the connection. */
	void (*close)(void *conn);
	/*
	 * Optional (NULL: treated as connected): ST_OK once connected,
	 * ST_ERR_AGAIN while connecting, or the failure (ST_ERR_CONN_REFUSED,
	 * ST_ERR_TIMEOUT, ST_ERR_SYSTEM ...). Used to confirm a direct-tcpip
	 * channel only when its target answered.
	 */
	int (*state)(void *conn);
};

struct st_connector {
	const struct st_connector_ops *ops;
	void *ctx;
};

/* ---- services ---- */

#define ST_SINK_LINE_MAX 96
#define ST_SERVICE_PREFIX_MAX 2048 /* a backend's prefix (ATTACH_SERVICE data), bytes */

struct st_service_params {
	enum st_service_kind kind;
	uint64_t source_bytes;          /* SOURCE */
	const char *host;               /* BACKEND */
	uint16_t port;                  /* BACKEND */
	const uint8_t *prefix;          /* BACKEND: bytes sent before any channel data (a PROXY */
	uint32_t prefix_len;            /* v2 header, control/proxyhdr.h), copied at start */
};

/* What a service may use from its session. */
struct st_service_env {
	const struct st_connector *connector; /* NULL: backends unavailable */
	void *owner;                          /* passed to connector->connect */
};

struct st_service;

struct st_service_ops {
	const char *name;
	/* Returns ST_OK, ST_ERR_ALLOC, ST_ERR_CRYPTO, or the connector's error. */
	int (*start)(struct st_service *sv, const struct st_service_params *p,
		     const struct st_service_env *env);
	/* *consumed <= n. Returns ST_OK or an error that closes the channel. */
	int (*on_data)(struct st_service *sv, const uint8_t *p, size_t n, size_t *consumed);
	int (*on_eof)(struct st_service *sv);
	/* *n <= cap; may be 0. Returns ST_OK or an error that closes the channel. */
	int (*produce)(struct st_service *sv, uint8_t *buf, size_t cap, size_t *n);
	/* Non-NULL: a reflecting service (above); on_data and produce are then
	 * NULL. Writes exactly n output bytes for the n input bytes at src. */
	void (*reflect)(struct st_service *sv, uint8_t *dst, const uint8_t *src, size_t n);
	void (*close)(struct st_service *sv);
};

struct st_service {
	const struct st_service_ops *ops;
	uint8_t out_done;    /* no more output will come */
	uint8_t in_eof;      /* on_eof was delivered */
	int exit_status;     /* valid once out_done */
	uint64_t bytes_in;   /* consumed from the peer */
	uint64_t bytes_out;  /* produced towards the peer */
	union {
		struct {
			struct st_hash_ctx hash;
			char line[ST_SINK_LINE_MAX];
			uint32_t line_len, line_off;
		} sink;
		struct {
			void *evp;          /* EVP_CIPHER_CTX */
			uint64_t remaining;
		} source;
		struct {
			const struct st_connector *c;
			void *conn;
			uint8_t peer_eof_sent; /* shutdown_write done */
			uint8_t eof_wanted;    /* the peer's EOF came while the prefix was unsent */
			uint8_t *pre;          /* prefix still to write (heap), NULL: none */
			uint32_t pre_len, pre_off;
		} backend;
	} u;
};

/* The ops table for a kind, NULL for an unknown kind. */
const struct st_service_ops *st_service_ops_for(enum st_service_kind kind);

/*
 * Starts `sv` (zeroed by this call) as `p->kind`. On failure nothing needs
 * closing. Returns ST_OK, ST_ERR_INVALID_ARGUMENT (unknown kind), or start's error.
 */
int st_service_start(struct st_service *sv, const struct st_service_params *p,
		     const struct st_service_env *env);

/*
 * A started service's on_data and produce, with the calling thread's cycles
 * in them counted (st_service_thread_cycles): what the channel layer calls.
 * Not for a reflecting service (ops->reflect set).
 */
int st_service_data(struct st_service *sv, const uint8_t *p, size_t n, size_t *consumed);
int st_service_produce(struct st_service *sv, uint8_t *buf, size_t cap, size_t *n);
/* A reflecting service's reflect, its cycles counted the same way. */
void st_service_reflect(struct st_service *sv, uint8_t *dst, const uint8_t *src, size_t n);

/*
 * TSC cycles the calling thread spent in services' on_data and produce, ever
 * (a backend's TCP writes and reads included): the workers report them as
 * the services' share of their busy time, apart from the SSH layer's.
 */
uint64_t st_service_thread_cycles(void);

/* Closes a started service (no-op for a zeroed one) and zeroes it. */
void st_service_close(struct st_service *sv);

/*
 * Whether a started service can take data: ST_OK (always for the built-in
 * services), ST_ERR_AGAIN while a backend connects, or the backend's failure.
 */
int st_service_ready(const struct st_service *sv);

#endif
