#include "control/ctl_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void st_bprintf(struct st_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		st_buf_put_bytes(b, tmp, (size_t)n);
		return;
	}
	/* Longer than the stack buffer: format again into the heap. */
	char *big = malloc((size_t)n + 1);
	if (big == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	st_buf_put_bytes(b, big, (size_t)n);
	free(big);
}

void st_json_escape(struct st_buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			st_bprintf(b, "\\%c", c);
		else if (c < 0x20)
			st_bprintf(b, "\\u%04x", c);
		else
			st_buf_put_u8(b, c);
	}
}

void st_ctl_session_header(struct st_buf *out)
{
	st_bprintf(out, "%-6s %-12s %-22s %-6s %-8s %-4s %-14s %-14s %s\n", "ID", "USER", "PEER",
		   "WORKER", "AGE_S", "CHAN", "BYTES_IN", "BYTES_OUT", "ALGORITHMS");
}

void st_ctl_session_row(struct st_buf *out, int json, uint64_t id, const char *user,
			const char *peer, uint16_t peer_port, unsigned worker, long age_s,
			const char *algs, const struct st_wsess_stats *ws)
{
	unsigned long long chans = ws->channels_bound - ws->channels_closed;

	if (!json) {
		st_bprintf(out, "%-6llu %-12s %-22s %-6u %-8ld %-4llu %-14llu %-14llu %s\n",
			   (unsigned long long)id, user ? user : "(auth)", peer, worker, age_s, chans,
			   (unsigned long long)ws->bytes_in, (unsigned long long)ws->bytes_out, algs);
		return;
	}
	st_bprintf(out, "{\"id\":%llu,\"user\":\"", (unsigned long long)id);
	st_json_escape(out, user ? user : "");
	st_bprintf(out,
		   "\",\"peer\":\"%s\",\"port\":%u,\"worker\":%u,\"age_s\":%ld,\"algorithms\":\"%s\","
		   "\"channels\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"packets_in\":%llu,"
		   "\"packets_out\":%llu,\"key_exchanges\":%llu,\"chan_window\":%llu,"
		   "\"chan_window_peer\":%llu,\"chan_window_grown\":%llu,\"tcp_rcv_wnd\":%u,"
		   "\"tcp_snd_wnd\":%u,\"tcp_snd_buf\":%u,\"rtt_ms\":%u}",
		   peer, peer_port, worker, age_s, algs, chans, (unsigned long long)ws->bytes_in,
		   (unsigned long long)ws->bytes_out, (unsigned long long)ws->packets_in,
		   (unsigned long long)ws->packets_out, (unsigned long long)ws->kex_done,
		   (unsigned long long)ws->chan_window, (unsigned long long)ws->chan_window_peer,
		   (unsigned long long)ws->chan_window_grown, ws->tcp_rcv_wnd, ws->tcp_snd_wnd,
		   ws->tcp_snd_buf, ws->rtt_ms);
}
