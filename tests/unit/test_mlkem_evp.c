/*
 * Unit tests for ML-KEM-768 through an OpenSSL provider (crypto/mlkem_evp.c)
 * against this project's own implementation (crypto/mlkem.c).
 *
 * With OpenSSL 3.5 or later the default provider has ML-KEM-768, so it must
 * be found, and then keys, ciphertexts and shared secrets must agree with
 * crypto/mlkem.c in both directions, implicit rejection included, and the
 * provider must refuse what FIPS 203 says to refuse. Before 3.5 it must not
 * be found, every call must say so (ST_ERR_NOT_FOUND), and the key
 * exchange keeps crypto/mlkem.c. Debian 12 has 3.0; docs/TESTING.md says
 * how the 3.5 side was run here.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/err.h"
#include "crypto/mlkem.h"
#include "crypto/mlkem_evp.h"
#include "tests/unit/test.h"

#define Q 3329

static int have_35;

/* Found exactly when libcrypto is 3.5 or later (its default provider has it). */
static void test_availability(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], ss[32];

	printf("mlkem_evp: libcrypto %s, ML-KEM-768 %s%s\n", OpenSSL_version(OPENSSL_VERSION),
	       st_mlkem768_evp_available() ? "from provider " : "not in any provider",
	       st_mlkem768_evp_available() ? st_mlkem768_evp_provider() : "");
	CHECK_INT(st_mlkem768_evp_probe(), have_35);
	CHECK_INT(st_mlkem768_evp_available(), have_35);
	if (have_35) {
		CHECK(st_mlkem768_evp_provider() != NULL);
		return;
	}
	CHECK(st_mlkem768_evp_provider() == NULL);
	CHECK_OK(st_mlkem768_keygen(ek, dk));
	CHECK_ERR(st_mlkem768_evp_keygen(ek, dk), ST_ERR_NOT_FOUND);
	CHECK_ERR(st_mlkem768_evp_encaps(ek, sizeof(ek), ct, ss), ST_ERR_NOT_FOUND);
	CHECK_ERR(st_mlkem768_evp_decaps(dk, sizeof(dk), ct, sizeof(ct), ss), ST_ERR_NOT_FOUND);
}

/* Each side's keys and ciphertexts work on the other, over many keys. */
static void test_cross(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], ss[32], ss2[32];

	for (int i = 0; i < 40 && st_test_failures() == 0; i++) {
		/* ours makes the key; the provider encapsulates; ours decapsulates */
		CHECK_OK(st_mlkem768_keygen(ek, dk));
		CHECK_OK(st_mlkem768_evp_encaps(ek, sizeof(ek), ct, ss));
		CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), ct, sizeof(ct), ss2));
		CHECK_MEM(ss, ss2, sizeof(ss));
		/* and the provider decapsulates our ciphertext to our key */
		CHECK_OK(st_mlkem768_encaps(ek, sizeof(ek), ct, ss));
		CHECK_OK(st_mlkem768_evp_decaps(dk, sizeof(dk), ct, sizeof(ct), ss2));
		CHECK_MEM(ss, ss2, sizeof(ss));
		/* the provider makes the key: the same dk layout (dk embeds ek, our hash check passes) */
		CHECK_OK(st_mlkem768_evp_keygen(ek, dk));
		CHECK_MEM(dk + 1152, ek, sizeof(ek));
		CHECK_OK(st_mlkem768_encaps(ek, sizeof(ek), ct, ss));
		CHECK_OK(st_mlkem768_evp_decaps(dk, sizeof(dk), ct, sizeof(ct), ss2));
		CHECK_MEM(ss, ss2, sizeof(ss));
		CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), ct, sizeof(ct), ss2));
		CHECK_MEM(ss, ss2, sizeof(ss));
	}
}

/* A modified ciphertext gives both implementations the same rejection key J(z || c'). */
static void test_implicit_rejection(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], ss[32], r1[32], r2[32];
	const size_t pos[] = { 0, 500, 959, 960, 1087 };

	CHECK_OK(st_mlkem768_keygen(ek, dk));
	CHECK_OK(st_mlkem768_evp_encaps(ek, sizeof(ek), ct, ss));
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		ct[pos[i]] ^= 0x02;
		CHECK_OK(st_mlkem768_evp_decaps(dk, sizeof(dk), ct, sizeof(ct), r1));
		CHECK_OK(st_mlkem768_decaps(dk, sizeof(dk), ct, sizeof(ct), r2));
		CHECK_MEM(r1, r2, sizeof(r1));
		CHECK(memcmp(r1, ss, sizeof(ss)) != 0);
		ct[pos[i]] ^= 0x02;
	}
}

/* What FIPS 203 refuses, the provider path refuses with crypto/mlkem.c's codes. */
static void test_refusals(void)
{
	static uint8_t ek[ST_MLKEM768_EK_LEN], dk[ST_MLKEM768_DK_LEN], bad[ST_MLKEM768_EK_LEN];
	uint8_t ct[ST_MLKEM768_CT_LEN], ss[32];
	const int idx[] = { 0, 1, 511, 767 };

	CHECK_OK(st_mlkem768_keygen(ek, dk));
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		memcpy(bad, ek, sizeof(ek));
		st_test_set_coeff12(bad, idx[i], Q);
		memset(ct, 0xaa, sizeof(ct));
		CHECK_ERR(st_mlkem768_evp_encaps(bad, sizeof(bad), ct, ss), ST_ERR_KEX_PUBLIC_INVALID);
		CHECK(ct[0] == 0xaa && ct[sizeof(ct) - 1] == 0xaa);
	}
	CHECK_ERR(st_mlkem768_evp_encaps(ek, sizeof(ek) - 1, ct, ss), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_evp_encaps(NULL, sizeof(ek), ct, ss), ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_OK(st_mlkem768_evp_encaps(ek, sizeof(ek), ct, ss));
	CHECK_ERR(st_mlkem768_evp_decaps(dk, sizeof(dk), ct, sizeof(ct) - 1, ss),
		  ST_ERR_KEX_PUBLIC_INVALID);
	CHECK_ERR(st_mlkem768_evp_decaps(dk, sizeof(dk) - 1, ct, sizeof(ct), ss),
		  ST_ERR_KEY_INVALID);
	/* FIPS 203 §7.3: a dk whose stored H(ek) does not match its ek */
	dk[2336] ^= 1;
	CHECK_ERR(st_mlkem768_evp_decaps(dk, sizeof(dk), ct, sizeof(ct), ss), ST_ERR_KEY_INVALID);
}

int main(void)
{
	have_35 = OpenSSL_version_num() >= 0x30500000UL;
	RUN(test_availability);
	if (have_35 && st_mlkem768_evp_available()) {
		RUN(test_cross);
		RUN(test_implicit_rejection);
		RUN(test_refusals);
	}
	return st_test_done("mlkem_evp");
}
