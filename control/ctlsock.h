/*
 * The operator control socket: a UNIX stream socket on which `sshtermctl`
 * sends one command line and reads one answer.
 *
 * Protocol (text, one exchange per connection):
 *   request:  "<command> [args...]\n"  (at most ST_CTLSOCK_REQ_MAX bytes)
 *   answer:   "ok\n" followed by the body, or "error: <message>\n"; the
 *             server closes the connection after the answer.
 * Commands are registered by the daemon with a handler that appends its
 * body to an st_buf. `--json` is an ordinary argument the handler sees.
 *
 * The server never blocks: st_ctlsock_poll() accepts and serves what is ready
 * (the daemon calls it from its admin thread). An answer is built whole and
 * then sent in pieces as the client reads it, so it may be of any size up to
 * ST_CTLSOCK_ANSWER_MAX (e.g. `sessions --json` with 100,000 sessions). A
 * client that sends nothing within ST_CTLSOCK_TIMEOUT_MS, sends too much, or
 * stops reading its answer for ST_CTLSOCK_TIMEOUT_MS is dropped.
 */
#ifndef ST_CONTROL_CTLSOCK_H
#define ST_CONTROL_CTLSOCK_H

#include <stddef.h>

struct st_buf;

#define ST_CTLSOCK_REQ_MAX 1024
#define ST_CTLSOCK_ANSWER_MAX (1024u << 20) /* about 3 million sessions */
#define ST_CTLSOCK_MAX_EVENT_FDS 4
#define ST_CTLSOCK_MAX_ARGS 16
#define ST_CTLSOCK_MAX_COMMANDS 32
#define ST_CTLSOCK_MAX_CLIENTS 8
#define ST_CTLSOCK_TIMEOUT_MS 2000

/*
 * Handles one command. argv[0] is the command name. Appends the body to `out`.
 * Returns ST_OK, or an error: then `out` holds the message for "error: ...".
 */
typedef int (*st_ctlsock_handler)(void *ctx, int argc, char **argv, struct st_buf *out);

struct st_ctlsock;

/*
 * Creates the socket at `path` (an existing socket file there is replaced
 * only if nothing listens on it; permissions 0600). Returns ST_OK,
 * ST_ERR_SYSTEM (errno kept), ST_ERR_INVALID_ARGUMENT (path too long),
 * ST_ERR_STATE (another process is listening there), ST_ERR_ALLOC.
 */
int st_ctlsock_open(const char *path, struct st_ctlsock **out);

/* Registers a command. ST_ERR_NO_SPACE when the table is full. */
int st_ctlsock_register(struct st_ctlsock *s, const char *name, const char *help,
			st_ctlsock_handler fn, void *ctx);

/* File descriptor to poll for readability (new clients), or -1. */
int st_ctlsock_fd(const struct st_ctlsock *s);

/*
 * Accepts and serves ready clients, waiting at most timeout_ms (0: don't
 * wait). Returns the number of commands answered.
 */
int st_ctlsock_poll(struct st_ctlsock *s, int timeout_ms);

/*
 * Another descriptor to wait for in st_ctlsock_poll() (a signalfd, an
 * eventfd): fn(ctx) runs there when it is readable, and must consume what
 * made it so. ST_OK or ST_ERR_NO_SPACE (ST_CTLSOCK_MAX_EVENT_FDS already).
 */
int st_ctlsock_add_event_fd(struct st_ctlsock *s, int fd, void (*fn)(void *ctx), void *ctx);

/* Closes every client and the socket and removes the socket file. */
void st_ctlsock_close(struct st_ctlsock *s);

/*
 * Client side (sshtermctl and tests): sends `line` (no newline needed) to the
 * socket at `path` and appends the whole answer to `answer`. Returns ST_OK
 * (answer received, whatever it says), ST_ERR_SYSTEM (connect/IO failure,
 * errno kept), ST_ERR_AGAIN (no complete answer within timeout_ms).
 */
int st_ctlsock_request(const char *path, const char *line, int timeout_ms, struct st_buf *answer);

#endif
