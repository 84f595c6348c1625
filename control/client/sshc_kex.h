/*
 * Client side of the SSH key exchange (RFC 4253 §7-8, RFC 5656 §4,
 * RFC 8731), I/O free: our KEXINIT, negotiation against the server's, the
 * KEX_ECDH_INIT / KEXDH_INIT, and the check of the server's reply (host key
 * signature over our own computation of H) with the derived keys. The
 * exchange hash and the key derivation are control/kex_common.c, shared
 * with the server. The state machine around it is control/client/sshc.c;
 * the in-memory test bed (tests/unit/sshclient.c) drives these functions
 * directly to break the exchange on purpose.
 */
#ifndef ST_CONTROL_CLIENT_SSHC_KEX_H
#define ST_CONTROL_CLIENT_SSHC_KEX_H

#include <stddef.h>
#include <stdint.h>

#include "control/kex_common.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/kexalg.h"
#include "crypto/sig.h"

struct st_buf;
struct st_key;

/* The client's name-lists, NUL-terminated. */
struct st_sshc_algs {
	const char *kex;
	const char *hostkey;
	const char *cipher_c2s, *cipher_s2c;
	const char *mac_c2s, *mac_s2c;
	const char *comp_c2s, *comp_s2c; /* NULL: "none" */
};

/* KEXINIT flags (the markers are sent on the initial exchange only). */
#define ST_SSHC_KEXINIT_EXT_INFO 0x1 /* ext-info-c (RFC 8308) */
#define ST_SSHC_KEXINIT_STRICT 0x2   /* kex-strict-c-v00@openssh.com */
#define ST_SSHC_KEXINIT_FOLLOWS 0x4  /* first_kex_packet_follows: a guessed init comes next */

/*
 * Appends our KEXINIT payload (message number included) to out, with a
 * random cookie. Returns ST_OK, ST_ERR_NO_SPACE / ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_sshc_kexinit_build(const struct st_sshc_algs *a, int initial, unsigned flags,
			  struct st_buf *out);

/* What the two KEXINITs agreed on, with the names for reports. */
struct st_sshc_neg {
	const struct st_ctl_kex_method *kex;
	enum st_sig_alg hostkey_alg;
	const struct st_cipher_info *cipher_c2s, *cipher_s2c;
	const struct st_mac_info *mac_c2s, *mac_s2c; /* NULL with AEAD ciphers */
	uint8_t strict;        /* the server offered kex-strict-s-v00 (initial kex only) */
	uint8_t server_follows; /* the server's first_kex_packet_follows */
	uint8_t server_guess_wrong; /* ... and its guess was not what we agreed */
};

/*
 * Parses the server's KEXINIT p[0..len) and negotiates (the first of our
 * names that the server has). *what names the list that failed ("kex",
 * "host key", "cipher", "mac", "compression"). Returns ST_OK; ST_ERR_FORMAT /
 * ST_ERR_INCOMPLETE / ST_ERR_TRAILING / ST_ERR_NAME_INVALID for a malformed
 * message; ST_ERR_ALG_UNSUPPORTED when a list has nothing in common.
 */
int st_sshc_kex_negotiate(const struct st_sshc_algs *a, const uint8_t *p, size_t len,
			  int initial, struct st_sshc_neg *out, const char **what);

/* One exchange in progress: our ephemeral key (for a hybrid KEM, the KEM and X25519 keys). */
struct st_sshc_kex_state {
	struct st_kex_keypair *kp;
	uint8_t q_c[ST_KEX_PUBLIC_MAX];
	size_t q_c_len;
};

/*
 * Makes the ephemeral key and appends KEX_ECDH_INIT / KEXDH_INIT to out
 * (for mlkem768x25519 / sntrup761x25519, Q_C = KEM public key || X25519 public).
 * Returns ST_OK, ST_ERR_ALLOC, ST_ERR_CRYPTO, ST_ERR_NO_SPACE.
 */
int st_sshc_kex_init(const struct st_sshc_neg *n, struct st_sshc_kex_state *st,
		     struct st_buf *out);

/* Result of one exchange; h and the keys are secret (st_sshc_kex_result_clear). */
struct st_sshc_kex_result {
	uint8_t h[ST_HASH_MAX_LEN];
	size_t h_len;
	struct st_dir_keys c2s, s2c;
	struct st_key *hostkey; /* the server's host key (owned) */
	uint8_t hostkey_blob[8192];
	size_t hostkey_blob_len;
};

/*
 * Checks the server's KEX_ECDH_REPLY / KEXDH_REPLY p[0..len): parses K_S,
 * Q_S/f and the signature, derives K (st_kex_client_finish: DH, or the KEM
 * ciphertext decapsulated and X25519), computes H, verifies the signature
 * with the negotiated algorithm and derives both directions' keys (session
 * id: sid, or H itself when sid_len is 0). Whether the host key is the
 * right one is the caller's decision (hostkey_check.h).
 * Returns ST_OK; ST_ERR_FORMAT / ST_ERR_INCOMPLETE / ST_ERR_TRAILING /
 * ST_ERR_BIGNUM_* (malformed); ST_ERR_KEY_* (bad host key blob, or a key
 * that does not fit the negotiated algorithm: ST_ERR_KEY_TYPE_MISMATCH);
 * ST_ERR_KEX_PUBLIC_INVALID; ST_ERR_SIG_INVALID; ST_ERR_ALLOC / ST_ERR_CRYPTO.
 */
int st_sshc_kex_finish(const struct st_sshc_neg *n, const struct st_sshc_kex_state *st,
		       const struct st_kex_transcript *t, const uint8_t *p, size_t len,
		       const uint8_t *sid, size_t sid_len, struct st_sshc_kex_result *res);

/* Frees the ephemeral key. */
void st_sshc_kex_state_clear(struct st_sshc_kex_state *st);

/* Frees the host key and wipes the secrets. */
void st_sshc_kex_result_clear(struct st_sshc_kex_result *res);

#endif
