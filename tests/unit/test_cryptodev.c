/*
 * The cryptodev backend against the EVP backend, on every cryptodev this
 * machine has of crypto_aesni_mb (CPU crypto, and forced through
 * enqueue/dequeue), crypto_aesni_gcm and crypto_openssl (enqueue/dequeue):
 *   - backend level: bursts of contiguous packets sealed byte for byte alike
 *     by both, headroom restored, opened back, a tampered packet in the
 *     middle of a burst rejected alone, CTR counters carrying past 2^32;
 *   - record level (dataplane/ssh/record.c): sealed by one backend, opened by
 *     the other, both ways, sizes 1..35000, fragments, rekeys;
 *   - every single-bit flip rejected by a cryptodev receiver;
 *   - chacha20-poly1305 falls back to EVP and is counted.
 * A device this machine cannot create (no ipsec_mb) is reported as SKIP.
 *
 * EAL runs once, in memory, without hugepages or PCI; the devices are made
 * by st_cryptodev_setup() (hotplug of the vdev), so a missing PMD is a skip
 * and not an EAL init failure.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "dataplane/crypto/cryptodev.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"
#include "tests/unit/test.h"


static const struct st_crypto_backend *evp = &st_crypto_backend_evp;
static const struct st_crypto_backend *cdev = &st_crypto_backend_cryptodev;
static const char *cur_dev = "?";
static int small_queue;   /* the device runs with a 16-deep queue */
static int async_partial; /* enqueue_burst calls that took fewer than offered */

static const struct st_cipher_info *suite_cipher(const struct st_test_suite *s)
{
	return st_cipher_by_name(s->cipher, strlen(s->cipher));
}

static const struct st_mac_info *suite_mac(const struct st_test_suite *s)
{
	return s->mac ? st_mac_by_name(s->mac, strlen(s->mac)) : NULL;
}

static void make_keys(const struct st_test_suite *s, uint64_t seed, struct st_dir_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->cipher = suite_cipher(s);
	k->mac = suite_mac(s);
	st_test_fill(k->key, sizeof(k->key), seed);
	st_test_fill(k->iv, sizeof(k->iv), seed + 1);
	st_test_fill(k->mac_key, sizeof(k->mac_key), seed + 2);
}

/* ---------------- backend level ---------------- */

#define HEAD 16
#define BURST 12

/* Frames `n` packets with payload lengths lens[] contiguously after HEAD bytes. */
static size_t frame_burst(const struct st_crypto_dir *d, uint8_t *mem, const uint32_t *lens,
			  uint16_t n, struct st_pkt *p, uint64_t seed, uint32_t seq0)
{
	size_t off = HEAD;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t block = d->block_size;
		uint32_t base = 1 + lens[i] + (d->len_in_aad ? 0 : 4);
		uint32_t pad = block - base % block;
		if (pad < 4)
			pad += block;
		uint32_t plen = 1 + lens[i] + pad;
		uint8_t *b = mem + off;
		st_poke_u32(b, plen);
		b[4] = (uint8_t)pad;
		st_test_fill(b + 5, lens[i] + pad, seed + i);
		b[5] = 94;
		p[i].buf = b;
		p[i].len = 4 + plen;
		p[i].seq = seq0 + i;
		p[i].status = -999;
		p[i].segs = NULL; /* contiguous */
		p[i].mbuf = NULL;
		p[i].nseg = 0;
		off += 4 + plen + d->tag_len;
	}
	return off;
}

static void rebase(struct st_pkt *p, uint16_t n, const uint8_t *from, uint8_t *to)
{
	for (uint16_t i = 0; i < n; i++)
		p[i].buf = to + (p[i].buf - from);
}

/* Opens a burst the way the record layer does: lengths first, one at a time for MtE. */
static int open_all(struct st_crypto_dir *d, struct st_pkt *p, uint16_t n)
{
	for (uint16_t i = 0; i < n;) {
		uint16_t k = d->serial_open ? 1 : n - i;
		for (uint16_t j = i; j < i + k; j++) {
			uint32_t plen;
			int r = d->be->open_length(d, p[j].seq, p[j].buf, &plen);
			if (r != ST_OK)
				return r;
			if (plen + 4 != p[j].len)
				return ST_ERR_BAD_LENGTH;
		}
		if (d->be->open_burst(d, p + i, k) != k)
			return ST_ERR_CRYPTO;
		i += k;
	}
	return ST_OK;
}

/*
 * One burst of packets of lengths lens[] sealed by EVP and by cryptodev with
 * the same keys: identical bytes, headroom and gaps untouched; the cryptodev
 * copy opens back to the plaintext with both backends.
 */
static void burst_equal(const struct st_test_suite *s, uint64_t seed, const uint32_t *lens, uint16_t n,
			int ctr_wrap)
{
	struct st_dir_keys k;
	struct st_crypto_dir de, dc, oe, oc;
	struct st_pkt pe[BURST], pc[BURST], po[BURST];
	size_t cap = HEAD + (size_t)n * (35100 + 64);
	uint8_t *plain = malloc(cap), *a = malloc(cap), *b = malloc(cap);

	make_keys(s, seed, &k);
	if (ctr_wrap && k.cipher->kind == ST_CIPHER_KIND_CTR) {
		/* low 32 bits of the counter 7 blocks before carrying */
		memset(k.iv + 12, 0xff, 4);
		k.iv[15] = 0xf9;
	}
	memset(&de, 0, sizeof(de));
	memset(&dc, 0, sizeof(dc));
	memset(&oe, 0, sizeof(oe));
	memset(&oc, 0, sizeof(oc));
	CHECK_OK(st_crypto_dir_init(&de, evp, &k, 1));
	CHECK_OK(st_crypto_dir_init(&dc, cdev, &k, 1));
	CHECK_OK(st_crypto_dir_init(&oe, evp, &k, 0));
	CHECK_OK(st_crypto_dir_init(&oc, cdev, &k, 0));
	st_test_fill(plain, cap, seed + 7);
	size_t end = frame_burst(&de, plain, lens, n, pe, seed, 3);
	memcpy(a, plain, cap);
	memcpy(b, plain, cap);
	memcpy(pc, pe, sizeof(pe[0]) * n);
	rebase(pe, n, plain, a);
	rebase(pc, n, plain, b);
	CHECK_INT(de.be->seal_burst(&de, pe, n), n);
	CHECK_INT(dc.be->seal_burst(&dc, pc, n), n);
	if (!st_test_mem_eq(__FILE__, __LINE__, a, b, cap, "evp == cryptodev"))
		fprintf(stderr, "    %s %s/%s seed %llu n %u len0 %u\n", cur_dev, s->cipher,
			s->mac ? s->mac : "-", (unsigned long long)seed, n, lens[0]);
	/* Open the cryptodev copy with cryptodev, the EVP copy with EVP... */
	memcpy(po, pc, sizeof(po[0]) * n);
	CHECK_OK(open_all(&oc, po, n));
	for (uint16_t i = 0; i < n; i++) {
		CHECK_OK(po[i].status);
		CHECK_MEM(po[i].buf, plain + (po[i].buf - b), po[i].len);
	}
	CHECK_MEM(b, plain, HEAD);
	CHECK_OK(open_all(&oe, pe, n));
	for (uint16_t i = 0; i < n; i++)
		CHECK_OK(pe[i].status);
	CHECK_MEM(a, b, end);
	st_crypto_dir_fini(&de);
	st_crypto_dir_fini(&dc);
	st_crypto_dir_fini(&oe);
	st_crypto_dir_fini(&oc);
	st_wipe(&k, sizeof(k));
	free(plain);
	free(a);
	free(b);
}

static void test_burst_equal(void)
{
	static const uint32_t sizes[][BURST] = {
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		{15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 1400, 4000},
		{16384, 1, 32768, 2, 35000, 3, 8192, 17, 1023, 1024, 1025, 9000},
	};
	for (size_t si = 0; si < ST_TEST_NSUITES; si++)
		for (size_t z = 0; z < 3; z++)
			for (uint16_t n = 1; n <= BURST; n += 11)
				for (int wrap = 0; wrap <= 1; wrap++)
					burst_equal(&st_test_suites[si], 1000 + si * 10 + z, sizes[z], n,
						    wrap);
}

/* A tampered packet in the middle of a burst fails alone and is wiped. */
static void test_burst_tamper(void)
{
	static const uint32_t lens[BURST] = {40, 300, 1, 77, 5000, 12, 16, 2, 900, 64, 3, 1};
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct st_dir_keys k;
		struct st_crypto_dir ds, dopen;
		struct st_pkt p[BURST];
		size_t cap = HEAD + BURST * (5000 + 128);
		uint8_t *mem = calloc(1, cap), *plain = malloc(cap);

		make_keys(&st_test_suites[si], 2000 + si, &k);
		memset(&ds, 0, sizeof(ds));
		memset(&dopen, 0, sizeof(dopen));
		CHECK_OK(st_crypto_dir_init(&ds, cdev, &k, 1));
		CHECK_OK(st_crypto_dir_init(&dopen, cdev, &k, 0));
		frame_burst(&ds, mem, lens, BURST, p, 5, 0);
		memcpy(plain, mem, cap);
		CHECK_INT(ds.be->seal_burst(&ds, p, BURST), BURST);
		/* flip the last byte of packet 4's body: authenticated in every suite */
		p[4].buf[p[4].len - 1] ^= 0x10;
		if (dopen.serial_open) {
			for (uint16_t i = 0; i < BURST; i++) {
				uint32_t plen;
				CHECK_OK(dopen.be->open_length(&dopen, p[i].seq, p[i].buf, &plen));
				CHECK_INT(dopen.be->open_burst(&dopen, &p[i], 1), 1);
			}
		} else {
			CHECK_INT(dopen.be->open_burst(&dopen, p, BURST), BURST);
		}
		/* EVP's CTR stream does not advance past a rejected EtM packet (the
		 * session is dead anyway); the device computes every IV afresh. */
		int on_dev = st_cryptodev_supports(k.cipher, k.mac);
		for (uint16_t i = 0; i < BURST; i++) {
			if (i > 4 && !on_dev)
				break;
			if (i == 4) {
				CHECK_ERR(p[i].status, ST_ERR_MAC_INVALID);
				uint8_t zero[5100] = {0};
				CHECK_MEM(p[i].buf, zero, p[i].len);
			} else {
				CHECK_OK(p[i].status);
				CHECK_MEM(p[i].buf, plain + (p[i].buf - mem), p[i].len);
			}
		}
		st_crypto_dir_fini(&ds);
		st_crypto_dir_fini(&dopen);
		st_wipe(&k, sizeof(k));
		free(mem);
		free(plain);
	}
}

/*
 * enqueue_burst / dequeue_burst: 200 packets sealed in bursts of varying
 * sizes with completions drained as they come, equal byte for byte to EVP,
 * returned in order; then opened the same way with one tampered packet.
 */
static void async_one(const struct st_test_suite *s, uint64_t seed)
{
	enum { N = 200 };
	struct st_dir_keys k;
	struct st_crypto_dir de, dc, oc;
	static struct st_pkt pe[N], pc[N];
	uint32_t lens[N];
	size_t cap = HEAD + (size_t)N * (1500 + 100);
	uint8_t *plain = malloc(cap), *a = malloc(cap), *b = malloc(cap);
	uint64_t x = seed | 1;
	int partial = 0;

	for (int i = 0; i < N; i++)
		lens[i] = 1 + (uint32_t)((i * 131 + seed) % 1500);
	make_keys(s, seed, &k);
	memset(&de, 0, sizeof(de));
	memset(&dc, 0, sizeof(dc));
	memset(&oc, 0, sizeof(oc));
	CHECK_OK(st_crypto_dir_init(&de, evp, &k, 1));
	CHECK_OK(st_crypto_dir_init(&dc, cdev, &k, 1));
	CHECK_OK(st_crypto_dir_init(&oc, cdev, &k, 0));
	st_test_fill(plain, cap, seed);
	/* frame_burst takes up to BURST lengths at a time: frame N packets in one go by hand */
	size_t off = HEAD;
	for (int i = 0; i < N; i++) {
		frame_burst(&de, plain + off - HEAD, &lens[i], 1, &pe[i], seed + (uint64_t)i, 0);
		pe[i].seq = (uint32_t)i;
		off += pe[i].len + de.tag_len;
	}
	memcpy(a, plain, cap);
	memcpy(b, plain, cap);
	memcpy(pc, pe, sizeof(pe));
	rebase(pe, N, plain, a);
	rebase(pc, N, plain, b);
	CHECK_INT(de.be->seal_burst(&de, pe, N), N);

	for (int dir = 0; dir < 2; dir++) {
		struct st_crypto_dir *d = dir == 0 ? &dc : &oc;
		int taken = 0, got = 0, guard = 0;
		if (dir == 1) {
			/* open: lengths first (plain for GCM/EtM; MtE decrypts one block) */
			pc[77].buf[pc[77].len - 2] ^= 4; /* tamper one */
		}
		while (got < N && guard++ < 100000) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint16_t want = (uint16_t)(1 + x % 40);
			if (want > N - taken)
				want = (uint16_t)(N - taken);
			if (want > 0 && dir == 1 && d->serial_open) {
				uint32_t plen;
				want = 1;
				CHECK_OK(d->be->open_length(d, pc[taken].seq, pc[taken].buf, &plen));
			}
			if (want > 0) {
				int r = d->be->enqueue_burst(d, pc + taken, want);
				CHECK(r >= 0);
				if (r < 0)
					break;
				partial |= r < want;
				taken += r;
			}
			struct st_pkt *done[64];
			uint16_t n = d->be->dequeue_burst(done, (uint16_t)(1 + x % 64));
			for (uint16_t i = 0; i < n; i++, got++) {
				if (done[i] != &pc[got]) {
					st_test_fail(__FILE__, __LINE__, "%s %s: completion %d out of order",
						     cur_dev, s->cipher, got);
					got = N;
					break;
				}
				int want_st = dir == 1 && got == 77 ? ST_ERR_MAC_INVALID : ST_OK;
				CHECK_ERR(done[i]->status, want_st);
			}
		}
		CHECK_INT(got, N);
		if (dir == 0) {
			if (!st_test_mem_eq(__FILE__, __LINE__, a, b, cap, "evp == cryptodev (async)"))
				fprintf(stderr, "    %s %s/%s\n", cur_dev, s->cipher, s->mac ? s->mac : "-");
		}
	}
	/* opened: plaintext back, the tampered one wiped (EVP's CTR stream stops
	 * at a rejected EtM packet: after it only device st_test_suites are checked) */
	int on_dev = st_cryptodev_supports(k.cipher, k.mac);
	for (int i = 0; i < N; i++) {
		if (i > 77 && !on_dev)
			break;
		if (i == 77) {
			static const uint8_t zero[1600];
			CHECK_MEM(pc[i].buf, zero, pc[i].len);
		} else {
			CHECK_MEM(pc[i].buf, plain + (pc[i].buf - b), pc[i].len);
		}
	}
	async_partial += partial;
	st_crypto_dir_fini(&de);
	st_crypto_dir_fini(&dc);
	st_crypto_dir_fini(&oc);
	st_wipe(&k, sizeof(k));
	free(plain);
	free(a);
	free(b);
}

static void test_async(void)
{
	struct st_crypto_stats s0, s1;
	cdev->stats(&s0);
	for (size_t si = 0; si < ST_TEST_NSUITES; si++)
		async_one(&st_test_suites[si], 4000 + si);
	cdev->stats(&s1);
	CHECK_INT(s1.qdepth, 0);
	if (small_queue) { /* backpressure happened and was survived */
		CHECK(async_partial > 0);
		CHECK(s1.enq_fail > s0.enq_fail);
		CHECK(s1.qdepth_max > 0 && s1.qdepth_max <= 16);
	}
	CHECK(s1.auth_fail > s0.auth_fail || s1.fb_ops > s0.fb_ops);
	struct st_pkt *none[4];
	CHECK_INT(cdev->dequeue_burst(none, 4), 0);
}

/* ---------------- record level ---------------- */

struct pair {
	struct st_record tx, rx;
	struct st_buf wire;
};

static void pair_init(struct pair *p, const struct st_test_suite *s, uint64_t seed,
		      const struct st_crypto_backend *btx, const struct st_crypto_backend *brx)
{
	struct st_dir_keys k;
	uint8_t nk = SSH_MSG_NEWKEYS;
	struct st_record_msg m[1];
	unsigned n;
	size_t used;

	CHECK_OK(st_record_init(&p->tx, btx, 0));
	CHECK_OK(st_record_init(&p->rx, brx, 0));
	CHECK_OK(st_buf_alloc(&p->wire, 0, 64u << 20));
	make_keys(s, seed, &k);
	CHECK_OK(st_record_set_next_keys(&p->tx, &k, NULL));
	CHECK_OK(st_record_set_next_keys(&p->rx, NULL, &k));
	st_wipe(&k, sizeof(k));
	CHECK_OK(st_record_send(&p->tx, &nk, 1, &p->wire));
	st_record_feed(&p->rx, st_buf_ptr(&p->wire), st_buf_avail(&p->wire), &used);
	st_buf_reset(&p->wire);
	CHECK_OK(st_record_read(&p->rx, m, 1, &n));
	CHECK_INT(n, 1);
}

static void pair_free(struct pair *p)
{
	st_record_free(&p->tx);
	st_record_free(&p->rx);
	st_buf_free(&p->wire);
}

/* Feeds the wire to the receiver in fragments; checks payloads; returns the count. */
static int drain(struct pair *p, size_t frag, uint64_t seed, const uint8_t *expect,
		 const uint32_t *lens, int count)
{
	const uint8_t *w = st_buf_ptr(&p->wire);
	size_t left = st_buf_avail(&p->wire), off = 0;
	int got = 0;
	uint64_t x = seed | 1;

	while (left > 0 || got < count) {
		size_t chunk = frag, used = 0;
		if (frag > 1) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			chunk = 1 + x % frag;
		}
		if (chunk > left)
			chunk = left;
		st_record_feed(&p->rx, w, chunk, &used);
		w += used;
		left -= used;
		struct st_record_msg m[ST_RECORD_BURST];
		unsigned n;
		if (st_record_read(&p->rx, m, ST_RECORD_BURST, &n) != ST_OK)
			return -1;
		for (unsigned i = 0; i < n; i++, got++) {
			if (got >= count || m[i].len != lens[got] ||
			    memcmp(m[i].payload, expect + off, lens[got]) != 0)
				return -2;
			off += lens[got];
		}
		if (n == 0 && used == 0 && left == 0)
			break;
	}
	st_buf_reset(&p->wire);
	return got;
}

static uint32_t next_len(uint32_t len)
{
	if (len < 300)
		return len + 1;
	if (len == 35000)
		return 35001;
	return len + 997 > 35000 ? 35000 : len + 997;
}

/* Sealed by one backend, opened by the other, sizes 1..35000. */
static void test_record_cross_sizes(void)
{
	uint8_t *data = malloc(35000);
	st_test_fill(data, 35000, 7);
	data[0] = 94;
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		for (int dir = 0; dir < 2; dir++) {
			struct pair p;
			pair_init(&p, &st_test_suites[si], 100 + si, dir ? evp : cdev, dir ? cdev : evp);
			for (uint32_t len = 1; len <= 35000; len = next_len(len)) {
				CHECK_OK(st_record_send(&p.tx, data, len, &p.wire));
				int got = drain(&p, 1 << 20, 1, data, &len, 1);
				if (got != 1) {
					st_test_fail(__FILE__, __LINE__, "%s %s/%s %s len %u: %d",
						     cur_dev, st_test_suites[si].cipher,
						     st_test_suites[si].mac ? st_test_suites[si].mac : "-",
						     dir ? "evp->cryptodev" : "cryptodev->evp", len,
						     got);
					break;
				}
			}
			pair_free(&p);
		}
	}
	free(data);
}

/* Many packets in bursts, fed in fragments down to one byte, both ways. */
static void test_record_cross_fragmented(void)
{
	enum { N = 40 };
	uint32_t lens[N];
	size_t total = 0;
	for (int i = 0; i < N; i++)
		total += lens[i] = 1 + (uint32_t)((i * 977) % 2999);
	uint8_t *data = malloc(total);
	st_test_fill(data, total, 3);
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		static const size_t frags[] = {1, 100, 70000};
		for (size_t fi = 0; fi < 3; fi++) {
			for (int dir = 0; dir < 2; dir++) {
				struct pair p;
				struct st_record_out o[N];
				uint8_t *bufs = malloc(N * (3000 + 128));
				pair_init(&p, &st_test_suites[si], 200 + si, dir ? evp : cdev,
					  dir ? cdev : evp);
				/* one st_record_seal call for all N: bursts of 32 + 8 */
				size_t off = 0;
				for (int i = 0; i < N; i++) {
					o[i].buf = bufs + i * (3000 + 128) + 16;
					o[i].cap = 3000 + 100;
					o[i].payload_len = lens[i];
					memcpy(o[i].buf + ST_RECORD_PAYLOAD_OFFSET, data + off,
					       lens[i]);
					o[i].buf[ST_RECORD_PAYLOAD_OFFSET] = 94;
					off += lens[i];
				}
				CHECK_OK(st_record_seal(&p.tx, o, N));
				off = 0;
				for (int i = 0; i < N; i++) {
					CHECK_OK(st_buf_put_bytes(&p.wire, o[i].buf, o[i].wire_len));
					data[off] = 94;
					off += lens[i];
				}
				CHECK_INT(drain(&p, frags[fi], 9 + fi, data, lens, N), N);
				pair_free(&p);
				free(bufs);
			}
		}
	}
	free(data);
}

/* Rekey mid-stream to another suite (and backend mix), strict and not. */
static void test_record_cross_rekey(void)
{
	for (int strict = 0; strict <= 1; strict++) {
		for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
			for (int dir = 0; dir < 2; dir++) {
				const struct st_test_suite *s2 = &st_test_suites[(si + 3 + dir) % ST_TEST_NSUITES];
				struct pair p;
				struct st_dir_keys k;
				uint8_t data[1000], expect[3002];
				uint32_t lens[5] = {1000, 1, 1000, 1, 1000};
				uint8_t kexinit = SSH_MSG_KEXINIT, nk = SSH_MSG_NEWKEYS;

				pair_init(&p, &st_test_suites[si], 700 + si, dir ? evp : cdev,
					  dir ? cdev : evp);
				if (strict) {
					st_record_set_strict(&p.tx);
					st_record_set_strict(&p.rx);
				}
				st_test_fill(data, sizeof(data), 31);
				data[0] = 94;
				CHECK_OK(st_record_send(&p.tx, data, 1000, &p.wire));
				CHECK_OK(st_record_send(&p.tx, &kexinit, 1, &p.wire));
				CHECK_OK(st_record_send(&p.tx, data, 1000, &p.wire));
				make_keys(s2, 800 + si, &k);
				CHECK_OK(st_record_set_next_keys(&p.tx, &k, NULL));
				CHECK_OK(st_record_send(&p.tx, &nk, 1, &p.wire));
				CHECK_OK(st_record_send(&p.tx, data, 1000, &p.wire));
				memcpy(expect, data, 1000);
				expect[1000] = kexinit;
				memcpy(expect + 1001, data, 1000);
				expect[2001] = nk;
				memcpy(expect + 2002, data, 1000);
				CHECK_INT(drain(&p, 333, 5, expect, lens, 5), 4);
				CHECK_OK(st_record_set_next_keys(&p.rx, NULL, &k));
				struct st_record_msg m[2];
				unsigned n;
				CHECK_OK(st_record_read(&p.rx, m, 2, &n));
				CHECK_INT(n, 1);
				CHECK(n == 1 && m[0].len == 1000 &&
				      memcmp(m[0].payload, data, 1000) == 0);
				CHECK_INT(m[0].seq, strict ? 0 : 5);
				st_wipe(&k, sizeof(k));
				pair_free(&p);
			}
		}
	}
}

/* Every single-bit flip of an EVP-sealed packet is rejected by a cryptodev receiver. */
static void test_bitflips(void)
{
	uint8_t payload[40], filler[70000];
	st_test_fill(payload, sizeof(payload), 11);
	payload[0] = 94;
	memset(filler, 0x5a, sizeof(filler));
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct pair p;
		pair_init(&p, &st_test_suites[si], 300 + si, evp, cdev);
		CHECK_OK(st_record_send(&p.tx, payload, sizeof(payload), &p.wire));
		size_t wl = st_buf_avail(&p.wire);
		uint8_t *wire = malloc(wl);
		memcpy(wire, st_buf_ptr(&p.wire), wl);
		int accepted = 0;
		for (size_t bit = 0; bit < wl * 8; bit++) {
			struct pair q;
			pair_init(&q, &st_test_suites[si], 300 + si, evp, cdev);
			wire[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			size_t used;
			st_record_feed(&q.rx, wire, wl, &used);
			wire[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			struct st_record_msg m[4];
			unsigned n = 0;
			int r = st_record_read(&q.rx, m, 4, &n);
			for (int k = 0; r == ST_OK && n == 0 && k < 4; k++) {
				st_record_feed(&q.rx, filler, sizeof(filler), &used);
				r = st_record_read(&q.rx, m, 4, &n);
			}
			if (r == ST_OK && n > 0)
				accepted++;
			pair_free(&q);
		}
		/* and the untouched packet passes */
		struct pair q;
		pair_init(&q, &st_test_suites[si], 300 + si, evp, cdev);
		size_t used;
		st_record_feed(&q.rx, wire, wl, &used);
		struct st_record_msg m[1];
		unsigned n;
		CHECK_OK(st_record_read(&q.rx, m, 1, &n));
		CHECK_INT(n, 1);
		pair_free(&q);
		if (accepted != 0)
			st_test_fail(__FILE__, __LINE__, "%s %s/%s: %d of %zu bit flips accepted",
				     cur_dev, st_test_suites[si].cipher, st_test_suites[si].mac ? st_test_suites[si].mac : "-",
				     accepted, wl * 8);
		free(wire);
		pair_free(&p);
	}
}

/* chacha20-poly1305 runs on EVP inside the cryptodev backend, visibly. */
static void test_fallback_counted(void)
{
	struct st_crypto_stats s0, s1;
	const struct st_cipher_info *c = st_cipher_by_id(ST_CIPHER_CHACHA20_POLY1305);
	uint8_t data[500];
	struct pair p;

	CHECK(!st_cryptodev_supports(c, NULL));
	cdev->stats(&s0);
	pair_init(&p, &st_test_suites[2], 42, cdev, cdev);
	st_test_fill(data, sizeof(data), 1);
	data[0] = 94;
	for (int i = 0; i < 10; i++)
		CHECK_OK(st_record_send(&p.tx, data, sizeof(data), &p.wire));
	uint32_t lens[10];
	uint8_t expect[5000];
	for (int i = 0; i < 10; i++) {
		lens[i] = sizeof(data);
		memcpy(expect + i * sizeof(data), data, sizeof(data));
	}
	CHECK_INT(drain(&p, 1 << 20, 1, expect, lens, 10), 10);
	cdev->stats(&s1);
	CHECK_INT(s1.fallbacks - s0.fallbacks, 2);
	CHECK(s1.fb_ops - s0.fb_ops >= 20);
	CHECK_INT(s1.ops, s0.ops);
	pair_free(&p);
	/* A device suite is counted as device work, not fallback. */
	pair_init(&p, &st_test_suites[0], 43, cdev, cdev);
	CHECK_OK(st_record_send(&p.tx, data, sizeof(data), &p.wire));
	CHECK_INT(drain(&p, 1 << 20, 1, data, lens, 1), 1);
	cdev->stats(&s0);
	CHECK(s0.ops >= s1.ops + 2);
	CHECK_INT(s0.fallbacks, s1.fallbacks);
	CHECK_INT(s0.qdepth, 0);
	pair_free(&p);
}

/* Sessions are returned at close; the setup API refuses misuse. */
static void test_setup_rules(void)
{
	struct st_cryptodev_info info;
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, 0);
	CHECK(st_crypto_backend_by_name("cryptodev") == cdev);
	CHECK(st_crypto_backend_by_name("evp") == &st_crypto_backend_evp);
	CHECK(st_crypto_backend_by_name("nope") == NULL);
	CHECK_ERR(st_cryptodev_setup(NULL, 1, NULL), ST_ERR_STATE);
	CHECK_ERR(st_cryptodev_bind_qp(info.nb_qp), ST_ERR_INVALID_ARGUMENT);
	CHECK_OK(st_cryptodev_bind_qp(0));
	/* An open session blocks teardown. */
	struct st_dir_keys k;
	struct st_crypto_dir d;
	memset(&d, 0, sizeof(d));
	make_keys(&st_test_suites[3], 1, &k);
	/* CTR+HMAC: chain, cipher-only, auth-only (none when it falls back) */
	unsigned want = st_cryptodev_supports(k.cipher, k.mac) ? 3 : 0;
	CHECK_OK(st_crypto_dir_init(&d, cdev, &k, 1));
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, want);
	if (want)
		CHECK_ERR(st_cryptodev_teardown(), ST_ERR_STATE);
	/* Rekey in place: as many sessions as before, not twice as many. */
	CHECK_OK(st_crypto_dir_init(&d, cdev, &k, 1));
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, want);
	st_crypto_dir_fini(&d);
	CHECK_OK(st_cryptodev_info(&info));
	CHECK_INT(info.sessions, 0);
	st_wipe(&k, sizeof(k));
}

/* No device: the backend refuses sessions; an unknown device is not found. */
static void test_not_set_up(void)
{
	struct st_crypto_dir d;
	struct st_dir_keys k;
	struct st_cryptodev_info info;

	memset(&d, 0, sizeof(d));
	make_keys(&st_test_suites[0], 1, &k);
	CHECK(st_crypto_backend_by_name("cryptodev") == NULL); /* registered by setup */
	CHECK_ERR(st_crypto_dir_init(&d, cdev, &k, 1), ST_ERR_STATE);
	CHECK(d.be == NULL && d.priv == NULL);
	CHECK_ERR(st_cryptodev_info(&info), ST_ERR_STATE);
	CHECK_ERR(st_cryptodev_setup("no_such_cryptodev", 1, NULL), ST_ERR_NOT_FOUND);
	CHECK_OK(st_cryptodev_teardown());
	st_wipe(&k, sizeof(k));
}

/* A second worker's queue pair (the ops path uses its own pools and queue). */
static void test_second_qp(void)
{
	uint8_t data[2000];
	uint32_t lens[8];
	uint8_t expect[8 * 2000];
	struct pair p;

	st_test_fill(data, sizeof(data), 77);
	data[0] = 94;
	for (int i = 0; i < 8; i++) {
		lens[i] = sizeof(data);
		memcpy(expect + i * sizeof(data), data, sizeof(data));
	}
	CHECK_OK(st_cryptodev_bind_qp(1));
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		pair_init(&p, &st_test_suites[si], 60 + si, cdev, cdev);
		for (int i = 0; i < 8; i++)
			CHECK_OK(st_record_send(&p.tx, data, sizeof(data), &p.wire));
		CHECK_INT(drain(&p, 1 << 20, 1, expect, lens, 8), 8);
		pair_free(&p);
	}
	CHECK_OK(st_cryptodev_bind_qp(0));
}

static void run_device(const char *dev, const char *label, int force_ops, uint32_t qdesc)
{
	struct st_cryptodev_info info;
	struct st_cryptodev_conf conf = {.qp_descriptors = qdesc};
	int r = st_cryptodev_setup(dev, 2, &conf);

	if (r != ST_OK) {
		printf("  SKIP %s: st_cryptodev_setup(\"%s\"): %s (PMD not available here)\n", label,
		       dev, st_err_str(r));
		return;
	}
	st_cryptodev_force_ops(force_ops);
	small_queue = qdesc != 0 && qdesc <= 16;
	async_partial = 0;
	CHECK_OK(st_cryptodev_info(&info));
	printf("  -- %s: device %s, driver %s, %s\n", label, info.name, info.driver,
	       info.cpu_crypto && !force_ops ? "CPU crypto" : "enqueue/dequeue");
	for (size_t si = 0; si < ST_TEST_NSUITES; si++)
		if (!st_cryptodev_supports(suite_cipher(&st_test_suites[si]), suite_mac(&st_test_suites[si])))
			printf("     %s/%s: EVP fallback\n", st_test_suites[si].cipher,
			       st_test_suites[si].mac ? st_test_suites[si].mac : "-");
	cur_dev = label;
	RUN(test_setup_rules);
	RUN(test_second_qp);
	RUN(test_burst_equal);
	RUN(test_burst_tamper);
	RUN(test_async);
	RUN(test_record_cross_sizes);
	RUN(test_record_cross_fragmented);
	RUN(test_record_cross_rekey);
	RUN(test_bitflips);
	RUN(test_fallback_counted);
	CHECK_OK(st_cryptodev_teardown());
}

int main(int argc, char **argv)
{
	/* --in-memory cannot go with --no-huge (legacy memory): no shared
	 * config and a per-process prefix instead, so parallel runs never meet. */
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=st_test_cd_%d", (int)getpid());
	char *eal[] = {argv[0],	 "--no-huge",	   "-m", "256", "--no-pci", "--no-shconf",
		       prefix,	 "--no-telemetry", "-l", "0",	"--log-level", "error"};
	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		printf("  SKIP all: rte_eal_init failed\ncryptodev: 0 passed, 0 failed\n");
		return 0;
	}
	RUN(test_not_set_up);

	run_device("crypto_aesni_mb", "aesni_mb", 0, 0);
	run_device("crypto_aesni_mb", "aesni_mb/ops", 1, 0);
	run_device("crypto_aesni_mb", "aesni_mb/ops 16-deep queue", 1, 16);
	run_device("crypto_aesni_gcm", "aesni_gcm", 0, 0);
	run_device("crypto_openssl", "openssl", 0, 0);
	run_device("crypto_openssl", "openssl/16-deep queue", 0, 16);
	/* A scheduler spreading one worker's ops over two ipsec_mb devices. */
	if (rte_eal_hotplug_add("vdev", "crypto_aesni_mb_w0", "") == 0 &&
	    rte_eal_hotplug_add("vdev", "crypto_aesni_mb_w1", "") == 0)
		run_device("crypto_scheduler,worker=crypto_aesni_mb_w0,worker=crypto_aesni_mb_w1,"
			   "mode=round-robin",
			   "scheduler(2 x aesni_mb)", 0, 0);
	else
		printf("  SKIP scheduler: no ipsec_mb workers\n");
	/* the scheduler went with teardown (setup created it); now its workers */
	rte_eal_hotplug_remove("vdev", "crypto_aesni_mb_w0");
	rte_eal_hotplug_remove("vdev", "crypto_aesni_mb_w1");
	rte_eal_cleanup();
	st_test_sh("rm -rf /var/run/dpdk/st_test_cd_%d", (int)getpid()); /* EAL runtime dir */
	return st_test_done("cryptodev");
}
