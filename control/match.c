/* OpenSSH-style wildcard patterns, pattern lists and address lists (see match.h). */
#include "control/match.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "crypto/err.h"

static int fold(int c, int f)
{
	if (f && c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	return c;
}

/*
 * Iterative matcher over s[0..slen) and p[0..plen). On a mismatch it
 * backtracks only to the most recent '*', which is enough for '*' / '?'
 * patterns and keeps the cost at O(slen * plen).
 */
static int match_n(const char *s, size_t slen, const char *p, size_t plen, int f)
{
	size_t si = 0, pi = 0, star_p = 0, star_s = 0;
	int have_star = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			have_star = 1;
			star_p = ++pi;
			star_s = si;
		} else if (pi < plen && (p[pi] == '?' || fold((unsigned char)p[pi], f) ==
							       fold((unsigned char)s[si], f))) {
			pi++;
			si++;
		} else if (have_star) {
			pi = star_p;
			si = ++star_s;
		} else {
			return 0;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

int st_match_pattern(const char *s, const char *pattern)
{
	if (s == NULL || pattern == NULL)
		return 0;
	return match_n(s, strlen(s), pattern, strlen(pattern), 0);
}

int st_match_pattern_fold(const char *s, const char *pattern)
{
	if (s == NULL || pattern == NULL)
		return 0;
	return match_n(s, strlen(s), pattern, strlen(pattern), 1);
}

/* Checks the caps of a list; ST_OK or ST_ERR_STRING_TOO_LARGE. */
static int list_check(const char *list)
{
	size_t len = strnlen(list, ST_MATCH_LIST_MAX + 1), n = 1, elen = 0;

	if (len > ST_MATCH_LIST_MAX)
		return ST_ERR_STRING_TOO_LARGE;
	for (size_t i = 0; i < len; i++) {
		if (list[i] == ',') {
			if (++n > ST_MATCH_LIST_ENTRIES)
				return ST_ERR_STRING_TOO_LARGE;
			elen = 0;
		} else if (++elen > ST_MATCH_ENTRY_MAX) {
			return ST_ERR_STRING_TOO_LARGE;
		}
	}
	return ST_OK;
}

int st_match_list(const char *s, const char *list, int flags, enum st_match_result *result)
{
	enum st_match_result res = ST_MATCH_NONE;
	const char *e, *end;
	int r, f = (flags & ST_MATCH_FOLD_CASE) != 0;

	if (s == NULL || list == NULL || result == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = list_check(list)) != ST_OK)
		return r;
	for (e = list;; e = end + 1) {
		int neg = 0;

		end = strchr(e, ',');
		if (end == NULL)
			end = e + strlen(e);
		if (*e == '!') {
			neg = 1;
			e++;
		}
		/* An empty entry ("", "!", ",,") matches nothing. */
		if (end > e && match_n(s, strlen(s), e, (size_t)(end - e), f)) {
			if (neg) {
				res = ST_MATCH_NEGATED;
				break;
			}
			res = ST_MATCH_YES;
		}
		if (*end == '\0')
			break;
	}
	*result = res;
	return ST_OK;
}

struct addr {
	int af;          /* AF_INET or AF_INET6 */
	uint8_t b[16];   /* 4 or 16 bytes used */
};

/* Parses an address from s[0..len) (no prefix). ST_OK or ST_ERR_FORMAT. */
static int addr_parse(const char *s, size_t len, struct addr *a)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(tmp))
		return ST_ERR_FORMAT;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, tmp, a->b) == 1) {
		a->af = AF_INET;
		return ST_OK;
	}
	if (inet_pton(AF_INET6, tmp, a->b) == 1) {
		a->af = AF_INET6;
		return ST_OK;
	}
	return ST_ERR_FORMAT;
}

/* 1 when a is an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
static int is_v4_mapped(const struct addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return a->af == AF_INET6 && memcmp(a->b, pfx, sizeof(pfx)) == 0;
}

/* Rewrites an IPv4-mapped address as IPv4; *bits (when not NULL) loses 96. */
static void unmap_v4(struct addr *a, unsigned *bits)
{
	if (!is_v4_mapped(a) || (bits != NULL && *bits < 96))
		return;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->af = AF_INET;
	if (bits != NULL)
		*bits -= 96;
}

/* 1 when the first `bits` bits of a and n are equal. */
static int prefix_eq(const uint8_t *a, const uint8_t *n, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, n, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == (n[full] & m);
}

/* Different families never match; IPv4-mapped forms count as IPv4. */
static int net_match(const struct addr *addr, const struct addr *net, unsigned bits)
{
	struct addr a = *addr, n = *net;

	unmap_v4(&a, NULL);
	unmap_v4(&n, &bits);
	if (a.af != n.af)
		return 0;
	return prefix_eq(a.b, n.b, bits);
}

/* Parses "addr[/prefix]" from s[0..len). ST_OK or ST_ERR_FORMAT. */
static int cidr_parse(const char *s, size_t len, struct addr *net, unsigned *bits)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len;
	unsigned v = 0, max;
	int r;

	if ((r = addr_parse(s, alen, net)) != ST_OK)
		return r;
	max = net->af == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*bits = max;
		return ST_OK;
	}
	const char *d = slash + 1, *e = s + len;
	if (d == e || e - d > 3 || (d[0] == '0' && e - d > 1))
		return ST_ERR_FORMAT;
	for (; d < e; d++) {
		if (*d < '0' || *d > '9')
			return ST_ERR_FORMAT;
		v = v * 10 + (unsigned)(*d - '0');
	}
	if (v > max)
		return ST_ERR_FORMAT;
	*bits = v;
	return ST_OK;
}

int st_match_cidr(const char *addr, const char *cidr, int *match)
{
	struct addr a, n;
	unsigned bits;
	int r;

	if (addr == NULL || cidr == NULL || match == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = addr_parse(addr, strnlen(addr, INET6_ADDRSTRLEN + 1), &a)) != ST_OK)
		return r;
	if ((r = cidr_parse(cidr, strnlen(cidr, ST_MATCH_ENTRY_MAX + 1), &n, &bits)) != ST_OK)
		return r;
	*match = net_match(&a, &n, bits);
	return ST_OK;
}

int st_match_addr_list(const char *addr, const char *list, enum st_match_result *result)
{
	enum st_match_result res = ST_MATCH_NONE;
	struct addr a, n;
	unsigned bits;
	const char *e, *end;
	int r, hit;

	if (addr == NULL || list == NULL || result == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = list_check(list)) != ST_OK)
		return r;
	if ((r = addr_parse(addr, strnlen(addr, INET6_ADDRSTRLEN + 1), &a)) != ST_OK)
		return r;
	/* Validate every entry first, so the verdict never depends on order. */
	for (e = list;; e = end + 1) {
		end = strchr(e, ',');
		if (end == NULL)
			end = e + strlen(e);
		if (*e == '!')
			e++;
		if (memchr(e, '/', (size_t)(end - e)) != NULL &&
		    cidr_parse(e, (size_t)(end - e), &n, &bits) != ST_OK)
			return ST_ERR_FORMAT;
		if (*end == '\0')
			break;
	}
	for (e = list;; e = end + 1) {
		int neg = 0;
		size_t elen;

		end = strchr(e, ',');
		if (end == NULL)
			end = e + strlen(e);
		if (*e == '!') {
			neg = 1;
			e++;
		}
		elen = (size_t)(end - e);
		if (elen == 0)
			hit = 0;
		else if (cidr_parse(e, elen, &n, &bits) == ST_OK)
			hit = net_match(&a, &n, bits);
		else
			hit = match_n(addr, strlen(addr), e, elen, 1);
		if (hit) {
			if (neg) {
				res = ST_MATCH_NEGATED;
				break;
			}
			res = ST_MATCH_YES;
		}
		if (*end == '\0')
			break;
	}
	*result = res;
	return ST_OK;
}

int st_match_host_and_ip(const char *host, const char *ip, const char *list, int *allowed)
{
	enum st_match_result mip, mhost;
	int r;

	if (ip == NULL || list == NULL || allowed == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = st_match_addr_list(ip, list, &mip)) != ST_OK)
		return r;
	if ((r = st_match_list(host != NULL ? host : ip, list, ST_MATCH_FOLD_CASE, &mhost)) != ST_OK)
		return r;
	if (mip == ST_MATCH_NEGATED || mhost == ST_MATCH_NEGATED)
		*allowed = 0;
	else
		*allowed = mip == ST_MATCH_YES || mhost == ST_MATCH_YES;
	return ST_OK;
}
