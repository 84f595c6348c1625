/*
 * authorized_keys for publickey user authentication (sshd(8) AUTHORIZED_KEYS
 * FILE FORMAT), deny by default.
 *
 * A line is: [options] <keytype> <base64 blob> [comment]. Blank lines and
 * lines whose first non-blank character is '#' are ignored. Key types are
 * those of crypto/key.h; a line with another SSH key type (ssh-dss,
 * certificates, sk-*, nistp384/521) is skipped with a logged reason.
 *
 * Options are comma-separated, names ASCII case-insensitive, values in
 * double quotes where `\"` stands for a quote (any other backslash is kept
 * as is, as OpenSSH does); commas and blanks inside quotes are part of the
 * value. The options section ends at the first blank outside quotes.
 * Supported, applied left to right:
 *   restrict                  sets all no-* flags below
 *   no-port-forwarding / port-forwarding
 *   no-pty / pty
 *   no-agent-forwarding / agent-forwarding
 *   no-x11-forwarding / x11-forwarding
 *   no-user-rc / user-rc
 *   command="..."             at most once
 *   from="pattern-list"       at most once; see control/match.h
 *   permitopen="host:port"    repeatable; host a name, an address, "[v6]"
 *                             or "*"; port 1..65535 or "*"
 *   cert-authority            the key is a CA: certificates it signed may
 *                             log in (st_authkeys_lookup_kind(), ca = 1);
 *                             the key itself may not
 *   principals="a,b"          at most once; with cert-authority: one of the
 *                             certificate's principals must be listed
 *   expiry-time="YYYYMMDD[HHMM[SS]][Z]"  repeatable, the earliest wins.
 *                             With "Z" (or "z") the time is UTC; without it
 *                             the server's local time zone (TZ), exactly as
 *                             OpenSSH interprets it. Key refused once
 *                             now > expiry.
 * Anything else (environment=, tunnel=, permitlisten=, touch-required, verify-required, no-touch-required and
 * unknown names) makes the line ignored with a logged reason: an option is
 * never silently dropped. A flag given a value, a value option without one,
 * an unterminated quote, control characters in a value, an empty option or
 * a trailing comma make the line malformed (skipped with a reason).
 *
 * Hard caps: ST_AUTHKEYS_FILE_MAX per file, ST_AUTHKEYS_LINE_MAX per line,
 * ST_AUTHKEYS_OPTS_MAX options per line, ST_AUTHKEYS_VALUE_MAX bytes per
 * option value.
 */
#ifndef ST_CONTROL_AUTHKEYS_H
#define ST_CONTROL_AUTHKEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct st_key;

#define ST_AUTHKEYS_FILE_MAX (4u * 1024u * 1024u)
#define ST_AUTHKEYS_LINE_MAX (16u * 1024u) /* bytes, without the line break */
#define ST_AUTHKEYS_OPTS_MAX 64u
#define ST_AUTHKEYS_VALUE_MAX 8192u
/* Size of the reason buffers the parsers fill; longer reasons are cut. */
#define ST_AUTHKEYS_REASON_SIZE 256u

/* One permitopen="host:port" entry. */
struct st_permitopen {
	char *host; /* without [] brackets; "*" = any host */
	int port;   /* 1..65535, or -1 for "*" (any port) */
};

/* Effective restrictions of one key line. All-zero (memset) is "no options". */
struct st_authkey_opts {
	int restrict_;                  /* "restrict" appeared */
	int no_port_forwarding;
	int no_pty;
	int no_agent_forwarding;
	int no_x11_forwarding;
	int no_user_rc;
	char *command;                  /* forced command / service ("" is a forced empty one), or NULL */
	char *from;                     /* from= pattern list, or NULL */
	struct st_permitopen *permitopen;
	size_t npermitopen;
	uint64_t expiry_time;           /* 0 = none; seconds since the epoch */
	int cert_authority;             /* cert-authority */
	char *principals;               /* principals= list, or NULL */
};

/*
 * Receives one log message ("path:line: reason", no newline). Called for
 * skipped/malformed lines and for matching lines that are refused.
 */
typedef void (*st_authkeys_log_fn)(void *ctx, const char *msg);

/*
 * Parses an options section s[0..len) (no surrounding blanks) into *out,
 * which the caller frees with st_authkey_opts_free().
 * Returns ST_OK;
 *   ST_ERR_FORMAT: malformed, or an unsupported option (the line must be
 *     ignored); reason (when not NULL) says which;
 *   ST_ERR_STRING_TOO_LARGE: over ST_AUTHKEYS_OPTS_MAX options or a value
 *     over ST_AUTHKEYS_VALUE_MAX;
 *   ST_ERR_INVALID_ARGUMENT, ST_ERR_ALLOC.
 * *out is untouched on error; reason is set (possibly "") on every return.
 */
int st_authkeys_parse_options(const char *s, size_t len, struct st_authkey_opts *out,
			      char *reason, size_t reasonsz);

/*
 * Parses one line line[0..len) (without its line break): splits off the
 * options (when the first word is not a key type name), parses them and the
 * public key. On ST_OK, *key (st_key_free) and *opts (st_authkey_opts_free)
 * are the caller's.
 * Returns ST_OK;
 *   ST_ERR_NOT_FOUND: blank or comment line (nothing to do, no reason);
 *   ST_ERR_STRING_TOO_LARGE: line over ST_AUTHKEYS_LINE_MAX, or option caps;
 *   ST_ERR_FORMAT: malformed line or options, NUL byte, unsupported option;
 *   the codes of st_key_parse_public_line() for the key part
 *     (ST_ERR_KEY_TYPE_UNKNOWN, ST_ERR_KEY_INVALID, ...);
 *   ST_ERR_ALLOC.
 * reason (when not NULL) describes any failure.
 */
int st_authkeys_parse_line(const char *line, size_t len, struct st_key **key,
			   struct st_authkey_opts *opts, char *reason, size_t reasonsz);

/*
 * Finds `key` in the authorized_keys file at `path` for a client at `peer_ip`
 * (text address; NULL only when unknown, then any from= refuses) whose
 * verified host name is `peer_host` (NULL when unknown: the address stands in,
 * as with sshd's UseDNS no). Lines are tried in order; the first line holding
 * the key whose options parse, whose from= allows the peer and which has not
 * expired at `now` wins. A matching line that is refused is logged and the
 * search goes on. log may be NULL.
 * Returns ST_OK with *opts set (caller frees with st_authkey_opts_free());
 *   ST_ERR_NOT_FOUND: no line grants access;
 *   ST_ERR_SYSTEM: the file cannot be opened or read (errno kept), or is not
 *     a regular file;
 *   ST_ERR_FORMAT: file larger than ST_AUTHKEYS_FILE_MAX (logged; refused
 *     as a whole);
 *   ST_ERR_INVALID_ARGUMENT, ST_ERR_ALLOC.
 */
int st_authkeys_lookup(const char *path, const struct st_key *key, const char *peer_ip,
		       const char *peer_host, time_t now, struct st_authkey_opts *opts,
		       st_authkeys_log_fn log, void *log_ctx);

/*
 * st_authkeys_lookup() with ca = 0; with ca = 1 it finds `key` as a CA: only
 * lines with cert-authority match (ca = 0 skips them). The line's other
 * options (principals=, from=, command=, ...) come back in *opts.
 */
int st_authkeys_lookup_kind(const char *path, const struct st_key *key, int ca,
			    const char *peer_ip, const char *peer_host, time_t now,
			    struct st_authkey_opts *opts, st_authkeys_log_fn log, void *log_ctx);

/*
 * st_authkeys_lookup() over text already in memory, data[0..len) (not
 * NUL-terminated; an AuthorizedKeysCommand's output), named `path` in the
 * log messages. Same rules and returns, without the file errors.
 */
int st_authkeys_lookup_buf(const char *path, const char *data, size_t len,
			   const struct st_key *key, const char *peer_ip, const char *peer_host,
			   time_t now, struct st_authkey_opts *opts, st_authkeys_log_fn log,
			   void *log_ctx);

/* Frees what *o holds and zeroes it; NULL and zeroed structs are fine. */
void st_authkey_opts_free(struct st_authkey_opts *o);

/*
 * Parses an expiry-time value ("YYYYMMDD", "YYYYMMDDHHMM" or
 * "YYYYMMDDHHMMSS", optional trailing 'Z'/'z' for UTC, else local time).
 * Years 1970..9999, fields range-checked (Feb 29 only in leap years).
 * Returns ST_OK with *out seconds since the epoch; ST_ERR_FORMAT otherwise.
 */
int st_authkeys_parse_time(const char *s, uint64_t *out);

/*
 * Expands an AuthorizedKeysFile pattern: %u user name, %h home directory,
 * %% a percent sign; any other %-sequence is an error. A result that is not
 * absolute is taken relative to the home directory, like sshd.
 * st_authkeys_expand_path() looks the home up with getpwnam_r();
 * st_authkeys_expand_path_home() takes it from the caller.
 * Returns ST_OK with out[outsz] NUL-terminated;
 *   ST_ERR_FORMAT: unknown or trailing '%' token;
 *   ST_ERR_INVALID_ARGUMENT: NULL arguments, empty user, a user name holding
 *     '/' or a control character or "." / "..", a home that is not absolute;
 *   ST_ERR_NOT_FOUND: no such user (st_authkeys_expand_path());
 *   ST_ERR_SYSTEM: the user lookup failed;
 *   ST_ERR_NO_SPACE: result does not fit (out is then "").
 */
int st_authkeys_expand_path(const char *pattern, const char *user, char *out, size_t outsz);
int st_authkeys_expand_path_home(const char *pattern, const char *user, const char *home,
				 char *out, size_t outsz);

/*
 * May a direct-tcpip channel to host:port be opened under these options?
 * 1 when allowed, 0 when not: refused when no-port-forwarding is in force
 * (also through restrict); allowed when the key has no permitopen= at all
 * (the global PermitOpen still applies); otherwise host must equal an
 * entry's host (ASCII case-insensitive; "*" entries match any host) and
 * port its port ("*" any). NULL o means no options (allowed); NULL host is
 * refused.
 */
int st_authkey_permitopen_allows(const struct st_authkey_opts *o, const char *host,
				 uint16_t port);

#endif
