#include "dataplane/ssh/planes.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/secmem.h"

const char *st_close_reason_str(enum st_close_reason r)
{
	switch (r) {
#define ST_CLOSE_CASE(name, text) \
	case name:                \
		return text;
		ST_CLOSE_REASONS(ST_CLOSE_CASE)
#undef ST_CLOSE_CASE
	default:
		return "unknown";
	}
}

struct st_plane_msg *st_plane_msg_new(enum st_plane_type type, struct st_conn_handle conn,
				      const void *data, uint32_t len)
{
	struct st_plane_msg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->type = type;
	m->conn = conn;
	if (len > 0) {
		if ((m->data = malloc(len)) == NULL) {
			free(m);
			return NULL;
		}
		memcpy(m->data, data, len);
		m->len = len;
	}
	return m;
}

void st_plane_msg_free(struct st_plane_msg *m)
{
	if (m == NULL)
		return;
	if (m->data != NULL) {
		st_wipe(m->data, m->len);
		free(m->data);
	}
	st_wipe(m, sizeof(*m));
	free(m);
}
