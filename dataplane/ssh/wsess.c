#include "dataplane/ssh/wsess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/proxyhdr.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

const char *st_wsess_drop_str(enum st_wsess_drop d)
{
	switch (d) {
#define ST_WDROP_CASE(name, text) \
	case name:                \
		return text;
		ST_WSESS_DROPS(ST_WDROP_CASE)
#undef ST_WDROP_CASE
	default:
		return "unknown";
	}
}

static void do_close(struct st_wsess *s, enum st_close_reason reason, int err,
		     uint32_t disc_code, const char *desc);

static void drop(struct st_wsess *s, enum st_wsess_drop d)
{
	s->ws->drops[d]++;
}

/* ---- up messages ---- */

static int up_deliver(struct st_wsess *s, struct st_plane_msg *m)
{
	if (s->up_room != UINT32_MAX && s->up_room > 0)
		s->up_room--; /* one packet's worth of the owner's credit */
	if (m == NULL || st_plane_deliver(&s->up, m) != ST_OK) {
		drop(s, ST_WDROP_UP_FAILED);
		if (s->state != ST_WSESS_CLOSING)
			do_close(s, ST_CLOSE_RESOURCES, ST_ERR_NO_SPACE, 0, NULL);
		return ST_ERR_NO_SPACE;
	}
	return ST_OK;
}

static int up_simple(struct st_wsess *s, enum st_plane_type type, const void *data, uint32_t len)
{
	return up_deliver(s, st_plane_msg_new(type, s->handle, data, len));
}

static void send_closed(struct st_wsess *s)
{
	struct st_plane_msg *m;

	if (s->closed_sent)
		return;
	s->closed_sent = 1;
	m = st_plane_msg_new(ST_UP_CLOSED, s->handle, NULL, 0);
	if (m == NULL) {
		drop(s, ST_WDROP_UP_FAILED);
		return;
	}
	m->u.closed.reason = s->reason;
	m->u.closed.err = s->close_err;
	if (st_plane_deliver(&s->up, m) != ST_OK)
		drop(s, ST_WDROP_UP_FAILED);
}

/* ---- tx buffer: the place packets are sealed into ---- */

/*
 * Framed packets not sealed yet: one burst, of one session at a time, per
 * thread (a worker serves one session at a time, and every st_wsess_* call
 * flushes its own before it returns, so the batch never outlives a call).
 */
#define TX_BATCH ST_RECORD_BURST
struct tx_batch {
	struct st_wsess *owner;
	unsigned n;
	uint32_t start_len; /* internal tx buffer: tx_len before the first one */
	uint32_t wire[TX_BATCH];
	struct st_pkt pk[TX_BATCH];
};
static _Thread_local struct tx_batch txb;

/*
 * Seals (or, on an asynchronous direction, submits) the batch if it is this
 * session's. On failure the unsealed bytes are wiped (and dropped from the
 * internal tx buffer): plaintext never goes out.
 */
static int tx_flush(struct st_wsess *s)
{
	struct tx_batch *b = &txb;
	unsigned n = b->n;
	int r;

	if (b->owner != s || n == 0)
		return ST_OK;
	b->n = 0;
	b->owner = NULL;
	if (s->tx_ops.submit != NULL && st_record_tx_async(&s->rec))
		r = s->tx_ops.submit(s->tx_ops.ctx, b->pk, n);
	else
		r = st_record_seal_framed(&s->rec, b->pk, n);
	if (r != ST_OK) {
		for (unsigned i = 0; i < n; i++)
			st_wipe(b->pk[i].buf, b->wire[i]);
		if (s->tx_ops.reserve == NULL)
			s->tx_len = b->start_len;
	}
	return r;
}

/* Every packet framed so far holds its place in the key stream (sealed or enqueued). */
static int tx_settle(struct st_wsess *s)
{
	int r;

	if ((r = tx_flush(s)) != ST_OK)
		return r;
	if (s->tx_ops.settle != NULL && st_record_tx_async(&s->rec))
		return s->tx_ops.settle(s->tx_ops.ctx);
	return ST_OK;
}

static void tx_fail(struct st_wsess *s, int r)
{
	if (s->rec.dead == ST_OK)
		s->rec.dead = r; /* no DISCONNECT sealed over a broken send direction */
	do_close(s, ST_CLOSE_INTERNAL, r, 0, NULL);
}

/* The end of an st_wsess_* call: what was framed is sealed now. */
static void tx_flush_end(struct st_wsess *s)
{
	int r;

	if (txb.owner == s && (r = tx_flush(s)) != ST_OK)
		tx_fail(s, r);
}

/* Another session's batch goes first (one batch per thread). */
static void tx_flush_other(struct st_wsess *s)
{
	struct st_wsess *o = txb.owner;

	if (o != NULL && o != s)
		tx_flush_end(o);
}

/* Room for `need` wire bytes: the caller's buffers (tx_ops) or the internal tx buffer. */
static int tx_reserve(struct st_wsess *s, size_t need, uint8_t **buf)
{
	int r;

	s->tx_scratch = 0;
	if (s->tx_ops.reserve != NULL) {
		r = s->tx_ops.reserve(s->tx_ops.ctx, need, buf);
		if (r == ST_WSESS_RES_SCRATCH) {
			s->tx_scratch = 1;
			return ST_OK;
		}
		if (r != ST_OK)
			return r == ST_ERR_NO_SPACE ? r : ST_ERR_NO_SPACE;
		return ST_OK;
	}
	if (s->tx_cap - s->tx_len < need && s->tx_off > 0) {
		/* Framed packets move with the bytes: seal them first. */
		if ((r = tx_flush(s)) != ST_OK)
			return r;
		memmove(s->tx, s->tx + s->tx_off, s->tx_len - s->tx_off);
		s->tx_len -= s->tx_off;
		s->tx_off = 0;
	}
	if (s->tx_cap - s->tx_len < need)
		return ST_ERR_NO_SPACE;
	*buf = s->tx + s->tx_len;
	if (s->tx_len + need > s->tx_hwm)
		s->tx_hwm = (uint32_t)(s->tx_len + need);
	return ST_OK;
}

/* `n` wire bytes were written at the buffer from tx_reserve; the mbuf holding them, or NULL. */
static void *tx_produced(struct st_wsess *s, size_t n)
{
	if (s->tx_ops.reserve != NULL) {
		s->st.bytes_out += n;
		return s->tx_ops.produced(s->tx_ops.ctx, n);
	}
	s->tx_len += (uint32_t)n;
	return NULL;
}

static int tx_begin(struct st_wsess *s, size_t max, uint8_t **p)
{
	size_t need = st_record_seal_size(&s->rec, max);
	int r;

	if (max == 0 || max > s->rec.max_packet)
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = tx_reserve(s, need, &s->tx_buf)) != ST_OK)
		return r;
	s->tx_pending = (uint32_t)need;
	*p = s->tx_buf + ST_RECORD_PAYLOAD_OFFSET;
	return ST_OK;
}

static int tx_commit(struct st_wsess *s, size_t len)
{
	struct st_record_out o;
	struct st_pkt pk;
	uint8_t type;
	int r;

	if (s->tx_pending == 0 || len == 0 ||
	    st_record_seal_size(&s->rec, len) > s->tx_pending)
		return ST_ERR_INTERNAL;
	o.buf = s->tx_buf;
	o.cap = s->tx_pending;
	o.payload_len = (uint32_t)len;
	o.wire_len = 0;
	type = o.buf[ST_RECORD_PAYLOAD_OFFSET];
	s->tx_pending = 0;
	tx_flush_other(s);
	if ((r = st_record_frame(&s->rec, &o, &pk)) != ST_OK)
		return r;
	if (s->tx_scratch) {
		/* The owner copies scratch out at produced(): seal it now, after
		 * everything framed before it. */
		s->tx_scratch = 0;
		if ((r = tx_settle(s)) != ST_OK || (r = st_record_seal_framed(&s->rec, &pk, 1)) != ST_OK) {
			st_wipe(o.buf, o.wire_len);
			return r;
		}
		(void)tx_produced(s, o.wire_len);
	} else {
		uint32_t before = s->tx_len;
		pk.mbuf = tx_produced(s, o.wire_len);
		if (txb.n == 0)
			txb.start_len = before;
		txb.owner = s;
		txb.wire[txb.n] = o.wire_len;
		txb.pk[txb.n++] = pk;
	}
	s->st.packets_out++;
	if (type == SSH_MSG_NEWKEYS) {
		/* What the old keys cover is sealed (or on the device) before they go. */
		if ((r = tx_settle(s)) != ST_OK || (r = st_record_tx_switch(&s->rec)) != ST_OK)
			return r;
	} else if (txb.n == TX_BATCH && (r = tx_flush(s)) != ST_OK) {
		return r;
	}
	if (type == SSH_MSG_KEXINIT) {
		s->kex_tx = 1;
	} else if (type == SSH_MSG_NEWKEYS) {
		s->kex_tx = 0;
		s->keyed = 1;
		s->rekey_sent = 0;
		s->epoch_ms = s->now_ms;
		s->st.kex_done++;
	}
	return ST_OK;
}

static int send_payload(struct st_wsess *s, const uint8_t *data, size_t len)
{
	uint8_t *p;
	int r;

	if ((r = tx_begin(s, len, &p)) != ST_OK)
		return r;
	memcpy(p, data, len);
	return tx_commit(s, len);
}

/* Channel layer's view of tx: closed while our kex runs or SENDs wait. */
static int chan_begin(void *ctx, size_t max, uint8_t **p)
{
	struct st_wsess *s = ctx;

	if (s->state != ST_WSESS_RUNNING || s->kex_tx || s->n_hold > 0)
		return ST_ERR_NO_SPACE;
	return tx_begin(s, max, p);
}

static int chan_commit(void *ctx, size_t len)
{
	struct st_wsess *s = ctx;
	int r = tx_commit(s, len);

	if (r != ST_OK)
		s->chan_tx_failed = 1; /* an input error then is ours, not the peer's */
	return r;
}

static void chan_closed(void *ctx, uint32_t local_id)
{
	struct st_wsess *s = ctx;
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_CHANNEL_CLOSED, s->handle, NULL, 0);

	s->st.channels_closed++;
	if (m != NULL)
		m->u.channel_closed.local_id = local_id;
	up_deliver(s, m);
}

/* A deferred direct-tcpip channel could not reach its target: the control
 * plane turns this into OPEN_FAILURE (CONNECT_FAILED) and frees the id. */
static void chan_connect_failed(void *ctx, uint32_t local_id, int err)
{
	struct st_wsess *s = ctx;
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_BACKEND_FAILED, s->handle, NULL, 0);

	s->st.channels_closed++;
	if (m != NULL) {
		m->u.backend.local_id = local_id;
		m->u.backend.err = err;
	}
	up_deliver(s, m);
}

/* ---- closing ---- */

static void send_disconnect(struct st_wsess *s, uint32_t code, const char *desc)
{
	uint8_t m[1 + 4 + 4 + 128 + 4];
	size_t dl = strlen(desc);
	int dead = s->rec.dead;

	if (dl > 128)
		dl = 128;
	m[0] = SSH_MSG_DISCONNECT;
	st_poke_u32(m + 1, code);
	st_poke_u32(m + 5, (uint32_t)dl);
	memcpy(m + 9, desc, dl);
	st_poke_u32(m + 9 + dl, 0); /* language tag */
	/* A receive-side failure (bad MAC, bad length) leaves the send direction
	 * intact: seal the DISCONNECT with it. Never after a crypto failure. */
	if (dead == ST_ERR_CRYPTO)
		return;
	s->rec.dead = ST_OK;
	(void)send_payload(s, m, 9 + dl + 4);
	s->rec.dead = dead;
}

static void do_close(struct st_wsess *s, enum st_close_reason reason, int err,
		     uint32_t disc_code, const char *desc)
{
	if (s->state == ST_WSESS_CLOSING)
		return;
	if (disc_code != 0 && s->state == ST_WSESS_RUNNING && !s->peer_gone)
		send_disconnect(s, disc_code, desc);
	s->state = ST_WSESS_CLOSING;
	s->reason = reason;
	s->close_err = err;
	s->ws->closes[reason]++;
	for (unsigned i = 0; i < s->n_hold; i++)
		st_plane_msg_free(s->hold[i]);
	s->n_hold = 0;
	s->hold_bytes = 0;
	st_chan_table_free(&s->chans);
	send_closed(s);
}

static void close_now(struct st_wsess *s, enum st_close_reason reason, int err);

void st_wsess_close(struct st_wsess *s, enum st_close_reason reason, int err)
{
	close_now(s, reason, err);
	tx_flush_end(s);
}

static void close_now(struct st_wsess *s, enum st_close_reason reason, int err)
{
	uint32_t code = reason == ST_CLOSE_SHUTDOWN || reason == ST_CLOSE_ADMIN
				? SSH_DISCONNECT_BY_APPLICATION
				: reason == ST_CLOSE_RESOURCES ? SSH_DISCONNECT_TOO_MANY_CONNECTIONS
							       : SSH_DISCONNECT_PROTOCOL_ERROR;
	do_close(s, reason, err, code, st_close_reason_str(reason));
}

static void record_error(struct st_wsess *s, int err)
{
	drop(s, ST_WDROP_RECORD_ERROR);
	switch (err) {
	case ST_ERR_MAC_INVALID:
		do_close(s, ST_CLOSE_MAC, err, SSH_DISCONNECT_MAC_ERROR, "corrupted MAC on input");
		break;
	case ST_ERR_PACKET_TOO_LARGE:
	case ST_ERR_BAD_LENGTH:
		do_close(s, ST_CLOSE_PACKET_SIZE, err, SSH_DISCONNECT_PROTOCOL_ERROR,
			 "bad packet length");
		break;
	case ST_ERR_CRYPTO:
		do_close(s, ST_CLOSE_INTERNAL, err, 0, NULL);
		break;
	default:
		do_close(s, ST_CLOSE_PROTOCOL, err, SSH_DISCONNECT_PROTOCOL_ERROR,
			 "protocol error");
		break;
	}
}

/* ---- RekeyLimit ---- */

static void check_rekey(struct st_wsess *s)
{
	uint64_t b = s->rec.tx.epoch_bytes > s->rec.rx.epoch_bytes ? s->rec.tx.epoch_bytes
								   : s->rec.rx.epoch_bytes;
	uint64_t age = s->now_ms - s->epoch_ms;
	struct st_plane_msg *m;

	/* Not while any key exchange runs (either side's KEXINIT seen and the
	 * peer's NEWKEYS not yet read): the receive epoch has not restarted. */
	if (s->state != ST_WSESS_RUNNING || !s->keyed || s->kex_tx || s->rec.kex_active ||
	    s->rekey_sent)
		return;
	if (!((s->rekey_bytes != 0 && b >= s->rekey_bytes) ||
	      (s->rekey_seconds != 0 && age >= (uint64_t)s->rekey_seconds * 1000)))
		return;
	s->rekey_sent = 1;
	s->ws->rekeys_due++;
	if ((m = st_plane_msg_new(ST_UP_REKEY_DUE, s->handle, NULL, 0)) != NULL) {
		m->u.rekey.bytes = b;
		m->u.rekey.seconds = (uint32_t)(age / 1000);
	}
	up_deliver(s, m);
}

/* ---- held SENDs and the channel pump ---- */

static int hold_eligible(const struct st_wsess *s, const struct st_plane_msg *m)
{
	return !s->kex_tx || m->data[0] < SSH_MSG_USERAUTH_REQUEST;
}

/* Seals held SENDs in order; during our kex only transport ones. */
static int flush_hold(struct st_wsess *s)
{
	unsigned i = 0;
	int r;

	while (i < s->n_hold && s->state == ST_WSESS_RUNNING) {
		struct st_plane_msg *m = s->hold[i];
		uint8_t was_kex = s->kex_tx;

		if (!hold_eligible(s, m)) {
			i++;
			continue;
		}
		r = send_payload(s, m->data, m->len);
		if (r == ST_ERR_NO_SPACE)
			return ST_OK;
		if (r != ST_OK)
			return r;
		s->hold_bytes -= m->len;
		st_plane_msg_free(m);
		memmove(&s->hold[i], &s->hold[i + 1], (s->n_hold - i - 1) * sizeof(s->hold[0]));
		s->n_hold--;
		if (was_kex && !s->kex_tx)
			i = 0; /* our NEWKEYS: what was skipped may go now */
	}
	return ST_OK;
}

static int pump(struct st_wsess *s)
{
	int r;

	if (s->state != ST_WSESS_RUNNING)
		return ST_OK;
	if ((r = flush_hold(s)) != ST_OK)
		goto fail;
	if (s->n_hold == 0 && !s->kex_tx && (r = st_chan_pump(&s->chans)) != ST_OK)
		goto fail;
	check_rekey(s);
	return ST_OK;
fail:
	if (r == ST_ERR_STATE)
		do_close(s, ST_CLOSE_KEX_FAILED, r, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
			 "key exchange failed");
	else
		do_close(s, ST_CLOSE_INTERNAL, r, 0, NULL);
	return r;
}

int st_wsess_pump(struct st_wsess *s)
{
	int r = pump(s);
	tx_flush_end(s);
	return r;
}

/* ---- receive ---- */

static int handle_packet(struct st_wsess *s, const struct st_record_msg *m)
{
	struct st_plane_msg *up;
	int handled = 0, r;
	uint8_t type;

	s->st.packets_in++;
	if (m->payload != NULL)
		r = st_chan_input(&s->chans, m->payload, m->len, &handled);
	else
		r = st_chan_input_segs(&s->chans, m->segs, m->nseg, m->len, &handled);
	if (r != ST_OK && s->chan_tx_failed) {
		tx_fail(s, r); /* echo's reply to this data did not seal */
		return r;
	}
	if (r != ST_OK) {
		drop(s, ST_WDROP_CHANNEL_VIOLATION);
		do_close(s, ST_CLOSE_PROTOCOL, r, SSH_DISCONNECT_PROTOCOL_ERROR,
			 "channel protocol violation");
		return r;
	}
	if (handled) {
		s->st.fast_path_in++;
		return ST_OK;
	}
	s->st.up_payloads++;
	if (m->payload != NULL) {
		up = st_plane_msg_new(ST_UP_PAYLOAD, s->handle, m->payload, m->len);
		type = m->payload[0];
	} else {
		/* Scattered over receive mbufs: the control plane gets its own copy anyway. */
		up = st_plane_msg_new(ST_UP_PAYLOAD, s->handle, NULL, 0);
		if (up != NULL && (up->data = malloc(m->len)) == NULL) {
			st_plane_msg_free(up);
			up = NULL;
		}
		if (up != NULL) {
			st_segs_read(m->segs, m->nseg, 0, up->data, m->len);
			up->len = m->len;
		}
		st_segs_read(m->segs, m->nseg, 0, &type, 1);
	}
	if (up != NULL)
		up->u.payload.seq = m->seq;
	if ((r = up_deliver(s, up)) != ST_OK)
		return r;
	if (type == SSH_MSG_DISCONNECT) {
		do_close(s, ST_CLOSE_PEER_DISCONNECT, 0, 0, NULL);
		return ST_ERR_STATE;
	}
	return ST_OK;
}

/* Reads whole packets out of the record layer, a burst at a time. */
static int process_records(struct st_wsess *s)
{
	struct st_record_msg msgs[ST_RECORD_BURST];
	unsigned n;
	int r;

	while (s->state == ST_WSESS_RUNNING) {
		unsigned max = s->up_room < ST_RECORD_BURST ? s->up_room : ST_RECORD_BURST;
		if (max == 0) /* the control plane's credit is used up: packets wait here */
			break;
		if ((r = st_record_read(&s->rec, msgs, max, &n)) != ST_OK) {
			record_error(s, r);
			return r;
		}
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++)
			if ((r = handle_packet(s, &msgs[i])) != ST_OK)
				return r;
		if ((r = pump(s)) != ST_OK)
			return r;
	}
	return ST_OK;
}

/*
 * Collects a PROXY protocol header (its first byte is in data[0] or already
 * held); *used says how many bytes were the header's. Hands it up once
 * framed; garbage is handed up too (the control plane names the reason and
 * closes) and everything after it is discarded.
 */
static int proxy_input(struct st_wsess *s, const uint8_t *data, size_t len, size_t *used)
{
	size_t total = 0, before = s->plen;
	int r;

	if (s->phdr == NULL && (s->phdr = malloc(ST_PROXYHDR_MAX)) == NULL) {
		*used = len;
		do_close(s, ST_CLOSE_RESOURCES, ST_ERR_ALLOC, 0, NULL);
		return ST_ERR_ALLOC;
	}
	size_t k = len < ST_PROXYHDR_MAX - s->plen ? len : ST_PROXYHDR_MAX - s->plen;
	memcpy(s->phdr + s->plen, data, k);
	s->plen += (uint32_t)k;
	int f = st_proxyhdr_frame(s->phdr, s->plen, &total);
	if (f == ST_PROXYHDR_E_TRUNCATED && s->plen < ST_PROXYHDR_MAX) {
		*used = k;
		return ST_OK;
	}
	if (f == ST_PROXYHDR_OK) {
		*used = total - before;
		s->pstate = ST_WSESS_PROXY_DONE;
	} else {
		drop(s, ST_WDROP_PROXY_BAD);
		*used = len;
		total = s->plen;
		s->pstate = ST_WSESS_PROXY_FAILED;
	}
	r = up_simple(s, ST_UP_PROXY, s->phdr, (uint32_t)total);
	free(s->phdr);
	s->phdr = NULL;
	s->plen = 0;
	return r;
}

/* Takes identification-line bytes (after a PROXY header, if any); *used says how many. */
static int version_input(struct st_wsess *s, const uint8_t *data, size_t len, size_t *used)
{
	size_t i = 0;
	int r;

	if (s->pstate == ST_WSESS_PROXY_UNSEEN && len > 0)
		/* "PROXY " or the v2 signature; an identification line starts "SSH-" */
		s->pstate = s->vlen == 0 && (data[0] == 'P' || data[0] == '\r') ? ST_WSESS_PROXY_READING
										 : ST_WSESS_PROXY_DONE;
	if (s->pstate == ST_WSESS_PROXY_READING) {
		if ((r = proxy_input(s, data, len, &i)) != ST_OK) {
			*used = len;
			return r;
		}
	}
	if (s->pstate == ST_WSESS_PROXY_FAILED || s->pstate == ST_WSESS_PROXY_READING) {
		*used = len;
		return ST_OK;
	}
	for (; i < len; i++) {
		uint8_t c = data[i];
		if (s->vlen >= ST_WSESS_VERSION_MAX) {
			drop(s, ST_WDROP_VERSION_TOO_LONG);
			do_close(s, ST_CLOSE_VERSION, ST_ERR_FORMAT, 0, NULL);
			*used = i;
			return ST_ERR_FORMAT;
		}
		s->vline[s->vlen++] = (char)c;
		if (c != '\n')
			continue;
		/* Whole line: strip LF and an optional CR. */
		uint32_t l = s->vlen - 1;
		if (l > 0 && s->vline[l - 1] == '\r')
			l--;
		s->vline[l] = '\0';
		*used = i + 1;
		if (l < 4 || memcmp(s->vline, "SSH-", 4) != 0 || memchr(s->vline, '\0', l) != NULL) {
			drop(s, ST_WDROP_VERSION_NOT_SSH);
			do_close(s, ST_CLOSE_VERSION, ST_ERR_FORMAT, 0, NULL);
			return ST_ERR_FORMAT;
		}
		s->state = ST_WSESS_RUNNING;
		return up_simple(s, ST_UP_VERSION, s->vline, l);
	}
	*used = len;
	return ST_OK;
}

static int wsess_input(struct st_wsess *s, const uint8_t *data, size_t len, size_t *used)
{
	size_t done = 0, n;
	int r;

	*used = 0;
	if (s->state == ST_WSESS_CLOSING) {
		*used = len;
		if (len > 0)
			drop(s, ST_WDROP_INPUT_AFTER_CLOSE);
		return ST_OK;
	}
	s->st.bytes_in += len;
	if (s->state == ST_WSESS_VERSION) {
		r = version_input(s, data, len, &n);
		done += n;
		if (r != ST_OK) {
			*used = len;
			return r;
		}
	}
	while (s->state == ST_WSESS_RUNNING) {
		st_record_feed(&s->rec, data + done, len - done, &n);
		done += n;
		if ((r = process_records(s)) != ST_OK) {
			*used = len;
			return r;
		}
		if (done == len || n == 0)
			break;
	}
	if (s->state == ST_WSESS_CLOSING)
		done = len;
	s->st.bytes_in -= len - done;
	*used = done;
	return ST_OK;
}

/* Opens packets in place in the owner's pieces, a burst at a time. */
static int process_pieces(struct st_wsess *s, const struct st_rx_piece *pc, unsigned npc,
			  size_t *consumed)
{
	struct st_record_msg msgs[ST_RECORD_BURST];
	struct st_rx_piece rest[ST_WSESS_MAX_PIECES];
	unsigned n, nrest;
	size_t took, skip;
	int r;

	*consumed = 0;
	while (s->state == ST_WSESS_RUNNING) {
		/* The pieces from the first byte not consumed yet. */
		skip = *consumed;
		nrest = 0;
		for (unsigned i = 0; i < npc && nrest < ST_WSESS_MAX_PIECES; i++) {
			if (skip >= pc[i].len) {
				skip -= pc[i].len;
				continue;
			}
			rest[nrest].p = pc[i].p + skip;
			rest[nrest].len = pc[i].len - (uint32_t)skip;
			rest[nrest].mbuf = pc[i].mbuf;
			skip = 0;
			nrest++;
		}
		if (nrest == 0)
			break;
		/* No more packets than the control plane's credit allows: each may
		 * become an up message, and unread packets must stay as they are. */
		unsigned max = s->up_room < ST_RECORD_BURST ? s->up_room : ST_RECORD_BURST;
		if (max == 0)
			break;
		r = st_record_read_pieces(&s->rec, rest, nrest, msgs, max, &n, &took);
		if (r != ST_OK) {
			record_error(s, r);
			return r;
		}
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++)
			if ((r = handle_packet(s, &msgs[i])) != ST_OK) {
				*consumed += took;
				return r;
			}
		*consumed += took;
		if ((r = pump(s)) != ST_OK)
			return r;
	}
	return ST_OK;
}

static int wsess_input_pieces(struct st_wsess *s, const struct st_rx_piece *pc, unsigned npc,
			      size_t *consumed)
{
	size_t total = 0, done = 0, n;
	unsigned i = 0;
	int r = ST_OK;

	*consumed = 0;
	for (unsigned k = 0; k < npc; k++)
		total += pc[k].len;
	if (s->state == ST_WSESS_CLOSING) {
		*consumed = total;
		if (total > 0)
			drop(s, ST_WDROP_INPUT_AFTER_CLOSE);
		return ST_OK;
	}
	/* The identification line, byte by byte: it is not a binary packet. */
	while (s->state == ST_WSESS_VERSION && i < npc) {
		r = version_input(s, pc[i].p, pc[i].len, &n);
		s->st.bytes_in += n;
		done += n;
		if (r != ST_OK) {
			*consumed = total;
			return r;
		}
		if (n < pc[i].len) {
			/* The line ended inside this piece: the rest is binary packets. */
			struct st_rx_piece first = {pc[i].p + n, pc[i].len - (uint32_t)n, pc[i].mbuf};
			struct st_rx_piece tmp[ST_WSESS_MAX_PIECES];
			unsigned m = 0;
			tmp[m++] = first;
			for (unsigned k = i + 1; k < npc && m < ST_WSESS_MAX_PIECES; k++)
				tmp[m++] = pc[k];
			if (s->state == ST_WSESS_RUNNING && (r = process_pieces(s, tmp, m, &n)) != ST_OK) {
				*consumed = total;
				return r;
			}
			s->st.bytes_in += n;
			*consumed = s->state == ST_WSESS_CLOSING ? total : done + n;
			return ST_OK;
		}
		i++;
	}
	if (s->state == ST_WSESS_RUNNING && i < npc) {
		if ((r = process_pieces(s, pc + i, npc - i, &n)) != ST_OK) {
			*consumed = total;
			return r;
		}
		s->st.bytes_in += n;
		done += n;
	}
	*consumed = s->state == ST_WSESS_CLOSING ? total : done;
	return ST_OK;
}

/* ---- down messages ---- */

static int down_send(struct st_wsess *s, struct st_plane_msg *m)
{
	int r;

	if (m->len == 0 || m->len > s->rec.max_packet) {
		drop(s, ST_WDROP_BAD_DOWN);
		do_close(s, ST_CLOSE_INTERNAL, ST_ERR_INVALID_ARGUMENT, 0, NULL);
		st_plane_msg_free(m);
		return ST_ERR_INVALID_ARGUMENT;
	}
	/* Fast case: nothing waits and it may go now. */
	if (s->n_hold == 0 && hold_eligible(s, m)) {
		r = send_payload(s, m->data, m->len);
		if (r != ST_ERR_NO_SPACE) {
			st_plane_msg_free(m);
			if (r != ST_OK) {
				do_close(s, r == ST_ERR_STATE ? ST_CLOSE_KEX_FAILED : ST_CLOSE_INTERNAL,
					 r, SSH_DISCONNECT_PROTOCOL_ERROR, "internal error");
			}
			return r;
		}
	}
	if (s->n_hold == ST_WSESS_HOLD_MAX || s->hold_bytes + m->len > ST_WSESS_HOLD_BYTES) {
		drop(s, ST_WDROP_HOLD_OVERFLOW);
		st_plane_msg_free(m);
		do_close(s, ST_CLOSE_RESOURCES, ST_ERR_NO_SPACE, SSH_DISCONNECT_BY_APPLICATION,
			 "too much output held");
		return ST_ERR_NO_SPACE;
	}
	s->hold[s->n_hold++] = m;
	s->hold_bytes += m->len;
	s->st.held++;
	return ST_OK;
}

static int down_keys(struct st_wsess *s, struct st_plane_msg *m)
{
	int r;

	if (m->u.keys.strict)
		st_record_set_strict(&s->rec);
	/* The RekeyLimit for the epoch these keys start. */
	s->rekey_bytes = m->u.keys.rekey_bytes;
	s->rekey_seconds = m->u.keys.rekey_seconds;
	r = st_record_set_next_keys(&s->rec, &m->u.keys.tx, &m->u.keys.rx);
	if (r != ST_OK) {
		drop(s, ST_WDROP_BAD_DOWN);
		do_close(s, ST_CLOSE_KEX_FAILED, r, SSH_DISCONNECT_KEY_EXCHANGE_FAILED,
			 "key exchange failed");
		return r;
	}
	/* The peer's NEWKEYS may have been waiting for these keys. */
	return process_records(s);
}

static int down_bind(struct st_wsess *s, struct st_plane_msg *m)
{
	struct st_chan_bind b = {
		.local_id = m->u.bind.local_id,
		.remote_id = m->u.bind.remote_id,
		.local_window = m->u.bind.local_window,
		.window_max = m->u.bind.window_max,
		.local_max_packet = m->u.bind.local_max_packet,
		.remote_window = m->u.bind.remote_window,
		.remote_max_packet = m->u.bind.remote_max_packet,
		.confirm_on_connect = m->u.bind.confirm_on_connect,
	};
	int r;

	if ((r = st_chan_bind(&s->chans, &b)) != ST_OK) {
		drop(s, ST_WDROP_CHANNEL_BIND_FAILED);
		do_close(s, r == ST_ERR_ALLOC ? ST_CLOSE_RESOURCES : ST_CLOSE_INTERNAL, r,
			 SSH_DISCONNECT_BY_APPLICATION, "channel setup failed");
		return r;
	}
	s->st.channels_bound++;
	return ST_OK;
}

static int down_attach(struct st_wsess *s, struct st_plane_msg *m)
{
	struct st_service_params p = {
		.kind = m->u.service.kind,
		.source_bytes = m->u.service.source_bytes,
		.host = m->u.service.host,
		.port = m->u.service.port,
		.prefix = m->data,
		.prefix_len = m->len,
	};
	int r;

	m->u.service.host[sizeof(m->u.service.host) - 1] = '\0';
	m->u.service.name[sizeof(m->u.service.name) - 1] = '\0';
	r = st_chan_attach(&s->chans, m->u.service.local_id, &p, m->u.service.name,
			   m->u.service.want_exit_status);
	if (r == ST_ERR_NOT_FOUND || r == ST_ERR_STATE) {
		/* The peer may have closed the channel meanwhile: not fatal. */
		drop(s, ST_WDROP_BAD_DOWN);
	} else if (r != ST_OK) {
		/* The channel reports exit status 1 and closes; the session lives. */
		drop(s, ST_WDROP_SERVICE_START_FAILED);
		if (p.kind == ST_SERVICE_BACKEND) {
			struct st_plane_msg *up = st_plane_msg_new(ST_UP_BACKEND_FAILED, s->handle,
								   NULL, 0);
			if (up != NULL) {
				up->u.backend.local_id = m->u.service.local_id;
				up->u.backend.err = r;
			}
			if ((r = up_deliver(s, up)) != ST_OK)
				return r;
		}
	}
	return pump(s);
}

/* Our identification line, raw, before any binary packet. */
static int queue_version(struct st_wsess *s, const char *line, size_t len)
{
	if (len < 4 || len > ST_WSESS_VERSION_MAX - 2 || memcmp(line, "SSH-", 4) != 0 ||
	    memchr(line, '\n', len) != NULL || memchr(line, '\r', len) != NULL)
		return ST_ERR_INVALID_ARGUMENT;
	uint8_t *buf;
	int r;

	if (s->st.packets_out != 0 || s->version_sent)
		return ST_ERR_STATE;
	if ((r = tx_reserve(s, len + 2, &buf)) != ST_OK)
		return r;
	memcpy(buf, line, len);
	memcpy(buf + len, "\r\n", 2);
	tx_produced(s, len + 2);
	s->version_sent = 1;
	return ST_OK;
}

static int down_version_line(struct st_wsess *s, struct st_plane_msg *m)
{
	int r;

	if (s->version_sent) {
		/* Already sent at init (st_wsess_config.version): keep the first. */
		drop(s, ST_WDROP_BAD_DOWN);
		return ST_OK;
	}
	if ((r = queue_version(s, (const char *)m->data, m->len)) != ST_OK) {
		drop(s, ST_WDROP_BAD_DOWN);
		do_close(s, ST_CLOSE_INTERNAL, r, 0, NULL);
	}
	return r;
}

static int wsess_down(struct st_wsess *s, struct st_plane_msg *m)
{
	int r = ST_OK;

	if (s->state == ST_WSESS_CLOSING) {
		drop(s, ST_WDROP_DOWN_AFTER_CLOSE);
		st_plane_msg_free(m);
		return ST_OK;
	}
	switch (m->type) {
	case ST_DOWN_SEND:
		r = down_send(s, m);
		m = NULL;
		if (r == ST_OK)
			r = pump(s);
		break;
	case ST_DOWN_KEYS:
		r = down_keys(s, m);
		break;
	case ST_DOWN_AUTHED:
		memcpy(s->user, m->u.authed.user, sizeof(s->user));
		s->user[sizeof(s->user) - 1] = '\0';
		break;
	case ST_DOWN_BIND_CHANNEL:
		r = down_bind(s, m);
		break;
	case ST_DOWN_ATTACH_SERVICE:
		r = down_attach(s, m);
		break;
	case ST_DOWN_VERSION_LINE:
		r = down_version_line(s, m);
		break;
	case ST_DOWN_CLOSE:
		/* The control plane's DISCONNECT (if any) goes out even during kex. */
		if (m->len > 0 && m->data[0] == SSH_MSG_DISCONNECT && s->state == ST_WSESS_RUNNING)
			(void)send_payload(s, m->data, m->len);
		do_close(s, m->u.closed.reason < ST_CLOSE_REASON_COUNT ? m->u.closed.reason
								      : ST_CLOSE_INTERNAL,
			 m->u.closed.err, 0, NULL);
		break;
	default:
		drop(s, ST_WDROP_BAD_DOWN);
		break;
	}
	st_plane_msg_free(m);
	return r;
}

/* ---- asynchronous receive ---- */

int st_wsess_rx_async(const struct st_wsess *s)
{
	return s->state == ST_WSESS_RUNNING && st_record_rx_async(&s->rec);
}

int st_wsess_rx_enqueue(struct st_wsess *s, const struct st_rx_piece *pc, unsigned npc,
			struct st_pkt *pk, unsigned max, struct st_seg *segs, unsigned nsegs,
			unsigned *n, int *busy)
{
	int r;

	*n = 0;
	*busy = 0;
	if (s->state != ST_WSESS_RUNNING)
		return ST_OK;
	if ((r = st_record_rx_enqueue(&s->rec, pc, npc, pk, max, segs, nsegs, n, busy)) != ST_OK) {
		record_error(s, r);
		tx_flush_end(s);
	}
	return r;
}

int st_wsess_rx_complete(struct st_wsess *s, struct st_pkt *pk, unsigned n, size_t *consumed)
{
	struct st_record_msg msgs[ST_RECORD_BURST];
	int r;

	if (n > ST_RECORD_BURST)
		return ST_ERR_INTERNAL;
	r = st_record_rx_complete(&s->rec, pk, n, msgs, consumed);
	if (s->state != ST_WSESS_RUNNING) {
		if (n > 0)
			drop(s, ST_WDROP_INPUT_AFTER_CLOSE);
		return ST_OK; /* closed meanwhile: the bytes are discarded */
	}
	if (r != ST_OK) {
		record_error(s, r);
		tx_flush_end(s);
		return r;
	}
	s->st.bytes_in += *consumed;
	for (unsigned i = 0; i < n && s->state == ST_WSESS_RUNNING; i++)
		if ((r = handle_packet(s, &msgs[i])) != ST_OK)
			break;
	if (r == ST_OK)
		r = pump(s);
	tx_flush_end(s);
	return r;
}

/* The public calls seal what they framed before they return (tx_flush_end). */
int st_wsess_input(struct st_wsess *s, const uint8_t *data, size_t len, size_t *used)
{
	int r = wsess_input(s, data, len, used);
	tx_flush_end(s);
	return r;
}

int st_wsess_input_pieces(struct st_wsess *s, const struct st_rx_piece *pc, unsigned npc,
			  size_t *consumed)
{
	int r = wsess_input_pieces(s, pc, npc, consumed);
	tx_flush_end(s);
	return r;
}

int st_wsess_down(struct st_wsess *s, struct st_plane_msg *m)
{
	int r = wsess_down(s, m);
	tx_flush_end(s);
	return r;
}

/* ---- lifecycle ---- */

int st_wsess_init(struct st_wsess *s, const struct st_wsess_config *cfg,
		  struct st_conn_handle h, const struct st_plane_sink *up,
		  struct st_wsess_worker_stats *ws, uint64_t now_ms)
{
	struct st_chan_tx ctx;
	struct st_service_env env;
	size_t vl = 0;
	int r;

	memset(s, 0, sizeof(*s));
	if (cfg->version != NULL && ((vl = strlen(cfg->version)) < 4 ||
				     vl > ST_WSESS_VERSION_MAX - 2))
		return ST_ERR_INVALID_ARGUMENT;
	s->handle = h;
	s->up = *up;
	s->up_room = UINT32_MAX;
	s->ws = ws;
	s->now_ms = s->epoch_ms = now_ms;
	s->rekey_bytes = cfg->rekey_bytes;
	s->rekey_seconds = cfg->rekey_seconds;
	s->tx_cap = cfg->tx_cap != 0 ? cfg->tx_cap : ST_WSESS_TX_DEFAULT;
	if ((r = st_record_init(&s->rec, cfg->be, cfg->max_packet)) != ST_OK)
		goto out;
	/* At least one largest packet must fit. */
	if (s->tx_cap < st_record_seal_size(&s->rec, s->rec.max_packet) + ST_MAC_MAX_LEN)
		s->tx_cap = (uint32_t)(st_record_seal_size(&s->rec, s->rec.max_packet) +
				       ST_MAC_MAX_LEN);
	if (cfg->tx_ops.reserve != NULL) {
		if (cfg->tx_ops.produced == NULL) {
			r = ST_ERR_INVALID_ARGUMENT;
			goto out;
		}
		s->tx_ops = cfg->tx_ops;
		s->tx_cap = 0;
	} else if ((s->tx = malloc(ST_CRYPTO_HEADROOM + s->tx_cap)) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	} else {
		/* The crypto backend may borrow the bytes before a packet (cryptodev
		 * writes the MAC's sequence number there): the first packet too. */
		s->tx += ST_CRYPTO_HEADROOM;
	}
	ctx.begin = chan_begin;
	ctx.commit = chan_commit;
	ctx.closed = chan_closed;
	ctx.connect_failed = chan_connect_failed;
	ctx.ctx = s;
	env.connector = cfg->connector;
	env.owner = s;
	st_chan_table_init(&s->chans, &ctx, &env, cfg->chan_pool);
	if (cfg->version != NULL && (r = queue_version(s, cfg->version, strlen(cfg->version))) != ST_OK)
		goto out;
	ws->sessions++;
	r = ST_OK;
out:
	if (r != ST_OK) {
		free(s->tx != NULL ? s->tx - ST_CRYPTO_HEADROOM : NULL);
		st_record_free(&s->rec); /* safe on any initialized record */
		memset(s, 0, sizeof(*s));
	}
	return r;
}

void st_wsess_free(struct st_wsess *s)
{
	if (s->ws == NULL)
		return;
	if (s->state != ST_WSESS_CLOSING) {
		s->peer_gone = 1;
		do_close(s, ST_CLOSE_SHUTDOWN, 0, 0, NULL);
	}
	if (txb.owner == s) {
		/* Never sealed: the owner frees those bytes unsent. */
		txb.owner = NULL;
		txb.n = 0;
	}
	send_closed(s);
	st_chan_table_free(&s->chans);
	for (unsigned i = 0; i < ST_CHAN_CNT_COUNT; i++)
		s->ws->chan[i] += s->chans.cnt[i];
	for (unsigned i = 0; i < s->n_hold; i++)
		st_plane_msg_free(s->hold[i]);
	st_record_free(&s->rec);
	free(s->phdr);
	s->phdr = NULL;
	if (s->tx != NULL) {
		/* Only what was ever written: wiping untouched pages would fault them in. */
		st_wipe(s->tx - ST_CRYPTO_HEADROOM, ST_CRYPTO_HEADROOM + s->tx_hwm);
		free(s->tx - ST_CRYPTO_HEADROOM);
	}
	st_wipe(s, sizeof(*s));
}

int st_wsess_open(struct st_wsess *s, const char *peer_ip, uint16_t peer_port,
		  const char *local_ip, uint16_t local_port)
{
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_OPEN, s->handle, NULL, 0);

	if (m != NULL) {
		snprintf(m->u.open.peer_ip, sizeof(m->u.open.peer_ip), "%s", peer_ip);
		snprintf(m->u.open.local_ip, sizeof(m->u.open.local_ip), "%s", local_ip);
		m->u.open.peer_port = peer_port;
		m->u.open.local_port = local_port;
	}
	return up_deliver(s, m);
}

void st_wsess_tick(struct st_wsess *s, uint64_t now_ms)
{
	if (now_ms > s->now_ms)
		s->now_ms = now_ms;
	check_rekey(s);
	/* Buffers that stayed empty since the last tick go back (an idle session is small). */
	if (s->state == ST_WSESS_RUNNING)
		st_chan_table_shrink(&s->chans);
}

void st_wsess_tx_peek(const struct st_wsess *s, const uint8_t **p, size_t *n)
{
	*p = s->tx + s->tx_off;
	*n = s->tx_len - s->tx_off;
}

void st_wsess_tx_consume(struct st_wsess *s, size_t n)
{
	if (n > s->tx_len - s->tx_off)
		n = s->tx_len - s->tx_off;
	s->tx_off += (uint32_t)n;
	s->st.bytes_out += n;
	if (s->tx_off == s->tx_len)
		s->tx_off = s->tx_len = 0;
	if (st_wsess_wants_pump(s))
		pump(s);
	tx_flush_end(s);
}

void st_wsess_peer_gone(struct st_wsess *s)
{
	s->peer_gone = 1;
	do_close(s, ST_CLOSE_PEER, 0, 0, NULL);
	tx_flush_end(s);
}

int st_wsess_done(const struct st_wsess *s)
{
	return s->state == ST_WSESS_CLOSING && (s->peer_gone || s->tx_off == s->tx_len);
}

int st_wsess_wants_pump(const struct st_wsess *s)
{
	return s->state == ST_WSESS_RUNNING && (st_chan_blocked(&s->chans) || s->n_hold > 0);
}
