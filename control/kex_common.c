#include "control/kex_common.h"

#include <string.h>

#include "control/config.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/kdf.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

static const struct st_ctl_kex_method kex_methods[] = {
	{"mlkem768x25519-sha256", ST_KEX_MLKEM768_X25519, ST_HASH_SHA256, 0},
	{"sntrup761x25519-sha512", ST_KEX_SNTRUP761_X25519, ST_HASH_SHA512, 0},
	{"sntrup761x25519-sha512@openssh.com", ST_KEX_SNTRUP761_X25519, ST_HASH_SHA512, 0},
	{"curve25519-sha256", ST_KEX_X25519, ST_HASH_SHA256, 0},
	{"curve25519-sha256@libssh.org", ST_KEX_X25519, ST_HASH_SHA256, 0},
	{"ecdh-sha2-nistp256", ST_KEX_ECDH_P256, ST_HASH_SHA256, 0},
	{"diffie-hellman-group16-sha512", ST_KEX_DH_GROUP16, ST_HASH_SHA512, 1},
	{"diffie-hellman-group14-sha256", ST_KEX_DH_GROUP14, ST_HASH_SHA256, 1},
};

const struct st_ctl_kex_method *st_ctl_kex_method_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(kex_methods) / sizeof(kex_methods[0]); i++)
		if (strlen(kex_methods[i].name) == len && memcmp(kex_methods[i].name, name, len) == 0)
			return &kex_methods[i];
	return NULL;
}

int st_kexinit_parse(const uint8_t *p, size_t len, struct st_kexinit_lists *out)
{
	struct st_kexinit_lists o;
	struct st_buf b;
	uint8_t type;
	uint32_t reserved;
	int r;

	st_buf_from(&b, p, len);
	if ((r = st_buf_get_u8(&b, &type)) != 0 || (r = st_buf_skip(&b, 16)) != 0)
		return r;
	if (type != SSH_MSG_KEXINIT)
		return ST_ERR_FORMAT;
	for (int i = 0; i < ST_KEXINIT_NLISTS; i++)
		if ((r = st_buf_get_namelist(&b, &o.l[i], &o.len[i])) != 0)
			return r;
	if ((r = st_buf_get_bool(&b, &o.first_kex_follows)) != 0 ||
	    (r = st_buf_get_u32(&b, &reserved)) != 0 || (r = st_buf_end(&b)) != 0)
		return r;
	*out = o;
	return ST_OK;
}

int st_kex_pick(const char *client, size_t clen, const char *server, size_t slen,
		const char **name, size_t *len)
{
	size_t i = 0;

	while (i < clen) {
		size_t j = i;
		while (j < clen && client[j] != ',')
			j++;
		if (st_namelist_has(server, slen, client + i, j - i)) {
			*name = client + i;
			*len = j - i;
			return ST_OK;
		}
		i = j + 1;
	}
	return ST_ERR_ALG_UNSUPPORTED;
}

int st_kex_put_public(struct st_buf *b, const struct st_ctl_kex_method *m, const uint8_t *v,
		      size_t len)
{
	return m->dh ? st_buf_put_mpint(b, v, len) : st_buf_put_string(b, v, len);
}

int st_kex_get_public(struct st_buf *b, const struct st_ctl_kex_method *m, const uint8_t **v,
		      size_t *len)
{
	return m->dh ? st_buf_get_mpint(b, v, len) : st_buf_get_string(b, v, len);
}

int st_kex_exchange_hash(const struct st_ctl_kex_method *m, const struct st_kex_transcript *t,
			 const uint8_t *ks, size_t ks_len, const uint8_t *q_c, size_t q_c_len,
			 const uint8_t *q_s, size_t q_s_len, const uint8_t *k, size_t k_len,
			 uint8_t *h)
{
	struct st_buf hb;
	int r;

	if ((r = st_buf_alloc(&hb, 1024, 64u * 1024u)) != 0)
		return r;
	if ((r = st_buf_put_cstring(&hb, t->v_c)) == 0 && (r = st_buf_put_cstring(&hb, t->v_s)) == 0 &&
	    (r = st_buf_put_string(&hb, t->i_c, t->i_c_len)) == 0 &&
	    (r = st_buf_put_string(&hb, t->i_s, t->i_s_len)) == 0 &&
	    (r = st_buf_put_string(&hb, ks, ks_len)) == 0 &&
	    (r = st_kex_put_public(&hb, m, q_c, q_c_len)) == 0 &&
	    (r = st_kex_put_public(&hb, m, q_s, q_s_len)) == 0 &&
	    (r = st_buf_put_bytes(&hb, k, k_len)) == 0)
		r = st_hash(m->hash, st_buf_ptr(&hb), st_buf_avail(&hb), h);
	/* the buffer holds K */
	st_wipe(hb.data, hb.len);
	st_buf_free(&hb);
	return r;
}

/* Points the KDF outputs of one direction at the key struct's buffers. */
static void derive_dir(const struct st_cipher_info *c, const struct st_mac_info *m,
		       struct st_dir_keys *dk, struct st_kdf_dir *kd)
{
	if (st_cipher_is_aead(c))
		m = NULL;
	memset(dk, 0, sizeof(*dk));
	dk->cipher = c;
	dk->mac = m;
	kd->iv = dk->iv;
	kd->iv_len = c->iv_len;
	kd->key = dk->key;
	kd->key_len = c->key_len;
	kd->mac = m != NULL ? dk->mac_key : NULL;
	kd->mac_len = m != NULL ? m->key_len : 0;
}

int st_kex_derive_keys(enum st_hash_alg hash, const uint8_t *k, size_t k_len, const uint8_t *h,
		       size_t h_len, const uint8_t *sid, size_t sid_len,
		       const struct st_cipher_info *cipher_c2s, const struct st_mac_info *mac_c2s,
		       const struct st_cipher_info *cipher_s2c, const struct st_mac_info *mac_s2c,
		       struct st_dir_keys *c2s, struct st_dir_keys *s2c)
{
	struct st_kdf_dir kc, ks;
	int r;

	derive_dir(cipher_c2s, mac_c2s, c2s, &kc);
	derive_dir(cipher_s2c, mac_s2c, s2c, &ks);
	if ((r = st_kdf_derive_all(hash, k, k_len, h, h_len, sid, sid_len, &kc, &ks)) != 0) {
		st_wipe(c2s, sizeof(*c2s));
		st_wipe(s2c, sizeof(*s2c));
	}
	return r;
}
