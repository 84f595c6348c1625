/*
 * The DPDK cryptodev crypto backend (setup API in dataplane/crypto/cryptodev.h).
 *
 * Suites and how they map onto cryptodev transforms:
 *   aes*-gcm@openssh.com  AEAD AES-GCM, 12-byte IV (4-byte fixed field and a
 *                         64-bit invocation counter we advance per packet),
 *                         the 4-byte packet_length as AAD, 16-byte tag.
 *   aes*-ctr + hmac-sha2-*  a cipher+auth chain. The SSH MAC covers
 *                         uint32 seqno || packet, so the sequence number is
 *                         written into the 4 bytes of headroom in front of
 *                         the packet (backend.h), making the auth region
 *                         contiguous; those bytes are restored afterwards.
 *                         The CTR counter block is ours: the IV of each
 *                         packet is the running 128-bit counter.
 *                         EtM: cipher [buf+4, buf+len), auth [buf-4, buf+len).
 *                         MtE: cipher [buf, buf+len),   auth [buf-4, buf+len).
 *                         Opening runs the mirror chain with "encrypt" (the
 *                         same keystream XOR) and "generate", and compares
 *                         the tag here in constant time; the GCM tag is
 *                         checked by the PMD. Either way a packet that fails
 *                         is wiped before the record layer sees it.
 *   chacha20-poly1305@openssh.com  no cryptodev transform (it is not the
 *                         IETF AEAD): the session direction runs on EVP.
 *
 * Per direction there is one chained (or AEAD) session; CTR suites also have
 * a cipher-only and an auth-only session, used for MtE length decryption and
 * for packets whose counter would carry out of its low 32 bits (some PMDs,
 * ipsec_mb among them, count only in the low 32 bits, as IPsec does: such a
 * packet is split at the carry and its MAC computed separately).
 *
 * Two ways to run a burst, picked per device at setup:
 *   - CPU crypto (RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO, the ipsec_mb PMDs, verified
 *     by a probe at setup): rte_cryptodev_sym_cpu_crypto_process() on the
 *     packet bytes, on this core, no mbufs, no queues.
 *   - enqueue/dequeue: one rte_crypto_op per packet from the queue pair's op
 *     pool, IV and an external-buffer descriptor in the op's private area,
 *     the packet attached to a shell mbuf; enqueued in bursts on the
 *     calling thread's queue pair, never more than the queue holds; the
 *     synchronous calls (seal_burst/open_burst) drain completions until
 *     their burst is back.
 * The asynchronous pair (enqueue_burst/dequeue_burst) sends AES-GCM on an
 * enqueue/dequeue device to the device and returns at once; completions come
 * back through a per-thread window in enqueue order. Everything else
 * (CPU crypto, which is synchronous by nature; CTR+HMAC, whose in-flight
 * packets would share headroom bytes with their neighbours' tags; the EVP
 * fallback) completes inside enqueue_burst and waits in the same window.
 *
 * Nothing here allocates on the fast path; ops and mbufs come from
 * per-queue-pair pools, scratch (IVs, tags, saved headroom) is on the stack.
 */

/* The CPU crypto API and the session pool constructor are still marked
 * experimental in DPDK 22.11; this file is the only user. */
#define ALLOW_EXPERIMENTAL_API 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "dataplane/crypto/cryptodev.h"
#include "crypto/err.h"
#include "crypto/secmem.h"

#define CHUNK 32                 /* packets per device call */
#define GCM_IV_LEN 12
#define CTR_IV_LEN 16
#define AES_BLOCK 16
#define SEQ_LEN 4
/* IV position inside an op: right after the symmetric op (DPDK convention). */
#define IV_OFFSET (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
#define OP_PRIV_SIZE (CTR_IV_LEN + sizeof(struct op_priv))
#define MAX_DEQ_SPINS 100000000u /* a device that never answers is an error */

/* Per-op private area after the IV: the external-buffer descriptor. */
struct op_priv {
	struct rte_mbuf_ext_shared_info shinfo;
	struct st_pkt *pkt; /* async: the caller's packet */
	uint32_t ticket;    /* async: position in the thread's completion order */
	uint16_t idx;       /* sync: position in the burst */
	uint8_t async;
	uint8_t seal;
};

static inline struct op_priv *op_priv(struct rte_crypto_op *op)
{
	return rte_crypto_op_ctod_offset(op, struct op_priv *, IV_OFFSET + CTR_IV_LEN);
}

/* Counters of one thread: plain adds, read by st_cryptodev stats. */
struct cd_stats {
	uint64_t ops, bytes, auth_fail, enq_fail, fb_ops, errors;
	uint64_t inflight, inflight_max;
} __rte_cache_aligned;

static struct {
	int ready;
	uint8_t dev_id;
	uint8_t cpu;       /* device does CPU crypto */
	uint8_t hw;        /* device is hardware: ops carry bus addresses */
	uint8_t force_ops; /* test hook */
	uint8_t created;   /* setup hot-plugged the device: teardown removes it */
	uint16_t nb_qp;
	uint32_t qp_desc;
	struct rte_mempool *sess_pool;
	struct rte_mempool **op_pool;   /* [nb_qp] */
	struct rte_mempool **mbuf_pool; /* [nb_qp] */
	uint32_t sessions;  /* atomics: changed at session setup, not per packet */
	uint64_t fallbacks;
	char name[64], driver[64];
	/* One slot per lcore, one more for non-EAL threads (shared, best effort). */
	struct cd_stats st[RTE_MAX_LCORE + 1];
} cd;

static RTE_DEFINE_PER_LCORE(uint16_t, cd_qp);

/*
 * Asynchronous completions of one thread, in enqueue order: every packet
 * taken by enqueue_burst gets the next ticket; a packet is handed back by
 * dequeue_burst once it and every packet before it are complete. Packets the
 * backend processes on the spot (CPU crypto, CTR+HMAC, EVP fallback) are
 * complete at once; device ops when they come back. So each direction's
 * packets return in order whatever order the device completes in.
 */
#define WIN 2048 /* power of two; at most this many packets in flight per thread */
struct cd_async {
	uint32_t head, next;
	struct st_pkt *pkt[WIN];
	uint8_t ready[WIN];
};
static RTE_DEFINE_PER_LCORE(struct cd_async, cd_as);

enum cd_mode { CD_GCM, CD_ETM, CD_MTE };

struct cd_dir {
	void *sess;        /* AEAD, or the cipher+auth chain */
	void *sess_cipher; /* CTR only */
	void *sess_auth;   /* CTR only */
	uint8_t mode;
	uint8_t ops;       /* 1: enqueue/dequeue, 0: CPU crypto */
	uint8_t fallback;  /* 1: this direction runs on `evp` */
	uint8_t seal;
	uint8_t mac_len;
	uint8_t ctr[CTR_IV_LEN]; /* GCM: the 12-byte nonce; CTR: next counter block */
	struct st_crypto_dir evp;
};

/* One unit of device work: a contiguous region and its pointers. */
struct job {
	uint8_t *base;
	uint32_t len;
	uint8_t *iv;
	uint8_t *aad;
	uint8_t *digest;
	int32_t status;
};

static inline struct cd_stats *my_stats(void)
{
	unsigned l = rte_lcore_id();
	return &cd.st[l < RTE_MAX_LCORE ? l : RTE_MAX_LCORE];
}

/* ---------------- execution ---------------- */

static int exec_cpu(void *sess, union rte_crypto_sym_ofs ofs, struct job *j, uint16_t n)
{
	struct rte_crypto_vec vec[CHUNK];
	struct rte_crypto_sgl sgl[CHUNK];
	struct rte_crypto_va_iova_ptr iv[CHUNK], aad[CHUNK], dig[CHUNK];
	int32_t status[CHUNK];
	struct rte_crypto_sym_vec sv;

	for (uint16_t i = 0; i < n; i++) {
		vec[i].base = j[i].base;
		vec[i].iova = 0;
		vec[i].len = j[i].len;
		vec[i].tot_len = j[i].len;
		sgl[i].vec = &vec[i];
		sgl[i].num = 1;
		iv[i].va = j[i].iv;
		iv[i].iova = 0;
		aad[i].va = j[i].aad;
		aad[i].iova = 0;
		dig[i].va = j[i].digest;
		dig[i].iova = 0;
		status[i] = 0;
	}
	memset(&sv, 0, sizeof(sv));
	sv.num = n;
	sv.src_sgl = sgl;
	sv.iv = iv;
	sv.digest = dig;
	sv.aad = aad;
	sv.status = status;
	uint32_t ok = rte_cryptodev_sym_cpu_crypto_process(cd.dev_id, sess, ofs, &sv), bad = 0;
	for (uint16_t i = 0; i < n; i++) {
		j[i].status = status[i];
		bad += status[i] != 0;
	}
	/* Every job either succeeded or says why not; anything else is a PMD failure. */
	return ok + bad == n ? ST_OK : ST_ERR_CRYPTO;
}

/*
 * Bus addresses matter only to hardware devices, which need the packets in
 * DMA-able (DPDK) memory anyway, the dataplane's mbufs. Software devices
 * get none: a page-map lookup per op would cost more than the crypto.
 */
static inline rte_iova_t iova(const void *va)
{
	if (!cd.hw)
		return RTE_BAD_IOVA;
	return rte_mem_virt2iova(va);
}

static void ext_free_noop(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

/* Fills one op for job j; aead selects the AEAD fields of the symmetric op. */
static void op_fill(struct rte_crypto_op *op, struct rte_mbuf *m, void *sess, int aead,
		    union rte_crypto_sym_ofs ofs, const struct job *j, uint8_t iv_len)
{
	struct rte_crypto_sym_op *sym = op->sym;
	uint8_t *iv = rte_crypto_op_ctod_offset(op, uint8_t *, IV_OFFSET);
	struct op_priv *pr = op_priv(op);

	pr->shinfo.free_cb = ext_free_noop;
	pr->shinfo.fcb_opaque = NULL;
	rte_mbuf_ext_refcnt_set(&pr->shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, j->base, iova(j->base), (uint16_t)j->len, &pr->shinfo);
	m->data_len = (uint16_t)j->len;
	m->pkt_len = j->len;
	if (iv_len > 0)
		memcpy(iv, j->iv, iv_len);
	rte_crypto_op_attach_sym_session(op, sess);
	sym->m_src = m;
	sym->m_dst = NULL;
	if (aead) {
		sym->aead.data.offset = ofs.ofs.cipher.head;
		sym->aead.data.length = j->len - ofs.ofs.cipher.head - ofs.ofs.cipher.tail;
		sym->aead.aad.data = j->aad;
		sym->aead.aad.phys_addr = iova(j->aad);
		sym->aead.digest.data = j->digest;
		sym->aead.digest.phys_addr = iova(j->digest);
	} else {
		sym->cipher.data.offset = ofs.ofs.cipher.head;
		sym->cipher.data.length = j->len - ofs.ofs.cipher.head - ofs.ofs.cipher.tail;
		sym->auth.data.offset = ofs.ofs.auth.head;
		sym->auth.data.length = j->len - ofs.ofs.auth.head - ofs.ofs.auth.tail;
		sym->auth.digest.data = j->digest;
		sym->auth.digest.phys_addr = j->digest != NULL ? iova(j->digest) : 0;
	}
}

/*
 * How many more ops this thread's queue pair takes. We never offer more: some
 * PMDs (crypto_openssl in 22.11) process an op in place before finding their
 * completion ring full and then report it as not enqueued, so a retry would
 * process it twice. A ring of N descriptors holds N - 1.
 */
static inline uint16_t qp_room(const struct cd_stats *s, uint16_t want)
{
	uint64_t cap = cd.qp_desc - 1;
	uint64_t room = s->inflight < cap ? cap - s->inflight : 0;
	return room < want ? (uint16_t)room : want;
}

/* A device op of enqueue_burst came back: status, wipe, release, mark ready. */
static void async_complete(struct rte_crypto_op *op)
{
	struct op_priv *pr = op_priv(op);
	struct cd_async *as = &RTE_PER_LCORE(cd_as);
	struct cd_stats *s = my_stats();
	struct st_pkt *p = pr->pkt;

	if (op->status == RTE_CRYPTO_OP_STATUS_SUCCESS) {
		p->status = ST_OK;
	} else {
		p->status = !pr->seal && op->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED
				    ? ST_ERR_MAC_INVALID
				    : ST_ERR_CRYPTO;
		if (p->status == ST_ERR_MAC_INVALID)
			s->auth_fail++;
		else
			s->errors++;
		if (!pr->seal)
			st_wipe(p->buf, p->len); /* no unauthenticated plaintext */
	}
	s->inflight--;
	as->ready[pr->ticket & (WIN - 1)] = 1;
	rte_pktmbuf_free(op->sym->m_src);
	rte_crypto_op_free(op);
}

/*
 * Runs n jobs as ops on this thread's queue pair and waits for all of them.
 * ST_ERR_ALLOC when the pools are empty, ST_ERR_CRYPTO when the device stops
 * answering; job statuses are set otherwise.
 */
static int exec_ops(void *sess, int aead, union rte_crypto_sym_ofs ofs, struct job *j,
		    uint16_t n, uint8_t iv_len)
{
	uint16_t qp = RTE_PER_LCORE(cd_qp);
	struct rte_crypto_op *op[CHUNK], *done[CHUNK];
	struct rte_mbuf *m[CHUNK];
	struct cd_stats *s = my_stats();
	uint16_t enq = 0, deq = 0;
	uint32_t spins = 0;

	for (uint16_t i = 0; i < n; i++)
		if (j[i].len > UINT16_MAX)
			return ST_ERR_PACKET_TOO_LARGE; /* an mbuf segment's limit */
	if (rte_crypto_op_bulk_alloc(cd.op_pool[qp], RTE_CRYPTO_OP_TYPE_SYMMETRIC, op, n) != n)
		return ST_ERR_ALLOC;
	if (rte_pktmbuf_alloc_bulk(cd.mbuf_pool[qp], m, n) != 0) {
		rte_mempool_put_bulk(cd.op_pool[qp], (void **)op, n);
		return ST_ERR_ALLOC;
	}
	for (uint16_t i = 0; i < n; i++) {
		op_fill(op[i], m[i], sess, aead, ofs, &j[i], iv_len);
		op_priv(op[i])->idx = i;
		op_priv(op[i])->async = 0;
	}
	while (deq < n) {
		if (enq < n) {
			uint16_t room = qp_room(s, n - enq), k = 0;
			if (room > 0)
				k = rte_cryptodev_enqueue_burst(cd.dev_id, qp, op + enq, room);
			if (k < n - enq)
				s->enq_fail += n - enq - k; /* queue full: drain, then retry */
			enq += k;
			s->inflight += k;
			if (s->inflight > s->inflight_max)
				s->inflight_max = s->inflight;
		}
		uint16_t k = rte_cryptodev_dequeue_burst(cd.dev_id, qp, done, CHUNK), mine = 0;
		for (uint16_t i = 0; i < k; i++) {
			if (op_priv(done[i])->async) { /* enqueued earlier by enqueue_burst */
				async_complete(done[i]);
				continue;
			}
			uint16_t idx = op_priv(done[i])->idx;
			j[idx].status = done[i]->status == RTE_CRYPTO_OP_STATUS_SUCCESS ? 0
					: done[i]->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED
						? EBADMSG
						: EIO;
			mine++;
		}
		deq += mine;
		s->inflight -= mine;
		k = mine;
		if (k == 0 && ++spins > MAX_DEQ_SPINS)
			break;
	}
	for (uint16_t i = 0; i < n; i++) {
		rte_pktmbuf_free(m[i]); /* detaches the external buffer */
		rte_crypto_op_free(op[i]);
	}
	return deq == n ? ST_OK : ST_ERR_CRYPTO;
}

static int exec_jobs(const struct cd_dir *c, void *sess, int aead, union rte_crypto_sym_ofs ofs,
		     struct job *j, uint16_t n, uint8_t iv_len)
{
	if (n == 0)
		return ST_OK;
	if (c->ops)
		return exec_ops(sess, aead, ofs, j, n, iv_len);
	return exec_cpu(sess, ofs, j, n);
}

static union rte_crypto_sym_ofs mkofs(uint16_t cipher_head, uint16_t auth_head)
{
	union rte_crypto_sym_ofs o;
	o.raw = 0;
	o.ofs.cipher.head = cipher_head;
	o.ofs.auth.head = auth_head;
	return o;
}

/* ---------------- counters ---------------- */

static void gcm_iv_next(uint8_t iv[GCM_IV_LEN])
{
	for (int i = GCM_IV_LEN - 1; i >= 4; i--)
		if (++iv[i] != 0)
			break;
}

/* Adds `blocks` to a 128-bit big-endian counter block. */
static void ctr_add(uint8_t ctr[CTR_IV_LEN], uint64_t blocks)
{
	for (int i = CTR_IV_LEN - 1; i >= 0 && blocks != 0; i--) {
		uint64_t v = (uint64_t)ctr[i] + (blocks & 0xff);
		ctr[i] = (uint8_t)v;
		blocks = (blocks >> 8) + (v >> 8);
	}
}

/* Blocks before the low 32 bits of the counter carry (1..2^32). */
static uint64_t ctr_room(const uint8_t ctr[CTR_IV_LEN])
{
	uint32_t low = (uint32_t)ctr[12] << 24 | (uint32_t)ctr[13] << 16 |
		       (uint32_t)ctr[14] << 8 | ctr[15];
	return (1ull << 32) - low;
}

/*
 * XORs the keystream from counter block `ctr` into [p, p+len) with the
 * cipher-only session, split at a 32-bit carry. Advances ctr.
 */
static int ctr_xor_split(struct cd_dir *c, uint8_t *p, uint32_t len, uint8_t ctr[CTR_IV_LEN])
{
	struct job j[2];
	uint8_t iv[2][CTR_IV_LEN];
	uint64_t blocks = (len + AES_BLOCK - 1) / AES_BLOCK, room = ctr_room(ctr);
	uint16_t n = 0;
	int r;

	memcpy(iv[0], ctr, CTR_IV_LEN);
	if (blocks > room) {
		j[n++] = (struct job){p, (uint32_t)(room * AES_BLOCK), iv[0], NULL, NULL, 0};
		memcpy(iv[1], ctr, CTR_IV_LEN);
		ctr_add(iv[1], room);
		j[n++] = (struct job){p + room * AES_BLOCK, len - (uint32_t)(room * AES_BLOCK), iv[1],
				      NULL, NULL, 0};
	} else {
		j[n++] = (struct job){p, len, iv[0], NULL, NULL, 0};
	}
	if ((r = exec_jobs(c, c->sess_cipher, 0, mkofs(0, 0), j, n, CTR_IV_LEN)) != ST_OK)
		return r;
	for (uint16_t i = 0; i < n; i++)
		if (j[i].status != 0)
			return ST_ERR_CRYPTO;
	ctr_add(ctr, blocks);
	return ST_OK;
}

/* HMAC over [base, base+len) into digest, with the auth-only session. */
static int hmac_one(struct cd_dir *c, uint8_t *base, uint32_t len, uint8_t *digest)
{
	struct job j = {base, len, NULL, NULL, digest, 0};
	int r;

	if ((r = exec_jobs(c, c->sess_auth, 0, mkofs(0, 0), &j, 1, 0)) != ST_OK)
		return r;
	return j.status == 0 ? ST_OK : ST_ERR_CRYPTO;
}

/* ---------------- sessions ---------------- */

static void sess_free(void **s)
{
	if (*s != NULL) {
		rte_cryptodev_sym_session_free(cd.dev_id, *s);
		__atomic_fetch_sub(&cd.sessions, 1, __ATOMIC_RELAXED);
		*s = NULL;
	}
}

static int sess_make(struct rte_crypto_sym_xform *x, void **out)
{
	void *s = rte_cryptodev_sym_session_create(cd.dev_id, x, cd.sess_pool);

	if (s == NULL)
		return rte_errno == ENOMEM ? ST_ERR_ALLOC
		       : rte_errno == ENOTSUP ? ST_ERR_ALG_UNSUPPORTED
					      : ST_ERR_CRYPTO;
	__atomic_fetch_add(&cd.sessions, 1, __ATOMIC_RELAXED);
	*out = s;
	return ST_OK;
}

static void cipher_xform(struct rte_crypto_sym_xform *x, const struct st_dir_keys *k)
{
	memset(x, 0, sizeof(*x));
	x->type = RTE_CRYPTO_SYM_XFORM_CIPHER;
	x->cipher.op = RTE_CRYPTO_CIPHER_OP_ENCRYPT; /* CTR: the same keystream XOR */
	x->cipher.algo = RTE_CRYPTO_CIPHER_AES_CTR;
	x->cipher.key.data = k->key;
	x->cipher.key.length = k->cipher->key_len;
	x->cipher.iv.offset = IV_OFFSET;
	x->cipher.iv.length = CTR_IV_LEN;
}

static void auth_xform(struct rte_crypto_sym_xform *x, const struct st_dir_keys *k)
{
	memset(x, 0, sizeof(*x));
	x->type = RTE_CRYPTO_SYM_XFORM_AUTH;
	x->auth.op = RTE_CRYPTO_AUTH_OP_GENERATE; /* compared by us, in constant time */
	x->auth.algo = k->mac->sha512 ? RTE_CRYPTO_AUTH_SHA512_HMAC : RTE_CRYPTO_AUTH_SHA256_HMAC;
	x->auth.key.data = k->mac_key;
	x->auth.key.length = k->mac->key_len;
	x->auth.digest_length = k->mac->mac_len;
}

static void dir_release(struct cd_dir *c)
{
	sess_free(&c->sess);
	sess_free(&c->sess_cipher);
	sess_free(&c->sess_auth);
	if (c->fallback)
		st_crypto_dir_fini(&c->evp);
	st_wipe(c, sizeof(*c));
}

int st_cryptodev_supports(const struct st_cipher_info *ci, const struct st_mac_info *mac)
{
	struct rte_cryptodev_sym_capability_idx idx;
	const struct rte_cryptodev_symmetric_capability *cap;

	if (!cd.ready)
		return 0;
	switch (ci->kind) {
	case ST_CIPHER_KIND_GCM:
		idx.type = RTE_CRYPTO_SYM_XFORM_AEAD;
		idx.algo.aead = RTE_CRYPTO_AEAD_AES_GCM;
		cap = rte_cryptodev_sym_capability_get(cd.dev_id, &idx);
		return cap != NULL && rte_cryptodev_sym_capability_check_aead(
					      cap, ci->key_len, ci->tag_len, 4, GCM_IV_LEN) == 0;
	case ST_CIPHER_KIND_CTR:
		if (mac == NULL)
			return 0;
		idx.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
		idx.algo.cipher = RTE_CRYPTO_CIPHER_AES_CTR;
		cap = rte_cryptodev_sym_capability_get(cd.dev_id, &idx);
		if (cap == NULL ||
		    rte_cryptodev_sym_capability_check_cipher(cap, ci->key_len, CTR_IV_LEN) != 0)
			return 0;
		idx.type = RTE_CRYPTO_SYM_XFORM_AUTH;
		idx.algo.auth = mac->sha512 ? RTE_CRYPTO_AUTH_SHA512_HMAC : RTE_CRYPTO_AUTH_SHA256_HMAC;
		cap = rte_cryptodev_sym_capability_get(cd.dev_id, &idx);
		return cap != NULL && rte_cryptodev_sym_capability_check_auth(
					      cap, mac->key_len, mac->mac_len, 0) == 0;
	case ST_CIPHER_KIND_CHACHA:
		return 0; /* PROTOCOL.chacha20poly1305 is no cryptodev transform */
	}
	return 0;
}

static int cd_fallback(struct st_crypto_dir *d, struct cd_dir *c, const struct st_dir_keys *k)
{
	c->fallback = 1;
	c->evp = *d;
	c->evp.be = &st_crypto_backend_evp;
	c->evp.priv = NULL;
	__atomic_fetch_add(&cd.fallbacks, 1, __ATOMIC_RELAXED);
	return st_crypto_backend_evp.init(&c->evp, k);
}

static int cd_sessions(struct st_crypto_dir *d, struct cd_dir *c, const struct st_dir_keys *k)
{
	struct rte_crypto_sym_xform x[2];
	int r;

	if (d->cipher->kind == ST_CIPHER_KIND_GCM) {
		memset(x, 0, sizeof(x));
		x[0].type = RTE_CRYPTO_SYM_XFORM_AEAD;
		x[0].aead.op = d->seal ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
		x[0].aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
		x[0].aead.key.data = k->key;
		x[0].aead.key.length = d->cipher->key_len;
		x[0].aead.iv.offset = IV_OFFSET;
		x[0].aead.iv.length = GCM_IV_LEN;
		x[0].aead.digest_length = d->cipher->tag_len;
		x[0].aead.aad_length = 4;
		c->mode = CD_GCM;
		memcpy(c->ctr, k->iv, GCM_IV_LEN);
		r = sess_make(&x[0], &c->sess);
		goto out;
	}
	c->mode = d->mac->etm ? CD_ETM : CD_MTE;
	c->mac_len = d->mac->mac_len;
	memcpy(c->ctr, k->iv, CTR_IV_LEN);
	/*
	 * Seal EtM: cipher, then MAC. Seal MtE: MAC, then cipher. Open: the
	 * reverse. Always "encrypt" (CTR decryption is the same XOR) and
	 * "generate" (ctr_chunk compares tags itself), so every chain is one
	 * that PMDs support: ENCRYPT_THEN_HASH_GEN or HASH_GEN_THEN_ENCRYPT.
	 */
	int cipher_first = (c->mode == CD_ETM) == (d->seal != 0);
	cipher_xform(&x[cipher_first ? 0 : 1], k);
	auth_xform(&x[cipher_first ? 1 : 0], k);
	x[0].next = &x[1];
	x[1].next = NULL;
	if ((r = sess_make(&x[0], &c->sess)) != ST_OK)
		goto out;
	cipher_xform(&x[0], k);
	if ((r = sess_make(&x[0], &c->sess_cipher)) != ST_OK)
		goto out;
	auth_xform(&x[0], k);
	r = sess_make(&x[0], &c->sess_auth);
out:
	st_wipe(x, sizeof(x)); /* pointers only, but cheap */
	return r;
}

static int cd_init(struct st_crypto_dir *d, const struct st_dir_keys *k)
{
	struct cd_dir *c = d->priv;
	int r;

	if (!cd.ready)
		return ST_ERR_STATE;
	/* Rekey: the old sessions and key schedules go first. */
	if (c != NULL)
		dir_release(c);
	else if ((c = st_secret_alloc(sizeof(*c))) == NULL)
		return ST_ERR_ALLOC;
	d->priv = c;
	c->seal = d->seal;
	c->ops = !cd.cpu || cd.force_ops;
	if (!st_cryptodev_supports(d->cipher, d->mac))
		return cd_fallback(d, c, k);
	if ((r = cd_sessions(d, c, k)) == ST_ERR_ALG_UNSUPPORTED) {
		dir_release(c);
		c->seal = d->seal;
		return cd_fallback(d, c, k);
	}
	return r;
}

static void cd_fini(struct st_crypto_dir *d)
{
	struct cd_dir *c = d->priv;

	if (c == NULL)
		return;
	dir_release(c);
	st_secret_free(c);
	d->priv = NULL;
}

/* ---------------- the record operations ---------------- */

static int cd_open_length(struct st_crypto_dir *d, uint32_t seq, uint8_t *hdr, uint32_t *plen)
{
	struct cd_dir *c = d->priv;
	int r;

	if (c->fallback)
		return st_crypto_backend_evp.open_length(&c->evp, seq, hdr, plen);
	if (c->mode == CD_MTE) {
		/* The length is in the first cipher block: decrypt it in place with
		 * the cipher-only session. open_burst continues one block on. */
		uint8_t ctr[CTR_IV_LEN];
		memcpy(ctr, c->ctr, CTR_IV_LEN);
		if ((r = ctr_xor_split(c, hdr, d->first_len, ctr)) != ST_OK)
			return r;
	}
	*plen = st_peek_u32(hdr);
	return ST_OK;
}

static void count(uint16_t n, const struct st_pkt *p, int fb)
{
	struct cd_stats *s = my_stats();
	uint64_t b = 0;

	for (uint16_t i = 0; i < n; i++)
		b += p[i].len;
	if (fb) {
		s->fb_ops += n;
	} else {
		s->ops += n;
		s->bytes += b;
	}
}

/* GCM: packets in, jobs out; the tag sits right after each packet. */
static uint16_t gcm_chunk(struct cd_dir *c, struct st_pkt *p, uint16_t n)
{
	uint8_t iv[CHUNK][CTR_IV_LEN];
	struct job j[CHUNK];
	uint16_t i;

	for (i = 0; i < n; i++) {
		memcpy(iv[i], c->ctr, GCM_IV_LEN);
		gcm_iv_next(c->ctr);
		j[i] = (struct job){p[i].buf + 4, p[i].len - 4, iv[i], p[i].buf, p[i].buf + p[i].len,
				    0};
	}
	if (exec_jobs(c, c->sess, 1, mkofs(0, 0), j, n, GCM_IV_LEN) != ST_OK)
		return 0;
	for (i = 0; i < n; i++) {
		if (j[i].status == 0)
			p[i].status = ST_OK;
		else if (!c->seal && j[i].status == EBADMSG)
			p[i].status = ST_ERR_MAC_INVALID;
		else
			break;
	}
	return i;
}

/*
 * CTR + HMAC. The sequence numbers go into the headroom of every packet
 * (saved first, restored last). MACs are always *generated* into scratch,
 * also when opening: AES-CTR decryption is encryption, so an opening
 * direction runs the mirror-image chain (EtM open = MAC then cipher, MtE open
 * = cipher then MAC) and we compare tags here in constant time rather than
 * trusting a PMD's memcmp. Expected tags are copied out before the headroom
 * writes, since a packet's headroom may be the previous packet's tag.
 */
static uint16_t ctr_chunk(struct st_crypto_dir *d, struct cd_dir *c, struct st_pkt *p, uint16_t n)
{
	uint8_t iv[CHUNK][CTR_IV_LEN], mac[CHUNK][ST_MAC_MAX_LEN], want[CHUNK][ST_MAC_MAX_LEN];
	uint8_t saved[CHUNK][SEQ_LEN], slow[CHUNK];
	struct job j[CHUNK];
	uint16_t cipher_head, nfast = 0, i;
	int r;

	/* In the auth region [buf-4, buf+len): where the cipher starts. */
	cipher_head = c->mode == CD_ETM ? SEQ_LEN + 4 : SEQ_LEN;
	if (c->mode == CD_MTE && !c->seal)
		cipher_head += d->first_len; /* decrypted by open_length */
	for (i = 0; i < n; i++) {
		uint32_t clen = p[i].len + SEQ_LEN - cipher_head;
		uint64_t blocks = (clen + AES_BLOCK - 1) / AES_BLOCK;
		if (c->mode == CD_MTE && !c->seal)
			ctr_add(c->ctr, 1); /* the block open_length used */
		memcpy(iv[i], c->ctr, CTR_IV_LEN);
		slow[i] = blocks > ctr_room(c->ctr);
		ctr_add(c->ctr, blocks);
		if (!c->seal)
			memcpy(want[i], p[i].buf + p[i].len, c->mac_len);
	}
	for (i = 0; i < n; i++)
		memcpy(saved[i], p[i].buf - SEQ_LEN, SEQ_LEN);
	for (i = 0; i < n; i++)
		st_poke_u32(p[i].buf - SEQ_LEN, p[i].seq);
	for (i = 0; i < n; i++)
		if (!slow[i])
			j[nfast++] = (struct job){p[i].buf - SEQ_LEN, p[i].len + SEQ_LEN, iv[i], NULL,
						  mac[i], 0};
	r = exec_jobs(c, c->sess, 0, mkofs(cipher_head, 0), j, nfast, CTR_IV_LEN);
	for (i = 0, nfast = 0; r == ST_OK && i < n; i++) {
		if (!slow[i]) {
			p[i].status = j[nfast++].status == 0 ? ST_OK : ST_ERR_CRYPTO;
			continue;
		}
		/* The counter carries out of its low 32 bits inside this packet:
		 * split cipher, separate MAC, in the chain's order. */
		uint8_t *a = p[i].buf - SEQ_LEN;
		uint32_t alen = p[i].len + SEQ_LEN;
		int mac_first = (c->mode == CD_MTE) == (c->seal != 0);
		int s = ST_OK;
		if (mac_first)
			s = hmac_one(c, a, alen, mac[i]);
		if (s == ST_OK)
			s = ctr_xor_split(c, a + cipher_head, alen - cipher_head, iv[i]);
		if (s == ST_OK && !mac_first)
			s = hmac_one(c, a, alen, mac[i]);
		p[i].status = s;
		if (s != ST_OK)
			r = s;
	}
	for (i = n; i-- > 0;)
		memcpy(p[i].buf - SEQ_LEN, saved[i], SEQ_LEN);
	if (r == ST_OK) {
		for (i = 0; i < n; i++) {
			if (p[i].status != ST_OK)
				continue;
			if (c->seal)
				memcpy(p[i].buf + p[i].len, mac[i], c->mac_len);
			else if (!st_ct_equal(mac[i], want[i], c->mac_len))
				p[i].status = ST_ERR_MAC_INVALID;
		}
	}
	st_wipe(saved, sizeof(saved));
	st_wipe(mac, sizeof(mac));
	if (r != ST_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i].status != ST_OK && p[i].status != ST_ERR_MAC_INVALID)
			break;
	return i;
}

static uint16_t cd_burst(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n)
{
	struct cd_dir *c = d->priv;
	struct cd_stats *s;
	uint16_t done = 0;

	if (c->fallback) {
		uint16_t k = c->seal ? st_crypto_backend_evp.seal_burst(&c->evp, p, n)
				     : st_crypto_backend_evp.open_burst(&c->evp, p, n);
		count(k, p, 1);
		return k;
	}
	s = my_stats();
	while (done < n) {
		uint16_t m = n - done < CHUNK ? n - done : CHUNK, k;
		k = c->mode == CD_GCM ? gcm_chunk(c, p + done, m) : ctr_chunk(d, c, p + done, m);
		for (uint16_t i = 0; i < k; i++) {
			if (p[done + i].status == ST_OK)
				continue;
			s->auth_fail++;
			st_wipe(p[done + i].buf, p[done + i].len); /* no unauthenticated plaintext */
		}
		count(k, p + done, 0);
		done += k;
		if (k < m) {
			/* Device failure: the session ends; nothing half-decrypted stays. */
			s->errors++;
			for (uint16_t i = done; !c->seal && i < done + (m - k); i++)
				st_wipe(p[i].buf, p[i].len);
			break;
		}
	}
	return done;
}

/*
 * AES-GCM on an enqueue/dequeue device: ops go to the device and complete
 * later. The nonce counter advances only for the packets the device took.
 */
static int gcm_enqueue(struct cd_dir *c, struct st_pkt *p, uint16_t n)
{
	struct cd_async *as = &RTE_PER_LCORE(cd_as);
	uint16_t qp = RTE_PER_LCORE(cd_qp);
	struct rte_crypto_op *op[CHUNK];
	struct rte_mbuf *m[CHUNK];
	struct cd_stats *s = my_stats();
	uint8_t iv[GCM_IV_LEN];
	uint16_t i, k;

	for (i = 0; i < n; i++)
		if (p[i].len - 4 > UINT16_MAX)
			return ST_ERR_PACKET_TOO_LARGE;
	if ((k = qp_room(s, n)) < n) {
		s->enq_fail += n - k; /* queue full: the caller dequeues, then retries */
		if ((n = k) == 0)
			return 0;
	}
	if (rte_crypto_op_bulk_alloc(cd.op_pool[qp], RTE_CRYPTO_OP_TYPE_SYMMETRIC, op, n) != n)
		return 0; /* pools empty: as good as a full queue */
	if (rte_pktmbuf_alloc_bulk(cd.mbuf_pool[qp], m, n) != 0) {
		rte_mempool_put_bulk(cd.op_pool[qp], (void **)op, n);
		return 0;
	}
	memcpy(iv, c->ctr, GCM_IV_LEN);
	for (i = 0; i < n; i++) {
		struct job j = {p[i].buf + 4, p[i].len - 4, iv, p[i].buf, p[i].buf + p[i].len, 0};
		struct op_priv *pr = op_priv(op[i]);
		op_fill(op[i], m[i], c->sess, 1, mkofs(0, 0), &j, GCM_IV_LEN);
		pr->async = 1;
		pr->seal = c->seal;
		pr->pkt = &p[i];
		pr->ticket = as->next + i;
		as->pkt[(as->next + i) & (WIN - 1)] = &p[i];
		as->ready[(as->next + i) & (WIN - 1)] = 0;
		gcm_iv_next(iv);
	}
	k = rte_cryptodev_enqueue_burst(cd.dev_id, qp, op, n);
	if (k < n) {
		s->enq_fail += n - k; /* the device refused the rest: not processed */
		for (i = k; i < n; i++) {
			rte_pktmbuf_free(m[i]);
			rte_crypto_op_free(op[i]);
		}
	}
	for (i = 0; i < k; i++)
		gcm_iv_next(c->ctr);
	as->next += k;
	s->inflight += k;
	if (s->inflight > s->inflight_max)
		s->inflight_max = s->inflight;
	count(k, p, 0);
	return k;
}

static int cd_enqueue(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n)
{
	struct cd_dir *c = d->priv;
	struct cd_async *as = &RTE_PER_LCORE(cd_as);
	uint32_t room = WIN - (as->next - as->head);
	uint16_t done = 0;

	if (n > room)
		n = (uint16_t)room;
	if (!c->fallback && c->ops && c->mode == CD_GCM) {
		while (done < n) {
			uint16_t m = n - done < CHUNK ? n - done : CHUNK;
			int k = gcm_enqueue(c, p + done, m);
			if (k < 0)
				return k;
			done += (uint16_t)k;
			if (k < m)
				break; /* backpressure */
		}
		return done;
	}
	/* Everything else completes on the spot, in order. */
	done = cd_burst(d, p, n);
	for (uint16_t i = 0; i < done; i++) {
		as->pkt[as->next & (WIN - 1)] = &p[i];
		as->ready[as->next & (WIN - 1)] = 1;
		as->next++;
	}
	return done == n ? (int)done : ST_ERR_CRYPTO;
}

static uint16_t cd_dequeue(struct st_pkt **out, uint16_t max)
{
	struct cd_async *as = &RTE_PER_LCORE(cd_as);
	struct rte_crypto_op *op[CHUNK];
	uint16_t n = 0, k;

	if (cd.ready && as->head != as->next) {
		do {
			k = rte_cryptodev_dequeue_burst(cd.dev_id, RTE_PER_LCORE(cd_qp), op, CHUNK);
			for (uint16_t i = 0; i < k; i++)
				async_complete(op[i]); /* sync ops never outlive their call */
		} while (k == CHUNK);
	}
	while (n < max && as->head != as->next && as->ready[as->head & (WIN - 1)]) {
		as->ready[as->head & (WIN - 1)] = 0;
		out[n++] = as->pkt[as->head & (WIN - 1)];
		as->head++;
	}
	return n;
}

static void cd_stats_get(struct st_crypto_stats *out)
{
	struct st_crypto_stats t;

	memset(&t, 0, sizeof(t));
	for (unsigned i = 0; i <= RTE_MAX_LCORE; i++) {
		const struct cd_stats *s = &cd.st[i];
		t.ops += s->ops;
		t.bytes += s->bytes;
		t.auth_fail += s->auth_fail;
		t.enq_fail += s->enq_fail;
		t.fb_ops += s->fb_ops;
		t.errors += s->errors;
		t.qdepth += (uint32_t)s->inflight;
		if (s->inflight_max > t.qdepth_max)
			t.qdepth_max = (uint32_t)s->inflight_max;
	}
	t.fallbacks = __atomic_load_n(&cd.fallbacks, __ATOMIC_RELAXED);
	*out = t;
}

const struct st_crypto_backend st_crypto_backend_cryptodev = {
	.name = "cryptodev",
	.init = cd_init,
	.fini = cd_fini,
	.open_length = cd_open_length,
	.seal_burst = cd_burst,
	.open_burst = cd_burst,
	.stats = cd_stats_get,
	.enqueue_burst = cd_enqueue,
	.dequeue_burst = cd_dequeue,
};

/* ---------------- setup ---------------- */

/*
 * `dev`: NULL or "" (the first cryptodev), a device name, or a vdev to create
 * as "DRIVER[,ARGS]" (e.g. "crypto_aesni_gcm", or
 * "crypto_scheduler,worker=crypto_aesni_mb_w0,worker=crypto_aesni_mb_w1").
 */
static int find_device(const char *dev, uint8_t *id, int *created)
{
	char name[RTE_CRYPTODEV_NAME_MAX_LEN];
	const char *comma;
	size_t nl;
	int d;

	if (dev == NULL || *dev == '\0') {
		for (d = 0; d < RTE_CRYPTO_MAX_DEVS; d++)
			if (rte_cryptodev_is_valid_dev((uint8_t)d)) {
				*id = (uint8_t)d;
				return ST_OK;
			}
		return ST_ERR_NOT_FOUND;
	}
	comma = strchr(dev, ',');
	nl = comma != NULL ? (size_t)(comma - dev) : strlen(dev);
	if (nl == 0 || nl >= sizeof(name))
		return ST_ERR_INVALID_ARGUMENT;
	memcpy(name, dev, nl);
	name[nl] = '\0';
	if ((d = rte_cryptodev_get_dev_id(name)) >= 0) {
		*id = (uint8_t)d;
		return ST_OK;
	}
	if (rte_eal_hotplug_add("vdev", name, comma != NULL ? comma + 1 : "") != 0)
		return ST_ERR_NOT_FOUND;
	if ((d = rte_cryptodev_get_dev_id(name)) < 0) {
		rte_eal_hotplug_remove("vdev", name);
		return ST_ERR_NOT_FOUND;
	}
	*id = (uint8_t)d;
	*created = 1;
	return ST_OK;
}

/*
 * Some devices advertise RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO without doing it
 * (a scheduler inherits its workers' flags but has no CPU crypto op): run one
 * AES-CTR block through the CPU crypto API and trust only what works.
 */
static int probe_cpu_crypto(void)
{
	struct rte_crypto_sym_xform x;
	uint8_t key[16] = {0}, buf[16] = {0}, iv[CTR_IV_LEN] = {0};
	struct job j = {buf, sizeof(buf), iv, NULL, NULL, 0};
	struct rte_cryptodev_sym_capability_idx idx = {.type = RTE_CRYPTO_SYM_XFORM_CIPHER};
	void *sess = NULL;
	int ok;

	idx.algo.cipher = RTE_CRYPTO_CIPHER_AES_CTR;
	memset(&x, 0, sizeof(x));
	x.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
	x.cipher.op = RTE_CRYPTO_CIPHER_OP_ENCRYPT;
	x.cipher.algo = RTE_CRYPTO_CIPHER_AES_CTR;
	x.cipher.key.data = key;
	x.cipher.key.length = sizeof(key);
	x.cipher.iv.offset = IV_OFFSET;
	x.cipher.iv.length = CTR_IV_LEN;
	if (rte_cryptodev_sym_capability_get(cd.dev_id, &idx) != NULL)
		sess = rte_cryptodev_sym_session_create(cd.dev_id, &x, cd.sess_pool);
	if (sess == NULL) {
		memset(&x, 0, sizeof(x)); /* no CTR: try GCM */
		x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
		x.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
		x.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
		x.aead.key.data = key;
		x.aead.key.length = sizeof(key);
		x.aead.iv.offset = IV_OFFSET;
		x.aead.iv.length = GCM_IV_LEN;
		x.aead.digest_length = 16;
		x.aead.aad_length = 4;
		j.aad = iv;
		j.digest = iv;
		if ((sess = rte_cryptodev_sym_session_create(cd.dev_id, &x, cd.sess_pool)) == NULL)
			return 0;
	}
	ok = exec_cpu(sess, mkofs(0, 0), &j, 1) == ST_OK && j.status == 0;
	rte_cryptodev_sym_session_free(cd.dev_id, sess);
	return ok;
}

/*
 * A device setup hot-plugged goes away with teardown. Besides tidiness this
 * keeps rte_eal_cleanup() from removing a scheduler after its workers (DPDK
 * 22.11's scheduler then detaches from freed devices and crashes).
 */
static void remove_created(void)
{
	if (cd.created)
		rte_eal_hotplug_remove("vdev", cd.name);
	cd.created = 0;
}

static void free_pools(void)
{
	for (uint16_t q = 0; q < cd.nb_qp; q++) {
		if (cd.op_pool != NULL)
			rte_mempool_free(cd.op_pool[q]);
		if (cd.mbuf_pool != NULL)
			rte_mempool_free(cd.mbuf_pool[q]);
	}
	free(cd.op_pool);
	free(cd.mbuf_pool);
	cd.op_pool = cd.mbuf_pool = NULL;
	rte_mempool_free(cd.sess_pool);
	cd.sess_pool = NULL;
}

int st_cryptodev_setup(const char *dev, uint16_t nb_qp, const struct st_cryptodev_conf *conf)
{
	struct rte_cryptodev_info info;
	struct rte_cryptodev_config dc;
	struct rte_cryptodev_qp_conf qc;
	uint32_t max_sess = conf != NULL && conf->max_sessions ? conf->max_sessions : 16384;
	uint32_t desc = conf != NULL && conf->qp_descriptors ? conf->qp_descriptors : 2048;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint8_t id;
	int r, sock, created = 0;

	if (cd.ready)
		return ST_ERR_STATE;
	if (nb_qp == 0)
		nb_qp = 1;
	if ((r = find_device(dev, &id, &created)) != ST_OK)
		return r;
	cd.created = (uint8_t)created;
	snprintf(cd.name, sizeof(cd.name), "%s", rte_cryptodev_name_get(id));
	rte_cryptodev_info_get(id, &info);
	r = ST_ERR_ALG_UNSUPPORTED;
	if (!(info.feature_flags & RTE_CRYPTODEV_FF_SYMMETRIC_CRYPTO))
		goto fail;
	r = ST_ERR_INVALID_ARGUMENT;
	if (info.max_nb_queue_pairs < nb_qp)
		goto fail;
	if (info.sym.max_nb_sessions != 0 && info.sym.max_nb_sessions < max_sess)
		max_sess = info.sym.max_nb_sessions;
	sock = rte_cryptodev_socket_id(id);
	if (sock < 0)
		sock = SOCKET_ID_ANY;

	memset(&cd.st, 0, sizeof(cd.st));
	cd.dev_id = id;
	cd.nb_qp = nb_qp;
	cd.qp_desc = desc;
	cd.cpu = (info.feature_flags & RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO) != 0;
	cd.hw = (info.feature_flags & RTE_CRYPTODEV_FF_HW_ACCELERATED) != 0;
	snprintf(cd.driver, sizeof(cd.driver), "%s", info.driver_name ? info.driver_name : "?");

	r = ST_ERR_ALLOC;
	snprintf(name, sizeof(name), "st_cd_sess_%u", id);
	cd.sess_pool = rte_cryptodev_sym_session_pool_create(
		name, max_sess, rte_cryptodev_sym_get_private_session_size(id), 0, 0, sock);
	cd.op_pool = calloc(nb_qp, sizeof(*cd.op_pool));
	cd.mbuf_pool = calloc(nb_qp, sizeof(*cd.mbuf_pool));
	if (cd.sess_pool == NULL || cd.op_pool == NULL || cd.mbuf_pool == NULL)
		goto fail;
	for (uint16_t q = 0; q < nb_qp; q++) {
		/* Ops for a full device queue plus one burst; shell mbufs to match. */
		snprintf(name, sizeof(name), "st_cd_op_%u_%u", id, q);
		cd.op_pool[q] = rte_crypto_op_pool_create(name, RTE_CRYPTO_OP_TYPE_SYMMETRIC,
							  desc + CHUNK, 0, OP_PRIV_SIZE, sock);
		snprintf(name, sizeof(name), "st_cd_mb_%u_%u", id, q);
		cd.mbuf_pool[q] = rte_pktmbuf_pool_create(name, desc + CHUNK, 0, 0, 0, sock);
		if (cd.op_pool[q] == NULL || cd.mbuf_pool[q] == NULL)
			goto fail;
	}
	memset(&dc, 0, sizeof(dc));
	dc.socket_id = sock;
	dc.nb_queue_pairs = nb_qp;
	r = ST_ERR_CRYPTO;
	if (rte_cryptodev_configure(id, &dc) != 0)
		goto fail;
	memset(&qc, 0, sizeof(qc));
	qc.nb_descriptors = desc;
	qc.mp_session = cd.sess_pool;
	for (uint16_t q = 0; q < nb_qp; q++)
		if (rte_cryptodev_queue_pair_setup(id, q, &qc, sock) != 0)
			goto fail;
	if (rte_cryptodev_start(id) != 0)
		goto fail;
	if (cd.cpu)
		cd.cpu = (uint8_t)probe_cpu_crypto();
	if ((r = st_crypto_backend_register(&st_crypto_backend_cryptodev)) != ST_OK) {
		rte_cryptodev_stop(id);
		goto fail;
	}
	cd.sessions = 0;
	cd.fallbacks = 0;
	cd.force_ops = 0;
	cd.ready = 1;
	return ST_OK;
fail:
	free_pools();
	remove_created();
	return r;
}

int st_cryptodev_teardown(void)
{
	if (!cd.ready)
		return ST_OK;
	if (__atomic_load_n(&cd.sessions, __ATOMIC_RELAXED) != 0)
		return ST_ERR_STATE;
	rte_cryptodev_stop(cd.dev_id);
	rte_cryptodev_close(cd.dev_id);
	free_pools();
	remove_created();
	cd.ready = 0;
	return ST_OK;
}

int st_cryptodev_bind_qp(uint16_t qp)
{
	if (!cd.ready || qp >= cd.nb_qp)
		return ST_ERR_INVALID_ARGUMENT;
	RTE_PER_LCORE(cd_qp) = qp;
	return ST_OK;
}

int st_cryptodev_info(struct st_cryptodev_info *info)
{
	if (!cd.ready)
		return ST_ERR_STATE;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", cd.name);
	snprintf(info->driver, sizeof(info->driver), "%s", cd.driver);
	info->dev_id = cd.dev_id;
	info->cpu_crypto = cd.cpu;
	info->nb_qp = cd.nb_qp;
	info->sessions = __atomic_load_n(&cd.sessions, __ATOMIC_RELAXED);
	return ST_OK;
}

void st_cryptodev_force_ops(int on)
{
	cd.force_ops = on ? 1 : 0;
}
