/*
 * Fuzzes the parsers behind MetricsListen and `sshtermctl top`: the HTTP
 * request head (peer input on the metrics socket), and top's readers of
 * `stats --prometheus` and `sessions --json`. The first byte picks one.
 */
#include <stdint.h>
#include <string.h>

#include "control/ctl_top.h"
#include "control/http_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct st_top_sess rows[16];
	struct st_http_req rq;
	struct st_top_sample s;
	size_t n;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		st_http_req_parse(data + 1, size - 1, &rq);
		break;
	case 1:
		memset(&s, 0, sizeof(s));
		st_top_parse_prom((const char *)data + 1, size - 1, &s);
		break;
	default:
		st_top_parse_sessions((const char *)data + 1, size - 1, rows, 16, &n);
		break;
	}
	return 0;
}
