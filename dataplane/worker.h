/* Worker loop internals shared by port.c and worker.c. */
#ifndef ST_DATAPLANE_WORKER_H
#define ST_DATAPLANE_WORKER_H

#include "dataplane/dp.h"

/* Handles one received frame (takes ownership). */
void dp_worker_input(struct dp_worker *w, struct rte_mbuf *m);
/* A TCP segment in an IPv6 packet for one of our unicast addresses (nd.c checked it). */
struct dp_ipv6_info;
void dp_ipv6_tcp_input(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ether_hdr *eh,
		       const struct dp_ipv6_info *ip);
/* Runs until *cfg->quit; returns 0 after draining, or on_start's error (negative) at once. */
int dp_worker_loop(struct dp_worker *w);

#endif
