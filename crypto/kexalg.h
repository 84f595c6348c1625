/*
 * Ephemeral key-exchange primitives, symmetric so that the server and a test
 * client use the same code:
 *
 *   ST_KEX_X25519      curve25519-sha256 (RFC 8731, X25519 of RFC 7748)
 *   ST_KEX_ECDH_P256   ecdh-sha2-nistp256 (RFC 5656)
 *   ST_KEX_DH_GROUP14  diffie-hellman-group14-* (2048-bit MODP, RFC 3526 / 8268)
 *   ST_KEX_DH_GROUP16  diffie-hellman-group16-sha512 (4096-bit MODP)
 *   ST_KEX_MLKEM768_X25519   mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex)
 *   ST_KEX_SNTRUP761_X25519  sntrup761x25519-sha512[@openssh.com] (RFC 9941)
 *
 * The first four are Diffie-Hellman: both sides make a keypair and combine
 * it with the peer's public value. The last two are hybrid KEMs, not
 * symmetric: the client makes a KEM keypair plus an X25519 key and sends
 * Q_C = KEM public key || X25519 public; the server encapsulates to it and
 * answers Q_S = KEM ciphertext || X25519 public; K is
 * HASH(KEM shared secret || X25519 shared secret), with SHA-256 for ML-KEM
 * and SHA-512 for sntrup761 (the hash is part of the group's definition).
 *
 * Use, one call per side and step, the same for every group:
 *   client: st_kex_keypair_new(), st_kex_public() -> Q_C;
 *   server: st_kex_server_respond(Q_C) -> Q_S and K;
 *   client: st_kex_client_finish(kp, Q_S) -> K.
 * K is appended to a buffer already encoded as the exchange hash and
 * st_kdf_derive() take it: an SSH mpint for the DH groups (RFC 4253 §8,
 * RFC 8731), an SSH string for the hybrid KEMs (the hash output is not a
 * number). st_kex_derive() is the DH step underneath, kept for tests and
 * known-answer checks. Which exchange hash goes with which method is the
 * protocol engine's business, not this module's.
 *
 * A keypair is immutable once made, so one may serve several derivations
 * (tests), but each is used for exactly one exchange. The DH and X25519
 * private keys live inside OpenSSL (EVP_PKEY) and are cleansed when the
 * keypair is freed, as is a KEM secret key (held in the keypair); raw shared
 * secrets are wiped as soon as they are encoded.
 *
 * Only OpenSSL 3 EVP interfaces are used. Errors are the ST_ERR_* codes of
 * crypto/err.h; outputs are written only on success.
 */
#ifndef ST_CRYPTO_KEXALG_H
#define ST_CRYPTO_KEXALG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/buf.h"

enum st_kex_group {
	ST_KEX_X25519,
	ST_KEX_ECDH_P256,
	ST_KEX_DH_GROUP14,
	ST_KEX_DH_GROUP16,
	ST_KEX_MLKEM768_X25519,
	ST_KEX_SNTRUP761_X25519,
};

/*
 * Largest public value (Q_C or Q_S) of any group: the ML-KEM-768
 * encapsulation key (1184) and an X25519 public key (32). A 4096-bit DH
 * magnitude is 512; sntrup761's Q_C 1190.
 */
#define ST_KEX_PUBLIC_MAX (1184 + 32)
/* Largest encoded K: 4-byte length + sign byte + 512-byte magnitude (DH group16). */
#define ST_KEX_SECRET_ENC_MAX (4 + 1 + 512)
/* DH private exponent size: 2 x 256 bits, above the strength of either group. */
#define ST_KEX_DH_PRIV_BITS 512

struct st_kex_keypair; /* opaque */

/*
 * Short group name for logs ("x25519", "nistp256", "dh-group14", "dh-group16",
 * "mlkem768x25519", "sntrup761x25519", or "unknown").
 */
const char *st_kex_group_name(enum st_kex_group g);

/* 1 for the hybrid KEM groups (asymmetric; K is a string), 0 for the others. */
int st_kex_group_is_kem(enum st_kex_group g);

/*
 * Generates a fresh ephemeral keypair for group g into *out.
 * Returns ST_OK, ST_ERR_ALG_UNSUPPORTED (unknown group), ST_ERR_INVALID_ARGUMENT
 * (NULL out), ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kex_keypair_new(enum st_kex_group g, struct st_kex_keypair **out);

/*
 * For tests and known-answer checks only: builds a DH keypair from a fixed
 * private value instead of a random one (ST_ERR_ALG_UNSUPPORTED for the
 * hybrid KEM groups).
 *   X25519:   the 32-byte scalar as in RFC 7748 (clamping is applied by X25519);
 *   P-256:    a 32-byte big-endian scalar d with 0 < d < n;
 *   DH:       a big-endian exponent x (at most the modulus size) with 1 < x < p-1.
 * Returns ST_OK, ST_ERR_ALG_UNSUPPORTED, ST_ERR_INVALID_ARGUMENT (NULL pointers,
 * wrong length), ST_ERR_KEY_INVALID (value out of range), ST_ERR_ALLOC or
 * ST_ERR_CRYPTO.
 */
int st_kex_keypair_from_private(enum st_kex_group g, const uint8_t *priv, size_t len,
				struct st_kex_keypair **out);

/* The keypair's group; kp must not be NULL. */
enum st_kex_group st_kex_keypair_group(const struct st_kex_keypair *kp);

/*
 * Copies our public value, as it goes into the message body, to out[0..outsz)
 * and its length to *outlen:
 *   X25519:  32 raw bytes (the content of the Q_C / Q_S string, RFC 8731);
 *   P-256:   the 65-byte uncompressed point 0x04 || x || y (RFC 5656 string);
 *   DH:      the big-endian magnitude of e / f without leading zeros; the caller
 *            writes it with st_buf_put_mpint();
 *   hybrid:  Q_C, the KEM public key || the X25519 public key (1216 bytes for
 *            ML-KEM-768, 1190 for sntrup761), the content of one SSH string.
 * Returns ST_OK, ST_ERR_INVALID_ARGUMENT (NULL pointers) or ST_ERR_NO_SPACE
 * (outsz too small; ST_KEX_PUBLIC_MAX always suffices).
 */
int st_kex_public(const struct st_kex_keypair *kp, uint8_t *out, size_t outsz, size_t *outlen);

/*
 * Checks the peer's public value and appends the shared secret K to k_out as an
 * SSH mpint (4-byte length, minimal two's-complement magnitude).
 * The peer value has the form st_kex_public() gives. Checks:
 *   X25519:  exactly 32 bytes; an all-zero shared secret (low-order peer point)
 *            is rejected (RFC 7748 §6.1, RFC 8731 §3);
 *   P-256:   exactly 65 bytes, 0x04 prefix, coordinates below p, point on the
 *            curve (hence not the point at infinity);
 *   DH:      1 < peer < p-1 (RFC 4253 §8, RFC 8268); leading zero bytes are
 *            ignored; an empty value is 0.
 * K is the X25519 output read as a big-endian number (RFC 8731), the ECDH
 * x-coordinate (RFC 5656), or g^xy mod p. Up to ST_KEX_SECRET_ENC_MAX bytes
 * are appended; nothing is appended on failure.
 * Returns ST_OK, ST_ERR_KEX_PUBLIC_INVALID (peer value rejected),
 * ST_ERR_INVALID_ARGUMENT (NULL pointers), ST_ERR_NO_SPACE (k_out full),
 * ST_ERR_ALG_UNSUPPORTED (a hybrid KEM keypair: use st_kex_client_finish()),
 * ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kex_derive(const struct st_kex_keypair *kp, const uint8_t *peer, size_t peer_len,
		  struct st_buf *k_out);

/*
 * The server's whole step for group g: answers the client's Q_C
 * (q_c[0..q_c_len)) with our Q_S, written to q_s[0..q_s_size) with its
 * length in *q_s_len, and appends the encoded K to k_out. Any ephemeral
 * secret lives only for the call.
 *   DH groups: a fresh keypair; Q_S is its st_kex_public() value and K what
 *              st_kex_derive() gives for Q_C (same checks).
 *   hybrid:    Q_C must be exactly KEM public key || X25519 public (1216 or
 *              1190 bytes); the ML-KEM key must pass the FIPS 203 modulus
 *              check; the X25519 result must not be all zero. Q_S is the KEM
 *              ciphertext || our X25519 public (1120 or 1071 bytes); K is
 *              the 32- or 64-byte hash, appended as an SSH string.
 * Nothing is written or appended on failure.
 * Returns ST_OK, ST_ERR_KEX_PUBLIC_INVALID (Q_C rejected), ST_ERR_INVALID_ARGUMENT
 * (NULL pointers), ST_ERR_ALG_UNSUPPORTED (unknown group), ST_ERR_NO_SPACE
 * (q_s_size too small, ST_KEX_PUBLIC_MAX always suffices; or k_out full),
 * ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kex_server_respond(enum st_kex_group g, const uint8_t *q_c, size_t q_c_len,
			  uint8_t *q_s, size_t q_s_size, size_t *q_s_len, struct st_buf *k_out);

/*
 * The client's last step: combines our keypair kp (whose st_kex_public() was
 * sent as Q_C) with the server's Q_S and appends the encoded K to k_out.
 *   DH groups: st_kex_derive(kp, Q_S).
 *   hybrid:    Q_S must be exactly KEM ciphertext || X25519 public; the
 *              ciphertext is decapsulated (a ciphertext that does not
 *              re-encrypt gives the implicit-rejection secret, so a wrong K
 *              and a failed signature later, not an error here); the X25519
 *              result must not be all zero. K as for st_kex_server_respond().
 * Nothing is appended on failure.
 * Returns ST_OK, ST_ERR_KEX_PUBLIC_INVALID (Q_S rejected), ST_ERR_INVALID_ARGUMENT,
 * ST_ERR_NO_SPACE (k_out full), ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kex_client_finish(const struct st_kex_keypair *kp, const uint8_t *q_s, size_t q_s_len,
			 struct st_buf *k_out);

/* Frees the keypair, cleansing the private key. NULL is a no-op. */
void st_kex_keypair_free(struct st_kex_keypair *kp);

#endif
