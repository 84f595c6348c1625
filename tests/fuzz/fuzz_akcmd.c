/*
 * Fuzzes AuthorizedKeysCommand's command line splitting and token expansion
 * (control/akcmd.h): the configured command comes from the operator, but
 * the token values (%u, and the key's type and base64 through %t, %k) come
 * from the client. Input: command text, a NUL, then the value used for
 * every token. On success the result must hold its invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/akcmd.h"
#include "crypto/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul != NULL ? (size_t)(nul - data) : size;
	char *cmd = malloc(clen + 1), *val = NULL;
	char why[ST_AKC_WHY_SIZE], shown[64];
	struct st_akc_argv a;

	if (cmd == NULL)
		return 0;
	memcpy(cmd, data, clen);
	cmd[clen] = '\0';
	size_t vlen = nul != NULL ? size - clen - 1 : 0;
	if ((val = malloc(vlen + 1)) == NULL) {
		free(cmd);
		return 0;
	}
	if (vlen)
		memcpy(val, nul + 1, vlen);
	val[vlen] = '\0';
	struct st_akc_tokens t = {val, val, val, val, val, val};
	if (st_akc_expand(cmd, &t, &a, why, sizeof(why)) == ST_OK) {
		size_t total = 0;
		if (a.argc == 0 || a.argc > ST_AKC_ARGS_MAX || a.argv[a.argc] != NULL ||
		    a.argv[0][0] != '/' || a.line != a.argv[0] || a.line_len > ST_AKC_LINE_MAX)
			abort();
		for (size_t i = 0; i < a.argc; i++)
			total += strlen(a.argv[i]) + 1;
		if (total != a.line_len)
			abort();
		st_akc_argv_show(&a, shown, sizeof(shown));
		st_akc_argv_free(&a);
	} else if (memchr(why, '\0', sizeof(why)) == NULL) {
		abort();
	}
	(void)st_akc_check(cmd, why, sizeof(why));
	free(cmd);
	free(val);
	return 0;
}
