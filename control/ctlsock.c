#define _GNU_SOURCE /* accept4 */
#include "control/ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "crypto/buf.h"
#include "crypto/err.h"

struct command {
	char name[32];
	char help[96];
	st_ctlsock_handler fn;
	void *ctx;
};

struct client {
	int fd;             /* -1: free slot */
	size_t len;
	uint64_t deadline_ms; /* reading: the whole request; writing: the next progress */
	int writing;        /* the answer is in `out`, going out as the socket takes it */
	struct st_buf out;
	char req[ST_CTLSOCK_REQ_MAX + 1];
};

struct event_fd {
	int fd;
	void (*fn)(void *ctx);
	void *ctx;
};

struct st_ctlsock {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct command cmds[ST_CTLSOCK_MAX_COMMANDS];
	unsigned ncmds;
	struct client clients[ST_CTLSOCK_MAX_CLIENTS];
	struct event_fd ev[ST_CTLSOCK_MAX_EVENT_FDS];
	unsigned nev;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return ST_ERR_INVALID_ARGUMENT;
	memcpy(sa->sun_path, path, strlen(path));
	return ST_OK;
}

/* The built-in "help": one line per command. */
static int cmd_help(void *ctx, int argc, char **argv, struct st_buf *out)
{
	struct st_ctlsock *s = ctx;
	(void)argc;
	(void)argv;
	for (unsigned i = 0; i < s->ncmds; i++) {
		char line[160];
		int n = snprintf(line, sizeof(line), "%-10s %s\n", s->cmds[i].name, s->cmds[i].help);
		if (n > 0 && st_buf_put_bytes(out, line, (size_t)n) != ST_OK)
			return ST_ERR_NO_SPACE;
	}
	return ST_OK;
}

int st_ctlsock_open(const char *path, struct st_ctlsock **out)
{
	struct sockaddr_un sa;
	struct st_ctlsock *s;
	int fd, r;

	if ((r = make_addr(path, &sa)) != ST_OK)
		return r;
	/* A live daemon already owns the path: do not steal its socket. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ST_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return ST_ERR_STATE;
	}
	close(fd);
	unlink(path); /* a stale socket file from a previous run */

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return ST_ERR_SYSTEM;
	mode_t old = umask(0177); /* the socket is root's (0600): it can kill sessions */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0 || listen(fd, 16) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return ST_ERR_SYSTEM;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(fd);
		unlink(path);
		return ST_ERR_ALLOC;
	}
	s->fd = fd;
	snprintf(s->path, sizeof(s->path), "%s", path);
	for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	st_ctlsock_register(s, "help", "list the commands", cmd_help, s);
	*out = s;
	return ST_OK;
}

int st_ctlsock_register(struct st_ctlsock *s, const char *name, const char *help,
			st_ctlsock_handler fn, void *ctx)
{
	if (s->ncmds == ST_CTLSOCK_MAX_COMMANDS)
		return ST_ERR_NO_SPACE;
	if (strlen(name) >= sizeof(s->cmds[0].name))
		return ST_ERR_INVALID_ARGUMENT;
	struct command *c = &s->cmds[s->ncmds++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->help, sizeof(c->help), "%s", help);
	c->fn = fn;
	c->ctx = ctx;
	return ST_OK;
}

int st_ctlsock_fd(const struct st_ctlsock *s)
{
	return s != NULL ? s->fd : -1;
}

static void client_drop(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->writing = 0;
	st_buf_free(&c->out);
}

/* Queues the answer; it goes out as the client reads it (client_write). */
static void answer(struct client *c, const void *p, size_t n)
{
	if (!c->writing) {
		c->writing = 1;
		if (c->out.data == NULL && st_buf_alloc(&c->out, n > 0 ? n : 64, n > 0 ? n : 64) != ST_OK)
			return;
	}
	st_buf_put_bytes(&c->out, p, n);
}

/*
 * Sends what the socket takes now. Returns 1 when the whole answer is out
 * (the caller closes), 0 while some is left. A client that takes nothing for
 * ST_CTLSOCK_TIMEOUT_MS is dropped by the poll loop.
 */
static int client_write(struct client *c)
{
	while (st_buf_avail(&c->out) > 0) {
		ssize_t w = send(c->fd, st_buf_ptr(&c->out), st_buf_avail(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->out.off += (size_t)w;
			c->deadline_ms = now_ms() + ST_CTLSOCK_TIMEOUT_MS;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return 1; /* the client went away: nothing more to send */
	}
	return 1;
}

/* Splits the request into words (space separated) and runs the command. */
static void serve(struct st_ctlsock *s, struct client *c)
{
	char *argv[ST_CTLSOCK_MAX_ARGS + 1];
	int argc = 0;
	struct st_buf out;
	char *p = c->req, *save = NULL;
	int r = ST_ERR_NOT_FOUND;

	c->req[c->len] = '\0';
	for (char *w = strtok_r(p, " \t\r\n", &save); w != NULL; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == ST_CTLSOCK_MAX_ARGS) {
			answer(c, "error: too many arguments\n", 26);
			return;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		answer(c, "error: empty command\n", 21);
		return;
	}
	/* The body is built whole, "ok\n" first, and then sent in pieces. */
	if (st_buf_alloc(&out, 4096, ST_CTLSOCK_ANSWER_MAX) != ST_OK ||
	    st_buf_put_bytes(&out, "ok\n", 3) != ST_OK) {
		answer(c, "error: out of memory\n", 21);
		return;
	}
	out.off = 3; /* handlers see an empty buffer */
	for (unsigned i = 0; i < s->ncmds; i++) {
		if (strcmp(s->cmds[i].name, argv[0]) == 0) {
			r = s->cmds[i].fn(s->cmds[i].ctx, argc, argv, &out);
			break;
		}
	}
	if (r == ST_OK) {
		out.off = 0;
		c->writing = 1;
		c->out = out; /* the client owns it now */
		return;
	}
	/* The handler's text, or the error code's, or "unknown command". */
	const char *why = st_err_str(r);
	int whylen = (int)strlen(why);
	char msg[320];
	int n;
	if (st_buf_avail(&out) > 0) {
		why = (const char *)st_buf_ptr(&out);
		whylen = st_buf_avail(&out) > 256 ? 256 : (int)st_buf_avail(&out);
	}
	if (r == ST_ERR_NOT_FOUND && st_buf_avail(&out) == 0)
		n = snprintf(msg, sizeof(msg), "error: unknown command '%.64s' (try 'help')\n",
			     argv[0]);
	else
		n = snprintf(msg, sizeof(msg), "error: %.*s\n", whylen, why);
	answer(c, msg, n > 0 ? (size_t)n : 0);
	st_buf_free(&out);
}

/* A new client, or a short refusal when every slot is taken. */
static void accept_clients(struct st_ctlsock *s)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int slot = -1;
		for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS && slot < 0; i++)
			if (s->clients[i].fd < 0)
				slot = i;
		if (slot < 0) {
			(void)!send(fd, "error: busy\n", 12, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		struct client *c = &s->clients[slot];
		c->fd = fd;
		c->len = 0;
		c->writing = 0;
		c->deadline_ms = now_ms() + ST_CTLSOCK_TIMEOUT_MS;
	}
}

/* Reads what the client sent; serves the request once its line is complete. */
static int client_read(struct st_ctlsock *s, struct client *c)
{
	ssize_t rd = recv(c->fd, c->req + c->len, ST_CTLSOCK_REQ_MAX - c->len, 0);

	if (rd <= 0) {
		if (!(rd < 0 && (errno == EAGAIN || errno == EINTR)))
			client_drop(c);
		return 0;
	}
	c->len += (size_t)rd;
	if (memchr(c->req, '\n', c->len) != NULL) {
		serve(s, c);
		c->deadline_ms = now_ms() + ST_CTLSOCK_TIMEOUT_MS;
		if (client_write(c))
			client_drop(c);
		return 1;
	}
	if (c->len == ST_CTLSOCK_REQ_MAX) {
		answer(c, "error: request too long\n", 24);
		if (client_write(c))
			client_drop(c);
	}
	return 0;
}

int st_ctlsock_poll(struct st_ctlsock *s, int timeout_ms)
{
	struct pollfd pfd[1 + ST_CTLSOCK_MAX_EVENT_FDS + ST_CTLSOCK_MAX_CLIENTS];
	int map[1 + ST_CTLSOCK_MAX_EVENT_FDS + ST_CTLSOCK_MAX_CLIENTS];
	int n = 0, served = 0;
	uint64_t now = now_ms();

	pfd[n] = (struct pollfd){s->fd, POLLIN, 0};
	map[n++] = -1;
	for (unsigned e = 0; e < s->nev; e++) {
		pfd[n] = (struct pollfd){s->ev[e].fd, POLLIN, 0};
		map[n++] = -2 - (int)e;
	}
	for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];
		if (c->fd < 0)
			continue;
		if (now >= c->deadline_ms) {
			client_drop(c); /* too slow to send its command, or to read the answer */
			continue;
		}
		pfd[n] = (struct pollfd){c->fd, c->writing ? POLLOUT : POLLIN, 0};
		map[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) <= 0)
		return 0;
	for (int k = 1; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		if (map[k] <= -2) {
			struct event_fd *e = &s->ev[-2 - map[k]];
			e->fn(e->ctx);
			continue;
		}
		struct client *c = &s->clients[map[k]];
		if (c->fd < 0)
			continue;
		if (c->writing) {
			if (client_write(c))
				client_drop(c);
		} else {
			served += client_read(s, c);
		}
	}
	if (pfd[0].revents & POLLIN)
		accept_clients(s);
	return served;
}

int st_ctlsock_add_event_fd(struct st_ctlsock *s, int fd, void (*fn)(void *ctx), void *ctx)
{
	if (s->nev == ST_CTLSOCK_MAX_EVENT_FDS)
		return ST_ERR_NO_SPACE;
	s->ev[s->nev++] = (struct event_fd){fd, fn, ctx};
	return ST_OK;
}

void st_ctlsock_close(struct st_ctlsock *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS; i++)
		client_drop(&s->clients[i]);
	close(s->fd);
	unlink(s->path);
	free(s);
}

int st_ctlsock_request(const char *path, const char *line, int timeout_ms, struct st_buf *answer)
{
	struct sockaddr_un sa;
	int fd, r;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	if ((r = make_addr(path, &sa)) != ST_OK)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ST_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return ST_ERR_SYSTEM;
	}
	/* If sending fails the server may already have answered (a request that
	 * is too long): read what is there before reporting the failure. */
	size_t n = strlen(line);
	int send_errno = 0;
	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		send_errno = errno != 0 ? errno : EIO;
	size_t start = answer->len;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline) {
			close(fd);
			return ST_ERR_AGAIN;
		}
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		uint8_t buf[4096];
		ssize_t rd = recv(fd, buf, sizeof(buf), 0);
		if (rd == 0)
			break;
		if (rd < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET && answer->len > start)
				break;
			int e = errno;
			close(fd);
			errno = e;
			return ST_ERR_SYSTEM;
		}
		if ((r = st_buf_put_bytes(answer, buf, (size_t)rd)) != ST_OK) {
			close(fd);
			return r;
		}
	}
	close(fd);
	if (send_errno != 0 && answer->len == start) {
		errno = send_errno;
		return ST_ERR_SYSTEM;
	}
	return ST_OK;
}
