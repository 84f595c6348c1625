/*
 * AuthorizedKeysCommand's command line (sshd_config(5)): split into an argv
 * without a shell, then %-tokens expanded in each argument. Pure functions
 * with no state of their own: any thread may call them (the helper threads
 * of control/akc_pool.h do, at every call; the config reader checks a
 * command once with st_akc_check()).
 *
 * Splitting, as sshd splits it: blanks (space, tab) separate arguments;
 * '...' and "..." group, and several quoted and unquoted pieces with no
 * blank between them make one argument; a backslash outside quotes takes
 * the next character literally; inside quotes "\\" is a backslash and a
 * backslash before the closing quote character is that character, any
 * other backslash is kept. An unterminated quote or a trailing backslash is
 * an error. There is no shell: a shell runs only when the operator writes
 * one, e.g. /bin/sh -c '...'.
 *
 * Tokens, per argument: %u user, %U the user's numeric uid, %h the user's
 * home directory, %f the key's fingerprint (SHA256:...), %k the key blob in
 * base64, %t the key type (ssh-ed25519, ...), %% a percent sign. Any other
 * %-sequence is an error. The first argument must be an absolute path once
 * expanded.
 */
#ifndef ST_CONTROL_AKCMD_H
#define ST_CONTROL_AKCMD_H

#include <stddef.h>

#define ST_AKC_ARGS_MAX 64            /* arguments, the command included */
#define ST_AKC_LINE_MAX (32u * 1024u) /* bytes of all expanded arguments together */
#define ST_AKC_WHY_SIZE 160u          /* size of the reason buffers filled below */

/* Values of the tokens; NULL means "not known" (then the token is an error). */
struct st_akc_tokens {
	const char *user;     /* %u */
	const char *uid;      /* %U, decimal */
	const char *home;     /* %h */
	const char *fp;       /* %f */
	const char *key_b64;  /* %k */
	const char *key_type; /* %t */
};

/*
 * An expanded command line: argv[0..argc) and a NULL, all in one allocation
 * owned by the struct. The arguments lie back to back in `line`, each with
 * its NUL (line_len bytes in all): that is the cache key (no two different
 * argvs give the same bytes).
 */
struct st_akc_argv {
	char **argv;
	size_t argc;
	const char *line;
	size_t line_len;
};

/*
 * Splits cmd and expands the tokens of t in every argument.
 * Returns ST_OK with *out filled (st_akc_argv_free() it);
 *   ST_ERR_FORMAT: unterminated quote, trailing backslash, unknown or
 *     trailing '%' token, a token whose value is NULL, an empty command,
 *     a first argument that is not an absolute path;
 *   ST_ERR_STRING_TOO_LARGE: over ST_AKC_ARGS_MAX arguments or
 *     ST_AKC_LINE_MAX bytes;
 *   ST_ERR_INVALID_ARGUMENT: NULL arguments; ST_ERR_ALLOC.
 * why (when not NULL) says what is wrong on every error; *out is untouched.
 */
int st_akc_expand(const char *cmd, const struct st_akc_tokens *t, struct st_akc_argv *out,
		  char *why, size_t whysz);

/*
 * Checks a command as the config reader does: st_akc_expand() with every
 * token set to a placeholder. Same returns; why filled on error.
 */
int st_akc_check(const char *cmd, char *why, size_t whysz);

/*
 * Writes the argv joined by blanks, for log lines, cut to outsz (always
 * NUL-terminated, control characters as '?').
 */
void st_akc_argv_show(const struct st_akc_argv *a, char *out, size_t outsz);

/* Frees what *a holds and zeroes it; a zeroed struct is fine. */
void st_akc_argv_free(struct st_akc_argv *a);

#endif
