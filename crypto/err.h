/*
 * One error vocabulary for all of sshterm.
 *
 * Every function that can fail returns int: ST_OK (0) on success or one of the
 * negative ST_ERR_* codes below. Outputs written through pointers are set only
 * on success. st_err_str() turns a code into a short English string for logs
 * and for the control CLI.
 */
#ifndef ST_CRYPTO_ERR_H
#define ST_CRYPTO_ERR_H

#define ST_ERR_LIST(X)                                                         \
	X(ST_OK, 0, "success")                                                 \
	X(ST_ERR_INTERNAL, -1, "internal error")                               \
	X(ST_ERR_ALLOC, -2, "memory allocation failed")                        \
	X(ST_ERR_INCOMPLETE, -3, "message incomplete")                         \
	X(ST_ERR_FORMAT, -4, "invalid format")                                 \
	X(ST_ERR_NO_SPACE, -5, "no buffer space")                              \
	X(ST_ERR_TRAILING, -6, "unexpected trailing data")                     \
	X(ST_ERR_STRING_TOO_LARGE, -7, "string too large")                     \
	X(ST_ERR_BIGNUM_TOO_LARGE, -8, "bignum too large")                     \
	X(ST_ERR_BIGNUM_NEGATIVE, -9, "bignum is negative")                    \
	X(ST_ERR_MAC_INVALID, -10, "message authentication code incorrect")    \
	X(ST_ERR_PACKET_TOO_LARGE, -11, "packet length too large")             \
	X(ST_ERR_AGAIN, -12, "more input needed")                              \
	X(ST_ERR_CRYPTO, -13, "error in libcrypto")                            \
	X(ST_ERR_KEY_TYPE_UNKNOWN, -14, "unknown or unsupported key type")     \
	X(ST_ERR_KEY_ENCRYPTED, -15,                                           \
	  "key is protected by a passphrase (not supported)")                  \
	X(ST_ERR_KEY_INVALID, -16, "invalid key")                              \
	X(ST_ERR_SIG_INVALID, -17, "signature incorrect")                      \
	X(ST_ERR_ALG_UNSUPPORTED, -18, "algorithm not supported")              \
	X(ST_ERR_INVALID_ARGUMENT, -19, "invalid argument")                    \
	X(ST_ERR_SYSTEM, -20, "system error (see errno)")                      \
	X(ST_ERR_PADDING, -21, "invalid packet padding")                       \
	X(ST_ERR_KEX_PUBLIC_INVALID, -22, "invalid key exchange public value") \
	X(ST_ERR_BAD_LENGTH, -23, "invalid packet length")                     \
	X(ST_ERR_NAME_INVALID, -24, "invalid name or name-list")               \
	X(ST_ERR_KEY_TYPE_MISMATCH, -25, "key type does not match")            \
	X(ST_ERR_NOT_FOUND, -26, "not found")                                  \
	X(ST_ERR_STATE, -27, "operation not valid in this state")              \
	X(ST_ERR_EOF, -100, "end of stream")                                   \
	X(ST_ERR_CONN_RESET, -101, "connection reset by peer")                 \
	X(ST_ERR_CONN_REFUSED, -102, "connection refused")                     \
	X(ST_ERR_TIMEOUT, -103, "timed out")                                   \
	X(ST_ERR_STALE, -104, "stale or unknown handle")

enum st_err {
#define ST_ERR_ENUM(name, value, text) name = value,
	ST_ERR_LIST(ST_ERR_ENUM)
#undef ST_ERR_ENUM
};

/* Short description of an error code; never NULL (unknown codes map to a fixed string). */
const char *st_err_str(int err);

/* Symbolic name of an error code ("ST_ERR_MAC_INVALID"); never NULL. */
const char *st_err_name(int err);

#endif
