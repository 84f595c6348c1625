/* Fuzzes public key blobs, authorized_keys-style lines and signature blobs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_key *k = NULL;
	char comment[256];

	if (st_key_from_blob(data, size, &k) == 0) {
		/* Any parsed key must verify garbage signatures without crashing. */
		for (int alg = 0; alg < 4; alg++)
			st_sig_verify(k, (enum st_sig_alg)alg, data, size, data, size);
		st_key_free(k);
	}
	char *line = malloc(size + 1);
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (st_key_parse_public_line(line, &k, comment, sizeof(comment)) == 0)
		st_key_free(k);
	free(line);
	return 0;
}
