/*
 * A small unit test framework. A test file defines functions and calls
 * RUN(fn) for each from main(), then returns st_test_done("file"), which
 * prints "<file>: N passed, N failed" and returns the exit status. A test
 * passes when none of its CHECKs failed; the first failing CHECK of a test
 * prints file:line and the expression.
 */
#ifndef ST_TESTS_UNIT_TEST_H
#define ST_TESTS_UNIT_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/err.h"

void st_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void st_test_run(const char *name, void (*fn)(void));
int st_test_done(const char *suite);
/* Number of failed checks in the current test so far. */
int st_test_failures(void);

/* Hex string to bytes; returns the byte count. Aborts the test program on bad hex. */
size_t st_test_unhex(const char *hex, uint8_t *out, size_t outsz);
/* Sets 12-bit coefficient i of a ByteEncode12 string (an ML-KEM ek) to v. */
void st_test_set_coeff12(uint8_t *a, int i, unsigned v);
/* Prints a mismatch of two byte arrays as hex. */
int st_test_mem_eq(const char *file, int line, const void *a, const void *b, size_t n,
		   const char *what);
/* Deterministic pseudo-random bytes (xorshift) for test data. */
void st_test_fill(void *p, size_t n, uint64_t seed);
/* Writes len bytes to path (created or truncated); a failure fails the current test. */
/* "<dir>/<name>" in one of 8 rotating static buffers (a few may be live at once). */
const char *st_test_path(const char *dir, const char *name);
void st_test_write_file(const char *path, const void *data, size_t len);
/* Runs a shell command, returns its exit status (or -1). */
int st_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every cipher suite of the record layer: cipher name, and MAC name or NULL (AEAD). */
struct st_test_suite {
	const char *cipher, *mac;
};
#define ST_TEST_NSUITES 11
extern const struct st_test_suite st_test_suites[ST_TEST_NSUITES];

/* Keys for suite s (names resolved), key material filled from seed. */
struct st_dir_keys;
void st_test_suite_keys(const struct st_test_suite *s, uint64_t seed, struct st_dir_keys *k);

/*
 * Starts DPDK's EAL for a unit test that needs mbufs but no port: no
 * hugepages, 64 MiB, lcore 0, a file prefix of its own. On failure prints
 * "SUITE: rte_eal_init failed" and the failing count line; returns 0 or -1.
 */
int st_test_eal_init(const char *argv0, const char *suite);

/* Ends st_test_eal_init's EAL and removes its runtime directory. */
void st_test_eal_fini(const char *suite);

/*
 * An mbuf pool of n mbufs with data_room bytes each (headroom included), or
 * NULL after printing "SUITE: no mbuf pool" and the failing count line.
 */
struct rte_mempool *st_test_mbuf_pool(const char *suite, const char *name, unsigned n,
				      uint16_t data_room);

#define RUN(fn) st_test_run(#fn, fn)

#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond))                                          \
			st_test_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define CHECK_INT(a, b)                                                                \
	do {                                                                           \
		long long _a = (long long)(a), _b = (long long)(b);                    \
		if (_a != _b)                                                          \
			st_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, \
				     #b, _a, _b);                                      \
	} while (0)

/* Expects an st error code; prints both names on mismatch. */
#define CHECK_ERR(expr, want)                                                             \
	do {                                                                              \
		int _r = (expr), _w = (want);                                             \
		if (_r != _w)                                                             \
			st_test_fail(__FILE__, __LINE__, "%s -> %s, wanted %s", #expr,    \
				     st_err_name(_r), st_err_name(_w));                   \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, ST_OK)

#define CHECK_MEM(a, b, n) st_test_mem_eq(__FILE__, __LINE__, (a), (b), (n), #a " == " #b)

#endif
