#include "dataplane/ssh/record.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/cycles.h"
#include "dataplane/ssh/msg.h"

/*
 * Cycles this thread spent inside the crypto backend (st_record_thread_cycles):
 * the workers report them as the record-crypto share of their busy time. The
 * time-stamp counter is read twice per burst, not per packet.
 */
static _Thread_local uint64_t crypto_cycles;

uint64_t st_record_thread_cycles(void)
{
	return crypto_cycles;
}

/* One seal_burst or open_burst call, its cycles counted. */
static unsigned timed_burst(uint16_t (*burst)(struct st_crypto_dir *, struct st_pkt *, uint16_t),
			    struct st_record_dir *d, struct st_pkt *pk, unsigned n)
{
	uint64_t t0 = st_cycles_now();
	unsigned got = burst(&d->crypto, pk, (uint16_t)n);
	crypto_cycles += st_cycles_now() - t0;
	return got;
}

/* Before the first NEWKEYS: no cipher, RFC 4253's minimum block of 8, no MAC. */
#define PLAIN_BLOCK 8
#define MIN_PADDING 4
/* Scratch in front of the receive buffer, a cache line keeps it aligned. */
#define ST_RX_HEADROOM 64

static uint32_t max_total(const struct st_record *r)
{
	return 4 + r->max_packet + ST_MAC_MAX_LEN;
}

int st_record_init(struct st_record *r, const struct st_crypto_backend *be, uint32_t max_packet)
{
	memset(r, 0, sizeof(*r));
	if (max_packet == 0)
		max_packet = ST_RECORD_DEFAULT_MAX_PACKET;
	if (max_packet < ST_RECORD_MIN_MAX_PACKET)
		max_packet = ST_RECORD_MIN_MAX_PACKET;
	r->be = be;
	r->max_packet = max_packet;
	/* The reassembly buffer comes with the first rx_space/feed (rx_alloc):
	 * owners that open packets in place never need one. */
	r->pad_used = sizeof(r->pad_pool);
	return ST_OK;
}

static void dir_free(struct st_record_dir *d)
{
	st_crypto_dir_fini(&d->crypto);
	st_wipe(&d->next, sizeof(d->next));
}

void st_record_free(struct st_record *r)
{
	dir_free(&r->tx);
	dir_free(&r->rx);
	if (r->rxmem != NULL) {
		st_wipe(r->rxmem, ST_RX_HEADROOM + r->rx_hwm); /* the rest was never written */
		free(r->rxmem);
	}
	st_wipe(r, sizeof(*r));
}

void st_record_set_strict(struct st_record *r)
{
	r->strict_kex = 1;
}

/* Switches a direction to its next keys (at NEWKEYS). */
static int dir_install(struct st_record *r, struct st_record_dir *d, int seal)
{
	int ret;

	if (!d->have_next)
		return ST_ERR_STATE;
	ret = st_crypto_dir_init(&d->crypto, r->be, &d->next, seal);
	st_wipe(&d->next, sizeof(d->next));
	d->have_next = 0;
	if (ret != ST_OK)
		return ret;
	d->keyed = 1;
	if (!seal)
		r->cur_known = 0; /* a length read ahead was read with the old keys */
	d->epoch_packets = 0;
	d->epoch_bytes = 0;
	if (r->strict_kex)
		d->seq = 0;
	return ST_OK;
}

static int keys_valid(const struct st_dir_keys *k)
{
	return k->cipher != NULL && (st_cipher_is_aead(k->cipher) || k->mac != NULL);
}

int st_record_set_next_keys(struct st_record *r, const struct st_dir_keys *tx,
			    const struct st_dir_keys *rx)
{
	if ((tx != NULL && !keys_valid(tx)) || (rx != NULL && !keys_valid(rx)))
		return ST_ERR_INVALID_ARGUMENT;
	if (tx != NULL) {
		r->tx.next = *tx;
		r->tx.have_next = 1;
	}
	if (rx != NULL) {
		r->rx.next = *rx;
		r->rx.have_next = 1;
		if (r->rx_wait_keys) {
			int ret = dir_install(r, &r->rx, 0);
			r->rx_wait_keys = 0;
			r->kex_active = 0;
			if (ret != ST_OK) {
				r->dead = ret;
				return ret;
			}
		}
	}
	return ST_OK;
}

/* ---- receive ---- */

/*
 * Per-thread scratch of st_record_read_pieces: what one call's packets need
 * while they are opened and while their messages are in use (until the next
 * call on the thread). Not in struct st_record, which exists per session.
 */
struct rx_tls {
	/* Each packet's runs in the pieces; once opened, its payload's runs. */
	struct st_seg segs[ST_RECORD_BURST][ST_PKT_MAX_SEGS];
	uint8_t hdr[ST_CIPHER_MAX_BLOCK]; /* a length header that straddles pieces */
	uint8_t *bounce;      /* fallback buffer, ST_RX_HEADROOM in front; malloc'd */
	uint32_t bounce_cap;  /* bytes after the headroom */
	uint32_t bounce_used; /* bytes after the headroom to wipe */
};
static _Thread_local struct rx_tls rx_tls;

static void bounce_wipe(void)
{
	if (rx_tls.bounce_used > 0) {
		st_wipe(rx_tls.bounce + ST_RX_HEADROOM, rx_tls.bounce_used);
		rx_tls.bounce_used = 0;
	}
}

void st_record_thread_fini(void)
{
	bounce_wipe();
	free(rx_tls.bounce);
	rx_tls.bounce = NULL;
	rx_tls.bounce_cap = 0;
}

/* The reassembly buffer, at first need. A failure kills the record. */
static int rx_alloc(struct st_record *r)
{
	/* Room for one packet of the largest size plus a partial next one, so that
	 * a whole packet always fits after a compaction. */
	uint32_t cap = 2 * max_total(r);

	/* ST_RX_HEADROOM bytes in front: the backend's scratch (backend.h). */
	if ((r->rxmem = malloc(ST_RX_HEADROOM + cap)) == NULL) {
		if (r->dead == ST_OK)
			r->dead = ST_ERR_ALLOC;
		return ST_ERR_ALLOC;
	}
	r->rxbuf = r->rxmem + ST_RX_HEADROOM;
	r->rxcap = cap;
	return ST_OK;
}

void st_record_rx_space(struct st_record *r, uint8_t **p, size_t *n)
{
	/* A dead record gets no buffer (nor another try after a failed one). */
	if (r->rxbuf == NULL && (r->dead != ST_OK || rx_alloc(r) != ST_OK)) {
		*p = NULL;
		*n = 0;
		return;
	}
	if (r->rx_start == r->rx_end) {
		r->rx_start = r->rx_end = 0;
	} else if (r->rx_start > 0 && r->rxcap - r->rx_end < max_total(r)) {
		/* Not enough tail for a whole packet: move the partial one to the front. */
		memmove(r->rxbuf, r->rxbuf + r->rx_start, r->rx_end - r->rx_start);
		r->rx_end -= r->rx_start;
		r->rx_start = 0;
	}
	*p = r->rxbuf + r->rx_end;
	*n = r->rxcap - r->rx_end;
}

void st_record_rx_commit(struct st_record *r, size_t n)
{
	/* rxcap is 0 until the buffer exists: nothing is taken then. */
	if (n > r->rxcap - r->rx_end)
		n = r->rxcap - r->rx_end;
	r->rx_end += (uint32_t)n;
	if (r->rx_end > r->rx_hwm)
		r->rx_hwm = r->rx_end;
}

void st_record_feed(struct st_record *r, const uint8_t *data, size_t len, size_t *used)
{
	uint8_t *p;
	size_t n;

	st_record_rx_space(r, &p, &n);
	if (n > len)
		n = len;
	if (n > 0)
		memcpy(p, data, n);
	st_record_rx_commit(r, n);
	*used = n;
}

/* ---- receive: a position in the received bytes ---- */

/* Where the next unparsed byte is: in *pc at off (< pc->len), or at the end. */
struct rx_cur {
	const struct st_rx_piece *pc, *end;
	uint32_t off;
};

static void cur_init(struct rx_cur *c, const struct st_rx_piece *pc, unsigned npc)
{
	c->pc = pc;
	c->end = pc + npc;
	c->off = 0;
	while (c->pc < c->end && c->pc->len == 0)
		c->pc++;
}

/* Moves past len bytes (that are there) and any empty pieces after them. */
static void cur_skip(struct rx_cur *c, uint32_t len)
{
	while (c->pc < c->end) {
		uint32_t n = c->pc->len - c->off;
		if (n > len) {
			c->off += len;
			return;
		}
		len -= n;
		c->pc++;
		c->off = 0;
	}
}

/*
 * Describes the next len bytes (that are there) as runs, one per non-empty
 * piece, in out[0..max). Returns the number of runs, or max + 1 when more
 * than max are needed.
 */
static unsigned cur_runs(const struct rx_cur *c, uint32_t len, struct st_seg *out, unsigned max)
{
	const struct st_rx_piece *pc = c->pc;
	uint32_t off = c->off;
	unsigned k = 0;

	for (; len > 0 && pc < c->end; pc++, off = 0) {
		uint32_t n = pc->len - off;
		if (n == 0)
			continue;
		if (k == max)
			return max + 1;
		if (n > len)
			n = len;
		out[k].p = pc->p + off;
		out[k].len = n;
		k++;
		len -= n;
	}
	return k;
}

/* Copies the next len bytes (that are there) to dst. */
static void cur_copy(const struct rx_cur *c, uint32_t len, uint8_t *dst)
{
	const struct st_rx_piece *pc = c->pc;
	uint32_t off = c->off;

	for (; len > 0 && pc < c->end; pc++, off = 0) {
		uint32_t n = pc->len - off;
		if (n > len)
			n = len;
		memcpy(dst, pc->p + off, n);
		dst += n;
		len -= n;
	}
}

/* ---- receive: per-packet rules, shared by both interfaces ---- */

/* Checks a packet_length against the cap and the block multiple. */
static int check_length(const struct st_record *r, uint32_t plen)
{
	const struct st_record_dir *d = &r->rx;
	uint32_t block = d->keyed ? d->crypto.block_size : PLAIN_BLOCK;
	uint32_t span = (d->keyed && d->crypto.len_in_aad) ? plen : plen + 4;

	if (plen > r->max_packet)
		return ST_ERR_PACKET_TOO_LARGE;
	/* padding_length byte, at least one payload byte, at least 4 padding bytes */
	if (plen < 1 + 1 + MIN_PADDING || span % block != 0)
		return ST_ERR_BAD_LENGTH;
	return ST_OK;
}

/*
 * Reads packet_length from the first first_len bytes at hdr (for MtE CTR
 * decrypting them in place), checks it before anything else happens, and
 * remembers it for the packet at the read position (cur_plen).
 */
static int rx_length(struct st_record *r, uint32_t seq, uint8_t *hdr)
{
	struct st_record_dir *d = &r->rx;
	uint32_t plen;
	int ret;

	if (d->keyed) {
		if ((ret = r->be->open_length(&d->crypto, seq, hdr, &plen)) != ST_OK)
			return ret;
	} else {
		plen = st_peek_u32(hdr);
	}
	if ((ret = check_length(r, plen)) != ST_OK)
		return ret;
	r->cur_plen = plen;
	r->cur_known = 1;
	return ST_OK;
}

/*
 * rx_length for the header at c. One that straddles pieces is gathered into
 * scratch; where open_length decrypted it (serial_open), the plaintext goes
 * back into the pieces, which then hold what a contiguous open would leave.
 */
static int rx_length_at(struct st_record *r, const struct rx_cur *c, uint32_t first, uint32_t seq)
{
	struct st_seg hs[ST_CIPHER_MAX_BLOCK];
	unsigned ns;
	int ret;

	if (first > sizeof(rx_tls.hdr))
		return ST_ERR_INTERNAL;
	/* Every run has a byte at least: first runs at most. */
	ns = cur_runs(c, first, hs, ST_CIPHER_MAX_BLOCK);
	if (ns == 1)
		return rx_length(r, seq, hs[0].p);
	st_segs_read(hs, (uint16_t)ns, 0, rx_tls.hdr, first);
	ret = rx_length(r, seq, rx_tls.hdr);
	if (ret == ST_OK && r->rx.keyed && r->rx.crypto.serial_open)
		st_segs_write(hs, (uint16_t)ns, 0, rx_tls.hdr, first);
	st_wipe(rx_tls.hdr, first);
	return ret;
}

/* Packets per call: a key change may follow any packet during kex, and MtE
 * length decryption advances the keystream: both force one at a time. */
static unsigned rx_limit(const struct st_record *r, unsigned max)
{
	unsigned limit = max < ST_RECORD_BURST ? max : ST_RECORD_BURST;

	if (r->kex_active || (r->rx.keyed && r->rx.crypto.serial_open))
		limit = limit > 0 ? 1 : 0;
	return limit;
}

/*
 * Checks padding and finds the payload of an opened packet. For a scattered
 * one, out is its segs array: the runs are rewritten there, in place, into
 * the payload's runs (each is read before it is overwritten).
 */
static int packet_payload(const struct st_pkt *p, struct st_seg *out, struct st_record_msg *m)
{
	uint32_t plen = p->len - 4;
	uint8_t padlen;

	if (p->segs == NULL)
		padlen = p->buf[4];
	else
		st_segs_read(p->segs, p->nseg, 4, &padlen, 1);
	if (padlen < MIN_PADDING || (uint32_t)padlen + 1 >= plen)
		return ST_ERR_PADDING;
	m->len = plen - 1 - padlen;
	m->seq = p->seq;
	m->segs = NULL;
	m->nseg = 0;
	if (p->segs == NULL) {
		m->payload = p->buf + ST_RECORD_PAYLOAD_OFFSET;
		return ST_OK;
	}
	struct st_seg_iter it;
	uint8_t *q;
	uint32_t n;
	uint16_t k = 0;
	st_seg_iter_init(&it, p->segs, p->nseg, ST_RECORD_PAYLOAD_OFFSET, m->len);
	while ((n = st_seg_iter_next(&it, &q)) != 0) {
		out[k].p = q;
		out[k].len = n;
		k++;
	}
	if (k == 1) {
		m->payload = out[0].p;
	} else {
		m->payload = NULL;
		m->segs = out;
		m->nseg = k;
	}
	return ST_OK;
}

/* Counts an opened packet and acts on kex messages; last: none after it. */
static int rx_account(struct st_record *r, const struct st_pkt *p, uint8_t type, int last)
{
	struct st_record_dir *d = &r->rx;
	int ret;

	d->seq++;
	d->packets++;
	d->epoch_packets++;
	d->bytes += p->len + (d->keyed ? d->crypto.tag_len : 0);
	d->epoch_bytes += p->len;
	if (type == SSH_MSG_KEXINIT) {
		r->kex_active = 1;
	} else if (type == SSH_MSG_NEWKEYS) {
		/* Anything after it in this burst was opened with the old keys. */
		if (!last)
			return ST_ERR_STATE;
		if (!d->have_next) {
			r->rx_wait_keys = 1;
		} else {
			if ((ret = dir_install(r, d, 0)) != ST_OK)
				return ret;
			r->kex_active = 0;
		}
	}
	return ST_OK;
}

static int fail(struct st_record *r, int err)
{
	r->dead = err;
	return err;
}

/* The first len bytes at c, copied into this thread's bounce buffer. */
static int bounce_in(const struct st_record *r, const struct rx_cur *c, uint32_t len,
		     uint8_t **buf)
{
	uint32_t cap = max_total(r);

	if (rx_tls.bounce_cap < cap) {
		uint8_t *b = malloc(ST_RX_HEADROOM + cap);
		if (b == NULL)
			return ST_ERR_ALLOC;
		st_record_thread_fini(); /* a smaller one, from a record with a lower cap */
		rx_tls.bounce = b;
		rx_tls.bounce_cap = cap;
	}
	cur_copy(c, len, rx_tls.bounce + ST_RX_HEADROOM);
	rx_tls.bounce_used = len;
	*buf = rx_tls.bounce + ST_RX_HEADROOM;
	return ST_OK;
}

/*
 * Both interfaces: parses and opens up to `max` packets at the start of
 * pc[0..npc). st_record_read passes one piece (the reassembly buffer's unread
 * bytes) and scattered = 0: no thread-local storage is touched then.
 */
static int rx_read(struct st_record *r, const struct st_rx_piece *pc, unsigned npc, int scattered,
		   struct st_record_msg *msgs, unsigned max, unsigned *nout, size_t *consumed)
{
	struct st_pkt pk[ST_RECORD_BURST];
	struct st_record_dir *d = &r->rx;
	struct st_seg one;
	struct rx_cur c;
	uint64_t avail = 0;
	size_t pos = 0;
	unsigned n = 0, limit, i;
	int ret, bounced = 0;

	if (r->dead != ST_OK)
		return r->dead;
	if (r->rx_wait_keys || r->rx_inflight)
		return ST_OK; /* keys, or asynchronous opens, first */
	limit = rx_limit(r, max);
	for (i = 0; i < npc; i++)
		avail += pc[i].len;
	cur_init(&c, pc, npc);

	while (n < limit && !bounced) {
		uint32_t first = d->keyed ? d->crypto.first_len : 4;
		uint32_t tag = d->keyed ? d->crypto.tag_len : 0;
		uint32_t seq = d->seq + n;
		struct st_seg *sg = scattered ? rx_tls.segs[n] : &one;
		unsigned ns;

		if (!r->cur_known) {
			if (avail < first)
				break;
			if ((ret = rx_length_at(r, &c, first, seq)) != ST_OK)
				return fail(r, ret);
		}
		uint32_t need = 4 + r->cur_plen + tag;
		if (avail < need)
			break;
		pk[n].buf = NULL;
		pk[n].len = 4 + r->cur_plen;
		pk[n].seq = seq;
		pk[n].status = ST_OK;
		pk[n].segs = NULL;
		pk[n].nseg = 0;
		pk[n].mbuf = NULL;
		ns = cur_runs(&c, need, sg, scattered ? ST_PKT_MAX_SEGS : 1);
		if (ns == 1) {
			pk[n].buf = sg[0].p; /* inside one piece: the contiguous path */
		} else if (ns <= ST_PKT_MAX_SEGS) {
			pk[n].segs = sg;
			pk[n].nseg = (uint16_t)ns;
		} else if (n > 0) {
			break; /* too many pieces: it comes first next time, alone */
		} else if (!scattered) {
			return fail(r, ST_ERR_INTERNAL); /* one piece cannot need more */
		} else {
			if ((ret = bounce_in(r, &c, need, &pk[n].buf)) != ST_OK)
				return fail(r, ret);
			r->rx_bounced++;
			bounced = 1;
		}
		cur_skip(&c, need);
		avail -= need;
		pos += need;
		r->cur_known = 0;
		n++;
	}
	if (n == 0)
		return ST_OK;

	if (d->keyed && timed_burst(r->be->open_burst, d, pk, n) != n)
		return fail(r, ST_ERR_CRYPTO);

	for (i = 0; i < n; i++) {
		struct st_record_msg *m = &msgs[i];
		if (pk[i].status != ST_OK)
			return fail(r, pk[i].status);
		if ((ret = packet_payload(&pk[i], pk[i].segs != NULL ? rx_tls.segs[i] : NULL, m)) !=
		    ST_OK)
			return fail(r, ret);
		uint8_t type = m->payload != NULL ? m->payload[0] : m->segs[0].p[0];
		if ((ret = rx_account(r, &pk[i], type, i + 1 == n)) != ST_OK)
			return fail(r, ret);
	}
	*nout = n;
	*consumed = pos;
	return ST_OK;
}

int st_record_read(struct st_record *r, struct st_record_msg *msgs, unsigned max, unsigned *nout)
{
	struct st_rx_piece pc;
	size_t took = 0;
	int ret;

	*nout = 0;
	/* No buffer yet: nothing was fed. */
	pc.p = r->rxbuf != NULL ? r->rxbuf + r->rx_start : NULL;
	pc.len = r->rx_end - r->rx_start;
	if ((ret = rx_read(r, &pc, r->rxbuf != NULL, 0, msgs, max, nout, &took)) != ST_OK)
		return ret;
	r->rx_start += (uint32_t)took;
	return ST_OK;
}

int st_record_read_pieces(struct st_record *r, const struct st_rx_piece *pc, unsigned npc,
			  struct st_record_msg *msgs, unsigned max, unsigned *n, size_t *consumed)
{
	int ret;

	*n = 0;
	*consumed = 0;
	/* The messages of the previous call on this thread are done with. */
	bounce_wipe();
	if (r->dead != ST_OK)
		return r->dead;
	if (r->rx_end != r->rx_start)
		return ST_ERR_STATE; /* bytes in the reassembly buffer come first */
	if ((ret = rx_read(r, pc, npc, 1, msgs, max, n, consumed)) != ST_OK)
		bounce_wipe();
	return ret;
}

/* ---- asynchronous receive ---- */

int st_record_rx_async(const struct st_record *r)
{
	return r->dead == ST_OK && r->rx.keyed && r->rx.crypto.async && !r->rx.crypto.serial_open &&
	       !r->kex_active && !r->rx_wait_keys && r->rx_inflight == 0 &&
	       r->rx_end == r->rx_start && r->be->enqueue_burst != NULL &&
	       r->be->dequeue_burst != NULL;
}

int st_record_rx_enqueue(struct st_record *r, const struct st_rx_piece *pc, unsigned npc,
			 struct st_pkt *pk, unsigned max, struct st_seg *segs, unsigned nsegs,
			 unsigned *nout, int *busy)
{
	struct st_record_dir *d = &r->rx;
	uint32_t first = d->crypto.first_len, tag = d->crypto.tag_len;
	unsigned n = 0, used = 0;
	uint64_t avail = 0, t0;
	struct rx_cur c;
	struct st_seg one;
	int ret, got;

	*nout = 0;
	*busy = 0;
	if (r->dead != ST_OK)
		return r->dead;
	if (!st_record_rx_async(r))
		return ST_ERR_STATE;
	if (max > ST_RECORD_BURST)
		max = ST_RECORD_BURST;
	bounce_wipe(); /* as st_record_read_pieces: the last call's messages are done with */
	for (unsigned i = 0; i < npc; i++)
		avail += pc[i].len;
	cur_init(&c, pc, npc);
	while (n < max && avail >= first) {
		if ((ret = rx_length_at(r, &c, first, d->seq + n)) != ST_OK)
			return fail(r, ret);
		uint32_t need = 4 + r->cur_plen + tag;
		if (avail < need)
			break; /* partial: the rest comes later */
		/* a scattered packet takes its runs from segs, a whole burst's worth at most */
		unsigned room = segs != NULL && nsegs - used >= 2 ? nsegs - used : 1;
		if (room > ST_PKT_MAX_SEGS)
			room = ST_PKT_MAX_SEGS;
		struct st_seg *sg = room > 1 ? segs + used : &one;
		unsigned ns = cur_runs(&c, need, sg, room);
		if (ns > room)
			break; /* more pieces than there is room for: the synchronous path */
		pk[n].len = 4 + r->cur_plen;
		pk[n].seq = d->seq + n;
		pk[n].status = ST_OK;
		pk[n].mbuf = NULL;
		if (ns == 1) {
			const struct st_rx_piece *x = c.pc;
			while (x < c.end && x->len == (x == c.pc ? c.off : 0))
				x++; /* the piece it starts in: the first non-empty one from here */
			pk[n].buf = sg[0].p;
			pk[n].segs = NULL;
			pk[n].nseg = 0;
			pk[n].mbuf = x < c.end ? x->mbuf : NULL;
		} else {
			pk[n].buf = NULL;
			pk[n].segs = sg;
			pk[n].nseg = (uint16_t)ns;
			used += ns;
		}
		cur_skip(&c, need);
		avail -= need;
		r->cur_known = 0;
		n++;
	}
	r->cur_known = 0; /* the next offer starts after what the device takes */
	if (n == 0)
		return ST_OK;
	t0 = st_cycles_now();
	got = r->be->enqueue_burst(&d->crypto, pk, (uint16_t)n);
	crypto_cycles += st_cycles_now() - t0;
	if (got < 0)
		return fail(r, ST_ERR_CRYPTO);
	*busy = got == 0;
	r->rx_inflight = (uint16_t)got;
	*nout = (unsigned)got;
	return ST_OK;
}

int st_record_rx_complete(struct st_record *r, struct st_pkt *pk, unsigned n,
			  struct st_record_msg *msgs, size_t *consumed)
{
	uint32_t tag = r->rx.crypto.tag_len;
	int ret = ST_OK;

	*consumed = 0;
	for (unsigned i = 0; i < n; i++)
		*consumed += pk[i].len + tag;
	r->rx_inflight = 0;
	if (r->dead != ST_OK)
		return r->dead;
	for (unsigned i = 0; i < n && ret == ST_OK; i++) {
		struct st_record_msg *m = &msgs[i];
		if (pk[i].status != ST_OK)
			return fail(r, pk[i].status);
		/* a scattered one's runs are rewritten, in place, into its payload's */
		if ((ret = packet_payload(&pk[i], (struct st_seg *)pk[i].segs, m)) != ST_OK)
			return fail(r, ret);
		uint8_t type = m->payload != NULL ? m->payload[0] : m->segs[0].p[0];
		if ((ret = rx_account(r, &pk[i], type, i + 1 == n)) != ST_OK)
			return fail(r, ret);
	}
	return ST_OK;
}

/* ---- send ---- */

static uint32_t tx_block(const struct st_record *r)
{
	return r->tx.keyed ? r->tx.crypto.block_size : PLAIN_BLOCK;
}

/* padding_length for a payload: total a block multiple, at least 4 bytes. */
static uint32_t pad_len(const struct st_record *r, uint32_t payload_len)
{
	uint32_t block = tx_block(r);
	uint32_t aad = r->tx.keyed && r->tx.crypto.len_in_aad;
	uint32_t base = 1 + payload_len + (aad ? 0 : 4);
	uint32_t pad = block - base % block;
	if (pad < MIN_PADDING)
		pad += block;
	return pad;
}

size_t st_record_seal_size(const struct st_record *r, size_t payload_len)
{
	uint32_t tag = r->tx.keyed ? r->tx.crypto.tag_len : 0;
	/* The padding may depend on keys that a NEWKEYS in the same burst installs:
	 * size for the largest block and tag in any suite. */
	if (tag < ST_MAC_MAX_LEN && r->tx.have_next)
		tag = ST_MAC_MAX_LEN;
	return ST_RECORD_PAYLOAD_OFFSET + payload_len + ST_CIPHER_MAX_BLOCK + MIN_PADDING + tag;
}

static int fill_padding(struct st_record *r, uint8_t *p, uint32_t n)
{
	while (n > 0) {
		if (r->pad_used == sizeof(r->pad_pool)) {
			if (RAND_bytes(r->pad_pool, sizeof(r->pad_pool)) != 1)
				return ST_ERR_CRYPTO;
			r->pad_used = 0;
		}
		uint32_t take = sizeof(r->pad_pool) - r->pad_used;
		if (take > n)
			take = n;
		memcpy(p, r->pad_pool + r->pad_used, take);
		r->pad_used += (uint16_t)take;
		p += take;
		n -= take;
	}
	return ST_OK;
}

static int seal_check(const struct st_record *r, const struct st_record_out *o)
{
	if (o->payload_len == 0 || o->payload_len > r->max_packet ||
	    o->cap < st_record_seal_size(r, o->payload_len))
		return ST_ERR_NO_SPACE;
	return ST_OK;
}

int st_record_frame(struct st_record *r, struct st_record_out *o, struct st_pkt *pk)
{
	struct st_record_dir *d = &r->tx;
	uint32_t tag = d->keyed ? d->crypto.tag_len : 0;
	uint8_t type;
	int ret;

	if (r->dead != ST_OK)
		return r->dead;
	if (r->tx_switch)
		return ST_ERR_INTERNAL; /* st_record_tx_switch() first */
	if ((ret = seal_check(r, o)) != ST_OK)
		return ret;
	type = o->buf[ST_RECORD_PAYLOAD_OFFSET];
	if (type == SSH_MSG_NEWKEYS && !d->have_next)
		return ST_ERR_STATE;
	uint32_t pad = pad_len(r, o->payload_len);
	uint32_t plen = 1 + o->payload_len + pad;
	o->buf[4] = (uint8_t)pad;
	st_poke_u32(o->buf, plen);
	if ((ret = fill_padding(r, o->buf + ST_RECORD_PAYLOAD_OFFSET + o->payload_len, pad)) != ST_OK)
		return fail(r, ret);
	pk->buf = o->buf;
	pk->len = 4 + plen;
	pk->seq = d->seq;
	pk->status = ST_OK;
	pk->segs = NULL;
	pk->nseg = 0;
	pk->mbuf = NULL;
	o->wire_len = 4 + plen + tag;
	d->seq++;
	d->packets++;
	d->epoch_packets++;
	d->bytes += o->wire_len;
	d->epoch_bytes += pk->len;
	if (type == SSH_MSG_KEXINIT)
		r->kex_active = 1;
	if (type == SSH_MSG_NEWKEYS)
		r->tx_switch = 1;
	return ST_OK;
}

int st_record_seal_framed(struct st_record *r, struct st_pkt *pk, unsigned n)
{
	struct st_record_dir *d = &r->tx;

	/* Framed packets are sealed even after a receive-side error (their bytes
	 * are already the owner's); only a broken send direction stops. */
	if (r->dead == ST_ERR_CRYPTO)
		return r->dead;
	if (!d->keyed)
		return ST_OK; /* before the first NEWKEYS: framing is all there is */
	while (n > 0) {
		unsigned chunk = n < ST_RECORD_BURST ? n : ST_RECORD_BURST;
		if (timed_burst(r->be->seal_burst, d, pk, chunk) != chunk)
			return fail(r, ST_ERR_CRYPTO);
		pk += chunk;
		n -= chunk;
	}
	return ST_OK;
}

int st_record_tx_switch(struct st_record *r)
{
	int ret;

	if (!r->tx_switch)
		return ST_OK;
	if (r->dead == ST_ERR_CRYPTO)
		return r->dead;
	r->tx_switch = 0;
	if ((ret = dir_install(r, &r->tx, 1)) != ST_OK)
		return fail(r, ret);
	return ST_OK;
}

int st_record_tx_async(const struct st_record *r)
{
	return r->tx.keyed && r->tx.crypto.async && r->be->enqueue_burst != NULL &&
	       r->be->dequeue_burst != NULL;
}

int st_record_tx_enqueue(struct st_record *r, struct st_pkt *pk, unsigned n)
{
	struct st_record_dir *d = &r->tx;
	uint64_t t0;
	int got;

	if (r->dead == ST_ERR_CRYPTO) /* as st_record_seal_framed */
		return r->dead;
	if (!st_record_tx_async(r))
		return ST_ERR_STATE;
	if (n > UINT16_MAX)
		n = UINT16_MAX;
	t0 = st_cycles_now();
	got = r->be->enqueue_burst(&d->crypto, pk, (uint16_t)n);
	crypto_cycles += st_cycles_now() - t0;
	if (got < 0)
		return fail(r, ST_ERR_CRYPTO);
	return got;
}

int st_record_seal(struct st_record *r, struct st_record_out *o, unsigned n)
{
	struct st_pkt pk[ST_RECORD_BURST];
	unsigned i, have_newkeys = 0;
	int ret;

	if (r->dead != ST_OK)
		return r->dead;
	/* Validate everything first so that an error seals nothing. */
	for (i = 0; i < n; i++) {
		if (seal_check(r, &o[i]) != ST_OK)
			return ST_ERR_NO_SPACE;
		if (o[i].buf[ST_RECORD_PAYLOAD_OFFSET] == SSH_MSG_NEWKEYS)
			have_newkeys++;
	}
	if (have_newkeys > 1 || (have_newkeys && !r->tx.have_next))
		return ST_ERR_STATE;

	while (n > 0) {
		/* A chunk ends at a NEWKEYS (inclusive) or at the burst size. */
		unsigned chunk = 0;
		while (chunk < n && chunk < ST_RECORD_BURST) {
			if ((ret = st_record_frame(r, &o[chunk], &pk[chunk])) != ST_OK)
				return fail(r, ret);
			if (r->tx_switch) {
				chunk++;
				break;
			}
			chunk++;
		}
		if ((ret = st_record_seal_framed(r, pk, chunk)) != ST_OK)
			return ret;
		if ((ret = st_record_tx_switch(r)) != ST_OK)
			return ret;
		o += chunk;
		n -= chunk;
	}
	return ST_OK;
}

int st_record_send(struct st_record *r, const uint8_t *payload, size_t len, struct st_buf *out)
{
	struct st_record_out o;
	size_t need = st_record_seal_size(r, len);
	size_t start = out->len;
	/* The backend's scratch before the packet (backend.h): at the very start
	 * of the buffer, seal behind a gap and move the packet down after. */
	size_t gap = start < ST_CRYPTO_HEADROOM ? ST_CRYPTO_HEADROOM : 0;
	uint8_t *p;
	int ret;

	if (len == 0 || len > r->max_packet)
		return ST_ERR_NO_SPACE;
	if ((ret = st_buf_reserve(out, gap + need, &p)) != ST_OK)
		return ret;
	p += gap;
	memcpy(p + ST_RECORD_PAYLOAD_OFFSET, payload, len);
	o.buf = p;
	o.cap = need;
	o.payload_len = (uint32_t)len;
	o.wire_len = 0;
	if ((ret = st_record_seal(r, &o, 1)) != ST_OK) {
		out->len = start;
		return ret;
	}
	if (gap > 0)
		memmove(p - gap, p, o.wire_len);
	out->len = start + o.wire_len;
	return ST_OK;
}
