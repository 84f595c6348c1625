/*
 * Internal to crypto/: the libcrypto side of struct st_key, and constructors
 * from raw key components for the key-file parser and known-answer tests.
 * Nothing outside crypto/ (and its unit tests) includes this header.
 *
 * Magnitudes are unsigned big-endian byte strings as st_buf_get_mpint() yields
 * them (leading zeros allowed). Constructors validate as st_key_from_blob()
 * does and, for private keys, check that the private part is consistent with
 * the public part.
 */
#ifndef ST_CRYPTO_KEY_INTERNAL_H
#define ST_CRYPTO_KEY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/key.h"

#define ST_ED25519_PUBLIC_SIZE 32
#define ST_ED25519_SEED_SIZE 32

/* The key's libcrypto object, owned by k (do not free). */
EVP_PKEY *st_key_pkey(const struct st_key *k);

/*
 * Wraps a libcrypto key (from a PEM decoder or key generation) after checking
 * it is one of the supported types with acceptable parameters; with
 * want_private, the private part must be present and consistent.
 * On ST_OK *out owns pkey; on error the caller still owns pkey.
 * Returns ST_OK, ST_ERR_KEY_TYPE_UNKNOWN (other algorithms or curves),
 * ST_ERR_KEY_INVALID, ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_key_from_pkey(EVP_PKEY *pkey, int want_private, struct st_key **out);

/*
 * Ed25519 key from its 32-byte public key and/or its 32-byte private seed
 * (RFC 8032 §5.1.5). With seed == NULL the key is public-only; with both, the
 * public key derived from the seed must equal pub (else ST_ERR_KEY_INVALID);
 * pub may be NULL when seed is given. For key files and RFC 8032 known-answer
 * tests. Returns ST_OK, ST_ERR_INVALID_ARGUMENT (both NULL),
 * ST_ERR_KEY_INVALID, ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_key_ed25519_from_raw(const uint8_t *pub, const uint8_t *seed, struct st_key **out);

/* Shorthand for st_key_ed25519_from_raw(NULL, seed, out) (known-answer tests). */
int st_key_ed25519_from_seed(const uint8_t seed[ST_ED25519_SEED_SIZE], struct st_key **out);

/*
 * P-256 key from the SEC1 uncompressed point q[0..qlen) (65 bytes, 0x04 || X || Y)
 * and, when d != NULL, the private scalar d[0..dlen) (1 <= d < order, and
 * d * G must equal q). Returns ST_OK, ST_ERR_KEY_INVALID, ST_ERR_ALLOC,
 * ST_ERR_CRYPTO.
 */
int st_key_ecdsa_from_raw(const uint8_t *q, size_t qlen, const uint8_t *d, size_t dlen,
			  struct st_key **out);

/* RSA components; d, p, q and iqmp all NULL for a public-only key. */
struct st_key_rsa_raw {
	const uint8_t *n, *e, *d, *p, *q, *iqmp;
	size_t nlen, elen, dlen, plen, qlen, iqmplen;
};

/*
 * RSA key from its components. A private key needs all of d, p, q and iqmp
 * (q^-1 mod p, as openssh-key-v1 stores it); n = p*q, e*d = 1 mod (p-1) and
 * mod (q-1), iqmp*q = 1 mod p are checked, and the CRT exponents are derived.
 * Returns ST_OK, ST_ERR_KEY_INVALID, ST_ERR_ALLOC, ST_ERR_CRYPTO.
 */
int st_key_rsa_from_raw(const struct st_key_rsa_raw *raw, struct st_key **out);

#endif
