/*
 * ML-KEM-768 through an OpenSSL provider (OpenSSL 3.5 and later ship one
 * in the default provider; others may come from `CryptoProvider`). The key
 * exchange (kexalg.c) uses it when a loaded provider offers "ML-KEM-768"
 * under the current property query, and crypto/mlkem.c otherwise; both
 * speak the same encodings (FIPS 203: ek 1184 bytes, dk 2400 bytes in the
 * expanded dk_pke || ek || H(ek) || z form, ct 1088, ss 32), so keys and
 * ciphertexts made by one are used by the other.
 *
 * Built against any OpenSSL 3 (Debian 12 has 3.0, without ML-KEM): the
 * algorithm is found by name at run time, never at build time.
 *
 * Thread safety: OpenSSL's fetch is thread safe; no state is kept here
 * except the availability answer, which st_mlkem768_evp_probe() computes
 * (after the providers are loaded, on the main thread) and every later
 * call reads.
 */
#ifndef ST_CRYPTO_MLKEM_EVP_H
#define ST_CRYPTO_MLKEM_EVP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/mlkem.h"

/*
 * Looks for "ML-KEM-768" key management and KEM under the default property
 * query; remembers and returns 1 when both are there, else 0. Call again
 * after a provider change.
 */
int st_mlkem768_evp_probe(void);

/* The last st_mlkem768_evp_probe() answer (0 before the first). */
int st_mlkem768_evp_available(void);

/* Name of the provider that serves ML-KEM-768 ("default", ...), or NULL. */
const char *st_mlkem768_evp_provider(void);

/*
 * As st_mlkem768_keygen(), st_mlkem768_encaps(), st_mlkem768_decaps() in
 * crypto/mlkem.h, with the same returns (an ek the provider refuses on
 * import, its modulus check, is ST_ERR_KEX_PUBLIC_INVALID), and
 * ST_ERR_NOT_FOUND when no provider offers ML-KEM-768.
 */
int st_mlkem768_evp_keygen(uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN]);
int st_mlkem768_evp_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[ST_MLKEM768_CT_LEN],
			   uint8_t ss[ST_MLKEM768_SS_LEN]);
int st_mlkem768_evp_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
			   uint8_t ss[ST_MLKEM768_SS_LEN]);

#endif
