/*
 * The client engine's state machine (sshc.h). Received packets go through a
 * dispatch on the message number, and every handler checks that the message
 * is expected in the current state, so an out-of-order message is a protocol
 * error by construction. What the engine sends is sealed straight into its
 * tx buffer; while our KEXINIT is out and our NEWKEYS is not, messages other
 * than the kex's own wait in a small queue (RFC 4253 §7.1).
 */
#include "control/client/sshc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/client/hostkey_check.h"
#include "control/client/sshc_auth.h"
#include "control/client/sshc_kex.h"
#include "control/config.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"

#define TX_HEAD 16                     /* >= ST_CRYPTO_HEADROOM before the first packet */
#define TX_MAX (4u << 20)              /* the owner is not draining: fail, do not grow */
#define HELD_MAX (256u * 1024u)        /* messages waiting for the end of a kex */
#define VERSION_LINE_MAX 255           /* RFC 4253 §4.2, CR LF included */
#define PRE_BANNER_MAX (64u * 1024u)   /* lines a server may send before its version */
#define OUR_MAX_PACKET 32768u          /* channel maximum packet size we announce */
#define DEFAULT_WINDOW (2u << 20)
#define DEFAULT_REKEY (1ull << 30)
#define LOCAL_ID 0u

enum kex_phase {
	KP_NONE,        /* no exchange in progress */
	KP_WAIT_KEXINIT, /* ours sent, the server's not yet */
	KP_WAIT_REPLY,  /* our init sent */
	KP_WAIT_NEWKEYS, /* our NEWKEYS sent */
};

struct st_sshc {
	const struct st_sshc_config *cfg;
	enum st_sshc_state state;
	struct st_sshc_failure fail;
	struct st_sshc_info info;
	struct st_record rec;

	/* version exchange */
	char line[VERSION_LINE_MAX + 1];
	size_t line_len;
	size_t pre_banner; /* bytes of lines before the server's version */
	char v_c[VERSION_LINE_MAX + 1];

	/* key exchange */
	char hostkey_algs[512];
	struct st_sshc_algs algs;
	struct st_buf i_c, i_s;
	struct st_sshc_neg neg;
	struct st_sshc_kex_state kx;
	enum kex_phase kex;
	uint8_t kexinit_recv;  /* the server's KEXINIT of this exchange arrived */
	uint8_t skip_guess;    /* drop the server's wrongly guessed kex packet */
	uint8_t strict;
	uint8_t initial_done;
	uint8_t sid[ST_HASH_MAX_LEN];
	size_t sid_len;
	struct st_key *hostkey; /* from the first exchange */
	char server_sig_algs[512];

	/* channel */
	uint32_t remote_id;
	uint32_t rwin, rmaxpkt; /* the server's window and maximum packet */
	uint32_t lwin, lwin_max, lconsumed;
	uint8_t ch_open, eof_sent, eof_recv, close_sent, close_recv;
	int exit_status;

	/* tx */
	uint8_t *txmem;
	size_t txcap, txoff, txlen; /* data: txmem + TX_HEAD + [txoff, txlen) */
	struct st_buf held;         /* u32 length || payload, in order */
};

static const char *const fail_texts[] = {
#define SSHC_FAIL_TEXT(name, text) text,
	SSHC_FAIL_LIST(SSHC_FAIL_TEXT)
#undef SSHC_FAIL_TEXT
};

const char *st_sshc_fail_text(enum st_sshc_fail f)
{
	if ((unsigned)f >= SSHC_FAIL_COUNT)
		return "unknown";
	return fail_texts[f];
}

/* ---------------- failure ---------------- */

static int send_disconnect(struct st_sshc *c, uint32_t code, const char *text);

static void failv(struct st_sshc *c, enum st_sshc_fail reason, int err, uint32_t dcode,
		  const char *fmt, va_list ap)
{
	if (c->state == SSHC_FAILED)
		return;
	c->fail.reason = reason;
	c->fail.err = err;
	c->fail.disconnect_code = dcode;
	vsnprintf(c->fail.text, sizeof(c->fail.text), fmt, ap);
	c->state = SSHC_FAILED;
}

static int failf(struct st_sshc *c, enum st_sshc_fail reason, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	failv(c, reason, err, 0, fmt, ap);
	va_end(ap);
	return err != 0 ? err : ST_ERR_STATE;
}

/* Fails and tells the server why, as ssh(1) does for protocol errors. */
static int fail_tell(struct st_sshc *c, enum st_sshc_fail reason, uint32_t dcode, int err,
		     const char *fmt, ...)
{
	va_list ap;
	enum st_sshc_state was = c->state;

	va_start(ap, fmt);
	failv(c, reason, err, 0, fmt, ap);
	va_end(ap);
	if (was != SSHC_FAILED && c->rec.dead == ST_OK) {
		c->state = was; /* let the DISCONNECT out */
		(void)send_disconnect(c, dcode, c->fail.text);
		c->state = SSHC_FAILED;
	}
	return err != 0 ? err : ST_ERR_STATE;
}

void st_sshc_fail(struct st_sshc *c, enum st_sshc_fail reason, int err, const char *text)
{
	failf(c, reason, err, "%s", text != NULL ? text : st_sshc_fail_text(reason));
}

/* ---------------- tx ---------------- */

/* Room for need more bytes at the end of the tx data; NULL when over TX_MAX. */
static uint8_t *tx_room(struct st_sshc *c, size_t need)
{
	if (TX_HEAD + c->txlen + need > c->txcap && c->txoff > 0) {
		memmove(c->txmem + TX_HEAD, c->txmem + TX_HEAD + c->txoff, c->txlen - c->txoff);
		c->txlen -= c->txoff;
		c->txoff = 0;
	}
	if (TX_HEAD + c->txlen + need > c->txcap) {
		size_t ncap = c->txcap * 2;
		uint8_t *m;
		while (ncap < TX_HEAD + c->txlen + need)
			ncap *= 2;
		if (ncap > TX_MAX + TX_HEAD + 2 * OUR_MAX_PACKET ||
		    (m = realloc(c->txmem, ncap)) == NULL)
			return NULL;
		c->txmem = m;
		c->txcap = ncap;
	}
	return c->txmem + TX_HEAD + c->txlen;
}

/*
 * Seals the payload already written at p + ST_RECORD_PAYLOAD_OFFSET, where p
 * came from tx_room(c, st_record_seal_size(...)).
 */
static int seal_at(struct st_sshc *c, uint8_t *p, size_t cap, size_t len)
{
	struct st_record_out o = {.buf = p, .cap = cap, .payload_len = (uint32_t)len};
	int r;

	if ((r = st_record_seal(&c->rec, &o, 1)) != ST_OK)
		return failf(c, SSHC_FAIL_INTERNAL, r, "sealing a packet: %s", st_err_str(r));
	c->txlen += o.wire_len;
	c->info.bytes_out += o.wire_len;
	return ST_OK;
}

/* Seals a copy of a payload now, whatever the kex state. */
static int seal_now(struct st_sshc *c, const uint8_t *payload, size_t len)
{
	size_t need = st_record_seal_size(&c->rec, len);
	uint8_t *p = tx_room(c, need);

	if (p == NULL)
		return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_NO_SPACE, "tx buffer full");
	memcpy(p + ST_RECORD_PAYLOAD_OFFSET, payload, len);
	return seal_at(c, p, need, len);
}

/* Kex messages (20..49) go out at once; others wait while our kex is out. */
static int send_msg(struct st_sshc *c, const uint8_t *payload, size_t len)
{
	int r;

	if (c->state == SSHC_FAILED)
		return ST_ERR_STATE;
	if (len == 0 || len > ST_RECORD_DEFAULT_MAX_PACKET - 1024)
		return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_INVALID_ARGUMENT, "bad payload length");
	if (c->kex != KP_NONE && c->kex != KP_WAIT_NEWKEYS &&
	    !(payload[0] >= SSH_MSG_KEXINIT && payload[0] < SSH_MSG_USERAUTH_REQUEST) &&
	    payload[0] != SSH_MSG_DISCONNECT) {
		if (st_buf_avail(&c->held) + 4 + len > HELD_MAX)
			return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_NO_SPACE, "held messages full");
		if ((r = st_buf_put_string(&c->held, payload, len)) != 0)
			return failf(c, SSHC_FAIL_INTERNAL, r, "holding a message");
		return ST_OK;
	}
	return seal_now(c, payload, len);
}

static int send_buf(struct st_sshc *c, const struct st_buf *b)
{
	return send_msg(c, st_buf_ptr(b), st_buf_avail(b));
}

static int flush_held(struct st_sshc *c)
{
	const uint8_t *p;
	size_t n;
	int r = ST_OK;

	while (r == ST_OK && st_buf_avail(&c->held) > 0) {
		if (st_buf_get_string(&c->held, &p, &n) != 0)
			return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_INTERNAL, "held queue corrupt");
		r = seal_now(c, p, n);
	}
	st_buf_reset(&c->held);
	return r;
}

static int send_disconnect(struct st_sshc *c, uint32_t code, const char *text)
{
	uint8_t m[256];
	struct st_buf b;

	st_buf_wrap(&b, m, sizeof(m));
	if (st_buf_put_u8(&b, SSH_MSG_DISCONNECT) != 0 || st_buf_put_u32(&b, code) != 0 ||
	    st_buf_put_string(&b, text, strnlen(text, 160)) != 0 || st_buf_put_cstring(&b, "") != 0)
		return ST_ERR_NO_SPACE;
	return send_msg(c, st_buf_ptr(&b), st_buf_avail(&b));
}

/* The connection's work is over: say goodbye, then the owner closes. */
static int finish(struct st_sshc *c)
{
	int r = send_disconnect(c, SSH_DISCONNECT_BY_APPLICATION, "disconnected by user");
	if (c->state != SSHC_FAILED)
		c->state = SSHC_DONE;
	return r;
}

/* ---------------- key exchange ---------------- */

static int start_kex(struct st_sshc *c)
{
	unsigned flags = c->initial_done ? 0 : ST_SSHC_KEXINIT_EXT_INFO | ST_SSHC_KEXINIT_STRICT;
	int r;

	if (c->kex != KP_NONE)
		return ST_OK;
	st_buf_reset(&c->i_c);
	if ((r = st_sshc_kexinit_build(&c->algs, !c->initial_done, flags, &c->i_c)) != 0)
		return failf(c, SSHC_FAIL_INTERNAL, r, "building KEXINIT: %s", st_err_str(r));
	c->kex = KP_WAIT_KEXINIT;
	c->kexinit_recv = 0;
	return seal_now(c, st_buf_ptr(&c->i_c), st_buf_avail(&c->i_c));
}

/* Starts a rekey once either direction has moved rekey_bytes under the current keys. */
static int maybe_rekey(struct st_sshc *c)
{
	uint64_t lim = c->cfg->rekey_bytes != 0 ? c->cfg->rekey_bytes : DEFAULT_REKEY;

	if (!c->initial_done || c->kex != KP_NONE || c->state == SSHC_FAILED ||
	    c->state == SSHC_DONE)
		return ST_OK;
	if (c->rec.tx.epoch_bytes >= lim || c->rec.rx.epoch_bytes >= lim)
		return start_kex(c);
	return ST_OK;
}

static int on_kexinit(struct st_sshc *c, const uint8_t *p, size_t n)
{
	const char *what = "kexinit";
	uint8_t out[ST_KEX_PUBLIC_MAX + 64];
	struct st_buf b;
	int r;

	if (c->kexinit_recv || c->kex == KP_WAIT_REPLY || c->kex == KP_WAIT_NEWKEYS)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected KEXINIT");
	st_buf_reset(&c->i_s);
	if ((r = st_buf_put_bytes(&c->i_s, p, n)) != 0)
		return failf(c, SSHC_FAIL_PROTOCOL, r, "KEXINIT too large");
	if ((r = start_kex(c)) != 0)
		return r;
	c->kexinit_recv = 1;
	if ((r = st_sshc_kex_negotiate(&c->algs, p, n, !c->initial_done, &c->neg, &what)) != 0) {
		if (r == ST_ERR_ALG_UNSUPPORTED)
			return fail_tell(c, SSHC_FAIL_NEGOTIATION, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
					 r, "no matching %s algorithm", what);
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, r,
				 "malformed KEXINIT (%s): %s", what, st_err_str(r));
	}
	/* Strict kex: the server's KEXINIT must be its first packet (OpenSSH PROTOCOL). */
	if (!c->initial_done && c->neg.strict) {
		if (c->rec.rx.packets != 1)
			return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR,
					 ST_ERR_STATE, "strict kex: KEXINIT was not the first packet");
		c->strict = 1;
		st_record_set_strict(&c->rec);
	}
	c->skip_guess = c->neg.server_guess_wrong;
	if (!c->initial_done) {
		snprintf(c->info.kex, sizeof(c->info.kex), "%s", c->neg.kex->name);
		snprintf(c->info.hostkey_alg, sizeof(c->info.hostkey_alg), "%s",
			 st_sig_alg_name(c->neg.hostkey_alg));
		snprintf(c->info.cipher_c2s, sizeof(c->info.cipher_c2s), "%s", c->neg.cipher_c2s->name);
		snprintf(c->info.cipher_s2c, sizeof(c->info.cipher_s2c), "%s", c->neg.cipher_s2c->name);
		snprintf(c->info.mac_c2s, sizeof(c->info.mac_c2s), "%s",
			 c->neg.mac_c2s != NULL ? c->neg.mac_c2s->name : "<implicit>");
		snprintf(c->info.mac_s2c, sizeof(c->info.mac_s2c), "%s",
			 c->neg.mac_s2c != NULL ? c->neg.mac_s2c->name : "<implicit>");
	}
	st_buf_wrap(&b, out, sizeof(out));
	if ((r = st_sshc_kex_init(&c->neg, &c->kx, &b)) != 0)
		return failf(c, SSHC_FAIL_INTERNAL, r, "kex init: %s", st_err_str(r));
	c->kex = KP_WAIT_REPLY;
	return seal_now(c, st_buf_ptr(&b), st_buf_avail(&b));
}

/* The host key policy; on a rekey the key must be the first exchange's. */
static int check_hostkey(struct st_sshc *c, const struct st_key *k)
{
	const struct st_sshc_hostkey_policy *hp = &c->cfg->hostkey;
	char fp[128] = "";
	enum st_hostkey_verdict v;

	(void)st_key_fingerprint_sha256(k, fp, sizeof(fp));
	if (c->hostkey != NULL) {
		if (!st_key_equal_public(c->hostkey, k))
			return fail_tell(c, SSHC_FAIL_HOSTKEY, SSH_DISCONNECT_HOST_KEY_NOT_VERIFIABLE,
					 ST_ERR_KEY_INVALID, "host key changed during rekey (%s)", fp);
		return ST_OK;
	}
	if (hp->insecure)
		return ST_OK;
	if (hp->fingerprint != NULL) {
		if (st_hostkey_fingerprint_matches(k, hp->fingerprint))
			return ST_OK;
		return fail_tell(c, SSHC_FAIL_HOSTKEY, SSH_DISCONNECT_HOST_KEY_NOT_VERIFIABLE,
				 ST_ERR_KEY_INVALID, "host key %s %s is not the pinned %s",
				 st_key_type_name(k), fp, hp->fingerprint);
	}
	v = st_known_hosts_check(hp->known_hosts, c->cfg->host, c->cfg->port, k);
	if (v == ST_HOSTKEY_OK)
		return ST_OK;
	return fail_tell(c, SSHC_FAIL_HOSTKEY, SSH_DISCONNECT_HOST_KEY_NOT_VERIFIABLE,
			 ST_ERR_KEY_INVALID, "%s: %s %s", st_hostkey_verdict_text(v),
			 st_key_type_name(k), fp);
}

static int on_kex_reply(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_sshc_kex_result res;
	struct st_kex_transcript t = {
		.v_c = c->v_c,
		.v_s = c->info.server_version,
		.i_c = st_buf_ptr(&c->i_c),
		.i_c_len = st_buf_avail(&c->i_c),
		.i_s = st_buf_ptr(&c->i_s),
		.i_s_len = st_buf_avail(&c->i_s),
	};
	static const uint8_t newkeys[1] = {SSH_MSG_NEWKEYS};
	int r;

	if (c->kex != KP_WAIT_REPLY)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected kex reply");
	r = st_sshc_kex_finish(&c->neg, &c->kx, &t, p, n, c->sid, c->sid_len, &res);
	st_sshc_kex_state_clear(&c->kx);
	if (r != 0) {
		c->kex = KP_NONE;
		if (r == ST_ERR_SIG_INVALID)
			return failf(c, SSHC_FAIL_KEX, r, "host key signature does not verify");
		return failf(c, SSHC_FAIL_KEX, r, "bad kex reply: %s", st_err_str(r));
	}
	c->kex = KP_WAIT_NEWKEYS; /* so that the DISCONNECT of a refused key may go out */
	if ((r = check_hostkey(c, res.hostkey)) != 0)
		goto out;
	if (c->sid_len == 0) {
		memcpy(c->sid, res.h, res.h_len);
		c->sid_len = res.h_len;
		c->hostkey = res.hostkey;
		res.hostkey = NULL;
	}
	if ((r = st_record_set_next_keys(&c->rec, &res.c2s, &res.s2c)) != 0) {
		r = failf(c, SSHC_FAIL_INTERNAL, r, "installing keys: %s", st_err_str(r));
		goto out;
	}
	if ((r = seal_now(c, newkeys, 1)) != 0)
		goto out;
	r = flush_held(c);
out:
	st_sshc_kex_result_clear(&res);
	return r;
}

static int on_newkeys(struct st_sshc *c, const uint8_t *p, size_t n)
{
	static const char svc[] = "ssh-userauth";
	uint8_t m[64];
	struct st_buf b;

	(void)p;
	if (c->kex != KP_WAIT_NEWKEYS)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected NEWKEYS");
	if (n != 1)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR,
				 ST_ERR_TRAILING, "NEWKEYS with trailing bytes");
	c->kex = KP_NONE;
	c->kexinit_recv = 0;
	if (c->initial_done) {
		c->info.rekeys++;
		return ST_OK;
	}
	c->initial_done = 1;
	c->state = SSHC_AUTH;
	st_buf_wrap(&b, m, sizeof(m));
	if (st_buf_put_u8(&b, SSH_MSG_SERVICE_REQUEST) != 0 || st_buf_put_cstring(&b, svc) != 0)
		return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_NO_SPACE, "service request");
	return send_buf(c, &b);
}

static int on_ext_info(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	uint32_t count;
	const uint8_t *name, *val;
	size_t nl, vl;

	st_buf_from(&b, p + 1, n - 1);
	if (st_buf_get_u32(&b, &count) != 0)
		goto bad;
	for (uint32_t i = 0; i < count; i++) {
		if (st_buf_get_string(&b, &name, &nl) != 0 || st_buf_get_string(&b, &val, &vl) != 0)
			goto bad;
		if (nl == 15 && memcmp(name, "server-sig-algs", 15) == 0 &&
		    vl < sizeof(c->server_sig_algs)) {
			memcpy(c->server_sig_algs, val, vl);
			c->server_sig_algs[vl] = '\0';
		}
	}
	return ST_OK;
bad:
	return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
			 "malformed EXT_INFO");
}

/* ---------------- user auth ---------------- */

static int on_service_accept(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_sshc_pubkey_req q;
	struct st_buf b;
	enum st_sig_alg sa;
	int r;

	(void)p;
	(void)n;
	if (c->state != SSHC_AUTH)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected SERVICE_ACCEPT");
	sa = st_sshc_auth_alg(c->cfg->key, c->server_sig_algs);
	memset(&q, 0, sizeof(q));
	q.sid = c->sid;
	q.sid_len = c->sid_len;
	q.user = c->cfg->user;
	q.key = c->cfg->key;
	q.alg = st_sig_alg_name(sa);
	q.sign = 1;
	if ((r = st_buf_alloc(&b, 1024, 65536)) != 0)
		return failf(c, SSHC_FAIL_INTERNAL, r, "out of memory");
	if ((r = st_sshc_auth_pubkey_build(&q, &b)) != 0)
		r = failf(c, SSHC_FAIL_INTERNAL, r, "signing the auth request: %s", st_err_str(r));
	else
		r = send_buf(c, &b);
	st_buf_free(&b);
	return r;
}

static int on_auth_failure(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	const char *l;
	size_t ll;

	if (c->state != SSHC_AUTH)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected USERAUTH_FAILURE");
	st_buf_from(&b, p + 1, n - 1);
	if (st_buf_get_namelist(&b, &l, &ll) != 0)
		ll = 0;
	return fail_tell(c, SSHC_FAIL_AUTH, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
			 ST_ERR_STATE, "permission denied (%.*s)", (int)(ll > 100 ? 100 : ll),
			 ll > 0 ? l : "no methods left");
}

static int on_auth_success(struct st_sshc *c, const uint8_t *p, size_t n)
{
	uint8_t m[64];
	struct st_buf b;

	(void)p;
	(void)n;
	if (c->state != SSHC_AUTH)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected USERAUTH_SUCCESS");
	if (c->cfg->command == NULL)
		return finish(c);
	c->state = SSHC_CHANNEL;
	st_buf_wrap(&b, m, sizeof(m));
	if (st_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN) != 0 || st_buf_put_cstring(&b, "session") != 0 ||
	    st_buf_put_u32(&b, LOCAL_ID) != 0 || st_buf_put_u32(&b, c->lwin) != 0 ||
	    st_buf_put_u32(&b, OUR_MAX_PACKET) != 0)
		return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_NO_SPACE, "channel open");
	return send_buf(c, &b);
}

static int on_ignore(struct st_sshc *c, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	/* Strict kex allows nothing but the exchange before the first NEWKEYS. */
	if (!c->initial_done && c->strict)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "strict kex: unexpected message during the initial exchange");
	return ST_OK;
}

static int on_disconnect(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	uint32_t code = 0;
	const uint8_t *t = (const uint8_t *)"";
	size_t tl = 0;

	st_buf_from(&b, p + 1, n - 1);
	(void)st_buf_get_u32(&b, &code);
	(void)st_buf_get_string(&b, &t, &tl);
	if (c->state == SSHC_DONE)
		return ST_OK;
	/* A printable copy of the server's reason, never trusted as a format. */
	char txt[120];
	size_t k = 0;
	for (size_t i = 0; i < tl && k + 1 < sizeof(txt); i++)
		txt[k++] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
	txt[k] = '\0';
	c->fail.reason = SSHC_FAIL_DISCONNECT;
	c->fail.err = ST_ERR_EOF;
	c->fail.disconnect_code = code;
	snprintf(c->fail.text, sizeof(c->fail.text), "disconnected by server (code %u): %s", code,
		 txt);
	c->state = SSHC_FAILED;
	return ST_ERR_EOF;
}

static int on_global_request(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	const uint8_t *name;
	size_t nl;
	int want;
	static const uint8_t nak[1] = {SSH_MSG_REQUEST_FAILURE};

	st_buf_from(&b, p + 1, n - 1);
	if (st_buf_get_string(&b, &name, &nl) != 0 || st_buf_get_bool(&b, &want) != 0)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
				 "malformed GLOBAL_REQUEST");
	/* hostkeys-00@openssh.com and keepalives: nothing to do but answer. */
	return want ? send_msg(c, nak, 1) : ST_OK;
}

/* ---------------- channel ---------------- */

static int chan_id(struct st_sshc *c, struct st_buf *b, const char *what)
{
	uint32_t id;

	if (st_buf_get_u32(b, &id) != 0 || id != LOCAL_ID ||
	    (c->state != SSHC_CHANNEL && c->state != SSHC_OPEN))
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected %s", what);
	return ST_OK;
}

static int on_open_confirm(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b, o;
	uint8_t m[ST_SSHC_COMMAND_MAX + 64];
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_OPEN_CONFIRMATION")) != 0)
		return r;
	if (c->ch_open || st_buf_get_u32(&b, &c->remote_id) != 0 ||
	    st_buf_get_u32(&b, &c->rwin) != 0 || st_buf_get_u32(&b, &c->rmaxpkt) != 0)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
				 "malformed CHANNEL_OPEN_CONFIRMATION");
	c->ch_open = 1;
	st_buf_wrap(&o, m, sizeof(m));
	if (st_buf_put_u8(&o, SSH_MSG_CHANNEL_REQUEST) != 0 || st_buf_put_u32(&o, c->remote_id) != 0 ||
	    st_buf_put_cstring(&o, "exec") != 0 || st_buf_put_bool(&o, 1) != 0 ||
	    st_buf_put_cstring(&o, c->cfg->command) != 0)
		return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_NO_SPACE, "exec request");
	return send_buf(c, &o);
}

static int on_open_failure(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	uint32_t code = 0;
	const uint8_t *t = (const uint8_t *)"";
	size_t tl = 0;
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_OPEN_FAILURE")) != 0)
		return r;
	if (c->ch_open)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "CHANNEL_OPEN_FAILURE for an open channel");
	(void)st_buf_get_u32(&b, &code);
	(void)st_buf_get_string(&b, &t, &tl);
	char txt[100];
	size_t k = 0;
	for (size_t i = 0; i < tl && k + 1 < sizeof(txt); i++)
		txt[k++] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
	txt[k] = '\0';
	return fail_tell(c, SSHC_FAIL_CHANNEL, SSH_DISCONNECT_BY_APPLICATION, ST_ERR_STATE,
			 "channel open refused (code %u): %s", code, txt);
}

static int on_chan_success(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_SUCCESS")) != 0)
		return r;
	if (c->state != SSHC_CHANNEL || !c->ch_open)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected CHANNEL_SUCCESS");
	c->state = SSHC_OPEN;
	if (c->cfg->ev.opened != NULL)
		c->cfg->ev.opened(c->cfg->ctx);
	return ST_OK;
}

static int on_chan_failure(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_FAILURE")) != 0)
		return r;
	if (c->state != SSHC_CHANNEL)
		return ST_OK; /* an answer to a request of ours after exec: none are sent */
	return fail_tell(c, SSHC_FAIL_EXEC, SSH_DISCONNECT_BY_APPLICATION, ST_ERR_STATE,
			 "exec refused: %s", c->cfg->command);
}

static int on_window_adjust(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	uint32_t add;
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_WINDOW_ADJUST")) != 0)
		return r;
	if (!c->ch_open || st_buf_get_u32(&b, &add) != 0)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
				 "malformed CHANNEL_WINDOW_ADJUST");
	/* RFC 4254 §5.2 caps the window at 2^32 - 1: clamp, as OpenSSH does. */
	c->rwin = add > UINT32_MAX - c->rwin ? UINT32_MAX : c->rwin + add;
	if (c->cfg->ev.writable != NULL && c->state == SSHC_OPEN)
		c->cfg->ev.writable(c->cfg->ctx);
	return ST_OK;
}

static int grant_window(struct st_sshc *c)
{
	uint8_t m[16];
	struct st_buf b;

	if (c->lconsumed < c->lwin_max / 2 || c->close_sent || c->close_recv)
		return ST_OK;
	st_buf_wrap(&b, m, sizeof(m));
	if (st_buf_put_u8(&b, SSH_MSG_CHANNEL_WINDOW_ADJUST) != 0 ||
	    st_buf_put_u32(&b, c->remote_id) != 0 || st_buf_put_u32(&b, c->lconsumed) != 0)
		return ST_ERR_NO_SPACE;
	c->lwin += c->lconsumed;
	c->lconsumed = 0;
	return send_buf(c, &b);
}

static int on_data(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	const uint8_t *d;
	size_t dl;
	uint32_t code;
	int ext = p[0] == SSH_MSG_CHANNEL_EXTENDED_DATA, r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_DATA")) != 0)
		return r;
	if (!c->ch_open || (ext && st_buf_get_u32(&b, &code) != 0) ||
	    st_buf_get_string(&b, &d, &dl) != 0 || st_buf_end(&b) != 0)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
				 "malformed CHANNEL_DATA");
	if (dl > c->lwin || c->eof_recv)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "%s", c->eof_recv ? "channel data after EOF"
						   : "channel data beyond the window");
	c->lwin -= (uint32_t)dl;
	c->lconsumed += (uint32_t)dl;
	c->info.data_in += dl;
	if (c->cfg->ev.data != NULL && dl > 0)
		c->cfg->ev.data(c->cfg->ctx, d, dl, ext);
	if (c->state == SSHC_FAILED) /* the owner failed us from its callback */
		return ST_ERR_STATE;
	return grant_window(c);
}

static int on_eof(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_EOF")) != 0)
		return r;
	c->eof_recv = 1;
	if (c->cfg->ev.eof != NULL)
		c->cfg->ev.eof(c->cfg->ctx);
	return ST_OK;
}

static int on_chan_request(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b, o;
	const uint8_t *t;
	size_t tl;
	int want, r;
	uint32_t st;
	uint8_t m[16];

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_REQUEST")) != 0)
		return r;
	if (st_buf_get_string(&b, &t, &tl) != 0 || st_buf_get_bool(&b, &want) != 0)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
				 "malformed CHANNEL_REQUEST");
	if (tl == 11 && memcmp(t, "exit-status", 11) == 0) {
		if (st_buf_get_u32(&b, &st) != 0)
			return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR,
					 ST_ERR_FORMAT, "malformed exit-status");
		c->exit_status = st > 255 ? 255 : (int)st;
	} else if (tl == 11 && memcmp(t, "exit-signal", 11) == 0) {
		c->exit_status = 255; /* as ssh(1) reports a signalled command */
	}
	if (!want)
		return ST_OK;
	st_buf_wrap(&o, m, sizeof(m));
	if (st_buf_put_u8(&o, SSH_MSG_CHANNEL_FAILURE) != 0 || st_buf_put_u32(&o, c->remote_id) != 0)
		return ST_ERR_NO_SPACE;
	return send_buf(c, &o);
}

static int send_close(struct st_sshc *c)
{
	uint8_t m[8];
	struct st_buf b;

	if (c->close_sent)
		return ST_OK;
	c->close_sent = 1;
	st_buf_wrap(&b, m, sizeof(m));
	if (st_buf_put_u8(&b, SSH_MSG_CHANNEL_CLOSE) != 0 || st_buf_put_u32(&b, c->remote_id) != 0)
		return ST_ERR_NO_SPACE;
	return send_buf(c, &b);
}

static int on_close(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b;
	int r;

	st_buf_from(&b, p + 1, n - 1);
	if ((r = chan_id(c, &b, "CHANNEL_CLOSE")) != 0)
		return r;
	if (!c->ch_open || c->close_recv)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected CHANNEL_CLOSE");
	c->close_recv = 1;
	if (c->state == SSHC_CHANNEL && c->exit_status < 0)
		return fail_tell(c, SSHC_FAIL_EXEC, SSH_DISCONNECT_BY_APPLICATION, ST_ERR_STATE,
				 "channel closed before exec was answered");
	if ((r = send_close(c)) != 0)
		return r;
	return finish(c);
}

static int on_server_open(struct st_sshc *c, const uint8_t *p, size_t n)
{
	struct st_buf b, o;
	const uint8_t *t;
	size_t tl;
	uint32_t sender;
	uint8_t m[128];

	st_buf_from(&b, p + 1, n - 1);
	if (st_buf_get_string(&b, &t, &tl) != 0 || st_buf_get_u32(&b, &sender) != 0)
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_FORMAT,
				 "malformed CHANNEL_OPEN");
	st_buf_wrap(&o, m, sizeof(m));
	if (st_buf_put_u8(&o, SSH_MSG_CHANNEL_OPEN_FAILURE) != 0 || st_buf_put_u32(&o, sender) != 0 ||
	    st_buf_put_u32(&o, 1) != 0 /* SSH_OPEN_ADMINISTRATIVELY_PROHIBITED */ ||
	    st_buf_put_cstring(&o, "not accepted by this client") != 0 ||
	    st_buf_put_cstring(&o, "") != 0)
		return ST_ERR_NO_SPACE;
	return send_buf(c, &o);
}

/* ---------------- dispatch ---------------- */

typedef int (*handler_fn)(struct st_sshc *c, const uint8_t *p, size_t n);

static const handler_fn handlers[256] = {
	[SSH_MSG_DISCONNECT] = on_disconnect,
	[SSH_MSG_IGNORE] = on_ignore,
	[SSH_MSG_DEBUG] = on_ignore,
	[SSH_MSG_SERVICE_ACCEPT] = on_service_accept,
	[SSH_MSG_EXT_INFO] = on_ext_info,
	[SSH_MSG_KEXINIT] = on_kexinit,
	[SSH_MSG_NEWKEYS] = on_newkeys,
	[SSH_MSG_KEX_ECDH_REPLY] = on_kex_reply,
	[SSH_MSG_USERAUTH_FAILURE] = on_auth_failure,
	[SSH_MSG_USERAUTH_SUCCESS] = on_auth_success,
	[SSH_MSG_USERAUTH_BANNER] = on_ignore,
	[SSH_MSG_GLOBAL_REQUEST] = on_global_request,
	[SSH_MSG_CHANNEL_OPEN] = on_server_open,
	[SSH_MSG_CHANNEL_OPEN_CONFIRMATION] = on_open_confirm,
	[SSH_MSG_CHANNEL_OPEN_FAILURE] = on_open_failure,
	[SSH_MSG_CHANNEL_WINDOW_ADJUST] = on_window_adjust,
	[SSH_MSG_CHANNEL_DATA] = on_data,
	[SSH_MSG_CHANNEL_EXTENDED_DATA] = on_data,
	[SSH_MSG_CHANNEL_EOF] = on_eof,
	[SSH_MSG_CHANNEL_CLOSE] = on_close,
	[SSH_MSG_CHANNEL_REQUEST] = on_chan_request,
	[SSH_MSG_CHANNEL_SUCCESS] = on_chan_success,
	[SSH_MSG_CHANNEL_FAILURE] = on_chan_failure,
};

static int dispatch(struct st_sshc *c, const struct st_record_msg *m)
{
	uint8_t t = m->payload[0];
	handler_fn h = handlers[t];

	/* The one packet a wrong first_kex_packet_follows guess sent is dropped (RFC 4253 §7). */
	if (c->skip_guess && t >= 30 && t <= 49) {
		c->skip_guess = 0;
		return ST_OK;
	}
	/* Before the first NEWKEYS only transport-layer messages are valid. */
	if (!c->initial_done && t > SSH_MSG_KEX_ECDH_REPLY && t != SSH_MSG_DISCONNECT)
		h = NULL;
	/* During our kex, only kex messages; a server's other messages before its KEXINIT are fine. */
	if (c->kexinit_recv && c->kex != KP_NONE && t >= SSH_MSG_USERAUTH_REQUEST)
		h = NULL;
	if (h == NULL) {
		if (t == SSH_MSG_UNIMPLEMENTED && c->initial_done)
			return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR,
					 ST_ERR_STATE, "the server did not understand a message");
		return fail_tell(c, SSHC_FAIL_PROTOCOL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_ERR_STATE,
				 "unexpected message %u", t);
	}
	return h(c, m->payload, m->len);
}

/* ---------------- input ---------------- */

/* Server identification (RFC 4253 §4.2): lines before it are allowed, but capped. */
static int version_input(struct st_sshc *c, const uint8_t *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n && c->state == SSHC_VERSION) {
		uint8_t ch = p[i++];
		if (ch != '\n') {
			if (c->line_len >= VERSION_LINE_MAX)
				return failf(c, SSHC_FAIL_VERSION, ST_ERR_FORMAT,
					     "server identification line too long");
			c->line[c->line_len++] = (char)ch;
			continue;
		}
		if (c->line_len > 0 && c->line[c->line_len - 1] == '\r')
			c->line_len--;
		c->line[c->line_len] = '\0';
		if (c->line_len >= 4 && memcmp(c->line, "SSH-", 4) == 0) {
			if (strncmp(c->line, "SSH-2.0-", 8) != 0 && strncmp(c->line, "SSH-1.99-", 9) != 0)
				return failf(c, SSHC_FAIL_VERSION, ST_ERR_FORMAT,
					     "unsupported protocol version: %.60s", c->line);
			for (size_t k = 0; k < c->line_len; k++)
				if ((unsigned char)c->line[k] < 0x20 || (unsigned char)c->line[k] > 0x7e)
					return failf(c, SSHC_FAIL_VERSION, ST_ERR_FORMAT,
						     "bad byte in server identification");
			memcpy(c->info.server_version, c->line, c->line_len + 1);
			c->state = SSHC_KEX;
			c->line_len = 0;
			*used = i;
			return start_kex(c);
		}
		c->pre_banner += c->line_len + 1;
		if (c->pre_banner > PRE_BANNER_MAX)
			return failf(c, SSHC_FAIL_VERSION, ST_ERR_FORMAT,
				     "no identification in the server's first %u bytes",
				     PRE_BANNER_MAX);
		c->line_len = 0;
	}
	*used = i;
	return ST_OK;
}

/* Opens and dispatches what the record holds; ST_OK when nothing is left. */
static int drain_record(struct st_sshc *c)
{
	struct st_record_msg msgs[ST_RECORD_BURST];
	unsigned got;
	int r;

	for (;;) {
		if (c->state == SSHC_FAILED)
			return c->fail.err != 0 ? c->fail.err : ST_ERR_STATE;
		if ((r = st_record_read(&c->rec, msgs, ST_RECORD_BURST, &got)) != ST_OK) {
			if (r == ST_ERR_MAC_INVALID)
				return failf(c, SSHC_FAIL_RECORD, r, "corrupted MAC on input");
			return failf(c, SSHC_FAIL_RECORD, r, "bad packet: %s", st_err_str(r));
		}
		if (got == 0)
			return ST_OK;
		for (unsigned i = 0; i < got; i++) {
			if ((r = dispatch(c, &msgs[i])) != ST_OK && c->state == SSHC_FAILED)
				return r;
			if (c->state == SSHC_DONE || c->state == SSHC_FAILED)
				return ST_OK;
		}
		if ((r = maybe_rekey(c)) != 0)
			return r;
	}
}

int st_sshc_input(struct st_sshc *c, const uint8_t *p, size_t n, size_t *used)
{
	size_t off = 0, u;
	int r;

	*used = 0;
	if (c->state == SSHC_FAILED)
		return c->fail.err != 0 ? c->fail.err : ST_ERR_STATE;
	if (c->state == SSHC_VERSION) {
		if ((r = version_input(c, p, n, &u)) != 0)
			return r;
		off = u;
	}
	while (off < n && c->state != SSHC_DONE && c->state != SSHC_FAILED) {
		st_record_feed(&c->rec, p + off, n - off, &u);
		off += u;
		c->info.bytes_in += u;
		if ((r = drain_record(c)) != 0)
			break;
		if (u == 0)
			break; /* buffer full of a packet larger than fits: the record fails it */
	}
	if (c->state == SSHC_DONE)
		off = n; /* whatever follows the end is of no interest */
	*used = off;
	if (c->state == SSHC_FAILED)
		return c->fail.err != 0 ? c->fail.err : ST_ERR_STATE;
	return ST_OK;
}

void st_sshc_input_eof(struct st_sshc *c)
{
	if (c->state == SSHC_DONE || c->state == SSHC_FAILED)
		return;
	failf(c, SSHC_FAIL_CLOSED, ST_ERR_EOF, "connection closed by server (%s)",
	      c->state == SSHC_VERSION ? "before its identification"
	      : c->state == SSHC_KEX   ? "during key exchange"
	      : c->state == SSHC_AUTH  ? "during authentication"
				       : "with the channel open");
}

/* ---------------- output and channel API ---------------- */

void st_sshc_tx_peek(const struct st_sshc *c, const uint8_t **p, size_t *n)
{
	*p = c->txmem + TX_HEAD + c->txoff;
	*n = c->txlen - c->txoff;
}

void st_sshc_tx_consume(struct st_sshc *c, size_t n)
{
	if (n > c->txlen - c->txoff)
		n = c->txlen - c->txoff;
	c->txoff += n;
	if (c->txoff == c->txlen)
		c->txoff = c->txlen = 0;
}

long st_sshc_write(struct st_sshc *c, const uint8_t *data, size_t n)
{
	size_t done = 0;
	uint32_t maxp;
	int r;

	if (c->state == SSHC_FAILED)
		return c->fail.err != 0 ? c->fail.err : ST_ERR_STATE;
	if (c->state != SSHC_OPEN || c->kex != KP_NONE || c->eof_sent || c->close_recv)
		return 0;
	/* Payload per packet: the server's maximum, less our 9-byte header, at most 32 KiB. */
	maxp = c->rmaxpkt > OUR_MAX_PACKET ? OUR_MAX_PACKET : c->rmaxpkt;
	maxp = maxp > 64 ? maxp - 9 : 0;
	while (done < n && c->rwin > 0 && maxp > 0 && c->txlen - c->txoff < ST_SSHC_TX_HIGH) {
		size_t chunk = n - done;
		size_t need;
		uint8_t *p;
		if (chunk > maxp)
			chunk = maxp;
		if (chunk > c->rwin)
			chunk = c->rwin;
		need = st_record_seal_size(&c->rec, chunk + 9);
		if ((p = tx_room(c, need)) == NULL)
			return failf(c, SSHC_FAIL_INTERNAL, ST_ERR_NO_SPACE, "tx buffer full");
		p[ST_RECORD_PAYLOAD_OFFSET] = SSH_MSG_CHANNEL_DATA;
		st_poke_u32(p + ST_RECORD_PAYLOAD_OFFSET + 1, c->remote_id);
		st_poke_u32(p + ST_RECORD_PAYLOAD_OFFSET + 5, (uint32_t)chunk);
		memcpy(p + ST_RECORD_PAYLOAD_OFFSET + 9, data + done, chunk);
		if ((r = seal_at(c, p, need, chunk + 9)) != 0)
			return r;
		c->rwin -= (uint32_t)chunk;
		done += chunk;
	}
	c->info.data_out += done;
	if ((r = maybe_rekey(c)) != 0)
		return r;
	return (long)done;
}

int st_sshc_send_eof(struct st_sshc *c)
{
	uint8_t m[8];
	struct st_buf b;

	if (c->state != SSHC_OPEN || c->eof_sent || c->close_sent)
		return c->state == SSHC_FAILED ? ST_ERR_STATE : ST_OK;
	c->eof_sent = 1;
	st_buf_wrap(&b, m, sizeof(m));
	if (st_buf_put_u8(&b, SSH_MSG_CHANNEL_EOF) != 0 || st_buf_put_u32(&b, c->remote_id) != 0)
		return ST_ERR_NO_SPACE;
	return send_buf(c, &b);
}

int st_sshc_close(struct st_sshc *c)
{
	int r;

	if (c->state == SSHC_FAILED || c->state == SSHC_DONE)
		return ST_OK;
	if (c->ch_open && !c->close_recv) {
		if ((r = st_sshc_send_eof(c)) != 0)
			return r;
		return send_close(c); /* done when the server's CLOSE arrives */
	}
	if (c->state == SSHC_VERSION) {
		c->state = SSHC_DONE;
		return ST_OK;
	}
	return finish(c);
}

enum st_sshc_state st_sshc_state(const struct st_sshc *c)
{
	return c->state;
}

const struct st_sshc_failure *st_sshc_failure(const struct st_sshc *c)
{
	return &c->fail;
}

int st_sshc_exit_status(const struct st_sshc *c)
{
	return c->exit_status;
}

const struct st_sshc_info *st_sshc_info(const struct st_sshc *c)
{
	return &c->info;
}

/* ---------------- life cycle ---------------- */

int st_sshc_new(const struct st_sshc_config *cfg, struct st_sshc **out)
{
	const struct st_sshc_hostkey_policy *hp = &cfg->hostkey;
	struct st_sshc *c;
	int r, n;

	*out = NULL;
	if (cfg->user == NULL || cfg->user[0] == '\0' || cfg->key == NULL ||
	    !st_key_has_private(cfg->key) ||
	    (hp->known_hosts == NULL && hp->fingerprint == NULL && !hp->insecure) ||
	    (hp->known_hosts != NULL && cfg->host == NULL) ||
	    (cfg->command != NULL && strlen(cfg->command) > ST_SSHC_COMMAND_MAX))
		return ST_ERR_INVALID_ARGUMENT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ST_ERR_ALLOC;
	c->cfg = cfg;
	c->exit_status = -1;
	c->algs.kex = cfg->kex != NULL ? cfg->kex : ST_SSHC_DEFAULT_KEX;
	c->algs.cipher_c2s = c->algs.cipher_s2c =
		cfg->ciphers != NULL ? cfg->ciphers : ST_SSHC_DEFAULT_CIPHERS;
	c->algs.mac_c2s = c->algs.mac_s2c = cfg->macs != NULL ? cfg->macs : ST_SSHC_DEFAULT_MACS;
	{
		const char *hk = cfg->hostkey_algs != NULL ? cfg->hostkey_algs
							   : ST_SSHC_DEFAULT_HOSTKEY_ALGS;
		char known[256] = "";
		/* Algorithms known_hosts can verify first, as ssh(1) orders them. */
		if (hp->known_hosts != NULL && cfg->hostkey_algs == NULL)
			st_known_hosts_algs(hp->known_hosts, cfg->host, cfg->port, hk, known,
					    sizeof(known));
		if (known[0] != '\0') {
			size_t o = (size_t)snprintf(c->hostkey_algs, sizeof(c->hostkey_algs), "%s",
						    known);
			size_t len = strlen(hk), i = 0;
			while (i < len && o < sizeof(c->hostkey_algs)) {
				size_t j = i;
				while (j < len && hk[j] != ',')
					j++;
				if (!st_namelist_has(known, strlen(known), hk + i, j - i))
					o += (size_t)snprintf(c->hostkey_algs + o,
							      sizeof(c->hostkey_algs) - o, ",%.*s",
							      (int)(j - i), hk + i);
				i = j + 1;
			}
		} else {
			snprintf(c->hostkey_algs, sizeof(c->hostkey_algs), "%s", hk);
		}
		c->algs.hostkey = c->hostkey_algs;
	}
	/* Every name must be one we implement: a typo is the caller's error. */
	if (st_alglist_check(ST_ALG_KEX, c->algs.kex) != ST_OK ||
	    st_alglist_check(ST_ALG_HOSTKEY, c->algs.hostkey) != ST_OK ||
	    st_alglist_check(ST_ALG_CIPHER, c->algs.cipher_c2s) != ST_OK ||
	    st_alglist_check(ST_ALG_MAC, c->algs.mac_c2s) != ST_OK) {
		free(c);
		return ST_ERR_INVALID_ARGUMENT;
	}
	c->lwin = c->lwin_max = cfg->window != 0 ? cfg->window : DEFAULT_WINDOW;
	c->txcap = 64u * 1024u;
	if ((c->txmem = malloc(c->txcap)) == NULL) {
		free(c);
		return ST_ERR_ALLOC;
	}
	if ((r = st_record_init(&c->rec, cfg->be != NULL ? cfg->be : &st_crypto_backend_evp, 0)) !=
		    0 ||
	    (r = st_buf_alloc(&c->i_c, 1024, 16384)) != 0 ||
	    (r = st_buf_alloc(&c->i_s, 1024, 65536)) != 0 ||
	    (r = st_buf_alloc(&c->held, 256, HELD_MAX)) != 0) {
		st_sshc_free(c);
		return r;
	}
	n = snprintf(c->v_c, sizeof(c->v_c), "%s",
		     cfg->version != NULL ? cfg->version : "SSH-2.0-sshterm_bench");
	if (n <= 0 || (size_t)n > VERSION_LINE_MAX - 2) {
		st_sshc_free(c);
		return ST_ERR_INVALID_ARGUMENT;
	}
	memcpy(c->txmem + TX_HEAD, c->v_c, (size_t)n);
	memcpy(c->txmem + TX_HEAD + n, "\r\n", 2);
	c->txlen = (size_t)n + 2;
	c->state = SSHC_VERSION;
	*out = c;
	return ST_OK;
}

void st_sshc_free(struct st_sshc *c)
{
	if (c == NULL)
		return;
	st_sshc_kex_state_clear(&c->kx);
	st_record_free(&c->rec);
	st_buf_free(&c->i_c);
	st_buf_free(&c->i_s);
	if (c->held.data != NULL)
		st_wipe(c->held.data, c->held.len);
	st_buf_free(&c->held);
	st_key_free(c->hostkey);
	free(c->txmem);
	st_wipe(c->sid, sizeof(c->sid));
	free(c);
}
