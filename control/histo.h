/*
 * A fixed-bucket latency histogram (Prometheus style): counts per upper
 * bound, their sum and count. The bounds are the same for every histogram
 * of the daemon (ST_HISTO_BOUNDS_US), so shards' histograms add up.
 *
 * Ownership: a struct st_histo has one writer (the control shard that owns
 * it, with plain adds); other threads read the copy the shard publishes in
 * its seqcount snapshot (ctl_shard.h, struct st_ctl_shard_pub).
 */
#ifndef ST_CONTROL_HISTO_H
#define ST_CONTROL_HISTO_H

#include <stdint.h>

/* Upper bounds in microseconds, ascending; the +Inf bucket comes after them. */
#define ST_HISTO_NBOUNDS 14
extern const uint64_t st_histo_bounds_us[ST_HISTO_NBOUNDS];

struct st_histo {
	uint64_t bucket[ST_HISTO_NBOUNDS + 1]; /* not cumulative; [NBOUNDS]: above the last bound */
	uint64_t count;
	uint64_t sum_us;
};

/* Counts one observation of `us` microseconds. */
void st_histo_observe(struct st_histo *h, uint64_t us);

/* Adds every bucket, the count and the sum of src into dst. */
void st_histo_add(struct st_histo *dst, const struct st_histo *src);

/* Observations <= st_histo_bounds_us[i] (i < ST_HISTO_NBOUNDS), or all (i == NBOUNDS). */
uint64_t st_histo_cumulative(const struct st_histo *h, unsigned i);

#endif
