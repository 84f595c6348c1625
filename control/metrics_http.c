#define _GNU_SOURCE /* accept4 */
#include "control/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "control/http_req.h"
#include "control/metrics.h"
#include "crypto/err.h"

/* epoll data: the listener, the timer, or a client slot. */
#define TAG_LISTEN UINT64_MAX
#define TAG_TIMER (UINT64_MAX - 1)
#define SWEEP_MS 250

struct hclient {
	int fd;               /* -1: free */
	int writing;          /* the answer is in `out` */
	uint64_t deadline_ms; /* reading: the whole head; writing: the next progress */
	size_t len;
	struct st_buf out;
	uint8_t req[ST_HTTP_REQ_MAX];
};

struct st_metrics_http {
	int lfd, ep, tfd;
	uint16_t port;
	int timer_armed;
	unsigned nclients;
	uint64_t answered;
	st_metrics_http_render_fn render;
	void *ctx;
	struct hclient c[ST_METRICS_HTTP_CLIENTS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int make_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return ST_OK;
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return ST_OK;
	}
	return ST_ERR_INVALID_ARGUMENT;
}

/* The sweep timer runs only while someone is connected. */
static void timer_set(struct st_metrics_http *m, int on)
{
	struct itimerspec its;

	if (on == m->timer_armed)
		return;
	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_value.tv_nsec = SWEEP_MS * 1000000L;
		its.it_interval.tv_nsec = SWEEP_MS * 1000000L;
	}
	if (timerfd_settime(m->tfd, 0, &its, NULL) == 0)
		m->timer_armed = on;
}

int st_metrics_http_open(const char *addr, uint16_t port, st_metrics_http_render_fn fn,
			 void *ctx, struct st_metrics_http **out)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct st_metrics_http *m = NULL;
	int r, one = 1;

	if ((r = make_addr(addr, port, &ss, &slen)) != ST_OK)
		return r;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ST_ERR_ALLOC;
	m->lfd = m->ep = m->tfd = -1;
	for (unsigned i = 0; i < ST_METRICS_HTTP_CLIENTS; i++)
		m->c[i].fd = -1;
	m->render = fn;
	m->ctx = ctx;
	r = ST_ERR_SYSTEM;
	if ((m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto out;
	(void)setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(m->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(m->lfd, (struct sockaddr *)&ss, slen) != 0 || listen(m->lfd, 64) != 0)
		goto out;
	slen = sizeof(ss);
	if (getsockname(m->lfd, (struct sockaddr *)&ss, &slen) != 0)
		goto out;
	m->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	if ((m->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		goto out;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->lfd, &ev) != 0)
		goto out;
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->tfd, &ev) != 0)
		goto out;
	*out = m;
	m = NULL;
	r = ST_OK;
out:
	if (m != NULL) {
		int e = errno;
		st_metrics_http_close(m);
		errno = e;
	}
	return r;
}

int st_metrics_http_fd(const struct st_metrics_http *m)
{
	return m->ep;
}

uint16_t st_metrics_http_port(const struct st_metrics_http *m)
{
	return m->port;
}

uint64_t st_metrics_http_answered(const struct st_metrics_http *m)
{
	return m->answered;
}

static void client_drop(struct st_metrics_http *m, struct hclient *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->writing = 0;
	c->len = 0;
	st_buf_free(&c->out);
	m->nclients--;
}

/* Queues a whole answer: status line, headers, and (unless HEAD) the body. */
static void respond(struct st_metrics_http *m, struct hclient *c, int status, const char *reason,
		    const char *extra, const struct st_buf *body, int head_only)
{
	static const char *const plain = "text/plain; charset=utf-8";
	char hdr[512], msg[64];
	size_t blen = body != NULL ? st_buf_avail(body) : 0;

	if (body == NULL) { /* error answers say what they are */
		snprintf(msg, sizeof(msg), "%d %s\n", status, reason);
		blen = strlen(msg);
	}
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\n\r\n",
			 status, reason, body != NULL ? ST_METRICS_CONTENT_TYPE : plain, blen,
			 extra != NULL ? extra : "");
	size_t total = (size_t)n + (head_only ? 0 : blen);
	if (st_buf_alloc(&c->out, total, total) == ST_OK &&
	    st_buf_put_bytes(&c->out, hdr, (size_t)n) == ST_OK && !head_only)
		st_buf_put_bytes(&c->out, body != NULL ? st_buf_ptr(body) : (const uint8_t *)msg,
				 blen);
	c->writing = 1;
	c->deadline_ms = now_ms() + ST_METRICS_HTTP_TIMEOUT_MS;
	m->answered++;
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)(c - m->c)};
	epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void serve(struct st_metrics_http *m, struct hclient *c, const struct st_http_req *rq)
{
	int head = strcmp(rq->method, "HEAD") == 0;

	if (!head && strcmp(rq->method, "GET") != 0) {
		respond(m, c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", NULL, 0);
		return;
	}
	if (rq->extra != 0) { /* a GET has no body */
		respond(m, c, 400, "Bad Request", NULL, NULL, 0);
		return;
	}
	if (strcmp(rq->path, "/metrics") != 0) {
		respond(m, c, 404, "Not Found", NULL, NULL, head);
		return;
	}
	struct st_buf body;
	if (st_buf_alloc(&body, 65536, ST_METRICS_HTTP_BODY_MAX) != ST_OK) {
		respond(m, c, 500, "Internal Server Error", NULL, NULL, head);
		return;
	}
	if (m->render(m->ctx, &body) == ST_OK)
		respond(m, c, 200, "OK", NULL, &body, head);
	else
		respond(m, c, 500, "Internal Server Error", NULL, NULL, head);
	st_buf_free(&body);
}

/* Sends what the socket takes. 1: all out or the client is gone (close it). */
static int client_write(struct hclient *c)
{
	while (st_buf_avail(&c->out) > 0) {
		ssize_t w = send(c->fd, st_buf_ptr(&c->out), st_buf_avail(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->out.off += (size_t)w;
			c->deadline_ms = now_ms() + ST_METRICS_HTTP_TIMEOUT_MS;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return 1;
	}
	shutdown(c->fd, SHUT_WR);
	return 1;
}

static void client_read(struct st_metrics_http *m, struct hclient *c)
{
	struct st_http_req rq;

	if (c->len == sizeof(c->req)) { /* cannot happen: the parser stops at the cap */
		client_drop(m, c);
		return;
	}
	ssize_t rd = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, MSG_DONTWAIT);
	if (rd <= 0) {
		if (!(rd < 0 && (errno == EAGAIN || errno == EINTR)))
			client_drop(m, c);
		return;
	}
	c->len += (size_t)rd;
	int r = st_http_req_parse(c->req, c->len, &rq);
	if (r == ST_ERR_AGAIN)
		return;
	if (r == ST_OK)
		serve(m, c, &rq);
	else if (r == ST_ERR_NO_SPACE)
		respond(m, c, 431, "Request Header Fields Too Large", NULL, NULL, 0);
	else
		respond(m, c, 400, "Bad Request", NULL, NULL, 0);
	if (client_write(c))
		client_drop(m, c);
}

static void accept_clients(struct st_metrics_http *m)
{
	/* Bounded per call so that a connect flood cannot hold the admin thread. */
	for (unsigned k = 0; k < 2 * ST_METRICS_HTTP_CLIENTS; k++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct hclient *c = NULL;
		for (unsigned i = 0; i < ST_METRICS_HTTP_CLIENTS && c == NULL; i++)
			if (m->c[i].fd < 0)
				c = &m->c[i];
		struct epoll_event ev = {.events = EPOLLIN};
		if (c != NULL) {
			ev.data.u64 = (uint64_t)(c - m->c);
			if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
				c = NULL;
		}
		if (c == NULL) { /* every slot taken: the scraper retries next interval */
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->writing = 0;
		c->deadline_ms = now_ms() + ST_METRICS_HTTP_TIMEOUT_MS;
		m->nclients++;
	}
}

static void sweep(struct st_metrics_http *m)
{
	uint64_t v, now = now_ms();

	(void)!read(m->tfd, &v, sizeof(v));
	for (unsigned i = 0; i < ST_METRICS_HTTP_CLIENTS; i++)
		if (m->c[i].fd >= 0 && now >= m->c[i].deadline_ms)
			client_drop(m, &m->c[i]); /* too slow to ask, or to read the answer */
}

void st_metrics_http_run(void *arg)
{
	struct st_metrics_http *m = arg;
	struct epoll_event ev[32];

	int n = epoll_wait(m->ep, ev, 32, 0);
	for (int k = 0; k < n; k++) {
		uint64_t tag = ev[k].data.u64;
		if (tag == TAG_LISTEN) {
			accept_clients(m);
		} else if (tag == TAG_TIMER) {
			sweep(m);
		} else if (tag < ST_METRICS_HTTP_CLIENTS && m->c[tag].fd >= 0) {
			struct hclient *c = &m->c[tag];
			if (c->writing) {
				if (client_write(c))
					client_drop(m, c);
			} else {
				client_read(m, c);
			}
		}
	}
	timer_set(m, m->nclients > 0);
}

void st_metrics_http_close(struct st_metrics_http *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < ST_METRICS_HTTP_CLIENTS; i++)
		client_drop(m, &m->c[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->ep >= 0)
		close(m->ep);
	if (m->tfd >= 0)
		close(m->tfd);
	free(m);
}
