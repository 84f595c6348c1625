/*
 * Key-exchange helper pool: see kex_pool.h. The queue is under p->mu; each
 * helper owns the job it computes until it hands it to done.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "control/kex_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/err.h"
#include "crypto/secmem.h"

/* The reply's cap, as conn.c's for payloads it builds (an RSA-16384 K_S fits). */
#define KEXP_REPLY_MAX (64u * 1024u)

static const char *const counter_names[] = {
#define ST_KEXP_CNT_NAME(name, text) #name,
	ST_KEXP_COUNTERS(ST_KEXP_CNT_NAME)
#undef ST_KEXP_CNT_NAME
};
static const char *const counter_texts[] = {
#define ST_KEXP_CNT_TEXT(name, text) text,
	ST_KEXP_COUNTERS(ST_KEXP_CNT_TEXT)
#undef ST_KEXP_CNT_TEXT
};

const char *st_kexp_counter_name(enum st_kexp_counter c)
{
	return (unsigned)c < ST_KEXP_COUNTER_COUNT ? counter_names[c] : "unknown";
}

const char *st_kexp_counter_text(enum st_kexp_counter c)
{
	return (unsigned)c < ST_KEXP_COUNTER_COUNT ? counter_texts[c] : "unknown";
}

void st_kex_pool_count(struct st_kex_pool *p, enum st_kexp_counter c, uint64_t n)
{
	if ((unsigned)c < ST_KEXP_COUNTER_COUNT)
		__atomic_add_fetch(&p->v[c], n, __ATOMIC_RELAXED);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

struct st_kex_job *st_kex_job_new(const struct st_kex_neg *neg, const struct st_kex_transcript *t,
				  const uint8_t *init, size_t init_len, const uint8_t *sid,
				  size_t sid_len)
{
	struct st_kex_job *j;

	if (sid_len > sizeof(j->sid) || strlen(t->v_c) >= sizeof(j->v_c) ||
	    strlen(t->v_s) >= sizeof(j->v_s) || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->neg = *neg;
	snprintf(j->v_c, sizeof(j->v_c), "%s", t->v_c);
	snprintf(j->v_s, sizeof(j->v_s), "%s", t->v_s);
	j->i_c = dup_bytes(t->i_c, t->i_c_len);
	j->i_s = dup_bytes(t->i_s, t->i_s_len);
	j->init = dup_bytes(init, init_len);
	if (j->i_c == NULL || j->i_s == NULL || j->init == NULL) {
		st_kex_job_free(j);
		return NULL;
	}
	j->i_c_len = t->i_c_len;
	j->i_s_len = t->i_s_len;
	j->init_len = init_len;
	if (sid_len > 0)
		memcpy(j->sid, sid, sid_len);
	j->sid_len = sid_len;
	j->rc = ST_ERR_STATE;
	return j;
}

void st_kex_job_free(struct st_kex_job *j)
{
	if (j == NULL)
		return;
	free(j->i_c);
	free(j->i_s);
	free(j->init);
	st_buf_free(&j->reply);
	st_wipe(j, sizeof(*j)); /* the keys in res, and the rest with them */
	free(j);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int st_kex_job_run(struct st_kex_job *j)
{
	struct st_kex_transcript t = {j->v_c, j->v_s, j->i_c, j->i_s, j->i_c_len, j->i_s_len};
	/* The thread's own CPU clock: time this helper was preempted is not the source's. */
	uint64_t t0 = thread_cpu_ns();

	st_buf_free(&j->reply);
	st_wipe(&j->res, sizeof(j->res));
	j->rc = st_buf_alloc(&j->reply, 1024, KEXP_REPLY_MAX);
	if (j->rc == ST_OK)
		j->rc = st_ctl_kex_reply(&j->neg, &t, j->init, j->init_len, j->sid, j->sid_len,
					 &j->reply, &j->res);
	if (j->rc != ST_OK) {
		st_buf_free(&j->reply);
		st_wipe(&j->res, sizeof(j->res));
	}
	j->cpu_ns = thread_cpu_ns() - t0;
	return j->rc;
}

/* ---- the threads ---- */

static void *helper(void *arg)
{
	struct st_kex_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->head == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		struct st_kex_job *j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		__atomic_store_n(&p->queued, p->queued - 1, __ATOMIC_RELAXED);
		j->next = NULL;
		pthread_mutex_unlock(&p->mu);
		if (st_kex_job_run(j) != ST_OK)
			st_kex_pool_count(p, ST_KEXP_C_FAILED, 1);
		st_kex_pool_count(p, ST_KEXP_C_COMPLETED, 1);
		st_kex_pool_count(p, ST_KEXP_C_BUSY_NS, j->cpu_ns);
		j->done(j->done_ctx, j); /* the job is the callback's now */
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int st_kex_pool_init(struct st_kex_pool *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->stop = 1; /* until started */
	return ST_OK;
}

int st_kex_pool_start(struct st_kex_pool *p, unsigned nthreads, unsigned queue_max,
		      st_kex_spawn_fn spawn)
{
	if (nthreads == 0 || nthreads > ST_KEX_THREADS_MAX || p->nthreads != 0)
		return ST_ERR_INVALID_ARGUMENT;
	p->queue_max = queue_max ? queue_max : nthreads * ST_KEX_QUEUE_PER_THREAD;
	pthread_mutex_lock(&p->mu);
	p->stop = 0;
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < nthreads; i++) {
		char name[16];
		snprintf(name, sizeof(name), "st-kex-%u", i);
		if (spawn != NULL) {
			if (spawn(&p->th[i], name, helper, p) != 0)
				return ST_ERR_SYSTEM;
		} else {
			if (pthread_create(&p->th[i], NULL, helper, p) != 0)
				return ST_ERR_SYSTEM;
			(void)pthread_setname_np(p->th[i], name);
		}
		p->nthreads++;
	}
	return ST_OK;
}

int st_kex_pool_submit(struct st_kex_pool *p, struct st_kex_job *j)
{
	if (j == NULL || j->done == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&p->mu);
	if (p->stop || p->nthreads == 0) {
		pthread_mutex_unlock(&p->mu);
		st_kex_pool_count(p, ST_KEXP_C_STOPPED, 1);
		return ST_ERR_STATE;
	}
	if (p->queued >= p->queue_max) {
		pthread_mutex_unlock(&p->mu);
		st_kex_pool_count(p, ST_KEXP_C_QUEUE_FULL, 1);
		return ST_ERR_NO_SPACE;
	}
	j->next = NULL;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	__atomic_store_n(&p->queued, p->queued + 1, __ATOMIC_RELAXED);
	st_kex_pool_count(p, ST_KEXP_C_SUBMITTED, 1);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return ST_OK;
}

int st_kex_pool_full(const struct st_kex_pool *p)
{
	return __atomic_load_n(&p->queued, __ATOMIC_RELAXED) >= p->queue_max;
}

int st_kex_pool_running(struct st_kex_pool *p)
{
	pthread_mutex_lock(&p->mu);
	int r = !p->stop && p->nthreads > 0;
	pthread_mutex_unlock(&p->mu);
	return r;
}

void st_kex_pool_stop(struct st_kex_pool *p)
{
	struct st_kex_job *list;

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	/* A helper finishes the job it computes (milliseconds), then sees stop. */
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	p->nthreads = 0;
	pthread_mutex_lock(&p->mu);
	list = p->head;
	p->head = p->tail = NULL;
	__atomic_store_n(&p->queued, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->mu);
	/* Jobs no helper took: their submitters still wait for an answer. */
	for (struct st_kex_job *j = list, *next; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		j->rc = ST_ERR_STATE;
		st_kex_pool_count(p, ST_KEXP_C_STOPPED, 1);
		j->done(j->done_ctx, j);
	}
}

void st_kex_pool_counters(struct st_kex_pool *p, uint64_t out[ST_KEXP_COUNTER_COUNT])
{
	for (unsigned c = 0; c < ST_KEXP_COUNTER_COUNT; c++)
		out[c] = __atomic_load_n(&p->v[c], __ATOMIC_RELAXED);
}
