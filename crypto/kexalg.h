/*
 * Ephemeral key-exchange primitives, symmetric so that the server and a test
 * client use the same code:
 *
 *   ST_KEX_X25519      curve25519-sha256 (RFC 8731, X25519 of RFC 7748)
 *   ST_KEX_ECDH_P256   ecdh-sha2-nistp256 (RFC 5656)
 *   ST_KEX_DH_GROUP14  diffie-hellman-group14-* (2048-bit MODP, RFC 3526 / 8268)
 *   ST_KEX_DH_GROUP16  diffie-hellman-group16-sha512 (4096-bit MODP)
 *
 * Use: st_kex_keypair_new() makes an ephemeral key; st_kex_public() gives the
 * value to send; st_kex_derive() checks the peer's value and appends the
 * shared secret K, encoded as an SSH mpint, to a buffer: those are the bytes
 * the exchange hash and st_kdf_derive() take. Which hash goes with which
 * method is the protocol engine's business, not this module's.
 *
 * A keypair is immutable once made, so one may serve several derivations
 * (tests), but a server uses each for exactly one exchange. The private key
 * lives inside OpenSSL (EVP_PKEY) and is cleansed when the keypair is freed;
 * raw shared secrets are wiped as soon as they are encoded.
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
};

/* Largest public value of any group: a 4096-bit DH magnitude. */
#define ST_KEX_PUBLIC_MAX 512
/* Largest encoded K: 4-byte length + sign byte + 512-byte magnitude. */
#define ST_KEX_SECRET_ENC_MAX (4 + 1 + 512)
/* DH private exponent size: 2 x 256 bits, above the strength of either group. */
#define ST_KEX_DH_PRIV_BITS 512

struct st_kex_keypair; /* opaque */

/* Short group name for logs ("x25519", "nistp256", "dh-group14", "dh-group16", or "unknown"). */
const char *st_kex_group_name(enum st_kex_group g);

/*
 * Generates a fresh ephemeral keypair for group g into *out.
 * Returns ST_OK, ST_ERR_ALG_UNSUPPORTED (unknown group), ST_ERR_INVALID_ARGUMENT
 * (NULL out), ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kex_keypair_new(enum st_kex_group g, struct st_kex_keypair **out);

/*
 * For tests and known-answer checks only: builds the keypair from a fixed
 * private value instead of a random one.
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
 *            writes it with st_buf_put_mpint().
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
 * ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kex_derive(const struct st_kex_keypair *kp, const uint8_t *peer, size_t peer_len,
		  struct st_buf *k_out);

/* Frees the keypair, cleansing the private key. NULL is a no-op. */
void st_kex_keypair_free(struct st_kex_keypair *kp);

#endif
