/*
 * Server side of the SSH key exchange (RFC 4253 §7-8, RFC 5656 §4, RFC 8731),
 * I/O free: builds our KEXINIT, negotiates against the peer's (RFC 4253
 * §7.1: the first of the client's names that the server also has), and
 * answers KEX_ECDH_INIT / KEXDH_INIT with KEX_ECDH_REPLY / KEXDH_REPLY plus
 * the derived keys. The state machine around it lives in control/conn.c.
 */
#ifndef ST_CONTROL_KEX_H
#define ST_CONTROL_KEX_H

#include <stddef.h>
#include <stdint.h>

#include "control/kex_common.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/kexalg.h"
#include "crypto/sig.h"

struct st_buf;
struct st_key;
struct st_ctl_config;

#define ST_KEX_STRICT_C "kex-strict-c-v00@openssh.com"
#define ST_KEX_STRICT_S "kex-strict-s-v00@openssh.com"
#define ST_EXT_INFO_C "ext-info-c"

/* What the two KEXINITs agreed on. */
struct st_kex_neg {
	const struct st_ctl_kex_method *kex;
	enum st_sig_alg hostkey_alg;
	const struct st_key *hostkey; /* borrowed from the config */
	/* With a -cert-v01 host key algorithm: hostkey's HostCertificate blob
	 * (borrowed from the config), sent as K_S; else NULL. */
	const uint8_t *hostkey_cert;
	size_t hostkey_cert_len;
	const struct st_cipher_info *cipher_c2s, *cipher_s2c;
	const struct st_mac_info *mac_c2s, *mac_s2c; /* NULL with AEAD ciphers */
	uint8_t strict;      /* peer offered kex-strict-c-v00 (initial kex only) */
	uint8_t ext_info_c;  /* peer offered ext-info-c (initial kex only) */
	uint8_t guess_wrong; /* first_kex_packet_follows with a wrong guess */
};

/*
 * Appends the host key blob K_S of a negotiation to out: the HostCertificate
 * under a -cert-v01 algorithm, else the plain key's blob.
 * Returns ST_OK, ST_ERR_NO_SPACE / ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_ctl_kex_hostkey_blob(const struct st_kex_neg *neg, struct st_buf *out);

/* The negotiated host key algorithm's name (the -cert-v01 form for a certificate). */
const char *st_ctl_kex_hostkey_alg_name(const struct st_kex_neg *neg);

/*
 * Appends our KEXINIT payload (message number included) to out: the config's
 * lists, host key algorithms limited to those we hold a key for, and on the
 * initial kex the kex-strict-s-v00@openssh.com marker.
 * Returns ST_OK, ST_ERR_NO_SPACE / ST_ERR_ALLOC, ST_ERR_INVALID_ARGUMENT
 * (no usable host key), ST_ERR_CRYPTO (cookie).
 */
int st_ctl_kexinit_build(const struct st_ctl_config *cfg, int initial, struct st_buf *out);

/*
 * Parses the peer's KEXINIT payload p[0..len) (message number included) and
 * negotiates against our configuration. *what names the list that failed
 * ("kex", "host key", "cipher", "mac", "compression") for the log.
 * Returns ST_OK and fills *out; ST_ERR_FORMAT / ST_ERR_INCOMPLETE /
 * ST_ERR_TRAILING / ST_ERR_NAME_INVALID for a malformed message;
 * ST_ERR_ALG_UNSUPPORTED when a list has nothing in common.
 */
int st_ctl_kex_negotiate(const struct st_ctl_config *cfg, const uint8_t *p, size_t len,
			 int initial, struct st_kex_neg *out, const char **what);

/* Result of one exchange; secret (wipe with st_wipe). */
struct st_kex_result {
	uint8_t h[ST_HASH_MAX_LEN];
	size_t h_len;
	struct st_dir_keys tx, rx; /* server->client, client->server */
};

/*
 * Server side of the exchange: parses the client's KEX_ECDH_INIT / KEXDH_INIT
 * payload init[0..len) (message number included), answers it with
 * st_kex_server_respond() (an ephemeral DH key, or for a hybrid KEM an
 * encapsulation to Q_C and an ephemeral X25519 key), computes K and H, signs H with the negotiated host key, appends the reply
 * payload to reply and fills *res with H and the keys (session id: sid, or
 * H itself when sid_len is 0, i.e. the first exchange).
 * Returns ST_OK; ST_ERR_INCOMPLETE / ST_ERR_TRAILING / ST_ERR_FORMAT /
 * ST_ERR_BIGNUM_* for a malformed message; ST_ERR_KEX_PUBLIC_INVALID for a
 * rejected public value; ST_ERR_ALLOC / ST_ERR_CRYPTO / ST_ERR_NO_SPACE.
 */
int st_ctl_kex_reply(const struct st_kex_neg *neg, const struct st_kex_transcript *t,
		     const uint8_t *init, size_t len, const uint8_t *sid, size_t sid_len,
		     struct st_buf *reply, struct st_kex_result *res);

#endif
