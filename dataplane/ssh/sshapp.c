/*
 * The SSH application's worker hooks: setup of a worker's slot tables and
 * pools, the down ring (control plane -> sessions), the tick, and teardown.
 * Client connections are in sess_io.c, backends in backend_conn.c.
 */
#include "dataplane/ssh/sshapp.h"

#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/crypto/cryptodev.h"
#include "dataplane/ssh/app_internal.h"

#define DOWN_BURST 32
#define TICK_MS 100
/*
 * A closing session waits this long for its last bytes (the DISCONNECT) to
 * reach TCP. A peer that reads nothing (zero window) cannot hold the slot
 * longer; TCP then bounds the connection itself (tcp_cfg.close_timeout_ms).
 */
#define CLOSE_DRAIN_MS 2000
/* Seal mbufs hold one whole CHANNEL_DATA packet of ST_CHAN_MAX_DATA bytes, sealed. */
#define SEAL_ROOM (ST_CHAN_MAX_DATA + 9 + 256)
#define SEAL_POOL_MIN 256u
#define SEAL_POOL_MAX 8192u
#define SEAL_POOL_CACHE 64u /* at most SEAL_POOL_MIN / 1.5 (rte_mempool) */
#define CHAN_POOL_MIN 256u

unsigned st_sshapp_up_ring_size(const struct st_sshapp *app, unsigned ring_size)
{
	uint64_t need = (uint64_t)app->max_sessions * (ST_UP_CREDIT_MSGS + 8) + 1;
	uint64_t n = ring_size;

	while (n < need && n < RTE_RING_SZ_MASK / 2)
		n <<= 1;
	return (unsigned)n;
}

int st_sshapp_init(struct st_sshapp *app, unsigned nb_workers, unsigned ring_size)
{
	char name[RTE_RING_NAMESIZE];
	unsigned up_size = st_sshapp_up_ring_size(app, ring_size);

	for (unsigned i = 0; i < nb_workers && i < DP_MAX_WORKERS; i++) {
		app->pub[i] = rte_zmalloc("st_app_pub", sizeof(*app->pub[i]), RTE_CACHE_LINE_SIZE);
		app->sess_pub[i] = rte_zmalloc("st_sess_pub",
					       sizeof(*app->sess_pub[i]) * app->max_sessions,
					       RTE_CACHE_LINE_SIZE);
		app->up_done[i] = rte_zmalloc("st_up_done",
					      sizeof(*app->up_done[i]) * app->max_sessions,
					      RTE_CACHE_LINE_SIZE);
		if (app->pub[i] == NULL || app->sess_pub[i] == NULL || app->up_done[i] == NULL) {
			st_sshapp_fini(app);
			return ST_ERR_ALLOC;
		}
		st_seq_init(&app->pub[i]->sc);
		for (uint32_t k = 0; k < app->max_sessions; k++)
			st_seq_init(&app->sess_pub[i][k].sc);
		snprintf(name, sizeof(name), "st_up%u", i);
		app->up[i] = rte_ring_create(name, up_size, SOCKET_ID_ANY,
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
		rte_free(app->pub[i]);
		rte_free(app->sess_pub[i]);
		rte_free(app->up_done[i]);
		app->up_done[i] = NULL;
		app->pub[i] = NULL;
		app->sess_pub[i] = NULL;
	}
}

uint32_t st_sshapp_seal_mbufs(const struct st_sshapp *app)
{
	uint64_t n = app->seal_mbufs;

	/* A sending session holds at most its TCP send buffer in flight: a few
	 * seal mbufs. Two per slot covers every session sending at once at
	 * modest speed; the pool being empty only holds the sessions that need it. */
	if (n == 0) {
		n = (uint64_t)app->max_sessions * 2;
		n = n < SEAL_POOL_MIN ? SEAL_POOL_MIN : n > SEAL_POOL_MAX ? SEAL_POOL_MAX : n;
	}
	return (uint32_t)n;
}

/* ---- the channel pool: a session's second and later channels ---- */

static void *chan_pool_get(void *ctx)
{
	void *obj;

	return rte_mempool_get(ctx, &obj) == 0 ? obj : NULL;
}

static void chan_pool_put(void *ctx, void *chan)
{
	rte_mempool_put(ctx, chan);
}

/* Half a channel per slot, at least CHAN_POOL_MIN: most sessions have only the inline one. */
static uint32_t chan_pool_size(const struct st_sshapp *app)
{
	uint32_t n = app->max_sessions / 2;
	return n < CHAN_POOL_MIN ? CHAN_POOL_MIN : n;
}

/* ---- worker hooks ---- */

static void worker_free(struct st_sshapp_worker *aw)
{
	if (aw->res_mbuf != NULL)
		rte_pktmbuf_free(aw->res_mbuf);
	if (aw->oversize != NULL) {
		st_wipe(aw->oversize, ST_CRYPTO_HEADROOM + aw->oversize_hwm);
		rte_free(aw->oversize);
	}
	rte_free(aw->txc);
	rte_mempool_free(aw->seal_pool);
	rte_mempool_free(aw->chan_pool);
	rte_free(aw->sess);
	rte_free(aw->bc);
	rte_free(aw);
}

int st_sshapp_start(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;
	struct st_sshapp_worker *aw;
	int socket = (int)rte_socket_id();
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t maxp = app->wcfg.max_packet ? app->wcfg.max_packet : ST_RECORD_DEFAULT_MAX_PACKET;
	int r;

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
	/* Larger than any packet the record layer seals (seal size of max_packet). */
	aw->oversize_cap = maxp + 256;
	aw->oversize = rte_malloc_socket("st_oversize", ST_CRYPTO_HEADROOM + aw->oversize_cap,
					 RTE_CACHE_LINE_SIZE, socket);
	snprintf(name, sizeof(name), "st_seal%u", w->id);
	/*
	 * Only this worker allocates and frees these, but a per-lcore cache still
	 * pays: it hands back the mbufs freed last (LIFO), still in the CPU's
	 * cache, where the pool's ring alone cycles through all of them, each one
	 * cold when sealed into (that made the source service's writes 2x slower).
	 */
	aw->seal_pool = rte_pktmbuf_pool_create(name, st_sshapp_seal_mbufs(app), SEAL_POOL_CACHE, 0,
						RTE_PKTMBUF_HEADROOM + SEAL_ROOM, socket);
	snprintf(name, sizeof(name), "st_chan%u", w->id);
	aw->chan_pool = rte_mempool_create(name, chan_pool_size(app), sizeof(struct st_chan), 32, 0,
					   NULL, NULL, NULL, NULL, socket, 0);
	/* Asynchronous sealing needs the worker's seal ring (sess_io.c). */
	if (app->wcfg.be != NULL && app->wcfg.be->enqueue_burst != NULL &&
	    app->wcfg.be->dequeue_burst != NULL)
		aw->txc = rte_zmalloc_socket("st_txc", sizeof(*aw->txc), RTE_CACHE_LINE_SIZE, socket);
	if (aw->sess == NULL || aw->bc == NULL || aw->oversize == NULL || aw->seal_pool == NULL ||
	    aw->chan_pool == NULL ||
	    (aw->txc == NULL && app->wcfg.be != NULL && app->wcfg.be->enqueue_burst != NULL &&
	     app->wcfg.be->dequeue_burst != NULL)) {
		worker_free(aw);
		return ST_ERR_ALLOC;
	}
	aw->seal_room = SEAL_ROOM;
	aw->port_room = rte_pktmbuf_data_room_size(w->pool) - RTE_PKTMBUF_HEADROOM;
	aw->seal_reserve = aw->seal_pool->size / 4;
	/* One largest packet and its MAC must fit in what a session holds. */
	aw->rx_hold_max = maxp + 256;
	aw->free_head = NO_SLOT;
	aw->act_head = NO_SLOT;
	aw->starved_head = aw->starved_tail = NO_SLOT;
	for (uint32_t i = aw->nsess; i-- > 0;) {
		aw->sess[i].aw = aw;
		aw->sess[i].slot = i;
		aw->sess[i].gen = 1;
		aw->sess[i].act_prev = aw->sess[i].act_next = NO_SLOT;
		aw->sess[i].next_free = aw->free_head;
		aw->free_head = i;
	}
	st_app_bconn_table_init(aw);
	/* A cryptodev backend needs this worker's own queue pair. */
	if (app->wcfg.be == &st_crypto_backend_cryptodev && (r = st_cryptodev_bind_qp(w->id)) != ST_OK) {
		worker_free(aw);
		return r;
	}
	aw->connector.ops = &st_app_connector_ops;
	aw->connector.ctx = aw;
	aw->wcfg = app->wcfg;
	aw->wcfg.connector = &aw->connector;
	aw->chan_pool_ops.get = chan_pool_get;
	aw->chan_pool_ops.put = chan_pool_put;
	aw->chan_pool_ops.ctx = aw->chan_pool;
	aw->wcfg.chan_pool = &aw->chan_pool_ops;
	aw->wcfg.tx_ops = st_app_tx_ops_proto; /* ctx: each session (sess_io.c) */
	aw->last_tick_ms = w->now_ms;

	struct tcp_listen_cfg lcfg = {app->max_sessions, 0};
	if (app->n_listen == 0)
		r = tcp_listen(w->tcp, 0, app->listen_port, &st_app_client_ops, aw, &lcfg);
	else
		for (unsigned i = 0; i < app->n_listen; i++)
			if ((r = tcp_listen_ip(w->tcp, &app->listen_addr[i], app->listen_ports[i],
					       &st_app_client_ops, aw, &lcfg)) != ST_OK)
				break;
	if (r != ST_OK) {
		worker_free(aw);
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
	/* Seals that came back go to TCP; waiting ones go to the device. */
	st_app_crypto_poll(aw);
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
		st_app_sess_service(s);
	}
	st_app_starved_retry(aw);
	/* Time-driven work (rekey by time, closing deadlines, the sessions'
	 * published counters) ten times a second. */
	int stopping = __atomic_load_n(&app->stopping, __ATOMIC_ACQUIRE);
	if (w->now_ms - aw->last_tick_ms >= TICK_MS) {
		aw->last_tick_ms = w->now_ms;
		/* The active list, not the slot table: an idle worker with a million
		 * slots and a few sessions does a few sessions' work. */
		for (uint32_t i = aw->act_head, next; i != NO_SLOT; i = next) {
			struct sess *s = &aw->sess[i];
			next = s->act_next; /* s may be freed below */
			st_app_sess_publish(s, s->gen);
			st_wsess_tick(&s->ws, w->now_ms);
			if (stopping && !st_wsess_done(&s->ws))
				st_wsess_close(&s->ws, ST_CLOSE_SHUTDOWN, 0);
			st_app_sess_service(s);
			if (s->active && s->closing_ms && w->now_ms - s->closing_ms >= CLOSE_DRAIN_MS) {
				aw->cnt[ST_SSHAPP_CLOSE_DRAIN_TIMEOUT]++;
				st_app_sess_end(s);
			}
		}
	}
	if (w->now_ms - aw->last_pub_ms >= ST_SSHAPP_PUB_MS) {
		aw->last_pub_ms = w->now_ms;
		st_app_publish(aw);
	}
}

int st_sshapp_can_sleep(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;

	struct st_sshapp_worker *aw = app->w[w->id];

	/* A starved session whose mbufs are back is retried at the next pass: no sleeping
	 * then. One still waiting needs an acknowledgement or a free, which come with
	 * received packets, and those wake the worker. */
	return aw == NULL || (rte_ring_empty(app->down[w->id]) && !st_app_starved_ready(aw) &&
			      !st_app_crypto_busy(aw)); /* seals in flight: poll for them */
}

void st_sshapp_stop(struct dp_worker *w, void *arg)
{
	struct st_sshapp *app = arg;
	struct st_sshapp_worker *aw = app->w[w->id];

	if (aw == NULL)
		return;
	st_app_crypto_drain(aw); /* the device is done with every session's mbufs and keys */
	for (uint32_t i = 0; i < aw->nsess; i++) {
		struct sess *s = &aw->sess[i];
		if (!s->active)
			continue;
		st_wsess_free(&s->ws);
		st_app_segs_free(s->rx);
		st_app_segs_free(s->txq_head);
	}
	st_app_bconn_table_free(aw);
	aw->active = 0;
	st_app_publish(aw); /* the last figures, for the shutdown and `stats` */
	app->w[w->id] = NULL;
	worker_free(aw);
	st_record_thread_fini(); /* this lcore's bounce buffer for scattered packets */
}
