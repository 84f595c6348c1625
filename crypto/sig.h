/*
 * SSH signatures: ssh-ed25519 (RFC 8709 §6), ecdsa-sha2-nistp256
 * (RFC 5656 §3.1.2) and rsa-sha2-256 / rsa-sha2-512 (RFC 8332, PKCS#1 v1.5).
 * The legacy SHA-1 "ssh-rsa" signature algorithm is not supported.
 *
 * A signature blob is: string algorithm name, string signature, where the
 * signature is 64 raw bytes (Ed25519), an inner string holding mpint r,
 * mpint s (ECDSA over SHA-256), or the modulus-length RSA signature.
 */
#ifndef ST_CRYPTO_SIG_H
#define ST_CRYPTO_SIG_H

#include <stddef.h>
#include <stdint.h>

struct st_buf;
struct st_key;

enum st_sig_alg {
	ST_SIG_ED25519,
	ST_SIG_ECDSA_P256,
	ST_SIG_RSA_SHA256,
	ST_SIG_RSA_SHA512,
};

/*
 * Algorithm from its SSH name ("ssh-ed25519", "ecdsa-sha2-nistp256",
 * "rsa-sha2-256", "rsa-sha2-512"); name need not be NUL-terminated.
 * Returns ST_OK or ST_ERR_ALG_UNSUPPORTED (any other name, "ssh-rsa" included).
 */
int st_sig_alg_from_name(const char *name, size_t len, enum st_sig_alg *out);

/*
 * The signature algorithm of an OpenSSH certificate algorithm name
 * (PROTOCOL.certkeys): "ssh-ed25519-cert-v01@openssh.com",
 * "ecdsa-sha2-nistp256-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
 * "rsa-sha2-512-cert-v01@openssh.com". A certificate signs with its certified
 * key under that base algorithm. Returns ST_OK or ST_ERR_ALG_UNSUPPORTED (any
 * other name; "ssh-rsa-cert-v01@openssh.com" too: it means SHA-1 signatures).
 */
int st_sig_alg_from_cert_name(const char *name, size_t len, enum st_sig_alg *out);

/* The certificate form of alg's name (see above); "unknown" outside the enum. */
const char *st_sig_alg_cert_name(enum st_sig_alg alg);

/* SSH name of alg; "unknown" for values outside the enum. */
const char *st_sig_alg_name(enum st_sig_alg alg);

/*
 * 1 when alg signs with keys of k's type (rsa-sha2-256/512 with ssh-rsa keys,
 * ssh-ed25519 and ecdsa-sha2-nistp256 with their own key type), else 0.
 */
int st_sig_alg_matches_key(enum st_sig_alg alg, const struct st_key *k);

/*
 * Signs data[0..len) with private key k and appends the SSH signature blob to out.
 * Returns ST_OK;
 *   ST_ERR_KEY_TYPE_MISMATCH when alg does not go with k;
 *   ST_ERR_INVALID_ARGUMENT when k has no private part or alg is out of range;
 *   ST_ERR_NO_SPACE / ST_ERR_ALLOC (out unchanged);
 *   ST_ERR_CRYPTO.
 */
int st_sig_sign(const struct st_key *k, enum st_sig_alg alg, const uint8_t *data, size_t len,
		struct st_buf *out);

/*
 * Verifies the SSH signature blob sig[0..siglen) over data[0..len) with k's
 * public key, for algorithm alg (the one negotiated, or named in the request).
 * Returns ST_OK only for a good signature;
 *   ST_ERR_FORMAT: the blob does not parse (truncated, trailing bytes after the
 *     blob or inside the ECDSA inner string, Ed25519 signature not 64 bytes,
 *     negative or non-minimal mpints);
 *   ST_ERR_SIG_INVALID: the blob's algorithm name differs from alg, ECDSA r or
 *     s outside [1, n-1], an RSA signature empty or longer than the modulus
 *     (shorter ones are left-padded with zeros, as OpenSSH does), or the
 *     signature does not verify;
 *   ST_ERR_KEY_TYPE_MISMATCH when alg does not go with k;
 *   ST_ERR_INVALID_ARGUMENT for alg out of range;
 *   ST_ERR_ALLOC.
 */
int st_sig_verify(const struct st_key *k, enum st_sig_alg alg, const uint8_t *sig, size_t siglen,
		  const uint8_t *data, size_t len);

#endif
