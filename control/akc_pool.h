/*
 * The AuthorizedKeysCommand helper pool: ST_AKC_THREADS dedicated threads
 * ("st-akc-N") that run the commands the control shards ask for, so that a
 * shard never waits for a child. A shard submits a job (st_akc_pool_submit,
 * O(1) under the queue mutex, never blocks on a child) and goes on; a
 * helper takes it, looks the users up (getpwnam_r: NSS may be slow, it is
 * not done on a shard), expands the command line (control/akcmd.h), checks
 * the cache (control/akc_cache.h), runs the child (control/akc_run.h) and
 * hands the finished job to the job's `done` callback, on the helper
 * thread; the callback owns the job from then on.
 *
 * Ownership: the queue and `stop` belong to the mutex; a job belongs to its
 * submitter until submit returns ST_OK, then to the pool, then to `done`.
 * Counters are atomics (any helper adds, the admin thread reads).
 *
 * Bounded: ST_AKC_QUEUE_MAX jobs wait at most (more: refused, counted
 * FAIL_BUSY, the key is denied), one child per helper, each call bounded by
 * its timeout. st_akc_pool_stop() kills the running children (their
 * helpers reap them), completes the waiting jobs as ST_AKC_STOPPED and
 * joins the threads.
 */
#ifndef ST_CONTROL_AKC_POOL_H
#define ST_CONTROL_AKC_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "control/akc_cache.h"
#include "control/akc_run.h"
#include "crypto/key.h"
#include "dataplane/ssh/planes.h"

#define ST_AKC_THREADS 4
#define ST_AKC_QUEUE_MAX 256
#define ST_AKC_OUTPUT_MAX (1024u * 1024u) /* output cap per call */
#define ST_AKC_CMD_MAX 1024               /* AuthorizedKeysCommand as configured */
#define ST_AKC_NAME_MAX 64                /* AuthorizedKeysCommandUser */

/* Pool counters, one list (sshtermctl stats shows them as AKC_*). */
#define ST_AKC_COUNTERS(X)                                                           \
	X(CALLS, "AuthorizedKeysCommand lookups asked for")                          \
	X(RUNS, "AuthorizedKeysCommand children started")                            \
	X(OK, "AuthorizedKeysCommand lookups that gave output (run or cached)")      \
	X(CACHE_HIT, "AuthorizedKeysCommand results taken from the cache")           \
	X(CACHE_MISS, "AuthorizedKeysCommand cache misses (cache on)")               \
	X(FAIL_EXIT, "AuthorizedKeysCommand failed: non-zero exit status")           \
	X(FAIL_SIGNAL, "AuthorizedKeysCommand failed: killed by a signal")           \
	X(FAIL_TIMEOUT, "AuthorizedKeysCommand failed: timed out, killed")           \
	X(FAIL_OVERSIZE, "AuthorizedKeysCommand failed: output over the cap, killed") \
	X(FAIL_EXEC, "AuthorizedKeysCommand failed: could not execute")              \
	X(FAIL_SETUID, "AuthorizedKeysCommand failed: could not switch user")        \
	X(FAIL_SYSTEM, "AuthorizedKeysCommand failed: pipe, fork or memory")         \
	X(FAIL_STOPPED, "AuthorizedKeysCommand failed: daemon shutting down")        \
	X(FAIL_NOUSER, "AuthorizedKeysCommand failed: no such user (login or AuthorizedKeysCommandUser)") \
	X(FAIL_UNSAFE, "AuthorizedKeysCommand failed: command not a root-owned, non-writable file") \
	X(FAIL_EXPAND, "AuthorizedKeysCommand failed: command line did not expand")  \
	X(FAIL_BUSY, "AuthorizedKeysCommand failed: helper queue full")

enum st_akc_counter {
#define ST_AKC_CNT_ENUM(name, text) ST_AKC_C_##name,
	ST_AKC_COUNTERS(ST_AKC_CNT_ENUM)
#undef ST_AKC_CNT_ENUM
	ST_AKC_COUNTER_COUNT
};

/* "CALLS", ... and their descriptions; "unknown" outside the list. */
const char *st_akc_counter_name(enum st_akc_counter c);
const char *st_akc_counter_text(enum st_akc_counter c);

/* Why a job failed beyond the run statuses of akc_run.h. */
enum st_akc_job_status {
	ST_AKC_JOB_RUN = 0, /* see job->run (ST_AKC_OK: output valid) */
	ST_AKC_JOB_NOUSER,  /* the login user or AuthorizedKeysCommandUser is unknown */
	ST_AKC_JOB_UNSAFE,  /* argv[0] is not a regular file owned by root (or us), not writable by others */
	ST_AKC_JOB_EXPAND,  /* the command did not expand (akcmd.h) */
	ST_AKC_JOB_BUSY,    /* refused by submit: the queue is full (never passed to done) */
};

struct st_akc_job;
typedef void (*st_akc_done_fn)(void *ctx, struct st_akc_job *job);

struct st_akc_job {
	struct st_akc_job *next; /* the pool's queue */
	/* request, set by the submitter */
	char command[ST_AKC_CMD_MAX];
	char runas[ST_AKC_NAME_MAX];
	char user[ST_USER_MAX];
	char fp[ST_KEY_FP_SIZE];
	char key_type[64];
	char *key_b64;           /* owned */
	uint32_t timeout_s;      /* > 0 */
	uint32_t cache_s;        /* 0: no cache */
	st_akc_done_fn done;
	void *done_ctx;
	struct st_conn_handle h; /* for the submitter: whose job it is */
	uint64_t id;
	/* result, set by the pool */
	enum st_akc_job_status status;
	enum st_akc_status run;
	int detail;              /* of akc_run.h, or errno */
	int cached;              /* output came from the cache */
	char why[160];           /* failure in words, for the log line */
	char shown[256];         /* the expanded command line, for log lines */
	char *out;               /* ST_AKC_OK: output, NUL-terminated (owned) */
	size_t out_len;
};

/* A zeroed job (calloc) with key_b64 a copy of b64; NULL when out of memory. */
struct st_akc_job *st_akc_job_new(const char *b64);
/* 1 when the job ended with output to parse. */
int st_akc_job_ok(const struct st_akc_job *j);
void st_akc_job_free(struct st_akc_job *j);

struct st_akc_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct st_akc_job *head, *tail;
	unsigned queued;
	int stop; /* under mu; also read atomically by running children's loops */
	unsigned nthreads;
	pthread_t th[ST_AKC_THREADS];
	struct st_akc_cache cache;
	uint64_t v[ST_AKC_COUNTER_COUNT]; /* atomics */
};

/* Initialises a stopped pool (no threads yet). ST_OK. */
int st_akc_pool_init(struct st_akc_pool *p);

/*
 * Creates one helper thread named `name` (0 on success, like pthread_create):
 * the daemon passes DPDK's rte_ctrl_thread_create, so that the helpers and
 * the children they fork run on the control CPUs, never on a worker's core.
 */
typedef int (*st_akc_spawn_fn)(pthread_t *th, const char *name, void *(*fn)(void *), void *arg);

/*
 * Starts nthreads (1..ST_AKC_THREADS) helpers with spawn (NULL: plain
 * pthread_create, for tests). ST_OK or ST_ERR_SYSTEM.
 */
int st_akc_pool_start(struct st_akc_pool *p, unsigned nthreads, st_akc_spawn_fn spawn);

/*
 * Queues a job (counts CALLS). Returns ST_OK (the pool owns it now: done
 * will be called exactly once); ST_ERR_NO_SPACE (queue full: counted
 * FAIL_BUSY), ST_ERR_STATE (not started or stopping): the caller still owns
 * the job.
 */
int st_akc_pool_submit(struct st_akc_pool *p, struct st_akc_job *j);

/* Stops the helpers (see above) and frees the cache. Safe on a pool never started. */
void st_akc_pool_stop(struct st_akc_pool *p);

/* The counters, read atomically. */
void st_akc_pool_counters(struct st_akc_pool *p, uint64_t out[ST_AKC_COUNTER_COUNT]);

/*
 * Runs one job on the calling thread, as a helper does, without calling
 * done (tests; the helpers use it).
 */
void st_akc_pool_run_job(struct st_akc_pool *p, struct st_akc_job *j);

#endif
