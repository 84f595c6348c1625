/* AuthorizedKeysCommand command lines: see akcmd.h. No state; any thread. */
#include "control/akcmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"

static int fail(char *why, size_t whysz, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whysz, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Splits cmd into words, each NUL-terminated, back to back in words[]
 * (which holds strlen(cmd) + 1 bytes: a word is never longer than its
 * source). Returns the word count, or a negative error code.
 */
static int split(const char *cmd, char *words, char *why, size_t whysz)
{
	const char *s = cmd;
	char *w = words;
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == ST_AKC_ARGS_MAX)
			return fail(why, whysz, ST_ERR_STRING_TOO_LARGE,
				    "more than %d arguments", ST_AKC_ARGS_MAX);
		while (*s != '\0' && *s != ' ' && *s != '\t') {
			if (*s == '\\') {
				if (s[1] == '\0')
					return fail(why, whysz, ST_ERR_FORMAT, "trailing backslash");
				*w++ = s[1];
				s += 2;
				continue;
			}
			if (*s != '\'' && *s != '"') {
				*w++ = *s++;
				continue;
			}
			char q = *s++;
			while (*s != q) {
				if (*s == '\0')
					return fail(why, whysz, ST_ERR_FORMAT,
						    "unterminated %c quote", q);
				if (*s == '\\' && (s[1] == q || s[1] == '\\')) {
					*w++ = s[1];
					s += 2;
					continue;
				}
				*w++ = *s++;
			}
			s++; /* the closing quote */
		}
		*w++ = '\0';
		n++;
	}
	if (n == 0)
		return fail(why, whysz, ST_ERR_FORMAT, "empty command");
	return n;
}

/* Appends len bytes of v at out[*pos], bounded by ST_AKC_LINE_MAX. */
static int put(char *out, size_t *pos, const char *v, size_t len, char *why, size_t whysz)
{
	if (len > ST_AKC_LINE_MAX - *pos)
		return fail(why, whysz, ST_ERR_STRING_TOO_LARGE,
			    "expanded command longer than %u bytes", ST_AKC_LINE_MAX);
	memcpy(out + *pos, v, len);
	*pos += len;
	return ST_OK;
}

/* Expands one word (with its NUL) onto out at *pos. */
static int expand_word(const char *word, const struct st_akc_tokens *t, char *out, size_t *pos,
		       char *why, size_t whysz)
{
	int r;

	for (const char *s = word; *s != '\0'; s++) {
		if (*s != '%') {
			if ((r = put(out, pos, s, 1, why, whysz)) != ST_OK)
				return r;
			continue;
		}
		const char *v;
		switch (*++s) {
		case '%': v = "%"; break;
		case 'u': v = t->user; break;
		case 'U': v = t->uid; break;
		case 'h': v = t->home; break;
		case 'f': v = t->fp; break;
		case 'k': v = t->key_b64; break;
		case 't': v = t->key_type; break;
		case '\0':
			return fail(why, whysz, ST_ERR_FORMAT, "trailing '%%' in '%.60s'", word);
		default:
			return fail(why, whysz, ST_ERR_FORMAT, "unknown token %%%c", *s);
		}
		if (v == NULL)
			return fail(why, whysz, ST_ERR_FORMAT, "token %%%c has no value here", *s);
		if ((r = put(out, pos, v, strlen(v), why, whysz)) != ST_OK)
			return r;
	}
	return put(out, pos, "", 1, why, whysz);
}

int st_akc_expand(const char *cmd, const struct st_akc_tokens *t, struct st_akc_argv *out,
		  char *why, size_t whysz)
{
	char *words = NULL, *line = NULL, *block = NULL;
	size_t pos = 0;
	int n, r;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (cmd == NULL || t == NULL || out == NULL)
		return fail(why, whysz, ST_ERR_INVALID_ARGUMENT, "no command");
	if ((words = malloc(strlen(cmd) + 1)) == NULL || (line = malloc(ST_AKC_LINE_MAX)) == NULL) {
		r = fail(why, whysz, ST_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((n = split(cmd, words, why, whysz)) < 0) {
		r = n;
		goto out;
	}
	const char *w = words;
	for (int i = 0; i < n; i++, w += strlen(w) + 1)
		if ((r = expand_word(w, t, line, &pos, why, whysz)) != ST_OK)
			goto out;
	if (line[0] != '/') {
		r = fail(why, whysz, ST_ERR_FORMAT, "'%.100s' is not an absolute path", line);
		goto out;
	}
	size_t ptrs = ((size_t)n + 1) * sizeof(char *);
	if ((block = malloc(ptrs + pos)) == NULL) {
		r = fail(why, whysz, ST_ERR_ALLOC, "out of memory");
		goto out;
	}
	char **argv = (char **)(void *)block;
	char *dst = block + ptrs;
	memcpy(dst, line, pos);
	for (int i = 0; i < n; i++, dst += strlen(dst) + 1)
		argv[i] = dst;
	argv[n] = NULL;
	out->argv = argv;
	out->argc = (size_t)n;
	out->line = block + ptrs;
	out->line_len = pos;
	block = NULL;
	r = ST_OK;
out:
	free(words);
	free(line);
	free(block);
	return r;
}

int st_akc_check(const char *cmd, char *why, size_t whysz)
{
	const struct st_akc_tokens t = {"user", "1000", "/home/user", "SHA256:x", "AAAA",
					"ssh-ed25519"};
	struct st_akc_argv a;
	int r = st_akc_expand(cmd, &t, &a, why, whysz);

	if (r == ST_OK)
		st_akc_argv_free(&a);
	return r;
}

void st_akc_argv_show(const struct st_akc_argv *a, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return;
	for (size_t i = 0; a != NULL && i < a->argc; i++) {
		for (const char *s = a->argv[i]; *s != '\0' && o + 1 < outsz; s++)
			out[o++] = (*s >= 0x20 && *s <= 0x7e) ? *s : '?';
		if (i + 1 < a->argc && o + 1 < outsz)
			out[o++] = ' ';
	}
	out[o] = '\0';
}

void st_akc_argv_free(struct st_akc_argv *a)
{
	if (a == NULL)
		return;
	free(a->argv);
	memset(a, 0, sizeof(*a));
}
