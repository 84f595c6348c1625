/*
 * MetricsListen: a minimal HTTP/1.x server for Prometheus scrapes on a
 * kernel TCP socket (in the daemon's network namespace), served from the
 * admin thread's event loop (control/ctlsock.h), never from a worker.
 *
 *   GET /metrics (or HEAD)  200, Content-Type ST_METRICS_CONTENT_TYPE, the
 *                           text of the render callback
 *   GET of another path     404
 *   another method          405 (Allow: GET, HEAD)
 *   a malformed head        400; too large 431; render failure 500
 * Every answer carries Content-Length and "Connection: close", and the
 * connection is closed once it is out (no keep-alive).
 *
 * Nothing blocks: sockets are non-blocking, and everything is multiplexed
 * on one epoll descriptor that the admin thread polls next to the control
 * socket (st_ctlsock_add_event_fd). At most ST_METRICS_HTTP_CLIENTS
 * connections at a time (more are closed at once); a client has
 * ST_METRICS_HTTP_TIMEOUT_MS to send its request head and, later, between
 * pieces of the answer it reads, or it is dropped (a timerfd in the same
 * epoll set runs while clients are connected).
 *
 * Ownership: struct st_metrics_http and its clients belong to the thread
 * that calls st_metrics_http_run (the admin thread).
 */
#ifndef ST_CONTROL_METRICS_HTTP_H
#define ST_CONTROL_METRICS_HTTP_H

#include <stdint.h>

#include "crypto/buf.h"

#define ST_METRICS_HTTP_CLIENTS 64
#define ST_METRICS_HTTP_TIMEOUT_MS 2000
#define ST_METRICS_HTTP_BODY_MAX (64u << 20)

/* Appends the exposition to out: ST_OK or an error (then 500). */
typedef int (*st_metrics_http_render_fn)(void *ctx, struct st_buf *out);

struct st_metrics_http;

/*
 * Listens on addr:port (an IPv4 or IPv6 literal). Returns ST_OK,
 * ST_ERR_INVALID_ARGUMENT (not an address), ST_ERR_SYSTEM (socket, bind,
 * listen, epoll: errno kept) or ST_ERR_ALLOC.
 */
int st_metrics_http_open(const char *addr, uint16_t port, st_metrics_http_render_fn fn,
			 void *ctx, struct st_metrics_http **out);

/* The epoll descriptor to poll for readability (never -1 once open). */
int st_metrics_http_fd(const struct st_metrics_http *m);

/* The port it listens on (useful with port 0 in tests). */
uint16_t st_metrics_http_port(const struct st_metrics_http *m);

/* Accepts, reads, answers and expires what is ready; never blocks. ctx: the server. */
void st_metrics_http_run(void *m);

/* Requests answered since open (any status). */
uint64_t st_metrics_http_answered(const struct st_metrics_http *m);

/* Closes every client, the listener and the epoll set; NULL is fine. */
void st_metrics_http_close(struct st_metrics_http *m);

#endif
