/*
 * Unit tests: RTO estimator and backoff (RFC 6298), NewReno cwnd evolution,
 * CUBIC's window function and its regions against RFC 9438's equations, and
 * HyStart++'s slow-start exit (RFC 9406).
 */
#include <math.h>

#include "dataplane/tcp/tcp_cc.h"
#include "tests/unit/test.h"

static void test_rto_initial_and_first_sample(void)
{
	struct tcp_rtt r;

	tcp_rtt_init(&r, 200);
	CHECK_INT(tcp_rto_current(&r), TCP_RTO_INIT_MS);
	tcp_rtt_sample(&r, 100); /* srtt 100, rttvar 50, rto = 100 + 200 */
	CHECK_INT(r.srtt8 >> 3, 100);
	CHECK_INT(r.rttvar4 >> 2, 50);
	CHECK_INT(tcp_rto_current(&r), 300);
}

static void test_rto_converges_and_min(void)
{
	struct tcp_rtt r;

	tcp_rtt_init(&r, 200);
	for (int i = 0; i < 100; i++)
		tcp_rtt_sample(&r, 1);
	CHECK_INT(tcp_rto_current(&r), 200); /* clamped to the minimum */
	tcp_rtt_init(&r, 200);
	for (int i = 0; i < 100; i++)
		tcp_rtt_sample(&r, 500);
	CHECK(tcp_rto_current(&r) >= 500 && tcp_rto_current(&r) <= 520);
}

static void test_rto_variance(void)
{
	struct tcp_rtt r;

	tcp_rtt_init(&r, 1);
	for (int i = 0; i < 50; i++)
		tcp_rtt_sample(&r, (i & 1) ? 100 : 300);
	/* srtt near 200, rto = srtt + 4*rttvar well above it */
	CHECK((r.srtt8 >> 3) > 150 && (r.srtt8 >> 3) < 250);
	CHECK(tcp_rto_current(&r) > 400);
}

static void test_backoff(void)
{
	struct tcp_rtt r;

	tcp_rtt_init(&r, 200);
	tcp_rtt_sample(&r, 100);
	tcp_rto_backoff(&r);
	CHECK_INT(tcp_rto_current(&r), 600);
	tcp_rto_backoff(&r);
	CHECK_INT(tcp_rto_current(&r), 1200);
	for (int i = 0; i < 40; i++)
		tcp_rto_backoff(&r);
	CHECK_INT(tcp_rto_current(&r), TCP_RTO_MAX_MS);
	tcp_rto_reset_backoff(&r);
	CHECK_INT(tcp_rto_current(&r), 300);
	tcp_rtt_sample(&r, 100000); /* absurd sample is capped */
	CHECK(tcp_rto_current(&r) <= TCP_RTO_MAX_MS);
}

/* NewReno ignores everything but the acked bytes. */
static const struct tcp_cc_ack NR_ACK = {.flight = 1u << 30};

static void test_initial_window(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1460, TCP_CC_NEWRENO);
	CHECK_INT(cc.cwnd, 4380);
	tcp_cc_init(&cc, 536, TCP_CC_NEWRENO);
	CHECK_INT(cc.cwnd, 4 * 536);
	tcp_cc_init(&cc, 8960, TCP_CC_NEWRENO);
	CHECK_INT(cc.cwnd, 2 * 8960);
}

static void test_slow_start_then_ca(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1000, TCP_CC_NEWRENO);
	cc.cwnd = 4000;
	cc.ssthresh = 8000;
	tcp_cc_on_ack(&cc, 1000, &NR_ACK);
	CHECK_INT(cc.cwnd, 5000);
	tcp_cc_on_ack(&cc, 5000, &NR_ACK); /* ABC: at most 2 * mss per ACK */
	CHECK_INT(cc.cwnd, 7000);
	tcp_cc_on_ack(&cc, 1000, &NR_ACK);
	CHECK_INT(cc.cwnd, 8000);
	/* congestion avoidance: + 1 mss per cwnd of acked bytes */
	for (int i = 0; i < 7; i++)
		tcp_cc_on_ack(&cc, 1000, &NR_ACK);
	CHECK_INT(cc.cwnd, 8000);
	tcp_cc_on_ack(&cc, 1000, &NR_ACK);
	CHECK_INT(cc.cwnd, 9000);
}

static void test_fast_recovery(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1000, TCP_CC_NEWRENO);
	cc.cwnd = 20000;
	tcp_cc_enter_recovery(&cc, 20000, 123456);
	CHECK(cc.in_recovery);
	CHECK_INT(cc.ssthresh, 10000);
	CHECK_INT(cc.cwnd, 10000);
	CHECK_INT(cc.recover, 123456);
	CHECK_INT(cc.prr_credit, 1000); /* the first retransmission */
	tcp_cc_recovery_delivered(&cc, 4000);
	CHECK_INT(cc.prr_credit, 3000); /* half of what was delivered */
	tcp_cc_recovery_delivered(&cc, 100);
	CHECK_INT(cc.prr_credit, 4000); /* at least one segment per ACK */
	for (int i = 0; i < 100; i++)
		tcp_cc_recovery_delivered(&cc, 10000);
	CHECK_INT(cc.prr_credit, cc.ssthresh); /* bounded */
	tcp_cc_exit_recovery(&cc, 5000);
	CHECK(!cc.in_recovery);
	CHECK_INT(cc.cwnd, 10000);
	/* small flight: ssthresh never below 2 mss */
	tcp_cc_enter_recovery(&cc, 1500, 1);
	CHECK_INT(cc.ssthresh, 2000);
}

static void test_rto_collapse(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1000, TCP_CC_NEWRENO);
	cc.cwnd = 30000;
	tcp_cc_on_rto(&cc, 30000);
	CHECK_INT(cc.cwnd, 1000);
	CHECK_INT(cc.ssthresh, 15000);
	CHECK(!cc.in_recovery);
	/* slow start back up to ssthresh */
	while (cc.cwnd < cc.ssthresh)
		tcp_cc_on_ack(&cc, 2000, &NR_ACK);
	CHECK(cc.cwnd >= 15000 && cc.cwnd <= 17000);
}

/* ---- CUBIC (RFC 9438) and HyStart++ (RFC 9406) ---- */

/*
 * An ACK-clocked sender: every ACK acknowledges one segment, the window is
 * refilled at once, the clock advances by rtt * mss / flight per ACK (so a
 * window's worth of ACKs takes one RTT).
 */
struct sim {
	struct tcp_cc cc;
	uint32_t una, nxt, bound;
	double t; /* ms */
	int rounds;
};

static void sim_init(struct sim *s, uint32_t mss)
{
	tcp_cc_init(&s->cc, mss, TCP_CC_CUBIC);
	s->una = s->nxt = s->bound = 1000;
	s->t = 1000;
	s->rounds = 0;
	s->nxt = s->una + s->cc.cwnd;
	s->bound = s->nxt;
}

static void sim_ack(struct sim *s, uint32_t rtt)
{
	uint32_t flight = s->nxt - s->una;
	struct tcp_cc_ack a;

	tcp_cc_rtt_sample(&s->cc, rtt);
	s->una += s->cc.mss;
	a = (struct tcp_cc_ack){.ack = s->una, .snd_nxt = s->nxt, .flight = flight,
				.now_ms = (uint32_t)s->t, .srtt_ms = rtt};
	tcp_cc_on_ack(&s->cc, s->cc.mss, &a);
	s->t += (double)rtt * s->cc.mss / (flight ? flight : s->cc.mss);
	if ((int32_t)(s->una - s->bound) >= 0) {
		s->rounds++;
		s->bound = s->nxt;
	}
	if ((int32_t)(s->una + s->cc.cwnd - s->nxt) > 0)
		s->nxt = s->una + s->cc.cwnd;
}

/* Run ACKs until the clock passes ms milliseconds from now. */
static void sim_run(struct sim *s, uint32_t rtt, double ms)
{
	double end = s->t + ms;

	while (s->t < end)
		sim_ack(s, rtt);
}

/* A loss at cwnd = w bytes, then recovery ends: the next ACKs are congestion avoidance. */
static void sim_loss(struct sim *s, uint32_t w)
{
	s->cc.cwnd = w;
	s->cc.ssthresh = w; /* out of slow start */
	tcp_cc_enter_recovery(&s->cc, w, s->nxt);
	tcp_cc_exit_recovery(&s->cc, 0);
	s->nxt = s->una + s->cc.cwnd;
	s->bound = s->nxt;
}

static void test_cubic_reduction_and_fast_convergence(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1000, TCP_CC_CUBIC);
	cc.cwnd = 100000;
	tcp_cc_enter_recovery(&cc, 40000, 1);
	CHECK_INT(cc.ssthresh, 70000); /* beta 0.7 of cwnd, not of the flight */
	CHECK_INT(cc.cwnd, 70000);
	CHECK_INT(cc.cu.w_max, 100000);
	CHECK_INT(cc.cu.cwnd_prior, 100000);
	tcp_cc_recovery_delivered(&cc, 10000);
	CHECK_INT(cc.prr_credit, 1000 + 7000); /* 0.7 of what was delivered */
	tcp_cc_exit_recovery(&cc, 0);
	/* A loss below the last W_max: fast convergence lowers W_max to cwnd (1 + beta) / 2. */
	cc.cwnd = 80000;
	tcp_cc_enter_recovery(&cc, 80000, 2);
	CHECK_INT(cc.cu.w_max, 68000);
	CHECK_INT(cc.ssthresh, 56000);
	/* A timeout: the same ssthresh rule, one segment of window. */
	cc.cwnd = 50000;
	tcp_cc_on_rto(&cc, 50000);
	CHECK_INT(cc.ssthresh, 35000);
	CHECK_INT(cc.cwnd, 1000);
	CHECK_INT(cc.hs.state, TCP_HS_DONE);
	/* Never below two segments. */
	cc.cwnd = 2000;
	tcp_cc_enter_recovery(&cc, 2000, 3);
	CHECK_INT(cc.ssthresh, 2000);
}

static void test_cubic_window_function(void)
{
	struct sim s;
	double k = cbrt((100.0 - 70.0) / 0.4); /* RFC 9438 eq. 2 in segments: 4.217 s */

	sim_init(&s, 1000);
	sim_loss(&s, 100000);
	sim_ack(&s, 100); /* the epoch begins */
	CHECK(fabs(s.cc.cu.k - k) < 1e-9);
	CHECK_INT(s.cc.cu.cwnd_epoch, 70000);
	/* eq. 1: W(0) = cwnd_epoch, W(K) = W_max, W(K + 1) = W_max + C segments */
	CHECK(fabs(tcp_cubic_window(&s.cc, 0) - 70000) < 1e-6);
	CHECK(fabs(tcp_cubic_window(&s.cc, k) - 100000) < 1e-6);
	CHECK(fabs(tcp_cubic_window(&s.cc, k + 1) - 100400) < 1e-6);
	CHECK(fabs(tcp_cubic_window(&s.cc, k + 2) - 103200) < 1e-6);
}

static void test_cubic_concave_then_convex(void)
{
	struct sim s;
	uint32_t w1, w2, w3, w4;

	sim_init(&s, 1000);
	sim_loss(&s, 100000);
	/* Concave: fast at first, slowing towards W_max (100 segments) at K = 4.2 s. */
	sim_run(&s, 100, 1000);
	w1 = s.cc.cwnd;
	sim_run(&s, 100, 1000);
	w2 = s.cc.cwnd;
	CHECK(w1 > 80000 && w1 < 92000); /* W(1.1 s) = 87.9 segments */
	CHECK(w2 - w1 < w1 - 70000);
	sim_run(&s, 100, 2217);
	CHECK(s.cc.cwnd > 97000 && s.cc.cwnd < 102000); /* the plateau at W_max */
	/* Convex: past K the probing speeds up again. */
	w3 = s.cc.cwnd;
	sim_run(&s, 100, 1000);
	w4 = s.cc.cwnd;
	sim_run(&s, 100, 1000);
	CHECK(w4 > w3 && s.cc.cwnd - w4 > w4 - w3);
	CHECK(s.cc.cwnd > 102000 && s.cc.cwnd < 107000); /* W(K + 2.1 s) = 103.7 segments */
}

static void test_cubic_reno_friendly(void)
{
	struct sim s;

	/*
	 * 1 ms RTT, a loss at 20 segments: W_cubic barely moves in 100 ms (14.7
	 * segments) while Reno gains alpha = 9/17 a round up to cwnd_prior, then
	 * one: about 20 + (100 - 11.3) = 108.7 segments after 100 rounds.
	 */
	sim_init(&s, 1000);
	sim_loss(&s, 20000);
	sim_run(&s, 1, 100);
	CHECK(s.cc.cwnd > 100000 && s.cc.cwnd < 115000);
	CHECK_INT(s.cc.cwnd, s.cc.cu.w_est);
}

static void test_cubic_app_limited(void)
{
	struct tcp_cc cc;
	struct tcp_cc_ack a = {.ack = 2000, .snd_nxt = 3000, .flight = 10000, .now_ms = 5000,
			       .srtt_ms = 10};

	tcp_cc_init(&cc, 1000, TCP_CC_CUBIC);
	cc.cwnd = 100000;
	cc.ssthresh = 50000;
	for (int i = 0; i < 1000; i++) {
		a.now_ms += 10;
		tcp_cc_on_ack(&cc, 1000, &a);
	}
	CHECK_INT(cc.cwnd, 100000); /* a flight far below cwnd does not grow it */
	a.flight = 99000;
	tcp_cc_on_ack(&cc, 1000, &a);
	a.now_ms += 1000;
	tcp_cc_on_ack(&cc, 1000, &a);
	CHECK(cc.cwnd > 100000);
	/* The window never exceeds its cap. */
	cc.cwnd = TCP_CWND_MAX - 10;
	for (int i = 0; i < 100; i++) {
		a.flight = cc.cwnd;
		a.now_ms += 100000;
		tcp_cc_on_ack(&cc, 1u << 20, &a);
	}
	CHECK(cc.cwnd <= TCP_CWND_MAX);
}

static void test_hystart_exit_on_delay_rise(void)
{
	struct sim s;
	uint32_t at_css;
	int r;

	sim_init(&s, 1000);
	/* Rounds at 20 ms: ordinary slow start, the window doubles a round. */
	while (s.rounds < 5)
		sim_ack(&s, 20);
	CHECK_INT(s.cc.hs.state, TCP_HS_SLOW_START);
	CHECK(s.cc.cwnd >= 60000);
	/* The RTT rises by 10 ms (threshold max(4, 20/8) = 4 ms): CSS after 8 samples. */
	r = s.rounds;
	while (s.rounds == r && s.cc.hs.state == TCP_HS_SLOW_START)
		sim_ack(&s, 30);
	CHECK_INT(s.cc.hs.state, TCP_HS_CSS);
	CHECK_INT(s.cc.hs.css_base_rtt, 30);
	/* CSS grows a quarter as fast ... */
	at_css = s.cc.cwnd;
	r = s.rounds;
	while (s.rounds < r + 2)
		sim_ack(&s, 30);
	CHECK(s.cc.cwnd < at_css * 7 / 4); /* two rounds: 1.25^2, where slow start doubles twice */
	/* ... and after CSS_ROUNDS rounds, slow start is over with ssthresh = cwnd. */
	while (s.rounds < r + 8 && s.cc.hs.state != TCP_HS_DONE)
		sim_ack(&s, 30);
	CHECK_INT(s.cc.hs.state, TCP_HS_DONE);
	CHECK_INT(s.cc.ssthresh, s.cc.cwnd);
}

static void test_hystart_spurious_rise(void)
{
	struct sim s;
	int r;

	sim_init(&s, 1000);
	while (s.rounds < 4)
		sim_ack(&s, 40);
	r = s.rounds;
	while (s.rounds == r && s.cc.hs.state == TCP_HS_SLOW_START)
		sim_ack(&s, 50);
	CHECK_INT(s.cc.hs.state, TCP_HS_CSS);
	/* The RTT falls back below the CSS baseline: slow start resumes. */
	r = s.rounds;
	while (s.rounds <= r + 1 && s.cc.hs.state == TCP_HS_CSS)
		sim_ack(&s, 40);
	CHECK_INT(s.cc.hs.state, TCP_HS_SLOW_START);
	/* Steady RTTs of under 4 ms of jitter never leave slow start. */
	sim_init(&s, 1000);
	for (int i = 0; i < 8; i++) {
		r = s.rounds;
		while (s.rounds == r)
			sim_ack(&s, (i & 1) ? 12 : 10);
	}
	CHECK_INT(s.cc.hs.state, TCP_HS_SLOW_START);
	/* A loss in slow start ends HyStart++ for good. */
	tcp_cc_enter_recovery(&s.cc, s.cc.cwnd, s.nxt);
	CHECK_INT(s.cc.hs.state, TCP_HS_DONE);
}

int main(void)
{
	RUN(test_rto_initial_and_first_sample);
	RUN(test_rto_converges_and_min);
	RUN(test_rto_variance);
	RUN(test_backoff);
	RUN(test_initial_window);
	RUN(test_slow_start_then_ca);
	RUN(test_fast_recovery);
	RUN(test_rto_collapse);
	RUN(test_cubic_reduction_and_fast_convergence);
	RUN(test_cubic_window_function);
	RUN(test_cubic_concave_then_convex);
	RUN(test_cubic_reno_friendly);
	RUN(test_cubic_app_limited);
	RUN(test_hystart_exit_on_delay_rise);
	RUN(test_hystart_spurious_rise);
	return st_test_done("test_tcp_cc");
}
