/*
 * Idle workers sleep (WorkerIdle sleep): a worker that has had no packet for
 * dp_cfg.idle_sleep_ms waits in epoll on its RX queue's interrupt (where the
 * port has one: net_tap, memif, most NICs) and on a wake-up eventfd that other
 * threads kick when they hand it work (the control plane's down ring). The
 * wait is bounded by DP_IDLE_MAX_WAIT_MS so timers (retransmission, delayed
 * ACK, LoginGraceTime ticks) still run; a port without RX interrupts gets that
 * bounded wait alone, like a power-management pause.
 *
 * Ownership: everything here belongs to the worker's own lcore except
 * dp_idle_kick(), which any thread may call. The only shared word is
 * w->idle.sleeping, written by the worker and read by kickers, with full
 * fences on both sides (a kick is never lost: the worker re-checks for work
 * after announcing its sleep, the kicker checks the flag after queueing).
 */
#ifndef ST_DATAPLANE_IDLE_H
#define ST_DATAPLANE_IDLE_H

#include <stdint.h>

#include <rte_epoll.h>

#define DP_IDLE_MAX_WAIT_MS 5

struct dp_worker;

struct dp_idle {
	uint32_t sleeping;          /* 1 while the worker may be in epoll_wait */
	int wake_fd;                /* eventfd, -1 when sleeping is off */
	uint8_t rx_intr;            /* the RX queue's interrupt is in the worker's epoll */
	uint8_t rx_fd;              /* the TAP queue's fd is (dataplane/vtap.h) */
	uint64_t idle_since_ms;     /* last time there was work */
	struct rte_epoll_event wake_ev;
	struct rte_epoll_event rx_ev; /* the TAP queue's fd */
};

/* On the worker's lcore, before its loop: sets up what sleeping needs (a no-op when off). */
void dp_idle_init(struct dp_worker *w);
void dp_idle_fini(struct dp_worker *w);

/*
 * Called by the loop after each pass; work says whether the pass did any.
 * Sleeps when the worker has been idle long enough and the application's
 * can_sleep hook agrees. Returns 1 when it slept.
 */
int dp_idle_after_pass(struct dp_worker *w, int work);

/* Any thread: wakes the worker if it sleeps (after the caller queued work for it). */
void dp_idle_kick(struct dp_worker *w);

#endif
