/*
 * The SSH binary packet protocol (RFC 4253 §6) for one connection, sans I/O.
 *
 * Receive, two ways (one connection uses one of them at a time):
 *  - Copying: the owner copies TCP payload into the record's reassembly buffer
 *    (st_record_rx_space + st_record_rx_commit, or st_record_feed), in
 *    fragments of any size down to one byte, and calls st_record_read() to get
 *    whole, authenticated, decrypted payloads out, a burst at a time. The
 *    buffer (2 largest packets) is allocated at the first rx_space/feed, not
 *    before: a record that only uses the second way never has one.
 *  - In place: the owner keeps the received bytes in its own memory (TCP
 *    receive mbufs in the dataplane) and offers them as a list of pieces to
 *    st_record_read_pieces(), which opens packets where they lie, also across
 *    piece boundaries (the backend's scatter-gather path), and says how many
 *    leading bytes belong to the packets it returned. The owner offers the
 *    rest again, followed by what arrived since, at the next call.
 * Lengths are checked against the cap before anything is reserved or
 * decrypted; for EtM and AEAD the MAC/tag is verified before the rest is
 * decrypted. Any error is fatal for the connection and sticky: every later
 * call returns it again.
 *
 * Send: the owner writes a payload at buf + ST_RECORD_PAYLOAD_OFFSET in a
 * buffer of at least st_record_seal_size() bytes (an mbuf data area in the
 * dataplane) and calls st_record_seal(), which frames, pads, encrypts and MACs
 * in place. The ST_CRYPTO_HEADROOM bytes before buf must be writable: the
 * crypto backend may use them as scratch and restores them (backend.h).
 *
 * Keys: the control plane hands over the next keys for both directions with
 * its key exchange reply (st_record_set_next_keys). The record layer switches
 * the send keys right after it seals an SSH_MSG_NEWKEYS and the receive keys
 * right after it reads the peer's SSH_MSG_NEWKEYS; with strict kex the
 * sequence number of that direction restarts at zero there. While a key
 * exchange is in progress (a KEXINIT seen in either direction) received
 * packets are opened one at a time, since a key change may follow any of them.
 * If the peer's NEWKEYS arrives before the next keys are known, reading pauses
 * (returns no packets) until they are set.
 */
#ifndef ST_SSH_RECORD_H
#define ST_SSH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"
#include "crypto/cipher.h"

/* The payload starts after uint32 packet_length and byte padding_length. */
#define ST_RECORD_PAYLOAD_OFFSET 5
/* Largest packet_length accepted by default (RFC 4253 §6.1 asks for >= 35000). */
#define ST_RECORD_DEFAULT_MAX_PACKET (64u * 1024u)
#define ST_RECORD_MIN_MAX_PACKET 35000u
#define ST_RECORD_BURST 32

/*
 * One received packet's payload (message number first). From st_record_read
 * it is always contiguous in the reassembly buffer: payload is set, segs NULL.
 * From st_record_read_pieces it lies in the owner's pieces: payload points at
 * it when it is inside one piece (segs NULL, nseg 0); when it spans pieces,
 * payload is NULL and segs[0..nseg) are its runs, none empty, len bytes in
 * all, the message number the first byte of segs[0]. (A packet that took the
 * bounce path, see st_record_read_pieces, has payload set.)
 */
struct st_record_msg {
	const uint8_t *payload;
	uint32_t len;
	uint32_t seq;
	const struct st_seg *segs;
	uint16_t nseg;
};

/* Received bytes in the owner's memory (one mbuf's data, in the dataplane). */
struct st_rx_piece {
	uint8_t *p;
	uint32_t len;
	void *mbuf; /* the rte_mbuf holding them, or NULL (only st_record_rx_enqueue reads it) */
};

/* One packet to seal: payload already at buf + ST_RECORD_PAYLOAD_OFFSET. */
struct st_record_out {
	uint8_t *buf;
	size_t cap;          /* bytes available at buf */
	uint32_t payload_len;
	uint32_t wire_len;   /* out: bytes to transmit from buf */
};

struct st_record_dir {
	struct st_crypto_dir crypto;
	uint8_t keyed;          /* 0 until the first NEWKEYS: no cipher, no MAC */
	uint8_t have_next;      /* next keys are waiting for NEWKEYS */
	uint32_t seq;
	uint64_t packets;       /* since the connection began */
	uint64_t bytes;         /* wire bytes since the connection began */
	uint64_t epoch_packets; /* since the current keys were installed */
	uint64_t epoch_bytes;
	struct st_dir_keys next; /* secret; wiped once installed */
};

struct st_record {
	const struct st_crypto_backend *be;
	struct st_record_dir tx, rx;
	uint8_t *rxmem;        /* allocation: headroom, then rxbuf; NULL until the
	                          first rx_space/feed */
	uint8_t *rxbuf;
	uint32_t rxcap;        /* 0 until allocated */
	uint32_t rx_start;     /* first byte not yet handed out */
	uint32_t rx_end;       /* end of received bytes */
	uint32_t rx_hwm;       /* highest rx_end ever: what st_record_free must wipe */
	uint32_t max_packet;   /* cap on packet_length */
	uint32_t cur_plen;     /* packet_length at rx_start (or at the start of the
	                          pieces offered) once known */
	uint32_t rx_bounced;   /* packets st_record_read_pieces gathered into the
	                          bounce buffer (more than ST_PKT_MAX_SEGS pieces) */
	uint8_t cur_known;     /* cur_plen is valid (its header may be decrypted) */
	uint8_t strict_kex;    /* sequence numbers restart at every NEWKEYS */
	uint8_t kex_active;    /* a key exchange is in progress: open one at a time */
	uint8_t rx_wait_keys;  /* peer NEWKEYS read, next receive keys not yet known */
	uint8_t tx_switch;     /* a NEWKEYS was framed: st_record_tx_switch() is due */
	uint16_t rx_inflight;  /* opens handed to the device by st_record_rx_enqueue, not
	                          completed yet (reading waits for them) */
	int dead;              /* sticky fatal error, ST_OK while alive */
	uint16_t pad_used;     /* bytes of pad_pool consumed */
	uint8_t pad_pool[256]; /* random padding, refilled in bulk */
};

/*
 * Sets up a record for a new connection: no keys, sequence numbers zero.
 * max_packet of 0 means ST_RECORD_DEFAULT_MAX_PACKET; values below
 * ST_RECORD_MIN_MAX_PACKET are raised to it. Allocates nothing (the
 * reassembly buffer comes with the first st_record_rx_space/feed). Returns
 * ST_OK (the int is kept for callers; no error is possible today).
 */
int st_record_init(struct st_record *r, const struct st_crypto_backend *be, uint32_t max_packet);

/*
 * Wipes keys and buffers, frees the reassembly buffer if there is one, and
 * wipes *r to all zero. Safe on any record st_record_init set up, used or
 * not, and on an all-zero struct st_record (so a second call does nothing).
 */
void st_record_free(struct st_record *r);

/*
 * Wipes and frees the calling thread's bounce buffer of st_record_read_pieces
 * (if it ever needed one). For worker threads that exit; messages from the
 * last read_pieces call on this thread must not be used afterwards.
 */
void st_record_thread_fini(void);

/* Turns on strict kex (kex-strict-*-v00@openssh.com): seqnos restart at NEWKEYS. */
void st_record_set_strict(struct st_record *r);

/*
 * Stores the keys that take effect at the next NEWKEYS in each direction.
 * Either may be NULL to leave that direction's pending keys alone. Copies the
 * keys; the caller wipes its copy. Returns ST_OK, or ST_ERR_INVALID_ARGUMENT
 * for an incomplete key set, or the installation error when the peer's
 * NEWKEYS was already waiting for these keys.
 */
int st_record_set_next_keys(struct st_record *r, const struct st_dir_keys *tx,
			    const struct st_dir_keys *rx);

/* --- receive --- */

/*
 * Space for incoming bytes: *p and *n describe where up to n bytes may be
 * written. May move unread bytes, so payload pointers from an earlier
 * st_record_read() become invalid. *n is 0 when the buffer is full (the
 * caller keeps the rest in TCP: backpressure). The first call allocates the
 * buffer; if that fails, *p is NULL, *n is 0 and the record is dead with
 * ST_ERR_ALLOC (the next st_record_read returns it).
 */
void st_record_rx_space(struct st_record *r, uint8_t **p, size_t *n);

/* Declares that n bytes were written at the pointer from st_record_rx_space. */
void st_record_rx_commit(struct st_record *r, size_t n);

/* Copies as much of data[0..len) as fits; *used says how much. */
void st_record_feed(struct st_record *r, const uint8_t *data, size_t len, size_t *used);

/*
 * Parses, authenticates and decrypts up to `max` whole packets from the
 * buffer. On ST_OK, *n packets (possibly 0: more input or keys needed) are in
 * msgs[], each with a payload of at least one byte (the message number).
 * Payload pointers stay valid until the next rx_space/feed/read call.
 * Errors (fatal, sticky): ST_ERR_PACKET_TOO_LARGE, ST_ERR_BAD_LENGTH,
 * ST_ERR_MAC_INVALID, ST_ERR_PADDING, ST_ERR_STATE (data after the peer's
 * NEWKEYS in one burst), ST_ERR_CRYPTO, ST_ERR_ALLOC (rx_space could not
 * allocate the buffer). *n is 0 unless ST_OK.
 */
int st_record_read(struct st_record *r, struct st_record_msg *msgs, unsigned max, unsigned *n);

/*
 * Opens packets in place in the owner's memory (zero-copy receive).
 *
 * pc[0..npc) are the received bytes not consumed yet, in order, from the first
 * byte the record has not consumed (empty pieces are allowed). Parses,
 * authenticates and decrypts up to `max` (at most ST_RECORD_BURST) whole
 * packets in place: a packet inside one piece on the backend's contiguous
 * path, one that spans pieces on its scatter-gather path (st_pkt.segs). On
 * ST_OK, *n packets (possibly 0: more input or keys needed) are in msgs[]
 * (see struct st_record_msg for where each payload lies), and *consumed is the
 * number of bytes, from the start of pc[0], that belong to them: the owner may
 * release those once it is done with the messages. Everything after *consumed
 * must be offered again, as the start of the next call, with what arrived
 * since after it: a partial packet, or packets not read because of `max`, a
 * key exchange (one packet per call while one is in progress) or the pause
 * after the peer's NEWKEYS. Those bytes must stay as this call left them: it
 * may have decrypted a packet's first block in place (MtE CTR suites: the
 * record remembers that it did, so it does not decrypt it twice).
 *
 * The bytes of a returned packet are overwritten by its plaintext (header,
 * payload, padding; a bounced one's plaintext is in the bounce buffer
 * instead); its MAC/tag is left. On an authentication failure they are wiped.
 *
 * Memory: the ST_CRYPTO_HEADROOM bytes before each piece must be addressable
 * and writable (a backend may borrow them for a contiguous packet and restores
 * them; backend.h). In an mbuf they are the TCP header or earlier data. The
 * segs arrays of the messages (and the bounce buffer) are thread-local
 * storage of the record layer: messages' payload and segs stay valid until
 * the next st_record_read_pieces call on the same thread (any record), and
 * as long as the owner keeps the pieces.
 *
 * Fallback: a packet in more than ST_PKT_MAX_SEGS (non-empty) pieces is not
 * an error. The packets before it are returned; when it is the first one, it
 * is copied into a thread-local bounce buffer (malloc'd once per thread at
 * first need, 4 + max_packet + ST_MAC_MAX_LEN bytes, freed by
 * st_record_thread_fini) and opened there, alone; its payload points into
 * that buffer, r->rx_bounced counts it, and the buffer's used bytes are wiped
 * at the next call on this thread.
 *
 * Not to be mixed with the copying interface: while the reassembly buffer
 * holds unread bytes this returns ST_ERR_STATE (not sticky: nothing changed).
 *
 * Errors (fatal, sticky) as st_record_read, and ST_ERR_ALLOC (no bounce
 * buffer). *n and *consumed are 0 unless ST_OK.
 */
int st_record_read_pieces(struct st_record *r, const struct st_rx_piece *pc, unsigned npc,
			  struct st_record_msg *msgs, unsigned max, unsigned *n, size_t *consumed);

/*
 * Asynchronous receive (the worker on an enqueue/dequeue cryptodev).
 *
 * st_record_rx_async(): 1 when received packets may be opened that way now:
 * the receive direction is asynchronous (st_crypto_dir.async), no key
 * exchange is in progress (a key change may follow any packet then, so they
 * are read one at a time, synchronously), nothing is in flight.
 *
 * st_record_rx_enqueue() frames up to max (at most ST_RECORD_BURST) whole
 * packets at the start of pc[0..npc), checks their lengths, and hands their
 * opens, in order, to the backend's enqueue_burst: a packet inside one piece
 * with pk[i].mbuf set to the piece's mbuf, one across pieces with its runs
 * in segs[0..nsegs) (the backend's scatter-gather path; segs NULL: such a
 * packet, or one over the room left there, stops the burst, as a partial
 * one does, and the synchronous st_record_read_pieces takes it).
 * pk[0..max) and segs are the caller's memory, untouched until the packets
 * are dequeued and completed (the messages' segs point into segs). *n is how many were taken (0: none framed, or the
 * device took none: *busy is then 1). The caller keeps the bytes and offers
 * nothing to the record until st_record_rx_complete().
 * Errors (fatal, sticky): as st_record_read, ST_ERR_STATE (not asynchronous
 * now), ST_ERR_CRYPTO.
 *
 * st_record_rx_complete() takes the n packets st_record_rx_enqueue took
 * (all of them, in order, after the backend's dequeue_burst returned them),
 * checks status and padding, accounts them (sequence numbers, counters,
 * KEXINIT/NEWKEYS as st_record_read_pieces does), and writes their messages
 * to msgs[0..n); *consumed is the bytes they span from the start of the
 * pieces offered to st_record_rx_enqueue. Errors (fatal, sticky) as
 * st_record_read; *consumed is set in any case.
 */
int st_record_rx_async(const struct st_record *r);
int st_record_rx_enqueue(struct st_record *r, const struct st_rx_piece *pc, unsigned npc,
			 struct st_pkt *pk, unsigned max, struct st_seg *segs, unsigned nsegs,
			 unsigned *n, int *busy);
int st_record_rx_complete(struct st_record *r, struct st_pkt *pk, unsigned n,
			  struct st_record_msg *msgs, size_t *consumed);

/* --- send --- */

/* Buffer size needed to seal a payload of `payload_len` bytes. */
size_t st_record_seal_size(const struct st_record *r, size_t payload_len);

/*
 * Frames, pads, encrypts and MACs n packets in place, in order, assigning
 * sequence numbers. Each o[i].buf has ST_CRYPTO_HEADROOM writable bytes in
 * front of it (restored on return). A NEWKEYS among them switches the send
 * keys for the packets after it. Returns ST_OK (all sealed), ST_ERR_NO_SPACE
 * (some cap too small: nothing sealed), ST_ERR_STATE (NEWKEYS without next
 * keys: nothing sealed), ST_ERR_CRYPTO (fatal).
 */
int st_record_seal(struct st_record *r, struct st_record_out *pkts, unsigned n);

/*
 * The two halves of st_record_seal, for owners that seal bursts later or
 * hand them to an asynchronous device (the worker sessions, wsess.c):
 *
 * st_record_frame() validates and frames one packet (o->payload_len bytes
 * at o->buf + ST_RECORD_PAYLOAD_OFFSET): length, padding, sequence number,
 * the direction's counters; it fills *pk (mbuf NULL: the owner may set it)
 * and o->wire_len, and encrypts nothing. Framed packets must then be
 * sealed, in order and before any packet framed later, with
 * st_record_seal_framed() (or st_record_tx_enqueue()). After a NEWKEYS is
 * framed, every packet framed so far is sealed (or enqueued) with the old
 * keys and then st_record_tx_switch() installs the new ones; until then
 * st_record_frame() refuses (ST_ERR_INTERNAL). Errors of st_record_frame:
 * ST_ERR_NO_SPACE (cap too small, payload empty or over the cap: nothing
 * framed), ST_ERR_STATE (NEWKEYS without next keys: nothing framed),
 * ST_ERR_CRYPTO (no random padding: fatal), the sticky error.
 */
int st_record_frame(struct st_record *r, struct st_record_out *o, struct st_pkt *pk);

/*
 * Seals n framed packets in place with the current send keys, one backend
 * call per ST_RECORD_BURST (nothing to do before the first NEWKEYS). A
 * receive-side error of the record does not stop it (the packets were
 * framed while it was alive); a send-side one does. ST_OK, or
 * ST_ERR_CRYPTO (fatal, sticky).
 */
int st_record_seal_framed(struct st_record *r, struct st_pkt *pk, unsigned n);

/* Installs the send keys after a framed NEWKEYS (ST_OK when none is due). */
int st_record_tx_switch(struct st_record *r);

/*
 * 1 when the send direction runs on an asynchronous device
 * (st_crypto_dir.async): framed packets then go to st_record_tx_enqueue()
 * and come back through the backend's dequeue_burst.
 */
int st_record_tx_async(const struct st_record *r);

/*
 * Hands framed packets, in order, to the backend's enqueue_burst on the
 * send direction. Returns how many it took (fewer: the device queue is
 * full, offer the rest again later, before anything framed after them),
 * ST_ERR_STATE when the direction is not asynchronous, ST_ERR_CRYPTO
 * (fatal, sticky). The st_pkt structs and the packets stay untouched until
 * dequeued; the direction must not be switched or freed while any is in
 * flight (the cryptodev backend keeps a switched direction's device session
 * until its packets are back).
 */
int st_record_tx_enqueue(struct st_record *r, struct st_pkt *pk, unsigned n);

/*
 * Convenience for the control plane and tests: seals a copy of `payload` and
 * appends the wire bytes to `out`. Same errors as st_record_seal().
 */
struct st_buf;
int st_record_send(struct st_record *r, const uint8_t *payload, size_t len, struct st_buf *out);

/* TSC cycles the calling thread spent in crypto backend calls (all records), ever. */
uint64_t st_record_thread_cycles(void);

#endif
