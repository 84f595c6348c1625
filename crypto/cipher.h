/*
 * SSH record cipher suites: what each cipher and MAC algorithm name means
 * (key, IV, block, tag sizes and construction), independent of which crypto
 * backend executes it.
 */
#ifndef ST_CRYPTO_CIPHER_H
#define ST_CRYPTO_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#define ST_CIPHER_MAX_KEY 64   /* chacha20-poly1305@openssh.com: two 256-bit keys */
#define ST_CIPHER_MAX_IV 16
#define ST_MAC_MAX_KEY 64
#define ST_MAC_MAX_LEN 64      /* hmac-sha2-512 */
#define ST_CIPHER_MAX_BLOCK 16

enum st_cipher_id {
	ST_CIPHER_AES128_GCM,
	ST_CIPHER_AES256_GCM,
	ST_CIPHER_CHACHA20_POLY1305,
	ST_CIPHER_AES128_CTR,
	ST_CIPHER_AES256_CTR,
	ST_CIPHER_COUNT
};

enum st_cipher_kind {
	ST_CIPHER_KIND_GCM,    /* RFC 5647 as OpenSSH uses it: length is AAD */
	ST_CIPHER_KIND_CHACHA, /* PROTOCOL.chacha20poly1305: separate length key */
	ST_CIPHER_KIND_CTR,    /* plain stream cipher, needs a MAC */
};

struct st_cipher_info {
	enum st_cipher_id id;
	enum st_cipher_kind kind;
	const char *name;    /* SSH algorithm name */
	uint8_t key_len;     /* bytes of key material to derive */
	uint8_t iv_len;      /* bytes of IV material to derive (0: none) */
	uint8_t block_size;  /* padding multiple (RFC 4253 §6: at least 8) */
	uint8_t tag_len;     /* AEAD tag bytes; 0 for non-AEAD ciphers */
};

enum st_mac_id {
	ST_MAC_HMAC_SHA256,
	ST_MAC_HMAC_SHA512,
	ST_MAC_HMAC_SHA256_ETM,
	ST_MAC_HMAC_SHA512_ETM,
	ST_MAC_COUNT
};

struct st_mac_info {
	enum st_mac_id id;
	const char *name;    /* SSH algorithm name */
	uint8_t key_len;
	uint8_t mac_len;
	uint8_t etm;         /* 1: encrypt-then-MAC (length sent in clear) */
	uint8_t sha512;      /* 0: SHA-256, 1: SHA-512 */
};

/* Lookup by SSH name (exact match). NULL when unknown. */
const struct st_cipher_info *st_cipher_by_name(const char *name, size_t len);
const struct st_mac_info *st_mac_by_name(const char *name, size_t len);
const struct st_cipher_info *st_cipher_by_id(enum st_cipher_id id);
const struct st_mac_info *st_mac_by_id(enum st_mac_id id);

static inline int st_cipher_is_aead(const struct st_cipher_info *c)
{
	return c->tag_len != 0;
}

/*
 * Comma-separated lists of every supported name, in our default preference
 * order (fast AEADs first), as KEXINIT offers them.
 */
extern const char st_cipher_default_list[];
extern const char st_mac_default_list[];

/*
 * Keys for one direction of one session, as derived by the KDF (RFC 4253 §7.2)
 * and handed from the control plane to a worker. Secret: wipe with st_wipe().
 * `mac` is NULL for AEAD ciphers.
 */
struct st_dir_keys {
	const struct st_cipher_info *cipher;
	const struct st_mac_info *mac;
	uint8_t key[ST_CIPHER_MAX_KEY];
	uint8_t iv[ST_CIPHER_MAX_IV];
	uint8_t mac_key[ST_MAC_MAX_KEY];
};

#endif
