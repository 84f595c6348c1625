/*
 * What the files of the SSH application share on one worker (not an API):
 *   sshapp.c       worker hooks, the session slot table, down messages, tick
 *   sess_io.c      client connections: TCP events, input, sealing into mbufs
 *   backend_conn.c the services' connector on the userspace TCP
 *   app_stats.c    counters read by the control plane
 *
 * Ownership: everything here belongs to the worker lcore that created it
 * (st_sshapp_start) and is touched only there, except the fields that
 * app_stats.c reads from other threads (see its comment).
 */
#ifndef ST_SSH_APP_INTERNAL_H
#define ST_SSH_APP_INTERNAL_H

#include <stdint.h>

#include "dataplane/ssh/sshapp.h"

struct rte_mbuf;
struct rte_mempool;

#define NO_SLOT UINT32_MAX

#include "dataplane/seqcount.h"

/* A worker's published counters (written by the worker, read by anyone). */
struct st_sshapp_pub {
	st_seqcount_t sc;
	struct st_sshapp_stats as;
	struct st_wsess_worker_stats ws;
} __attribute__((aligned(64)));

/* One slot's published session counters; gen 0: no session. */
struct st_sess_pub {
	st_seqcount_t sc;
	uint32_t gen;
	struct st_wsess_stats st;
};

/* One client connection: a worker session on a TCP connection. */
struct sess {
	struct st_wsess ws;      /* first: wsess hands itself to services as `owner` */
	struct st_sshapp_worker *aw;
	tcp_handle_t tcp;        /* 0 once TCP is gone */
	/* Received segments the session has not consumed (a partial packet, or
	 * input it holds), opened in place there (sess_io.c). */
	struct rte_mbuf *rx, *rx_tail;
	uint32_t rx_bytes;
	/* Sealed packets not yet handed to TCP, in order (sess_io.c). */
	struct rte_mbuf *txq_head, *txq_tail;
	uint32_t txq_bytes;
	uint32_t slot;
	uint32_t next_free;
	uint32_t act_prev, act_next; /* the worker's list of active sessions (NO_SLOT ends) */
	uint32_t gen;            /* never 0 (planes.h) */
	uint8_t active;
	uint8_t starved;         /* on the worker's starved list: waits for a free mbuf */
	uint8_t starve_why;      /* enum starve_why (sess_io.c): what it waits for */
	uint32_t next_starved;
	uint64_t closing_ms;     /* when the session started closing, 0 = it is not */
	/* Credit for control-bound messages (sshapp.h ST_UP_CREDIT_*): sent since
	 * the slot was taken, and app->up_done[slot] as it was then. */
	uint32_t up_sent_msgs, up_sent_bytes;
	uint32_t up_base_msgs, up_base_bytes;
	/* Asynchronous sealing (sess_io.c): framed packets of this session in the
	 * worker's txc ring, not handed back yet; the txq is handed to TCP only
	 * up to (not including) txq_busy, the mbuf of the oldest of them. */
	uint32_t tx_inflight;
	struct rte_mbuf *txq_busy;
	uint16_t rx_inflight;    /* received packets being opened by the device (their bytes
	                            stay at the start of rx; no input is read meanwhile) */
	uint32_t rx_first;       /* their first entry in the txc ring */
	uint32_t rx_seg_span;    /* entries of the ring's segs arena their runs hold */
	uint8_t zombie;          /* ended with packets in flight: freed when they are back */
	uint8_t tx_failed;       /* a seal failed on the device: nothing more goes out */
	uint8_t tx_kick;         /* on this pass's list of sessions whose packets came back */
};

/*
 * The worker's asynchronous seal ring (sess_io.c): packets framed by sessions
 * whose send direction is on an enqueue/dequeue device, in the order they
 * were framed, which is each session's sequence order. [head, enq): handed
 * to the device (or sealed); [enq, tail): waiting for room on the device.
 * The st_pkt structs are what the backend holds while in flight.
 */
#define TXC_SIZE 2048u /* power of two: the cryptodev backend's window */
enum { TXC_WAIT = 0, TXC_FLIGHT, TXC_DONE };
enum { TXC_TX = 0, TXC_RX };
struct txc_ent {
	uint32_t slot, gen;   /* the session (its generation: 32 bits) */
	struct rte_mbuf *m;   /* the txq mbuf holding the packet (TX) */
	uint8_t state;
	uint8_t kind;         /* TXC_TX: a seal; TXC_RX: an open (asynchronous receive) */
};
#define TXC_SEGS 8192u /* runs of received packets across mbufs, in flight */
struct txc {
	uint32_t head, enq, tail;
	uint32_t seg_head, seg_tail; /* the segs arena, allocated and freed in ring order */
	struct st_pkt pkt[TXC_SIZE];
	struct txc_ent e[TXC_SIZE];
	struct st_seg seg[TXC_SEGS];
};

/* A backend TCP connection opened for a service. */
struct bconn {
	struct st_sshapp_worker *aw;
	struct sess *owner;      /* NULL after the service closed it */
	tcp_handle_t tcp;
	struct rte_mbuf *rx;
	uint32_t next_free;
	uint8_t in_use, connected, eof, failed;
	uint8_t shutdown_pending; /* half-close asked for before the connection completed */
};

struct st_sshapp_worker {
	struct dp_worker *w;
	struct st_sshapp *app;
	struct st_wsess_config wcfg; /* app->wcfg plus this worker's connector and tx_ops */
	struct st_connector connector;
	/* Channels of a session past the one its table holds inline (sshapp.c). */
	struct rte_mempool *chan_pool;
	struct st_chan_pool chan_pool_ops;
	struct sess *sess;
	uint32_t nsess, free_head, active;
	uint32_t act_head;       /* active sessions, newest first: what the tick walks */
	struct bconn *bc;
	uint32_t nbc, bc_free;
	uint32_t rx_hold_max;    /* received bytes a session holds before TCP's window holds the peer */
	/*
	 * Sealing (sess_io.c): packets that do not fit a small mbuf of the port's
	 * pool are sealed into mbufs of this worker's seal pool (seal_room bytes
	 * each); the rare payload bigger than that is sealed in `oversize` and
	 * copied into small mbufs.
	 */
	struct rte_mempool *seal_pool;
	uint32_t seal_room;
	uint32_t port_room;      /* data room of a port-pool mbuf */
	/* Free seal mbufs kept for sessions with little in flight (sess_io.c). */
	uint32_t seal_reserve;
	uint8_t *oversize;       /* ST_CRYPTO_HEADROOM + oversize_cap bytes */
	uint32_t oversize_cap;
	uint32_t oversize_hwm;   /* bytes ever written: what the stop wipes */
	enum { RES_NONE, RES_TAIL, RES_MBUF, RES_OVERSIZE } res_kind; /* open reservation */
	struct rte_mbuf *res_mbuf; /* fresh mbuf of the reservation, kept if abandoned */
	/* Sessions that could not get an mbuf, retried every pass (FIFO). */
	uint32_t starved_head, starved_tail, starved_count;
	uint64_t last_tick_ms;
	uint64_t last_pub_ms;
	struct txc *txc;         /* NULL unless the backend has an asynchronous pair */
	uint64_t cnt[ST_SSHAPP_COUNTER_COUNT];
	struct st_wsess_worker_stats wstats;
};

/* mbuf segment lists (sess_io.c) */
struct rte_mbuf *st_app_seg_pop(struct rte_mbuf *m);
void st_app_segs_free(struct rte_mbuf *m);
struct rte_mbuf *st_app_segs_append(struct rte_mbuf *list, struct rte_mbuf *more);
struct rte_mbuf *st_app_chain_from_bytes(struct st_sshapp_worker *aw, const uint8_t *p, size_t n,
					 size_t *took);

/* client sessions (sess_io.c) */
extern const struct tcp_ops st_app_client_ops;
extern const struct st_wsess_tx_ops st_app_tx_ops_proto; /* ctx filled per worker */
void st_app_sess_service(struct sess *s);
void st_app_sess_end(struct sess *s);
void st_app_sess_free(struct sess *s);
void st_app_starved_retry(struct st_sshapp_worker *aw);
/* Asynchronous seals: completions in, waiting packets out, once per loop pass. */
void st_app_crypto_poll(struct st_sshapp_worker *aw);
/* Whether seals are in flight or waiting (the worker must not sleep). */
int st_app_crypto_busy(const struct st_sshapp_worker *aw);
/* At worker stop: waits (bounded) until nothing is in flight. */
void st_app_crypto_drain(struct st_sshapp_worker *aw);
/* Whether the first starved session's mbufs are there now (the worker must not sleep). */
int st_app_starved_ready(const struct st_sshapp_worker *aw);

/* published counters (app_stats.c; the worker's side) */
void st_app_publish(struct st_sshapp_worker *aw);
void st_app_sess_publish(const struct sess *s, uint32_t gen); /* gen 0: the slot is free */

/* backends (backend_conn.c) */
extern const struct st_connector_ops st_app_connector_ops;
void st_app_bconn_table_init(struct st_sshapp_worker *aw);
void st_app_bconn_table_free(struct st_sshapp_worker *aw);

#endif
