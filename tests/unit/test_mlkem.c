/*
 * Unit tests for ML-KEM-768 (crypto/mlkem.c): NIST ACVP known answers from
 * tests/vectors/mlkem768_acvp.txt (read relative to the working directory,
 * which tests/run.sh sets to the repository root, or from $ST_VECTORS),
 * the FIPS 203 input checks, and round trips with random keys.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/mlkem.h"
#include "crypto/secmem.h"
#include "tests/unit/test.h"

#define VECTORS "tests/vectors/mlkem768_acvp.txt"
#define Q 3329

/* One parsed line of the vector file: its kind, tcId and up to 5 hex fields. */
struct vline {
	char kind[16];
	int tc;
	int nf;
	char name[5][8];
	char *hex[5];
};

/* Splits `line` in place; returns 0 or -1 for a malformed line. */
static int parse_line(char *line, struct vline *v)
{
	char *save = NULL, *tok;

	memset(v, 0, sizeof(*v));
	if ((tok = strtok_r(line, " \n", &save)) == NULL || strlen(tok) >= sizeof(v->kind))
		return -1;
	strcpy(v->kind, tok);
	if ((tok = strtok_r(NULL, " \n", &save)) == NULL)
		return -1;
	v->tc = atoi(tok);
	while ((tok = strtok_r(NULL, " \n", &save)) != NULL) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || v->nf == 5 || (size_t)(eq - tok) >= sizeof(v->name[0]))
			return -1;
		memcpy(v->name[v->nf], tok, (size_t)(eq - tok));
		v->hex[v->nf++] = eq + 1;
	}
	return 0;
}

/* Field `name` decoded into out, which must take exactly len bytes; 0 or -1. */
static int field(const struct vline *v, const char *name, uint8_t *out, size_t len)
{
	for (int i = 0; i < v->nf; i++) {
		if (strcmp(v->name[i], name) == 0) {
			if (strlen(v->hex[i]) != 2 * len)
				return -1;
			return st_test_unhex(v->hex[i], out, len) == len ? 0 : -1;
		}
	}
	return -1;
}

static FILE *open_vectors(void)
{
	const char *env = getenv("ST_VECTORS");

	return fopen(env != NULL ? env : VECTORS, "r");
}

static int n_keygen, n_encaps, n_decaps, n_rejected;

/* Every case of the ACVP file: keygen, encaps and decaps (valid and modified ciphertexts). */
static void test_acvp(void)
{
	static uint8_t d[32], z[32], ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN];
	static uint8_t want_ek[ST_MLKEM768_EK_LEN], want_dk[ST_MLKEM768_DK_LEN];
	static uint8_t m[32], ct[ST_MLKEM768_CT_LEN], want_ct[ST_MLKEM768_CT_LEN];
	static uint8_t ss[32], want_ss[32], decap_dk[ST_MLKEM768_DK_LEN];
	FILE *f = open_vectors();
	char *line = NULL;
	size_t cap = 0;
	int have_dk = 0, bad = 0;

	CHECK(f != NULL);
	if (f == NULL)
		return;
	while (getline(&line, &cap, f) > 0) {
		struct vline v;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (parse_line(line, &v) != 0) {
			bad++;
			continue;
		}
		if (strcmp(v.kind, "keygen") == 0) {
			if (field(&v, "d", d, 32) || field(&v, "z", z, 32) ||
			    field(&v, "ek", want_ek, sizeof(want_ek)) ||
			    field(&v, "dk", want_dk, sizeof(want_dk))) {
				bad++;
				continue;
			}
			CHECK_OK(st_mlkem768_keygen_derand(d, z, ek, dk));
			CHECK_MEM(ek, want_ek, sizeof(ek));
			CHECK_MEM(dk, want_dk, sizeof(dk));
			n_keygen++;
		} else if (strcmp(v.kind, "encaps") == 0) {
			if (field(&v, "ek", ek, sizeof(ek)) || field(&v, "m", m, 32) ||
			    field(&v, "c", want_ct, sizeof(want_ct)) || field(&v, "k", want_ss, 32)) {
				bad++;
				continue;
			}
			CHECK_OK(st_mlkem768_encaps_derand(ek, sizeof(ek), m, ct, ss));
			CHECK_MEM(ct, want_ct, sizeof(ct));
			CHECK_MEM(ss, want_ss, sizeof(ss));
			n_encaps++;
		} else if (strcmp(v.kind, "decapkey") == 0) {
			have_dk = field(&v, "dk", decap_dk, sizeof(decap_dk)) == 0;
			if (!have_dk)
				bad++;
		} else if (strcmp(v.kind, "decaps") == 0) {
			if (!have_dk || field(&v, "c", ct, sizeof(ct)) || field(&v, "k", want_ss, 32)) {
				bad++;
				continue;
			}
			CHECK_OK(st_mlkem768_decaps(decap_dk, sizeof(decap_dk), ct, sizeof(ct), ss));
			CHECK_MEM(ss, want_ss, sizeof(ss));
			n_decaps++;
			for (int i = 0; i < v.nf; i++)
				if (strcmp(v.name[i], "mod") == 0 && strcmp(v.hex[i], "1") == 0)
					n_rejected++;
		} else {
			bad++;
		}
	}
	free(line);
	fclose(f);
	CHECK_INT(bad, 0);
	CHECK_INT(n_keygen, 25);
	CHECK_INT(n_encaps, 25);
	CHECK_INT(n_decaps, 10);
	CHECK(n_rejected > 0 && n_rejected < n_decaps);
}

/* A key pair from fixed seeds, for the tests below. */
static void fixed_keys(uint8_t ek[ST_MLKEM768_EK_LEN], uint8_t dk[ST_MLKEM768_DK_LEN], uint64_t seed)
{
	uint8_t dz[64];

	st_test_fill(dz, sizeof(dz), seed);
	CHECK_OK(st_mlkem768_keygen_derand(dz, dz + 32, ek, dk));
}

/* §7.2 modulus check: any coefficient >= q (first, last, even, odd) is refused. */
static void test_modulus_check(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN], bad[ST_MLKEM768_EK_LEN];
	uint8_t m[32] = { 1 }, ct[ST_MLKEM768_CT_LEN], ss[32], ct0[ST_MLKEM768_CT_LEN], ss0[32];
	const int idx[] = { 0, 1, 2, 255, 256, 511, 767 };
	const unsigned vals[] = { Q, Q + 1, 4095 };

	fixed_keys(ek, dk, 1);
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		for (size_t j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			memcpy(bad, ek, sizeof(ek));
			st_test_set_coeff12(bad, idx[i], vals[j]);
			memset(ct, 0xaa, sizeof(ct));
			CHECK_ERR(st_mlkem768_encaps_derand(bad, sizeof(bad), m, ct, ss),
				  ST_ERR_KEX_PUBLIC_INVALID);
			CHECK_ERR(st_mlkem768_encaps(bad, sizeof(bad), ct, ss), ST_ERR_KEX_PUBLIC_INVALID);
			CHECK(ct[0] == 0xaa && ct[sizeof(ct) - 1] == 0xaa); /* untouched */
		}
	}
	/* q - 1 everywhere is in range; rho is not checked. */
	memcpy(bad, ek, sizeof(ek));
	for (int i = 0; i < 768; i++)
		st_test_set_coeff12(bad, i, Q - 1);
	memset(bad + 1152, 0xff, 32);
	CHECK_OK(st_mlkem768_encaps_derand(bad, sizeof(bad), m, ct, ss));
	/* Encapsulation is deterministic in m. */
	CHECK_OK(st_mlkem768_encaps_derand(ek, sizeof(ek), m, ct0, ss0));
	CHECK_OK(st_mlkem768_encaps_derand(ek, sizeof(ek), m, ct, ss));
	CHECK_MEM(ct, ct0, sizeof(ct));
	CHECK_MEM(ss, ss0, sizeof(ss));
}

/* Wrong lengths and NULL inputs; the §7.3 hash check of dk. */
static void test_lengths(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN + 1], dk[ST_MLKEM768_DK_LEN + 1];
	uint8_t ct[ST_MLKEM768_CT_LEN + 1], ss[32], m[32] = { 0 };

	fixed_keys(ek, dk, 2);
	CHECK_OK(st_mlkem768_encaps_derand(ek, ST_MLKEM768_EK_LEN, m, ct, ss));
	CHECK_ERR(st_mlkem768_encaps_derand(ek, ST_MLKEM768_EK_LEN - 1, m, ct, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_encaps_derand(ek, ST_MLKEM768_EK_LEN + 1, m, ct, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_encaps_derand(ek, 0, m, ct, ss), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_encaps_derand(NULL, ST_MLKEM768_EK_LEN, m, ct, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_encaps(ek, ST_MLKEM768_EK_LEN - 32, ct, ss), ST_ERR_KEX_PUBLIC_INVALID);

	CHECK_OK(st_mlkem768_decaps(dk, ST_MLKEM768_DK_LEN, ct, ST_MLKEM768_CT_LEN, ss));
	CHECK_ERR(st_mlkem768_decaps(dk, ST_MLKEM768_DK_LEN, ct, ST_MLKEM768_CT_LEN - 1, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_decaps(dk, ST_MLKEM768_DK_LEN, ct, ST_MLKEM768_CT_LEN + 1, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_decaps(dk, ST_MLKEM768_DK_LEN, NULL, ST_MLKEM768_CT_LEN, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_decaps(dk, ST_MLKEM768_DK_LEN - 1, ct, ST_MLKEM768_CT_LEN, ss),
		  ST_ERR_KEY_INVALID);
	CHECK_ERR(st_mlkem768_decaps(dk, ST_MLKEM768_DK_LEN + 1, ct, ST_MLKEM768_CT_LEN, ss),
		  ST_ERR_KEY_INVALID);
	CHECK_ERR(st_mlkem768_decaps(NULL, ST_MLKEM768_DK_LEN, ct, ST_MLKEM768_CT_LEN, ss),
		  ST_ERR_KEY_INVALID);
}

/* §7.3 hash check: a dk whose ek part or H(ek) part was changed is refused; z and dk_pke are not covered. */
static void test_dk_hash_check(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN], bad[ST_MLKEM768_DK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], ss[32], ss2[32] = { 0 };
	const size_t flips[] = { 1152, 1152 + 600, 1152 + 1183, 2336, 2367 };

	fixed_keys(ek, dk, 3);
	CHECK_OK(st_mlkem768_encaps(ek, sizeof(ek), ct, ss));
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, dk, sizeof(dk));
		bad[flips[i]] ^= 0x01;
		memset(ss2, 0x55, sizeof(ss2));
		CHECK_ERR(st_mlkem768_decaps(bad, sizeof(bad), ct, sizeof(ct), ss2), ST_ERR_KEY_INVALID);
		CHECK(ss2[0] == 0x55 && ss2[31] == 0x55); /* untouched */
	}
	/* A changed z still decapsulates a valid ciphertext to the same key. */
	memcpy(bad, dk, sizeof(dk));
	bad[2399] ^= 0x80;
	CHECK_OK(st_mlkem768_decaps(bad, sizeof(bad), ct, sizeof(ct), ss2));
	CHECK_MEM(ss2, ss, sizeof(ss));
}

/* Implicit rejection: any modified ciphertext gives J(z || c'), never K, and the same each time. */
static void test_implicit_rejection(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], bad[ST_MLKEM768_CT_LEN], ss[32], r1[32], r2[32], z2[32];
	const size_t pos[] = { 0, 1, 500, 959, 960, 1000, 1087 };

	fixed_keys(ek, dk, 4);
	CHECK_OK(st_mlkem768_encaps(ek, sizeof(ek), ct, ss));
	CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), ct, sizeof(ct), r1));
	CHECK_MEM(r1, ss, sizeof(ss));
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		memcpy(bad, ct, sizeof(ct));
		bad[pos[i]] ^= 0x04;
		CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), bad, sizeof(bad), r1));
		CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), bad, sizeof(bad), r2));
		CHECK(memcmp(r1, ss, sizeof(ss)) != 0);
		CHECK_MEM(r1, r2, sizeof(r1));
	}
	/* The rejection key depends on z: another z, another key. */
	memcpy(bad, ct, sizeof(ct));
	bad[7] ^= 0x10;
	CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), bad, sizeof(bad), r1));
	memcpy(z2, dk + ST_MLKEM768_DK_LEN - 32, 32);
	dk[ST_MLKEM768_DK_LEN - 1] ^= 1;
	CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), bad, sizeof(bad), r2));
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	st_wipe(z2, sizeof(z2));
}

/* Random keys and messages: decapsulation recovers encapsulation's key. */
static void test_round_trips(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN], ek2[ST_MLKEM768_EK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], ss[32], ss2[32];

	for (int i = 0; i < 50; i++) {
		CHECK_OK(st_mlkem768_keygen(ek, dk));
		CHECK_MEM(dk + 1152, ek, sizeof(ek)); /* dk embeds ek */
		CHECK_OK(st_mlkem768_encaps(ek, sizeof(ek), ct, ss));
		CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), ct, sizeof(ct), ss2));
		CHECK_MEM(ss, ss2, sizeof(ss));
		if (st_test_failures() > 0)
			break;
	}
	/* Two key generations differ. */
	CHECK_OK(st_mlkem768_keygen(ek2, dk));
	CHECK(memcmp(ek, ek2, sizeof(ek)) != 0);
}

int main(void)
{
	RUN(test_acvp);
	RUN(test_modulus_check);
	RUN(test_lengths);
	RUN(test_dk_hash_check);
	RUN(test_implicit_rejection);
	RUN(test_round_trips);
	printf("mlkem: ACVP cases: %d keygen, %d encaps, %d decaps (%d implicit rejections)\n",
	       n_keygen, n_encaps, n_decaps, n_rejected);
	return st_test_done("mlkem");
}
