/*
 * Unit tests for OpenSSH certificates (crypto/cert.c), against certificates
 * that ssh-keygen -s makes at test time in a fresh temporary directory: every
 * key and CA type, user and host certificates, options and extensions, an
 * SHA-1 RSA CA signature (refused), and corruptions of every kind (each byte
 * flipped, each truncation, trailing bytes, a swapped CA).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/base64.h"
#include "crypto/buf.h"
#include "crypto/cert.h"
#include "crypto/key.h"
#include "crypto/sig.h"
#include "tests/unit/test.h"

static char tmpdir[] = "/tmp/st_test_cert.XXXXXX";
static int have_dir, gen_ok;

static const char *P(const char *name)
{
	return st_test_path(tmpdir, name);
}

/* Whole text file (NUL-terminated, malloc'd) or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *d;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	if ((d = malloc(65536)) != NULL) {
		n = fread(d, 1, 65535, f);
		d[n] = '\0';
		*len = n;
	}
	fclose(f);
	return d;
}

static int sh(const char *cmd)
{
	return st_test_sh("cd '%s' && { %s; } </dev/null >/dev/null 2>&1", tmpdir, cmd);
}

static void setup(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return;
	have_dir = 1;
	gen_ok = sh("ssh-keygen -q -t ed25519 -N '' -f ca_ed && "
		    "ssh-keygen -q -t ecdsa -b 256 -N '' -f ca_ec && "
		    "ssh-keygen -q -t rsa -b 2048 -N '' -f ca_rsa && "
		    "ssh-keygen -q -t ed25519 -N '' -f u_ed && "
		    "ssh-keygen -q -t ecdsa -b 256 -N '' -f u_ec && "
		    "ssh-keygen -q -t rsa -b 2048 -N '' -f u_rsa && "
		    "cp u_ed.pub h_ed.pub && "
		    "ssh-keygen -q -s ca_ed -I 'alice@example' -z 42 -n alice,bob "
		    "-V 20200101000000:20400101000000 u_ed.pub && "
		    "ssh-keygen -q -s ca_ec -I ec-id -n carol u_ec.pub && "
		    "ssh-keygen -q -s ca_rsa -I rsa-id -n dave u_rsa.pub && "
		    "ssh-keygen -q -s ca_ed -h -I host-id -n h.test,198.18.0.2 h_ed.pub") == 0;
	if (!gen_ok)
		fprintf(stderr, "setup: certificate generation failed\n");
}

static struct st_cert *load(const char *file, int *rc)
{
	size_t len = 0;
	char *t = slurp(P(file), &len);
	struct st_cert *c = NULL;

	*rc = ST_ERR_SYSTEM;
	if (t == NULL)
		return NULL;
	*rc = st_cert_parse_line(t, len, &c);
	free(t);
	return *rc == ST_OK ? c : NULL;
}

/* The decoded blob of a -cert.pub file into out (owned buffer). */
static int blob_of(const char *file, struct st_buf *out)
{
	size_t len = 0;
	char *t = slurp(P(file), &len), *sp, *e;
	int r = ST_ERR_FORMAT;

	if (t == NULL)
		return ST_ERR_SYSTEM;
	if ((sp = strchr(t, ' ')) != NULL) {
		sp++;
		for (e = sp; *e && *e != ' ' && *e != '\n'; e++)
			;
		r = st_buf_alloc(out, 1024, 65536);
		if (r == ST_OK)
			r = st_base64_decode(sp, (size_t)(e - sp), out, 0);
	}
	free(t);
	return r;
}

static struct st_key *pub(const char *file)
{
	size_t len = 0;
	char *t = slurp(P(file), &len);
	struct st_key *k = NULL;

	if (t != NULL && st_key_parse_public_line(t, &k, NULL, 0) != ST_OK)
		k = NULL;
	free(t);
	return k;
}

static void test_user_ed25519(void)
{
	int rc;
	struct st_cert *c = load("u_ed-cert.pub", &rc);
	struct st_key *k = pub("u_ed.pub"), *ca = pub("ca_ed.pub");
	char p[64];

	CHECK_OK(rc);
	CHECK(c != NULL && k != NULL && ca != NULL);
	if (c == NULL || k == NULL || ca == NULL)
		goto out;
	CHECK_INT(c->type, ST_CERT_USER);
	CHECK_INT(c->serial, 42);
	CHECK(strcmp(c->key_id, "alice@example") == 0);
	CHECK_INT(c->n_principals, 2);
	CHECK(st_cert_has_principal(c, "alice"));
	CHECK(st_cert_has_principal(c, "bob"));
	CHECK(!st_cert_has_principal(c, "ali"));
	CHECK(!st_cert_has_principal(c, "alicex"));
	CHECK_OK(st_cert_principal(c, 1, p, sizeof(p)));
	CHECK(strcmp(p, "bob") == 0);
	CHECK_ERR(st_cert_principal(c, 2, p, sizeof(p)), ST_ERR_NOT_FOUND);
	CHECK_ERR(st_cert_principal(c, 0, p, 3), ST_ERR_STRING_TOO_LARGE);
	CHECK(st_key_equal_public(c->key, k));
	CHECK(st_key_equal_public(c->ca, ca));
	CHECK_INT(c->ca_alg, ST_SIG_ED25519);
	/* 2020-01-01 00:00:00 .. 2040-01-01 00:00:00 local time: allow a day of zone. */
	CHECK_INT(st_cert_check_time(c, 1577836800ull - 2 * 86400), ST_CERT_NOT_YET_VALID);
	CHECK_INT(st_cert_check_time(c, 1577836800ull + 86400), ST_CERT_TIME_OK);
	CHECK_INT(st_cert_check_time(c, 2208988800ull + 86400), ST_CERT_EXPIRED);
	CHECK_INT(st_cert_check_time(c, c->valid_after), ST_CERT_TIME_OK);
	CHECK_INT(st_cert_check_time(c, c->valid_before), ST_CERT_EXPIRED);
	/* ssh-keygen's default extensions; no critical options. */
	CHECK(st_cert_has_option(c->extensions, c->extensions_len, "permit-pty"));
	CHECK(st_cert_has_option(c->extensions, c->extensions_len, "permit-port-forwarding"));
	CHECK(!st_cert_has_option(c->extensions, c->extensions_len, "permit-pt"));
	CHECK_INT(c->critical_len, 0);
out:
	st_cert_free(c);
	st_key_free(k);
	st_key_free(ca);
}

static void test_ca_types(void)
{
	static const struct {
		const char *cert, *key, *ca;
		enum st_sig_alg alg;
	} v[] = {
		{ "u_ec-cert.pub", "u_ec.pub", "ca_ec.pub", ST_SIG_ECDSA_P256 },
		{ "u_rsa-cert.pub", "u_rsa.pub", "ca_rsa.pub", ST_SIG_RSA_SHA512 },
		{ "h_ed-cert.pub", "h_ed.pub", "ca_ed.pub", ST_SIG_ED25519 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc;
		struct st_cert *c = load(v[i].cert, &rc);
		struct st_key *k = pub(v[i].key), *ca = pub(v[i].ca);
		CHECK_OK(rc);
		if (c != NULL && k != NULL && ca != NULL) {
			CHECK(st_key_equal_public(c->key, k));
			CHECK(st_key_equal_public(c->ca, ca));
			CHECK_INT(c->ca_alg, v[i].alg);
			/* no -V: valid forever */
			CHECK_INT(c->valid_after, 0);
			CHECK(c->valid_before == UINT64_MAX);
		}
		st_cert_free(c);
		st_key_free(k);
		st_key_free(ca);
	}
	int rc;
	struct st_cert *h = load("h_ed-cert.pub", &rc);
	CHECK(h != NULL && h->type == ST_CERT_HOST && h->n_principals == 2);
	CHECK(h != NULL && st_cert_has_principal(h, "198.18.0.2"));
	CHECK(h != NULL && h->extensions_len == 0);
	st_cert_free(h);
}

static void test_rsa_sig_algs(void)
{
	int rc;
	struct st_cert *c;

	CHECK_INT(sh("cp u_ed.pub r256.pub && ssh-keygen -q -s ca_rsa -t rsa-sha2-256 -I r "
		     "r256.pub"), 0);
	c = load("r256-cert.pub", &rc);
	CHECK_OK(rc);
	CHECK(c != NULL && c->ca_alg == ST_SIG_RSA_SHA256);
	st_cert_free(c);
	/* SHA-1 "ssh-rsa" CA signatures are refused, as OpenSSH 8.8+ refuses them. */
	if (sh("cp u_ed.pub r1.pub && ssh-keygen -q -s ca_rsa -t ssh-rsa -I r r1.pub") == 0) {
		c = load("r1-cert.pub", &rc);
		CHECK_ERR(rc, ST_ERR_ALG_UNSUPPORTED);
		st_cert_free(c);
	} else {
		fprintf(stderr, "note: this ssh-keygen cannot sign with ssh-rsa; skipped\n");
	}
}

static void test_options(void)
{
	int rc;
	struct st_cert *c;
	const uint8_t *v;
	size_t vl;

	CHECK_INT(sh("cp u_ed.pub o.pub && ssh-keygen -q -s ca_ed -I o -n alice "
		     "-O force-command='echo hi' -O source-address=198.18.0.0/15,::1 "
		     "-O no-pty -O critical:zz-unknown=bar -O extension:x-flag o.pub"), 0);
	c = load("o-cert.pub", &rc);
	CHECK_OK(rc);
	if (c == NULL)
		return;
	CHECK_INT(st_cert_option_string(c->critical, c->critical_len, "force-command", &v, &vl), 1);
	CHECK(vl == 7 && memcmp(v, "echo hi", 7) == 0);
	CHECK_INT(st_cert_option_string(c->critical, c->critical_len, "source-address", &v, &vl), 1);
	CHECK(vl == 17 && memcmp(v, "198.18.0.0/15,::1", 17) == 0);
	CHECK_INT(st_cert_option_string(c->critical, c->critical_len, "verify-required", &v, &vl), 0);
	CHECK_INT(st_cert_option_string(c->critical, c->critical_len, "zz-unknown", &v, &vl), 1);
	CHECK(st_cert_has_option(c->critical, c->critical_len, "zz-unknown"));
	CHECK(!st_cert_has_option(c->extensions, c->extensions_len, "permit-pty"));
	CHECK(st_cert_has_option(c->extensions, c->extensions_len, "x-flag"));
	/* Walk every critical option: exactly three. */
	size_t pos = 0, nl, dl;
	const char *nm;
	const uint8_t *d;
	int n = 0;
	while (st_cert_option_next(c->critical, c->critical_len, &pos, &nm, &nl, &d, &dl) == ST_OK &&
	       n < 10)
		n++;
	CHECK_INT(n, 3);
	st_cert_free(c);
}

/* Every single-byte change and every truncation of a good certificate is refused. */
static void test_corruptions(void)
{
	struct st_buf b;
	struct st_cert *c = NULL;
	uint8_t *m;
	size_t n;

	memset(&b, 0, sizeof(b));
	CHECK_OK(blob_of("u_ed-cert.pub", &b));
	n = st_buf_avail(&b);
	if (n == 0 || (m = malloc(n + 1)) == NULL) {
		st_buf_free(&b);
		return;
	}
	memcpy(m, st_buf_ptr(&b), n);
	CHECK_OK(st_cert_parse(m, n, &c));
	st_cert_free(c);
	c = NULL;
	int accepted = 0;
	for (size_t i = 0; i < n; i++) {
		m[i] ^= 0x01;
		if (st_cert_parse(m, n, &c) == ST_OK) {
			accepted++;
			st_cert_free(c);
			c = NULL;
		}
		m[i] ^= 0x01;
	}
	CHECK_INT(accepted, 0);
	accepted = 0;
	for (size_t l = 0; l < n; l++)
		if (st_cert_parse(m, l, &c) == ST_OK) {
			accepted++;
			st_cert_free(c);
			c = NULL;
		}
	CHECK_INT(accepted, 0);
	m[n] = 0;
	CHECK_ERR(st_cert_parse(m, n + 1, &c), ST_ERR_TRAILING);
	CHECK_ERR(st_cert_parse(NULL, 0, &c), ST_ERR_FORMAT);
	free(m);
	st_buf_free(&b);
}

/* A certificate re-signed by hand: swap the CA key for another one (signature then fails). */
static void test_wrong_ca(void)
{
	struct st_buf b, w;
	struct st_cert *c = NULL;
	struct st_key *other = pub("ca_ec.pub");
	const uint8_t *p;
	size_t l;

	memset(&b, 0, sizeof(b));
	memset(&w, 0, sizeof(w));
	CHECK_OK(blob_of("u_ed-cert.pub", &b));
	CHECK_OK(st_buf_alloc(&w, 1024, 65536));
	/* Copy every field up to the signature key, then write another key and the old signature. */
	struct st_buf r = b;
	const uint8_t *start = st_buf_ptr(&r);
	uint64_t u64;
	uint32_t u32;
	int ok = st_buf_get_string(&r, &p, &l) == 0 && st_buf_get_string(&r, &p, &l) == 0 &&
		 st_buf_get_string(&r, &p, &l) == 0 && st_buf_get_u64(&r, &u64) == 0 &&
		 st_buf_get_u32(&r, &u32) == 0 && st_buf_get_string(&r, &p, &l) == 0 &&
		 st_buf_get_string(&r, &p, &l) == 0 && st_buf_get_u64(&r, &u64) == 0 &&
		 st_buf_get_u64(&r, &u64) == 0 && st_buf_get_string(&r, &p, &l) == 0 &&
		 st_buf_get_string(&r, &p, &l) == 0 && st_buf_get_string(&r, &p, &l) == 0;
	CHECK(ok);
	CHECK_OK(st_buf_put_bytes(&w, start, (size_t)(st_buf_ptr(&r) - start)));
	CHECK(st_buf_get_string(&r, &p, &l) == 0); /* the real CA */
	struct st_buf kb;
	CHECK_OK(st_buf_alloc(&kb, 256, 8192));
	CHECK(other != NULL && st_key_to_blob(other, &kb) == 0);
	CHECK_OK(st_buf_put_stringb(&w, &kb));
	CHECK_OK(st_buf_put_bytes(&w, st_buf_ptr(&r), st_buf_avail(&r)));
	CHECK_ERR(st_cert_parse(st_buf_ptr(&w), st_buf_avail(&w), &c), ST_ERR_SIG_INVALID);
	st_buf_free(&kb);
	st_buf_free(&w);
	st_buf_free(&b);
	st_key_free(other);
}

static void test_lines(void)
{
	struct st_cert *c = NULL;
	size_t len = 0;
	char *t = slurp(P("u_ed-cert.pub"), &len), *line;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	static const char garbage[] = "ssh-ed25519-cert-v01@openssh.com AAAAgarbage\n";
	CHECK(st_cert_parse_line(garbage, strlen(garbage), &c) != ST_OK);
	static const char plain[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x\n";
	CHECK_ERR(st_cert_parse_line(plain, strlen(plain), &c), ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK_ERR(st_cert_parse_line("", 0, &c), ST_ERR_FORMAT);
	/* The type word must match the blob. */
	line = malloc(len + 64);
	CHECK(line != NULL);
	if (line != NULL) {
		const char *sp = strchr(t, ' ');
		snprintf(line, len + 64, "ecdsa-sha2-nistp256-cert-v01@openssh.com%s", sp);
		CHECK_ERR(st_cert_parse_line(line, strlen(line), &c), ST_ERR_KEY_TYPE_MISMATCH);
		/* Leading blanks and CRLF are fine; a second line is not. */
		snprintf(line, len + 64, "  %.*s\r\n", (int)strcspn(t, "\n"), t);
		CHECK_OK(st_cert_parse_line(line, strlen(line), &c));
		st_cert_free(c);
		c = NULL;
		snprintf(line, len + 64, "%.*s\nx", (int)strcspn(t, "\n"), t);
		CHECK_ERR(st_cert_parse_line(line, strlen(line), &c), ST_ERR_FORMAT);
		free(line);
	}
	char safe[8];
	st_cert_printable("a\nb\x1b[c\x80", 7, safe, sizeof(safe));
	CHECK(strcmp(safe, "a?b?[c?") == 0);
	st_cert_printable("abcdefghij", 10, safe, 4);
	CHECK(strcmp(safe, "abc") == 0);
	CHECK(st_cert_type_name("ssh-rsa-cert-v01@openssh.com", 28, NULL));
	CHECK(!st_cert_type_name("rsa-sha2-256-cert-v01@openssh.com", 33, NULL));
	free(t);
}

int main(void)
{
	setup();
	if (!gen_ok) {
		if (have_dir)
			st_test_sh("rm -rf '%s'", tmpdir);
		st_test_fail(__FILE__, __LINE__, "ssh-keygen could not make the certificates");
		return st_test_done("test_cert");
	}
	RUN(test_user_ed25519);
	RUN(test_ca_types);
	RUN(test_rsa_sig_algs);
	RUN(test_options);
	RUN(test_corruptions);
	RUN(test_wrong_ca);
	RUN(test_lines);
	st_test_sh("rm -rf '%s'", tmpdir);
	return st_test_done("test_cert");
}
