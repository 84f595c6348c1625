/*
 * Every message the control plane parses, truncated at every length and
 * with a trailing byte, in the state where it is accepted: each ends the
 * connection with DISCONNECT(PROTOCOL_ERROR), the DISC_MALFORMED counter
 * goes up by one, and nothing crashes (run under ASan by `make asan`).
 * The one length that is not truncation is a DISCONNECT cut right before its
 * language tag: that field is optional (as in OpenSSH).
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

enum state {
	S_PRE,     /* version exchanged, nothing sent (no strict kex) */
	S_KEX,     /* client KEXINIT sent: curve25519 */
	S_KEX_DH,  /* client KEXINIT sent: DH group 14 */
	S_SERVICE, /* first kex done */
	S_AUTH,    /* ssh-userauth accepted */
	S_CONN,    /* authenticated, one session channel (server id 0) */
};

static int setup(struct sc_bed *b, enum state st)
{
	struct sc_opts o = {.strict = st != S_PRE, .ext_info = 1};
	uint32_t sid;

	if (st == S_KEX_DH)
		o.kex = "diffie-hellman-group14-sha256";
	if (sc_bed_init(b, &fx.cfg, &o) != ST_OK)
		return -1;
	switch (st) {
	case S_PRE:
		return 0;
	case S_KEX:
	case S_KEX_DH:
		return cli_kexinit_send(b);
	case S_SERVICE:
		return sc_handshake(b);
	case S_AUTH:
		if (sc_handshake(b) != 0 || sc_service_userauth(b) != SSH_MSG_SERVICE_ACCEPT)
			return -1;
		return 0;
	case S_CONN:
		if (sc_login(b, "alice", fx.user_ed, "ssh-ed25519") != 0 ||
		    sc_open_session(b, 1, &sid) != SSH_MSG_CHANNEL_OPEN_CONFIRMATION || sid != 0)
			return -1;
		return 0;
	}
	return -1;
}

typedef void (*build_fn)(struct sc_bed *b, struct st_buf *o);

static void b_kexinit(struct sc_bed *b, struct st_buf *o)
{
	/* the client's own KEXINIT, as cli_kexinit_send would send it */
	struct sc_bed tmp;
	(void)b;
	struct sc_opts op = {.strict = 1, .ext_info = 1};
	if (sc_bed_init(&tmp, &fx.cfg, &op) == ST_OK && cli_kexinit_send(&tmp) == ST_OK)
		st_buf_put_bytes(o, st_buf_ptr(&tmp.i_c), st_buf_avail(&tmp.i_c));
	sc_bed_free(&tmp);
}

static void b_ecdh_init(struct sc_bed *b, struct st_buf *o)
{
	uint8_t q[32];
	(void)b;
	memset(q, 9, sizeof(q));
	st_buf_put_u8(o, SSH_MSG_KEX_ECDH_INIT);
	st_buf_put_string(o, q, sizeof(q));
}

static void b_dh_init(struct sc_bed *b, struct st_buf *o)
{
	uint8_t e[256];
	(void)b;
	memset(e, 0x11, sizeof(e));
	st_buf_put_u8(o, SSH_MSG_KEX_ECDH_INIT);
	st_buf_put_mpint(o, e, sizeof(e));
}

static void b_ignore(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_IGNORE);
	st_buf_put_cstring(o, "padding");
}

static void b_debug(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_DEBUG);
	st_buf_put_bool(o, 1);
	st_buf_put_cstring(o, "msg");
	st_buf_put_cstring(o, "en");
}

static void b_unimpl(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_UNIMPLEMENTED);
	st_buf_put_u32(o, 3);
}

/* Bytes of the language tag b_disconnect ends with: without them the message is complete. */
#define DISCONNECT_LANG_BYTES (4 + 2)

static void b_disconnect(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_DISCONNECT);
	st_buf_put_u32(o, 11);
	st_buf_put_cstring(o, "bye");
	st_buf_put_cstring(o, "en");
}

static void b_service(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_SERVICE_REQUEST);
	st_buf_put_cstring(o, "ssh-userauth");
}

static void b_auth_none(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_USERAUTH_REQUEST);
	st_buf_put_cstring(o, "alice");
	st_buf_put_cstring(o, "ssh-connection");
	st_buf_put_cstring(o, "none");
}

static void b_auth_query(struct sc_bed *b, struct st_buf *o)
{
	sc_build_pubkey(b, o, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_QUERY);
}

static void b_auth_sign(struct sc_bed *b, struct st_buf *o)
{
	/* RSA: fixed-size signature, so every connection gets the same length */
	sc_build_pubkey(b, o, "alice", fx.user_rsa, "rsa-sha2-512", SC_AUTH_SIGN);
}

static void b_auth_hostbound(struct sc_bed *b, struct st_buf *o)
{
	sc_build_pubkey(b, o, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_HOSTBOUND);
}

static void b_global(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_GLOBAL_REQUEST);
	st_buf_put_cstring(o, "keepalive@openssh.com");
	st_buf_put_bool(o, 1);
}

static void b_open_session(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_CHANNEL_OPEN);
	st_buf_put_cstring(o, "session");
	st_buf_put_u32(o, 2);
	st_buf_put_u32(o, 65536);
	st_buf_put_u32(o, 32768);
}

static void b_open_direct(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_CHANNEL_OPEN);
	st_buf_put_cstring(o, "direct-tcpip");
	st_buf_put_u32(o, 2);
	st_buf_put_u32(o, 65536);
	st_buf_put_u32(o, 32768);
	st_buf_put_cstring(o, "198.18.0.5");
	st_buf_put_u32(o, 80);
	st_buf_put_cstring(o, "10.0.0.1");
	st_buf_put_u32(o, 5555);
}

static void req_head(struct st_buf *o, const char *type)
{
	st_buf_put_u8(o, SSH_MSG_CHANNEL_REQUEST);
	st_buf_put_u32(o, 0);
	st_buf_put_cstring(o, type);
	st_buf_put_bool(o, 1);
}

static void b_req_exec(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "exec");
	st_buf_put_cstring(o, "source 1K");
}

static void b_req_subsystem(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "subsystem");
	st_buf_put_cstring(o, "sink");
}

static void b_req_shell(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "shell");
}

static void b_req_pty(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "pty-req");
	st_buf_put_cstring(o, "vt100");
	for (int i = 0; i < 4; i++)
		st_buf_put_u32(o, 24);
	st_buf_put_string(o, "\x01\x00\x00\x00\x03\x00", 6);
}

static void b_req_env(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "env");
	st_buf_put_cstring(o, "LANG");
	st_buf_put_cstring(o, "C");
}

static void b_req_winch(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "window-change");
	for (int i = 0; i < 4; i++)
		st_buf_put_u32(o, 50);
}

static void b_req_signal(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "signal");
	st_buf_put_cstring(o, "TERM");
}

static void b_req_exit_status(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "exit-status");
	st_buf_put_u32(o, 1);
}

static void b_req_exit_signal(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	req_head(o, "exit-signal");
	st_buf_put_cstring(o, "KILL");
	st_buf_put_bool(o, 0);
	st_buf_put_cstring(o, "killed");
	st_buf_put_cstring(o, "");
}

static void b_chan_adjust(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_CHANNEL_WINDOW_ADJUST);
	st_buf_put_u32(o, 9);
}

static void b_chan_data(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_CHANNEL_DATA);
	st_buf_put_u32(o, 9);
}

static void b_chan_eof(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_CHANNEL_EOF);
	st_buf_put_u32(o, 9);
}

static void b_chan_close(struct sc_bed *b, struct st_buf *o)
{
	(void)b;
	st_buf_put_u8(o, SSH_MSG_CHANNEL_CLOSE);
	st_buf_put_u32(o, 9);
}

static const struct {
	const char *name;
	enum state st;
	build_fn build;
	int trailing; /* a trailing byte is detected (the whole message is parsed) */
} cases[] = {
	{"KEXINIT", S_PRE, b_kexinit, 1},
	{"KEX_ECDH_INIT x25519", S_KEX, b_ecdh_init, 1},
	{"KEXDH_INIT group14", S_KEX_DH, b_dh_init, 1},
	{"IGNORE pre-kex", S_PRE, b_ignore, 1},
	{"DEBUG pre-kex", S_PRE, b_debug, 1},
	{"UNIMPLEMENTED pre-kex", S_PRE, b_unimpl, 1},
	{"DISCONNECT pre-kex", S_PRE, b_disconnect, 1},
	{"IGNORE", S_SERVICE, b_ignore, 1},
	{"DEBUG", S_AUTH, b_debug, 1},
	{"UNIMPLEMENTED", S_CONN, b_unimpl, 1},
	{"DISCONNECT", S_CONN, b_disconnect, 1},
	{"SERVICE_REQUEST", S_SERVICE, b_service, 1},
	{"USERAUTH none", S_AUTH, b_auth_none, 1},
	{"USERAUTH publickey query", S_AUTH, b_auth_query, 1},
	{"USERAUTH publickey signed", S_AUTH, b_auth_sign, 1},
	{"USERAUTH publickey-hostbound", S_AUTH, b_auth_hostbound, 1},
	{"GLOBAL_REQUEST", S_CONN, b_global, 0},
	{"CHANNEL_OPEN session", S_CONN, b_open_session, 1},
	{"CHANNEL_OPEN direct-tcpip", S_CONN, b_open_direct, 1},
	{"CHANNEL_REQUEST exec", S_CONN, b_req_exec, 1},
	{"CHANNEL_REQUEST subsystem", S_CONN, b_req_subsystem, 1},
	{"CHANNEL_REQUEST shell", S_CONN, b_req_shell, 1},
	{"CHANNEL_REQUEST pty-req", S_CONN, b_req_pty, 1},
	{"CHANNEL_REQUEST env", S_CONN, b_req_env, 1},
	{"CHANNEL_REQUEST window-change", S_CONN, b_req_winch, 1},
	{"CHANNEL_REQUEST signal", S_CONN, b_req_signal, 1},
	{"CHANNEL_REQUEST exit-status", S_CONN, b_req_exit_status, 1},
	{"CHANNEL_REQUEST exit-signal", S_CONN, b_req_exit_signal, 1},
	/* unbound channel messages: only the recipient id is read */
	{"CHANNEL_WINDOW_ADJUST", S_CONN, b_chan_adjust, 0},
	{"CHANNEL_DATA", S_CONN, b_chan_data, 0},
	{"CHANNEL_EOF", S_CONN, b_chan_eof, 0},
	{"CHANNEL_CLOSE", S_CONN, b_chan_close, 0},
};

/* One connection: send o truncated to len (or whole + 1 byte when len > avail). */
static int one(size_t ci, size_t len, int plus)
{
	struct sc_bed b;
	struct st_buf o;
	int ok = 1;

	if (setup(&b, cases[ci].st) != 0) {
		st_test_fail(__FILE__, __LINE__, "%s: setup failed", cases[ci].name);
		sc_bed_free(&b);
		return 0;
	}
	if (st_buf_alloc(&o, 1024, 65536) != ST_OK) {
		sc_bed_free(&b);
		return 0;
	}
	cases[ci].build(&b, &o);
	if (plus)
		st_buf_put_u8(&o, 0);
	else
		o.len = o.off + len;
	uint64_t before = b.stats.v[ST_CTL_DISC_MALFORMED];
	sc_send(&b, st_buf_ptr(&o), st_buf_avail(&o));
	if (!b.closed || b.close_code != SSH_DISCONNECT_PROTOCOL_ERROR ||
	    b.stats.v[ST_CTL_DISC_MALFORMED] != before + 1 || b.fatal) {
		st_test_fail(__FILE__, __LINE__, "%s %s %zu: closed %d code %u malformed %llu (%s)",
			     cases[ci].name, plus ? "trailing" : "truncated", len, b.closed,
			     b.close_code, (unsigned long long)b.stats.v[ST_CTL_DISC_MALFORMED],
			     b.close_text);
		ok = 0;
	}
	/* the client sees the DISCONNECT */
	int t;
	while ((t = sc_next_type(&b)) != -1 && t != SSH_MSG_DISCONNECT)
		;
	if (ok && t != SSH_MSG_DISCONNECT) {
		st_test_fail(__FILE__, __LINE__, "%s: no DISCONNECT", cases[ci].name);
		ok = 0;
	}
	st_buf_free(&o);
	sc_bed_free(&b);
	return ok;
}

static void test_truncated_and_trailing(void)
{
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		struct sc_bed b;
		struct st_buf o;
		size_t full;

		/* the whole message is accepted (no DISCONNECT) in this state */
		if (setup(&b, cases[ci].st) != 0 || st_buf_alloc(&o, 1024, 65536) != ST_OK) {
			st_test_fail(__FILE__, __LINE__, "%s: setup", cases[ci].name);
			sc_bed_free(&b);
			continue;
		}
		cases[ci].build(&b, &o);
		full = st_buf_avail(&o);
		CHECK(full > 1);
		if (cases[ci].trailing && cases[ci].st != S_KEX && cases[ci].st != S_KEX_DH &&
		    cases[ci].build != b_disconnect) {
			sc_send(&b, st_buf_ptr(&o), full);
			if (b.stats.v[ST_CTL_DISC_MALFORMED] != 0)
				st_test_fail(__FILE__, __LINE__, "%s: whole message refused (%s)",
					     cases[ci].name, b.close_text);
		}
		st_buf_free(&o);
		sc_bed_free(&b);

		for (size_t len = 1; len < full; len++) {
			/* a DISCONNECT without its language tag is a clean disconnect
			 * (test_ctl_kex: test_peer_disconnect_no_language) */
			if (cases[ci].build == b_disconnect && len == full - DISCONNECT_LANG_BYTES)
				continue;
			if (!one(ci, len, 0))
				break;
		}
		if (cases[ci].trailing)
			one(ci, full, 1);
	}
}

/* An empty payload straight from a (broken) worker. */
static void test_empty_payload(void)
{
	struct sc_bed b;
	CHECK_INT(setup(&b, S_SERVICE), 0);
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_PAYLOAD, (struct st_conn_handle){1, 7, 42},
						  NULL, 0);
	CHECK(m != NULL);
	CHECK_OK(st_ctl_conn_input(b.ctl, m));
	sc_pump(&b);
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 1);
	/* messages after the close are dropped; a foreign handle is refused */
	m = st_plane_msg_new(ST_UP_PAYLOAD, (struct st_conn_handle){1, 7, 42}, "\x02", 1);
	CHECK_OK(st_ctl_conn_input(b.ctl, m));
	m = st_plane_msg_new(ST_UP_PAYLOAD, (struct st_conn_handle){1, 8, 42}, "\x02", 1);
	CHECK_ERR(st_ctl_conn_input(b.ctl, m), ST_ERR_INVALID_ARGUMENT);
	m = st_plane_msg_new(ST_DOWN_SEND, (struct st_conn_handle){1, 7, 42}, "\x02", 1);
	CHECK_ERR(st_ctl_conn_input(b.ctl, m), ST_ERR_INVALID_ARGUMENT);
	sc_bed_free(&b);
}

static void test_newkeys_trailing(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1, .newkeys_trailing = 1};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	(void)sc_kex(&b, 1);
	sc_pump(&b);
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_MALFORMED], 1);
	sc_bed_free(&b);
}

/* Random garbage after each message number, in each state: no crash, clean outcome. */
static void test_random_garbage(void)
{
	static const enum state states[] = {S_PRE, S_KEX, S_SERVICE, S_AUTH, S_CONN};
	uint8_t buf[300];
	for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		for (unsigned t = 1; t < 256; t += 1) {
			struct sc_bed b;
			if (setup(&b, states[s]) != 0) {
				st_test_fail(__FILE__, __LINE__, "setup");
				sc_bed_free(&b);
				return;
			}
			st_test_fill(buf, sizeof(buf), t * 131 + s);
			buf[0] = (uint8_t)t;
			size_t len = 1 + (buf[1] % 200);
			sc_send(&b, buf, len);
			CHECK(!b.fatal);
			sc_bed_free(&b);
		}
	}
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	RUN(test_truncated_and_trailing);
	RUN(test_empty_payload);
	RUN(test_newkeys_trailing);
	RUN(test_random_garbage);
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_malformed");
}
