/* The operator control socket (control/ctlsock.c) and its client side. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/ctlsock.h"
#include "crypto/buf.h"
#include "tests/unit/test.h"

static volatile int stop_server;

static int h_echo(void *ctx, int argc, char **argv, struct st_buf *out)
{
	(void)ctx;
	for (int i = 0; i < argc; i++) {
		st_buf_put_bytes(out, argv[i], strlen(argv[i]));
		st_buf_put_u8(out, i + 1 < argc ? ' ' : '\n');
	}
	return ST_OK;
}

static int h_fail(void *ctx, int argc, char **argv, struct st_buf *out)
{
	(void)ctx, (void)argc, (void)argv;
	st_buf_put_bytes(out, "no such session", 15);
	return ST_ERR_NOT_FOUND;
}

static int h_big(void *ctx, int argc, char **argv, struct st_buf *out)
{
	(void)ctx, (void)argc, (void)argv;
	for (int i = 0; i < 100000; i++)
		st_buf_put_bytes(out, "0123456789", 10);
	return ST_OK;
}

static void *server_thread(void *arg)
{
	struct st_ctlsock *s = arg;
	while (!stop_server)
		st_ctlsock_poll(s, 20);
	return NULL;
}

static int ask(const char *path, const char *line, char *out, size_t outsz)
{
	struct st_buf a;
	st_buf_alloc(&a, 256, 8u << 20);
	int r = st_ctlsock_request(path, line, 3000, &a);
	size_t n = st_buf_avail(&a) < outsz - 1 ? st_buf_avail(&a) : outsz - 1;
	memcpy(out, st_buf_ptr(&a), n);
	out[n] = '\0';
	if (r == ST_OK && st_buf_avail(&a) > 1000000)
		r = 1000000; /* marker: the big answer arrived whole */
	st_buf_free(&a);
	return r;
}

static void test_commands(void)
{
	char path[] = "/tmp/sshterm-ctl-XXXXXX";
	CHECK(mkdtemp(path) != NULL);
	char sock[96];
	snprintf(sock, sizeof(sock), "%s/ctl.sock", path);

	struct st_ctlsock *s;
	CHECK_OK(st_ctlsock_open(sock, &s));
	struct stat st;
	CHECK(stat(sock, &st) == 0 && (st.st_mode & 0077) == 0);
	CHECK_OK(st_ctlsock_register(s, "echo", "repeat", h_echo, NULL));
	CHECK_OK(st_ctlsock_register(s, "kill", "fail", h_fail, NULL));
	CHECK_OK(st_ctlsock_register(s, "big", "1 MB", h_big, NULL));

	/* A second daemon on the same path is refused. */
	struct st_ctlsock *s2;
	CHECK_ERR(st_ctlsock_open(sock, &s2), ST_ERR_STATE);

	pthread_t t;
	stop_server = 0;
	pthread_create(&t, NULL, server_thread, s);
	char ans[512];
	CHECK_OK(ask(sock, "echo a  b --json", ans, sizeof(ans)));
	CHECK(strcmp(ans, "ok\necho a b --json\n") == 0);
	CHECK_OK(ask(sock, "kill 7", ans, sizeof(ans)));
	CHECK(strcmp(ans, "error: no such session\n") == 0);
	CHECK_OK(ask(sock, "frob", ans, sizeof(ans)));
	CHECK(strncmp(ans, "error: unknown command 'frob'", 29) == 0);
	CHECK_OK(ask(sock, "help", ans, sizeof(ans)));
	CHECK(strstr(ans, "echo") != NULL && strstr(ans, "kill") != NULL);
	CHECK_OK(ask(sock, "", ans, sizeof(ans)));
	CHECK(strncmp(ans, "error: empty command", 20) == 0);
	CHECK_INT(ask(sock, "big", ans, sizeof(ans)), 1000000);

	/* Too long a request, and a client that never finishes its line. */
	char longreq[3000];
	memset(longreq, 'x', sizeof(longreq) - 1);
	longreq[sizeof(longreq) - 1] = '\0';
	CHECK_OK(ask(sock, longreq, ans, sizeof(ans)));
	CHECK(strncmp(ans, "error: request too long", 23) == 0);

	int fds[ST_CTLSOCK_MAX_CLIENTS + 2];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS + 2; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(fds[i], (struct sockaddr *)&sa, sizeof(sa));
		send(fds[i], "ech", 3, MSG_NOSIGNAL); /* never a newline */
	}
	/* Silent clients are dropped after the timeout; then service resumes. */
	usleep((ST_CTLSOCK_TIMEOUT_MS + 300) * 1000);
	CHECK_OK(ask(sock, "echo again", ans, sizeof(ans)));
	CHECK(strcmp(ans, "ok\necho again\n") == 0);
	for (int i = 0; i < ST_CTLSOCK_MAX_CLIENTS + 2; i++)
		close(fds[i]);

	stop_server = 1;
	pthread_join(t, NULL);
	st_ctlsock_close(s);
	CHECK(access(sock, F_OK) != 0);

	/* Nobody listening: the client says so. */
	struct st_buf a;
	st_buf_alloc(&a, 64, 1024);
	CHECK_ERR(st_ctlsock_request(sock, "status", 500, &a), ST_ERR_SYSTEM);
	st_buf_free(&a);

	/* A stale socket file is replaced. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	CHECK_OK(st_ctlsock_open(sock, &s));
	st_ctlsock_close(s);
	rmdir(path);
}

int main(void)
{
	RUN(test_commands);
	return st_test_done("ctlsock");
}
