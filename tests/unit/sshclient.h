/*
 * In-memory test bed for the control plane, with a test client built from
 * the client engine's parts (control/client/sshc_kex.h, sshc_auth.h).
 *
 * The bed wires: client record (dataplane/ssh/record.c) -> bytes -> server
 * record -> ST_UP_PAYLOAD -> st_ctl_conn -> down messages -> a mini worker
 * (SEND sealing with kex holding, KEYS, CLOSE, BIND/ATTACH bookkeeping, a
 * loop-back "echo" fast path for bound channels) -> bytes -> client record.
 * Identification lines skip the byte stream (ST_UP_VERSION /
 * ST_DOWN_VERSION_LINE directly).
 *
 * The client side does its own key exchange (KEXINIT, ECDH/DH, host key
 * signature check over its own computation of H, KDF), user auth and
 * channel messages, so that its results cross-check the server's.
 */
#ifndef ST_TESTS_UNIT_SSHCLIENT_H
#define ST_TESTS_UNIT_SSHCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "control/config.h"
#include "control/conn.h"
#include "crypto/buf.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "dataplane/ssh/record.h"

struct st_key;

#define SC_INBOX 256
#define SC_CHANS 16
#define SC_LOG_MAX 32768

struct sc_opts {
	const char *kex;         /* client kex list (NULL: curve25519-sha256) */
	const char *hostkey_alg; /* NULL: ssh-ed25519 */
	const char *cipher;      /* NULL: aes128-gcm@openssh.com */
	const char *mac;         /* NULL: hmac-sha2-256 */
	const char *cipher_s2c;  /* NULL: as cipher (lists may hold empty names: "a,,b,") */
	const char *mac_s2c;     /* NULL: as mac */
	const char *comp_c2s;    /* NULL: "none,zlib@openssh.com" */
	const char *comp_s2c;    /* NULL: "none" */
	const char *pk_blob_type; /* NULL: the key's type; else the type string written into
				     userauth key blobs (dev-tunnels-ssh: "rsa-sha2-512") */
	int strict;              /* offer kex-strict-c-v00@openssh.com */
	int ext_info;            /* offer ext-info-c */
	int guess_wrong;         /* first_kex_packet_follows with a wrong guess */
	int guess_not_first;     /* first_kex_packet_follows, our first kex is not the server's
				    first but it has it: wrong by RFC 4253 §7 (dropbear) */
	const char *version;     /* NULL: "SSH-2.0-sctest_1.0" */
	int newkeys_trailing;    /* send NEWKEYS with a trailing byte */
	int wsess;               /* server side: the real worker session (dataplane/ssh/wsess.h)
				    instead of the mini worker; version lines go through bytes */
};

struct sc_chan {
	int bound;
	uint32_t remote_id; /* the client's id */
	enum st_service_kind kind;
	uint64_t source_bytes;
	char name[ST_SERVICE_NAME_MAX];
	char host[ST_HOST_MAX];
	uint16_t port;
	int attached;
	uint8_t prefix[2048]; /* ATTACH_SERVICE data (a backend's PROXY v2 header) */
	uint32_t prefix_len;
};

struct st_wsess;
struct st_wsess_worker_stats;

#define SC_QUEUE 4096

struct sc_bed {
	/* server side (wsess mode: the worker and the two plane queues) */
	struct st_wsess *ws;
	struct st_wsess_worker_stats *wstats;
	struct st_plane_msg *upq[SC_QUEUE], *downq[SC_QUEUE];
	unsigned upq_n, downq_n;
	int vs_stripped;
	const struct st_ctl_config *cfg;
	struct st_ctl_conn *ctl;
	struct st_ctl_stats stats;
	struct st_record srec;
	int skex_tx;                   /* our KEXINIT sealed, NEWKEYS not yet */
	struct st_plane_msg *hold[256];
	unsigned nhold;
	struct st_buf c2s, s2c;
	struct st_dir_keys srv_tx, srv_rx; /* last KEYS */
	int nkeys, strict_flag;
	uint64_t rekey_bytes;
	int closed, closed_up;
	uint32_t close_code;
	char close_text[256];
	enum st_close_reason close_reason;
	char authed_user[ST_USER_MAX];
	struct sc_chan ch[SC_CHANS];
	char logbuf[SC_LOG_MAX];
	size_t loglen;
	int fatal; /* a record error on either side */
	/*
	 * Called by sc_pump when nothing moved (NULL: none); returns 1 when it
	 * changed something. A test whose control connection waits for a helper
	 * thread (the kex pool) hands the finished job to it here.
	 */
	int (*idle)(struct sc_bed *b);
	void *idle_ctx;

	/* client side */
	struct sc_opts o;
	struct st_record crec;
	char v_c[256], v_s[256];
	uint8_t *in[SC_INBOX];
	size_t inlen[SC_INBOX];
	unsigned in_head, in_tail;
	struct st_buf i_c, i_s;
	uint8_t sid[ST_HASH_MAX_LEN];
	size_t sid_len;
	struct st_dir_keys cli_tx, cli_rx; /* last derived: c2s, s2c */
	uint8_t hostkey_blob[8192];
	size_t hostkey_blob_len;
	const struct st_key *expect_hostkey; /* NULL: any */
	char neg_hostkey_alg[64];
	int ext_info_seen;
	char server_sig_algs[256];
};

/* Sets up a bed: control connection, OPEN, version exchange. */
int sc_bed_init(struct sc_bed *b, const struct st_ctl_config *cfg, const struct sc_opts *o);
/*
 * Server only: the real worker session (wsess) and control connection behind
 * two byte streams. The test writes client bytes (version line included) to
 * b->c2s and takes the server's bytes from b->s2c; sc_server_pump() moves
 * them through the server until nothing changes (returns 1 if anything did).
 * Free with sc_bed_free().
 */
int sc_server_init(struct sc_bed *b, const struct st_ctl_config *cfg);
int sc_server_pump(struct sc_bed *b);

void sc_bed_free(struct sc_bed *b);

/* Moves bytes and messages until nothing changes. */
void sc_pump(struct sc_bed *b);

/* Client sends a payload (sealed with the client record). */
int sc_send(struct sc_bed *b, const void *payload, size_t len);
int sc_sendb(struct sc_bed *b, const struct st_buf *payload);

/*
 * Next payload the client received (pumps first). Returns its length, 0
 * when nothing is there. *p stays valid until the next sc_recv/sc_bed_free.
 * IGNORE, DEBUG and EXT_INFO are skipped (EXT_INFO is recorded).
 */
size_t sc_recv(struct sc_bed *b, const uint8_t **p);

/* Message number of the next payload, or -1 when none. */
int sc_next_type(struct sc_bed *b);

/*
 * Client key exchange. server_kexinit: the server's KEXINIT if it already
 * arrived (server-initiated rekey), else NULL. initial: first exchange.
 * Returns ST_OK, or an error / ST_ERR_STATE when the server disconnected.
 */
int sc_kex(struct sc_bed *b, int initial);

/* Sends the client's initial KEXINIT only (for tests that break the kex). */
int cli_kexinit_send(struct sc_bed *b);

/* Full handshake: sc_kex(initial) and keys checked. */
int sc_handshake(struct sc_bed *b);

/* SERVICE_REQUEST ssh-userauth; returns the answer's message number or -1. */
int sc_service_userauth(struct sc_bed *b);

enum sc_auth_mode {
	SC_AUTH_QUERY,     /* no signature */
	SC_AUTH_SIGN,      /* good signature */
	SC_AUTH_BADSIG,    /* signature over other data */
	SC_AUTH_HOSTBOUND, /* publickey-hostbound-v00@openssh.com, good signature */
};

/* Userauth "none": returns the answer's message number or -1. */
int sc_auth_none(struct sc_bed *b, const char *user);

/* Userauth publickey with key / alg; returns the answer's number or -1. */
int sc_auth_pubkey(struct sc_bed *b, const char *user, const struct st_key *key,
		   const char *alg, enum sc_auth_mode mode);

/* Builds (appends) a publickey USERAUTH_REQUEST as sc_auth_pubkey would send it. */
int sc_build_pubkey(struct sc_bed *b, struct st_buf *out, const char *user,
		    const struct st_key *key, const char *alg, enum sc_auth_mode mode);

/* Handshake + service + publickey auth. Returns ST_OK when authenticated. */
int sc_login(struct sc_bed *b, const char *user, const struct st_key *key, const char *alg);

/* CHANNEL_OPEN session with client id cid; returns the answer's number, *sid = server id. */
int sc_open_session(struct sc_bed *b, uint32_t cid, uint32_t *server_id);

/* CHANNEL_REQUEST type with one string argument (NULL: none). Returns answer number or 0. */
int sc_chan_request(struct sc_bed *b, uint32_t server_id, const char *type, const char *arg,
		    int want_reply);

/* Server-side log so far contains s. */
int sc_log_has(const struct sc_bed *b, const char *s);

/* Sends ST_UP_REKEY_DUE to the control plane. */
int sc_rekey_due(struct sc_bed *b);



/* Every name sshterm implements, for the algorithm matrices of the tests. */
#define SC_N_KEX 8
#define SC_N_HOSTKEY 4
#define SC_N_CIPHER 5
#define SC_N_MAC 4
extern const char *const sc_all_kex[SC_N_KEX];
extern const char *const sc_all_hostkey[SC_N_HOSTKEY];
extern const char *const sc_all_cipher[SC_N_CIPHER];
extern const char *const sc_all_mac[SC_N_MAC];

/* Shared test fixture: host keys of every type, user keys, authorized_keys dir. */
struct sc_fixture {
	struct st_ctl_config cfg;
	struct st_key *user_ed, *user_ec, *user_rsa, *user_other;
	char dir[64];
};

/* Generates keys, makes a temp dir, AuthorizedKeysFile "<dir>/%u.keys". */
int sc_fixture_init(struct sc_fixture *f);
void sc_fixture_free(struct sc_fixture *f);

/* Writes (append=0) or appends a line "[opts ]<key>" to <dir>/<user>.keys. */
int sc_authkey_add(struct sc_fixture *f, const char *user, const char *opts,
		   const struct st_key *k, int append);
#endif
