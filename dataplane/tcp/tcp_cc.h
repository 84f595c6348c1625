/*
 * RTT estimation and retransmission timeout (RFC 6298) and congestion control:
 * CUBIC (RFC 9438) with HyStart++ slow-start exit (RFC 9406), the default, or
 * NewReno (RFC 5681, RFC 6582, byte counting after RFC 3465). Both share the
 * loss recovery of tcp_in.c (NewReno partial ACKs, SACK, a proportional
 * sending credit). Pure arithmetic on small structs: no packets, no clocks
 * (callers pass milliseconds). A struct tcp_cc belongs to its connection, so
 * to the worker that owns the connection.
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

enum tcp_cc_algo {
	TCP_CC_CUBIC = 0, /* the default */
	TCP_CC_NEWRENO = 1,
};

#define TCP_CWND_MAX (1u << 30) /* bytes: far above any window the peer can open */
#define TCP_RTT_NONE UINT32_MAX

/* CUBIC's state between congestion events (RFC 9438 section 4). */
struct tcp_cubic {
	uint32_t w_max;      /* bytes: cwnd just before the last reduction (fast convergence applied) */
	uint32_t cwnd_prior; /* bytes: cwnd when ssthresh was last set (the Reno-friendly alpha switch) */
	uint32_t cwnd_epoch; /* bytes: cwnd when this congestion-avoidance stage began */
	uint32_t t_epoch;    /* ms: when it began */
	uint32_t w_est;      /* bytes: the Reno-friendly estimate W_est */
	uint64_t est_num;    /* fractions of a byte of W_est growth, carried between ACKs */
	uint64_t grow_num;   /* fractions of a byte of cwnd growth, carried between ACKs */
	double k;            /* seconds from t_epoch until W_cubic reaches w_max again */
	uint8_t epoch_valid; /* 0: the next congestion-avoidance ACK starts an epoch */
};

/* HyStart++ (RFC 9406): per-round minimum RTTs decide when slow start ends. */
enum tcp_hystart_state {
	TCP_HS_SLOW_START = 0,
	TCP_HS_CSS = 1,  /* conservative slow start: a delay rise was seen */
	TCP_HS_DONE = 2, /* standard behaviour from now on (after CSS, or any loss) */
};

struct tcp_hystart {
	uint32_t window_end;   /* a round ends when this sequence number is acked */
	uint32_t cur_min_rtt;  /* ms, this round; TCP_RTT_NONE before a sample */
	uint32_t last_min_rtt; /* ms, the round before */
	uint32_t css_base_rtt; /* ms, the round minimum that started CSS */
	uint8_t samples;       /* RTT samples this round */
	uint8_t css_rounds;
	uint8_t state;         /* enum tcp_hystart_state */
	uint8_t round_open;    /* window_end is set */
};

/* One cumulative ACK as congestion control needs to see it. */
struct tcp_cc_ack {
	uint32_t ack;     /* the ACK number */
	uint32_t snd_nxt; /* next sequence number to be sent (ends a HyStart++ round) */
	uint32_t flight;  /* bytes outstanding before this ACK */
	uint32_t now_ms;
	uint32_t srtt_ms; /* 0: no RTT sample yet */
};

struct tcp_cc {
	uint32_t cwnd;     /* bytes */
	uint32_t ssthresh; /* bytes */
	uint32_t mss;
	uint32_t acked_ca; /* bytes acked in congestion avoidance, not yet turned into cwnd */
	uint32_t recover;  /* snd_max when recovery started (RFC 6582) */
	uint8_t in_recovery;
	uint32_t prr_credit; /* bytes we may still send in recovery */
	uint8_t algo;        /* enum tcp_cc_algo */
	uint8_t ss_l;        /* segments one ACK may add in slow start (RFC 3465 L): 2 */
	struct tcp_cubic cu;
	struct tcp_hystart hs;
};

/* Initial window per RFC 5681 3.1 (min(4*mss, max(2*mss, 4380))). */
void tcp_cc_init(struct tcp_cc *cc, uint32_t mss, enum tcp_cc_algo algo);
/* "cubic" or "newreno". */
const char *tcp_cc_algo_name(enum tcp_cc_algo algo);
/* Cumulative ACK of acked bytes outside recovery: slow start or congestion avoidance. */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, const struct tcp_cc_ack *a);
/* An RTT measurement (for HyStart++; the RTO estimator takes it separately). */
void tcp_cc_rtt_sample(struct tcp_cc *cc, uint32_t rtt_ms);
/*
 * Loss detected by duplicate ACKs/SACK with flight bytes outstanding and
 * snd_max; recovery begins with cwnd = ssthresh. NewReno: ssthresh =
 * max(flight/2, 2*mss). CUBIC: ssthresh = max(cwnd*0.7, 2*mss) (RFC 9438 4.6:
 * cwnd, not flight, since an application-limited flight would collapse it).
 */
void tcp_cc_enter_recovery(struct tcp_cc *cc, uint32_t flight, uint32_t snd_max);
/*
 * In recovery, the peer reported delivered bytes (newly acked + newly
 * SACKed): the reduction factor's share of them (1/2 NewReno, 0.7 CUBIC)
 * becomes sending credit (proportional reduction, so the flight ends near
 * ssthresh).
 */
void tcp_cc_recovery_delivered(struct tcp_cc *cc, uint32_t delivered);
/* Full ACK (ack >= recover): leave recovery with cwnd = ssthresh. */
void tcp_cc_exit_recovery(struct tcp_cc *cc, uint32_t flight);
/* Retransmission timeout: ssthresh as for a loss, cwnd = 1 mss. */
void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight);

/* CUBIC internals (tcp_cubic.c), exposed for tcp_cc.c and the unit tests. */
/* W_cubic(t) in bytes, t in seconds since the epoch (RFC 9438 eq. 1). */
double tcp_cubic_window(const struct tcp_cc *cc, double t);
/* Congestion avoidance on one ACK. */
void tcp_cubic_ca_ack(struct tcp_cc *cc, uint32_t acked, const struct tcp_cc_ack *a);
/* A congestion event (loss or RTO): W_max with fast convergence, the new ssthresh. */
uint32_t tcp_cubic_on_congestion(struct tcp_cc *cc);
/* Slow start on one ACK with HyStart++; returns 1 when slow start ended here. */
int tcp_hystart_ack(struct tcp_cc *cc, uint32_t acked, const struct tcp_cc_ack *a);

#endif
