/*
 * Control plane transport: version lines, every kex x host key algorithm x
 * cipher suite handshake against the test client (identical keys on both
 * sides, host key signature verified by the client), rekeys started by each
 * side in the middle of channel data, strict kex (Terrapin) violations,
 * first_kex_packet_follows with a wrong guess, negotiation failures, and
 * unknown message numbers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/conn.h"
#include "control/kex.h"
#include "control/version.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "crypto/kexalg.h"
#include "crypto/mlkem.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_version_check(void)
{
	char out[300];
	static const char *const good[] = {"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
					   "SSH-1.99-foo", "SSH-2.0-x", "SSH-2.0-PuTTY_Release_0.78"};
	static const char *const bad[] = {"", "SSH-", "SSH-2.0-", "SSH-2.0- x", "HTTP/1.1 200 OK",
					  "SSH-2.0-a\tb", "ssh-2.0-x", "SSH-2.0x", "SSH-2.0-\x7f"};
	for (size_t i = 0; i < N(good); i++)
		CHECK_OK(st_version_check((const uint8_t *)good[i], strlen(good[i]), out, sizeof(out)));
	for (size_t i = 0; i < N(bad); i++)
		CHECK_ERR(st_version_check((const uint8_t *)bad[i], strlen(bad[i]), out, sizeof(out)),
			  ST_ERR_FORMAT);
	CHECK_ERR(st_version_check((const uint8_t *)"SSH-1.5-old", 11, out, sizeof(out)),
		  ST_ERR_ALG_UNSUPPORTED);
	/* 253 bytes (255 with CR LF) pass, 254 do not. */
	char longl[300];
	memset(longl, 'a', sizeof(longl));
	memcpy(longl, "SSH-2.0-", 8);
	CHECK_OK(st_version_check((const uint8_t *)longl, 253, out, sizeof(out)));
	CHECK_ERR(st_version_check((const uint8_t *)longl, 254, out, sizeof(out)), ST_ERR_FORMAT);
	/* embedded NUL */
	CHECK_ERR(st_version_check((const uint8_t *)"SSH-2.0-a\0b", 11, out, sizeof(out)),
		  ST_ERR_FORMAT);
}

static void test_bad_version_disconnects(void)
{
	static const struct {
		const char *line;
		uint32_t code;
	} v[] = {
		{"SSH-1.5-old", SSH_DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED},
		{"a banner line from a client", SSH_DISCONNECT_PROTOCOL_ERROR},
		{"SSH-2.0-", SSH_DISCONNECT_PROTOCOL_ERROR},
	};
	for (size_t i = 0; i < N(v); i++) {
		struct sc_bed b;
		struct sc_opts o = {.version = v[i].line};
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
		CHECK(b.closed);
		CHECK_INT(b.close_code, v[i].code);
		CHECK_INT(b.close_reason, ST_CLOSE_VERSION);
		CHECK_INT(b.stats.v[ST_CTL_DISC_VERSION], 1);
		CHECK(st_ctl_conn_done(b.ctl));
		sc_bed_free(&b);
	}
}

static int handshakes_done;

static void handshake_one(const char *kex, const char *hk, const char *cipher, const char *mac)
{
	handshakes_done++;
	struct sc_bed b;
	struct sc_opts o = {.kex = kex, .hostkey_alg = hk, .cipher = cipher, .mac = mac,
			    .strict = 1, .ext_info = 1};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK(strcmp(b.v_s, "SSH-2.0-sshterm_0.1") == 0);
	int r = sc_handshake(&b);
	if (r != ST_OK)
		st_test_fail(__FILE__, __LINE__, "%s %s %s %s: %s", kex, hk, cipher, mac ? mac : "-",
			     st_err_name(r));
	CHECK_INT(b.nkeys, 1);
	CHECK(b.strict_flag);
	CHECK_INT(b.rekey_bytes, 1ull << 30);
	CHECK(strcmp(b.neg_hostkey_alg, hk) == 0);
	CHECK_INT(b.stats.v[ST_CTL_KEX_DONE], 1);
	/* EXT_INFO follows the first NEWKEYS */
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	CHECK(b.ext_info_seen);
	CHECK(strcmp(b.server_sig_algs,
		     "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256") == 0);
	CHECK(!b.closed && !b.fatal);
	sc_bed_free(&b);
}

static void test_handshake_matrix(void)
{
	/* every kex x host key algorithm x cipher suite */
	for (size_t k = 0; k < N(sc_all_kex); k++)
		for (size_t h = 0; h < N(sc_all_hostkey); h++)
			for (size_t s = 0; s < N(st_test_suites); s++) {
				handshake_one(sc_all_kex[k], sc_all_hostkey[h],
					      st_test_suites[s].cipher, st_test_suites[s].mac);
			}
	CHECK_INT(handshakes_done, N(sc_all_kex) * N(sc_all_hostkey) * N(st_test_suites));
}

static void test_handshake_no_strict_no_extinfo(void)
{
	struct sc_bed b;
	struct sc_opts o = {0};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK(!b.strict_flag);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	CHECK(!b.ext_info_seen);
	sc_bed_free(&b);
}

static void test_client_preference_wins(void)
{
	struct sc_bed b;
	struct sc_opts o = {.kex = "diffie-hellman-group14-sha256,curve25519-sha256",
			    .hostkey_alg = "rsa-sha2-256,ssh-ed25519",
			    .cipher = "aes256-ctr,aes128-gcm@openssh.com",
			    .mac = "hmac-sha2-512,hmac-sha2-256"};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK(strcmp(b.neg_hostkey_alg, "rsa-sha2-256") == 0);
	CHECK(b.srv_tx.cipher == st_cipher_by_name("aes256-ctr", 10));
	CHECK(b.srv_tx.mac == st_mac_by_name("hmac-sha2-512", 13));
	sc_bed_free(&b);
}

static void test_negotiation_failures(void)
{
	static const struct sc_opts v[] = {
		{.kex = "diffie-hellman-group1-sha1"},
		{.hostkey_alg = "ssh-rsa"},
		{.cipher = "3des-cbc"},
		{.cipher = "aes128-ctr", .mac = "hmac-sha1"},
	};
	for (size_t i = 0; i < N(v); i++) {
		struct sc_bed b;
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &v[i]));
		CHECK(sc_kex(&b, 1) != ST_OK);
		CHECK(b.closed);
		CHECK_INT(b.close_code, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
		CHECK_INT(b.stats.v[ST_CTL_DISC_KEX_NEGOTIATION], 1);
		sc_bed_free(&b);
	}
}

/*
 * libssh 0.10 ends every KEXINIT list with a comma; empty names (leading,
 * trailing, doubled commas) must match nothing, in every one of the eight
 * lists, and the names after them must still be negotiated. Each case puts
 * empty names into one list (the last case into all of them at once) and
 * checks what the server picked, both through st_ctl_kex_negotiate() on the
 * KEXINIT the client sent and through the keys the server handed over.
 */
static void test_kexinit_empty_names(void)
{
	static const struct {
		struct sc_opts o;
		const char *kex, *hk, *cc, *cs, *mc, *ms; /* expected; NULL mac: AEAD */
	} v[] = {
		{{.kex = "unknown-kex,,curve25519-sha256@libssh.org,,ecdh-sha2-nistp256,"},
		 "curve25519-sha256@libssh.org", "ssh-ed25519", "aes128-gcm@openssh.com",
		 "aes128-gcm@openssh.com", NULL, NULL},
		{{.kex = ",ecdh-sha2-nistp256,,"},
		 "ecdh-sha2-nistp256", "ssh-ed25519", "aes128-gcm@openssh.com",
		 "aes128-gcm@openssh.com", NULL, NULL},
		{{.hostkey_alg = "ssh-dss,,ecdsa-sha2-nistp256,"},
		 "curve25519-sha256", "ecdsa-sha2-nistp256", "aes128-gcm@openssh.com",
		 "aes128-gcm@openssh.com", NULL, NULL},
		{{.hostkey_alg = ",,rsa-sha2-512,,"},
		 "curve25519-sha256", "rsa-sha2-512", "aes128-gcm@openssh.com",
		 "aes128-gcm@openssh.com", NULL, NULL},
		{{.cipher = ",,3des-cbc,,aes256-ctr,aes128-ctr,", .cipher_s2c = "aes128-ctr"},
		 "curve25519-sha256", "ssh-ed25519", "aes256-ctr", "aes128-ctr", "hmac-sha2-256",
		 "hmac-sha2-256"},
		{{.cipher = "aes128-ctr", .cipher_s2c = "3des-cbc,,chacha20-poly1305@openssh.com,"},
		 "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "chacha20-poly1305@openssh.com",
		 "hmac-sha2-256", NULL},
		{{.cipher = "aes128-ctr", .mac = "hmac-sha1,,hmac-sha2-512-etm@openssh.com,",
		  .mac_s2c = "hmac-sha2-256"},
		 "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
		 "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256"},
		{{.cipher = "aes256-ctr", .mac = "hmac-sha2-256", .mac_s2c = ",hmac-sha2-512,,"},
		 "curve25519-sha256", "ssh-ed25519", "aes256-ctr", "aes256-ctr", "hmac-sha2-256",
		 "hmac-sha2-512"},
		{{.comp_c2s = "zlib@openssh.com,,none,"},
		 "curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
		 "aes128-gcm@openssh.com", NULL, NULL},
		{{.comp_s2c = ",none,,"},
		 "curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com",
		 "aes128-gcm@openssh.com", NULL, NULL},
		/* libssh's shape: every list ends with a comma */
		{{.kex = "curve25519-sha256,ecdh-sha2-nistp256,", .hostkey_alg = "ssh-ed25519,",
		  .cipher = "aes128-ctr,aes256-ctr,", .cipher_s2c = "aes256-ctr,aes128-ctr,",
		  .mac = "hmac-sha2-256,hmac-sha2-512,", .mac_s2c = "hmac-sha2-512,hmac-sha2-256,",
		  .comp_c2s = "none,", .comp_s2c = "none,"},
		 "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes256-ctr", "hmac-sha2-256",
		 "hmac-sha2-512"},
	};
	for (size_t i = 0; i < N(v); i++) {
		struct sc_bed b;
		struct sc_opts o = v[i].o;
		struct st_kex_neg n;
		enum st_sig_alg sa;
		const char *what;

		/* the markers follow the kex list: "...,,ext-info-c,kex-strict-c-v00" */
		o.strict = 1;
		o.ext_info = 1;
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
		int r = sc_handshake(&b);
		if (r != ST_OK)
			st_test_fail(__FILE__, __LINE__, "case %zu: %s (%s)", i, st_err_name(r),
				     b.close_text);
		CHECK(!b.closed && !b.fatal);
		CHECK(b.strict_flag);
		CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 0);
		CHECK(strcmp(b.neg_hostkey_alg, v[i].hk) == 0);
		CHECK_OK(st_ctl_kex_negotiate(&fx.cfg, st_buf_ptr(&b.i_c), st_buf_avail(&b.i_c), 1,
					      &n, &what));
		CHECK(n.kex != NULL && strcmp(n.kex->name, v[i].kex) == 0);
		CHECK_OK(st_sig_alg_from_name(v[i].hk, strlen(v[i].hk), &sa));
		CHECK_INT(n.hostkey_alg, sa);
		CHECK(n.cipher_c2s == st_cipher_by_name(v[i].cc, strlen(v[i].cc)));
		CHECK(n.cipher_s2c == st_cipher_by_name(v[i].cs, strlen(v[i].cs)));
		CHECK(n.mac_c2s == (v[i].mc ? st_mac_by_name(v[i].mc, strlen(v[i].mc)) : NULL));
		CHECK(n.mac_s2c == (v[i].ms ? st_mac_by_name(v[i].ms, strlen(v[i].ms)) : NULL));
		CHECK(n.strict && n.ext_info_c);
		/* the keys the server handed over are the negotiated ones */
		CHECK(b.srv_rx.cipher == n.cipher_c2s && b.srv_tx.cipher == n.cipher_s2c);
		CHECK(b.srv_rx.mac == n.mac_c2s && b.srv_tx.mac == n.mac_s2c);
		CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
		CHECK(b.ext_info_seen);
		sc_bed_free(&b);
	}

	/* ext-info-c as the last name before a trailing comma, no strict kex */
	struct sc_bed b;
	struct sc_opts o = {.kex = "curve25519-sha256,ext-info-c,"};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK(!b.strict_flag);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	CHECK(b.ext_info_seen);
	sc_bed_free(&b);
}

/* A list of empty names only is a negotiation failure, a bad byte is malformed. */
static void test_kexinit_empty_names_refused(void)
{
	static const struct {
		struct sc_opts o;
		int malformed;
	} v[] = {
		{{.comp_c2s = ","}, 0},
		{{.comp_s2c = ",,"}, 0},
		{{.mac = ",", .cipher = "aes128-ctr"}, 0},
		{{.cipher = "aes128-gcm@openssh.com,\x01,"}, 1},
		{{.comp_s2c = "none,,zlib\x7f"}, 1},
	};
	for (size_t i = 0; i < N(v); i++) {
		struct sc_bed b;
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &v[i].o));
		CHECK(sc_kex(&b, 1) != ST_OK);
		CHECK(b.closed);
		if (v[i].malformed) {
			CHECK_INT(b.close_code, SSH_DISCONNECT_PROTOCOL_ERROR);
			CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 1);
		} else {
			CHECK_INT(b.close_code, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
			CHECK_INT(b.stats.v[ST_CTL_DISC_KEX_NEGOTIATION], 1);
		}
		sc_bed_free(&b);
	}
}

static void test_host_key_algs_limited_to_keys(void)
{
	/* a config with only an Ed25519 host key does not offer ECDSA or RSA */
	struct st_ctl_config cfg;
	struct st_key *k;
	struct st_buf out;
	struct st_kex_neg n;
	const char *what;

	st_ctl_config_init(&cfg);
	CHECK_OK(st_key_generate(ST_KEY_ED25519, 0, &k));
	CHECK_OK(st_ctl_config_add_hostkey(&cfg, k));
	CHECK_OK(st_buf_alloc(&out, 256, 65536));
	CHECK_OK(st_ctl_kexinit_build(&cfg, 1, &out));
	CHECK(memmem(st_buf_ptr(&out), st_buf_avail(&out), "rsa-sha2", 8) == NULL);
	CHECK(memmem(st_buf_ptr(&out), st_buf_avail(&out), ST_KEX_STRICT_S,
		     strlen(ST_KEX_STRICT_S)) != NULL);
	/* negotiating our own KEXINIT against ourselves works */
	CHECK_OK(st_ctl_kex_negotiate(&cfg, st_buf_ptr(&out), st_buf_avail(&out), 1, &n, &what));
	CHECK(!n.strict);
	st_buf_reset(&out);
	CHECK_OK(st_ctl_kexinit_build(&cfg, 0, &out));
	CHECK(memmem(st_buf_ptr(&out), st_buf_avail(&out), ST_KEX_STRICT_S,
		     strlen(ST_KEX_STRICT_S)) == NULL);
	st_buf_free(&out);
	st_ctl_config_free(&cfg);
}

static void test_config_setters(void)
{
	struct st_ctl_config cfg;
	st_ctl_config_init(&cfg);
	CHECK_OK(st_ctl_config_set_kex(&cfg, "curve25519-sha256"));
	CHECK_ERR(st_ctl_config_set_kex(&cfg, "curve25519-sha256,diffie-hellman-group1-sha1"),
		  ST_ERR_ALG_UNSUPPORTED);
	CHECK_ERR(st_ctl_config_set_kex(&cfg, "curve25519-sha256,"), ST_ERR_NAME_INVALID);
	CHECK(strcmp(cfg.kex_algs, "curve25519-sha256") == 0);
	CHECK_ERR(st_ctl_config_set_hostkey_algs(&cfg, "ssh-rsa"), ST_ERR_ALG_UNSUPPORTED);
	CHECK_OK(st_ctl_config_set_ciphers(&cfg, "aes256-ctr"));
	CHECK_ERR(st_ctl_config_set_macs(&cfg, "hmac-md5"), ST_ERR_ALG_UNSUPPORTED);
	CHECK_OK(st_ctl_config_set_version(&cfg, "SSH-2.0-x_1"));
	CHECK_ERR(st_ctl_config_set_version(&cfg, "SSH-1.99-x"), ST_ERR_INVALID_ARGUMENT);
	CHECK_OK(st_ctl_config_add_service(&cfg, "db", "198.18.0.9:5432"));
	CHECK_OK(st_ctl_config_add_service(&cfg, "v6", "[2001:db8::1]:80"));
	CHECK_ERR(st_ctl_config_add_service(&cfg, "db", "198.18.0.9:5432"), ST_ERR_FORMAT);
	CHECK_ERR(st_ctl_config_add_service(&cfg, "x", "198.18.0.9"), ST_ERR_FORMAT);
	CHECK_ERR(st_ctl_config_add_service(&cfg, "x", "h:70000"), ST_ERR_FORMAT);
	CHECK_ERR(st_ctl_config_add_service(&cfg, "echo", "h:7"), ST_ERR_FORMAT);
	CHECK(st_ctl_config_service(&cfg, "v6") != NULL &&
	      strcmp(st_ctl_config_service(&cfg, "v6")->host, "2001:db8::1") == 0);
	CHECK(!st_ctl_config_permitopen_allows(&cfg, "h", 1));
	CHECK_OK(st_ctl_config_add_permitopen(&cfg, "h:80"));
	CHECK_OK(st_ctl_config_add_permitopen(&cfg, "*:443"));
	CHECK(st_ctl_config_permitopen_allows(&cfg, "H", 80));
	CHECK(!st_ctl_config_permitopen_allows(&cfg, "h", 81));
	CHECK(st_ctl_config_permitopen_allows(&cfg, "other", 443));
	CHECK_OK(st_ctl_config_add_permitopen(&cfg, "any"));
	CHECK(st_ctl_config_permitopen_allows(&cfg, "h", 81));
	CHECK_OK(st_ctl_config_add_permitopen(&cfg, "none"));
	CHECK(!st_ctl_config_permitopen_allows(&cfg, "h", 80));
	st_ctl_config_free(&cfg);
}

/* Logs in and opens an echo channel; returns the server channel id. */
static uint32_t login_echo(struct sc_bed *b, const struct sc_opts *o)
{
	uint32_t sid = 99;
	CHECK_OK(sc_bed_init(b, &fx.cfg, o));
	CHECK_OK(sc_login(b, "alice", fx.user_ed, "ssh-ed25519"));
	CHECK_INT(sc_open_session(b, 5, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sc_chan_request(b, sid, "exec", "echo", 1), SSH_MSG_CHANNEL_SUCCESS);
	return sid;
}

static void send_data(struct sc_bed *b, uint32_t sid, uint32_t n)
{
	uint8_t buf[64];
	struct st_buf o;
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_DATA);
	st_buf_put_u32(&o, sid);
	st_buf_put_u32(&o, 4);
	st_buf_put_u32(&o, n);
	st_record_send(&b->crec, st_buf_ptr(&o), st_buf_avail(&o), &b->c2s);
}

/* Receives echoed data: expects counters want..want+count-1 in order. */
static void expect_data(struct sc_bed *b, uint32_t want, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *p;
		size_t n = sc_recv(b, &p);
		if (n != 13 || p[0] != SSH_MSG_CHANNEL_DATA || st_peek_u32(p + 1) != 5 ||
		    st_peek_u32(p + 9) != want + i) {
			st_test_fail(__FILE__, __LINE__, "data %u: got len %zu type %d", want + i, n,
				     n ? p[0] : -1);
			return;
		}
	}
}

static void test_rekey_client(void)
{
	for (int strict = 0; strict <= 1; strict++) {
		struct sc_bed b;
		struct sc_opts o = {.strict = strict, .cipher = "chacha20-poly1305@openssh.com"};
		uint32_t sid = login_echo(&b, &o);
		uint32_t seq = 0;
		struct st_dir_keys old = b.srv_tx;
		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < 10; i++)
				send_data(&b, sid, seq++);
			/* KEXINIT right behind data; the echo of that data arrives in order */
			CHECK_OK(sc_kex(&b, 0));
			for (int i = 0; i < 10; i++)
				send_data(&b, sid, seq++);
			sc_pump(&b);
			expect_data(&b, seq - 20, 20);
		}
		CHECK_INT(b.nkeys, 4);
		CHECK(memcmp(&old, &b.srv_tx, sizeof(old)) != 0);
		CHECK(memcmp(&b.cli_tx, &b.srv_rx, sizeof(b.cli_tx)) == 0);
		CHECK_INT(b.stats.v[ST_CTL_REKEY_CLIENT], 3);
		CHECK_INT(b.stats.v[ST_CTL_KEX_DONE], 4);
		/* the session id stays: auth state and channel still work */
		CHECK_INT(sc_chan_request(&b, sid, "exec", "sink", 1), SSH_MSG_CHANNEL_FAILURE);
		CHECK(!b.closed && !b.fatal);
		sc_bed_free(&b);
	}
}

static void test_rekey_server(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1, .kex = "ecdh-sha2-nistp256", .cipher = "aes256-ctr",
			    .mac = "hmac-sha2-256-etm@openssh.com"};
	uint32_t sid = login_echo(&b, &o);
	uint32_t seq = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5; i++)
			send_data(&b, sid, seq++);
		CHECK_OK(sc_rekey_due(&b)); /* the server's KEXINIT crosses the data */
		for (int i = 0; i < 5; i++)
			send_data(&b, sid, seq++);
		sc_pump(&b);
		/* data sent before our KEXINIT reached the client comes back in order */
		CHECK_OK(sc_kex(&b, 0));
		expect_data(&b, seq - 10, 10);
	}
	/* REKEY_DUE while a kex runs is ignored */
	CHECK_OK(sc_rekey_due(&b));
	CHECK_OK(sc_rekey_due(&b));
	CHECK_OK(sc_kex(&b, 0));
	CHECK_INT(b.stats.v[ST_CTL_REKEY_SERVER], 4);
	CHECK_INT(b.nkeys, 5);
	CHECK(memcmp(&b.cli_rx, &b.srv_tx, sizeof(b.cli_rx)) == 0);
	CHECK(!b.closed && !b.fatal);
	sc_bed_free(&b);
}

static void send_ignore(struct sc_bed *b)
{
	static const uint8_t ig[] = {SSH_MSG_IGNORE, 0, 0, 0, 1, 'x'};
	st_record_send(&b->crec, ig, sizeof(ig), &b->c2s);
}

static void test_strict_kex_violations(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1};

	/* IGNORE before KEXINIT: KEXINIT is not the first packet */
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	send_ignore(&b);
	CHECK(sc_kex(&b, 1) != ST_OK);
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_PROTOCOL_ERROR);
	CHECK(strstr(b.close_text, "KEXINIT was not the first packet") != NULL);
	CHECK_INT(b.stats.v[ST_CTL_DISC_STRICT_KEX], 1);
	sc_bed_free(&b);

	/* IGNORE / DEBUG / UNIMPLEMENTED / unknown number after KEXINIT, in the initial kex */
	static const uint8_t msgs[][12] = {
		{SSH_MSG_IGNORE, 0, 0, 0, 0},
		{SSH_MSG_DEBUG, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{SSH_MSG_UNIMPLEMENTED, 0, 0, 0, 0},
		{200},
		{SSH_MSG_SERVICE_REQUEST, 0, 0, 0, 0},
	};
	static const size_t lens[] = {5, 10, 5, 1, 5};
	for (size_t i = 0; i < N(lens); i++) {
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
		CHECK_OK(cli_kexinit_send(&b));
		st_record_send(&b.crec, msgs[i], lens[i], &b.c2s);
		sc_pump(&b);
		CHECK(b.closed);
		CHECK_INT(b.stats.v[ST_CTL_DISC_STRICT_KEX], 1);
		CHECK(strstr(b.close_text, "strict KEX violation") != NULL);
		sc_bed_free(&b);
	}

	/* without strict kex the same IGNOREs are fine */
	struct sc_opts o2 = {.strict = 0};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o2));
	send_ignore(&b);
	CHECK_OK(sc_kex(&b, 1));
	CHECK(!b.closed);
	sc_bed_free(&b);
}

static void test_kexinit_not_first_nonstrict(void)
{
	struct sc_bed b;
	struct sc_opts o = {0};
	static const uint8_t sr[] = {SSH_MSG_SERVICE_REQUEST, 0, 0, 0, 12, 's', 's', 'h', '-',
				     'u', 's', 'e', 'r', 'a', 'u', 't', 'h'};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_send(&b, sr, sizeof(sr)));
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_PROTOCOL_ERROR);
	CHECK_INT(b.stats.v[ST_CTL_DISC_UNEXPECTED], 1);
	sc_bed_free(&b);
}

static void test_wrong_guess(void)
{
	struct sc_bed b;
	struct sc_opts o = {.guess_wrong = 1, .strict = 1, .kex = "curve25519-sha256"};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK(!b.closed);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	sc_bed_free(&b);

	/*
	 * The client's first kex is negotiated but is not our first
	 * (mlkem768x25519-sha256): still a wrong guess, dropped (dropbear
	 * guesses curve25519-sha256 and then sends its real KEX_ECDH_INIT).
	 */
	struct sc_opts o2 = {.guess_not_first = 1, .strict = 1, .kex = "curve25519-sha256"};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o2));
	CHECK_OK(sc_handshake(&b));
	CHECK(!b.closed);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
	sc_bed_free(&b);
	/* the host key too: ssh-ed25519 is our first, ecdsa is not */
	struct sc_opts o3 = {.guess_not_first = 1, .strict = 1,
			     .kex = "mlkem768x25519-sha256", .hostkey_alg = "ecdsa-sha2-nistp256"};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o3));
	CHECK_OK(sc_handshake(&b));
	CHECK(!b.closed);
	sc_bed_free(&b);
}

static void test_unimplemented_reply(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1};
	static const uint8_t odd[] = {199, 1, 2, 3};
	const uint8_t *p;

	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	/* strict: client seq restarted at 0 after NEWKEYS, so this is packet 0 */
	CHECK_OK(sc_send(&b, odd, sizeof(odd)));
	size_t n = sc_recv(&b, &p);
	CHECK_INT(n, 5);
	CHECK_INT(p[0], SSH_MSG_UNIMPLEMENTED);
	CHECK_INT(st_peek_u32(p + 1), 0);
	CHECK_OK(sc_send(&b, odd, sizeof(odd)));
	n = sc_recv(&b, &p);
	CHECK_INT(n, 5);
	CHECK_INT(st_peek_u32(p + 1), 1);
	CHECK_INT(b.stats.v[ST_CTL_UNIMPLEMENTED_SENT], 2);
	/* IGNORE / DEBUG / UNIMPLEMENTED are fine after the kex */
	static const uint8_t dbg[] = {SSH_MSG_DEBUG, 1, 0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0};
	static const uint8_t un[] = {SSH_MSG_UNIMPLEMENTED, 0, 0, 0, 9};
	send_ignore(&b);
	CHECK_OK(sc_send(&b, dbg, sizeof(dbg)));
	CHECK_OK(sc_send(&b, un, sizeof(un)));
	CHECK(!b.closed);
	/* a message number meant for clients is a protocol error */
	static const uint8_t bad[] = {SSH_MSG_USERAUTH_SUCCESS};
	CHECK_OK(sc_send(&b, bad, sizeof(bad)));
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_UNEXPECTED], 1);
	sc_bed_free(&b);
}

static void test_peer_disconnect(void)
{
	struct sc_bed b;
	struct sc_opts o = {0};
	static const uint8_t d[] = {SSH_MSG_DISCONNECT, 0, 0, 0, 11, 0, 0, 0, 3, 'b', 'y', 'e',
				    0, 0, 0, 0};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK_OK(sc_send(&b, d, sizeof(d)));
	CHECK(b.closed);
	CHECK_INT(b.close_reason, ST_CLOSE_PEER_DISCONNECT);
	CHECK_INT(b.stats.v[ST_CTL_PEER_DISCONNECT], 1);
	CHECK(sc_log_has(&b, "Received disconnect from 192.0.2.7 port 50022:11: bye [preauth]"));
	sc_bed_free(&b);
	CHECK(sc_log_has(&b, "Disconnected from 192.0.2.7 port 50022 [preauth]"));
}

/*
 * dev-tunnels-ssh sends DISCONNECT with reason code and description only.
 * With and without the language tag, before the kex, after it, once
 * authenticated and through the real worker session, it is a clean peer
 * disconnect: the right log line and counter, no DISCONNECT back.
 */
static void test_peer_disconnect_no_language(void)
{
	static const uint8_t with_lang[] = {SSH_MSG_DISCONNECT, 0, 0, 0, 11, 0, 0, 0, 3, 'b', 'y',
					    'e', 0, 0, 0, 2, 'e', 'n'};
	enum { PRE, KEXED, AUTHED, WSESS };
	for (int st = PRE; st <= WSESS; st++) {
		for (int lang = 0; lang <= 1; lang++) {
			struct sc_bed b;
			struct sc_opts o = {.strict = st != PRE, .wsess = st == WSESS};
			char line[160];
			CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
			if (st == KEXED || st == WSESS)
				CHECK_OK(sc_handshake(&b));
			if (st == AUTHED)
				CHECK_OK(sc_login(&b, "alice", fx.user_ed, "ssh-ed25519"));
			/* without the language tag: the first 12 bytes */
			CHECK_OK(sc_send(&b, with_lang, lang ? sizeof(with_lang) : 12));
			CHECK(b.closed);
			CHECK_INT(b.close_reason, ST_CLOSE_PEER_DISCONNECT);
			CHECK_INT(b.close_code, 0); /* we sent no DISCONNECT back */
			CHECK_INT(b.stats.v[ST_CTL_PEER_DISCONNECT], 1);
			CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 0);
			/* (before the kex the server's KEXINIT is still unread) */
			int t;
			while ((t = sc_next_type(&b)) != -1)
				CHECK(t != SSH_MSG_DISCONNECT);
			snprintf(line, sizeof(line),
				 "Received disconnect from 192.0.2.7 port 50022:11: bye%s",
				 st == AUTHED ? "" : " [preauth]");
			CHECK(sc_log_has(&b, line));
			CHECK(!sc_log_has(&b, "malformed"));
			sc_bed_free(&b);
		}
	}

	/* what is really malformed still is: no description, a cut or trailed tag */
	static const struct {
		size_t len;
		int trailing;
	} bad[] = {{5, 0}, {8, 0}, {13, 0}, {16, 0}, {17, 0}, {sizeof(with_lang), 1}};
	for (size_t i = 0; i < N(bad); i++) {
		struct sc_bed b;
		struct sc_opts o = {.strict = 1};
		uint8_t m[sizeof(with_lang) + 1];
		memcpy(m, with_lang, sizeof(with_lang));
		m[sizeof(with_lang)] = 0;
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
		CHECK_OK(sc_handshake(&b));
		CHECK_OK(sc_send(&b, m, bad[i].len + (size_t)bad[i].trailing));
		CHECK(b.closed);
		CHECK_INT(b.close_code, SSH_DISCONNECT_PROTOCOL_ERROR);
		CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 1);
		CHECK_INT(b.stats.v[ST_CTL_PEER_DISCONNECT], 0);
		sc_bed_free(&b);
	}
}

static void test_bad_public_value(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1};
	uint8_t msg[64];
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(cli_kexinit_send(&b));
	/* a 31-byte X25519 value, and (next connection) the all-zero point */
	msg[0] = SSH_MSG_KEX_ECDH_INIT;
	st_poke_u32(msg + 1, 31);
	memset(msg + 5, 9, 31);
	CHECK_OK(sc_send(&b, msg, 36));
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_KEY_EXCHANGE_FAILED);
	CHECK_INT(b.stats.v[ST_CTL_DISC_KEX_FAILED], 1);
	sc_bed_free(&b);
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(cli_kexinit_send(&b));
	st_poke_u32(msg + 1, 32);
	memset(msg + 5, 0, 32);
	CHECK_OK(sc_send(&b, msg, 37));
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_KEX_FAILED], 1);
	sc_bed_free(&b);
}

/* Client-started rekeys under each hybrid KEM, channel data crossing them. */
static void test_rekey_hybrid(void)
{
	static const char *const kex[] = {"mlkem768x25519-sha256", "sntrup761x25519-sha512",
					  "sntrup761x25519-sha512@openssh.com"};
	for (size_t k = 0; k < N(kex); k++) {
		struct sc_bed b;
		struct sc_opts o = {.strict = 1, .kex = kex[k]};
		uint32_t sid = login_echo(&b, &o);
		uint32_t seq = 0;
		for (int round = 0; round < 2; round++) {
			for (int i = 0; i < 5; i++)
				send_data(&b, sid, seq++);
			CHECK_OK(sc_kex(&b, 0));
			sc_pump(&b);
			expect_data(&b, seq - 5, 5);
		}
		/* and one the server starts */
		CHECK_OK(sc_rekey_due(&b));
		CHECK_OK(sc_kex(&b, 0));
		CHECK_INT(b.nkeys, 4);
		CHECK_INT(b.stats.v[ST_CTL_KEX_DONE], 4);
		CHECK(memcmp(&b.cli_tx, &b.srv_rx, sizeof(b.cli_tx)) == 0);
		CHECK(memcmp(&b.cli_rx, &b.srv_tx, sizeof(b.cli_rx)) == 0);
		CHECK_INT(sc_chan_request(&b, sid, "exec", "sink", 1), SSH_MSG_CHANNEL_FAILURE);
		CHECK(!b.closed && !b.fatal);
		sc_bed_free(&b);
	}
}

/* Sends KEX_ECDH_INIT with q_c[0..len) under kex; the session must end as a failed kex. */
static void hybrid_init_rejected(const char *kex, const uint8_t *q_c, size_t len, int line)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1, .kex = kex};
	uint8_t msg[5 + ST_KEX_PUBLIC_MAX + 8];
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(cli_kexinit_send(&b));
	msg[0] = SSH_MSG_KEX_ECDH_INIT;
	st_poke_u32(msg + 1, (uint32_t)len);
	memcpy(msg + 5, q_c, len);
	CHECK_OK(sc_send(&b, msg, 5 + len));
	if (!b.closed || b.close_code != SSH_DISCONNECT_KEY_EXCHANGE_FAILED ||
	    b.stats.v[ST_CTL_DISC_KEX_FAILED] != 1 || b.stats.v[ST_CTL_KEX_DONE] != 0)
		st_test_fail(__FILE__, line, "%s Q_C of %zu bytes: closed %d code %u, KEX_FAILED %llu",
			     kex, len, b.closed, b.close_code,
			     (unsigned long long)b.stats.v[ST_CTL_DISC_KEX_FAILED]);
	CHECK(strstr(b.close_text, "invalid key exchange public value") != NULL);
	sc_bed_free(&b);
}

static void test_bad_hybrid_value(void)
{
	uint8_t q_c[ST_KEX_PUBLIC_MAX + 1], dk[ST_MLKEM768_DK_LEN];
	struct st_kex_keypair *x = NULL;
	size_t xl = 0;

	/* a good ML-KEM key and X25519 public, then broken one way at a time */
	CHECK_OK(st_mlkem768_keygen(q_c, dk));
	CHECK_OK(st_kex_keypair_new(ST_KEX_X25519, &x));
	if (x == NULL)
		return;
	CHECK_OK(st_kex_public(x, q_c + ST_MLKEM768_EK_LEN, 32, &xl));
	st_kex_keypair_free(x);
	q_c[1216] = 0;
	hybrid_init_rejected("mlkem768x25519-sha256", q_c, 1215, __LINE__);
	hybrid_init_rejected("mlkem768x25519-sha256", q_c, 1217, __LINE__);
	hybrid_init_rejected("mlkem768x25519-sha256", q_c, 32, __LINE__);
	hybrid_init_rejected("sntrup761x25519-sha512", q_c, 1216, __LINE__);
	hybrid_init_rejected("sntrup761x25519-sha512@openssh.com", q_c, 1189, __LINE__);
	/* X25519 low-order point: all-zero shared secret */
	uint8_t z[ST_KEX_PUBLIC_MAX];
	memcpy(z, q_c, 1216);
	memset(z + ST_MLKEM768_EK_LEN, 0, 32);
	hybrid_init_rejected("mlkem768x25519-sha256", z, 1216, __LINE__);
	memset(z + 1158, 0, 32);
	hybrid_init_rejected("sntrup761x25519-sha512", z, 1190, __LINE__);
	/* ek failing the modulus check: the first coefficient 0xfff */
	memcpy(z, q_c, 1216);
	z[0] = 0xff;
	z[1] |= 0x0f;
	hybrid_init_rejected("mlkem768x25519-sha256", z, 1216, __LINE__);
	memset(dk, 0, sizeof(dk));
}

static void test_counter_names(void)
{
	CHECK(strcmp(st_ctl_counter_name(ST_CTL_DISC_MALFORMED), "DISC_MALFORMED") == 0);
	CHECK(strcmp(st_ctl_counter_name(ST_CTL_COUNTER_COUNT), "unknown") == 0);
	CHECK(strlen(st_ctl_counter_text(ST_CTL_CONN_OPENED)) > 0);
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	RUN(test_version_check);
	RUN(test_bad_version_disconnects);
	RUN(test_config_setters);
	RUN(test_host_key_algs_limited_to_keys);
	RUN(test_handshake_matrix);
	RUN(test_handshake_no_strict_no_extinfo);
	RUN(test_client_preference_wins);
	RUN(test_negotiation_failures);
	RUN(test_kexinit_empty_names);
	RUN(test_kexinit_empty_names_refused);
	RUN(test_rekey_client);
	RUN(test_rekey_server);
	RUN(test_strict_kex_violations);
	RUN(test_kexinit_not_first_nonstrict);
	RUN(test_wrong_guess);
	RUN(test_unimplemented_reply);
	RUN(test_peer_disconnect);
	RUN(test_peer_disconnect_no_language);
	RUN(test_bad_public_value);
	RUN(test_rekey_hybrid);
	RUN(test_bad_hybrid_value);
	RUN(test_counter_names);
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_kex");
}
