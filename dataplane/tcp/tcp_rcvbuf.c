/*
 * Receive window autotuning: the window a connection advertises follows the
 * bandwidth-delay product the application actually drains, the receiver's
 * side of what RFC 7323 section 3 leaves to implementations (Linux calls it
 * tcp_rcv_space_adjust; the idea is Dynamic Right-Sizing).
 *
 * Two measurements, both on the receiving side alone:
 *  - the RTT: with timestamps, the age of the TSval a new data segment
 *    echoes (our own clock, one sample per distinct echoed value, so the
 *    segments that leave behind one delayed ACK give one sample, not many);
 *    without, the time it takes to receive one window's worth of data, an
 *    upper bound kept as a running minimum. The sender's srtt, when the
 *    connection also sends, fills in until the first sample.
 *  - the delivered rate: bytes tcp_read handed to the application over an
 *    interval of at least one RTT.
 * Once per RTT the window becomes twice the bytes delivered per RTT (plus a
 * few segments of slack), when that is more than it is now, so a
 * window-limited sender sees its window double every round trip, like slow
 * start, until the window stops limiting it or the cap is reached. A slow
 * application delivers little, so its window does not grow; it never shrinks
 * below what was advertised (the right edge never retracts, tcp_out.c), and
 * a window costs memory only for the bytes queued in it.
 *
 * Owned by the connection's worker, like everything in struct tcp_conn.
 */
#include "dataplane/tcp/tcp_internal.h"

/* Segments of slack on top of twice the delivered bytes: rounds up small windows. */
#define RCVWIN_SLACK_SEGS 4u

uint32_t tcp_rcvwin_want(uint32_t cur, uint32_t max, uint64_t bytes, uint64_t elapsed_ms,
			 uint32_t rtt_ms, uint32_t mss)
{
	uint64_t per_rtt, want;

	if (rtt_ms == 0 || elapsed_ms < rtt_ms || cur >= max)
		return cur < max ? cur : max;
	/* Bytes per RTT over the interval: a pause inside it lowers the rate. */
	per_rtt = bytes * rtt_ms / elapsed_ms;
	want = 2 * per_rtt + (uint64_t)RCVWIN_SLACK_SEGS * mss;
	if (want <= cur)
		return cur;
	return want > max ? max : (uint32_t)want;
}

uint32_t tcp_rcv_rtt_ms(const struct tcp_conn *c)
{
	uint32_t r = c->rrtt8 >> 3, s = c->rtt.srtt8 >> 3;

	if (c->rrtt8 == 0)
		return s;
	/* The larger: a window sized to the longer RTT is the one that does not limit. */
	r = r > s ? r : s;
	return r ? r : 1;
}

uint32_t tcp_rcvwin_cap(const struct tcp_worker *tw, const struct tcp_conn *c)
{
	/* What the window field can say with this connection's scale (none: 64 KiB). */
	uint32_t field = (uint32_t)65535u << c->rcv_ws;
	uint32_t max = tw->cfg.rcvbuf_max > tw->cfg.rcvbuf ? tw->cfg.rcvbuf_max : tw->cfg.rcvbuf;

	return max < field ? max : field;
}

static void rrtt_sample(struct tcp_conn *c, uint32_t ms, int upper_bound)
{
	uint32_t s8 = ms << 3;

	if (s8 == 0)
		s8 = 1; /* keep non-zero: 0 means no estimate */
	if (c->rrtt8 == 0)
		c->rrtt8 = s8;
	else if (upper_bound)
		c->rrtt8 = s8 < c->rrtt8 ? s8 : c->rrtt8; /* only ever an upper bound: keep the least */
	else
		c->rrtt8 = c->rrtt8 - (c->rrtt8 >> 3) + ms; /* 7/8 old + 1/8 new, in ms << 3 */
	if (c->rrtt8 == 0)
		c->rrtt8 = 1;
}

void tcp_rcv_rtt_measure(struct tcp_worker *tw, struct tcp_conn *c, const struct tcp_seg *s)
{
	uint64_t now = tw->w->now_ms;

	if ((c->flags & TF_TS) && (s->o.flags & TCP_OF_TS)) {
		uint32_t age = tcp_ts_now(tw) - s->o.tsecr;

		/* A full-sized segment echoing a TSval not sampled yet (TSecr 0: none echoed). */
		if (s->o.tsecr != 0 && s->o.tsecr != c->rrtt_tsecr && s->len >= 536u &&
		    age < TCP_RTO_MAX_MS) {
			c->rrtt_tsecr = s->o.tsecr;
			rrtt_sample(c, age, 0);
		}
		return;
	}
	if (c->rrtt_ms != 0 && seq_lt(c->rcv_nxt, c->rrtt_seq))
		return;
	if (c->rrtt_ms != 0 && now - c->rrtt_ms < TCP_RTO_MAX_MS)
		rrtt_sample(c, (uint32_t)(now - c->rrtt_ms), 1);
	c->rrtt_seq = c->rcv_nxt + c->rcv_wnd;
	c->rrtt_ms = now ? now : 1;
}

void tcp_rcv_space_adjust(struct tcp_worker *tw, struct tcp_conn *c, uint32_t n)
{
	uint64_t now = tw->w->now_ms;
	uint32_t rtt, cap, want;

	if (c->rs_ms == 0) { /* the first read starts the first interval */
		c->rs_ms = now ? now : 1;
		c->rs_bytes = 0;
		return;
	}
	c->rs_bytes += n;
	rtt = tcp_rcv_rtt_ms(c);
	if (rtt == 0 || now < c->rs_ms + rtt)
		return;
	cap = tcp_rcvwin_cap(tw, c);
	want = tcp_rcvwin_want(c->rcv_wnd, cap, c->rs_bytes, now - c->rs_ms, rtt, c->mss);
	c->rs_ms = now;
	c->rs_bytes = 0;
	if (want <= c->rcv_wnd)
		return;
	c->rcv_wnd = want;
	tw->w->st->ctr[DP_CTR_TCP_RCVWND_GROWN]++;
	if (want == cap)
		tw->w->st->ctr[DP_CTR_TCP_RCVWND_AT_MAX]++;
}
