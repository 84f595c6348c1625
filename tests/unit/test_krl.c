/*
 * Unit tests for KRLs and revoked key lists (crypto/krl.c, control/revoked.c)
 * with KRLs that `ssh-keygen -k` makes at test time: serials (a list, a
 * range, bitmaps: ssh-keygen picks the smallest encoding), key ids, explicit keys, SHA-1 and SHA-256
 * fingerprints, a revoked CA; text key lists; malformed files.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/revoked.h"
#include "crypto/buf.h"
#include "crypto/cert.h"
#include "crypto/key.h"
#include "crypto/krl.h"
#include "tests/unit/test.h"

static char dir[] = "/tmp/st_test_krl.XXXXXX";
static int gen_ok;

static const char *P(const char *name)
{
	return st_test_path(dir, name);
}

static int sh(const char *cmd)
{
	return st_test_sh("cd '%s' && { %s; } </dev/null >/dev/null 2>&1", dir, cmd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d;

	if (f == NULL)
		return NULL;
	if ((d = malloc(1 << 20)) != NULL)
		*len = fread(d, 1, 1 << 20, f);
	fclose(f);
	return d;
}

static struct st_cert *cert(const char *name)
{
	size_t len = 0;
	uint8_t *t = slurp(P(name), &len);
	struct st_cert *c = NULL;

	if (t == NULL || st_cert_parse_line((const char *)t, len, &c) != ST_OK)
		c = NULL;
	free(t);
	return c;
}

static struct st_key *pub(const char *name)
{
	size_t len = 0;
	uint8_t *t = slurp(P(name), &len);
	struct st_key *k = NULL;

	if (t != NULL) {
		t[len < (1 << 20) ? len : len - 1] = 0;
		if (st_key_parse_public_line((const char *)t, &k, NULL, 0) != ST_OK)
			k = NULL;
	}
	free(t);
	return k;
}

static struct st_krl *krl(const char *name)
{
	size_t len = 0;
	uint8_t *t = slurp(P(name), &len);
	struct st_krl *k = NULL;

	if (t == NULL || st_krl_parse(t, len, &k, NULL) != ST_OK)
		k = NULL;
	free(t);
	return k;
}

/* Certificate NAME with serial S and key id ID signed by CA. */
static int mkcert(const char *name, const char *ca, int serial, const char *id)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "ssh-keygen -q -t ed25519 -N '' -f %s && ssh-keygen -q -s %s -I %s -z %d -n u %s.pub",
		 name, ca, id, serial, name);
	return sh(cmd);
}

static void setup(void)
{
	if (mkdtemp(dir) == NULL)
		return;
	gen_ok = sh("ssh-keygen -q -t ed25519 -N '' -f ca && ssh-keygen -q -t ed25519 -N '' -f ca2 && "
		    "ssh-keygen -q -t ed25519 -N '' -f k1 && ssh-keygen -q -t ecdsa -N '' -f k2 && "
		    "ssh-keygen -q -t rsa -b 2048 -N '' -f k3 && ssh-keygen -q -t ed25519 -N '' -f k4") == 0;
	static const struct {
		const char *n, *ca;
		int s;
		const char *id;
	} certs[] = {
		{ "s5", "ca", 5, "a" },	   { "s7", "ca", 7, "a" },     { "s15", "ca", 15, "a" },
		{ "s21", "ca", 21, "a" },  { "s104", "ca", 104, "a" }, { "s105", "ca", 105, "a" },
		{ "s0", "ca", 0, "a" },	   { "bad", "ca", 8, "bad-id" }, { "o5", "ca2", 5, "a" },
		{ "r1", "ca", 1000, "a" }, { "r2", "ca", 900001, "a" },  { "l1", "ca", 5000000, "a" },
		{ "l2", "ca", 5000001, "a" },
	};
	for (size_t i = 0; gen_ok && i < sizeof(certs) / sizeof(certs[0]); i++)
		gen_ok = mkcert(certs[i].n, certs[i].ca, certs[i].s, certs[i].id) == 0;
	/* serials 5, 10-20, the even serials 100..140 (a bitmap), id bad-id, under ca. */
	gen_ok = gen_ok &&
		 sh("{ echo 'serial: 5'; echo 'serial: 10-20'; for i in $(seq 100 2 140); do "
		    "echo \"serial: $i\"; done; echo 'id: bad-id'; echo 'serial: 1000-900000'; "
		    "echo 'serial: 5000000'; echo 'serial: 9000000'; } > spec && "
		    "ssh-keygen -q -k -f krl_ca -s ca.pub spec") == 0;
	/* explicit key k1, SHA-1 of k2, SHA-256 of k3, the CA ca2 as a key. */
	gen_ok = gen_ok &&
		 sh("{ echo \"key: $(cat k1.pub)\"; echo \"sha1: $(cat k2.pub)\"; "
		    "echo \"sha256: $(cat k3.pub)\"; echo \"key: $(cat ca2.pub)\"; } > spec2 && "
		    "ssh-keygen -q -k -f krl_keys spec2") == 0;
	if (!gen_ok)
		fprintf(stderr, "setup: ssh-keygen failed\n");
}

static void test_serials_and_ids(void)
{
	struct st_krl *k = krl("krl_ca");
	static const struct {
		const char *cert;
		int revoked;
	} v[] = {
		{ "s5-cert.pub", 1 },	 { "s7-cert.pub", 0 },	 { "s15-cert.pub", 1 },
		{ "s21-cert.pub", 0 },	 { "s104-cert.pub", 1 }, { "s105-cert.pub", 0 },
		{ "s0-cert.pub", 0 },	 { "bad-cert.pub", 1 },	 { "o5-cert.pub", 0 },
		{ "r1-cert.pub", 1 },	 { "r2-cert.pub", 0 },	 { "l1-cert.pub", 1 },
		{ "l2-cert.pub", 0 },
	};
	CHECK(k != NULL);
	for (size_t i = 0; k != NULL && i < sizeof(v) / sizeof(v[0]); i++) {
		struct st_cert *c = cert(v[i].cert);
		CHECK(c != NULL);
		if (c != NULL && st_krl_cert_revoked(k, c) != v[i].revoked)
			st_test_fail(__FILE__, __LINE__, "%s: revoked %d, wanted %d", v[i].cert,
				     !v[i].revoked, v[i].revoked);
		st_cert_free(c);
	}
	st_krl_free(k);
}

static void test_keys(void)
{
	struct st_krl *k = krl("krl_keys");
	static const struct {
		const char *key;
		int revoked;
	} v[] = { { "k1.pub", 1 }, { "k2.pub", 1 }, { "k3.pub", 1 }, { "k4.pub", 0 }, { "ca.pub", 0 } };

	CHECK(k != NULL);
	for (size_t i = 0; k != NULL && i < sizeof(v) / sizeof(v[0]); i++) {
		struct st_key *key = pub(v[i].key);
		CHECK(key != NULL);
		if (key != NULL && st_krl_key_revoked(k, key) != v[i].revoked)
			st_test_fail(__FILE__, __LINE__, "%s: wanted revoked=%d", v[i].key,
				     v[i].revoked);
		st_key_free(key);
	}
	/* A certificate whose CA is revoked as a key. */
	struct st_cert *c = cert("o5-cert.pub"), *c2 = cert("s7-cert.pub");
	CHECK(c != NULL && k != NULL && st_krl_cert_revoked(k, c) == 1);
	CHECK(c2 != NULL && k != NULL && st_krl_cert_revoked(k, c2) == 0);
	st_cert_free(c);
	st_cert_free(c2);
	st_krl_free(k);
}

static void test_text_list(void)
{
	char buf[4096];
	size_t n = 0, line = 0;
	uint8_t *k2 = slurp(P("k2.pub"), &n);
	struct st_krl *k = NULL;
	struct st_key *key = pub("k2.pub"), *other = pub("k1.pub");

	CHECK(k2 != NULL && key != NULL && other != NULL);
	if (k2 == NULL || key == NULL || other == NULL)
		goto out;
	snprintf(buf, sizeof(buf), "# revoked\n\n%.*s", (int)n, (const char *)k2);
	CHECK_OK(st_krl_parse((const uint8_t *)buf, strlen(buf), &k, NULL));
	CHECK(k != NULL && st_krl_key_revoked(k, key) == 1);
	CHECK(k != NULL && st_krl_key_revoked(k, other) == 0);
	st_krl_free(k);
	k = NULL;
	snprintf(buf, sizeof(buf), "%.*s\nnot a key\n", (int)n - 1, (const char *)k2);
	CHECK_ERR(st_krl_parse((const uint8_t *)buf, strlen(buf), &k, &line), ST_ERR_FORMAT);
	CHECK_INT(line, 2);
	CHECK_OK(st_krl_parse((const uint8_t *)"", 0, &k, NULL));
	CHECK(k != NULL && st_krl_key_revoked(k, key) == 0);
	st_krl_free(k);
out:
	free(k2);
	st_key_free(key);
	st_key_free(other);
}

static void test_malformed(void)
{
	size_t n = 0;
	uint8_t *d = slurp(P("krl_ca"), &n);
	struct st_krl *k = NULL;

	CHECK(d != NULL && n > 44);
	if (d == NULL)
		return;
	/* Every cut inside the header is refused; a cut inside a section too. */
	for (size_t l = 8; l < 44 && l < n; l++)
		if (st_krl_parse(d, l, &k, NULL) == ST_OK) {
			st_test_fail(__FILE__, __LINE__, "header cut at %zu accepted", l);
			st_krl_free(k);
		}
	CHECK(st_krl_parse(d, n - 1, &k, NULL) != ST_OK);
	/* Wrong format version, unknown section type, trailing byte. */
	d[11] ^= 2;
	CHECK_ERR(st_krl_parse(d, n, &k, NULL), ST_ERR_FORMAT);
	d[11] ^= 2;
	uint8_t *e = malloc(n + 8);
	CHECK(e != NULL);
	if (e != NULL) {
		memcpy(e, d, n);
		memcpy(e + n, "\x09\x00\x00\x00\x00", 5);
		CHECK_ERR(st_krl_parse(e, n + 5, &k, NULL), ST_ERR_FORMAT);
		e[n] = 0x01;
		CHECK_ERR(st_krl_parse(e, n + 1, &k, NULL), ST_ERR_FORMAT);
		free(e);
	}
	/* Every single-byte change parses or is refused, never crashes. */
	for (size_t i = 0; i < n; i++) {
		d[i] ^= 0x80;
		if (st_krl_parse(d, n, &k, NULL) == ST_OK)
			st_krl_free(k);
		d[i] ^= 0x80;
	}
	free(d);
}

static void test_revoked_file(void)
{
	char why[300];
	struct st_key *k1 = pub("k1.pub"), *k4 = pub("k4.pub");
	struct st_cert *c = cert("s5-cert.pub");

	CHECK(k1 != NULL && k4 != NULL && c != NULL);
	CHECK_INT(st_revoked_check(P("krl_keys"), k1, NULL, why, sizeof(why)), 1);
	CHECK(strstr(why, "key revoked by") != NULL);
	CHECK_INT(st_revoked_check(P("krl_keys"), k4, NULL, why, sizeof(why)), 0);
	CHECK_INT(st_revoked_check(P("krl_ca"), NULL, c, why, sizeof(why)), 1);
	CHECK_INT(st_revoked_check("", k1, NULL, why, sizeof(why)), 0);
	/* Unreadable or broken: fail closed, with the reason. */
	CHECK_INT(st_revoked_check(P("missing"), k4, NULL, why, sizeof(why)), 1);
	CHECK(strstr(why, "No such file") != NULL);
	st_test_write_file(P("broken"), "junk\n", 5);
	CHECK_INT(st_revoked_check(P("broken"), k4, NULL, why, sizeof(why)), 1);
	CHECK(strstr(why, "broken:1:") != NULL);
	st_key_free(k1);
	st_key_free(k4);
	st_cert_free(c);
}

int main(void)
{
	setup();
	if (!gen_ok) {
		st_test_fail(__FILE__, __LINE__, "ssh-keygen could not make the KRLs");
	} else {
		RUN(test_serials_and_ids);
		RUN(test_keys);
		RUN(test_text_list);
		RUN(test_malformed);
		RUN(test_revoked_file);
	}
	st_test_sh("rm -rf '%s'", dir);
	return st_test_done("test_krl");
}
