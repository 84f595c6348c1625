/*
 * Building blocks of the EVP backend (crypto/backend_evp.c), exported so that
 * known-answer tests exercise exactly the code the record layer runs. Not for
 * other callers: use the backend table in crypto/backend.h.
 *
 * All return ST_OK, ST_ERR_CRYPTO (libcrypto failure), ST_ERR_ALLOC, or for
 * the open/verify functions ST_ERR_MAC_INVALID.
 */
#ifndef ST_CRYPTO_EVP_PRIMS_H
#define ST_CRYPTO_EVP_PRIMS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Creates *ctx on first use and keys it with cipher `name` (OpenSSL name). */
int st_evp_cipher_key(EVP_CIPHER_CTX **ctx, const char *name, const uint8_t *key,
		      const uint8_t *iv, int enc);

/* Creates *ctx on first use for EVP_MAC `alg`; keys HMAC with `digest` when given. */
int st_evp_mac_setup(EVP_MAC_CTX **ctx, const char *alg, const char *digest,
		     const uint8_t *key, size_t keylen);

/* AES-GCM with a 12-byte IV over aad and data (in place), tag of 16 bytes. */
int st_evp_gcm_seal(EVP_CIPHER_CTX *ctx, const uint8_t iv[12], const uint8_t *aad,
		    size_t aadlen, uint8_t *data, size_t len, uint8_t tag[16]);
int st_evp_gcm_open(EVP_CIPHER_CTX *ctx, const uint8_t iv[12], const uint8_t *aad,
		    size_t aadlen, uint8_t *data, size_t len, const uint8_t tag[16]);

/*
 * ChaCha20 in D. J. Bernstein's original layout (64-bit block counter, 64-bit
 * nonce), as chacha20-poly1305@openssh.com uses it: XORs the keystream starting
 * at block `counter` into in[0..len). `nonce` is the 8 nonce bytes.
 */
int st_evp_chacha20(EVP_CIPHER_CTX *ctx, const uint8_t nonce[8], uint32_t counter,
		    const uint8_t *in, uint8_t *out, size_t len);

/* One-time Poly1305 (RFC 8439 §2.5) of data with a 32-byte key. */
int st_evp_poly1305(EVP_MAC_CTX *ctx, const uint8_t key[32], const uint8_t *data, size_t len,
		    uint8_t tag[16]);

/* HMAC (keyed by st_evp_mac_setup) over prefix[0..plen) || data[0..len). */
int st_evp_hmac(EVP_MAC_CTX *ctx, const uint8_t *prefix, size_t plen, const uint8_t *data,
		size_t len, uint8_t *out, size_t maclen);

struct st_crypto_dir;

/*
 * Sets the per-packet cipher state of an EVP direction (for the cryptodev
 * backend, which runs single scattered packets on EVP when its device cannot:
 * the device side owns the counters). GCM: iv[0..12) is the nonce of the next
 * packet. CTR: iv[0..16) is the counter block of the next keystream byte,
 * which must start a block (SSH packets are whole blocks). ChaCha20: nothing,
 * the sequence number is the nonce. ST_OK or ST_ERR_CRYPTO.
 */
int st_evp_dir_seek(struct st_crypto_dir *d, const uint8_t iv[16]);

#endif
