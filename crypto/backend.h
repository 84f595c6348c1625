/*
 * Crypto backends: who executes the record ciphers.
 *
 * A backend is a table of functions that seals or opens a *burst* of SSH
 * binary packets in place, for one direction of one session. The record layer
 * (dataplane/ssh/record.c) owns framing, padding and sequence numbers; a
 * backend only transforms bytes. Backends: "evp" (OpenSSL EVP,
 * crypto/backend_evp.c) and "cryptodev" (DPDK cryptodev,
 * dataplane/crypto/backend_cryptodev.c, which registers itself when
 * st_cryptodev_setup() runs: crypto/ depends on OpenSSL only).
 *
 * Packet layout in memory, as on the wire (RFC 4253 §6):
 *
 *   buf: [uint32 packet_length][byte padding_length][payload][padding][MAC/tag]
 *        |<------------------- len = 4 + packet_length ---------->|<- tag_len ->|
 *
 * Sealing takes plaintext in [buf, buf+len) and writes ciphertext there and the
 * MAC/tag right after it. Opening takes ciphertext and, on success, leaves the
 * plaintext in place; on failure it wipes [buf, buf+len) so that no
 * unauthenticated plaintext is ever visible, and sets the packet's status.
 *
 * Headroom: the ST_CRYPTO_HEADROOM bytes before buf must be addressable and
 * writable. A backend may use them as scratch during a call (the cryptodev
 * backend writes the sequence number there so that the HMAC input
 * seqno || packet is contiguous) and restores them before it returns. The
 * record layer guarantees this for its own buffers; owners of send buffers
 * (mbuf headroom in the dataplane) provide it.
 *
 * Scatter-gather: a packet may instead lie in pieces (a TCP receive mbuf
 * chain, send mbufs), described by st_pkt.segs/nseg. Then buf is ignored and
 * the packet's len bytes followed by its tag_len MAC/tag bytes are the
 * concatenation of segs[0..nseg):
 *
 *   segs[0]        segs[1]             segs[2]      ...  segs[nseg-1]
 *   [uint32 packet_le][ngth, padding_length, payload..][..padding, MA][C/tag]
 *
 * Piece boundaries may fall anywhere (inside packet_length, the payload, the
 * tag; pieces of one byte; empty pieces are allowed and skipped). The piece
 * lengths must add up to exactly len + tag_len, nseg must be 1 ..
 * ST_PKT_MAX_SEGS, and len at least d->first_len; otherwise the packet is
 * refused with status ST_ERR_INVALID_ARGUMENT without being processed
 * (seal_burst stops there; open_burst wipes what it can of the first len
 * bytes and goes on, as for a packet that failed authentication: a caller
 * ends the session on either). Semantics are those of the contiguous case:
 * seal encrypts in place across the pieces and writes the tag into them;
 * open verifies and decrypts in place and, on failure, wipes all len bytes
 * across the pieces. The pieces must not overlap each other or another
 * packet of the burst. With segs:
 *   - the headroom rule does not apply: nothing before a piece is touched (a
 *     backend that needs seqno || packet contiguous feeds the seqno itself);
 *   - open_length still takes a contiguous hdr of d->first_len bytes: when
 *     they straddle pieces the caller gathers them into a scratch. For
 *     serial_open (MtE CTR) directions open_length decrypts hdr in place and
 *     the caller must write those decrypted first_len bytes back into the
 *     pieces before open_burst, which treats them as already decrypted,
 *     exactly as in the contiguous case. For the other suites open_length
 *     leaves hdr unchanged and nothing is written back;
 *   - the segs array itself, like the pieces, stays untouched by the caller
 *     until the call returns (or, with enqueue_burst, until dequeued);
 *   - backends copy no payload bytes, only the 4 length bytes, a tag or a
 *     partial header into small stack scratch, and allocate nothing.
 * Callers that build st_pkt field by field must set segs to NULL (or zero
 * the struct) for a contiguous packet: a stale segs selects this path.
 */
#ifndef ST_CRYPTO_BACKEND_H
#define ST_CRYPTO_BACKEND_H

#include <stdint.h>
#include <string.h>

#include "crypto/cipher.h"
#include "crypto/err.h"
#include "crypto/secmem.h"

/* One piece of a scattered packet (see "Scatter-gather" above). */
struct st_seg {
	uint8_t *p;
	uint32_t len;
};

/*
 * Most pieces one packet may have: a 64 KiB packet cut into ~1448-byte TCP
 * segments needs about 46. Bounded so that backends can keep per-packet
 * vectors on the stack.
 */
#define ST_PKT_MAX_SEGS 64

/*
 * One packet of a burst. The new fields come last so that positional
 * initializers of the contiguous form ({buf, len, seq, status}) stay valid
 * and leave segs NULL.
 */
struct st_pkt {
	uint8_t *buf;   /* start of the packet_length field; ignored when segs != NULL */
	uint32_t len;   /* 4 + packet_length; the MAC/tag follows at buf + len */
	uint32_t seq;   /* SSH sequence number of this packet */
	int status;     /* out: ST_OK, ST_ERR_MAC_INVALID (open), ST_ERR_CRYPTO, or
	                   ST_ERR_INVALID_ARGUMENT (bad segs) */
	const struct st_seg *segs; /* NULL: contiguous at buf; else the pieces */
	uint16_t nseg;             /* pieces in segs, 1..ST_PKT_MAX_SEGS */
	/*
	 * Optional, contiguous packets only: the DPDK mbuf (struct rte_mbuf *,
	 * opaque here) whose data area holds buf .. buf + len + tag. A device
	 * backend then addresses the packet through that mbuf (its own IOVA)
	 * and holds a reference on it while the packet is in flight
	 * (enqueue_burst). NULL: plain memory. Zero it when building st_pkt
	 * field by field.
	 */
	void *mbuf;
};

#define ST_CRYPTO_HEADROOM 4

struct st_crypto_dir;

/*
 * Counters of one backend, summed over all threads. Backends that keep none
 * leave the stats op NULL.
 */
struct st_crypto_stats {
	uint64_t ops;        /* packets sealed or opened on the backend itself */
	uint64_t bytes;      /* bytes of those packets */
	uint64_t auth_fail;  /* packets whose MAC/tag did not verify */
	uint64_t enq_fail;   /* ops not taken: device queue full (retried or handed back) */
	uint64_t fallbacks;  /* session directions that went to another backend */
	uint64_t fb_ops;     /* packets processed by the fallback backend */
	uint64_t errors;     /* internal crypto failures */
	uint32_t qdepth;     /* ops in flight now, all queue pairs */
	uint32_t qdepth_max; /* highest qdepth seen */
};

struct st_crypto_backend {
	const char *name;
	/*
	 * Sets up `d` for the cipher and MAC in `k` (fields cipher/mac/first_len/...
	 * are already filled by st_crypto_dir_init). May reuse state from a previous
	 * init of the same direction (rekey). Returns ST_OK, ST_ERR_ALLOC,
	 * ST_ERR_CRYPTO or ST_ERR_ALG_UNSUPPORTED.
	 */
	int (*init)(struct st_crypto_dir *d, const struct st_dir_keys *k);
	/* Frees backend state and wipes keys. */
	void (*fini)(struct st_crypto_dir *d);
	/*
	 * Reads packet_length from the first d->first_len bytes of a received
	 * packet. For MAC-then-encrypt stream ciphers this decrypts those bytes in
	 * place, which advances the keystream: the same packet must be opened next
	 * (d->serial_open is set). Returns ST_OK or ST_ERR_CRYPTO.
	 */
	int (*open_length)(struct st_crypto_dir *d, uint32_t seq, uint8_t *hdr, uint32_t *plen);
	/*
	 * Seals n packets in order. Returns the number sealed; fewer than n only
	 * on an internal crypto failure or at a packet whose segs are refused
	 * (that packet's status says which: ST_ERR_CRYPTO or
	 * ST_ERR_INVALID_ARGUMENT); either way the direction is unusable.
	 */
	uint16_t (*seal_burst)(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n);
	/*
	 * Opens n packets in order, setting each one's status (a packet with
	 * refused segs gets ST_ERR_INVALID_ARGUMENT and is wiped, and the rest are
	 * still processed). Returns the number processed (n, or fewer on an
	 * internal crypto failure).
	 */
	uint16_t (*open_burst)(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n);
	/* Optional (NULL: no counters): fills *s. */
	void (*stats)(struct st_crypto_stats *s);
	/*
	 * Optional asynchronous pair (NULL: only the synchronous calls above),
	 * for devices that work off the calling core. enqueue_burst starts
	 * sealing (d->seal) or opening n packets of direction d, in order, and
	 * returns how many it took: fewer than n when the device queue or the
	 * completion ring is full (backpressure: dequeue, then offer the rest
	 * again), or a negative ST_ERR_* after which the direction is unusable.
	 * Packets are taken in order, so the caller advances its sequence
	 * numbers by the count taken. The packets and their st_pkt structs stay
	 * untouched by the caller until dequeued, and a direction is finalized
	 * only when none of its packets is in flight. MtE directions
	 * (serial_open) still call open_length first, one packet at a time.
	 * Scattered packets: an opened one with refused segs completes with
	 * status ST_ERR_INVALID_ARGUMENT; sealing stops before one (the packets
	 * in front of it are taken; offered first, it makes the call return
	 * ST_ERR_INVALID_ARGUMENT).
	 */
	int (*enqueue_burst)(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n);
	/*
	 * Completed packets of the calling thread, all directions, at most max:
	 * pointers to the st_pkt structs given to enqueue_burst, status set (a
	 * failed open is wiped, as with open_burst). Each direction's packets
	 * come back in the order they were enqueued. Returns the count.
	 */
	uint16_t (*dequeue_burst)(struct st_pkt **done, uint16_t max);
};

/* One direction of one session, as a backend sees it. */
struct st_crypto_dir {
	const struct st_crypto_backend *be;
	const struct st_cipher_info *cipher;
	const struct st_mac_info *mac; /* NULL for AEAD */
	uint8_t seal;        /* 1: we encrypt with it; 0: we decrypt */
	uint8_t block_size;  /* padding multiple */
	uint8_t tag_len;     /* MAC or AEAD tag bytes after the packet */
	uint8_t first_len;   /* bytes needed before packet_length is known */
	uint8_t len_in_aad;  /* 1: packet_length is not part of the padded block
	                        multiple (AEAD, EtM) */
	uint8_t serial_open; /* 1: open_length consumes keystream (MtE CTR) */
	uint8_t async;       /* set by the backend's init: enqueue_burst of this
	                        direction hands packets to a device and returns
	                        before they are done (0: it completes them on the
	                        spot, or there is no asynchronous pair) */
	void *priv;          /* backend state */
};

extern const struct st_crypto_backend st_crypto_backend_evp;

/* ---- scatter-gather helpers, for backends and for callers building segs ---- */

/*
 * ST_OK when p->segs describes exactly len + tag_len bytes in 1 ..
 * ST_PKT_MAX_SEGS pieces and len >= min_len (a backend passes d->first_len),
 * ST_ERR_INVALID_ARGUMENT otherwise. The sum is taken in 64 bits: piece
 * lengths cannot wrap it.
 */
static inline int st_pkt_segs_check(const struct st_pkt *p, uint32_t tag_len, uint32_t min_len)
{
	uint64_t total = 0;

	if (p->nseg == 0 || p->nseg > ST_PKT_MAX_SEGS || p->len < min_len)
		return ST_ERR_INVALID_ARGUMENT;
	for (uint16_t i = 0; i < p->nseg; i++)
		total += p->segs[i].len;
	return total == (uint64_t)p->len + tag_len ? ST_OK : ST_ERR_INVALID_ARGUMENT;
}

/*
 * Walks the bytes [off, off + len) of the concatenation of segs[0..nseg) as
 * contiguous runs:
 *
 *   struct st_seg_iter it;
 *   uint8_t *q;
 *   uint32_t n;
 *   st_seg_iter_init(&it, segs, nseg, off, len);
 *   while ((n = st_seg_iter_next(&it, &q)) != 0)
 *           use q[0..n);
 *
 * Stops early (fewer than len bytes in all) only when the pieces end first,
 * which st_pkt_segs_check() rules out for a checked packet.
 */
struct st_seg_iter {
	const struct st_seg *s, *end;
	uint32_t off;  /* into *s */
	uint32_t left; /* bytes still to hand out */
};

static inline void st_seg_iter_init(struct st_seg_iter *it, const struct st_seg *segs,
				    uint16_t nseg, uint32_t off, uint32_t len)
{
	it->s = segs;
	it->end = segs + nseg;
	while (it->s < it->end && off >= it->s->len) {
		off -= it->s->len;
		it->s++;
	}
	it->off = off;
	it->left = len;
}

static inline uint32_t st_seg_iter_next(struct st_seg_iter *it, uint8_t **q)
{
	while (it->left > 0 && it->s < it->end) {
		uint32_t n = it->s->len - it->off;
		uint8_t *at = it->s->p + it->off;
		it->s++;
		it->off = 0;
		if (n == 0)
			continue; /* empty piece */
		if (n > it->left)
			n = it->left;
		it->left -= n;
		*q = at;
		return n;
	}
	return 0;
}

/* Copies bytes [off, off + len) of the pieces out to dst (a small scratch). */
static inline void st_segs_read(const struct st_seg *segs, uint16_t nseg, uint32_t off,
				uint8_t *dst, uint32_t len)
{
	struct st_seg_iter it;
	uint8_t *q;
	uint32_t n;

	st_seg_iter_init(&it, segs, nseg, off, len);
	while ((n = st_seg_iter_next(&it, &q)) != 0) {
		memcpy(dst, q, n);
		dst += n;
	}
}

/* Copies src into bytes [off, off + len) of the pieces. */
static inline void st_segs_write(const struct st_seg *segs, uint16_t nseg, uint32_t off,
				 const uint8_t *src, uint32_t len)
{
	struct st_seg_iter it;
	uint8_t *q;
	uint32_t n;

	st_seg_iter_init(&it, segs, nseg, off, len);
	while ((n = st_seg_iter_next(&it, &q)) != 0) {
		memcpy(q, src, n);
		src += n;
	}
}

/* Wipes bytes [off, off + len) of the pieces (st_wipe: not elided). */
static inline void st_segs_wipe(const struct st_seg *segs, uint16_t nseg, uint32_t off,
				uint32_t len)
{
	struct st_seg_iter it;
	uint8_t *q;
	uint32_t n;

	st_seg_iter_init(&it, segs, nseg, off, len);
	while ((n = st_seg_iter_next(&it, &q)) != 0)
		st_wipe(q, n);
}

/*
 * Wipes the first len bytes of packet p, contiguous or scattered: what a
 * failed open leaves. For a scattered packet with too many pieces only the
 * first ST_PKT_MAX_SEGS are visited (they are the caller's memory either way).
 */
static inline void st_pkt_wipe(const struct st_pkt *p)
{
	if (p->segs == NULL)
		st_wipe(p->buf, p->len);
	else
		st_segs_wipe(p->segs, p->nseg < ST_PKT_MAX_SEGS ? p->nseg : ST_PKT_MAX_SEGS, 0,
			     p->len);
}

#define ST_CRYPTO_MAX_BACKENDS 4

/*
 * Makes `be` known to st_crypto_backend_by_name() (startup only, not
 * thread-safe; registering twice is a no-op). ST_OK or ST_ERR_NO_SPACE.
 */
int st_crypto_backend_register(const struct st_crypto_backend *be);

/*
 * Looks a backend up by name: "evp", or a registered one ("cryptodev" once
 * st_cryptodev_setup() from dataplane/crypto/cryptodev.h has run). NULL when
 * unknown.
 */
const struct st_crypto_backend *st_crypto_backend_by_name(const char *name);

/*
 * Initializes (or re-keys) direction `d` with backend `be` and keys `k`.
 * `seal` says whether we encrypt (1) or decrypt (0) with it. On failure `d`
 * is left finalized. The caller wipes `k` when it no longer needs it.
 */
int st_crypto_dir_init(struct st_crypto_dir *d, const struct st_crypto_backend *be,
		       const struct st_dir_keys *k, int seal);

/* Releases backend state and wipes keys; `d` may be re-initialized later. */
void st_crypto_dir_fini(struct st_crypto_dir *d);

#endif
