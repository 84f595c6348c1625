/*
 * The key-exchange helper pool (control/kex_pool.h) and a control
 * connection that hands its exchanges to it (control/conn_kex.c), against
 * the in-memory client with real helper threads: every kex x host key
 * handshake computed on a helper (the client checks the signature over its
 * own H and derives the same keys), a rekey in the middle of channel data,
 * nothing of the session handled while its job is out and the held
 * messages answered in order afterwards, a refused job computed in place,
 * a failed job (bad public value) and a stopped one ending the session, a
 * result for a closed or freed connection dropped with its copies intact,
 * the queue cap, and a stop with jobs waiting.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/config.h"
#include "control/conn.h"
#include "control/kex_pool.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct sc_fixture fx;
static struct st_kex_pool pool; /* 2 threads, for the connection tests */

/* ---- finished jobs, back from a helper thread ---- */

struct backq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct st_kex_job *j[64];
	unsigned n;
	int gate_closed; /* gated_done waits while set */
	unsigned entered; /* gated_done calls so far */
};

static struct backq bq = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};

static void on_done(void *ctx, struct st_kex_job *j)
{
	struct backq *q = ctx;
	pthread_mutex_lock(&q->mu);
	if (q->n < N(q->j))
		q->j[q->n++] = j;
	else
		st_kex_job_free(j);
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* A done callback that blocks its helper thread while the gate is closed. */
static void gated_done(void *ctx, struct st_kex_job *j)
{
	struct backq *q = ctx;
	pthread_mutex_lock(&q->mu);
	q->entered++;
	pthread_cond_broadcast(&q->cv);
	while (q->gate_closed)
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
	on_done(ctx, j);
}

static void gate(struct backq *q, int closed)
{
	pthread_mutex_lock(&q->mu);
	q->gate_closed = closed;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Waits (5 s at most) until `entered` reaches n. */
static int wait_entered(struct backq *q, unsigned n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&q->mu);
	while (q->entered < n &&
	       pthread_cond_timedwait(&q->cv, &q->mu, &until) == 0)
		;
	int ok = q->entered >= n;
	pthread_mutex_unlock(&q->mu);
	return ok;
}

/* The oldest finished job (5 s at most), or NULL. */
static struct st_kex_job *next_job(struct backq *q)
{
	struct timespec until;
	struct st_kex_job *j = NULL;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&q->mu);
	while (q->n == 0 && pthread_cond_timedwait(&q->cv, &q->mu, &until) == 0)
		;
	if (q->n > 0) {
		j = q->j[0];
		memmove(q->j, q->j + 1, --q->n * sizeof(q->j[0]));
	}
	pthread_mutex_unlock(&q->mu);
	return j;
}

/* ---- the connection's side ---- */

static unsigned submitted, refused;

/* What a shard does, minus the configuration reference (the fixture outlives everything). */
static int submit_pool(void *ctx, struct st_kex_job *j)
{
	(void)ctx;
	j->done = on_done;
	j->done_ctx = &bq;
	int r = st_kex_pool_submit(&pool, j);
	if (r == ST_OK)
		submitted++;
	return r;
}

static int submit_refuse(void *ctx, struct st_kex_job *j)
{
	(void)ctx, (void)j;
	refused++;
	return ST_ERR_NO_SPACE;
}

static const struct st_ctl_kexp to_pool = {submit_pool, NULL};
static const struct st_ctl_kexp to_nowhere = {submit_refuse, NULL};

/* The bed's idle hook: hand the finished job to the waiting connection, unless held. */
static int hold_results, delivered, dropped;

static int deliver_idle(struct sc_bed *b)
{
	if (hold_results || !st_ctl_conn_kex_waiting(b->ctl))
		return 0;
	struct st_kex_job *j = next_job(&bq);
	if (j == NULL)
		return 0;
	if (st_ctl_conn_kex_done(b->ctl, j))
		delivered++;
	else
		dropped++;
	return 1;
}

static void bed_pool(struct sc_bed *b, const struct sc_opts *o, const struct st_ctl_kexp *k)
{
	CHECK_OK(sc_bed_init(b, &fx.cfg, o));
	st_ctl_conn_set_kexp(b->ctl, k);
	b->idle = deliver_idle;
}

static void test_handshakes_on_pool(void)
{
	unsigned n = 0, d0 = delivered;
	uint64_t c0[ST_KEXP_COUNTER_COUNT], c1[ST_KEXP_COUNTER_COUNT];
	st_kex_pool_counters(&pool, c0);
	for (size_t k = 0; k < SC_N_KEX; k++)
		for (size_t h = 0; h < SC_N_HOSTKEY; h++) {
			struct sc_bed b;
			struct sc_opts o = {.kex = sc_all_kex[k], .hostkey_alg = sc_all_hostkey[h],
					    .strict = 1, .ext_info = 1};
			bed_pool(&b, &o, &to_pool);
			int r = sc_handshake(&b);
			if (r != ST_OK)
				st_test_fail(__FILE__, __LINE__, "%s %s: %s", sc_all_kex[k],
					     sc_all_hostkey[h], st_err_name(r));
			CHECK_INT(b.nkeys, 1);
			CHECK(strcmp(b.neg_hostkey_alg, sc_all_hostkey[h]) == 0);
			CHECK_INT(b.stats.v[ST_CTL_KEX_DONE], 1);
			CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
			CHECK(b.ext_info_seen);
			CHECK(!b.closed && !b.fatal);
			sc_bed_free(&b);
			n++;
		}
	st_kex_pool_counters(&pool, c1);
	CHECK_INT(delivered - d0, n);
	CHECK_INT(c1[ST_KEXP_C_SUBMITTED] - c0[ST_KEXP_C_SUBMITTED], n);
	CHECK_INT(c1[ST_KEXP_C_COMPLETED] - c0[ST_KEXP_C_COMPLETED], n);
	CHECK_INT(c1[ST_KEXP_C_FAILED] - c0[ST_KEXP_C_FAILED], 0);
	CHECK(c1[ST_KEXP_C_BUSY_NS] > c0[ST_KEXP_C_BUSY_NS]);
}

/* Logs in (the initial exchange on the pool), rekeys three times in the middle of echo data. */
static void test_rekey_on_pool(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1, .kex = "diffie-hellman-group14-sha256"};
	uint32_t sid = 99, seq = 0;
	unsigned s0 = submitted;

	bed_pool(&b, &o, &to_pool);
	CHECK_OK(sc_login(&b, "alice", fx.user_ed, "ssh-ed25519"));
	CHECK_INT(sc_open_session(&b, 5, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sc_chan_request(&b, sid, "exec", "echo", 1), SSH_MSG_CHANNEL_SUCCESS);
	for (int round = 0; round < 3; round++) {
		uint8_t buf[64];
		struct st_buf m;
		for (int i = 0; i < 2; i++) {
			st_buf_wrap(&m, buf, sizeof(buf));
			st_buf_put_u8(&m, SSH_MSG_CHANNEL_DATA);
			st_buf_put_u32(&m, sid);
			st_buf_put_u32(&m, 4);
			st_buf_put_u32(&m, seq++);
			st_record_send(&b.crec, st_buf_ptr(&m), st_buf_avail(&m), &b.c2s);
		}
		CHECK_OK(sc_kex(&b, 0));
		for (uint32_t i = seq - 2; i < seq; i++) {
			const uint8_t *p;
			size_t n = sc_recv(&b, &p);
			CHECK(n == 13 && p[0] == SSH_MSG_CHANNEL_DATA && st_peek_u32(p + 9) == i);
		}
	}
	CHECK_INT(submitted - s0, 4);
	CHECK_INT(b.nkeys, 4);
	CHECK(memcmp(&b.cli_tx, &b.srv_rx, sizeof(b.cli_tx)) == 0);
	CHECK_INT(b.stats.v[ST_CTL_KEX_DONE], 4);
	CHECK(!b.closed && !b.fatal);
	sc_bed_free(&b);
}

/*
 * Order: while the job is out, two messages arrive (unassigned transport
 * numbers 8 and 9, which are answered with UNIMPLEMENTED); neither is
 * handled until the reply went out, then both, in order.
 */
static int injected, unimpl_while_out;

static int inject_then_deliver(struct sc_bed *b)
{
	if (!st_ctl_conn_kex_waiting(b->ctl))
		return 0;
	if (!injected) {
		uint8_t m8 = 8, m9 = 9;
		injected = 1;
		st_record_send(&b->crec, &m8, 1, &b->c2s);
		st_record_send(&b->crec, &m9, 1, &b->c2s);
		return 1; /* the pump moves them to the connection, which holds them */
	}
	unimpl_while_out = (int)b->stats.v[ST_CTL_UNIMPLEMENTED_SENT];
	return deliver_idle(b);
}

static void test_order_while_out(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 0}; /* strict kex would end it at the first message 8 */
	const uint8_t *p;

	bed_pool(&b, &o, &to_pool);
	b.idle = inject_then_deliver;
	injected = 0;
	unimpl_while_out = -1;
	CHECK_OK(sc_handshake(&b));
	CHECK(injected);
	CHECK_INT(unimpl_while_out, 0);
	CHECK_INT(b.stats.v[ST_CTL_UNIMPLEMENTED_SENT], 2);
	/* KEXINIT was client packet 0, KEX_ECDH_INIT 1, then 8 and 9 */
	CHECK(sc_recv(&b, &p) == 5 && p[0] == SSH_MSG_UNIMPLEMENTED && st_peek_u32(p + 1) == 2);
	CHECK(sc_recv(&b, &p) == 5 && p[0] == SSH_MSG_UNIMPLEMENTED && st_peek_u32(p + 1) == 3);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	CHECK(!b.closed && !b.fatal);
	sc_bed_free(&b);
}

/* A refused job (queue full, pool stopping): the connection computes it itself. */
static void test_refused_computed_here(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1, .kex = "ecdh-sha2-nistp256"};
	unsigned r0 = refused;

	bed_pool(&b, &o, &to_nowhere);
	CHECK_OK(sc_handshake(&b));
	CHECK_INT(refused - r0, 1);
	CHECK(!st_ctl_conn_kex_waiting(b.ctl));
	CHECK_INT(b.nkeys, 1);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	sc_bed_free(&b);
}

/* A job that failed on the helper (an X25519 value of 31 bytes) ends the session as inline. */
static void test_failed_job(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1};
	uint8_t msg[64];
	uint64_t c0[ST_KEXP_COUNTER_COUNT], c1[ST_KEXP_COUNTER_COUNT];

	st_kex_pool_counters(&pool, c0);
	bed_pool(&b, &o, &to_pool);
	CHECK_OK(cli_kexinit_send(&b));
	msg[0] = SSH_MSG_KEX_ECDH_INIT;
	st_poke_u32(msg + 1, 31);
	memset(msg + 5, 9, 31);
	CHECK_OK(sc_send(&b, msg, 36));
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
	CHECK_INT(b.stats.v[ST_CTL_DISC_KEX_FAILED], 1);
	st_kex_pool_counters(&pool, c1);
	CHECK_INT(c1[ST_KEXP_C_FAILED] - c0[ST_KEXP_C_FAILED], 1);
	sc_bed_free(&b);
}

/* Starts a handshake whose job stays out (results held); returns with the connection waiting. */
static void start_held(struct sc_bed *b, const char *kex)
{
	struct sc_opts o = {.strict = 1, .kex = kex};
	bed_pool(b, &o, &to_pool);
	hold_results = 1;
	CHECK(sc_handshake(b) != ST_OK); /* no reply while the job is out */
	hold_results = 0;
	CHECK(st_ctl_conn_kex_waiting(b->ctl));
	CHECK_INT(b->nkeys, 0);
}

/* A stopped pool's job: the session ends, "server shutting down". */
static void test_stopped_job(void)
{
	struct sc_bed b;
	start_held(&b, "curve25519-sha256");
	b.idle = NULL;
	struct st_kex_job *j = next_job(&bq);
	CHECK(j != NULL);
	if (j != NULL) {
		j->rc = ST_ERR_STATE; /* as st_kex_pool_stop answers a waiting job */
		CHECK_INT(st_ctl_conn_kex_done(b.ctl, j), 1);
	}
	sc_pump(&b);
	CHECK(b.closed);
	CHECK_INT(b.close_reason, ST_CLOSE_SHUTDOWN);
	CHECK_INT(b.nkeys, 0);
	sc_bed_free(&b);
}

/* The session ends while its job is out: the result is dropped, nothing sent, no keys. */
static void test_closed_while_out(void)
{
	struct sc_bed b;
	start_held(&b, "diffie-hellman-group16-sha512");
	b.idle = NULL; /* the test hands the result over itself */
	st_ctl_conn_tick(b.ctl, 1000);
	st_ctl_conn_tick(b.ctl, 1000 + 121); /* LoginGraceTime 120 s */
	sc_pump(&b);
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_LOGIN_GRACE], 1);
	struct st_kex_job *j = next_job(&bq);
	CHECK(j != NULL);
	CHECK_INT(st_ctl_conn_kex_done(b.ctl, j), 0); /* consumed, keys wiped */
	sc_pump(&b);
	CHECK_INT(b.nkeys, 0);
	sc_bed_free(&b);
	CHECK_INT(st_ctl_conn_kex_done(NULL, NULL), 0);
}

/*
 * The connection is freed while its job is still waiting for a helper:
 * the job works on its own copies (ASan would see a use after free) and is
 * dropped by whoever takes it back.
 */
static void test_freed_while_queued(void)
{
	struct sc_bed b;
	gate(&bq, 1);
	/* Occupy both helpers with jobs whose done blocks, so the real one waits in the queue. */
	struct st_kex_neg neg;
	memset(&neg, 0, sizeof(neg));
	struct st_kex_transcript t = {"SSH-2.0-a", "SSH-2.0-b", (const uint8_t *)"", (const uint8_t *)"", 0, 0};
	static const uint8_t not_init = SSH_MSG_IGNORE;
	unsigned e0 = bq.entered;
	for (int i = 0; i < 2; i++) {
		struct st_kex_job *j = st_kex_job_new(&neg, &t, &not_init, 1, NULL, 0);
		CHECK(j != NULL);
		j->done = gated_done;
		j->done_ctx = &bq;
		CHECK_OK(st_kex_pool_submit(&pool, j));
	}
	CHECK(wait_entered(&bq, e0 + 2));
	struct sc_opts o = {.strict = 1, .kex = "mlkem768x25519-sha256"};
	bed_pool(&b, &o, &to_pool);
	b.idle = NULL;
	CHECK(sc_handshake(&b) != ST_OK);
	CHECK(st_ctl_conn_kex_waiting(b.ctl));
	sc_bed_free(&b); /* the job is queued behind the blockers */
	gate(&bq, 0);
	unsigned done = 0;
	for (int i = 0; i < 3; i++) {
		struct st_kex_job *j = next_job(&bq);
		CHECK(j != NULL);
		if (j == NULL)
			break;
		done += j->rc == ST_OK; /* the real exchange was computed from the copies */
		st_kex_job_free(j);
	}
	CHECK_INT(done, 1);
}

/* ---- the pool alone ---- */

static struct st_kex_job *dummy_job(struct backq *q)
{
	struct st_kex_neg neg;
	struct st_kex_transcript t = {"SSH-2.0-a", "SSH-2.0-b", (const uint8_t *)"x", (const uint8_t *)"y", 1, 1};
	static const uint8_t not_init = SSH_MSG_IGNORE;
	memset(&neg, 0, sizeof(neg));
	struct st_kex_job *j = st_kex_job_new(&neg, &t, &not_init, 1, NULL, 0);
	if (j != NULL) {
		j->done = gated_done;
		j->done_ctx = q;
	}
	return j;
}

static void test_queue_cap(void)
{
	struct st_kex_pool p;
	struct backq q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 1, 0};
	uint64_t c[ST_KEXP_COUNTER_COUNT];
	struct st_kex_job *j[4];

	st_kex_pool_init(&p);
	j[0] = dummy_job(&q);
	CHECK_ERR(st_kex_pool_submit(&p, j[0]), ST_ERR_STATE); /* not started: still ours */
	st_kex_job_free(j[0]);
	st_kex_pool_counters(&p, c);
	CHECK_INT(c[ST_KEXP_C_STOPPED], 1);
	CHECK_ERR(st_kex_pool_start(&p, 0, 0, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_kex_pool_start(&p, ST_KEX_THREADS_MAX + 1, 0, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_OK(st_kex_pool_start(&p, 1, 2, NULL));
	CHECK(st_kex_pool_running(&p));
	for (int i = 0; i < 4; i++)
		j[i] = dummy_job(&q);
	CHECK_OK(st_kex_pool_submit(&p, j[0]));
	CHECK(wait_entered(&q, 1)); /* the only helper is held in j[0]'s done */
	CHECK_OK(st_kex_pool_submit(&p, j[1]));
	CHECK(!st_kex_pool_full(&p));
	CHECK_OK(st_kex_pool_submit(&p, j[2]));
	CHECK(st_kex_pool_full(&p));
	CHECK_ERR(st_kex_pool_submit(&p, j[3]), ST_ERR_NO_SPACE);
	st_kex_job_free(j[3]);
	gate(&q, 0);
	for (int i = 0; i < 3; i++) {
		struct st_kex_job *b = next_job(&q);
		CHECK(b == j[i]); /* first in, first out */
		if (b != NULL)
			CHECK_INT(b->rc, ST_ERR_FORMAT); /* not a KEX_ECDH_INIT */
		st_kex_job_free(b);
	}
	st_kex_pool_counters(&p, c);
	CHECK_INT(c[ST_KEXP_C_SUBMITTED], 3);
	CHECK_INT(c[ST_KEXP_C_COMPLETED], 3);
	CHECK_INT(c[ST_KEXP_C_FAILED], 3);
	CHECK_INT(c[ST_KEXP_C_QUEUE_FULL], 1);
	CHECK(!st_kex_pool_full(&p));
	st_kex_pool_stop(&p);
	st_kex_pool_stop(&p); /* twice is fine */
}

static void *stopper(void *arg)
{
	st_kex_pool_stop(arg);
	return NULL;
}

static void test_stop_with_jobs_waiting(void)
{
	struct st_kex_pool p;
	struct backq q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 1, 0};
	uint64_t c[ST_KEXP_COUNTER_COUNT];
	pthread_t th;

	st_kex_pool_init(&p);
	st_kex_pool_stop(&p); /* never started: a no-op */
	CHECK_OK(st_kex_pool_start(&p, 1, 8, NULL));
	struct st_kex_job *first = dummy_job(&q);
	CHECK_OK(st_kex_pool_submit(&p, first));
	CHECK(wait_entered(&q, 1));
	for (int i = 0; i < 3; i++)
		CHECK_OK(st_kex_pool_submit(&p, dummy_job(&q)));
	CHECK_INT(pthread_create(&th, NULL, stopper, &p), 0);
	while (st_kex_pool_running(&p)) /* stop raised before the helper moves on */
		usleep(1000);
	struct st_kex_job *late = dummy_job(&q);
	CHECK_ERR(st_kex_pool_submit(&p, late), ST_ERR_STATE); /* refused: still ours */
	st_kex_job_free(late);
	gate(&q, 0);
	pthread_join(th, NULL);
	unsigned stopped = 0, computed = 0;
	for (int i = 0; i < 4; i++) {
		struct st_kex_job *b = next_job(&q);
		CHECK(b != NULL);
		if (b == NULL)
			break;
		if (b == first)
			computed++;
		else if (b->rc == ST_ERR_STATE)
			stopped++;
		st_kex_job_free(b);
	}
	CHECK_INT(computed, 1);
	CHECK_INT(stopped, 3);
	st_kex_pool_counters(&p, c);
	CHECK_INT(c[ST_KEXP_C_COMPLETED], 1);
	CHECK_INT(c[ST_KEXP_C_STOPPED], 4); /* the three waiting, and the refused submit */
}

static void test_counter_names(void)
{
	CHECK(strcmp(st_kexp_counter_name(ST_KEXP_C_SUBMITTED), "SUBMITTED") == 0);
	CHECK(strcmp(st_kexp_counter_name(ST_KEXP_C_BUSY_NS), "BUSY_NS") == 0);
	CHECK(strcmp(st_kexp_counter_name(ST_KEXP_COUNTER_COUNT), "unknown") == 0);
	CHECK(strlen(st_kexp_counter_text(ST_KEXP_C_DISCARDED)) > 0);
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK ||
	    sc_authkey_add(&fx, "alice", NULL, fx.user_ed, 0) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	st_kex_pool_init(&pool);
	if (st_kex_pool_start(&pool, 2, 0, NULL) != ST_OK) {
		fprintf(stderr, "pool start failed\n");
		return 1;
	}
	RUN(test_handshakes_on_pool);
	RUN(test_rekey_on_pool);
	RUN(test_order_while_out);
	RUN(test_refused_computed_here);
	RUN(test_failed_job);
	RUN(test_stopped_job);
	RUN(test_closed_while_out);
	RUN(test_freed_while_queued);
	RUN(test_queue_cap);
	RUN(test_stop_with_jobs_waiting);
	RUN(test_counter_names);
	st_kex_pool_stop(&pool);
	while (bq.n > 0)
		st_kex_job_free(bq.j[--bq.n]);
	sc_fixture_free(&fx);
	return st_test_done("test_kex_pool");
}
