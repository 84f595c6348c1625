/*
 * The channel fast path (RFC 4254 §5) of one session, sans I/O.
 *
 * The control plane opens and confirms channels; once it binds one
 * (ST_DOWN_BIND_CHANNEL) this table handles CHANNEL_DATA, EXTENDED_DATA,
 * WINDOW_ADJUST, EOF and CLOSE for it, and connects it to a service.
 *
 * Flow control, both directions (RFC 4254 §5.2):
 *  - receive: the peer may send at most `local_window` bytes (data and
 *    extended data) beyond what we granted, each packet's data at most
 *    `local_max_packet`. Violations are protocol errors (ST_ERR_STATE /
 *    ST_ERR_PACKET_TOO_LARGE from st_chan_input): the session closes.
 *    Bytes count as consumed when the service takes them; WINDOW_ADJUST
 *    returns consumed bytes once half of the window is pending, so a
 *    slow service (backpressure) stops the peer. Bytes the service has not
 *    taken wait in a per-channel ring of the window's size, which exists
 *    only while input is held (allocated on the first byte held, released
 *    by st_chan_table_shrink after a tick empty).
 *  - window growth (HPN-SSH's idea): the window starts as bound and, while
 *    the service takes everything as it comes, follows the bandwidth-delay
 *    product: once per RTT (the session's TCP RTT, st_chan_table_path) the
 *    bytes consumed per RTT are measured, and a window below twice that
 *    grows to it, the growth sent with the next WINDOW_ADJUST. A channel's
 *    window never exceeds the bind's window_max, and all channels of the
 *    table together never exceed it either (the per-session budget: the
 *    window bounds what a stalled service makes us hold). A channel whose
 *    input has idled for ST_CHAN_IDLE_SHRINK_TICKS shrink ticks returns to
 *    its initial window by giving back less credit as data comes; what we
 *    granted stays granted (RFC 4254: a window only shrinks by the peer's
 *    sending).
 *  - send: never more than the peer's window, never more data per packet
 *    than the peer's max packet (and ST_CHAN_MAX_DATA).
 *
 * EOF/CLOSE: the peer's EOF reaches the service after all data; the peer's
 * CLOSE is answered with CLOSE (RFC 4254 §5.3). When the service is done we
 * send exit-status (if the channel wants it: session channels), EOF, CLOSE.
 * A channel whose CLOSE went both ways is released and reported through
 * ops->closed (the session sends ST_UP_CHANNEL_CLOSED). A WINDOW_ADJUST or
 * EOF that arrives for it afterwards (clients such as paramiko race their
 * window updates and EOF against our CLOSE) is counted and ignored, as
 * OpenSSH does, until the id is bound again; anything else for it goes to
 * the control plane like any message for an unknown channel.
 *
 * Output goes through struct st_chan_tx: begin() hands out the payload area
 * of the next packet (in the session's tx buffer now, an mbuf later), commit()
 * seals it. Nothing is queued inside the channel layer: pending control
 * messages (WINDOW_ADJUST, exit-status, EOF, CLOSE) are flags emitted by
 * st_chan_pump(), which the session calls only when it may send
 * connection-layer messages (not during its key exchange).
 */
#ifndef ST_SSH_CHANNEL_H
#define ST_SSH_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/ssh/service.h"

#define ST_CHAN_MAX 16
/* Largest data bytes we put in one CHANNEL_DATA (fits a 64 KiB record). */
#define ST_CHAN_MAX_DATA 32768u
/* Largest initial window we accept to buffer for one channel. */
#define ST_CHAN_MAX_WINDOW (16u * 1024u * 1024u)
/* Largest window_max (ChannelWindowMax): what growth may reach. */
#define ST_CHAN_GROW_MAX (256u * 1024u * 1024u)
/* Growth is in steps of at least this (fewer, larger adjusts and ring sizes). */
#define ST_CHAN_GROW_STEP (64u * 1024u)
/* Shrink ticks (st_chan_table_shrink, 100 ms in the daemon) without input before a grown
 * window returns to its initial size. */
#define ST_CHAN_IDLE_SHRINK_TICKS 50

/* How channel packets leave; implemented by the session (or a test). */
struct st_chan_tx {
	/*
	 * Space for one payload of up to `max` bytes: *p on success. Returns
	 * ST_OK, or ST_ERR_NO_SPACE when there is no room now (try again later).
	 */
	int (*begin)(void *ctx, size_t max, uint8_t **p);
	/* Seals the payload of `len` bytes written at the pointer from begin(). */
	int (*commit)(void *ctx, size_t len);
	/* A channel is fully closed; its local id may be reused. */
	void (*closed)(void *ctx, uint32_t local_id);
	/*
	 * A channel bound with confirm_on_connect could not reach its backend:
	 * it is gone without a word to the peer (the control plane answers
	 * OPEN_FAILURE). Optional.
	 */
	void (*connect_failed)(void *ctx, uint32_t local_id, int err);
	void *ctx;
};

/* Drop/close reasons counted by the channel layer (one list). */
#define ST_CHAN_COUNTERS(X)                                                     \
	X(ST_CHAN_CNT_EXT_DATA_DISCARDED, "extended data from peer discarded")  \
	X(ST_CHAN_CNT_DATA_AFTER_EOF, "data after peer EOF (protocol error)")   \
	X(ST_CHAN_CNT_DATA_AFTER_CLOSE, "data after our CLOSE discarded")       \
	X(ST_CHAN_CNT_WINDOW_EXCEEDED, "peer exceeded our window")              \
	X(ST_CHAN_CNT_MAX_PACKET_EXCEEDED, "peer exceeded our max packet")      \
	X(ST_CHAN_CNT_WINDOW_OVERFLOW, "peer window adjust overflow")           \
	X(ST_CHAN_CNT_MALFORMED, "malformed channel message")                   \
	X(ST_CHAN_CNT_SERVICE_ERROR, "service error closed channel")            \
	X(ST_CHAN_CNT_LATE_AFTER_CLOSE, "late WINDOW_ADJUST/EOF after close ignored") \
	X(ST_CHAN_CNT_OPENED, "channels bound")                                 \
	X(ST_CHAN_CNT_CLOSED, "channels closed")                                \
	X(ST_CHAN_CNT_WINDOW_GROWN, "windows grown with the measured BDP")      \
	X(ST_CHAN_CNT_WINDOW_AT_MAX, "window growth stopped by ChannelWindowMax") \
	X(ST_CHAN_CNT_WINDOW_SHRUNK, "grown windows back to their initial size after idling")

enum st_chan_counter {
#define ST_CHAN_CNT_ENUM(name, text) name,
	ST_CHAN_COUNTERS(ST_CHAN_CNT_ENUM)
#undef ST_CHAN_CNT_ENUM
	ST_CHAN_CNT_COUNT
};

const char *st_chan_counter_str(enum st_chan_counter c);

struct st_chan_bind {
	uint32_t local_id, remote_id;
	uint32_t local_window, local_max_packet;
	uint32_t remote_window, remote_max_packet;
	/* What windows may grow to, this one's and the table's together
	 * (<= ST_CHAN_GROW_MAX; <= local_window: fixed). The latest bind's applies. */
	uint32_t window_max;
	uint8_t confirm_on_connect; /* we send OPEN_CONFIRMATION once the backend is up */
};

struct st_chan {
	uint8_t in_use;
	uint8_t attached;        /* service started */
	uint8_t want_exit_status;
	uint8_t peer_eof, peer_close;
	uint8_t sent_exit, sent_eof, sent_close;
	uint8_t eof_delivered;   /* service saw the peer's EOF */
	uint8_t pending_confirm; /* OPEN_CONFIRMATION not sent yet (backend connecting) */
	uint32_t local_id, remote_id;
	/* receive */
	/* Invariant: local_window + ring_len + credit == local_window_max. */
	uint32_t local_window;      /* bytes the peer may still send */
	uint32_t local_window_max;  /* the window now: as bound, grown, or shrinking */
	uint32_t local_max_packet;
	uint32_t credit;            /* consumed, not yet granted back */
	uint32_t win_init;          /* the window as bound */
	uint32_t win_floor;         /* shrinking to this (withholding credit), 0: not */
	uint64_t bdp_ms;            /* start of the consumption interval, 0: none */
	uint64_t bdp_bytes;         /* bytes the service took since */
	uint8_t took;               /* the service took bytes since the last shrink tick */
	uint8_t idle_ticks;         /* shrink ticks in a row without */
	uint8_t *ring;              /* ring_cap bytes while input is held, else NULL */
	uint32_t ring_cap;          /* local_window_max when the ring was made */
	uint8_t ring_idle;          /* the ring was empty at the last shrink */
	uint32_t ring_head, ring_len;
	uint32_t ring_hwm;          /* ring bytes ever written (from 0): what the free wipes */
	/* send */
	uint32_t remote_window;
	uint32_t remote_max_packet;
	/* stats */
	uint64_t bytes_in, bytes_out;
	struct st_service svc;
	char name[ST_SERVICE_NAME_MAX];
};

/*
 * Where a table's channels come from beyond the one it holds inline (most
 * sessions have one channel: the other slots cost a pointer each, not a
 * channel). In the daemon a per-worker pool; get() returns NULL when it is
 * empty (the bind fails with ST_ERR_NO_SPACE). A NULL table pointer, or a
 * NULL get, means calloc/free (tests, the harness).
 */
struct st_chan_pool {
	void *(*get)(void *ctx);
	void (*put)(void *ctx, void *chan);
	void *ctx;
};

struct st_chan_table {
	struct st_chan *ch[ST_CHAN_MAX]; /* NULL: a free slot */
	struct st_chan first;            /* storage used while it is free */
	const struct st_chan_pool *pool;
	unsigned n_open;
	unsigned rr;                /* round-robin start for pump */
	int blocked;                /* last pump ran out of tx room */
	/* Local ids of channels closed both ways, newest last, until rebound. */
	uint32_t tomb[ST_CHAN_MAX];
	unsigned n_tomb;
	struct st_chan_tx tx;
	struct st_service_env env;
	/* The path, for window growth (st_chan_table_path). */
	uint64_t now_ms;
	uint32_t rtt_ms;
	uint32_t win_budget;        /* the latest bind's window_max */
	uint64_t win_sum;           /* local_window_max of every open channel */
	uint64_t cnt[ST_CHAN_CNT_COUNT];
};

/*
 * The clock and the connection's RTT (0: unknown, no growth), set by the
 * session before it offers input or pumps. Cheap; call it every time.
 */
static inline void st_chan_table_path(struct st_chan_table *t, uint64_t now_ms, uint32_t rtt_ms)
{
	t->now_ms = now_ms;
	t->rtt_ms = rtt_ms;
}

/*
 * The window growth's arithmetic: the window a channel at `cur` wants after
 * its service took `bytes` in `elapsed_ms` (>= rtt_ms > 0): twice the bytes
 * per RTT in ST_CHAN_GROW_STEP units, never below cur, never above cap.
 */
uint32_t st_chan_window_want(uint32_t cur, uint32_t cap, uint64_t bytes, uint64_t elapsed_ms,
			     uint32_t rtt_ms);

/* Windows of the open channels summed: what we granted and the window-sized rings they may fill. */
struct st_chan_windows {
	uint64_t local;   /* sum of local_window_max: the windows we grant now */
	uint64_t remote;  /* sum of the peers' windows for our output */
	uint32_t largest; /* the largest local window */
};
void st_chan_table_windows(const struct st_chan_table *t, struct st_chan_windows *out);

/* Sets up an empty table (pool: see struct st_chan_pool, may be NULL). Never fails. */
void st_chan_table_init(struct st_chan_table *t, const struct st_chan_tx *tx,
			const struct st_service_env *env, const struct st_chan_pool *pool);

/* Closes every service and frees every ring (session end). */
void st_chan_table_free(struct st_chan_table *t);

/* The bound channel with this local id, or NULL. */
struct st_chan *st_chan_find(struct st_chan_table *t, uint32_t local_id);

/*
 * Moves a confirmed channel onto the fast path. Returns ST_OK,
 * ST_ERR_STATE (id already bound), ST_ERR_NO_SPACE (table full),
 * ST_ERR_INVALID_ARGUMENT (window 0 or over ST_CHAN_MAX_WINDOW, window_max over
 * ST_CHAN_GROW_MAX, max packet 0),
 * ST_ERR_ALLOC.
 */
int st_chan_bind(struct st_chan_table *t, const struct st_chan_bind *b);

/*
 * Starts a service on a bound channel. Returns ST_OK, ST_ERR_NOT_FOUND (not
 * bound), ST_ERR_STATE (already attached), or the service's start error
 * (then the channel is closed towards the peer, exit status 1 if wanted).
 */
int st_chan_attach(struct st_chan_table *t, uint32_t local_id,
		   const struct st_service_params *p, const char *name, int want_exit_status);

/*
 * Offers one received payload. *handled is 0 when the message is not a
 * fast-path message of a bound channel (the session forwards it to the
 * control plane); then nothing else happened. Returns ST_OK, or a protocol
 * violation that ends the session: ST_ERR_FORMAT (malformed),
 * ST_ERR_STATE (window exceeded, data after EOF, overflowing adjust),
 * ST_ERR_PACKET_TOO_LARGE (max packet exceeded).
 */
int st_chan_input(struct st_chan_table *t, const uint8_t *payload, size_t len, int *handled);

/*
 * st_chan_input for a payload of len bytes scattered over segs[0..nseg)
 * (opened in place in receive mbufs): channel data goes to the service
 * piece by piece without a copy. Same results as st_chan_input.
 */
struct st_seg;
int st_chan_input_segs(struct st_chan_table *t, const struct st_seg *segs, unsigned nseg,
		       size_t len, int *handled);

/* Releases hold rings (and service buffers) that stayed empty since the last call. */
void st_chan_table_shrink(struct st_chan_table *t);

/*
 * Moves data between channels and services and emits what is due: held
 * input to services, WINDOW_ADJUST, service output within the peer's window,
 * exit-status/EOF/CLOSE, and releases fully closed channels. Stops when tx
 * has no room (ST_OK: call again when it has). Returns ST_OK or a fatal tx
 * error.
 */
int st_chan_pump(struct st_chan_table *t);

/* 1 when the last pump stopped because tx had no room: pump again once it has. */
int st_chan_blocked(const struct st_chan_table *t);

#endif
