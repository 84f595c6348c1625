/*
 * User certificate policy (control/usercert.h). No state of its own: called
 * by the control thread that owns the session, with everything it needs in
 * the request.
 */
#include "control/usercert.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/config.h"
#include "control/match.h"
#include "control/readfile.h"
#include "control/revoked.h"
#include "crypto/cert.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/sig.h"

#define CA_FILE_MAX (1024u * 1024u)
#define LINE_MAX_ 8192u

static void logf_(const struct st_usercert_req *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(const struct st_usercert_req *q, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (q->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->log(q->log_ctx, msg);
}

/* Calls fn for each line of text (without CR LF); stops when fn returns nonzero. */
static int each_line(const char *text, size_t len, int (*fn)(void *, const char *, size_t, size_t),
		     void *arg)
{
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;
		int r;

		pos += llen + (nl != NULL);
		lineno++;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if ((r = fn(arg, line, llen, lineno)) != 0)
			return r;
	}
	return 0;
}

struct ca_scan {
	const struct st_key *ca;
	int found;
};

static int ca_line(void *arg, const char *line, size_t len, size_t lineno)
{
	struct ca_scan *s = arg;
	struct st_key *k = NULL;
	char buf[LINE_MAX_ + 1];

	(void)lineno;
	if (len > LINE_MAX_ || memchr(line, '\0', len) != NULL)
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	size_t i = strspn(buf, " \t");
	if (buf[i] == '\0' || buf[i] == '#')
		return 0;
	if (st_key_parse_public_line(buf + i, &k, NULL, 0) != ST_OK)
		return 0;
	s->found = st_key_equal_public(k, s->ca);
	st_key_free(k);
	return s->found;
}

/* 1 when the CA is listed in TrustedUserCAKeys, 0 when not (or unreadable: logged). */
static int trusted_ca(const struct st_usercert_req *q, const struct st_key *ca)
{
	struct ca_scan s = { ca, 0 };
	char *text = NULL;
	size_t len = 0;
	int r;

	if (q->cfg->trusted_user_ca_keys[0] == '\0')
		return 0;
	r = st_read_file(q->cfg->trusted_user_ca_keys, CA_FILE_MAX, ST_READFILE_REGULAR_ONLY, &text,
			 &len);
	if (r != ST_OK) {
		logf_(q, "TrustedUserCAKeys %s: %s", q->cfg->trusted_user_ca_keys,
		      r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return 0;
	}
	each_line(text, len, ca_line, &s);
	free(text);
	return s.found;
}

/* 1 when one of cert's principals is an element of the comma list. */
static int principal_in_list(const struct st_cert *cert, const char *list)
{
	char p[ST_CERT_NAME_MAX + 1];

	for (unsigned i = 0; i < cert->n_principals; i++) {
		if (st_cert_principal(cert, i, p, sizeof(p)) != ST_OK)
			continue;
		if (st_namelist_has(list, strlen(list), p, strlen(p)))
			return 1;
	}
	return 0;
}

struct princ_scan {
	const struct st_usercert_req *q;
	const struct st_cert *cert;
	const char *path;
	struct st_authkey_opts *opts;
	int found;
};

/* A principals line: "[options] principal". */
static int princ_line(void *arg, const char *line, size_t len, size_t lineno)
{
	struct princ_scan *s = arg;
	char buf[LINE_MAX_ + 1], reason[ST_AUTHKEYS_REASON_SIZE];
	struct st_authkey_opts o;

	if (len > LINE_MAX_ || memchr(line, '\0', len) != NULL)
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	char *p = buf + strspn(buf, " \t"), *e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (*p == '\0' || *p == '#')
		return 0;
	char *name = p;
	memset(&o, 0, sizeof(o));
	char *sp = strrchr(p, ' '), *tab = strrchr(p, '\t');
	if (tab != NULL && (sp == NULL || tab > sp))
		sp = tab;
	if (sp != NULL) {
		name = sp + 1;
		char *oe = sp;
		while (oe > p && (oe[-1] == ' ' || oe[-1] == '\t'))
			oe--;
		if (st_authkeys_parse_options(p, (size_t)(oe - p), &o, reason, sizeof(reason)) !=
		    ST_OK) {
			logf_(s->q, "%.200s:%zu: line skipped: %s", s->path, lineno, reason);
			return 0;
		}
	}
	if (!st_cert_has_principal(s->cert, name)) {
		st_authkey_opts_free(&o);
		return 0;
	}
	*s->opts = o;
	s->found = 1;
	return 1;
}

/* 1 when AuthorizedPrincipalsFile lists one of the principals (*opts its line's options). */
static int principals_file_ok(const struct st_usercert_req *q, const struct st_cert *cert,
			      struct st_authkey_opts *opts)
{
	const char *pat = q->cfg->authorized_principals_file;
	char path[ST_CTL_PATH_MAX + 256], *text = NULL;
	size_t len = 0;
	int r;

	if (pat[0] == '/' && strstr(pat, "%h") == NULL)
		r = st_authkeys_expand_path_home(pat, q->user, "/", path, sizeof(path));
	else
		r = st_authkeys_expand_path(pat, q->user, path, sizeof(path));
	if (r != ST_OK)
		return 0;
	if ((r = st_read_file(path, ST_PRINCIPALS_FILE_MAX, ST_READFILE_REGULAR_ONLY, &text, &len)) !=
	    ST_OK) {
		logf_(q, "AuthorizedPrincipalsFile %.200s: %s", path,
		      r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return 0;
	}
	struct princ_scan s = { q, cert, path, opts, 0 };
	each_line(text, len, princ_line, &s);
	free(text);
	return s.found;
}

int st_usercert_source_ok(const char *ip, const char *list, size_t list_len)
{
	size_t i = 0;
	int any = 0;

	if (list_len == 0)
		return -1;
	while (i <= list_len) {
		size_t j = i;
		char entry[64];
		int m = 0;

		while (j < list_len && list[j] != ',')
			j++;
		if (j == i || j - i >= sizeof(entry))
			return -1;
		memcpy(entry, list + i, j - i);
		entry[j - i] = '\0';
		if (st_match_cidr(ip, entry, &m) != ST_OK)
			return -1;
		any |= m;
		i = j + 1;
	}
	return any;
}

/* The certificate's critical options and extensions onto *o. */
static int apply_cert_options(const struct st_usercert_req *q, const struct st_cert *cert,
			      struct st_authkey_opts *o, enum st_ctl_counter *why)
{
	size_t pos = 0, nl, dl;
	const char *nm;
	const uint8_t *d;

	while (st_cert_option_next(cert->critical, cert->critical_len, &pos, &nm, &nl, &d, &dl) ==
	       ST_OK) {
		const uint8_t *v;
		size_t vl;
		if (nl == 13 && memcmp(nm, "force-command", 13) == 0) {
			if (st_cert_option_string(cert->critical, cert->critical_len, "force-command",
						  &v, &vl) != 1 ||
			    memchr(v, '\0', vl) != NULL) {
				logf_(q, "certificate force-command malformed");
				*why = ST_CTL_AUTH_CERT_OPTION;
				return ST_ERR_NOT_FOUND;
			}
			if (o->command != NULL &&
			    (strlen(o->command) != vl || memcmp(o->command, v, vl) != 0)) {
				logf_(q, "certificate force-command and command= differ");
				*why = ST_CTL_AUTH_CERT_COMMAND;
				return ST_ERR_NOT_FOUND;
			}
			if (o->command == NULL) {
				if ((o->command = malloc(vl + 1)) == NULL)
					return ST_ERR_ALLOC;
				memcpy(o->command, v, vl);
				o->command[vl] = '\0';
			}
		} else if (nl == 14 && memcmp(nm, "source-address", 14) == 0) {
			int ok = -1;
			if (st_cert_option_string(cert->critical, cert->critical_len,
						  "source-address", &v, &vl) == 1)
				ok = st_usercert_source_ok(q->peer_ip, (const char *)v, vl);
			if (ok != 1) {
				logf_(q, "certificate source-address %s %s",
				      ok < 0 ? "malformed for" : "does not allow", q->peer_ip);
				*why = ST_CTL_AUTH_CERT_SOURCE;
				return ST_ERR_NOT_FOUND;
			}
		} else {
			char on[65];
			st_cert_printable(nm, nl, on, sizeof(on));
			logf_(q, "certificate has unsupported critical option \"%s\"", on);
			*why = ST_CTL_AUTH_CERT_OPTION;
			return ST_ERR_NOT_FOUND;
		}
	}
	/* Extensions permit; their absence restricts. */
	static const struct {
		const char *ext;
		size_t off;
	} perms[] = {
		{ "permit-port-forwarding", offsetof(struct st_authkey_opts, no_port_forwarding) },
		{ "permit-pty", offsetof(struct st_authkey_opts, no_pty) },
		{ "permit-agent-forwarding", offsetof(struct st_authkey_opts, no_agent_forwarding) },
		{ "permit-X11-forwarding", offsetof(struct st_authkey_opts, no_x11_forwarding) },
		{ "permit-user-rc", offsetof(struct st_authkey_opts, no_user_rc) },
	};
	for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
		if (!st_cert_has_option(cert->extensions, cert->extensions_len, perms[i].ext))
			*(int *)(void *)((char *)o + perms[i].off) = 1;
	return ST_OK;
}

static void ak_log(void *ctx, const char *msg)
{
	const struct st_usercert_req *q = ctx;
	if (q->log != NULL)
		q->log(q->log_ctx, msg);
}

int st_usercert_authorize(const struct st_usercert_req *q, const struct st_cert *cert,
			  struct st_authkey_opts *opts, enum st_ctl_counter *why)
{
	struct st_authkey_opts o;
	char id[201];
	int r;

	memset(&o, 0, sizeof(o));
	st_cert_printable(cert->key_id, strlen(cert->key_id), id, sizeof(id));
	if (cert->type != ST_CERT_USER) {
		logf_(q, "certificate for %s is not a user certificate", q->user);
		*why = ST_CTL_AUTH_CERT_NOT_USER;
		return ST_ERR_NOT_FOUND;
	}
	const char *ca_alg = st_sig_alg_name(cert->ca_alg);
	if (!st_namelist_has(q->cfg->ca_sig_algs, strlen(q->cfg->ca_sig_algs), ca_alg,
			     strlen(ca_alg))) {
		logf_(q, "certificate ID %s: CA signature algorithm %s not in "
			 "CASignatureAlgorithms", id, ca_alg);
		*why = ST_CTL_AUTH_CERT_CA_ALG;
		return ST_ERR_NOT_FOUND;
	}
	char why_revoked[300];
	if (st_revoked_check(q->cfg->revoked_keys, NULL, cert, why_revoked, sizeof(why_revoked))) {
		logf_(q, "certificate ID %s: %s", id, why_revoked);
		*why = ST_CTL_AUTH_CERT_REVOKED;
		return ST_ERR_NOT_FOUND;
	}
	if (trusted_ca(q, cert->ca)) {
		if (q->cfg->authorized_principals_file[0] != '\0') {
			if (!principals_file_ok(q, cert, &o)) {
				logf_(q, "certificate ID %s: no principal in AuthorizedPrincipalsFile "
					 "for %s", id, q->user);
				*why = ST_CTL_AUTH_CERT_PRINCIPAL;
				goto refuse;
			}
		} else if (cert->n_principals == 0 || !st_cert_has_principal(cert, q->user)) {
			logf_(q, "certificate ID %s: user %s is not a principal", id,
			      q->user);
			*why = ST_CTL_AUTH_CERT_PRINCIPAL;
			goto refuse;
		}
	} else {
		char path[ST_CTL_PATH_MAX + 256];
		const char *pat = q->cfg->authorized_keys_file;
		if (pat[0] == '/' && strstr(pat, "%h") == NULL)
			r = st_authkeys_expand_path_home(pat, q->user, "/", path, sizeof(path));
		else
			r = st_authkeys_expand_path(pat, q->user, path, sizeof(path));
		if (r != ST_OK ||
		    (r = st_authkeys_lookup_kind(path, cert->ca, 1, q->peer_ip, NULL,
						 (time_t)q->now, &o, ak_log, (void *)q)) != ST_OK) {
			if (r == ST_ERR_ALLOC)
				return r;
			logf_(q, "certificate ID %s: CA not trusted for %s", id, q->user);
			*why = ST_CTL_AUTH_CERT_CA_UNTRUSTED;
			goto refuse;
		}
		if (o.principals != NULL ? !principal_in_list(cert, o.principals)
					 : (cert->n_principals > 0 &&
					    !st_cert_has_principal(cert, q->user))) {
			logf_(q, "certificate ID %s: no allowed principal for %s", id,
			      q->user);
			*why = ST_CTL_AUTH_CERT_PRINCIPAL;
			goto refuse;
		}
	}
	switch (st_cert_check_time(cert, q->now)) {
	case ST_CERT_NOT_YET_VALID:
		logf_(q, "certificate ID %s is not yet valid", id);
		*why = ST_CTL_AUTH_CERT_NOT_YET_VALID;
		goto refuse;
	case ST_CERT_EXPIRED:
		logf_(q, "certificate ID %s has expired", id);
		*why = ST_CTL_AUTH_CERT_EXPIRED;
		goto refuse;
	case ST_CERT_TIME_OK:
		break;
	}
	if ((r = apply_cert_options(q, cert, &o, why)) != ST_OK) {
		st_authkey_opts_free(&o);
		return r;
	}
	*opts = o;
	return ST_OK;
refuse:
	st_authkey_opts_free(&o);
	return ST_ERR_NOT_FOUND;
}
