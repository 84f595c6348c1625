#include "control/kex.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "control/config.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

/*
 * The index of the host key that signs for a host key algorithm name (a
 * signature algorithm, or its -cert-v01 form when that key has a
 * HostCertificate), or -1. *sa gets the signature algorithm, *cert whether
 * the name is a certificate form.
 */
static int hostkey_for(const struct st_ctl_config *cfg, const char *name, size_t len,
		       enum st_sig_alg *sa, int *cert)
{
	*cert = 0;
	if (st_sig_alg_from_name(name, len, sa) != ST_OK) {
		if (st_sig_alg_from_cert_name(name, len, sa) != ST_OK)
			return -1;
		*cert = 1;
	}
	for (unsigned i = 0; i < cfg->n_hostkeys; i++)
		if (st_sig_alg_matches_key(*sa, cfg->hostkeys[i]) &&
		    (!*cert || cfg->hostcerts[i] != NULL))
			return (int)i;
	return -1;
}

/* Our host key algorithm list, limited to algorithms we hold a key (and certificate) for. */
static int hostkey_list(const struct st_ctl_config *cfg, char *out, size_t outsz)
{
	const char *l = cfg->hostkey_algs;
	size_t n = strlen(l), i = 0, o = 0;

	out[0] = '\0';
	while (i < n) {
		size_t j = i;
		enum st_sig_alg a;
		int cert;
		while (j < n && l[j] != ',')
			j++;
		if (hostkey_for(cfg, l + i, j - i, &a, &cert) >= 0) {
			if (o + (j - i) + 2 > outsz)
				return ST_ERR_NO_SPACE;
			if (o > 0)
				out[o++] = ',';
			memcpy(out + o, l + i, j - i);
			o += j - i;
			out[o] = '\0';
		}
		i = j + 1;
	}
	return o > 0 ? ST_OK : ST_ERR_INVALID_ARGUMENT;
}

int st_ctl_kex_hostkey_blob(const struct st_kex_neg *neg, struct st_buf *out)
{
	/* K_S is the certificate itself; the signature is still made with the
	 * plain key under the base algorithm (PROTOCOL.certkeys). */
	if (neg->hostkey_cert != NULL)
		return st_buf_put_bytes(out, neg->hostkey_cert, neg->hostkey_cert_len);
	return st_key_to_blob(neg->hostkey, out);
}

const char *st_ctl_kex_hostkey_alg_name(const struct st_kex_neg *neg)
{
	return neg->hostkey_cert != NULL ? st_sig_alg_cert_name(neg->hostkey_alg)
					 : st_sig_alg_name(neg->hostkey_alg);
}

int st_ctl_kexinit_build(const struct st_ctl_config *cfg, int initial, struct st_buf *out)
{
	char kex[ST_CTL_ALGLIST_MAX + 64], hk[ST_CTL_ALGLIST_MAX];
	uint8_t cookie[16];
	size_t mark = out->len;
	int r;

	if ((r = hostkey_list(cfg, hk, sizeof(hk))) != 0)
		return r;
	if (initial)
		snprintf(kex, sizeof(kex), "%s,%s", cfg->kex_algs, ST_KEX_STRICT_S);
	else
		snprintf(kex, sizeof(kex), "%s", cfg->kex_algs);
	if (RAND_bytes(cookie, sizeof(cookie)) != 1)
		return ST_ERR_CRYPTO;
	if ((r = st_buf_put_u8(out, SSH_MSG_KEXINIT)) != 0 ||
	    (r = st_buf_put_bytes(out, cookie, sizeof(cookie))) != 0 ||
	    (r = st_buf_put_cstring(out, kex)) != 0 || (r = st_buf_put_cstring(out, hk)) != 0 ||
	    (r = st_buf_put_cstring(out, cfg->ciphers)) != 0 ||
	    (r = st_buf_put_cstring(out, cfg->ciphers)) != 0 ||
	    (r = st_buf_put_cstring(out, cfg->macs)) != 0 ||
	    (r = st_buf_put_cstring(out, cfg->macs)) != 0 ||
	    (r = st_buf_put_cstring(out, "none")) != 0 ||
	    (r = st_buf_put_cstring(out, "none")) != 0 || (r = st_buf_put_cstring(out, "")) != 0 ||
	    (r = st_buf_put_cstring(out, "")) != 0 || (r = st_buf_put_bool(out, 0)) != 0 ||
	    (r = st_buf_put_u32(out, 0)) != 0) {
		out->len = mark; /* no partial message */
		return r;
	}
	return ST_OK;
}

/* 1 when the first name of list[0..len) is the first name of our (NUL-terminated) list. */
static int same_first(const char *list, size_t len, const char *ours)
{
	size_t a = 0, b = 0;

	while (a < len && list[a] != ',')
		a++;
	while (ours[b] != '\0' && ours[b] != ',')
		b++;
	return a == b && memcmp(list, ours, a) == 0;
}

/* The client's first name that our (NUL-terminated) list also has. */
static int pick(const char *client, size_t clen, const char *ours, const char **name, size_t *len)
{
	return st_kex_pick(client, clen, ours, strlen(ours), name, len);
}

int st_ctl_kex_negotiate(const struct st_ctl_config *cfg, const uint8_t *p, size_t len,
			 int initial, struct st_kex_neg *out, const char **what)
{
	struct st_kexinit_lists kl;
	const char *l[ST_KEXINIT_NLISTS], *nm;
	size_t ll[ST_KEXINIT_NLISTS], nl;
	char hk[ST_CTL_ALGLIST_MAX];
	struct st_kex_neg n;
	int follows, r;

	memset(&n, 0, sizeof(n));
	*what = "kexinit";
	if ((r = st_kexinit_parse(p, len, &kl)) != 0)
		return r;
	for (int i = 0; i < ST_KEXINIT_NLISTS; i++) {
		l[i] = kl.l[i];
		ll[i] = kl.len[i];
	}
	follows = kl.first_kex_follows;

	*what = "kex";
	if ((r = pick(l[0], ll[0], cfg->kex_algs, &nm, &nl)) != 0)
		return r;
	if ((n.kex = st_ctl_kex_method_by_name(nm, nl)) == NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	/*
	 * RFC 4253 §7: the client's guess is right only when its first kex and
	 * host key algorithms are also our first ones (OpenSSH's
	 * proposals_match()). Its first name being the one negotiated is not
	 * enough: dropbear guesses curve25519-sha256, finds our first is
	 * another, and sends the KEX_ECDH_INIT again.
	 */
	if (!same_first(l[0], ll[0], cfg->kex_algs))
		n.guess_wrong = 1;

	*what = "host key";
	if ((r = hostkey_list(cfg, hk, sizeof(hk))) != 0)
		return ST_ERR_ALG_UNSUPPORTED;
	if ((r = pick(l[1], ll[1], hk, &nm, &nl)) != 0)
		return r;
	int hki, cert;
	if ((hki = hostkey_for(cfg, nm, nl, &n.hostkey_alg, &cert)) < 0)
		return ST_ERR_ALG_UNSUPPORTED;
	n.hostkey = cfg->hostkeys[hki];
	if (cert) {
		n.hostkey_cert = cfg->hostcerts[hki];
		n.hostkey_cert_len = cfg->hostcert_len[hki];
	}
	if (!same_first(l[1], ll[1], hk))
		n.guess_wrong = 1;

	*what = "cipher";
	if ((r = pick(l[2], ll[2], cfg->ciphers, &nm, &nl)) != 0)
		return r;
	n.cipher_c2s = st_cipher_by_name(nm, nl);
	if ((r = pick(l[3], ll[3], cfg->ciphers, &nm, &nl)) != 0)
		return r;
	n.cipher_s2c = st_cipher_by_name(nm, nl);
	if (n.cipher_c2s == NULL || n.cipher_s2c == NULL)
		return ST_ERR_ALG_UNSUPPORTED;

	*what = "mac";
	if (!st_cipher_is_aead(n.cipher_c2s)) {
		if ((r = pick(l[4], ll[4], cfg->macs, &nm, &nl)) != 0)
			return r;
		if ((n.mac_c2s = st_mac_by_name(nm, nl)) == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
	}
	if (!st_cipher_is_aead(n.cipher_s2c)) {
		if ((r = pick(l[5], ll[5], cfg->macs, &nm, &nl)) != 0)
			return r;
		if ((n.mac_s2c = st_mac_by_name(nm, nl)) == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
	}

	*what = "compression";
	if (!st_namelist_has(l[6], ll[6], "none", 4) || !st_namelist_has(l[7], ll[7], "none", 4))
		return ST_ERR_ALG_UNSUPPORTED;

	if (initial) {
		n.strict = (uint8_t)st_namelist_has(l[0], ll[0], ST_KEX_STRICT_C,
						    strlen(ST_KEX_STRICT_C));
		n.ext_info_c = (uint8_t)st_namelist_has(l[0], ll[0], ST_EXT_INFO_C,
							strlen(ST_EXT_INFO_C));
	}
	/* A guess is only wrong if the client sent one. */
	if (!follows)
		n.guess_wrong = 0;
	*out = n;
	return ST_OK;
}

int st_ctl_kex_reply(const struct st_kex_neg *neg, const struct st_kex_transcript *t,
		     const uint8_t *init, size_t len, const uint8_t *sid, size_t sid_len,
		     struct st_buf *reply, struct st_kex_result *res)
{
	struct st_buf b, k, ks, sig;
	struct st_kex_result rs;
	const uint8_t *q_c;
	size_t q_c_len, q_s_len, mark = reply->len;
	uint8_t q_s[ST_KEX_PUBLIC_MAX], type;
	int r;

	memset(&rs, 0, sizeof(rs));
	memset(&k, 0, sizeof(k));
	memset(&ks, 0, sizeof(ks));
	memset(&sig, 0, sizeof(sig));

	st_buf_from(&b, init, len);
	if ((r = st_buf_get_u8(&b, &type)) != 0)
		goto out;
	if (type != SSH_MSG_KEX_ECDH_INIT) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = st_kex_get_public(&b, neg->kex, &q_c, &q_c_len)) != 0 ||
	    (r = st_buf_end(&b)) != 0)
		goto out;

	if ((r = st_buf_alloc(&k, 64, ST_KEX_SECRET_ENC_MAX)) != 0 ||
	    (r = st_buf_alloc(&ks, 256, ST_KEY_BLOB_MAX + ST_CTL_HOSTCERT_MAX)) != 0 ||
	    (r = st_buf_alloc(&sig, 256, 8192)) != 0)
		goto out;
	/* DH: a fresh keypair; hybrid KEM: encapsulation to Q_C. Both give Q_S and K. */
	if ((r = st_kex_server_respond(neg->kex->group, q_c, q_c_len, q_s, sizeof(q_s), &q_s_len,
				       &k)) != 0 ||
	    (r = st_ctl_kex_hostkey_blob(neg, &ks)) != 0)
		goto out;

	rs.h_len = st_hash_len(neg->kex->hash);
	if ((r = st_kex_exchange_hash(neg->kex, t, st_buf_ptr(&ks), st_buf_avail(&ks), q_c, q_c_len,
				      q_s, q_s_len, st_buf_ptr(&k), st_buf_avail(&k), rs.h)) != 0)
		goto out;
	if (sid_len == 0) {
		sid = rs.h;
		sid_len = rs.h_len;
	}
	if ((r = st_sig_sign(neg->hostkey, neg->hostkey_alg, rs.h, rs.h_len, &sig)) != 0)
		goto out;

	if ((r = st_kex_derive_keys(neg->kex->hash, st_buf_ptr(&k), st_buf_avail(&k), rs.h,
				    rs.h_len, sid, sid_len, neg->cipher_c2s, neg->mac_c2s,
				    neg->cipher_s2c, neg->mac_s2c, &rs.rx, &rs.tx)) != 0)
		goto out;

	if ((r = st_buf_put_u8(reply, SSH_MSG_KEX_ECDH_REPLY)) != 0 ||
	    (r = st_buf_put_stringb(reply, &ks)) != 0 ||
	    (r = st_kex_put_public(reply, neg->kex, q_s, q_s_len)) != 0 ||
	    (r = st_buf_put_stringb(reply, &sig)) != 0) {
		reply->len = mark;
		goto out;
	}
	*res = rs;
	r = ST_OK;
out:
	st_wipe(&rs, sizeof(rs));
	st_buf_free(&k);
	st_buf_free(&ks);
	st_buf_free(&sig);
	return r;
}
