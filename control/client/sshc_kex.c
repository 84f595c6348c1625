#include "control/client/sshc_kex.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "control/config.h"
#include "control/kex.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

int st_sshc_kexinit_build(const struct st_sshc_algs *a, int initial, unsigned flags,
			  struct st_buf *out)
{
	char kex[1024];
	uint8_t cookie[16];
	size_t mark = out->len;
	int n, r;

	n = snprintf(kex, sizeof(kex), "%s%s%s", a->kex,
		     initial && (flags & ST_SSHC_KEXINIT_EXT_INFO) ? "," ST_EXT_INFO_C : "",
		     initial && (flags & ST_SSHC_KEXINIT_STRICT) ? "," ST_KEX_STRICT_C : "");
	if (n < 0 || (size_t)n >= sizeof(kex))
		return ST_ERR_NO_SPACE;
	if (RAND_bytes(cookie, sizeof(cookie)) != 1)
		return ST_ERR_CRYPTO;
	if ((r = st_buf_put_u8(out, SSH_MSG_KEXINIT)) != 0 ||
	    (r = st_buf_put_bytes(out, cookie, sizeof(cookie))) != 0 ||
	    (r = st_buf_put_cstring(out, kex)) != 0 || (r = st_buf_put_cstring(out, a->hostkey)) != 0 ||
	    (r = st_buf_put_cstring(out, a->cipher_c2s)) != 0 ||
	    (r = st_buf_put_cstring(out, a->cipher_s2c)) != 0 ||
	    (r = st_buf_put_cstring(out, a->mac_c2s)) != 0 ||
	    (r = st_buf_put_cstring(out, a->mac_s2c)) != 0 ||
	    (r = st_buf_put_cstring(out, a->comp_c2s != NULL ? a->comp_c2s : "none")) != 0 ||
	    (r = st_buf_put_cstring(out, a->comp_s2c != NULL ? a->comp_s2c : "none")) != 0 ||
	    (r = st_buf_put_cstring(out, "")) != 0 || (r = st_buf_put_cstring(out, "")) != 0 ||
	    (r = st_buf_put_bool(out, (flags & ST_SSHC_KEXINIT_FOLLOWS) != 0)) != 0 ||
	    (r = st_buf_put_u32(out, 0)) != 0) {
		out->len = mark;
		return r;
	}
	return ST_OK;
}

/* Our first name that the server also lists. */
static int pick(const char *ours, const char *server, size_t slen, const char **name, size_t *len)
{
	return st_kex_pick(ours, strlen(ours), server, slen, name, len);
}

int st_sshc_kex_negotiate(const struct st_sshc_algs *a, const uint8_t *p, size_t len,
			  int initial, struct st_sshc_neg *out, const char **what)
{
	struct st_kexinit_lists kl;
	struct st_sshc_neg n;
	const char *nm, *first;
	size_t nl, fl;
	int r;

	memset(&n, 0, sizeof(n));
	*what = "kexinit";
	if ((r = st_kexinit_parse(p, len, &kl)) != 0)
		return r;
	*what = "kex";
	if ((r = pick(a->kex, kl.l[ST_KEXINIT_KEX], kl.len[ST_KEXINIT_KEX], &nm, &nl)) != 0)
		return r;
	if ((n.kex = st_ctl_kex_method_by_name(nm, nl)) == NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	/* The server's guess is its first kex and host key name (RFC 4253 §7). */
	first = kl.l[ST_KEXINIT_KEX];
	for (fl = 0; fl < kl.len[ST_KEXINIT_KEX] && first[fl] != ','; fl++)
		;
	if (fl != nl || memcmp(first, nm, nl) != 0)
		n.server_guess_wrong = 1;

	*what = "host key";
	if ((r = pick(a->hostkey, kl.l[ST_KEXINIT_HOSTKEY], kl.len[ST_KEXINIT_HOSTKEY], &nm,
		      &nl)) != 0)
		return r;
	if ((r = st_sig_alg_from_name(nm, nl, &n.hostkey_alg)) != 0)
		return ST_ERR_ALG_UNSUPPORTED;
	first = kl.l[ST_KEXINIT_HOSTKEY];
	for (fl = 0; fl < kl.len[ST_KEXINIT_HOSTKEY] && first[fl] != ','; fl++)
		;
	if (fl != nl || memcmp(first, nm, nl) != 0)
		n.server_guess_wrong = 1;

	*what = "cipher";
	if ((r = pick(a->cipher_c2s, kl.l[ST_KEXINIT_CIPHER_C2S], kl.len[ST_KEXINIT_CIPHER_C2S],
		      &nm, &nl)) != 0)
		return r;
	n.cipher_c2s = st_cipher_by_name(nm, nl);
	if ((r = pick(a->cipher_s2c, kl.l[ST_KEXINIT_CIPHER_S2C], kl.len[ST_KEXINIT_CIPHER_S2C],
		      &nm, &nl)) != 0)
		return r;
	n.cipher_s2c = st_cipher_by_name(nm, nl);
	if (n.cipher_c2s == NULL || n.cipher_s2c == NULL)
		return ST_ERR_ALG_UNSUPPORTED;

	*what = "mac";
	if (!st_cipher_is_aead(n.cipher_c2s)) {
		if ((r = pick(a->mac_c2s, kl.l[ST_KEXINIT_MAC_C2S], kl.len[ST_KEXINIT_MAC_C2S], &nm,
			      &nl)) != 0)
			return r;
		if ((n.mac_c2s = st_mac_by_name(nm, nl)) == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
	}
	if (!st_cipher_is_aead(n.cipher_s2c)) {
		if ((r = pick(a->mac_s2c, kl.l[ST_KEXINIT_MAC_S2C], kl.len[ST_KEXINIT_MAC_S2C], &nm,
			      &nl)) != 0)
			return r;
		if ((n.mac_s2c = st_mac_by_name(nm, nl)) == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
	}

	*what = "compression";
	if ((r = pick(a->comp_c2s != NULL ? a->comp_c2s : "none", kl.l[ST_KEXINIT_COMP_C2S],
		      kl.len[ST_KEXINIT_COMP_C2S], &nm, &nl)) != 0 ||
	    nl != 4 || memcmp(nm, "none", 4) != 0)
		return ST_ERR_ALG_UNSUPPORTED;
	if ((r = pick(a->comp_s2c != NULL ? a->comp_s2c : "none", kl.l[ST_KEXINIT_COMP_S2C],
		      kl.len[ST_KEXINIT_COMP_S2C], &nm, &nl)) != 0 ||
	    nl != 4 || memcmp(nm, "none", 4) != 0)
		return ST_ERR_ALG_UNSUPPORTED;

	if (initial)
		n.strict = (uint8_t)st_namelist_has(kl.l[ST_KEXINIT_KEX], kl.len[ST_KEXINIT_KEX],
						    ST_KEX_STRICT_S, strlen(ST_KEX_STRICT_S));
	n.server_follows = (uint8_t)(kl.first_kex_follows != 0);
	if (!n.server_follows)
		n.server_guess_wrong = 0;
	*out = n;
	return ST_OK;
}

int st_sshc_kex_init(const struct st_sshc_neg *n, struct st_sshc_kex_state *st,
		     struct st_buf *out)
{
	size_t mark = out->len;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = st_kex_keypair_new(n->kex->group, &st->kp)) != 0 ||
	    (r = st_kex_public(st->kp, st->q_c, sizeof(st->q_c), &st->q_c_len)) != 0)
		goto fail;
	if ((r = st_buf_put_u8(out, SSH_MSG_KEX_ECDH_INIT)) != 0 ||
	    (r = st_kex_put_public(out, n->kex, st->q_c, st->q_c_len)) != 0) {
		out->len = mark;
		goto fail;
	}
	return ST_OK;
fail:
	st_sshc_kex_state_clear(st);
	return r;
}

int st_sshc_kex_finish(const struct st_sshc_neg *n, const struct st_sshc_kex_state *st,
		       const struct st_kex_transcript *t, const uint8_t *p, size_t len,
		       const uint8_t *sid, size_t sid_len, struct st_sshc_kex_result *res)
{
	struct st_buf b, k;
	struct st_key *hk = NULL;
	const uint8_t *ks, *qs, *sig;
	size_t ks_len, qs_len, sig_len;
	uint8_t type;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&k, 0, sizeof(k));
	st_buf_from(&b, p, len);
	if ((r = st_buf_get_u8(&b, &type)) != 0)
		goto out;
	if (type != SSH_MSG_KEX_ECDH_REPLY) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = st_buf_get_string(&b, &ks, &ks_len)) != 0 ||
	    (r = st_kex_get_public(&b, n->kex, &qs, &qs_len)) != 0 ||
	    (r = st_buf_get_string(&b, &sig, &sig_len)) != 0 || (r = st_buf_end(&b)) != 0)
		goto out;
	if (ks_len > sizeof(res->hostkey_blob)) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	if ((r = st_key_from_blob(ks, ks_len, &hk)) != 0)
		goto out;
	if (!st_sig_alg_matches_key(n->hostkey_alg, hk)) {
		r = ST_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if ((r = st_buf_alloc(&k, 64, ST_KEX_SECRET_ENC_MAX)) != 0 ||
	    (r = st_kex_client_finish(st->kp, qs, qs_len, &k)) != 0)
		goto out;
	res->h_len = st_hash_len(n->kex->hash);
	if ((r = st_kex_exchange_hash(n->kex, t, ks, ks_len, st->q_c, st->q_c_len, qs, qs_len,
				      st_buf_ptr(&k), st_buf_avail(&k), res->h)) != 0)
		goto out;
	if ((r = st_sig_verify(hk, n->hostkey_alg, sig, sig_len, res->h, res->h_len)) != 0)
		goto out;
	if (sid_len == 0) {
		sid = res->h;
		sid_len = res->h_len;
	}
	if ((r = st_kex_derive_keys(n->kex->hash, st_buf_ptr(&k), st_buf_avail(&k), res->h,
				    res->h_len, sid, sid_len, n->cipher_c2s, n->mac_c2s,
				    n->cipher_s2c, n->mac_s2c, &res->c2s, &res->s2c)) != 0)
		goto out;
	memcpy(res->hostkey_blob, ks, ks_len);
	res->hostkey_blob_len = ks_len;
	res->hostkey = hk;
	hk = NULL;
	r = ST_OK;
out:
	if (r != ST_OK)
		st_sshc_kex_result_clear(res);
	if (k.data != NULL)
		st_wipe(k.data, k.len);
	st_buf_free(&k);
	st_key_free(hk);
	return r;
}

void st_sshc_kex_state_clear(struct st_sshc_kex_state *st)
{
	st_kex_keypair_free(st->kp);
	st->kp = NULL;
}

void st_sshc_kex_result_clear(struct st_sshc_kex_result *res)
{
	st_key_free(res->hostkey);
	st_wipe(res, sizeof(*res));
}
