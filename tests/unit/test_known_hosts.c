/*
 * Unit tests for known_hosts parsing and host key checks
 * (control/client/hostkey_check.c). Keys come from st_key_generate(); hashed
 * names are made here with OpenSSL's HMAC() and, as a cross-check, by
 * ssh-keygen -H when it is installed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "control/client/hostkey_check.h"
#include "crypto/base64.h"
#include "crypto/key.h"
#include "tests/unit/test.h"

static char tmpdir[] = "/tmp/st-known-hosts-XXXXXX";
static int have_dir;

/* Keys: 0 ed25519, 1 ecdsa, 2 rsa, 3 and 4 an ed25519 and an ecdsa never listed as such. */
enum { K_ED, K_EC, K_RSA, K_ED2, K_EC2, NKEYS };
static struct st_key *keys[NKEYS];
static char pub[NKEYS][1024]; /* "<type> <base64>" */

static const char *P(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

/* Formats known_hosts text into a static buffer. */
static const char *T(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *T(const char *fmt, ...)
{
	static char buf[2][65536];
	static int i;
	va_list ap;
	int n;

	i = (i + 1) % 2;
	va_start(ap, fmt);
	n = vsnprintf(buf[i], sizeof(buf[i]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf[i])) {
		fprintf(stderr, "test text too long\n");
		abort();
	}
	return buf[i];
}

/* Parses NUL-terminated text; returns the set (NULL on failure, which fails the test). */
static struct st_known_hosts *parse(const char *text, unsigned *bad)
{
	struct st_known_hosts *kh = NULL;
	unsigned b = 12345;

	CHECK_OK(st_known_hosts_parse(text, strlen(text), &kh, &b));
	CHECK(kh != NULL);
	CHECK(b != 12345);
	if (bad != NULL)
		*bad = b;
	return kh;
}

static enum st_hostkey_verdict check(const struct st_known_hosts *kh, const char *host,
				     uint16_t port, int key)
{
	return st_known_hosts_check(kh, host, port, keys[key]);
}

/* "|1|<salt>|<hash>" for name, with a salt made from seed. */
static void hashed_name(const char *name, uint64_t seed, char *out, size_t outsz)
{
	uint8_t salt[20], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char s64[32], h64[32];

	st_test_fill(salt, sizeof(salt), seed);
	CHECK(HMAC(EVP_sha1(), salt, (int)sizeof(salt), (const unsigned char *)name, strlen(name),
		   mac, &maclen) != NULL);
	CHECK_INT(maclen, 20);
	CHECK_OK(st_base64_encode(salt, sizeof(salt), s64, sizeof(s64), 0));
	CHECK_OK(st_base64_encode(mac, 20, h64, sizeof(h64), 0));
	snprintf(out, outsz, "|1|%s|%s", s64, h64);
}

static int setup(void)
{
	static const enum st_key_type types[NKEYS] = {
		ST_KEY_ED25519, ST_KEY_ECDSA_P256, ST_KEY_RSA, ST_KEY_ED25519, ST_KEY_ECDSA_P256,
	};

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	have_dir = 1;
	for (int i = 0; i < NKEYS; i++) {
		if (st_key_generate(types[i], types[i] == ST_KEY_RSA ? 2048 : 0, &keys[i]) != ST_OK)
			return -1;
		if (st_key_format_public_line(keys[i], NULL, pub[i], sizeof(pub[i])) != ST_OK)
			return -1;
	}
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < NKEYS; i++)
		st_key_free(keys[i]);
	if (have_dir)
		st_test_sh("rm -rf '%s'", tmpdir);
}

static void test_plain(void)
{
	unsigned bad;
	struct st_known_hosts *kh = parse(T("host.example.com %s\n", pub[K_ED]), &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 1);
	CHECK_INT(check(kh, "host.example.com", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "host.example.com", 22, K_ED2), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "host.example.com", 22, K_EC), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "other.example.com", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host.example.co", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host.example.com", 2222, K_ED), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);

	/* A list, several keys for one host, no newline at the end. */
	kh = parse(T("a.example,b.example,10.0.0.1 %s\na.example %s\nc.example %s", pub[K_ED],
		     pub[K_EC], pub[K_RSA]),
		   &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 3);
	CHECK_INT(check(kh, "a.example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "a.example", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "a.example", 22, K_RSA), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "b.example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "b.example", 22, K_EC), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "10.0.0.1", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "10.0.0.10", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "c.example", 22, K_RSA), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "d.example", 22, K_RSA), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);
}

static void test_wildcard_negation(void)
{
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("*.example.com,!bad.example.com %s\nhost?.lan %s\n", pub[K_ED], pub[K_EC]),
		      &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(check(kh, "www.example.com", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "a.b.example.com", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "www.example.com", 22, K_ED2), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "example.com", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	/* The negated name is not covered by the line at all. */
	CHECK_INT(check(kh, "bad.example.com", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "bad.example.com", 22, K_ED2), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host1.lan", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "host12.lan", 22, K_EC), ST_HOSTKEY_UNKNOWN);
	/* '*' does not stand for the port brackets of a non-22 name. */
	CHECK_INT(check(kh, "www.example.com", 2222, K_ED), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);

	/* A lone negation matches nothing; '*' matches every name. */
	kh = parse(T("!evil %s\n* %s\n", pub[K_ED], pub[K_EC]), &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(check(kh, "good", 22, K_ED), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "good", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "[good]:2222", 22, K_EC), ST_HOSTKEY_MISMATCH); /* '[' is refused */
	CHECK_INT(check(kh, "[good]", 2222, K_EC), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "good", 2222, K_EC), ST_HOSTKEY_OK);
	st_known_hosts_free(kh);
}

static void test_ports(void)
{
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("[host.example]:2222 %s\nhost.example %s\n[*.lan]:* %s\n", pub[K_ED],
			pub[K_EC], pub[K_RSA]),
		      &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(check(kh, "host.example", 2222, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "host.example", 2222, K_EC), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "host.example", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "host.example", 22, K_ED), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "host.example", 2223, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host.example", 222, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "x.lan", 65535, K_RSA), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "x.lan", 1, K_RSA), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "x.lan", 0, K_RSA), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "x.lan", 22, K_RSA), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);

	/* Port 22 is looked up as the plain name only. */
	kh = parse(T("[h.example]:22 %s\n", pub[K_ED]), &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(check(kh, "h.example", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);

	/* IPv6 addresses. */
	kh = parse(T("2001:db8::1 %s\n[2001:db8::1]:2200 %s\n", pub[K_ED], pub[K_EC]), &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(check(kh, "2001:db8::1", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "2001:DB8::1", 2200, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "2001:db8::1", 2200, K_ED), ST_HOSTKEY_MISMATCH);
	st_known_hosts_free(kh);
}

static void test_case_insensitive(void)
{
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("Host.EXAMPLE.com %s\n*.Mixed.Example %s\n", pub[K_ED], pub[K_EC]), &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(check(kh, "host.example.com", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "HOST.example.COM", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "A.MIXED.EXAMPLE", 22, K_EC), ST_HOSTKEY_OK);
	st_known_hosts_free(kh);
}

static void test_hashed(void)
{
	char h1[128], h2[128], h3[128];
	unsigned bad;
	struct st_known_hosts *kh;

	hashed_name("hashed.example", 1, h1, sizeof(h1));
	hashed_name("[hashed.example]:2022", 2, h2, sizeof(h2));
	hashed_name("Upper.Example", 3, h3, sizeof(h3)); /* ssh never hashes upper case */
	kh = parse(T("%s %s\n%s %s\n%s %s\n", h1, pub[K_ED], h2, pub[K_EC], h3, pub[K_RSA]), &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 3);
	CHECK_INT(check(kh, "hashed.example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "HASHED.Example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "hashed.example", 22, K_ED2), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "hashed.example", 22, K_EC), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "hashed.example", 2022, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "hashed.example", 2022, K_ED), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "hashed.example", 2023, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "hashed.exampl", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "other", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "Upper.Example", 22, K_RSA), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);

	/* Damaged hashed names are malformed lines. */
	{
		const char *s64 = h1 + 3, *bar = strchr(s64, '|');
		int slen = (int)(bar - s64);

		CHECK(bar != NULL);
		/* Missing hash, missing bar, empty salt, short salt, bad base64. */
		kh = parse(T("|1|%.*s %s\n", slen, s64, pub[K_ED]), &bad);
		CHECK_INT(bad, 1);
		CHECK_INT(st_known_hosts_count(kh), 0);
		st_known_hosts_free(kh);
		kh = parse(T("|1|%.*s| %s\n|1||| %s\n|1||%s %s\n|1|%s %s\n", slen, s64, pub[K_ED],
			     pub[K_ED], bar + 1, pub[K_ED], bar + 1, pub[K_ED]),
			   &bad);
		CHECK_INT(bad, 4);
		st_known_hosts_free(kh);
		kh = parse(T("|1|AAAAAAAAAAAAAAAAAAAAAA==%s %s\n|1|%.*s|%s|x %s\n|1|%.*s|!%s %s\n",
			     bar, pub[K_ED], slen, s64, bar + 1, pub[K_ED], slen, s64, bar + 2,
			     pub[K_ED]),
			   &bad);
		CHECK_INT(bad, 3);
		CHECK_INT(check(kh, "hashed.example", 22, K_ED), ST_HOSTKEY_UNKNOWN);
		st_known_hosts_free(kh);
		/* Unpadded base64 is not accepted (the decoder is strict). */
		kh = parse(T("|1|%.*s|%.27s %s\n", slen - 1, s64, bar + 1, pub[K_ED]), &bad);
		CHECK_INT(bad, 1);
		st_known_hosts_free(kh);
		/* Not "|1|": a plain pattern, never a hashed name. */
		kh = parse(T("||1|| %s\n|2|%s %s\n", pub[K_ED], s64, pub[K_ED]), &bad);
		CHECK_INT(bad, 0);
		CHECK_INT(check(kh, "hashed.example", 22, K_ED), ST_HOSTKEY_UNKNOWN);
		st_known_hosts_free(kh);
		/* A hashed name inside a list is just a pattern that matches nothing. */
		kh = parse(T("x,%s %s\n", h1, pub[K_ED]), &bad);
		CHECK_INT(bad, 0);
		CHECK_INT(check(kh, "hashed.example", 22, K_ED), ST_HOSTKEY_UNKNOWN);
		CHECK_INT(check(kh, "x", 22, K_ED), ST_HOSTKEY_OK);
		st_known_hosts_free(kh);
	}
}

/* ssh-keygen -H writes hashed names we must find (skipped without ssh-keygen). */
static void test_hashed_by_ssh_keygen(void)
{
	struct st_known_hosts *kh = NULL;
	const char *path = P("kh_hashed");
	unsigned bad = 99;
	const char *text;

	if (st_test_sh("command -v ssh-keygen >/dev/null 2>&1") != 0) {
		printf("  (ssh-keygen not found, skipped)\n");
		return;
	}
	text = T("keygen.example %s\n[keygen.example]:2200 %s\n", pub[K_ED], pub[K_RSA]);
	st_test_write_file(path, text, strlen(text));
	CHECK_INT(st_test_sh("ssh-keygen -q -H -f '%s' >/dev/null 2>&1", path), 0);
	CHECK_OK(st_known_hosts_load(path, &kh, &bad));
	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 2);
	CHECK_INT(check(kh, "keygen.example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "KEYGEN.example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "keygen.example", 22, K_RSA), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "keygen.example", 2200, K_RSA), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "keygen.example", 2201, K_RSA), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);
}

static void test_revoked(void)
{
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("@revoked unrelated.host %s\nhost %s\nhost %s\n", pub[K_ED2], pub[K_ED2],
			pub[K_EC]),
		      &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 3);
	/* Revoked for every host, even where a plain line lists it. */
	CHECK_INT(check(kh, "host", 22, K_ED2), ST_HOSTKEY_REVOKED);
	CHECK_INT(check(kh, "unrelated.host", 22, K_ED2), ST_HOSTKEY_REVOKED);
	CHECK_INT(check(kh, "nowhere", 2222, K_ED2), ST_HOSTKEY_REVOKED);
	CHECK_INT(check(kh, "host", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "host", 22, K_ED), ST_HOSTKEY_MISMATCH);
	/* A revoked key is refused even for a host that cannot be looked up. */
	CHECK_INT(st_known_hosts_check(kh, NULL, 22, keys[K_ED2]), ST_HOSTKEY_REVOKED);
	st_known_hosts_free(kh);

	/* A revoked entry alone does not make a host known. */
	kh = parse(T("@revoked host %s\n", pub[K_ED]), &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 1);
	CHECK_INT(check(kh, "host", 22, K_EC), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host", 22, K_ED), ST_HOSTKEY_REVOKED);
	st_known_hosts_free(kh);

	/* Revocation wins whatever the order of the lines. */
	kh = parse(T("host %s\n@revoked * %s\n", pub[K_RSA], pub[K_RSA]), &bad);
	CHECK_INT(check(kh, "host", 22, K_RSA), ST_HOSTKEY_REVOKED);
	st_known_hosts_free(kh);
}

static void test_cert_authority(void)
{
	char algs[128];
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("@cert-authority *.example.com %s\n@cert-authority host %s\n", pub[K_ED],
			pub[K_EC]),
		      &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 0);
	CHECK_INT(check(kh, "x.example.com", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "x.example.com", 22, K_EC), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host", 22, K_EC), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_algs(kh, "host", 22, NULL, algs, sizeof(algs));
	CHECK(strcmp(algs, "") == 0);
	st_known_hosts_free(kh);

	/* Next to a plain line it changes nothing. */
	kh = parse(T("@cert-authority host %s\nhost %s\n", pub[K_ED], pub[K_EC]), &bad);
	CHECK_INT(st_known_hosts_count(kh), 1);
	CHECK_INT(check(kh, "host", 22, K_ED), ST_HOSTKEY_MISMATCH);
	CHECK_INT(check(kh, "host", 22, K_EC), ST_HOSTKEY_OK);
	st_known_hosts_free(kh);
}

static void test_comments_blank(void)
{
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("# a comment\n\n   \n\t# indented %s\r\n\r\n"
			"  host\t%s   some comment words  \r\n"
			"#host2 %s\n"
			"host3 %s #not a comment marker here\n",
			pub[K_ED], pub[K_EC], pub[K_RSA], pub[K_RSA]),
		      &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 2);
	CHECK_INT(check(kh, "host", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "host2", 22, K_RSA), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(check(kh, "host3", 22, K_RSA), ST_HOSTKEY_OK);
	st_known_hosts_free(kh);

	/* Empty input. */
	kh = NULL;
	CHECK_OK(st_known_hosts_parse("", 0, &kh, NULL));
	CHECK_INT(st_known_hosts_count(kh), 0);
	CHECK_INT(check(kh, "host", 22, K_ED), ST_HOSTKEY_UNKNOWN);
	st_known_hosts_free(kh);
	kh = NULL;
	CHECK_OK(st_known_hosts_parse(NULL, 0, &kh, NULL));
	st_known_hosts_free(kh);
}

/* Each text must be one malformed line (bad == 1) that leaves nothing usable. */
static void expect_bad(int line, const char *text, size_t len)
{
	struct st_known_hosts *kh = NULL;
	unsigned bad = 0;
	char *t;

	/* A good line after it must still be read. */
	if ((t = malloc(len + 2048)) == NULL)
		abort();
	memcpy(t, text, len);
	snprintf(t + len, 2048, "\ngood.example %s\n", pub[K_EC]);
	if (st_known_hosts_parse(t, len + strlen(t + len), &kh, &bad) != ST_OK || bad != 1 ||
	    st_known_hosts_count(kh) != 1 ||
	    check(kh, "good.example", 22, K_EC) != ST_HOSTKEY_OK)
		st_test_fail(__FILE__, line, "line \"%.60s\": bad=%u count=%zu", text, bad,
			     st_known_hosts_count(kh));
	st_known_hosts_free(kh);
	free(t);
}

#define BAD(s) expect_bad(__LINE__, (s), strlen(s))

static void test_malformed(void)
{
	char edb64[512], *longline;
	const char *sp = strchr(pub[K_ED], ' ');
	size_t n;

	CHECK(sp != NULL);
	snprintf(edb64, sizeof(edb64), "%s", sp + 1);
	n = strlen(edb64);

	/* Missing fields. */
	BAD("host");
	BAD("host ");
	BAD("host ssh-ed25519");
	BAD("host ssh-ed25519 \t ");
	BAD("@revoked");
	BAD("@revoked host");
	BAD("@revoked host ssh-ed25519");
	BAD("@cert-authority host ssh-ed25519");
	BAD(T("%s", pub[K_ED])); /* no host field: the type is taken as hosts */
	/* Unknown markers (markers are case-sensitive). */
	BAD(T("@foo host %s", pub[K_ED]));
	BAD(T("@REVOKED host %s", pub[K_ED]));
	BAD(T("@ host %s", pub[K_ED]));
	BAD(T("@revoked@cert-authority host %s", pub[K_ED]));
	/* Truncated or damaged base64. */
	BAD(T("host ssh-ed25519 %.*s", (int)n - 1, edb64));
	BAD(T("host ssh-ed25519 %.*s", (int)n - 4, edb64));
	BAD(T("host ssh-ed25519 %.8s", edb64));
	BAD(T("host ssh-ed25519 %s=", edb64));
	BAD(T("host ssh-ed25519 %.10s*%s", edb64, edb64 + 11));
	BAD("host ssh-ed25519 AAAA");
	BAD("host ssh-ed25519 ====");
	/* Type field and blob disagree. */
	BAD(T("host ssh-rsa %s", edb64));
	BAD(T("host ecdsa-sha2-nistp256 %s", edb64));
	BAD(T("host ssh-ed25519 %s", strchr(pub[K_RSA], ' ') + 1));
	/* Garbage bytes. */
	BAD("host \x01\xff\xfe garbage");
	BAD("\xff\xfe\xfd\x80");
	BAD(T("host ssh-ed25519\x7f %s", edb64));
	BAD("host ssh-ed25519 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	BAD("host 1024 65537 12345678901234567890"); /* SSH1 K_RSA */
	BAD("host rsa-sha2-256 AAAA");
	/* A NUL byte. */
	{
		char t[1024];
		int len = snprintf(t, sizeof(t), "host %s", pub[K_ED]);

		t[6] = '\0';
		expect_bad(__LINE__, t, (size_t)len);
	}
	/* A pattern list over the caps of control/match.h. */
	longline = malloc(ST_KNOWN_HOSTS_LINE_MAX + 4096);
	CHECK(longline != NULL);
	if (longline == NULL)
		return;
	memset(longline, 'h', 9000);
	snprintf(longline + 9000, 4096, " %s", pub[K_ED]);
	BAD(longline);
	memset(longline, 'a', 2000);
	snprintf(longline + 2000, 4096, " %s", pub[K_ED]);
	BAD(longline); /* one entry over 1024 */
	for (int i = 0; i < 300; i++)
		memcpy(longline + 2 * i, "a,", 2);
	snprintf(longline + 600, 4096, "b %s", pub[K_ED]);
	BAD(longline); /* over 256 entries */
	/* A very long line: a valid key with a huge comment is over the line cap. */
	n = (size_t)snprintf(longline, 4096, "host %s ", pub[K_ED]);
	memset(longline + n, 'c', ST_KNOWN_HOSTS_LINE_MAX + 10 - n);
	longline[ST_KNOWN_HOSTS_LINE_MAX + 10] = '\0';
	BAD(longline);
	/* ... and a long line just under the cap is fine. */
	longline[ST_KNOWN_HOSTS_LINE_MAX] = '\0';
	{
		struct st_known_hosts *kh = parse(longline, NULL);
		unsigned bad = 7;

		CHECK_INT(check(kh, "host", 22, K_ED), ST_HOSTKEY_OK);
		st_known_hosts_free(kh);
		/* with CRLF: the CR is not part of the line */
		memcpy(longline + ST_KNOWN_HOSTS_LINE_MAX, "\r\n", 3);
		kh = parse(longline, &bad);
		CHECK_INT(bad, 0);
		CHECK_INT(st_known_hosts_count(kh), 1);
		st_known_hosts_free(kh);
	}
	/* A huge base64 field (blob over ST_KEY_BLOB_MAX). */
	n = (size_t)snprintf(longline, 4096, "host ssh-rsa ");
	memset(longline + n, 'A', 12000);
	longline[n + 12000] = '\0';
	BAD(longline);
	free(longline);

	/* Several at once are all counted. */
	{
		unsigned bad = 0;
		struct st_known_hosts *kh =
			parse(T("host\n@x h %s\nh ssh-rsa %s\nok %s\nh ssh-ed25519 !!!!\n",
				pub[K_ED], edb64, pub[K_ED]),
			      &bad);

		CHECK_INT(bad, 4);
		CHECK_INT(st_known_hosts_count(kh), 1);
		CHECK_INT(check(kh, "ok", 22, K_ED), ST_HOSTKEY_OK);
		st_known_hosts_free(kh);
	}
}

/* Key types that are not ours are skipped without being counted as bad. */
static void test_foreign_types(void)
{
	unsigned bad;
	struct st_known_hosts *kh =
		parse(T("host sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t\n"
			"host sk-ecdsa-sha2-nistp256@openssh.com AAAA\n"
			"host ssh-dss AAAAB3NzaC1kc3M=\n"
			"host ecdsa-sha2-nistp384 AAAA\n"
			"host ecdsa-sha2-nistp521\n"
			"host ssh-ed25519-cert-v01@openssh.com AAAA\n"
			"@revoked * ssh-rsa-cert-v01@openssh.com AAAA\n"
			"host %s\n",
			pub[K_EC]),
		      &bad);

	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 1);
	CHECK_INT(check(kh, "host", 22, K_EC), ST_HOSTKEY_OK);
	st_known_hosts_free(kh);
}

static void test_algs(void)
{
	static const char *const def = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256";
	char out[256];
	struct st_known_hosts *kh =
		parse(T("h %s\nh %s\nother %s\n@revoked h %s\n@cert-authority h %s\n"
			"[h]:2222 %s\n",
			pub[K_RSA], pub[K_ED], pub[K_EC], pub[K_EC2], pub[K_EC], pub[K_EC]),
		      NULL);

	st_known_hosts_algs(kh, "h", 22, def, out, sizeof(out));
	CHECK(strcmp(out, "ssh-ed25519,rsa-sha2-512,rsa-sha2-256") == 0);
	st_known_hosts_algs(kh, "H", 22, NULL, out, sizeof(out));
	CHECK(strcmp(out, "ssh-ed25519,rsa-sha2-512,rsa-sha2-256") == 0);
	st_known_hosts_algs(kh, "h", 22,
			    "rsa-sha2-256,,ssh-ed25519,bogus,rsa-sha2-512,ssh-rsa,ssh-ed25519,"
			    "ecdsa-sha2-nistp256,rsa-sha2-256",
			    out, sizeof(out));
	CHECK(strcmp(out, "rsa-sha2-256,ssh-ed25519,rsa-sha2-512") == 0);
	st_known_hosts_algs(kh, "h", 22, "ssh-rsa,ecdsa-sha2-nistp256", out, sizeof(out));
	CHECK(strcmp(out, "") == 0);
	st_known_hosts_algs(kh, "h", 22, "", out, sizeof(out));
	CHECK(strcmp(out, "") == 0);
	st_known_hosts_algs(kh, "other", 22, def, out, sizeof(out));
	CHECK(strcmp(out, "ecdsa-sha2-nistp256") == 0);
	st_known_hosts_algs(kh, "h", 2222, def, out, sizeof(out));
	CHECK(strcmp(out, "ecdsa-sha2-nistp256") == 0);
	st_known_hosts_algs(kh, "nobody", 22, def, out, sizeof(out));
	CHECK(strcmp(out, "") == 0);
	st_known_hosts_algs(kh, NULL, 22, def, out, sizeof(out));
	CHECK(strcmp(out, "") == 0);
	st_known_hosts_algs(NULL, "h", 22, def, out, sizeof(out));
	CHECK(strcmp(out, "") == 0);

	/* Truncation stops at a name boundary; always NUL-terminated. */
	memset(out, 'X', sizeof(out));
	st_known_hosts_algs(kh, "h", 22, def, out, 12);
	CHECK(strcmp(out, "ssh-ed25519") == 0);
	memset(out, 'X', sizeof(out));
	st_known_hosts_algs(kh, "h", 22, def, out, 11);
	CHECK(strcmp(out, "") == 0);
	CHECK(out[1] == 'X');
	memset(out, 'X', sizeof(out));
	st_known_hosts_algs(kh, "h", 22, def, out, 24);
	CHECK(strcmp(out, "ssh-ed25519") == 0);
	memset(out, 'X', sizeof(out));
	st_known_hosts_algs(kh, "h", 22, def, out, 25);
	CHECK(strcmp(out, "ssh-ed25519,rsa-sha2-512") == 0);
	CHECK(out[25] == 'X');
	memset(out, 'X', sizeof(out));
	st_known_hosts_algs(kh, "h", 22, def, out, 1);
	CHECK(out[0] == '\0' && out[1] == 'X');
	st_known_hosts_algs(kh, "h", 22, def, out, 0); /* no write at all */
	CHECK(out[0] == '\0' && out[1] == 'X');
	st_known_hosts_algs(kh, "h", 22, def, NULL, 10);
	st_known_hosts_free(kh);
}

static void test_fingerprint(void)
{
	char fp[ST_KEY_FP_SIZE], other[ST_KEY_FP_SIZE], t[ST_KEY_FP_SIZE + 8];
	size_t n;

	CHECK_OK(st_key_fingerprint_sha256(keys[K_ED], fp, sizeof(fp)));
	CHECK_OK(st_key_fingerprint_sha256(keys[K_ED2], other, sizeof(other)));
	n = strlen(fp);
	CHECK_INT(n, 7 + 43);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], fp), 1);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], other), 0);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED2], other), 1);
	snprintf(t, sizeof(t), "%s=", fp);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 1);
	snprintf(t, sizeof(t), "%s==", fp);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	snprintf(t, sizeof(t), "%s ", fp);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	snprintf(t, sizeof(t), "%.*s", (int)n - 1, fp);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	snprintf(t, sizeof(t), "%.*s=", (int)n - 1, fp);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	snprintf(t, sizeof(t), "%s", fp);
	t[20] = t[20] == 'A' ? 'B' : 'A';
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], fp + 7), 0); /* no prefix */
	snprintf(t, sizeof(t), "sha256:%s", fp + 7);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], ""), 0);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], "SHA256:"), 0);
	CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], NULL), 0);
	CHECK_INT(st_hostkey_fingerprint_matches(NULL, fp), 0);
	/* The other key types. */
	for (int k = K_EC; k <= K_RSA; k++) {
		CHECK_OK(st_key_fingerprint_sha256(keys[k], t, sizeof(t)));
		CHECK_INT(st_hostkey_fingerprint_matches(keys[k], t), 1);
		CHECK_INT(st_hostkey_fingerprint_matches(keys[K_ED], t), 0);
	}
}

static void test_load(void)
{
	struct st_known_hosts *kh = NULL;
	const char *path = P("known_hosts");
	const char *text = T("loaded.example %s\nbad line\n", pub[K_ED]);
	unsigned bad = 0;
	FILE *f;

	st_test_write_file(path, text, strlen(text));
	CHECK_OK(st_known_hosts_load(path, &kh, &bad));
	CHECK_INT(bad, 1);
	CHECK_INT(st_known_hosts_count(kh), 1);
	CHECK_INT(check(kh, "loaded.example", 22, K_ED), ST_HOSTKEY_OK);
	st_known_hosts_free(kh);

	kh = (struct st_known_hosts *)&bad; /* untouched on error */
	errno = 0;
	CHECK_ERR(st_known_hosts_load(P("missing"), &kh, NULL), ST_ERR_SYSTEM);
	CHECK_INT(errno, ENOENT);
	CHECK(kh == (struct st_known_hosts *)&bad);
	CHECK_ERR(st_known_hosts_load(tmpdir, &kh, NULL), ST_ERR_SYSTEM);
	CHECK_ERR(st_known_hosts_load(NULL, &kh, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK(kh == (struct st_known_hosts *)&bad);

	/* /dev/null is an empty file. */
	kh = NULL;
	CHECK_OK(st_known_hosts_load("/dev/null", &kh, &bad));
	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 0);
	st_known_hosts_free(kh);

	/* Too large: a sparse file one byte over the cap. */
	path = P("huge");
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(ftruncate(fileno(f), (off_t)ST_KNOWN_HOSTS_MAX_BYTES + 1) == 0);
		fclose(f);
		kh = NULL;
		CHECK_ERR(st_known_hosts_load(path, &kh, NULL), ST_ERR_NO_SPACE);
		CHECK(kh == NULL);
		unlink(path);
	}
}

static void test_args(void)
{
	struct st_known_hosts *kh = NULL;
	char host[ST_KNOWN_HOSTS_NAME_MAX + 2];
	char *big;

	CHECK_ERR(st_known_hosts_parse("x", 1, NULL, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_known_hosts_parse(NULL, 1, &kh, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK(kh == NULL);
	big = calloc(1, (size_t)ST_KNOWN_HOSTS_MAX_BYTES + 1);
	CHECK(big != NULL);
	if (big != NULL) {
		CHECK_ERR(st_known_hosts_parse(big, (size_t)ST_KNOWN_HOSTS_MAX_BYTES + 1, &kh,
					       NULL),
			  ST_ERR_NO_SPACE);
		CHECK(kh == NULL);
		/* Exactly at the cap is fine (all NUL bytes: one malformed line). */
		unsigned bad = 0;

		CHECK_OK(st_known_hosts_parse(big, ST_KNOWN_HOSTS_MAX_BYTES, &kh, &bad));
		CHECK_INT(bad, 1);
		st_known_hosts_free(kh);
		free(big);
	}

	kh = parse(T("* %s\n", pub[K_ED]), NULL);
	CHECK_INT(st_known_hosts_check(NULL, "h", 22, keys[K_ED]), ST_HOSTKEY_UNKNOWN);
	CHECK_INT(st_known_hosts_check(kh, "h", 22, NULL), ST_HOSTKEY_MISMATCH);
	CHECK_INT(st_known_hosts_check(kh, NULL, 22, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	CHECK_INT(st_known_hosts_check(kh, "", 22, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	CHECK_INT(st_known_hosts_check(kh, "a b", 22, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	CHECK_INT(st_known_hosts_check(kh, "a,b", 22, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	CHECK_INT(st_known_hosts_check(kh, "a\nb", 22, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	CHECK_INT(st_known_hosts_check(kh, "a", 22, keys[K_ED]), ST_HOSTKEY_OK);
	/* Longest host name that fits, with and without a port. */
	memset(host, 'a', sizeof(host));
	host[ST_KNOWN_HOSTS_NAME_MAX] = '\0';
	CHECK_INT(st_known_hosts_check(kh, host, 22, keys[K_ED]), ST_HOSTKEY_OK);
	CHECK_INT(st_known_hosts_check(kh, host, 2222, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	host[ST_KNOWN_HOSTS_NAME_MAX - 8] = '\0';
	CHECK_INT(st_known_hosts_check(kh, host, 65535, keys[K_ED]), ST_HOSTKEY_OK);
	host[ST_KNOWN_HOSTS_NAME_MAX - 8] = 'a';
	host[ST_KNOWN_HOSTS_NAME_MAX] = 'a';
	host[ST_KNOWN_HOSTS_NAME_MAX + 1] = '\0';
	CHECK_INT(st_known_hosts_check(kh, host, 22, keys[K_ED]), ST_HOSTKEY_MISMATCH);
	st_known_hosts_free(kh);

	st_known_hosts_free(NULL);
	CHECK_INT(st_known_hosts_count(NULL), 0);
	CHECK(strcmp(st_hostkey_verdict_text(ST_HOSTKEY_UNKNOWN), "host key is not known") == 0);
	CHECK(st_hostkey_verdict_text(ST_HOSTKEY_OK)[0] != '\0');
	CHECK(st_hostkey_verdict_text(ST_HOSTKEY_MISMATCH)[0] != '\0');
	CHECK(st_hostkey_verdict_text(ST_HOSTKEY_REVOKED)[0] != '\0');
	CHECK(st_hostkey_verdict_text((enum st_hostkey_verdict)99) != NULL);
}

/* Parses text[0..len) and runs the lookups; must never crash or leak. */
static void poke(const char *text, size_t len, size_t maxcount)
{
	struct st_known_hosts *kh = NULL;
	char algs[128];
	unsigned bad = 0;

	if (st_known_hosts_parse(text, len, &kh, &bad) != ST_OK) {
		st_test_fail(__FILE__, __LINE__, "parse failed at len %zu", len);
		return;
	}
	if (st_known_hosts_count(kh) > maxcount)
		st_test_fail(__FILE__, __LINE__, "count %zu > %zu", st_known_hosts_count(kh),
			     maxcount);
	for (int k = 0; k < NKEYS; k++) {
		(void)check(kh, "plain.example", 22, k);
		(void)check(kh, "hashed.example", 22, k);
		(void)check(kh, "x.wild.example", 2222, k);
	}
	st_known_hosts_algs(kh, "plain.example", 22, NULL, algs, sizeof(algs));
	st_known_hosts_free(kh);
}

static void test_truncated_and_mutated(void)
{
	static const char mut[] = { '\0', ' ', '\t', '\n', '\r', '|', ',', '!', '@', '#',
				    'A', '=', '*', '[', (char)0xff };
	char h1[128], *text, *copy;
	size_t len;
	unsigned bad = 0;
	struct st_known_hosts *kh;

	hashed_name("hashed.example", 9, h1, sizeof(h1));
	text = strdup(T("# known hosts\n"
			"plain.example,!no.example %s comment\n"
			"%s %s\n"
			"@revoked * %s\n"
			"@cert-authority *.wild.example %s\n"
			"[*.wild.example]:2222 %s\r\n"
			"plain.example %s\n",
			pub[K_ED], h1, pub[K_EC], pub[K_ED2], pub[K_EC], pub[K_EC2], pub[K_RSA]));
	CHECK(text != NULL);
	if (text == NULL)
		return;
	len = strlen(text);
	kh = parse(text, &bad);
	CHECK_INT(bad, 0);
	CHECK_INT(st_known_hosts_count(kh), 5);
	CHECK_INT(check(kh, "plain.example", 22, K_ED), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "plain.example", 22, K_RSA), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "hashed.example", 22, K_EC), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "x.wild.example", 2222, K_EC2), ST_HOSTKEY_OK);
	CHECK_INT(check(kh, "x.wild.example", 2222, K_ED2), ST_HOSTKEY_REVOKED);
	st_known_hosts_free(kh);

	/* Every prefix, in a buffer of exactly that size (ASan sees overreads). */
	for (size_t cut = 0; cut <= len; cut++) {
		copy = malloc(cut + 1);
		if (copy == NULL)
			abort();
		memcpy(copy, text, cut);
		poke(cut > 0 ? copy : NULL, cut, 5);
		free(copy);
	}
	/* Every byte replaced by each of a few interesting values. */
	copy = malloc(len);
	if (copy == NULL)
		abort();
	for (size_t i = 0; i < len; i++) {
		for (size_t m = 0; m < sizeof(mut); m++) {
			memcpy(copy, text, len);
			copy[i] = mut[m];
			/* a newline can split one line into two usable ones */
			poke(copy, len, 6);
		}
	}
	free(copy);
	free(text);
}

int main(void)
{
	if (setup() != 0) {
		fprintf(stderr, "setup: key generation failed\n");
		cleanup();
		st_test_fail(__FILE__, __LINE__, "setup");
		return 1;
	}
	RUN(test_plain);
	RUN(test_wildcard_negation);
	RUN(test_ports);
	RUN(test_case_insensitive);
	RUN(test_hashed);
	RUN(test_hashed_by_ssh_keygen);
	RUN(test_revoked);
	RUN(test_cert_authority);
	RUN(test_comments_blank);
	RUN(test_malformed);
	RUN(test_foreign_types);
	RUN(test_algs);
	RUN(test_fingerprint);
	RUN(test_load);
	RUN(test_args);
	RUN(test_truncated_and_mutated);
	cleanup();
	return st_test_done("test_known_hosts");
}
