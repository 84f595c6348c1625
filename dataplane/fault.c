/* Seeded fault injector as ethdev RX/TX callbacks (design in fault.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
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
		if (strcmp(tok, "delay") == 0) {
			if (v > DP_FAULT_DELAY_MAX_MS)
				return ST_ERR_INVALID_ARGUMENT;
			c.delay_ms = (uint32_t)v;
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

int dp_fault_getenv(const char *var, struct dp_fault_cfg *out)
{
	const char *s = getenv(var);

	if (s == NULL || *s == '\0') {
		memset(out, 0, sizeof(*out));
		return ST_OK;
	}
	return dp_fault_parse(s, out);
}

void dp_fault_format(const struct dp_fault_cfg *c, char *buf, size_t len)
{
	if (!dp_fault_active(c))
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "drop=%u,dup=%u,reorder=%u,corrupt=%u,delay=%u,seed=%llu",
			 c->drop_pm, c->dup_pm, c->reorder_pm, c->corrupt_pm, c->delay_ms,
			 (unsigned long long)c->seed);
}

void dp_fault_init(struct dp_fault *f, const struct dp_fault_cfg *cfg, unsigned salt)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->rng = (cfg->seed ^ (0x9e3779b97f4a7c15ull * (salt + 1))) | 1;
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

static uint16_t eth_xmit(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(port, queue, pkts, n);
}

void dp_fault_queue_init(struct dp_fault_queue *q, const struct dp_fault_cfg *rx,
			 const struct dp_fault_cfg *tx, uint16_t port, uint16_t queue,
			 struct dp_stats *st, struct rte_mempool *pool)
{
	memset(q, 0, sizeof(*q));
	dp_fault_init(&q->rx, rx, 2u * queue);
	dp_fault_init(&q->tx, tx, 2u * queue + 1);
	q->st = st;
	q->pool = pool;
	q->xmit = eth_xmit;
	q->port = port;
	q->queue = queue;
}

/* A frame the receiver discards, standing in for a dropped or held TX packet. */
static struct rte_mbuf *filler_for(struct dp_fault_queue *q, const struct rte_mbuf *m)
{
	struct rte_mbuf *f = rte_pktmbuf_alloc(q->pool);
	uint8_t *p;

	if (!f)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(f, DP_FAULT_FILLER_LEN);
	if (!p) {
		rte_pktmbuf_free(f);
		return NULL;
	}
	memset(p, 0, DP_FAULT_FILLER_LEN);
	if (m->data_len >= 12)
		memcpy(p, rte_pktmbuf_mtod(m, const uint8_t *), 12);
	p[12] = DP_FAULT_FILLER_ETHERTYPE >> 8;
	p[13] = DP_FAULT_FILLER_ETHERTYPE & 0xff;
	return f;
}

/*
 * Runs in[0..n) through f into out (room for cap >= n), in order; returns the
 * count. With filler set (TX) a dropped or held packet leaves a filler frame,
 * flagged in filler[], or is not dropped / held when there is no mbuf for one.
 * With age set (RX) a held packet that waited DP_FAULT_HOLD_POLLS calls is
 * released at the end, and a corrupted packet loses the PMD's checksum verdict. A duplicate or a release needs a spare slot: cap minus
 * the slots taken and one for each input still to come.
 */
static uint16_t fault_run(struct dp_fault_queue *q, struct dp_fault *f, struct rte_mbuf **in,
			  uint16_t n, struct rte_mbuf **out, uint8_t *filler, uint16_t cap, int age)
{
	uint16_t k = 0;

#define SPARE(i) ((int)cap - (int)k - (int)(n - (i)))
#define EMIT(pkt, isfill)                     \
	do {                                  \
		if (filler)                   \
			filler[k] = (isfill); \
		out[k++] = (pkt);             \
	} while (0)
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = in[i], *fl = NULL;

		if (f->cfg.drop_pm && dp_fault_draw(f) < f->cfg.drop_pm &&
		    (!filler || (fl = filler_for(q, m)) != NULL)) {
			rte_pktmbuf_free(m);
			q->st->drop[DP_DROP_FAULT]++;
			if (fl)
				EMIT(fl, 1);
			continue;
		}
		if (f->cfg.corrupt_pm && dp_fault_draw(f) < f->cfg.corrupt_pm &&
		    m->data_len > 15 && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1) {
			uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
			unsigned at = 14 + dp_fault_draw(f) % (m->data_len - 14u);

			p[at] ^= (uint8_t)(1u << (dp_fault_draw(f) & 7));
			/* RX: the PMD judged the checksums before this; make the stack check them. */
			if (age)
				m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
			q->st->ctr[DP_CTR_FAULT_CORRUPT]++;
		}
		if (f->cfg.dup_pm && dp_fault_draw(f) < f->cfg.dup_pm && SPARE(i) >= 1) {
			struct rte_mbuf *c = rte_pktmbuf_clone(m, q->pool);

			if (c) {
				EMIT(c, 0);
				q->st->ctr[DP_CTR_FAULT_DUP]++;
			}
		}
		if (f->cfg.reorder_pm && !f->held && dp_fault_draw(f) < f->cfg.reorder_pm &&
		    (!filler || (fl = filler_for(q, m)) != NULL)) {
			f->held = m;
			f->held_passes = 0;
			q->st->ctr[DP_CTR_FAULT_REORDER]++;
			if (fl)
				EMIT(fl, 1);
			continue;
		}
		EMIT(m, 0);
		if (f->held && SPARE(i + 1) >= 1) {
			EMIT(f->held, 0);
			f->held = NULL;
		}
	}
	if (age && f->held && ++f->held_passes > DP_FAULT_HOLD_POLLS && k < cap) {
		EMIT(f->held, 0);
		f->held = NULL;
	}
#undef EMIT
#undef SPARE
	return k;
}

/* The callback's own transmission, past its own TX callback; what the PMD refuses is freed. */
static void xmit_own(struct dp_fault_queue *q, uint16_t port, uint16_t queue,
		     struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0, tries = 0;

	q->in_xmit = 1;
	while (sent < n && tries++ < 8)
		sent += q->xmit(port, queue, pkts + sent, n - sent);
	q->in_xmit = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (i < sent) {
			q->st->tx_pkts++;
			q->st->tx_bytes += pkts[i]->pkt_len;
		} else {
			q->st->drop[DP_DROP_TX_FULL]++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
}

uint16_t dp_fault_rx_cb(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t n,
			uint16_t max_pkts, void *arg)
{
	struct dp_fault_queue *q = arg;
	struct rte_mbuf *in[DP_FAULT_MAX_BURST];

	/* Every poll of the queue ages a held TX packet (held outside any poll, so >=). */
	if (q->tx.held && ++q->tx.held_passes >= DP_FAULT_HOLD_POLLS) {
		struct rte_mbuf *h = q->tx.held;

		q->tx.held = NULL;
		xmit_own(q, port, queue, &h, 1);
	}
	if (!dp_fault_active(&q->rx.cfg) || n > DP_FAULT_MAX_BURST || max_pkts < n)
		return n;
	if (q->rx.cfg.drop_pm || q->rx.cfg.dup_pm || q->rx.cfg.reorder_pm || q->rx.cfg.corrupt_pm) {
		memcpy(in, pkts, n * sizeof(in[0]));
		n = fault_run(q, &q->rx, in, n, pkts, NULL, max_pkts, 1);
	}
	if (q->delay.m)
		n = dp_fault_delay_run(q, pkts, n, max_pkts, rte_get_tsc_cycles());
	return n;
}

int dp_fault_delay_setup(struct dp_fault_queue *q, uint32_t cap, uint64_t tsc_hz)
{
	struct dp_fault_delay *d = &q->delay;

	d->m = rte_zmalloc("dp_fault_delay", cap * sizeof(d->m[0]), RTE_CACHE_LINE_SIZE);
	d->due = rte_zmalloc("dp_fault_delay", cap * sizeof(d->due[0]), RTE_CACHE_LINE_SIZE);
	if (!d->m || !d->due) {
		rte_free(d->m);
		rte_free(d->due);
		d->m = NULL;
		d->due = NULL;
		return ST_ERR_ALLOC;
	}
	d->cap = cap;
	d->head = d->n = 0;
	d->cycles = tsc_hz / 1000 * q->rx.cfg.delay_ms;
	return ST_OK;
}

uint16_t dp_fault_delay_run(struct dp_fault_queue *q, struct rte_mbuf *pkts[], uint16_t n,
			    uint16_t max_pkts, uint64_t now)
{
	struct dp_fault_delay *d = &q->delay;
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (d->n == d->cap) {
			rte_pktmbuf_free(pkts[i]);
			q->st->drop[DP_DROP_FAULT]++;
			continue;
		}
		uint32_t at = (d->head + d->n) % d->cap;

		d->m[at] = pkts[i];
		d->due[at] = now + d->cycles;
		d->n++;
		q->st->ctr[DP_CTR_FAULT_DELAYED]++;
	}
	/* In arrival order, so due times only grow: stop at the first one not due. */
	while (d->n > 0 && k < max_pkts && d->due[d->head] <= now) {
		pkts[k++] = d->m[d->head];
		d->m[d->head] = NULL;
		d->head = (d->head + 1) % d->cap;
		d->n--;
	}
	return k;
}

uint16_t dp_fault_tx_cb(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t n,
			void *arg)
{
	struct dp_fault_queue *q = arg;
	struct rte_mbuf *s[2 * DP_FAULT_MAX_BURST + 2];
	uint8_t filler[RTE_DIM(s)];
	uint16_t len, spare, k = 0;

	if (q->in_xmit || n == 0 || n > DP_FAULT_MAX_BURST || !dp_fault_active(&q->tx.cfg))
		return n;
	/* Every drop and hold left a filler, so len >= n. */
	len = fault_run(q, &q->tx, pkts, n, s, filler, RTE_DIM(s), 0);
	spare = (uint16_t)(len - n);
	for (uint16_t i = 0; i < len; i++) {
		if (filler[i] && spare > 0) { /* the extra packets cover this slot */
			rte_pktmbuf_free(s[i]);
			spare--;
			continue;
		}
		s[k++] = s[i];
	}
	if (k > n)
		xmit_own(q, port, queue, s, (uint16_t)(k - n));
	memcpy(pkts, s + (k - n), n * sizeof(pkts[0]));
	return n;
}

void dp_fault_queue_release(struct dp_fault_queue *q)
{
	rte_pktmbuf_free(q->rx.held);
	rte_pktmbuf_free(q->tx.held);
	q->rx.held = q->tx.held = NULL;
	if (q->delay.m) {
		for (; q->delay.n > 0; q->delay.n--) {
			rte_pktmbuf_free(q->delay.m[q->delay.head]);
			q->delay.head = (q->delay.head + 1) % q->delay.cap;
		}
		rte_free(q->delay.m);
		rte_free(q->delay.due);
		q->delay.m = NULL;
		q->delay.due = NULL;
	}
}

struct dp_fault_port {
	uint16_t port, nb_queues;
	struct dp_fault_queue *q[];
};

static void remove_callbacks(struct dp_fault_port *fp)
{
	for (uint16_t i = 0; i < fp->nb_queues; i++) {
		struct dp_fault_queue *q = fp->q[i];

		if (!q)
			continue;
		/* The port is stopped: nothing runs the callbacks, their memory can go. */
		if (q->rx_cb && rte_eth_remove_rx_callback(fp->port, i, q->rx_cb) == 0)
			rte_free((void *)(uintptr_t)q->rx_cb);
		if (q->tx_cb && rte_eth_remove_tx_callback(fp->port, i, q->tx_cb) == 0)
			rte_free((void *)(uintptr_t)q->tx_cb);
		q->rx_cb = q->tx_cb = NULL;
	}
}

void dp_fault_uninstall(struct dp_fault_port *fp)
{
	if (!fp)
		return;
	remove_callbacks(fp);
	for (uint16_t i = 0; i < fp->nb_queues; i++) {
		if (fp->q[i])
			dp_fault_queue_release(fp->q[i]);
		rte_free(fp->q[i]);
	}
	free(fp);
}

int dp_fault_install(uint16_t port, uint16_t nb_queues, const struct dp_fault_cfg *rx,
		     const struct dp_fault_cfg *tx, struct dp_stats *const *st,
		     struct rte_mempool *const *pool, struct dp_fault_port **out)
{
	struct dp_fault_port *fp;
	char rs[96], ts[96];
	/* A held TX packet is aged by the RX callback. */
	int want_rx = dp_fault_active(rx) || tx->reorder_pm, want_tx = dp_fault_active(tx);

	*out = NULL;
	if (!want_rx && !want_tx)
		return ST_OK;
	if (tx->delay_ms) {
		fprintf(stderr, "dataplane: the fault injector delays received packets only "
				"(delay= in the RX spec)\n");
		return ST_ERR_INVALID_ARGUMENT;
	}
	if ((fp = calloc(1, sizeof(*fp) + nb_queues * sizeof(fp->q[0]))) == NULL)
		return ST_ERR_ALLOC;
	fp->port = port;
	fp->nb_queues = nb_queues;
	for (uint16_t i = 0; i < nb_queues; i++) {
		struct dp_fault_queue *q;

		q = rte_zmalloc_socket("dp_fault_queue", sizeof(*q), RTE_CACHE_LINE_SIZE,
				       pool[i]->socket_id);
		if (!q) {
			dp_fault_uninstall(fp);
			return ST_ERR_ALLOC;
		}
		fp->q[i] = q;
		dp_fault_queue_init(q, rx, tx, port, i, st[i], pool[i]);
		if (rx->delay_ms && dp_fault_delay_setup(q, DP_FAULT_DELAY_CAP, rte_get_tsc_hz()) != ST_OK) {
			dp_fault_uninstall(fp);
			return ST_ERR_ALLOC;
		}
		if ((want_rx && (q->rx_cb = rte_eth_add_rx_callback(port, i, dp_fault_rx_cb, q)) == NULL) ||
		    (want_tx && (q->tx_cb = rte_eth_add_tx_callback(port, i, dp_fault_tx_cb, q)) == NULL)) {
			fprintf(stderr, "dataplane: port %u queue %u: fault injector callback: %s\n",
				port, i, rte_strerror(rte_errno));
			dp_fault_uninstall(fp);
			return ST_ERR_SYSTEM;
		}
	}
	dp_fault_format(rx, rs, sizeof(rs));
	dp_fault_format(tx, ts, sizeof(ts));
	fprintf(stderr,
		"dataplane: WARNING: test-only fault injection active on port %u (%u queue%s): "
		"rx %s, tx %s\n",
		port, nb_queues, nb_queues == 1 ? "" : "s", rs, ts);
	*out = fp;
	return ST_OK;
}
