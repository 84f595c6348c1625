#include "control/http_req.h"

#include <string.h>

#include "crypto/buf.h"
#include "crypto/err.h"

/* RFC 9110 tchar. */
static int is_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * The next line (without its CRLF or LF) through the buffer. ST_OK,
 * ST_ERR_AGAIN when no line end is there yet, ST_ERR_FORMAT for a CR that
 * is not before the LF.
 */
static int get_line(struct st_buf *b, const uint8_t **line, size_t *len)
{
	const uint8_t *p = st_buf_ptr(b);
	const uint8_t *nl = memchr(p, '\n', st_buf_avail(b));
	size_t n;
	int r;

	if (nl == NULL)
		return ST_ERR_AGAIN;
	n = (size_t)(nl - p);
	if ((r = st_buf_get_raw(b, line, n)) != ST_OK || (r = st_buf_skip(b, 1)) != ST_OK)
		return r;
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	if (memchr(*line, '\r', n) != NULL)
		return ST_ERR_FORMAT;
	*len = n;
	return ST_OK;
}

static int request_line(const uint8_t *l, size_t n, struct st_http_req *rq)
{
	size_t i = 0, m = 0, t = 0;

	while (i < n && is_tchar(l[i])) {
		if (m == ST_HTTP_METHOD_MAX)
			return ST_ERR_FORMAT;
		rq->method[m++] = (char)l[i++];
	}
	rq->method[m] = '\0';
	if (m == 0 || i == n || l[i++] != ' ' || i == n || l[i] != '/')
		return ST_ERR_FORMAT;
	/* The target: visible ASCII up to the next space; the path ends at '?'. */
	int in_query = 0;
	for (; i < n && l[i] != ' '; i++) {
		if (l[i] <= 0x20 || l[i] >= 0x7f || t == ST_HTTP_TARGET_MAX)
			return ST_ERR_FORMAT;
		if (l[i] == '?')
			in_query = 1;
		if (!in_query)
			rq->path[t++] = (char)l[i];
	}
	rq->path[t] = '\0';
	if (i == n || l[i++] != ' ')
		return ST_ERR_FORMAT;
	if (n - i != 8 || memcmp(l + i, "HTTP/1.", 7) != 0 || (l[i + 7] != '0' && l[i + 7] != '1'))
		return ST_ERR_FORMAT;
	rq->minor = (uint8_t)(l[i + 7] - '0');
	return ST_OK;
}

/* "Name: value": a non-empty token, a colon, then visible characters, spaces and tabs. */
static int header_line(const uint8_t *l, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ':')
		return ST_ERR_FORMAT;
	for (i++; i < n; i++)
		if ((l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
			return ST_ERR_FORMAT;
	return ST_OK;
}

int st_http_req_parse(const uint8_t *p, size_t n, struct st_http_req *out)
{
	struct st_http_req rq;
	struct st_buf b;
	const uint8_t *l;
	size_t len;
	int r;

	memset(&rq, 0, sizeof(rq));
	st_buf_from(&b, p, n > ST_HTTP_REQ_MAX ? ST_HTTP_REQ_MAX : n);
	if ((r = get_line(&b, &l, &len)) != ST_OK)
		goto out;
	if ((r = request_line(l, len, &rq)) != ST_OK)
		goto out;
	for (;;) {
		if ((r = get_line(&b, &l, &len)) != ST_OK)
			goto out;
		if (len == 0)
			break;
		if (rq.headers == ST_HTTP_HEADERS_MAX) {
			r = ST_ERR_NO_SPACE;
			goto out;
		}
		if ((r = header_line(l, len)) != ST_OK)
			goto out;
		rq.headers++;
	}
	rq.extra = st_buf_avail(&b) + (n > ST_HTTP_REQ_MAX ? n - ST_HTTP_REQ_MAX : 0);
	*out = rq;
	r = ST_OK;
out:
	/* Incomplete and already at the cap: it can only grow past it. */
	if (r == ST_ERR_AGAIN && n >= ST_HTTP_REQ_MAX)
		r = ST_ERR_NO_SPACE;
	return r;
}
