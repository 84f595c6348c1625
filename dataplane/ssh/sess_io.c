/*
 * Client connections of the SSH application: TCP events, received bytes into
 * the session, and sealing straight into mbufs.
 *
 * Send path (no copy): the session seals each packet in place into an mbuf
 * that this file reserves through st_wsess_tx_ops. A packet that fits the
 * tail of the mbuf sealed last goes there (window adjusts, interactive
 * bytes); a packet that fits a fresh mbuf of the port's pool gets one; a
 * bigger one (bulk CHANNEL_DATA) gets an mbuf of the worker's seal pool,
 * which holds a whole ST_CHAN_MAX_DATA packet. Sealed mbufs wait in the
 * session's txq until the end of the service pass and then go to TCP as one
 * chain; TCP transmits and retransmits those same bytes through indirect
 * mbufs. Reservations are refused while TCP's send buffer is full (the
 * session holds its output and TCP's writable() brings it back) and when no
 * mbuf is free (the session goes on the worker's starved list and is retried
 * every pass, so pool exhaustion stalls only the sessions that need mbufs).
 *
 * Sharing the seal pool: a session's TCP send buffer bounds what it holds (a
 * few seal mbufs), but sessions whose clients stop reading keep theirs, and
 * enough of them would take the whole pool: every other session's bulk
 * output would then stall. So the last quarter of the pool (seal_reserve) is
 * only for sessions with less than SEAL_SHARE bytes in flight: one that has
 * more waits (TX_SEAL_CAPPED) until the pool is above the reserve again or
 * its own bytes are acknowledged. Every session can thus always start to
 * send, at a window of SEAL_SHARE bytes at worst.
 */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/app_internal.h"

#define SERVICE_PASSES 4
#define STARVED_PER_PASS 64
#define SEAL_SHARE (64u * 1024u) /* in flight, a session may use the seal pool's reserve */

/* What a starved session waits for. */
enum starve_why {
	STARVE_PORT,   /* a port-pool mbuf */
	STARVE_SEAL,   /* a seal mbuf */
	STARVE_CAPPED, /* the seal pool above its reserve (or its own bytes acknowledged) */
	STARVE_CREDIT, /* the control plane to take some of its messages (input held) */
	STARVE_CRYPTO, /* room in the worker's asynchronous seal ring */
};

/* ---- credit for control-bound messages (sshapp.h ST_UP_CREDIT_*) ---- */

/* Packets the session may open now. */
static uint32_t credit_avail(const struct sess *s)
{
	const struct st_up_done *d = &s->aw->app->up_done[s->aw->w->id][s->slot];
	/* Messages of the slot's previous session may be counted after the base
	 * was read: differences are taken signed and floored at zero. */
	int32_t msgs = (int32_t)(s->up_sent_msgs -
				 (__atomic_load_n(&d->msgs, __ATOMIC_ACQUIRE) - s->up_base_msgs));
	int32_t bytes = (int32_t)(s->up_sent_bytes -
				  (__atomic_load_n(&d->bytes, __ATOMIC_ACQUIRE) - s->up_base_bytes));
	uint32_t room = 0;

	if (msgs < 0)
		msgs = 0;
	if (bytes < (int32_t)ST_UP_CREDIT_BYTES && (uint32_t)msgs < ST_UP_CREDIT_MSGS)
		room = ST_UP_CREDIT_MSGS - (uint32_t)msgs;
	return room;
}

/* The same, and tells the session (its packets are opened up to it). */
static uint32_t credit_room(struct sess *s)
{
	return s->ws.up_room = credit_avail(s);
}

/* Free entries of the seal ring a session needs before it frames more: one
 * whole burst (wsess.c submits at most ST_RECORD_BURST at a time). */
#define TXC_NEED (ST_RECORD_BURST + 1u)

static int txc_room(const struct st_sshapp_worker *aw)
{
	const struct txc *q = aw->txc;
	return q == NULL || TXC_SIZE - (q->tail - q->head) >= TXC_NEED;
}

/* ---- mbuf segment lists ---- */

/* Frees the first segment of a segment list and returns the rest. */
struct rte_mbuf *st_app_seg_pop(struct rte_mbuf *m)
{
	struct rte_mbuf *next = m->next;
	m->next = NULL;
	m->nb_segs = 1;
	rte_pktmbuf_free_seg(m);
	return next;
}

void st_app_segs_free(struct rte_mbuf *m)
{
	while (m != NULL)
		m = st_app_seg_pop(m);
}

/* Appends a segment list to another (either may be empty). */
struct rte_mbuf *st_app_segs_append(struct rte_mbuf *list, struct rte_mbuf *more)
{
	if (list == NULL)
		return more;
	struct rte_mbuf *t = list;
	while (t->next != NULL)
		t = t->next;
	t->next = more;
	return list;
}

/* Builds an mbuf chain holding p[0..n); NULL when no mbuf is free. */
struct rte_mbuf *st_app_chain_from_bytes(struct st_sshapp_worker *aw, const uint8_t *p, size_t n,
					 size_t *took)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	size_t off = 0;

	while (off < n) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(aw->w->pool);
		if (m == NULL) {
			aw->cnt[ST_SSHAPP_TX_NOMBUF]++;
			break;
		}
		uint16_t room = rte_pktmbuf_tailroom(m);
		size_t len = n - off < room ? n - off : room;
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), p + off, len);
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += (uint32_t)len;
		}
		last = m;
		off += len;
	}
	*took = off;
	return head;
}

/* ---- starved sessions: no mbuf was free ---- */

/* Puts a session at the back of the starved list (once). */
static void starve_queue(struct sess *s)
{
	struct st_sshapp_worker *aw = s->aw;

	if (s->starved)
		return;
	s->starved = 1;
	s->next_starved = NO_SLOT;
	if (aw->starved_tail == NO_SLOT)
		aw->starved_head = s->slot;
	else
		aw->sess[aw->starved_tail].next_starved = s->slot;
	aw->starved_tail = s->slot;
	aw->starved_count++;
}

static void starve(struct sess *s, enum starve_why why)
{
	struct st_sshapp_worker *aw = s->aw;

	aw->cnt[why == STARVE_CAPPED	? ST_SSHAPP_TX_SEAL_CAPPED
		: why == STARVE_CRYPTO ? ST_SSHAPP_TX_CRYPTO_RING_FULL
				       : ST_SSHAPP_TX_NOMBUF]++;
	s->starve_why = (uint8_t)why;
	starve_queue(s);
}

/* Free mbufs of the two pools, as one retry pass sees them. */
struct pool_free {
	unsigned port, seal;
};

static void pool_free_now(const struct st_sshapp_worker *aw, struct pool_free *f)
{
	f->port = rte_mempool_avail_count(aw->w->pool);
	f->seal = rte_mempool_avail_count(aw->seal_pool);
}

/*
 * A session over its share: more than SEAL_SHARE in flight while the pool is
 * at its reserve. seal_free: the pool's free count, or NULL to count it here,
 * only for a session over SEAL_SHARE (the count sums every lcore's cache).
 */
static int seal_capped(const struct sess *s, const unsigned *seal_free)
{
	const struct st_sshapp_worker *aw = s->aw;

	if (s->tcp == 0 || tcp_send_queued(aw->w->tcp, s->tcp) + s->txq_bytes < SEAL_SHARE)
		return 0;
	return (seal_free ? *seal_free : rte_mempool_avail_count(aw->seal_pool)) <= aw->seal_reserve;
}

/* Whether what a starved session waits for is there now (cheap: no pumping). */
static int starve_ready(const struct sess *s, const struct pool_free *f)
{
	switch (s->starve_why) {
	case STARVE_PORT:
		return f->port > 0;
	case STARVE_SEAL:
		return f->seal > 0;
	case STARVE_CREDIT:
		return credit_avail(s) > 0;
	case STARVE_CRYPTO:
		return txc_room(s->aw);
	default:
		return !seal_capped(s, &f->seal);
	}
}

int st_app_starved_ready(const struct st_sshapp_worker *aw)
{
	struct pool_free f;

	if (aw->starved_head == NO_SLOT)
		return 0;
	pool_free_now(aw, &f);
	const struct sess *s = &aw->sess[aw->starved_head];
	return !s->active || starve_ready(s, &f);
}

void st_app_starved_retry(struct st_sshapp_worker *aw)
{
	struct pool_free f;
	uint32_t n = aw->starved_count;

	if (n == 0)
		return;
	pool_free_now(aw, &f);
	/*
	 * Each session queued now is looked at once: one whose mbufs are there is
	 * pumped (and goes to the back if it starves again), one still waiting
	 * goes to the back without being pumped, so a pool that stays empty costs
	 * a few comparisons per pass.
	 */
	for (uint32_t i = 0; i < n && i < STARVED_PER_PASS && aw->starved_head != NO_SLOT; i++) {
		struct sess *s = &aw->sess[aw->starved_head];

		aw->starved_head = s->next_starved;
		if (aw->starved_head == NO_SLOT)
			aw->starved_tail = NO_SLOT;
		s->starved = 0;
		aw->starved_count--;
		if (!s->active)
			continue;
		if (!starve_ready(s, &f)) {
			starve_queue(s);
			continue;
		}
		st_wsess_pump(&s->ws);
		st_app_sess_service(s);
		pool_free_now(aw, &f);
	}
}

/* ---- sealing into mbufs (st_wsess_tx_ops) ---- */

/*
 * The reservation in progress: at most one per worker, since a session
 * seals each packet right after reserving it. A reservation that is not
 * followed by produced() (the service had nothing to send) leaves its fresh
 * mbuf here for the next one.
 */
static struct rte_mbuf *res_new(struct sess *s, size_t need)
{
	struct st_sshapp_worker *aw = s->aw;
	struct rte_mbuf *m = aw->res_mbuf;

	if (m != NULL) {
		if (rte_pktmbuf_tailroom(m) >= need)
			return m;
		rte_pktmbuf_free(m);
		aw->res_mbuf = NULL;
	}
	if (need <= aw->port_room) {
		if ((m = rte_pktmbuf_alloc(aw->w->pool)) == NULL)
			starve(s, STARVE_PORT);
	} else if (seal_capped(s, NULL)) {
		starve(s, STARVE_CAPPED);
	} else if ((m = rte_pktmbuf_alloc(aw->seal_pool)) == NULL) {
		starve(s, STARVE_SEAL);
	}
	aw->res_mbuf = m;
	return m;
}

static int tx_reserve(void *ctx, size_t n, uint8_t **p)
{
	struct sess *s = ctx;
	struct st_sshapp_worker *aw = s->aw;
	struct rte_mbuf *t = s->txq_tail;

	aw->res_kind = RES_NONE;
	if (s->tcp == 0)
		return ST_ERR_NO_SPACE;
	/* TCP takes a chain while its buffer is not full: never hold more than it would take. */
	if (tcp_send_space(aw->w->tcp, s->tcp) <= s->txq_bytes)
		return ST_ERR_NO_SPACE;
	/* A burst framed now must fit the seal ring when it is submitted. */
	if (!txc_room(aw) && st_record_tx_async(&s->ws.rec)) {
		starve(s, STARVE_CRYPTO);
		return ST_ERR_NO_SPACE;
	}
	/* The backend may use ST_CRYPTO_HEADROOM bytes before the packet: the
	 * previous packet's last bytes in a shared mbuf, mbuf headroom otherwise. */
	if (t != NULL && rte_pktmbuf_tailroom(t) >= n) {
		aw->res_kind = RES_TAIL;
		*p = rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len);
		return ST_OK;
	}
	if (n <= aw->seal_room) {
		if (res_new(s, n) == NULL)
			return ST_ERR_NO_SPACE;
		aw->res_kind = RES_MBUF;
		*p = rte_pktmbuf_mtod(aw->res_mbuf, uint8_t *);
		return ST_OK;
	}
	/* Bigger than any mbuf (a large control-plane message): seal aside, copy once. */
	if (n > aw->oversize_cap)
		return ST_ERR_NO_SPACE;
	aw->res_kind = RES_OVERSIZE;
	if (n > aw->oversize_hwm)
		aw->oversize_hwm = (uint32_t)n;
	*p = aw->oversize + ST_CRYPTO_HEADROOM;
	return ST_WSESS_RES_SCRATCH; /* copied out at produced(): sealed before */
}

static void txq_add(struct sess *s, struct rte_mbuf *m)
{
	if (s->txq_tail == NULL)
		s->txq_head = m;
	else
		s->txq_tail->next = m;
	s->txq_tail = m;
	s->txq_bytes += m->data_len;
}

static void *tx_produced(void *ctx, size_t n)
{
	struct sess *s = ctx;
	struct st_sshapp_worker *aw = s->aw;
	struct rte_mbuf *m = NULL;
	size_t took;

	switch (aw->res_kind) {
	case RES_TAIL:
		m = s->txq_tail;
		m->data_len = (uint16_t)(m->data_len + n);
		m->pkt_len += (uint32_t)n;
		s->txq_bytes += (uint32_t)n;
		break;
	case RES_MBUF:
		m = aw->res_mbuf;
		aw->res_mbuf = NULL;
		m->data_len = (uint16_t)n;
		m->pkt_len = (uint32_t)n;
		txq_add(s, m);
		break;
	case RES_OVERSIZE:
		m = st_app_chain_from_bytes(aw, aw->oversize + ST_CRYPTO_HEADROOM, n, &took);
		if (m == NULL || took < n) {
			/* The packet is sealed (sequence number used): losing it breaks the
			 * stream, so the session cannot go on. */
			rte_pktmbuf_free(m);
			m = NULL;
			st_wsess_close(&s->ws, ST_CLOSE_RESOURCES, ST_ERR_ALLOC);
			break;
		}
		for (struct rte_mbuf *x = m; x != NULL;) {
			struct rte_mbuf *next = x->next;
			x->next = NULL;
			x->nb_segs = 1;
			x->pkt_len = x->data_len;
			txq_add(s, x);
			x = next;
		}
		m = NULL; /* copied into a chain: sealed already (scratch) */
		break;
	default:
		break;
	}
	aw->res_kind = RES_NONE;
	return m;
}

/* ---- asynchronous sealing: the worker's seal ring ---- */

static inline int txc_mine(const struct txc_ent *e, const struct sess *s)
{
	return e->slot == s->slot && e->gen == s->gen;
}

/*
 * Hands waiting packets to the device, in ring order, in runs of one
 * session's consecutive packets; stops at the first the device refuses
 * (backpressure: retried at the next pass). Entries already sealed
 * (txc_settle) are skipped.
 */
static void txc_push(struct st_sshapp_worker *aw)
{
	struct txc *q = aw->txc;

	while (q->enq != q->tail) {
		uint32_t i = q->enq & (TXC_SIZE - 1), k = 1;
		struct txc_ent *e = &q->e[i];
		if (e->state != TXC_WAIT) {
			q->enq++;
			continue;
		}
		while (q->enq + k != q->tail && i + k < TXC_SIZE && k < ST_RECORD_BURST &&
		       q->e[i + k].state == TXC_WAIT && q->e[i + k].slot == e->slot &&
		       q->e[i + k].gen == e->gen)
			k++;
		struct sess *s = &aw->sess[e->slot];
		int got = st_record_tx_enqueue(&s->ws.rec, &q->pkt[i], k);
		if (got < 0) {
			/* The direction is broken: these packets fail (the session ends). */
			for (uint32_t j = 0; j < k; j++) {
				q->pkt[i + j].status = ST_ERR_CRYPTO;
				q->e[i + j].state = TXC_DONE;
			}
			q->enq += k;
			continue;
		}
		for (int j = 0; j < got; j++)
			q->e[i + (uint32_t)j].state = TXC_FLIGHT;
		q->enq += (uint32_t)got;
		aw->cnt[ST_SSHAPP_TX_CRYPTO_ASYNC] += (uint32_t)got;
		if ((uint32_t)got < k) {
			aw->cnt[ST_SSHAPP_TX_CRYPTO_BUSY] += k - (uint32_t)got;
			break;
		}
	}
}

/* tx_ops.settle: every packet this session submitted is on the device or sealed. */
static int txc_settle(void *ctx)
{
	struct sess *s = ctx;
	struct st_sshapp_worker *aw = s->aw;
	struct txc *q = aw->txc;
	int r = ST_OK;

	if (q == NULL)
		return ST_OK;
	txc_push(aw);
	for (uint32_t n = q->enq; n != q->tail;) {
		uint32_t i = n & (TXC_SIZE - 1), k = 0;
		while (n + k != q->tail && i + k < TXC_SIZE && q->e[i + k].state == TXC_WAIT &&
		       txc_mine(&q->e[i + k], s))
			k++;
		if (k == 0) {
			n++;
			continue;
		}
		/* The device is full: these few go synchronously, in order (rare). */
		int sr = st_record_seal_framed(&s->ws.rec, &q->pkt[i], k);
		for (uint32_t j = 0; j < k; j++) {
			q->pkt[i + j].status = sr == ST_OK ? ST_OK : ST_ERR_CRYPTO;
			q->e[i + j].state = TXC_DONE;
		}
		aw->cnt[ST_SSHAPP_TX_CRYPTO_SYNC] += k;
		if (sr != ST_OK)
			r = sr;
		n += k;
	}
	return r;
}

/* tx_ops.submit: a burst of framed packets joins the ring (wsess.c). */
static int txc_submit(void *ctx, struct st_pkt *pk, unsigned n)
{
	struct sess *s = ctx;
	struct st_sshapp_worker *aw = s->aw;
	struct txc *q = aw->txc;
	int r;

	for (unsigned i = 0; q != NULL && i < n; i++)
		if (pk[i].mbuf == NULL)
			q = NULL;
	if (q == NULL || TXC_SIZE - (q->tail - q->head) < n) {
		/* Not for the ring (tx_reserve keeps room, so this is a bug): seal here. */
		if ((r = txc_settle(ctx)) != ST_OK)
			return r;
		aw->cnt[ST_SSHAPP_TX_CRYPTO_SYNC] += n;
		return st_record_seal_framed(&s->ws.rec, pk, n);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t k = q->tail++ & (TXC_SIZE - 1);
		q->pkt[k] = pk[i];
		q->e[k] = (struct txc_ent){s->slot, s->gen, pk[i].mbuf, TXC_WAIT, TXC_TX};
		if (s->tx_inflight++ == 0)
			s->txq_busy = pk[i].mbuf;
	}
	txc_push(aw);
	return ST_OK;
}

static void rx_release(struct sess *s, size_t n);

/*
 * Asynchronous receive: opens of whole packets at the start of the session's
 * received bytes go to the device, their st_pkt structs in one run of ring
 * entries (never across the wrap). *k taken; *busy: the device (or the ring)
 * has no room now.
 */
static int rx_submit(struct sess *s, const struct st_rx_piece *pc, unsigned n, unsigned *k,
		     int *busy)
{
	struct st_sshapp_worker *aw = s->aw;
	struct txc *q = aw->txc;
	uint32_t idx = q->tail & (TXC_SIZE - 1), run = TXC_SIZE - idx;
	int r;

	*k = 0;
	*busy = 0;
	if (run > ST_RECORD_BURST)
		run = ST_RECORD_BURST;
	if (run > s->ws.up_room) /* the control plane's credit (sess_rx set it) */
		run = s->ws.up_room;
	/* Leave a whole send burst's room (tx_reserve's rule). */
	if (TXC_SIZE - (q->tail - q->head) < run + TXC_NEED) {
		*busy = 1;
		return ST_OK;
	}
	/* Runs of packets across mbufs: the contiguous free part of the segs
	 * arena (a tail too short for a largest packet is skipped, and counted
	 * with this run so that it is freed with it). */
	uint32_t waste = 0, off = q->seg_tail % TXC_SEGS, nsegs;
	uint32_t free_segs = TXC_SEGS - (q->seg_tail - q->seg_head);
	if (TXC_SEGS - off < ST_PKT_MAX_SEGS && free_segs > TXC_SEGS - off) {
		waste = TXC_SEGS - off;
		free_segs -= waste;
		off = 0;
	}
	nsegs = TXC_SEGS - off < free_segs ? TXC_SEGS - off : free_segs;
	if ((r = st_wsess_rx_enqueue(&s->ws, pc, n, &q->pkt[idx], run, nsegs >= 2 ? &q->seg[off] : NULL,
				     nsegs, k, busy)) != ST_OK)
		return r;
	uint32_t used = 0;
	for (unsigned j = 0; j < *k; j++)
		used += q->pkt[idx + j].nseg;
	if (*k > 0) {
		q->seg_tail += waste + used;
		s->rx_seg_span = waste + used;
	}
	for (unsigned j = 0; j < *k; j++)
		q->e[idx + j] = (struct txc_ent){s->slot, s->gen, NULL, TXC_FLIGHT, TXC_RX};
	q->tail += *k;
	s->rx_inflight = (uint16_t)*k;
	s->rx_first = idx;
	aw->cnt[ST_SSHAPP_RX_CRYPTO_ASYNC] += *k;
	return ST_OK;
}

/*
 * A session's opens at the ring's head, all back: their messages are handled
 * now, before the entries can be reused, and their bytes released. Returns
 * the entries used, 0 when some are not back yet.
 */
static uint32_t rx_done(struct st_sshapp_worker *aw, struct sess *s, uint32_t at)
{
	struct txc *q = aw->txc;
	uint32_t k = s->rx_inflight;
	size_t used = 0;

	for (uint32_t j = 0; j < k; j++)
		if (q->e[(at + j) & (TXC_SIZE - 1)].state != TXC_DONE)
			return 0;
	int r = st_wsess_rx_complete(&s->ws, &q->pkt[at & (TXC_SIZE - 1)], k, &used);
	s->rx_inflight = 0;
	q->seg_head += s->rx_seg_span; /* runs complete in the order they were taken */
	s->rx_seg_span = 0;
	if (r != ST_OK) { /* closing: nothing more is read */
		st_app_segs_free(s->rx);
		s->rx = s->rx_tail = NULL;
		s->rx_bytes = 0;
	} else {
		rx_release(s, used);
	}
	return k;
}

/* Completions in, in ring order: sessions learn what may go to TCP. */
static unsigned txc_complete(struct st_sshapp_worker *aw, struct sess **kick, unsigned max)
{
	struct txc *q = aw->txc;
	const struct st_crypto_backend *be = aw->wcfg.be;
	struct st_pkt *done[64];
	unsigned nk = 0;
	uint16_t n;

	do {
		n = be->dequeue_burst(done, RTE_DIM(done));
		for (uint16_t i = 0; i < n; i++) {
			uintptr_t at = (uintptr_t)(done[i] - q->pkt);
			if (done[i] < q->pkt || at >= TXC_SIZE || q->e[at].state != TXC_FLIGHT) {
				aw->cnt[ST_SSHAPP_TX_CRYPTO_ERRORS]++; /* not ours: nothing to do */
				continue;
			}
			q->e[at].state = TXC_DONE;
		}
	} while (n == RTE_DIM(done));
	txc_push(aw); /* moves enq past packets txc_settle sealed */
	while (q->head != q->enq) {
		uint32_t i = q->head & (TXC_SIZE - 1);
		struct txc_ent *e = &q->e[i];
		if (e->state != TXC_DONE)
			break;
		struct sess *s = e->slot < aw->nsess ? &aw->sess[e->slot] : NULL;
		if (s != NULL && !s->tx_kick && nk == max)
			break; /* the caller services these first, then calls again */
		if (s != NULL && s->active && s->gen == e->gen && e->kind == TXC_RX && s->rx_inflight > 0 &&
		    s->rx_first == i) {
			uint32_t k = rx_done(aw, s, q->head);
			if (k == 0)
				break; /* the rest of its run is not back yet */
			for (uint32_t j = 0; j < k; j++) {
				uint32_t x = (q->head + j) & (TXC_SIZE - 1);
				q->pkt[x].buf = NULL;
				q->pkt[x].mbuf = NULL;
			}
			q->head += k;
			if (!s->tx_kick) {
				s->tx_kick = 1;
				kick[nk++] = s;
			}
			continue;
		}
		if (s == NULL || !s->active || s->gen != e->gen || e->kind != TXC_TX ||
		    s->tx_inflight == 0) {
			aw->cnt[ST_SSHAPP_TX_CRYPTO_ERRORS]++; /* cannot happen: zombies wait */
		} else {
			if (q->pkt[i].status != ST_OK) {
				aw->cnt[ST_SSHAPP_TX_CRYPTO_ERRORS]++;
				s->tx_failed = 1;
			}
			/* Everything before this packet's mbuf is sealed now. */
			s->txq_busy = --s->tx_inflight == 0 ? NULL : e->m;
			if (!s->tx_kick) {
				s->tx_kick = 1;
				kick[nk++] = s;
			}
		}
		q->pkt[i].buf = NULL;
		q->pkt[i].mbuf = NULL;
		e->m = NULL;
		q->head++;
	}
	return nk;
}

void st_app_crypto_poll(struct st_sshapp_worker *aw)
{
	struct sess *kick[256];
	unsigned nk;

	if (aw->txc == NULL || aw->txc->head == aw->txc->tail)
		return;
	do {
		nk = txc_complete(aw, kick, RTE_DIM(kick));
		for (unsigned i = 0; i < nk; i++) {
			struct sess *s = kick[i];
			s->tx_kick = 0;
			if (s->tx_failed && !st_wsess_done(&s->ws)) {
				s->ws.rec.dead = ST_ERR_CRYPTO; /* no DISCONNECT over it */
				st_wsess_close(&s->ws, ST_CLOSE_INTERNAL, ST_ERR_CRYPTO);
			}
			/* What is sealed goes to TCP; a zombie with nothing left ends. */
			if (s->zombie && s->tx_inflight == 0 && s->rx_inflight == 0)
				st_app_sess_end(s);
			else
				st_app_sess_service(s);
		}
	} while (nk == RTE_DIM(kick));
}

int st_app_crypto_busy(const struct st_sshapp_worker *aw)
{
	return aw->txc != NULL && aw->txc->head != aw->txc->tail;
}

void st_app_crypto_drain(struct st_sshapp_worker *aw)
{
	struct sess *kick[256];

	for (uint64_t spins = 0; st_app_crypto_busy(aw) && spins < 100000000u; spins++) {
		unsigned nk = txc_complete(aw, kick, RTE_DIM(kick));
		for (unsigned i = 0; i < nk; i++)
			kick[i]->tx_kick = 0;
	}
	if (st_app_crypto_busy(aw))
		aw->cnt[ST_SSHAPP_TX_CRYPTO_ERRORS]++;
}

const struct st_wsess_tx_ops st_app_tx_ops_proto = {
	.reserve = tx_reserve,
	.produced = tx_produced,
	.submit = txc_submit,
	.settle = txc_settle,
};

/*
 * Hands the sealed packets to TCP: all of the txq, or, while seals are in
 * flight, the mbufs before the one that holds the oldest of them.
 */
static int sess_tx(struct sess *s)
{
	struct rte_mbuf *c = s->txq_head, *stop = s->txq_busy;

	if (c == NULL)
		return 0;
	if (s->tcp == 0 || s->tx_failed) {
		/* Nothing after a failed seal goes out (it may be plaintext); mbufs
		 * still on the device keep the device's reference. */
		st_app_segs_free(c);
	} else if (stop != NULL) {
		struct rte_mbuf *last = NULL;
		uint32_t bytes = 0;
		struct rte_mbuf *m;
		for (m = c; m != stop && m != NULL; m = m->next) {
			bytes += m->data_len;
			last = m;
		}
		if (m == NULL) { /* not in the txq: hand nothing over unsealed */
			s->aw->cnt[ST_SSHAPP_TX_CRYPTO_ERRORS]++;
			return 0;
		}
		if (last == NULL)
			return 0; /* the first mbuf waits for the device */
		last->next = NULL;
		c->pkt_len = bytes;
		if (tcp_write(s->aw->w->tcp, s->tcp, c) != ST_OK) {
			last->next = stop;
			return 0;
		}
		s->txq_head = stop;
		s->txq_bytes -= bytes;
		return 1;
	} else {
		/* A chain head carries the totals (tcp_write counts data_len per segment). */
		c->pkt_len = s->txq_bytes;
		if (tcp_write(s->aw->w->tcp, s->tcp, c) != ST_OK)
			return 0; /* send side closed or full: keep it, writable() comes back */
	}
	s->txq_head = s->txq_tail = NULL;
	s->txq_bytes = 0;
	return 1;
}

/* ---- received bytes ---- */

/* Releases the first n bytes of the held receive chain. */
static void rx_release(struct sess *s, size_t n)
{
	while (n > 0 && s->rx != NULL) {
		struct rte_mbuf *m = s->rx;
		if (n < m->data_len) {
			m->data_off = (uint16_t)(m->data_off + n);
			m->data_len = (uint16_t)(m->data_len - n);
			s->rx_bytes -= (uint32_t)n;
			return;
		}
		n -= m->data_len;
		s->rx_bytes -= m->data_len;
		s->rx = st_app_seg_pop(m);
	}
	if (s->rx == NULL)
		s->rx_tail = NULL;
}

/*
 * A peer that sends tiny segments could spread one packet over more pieces
 * than a call looks at: copy the held bytes into full mbufs (rare; counted).
 * Returns 0 when no mbuf was free.
 */
static int rx_compact(struct sess *s)
{
	struct rte_mbuf *head = NULL, *tail = NULL;

	for (struct rte_mbuf *m = s->rx; m != NULL; m = m->next) {
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t left = m->data_len;
		while (left > 0) {
			if (tail == NULL || rte_pktmbuf_tailroom(tail) == 0) {
				struct rte_mbuf *n = rte_pktmbuf_alloc(s->aw->w->pool);
				if (n == NULL) {
					st_app_segs_free(head);
					return 0;
				}
				if (tail == NULL)
					head = n;
				else
					tail->next = n;
				tail = n;
			}
			uint32_t k = rte_pktmbuf_tailroom(tail);
			if (k > left)
				k = left;
			memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len), p, k);
			tail->data_len = (uint16_t)(tail->data_len + k);
			p += k;
			left -= k;
		}
	}
	st_app_segs_free(s->rx);
	s->rx = head;
	s->rx_tail = tail;
	s->aw->cnt[ST_SSHAPP_RX_COMPACTED]++;
	return 1;
}

/*
 * Offers what TCP received to the session, opened in place in the receive
 * mbufs. What the session does not consume (a partial packet, or input it
 * holds) stays in s->rx, and more is read from TCP only while s->rx holds
 * less than one largest packet: beyond that TCP's receive window holds the
 * peer back.
 */
static int sess_rx(struct sess *s)
{
	struct tcp_worker *tw = s->aw->w->tcp;
	struct st_rx_piece pc[ST_WSESS_MAX_PIECES];
	int progress = 0, eof = 0;

	for (;;) {
		int fresh = 0;
		/* Opens in flight: nothing is read, so TCP's window holds the peer back. */
		if (s->rx_inflight > 0)
			return progress;
		if (s->tcp != 0 && !eof && s->rx_bytes < s->aw->rx_hold_max) {
			struct rte_mbuf *c;
			int r = tcp_read(tw, s->tcp, &c);
			if (r == ST_ERR_EOF)
				eof = 1;
			else if (r > 0 && c != NULL) {
				struct rte_mbuf *t = c;
				/* The chain's segments become separate pieces. */
				while (t->next != NULL)
					t = t->next;
				if (s->rx_tail == NULL)
					s->rx = c;
				else
					s->rx_tail->next = c;
				s->rx_tail = t;
				s->rx_bytes += (uint32_t)r;
				fresh = 1;
			}
		}
		if (s->rx == NULL) {
			if (eof) {
				/* An SSH client half-closes only when it is done. */
				st_wsess_peer_gone(&s->ws);
				return 1;
			}
			return progress;
		}
		unsigned n = 0;
		for (struct rte_mbuf *m = s->rx; m != NULL && n < ST_WSESS_MAX_PIECES; m = m->next) {
			if (m->data_len == 0)
				continue;
			pc[n].p = rte_pktmbuf_mtod(m, uint8_t *);
			pc[n].len = m->data_len;
			pc[n].mbuf = m;
			n++;
		}
		/* Its control messages still on their way: hold its input (both paths). */
		if (s->ws.state == ST_WSESS_RUNNING && credit_room(s) == 0) {
			s->aw->cnt[ST_SSHAPP_UP_CREDIT_HELD]++;
			starve(s, STARVE_CREDIT);
			return progress;
		}
		if (s->aw->txc != NULL && st_wsess_rx_async(&s->ws)) {
			unsigned k;
			int busy;
			if (rx_submit(s, pc, n, &k, &busy) != ST_OK) { /* closing */
				st_app_segs_free(s->rx);
				s->rx = s->rx_tail = NULL;
				s->rx_bytes = 0;
				return 1;
			}
			if (k > 0)
				return 1; /* the rest once they are back (st_app_crypto_poll) */
			if (busy) {
				/* The device is full: retried every pass (the starved list). */
				s->aw->cnt[ST_SSHAPP_RX_CRYPTO_BUSY]++;
				s->starve_why = STARVE_CRYPTO;
				starve_queue(s);
				return progress;
			}
			/* a partial packet, or one across pieces: the synchronous path */
		}
		size_t used = 0;
		int r = st_wsess_input_pieces(&s->ws, pc, n, &used);
		if (r != ST_OK) { /* the session is closing: nothing more to read */
			st_app_segs_free(s->rx);
			s->rx = s->rx_tail = NULL;
			s->rx_bytes = 0;
			return 1;
		}
		rx_release(s, used);
		progress |= used > 0;
		if (used == 0) {
			if (n == ST_WSESS_MAX_PIECES && rx_compact(s))
				continue;
			/* Nothing new arrived and nothing could be read: wait for TCP. */
			if (!fresh)
				return progress;
		}
		if (eof && s->rx == NULL) {
			st_wsess_peer_gone(&s->ws);
			return 1;
		}
	}
}

/* ---- session lifecycle ---- */

void st_app_sess_free(struct sess *s)
{
	struct st_sshapp_worker *aw = s->aw;

	st_app_sess_publish(s, 0); /* readers see the slot free from now on */
	st_wsess_free(&s->ws);
	st_app_segs_free(s->rx);
	st_app_segs_free(s->txq_head);
	s->rx = s->rx_tail = s->txq_head = s->txq_tail = NULL;
	s->rx_bytes = 0;
	s->txq_bytes = 0;
	s->active = 0;
	s->tcp = 0;
	s->closing_ms = 0;
	s->tx_inflight = 0;
	s->rx_inflight = 0;
	s->txq_busy = NULL;
	s->zombie = s->tx_failed = s->tx_kick = 0;
	if (++s->gen == 0) /* handles to the old connection are now stale */
		s->gen = 1;
	s->next_free = aw->free_head;
	aw->free_head = s->slot;
	aw->active--;
	if (s->act_prev != NO_SLOT)
		aw->sess[s->act_prev].act_next = s->act_next;
	else
		aw->act_head = s->act_next;
	if (s->act_next != NO_SLOT)
		aw->sess[s->act_next].act_prev = s->act_prev;
	s->act_prev = s->act_next = NO_SLOT;
}

/*
 * Ends a session: what was sealed goes to TCP, which sends it and the FIN on
 * its own (the handle is given back); the slot is free at once.
 */
void st_app_sess_end(struct sess *s)
{
	if (s->tx_inflight > 0 || s->rx_inflight > 0) {
		/* Seals in flight use this session's keys and mbufs: a zombie until
		 * they are back (st_app_crypto_poll ends it then). */
		if (!s->zombie) {
			s->zombie = 1;
			s->aw->cnt[ST_SSHAPP_TX_CRYPTO_ZOMBIE]++;
		}
		sess_tx(s);
		return;
	}
	sess_tx(s);
	if (s->tcp != 0)
		tcp_release(s->aw->w->tcp, s->tcp);
	s->tcp = 0;
	st_app_sess_free(s);
}

/* Runs a session until nothing moves, then ends it when it is done. */
void st_app_sess_service(struct sess *s)
{
	/* The path the channel windows follow (their growth, channel.h). */
	st_chan_table_path(&s->ws.chans, s->aw->w->now_ms,
			   s->tcp != 0 ? tcp_conn_rtt_ms(s->aw->w->tcp, s->tcp) : 0);
	for (int pass = 0; pass < SERVICE_PASSES; pass++) {
		int progress = sess_rx(s);
		if (st_wsess_wants_pump(&s->ws))
			st_wsess_pump(&s->ws);
		progress |= sess_tx(s);
		if (!progress)
			break;
	}
	if (!st_wsess_done(&s->ws)) {
		if (s->ws.state == ST_WSESS_CLOSING && s->closing_ms == 0)
			s->closing_ms = s->aw->w->now_ms ? s->aw->w->now_ms : 1;
		return;
	}
	st_app_sess_end(s);
}

/* ---- TCP events of client connections ---- */

static int up_deliver(void *ctx, struct st_plane_msg *m)
{
	struct st_sshapp_worker *aw = ctx;
	struct st_sshapp *app = aw->app;
	struct st_doorbell *bell = app->ctl_bell[aw->w->id];
	uint64_t one = 1;

	if (m->conn.slot < aw->nsess) { /* the credit this message takes */
		struct sess *s = &aw->sess[m->conn.slot];
		s->up_sent_msgs++;
		s->up_sent_bytes += m->len;
	}

	if (rte_ring_sp_enqueue(app->up[aw->w->id], m) != 0) {
		aw->cnt[ST_SSHAPP_UP_RING_FULL]++;
		st_plane_msg_free(m);
		return ST_ERR_NO_SPACE;
	}
	/* The enqueue is ordered before the flag load (the ring's release and this fence). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (bell != NULL && __atomic_load_n(&bell->sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&bell->sleeping, 0, __ATOMIC_ACQ_REL))
		(void)!write(bell->fd, &one, sizeof(one)); /* its timeout wakes it anyway */
	return ST_OK;
}

static int on_accepted(void *lctx, tcp_handle_t h, void **cctx)
{
	struct st_sshapp_worker *aw = lctx;
	struct st_plane_sink up = {up_deliver, aw};
	struct st_wsess_config cfg;
	struct tcp_conn_info ti;
	char peer[ST_IP_STR], local[ST_IP_STR];

	if (__atomic_load_n(&aw->app->stopping, __ATOMIC_ACQUIRE) || aw->free_head == NO_SLOT) {
		aw->cnt[ST_SSHAPP_REFUSED_FULL]++;
		return -1;
	}
	struct sess *s = &aw->sess[aw->free_head];
	struct st_conn_handle ch = {aw->w->id, s->gen, s->slot};
	/* The identification line is sealed into an mbuf at init: TCP must be known. */
	s->tcp = h;
	s->rx = s->rx_tail = s->txq_head = s->txq_tail = NULL;
	s->rx_bytes = 0;
	s->txq_bytes = 0;
	cfg = aw->wcfg;
	cfg.tx_ops.ctx = s;
	/* Credit: what the control plane took of this slot so far is the base. */
	const struct st_up_done *d = &aw->app->up_done[aw->w->id][s->slot];
	s->up_base_msgs = __atomic_load_n(&d->msgs, __ATOMIC_ACQUIRE);
	s->up_base_bytes = __atomic_load_n(&d->bytes, __ATOMIC_ACQUIRE);
	s->up_sent_msgs = s->up_sent_bytes = 0;
	if (st_wsess_init(&s->ws, &cfg, ch, &up, &aw->wstats, aw->w->now_ms) != ST_OK) {
		st_app_segs_free(s->txq_head);
		s->txq_head = s->txq_tail = NULL;
		s->txq_bytes = 0;
		s->tcp = 0;
		aw->cnt[ST_SSHAPP_REFUSED_INIT]++;
		return -1;
	}
	aw->free_head = s->next_free;
	aw->active++;
	s->act_prev = NO_SLOT;
	s->act_next = aw->act_head;
	if (aw->act_head != NO_SLOT)
		aw->sess[aw->act_head].act_prev = s->slot;
	aw->act_head = s->slot;
	aw->cnt[ST_SSHAPP_ACCEPTED]++;
	s->active = 1;
	s->closing_ms = 0;
	st_app_sess_publish(s, s->gen);
	*cctx = s;
	if (tcp_conn_info(aw->w->tcp, h, &ti) == ST_OK) {
		/* As sshd prints them: 198.18.0.1, fd00::1 (dataplane/ipaddr.h). */
		dp_ip_str(&ti.rip, peer, sizeof(peer));
		dp_ip_str(&ti.lip, local, sizeof(local));
		st_wsess_open(&s->ws, peer, ti.rport, local, ti.lport);
	}
	st_app_sess_service(s);
	return 0;
}

static void on_readable(void *ctx, tcp_handle_t h)
{
	(void)h;
	st_app_sess_service(ctx);
}

static void on_writable(void *ctx, tcp_handle_t h)
{
	(void)h;
	/* Output held for TCP's send buffer goes now (st_wsess_wants_pump). */
	st_app_sess_service(ctx);
}

static void on_closed(void *ctx, tcp_handle_t h, int err)
{
	struct sess *s = ctx;
	(void)h;
	(void)err;
	s->tcp = 0;
	if (!st_wsess_done(&s->ws))
		st_wsess_peer_gone(&s->ws);
	st_app_sess_service(s);
}

const struct tcp_ops st_app_client_ops = {
	.accepted = on_accepted,
	.readable = on_readable,
	.writable = on_writable,
	.closed = on_closed,
};
