/*
 * The request head of a minimal HTTP/1.x server (MetricsListen,
 * control/metrics_http.h): request line and header lines, nothing else.
 *
 * Accepted: "METHOD SP /TARGET SP HTTP/1.0|HTTP/1.1" then header lines
 * "Name: value", each ended by CRLF (or a bare LF), then an empty line.
 * Bytes after the empty line (a body) are counted in `extra`, never read:
 * the server refuses a GET or HEAD that has any (400) and answers every
 * other method 405 whatever follows, then closes. Caps: ST_HTTP_REQ_MAX bytes in all,
 * ST_HTTP_TARGET_MAX for the target, ST_HTTP_HEADERS_MAX header lines.
 * Header values are not interpreted.
 */
#ifndef ST_CONTROL_HTTP_REQ_H
#define ST_CONTROL_HTTP_REQ_H

#include <stddef.h>
#include <stdint.h>

#define ST_HTTP_REQ_MAX 8192
#define ST_HTTP_METHOD_MAX 16
#define ST_HTTP_TARGET_MAX 1024
#define ST_HTTP_HEADERS_MAX 64

struct st_http_req {
	char method[ST_HTTP_METHOD_MAX + 1]; /* "GET" (token characters, as sent) */
	char path[ST_HTTP_TARGET_MAX + 1];   /* the target up to '?' ("/metrics") */
	uint8_t minor;                       /* HTTP/1.<minor>: 0 or 1 */
	unsigned headers;                    /* header lines seen */
	size_t extra;                        /* bytes received after the head */
};

/*
 * Parses the `n` bytes received so far. Returns ST_OK with *out filled when
 * they hold a whole head (and nothing after it); ST_ERR_AGAIN when more is
 * needed; ST_ERR_NO_SPACE when the head is, or would become, larger than
 * ST_HTTP_REQ_MAX or has too many header lines; ST_ERR_FORMAT for a
 * malformed line. *out is set only on ST_OK.
 */
int st_http_req_parse(const uint8_t *p, size_t n, struct st_http_req *out);

#endif
