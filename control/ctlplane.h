/*
 * The daemon's control-plane thread: it owns every st_ctl_conn, moves planes
 * messages between them and the workers' rings, ticks LoginGraceTime, serves
 * the operator control socket (sshtermctl), reloads on request and shuts the
 * sessions down politely at exit. It never touches packets or TCP state;
 * it reads the workers' counters for `stats`.
 */
#ifndef ST_CONTROL_CTLPLANE_H
#define ST_CONTROL_CTLPLANE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "control/conffile.h"
#include "control/conn.h"
#include "dataplane/dp.h"
#include "dataplane/ssh/sshapp.h"

struct st_ctlplane_sess; /* per-connection bookkeeping */

#define ST_CTLPLANE_MAX_RETIRED 8
struct st_ctlsock;

struct st_ctlplane {
	const char *conf_path;
	struct st_daemon_conf *conf;  /* current configuration (owned) */
	struct st_sshapp *app;
	struct dp_ctx *dp;
	unsigned nb_workers;
	uint32_t max_sessions;        /* per worker */
	struct st_ctlplane_sess *sess[DP_MAX_WORKERS]; /* [max_sessions] per worker */
	struct st_ctl_stats stats;
	struct st_ctlsock *sock;
	/* Configurations replaced by a reload, kept while sessions still use them. */
	struct {
		struct st_daemon_conf *conf;
		unsigned users;
	} retired[ST_CTLPLANE_MAX_RETIRED];
	uint64_t next_id;             /* session ids shown to operators */
	unsigned unauth;              /* connections not yet authenticated (MaxStartups) */
	uint64_t startups_dropped;    /* connections refused by MaxStartups */
	time_t started;
	int debug;                    /* -d: log to stderr at debug level */
	volatile int quit;            /* set by signals: start shutdown */
	volatile int reload;          /* set by SIGHUP */
	volatile int *dp_quit;        /* tells the workers to stop */
	pthread_t thread;
};

/*
 * Prepares the control plane (control socket, session tables). The config
 * must already hold its host keys. Returns ST_OK or an error with a message
 * in err.
 */
int st_ctlplane_init(struct st_ctlplane *cp, char *err, size_t errsz);

/* Starts the control thread. */
int st_ctlplane_start(struct st_ctlplane *cp);

/* Waits for the thread (after quit) and frees everything. */
void st_ctlplane_join(struct st_ctlplane *cp);

/* Log line in syslog-like form on stderr: "sshterm[pid]: <line>". */
void st_ctlplane_log(void *ctx, int level, const char *line);

#endif
