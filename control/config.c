#include "control/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/kex.h"
#include "control/match.h"
#include "crypto/cipher.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/keyfile.h"
#include "crypto/secmem.h"
#include "crypto/sig.h"

int st_namelist_has(const char *list, size_t list_len, const char *name, size_t len)
{
	size_t i = 0;

	while (i <= list_len) {
		size_t j = i;
		while (j < list_len && list[j] != ',')
			j++;
		if (j - i == len && len > 0 && memcmp(list + i, name, len) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

int st_ctl_config_init(struct st_ctl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->kex_algs, sizeof(cfg->kex_algs), "%s", ST_CTL_DEFAULT_KEX);
	snprintf(cfg->hostkey_algs, sizeof(cfg->hostkey_algs), "%s", ST_CTL_DEFAULT_HOSTKEY_ALGS);
	snprintf(cfg->ca_sig_algs, sizeof(cfg->ca_sig_algs), "%s", ST_CTL_DEFAULT_CA_SIG_ALGS);
	snprintf(cfg->ciphers, sizeof(cfg->ciphers), "%s", st_cipher_default_list);
	snprintf(cfg->macs, sizeof(cfg->macs), "%s", st_mac_default_list);
	snprintf(cfg->version, sizeof(cfg->version), "%s", ST_CTL_DEFAULT_VERSION);
	snprintf(cfg->authorized_keys_file, sizeof(cfg->authorized_keys_file), "%s",
		 "%h/.ssh/authorized_keys");
	cfg->max_auth_tries = 6;
	cfg->login_grace_time = 120;
	cfg->rekey_bytes = 1ull << 30;
	cfg->rekey_seconds = 3600;
	cfg->akc_timeout = 5;
	cfg->permitopen_mode = ST_PERMITOPEN_NONE;
	snprintf(cfg->default_service, sizeof(cfg->default_service), "%s", "echo");
	cfg->channel_window = 2u << 20;
	cfg->channel_window_max = ST_CTL_CHANNEL_WINDOW_MAX_DEFAULT;
	cfg->channel_max_packet = 32u << 10;
	cfg->max_channels = 16;
	cfg->direct_tcpip_confirm_on_connect = 1;
	cfg->mtu = ST_CTL_MTU_DEFAULT;
	return ST_OK;
}

int st_ctl_config_set_mtu(struct st_ctl_config *cfg, unsigned long mtu)
{
	if (mtu < ST_CTL_MTU_MIN || mtu > ST_CTL_MTU_MAX)
		return ST_ERR_INVALID_ARGUMENT;
	cfg->mtu = (uint16_t)mtu;
	return ST_OK;
}

void st_ctl_config_free(struct st_ctl_config *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned i = 0; i < cfg->n_hostkeys; i++) {
		st_key_free(cfg->hostkeys[i]);
		free(cfg->hostcerts[i]);
	}
	st_wipe(cfg, sizeof(*cfg));
}

int st_ctl_config_set_hostcert(struct st_ctl_config *cfg, unsigned idx, const uint8_t *blob,
			       size_t len)
{
	uint8_t *copy;

	if (idx >= cfg->n_hostkeys || blob == NULL || len == 0 || len > ST_CTL_HOSTCERT_MAX)
		return ST_ERR_INVALID_ARGUMENT;
	if ((copy = malloc(len)) == NULL)
		return ST_ERR_ALLOC;
	memcpy(copy, blob, len);
	free(cfg->hostcerts[idx]);
	cfg->hostcerts[idx] = copy;
	cfg->hostcert_len[idx] = len;
	return ST_OK;
}

int st_ctl_config_add_hostkey(struct st_ctl_config *cfg, struct st_key *key)
{
	if (key == NULL || !st_key_has_private(key))
		return ST_ERR_INVALID_ARGUMENT;
	for (unsigned i = 0; i < cfg->n_hostkeys; i++)
		if (st_key_type(cfg->hostkeys[i]) == st_key_type(key))
			return ST_ERR_INVALID_ARGUMENT;
	if (cfg->n_hostkeys >= ST_CTL_MAX_HOSTKEYS)
		return ST_ERR_NO_SPACE;
	cfg->hostkeys[cfg->n_hostkeys++] = key;
	return ST_OK;
}

int st_ctl_config_add_hostkey_file(struct st_ctl_config *cfg, const char *path)
{
	struct st_key *k = NULL;
	int r;

	if ((r = st_keyfile_load_private(path, &k)) != 0)
		return r;
	if ((r = st_ctl_config_add_hostkey(cfg, k)) != 0)
		st_key_free(k);
	return r;
}

typedef int (*name_ok_fn)(const char *name, size_t len);

static int kex_name_ok(const char *n, size_t l)
{
	return st_ctl_kex_method_by_name(n, l) != NULL;
}

static int hostkey_name_ok(const char *n, size_t l)
{
	enum st_sig_alg a;
	return st_sig_alg_from_name(n, l, &a) == ST_OK || st_sig_alg_from_cert_name(n, l, &a) == ST_OK;
}

static int sig_name_ok(const char *n, size_t l)
{
	enum st_sig_alg a;
	return st_sig_alg_from_name(n, l, &a) == ST_OK;
}

static int cipher_name_ok(const char *n, size_t l)
{
	return st_cipher_by_name(n, l) != NULL;
}

static int mac_name_ok(const char *n, size_t l)
{
	return st_mac_by_name(n, l) != NULL;
}

static int check_list(const char *list, name_ok_fn ok)
{
	size_t len = strlen(list), i = 0;

	if (len == 0)
		return ST_ERR_NAME_INVALID;
	while (i <= len) {
		size_t j = i;
		while (j < len && list[j] != ',')
			j++;
		if (j == i || j - i > 64)
			return ST_ERR_NAME_INVALID;
		for (size_t k = i; k < j; k++)
			if (list[k] <= ' ' || list[k] > '~')
				return ST_ERR_NAME_INVALID;
		if (!ok(list + i, j - i))
			return ST_ERR_ALG_UNSUPPORTED;
		i = j + 1;
	}
	return ST_OK;
}

static int set_list(char *dst, size_t dstsz, const char *list, name_ok_fn ok)
{
	size_t len = strlen(list);
	int r;

	if ((r = check_list(list, ok)) != ST_OK)
		return r;
	if (len >= dstsz)
		return ST_ERR_NO_SPACE;
	memcpy(dst, list, len + 1);
	return ST_OK;
}

int st_alglist_check(enum st_alg_kind kind, const char *list)
{
	static const name_ok_fn ok[] = {
		[ST_ALG_KEX] = kex_name_ok,
		[ST_ALG_HOSTKEY] = hostkey_name_ok,
		[ST_ALG_CIPHER] = cipher_name_ok,
		[ST_ALG_MAC] = mac_name_ok,
	};

	if ((unsigned)kind >= sizeof(ok) / sizeof(ok[0]) || list == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	return check_list(list, ok[kind]);
}

int st_ctl_config_set_kex(struct st_ctl_config *cfg, const char *list)
{
	return set_list(cfg->kex_algs, sizeof(cfg->kex_algs), list, kex_name_ok);
}

int st_ctl_config_set_hostkey_algs(struct st_ctl_config *cfg, const char *list)
{
	return set_list(cfg->hostkey_algs, sizeof(cfg->hostkey_algs), list, hostkey_name_ok);
}

int st_ctl_config_set_ca_sig_algs(struct st_ctl_config *cfg, const char *list)
{
	return set_list(cfg->ca_sig_algs, sizeof(cfg->ca_sig_algs), list, sig_name_ok);
}

int st_ctl_config_set_ciphers(struct st_ctl_config *cfg, const char *list)
{
	return set_list(cfg->ciphers, sizeof(cfg->ciphers), list, cipher_name_ok);
}

int st_ctl_config_set_macs(struct st_ctl_config *cfg, const char *list)
{
	return set_list(cfg->macs, sizeof(cfg->macs), list, mac_name_ok);
}

int st_ctl_config_set_version(struct st_ctl_config *cfg, const char *line)
{
	size_t len = strlen(line);

	if (len >= sizeof(cfg->version) || strncmp(line, "SSH-2.0-", 8) != 0 || len == 8)
		return ST_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < len; i++)
		if (line[i] < ' ' || line[i] > '~')
			return ST_ERR_INVALID_ARGUMENT;
	for (size_t i = 8; i < len && line[i] != ' '; i++)
		if (line[i] == '-')
			return ST_ERR_INVALID_ARGUMENT;
	memcpy(cfg->version, line, len + 1);
	return ST_OK;
}

int st_ctl_config_set_authorized_keys_file(struct st_ctl_config *cfg, const char *pattern)
{
	size_t len = strlen(pattern);

	if (len == 0)
		return ST_ERR_INVALID_ARGUMENT;
	if (len >= sizeof(cfg->authorized_keys_file))
		return ST_ERR_NO_SPACE;
	memcpy(cfg->authorized_keys_file, pattern, len + 1);
	return ST_OK;
}

static int set_path(char *dst, size_t dstsz, const char *v)
{
	size_t len = strlen(v);

	if (strcmp(v, "none") == 0)
		len = 0;
	if (len >= dstsz)
		return ST_ERR_NO_SPACE;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return ST_OK;
}

int st_ctl_config_set_trusted_user_ca_keys(struct st_ctl_config *cfg, const char *path)
{
	return set_path(cfg->trusted_user_ca_keys, sizeof(cfg->trusted_user_ca_keys), path);
}

int st_ctl_config_set_authorized_principals_file(struct st_ctl_config *cfg, const char *pattern)
{
	return set_path(cfg->authorized_principals_file, sizeof(cfg->authorized_principals_file),
			pattern);
}

int st_ctl_config_set_revoked_keys(struct st_ctl_config *cfg, const char *path)
{
	return set_path(cfg->revoked_keys, sizeof(cfg->revoked_keys), path);
}

/* "host:port", "[v6]:port"; port "*" gives 0 when allow_any. */
static int parse_hostport(const char *s, int allow_any, char *host, size_t hostsz, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL || e[1] != ':')
			return ST_ERR_FORMAT;
		h = s + 1;
		hl = (size_t)(e - h);
		colon = e + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return ST_ERR_FORMAT;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostsz)
		return ST_ERR_FORMAT;
	const char *p = colon + 1;
	unsigned long v;
	if (allow_any && strcmp(p, "*") == 0) {
		v = 0;
	} else {
		char *end;
		if (*p < '0' || *p > '9')
			return ST_ERR_FORMAT;
		v = strtoul(p, &end, 10);
		if (*end != '\0' || v == 0 || v > 65535)
			return ST_ERR_FORMAT;
	}
	for (size_t i = 0; i < hl; i++)
		if (h[i] <= ' ' || h[i] > '~')
			return ST_ERR_FORMAT;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return ST_OK;
}

int st_ctl_config_add_service(struct st_ctl_config *cfg, const char *name, const char *hostport)
{
	struct st_ctl_service sv;
	size_t nl = strlen(name);
	int r;

	memset(&sv, 0, sizeof(sv));
	if (nl == 0 || nl >= sizeof(sv.name))
		return ST_ERR_FORMAT;
	for (size_t i = 0; i < nl; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return ST_ERR_FORMAT;
	if (strcmp(name, "sink") == 0 || strcmp(name, "source") == 0 || strcmp(name, "echo") == 0)
		return ST_ERR_FORMAT;
	if (st_ctl_config_service(cfg, name) != NULL)
		return ST_ERR_FORMAT;
	if ((r = parse_hostport(hostport, 0, sv.host, sizeof(sv.host), &sv.port)) != 0)
		return r;
	if (cfg->n_services >= ST_CTL_MAX_SERVICES)
		return ST_ERR_NO_SPACE;
	memcpy(sv.name, name, nl + 1);
	cfg->services[cfg->n_services++] = sv;
	return ST_OK;
}

int st_ctl_config_service_option(struct st_ctl_config *cfg, const char *word)
{
	if (cfg->n_services == 0)
		return ST_ERR_STATE;
	if (strcmp(word, "proxy-protocol=v2") == 0) {
		cfg->services[cfg->n_services - 1].proxy_v2 = 1;
		return ST_OK;
	}
	return ST_ERR_FORMAT;
}

/* Calls fn on each comma-separated entry of list (copied to a NUL-terminated buffer). */
static int proxy_from_each(const char *list, int (*fn)(const char *entry, void *ctx), void *ctx)
{
	char e[64];

	for (const char *p = list; *p != '\0';) {
		const char *q = strchr(p, ',');
		size_t n = q != NULL ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n >= sizeof(e))
			return ST_ERR_FORMAT;
		memcpy(e, p, n);
		e[n] = '\0';
		int r = fn(e, ctx);
		if (r != 0)
			return r;
		p += n;
		if (*p == ',' && *++p == '\0')
			return ST_ERR_FORMAT; /* trailing comma */
	}
	return ST_OK;
}

static int proxy_from_valid(const char *e, void *ctx)
{
	int m;

	(void)ctx;
	if (strpbrk(e, "*?! ") != NULL)
		return ST_ERR_FORMAT;
	/* the family of the probe does not matter: the block is parsed either way */
	if (st_match_cidr("0.0.0.0", e, &m) != ST_OK || st_match_cidr("::", e, &m) != ST_OK)
		return ST_ERR_FORMAT;
	return ST_OK;
}

int st_ctl_config_set_proxy_from(struct st_ctl_config *cfg, const char *list)
{
	int r;

	if (strlen(list) >= sizeof(cfg->proxy_from))
		return ST_ERR_NO_SPACE;
	if (list[0] == '\0' || (r = proxy_from_each(list, proxy_from_valid, NULL)) != ST_OK)
		return ST_ERR_FORMAT;
	snprintf(cfg->proxy_from, sizeof(cfg->proxy_from), "%s", list);
	return ST_OK;
}

static int proxy_from_hit(const char *e, void *ctx)
{
	int m = 0;

	return st_match_cidr((const char *)ctx, e, &m) == ST_OK && m ? 1 : 0;
}

int st_ctl_config_proxy_listed(const struct st_ctl_config *cfg, const char *ip)
{
	if (cfg->proxy_mode == ST_PROXY_OFF || cfg->proxy_from[0] == '\0' || ip == NULL)
		return 0;
	return proxy_from_each(cfg->proxy_from, proxy_from_hit, (void *)(uintptr_t)ip) == 1;
}

int st_ctl_config_add_permitopen(struct st_ctl_config *cfg, const char *word)
{
	struct st_ctl_permitopen po;
	int r;

	if (strcmp(word, "any") == 0) {
		cfg->permitopen_mode = ST_PERMITOPEN_ANY;
		cfg->n_permitopen = 0;
		return ST_OK;
	}
	if (strcmp(word, "none") == 0) {
		cfg->permitopen_mode = ST_PERMITOPEN_NONE;
		cfg->n_permitopen = 0;
		return ST_OK;
	}
	memset(&po, 0, sizeof(po));
	if ((r = parse_hostport(word, 1, po.host, sizeof(po.host), &po.port)) != 0)
		return r;
	if (cfg->n_permitopen >= ST_CTL_MAX_PERMITOPEN)
		return ST_ERR_NO_SPACE;
	cfg->permitopen[cfg->n_permitopen++] = po;
	cfg->permitopen_mode = ST_PERMITOPEN_LIST;
	return ST_OK;
}

int st_ctl_config_set_default_service(struct st_ctl_config *cfg, const char *svc)
{
	size_t len = strlen(svc);

	if (len == 0 || len >= sizeof(cfg->default_service))
		return ST_ERR_INVALID_ARGUMENT;
	memcpy(cfg->default_service, svc, len + 1);
	return ST_OK;
}

const struct st_ctl_service *st_ctl_config_service(const struct st_ctl_config *cfg,
						   const char *name)
{
	for (unsigned i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}

int st_ctl_config_permitopen_allows(const struct st_ctl_config *cfg, const char *host,
				    uint16_t port)
{
	switch (cfg->permitopen_mode) {
	case ST_PERMITOPEN_ANY:
		return 1;
	case ST_PERMITOPEN_LIST:
		for (unsigned i = 0; i < cfg->n_permitopen; i++) {
			const struct st_ctl_permitopen *p = &cfg->permitopen[i];
			if ((p->port == 0 || p->port == port) &&
			    (strcmp(p->host, "*") == 0 || strcasecmp(p->host, host) == 0))
				return 1;
		}
		return 0;
	default:
		return 0;
	}
}
