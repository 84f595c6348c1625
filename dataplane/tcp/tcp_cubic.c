/*
 * CUBIC congestion avoidance (RFC 9438) and HyStart++ slow start (RFC 9406)
 * for one connection's struct tcp_cc, which belongs to the worker that owns
 * the connection. Windows are in bytes (RFC 9438 counts segments: a segment
 * here is the connection's MSS), times in milliseconds; the cubic function is
 * evaluated in double precision, since t - K and its cube span many orders of
 * magnitude and the worker has an FPU. Fractions of a byte of growth are
 * carried between ACKs, so small ACKs on a large window still add up.
 */
#include "dataplane/tcp/tcp_cc.h"

#include <math.h>

#include "dataplane/tcp/tcp_seq.h"

#define CUBIC_C 0.4 /* segments / s^3 */
/* beta_cubic = 7/10; alpha_cubic = 3 (1 - beta) / (1 + beta) = 9/17 */
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
#define CUBIC_ALPHA_NUM 9
#define CUBIC_ALPHA_DEN 17

/* RFC 9406 constants. */
#define HS_MIN_RTT_THRESH 4 /* ms */
#define HS_MAX_RTT_THRESH 16
#define HS_MIN_RTT_DIVISOR 8
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5

double tcp_cubic_window(const struct tcp_cc *cc, double t)
{
	double d = t - cc->cu.k;
	double w = CUBIC_C * d * d * d * cc->mss + (double)cc->cu.w_max;

	if (w < 0)
		return 0;
	return w > TCP_CWND_MAX ? TCP_CWND_MAX : w;
}

static uint32_t add_capped(uint32_t a, uint64_t b)
{
	uint64_t s = (uint64_t)a + b;

	return s > TCP_CWND_MAX ? TCP_CWND_MAX : (uint32_t)s;
}

/* A congestion-avoidance stage begins (RFC 9438 4.2, 4.3). */
static void epoch_start(struct tcp_cc *cc, uint32_t now_ms)
{
	struct tcp_cubic *cu = &cc->cu;

	cu->epoch_valid = 1;
	cu->t_epoch = now_ms;
	cu->cwnd_epoch = cc->cwnd;
	cu->w_est = cc->cwnd;
	cu->est_num = cu->grow_num = 0;
	if (cu->w_max > cc->cwnd) {
		cu->k = cbrt((double)(cu->w_max - cc->cwnd) / cc->mss / CUBIC_C);
	} else {
		/* Above the last W_max (or no loss yet): the curve starts here, convex. */
		cu->k = 0;
		cu->w_max = cc->cwnd;
	}
}

void tcp_cubic_ca_ack(struct tcp_cc *cc, uint32_t acked, const struct tcp_cc_ack *a)
{
	struct tcp_cubic *cu = &cc->cu;
	uint64_t div;
	double t, target;

	/*
	 * An application-limited sender does not grow its window (RFC 9438
	 * 5.8): only ACKs of a flight within two segments of cwnd count.
	 */
	if ((uint64_t)a->flight + 2 * cc->mss < cc->cwnd)
		return;
	if (!cu->epoch_valid)
		epoch_start(cc, a->now_ms);
	/* W_est += alpha * segments_acked / cwnd; alpha is 1 once W_est >= cwnd_prior. */
	if (cu->w_est >= cu->cwnd_prior) {
		cu->est_num += (uint64_t)acked * cc->mss;
		div = cc->cwnd;
	} else {
		cu->est_num += (uint64_t)CUBIC_ALPHA_NUM * acked * cc->mss;
		div = (uint64_t)CUBIC_ALPHA_DEN * cc->cwnd;
	}
	cu->w_est = add_capped(cu->w_est, cu->est_num / div);
	cu->est_num %= div;

	t = (double)(uint32_t)(a->now_ms - cu->t_epoch) / 1000.0;
	if (tcp_cubic_window(cc, t) < cu->w_est) {
		/* Reno-friendly region (4.3): at least what Reno would have. */
		if (cu->w_est > cc->cwnd)
			cc->cwnd = cu->w_est;
		return;
	}
	/* Concave and convex regions (4.4, 4.5): aim at W_cubic one RTT ahead. */
	target = tcp_cubic_window(cc, t + (double)a->srtt_ms / 1000.0);
	if (target < cc->cwnd)
		target = cc->cwnd;
	if (target > 1.5 * cc->cwnd)
		target = 1.5 * cc->cwnd;
	/* cwnd += (target - cwnd) / cwnd per segment acked */
	div = cc->cwnd;
	cu->grow_num += (uint64_t)(target - cc->cwnd) * acked;
	cc->cwnd = add_capped(cc->cwnd, cu->grow_num / div);
	cu->grow_num %= div;
}

uint32_t tcp_cubic_on_congestion(struct tcp_cc *cc)
{
	struct tcp_cubic *cu = &cc->cu;
	uint32_t cwnd = cc->cwnd;
	uint64_t ss = (uint64_t)cwnd * CUBIC_BETA_NUM / CUBIC_BETA_DEN;

	/* Fast convergence (4.7): below the last W_max, release some for newer flows. */
	if (cwnd < cu->w_max)
		cu->w_max = (uint32_t)((uint64_t)cwnd * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) /
				       (2 * CUBIC_BETA_DEN));
	else
		cu->w_max = cwnd;
	cu->cwnd_prior = cwnd;
	cu->epoch_valid = 0;
	return ss > 2u * cc->mss ? (uint32_t)ss : 2u * cc->mss;
}

/* A new round starts when the ACK passes the end of the last one (RFC 9406 4.2). */
static void hystart_round(struct tcp_cc *cc, const struct tcp_cc_ack *a)
{
	struct tcp_hystart *hs = &cc->hs;

	if (hs->round_open && seq_lt(a->ack, hs->window_end))
		return;
	hs->round_open = 1;
	hs->window_end = a->snd_nxt;
	hs->last_min_rtt = hs->cur_min_rtt;
	hs->cur_min_rtt = TCP_RTT_NONE;
	hs->samples = 0;
	if (hs->state == TCP_HS_CSS && ++hs->css_rounds >= HS_CSS_ROUNDS) {
		/* CSS lasted CSS_ROUNDS rounds: the delay rise was real. */
		hs->state = TCP_HS_DONE;
		cc->ssthresh = cc->cwnd;
	}
}

int tcp_hystart_ack(struct tcp_cc *cc, uint32_t acked, const struct tcp_cc_ack *a)
{
	struct tcp_hystart *hs = &cc->hs;
	/* segments per ACK at most in slow start (RFC 3465 L, ss_l: 2), unpaced */
	uint32_t l = (uint32_t)cc->ss_l * cc->mss;
	uint32_t inc = acked < l ? acked : l;

	if (hs->state != TCP_HS_DONE)
		hystart_round(cc, a);
	if (cc->cwnd >= cc->ssthresh)
		return 1;
	if (hs->state == TCP_HS_CSS) {
		cc->cwnd = add_capped(cc->cwnd, inc / HS_CSS_GROWTH_DIVISOR);
		/* The delay rise was a spurious one: back to slow start. */
		if (hs->samples >= HS_N_RTT_SAMPLE && hs->cur_min_rtt < hs->css_base_rtt) {
			hs->state = TCP_HS_SLOW_START;
			hs->css_base_rtt = TCP_RTT_NONE;
		}
		return 0;
	}
	cc->cwnd = add_capped(cc->cwnd, inc);
	if (hs->state == TCP_HS_SLOW_START && hs->samples >= HS_N_RTT_SAMPLE &&
	    hs->cur_min_rtt != TCP_RTT_NONE && hs->last_min_rtt != TCP_RTT_NONE) {
		uint32_t th = hs->last_min_rtt / HS_MIN_RTT_DIVISOR;

		th = th < HS_MIN_RTT_THRESH ? HS_MIN_RTT_THRESH
		     : th > HS_MAX_RTT_THRESH ? HS_MAX_RTT_THRESH
					       : th;
		if (hs->cur_min_rtt >= hs->last_min_rtt + th) {
			hs->state = TCP_HS_CSS;
			hs->css_base_rtt = hs->cur_min_rtt;
			hs->css_rounds = 0;
		}
	}
	return cc->cwnd >= cc->ssthresh;
}
