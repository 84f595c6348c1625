/*
 * Unit tests for authorized_keys parsing and lookup (control/authkeys.c).
 * Keys are made by ssh-keygen at test time in a fresh mkdtemp directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/authkeys.h"
#include "crypto/key.h"
#include "crypto/keyfile.h"
#include "tests/unit/test.h"

static char tmpdir[] = "/tmp/st-authkeys-XXXXXX";
static int have_dir;

/* Keys: index 0 ed25519, 1 ecdsa, 2 rsa, 3 a second ed25519 never listed. */
#define NKEYS 4
static const char *const key_names[NKEYS] = { "ed", "ec", "rsa", "ed_other" };
static struct st_key *keys[NKEYS];
static char pub[NKEYS][1024]; /* "<type> <base64>" without comment */

/* Log messages collected from lookups. */
static char logbuf[8192];
static int nlogs;

static void collect(void *ctx, const char *msg)
{
	size_t n = strlen(logbuf);

	(void)ctx;
	nlogs++;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static void log_reset(void)
{
	logbuf[0] = '\0';
	nlogs = 0;
}

static const char *P(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void write_str(const char *path, const char *s)
{
	st_test_write_file(path, s, strlen(s));
}

static int setup(void)
{
	static const char *const make[NKEYS] = {
		"ssh-keygen -q -t ed25519 -N '' -C 'ed comment' -f '%s' </dev/null >/dev/null 2>&1",
		"ssh-keygen -q -t ecdsa -b 256 -N '' -C 'ec' -f '%s' </dev/null >/dev/null 2>&1",
		"ssh-keygen -q -t rsa -b 2048 -N '' -C 'rsa' -f '%s' </dev/null >/dev/null 2>&1",
		"ssh-keygen -q -t ed25519 -N '' -C 'other' -f '%s' </dev/null >/dev/null 2>&1",
	};

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	have_dir = 1;
	for (int i = 0; i < NKEYS; i++) {
		char path[600], cmd[1024];
		char pubpath[700];

		snprintf(path, sizeof(path), "%s", P(key_names[i]));
		snprintf(cmd, sizeof(cmd), make[i], path);
		if (st_test_sh("%s", cmd) != 0)
			return -1;
		snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
		if (st_keyfile_load_public(pubpath, &keys[i], NULL, 0) != ST_OK)
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

/* Parses an options string; returns the code, fills *o on success. */
static int opts(const char *s, struct st_authkey_opts *o, char *reason)
{
	return st_authkeys_parse_options(s, strlen(s), o, reason, ST_AUTHKEYS_REASON_SIZE);
}

static void test_options_each(void)
{
	struct st_authkey_opts o;
	char reason[ST_AUTHKEYS_REASON_SIZE];

	memset(&o, 0, sizeof(o));
	CHECK_OK(opts("no-port-forwarding,no-pty,no-agent-forwarding,no-X11-forwarding,"
		      "no-user-rc",
		      &o, reason));
	CHECK(o.no_port_forwarding && o.no_pty && o.no_agent_forwarding &&
	      o.no_x11_forwarding && o.no_user_rc && !o.restrict_);
	CHECK(o.command == NULL && o.from == NULL && o.npermitopen == 0 && o.expiry_time == 0);
	st_authkey_opts_free(&o);

	/* Names are case-insensitive. */
	CHECK_OK(opts("NO-PTY", &o, reason));
	CHECK_INT(o.no_pty, 1);
	st_authkey_opts_free(&o);

	CHECK_OK(opts("restrict", &o, reason));
	CHECK(o.restrict_ && o.no_port_forwarding && o.no_pty && o.no_agent_forwarding &&
	      o.no_x11_forwarding && o.no_user_rc);
	st_authkey_opts_free(&o);

	/* restrict, then re-enable; applied left to right. */
	CHECK_OK(opts("restrict,pty,port-forwarding", &o, reason));
	CHECK(o.restrict_ && !o.no_port_forwarding && !o.no_pty && o.no_agent_forwarding &&
	      o.no_x11_forwarding && o.no_user_rc);
	st_authkey_opts_free(&o);
	CHECK_OK(opts("pty,restrict", &o, reason));
	CHECK_INT(o.no_pty, 1);
	st_authkey_opts_free(&o);
	CHECK_OK(opts("restrict,agent-forwarding,x11-forwarding,user-rc", &o, reason));
	CHECK(!o.no_agent_forwarding && !o.no_x11_forwarding && !o.no_user_rc && o.no_pty);
	st_authkey_opts_free(&o);

	CHECK_OK(opts("command=\"source 1024\"", &o, reason));
	CHECK(o.command != NULL && strcmp(o.command, "source 1024") == 0);
	st_authkey_opts_free(&o);

	/* Commas and blanks inside quotes; escaped quotes; other backslashes kept. */
	CHECK_OK(opts("command=\"echo a,b \\\"q\\\" c\\\\d\",no-pty", &o, reason));
	CHECK(o.command != NULL && strcmp(o.command, "echo a,b \"q\" c\\\\d") == 0);
	CHECK_INT(o.no_pty, 1);
	st_authkey_opts_free(&o);

	CHECK_OK(opts("from=\"198.18.0.0/15,!198.18.0.7,*.example.com\"", &o, reason));
	CHECK(o.from != NULL && strcmp(o.from, "198.18.0.0/15,!198.18.0.7,*.example.com") == 0);
	st_authkey_opts_free(&o);

	CHECK_OK(opts("permitopen=\"db:5432\",permitopen=\"*:80\",permitopen=\"[2001:db8::1]:*\","
		      "permitopen=\"198.18.0.1:22\"",
		      &o, reason));
	CHECK_INT(o.npermitopen, 4);
	if (o.npermitopen == 4) {
		CHECK(strcmp(o.permitopen[0].host, "db") == 0 && o.permitopen[0].port == 5432);
		CHECK(strcmp(o.permitopen[1].host, "*") == 0 && o.permitopen[1].port == 80);
		CHECK(strcmp(o.permitopen[2].host, "2001:db8::1") == 0 &&
		      o.permitopen[2].port == -1);
		CHECK(strcmp(o.permitopen[3].host, "198.18.0.1") == 0 &&
		      o.permitopen[3].port == 22);
	}
	st_authkey_opts_free(&o);

	/* expiry-time: the earliest wins. */
	CHECK_OK(opts("expiry-time=\"20300101Z\",expiry-time=\"20260101Z\"", &o, reason));
	CHECK(o.expiry_time == 1767225600u);
	st_authkey_opts_free(&o);

	/* Everything at once. */
	CHECK_OK(opts("restrict,pty,command=\"sink\",from=\"10.0.0.0/8\","
		      "permitopen=\"h:1\",expiry-time=\"20991231235959Z\"",
		      &o, reason));
	CHECK(o.command && o.from && o.npermitopen == 1 && o.expiry_time == 4102444799u);
	st_authkey_opts_free(&o);
	st_authkey_opts_free(&o); /* idempotent on a zeroed struct */
	st_authkey_opts_free(NULL);
}

static void test_options_rejected(void)
{
	static const struct {
		const char *s;
		int want;
		const char *reason_has;
	} t[] = {
		{ "environment=\"A=B\"", ST_ERR_FORMAT, "unsupported option \"environment\"" },
		{ "tunnel=\"1\"", ST_ERR_FORMAT, "unsupported" },
		{ "principals=\"a\",principals=\"b\"", ST_ERR_FORMAT, "more than one principals=" },
		{ "cert-authority=\"x\"", ST_ERR_FORMAT, "takes no value" },
		{ "permitlisten=\"1234\"", ST_ERR_FORMAT, "unsupported" },
		{ "no-touch-required", ST_ERR_FORMAT, "unsupported" },
		{ "verify-required", ST_ERR_FORMAT, "unsupported" },
		{ "no-pty,frobnicate", ST_ERR_FORMAT, "unknown option \"frobnicate\"" },
		{ "no-ptyx", ST_ERR_FORMAT, "unknown" },
		{ "no-pty=\"x\"", ST_ERR_FORMAT, "takes no value" },
		{ "command", ST_ERR_FORMAT, "needs a value" },
		{ "command=sink", ST_ERR_FORMAT, "double quotes" },
		{ "command=\"sink", ST_ERR_FORMAT, "closing quote" },
		{ "command=\"a\"x", ST_ERR_FORMAT, "unexpected character" },
		{ "command=\"a\",command=\"b\"", ST_ERR_FORMAT, "more than one command" },
		{ "from=\"a\",from=\"b\"", ST_ERR_FORMAT, "more than one from" },
		{ "command=\"a\tb\"", ST_ERR_FORMAT, "control character" },
		{ "no-pty,", ST_ERR_FORMAT, "trailing comma" },
		{ ",no-pty", ST_ERR_FORMAT, "option name" },
		{ "no-pty,,no-pty", ST_ERR_FORMAT, "option name" },
		{ "", ST_ERR_FORMAT, "empty" },
		{ "\"", ST_ERR_FORMAT, "option name" },
		{ "permitopen=\"host\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"host:0\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"host:65536\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"host:x\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\":22\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"::1:22\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"[::1]22\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"[::1:22\"", ST_ERR_FORMAT, "permitopen" },
		{ "permitopen=\"a b:22\"", ST_ERR_FORMAT, "permitopen" },
		{ "expiry-time=\"2026\"", ST_ERR_FORMAT, "expiry-time" },
		{ "expiry-time=\"20261301\"", ST_ERR_FORMAT, "expiry-time" },
		{ "from=\"10.0.0.0/33\"", ST_ERR_FORMAT, "from=" },
		{ "from=\"*,!1.2.3.4/x\"", ST_ERR_FORMAT, "from=" },
	};
	struct st_authkey_opts o;
	char reason[ST_AUTHKEYS_REASON_SIZE];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&o, 0xa5, sizeof(o));
		int r = opts(t[i].s, &o, reason);
		if (r != t[i].want || strstr(reason, t[i].reason_has) == NULL)
			st_test_fail(__FILE__, __LINE__, "'%s' -> %s \"%s\", wanted %s \"%s\"",
				     t[i].s, st_err_name(r), reason, st_err_name(t[i].want),
				     t[i].reason_has);
		/* Untouched on error. */
		CHECK(((unsigned char *)&o)[0] == 0xa5);
	}
	CHECK_ERR(st_authkeys_parse_options(NULL, 0, &o, NULL, 0), ST_ERR_INVALID_ARGUMENT);
}

static void test_options_caps(void)
{
	struct st_authkey_opts o;
	char reason[ST_AUTHKEYS_REASON_SIZE];
	size_t n = ST_AUTHKEYS_VALUE_MAX + 64;
	char *s = malloc(n + 64);
	size_t len = 0;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* Exactly ST_AUTHKEYS_OPTS_MAX options pass, one more fails. */
	for (unsigned i = 0; i < ST_AUTHKEYS_OPTS_MAX; i++)
		len += (size_t)sprintf(s + len, "%sno-pty", i ? "," : "");
	CHECK_OK(st_authkeys_parse_options(s, len, &o, reason, sizeof(reason)));
	st_authkey_opts_free(&o);
	len += (size_t)sprintf(s + len, ",no-pty");
	CHECK_ERR(st_authkeys_parse_options(s, len, &o, reason, sizeof(reason)),
		  ST_ERR_STRING_TOO_LARGE);

	/* A value of exactly the cap passes, one byte more fails. */
	len = (size_t)sprintf(s, "command=\"");
	memset(s + len, 'x', ST_AUTHKEYS_VALUE_MAX);
	len += ST_AUTHKEYS_VALUE_MAX;
	s[len++] = '"';
	CHECK_OK(st_authkeys_parse_options(s, len, &o, reason, sizeof(reason)));
	CHECK(o.command != NULL && strlen(o.command) == ST_AUTHKEYS_VALUE_MAX);
	st_authkey_opts_free(&o);
	s[len - 1] = 'x';
	s[len++] = '"';
	CHECK_ERR(st_authkeys_parse_options(s, len, &o, reason, sizeof(reason)),
		  ST_ERR_STRING_TOO_LARGE);
	/* Reason buffers too small are cut, not overrun. */
	char tiny[4];
	CHECK_ERR(st_authkeys_parse_options("frobnicate", 10, &o, tiny, sizeof(tiny)),
		  ST_ERR_FORMAT);
	CHECK(strlen(tiny) == 3);
	free(s);
}

static void test_parse_time(void)
{
	static const struct {
		const char *s;
		long long want; /* -1: ST_ERR_FORMAT */
	} t[] = {
		{ "20260101Z", 1767225600 },
		{ "20260101z", 1767225600 },
		{ "202601011200Z", 1767225600 + 12 * 3600 },
		{ "20260101120030Z", 1767225600 + 12 * 3600 + 30 },
		{ "20240229Z", 1709164800 },
		{ "19700102Z", 86400 },
		{ "99991231235959Z", 253402300799LL },
		{ "20250229Z", -1 },
		{ "21000229Z", -1 },
		{ "20260230Z", -1 },
		{ "20260431Z", -1 },
		{ "20260001Z", -1 },
		{ "20261301Z", -1 },
		{ "20260100Z", -1 },
		{ "202601012400Z", -1 },
		{ "202601012360Z", -1 },
		{ "20260101235960Z", -1 },
		{ "19691231Z", -1 },
		{ "19700101Z", -1 }, /* the epoch itself would read as "no expiry" */
		{ "2026010Z", -1 },
		{ "2026010112Z", -1 },
		{ "202601011200000Z", -1 },
		{ "2026-01-01", -1 },
		{ "20260101ZZ", -1 },
		{ "Z", -1 },
		{ "", -1 },
		{ "+2026010", -1 },
		{ " 20260101", -1 },
		{ "20260101000000000000000000000", -1 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = 12345;
		int r = st_authkeys_parse_time(t[i].s, &v);
		long long got = r == ST_OK ? (long long)v : -1;
		if (got != t[i].want)
			st_test_fail(__FILE__, __LINE__, "'%s' -> %lld, wanted %lld", t[i].s, got,
				     t[i].want);
	}
	/* Without Z: local time (TZ). */
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZ", "UTC0", 1);
	tzset();
	CHECK_OK(st_authkeys_parse_time("20260101", &v));
	CHECK(v == 1767225600u);
	setenv("TZ", "EST5", 1);
	tzset();
	CHECK_OK(st_authkeys_parse_time("20260101", &v));
	CHECK(v == 1767225600u + 5 * 3600);
	CHECK_OK(st_authkeys_parse_time("20260101Z", &v));
	CHECK(v == 1767225600u);
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static int line(const char *s, struct st_key **k, struct st_authkey_opts *o, char *reason)
{
	return st_authkeys_parse_line(s, strlen(s), k, o, reason, ST_AUTHKEYS_REASON_SIZE);
}

static void test_parse_line(void)
{
	struct st_key *k = NULL;
	struct st_authkey_opts o;
	char reason[ST_AUTHKEYS_REASON_SIZE], buf[8192];

	CHECK_ERR(line("", &k, &o, reason), ST_ERR_NOT_FOUND);
	CHECK_ERR(line("   \t ", &k, &o, reason), ST_ERR_NOT_FOUND);
	CHECK_ERR(line("# comment ssh-ed25519 AAAA", &k, &o, reason), ST_ERR_NOT_FOUND);
	CHECK_ERR(line("  #", &k, &o, reason), ST_ERR_NOT_FOUND);

	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "%s some comment", pub[i]);
		CHECK_OK(line(buf, &k, &o, reason));
		CHECK(st_key_equal_public(k, keys[i]));
		CHECK(o.command == NULL && !o.no_pty);
		st_key_free(k);
		st_authkey_opts_free(&o);

		snprintf(buf, sizeof(buf), "  command=\"echo a b\",no-pty \t%s", pub[i]);
		CHECK_OK(line(buf, &k, &o, reason));
		CHECK(st_key_equal_public(k, keys[i]));
		CHECK(o.command != NULL && strcmp(o.command, "echo a b") == 0 && o.no_pty);
		st_key_free(k);
		st_authkey_opts_free(&o);
	}

	/* Options but no key. */
	CHECK_ERR(line("no-pty", &k, &o, reason), ST_ERR_FORMAT);
	CHECK(strstr(reason, "no key") != NULL);
	CHECK_ERR(line("no-pty   ", &k, &o, reason), ST_ERR_FORMAT);
	/* Unterminated quote swallows the key. */
	snprintf(buf, sizeof(buf), "command=\"x %s", pub[0]);
	CHECK_ERR(line(buf, &k, &o, reason), ST_ERR_FORMAT);
	CHECK(strstr(reason, "unterminated") != NULL);
	/* Unsupported option with a good key. */
	snprintf(buf, sizeof(buf), "environment=\"A=B\" %s", pub[0]);
	CHECK_ERR(line(buf, &k, &o, reason), ST_ERR_FORMAT);
	CHECK(strstr(reason, "unsupported option") != NULL);
	/* Truncated base64. */
	snprintf(buf, sizeof(buf), "%s", pub[0]);
	buf[strlen(buf) - 5] = '\0';
	CHECK(line(buf, &k, &o, reason) < 0);
	CHECK(strstr(reason, "invalid key") != NULL);
	/* Type/blob mismatch. */
	snprintf(buf, sizeof(buf), "ssh-rsa %s", strchr(pub[0], ' ') + 1);
	CHECK_ERR(line(buf, &k, &o, reason), ST_ERR_KEY_TYPE_MISMATCH);
	/* Key types that are not ours, with and without options. */
	CHECK_ERR(line("ssh-dss AAAAB3NzaC1kc3MAAACBAP== x", &k, &o, reason),
		  ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK(strstr(reason, "unsupported key type") != NULL);
	CHECK_ERR(line("no-pty ssh-ed25519-cert-v01@openssh.com AAAA x", &k, &o, reason),
		  ST_ERR_KEY_TYPE_UNKNOWN);
	/* A word that is neither option nor key type. */
	CHECK_ERR(line("garbage AAAA", &k, &o, reason), ST_ERR_FORMAT);
	CHECK(strstr(reason, "unknown option") != NULL);
	/* NUL byte. */
	snprintf(buf, sizeof(buf), "%s", pub[0]);
	size_t n = strlen(buf);
	buf[10] = '\0';
	CHECK_ERR(st_authkeys_parse_line(buf, n, &k, &o, reason, sizeof(reason)), ST_ERR_FORMAT);
	/* Line over the cap. */
	char *big = malloc(ST_AUTHKEYS_LINE_MAX + 2);
	CHECK(big != NULL);
	if (big != NULL) {
		memset(big, ' ', ST_AUTHKEYS_LINE_MAX + 1);
		memcpy(big, pub[0], strlen(pub[0]));
		CHECK_ERR(st_authkeys_parse_line(big, ST_AUTHKEYS_LINE_MAX + 1, &k, &o, reason,
						 sizeof(reason)),
			  ST_ERR_STRING_TOO_LARGE);
		CHECK_OK(st_authkeys_parse_line(big, ST_AUTHKEYS_LINE_MAX, &k, &o, reason,
						sizeof(reason)));
		st_key_free(k);
		st_authkey_opts_free(&o);
		free(big);
	}
	CHECK_ERR(st_authkeys_parse_line(NULL, 0, &k, &o, NULL, 0), ST_ERR_INVALID_ARGUMENT);
}

/* Every prefix and many single-byte mutations of an option-laden line parse or fail cleanly. */
static void test_parse_line_truncated_and_mutated(void)
{
	char full[8192], buf[8192], reason[ST_AUTHKEYS_REASON_SIZE];
	struct st_key *k;
	struct st_authkey_opts o;
	static const char junk[] = "\",\\= !*#\t\r\nA/+0";
	uint8_t rnd[4];

	snprintf(full, sizeof(full),
		 "restrict,pty,command=\"a \\\"b\\\",c\",from=\"198.18.0.0/15,!x\","
		 "permitopen=\"[::1]:22\",expiry-time=\"20991231Z\" %s c",
		 pub[0]);
	size_t n = strlen(full);
	for (size_t i = 0; i <= n; i++) {
		k = NULL;
		int r = st_authkeys_parse_line(full, i, &k, &o, reason, sizeof(reason));
		if (r == ST_OK) {
			st_key_free(k);
			st_authkey_opts_free(&o);
		}
		/* The full line (and the line without its comment) must parse. */
		if (i == n)
			CHECK_OK(r);
	}
	for (uint64_t seed = 1; seed < 4000; seed++) {
		memcpy(buf, full, n + 1);
		st_test_fill(rnd, sizeof(rnd), seed);
		size_t pos = ((size_t)rnd[0] << 8 | rnd[1]) % n;
		buf[pos] = rnd[2] & 1 ? junk[rnd[3] % (sizeof(junk) - 1)] : (char)rnd[3];
		k = NULL;
		int r = st_authkeys_parse_line(buf, n, &k, &o, reason, sizeof(reason));
		if (r == ST_OK) {
			st_key_free(k);
			st_authkey_opts_free(&o);
		} else {
			CHECK(reason[0] != '\0' || r == ST_ERR_NOT_FOUND);
		}
	}
}

static int lookup(const char *file, int key, const char *ip, const char *host, time_t now,
		  struct st_authkey_opts *o)
{
	return st_authkeys_lookup(P(file), keys[key], ip, host, now, o, collect, NULL);
}

static void test_lookup_plain(void)
{
	struct st_authkey_opts o;
	char buf[8192];

	snprintf(buf, sizeof(buf),
		 "# authorized keys\n"
		 "\n"
		 "   \n"
		 "%s ed comment\n"
		 "\t%s\n"
		 "%s rsa with a long comment",
		 pub[0], pub[1], pub[2]); /* last line without newline */
	write_str(P("ak_plain"), buf);
	for (int i = 0; i < 3; i++) {
		log_reset();
		memset(&o, 0, sizeof(o));
		CHECK_OK(lookup("ak_plain", i, "198.18.0.1", NULL, time(NULL), &o));
		CHECK(o.command == NULL && !o.no_pty && !o.restrict_);
		CHECK_INT(nlogs, 0);
		st_authkey_opts_free(&o);
	}
	memset(&o, 0x5a, sizeof(o));
	CHECK_ERR(lookup("ak_plain", 3, "198.18.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK(((unsigned char *)&o)[0] == 0x5a);

	/* CRLF line endings. */
	snprintf(buf, sizeof(buf), "# x\r\n%s c\r\nno-pty %s\r\n", pub[1], pub[0]);
	write_str(P("ak_crlf"), buf);
	CHECK_OK(lookup("ak_crlf", 0, "198.18.0.1", NULL, 0, &o));
	CHECK_INT(o.no_pty, 1);
	st_authkey_opts_free(&o);

	/* Empty file, missing file, a directory. */
	write_str(P("ak_empty"), "");
	CHECK_ERR(lookup("ak_empty", 0, "198.18.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK_ERR(lookup("ak_missing", 0, "198.18.0.1", NULL, 0, &o), ST_ERR_SYSTEM);
	CHECK_ERR(st_authkeys_lookup(tmpdir, keys[0], "1.2.3.4", NULL, 0, &o, NULL, NULL),
		  ST_ERR_SYSTEM);
	CHECK_ERR(st_authkeys_lookup(NULL, keys[0], "1.2.3.4", NULL, 0, &o, NULL, NULL),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_authkeys_lookup(P("ak_plain"), NULL, "1.2.3.4", NULL, 0, &o, NULL, NULL),
		  ST_ERR_INVALID_ARGUMENT);
}

static void test_lookup_malformed_lines(void)
{
	struct st_authkey_opts o;
	char buf[8192], trunc[1024];

	snprintf(trunc, sizeof(trunc), "%s", pub[0]);
	trunc[strlen(trunc) - 7] = '\0';
	snprintf(buf, sizeof(buf),
		 "%s\n"                       /* 1: truncated base64 */
		 "no-pty,bogus %s\n"          /* 2: unknown option */
		 "command=\"x %s\n"           /* 3: unterminated quote */
		 "ssh-ed25519\n"              /* 4: no blob */
		 "ssh-ed25519 !!!!\n"         /* 5: bad base64 */
		 "permitopen=\"nope\" %s\n"   /* 6: bad permitopen */
		 "command=\"fine\" %s\n",     /* 7: good */
		 trunc, pub[0], pub[0], pub[0], pub[0]);
	write_str(P("ak_bad"), buf);
	log_reset();
	CHECK_OK(lookup("ak_bad", 0, "198.18.0.1", NULL, 0, &o));
	CHECK(o.command != NULL && strcmp(o.command, "fine") == 0);
	st_authkey_opts_free(&o);
	CHECK_INT(nlogs, 6);
	for (int l = 1; l <= 6; l++) {
		char want[700];
		snprintf(want, sizeof(want), "%s:%d: line skipped", P("ak_bad"), l);
		if (strstr(logbuf, want) == NULL)
			st_test_fail(__FILE__, __LINE__, "log lacks '%s':\n%s", want, logbuf);
	}
	CHECK(strstr(logbuf, "unknown option \"bogus\"") != NULL);
}

static void test_lookup_unsupported_then_plain(void)
{
	struct st_authkey_opts o;
	char buf[8192];

	/* The key with an unsupported option is ignored; the later plain line wins. */
	snprintf(buf, sizeof(buf),
		 "environment=\"EVIL=1\" %s first\n"
		 "tunnel=\"0\",no-pty %s second\n"
		 "command=\"sink\" %s third\n",
		 pub[0], pub[0], pub[0]);
	write_str(P("ak_unsup"), buf);
	log_reset();
	CHECK_OK(lookup("ak_unsup", 0, "198.18.0.1", NULL, 0, &o));
	CHECK(o.command != NULL && strcmp(o.command, "sink") == 0);
	CHECK_INT(o.no_pty, 0);
	st_authkey_opts_free(&o);
	CHECK_INT(nlogs, 2);
	CHECK(strstr(logbuf, ":1: line skipped: unsupported option \"environment\"") != NULL);
	CHECK(strstr(logbuf, ":2: line skipped: unsupported option \"tunnel\"") != NULL);

	/* A cert-authority line names a CA: the key itself does not log in with it. */
	snprintf(buf, sizeof(buf), "cert-authority %s\n", pub[0]);
	write_str(P("ak_unsup2"), buf);
	CHECK_ERR(lookup("ak_unsup2", 0, "198.18.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);
}

/* CA lookups (ca = 1) match only cert-authority lines, with their principals=. */
static void test_lookup_ca(void)
{
	struct st_authkey_opts o;
	char buf[8192];

	memset(&o, 0, sizeof(o));
	snprintf(buf, sizeof(buf), "%s\ncert-authority,principals=\"alice,ops\" %s\n"
		 "from=\"10.0.0.0/8\",cert-authority %s\n", pub[0], pub[1], pub[2]);
	write_str(P("ak_ca"), buf);
	CHECK_OK(st_authkeys_lookup_kind(P("ak_ca"), keys[1], 1, "198.18.0.1", NULL, 0, &o,
					 collect, NULL));
	CHECK(o.cert_authority && o.principals != NULL && strcmp(o.principals, "alice,ops") == 0);
	st_authkey_opts_free(&o);
	/* The plain key line is no CA; the CA key is no plain key; from= still applies. */
	CHECK_ERR(st_authkeys_lookup_kind(P("ak_ca"), keys[0], 1, "198.18.0.1", NULL, 0, &o,
					  collect, NULL), ST_ERR_NOT_FOUND);
	CHECK_ERR(lookup("ak_ca", 1, "198.18.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK_ERR(st_authkeys_lookup_kind(P("ak_ca"), keys[2], 1, "198.18.0.1", NULL, 0, &o,
					  collect, NULL), ST_ERR_NOT_FOUND);
	CHECK_OK(st_authkeys_lookup_kind(P("ak_ca"), keys[2], 1, "10.1.2.3", NULL, 0, &o, collect,
					 NULL));
	st_authkey_opts_free(&o);
	CHECK_OK(lookup("ak_ca", 0, "198.18.0.1", NULL, 0, &o));
	st_authkey_opts_free(&o);
}

static void test_lookup_from(void)
{
	struct st_authkey_opts o;
	char buf[8192];

	snprintf(buf, sizeof(buf),
		 "from=\"198.18.0.0/15,!198.18.0.66\" %s\n"
		 "from=\"2001:db8::/32,*.example.com,!bad.example.com\" %s\n"
		 "from=\"10.0.0.1\" %s\n",
		 pub[0], pub[1], pub[2]);
	write_str(P("ak_from"), buf);

	CHECK_OK(lookup("ak_from", 0, "198.18.0.1", NULL, 0, &o));
	CHECK(o.from != NULL && strcmp(o.from, "198.18.0.0/15,!198.18.0.66") == 0);
	st_authkey_opts_free(&o);
	CHECK_OK(lookup("ak_from", 0, "198.19.255.254", NULL, 0, &o));
	st_authkey_opts_free(&o);
	log_reset();
	CHECK_ERR(lookup("ak_from", 0, "198.18.0.66", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK(strstr(logbuf, ":1: key matched but from= does not allow") != NULL);
	CHECK_ERR(lookup("ak_from", 0, "198.20.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK_ERR(lookup("ak_from", 0, "::1", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK_ERR(lookup("ak_from", 0, NULL, NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK_OK(lookup("ak_from", 0, "::ffff:198.18.0.1", NULL, 0, &o));
	st_authkey_opts_free(&o);

	CHECK_OK(lookup("ak_from", 1, "2001:db8::5", NULL, 0, &o));
	st_authkey_opts_free(&o);
	CHECK_OK(lookup("ak_from", 1, "198.18.0.1", "good.EXAMPLE.com", 0, &o));
	st_authkey_opts_free(&o);
	CHECK_ERR(lookup("ak_from", 1, "2001:db8::5", "bad.example.com", 0, &o), ST_ERR_NOT_FOUND);
	CHECK_ERR(lookup("ak_from", 1, "198.18.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);

	CHECK_OK(lookup("ak_from", 2, "10.0.0.1", NULL, 0, &o));
	st_authkey_opts_free(&o);
	CHECK_ERR(lookup("ak_from", 2, "10.0.0.2", NULL, 0, &o), ST_ERR_NOT_FOUND);

	/* A broken from= is a malformed line, never a match. */
	snprintf(buf, sizeof(buf), "from=\"*,!10.0.0.0/33\" %s\n", pub[0]);
	write_str(P("ak_from_bad"), buf);
	log_reset();
	CHECK_ERR(lookup("ak_from_bad", 0, "198.18.0.1", NULL, 0, &o), ST_ERR_NOT_FOUND);
	CHECK(strstr(logbuf, ":1: line skipped: from=") != NULL);
}

static void test_lookup_expiry(void)
{
	struct st_authkey_opts o;
	char buf[8192];
	const time_t t2026 = 1767225600; /* 2026-01-01 00:00:00 UTC */

	snprintf(buf, sizeof(buf), "expiry-time=\"20260101Z\",command=\"a\" %s\n%s\n", pub[0],
		 pub[1]);
	write_str(P("ak_exp"), buf);
	CHECK_OK(lookup("ak_exp", 0, "1.2.3.4", NULL, t2026 - 1, &o));
	CHECK(o.expiry_time == (uint64_t)t2026);
	st_authkey_opts_free(&o);
	CHECK_OK(lookup("ak_exp", 0, "1.2.3.4", NULL, t2026, &o)); /* still valid at the second */
	st_authkey_opts_free(&o);
	log_reset();
	CHECK_ERR(lookup("ak_exp", 0, "1.2.3.4", NULL, t2026 + 1, &o), ST_ERR_NOT_FOUND);
	CHECK(strstr(logbuf, ":1: key matched but has expired") != NULL);
	CHECK_ERR(lookup("ak_exp", 0, "1.2.3.4", NULL, time(NULL), &o), ST_ERR_NOT_FOUND);
	/* Far future against the real clock. */
	snprintf(buf, sizeof(buf), "expiry-time=\"20991231235959Z\" %s\n", pub[2]);
	write_str(P("ak_exp2"), buf);
	CHECK_OK(lookup("ak_exp2", 2, "1.2.3.4", NULL, time(NULL), &o));
	st_authkey_opts_free(&o);
	/* An expired line does not hide a later valid one. */
	snprintf(buf, sizeof(buf), "expiry-time=\"20000101Z\" %s\nno-pty %s\n", pub[0], pub[0]);
	write_str(P("ak_exp3"), buf);
	CHECK_OK(lookup("ak_exp3", 0, "1.2.3.4", NULL, time(NULL), &o));
	CHECK_INT(o.no_pty, 1);
	st_authkey_opts_free(&o);
}

static void test_lookup_restrict_permitopen(void)
{
	struct st_authkey_opts o;
	char buf[8192];

	snprintf(buf, sizeof(buf),
		 "restrict,port-forwarding,permitopen=\"db:5432\",permitopen=\"*:80\","
		 "permitopen=\"[2001:db8::1]:*\" %s\n"
		 "restrict,permitopen=\"db:5432\" %s\n"
		 "no-pty %s\n",
		 pub[0], pub[1], pub[2]);
	write_str(P("ak_po"), buf);

	CHECK_OK(lookup("ak_po", 0, "1.2.3.4", NULL, 0, &o));
	CHECK(o.restrict_ && !o.no_port_forwarding && o.no_pty && o.no_agent_forwarding);
	CHECK_INT(st_authkey_permitopen_allows(&o, "db", 5432), 1);
	CHECK_INT(st_authkey_permitopen_allows(&o, "DB", 5432), 1);
	CHECK_INT(st_authkey_permitopen_allows(&o, "db", 5433), 0);
	CHECK_INT(st_authkey_permitopen_allows(&o, "dbx", 5432), 0);
	CHECK_INT(st_authkey_permitopen_allows(&o, "anything.example", 80), 1);
	CHECK_INT(st_authkey_permitopen_allows(&o, "anything.example", 81), 0);
	CHECK_INT(st_authkey_permitopen_allows(&o, "2001:db8::1", 1), 1);
	CHECK_INT(st_authkey_permitopen_allows(&o, "2001:db8::2", 1), 0);
	CHECK_INT(st_authkey_permitopen_allows(&o, NULL, 80), 0);
	st_authkey_opts_free(&o);

	/* restrict without port-forwarding: permitopen listed but forwarding off. */
	CHECK_OK(lookup("ak_po", 1, "1.2.3.4", NULL, 0, &o));
	CHECK_INT(st_authkey_permitopen_allows(&o, "db", 5432), 0);
	st_authkey_opts_free(&o);

	/* No permitopen at all: the key does not restrict. */
	CHECK_OK(lookup("ak_po", 2, "1.2.3.4", NULL, 0, &o));
	CHECK_INT(st_authkey_permitopen_allows(&o, "db", 5432), 1);
	o.no_port_forwarding = 1;
	CHECK_INT(st_authkey_permitopen_allows(&o, "db", 5432), 0);
	st_authkey_opts_free(&o);
	CHECK_INT(st_authkey_permitopen_allows(NULL, "db", 1), 1);
}

static void test_lookup_big_inputs(void)
{
	struct st_authkey_opts o;
	size_t n = ST_AUTHKEYS_FILE_MAX + 1;
	char *buf = malloc(n + 1);
	size_t len = 0;

	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	/* An over-long line is skipped; the key on the next line is found. */
	memset(buf, 'A', ST_AUTHKEYS_LINE_MAX + 10);
	memcpy(buf, "ssh-ed25519 ", 12);
	len = ST_AUTHKEYS_LINE_MAX + 10;
	buf[len++] = '\n';
	len += (size_t)sprintf(buf + len, "%s\n", pub[0]);
	st_test_write_file(P("ak_longline"), buf, len);
	log_reset();
	CHECK_OK(lookup("ak_longline", 0, "1.2.3.4", NULL, 0, &o));
	st_authkey_opts_free(&o);
	CHECK(strstr(logbuf, ":1: line skipped: line longer than") != NULL);

	/* A file over the cap is refused as a whole. */
	memset(buf, '#', n);
	buf[0] = '\n';
	memcpy(buf + 1, pub[0], strlen(pub[0]));
	buf[1 + strlen(pub[0])] = '\n';
	st_test_write_file(P("ak_huge"), buf, n);
	log_reset();
	CHECK_ERR(lookup("ak_huge", 0, "1.2.3.4", NULL, 0, &o), ST_ERR_FORMAT);
	CHECK(strstr(logbuf, "file larger than") != NULL);
	/* Exactly at the cap is read. */
	st_test_write_file(P("ak_huge"), buf, n - 1);
	CHECK_OK(lookup("ak_huge", 0, "1.2.3.4", NULL, 0, &o));
	st_authkey_opts_free(&o);

	/* Binary junk, NUL bytes and lines of only quotes never crash. */
	st_test_fill(buf, 65536, 7);
	st_test_write_file(P("ak_junk"), buf, 65536);
	CHECK_ERR(lookup("ak_junk", 0, "1.2.3.4", NULL, 0, &o), ST_ERR_NOT_FOUND);
	memset(buf, '"', 65536);
	st_test_write_file(P("ak_junk"), buf, 65536);
	CHECK_ERR(lookup("ak_junk", 0, "1.2.3.4", NULL, 0, &o), ST_ERR_NOT_FOUND);
	free(buf);
}

/* Every truncation of a whole file: the result is OK only when the good line is complete. */
static void test_lookup_truncated_file(void)
{
	struct st_authkey_opts o;
	char buf[4096];

	int n = snprintf(buf, sizeof(buf), "# c\nno-pty,command=\"x,y\" %s\nfrom=\"*\" %s c\n",
			 pub[1], pub[0]);
	size_t good_end = (size_t)n - 3; /* the blob of pub[0] ends here */
	for (size_t i = 0; i <= (size_t)n; i++) {
		st_test_write_file(P("ak_trunc"), buf, i);
		int r = lookup("ak_trunc", 0, "1.2.3.4", NULL, 0, &o);
		if (r == ST_OK)
			st_authkey_opts_free(&o);
		CHECK_ERR(r, i >= good_end ? ST_OK : ST_ERR_NOT_FOUND);
	}
}

static void test_expand_path(void)
{
	char out[256];

	CHECK_OK(st_authkeys_expand_path_home("%h/.ssh/authorized_keys", "alice", "/home/alice",
					      out, sizeof(out)));
	CHECK(strcmp(out, "/home/alice/.ssh/authorized_keys") == 0);
	CHECK_OK(st_authkeys_expand_path_home(".ssh/authorized_keys", "alice", "/home/alice", out,
					      sizeof(out)));
	CHECK(strcmp(out, "/home/alice/.ssh/authorized_keys") == 0);
	CHECK_OK(st_authkeys_expand_path_home("/etc/sshterm/keys/%u", "alice", "/home/alice", out,
					      sizeof(out)));
	CHECK(strcmp(out, "/etc/sshterm/keys/alice") == 0);
	CHECK_OK(st_authkeys_expand_path_home("%u/keys", "alice", "/h", out, sizeof(out)));
	CHECK(strcmp(out, "/h/alice/keys") == 0);
	CHECK_OK(st_authkeys_expand_path_home("/k/100%%-%u%%", "bob", "/h", out, sizeof(out)));
	CHECK(strcmp(out, "/k/100%-bob%") == 0);
	CHECK_ERR(st_authkeys_expand_path_home("/k/%x", "bob", "/h", out, sizeof(out)),
		  ST_ERR_FORMAT);
	CHECK(out[0] == '\0');
	CHECK_ERR(st_authkeys_expand_path_home("/k/%", "bob", "/h", out, sizeof(out)),
		  ST_ERR_FORMAT);
	CHECK_ERR(st_authkeys_expand_path_home("/k/%u", "../root", "/h", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_authkeys_expand_path_home("/k/%u", "..", "/h", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_authkeys_expand_path_home("/k/%u", "", "/h", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_authkeys_expand_path_home("/k/%u", "a\nb", "/h", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_authkeys_expand_path_home("k", "a", "relative", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
	/* Sizes: exact fit and one short, for absolute and home-relative results. */
	CHECK_OK(st_authkeys_expand_path_home("/k/%u", "abc", "/h", out, 7));
	CHECK(strcmp(out, "/k/abc") == 0);
	CHECK_ERR(st_authkeys_expand_path_home("/k/%u", "abc", "/h", out, 6), ST_ERR_NO_SPACE);
	CHECK(out[0] == '\0');
	CHECK_OK(st_authkeys_expand_path_home("k", "abc", "/h", out, 5));
	CHECK(strcmp(out, "/h/k") == 0);
	CHECK_ERR(st_authkeys_expand_path_home("k", "abc", "/h", out, 4), ST_ERR_NO_SPACE);
	CHECK_ERR(st_authkeys_expand_path_home("k", "abc", "/h", out, 0), ST_ERR_INVALID_ARGUMENT);

	/* Through getpwnam. */
	CHECK_OK(st_authkeys_expand_path("%h/.ssh/authorized_keys", "root", out, sizeof(out)));
	CHECK(strcmp(out, "/root/.ssh/authorized_keys") == 0);
	CHECK_OK(st_authkeys_expand_path(".ssh/authorized_keys", "root", out, sizeof(out)));
	CHECK(strcmp(out, "/root/.ssh/authorized_keys") == 0);
	CHECK_ERR(st_authkeys_expand_path("%h/x", "no-such-user-st-test", out, sizeof(out)),
		  ST_ERR_NOT_FOUND);
	CHECK_ERR(st_authkeys_expand_path("%h/x", "a/b", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	if (setup() != 0) {
		fprintf(stderr, "setup: key generation failed\n");
		cleanup();
		st_test_fail(__FILE__, __LINE__, "setup");
		return 1;
	}
	RUN(test_options_each);
	RUN(test_options_rejected);
	RUN(test_options_caps);
	RUN(test_parse_time);
	RUN(test_parse_line);
	RUN(test_parse_line_truncated_and_mutated);
	RUN(test_lookup_plain);
	RUN(test_lookup_malformed_lines);
	RUN(test_lookup_unsupported_then_plain);
	RUN(test_lookup_ca);
	RUN(test_lookup_from);
	RUN(test_lookup_expiry);
	RUN(test_lookup_restrict_permitopen);
	RUN(test_lookup_big_inputs);
	RUN(test_lookup_truncated_file);
	RUN(test_expand_path);
	cleanup();
	return st_test_done("test_authkeys");
}
