/*
 * The server side of a key exchange on the helper pool, on the connection's
 * side: copy the exchange's inputs into a job (control/kex_pool.h), hold the
 * connection's input while a helper computes it, send the answer and
 * replay the held input when the job is back. All state here is the
 * connection's and is touched only by the thread that owns it (its control
 * shard); only the job crosses to a helper thread and back.
 */
#include "control/conn_internal.h"

#include <string.h>

#include "control/kex_pool.h"
#include "crypto/err.h"
#include "dataplane/ssh/msg.h"

void st_ctl_conn_set_kexp(struct st_ctl_conn *c, const struct st_ctl_kexp *k)
{
	if (k != NULL)
		c->kexp = *k;
	else
		memset(&c->kexp, 0, sizeof(c->kexp));
}

int st_ctl_conn_kex_waiting(const struct st_ctl_conn *c)
{
	return c->kex_wait;
}

int ctl_kex_submit(struct st_ctl_conn *c, const struct st_kex_transcript *t, const uint8_t *p,
		   size_t len)
{
	struct st_kex_job *j;

	if (c->kexp.submit == NULL)
		return ST_ERR_NOT_FOUND;
	/* Out of memory for the copies: computed here, which needs none. */
	if ((j = st_kex_job_new(&c->neg, t, p, len, c->session_id, c->sid_len)) == NULL)
		return ST_ERR_ALLOC;
	j->h = c->h;
	j->id = ++c->kex_id;
	if (c->kexp.submit(c->kexp.ctx, j) != ST_OK) {
		st_kex_job_free(j); /* refused (queue full, stopping): computed here */
		return ST_ERR_NO_SPACE;
	}
	c->kex_wait = 1;
	return ST_OK;
}

int st_ctl_conn_kex_done(struct st_ctl_conn *c, struct st_kex_job *j)
{
	int r;

	if (c == NULL || j == NULL || !c->kex_wait || j->id != c->kex_id || c->closing) {
		st_kex_job_free(j);
		return 0;
	}
	c->kex_wait = 0;
	if (j->rc == ST_ERR_STATE) /* the pool stopped before computing it */
		r = ctl_fail(c, ST_CTL_DISC_RESOURCES, SSH_DISCONNECT_BY_APPLICATION,
			     ST_CLOSE_SHUTDOWN, "server shutting down");
	else
		r = ctl_kex_finish(c, j->rc, &j->reply, &j->res);
	st_kex_job_free(j);
	if (r != ST_OK && !c->closing)
		(void)ctl_map_error(c, r, SSH_MSG_KEX_ECDH_INIT);
	ctl_replay_held(c);
	return 1;
}
