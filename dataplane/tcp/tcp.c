/*
 * TCP per-worker state: the preallocated connection table, 4-tuple hash,
 * per-burst event and output lists, and the API for the layer above.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "crypto/err.h"
#include "dataplane/mq.h"
#include "dataplane/proto6.h"
#include "dataplane/tcp/tcp_internal.h"

void tcp_cfg_defaults(struct tcp_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->max_conns = 4096;
	c->rcvbuf = 256 * 1024;
	c->rcvbuf_max = 16u << 20;
	c->sndbuf_max = 16u << 20;
	c->sndbuf = 256 * 1024;
	c->mss = 1460;
	c->syn_backlog = 256;
	c->min_rto_ms = 200;
	c->delack_ms = 40;
	c->time_wait_ms = 60000;
	c->keepalive_ms = 0;
	c->syn_retries = 5;
	c->max_retries = 15;
	c->close_timeout_ms = 20000;
	c->challenge_ack_per_s = 1000;
	c->eph_lo = 32768;
	c->eph_hi = 60999;
}

static const char *const state_names[] = {
	"CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK", "TIME_WAIT",
};

const char *tcp_state_name(unsigned s)
{
	return s < RTE_DIM(state_names) ? state_names[s] : "?";
}

/* ---- mbuf chain helpers ---- */

/*
 * Both trims keep the head's pkt_len and nb_segs right (for a head that had
 * them right), so chained payload (RX scatter, GRO) is accounted as it is.
 */
struct rte_mbuf *tcp_chain_trim_front(struct rte_mbuf *m, uint32_t n)
{
	uint32_t pkt_len = m ? m->pkt_len : 0;
	uint16_t nb_segs = m ? m->nb_segs : 0;

	while (m && n) {
		if (n < m->data_len) {
			m->data_off = (uint16_t)(m->data_off + n);
			m->data_len = (uint16_t)(m->data_len - n);
			pkt_len = pkt_len > n ? pkt_len - n : 0;
			break;
		}
		n -= m->data_len;
		pkt_len = pkt_len > m->data_len ? pkt_len - m->data_len : 0;
		nb_segs = nb_segs > 1 ? (uint16_t)(nb_segs - 1) : 1;
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	if (m) {
		m->pkt_len = pkt_len;
		m->nb_segs = nb_segs;
	}
	return m;
}

struct rte_mbuf *tcp_chain_trim_back(struct rte_mbuf *m, uint32_t n)
{
	uint32_t total = 0, keep, kept = 0;
	uint16_t segs = 0;
	struct rte_mbuf *s, *last = NULL;

	for (s = m; s; s = s->next)
		total += s->data_len;
	keep = n < total ? total - n : 0;
	for (s = m; s; s = s->next) {
		if (keep == 0)
			break;
		segs++;
		if (s->data_len >= keep) {
			s->data_len = (uint16_t)keep;
			kept += keep;
			keep = 0;
			last = s;
			break;
		}
		keep -= s->data_len;
		kept += s->data_len;
		last = s;
	}
	if (!last) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (last->next) {
		rte_pktmbuf_free(last->next);
		last->next = NULL;
	}
	m->pkt_len = kept;
	m->nb_segs = segs;
	return m;
}

static void *ooo_trim_front(void *obj, uint32_t n)
{
	return tcp_chain_trim_front(obj, n);
}

static void *ooo_trim_back(void *obj, uint32_t n)
{
	return tcp_chain_trim_back(obj, n);
}

static void ooo_free(void *obj)
{
	rte_pktmbuf_free(obj);
}

static void *ooo_tail(void *obj)
{
	struct rte_mbuf *m = obj;

	while (m->next)
		m = m->next;
	return m;
}

static void ooo_link(void *a_tail, void *b)
{
	((struct rte_mbuf *)a_tail)->next = b;
}

uint32_t tcp_chain_cost(const struct rte_mbuf *m)
{
	uint32_t c = 0;

	for (; m; m = m->next)
		c += (uint32_t)m->buf_len + (uint32_t)sizeof(*m);
	return c;
}

int tcp_mbuf_absorb(struct rte_mbuf *tail, struct rte_mbuf *b, uint32_t len)
{
	uint8_t *dst;

	/* Only small pieces are copied, and only into a buffer that is ours alone. */
	if (len > TCP_ABSORB_MAX || !RTE_MBUF_DIRECT(tail) || rte_mbuf_refcnt_read(tail) != 1 ||
	    rte_pktmbuf_tailroom(tail) < len)
		return 0;
	dst = rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len);
	for (const struct rte_mbuf *x = b; x; x = x->next) {
		memcpy(dst, rte_pktmbuf_mtod(x, const uint8_t *), x->data_len);
		dst += x->data_len;
	}
	tail->data_len = (uint16_t)(tail->data_len + len);
	rte_pktmbuf_free(b);
	return 1;
}

static uint32_t ooo_cost(const void *obj)
{
	return tcp_chain_cost(obj);
}

static int ooo_absorb(void *a_tail, void *b, uint32_t len)
{
	return tcp_mbuf_absorb(a_tail, b, len);
}

const struct tcp_ooo_ops tcp_mbuf_ooo_ops = {ooo_trim_front, ooo_trim_back, ooo_free, ooo_tail,
					     ooo_link,	     ooo_cost,	    ooo_absorb};

void tcp_ooo_clear_acct(struct tcp_worker *tw, struct tcp_conn *c)
{
	tw->ooo_cost -= c->ooo.cost;
	tcp_ooo_clear(&c->ooo, &tcp_mbuf_ooo_ops);
}

/* Frees n acknowledged bytes from the front of the send queue. */
void tcp_sq_free_acked(struct tcp_conn *c, uint32_t n)
{
	struct rte_mbuf *m = c->sq_head;

	if (n > c->sq_bytes)
		n = c->sq_bytes;
	c->sq_bytes -= n;
	while (m && n) {
		if (n < m->data_len) {
			/* Indirect clones in flight keep their own offsets. */
			m->data_off = (uint16_t)(m->data_off + n);
			m->data_len = (uint16_t)(m->data_len - n);
			if (c->sq_cur == m)
				c->sq_cur_seq += n;
			n = 0;
			break;
		}
		n -= m->data_len;
		struct rte_mbuf *next = m->next;

		if (c->sq_cur == m)
			c->sq_cur = NULL;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	/* Skip empty segments so the head always holds data. */
	while (m && m->data_len == 0) {
		struct rte_mbuf *next = m->next;

		if (c->sq_cur == m)
			c->sq_cur = NULL;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	c->sq_head = m;
	if (!m)
		c->sq_tail = NULL;
}

void tcp_rq_free(struct tcp_conn *c)
{
	if (c->rq_head)
		rte_pktmbuf_free(c->rq_head);
	c->rq_head = c->rq_tail = NULL;
	c->rq_bytes = 0;
	c->rq_segs = 0;
	c->rq_cost = 0;
}

void tcp_free_queues(struct tcp_worker *tw, struct tcp_conn *c)
{
	if (c->sq_head)
		rte_pktmbuf_free(c->sq_head);
	c->sq_head = c->sq_tail = c->sq_cur = NULL;
	c->sq_bytes = 0;
	tcp_rq_free(c);
	tcp_ooo_clear_acct(tw, c);
	tcp_sb_init(&c->sb);
}

/* The connection stops counting against its listener's SYN backlog. */
void tcp_embryonic_release(struct tcp_worker *tw, struct tcp_conn *c)
{
	if (c->flags & TF_EMBRYONIC) {
		c->flags &= ~TF_EMBRYONIC;
		if (c->lst)
			c->lst->n_embryonic--;
		tw->n_embryonic--;
	}
}

/* The connection stops counting against its listener's cap (and backlog). */
void tcp_listener_release(struct tcp_worker *tw, struct tcp_conn *c)
{
	tcp_embryonic_release(tw, c);
	if (c->lst) {
		c->lst->n_conns--;
		c->lst = NULL;
	}
}

/* (Re)arms the deadline of a connection the app has closed. */
void tcp_close_deadline(struct tcp_worker *tw, struct tcp_conn *c)
{
	c->t_close = tw->w->now_ms + tw->cfg.close_timeout_ms;
	tcp_timer_update(tw, c);
}

/* ---- table ---- */

/* An address folded to one word for the table hash (an IPv4 one is its own word, mapped prefix aside). */
static inline uint32_t addr_fold(const struct dp_ip *a)
{
	return a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
}

static inline uint32_t tuple_hash(const struct tcp_worker *tw, const struct dp_ip *laddr,
				  uint16_t lport, const struct dp_ip *raddr, uint16_t rport)
{
	return rte_jhash_3words(addr_fold(raddr), addr_fold(laddr), (uint32_t)rport << 16 | lport,
				0x5eed) &
	       tw->bucket_mask;
}

int tcp_worker_create(struct dp_worker *w, const struct tcp_cfg *cfg, struct tcp_worker **out)
{
	struct tcp_worker *tw;
	uint32_t nb = 1;
	int socket = (int)rte_socket_id();

	if (cfg->max_conns == 0 || cfg->max_conns >= (1u << 24) || cfg->mss < 88 ||
	    cfg->close_timeout_ms == 0 ||
	    cfg->rcvbuf < 4096 || cfg->sndbuf < 4096 || cfg->eph_lo == 0 ||
	    cfg->rcvbuf > TCP_RCVBUF_LIMIT || cfg->rcvbuf_max > TCP_RCVBUF_LIMIT ||
	    cfg->sndbuf_max > TCP_RCVBUF_LIMIT ||
	    cfg->eph_hi < cfg->eph_lo)
		return ST_ERR_INVALID_ARGUMENT;
	tw = rte_zmalloc_socket("tcp_worker", sizeof(*tw), RTE_CACHE_LINE_SIZE, socket);
	if (!tw)
		return ST_ERR_ALLOC;
	tw->w = w;
	tw->cfg = *cfg;
	tw->ooo_cost_max = cfg->ooo_worker_max;
	if (tw->ooo_cost_max == 0 && w->pool) /* an eighth of the pool, so ARP and others go on */
		tw->ooo_cost_max = (uint64_t)w->pool->size / 8 *
				   (rte_pktmbuf_data_room_size(w->pool) + sizeof(struct rte_mbuf));
	if (tw->ooo_cost_max == 0)
		tw->ooo_cost_max = (uint64_t)cfg->rcvbuf * 64;
	tw->nconns = cfg->max_conns;
	while (nb < 2 * cfg->max_conns)
		nb <<= 1;
	tw->bucket_mask = nb - 1;
	tw->conns = rte_zmalloc_socket("tcp_conns", sizeof(struct tcp_conn) * tw->nconns,
				       RTE_CACHE_LINE_SIZE, socket);
	tw->buckets = rte_malloc_socket("tcp_buckets", sizeof(uint32_t) * nb, 0, socket);
	if (!tw->conns || !tw->buckets) {
		tcp_worker_destroy(tw);
		return ST_ERR_ALLOC;
	}
	for (uint32_t i = 0; i < nb; i++)
		tw->buckets[i] = TCP_NIL;
	for (uint32_t i = 0; i < tw->nconns; i++) {
		tw->conns[i].hnext = i + 1 < tw->nconns ? i + 1 : TCP_NIL;
		tw->conns[i].gen = 1;
	}
	tw->free_head = 0;
	tw->evq.head = tw->evq.tail = TCP_NIL;
	tw->outq.head = tw->outq.tail = TCP_NIL;
	/* The scale we offer must let the window reach its cap (a scale is fixed at SYN). */
	while (tw->rcv_ws < TCP_MAX_WSCALE &&
	       ((cfg->rcvbuf_max > cfg->rcvbuf ? cfg->rcvbuf_max : cfg->rcvbuf) >> tw->rcv_ws) > 65535)
		tw->rcv_ws++;
	tw->ckey.k0 = rte_rand();
	tw->ckey.k1 = rte_rand();
	tw->isn_key.k0 = rte_rand();
	tw->isn_key.k1 = rte_rand();
	tw->eph_next = (uint16_t)(cfg->eph_lo + rte_rand() % (cfg->eph_hi - cfg->eph_lo + 1u));
	*out = tw;
	return ST_OK;
}

void tcp_worker_destroy(struct tcp_worker *tw)
{
	if (!tw)
		return;
	rte_free(tw->conns);
	rte_free(tw->buckets);
	rte_free(tw);
}

void tcp_worker_drain(struct tcp_worker *tw)
{
	for (uint32_t i = 0; i < tw->nconns; i++) {
		struct tcp_conn *c = &tw->conns[i];

		if (c->state != TCP_CLOSED || c->sq_head || c->rq_head || c->ooo.n)
			tcp_free_queues(tw, c);
	}
}

struct tcp_conn *tcp_conn_alloc(struct tcp_worker *tw)
{
	struct tcp_conn *c;
	uint32_t idx = tw->free_head, gen;

	if (idx == TCP_NIL)
		return NULL;
	c = &tw->conns[idx];
	tw->free_head = c->hnext;
	gen = c->gen;
	memset(c, 0, offsetof(struct tcp_conn, sb));
	tcp_sb_init(&c->sb);
	tcp_ooo_init(&c->ooo);
	c->gen = gen;
	c->hnext = TCP_NIL;
	c->ev_next = c->out_next = TCP_NIL;
	c->rcv_wnd = tw->cfg.rcvbuf; /* grows from here (tcp_rcvbuf.c) */
	c->snd_buf = tw->cfg.sndbuf; /* and this (tcp_sndbuf.c) */
	dp_timer_init(&c->tm);
	tw->used++;
	if (tw->used > tw->max_used)
		tw->max_used = tw->used;
	return c;
}

static void conn_free(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint32_t idx = (uint32_t)(c - tw->conns);

	c->gen = c->gen + 1 ? c->gen + 1 : 1;
	c->state = TCP_CLOSED;
	c->hnext = tw->free_head;
	tw->free_head = idx;
	tw->used--;
}

void tcp_conn_hash_insert(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint32_t b = tuple_hash(tw, &c->laddr, c->lport, &c->raddr, c->rport);

	c->hnext = tw->buckets[b];
	tw->buckets[b] = (uint32_t)(c - tw->conns);
}

static void hash_remove(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint32_t b = tuple_hash(tw, &c->laddr, c->lport, &c->raddr, c->rport);
	uint32_t *pp = &tw->buckets[b], idx = (uint32_t)(c - tw->conns);

	while (*pp != TCP_NIL) {
		if (*pp == idx) {
			*pp = c->hnext;
			c->hnext = TCP_NIL;
			return;
		}
		pp = &tw->conns[*pp].hnext;
	}
}

struct tcp_conn *tcp_conn_lookup(struct tcp_worker *tw, const struct dp_ip *laddr, uint16_t lport,
				 const struct dp_ip *raddr, uint16_t rport)
{
	uint32_t i = tw->buckets[tuple_hash(tw, laddr, lport, raddr, rport)];

	while (i != TCP_NIL) {
		struct tcp_conn *c = &tw->conns[i];

		if (c->rport == rport && c->lport == lport && dp_ip_eq(&c->raddr, raddr) &&
		    dp_ip_eq(&c->laddr, laddr))
			return c;
		i = c->hnext;
	}
	return NULL;
}

/* ---- per-burst lists ---- */

static void list_push(struct tcp_worker *tw, struct tcp_list *l, struct tcp_conn *c, int ev)
{
	uint32_t idx = (uint32_t)(c - tw->conns);

	if (ev)
		c->ev_next = TCP_NIL;
	else
		c->out_next = TCP_NIL;
	if (l->tail == TCP_NIL)
		l->head = idx;
	else if (ev)
		tw->conns[l->tail].ev_next = idx;
	else
		tw->conns[l->tail].out_next = idx;
	l->tail = idx;
}

void tcp_sched_out(struct tcp_worker *tw, struct tcp_conn *c)
{
	if (c->flags & TF_IN_OUTQ)
		return;
	c->flags |= TF_IN_OUTQ;
	list_push(tw, &tw->outq, c, 0);
}

void tcp_sched_ev(struct tcp_worker *tw, struct tcp_conn *c, uint8_t ev)
{
	c->ev |= ev;
	if (c->flags & TF_IN_EVQ)
		return;
	c->flags |= TF_IN_EVQ;
	list_push(tw, &tw->evq, c, 1);
}

static void maybe_free(struct tcp_worker *tw, struct tcp_conn *c)
{
	if (c->state == TCP_CLOSED && !(c->flags & (TF_IN_EVQ | TF_IN_OUTQ)) &&
	    !(c->ev & EV_CLOSED))
		conn_free(tw, c);
}

void tcp_conn_term(struct tcp_worker *tw, struct tcp_conn *c, int err)
{
	if (c->state == TCP_CLOSED)
		return;
	tcp_listener_release(tw, c);
	if (c->state == TCP_TIME_WAIT)
		tw->n_tw--;
	else if (c->flags & TF_ORPHAN)
		tw->n_orphans--;
	hash_remove(tw, c);
	tcp_free_queues(tw, c);
	dp_timer_cancel(&tw->w->wheel, &c->tm);
	c->state = TCP_CLOSED;
	tw->w->st->ctr[DP_CTR_TCP_CLOSED]++;
	if (c->flags & TF_APP_KNOWN) {
		/* closed() is owed; the app keeps the handle until it is delivered */
		c->close_err = err;
		tcp_sched_ev(tw, c, EV_CLOSED);
		return;
	}
	maybe_free(tw, c);
}

void tcp_enter_time_wait(struct tcp_worker *tw, struct tcp_conn *c)
{
	if (c->flags & TF_ORPHAN) {
		c->flags &= ~TF_ORPHAN;
		tw->n_orphans--;
	}
	/*
	 * TIME_WAIT may hold at most half the table: past that a connection
	 * skips it (its last ACK goes now), as Linux does past tcp_max_tw_buckets,
	 * so peers that make us close first cannot fill the table with tuples.
	 */
	if (tw->n_tw >= tw->nconns / 2) {
		tw->w->st->ctr[DP_CTR_TCP_TW_SKIPPED]++;
		tcp_send_ack(tw, c);
		tcp_conn_term(tw, c, ST_OK);
		return;
	}
	c->state = TCP_TIME_WAIT;
	tw->n_tw++;
	tw->w->st->ctr[DP_CTR_TCP_TIMEWAIT]++;
	/* Only the tuple is left: it blocks no listener slot and holds no memory. */
	tcp_listener_release(tw, c);
	if (c->sq_head)
		rte_pktmbuf_free(c->sq_head);
	c->sq_head = c->sq_tail = c->sq_cur = NULL;
	c->sq_bytes = 0;
	tcp_ooo_clear_acct(tw, c);
	c->t_rexmit = c->t_persist = c->t_keep = c->t_delack = c->t_close = 0;
	c->t_tw = tw->w->now_ms + tw->cfg.time_wait_ms;
	tcp_timer_update(tw, c);
	if (c->flags & TF_APP_KNOWN) {
		/* data still queued is readable until closed() has been delivered */
		c->close_err = ST_OK;
		tcp_sched_ev(tw, c, EV_CLOSED);
	}
}

void tcp_timer_update(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint64_t t[6] = {c->t_rexmit, c->t_delack, c->t_persist, c->t_keep, c->t_tw, c->t_close};
	uint64_t next = 0;

	for (int i = 0; i < 6; i++)
		if (t[i] && (next == 0 || t[i] < next))
			next = t[i];
	if (next == 0)
		dp_timer_cancel(&tw->w->wheel, &c->tm);
	else if (!dp_timer_armed(&c->tm) || c->tm.expire != next)
		dp_timer_arm(&tw->w->wheel, &c->tm, next);
}

uint32_t tcp_isn(struct tcp_worker *tw, const struct dp_ip *laddr, uint16_t lport,
		 const struct dp_ip *raddr, uint16_t rport)
{
	uint64_t ticks = tw->w->now_tsc / (rte_get_tsc_hz() / 250000 + 1); /* 4 us clock */

	if (dp_ip_is_v4(laddr)) {
		uint32_t in[3] = {dp_ip_v4_of(laddr), dp_ip_v4_of(raddr), (uint32_t)lport << 16 | rport};

		return (uint32_t)st_siphash24(&tw->isn_key, in, sizeof(in)) + (uint32_t)ticks;
	}
	{
		uint8_t in[36];

		memcpy(in, laddr->b, 16);
		memcpy(in + 16, raddr->b, 16);
		in[32] = (uint8_t)(lport >> 8);
		in[33] = (uint8_t)lport;
		in[34] = (uint8_t)(rport >> 8);
		in[35] = (uint8_t)rport;
		return (uint32_t)st_siphash24(&tw->isn_key, in, sizeof(in)) + (uint32_t)ticks;
	}
}

/* ---- events ---- */

void tcp_dispatch_events(struct tcp_worker *tw)
{
	struct tcp_list l = tw->evq;

	tw->evq.head = tw->evq.tail = TCP_NIL;
	while (l.head != TCP_NIL) {
		struct tcp_conn *c = &tw->conns[l.head];
		tcp_handle_t h = tcp_handle_of(tw, c);
		uint8_t ev;

		l.head = c->ev_next;
		c->flags &= ~TF_IN_EVQ;
		ev = c->ev;
		c->ev = 0;
		if (ev & EV_ACCEPTED) {
			void *cctx = NULL;
			const struct tcp_listener *lst = c->lst;

			if (!lst || !lst->ops->accepted ||
			    lst->ops->accepted(lst->ctx, h, &cctx) != 0) {
				c->flags &= ~TF_APP_KNOWN;
				if (c->state != TCP_CLOSED) {
					tcp_send_rst(tw, c);
					tcp_conn_term(tw, c, ST_ERR_CONN_RESET);
				}
				maybe_free(tw, c);
				continue;
			}
			c->ctx = cctx;
		}
		/* A handle given back (tcp_release, tcp_abort) inside a callback gets no more. */
		if ((ev & EV_CONNECTED) && c->ops->connected && (c->flags & TF_APP_KNOWN) &&
		    c->state != TCP_CLOSED)
			c->ops->connected(c->ctx, h);
		if ((ev & EV_READABLE) && c->ops->readable && !(c->flags & TF_APP_CLOSED) &&
		    (c->flags & TF_APP_KNOWN) && c->state != TCP_CLOSED)
			c->ops->readable(c->ctx, h);
		if ((ev & EV_WRITABLE) && c->ops->writable && (c->flags & TF_APP_KNOWN) &&
		    c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT)
			c->ops->writable(c->ctx, h);
		/* A callback above may have closed it: closed() is then in c->ev. */
		ev |= c->ev & EV_CLOSED;
		c->ev &= (uint8_t)~EV_CLOSED;
		if ((ev & EV_CLOSED) && (c->flags & TF_APP_KNOWN)) {
			c->flags = (c->flags & ~TF_APP_KNOWN) | TF_IN_CLOSED;
			if (c->ops && c->ops->closed)
				c->ops->closed(c->ctx, h, c->close_err);
			c->flags &= ~TF_IN_CLOSED;
			/* unread data dies with the handle (TIME_WAIT keeps only the tuple) */
			tcp_rq_free(c);
		}
		if (c->ev && !(c->flags & TF_IN_EVQ)) { /* raised during callbacks */
			c->flags |= TF_IN_EVQ;
			list_push(tw, &tw->evq, c, 1);
		}
		maybe_free(tw, c);
	}
}

void tcp_flush_output(struct tcp_worker *tw)
{
	struct tcp_list l = tw->outq;

	tw->outq.head = tw->outq.tail = TCP_NIL;
	while (l.head != TCP_NIL) {
		struct tcp_conn *c = &tw->conns[l.head];

		l.head = c->out_next;
		c->flags &= ~TF_IN_OUTQ;
		if (c->state == TCP_CLOSED)
			maybe_free(tw, c);
		else
			tcp_output(tw, c);
	}
}

void tcp_timers(struct tcp_worker *tw)
{
	dp_wheel_advance(&tw->w->wheel, tw->w->now_ms, tcp_on_timer, tw);
}

/* ---- API ---- */

/* The connection of h when it is current and has one of the flags in valid. */
static struct tcp_conn *conn_with(struct tcp_worker *tw, tcp_handle_t h, uint32_t valid)
{
	uint32_t slot = (uint32_t)(h >> 32) & 0xffffff;
	struct tcp_conn *c;

	if (tcp_handle_worker(h) != tw->w->id || slot >= tw->nconns)
		return NULL;
	c = &tw->conns[slot];
	if (c->gen != (uint32_t)h || !(c->flags & valid))
		return NULL;
	return c;
}

/* Valid until closed() is delivered (then TF_APP_KNOWN is cleared). */
static struct tcp_conn *conn_of(struct tcp_worker *tw, tcp_handle_t h)
{
	return conn_with(tw, h, TF_APP_KNOWN);
}

int tcp_listen(struct tcp_worker *tw, uint32_t addr, uint16_t port, const struct tcp_ops *ops,
	       void *ctx, const struct tcp_listen_cfg *lcfg)
{
	struct dp_ip a = dp_ip_v4(addr);

	return tcp_listen_ip(tw, &a, port, ops, ctx, lcfg);
}

int tcp_listen_ip(struct tcp_worker *tw, const struct dp_ip *addr_in, uint16_t port,
		  const struct tcp_ops *ops, void *ctx, const struct tcp_listen_cfg *lcfg)
{
	struct tcp_listener *free_l = NULL;
	struct dp_ip addr = *addr_in;

	if (port == 0 || !ops || !ops->accepted)
		return ST_ERR_INVALID_ARGUMENT;
	/* The family's unspecified address means the worker's address of that family. */
	if (dp_ip_is_v4(&addr) && dp_ip_v4_of(&addr) == 0) {
		if (tw->w->ip == 0)
			return ST_ERR_INVALID_ARGUMENT;
		addr = dp_ip_v4(tw->w->ip);
	} else if (!dp_ip_is_v4(&addr) && dp_ip_is_any(&addr)) {
		if (dp_ip_is_any(&tw->w->ip6))
			return ST_ERR_INVALID_ARGUMENT;
		addr = tw->w->ip6;
	}
	for (unsigned i = 0; i < TCP_MAX_LISTENERS; i++) {
		if (tw->lst[i].used && dp_ip_eq(&tw->lst[i].addr, &addr) && tw->lst[i].port == port)
			return ST_ERR_INVALID_ARGUMENT;
		if (!tw->lst[i].used && !free_l)
			free_l = &tw->lst[i];
	}
	if (!free_l)
		return ST_ERR_NO_SPACE;
	memset(free_l, 0, sizeof(*free_l));
	free_l->used = 1;
	free_l->addr = addr;
	free_l->port = port;
	free_l->ops = ops;
	free_l->ctx = ctx;
	free_l->max_conns = lcfg && lcfg->max_conns ? lcfg->max_conns : tw->nconns;
	free_l->syn_backlog = lcfg && lcfg->syn_backlog ? lcfg->syn_backlog : tw->cfg.syn_backlog;
	return ST_OK;
}

struct tcp_listener *tcp_listener_find(struct tcp_worker *tw, const struct dp_ip *addr,
				       uint16_t port)
{
	for (unsigned i = 0; i < TCP_MAX_LISTENERS; i++)
		if (tw->lst[i].used && tw->lst[i].port == port && dp_ip_eq(&tw->lst[i].addr, addr))
			return &tw->lst[i];
	return NULL;
}

void tcp_set_sport_hook(struct tcp_worker *tw, tcp_sport_fn *fn, void *arg)
{
	tw->sport_fn = fn;
	tw->sport_arg = arg;
}

/*
 * Does the flow laddr:lport <-> raddr:rport belong to this worker? The owner
 * rule of dataplane/mq.h: the port's real redirection table over the
 * symmetric Toeplitz hash, so the peer's answers come back to this worker.
 */
static int rss_is_ours(const struct tcp_worker *tw, const struct dp_ip *laddr, uint16_t lport,
		       const struct dp_ip *raddr, uint16_t rport)
{
	return dp_flow_owner_ip(tw->w, laddr, lport, raddr, rport) == tw->w->id;
}

static uint16_t pick_sport(struct tcp_worker *tw, const struct dp_ip *laddr,
			   const struct dp_ip *raddr, uint16_t rport)
{
	uint32_t range = (uint32_t)tw->cfg.eph_hi - tw->cfg.eph_lo + 1;

	for (uint32_t attempt = 0; attempt < range; attempt++) {
		uint16_t p = 0;

		if (tw->sport_fn)
			p = tw->sport_fn(tw->sport_arg, laddr, raddr, rport, attempt);
		if (p == 0) {
			p = tw->eph_next;
			tw->eph_next = p >= tw->cfg.eph_hi ? tw->cfg.eph_lo : (uint16_t)(p + 1);
			if (!rss_is_ours(tw, laddr, p, raddr, rport))
				continue;
		}
		if (!tcp_conn_lookup(tw, laddr, p, raddr, rport))
			return p;
	}
	return 0;
}

int tcp_connect(struct tcp_worker *tw, uint32_t raddr, uint16_t rport, const struct tcp_ops *ops,
		void *ctx, tcp_handle_t *out)
{
	struct dp_ip a = dp_ip_v4(raddr);

	return tcp_connect_ip(tw, &a, rport, ops, ctx, out);
}

int tcp_connect_ip(struct tcp_worker *tw, const struct dp_ip *raddr, uint16_t rport,
		   const struct tcp_ops *ops, void *ctx, tcp_handle_t *out)
{
	struct tcp_conn *c;
	struct dp_ip laddr, hop;
	uint16_t sport;
	int v6 = !dp_ip_is_v4(raddr);

	if (dp_ip_is_any(raddr) || rport == 0 || !ops)
		return ST_ERR_INVALID_ARGUMENT;
	hop = dp_next_hop_ip(tw->w, raddr);
	if (dp_ip_is_any(&hop))
		return ST_ERR_INVALID_ARGUMENT;
	if (v6) {
		/* A tentative (or duplicate) address is not ours to send from (RFC 4862 5.4). */
		if (!dp_ip6_is_link_local(raddr) && tw->w->dad_state != DP_DAD_DONE)
			return ST_ERR_INVALID_ARGUMENT;
		laddr = dp_ip6_is_link_local(raddr) ? tw->w->ll6 : tw->w->ip6;
	}
	else
		laddr = dp_ip_v4(tw->w->ip);
	if ((sport = pick_sport(tw, &laddr, raddr, rport)) == 0)
		return ST_ERR_NO_SPACE;
	if ((c = tcp_conn_alloc(tw)) == NULL)
		return ST_ERR_NO_SPACE;
	c->laddr = laddr;
	c->raddr = *raddr;
	c->lport = sport;
	c->rport = rport;
	c->ops = ops;
	c->ctx = ctx;
	c->flags = TF_APP_KNOWN | (v6 ? TF_V6 : 0);
	c->state = TCP_SYN_SENT;
	c->iss = tcp_isn(tw, &c->laddr, c->lport, raddr, rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->mss = tcp_our_mss(tw, v6);
	c->rcv_ws = tw->rcv_ws;
	tcp_rtt_init(&c->rtt, tw->cfg.min_rto_ms);
	tcp_conn_cc_init(tw, c);
	tcp_conn_hash_insert(tw, c);
	tcp_send_syn(tw, c);
	*out = tcp_handle_of(tw, c);
	return ST_OK;
}

int tcp_read(struct tcp_worker *tw, tcp_handle_t h, struct rte_mbuf **chain)
{
	/* Inside closed() the handle is dying, but what the peer sent before its FIN is read. */
	struct tcp_conn *c = conn_with(tw, h, TF_APP_KNOWN | TF_IN_CLOSED);
	uint32_t n, before;

	if (!c)
		return ST_ERR_STALE;
	if (!c->rq_head) {
		*chain = NULL;
		return (c->flags & TF_EOF) ? ST_ERR_EOF : 0;
	}
	before = tcp_rcv_space(tw, c);
	n = c->rq_bytes;
	tcp_rcv_space_adjust(tw, c, n); /* may grow the window before the update below */
	c->rq_head->pkt_len = n;
	c->rq_head->nb_segs = c->rq_segs;
	*chain = c->rq_head;
	c->rq_head = c->rq_tail = NULL;
	c->rq_bytes = 0;
	c->rq_segs = 0;
	c->rq_cost = 0;
	/* Window update when the window opens by a useful amount. */
	{
		uint32_t adv = c->rcv_adv - c->rcv_nxt, now = tcp_rcv_space(tw, c);

		if (now > adv && now - adv >= 2u * c->mss && (adv < c->rcv_wnd / 2 || before == 0)) {
			c->flags |= TF_ACK_NOW;
			tcp_sched_out(tw, c);
		}
	}
	return (int)n;
}

int tcp_write(struct tcp_worker *tw, tcp_handle_t h, struct rte_mbuf *chain)
{
	struct tcp_conn *c = conn_of(tw, h);
	uint32_t bytes = 0;
	struct rte_mbuf *s, *last = NULL;

	if (!c)
		return ST_ERR_STALE;
	if (!chain)
		return ST_ERR_INVALID_ARGUMENT;
	if ((c->flags & TF_FIN_QUEUED) ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return ST_ERR_STATE;
	if (c->sq_bytes >= c->snd_buf) {
		c->flags |= TF_WANT_WRITABLE;
		return ST_ERR_AGAIN;
	}
	for (s = chain; s; s = s->next) {
		bytes += s->data_len;
		last = s;
	}
	if (bytes == 0) {
		rte_pktmbuf_free(chain);
		return ST_OK;
	}
	if (c->sq_tail)
		c->sq_tail->next = chain;
	else
		c->sq_head = chain;
	c->sq_tail = last;
	c->sq_bytes += bytes;
	/* A write that fills the buffer leaves the writer waiting too (a partial write). */
	if (c->sq_bytes >= c->snd_buf)
		c->flags |= TF_WANT_WRITABLE;
	tcp_sched_out(tw, c);
	return ST_OK;
}

uint32_t tcp_send_space(struct tcp_worker *tw, tcp_handle_t h)
{
	struct tcp_conn *c = conn_of(tw, h);

	if (!c || (c->flags & TF_FIN_QUEUED) ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return 0;
	if (c->sq_bytes >= c->snd_buf) {
		/* A caller told "no space" waits for writable(), as after ST_ERR_AGAIN. */
		c->flags |= TF_WANT_WRITABLE;
		return 0;
	}
	return c->snd_buf - c->sq_bytes;
}

uint32_t tcp_send_queued(struct tcp_worker *tw, tcp_handle_t h)
{
	const struct tcp_conn *c = conn_of(tw, h);

	return c ? c->sq_bytes : 0;
}

int tcp_shutdown(struct tcp_worker *tw, tcp_handle_t h)
{
	struct tcp_conn *c = conn_of(tw, h);

	if (!c)
		return ST_ERR_STALE;
	if (c->flags & TF_FIN_QUEUED)
		return ST_OK;
	switch (c->state) {
	case TCP_SYN_SENT:
		tcp_conn_term(tw, c, ST_OK);
		return ST_OK;
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		c->state = TCP_FIN_WAIT_1;
		break;
	case TCP_CLOSE_WAIT:
		c->state = TCP_LAST_ACK;
		break;
	default:
		return ST_ERR_STATE;
	}
	c->flags |= TF_FIN_QUEUED;
	tcp_sched_out(tw, c);
	return ST_OK;
}

int tcp_close(struct tcp_worker *tw, tcp_handle_t h)
{
	struct tcp_conn *c = conn_of(tw, h);
	int r;

	if (!c)
		return ST_ERR_STALE;
	c->flags |= TF_APP_CLOSED;
	tcp_rq_free(c);
	tcp_ooo_clear_acct(tw, c); /* nobody will read what it held */
	tcp_listener_release(tw, c);
	r = tcp_shutdown(tw, h);
	if (c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT)
		tcp_close_deadline(tw, c);
	return r == ST_ERR_STATE ? ST_OK : r;
}

int tcp_release(struct tcp_worker *tw, tcp_handle_t h)
{
	struct tcp_conn *c = conn_of(tw, h);
	int r;

	if (!c)
		return ST_ERR_STALE;
	if ((r = tcp_close(tw, h)) != ST_OK)
		return r;
	c->flags &= ~(TF_APP_KNOWN | TF_WANT_WRITABLE);
	c->ev &= (uint8_t)~EV_CLOSED;
	if (c->state == TCP_TIME_WAIT || c->state == TCP_CLOSED) {
		maybe_free(tw, c);
	} else {
		c->flags |= TF_ORPHAN;
		tw->n_orphans++;
	}
	return ST_OK;
}

int tcp_abort(struct tcp_worker *tw, tcp_handle_t h)
{
	struct tcp_conn *c = conn_of(tw, h);

	if (!c)
		return ST_ERR_STALE;
	c->flags &= ~TF_APP_KNOWN;
	c->ev &= (uint8_t)~EV_CLOSED;
	if (c->state == TCP_TIME_WAIT || c->state == TCP_CLOSED) {
		tcp_rq_free(c);
		maybe_free(tw, c);
		return ST_OK;
	}
	if (c->state != TCP_SYN_SENT)
		tcp_send_rst(tw, c);
	tcp_conn_term(tw, c, ST_ERR_CONN_RESET);
	return ST_OK;
}

int tcp_conn_info(struct tcp_worker *tw, tcp_handle_t h, struct tcp_conn_info *out)
{
	struct tcp_conn *c = conn_of(tw, h);

	if (!c)
		return ST_ERR_STALE;
	out->laddr = dp_ip_is_v4(&c->laddr) ? dp_ip_v4_of(&c->laddr) : 0;
	out->raddr = dp_ip_is_v4(&c->raddr) ? dp_ip_v4_of(&c->raddr) : 0;
	out->lip = c->laddr;
	out->rip = c->raddr;
	out->lport = c->lport;
	out->rport = c->rport;
	out->state = c->state;
	out->snd_mss = c->mss;
	out->cwnd = c->cc.cwnd;
	out->ssthresh = c->cc.ssthresh;
	out->srtt_ms = c->rtt.srtt8 >> 3;
	out->rto_ms = tcp_rto_current(&c->rtt);
	out->rcv_wnd = c->rcv_wnd;
	out->snd_buf = c->snd_buf;
	out->rcv_rtt_ms = c->rrtt8 >> 3;
	out->snd_wnd = c->snd_wnd;
	out->bytes_in = c->bytes_in;
	out->bytes_out = c->bytes_out;
	out->retrans = c->retrans;
	return ST_OK;
}

uint32_t tcp_conn_rtt_ms(struct tcp_worker *tw, tcp_handle_t h)
{
	struct tcp_conn *c = conn_of(tw, h);

	return c ? tcp_rcv_rtt_ms(c) : 0;
}

void tcp_worker_info(const struct tcp_worker *tw, struct tcp_worker_info *out)
{
	out->conns_used = tw->used;
	out->conns_max_used = tw->max_used;
	out->embryonic = tw->n_embryonic;
	out->time_wait = tw->n_tw;
	out->orphans = tw->n_orphans;
	out->ooo_bytes = tw->ooo_cost;
}

void tcp_worker_print_states(const struct tcp_worker *tw, FILE *f, const char *prefix)
{
	uint32_t n[TCP_TIME_WAIT + 1] = {0};

	for (uint32_t i = 0; i < tw->nconns; i++)
		if (tw->conns[i].state <= TCP_TIME_WAIT)
			n[tw->conns[i].state]++;
	for (unsigned s = TCP_LISTEN; s <= TCP_TIME_WAIT; s++)
		if (n[s])
			fprintf(f, "%s tcp_state.%s=%u\n", prefix, tcp_state_name(s), n[s]);
}
