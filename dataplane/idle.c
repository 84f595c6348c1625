/* Idle workers sleep on RX interrupts and a wake-up eventfd (see idle.h). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_interrupts.h>

#include "dataplane/dp.h"
#include "dataplane/mq.h"
#include "dataplane/idle.h"
#include "dataplane/vtap.h"

static void wake_drain(int fd, void *arg)
{
	uint64_t v;

	(void)arg;
	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

void dp_idle_init(struct dp_worker *w)
{
	struct dp_idle *id = &w->idle;

	id->wake_fd = -1;
	id->rx_intr = 0;
	id->sleeping = 0;
	id->idle_since_ms = w->now_ms;
	if (w->cfg->idle_sleep_ms == 0)
		return;
	id->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (id->wake_fd < 0) {
		fprintf(stderr, "dataplane: worker %u: eventfd: %s; it will poll\n", w->id,
			strerror(errno));
		return;
	}
	id->wake_ev.status = RTE_EPOLL_INVALID;
	id->wake_ev.epdata.event = EPOLLIN;
	id->wake_ev.epdata.data = w; /* tells a kick from an RX interrupt */
	id->wake_ev.epdata.cb_fun = wake_drain;
	id->wake_ev.epdata.cb_arg = NULL;
	if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, id->wake_fd, &id->wake_ev) != 0) {
		fprintf(stderr, "dataplane: worker %u: epoll: cannot add its wake-up fd; it will poll\n",
			w->id);
		close(id->wake_fd);
		id->wake_fd = -1;
		return;
	}
	/* A TAP queue's fd is readable when a packet waits: the worker sleeps on it. */
	if (w->vtap) {
		id->rx_ev.status = RTE_EPOLL_INVALID;
		id->rx_ev.epdata.event = EPOLLIN;
		id->rx_ev.epdata.data = NULL;
		id->rx_ev.epdata.cb_fun = NULL;
		if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, w->vtap->fd, &id->rx_ev) == 0)
			id->rx_fd = 1;
		return;
	}
	/* Without an RX interrupt the worker still sleeps, DP_IDLE_MAX_WAIT_MS at a time. */
	if (w->rx_intr_conf &&
	    rte_eth_dev_rx_intr_ctl_q(w->port, w->queue, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD,
				      NULL) == 0)
		id->rx_intr = 1;
}

void dp_idle_fini(struct dp_worker *w)
{
	struct dp_idle *id = &w->idle;

	if (id->rx_intr)
		rte_eth_dev_rx_intr_ctl_q(w->port, w->queue, RTE_EPOLL_PER_THREAD,
					  RTE_INTR_EVENT_DEL, NULL);
	if (id->rx_fd)
		rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, w->vtap->fd, &id->rx_ev);
	id->rx_fd = 0;
	if (id->wake_fd >= 0) {
		rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, id->wake_fd, &id->wake_ev);
		close(id->wake_fd);
	}
	id->wake_fd = -1;
	id->rx_intr = 0;
}

int dp_idle_after_pass(struct dp_worker *w, int work)
{
	struct dp_idle *id = &w->idle;
	const struct dp_cfg *cfg = w->cfg;
	struct rte_epoll_event ev[2];
	int n, kicked = 0;

	if (work || id->wake_fd < 0) {
		id->idle_since_ms = w->now_ms;
		return 0;
	}
	if (w->now_ms - id->idle_since_ms < cfg->idle_sleep_ms) {
		/*
		 * Not idle long enough to sleep, but this pass found nothing: let a
		 * thread that shares the core (the control plane on a small machine)
		 * run now instead of at the end of our time slice.
		 */
		sched_yield();
		return 0;
	}
	__atomic_store_n(&id->sleeping, 1, __ATOMIC_SEQ_CST);
	/* Work queued before the flag was visible is seen here; later work kicks. */
	if ((cfg->can_sleep && !cfg->can_sleep(w, cfg->app_arg)) || dp_mq_pending(w)) {
		__atomic_store_n(&id->sleeping, 0, __ATOMIC_RELAXED);
		return 0;
	}
	if (id->rx_intr)
		rte_eth_dev_rx_intr_enable(w->port, w->queue);
	w->st->ctr[DP_CTR_IDLE_SLEEPS]++;
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 2, DP_IDLE_MAX_WAIT_MS);
	if (id->rx_intr)
		rte_eth_dev_rx_intr_disable(w->port, w->queue);
	__atomic_store_n(&id->sleeping, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++)
		kicked |= ev[i].epdata.data == w;
	if (n <= 0)
		w->st->ctr[DP_CTR_IDLE_WAKE_TIMEOUT]++;
	else if (kicked)
		w->st->ctr[DP_CTR_IDLE_WAKE_KICK]++;
	else
		w->st->ctr[DP_CTR_IDLE_WAKE_RX]++;
	return 1;
}

void dp_idle_kick(struct dp_worker *w)
{
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (w->idle.wake_fd >= 0 && __atomic_load_n(&w->idle.sleeping, __ATOMIC_SEQ_CST)) {
		if (write(w->idle.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			return; /* the bounded wait wakes it anyway */
	}
}
