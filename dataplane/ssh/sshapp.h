/*
 * The SSH terminator as a dataplane application: on each worker it listens
 * on the configured address and port, runs one worker session
 * (dataplane/ssh/wsess.h) per accepted TCP connection, feeds it the TCP
 * receive chain, has it seal its packets straight into mbufs that TCP then
 * sends (sess_io.c), opens backend TCP connections for services
 * (backend_conn.c), and exchanges planes messages with the control plane
 * over two SPSC rings per worker.
 *
 * It plugs into the worker loop through the dp_cfg hooks: st_sshapp_start
 * (on_start), st_sshapp_poll (on_poll), st_sshapp_stop (on_stop), with a
 * struct st_sshapp as their argument. Everything per connection is in a
 * preallocated slot table per worker; a connection is named by
 * (worker, slot, generation), so a message for a slot that was reused since
 * is recognised as stale and dropped (counted).
 */
#ifndef ST_SSH_SSHAPP_H
#define ST_SSH_SSHAPP_H

#include <stdint.h>

#include "dataplane/dp.h"
#include "dataplane/ssh/wsess.h"

struct rte_ring;

/* Drop / event counters of the application, one list. */
#define ST_SSHAPP_COUNTERS(X)                                                       \
	X(ACCEPTED, "TCP connections accepted")                                      \
	X(REFUSED_FULL, "connections refused: session table full")                   \
	X(REFUSED_INIT, "connections refused: session setup failed")                 \
	X(DOWN_STALE, "control messages for a connection that is gone")              \
	X(UP_RING_FULL, "messages to the control plane lost: ring full (sized not to happen)") \
	X(UP_CREDIT_HELD, "input held: the session has its control-plane credit in flight") \
	X(TX_NOMBUF, "output held: no mbuf free (the session is retried every pass)") \
	X(TX_SEAL_CAPPED, "bulk output held: the session has its share of seal mbufs in flight " \
			  "and the pool is down to its reserve")                  \
	X(RX_COMPACTED, "received bytes copied together: a packet spread over too many segments") \
	X(BACKEND_CONNECTS, "backend TCP connections opened")                        \
	X(BACKEND_FAILED, "backend TCP connections failed")                          \
	X(BACKEND_FULL, "backend connections refused: table full")                  \
	X(CLOSE_DRAIN_TIMEOUT, "closing sessions freed before the peer took their last bytes") \
	X(TX_CRYPTO_ASYNC, "packets handed to the crypto device to seal asynchronously")   \
	X(TX_CRYPTO_BUSY, "asynchronous seals the device refused (queue full): retried the next pass") \
	X(TX_CRYPTO_RING_FULL, "output held: the worker's seal ring is full (retried every pass)") \
	X(TX_CRYPTO_SYNC, "packets of an asynchronous direction sealed synchronously: device full " \
			  "at a key switch or before a large packet")                   \
	X(TX_CRYPTO_ZOMBIE, "sessions that ended with seals in flight, freed once they were back") \
	X(TX_CRYPTO_ERRORS, "asynchronous seals that failed or came back unknown: the session ends") \
	X(RX_CRYPTO_ASYNC, "received packets handed to the crypto device to open asynchronously") \
	X(RX_CRYPTO_BUSY, "asynchronous opens the device refused (queue full): input held, retried")

enum st_sshapp_counter {
#define ST_SSHAPP_ENUM(name, text) ST_SSHAPP_##name,
	ST_SSHAPP_COUNTERS(ST_SSHAPP_ENUM)
#undef ST_SSHAPP_ENUM
	ST_SSHAPP_COUNTER_COUNT
};

const char *st_sshapp_counter_name(enum st_sshapp_counter c);

struct st_sshapp_worker;
struct st_sshapp_pub;

/*
 * Per-session credit for control-bound messages: a session may have at most
 * ST_UP_CREDIT_MSGS messages and ST_UP_CREDIT_BYTES payload bytes on their
 * way to the control plane (in its up ring, or being handled); past that its
 * worker opens no more of its packets, so TCP's window holds that peer and
 * only that one. A flooding session (pre-auth IGNOREs, channel opens) can
 * then only slow itself, and the up rings are sized so that they cannot fill
 * (st_sshapp_up_ring_size).
 */
#define ST_UP_CREDIT_MSGS 16u
#define ST_UP_CREDIT_BYTES (256u * 1024u)

/*
 * What the control plane has taken of one slot's up messages, ever (counts
 * wrap): written by the control thread that owns the worker (the only
 * consumer of its up ring), read by the worker.
 */
struct st_up_done {
	uint32_t msgs;  /* atomic */
	uint32_t bytes; /* atomic */
};
struct st_sess_pub;

/*
 * The doorbell of the control thread that owns a worker's sessions (an
 * eventfd). The control thread sets `sleeping` before it waits and re-checks
 * the up rings; the first worker that enqueues while it is set clears it and
 * rings, so a message costs a system call only when the control thread
 * sleeps. Owned by that control thread; workers only ring it.
 */
struct st_doorbell {
	int fd;
	int sleeping; /* atomic */
};

#define ST_SSHAPP_MAX_LISTEN 8

/*
 * One per daemon. Set up before the workers start and read-only afterwards,
 * except: w[i] (worker i's own state, touched only by worker i), stopping
 * (atomic, set by the control plane), and the snapshots behind pub and
 * sess_pub (written by their worker, read by anyone through
 * st_sshapp_worker_stats / st_sshapp_session_stats).
 */
struct st_sshapp {
	/*
	 * Listeners, either family: an IPv4-mapped 0.0.0.0 is the worker's IPv4
	 * address, :: its IPv6 one (tcp_listen_ip). n_listen 0: the worker's
	 * IPv4 address on listen_port. listen_port: the first port (status).
	 */
	struct dp_ip listen_addr[ST_SSHAPP_MAX_LISTEN];
	uint16_t listen_ports[ST_SSHAPP_MAX_LISTEN];
	unsigned n_listen;
	uint16_t listen_port;
	uint32_t max_sessions;     /* per worker */
	uint32_t seal_mbufs;       /* per worker seal pool, 0: st_sshapp_seal_mbufs() default */
	struct st_wsess_config wcfg; /* backend, version line, rekey limits */
	struct rte_ring *up[DP_MAX_WORKERS];   /* worker -> control */
	struct rte_ring *down[DP_MAX_WORKERS]; /* control -> worker */
	struct st_sshapp_worker *w[DP_MAX_WORKERS]; /* worker i's only; set by st_sshapp_start */
	struct st_sshapp_pub *pub[DP_MAX_WORKERS];  /* worker i's published counters */
	struct st_sess_pub *sess_pub[DP_MAX_WORKERS]; /* [max_sessions]: per-session counters */
	struct st_doorbell *ctl_bell[DP_MAX_WORKERS]; /* NULL: nobody to wake */
	struct st_up_done *up_done[DP_MAX_WORKERS];  /* [max_sessions]: the credit coming back */
	int stopping;              /* atomic: set by the control plane at shutdown */
};

/*
 * Mbufs in each worker's seal pool (mbufs that hold one whole sealed
 * CHANNEL_DATA packet): app->seal_mbufs, or by default two per session slot
 * within [256, 8192].
 */
uint32_t st_sshapp_seal_mbufs(const struct st_sshapp *app);

/*
 * Creates the rings for nb_workers workers (setup time): down rings of
 * ring_size, up rings of st_sshapp_up_ring_size(). app->max_sessions must be
 * set. ST_OK, ST_ERR_ALLOC.
 */
int st_sshapp_init(struct st_sshapp *app, unsigned nb_workers, unsigned ring_size);

/*
 * An up ring that holds every session's credit plus the few messages a
 * session sends outside it (OPEN, VERSION, CLOSED...): at least ring_size,
 * a power of two.
 */
unsigned st_sshapp_up_ring_size(const struct st_sshapp *app, unsigned ring_size);

/*
 * The control thread took one up message of `len` payload bytes for slot
 * `slot` of worker w (it calls this for every message it takes off the
 * ring, stale ones included).
 */
static inline void st_sshapp_up_taken(struct st_sshapp *app, unsigned w, uint32_t slot,
				      uint32_t len)
{
	struct st_up_done *d = &app->up_done[w][slot];
	__atomic_store_n(&d->msgs, d->msgs + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&d->bytes, d->bytes + len, __ATOMIC_RELEASE);
}
void st_sshapp_fini(struct st_sshapp *app);

/* dp_cfg hooks (arg is the struct st_sshapp). */
int st_sshapp_start(struct dp_worker *w, void *arg);
void st_sshapp_poll(struct dp_worker *w, void *arg);
/* dp_cfg.can_sleep: 0 while control messages wait in the worker's down ring. */
int st_sshapp_can_sleep(struct dp_worker *w, void *arg);
void st_sshapp_stop(struct dp_worker *w, void *arg);

/*
 * Per-worker figures for stats, from any thread: a tear-free snapshot the
 * worker publishes every ST_SSHAPP_PUB_MS (zeros before it first did).
 */
#define ST_SSHAPP_PUB_MS 10
struct st_sshapp_stats {
	uint64_t counters[ST_SSHAPP_COUNTER_COUNT];
	uint32_t sessions_active;
	uint32_t sessions_max;
	uint32_t tcp_orphans; /* closed connections still sending their last bytes */
	uint32_t tcp_time_wait;
	uint64_t tcp_ooo_bytes; /* buffer memory held out of order */
	uint32_t seal_mbufs, seal_mbufs_in_use; /* the worker's seal pool */
};
void st_sshapp_worker_stats(const struct st_sshapp *app, unsigned worker,
			    struct st_sshapp_stats *out, struct st_wsess_worker_stats *wstats);

/*
 * One session's counters by handle, from any thread: the snapshot its worker
 * published at its last tick (every 100 ms) or when it opened. ST_OK, or
 * ST_ERR_STALE when the slot holds another session (or none) now.
 */
int st_sshapp_session_stats(const struct st_sshapp *app, struct st_conn_handle h,
			    struct st_wsess_stats *out);

#endif
