/* TEST HARNESS ONLY: kernel-socket backend connector. See sockconn.h. */
#include "tests/harness/sockconn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/err.h"

static int sc_connect(void *ctx, const char *host, uint16_t port, void *owner, void **out)
{
	struct st_sockconn_set *set = ctx;
	struct addrinfo hints, *res = NULL, *ai;
	struct st_sockconn *c = NULL;
	char portstr[8];
	int fd = -1, r;

	if (set->n >= set->max)
		return ST_ERR_NO_SPACE;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL) {
		r = ST_ERR_NOT_FOUND;
		goto out;
	}
	r = ST_ERR_SYSTEM;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = ST_ERR_ALLOC;
		goto out;
	}
	c->fd = fd;
	c->owner = owner;
	c->connecting = 1;
	c->want_read = 1;
	c->next = set->head;
	if (set->head != NULL)
		set->head->prev = c;
	set->head = c;
	set->n++;
	*out = c;
	fd = -1;
	r = ST_OK;
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

static int sc_write(void *conn, const uint8_t *p, size_t n, size_t *written)
{
	struct st_sockconn *c = conn;
	ssize_t w;

	*written = 0;
	if (c->failed)
		return ST_ERR_SYSTEM;
	if (c->connecting) {
		c->want_write = 1;
		return ST_OK;
	}
	w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			c->want_write = 1;
			return ST_OK;
		}
		c->failed = 1;
		return ST_ERR_SYSTEM;
	}
	*written = (size_t)w;
	if ((size_t)w < n)
		c->want_write = 1;
	return ST_OK;
}

static int sc_read(void *conn, uint8_t *p, size_t cap, size_t *n, int *eof)
{
	struct st_sockconn *c = conn;
	ssize_t got;

	*n = 0;
	*eof = 0;
	if (c->failed)
		return ST_ERR_SYSTEM;
	if (c->connecting || cap == 0)
		return ST_OK;
	if (c->rd_eof) {
		*eof = 1;
		return ST_OK;
	}
	got = recv(c->fd, p, cap, MSG_DONTWAIT);
	if (got < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			c->want_read = 1;
			return ST_OK;
		}
		c->failed = 1;
		return ST_ERR_SYSTEM;
	}
	if (got == 0) {
		c->rd_eof = 1;
		*eof = 1;
		return ST_OK;
	}
	*n = (size_t)got;
	/* A full read may leave more behind: the next produce reads again. */
	c->want_read = (size_t)got < cap;
	return ST_OK;
}

static int sc_shutdown_write(void *conn)
{
	struct st_sockconn *c = conn;

	if (c->failed)
		return ST_ERR_SYSTEM;
	if (c->connecting) {
		c->shut_pending = 1;
		return ST_OK;
	}
	if (shutdown(c->fd, SHUT_WR) != 0 && errno != ENOTCONN)
		return ST_ERR_SYSTEM;
	return ST_OK;
}

static struct st_sockconn_set *owner_set; /* one set per harness process */

static void sc_close(void *conn)
{
	struct st_sockconn *c = conn;
	struct st_sockconn_set *set = owner_set;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		set->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	set->n--;
	close(c->fd);
	free(c);
}

/* Connected, still connecting, or failed (the harness loop settles connects). */
static int sc_state(void *conn)
{
	const struct st_sockconn *c = conn;
	if (c->failed)
		return ST_ERR_CONN_REFUSED;
	return c->connecting ? ST_ERR_AGAIN : ST_OK;
}

static const struct st_connector_ops sockconn_ops = {
	.connect = sc_connect,
	.write = sc_write,
	.read = sc_read,
	.shutdown_write = sc_shutdown_write,
	.close = sc_close,
	.state = sc_state,
};

void st_sockconn_set_init(struct st_sockconn_set *set, unsigned max)
{
	memset(set, 0, sizeof(*set));
	set->max = max;
	set->connector.ops = &sockconn_ops;
	set->connector.ctx = set;
	owner_set = set;
}

short st_sockconn_events(const struct st_sockconn *c)
{
	short ev = 0;

	if (c->failed)
		return 0;
	if (c->connecting || c->want_write)
		ev |= POLLOUT;
	if (!c->connecting && c->want_read && !c->rd_eof)
		ev |= POLLIN;
	return ev;
}

void st_sockconn_ready(struct st_sockconn *c, short revents)
{
	if (c->connecting && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0) {
			c->failed = 1;
		} else {
			c->connecting = 0;
			if (c->shut_pending)
				shutdown(c->fd, SHUT_WR);
		}
	}
	if (revents & POLLOUT)
		c->want_write = 0;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		c->want_read = 0; /* the pump's next read decides */
}
