#include "dataplane/ssh/channel.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

const char *st_chan_counter_str(enum st_chan_counter c)
{
	switch (c) {
#define ST_CHAN_CNT_CASE(name, text) \
	case name:                   \
		return text;
		ST_CHAN_COUNTERS(ST_CHAN_CNT_CASE)
#undef ST_CHAN_CNT_CASE
	default:
		return "unknown";
	}
}

void st_chan_table_init(struct st_chan_table *t, const struct st_chan_tx *tx,
			const struct st_service_env *env, const struct st_chan_pool *pool)
{
	memset(t, 0, sizeof(*t));
	t->tx = *tx;
	if (env != NULL)
		t->env = *env;
	t->pool = pool;
}

static void ring_release(struct st_chan *c);

/* Storage for a new channel: the inline one if free, else the pool's. */
static struct st_chan *chan_get(struct st_chan_table *t)
{
	int first_used = 0;

	for (unsigned i = 0; i < ST_CHAN_MAX; i++)
		first_used |= t->ch[i] == &t->first;
	if (!first_used)
		return &t->first;
	if (t->pool != NULL && t->pool->get != NULL)
		return t->pool->get(t->pool->ctx);
	return calloc(1, sizeof(struct st_chan));
}

static void chan_release(struct st_chan_table *t, struct st_chan *c)
{
	t->win_sum -= c->local_window_max; /* its share of the budget comes back */
	st_service_close(&c->svc);
	ring_release(c);
	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < ST_CHAN_MAX; i++)
		if (t->ch[i] == c)
			t->ch[i] = NULL;
	if (c != &t->first) {
		if (t->pool != NULL && t->pool->get != NULL)
			t->pool->put(t->pool->ctx, c);
		else
			free(c);
	}
	t->n_open--;
}

void st_chan_table_free(struct st_chan_table *t)
{
	for (unsigned i = 0; i < ST_CHAN_MAX; i++)
		if (t->ch[i] != NULL)
			chan_release(t, t->ch[i]);
}

static int tomb_find(const struct st_chan_table *t, uint32_t id)
{
	for (unsigned i = 0; i < t->n_tomb; i++)
		if (t->tomb[i] == id)
			return (int)i;
	return -1;
}

static void tomb_del(struct st_chan_table *t, unsigned i)
{
	memmove(&t->tomb[i], &t->tomb[i + 1], (t->n_tomb - i - 1) * sizeof(t->tomb[0]));
	t->n_tomb--;
}

static void tomb_add(struct st_chan_table *t, uint32_t id)
{
	int i = tomb_find(t, id);

	if (i >= 0)
		tomb_del(t, (unsigned)i);
	if (t->n_tomb == ST_CHAN_MAX)
		tomb_del(t, 0); /* forget the oldest */
	t->tomb[t->n_tomb++] = id;
}

struct st_chan *st_chan_find(struct st_chan_table *t, uint32_t local_id)
{
	for (unsigned i = 0; i < ST_CHAN_MAX; i++)
		if (t->ch[i] != NULL && t->ch[i]->local_id == local_id)
			return t->ch[i];
	return NULL;
}

int st_chan_bind(struct st_chan_table *t, const struct st_chan_bind *b)
{
	struct st_chan *c = NULL;

	if (b->local_window == 0 || b->local_window > ST_CHAN_MAX_WINDOW ||
	    b->window_max > ST_CHAN_GROW_MAX ||
	    b->local_max_packet == 0 || b->remote_max_packet == 0)
		return ST_ERR_INVALID_ARGUMENT;
	if (st_chan_find(t, b->local_id) != NULL)
		return ST_ERR_STATE;
	unsigned slot = ST_CHAN_MAX;
	for (unsigned i = 0; i < ST_CHAN_MAX && slot == ST_CHAN_MAX; i++)
		if (t->ch[i] == NULL)
			slot = i;
	if (slot == ST_CHAN_MAX || (c = chan_get(t)) == NULL)
		return ST_ERR_NO_SPACE;
	t->ch[slot] = c;
	int ti = tomb_find(t, b->local_id);
	if (ti >= 0)
		tomb_del(t, (unsigned)ti);
	memset(c, 0, sizeof(*c));
	c->in_use = 1;
	c->local_id = b->local_id;
	c->remote_id = b->remote_id;
	c->local_window = b->local_window;
	c->local_window_max = b->local_window;
	c->win_init = b->local_window;
	c->local_max_packet = b->local_max_packet;
	c->remote_window = b->remote_window;
	c->remote_max_packet = b->remote_max_packet;
	c->pending_confirm = b->confirm_on_connect ? 1 : 0;
	t->win_budget = b->window_max;
	t->win_sum += c->local_window_max;
	t->n_open++;
	t->cnt[ST_CHAN_CNT_OPENED]++;
	return ST_OK;
}

int st_chan_attach(struct st_chan_table *t, uint32_t local_id,
		   const struct st_service_params *p, const char *name, int want_exit_status)
{
	struct st_chan *c = st_chan_find(t, local_id);
	int r;

	if (c == NULL)
		return ST_ERR_NOT_FOUND;
	if (c->attached || c->svc.out_done)
		return ST_ERR_STATE;
	c->want_exit_status = want_exit_status ? 1 : 0;
	if (name != NULL) {
		strncpy(c->name, name, sizeof(c->name) - 1);
		c->name[sizeof(c->name) - 1] = '\0';
	}
	if ((r = st_service_start(&c->svc, p, &t->env)) != ST_OK) {
		t->cnt[ST_CHAN_CNT_SERVICE_ERROR]++;
		if (c->pending_confirm) {
			/* Never confirmed: the peer gets OPEN_FAILURE from the control
			 * plane (the caller reports BACKEND_FAILED), not a CLOSE. */
			chan_release(t, c);
			return r;
		}
		/* Close the channel towards the peer with a failing exit status. */
		c->svc.out_done = 1;
		c->svc.exit_status = 1;
		return r;
	}
	c->attached = 1;
	return ST_OK;
}

/*
 * Appends to the hold ring; the window accounting guarantees room. The ring
 * exists only while a service leaves input unconsumed (a slow backend, echo
 * with its own ring full): it is allocated here and released by
 * st_chan_table_shrink once it has been empty for a tick.
 */
static int ring_put(struct st_chan *c, const uint8_t *p, size_t n)
{
	uint32_t cap, tail;
	size_t first;

	if (c->ring == NULL) {
		/* Sized to the window now: what the peer may send unread. Growth
		 * happens only while the ring is empty, and frees it then. */
		if ((c->ring = malloc(c->local_window_max)) == NULL)
			return ST_ERR_ALLOC;
		c->ring_cap = c->local_window_max;
		c->ring_head = 0;
		c->ring_len = 0;
		c->ring_hwm = 0;
	}
	cap = c->ring_cap;
	tail = (uint32_t)(((uint64_t)c->ring_head + c->ring_len) % cap);
	first = cap - tail;
	if (first > n)
		first = n;
	memcpy(c->ring + tail, p, first);
	memcpy(c->ring, p + first, n - first);
	c->ring_len += (uint32_t)n;
	if (c->ring_hwm < c->ring_cap) {
		uint64_t w = (uint64_t)c->ring_hwm + n;
		c->ring_hwm = w > c->ring_cap ? c->ring_cap : (uint32_t)w;
	}
	return ST_OK;
}

static void ring_release(struct st_chan *c)
{
	if (c->ring == NULL)
		return;
	st_wipe(c->ring, c->ring_hwm); /* untouched pages stay untouched */
	free(c->ring);
	c->ring = NULL;
	c->ring_head = c->ring_len = c->ring_hwm = c->ring_cap = 0;
}

void st_chan_table_shrink(struct st_chan_table *t)
{
	for (unsigned i = 0; i < ST_CHAN_MAX; i++) {
		struct st_chan *c = t->ch[i];
		if (c == NULL)
			continue;
		/* A grown window idle long enough starts back to its initial size. */
		if (c->took) {
			c->took = 0;
			c->idle_ticks = 0;
		} else if (c->local_window_max > c->win_init && c->win_floor == 0 &&
			   ++c->idle_ticks >= ST_CHAN_IDLE_SHRINK_TICKS) {
			c->win_floor = c->win_init;
			c->idle_ticks = 0;
		}
		if (c->ring != NULL && c->ring_len == 0) {
			if (c->ring_idle)
				ring_release(c);
			else
				c->ring_idle = 1; /* empty now: released if still empty next time */
		} else {
			c->ring_idle = 0;
		}
	}
}

static void service_failed(struct st_chan_table *t, struct st_chan *c)
{
	t->cnt[ST_CHAN_CNT_SERVICE_ERROR]++;
	c->svc.out_done = 1;
	c->svc.exit_status = 1;
}

/* Offers bytes to the service; returns how many it took. */
static size_t offer(struct st_chan_table *t, struct st_chan *c, const uint8_t *p, size_t n)
{
	size_t used = 0;

	if (n == 0)
		return 0;
	if (st_service_data(&c->svc, p, n, &used) != ST_OK) {
		service_failed(t, c);
		used = n; /* discard: the channel is closing */
	}
	if (used > n)
		used = n;
	c->svc.bytes_in += used;
	c->credit += (uint32_t)used;
	c->bdp_bytes += used;
	c->took |= used > 0;
	return used;
}

/*
 * A reflecting service (echo) "consumes" what it can send back at once: as
 * many CHANNEL_DATA packets as the peer's window and the tx path take now,
 * the service writing each payload straight from p. *used says how much.
 * Returns ST_OK (also when the peer's window stopped it), ST_ERR_NO_SPACE
 * (tx full: the rest waits) or tx's failure (the session closes).
 */
static int reflect(struct st_chan_table *t, struct st_chan *c, const uint8_t *p, size_t n,
		   size_t *used)
{
	*used = 0;
	while (*used < n && c->remote_window > 0 && !c->svc.out_done) {
		size_t chunk = n - *used;
		uint8_t *out;
		int r;

		if (chunk > c->remote_window)
			chunk = c->remote_window;
		if (chunk > c->remote_max_packet)
			chunk = c->remote_max_packet;
		if (chunk > ST_CHAN_MAX_DATA)
			chunk = ST_CHAN_MAX_DATA;
		if ((r = t->tx.begin(t->tx.ctx, 9 + chunk, &out)) != ST_OK)
			return r;
		out[0] = SSH_MSG_CHANNEL_DATA;
		st_poke_u32(out + 1, c->remote_id);
		st_poke_u32(out + 5, (uint32_t)chunk);
		st_service_reflect(&c->svc, out + 9, p + *used, chunk);
		if ((r = t->tx.commit(t->tx.ctx, 9 + chunk)) != ST_OK)
			return r;
		c->remote_window -= (uint32_t)chunk;
		c->bytes_out += chunk;
		c->svc.bytes_out += chunk;
		c->svc.bytes_in += chunk;
		c->credit += (uint32_t)chunk;
		c->bdp_bytes += chunk;
		c->took = 1;
		*used += chunk;
	}
	return ST_OK;
}

/* Hands bytes to the service, whichever kind it is; *used: how many it took. */
static int deliver(struct st_chan_table *t, struct st_chan *c, const uint8_t *p, size_t n,
		   size_t *used)
{
	if (c->svc.ops->reflect != NULL)
		return reflect(t, c, p, n, used);
	*used = offer(t, c, p, n);
	return ST_OK;
}

/*
 * Data of one CHANNEL_DATA / EXTENDED_DATA, n bytes in v[0..nv): offered to
 * the service piece by piece, what it leaves goes to the hold ring. A tx
 * path that is full now only means the rest is held (the pump retries).
 */
static int input_data(struct st_chan_table *t, struct st_chan *c, const struct st_seg *v,
		      unsigned nv, size_t n, int ext)
{
	if (c->peer_eof || c->peer_close) {
		t->cnt[ST_CHAN_CNT_DATA_AFTER_EOF]++;
		return ST_ERR_STATE;
	}
	if (n > c->local_max_packet) {
		t->cnt[ST_CHAN_CNT_MAX_PACKET_EXCEEDED]++;
		return ST_ERR_PACKET_TOO_LARGE;
	}
	if (n > c->local_window) {
		t->cnt[ST_CHAN_CNT_WINDOW_EXCEEDED]++;
		return ST_ERR_STATE;
	}
	c->local_window -= (uint32_t)n;
	c->bytes_in += n;
	if (ext || c->sent_close) {
		/* Nobody will read it: count and give the window back. */
		t->cnt[ext ? ST_CHAN_CNT_EXT_DATA_DISCARDED : ST_CHAN_CNT_DATA_AFTER_CLOSE]++;
		c->credit += (uint32_t)n;
		return ST_OK;
	}
	for (unsigned i = 0; i < nv; i++) {
		const uint8_t *p = v[i].p;
		size_t len = v[i].len;

		if (c->attached && c->ring_len == 0) {
			size_t used = 0;
			int r = deliver(t, c, p, len, &used);
			if (r != ST_OK && r != ST_ERR_NO_SPACE)
				return r;
			p += used;
			len -= used;
		}
		if (len > 0 && ring_put(c, p, len) != ST_OK)
			return ST_ERR_ALLOC;
	}
	return ST_OK;
}

int st_chan_input(struct st_chan_table *t, const uint8_t *payload, size_t len, int *handled)
{
	struct st_buf b;
	struct st_chan *c;
	struct st_seg v;
	uint8_t type;
	uint32_t id, u;
	const uint8_t *data;
	size_t dlen;
	int r = ST_OK;

	*handled = 0;
	if (len < 1)
		return ST_OK;
	type = payload[0];
	if (type < SSH_MSG_CHANNEL_WINDOW_ADJUST || type > SSH_MSG_CHANNEL_CLOSE)
		return ST_OK;
	if (len < 5)
		return ST_OK; /* malformed: the control plane reports it */
	id = st_peek_u32(payload + 1);
	if ((c = st_chan_find(t, id)) == NULL) {
		if ((type == SSH_MSG_CHANNEL_WINDOW_ADJUST || type == SSH_MSG_CHANNEL_EOF) &&
		    tomb_find(t, id) >= 0) {
			t->cnt[ST_CHAN_CNT_LATE_AFTER_CLOSE]++;
			*handled = 1;
		}
		return ST_OK;
	}
	*handled = 1;
	st_buf_from(&b, payload + 5, len - 5);
	switch (type) {
	case SSH_MSG_CHANNEL_WINDOW_ADJUST:
		if ((r = st_buf_get_u32(&b, &u)) != ST_OK || (r = st_buf_end(&b)) != ST_OK)
			goto malformed;
		if ((uint64_t)c->remote_window + u > UINT32_MAX) {
			t->cnt[ST_CHAN_CNT_WINDOW_OVERFLOW]++;
			return ST_ERR_STATE;
		}
		c->remote_window += u;
		return ST_OK;
	case SSH_MSG_CHANNEL_DATA:
		if ((r = st_buf_get_string(&b, &data, &dlen)) != ST_OK ||
		    (r = st_buf_end(&b)) != ST_OK)
			goto malformed;
		v.p = (uint8_t *)data;
		v.len = (uint32_t)dlen;
		return input_data(t, c, &v, 1, dlen, 0);
	case SSH_MSG_CHANNEL_EXTENDED_DATA:
		if ((r = st_buf_get_u32(&b, &u)) != ST_OK ||
		    (r = st_buf_get_string(&b, &data, &dlen)) != ST_OK ||
		    (r = st_buf_end(&b)) != ST_OK)
			goto malformed;
		v.p = (uint8_t *)data;
		v.len = (uint32_t)dlen;
		return input_data(t, c, &v, 1, dlen, 1);
	case SSH_MSG_CHANNEL_EOF:
		if ((r = st_buf_end(&b)) != ST_OK)
			goto malformed;
		if (c->peer_close) {
			t->cnt[ST_CHAN_CNT_DATA_AFTER_EOF]++;
			return ST_ERR_STATE;
		}
		c->peer_eof = 1;
		return ST_OK;
	case SSH_MSG_CHANNEL_CLOSE:
		if ((r = st_buf_end(&b)) != ST_OK)
			goto malformed;
		if (c->peer_close) {
			t->cnt[ST_CHAN_CNT_MALFORMED]++;
			return ST_ERR_STATE;
		}
		c->peer_close = 1;
		return ST_OK;
	}
	return ST_OK;
malformed:
	t->cnt[ST_CHAN_CNT_MALFORMED]++;
	return ST_ERR_FORMAT;
}

/*
 * The same for a payload that lies in several pieces (opened in place in
 * the TCP receive mbufs): the header is gathered into a scratch, the data is
 * offered piece by piece without a copy. Small messages (WINDOW_ADJUST, EOF,
 * CLOSE) that happen to straddle a piece boundary are gathered whole.
 */
int st_chan_input_segs(struct st_chan_table *t, const struct st_seg *segs, unsigned nseg,
		       size_t len, int *handled)
{
	uint8_t hdr[13];
	struct st_seg v[ST_PKT_MAX_SEGS];
	struct st_seg_iter it;
	struct st_chan *c;
	unsigned nv = 0;
	size_t hl, dlen;
	uint8_t *q;
	uint32_t n;

	*handled = 0;
	if (len < 1 || nseg > ST_PKT_MAX_SEGS)
		return ST_OK;
	st_segs_read(segs, (uint16_t)nseg, 0, hdr, 1);
	if (hdr[0] != SSH_MSG_CHANNEL_DATA && hdr[0] != SSH_MSG_CHANNEL_EXTENDED_DATA) {
		uint8_t small[64];
		if (hdr[0] < SSH_MSG_CHANNEL_WINDOW_ADJUST || hdr[0] > SSH_MSG_CHANNEL_CLOSE ||
		    len > sizeof(small))
			return ST_OK; /* not ours (or malformed: the control plane reports it) */
		st_segs_read(segs, (uint16_t)nseg, 0, small, (uint32_t)len);
		return st_chan_input(t, small, len, handled);
	}
	hl = hdr[0] == SSH_MSG_CHANNEL_DATA ? 9 : 13;
	if (len < hl)
		return ST_OK; /* malformed: the control plane reports it */
	st_segs_read(segs, (uint16_t)nseg, 0, hdr, (uint32_t)hl);
	if ((c = st_chan_find(t, st_peek_u32(hdr + 1))) == NULL)
		return ST_OK;
	*handled = 1;
	dlen = st_peek_u32(hdr + hl - 4);
	if (dlen != len - hl) {
		t->cnt[ST_CHAN_CNT_MALFORMED]++;
		return ST_ERR_FORMAT;
	}
	st_seg_iter_init(&it, segs, (uint16_t)nseg, (uint32_t)hl, (uint32_t)dlen);
	while ((n = st_seg_iter_next(&it, &q)) != 0 && nv < ST_PKT_MAX_SEGS) {
		v[nv].p = q;
		v[nv].len = n;
		nv++;
	}
	return input_data(t, c, v, nv, dlen, hl == 13);
}

/* ---- output ---- */

/* Emits a small fixed message; ST_ERR_NO_SPACE when tx is full. */
static int emit(struct st_chan_table *t, const uint8_t *msg, size_t len)
{
	uint8_t *p;
	int r;

	if ((r = t->tx.begin(t->tx.ctx, len, &p)) != ST_OK)
		return r;
	memcpy(p, msg, len);
	return t->tx.commit(t->tx.ctx, len);
}

static int emit_id_u32(struct st_chan_table *t, uint8_t type, uint32_t id, uint32_t v)
{
	uint8_t m[9];

	m[0] = type;
	st_poke_u32(m + 1, id);
	st_poke_u32(m + 5, v);
	return emit(t, m, sizeof(m));
}

static int emit_id(struct st_chan_table *t, uint8_t type, uint32_t id)
{
	uint8_t m[5];

	m[0] = type;
	st_poke_u32(m + 1, id);
	return emit(t, m, sizeof(m));
}

static int emit_exit_status(struct st_chan_table *t, struct st_chan *c)
{
	static const char req[] = "exit-status";
	uint8_t m[1 + 4 + 4 + sizeof(req) - 1 + 1 + 4];
	size_t o = 0;

	m[o++] = SSH_MSG_CHANNEL_REQUEST;
	st_poke_u32(m + o, c->remote_id), o += 4;
	st_poke_u32(m + o, sizeof(req) - 1), o += 4;
	memcpy(m + o, req, sizeof(req) - 1), o += sizeof(req) - 1;
	m[o++] = 0; /* want reply */
	st_poke_u32(m + o, (uint32_t)c->svc.exit_status), o += 4;
	return emit(t, m, o);
}

/*
 * Hands held input to the service and delivers EOF after it. Returns ST_OK,
 * or a reflecting service's tx result (ST_ERR_NO_SPACE: come back later).
 */
static int chan_drain(struct st_chan_table *t, struct st_chan *c)
{
	int r = ST_OK;

	if (!c->attached || c->sent_close)
		return ST_OK;
	while (c->ring_len > 0) {
		uint32_t cap = c->ring_cap;
		size_t seg = cap - c->ring_head, used = 0;
		if (seg > c->ring_len)
			seg = c->ring_len;
		r = deliver(t, c, c->ring + c->ring_head, seg, &used);
		c->ring_head = (uint32_t)((c->ring_head + used) % cap);
		c->ring_len -= (uint32_t)used;
		if (r != ST_OK)
			return r;
		if (used < seg)
			break;
	}
	if (c->ring_len == 0)
		c->ring_head = 0;
	if (c->peer_eof && c->ring_len == 0 && !c->eof_delivered) {
		c->eof_delivered = 1;
		c->svc.in_eof = 1;
		if (c->svc.ops->on_eof(&c->svc) != ST_OK)
			service_failed(t, c);
	}
	return ST_OK;
}

/* Service output within the peer's window and max packet. */
static int chan_output(struct st_chan_table *t, struct st_chan *c)
{
	if (c->svc.ops->reflect != NULL)
		return ST_OK; /* its output went with its input (chan_drain) */
	while (c->remote_window > 0 && !c->svc.out_done) {
		size_t chunk = c->remote_window;
		size_t n = 0;
		uint8_t *p;
		int r;

		if (chunk > c->remote_max_packet)
			chunk = c->remote_max_packet;
		if (chunk > ST_CHAN_MAX_DATA)
			chunk = ST_CHAN_MAX_DATA;
		if ((r = t->tx.begin(t->tx.ctx, 9 + chunk, &p)) != ST_OK)
			return r;
		if (st_service_produce(&c->svc, p + 9, chunk, &n) != ST_OK) {
			service_failed(t, c);
			break;
		}
		if (n > chunk)
			n = chunk;
		if (n == 0)
			break;
		p[0] = SSH_MSG_CHANNEL_DATA;
		st_poke_u32(p + 1, c->remote_id);
		st_poke_u32(p + 5, (uint32_t)n);
		if ((r = t->tx.commit(t->tx.ctx, 9 + n)) != ST_OK)
			return r;
		c->remote_window -= (uint32_t)n;
		c->bytes_out += n;
		c->svc.bytes_out += n;
	}
	return ST_OK;
}

/* One channel's share of a pump. ST_ERR_NO_SPACE: tx full, come back later. */
/*
 * A channel waiting for its backend: confirm it once connected, drop it
 * silently if the connection failed. Returns 1 while it must keep waiting
 * (or is gone), 0 when it is an ordinary open channel now.
 */
static int chan_confirm(struct st_chan_table *t, struct st_chan *c, int *err)
{
	uint8_t m[17];
	int st;

	*err = ST_OK;
	if (!c->attached)
		return 1;
	st = st_service_ready(&c->svc);
	if (st == ST_ERR_AGAIN)
		return 1;
	if (st != ST_OK) {
		uint32_t id = c->local_id;
		t->cnt[ST_CHAN_CNT_SERVICE_ERROR]++;
		chan_release(t, c);
		if (t->tx.connect_failed != NULL)
			t->tx.connect_failed(t->tx.ctx, id, st);
		return 1;
	}
	m[0] = SSH_MSG_CHANNEL_OPEN_CONFIRMATION;
	st_poke_u32(m + 1, c->remote_id);
	st_poke_u32(m + 5, c->local_id);
	st_poke_u32(m + 9, c->local_window_max);
	st_poke_u32(m + 13, c->local_max_packet);
	if ((*err = emit(t, m, sizeof(m))) != ST_OK)
		return 1;
	c->pending_confirm = 0;
	return 0;
}

uint32_t st_chan_window_want(uint32_t cur, uint32_t cap, uint64_t bytes, uint64_t elapsed_ms,
			     uint32_t rtt_ms)
{
	uint64_t want;

	if (rtt_ms == 0 || elapsed_ms < rtt_ms || cur >= cap)
		return cur;
	want = 2 * (bytes * rtt_ms / elapsed_ms); /* twice the bytes per RTT */
	want = (want + ST_CHAN_GROW_STEP - 1) / ST_CHAN_GROW_STEP * ST_CHAN_GROW_STEP;
	if (want <= cur)
		return cur;
	return want > cap ? cap : (uint32_t)want;
}

/*
 * Once per RTT: the window grows to what the bytes consumed ask for, within
 * window_max and the table's budget. Only while nothing is held (a service
 * that keeps up; the ring, sized to the old window, is free then) and the
 * peer may still send. The growth is credit: the next WINDOW_ADJUST grants it.
 */
static void chan_grow(struct st_chan_table *t, struct st_chan *c)
{
	uint64_t now = t->now_ms, others, room;
	uint32_t want, cap = t->win_budget;

	if (t->rtt_ms == 0 || now == 0 || cap <= c->win_init)
		return;
	if (c->bdp_ms == 0 || now < c->bdp_ms) {
		c->bdp_ms = now;
		c->bdp_bytes = 0;
		return;
	}
	if (now - c->bdp_ms < t->rtt_ms)
		return;
	want = st_chan_window_want(c->local_window_max, cap, c->bdp_bytes, now - c->bdp_ms,
				   t->rtt_ms);
	c->bdp_ms = now;
	c->bdp_bytes = 0;
	if (want <= c->local_window_max || c->ring_len > 0 || c->peer_eof || c->peer_close ||
	    c->sent_close)
		return;
	/* The budget: what the other channels hold now leaves this much for this one. */
	others = t->win_sum - c->local_window_max;
	room = cap > others ? cap - others : 0;
	if (want > room)
		want = (uint32_t)room;
	if (want <= c->local_window_max) {
		t->cnt[ST_CHAN_CNT_WINDOW_AT_MAX]++;
		return;
	}
	ring_release(c);
	t->win_sum += want - c->local_window_max;
	c->credit += want - c->local_window_max;
	c->local_window_max = want;
	c->win_floor = 0;
	t->cnt[ST_CHAN_CNT_WINDOW_GROWN]++;
	if (want == cap || want == room)
		t->cnt[ST_CHAN_CNT_WINDOW_AT_MAX]++;
}

/*
 * Shrinking: consumed bytes above the floor are not granted back, so the
 * window falls as the peer sends; what the peer was granted stays its own.
 */
static void chan_withhold(struct st_chan_table *t, struct st_chan *c)
{
	uint32_t w;

	if (c->win_floor == 0 || c->credit == 0)
		return;
	w = c->local_window_max - c->win_floor;
	if (w > c->credit)
		w = c->credit;
	c->credit -= w;
	c->local_window_max -= w;
	t->win_sum -= w;
	if (c->local_window_max == c->win_floor) {
		c->win_floor = 0;
		t->cnt[ST_CHAN_CNT_WINDOW_SHRUNK]++;
	}
}

void st_chan_table_windows(const struct st_chan_table *t, struct st_chan_windows *out)
{
	out->local = out->remote = 0;
	out->largest = 0;
	for (unsigned i = 0; i < ST_CHAN_MAX; i++) {
		const struct st_chan *c = t->ch[i];
		if (c == NULL)
			continue;
		out->local += c->local_window_max;
		out->remote += c->remote_window;
		if (c->local_window_max > out->largest)
			out->largest = c->local_window_max;
	}
}

static int chan_pump(struct st_chan_table *t, struct st_chan *c)
{
	int r;

	if (c->pending_confirm && chan_confirm(t, c, &r))
		return r;

	/*
	 * Held input -> service -> output, repeated while output frees room in
	 * the service (echo) and input still waits: otherwise the peer, out of
	 * window, and we, with nothing left to send, would wait on each other.
	 * Each round consumes held input, so the loop ends; the cap is a guard.
	 */
	for (unsigned round = 0; round < 1024; round++) {
		uint64_t before = c->bytes_out;

		if ((r = chan_drain(t, c)) != ST_OK)
			return r;
		chan_grow(t, c);
		chan_withhold(t, c);
		if (!c->sent_close && !c->peer_close && !c->peer_eof &&
		    c->credit > 0 && c->credit >= c->local_window_max / 2) {
			if ((r = emit_id_u32(t, SSH_MSG_CHANNEL_WINDOW_ADJUST, c->remote_id,
					     c->credit)) != ST_OK)
				return r;
			c->local_window += c->credit;
			c->credit = 0;
		}
		if (!c->attached || c->sent_eof || c->sent_close || c->peer_close)
			break;
		if ((r = chan_output(t, c)) != ST_OK)
			return r;
		if (c->bytes_out == before || c->ring_len == 0)
			break;
	}
	if (c->svc.out_done && !c->sent_close && !c->peer_close) {
		if (c->want_exit_status && !c->sent_exit) {
			if ((r = emit_exit_status(t, c)) != ST_OK)
				return r;
			c->sent_exit = 1;
		}
		if (!c->sent_eof) {
			if ((r = emit_id(t, SSH_MSG_CHANNEL_EOF, c->remote_id)) != ST_OK)
				return r;
			c->sent_eof = 1;
		}
	}
	if (!c->sent_close && (c->peer_close || (c->svc.out_done && c->sent_eof))) {
		if ((r = emit_id(t, SSH_MSG_CHANNEL_CLOSE, c->remote_id)) != ST_OK)
			return r;
		c->sent_close = 1;
		/* Held input will never be read now. */
		c->ring_len = 0;
		c->ring_head = 0;
	}
	if (c->sent_close && c->peer_close) {
		uint32_t id = c->local_id;
		t->cnt[ST_CHAN_CNT_CLOSED]++;
		chan_release(t, c);
		tomb_add(t, id);
		if (t->tx.closed != NULL)
			t->tx.closed(t->tx.ctx, id);
	}
	return ST_OK;
}

int st_chan_pump(struct st_chan_table *t)
{
	unsigned start = t->rr;
	int r;

	t->blocked = 0;
	if (t->n_open == 0)
		return ST_OK;
	t->rr = (t->rr + 1) % ST_CHAN_MAX;
	for (unsigned k = 0; k < ST_CHAN_MAX; k++) {
		struct st_chan *c = t->ch[(start + k) % ST_CHAN_MAX];
		if (c == NULL)
			continue;
		r = chan_pump(t, c);
		if (r == ST_ERR_NO_SPACE) {
			t->blocked = 1;
			return ST_OK;
		}
		if (r != ST_OK)
			return r;
	}
	return ST_OK;
}

int st_chan_blocked(const struct st_chan_table *t)
{
	return t->blocked;
}
