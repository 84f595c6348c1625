/*
 * ML-KEM-768 (FIPS 203, k = 3, eta1 = eta2 = 2, du = 10, dv = 4), written
 * here; only the hash functions come from OpenSSL (EVP SHA3-256, SHA3-512,
 * SHAKE128, SHAKE256).
 *
 * Use: the side that wants a shared secret makes a key pair with
 * st_mlkem768_keygen() and sends ek; the peer runs st_mlkem768_encaps() on
 * the received ek and sends ct back; st_mlkem768_decaps() on ct gives the
 * same 32-byte ss. The *_derand variants take the random inputs FIPS 203
 * names (d, z for key generation, m for encapsulation) and exist for
 * known-answer tests; production code calls the randomized ones.
 *
 * Input checks (FIPS 203 §7.2, §7.3): encapsulation refuses an ek of the
 * wrong length or one whose 12-bit coefficients are not all below q (the
 * modulus check, ByteEncode12(ByteDecode12(ek)) == ek); decapsulation
 * refuses a ct or dk of the wrong length and a dk whose stored H(ek) does
 * not match its ek. A ct of the right length that does not decrypt to
 * itself is not an error: decapsulation then returns ST_OK with the implicit
 * rejection key J(z || ct), as FIPS 203 requires.
 *
 * Constant time: nothing that depends on dk, d, z, m or the shared secret
 * decides a branch or a memory index (tests/e2e/mlkem_ct.sh checks this
 * under valgrind). Temporaries that hold secrets are wiped.
 *
 * All functions return ST_OK or a negative ST_ERR_* code (crypto/err.h);
 * outputs are written only on success.
 */
#ifndef ST_CRYPTO_MLKEM_H
#define ST_CRYPTO_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#define ST_MLKEM768_EK_LEN 1184 /* encapsulation (public) key */
#define ST_MLKEM768_DK_LEN 2400 /* decapsulation (private) key: dk_pke || ek || H(ek) || z */
#define ST_MLKEM768_CT_LEN 1088 /* ciphertext */
#define ST_MLKEM768_SS_LEN 32   /* shared secret */
#define ST_MLKEM768_SEED_LEN 32 /* each of d, z and m */

/*
 * ML-KEM.KeyGen_internal(d, z). Returns ST_OK, or ST_ERR_CRYPTO when an
 * OpenSSL hash fails.
 */
int st_mlkem768_keygen_derand(const uint8_t d[ST_MLKEM768_SEED_LEN],
			      const uint8_t z[ST_MLKEM768_SEED_LEN],
			      uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN]);

/*
 * ML-KEM.KeyGen with d and z from RAND_bytes(). Returns ST_OK, or
 * ST_ERR_CRYPTO (no randomness, or a hash failed).
 */
int st_mlkem768_keygen(uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN]);

/*
 * ML-KEM.Encaps_internal(ek, m) on a peer's ek of ek_len bytes. Returns
 * ST_OK; ST_ERR_KEX_PUBLIC_INVALID when ek_len is not ST_MLKEM768_EK_LEN or
 * ek fails the modulus check; ST_ERR_CRYPTO when a hash fails.
 */
int st_mlkem768_encaps_derand(const uint8_t *ek, size_t ek_len,
			      const uint8_t m[ST_MLKEM768_SEED_LEN],
			      uint8_t ct[ST_MLKEM768_CT_LEN], uint8_t ss[ST_MLKEM768_SS_LEN]);

/* ML-KEM.Encaps: as st_mlkem768_encaps_derand() with m from RAND_bytes(). */
int st_mlkem768_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[ST_MLKEM768_CT_LEN],
		       uint8_t ss[ST_MLKEM768_SS_LEN]);

/*
 * ML-KEM.Decaps(dk, ct) on a peer's ct of ct_len bytes. Returns ST_OK (also
 * for a ct that fails re-encryption: ss is then J(z || ct));
 * ST_ERR_KEX_PUBLIC_INVALID when ct_len is not ST_MLKEM768_CT_LEN;
 * ST_ERR_KEY_INVALID when dk_len is not ST_MLKEM768_DK_LEN or dk fails the
 * hash check; ST_ERR_CRYPTO when a hash fails.
 */
int st_mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
		       uint8_t ss[ST_MLKEM768_SS_LEN]);

#endif
