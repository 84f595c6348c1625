/*
 * sshterm-bench: benchmarks (never tests: nothing here passes or fails).
 *
 *   sshterm-bench crypto [--size BYTES] [--seconds S] [--suite CIPHER[/MAC]]
 *   sshterm-bench handshake|bulk|hold [options] [user@]host [COMMAND]
 *
 * The SSH load generator (handshake, bulk, hold) is scripts/bench/loadgen.c;
 * `sshterm-bench MODE --help` lists its options. The rest of this file is the
 * crypto micro-benchmark:
 *
 * Seals bursts of SSH packets through the record layer (frame, pad, encrypt,
 * MAC in place) and opens them again on a second record (copy into the
 * reassembly buffer, length check, MAC/tag check, decrypt), on one core, and
 * prints GB/s and cycles per payload byte for each phase.
 *
 * Time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), converted to
 * cycles at the measured TSC rate: like `openssl speed`, which counts user
 * CPU time, the figures do not drop when another process takes the core.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"
#include "scripts/bench/loadgen.h"

#define BURST 32

static const char *const all_suites[] = {
	"aes128-gcm@openssh.com",
	"aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com",
	"aes128-ctr/hmac-sha2-256-etm@openssh.com",
	"aes256-ctr/hmac-sha2-512-etm@openssh.com",
	"aes128-ctr/hmac-sha2-256",
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* This thread's CPU time in nanoseconds. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* TSC ticks per second, measured against CLOCK_MONOTONIC. */
static double tsc_hz(void)
{
	double t0 = now_s();
	uint64_t c0 = __rdtsc();
	while (now_s() - t0 < 0.2)
		;
	return (double)(__rdtsc() - c0) / (now_s() - t0);
}

static int suite_keys(const char *spec, struct st_dir_keys *k)
{
	const char *slash = strchr(spec, '/');
	size_t clen = slash ? (size_t)(slash - spec) : strlen(spec);

	memset(k, 0, sizeof(*k));
	k->cipher = st_cipher_by_name(spec, clen);
	if (k->cipher == NULL)
		return ST_ERR_ALG_UNSUPPORTED;
	if (!st_cipher_is_aead(k->cipher)) {
		if (slash == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
		k->mac = st_mac_by_name(slash + 1, strlen(slash + 1));
		if (k->mac == NULL)
			return ST_ERR_ALG_UNSUPPORTED;
	}
	for (size_t i = 0; i < sizeof(k->key); i++)
		k->key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(k->iv); i++)
		k->iv[i] = (uint8_t)(i * 3 + 5);
	for (size_t i = 0; i < sizeof(k->mac_key); i++)
		k->mac_key[i] = (uint8_t)(i * 11 + 2);
	return ST_OK;
}

/* Keys a sender/receiver pair through a real NEWKEYS exchange. */
static int key_pair(struct st_record *tx, struct st_record *rx, const struct st_dir_keys *k)
{
	uint8_t buf[256];
	struct st_buf w;
	struct st_record_msg m;
	uint8_t nk = SSH_MSG_NEWKEYS;
	unsigned n;
	size_t used;
	int r;

	st_buf_wrap(&w, buf, sizeof(buf));
	if ((r = st_record_set_next_keys(tx, k, NULL)) != ST_OK ||
	    (r = st_record_set_next_keys(rx, NULL, k)) != ST_OK ||
	    (r = st_record_send(tx, &nk, 1, &w)) != ST_OK)
		return r;
	st_record_feed(rx, buf, w.len, &used);
	if ((r = st_record_read(rx, &m, 1, &n)) != ST_OK)
		return r;
	return n == 1 ? ST_OK : ST_ERR_STATE;
}

static int bench_suite(const char *spec, uint32_t size, double seconds, double hz)
{
	struct st_record tx, rx;
	struct st_dir_keys k;
	struct st_record_out o[BURST];
	uint8_t *bufs[BURST];
	size_t cap;
	uint64_t seal_ns = 0, open_ns = 0, bytes = 0;
	int r;

	if ((r = suite_keys(spec, &k)) != ST_OK) {
		fprintf(stderr, "%s: %s\n", spec, st_err_str(r));
		return r;
	}
	if ((r = st_record_init(&tx, &st_crypto_backend_evp, 0)) != ST_OK ||
	    (r = st_record_init(&rx, &st_crypto_backend_evp, 0)) != ST_OK ||
	    (r = key_pair(&tx, &rx, &k)) != ST_OK) {
		fprintf(stderr, "%s: setup: %s\n", spec, st_err_str(r));
		return r;
	}
	st_wipe(&k, sizeof(k));
	cap = st_record_seal_size(&tx, size);
	for (int i = 0; i < BURST; i++) {
		bufs[i] = calloc(1, cap);
		if (bufs[i] == NULL)
			return ST_ERR_ALLOC;
	}

	double t0 = now_s();
	while (now_s() - t0 < seconds) {
		for (int i = 0; i < BURST; i++) {
			bufs[i][ST_RECORD_PAYLOAD_OFFSET] = SSH_MSG_CHANNEL_DATA;
			o[i] = (struct st_record_out){bufs[i], cap, size, 0};
		}
		uint64_t c0 = cpu_ns();
		if ((r = st_record_seal(&tx, o, BURST)) != ST_OK)
			break;
		uint64_t c1 = cpu_ns();
		/* Receive: copy each packet into the reassembly buffer and open bursts. */
		for (int i = 0; i < BURST && r == ST_OK; i++) {
			size_t used;
			st_record_feed(&rx, bufs[i], o[i].wire_len, &used);
			if (used != o[i].wire_len) {
				struct st_record_msg m[BURST];
				unsigned n;
				if ((r = st_record_read(&rx, m, BURST, &n)) != ST_OK)
					break;
				st_record_feed(&rx, bufs[i] + used, o[i].wire_len - used, &used);
			}
		}
		unsigned total = 0;
		while (r == ST_OK && total < BURST) {
			struct st_record_msg m[BURST];
			unsigned n;
			if ((r = st_record_read(&rx, m, BURST, &n)) != ST_OK || n == 0)
				break;
			total += n;
		}
		uint64_t c2 = cpu_ns();
		if (r != ST_OK)
			break;
		seal_ns += c1 - c0;
		open_ns += c2 - c1;
		bytes += (uint64_t)BURST * size;
	}
	if (r != ST_OK) {
		fprintf(stderr, "%s: %s\n", spec, st_err_str(r));
	} else {
		double seal_gbs = (double)bytes / (double)seal_ns;
		double open_gbs = (double)bytes / (double)open_ns;
		printf("%-42s %6u %9.2f %8.3f %9.2f %8.3f\n", spec, size, seal_gbs,
		       (double)seal_ns * 1e-9 * hz / (double)bytes, open_gbs,
		       (double)open_ns * 1e-9 * hz / (double)bytes);
	}
	for (int i = 0; i < BURST; i++)
		free(bufs[i]);
	st_record_free(&tx);
	st_record_free(&rx);
	return r;
}

static int cmd_crypto(int argc, char **argv)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 't'},
		{"suite", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	uint32_t size = 32768;
	double seconds = 1.0;
	const char *only = NULL;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "s:t:c:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'c':
			only = optarg;
			break;
		default:
			return 2;
		}
	}
	if (size == 0 || size > ST_RECORD_DEFAULT_MAX_PACKET - 64 || seconds <= 0) {
		fprintf(stderr, "crypto: --size must be 1..%u and --seconds > 0\n",
			ST_RECORD_DEFAULT_MAX_PACKET - 64);
		return 2;
	}
	double hz = tsc_hz();
	printf("# record layer on the evp backend, one core, bursts of %d packets; TSC %.2f GHz\n",
	       BURST, hz / 1e9);
	printf("# payload bytes per CPU second; cycles = CPU time x TSC rate; open includes the\n"
	       "# copy into the reassembly buffer\n");
	printf("%-42s %6s %9s %8s %9s %8s\n", "suite", "size", "seal GB/s", "seal c/B",
	       "open GB/s", "open c/B");
	if (only != NULL)
		return bench_suite(only, size, seconds, hz) == ST_OK ? 0 : 1;
	for (size_t i = 0; i < sizeof(all_suites) / sizeof(all_suites[0]); i++)
		failed |= bench_suite(all_suites[i], size, seconds, hz) != ST_OK;
	return failed;
}

static void usage(void)
{
	fprintf(stderr, "usage: sshterm-bench crypto [--size BYTES] [--seconds S] "
			"[--suite CIPHER[/MAC]]\n"
			"       sshterm-bench handshake|bulk|hold [options] [user@]host [COMMAND]"
			" (--help for the options)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "crypto") == 0)
		return cmd_crypto(argc - 1, argv + 1);
	if (strcmp(argv[1], "handshake") == 0 || strcmp(argv[1], "bulk") == 0 ||
	    strcmp(argv[1], "hold") == 0)
		return lg_main(argc - 1, argv + 1);
	usage();
	return 2;
}
