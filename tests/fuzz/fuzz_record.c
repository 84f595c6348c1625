/*
 * Fuzzes the record layer's receive path: arbitrary bytes, fed in arbitrary
 * fragments, into a record that is unkeyed or keyed with each suite. The first
 * input byte picks the suite and fragment size. Must never crash, hang or
 * read out of bounds; errors are expected.
 */
#include <stdint.h>
#include <string.h>

#include "crypto/backend.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"

static const char *const suites[][2] = {
	{NULL, NULL},
	{"aes128-gcm@openssh.com", NULL},
	{"chacha20-poly1305@openssh.com", NULL},
	{"aes128-ctr", "hmac-sha2-256"},
	{"aes256-ctr", "hmac-sha2-512-etm@openssh.com"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_record r;
	struct st_record_msg m[ST_RECORD_BURST];
	unsigned n;

	if (size < 1)
		return 0;
	unsigned pick = data[0] % (sizeof(suites) / sizeof(suites[0]));
	size_t frag = 1 + (data[0] >> 3) * 97;
	data++, size--;
	if (st_record_init(&r, &st_crypto_backend_evp, 0) != 0)
		return 0;
	if (suites[pick][0] != NULL) {
		struct st_dir_keys k;
		memset(&k, 0x42, sizeof(k));
		k.cipher = st_cipher_by_name(suites[pick][0], strlen(suites[pick][0]));
		k.mac = suites[pick][1] ? st_mac_by_name(suites[pick][1], strlen(suites[pick][1]))
					: NULL;
		/* Keys take effect at the peer's NEWKEYS, which the input may contain. */
		st_record_set_next_keys(&r, NULL, &k);
	}
	while (size > 0) {
		size_t used, chunk = size < frag ? size : frag;
		st_record_feed(&r, data, chunk, &used);
		data += used;
		size -= used;
		if (st_record_read(&r, m, ST_RECORD_BURST, &n) != 0)
			break;
		for (unsigned i = 0; i < n; i++)
			if (m[i].len == 0 || m[i].payload == NULL)
				__builtin_trap();
		if (used == 0 && n == 0)
			break;
	}
	st_record_free(&r);
	return 0;
}
