/*
 * The services' connector (dataplane/ssh/service.h) on the worker's
 * userspace TCP: backend connections for the backend service and
 * direct-tcpip, each in a preallocated per-worker table. Every TCP event of
 * a backend pumps the session that owns it, which is when its service reads
 * and writes the backend.
 */
#include <arpa/inet.h>
#include <string.h>

#include <rte_mbuf.h>

#include "crypto/err.h"
#include "dataplane/ssh/app_internal.h"

#define TX_CHUNK_MAX (256u * 1024u) /* bytes handed to TCP per call */

static void bc_release(struct bconn *b)
{
	struct st_sshapp_worker *aw = b->aw;
	st_app_segs_free(b->rx);
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
		st_app_sess_service(s);
	}
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
		b->rx = st_app_segs_append(b->rx, c);
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
	struct dp_ip a;

	/* The dataplane has no resolver: targets are IPv4 or IPv6 addresses. */
	if (dp_ip_parse(host, &a) != 0 || dp_ip_is_any(&a))
		return ST_ERR_NOT_FOUND;
	if (aw->bc_free == NO_SLOT) {
		aw->cnt[ST_SSHAPP_BACKEND_FULL]++;
		return ST_ERR_ALLOC;
	}
	struct bconn *b = &aw->bc[aw->bc_free];
	aw->bc_free = b->next_free;
	b->in_use = 1;
	b->owner = (struct sess *)owner; /* owner is the wsess, first member of struct sess */
	if (tcp_connect_ip(aw->w->tcp, &a, port, &backend_ops, b, &b->tcp) != ST_OK) {
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
	struct rte_mbuf *c = st_app_chain_from_bytes(b->aw, p, n, &took);
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
			b->rx = st_app_seg_pop(m);
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

const struct st_connector_ops st_app_connector_ops = {
	.connect = bc_connect,
	.write = bc_write,
	.read = bc_read,
	.shutdown_write = bc_shutdown_write,
	.close = bc_close,
	.state = bc_state,
};

void st_app_bconn_table_init(struct st_sshapp_worker *aw)
{
	aw->bc_free = NO_SLOT;
	for (uint32_t i = aw->nbc; i-- > 0;) {
		aw->bc[i].aw = aw;
		aw->bc[i].next_free = aw->bc_free;
		aw->bc_free = i;
	}
}

void st_app_bconn_table_free(struct st_sshapp_worker *aw)
{
	for (uint32_t i = 0; i < aw->nbc; i++)
		st_app_segs_free(aw->bc[i].rx);
}
