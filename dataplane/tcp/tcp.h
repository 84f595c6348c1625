/*
 * Userspace TCP (RFC 9293) for one worker, and the API the layer above uses.
 *
 * Every worker has its own struct tcp_worker: a preallocated connection table
 * hashed by 4-tuple, listeners, SYN-cookie key and per-burst work lists. A
 * connection lives on one worker and is named by a handle
 *     tcp_handle_t = worker (8 bits) | slot (24 bits) | generation (32 bits)
 * so a stale handle (slot reused) is detected, never dereferenced. All API
 * calls must be made on the owning worker's lcore (from event callbacks or the
 * dp_cfg.on_poll hook).
 *
 * Events are delivered once per burst, after input processing and before
 * output, through the struct tcp_ops table of the listener or connection:
 *   accepted(listen_ctx, h, &conn_ctx)  passive open completed; return 0 to
 *                                       keep it (events then go to conn_ctx)
 *                                       or non-zero to reset it
 *   connected(ctx, h)                   active open completed
 *   readable(ctx, h)                    new in-order data, or end of stream
 *   writable(ctx, h)                    a quarter of the send buffer is free
 *                                       after ST_ERR_AGAIN, a zero send space
 *                                       or a tcp_write that filled the buffer
 *   closed(ctx, h, err)                 the handle is dead after this call:
 *                                       ST_OK (orderly), ST_ERR_CONN_RESET,
 *                                       ST_ERR_CONN_REFUSED, ST_ERR_TIMEOUT;
 *                                       inside it tcp_read() still hands over
 *                                       what the peer sent before its FIN
 *
 * Data is zero-copy in both directions: tcp_read() hands over the mbuf chain
 * of received payload (the RX buffers themselves), tcp_write() takes an mbuf
 * chain into the send queue, and every (re)transmission attaches indirect
 * mbufs to those same bytes.
 */
#ifndef ST_DATAPLANE_TCP_H
#define ST_DATAPLANE_TCP_H

#include <stdint.h>
#include <stdio.h>

#include "dataplane/ipaddr.h"

struct rte_mbuf;
struct dp_worker;
struct tcp_worker;

typedef uint64_t tcp_handle_t; /* 0 is never a valid handle */

/* Payload pieces (indirect mbufs) per segment at most: a plain one, a TSO packet. */
#define TCP_TX_PIECES 16
#define TCP_TSO_PIECES 64

static inline unsigned tcp_handle_worker(tcp_handle_t h)
{
	return (unsigned)(h >> 56);
}

struct tcp_cfg {
	uint32_t max_conns;     /* per worker, <= 2^24 - 1 */
	uint32_t rcvbuf;        /* initial receive window: bytes of in-order + out-of-order
				 * data held per connection */
	uint32_t rcvbuf_max;    /* the receive window grows with the measured bandwidth-delay
				 * product up to this (tcp_rcvbuf.c); <= rcvbuf: fixed at rcvbuf.
				 * Our window scale is derived from it (at most 1 GiB) */
	uint32_t sndbuf;        /* bytes queued (unacked + unsent) before ST_ERR_AGAIN, at first */
	uint32_t sndbuf_max;    /* ... growing to twice what the path takes, up to this
				 * (tcp_sndbuf.c); <= sndbuf: fixed */
	uint16_t mss;           /* our MSS (from the MTU) */
	uint32_t syn_backlog;   /* embryonic connections per listener before SYN cookies */
	uint32_t min_rto_ms;
	uint32_t delack_ms;
	uint32_t time_wait_ms;  /* 2*MSL */
	uint32_t keepalive_ms;  /* idle time before keepalive probes, 0 = off */
	uint32_t syn_retries;
	uint32_t max_retries;   /* data retransmissions (or unanswered zero-window probes)
				 * before the connection is dropped */
	uint32_t close_timeout_ms; /* after tcp_close/tcp_release: abort when the peer has
				    * acknowledged nothing for this long (0: default 20 s) */
	uint64_t ooo_worker_max; /* out-of-order buffer memory of all connections of a worker,
				  * bytes (0: an eighth of the worker's mbuf pool) */
	uint32_t challenge_ack_per_s;
	uint16_t eph_lo, eph_hi; /* ephemeral port range for tcp_connect */
	uint8_t cc_algo;         /* enum tcp_cc_algo (tcp_cc.h): 0 = CUBIC, the default */
	uint8_t ss_ack_segs;     /* slow start: segments one ACK may add (RFC 3465 L), 0 = 2.
				  * The load generator may raise it to grow like Linux under
				  * stretch ACKs (scripts/bench-bdp.sh) */
	int always_cookies;      /* tests: answer every SYN with a cookie */
};

/* Defaults: 4096 conns, 256 KiB buffers (receive window growing to 16 MiB), MSS 1460,
 * backlog 256, RTO min 200 ms. */
void tcp_cfg_defaults(struct tcp_cfg *c);

struct tcp_ops {
	int (*accepted)(void *listen_ctx, tcp_handle_t h, void **conn_ctx);
	void (*connected)(void *ctx, tcp_handle_t h);
	void (*readable)(void *ctx, tcp_handle_t h);
	void (*writable)(void *ctx, tcp_handle_t h);
	void (*closed)(void *ctx, tcp_handle_t h, int err);
};

struct tcp_listen_cfg {
	uint32_t max_conns;   /* established + embryonic cap for this listener, 0 = table size */
	uint32_t syn_backlog; /* 0 = tcp_cfg.syn_backlog */
};

/*
 * Source-port choice for tcp_connect: return a port in host order, or 0 to
 * let the stack pick (default: first free ephemeral port whose flow the
 * port's redirection table maps to this worker, dataplane/mq.h).
 */
typedef uint16_t tcp_sport_fn(void *arg, const struct dp_ip *laddr, const struct dp_ip *raddr,
			      uint16_t rport, unsigned attempt);

/* Creates / frees a worker's TCP state (at setup time, not on the fast path). */
int tcp_worker_create(struct dp_worker *w, const struct tcp_cfg *cfg, struct tcp_worker **out);
void tcp_worker_destroy(struct tcp_worker *tw);

/*
 * Listens on addr:port (host order; addr 0 = the worker's address). Returns
 * ST_OK, ST_ERR_NO_SPACE (too many listeners) or ST_ERR_INVALID_ARGUMENT.
 */
int tcp_listen(struct tcp_worker *tw, uint32_t addr, uint16_t port, const struct tcp_ops *ops,
	       void *ctx, const struct tcp_listen_cfg *lcfg);
/*
 * The same for either family: an IPv4-mapped 0.0.0.0 is the worker's IPv4
 * address, :: its IPv6 one (ST_ERR_INVALID_ARGUMENT when it has none). A
 * dual-stack listener is two calls.
 */
int tcp_listen_ip(struct tcp_worker *tw, const struct dp_ip *addr, uint16_t port,
		  const struct tcp_ops *ops, void *ctx, const struct tcp_listen_cfg *lcfg);

/*
 * Active open to raddr:rport. *out gets the handle at once; connected or
 * closed follows. Returns ST_OK, ST_ERR_NO_SPACE (table full / no free port)
 * or ST_ERR_INVALID_ARGUMENT.
 */
int tcp_connect(struct tcp_worker *tw, uint32_t raddr, uint16_t rport, const struct tcp_ops *ops,
		void *ctx, tcp_handle_t *out);
/*
 * Either family; the source is the worker's address of raddr's family
 * (link-local for link-local). ST_ERR_INVALID_ARGUMENT also when the worker
 * has no usable address of that family (none, or IPv6 still in DAD).
 */
int tcp_connect_ip(struct tcp_worker *tw, const struct dp_ip *raddr, uint16_t rport,
		   const struct tcp_ops *ops, void *ctx, tcp_handle_t *out);
void tcp_set_sport_hook(struct tcp_worker *tw, tcp_sport_fn *fn, void *arg);

/*
 * Takes all received in-order data: *chain gets an mbuf chain (pkt_len and
 * nb_segs set on the head; the caller owns and frees it) and the return value
 * is its byte count. Returns 0 with *chain = NULL when nothing is queued,
 * ST_ERR_EOF when nothing is queued and the peer has closed its side,
 * ST_ERR_STALE for a dead handle.
 */
int tcp_read(struct tcp_worker *tw, tcp_handle_t h, struct rte_mbuf **chain);

/*
 * Queues an mbuf chain (payload only; pkt_len must equal the sum of the
 * segments' data_len) for sending. ST_OK: the stack owns the chain.
 * ST_ERR_AGAIN: the send buffer is full, the caller keeps the chain and gets
 * writable() later. ST_ERR_STATE: the send side is closed. ST_ERR_STALE.
 */
int tcp_write(struct tcp_worker *tw, tcp_handle_t h, struct rte_mbuf *chain);

/*
 * Bytes that tcp_write would accept now (0 when full or not writable). A 0
 * because the buffer is full arms writable(), exactly as ST_ERR_AGAIN does.
 */
uint32_t tcp_send_space(struct tcp_worker *tw, tcp_handle_t h);

/* Bytes queued for sending and not yet acknowledged (0 for a stale handle). */
uint32_t tcp_send_queued(struct tcp_worker *tw, tcp_handle_t h);

/* Sends FIN after the queued data (half close); reading continues. */
int tcp_shutdown(struct tcp_worker *tw, tcp_handle_t h);
/*
 * Full close: shutdown + no more readable events; closed() still comes. Data
 * that arrives later is acknowledged and discarded. The connection no longer
 * counts against its listener's cap, and it is aborted (closed() with
 * ST_ERR_TIMEOUT) when the peer acknowledges nothing for close_timeout_ms
 * (a zero window or a silent peer cannot hold it forever).
 */
int tcp_close(struct tcp_worker *tw, tcp_handle_t h);
/*
 * tcp_close that also gives the handle back at once: no event and no
 * closed() follow. The stack sends what is queued and the FIN on its own,
 * under the same close deadline. Returns ST_OK or ST_ERR_STALE.
 */
int tcp_release(struct tcp_worker *tw, tcp_handle_t h);
/* Abort: RST now, closed(ST_ERR_CONN_RESET) is not delivered for an abort. */
int tcp_abort(struct tcp_worker *tw, tcp_handle_t h);

struct tcp_conn_info {
	uint32_t laddr, raddr; /* IPv4 (host order), 0 for an IPv6 connection */
	struct dp_ip lip, rip; /* either family */
	uint16_t lport, rport;
	uint8_t state;
	uint32_t snd_mss, cwnd, ssthresh, srtt_ms, rto_ms;
	uint32_t rcv_wnd;    /* receive window now (grows with the path, tcp_rcvbuf.c) */
	uint32_t snd_buf;    /* send buffer now (grows with the path, tcp_sndbuf.c) */
	uint32_t rcv_rtt_ms; /* receiver-side RTT estimate, 0: none yet */
	uint32_t snd_wnd;    /* the peer's window */
	uint64_t bytes_in, bytes_out, retrans;
};
int tcp_conn_info(struct tcp_worker *tw, tcp_handle_t h, struct tcp_conn_info *out);
/*
 * The connection's round-trip time for the layer above (window sizing): the
 * larger of the sender's smoothed RTT and the receiver-side estimate, in ms;
 * 0 before any sample or for a stale handle. Cheap: a handle lookup.
 */
uint32_t tcp_conn_rtt_ms(struct tcp_worker *tw, tcp_handle_t h);
const char *tcp_state_name(unsigned state);

struct tcp_worker_info {
	uint32_t conns_used;
	uint32_t conns_max_used;
	uint32_t embryonic;
	uint32_t time_wait;
	uint32_t orphans;  /* released connections still sending their last bytes / FIN */
	uint64_t ooo_bytes; /* buffer memory held out of order */
};
void tcp_worker_info(const struct tcp_worker *tw, struct tcp_worker_info *out);
/* Prints "prefix tcp_state.NAME=count" for every state in use (diagnostics; walks the table). */
void tcp_worker_print_states(const struct tcp_worker *tw, FILE *f, const char *prefix);

/* ---- called by the worker loop (dataplane/worker.c) ---- */

/* One received TCP segment; m's data starts at the TCP header (l4_len bytes valid). */
struct dp_ipv4_info;
void tcp_input(struct tcp_worker *tw, struct rte_mbuf *m, const struct dp_ipv4_info *ip,
	       const uint8_t *src_mac, int csum_ok);
/* The same for either family: l4len bytes of TCP segment from src to dst (checked headers). */
void tcp_input_ip(struct tcp_worker *tw, struct rte_mbuf *m, const struct dp_ip *src,
		  const struct dp_ip *dst, uint32_t l4len, const uint8_t *src_mac);
/* End of an RX burst: deliver events, then send what is pending. */
void tcp_dispatch_events(struct tcp_worker *tw);
void tcp_flush_output(struct tcp_worker *tw);
/* Timer tick (called with the worker's wheel). */
void tcp_timers(struct tcp_worker *tw);
/* Shutdown: aborts everything without callbacks and frees queued mbufs. */
void tcp_worker_drain(struct tcp_worker *tw);

#endif
