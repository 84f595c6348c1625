/*
 * TEST HARNESS ONLY. A backend connector (dataplane/ssh/service.h) over
 * non-blocking kernel TCP sockets, for build/sshterm-harness. The daemon
 * uses the DPDK userspace TCP connector instead.
 *
 * The harness polls every connection's fd with st_sockconn_events() and,
 * when poll reports something, calls st_sockconn_ready() and then
 * st_wsess_pump() on the connection's owner.
 */
#ifndef ST_TESTS_HARNESS_SOCKCONN_H
#define ST_TESTS_HARNESS_SOCKCONN_H

#include <stdint.h>

#include "dataplane/ssh/service.h"

struct st_sockconn {
	int fd;
	void *owner;
	uint8_t connecting;
	uint8_t failed;
	uint8_t rd_eof;
	uint8_t want_read;   /* reads drained the socket: wait for POLLIN */
	uint8_t want_write;  /* a write was short: wait for POLLOUT */
	uint8_t shut_pending;
	struct st_sockconn *next, *prev;
};

struct st_sockconn_set {
	struct st_sockconn *head;
	unsigned n;
	unsigned max;
	struct st_connector connector; /* ops + ctx (this set) */
};

/* Sets up an empty set allowing `max` simultaneous backend connections. */
void st_sockconn_set_init(struct st_sockconn_set *set, unsigned max);

/* poll(2) events this connection waits for (0: none). */
short st_sockconn_events(const struct st_sockconn *c);

/* Called after poll reported revents on c->fd. */
void st_sockconn_ready(struct st_sockconn *c, short revents);

#endif
