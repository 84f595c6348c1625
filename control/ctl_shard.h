/*
 * One control-plane thread and the sessions it owns: a "shard".
 *
 * The daemon runs ControlThreads N shards. Shard k owns every session of the
 * workers w with w % N == k: it is the only consumer of those workers' up
 * rings and the only producer of their down rings (so the rings stay
 * single-producer, single-consumer), and the only thread that touches those
 * sessions' st_ctl_conn (key exchange, host-key signatures, user
 * authentication, channel policy). Nothing else reads a shard's session
 * state: the admin thread (operator commands) asks through the shard's inbox
 * (struct st_ctl_req) and waits for the answer; counters are published as
 * tear-free snapshots (st_ctl_shard_read_pub).
 *
 * Nothing in a shard blocks on another thread:
 *  - a full down ring queues the message on the shard's per-worker backlog
 *    (in order, retried every pass); a session with more than
 *    ST_CTL_BACKLOG_PER_SESS messages there is ended and counted, so one
 *    session cannot fill it for the rest;
 *  - it sleeps only in poll() on its doorbell (struct st_doorbell), which
 *    the workers ring when they queue for it, and at most 1 ms (its tick);
 *  - AuthorizedKeysCommand jobs and, with KexThreads > 0, the server side of
 *    key exchanges (shared secret, host-key signature) run on helper
 *    threads while their session holds its input; the results come back to
 *    this thread, the only one that touches its sessions.
 *
 * Ownership: struct st_ctl_shard is owned by its thread; the fields marked
 * "atomic" and `pub` are read by other threads.
 */
#ifndef ST_CONTROL_CTL_SHARD_H
#define ST_CONTROL_CTL_SHARD_H

#include <pthread.h>
#include <stdint.h>

#include "dataplane/seqcount.h"

#include "control/conn.h"
#include "control/histo.h"
#include "control/srclimit.h"
#include "crypto/buf.h"
#include "dataplane/dp.h"
#include "dataplane/ssh/sshapp.h"

struct st_ctlplane;
struct st_conf_ref;
struct rte_ring;

#define ST_CTL_BACKLOG 16384         /* down messages a shard holds per worker */
#define ST_CTL_BACKLOG_PER_SESS 256  /* ... of which one session may hold */
#define ST_CTL_INBOX 64              /* requests from the admin thread */
#define ST_CTL_KEXQ 4096             /* up messages deferred by PerSourceKexRate */

/* A session as its shard sees it. */
struct st_ctl_sess {
	struct st_ctl_conn *conn;        /* NULL: free */
	struct st_conf_ref *conf;        /* the configuration it started with (a reference) */
	struct st_ctl_sess *prev, *next; /* the shard's list of live sessions */
	uint64_t id;                     /* shown to operators */
	struct st_conn_handle h;         /* the worker connection it mirrors */
	char peer[ST_IP_STR];
	uint16_t peer_port;
	uint8_t authed;                  /* counted out of the unauthenticated count */
	uint32_t backlogged;             /* its down messages in the shard's backlog */
	uint32_t deferred;               /* its up messages in the shard's kex queue */
	struct st_srclimit_addr src;     /* its source, for PerSource* */
	uint8_t src_tracked;             /* counted in cp->src (close it there at the end) */
	uint8_t src_pending;             /* from a ProxyProtocolFrom source: peer and per-source
					    limits wait for its PROXY header (control/conn_proxy.c) */
	time_t since;
	uint64_t open_us;                /* monotonic, at ST_UP_OPEN: for the login latency */
};

/* Operator requests the admin thread hands to a shard. */
enum st_ctl_req_kind {
	ST_CTL_REQ_LIST = 1, /* append every session (or the one with `id`) to out */
	ST_CTL_REQ_KILL,     /* disconnect session `id` */
	ST_CTL_REQ_REKEY,    /* start a key exchange on session `id` */
};

/*
 * One request. The admin thread fills it, posts it to each shard concerned
 * and waits for `done`; the shard writes out/found/rc, then sets done
 * (release). After done the shard never touches it again.
 */
struct st_ctl_req {
	enum st_ctl_req_kind kind;
	uint64_t id;        /* 0: every session (LIST) */
	int json;
	struct st_buf out;  /* LIST: rows (JSON objects separated by commas) */
	unsigned rows;
	int found;          /* the session was this shard's */
	int rc;
	int done;           /* atomic */
};

/* Counters a shard publishes (tear-free through the seqcount). */
struct st_ctl_shard_pub {
	st_seqcount_t sc;
	struct st_ctl_stats stats;   /* kex, auth, disconnect reasons */
	uint32_t sessions, authed;
	uint64_t backlog_full;       /* sessions ended: their backlog share was used up */
	uint64_t backlogged;         /* down messages that had to wait for a full ring */
	uint64_t ctl_cycles;         /* TSC cycles spent handling messages */
	struct st_histo auth_latency; /* OPEN to USERAUTH_SUCCESS of its sessions */
};

struct st_ctl_backlog {
	struct st_plane_msg **m;
	uint32_t head, count;
};

struct st_ctl_shard {
	struct st_ctlplane *cp;
	unsigned index;
	pthread_t thread;
	int started;
	struct st_doorbell bell;                   /* sshapp.h: workers ring it */
	struct rte_ring *inbox;                    /* struct st_ctl_req *, admin -> shard */
	struct st_ctl_sess *sess[DP_MAX_WORKERS];  /* [max_sessions] for owned workers */
	struct st_ctl_backlog backlog[DP_MAX_WORKERS];
	/*
	 * Key exchanges of sources over their PerSourceKexRate share wait here
	 * (with every later message of their session, to keep its order) while
	 * other work is pending: cheap work first.
	 */
	struct {
		struct st_plane_msg **m;
		uint32_t head, count;
		uint64_t retry_ms; /* when the head may be looked at again */
	} kexq;
	struct st_ctl_sess *live;                  /* list head */
	struct st_conf_ref *conf;                  /* this thread's view of the current one */
	struct st_ctl_stats stats;                 /* written by this thread only */
	uint32_t nsess, nauthed;
	uint64_t backlog_full, backlogged, ctl_cycles;
	struct st_histo auth_latency;              /* written by this thread only */
	uint64_t last_tick_ms;
	int exit;                                  /* atomic: leave the loop */
	struct st_ctl_shard_pub pub;
	/*
	 * AuthorizedKeysCommand jobs finished by the pool's helper threads
	 * (control/akc_pool.h) come back here (a list under akc_mu, the bell
	 * rung); this thread hands each to its session.
	 */
	struct st_ctl_akc akc;                     /* what this shard's sessions submit with */
	pthread_mutex_t akc_mu;
	struct st_akc_job *akc_done;               /* under akc_mu */
	/*
	 * Key exchanges computed by the kex pool (control/kex_pool.h) come back
	 * the same way (a list under kex_mu, the bell rung). Each job holds a
	 * reference to its session's configuration (job->ref), so a reload or
	 * the session's end cannot free the host key it signs with; this thread
	 * drops it when the job is back. kexp.submit is NULL with KexThreads 0.
	 */
	struct st_ctl_kexp kexp;                   /* what this shard's sessions submit with */
	pthread_mutex_t kex_mu;
	struct st_kex_job *kex_done;               /* under kex_mu */
};

/* The shard that owns worker w's sessions. */
static inline unsigned st_ctl_shard_of(unsigned worker, unsigned nshards)
{
	return worker % nshards;
}

/* Allocates the shard's tables and doorbell. ST_OK or ST_ERR_ALLOC / ST_ERR_SYSTEM. */
int st_ctl_shard_init(struct st_ctl_shard *sh, struct st_ctlplane *cp, unsigned index);

/*
 * Starts the thread ("st-ctl-K"): on CPU `cpu`, or with cpu < 0 on DPDK's
 * control cpuset (the CPUs no lcore uses). ST_OK or ST_ERR_SYSTEM.
 */
int st_ctl_shard_start(struct st_ctl_shard *sh, int cpu);

/* Tells the thread to leave (after the sessions are gone), joins it, frees everything. */
void st_ctl_shard_stop(struct st_ctl_shard *sh);

/* Posts a request (admin thread). ST_OK, or ST_ERR_NO_SPACE (inbox full). */
int st_ctl_shard_post(struct st_ctl_shard *sh, struct st_ctl_req *rq);

/* Copies the shard's published counters (any thread). */
void st_ctl_shard_read_pub(const struct st_ctl_shard *sh, struct st_ctl_shard_pub *out);

#endif
