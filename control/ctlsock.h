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
 * (the daemon calls it from its control thread), a client that sends nothing
 * within ST_CTLSOCK_TIMEOUT_MS, or too much, is dropped.
 */
#ifndef ST_CONTROL_CTLSOCK_H
#define ST_CONTROL_CTLSOCK_H

#include <stddef.h>

struct st_buf;

#define ST_CTLSOCK_REQ_MAX 1024
#define ST_CTLSOCK_ANSWER_MAX (4u << 20)
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
 * An extra descriptor (an eventfd) that ends st_ctlsock_poll()'s wait when
 * it becomes readable; it is drained there. -1: none.
 */
void st_ctlsock_set_wake_fd(struct st_ctlsock *s, int fd);

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
