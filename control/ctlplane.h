/*
 * The daemon's control plane: ControlThreads shards (control/ctl_shard.h),
 * each owning the sessions of some workers, and one admin thread that owns
 * the operator control socket (sshtermctl), the signals (a signalfd), the
 * reloads and the polite shutdown. Neither touches packets or TCP state.
 *
 * Threads and what they own:
 *   st-ctl-K (K < nshards)  its sessions (st_ctl_sess, st_ctl_conn), the
 *                           down rings of its workers (sole producer) and
 *                           their up rings (sole consumer)
 *   st-akc-N (N < 4)        one AuthorizedKeysCommand child each at a
 *                           time (control/akc_pool.h); jobs go back to the
 *                           submitting shard through its akc_done list
 *   st-kex-N (N < KexThreads) the server side of key exchanges: shared
 *                           secret, exchange hash, host-key signature,
 *                           keys (control/kex_pool.h); jobs (copies, and a
 *                           configuration reference for the host key) go
 *                           back to the submitting shard's kex_done list
 *   st-admin                the control socket, the signalfd, reload
 *                           (loads the file and host keys off the session
 *                           path), shutdown, and the MetricsListen HTTP
 *                           server (control/metrics_http.h)
 *   DPDK telemetry          nothing: reads published snapshots
 * Shared, with the rule each follows:
 *   confs                   refcounted configurations (ctl_confs.h)
 *   unauth, next_id, startups_dropped, quit, reload: atomics
 *   worker and shard counters: seqcount snapshots (dp_worker_stats_read,
 *                           st_sshapp_worker_stats, st_ctl_shard_read_pub)
 */
#ifndef ST_CONTROL_CTLPLANE_H
#define ST_CONTROL_CTLPLANE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "control/akc_pool.h"
#include "control/conffile.h"
#include "control/kex_pool.h"
#include "control/conn.h"
#include "control/ctl_confs.h"
#include "control/log.h"
#include "control/ctl_shard.h"
#include "control/srclimit.h"
#include "dataplane/dp.h"
#include "dataplane/ssh/sshapp.h"

struct st_ctlsock;
struct st_metrics_http;

struct st_ctlplane {
	/* set by the caller before st_ctlplane_init */
	const char *conf_path;
	struct st_conf_ref *first_conf; /* taken over by init */
	struct st_sshapp *app;
	struct dp_ctx *dp;
	unsigned nb_workers;
	uint32_t max_sessions;        /* per worker */
	/* Where log lines go (control/log.h): stderr with -e/-d, else syslog;
	 * max_prio follows LogLevel (-d: DEBUG) and reloads (atomic int). */
	struct st_log log;
	int log_forced;               /* -d: LogLevel DEBUG whatever the file says */
	volatile int *dp_quit;        /* tells the workers to stop */
	/* set up by init */
	struct st_confs confs;
	unsigned nshards;
	struct st_ctl_shard *shards;
	struct st_ctlsock *sock;
	struct st_metrics_http *metrics; /* MetricsListen, NULL when off (admin thread) */
	int sig_fd;                   /* signalfd: SIGINT, SIGTERM, SIGHUP */
	time_t started;
	pthread_t admin;
	int admin_started;
	/*
	 * Per-source limits (PerSource*): one table for the daemon, so that a
	 * source's connections count together whichever shard owns them. The
	 * mutex is held only for one O(1) table call (never across crypto or
	 * I/O). Configured at start; a reload does not change it.
	 */
	struct st_srclimit src;
	pthread_mutex_t src_lock;
	/*
	 * AuthorizedKeysCommand helpers (control/akc_pool.h), shared by the
	 * shards: started with the shards whether or not a command is
	 * configured (a reload may add one), stopped before them.
	 */
	struct st_akc_pool akc;
	/*
	 * Key-exchange helpers (control/kex_pool.h), shared by the shards:
	 * kex_threads of them (KexThreads, "auto" resolved; 0: the shards
	 * compute their own exchanges), set at start, stopped before the shards.
	 */
	struct st_kex_pool kexp;
	unsigned kex_threads;
	/* atomics, shared by every control thread */
	uint64_t next_id;             /* session ids shown to operators */
	unsigned unauth;              /* connections not yet authenticated (MaxStartups) */
	uint64_t startups_dropped;    /* connections refused by MaxStartups */
	int quit;                     /* start the shutdown */
};

/*
 * The signals the control plane takes through its signalfd. The daemon
 * blocks them in every thread (call before any thread is created, i.e.
 * before rte_eal_init): ST_OK or ST_ERR_SYSTEM.
 */
int st_ctlplane_block_signals(void);

/*
 * Prepares the control plane (shards, control socket, signalfd). The
 * configuration must already hold its host keys. Returns ST_OK or an error
 * with a message in err.
 */
int st_ctlplane_init(struct st_ctlplane *cp, char *err, size_t errsz);

/* Starts the shards and the admin thread. ST_OK or ST_ERR_SYSTEM (err says which). */
int st_ctlplane_start(struct st_ctlplane *cp, char *err, size_t errsz);

/* Asks for the shutdown (any thread; async-signal-safe). */
void st_ctlplane_quit(struct st_ctlplane *cp);

/* Waits for the threads (after the shutdown) and frees everything. */
void st_ctlplane_join(struct st_ctlplane *cp);

/* Log line in syslog-like form on stderr: "sshterm[pid]: <line>". */
void st_ctlplane_log(void *ctx, int level, const char *line);
void st_ctlplane_logf(struct st_ctlplane *cp, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sessions and authenticated ones, summed over the shards' published counters. */
unsigned st_ctlplane_sessions(struct st_ctlplane *cp, unsigned *authed);

/* The control counters summed over the shards. */
void st_ctlplane_stats(struct st_ctlplane *cp, struct st_ctl_stats *out);

/*
 * Re-reads the configuration file and the host keys it names (admin thread).
 * New connections use the new configuration; live sessions keep theirs until
 * they end. Listen address, port, interface, ControlThreads and ControlCpus
 * are not changed by a reload. ST_OK, or an error with a message in err.
 */
int st_ctlplane_reload(struct st_ctlplane *cp, char *err, size_t errsz);

/* Registers the operator commands on cp->sock (ctl_admin.c). */
void st_ctl_admin_register(struct st_ctlplane *cp);

#endif
