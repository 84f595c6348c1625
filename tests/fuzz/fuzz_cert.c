/*
 * Fuzzes OpenSSH certificate blobs and -cert.pub lines (crypto/cert.c), and
 * the queries a parsed certificate answers (principals, option lists, time).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"

static void exercise(const struct st_cert *c)
{
	char p[ST_CERT_NAME_MAX + 1];
	const uint8_t *v;
	size_t vl, pos = 0, nl, dl;
	const char *nm;
	const uint8_t *d;

	for (unsigned i = 0; i <= c->n_principals; i++)
		(void)st_cert_principal(c, i, p, sizeof(p));
	(void)st_cert_has_principal(c, "root");
	(void)st_cert_option_string(c->critical, c->critical_len, "force-command", &v, &vl);
	(void)st_cert_option_string(c->critical, c->critical_len, "source-address", &v, &vl);
	(void)st_cert_has_option(c->extensions, c->extensions_len, "permit-pty");
	while (st_cert_option_next(c->extensions, c->extensions_len, &pos, &nm, &nl, &d, &dl) == 0)
		;
	(void)st_cert_check_time(c, 1700000000u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_cert *c = NULL;

	if (st_cert_parse(data, size, &c) == 0) {
		exercise(c);
		st_cert_free(c);
	}
	c = NULL;
	if (st_cert_parse_line((const char *)data, size, &c) == 0) {
		exercise(c);
		st_cert_free(c);
	}
	return 0;
}
