/* Unit tests for OpenSSH-style patterns and address lists (control/match.c). */
#include <stdlib.h>
#include <string.h>

#include "control/match.h"
#include "tests/unit/test.h"

static void test_wildcards(void)
{
	static const struct {
		const char *s, *pat;
		int want;
	} t[] = {
		{ "", "", 1 },
		{ "", "*", 1 },
		{ "", "?", 0 },
		{ "a", "", 0 },
		{ "abc", "abc", 1 },
		{ "abc", "ab", 0 },
		{ "abc", "abcd", 0 },
		{ "abc", "a*", 1 },
		{ "abc", "*c", 1 },
		{ "abc", "*b*", 1 },
		{ "abc", "a?c", 1 },
		{ "abc", "a??c", 0 },
		{ "abc", "???", 1 },
		{ "abc", "??", 0 },
		{ "abc", "***", 1 },
		{ "abc", "a**c", 1 },
		{ "host.example.com", "*.example.com", 1 },
		{ "example.com", "*.example.com", 0 },
		{ "evil-example.com", "*.example.com", 0 },
		{ "a.b.example.com", "*.example.com", 1 },
		{ "198.18.0.7", "198.18.*", 1 },
		{ "198.180.0.7", "198.18.*", 0 },
		{ "198.180.0.7", "198.18*", 1 },
		{ "aaa", "*a*a*a*", 1 },
		{ "aa", "*a*a*a*", 0 },
		{ "mississippi", "m*iss*ppi", 1 },
		{ "mississippi", "m*iss*ppx", 0 },
		{ "ABC", "abc", 0 },
		{ "abc", "a\\*", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (st_match_pattern(t[i].s, t[i].pat) != t[i].want)
			st_test_fail(__FILE__, __LINE__, "\"%s\" vs \"%s\" wanted %d", t[i].s,
				     t[i].pat, t[i].want);
	}
	CHECK_INT(st_match_pattern_fold("HOST.Example.COM", "*.example.com"), 1);
	CHECK_INT(st_match_pattern(NULL, "*"), 0);
	CHECK_INT(st_match_pattern("x", NULL), 0);
}

/* A pathological pattern must not take exponential time. */
static void test_wildcard_no_blowup(void)
{
	char s[4097], p[201];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	for (size_t i = 0; i < sizeof(p) - 1; i += 2) {
		p[i] = '*';
		p[i + 1] = 'a';
	}
	p[sizeof(p) - 2] = 'b';
	p[sizeof(p) - 1] = '\0';
	CHECK_INT(st_match_pattern(s, p), 0);
}

static void test_lists(void)
{
	static const struct {
		const char *s, *list;
		int flags;
		enum st_match_result want;
	} t[] = {
		{ "alice", "alice", 0, ST_MATCH_YES },
		{ "alice", "bob,alice", 0, ST_MATCH_YES },
		{ "alice", "bob,carol", 0, ST_MATCH_NONE },
		{ "alice", "!alice", 0, ST_MATCH_NEGATED },
		{ "alice", "*,!alice", 0, ST_MATCH_NEGATED },
		{ "alice", "!alice,*", 0, ST_MATCH_NEGATED },
		{ "bob", "*,!alice", 0, ST_MATCH_YES },
		{ "bob", "!alice", 0, ST_MATCH_NONE },
		{ "alice", "", 0, ST_MATCH_NONE },
		{ "", "", 0, ST_MATCH_NONE },
		{ "alice", ",,", 0, ST_MATCH_NONE },
		{ "alice", "!", 0, ST_MATCH_NONE },
		{ "alice", "bob,,alice", 0, ST_MATCH_YES },
		{ "ALICE", "alice", 0, ST_MATCH_NONE },
		{ "ALICE", "alice", ST_MATCH_FOLD_CASE, ST_MATCH_YES },
		{ "Host.Example.com", "*.example.com,!bad.example.com", ST_MATCH_FOLD_CASE,
		  ST_MATCH_YES },
		{ "BAD.example.com", "*.example.com,!bad.example.com", ST_MATCH_FOLD_CASE,
		  ST_MATCH_NEGATED },
		{ "a", "?,!??", 0, ST_MATCH_YES },
		{ "ab", "?,!??", 0, ST_MATCH_NEGATED },
	};
	enum st_match_result res;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		res = 99;
		CHECK_OK(st_match_list(t[i].s, t[i].list, t[i].flags, &res));
		if (res != t[i].want)
			st_test_fail(__FILE__, __LINE__, "\"%s\" vs list \"%s\": %d, wanted %d",
				     t[i].s, t[i].list, (int)res, (int)t[i].want);
	}
	CHECK_ERR(st_match_list(NULL, "a", 0, &res), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_match_list("a", NULL, 0, &res), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_match_list("a", "a", 0, NULL), ST_ERR_INVALID_ARGUMENT);
}

static void test_list_caps(void)
{
	enum st_match_result res = 42;
	char *big = malloc(ST_MATCH_LIST_MAX + 2);

	CHECK(big != NULL);
	if (big == NULL)
		return;
	/* Over the list cap. */
	memset(big, 'a', ST_MATCH_LIST_MAX + 1);
	big[ST_MATCH_LIST_MAX + 1] = '\0';
	CHECK_ERR(st_match_list("a", big, 0, &res), ST_ERR_STRING_TOO_LARGE);
	CHECK_ERR(st_match_addr_list("1.2.3.4", big, &res), ST_ERR_STRING_TOO_LARGE);
	CHECK_INT(res, 42);
	/* One entry over the entry cap. */
	memset(big, 'a', ST_MATCH_ENTRY_MAX + 1);
	big[ST_MATCH_ENTRY_MAX + 1] = '\0';
	CHECK_ERR(st_match_list("a", big, 0, &res), ST_ERR_STRING_TOO_LARGE);
	/* Exactly at the entry cap is fine. */
	big[ST_MATCH_ENTRY_MAX] = '\0';
	CHECK_OK(st_match_list("a", big, 0, &res));
	CHECK_INT(res, ST_MATCH_NONE);
	/* Too many entries. */
	for (size_t i = 0; i < ST_MATCH_LIST_ENTRIES + 1; i++) {
		big[2 * i] = 'x';
		big[2 * i + 1] = ',';
	}
	big[2 * ST_MATCH_LIST_ENTRIES + 1] = '\0';
	CHECK_ERR(st_match_list("a", big, 0, &res), ST_ERR_STRING_TOO_LARGE);
	big[2 * ST_MATCH_LIST_ENTRIES - 1] = '\0'; /* exactly the cap */
	CHECK_OK(st_match_list("x", big, 0, &res));
	CHECK_INT(res, ST_MATCH_YES);
	free(big);
}

static void test_cidr(void)
{
	static const struct {
		const char *addr, *cidr;
		int want; /* 1, 0, or -1 for ST_ERR_FORMAT */
	} t[] = {
		{ "198.18.0.1", "198.18.0.0/15", 1 },
		{ "198.19.255.255", "198.18.0.0/15", 1 },
		{ "198.20.0.0", "198.18.0.0/15", 0 },
		{ "198.17.255.255", "198.18.0.0/15", 0 },
		{ "10.1.2.3", "10.0.0.0/8", 1 },
		{ "10.1.2.3", "10.1.2.3/8", 1 }, /* host bits ignored */
		{ "11.0.0.0", "10.0.0.0/8", 0 },
		{ "1.2.3.4", "0.0.0.0/0", 1 },
		{ "255.255.255.255", "0.0.0.0/0", 1 },
		{ "1.2.3.4", "1.2.3.4/32", 1 },
		{ "1.2.3.5", "1.2.3.4/32", 0 },
		{ "1.2.3.4", "1.2.3.4", 1 },
		{ "1.2.3.5", "1.2.3.4", 0 },
		{ "1.2.3.4", "1.2.3.5/31", 1 },
		{ "1.2.3.6", "1.2.3.5/31", 0 },
		{ "2001:db8::1", "2001:db8::/32", 1 },
		{ "2001:db9::1", "2001:db8::/32", 0 },
		{ "2001:db8::1", "::/0", 1 },
		{ "::1", "::1/128", 1 },
		{ "::2", "::1/128", 0 },
		{ "::1", "::1", 1 },
		{ "fe80::1", "fe80::/10", 1 },
		{ "febf::1", "fe80::/10", 1 },
		{ "fec0::1", "fe80::/10", 0 },
		{ "1.2.3.4", "::/0", 0 },          /* families differ */
		{ "::1", "0.0.0.0/0", 0 },
		{ "::ffff:10.1.2.3", "10.0.0.0/8", 1 }, /* IPv4-mapped */
		{ "::ffff:11.1.2.3", "10.0.0.0/8", 0 },
		{ "10.1.2.3", "::ffff:10.0.0.0/104", 1 },
		{ "10.1.2.3", "::ffff:0.0.0.0/96", 1 },
		{ "10.1.2.3", "::/64", 0 },  /* a v6 block below the mapped prefix */
		{ "::ffff:10.1.2.3", "::ffff:10.1.2.3", 1 },
		{ "1.2.3.4", "1.2.3.4/33", -1 },
		{ "1.2.3.4", "1.2.3.4/x", -1 },
		{ "1.2.3.4", "1.2.3.4/", -1 },
		{ "1.2.3.4", "1.2.3.4/-1", -1 },
		{ "1.2.3.4", "1.2.3.4/+8", -1 },
		{ "1.2.3.4", "1.2.3.4/08", -1 },
		{ "1.2.3.4", "1.2.3.4/1000", -1 },
		{ "1.2.3.4", "1.2.3.4/8/8", -1 },
		{ "1.2.3.4", "/8", -1 },
		{ "1.2.3.4", "1.2.3/24", -1 },
		{ "1.2.3.4", "1.2.3.256/24", -1 },
		{ "::1", "::/129", -1 },
		{ "1.2.3.4", "host.example.com", -1 },
		{ "not-an-ip", "0.0.0.0/0", -1 },
		{ "", "0.0.0.0/0", -1 },
	};
	int m;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		m = 7;
		int r = st_match_cidr(t[i].addr, t[i].cidr, &m);
		int got = r == ST_OK ? m : (r == ST_ERR_FORMAT ? -1 : -2);
		if (got != t[i].want)
			st_test_fail(__FILE__, __LINE__, "%s in %s: %d, wanted %d", t[i].addr,
				     t[i].cidr, got, t[i].want);
	}
	CHECK_ERR(st_match_cidr(NULL, "0.0.0.0/0", &m), ST_ERR_INVALID_ARGUMENT);
}

static void test_addr_lists(void)
{
	static const struct {
		const char *addr, *list;
		int want; /* enum value, or 9 for ST_ERR_FORMAT */
	} t[] = {
		{ "198.18.0.7", "198.18.0.0/15", ST_MATCH_YES },
		{ "198.18.0.7", "10.0.0.0/8,198.18.0.0/15", ST_MATCH_YES },
		{ "198.18.0.7", "10.0.0.0/8", ST_MATCH_NONE },
		{ "198.18.0.7", "198.18.0.0/15,!198.18.0.7", ST_MATCH_NEGATED },
		{ "198.18.0.7", "!198.18.0.0/24,0.0.0.0/0", ST_MATCH_NEGATED },
		{ "198.18.1.7", "!198.18.0.0/24,0.0.0.0/0", ST_MATCH_YES },
		{ "198.18.0.7", "198.18.*", ST_MATCH_YES },
		{ "198.18.0.7", "198.18.0.?", ST_MATCH_YES },
		{ "198.18.0.77", "198.18.0.?", ST_MATCH_NONE },
		{ "198.18.0.7", "!198.18.*", ST_MATCH_NEGATED },
		{ "2001:DB8::1", "2001:db8::*", ST_MATCH_YES },
		{ "2001:db8::1", "2001:db8::/32,!2001:db8::1", ST_MATCH_NEGATED },
		{ "2001:db8::2", "2001:db8::/32,!2001:db8::1", ST_MATCH_YES },
		{ "198.18.0.7", "host.example.com", ST_MATCH_NONE },
		{ "198.18.0.7", "", ST_MATCH_NONE },
		/* A broken CIDR entry spoils the list, even after a match. */
		{ "198.18.0.7", "198.18.0.7,!10.0.0.0/33", 9 },
		{ "198.18.0.7", "1.2.3.4/x", 9 },
		{ "198.18.0.7", "!1.2.3.4/33", 9 },
		{ "bogus", "0.0.0.0/0", 9 },
	};
	enum st_match_result res;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		res = 5;
		int r = st_match_addr_list(t[i].addr, t[i].list, &res);
		int got = r == ST_OK ? (int)res : (r == ST_ERR_FORMAT ? 9 : 10);
		if (got != t[i].want)
			st_test_fail(__FILE__, __LINE__, "%s vs \"%s\": %d, wanted %d",
				     t[i].addr, t[i].list, got, t[i].want);
	}
}

static void test_host_and_ip(void)
{
	static const struct {
		const char *host, *ip, *list;
		int want; /* 1 allowed, 0 refused, -1 error */
	} t[] = {
		{ NULL, "198.18.0.7", "198.18.0.0/15", 1 },
		{ NULL, "198.18.0.7", "10.0.0.0/8", 0 },
		{ NULL, "198.18.0.7", "198.18.*", 1 },
		{ NULL, "198.18.0.7", "*,!198.18.0.7", 0 },
		{ NULL, "198.18.0.7", "*,!198.18.0.0/24", 0 },
		{ NULL, "198.18.1.7", "*,!198.18.0.0/24", 1 },
		{ "client.example.com", "198.18.0.7", "*.example.com", 1 },
		{ "CLIENT.example.com", "198.18.0.7", "*.example.com", 1 },
		{ "client.example.com", "198.18.0.7", "*.example.org", 0 },
		{ "client.example.com", "198.18.0.7", "*.example.com,!198.18.0.0/15", 0 },
		{ "client.example.com", "198.18.0.7", "198.18.0.0/15,!client.*", 0 },
		{ "client.example.com", "198.18.0.7", "10.0.0.0/8", 0 },
		{ NULL, "198.18.0.7", "", 0 },
		{ NULL, "198.18.0.7", "198.18.0.0/33", -1 },
		{ NULL, "not-an-ip", "*", -1 },
	};
	int allowed;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		allowed = 7;
		int r = st_match_host_and_ip(t[i].host, t[i].ip, t[i].list, &allowed);
		int got = r == ST_OK ? allowed : -1;
		if (got != t[i].want)
			st_test_fail(__FILE__, __LINE__, "%s/%s vs \"%s\": %d, wanted %d",
				     t[i].host ? t[i].host : "-", t[i].ip, t[i].list, got,
				     t[i].want);
	}
	CHECK_ERR(st_match_host_and_ip(NULL, NULL, "*", &allowed), ST_ERR_INVALID_ARGUMENT);
}

/* Random junk lists never crash and never report anything but the documented codes. */
static void test_junk(void)
{
	static const char alphabet[] = "0123456789abcdef.:/!,*?[] x";
	char list[64];
	uint8_t rnd[sizeof(list)];
	enum st_match_result res;
	int allowed;

	for (uint64_t seed = 1; seed < 3000; seed++) {
		st_test_fill(rnd, sizeof(rnd), seed);
		size_t n = rnd[0] % (sizeof(list) - 1);
		for (size_t i = 0; i < n; i++)
			list[i] = alphabet[rnd[i + 1] % (sizeof(alphabet) - 1)];
		list[n] = '\0';
		int r = st_match_addr_list("198.18.0.1", list, &res);
		CHECK(r == ST_OK || r == ST_ERR_FORMAT);
		r = st_match_host_and_ip("h", "2001:db8::1", list, &allowed);
		CHECK(r == ST_OK || r == ST_ERR_FORMAT);
		r = st_match_list("198.18.0.1", list, 0, &res);
		CHECK(r == ST_OK);
	}
}

int main(void)
{
	RUN(test_wildcards);
	RUN(test_wildcard_no_blowup);
	RUN(test_lists);
	RUN(test_list_caps);
	RUN(test_cidr);
	RUN(test_addr_lists);
	RUN(test_host_and_ip);
	RUN(test_junk);
	return st_test_done("test_match");
}
