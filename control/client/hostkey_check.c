/* known_hosts parsing and server host key checks (see hostkey_check.h). */
#include "control/client/hostkey_check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "control/match.h"
#include "crypto/base64.h"
#include "crypto/buf.h"
#include "control/readfile.h"
#include "crypto/err.h"
#include "crypto/key.h"

#define HASH_MAGIC "|1|"
#define HASH_MAGIC_LEN (sizeof(HASH_MAGIC) - 1)
#define SHA1_LEN 20u
/* Longest base64 text of a 20-byte salt or hash we look at (28 with padding). */
#define HASH_B64_MAX 64u

#define MARKER_REVOKED "@revoked"
#define MARKER_CA "@cert-authority"

/* Key types that are not ours: such lines are skipped without counting. */
static const char *const keytype_foreign[] = {
	"ssh-dss",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"ssh-ed448",
};
/* ...and so is any type in OpenSSH's namespace (sk-*, certificates, xmss). */
#define OPENSSH_SUFFIX "@openssh.com"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum kh_marker {
	KH_PLAIN,
	KH_REVOKED,
	KH_CA,
};

/*
 * One usable line. The host part lives in the pool at `off`: a NUL-terminated
 * pattern list, or (hashed) 20 bytes of salt followed by 20 bytes of hash.
 */
struct kh_entry {
	struct st_key *key;
	uint32_t off;
	uint8_t marker; /* enum kh_marker */
	uint8_t hashed;
};

struct st_known_hosts {
	struct kh_entry *e;
	size_t n, cap;
	uint8_t *pool;
	size_t pool_len, pool_cap;
	size_t nusable; /* entries other than @cert-authority */
};

/* What one line turned out to be. */
enum line_kind {
	LINE_ENTRY,
	LINE_SKIP, /* blank, comment, or a key type that is not ours */
	LINE_BAD,
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Next blank-separated field of s[0..len) from *i: *f / *flen, *i moves past
 * it. Returns 0 when only blanks are left.
 */
static int next_field(const char *s, size_t len, size_t *i, const char **f, size_t *flen)
{
	size_t p = *i, start;

	while (p < len && is_blank(s[p]))
		p++;
	start = p;
	while (p < len && !is_blank(s[p]))
		p++;
	*i = p;
	*f = s + start;
	*flen = p - start;
	return p > start;
}

static int field_is(const char *f, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(f, want, n) == 0;
}

static int is_foreign_keytype(const char *f, size_t n)
{
	size_t sl = sizeof(OPENSSH_SUFFIX) - 1;

	for (size_t k = 0; k < NELEM(keytype_foreign); k++) {
		if (field_is(f, n, keytype_foreign[k]))
			return 1;
	}
	return n > sl && memcmp(f + n - sl, OPENSSH_SUFFIX, sl) == 0;
}

/* Decodes base64 text that must hold exactly SHA1_LEN bytes. */
static int decode20(const char *s, size_t n, uint8_t out[SHA1_LEN])
{
	struct st_buf b;

	if (n == 0 || n > HASH_B64_MAX)
		return ST_ERR_FORMAT;
	st_buf_wrap(&b, out, SHA1_LEN);
	if (st_base64_decode(s, n, &b, 0) != ST_OK || st_buf_avail(&b) != SHA1_LEN)
		return ST_ERR_FORMAT;
	return ST_OK;
}

/* "|1|<salt>|<hash>" into salt || hash. */
static int parse_hashed(const char *f, size_t n, uint8_t out[2 * SHA1_LEN])
{
	const char *salt = f + HASH_MAGIC_LEN, *end = f + n, *bar;

	bar = memchr(salt, '|', (size_t)(end - salt));
	if (bar == NULL)
		return ST_ERR_FORMAT;
	if (decode20(salt, (size_t)(bar - salt), out) != ST_OK ||
	    decode20(bar + 1, (size_t)(end - bar - 1), out + SHA1_LEN) != ST_OK)
		return ST_ERR_FORMAT;
	return ST_OK;
}

/* Appends n bytes to the pool; *off is where they went. */
static int pool_put(struct st_known_hosts *kh, const void *p, size_t n, int nul, uint32_t *off)
{
	size_t need = n + (nul != 0);

	if (need > UINT32_MAX - kh->pool_len)
		return ST_ERR_NO_SPACE;
	if (kh->pool_len + need > kh->pool_cap) {
		size_t cap = kh->pool_cap != 0 ? kh->pool_cap : 4096;
		uint8_t *np;

		while (cap < kh->pool_len + need)
			cap *= 2;
		if ((np = realloc(kh->pool, cap)) == NULL)
			return ST_ERR_ALLOC;
		kh->pool = np;
		kh->pool_cap = cap;
	}
	memcpy(kh->pool + kh->pool_len, p, n);
	if (nul)
		kh->pool[kh->pool_len + n] = '\0';
	*off = (uint32_t)kh->pool_len;
	kh->pool_len += need;
	return ST_OK;
}

/* Adds an entry; takes ownership of key only on success. */
static int add_entry(struct st_known_hosts *kh, enum kh_marker marker, int hashed,
		     const void *host, size_t hostlen, struct st_key *key)
{
	struct kh_entry *e;
	uint32_t off;
	int r;

	if (kh->n == kh->cap) {
		size_t cap = kh->cap != 0 ? kh->cap * 2 : 16;

		if (cap > SIZE_MAX / sizeof(*e))
			return ST_ERR_ALLOC;
		if ((e = realloc(kh->e, cap * sizeof(*e))) == NULL)
			return ST_ERR_ALLOC;
		kh->e = e;
		kh->cap = cap;
	}
	if ((r = pool_put(kh, host, hostlen, !hashed, &off)) != ST_OK)
		return r;
	e = &kh->e[kh->n++];
	e->key = key;
	e->off = off;
	e->marker = (uint8_t)marker;
	e->hashed = (uint8_t)(hashed != 0);
	if (marker != KH_CA)
		kh->nusable++;
	return ST_OK;
}

/*
 * Parses one line s[0..len) (no line break) and adds its entry to kh.
 * Returns ST_OK with *kind set, or ST_ERR_ALLOC (fatal for the whole parse).
 */
static int parse_line(struct st_known_hosts *kh, const char *s, size_t len, enum line_kind *kind)
{
	uint8_t blobmem[ST_KEY_BLOB_MAX], hashmem[2 * SHA1_LEN];
	const char *f, *hosts, *type, *b64;
	size_t flen, hostslen, typelen, b64len, i = 0;
	enum kh_marker marker = KH_PLAIN;
	enum st_key_type t;
	enum st_match_result mr;
	struct st_key *k = NULL;
	struct st_buf blob;
	char *pat = NULL;
	int r, hashed;

	*kind = LINE_BAD;
	if (len > ST_KNOWN_HOSTS_LINE_MAX || memchr(s, '\0', len) != NULL)
		return ST_OK;
	if (!next_field(s, len, &i, &f, &flen) || f[0] == '#') {
		*kind = LINE_SKIP;
		return ST_OK;
	}
	if (f[0] == '@') {
		if (field_is(f, flen, MARKER_REVOKED))
			marker = KH_REVOKED;
		else if (field_is(f, flen, MARKER_CA))
			marker = KH_CA;
		else
			return ST_OK;
		if (!next_field(s, len, &i, &f, &flen))
			return ST_OK;
	}
	hosts = f;
	hostslen = flen;
	if (!next_field(s, len, &i, &type, &typelen))
		return ST_OK;
	if (st_key_type_from_name(type, typelen, &t) != ST_OK) {
		if (is_foreign_keytype(type, typelen))
			*kind = LINE_SKIP;
		return ST_OK;
	}
	if (!next_field(s, len, &i, &b64, &b64len))
		return ST_OK;
	/* Whatever follows is the comment. */

	hashed = hostslen >= HASH_MAGIC_LEN && memcmp(hosts, HASH_MAGIC, HASH_MAGIC_LEN) == 0;
	if (hashed) {
		if (parse_hashed(hosts, hostslen, hashmem) != ST_OK)
			return ST_OK;
	} else {
		if ((pat = strndup(hosts, hostslen)) == NULL)
			return ST_ERR_ALLOC;
		/* The list caps are checked now, so lookups cannot fail later. */
		r = st_match_list("", pat, ST_MATCH_FOLD_CASE, &mr);
		if (r != ST_OK) {
			r = ST_OK;
			goto out;
		}
	}

	st_buf_wrap(&blob, blobmem, sizeof(blobmem));
	if (st_base64_decode(b64, b64len, &blob, 0) != ST_OK) {
		r = ST_OK;
		goto out;
	}
	r = st_key_from_blob(st_buf_ptr(&blob), st_buf_avail(&blob), &k);
	if (r == ST_ERR_ALLOC)
		goto out;
	if (r != ST_OK || st_key_type(k) != t) {
		r = ST_OK;
		goto out;
	}
	if (hashed)
		r = add_entry(kh, marker, 1, hashmem, sizeof(hashmem), k);
	else
		r = add_entry(kh, marker, 0, pat, hostslen, k);
	if (r == ST_ERR_NO_SPACE) {
		r = ST_OK; /* cannot happen below ST_KNOWN_HOSTS_MAX_BYTES */
		goto out;
	}
	if (r != ST_OK)
		goto out;
	k = NULL;
	*kind = LINE_ENTRY;
out:
	st_key_free(k);
	free(pat);
	return r;
}

int st_known_hosts_parse(const char *text, size_t len, struct st_known_hosts **out,
			 unsigned *bad_lines)
{
	struct st_known_hosts *kh;
	size_t pos = 0;
	unsigned bad = 0;
	int r = ST_OK;

	if (out == NULL || (text == NULL && len > 0))
		return ST_ERR_INVALID_ARGUMENT;
	if (len > ST_KNOWN_HOSTS_MAX_BYTES)
		return ST_ERR_NO_SPACE;
	if ((kh = calloc(1, sizeof(*kh))) == NULL)
		return ST_ERR_ALLOC;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;
		enum line_kind kind;

		pos += llen + (nl != NULL);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if ((r = parse_line(kh, line, llen, &kind)) != ST_OK)
			break;
		if (kind == LINE_BAD && bad < UINT_MAX)
			bad++;
	}
	if (r != ST_OK) {
		st_known_hosts_free(kh);
		return r;
	}
	*out = kh;
	if (bad_lines != NULL)
		*bad_lines = bad;
	return ST_OK;
}

int st_known_hosts_load(const char *path, struct st_known_hosts **out, unsigned *bad_lines)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if (path == NULL || out == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = st_read_file(path, ST_KNOWN_HOSTS_MAX_BYTES, 0, &data, &len)) != ST_OK)
		return r;
	r = st_known_hosts_parse(data, len, out, bad_lines);
	free(data);
	return r;
}

void st_known_hosts_free(struct st_known_hosts *kh)
{
	if (kh == NULL)
		return;
	for (size_t i = 0; i < kh->n; i++)
		st_key_free(kh->e[i].key);
	free(kh->e);
	free(kh->pool);
	free(kh);
}

size_t st_known_hosts_count(const struct st_known_hosts *kh)
{
	return kh != NULL ? kh->nusable : 0;
}

const char *st_hostkey_verdict_text(enum st_hostkey_verdict v)
{
	switch (v) {
	case ST_HOSTKEY_OK:
		return "host key matches a known key";
	case ST_HOSTKEY_UNKNOWN:
		return "host key is not known";
	case ST_HOSTKEY_MISMATCH:
		return "host key differs from the key known for this host";
	case ST_HOSTKEY_REVOKED:
		return "host key is revoked";
	}
	return "invalid host key verdict";
}

/*
 * The lookup name, lowercased: "host" for port 22, else "[host]:port".
 * Returns its length, or 0 for a host that cannot be looked up (NULL, empty,
 * too long, blanks, commas, brackets or control characters).
 */
static size_t lookup_name(const char *host, uint16_t port, char out[ST_KNOWN_HOSTS_NAME_MAX + 1])
{
	size_t hl, n = 0;
	char tail[8];

	if (host == NULL)
		return 0;
	hl = strnlen(host, ST_KNOWN_HOSTS_NAME_MAX + 1);
	if (hl == 0 || hl > ST_KNOWN_HOSTS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c <= 0x20 || c == 0x7f || c == ',' || c == '[' || c == ']')
			return 0;
	}
	if (port != 22) {
		int tl = snprintf(tail, sizeof(tail), "]:%u", (unsigned)port);

		if (tl < 0 || (size_t)tl >= sizeof(tail) ||
		    hl + 1 + (size_t)tl > ST_KNOWN_HOSTS_NAME_MAX)
			return 0;
		out[n++] = '[';
		memcpy(out + n, host, hl);
		n += hl;
		memcpy(out + n, tail, (size_t)tl);
		n += (size_t)tl;
	} else {
		memcpy(out, host, hl);
		n = hl;
	}
	out[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	}
	return n;
}

/* 1 when e names the (lowercased) host name[0..n). */
static int entry_matches(const struct st_known_hosts *kh, const struct kh_entry *e,
			 const char *name, size_t n)
{
	enum st_match_result mr;

	if (e->hashed) {
		const uint8_t *salt = kh->pool + e->off, *hash = salt + SHA1_LEN;
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;

		if (HMAC(EVP_sha1(), salt, (int)SHA1_LEN, (const unsigned char *)name, n, mac,
			 &maclen) == NULL ||
		    maclen != SHA1_LEN)
			return 0;
		return CRYPTO_memcmp(mac, hash, SHA1_LEN) == 0;
	}
	if (st_match_list(name, (const char *)kh->pool + e->off, ST_MATCH_FOLD_CASE, &mr) != ST_OK)
		return 0;
	return mr == ST_MATCH_YES;
}

enum st_hostkey_verdict st_known_hosts_check(const struct st_known_hosts *kh, const char *host,
					     uint16_t port, const struct st_key *key)
{
	char name[ST_KNOWN_HOSTS_NAME_MAX + 1];
	size_t n;
	int known = 0;

	if (key == NULL)
		return ST_HOSTKEY_MISMATCH;
	if (kh == NULL)
		return ST_HOSTKEY_UNKNOWN;
	for (size_t i = 0; i < kh->n; i++) {
		if (kh->e[i].marker == KH_REVOKED && st_key_equal_public(kh->e[i].key, key))
			return ST_HOSTKEY_REVOKED;
	}
	if ((n = lookup_name(host, port, name)) == 0)
		return ST_HOSTKEY_MISMATCH;
	for (size_t i = 0; i < kh->n; i++) {
		const struct kh_entry *e = &kh->e[i];

		if (e->marker != KH_PLAIN || !entry_matches(kh, e, name, n))
			continue;
		if (st_key_equal_public(e->key, key))
			return ST_HOSTKEY_OK;
		known = 1;
	}
	return known ? ST_HOSTKEY_MISMATCH : ST_HOSTKEY_UNKNOWN;
}

/* Host key algorithms per key type, in the default order. */
static const struct {
	const char *name;
	enum st_key_type type;
} hostkey_algs[] = {
	{ "ssh-ed25519", ST_KEY_ED25519 },
	{ "ecdsa-sha2-nistp256", ST_KEY_ECDSA_P256 },
	{ "rsa-sha2-512", ST_KEY_RSA },
	{ "rsa-sha2-256", ST_KEY_RSA },
};

/* Appends alg k when it is known and not there yet; 0 when out is full. */
static int algs_add(size_t k, unsigned have, unsigned *done, char *out, size_t outsz, size_t *len)
{
	const char *nm = hostkey_algs[k].name;
	size_t nl = strlen(nm), sep = *len > 0;

	if (!(have & (1u << hostkey_algs[k].type)) || (*done & (1u << k)))
		return 1;
	if (*len + sep + nl >= outsz)
		return 0;
	if (sep)
		out[(*len)++] = ',';
	memcpy(out + *len, nm, nl);
	*len += nl;
	out[*len] = '\0';
	*done |= 1u << k;
	return 1;
}

void st_known_hosts_algs(const struct st_known_hosts *kh, const char *host, uint16_t port,
			 const char *prefer, char *out, size_t outsz)
{
	char name[ST_KNOWN_HOSTS_NAME_MAX + 1];
	unsigned have = 0, done = 0;
	size_t n, len = 0;

	if (out == NULL || outsz == 0)
		return;
	out[0] = '\0';
	if (kh == NULL || (n = lookup_name(host, port, name)) == 0)
		return;
	for (size_t i = 0; i < kh->n; i++) {
		const struct kh_entry *e = &kh->e[i];

		if (e->marker == KH_PLAIN && entry_matches(kh, e, name, n))
			have |= 1u << st_key_type(e->key);
	}
	if (have == 0)
		return;
	if (prefer == NULL) {
		for (size_t k = 0; k < NELEM(hostkey_algs); k++) {
			if (!algs_add(k, have, &done, out, outsz, &len))
				return;
		}
		return;
	}
	for (const char *p = prefer;;) {
		const char *end = strchr(p, ',');
		size_t pl = end != NULL ? (size_t)(end - p) : strlen(p);

		for (size_t k = 0; k < NELEM(hostkey_algs); k++) {
			if (field_is(p, pl, hostkey_algs[k].name)) {
				if (!algs_add(k, have, &done, out, outsz, &len))
					return;
				break;
			}
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
}

int st_hostkey_fingerprint_matches(const struct st_key *key, const char *fingerprint)
{
	char mine[ST_KEY_FP_SIZE];
	size_t m, n;

	if (key == NULL || fingerprint == NULL)
		return 0;
	if (st_key_fingerprint_sha256(key, mine, sizeof(mine)) != ST_OK)
		return 0;
	m = strlen(mine);
	n = strnlen(fingerprint, sizeof(mine) + 1);
	/* SHA-256 in base64 has exactly one '=' of padding. */
	if (n == m + 1 && fingerprint[m] == '=')
		n = m;
	if (n != m)
		return 0;
	return CRYPTO_memcmp(mine, fingerprint, m) == 0;
}
