/*
 * Kernel-socket transport of the load generator (see loadgen.h): one epoll
 * set per thread, level-triggered, non-blocking sockets with TCP_NODELAY.
 * EPOLLOUT is in a socket's interest set only while it connects or while a
 * send() was short; EPOLLIN is dropped while the load generator pauses
 * reading. Received bytes go through one buffer per thread.
 *
 * Source addresses (`--source`, lg_sock_configure_sources): without it the
 * kernel picks the local address and port of every connection, and one local
 * address reaches one server address and port from at most the size of
 * net.ipv4.ip_local_port_range (28,232 by default) connections at once. With
 * it, each connection is bound to the next of the given local addresses,
 * round-robin (each thread starting at its own place in the list), with
 * IP_BIND_ADDRESS_NO_PORT so that the kernel picks the port at connect() for
 * the whole 4-tuple instead of at bind() for the address alone (the same
 * address can then still reach other servers from the same port). When an
 * address has no free port left towards the target (EADDRNOTAVAIL), the next
 * ones are tried, each once, before the connection fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/err.h"
#include "scripts/bench/loadgen.h"

#define SOCK_RBUF (256u * 1024u)  /* per thread */
#define SOCK_EVENTS 256           /* epoll events per wait */
#define SOCK_READS_PER_EVENT 4    /* recv() calls per readable socket per wait */
#define SOCK_MAX_SOURCES 1024     /* --source addresses in all */

/* A local address to bind to (port 0). */
struct sock_src {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

/* What --source gave; set once by lg_sock_configure_sources() before any thread starts,
 * read-only afterwards. */
static struct sock_src sock_srcs[SOCK_MAX_SOURCES];
static uint32_t sock_nsrcs;
static atomic_uint sock_thread_seq; /* each thread's first source */

struct sock_slot {
	int fd;            /* -1: free */
	uint32_t events;   /* the interest set registered with epoll */
	uint8_t connecting;
	uint8_t want_out;  /* a send() was short */
	uint8_t paused;    /* no EPOLLIN */
	uint8_t done;      /* the load generator said LG_STOP: no more callbacks */
};

struct sock_thread {
	struct lg_thread *t;
	const struct lg_target *tgt;
	int ep;
	uint32_t nslots;
	uint32_t next_src;  /* index into sock_srcs of the next connection */
	struct sock_slot *slots;
	uint8_t *rbuf;
	struct epoll_event ev[SOCK_EVENTS];
};

static uint32_t slot_events(const struct sock_slot *s)
{
	uint32_t e = 0;

	if (s->done)
		return 0;
	if (s->connecting)
		return EPOLLOUT;
	if (!s->paused)
		e |= EPOLLIN;
	if (s->want_out)
		e |= EPOLLOUT;
	return e;
}

/*
 * Registers the slot's interest set when it changed. An empty set takes the
 * fd out of the epoll set altogether: EPOLLHUP and EPOLLERR are reported
 * whatever the mask, and a paused socket whose peer hung up would otherwise
 * wake every wait.
 */
static void slot_update(struct sock_thread *st, uint32_t slot)
{
	struct sock_slot *s = &st->slots[slot];
	struct epoll_event e;
	uint32_t want = slot_events(s);
	int op;

	if (s->fd < 0 || want == s->events)
		return;
	op = want == 0 ? EPOLL_CTL_DEL : s->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	memset(&e, 0, sizeof(e));
	e.events = want;
	e.data.u64 = slot;
	/* Fails only on ENOMEM (or ENOSPC for ADD); then the slot's timeout ends it. */
	if (epoll_ctl(st->ep, op, s->fd, &e) == 0)
		s->events = want;
}

/* One address of --source into out: ST_OK or ST_ERR_FORMAT. */
static int src_parse(const char *s, size_t len, int family, struct sock_src *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return ST_ERR_FORMAT;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (family == AF_INET && inet_pton(AF_INET, buf, &out->u.in4.sin_addr) == 1) {
		out->u.in4.sin_family = AF_INET;
		out->len = sizeof(out->u.in4);
		return ST_OK;
	}
	if (family == AF_INET6 && inet_pton(AF_INET6, buf, &out->u.in6.sin6_addr) == 1) {
		out->u.in6.sin6_family = AF_INET6;
		out->len = sizeof(out->u.in6);
		return ST_OK;
	}
	return ST_ERR_FORMAT;
}

/* Binds a throw-away socket to src: 0, or an errno (EADDRNOTAVAIL: not an address of ours). */
static int src_check(const struct sock_src *src)
{
	int fd = socket(src->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP), one = 1, e = 0;

	if (fd < 0)
		return errno;
	/* No port is taken: it would be picked at connect(). */
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, &src->u.sa, src->len) != 0)
		e = errno;
	close(fd);
	return e;
}

int lg_sock_configure_sources(const char *spec, int family)
{
	const char *p = spec, *fam = family == AF_INET6 ? "IPv6" : "IPv4";
	uint32_t n = 0;

	if (spec == NULL || *spec == '\0') {
		fprintf(stderr, "sshterm-bench: --source: expected ADDR[,ADDR...] or ADDR-ADDR\n");
		return ST_ERR_INVALID_ARGUMENT;
	}
	if (family != AF_INET && family != AF_INET6) {
		fprintf(stderr, "sshterm-bench: --source: the target is neither IPv4 nor IPv6\n");
		return ST_ERR_INVALID_ARGUMENT;
	}
	while (*p != '\0') {
		size_t len = strcspn(p, ","), dash;
		struct sock_src lo, hi;
		uint64_t count = 1;

		/* IPv6 addresses hold no '-', so the first one ends a range's start. */
		dash = strcspn(p, "-,");
		if (len == 0) {
			fprintf(stderr, "sshterm-bench: --source %s: empty address in the list\n", spec);
			return ST_ERR_INVALID_ARGUMENT;
		}
		if (src_parse(p, dash, family, &lo) != ST_OK) {
			fprintf(stderr, "sshterm-bench: --source %s: \"%.*s\" is not an %s address "
					"(the target's family)\n",
				spec, (int)dash, p, fam);
			return ST_ERR_INVALID_ARGUMENT;
		}
		if (dash < len) {
			if (family != AF_INET) {
				fprintf(stderr, "sshterm-bench: --source %s: ranges are IPv4 only; list "
						"IPv6 addresses one by one\n", spec);
				return ST_ERR_INVALID_ARGUMENT;
			}
			if (src_parse(p + dash + 1, len - dash - 1, family, &hi) != ST_OK) {
				fprintf(stderr, "sshterm-bench: --source %s: \"%.*s\" is not an IPv4 "
						"address\n", spec, (int)(len - dash - 1), p + dash + 1);
				return ST_ERR_INVALID_ARGUMENT;
			}
			uint32_t a = ntohl(lo.u.in4.sin_addr.s_addr), b = ntohl(hi.u.in4.sin_addr.s_addr);
			if (b < a) {
				fprintf(stderr, "sshterm-bench: --source %s: range %.*s goes downwards\n",
					spec, (int)len, p);
				return ST_ERR_INVALID_ARGUMENT;
			}
			count = (uint64_t)b - a + 1;
		}
		if (count > SOCK_MAX_SOURCES - n) {
			fprintf(stderr, "sshterm-bench: --source %s: more than %u addresses\n", spec,
				SOCK_MAX_SOURCES);
			return ST_ERR_INVALID_ARGUMENT;
		}
		for (uint64_t i = 0; i < count; i++) {
			sock_srcs[n] = lo;
			if (family == AF_INET)
				sock_srcs[n].u.in4.sin_addr.s_addr =
					htonl(ntohl(lo.u.in4.sin_addr.s_addr) + (uint32_t)i);
			n++;
		}
		p += len;
		if (*p == ',' && *++p == '\0') {
			fprintf(stderr, "sshterm-bench: --source %s: empty address in the list\n", spec);
			return ST_ERR_INVALID_ARGUMENT;
		}
	}
	/* Each one must be ours: a typo should fail the run, not every n-th connection. */
	for (uint32_t i = 0; i < n; i++) {
		int e = src_check(&sock_srcs[i]);
		if (e != 0) {
			char a[INET6_ADDRSTRLEN];
			const void *ap = family == AF_INET ? (const void *)&sock_srcs[i].u.in4.sin_addr
							   : (const void *)&sock_srcs[i].u.in6.sin6_addr;
			inet_ntop(family, ap, a, sizeof(a));
			fprintf(stderr, "sshterm-bench: --source: cannot bind to %s: %s%s\n", a,
				strerror(e),
				e == EADDRNOTAVAIL ? " (not an address of this host: add it to an "
						     "interface first, e.g. ip addr add ADDR/32 dev IF)"
						   : "");
			return ST_ERR_INVALID_ARGUMENT;
		}
	}
	sock_nsrcs = n;
	return ST_OK;
}

static enum st_sshc_fail errno_reason(int e)
{
	return e == ECONNREFUSED ? SSHC_FAIL_REFUSED : SSHC_FAIL_IO;
}

static int sock_thread_init(void *gctx, const struct lg_target *tgt, struct lg_thread *t,
			    uint32_t slots, void **tctx)
{
	struct sock_thread *st;

	(void)gctx;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return ST_ERR_ALLOC;
	st->t = t;
	st->tgt = tgt;
	st->nslots = slots;
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	st->slots = calloc(slots ? slots : 1, sizeof(*st->slots));
	st->rbuf = malloc(SOCK_RBUF);
	if (st->ep < 0 || st->slots == NULL || st->rbuf == NULL) {
		int r = st->ep < 0 ? ST_ERR_SYSTEM : ST_ERR_ALLOC;
		if (st->ep >= 0)
			close(st->ep);
		free(st->slots);
		free(st->rbuf);
		free(st);
		return r;
	}
	for (uint32_t i = 0; i < slots; i++)
		st->slots[i].fd = -1;
	if (sock_nsrcs > 0)
		st->next_src = atomic_fetch_add(&sock_thread_seq, 1) % sock_nsrcs;
	*tctx = st;
	return ST_OK;
}

static void sock_close(void *tctx, uint32_t slot)
{
	struct sock_thread *st = tctx;
	struct sock_slot *s;

	if (slot >= st->nslots)
		return;
	s = &st->slots[slot];
	if (s->fd >= 0)
		close(s->fd); /* also leaves the epoll set: the fd is never duplicated */
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static void sock_thread_fini(void *tctx)
{
	struct sock_thread *st = tctx;

	if (st == NULL)
		return;
	for (uint32_t i = 0; i < st->nslots; i++)
		sock_close(st, i);
	close(st->ep);
	free(st->slots);
	free(st->rbuf);
	free(st);
}

/*
 * A non-blocking socket connecting to the target, bound to src first unless
 * it is NULL. Returns the fd, or -1 with errno set.
 */
static int open_connect(const struct lg_target *tgt, const struct sock_src *src)
{
	int fd, one = 1, err;

	fd = socket(tgt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src != NULL) {
		/* Port chosen at connect() per 4-tuple; without this option (old kernels)
		 * bind() picks one per address, which still works up to the port range. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, &src->u.sa, src->len) != 0)
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&tgt->addr, tgt->addrlen) != 0 &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int sock_connect(void *tctx, uint32_t slot)
{
	struct sock_thread *st = tctx;
	struct sock_slot *s;
	struct epoll_event e;
	uint32_t tries = sock_nsrcs > 0 ? sock_nsrcs : 1;
	int fd = -1, err;

	if (slot >= st->nslots || st->slots[slot].fd >= 0) {
		errno = EINVAL;
		return ST_ERR_SYSTEM;
	}
	s = &st->slots[slot];
	/* Round-robin over the sources; one out of ports towards the target passes its turn on. */
	for (uint32_t i = 0; i < tries; i++) {
		const struct sock_src *src = NULL;

		if (sock_nsrcs > 0) {
			src = &sock_srcs[st->next_src];
			st->next_src = st->next_src + 1 < sock_nsrcs ? st->next_src + 1 : 0;
		}
		fd = open_connect(st->tgt, src);
		if (fd >= 0 || errno != EADDRNOTAVAIL)
			break;
	}
	if (fd < 0)
		return errno == ECONNREFUSED ? ST_ERR_CONN_REFUSED : ST_ERR_SYSTEM;
	/* Even a connect that completed at once is reported from poll(), as EPOLLOUT. */
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.u64 = slot;
	if (epoll_ctl(st->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return ST_ERR_SYSTEM;
	}
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->connecting = 1;
	s->events = EPOLLOUT;
	return ST_OK;
}

static int sock_send(void *tctx, uint32_t slot, const uint8_t *p, size_t n, size_t *sent)
{
	struct sock_thread *st = tctx;
	struct sock_slot *s = &st->slots[slot];
	size_t off = 0;

	*sent = 0;
	if (s->fd < 0) {
		errno = EBADF;
		return ST_ERR_SYSTEM;
	}
	if (s->connecting)
		return ST_OK;
	while (off < n) {
		ssize_t w = send(s->fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		*sent = off;
		return (w < 0 && (errno == ECONNRESET || errno == EPIPE)) ? ST_ERR_CONN_RESET
									 : ST_ERR_SYSTEM;
	}
	*sent = off;
	s->want_out = off < n;
	slot_update(st, slot);
	return ST_OK;
}

static void sock_read_pause(void *tctx, uint32_t slot, int paused)
{
	struct sock_thread *st = tctx;

	if (slot >= st->nslots || st->slots[slot].fd < 0)
		return;
	st->slots[slot].paused = paused != 0;
	slot_update(st, slot);
}

/* Marks the slot finished after a callback said LG_STOP (or the connection ended). */
static void slot_stop(struct sock_thread *st, uint32_t slot)
{
	st->slots[slot].done = 1;
	slot_update(st, slot);
}

static int sock_error(struct sock_thread *st, uint32_t slot)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(st->slots[slot].fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	return err;
}

/* Reads what the socket has (bounded per wait) and hands it over. */
static void slot_read(struct sock_thread *st, uint32_t slot)
{
	struct sock_slot *s = &st->slots[slot];

	for (int i = 0; i < SOCK_READS_PER_EVENT && !s->paused && !s->done; i++) {
		ssize_t r = recv(s->fd, st->rbuf, SOCK_RBUF, MSG_DONTWAIT);
		if (r > 0) {
			if (lg_on_data(st->t, slot, st->rbuf, (size_t)r) == LG_STOP) {
				slot_stop(st, slot);
				return;
			}
			if ((size_t)r < SOCK_RBUF)
				return; /* most likely drained; level-triggered epoll says if not */
			continue;
		}
		if (r == 0) {
			lg_on_eof(st->t, slot);
			slot_stop(st, slot);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		lg_on_error(st->t, slot, errno_reason(errno), errno);
		slot_stop(st, slot);
		return;
	}
}

static int sock_poll(void *tctx, int timeout_ms)
{
	struct sock_thread *st = tctx;
	int n = epoll_wait(st->ep, st->ev, SOCK_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? ST_OK : ST_ERR_SYSTEM;
	for (int i = 0; i < n; i++) {
		uint32_t slot = (uint32_t)st->ev[i].data.u64;
		uint32_t e = st->ev[i].events;
		struct sock_slot *s;

		if (slot >= st->nslots)
			continue;
		s = &st->slots[slot];
		if (s->fd < 0 || s->done)
			continue;
		if (s->connecting) {
			int err = sock_error(st, slot);
			if (err == 0 && (e & EPOLLOUT) != 0) {
				s->connecting = 0;
				slot_update(st, slot);
				if (lg_on_connected(st->t, slot) == LG_STOP)
					slot_stop(st, slot);
			} else if (err != 0 || (e & (EPOLLERR | EPOLLHUP)) != 0) {
				if (err == 0)
					err = ECONNRESET;
				lg_on_error(st->t, slot, errno_reason(err), err);
				slot_stop(st, slot);
			}
			continue;
		}
		if ((e & EPOLLOUT) != 0 && s->want_out) {
			s->want_out = 0;
			slot_update(st, slot);
			if (lg_on_writable(st->t, slot) == LG_STOP) {
				slot_stop(st, slot);
				continue;
			}
		}
		/* Read before looking at errors: the last bytes before a reset still count. */
		if ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !s->paused && !s->done)
			slot_read(st, slot);
		if ((e & EPOLLERR) != 0 && !s->done) {
			int err = sock_error(st, slot);
			if (err != 0) {
				lg_on_error(st->t, slot, errno_reason(err), err);
				slot_stop(st, slot);
			}
		}
	}
	return ST_OK;
}

const struct lg_transport lg_transport_sock = {
	.name = "sock",
	.init = NULL,
	.fini = NULL,
	.thread_init = sock_thread_init,
	.thread_fini = sock_thread_fini,
	.connect = sock_connect,
	.send = sock_send,
	.read_pause = sock_read_pause,
	.close = sock_close,
	.poll = sock_poll,
};
