/*
 * Bounded out-of-order reassembly queue. Entries are [start, end) sequence
 * ranges, sorted and non-overlapping, each owning an opaque data object (an
 * mbuf chain in the stack, a test object in unit tests) that the queue trims
 * and frees through an ops table. Overlaps keep the bytes already queued.
 */
#ifndef ST_DATAPLANE_TCP_OOO_H
#define ST_DATAPLANE_TCP_OOO_H

#include <stdint.h>

#define TCP_OOO_MAX 64 /* distinct ranges (holes + 1); adjacent data is merged */

struct tcp_ooo_ops {
	/* Drops n bytes from the front / back of obj; returns the (possibly new) object. */
	void *(*trim_front)(void *obj, uint32_t n);
	void *(*trim_back)(void *obj, uint32_t n);
	void (*free)(void *obj);
	/* Last piece of obj, and linking b after the piece a_tail (O(1) joins). */
	void *(*tail)(void *obj);
	void (*link)(void *a_tail, void *b);
	/* Optional. Memory obj pins (for mbufs: whole buffers, not payload bytes). */
	uint32_t (*cost)(const void *obj);
	/* Optional. Copies b (len bytes) onto the end of the piece a_tail and frees b
	 * when it fits there; returns 1 then, else 0 (nothing changed). */
	int (*absorb)(void *a_tail, void *b, uint32_t len);
};

struct tcp_ooo_ent {
	uint32_t start, end;
	uint32_t cost;
	void *obj;
	void *tail;
};

struct tcp_ooo {
	uint16_t n;
	uint32_t last_start;
	uint32_t bytes;
	uint32_t cost; /* sum of the entries' cost: exact, follows every insert, free and pop */
	struct tcp_ooo_ent e[TCP_OOO_MAX];
};

enum {
	TCP_OOO_QUEUED = 0, /* (part of) the segment was queued */
	TCP_OOO_DUP = 1,    /* everything was already queued; obj freed */
	TCP_OOO_FULL = 2,   /* no room; obj freed */
};

static inline void tcp_ooo_init(struct tcp_ooo *q)
{
	q->n = 0;
	q->bytes = 0;
	q->cost = 0;
	q->last_start = 0;
}

/*
 * Inserts obj covering [start, start+len), len > 0. Takes ownership of obj.
 * A segment that extends an entry's end is absorbed into that entry's last
 * piece when the ops allow it (small segments then cost no extra buffer).
 */
int tcp_ooo_insert(struct tcp_ooo *q, const struct tcp_ooo_ops *ops, uint32_t start,
		   uint32_t len, void *obj);

/*
 * Removes the first entry if it starts at or before rcv_nxt: stores its object
 * (front-trimmed to begin at rcv_nxt) in *obj and its length in *len, returns 1.
 * Entries entirely below rcv_nxt are freed. Returns 0 when none is ready.
 */
int tcp_ooo_pop(struct tcp_ooo *q, const struct tcp_ooo_ops *ops, uint32_t rcv_nxt, void **obj,
		uint32_t *len);

/* Frees everything. */
void tcp_ooo_clear(struct tcp_ooo *q, const struct tcp_ooo_ops *ops);

/*
 * Fills up to max SACK blocks from the queue (merged adjacent ranges), the
 * block holding the most recent insert first. Returns the count.
 */
unsigned tcp_ooo_sack_blocks(const struct tcp_ooo *q, uint32_t blocks[][2], unsigned max);

#endif
