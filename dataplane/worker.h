/* Worker loop internals shared by port.c and worker.c. */
#ifndef ST_DATAPLANE_WORKER_H
#define ST_DATAPLANE_WORKER_H

#include "dataplane/dp.h"

/* Handles one received frame (takes ownership). */
void dp_worker_input(struct dp_worker *w, struct rte_mbuf *m);
/* Runs until *cfg->quit; returns 0 after draining, or on_start's error (negative) at once. */
int dp_worker_loop(struct dp_worker *w);

#endif
