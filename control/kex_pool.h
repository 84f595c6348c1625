/*
 * The key-exchange helper pool: KexThreads dedicated threads ("st-kex-N")
 * that compute the server's side of a key exchange for the control shards
 * (control/ctl_shard.h): the shared secret (X25519, ECDH, a DH group14/16/18
 * modexp, an ML-KEM / sntrup761 encapsulation), the exchange hash, the
 * host-key signature over it and the new keys (st_ctl_kex_reply). Those
 * take from microseconds (X25519) to many milliseconds (RSA-4096
 * signatures, group16/18); on the pool they no longer stall every other
 * session of the shard.
 *
 * A shard copies what the exchange needs into a job (the negotiated
 * algorithms, the client's KEX_ECDH_INIT, the transcript, the session id)
 * and submits it (O(1) under the queue mutex, never waits for a job); a
 * helper takes it, computes the reply and the keys, measures the CPU time it
 * spent with its own thread clock, and hands the job to its `done`
 * callback, on the helper thread; the callback owns the job from then on
 * (the daemon's brings it back to the submitting shard).
 *
 * Ownership: the queue, `stop` and `queued` belong to the mutex; a job
 * belongs to its submitter until submit returns ST_OK, then to the pool,
 * then to `done`. A job's `neg` borrows the host key (and certificate) from
 * a configuration: the submitter keeps that configuration alive until the
 * job is back (the daemon holds a configuration reference in `ref`, which
 * the pool never touches). Counters are atomics (helpers and shards add,
 * the admin thread reads).
 *
 * Bounded: `queue_max` jobs wait at most (more: refused, QUEUE_FULL; the
 * submitter computes that exchange itself or defers it). st_kex_pool_stop()
 * lets each helper finish the job it runs, completes the waiting ones as
 * stopped (rc ST_ERR_STATE) and joins the threads.
 */
#ifndef ST_CONTROL_KEX_POOL_H
#define ST_CONTROL_KEX_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "control/kex.h"
#include "control/srclimit.h"
#include "crypto/buf.h"
#include "dataplane/ssh/planes.h"

#define ST_KEX_THREADS_MAX 64
#define ST_KEX_QUEUE_PER_THREAD 32 /* queue_max = this x threads, see st_kex_pool_start */

/* Pool counters, one list (sshtermctl stats shows them as KEXPOOL_*). */
#define ST_KEXP_COUNTERS(X)                                                               \
	X(SUBMITTED, "key exchanges handed to the kex threads")                          \
	X(COMPLETED, "key exchanges the kex threads computed")                           \
	X(FAILED, "... of which failed (bad public value, crypto error): session ended")  \
	X(QUEUE_FULL, "key exchanges refused by a full kex queue (computed on the control thread)") \
	X(DEFERRED, "key exchanges a control thread held back while the kex queue was full") \
	X(DISCARDED, "results thrown away: the session ended while its exchange ran")   \
	X(STOPPED, "key exchanges not computed: daemon shutting down")                   \
	X(BUSY_NS, "CPU time of the kex threads in key exchanges, ns")

enum st_kexp_counter {
#define ST_KEXP_CNT_ENUM(name, text) ST_KEXP_C_##name,
	ST_KEXP_COUNTERS(ST_KEXP_CNT_ENUM)
#undef ST_KEXP_CNT_ENUM
	ST_KEXP_COUNTER_COUNT
};

/* "SUBMITTED", ... and their descriptions; "unknown" outside the list. */
const char *st_kexp_counter_name(enum st_kexp_counter c);
const char *st_kexp_counter_text(enum st_kexp_counter c);

struct st_kex_job;
typedef void (*st_kex_done_fn)(void *ctx, struct st_kex_job *job);

struct st_kex_job {
	struct st_kex_job *next; /* the pool's queue, then the submitter's list */
	/* request: copies, so that the job outlives its connection */
	struct st_kex_neg neg;   /* host key borrowed: see "Ownership" above */
	char v_c[256], v_s[256]; /* identification lines, no CR LF */
	uint8_t *i_c, *i_s;      /* KEXINIT payloads (owned) */
	size_t i_c_len, i_s_len;
	uint8_t *init;           /* the client's KEX_ECDH_INIT / KEXDH_INIT payload (owned) */
	size_t init_len;
	uint8_t sid[ST_HASH_MAX_LEN];
	size_t sid_len;          /* 0: the first exchange (H becomes the session id) */
	struct st_conn_handle h; /* whose job it is */
	uint64_t id;             /* the connection's job number */
	st_kex_done_fn done;
	void *done_ctx;
	/* the submitter's, untouched by the pool */
	void *ref;                   /* the daemon: the configuration reference */
	struct st_srclimit_addr src; /* the source charged with cpu_ns */
	uint8_t charge;              /* src is tracked by PerSource* */
	/* result, set by the pool */
	int rc;                      /* st_ctl_kex_reply's, or ST_ERR_STATE: stopped */
	struct st_buf reply;         /* ST_OK: the KEX_ECDH_REPLY payload (owned) */
	struct st_kex_result res;    /* ST_OK: H and the keys (secret: wiped with the job) */
	uint64_t cpu_ns;             /* the helper's thread CPU time for it */
};

/*
 * A zeroed job with copies of the exchange's inputs (init[0..init_len), the
 * transcript t, the session id); NULL when out of memory.
 */
struct st_kex_job *st_kex_job_new(const struct st_kex_neg *neg, const struct st_kex_transcript *t,
				  const uint8_t *init, size_t init_len, const uint8_t *sid,
				  size_t sid_len);
/* Frees a job, wiping its keys. NULL is a no-op. */
void st_kex_job_free(struct st_kex_job *j);

struct st_kex_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct st_kex_job *head, *tail;
	unsigned queued;          /* under mu; read without it by st_kex_pool_full */
	unsigned queue_max;
	int stop;                 /* under mu */
	unsigned nthreads;
	pthread_t th[ST_KEX_THREADS_MAX];
	uint64_t v[ST_KEXP_COUNTER_COUNT]; /* atomics */
};

/* Initialises a stopped pool (no threads yet). ST_OK. */
int st_kex_pool_init(struct st_kex_pool *p);

/* Creates one thread named `name` (0 on success, like pthread_create), see akc_pool.h. */
typedef int (*st_kex_spawn_fn)(pthread_t *th, const char *name, void *(*fn)(void *), void *arg);

/*
 * Starts nthreads (1..ST_KEX_THREADS_MAX) helpers with spawn (NULL: plain
 * pthread_create, for tests); queue_max 0 means nthreads x
 * ST_KEX_QUEUE_PER_THREAD. ST_OK, ST_ERR_INVALID_ARGUMENT, ST_ERR_SYSTEM
 * (the threads started are stopped by st_kex_pool_stop).
 */
int st_kex_pool_start(struct st_kex_pool *p, unsigned nthreads, unsigned queue_max,
		      st_kex_spawn_fn spawn);

/*
 * Queues a job (counts SUBMITTED). Returns ST_OK (the pool owns it now: done
 * will be called exactly once); ST_ERR_NO_SPACE (queue full: counted
 * QUEUE_FULL), ST_ERR_STATE (not started or stopping: counted STOPPED): the
 * caller still owns the job.
 */
int st_kex_pool_submit(struct st_kex_pool *p, struct st_kex_job *j);

/* 1 when a submit now would find the queue full (a racy hint, for deferring). */
int st_kex_pool_full(const struct st_kex_pool *p);

/* 1 when the pool has threads and is not stopping. */
int st_kex_pool_running(struct st_kex_pool *p);

/* Stops the helpers (see above). Safe on a pool never started, and twice. */
void st_kex_pool_stop(struct st_kex_pool *p);

/* Adds n to counter c (atomic; the shards count DEFERRED and DISCARDED). */
void st_kex_pool_count(struct st_kex_pool *p, enum st_kexp_counter c, uint64_t n);

/* The counters, read atomically. */
void st_kex_pool_counters(struct st_kex_pool *p, uint64_t out[ST_KEXP_COUNTER_COUNT]);

/*
 * Computes one job on the calling thread as a helper does (rc, reply, res,
 * cpu_ns), without calling done and without counting. ST_OK or j->rc.
 */
int st_kex_job_run(struct st_kex_job *j);

#endif
