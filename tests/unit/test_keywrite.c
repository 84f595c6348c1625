/* Writing new private keys (crypto/keywrite.c), as `sshterm -G` does for host keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/keyfile.h"
#include "tests/unit/test.h"

static void test_write_load_roundtrip(void)
{
	char dir[] = "/tmp/sshterm-kw-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	static const struct {
		enum st_key_type type;
		int bits;
		const char *name;
	} v[] = {{ST_KEY_ED25519, 0, "ed"}, {ST_KEY_ECDSA_P256, 256, "ec"}, {ST_KEY_RSA, 3072, "rsa"}};
	for (size_t i = 0; i < 3; i++) {
		char path[128], pub[140];
		struct st_key *k = NULL, *back = NULL, *pk = NULL;
		char comment[64];
		snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
		snprintf(pub, sizeof(pub), "%s.pub", path);
		CHECK_OK(st_key_generate(v[i].type, v[i].bits, &k));
		CHECK_OK(st_keyfile_write_private(k, path, "host"));
		struct stat st;
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
		CHECK_OK(st_keyfile_load_private(path, &back));
		CHECK_OK(st_keyfile_load_public(pub, &pk, comment, sizeof(comment)));
		CHECK(back != NULL && st_key_equal_public(k, back) == 1);
		CHECK(pk != NULL && st_key_equal_public(k, pk) == 1);
		CHECK(strcmp(comment, "host") == 0);
		/* Never overwrites. */
		errno = 0;
		CHECK_ERR(st_keyfile_write_private(k, path, "again"), ST_ERR_SYSTEM);
		CHECK_INT(errno, EEXIST);
		struct st_key *again = NULL;
		CHECK_OK(st_keyfile_load_private(path, &again));
		CHECK(again != NULL && st_key_equal_public(k, again) == 1);
		/* OpenSSH reads what we wrote (its PKCS#8 reader has no Ed25519). */
		if (v[i].type != ST_KEY_ED25519)
			CHECK_INT(st_test_sh("ssh-keygen -y -f %s 2>/dev/null | cut -d' ' -f1,2 > %s/y1 && "
					     "cut -d' ' -f1,2 %s > %s/y2 && cmp -s %s/y1 %s/y2",
					     path, dir, pub, dir, dir, dir),
				  0);
		/* A public-only key cannot be written. */
		CHECK_ERR(st_keyfile_write_private(pk, "/nonexistent/x", NULL), ST_ERR_INVALID_ARGUMENT);
		st_key_free(k);
		st_key_free(back);
		st_key_free(pk);
		st_key_free(again);
	}
	/* Unwritable directory: error, nothing left. */
	struct st_key *k = NULL;
	CHECK_OK(st_key_generate(ST_KEY_ED25519, 0, &k));
	CHECK_ERR(st_keyfile_write_private(k, "/nonexistent-dir/key", NULL), ST_ERR_SYSTEM);
	st_key_free(k);
	st_test_sh("rm -rf %s", dir);
}

int main(void)
{
	RUN(test_write_load_roundtrip);
	return st_test_done("keywrite");
}
