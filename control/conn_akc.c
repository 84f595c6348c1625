/*
 * The AuthorizedKeysCommand step of publickey authentication, on the
 * connection's side: start a job on the helper pool (control/akc_pool.h),
 * hold the connection's input while it runs, replay the request with the
 * job's output when it is back. All state here is the connection's and is
 * touched only by the thread that owns the connection (its control shard);
 * the job itself crosses to a helper thread and back through the pool and
 * the st_ctl_akc callback.
 */
#include "control/conn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/akc_pool.h"
#include "crypto/base64.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "dataplane/ssh/msg.h"

void st_ctl_conn_set_akc(struct st_ctl_conn *c, const struct st_ctl_akc *a)
{
	if (a != NULL)
		c->akc = *a;
	else
		memset(&c->akc, 0, sizeof(c->akc));
}

static void akc_log(void *ctx, const char *msg)
{
	ctl_logf(ctx, ST_LOG_INFO, "%s", msg);
}

/* A job for key: the request, the return address. NULL when out of memory. */
static struct st_akc_job *make_job(struct st_ctl_conn *c, const struct st_key *key,
				   const char *fp)
{
	struct st_akc_job *j = NULL;
	struct st_buf blob;
	char *b64 = NULL;

	if (st_buf_alloc(&blob, 512, ST_KEY_BLOB_MAX) != ST_OK)
		return NULL;
	if (st_key_to_blob(key, &blob) == ST_OK) {
		size_t n = st_base64_encoded_size(st_buf_avail(&blob), 0);
		if (n != SIZE_MAX && (b64 = malloc(n)) != NULL &&
		    st_base64_encode(st_buf_ptr(&blob), st_buf_avail(&blob), b64, n, 0) == ST_OK)
			j = st_akc_job_new(b64);
	}
	st_buf_free(&blob);
	free(b64);
	if (j == NULL)
		return NULL;
	snprintf(j->command, sizeof(j->command), "%s", c->cfg->akc_command);
	snprintf(j->runas, sizeof(j->runas), "%s", c->cfg->akc_user);
	snprintf(j->user, sizeof(j->user), "%s", c->user);
	snprintf(j->fp, sizeof(j->fp), "%s", fp);
	snprintf(j->key_type, sizeof(j->key_type), "%s", st_key_type_name(key));
	j->timeout_s = c->cfg->akc_timeout ? c->cfg->akc_timeout : 5;
	j->cache_s = c->cfg->akc_cache_time;
	j->done = c->akc.done;
	j->done_ctx = c->akc.ctx;
	j->h = c->h;
	j->id = ++c->akc_id;
	return j;
}

int ctl_akc_lookup(struct st_ctl_conn *c, const struct st_key *key, struct st_authkey_opts *opts)
{
	char fp[ST_KEY_FP_SIZE];
	int r;

	if (c->cfg->akc_command[0] == '\0')
		return ST_ERR_NOT_FOUND;
	if (st_key_fingerprint_sha256(key, fp, sizeof(fp)) != ST_OK)
		return ST_ERR_NOT_FOUND;
	if (c->akc_res != NULL) {
		struct st_akc_job *j = c->akc_res;
		c->akc_res = NULL;
		if (strcmp(j->fp, fp) == 0) { /* the replayed request: its answer */
			r = ST_ERR_NOT_FOUND;
			if (st_akc_job_ok(j))
				r = st_authkeys_lookup_buf("AuthorizedKeysCommand", j->out, j->out_len,
							   key, c->peer_ip, NULL, time(NULL), opts,
							   akc_log, c);
			st_akc_job_free(j);
			return r == ST_OK ? ST_OK : ST_ERR_NOT_FOUND;
		}
		st_akc_job_free(j); /* for another key: ask again */
	}
	if (c->akc.pool == NULL || c->akc.done == NULL) {
		ctl_logf(c, ST_LOG_ERR, "error: AuthorizedKeysCommand: no helper threads here, "
			 "key denied for %s", c->user);
		return ST_ERR_NOT_FOUND;
	}
	struct st_akc_job *j = make_job(c, key, fp);
	if (j == NULL) {
		ctl_logf(c, ST_LOG_ERR, "error: AuthorizedKeysCommand: out of memory, key denied "
			 "for %s", c->user);
		return ST_ERR_NOT_FOUND;
	}
	if ((r = st_akc_pool_submit(c->akc.pool, j)) != ST_OK) {
		ctl_logf(c, ST_LOG_ERR, "error: AuthorizedKeysCommand for %s not run: %s, key denied",
			 c->user, r == ST_ERR_NO_SPACE ? "helper queue full" : "shutting down");
		st_akc_job_free(j);
		return ST_ERR_NOT_FOUND;
	}
	c->akc_wait = 1;
	return ST_ERR_AGAIN;
}

static void log_failure(struct st_ctl_conn *c, const struct st_akc_job *j)
{
	const char *cmd = j->shown[0] != '\0' ? j->shown : c->cfg->akc_command;

	ctl_logf(c, ST_LOG_ERR, "error: AuthorizedKeysCommand %.200s failed for %s: %s%s",
		 cmd, c->user, j->why[0] != '\0' ? j->why : "failed", c->authed ? "" : " [preauth]");
}

void st_ctl_conn_akc_done(struct st_ctl_conn *c, struct st_akc_job *j)
{
	if (c == NULL || j == NULL) {
		st_akc_job_free(j);
		return;
	}
	if (!c->akc_wait || j->id != c->akc_id || c->closing) {
		st_akc_job_free(j);
		return;
	}
	if (!st_akc_job_ok(j))
		log_failure(c, j);
	c->akc_wait = 0;
	st_akc_job_free(c->akc_res);
	c->akc_res = j;
	/* The request is handled again: it was counted the first time. */
	if (c->requests > 0)
		c->requests--;
	ctl_replay_held(c); /* the request first: it takes akc_res */
	if (!c->akc_wait) {
		st_akc_job_free(c->akc_res);
		c->akc_res = NULL;
	}
}

void ctl_akc_free(struct st_ctl_conn *c)
{
	st_akc_job_free(c->akc_res);
	c->akc_res = NULL;
}
