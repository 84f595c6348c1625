#include "control/userauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/conn_internal.h"
#include "control/revoked.h"
#include "control/usercert.h"
#include "crypto/cert.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/sig.h"
#include "dataplane/ssh/msg.h"

int st_userauth_signed_data(struct st_buf *out, const uint8_t *sid, size_t sid_len,
			    const char *user, size_t user_len, const char *service,
			    const char *method, const char *alg, size_t alg_len,
			    const uint8_t *blob, size_t blob_len, const uint8_t *hostkey,
			    size_t hostkey_len)
{
	size_t mark = out->len;
	int r;

	if ((r = st_buf_put_string(out, sid, sid_len)) != 0 ||
	    (r = st_buf_put_u8(out, SSH_MSG_USERAUTH_REQUEST)) != 0 ||
	    (r = st_buf_put_string(out, user, user_len)) != 0 ||
	    (r = st_buf_put_cstring(out, service)) != 0 ||
	    (r = st_buf_put_cstring(out, method)) != 0 || (r = st_buf_put_bool(out, 1)) != 0 ||
	    (r = st_buf_put_string(out, alg, alg_len)) != 0 ||
	    (r = st_buf_put_string(out, blob, blob_len)) != 0 ||
	    (hostkey != NULL && (r = st_buf_put_string(out, hostkey, hostkey_len)) != 0)) {
		out->len = mark;
		return r;
	}
	return ST_OK;
}

int st_userauth_name_ok(const char *user, size_t len)
{
	if (len == 0 || len >= ST_USER_MAX || user[0] == '-' || user[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = user[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
		      ch == '@' || ch == '+'))
			return 0;
	}
	return 1;
}

int ctl_h_service_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b, out;
	const uint8_t *name;
	size_t nl;
	uint8_t pl[64];
	int r;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_string(&b, &name, &nl)) != 0 || (r = st_buf_end(&b)) != 0)
		return r;
	if (nl != 12 || memcmp(name, "ssh-userauth", 12) != 0)
		return ctl_fail(c, ST_CTL_DISC_SERVICE, SSH_DISCONNECT_SERVICE_NOT_AVAILABLE,
				ST_CLOSE_PROTOCOL, "service not available");
	st_buf_wrap(&out, pl, sizeof(pl));
	if ((r = st_buf_put_u8(&out, SSH_MSG_SERVICE_ACCEPT)) != 0 ||
	    (r = st_buf_put_cstring(&out, "ssh-userauth")) != 0)
		return r;
	c->sv = SV_USERAUTH;
	return ctl_send(c, &out);
}

static int send_failure(struct st_ctl_conn *c)
{
	uint8_t pl[32];
	struct st_buf b;
	int r;

	st_buf_wrap(&b, pl, sizeof(pl));
	if ((r = st_buf_put_u8(&b, SSH_MSG_USERAUTH_FAILURE)) != 0 ||
	    (r = st_buf_put_cstring(&b, "publickey")) != 0 || (r = st_buf_put_bool(&b, 0)) != 0)
		return r;
	return ctl_send(c, &b);
}

/* One failed attempt: counts it, disconnects at MaxAuthTries, else FAILURE. */
static int auth_failed(struct st_ctl_conn *c)
{
	c->failures++;
	ctl_count(c, ST_CTL_AUTH_FAILED);
	if (c->failures >= c->cfg->max_auth_tries) {
		/* sshd's words: fail2ban's stock sshd filter counts this line. */
		ctl_logf(c, ST_LOG_ERR,
			 "error: maximum authentication attempts exceeded for %s from %s port %u "
			 "ssh2 [preauth]", c->user, c->peer_ip, c->peer_port);
		return ctl_fail(c, ST_CTL_DISC_AUTH_TRIES,
				SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, ST_CLOSE_AUTH_FAILED,
				"Too many authentication failures");
	}
	return send_failure(c);
}

static void ak_log(void *ctx, const char *msg)
{
	ctl_logf(ctx, ST_LOG_INFO, "%s", msg);
}

/* ST_OK with *opts when the user's authorized_keys grants key. */
static int lookup(struct st_ctl_conn *c, const struct st_key *key, struct st_authkey_opts *opts)
{
	const char *pat = c->cfg->authorized_keys_file;
	char path[ST_CTL_PATH_MAX + 256];
	int r;

	if (!st_userauth_name_ok((const char *)c->user_raw, c->user_raw_len))
		return ST_ERR_NOT_FOUND;
	if (pat[0] == '/' && strstr(pat, "%h") == NULL)
		r = st_authkeys_expand_path_home(pat, c->user, "/", path, sizeof(path));
	else
		r = st_authkeys_expand_path(pat, c->user, path, sizeof(path));
	if (r != 0)
		return ST_ERR_NOT_FOUND;
	char why[300];
	if (st_revoked_check(c->cfg->revoked_keys, key, NULL, why, sizeof(why))) {
		ctl_logf(c, ST_LOG_INFO, "%s", why);
		ctl_count(c, ST_CTL_AUTH_KEY_REVOKED);
		return ST_ERR_NOT_FOUND;
	}
	r = st_authkeys_lookup(path, key, c->peer_ip, NULL, time(NULL), opts, ak_log, c);
	if (r == ST_ERR_SYSTEM)
		ctl_logf(c, errno == ENOENT ? ST_LOG_DEBUG : ST_LOG_INFO, "Could not open %s: %s",
			 path, strerror(errno));
	else if (r != 0 && r != ST_ERR_NOT_FOUND)
		ctl_logf(c, ST_LOG_INFO, "Could not use %s: %s", path, st_err_str(r));
	if (r == 0)
		return ST_OK;
	/* AuthorizedKeysCommand (conn_akc.c): ST_OK, ST_ERR_NOT_FOUND or ST_ERR_AGAIN (runs). */
	return ctl_akc_lookup(c, key, opts);
}

static void log_key(struct st_ctl_conn *c, const char *what, const struct st_key *key)
{
	char fp[ST_KEY_FP_SIZE];

	if (st_key_fingerprint_sha256(key, fp, sizeof(fp)) != 0)
		snprintf(fp, sizeof(fp), "?");
	ctl_logf(c, ST_LOG_INFO, "%s publickey for %s from %s port %u ssh2: %s %s", what, c->user,
		 c->peer_ip, c->peer_port, st_key_type_label(key), fp);
}

/* sshd's line for a certificate: "... ssh2: ED25519-CERT SHA256:... ID id (serial N) CA ED25519 SHA256:..." */
static void log_cert(struct st_ctl_conn *c, const char *what, const struct st_cert *cert)
{
	char fp[ST_KEY_FP_SIZE], cafp[ST_KEY_FP_SIZE], id[201];

	if (st_key_fingerprint_sha256(cert->key, fp, sizeof(fp)) != 0)
		snprintf(fp, sizeof(fp), "?");
	if (st_key_fingerprint_sha256(cert->ca, cafp, sizeof(cafp)) != 0)
		snprintf(cafp, sizeof(cafp), "?");
	st_cert_printable(cert->key_id, strlen(cert->key_id), id, sizeof(id));
	ctl_logf(c, ST_LOG_INFO,
		 "%s publickey for %s from %s port %u ssh2: %s-CERT %s ID %s (serial %llu) CA "
		 "%s %s",
		 what, c->user, c->peer_ip, c->peer_port, st_key_type_label(cert->key), fp, id, (unsigned long long)cert->serial, st_key_type_label(cert->ca), cafp);
}

static void uc_log(void *ctx, const char *msg)
{
	ctl_logf(ctx, ST_LOG_INFO, "%s", msg);
}

/* ST_OK with *opts when the certificate logs this user in; counts and logs a refusal. */
static int cert_lookup(struct st_ctl_conn *c, const struct st_cert *cert,
		       struct st_authkey_opts *opts)
{
	struct st_usercert_req q;
	enum st_ctl_counter why = ST_CTL_AUTH_CERT_CA_UNTRUSTED;
	int r;

	if (!st_userauth_name_ok((const char *)c->user_raw, c->user_raw_len))
		return ST_ERR_NOT_FOUND;
	q.cfg = c->cfg;
	q.user = c->user;
	q.peer_ip = c->peer_ip;
	q.now = (uint64_t)time(NULL);
	q.log = uc_log;
	q.log_ctx = c;
	r = st_usercert_authorize(&q, cert, opts, &why);
	if (r == ST_ERR_NOT_FOUND)
		ctl_count(c, why);
	return r;
}

static int auth_success(struct st_ctl_conn *c, const struct st_key *key,
			const struct st_cert *cert, struct st_authkey_opts *opts)
{
	uint8_t ok = SSH_MSG_USERAUTH_SUCCESS;
	struct st_plane_msg *m;
	int r;

	if (cert != NULL)
		log_cert(c, "Accepted", cert);
	else
		log_key(c, "Accepted", key);
	if (st_key_fingerprint_sha256(key, c->key_fp, sizeof(c->key_fp)) != 0)
		c->key_fp[0] = '\0';
	c->cert_fp[0] = c->cert_id[0] = '\0';
	if (cert != NULL) {
		/* For backends' PROXY v2 TLVs (conn_proxy.c): which certificate, and its key id. */
		if (st_blob_fingerprint_sha256(cert->blob, cert->blob_len, c->cert_fp,
					       sizeof(c->cert_fp)) != 0)
			c->cert_fp[0] = '\0';
		st_cert_printable(cert->key_id, strlen(cert->key_id), c->cert_id, sizeof(c->cert_id));
	}
	ctl_count(c, ST_CTL_AUTH_ACCEPTED);
	st_authkey_opts_free(&c->opts);
	c->opts = *opts;
	memset(opts, 0, sizeof(*opts));
	c->authed = 1;
	c->sv = SV_CONNECTION;
	if ((r = ctl_emit(c, ctl_msg(c, ST_DOWN_SEND, &ok, 1))) != 0)
		return r;
	if ((m = ctl_msg(c, ST_DOWN_AUTHED, NULL, 0)) == NULL)
		return ST_ERR_ALLOC;
	snprintf(m->u.authed.user, sizeof(m->u.authed.user), "%s", c->user);
	return ctl_emit(c, m);
}

static int pk_ok(struct st_ctl_conn *c, const uint8_t *alg, size_t alg_len, const uint8_t *blob,
		 size_t blob_len)
{
	struct st_buf b;
	int r;

	if ((r = st_buf_alloc(&b, 64 + blob_len, 64 + alg_len + blob_len + 16)) != 0)
		return r;
	if ((r = st_buf_put_u8(&b, SSH_MSG_USERAUTH_PK_OK)) == 0 &&
	    (r = st_buf_put_string(&b, alg, alg_len)) == 0 &&
	    (r = st_buf_put_string(&b, blob, blob_len)) == 0)
		r = ctl_send(c, &b);
	st_buf_free(&b);
	return r;
}

static int userauth_publickey(struct st_ctl_conn *c, struct st_buf *b, int hostbound,
			      const char *service, const uint8_t *uname, size_t ulen)
{
	const uint8_t *alg, *blob, *hk = NULL, *sig = NULL;
	size_t alg_len, blob_len, hk_len = 0, sig_len = 0;
	struct st_authkey_opts opts;
	struct st_key *key = NULL; /* a plain key's, owned */
	const struct st_key *ukey; /* the key that signs: key, or cert->key */
	struct st_cert *cert = NULL;
	struct st_buf data;
	enum st_sig_alg sa;
	int has_sig, is_cert = 0, r;

	memset(&opts, 0, sizeof(opts));
	memset(&data, 0, sizeof(data));
	if ((r = st_buf_get_bool(b, &has_sig)) != 0 ||
	    (r = st_buf_get_string(b, &alg, &alg_len)) != 0 ||
	    (r = st_buf_get_string(b, &blob, &blob_len)) != 0 ||
	    (hostbound && (r = st_buf_get_string(b, &hk, &hk_len)) != 0) ||
	    (has_sig && (r = st_buf_get_string(b, &sig, &sig_len)) != 0) ||
	    (r = st_buf_end(b)) != 0)
		return r;

	/* Deny by default: every check below must pass to reach success. */
	if (st_sig_alg_from_cert_name((const char *)alg, alg_len, &sa) == 0 &&
	    st_namelist_has(ST_CTL_PUBKEY_CERT_ALGS, strlen(ST_CTL_PUBKEY_CERT_ALGS),
			    (const char *)alg, alg_len))
		is_cert = 1;
	else if (st_sig_alg_from_name((const char *)alg, alg_len, &sa) != 0 ||
		 !st_namelist_has(ST_CTL_PUBKEY_ALGS, strlen(ST_CTL_PUBKEY_ALGS), (const char *)alg,
				  alg_len)) {
		ctl_logf(c, ST_LOG_INFO, "userauth_pubkey: signature algorithm %.*s not allowed "
			 "for %s [preauth]", (int)(alg_len > 64 ? 64 : alg_len), (const char *)alg,
			 c->user);
		r = auth_failed(c);
		goto out;
	}
	/*
	 * An RSA blob may be named rsa-sha2-256/512 (dev-tunnels-ssh; OpenSSH
	 * takes it, see st_key_from_blob). That is harmless: the key is matched
	 * against authorized_keys by value, and PK_OK and the signed data use
	 * the blob exactly as the client sent it.
	 */
	if (is_cert) {
		int cr = st_cert_parse(blob, blob_len, &cert);
		if (cr != ST_OK) {
			ctl_logf(c, ST_LOG_INFO, "userauth_pubkey: certificate for %s refused: %s "
				 "[preauth]", c->user, st_err_str(cr));
			ctl_count(c, cr == ST_ERR_ALG_UNSUPPORTED ? ST_CTL_AUTH_CERT_CA_ALG
								  : ST_CTL_AUTH_CERT_INVALID);
			r = auth_failed(c);
			goto out;
		}
		ukey = cert->key;
	} else if (blob_len > ST_KEY_BLOB_MAX || st_key_from_blob(blob, blob_len, &key) != 0) {
		ctl_logf(c, ST_LOG_INFO, "userauth_pubkey: cannot decode key for %s [preauth]",
			 c->user);
		r = auth_failed(c);
		goto out;
	} else {
		ukey = key;
	}
	if (!st_sig_alg_matches_key(sa, ukey)) {
		ctl_logf(c, ST_LOG_INFO, "userauth_pubkey: key type %s does not match "
			 "signature algorithm %s [preauth]", st_key_type_name(ukey),
			 st_sig_alg_name(sa));
		r = auth_failed(c);
		goto out;
	}
	uint8_t hk_sha[32];
	if (hostbound && (st_hash(ST_HASH_SHA256, hk, hk_len, hk_sha) != ST_OK ||
			  memcmp(hk_sha, c->hostkey_sha256, sizeof(hk_sha)) != 0)) {
		ctl_logf(c, ST_LOG_INFO, "userauth_pubkey: host key in hostbound request does "
			 "not match for %s [preauth]", c->user);
		r = auth_failed(c);
		goto out;
	}
	r = is_cert ? cert_lookup(c, cert, &opts) : lookup(c, key, &opts);
	if (r != 0) {
		if (r == ST_ERR_AGAIN)
			goto out; /* AuthorizedKeysCommand running: this request is replayed */
		if (is_cert)
			log_cert(c, "Failed", cert);
		else
			log_key(c, "Failed", key);
		r = auth_failed(c);
		goto out;
	}
	if (!has_sig) {
		r = pk_ok(c, alg, alg_len, blob, blob_len);
		goto out;
	}
	if ((r = st_buf_alloc(&data, 256 + blob_len + hk_len, 64u * 1024u)) != 0 ||
	    (r = st_userauth_signed_data(&data, c->session_id, c->sid_len, (const char *)uname,
					 ulen, service,
					 hostbound ? ST_USERAUTH_METHOD_HOSTBOUND
						   : ST_USERAUTH_METHOD_PUBKEY,
					 (const char *)alg, alg_len, blob, blob_len, hk, hk_len)) != 0)
		goto out;
	if (st_sig_verify(ukey, sa, sig, sig_len, st_buf_ptr(&data), st_buf_avail(&data)) != 0) {
		if (is_cert)
			log_cert(c, "Failed", cert);
		else
			log_key(c, "Failed", key);
		r = auth_failed(c);
		goto out;
	}
	r = auth_success(c, ukey, cert, &opts);
out:
	st_authkey_opts_free(&opts);
	st_key_free(key);
	st_cert_free(cert);
	st_buf_free(&data);
	return r;
}

static void printable_copy(char *dst, size_t dstsz, const uint8_t *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < dstsz; i++)
		dst[i] = (s[i] >= 0x20 && s[i] <= 0x7e) ? (char)s[i] : '?';
	dst[i] = '\0';
}

int ctl_h_userauth_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	const uint8_t *user, *svc, *method;
	size_t ul, sl, ml;
	char service[32];
	int r;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_string(&b, &user, &ul)) != 0 ||
	    (r = st_buf_get_string(&b, &svc, &sl)) != 0 ||
	    (r = st_buf_get_string(&b, &method, &ml)) != 0)
		return r;
	if (++c->requests > ST_USERAUTH_REQUESTS_MAX)
		return ctl_fail(c, ST_CTL_DISC_AUTH_TRIES,
				SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, ST_CLOSE_AUTH_FAILED,
				"Too many authentication requests");
	if (ul > ST_USERAUTH_NAME_WIRE_MAX)
		return ctl_fail(c, ST_CTL_DISC_MALFORMED, SSH_DISCONNECT_ILLEGAL_USER_NAME,
				ST_CLOSE_PROTOCOL, "user name too long");
	if (sl != 14 || memcmp(svc, "ssh-connection", 14) != 0)
		return ctl_fail(c, ST_CTL_DISC_SERVICE, SSH_DISCONNECT_SERVICE_NOT_AVAILABLE,
				ST_CLOSE_PROTOCOL, "service not available");
	snprintf(service, sizeof(service), "ssh-connection");
	if (c->user_set) {
		if (ul != c->user_raw_len || memcmp(user, c->user_raw, ul) != 0)
			return ctl_fail(c, ST_CTL_DISC_AUTH_CHANGE, SSH_DISCONNECT_PROTOCOL_ERROR,
					ST_CLOSE_PROTOCOL,
					"Change of username or service not allowed");
	} else {
		memcpy(c->user_raw, user, ul);
		c->user_raw_len = ul;
		printable_copy(c->user, sizeof(c->user), user, ul);
		c->user_set = 1;
	}

	if (ml == 4 && memcmp(method, "none", 4) == 0) {
		if ((r = st_buf_end(&b)) != 0)
			return r;
		return send_failure(c);
	}
	if (ml == strlen(ST_USERAUTH_METHOD_PUBKEY) &&
	    memcmp(method, ST_USERAUTH_METHOD_PUBKEY, ml) == 0)
		return userauth_publickey(c, &b, 0, service, user, ul);
	if (ml == strlen(ST_USERAUTH_METHOD_HOSTBOUND) &&
	    memcmp(method, ST_USERAUTH_METHOD_HOSTBOUND, ml) == 0)
		return userauth_publickey(c, &b, 1, service, user, ul);
	/* password, keyboard-interactive, hostbased, ...: not offered. */
	return auth_failed(c);
}
