/*
 * The SSH binary packet protocol (RFC 4253 §6) for one connection, sans I/O.
 *
 * Receive: the owner copies TCP payload into the record's reassembly buffer
 * (st_record_rx_space + st_record_rx_commit, or st_record_feed), in fragments
 * of any size down to one byte, and calls st_record_read() to get whole,
 * authenticated, decrypted payloads out, a burst at a time. Lengths are checked
 * against the cap before anything is reserved or decrypted; for EtM and AEAD
 * the MAC/tag is verified before the rest is decrypted. Any error is fatal for
 * the connection and sticky: every later call returns it again.
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

struct st_record_msg {
	const uint8_t *payload; /* points into the reassembly buffer */
	uint32_t len;
	uint32_t seq;
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
	uint8_t *rxmem;        /* allocation: headroom, then rxbuf */
	uint8_t *rxbuf;
	uint32_t rxcap;
	uint32_t rx_start;     /* first byte not yet handed out */
	uint32_t rx_end;       /* end of received bytes */
	uint32_t rx_hwm;       /* highest rx_end ever: what st_record_free must wipe */
	uint32_t max_packet;   /* cap on packet_length */
	uint32_t cur_plen;     /* packet_length at rx_start once known */
	uint8_t cur_known;     /* cur_plen is valid (its header may be decrypted) */
	uint8_t strict_kex;    /* sequence numbers restart at every NEWKEYS */
	uint8_t kex_active;    /* a key exchange is in progress: open one at a time */
	uint8_t rx_wait_keys;  /* peer NEWKEYS read, next receive keys not yet known */
	int dead;              /* sticky fatal error, ST_OK while alive */
	uint16_t pad_used;     /* bytes of pad_pool consumed */
	uint8_t pad_pool[256]; /* random padding, refilled in bulk */
};

/*
 * Sets up a record for a new connection: no keys, sequence numbers zero.
 * max_packet of 0 means ST_RECORD_DEFAULT_MAX_PACKET; values below
 * ST_RECORD_MIN_MAX_PACKET are raised to it. Allocates the reassembly buffer
 * (once per connection). Returns ST_OK, ST_ERR_ALLOC.
 */
int st_record_init(struct st_record *r, const struct st_crypto_backend *be, uint32_t max_packet);

/* Wipes keys and buffers and frees what st_record_init allocated. */
void st_record_free(struct st_record *r);

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
 * caller keeps the rest in TCP: backpressure).
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
 * NEWKEYS in one burst), ST_ERR_CRYPTO.
 */
int st_record_read(struct st_record *r, struct st_record_msg *msgs, unsigned max, unsigned *n);

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
 * Convenience for the control plane and tests: seals a copy of `payload` and
 * appends the wire bytes to `out`. Same errors as st_record_seal().
 */
struct st_buf;
int st_record_send(struct st_record *r, const uint8_t *payload, size_t len, struct st_buf *out);

#endif
