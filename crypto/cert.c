/*
 * OpenSSH certificate parsing and CA signature verification (crypto/cert.h).
 * No state of its own: a struct st_cert belongs to whoever parsed it.
 */
#include "crypto/cert.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/sig.h"

static const struct cert_type_info {
	const char *cert_name;
	const char *plain_name;
	enum st_key_type key_type;
} cert_types[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", ST_KEY_ED25519 },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", ST_KEY_ECDSA_P256 },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa", ST_KEY_RSA },
};

#define N_CERT_TYPES (sizeof(cert_types) / sizeof(cert_types[0]))

static const struct cert_type_info *type_info(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < N_CERT_TYPES; i++)
		if (strlen(cert_types[i].cert_name) == len &&
		    memcmp(cert_types[i].cert_name, name, len) == 0)
			return &cert_types[i];
	return NULL;
}

int st_cert_type_name(const char *name, size_t len, const char **plain)
{
	const struct cert_type_info *ti = type_info((const uint8_t *)name, len);

	if (ti == NULL)
		return 0;
	if (plain != NULL)
		*plain = ti->plain_name;
	return 1;
}

/*
 * Consumes the certified key's public fields (the plain blob without its type
 * name) and builds the plain blob in out.
 */
static int take_key_fields(struct st_buf *b, const struct cert_type_info *ti, struct st_buf *out)
{
	const uint8_t *start = st_buf_ptr(b), *p;
	size_t n;
	int r;

	switch (ti->key_type) {
	case ST_KEY_ED25519:
		r = st_buf_get_string(b, &p, &n);
		break;
	case ST_KEY_ECDSA_P256:
		if ((r = st_buf_get_string(b, &p, &n)) == ST_OK)
			r = st_buf_get_string(b, &p, &n);
		break;
	case ST_KEY_RSA:
		if ((r = st_buf_get_mpint(b, &p, &n)) == ST_OK)
			r = st_buf_get_mpint(b, &p, &n);
		break;
	default:
		r = ST_ERR_INTERNAL;
	}
	if (r != ST_OK)
		return ST_ERR_FORMAT;
	if ((r = st_buf_put_cstring(out, ti->plain_name)) != ST_OK ||
	    (r = st_buf_put_bytes(out, start, (size_t)(st_buf_ptr(b) - start))) != ST_OK)
		return r;
	return ST_OK;
}

/* A packed list of strings: each NUL-free, 1..ST_CERT_NAME_MAX bytes; counts them. */
static int check_principals(const uint8_t *p, size_t len, unsigned *count)
{
	struct st_buf b;
	const uint8_t *s;
	size_t n;
	unsigned k = 0;

	st_buf_from(&b, p, len);
	while (st_buf_avail(&b) > 0) {
		if (st_buf_get_string(&b, &s, &n) != ST_OK)
			return ST_ERR_FORMAT;
		if (n == 0 || n > ST_CERT_NAME_MAX || memchr(s, '\0', n) != NULL)
			return ST_ERR_FORMAT;
		if (++k > ST_CERT_MAX_PRINCIPALS)
			return ST_ERR_FORMAT;
	}
	*count = k;
	return ST_OK;
}

int st_cert_option_next(const uint8_t *list, size_t list_len, size_t *pos, const char **name,
			size_t *name_len, const uint8_t **data, size_t *data_len)
{
	struct st_buf b;
	const uint8_t *nm, *d;
	size_t nl, dl;

	if (*pos >= list_len)
		return ST_ERR_NOT_FOUND;
	st_buf_from(&b, list + *pos, list_len - *pos);
	if (st_buf_get_string(&b, &nm, &nl) != ST_OK || st_buf_get_string(&b, &d, &dl) != ST_OK)
		return ST_ERR_FORMAT;
	*pos += b.off;
	*name = (const char *)nm;
	*name_len = nl;
	*data = d;
	*data_len = dl;
	return ST_OK;
}

/*
 * Option names: 1..ST_CERT_NAME_MAX bytes without NUL, each at most once, at
 * most ST_CERT_MAX_OPTIONS of them. PROTOCOL.certkeys asks for lexical order
 * too; older ssh-keygen versions append custom options unsorted, and OpenSSH
 * accepts those, so order is not enforced.
 */
static int check_options(const uint8_t *p, size_t len)
{
	size_t pos = 0, nl, dl, pos2, nl2, dl2;
	const char *nm, *nm2;
	const uint8_t *d, *d2;
	unsigned k = 0;
	int r;

	while ((r = st_cert_option_next(p, len, &pos, &nm, &nl, &d, &dl)) == ST_OK) {
		if (nl == 0 || nl > ST_CERT_NAME_MAX || memchr(nm, '\0', nl) != NULL)
			return ST_ERR_FORMAT;
		if (++k > ST_CERT_MAX_OPTIONS)
			return ST_ERR_FORMAT;
		/* Earlier names: none may equal this one. */
		pos2 = 0;
		while (pos2 < pos - 8 - nl - dl &&
		       st_cert_option_next(p, len, &pos2, &nm2, &nl2, &d2, &dl2) == ST_OK)
			if (nl2 == nl && memcmp(nm2, nm, nl) == 0)
				return ST_ERR_FORMAT;
	}
	return r == ST_ERR_NOT_FOUND ? ST_OK : r;
}

/* The CA signature over blob[0..signed_len); sets *alg. */
static int verify_ca(const struct st_key *ca, const uint8_t *sig, size_t siglen,
		     const uint8_t *signed_data, size_t signed_len, enum st_sig_alg *alg)
{
	struct st_buf b;
	const uint8_t *nm;
	size_t nl;
	int r;

	st_buf_from(&b, sig, siglen);
	if (st_buf_get_string(&b, &nm, &nl) != ST_OK)
		return ST_ERR_FORMAT;
	if (st_sig_alg_from_name((const char *)nm, nl, alg) != ST_OK)
		return ST_ERR_ALG_UNSUPPORTED; /* "ssh-rsa" (SHA-1) among them */
	if (!st_sig_alg_matches_key(*alg, ca))
		return ST_ERR_SIG_INVALID;
	if ((r = st_sig_verify(ca, *alg, sig, siglen, signed_data, signed_len)) != ST_OK)
		return r;
	return ST_OK;
}

int st_cert_parse(const uint8_t *blob, size_t len, struct st_cert **out)
{
	const struct cert_type_info *ti;
	struct st_cert *c = NULL;
	struct st_buf b, plain;
	const uint8_t *p, *sig;
	size_t n, siglen, signed_len;
	uint32_t type;
	int r;

	memset(&plain, 0, sizeof(plain));
	if (blob == NULL || len == 0)
		return ST_ERR_FORMAT;
	if (len > ST_CERT_BLOB_MAX)
		return ST_ERR_FORMAT;
	st_buf_from(&b, blob, len);
	if (st_buf_get_string(&b, &p, &n) != ST_OK)
		return ST_ERR_FORMAT;
	if ((ti = type_info(p, n)) == NULL)
		return ST_ERR_KEY_TYPE_UNKNOWN;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ST_ERR_ALLOC;
	/* Keep our own copy: the packed lists point into it. */
	if ((c->blob = malloc(len)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	memcpy(c->blob, blob, len);
	c->blob_len = len;
	st_buf_from(&b, c->blob, len);
	(void)st_buf_get_string(&b, &p, &n); /* the type, checked above */

	if (st_buf_get_string(&b, &p, &n) != ST_OK) { /* nonce */
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = st_buf_alloc(&plain, 256, ST_KEY_BLOB_MAX)) != ST_OK ||
	    (r = take_key_fields(&b, ti, &plain)) != ST_OK)
		goto out;
	if ((r = st_key_from_blob(st_buf_ptr(&plain), st_buf_avail(&plain), &c->key)) != ST_OK)
		goto out;
	if (st_buf_get_u64(&b, &c->serial) != ST_OK || st_buf_get_u32(&b, &type) != ST_OK ||
	    (type != ST_CERT_USER && type != ST_CERT_HOST)) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	c->type = (enum st_cert_type)type;
	if (st_buf_get_string(&b, &p, &n) != ST_OK || n > ST_CERT_KEY_ID_MAX ||
	    memchr(p, '\0', n) != NULL) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	memcpy(c->key_id, p, n);
	c->key_id[n] = '\0';
	if (st_buf_get_string(&b, &c->principals, &c->principals_len) != ST_OK ||
	    st_buf_get_u64(&b, &c->valid_after) != ST_OK ||
	    st_buf_get_u64(&b, &c->valid_before) != ST_OK ||
	    st_buf_get_string(&b, &c->critical, &c->critical_len) != ST_OK ||
	    st_buf_get_string(&b, &c->extensions, &c->extensions_len) != ST_OK ||
	    st_buf_get_string(&b, &p, &n) != ST_OK /* reserved */) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = check_principals(c->principals, c->principals_len, &c->n_principals)) != ST_OK ||
	    (r = check_options(c->critical, c->critical_len)) != ST_OK ||
	    (r = check_options(c->extensions, c->extensions_len)) != ST_OK)
		goto out;
	if (st_buf_get_string(&b, &p, &n) != ST_OK) { /* signature key */
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = st_key_from_blob(p, n, &c->ca)) != ST_OK)
		goto out;
	signed_len = b.off;
	if (st_buf_get_string(&b, &sig, &siglen) != ST_OK) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = st_buf_end(&b)) != ST_OK)
		goto out;
	if ((r = verify_ca(c->ca, sig, siglen, c->blob, signed_len, &c->ca_alg)) != ST_OK)
		goto out;
	*out = c;
	c = NULL;
	r = ST_OK;
out:
	st_buf_free(&plain);
	st_cert_free(c);
	return r;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int is_eol(char ch)
{
	return ch == '\r' || ch == '\n';
}

int st_cert_parse_line(const char *line, size_t len, struct st_cert **out)
{
	size_t i = 0, t0, t1, b0, b1;
	struct st_buf blob;
	struct st_cert *c = NULL;
	const uint8_t *tn;
	size_t tl;
	int r;

	while (i < len && is_blank(line[i]))
		i++;
	for (t0 = i; i < len && !is_blank(line[i]) && !is_eol(line[i]) && line[i] != '\0'; i++)
		;
	t1 = i;
	if (t1 == t0 || i >= len || !is_blank(line[i]))
		return ST_ERR_FORMAT;
	if (!st_cert_type_name(line + t0, t1 - t0, NULL))
		return ST_ERR_KEY_TYPE_UNKNOWN;
	while (i < len && is_blank(line[i]))
		i++;
	for (b0 = i; i < len && !is_blank(line[i]) && !is_eol(line[i]) && line[i] != '\0'; i++)
		;
	b1 = i;
	if (b1 == b0)
		return ST_ERR_FORMAT;
	/* The comment runs to the line break; nothing may follow the break. */
	while (i < len && !is_eol(line[i]) && line[i] != '\0')
		i++;
	if (i + 1 < len && line[i] == '\r' && line[i + 1] == '\n')
		i += 2;
	else if (i < len && line[i] == '\n')
		i++;
	if (i != len)
		return ST_ERR_FORMAT;

	if ((r = st_buf_alloc(&blob, 1024, ST_CERT_BLOB_MAX)) != ST_OK)
		return r;
	if ((r = st_base64_decode(line + b0, b1 - b0, &blob, 0)) != ST_OK) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	if ((r = st_cert_parse(st_buf_ptr(&blob), st_buf_avail(&blob), &c)) != ST_OK)
		goto out;
	/* The word must name the blob's own type. */
	{
		struct st_buf tb;
		st_buf_from(&tb, c->blob, c->blob_len);
		if (st_buf_get_string(&tb, &tn, &tl) != ST_OK || tl != t1 - t0 ||
		    memcmp(tn, line + t0, tl) != 0) {
			r = ST_ERR_KEY_TYPE_MISMATCH;
			goto out;
		}
	}
	*out = c;
	c = NULL;
out:
	st_cert_free(c);
	st_buf_free(&blob);
	return r;
}

void st_cert_printable(const char *s, size_t len, char *out, size_t outsz)
{
	size_t i;

	if (outsz == 0)
		return;
	for (i = 0; i < len && i + 1 < outsz; i++)
		out[i] = (s[i] >= 0x20 && s[i] <= 0x7e) ? s[i] : '?';
	out[i] = '\0';
}

void st_cert_free(struct st_cert *c)
{
	if (c == NULL)
		return;
	st_key_free(c->key);
	st_key_free(c->ca);
	free(c->blob);
	free(c);
}

enum st_cert_time st_cert_check_time(const struct st_cert *c, uint64_t now)
{
	if (now < c->valid_after)
		return ST_CERT_NOT_YET_VALID;
	if (now >= c->valid_before)
		return ST_CERT_EXPIRED;
	return ST_CERT_TIME_OK;
}

int st_cert_has_principal(const struct st_cert *c, const char *name)
{
	struct st_buf b;
	const uint8_t *s;
	size_t n, nl = strlen(name);

	st_buf_from(&b, c->principals, c->principals_len);
	while (st_buf_get_string(&b, &s, &n) == ST_OK)
		if (n == nl && memcmp(s, name, n) == 0)
			return 1;
	return 0;
}

int st_cert_principal(const struct st_cert *c, unsigned i, char *out, size_t outsz)
{
	struct st_buf b;
	const uint8_t *s;
	size_t n;

	st_buf_from(&b, c->principals, c->principals_len);
	for (unsigned k = 0; st_buf_get_string(&b, &s, &n) == ST_OK; k++) {
		if (k != i)
			continue;
		if (n >= outsz)
			return ST_ERR_STRING_TOO_LARGE;
		memcpy(out, s, n);
		out[n] = '\0';
		return ST_OK;
	}
	return ST_ERR_NOT_FOUND;
}

int st_cert_option_string(const uint8_t *list, size_t list_len, const char *name,
			  const uint8_t **value, size_t *value_len)
{
	size_t pos = 0, nl, dl, want = strlen(name);
	const char *nm;
	const uint8_t *d;

	while (st_cert_option_next(list, list_len, &pos, &nm, &nl, &d, &dl) == ST_OK) {
		if (nl != want || memcmp(nm, name, nl) != 0)
			continue;
		struct st_buf b;
		const uint8_t *v;
		size_t vl;
		st_buf_from(&b, d, dl);
		if (st_buf_get_string(&b, &v, &vl) != ST_OK || st_buf_end(&b) != ST_OK)
			return -1;
		*value = v;
		*value_len = vl;
		return 1;
	}
	return 0;
}

int st_cert_has_option(const uint8_t *list, size_t list_len, const char *name)
{
	size_t pos = 0, nl, dl, want = strlen(name);
	const char *nm;
	const uint8_t *d;

	while (st_cert_option_next(list, list_len, &pos, &nm, &nl, &d, &dl) == ST_OK)
		if (nl == want && memcmp(nm, name, nl) == 0)
			return 1;
	return 0;
}
