#include "control/conffile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <strings.h>

#include "crypto/buf.h"
#include "crypto/cipher.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "control/hostcert.h"
#include "control/akcmd.h"
#include "control/log.h"
#include "control/match.h"

#define LINE_MAX_LEN 4096
#define MAX_WORDS 64
#define FILE_MAX (1u << 20)

/* Parser state for one file: where we are, for messages. */
struct conf_ctx {
	struct st_daemon_conf *c;
	const char *name;
	unsigned line;
	char *err;
	size_t errsz;
	/* first-occurrence-wins bookkeeping, one bit per keyword index */
	uint64_t seen;
};

static int conf_error(struct conf_ctx *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_error(struct conf_ctx *x, int code, const char *fmt, ...)
{
	char msg[ST_CONF_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errsz, "%s:%u: %s", x->name, x->line, msg);
	return code;
}

int st_daemon_conf_init(struct st_daemon_conf *c)
{
	memset(c, 0, sizeof(*c));
	st_ctl_config_init(&c->ctl);
	snprintf(c->control_socket, sizeof(c->control_socket), "%s", ST_CONF_DEFAULT_SOCKET);
	/* sshd's MaxStartups default 10:30:100 */
	c->max_startups_begin = 10;
	c->max_startups_rate = 30;
	c->max_startups_full = 100;
	c->control_threads = 1;
	c->kex_threads = ST_CONF_KEX_THREADS_AUTO;
	c->log_level = ST_LOGLEVEL_INFO;
	c->syslog_facility = LOG_AUTH;
	c->crypto_backend = ST_CONF_CRYPTO_EVP;
	c->neigh_reachable_s = ST_CONF_NEIGH_REACHABLE_DEFAULT;
	c->tcp_rcvwin_max = ST_CONF_TCP_RCVWIN_DEFAULT;
	c->tcp_sndbuf_max = ST_CONF_TCP_RCVWIN_DEFAULT;
	st_srclimit_conf_init(&c->srclimit);
	return ST_OK;
}

void st_daemon_conf_free(struct st_daemon_conf *c)
{
	st_ctl_config_free(&c->ctl);
	st_wipe(c, sizeof(*c));
}

/* ---- value parsers ---- */

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return ST_ERR_FORMAT;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return ST_ERR_FORMAT;
	*out = v;
	return ST_OK;
}

/* sshd time format: "90", "2m", "1h30m" (s, m, h, d, w). Result in seconds. */
static int parse_time(const char *s, uint32_t *out)
{
	unsigned long long total = 0;

	if (*s == '\0')
		return ST_ERR_FORMAT;
	while (*s != '\0') {
		char *end;
		if (*s < '0' || *s > '9')
			return ST_ERR_FORMAT;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10), mult = 1;
		if (errno != 0)
			return ST_ERR_FORMAT;
		switch (*end) {
		case '\0':
			break;
		case 's': case 'S': mult = 1; end++; break;
		case 'm': case 'M': mult = 60; end++; break;
		case 'h': case 'H': mult = 3600; end++; break;
		case 'd': case 'D': mult = 86400; end++; break;
		case 'w': case 'W': mult = 604800; end++; break;
		default:
			return ST_ERR_FORMAT;
		}
		if (v > UINT32_MAX / mult || total + v * mult > UINT32_MAX)
			return ST_ERR_FORMAT;
		total += v * mult;
		s = end;
	}
	*out = (uint32_t)total;
	return ST_OK;
}

/* Sizes with K, M, G suffixes (powers of 1024), as RekeyLimit takes them. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return ST_ERR_FORMAT;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10), mult = 1;
	if (errno != 0)
		return ST_ERR_FORMAT;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	default: return ST_ERR_FORMAT;
	}
	if (*end != '\0' || v > UINT64_MAX / mult)
		return ST_ERR_FORMAT;
	*out = v * mult;
	return ST_OK;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long long v;
	if (parse_uint(s, 65535, &v) != ST_OK || v == 0)
		return ST_ERR_FORMAT;
	*port = (uint16_t)v;
	return ST_OK;
}

static int is_ipv4(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

static int is_ip(const char *s)
{
	struct in6_addr a6;
	return is_ipv4(s) || inet_pton(AF_INET6, s, &a6) == 1;
}

/* ---- algorithm lists with +, -, ^ modifiers ---- */

/* Appends name[0..len) to out (comma-separated) unless already there. */
static int list_add(char *out, size_t outsz, const char *name, size_t len)
{
	size_t cur = strlen(out);
	if (st_namelist_has(out, cur, name, len))
		return ST_OK;
	if (cur + (cur ? 1 : 0) + len + 1 > outsz)
		return ST_ERR_NO_SPACE;
	if (cur)
		out[cur++] = ',';
	memcpy(out + cur, name, len);
	out[cur + len] = '\0';
	return ST_OK;
}

/*
 * Applies an OpenSSH-style list value to `deflt` into out: plain list
 * replaces, "+list" appends, "-patterns" removes matches, "^list" prepends.
 */
static int apply_list(const char *deflt, const char *value, char *out, size_t outsz)
{
	char tmp[ST_CTL_ALGLIST_MAX * 2];
	const char *list = value + ((value[0] == '+' || value[0] == '-' || value[0] == '^') ? 1 : 0);
	int r = ST_OK;

	tmp[0] = '\0';
	if (strlen(list) >= ST_CTL_ALGLIST_MAX)
		return ST_ERR_NO_SPACE;
	switch (value[0]) {
	case '+':
	case '^': {
		const char *first = value[0] == '^' ? list : deflt;
		const char *second = value[0] == '^' ? deflt : list;
		for (int pass = 0; pass < 2 && r == ST_OK; pass++) {
			const char *p = pass == 0 ? first : second;
			while (*p != '\0' && r == ST_OK) {
				size_t n = strcspn(p, ",");
				if (n > 0)
					r = list_add(tmp, sizeof(tmp), p, n);
				p += n + (p[n] == ',');
			}
		}
		break;
	}
	case '-': {
		/* Each default name survives unless some removal pattern matches it. */
		const char *p = deflt;
		while (*p != '\0' && r == ST_OK) {
			size_t n = strcspn(p, ",");
			char name[ST_BUF_MAX_NAME + 1];
			if (n == 0 || n >= sizeof(name)) {
				p += n + (p[n] == ',');
				continue;
			}
			memcpy(name, p, n);
			name[n] = '\0';
			int removed = 0;
			const char *q = list;
			while (*q != '\0' && !removed) {
				size_t m = strcspn(q, ",");
				char pat[ST_BUF_MAX_NAME + 1];
				if (m > 0 && m < sizeof(pat)) {
					memcpy(pat, q, m);
					pat[m] = '\0';
					removed = st_match_pattern(name, pat) == 1;
				}
				q += m + (q[m] == ',');
			}
			if (!removed)
				r = list_add(tmp, sizeof(tmp), name, n);
			p += n + (p[n] == ',');
		}
		break;
	}
	default:
		snprintf(tmp, sizeof(tmp), "%s", value);
		break;
	}
	if (r != ST_OK)
		return r;
	size_t len = strlen(tmp);
	if (len >= outsz)
		return ST_ERR_NO_SPACE;
	if (len == 0)
		return ST_ERR_NAME_INVALID; /* everything removed */
	memcpy(out, tmp, len + 1);
	return ST_OK;
}

/* ---- keywords ---- */

struct keyword {
	const char *name;
	int min_args, max_args; /* max -1: any number */
	int repeat;             /* may appear more than once */
	int (*fn)(struct conf_ctx *x, char **av, int ac);
};

static int kw_port(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	uint16_t port;
	if (parse_port(av[0], &port) != ST_OK)
		return conf_error(x, ST_ERR_FORMAT, "Port: bad port number '%s'", av[0]);
	if (x->c->n_ports == ST_CONF_MAX_PORTS)
		return conf_error(x, ST_ERR_NO_SPACE, "Port: too many (max %d)", ST_CONF_MAX_PORTS);
	x->c->ports[x->c->n_ports++] = port;
	return ST_OK;
}

static int kw_listen(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	struct st_conf_listen l = {"", 0};
	char *a = av[0], *colon;

	/* "[v6]:port", "v4:port", "v4", "v6" */
	if (a[0] == '[') {
		char *close = strchr(a, ']');
		if (close == NULL)
			return conf_error(x, ST_ERR_FORMAT, "ListenAddress: missing ']' in '%s'", a);
		*close = '\0';
		if (close[1] == ':' && parse_port(close + 2, &l.port) != ST_OK)
			return conf_error(x, ST_ERR_FORMAT, "ListenAddress: bad port in '%s'", av[0]);
		a++;
	} else if ((colon = strchr(a, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		if (parse_port(colon + 1, &l.port) != ST_OK)
			return conf_error(x, ST_ERR_FORMAT, "ListenAddress: bad port '%s'", colon + 1);
	}
	if (!is_ip(a))
		return conf_error(x, ST_ERR_FORMAT, "ListenAddress: '%s' is not an IP address", a);
	if (x->c->n_listen == ST_CONF_MAX_LISTEN)
		return conf_error(x, ST_ERR_NO_SPACE, "ListenAddress: too many (max %d)",
				  ST_CONF_MAX_LISTEN);
	snprintf(l.addr, sizeof(l.addr), "%s", a);
	x->c->listen[x->c->n_listen++] = l;
	return ST_OK;
}

static int kw_hostkey(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	struct st_daemon_conf *c = x->c;
	if (c->n_hostkey_paths == ST_CTL_MAX_HOSTKEYS)
		return conf_error(x, ST_ERR_NO_SPACE, "HostKey: too many (max %d)",
				  ST_CTL_MAX_HOSTKEYS);
	if (strlen(av[0]) >= ST_CTL_PATH_MAX)
		return conf_error(x, ST_ERR_NO_SPACE, "HostKey: path too long");
	snprintf(c->hostkey_paths[c->n_hostkey_paths++], ST_CTL_PATH_MAX, "%s", av[0]);
	return ST_OK;
}

static int kw_hostcert(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	struct st_daemon_conf *c = x->c;
	if (c->n_hostcert_paths == ST_CTL_MAX_HOSTKEYS)
		return conf_error(x, ST_ERR_NO_SPACE, "HostCertificate: too many (max %d)",
				  ST_CTL_MAX_HOSTKEYS);
	if (strlen(av[0]) >= ST_CTL_PATH_MAX)
		return conf_error(x, ST_ERR_NO_SPACE, "HostCertificate: path too long");
	snprintf(c->hostcert_paths[c->n_hostcert_paths++], ST_CTL_PATH_MAX, "%s", av[0]);
	return ST_OK;
}

static int kw_authkeys(struct conf_ctx *x, char **av, int ac)
{
	if (ac > 1)
		return conf_error(x, ST_ERR_FORMAT,
				  "AuthorizedKeysFile: only one file is supported, got %d", ac);
	int r = st_ctl_config_set_authorized_keys_file(&x->c->ctl, av[0]);
	if (r != ST_OK)
		return conf_error(x, r, "AuthorizedKeysFile: %s", st_err_str(r));
	return ST_OK;
}

static int kw_trustedca(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	int r = st_ctl_config_set_trusted_user_ca_keys(&x->c->ctl, av[0]);
	if (r != ST_OK)
		return conf_error(x, r, "TrustedUserCAKeys: %s", st_err_str(r));
	return ST_OK;
}

static int kw_principalsfile(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	int r = st_ctl_config_set_authorized_principals_file(&x->c->ctl, av[0]);
	if (r != ST_OK)
		return conf_error(x, r, "AuthorizedPrincipalsFile: %s", st_err_str(r));
	return ST_OK;
}

static int kw_revokedkeys(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	int r = st_ctl_config_set_revoked_keys(&x->c->ctl, av[0]);
	if (r != ST_OK)
		return conf_error(x, r, "RevokedKeys: %s", st_err_str(r));
	return ST_OK;
}

/*
 * AuthorizedKeysCommand: the rest of the line. The line's words are joined
 * by single blanks; a word that held blanks (it was in double quotes, which
 * the line splitter takes away) is put back in double quotes, so that the
 * command splits (akcmd.h) into the same arguments.
 */
static int kw_akc(struct conf_ctx *x, char **av, int ac)
{
	char cmd[ST_CTL_AKC_CMD_MAX], why[ST_AKC_WHY_SIZE];
	size_t o = 0;

	if (ac == 1 && strcasecmp(av[0], "none") == 0) {
		x->c->ctl.akc_command[0] = '\0';
		return ST_OK;
	}
	for (int i = 0; i < ac; i++) {
		int q = av[i][0] == '\0' || strpbrk(av[i], " \t") != NULL;
		int n = snprintf(cmd + o, sizeof(cmd) - o, "%s%s%s%s", i ? " " : "", q ? "\"" : "",
				 av[i], q ? "\"" : "");
		if (n < 0 || (size_t)n >= sizeof(cmd) - o)
			return conf_error(x, ST_ERR_NO_SPACE,
					  "AuthorizedKeysCommand: longer than %d bytes",
					  ST_CTL_AKC_CMD_MAX - 1);
		o += (size_t)n;
	}
	if (st_akc_check(cmd, why, sizeof(why)) != ST_OK)
		return conf_error(x, ST_ERR_FORMAT, "AuthorizedKeysCommand: %s", why);
	memcpy(x->c->ctl.akc_command, cmd, o + 1);
	return ST_OK;
}

static int kw_akc_user(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	size_t n = strlen(av[0]);
	int ok = n > 0 && n < ST_CTL_AKC_USER_MAX && av[0][0] != '-';
	for (size_t i = 0; ok && i < n; i++) {
		char ch = av[0][i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		     ch == '.' || ch == '_' || ch == '-' || ch == '$';
	}
	if (!ok)
		return conf_error(x, ST_ERR_FORMAT, "AuthorizedKeysCommandUser: bad user name '%.64s'",
				  av[0]);
	memcpy(x->c->ctl.akc_user, av[0], n + 1);
	return ST_OK;
}

static int kw_akc_timeout(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	uint32_t t;
	if (parse_time(av[0], &t) != ST_OK || t == 0 || t > ST_CTL_AKC_TIMEOUT_MAX)
		return conf_error(x, ST_ERR_FORMAT,
				  "AuthorizedKeysCommandTimeout: expected 1s..%us, got '%s'",
				  ST_CTL_AKC_TIMEOUT_MAX, av[0]);
	x->c->ctl.akc_timeout = t;
	return ST_OK;
}

static int kw_akc_cache(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	uint32_t t;
	if (parse_time(av[0], &t) != ST_OK || t > ST_CTL_AKC_CACHE_MAX)
		return conf_error(x, ST_ERR_FORMAT,
				  "AuthorizedKeysCommandCacheTime: expected 0..%us, got '%s'",
				  ST_CTL_AKC_CACHE_MAX, av[0]);
	x->c->ctl.akc_cache_time = t;
	return ST_OK;
}

/* The four algorithm-list keywords share one shape. */
static int alg_list(struct conf_ctx *x, const char *kw, const char *deflt, const char *value,
		    int (*set)(struct st_ctl_config *, const char *))
{
	char list[ST_CTL_ALGLIST_MAX];
	int r = apply_list(deflt, value, list, sizeof(list));
	if (r == ST_OK)
		r = set(&x->c->ctl, list);
	if (r != ST_OK)
		return conf_error(x, r, "%s: %s in '%s'", kw, st_err_str(r), value);
	return ST_OK;
}

static int kw_kex(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return alg_list(x, "KexAlgorithms", ST_CTL_DEFAULT_KEX, av[0], st_ctl_config_set_kex);
}

static int kw_ciphers(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return alg_list(x, "Ciphers", st_cipher_default_list, av[0], st_ctl_config_set_ciphers);
}

static int kw_macs(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return alg_list(x, "MACs", st_mac_default_list, av[0], st_ctl_config_set_macs);
}

static int kw_hostkeyalgs(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return alg_list(x, "HostKeyAlgorithms", ST_CTL_DEFAULT_HOSTKEY_ALGS, av[0],
			st_ctl_config_set_hostkey_algs);
}

static int kw_casigalgs(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return alg_list(x, "CASignatureAlgorithms", ST_CTL_DEFAULT_CA_SIG_ALGS, av[0],
			st_ctl_config_set_ca_sig_algs);
}

static int kw_maxauthtries(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	unsigned long long v;
	if (parse_uint(av[0], 1000, &v) != ST_OK || v == 0)
		return conf_error(x, ST_ERR_FORMAT, "MaxAuthTries: expected 1..1000, got '%s'",
				  av[0]);
	x->c->ctl.max_auth_tries = (unsigned)v;
	return ST_OK;
}

static int kw_maxstartups(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	unsigned long long a, b = 100, f;
	char *s = av[0], *c1 = strchr(s, ':'), *c2 = NULL;

	if (c1 != NULL) {
		*c1++ = '\0';
		if ((c2 = strchr(c1, ':')) == NULL)
			return conf_error(x, ST_ERR_FORMAT, "MaxStartups: expected start:rate:full");
		*c2++ = '\0';
	}
	if (parse_uint(s, 1000000, &a) != ST_OK ||
	    (c1 != NULL && (parse_uint(c1, 100, &b) != ST_OK || parse_uint(c2, 1000000, &f) != ST_OK)))
		return conf_error(x, ST_ERR_FORMAT, "MaxStartups: bad number");
	if (c1 == NULL)
		f = a;
	if (a == 0 || f < a)
		return conf_error(x, ST_ERR_FORMAT, "MaxStartups: need 0 < start <= full");
	x->c->max_startups_begin = (unsigned)a;
	x->c->max_startups_rate = (unsigned)b;
	x->c->max_startups_full = (unsigned)f;
	return ST_OK;
}

static int kw_logingrace(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (parse_time(av[0], &x->c->ctl.login_grace_time) != ST_OK)
		return conf_error(x, ST_ERR_FORMAT, "LoginGraceTime: bad time '%s'", av[0]);
	return ST_OK;
}

static int kw_rekeylimit(struct conf_ctx *x, char **av, int ac)
{
	struct st_ctl_config *cfg = &x->c->ctl;
	uint64_t bytes;

	if (strcasecmp(av[0], "default") != 0) {
		/* RFC 4344 asks for rekeying well before 2^32 packets; 16 bytes is
		 * a minimum that keeps a misconfiguration from rekeying per packet. */
		if (parse_size(av[0], &bytes) != ST_OK || (bytes != 0 && bytes < 16))
			return conf_error(x, ST_ERR_FORMAT, "RekeyLimit: bad size '%s'", av[0]);
		cfg->rekey_bytes = bytes;
	}
	if (ac == 2) {
		uint32_t secs = 0;
		if (strcasecmp(av[1], "none") != 0 && parse_time(av[1], &secs) != ST_OK)
			return conf_error(x, ST_ERR_FORMAT, "RekeyLimit: bad time '%s'", av[1]);
		cfg->rekey_seconds = secs;
	}
	return ST_OK;
}

static int kw_permitopen(struct conf_ctx *x, char **av, int ac)
{
	for (int i = 0; i < ac; i++) {
		int r = st_ctl_config_add_permitopen(&x->c->ctl, av[i]);
		if (r != ST_OK)
			return conf_error(x, r, "PermitOpen: %s: '%s'", st_err_str(r), av[i]);
	}
	return ST_OK;
}

static int kw_service(struct conf_ctx *x, char **av, int ac)
{
	int r = st_ctl_config_add_service(&x->c->ctl, av[0], av[1]);
	if (r != ST_OK)
		return conf_error(x, r, "Service: %s: '%s %s'", st_err_str(r), av[0], av[1]);
	for (int i = 2; i < ac; i++)
		if ((r = st_ctl_config_service_option(&x->c->ctl, av[i])) != ST_OK)
			return conf_error(x, r, "Service %s: unknown option '%s' (expected "
					  "proxy-protocol=v2)", av[0], av[i]);
	return ST_OK;
}

/* ProxyProtocol off | accept | require */
static int kw_proxyprotocol(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (strcasecmp(av[0], "off") == 0)
		x->c->ctl.proxy_mode = ST_PROXY_OFF;
	else if (strcasecmp(av[0], "accept") == 0)
		x->c->ctl.proxy_mode = ST_PROXY_ACCEPT;
	else if (strcasecmp(av[0], "require") == 0)
		x->c->ctl.proxy_mode = ST_PROXY_REQUIRE;
	else
		return conf_error(x, ST_ERR_FORMAT,
				  "ProxyProtocol: expected off, accept or require, got '%s'", av[0]);
	return ST_OK;
}

/* ProxyProtocolFrom CIDR[,CIDR...] */
static int kw_proxyprotocolfrom(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (strcasecmp(av[0], "none") == 0) {
		x->c->ctl.proxy_from[0] = '\0';
		return ST_OK;
	}
	int r = st_ctl_config_set_proxy_from(&x->c->ctl, av[0]);
	if (r != ST_OK)
		return conf_error(x, r, "ProxyProtocolFrom: %s: expected comma-separated IPv4/IPv6 "
				  "addresses or CIDR blocks, got '%s'", st_err_str(r), av[0]);
	return ST_OK;
}

static int kw_defaultservice(struct conf_ctx *x, char **av, int ac)
{
	char svc[ST_SERVICE_ARGS_MAX];
	size_t off = 0;
	svc[0] = '\0';
	for (int i = 0; i < ac; i++) {
		int n = snprintf(svc + off, sizeof(svc) - off, "%s%s", i ? " " : "", av[i]);
		if (n < 0 || (size_t)n >= sizeof(svc) - off)
			return conf_error(x, ST_ERR_NO_SPACE, "DefaultService: too long");
		off += (size_t)n;
	}
	int r = st_ctl_config_set_default_service(&x->c->ctl, svc);
	if (r != ST_OK)
		return conf_error(x, r, "DefaultService: %s", st_err_str(r));
	return ST_OK;
}

static int is_ipv6(const char *s)
{
	struct in6_addr a6;
	return inet_pton(AF_INET6, s, &a6) == 1;
}

/* Address ADDR/PREFIX: one IPv4 and one IPv6 address per port (the keyword may appear twice). */
static int kw_address(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	char *slash = strchr(av[0], '/');
	unsigned long long plen;
	if (slash == NULL)
		return conf_error(x, ST_ERR_FORMAT, "Address: expected ADDRESS/PREFIX, got '%s'",
				  av[0]);
	*slash = '\0';
	if (is_ipv6(av[0])) {
		if (parse_uint(slash + 1, 128, &plen) != ST_OK || plen == 0)
			return conf_error(x, ST_ERR_FORMAT, "Address: bad IPv6 prefix '%s'", slash + 1);
		if (strncasecmp(av[0], "ff", 2) == 0 || strcmp(av[0], "::") == 0 ||
		    strcmp(av[0], "::1") == 0 || strncasecmp(av[0], "::ffff:", 7) == 0)
			return conf_error(x, ST_ERR_FORMAT,
					  "Address: '%s' is not a unicast IPv6 address", av[0]);
		if (x->c->address6[0] != '\0')
			return conf_error(x, ST_ERR_FORMAT,
					  "Address: one IPv6 address per port (already %s)",
					  x->c->address6);
		snprintf(x->c->address6, sizeof(x->c->address6), "%s", av[0]);
		x->c->prefix6 = (uint8_t)plen;
		return ST_OK;
	}
	if (!is_ipv4(av[0]) || parse_uint(slash + 1, 32, &plen) != ST_OK || plen == 0)
		return conf_error(x, ST_ERR_FORMAT, "Address: bad IPv4 address or prefix");
	if (x->c->address[0] != '\0')
		return conf_error(x, ST_ERR_FORMAT, "Address: one IPv4 address per port (already %s)",
				  x->c->address);
	snprintf(x->c->address, sizeof(x->c->address), "%s", av[0]);
	x->c->prefix_len = (uint8_t)plen;
	return ST_OK;
}

/* Gateway ADDR: one per family. */
static int kw_gateway(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	char *dst;
	if (is_ipv6(av[0])) {
		if (strncasecmp(av[0], "ff", 2) == 0 || strcmp(av[0], "::") == 0)
			return conf_error(x, ST_ERR_FORMAT, "Gateway: '%s' is not a unicast address",
					  av[0]);
		dst = x->c->gateway6;
	} else if (is_ipv4(av[0])) {
		dst = x->c->gateway;
	} else {
		return conf_error(x, ST_ERR_FORMAT, "Gateway: '%s' is not an IP address", av[0]);
	}
	if (dst[0] != '\0')
		return conf_error(x, ST_ERR_FORMAT, "Gateway: one per address family (already %s)",
				  dst);
	snprintf(dst, ST_IP_STR, "%s", av[0]);
	return ST_OK;
}

/*
 * TapInterface NAME: the dataplane's port is kernel TAP interface NAME with
 * virtio-net headers (TSO and checksums to and from the kernel) instead of
 * the EAL's port 0.
 */
static int kw_tapinterface(struct conf_ctx *x, char **av, int ac)
{
	size_t n = strlen(av[0]);

	(void)ac;
	if (n == 0 || n >= sizeof(x->c->tap_interface) || strchr(av[0], '/') != NULL ||
	    strcmp(av[0], ".") == 0 || strcmp(av[0], "..") == 0)
		return conf_error(x, ST_ERR_FORMAT,
				  "TapInterface: '%s' is not an interface name (1..%zu characters, "
				  "no '/')",
				  av[0], sizeof(x->c->tap_interface) - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)av[0][i] <= ' ' || av[0][i] == ':')
			return conf_error(x, ST_ERR_FORMAT,
					  "TapInterface: '%s': no spaces, colons or control "
					  "characters",
					  av[0]);
	snprintf(x->c->tap_interface, sizeof(x->c->tap_interface), "%s", av[0]);
	return ST_OK;
}

static int kw_controlsocket(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (av[0][0] != '/' || strlen(av[0]) >= sizeof(x->c->control_socket))
		return conf_error(x, ST_ERR_FORMAT,
				  "ControlSocket: needs an absolute path shorter than %zu bytes",
				  sizeof(x->c->control_socket));
	snprintf(x->c->control_socket, sizeof(x->c->control_socket), "%s", av[0]);
	return ST_OK;
}

/* Copies one argument into a fixed-size field; "<what> too long" when it does not fit. */
static int copy_arg(struct conf_ctx *x, const char *what, const char *src, char *dst, size_t dstsz)
{
	if (strlen(src) >= dstsz)
		return conf_error(x, ST_ERR_FORMAT, "%s too long", what);
	memcpy(dst, src, strlen(src) + 1);
	return ST_OK;
}

static int kw_cryptomode(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (strcasecmp(av[0], "auto") == 0)
		x->c->crypto_mode = ST_CONF_CRYPTO_MODE_AUTO;
	else if (strcasecmp(av[0], "ops") == 0)
		x->c->crypto_mode = ST_CONF_CRYPTO_MODE_OPS;
	else if (strcasecmp(av[0], "cpu") == 0)
		x->c->crypto_mode = ST_CONF_CRYPTO_MODE_CPU;
	else
		return conf_error(x, ST_ERR_FORMAT, "CryptoMode: expected 'auto', 'ops' or 'cpu'");
	return ST_OK;
}

/* TCPCongestion cubic|newreno: congestion control of every connection, client or backend. */
static int kw_tcpcongestion(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (strcasecmp(av[0], "cubic") == 0)
		x->c->tcp_congestion = ST_CONF_TCP_CUBIC;
	else if (strcasecmp(av[0], "newreno") == 0)
		x->c->tcp_congestion = ST_CONF_TCP_NEWRENO;
	else
		return conf_error(x, ST_ERR_FORMAT,
				  "TCPCongestion: expected 'cubic' or 'newreno', got '%s'", av[0]);
	return ST_OK;
}

/* A size in [lo, hi] with K/M/G suffixes into *out, or a "<kw>: expected ..." error. */
static int size_in(struct conf_ctx *x, const char *kw, const char *s, uint64_t lo, uint64_t hi,
		   uint32_t *out)
{
	uint64_t v;

	if (parse_size(s, &v) != ST_OK || v < lo || v > hi)
		return conf_error(x, ST_ERR_FORMAT, "%s: expected %lluK..%lluM bytes, got '%s'", kw,
				  (unsigned long long)(lo >> 10), (unsigned long long)(hi >> 20), s);
	*out = (uint32_t)v;
	return ST_OK;
}

/* TCPReceiveWindowMax SIZE: the cap of the TCP receive window's autotuning. */
static int kw_tcprcvwin(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return size_in(x, "TCPReceiveWindowMax", av[0], ST_CONF_TCP_RCVWIN_MIN,
		       ST_CONF_TCP_RCVWIN_MAX, &x->c->tcp_rcvwin_max);
}

/* TCPSendBufferMax SIZE: the cap of the TCP send buffer's autotuning. */
static int kw_tcpsndbuf(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return size_in(x, "TCPSendBufferMax", av[0], ST_CONF_TCP_RCVWIN_MIN, ST_CONF_TCP_RCVWIN_MAX,
		       &x->c->tcp_sndbuf_max);
}

/* ChannelWindowMax SIZE: the cap of a session's channel windows' growth. */
static int kw_chanwinmax(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return size_in(x, "ChannelWindowMax", av[0], ST_CTL_CHANNEL_WINDOW_MIN,
		       ST_CTL_CHANNEL_WINDOW_MAX, &x->c->ctl.channel_window_max);
}

static int kw_cryptobackend(struct conf_ctx *x, char **av, int ac)
{
	if (strcasecmp(av[0], "evp") == 0 && ac == 1) {
		x->c->crypto_backend = ST_CONF_CRYPTO_EVP;
	} else if (strcasecmp(av[0], "cryptodev") == 0) {
		x->c->crypto_backend = ST_CONF_CRYPTO_CRYPTODEV;
		return copy_arg(x, "CryptoBackend: device name", ac == 2 ? av[1] : "",
				x->c->crypto_device, sizeof(x->c->crypto_device));
	} else {
		return conf_error(x, ST_ERR_FORMAT,
				  "CryptoBackend: expected 'evp' or 'cryptodev [DEVICE]'");
	}
	return ST_OK;
}

static int kw_cryptoprovider(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return copy_arg(x, "CryptoProvider:", av[0], x->c->crypto_provider,
			sizeof(x->c->crypto_provider));
}

static int kw_cryptoengine(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	return copy_arg(x, "CryptoEngine:", av[0], x->c->crypto_engine, sizeof(x->c->crypto_engine));
}

/*
 * NeighborReachableTime TIME: how long an ARP or Neighbor Discovery entry
 * counts as confirmed (RFC 4861's ReachableTime; Linux's base_reachable_time).
 */
static int kw_neighreach(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	uint32_t t;
	if (parse_time(av[0], &t) != ST_OK || t == 0 || t > ST_CONF_NEIGH_REACHABLE_MAX)
		return conf_error(x, ST_ERR_FORMAT,
				  "NeighborReachableTime: expected 1s..%us, got '%s'",
				  ST_CONF_NEIGH_REACHABLE_MAX, av[0]);
	x->c->neigh_reachable_s = t;
	return ST_OK;
}

/* WorkerIdle poll | sleep [MS]: idle workers busy-poll, or sleep after MS (10) without packets. */
static int kw_workeridle(struct conf_ctx *x, char **av, int ac)
{
	char *end;
	unsigned long ms = 10;

	if (strcasecmp(av[0], "poll") == 0 && ac == 1) {
		x->c->worker_idle_ms = 0;
		return ST_OK;
	}
	if (strcasecmp(av[0], "sleep") != 0)
		return conf_error(x, ST_ERR_FORMAT, "WorkerIdle: expected 'poll' or 'sleep [MS]'");
	if (ac == 2) {
		errno = 0;
		ms = strtoul(av[1], &end, 10);
		if (errno || *end != '\0' || av[1][0] == '-' || ms < 1 || ms > 60000)
			return conf_error(x, ST_ERR_FORMAT,
					  "WorkerIdle sleep: MS must be 1..60000 milliseconds");
	}
	x->c->worker_idle_ms = (unsigned)ms;
	return ST_OK;
}

/* MTU N: the port's MTU (576..9000, default 1500); TCP's MSS follows it. */
static int kw_mtu(struct conf_ctx *x, char **av, int ac)
{
	unsigned long long v;

	(void)ac;
	if (parse_uint(av[0], 65535, &v) != ST_OK ||
	    st_ctl_config_set_mtu(&x->c->ctl, (unsigned long)v) != ST_OK)
		return conf_error(x, ST_ERR_FORMAT, "MTU: expected %u..%u bytes, got '%s'",
				  ST_CTL_MTU_MIN, ST_CTL_MTU_MAX, av[0]);
	return ST_OK;
}

/* ---- per-source limits (control/srclimit.h) ---- */

/* PerSourceNetBlockSize V4[:V6]: prefix lengths that group sources (32:128). */
static int kw_netblock(struct conf_ctx *x, char **av, int ac)
{
	unsigned long long v4, v6 = x->c->srclimit.netblock6;
	char *colon = strchr(av[0], ':');

	(void)ac;
	if (colon != NULL)
		*colon++ = '\0';
	if (parse_uint(av[0], 32, &v4) != ST_OK || (colon != NULL && parse_uint(colon, 128, &v6) != ST_OK))
		return conf_error(x, ST_ERR_FORMAT,
				  "PerSourceNetBlockSize: expected V4[:V6] with V4 0..32 and V6 0..128");
	x->c->srclimit.netblock4 = (uint8_t)v4;
	x->c->srclimit.netblock6 = (uint8_t)v6;
	return ST_OK;
}

/* PerSourceMaxStartups N | none */
static int kw_persource_maxstartups(struct conf_ctx *x, char **av, int ac)
{
	unsigned long long v;

	(void)ac;
	if (strcasecmp(av[0], "none") == 0) {
		x->c->srclimit.max_startups = 0;
		return ST_OK;
	}
	if (parse_uint(av[0], 1000000, &v) != ST_OK || v == 0)
		return conf_error(x, ST_ERR_FORMAT,
				  "PerSourceMaxStartups: expected 'none' or 1..1000000, got '%s'", av[0]);
	x->c->srclimit.max_startups = (uint32_t)v;
	return ST_OK;
}

static int parse_overflow(const char *s, enum st_srclimit_overflow *o)
{
	if (strcasecmp(s, "permissive") == 0)
		*o = ST_SRCLIMIT_OVERFLOW_PERMISSIVE;
	else if (strcasecmp(s, "deny-all") == 0)
		*o = ST_SRCLIMIT_OVERFLOW_DENY_ALL;
	else
		return ST_ERR_FORMAT;
	return ST_OK;
}

/*
 * PerSourcePenalties yes | no | KEYWORD:VALUE ...: crash, authfail, noauth,
 * grace-exceeded, max, min take durations; max-sources4, max-sources6 counts;
 * overflow, overflow6 permissive | deny-all (overflow6 follows overflow unless
 * given).
 */
static int kw_penalties(struct conf_ctx *x, char **av, int ac)
{
	static const struct {
		const char *name;
		int kind; /* penalty kind, or -1 max, -2 min */
	} durations[] = {
		{"crash", ST_SRCLIMIT_PENALTY_CRASH},
		{"authfail", ST_SRCLIMIT_PENALTY_AUTHFAIL},
		{"noauth", ST_SRCLIMIT_PENALTY_NOAUTH},
		{"grace-exceeded", ST_SRCLIMIT_PENALTY_GRACE},
		{"max", -1},
		{"min", -2},
	};
	struct st_srclimit_conf *sl = &x->c->srclimit;
	int overflow6_set = 0;

	for (int i = 0; i < ac; i++) {
		char *w = av[i], *val = strchr(w, ':');
		size_t d;

		if (val == NULL) {
			if (strcasecmp(w, "yes") == 0)
				sl->penalties = 1;
			else if (strcasecmp(w, "no") == 0)
				sl->penalties = 0;
			else
				return conf_error(x, ST_ERR_FORMAT,
						  "PerSourcePenalties: expected yes, no or KEYWORD:VALUE, "
						  "got '%s'", w);
			continue;
		}
		*val++ = '\0';
		for (d = 0; d < sizeof(durations) / sizeof(durations[0]); d++)
			if (strcasecmp(w, durations[d].name) == 0)
				break;
		if (d < sizeof(durations) / sizeof(durations[0])) {
			uint32_t secs;
			if (parse_time(val, &secs) != ST_OK)
				return conf_error(x, ST_ERR_FORMAT,
						  "PerSourcePenalties: %s: bad duration '%s'", w, val);
			if (durations[d].kind == -1)
				sl->penalty_max_s = secs;
			else if (durations[d].kind == -2)
				sl->penalty_min_s = secs;
			else
				sl->penalty_s[durations[d].kind] = secs;
		} else if (strcasecmp(w, "max-sources4") == 0 || strcasecmp(w, "max-sources6") == 0) {
			unsigned long long v;
			if (parse_uint(val, ST_SRCLIMIT_MAX_SOURCES, &v) != ST_OK || v == 0)
				return conf_error(x, ST_ERR_FORMAT,
						  "PerSourcePenalties: %s: expected 1..%u, got '%s'", w,
						  ST_SRCLIMIT_MAX_SOURCES, val);
			if (w[11] == '4')
				sl->max_sources4 = (uint32_t)v;
			else
				sl->max_sources6 = (uint32_t)v;
		} else if (strcasecmp(w, "overflow") == 0 || strcasecmp(w, "overflow6") == 0) {
			int six = w[8] == '6';
			if (parse_overflow(val, six ? &sl->overflow6 : &sl->overflow4) != ST_OK)
				return conf_error(x, ST_ERR_FORMAT,
						  "PerSourcePenalties: %s: expected permissive or deny-all, "
						  "got '%s'", w, val);
			overflow6_set |= six;
		} else {
			return conf_error(x, ST_ERR_FORMAT, "PerSourcePenalties: unknown keyword '%s'", w);
		}
	}
	if (!overflow6_set)
		sl->overflow6 = sl->overflow4;
	if (sl->penalty_max_s < sl->penalty_min_s)
		return conf_error(x, ST_ERR_FORMAT,
				  "PerSourcePenalties: max (%us) is less than min (%us): no penalty "
				  "could ever be enforced",
				  sl->penalty_max_s, sl->penalty_min_s);
	return ST_OK;
}

/* PerSourcePenaltyExemptList ADDR[/LEN],PATTERN,... */
static int kw_penalty_exempt(struct conf_ctx *x, char **av, int ac)
{
	char why[ST_CONF_ERR_MAX / 2];
	int r;

	(void)ac;
	if ((r = st_srclimit_exempt_check(av[0], why, sizeof(why))) != ST_OK)
		return conf_error(x, r, "PerSourcePenaltyExemptList: %s", why);
	snprintf(x->c->srclimit.exempt, sizeof(x->c->srclimit.exempt), "%s", av[0]);
	return ST_OK;
}

/* PerSourceKexRate none | RATE[:BURST]: ms of key-exchange CPU per second, bucket depth in ms. */
static int kw_kexrate(struct conf_ctx *x, char **av, int ac)
{
	unsigned long long rate, burst;
	char *colon = strchr(av[0], ':');

	(void)ac;
	if (strcasecmp(av[0], "none") == 0) {
		x->c->srclimit.kex_rate_ms = 0;
		return ST_OK;
	}
	if (colon != NULL)
		*colon++ = '\0';
	if (parse_uint(av[0], ST_SRCLIMIT_KEX_RATE_MAX, &rate) != ST_OK || rate == 0)
		return conf_error(x, ST_ERR_FORMAT,
				  "PerSourceKexRate: expected 'none' or RATE[:BURST] with RATE 1..%u "
				  "(ms of CPU per second)",
				  ST_SRCLIMIT_KEX_RATE_MAX);
	burst = rate * 20 < ST_SRCLIMIT_KEX_BURST_MAX ? rate * 20 : ST_SRCLIMIT_KEX_BURST_MAX;
	if (colon != NULL &&
	    (parse_uint(colon, ST_SRCLIMIT_KEX_BURST_MAX, &burst) != ST_OK || burst == 0))
		return conf_error(x, ST_ERR_FORMAT, "PerSourceKexRate: BURST must be 1..%u ms, got '%s'",
				  ST_SRCLIMIT_KEX_BURST_MAX, colon);
	x->c->srclimit.kex_rate_ms = (uint32_t)rate;
	x->c->srclimit.kex_burst_ms = (uint32_t)burst;
	return ST_OK;
}

/* ControlThreads N: control-plane threads, each owning the sessions of some workers. */
static int kw_controlthreads(struct conf_ctx *x, char **av, int ac)
{
	unsigned long long v;

	(void)ac;
	if (parse_uint(av[0], ST_CONF_MAX_CONTROL_THREADS, &v) != ST_OK || v == 0)
		return conf_error(x, ST_ERR_FORMAT, "ControlThreads: expected 1..%u, got '%s'",
				  ST_CONF_MAX_CONTROL_THREADS, av[0]);
	x->c->control_threads = (unsigned)v;
	return ST_OK;
}

/* KexThreads N | auto: helper threads for the server side of key exchanges (0: none). */
static int kw_kexthreads(struct conf_ctx *x, char **av, int ac)
{
	unsigned long long v;

	(void)ac;
	if (strcasecmp(av[0], "auto") == 0) {
		x->c->kex_threads = ST_CONF_KEX_THREADS_AUTO;
		return ST_OK;
	}
	if (parse_uint(av[0], ST_CONF_MAX_KEX_THREADS, &v) != ST_OK)
		return conf_error(x, ST_ERR_FORMAT, "KexThreads: expected 0..%u or auto, got '%s'",
				  ST_CONF_MAX_KEX_THREADS, av[0]);
	x->c->kex_threads = (unsigned)v;
	return ST_OK;
}

/*
 * ControlCpus LIST: CPUs for the control threads, "2-5,8" as in taskset(1);
 * thread k runs on the k-th CPU of the list (modulo its length).
 */
static int kw_controlcpus(struct conf_ctx *x, char **av, int ac)
{
	char *p = av[0];
	unsigned n = 0;

	(void)ac;
	while (*p != '\0') {
		char *end;
		unsigned long lo, hi;
		errno = 0;
		if (*p < '0' || *p > '9')
			goto bad;
		lo = strtoul(p, &end, 10);
		if (errno || end == p || lo >= 1024)
			goto bad;
		hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtoul(p, &end, 10);
			if (errno || end == p || hi >= 1024 || hi < lo)
				goto bad;
			p = end;
		}
		for (unsigned long c = lo; c <= hi; c++) {
			if (n == ST_CONF_MAX_CONTROL_CPUS)
				return conf_error(x, ST_ERR_FORMAT, "ControlCpus: more than %u CPUs",
						  ST_CONF_MAX_CONTROL_CPUS);
			x->c->control_cpus[n++] = (uint16_t)c;
		}
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	x->c->n_control_cpus = n;
	return ST_OK;
bad:
	return conf_error(x, ST_ERR_FORMAT, "ControlCpus: expected a CPU list like 2-5,8 (CPUs "
					    "0..1023), got '%s'", av[0]);
}

static int kw_loglevel(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (st_log_level_from_name(av[0], &x->c->log_level) != 0)
		return conf_error(x, ST_ERR_FORMAT, "LogLevel: expected QUIET, FATAL, ERROR, INFO, "
				  "VERBOSE or DEBUG[1-3], got '%s'", av[0]);
	return ST_OK;
}

static int kw_syslogfacility(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	if (st_log_facility_from_name(av[0], &x->c->syslog_facility) != 0)
		return conf_error(x, ST_ERR_FORMAT, "SyslogFacility: expected DAEMON, USER, AUTH, "
				  "AUTHPRIV or LOCAL0-7, got '%s'", av[0]);
	return ST_OK;
}

/*
 * MetricsListen ADDR:PORT ("[v6]:PORT" too) or "none". The port is required:
 * there is no registered default, and a silent guess would collide.
 */
static int kw_metricslisten(struct conf_ctx *x, char **av, int ac)
{
	(void)ac;
	char *a = av[0], *port;
	uint16_t p;
	int bracketed = a[0] == '[';

	if (strcasecmp(a, "none") == 0) {
		x->c->metrics_addr[0] = '\0';
		x->c->metrics_port = 0;
		return ST_OK;
	}
	if (a[0] == '[') {
		char *close = strchr(a, ']');
		if (close == NULL || close[1] != ':')
			return conf_error(x, ST_ERR_FORMAT,
					  "MetricsListen: expected '[ADDR]:PORT', got '%s'", av[0]);
		*close = '\0';
		port = close + 2;
		a++;
	} else {
		char *colon = strrchr(a, ':');
		if (colon == NULL || strchr(a, ':') != colon)
			return conf_error(x, ST_ERR_FORMAT,
					  "MetricsListen: expected 'ADDR:PORT' or 'none', got '%s'", a);
		*colon = '\0';
		port = colon + 1;
	}
	if (parse_port(port, &p) != ST_OK)
		return conf_error(x, ST_ERR_FORMAT, "MetricsListen: bad port '%s'", port);
	if (!is_ip(a) || (bracketed && is_ipv4(a)) || strlen(a) >= sizeof(x->c->metrics_addr))
		return conf_error(x, ST_ERR_FORMAT, "MetricsListen: '%s' is not an IP address", a);
	snprintf(x->c->metrics_addr, sizeof(x->c->metrics_addr), "%s", a);
	x->c->metrics_port = p;
	return ST_OK;
}

static const struct keyword keywords[] = {
	{"LogLevel", 1, 1, 0, kw_loglevel},
	{"SyslogFacility", 1, 1, 0, kw_syslogfacility},
	{"Port", 1, 1, 1, kw_port},
	{"ListenAddress", 1, 1, 1, kw_listen},
	{"HostKey", 1, 1, 1, kw_hostkey},
	{"HostCertificate", 1, 1, 1, kw_hostcert},
	{"AuthorizedKeysFile", 1, -1, 0, kw_authkeys},
	{"TrustedUserCAKeys", 1, 1, 0, kw_trustedca},
	{"AuthorizedPrincipalsFile", 1, 1, 0, kw_principalsfile},
	{"RevokedKeys", 1, 1, 0, kw_revokedkeys},
	{"AuthorizedKeysCommand", 1, -1, 0, kw_akc},
	{"AuthorizedKeysCommandUser", 1, 1, 0, kw_akc_user},
	{"AuthorizedKeysCommandTimeout", 1, 1, 0, kw_akc_timeout},
	{"AuthorizedKeysCommandCacheTime", 1, 1, 0, kw_akc_cache},
	{"KexAlgorithms", 1, 1, 0, kw_kex},
	{"Ciphers", 1, 1, 0, kw_ciphers},
	{"MACs", 1, 1, 0, kw_macs},
	{"HostKeyAlgorithms", 1, 1, 0, kw_hostkeyalgs},
	{"CASignatureAlgorithms", 1, 1, 0, kw_casigalgs},
	{"MaxAuthTries", 1, 1, 0, kw_maxauthtries},
	{"MaxStartups", 1, 1, 0, kw_maxstartups},
	{"LoginGraceTime", 1, 1, 0, kw_logingrace},
	{"RekeyLimit", 1, 2, 0, kw_rekeylimit},
	{"PermitOpen", 1, -1, 1, kw_permitopen},
	{"Service", 2, 3, 1, kw_service},
	{"ProxyProtocol", 1, 1, 0, kw_proxyprotocol},
	{"ProxyProtocolFrom", 1, 1, 0, kw_proxyprotocolfrom},
	{"DefaultService", 1, -1, 0, kw_defaultservice},
	{"Address", 1, 1, 1, kw_address},
	{"Gateway", 1, 1, 1, kw_gateway},
	{"ControlSocket", 1, 1, 0, kw_controlsocket},
	{"CryptoBackend", 1, 2, 0, kw_cryptobackend},
	{"CryptoMode", 1, 1, 0, kw_cryptomode},
	{"CryptoProvider", 1, 1, 0, kw_cryptoprovider},
	{"CryptoEngine", 1, 1, 0, kw_cryptoengine},
	{"WorkerIdle", 1, 2, 0, kw_workeridle},
	{"NeighborReachableTime", 1, 1, 0, kw_neighreach},
	{"MTU", 1, 1, 0, kw_mtu},
	{"TCPCongestion", 1, 1, 0, kw_tcpcongestion},
	{"TCPReceiveWindowMax", 1, 1, 0, kw_tcprcvwin},
	{"TCPSendBufferMax", 1, 1, 0, kw_tcpsndbuf},
	{"ChannelWindowMax", 1, 1, 0, kw_chanwinmax},
	{"TapInterface", 1, 1, 0, kw_tapinterface},
	{"ControlThreads", 1, 1, 0, kw_controlthreads},
	{"ControlCpus", 1, 1, 0, kw_controlcpus},
	{"KexThreads", 1, 1, 0, kw_kexthreads},
	{"PerSourceNetBlockSize", 1, 1, 0, kw_netblock},
	{"PerSourceMaxStartups", 1, 1, 0, kw_persource_maxstartups},
	{"PerSourcePenalties", 1, -1, 0, kw_penalties},
	{"PerSourcePenaltyExemptList", 1, 1, 0, kw_penalty_exempt},
	{"PerSourceKexRate", 1, 1, 0, kw_kexrate},
	{"MetricsListen", 1, 1, 0, kw_metricslisten},
};

/*
 * Splits a line into words in place: white space separates, double quotes
 * group (no escapes, like sshd), the keyword may end in '='. Returns the word
 * count or -1 for an unterminated quote or too many words.
 */
static int split_words(char *s, char **av)
{
	int ac = 0;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0')
			break;
		if (ac == MAX_WORDS)
			return -1;
		if (*s == '"') {
			char *end = strchr(s + 1, '"');
			if (end == NULL)
				return -1;
			*end = '\0';
			av[ac++] = s + 1;
			s = end + 1;
			continue;
		}
		av[ac++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' && (ac > 1 || *s != '='))
			s++;
		if (*s == '=' && ac == 1) {
			*s++ = '\0'; /* Keyword=value */
			continue;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
	return ac;
}

static int parse_line(struct conf_ctx *x, char *line)
{
	char *av[MAX_WORDS];
	int ac;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '#' || *line == '\0' || *line == '\r')
		return ST_OK;
	if ((ac = split_words(line, av)) < 0)
		return conf_error(x, ST_ERR_FORMAT, "unterminated quote or too many words");
	if (ac == 0)
		return ST_OK;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		const struct keyword *k = &keywords[i];
		if (strcasecmp(av[0], k->name) != 0)
			continue;
		int nargs = ac - 1;
		if (nargs < k->min_args || (k->max_args >= 0 && nargs > k->max_args)) {
			if (k->max_args < 0)
				return conf_error(x, ST_ERR_FORMAT,
						  "%s: expected at least %d argument(s), got %d",
						  k->name, k->min_args, nargs);
			if (k->max_args == k->min_args)
				return conf_error(x, ST_ERR_FORMAT,
						  "%s: expected %d argument(s), got %d", k->name,
						  k->min_args, nargs);
			return conf_error(x, ST_ERR_FORMAT, "%s: expected %d to %d arguments, got %d",
					  k->name, k->min_args, k->max_args, nargs);
		}
		if (!k->repeat && (x->seen & (1ull << i)) != 0)
			return ST_OK; /* first occurrence wins, as in sshd */
		x->seen |= 1ull << i;
		return k->fn(x, av + 1, nargs);
	}
	return conf_error(x, ST_ERR_FORMAT, "unknown keyword '%s'", av[0]);
}

const char *st_daemon_conf_keyword(unsigned i)
{
	return i < sizeof(keywords) / sizeof(keywords[0]) ? keywords[i].name : NULL;
}

int st_daemon_conf_parse(struct st_daemon_conf *c, const char *text, size_t len,
			 const char *name, char *err, size_t errsz)
{
	struct conf_ctx x = {c, name, 0, err, errsz, 0};
	char line[LINE_MAX_LEN + 1];
	size_t off = 0;
	int r;

	if (errsz > 0)
		err[0] = '\0';
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		x.line++;
		if (n > LINE_MAX_LEN)
			return conf_error(&x, ST_ERR_FORMAT, "line longer than %d bytes",
					  LINE_MAX_LEN);
		memcpy(line, text + off, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL)
			return conf_error(&x, ST_ERR_FORMAT, "NUL byte in line");
		if ((r = parse_line(&x, line)) != ST_OK)
			return r;
		off += n + (nl != NULL);
	}
	if (c->n_ports == 0)
		c->ports[c->n_ports++] = 22;
	/* sshd refuses to run the command as root by default: a user must be named. */
	if (c->ctl.akc_command[0] != '\0' && c->ctl.akc_user[0] == '\0') {
		snprintf(err, errsz, "%s: AuthorizedKeysCommand needs AuthorizedKeysCommandUser", name);
		return ST_ERR_FORMAT;
	}
	return ST_OK;
}

int st_daemon_conf_load(struct st_daemon_conf *c, const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;
	int r;

	if (f == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return ST_ERR_SYSTEM;
	}
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return ST_ERR_ALLOC;
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errsz, "%s: read error", path);
		r = ST_ERR_SYSTEM;
	} else if (n > FILE_MAX) {
		snprintf(err, errsz, "%s: larger than %u bytes", path, FILE_MAX);
		r = ST_ERR_FORMAT;
	} else {
		r = st_daemon_conf_parse(c, buf, n, path, err, errsz);
	}
	free(buf);
	fclose(f);
	return r;
}

int st_daemon_conf_load_hostkeys(struct st_daemon_conf *c, char *err, size_t errsz)
{
	if (c->n_hostkey_paths == 0) {
		snprintf(err, errsz, "no HostKey configured");
		return ST_ERR_NOT_FOUND;
	}
	for (unsigned i = 0; i < c->n_hostkey_paths; i++) {
		int r = st_ctl_config_add_hostkey_file(&c->ctl, c->hostkey_paths[i]);
		if (r != ST_OK) {
			snprintf(err, errsz, "%s: %s", c->hostkey_paths[i],
				 r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
			return r;
		}
	}
	for (unsigned i = 0; i < c->n_hostcert_paths; i++) {
		int r = st_hostcert_load(&c->ctl, c->hostcert_paths[i], err, errsz);
		if (r != ST_OK)
			return r;
	}
	return ST_OK;
}
