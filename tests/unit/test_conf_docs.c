/*
 * Every keyword the configuration parser knows is documented: an item of
 * sshterm.conf(5) (docs/man/sshterm.conf.5, ".It Cm Keyword") and a row of
 * the keyword table in docs/OPERATIONS.md ("`Keyword"). The files are read
 * relative to the working directory, the repository root under `make test`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/conffile.h"
#include "tests/unit/test.h"

#define MAN "docs/man/sshterm.conf.5"
#define OPS "docs/OPERATIONS.md"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* 1 when `text` holds `pre` + `kw` followed by a character that ends a word. */
static int documented(const char *text, const char *pre, const char *kw)
{
	char want[96];
	size_t n;

	snprintf(want, sizeof(want), "%s%s", pre, kw);
	n = strlen(want);
	for (const char *p = strstr(text, want); p != NULL; p = strstr(p + 1, want))
		if (strchr(" \n`,", p[n]) != NULL)
			return 1;
	return 0;
}

static void check_file(const char *path, const char *pre, const char *pre2)
{
	char *text = slurp(path);
	unsigned n = 0;

	if (text == NULL) {
		st_test_fail(__FILE__, __LINE__, "cannot read %s (run from the repository root)", path);
		return;
	}
	for (unsigned i = 0; st_daemon_conf_keyword(i) != NULL; i++, n++) {
		const char *k = st_daemon_conf_keyword(i);
		if (!documented(text, pre, k) && (pre2 == NULL || !documented(text, pre2, k)))
			st_test_fail(__FILE__, __LINE__, "%s does not document %s", path, k);
	}
	CHECK(n >= 30);
	free(text);
}

static void test_man_page(void)
{
	/* ".It Cm A , Cm B" lists several keywords under one description. */
	check_file(MAN, "\n.It Cm ", " , Cm ");
}

static void test_operations(void)
{
	check_file(OPS, "| `", ", `");
}

int main(void)
{
	RUN(test_man_page);
	RUN(test_operations);
	return st_test_done("test_conf_docs");
}
