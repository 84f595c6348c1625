/*
 * Unit tests for base64 (crypto/base64.c), keys and public-key lines
 * (crypto/key.c) and key files (crypto/keyfile.c), against keys that
 * ssh-keygen (and, for Ed25519 PKCS#8, openssl) make at test time in a fresh
 * temporary directory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto/base64.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "crypto/keyfile.h"
#include "crypto/sig.h"
#include "tests/unit/test.h"

#define OSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define TEXT_MAX 16384

static char tmpdir[] = "/tmp/st_test_key.XXXXXX";
static int have_dir;

/* "<tmpdir>/<name>" in one of a few rotating static buffers. */
static const char *P(const char *name)
{
	return st_test_path(tmpdir, name);
}

/* Whole file, NUL-terminated, malloc'd; NULL when unreadable. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	d = malloc(TEXT_MAX * 8 + 1);
	if (d != NULL)
		n = fread(d, 1, TEXT_MAX * 8, f);
	fclose(f);
	if (d != NULL) {
		d[n] = 0;
		*len = n;
	}
	return d;
}

static int gen_ok;

/* The keys made by setup(): file name, expected type / bits / label, comment. */
static const struct keyspec {
	const char *name;
	const char *make; /* shell command, %s = path; NULL: made specially */
	enum st_key_type type;
	int bits;
	const char *label;
	int openssh_format; /* 1: openssh-key-v1, 0: PEM */
} keyspecs[] = {
	{ "ed", "ssh-keygen -q -t ed25519 -N '' -C 'st-test ed' -f %s", ST_KEY_ED25519, 256,
	  "ED25519", 1 },
	{ "ec", "ssh-keygen -q -t ecdsa -b 256 -N '' -C 'st-test ec' -f %s", ST_KEY_ECDSA_P256, 256,
	  "ECDSA", 1 },
	{ "ec_pem", "ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C 'st-test ec pem' -f %s",
	  ST_KEY_ECDSA_P256, 256, "ECDSA", 0 },
	{ "ec_p8", "ssh-keygen -q -t ecdsa -b 256 -m PKCS8 -N '' -C 'st-test ec p8' -f %s",
	  ST_KEY_ECDSA_P256, 256, "ECDSA", 0 },
	{ "rsa2k", "ssh-keygen -q -t rsa -b 2048 -N '' -C 'st-test rsa2k' -f %s", ST_KEY_RSA, 2048,
	  "RSA", 1 },
	{ "rsa2k_pem", "ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C 'st-test rsa2k pem' -f %s",
	  ST_KEY_RSA, 2048, "RSA", 0 },
	{ "rsa2k_p8", "ssh-keygen -q -t rsa -b 2048 -m PKCS8 -N '' -C 'st-test rsa2k p8' -f %s",
	  ST_KEY_RSA, 2048, "RSA", 0 },
	{ "rsa3k", "ssh-keygen -q -t rsa -b 3072 -N '' -C 'st-test rsa3k' -f %s", ST_KEY_RSA, 3072,
	  "RSA", 1 },
	{ "rsa3k_pem", "ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C 'st-test rsa3k pem' -f %s",
	  ST_KEY_RSA, 3072, "RSA", 0 },
	/* ssh-keygen 9.2 writes Ed25519 only in its own format; openssl makes PKCS#8. */
	{ "ed_p8", NULL, ST_KEY_ED25519, 256, "ED25519", 0 },
};

#define N_KEYSPECS (sizeof(keyspecs) / sizeof(keyspecs[0]))

static int sh_quiet(const char *cmd, const char *path)
{
	char full[2048];
	snprintf(full, sizeof(full), cmd, path, path, path);
	return st_test_sh("%s </dev/null >/dev/null 2>&1", full);
}

static void setup(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return;
	}
	have_dir = 1;
	gen_ok = 1;
	for (size_t i = 0; i < N_KEYSPECS; i++) {
		if (keyspecs[i].make != NULL &&
		    sh_quiet(keyspecs[i].make, P(keyspecs[i].name)) != 0)
			gen_ok = 0;
	}
	/* Ed25519 PKCS#8 by openssl; its .pub line built from the raw public key. */
	if (sh_quiet("openssl genpkey -algorithm ed25519 -out %s", P("ed_p8")) != 0 ||
	    st_test_sh("b=$( (printf '\\000\\000\\000\\013ssh-ed25519\\000\\000\\000\\040'; "
		       "openssl pkey -in %s -pubout -outform DER | tail -c 32) | base64 -w0) && "
		       "printf 'ssh-ed25519 %%s st-test ed p8\\n' \"$b\" > %s.pub",
		       P("ed_p8"), P("ed_p8")) != 0)
		gen_ok = 0;
	/* A second Ed25519 key for mix-and-match tests. */
	if (sh_quiet("ssh-keygen -q -t ed25519 -N '' -C other -f %s", P("ed2")) != 0)
		gen_ok = 0;
	if (!gen_ok)
		fprintf(stderr, "setup: key generation failed\n");
}

static void cleanup(void)
{
	if (have_dir)
		st_test_sh("rm -rf '%s'", tmpdir);
}

/* The .pub file's line without its line break. */
static int pub_line(const char *name, char *out, size_t outsz)
{
	char path[600];
	size_t len = 0;
	uint8_t *d;

	snprintf(path, sizeof(path), "%s.pub", P(name));
	if ((d = slurp(path, &len)) == NULL)
		return -1;
	while (len > 0 && (d[len - 1] == '\n' || d[len - 1] == '\r'))
		d[--len] = 0;
	snprintf(out, outsz, "%s", (char *)d);
	free(d);
	return 0;
}

/* --- base64 ------------------------------------------------------------------ */

static void test_base64_rfc4648(void)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *enc[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
	};
	static const char *nopad[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char out[32];
	uint8_t mem[32];
	struct st_buf b;

	for (int i = 0; i < 7; i++) {
		size_t n = strlen(plain[i]);
		CHECK_INT(st_base64_encoded_size(n, 0), strlen(enc[i]) + 1);
		CHECK_OK(st_base64_encode((const uint8_t *)plain[i], n, out, sizeof(out), 0));
		CHECK(strcmp(out, enc[i]) == 0);
		CHECK_INT(st_base64_encoded_size(n, ST_BASE64_NOPAD), strlen(nopad[i]) + 1);
		CHECK_OK(st_base64_encode((const uint8_t *)plain[i], n, out, sizeof(out),
					  ST_BASE64_NOPAD));
		CHECK(strcmp(out, nopad[i]) == 0);
		/* exactly enough room, and one byte less */
		CHECK_OK(
			st_base64_encode((const uint8_t *)plain[i], n, out, strlen(enc[i]) + 1, 0));
		CHECK_ERR(st_base64_encode((const uint8_t *)plain[i], n, out, strlen(enc[i]), 0),
			  ST_ERR_NO_SPACE);

		st_buf_wrap(&b, mem, sizeof(mem));
		CHECK_OK(st_base64_decode(enc[i], strlen(enc[i]), &b, 0));
		CHECK_INT(b.len, n);
		CHECK_MEM(mem, plain[i], n);
	}
	/* all 256 byte values round trip */
	{
		uint8_t all[256], back[256];
		char text[400];
		for (int i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		CHECK_OK(st_base64_encode(all, sizeof(all), text, sizeof(text), 0));
		st_buf_wrap(&b, back, sizeof(back));
		CHECK_OK(st_base64_decode(text, strlen(text), &b, 0));
		CHECK_INT(b.len, 256);
		CHECK_MEM(back, all, 256);
	}
}

static void test_base64_strict(void)
{
	static const char *bad[] = {
		"Zg",	    /* missing padding */
		"Zg=",	    /* short padding */
		"Zh==",	    /* nonzero unused bits */
		"Zm9=",	    /* nonzero unused bits */
		"Z===",	    /* too much padding */
		"====",	    /* only padding */
		"Zm9v=",    /* padding after a full group */
		"Zg==Zg==", /* data after padding */
		"=Zm9",	    /* padding first */
		"Zm9v!",    /* outside the alphabet */
		"Zm-v",	    /* URL-safe alphabet is not ours */
		"Zm9 v",    /* blank inside, without SKIP_WS */
		"Zm9v\n",   /* line break, without SKIP_WS */
		"Z",	    /* one symbol */
	};
	uint8_t mem[32];
	struct st_buf b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st_buf_wrap(&b, mem, sizeof(mem));
		CHECK_OK(st_buf_put_u8(&b, 0xaa));
		CHECK_ERR(st_base64_decode(bad[i], strlen(bad[i]), &b, 0), ST_ERR_FORMAT);
		CHECK_INT(b.len, 1); /* nothing appended */
	}
	/* SKIP_WS takes blanks and line breaks anywhere, nothing else */
	st_buf_wrap(&b, mem, sizeof(mem));
	CHECK_OK(st_base64_decode(" Zm9v\r\nYm\tFy\n", 13, &b, ST_BASE64_SKIP_WS));
	CHECK_INT(b.len, 6);
	CHECK_MEM(mem, "foobar", 6);
	st_buf_wrap(&b, mem, sizeof(mem));
	CHECK_ERR(st_base64_decode("Zm9v\vYmFy", 9, &b, ST_BASE64_SKIP_WS), ST_ERR_FORMAT);
	/* the length counts, not a NUL */
	st_buf_wrap(&b, mem, sizeof(mem));
	CHECK_OK(st_base64_decode("Zm9vXXXX", 4, &b, 0));
	CHECK_INT(b.len, 3);
	/* no room: nothing appended */
	st_buf_wrap(&b, mem, 5);
	CHECK_ERR(st_base64_decode("Zm9vYmFy", 8, &b, 0), ST_ERR_NO_SPACE);
	CHECK_INT(b.len, 0);
}

/* --- keys from ssh-keygen -------------------------------------------------------- */

static void check_sign_verify(const struct st_key *priv, const struct st_key *pub)
{
	static const enum st_sig_alg algs[] = { ST_SIG_ED25519, ST_SIG_ECDSA_P256,
						ST_SIG_RSA_SHA256, ST_SIG_RSA_SHA512 };
	uint8_t msg[100], mem[4096];
	struct st_buf b;
	int n = 0;

	st_test_fill(msg, sizeof(msg), 3);
	for (size_t i = 0; i < 4; i++) {
		if (!st_sig_alg_matches_key(algs[i], priv))
			continue;
		n++;
		st_buf_wrap(&b, mem, sizeof(mem));
		CHECK_OK(st_sig_sign(priv, algs[i], msg, sizeof(msg), &b));
		CHECK_OK(st_sig_verify(pub, algs[i], mem, b.len, msg, sizeof(msg)));
		msg[0] ^= 1;
		CHECK_ERR(st_sig_verify(pub, algs[i], mem, b.len, msg, sizeof(msg)),
			  ST_ERR_SIG_INVALID);
		msg[0] ^= 1;
	}
	CHECK(n > 0);
}

static void test_keygen_keys(void)
{
	CHECK(gen_ok);
	for (size_t i = 0; i < N_KEYSPECS; i++) {
		const struct keyspec *ks = &keyspecs[i];
		struct st_key *priv = NULL, *pub = NULL, *pub2 = NULL;
		char path[600], comment[256], line[TEXT_MAX], fileline[TEXT_MAX];
		char fp[ST_KEY_FP_SIZE], fp2[ST_KEY_FP_SIZE], want[512], label[32];
		int bits = 0;
		size_t len = 0;
		uint8_t *d;

		CHECK_OK(st_keyfile_load_private(P(ks->name), &priv));
		snprintf(path, sizeof(path), "%s.pub", P(ks->name));
		CHECK_OK(st_keyfile_load_public(path, &pub, comment, sizeof(comment)));
		if (priv == NULL || pub == NULL) {
			fprintf(stderr, "  key %s did not load\n", ks->name);
			st_key_free(priv);
			st_key_free(pub);
			continue;
		}
		CHECK_INT(st_key_type(priv), ks->type);
		CHECK_INT(st_key_bits(priv), ks->bits);
		CHECK(strcmp(st_key_type_label(priv), ks->label) == 0);
		CHECK(st_key_has_private(priv));
		CHECK(!st_key_has_private(pub));
		CHECK(st_key_equal_public(priv, pub));
		CHECK(strncmp(comment, "st-test", 7) == 0);

		/* the .pub line is reproduced, from the public and from the private key */
		CHECK(pub_line(ks->name, fileline, sizeof(fileline)) == 0);
		CHECK_OK(st_key_format_public_line(pub, comment, line, sizeof(line)));
		CHECK(strcmp(line, fileline) == 0);
		CHECK_OK(st_key_format_public_line(priv, comment, line, sizeof(line)));
		CHECK(strcmp(line, fileline) == 0);
		CHECK(strncmp(line, st_key_type_name(priv), strlen(st_key_type_name(priv))) == 0);

		/* fingerprint and bits as ssh-keygen -lf prints them */
		CHECK_OK(st_key_fingerprint_sha256(priv, fp, sizeof(fp)));
		CHECK_OK(st_key_fingerprint_sha256(pub, fp2, sizeof(fp2)));
		CHECK(strcmp(fp, fp2) == 0);
		CHECK_INT(strlen(fp), 50);
		CHECK_INT(st_test_sh("ssh-keygen -lf '%s' > '%s.lf'", path, P(ks->name)), 0);
		snprintf(want, sizeof(want), "%s.lf", P(ks->name));
		if ((d = slurp(want, &len)) != NULL) {
			char keygen_fp[128] = "";
			CHECK(sscanf((char *)d, "%d %127s", &bits, keygen_fp) == 2);
			CHECK(strcmp(fp, keygen_fp) == 0);
			CHECK_INT(bits, st_key_bits(priv));
			snprintf(label, sizeof(label), "(%s)\n", st_key_type_label(priv));
			CHECK(len > strlen(label) &&
			      strcmp((char *)d + len - strlen(label), label) == 0);
			free(d);
		} else {
			CHECK(!"ssh-keygen -lf output");
		}

		/* sign with the file's private key, verify with the .pub key */
		check_sign_verify(priv, pub);
		/* the public line parser agrees with the file loader */
		CHECK_OK(st_key_parse_public_line(fileline, &pub2, NULL, 0));
		CHECK(pub2 != NULL && st_key_equal_public(pub2, priv));
		st_key_free(pub2);
		st_key_free(pub);
		st_key_free(priv);
	}
}

/* --- SSHSIG (ssh-keygen -Y) interop: OpenSSH's signatures verify here and ours there --- */

#define SSHSIG_NS "st-test"

/* The data an SSHSIG signature covers (OpenSSH PROTOCOL.sshsig). */
static void sshsig_signed_data(const uint8_t *msg, size_t len, struct st_buf *out)
{
	uint8_t h[64];
	unsigned int hl = 0;

	CHECK(EVP_Digest(msg, len, h, &hl, EVP_sha512(), NULL) == 1);
	CHECK_OK(st_buf_put_bytes(out, "SSHSIG", 6));
	CHECK_OK(st_buf_put_cstring(out, SSHSIG_NS));
	CHECK_OK(st_buf_put_cstring(out, ""));
	CHECK_OK(st_buf_put_cstring(out, "sha512"));
	CHECK_OK(st_buf_put_string(out, h, hl));
}

/* Base64 body between a BEGIN and an END line, decoded. */
static int dearmor(const char *text, const char *end_marker, struct st_buf *out)
{
	const char *body = strchr(text, '\n'), *end = strstr(text, end_marker);

	if (body == NULL || end == NULL || end < body)
		return -1;
	return st_base64_decode(body + 1, (size_t)(end - body - 1), out, ST_BASE64_SKIP_WS);
}

/* Base64 in 70-column lines between BEGIN and END lines. */
static void armor(const uint8_t *bin, size_t len, const char *begin, const char *end, char *out,
		  size_t outsz)
{
	char *b64 = malloc(st_base64_encoded_size(len, 0));
	size_t o = 0, n;

	CHECK(b64 != NULL);
	if (b64 == NULL)
		return;
	CHECK_OK(st_base64_encode(bin, len, b64, st_base64_encoded_size(len, 0), 0));
	n = strlen(b64);
	o += (size_t)snprintf(out + o, outsz - o, "%s\n", begin);
	for (size_t i = 0; i < n && o < outsz; i += 70)
		o += (size_t)snprintf(out + o, outsz - o, "%.70s\n", b64 + i);
	if (o < outsz)
		snprintf(out + o, outsz - o, "%s\n", end);
	free(b64);
}

static void test_sshsig_interop(void)
{
	static const char *names[] = { "ed", "ec", "ec_pem", "rsa2k" };
	uint8_t msg[64];

	st_test_fill(msg, sizeof(msg), 11);
	st_test_write_file(P("msg"), msg, sizeof(msg));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct st_key *priv = NULL, *pub = NULL;
		struct st_buf raw, in, signed_data, sig, mine;
		char sigpath[600], *text;
		const uint8_t *magic, *pubblob, *ns, *res, *halg, *sblob, *sname;
		size_t pl, nl, rl, hl, sl, snl, len = 0;
		uint32_t ver;
		enum st_sig_alg alg;

		CHECK_OK(st_keyfile_load_private(P(names[i]), &priv));
		if (priv == NULL)
			continue;
		CHECK_OK(st_buf_alloc(&raw, 0, 65536));
		CHECK_OK(st_buf_alloc(&signed_data, 0, 4096));
		CHECK_OK(st_buf_alloc(&mine, 0, 65536));
		CHECK_OK(st_buf_alloc(&sig, 0, 8192));
		sshsig_signed_data(msg, sizeof(msg), &signed_data);

		/* OpenSSH signs, we verify. */
		snprintf(sigpath, sizeof(sigpath), "%s.sig", P("msg"));
		unlink(sigpath);
		CHECK_INT(st_test_sh("ssh-keygen -Y sign -q -f '%s' -n %s '%s' >/dev/null 2>&1",
				     P(names[i]), SSHSIG_NS, P("msg")),
			  0);
		text = (char *)slurp(sigpath, &len);
		CHECK(text != NULL);
		if (text != NULL) {
			CHECK_OK(dearmor(text, "-----END SSH SIGNATURE-----", &raw));
			free(text);
		}
		st_buf_from(&in, st_buf_ptr(&raw), st_buf_avail(&raw));
		CHECK_OK(st_buf_get_raw(&in, &magic, 6));
		CHECK_OK(st_buf_get_u32(&in, &ver));
		CHECK_OK(st_buf_get_string(&in, &pubblob, &pl));
		CHECK_OK(st_buf_get_string(&in, &ns, &nl));
		CHECK_OK(st_buf_get_string(&in, &res, &rl));
		CHECK_OK(st_buf_get_string(&in, &halg, &hl));
		CHECK_OK(st_buf_get_string(&in, &sblob, &sl));
		CHECK_OK(st_buf_end(&in));
		if (st_test_failures() == 0) {
			CHECK(hl == 6 && memcmp(halg, "sha512", 6) == 0);
			CHECK_OK(st_key_from_blob(pubblob, pl, &pub));
			CHECK(pub != NULL && st_key_equal_public(pub, priv));
			st_buf_from(&in, sblob, sl);
			CHECK_OK(st_buf_get_string(&in, &sname, &snl));
			CHECK_OK(st_sig_alg_from_name((const char *)sname, snl, &alg));
			if (pub != NULL) {
				CHECK_OK(st_sig_verify(pub, alg, sblob, sl,
						       st_buf_ptr(&signed_data),
						       st_buf_avail(&signed_data)));
				CHECK_ERR(st_sig_verify(pub, alg, sblob, sl,
							st_buf_ptr(&signed_data),
							st_buf_avail(&signed_data) - 1),
					  ST_ERR_SIG_INVALID);
			}
		}

		/* We sign, OpenSSH verifies: every algorithm the key takes. */
		for (int a = ST_SIG_ED25519; a <= ST_SIG_RSA_SHA512; a++) {
			char armored[TEXT_MAX];
			if (!st_sig_alg_matches_key((enum st_sig_alg)a, priv))
				continue;
			st_buf_reset(&sig);
			st_buf_reset(&mine);
			CHECK_OK(st_sig_sign(priv, (enum st_sig_alg)a, st_buf_ptr(&signed_data),
					     st_buf_avail(&signed_data), &sig));
			{
				struct st_buf kb;
				CHECK_OK(st_buf_alloc(&kb, 0, ST_KEY_BLOB_MAX));
				CHECK_OK(st_key_to_blob(priv, &kb));
				CHECK_OK(st_buf_put_bytes(&mine, "SSHSIG", 6));
				CHECK_OK(st_buf_put_u32(&mine, 1));
				CHECK_OK(st_buf_put_stringb(&mine, &kb));
				st_buf_free(&kb);
			}
			CHECK_OK(st_buf_put_cstring(&mine, SSHSIG_NS));
			CHECK_OK(st_buf_put_cstring(&mine, ""));
			CHECK_OK(st_buf_put_cstring(&mine, "sha512"));
			CHECK_OK(st_buf_put_stringb(&mine, &sig));
			armor(st_buf_ptr(&mine), st_buf_avail(&mine),
			      "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----",
			      armored, sizeof(armored));
			st_test_write_file(P("mine.sig"), armored, strlen(armored));
			CHECK_INT(st_test_sh("ssh-keygen -Y check-novalidate -n %s -s '%s' < '%s' "
					     ">/dev/null 2>&1",
					     SSHSIG_NS, P("mine.sig"), P("msg")),
				  0);
			/* and refuses it for another message */
			CHECK(st_test_sh("ssh-keygen -Y check-novalidate -n %s -s '%s' < '%s' "
					 ">/dev/null 2>&1",
					 SSHSIG_NS, P("mine.sig"), P("mine.sig")) != 0);
		}
		st_buf_free(&raw);
		st_buf_free(&signed_data);
		st_buf_free(&mine);
		st_buf_free(&sig);
		st_key_free(pub);
		st_key_free(priv);
	}
}

/* --- key file errors --------------------------------------------------------------- */

static void test_encrypted_keys(void)
{
	static const struct {
		const char *name, *make;
	} enc[] = {
		{ "enc_ed", "ssh-keygen -q -t ed25519 -N secret -f %s" },
		{ "enc_ec", "ssh-keygen -q -t ecdsa -b 256 -N secret -f %s" },
		{ "enc_rsa", "ssh-keygen -q -t rsa -b 1024 -N secret -f %s" },
		{ "enc_rsa_pem", "ssh-keygen -q -t rsa -b 1024 -m PEM -N secret -f %s" },
		{ "enc_ec_pem", "ssh-keygen -q -t ecdsa -b 256 -m PEM -N secret -f %s" },
		{ "enc_ec_p8", "ssh-keygen -q -t ecdsa -b 256 -m PKCS8 -N secret -f %s" },
		{ "enc_ed_p8",
		  "openssl genpkey -algorithm ed25519 -aes-256-cbc -pass pass:secret -out %s" },
	};
	struct st_key *k = NULL;

	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		CHECK_INT(sh_quiet(enc[i].make, P(enc[i].name)), 0);
		CHECK_ERR(st_keyfile_load_private(P(enc[i].name), &k), ST_ERR_KEY_ENCRYPTED);
		CHECK(k == NULL);
	}
}

static void test_file_errors(void)
{
	struct st_key *k = NULL;
	char comment[64];
	uint8_t junk[4096];
	uint8_t *d;
	size_t len = 0;

	errno = 0;
	CHECK_ERR(st_keyfile_load_private(P("no-such-file"), &k), ST_ERR_SYSTEM);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK_ERR(st_keyfile_load_public(P("no-such-file.pub"), &k, comment, sizeof(comment)),
		  ST_ERR_SYSTEM);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK_ERR(st_keyfile_load_private(tmpdir, &k), ST_ERR_SYSTEM);
	CHECK_INT(errno, EISDIR);

	st_test_write_file(P("empty"), "", 0);
	CHECK_ERR(st_keyfile_load_private(P("empty"), &k), ST_ERR_FORMAT);
	CHECK_ERR(st_keyfile_load_public(P("empty"), &k, NULL, 0), ST_ERR_FORMAT);
	st_test_write_file(P("text"), "hello world\n", 12);
	CHECK_ERR(st_keyfile_load_private(P("text"), &k), ST_ERR_FORMAT);
	CHECK_ERR(st_keyfile_load_public(P("text"), &k, NULL, 0), ST_ERR_KEY_TYPE_UNKNOWN);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		st_test_fill(junk, sizeof(junk), seed);
		st_test_write_file(P("junk"), junk, sizeof(junk));
		CHECK(st_keyfile_load_private(P("junk"), &k) != ST_OK);
		CHECK(st_keyfile_load_public(P("junk"), &k, NULL, 0) != ST_OK);
		/* printable junk, no NULs */
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(' ' + junk[i] % 95);
		CHECK_ERR(st_keyfile_parse_private(junk, sizeof(junk), &k), ST_ERR_FORMAT);
	}
	CHECK_ERR(st_keyfile_parse_private((const uint8_t *)"", 0, &k), ST_ERR_FORMAT);

	/* a .pub file is not a private key; a private key is not a .pub file */
	CHECK_ERR(st_keyfile_load_private(P("ed.pub"), &k), ST_ERR_FORMAT);
	CHECK_ERR(st_keyfile_load_public(P("ed"), &k, NULL, 0), ST_ERR_FORMAT);
	/* a .pub file with a second line */
	{
		char line[TEXT_MAX], two[2 * TEXT_MAX + 2];
		CHECK(pub_line("ed", line, sizeof(line)) == 0);
		snprintf(two, sizeof(two), "%s\n%s\n", line, line);
		st_test_write_file(P("two.pub"), two, strlen(two));
		CHECK_ERR(st_keyfile_load_public(P("two.pub"), &k, NULL, 0), ST_ERR_FORMAT);
		snprintf(two, sizeof(two), "%s\r\n\n  \n", line);
		st_test_write_file(P("crlf.pub"), two, strlen(two));
		CHECK_OK(st_keyfile_load_public(P("crlf.pub"), &k, comment, sizeof(comment)));
		CHECK(strcmp(comment, "st-test ed") == 0);
		st_key_free(k);
		k = NULL;
		/* comment too large for the caller's buffer */
		CHECK_ERR(st_keyfile_load_public(P("ed.pub"), &k, comment, 5),
			  ST_ERR_STRING_TOO_LARGE);
	}
	/* over the size cap */
	{
		FILE *f = fopen(P("big"), "wb");
		CHECK(f != NULL);
		if (f != NULL) {
			memset(junk, 'A', sizeof(junk));
			memcpy(junk, OSSH_BEGIN "\n", strlen(OSSH_BEGIN) + 1);
			for (size_t n = 0; n <= ST_KEYFILE_MAX; n += sizeof(junk))
				fwrite(junk, 1, sizeof(junk), f);
			fclose(f);
		}
		CHECK_ERR(st_keyfile_load_private(P("big"), &k), ST_ERR_FORMAT);
	}

	/* other key types and curves */
	CHECK_INT(sh_quiet("ssh-keygen -q -t ecdsa -b 384 -N '' -f %s", P("p384")), 0);
	CHECK_ERR(st_keyfile_load_private(P("p384"), &k), ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK_ERR(st_keyfile_load_public(P("p384.pub"), &k, NULL, 0), ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK_INT(sh_quiet("ssh-keygen -q -t ecdsa -b 384 -m PEM -N '' -f %s", P("p384pem")), 0);
	CHECK_ERR(st_keyfile_load_private(P("p384pem"), &k), ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK_INT(sh_quiet("openssl genpkey -algorithm ed448 -out %s", P("ed448")), 0);
	CHECK_ERR(st_keyfile_load_private(P("ed448"), &k), ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK_INT(sh_quiet("openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:1024 "
			   "-out %s",
			   P("pss")),
		  0);
	CHECK_ERR(st_keyfile_load_private(P("pss"), &k), ST_ERR_KEY_TYPE_UNKNOWN);
	/* RSA below 1024 bits */
	CHECK_INT(sh_quiet("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:768 -out %s",
			   P("rsa768")),
		  0);
	CHECK_ERR(st_keyfile_load_private(P("rsa768"), &k), ST_ERR_KEY_INVALID);
	/* a PEM public key is not a private key */
	CHECK_INT(sh_quiet("openssl pkey -in %s -pubout -out %s.pem", P("ec_p8")), 0);
	CHECK_ERR(st_keyfile_load_private(P("ec_p8.pem"), &k), ST_ERR_KEY_INVALID);
	/* a damaged PEM body */
	if ((d = slurp(P("rsa2k_pem"), &len)) != NULL) {
		for (size_t at = 100; at + 40 < len; at += 97) {
			uint8_t c = d[at];
			if (c == '\n')
				continue;
			d[at] = c == 'A' ? 'B' : 'A';
			CHECK(st_keyfile_parse_private(d, len, &k) != ST_OK);
			d[at] = c;
		}
		/* cut short */
		for (size_t n = 0; n < len; n += 37)
			CHECK(st_keyfile_parse_private(d, n, &k) != ST_OK);
		CHECK_OK(st_keyfile_parse_private(d, len, &k));
		st_key_free(k);
		k = NULL;
		free(d);
	}
	CHECK(k == NULL);
}

/* --- openssh-key-v1 structure: decode, mutate, re-encode ------------------------------ */

struct ossh {
	uint8_t magic[15];
	char cipher[32], kdf[32];
	uint8_t kdfopts[64];
	size_t kdfoptslen;
	uint32_t nkeys;
	uint8_t pub[ST_KEY_BLOB_MAX];
	size_t publen;
	uint8_t priv[TEXT_MAX];
	size_t privlen;
	uint8_t trailer[16];
	size_t trailerlen;
};

static int ossh_read(const char *name, struct ossh *o)
{
	uint8_t bin[TEXT_MAX], *text;
	struct st_buf b, in;
	const uint8_t *p;
	size_t len = 0, n;
	int ok = -1;

	memset(o, 0, sizeof(*o));
	if ((text = slurp(P(name), &len)) == NULL)
		return -1;
	st_buf_wrap(&b, bin, sizeof(bin));
	if (dearmor((char *)text, OSSH_END, &b) != ST_OK)
		goto out;
	st_buf_from(&in, bin, b.len);
	if (st_buf_get_bytes(&in, o->magic, sizeof(o->magic)) != ST_OK ||
	    st_buf_get_cstring(&in, o->cipher, sizeof(o->cipher)) != ST_OK ||
	    st_buf_get_cstring(&in, o->kdf, sizeof(o->kdf)) != ST_OK ||
	    st_buf_get_string(&in, &p, &o->kdfoptslen) != ST_OK || o->kdfoptslen > 64)
		goto out;
	memcpy(o->kdfopts, p, o->kdfoptslen);
	if (st_buf_get_u32(&in, &o->nkeys) != ST_OK || st_buf_get_string(&in, &p, &n) != ST_OK ||
	    n > sizeof(o->pub))
		goto out;
	memcpy(o->pub, p, n);
	o->publen = n;
	if (st_buf_get_string(&in, &p, &n) != ST_OK || n > sizeof(o->priv) ||
	    st_buf_end(&in) != ST_OK)
		goto out;
	memcpy(o->priv, p, n);
	o->privlen = n;
	ok = 0;
out:
	free(text);
	return ok;
}

/* The binary structure of o, then armoured into text. */
static size_t ossh_write(const struct ossh *o, uint8_t *bin, size_t binsz, char *text,
			 size_t textsz)
{
	struct st_buf b;

	st_buf_wrap(&b, bin, binsz);
	CHECK_OK(st_buf_put_bytes(&b, o->magic, sizeof(o->magic)));
	CHECK_OK(st_buf_put_cstring(&b, o->cipher));
	CHECK_OK(st_buf_put_cstring(&b, o->kdf));
	CHECK_OK(st_buf_put_string(&b, o->kdfopts, o->kdfoptslen));
	CHECK_OK(st_buf_put_u32(&b, o->nkeys));
	CHECK_OK(st_buf_put_string(&b, o->pub, o->publen));
	CHECK_OK(st_buf_put_string(&b, o->priv, o->privlen));
	CHECK_OK(st_buf_put_bytes(&b, o->trailer, o->trailerlen));
	if (text != NULL)
		armor(bin, b.len, OSSH_BEGIN, OSSH_END, text, textsz);
	return b.len;
}

static int ossh_parse(const struct ossh *o)
{
	static uint8_t bin[TEXT_MAX];
	static char text[2 * TEXT_MAX];
	struct st_key *k = NULL;
	int r;

	ossh_write(o, bin, sizeof(bin), text, sizeof(text));
	r = st_keyfile_parse_private((const uint8_t *)text, strlen(text), &k);
	CHECK((r == ST_OK) == (k != NULL));
	st_key_free(k);
	return r;
}

/* Every truncation of the decoded structure, re-encoded, is refused. */
static void test_openssh_truncations(void)
{
	static const char *names[] = { "ed", "ec", "rsa2k" };
	static uint8_t bin[TEXT_MAX];
	static char text[2 * TEXT_MAX];
	struct ossh o;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		CHECK(ossh_read(names[i], &o) == 0);
		len = ossh_write(&o, bin, sizeof(bin), NULL, 0);
		for (size_t n = 0; n < len; n++) {
			struct st_key *k = NULL;
			armor(bin, n, OSSH_BEGIN, OSSH_END, text, sizeof(text));
			int r = st_keyfile_parse_private((const uint8_t *)text, strlen(text), &k);
			CHECK(r == ST_ERR_FORMAT || r == ST_ERR_KEY_INVALID);
			CHECK(k == NULL);
		}
		CHECK_OK(ossh_parse(&o)); /* the whole structure still parses */
	}
	/* and every truncation of the file's text */
	{
		uint8_t *d;
		size_t len = 0;
		struct st_key *k = NULL;
		if ((d = slurp(P("ed"), &len)) != NULL) {
			/* the END line needs to be complete; the final line break does not */
			for (size_t n = 0; n + 1 < len; n++)
				CHECK(st_keyfile_parse_private(d, n, &k) != ST_OK);
			CHECK_OK(st_keyfile_parse_private(d, len - 1, &k));
			st_key_free(k);
			free(d);
		}
	}
}

/* Offsets into the private section of an unencrypted key. */
static void test_openssh_mutations(void)
{
	struct ossh o, o2, m;
	uint32_t c1, c2;

	CHECK(ossh_read("ed", &o) == 0);
	CHECK(ossh_read("ed2", &o2) == 0);
	CHECK(strcmp(o.cipher, "none") == 0 && strcmp(o.kdf, "none") == 0 && o.nkeys == 1);
	CHECK_OK(ossh_parse(&o));
	c1 = st_peek_u32(o.priv);
	c2 = st_peek_u32(o.priv + 4);
	CHECK(c1 == c2);

	/* checkints differ */
	m = o;
	m.priv[7] ^= 1;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	/* padding: wrong byte, too long, section not a multiple of 8 */
	CHECK(o.privlen % 8 == 0 && o.priv[o.privlen - 1] >= 1 && o.priv[o.privlen - 1] <= 7);
	m = o;
	m.priv[m.privlen - 1] ^= 0x40;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	for (int i = 0; i < 8; i++)
		m.priv[m.privlen + i] = (uint8_t)(m.priv[m.privlen - 1] + 1 + i);
	m.privlen += 8;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	m.privlen--;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	/* public part of another key; private part of another key */
	m = o;
	memcpy(m.pub, o2.pub, o2.publen);
	m.publen = o2.publen;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	memcpy(m.priv, o2.priv, o2.privlen);
	m.privlen = o2.privlen;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	/* Ed25519 private fields: seed, or the copy of the public key inside sk */
	{
		/* checkints(8) string type(4+11) string pk(4+32) string sk(4+64) */
		size_t sk = 8 + 4 + 11 + 4 + 32 + 4;
		CHECK(st_peek_u32(o.priv + sk - 4) == 64);
		m = o;
		m.priv[sk] ^= 1; /* seed */
		CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
		m = o;
		m.priv[sk + 40] ^= 1; /* pk copy in sk */
		CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
		m = o;
		m.priv[sk - 4 - 1] ^= 1; /* pk */
		CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	}
	/* header fields */
	m = o;
	m.nkeys = 2;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	m.nkeys = 0;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	strcpy(m.cipher, "aes256-ctr");
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_ENCRYPTED);
	m = o;
	strcpy(m.kdf, "bcrypt");
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	m.kdfoptslen = 4;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	m = o;
	m.magic[0] = 'O';
	CHECK_ERR(ossh_parse(&m), ST_ERR_FORMAT);
	m = o;
	m.magic[14] = '\n';
	CHECK_ERR(ossh_parse(&m), ST_ERR_FORMAT);
	m = o;
	m.trailerlen = 1;
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
	/* a public blob of an unknown type */
	m = o;
	memcpy(m.pub + 4, "ssh-ed25518", 11);
	CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_TYPE_UNKNOWN);
	/* private section type differs from the public blob's */
	{
		struct ossh e;
		CHECK(ossh_read("ec", &e) == 0);
		m = o;
		memcpy(m.priv, e.priv, e.privlen);
		m.privlen = e.privlen;
		CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);

		/* ECDSA: the last byte of d changed -> d*G != Q */
		CHECK_OK(ossh_parse(&e));
		m = e;
		{
			/* checkints, string type(19), string curve(8), string Q(65), mpint d */
			size_t d = 8 + 4 + 19 + 4 + 8 + 4 + 65;
			uint32_t dl = st_peek_u32(e.priv + d);
			CHECK(dl == 32 || dl == 33 || dl == 31);
			m.priv[d + 4 + dl - 1] ^= 1;
			CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
		}
	}
	/* RSA: n e d iqmp p q; damage d, iqmp, and swap p and q */
	{
		struct ossh r;
		struct st_buf in;
		const uint8_t *f[6];
		size_t fl[6], off[6];
		uint32_t x;

		CHECK(ossh_read("rsa2k", &r) == 0);
		st_buf_from(&in, r.priv, r.privlen);
		CHECK_OK(st_buf_get_u32(&in, &x));
		CHECK_OK(st_buf_get_u32(&in, &x));
		CHECK_OK(st_buf_get_string(&in, NULL, NULL));
		for (int i = 0; i < 6; i++) {
			off[i] = in.off;
			CHECK_OK(st_buf_get_mpint(&in, &f[i], &fl[i]));
		}
		if (st_test_failures() == 0) {
			m = r;
			m.priv[off[2] + 4 + st_peek_u32(r.priv + off[2]) - 1] ^= 2; /* d */
			CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
			m = r;
			m.priv[off[3] + 4 + st_peek_u32(r.priv + off[3]) - 1] ^= 2; /* iqmp */
			CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
			m = r;
			m.priv[off[1] + 4 + st_peek_u32(r.priv + off[1]) - 1] ^=
				2; /* e (priv copy) */
			CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
			/* p and q swapped (iqmp no longer fits) when both have equal encodings */
			if (st_peek_u32(r.priv + off[4]) == st_peek_u32(r.priv + off[5])) {
				size_t fsz = 4 + st_peek_u32(r.priv + off[4]);
				m = r;
				memcpy(m.priv + off[4], r.priv + off[5], fsz);
				memcpy(m.priv + off[5], r.priv + off[4], fsz);
				CHECK_ERR(ossh_parse(&m), ST_ERR_KEY_INVALID);
			}
			CHECK_OK(ossh_parse(&r));
		}
	}

	/* armour: CRLF line breaks and trailing blank space are fine, other text is not */
	{
		uint8_t *d;
		size_t len = 0;
		struct st_key *k = NULL;
		static char text[2 * TEXT_MAX];
		if ((d = slurp(P("ed"), &len)) != NULL) {
			size_t o2len = 0;
			for (size_t i = 0; i < len; i++) {
				if (d[i] == '\n')
					text[o2len++] = '\r';
				text[o2len++] = (char)d[i];
			}
			CHECK_OK(st_keyfile_parse_private((uint8_t *)text, o2len, &k));
			st_key_free(k);
			k = NULL;
			snprintf(text, sizeof(text), "%s\n \n\t\n", (char *)d);
			CHECK_OK(st_keyfile_parse_private((uint8_t *)text, strlen(text), &k));
			st_key_free(k);
			k = NULL;
			snprintf(text, sizeof(text), "%sx\n", (char *)d);
			CHECK_ERR(st_keyfile_parse_private((uint8_t *)text, strlen(text), &k),
				  ST_ERR_FORMAT);
			snprintf(text, sizeof(text), " %s", (char *)d);
			CHECK_ERR(st_keyfile_parse_private((uint8_t *)text, strlen(text), &k),
				  ST_ERR_FORMAT);
			/* a character outside base64 in the body */
			memcpy(text, d, len + 1);
			text[strlen(OSSH_BEGIN) + 5] = '*';
			CHECK_ERR(st_keyfile_parse_private((uint8_t *)text, len, &k),
				  ST_ERR_FORMAT);
			/* END line missing */
			memcpy(text, d, len + 1);
			*strstr(text, OSSH_END) = '\0';
			CHECK_ERR(st_keyfile_parse_private((uint8_t *)text, strlen(text), &k),
				  ST_ERR_FORMAT);
			/* a NUL byte */
			memcpy(text, d, len + 1);
			text[len - 2] = '\0';
			CHECK_ERR(st_keyfile_parse_private((uint8_t *)text, len, &k),
				  ST_ERR_FORMAT);
			free(d);
		}
		CHECK(k == NULL);
	}
}

/* --- public key lines and blobs ------------------------------------------------------ */

/* A .pub-style line for a raw blob. */
static void blob_line(const char *type, const uint8_t *blob, size_t len, const char *comment,
		      char *out, size_t outsz)
{
	char b64[12000];
	CHECK_OK(st_base64_encode(blob, len, b64, sizeof(b64), 0));
	snprintf(out, outsz, "%s %s%s%s", type, b64, comment[0] ? " " : "", comment);
}

static void test_public_lines(void)
{
	char line[TEXT_MAX], bad[TEXT_MAX], comment[64], out[TEXT_MAX];
	uint8_t blob[ST_KEY_BLOB_MAX + 16];
	struct st_key *k = NULL, *ref = NULL;
	struct st_buf b;
	size_t bl;

	CHECK(pub_line("ed", line, sizeof(line)) == 0);
	CHECK_OK(st_key_parse_public_line(line, &ref, comment, sizeof(comment)));
	if (ref == NULL)
		return;
	CHECK(strcmp(comment, "st-test ed") == 0);
	st_buf_wrap(&b, blob, sizeof(blob));
	CHECK_OK(st_key_to_blob(ref, &b));
	bl = b.len;

	/* layout variations that are accepted */
	blob_line("ssh-ed25519", blob, bl, "", bad, sizeof(bad));
	CHECK_OK(st_key_parse_public_line(bad, &k, comment, sizeof(comment)));
	CHECK(strcmp(comment, "") == 0);
	CHECK(k != NULL && st_key_equal_public(k, ref));
	st_key_free(k);
	k = NULL;
	{
		char b64[4096];
		CHECK_OK(st_base64_encode(blob, bl, b64, sizeof(b64), 0));
		snprintf(bad, sizeof(bad), " \tssh-ed25519\t %s  a b  c \t\r\n", b64);
		CHECK_OK(st_key_parse_public_line(bad, &k, comment, sizeof(comment)));
		CHECK(strcmp(comment, "a b  c") == 0);
		st_key_free(k);
		k = NULL;
		snprintf(bad, sizeof(bad), "ssh-ed25519 %s\n", b64);
		CHECK_OK(st_key_parse_public_line(bad, &k, comment, sizeof(comment)));
		CHECK(strcmp(comment, "") == 0);
		st_key_free(k);
		k = NULL;
		CHECK_OK(st_key_parse_public_line(line, &k, NULL, 0));
		st_key_free(k);
		k = NULL;
		/* refused layouts */
		snprintf(bad, sizeof(bad), "ssh-ed25519 %s c\nmore", b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_FORMAT);
		snprintf(bad, sizeof(bad), "ssh-ed25519 %s\n\n", b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_FORMAT);
		snprintf(bad, sizeof(bad), "ssh-ed25519\n%s", b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_FORMAT);
		/* options are the caller's business */
		snprintf(bad, sizeof(bad), "no-pty ssh-ed25519 %s", b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_KEY_TYPE_UNKNOWN);
		/* bad base64: a foreign character, a dropped character, an extra one */
		snprintf(bad, sizeof(bad), "ssh-ed25519 %s", b64);
		bad[20] = '!';
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_FORMAT);
		snprintf(bad, sizeof(bad), "ssh-ed25519 %.*s", (int)strlen(b64) - 1, b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_FORMAT);
		snprintf(bad, sizeof(bad), "ssh-ed25519 %sA", b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_FORMAT);
		/* comment larger than the caller's buffer */
		snprintf(bad, sizeof(bad), "ssh-ed25519 %s 0123456789", b64);
		CHECK_ERR(st_key_parse_public_line(bad, &k, comment, 10), ST_ERR_STRING_TOO_LARGE);
		CHECK_OK(st_key_parse_public_line(bad, &k, comment, 11));
		st_key_free(k);
		k = NULL;
	}
	static const char *fields[] = {
		"", "   ", "\n", "ssh-ed25519", "ssh-ed25519 ", "ssh-ed25519 \n"
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		CHECK_ERR(st_key_parse_public_line(fields[i], &k, NULL, 0), ST_ERR_FORMAT);

	/* wrong type names */
	blob_line("ssh-rsa", blob, bl, "x", bad, sizeof(bad));
	CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_KEY_TYPE_MISMATCH);
	blob_line("ecdsa-sha2-nistp256", blob, bl, "x", bad, sizeof(bad));
	CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_KEY_TYPE_MISMATCH);
	blob_line("ssh-dss", blob, bl, "x", bad, sizeof(bad));
	CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_KEY_TYPE_UNKNOWN);
	blob_line("ssh-ed25519-cert-v01@openssh.com", blob, bl, "x", bad, sizeof(bad));
	CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_KEY_TYPE_UNKNOWN);
	/* trailing bytes after the blob */
	blob[bl] = 0;
	blob_line("ssh-ed25519", blob, bl + 1, "x", bad, sizeof(bad));
	CHECK_ERR(st_key_parse_public_line(bad, &k, NULL, 0), ST_ERR_TRAILING);
	/* every truncation of the blob */
	for (size_t n = 0; n < bl; n++) {
		blob_line("ssh-ed25519", blob, n, "x", bad, sizeof(bad));
		CHECK(st_key_parse_public_line(bad, &k, NULL, 0) != ST_OK);
	}
	/* an oversize blob */
	{
		static uint8_t big[ST_KEY_BLOB_MAX + 4];
		static char bigline[2 * ST_KEY_BLOB_MAX];
		memset(big, 'A', sizeof(big));
		blob_line("ssh-ed25519", big, sizeof(big), "", bigline, sizeof(bigline));
		CHECK_ERR(st_key_parse_public_line(bigline, &k, NULL, 0), ST_ERR_KEY_INVALID);
	}

	/* formatting */
	CHECK_OK(st_key_format_public_line(ref, NULL, out, sizeof(out)));
	CHECK(strncmp(line, out, strlen(out)) == 0 && line[strlen(out)] == ' ');
	CHECK_OK(st_key_format_public_line(ref, "", out, sizeof(out)));
	CHECK(strchr(out + 12, ' ') == NULL);
	CHECK_ERR(st_key_format_public_line(ref, "a\nb", out, sizeof(out)),
		  ST_ERR_INVALID_ARGUMENT);
	CHECK_OK(st_key_format_public_line(ref, "st-test ed", out, strlen(line) + 1));
	CHECK(strcmp(out, line) == 0);
	CHECK_ERR(st_key_format_public_line(ref, "st-test ed", out, strlen(line)), ST_ERR_NO_SPACE);
	CHECK(out[0] == '\0');
	CHECK(k == NULL);
	st_key_free(ref);
}

/* Builds an ssh-rsa blob from e and n magnitudes. */
static size_t rsa_blob(uint8_t *out, size_t outsz, const uint8_t *e, size_t el, const uint8_t *n,
		       size_t nl)
{
	struct st_buf b;
	st_buf_wrap(&b, out, outsz);
	CHECK_OK(st_buf_put_cstring(&b, "ssh-rsa"));
	CHECK_OK(st_buf_put_mpint(&b, e, el));
	CHECK_OK(st_buf_put_mpint(&b, n, nl));
	return b.len;
}

static size_t ecdsa_blob(uint8_t *out, size_t outsz, const char *curve, const uint8_t *q, size_t ql)
{
	struct st_buf b;
	st_buf_wrap(&b, out, outsz);
	CHECK_OK(st_buf_put_cstring(&b, "ecdsa-sha2-nistp256"));
	CHECK_OK(st_buf_put_cstring(&b, curve));
	CHECK_OK(st_buf_put_string(&b, q, ql));
	return b.len;
}

/*
 * An RSA blob may name its type rsa-sha2-256/512 (OpenSSH's sshkey_from_blob
 * takes it; dev-tunnels-ssh sends its user key so): the same RSA key, written
 * back as ssh-rsa. The names are not key type names anywhere else.
 */
static void test_blob_rsa_sig_names(void)
{
	static const char *const names[] = { "rsa-sha2-256", "rsa-sha2-512" };
	uint8_t blob[ST_KEY_BLOB_MAX], back[ST_KEY_BLOB_MAX];
	struct st_key *rsa = NULL, *ed = NULL, *k = NULL;
	struct st_buf b, in;
	enum st_key_type t;
	char b64[ST_KEY_BLOB_MAX * 2], line[sizeof(b64) + 64];

	CHECK_OK(st_keyfile_load_private(P("rsa2k"), &rsa));
	CHECK_OK(st_keyfile_load_private(P("ed"), &ed));
	if (rsa == NULL || ed == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const uint8_t *nm;
		size_t nl, bl;

		/* the ssh-rsa blob with the other name in front */
		st_buf_wrap(&in, back, sizeof(back));
		CHECK_OK(st_key_to_blob(rsa, &in));
		CHECK_OK(st_buf_get_string(&in, &nm, &nl));
		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_buf_put_cstring(&b, names[i]));
		CHECK_OK(st_buf_put_bytes(&b, st_buf_ptr(&in), st_buf_avail(&in)));
		bl = b.len;
		CHECK_OK(st_key_from_blob(blob, bl, &k));
		CHECK(k != NULL && st_key_type(k) == ST_KEY_RSA && st_key_equal_public(k, rsa));
		if (k != NULL) {
			CHECK(strcmp(st_key_type_name(k), "ssh-rsa") == 0);
			st_buf_wrap(&in, back, sizeof(back));
			CHECK_OK(st_key_to_blob(k, &in));
			CHECK_INT(in.len, bl - strlen(names[i]) + 7);
			CHECK(in.len > 11 && memcmp(back + 4, "ssh-rsa", 7) == 0);
		}
		st_key_free(k);
		k = NULL;
		/* still strict about the rest: truncations, a trailing byte */
		for (size_t n = 4 + strlen(names[i]); n < bl; n++)
			CHECK_ERR(st_key_from_blob(blob, n, &k), ST_ERR_KEY_INVALID);
		blob[bl] = 0;
		CHECK_ERR(st_key_from_blob(blob, bl + 1, &k), ST_ERR_TRAILING);

		/* an authorized_keys line "ssh-rsa <that blob>" is the RSA key ... */
		CHECK_OK(st_base64_encode(blob, bl, b64, sizeof(b64), 0));
		snprintf(line, sizeof(line), "ssh-rsa %s test", b64);
		CHECK_OK(st_key_parse_public_line(line, &k, NULL, 0));
		CHECK(k != NULL && st_key_equal_public(k, rsa));
		st_key_free(k);
		k = NULL;
		/* ... but the name is no key type name in a line */
		snprintf(line, sizeof(line), "%s %s test", names[i], b64);
		CHECK_ERR(st_key_parse_public_line(line, &k, NULL, 0), ST_ERR_KEY_TYPE_UNKNOWN);
		CHECK_ERR(st_key_type_from_name(names[i], strlen(names[i]), &t),
			  ST_ERR_KEY_TYPE_UNKNOWN);

		/* an Ed25519 key under the RSA name is no RSA key */
		st_buf_wrap(&in, back, sizeof(back));
		CHECK_OK(st_key_to_blob(ed, &in));
		CHECK_OK(st_buf_get_string(&in, &nm, &nl));
		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_buf_put_cstring(&b, names[i]));
		CHECK_OK(st_buf_put_bytes(&b, st_buf_ptr(&in), st_buf_avail(&in)));
		CHECK_ERR(st_key_from_blob(blob, b.len, &k), ST_ERR_KEY_INVALID);
	}
	/* other near names stay unknown */
	static const char *const unknown[] = { "rsa-sha2-384", "rsa-sha2-51", "RSA-SHA2-512",
					       "rsa-sha2-512-cert-v01@openssh.com" };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_buf_put_cstring(&b, unknown[i]));
		CHECK_OK(st_buf_put_mpint(&b, (const uint8_t *)"\x01\x00\x01", 3));
		CHECK_ERR(st_key_from_blob(blob, b.len, &k), ST_ERR_KEY_TYPE_UNKNOWN);
	}
out:
	st_key_free(rsa);
	st_key_free(ed);
}

static void test_blobs(void)
{
	static const char *names[] = { "ed", "ec", "rsa2k" };
	uint8_t blob[ST_KEY_BLOB_MAX], mod[ST_KEY_BLOB_MAX];
	struct st_key *k = NULL, *ref = NULL;
	struct st_buf b, in;
	enum st_key_type t;
	size_t bl;

	/* every truncation of every key type's blob; a trailing byte */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK_OK(st_keyfile_load_private(P(names[i]), &ref));
		if (ref == NULL)
			continue;
		st_buf_wrap(&b, blob, sizeof(blob) - 1);
		CHECK_OK(st_key_to_blob(ref, &b));
		bl = b.len;
		CHECK_OK(st_key_from_blob(blob, bl, &k));
		CHECK(k != NULL && st_key_equal_public(k, ref) && !st_key_has_private(k));
		st_key_free(k);
		k = NULL;
		for (size_t n = 0; n < bl; n++)
			CHECK_ERR(st_key_from_blob(blob, n, &k), ST_ERR_KEY_INVALID);
		blob[bl] = 0;
		CHECK_ERR(st_key_from_blob(blob, bl + 1, &k), ST_ERR_TRAILING);
		/* a too-small output buffer leaves it unchanged */
		st_buf_wrap(&b, mod, bl - 1);
		CHECK_OK(st_buf_put_u8(&b, 7));
		CHECK_ERR(st_key_to_blob(ref, &b), ST_ERR_NO_SPACE);
		CHECK_INT(b.len, 1);
		st_key_free(ref);
		ref = NULL;
	}

	CHECK_OK(st_key_type_from_name("ssh-rsa", 7, &t));
	CHECK_INT(t, ST_KEY_RSA);
	CHECK_ERR(st_key_type_from_name("ssh-rsa", 6, &t), ST_ERR_KEY_TYPE_UNKNOWN);
	CHECK_ERR(st_key_type_from_name("ssh-dss", 7, &t), ST_ERR_KEY_TYPE_UNKNOWN);

	/* unknown type name */
	st_buf_wrap(&b, blob, sizeof(blob));
	CHECK_OK(st_buf_put_cstring(&b, "ssh-dss"));
	CHECK_OK(st_buf_put_string(&b, mod, 32));
	CHECK_ERR(st_key_from_blob(blob, b.len, &k), ST_ERR_KEY_TYPE_UNKNOWN);
	/* Ed25519 key of 31 and 33 bytes */
	for (size_t n = 31; n <= 33; n += 2) {
		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_buf_put_cstring(&b, "ssh-ed25519"));
		CHECK_OK(st_buf_put_string(&b, mod, n));
		CHECK_ERR(st_key_from_blob(blob, b.len, &k), ST_ERR_KEY_INVALID);
	}

	/* ECDSA points */
	CHECK_OK(st_keyfile_load_private(P("ec"), &ref));
	if (ref != NULL) {
		const uint8_t *q;
		size_t ql;
		uint8_t pt[65], cp[33];

		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_key_to_blob(ref, &b));
		st_buf_from(&in, blob, b.len);
		CHECK_OK(st_buf_get_string(&in, NULL, NULL));
		CHECK_OK(st_buf_get_string(&in, NULL, NULL));
		CHECK_OK(st_buf_get_string(&in, &q, &ql));
		CHECK_INT(ql, 65);
		memcpy(pt, q, 65);
		bl = ecdsa_blob(mod, sizeof(mod), "nistp256", pt, 65);
		CHECK_OK(st_key_from_blob(mod, bl, &k));
		st_key_free(k);
		k = NULL;
		bl = ecdsa_blob(mod, sizeof(mod), "nistp384", pt, 65);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		pt[64] ^= 1; /* off the curve */
		bl = ecdsa_blob(mod, sizeof(mod), "nistp256", pt, 65);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		pt[64] ^= 1;
		pt[0] = 0x06; /* hybrid form */
		bl = ecdsa_blob(mod, sizeof(mod), "nistp256", pt, 65);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		/* compressed form of the same (valid) point */
		cp[0] = (uint8_t)(0x02 | (q[64] & 1));
		memcpy(cp + 1, q + 1, 32);
		bl = ecdsa_blob(mod, sizeof(mod), "nistp256", cp, 33);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		bl = ecdsa_blob(mod, sizeof(mod), "nistp256", q + 1, 64);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		/* all-zero coordinates */
		memset(pt + 1, 0, 64);
		pt[0] = 4;
		bl = ecdsa_blob(mod, sizeof(mod), "nistp256", pt, 65);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		st_key_free(ref);
		ref = NULL;
	}

	/* RSA parameters */
	CHECK_OK(st_keyfile_load_private(P("rsa2k"), &ref));
	if (ref != NULL) {
		const uint8_t *e, *n;
		size_t el, nl;
		uint8_t nn[2100], ee[8];
		uint8_t three = 3, one = 1, four = 4;

		st_buf_wrap(&b, blob, sizeof(blob));
		CHECK_OK(st_key_to_blob(ref, &b));
		st_buf_from(&in, blob, b.len);
		CHECK_OK(st_buf_get_string(&in, NULL, NULL));
		CHECK_OK(st_buf_get_mpint(&in, &e, &el));
		CHECK_OK(st_buf_get_mpint(&in, &n, &nl));
		CHECK_INT(nl, 256);
		memcpy(nn, n, nl);
		memcpy(ee, e, el);

		bl = rsa_blob(mod, sizeof(mod), ee, el, nn, nl);
		CHECK_OK(st_key_from_blob(mod, bl, &k));
		st_key_free(k);
		k = NULL;
		bl = rsa_blob(mod, sizeof(mod), &three, 1, nn, nl); /* e = 3 is fine */
		CHECK_OK(st_key_from_blob(mod, bl, &k));
		st_key_free(k);
		k = NULL;
		bl = rsa_blob(mod, sizeof(mod), &one, 1, nn, nl);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		bl = rsa_blob(mod, sizeof(mod), &four, 1, nn, nl);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		bl = rsa_blob(mod, sizeof(mod), NULL, 0, nn, nl); /* e = 0 */
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		bl = rsa_blob(mod, sizeof(mod), nn, nl, nn, nl); /* e = n */
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		nn[nl - 1] ^= 1; /* even modulus */
		bl = rsa_blob(mod, sizeof(mod), ee, el, nn, nl);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		nn[nl - 1] ^= 1;
		/* 1016 bits, 1024 bits */
		bl = rsa_blob(mod, sizeof(mod), ee, el, nn + 129, 127);
		CHECK_ERR(st_key_from_blob(mod, bl, &k), ST_ERR_KEY_INVALID);
		nn[128] |= 0x80;
		bl = rsa_blob(mod, sizeof(mod), ee, el, nn + 128, 128);
		CHECK_OK(st_key_from_blob(mod, bl, &k));
		CHECK(k != NULL && st_key_bits(k) == 1024);
		st_key_free(k);
		k = NULL;
		/* 16385 bits: one over the cap (the wire allows a 2049-byte magnitude) */
		memset(nn, 0xff, 2049);
		nn[0] = 1;
		st_buf_wrap(&b, mod, sizeof(mod));
		CHECK_OK(st_buf_put_cstring(&b, "ssh-rsa"));
		CHECK_OK(st_buf_put_mpint(&b, ee, el));
		CHECK_OK(st_buf_put_string(&b, nn, 2049));
		CHECK_ERR(st_key_from_blob(mod, b.len, &k), ST_ERR_KEY_INVALID);
		/* 16384 bits is accepted */
		nn[1] = 0xff;
		bl = rsa_blob(mod, sizeof(mod), ee, el, nn + 1, 2048);
		CHECK_OK(st_key_from_blob(mod, bl, &k));
		CHECK(k != NULL && st_key_bits(k) == 16384);
		st_key_free(k);
		k = NULL;
		/* a negative mpint */
		st_buf_wrap(&b, mod, sizeof(mod));
		CHECK_OK(st_buf_put_cstring(&b, "ssh-rsa"));
		CHECK_OK(st_buf_put_string(&b, "\x81", 1));
		CHECK_OK(st_buf_put_mpint(&b, n, nl));
		CHECK_ERR(st_key_from_blob(mod, b.len, &k), ST_ERR_KEY_INVALID);
		st_key_free(ref);
	}
	CHECK(k == NULL);
}

static void test_generate(void)
{
	static const enum st_key_type types[] = { ST_KEY_ED25519, ST_KEY_ECDSA_P256, ST_KEY_RSA };
	static const char *tnames[] = { "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" };
	struct st_key *k = NULL, *pub = NULL;
	char fp[ST_KEY_FP_SIZE], line[TEXT_MAX];
	char comment[8];

	for (int i = 0; i < 3; i++) {
		CHECK_OK(st_key_generate(types[i], 2048, &k));
		if (k == NULL)
			continue;
		CHECK(strcmp(st_key_type_name(k), tnames[i]) == 0);
		CHECK(st_key_has_private(k));
		CHECK_INT(st_key_bits(k), types[i] == ST_KEY_RSA ? 2048 : 256);
		CHECK_OK(st_key_fingerprint_sha256(k, fp, sizeof(fp)));
		CHECK(strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) == 50);
		CHECK_ERR(st_key_fingerprint_sha256(k, fp, 50), ST_ERR_NO_SPACE);
		CHECK(fp[0] == '\0');
		CHECK_OK(st_key_format_public_line(k, NULL, line, sizeof(line)));
		CHECK_OK(st_key_parse_public_line(line, &pub, comment, sizeof(comment)));
		CHECK(pub != NULL && st_key_equal_public(pub, k) && comment[0] == '\0');
		check_sign_verify(k, pub);
		st_key_free(pub);
		pub = NULL;
		st_key_free(k);
		k = NULL;
	}
	CHECK_ERR(st_key_generate(ST_KEY_RSA, 512, &k), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_key_generate(ST_KEY_RSA, 16385, &k), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_key_generate((enum st_key_type)7, 0, &k), ST_ERR_INVALID_ARGUMENT);
	CHECK(k == NULL);
	st_key_free(NULL);
}

int main(void)
{
	setup();
	RUN(test_base64_rfc4648);
	RUN(test_base64_strict);
	RUN(test_keygen_keys);
	RUN(test_sshsig_interop);
	RUN(test_encrypted_keys);
	RUN(test_file_errors);
	RUN(test_openssh_truncations);
	RUN(test_openssh_mutations);
	RUN(test_public_lines);
	RUN(test_blobs);
	RUN(test_blob_rsa_sig_names);
	RUN(test_generate);
	cleanup();
	return st_test_done("key");
}
