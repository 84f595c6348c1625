/*
 * The worker side of one SSH connection, sans I/O.
 *
 * Owns the record layer instance, reads the peer's identification line,
 * runs the channel fast path (dataplane/ssh/channel.h) and forwards every
 * other message to the control plane as ST_UP_PAYLOAD, in order. Executes the
 * control plane's down messages in order (dataplane/ssh/planes.h).
 *
 * I/O owner's contract (kernel sockets in the test harness, DPDK TCP later):
 *   st_wsess_init()            once; our identification line is queued at once
 *   st_wsess_open()            reports the accepted connection (ST_UP_OPEN)
 *   st_wsess_input()           TCP payload in; *used < len is backpressure
 *                              (keep the rest, offer it again later), or
 *   st_wsess_input_pieces()    the same without a copy: opened in place
 *   st_wsess_down()            each message the control plane produced
 *   st_wsess_tx_peek/consume   wire bytes out; drain whenever there are any
 *   st_wsess_pump()            after tx drained, or a backend event
 *   st_wsess_tick()            now and then (clock for RekeyLimit seconds)
 *   st_wsess_peer_gone()       TCP closed or failed
 *   st_wsess_done()            1: close the socket and st_wsess_free()
 *
 * Sending: every packet is sealed in place into the tx buffer, or with
 * st_wsess_config.tx_ops straight into the I/O owner's buffers (mbufs).
 * While our key exchange is in progress (our KEXINIT sealed, our NEWKEYS not
 * yet) only transport messages (1..49) go out; connection-layer SENDs wait in
 * a bounded FIFO and channels do not produce, until NEWKEYS is sealed. SENDs
 * also wait (in order) when the tx buffer is full.
 *
 * Closing: any fatal error (record error, protocol violation on a channel,
 * FIFO overflow, control's CLOSE) seals a DISCONNECT when possible, reports
 * ST_UP_CLOSED once, and stops reading. The I/O owner drains tx and closes.
 */
#ifndef ST_SSH_WSESS_H
#define ST_SSH_WSESS_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/ssh/channel.h"
#include "dataplane/ssh/planes.h"
#include "dataplane/ssh/record.h"

#define ST_WSESS_VERSION_MAX 255        /* identification line incl. CR LF */
#define ST_WSESS_TX_DEFAULT (512u * 1024u)
#define ST_WSESS_HOLD_MAX 128           /* SENDs waiting (kex or full tx) */
#define ST_WSESS_HOLD_BYTES (256u * 1024u)
#define ST_WSESS_MAX_PIECES 256         /* pieces one st_wsess_input_pieces call looks at */

/* Per-worker drop reasons (one list). */
#define ST_WSESS_DROPS(X)                                                       \
	X(ST_WDROP_VERSION_TOO_LONG, "identification line over 255 bytes")      \
	X(ST_WDROP_VERSION_NOT_SSH, "non-SSH line from client")                 \
	X(ST_WDROP_RECORD_ERROR, "record layer error")                          \
	X(ST_WDROP_CHANNEL_VIOLATION, "channel protocol violation")             \
	X(ST_WDROP_HOLD_OVERFLOW, "too many messages held during kex")          \
	X(ST_WDROP_UP_FAILED, "control plane did not take a message")           \
	X(ST_WDROP_BAD_DOWN, "invalid message from control plane")              \
	X(ST_WDROP_DOWN_AFTER_CLOSE, "control message after close (ignored)")   \
	X(ST_WDROP_CHANNEL_BIND_FAILED, "channel bind failed")                  \
	X(ST_WDROP_SERVICE_START_FAILED, "service start failed")                \
	X(ST_WDROP_INPUT_AFTER_CLOSE, "input after close discarded")            \
	X(ST_WDROP_PROXY_BAD, "malformed PROXY protocol header")

enum st_wsess_drop {
#define ST_WDROP_ENUM(name, text) name,
	ST_WSESS_DROPS(ST_WDROP_ENUM)
#undef ST_WDROP_ENUM
	ST_WDROP_COUNT
};

const char *st_wsess_drop_str(enum st_wsess_drop d);

/* Counters shared by all sessions of one worker (plain adds: one thread). */
struct st_wsess_worker_stats {
	uint64_t closes[ST_CLOSE_REASON_COUNT];
	uint64_t drops[ST_WDROP_COUNT];
	uint64_t sessions;
	uint64_t rekeys_due;
	uint64_t chan[ST_CHAN_CNT_COUNT]; /* channel counters, added when a session ends */
};

/* Per-session counters. */
struct st_wsess_stats {
	uint64_t bytes_in, bytes_out;       /* TCP payload bytes */
	uint64_t packets_in, packets_out;   /* SSH packets */
	uint64_t fast_path_in;              /* packets handled by the channel layer */
	uint64_t up_payloads;               /* packets forwarded to control */
	uint64_t channels_bound, channels_closed;
	uint64_t held;                      /* SENDs that had to wait */
	uint64_t kex_done;                  /* our NEWKEYS sealed */
	/* Windows, filled in when published (app_stats.c), not counted here. */
	uint64_t chan_window;               /* channel windows we grant now, summed */
	uint64_t chan_window_peer;          /* the peer's windows for our output, summed */
	uint64_t chan_window_grown;         /* times a channel window grew */
	uint32_t tcp_rcv_wnd;               /* the TCP receive window now */
	uint32_t tcp_snd_wnd;               /* the peer's TCP window */
	uint32_t tcp_snd_buf;               /* the TCP send buffer now */
	uint32_t rtt_ms;                    /* the TCP RTT the windows follow */
};

/*
 * Optional: seal straight into the I/O owner's buffers (mbufs in the
 * dataplane) instead of the internal tx buffer. reserve() gives room for at
 * least `n` contiguous bytes at *p and returns ST_OK, or
 * ST_WSESS_RES_SCRATCH when *p is scratch that produced() copies out (the
 * packet is then sealed before produced()), or ST_ERR_NO_SPACE (none now;
 * the session retries on the next pump). produced() says that `n` wire
 * bytes were written there (n <= the reserved size; a reservation not
 * followed by produced() is simply abandoned) and returns the mbuf that
 * holds them (NULL: not one mbuf, or no mbufs). With tx_ops,
 * st_wsess_tx_peek() always reports 0 bytes.
 *
 * Packets are framed at commit and sealed in bursts (ST_RECORD_BURST) at
 * the end of every st_wsess_* call, before a NEWKEYS switches keys, and
 * before a scratch packet: produced() may see bytes that are sealed in place
 * later in the same call, so the owner hands nothing to the wire before the
 * st_wsess_* call returns.
 *
 * Asynchronous sealing (both optional, together): when the send direction is
 * asynchronous (st_record_tx_async) and submit is set, a burst of framed
 * packets goes to submit() instead of being sealed: the owner copies the
 * st_pkt structs (pk[i].mbuf set from produced()), hands them to
 * st_record_tx_enqueue() now or later, in order, and sends their bytes only
 * once they are dequeued. submit returns ST_OK (all taken) or an error
 * (fatal for the session). settle() is called before this session seals
 * anything synchronously (a scratch packet) or switches send keys: every
 * packet submitted so far must then be on the device (enqueued) or sealed;
 * ST_OK or an error (fatal).
 */
#define ST_WSESS_RES_SCRATCH 1

struct st_pkt;
struct st_wsess_tx_ops {
	int (*reserve)(void *ctx, size_t n, uint8_t **p);
	void *(*produced)(void *ctx, size_t n);
	int (*submit)(void *ctx, struct st_pkt *pk, unsigned n);
	int (*settle)(void *ctx);
	void *ctx;
};

struct st_wsess_config {
	const struct st_crypto_backend *be;
	const char *version;       /* our identification line without CR LF; NULL:
	                              wait for ST_DOWN_VERSION_LINE */
	uint32_t max_packet;       /* record cap, 0: default */
	uint32_t tx_cap;           /* tx buffer bytes, 0: ST_WSESS_TX_DEFAULT */
	uint64_t rekey_bytes;      /* 0: no volume limit */
	uint32_t rekey_seconds;    /* 0: no time limit */
	const struct st_connector *connector; /* backends; NULL: none */
	const struct st_chan_pool *chan_pool; /* channels past the first; NULL: calloc */
	struct st_wsess_tx_ops tx_ops;        /* zeroed: internal tx buffer */
};

/* Where the session is with a PROXY protocol header (st_wsess.pstate). */
enum {
	ST_WSESS_PROXY_UNSEEN = 0, /* no byte yet */
	ST_WSESS_PROXY_READING,    /* the first byte could start one: collecting */
	ST_WSESS_PROXY_DONE,       /* handed up, or the peer sent none */
	ST_WSESS_PROXY_FAILED,     /* garbage handed up: input is discarded until control closes */
};

enum st_wsess_state {
	ST_WSESS_VERSION = 0,  /* reading the peer's identification line */
	ST_WSESS_RUNNING,
	ST_WSESS_CLOSING,      /* tx drains, then done */
};

struct st_wsess {
	enum st_wsess_state state;
	struct st_conn_handle handle;
	struct st_plane_sink up;
	/*
	 * Packets the session may still open before the control plane has taken
	 * some of what it was sent (the I/O owner's per-session credit, which it
	 * sets before each input call; every up message takes one off): 0 holds
	 * the input where it is, so TCP's window holds the peer. UINT32_MAX
	 * (st_wsess_init's value): no limit.
	 */
	uint32_t up_room;
	struct st_wsess_worker_stats *ws;
	struct st_wsess_stats st;
	struct st_record rec;
	struct st_chan_table chans;
	/* identification line */
	char vline[ST_WSESS_VERSION_MAX + 1];
	uint32_t vlen;
	/*
	 * A PROXY protocol header before it (control/proxyhdr.h): framed here,
	 * handed up whole as ST_UP_PROXY, judged by the control plane. The
	 * buffer exists only while a header is being read.
	 */
	uint8_t pstate;            /* ST_WSESS_PROXY_* */
	uint8_t *phdr;
	uint32_t plen;
	/* tx buffer: wire bytes in [tx_off, tx_len) */
	uint8_t *tx;
	uint32_t tx_cap, tx_off, tx_len;
	uint32_t tx_hwm; /* highest byte ever reserved: what the free wipes */
	uint32_t tx_pending;       /* bytes reserved by tx_begin, 0: none */
	uint8_t *tx_buf;           /* where the reserved packet starts */
	uint8_t tx_scratch;        /* the reservation is the owner's scratch */
	struct st_wsess_tx_ops tx_ops;
	/* held SENDs, in order */
	struct st_plane_msg *hold[ST_WSESS_HOLD_MAX];
	unsigned n_hold;
	uint32_t hold_bytes;
	uint8_t kex_tx;            /* our KEXINIT sealed, our NEWKEYS not yet */
	uint8_t chan_tx_failed;    /* a channel packet failed to seal (echo, inside input) */
	uint8_t keyed;             /* first NEWKEYS sealed */
	uint8_t rekey_sent;        /* REKEY_DUE sent in this epoch */
	uint8_t closed_sent;       /* ST_UP_CLOSED delivered */
	uint8_t peer_gone;
	uint8_t version_sent;      /* our identification line is queued */
	enum st_close_reason reason;
	int close_err;
	uint64_t now_ms, epoch_ms;
	uint64_t rekey_bytes;
	uint32_t rekey_seconds;
	char user[ST_USER_MAX];
};

/*
 * Sets up a session on caller memory and queues our identification line
 * (cfg->version; when NULL the control plane's ST_DOWN_VERSION_LINE does).
 * `up` receives the worker->control messages, `ws` the worker counters (may
 * be shared by many sessions). Returns ST_OK, ST_ERR_ALLOC,
 * ST_ERR_INVALID_ARGUMENT (no version line, or one over 253 bytes).
 * On failure nothing needs freeing.
 */
int st_wsess_init(struct st_wsess *s, const struct st_wsess_config *cfg,
		  struct st_conn_handle h, const struct st_plane_sink *up,
		  struct st_wsess_worker_stats *ws, uint64_t now_ms);

/* Wipes keys and buffers, closes services; reports ST_UP_CLOSED if not yet. */
void st_wsess_free(struct st_wsess *s);

/* Sends ST_UP_OPEN with the connection's addresses. Returns ST_OK or closes. */
int st_wsess_open(struct st_wsess *s, const char *peer_ip, uint16_t peer_port,
		  const char *local_ip, uint16_t local_port);

/*
 * Takes TCP payload. *used is how much was taken (less than len when the
 * session holds input: a full reassembly buffer, or closing). Returns ST_OK;
 * a fatal error closes the session (see st_wsess_done) and returns it.
 */
int st_wsess_input(struct st_wsess *s, const uint8_t *data, size_t len, size_t *used);

/*
 * Zero-copy input (the dataplane): pc[0..npc) are the received bytes the
 * owner holds (TCP receive mbufs), in order, starting at the first byte not
 * consumed yet. Packets are opened in place there (record.h,
 * st_record_read_pieces) and their channel data handed to services without
 * a copy. *consumed bytes from the start may be released; the rest (a
 * partial packet, or input the session holds) must be offered again,
 * unchanged, followed by what arrives later. At most ST_WSESS_MAX_PIECES
 * pieces are looked at. Returns ST_OK; a fatal error closes the session
 * and returns it (everything counts as consumed then).
 */
int st_wsess_input_pieces(struct st_wsess *s, const struct st_rx_piece *pc, unsigned npc,
			  size_t *consumed);

/*
 * Asynchronous receive (the dataplane on an enqueue/dequeue cryptodev; see
 * record.h, st_record_rx_enqueue). st_wsess_rx_async(): 1 when the next
 * input may go that way. st_wsess_rx_enqueue(): frames whole packets at the
 * start of pc[] (pieces with their mbufs) and hands their opens to the
 * device; pk[0..max) and segs[0..nsegs) (runs of packets across pieces; NULL:
 * those stop the burst) are the owner's memory until they are completed; *n taken
 * (0: use st_wsess_input_pieces; *busy 1: the device was full, try again
 * later). The owner then offers no input until st_wsess_rx_complete(pk, n),
 * called once the backend handed all n back, in order: their messages are
 * handled as st_wsess_input_pieces would, and *consumed bytes from the start
 * of the pieces may be released. Both return ST_OK or the error that closed
 * the session (everything counts as consumed then).
 */
int st_wsess_rx_async(const struct st_wsess *s);
int st_wsess_rx_enqueue(struct st_wsess *s, const struct st_rx_piece *pc, unsigned npc,
			struct st_pkt *pk, unsigned max, struct st_seg *segs, unsigned nsegs,
			unsigned *n, int *busy);
int st_wsess_rx_complete(struct st_wsess *s, struct st_pkt *pk, unsigned n, size_t *consumed);

/*
 * Executes one down message (takes ownership of m). Returns ST_OK or the
 * error that closed the session.
 */
int st_wsess_down(struct st_wsess *s, struct st_plane_msg *m);

/* Runs the channel layer and held sends again (after tx drained, on backend events). */
int st_wsess_pump(struct st_wsess *s);

/* Advances the clock; sends REKEY_DUE when the time limit is reached. */
void st_wsess_tick(struct st_wsess *s, uint64_t now_ms);

/* Wire bytes waiting to go out. */
void st_wsess_tx_peek(const struct st_wsess *s, const uint8_t **p, size_t *n);

/* n bytes of st_wsess_tx_peek() were written; pumps if room opened. */
void st_wsess_tx_consume(struct st_wsess *s, size_t n);

/* The TCP connection is gone (EOF or error): closes with ST_CLOSE_PEER. */
void st_wsess_peer_gone(struct st_wsess *s);

/* Ends the session from the worker side (admin kill, shutdown, timeout). */
void st_wsess_close(struct st_wsess *s, enum st_close_reason reason, int err);

/* 1 when the session is closing and its tx is drained (or the peer is gone). */
int st_wsess_done(const struct st_wsess *s);

/* 1 when output may be produced once tx drains (the I/O owner should call pump). */
int st_wsess_wants_pump(const struct st_wsess *s);

#endif
