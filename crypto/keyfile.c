#include "crypto/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/base64.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/key_internal.h"
#include "crypto/secmem.h"

/* openssh-key-v1 (OpenSSH PROTOCOL.key). */
#define OSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OSSH_MAGIC "openssh-key-v1" /* written with its NUL */
#define OSSH_BLOCKSIZE 8	    /* cipher "none" */
#define PEM_BEGIN "-----BEGIN "
#define ECDSA_CURVE_NAME "nistp256"

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Offset of needle in hay[0..len), or len when absent. */
static size_t find(const uint8_t *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; nl <= len && i <= len - nl; i++)
		if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, nl) == 0)
			return i;
	return len;
}

static int str_eq(const uint8_t *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

/*
 * The base64 body between the BEGIN and END lines, decoded into a new owned
 * (wipe-on-free) buffer. ST_ERR_FORMAT for anything that is not the armour
 * ssh-keygen writes: BEGIN at the very start, then a line break, base64 lines,
 * the END line, and nothing but blank space after it.
 */
static int openssh_unarmor(const uint8_t *data, size_t len, struct st_buf *out)
{
	size_t bl = strlen(OSSH_BEGIN), el = strlen(OSSH_END), off, body, endpos;
	int r;

	if (len < bl || memcmp(data, OSSH_BEGIN, bl) != 0)
		return ST_ERR_FORMAT;
	off = bl;
	if (off < len && data[off] == '\r')
		off++;
	if (off >= len || data[off] != '\n')
		return ST_ERR_FORMAT;
	body = ++off;
	endpos = body + find(data + body, len - body, OSSH_END);
	if (endpos == len || endpos == body)
		return ST_ERR_FORMAT;
	for (off = endpos + el; off < len; off++)
		if (!is_space(data[off]))
			return ST_ERR_FORMAT;
	if ((r = st_buf_alloc(out, endpos - body, endpos - body)) != ST_OK)
		return r;
	if ((r = st_base64_decode((const char *)data + body, endpos - body, out,
				  ST_BASE64_SKIP_WS)) != ST_OK) {
		st_buf_free(out);
		return r == ST_ERR_ALLOC ? r : ST_ERR_FORMAT;
	}
	return ST_OK;
}

/* The private fields of one key (after its type name) in the private section. */
static int openssh_parse_private_fields(struct st_buf *b, enum st_key_type type,
					struct st_key **out)
{
	struct st_key_rsa_raw rsa;
	const uint8_t *f1, *f2, *f3;
	size_t l1, l2, l3;

	switch (type) {
	case ST_KEY_ED25519:
		/* string pk (32), string sk (64 = seed || pk) */
		if (st_buf_get_string(b, &f1, &l1) != ST_OK || l1 != ST_ED25519_PUBLIC_SIZE ||
		    st_buf_get_string(b, &f2, &l2) != ST_OK ||
		    l2 != ST_ED25519_SEED_SIZE + ST_ED25519_PUBLIC_SIZE)
			return ST_ERR_KEY_INVALID;
		if (!st_ct_equal(f2 + ST_ED25519_SEED_SIZE, f1, ST_ED25519_PUBLIC_SIZE))
			return ST_ERR_KEY_INVALID;
		return st_key_ed25519_from_raw(f1, f2, out);
	case ST_KEY_ECDSA_P256:
		/* string curve, string Q, mpint d */
		if (st_buf_get_string(b, &f1, &l1) != ST_OK || !str_eq(f1, l1, ECDSA_CURVE_NAME) ||
		    st_buf_get_string(b, &f2, &l2) != ST_OK ||
		    st_buf_get_mpint(b, &f3, &l3) != ST_OK)
			return ST_ERR_KEY_INVALID;
		return st_key_ecdsa_from_raw(f2, l2, f3, l3, out);
	case ST_KEY_RSA:
		/* mpint n, e, d, iqmp, p, q */
		memset(&rsa, 0, sizeof(rsa));
		if (st_buf_get_mpint(b, &rsa.n, &rsa.nlen) != ST_OK ||
		    st_buf_get_mpint(b, &rsa.e, &rsa.elen) != ST_OK ||
		    st_buf_get_mpint(b, &rsa.d, &rsa.dlen) != ST_OK ||
		    st_buf_get_mpint(b, &rsa.iqmp, &rsa.iqmplen) != ST_OK ||
		    st_buf_get_mpint(b, &rsa.p, &rsa.plen) != ST_OK ||
		    st_buf_get_mpint(b, &rsa.q, &rsa.qlen) != ST_OK)
			return ST_ERR_KEY_INVALID;
		return st_key_rsa_from_raw(&rsa, out);
	}
	return ST_ERR_KEY_TYPE_UNKNOWN;
}

/*
 * The decoded openssh-key-v1 structure:
 *   "openssh-key-v1\0", string cipher, string kdf, string kdfoptions,
 *   uint32 nkeys (1), string public blob, string private section;
 * private section: uint32 check, uint32 check, string type, fields,
 *   string comment, padding 1, 2, 3, ... to a multiple of the block size.
 */
static int openssh_parse(struct st_buf *b, struct st_key **out)
{
	static const uint8_t magic[] = OSSH_MAGIC; /* sizeof includes the NUL */
	const uint8_t *p, *name, *blob;
	size_t len, namelen, bloblen;
	uint32_t nkeys, check1, check2;
	enum st_key_type type;
	struct st_buf priv;
	struct st_key *pub = NULL, *k = NULL;
	uint8_t pad;
	int r;

	if (st_buf_get_raw(b, &p, sizeof(magic)) != ST_OK || memcmp(p, magic, sizeof(magic)) != 0)
		return ST_ERR_FORMAT;
	if (st_buf_get_string(b, &p, &len) != ST_OK)
		return ST_ERR_KEY_INVALID;
	if (!str_eq(p, len, "none"))
		return ST_ERR_KEY_ENCRYPTED;
	if (st_buf_get_string(b, &p, &len) != ST_OK || !str_eq(p, len, "none") ||
	    st_buf_get_string(b, &p, &len) != ST_OK || len != 0 ||
	    st_buf_get_u32(b, &nkeys) != ST_OK || nkeys != 1 ||
	    st_buf_get_string(b, &blob, &bloblen) != ST_OK || st_buf_get_sub(b, &priv) != ST_OK ||
	    st_buf_end(b) != ST_OK)
		return ST_ERR_KEY_INVALID;
	if ((r = st_key_from_blob(blob, bloblen, &pub)) != ST_OK) {
		if (r != ST_ERR_KEY_TYPE_UNKNOWN && r != ST_ERR_ALLOC)
			r = ST_ERR_KEY_INVALID;
		goto out;
	}
	r = ST_ERR_KEY_INVALID;
	if (st_buf_avail(&priv) < OSSH_BLOCKSIZE || st_buf_avail(&priv) % OSSH_BLOCKSIZE != 0)
		goto out;
	/* Without a cipher the check words only catch corruption; compare anyway. */
	if (st_buf_get_u32(&priv, &check1) != ST_OK || st_buf_get_u32(&priv, &check2) != ST_OK ||
	    check1 != check2)
		goto out;
	if (st_buf_get_string(&priv, &name, &namelen) != ST_OK)
		goto out;
	if ((r = st_key_type_from_name((const char *)name, namelen, &type)) != ST_OK)
		goto out;
	if (type != st_key_type(pub)) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	if ((r = openssh_parse_private_fields(&priv, type, &k)) != ST_OK)
		goto out;
	r = ST_ERR_KEY_INVALID;
	if (st_buf_get_string(&priv, NULL, NULL) != ST_OK) /* comment */
		goto out;
	if (st_buf_avail(&priv) >= OSSH_BLOCKSIZE)
		goto out;
	for (uint8_t i = 1; st_buf_avail(&priv) > 0; i++)
		if (st_buf_get_u8(&priv, &pad) != ST_OK || pad != i)
			goto out;
	if (!st_key_equal_public(pub, k))
		goto out;
	*out = k;
	k = NULL;
	r = ST_OK;
out:
	st_key_free(pub);
	st_key_free(k);
	return r;
}

static int openssh_parse_private(const uint8_t *data, size_t len, struct st_key **out)
{
	struct st_buf decoded;
	int r;

	if ((r = openssh_unarmor(data, len, &decoded)) != ST_OK)
		return r;
	r = openssh_parse(&decoded, out);
	st_buf_free(&decoded); /* wipes the private section */
	return r;
}

/* Records that libcrypto wanted a passphrase, and refuses to give one. */
static int pem_refuse_passphrase(char *pass, size_t size, size_t *len, const OSSL_PARAM params[],
				 void *arg)
{
	(void)pass;
	(void)size;
	(void)len;
	(void)params;
	*(int *)arg = 1;
	return 0;
}

static int pem_parse_private(const uint8_t *data, size_t len, struct st_key **out)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = data;
	size_t plen = len;
	int asked = 0, r;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR, NULL,
					     NULL);
	if (dctx == NULL) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	/* Without a callback libcrypto could prompt on the terminal. */
	if (OSSL_DECODER_CTX_set_passphrase_cb(dctx, pem_refuse_passphrase, &asked) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	if (OSSL_DECODER_from_data(dctx, &p, &plen) != 1 || pkey == NULL) {
		r = asked ? ST_ERR_KEY_ENCRYPTED : ST_ERR_KEY_INVALID;
		goto out;
	}
	if ((r = st_key_from_pkey(pkey, 1, out)) != ST_OK)
		goto out;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	OSSL_DECODER_CTX_free(dctx);
	if (r != ST_OK)
		ERR_clear_error();
	return r;
}

int st_keyfile_parse_private(const uint8_t *data, size_t len, struct st_key **out)
{
	if (len == 0 || memchr(data, '\0', len) != NULL)
		return ST_ERR_FORMAT;
	/* openssh_unarmor() insists on the marker at the very start, as OpenSSH does. */
	if (find(data, len, OSSH_BEGIN) != len)
		return openssh_parse_private(data, len, out);
	if (find(data, len, PEM_BEGIN) != len)
		return pem_parse_private(data, len, out);
	return ST_ERR_FORMAT;
}

/*
 * Reads a whole file (at most ST_KEYFILE_MAX bytes) into wipe-on-free memory,
 * NUL-terminated; *outlen excludes the NUL. Free with st_secret_free().
 */
static int read_file(const char *path, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ST_ERR_SYSTEM;
	/* One byte over the cap detects oversize files, one more holds the NUL. */
	if ((buf = st_secret_alloc(ST_KEYFILE_MAX + 2)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		n = read(fd, buf + len, ST_KEYFILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ST_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > ST_KEYFILE_MAX) {
			r = ST_ERR_FORMAT;
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = ST_OK;
out:
	saved = errno; /* keep read()'s errno across close() */
	close(fd);
	st_secret_free(buf);
	errno = saved;
	return r;
}

int st_keyfile_load_private(const char *path, struct st_key **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = read_file(path, &data, &len)) != ST_OK)
		return r;
	r = st_keyfile_parse_private(data, len, out);
	st_secret_free(data);
	return r;
}

int st_keyfile_load_public(const char *path, struct st_key **out, char *comment, size_t commentsz)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = read_file(path, &data, &len)) != ST_OK)
		return r;
	if (memchr(data, '\0', len) != NULL) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	/* One line: drop trailing line breaks and blanks, then no line break may remain. */
	while (len > 0 && is_space(data[len - 1]))
		data[--len] = '\0';
	if (len == 0 || memchr(data, '\n', len) != NULL || memchr(data, '\r', len) != NULL) {
		r = ST_ERR_FORMAT;
		goto out;
	}
	r = st_key_parse_public_line((const char *)data, out, comment, commentsz);
out:
	st_secret_free(data);
	return r;
}
