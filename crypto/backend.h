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
 */
#ifndef ST_CRYPTO_BACKEND_H
#define ST_CRYPTO_BACKEND_H

#include <stdint.h>

#include "crypto/cipher.h"

/* One packet of a burst. */
struct st_pkt {
	uint8_t *buf;   /* start of the packet_length field */
	uint32_t len;   /* 4 + packet_length; the MAC/tag follows at buf + len */
	uint32_t seq;   /* SSH sequence number of this packet */
	int status;     /* out: ST_OK, ST_ERR_MAC_INVALID (open) or ST_ERR_CRYPTO */
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
	 * on an internal crypto failure, after which the direction is unusable.
	 */
	uint16_t (*seal_burst)(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n);
	/*
	 * Opens n packets in order, setting each one's status. Returns the number
	 * processed (n, or fewer on an internal crypto failure).
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
	void *priv;          /* backend state */
};

extern const struct st_crypto_backend st_crypto_backend_evp;

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
