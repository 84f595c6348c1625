/* Fuzzes the private key file parser (openssh-key-v1 and PEM). */
#include <stdint.h>

#include "crypto/key.h"
#include "crypto/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_key *k = NULL;
	if (st_keyfile_parse_private(data, size, &k) == 0)
		st_key_free(k);
	return 0;
}
