/* Fuzzes every reader of the wire buffer in the order the first byte says. */
#include <stdint.h>

#include "crypto/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_buf b;
	char s[64];

	if (size < 1)
		return 0;
	uint8_t prog = data[0];
	st_buf_from(&b, data + 1, size - 1);
	for (int i = 0; i < 16 && st_buf_avail(&b) > 0; i++) {
		const uint8_t *p;
		const char *c;
		size_t n;
		uint32_t u32;
		uint64_t u64;
		struct st_buf sub;
		switch ((uint8_t)(prog * (i + 1) + i) & 7) {
		case 0: st_buf_get_u32(&b, &u32); break;
		case 1: st_buf_get_u64(&b, &u64); break;
		case 2: st_buf_get_string(&b, &p, &n); break;
		case 3: st_buf_get_cstring(&b, s, sizeof(s)); break;
		case 4: st_buf_get_mpint(&b, &p, &n); break;
		case 5: st_buf_get_namelist(&b, &c, &n); break;
		case 6: if (st_buf_get_sub(&b, &sub) == 0) st_buf_get_namelist(&sub, &c, &n); break;
		default: st_buf_skip(&b, 1); break;
		}
	}
	st_buf_end(&b);
	return 0;
}
