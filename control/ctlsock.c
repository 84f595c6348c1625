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
	uint64_t deadline_ms;
	char req[ST_CTLSOCK_REQ_MAX + 1];
};

struct st_ctlsock {
	int fd;
	int wake_fd; /* -1: none */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct command cmds[ST_CTLSOCK_MAX_COMMANDS];
	unsigned ncmds;
	struct client clients[ST_CTLSOCK_MAX_CLIENTS];
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
	s->wake_fd = -1;
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
}

/* Writes all of p[0..n) with a bounded wait: a client that stops reading is dropped. */
static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t deadline = now_ms() + ST_CTLSOCK_TIMEOUT_MS;

	while (n > 0 && now_ms() < deadline) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = {fd, POLLOUT, 0};
			poll(&pfd, 1, 100);
		} else {
			return;
		}
	}
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
			write_all(c->fd, "error: too many arguments\n", 26);
			return;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		write_all(c->fd, "error: empty command\n", 21);
		return;
	}
	if (st_buf_alloc(&out, 4096, ST_CTLSOCK_ANSWER_MAX) != ST_OK) {
		write_all(c->fd, "error: out of memory\n", 21);
		return;
	}
	for (unsigned i = 0; i < s->ncmds; i++) {
		if (strcmp(s->cmds[i].name, argv[0]) == 0) {
			r = s->cmds[i].fn(s->cmds[i].ctx, argc, argv, &out);
			break;
		}
	}
	if (r == ST_OK) {
		write_all(c->fd, "ok\n", 3);
		write_all(c->fd, st_buf_ptr(&out), st_buf_avail(&out));
	} else {
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
		write_all(c->fd, msg, n > 0 ? (size_t)n : 0);
	}
	st_buf_free(&out);
}

int st_ctlsock_poll(struct st_ctlsock *s, int timeout_ms)
{
	struct pollfd pfd[2 + ST_CTLSOCK_MAX_CLIENTS];
	int map[2 + ST_CTLSOCK_MAX_CLIENTS];
	int n = 0, served = 0;
	uint64_t now = now_ms();

	pfd[n] = (struct pollfd){s->fd, POLLIN, 0};
	map[n++] = -1;
	if (s->wake_fd >= 0) {
		pfd[n] = (struct pollfd){s->wake_fd, POLLIN, 0};
		map[n++] = -1;
	}
	for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];
		if (c->fd < 0)
			continue;
		if (now >= c->deadline_ms) {
			client_drop(c); /* too slow to send its command */
			continue;
		}
		pfd[n] = (struct pollfd){c->fd, POLLIN, 0};
		map[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) <= 0)
		return 0;
	if (s->wake_fd >= 0 && (pfd[1].revents & POLLIN)) {
		uint64_t v;
		(void)!read(s->wake_fd, &v, sizeof(v));
	}
	for (int k = s->wake_fd >= 0 ? 2 : 1; k < n; k++) {
		struct client *c = &s->clients[map[k]];
		if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		ssize_t rd = recv(c->fd, c->req + c->len, ST_CTLSOCK_REQ_MAX - c->len, 0);
		if (rd <= 0) {
			if (rd < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			client_drop(c);
			continue;
		}
		c->len += (size_t)rd;
		if (memchr(c->req, '\n', c->len) != NULL) {
			serve(s, c);
			served++;
			client_drop(c);
		} else if (c->len == ST_CTLSOCK_REQ_MAX) {
			write_all(c->fd, "error: request too long\n", 24);
			client_drop(c);
		}
	}
	if (pfd[0].revents & POLLIN) {
		for (;;) {
			int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0)
				break;
			int slot = -1;
			for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS && slot < 0; i++)
				if (s->clients[i].fd < 0)
					slot = i;
			if (slot < 0) {
				write_all(fd, "error: busy\n", 12);
				close(fd);
				continue;
			}
			s->clients[slot].fd = fd;
			s->clients[slot].len = 0;
			s->clients[slot].deadline_ms = now_ms() + ST_CTLSOCK_TIMEOUT_MS;
		}
	}
	return served;
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

void st_ctlsock_set_wake_fd(struct st_ctlsock *s, int fd)
{
	s->wake_fd = fd;
}
