/*
 * KRLs and revoked key lists (crypto/krl.h). No state of its own: a struct
 * st_krl belongs to the thread that parsed it.
 */
#include "crypto/krl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/buf.h"
#include "crypto/cert.h"
#include "crypto/err.h"
#include "crypto/key.h"

#define KRL_MAGIC 0x5353484b524c0a00ull
#define KRL_FORMAT_VERSION 1u

enum {
	SEC_CERTIFICATES = 1,
	SEC_EXPLICIT_KEY = 2,
	SEC_FP_SHA1 = 3,
	SEC_SIGNATURE = 4,
	SEC_FP_SHA256 = 5,
	CSEC_SERIAL_LIST = 0x20,
	CSEC_SERIAL_RANGE = 0x21,
	CSEC_SERIAL_BITMAP = 0x22,
	CSEC_KEY_ID = 0x23,
};

#define MAX_TEXT_KEYS 65536u

struct st_krl {
	uint8_t *data; /* binary KRL: a validated copy */
	size_t len;
	size_t body; /* offset of the first section */
	struct st_key **keys; /* text list */
	size_t nkeys;
};

/* What a walk looks for; NULL: validate only. */
struct query {
	const uint8_t *blob; /* the key's blob, or NULL */
	size_t blob_len;
	uint8_t sha1[20], sha256[32];
	const uint8_t *ca_blob; /* certificate: its CA's blob, serial, key id */
	size_t ca_blob_len;
	uint64_t serial;
	const char *key_id;
	int hit;
};

static int cert_subsections(struct st_buf *b, struct query *q, int ca_matches)
{
	while (st_buf_avail(b) > 0) {
		uint8_t t;
		struct st_buf d;
		uint64_t v, w;
		const uint8_t *p;
		size_t n;

		if (st_buf_get_u8(b, &t) != ST_OK || st_buf_get_sub(b, &d) != ST_OK)
			return ST_ERR_FORMAT;
		switch (t) {
		case CSEC_SERIAL_LIST:
			while (st_buf_avail(&d) > 0) {
				if (st_buf_get_u64(&d, &v) != ST_OK)
					return ST_ERR_FORMAT;
				if (q && ca_matches && q->serial != 0 && v == q->serial)
					q->hit = 1;
			}
			break;
		case CSEC_SERIAL_RANGE:
			if (st_buf_get_u64(&d, &v) != ST_OK || st_buf_get_u64(&d, &w) != ST_OK ||
			    v > w)
				return ST_ERR_FORMAT;
			if (q && ca_matches && q->serial != 0 && q->serial >= v && q->serial <= w)
				q->hit = 1;
			break;
		case CSEC_SERIAL_BITMAP:
			if (st_buf_get_u64(&d, &v) != ST_OK || st_buf_get_mpint(&d, &p, &n) != ST_OK)
				return ST_ERR_FORMAT;
			if (q && ca_matches && q->serial != 0 && q->serial >= v) {
				uint64_t i = q->serial - v;
				if (i / 8 < n && (p[n - 1 - i / 8] >> (i % 8)) & 1)
					q->hit = 1;
			}
			break;
		case CSEC_KEY_ID:
			while (st_buf_avail(&d) > 0) {
				if (st_buf_get_string(&d, &p, &n) != ST_OK)
					return ST_ERR_FORMAT;
				if (q && ca_matches && q->key_id != NULL && strlen(q->key_id) == n &&
				    memcmp(q->key_id, p, n) == 0)
					q->hit = 1;
			}
			break;
		default:
			return ST_ERR_FORMAT;
		}
		if (st_buf_end(&d) != ST_OK)
			return ST_ERR_TRAILING;
	}
	return ST_OK;
}

/* Walks every section of a binary KRL from body on, checking its layout. */
static int walk(const uint8_t *data, size_t len, size_t body, struct query *q)
{
	struct st_buf b;
	int seen_sig = 0, r;

	st_buf_from(&b, data + body, len - body);
	while (st_buf_avail(&b) > 0) {
		uint8_t t;
		struct st_buf d;
		const uint8_t *p;
		size_t n;

		if (seen_sig)
			return ST_ERR_FORMAT;
		if (st_buf_get_u8(&b, &t) != ST_OK || st_buf_get_sub(&b, &d) != ST_OK)
			return ST_ERR_FORMAT;
		switch (t) {
		case SEC_CERTIFICATES: {
			const uint8_t *ca;
			size_t cal;
			if (st_buf_get_string(&d, &ca, &cal) != ST_OK ||
			    st_buf_get_string(&d, &p, &n) != ST_OK)
				return ST_ERR_FORMAT;
			int m = q != NULL && q->ca_blob != NULL &&
				(cal == 0 || (cal == q->ca_blob_len && memcmp(ca, q->ca_blob, cal) == 0));
			if ((r = cert_subsections(&d, q, m)) != ST_OK)
				return r;
			break;
		}
		case SEC_EXPLICIT_KEY:
			while (st_buf_avail(&d) > 0) {
				if (st_buf_get_string(&d, &p, &n) != ST_OK || n == 0)
					return ST_ERR_FORMAT;
				if (q && q->blob != NULL && n == q->blob_len && memcmp(p, q->blob, n) == 0)
					q->hit = 1;
			}
			break;
		case SEC_FP_SHA1:
		case SEC_FP_SHA256: {
			size_t want = t == SEC_FP_SHA1 ? 20 : 32;
			const uint8_t *fp = t == SEC_FP_SHA1 ? (q ? q->sha1 : NULL) : (q ? q->sha256 : NULL);
			while (st_buf_avail(&d) > 0) {
				if (st_buf_get_string(&d, &p, &n) != ST_OK || n != want)
					return ST_ERR_FORMAT;
				if (q && q->blob != NULL && memcmp(p, fp, n) == 0)
					q->hit = 1;
			}
			break;
		}
		case SEC_SIGNATURE:
			if (st_buf_get_string(&d, &p, &n) != ST_OK ||
			    st_buf_get_string(&d, &p, &n) != ST_OK)
				return ST_ERR_FORMAT;
			seen_sig = 1;
			break;
		default:
			return ST_ERR_FORMAT;
		}
		if (st_buf_end(&d) != ST_OK)
			return ST_ERR_TRAILING;
	}
	return ST_OK;
}

static int parse_binary(const uint8_t *data, size_t len, struct st_krl *k)
{
	struct st_buf b;
	uint64_t magic, v;
	uint32_t fmt;
	const uint8_t *p;
	size_t n;
	int r;

	st_buf_from(&b, data, len);
	if (st_buf_get_u64(&b, &magic) != ST_OK || magic != KRL_MAGIC ||
	    st_buf_get_u32(&b, &fmt) != ST_OK || fmt != KRL_FORMAT_VERSION ||
	    st_buf_get_u64(&b, &v) != ST_OK || st_buf_get_u64(&b, &v) != ST_OK ||
	    st_buf_get_u64(&b, &v) != ST_OK || st_buf_get_string(&b, &p, &n) != ST_OK ||
	    st_buf_get_string(&b, &p, &n) != ST_OK)
		return ST_ERR_FORMAT;
	if ((r = walk(data, len, b.off, NULL)) != ST_OK)
		return r;
	if ((k->data = malloc(len)) == NULL)
		return ST_ERR_ALLOC;
	memcpy(k->data, data, len);
	k->len = len;
	k->body = b.off;
	return ST_OK;
}

static int parse_text(const uint8_t *data, size_t len, struct st_krl *k, size_t *bad_line)
{
	size_t pos = 0, lineno = 0;
	char line[16384 + 1];

	if (memchr(data, '\0', len) != NULL)
		return ST_ERR_FORMAT;
	while (pos < len) {
		const uint8_t *l = data + pos, *nl = memchr(l, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - l) : len - pos;
		struct st_key *key = NULL;

		pos += ll + (nl != NULL);
		lineno++;
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		if (ll >= sizeof(line)) {
			*bad_line = lineno;
			return ST_ERR_FORMAT;
		}
		memcpy(line, l, ll);
		line[ll] = '\0';
		size_t i = strspn(line, " \t");
		if (line[i] == '\0' || line[i] == '#')
			continue;
		if (k->nkeys >= MAX_TEXT_KEYS || st_key_parse_public_line(line + i, &key, NULL, 0) != ST_OK) {
			*bad_line = lineno;
			return ST_ERR_FORMAT;
		}
		struct st_key **nk = realloc(k->keys, (k->nkeys + 1) * sizeof(*nk));
		if (nk == NULL) {
			st_key_free(key);
			return ST_ERR_ALLOC;
		}
		k->keys = nk;
		k->keys[k->nkeys++] = key;
	}
	return ST_OK;
}

int st_krl_parse(const uint8_t *data, size_t len, struct st_krl **out, size_t *line)
{
	struct st_krl *k;
	size_t bad = 0;
	int r;

	if (len > ST_KRL_MAX)
		return ST_ERR_NO_SPACE;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return ST_ERR_ALLOC;
	if (len >= 8 && st_peek_u64(data) == KRL_MAGIC)
		r = parse_binary(data, len, k);
	else
		r = parse_text(data, len, k, &bad);
	if (r != ST_OK) {
		if (line != NULL)
			*line = bad;
		st_krl_free(k);
		return r;
	}
	*out = k;
	return ST_OK;
}

void st_krl_free(struct st_krl *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nkeys; i++)
		st_key_free(k->keys[i]);
	free(k->keys);
	free(k->data);
	free(k);
}

/* Fills q's key part (blob and fingerprints) from key into buf. */
static int key_query(const struct st_key *key, struct st_buf *buf, struct query *q)
{
	unsigned int n;

	if (st_key_to_blob(key, buf) != ST_OK)
		return -1;
	q->blob = st_buf_ptr(buf);
	q->blob_len = st_buf_avail(buf);
	if (EVP_Digest(q->blob, q->blob_len, q->sha1, &n, EVP_sha1(), NULL) != 1 ||
	    EVP_Digest(q->blob, q->blob_len, q->sha256, &n, EVP_sha256(), NULL) != 1)
		return -1;
	return 0;
}

int st_krl_key_revoked(const struct st_krl *k, const struct st_key *key)
{
	struct query q;
	struct st_buf buf;
	int hit;

	if (k == NULL || key == NULL)
		return 0;
	for (size_t i = 0; i < k->nkeys; i++)
		if (st_key_equal_public(k->keys[i], key))
			return 1;
	if (k->data == NULL)
		return 0;
	memset(&q, 0, sizeof(q));
	if (st_buf_alloc(&buf, 512, ST_KEY_BLOB_MAX) != ST_OK)
		return 1; /* fail closed */
	if (key_query(key, &buf, &q) != 0) {
		st_buf_free(&buf);
		return 1;
	}
	hit = walk(k->data, k->len, k->body, &q) != ST_OK || q.hit;
	st_buf_free(&buf);
	return hit;
}

int st_krl_cert_revoked(const struct st_krl *k, const struct st_cert *c)
{
	struct query q;
	struct st_buf ca;
	int hit;

	if (k == NULL || c == NULL)
		return 0;
	if (st_krl_key_revoked(k, c->ca) || st_krl_key_revoked(k, c->key))
		return 1;
	if (k->data == NULL)
		return 0;
	memset(&q, 0, sizeof(q));
	if (st_buf_alloc(&ca, 512, ST_KEY_BLOB_MAX) != ST_OK)
		return 1;
	if (st_key_to_blob(c->ca, &ca) != ST_OK) {
		st_buf_free(&ca);
		return 1;
	}
	q.ca_blob = st_buf_ptr(&ca);
	q.ca_blob_len = st_buf_avail(&ca);
	q.serial = c->serial;
	q.key_id = c->key_id;
	hit = walk(k->data, k->len, k->body, &q) != ST_OK || q.hit;
	st_buf_free(&ca);
	return hit;
}
