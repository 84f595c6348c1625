/* Seeded fault injector. */
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "crypto/err.h"
#include "dataplane/fault.h"

int dp_fault_parse(const char *s, struct dp_fault_cfg *out)
{
	struct dp_fault_cfg c;
	char buf[256], *save = NULL, *tok;

	memset(&c, 0, sizeof(c));
	c.seed = 1;
	if (strlen(s) >= sizeof(buf))
		return ST_ERR_INVALID_ARGUMENT;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long long v;

		if (!eq)
			return ST_ERR_INVALID_ARGUMENT;
		*eq = 0;
		v = strtoull(eq + 1, &end, 0);
		if (*end || end == eq + 1)
			return ST_ERR_INVALID_ARGUMENT;
		if (strcmp(tok, "seed") == 0) {
			c.seed = v;
			continue;
		}
		if (v > 1000)
			return ST_ERR_INVALID_ARGUMENT;
		if (strcmp(tok, "drop") == 0)
			c.drop_pm = (uint16_t)v;
		else if (strcmp(tok, "dup") == 0)
			c.dup_pm = (uint16_t)v;
		else if (strcmp(tok, "reorder") == 0)
			c.reorder_pm = (uint16_t)v;
		else if (strcmp(tok, "corrupt") == 0)
			c.corrupt_pm = (uint16_t)v;
		else
			return ST_ERR_INVALID_ARGUMENT;
	}
	*out = c;
	return ST_OK;
}

void dp_fault_init(struct dp_fault *f, const struct dp_fault_cfg *cfg, unsigned salt,
		   struct rte_mempool *clone_pool)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->rng = (cfg->seed ^ (0x9e3779b97f4a7c15ull * (salt + 1))) | 1;
	f->clone_pool = clone_pool;
}

unsigned dp_fault_draw(struct dp_fault *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return (unsigned)(((x * 0x2545f4914f6cdd1dull) >> 32) % 1000);
}

uint16_t dp_fault_apply(struct dp_fault *f, struct rte_mbuf **pkts, uint16_t n, uint16_t cap,
			struct dp_stats *st)
{
	struct rte_mbuf *out[2 * 64 + 2];
	uint16_t k = 0, i;
	uint16_t lim = cap < RTE_DIM(out) ? cap : RTE_DIM(out);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (k + 2 >= lim) { /* no room to play: pass through */
			out[k++] = m;
			continue;
		}
		if (f->cfg.drop_pm && dp_fault_draw(f) < f->cfg.drop_pm) {
			rte_pktmbuf_free(m);
			st->drop[DP_DROP_FAULT]++;
			continue;
		}
		if (f->cfg.corrupt_pm && dp_fault_draw(f) < f->cfg.corrupt_pm &&
		    m->data_len > 15 && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1) {
			uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
			unsigned at = 14 + dp_fault_draw(f) % (m->data_len - 14u);

			p[at] ^= (uint8_t)(1u << (dp_fault_draw(f) & 7));
			st->ctr[DP_CTR_FAULT_CORRUPT]++;
		}
		if (f->cfg.dup_pm && dp_fault_draw(f) < f->cfg.dup_pm) {
			struct rte_mbuf *c = rte_pktmbuf_clone(m, f->clone_pool);

			if (c) {
				out[k++] = c;
				st->ctr[DP_CTR_FAULT_DUP]++;
			}
		}
		if (f->cfg.reorder_pm && !f->held && dp_fault_draw(f) < f->cfg.reorder_pm) {
			f->held = m;
			f->held_passes = 0;
			st->ctr[DP_CTR_FAULT_REORDER]++;
			continue;
		}
		out[k++] = m;
		if (f->held) {
			out[k++] = f->held;
			f->held = NULL;
		}
	}
	if (f->held && ++f->held_passes > 4 && k < lim) {
		out[k++] = f->held;
		f->held = NULL;
	}
	memcpy(pkts, out, k * sizeof(out[0]));
	return k;
}

void dp_fault_release(struct dp_fault *f)
{
	if (f->held) {
		rte_pktmbuf_free(f->held);
		f->held = NULL;
	}
}
