/*
 * Control-plane configuration: host keys, algorithm preference lists, auth
 * and channel policy. No file parser here (the daemon's config reader fills
 * this through the setters); st_ctl_config_init() gives the defaults.
 *
 * A config is read-only while connections use it; connections keep a
 * pointer, so it must outlive them.
 */
#ifndef ST_CONTROL_CONFIG_H
#define ST_CONTROL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/ssh/planes.h"

struct st_key;

#define ST_CTL_MAX_HOSTKEYS 8
#define ST_CTL_HOSTCERT_MAX 16384 /* bytes of one host certificate blob */
#define ST_CTL_MAX_SERVICES 32
#define ST_CTL_MAX_PERMITOPEN 32
#define ST_CTL_ALGLIST_MAX 512
#define ST_CTL_PATH_MAX 256
#define ST_CTL_VERSION_MAX 200
#define ST_CTL_AKC_CMD_MAX 1024 /* AuthorizedKeysCommand as written */
#define ST_CTL_AKC_USER_MAX 64  /* AuthorizedKeysCommandUser */
#define ST_CTL_AKC_TIMEOUT_MAX 600u
#define ST_CTL_AKC_CACHE_MAX 86400u

#define ST_CTL_DEFAULT_KEX                                                              \
	"mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"  \
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"            \
	"diffie-hellman-group16-sha512,diffie-hellman-group14-sha256"
/*
 * Host key algorithms, certificates first as sshd orders them; a -cert-v01
 * name is offered only for a host key that has a HostCertificate.
 */
#define ST_CTL_DEFAULT_HOSTKEY_ALGS                                                  \
	"ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"  \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"        \
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
/* Signature algorithms accepted for user keys (and announced in server-sig-algs). */
#define ST_CTL_PUBKEY_ALGS "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
/* User certificate algorithms accepted (PROTOCOL.certkeys; not ssh-rsa-cert-v01, SHA-1). */
#define ST_CTL_PUBKEY_CERT_ALGS                                                      \
	"ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"  \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com"
/*
 * Signature algorithms a CA may have signed a user certificate with
 * (CASignatureAlgorithms; sshd's default less the sk- ones we do not verify).
 */
#define ST_CTL_DEFAULT_CA_SIG_ALGS "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
#define ST_CTL_DEFAULT_VERSION "SSH-2.0-sshterm_0.1"

/* Named backend service: `Service NAME HOST:PORT [proxy-protocol=v2]`. */
struct st_ctl_service {
	char name[ST_SERVICE_NAME_MAX];
	char host[ST_HOST_MAX];
	uint16_t port;
	uint8_t proxy_v2; /* start the backend connection with a PROXY v2 header (control/proxyhdr.h) */
};

/* `ProxyProtocol`: PROXY protocol headers from the front (control/proxyhdr.h). */
enum st_ctl_proxy_mode {
	ST_PROXY_OFF = 0, /* nobody may send one (default) */
	ST_PROXY_ACCEPT,  /* ProxyProtocolFrom sources may send one; others connect normally */
	ST_PROXY_REQUIRE, /* every connection must come from ProxyProtocolFrom with a header */
};
#define ST_CTL_PROXY_FROM_MAX 1024 /* ProxyProtocolFrom text, bytes */

/* One PermitOpen entry; host "*" matches any host, port 0 any port. */
struct st_ctl_permitopen {
	char host[ST_HOST_MAX];
	uint16_t port;
};

enum st_ctl_permitopen_mode {
	ST_PERMITOPEN_NONE, /* no direct-tcpip at all (default: deny) */
	ST_PERMITOPEN_ANY,  /* any target (the key's options still apply) */
	ST_PERMITOPEN_LIST, /* only the listed targets */
};

struct st_ctl_config {
	struct st_key *hostkeys[ST_CTL_MAX_HOSTKEYS]; /* owned, with private parts */
	unsigned n_hostkeys;
	/* HostCertificate of hostkeys[i] (its certificate blob, owned), or NULL. */
	uint8_t *hostcerts[ST_CTL_MAX_HOSTKEYS];
	size_t hostcert_len[ST_CTL_MAX_HOSTKEYS];

	char kex_algs[ST_CTL_ALGLIST_MAX];
	char hostkey_algs[ST_CTL_ALGLIST_MAX];
	char ca_sig_algs[ST_CTL_ALGLIST_MAX]; /* CASignatureAlgorithms */
	char ciphers[ST_CTL_ALGLIST_MAX];
	char macs[ST_CTL_ALGLIST_MAX];
	char version[ST_CTL_VERSION_MAX]; /* our identification line, no CR LF */

	char authorized_keys_file[ST_CTL_PATH_MAX]; /* %u, %h tokens */
	/* TrustedUserCAKeys: CA public keys whose user certificates log in; "" none */
	char trusted_user_ca_keys[ST_CTL_PATH_MAX];
	/* AuthorizedPrincipalsFile (%u, %h): the principals a certificate may
	 * name for this user instead of the user name; "" none */
	char authorized_principals_file[ST_CTL_PATH_MAX];
	/* RevokedKeys: a KRL or public key list (control/revoked.h); "" none */
	char revoked_keys[ST_CTL_PATH_MAX];
	unsigned max_auth_tries;                   /* 6 */
	uint32_t login_grace_time;                 /* seconds, 0: none; 120 */
	uint64_t rekey_bytes;                      /* 1 GiB (RFC 4344 §3.1) */
	uint32_t rekey_seconds;                    /* 3600 */
	/*
	 * AuthorizedKeysCommand (control/akcmd.h, akc_pool.h): tried for a key
	 * the AuthorizedKeysFile does not grant; "" = none. Run as akc_user
	 * (required with a command), killed after akc_timeout seconds (5);
	 * successful outputs cached akc_cache_time seconds (0: off).
	 */
	char akc_command[ST_CTL_AKC_CMD_MAX];
	char akc_user[ST_CTL_AKC_USER_MAX];
	uint32_t akc_timeout;
	uint32_t akc_cache_time;

	enum st_ctl_permitopen_mode permitopen_mode;
	struct st_ctl_permitopen permitopen[ST_CTL_MAX_PERMITOPEN];
	unsigned n_permitopen;

	struct st_ctl_service services[ST_CTL_MAX_SERVICES];
	unsigned n_services;
	char default_service[ST_SERVICE_ARGS_MAX]; /* "echo": what `shell` runs */

	uint32_t channel_window;     /* initial window we grant: 2 MiB */
	/*
	 * ChannelWindowMax: what a session's channels' windows may grow to
	 * together with the measured bandwidth-delay product (dataplane/ssh/
	 * channel.h); 16 MiB, ST_CTL_CHANNEL_WINDOW_MIN..MAX. The minimum
	 * (the initial window) keeps windows fixed.
	 */
	uint32_t channel_window_max;
	uint32_t channel_max_packet; /* max packet we announce: 32 KiB */
	uint32_t max_channels;       /* channels per connection: 16 */
	/*
	 * direct-tcpip: 1 (default) lets the worker confirm once the backend
	 * connected, so that a failed connect becomes OPEN_FAILURE CONNECT_FAILED
	 * (planes.h, BACKEND_FAILED); 0 confirms at once and attaches the backend.
	 */
	uint8_t direct_tcpip_confirm_on_connect;

	/*
	 * MTU of the dataplane's port (`MTU N`): 1500, ST_CTL_MTU_MIN..MAX. Read
	 * at start-up (a reload does not change the port); TCP's MSS is MTU - 40.
	 */
	uint16_t mtu;
	enum st_ctl_proxy_mode proxy_mode;
	char proxy_from[ST_CTL_PROXY_FROM_MAX]; /* comma-separated CIDRs; "" lists nobody */
};

#define ST_CTL_CHANNEL_WINDOW_MIN (2u << 20)
#define ST_CTL_CHANNEL_WINDOW_MAX (256u << 20)
#define ST_CTL_CHANNEL_WINDOW_MAX_DEFAULT (16u << 20)

#define ST_CTL_MTU_DEFAULT 1500
#define ST_CTL_MTU_MIN 576
#define ST_CTL_MTU_MAX 9000

/* Fills the defaults (no host keys). Returns ST_OK. */
int st_ctl_config_init(struct st_ctl_config *cfg);

/* Frees the host keys and wipes the struct. */
void st_ctl_config_free(struct st_ctl_config *cfg);

/*
 * Adds a host key (must hold its private part); the config takes ownership
 * on success only. ST_ERR_NO_SPACE when full, ST_ERR_INVALID_ARGUMENT for a
 * public-only key or a second key of the same type.
 */
int st_ctl_config_add_hostkey(struct st_ctl_config *cfg, struct st_key *key);

/*
 * Attaches a host certificate blob (copied) to hostkeys[idx]; a later call
 * replaces it. The caller has checked that it certifies that key as a host
 * key. Returns ST_OK, ST_ERR_INVALID_ARGUMENT (no such key, empty or over
 * ST_CTL_HOSTCERT_MAX), ST_ERR_ALLOC.
 */
int st_ctl_config_set_hostcert(struct st_ctl_config *cfg, unsigned idx, const uint8_t *blob,
			       size_t len);

/* Loads a private key file and adds it. Codes of st_keyfile_load_private() too. */
int st_ctl_config_add_hostkey_file(struct st_ctl_config *cfg, const char *path);

/*
 * Algorithm lists (comma-separated, preference order). Every name must be
 * one we implement: ST_ERR_ALG_UNSUPPORTED otherwise, ST_ERR_NAME_INVALID
 * for a malformed list, ST_ERR_NO_SPACE when too long; cfg unchanged then.
 */
/* Which algorithm names a list holds. */
enum st_alg_kind { ST_ALG_KEX, ST_ALG_HOSTKEY, ST_ALG_CIPHER, ST_ALG_MAC };

/*
 * Checks a name-list as the setters below do (non-empty, printable names of
 * at most 64 bytes, every one implemented). ST_OK, ST_ERR_NAME_INVALID,
 * ST_ERR_ALG_UNSUPPORTED, ST_ERR_INVALID_ARGUMENT.
 */
int st_alglist_check(enum st_alg_kind kind, const char *list);

int st_ctl_config_set_kex(struct st_ctl_config *cfg, const char *list);
int st_ctl_config_set_hostkey_algs(struct st_ctl_config *cfg, const char *list);
/* Plain signature algorithm names only (no -cert-v01). */
int st_ctl_config_set_ca_sig_algs(struct st_ctl_config *cfg, const char *list);
int st_ctl_config_set_ciphers(struct st_ctl_config *cfg, const char *list);
int st_ctl_config_set_macs(struct st_ctl_config *cfg, const char *list);

/* "SSH-2.0-..." only, printable, no spaces in the software version part. */
int st_ctl_config_set_version(struct st_ctl_config *cfg, const char *line);

int st_ctl_config_set_authorized_keys_file(struct st_ctl_config *cfg, const char *pattern);

/* TrustedUserCAKeys / AuthorizedPrincipalsFile; "none" or "" clears. ST_ERR_NO_SPACE when too long. */
int st_ctl_config_set_trusted_user_ca_keys(struct st_ctl_config *cfg, const char *path);
int st_ctl_config_set_authorized_principals_file(struct st_ctl_config *cfg, const char *pattern);
int st_ctl_config_set_revoked_keys(struct st_ctl_config *cfg, const char *path);

/* `Service NAME HOST:PORT` (also "[v6addr]:port"). ST_ERR_FORMAT, ST_ERR_NO_SPACE. */
int st_ctl_config_add_service(struct st_ctl_config *cfg, const char *name, const char *hostport);
/*
 * One option word after a Service's HOST:PORT, for the service added last:
 * "proxy-protocol=v2". ST_OK, ST_ERR_FORMAT (unknown option or value),
 * ST_ERR_STATE (no service yet).
 */
int st_ctl_config_service_option(struct st_ctl_config *cfg, const char *word);
/*
 * `ProxyProtocolFrom`: comma-separated IPv4/IPv6 addresses or CIDR blocks
 * (no wildcards, no negation). ST_OK, ST_ERR_FORMAT (bad entry, cfg
 * unchanged), ST_ERR_NO_SPACE (too long).
 */
int st_ctl_config_set_proxy_from(struct st_ctl_config *cfg, const char *list);
/* 1 when ip is inside ProxyProtocolFrom (and ProxyProtocol is not off). */
int st_ctl_config_proxy_listed(const struct st_ctl_config *cfg, const char *ip);

/*
 * `PermitOpen` words: "any", "none", or "HOST:PORT" entries (HOST may be
 * "*", PORT may be "*"). Adding an entry switches the mode to LIST.
 */
int st_ctl_config_add_permitopen(struct st_ctl_config *cfg, const char *word);

/* MTU of the port: ST_OK, or ST_ERR_INVALID_ARGUMENT outside ST_CTL_MTU_MIN..MAX (cfg unchanged). */
int st_ctl_config_set_mtu(struct st_ctl_config *cfg, unsigned long mtu);

/* Default service for `shell` (a built-in or Service name, with args). */
int st_ctl_config_set_default_service(struct st_ctl_config *cfg, const char *svc);

/* Looks a named Service up; NULL when absent. */
const struct st_ctl_service *st_ctl_config_service(const struct st_ctl_config *cfg,
						   const char *name);

/* 1 when the global PermitOpen policy allows host:port. */
int st_ctl_config_permitopen_allows(const struct st_ctl_config *cfg, const char *host,
				    uint16_t port);

/*
 * Name-list helpers (RFC 4251 §5 lists without NUL): 1 when `name[0..len)` is
 * an element of `list`. An empty name never matches, so the empty names a
 * peer's list may hold (",a", "a,", "a,,b": st_buf_get_namelist() accepts
 * them) are skipped and an empty `name` is never found.
 */
int st_namelist_has(const char *list, size_t list_len, const char *name, size_t len);

#endif
