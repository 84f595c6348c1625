#include "control/client/sshc_auth.h"

#include <string.h>

#include "control/config.h"
#include "control/userauth.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"

static enum st_sig_alg natural_alg(const struct st_key *k)
{
	switch (st_key_type(k)) {
	case ST_KEY_ED25519:
		return ST_SIG_ED25519;
	case ST_KEY_ECDSA_P256:
		return ST_SIG_ECDSA_P256;
	default:
		return ST_SIG_RSA_SHA256;
	}
}

enum st_sig_alg st_sshc_auth_alg(const struct st_key *key, const char *server_sig_algs)
{
	static const char r512[] = "rsa-sha2-512";
	size_t n;

	if (st_key_type(key) != ST_KEY_RSA || server_sig_algs == NULL ||
	    (n = strlen(server_sig_algs)) == 0)
		return natural_alg(key);
	if (st_namelist_has(server_sig_algs, n, r512, sizeof(r512) - 1))
		return ST_SIG_RSA_SHA512;
	return ST_SIG_RSA_SHA256;
}

int st_sshc_auth_pubkey_build(const struct st_sshc_pubkey_req *q, struct st_buf *out)
{
	struct st_buf blob, data, sig;
	const char *method = q->hostkey != NULL ? ST_USERAUTH_METHOD_HOSTBOUND
						: ST_USERAUTH_METHOD_PUBKEY;
	const uint8_t *bp;
	size_t bl, mark = out->len;
	enum st_sig_alg sa;
	int r;

	memset(&blob, 0, sizeof(blob));
	memset(&data, 0, sizeof(data));
	memset(&sig, 0, sizeof(sig));
	/* A -cert-v01 name signs with its base algorithm (PROTOCOL.certkeys). */
	if ((st_sig_alg_from_name(q->alg, strlen(q->alg), &sa) != 0 &&
	     st_sig_alg_from_cert_name(q->alg, strlen(q->alg), &sa) != 0) ||
	    !st_sig_alg_matches_key(sa, q->key))
		sa = natural_alg(q->key);
	if ((r = st_buf_alloc(&blob, 256, ST_KEY_BLOB_MAX)) != 0 ||
	    (r = st_buf_alloc(&data, 512, 65536)) != 0 || (r = st_buf_alloc(&sig, 256, 8192)) != 0)
		goto out;
	if (q->blob != NULL) {
		bp = q->blob;
		bl = q->blob_len;
	} else {
		if ((r = st_key_to_blob(q->key, &blob)) != 0)
			goto out;
		bp = st_buf_ptr(&blob);
		bl = st_buf_avail(&blob);
	}
	if ((r = st_buf_put_u8(out, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = st_buf_put_cstring(out, q->user)) != 0 ||
	    (r = st_buf_put_cstring(out, "ssh-connection")) != 0 ||
	    (r = st_buf_put_cstring(out, method)) != 0 || (r = st_buf_put_bool(out, q->sign)) != 0 ||
	    (r = st_buf_put_cstring(out, q->alg)) != 0 || (r = st_buf_put_string(out, bp, bl)) != 0)
		goto out;
	if (q->hostkey != NULL && (r = st_buf_put_string(out, q->hostkey, q->hostkey_len)) != 0)
		goto out;
	if (!q->sign)
		goto out;
	if ((r = st_userauth_signed_data(&data, q->sid, q->sid_len, q->user, strlen(q->user),
					 "ssh-connection", method, q->alg, strlen(q->alg), bp, bl,
					 q->hostkey, q->hostkey_len)) != 0 ||
	    (r = st_sig_sign(q->key, sa, st_buf_ptr(&data), st_buf_avail(&data), &sig)) != 0)
		goto out;
	r = st_buf_put_stringb(out, &sig);
out:
	if (r != ST_OK)
		out->len = mark;
	st_buf_free(&blob);
	st_buf_free(&data);
	st_buf_free(&sig);
	return r;
}
