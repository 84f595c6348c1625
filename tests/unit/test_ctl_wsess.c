/*
 * The control plane together with the real worker session
 * (dataplane/ssh/wsess.h), in memory: client bytes -> st_wsess -> plane
 * queues -> st_ctl_conn -> plane queues -> st_wsess -> bytes. Checks the
 * contract between the two planes: identification lines, key handoff and
 * strict kex, EXT_INFO, held sends during kex, auth, services on bound
 * channels, rekeys started by either side under channel data, and a clean
 * DISCONNECT on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/conn.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;

static void test_handshakes(void)
{
	const char *const *kexes = sc_all_kex, *const *hks = sc_all_hostkey;
	const char *const *ciphers = sc_all_cipher, *const *macs = sc_all_mac;
	for (int i = 0; i < 20; i++) {
		struct sc_bed b;
		struct sc_opts o = {.wsess = 1, .strict = i % 3 != 0, .ext_info = 1,
				    .kex = kexes[i % SC_N_KEX], .hostkey_alg = hks[i % 4],
				    .cipher = ciphers[i % 5], .mac = macs[i % 4]};
		CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
		CHECK(strcmp(b.v_s, "SSH-2.0-sshterm_0.1") == 0);
		int r = sc_handshake(&b);
		if (r != ST_OK)
			st_test_fail(__FILE__, __LINE__, "%s %s %s: %s", o.kex, o.hostkey_alg, o.cipher,
				     st_err_name(r));
		CHECK_INT(sc_service_userauth(&b), SSH_MSG_SERVICE_ACCEPT);
		CHECK(b.ext_info_seen);
		CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_HOSTBOUND),
			  SSH_MSG_USERAUTH_SUCCESS);
		CHECK(!b.closed && !b.fatal);
		sc_bed_free(&b);
	}
}

/* Sends n bytes of CHANNEL_DATA (value v) to server channel sid. */
static void send_data(struct sc_bed *b, uint32_t sid, uint8_t v, size_t n)
{
	uint8_t buf[2048];
	struct st_buf o;
	uint8_t d[1024];
	memset(d, v, sizeof(d));
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_DATA);
	st_buf_put_u32(&o, sid);
	st_buf_put_string(&o, d, n);
	st_record_send(&b->crec, st_buf_ptr(&o), st_buf_avail(&o), &b->c2s);
}

/* Collects echoed CHANNEL_DATA bytes for client channel cid; checks values in order. */
static size_t collect(struct sc_bed *b, uint32_t cid, const uint8_t *want, size_t wantlen)
{
	size_t got = 0;
	const uint8_t *p;
	size_t n;
	while (got < wantlen && (n = sc_recv(b, &p)) > 0) {
		if (p[0] == SSH_MSG_CHANNEL_WINDOW_ADJUST)
			continue;
		if (p[0] == SSH_MSG_KEXINIT) {
			st_test_fail(__FILE__, __LINE__, "unexpected KEXINIT");
			break;
		}
		if (p[0] != SSH_MSG_CHANNEL_DATA || n < 9 || st_peek_u32(p + 1) != cid) {
			st_test_fail(__FILE__, __LINE__, "unexpected message %u", p[0]);
			break;
		}
		uint32_t l = st_peek_u32(p + 5);
		if (got + l > wantlen || memcmp(p + 9, want + got, l) != 0) {
			st_test_fail(__FILE__, __LINE__, "data differs at %zu", got);
			break;
		}
		got += l;
	}
	return got;
}

static void test_echo_and_client_rekey(void)
{
	struct sc_bed b;
	struct sc_opts o = {.wsess = 1, .strict = 1, .ext_info = 1};
	uint32_t sid = 99;
	uint8_t want[16 * 1000];
	size_t wl = 0;

	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_login(&b, "alice", fx.user_ed, "ssh-ed25519"));
	CHECK_INT(sc_open_session(&b, 3, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sc_chan_request(&b, sid, "exec", "echo", 1), SSH_MSG_CHANNEL_SUCCESS);
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 2; i++) {
			send_data(&b, sid, (uint8_t)(round * 4 + i), 1000);
			memset(want + wl, round * 4 + i, 1000);
			wl += 1000;
		}
		/* KEXINIT right behind data; echoes sent before the server saw it
		 * arrive first, the rest after NEWKEYS */
		CHECK_OK(sc_kex(&b, 0));
		for (int i = 2; i < 4; i++) {
			send_data(&b, sid, (uint8_t)(round * 4 + i), 1000);
			memset(want + wl, round * 4 + i, 1000);
			wl += 1000;
		}
		sc_pump(&b);
	}
	CHECK_INT(collect(&b, 3, want, wl), wl);
	CHECK_INT(b.stats.v[ST_CTL_REKEY_CLIENT], 4);
	CHECK(!b.closed && !b.fatal);
	sc_bed_free(&b);
	CHECK(sc_log_has(&b, "Disconnected from user alice 192.0.2.7 port 50022"));
}

static void test_server_rekey_by_volume(void)
{
	struct st_ctl_config cfg = fx.cfg; /* shallow copy: shares the host keys */
	struct sc_bed b;
	struct sc_opts o = {.wsess = 1, .strict = 1};
	uint32_t sid = 99;
	const uint8_t *p;
	size_t n, got = 0;
	int kexes = 0, eof = 0;

	cfg.rekey_bytes = 20000;
	CHECK_OK(sc_bed_init(&b, &cfg, &o));
	CHECK_OK(sc_login(&b, "alice", fx.user_ed, "ssh-ed25519"));
	/* a small window, so that the source runs in many steps */
	static const uint8_t open[] = {SSH_MSG_CHANNEL_OPEN, 0, 0, 0, 7, 's', 'e', 's', 's', 'i',
				       'o', 'n', 0, 0, 0, 3, 0, 0, 0x40, 0, 0, 0, 0x20, 0};
	CHECK_OK(sc_send(&b, open, sizeof(open)));
	n = sc_recv(&b, &p);
	CHECK(n == 17 && p[0] == SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	if (n == 17)
		sid = st_peek_u32(p + 5);
	CHECK_INT(sc_chan_request(&b, sid, "exec", "source 200K", 1), SSH_MSG_CHANNEL_SUCCESS);
	int closed = 0;
	for (int guard = 0; guard < 100000 && !closed && !b.closed; guard++) {
		sc_pump(&b);
		if (b.in_head == b.in_tail)
			break;
		uint8_t t = b.in[b.in_head % SC_INBOX][0];
		if (t == SSH_MSG_KEXINIT) {
			CHECK_OK(sc_kex(&b, 0));
			kexes++;
			continue;
		}
		n = sc_recv(&b, &p);
		if (n == 0)
			break;
		if (p[0] == SSH_MSG_CHANNEL_DATA) {
			uint32_t l = st_peek_u32(p + 5);
			got += l;
			/* grant the window back */
			uint8_t wa[9] = {SSH_MSG_CHANNEL_WINDOW_ADJUST};
			st_poke_u32(wa + 1, sid);
			st_poke_u32(wa + 5, l);
			st_record_send(&b.crec, wa, 9, &b.c2s);
		} else if (p[0] == SSH_MSG_CHANNEL_EOF) {
			eof = 1;
		} else if (p[0] == SSH_MSG_CHANNEL_CLOSE) {
			closed = 1;
		}
	}
	CHECK_INT(got, 200 * 1024);
	CHECK(eof);
	CHECK(kexes >= 5);
	CHECK_INT(b.stats.v[ST_CTL_REKEY_SERVER], kexes);
	CHECK(!b.closed && !b.fatal);
	sc_bed_free(&b);
}

static void test_bad_input_through_worker(void)
{
	struct sc_bed b;
	struct sc_opts o = {.wsess = 1, .strict = 1};
	static const uint8_t bad[] = {SSH_MSG_SERVICE_REQUEST, 0, 0, 0, 99, 's'};

	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK_OK(sc_send(&b, bad, sizeof(bad)));
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 1);
	int t;
	while ((t = sc_next_type(&b)) != -1 && t != SSH_MSG_DISCONNECT)
		;
	CHECK_INT(t, SSH_MSG_DISCONNECT);
	CHECK(b.closed_up); /* the worker reported CLOSED */
	sc_bed_free(&b);

	/* strict kex: IGNORE before KEXINIT, through the worker */
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	static const uint8_t ig[] = {SSH_MSG_IGNORE, 0, 0, 0, 0};
	st_record_send(&b.crec, ig, sizeof(ig), &b.c2s);
	CHECK(sc_kex(&b, 1) != ST_OK);
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_STRICT_KEX], 1);
	sc_bed_free(&b);

	/* a banner line from the client */
	struct sc_opts o2 = {.wsess = 1, .version = "hello there"};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o2));
	CHECK(b.closed || b.closed_up);
	sc_bed_free(&b);
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	RUN(test_handshakes);
	RUN(test_echo_and_client_rekey);
	RUN(test_server_rekey_by_volume);
	RUN(test_bad_input_through_worker);
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_wsess");
}
