#include "dataplane/ssh/sshapp.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "crypto/err.h"
#include "dataplane/crypto/cryptodev.h"

#define DOWN_BURST 32
#define TICK_MS 100
#define TX_CHUNK_MAX (256u * 1024u) /* bytes handed to TCP per call */
#define NO_SLOT UINT32_MAX
#define SERVICE_PASSES 4
/*
 * A closing session waits this long for its last bytes (the DISCONNECT) to
 * reach TCP. A peer that reads nothing (zero window) cannot hold the slot
 * longer; TCP then bounds the connection itself (tcp_cfg.close_timeout_ms).
 */
#define CLOSE_DRAIN_MS 2000

struct sess {
	struct st_wsess ws;      /* first: wsess hands itself to services as `owner` */
	struct st_sshapp_worker *aw;
	tcp_handle_t tcp;        /* 0 once TCP is gone */
	struct rte_mbuf *rx;     /* received segments not yet taken by the session */
	uint32_t slot;
	uint32_t next_free;
	uint32_t gen;            /* never 0 (planes.h) */
	uint8_t active;
	uint64_t closing_ms;     /* when the session started closing, 0 = it is not */
};

/* A backend TCP connection opened for a service. */
struct bconn {
	struct st_sshapp_worker *aw;
	struct sess *owner;      /* NULL after the service closed it */
	tcp_handle_t tcp;
	struct rte_mbuf *rx;
	uint32_t next_free;
	uint8_t in_use, connected, eof, failed;
	uint8_t shutdown_pending; /* half-close asked for before the connection completed */
};


struct st_sshapp_worker {
	struct dp_worker *w;
	struct st_sshapp *app;
	struct st_wsess_config wcfg; /* app->wcfg plus this worker's connector */
	struct st_connector connector;
	struct sess *sess;
	uint32_t nsess, free_head, active;
	struct bconn *bc;
	uint32_t nbc, bc_free;
	uint64_t last_tick_ms;
	uint64_t cnt[ST_SSHAPP_COUNTER_COUNT];
	struct st_wsess_worker_stats wstats;
};

const char *st_sshapp_counter_name(enum st_sshapp_counter c)
{
	switch (c) {
#define ST_SSHAPP_CASE(name, text) \
	case ST_SSHAPP_##name:     \
		return #name;
		ST_SSHAPP_COUNTERS(ST_SSHAPP_CASE)
#undef ST_SSHAPP_CASE
	default:
		return "unknown";
	}
}

int st_sshapp_init(struct st_sshapp *app, unsigned nb_workers, unsigned ring_size)
{
	char name[RTE_RING_NAMESIZE];

	app->ctl_wake_fd = -1;
	for (unsigned i = 0; i < nb_workers && i < DP_MAX_WORKERS; i++) {
		snprintf(name, sizeof(name), "st_up%u", i);
		app->up[i] = rte_ring_create(name, ring_size, SOCKET_ID_ANY,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "st_down%u", i);
		app->down[i] = rte_ring_create(name, ring_size, SOCKET_ID_ANY,
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (app->up[i] == NULL || app->down[i] == NULL) {
			st_sshapp_fini(app);
			return ST_ERR_ALLOC;
		}
	}
	return ST_OK;
}

static void ring_drain_free(struct rte_ring *r)
{
	void *m;
	while (r != NULL && rte_ring_dequeue(r, &m) == 0)
		st_plane_msg_free(m);
}

void st_sshapp_fini(struct st_sshapp *app)
{
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++) {
		ring_drain_free(app->up[i]);
		ring_drain_free(app->down[i]);
		rte_ring_free(app->up[i]);
		rte_ring_free(app->down[i]);
		app->up[i] = app->down[i] = NULL;
	}
}

/* ---- moving bytes between TCP and a session ---- */

/* Builds an mbuf chain holding p[0..n); NULL when no mbuf is free. */
static struct rte_mbuf *chain_from_bytes(struct st_sshapp_worker *aw, const uint8_t *p, size_t n,
					 size_t *took)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	size_t off = 0;

	while (off < n) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(aw->w->pool);
		if (m == NULL) {
			aw->cnt[ST_SSHAPP_TX_NOMBUF]++;
			break;
		}
		uint16_t room = rte_pktmbuf_tailroom(m);
		size_t len = n - off < room ? n - off : room;
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), p + off, len);
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += (uint32_t)len;
		}
		last = m;
		off += len;
	}
	*took = off;
	return head;
}

/* Frees the first segment of a segment list and returns the rest. */
static struct rte_mbuf *seg_pop(struct rte_mbuf *m)
{
	struct rte_mbuf *next = m->next;
	m->next = NULL;
	m->nb_segs = 1;
	rte_pktmbuf_free_seg(m);
	return next;
}

static void segs_free(struct rte_mbuf *m)
{
	while (m != NULL)
		m = seg_pop(m);
}

/* Feeds received bytes into the session until TCP has none or the session is full. */
static int sess_rx(struct sess *s)
{
	struct tcp_worker *tw = s->aw->w->tcp;
	int progress = 0;

	for (;;) {
		if (s->rx == NULL) {
			struct rte_mbuf *c;
			if (s->tcp == 0)
				return progress;
			/* Returns the byte count, 0 when nothing is queued. */
			int r = tcp_read(tw, s->tcp, &c);
			if (r == ST_ERR_EOF) {
				/* An SSH client half-closes only when it is done. */
				st_wsess_peer_gone(&s->ws);
				return 1;
			}
			if (r <= 0 || c == NULL)
				return progress;
			s->rx = c;
		}
		while (s->rx != NULL) {
			struct rte_mbuf *m = s->rx;
			size_t used = 0;
			if (m->data_len > 0) {
				int r = st_wsess_input(&s->ws, rte_pktmbuf_mtod(m, uint8_t *),
						       m->data_len, &used);
				if (r != ST_OK) { /* the session is closing: nothing more to read */
					segs_free(s->rx);
					s->rx = NULL;
					return 1;
				}
			}
			progress |= used > 0;
			if (used < m->data_len) {
				/* Reassembly buffer full: keep the rest (TCP backpressure). */
				m->data_off += (uint16_t)used;
				m->data_len -= (uint16_t)used;
				return progress;
			}
			s->rx = seg_pop(m);
		}
	}
}

/* Moves sealed bytes from the session to TCP, as far as the send space allows. */
static int sess_tx(struct sess *s)
{
	struct tcp_worker *tw = s->aw->w->tcp;
	const uint8_t *p;
	size_t n, took;

	if (s->tcp == 0)
		return 0;
	st_wsess_tx_peek(&s->ws, &p, &n);
	if (n == 0)
		return 0;
	uint32_t space = tcp_send_space(tw, s->tcp);
	if (space == 0)
		return 0;
	if (n > space)
		n = space;
	if (n > TX_CHUNK_MAX)
		n = TX_CHUNK_MAX;
	struct rte_mbuf *c = chain_from_bytes(s->aw, p, n, &took);
	if (c == NULL)
		return 0;
	if (tcp_write(tw, s->tcp, c) != ST_OK) {
		rte_pktmbuf_free(c);
		return 0;
	}
	st_wsess_tx_consume(&s->ws, took);
	return 1;
}

static void sess_free(struct sess *s)
{
	struct st_sshapp_worker *aw = s->aw;

	st_wsess_free(&s->ws);
	segs_free(s->rx);
	s->rx = NULL;
	s->active = 0;
	s->tcp = 0;
	s->closing_ms = 0;
	if (++s->gen == 0) /* handles to the old connection are now stale */
		s->gen = 1;
	s->next_free = aw->free_head;
	aw->free_head = s->slot;
	aw->active--;
}

/*
 * Ends a session: TCP sends what it was handed and the FIN on its own (the
 * handle is given back), and the slot is free at once.
 */
static void sess_end(struct sess *s)
{
	if (s->tcp != 0)
		tcp_release(s->aw->w->tcp, s->tcp);
	s->tcp = 0;
	sess_free(s);
}

/* Runs a session until nothing moves, then ends it when it is done. */
static void sess_service(struct sess *s)
{
	for (int pass = 0; pass < SERVICE_PASSES; pass++) {
		int progress = sess_rx(s);
		progress |= sess_tx(s);
		if (st_wsess_wants_pump(&s->ws)) {
			st_wsess_pump(&s->ws);
			progress |= sess_tx(s);
		}
		if (!progress)
			break;
	}
	if (!st_wsess_done(&s->ws)) {
		if (s->ws.state == ST_WSESS_CLOSING && s->closing_ms == 0)
			s->closing_ms = s->aw->w->now_ms ? s->aw->w->now_ms : 1;
		return;
	}
	sess_end(s);
}

/* ---- TCP events of client connections ---- */

static int up_deliver(void *ctx, struct st_plane_msg *m)
{
	struct st_sshapp_worker *aw = ctx;
	struct st_sshapp *app = aw->app;
	uint64_t one = 1;

	if (rte_ring_sp_enqueue(app->up[aw->w->id], m) != 0) {
		aw->cnt[ST_SSHAPP_UP_RING_FULL]++;
		st_plane_msg_free(m);
		return ST_ERR_NO_SPACE;
	}
	/* The enqueue is ordered before the flag load (the ring's release and this fence). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&app->ctl_sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&app->ctl_sleeping, 0, __ATOMIC_ACQ_REL) && app->ctl_wake_fd >= 0)
		(void)!write(app->ctl_wake_fd, &one, sizeof(one)); /* its timeout wakes it anyway */
	return ST_OK;
}

static void ip_str(uint32_t host_order, char *out, size_t outsz)
{
	struct in_addr a = {htonl(host_order)};
	inet_ntop(AF_INET, &a, out, (socklen_t)outsz);
}

static const struct tcp_ops client_ops;

static int on_accepted(void *lctx, tcp_handle_t h, void **cctx)
{
	struct st_sshapp_worker *aw = lctx;
	struct st_plane_sink up = {up_deliver, aw};
	struct tcp_conn_info ti;
	char peer[ST_IP_STR], local[ST_IP_STR];

	if (aw->app->stopping || aw->free_head == NO_SLOT) {
		aw->cnt[ST_SSHAPP_REFUSED_FULL]++;
		return -1;
	}
	struct sess *s = &aw->sess[aw->free_head];
	struct st_conn_handle ch = {aw->w->id, s->gen, s->slot};
	if (st_wsess_init(&s->ws, &aw->wcfg, ch, &up, &aw->wstats, aw->w->now_ms) != ST_OK) {
		aw->cnt[ST_SSHAPP_REFUSED_INIT]++;
		return -1;
	}
	aw->free_head = s->next_free;
	aw->active++;
	aw->cnt[ST_SSHAPP_ACCEPTED]++;
	s->active = 1;
	s->tcp = h;
	s->rx = NULL;
	s->closing_ms = 0;
	*cctx = s;
	if (tcp_conn_info(aw->w->tcp, h, &ti) == ST_OK) {
		ip_str(ti.raddr, peer, sizeof(peer));
		ip_str(ti.laddr, local, sizeof(local));
		st_wsess_open(&s->ws, peer, ti.rport, local, ti.lport);
	}
	sess_service(s);
	return 0;
}

static void on_readable(void *ctx, tcp_handle_t h)
{
	(void)h;
	sess_service(ctx);
}

static void on_writable(void *ctx, tcp_handle_t h)
{
	(void)h;
	sess_service(ctx);
}

static void on_closed(void *ctx, tcp_handle_t h, int err)
{
	struct sess *s = ctx;
	(void)h;
	(void)err;
	s->tcp = 0;
	if (!st_wsess_done(&s->ws))
		st_wsess_peer_gone(&s->ws);
	sess_service(s);
}

static const struct tcp_ops client_ops = {
	.accepted = on_accepted,
	.readable = on_readable,
	.writable = on_writable,
	.closed = on_closed,
};

/* ---- backend connections (the services' connector on the userspace TCP) ---- */

static void bc_release(struct bconn *b)
{
	struct st_sshapp_worker *aw = b->aw;
	segs_free(b->rx);
	memset(b, 0, sizeof(*b));
	b->aw = aw;
	b->next_free = aw->bc_free;
	aw->bc_free = (uint32_t)(b - aw->bc);
}

/* Any backend event: the service reads/writes the backend only when pumped. */
static void bc_wake(struct bconn *b)
{
	/* Pumping may close this backend (bc_close clears b->owner): keep the session. */
	struct sess *s = b->owner;
	if (s != NULL && s->active) {
		st_wsess_pump(&s->ws);
		sess_service(s);
	}
}

/* Appends a segment list to another (either may be empty). */
static struct rte_mbuf *segs_append(struct rte_mbuf *list, struct rte_mbuf *more)
{
	if (list == NULL)
		return more;
	struct rte_mbuf *t = list;
	while (t->next != NULL)
		t = t->next;
	t->next = more;
	return list;
}

static void bc_connected(void *ctx, tcp_handle_t h)
{
	struct bconn *b = ctx;
	b->connected = 1;
	if (b->shutdown_pending) {
		tcp_shutdown(b->aw->w->tcp, h); /* FIN goes after whatever is queued */
	}
	bc_wake(b);
}

static void bc_event(void *ctx, tcp_handle_t h)
{
	(void)h;
	bc_wake(ctx);
}

static void bc_closed(void *ctx, tcp_handle_t h, int err)
{
	struct bconn *b = ctx;
	struct rte_mbuf *c = NULL;

	/* The handle dies with this call (the stack keeps queued data readable until
	 * here): keep what the backend sent before its FIN, at most its receive buffer. */
	if (b->owner != NULL && tcp_read(b->aw->w->tcp, h, &c) > 0 && c != NULL)
		b->rx = segs_append(b->rx, c);
	b->tcp = 0;
	if (err == ST_OK)
		b->eof = 1;
	else
		b->failed = 1;
	if (b->owner == NULL) {
		bc_release(b); /* the service had already let go */
		return;
	}
	if (err != ST_OK && !b->connected)
		b->aw->cnt[ST_SSHAPP_BACKEND_FAILED]++;
	bc_wake(b);
}

static const struct tcp_ops backend_ops = {
	.connected = bc_connected,
	.readable = bc_event,
	.writable = bc_event,
	.closed = bc_closed,
};

static int bc_connect(void *ctx, const char *host, uint16_t port, void *owner, void **conn)
{
	struct st_sshapp_worker *aw = ctx;
	struct in_addr a;

	/* The dataplane has no resolver: targets are IPv4 addresses. */
	if (inet_pton(AF_INET, host, &a) != 1)
		return ST_ERR_NOT_FOUND;
	if (aw->bc_free == NO_SLOT) {
		aw->cnt[ST_SSHAPP_BACKEND_FULL]++;
		return ST_ERR_ALLOC;
	}
	struct bconn *b = &aw->bc[aw->bc_free];
	aw->bc_free = b->next_free;
	b->in_use = 1;
	b->owner = (struct sess *)owner; /* owner is the wsess, first member of struct sess */
	if (tcp_connect(aw->w->tcp, ntohl(a.s_addr), port, &backend_ops, b, &b->tcp) != ST_OK) {
		aw->cnt[ST_SSHAPP_BACKEND_FAILED]++;
		bc_release(b);
		return ST_ERR_SYSTEM;
	}
	aw->cnt[ST_SSHAPP_BACKEND_CONNECTS]++;
	*conn = b;
	return ST_OK;
}

static int bc_write(void *conn, const uint8_t *p, size_t n, size_t *written)
{
	struct bconn *b = conn;
	struct tcp_worker *tw = b->aw->w->tcp;
	size_t took;

	*written = 0;
	if (b->failed || (b->tcp == 0 && b->connected))
		return ST_ERR_SYSTEM;
	if (!b->connected || n == 0)
		return ST_OK;
	uint32_t space = tcp_send_space(tw, b->tcp);
	if (n > space)
		n = space;
	if (n > TX_CHUNK_MAX)
		n = TX_CHUNK_MAX;
	if (n == 0)
		return ST_OK;
	struct rte_mbuf *c = chain_from_bytes(b->aw, p, n, &took);
	if (c == NULL)
		return ST_OK;
	if (tcp_write(tw, b->tcp, c) != ST_OK) {
		rte_pktmbuf_free(c);
		return ST_OK;
	}
	*written = took;
	return ST_OK;
}

static int bc_read(void *conn, uint8_t *p, size_t cap, size_t *n, int *eof)
{
	struct bconn *b = conn;
	size_t got = 0;

	*n = 0;
	*eof = 0;
	while (got < cap) {
		if (b->rx == NULL) {
			struct rte_mbuf *c;
			if (b->tcp == 0)
				break;
			int r = tcp_read(b->aw->w->tcp, b->tcp, &c);
			if (r == ST_ERR_EOF)
				b->eof = 1;
			if (r <= 0 || c == NULL)
				break;
			b->rx = c;
		}
		struct rte_mbuf *m = b->rx;
		size_t take = m->data_len < cap - got ? m->data_len : cap - got;
		memcpy(p + got, rte_pktmbuf_mtod(m, uint8_t *), take);
		got += take;
		if (take < m->data_len) {
			m->data_off += (uint16_t)take;
			m->data_len -= (uint16_t)take;
		} else {
			b->rx = seg_pop(m);
		}
	}
	*n = got;
	if (got == 0 && b->failed)
		return ST_ERR_SYSTEM;
	*eof = got == 0 && b->rx == NULL && (b->eof || (b->tcp == 0 && b->connected));
	return ST_OK;
}

static int bc_shutdown_write(void *conn)
{
	struct bconn *b = conn;
	if (b->tcp == 0)
		return ST_OK;
	if (!b->connected) {
		/* Shutting down a connection that is still opening would abort it. */
		b->shutdown_pending = 1;
		return ST_OK;
	}
	tcp_shutdown(b->aw->w->tcp, b->tcp);
	return ST_OK;
}

static void bc_close(void *conn)
{
	struct bconn *b = conn;
	b->owner = NULL;
	/* TCP finishes the close alone (bounded by its close deadline): no more callbacks. */
	if (b->tcp != 0)
		tcp_release(b->aw->w->tcp, b->tcp);
	bc_release(b);
}

static int bc_state(void *conn)
{
	const struct bconn *b = conn;
	if (b->connected)
		return ST_OK;
	return b->failed ? ST_ERR_CONN_REFUSED : ST_ERR_AGAIN;
}

static const struct st_connector_ops connector_ops = {
	.connect = bc_connect,
	.write = bc_write,
	.read = bc_read,
	.shutdown_write = bc_shutdown_write,
	.close = bc_close,
	.state = bc_state,
};

/* ---- worker hooks ---- */

int st_sshapp_start(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;
	struct st_sshapp_worker *aw;
	int socket = (int)rte_socket_id();

	aw = rte_zmalloc_socket("st_sshapp", sizeof(*aw), RTE_CACHE_LINE_SIZE, socket);
	if (aw == NULL)
		return ST_ERR_ALLOC;
	aw->w = w;
	aw->app = app;
	aw->nsess = app->max_sessions;
	aw->nbc = app->max_sessions;
	aw->sess = rte_zmalloc_socket("st_sess", sizeof(*aw->sess) * aw->nsess,
				      RTE_CACHE_LINE_SIZE, socket);
	aw->bc = rte_zmalloc_socket("st_bconn", sizeof(*aw->bc) * aw->nbc, RTE_CACHE_LINE_SIZE,
				    socket);
	if (aw->sess == NULL || aw->bc == NULL) {
		rte_free(aw->sess);
		rte_free(aw->bc);
		rte_free(aw);
		return ST_ERR_ALLOC;
	}
	aw->free_head = NO_SLOT;
	for (uint32_t i = aw->nsess; i-- > 0;) {
		aw->sess[i].aw = aw;
		aw->sess[i].slot = i;
		aw->sess[i].gen = 1;
		aw->sess[i].next_free = aw->free_head;
		aw->free_head = i;
	}
	aw->bc_free = NO_SLOT;
	for (uint32_t i = aw->nbc; i-- > 0;) {
		aw->bc[i].aw = aw;
		aw->bc[i].next_free = aw->bc_free;
		aw->bc_free = i;
	}
	/* A cryptodev backend needs this worker's own queue pair. */
	if (app->wcfg.be == &st_crypto_backend_cryptodev) {
		int r = st_cryptodev_bind_qp(w->id);
		if (r != ST_OK) {
			rte_free(aw->sess);
			rte_free(aw->bc);
			rte_free(aw);
			return r;
		}
	}
	aw->connector.ops = &connector_ops;
	aw->connector.ctx = aw;
	aw->wcfg = app->wcfg;
	aw->wcfg.connector = &aw->connector;
	aw->last_tick_ms = w->now_ms;

	struct tcp_listen_cfg lcfg = {app->max_sessions, 0};
	int r = tcp_listen(w->tcp, app->listen_ip, app->listen_port, &client_ops, aw, &lcfg);
	if (r != ST_OK) {
		rte_free(aw->sess);
		rte_free(aw->bc);
		rte_free(aw);
		return r;
	}
	app->w[w->id] = aw;
	return ST_OK;
}

void st_sshapp_poll(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;
	struct st_sshapp_worker *aw = app->w[w->id];
	void *msgs[DOWN_BURST];

	if (aw == NULL)
		return;
	unsigned n = rte_ring_sc_dequeue_burst(app->down[w->id], msgs, DOWN_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct st_plane_msg *m = msgs[i];
		struct st_conn_handle h = m->conn;
		struct sess *s = h.slot < aw->nsess ? &aw->sess[h.slot] : NULL;
		if (h.worker != w->id || s == NULL || !s->active || s->gen != h.gen) {
			aw->cnt[ST_SSHAPP_DOWN_STALE]++;
			st_plane_msg_free(m);
			continue;
		}
		st_wsess_down(&s->ws, m);
		sess_service(s);
	}
	/* Time-driven work (rekey by time, held output) ten times a second. */
	if (w->now_ms - aw->last_tick_ms >= TICK_MS) {
		aw->last_tick_ms = w->now_ms;
		for (uint32_t i = 0; i < aw->nsess; i++) {
			struct sess *s = &aw->sess[i];
			if (!s->active)
				continue;
			st_wsess_tick(&s->ws, w->now_ms);
			if (app->stopping && !st_wsess_done(&s->ws))
				st_wsess_close(&s->ws, ST_CLOSE_SHUTDOWN, 0);
			sess_service(s);
			if (s->active && s->closing_ms && w->now_ms - s->closing_ms >= CLOSE_DRAIN_MS) {
				aw->cnt[ST_SSHAPP_CLOSE_DRAIN_TIMEOUT]++;
				sess_end(s);
			}
		}
	}
}

int st_sshapp_can_sleep(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;

	return app->w[w->id] == NULL || rte_ring_empty(app->down[w->id]);
}

void st_sshapp_stop(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;
	struct st_sshapp_worker *aw = app->w[w->id];

	if (aw == NULL)
		return;
	for (uint32_t i = 0; i < aw->nsess; i++)
		if (aw->sess[i].active) {
			st_wsess_free(&aw->sess[i].ws);
			segs_free(aw->sess[i].rx);
		}
	for (uint32_t i = 0; i < aw->nbc; i++)
		segs_free(aw->bc[i].rx);
	app->w[w->id] = NULL;
	rte_free(aw->sess);
	rte_free(aw->bc);
	rte_free(aw);
}

void st_sshapp_worker_stats(const struct st_sshapp *app, unsigned worker,
			    struct st_sshapp_stats *out,
			    const struct st_wsess_worker_stats **wstats)
{
	const struct st_sshapp_worker *aw = worker < DP_MAX_WORKERS ? app->w[worker] : NULL;

	memset(out, 0, sizeof(*out));
	*wstats = NULL;
	if (aw == NULL)
		return;
	memcpy(out->counters, aw->cnt, sizeof(out->counters));
	out->sessions_active = aw->active;
	out->sessions_max = aw->nsess;
	{
		struct tcp_worker_info ti;

		tcp_worker_info(aw->w->tcp, &ti);
		out->tcp_orphans = ti.orphans;
		out->tcp_time_wait = ti.time_wait;
		out->tcp_ooo_bytes = ti.ooo_bytes;
	}
	*wstats = &aw->wstats;
}

int st_sshapp_session_stats(const struct st_sshapp *app, struct st_conn_handle h,
			    struct st_wsess_stats *out)
{
	const struct st_sshapp_worker *aw = h.worker < DP_MAX_WORKERS ? app->w[h.worker] : NULL;
	if (aw == NULL || h.slot >= aw->nsess)
		return ST_ERR_STALE;
	const struct sess *s = &aw->sess[h.slot];
	if (!s->active || s->gen != h.gen)
		return ST_ERR_STALE;
	*out = s->ws.st;
	return ST_OK;
}
