/*
 * Text and JSON output of the operator commands (control socket and logs):
 * printf into an st_buf, and the one row format of a session that both the
 * shards (which own the sessions) and the admin thread (which adds the
 * header) use.
 */
#ifndef ST_CONTROL_CTL_JSON_H
#define ST_CONTROL_CTL_JSON_H

#include <stdint.h>

#include "crypto/buf.h"
#include "dataplane/ssh/wsess.h"

/* printf into an st_buf; stops at the buffer's cap (st_buf_alloc's max). */
void st_bprintf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s with JSON string escaping (quotes, backslash, control bytes), without quotes. */
void st_json_escape(struct st_buf *b, const char *s);

/* The header line of the text table of sessions. */
void st_ctl_session_header(struct st_buf *out);

/* One session: a text line, or a JSON object (no separator). user may be NULL. */
void st_ctl_session_row(struct st_buf *out, int json, uint64_t id, const char *user,
			const char *peer, uint16_t peer_port, unsigned worker, long age_s,
			const char *algs, const struct st_wsess_stats *ws);

#endif
