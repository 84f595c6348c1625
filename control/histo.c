#include "control/histo.h"

/* 1 ms .. 30 s: a loopback login is a few ms, a slow RSA client or a busy shard seconds. */
const uint64_t st_histo_bounds_us[ST_HISTO_NBOUNDS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000,
};

void st_histo_observe(struct st_histo *h, uint64_t us)
{
	unsigned i = 0;

	while (i < ST_HISTO_NBOUNDS && us > st_histo_bounds_us[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}

void st_histo_add(struct st_histo *dst, const struct st_histo *src)
{
	for (unsigned i = 0; i <= ST_HISTO_NBOUNDS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum_us += src->sum_us;
}

uint64_t st_histo_cumulative(const struct st_histo *h, unsigned i)
{
	uint64_t n = 0;

	if (i > ST_HISTO_NBOUNDS)
		i = ST_HISTO_NBOUNDS;
	for (unsigned k = 0; k <= i; k++)
		n += h->bucket[k];
	return n;
}
