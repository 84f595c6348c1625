/*
 * The parts of an SSH key exchange that both ends compute the same way, so
 * that the server (control/kex.c) and the client engine
 * (control/client/sshc_kex.c) share one implementation:
 *   - the method table (name -> group, hash, DH or ECDH encoding);
 *   - KEXINIT parsing (RFC 4253 §7.1) and the negotiation rule: the first
 *     name of the client's list that the server also lists;
 *   - the exchange hash H (RFC 4253 §8, RFC 5656 §4, RFC 8731 §3, RFC 9941,
 *     draft-ietf-sshm-mlkem-hybrid-kex);
 *   - the key derivation of both directions from K and H (RFC 4253 §7.2).
 * I/O free and stateless: callable from any thread.
 */
#ifndef ST_CONTROL_KEX_COMMON_H
#define ST_CONTROL_KEX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/kexalg.h"

struct st_buf;

struct st_ctl_kex_method {
	const char *name;
	enum st_kex_group group;
	enum st_hash_alg hash;
	uint8_t dh; /* 1: e and f are mpints (RFC 4253 §8); 0: strings (ECDH, hybrid KEM) */
};

/* Method by SSH name; NULL when unknown (markers such as kex-strict-* too). */
const struct st_ctl_kex_method *st_ctl_kex_method_by_name(const char *name, size_t len);

/* The ten name-lists of a KEXINIT, in message order, pointing into it. */
enum {
	ST_KEXINIT_KEX,
	ST_KEXINIT_HOSTKEY,
	ST_KEXINIT_CIPHER_C2S,
	ST_KEXINIT_CIPHER_S2C,
	ST_KEXINIT_MAC_C2S,
	ST_KEXINIT_MAC_S2C,
	ST_KEXINIT_COMP_C2S,
	ST_KEXINIT_COMP_S2C,
	ST_KEXINIT_LANG_C2S,
	ST_KEXINIT_LANG_S2C,
	ST_KEXINIT_NLISTS
};

struct st_kexinit_lists {
	const char *l[ST_KEXINIT_NLISTS];
	size_t len[ST_KEXINIT_NLISTS];
	int first_kex_follows;
};

/*
 * Parses a KEXINIT payload p[0..len) (message number included). The lists
 * point into p. Returns ST_OK; ST_ERR_FORMAT (not a KEXINIT),
 * ST_ERR_INCOMPLETE, ST_ERR_TRAILING, ST_ERR_NAME_INVALID.
 */
int st_kexinit_parse(const uint8_t *p, size_t len, struct st_kexinit_lists *out);

/*
 * The negotiation rule: the first name of the client's list that is also in
 * the server's list, as *name / *len (pointing into client). An empty name in
 * the client's list (libssh ends its lists with a comma) matches nothing and
 * the names after it are still tried; OpenSSH's match_list() stops at the
 * first empty name instead, so this picks what OpenSSH picks wherever OpenSSH
 * finds a match and also sees names after a doubled comma.
 * Returns ST_OK or ST_ERR_ALG_UNSUPPORTED.
 */
int st_kex_pick(const char *client, size_t clen, const char *server, size_t slen,
		const char **name, size_t *len);

/*
 * A public value (Q_C / Q_S, e / f) in a message: an mpint for DH methods,
 * a string for ECDH (RFC 4253 §8, RFC 5656 §4). The value is in
 * st_kex_public() form. Same returns as the st_buf functions.
 */
int st_kex_put_public(struct st_buf *b, const struct st_ctl_kex_method *m, const uint8_t *v,
		      size_t len);
int st_kex_get_public(struct st_buf *b, const struct st_ctl_kex_method *m, const uint8_t **v,
		      size_t *len);

/* The exchange transcript: identification lines and KEXINIT payloads. */
struct st_kex_transcript {
	const char *v_c, *v_s; /* without CR LF */
	const uint8_t *i_c, *i_s;
	size_t i_c_len, i_s_len;
};

/*
 * H = HASH(V_C || V_S || I_C || I_S || K_S || Q_C/e || Q_S/f || K), where
 * q_c / q_s are the public values as st_kex_public() gives them (DH
 * magnitudes are written as mpints), ks the server host key blob and k the
 * encoded shared secret from st_kex_server_respond() / st_kex_client_finish(),
 * written as is: an mpint for the DH methods, a string for the hybrid KEMs
 * (mlkem768x25519-sha256, sntrup761x25519-sha512), whose K is a hash output. Writes st_hash_len(hash)
 * bytes to h (room for ST_HASH_MAX_LEN). Returns ST_OK, ST_ERR_ALLOC,
 * ST_ERR_NO_SPACE, ST_ERR_CRYPTO.
 */
int st_kex_exchange_hash(const struct st_ctl_kex_method *m, const struct st_kex_transcript *t,
			 const uint8_t *ks, size_t ks_len, const uint8_t *q_c, size_t q_c_len,
			 const uint8_t *q_s, size_t q_s_len, const uint8_t *k, size_t k_len,
			 uint8_t *h);

/*
 * Derives the keys of both directions (letters A/C/E client->server, B/D/F
 * server->client) for the negotiated ciphers and MACs (a MAC is ignored for
 * an AEAD cipher). sid is the first exchange's H. On failure both outputs
 * are zeroed. Returns ST_OK or the st_kdf_derive_all() error.
 */
int st_kex_derive_keys(enum st_hash_alg hash, const uint8_t *k, size_t k_len, const uint8_t *h,
		       size_t h_len, const uint8_t *sid, size_t sid_len,
		       const struct st_cipher_info *cipher_c2s, const struct st_mac_info *mac_c2s,
		       const struct st_cipher_info *cipher_s2c, const struct st_mac_info *mac_s2c,
		       struct st_dir_keys *c2s, struct st_dir_keys *s2c);

#endif
