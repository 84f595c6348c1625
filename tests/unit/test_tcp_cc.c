/* Unit tests: RTO estimator and backoff (RFC 6298), NewReno cwnd evolution. */
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

static void test_initial_window(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1460);
	CHECK_INT(cc.cwnd, 4380);
	tcp_cc_init(&cc, 536);
	CHECK_INT(cc.cwnd, 4 * 536);
	tcp_cc_init(&cc, 8960);
	CHECK_INT(cc.cwnd, 2 * 8960);
}

static void test_slow_start_then_ca(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1000);
	cc.cwnd = 4000;
	cc.ssthresh = 8000;
	tcp_cc_on_ack(&cc, 1000);
	CHECK_INT(cc.cwnd, 5000);
	tcp_cc_on_ack(&cc, 5000); /* ABC: at most 2 * mss per ACK */
	CHECK_INT(cc.cwnd, 7000);
	tcp_cc_on_ack(&cc, 1000);
	CHECK_INT(cc.cwnd, 8000);
	/* congestion avoidance: + 1 mss per cwnd of acked bytes */
	for (int i = 0; i < 7; i++)
		tcp_cc_on_ack(&cc, 1000);
	CHECK_INT(cc.cwnd, 8000);
	tcp_cc_on_ack(&cc, 1000);
	CHECK_INT(cc.cwnd, 9000);
}

static void test_fast_recovery(void)
{
	struct tcp_cc cc;

	tcp_cc_init(&cc, 1000);
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

	tcp_cc_init(&cc, 1000);
	cc.cwnd = 30000;
	tcp_cc_on_rto(&cc, 30000);
	CHECK_INT(cc.cwnd, 1000);
	CHECK_INT(cc.ssthresh, 15000);
	CHECK(!cc.in_recovery);
	/* slow start back up to ssthresh */
	while (cc.cwnd < cc.ssthresh)
		tcp_cc_on_ack(&cc, 2000);
	CHECK(cc.cwnd >= 15000 && cc.cwnd <= 17000);
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
	return st_test_done("test_tcp_cc");
}
