/*
 * Receive memory against the mbuf pool: what a worker's connections hold in
 * their receive queues (in-order and out-of-order, as buffer cost: whole
 * mbufs, tcp_chain_cost) is kept within the worker's share of the port's
 * pool, the way Linux keeps sockets within tcp_mem.
 *
 * A receive window is a right to send, granted before the bytes come; a
 * connection whose application stops reading (a session holding its input,
 * a backend behind a closed SSH window) fills the window it was granted, and
 * autotuned windows reach TCPReceiveWindowMax (16 MiB: ~11,000 mbufs). A few
 * of those would empty the pool the NIC refills its RX ring from, and every
 * connection's packets would be dropped. So, per worker (each worker owns
 * its connections; no shared counter, no look at the pool's ring):
 *  - share: the worker's part of the pool for receive queues
 *    (dp_pool_rx_share: what the rings and caches leave, split evenly);
 *  - held: the cost its connections' queues hold now;
 *  - under pressure (held >= share / 2) windows do not grow (autotuning
 *    waits) and a connection may be told of at most its allowance, the
 *    larger of its base (one largest SSH packet, which it can always get)
 *    and an eighth of the share that is still free; one holding more
 *    advertises no new room. The right edge never retracts (RFC 9293
 *    3.8.6, RFC 7323 2.4): what was granted stays granted.
 *  - what arrives inside an old grant is queued while held stays below
 *    three quarters of the share; the last quarter is kept for connections
 *    within their allowance (as the seal pool keeps its reserve,
 *    dataplane/ssh/sess_io.c), and past the share only a connection with
 *    nothing queued, or one whose application read in the last second
 *    within its base, takes a segment (the greedy ones, which do not read,
 *    are what fills the share: a reading one must not be starved by them). The rest is dropped (TCP_RCVMEM) and
 *    the peer resends it once the application reads: a greedy connection
 *    stalls itself, not its neighbours, and no connection deadlocks (an
 *    empty queue always takes the next segment).
 * Counters: TCP_RCVWIN_POOL_CAPPED (an advertisement or a growth held back),
 * drop TCP_RCVMEM; the held and share gauges in tcp_worker_info.
 *
 * Owned by the worker, like struct tcp_worker; the functions below taking
 * plain numbers are its arithmetic (tests/unit/test_tcp_rcvmem.c).
 */
#include "dataplane/tcp/tcp_internal.h"

/* Under pressure from half the share; the last quarter for connections within their allowance. */
#define RCVMEM_PRESSURE(share) ((share) / 2)
#define RCVMEM_RESERVE(share) ((share) / 4)
/* A connection's allowance: this fraction of what is still free, at least its base. */
#define RCVMEM_FAIR_DIV 8u

uint64_t tcp_rcvmem_allowance(uint64_t share, uint64_t held, uint32_t base)
{
	uint64_t left = share > held ? share - held : 0, a = left / RCVMEM_FAIR_DIV;

	return a > base ? a : base;
}

int tcp_rcvmem_admit(uint64_t share, uint64_t held, uint32_t conn, uint32_t cost, uint32_t base,
		     int reading)
{
	if (conn == 0)
		return 1; /* nothing queued: the next segment always fits (no deadlock) */
	if (held + cost <= share - RCVMEM_RESERVE(share))
		return 1;
	/* A connection whose application reads keeps its base whatever the share says:
	 * what it holds goes as fast as it comes. Past the share, only those. */
	if (reading && (uint64_t)conn + cost <= base)
		return 1;
	return held + cost <= share && (uint64_t)conn + cost <= tcp_rcvmem_allowance(share, held, base);
}

uint32_t tcp_rcvmem_space(uint32_t space, uint64_t share, uint64_t held, uint32_t conn,
			  uint32_t base)
{
	uint64_t a, room;

	if (held < RCVMEM_PRESSURE(share))
		return space;
	a = tcp_rcvmem_allowance(share, held, base);
	if (conn >= a)
		return 0;
	/* Window bytes from buffer cost: a full-size segment costs up to ~1.6x its payload. */
	room = (a - conn) / 2;
	return room < space ? (uint32_t)room : space;
}

int tcp_rcvmem_reading(const struct tcp_worker *tw, const struct tcp_conn *c)
{
	return tw->w->now_ms - c->last_read_ms <= TCP_RCVMEM_READING_MS;
}

int tcp_rcvmem_pressure(const struct tcp_worker *tw)
{
	return tw->rq_cost + tw->ooo_cost >= RCVMEM_PRESSURE(tw->rcvmem_max);
}
