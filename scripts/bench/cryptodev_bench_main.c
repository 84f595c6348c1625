/*
 * sshterm-bench-cryptodev: record-layer crypto throughput on one core, EVP
 * against DPDK cryptodev, beside the raw PMD on the same buffers.
 *
 *   sshterm-bench-cryptodev [-t SECONDS] [-s SIZE,SIZE,...] [-c SUITE,...]
 *
 * For every packet size (payload bytes of one SSH packet; default
 * 1024,16384,32768) and suite (default aes128-gcm@openssh.com,
 * aes256-gcm@openssh.com, aes128-ctr/hmac-sha2-256-etm@openssh.com) it runs,
 * each for SECONDS (default 0.5):
 *   record/evp             st_record_seal() bursts of 32 packets, EVP backend
 *   record/cryptodev(DEV)  the same on the cryptodev backend, DEV one of
 *                          crypto_aesni_mb, crypto_aesni_gcm (ipsec_mb)
 *   open/...               st_record_seal + the backend's open_burst on the
 *                          sealed packets; the "open" figure is the roundtrip
 *                          minus the seal
 *   raw/DEV                rte_cryptodev_sym_cpu_crypto_process() with an
 *                          AES-GCM encrypt session over the same 32 buffers:
 *                          what the PMD does without the record layer (the
 *                          stand-in for dpdk-test-crypto-perf, which Debian
 *                          does not ship)
 * and prints one line per measurement:
 *   RESULT <what> <suite> <size> <GB/s> <cycles/byte>
 * GB/s is 10^9 payload bytes per second; cycles are TSC cycles; both come
 * from the median burst of the run.
 * Benchmarks are not tests: nothing is asserted.
 */
#define ALLOW_EXPERIMENTAL_API 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include "crypto/backend.h"
#include "dataplane/crypto/cryptodev.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"

#define NB 32
#define MAX_SIZES 8
#define MAX_SUITES 8

struct suite {
	const char *cipher, *mac;
};

static double seconds = 0.5;

/*
 * Per-burst cycle samples; a figure is the median burst. The machines this
 * runs on are shared (CI, other builds): the median ignores bursts that were
 * preempted, where a sum over the whole run would not.
 */
#define MAX_SAMPLES (1u << 18)
struct samples {
	uint64_t *c;
	uint32_t n;
};

static void sample(struct samples *s, uint64_t cycles)
{
	if (s->n < MAX_SAMPLES)
		s->c[s->n++] = cycles;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(struct samples *s)
{
	if (s->n == 0)
		return 0;
	qsort(s->c, s->n, sizeof(s->c[0]), cmp_u64);
	return s->c[s->n / 2];
}

static struct samples s_seal, s_rt, s_raw;

static void make_keys(const struct suite *s, struct st_dir_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->cipher = st_cipher_by_name(s->cipher, strlen(s->cipher));
	k->mac = s->mac ? st_mac_by_name(s->mac, strlen(s->mac)) : NULL;
	for (size_t i = 0; i < sizeof(k->key); i++)
		k->key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(k->iv); i++)
		k->iv[i] = (uint8_t)(i * 3 + 2);
	for (size_t i = 0; i < sizeof(k->mac_key); i++)
		k->mac_key[i] = (uint8_t)(i * 5 + 3);
}

static void report(const char *what, const struct suite *s, uint32_t size, uint64_t bytes,
		   uint64_t cycles)
{
	double sec = (double)cycles / (double)rte_get_tsc_hz();
	char name[96];
	snprintf(name, sizeof(name), "%s%s%s", s->cipher, s->mac ? "/" : "", s->mac ? s->mac : "");
	printf("RESULT %-26s %-46s %6u %7.2f %6.3f\n", what, name, size,
	       (double)bytes / sec / 1e9, (double)cycles / (double)bytes);
	fflush(stdout);
}

/* A keyed sending record (through a real NEWKEYS). */
static int keyed_tx(struct st_record *r, const struct st_crypto_backend *be,
		    const struct st_dir_keys *k)
{
	uint8_t nk[256];
	struct st_record_out o = {nk + 8, sizeof(nk) - 8, 1, 0};
	int ret;

	if ((ret = st_record_init(r, be, 0)) != ST_OK ||
	    (ret = st_record_set_next_keys(r, k, NULL)) != ST_OK)
		return ret;
	o.buf[ST_RECORD_PAYLOAD_OFFSET] = SSH_MSG_NEWKEYS;
	return st_record_seal(r, &o, 1);
}

/* Seals bursts of NB packets of `size` payload bytes; optionally opens them back. */
static int bench_record(const char *label, const struct st_crypto_backend *be,
			const struct suite *s, uint32_t size, uint8_t *mem, size_t stride)
{
	struct st_record tx;
	struct st_crypto_dir rx;
	struct st_dir_keys k;
	struct st_record_out o[NB];
	struct st_pkt p[NB];
	uint64_t hz = rte_get_tsc_hz();
	char what[128];
	int ret;

	s_seal.n = s_rt.n = 0;
	make_keys(s, &k);
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	for (int i = 0; i < NB; i++) {
		o[i].buf = mem + 64 + (size_t)i * stride;
		o[i].cap = stride - 64;
		o[i].payload_len = size;
	}
	/* Seal only, then seal + open; each pass with fresh keyed directions so
	 * that sender and receiver counters agree. */
	for (int pass = 0; pass < 2; pass++) {
		st_record_free(&tx);
		st_crypto_dir_fini(&rx);
		if ((ret = keyed_tx(&tx, be, &k)) != ST_OK ||
		    (ret = st_crypto_dir_init(&rx, be, &k, 0)) != ST_OK)
			goto out;
		uint64_t start = rte_rdtsc(), end = start + (uint64_t)(seconds * (double)hz), c0;
		while ((c0 = rte_rdtsc()) < end) {
			for (int i = 0; i < NB; i++)
				o[i].buf[ST_RECORD_PAYLOAD_OFFSET] = 94;
			if ((ret = st_record_seal(&tx, o, NB)) != ST_OK)
				goto out;
			if (pass == 1) {
				for (int i = 0; i < NB; i++) {
					p[i].buf = o[i].buf;
					p[i].len = o[i].wire_len - rx.tag_len;
					p[i].seq = tx.tx.seq - NB + (uint32_t)i;
					p[i].status = ST_OK;
					p[i].segs = NULL;
					p[i].mbuf = NULL;
					p[i].nseg = 0;
				}
				if (rx.serial_open) {
					ret = ST_ERR_ALG_UNSUPPORTED; /* MtE: not benchmarked */
					goto out;
				}
				if (be->open_burst(&rx, p, NB) != NB) {
					ret = ST_ERR_CRYPTO;
					goto out;
				}
				for (int i = 0; i < NB; i++)
					if (p[i].status != ST_OK) {
						ret = p[i].status;
						goto out;
					}
				sample(&s_rt, rte_rdtsc() - c0);
			} else {
				sample(&s_seal, rte_rdtsc() - c0);
			}
		}
	}
	uint64_t burst = (uint64_t)NB * size, m_seal = median(&s_seal), m_rt = median(&s_rt);
	snprintf(what, sizeof(what), "seal/%s", label);
	report(what, s, size, burst, m_seal);
	/* open = roundtrip - seal */
	snprintf(what, sizeof(what), "open/%s", label);
	if (m_rt > m_seal)
		report(what, s, size, burst, m_rt - m_seal);
out:
	st_wipe(&k, sizeof(k));
	if (ret != ST_OK)
		fprintf(stderr, "%s %s/%s %u: %s\n", label, s->cipher, s->mac ? s->mac : "-", size,
			st_err_str(ret));
	st_record_free(&tx);
	st_crypto_dir_fini(&rx);
	return ret;
}

/* The PMD alone: AES-GCM encrypt of NB buffers of `size` bytes, CPU crypto. */
static int bench_raw(const char *dev, const struct suite *s, uint32_t size, uint8_t *mem,
		     size_t stride)
{
	struct st_cryptodev_info info;
	struct rte_crypto_sym_xform x;
	struct rte_crypto_vec vec[NB];
	struct rte_crypto_sgl sgl[NB];
	struct rte_crypto_va_iova_ptr iv[NB], aad[NB], dig[NB];
	int32_t status[NB];
	struct rte_crypto_sym_vec sv;
	union rte_crypto_sym_ofs ofs = {.raw = 0};
	uint8_t ivb[NB][16], aadb[NB][4], key[32] = {1, 2, 3};
	const struct st_cipher_info *c = st_cipher_by_name(s->cipher, strlen(s->cipher));
	struct rte_mempool *mp;
	void *sess;
	uint64_t hz = rte_get_tsc_hz();
	char what[128];

	if (c->kind != ST_CIPHER_KIND_GCM || st_cryptodev_info(&info) != ST_OK || !info.cpu_crypto)
		return ST_ERR_ALG_UNSUPPORTED;
	s_raw.n = 0;
	mp = rte_cryptodev_sym_session_pool_create(
		"bench_raw", 4, rte_cryptodev_sym_get_private_session_size(info.dev_id), 0, 0,
		SOCKET_ID_ANY);
	if (mp == NULL)
		return ST_ERR_ALLOC;
	memset(&x, 0, sizeof(x));
	x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
	x.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
	x.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
	x.aead.key.data = key;
	x.aead.key.length = c->key_len;
	x.aead.iv.offset = 0;
	x.aead.iv.length = 12;
	x.aead.digest_length = 16;
	x.aead.aad_length = 4;
	if ((sess = rte_cryptodev_sym_session_create(info.dev_id, &x, mp)) == NULL) {
		rte_mempool_free(mp);
		return ST_ERR_CRYPTO;
	}
	for (int i = 0; i < NB; i++) {
		uint8_t *b = mem + 64 + (size_t)i * stride;
		vec[i] = (struct rte_crypto_vec){.base = b, .iova = 0, .len = size, .tot_len = size};
		sgl[i] = (struct rte_crypto_sgl){.vec = &vec[i], .num = 1};
		memset(ivb[i], i, sizeof(ivb[i]));
		iv[i] = (struct rte_crypto_va_iova_ptr){.va = ivb[i]};
		aad[i] = (struct rte_crypto_va_iova_ptr){.va = aadb[i]};
		dig[i] = (struct rte_crypto_va_iova_ptr){.va = b + size};
	}
	memset(&sv, 0, sizeof(sv));
	sv.num = NB;
	sv.src_sgl = sgl;
	sv.iv = iv;
	sv.aad = aad;
	sv.digest = dig;
	sv.status = status;
	uint64_t end = rte_rdtsc() + (uint64_t)(seconds * (double)hz), c0;
	while ((c0 = rte_rdtsc()) < end) {
		if (rte_cryptodev_sym_cpu_crypto_process(info.dev_id, sess, ofs, &sv) != NB)
			break;
		sample(&s_raw, rte_rdtsc() - c0);
	}
	snprintf(what, sizeof(what), "raw/%s", dev);
	if (s_raw.n > 0)
		report(what, s, size, (uint64_t)NB * size, median(&s_raw));
	rte_cryptodev_sym_session_free(info.dev_id, sess);
	rte_mempool_free(mp);
	return ST_OK;
}

static int split(char *arg, char **out, int max)
{
	int n = 0;
	for (char *t = strtok(arg, ","); t != NULL && n < max; t = strtok(NULL, ","))
		out[n++] = t;
	return n;
}

int main(int argc, char **argv)
{
	static const struct suite defaults[] = {
		{"aes128-gcm@openssh.com", NULL},
		{"aes256-gcm@openssh.com", NULL},
		{"aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
	};
	static const char *devs[] = {"crypto_aesni_mb", "crypto_aesni_gcm"};
	struct suite suites[MAX_SUITES];
	uint32_t sizes[MAX_SIZES] = {1024, 16384, 32768};
	int nsizes = 3, nsuites = 3, opt;
	char *tok[MAX_SIZES > MAX_SUITES ? MAX_SIZES : MAX_SUITES];
	char prefix[64];

	memcpy(suites, defaults, sizeof(defaults));
	while ((opt = getopt(argc, argv, "t:s:c:")) != -1) {
		switch (opt) {
		case 't':
			seconds = atof(optarg);
			break;
		case 's':
			nsizes = split(optarg, tok, MAX_SIZES);
			for (int i = 0; i < nsizes; i++)
				sizes[i] = (uint32_t)strtoul(tok[i], NULL, 10);
			break;
		case 'c':
			nsuites = split(optarg, tok, MAX_SUITES);
			for (int i = 0; i < nsuites; i++) {
				char *slash = strchr(tok[i], '/');
				if (slash != NULL)
					*slash = '\0';
				suites[i].cipher = tok[i];
				suites[i].mac = slash != NULL ? slash + 1 : NULL;
				if (st_cipher_by_name(tok[i], strlen(tok[i])) == NULL) {
					fprintf(stderr, "unknown cipher %s\n", tok[i]);
					return 2;
				}
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-t SECONDS] [-s SIZES] [-c SUITES]\n", argv[0]);
			return 2;
		}
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=st_bench_cd_%d", (int)getpid());
	char *eal[] = {argv[0],	 "--no-huge",	   "-m", "512", "--no-pci", "--no-shconf",
		       prefix,	 "--no-telemetry", "-l", "0",	"--log-level", "error"};
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	uint32_t maxsize = 0;
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] > maxsize)
			maxsize = sizes[i];
	size_t stride = ((size_t)maxsize + 256 + 63) & ~(size_t)63;
	uint8_t *mem = aligned_alloc(64, stride * NB + 128);
	s_seal.c = calloc(MAX_SAMPLES, sizeof(uint64_t));
	s_rt.c = calloc(MAX_SAMPLES, sizeof(uint64_t));
	s_raw.c = calloc(MAX_SAMPLES, sizeof(uint64_t));
	memset(mem, 0x5a, stride * NB + 128);
	printf("# TSC %.3f GHz, %d packets per burst, %.2f s per measurement\n",
	       (double)rte_get_tsc_hz() / 1e9, NB, seconds);
	printf("#      what                       suite                                          "
	       "size    GB/s   cyc/B\n");

	for (int zi = 0; zi < nsizes; zi++)
		for (int si = 0; si < nsuites; si++)
			bench_record("evp", &st_crypto_backend_evp, &suites[si], sizes[zi], mem,
				     stride);
	for (size_t di = 0; di < sizeof(devs) / sizeof(devs[0]); di++) {
		struct st_cryptodev_info info;
		int r = st_cryptodev_setup(devs[di], 1, NULL);
		if (r != ST_OK) {
			printf("# SKIP %s: %s\n", devs[di], st_err_str(r));
			continue;
		}
		st_cryptodev_info(&info);
		char label[96];
		snprintf(label, sizeof(label), "cryptodev(%s)", info.driver);
		for (int zi = 0; zi < nsizes; zi++) {
			for (int si = 0; si < nsuites; si++) {
				const struct suite *s = &suites[si];
				if (!st_cryptodev_supports(
					    st_cipher_by_name(s->cipher, strlen(s->cipher)),
					    s->mac ? st_mac_by_name(s->mac, strlen(s->mac)) : NULL))
					continue; /* would only measure the EVP fallback */
				bench_record(label, &st_crypto_backend_cryptodev, s, sizes[zi], mem,
					     stride);
				bench_raw(info.driver, s, sizes[zi], mem, stride);
			}
		}
		st_cryptodev_teardown();
	}
	free(mem);
	free(s_seal.c);
	free(s_rt.c);
	free(s_raw.c);
	rte_eal_cleanup();
	return 0;
}
