/*
 * The SSH client engine, sans I/O: one client connection from the version
 * exchange to the last channel close, on the same record layer
 * (dataplane/ssh/record.c) and crypto/ as the server.
 *
 * What it does: version exchange; key exchange with every method, host key
 * and cipher suite sshterm supports (sshc_kex.h), strict kex and ext-info;
 * host key verification (hostkey_check.h); "ssh-userauth" with publickey
 * (ed25519, ecdsa-sha2-nistp256, rsa-sha2-256/512 as the server's
 * server-sig-algs allows); one "session" channel with exec, both windows,
 * EOF/CLOSE and exit-status; rekey started by the server or by us after
 * `rekey_bytes` in either direction.
 *
 * The owner moves the bytes:
 *   - bytes from the server: st_sshc_input() (any fragment size);
 *   - bytes to the server: st_sshc_tx_peek() / st_sshc_tx_consume();
 *   - channel data: st_sshc_write() (bounded by the peer's window and our
 *     tx buffer), st_sshc_send_eof(); received data goes to ev.data with a
 *     pointer into the record buffer (no copy), valid during the call.
 * Time: the engine has no clock. The owner enforces timeouts and reports
 * them with st_sshc_fail().
 *
 * Threads: one engine belongs to the thread that drives it. The config and
 * what it points to (keys, known_hosts) are read-only and may be shared.
 * Errors: the first failure is sticky; st_sshc_failure() says what it was
 * and st_sshc_state() is SSHC_FAILED. Nothing the server sends can make the
 * engine crash or allocate without bound: every length is capped.
 */
#ifndef ST_CONTROL_CLIENT_SSHC_H
#define ST_CONTROL_CLIENT_SSHC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"

struct st_key;
struct st_known_hosts;

enum st_sshc_state {
	SSHC_VERSION,      /* waiting for the server's identification line */
	SSHC_KEX,          /* initial key exchange */
	SSHC_AUTH,         /* service request and user authentication */
	SSHC_CHANNEL,      /* channel open and exec sent, waiting for answers */
	SSHC_OPEN,         /* exec accepted: data may flow */
	SSHC_DONE,         /* channel closed (or no command): DISCONNECT queued */
	SSHC_FAILED,       /* see st_sshc_failure() */
};

/* Why a connection failed; the owner adds the transport's own reasons. */
#define SSHC_FAIL_LIST(X)                                            \
	X(SSHC_FAIL_NONE, "none")                                    \
	X(SSHC_FAIL_REFUSED, "connection refused")                   \
	X(SSHC_FAIL_TIMEOUT, "timeout")                              \
	X(SSHC_FAIL_CLOSED, "connection closed by server")           \
	X(SSHC_FAIL_IO, "transport error")                           \
	X(SSHC_FAIL_VERSION, "bad version exchange")                 \
	X(SSHC_FAIL_NEGOTIATION, "no common algorithm")              \
	X(SSHC_FAIL_HOSTKEY, "host key verification failed")         \
	X(SSHC_FAIL_KEX, "key exchange failed")                      \
	X(SSHC_FAIL_RECORD, "corrupted packet")                      \
	X(SSHC_FAIL_PROTOCOL, "protocol error")                      \
	X(SSHC_FAIL_AUTH, "permission denied")                       \
	X(SSHC_FAIL_CHANNEL, "channel open refused")                 \
	X(SSHC_FAIL_EXEC, "exec refused")                            \
	X(SSHC_FAIL_DISCONNECT, "disconnected by server")            \
	X(SSHC_FAIL_EXIT_STATUS, "command failed")                   \
	X(SSHC_FAIL_VERIFY, "data check failed")                     \
	X(SSHC_FAIL_INTERNAL, "internal error")

#define SSHC_FAIL_ENUM(name, text) name,
enum st_sshc_fail { SSHC_FAIL_LIST(SSHC_FAIL_ENUM) SSHC_FAIL_COUNT };
#undef SSHC_FAIL_ENUM

/* Short text of a failure reason ("permission denied"); never NULL. */
const char *st_sshc_fail_text(enum st_sshc_fail f);

struct st_sshc_failure {
	enum st_sshc_fail reason;
	uint32_t disconnect_code; /* SSHC_FAIL_DISCONNECT: the server's reason code */
	int err;                  /* the ST_ERR_* behind it, 0 if none */
	char text[160];           /* one line for humans */
};

/* Host key policy: exactly one of the three. */
struct st_sshc_hostkey_policy {
	const struct st_known_hosts *known_hosts; /* parsed known_hosts (hostkey_check.h) */
	const char *fingerprint; /* "SHA256:<base64>" of the expected host key */
	int insecure;            /* accept any host key (must be asked for) */
};

/* Channel events; any may be NULL. ctx is st_sshc_config.ctx. */
struct st_sshc_events {
	/* CHANNEL_DATA (ext = 0) or EXTENDED_DATA (ext = 1, stderr). */
	void (*data)(void *ctx, const uint8_t *p, size_t n, int ext);
	/* exec accepted: the channel is open for st_sshc_write(). */
	void (*opened)(void *ctx);
	/* The server's window grew: st_sshc_write() may take more now. */
	void (*writable)(void *ctx);
	/* The server sent EOF on the channel. */
	void (*eof)(void *ctx);
};

struct st_sshc_config {
	const char *user;
	const struct st_key *key;    /* user key with its private half */
	const char *kex;             /* name-lists; NULL: the defaults below */
	const char *hostkey_algs;
	const char *ciphers;
	const char *macs;
	const char *version;         /* our identification; NULL: SSH-2.0-sshterm_bench */
	const char *host;            /* for known_hosts lookups (name or address) */
	uint16_t port;
	struct st_sshc_hostkey_policy hostkey;
	const char *command;         /* exec; NULL: no channel, done after auth */
	uint64_t rekey_bytes;        /* rekey after this many bytes either way; 0: 1 GiB */
	uint32_t window;             /* our channel window; 0: 2 MiB */
	const struct st_crypto_backend *be; /* NULL: EVP */
	struct st_sshc_events ev;
	void *ctx;
};

/* Longest exec command. */
#define ST_SSHC_COMMAND_MAX 4096

#define ST_SSHC_DEFAULT_KEX \
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256," \
	"diffie-hellman-group16-sha512,diffie-hellman-group14-sha256"
#define ST_SSHC_DEFAULT_HOSTKEY_ALGS \
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
#define ST_SSHC_DEFAULT_CIPHERS \
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com," \
	"aes128-ctr,aes256-ctr"
#define ST_SSHC_DEFAULT_MACS \
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"

struct st_sshc; /* opaque */

/*
 * Makes a client for one connection and queues our identification line.
 * The config must outlive the engine. Returns ST_OK, ST_ERR_INVALID_ARGUMENT
 * (no user or key, no host key policy, an unknown name in a list),
 * ST_ERR_ALLOC.
 */
int st_sshc_new(const struct st_sshc_config *cfg, struct st_sshc **out);

/* Wipes keys and frees. NULL is a no-op. */
void st_sshc_free(struct st_sshc *c);

/*
 * Bytes from the server. Consumes all of them unless the engine cannot take
 * more now (its receive buffer is full of undelivered packets: *used < n).
 * Returns ST_OK, or the sticky failure's ST_ERR_* (see st_sshc_failure()).
 */
int st_sshc_input(struct st_sshc *c, const uint8_t *p, size_t n, size_t *used);

/* The server closed the connection (EOF): a failure unless we are done. */
void st_sshc_input_eof(struct st_sshc *c);

/* Bytes waiting to go to the server. */
void st_sshc_tx_peek(const struct st_sshc *c, const uint8_t **p, size_t *n);
void st_sshc_tx_consume(struct st_sshc *c, size_t n);

/*
 * Channel data to the server: seals up to n bytes into CHANNEL_DATA packets.
 * Returns how many bytes were taken: 0 before SSHC_OPEN, during a key
 * exchange, when the server's window is closed or the tx buffer holds more
 * than ST_SSHC_TX_HIGH bytes. Negative on a (sticky) failure.
 */
#define ST_SSHC_TX_HIGH (256u * 1024u)
long st_sshc_write(struct st_sshc *c, const uint8_t *p, size_t n);

/* Sends CHANNEL_EOF (once; held during a key exchange). */
int st_sshc_send_eof(struct st_sshc *c);

/* Closes the channel and then the connection (DISCONNECT by application). */
int st_sshc_close(struct st_sshc *c);

/* Ends the connection with a failure of the owner's (timeout, refused …). */
void st_sshc_fail(struct st_sshc *c, enum st_sshc_fail reason, int err, const char *text);

enum st_sshc_state st_sshc_state(const struct st_sshc *c);
const struct st_sshc_failure *st_sshc_failure(const struct st_sshc *c);

/* The exit-status the server sent, -1 when none came. */
int st_sshc_exit_status(const struct st_sshc *c);

/* What was negotiated (after the initial kex). */
struct st_sshc_info {
	char kex[64], hostkey_alg[64], cipher_c2s[64], cipher_s2c[64], mac_c2s[64], mac_s2c[64];
	char server_version[256];
	uint32_t rekeys;         /* completed key exchanges after the first */
	uint64_t bytes_in, bytes_out; /* wire bytes */
	uint64_t data_in, data_out;   /* channel payload bytes */
};
const struct st_sshc_info *st_sshc_info(const struct st_sshc *c);

#endif
