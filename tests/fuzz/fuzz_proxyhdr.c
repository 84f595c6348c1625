/*
 * Fuzzes the PROXY protocol header parser (control/proxyhdr.c): framing on
 * every prefix must agree with parsing, a parsed v2 header's TLV walk stays
 * inside the input, and a rebuilt v2 header parses back to the same addresses.
 */
#include <stdlib.h>
#include <string.h>

#include "control/proxyhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_proxyhdr h, h2;
	size_t total = 0, off = 0, n = 0;
	uint8_t type, out[ST_PROXYHDR_MAX];
	const uint8_t *val;
	uint16_t vl;

	int f = st_proxyhdr_frame(data, size, &total);
	if (f == ST_PROXYHDR_OK) {
		if (total > size || total > ST_PROXYHDR_MAX)
			abort();
		/* the framed bytes must give the same verdict as parsing them alone */
		if (st_proxyhdr_parse(data, total, &h) == ST_PROXYHDR_OK) {
			if (h.len != total)
				abort();
			unsigned k = 0;
			while (st_proxyhdr_tlv_next(data, &h, &off, &type, &val, &vl)) {
				if (val < data || val + vl > data + total || ++k > ST_PROXYHDR_MAX)
					abort();
			}
			if (st_proxyhdr_v2_build(&h, NULL, 0, out, sizeof(out), &n) != ST_PROXYHDR_OK ||
			    st_proxyhdr_parse(out, n, &h2) != ST_PROXYHDR_OK || h2.family != h.family ||
			    memcmp(h2.src, h.src, sizeof(h.src)) != 0 || h2.src_port != h.src_port ||
			    h2.dst_port != h.dst_port)
				abort();
		}
	} else if (f == ST_PROXYHDR_E_TRUNCATED) {
		if (st_proxyhdr_parse(data, size, &h) != ST_PROXYHDR_E_TRUNCATED)
			abort();
	} else if (st_proxyhdr_parse(data, size, &h) == ST_PROXYHDR_OK) {
		abort(); /* framing said never, parsing said yes */
	}
	return 0;
}
