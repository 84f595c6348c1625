/* Per-worker counters: names and printing. */
#include <inttypes.h>
#include <string.h>

#include "dataplane/stats.h"

static const char *const drop_names[DP_DROP_MAX] = {
	[DP_DROP_NONE] = "NONE",
#define DP_DROP(name, text) [DP_DROP_##name] = #name,
#include "dataplane/drop_reasons.def"
#undef DP_DROP
};

static const char *const drop_texts[DP_DROP_MAX] = {
	[DP_DROP_NONE] = "not dropped",
#define DP_DROP(name, text) [DP_DROP_##name] = text,
#include "dataplane/drop_reasons.def"
#undef DP_DROP
};

static const char *const ctr_names[DP_CTR_MAX] = {
#define DP_CTR(name, text) [DP_CTR_##name] = #name,
#include "dataplane/counters.def"
#undef DP_CTR
};

static const char *const ctr_texts[DP_CTR_MAX] = {
#define DP_CTR(name, text) [DP_CTR_##name] = text,
#include "dataplane/counters.def"
#undef DP_CTR
};

const char *dp_drop_name(unsigned reason)
{
	return reason < DP_DROP_MAX ? drop_names[reason] : "UNKNOWN";
}

const char *dp_drop_text(unsigned reason)
{
	return reason < DP_DROP_MAX ? drop_texts[reason] : "unknown drop reason";
}

const char *dp_ctr_name(unsigned ctr)
{
	return ctr < DP_CTR_MAX ? ctr_names[ctr] : "UNKNOWN";
}

const char *dp_ctr_text(unsigned ctr)
{
	return ctr < DP_CTR_MAX ? ctr_texts[ctr] : "unknown counter";
}

void dp_stats_add(struct dp_stats *dst, const struct dp_stats *src)
{
	dst->rx_pkts += src->rx_pkts;
	dst->rx_bytes += src->rx_bytes;
	dst->tx_pkts += src->tx_pkts;
	dst->tx_bytes += src->tx_bytes;
	dst->busy_tsc += src->busy_tsc;
	dst->idle_tsc += src->idle_tsc;
	dst->io_tsc += src->io_tsc;
	dst->busy_polls += src->busy_polls;
	dst->idle_polls += src->idle_polls;
	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		dst->drop[i] += src->drop[i];
	for (unsigned i = 0; i < DP_CTR_MAX; i++)
		dst->ctr[i] += src->ctr[i];
}

void dp_stats_print(FILE *f, const char *prefix, const struct dp_stats *s)
{
	uint64_t pkts = s->rx_pkts + s->tx_pkts, bytes = s->rx_bytes + s->tx_bytes;

	fprintf(f, "%s rx_pkts=%" PRIu64 " rx_bytes=%" PRIu64 " tx_pkts=%" PRIu64
		   " tx_bytes=%" PRIu64 "\n",
		prefix, s->rx_pkts, s->rx_bytes, s->tx_pkts, s->tx_bytes);
	fprintf(f, "%s busy_tsc=%" PRIu64 " io_tsc=%" PRIu64 " idle_tsc=%" PRIu64
		   " busy_polls=%" PRIu64 " idle_polls=%" PRIu64 "\n",
		prefix, s->busy_tsc, s->io_tsc, s->idle_tsc, s->busy_polls, s->idle_polls);
	if (pkts) {
		/* all busy cycles, and without the time inside the PMD's burst calls */
		uint64_t own = s->busy_tsc > s->io_tsc ? s->busy_tsc - s->io_tsc : 0;

		fprintf(f, "%s cycles_per_pkt=%.1f cycles_per_byte=%.3f\n", prefix,
			(double)s->busy_tsc / (double)pkts,
			bytes ? (double)s->busy_tsc / (double)bytes : 0.0);
		fprintf(f, "%s stack_cycles_per_pkt=%.1f stack_cycles_per_byte=%.3f\n", prefix,
			(double)own / (double)pkts, bytes ? (double)own / (double)bytes : 0.0);
	}
	for (unsigned i = 1; i < DP_DROP_MAX; i++)
		if (s->drop[i])
			fprintf(f, "%s drop.%s=%" PRIu64 "\n", prefix, drop_names[i], s->drop[i]);
	for (unsigned i = 0; i < DP_CTR_MAX; i++)
		if (s->ctr[i])
			fprintf(f, "%s ctr.%s=%" PRIu64 "\n", prefix, ctr_names[i], s->ctr[i]);
}

void dp_stats_publish(struct dp_stats_pub *p, const struct dp_stats *s)
{
	st_seq_write_begin(&p->sc);
	memcpy(&p->s, s, sizeof(*s));
	st_seq_write_end(&p->sc);
}

void dp_stats_read_pub(const struct dp_stats_pub *p, struct dp_stats *out)
{
	uint32_t sn;

	do {
		sn = st_seq_read_begin(&p->sc);
		memcpy(out, &p->s, sizeof(*out));
	} while (st_seq_read_retry(&p->sc, sn));
}
