/*
 * Control-plane connection: up-message intake, the per-state dispatch,
 * version check, key exchange state machine (initial, rekeys, strict kex),
 * ext-info, disconnects and counters. User auth and channels are in
 * userauth.c and channels.c.
 */
#include "control/conn_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/version.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

/* Cap on one control-plane payload we build (KEX reply with an RSA-16384 key fits). */
#define CTL_PAYLOAD_MAX (64u * 1024u)

static const char *const counter_names[] = {
#define ST_CTL_CNT_NAME(name, text) #name,
	ST_CTL_COUNTERS(ST_CTL_CNT_NAME)
#undef ST_CTL_CNT_NAME
};
static const char *const counter_texts[] = {
#define ST_CTL_CNT_TEXT(name, text) text,
	ST_CTL_COUNTERS(ST_CTL_CNT_TEXT)
#undef ST_CTL_CNT_TEXT
};

const char *st_ctl_counter_name(enum st_ctl_counter c)
{
	return (unsigned)c < ST_CTL_COUNTER_COUNT ? counter_names[c] : "unknown";
}

const char *st_ctl_counter_text(enum st_ctl_counter c)
{
	return (unsigned)c < ST_CTL_COUNTER_COUNT ? counter_texts[c] : "unknown";
}

void ctl_count(struct st_ctl_conn *c, enum st_ctl_counter ctr)
{
	c->stats->v[ctr]++;
}

void ctl_logf(struct st_ctl_conn *c, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (c->log.fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log.fn(c->log.ctx, level, line);
}

struct st_plane_msg *ctl_msg(struct st_ctl_conn *c, enum st_plane_type type, const void *data,
			     size_t len)
{
	if (len > UINT32_MAX)
		return NULL;
	return st_plane_msg_new(type, c->h, data, (uint32_t)len);
}

int ctl_emit(struct st_ctl_conn *c, struct st_plane_msg *m)
{
	if (m == NULL)
		return ST_ERR_ALLOC;
	return st_plane_deliver(&c->sink, m);
}

int ctl_send(struct st_ctl_conn *c, const struct st_buf *payload)
{
	if (c->closing)
		return ST_OK;
	return ctl_emit(c, ctl_msg(c, ST_DOWN_SEND, st_buf_ptr(payload), st_buf_avail(payload)));
}

/* "authenticating user U IP port P" / "user U IP port P" / "IP port P" */
static void who(const struct st_ctl_conn *c, char *out, size_t outsz)
{
	if (c->authed)
		snprintf(out, outsz, "user %s %s port %u", c->user, c->peer_ip, c->peer_port);
	else if (c->user_set)
		snprintf(out, outsz, "authenticating user %s %s port %u", c->user, c->peer_ip,
			 c->peer_port);
	else
		snprintf(out, outsz, "%s port %u", c->peer_ip, c->peer_port);
}

int ctl_fail(struct st_ctl_conn *c, enum st_ctl_counter ctr, uint32_t code,
	     enum st_close_reason reason, const char *fmt, ...)
{
	char text[256], w[ST_USER_MAX + ST_IP_STR + 64];
	struct st_buf b;
	uint8_t pl[512];
	va_list ap;

	if (c->closing)
		return ST_ERR_STATE;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->closing = 1;
	c->we_closed = 1;
	c->disc = (int)ctr;
	ctl_count(c, ctr);
	who(c, w, sizeof(w));
	ctl_logf(c, ST_LOG_INFO, "Disconnecting %s: %s%s", w, text, c->authed ? "" : " [preauth]");

	st_buf_wrap(&b, pl, sizeof(pl));
	struct st_plane_msg *m = NULL;
	if (st_buf_put_u8(&b, SSH_MSG_DISCONNECT) == 0 && st_buf_put_u32(&b, code) == 0 &&
	    st_buf_put_cstring(&b, text) == 0 && st_buf_put_cstring(&b, "") == 0)
		m = ctl_msg(c, ST_DOWN_CLOSE, st_buf_ptr(&b), st_buf_avail(&b));
	else
		m = ctl_msg(c, ST_DOWN_CLOSE, NULL, 0);
	if (m != NULL)
		m->u.closed.reason = reason;
	(void)ctl_emit(c, m);
	return ST_ERR_STATE;
}

/* ---------------- generic transport messages ---------------- */

static int h_unimplemented(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	uint8_t pl[5];
	struct st_buf b;

	(void)p, (void)len;
	st_buf_wrap(&b, pl, sizeof(pl));
	if (st_buf_put_u8(&b, SSH_MSG_UNIMPLEMENTED) != 0 || st_buf_put_u32(&b, seq) != 0)
		return ST_ERR_INTERNAL;
	ctl_count(c, ST_CTL_UNIMPLEMENTED_SENT);
	return ctl_send(c, &b);
}

static int h_unexpected(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	(void)seq, (void)len;
	return ctl_fail(c, ST_CTL_DISC_UNEXPECTED, SSH_DISCONNECT_PROTOCOL_ERROR, ST_CLOSE_PROTOCOL,
			"protocol error: unexpected message type %u", p[0]);
}

static int h_strict_violation(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	(void)seq, (void)len;
	return ctl_fail(c, ST_CTL_DISC_STRICT_KEX, SSH_DISCONNECT_PROTOCOL_ERROR, ST_CLOSE_PROTOCOL,
			"strict KEX violation: unexpected packet type %u", p[0]);
}

static int h_ignore(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	const uint8_t *s;
	size_t sl;
	int r;

	(void)c, (void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_string(&b, &s, &sl)) != 0)
		return r;
	return st_buf_end(&b);
}

static int h_ignore_any(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	(void)c, (void)seq, (void)p, (void)len;
	return ST_OK;
}

static int h_debug(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	const uint8_t *s;
	size_t sl;
	int disp, r;

	(void)c, (void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_bool(&b, &disp)) != 0 || (r = st_buf_get_string(&b, &s, &sl)) != 0 ||
	    (r = st_buf_get_string(&b, &s, &sl)) != 0)
		return r;
	return st_buf_end(&b);
}

static int h_unimplemented_recv(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p,
				size_t len)
{
	struct st_buf b;
	uint32_t n;
	int r;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_u32(&b, &n)) != 0 || (r = st_buf_end(&b)) != 0)
		return r;
	/* We never send anything the peer may legitimately not implement. */
	ctl_logf(c, ST_LOG_DEBUG, "peer sent UNIMPLEMENTED for our packet %u", n);
	return ST_OK;
}

static void printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s > '~')
			*s = '?';
}

static int h_disconnect(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	uint32_t code;
	char text[256];
	const uint8_t *s, *lang;
	size_t sl, ll;
	int r;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_u32(&b, &code)) != 0 || (r = st_buf_get_string(&b, &s, &sl)) != 0)
		return r;
	/*
	 * The language tag may be missing (dev-tunnels-ssh sends reason and
	 * description only): like OpenSSH, which reads no further than the
	 * description, take that as an empty tag. The description itself is
	 * required (OpenSSH fails a DISCONNECT without one as incomplete too).
	 * A tag that is there must be a whole string with nothing after it.
	 */
	if (st_buf_avail(&b) > 0 &&
	    ((r = st_buf_get_string(&b, &lang, &ll)) != 0 || (r = st_buf_end(&b)) != 0))
		return r;
	if (sl >= sizeof(text))
		sl = sizeof(text) - 1;
	memcpy(text, s, sl);
	text[sl] = '\0';
	printable(text);
	c->closing = 1;
	ctl_count(c, ST_CTL_PEER_DISCONNECT);
	ctl_logf(c, ST_LOG_INFO, "Received disconnect from %s port %u:%u: %s%s", c->peer_ip,
		 c->peer_port, code, text, c->authed ? "" : " [preauth]");
	struct st_plane_msg *m = ctl_msg(c, ST_DOWN_CLOSE, NULL, 0);
	if (m != NULL)
		m->u.closed.reason = ST_CLOSE_PEER_DISCONNECT;
	return ctl_emit(c, m);
}

/* ---------------- key exchange ---------------- */

/*
 * The two KEXINIT payloads are kept only while an exchange runs (they go into
 * its hash): allocated when it starts, freed at NEWKEYS, so an established
 * session holds neither.
 */
static int kexinit_buf(struct st_buf *b)
{
	if (b->owned) {
		st_buf_reset(b);
		return ST_OK;
	}
	return st_buf_alloc(b, 1024, CTL_PAYLOAD_MAX);
}

static int send_kexinit(struct st_ctl_conn *c)
{
	int r;

	if ((r = kexinit_buf(&c->i_s)) != 0)
		return r;
	if ((r = st_ctl_kexinit_build(c->cfg, !c->initial_done, &c->i_s)) != 0)
		return r;
	c->kx = KX_WAIT_KEXINIT;
	return ctl_send(c, &c->i_s);
}

static int h_kexinit(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	const char *what = "";
	int r;

	if (c->kx == KX_NONE) {
		ctl_count(c, ST_CTL_REKEY_CLIENT);
		if ((r = send_kexinit(c)) != 0)
			return r;
	}
	r = st_ctl_kex_negotiate(c->cfg, p, len, !c->initial_done, &c->neg, &what);
	if (r == ST_ERR_ALG_UNSUPPORTED)
		return ctl_fail(c, ST_CTL_DISC_KEX_NEGOTIATION, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
				ST_CLOSE_KEX_FAILED, "no matching %s found", what);
	if (r != 0)
		return r;
	if (!c->initial_done) {
		c->strict = c->neg.strict;
		c->ext_info_c = c->neg.ext_info_c;
		if (c->strict && seq != 0)
			return ctl_fail(c, ST_CTL_DISC_STRICT_KEX, SSH_DISCONNECT_PROTOCOL_ERROR,
					ST_CLOSE_PROTOCOL,
					"strict KEX violation: KEXINIT was not the first packet");
	}
	if ((r = kexinit_buf(&c->i_c)) != 0 || (r = st_buf_put_bytes(&c->i_c, p, len)) != 0)
		return r;
	c->ignore_guess = c->neg.guess_wrong;
	c->kx = KX_WAIT_INIT;
	return ST_OK;
}

static int h_ignore_guess(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	(void)seq, (void)p, (void)len;
	c->ignore_guess = 0;
	return ST_OK;
}

static int send_ext_info(struct st_ctl_conn *c)
{
	uint8_t pl[512];
	struct st_buf b;
	int r;

	st_buf_wrap(&b, pl, sizeof(pl));
	if ((r = st_buf_put_u8(&b, SSH_MSG_EXT_INFO)) != 0 || (r = st_buf_put_u32(&b, 2)) != 0 ||
	    (r = st_buf_put_cstring(&b, "server-sig-algs")) != 0 ||
	    (r = st_buf_put_cstring(&b, ST_CTL_PUBKEY_ALGS)) != 0 ||
	    (r = st_buf_put_cstring(&b, "publickey-hostbound@openssh.com")) != 0 ||
	    (r = st_buf_put_cstring(&b, "0")) != 0)
		return r;
	return ctl_send(c, &b);
}

int ctl_kex_finish(struct st_ctl_conn *c, int r, const struct st_buf *reply,
		   const struct st_kex_result *res)
{
	struct st_plane_msg *m;
	uint8_t nk = SSH_MSG_NEWKEYS;

	if (r == ST_ERR_KEX_PUBLIC_INVALID)
		return ctl_fail(c, ST_CTL_DISC_KEX_FAILED, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
				ST_CLOSE_KEX_FAILED, "invalid key exchange public value");
	if (r != 0)
		return r;
	if (c->sid_len == 0) {
		/* Of K_S as sent (a certificate under -cert-v01): hostbound
		 * requests name the host key the client saw. */
		uint8_t blob[ST_KEY_BLOB_MAX + ST_CTL_HOSTCERT_MAX];
		struct st_buf hb;
		memcpy(c->session_id, res->h, res->h_len);
		c->sid_len = res->h_len;
		st_buf_wrap(&hb, blob, sizeof(blob));
		if ((r = st_ctl_kex_hostkey_blob(&c->neg, &hb)) != 0 ||
		    (r = st_hash(ST_HASH_SHA256, st_buf_ptr(&hb), st_buf_avail(&hb),
				 c->hostkey_sha256)) != 0)
			return r;
	}
	if ((r = ctl_send(c, reply)) != 0)
		return r;
	if ((m = ctl_msg(c, ST_DOWN_KEYS, NULL, 0)) == NULL)
		return ST_ERR_ALLOC;
	m->u.keys.tx = res->tx;
	m->u.keys.rx = res->rx;
	m->u.keys.strict = c->strict;
	m->u.keys.rekey_bytes = c->cfg->rekey_bytes;
	m->u.keys.rekey_seconds = c->cfg->rekey_seconds;
	if ((r = ctl_emit(c, m)) != 0)
		return r;
	if ((r = ctl_emit(c, ctl_msg(c, ST_DOWN_SEND, &nk, 1))) != 0)
		return r;
	/* RFC 8308 §2.4: EXT_INFO as the next packet after our first NEWKEYS */
	if (!c->initial_done && c->ext_info_c && (r = send_ext_info(c)) != 0)
		return r;
	c->kx = KX_WAIT_NEWKEYS;
	return ST_OK;
}

static int h_kex_init(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_kex_transcript t;
	struct st_kex_result res;
	struct st_buf reply;
	int r;

	(void)seq;
	t.v_c = c->v_c;
	t.v_s = c->cfg->version;
	t.i_c = st_buf_ptr(&c->i_c);
	t.i_c_len = st_buf_avail(&c->i_c);
	t.i_s = st_buf_ptr(&c->i_s);
	t.i_s_len = st_buf_avail(&c->i_s);
	/* On the helper pool when there is one with room: the answer comes later. */
	if (ctl_kex_submit(c, &t, p, len) == ST_OK)
		return ST_OK;
	memset(&res, 0, sizeof(res));
	memset(&reply, 0, sizeof(reply));
	if ((r = st_buf_alloc(&reply, 1024, CTL_PAYLOAD_MAX)) == 0) {
		r = st_ctl_kex_reply(&c->neg, &t, p, len, c->session_id, c->sid_len, &reply, &res);
		r = ctl_kex_finish(c, r, &reply, &res);
	}
	st_wipe(&res, sizeof(res));
	st_buf_free(&reply);
	return r;
}

static int h_newkeys(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	(void)seq, (void)p;
	if (len != 1)
		return ST_ERR_TRAILING;
	c->kx = KX_NONE;
	st_buf_free(&c->i_c);
	st_buf_free(&c->i_s);
	c->cur = c->neg;
	st_wipe(&c->neg, sizeof(c->neg));
	ctl_count(c, ST_CTL_KEX_DONE);
	if (!c->initial_done) {
		c->initial_done = 1;
		c->sv = SV_WAIT_SERVICE;
		return ST_OK;
	}
	return ST_OK;
}

/* ---------------- dispatch ---------------- */

/* Message numbers with a meaning in the protocols we speak. */
static int known_number(unsigned t)
{
	return (t >= 1 && t <= 7) || t == 20 || t == 21 || t == 30 || t == 31 ||
	       (t >= 50 && t <= 53) || t == 60 || (t >= 80 && t <= 82) || (t >= 90 && t <= 100);
}

/*
 * The handler of message number t in the connection's state now, computed
 * per message (a 256-entry table per connection was 2 KiB of every session).
 */
static st_ctl_handler handler_for(const struct st_ctl_conn *c, unsigned t)
{
	int strict_initial = !c->initial_done && c->strict;
	int locked = c->kx == KX_WAIT_INIT || c->kx == KX_WAIT_NEWKEYS;

	if (t == SSH_MSG_DISCONNECT)
		return h_disconnect;
	if (!strict_initial) {
		if (t == SSH_MSG_IGNORE)
			return h_ignore;
		if (t == SSH_MSG_UNIMPLEMENTED)
			return h_unimplemented_recv;
		if (t == SSH_MSG_DEBUG)
			return h_debug;
	}
	switch (c->kx) {
	case KX_NONE:
		if (c->initial_done && t == SSH_MSG_KEXINIT)
			return h_kexinit;
		break;
	case KX_WAIT_KEXINIT:
		if (t == SSH_MSG_KEXINIT)
			return h_kexinit;
		break;
	case KX_WAIT_INIT:
		/* After a wrong guess the next kex packet, whatever it is, is dropped first. */
		if (c->ignore_guess && t >= 30 && t <= 49)
			return h_ignore_guess;
		if (t == SSH_MSG_KEX_ECDH_INIT)
			return h_kex_init;
		break;
	case KX_WAIT_NEWKEYS:
		if (t == SSH_MSG_NEWKEYS)
			return h_newkeys;
		break;
	}
	if (!locked && c->initial_done) {
		switch (c->sv) {
		case SV_PRE:
			break;
		case SV_WAIT_SERVICE:
			if (t == SSH_MSG_SERVICE_REQUEST)
				return ctl_h_service_request;
			break;
		case SV_USERAUTH:
			if (t == SSH_MSG_USERAUTH_REQUEST)
				return ctl_h_userauth_request;
			break;
		case SV_CONNECTION:
			if (t == SSH_MSG_USERAUTH_REQUEST)
				return h_ignore_any;
			if (t == SSH_MSG_GLOBAL_REQUEST)
				return ctl_h_global_request;
			if (t == SSH_MSG_CHANNEL_OPEN)
				return ctl_h_channel_open;
			if (t == SSH_MSG_CHANNEL_REQUEST)
				return ctl_h_channel_request;
			if (t >= SSH_MSG_CHANNEL_WINDOW_ADJUST && t <= SSH_MSG_CHANNEL_CLOSE)
				return ctl_h_channel_unbound;
			break;
		}
	}
	return strict_initial ? h_strict_violation
			      : (known_number(t) ? h_unexpected : h_unimplemented);
}

int ctl_map_error(struct st_ctl_conn *c, int r, unsigned type)
{
	switch (r) {
	case ST_ERR_INCOMPLETE:
	case ST_ERR_TRAILING:
	case ST_ERR_FORMAT:
	case ST_ERR_STRING_TOO_LARGE:
	case ST_ERR_BIGNUM_TOO_LARGE:
	case ST_ERR_BIGNUM_NEGATIVE:
	case ST_ERR_NAME_INVALID:
		return ctl_fail(c, ST_CTL_DISC_MALFORMED, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_PROTOCOL, "malformed message type %u: %s", type,
				st_err_str(r));
	case ST_ERR_ALLOC:
	case ST_ERR_NO_SPACE:
		return ctl_fail(c, ST_CTL_DISC_RESOURCES, SSH_DISCONNECT_BY_APPLICATION,
				ST_CLOSE_RESOURCES, "out of resources");
	default:
		return ctl_fail(c, ST_CTL_DISC_INTERNAL, SSH_DISCONNECT_BY_APPLICATION,
				ST_CLOSE_INTERNAL, "internal error handling message type %u: %s",
				type, st_err_str(r));
	}
}

/* ---------------- up messages ---------------- */

static int on_version(struct st_ctl_conn *c, const struct st_plane_msg *m)
{
	char line[ST_VERSION_LINE_MAX + 1];
	int r;

	if (c->have_version)
		return ctl_fail(c, ST_CTL_DISC_INTERNAL, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_INTERNAL, "second identification line");
	r = st_version_check(m->data, m->len, line, sizeof(line));
	if (r == ST_ERR_ALG_UNSUPPORTED)
		return ctl_fail(c, ST_CTL_DISC_VERSION,
				SSH_DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED, ST_CLOSE_VERSION,
				"protocol major versions differ");
	if (r != 0)
		return ctl_fail(c, ST_CTL_DISC_VERSION, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_VERSION, "invalid SSH identification string");
	snprintf(c->v_c, sizeof(c->v_c), "%s", line);
	c->have_version = 1;
	if ((r = send_kexinit(c)) != 0)
		return r;
	return ST_OK;
}

static int on_payload(struct st_ctl_conn *c, const struct st_plane_msg *m)
{
	if (!c->have_version)
		return ctl_fail(c, ST_CTL_DISC_INTERNAL, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_INTERNAL, "packet before identification line");
	if (m->len == 0)
		return ctl_fail(c, ST_CTL_DISC_MALFORMED, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_PROTOCOL, "empty payload");
	unsigned type = m->data[0];
	int r = handler_for(c, type)(c, m->u.payload.seq, m->data, m->len);
	if (r == ST_ERR_AGAIN && c->akc_wait && !c->closing)
		return r; /* an AuthorizedKeysCommand runs: st_ctl_conn_input holds m */
	if (r != 0 && !c->closing)
		r = ctl_map_error(c, r, type);
	return ST_OK;
}

static void on_closed(struct st_ctl_conn *c, const struct st_plane_msg *m)
{
	char w[ST_USER_MAX + ST_IP_STR + 64];
	const char *pre = c->authed ? "" : " [preauth]";

	c->done = 1;
	ctl_count(c, ST_CTL_CONN_CLOSED);
	who(c, w, sizeof(w));
	if (c->we_closed) /* "Disconnecting ..." was logged */
		;
	else if (m->u.closed.reason == ST_CLOSE_PEER && !c->authed)
		ctl_logf(c, ST_LOG_INFO, "Connection closed by %s%s", w, pre);
	else if (m->u.closed.reason == ST_CLOSE_PEER || c->closing)
		ctl_logf(c, ST_LOG_INFO, "Disconnected from %s%s", w, pre);
	else
		ctl_logf(c, ST_LOG_INFO, "Connection from %s ended: %s%s", w,
			 st_close_reason_str(m->u.closed.reason), pre);
	c->closing = 1;
}

int st_ctl_conn_input(struct st_ctl_conn *c, struct st_plane_msg *m)
{
	int r = ST_OK;

	if (m == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (m->conn.worker != c->h.worker || m->conn.slot != c->h.slot || m->conn.gen != c->h.gen ||
	    m->type >= ST_DOWN_SEND) {
		st_plane_msg_free(m);
		return ST_ERR_INVALID_ARGUMENT;
	}
	if (m->type == ST_UP_CLOSED) {
		if (!c->done)
			on_closed(c, m);
		st_plane_msg_free(m);
		return ST_OK;
	}
	if (c->closing) {
		st_plane_msg_free(m);
		return ST_OK;
	}
	if (c->akc_wait || c->kex_wait)
		return ctl_hold(c, m); /* after the request that waits, in order */
	switch (m->type) {
	case ST_UP_OPEN:
		if (c->opened) {
			r = ctl_fail(c, ST_CTL_DISC_INTERNAL, SSH_DISCONNECT_BY_APPLICATION,
				     ST_CLOSE_INTERNAL, "second OPEN");
			break;
		}
		c->opened = 1;
		memcpy(c->peer_ip, m->u.open.peer_ip, sizeof(c->peer_ip));
		c->peer_ip[sizeof(c->peer_ip) - 1] = '\0';
		memcpy(c->local_ip, m->u.open.local_ip, sizeof(c->local_ip));
		c->local_ip[sizeof(c->local_ip) - 1] = '\0';
		c->peer_port = m->u.open.peer_port;
		c->local_port = m->u.open.local_port;
		ctl_count(c, ST_CTL_CONN_OPENED);
		ctl_logf(c, ST_LOG_INFO, "Connection from %s port %u on %s port %u", c->peer_ip,
			 c->peer_port, c->local_ip, c->local_port);
		if ((r = ctl_proxy_open(c)) != ST_OK)
			break;
		r = ctl_emit(c, ctl_msg(c, ST_DOWN_VERSION_LINE, c->cfg->version,
					strlen(c->cfg->version)));
		break;
	case ST_UP_PROXY:
		r = ctl_proxy_header(c, m);
		break;
	case ST_UP_VERSION:
		if ((r = ctl_proxy_version(c)) == ST_OK)
			r = on_version(c, m);
		break;
	case ST_UP_PAYLOAD:
		r = on_payload(c, m);
		if (r == ST_ERR_AGAIN)
			return ctl_hold(c, m); /* replayed by st_ctl_conn_akc_done */
		break;
	case ST_UP_REKEY_DUE:
		if (c->kx == KX_NONE && c->initial_done) {
			ctl_count(c, ST_CTL_REKEY_SERVER);
			r = send_kexinit(c);
		}
		break;
	case ST_UP_CHANNEL_CLOSED:
		ctl_channel_closed(c, m->u.channel_closed.local_id);
		break;
	case ST_UP_BACKEND_FAILED:
		ctl_backend_failed(c, m->u.backend.local_id, m->u.backend.err);
		break;
	default:
		r = ST_ERR_INVALID_ARGUMENT;
		break;
	}
	st_plane_msg_free(m);
	if (r == ST_ERR_INVALID_ARGUMENT)
		return r; /* not an up message we know: refused, connection untouched */
	if (r != 0 && r != ST_ERR_STATE && !c->closing)
		(void)ctl_map_error(c, r, 0); /* ST_ERR_STATE: already ended by ctl_fail */
	return ST_OK;
}

int ctl_hold(struct st_ctl_conn *c, struct st_plane_msg *m)
{
	if (c->nheld == CTL_HELD) {
		st_plane_msg_free(m);
		(void)ctl_fail(c, ST_CTL_DISC_RESOURCES, SSH_DISCONNECT_BY_APPLICATION,
			       ST_CLOSE_RESOURCES, "too many messages while %s runs",
			       c->kex_wait ? "the key exchange" : "AuthorizedKeysCommand");
		return ST_OK;
	}
	c->held[c->nheld++] = m;
	return ST_OK;
}

void ctl_replay_held(struct st_ctl_conn *c)
{
	struct st_plane_msg *held[CTL_HELD];
	unsigned n = c->nheld;

	memcpy(held, c->held, n * sizeof(held[0]));
	c->nheld = 0;
	/* st_ctl_conn_input holds again (in order) once one of them starts another job. */
	for (unsigned i = 0; i < n; i++)
		(void)st_ctl_conn_input(c, held[i]);
}

void st_ctl_conn_tick(struct st_ctl_conn *c, uint64_t now)
{
	if (!c->t_started) {
		c->t_started = 1;
		c->t_start = now;
		return;
	}
	if (c->closing || c->authed || c->cfg->login_grace_time == 0 || now < c->t_start)
		return;
	if (now - c->t_start >= c->cfg->login_grace_time)
		(void)ctl_fail(c, ST_CTL_DISC_LOGIN_GRACE, SSH_DISCONNECT_BY_APPLICATION,
			       ST_CLOSE_LOGIN_GRACE, "Timeout before authentication");
}

int st_ctl_conn_peer(const struct st_ctl_conn *c, const char **ip, uint16_t *port)
{
	*ip = c->peer_ip;
	*port = c->peer_port;
	return c->peer_final;
}

void st_ctl_conn_local(const struct st_ctl_conn *c, const char **ip, uint16_t *port)
{
	*ip = c->local_ip;
	*port = c->local_port;
}

int st_ctl_conn_closing(const struct st_ctl_conn *c)
{
	return c->closing;
}

int st_ctl_conn_done(const struct st_ctl_conn *c)
{
	return c->done;
}

const char *st_ctl_conn_user(const struct st_ctl_conn *c)
{
	return c->authed ? c->user : NULL;
}

void st_ctl_conn_algorithms(const struct st_ctl_conn *c, char *out, size_t outsz)
{
	const struct st_kex_neg *n = &c->cur;

	if (outsz == 0)
		return;
	if (!c->initial_done || n->kex == NULL || n->cipher_c2s == NULL) {
		snprintf(out, outsz, "-");
		return;
	}
	int len = snprintf(out, outsz, "%s %s %s%s%s", n->kex->name,
			   st_ctl_kex_hostkey_alg_name(n), n->cipher_c2s->name, n->mac_c2s ? "/" : "",
			   n->mac_c2s ? n->mac_c2s->name : "");
	if (len > 0 && (size_t)len < outsz &&
	    (n->cipher_s2c != n->cipher_c2s || n->mac_s2c != n->mac_c2s))
		snprintf(out + len, outsz - (size_t)len, " (s2c %s%s%s)", n->cipher_s2c->name,
			 n->mac_s2c ? "/" : "", n->mac_s2c ? n->mac_s2c->name : "");
}

const struct st_ctl_stats *st_ctl_conn_stats(const struct st_ctl_conn *c)
{
	return c->stats;
}

struct st_ctl_conn *st_ctl_conn_new(const struct st_ctl_config *cfg, struct st_conn_handle h,
				    const struct st_plane_sink *sink, const struct st_ctl_log *log,
				    struct st_ctl_stats *stats)
{
	struct st_ctl_conn *c;

	if (cfg == NULL || sink == NULL || sink->deliver == NULL || cfg->n_hostkeys == 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cfg = cfg;
	c->h = h;
	c->sink = *sink;
	if (log != NULL)
		c->log = *log;
	c->stats = stats != NULL ? stats : &c->own_stats;
	c->kx = KX_WAIT_KEXINIT;
	c->sv = SV_PRE;
	if (ctl_channels_init(c) != 0) {
		st_ctl_conn_free(c);
		return NULL;
	}
	return c;
}

void st_ctl_conn_free(struct st_ctl_conn *c)
{
	if (c == NULL)
		return;
	st_buf_free(&c->i_s);
	st_buf_free(&c->i_c);
	st_authkey_opts_free(&c->opts);
	for (unsigned i = 0; i < c->nheld; i++)
		st_plane_msg_free(c->held[i]);
	c->nheld = 0;
	ctl_akc_free(c);
	ctl_channels_free(c);
	st_wipe(c, sizeof(*c));
	free(c);
}

void st_ctl_conn_end_info(const struct st_ctl_conn *c, struct st_ctl_conn_end *out)
{
	out->authed = c->authed;
	out->failures = c->failures;
	out->requests = c->requests;
	out->we_closed = c->we_closed;
	out->disc = c->we_closed ? c->disc : -1;
}
