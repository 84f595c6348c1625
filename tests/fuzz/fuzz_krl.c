/*
 * Fuzzes RevokedKeys files (crypto/krl.c): binary KRLs and public key lists,
 * and the revocation queries on whatever parses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/key.h"
#include "crypto/krl.h"

static struct st_key *probe;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_krl *k = NULL;
	uint8_t *copy;

	if (probe == NULL && st_key_generate(ST_KEY_ED25519, 0, &probe) != 0)
		return 0;
	if (st_krl_parse(data, size, &k, NULL) == 0) {
		(void)st_krl_key_revoked(k, probe);
		st_krl_free(k);
	}
	/* The same bytes behind a KRL header, so the section walker sees them at once. */
	if ((copy = malloc(size + 44)) == NULL)
		return 0;
	static const uint8_t head[44] = { 'S', 'S', 'H', 'K', 'R', 'L', '\n', 0, 0, 0, 0, 1 };
	memcpy(copy, head, sizeof(head));
	memcpy(copy + sizeof(head), data, size);
	k = NULL;
	if (st_krl_parse(copy, size + sizeof(head), &k, NULL) == 0) {
		(void)st_krl_key_revoked(k, probe);
		st_krl_free(k);
	}
	free(copy);
	return 0;
}
