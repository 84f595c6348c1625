/*
 * st-mlkem-tool: TEST-ONLY driver for crypto/mlkem.c, built from its own
 * copy of mlkem.c with ST_MLKEM_CT_CHECK (valgrind client requests, no-ops
 * outside valgrind).
 *
 *   st-mlkem-tool ct [N]     constant-time check, to run under
 *                            `valgrind --error-exitcode=1`: N rounds of
 *                            keygen/encaps/decaps (valid and modified ct)
 *                            with d, z, m and the secret parts of dk
 *                            (dk_pke and z) marked undefined; a branch or
 *                            index on them is a valgrind error.
 *   st-mlkem-tool ct-leak    negative control: branches on an undefined byte on
 *                            purpose, so valgrind must report it.
 *   st-mlkem-tool serve      line protocol on stdin/stdout for
 *                            tests/crosscheck/mlkem_crosscheck.mjs, hex fields:
 *                              keygen D Z   -> "ok EK DK"
 *                              encaps EK M  -> "ok CT SS" | "err ST_ERR_..."
 *                              decaps DK CT -> "ok SS"    | "err ST_ERR_..."
 *   st-mlkem-tool bench [N]  TSC cycles per keygen, encaps and decaps (median of N).
 *   st-mlkem-tool bench-evp [N]  the same through the OpenSSL provider's ML-KEM-768
 *                            (crypto/mlkem_evp.c; OpenSSL 3.5+), exit 2 without one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_VALGRIND 1
#else
#define HAVE_VALGRIND 0
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#define RUNNING_ON_VALGRIND 0
#endif

#include <openssl/rand.h>

#include "crypto/err.h"
#include "crypto/mlkem.h"
#include "crypto/mlkem_evp.h"

#define EK ST_MLKEM768_EK_LEN
#define DK ST_MLKEM768_DK_LEN
#define CT ST_MLKEM768_CT_LEN
#define SECRET_PKE 1152 /* dk_pke: the first part of dk */

static int ct_check(int rounds)
{
	static uint8_t ek[EK], dk[DK], ct[CT], bad[CT];
	uint8_t d[32], z[32], m[32], ss[32], ss2[32], ss3[32];
	int fails = 0;

	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr, "mlkem ct: not under valgrind: only the functions run\n");
	for (int i = 0; i < rounds; i++) {
		if (RAND_bytes(d, 32) != 1 || RAND_bytes(z, 32) != 1 || RAND_bytes(m, 32) != 1)
			return 1;
		VALGRIND_MAKE_MEM_UNDEFINED(d, 32);
		VALGRIND_MAKE_MEM_UNDEFINED(z, 32);
		VALGRIND_MAKE_MEM_UNDEFINED(m, 32);
		if (st_mlkem768_keygen_derand(d, z, ek, dk) != ST_OK)
			fails++;
		/* ek (and its copy and hash in dk) is public; dk_pke and z stay secret. */
		VALGRIND_MAKE_MEM_DEFINED(ek, EK);
		VALGRIND_MAKE_MEM_DEFINED(dk + SECRET_PKE, EK + 32);
		VALGRIND_MAKE_MEM_UNDEFINED(dk, SECRET_PKE);
		VALGRIND_MAKE_MEM_UNDEFINED(dk + DK - 32, 32);
		if (st_mlkem768_encaps_derand(ek, EK, m, ct, ss) != ST_OK)
			fails++;
		VALGRIND_MAKE_MEM_DEFINED(ct, CT); /* the ciphertext is sent */
		if (st_mlkem768_decaps(dk, DK, ct, CT, ss2) != ST_OK)
			fails++;
		memcpy(bad, ct, CT);
		bad[i % CT] ^= 1;
		if (st_mlkem768_decaps(dk, DK, bad, CT, ss3) != ST_OK)
			fails++;
		/* Only to compare the results here. */
		VALGRIND_MAKE_MEM_DEFINED(ss, 32);
		VALGRIND_MAKE_MEM_DEFINED(ss2, 32);
		VALGRIND_MAKE_MEM_DEFINED(ss3, 32);
		if (memcmp(ss, ss2, 32) != 0 || memcmp(ss, ss3, 32) == 0)
			fails++;
	}
	printf("mlkem ct: %d rounds, %d wrong results%s\n", rounds, fails,
	       RUNNING_ON_VALGRIND ? " (under valgrind)" : "");
	return fails != 0;
}

static int ct_leak(void)
{
	volatile uint8_t secret[1] = { 1 };
	int r = 0;

	VALGRIND_MAKE_MEM_UNDEFINED((void *)secret, 1);
	if (secret[0] & 1) /* deliberate: the check must flag this */
		r = 1;
	printf("mlkem ct-leak: branched (%d)\n", r);
	return 0;
}

static int unhex(const char *h, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(h);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static void puthex(const uint8_t *p, size_t n)
{
	putchar(' ');
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int serve(void)
{
	static uint8_t a[DK + 1], b[DK + 1], ek[EK], dk[DK], ct[CT];
	uint8_t ss[32];
	char *line = NULL;
	size_t cap = 0, alen, blen;

	while (getline(&line, &cap, stdin) > 0) {
		char *save = NULL, *cmd = strtok_r(line, " \n", &save);
		char *x = strtok_r(NULL, " \n", &save), *y = strtok_r(NULL, " \n", &save);
		int r;

		if (cmd == NULL || x == NULL || y == NULL || unhex(x, a, sizeof(a), &alen) != 0 ||
		    unhex(y, b, sizeof(b), &blen) != 0) {
			printf("err bad-request\n");
		} else if (strcmp(cmd, "keygen") == 0 && alen == 32 && blen == 32) {
			if ((r = st_mlkem768_keygen_derand(a, b, ek, dk)) != ST_OK) {
				printf("err %s\n", st_err_name(r));
			} else {
				printf("ok");
				puthex(ek, EK);
				puthex(dk, DK);
				putchar('\n');
			}
		} else if (strcmp(cmd, "encaps") == 0 && blen == 32) {
			if ((r = st_mlkem768_encaps_derand(a, alen, b, ct, ss)) != ST_OK) {
				printf("err %s\n", st_err_name(r));
			} else {
				printf("ok");
				puthex(ct, CT);
				puthex(ss, 32);
				putchar('\n');
			}
		} else if (strcmp(cmd, "decaps") == 0) {
			if ((r = st_mlkem768_decaps(a, alen, b, blen, ss)) != ST_OK) {
				printf("err %s\n", st_err_name(r));
			} else {
				printf("ok");
				puthex(ss, 32);
				putchar('\n');
			}
		} else {
			printf("err bad-request\n");
		}
		fflush(stdout);
	}
	free(line);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct kem_impl {
	const char *name;
	int (*keygen)(uint8_t *, uint8_t *);
	int (*encaps)(const uint8_t *, size_t, uint8_t *, uint8_t *);
	int (*decaps)(const uint8_t *, size_t, const uint8_t *, size_t, uint8_t *);
};

static int bench(int n, const struct kem_impl *im)
{
	static uint8_t ek[EK], dk[DK], ct[CT];
	uint8_t ss[32], ss2[32];
	uint64_t *t[3];
	const char *names[3] = { "keygen", "encaps", "decaps" };

	for (int k = 0; k < 3; k++)
		if ((t[k] = calloc((size_t)n, sizeof(uint64_t))) == NULL)
			return 1;
	for (int i = 0; i < n; i++) {
		uint64_t c0 = __rdtsc();

		if (im->keygen(ek, dk) != ST_OK)
			return 1;
		uint64_t c1 = __rdtsc();
		if (im->encaps(ek, EK, ct, ss) != ST_OK)
			return 1;
		uint64_t c2 = __rdtsc();
		if (im->decaps(dk, DK, ct, CT, ss2) != ST_OK || memcmp(ss, ss2, 32) != 0)
			return 1;
		uint64_t c3 = __rdtsc();
		t[0][i] = c1 - c0;
		t[1][i] = c2 - c1;
		t[2][i] = c3 - c2;
	}
	for (int k = 0; k < 3; k++) {
		qsort(t[k], (size_t)n, sizeof(uint64_t), cmp_u64);
		printf("mlkem768%s %s: %llu cycles (TSC, median of %d)\n", im->name, names[k],
		       (unsigned long long)t[k][n / 2], n);
		free(t[k]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (argc >= 2 && strcmp(argv[1], "ct") == 0) {
		if (!HAVE_VALGRIND) {
			printf("mlkem ct: built without <valgrind/memcheck.h>\n");
			return 2;
		}
		return ct_check(n > 0 ? n : 20);
	}
	if (argc >= 2 && strcmp(argv[1], "ct-leak") == 0)
		return ct_leak();
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve();
	if (argc >= 2 && strcmp(argv[1], "bench") == 0) {
		static const struct kem_impl own = { "", st_mlkem768_keygen, st_mlkem768_encaps,
						     st_mlkem768_decaps };
		return bench(n > 0 ? n : 1000, &own);
	}
	if (argc >= 2 && strcmp(argv[1], "bench-evp") == 0) {
		static const struct kem_impl evp = { " (OpenSSL provider)", st_mlkem768_evp_keygen,
						     st_mlkem768_evp_encaps,
						     st_mlkem768_evp_decaps };
		if (!st_mlkem768_evp_available()) {
			fprintf(stderr, "st-mlkem-tool: no OpenSSL provider offers ML-KEM-768\n");
			return 2;
		}
		return bench(n > 0 ? n : 1000, &evp);
	}
	fprintf(stderr, "usage: %s ct [N] | serve | bench [N] | bench-evp [N]\n", argv[0]);
	return 2;
}
