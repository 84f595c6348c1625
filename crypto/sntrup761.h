/*
 * Streamlined NTRU Prime sntrup761 (p = 761, q = 4591, w = 286), the KEM of
 * OpenSSH's sntrup761x25519-sha512: the round 3 NIST submission's KEM with
 * SHA-512 as its hash (first 32 bytes of SHA-512(prefix byte || input)).
 *
 * Secret-dependent work runs in constant time (no secret-dependent branches
 * or table indexes); temporaries holding secrets are wiped. Decapsulation
 * never fails on a bad ciphertext: it re-encrypts, and on a mismatch returns
 * the implicit-rejection key derived from the secret key's rho, with the
 * same operations either way.
 *
 * All functions return ST_OK or a negative ST_ERR_* code (crypto/err.h).
 */
#ifndef ST_CRYPTO_SNTRUP761_H
#define ST_CRYPTO_SNTRUP761_H

#include <stddef.h>
#include <stdint.h>

#define ST_SNTRUP761_PUBLIC_LEN 1158
#define ST_SNTRUP761_SECRET_LEN 1763
#define ST_SNTRUP761_CIPHERTEXT_LEN 1039
#define ST_SNTRUP761_SHARED_LEN 32

/*
 * A source of random bytes: fills out[0..len) and returns 0, or returns
 * non-zero on failure. The KEM asks for its randomness in the pieces the
 * NIST KAT was made with (the round 3 reference implementation's
 * randombytes() calls), so that the NIST KAT DRBG reproduces the published
 * answers:
 *   keypair: 3044 bytes (761 little-endian uint32s) for g, again while g is
 *            not invertible mod 3; 3044 bytes for f; 191 bytes for rho.
 *   enc:     3044 bytes for r.
 */
typedef int (*st_sntrup761_rng_fn)(void *ctx, uint8_t *out, size_t len);

/*
 * A new key pair from OpenSSL's RAND_bytes.
 * Returns ST_OK, or ST_ERR_CRYPTO (RAND or SHA-512 failure; sk is zeroed).
 */
int st_sntrup761_keypair(uint8_t pk[ST_SNTRUP761_PUBLIC_LEN], uint8_t sk[ST_SNTRUP761_SECRET_LEN]);

/* As st_sntrup761_keypair with randomness from rng(ctx, ..); rng failing gives ST_ERR_CRYPTO. */
int st_sntrup761_keypair_rng(uint8_t pk[ST_SNTRUP761_PUBLIC_LEN],
			     uint8_t sk[ST_SNTRUP761_SECRET_LEN], st_sntrup761_rng_fn rng,
			     void *ctx);

/*
 * Encapsulates to pk: ciphertext ct and shared secret ss.
 * Returns ST_OK, or ST_ERR_CRYPTO (RAND or SHA-512 failure; ss is zeroed).
 * Every 1158-byte string is a valid public key (the encoding reduces mod q).
 */
int st_sntrup761_enc(uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN], uint8_t ss[ST_SNTRUP761_SHARED_LEN],
		     const uint8_t pk[ST_SNTRUP761_PUBLIC_LEN]);

/* As st_sntrup761_enc with randomness from rng(ctx, ..); rng failing gives ST_ERR_CRYPTO. */
int st_sntrup761_enc_rng(uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN],
			 uint8_t ss[ST_SNTRUP761_SHARED_LEN],
			 const uint8_t pk[ST_SNTRUP761_PUBLIC_LEN], st_sntrup761_rng_fn rng,
			 void *ctx);

/*
 * Decapsulates ct with sk into ss. A ciphertext that does not re-encrypt to
 * itself gives the implicit-rejection key (not an error).
 * Returns ST_OK, or ST_ERR_CRYPTO (SHA-512 failure; ss is zeroed).
 */
int st_sntrup761_dec(uint8_t ss[ST_SNTRUP761_SHARED_LEN],
		     const uint8_t ct[ST_SNTRUP761_CIPHERTEXT_LEN],
		     const uint8_t sk[ST_SNTRUP761_SECRET_LEN]);

/*
 * Length-checked forms for values from the peer: the peer's public key
 * (pk_len bytes) or ciphertext (ct_len bytes), and the size of our output
 * buffer for the ciphertext.
 * Returns ST_OK; ST_ERR_KEX_PUBLIC_INVALID when pk_len or ct_len is not the
 * exact length; ST_ERR_NO_SPACE when ct_size is under
 * ST_SNTRUP761_CIPHERTEXT_LEN; ST_ERR_CRYPTO as above. ss is zeroed on any
 * failure.
 */
int st_sntrup761_enc_checked(uint8_t *ct, size_t ct_size, uint8_t ss[ST_SNTRUP761_SHARED_LEN],
			     const uint8_t *pk, size_t pk_len);
int st_sntrup761_dec_checked(uint8_t ss[ST_SNTRUP761_SHARED_LEN], const uint8_t *ct,
			     size_t ct_len, const uint8_t sk[ST_SNTRUP761_SECRET_LEN]);

#endif
