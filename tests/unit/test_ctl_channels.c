/*
 * Control plane connection protocol policy: session channels and the
 * services they pick (exec, subsystem, shell, forced command), pty/env/other
 * requests, direct-tcpip under PermitOpen and key options, channel ids,
 * limits and reuse, global requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/channels.h"
#include "control/config.h"
#include "control/conn.h"
#include "control/proxyhdr.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;

static void login(struct sc_bed *b, const char *user)
{
	struct sc_opts o = {.strict = 1, .ext_info = 1};
	CHECK_OK(sc_bed_init(b, &fx.cfg, &o));
	CHECK_OK(sc_login(b, user, fx.user_ed, "ssh-ed25519"));
}

static void test_session_echo(void)
{
	struct sc_bed b;
	uint32_t sid = 99;
	const uint8_t *p;
	struct st_buf pb;
	uint32_t v;

	login(&b, "alice");
	/* the confirmation carries our window and max packet */
	static const uint8_t open[] = {SSH_MSG_CHANNEL_OPEN, 0, 0, 0, 7, 's', 'e', 's', 's', 'i',
				       'o', 'n', 0, 0, 0, 3, 0, 0, 0x10, 0, 0, 0, 0x80, 0};
	CHECK_OK(sc_send(&b, open, sizeof(open)));
	size_t n = sc_recv(&b, &p);
	CHECK_INT(n, 17);
	CHECK_INT(p[0], SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	st_buf_from(&pb, p + 1, n - 1);
	CHECK_OK(st_buf_get_u32(&pb, &v));
	CHECK_INT(v, 3);
	CHECK_OK(st_buf_get_u32(&pb, &sid));
	CHECK_OK(st_buf_get_u32(&pb, &v));
	CHECK_INT(v, 2u << 20);
	CHECK_OK(st_buf_get_u32(&pb, &v));
	CHECK_INT(v, 32u << 10);
	CHECK(sid < SC_CHANS && b.ch[sid].bound && b.ch[sid].remote_id == 3);
	CHECK_INT(sc_chan_request(&b, sid, "exec", "echo", 1), SSH_MSG_CHANNEL_SUCCESS);
	CHECK_INT(b.ch[sid].kind, ST_SERVICE_ECHO);
	CHECK(strcmp(b.ch[sid].name, "echo") == 0);
	/* data flows through the (test) worker's fast path */
	static uint8_t data[] = {SSH_MSG_CHANNEL_DATA, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i'};
	st_poke_u32(data + 1, sid);
	CHECK_OK(sc_send(&b, data, sizeof(data)));
	n = sc_recv(&b, &p);
	CHECK_INT(n, 11);
	CHECK(n == 11 && p[0] == SSH_MSG_CHANNEL_DATA && st_peek_u32(p + 1) == 3 &&
	      memcmp(p + 9, "hi", 2) == 0);
	/* a second exec on the same channel is refused */
	CHECK_INT(sc_chan_request(&b, sid, "exec", "sink", 1), SSH_MSG_CHANNEL_FAILURE);
	CHECK_INT(b.stats.v[ST_CTL_CHANNEL_OPENED], 1);
	CHECK(!b.closed);
	sc_bed_free(&b);
}

static void test_services(void)
{
	static const struct {
		const char *type, *arg;
		int ok;
		enum st_service_kind kind;
		uint64_t bytes;
	} v[] = {
		{"exec", "sink", 1, ST_SERVICE_SINK, 0},
		{"exec", "echo", 1, ST_SERVICE_ECHO, 0},
		{"exec", "source 123", 1, ST_SERVICE_SOURCE, 123},
		{"exec", "source 64K", 1, ST_SERVICE_SOURCE, 65536},
		{"exec", "source 256M", 1, ST_SERVICE_SOURCE, 256ull << 20},
		{"exec", "source 2G", 1, ST_SERVICE_SOURCE, 2ull << 30},
		{"exec", "  source   5k ", 1, ST_SERVICE_SOURCE, 5120},
		{"exec", "db", 1, ST_SERVICE_BACKEND, 0},
		{"subsystem", "sink", 1, ST_SERVICE_SINK, 0},
		{"subsystem", "db", 1, ST_SERVICE_BACKEND, 0},
		{"shell", NULL, 1, ST_SERVICE_ECHO, 0},
		{"exec", "source", 0, 0, 0},
		{"exec", "source 12X", 0, 0, 0},
		{"exec", "source -1", 0, 0, 0},
		{"exec", "sink now", 0, 0, 0},
		{"exec", "nosuch", 0, 0, 0},
		{"exec", "", 0, 0, 0},
		{"exec", "ls -l /", 0, 0, 0},
		{"subsystem", "sftp", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sc_bed b;
		uint32_t sid = 99;
		login(&b, "alice");
		CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
		int t = sc_chan_request(&b, sid, v[i].type, v[i].arg, 1);
		if (t != (v[i].ok ? SSH_MSG_CHANNEL_SUCCESS : SSH_MSG_CHANNEL_FAILURE))
			st_test_fail(__FILE__, __LINE__, "%s %s: %d", v[i].type,
				     v[i].arg ? v[i].arg : "", t);
		if (v[i].ok && sid < SC_CHANS) {
			CHECK(b.ch[sid].attached);
			CHECK_INT(b.ch[sid].kind, v[i].kind);
			CHECK_INT(b.ch[sid].source_bytes, v[i].bytes);
			if (v[i].kind == ST_SERVICE_BACKEND) {
				CHECK(strcmp(b.ch[sid].host, "198.18.0.9") == 0);
				CHECK_INT(b.ch[sid].port, 5432);
			}
		} else if (sid < SC_CHANS) {
			CHECK(!b.ch[sid].attached);
		}
		CHECK(!b.closed);
		sc_bed_free(&b);
	}
}

/* proxy-protocol=v2: the attach carries a v2 header with the client and the TLVs. */
static void test_backend_proxy_header(void)
{
	struct sc_bed b;
	struct st_proxyhdr h;
	uint32_t sid = 99;

	login(&b, "alice");
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sc_chan_request(&b, sid, "exec", "dbpp", 1), SSH_MSG_CHANNEL_SUCCESS);
	if (sid >= SC_CHANS) {
		sc_bed_free(&b);
		return;
	}
	CHECK_INT(b.ch[sid].kind, ST_SERVICE_BACKEND);
	CHECK_OK(st_proxyhdr_parse(b.ch[sid].prefix, b.ch[sid].prefix_len, &h));
	CHECK_INT(h.version, 2);
	CHECK_INT(h.family, ST_PROXYHDR_INET);
	CHECK_MEM(h.src, "\xc0\x00\x02\x07", 4); /* the test bed's peer, 192.0.2.7 */
	size_t off = 0;
	uint8_t type;
	const uint8_t *val;
	uint16_t vl;
	int seen = 0;
	while (seen < 8 && st_proxyhdr_tlv_next(b.ch[sid].prefix, &h, &off, &type, &val, &vl)) {
		if (type == ST_PP2_TYPE_USER)
			CHECK(vl == 5 && memcmp(val, "alice", 5) == 0);
		else if (type == ST_PP2_TYPE_KEY_FP)
			CHECK(vl > 7 && memcmp(val, "SHA256:", 7) == 0);
		else if (type == ST_PP2_TYPE_COMMAND)
			CHECK(vl == 4 && memcmp(val, "dbpp", 4) == 0);
		else
			st_test_fail(__FILE__, __LINE__, "unexpected TLV 0x%02x", type);
		seen++;
	}
	CHECK_INT(seen, 3);
	/* without the option: no header */
	uint32_t sid2 = 99;
	CHECK_INT(sc_open_session(&b, 2, &sid2), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sc_chan_request(&b, sid2, "exec", "db", 1), SSH_MSG_CHANNEL_SUCCESS);
	if (sid2 < SC_CHANS)
		CHECK_INT(b.ch[sid2].prefix_len, 0);
	sc_bed_free(&b);
}

static void test_forced_command_and_pty(void)
{
	struct sc_bed b;
	uint32_t sid = 99;

	CHECK_OK(sc_authkey_add(&fx, "dave", "command=\"source 1K\",no-pty", fx.user_ed, 0));
	login(&b, "dave");
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sc_chan_request(&b, sid, "pty-req", NULL, 1), SSH_MSG_DISCONNECT); /* malformed */
	sc_bed_free(&b);

	login(&b, "dave");
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	/* pty-req: string TERM, 4 x uint32, string modes */
	uint8_t pty[128];
	struct st_buf o;
	st_buf_wrap(&o, pty, sizeof(pty));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_REQUEST);
	st_buf_put_u32(&o, sid);
	st_buf_put_cstring(&o, "pty-req");
	st_buf_put_bool(&o, 1);
	st_buf_put_cstring(&o, "xterm");
	for (int i = 0; i < 4; i++)
		st_buf_put_u32(&o, 80);
	st_buf_put_string(&o, "\0", 1);
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), SSH_MSG_CHANNEL_FAILURE); /* no-pty */
	CHECK_INT(sc_chan_request(&b, sid, "exec", "echo", 1), SSH_MSG_CHANNEL_SUCCESS);
	CHECK_INT(b.ch[sid].kind, ST_SERVICE_SOURCE);
	CHECK_INT(b.ch[sid].source_bytes, 1024);
	sc_bed_free(&b);

	/* without no-pty the same pty-req succeeds, once */
	login(&b, "alice");
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	st_poke_u32(pty + 1, sid);
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), SSH_MSG_CHANNEL_SUCCESS);
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), SSH_MSG_CHANNEL_FAILURE);
	CHECK(!b.closed);
	sc_bed_free(&b);
}

static void test_other_requests(void)
{
	struct sc_bed b;
	uint32_t sid = 99;
	uint8_t buf[128];
	struct st_buf o;

	login(&b, "alice");
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	/* env: refused */
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_REQUEST);
	st_buf_put_u32(&o, sid);
	st_buf_put_cstring(&o, "env");
	st_buf_put_bool(&o, 1);
	st_buf_put_cstring(&o, "LANG");
	st_buf_put_cstring(&o, "C");
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), SSH_MSG_CHANNEL_FAILURE);
	/* window-change without reply: silence */
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_REQUEST);
	st_buf_put_u32(&o, sid);
	st_buf_put_cstring(&o, "window-change");
	st_buf_put_bool(&o, 0);
	for (int i = 0; i < 4; i++)
		st_buf_put_u32(&o, 10);
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), -1);
	/* signal, exit-status from a client: ignored */
	CHECK_INT(sc_chan_request(&b, sid, "signal", "INT", 0), 0);
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_REQUEST);
	st_buf_put_u32(&o, sid);
	st_buf_put_cstring(&o, "exit-status");
	st_buf_put_bool(&o, 0);
	st_buf_put_u32(&o, 0);
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), -1);
	/* unknown and unsupported requests: failure when a reply is wanted */
	CHECK_INT(sc_chan_request(&b, sid, "x11-req", NULL, 1), SSH_MSG_CHANNEL_FAILURE);
	CHECK_INT(sc_chan_request(&b, sid, "auth-agent-req@openssh.com", NULL, 1),
		  SSH_MSG_CHANNEL_FAILURE);
	CHECK_INT(sc_chan_request(&b, sid, "frobnicate", "x", 1), SSH_MSG_CHANNEL_FAILURE);
	CHECK_INT(sc_chan_request(&b, sid, "frobnicate", "x", 0), 0);
	CHECK(!b.closed);
	/* a request for a channel that does not exist ends the connection */
	CHECK_INT(sc_chan_request(&b, 7, "exec", "echo", 1), SSH_MSG_DISCONNECT);
	CHECK_INT(b.stats.v[ST_CTL_DISC_CHANNEL], 1);
	sc_bed_free(&b);
}

static int direct_tcpip(struct sc_bed *b, const char *host, uint32_t port, uint32_t *reason)
{
	uint8_t buf[512];
	struct st_buf o;
	const uint8_t *p;
	size_t n;

	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_OPEN);
	st_buf_put_cstring(&o, "direct-tcpip");
	st_buf_put_u32(&o, 4);
	st_buf_put_u32(&o, 65536);
	st_buf_put_u32(&o, 16384);
	st_buf_put_cstring(&o, host);
	st_buf_put_u32(&o, port);
	st_buf_put_cstring(&o, "127.0.0.1");
	st_buf_put_u32(&o, 4242);
	if (sc_sendb(b, &o) != 0 || (n = sc_recv(b, &p)) == 0)
		return -1;
	if (p[0] == SSH_MSG_CHANNEL_OPEN_FAILURE && n >= 9)
		*reason = st_peek_u32(p + 5);
	if (p[0] == SSH_MSG_CHANNEL_OPEN_CONFIRMATION && n >= 9)
		*reason = st_peek_u32(p + 5); /* our id */
	return p[0];
}

static void test_direct_tcpip(void)
{
	struct sc_bed b;
	uint32_t reason = 0;

	/* default PermitOpen: none */
	login(&b, "alice");
	CHECK_INT(direct_tcpip(&b, "198.18.0.5", 80, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	CHECK_INT(reason, 1);
	CHECK_INT(b.stats.v[ST_CTL_CHANNEL_REFUSED], 1);
	sc_bed_free(&b);

	CHECK_OK(st_ctl_config_add_permitopen(&fx.cfg, "198.18.0.5:80"));
	fx.cfg.direct_tcpip_confirm_on_connect = 0; /* immediate confirmation (the deferred mode below) */
	login(&b, "alice");
	CHECK_INT(direct_tcpip(&b, "198.18.0.5", 80, &reason), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK(reason < SC_CHANS && b.ch[reason].attached);
	CHECK_INT(b.ch[reason].kind, ST_SERVICE_BACKEND);
	CHECK(strcmp(b.ch[reason].host, "198.18.0.5") == 0);
	CHECK_INT(b.ch[reason].port, 80);
	CHECK_INT(direct_tcpip(&b, "198.18.0.5", 81, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	CHECK_INT(direct_tcpip(&b, "198.18.0.5", 0, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	CHECK_INT(direct_tcpip(&b, "198.18.0.5", 65616, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	CHECK(!b.closed);
	sc_bed_free(&b);

	/* the key's options apply on top of PermitOpen */
	CHECK_OK(st_ctl_config_add_permitopen(&fx.cfg, "any"));
	CHECK_OK(sc_authkey_add(&fx, "erin", "permitopen=\"db.example:5432\"", fx.user_ed, 0));
	login(&b, "erin");
	CHECK_INT(direct_tcpip(&b, "db.example", 5432, &reason), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(direct_tcpip(&b, "db.example", 5433, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	CHECK_INT(reason, 1);
	sc_bed_free(&b);
	CHECK_OK(sc_authkey_add(&fx, "erin", "restrict", fx.user_ed, 0));
	login(&b, "erin");
	CHECK_INT(direct_tcpip(&b, "db.example", 5432, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	sc_bed_free(&b);
	CHECK_OK(sc_authkey_add(&fx, "erin", "no-port-forwarding", fx.user_ed, 0));
	login(&b, "erin");
	CHECK_INT(direct_tcpip(&b, "db.example", 5432, &reason), SSH_MSG_CHANNEL_OPEN_FAILURE);
	sc_bed_free(&b);
	/* deferred confirmation: a failed backend connect becomes OPEN_FAILURE CONNECT_FAILED */
	fx.cfg.direct_tcpip_confirm_on_connect = 1;
	login(&b, "alice");
	uint8_t buf[512];
	struct st_buf o;
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_OPEN);
	st_buf_put_cstring(&o, "direct-tcpip");
	st_buf_put_u32(&o, 4);
	st_buf_put_u32(&o, 65536);
	st_buf_put_u32(&o, 16384);
	st_buf_put_cstring(&o, "198.18.0.77");
	st_buf_put_u32(&o, 9);
	st_buf_put_cstring(&o, "127.0.0.1");
	st_buf_put_u32(&o, 4242);
	CHECK_OK(sc_sendb(&b, &o));
	CHECK_INT(sc_next_type(&b), -1); /* no confirmation from the control plane */
	CHECK(b.ch[0].bound && b.ch[0].attached && b.ch[0].kind == ST_SERVICE_BACKEND);
	memset(&b.ch[0], 0, sizeof(b.ch[0])); /* the worker forgets the channel */
	struct st_plane_msg *m =
		st_plane_msg_new(ST_UP_BACKEND_FAILED, (struct st_conn_handle){1, 7, 42}, NULL, 0);
	m->u.backend.local_id = 0;
	m->u.backend.err = ST_ERR_SYSTEM;
	CHECK_OK(st_ctl_conn_input(b.ctl, m));
	const uint8_t *p;
	size_t n = sc_recv(&b, &p);
	CHECK(n >= 9 && p[0] == SSH_MSG_CHANNEL_OPEN_FAILURE && st_peek_u32(p + 1) == 4 &&
	      st_peek_u32(p + 5) == 2);
	/* the id is free again */
	uint32_t sid = 99;
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sid, 0);
	/* BACKEND_FAILED for a confirmed channel is only logged */
	m = st_plane_msg_new(ST_UP_BACKEND_FAILED, (struct st_conn_handle){1, 7, 42}, NULL, 0);
	m->u.backend.local_id = 0;
	CHECK_OK(st_ctl_conn_input(b.ctl, m));
	CHECK_INT(sc_next_type(&b), -1);
	CHECK(!b.closed);
	sc_bed_free(&b);
	fx.cfg.direct_tcpip_confirm_on_connect = 0;
	CHECK_OK(st_ctl_config_add_permitopen(&fx.cfg, "none"));
}

static void test_channel_types_ids_limits(void)
{
	struct sc_bed b;
	uint32_t sid, ids[32];
	uint8_t buf[64];
	struct st_buf o;
	const uint8_t *p;

	login(&b, "alice");
	st_buf_wrap(&o, buf, sizeof(buf));
	st_buf_put_u8(&o, SSH_MSG_CHANNEL_OPEN);
	st_buf_put_cstring(&o, "x11");
	st_buf_put_u32(&o, 9);
	st_buf_put_u32(&o, 100);
	st_buf_put_u32(&o, 100);
	st_buf_put_cstring(&o, "1.2.3.4");
	st_buf_put_u32(&o, 6000);
	CHECK_OK(sc_sendb(&b, &o));
	size_t n = sc_recv(&b, &p);
	CHECK(n >= 9 && p[0] == SSH_MSG_CHANNEL_OPEN_FAILURE && st_peek_u32(p + 1) == 9 &&
	      st_peek_u32(p + 5) == 3);

	/* up to max_channels (16) at once, distinct ids, then RESOURCE_SHORTAGE */
	for (uint32_t i = 0; i < 16; i++) {
		CHECK_INT(sc_open_session(&b, 100 + i, &ids[i]), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
		for (uint32_t j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
	}
	static const uint8_t open[] = {SSH_MSG_CHANNEL_OPEN, 0, 0, 0, 7, 's', 'e', 's', 's', 'i',
				       'o', 'n', 0, 0, 0, 50, 0, 0, 0x10, 0, 0, 0, 0x80, 0};
	CHECK_OK(sc_send(&b, open, sizeof(open)));
	n = sc_recv(&b, &p);
	CHECK(n >= 9 && p[0] == SSH_MSG_CHANNEL_OPEN_FAILURE && st_peek_u32(p + 5) == 4);
	/* closing one (the worker reports CHANNEL_CLOSED) frees its id */
	uint8_t cl[5] = {SSH_MSG_CHANNEL_CLOSE};
	st_poke_u32(cl + 1, ids[3]);
	CHECK_OK(sc_send(&b, cl, 5));
	CHECK_INT(sc_next_type(&b), SSH_MSG_CHANNEL_CLOSE);
	CHECK_INT(sc_open_session(&b, 200, &sid), SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
	CHECK_INT(sid, ids[3]);
	CHECK(!b.closed);
	/* channel messages for an id that is not bound end the connection */
	uint8_t wa[9] = {SSH_MSG_CHANNEL_WINDOW_ADJUST, 0, 0, 0, 77, 0, 0, 1, 0};
	CHECK_OK(sc_send(&b, wa, 9));
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_CHANNEL], 1);
	sc_bed_free(&b);
}

static void test_global_requests(void)
{
	struct sc_bed b;
	uint8_t buf[128];
	struct st_buf o;
	static const char *const names[] = {"keepalive@openssh.com", "tcpip-forward",
					    "no-more-sessions@openssh.com", "whatever"};

	login(&b, "alice");
	for (size_t i = 0; i < 4; i++) {
		for (int want = 0; want <= 1; want++) {
			st_buf_wrap(&o, buf, sizeof(buf));
			st_buf_put_u8(&o, SSH_MSG_GLOBAL_REQUEST);
			st_buf_put_cstring(&o, names[i]);
			st_buf_put_bool(&o, want);
			if (i == 1) {
				st_buf_put_cstring(&o, "0.0.0.0");
				st_buf_put_u32(&o, 8080);
			}
			CHECK_OK(sc_sendb(&b, &o));
			CHECK_INT(sc_next_type(&b), want ? SSH_MSG_REQUEST_FAILURE : -1);
		}
	}
	CHECK(!b.closed);
	/* no-more-sessions@openssh.com: later session opens are refused */
	uint32_t sid;
	CHECK_INT(sc_open_session(&b, 1, &sid), SSH_MSG_CHANNEL_OPEN_FAILURE);
	CHECK(!b.closed);
	sc_bed_free(&b);
}

static void test_parse_size(void)
{
	uint64_t v;
	CHECK_OK(st_ctl_parse_size("0", 1, &v));
	CHECK_INT(v, 0);
	CHECK_OK(st_ctl_parse_size("1g", 2, &v));
	CHECK_INT(v, 1ull << 30);
	CHECK_ERR(st_ctl_parse_size("K", 1, &v), ST_ERR_FORMAT);
	CHECK_ERR(st_ctl_parse_size("99999999999999999G", 18, &v), ST_ERR_FORMAT);
	CHECK_ERR(st_ctl_parse_size("1.5M", 4, &v), ST_ERR_FORMAT);
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	if (st_ctl_config_add_service(&fx.cfg, "db", "198.18.0.9:5432") != ST_OK ||
	    st_ctl_config_add_service(&fx.cfg, "dbpp", "198.18.0.9:5433") != ST_OK ||
	    st_ctl_config_service_option(&fx.cfg, "proxy-protocol=v2") != ST_OK)
		return 1;
	RUN(test_session_echo);
	RUN(test_services);
	RUN(test_backend_proxy_header);
	RUN(test_forced_command_and_pty);
	RUN(test_other_requests);
	RUN(test_direct_tcpip);
	RUN(test_channel_types_ids_limits);
	RUN(test_global_requests);
	RUN(test_parse_size);
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_channels");
}
