/*
 * OpenSSH-style patterns, as authorized_keys from= (and later Match blocks)
 * use them.
 *
 *   pattern       '*' matches any run of characters (also none), '?' exactly
 *                 one character, everything else itself. No escapes.
 *   pattern list  comma-separated patterns; a pattern prefixed with '!' is
 *                 negated. A string that matches any negated pattern is
 *                 refused by the whole list, whatever else matches ("negated
 *                 match wins"). An empty entry (",,") matches nothing.
 *   address list  a pattern list whose entries are IPv4/IPv6 addresses or
 *                 CIDR blocks ("198.18.0.0/15", "2001:db8::/32"), compared
 *                 numerically, or wildcard patterns ("198.18.*"), compared to
 *                 the address text. Host bits set under the mask are ignored
 *                 ("10.1.2.3/8" is 10.0.0.0/8), as OpenSSH does.
 *                 An entry containing '/' that is not a valid address/prefix
 *                 ("1.2.3.4/33", "1.2.3.4/x", "::/129", "/8") makes the whole
 *                 list invalid (ST_ERR_FORMAT): callers fail closed, so a
 *                 mistyped "!10.0.0.0/33" can never turn into "allow all".
 *                 (OpenSSH treats such entries as non-matching wildcards.)
 *                 IPv4 and IPv6 never match each other ("::/0" is all of
 *                 IPv6 only), except that an IPv4-mapped IPv6 address
 *                 (::ffff:a.b.c.d, also as a network with prefix >= 96) is
 *                 compared as the IPv4 address it carries, as sshd
 *                 normalises mapped peer addresses.
 *
 * All functions work on NUL-terminated strings, do no allocation and have
 * bounded cost: pattern matching is O(len(s) * len(pattern)) at worst, never
 * exponential. Lists are capped at ST_MATCH_LIST_MAX bytes and
 * ST_MATCH_LIST_ENTRIES entries, a single entry at ST_MATCH_ENTRY_MAX bytes.
 */
#ifndef ST_CONTROL_MATCH_H
#define ST_CONTROL_MATCH_H

#include <stddef.h>

#define ST_MATCH_LIST_MAX 8192u
#define ST_MATCH_LIST_ENTRIES 256u
#define ST_MATCH_ENTRY_MAX 1024u

/* Results of the list functions (written through *result). */
enum st_match_result {
	ST_MATCH_NEGATED = -1, /* a '!' entry matched: the list refuses */
	ST_MATCH_NONE = 0,     /* nothing matched */
	ST_MATCH_YES = 1,      /* a positive entry matched and no negated one did */
};

/* Flags for st_match_list(). */
#define ST_MATCH_FOLD_CASE 0x1 /* ASCII case-insensitive (host names) */

/*
 * 1 when s matches the wildcard pattern, 0 otherwise (also for NULL
 * arguments). Case-sensitive.
 */
int st_match_pattern(const char *s, const char *pattern);

/* As st_match_pattern(), ASCII case-insensitive. */
int st_match_pattern_fold(const char *s, const char *pattern);

/*
 * Matches s against a comma-separated pattern list.
 * Returns ST_OK with *result set (ST_MATCH_YES / ST_MATCH_NONE /
 * ST_MATCH_NEGATED);
 *   ST_ERR_INVALID_ARGUMENT: NULL s, list or result;
 *   ST_ERR_STRING_TOO_LARGE: list over ST_MATCH_LIST_MAX bytes, more than
 *     ST_MATCH_LIST_ENTRIES entries, or an entry over ST_MATCH_ENTRY_MAX.
 * *result is untouched on error.
 */
int st_match_list(const char *s, const char *list, int flags, enum st_match_result *result);

/*
 * Parses "addr" or "addr/prefixlen" (IPv4 prefix 0..32, IPv6 0..128; decimal,
 * no sign, no leading zeros beyond "0") and tells whether `addr` lies inside.
 * Returns ST_OK with *match 1 or 0 (different families never match; see
 * above for IPv4-mapped addresses);
 *   ST_ERR_FORMAT: `addr` is not an IP address, or `cidr` is not a valid
 *     address[/prefix];
 *   ST_ERR_INVALID_ARGUMENT: NULL arguments.
 */
int st_match_cidr(const char *addr, const char *cidr, int *match);

/*
 * Matches an IP address (text, as inet_ntop writes it) against an address
 * list (see above).
 * Returns ST_OK with *result set;
 *   ST_ERR_FORMAT: addr is not an IP address, or an entry holds '/' but is
 *     not a valid CIDR block;
 *   ST_ERR_STRING_TOO_LARGE, ST_ERR_INVALID_ARGUMENT as st_match_list().
 */
int st_match_addr_list(const char *addr, const char *list, enum st_match_result *result);

/*
 * The from= check: is a client at `ip` (text address; `host` its verified
 * name, or NULL when unknown, in which case the address text stands in for
 * the name, as sshd does with UseDNS no) allowed by `list`?
 * Host names are matched case-insensitively with wildcards; the address with
 * st_match_addr_list(). A negated match of either refuses, else a positive
 * match of either allows, else refused.
 * Returns ST_OK with *allowed 1 or 0;
 *   ST_ERR_FORMAT: invalid CIDR entry or ip not an address (caller refuses);
 *   ST_ERR_STRING_TOO_LARGE, ST_ERR_INVALID_ARGUMENT as above.
 */
int st_match_host_and_ip(const char *host, const char *ip, const char *list, int *allowed);

#endif
