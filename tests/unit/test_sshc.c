/*
 * The client engine (control/client/sshc.h) against the server engine in
 * memory: the real worker session and control plane (sc_server_init) behind
 * two byte streams. Covers the algorithm matrix, host key policies, the
 * built-in services with their data checked, windows, rekeys started by
 * either side, refusals, and hostile or broken server input (which must end
 * that connection with a clear reason, never crash).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "control/client/hostkey_check.h"
#include "control/client/sshc.h"
#include "control/config.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/wsess.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;

/* What a run saw through the engine's events. */
struct run {
	struct sc_bed b;
	struct st_sshc_config cfg;
	struct st_sshc *c;
	EVP_CIPHER_CTX *expect; /* AES-128-CTR keystream, as the source service makes it */
	EVP_MD_CTX *sha_in;
	uint64_t got, mismatch;
	uint64_t to_send, sent;
	uint8_t *upbuf;
	int opened, eof, ext;
	/* tampering with the server's bytes before the client sees them */
	size_t flip_at;   /* 0: none; else flip the byte at this s2c offset */
	size_t s2c_total;
	struct st_buf *tape; /* non-NULL: a copy of everything the server sent */
	char text[256];      /* the first bytes of channel data */
	size_t text_len;
};

static void ev_data(void *ctx, const uint8_t *p, size_t n, int ext)
{
	struct run *r = ctx;
	uint8_t ks[32768];

	if (ext) {
		r->ext++;
		return;
	}
	EVP_DigestUpdate(r->sha_in, p, n);
	for (size_t i = 0; i < n && r->text_len < sizeof(r->text); i++)
		r->text[r->text_len++] = (char)p[i];
	if (r->expect != NULL) {
		for (size_t off = 0; off < n;) {
			size_t k = n - off > sizeof(ks) ? sizeof(ks) : n - off;
			int outl;
			memset(ks, 0, k);
			EVP_EncryptUpdate(r->expect, ks, &outl, ks, (int)k);
			if (memcmp(ks, p + off, k) != 0)
				r->mismatch++;
			off += k;
		}
	}
	r->got += n;
}

static void ev_opened(void *ctx)
{
	((struct run *)ctx)->opened = 1;
}

static void ev_eof(void *ctx)
{
	((struct run *)ctx)->eof = 1;
}

static void run_init(struct run *r, const char *command)
{
	static const uint8_t zero[16];

	memset(r, 0, sizeof(*r));
	r->cfg.user = "alice";
	r->cfg.key = fx.user_ed;
	r->cfg.host = "198.18.0.1";
	r->cfg.port = 22;
	r->cfg.hostkey.insecure = 1;
	r->cfg.command = command;
	r->cfg.ev.data = ev_data;
	r->cfg.ev.opened = ev_opened;
	r->cfg.ev.eof = ev_eof;
	r->cfg.ctx = r;
	r->sha_in = EVP_MD_CTX_new();
	EVP_DigestInit_ex(r->sha_in, EVP_sha256(), NULL);
	r->expect = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(r->expect, EVP_aes_128_ctr(), NULL, zero, zero);
}

/* Moves bytes both ways (writing the upload as the window allows) until nothing changes. */
static void run_loop(struct run *r)
{
	for (int i = 0; i < 200000; i++) {
		const uint8_t *p;
		size_t n, used;
		int progress = 0;

		st_sshc_tx_peek(r->c, &p, &n);
		if (n > 0) {
			st_buf_put_bytes(&r->b.c2s, p, n);
			st_sshc_tx_consume(r->c, n);
			progress = 1;
		}
		progress |= sc_server_pump(&r->b);
		n = st_buf_avail(&r->b.s2c);
		if (n > 0) {
			uint8_t *w = r->b.s2c.data + r->b.s2c.off;
			if (r->flip_at > r->s2c_total && r->flip_at <= r->s2c_total + n)
				w[r->flip_at - r->s2c_total - 1] ^= 0x40;
			if (r->tape != NULL)
				st_buf_put_bytes(r->tape, w, n);
			(void)st_sshc_input(r->c, w, n, &used);
			r->s2c_total += used;
			st_buf_skip(&r->b.s2c, used);
			if (st_buf_avail(&r->b.s2c) == 0)
				st_buf_reset(&r->b.s2c);
			if (used > 0)
				progress = 1;
		}
		if (st_sshc_state(r->c) == SSHC_OPEN && r->sent < r->to_send) {
			size_t k = r->to_send - r->sent > 65536 ? 65536 : r->to_send - r->sent;
			long w = st_sshc_write(r->c, r->upbuf + (r->sent % 65536), k);
			if (w > 0) {
				r->sent += (uint64_t)w;
				progress = 1;
				if (r->sent == r->to_send)
					st_sshc_send_eof(r->c);
			}
		}
		if (st_sshc_state(r->c) == SSHC_FAILED || (!progress && st_sshc_state(r->c) ==
								  SSHC_DONE))
			return;
		if (!progress)
			return;
	}
}

/* A whole connection against a fresh server with configuration sc. */
static int run_go(struct run *r, const struct st_ctl_config *sc)
{
	int e;

	if ((e = sc_server_init(&r->b, sc)) != 0)
		return e;
	if ((e = st_sshc_new(&r->cfg, &r->c)) != 0)
		return e;
	run_loop(r);
	return ST_OK;
}

static void run_free(struct run *r)
{
	st_sshc_free(r->c);
	sc_bed_free(&r->b);
	EVP_MD_CTX_free(r->sha_in);
	EVP_CIPHER_CTX_free(r->expect);
	free(r->upbuf);
}

static enum st_sshc_state state_of(const struct run *r)
{
	return st_sshc_state(r->c);
}

static void show_failure(const struct run *r, int line)
{
	if (state_of(r) == SSHC_FAILED)
		fprintf(stderr, "    line %d: %s\n", line, st_sshc_failure(r->c)->text);
}

static void test_matrix(void)
{
	const char *const *kexes = sc_all_kex, *const *hks = sc_all_hostkey;
	const char *const *ciphers = sc_all_cipher, *const *macs = sc_all_mac;
	const struct st_key *users[] = {fx.user_ed, fx.user_ec, fx.user_rsa};

	for (int i = 0; i < 20; i++) {
		struct run r;
		run_init(&r, "source 100000");
		r.cfg.kex = kexes[i % SC_N_KEX];
		r.cfg.hostkey_algs = hks[i % 4];
		r.cfg.ciphers = ciphers[i % 5];
		r.cfg.macs = macs[i % 4];
		r.cfg.key = users[i % 3];
		CHECK_OK(run_go(&r, &fx.cfg));
		show_failure(&r, __LINE__);
		CHECK_INT(state_of(&r), SSHC_DONE);
		CHECK(strcmp(st_sshc_info(r.c)->kex, kexes[i % SC_N_KEX]) == 0);
		CHECK(strcmp(st_sshc_info(r.c)->hostkey_alg, hks[i % 4]) == 0);
		CHECK(strcmp(st_sshc_info(r.c)->cipher_c2s, ciphers[i % 5]) == 0);
		CHECK(strcmp(st_sshc_info(r.c)->server_version, "SSH-2.0-sshterm_0.1") == 0);
		CHECK_INT(r.got, 100000);
		CHECK_INT(r.mismatch, 0);
		CHECK(r.opened && r.eof);
		CHECK_INT(st_sshc_exit_status(r.c), 0);
		CHECK(strcmp(r.b.authed_user, "alice") == 0);
		run_free(&r);
	}
}

/* Uploads: sink takes them, echo gives them back unchanged. */
static void test_sink_echo(void)
{
	static const uint8_t zero[16];
	const char *cmds[] = {"sink", "echo"};

	for (int k = 0; k < 2; k++) {
		struct run r;
		EVP_CIPHER_CTX *gen = EVP_CIPHER_CTX_new();
		int outl;
		run_init(&r, cmds[k]);
		r.upbuf = calloc(1, 65536);
		EVP_EncryptInit_ex(gen, EVP_aes_128_ctr(), NULL, zero, zero);
		EVP_EncryptUpdate(gen, r.upbuf, &outl, r.upbuf, 65536);
		EVP_CIPHER_CTX_free(gen);
		r.to_send = 5u << 20; /* beyond both windows, so adjusts must flow */
		CHECK_OK(run_go(&r, &fx.cfg));
		show_failure(&r, __LINE__);
		CHECK_INT(state_of(&r), SSHC_DONE);
		CHECK_INT(r.sent, r.to_send);
		CHECK_INT(st_sshc_info(r.c)->data_out, r.to_send);
		if (k == 1) {
			/* the upload repeats its first 64 KiB, so compare with the same pattern */
			EVP_MD_CTX *h = EVP_MD_CTX_new();
			uint8_t a[32], b[32];
			unsigned al, bl;
			EVP_DigestInit_ex(h, EVP_sha256(), NULL);
			for (uint64_t o = 0; o < r.to_send; o += 65536)
				EVP_DigestUpdate(h, r.upbuf, 65536);
			EVP_DigestFinal_ex(h, a, &al);
			EVP_DigestFinal_ex(r.sha_in, b, &bl);
			EVP_MD_CTX_free(h);
			CHECK_INT(r.got, r.to_send);
			CHECK(memcmp(a, b, 32) == 0);
		} else {
			/* sink answers "<bytes> <sha256 hex>\n" at EOF */
			char want[128], hex[65];
			EVP_MD_CTX *h = EVP_MD_CTX_new();
			uint8_t d[32];
			unsigned dl;
			EVP_DigestInit_ex(h, EVP_sha256(), NULL);
			for (uint64_t o = 0; o < r.to_send; o += 65536)
				EVP_DigestUpdate(h, r.upbuf, 65536);
			EVP_DigestFinal_ex(h, d, &dl);
			EVP_MD_CTX_free(h);
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[i]);
			snprintf(want, sizeof(want), "%llu %s\n", (unsigned long long)r.to_send, hex);
			CHECK_INT(r.got, strlen(want));
			CHECK(r.text_len == strlen(want) && memcmp(r.text, want, r.text_len) == 0);
		}
		run_free(&r);
	}
}

/* Rekeys: ours by volume under an upload, the server's by its RekeyLimit under a download. */
static void test_rekey(void)
{
	struct run r;
	struct st_ctl_config sc;

	run_init(&r, "echo");
	r.upbuf = calloc(1, 65536);
	r.to_send = 3u << 20;
	r.cfg.rekey_bytes = 256u * 1024u;
	CHECK_OK(run_go(&r, &fx.cfg));
	show_failure(&r, __LINE__);
	CHECK_INT(state_of(&r), SSHC_DONE);
	CHECK_INT(r.got, r.to_send);
	CHECK(st_sshc_info(r.c)->rekeys >= 8);
	run_free(&r);

	sc = fx.cfg;
	sc.rekey_bytes = 512u * 1024u;
	run_init(&r, "source 4000000");
	r.cfg.window = 128u * 1024u; /* the server checks its limit per burst: keep bursts small */
	CHECK_OK(run_go(&r, &sc));
	show_failure(&r, __LINE__);
	CHECK_INT(state_of(&r), SSHC_DONE);
	CHECK_INT(r.got, 4000000);
	CHECK_INT(r.mismatch, 0);
	CHECK(st_sshc_info(r.c)->rekeys >= 4);
	run_free(&r);
}

/* known_hosts and fingerprints: the right key passes, any other is refused. */
static void test_hostkey_policy(void)
{
	char line[20000], text[40000], path[128], fp[128];
	struct st_known_hosts *kh = NULL, *kh_bad = NULL;
	struct run r;
	struct st_key *other;

	/* the fixture's ed25519 host key is cfg.hostkeys[0] */
	CHECK_OK(st_key_format_public_line(fx.cfg.hostkeys[0], "", line, sizeof(line)));
	snprintf(text, sizeof(text), "# comment\n198.18.0.1 %s\n", line);
	snprintf(path, sizeof(path), "%s/known_hosts", fx.dir);
	st_test_write_file(path, text, strlen(text));
	CHECK_OK(st_known_hosts_load(path, &kh, NULL));
	CHECK_OK(st_key_generate(ST_KEY_ED25519, 0, &other));
	CHECK_OK(st_key_format_public_line(other, "", line, sizeof(line)));
	snprintf(text, sizeof(text), "198.18.0.1 %s\n", line);
	CHECK_OK(st_known_hosts_parse(text, strlen(text), &kh_bad, NULL));

	/* known key: OK, and the algorithm known_hosts holds is put first */
	run_init(&r, "source 0");
	r.cfg.hostkey.insecure = 0;
	r.cfg.hostkey.known_hosts = kh;
	CHECK_OK(run_go(&r, &fx.cfg));
	show_failure(&r, __LINE__);
	CHECK_INT(state_of(&r), SSHC_DONE);
	CHECK(strcmp(st_sshc_info(r.c)->hostkey_alg, "ssh-ed25519") == 0);
	run_free(&r);

	/* another key for the host: refused, and the server is told why */
	run_init(&r, "source 0");
	r.cfg.hostkey.insecure = 0;
	r.cfg.hostkey.known_hosts = kh_bad;
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(state_of(&r), SSHC_FAILED);
	CHECK_INT(st_sshc_failure(r.c)->reason, SSHC_FAIL_HOSTKEY);
	CHECK(strstr(st_sshc_failure(r.c)->text, "SHA256:") != NULL);
	CHECK(r.b.authed_user[0] == '\0');
	run_free(&r);

	/* host not in the file at all (another port) */
	run_init(&r, "source 0");
	r.cfg.hostkey.insecure = 0;
	r.cfg.hostkey.known_hosts = kh;
	r.cfg.port = 2222;
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(st_sshc_failure(r.c)->reason, SSHC_FAIL_HOSTKEY);
	run_free(&r);

	/* pinned fingerprint, right and wrong */
	CHECK_OK(st_key_fingerprint_sha256(fx.cfg.hostkeys[0], fp, sizeof(fp)));
	run_init(&r, "source 0");
	r.cfg.hostkey.insecure = 0;
	r.cfg.hostkey.fingerprint = fp;
	r.cfg.hostkey_algs = "ssh-ed25519";
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(state_of(&r), SSHC_DONE);
	run_free(&r);
	run_init(&r, "source 0");
	r.cfg.hostkey.insecure = 0;
	r.cfg.hostkey.fingerprint = fp;
	r.cfg.hostkey_algs = "ecdsa-sha2-nistp256";
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(st_sshc_failure(r.c)->reason, SSHC_FAIL_HOSTKEY);
	run_free(&r);

	/* no policy at all is the caller's error */
	run_init(&r, "source 0");
	r.cfg.hostkey.insecure = 0;
	CHECK_ERR(st_sshc_new(&r.cfg, &r.c), ST_ERR_INVALID_ARGUMENT);
	r.cfg.hostkey.insecure = 1;
	r.cfg.ciphers = "aes128-gcm@openssh.com,rot13";
	CHECK_ERR(st_sshc_new(&r.cfg, &r.c), ST_ERR_INVALID_ARGUMENT);
	run_free(&r);

	st_key_free(other);
	st_known_hosts_free(kh);
	st_known_hosts_free(kh_bad);
}

/* What the server refuses ends that connection with the reason. */
static void test_refusals(void)
{
	struct run r;
	struct st_ctl_config sc;

	run_init(&r, "source 0");
	r.cfg.key = fx.user_other;
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(state_of(&r), SSHC_FAILED);
	CHECK_INT(st_sshc_failure(r.c)->reason, SSHC_FAIL_AUTH);
	CHECK(strstr(st_sshc_failure(r.c)->text, "publickey") != NULL);
	run_free(&r);

	run_init(&r, "no-such-service");
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(state_of(&r), SSHC_FAILED);
	CHECK_INT(st_sshc_failure(r.c)->reason, SSHC_FAIL_EXEC);
	run_free(&r);

	sc = fx.cfg;
	CHECK_OK(st_ctl_config_set_ciphers(&sc, "aes256-ctr"));
	run_init(&r, "source 0");
	r.cfg.ciphers = "aes128-gcm@openssh.com";
	CHECK_OK(run_go(&r, &sc));
	CHECK_INT(st_sshc_failure(r.c)->reason, SSHC_FAIL_NEGOTIATION);
	CHECK(strstr(st_sshc_failure(r.c)->text, "cipher") != NULL);
	run_free(&r);

	/* no command: done right after authentication */
	run_init(&r, NULL);
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(state_of(&r), SSHC_DONE);
	CHECK(strcmp(r.b.authed_user, "alice") == 0);
	run_free(&r);
}

/* Damaged server bytes: one flipped bit anywhere ends the connection, cleanly. */
static void test_tampered(void)
{
	size_t total;
	struct run r;
	int fails = 0, done = 0;

	run_init(&r, "source 20000");
	CHECK_OK(run_go(&r, &fx.cfg));
	CHECK_INT(state_of(&r), SSHC_DONE);
	total = r.s2c_total;
	run_free(&r);
	CHECK(total > 1000);
	for (size_t at = 1; at <= total; at += total / 97 + 1) {
		run_init(&r, "source 20000");
		r.flip_at = at;
		CHECK_OK(run_go(&r, &fx.cfg));
		if (state_of(&r) == SSHC_FAILED) {
			fails++;
			CHECK(st_sshc_failure(r.c)->text[0] != '\0');
		} else if (state_of(&r) == SSHC_DONE) {
			/* only a flip in the version's software part or in padding may pass */
			done++;
			CHECK(r.mismatch == 0);
		}
		run_free(&r);
	}
	CHECK(fails > 80);
	(void)done;
}

/* A hostile server, written by hand: every reply ends the connection with a reason. */
static void feed_raw(const char *what, const uint8_t *p, size_t n, enum st_sshc_fail want)
{
	struct st_sshc_config cfg = {.user = "alice", .key = fx.user_ed, .command = "x"};
	struct st_sshc *c;
	size_t used;

	cfg.hostkey.insecure = 1;
	if (st_sshc_new(&cfg, &c) != ST_OK) {
		st_test_fail(__FILE__, __LINE__, "%s: new", what);
		return;
	}
	(void)st_sshc_input(c, p, n, &used);
	st_sshc_input_eof(c);
	if (st_sshc_state(c) != SSHC_FAILED || st_sshc_failure(c)->reason != want)
		st_test_fail(__FILE__, __LINE__, "%s: state %d reason %s (%s)", what,
			     st_sshc_state(c), st_sshc_fail_text(st_sshc_failure(c)->reason),
			     st_sshc_failure(c)->text);
	st_sshc_free(c);
}

static size_t packet(uint8_t *out, const uint8_t *payload, size_t len)
{
	size_t pad = 8 - (5 + len) % 8;
	if (pad < 4)
		pad += 8;
	st_poke_u32(out, (uint32_t)(1 + len + pad));
	out[4] = (uint8_t)pad;
	memcpy(out + 5, payload, len);
	memset(out + 5 + len, 0, pad);
	return 5 + len + pad;
}

static void test_hostile(void)
{
	static const char v[] = "SSH-2.0-evil\r\n";
	uint8_t buf[70000], pl[4096];
	struct st_buf b;
	size_t n;

	feed_raw("http", (const uint8_t *)"HTTP/1.1 400 Bad Request\r\n\r\n", 28,
		 SSHC_FAIL_CLOSED);
	feed_raw("ssh1", (const uint8_t *)"SSH-1.5-old\r\n", 13, SSHC_FAIL_VERSION);
	memset(buf, 'A', 300);
	buf[300] = '\n';
	feed_raw("long line", buf, 301, SSHC_FAIL_VERSION);
	for (size_t i = 0; i < sizeof(buf); i += 10)
		memcpy(buf + i, "banner...\n", 10);
	feed_raw("endless banner", buf, sizeof(buf), SSHC_FAIL_VERSION);
	feed_raw("version with NUL", (const uint8_t *)"SSH-2.0-a\0b\r\n", 13, SSHC_FAIL_VERSION);

	memcpy(buf, v, sizeof(v) - 1);
	memset(buf + sizeof(v) - 1, 0xff, 64);
	feed_raw("huge packet length", buf, sizeof(v) - 1 + 64, SSHC_FAIL_RECORD);

	/* a KEXINIT with nothing in common */
	st_buf_wrap(&b, pl, sizeof(pl));
	st_buf_put_u8(&b, SSH_MSG_KEXINIT);
	st_buf_put_bytes(&b, "0123456789abcdef", 16);
	st_buf_put_cstring(&b, "diffie-hellman-group1-sha1");
	for (int i = 0; i < 9; i++)
		st_buf_put_cstring(&b, i < 7 ? "x" : "");
	st_buf_put_bool(&b, 0);
	st_buf_put_u32(&b, 0);
	memcpy(buf, v, sizeof(v) - 1);
	n = sizeof(v) - 1 + packet(buf + sizeof(v) - 1, pl, st_buf_avail(&b));
	feed_raw("no common kex", buf, n, SSHC_FAIL_NEGOTIATION);

	/* a truncated KEXINIT */
	n = sizeof(v) - 1 + packet(buf + sizeof(v) - 1, pl, 30);
	feed_raw("truncated KEXINIT", buf, n, SSHC_FAIL_PROTOCOL);

	/* a message from a later layer before any kex */
	pl[0] = SSH_MSG_CHANNEL_DATA;
	n = sizeof(v) - 1 + packet(buf + sizeof(v) - 1, pl, 1);
	feed_raw("channel data first", buf, n, SSHC_FAIL_PROTOCOL);

	/* DISCONNECT with its code and a hostile text */
	st_buf_wrap(&b, pl, sizeof(pl));
	st_buf_put_u8(&b, SSH_MSG_DISCONNECT);
	st_buf_put_u32(&b, 12);
	st_buf_put_cstring(&b, "too many %s%n\x1b[2J");
	st_buf_put_cstring(&b, "");
	n = sizeof(v) - 1 + packet(buf + sizeof(v) - 1, pl, st_buf_avail(&b));
	feed_raw("disconnect", buf, n, SSHC_FAIL_DISCONNECT);

	/* every prefix of a real server's bytes, then EOF: fails, never crashes */
	{
		struct run r;
		struct st_buf tape;
		CHECK_OK(st_buf_alloc(&tape, 4096, 1u << 20));
		run_init(&r, "source 1000");
		r.tape = &tape;
		CHECK_OK(run_go(&r, &fx.cfg));
		CHECK_INT(state_of(&r), SSHC_DONE);
		run_free(&r);
		for (size_t k = 0; k + 1 < st_buf_avail(&tape); k += 7) {
			struct st_sshc_config cfg = {.user = "alice", .key = fx.user_ed,
						     .command = "x"};
			struct st_sshc *c;
			size_t used;
			cfg.hostkey.insecure = 1;
			CHECK_OK(st_sshc_new(&cfg, &c));
			(void)st_sshc_input(c, st_buf_ptr(&tape), k, &used);
			st_sshc_input_eof(c);
			CHECK_INT(st_sshc_state(c), SSHC_FAILED);
			st_sshc_free(c);
		}
		st_buf_free(&tape);
	}
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture failed\n");
		return 1;
	}
	RUN(test_matrix);
	RUN(test_sink_echo);
	RUN(test_rekey);
	RUN(test_hostkey_policy);
	RUN(test_refusals);
	RUN(test_tampered);
	RUN(test_hostile);
	sc_fixture_free(&fx);
	return st_test_done("test_sshc");
}
