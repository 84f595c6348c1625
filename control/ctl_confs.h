/*
 * Configuration lifetime across reloads: the current configuration and the
 * ones replaced by a reload that sessions or readers still use.
 *
 * Ownership: shared by every control-side thread (control shards, the admin
 * thread, DPDK's telemetry thread); the table below is the only way to reach
 * a configuration. A reader takes a reference (st_confs_get) and drops it
 * (st_confs_put) when done; a session holds one for its whole life, because
 * its st_ctl_conn points into the configuration it started with. A
 * configuration is freed when its last reference is dropped, so a reload
 * never frees memory a reader is looking at, and any number of reloads may
 * be in flight while old sessions live on.
 *
 * The mutex guards only the swap of `current` and the increment that goes
 * with reading it; none of this is on a packet path (a control thread takes
 * a reference per new connection, see st_confs_get_cached for the cheap way).
 */
#ifndef ST_CONTROL_CTL_CONFS_H
#define ST_CONTROL_CTL_CONFS_H

#include <pthread.h>
#include <stdint.h>

#include "control/conffile.h"

/* A configuration with its reference count. */
struct st_conf_ref {
	struct st_daemon_conf conf;
	unsigned refs;     /* atomic */
	uint64_t version;  /* 1 for the first configuration, +1 per reload */
};

struct st_confs {
	pthread_mutex_t lock;
	struct st_conf_ref *current; /* holds one reference itself */
	uint64_t version;            /* atomic: current->version */
	unsigned live;               /* atomic: configurations not yet freed */
};

/*
 * Takes over `first` (a loaded configuration, heap-allocated by the caller
 * as a struct st_conf_ref) as the current one. Returns ST_OK.
 */
int st_confs_init(struct st_confs *cs, struct st_conf_ref *first);

/* Drops the table's own reference; the caller must have dropped all of its. */
void st_confs_fini(struct st_confs *cs);

/* A new, empty st_conf_ref (st_daemon_conf_init done), or NULL. */
struct st_conf_ref *st_conf_ref_new(void);

/* The current configuration, with a reference taken. Never NULL after init. */
struct st_conf_ref *st_confs_get(struct st_confs *cs);

/* Drops a reference; the last one frees the configuration. NULL is a no-op. */
void st_confs_put(struct st_confs *cs, struct st_conf_ref *c);

/* Makes `n` (one reference, the caller's, passed on) current; drops the table's old one. */
void st_confs_replace(struct st_confs *cs, struct st_conf_ref *n);

/*
 * For a thread that keeps its own reference to "the current configuration"
 * in *cached: when a reload happened since, swaps it for the new one
 * (dropping the old). One atomic load when nothing changed. Returns *cached.
 */
struct st_conf_ref *st_confs_get_cached(struct st_confs *cs, struct st_conf_ref **cached);

/* Configurations still allocated (current plus retired ones with users). */
unsigned st_confs_live(struct st_confs *cs);

#endif
