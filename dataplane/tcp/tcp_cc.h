/*
 * RTT estimation and retransmission timeout (RFC 6298) and NewReno congestion
 * control (RFC 5681, RFC 6582, byte counting after RFC 3465). Pure arithmetic
 * on small structs: no packets, no clocks (callers pass milliseconds).
 */
#ifndef ST_DATAPLANE_TCP_CC_H
#define ST_DATAPLANE_TCP_CC_H

#include <stdint.h>

#define TCP_RTO_INIT_MS 1000u
#define TCP_RTO_MAX_MS 60000u

struct tcp_rtt {
	uint32_t srtt8;   /* smoothed RTT in ms << 3; 0 = no sample yet */
	uint32_t rttvar4; /* RTT variance in ms << 2 */
	uint32_t rto;     /* current base RTO, ms */
	uint32_t min_rto; /* lower bound, ms */
	uint8_t backoff;  /* exponent applied to rto */
};

void tcp_rtt_init(struct tcp_rtt *r, uint32_t min_rto_ms);
/* One RTT measurement (Karn: only from segments not retransmitted, or via timestamps). */
void tcp_rtt_sample(struct tcp_rtt *r, uint32_t rtt_ms);
/* The timeout to arm now: rto << backoff, capped at TCP_RTO_MAX_MS. */
uint32_t tcp_rto_current(const struct tcp_rtt *r);
/* After a timeout: double (bounded). */
void tcp_rto_backoff(struct tcp_rtt *r);
/* New data acknowledged: the backoff is cleared. */
static inline void tcp_rto_reset_backoff(struct tcp_rtt *r)
{
	r->backoff = 0;
}

struct tcp_cc {
	uint32_t cwnd;     /* bytes */
	uint32_t ssthresh; /* bytes */
	uint32_t mss;
	uint32_t acked_ca; /* bytes acked in congestion avoidance, not yet turned into cwnd */
	uint32_t recover;  /* snd_max when recovery started (RFC 6582) */
	uint8_t in_recovery;
	uint32_t prr_credit; /* bytes we may still send in recovery */
};

/* Initial window per RFC 5681 3.1 (min(4*mss, max(2*mss, 4380))). */
void tcp_cc_init(struct tcp_cc *cc, uint32_t mss);
/* Cumulative ACK of acked bytes outside recovery: slow start or congestion avoidance. */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked);
/*
 * Loss detected by duplicate ACKs/SACK with flight bytes outstanding and
 * snd_max: ssthresh = max(flight/2, 2*mss), cwnd = ssthresh, recovery begins.
 */
void tcp_cc_enter_recovery(struct tcp_cc *cc, uint32_t flight, uint32_t snd_max);
/*
 * In recovery, the peer reported delivered bytes (newly acked + newly
 * SACKed): half of them become sending credit (proportional reduction, so the
 * flight ends near ssthresh).
 */
void tcp_cc_recovery_delivered(struct tcp_cc *cc, uint32_t delivered);
/* Full ACK (ack >= recover): leave recovery with cwnd = ssthresh. */
void tcp_cc_exit_recovery(struct tcp_cc *cc, uint32_t flight);
/* Retransmission timeout: ssthresh = max(flight/2, 2*mss), cwnd = 1 mss. */
void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight);

#endif
