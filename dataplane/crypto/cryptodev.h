/*
 * The DPDK cryptodev crypto backend (dataplane/crypto/backend_cryptodev.c)
 * and its setup.
 *
 * It lives under dataplane/ because it needs DPDK; crypto/ stays
 * OpenSSL-only (the fuzz build compiles crypto/ without DPDK). The backend
 * is the table st_crypto_backend_cryptodev below, also found by
 * st_crypto_backend_by_name("cryptodev") once st_cryptodev_setup() has
 * registered it. Before any session uses it, the process calls
 * st_cryptodev_setup() once, after rte_eal_init(), from the main thread;
 * st_cryptodev_teardown() undoes it once every session using it has been
 * finalized.
 *
 * Config keyword (parsed by the daemon's config reader, which calls these):
 *
 *   CryptoBackend evp                 record ciphers through OpenSSL EVP
 *   CryptoBackend cryptodev [DEVICE]  through DPDK cryptodev DEVICE: a device
 *                                     name from the EAL arguments
 *                                     (--vdev crypto_aesni_mb, a QAT VF ...),
 *                                     or a virtual device driver name that is
 *                                     created on the spot (crypto_aesni_gcm,
 *                                     crypto_aesni_mb, crypto_openssl). No
 *                                     DEVICE: the first cryptodev found.
 *
 * The config reader maps "CryptoBackend cryptodev X" to
 * st_cryptodev_setup("X", nb_workers) at startup and uses
 * st_crypto_backend_by_name("cryptodev") for every new session.
 *
 * Execution: devices with RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO (the ipsec_mb
 * software PMDs) run synchronously on the calling core through
 * rte_cryptodev_sym_cpu_crypto_process() on the packet bytes themselves, no
 * mbufs. Other devices get rte_crypto_ops (from a per-queue-pair op pool,
 * the IV in the op's private area, the packet attached to an mbuf as an
 * external buffer) enqueued on the worker's queue pair in bursts and
 * dequeued in the same call; order is kept per burst and therefore per
 * session. Suites the device cannot do (chacha20-poly1305@openssh.com is not
 * the IETF AEAD) fall back to EVP for that session, counted in `fallbacks`.
 *
 * Packets of the HMAC suites need 4 bytes before them for the sequence
 * number (see ST_CRYPTO_HEADROOM in backend.h); scattered ones do not.
 *
 * Scattered packets (st_pkt.segs, backend.h) run on the device where it
 * reports RTE_CRYPTODEV_FF_IN_PLACE_SGL and passes a split-versus-contiguous
 * probe at setup, per path (CPU crypto vectors; mbuf chains for
 * enqueue/dequeue, pieces of at most 65535 bytes there) and per transform
 * (AES-GCM; the AES-CTR + HMAC chain); elsewhere each one
 * runs alone on an EVP twin of its direction, in order, counted in fb_ops.
 * st_cryptodev_info() says which.
 */
#ifndef ST_CRYPTO_CRYPTODEV_H
#define ST_CRYPTO_CRYPTODEV_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"

extern const struct st_crypto_backend st_crypto_backend_cryptodev;

struct st_cryptodev_conf {
	uint32_t max_sessions;   /* symmetric sessions in the pool (0: 16384) */
	uint32_t qp_descriptors; /* per queue pair, op devices (0: 2048) */
};

/*
 * Picks, configures and starts cryptodev `dev` with nb_qp queue pairs (0: 1),
 * one per worker, and registers the backend under the name "cryptodev".
 * `dev`: NULL or "" for the first cryptodev present; a device name; or a
 * virtual device to create by hotplug, "DRIVER[,ARGS]" (e.g.
 * "crypto_aesni_gcm", "crypto_aesni_mb0",
 * "crypto_scheduler,worker=crypto_aesni_mb_w0,worker=crypto_aesni_mb_w1").
 * `conf` may be NULL. Returns ST_OK, ST_ERR_NOT_FOUND (no such device),
 * ST_ERR_STATE (already set up), ST_ERR_INVALID_ARGUMENT (more queue pairs
 * than the device has, or a malformed name), ST_ERR_ALLOC, ST_ERR_NO_SPACE
 * (backend registry full), ST_ERR_ALG_UNSUPPORTED (no symmetric crypto),
 * ST_ERR_CRYPTO (configuration refused by the device).
 */
int st_cryptodev_setup(const char *dev, uint16_t nb_qp, const struct st_cryptodev_conf *conf);

/*
 * Stops and closes the device and frees the pools. Returns ST_ERR_STATE (and
 * does nothing) while sessions are still open, ST_OK otherwise (also when not
 * set up). The name stays registered; sessions started afterwards fail with
 * ST_ERR_STATE until the next st_cryptodev_setup().
 */
int st_cryptodev_teardown(void);

/*
 * Binds the calling thread to queue pair `qp` (each worker calls it once at
 * start). Threads that never call it use queue pair 0. Returns ST_OK or
 * ST_ERR_INVALID_ARGUMENT.
 */
int st_cryptodev_bind_qp(uint16_t qp);

/* Bits of st_cryptodev_info.sgl. */
#define ST_CRYPTODEV_SGL_GCM 1      /* aes*-gcm@openssh.com */
#define ST_CRYPTODEV_SGL_CTR_HMAC 2 /* aes*-ctr + hmac-sha2-* (MtE and EtM) */

/* What the backend runs on, for logs and `sshtermctl stats`. */
struct st_cryptodev_info {
	char name[64];     /* device name */
	char driver[64];   /* driver name */
	uint8_t dev_id;
	uint8_t cpu_crypto; /* 1: synchronous CPU crypto API; 0: enqueue/dequeue */
	uint8_t sgl;        /* ST_CRYPTODEV_SGL_*: the transforms for which scattered
	                       packets (st_pkt.segs) run on the device, on the path
	                       sessions created now take; for the others each one
	                       runs alone on EVP (counted in fb_ops) */
	uint16_t nb_qp;
	uint32_t sessions; /* open sessions (device sessions, all directions) */
};

/* ST_OK, or ST_ERR_STATE when not set up. */
int st_cryptodev_info(struct st_cryptodev_info *info);

/*
 * 1 when the set-up device can run `cipher` (and `mac` for non-AEAD) itself,
 * 0 when sessions of that suite fall back to EVP.
 */
int st_cryptodev_supports(const struct st_cipher_info *cipher, const struct st_mac_info *mac);

/*
 * Forces the enqueue/dequeue path even on a CPU-crypto device (applies to
 * sessions created afterwards): the daemon's `CryptoMode ops`, and the unit
 * tests' way to run a software PMD the way hardware runs (AES-GCM is then
 * sealed asynchronously, st_crypto_dir.async).
 */
void st_cryptodev_force_ops(int on);

#endif
