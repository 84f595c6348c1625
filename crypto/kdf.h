/*
 * SSH key derivation (RFC 4253 §7.2), for any supported hash and any output
 * length:
 *
 *   K1 = HASH(K || H || letter || session_id)
 *   Kn = HASH(K || H || K1 || ... || Kn-1)        (n >= 2)
 *   key = first `need` bytes of K1 || K2 || ...
 *
 * K is passed already encoded exactly as it goes into the hash: for the
 * classic methods (curve25519-sha256, ecdh-sha2-*, diffie-hellman-group*) an
 * SSH mpint with its 4-byte length, which is what st_kex_derive() produces.
 * H is the exchange hash of this key exchange; session_id is the exchange
 * hash of the first one (after a rekey with another method its length may
 * differ from H's).
 *
 * Letters: 'A' IV client->server, 'B' IV server->client, 'C' encryption key
 * client->server, 'D' encryption key server->client, 'E' MAC key
 * client->server, 'F' MAC key server->client.
 *
 * All intermediate blocks are wiped. On failure every output buffer is
 * zeroed, so a caller that ignores the error still holds no partial key.
 */
#ifndef ST_CRYPTO_KDF_H
#define ST_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

/*
 * Derives need bytes for one letter into out.
 *
 * Arguments are checked: alg must be known (else ST_ERR_ALG_UNSUPPORTED);
 * k_enc must be a length-prefixed SSH encoding whose 4-byte length matches
 * k_enc_len - 4 (this rejects a raw secret passed by mistake); h_len and
 * sid_len must be 1..ST_HASH_MAX_LEN; letter must be 'A'..'F'; out may be
 * NULL only when need is 0. Any violation gives ST_ERR_INVALID_ARGUMENT.
 *
 * Returns ST_OK, ST_ERR_ALG_UNSUPPORTED, ST_ERR_INVALID_ARGUMENT,
 * ST_ERR_ALLOC or ST_ERR_CRYPTO.
 */
int st_kdf_derive(enum st_hash_alg alg, const uint8_t *k_enc, size_t k_enc_len,
		  const uint8_t *h, size_t h_len, char letter, const uint8_t *session_id,
		  size_t sid_len, uint8_t *out, size_t need);

/*
 * Key material of one direction: caller buffers and how many bytes each
 * takes. A length may be 0 (no IV for chacha20-poly1305, no MAC key for an
 * AEAD cipher); its buffer may then be NULL.
 */
struct st_kdf_dir {
	uint8_t *iv;
	size_t iv_len;
	uint8_t *key;
	size_t key_len;
	uint8_t *mac;
	size_t mac_len;
};

/*
 * Derives all six values at once: c2s gets 'A' (IV), 'C' (key), 'E' (MAC);
 * s2c gets 'B', 'D', 'F'. The common K || H prefix is hashed once.
 * Same argument rules and return values as st_kdf_derive(); additionally a
 * nonzero length with a NULL buffer, or a NULL c2s / s2c, is
 * ST_ERR_INVALID_ARGUMENT. On failure all six buffers are zeroed.
 */
int st_kdf_derive_all(enum st_hash_alg alg, const uint8_t *k_enc, size_t k_enc_len,
		      const uint8_t *h, size_t h_len, const uint8_t *session_id, size_t sid_len,
		      const struct st_kdf_dir *c2s, const struct st_kdf_dir *s2c);

#endif
