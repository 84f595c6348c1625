/* RTO estimator; NewReno, and the parts of loss handling both algorithms share. */
#include "dataplane/tcp/tcp_cc.h"

#include <string.h>

void tcp_rtt_init(struct tcp_rtt *r, uint32_t min_rto_ms)
{
	r->srtt8 = 0;
	r->rttvar4 = 0;
	r->min_rto = min_rto_ms ? min_rto_ms : 200;
	r->rto = TCP_RTO_INIT_MS;
	r->backoff = 0;
}

void tcp_rtt_sample(struct tcp_rtt *r, uint32_t rtt)
{
	uint32_t rto;

	if (rtt > TCP_RTO_MAX_MS)
		rtt = TCP_RTO_MAX_MS;
	if (r->srtt8 == 0) {
		r->srtt8 = (rtt << 3) | 1; /* keep non-zero for a 0 ms sample */
		r->rttvar4 = rtt << 1;     /* rttvar = rtt/2 */
	} else {
		uint32_t srtt = r->srtt8 >> 3;
		uint32_t delta = rtt > srtt ? rtt - srtt : srtt - rtt;

		/* rttvar = 3/4 rttvar + 1/4 |srtt - rtt| ; srtt = 7/8 srtt + 1/8 rtt */
		r->rttvar4 = r->rttvar4 - (r->rttvar4 >> 2) + delta;
		r->srtt8 = r->srtt8 - (r->srtt8 >> 3) + rtt;
		if (r->srtt8 == 0)
			r->srtt8 = 1;
	}
	/* rto = srtt + max(G, 4*rttvar) with G = 1 ms */
	rto = (r->srtt8 >> 3) + (r->rttvar4 > 1 ? r->rttvar4 : 1);
	if (rto < r->min_rto)
		rto = r->min_rto;
	if (rto > TCP_RTO_MAX_MS)
		rto = TCP_RTO_MAX_MS;
	r->rto = rto;
}

uint32_t tcp_rto_current(const struct tcp_rtt *r)
{
	uint64_t t = (uint64_t)r->rto << r->backoff;

	return t > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : (uint32_t)t;
}

void tcp_rto_backoff(struct tcp_rtt *r)
{
	if (r->backoff < 16)
		r->backoff++;
}

const char *tcp_cc_algo_name(enum tcp_cc_algo algo)
{
	return algo == TCP_CC_NEWRENO ? "newreno" : "cubic";
}

void tcp_cc_init(struct tcp_cc *cc, uint32_t mss, enum tcp_cc_algo algo)
{
	uint32_t iw = 4 * mss;

	memset(cc, 0, sizeof(*cc));
	cc->algo = (uint8_t)algo;
	cc->ss_l = 2;
	cc->hs.cur_min_rtt = cc->hs.last_min_rtt = cc->hs.css_base_rtt = TCP_RTT_NONE;

	if (iw > 4380 && 4380 > 2 * mss)
		iw = 4380;
	else if (iw > 4380)
		iw = 2 * mss;
	cc->mss = mss;
	cc->cwnd = iw;
	cc->ssthresh = 0x7fffffffu;
	cc->acked_ca = 0;
	cc->recover = 0;
	cc->in_recovery = 0;
	cc->prr_credit = 0;
}

void tcp_cc_rtt_sample(struct tcp_cc *cc, uint32_t rtt_ms)
{
	struct tcp_hystart *hs = &cc->hs;

	if (cc->algo != TCP_CC_CUBIC || hs->state == TCP_HS_DONE)
		return;
	if (rtt_ms < hs->cur_min_rtt)
		hs->cur_min_rtt = rtt_ms;
	if (hs->samples < 255)
		hs->samples++;
}

void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, const struct tcp_cc_ack *a)
{
	if (cc->algo == TCP_CC_CUBIC) {
		if (cc->cwnd < cc->ssthresh)
			(void)tcp_hystart_ack(cc, acked, a); /* this ACK grew the window already */
		else
			tcp_cubic_ca_ack(cc, acked, a);
		return;
	}
	if (cc->cwnd < cc->ssthresh) {
		/* Slow start with L = 2 (RFC 3465; ss_l). */
		uint32_t l = (uint32_t)cc->ss_l * cc->mss;
		uint32_t inc = acked < l ? acked : l;

		cc->cwnd += inc;
		return;
	}
	cc->acked_ca += acked;
	if (cc->acked_ca >= cc->cwnd && cc->cwnd < TCP_CWND_MAX) {
		cc->acked_ca -= cc->cwnd;
		cc->cwnd += cc->mss;
	}
}

/* The ssthresh of a congestion event; CUBIC also moves W_max and ends its epoch. */
static uint32_t loss_ssthresh(struct tcp_cc *cc, uint32_t flight)
{
	uint32_t h = flight / 2;

	cc->hs.state = TCP_HS_DONE; /* later slow starts (after an RTO) are standard */
	if (cc->algo == TCP_CC_CUBIC)
		return tcp_cubic_on_congestion(cc);
	return h > 2 * cc->mss ? h : 2 * cc->mss;
}

void tcp_cc_enter_recovery(struct tcp_cc *cc, uint32_t flight, uint32_t snd_max)
{
	cc->ssthresh = loss_ssthresh(cc, flight);
	cc->cwnd = cc->ssthresh;
	cc->recover = snd_max;
	cc->in_recovery = 1;
	cc->acked_ca = 0;
	cc->prr_credit = cc->mss; /* the first retransmission */
}

void tcp_cc_recovery_delivered(struct tcp_cc *cc, uint32_t delivered)
{
	/* The reduction factor's share: 1/2 (NewReno) or 7/10 (CUBIC's beta). */
	uint32_t add = cc->algo == TCP_CC_CUBIC ? (uint32_t)(((uint64_t)delivered * 7 + 9) / 10)
						 : (delivered + 1) / 2;

	if (add < cc->mss && delivered)
		add = cc->mss; /* at least one segment per partial ACK (RFC 6582 3.2 step 3) */
	cc->prr_credit += add;
	if (cc->prr_credit > cc->ssthresh)
		cc->prr_credit = cc->ssthresh;
}

void tcp_cc_exit_recovery(struct tcp_cc *cc, uint32_t flight)
{
	/* RFC 6582 3.2 step 4 option 1: cwnd = ssthresh (no collapse to one segment). */
	(void)flight;
	cc->cwnd = cc->ssthresh;
	cc->in_recovery = 0;
	cc->prr_credit = 0;
}

void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight)
{
	cc->ssthresh = loss_ssthresh(cc, flight);
	cc->cwnd = cc->mss;
	cc->in_recovery = 0;
	cc->acked_ca = 0;
	cc->prr_credit = 0;
}
