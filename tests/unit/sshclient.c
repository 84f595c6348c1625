#include "tests/unit/sshclient.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/client/sshc_auth.h"
#include "control/client/sshc_kex.h"
#include "control/kex.h"
#include "control/userauth.h"
#include "crypto/backend.h"
#include "crypto/err.h"
#include "crypto/kdf.h"
#include "crypto/kexalg.h"
#include "crypto/key.h"
#include "crypto/secmem.h"
#include "crypto/sig.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/wsess.h"

static const struct st_conn_handle bed_handle = {1, 7, 42};

/* ---------------- mini worker (server side) ---------------- */

static void srv_seal(struct sc_bed *b, const uint8_t *p, size_t len);

static void flush_holds(struct sc_bed *b)
{
	unsigned n = b->nhold;
	struct st_plane_msg *h[256];

	memcpy(h, b->hold, n * sizeof(h[0]));
	b->nhold = 0;
	for (unsigned i = 0; i < n; i++) {
		srv_seal(b, h[i]->data, h[i]->len);
		st_plane_msg_free(h[i]);
	}
}

static void srv_seal(struct sc_bed *b, const uint8_t *p, size_t len)
{
	if (len == 0) {
		b->fatal = 1;
		return;
	}
	if (b->skex_tx && p[0] >= 50) {
		if (b->nhold >= 256) {
			b->fatal = 1;
			return;
		}
		b->hold[b->nhold++] = st_plane_msg_new(ST_DOWN_SEND, bed_handle, p, (uint32_t)len);
		return;
	}
	if (st_record_send(&b->srec, p, len, &b->s2c) != ST_OK) {
		b->fatal = 1;
		return;
	}
	if (p[0] == SSH_MSG_KEXINIT)
		b->skex_tx = 1;
	if (p[0] == SSH_MSG_NEWKEYS) {
		b->skex_tx = 0;
		flush_holds(b);
	}
}

/* wsess mode: note what the test checks, then queue for the worker. */
static int bed_observe(struct sc_bed *b, struct st_plane_msg *m)
{
	switch (m->type) {
	case ST_DOWN_KEYS:
		b->srv_tx = m->u.keys.tx;
		b->srv_rx = m->u.keys.rx;
		b->strict_flag = m->u.keys.strict;
		b->rekey_bytes = m->u.keys.rekey_bytes;
		b->nkeys++;
		break;
	case ST_DOWN_VERSION_LINE:
		snprintf(b->v_s, sizeof(b->v_s), "%.*s", (int)m->len, (const char *)m->data);
		break;
	case ST_DOWN_CLOSE:
		if (m->len > 0) {
			struct st_buf pb;
			uint8_t t;
			st_buf_from(&pb, m->data, m->len);
			if (st_buf_get_u8(&pb, &t) != 0 || t != SSH_MSG_DISCONNECT ||
			    st_buf_get_u32(&pb, &b->close_code) != 0 ||
			    st_buf_get_cstring(&pb, b->close_text, sizeof(b->close_text)) != 0)
				b->fatal = 1;
		}
		b->closed = 1;
		b->close_reason = m->u.closed.reason;
		break;
	case ST_DOWN_AUTHED:
		snprintf(b->authed_user, sizeof(b->authed_user), "%s", m->u.authed.user);
		break;
	case ST_DOWN_BIND_CHANNEL:
		if (m->u.bind.local_id < SC_CHANS) {
			memset(&b->ch[m->u.bind.local_id], 0, sizeof(b->ch[0]));
			b->ch[m->u.bind.local_id].bound = 1;
			b->ch[m->u.bind.local_id].remote_id = m->u.bind.remote_id;
		}
		break;
	case ST_DOWN_ATTACH_SERVICE:
		if (m->u.service.local_id < SC_CHANS) {
			struct sc_chan *ch = &b->ch[m->u.service.local_id];
			ch->attached = 1;
			ch->kind = m->u.service.kind;
			ch->source_bytes = m->u.service.source_bytes;
		}
		break;
	default:
		break;
	}
	if (b->downq_n >= SC_QUEUE) {
		b->fatal = 1;
		st_plane_msg_free(m);
		return ST_ERR_NO_SPACE;
	}
	b->downq[b->downq_n++] = m;
	return ST_OK;
}

static int bed_up_queue(void *ctx, struct st_plane_msg *m)
{
	struct sc_bed *b = ctx;
	if (b->upq_n >= SC_QUEUE) {
		b->fatal = 1;
		st_plane_msg_free(m);
		return ST_ERR_NO_SPACE;
	}
	b->upq[b->upq_n++] = m;
	return ST_OK;
}

static int bed_deliver(void *ctx, struct st_plane_msg *m)
{
	struct sc_bed *b = ctx;
	int r = ST_OK;

	if (b->ws != NULL)
		return bed_observe(b, m);
	switch (m->type) {
	case ST_DOWN_SEND:
		srv_seal(b, m->data, m->len);
		break;
	case ST_DOWN_KEYS:
		if (m->u.keys.strict)
			st_record_set_strict(&b->srec);
		b->srv_tx = m->u.keys.tx;
		b->srv_rx = m->u.keys.rx;
		b->strict_flag = m->u.keys.strict;
		b->rekey_bytes = m->u.keys.rekey_bytes;
		b->nkeys++;
		if (st_record_set_next_keys(&b->srec, &m->u.keys.tx, &m->u.keys.rx) != ST_OK)
			b->fatal = 1;
		break;
	case ST_DOWN_VERSION_LINE:
		snprintf(b->v_s, sizeof(b->v_s), "%.*s", (int)m->len, (const char *)m->data);
		break;
	case ST_DOWN_CLOSE:
		if (m->len > 0) {
			struct st_buf pb;
			uint8_t t;
			st_buf_from(&pb, m->data, m->len);
			if (st_buf_get_u8(&pb, &t) != 0 || t != SSH_MSG_DISCONNECT ||
			    st_buf_get_u32(&pb, &b->close_code) != 0 ||
			    st_buf_get_cstring(&pb, b->close_text, sizeof(b->close_text)) != 0)
				b->fatal = 1;
			if (st_record_send(&b->srec, m->data, m->len, &b->s2c) != ST_OK)
				b->fatal = 1;
		}
		b->closed = 1;
		b->close_reason = m->u.closed.reason;
		break;
	case ST_DOWN_AUTHED:
		snprintf(b->authed_user, sizeof(b->authed_user), "%s", m->u.authed.user);
		break;
	case ST_DOWN_BIND_CHANNEL:
		if (m->u.bind.local_id >= SC_CHANS || b->ch[m->u.bind.local_id].bound) {
			b->fatal = 1;
			break;
		}
		memset(&b->ch[m->u.bind.local_id], 0, sizeof(b->ch[0]));
		b->ch[m->u.bind.local_id].bound = 1;
		b->ch[m->u.bind.local_id].remote_id = m->u.bind.remote_id;
		break;
	case ST_DOWN_ATTACH_SERVICE: {
		struct sc_chan *ch;
		if (m->u.service.local_id >= SC_CHANS || !b->ch[m->u.service.local_id].bound) {
			b->fatal = 1;
			break;
		}
		ch = &b->ch[m->u.service.local_id];
		ch->attached = 1;
		ch->kind = m->u.service.kind;
		ch->source_bytes = m->u.service.source_bytes;
		memcpy(ch->name, m->u.service.name, sizeof(ch->name));
		memcpy(ch->host, m->u.service.host, sizeof(ch->host));
		ch->port = m->u.service.port;
		ch->prefix_len = m->len <= sizeof(ch->prefix) ? m->len : 0;
		if (ch->prefix_len > 0)
			memcpy(ch->prefix, m->data, ch->prefix_len);
		break;
	}
	default:
		b->fatal = 1;
		r = ST_ERR_INVALID_ARGUMENT;
		break;
	}
	st_plane_msg_free(m);
	return r;
}

static void bed_log(void *ctx, int level, const char *line)
{
	struct sc_bed *b = ctx;
	int n;

	(void)level;
	if (getenv("SC_VERBOSE") != NULL)
		fprintf(stderr, "    log: %s\n", line);
	n = snprintf(b->logbuf + b->loglen, sizeof(b->logbuf) - b->loglen, "%s\n", line);
	if (n > 0 && b->loglen + (size_t)n < sizeof(b->logbuf))
		b->loglen += (size_t)n;
}

int sc_log_has(const struct sc_bed *b, const char *s)
{
	return strstr(b->logbuf, s) != NULL;
}

static void up(struct sc_bed *b, struct st_plane_msg *m)
{
	if (m == NULL) {
		b->fatal = 1;
		return;
	}
	(void)st_ctl_conn_input(b->ctl, m);
}

/* Fast path for bound channels: echo loops DATA / EOF back, CLOSE is answered. */
static int fast_path(struct sc_bed *b, const uint8_t *p, size_t len)
{
	struct st_buf pb, ob;
	uint8_t t, out[40000];
	uint32_t id;
	const uint8_t *d;
	size_t dl;

	st_buf_from(&pb, p, len);
	if (st_buf_get_u8(&pb, &t) != 0 || st_buf_get_u32(&pb, &id) != 0 || id >= SC_CHANS ||
	    !b->ch[id].bound)
		return 0;
	st_buf_wrap(&ob, out, sizeof(out));
	switch (t) {
	case SSH_MSG_CHANNEL_DATA:
		if (st_buf_get_string(&pb, &d, &dl) != 0)
			return 0;
		if (b->ch[id].attached && b->ch[id].kind == ST_SERVICE_ECHO) {
			if (st_buf_put_u8(&ob, SSH_MSG_CHANNEL_DATA) == 0 &&
			    st_buf_put_u32(&ob, b->ch[id].remote_id) == 0 &&
			    st_buf_put_string(&ob, d, dl) == 0)
				srv_seal(b, st_buf_ptr(&ob), st_buf_avail(&ob));
		}
		return 1;
	case SSH_MSG_CHANNEL_CLOSE:
		if (st_buf_put_u8(&ob, SSH_MSG_CHANNEL_CLOSE) == 0 &&
		    st_buf_put_u32(&ob, b->ch[id].remote_id) == 0)
			srv_seal(b, st_buf_ptr(&ob), st_buf_avail(&ob));
		memset(&b->ch[id], 0, sizeof(b->ch[id]));
		{
			struct st_plane_msg *m =
				st_plane_msg_new(ST_UP_CHANNEL_CLOSED, bed_handle, NULL, 0);
			if (m != NULL)
				m->u.channel_closed.local_id = id;
			up(b, m);
		}
		return 1;
	case SSH_MSG_CHANNEL_WINDOW_ADJUST:
	case SSH_MSG_CHANNEL_EXTENDED_DATA:
	case SSH_MSG_CHANNEL_EOF:
		return 1;
	default:
		return 0;
	}
}

/* wsess mode: bytes in, queued plane messages both ways, bytes out. */
static int srv_wsess(struct sc_bed *b)
{
	int progress = 0;

	for (int loop = 0; loop < 100000; loop++) {
		int p = 0;
		if (st_buf_avail(&b->c2s) > 0) {
			size_t used = 0;
			(void)st_wsess_input(b->ws, st_buf_ptr(&b->c2s), st_buf_avail(&b->c2s), &used);
			if (used > 0) {
				st_buf_skip(&b->c2s, used);
				if (st_buf_avail(&b->c2s) == 0)
					st_buf_reset(&b->c2s);
				p = 1;
			}
		}
		while (b->upq_n > 0) {
			struct st_plane_msg *m = b->upq[0];
			memmove(b->upq, b->upq + 1, --b->upq_n * sizeof(b->upq[0]));
			if (m->type == ST_UP_CLOSED)
				b->closed_up = 1;
			(void)st_ctl_conn_input(b->ctl, m);
			p = 1;
		}
		while (b->downq_n > 0) {
			struct st_plane_msg *m = b->downq[0];
			memmove(b->downq, b->downq + 1, --b->downq_n * sizeof(b->downq[0]));
			(void)st_wsess_down(b->ws, m);
			p = 1;
		}
		const uint8_t *tx;
		size_t n;
		st_wsess_tx_peek(b->ws, &tx, &n);
		if (n > 0) {
			if (st_buf_put_bytes(&b->s2c, tx, n) != ST_OK) {
				b->fatal = 1;
				return progress;
			}
			st_wsess_tx_consume(b->ws, n);
			p = 1;
		}
		if (st_wsess_wants_pump(b->ws))
			(void)st_wsess_pump(b->ws);
		if (!p)
			break;
		progress = 1;
	}
	return progress;
}

static int srv_read(struct sc_bed *b)
{
	int progress = 0;

	if (b->ws != NULL)
		return srv_wsess(b);

	for (;;) {
		size_t used = 0;
		struct st_record_msg m;
		unsigned n = 0;

		if (st_buf_avail(&b->c2s) > 0) {
			st_record_feed(&b->srec, st_buf_ptr(&b->c2s), st_buf_avail(&b->c2s), &used);
			st_buf_skip(&b->c2s, used);
			if (st_buf_avail(&b->c2s) == 0)
				st_buf_reset(&b->c2s);
		}
		if (b->closed) /* the worker stops reading after CLOSE */
			return progress;
		if (st_record_read(&b->srec, &m, 1, &n) != ST_OK) {
			b->fatal = 1;
			b->closed = 1;
			b->close_reason = ST_CLOSE_MAC;
			return 1;
		}
		if (n == 0)
			return progress;
		progress = 1;
		if (m.payload[0] >= SSH_MSG_CHANNEL_WINDOW_ADJUST &&
		    m.payload[0] <= SSH_MSG_CHANNEL_CLOSE && fast_path(b, m.payload, m.len))
			continue;
		struct st_plane_msg *um = st_plane_msg_new(ST_UP_PAYLOAD, bed_handle, m.payload, m.len);
		if (um != NULL)
			um->u.payload.seq = m.seq;
		up(b, um);
	}
}

/* ---------------- client side transport ---------------- */

static int cli_read(struct sc_bed *b)
{
	int progress = 0;

	if (b->ws != NULL && !b->vs_stripped) {
		const uint8_t *p = st_buf_ptr(&b->s2c);
		size_t n = st_buf_avail(&b->s2c);
		const uint8_t *e = memchr(p, '\n', n);
		if (e == NULL)
			return 0;
		if (e == p || e[-1] != '\r' || (size_t)(e - p - 1) >= sizeof(b->v_s) ||
		    memcmp(p, b->v_s, (size_t)(e - p - 1)) != 0)
			b->fatal = 1;
		st_buf_skip(&b->s2c, (size_t)(e - p) + 1);
		b->vs_stripped = 1;
	}
	for (;;) {
		size_t used = 0;
		struct st_record_msg m;
		unsigned n = 0;

		if (st_buf_avail(&b->s2c) > 0) {
			st_record_feed(&b->crec, st_buf_ptr(&b->s2c), st_buf_avail(&b->s2c), &used);
			st_buf_skip(&b->s2c, used);
			if (st_buf_avail(&b->s2c) == 0)
				st_buf_reset(&b->s2c);
		}
		if (st_record_read(&b->crec, &m, 1, &n) != ST_OK) {
			b->fatal = 1;
			return 0;
		}
		if (n == 0)
			return progress;
		progress = 1;
		if (b->in_tail - b->in_head >= SC_INBOX) {
			b->fatal = 1;
			return 0;
		}
		uint8_t *c = malloc(m.len);
		if (c == NULL) {
			b->fatal = 1;
			return 0;
		}
		memcpy(c, m.payload, m.len);
		b->in[b->in_tail % SC_INBOX] = c;
		b->inlen[b->in_tail % SC_INBOX] = m.len;
		b->in_tail++;
	}
}

void sc_pump(struct sc_bed *b)
{
	for (int i = 0; i < 10000; i++) {
		int p = srv_read(b);
		p |= cli_read(b);
		if (b->closed && !b->closed_up && b->ws == NULL) {
			struct st_plane_msg *m = st_plane_msg_new(ST_UP_CLOSED, bed_handle, NULL, 0);
			b->closed_up = 1;
			if (m != NULL)
				m->u.closed.reason = b->close_reason;
			up(b, m);
			p = 1;
		}
		if (!p && b->idle != NULL)
			p = b->idle(b);
		if (!p)
			return;
	}
}

int sc_send(struct sc_bed *b, const void *payload, size_t len)
{
	int r = st_record_send(&b->crec, payload, len, &b->c2s);
	sc_pump(b);
	return r;
}

int sc_sendb(struct sc_bed *b, const struct st_buf *payload)
{
	return sc_send(b, st_buf_ptr(payload), st_buf_avail(payload));
}

static uint8_t *last_recv;

/* Removes inbox entry i (relative to head) and returns it (caller frees). */
static uint8_t *take_at(struct sc_bed *b, unsigned i, size_t *len)
{
	unsigned k = b->in_head + i;
	uint8_t *p = b->in[k % SC_INBOX];
	*len = b->inlen[k % SC_INBOX];
	for (; k > b->in_head; k--) {
		b->in[k % SC_INBOX] = b->in[(k - 1) % SC_INBOX];
		b->inlen[k % SC_INBOX] = b->inlen[(k - 1) % SC_INBOX];
	}
	b->in_head++;
	return p;
}

static void note_ext_info(struct sc_bed *b, const uint8_t *p, size_t len)
{
	struct st_buf pb;
	uint32_t n;
	char name[64], val[256];

	b->ext_info_seen = 1;
	st_buf_from(&pb, p + 1, len - 1);
	if (st_buf_get_u32(&pb, &n) != 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		if (st_buf_get_cstring(&pb, name, sizeof(name)) != 0 ||
		    st_buf_get_cstring(&pb, val, sizeof(val)) != 0)
			return;
		if (strcmp(name, "server-sig-algs") == 0)
			snprintf(b->server_sig_algs, sizeof(b->server_sig_algs), "%s", val);
	}
}

size_t sc_recv(struct sc_bed *b, const uint8_t **p)
{
	size_t len;

	free(last_recv);
	last_recv = NULL;
	sc_pump(b);
	while (b->in_head != b->in_tail) {
		uint8_t *m = take_at(b, 0, &len);
		if (m[0] == SSH_MSG_IGNORE || m[0] == SSH_MSG_DEBUG) {
			free(m);
			continue;
		}
		if (m[0] == SSH_MSG_EXT_INFO) {
			note_ext_info(b, m, len);
			free(m);
			continue;
		}
		last_recv = m;
		*p = m;
		return len;
	}
	return 0;
}

int sc_next_type(struct sc_bed *b)
{
	const uint8_t *p;
	size_t n = sc_recv(b, &p);
	return n == 0 ? -1 : p[0];
}

/*
 * Takes the first message of `type` from the inbox (other messages stay),
 * caller frees. ST_ERR_STATE when a DISCONNECT comes first or nothing arrives.
 */
static int take(struct sc_bed *b, uint8_t type, uint8_t **p, size_t *len)
{
	sc_pump(b);
	for (unsigned i = 0; b->in_head + i != b->in_tail; i++) {
		uint8_t t = b->in[(b->in_head + i) % SC_INBOX][0];
		if (t == type) {
			*p = take_at(b, i, len);
			return ST_OK;
		}
		if (t == SSH_MSG_DISCONNECT)
			return ST_ERR_STATE;
		if (t == SSH_MSG_EXT_INFO) {
			size_t l;
			uint8_t *m = take_at(b, i, &l);
			note_ext_info(b, m, l);
			free(m);
			i--;
		}
	}
	return ST_ERR_STATE;
}

/* Records, buffers and the control connection of a bed (b zeroed, cfg set). */
static int bed_setup(struct sc_bed *b)
{
	struct st_plane_sink sink = {bed_deliver, b};
	struct st_ctl_log log = {bed_log, b};
	int r;

	if ((r = st_record_init(&b->srec, &st_crypto_backend_evp, 0)) != 0 ||
	    (r = st_record_init(&b->crec, &st_crypto_backend_evp, 0)) != 0 ||
	    (r = st_buf_alloc(&b->c2s, 4096, 256u << 20)) != 0 ||
	    (r = st_buf_alloc(&b->s2c, 4096, 256u << 20)) != 0 ||
	    (r = st_buf_alloc(&b->i_c, 1024, 65536)) != 0 ||
	    (r = st_buf_alloc(&b->i_s, 1024, 65536)) != 0)
		return r;
	if ((b->ctl = st_ctl_conn_new(b->cfg, bed_handle, &sink, &log, &b->stats)) == NULL)
		return ST_ERR_ALLOC;
	st_ctl_conn_tick(b->ctl, 1000);
	return ST_OK;
}

/* The real worker session between the byte streams and the control plane. */
static int bed_worker(struct sc_bed *b)
{
	struct st_plane_sink ups = {bed_up_queue, b};
	struct st_wsess_config wc = {.be = &st_crypto_backend_evp};
	int r;

	if ((b->ws = calloc(1, sizeof(*b->ws))) == NULL ||
	    (b->wstats = calloc(1, sizeof(*b->wstats))) == NULL)
		return ST_ERR_ALLOC;
	if ((r = st_wsess_init(b->ws, &wc, bed_handle, &ups, b->wstats, 0)) != 0) {
		free(b->ws);
		b->ws = NULL;
		return r;
	}
	return st_wsess_open(b->ws, "192.0.2.7", 50022, "198.18.0.1", 22);
}

int sc_bed_init(struct sc_bed *b, const struct st_ctl_config *cfg, const struct sc_opts *o)
{
	struct st_plane_msg *m;
	int r;

	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	if (o != NULL)
		b->o = *o;
	if ((r = bed_setup(b)) != 0)
		return r;
	snprintf(b->v_c, sizeof(b->v_c), "%s",
		 b->o.version != NULL ? b->o.version : "SSH-2.0-sctest_1.0");
	if (b->o.wsess) {
		if ((r = bed_worker(b)) != 0)
			return r;
		st_buf_put_bytes(&b->c2s, b->v_c, strlen(b->v_c));
		st_buf_put_bytes(&b->c2s, "\r\n", 2);
		sc_pump(b);
		return ST_OK;
	}
	if ((m = st_plane_msg_new(ST_UP_OPEN, bed_handle, NULL, 0)) == NULL)
		return ST_ERR_ALLOC;
	snprintf(m->u.open.peer_ip, sizeof(m->u.open.peer_ip), "192.0.2.7");
	snprintf(m->u.open.local_ip, sizeof(m->u.open.local_ip), "198.18.0.1");
	m->u.open.peer_port = 50022;
	m->u.open.local_port = 22;
	up(b, m);
	if ((m = st_plane_msg_new(ST_UP_VERSION, bed_handle, b->v_c, (uint32_t)strlen(b->v_c))) ==
	    NULL)
		return ST_ERR_ALLOC;
	up(b, m);
	sc_pump(b);
	return ST_OK;
}

int sc_server_init(struct sc_bed *b, const struct st_ctl_config *cfg)
{
	int r;

	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->o.wsess = 1;
	b->vs_stripped = 1; /* the test's client reads the version line itself */
	if ((r = bed_setup(b)) != 0)
		return r;
	return bed_worker(b);
}

int sc_server_pump(struct sc_bed *b)
{
	return srv_wsess(b);
}

void sc_bed_free(struct sc_bed *b)
{
	if (b->ws != NULL) {
		if (!b->closed_up)
			st_wsess_peer_gone(b->ws);
		st_wsess_free(b->ws);
		/* hand the worker's last messages (CLOSED) to the control plane */
		while (b->upq_n > 0) {
			struct st_plane_msg *m = b->upq[0];
			memmove(b->upq, b->upq + 1, --b->upq_n * sizeof(b->upq[0]));
			if (m->type == ST_UP_CLOSED)
				b->closed_up = 1;
			if (b->ctl != NULL)
				(void)st_ctl_conn_input(b->ctl, m);
			else
				st_plane_msg_free(m);
		}
		for (unsigned i = 0; i < b->downq_n; i++)
			st_plane_msg_free(b->downq[i]);
		b->downq_n = 0;
		free(b->ws);
		free(b->wstats);
		b->ws = NULL;
		b->wstats = NULL;
	}
	if (b->ctl != NULL && !b->closed_up) {
		struct st_plane_msg *m = st_plane_msg_new(ST_UP_CLOSED, bed_handle, NULL, 0);
		if (m != NULL)
			m->u.closed.reason = ST_CLOSE_PEER;
		b->closed_up = 1;
		up(b, m);
	}
	st_ctl_conn_free(b->ctl);
	b->ctl = NULL;
	for (unsigned i = 0; i < b->nhold; i++)
		st_plane_msg_free(b->hold[i]);
	b->nhold = 0;
	while (b->in_head != b->in_tail) {
		free(b->in[b->in_head % SC_INBOX]);
		b->in_head++;
	}
	free(last_recv);
	last_recv = NULL;
	st_record_free(&b->srec);
	st_record_free(&b->crec);
	st_buf_free(&b->c2s);
	st_buf_free(&b->s2c);
	st_buf_free(&b->i_c);
	st_buf_free(&b->i_s);
	st_wipe(&b->srv_tx, sizeof(b->srv_tx));
	st_wipe(&b->srv_rx, sizeof(b->srv_rx));
	st_wipe(&b->cli_tx, sizeof(b->cli_tx));
	st_wipe(&b->cli_rx, sizeof(b->cli_rx));
}

int sc_rekey_due(struct sc_bed *b)
{
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_REKEY_DUE, bed_handle, NULL, 0);
	if (m == NULL)
		return ST_ERR_ALLOC;
	up(b, m);
	sc_pump(b);
	return ST_OK;
}

/* ---------------- client key exchange ---------------- */

/* The client's cipher / MAC list for c2s (s2c = 0) or s2c (s2c = 1). */
static const char *cli_cipher(const struct sc_bed *b, int s2c)
{
	if (s2c && b->o.cipher_s2c != NULL)
		return b->o.cipher_s2c;
	return b->o.cipher ? b->o.cipher : "aes128-gcm@openssh.com";
}

static const char *cli_mac(const struct sc_bed *b, int s2c)
{
	if (s2c && b->o.mac_s2c != NULL)
		return b->o.mac_s2c;
	return b->o.mac ? b->o.mac : "hmac-sha2-256";
}

/* The test's lists in the engine's form; kexbuf holds the kex list. */
static void cli_algs(const struct sc_bed *b, struct st_sshc_algs *a, char *kexbuf, size_t sz)
{
	snprintf(kexbuf, sz, "%s%s", b->o.guess_wrong ? "diffie-hellman-group1-sha1," : "",
		 b->o.kex ? b->o.kex : "curve25519-sha256");
	a->kex = kexbuf;
	a->hostkey = b->o.hostkey_alg ? b->o.hostkey_alg : "ssh-ed25519";
	a->cipher_c2s = cli_cipher(b, 0);
	a->cipher_s2c = cli_cipher(b, 1);
	a->mac_c2s = cli_mac(b, 0);
	a->mac_s2c = cli_mac(b, 1);
	a->comp_c2s = b->o.comp_c2s ? b->o.comp_c2s : "none,zlib@openssh.com";
	a->comp_s2c = b->o.comp_s2c ? b->o.comp_s2c : "none";
}

static int cli_kexinit(struct sc_bed *b, int initial)
{
	struct st_sshc_algs a;
	char kex[512];
	unsigned flags = (b->o.ext_info ? ST_SSHC_KEXINIT_EXT_INFO : 0) |
			 (b->o.strict ? ST_SSHC_KEXINIT_STRICT : 0) |
			 (b->o.guess_wrong || b->o.guess_not_first ? ST_SSHC_KEXINIT_FOLLOWS : 0);

	cli_algs(b, &a, kex, sizeof(kex));
	st_buf_reset(&b->i_c);
	return st_sshc_kexinit_build(&a, initial, flags, &b->i_c);
}

int cli_kexinit_send(struct sc_bed *b)
{
	int r;
	if ((r = cli_kexinit(b, 1)) != 0)
		return r;
	return sc_sendb(b, &b->i_c);
}

int sc_kex(struct sc_bed *b, int initial)
{
	uint8_t *skx = NULL, *rep = NULL, *nk = NULL;
	size_t skx_len, rep_len, nk_len;
	struct st_sshc_algs a;
	struct st_sshc_neg neg;
	struct st_sshc_kex_state kx = {0};
	struct st_sshc_kex_result res = {0};
	struct st_buf out;
	const char *what;
	char kex[512];
	uint8_t obuf[ST_KEX_PUBLIC_MAX + 64];
	int r;

	cli_algs(b, &a, kex, sizeof(kex));
	if (b->o.guess_wrong)
		a.kex = b->o.kex ? b->o.kex : "curve25519-sha256"; /* negotiate without the bait */
	if ((r = cli_kexinit(b, initial)) != 0 || (r = sc_sendb(b, &b->i_c)) != 0)
		goto out;
	if (b->o.guess_wrong || b->o.guess_not_first) {
		static const uint8_t guess[] = {SSH_MSG_KEX_ECDH_INIT, 0, 0, 0, 3, 'b', 'a', 'd'};
		if ((r = sc_send(b, guess, sizeof(guess))) != 0)
			goto out;
	}
	if ((r = take(b, SSH_MSG_KEXINIT, &skx, &skx_len)) != 0)
		goto out;
	st_buf_reset(&b->i_s);
	if ((r = st_buf_put_bytes(&b->i_s, skx, skx_len)) != 0 ||
	    (r = st_sshc_kex_negotiate(&a, skx, skx_len, initial, &neg, &what)) != 0)
		goto out;
	if (initial && b->o.strict) {
		if (!neg.strict) {
			r = ST_ERR_ALG_UNSUPPORTED;
			goto out;
		}
		st_record_set_strict(&b->crec);
	}
	snprintf(b->neg_hostkey_alg, sizeof(b->neg_hostkey_alg), "%s",
		 st_sig_alg_name(neg.hostkey_alg));
	st_buf_wrap(&out, obuf, sizeof(obuf));
	if ((r = st_sshc_kex_init(&neg, &kx, &out)) != 0 || (r = sc_sendb(b, &out)) != 0)
		goto out;
	if ((r = take(b, SSH_MSG_KEX_ECDH_REPLY, &rep, &rep_len)) != 0)
		goto out;
	{
		struct st_kex_transcript t = {b->v_c, b->v_s, st_buf_ptr(&b->i_c), st_buf_ptr(&b->i_s),
					      st_buf_avail(&b->i_c), st_buf_avail(&b->i_s)};
		if ((r = st_sshc_kex_finish(&neg, &kx, &t, rep, rep_len, b->sid, b->sid_len,
					    &res)) != 0)
			goto out;
	}
	if (b->expect_hostkey != NULL && !st_key_equal_public(res.hostkey, b->expect_hostkey)) {
		r = ST_ERR_KEY_INVALID;
		goto out;
	}
	if (b->sid_len == 0) {
		memcpy(b->sid, res.h, res.h_len);
		b->sid_len = res.h_len;
		memcpy(b->hostkey_blob, res.hostkey_blob, res.hostkey_blob_len);
		b->hostkey_blob_len = res.hostkey_blob_len;
	}
	b->cli_tx = res.c2s;
	b->cli_rx = res.s2c;
	if ((r = st_record_set_next_keys(&b->crec, &b->cli_tx, &b->cli_rx)) != 0)
		goto out;
	{
		uint8_t n1[2] = {SSH_MSG_NEWKEYS, 0};
		if ((r = sc_send(b, n1, b->o.newkeys_trailing ? 2 : 1)) != 0)
			goto out;
	}
	if ((r = take(b, SSH_MSG_NEWKEYS, &nk, &nk_len)) != 0)
		goto out;
	r = nk_len == 1 ? ST_OK : ST_ERR_TRAILING;
out:
	st_sshc_kex_state_clear(&kx);
	st_sshc_kex_result_clear(&res);
	free(skx);
	free(rep);
	free(nk);
	return r;
}

int sc_handshake(struct sc_bed *b)
{
	int r = sc_kex(b, 1);
	if (r != 0)
		return r;
	if (memcmp(&b->cli_tx, &b->srv_rx, sizeof(b->cli_tx)) != 0 ||
	    memcmp(&b->cli_rx, &b->srv_tx, sizeof(b->cli_rx)) != 0)
		return ST_ERR_INTERNAL;
	return b->fatal ? ST_ERR_INTERNAL : ST_OK;
}

/* ---------------- user auth ---------------- */

int sc_service_userauth(struct sc_bed *b)
{
	uint8_t buf[64];
	struct st_buf o;

	st_buf_wrap(&o, buf, sizeof(buf));
	if (st_buf_put_u8(&o, SSH_MSG_SERVICE_REQUEST) != 0 ||
	    st_buf_put_cstring(&o, "ssh-userauth") != 0 || sc_sendb(b, &o) != 0)
		return -1;
	return sc_next_type(b);
}

int sc_auth_none(struct sc_bed *b, const char *user)
{
	uint8_t buf[512];
	struct st_buf o;

	st_buf_wrap(&o, buf, sizeof(buf));
	if (st_buf_put_u8(&o, SSH_MSG_USERAUTH_REQUEST) != 0 || st_buf_put_cstring(&o, user) != 0 ||
	    st_buf_put_cstring(&o, "ssh-connection") != 0 || st_buf_put_cstring(&o, "none") != 0 ||
	    sc_sendb(b, &o) != 0)
		return -1;
	return sc_next_type(b);
}

/* Replaces the type string at the front of a key blob with `type`. */
static int rename_blob(struct st_buf *blob, const char *type)
{
	uint8_t tmp[8192];
	struct st_buf t;
	const uint8_t *name;
	size_t nl, rest;
	int r;

	if ((r = st_buf_get_string(blob, &name, &nl)) != 0)
		return r;
	rest = st_buf_avail(blob);
	st_buf_wrap(&t, tmp, sizeof(tmp));
	if ((r = st_buf_put_cstring(&t, type)) != 0 ||
	    (r = st_buf_put_bytes(&t, st_buf_ptr(blob), rest)) != 0)
		return r;
	st_buf_reset(blob);
	return st_buf_put_bytes(blob, tmp, t.len);
}

int sc_build_pubkey(struct sc_bed *b, struct st_buf *out, const char *user,
		    const struct st_key *key, const char *alg, enum sc_auth_mode mode)
{
	struct st_sshc_pubkey_req q;
	struct st_buf blob;
	uint8_t sid[ST_HASH_MAX_LEN];
	int r;

	memset(&blob, 0, sizeof(blob));
	memset(&q, 0, sizeof(q));
	/* a signature "over other data": the same request signed for another session */
	memcpy(sid, b->sid, sizeof(sid));
	if (mode == SC_AUTH_BADSIG)
		sid[0] ^= 1;
	q.sid = sid;
	q.sid_len = b->sid_len;
	q.user = user;
	q.key = key;
	q.alg = alg;
	q.sign = mode != SC_AUTH_QUERY;
	if (mode == SC_AUTH_HOSTBOUND) {
		q.hostkey = b->hostkey_blob;
		q.hostkey_len = b->hostkey_blob_len;
	}
	if (b->o.pk_blob_type != NULL) {
		if ((r = st_buf_alloc(&blob, 256, 8192)) != 0 || (r = st_key_to_blob(key, &blob)) != 0 ||
		    (r = rename_blob(&blob, b->o.pk_blob_type)) != 0)
			goto out;
		q.blob = st_buf_ptr(&blob);
		q.blob_len = st_buf_avail(&blob);
	}
	r = st_sshc_auth_pubkey_build(&q, out);
out:
	st_buf_free(&blob);
	return r;
}

int sc_auth_pubkey(struct sc_bed *b, const char *user, const struct st_key *key,
		   const char *alg, enum sc_auth_mode mode)
{
	struct st_buf o;
	int t = -1;

	if (st_buf_alloc(&o, 1024, 65536) != 0)
		return -1;
	if (sc_build_pubkey(b, &o, user, key, alg, mode) == 0 && sc_sendb(b, &o) == 0)
		t = sc_next_type(b);
	st_buf_free(&o);
	return t;
}

int sc_login(struct sc_bed *b, const char *user, const struct st_key *key, const char *alg)
{
	int r;

	if ((r = sc_handshake(b)) != 0)
		return r;
	if (sc_service_userauth(b) != SSH_MSG_SERVICE_ACCEPT)
		return ST_ERR_STATE;
	if (sc_auth_pubkey(b, user, key, alg, SC_AUTH_SIGN) != SSH_MSG_USERAUTH_SUCCESS)
		return ST_ERR_STATE;
	return ST_OK;
}

/* ---------------- channels ---------------- */

int sc_open_session(struct sc_bed *b, uint32_t cid, uint32_t *server_id)
{
	uint8_t buf[64];
	struct st_buf o, pb;
	const uint8_t *p;
	size_t n;
	uint32_t rid, sid;

	st_buf_wrap(&o, buf, sizeof(buf));
	if (st_buf_put_u8(&o, SSH_MSG_CHANNEL_OPEN) != 0 || st_buf_put_cstring(&o, "session") != 0 ||
	    st_buf_put_u32(&o, cid) != 0 || st_buf_put_u32(&o, 1u << 20) != 0 ||
	    st_buf_put_u32(&o, 32768) != 0 || sc_sendb(b, &o) != 0)
		return -1;
	if ((n = sc_recv(b, &p)) == 0)
		return -1;
	if (p[0] == SSH_MSG_CHANNEL_OPEN_CONFIRMATION) {
		st_buf_from(&pb, p + 1, n - 1);
		if (st_buf_get_u32(&pb, &rid) != 0 || st_buf_get_u32(&pb, &sid) != 0 || rid != cid)
			return -1;
		*server_id = sid;
	}
	return p[0];
}

int sc_chan_request(struct sc_bed *b, uint32_t server_id, const char *type, const char *arg,
		    int want_reply)
{
	uint8_t buf[1024];
	struct st_buf o;

	st_buf_wrap(&o, buf, sizeof(buf));
	if (st_buf_put_u8(&o, SSH_MSG_CHANNEL_REQUEST) != 0 || st_buf_put_u32(&o, server_id) != 0 ||
	    st_buf_put_cstring(&o, type) != 0 || st_buf_put_bool(&o, want_reply) != 0 ||
	    (arg != NULL && st_buf_put_cstring(&o, arg) != 0) || sc_sendb(b, &o) != 0)
		return -1;
	if (!want_reply)
		return 0;
	return sc_next_type(b);
}

/* ---------------- fixture ---------------- */

const char *const sc_all_kex[SC_N_KEX] = {
	"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
	"diffie-hellman-group16-sha512", "diffie-hellman-group14-sha256",
	"mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
};
const char *const sc_all_hostkey[SC_N_HOSTKEY] = {"ssh-ed25519", "ecdsa-sha2-nistp256",
						   "rsa-sha2-512", "rsa-sha2-256"};
const char *const sc_all_cipher[SC_N_CIPHER] = {
	"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
	"aes128-ctr", "aes256-ctr",
};
const char *const sc_all_mac[SC_N_MAC] = {"hmac-sha2-256", "hmac-sha2-512",
					  "hmac-sha2-256-etm@openssh.com",
					  "hmac-sha2-512-etm@openssh.com"};

int sc_fixture_init(struct sc_fixture *f)
{
	struct st_key *k;
	char pat[128];
	int r;

	memset(f, 0, sizeof(*f));
	st_ctl_config_init(&f->cfg);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sshterm-ctl-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return ST_ERR_SYSTEM;
	static const enum st_key_type types[] = {ST_KEY_ED25519, ST_KEY_ECDSA_P256, ST_KEY_RSA};
	for (int i = 0; i < 3; i++) {
		if ((r = st_key_generate(types[i], 2048, &k)) != 0)
			return r;
		if ((r = st_ctl_config_add_hostkey(&f->cfg, k)) != 0) {
			st_key_free(k);
			return r;
		}
	}
	if ((r = st_key_generate(ST_KEY_ED25519, 0, &f->user_ed)) != 0 ||
	    (r = st_key_generate(ST_KEY_ECDSA_P256, 0, &f->user_ec)) != 0 ||
	    (r = st_key_generate(ST_KEY_RSA, 2048, &f->user_rsa)) != 0 ||
	    (r = st_key_generate(ST_KEY_ED25519, 0, &f->user_other)) != 0)
		return r;
	snprintf(pat, sizeof(pat), "%s/%%u.keys", f->dir);
	if ((r = st_ctl_config_set_authorized_keys_file(&f->cfg, pat)) != 0)
		return r;
	if ((r = sc_authkey_add(f, "alice", NULL, f->user_ed, 0)) != 0 ||
	    (r = sc_authkey_add(f, "alice", NULL, f->user_ec, 1)) != 0 ||
	    (r = sc_authkey_add(f, "alice", NULL, f->user_rsa, 1)) != 0)
		return r;
	return ST_OK;
}

void sc_fixture_free(struct sc_fixture *f)
{
	char cmd[128];

	st_ctl_config_free(&f->cfg);
	st_key_free(f->user_ed);
	st_key_free(f->user_ec);
	st_key_free(f->user_rsa);
	st_key_free(f->user_other);
	if (f->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", f->dir);
	}
}

int sc_authkey_add(struct sc_fixture *f, const char *user, const char *opts,
		   const struct st_key *k, int append)
{
	char path[256], line[20000];
	FILE *fp;
	int r;

	snprintf(path, sizeof(path), "%s/%s.keys", f->dir, user);
	if ((r = st_key_format_public_line(k, "test", line, sizeof(line))) != 0)
		return r;
	if ((fp = fopen(path, append ? "a" : "w")) == NULL)
		return ST_ERR_SYSTEM;
	fprintf(fp, "%s%s%s\n", opts ? opts : "", opts ? " " : "", line);
	fclose(fp);
	return ST_OK;
}
