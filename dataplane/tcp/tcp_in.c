/*
 * TCP input (RFC 9293 3.10.7 "SEGMENT ARRIVES") with RFC 5961 checks, PAWS
 * (RFC 7323), SACK processing, NewReno/SACK loss recovery, reassembly, SYN
 * cookies, and the connection timers.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "crypto/err.h"
#include "dataplane/proto.h"
#include "dataplane/tcp/tcp_internal.h"


static void drop_seg(struct tcp_worker *tw, struct tcp_seg *s, unsigned reason)
{
	tw->w->st->drop[reason]++;
	if (s->m) {
		rte_pktmbuf_free(s->m);
		s->m = NULL;
	}
}

static void free_seg(struct tcp_seg *s)
{
	if (s->m) {
		rte_pktmbuf_free(s->m);
		s->m = NULL;
	}
}

/* Options negotiated on SYN / SYN-ACK. */
static void syn_options(struct tcp_worker *tw, struct tcp_conn *c, const struct tcp_opts *o,
			int we_offered_all)
{
	uint16_t mss = (o->flags & TCP_OF_MSS) ? o->mss : 536, ours = tcp_our_mss(tw, !!(c->flags & TF_V6));

	if (mss > ours)
		mss = ours;
	if (mss < 64)
		mss = 64;
	c->mss = mss;
	if ((o->flags & TCP_OF_WS) && we_offered_all) {
		c->snd_ws = o->ws;
		c->rcv_ws = tw->rcv_ws;
	} else {
		c->snd_ws = 0;
		c->rcv_ws = 0;
	}
	if ((o->flags & TCP_OF_SACK_OK) && we_offered_all)
		c->flags |= TF_SACK;
	if ((o->flags & TCP_OF_TS) && we_offered_all) {
		c->flags |= TF_TS;
		c->ts_recent = o->tsval;
	}
	tcp_conn_cc_init(tw, c);
}

static void rtt_from_ts(struct tcp_worker *tw, struct tcp_conn *c, const struct tcp_seg *s)
{
	if ((c->flags & TF_TS) && (s->o.flags & TCP_OF_TS) && s->o.tsecr) {
		uint32_t rtt = tcp_ts_now(tw) - s->o.tsecr;

		if (rtt < TCP_RTO_MAX_MS) {
			tcp_rtt_sample(&c->rtt, rtt);
			tcp_cc_rtt_sample(&c->cc, rtt);
		}
	}
}

/* ---- passive open ---- */

static struct tcp_conn *new_passive(struct tcp_worker *tw, struct tcp_listener *l,
				    const struct tcp_seg *s)
{
	struct tcp_conn *c = tcp_conn_alloc(tw);

	if (!c)
		return NULL;
	c->laddr = s->daddr;
	c->raddr = s->saddr;
	c->lport = s->dport;
	c->rport = s->sport;
	c->lst = l;
	c->ops = l->ops;
	c->ctx = l->ctx;
	c->flags = TF_PASSIVE | TF_RMAC | (dp_ip_is_v4(&s->saddr) ? 0 : TF_V6);
	memcpy(c->rmac.addr_bytes, s->smac, 6);
	tcp_rtt_init(&c->rtt, tw->cfg.min_rto_ms);
	l->n_conns++;
	tcp_conn_hash_insert(tw, c);
	c->last_rcv_ms = tw->w->now_ms;
	return c;
}

static void listen_input(struct tcp_worker *tw, struct tcp_listener *l, struct tcp_seg *s);
static void conn_input(struct tcp_worker *tw, struct tcp_conn *c, struct tcp_seg *s);

static void cookie_ack(struct tcp_worker *tw, struct tcp_listener *l, struct tcp_seg *s)
{
	uint16_t mss;
	struct tcp_conn *c;
	uint32_t cookie = s->ack - 1;

	if (tcp_cookie_check_ip(&tw->ckey, cookie, &s->saddr, &s->daddr, s->sport, s->dport,
				s->seq - 1, tw->w->now_ms / 1000, &mss) != ST_OK) {
		/*
		 * While cookies are in use, a failed check may be a later segment
		 * of a handshake whose ACK was lost: drop it silently so the
		 * peer's retransmission can still complete (no RST). Otherwise
		 * an ACK to a listener gets a RST (RFC 9293 3.10.7.2).
		 */
		if (!tw->cookie_ms || tw->w->now_ms - tw->cookie_ms > 2000u * TCP_COOKIE_PERIOD_S)
			tcp_send_rst_reply(tw, s);
		drop_seg(tw, s, DP_DROP_TCP_COOKIE);
		return;
	}
	/* Full: refuse at once (RST), so the client is not left to time out. */
	if (l->n_conns >= l->max_conns) {
		tcp_send_rst_reply(tw, s);
		drop_seg(tw, s, DP_DROP_TCP_LISTEN_CAP);
		return;
	}
	if ((c = new_passive(tw, l, s)) == NULL) {
		tcp_send_rst_reply(tw, s);
		drop_seg(tw, s, DP_DROP_TCP_TABLE_FULL);
		return;
	}
	tw->w->st->ctr[DP_CTR_TCP_COOKIES_OK]++;
	c->mss = mss;
	c->iss = cookie;
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->rcv_adv = s->seq + (tw->cfg.rcvbuf > 65535 ? 65535 : tw->cfg.rcvbuf);
	c->snd_una = c->snd_nxt = c->snd_max = s->ack;
	if (s->o.flags & TCP_OF_TS) {
		uint32_t bits = s->o.tsecr & 0x1f;

		c->flags |= TF_TS;
		c->ts_recent = s->o.tsval;
		if ((bits & 0xf) != 0xf) {
			c->snd_ws = (uint8_t)((bits & 0xf) > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : bits & 0xf);
			c->rcv_ws = tw->rcv_ws;
		}
		if (bits & 0x10)
			c->flags |= TF_SACK;
	}
	tcp_conn_cc_init(tw, c);
	c->snd_wnd = (uint32_t)s->wnd << c->snd_ws;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->state = TCP_ESTABLISHED;
	c->flags |= TF_APP_KNOWN;
	tw->w->st->ctr[DP_CTR_TCP_ACCEPTED]++;
	tcp_sched_ev(tw, c, EV_ACCEPTED);
	conn_input(tw, c, s);
}

static void listen_input(struct tcp_worker *tw, struct tcp_listener *l, struct tcp_seg *s)
{
	struct tcp_conn *c;

	if (s->flags & TH_RST) {
		drop_seg(tw, s, DP_DROP_TCP_NO_CONN);
		return;
	}
	if (s->flags & TH_ACK) {
		if (s->flags & TH_SYN) {
			tcp_send_rst_reply(tw, s);
			drop_seg(tw, s, DP_DROP_TCP_NO_CONN);
			return;
		}
		cookie_ack(tw, l, s);
		return;
	}
	if (!(s->flags & TH_SYN)) {
		drop_seg(tw, s, DP_DROP_TCP_NO_CONN);
		return;
	}
	tw->w->st->ctr[DP_CTR_TCP_SYN_RCVD]++;
	if (l->n_conns >= l->max_conns) {
		tcp_send_rst_reply(tw, s);
		drop_seg(tw, s, DP_DROP_TCP_LISTEN_CAP);
		return;
	}
	if (tw->cfg.always_cookies || l->n_embryonic >= l->syn_backlog ||
	    (c = new_passive(tw, l, s)) == NULL) {
		tcp_send_cookie_synack(tw, s);
		free_seg(s);
		return;
	}
	c->flags |= TF_EMBRYONIC;
	l->n_embryonic++;
	tw->n_embryonic++;
	c->state = TCP_SYN_RCVD;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->iss = tcp_isn(tw, &c->laddr, c->lport, &c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	syn_options(tw, c, &s->o, 1);
	c->snd_wnd = s->wnd; /* never scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = 0;
	tcp_send_syn(tw, c);
	free_seg(s); /* data on a SYN is not kept (the peer resends it) */
}

/* ---- synchronized states ---- */

/* Appends m (len bytes, pinning cost: tcp_chain_cost(m)) to the in-order queue. */
static void rq_append(struct tcp_conn *c, struct rte_mbuf *m, uint32_t len, uint32_t cost)
{
	uint16_t segs = 0;
	struct rte_mbuf *last = m;

	c->rq_bytes += len;
	c->bytes_in += len;
	/* Small pieces go into the last queued buffer: tiny segments cannot pin the pool. */
	if (c->rq_tail && tcp_mbuf_absorb(c->rq_tail, m, len))
		return;
	for (struct rte_mbuf *x = m; x; x = x->next) {
		segs++;
		last = x;
	}
	if (c->rq_tail)
		c->rq_tail->next = m;
	else
		c->rq_head = m;
	c->rq_tail = last;
	c->rq_segs = (uint16_t)(c->rq_segs + segs);
	c->rq_cost += cost;
}

/* Receive memory a connection may pin: its window's worth of full-size buffers. */
static inline uint32_t rcv_mem_max(const struct tcp_conn *c)
{
	return 2 * c->rcv_wnd;
}

static void consume_fin(struct tcp_worker *tw, struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->flags |= TF_EOF | TF_ACK_NOW;
	c->flags &= ~TF_FIN_PENDING;
	tcp_sched_ev(tw, c, EV_READABLE);
	switch (c->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		if (c->flags & TF_FIN_ACKED)
			tcp_enter_time_wait(tw, c);
		else
			c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		tcp_enter_time_wait(tw, c);
		break;
	default:
		break;
	}
}

/*
 * In-order data of len bytes owes an ACK per segment it holds: a segment
 * merged by GRO / LRO counts as the segments it was made of, so that the
 * every-second-segment ACK still goes out at once.
 */
static void ack_owed(struct tcp_conn *c, uint32_t len)
{
	uint32_t segs = len > c->mss ? (len + c->mss - 1) / c->mss : 1;
	uint32_t n = c->acks_pending + segs;

	c->acks_pending = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
}

static void data_input(struct tcp_worker *tw, struct tcp_conn *c, struct tcp_seg *s)
{
	struct dp_stats *st = tw->w->st;

	if (s->len == 0)
		return;
	if (c->flags & TF_APP_CLOSED) {
		/* Nobody will read: acknowledge and discard. */
		if (s->seq == c->rcv_nxt) {
			c->rcv_nxt += s->len;
			ack_owed(c, s->len);
		} else {
			c->flags |= TF_ACK_NOW;
		}
		free_seg(s);
		return;
	}
	if (s->seq == c->rcv_nxt) {
		struct rte_mbuf *m;
		uint32_t len;
		int had_ooo = c->ooo.n != 0;

		uint32_t ooo_before = c->ooo.cost, cost = tcp_chain_cost(s->m);

		if (c->rq_segs + s->m->nb_segs > TCP_RQ_MAX_SEGS ||
		    c->rq_cost + c->ooo.cost + cost > rcv_mem_max(c)) {
			drop_seg(tw, s, DP_DROP_TCP_RCVBUF);
			c->flags |= TF_ACK_NOW;
			return;
		}
		rq_append(c, s->m, s->len, cost);
		s->m = NULL;
		c->rcv_nxt += s->len;
		while (tcp_ooo_pop(&c->ooo, &tcp_mbuf_ooo_ops, c->rcv_nxt, (void **)&m, &len)) {
			rq_append(c, m, len, tcp_chain_cost(m));
			c->rcv_nxt += len;
		}
		tw->ooo_cost -= ooo_before - c->ooo.cost;
		ack_owed(c, s->len);
		if (had_ooo)
			c->flags |= TF_ACK_NOW;
		tcp_sched_ev(tw, c, EV_READABLE);
		return;
	}
	/*
	 * Beyond a hole. What the queue pins is bounded in buffer memory (whole
	 * mbufs, not payload bytes) per connection and per worker, so peers
	 * sending tiny segments cannot take the pool; small segments that extend
	 * a queued range are copied into it and pin nothing more.
	 */
	uint32_t cost = tcp_chain_cost(s->m), ooo_before = c->ooo.cost;

	if (c->ooo.n >= TCP_OOO_MAX || c->rq_cost + c->ooo.cost + cost > rcv_mem_max(c)) {
		drop_seg(tw, s, DP_DROP_TCP_OOO_FULL);
		c->flags |= TF_ACK_NOW;
		return;
	}
	if (tw->ooo_cost + cost > tw->ooo_cost_max) {
		drop_seg(tw, s, DP_DROP_TCP_OOO_MEM);
		c->flags |= TF_ACK_NOW;
		return;
	}
	int r = tcp_ooo_insert(&c->ooo, &tcp_mbuf_ooo_ops, s->seq, s->len, s->m);

	tw->ooo_cost += c->ooo.cost;
	tw->ooo_cost -= ooo_before;
	switch (r) {
	case TCP_OOO_QUEUED:
		st->ctr[DP_CTR_TCP_OOO_SEGS]++;
		break;
	case TCP_OOO_DUP:
		st->drop[DP_DROP_TCP_DUP]++;
		break;
	default:
		st->drop[DP_DROP_TCP_OOO_FULL]++;
		break;
	}
	s->m = NULL;
	c->flags |= TF_ACK_NOW;
}

/* Processes the ACK field. Returns 0 to go on with the segment, -1 if it was consumed. */
static int ack_input(struct tcp_worker *tw, struct tcp_conn *c, struct tcp_seg *s)
{
	struct dp_stats *st = tw->w->st;
	uint32_t acked, newly_sacked = 0, old_wnd = c->snd_wnd;
	int dup = 0;

	if (seq_gt(s->ack, c->snd_max)) {
		c->flags |= TF_ACK_NOW;
		tcp_sched_out(tw, c);
		drop_seg(tw, s, DP_DROP_TCP_ACK);
		return -1;
	}
	if (seq_lt(s->ack, c->snd_una - c->max_snd_wnd)) {
		tcp_send_challenge_ack(tw, c);
		drop_seg(tw, s, DP_DROP_TCP_ACK);
		return -1;
	}
	/* SACK blocks (RFC 2018). */
	if ((c->flags & TF_SACK) && (s->o.flags & TCP_OF_SACK)) {
		uint32_t una = seq_max(c->snd_una, s->ack);

		for (unsigned i = 0; i < s->o.nsack; i++)
			newly_sacked += tcp_sb_add(&c->sb, s->o.sack[i][0], s->o.sack[i][1], una,
						   c->snd_max);
		st->ctr[DP_CTR_TCP_SACK_BLOCKS_RCVD] += s->o.nsack;
	}
	/* Window update (RFC 9293 3.10.7.4, fifth check). */
	if (seq_lt(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, s->ack))) {
		c->snd_wnd = (uint32_t)s->wnd << c->snd_ws;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		if (c->snd_wnd > old_wnd) {
			c->t_persist = 0;
			c->probes = 0;
			tcp_sched_out(tw, c);
		}
	}
	if (seq_gt(s->ack, c->snd_una)) {
		acked = s->ack - c->snd_una;
		rtt_from_ts(tw, c, s);
		tcp_rto_reset_backoff(&c->rtt);
		c->retries = 0;
		if ((c->flags & TF_FIN_SENT) && seq_gt(s->ack, c->snd_fin))
			c->flags |= TF_FIN_ACKED;
		tcp_sq_free_acked(c, acked);
		c->snd_una = s->ack;
		if (seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		tcp_sb_ack(&c->sb, c->snd_una);
		if (c->cc.in_recovery) {
			if (seq_geq(s->ack, c->cc.recover)) {
				tcp_cc_exit_recovery(&c->cc, c->snd_max - c->snd_una);
			} else {
				/* Partial ACK: the next hole goes out at once (RFC 6582). */
				tcp_cc_recovery_delivered(&c->cc, acked + newly_sacked);
				if (seq_lt(c->rxt_next, c->snd_una))
					c->rxt_next = c->snd_una;
				if (!c->sb.n)
					c->rxt_next = c->snd_una;
			}
		} else {
			struct tcp_cc_ack ca = {
				.ack = s->ack,
				.snd_nxt = c->snd_nxt,
				.flight = c->snd_max - c->snd_una + acked,
				.now_ms = (uint32_t)tw->w->now_ms,
				.srtt_ms = c->rtt.srtt8 >> 3,
			};

			tcp_cc_on_ack(&c->cc, acked, &ca);
		}
		if ((c->flags & TF_AFTER_RTO) && seq_geq(s->ack, c->cc.recover))
			c->flags &= ~TF_AFTER_RTO;
		c->dupacks = 0;
		c->rprobes = 0;
		c->flags &= ~TF_TLP_SENT;
		if (c->t_close)
			tcp_close_deadline(tw, c); /* a closed connection that still moves lives on */
		if (c->snd_una == c->snd_max)
			c->t_rexmit = 0;
		else
			tcp_arm_rexmit(tw, c);
		tcp_sndbuf_expand(tw, c);
		/* Wake the writer once a quarter of the buffer is free, not per ACK. */
		if ((c->flags & TF_WANT_WRITABLE) &&
		    c->sq_bytes <= c->snd_buf - c->snd_buf / 4) {
			c->flags &= ~TF_WANT_WRITABLE;
			tcp_sched_ev(tw, c, EV_WRITABLE);
		}
		tcp_sched_out(tw, c);
	} else if (s->ack == c->snd_una && s->len == 0 && !(s->flags & (TH_SYN | TH_FIN)) &&
		   c->snd_una != c->snd_max && (c->snd_wnd == old_wnd || newly_sacked)) {
		dup = 1;
	}
	if (dup) {
		if (c->dupacks < 255)
			c->dupacks++;
		if (c->cc.in_recovery) {
			tcp_cc_recovery_delivered(&c->cc, newly_sacked ? newly_sacked : c->mss);
			tcp_sched_out(tw, c);
		}
	}
	/*
	 * Loss detection: three duplicate ACKs (not right after a timeout, RFC
	 * 6582 4.1), or SACK showing at least three segments above a hole (new
	 * SACK information is trusted after a timeout as well).
	 */
	if (!c->cc.in_recovery && c->snd_una != c->snd_max) {
		/*
		 * Early retransmit (RFC 5827): a lower threshold for a flight of two
		 * or three segments. With one segment out no later segment can have
		 * caused a duplicate ACK (it is a window probe answer, a delayed ACK
		 * crossing our data, ...): that one is left to RTO and tail loss probes.
		 */
		uint32_t segs = (c->snd_max - c->snd_una + c->mss - 1) / c->mss, thresh = 3;
		int lost;

		if (segs == 2 || segs == 3)
			thresh = segs - 1;
		lost = (dup && c->dupacks >= thresh && !(c->flags & TF_AFTER_RTO)) ||
		       (newly_sacked && c->sb.sacked > (thresh - 1) * c->mss);

		if (lost) {
			st->ctr[DP_CTR_TCP_FAST_RETRANS]++;
			tcp_cc_enter_recovery(&c->cc, c->snd_max - c->snd_una, c->snd_max);
			c->rxt_next = c->snd_una;
			c->rprobes = 0;
			tcp_arm_rexmit(tw, c);
			tcp_timer_update(tw, c);
			tcp_sched_out(tw, c);
		}
	}
	/* FIN acknowledged: state changes. */
	if (c->flags & TF_FIN_ACKED) {
		switch (c->state) {
		case TCP_FIN_WAIT_1:
			c->state = TCP_FIN_WAIT_2;
			c->t_close = 0; /* the peer has everything; FIN_WAIT_2 has its own bound */
			if (c->flags & TF_ORPHAN) { /* nothing left to deliver */
				c->flags &= ~TF_ORPHAN;
				tw->n_orphans--;
			}
			if (c->flags & TF_APP_CLOSED) {
				c->t_keep = tw->w->now_ms + TCP_FIN_WAIT_2_MS;
				tcp_timer_update(tw, c);
			}
			break;
		case TCP_CLOSING:
			tcp_enter_time_wait(tw, c);
			break;
		case TCP_LAST_ACK:
			free_seg(s);
			tcp_conn_term(tw, c, ST_OK);
			return -1;
		default:
			break;
		}
	}
	return 0;
}

static void syn_sent_input(struct tcp_worker *tw, struct tcp_conn *c, struct tcp_seg *s)
{
	int ack_ok = 0;

	if (s->flags & TH_ACK) {
		if (seq_leq(s->ack, c->iss) || seq_gt(s->ack, c->snd_max)) {
			tcp_send_rst_reply(tw, s);
			drop_seg(tw, s, DP_DROP_TCP_ACK);
			return;
		}
		ack_ok = 1;
	}
	if (s->flags & TH_RST) {
		free_seg(s);
		if (ack_ok) {
			tw->w->st->ctr[DP_CTR_TCP_RESET_RCVD]++;
			tcp_conn_term(tw, c, ST_ERR_CONN_REFUSED);
		}
		return;
	}
	if (!(s->flags & TH_SYN)) {
		drop_seg(tw, s, DP_DROP_TCP_STATE);
		return;
	}
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	syn_options(tw, c, &s->o, 1);
	c->last_rcv_ms = tw->w->now_ms;
	if (ack_ok) {
		rtt_from_ts(tw, c, s);
		c->snd_una = s->ack;
		c->snd_wnd = s->wnd; /* not scaled in a SYN */
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		c->state = TCP_ESTABLISHED;
		c->t_rexmit = 0;
		c->retries = 0;
		tcp_rto_reset_backoff(&c->rtt);
		tw->w->st->ctr[DP_CTR_TCP_CONNECTED]++;
		tcp_sched_ev(tw, c, EV_CONNECTED);
		c->flags |= TF_ACK_NOW;
		tcp_sched_out(tw, c);
		tcp_timer_update(tw, c);
		free_seg(s);
		return;
	}
	/* Simultaneous open. */
	c->state = TCP_SYN_RCVD;
	c->snd_wnd = s->wnd;
	c->snd_wl1 = s->seq;
	tcp_xmit(tw, c, c->iss, 0, TH_SYN | TH_ACK);
	free_seg(s);
}

static int seq_acceptable(const struct tcp_conn *c, const struct tcp_seg *s)
{
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t slen = s->len + ((s->flags & TH_FIN) ? 1 : 0);

	if (slen == 0) /* like most stacks, accept an ACK at the right window edge too */
		return seq_geq(s->seq, c->rcv_nxt) && seq_leq(s->seq, c->rcv_nxt + wnd);
	if (wnd == 0)
		return 0;
	return seq_in(s->seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
	       seq_in(s->seq + slen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

static void conn_input(struct tcp_worker *tw, struct tcp_conn *c, struct tcp_seg *s)
{
	struct dp_stats *st = tw->w->st;

	/*
	 * The next hop's MAC as the peer's frames carry it: a peer that came
	 * back with another MAC (a new NIC, a failover, a restarted DPDK
	 * client on the same port) gets our answers, not the old address.
	 */
	if (s->smac != NULL && (c->flags & TF_RMAC) &&
	    memcmp(c->rmac.addr_bytes, s->smac, RTE_ETHER_ADDR_LEN) != 0)
		memcpy(c->rmac.addr_bytes, s->smac, RTE_ETHER_ADDR_LEN);
	if (c->state == TCP_SYN_SENT) {
		syn_sent_input(tw, c, s);
		return;
	}
	if (c->state == TCP_TIME_WAIT) {
		/*
		 * A new SYN that could not take over the 4-tuple (its sequence
		 * number is not above the old connection's: conn_lookup_input)
		 * gets an ACK for the old connection; the client answers that with
		 * a RST, which ends TIME_WAIT, and its next SYN finds the listener.
		 * Silence would leave the client retrying the same SYN until it
		 * gives up: a generator that reuses ports hits that within seconds.
		 */
		if ((s->flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
			st->ctr[DP_CTR_TCP_TW_SYN_ACKED]++;
			tcp_send_challenge_ack(tw, c);
			drop_seg(tw, s, DP_DROP_TCP_STATE);
			return;
		}
		/* That RST, exactly at rcv_nxt (as Linux accepts it; RFC 1337 would not). */
		if ((s->flags & TH_RST) && s->seq == c->rcv_nxt) {
			st->ctr[DP_CTR_TCP_TW_RESET]++;
			free_seg(s);
			tcp_conn_term(tw, c, ST_OK);
			return;
		}
		/* A retransmitted FIN gets its ACK again and restarts 2MSL. */
		if (!(s->flags & TH_RST) && (s->flags & TH_FIN)) {
			c->flags |= TF_ACK_NOW;
			c->t_tw = tw->w->now_ms + tw->cfg.time_wait_ms;
			tcp_timer_update(tw, c);
			tcp_sched_out(tw, c);
		}
		drop_seg(tw, s, DP_DROP_TCP_STATE);
		return;
	}
	/* PAWS (RFC 7323 5). */
	if ((c->flags & TF_TS) && (s->o.flags & TCP_OF_TS) && !(s->flags & TH_RST) &&
	    seq_lt(s->o.tsval, c->ts_recent)) {
		c->flags |= TF_ACK_NOW;
		tcp_sched_out(tw, c);
		drop_seg(tw, s, DP_DROP_TCP_PAWS);
		return;
	}
	/* SYN in a synchronized state, whatever its sequence number (RFC 5961 4.2) */
	if ((s->flags & TH_SYN) && !(s->flags & TH_RST)) {
		if (c->state == TCP_SYN_RCVD && s->seq == c->irs) {
			c->flags |= TF_ACK_NOW; /* retransmitted SYN: SYN-ACK again */
			tcp_sched_out(tw, c);
			drop_seg(tw, s, DP_DROP_TCP_DUP);
			return;
		}
		tcp_send_challenge_ack(tw, c);
		drop_seg(tw, s, DP_DROP_TCP_SYN);
		return;
	}
	/* 1. sequence number */
	if (!seq_acceptable(c, s)) {
		if (!(s->flags & TH_RST)) {
			c->flags |= TF_ACK_NOW;
			tcp_sched_out(tw, c);
		}
		if (s->len && seq_leq(s->seq + s->len, c->rcv_nxt))
			drop_seg(tw, s, DP_DROP_TCP_DUP);
		else
			drop_seg(tw, s, DP_DROP_TCP_SEQ);
		return;
	}
	/* 2. RST (RFC 5961 3.2) */
	if (s->flags & TH_RST) {
		if (s->seq == c->rcv_nxt) {
			free_seg(s);
			st->ctr[DP_CTR_TCP_RESET_RCVD]++;
			tcp_conn_term(tw, c, ST_ERR_CONN_RESET);
		} else {
			tcp_send_challenge_ack(tw, c);
			drop_seg(tw, s, DP_DROP_TCP_RST);
		}
		return;
	}
	/* 5. ACK */
	if (!(s->flags & TH_ACK)) {
		drop_seg(tw, s, DP_DROP_TCP_STATE);
		return;
	}
	if (c->state == TCP_SYN_RCVD) {
		if (!seq_gt(s->ack, c->snd_una) || seq_gt(s->ack, c->snd_max)) {
			tcp_send_rst_reply(tw, s);
			drop_seg(tw, s, DP_DROP_TCP_ACK);
			return;
		}
		c->state = TCP_ESTABLISHED;
		c->snd_una = s->ack;
		c->snd_wnd = (uint32_t)s->wnd << c->snd_ws;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		c->t_rexmit = 0;
		c->retries = 0;
		tcp_rto_reset_backoff(&c->rtt);
		rtt_from_ts(tw, c, s);
		tcp_embryonic_release(tw, c);
		c->flags |= TF_APP_KNOWN;
		if (c->flags & TF_PASSIVE) {
			st->ctr[DP_CTR_TCP_ACCEPTED]++;
			tcp_sched_ev(tw, c, EV_ACCEPTED);
		} else {
			st->ctr[DP_CTR_TCP_CONNECTED]++;
			tcp_sched_ev(tw, c, EV_CONNECTED);
		}
		tcp_timer_update(tw, c);
	}
	/* Timestamp to echo (RFC 7323 4.3). */
	if ((c->flags & TF_TS) && (s->o.flags & TCP_OF_TS) && seq_leq(s->seq, c->last_ack_sent) &&
	    seq_geq(s->o.tsval, c->ts_recent))
		c->ts_recent = s->o.tsval;
	c->last_rcv_ms = tw->w->now_ms;
	c->probes = 0;
	if (ack_input(tw, c, s) != 0)
		return;
	if (c->state == TCP_CLOSED || c->state == TCP_TIME_WAIT) {
		free_seg(s);
		return;
	}
	/* 7. data, trimmed to the window */
	if (s->len && (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
		       c->state == TCP_FIN_WAIT_2)) {
		if (seq_lt(s->seq, c->rcv_nxt)) {
			uint32_t cut = c->rcv_nxt - s->seq;

			s->m = tcp_chain_trim_front(s->m, cut);
			s->seq = c->rcv_nxt;
			s->len -= cut;
			st->drop[DP_DROP_TCP_DUP]++; /* partly duplicate */
		}
		if (s->len && seq_gt(s->seq + s->len, c->rcv_adv)) {
			uint32_t cut = s->seq + s->len - c->rcv_adv;

			if (cut >= s->len) {
				free_seg(s);
				s->len = 0;
			} else {
				s->m = tcp_chain_trim_back(s->m, cut);
				s->len -= cut;
			}
			s->flags &= (uint8_t)~TH_FIN;
			st->drop[DP_DROP_TCP_RCVBUF]++;
			c->flags |= TF_ACK_NOW;
		}
		if (s->len) {
			data_input(tw, c, s);
			tcp_rcv_rtt_measure(tw, c, s);
		}
	} else if (s->len) {
		c->flags |= TF_ACK_NOW;
		free_seg(s);
		s->len = 0;
	}
	/* 8. FIN */
	if (s->flags & TH_FIN) {
		uint32_t fin = s->seq + s->len;

		if (fin == c->rcv_nxt && !(c->flags & TF_EOF))
			consume_fin(tw, c);
		else if (seq_gt(fin, c->rcv_nxt)) {
			c->flags |= TF_FIN_PENDING;
			c->fin_seq = fin;
		} else
			c->flags |= TF_ACK_NOW;
	}
	if ((c->flags & TF_FIN_PENDING) && c->fin_seq == c->rcv_nxt && !(c->flags & TF_EOF))
		consume_fin(tw, c);
	free_seg(s);
	if ((c->flags & TF_ACK_NOW) || c->acks_pending)
		tcp_sched_out(tw, c);
}

/* ---- entry ---- */

void tcp_input(struct tcp_worker *tw, struct rte_mbuf *m, const struct dp_ipv4_info *ip,
	       const uint8_t *src_mac, int csum_ok)
{
	struct dp_ip src = dp_ip_v4(ip->src), dst = dp_ip_v4(ip->dst);

	(void)csum_ok;
	tcp_input_ip(tw, m, &src, &dst, (uint32_t)ip->total_len - ip->hlen, src_mac);
}

void tcp_input_ip(struct tcp_worker *tw, struct rte_mbuf *m, const struct dp_ip *src,
		  const struct dp_ip *dst, uint32_t l4len, const uint8_t *src_mac)
{
	struct dp_stats *st = tw->w->st;
	const uint8_t *th;
	uint32_t doff;
	struct tcp_seg s;
	struct tcp_conn *c;
	struct tcp_listener *l;
	int header_only;

	if (l4len < 20 || m->data_len < 20 || m->pkt_len < l4len) {
		dp_drop(tw->w, m, DP_DROP_TCP_SHORT);
		return;
	}
	th = rte_pktmbuf_mtod(m, const uint8_t *);
	doff = (uint32_t)(th[12] >> 4) * 4;
	if (doff < 20 || doff > l4len || doff > m->data_len) {
		dp_drop(tw->w, m, DP_DROP_TCP_HLEN);
		return;
	}
	if (tcp_opts_parse(th + 20, doff - 20, &s.o) != ST_OK) {
		dp_drop(tw->w, m, DP_DROP_TCP_OPT);
		return;
	}
	s.flags = th[13] & 0x3f;
	if ((s.flags & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN) ||
	    (s.flags & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST) || s.flags == 0) {
		dp_drop(tw->w, m, DP_DROP_TCP_FLAGS);
		return;
	}
	s.sport = (uint16_t)(th[0] << 8 | th[1]);
	s.dport = (uint16_t)(th[2] << 8 | th[3]);
	s.seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
	s.ack = (uint32_t)th[8] << 24 | (uint32_t)th[9] << 16 | (uint32_t)th[10] << 8 | th[11];
	s.wnd = (uint16_t)(th[14] << 8 | th[15]);
	s.saddr = *src;
	s.daddr = *dst;
	s.smac = src_mac;
	s.len = l4len - doff;
	if (s.sport == 0 || s.dport == 0) {
		dp_drop(tw->w, m, DP_DROP_TCP_FLAGS);
		return;
	}
	/*
	 * src_mac points into m's headroom, which stays intact while m lives.
	 * With payload, m belongs to s.m from here on (whoever takes or drops
	 * the payload frees it; conn_input may free it early and clear s.len);
	 * without, it is freed here once the segment was handled.
	 */
	header_only = s.len == 0;
	if (s.len) {
		rte_pktmbuf_adj(m, (uint16_t)doff);
		if (m->pkt_len > s.len)
			m = tcp_chain_trim_back(m, m->pkt_len - s.len);
		s.m = m;
	} else {
		s.m = NULL;
	}
	c = tcp_conn_lookup(tw, &s.daddr, s.dport, &s.saddr, s.sport);
	/*
	 * A new SYN for a 4-tuple in TIME_WAIT whose sequence number is above
	 * what the old connection used may start a new connection (RFC 9293
	 * 3.6.1): the old one is forgotten and the SYN goes to the listener.
	 */
	if (c && c->state == TCP_TIME_WAIT && (s.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    seq_gt(s.seq, c->rcv_nxt) && tcp_listener_find(tw, &s.daddr, s.dport)) {
		tcp_conn_term(tw, c, ST_OK);
		c = NULL;
	}
	if (c) {
		conn_input(tw, c, &s);
		if (header_only)
			rte_pktmbuf_free(m);
		return;
	}
	l = tcp_listener_find(tw, &s.daddr, s.dport);
	if (l) {
		listen_input(tw, l, &s);
	} else {
		tcp_send_rst_reply(tw, &s);
		drop_seg(tw, &s, DP_DROP_TCP_NO_CONN);
	}
	if (header_only)
		rte_pktmbuf_free(m);
	(void)st;
}

/* ---- timers ---- */

static void on_rexmit(struct tcp_worker *tw, struct tcp_conn *c)
{
	struct dp_stats *st = tw->w->st;
	int was_pto;

	c->t_rexmit = 0;
	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RCVD) {
		if (++c->retries > tw->cfg.syn_retries) {
			tcp_conn_term(tw, c, ST_ERR_TIMEOUT);
			return;
		}
		tcp_rto_backoff(&c->rtt);
		st->ctr[DP_CTR_TCP_RTO]++;
		tcp_send_syn(tw, c);
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	was_pto = (c->flags & TF_PTO) != 0;
	c->flags &= ~TF_PTO;
	if (was_pto && !c->cc.in_recovery) {
		if (!tcp_tlp_allowed(c)) {
			/* armed as a probe timeout, but no probe fits now: wait for the RTO */
			c->t_rexmit = tw->w->now_ms + tcp_rto_current(&c->rtt);
			tcp_timer_update(tw, c);
			return;
		}
	}
	/*
	 * In recovery, a short timer (a few RTTs) suspects the retransmission of
	 * the first hole was lost: resend it without the full timeout's window
	 * collapse. After TCP_RECOVERY_PROBES of those, the real RTO applies.
	 */
	if (c->cc.in_recovery && c->rprobes < TCP_RECOVERY_PROBES) {
		c->rprobes++;
		c->rxt_next = c->snd_una;
		if (c->cc.prr_credit < c->mss)
			c->cc.prr_credit = c->mss;
		tcp_output(tw, c);
		tcp_arm_rexmit(tw, c);
		tcp_timer_update(tw, c);
		return;
	}
	/*
	 * Tail loss probe: one segment (new data if the peer's window allows,
	 * else the last one sent) to draw an ACK or SACK before a full timeout.
	 */
	if (was_pto && tcp_tlp_allowed(c)) {
		uint32_t data_end = c->snd_una + c->sq_bytes, n;

		c->flags |= TF_TLP_SENT;
		if (seq_lt(c->snd_max, data_end) && seq_lt(c->snd_max, c->snd_una + c->snd_wnd) &&
		    c->snd_nxt == c->snd_max) {
			n = seq_min(data_end - c->snd_max, c->mss);
			int k = tcp_xmit(tw, c, c->snd_max, n, TH_ACK);

			if (k > 0) {
				c->snd_nxt = c->snd_max = c->snd_max + (uint32_t)k;
			}
		} else {
			n = seq_min(c->snd_max - c->snd_una, (uint32_t)c->mss - 12u);
			tcp_xmit(tw, c, c->snd_max - n, n, TH_ACK);
		}
		c->t_rexmit = tw->w->now_ms + tcp_rto_current(&c->rtt);
		tcp_timer_update(tw, c);
		return;
	}
	if (++c->retries > tw->cfg.max_retries) {
		tcp_send_rst(tw, c);
		tcp_conn_term(tw, c, ST_ERR_TIMEOUT);
		return;
	}
	st->ctr[DP_CTR_TCP_RTO]++;
	tcp_cc_on_rto(&c->cc, c->snd_max - c->snd_una);
	tcp_rto_backoff(&c->rtt);
	c->cc.recover = c->snd_max;
	c->flags |= TF_AFTER_RTO;
	c->snd_nxt = c->snd_una;
	c->rxt_next = c->snd_una;
	c->dupacks = 0;
	tcp_sb_init(&c->sb); /* RFC 2018 8: forget SACKed state after a timeout */
	tcp_output(tw, c);
}

void tcp_on_timer(struct dp_timer *t, void *arg)
{
	struct tcp_worker *tw = arg;
	struct tcp_conn *c = tcp_conn_of_timer(t);
	uint64_t now = tw->w->now_ms;

	if (c->t_tw && c->t_tw <= now) {
		c->t_tw = 0;
		tcp_conn_term(tw, c, ST_OK);
		return;
	}
	if (c->t_close && c->t_close <= now) {
		/* closed by the app, and the peer has taken nothing for close_timeout_ms */
		c->t_close = 0;
		tw->w->st->ctr[DP_CTR_TCP_CLOSE_TIMEOUT]++;
		tcp_send_rst(tw, c);
		tcp_conn_term(tw, c, ST_ERR_TIMEOUT);
		return;
	}
	if (c->t_rexmit && c->t_rexmit <= now) {
		on_rexmit(tw, c);
		if (c->state == TCP_CLOSED)
			return;
	}
	if (c->t_delack && c->t_delack <= now) {
		c->t_delack = 0;
		if (c->acks_pending) {
			c->flags |= TF_ACK_NOW;
			tcp_sched_out(tw, c);
		}
	}
	if (c->t_persist && c->t_persist <= now) {
		/* Zero-window probe: an old-sequence ACK makes the peer state its window. */
		c->t_persist = 0;
		if (c->snd_wnd == 0 && c->snd_una == c->snd_max && c->sq_bytes) {
			/* probes is reset by every segment received: a silent peer is given up */
			if (++c->probes > tw->cfg.max_retries) {
				tw->w->st->ctr[DP_CTR_TCP_ZWP_GIVEUP]++;
				tcp_send_rst(tw, c);
				tcp_conn_term(tw, c, ST_ERR_TIMEOUT);
				return;
			}
			tw->w->st->ctr[DP_CTR_TCP_ZWP]++;
			tcp_xmit(tw, c, c->snd_una - 1, 0, TH_ACK);
			tcp_rto_backoff(&c->rtt);
			c->t_persist = now + tcp_rto_current(&c->rtt);
		}
	}
	if (c->t_keep && c->t_keep <= now) {
		c->t_keep = 0;
		if (c->state == TCP_FIN_WAIT_2 && (c->flags & TF_APP_CLOSED)) {
			tcp_conn_term(tw, c, ST_OK);
			return;
		}
		if (tw->cfg.keepalive_ms && c->state == TCP_ESTABLISHED) {
			if (now - c->last_rcv_ms >= tw->cfg.keepalive_ms) {
				if (c->probes++ >= TCP_KEEPALIVE_PROBES) {
					tcp_send_rst(tw, c);
					tcp_conn_term(tw, c, ST_ERR_TIMEOUT);
					return;
				}
				tw->w->st->ctr[DP_CTR_TCP_KEEPALIVES]++;
				tcp_xmit(tw, c, c->snd_una - 1, 0, TH_ACK);
				c->t_keep = now + 1000;
			} else {
				c->t_keep = c->last_rcv_ms + tw->cfg.keepalive_ms;
			}
		}
	}
	if (tw->cfg.keepalive_ms && !c->t_keep && c->state == TCP_ESTABLISHED)
		c->t_keep = c->last_rcv_ms + tw->cfg.keepalive_ms;
	tcp_timer_update(tw, c);
}
