#include "tests/unit/test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "crypto/cipher.h"

static int tests_passed, tests_failed, cur_failures;
static const char *cur_name = "?";

void st_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	cur_failures++;
	if (cur_failures > 5)
		return; /* one broken loop should not flood the log */
	fprintf(stderr, "  FAIL %s: %s:%d: ", cur_name, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int st_test_failures(void)
{
	return cur_failures;
}

void st_test_run(const char *name, void (*fn)(void))
{
	cur_name = name;
	cur_failures = 0;
	fn();
	if (cur_failures == 0) {
		tests_passed++;
		printf("  ok   %s\n", name);
	} else {
		tests_failed++;
		printf("  FAIL %s (%d failed checks)\n", name, cur_failures);
	}
	fflush(stdout);
}

int st_test_done(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, tests_passed, tests_failed);
	return tests_failed == 0 ? 0 : 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t st_test_unhex(const char *hex, uint8_t *out, size_t outsz)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex != '\0'; hex++) {
		if (*hex == ' ' || *hex == '\n' || *hex == ':')
			continue;
		int v = hexval((unsigned char)*hex);
		if (v < 0 || (hi < 0 && n >= outsz)) {
			fprintf(stderr, "bad hex test vector near '%s'\n", hex);
			abort();
		}
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		fprintf(stderr, "odd-length hex test vector\n");
		abort();
	}
	return n;
}

int st_test_mem_eq(const char *file, int line, const void *a, const void *b, size_t n,
		   const char *what)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			st_test_fail(file, line, "%s: differ at byte %zu of %zu (%02x != %02x)", what,
				     i, n, x[i], y[i]);
			return 0;
		}
	}
	return 1;
}

void st_test_fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *d = p;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d[i] = (uint8_t)(x >> 24);
	}
}

const char *st_test_path(const char *dir, const char *name)
{
	static char bufs[8][512];
	static unsigned i;
	char *b = bufs[i++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

void st_test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		st_test_fail(__FILE__, __LINE__, "cannot create %s", path);
		return;
	}
	if (fwrite(data, 1, len, f) != len)
		st_test_fail(__FILE__, __LINE__, "short write to %s", path);
	fclose(f);
}

int st_test_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	int r = system(cmd);
	if (r == -1 || !WIFEXITED(r))
		return -1;
	return WEXITSTATUS(r);
}

const struct st_test_suite st_test_suites[ST_TEST_NSUITES] = {
	{"aes128-gcm@openssh.com", NULL},
	{"aes256-gcm@openssh.com", NULL},
	{"chacha20-poly1305@openssh.com", NULL},
	{"aes128-ctr", "hmac-sha2-256"},
	{"aes128-ctr", "hmac-sha2-512"},
	{"aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
	{"aes128-ctr", "hmac-sha2-512-etm@openssh.com"},
	{"aes256-ctr", "hmac-sha2-256"},
	{"aes256-ctr", "hmac-sha2-512"},
	{"aes256-ctr", "hmac-sha2-256-etm@openssh.com"},
	{"aes256-ctr", "hmac-sha2-512-etm@openssh.com"},
};

int st_test_eal_init(const char *argv0, const char *suite)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=st_test_%s_%d", suite, (int)getpid());
	char *eal[] = {(char *)argv0, "--no-huge", "-m", "64", "--no-pci", "--no-shconf", prefix,
		       "--no-telemetry", "-l", "0", "--log-level", "error"};
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		printf("%s: rte_eal_init failed\n%s: 0 passed, 1 failed\n", suite, suite);
		return -1;
	}
	return 0;
}

void st_test_eal_fini(const char *suite)
{
	rte_eal_cleanup();
	st_test_sh("rm -rf /var/run/dpdk/st_test_%s_%d", suite, (int)getpid());
}

struct rte_mempool *st_test_mbuf_pool(const char *suite, const char *name, unsigned n,
				      uint16_t data_room)
{
	struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, 0, 0, data_room, 0);

	if (mp == NULL)
		printf("%s: no mbuf pool\n%s: 0 passed, 1 failed\n", suite, suite);
	return mp;
}

void st_test_suite_keys(const struct st_test_suite *s, uint64_t seed, struct st_dir_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->cipher = st_cipher_by_name(s->cipher, strlen(s->cipher));
	k->mac = s->mac ? st_mac_by_name(s->mac, strlen(s->mac)) : NULL;
	st_test_fill(k->key, sizeof(k->key), seed);
	st_test_fill(k->iv, sizeof(k->iv), seed + 1);
	st_test_fill(k->mac_key, sizeof(k->mac_key), seed + 2);
}

void st_test_set_coeff12(uint8_t *a, int i, unsigned v)
{
	uint8_t *p = a + 3 * (i / 2);

	if (i % 2 == 0) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)((p[1] & 0xf0) | ((v >> 8) & 0x0f));
	} else {
		p[1] = (uint8_t)((p[1] & 0x0f) | ((v & 0x0f) << 4));
		p[2] = (uint8_t)(v >> 4);
	}
}
