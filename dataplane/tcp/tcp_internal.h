/* TCP internals shared by tcp.c, tcp_in.c and tcp_out.c. Not an API. */
#ifndef ST_DATAPLANE_TCP_INTERNAL_H
#define ST_DATAPLANE_TCP_INTERNAL_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/timer.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tcp/tcp_cc.h"
#include "dataplane/tcp/tcp_cookie.h"
#include "dataplane/tcp/tcp_ooo.h"
#include "dataplane/tcp/tcp_opt.h"
#include "dataplane/tcp/tcp_sack.h"
#include "dataplane/tcp/tcp_seq.h"

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

/* TCP header flags */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

/* conn flags */
#define TF_TS 0x0001
#define TF_SACK 0x0002
#define TF_ACK_NOW 0x0004
#define TF_FIN_QUEUED 0x0008 /* send side shut down by the app */
#define TF_FIN_SENT 0x0010
#define TF_FIN_PENDING 0x0020 /* peer FIN seen beyond a hole, at fin_seq */
#define TF_PASSIVE 0x0040
#define TF_IN_OUTQ 0x0080
#define TF_IN_EVQ 0x0100
#define TF_WANT_WRITABLE 0x0200
#define TF_APP_CLOSED 0x0400
#define TF_APP_KNOWN 0x0800 /* the app holds the handle: closed() is owed */
#define TF_AFTER_RTO 0x1000
#define TF_EMBRYONIC 0x2000 /* counted in the listener's backlog */
#define TF_EOF 0x4000       /* peer FIN consumed */
#define TF_RMAC 0x8000      /* rmac is valid */
#define TF_FIN_ACKED 0x10000 /* our FIN was acknowledged */
#define TF_TLP_SENT 0x20000  /* a tail loss probe is out since the last ACK progress */
#define TF_PTO 0x40000       /* t_rexmit was armed as a probe timeout */
#define TF_ORPHAN 0x80000    /* released by the app: the stack finishes the close alone */
#define TF_IN_CLOSED 0x100000 /* closed() is running: only tcp_read works on the handle */
#define TF_ARP_MAC 0x200000  /* rmac came from the ARP cache: asked again for every segment */
#define TF_V6 0x400000       /* an IPv6 connection (laddr / raddr are not IPv4-mapped) */

#define EV_ACCEPTED 0x01
#define EV_CONNECTED 0x02
#define EV_READABLE 0x04
#define EV_WRITABLE 0x08
#define EV_CLOSED 0x10

#define TCP_NIL UINT32_MAX
#define TCP_RCVBUF_LIMIT (65535u << 14) /* the largest window scale 14 can express */
#define TCP_MAX_LISTENERS 16
#define TCP_RQ_MAX_SEGS 2048   /* in-order mbufs queued per connection */
#define TCP_ABSORB_MAX 512     /* received pieces up to this size are copied into the queue's last buffer */
#define TCP_OUT_BUDGET 64
#define TCP_TS_OFFSET 32 /* TSval = now_ms + offset, so cookie TSvals never run ahead */
#define TCP_KEEPALIVE_PROBES 9
#define TCP_FIN_WAIT_2_MS 60000

struct tcp_listener {
	struct dp_ip addr;
	uint16_t port;
	uint8_t used;
	const struct tcp_ops *ops;
	void *ctx;
	uint32_t max_conns;
	uint32_t syn_backlog;
	uint32_t n_conns;
	uint32_t n_embryonic;
};

struct tcp_conn {
	/* identity and lookup (either family, dataplane/ipaddr.h) */
	struct dp_ip laddr, raddr;
	uint16_t lport, rport;
	uint32_t hnext;
	uint32_t gen;
	uint8_t state;
	uint8_t snd_ws, rcv_ws;
	uint8_t ev;
	uint8_t dupacks;
	uint8_t retries;
	uint16_t mss;
	uint32_t flags;

	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t rxt_next;
	uint32_t snd_fin; /* sequence number of our FIN once sent */
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent, fin_seq;
	uint32_t ts_recent;
	uint16_t acks_pending;
	uint16_t rq_segs;
	uint32_t rq_cost; /* buffer memory the in-order queue pins (tcp_chain_cost) */

	/* queues: mbuf chains linked through m->next */
	struct rte_mbuf *sq_head, *sq_tail, *sq_cur;
	uint32_t sq_bytes, sq_cur_seq;
	struct rte_mbuf *rq_head, *rq_tail;
	uint32_t rq_bytes;

	struct tcp_cc cc;
	struct tcp_rtt rtt;

	/* deadlines in ms, 0 = off; one wheel timer armed at the earliest */
	uint64_t t_rexmit, t_delack, t_persist, t_keep, t_tw;
	uint64_t t_close; /* app closed: abort unless the peer acknowledges something by then */
	uint64_t last_rcv_ms;
	uint8_t probes;
	uint8_t rprobes; /* recovery probes since the last cumulative ACK progress */
	struct dp_timer tm;

	struct tcp_listener *lst;
	const struct tcp_ops *ops;
	void *ctx;
	uint32_t ev_next, out_next;
	int close_err;
	struct rte_ether_addr rmac;

	uint64_t bytes_in, bytes_out, retrans;

	/* Receive window autotuning (tcp_rcvbuf.c). */
	uint32_t rcv_wnd;      /* the window now: cfg.rcvbuf .. cfg.rcvbuf_max */
	uint32_t snd_buf;      /* send buffer now: cfg.sndbuf .. cfg.sndbuf_max (tcp_sndbuf.c) */
	uint32_t rrtt8;        /* receiver-side RTT estimate, ms << 3; 0 = none yet */
	uint32_t rrtt_tsecr;   /* TSecr of the last sample: one sample per echoed TSval */
	uint32_t rrtt_seq;     /* without timestamps: the end of the window being timed */
	uint64_t rrtt_ms;      /* ... and when that window was opened (0: not timing) */
	uint64_t rs_ms;        /* start of the current delivered-rate interval (0: none) */
	uint64_t rs_bytes;     /* bytes the application read since rs_ms */

	struct tcp_sb sb;
	struct tcp_ooo ooo;
};

struct tcp_list {
	uint32_t head, tail;
};

struct tcp_worker {
	struct dp_worker *w;
	struct tcp_conn *conns;
	uint32_t nconns;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t used, max_used, n_tw, n_embryonic;
	uint32_t n_orphans;    /* released by the app, not yet CLOSED or TIME_WAIT */
	uint64_t ooo_cost;     /* buffer memory held out of order by all connections */
	uint64_t ooo_cost_max; /* cap of ooo_cost */
	struct tcp_list evq, outq;
	uint8_t rcv_ws;
	uint16_t eph_next;
	uint64_t chal_sec;
	uint64_t cookie_ms; /* last time a SYN cookie was sent, 0 = never */
	uint32_t chal_count;
	tcp_sport_fn *sport_fn;
	void *sport_arg;
	struct tcp_cookie_key ckey, isn_key;
	struct tcp_cfg cfg;
	struct tcp_listener lst[TCP_MAX_LISTENERS];
};

/*
 * Receive window autotuning (tcp_rcvbuf.c). tcp_rcv_rtt_measure runs for
 * every in-order data segment (after it was queued), tcp_rcv_space_adjust for
 * every tcp_read of n bytes; tcp_rcvwin_want is their arithmetic: the window
 * a connection that delivered `bytes` to the application in `elapsed_ms`
 * (>= rtt_ms > 0) wants, never below cur, never above max.
 */
struct tcp_seg;
void tcp_rcv_rtt_measure(struct tcp_worker *tw, struct tcp_conn *c, const struct tcp_seg *s);
void tcp_rcv_space_adjust(struct tcp_worker *tw, struct tcp_conn *c, uint32_t n);
uint32_t tcp_rcvwin_want(uint32_t cur, uint32_t max, uint64_t bytes, uint64_t elapsed_ms,
			 uint32_t rtt_ms, uint32_t mss);
/* The receive-side RTT in ms (the estimate, else the sender's srtt); 0: none yet. */
uint32_t tcp_rcv_rtt_ms(const struct tcp_conn *c);
/* The largest receive window this connection may grow to (its scale and the cap). */
uint32_t tcp_rcvwin_cap(const struct tcp_worker *tw, const struct tcp_conn *c);

/*
 * Send buffer autotuning (tcp_sndbuf.c): after an ACK of new data, a writer
 * that found the buffer full gets a buffer of twice what the path takes now
 * (min(cwnd, the peer's window)), up to cfg.sndbuf_max. tcp_sndbuf_want is
 * the arithmetic.
 */
void tcp_sndbuf_expand(struct tcp_worker *tw, struct tcp_conn *c);
uint32_t tcp_sndbuf_want(uint32_t cur, uint32_t max, uint32_t cwnd, uint32_t snd_wnd);

/* A parsed incoming segment. */
struct tcp_seg {
	uint32_t seq, ack;
	uint32_t len; /* payload bytes */
	uint16_t wnd;
	uint8_t flags;
	struct rte_mbuf *m; /* payload (NULL when len == 0) */
	struct dp_ip saddr, daddr;
	uint16_t sport, dport;
	const uint8_t *smac;
	struct tcp_opts o;
};

/* Congestion control of a new connection, as the worker's configuration says. */
static inline void tcp_conn_cc_init(const struct tcp_worker *tw, struct tcp_conn *c)
{
	tcp_cc_init(&c->cc, c->mss, (enum tcp_cc_algo)tw->cfg.cc_algo);
	if (tw->cfg.ss_ack_segs)
		c->cc.ss_l = tw->cfg.ss_ack_segs;
}

static inline uint32_t tcp_ts_now(const struct tcp_worker *tw)
{
	return (uint32_t)tw->w->now_ms + TCP_TS_OFFSET;
}

#define TCP_RECOVERY_PROBES 3

#define TCP_PROBE_MIN_MS 2 /* floor of the probe timers below (1 ms clock) */
#define TCP_WC_DELACK_MS 200 /* worst-case delayed ACK of a peer (RFC 8985 WCDelAckT) */

/* Timer for a suspected lost retransmission in recovery: 4 * srtt + 2 ms, doubling, <= RTO. */
static inline uint32_t tcp_recovery_timeout(const struct tcp_conn *c)
{
	uint32_t t = (c->rtt.srtt8 >> 1) + TCP_PROBE_MIN_MS, rto = tcp_rto_current(&c->rtt);

	t <<= c->rprobes;
	return t < rto ? t : rto;
}

/* A tail loss probe (after RFC 8985) may go out now. */
static inline int tcp_tlp_allowed(const struct tcp_conn *c)
{
	return !c->cc.in_recovery && !(c->flags & (TF_TLP_SENT | TF_FIN_SENT)) && c->rtt.srtt8 &&
	       !c->rtt.backoff;
}

/*
 * Arms the retransmission timer for the flight: the recovery timeout in
 * recovery, a probe timeout (2 * srtt + 2 ms) when a tail loss probe is
 * allowed, else the RTO.
 */
static inline void tcp_arm_rexmit(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint32_t rto = tcp_rto_current(&c->rtt), t = rto;

	c->flags &= ~TF_PTO;
	if (c->cc.in_recovery) {
		t = tcp_recovery_timeout(c);
	} else if (tcp_tlp_allowed(c)) {
		uint32_t pto = (c->rtt.srtt8 >> 2) + TCP_PROBE_MIN_MS;

		/*
		 * One segment out: its ACK may be a delayed one, so wait for the
		 * worst-case delayed ACK too (RFC 8985 §7.2), or every request
		 * that the peer answers after a moment is sent twice.
		 */
		if (c->snd_max - c->snd_una <= c->mss) {
			uint32_t one = (c->rtt.srtt8 * 3 >> 4) + TCP_WC_DELACK_MS;
			if (pto < one)
				pto = one;
		}

		if (pto < rto) {
			t = pto;
			c->flags |= TF_PTO;
		}
	}
	c->t_rexmit = tw->w->now_ms + t;
}

static inline struct tcp_conn *tcp_conn_of_timer(struct dp_timer *t)
{
	return (struct tcp_conn *)((char *)t - offsetof(struct tcp_conn, tm));
}

static inline tcp_handle_t tcp_handle_of(const struct tcp_worker *tw, const struct tcp_conn *c)
{
	return (uint64_t)tw->w->id << 56 | (uint64_t)(c - tw->conns) << 32 | c->gen;
}

/* tcp.c */
struct tcp_conn *tcp_conn_alloc(struct tcp_worker *tw);
void tcp_conn_hash_insert(struct tcp_worker *tw, struct tcp_conn *c);
struct tcp_conn *tcp_conn_lookup(struct tcp_worker *tw, const struct dp_ip *laddr, uint16_t lport,
				 const struct dp_ip *raddr, uint16_t rport);
void tcp_conn_term(struct tcp_worker *tw, struct tcp_conn *c, int err);
void tcp_enter_time_wait(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_sched_out(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_sched_ev(struct tcp_worker *tw, struct tcp_conn *c, uint8_t ev);
void tcp_timer_update(struct tcp_worker *tw, struct tcp_conn *c);
uint32_t tcp_isn(struct tcp_worker *tw, const struct dp_ip *laddr, uint16_t lport,
		 const struct dp_ip *raddr, uint16_t rport);
/* Our MSS for a family: the configured one (MTU - 40) for IPv4, 20 less for IPv6's header. */
static inline uint16_t tcp_our_mss(const struct tcp_worker *tw, int v6)
{
	return (uint16_t)(tw->cfg.mss - (v6 ? 20 : 0));
}
struct tcp_listener *tcp_listener_find(struct tcp_worker *tw, const struct dp_ip *addr,
				       uint16_t port);
void tcp_sq_free_acked(struct tcp_conn *c, uint32_t n);
void tcp_free_queues(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_rq_free(struct tcp_conn *c);
void tcp_ooo_clear_acct(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_embryonic_release(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_listener_release(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_close_deadline(struct tcp_worker *tw, struct tcp_conn *c);
/* Buffer memory a chain pins: whole mbufs, as a receive-memory bound must count them. */
uint32_t tcp_chain_cost(const struct rte_mbuf *m);
/* Copies chain b (len bytes, len <= TCP_ABSORB_MAX) onto tail when it fits; 1 if it did. */
int tcp_mbuf_absorb(struct rte_mbuf *tail, struct rte_mbuf *b, uint32_t len);
extern const struct tcp_ooo_ops tcp_mbuf_ooo_ops;
struct rte_mbuf *tcp_chain_trim_front(struct rte_mbuf *m, uint32_t n);
struct rte_mbuf *tcp_chain_trim_back(struct rte_mbuf *m, uint32_t n);

/* tcp_out.c */
/*
 * TSO planning (exposed for the unit tests): of n payload pieces of plen[]
 * bytes, how many leading bytes one TSO packet may carry when the port cuts
 * it into segments of segsz bytes and each segment may hold at most
 * seg_pieces pieces. An odd-length piece ends the packet (csum.h). Returns
 * the byte count, 0 when not even the first segment fits the piece limit.
 */
uint32_t tcp_tso_fit(const uint16_t *plen, unsigned n, uint32_t segsz, unsigned seg_pieces);
int tcp_xmit(struct tcp_worker *tw, struct tcp_conn *c, uint32_t seq, uint32_t len,
	     uint8_t flags);
void tcp_output(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_send_syn(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_send_ack(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_send_challenge_ack(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_send_rst_reply(struct tcp_worker *tw, const struct tcp_seg *s);
void tcp_send_rst(struct tcp_worker *tw, struct tcp_conn *c);
void tcp_send_cookie_synack(struct tcp_worker *tw, const struct tcp_seg *s);
uint32_t tcp_rcv_space(const struct tcp_worker *tw, const struct tcp_conn *c);

/* tcp_in.c */
void tcp_on_timer(struct dp_timer *t, void *arg);

#endif
