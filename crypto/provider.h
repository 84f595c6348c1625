/*
 * OpenSSL provider and engine selection: where libcrypto's algorithms come
 * from, for the EVP record backend (crypto/backend_evp.c) and for the
 * control plane's public-key work (X25519, ECDH, DH, RSA, ECDSA, Ed25519).
 *
 * Config keywords (the daemon's config reader calls these at startup, before
 * any session exists; they change process-wide libcrypto state and are not
 * thread-safe against concurrent crypto):
 *
 *   CryptoProvider NAME[:PROPQ]  st_crypto_provider_load("NAME[:PROPQ]", ...)
 *       Loads OpenSSL 3 provider NAME (a name from openssl.cnf or a module in
 *       MODULESDIR, e.g. "legacy", "fips", a QAT provider "qatprovider"). The
 *       default provider stays loaded beside it so algorithms NAME lacks still
 *       exist. PROPQ becomes the default property query
 *       (EVP_set_default_properties); without one it is "?provider=NAME": use
 *       NAME where it has the algorithm, default elsewhere. A hard query such
 *       as "provider=NAME" makes NAME mandatory for every algorithm.
 *   CryptoEngine ID              st_crypto_engine_load("ID", ...)
 *       Loads and initializes an ENGINE (deprecated API, for engines that are
 *       not providers yet) and makes it the default for everything it
 *       implements. Engines only serve libcrypto calls that use legacy method
 *       objects or engine keys; explicitly fetched algorithms (as the EVP
 *       backend fetches them) come from providers.
 *   CryptoFallback yes|no        the `fallback` argument below.
 *
 * After loading, the algorithms sshterm needs (AES-128-GCM, AES-256-CTR,
 * ChaCha20, HMAC, SHA2-256, SHA2-512, X25519, ED25519, EC, RSA, DH) are
 * fetched under the effective property query. Any failure gives a clear
 * error; with `fallback` set it instead restores the default provider and
 * query and reports the fallback in `msg` (the caller logs it).
 */
#ifndef ST_CRYPTO_PROVIDER_H
#define ST_CRYPTO_PROVIDER_H

#include <stddef.h>

#define ST_PROVIDER_MSG_MAX 256

/*
 * Loads provider "NAME[:PROPQ]" as described above. `msg` (msglen bytes,
 * may be NULL) receives a human-readable explanation of an error or of a
 * fallback. Returns:
 *   ST_OK                   loaded and complete; *fell_back (if not NULL) is
 *                           0, or 1 when `fallback` was used (msg says why)
 *   ST_ERR_INVALID_ARGUMENT empty name or malformed spec
 *   ST_ERR_NOT_FOUND        the provider does not load
 *   ST_ERR_ALG_UNSUPPORTED  a needed algorithm is unavailable under PROPQ
 *   ST_ERR_CRYPTO           the property query was refused
 */
int st_crypto_provider_load(const char *spec, int fallback, int *fell_back, char *msg,
			    size_t msglen);

/*
 * Loads engine ID and makes it the default for its algorithms. Same return
 * values as st_crypto_provider_load(); ST_ERR_NOT_FOUND when no engine ID
 * exists, ST_ERR_CRYPTO when it exists but does not initialize (no device).
 */
int st_crypto_engine_load(const char *id, int fallback, int *fell_back, char *msg,
			  size_t msglen);

/*
 * Fetches every needed algorithm under the current default property query.
 * ST_OK or ST_ERR_ALG_UNSUPPORTED (msg names the first missing one).
 */
int st_crypto_provider_check(char *msg, size_t msglen);

/*
 * Unloads the providers and engines the functions above loaded and resets the
 * property query. The default provider stays loaded: once any provider was
 * loaded explicitly libcrypto never loads it implicitly again.
 */
void st_crypto_provider_unload_all(void);

#endif
