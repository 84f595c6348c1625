/* authorized_keys parsing and lookup (see authkeys.h). */
#include "control/authkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/match.h"
#include "control/readfile.h"
#include "crypto/err.h"
#include "crypto/key.h"

/* Longest host name in a permitopen= entry (NI_MAXHOST - 1). */
#define PERMITOPEN_HOST_MAX 1024u
/* Longest log message handed to the log callback. */
#define LOG_MSG_MAX 512u
/* Buffer for getpwnam_r(). */
#define PW_BUF_SIZE 16384u

enum opt_kind {
	OPT_RESTRICT,
	OPT_FLAG,       /* sets/clears one no_* field */
	OPT_COMMAND,
	OPT_FROM,
	OPT_PERMITOPEN,
	OPT_EXPIRY,
	OPT_PRINCIPALS,
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t field; /* OPT_FLAG: offset of the int in struct st_authkey_opts */
	int value;    /* OPT_FLAG: what to store there */
};

#define FLD(f) offsetof(struct st_authkey_opts, f)

static const struct opt_def opt_defs[] = {
	{ "restrict", OPT_RESTRICT, 0, 0 },
	{ "no-port-forwarding", OPT_FLAG, FLD(no_port_forwarding), 1 },
	{ "port-forwarding", OPT_FLAG, FLD(no_port_forwarding), 0 },
	{ "no-pty", OPT_FLAG, FLD(no_pty), 1 },
	{ "pty", OPT_FLAG, FLD(no_pty), 0 },
	{ "no-agent-forwarding", OPT_FLAG, FLD(no_agent_forwarding), 1 },
	{ "agent-forwarding", OPT_FLAG, FLD(no_agent_forwarding), 0 },
	{ "no-x11-forwarding", OPT_FLAG, FLD(no_x11_forwarding), 1 },
	{ "x11-forwarding", OPT_FLAG, FLD(no_x11_forwarding), 0 },
	{ "no-user-rc", OPT_FLAG, FLD(no_user_rc), 1 },
	{ "user-rc", OPT_FLAG, FLD(no_user_rc), 0 },
	{ "command", OPT_COMMAND, 0, 0 },
	{ "from", OPT_FROM, 0, 0 },
	{ "permitopen", OPT_PERMITOPEN, 0, 0 },
	{ "expiry-time", OPT_EXPIRY, 0, 0 },
	{ "cert-authority", OPT_FLAG, FLD(cert_authority), 1 },
	{ "principals", OPT_PRINCIPALS, 0, 0 },
};

/* OpenSSH options we know and deliberately do not implement. */
static const char *const opt_unsupported[] = {
	"environment", "tunnel", "permitlisten",
	"touch-required", "no-touch-required", "verify-required",
};

/* SSH key type names that are not ours but are key types, not options. */
static const char *const keytype_unsupported[] = {
	"ssh-dss", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
};
#define CERT_SUFFIX "-cert-v01@openssh.com"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void set_reason(char *reason, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, size_t sz, const char *fmt, ...)
{
	va_list ap;

	if (reason == NULL || sz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sz, fmt, ap);
	va_end(ap);
}

static void logmsg(st_authkeys_log_fn log, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logmsg(st_authkeys_log_fn log, void *ctx, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX];
	va_list ap;

	if (log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log(ctx, msg);
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

void st_authkey_opts_free(struct st_authkey_opts *o)
{
	if (o == NULL)
		return;
	free(o->command);
	free(o->from);
	free(o->principals);
	for (size_t i = 0; i < o->npermitopen; i++)
		free(o->permitopen[i].host);
	free(o->permitopen);
	memset(o, 0, sizeof(*o));
}

/*
 * Reads a quoted value starting at s[*i] (which must be '"') up to the
 * closing quote, with OpenSSH's dequoting: `\"` is a quote, every other
 * character (backslashes included) stands for itself. *val is a new string;
 * *i moves past the closing quote.
 */
static int parse_value(const char *s, size_t len, size_t *i, const char *name, char **val,
		       char *reason, size_t reasonsz)
{
	size_t p = *i, o = 0;
	char *v;

	if (p >= len || s[p] != '"') {
		set_reason(reason, reasonsz, "option \"%s\": value must be in double quotes", name);
		return ST_ERR_FORMAT;
	}
	p++;
	/* Output is never longer than the input left. */
	size_t cap = len - p < ST_AUTHKEYS_VALUE_MAX ? len - p : ST_AUTHKEYS_VALUE_MAX;
	if ((v = malloc(cap + 1)) == NULL)
		return ST_ERR_ALLOC;
	for (;; p++) {
		unsigned char c;

		if (p >= len) {
			free(v);
			set_reason(reason, reasonsz, "option \"%s\": missing closing quote", name);
			return ST_ERR_FORMAT;
		}
		c = (unsigned char)s[p];
		if (c == '"')
			break;
		if (c == '\\' && p + 1 < len && s[p + 1] == '"')
			c = (unsigned char)s[++p];
		else if (c < 0x20 || c == 0x7f) {
			free(v);
			set_reason(reason, reasonsz, "option \"%s\": control character in value",
				   name);
			return ST_ERR_FORMAT;
		}
		if (o >= cap) {
			free(v);
			set_reason(reason, reasonsz, "option \"%s\": value too long", name);
			return ST_ERR_STRING_TOO_LARGE;
		}
		v[o++] = (char)c;
	}
	v[o] = '\0';
	*i = p + 1;
	*val = v;
	return ST_OK;
}

/* "*" -> -1, "1".."65535" -> the number, else ST_ERR_FORMAT. */
static int parse_port(const char *s, int *port)
{
	size_t n = strlen(s);
	long v = 0;

	if (strcmp(s, "*") == 0) {
		*port = -1;
		return ST_OK;
	}
	if (n == 0 || n > 5)
		return ST_ERR_FORMAT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ST_ERR_FORMAT;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return ST_ERR_FORMAT;
	*port = (int)v;
	return ST_OK;
}

/* Splits "host:port" / "[v6]:port" into a new entry. */
static int parse_permitopen(const char *v, struct st_permitopen *out)
{
	const char *h = v, *hend, *port;
	char *host;
	int p, r;

	if (*v == '[') {
		h = v + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			return ST_ERR_FORMAT;
		port = hend + 2;
	} else {
		if ((hend = strchr(v, ':')) == NULL)
			return ST_ERR_FORMAT;
		port = hend + 1;
	}
	if (hend == h || (size_t)(hend - h) > PERMITOPEN_HOST_MAX)
		return ST_ERR_FORMAT;
	for (const char *c = h; c < hend; c++) {
		if (is_blank(*c) || *c == '[' || *c == ']' || (*c == ':' && *v != '['))
			return ST_ERR_FORMAT;
	}
	if ((r = parse_port(port, &p)) != ST_OK)
		return r;
	if ((host = strndup(h, (size_t)(hend - h))) == NULL)
		return ST_ERR_ALLOC;
	out->host = host;
	out->port = p;
	return ST_OK;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ST_ERR_FORMAT;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return ST_OK;
}

int st_authkeys_parse_time(const char *s, uint64_t *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, utc = 0;
	size_t n;
	struct tm tm;
	time_t t;

	if (s == NULL || out == NULL)
		return ST_ERR_FORMAT;
	n = strnlen(s, 16);
	if (n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
		utc = 1;
		n--;
	}
	if (n != 8 && n != 12 && n != 14)
		return ST_ERR_FORMAT;
	if (digits(s, 4, &y) != ST_OK || digits(s + 4, 2, &mo) != ST_OK ||
	    digits(s + 6, 2, &d) != ST_OK)
		return ST_ERR_FORMAT;
	if (n >= 12 && (digits(s + 8, 2, &h) != ST_OK || digits(s + 10, 2, &mi) != ST_OK))
		return ST_ERR_FORMAT;
	if (n == 14 && digits(s + 12, 2, &sec) != ST_OK)
		return ST_ERR_FORMAT;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return ST_ERR_FORMAT;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return ST_ERR_FORMAT;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (utc) {
		t = timegm(&tm);
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t <= 0)
		return ST_ERR_FORMAT;
	*out = (uint64_t)t;
	return ST_OK;
}

static int name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Applies one parsed option to o; takes ownership of val. */
static int apply_option(struct st_authkey_opts *o, const struct opt_def *def, char *val,
			char *reason, size_t reasonsz)
{
	enum st_match_result mr;
	uint64_t t;
	int r;

	switch (def->kind) {
	case OPT_RESTRICT:
		o->restrict_ = 1;
		o->no_port_forwarding = o->no_pty = o->no_agent_forwarding = 1;
		o->no_x11_forwarding = o->no_user_rc = 1;
		return ST_OK;
	case OPT_FLAG:
		*(int *)(void *)((char *)o + def->field) = def->value;
		return ST_OK;
	case OPT_COMMAND:
		if (o->command != NULL) {
			set_reason(reason, reasonsz, "more than one command= option");
			r = ST_ERR_FORMAT;
			break;
		}
		o->command = val;
		return ST_OK;
	case OPT_FROM:
		if (o->from != NULL) {
			set_reason(reason, reasonsz, "more than one from= option");
			r = ST_ERR_FORMAT;
			break;
		}
		/* Check the list's syntax (CIDR entries, caps) now. */
		if ((r = st_match_addr_list("0.0.0.0", val, &mr)) != ST_OK) {
			set_reason(reason, reasonsz, "from=\"%.100s\": invalid pattern list: %s",
				   val, st_err_str(r));
			r = ST_ERR_FORMAT;
			break;
		}
		o->from = val;
		return ST_OK;
	case OPT_PERMITOPEN: {
		struct st_permitopen pe, *np;

		if (o->npermitopen >= ST_AUTHKEYS_OPTS_MAX) {
			r = ST_ERR_STRING_TOO_LARGE;
			break;
		}
		if ((r = parse_permitopen(val, &pe)) != ST_OK) {
			set_reason(reason, reasonsz, "permitopen=\"%.100s\": invalid host:port",
				   val);
			break;
		}
		np = realloc(o->permitopen, (o->npermitopen + 1) * sizeof(*np));
		if (np == NULL) {
			free(pe.host);
			r = ST_ERR_ALLOC;
			break;
		}
		np[o->npermitopen++] = pe;
		o->permitopen = np;
		free(val);
		return ST_OK;
	}
	case OPT_PRINCIPALS:
		if (o->principals != NULL) {
			set_reason(reason, reasonsz, "more than one principals= option");
			r = ST_ERR_FORMAT;
			break;
		}
		o->principals = val;
		return ST_OK;
	case OPT_EXPIRY:
		if ((r = st_authkeys_parse_time(val, &t)) != ST_OK) {
			set_reason(reason, reasonsz, "expiry-time=\"%.40s\": invalid time", val);
			break;
		}
		if (o->expiry_time == 0 || t < o->expiry_time)
			o->expiry_time = t;
		free(val);
		return ST_OK;
	default:
		r = ST_ERR_INTERNAL;
		break;
	}
	free(val);
	return r;
}

int st_authkeys_parse_options(const char *s, size_t len, struct st_authkey_opts *out,
			      char *reason, size_t reasonsz)
{
	struct st_authkey_opts o;
	size_t i = 0, nopts = 0;
	int r = ST_ERR_INTERNAL;

	memset(&o, 0, sizeof(o));
	set_reason(reason, reasonsz, "%s", "");
	if (s == NULL || out == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (len == 0) {
		set_reason(reason, reasonsz, "empty options");
		return ST_ERR_FORMAT;
	}
	for (;;) {
		const struct opt_def *def = NULL;
		const char *name = s + i;
		char nm[32];
		size_t n;
		char *val = NULL;
		int has_value;

		while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				   (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			i++;
		n = (size_t)(s + i - name);
		if (n == 0) {
			set_reason(reason, reasonsz, "empty or invalid option name");
			r = ST_ERR_FORMAT;
			goto out;
		}
		if (++nopts > ST_AUTHKEYS_OPTS_MAX) {
			set_reason(reason, reasonsz, "more than %u options", ST_AUTHKEYS_OPTS_MAX);
			r = ST_ERR_STRING_TOO_LARGE;
			goto out;
		}
		snprintf(nm, sizeof(nm), "%.*s", (int)(n < sizeof(nm) ? n : sizeof(nm) - 1), name);
		for (size_t k = 0; k < NELEM(opt_defs); k++) {
			if (name_is(name, n, opt_defs[k].name)) {
				def = &opt_defs[k];
				break;
			}
		}
		if (def == NULL) {
			const char *what = "unknown";

			for (size_t k = 0; k < NELEM(opt_unsupported); k++) {
				if (name_is(name, n, opt_unsupported[k]))
					what = "unsupported";
			}
			set_reason(reason, reasonsz, "%s option \"%s\"", what, nm);
			r = ST_ERR_FORMAT;
			goto out;
		}
		has_value = i < len && s[i] == '=';
		if (def->kind == OPT_RESTRICT || def->kind == OPT_FLAG) {
			if (has_value) {
				set_reason(reason, reasonsz, "option \"%s\" takes no value", nm);
				r = ST_ERR_FORMAT;
				goto out;
			}
		} else {
			if (!has_value) {
				set_reason(reason, reasonsz, "option \"%s\" needs a value", nm);
				r = ST_ERR_FORMAT;
				goto out;
			}
			i++;
			if ((r = parse_value(s, len, &i, nm, &val, reason, reasonsz)) != ST_OK)
				goto out;
		}
		if ((r = apply_option(&o, def, val, reason, reasonsz)) != ST_OK)
			goto out;
		if (i == len)
			break;
		if (s[i] != ',') {
			set_reason(reason, reasonsz, "unexpected character after option \"%s\"", nm);
			r = ST_ERR_FORMAT;
			goto out;
		}
		if (++i == len) {
			set_reason(reason, reasonsz, "trailing comma in options");
			r = ST_ERR_FORMAT;
			goto out;
		}
	}
	*out = o;
	memset(&o, 0, sizeof(o));
	r = ST_OK;
out:
	st_authkey_opts_free(&o);
	return r;
}

/* 1 when word[0..n) names an SSH key type (ours or not), not an option. */
static int is_keytype_word(const char *w, size_t n)
{
	enum st_key_type t;
	size_t sl = strlen(CERT_SUFFIX);

	if (st_key_type_from_name(w, n, &t) == ST_OK)
		return 1;
	for (size_t k = 0; k < NELEM(keytype_unsupported); k++) {
		if (strlen(keytype_unsupported[k]) == n &&
		    memcmp(w, keytype_unsupported[k], n) == 0)
			return 1;
	}
	return n > sl && memcmp(w + n - sl, CERT_SUFFIX, sl) == 0;
}

int st_authkeys_parse_line(const char *line, size_t len, struct st_key **key,
			   struct st_authkey_opts *opts, char *reason, size_t reasonsz)
{
	struct st_authkey_opts o;
	struct st_key *k = NULL;
	char *rest = NULL;
	size_t i = 0, ostart, olen = 0;
	int r, inq = 0;

	memset(&o, 0, sizeof(o));
	set_reason(reason, reasonsz, "%s", "");
	if (line == NULL || key == NULL || opts == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (len > ST_AUTHKEYS_LINE_MAX) {
		set_reason(reason, reasonsz, "line longer than %u bytes", ST_AUTHKEYS_LINE_MAX);
		return ST_ERR_STRING_TOO_LARGE;
	}
	if (memchr(line, '\0', len) != NULL) {
		set_reason(reason, reasonsz, "NUL byte in line");
		return ST_ERR_FORMAT;
	}
	while (i < len && is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#' || line[i] == '\r' || line[i] == '\n')
		return ST_ERR_NOT_FOUND;
	ostart = i;
	while (i < len && !is_blank(line[i]))
		i++;
	if (!is_keytype_word(line + ostart, i - ostart)) {
		/* Options: up to the first blank outside double quotes. */
		for (i = ostart; i < len; i++) {
			if (inq && line[i] == '\\' && i + 1 < len && line[i + 1] == '"')
				i++;
			else if (line[i] == '"')
				inq = !inq;
			else if (!inq && is_blank(line[i]))
				break;
		}
		if (inq) {
			set_reason(reason, reasonsz, "unterminated quoted string in options");
			r = ST_ERR_FORMAT;
			goto out;
		}
		olen = i - ostart;
		while (i < len && is_blank(line[i]))
			i++;
		if (i == len) {
			set_reason(reason, reasonsz, "no key after options");
			r = ST_ERR_FORMAT;
			goto out;
		}
		if ((r = st_authkeys_parse_options(line + ostart, olen, &o, reason, reasonsz)) !=
		    ST_OK)
			goto out;
	} else {
		i = ostart;
	}
	if ((rest = strndup(line + i, len - i)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	if ((r = st_key_parse_public_line(rest, &k, NULL, 0)) != ST_OK) {
		set_reason(reason, reasonsz, "%s: %s",
			   r == ST_ERR_KEY_TYPE_UNKNOWN ? "unsupported key type" : "invalid key",
			   st_err_str(r));
		goto out;
	}
	*key = k;
	k = NULL;
	*opts = o;
	memset(&o, 0, sizeof(o));
	r = ST_OK;
out:
	free(rest);
	st_key_free(k);
	st_authkey_opts_free(&o);
	return r;
}

/* The lines of data[0..len) (from `path`): the first that grants key as a key (ca = 0) or a CA. */
static int lookup_text(const char *path, const char *data, size_t len, const struct st_key *key,
		       int ca, const char *peer_ip, const char *peer_host, time_t now,
		       struct st_authkey_opts *opts, st_authkeys_log_fn log, void *log_ctx)
{
	char reason[ST_AUTHKEYS_REASON_SIZE];
	size_t pos = 0, lineno = 0;
	int r;

	if (path == NULL || (data == NULL && len != 0) || key == NULL || opts == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	r = ST_ERR_NOT_FOUND;
	while (pos < len) {
		struct st_authkey_opts o;
		struct st_key *k = NULL;
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;
		int pr, allowed = 0;

		pos += llen + (nl != NULL);
		lineno++;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		memset(&o, 0, sizeof(o));
		pr = st_authkeys_parse_line(line, llen, &k, &o, reason, sizeof(reason));
		if (pr == ST_ERR_NOT_FOUND)
			continue;
		if (pr == ST_ERR_ALLOC) {
			r = pr;
			break;
		}
		if (pr != ST_OK) {
			logmsg(log, log_ctx, "%.200s:%zu: line skipped: %s", path, lineno, reason);
			continue;
		}
		/* A cert-authority line names a CA, never a key that may log in itself. */
		if (!o.cert_authority != !ca || !st_key_equal_public(k, key)) {
			st_key_free(k);
			st_authkey_opts_free(&o);
			continue;
		}
		st_key_free(k);
		if (o.expiry_time != 0 && (now < 0 || (uint64_t)now > o.expiry_time)) {
			logmsg(log, log_ctx, "%.200s:%zu: key matched but has expired", path,
			       lineno);
			st_authkey_opts_free(&o);
			continue;
		}
		if (o.from != NULL) {
			pr = peer_ip == NULL ? ST_ERR_INVALID_ARGUMENT
					     : st_match_host_and_ip(peer_host, peer_ip, o.from,
								    &allowed);
			if (pr != ST_OK || !allowed) {
				logmsg(log, log_ctx,
				       "%.200s:%zu: key matched but from= does not allow "
				       "host=%.100s ip=%.64s%s%s",
				       path, lineno, peer_host != NULL ? peer_host : "(unknown)",
				       peer_ip != NULL ? peer_ip : "(unknown)",
				       pr != ST_OK ? ": " : "", pr != ST_OK ? st_err_str(pr) : "");
				st_authkey_opts_free(&o);
				continue;
			}
		}
		*opts = o;
		r = ST_OK;
		break;
	}
	return r;
}

int st_authkeys_lookup_buf(const char *path, const char *data, size_t len,
			   const struct st_key *key, const char *peer_ip, const char *peer_host,
			   time_t now, struct st_authkey_opts *opts, st_authkeys_log_fn log,
			   void *log_ctx)
{
	return lookup_text(path, data, len, key, 0, peer_ip, peer_host, now, opts, log, log_ctx);
}

int st_authkeys_lookup_kind(const char *path, const struct st_key *key, int ca,
			    const char *peer_ip, const char *peer_host, time_t now,
			    struct st_authkey_opts *opts, st_authkeys_log_fn log, void *log_ctx)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if (path == NULL || key == NULL || opts == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = st_read_file(path, ST_AUTHKEYS_FILE_MAX, ST_READFILE_REGULAR_ONLY, &data, &len)) !=
	    ST_OK) {
		if (r == ST_ERR_NO_SPACE) {
			logmsg(log, log_ctx, "%.200s: file larger than %u bytes, ignored", path,
			       ST_AUTHKEYS_FILE_MAX);
			r = ST_ERR_FORMAT;
		}
		return r;
	}
	r = lookup_text(path, data, len, key, ca, peer_ip, peer_host, now, opts, log, log_ctx);
	free(data);
	return r;
}

int st_authkeys_lookup(const char *path, const struct st_key *key, const char *peer_ip,
		       const char *peer_host, time_t now, struct st_authkey_opts *opts,
		       st_authkeys_log_fn log, void *log_ctx)
{
	return st_authkeys_lookup_kind(path, key, 0, peer_ip, peer_host, now, opts, log, log_ctx);
}

static int user_ok(const char *u)
{
	if (u[0] == '\0' || strcmp(u, ".") == 0 || strcmp(u, "..") == 0)
		return 0;
	for (; *u != '\0'; u++) {
		if (*u == '/' || (unsigned char)*u < 0x20 || *u == 0x7f)
			return 0;
	}
	return 1;
}

/* Appends s to out[*n..sz); ST_ERR_NO_SPACE when it does not fit with the NUL. */
static int append(char *out, size_t sz, size_t *n, const char *s, size_t slen)
{
	if (slen >= sz - *n)
		return ST_ERR_NO_SPACE;
	memcpy(out + *n, s, slen);
	*n += slen;
	out[*n] = '\0';
	return ST_OK;
}

int st_authkeys_expand_path_home(const char *pattern, const char *user, const char *home,
				 char *out, size_t outsz)
{
	size_t n = 0;
	int r;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (pattern == NULL || user == NULL || home == NULL || out == NULL || outsz == 0)
		return ST_ERR_INVALID_ARGUMENT;
	if (!user_ok(user) || home[0] != '/')
		return ST_ERR_INVALID_ARGUMENT;
	for (const char *p = pattern; *p != '\0'; p++) {
		if (*p != '%') {
			r = append(out, outsz, &n, p, 1);
		} else if (p[1] == '%') {
			r = append(out, outsz, &n, "%", 1);
			p++;
		} else if (p[1] == 'u') {
			r = append(out, outsz, &n, user, strlen(user));
			p++;
		} else if (p[1] == 'h') {
			r = append(out, outsz, &n, home, strlen(home));
			p++;
		} else {
			r = ST_ERR_FORMAT;
		}
		if (r != ST_OK)
			goto out;
	}
	/* A result that is not absolute is relative to the home directory. */
	if (out[0] != '/') {
		size_t hlen = strlen(home);

		if (hlen + 1 >= outsz - n) {
			r = ST_ERR_NO_SPACE;
			goto out;
		}
		memmove(out + hlen + 1, out, n + 1);
		memcpy(out, home, hlen);
		out[hlen] = '/';
	}
	r = ST_OK;
out:
	if (r != ST_OK)
		out[0] = '\0';
	return r;
}

int st_authkeys_expand_path(const char *pattern, const char *user, char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char *buf;
	int r, e;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (pattern == NULL || user == NULL || out == NULL || outsz == 0 || !user_ok(user))
		return ST_ERR_INVALID_ARGUMENT;
	if ((buf = malloc(PW_BUF_SIZE)) == NULL)
		return ST_ERR_ALLOC;
	e = getpwnam_r(user, &pw, buf, PW_BUF_SIZE, &res);
	if (e != 0) {
		errno = e;
		r = ST_ERR_SYSTEM;
	} else if (res == NULL) {
		r = ST_ERR_NOT_FOUND;
	} else {
		r = st_authkeys_expand_path_home(pattern, user, pw.pw_dir, out, outsz);
	}
	free(buf);
	return r;
}

int st_authkey_permitopen_allows(const struct st_authkey_opts *o, const char *host,
				 uint16_t port)
{
	if (host == NULL)
		return 0;
	if (o == NULL)
		return 1;
	if (o->no_port_forwarding)
		return 0;
	if (o->npermitopen == 0)
		return 1;
	for (size_t i = 0; i < o->npermitopen; i++) {
		const struct st_permitopen *p = &o->permitopen[i];

		if (p->port != -1 && p->port != (int)port)
			continue;
		if (strcmp(p->host, "*") != 0 && strcasecmp(p->host, host) != 0)
			continue;
		return 1;
	}
	return 0;
}
