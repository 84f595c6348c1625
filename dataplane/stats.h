/*
 * Per-worker counters. Each worker owns one cache-aligned struct dp_stats and
 * updates it with plain adds; no other thread reads it while the worker runs.
 * Every DP_STATS_PUB_MS the worker copies it into its struct dp_stats_pub
 * (a single-writer seqcount), which the control plane and telemetry read
 * tear-free with dp_stats_read_pub (at most that many ms old).
 */
#ifndef ST_DATAPLANE_STATS_H
#define ST_DATAPLANE_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "dataplane/seqcount.h"

enum dp_drop {
	DP_DROP_NONE = 0,
#define DP_DROP(name, text) DP_DROP_##name,
#include "dataplane/drop_reasons.def"
#undef DP_DROP
	DP_DROP_MAX
};

enum dp_ctr {
#define DP_CTR(name, text) DP_CTR_##name,
#include "dataplane/counters.def"
#undef DP_CTR
	DP_CTR_MAX
};

struct dp_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t busy_tsc;  /* TSC cycles spent in passes that did work */
	uint64_t idle_tsc;  /* TSC cycles spent in empty passes */
	uint64_t io_tsc;    /* part of busy_tsc spent inside rx/tx burst calls (PMD + kernel for TAP) */
	uint64_t app_tsc;   /* part of busy_tsc in the application: TCP events and the poll hook
			     * (the SSH layer, services, and the TCP calls they make) */
	uint64_t crypto_tsc; /* part of app_tsc inside record crypto (dp_cfg.crypto_cycles) */
	uint64_t service_tsc; /* part of app_tsc inside services (dp_cfg.service_cycles) */
	uint64_t busy_polls;
	uint64_t idle_polls;
	uint64_t drop[DP_DROP_MAX];
	uint64_t ctr[DP_CTR_MAX];
} __attribute__((aligned(64)));

#define DP_STATS_PUB_MS 10

/* A worker's published counters: written by the worker, read by anyone. */
struct dp_stats_pub {
	st_seqcount_t sc;
	struct dp_stats s;
} __attribute__((aligned(64)));

/* The owner publishes a copy of *s. */
void dp_stats_publish(struct dp_stats_pub *p, const struct dp_stats *s);
/* Any thread: a consistent copy of the last published counters. */
void dp_stats_read_pub(const struct dp_stats_pub *p, struct dp_stats *out);

/* Name ("TCP_CSUM") and description of a drop reason; never NULL. */
const char *dp_drop_name(unsigned reason);
const char *dp_drop_text(unsigned reason);
/* Name ("TCP_RETRANS") and description of an event counter; never NULL. */
const char *dp_ctr_name(unsigned ctr);
const char *dp_ctr_text(unsigned ctr);

/* Adds every field of src into dst. */
void dp_stats_add(struct dp_stats *dst, const struct dp_stats *src);

/* Prints non-zero counters as "prefix key=value" lines. */
void dp_stats_print(FILE *f, const char *prefix, const struct dp_stats *s);

#endif
