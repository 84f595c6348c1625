#include "crypto/cipher.h"

#include <string.h>

static const struct st_cipher_info ciphers[ST_CIPHER_COUNT] = {
	[ST_CIPHER_AES128_GCM] = {ST_CIPHER_AES128_GCM, ST_CIPHER_KIND_GCM,
				  "aes128-gcm@openssh.com", 16, 12, 16, 16},
	[ST_CIPHER_AES256_GCM] = {ST_CIPHER_AES256_GCM, ST_CIPHER_KIND_GCM,
				  "aes256-gcm@openssh.com", 32, 12, 16, 16},
	/* 8-byte "block": ChaCha20 is a stream cipher; RFC 4253's minimum multiple applies. */
	[ST_CIPHER_CHACHA20_POLY1305] = {ST_CIPHER_CHACHA20_POLY1305, ST_CIPHER_KIND_CHACHA,
					 "chacha20-poly1305@openssh.com", 64, 0, 8, 16},
	[ST_CIPHER_AES128_CTR] = {ST_CIPHER_AES128_CTR, ST_CIPHER_KIND_CTR, "aes128-ctr", 16, 16,
				  16, 0},
	[ST_CIPHER_AES256_CTR] = {ST_CIPHER_AES256_CTR, ST_CIPHER_KIND_CTR, "aes256-ctr", 32, 16,
				  16, 0},
};

static const struct st_mac_info macs[ST_MAC_COUNT] = {
	[ST_MAC_HMAC_SHA256] = {ST_MAC_HMAC_SHA256, "hmac-sha2-256", 32, 32, 0, 0},
	[ST_MAC_HMAC_SHA512] = {ST_MAC_HMAC_SHA512, "hmac-sha2-512", 64, 64, 0, 1},
	[ST_MAC_HMAC_SHA256_ETM] = {ST_MAC_HMAC_SHA256_ETM, "hmac-sha2-256-etm@openssh.com", 32,
				    32, 1, 0},
	[ST_MAC_HMAC_SHA512_ETM] = {ST_MAC_HMAC_SHA512_ETM, "hmac-sha2-512-etm@openssh.com", 64,
				    64, 1, 1},
};

const char st_cipher_default_list[] =
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
	"aes128-ctr,aes256-ctr";
const char st_mac_default_list[] =
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
	"hmac-sha2-256,hmac-sha2-512";

static int name_is(const char *known, const char *name, size_t len)
{
	return strlen(known) == len && memcmp(known, name, len) == 0;
}

const struct st_cipher_info *st_cipher_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < ST_CIPHER_COUNT; i++)
		if (name_is(ciphers[i].name, name, len))
			return &ciphers[i];
	return NULL;
}

const struct st_mac_info *st_mac_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < ST_MAC_COUNT; i++)
		if (name_is(macs[i].name, name, len))
			return &macs[i];
	return NULL;
}

const struct st_cipher_info *st_cipher_by_id(enum st_cipher_id id)
{
	return (unsigned)id < ST_CIPHER_COUNT ? &ciphers[id] : NULL;
}

const struct st_mac_info *st_mac_by_id(enum st_mac_id id)
{
	return (unsigned)id < ST_MAC_COUNT ? &macs[id] : NULL;
}
