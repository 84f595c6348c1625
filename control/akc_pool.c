/*
 * AuthorizedKeysCommand helper pool: see akc_pool.h. The queue is under
 * p->mu; each helper thread owns the job it runs and its child.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "control/akc_pool.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/akcmd.h"
#include "crypto/err.h"

#define PW_BUF 16384

static const char *const counter_names[] = {
#define ST_AKC_CNT_NAME(name, text) #name,
	ST_AKC_COUNTERS(ST_AKC_CNT_NAME)
#undef ST_AKC_CNT_NAME
};
static const char *const counter_texts[] = {
#define ST_AKC_CNT_TEXT(name, text) text,
	ST_AKC_COUNTERS(ST_AKC_CNT_TEXT)
#undef ST_AKC_CNT_TEXT
};

const char *st_akc_counter_name(enum st_akc_counter c)
{
	return (unsigned)c < ST_AKC_COUNTER_COUNT ? counter_names[c] : "unknown";
}

const char *st_akc_counter_text(enum st_akc_counter c)
{
	return (unsigned)c < ST_AKC_COUNTER_COUNT ? counter_texts[c] : "unknown";
}

static void count(struct st_akc_pool *p, enum st_akc_counter c)
{
	__atomic_add_fetch(&p->v[c], 1, __ATOMIC_RELAXED);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct st_akc_job *st_akc_job_new(const char *b64)
{
	struct st_akc_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	if ((j->key_b64 = strdup(b64 != NULL ? b64 : "")) == NULL) {
		free(j);
		return NULL;
	}
	return j;
}

int st_akc_job_ok(const struct st_akc_job *j)
{
	return j->status == ST_AKC_JOB_RUN && j->run == ST_AKC_OK && j->out != NULL;
}

void st_akc_job_free(struct st_akc_job *j)
{
	if (j == NULL)
		return;
	free(j->key_b64);
	free(j->out);
	free(j);
}

/* ---- one job ---- */

/* getpwnam_r into the caller's buffer; 0 found, -1 absent or failed (why says which). */
static int user_lookup(const char *name, struct passwd *pw, char *buf, size_t bufsz, char *why,
		       size_t whysz, const char *what)
{
	struct passwd *res = NULL;
	int e = getpwnam_r(name, pw, buf, bufsz, &res);

	if (e == 0 && res != NULL)
		return 0;
	if (e == 0)
		snprintf(why, whysz, "%s %.64s: no such user", what, name);
	else
		snprintf(why, whysz, "%s %.64s: user lookup failed: %s", what, name, strerror(e));
	return -1;
}

/* sshd's rule for the program it runs: a regular file owned by root (or us), not writable by others. */
static int safe_program(const char *path, char *why, size_t whysz)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(why, whysz, "%.120s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "%.120s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whysz, "%.120s: bad ownership (uid %u)", path, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whysz, "%.120s: writable by group or others", path);
		return -1;
	}
	return 0;
}

static const enum st_akc_counter run_counter[ST_AKC_RUN_STATUS_COUNT] = {
	[ST_AKC_OK] = ST_AKC_C_OK,
	[ST_AKC_EXIT] = ST_AKC_C_FAIL_EXIT,
	[ST_AKC_SIGNAL] = ST_AKC_C_FAIL_SIGNAL,
	[ST_AKC_TIMEOUT] = ST_AKC_C_FAIL_TIMEOUT,
	[ST_AKC_OVERSIZE] = ST_AKC_C_FAIL_OVERSIZE,
	[ST_AKC_EXEC] = ST_AKC_C_FAIL_EXEC,
	[ST_AKC_SETUID] = ST_AKC_C_FAIL_SETUID,
	[ST_AKC_SYSTEM] = ST_AKC_C_FAIL_SYSTEM,
	[ST_AKC_STOPPED] = ST_AKC_C_FAIL_STOPPED,
};

static void describe_run(struct st_akc_job *j, uint32_t timeout_s)
{
	switch (j->run) {
	case ST_AKC_OK:
		j->why[0] = '\0';
		break;
	case ST_AKC_EXIT:
		snprintf(j->why, sizeof(j->why), "exited with status %d", j->detail);
		break;
	case ST_AKC_SIGNAL:
		snprintf(j->why, sizeof(j->why), "killed by signal %d", j->detail);
		break;
	case ST_AKC_TIMEOUT:
		snprintf(j->why, sizeof(j->why), "timed out after %u s, killed", timeout_s);
		break;
	case ST_AKC_OVERSIZE:
		snprintf(j->why, sizeof(j->why), "output over %u bytes, killed", ST_AKC_OUTPUT_MAX);
		break;
	case ST_AKC_EXEC:
		snprintf(j->why, sizeof(j->why), "cannot execute: %s", strerror(j->detail));
		break;
	case ST_AKC_SETUID:
		snprintf(j->why, sizeof(j->why), "cannot switch to user %.64s: %s", j->runas,
			 strerror(j->detail));
		break;
	case ST_AKC_SYSTEM:
		snprintf(j->why, sizeof(j->why), "system error: %s", strerror(j->detail));
		break;
	default:
		snprintf(j->why, sizeof(j->why), "stopped: daemon shutting down");
		break;
	}
}

void st_akc_pool_run_job(struct st_akc_pool *p, struct st_akc_job *j)
{
	struct passwd runpw, userpw;
	char *runbuf = malloc(PW_BUF), *userbuf = malloc(PW_BUF), uid[24];
	struct st_akc_argv a = {0};
	char *key = NULL;
	size_t key_len = 0;

	j->status = ST_AKC_JOB_RUN;
	j->run = ST_AKC_SYSTEM;
	j->detail = 0;
	j->why[0] = '\0';
	j->shown[0] = '\0';
	if (runbuf == NULL || userbuf == NULL) {
		j->detail = ENOMEM;
		count(p, ST_AKC_C_FAIL_SYSTEM);
		describe_run(j, j->timeout_s);
		goto out;
	}
	if (user_lookup(j->runas, &runpw, runbuf, PW_BUF, j->why, sizeof(j->why),
			"AuthorizedKeysCommandUser") != 0 ||
	    user_lookup(j->user, &userpw, userbuf, PW_BUF, j->why, sizeof(j->why), "user") != 0) {
		j->status = ST_AKC_JOB_NOUSER;
		count(p, ST_AKC_C_FAIL_NOUSER);
		goto out;
	}
	snprintf(uid, sizeof(uid), "%u", (unsigned)userpw.pw_uid);
	const struct st_akc_tokens t = {j->user, uid, userpw.pw_dir, j->fp, j->key_b64, j->key_type};
	char why[ST_AKC_WHY_SIZE];
	if (st_akc_expand(j->command, &t, &a, why, sizeof(why)) != ST_OK) {
		snprintf(j->why, sizeof(j->why), "command line: %.140s", why);
		j->status = ST_AKC_JOB_EXPAND;
		count(p, ST_AKC_C_FAIL_EXPAND);
		goto out;
	}
	st_akc_argv_show(&a, j->shown, sizeof(j->shown));
	/* The cache key: the user it runs as, then the expanded command line. */
	size_t rl = strlen(j->runas) + 1;
	if (j->cache_s > 0 && (key = malloc(rl + a.line_len)) != NULL) {
		memcpy(key, j->runas, rl);
		memcpy(key + rl, a.line, a.line_len);
		key_len = rl + a.line_len;
	}
	if (key != NULL) {
		int hit = st_akc_cache_get(&p->cache, key, key_len, now_ms(), &j->out, &j->out_len);
		if (hit == 1) {
			j->cached = 1;
			j->run = ST_AKC_OK;
			count(p, ST_AKC_C_CACHE_HIT);
			count(p, ST_AKC_C_OK);
			goto out;
		}
		count(p, ST_AKC_C_CACHE_MISS);
	}
	if (safe_program(a.argv[0], j->why, sizeof(j->why)) != 0) {
		j->status = ST_AKC_JOB_UNSAFE;
		count(p, ST_AKC_C_FAIL_UNSAFE);
		goto out;
	}
	struct st_akc_run_opts o = {
		.switch_user = geteuid() == 0,
		.uid = runpw.pw_uid,
		.gid = runpw.pw_gid,
		.timeout_ms = j->timeout_s * 1000u,
		.cap = ST_AKC_OUTPUT_MAX,
		.stop = &p->stop,
	};
	if (!o.switch_user && runpw.pw_uid != geteuid()) {
		j->run = ST_AKC_SETUID;
		j->detail = EPERM;
		count(p, ST_AKC_C_FAIL_SETUID);
		describe_run(j, j->timeout_s);
		goto out;
	}
	count(p, ST_AKC_C_RUNS);
	j->run = st_akc_run(a.argv, &o, &j->out, &j->out_len, &j->detail);
	count(p, run_counter[j->run]);
	describe_run(j, j->timeout_s);
	if (j->run == ST_AKC_OK && key != NULL)
		(void)st_akc_cache_put(&p->cache, key, key_len, j->out, j->out_len, j->cache_s,
				       now_ms());
out:
	free(key);
	st_akc_argv_free(&a);
	free(runbuf);
	free(userbuf);
}

/* ---- the threads ---- */

static void *helper(void *arg)
{
	struct st_akc_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->head == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		struct st_akc_job *j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		j->next = NULL;
		pthread_mutex_unlock(&p->mu);
		st_akc_pool_run_job(p, j);
		j->done(j->done_ctx, j); /* the job is the callback's now */
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int st_akc_pool_init(struct st_akc_pool *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	st_akc_cache_init(&p->cache);
	p->stop = 1; /* until started */
	return ST_OK;
}

int st_akc_pool_start(struct st_akc_pool *p, unsigned nthreads, st_akc_spawn_fn spawn)
{
	if (nthreads == 0 || nthreads > ST_AKC_THREADS || p->nthreads != 0)
		return ST_ERR_INVALID_ARGUMENT;
	__atomic_store_n(&p->stop, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < nthreads; i++) {
		char name[16];
		snprintf(name, sizeof(name), "st-akc-%u", i);
		if (spawn != NULL) {
			if (spawn(&p->th[i], name, helper, p) != 0)
				return ST_ERR_SYSTEM; /* the started ones are joined by stop */
		} else {
			if (pthread_create(&p->th[i], NULL, helper, p) != 0)
				return ST_ERR_SYSTEM;
			(void)pthread_setname_np(p->th[i], name);
		}
		p->nthreads++;
	}
	return ST_OK;
}

int st_akc_pool_submit(struct st_akc_pool *p, struct st_akc_job *j)
{
	if (j == NULL || j->done == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	count(p, ST_AKC_C_CALLS);
	pthread_mutex_lock(&p->mu);
	if (p->stop || p->nthreads == 0) {
		pthread_mutex_unlock(&p->mu);
		count(p, ST_AKC_C_FAIL_STOPPED);
		return ST_ERR_STATE;
	}
	if (p->queued >= ST_AKC_QUEUE_MAX) {
		pthread_mutex_unlock(&p->mu);
		count(p, ST_AKC_C_FAIL_BUSY);
		return ST_ERR_NO_SPACE;
	}
	j->next = NULL;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return ST_OK;
}

void st_akc_pool_stop(struct st_akc_pool *p)
{
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE); /* running children see it within 50 ms */
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	p->nthreads = 0;
	/* Jobs no helper took: their submitters still wait for an answer. */
	for (struct st_akc_job *j = p->head, *next; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		j->status = ST_AKC_JOB_RUN;
		j->run = ST_AKC_STOPPED;
		describe_run(j, j->timeout_s);
		count(p, ST_AKC_C_FAIL_STOPPED);
		j->done(j->done_ctx, j);
	}
	p->head = p->tail = NULL;
	p->queued = 0;
	st_akc_cache_fini(&p->cache);
	st_akc_cache_init(&p->cache); /* a stopped pool stays usable for st_akc_pool_stop again */
}

void st_akc_pool_counters(struct st_akc_pool *p, uint64_t out[ST_AKC_COUNTER_COUNT])
{
	for (unsigned c = 0; c < ST_AKC_COUNTER_COUNT; c++)
		out[c] = __atomic_load_n(&p->v[c], __ATOMIC_RELAXED);
}
