/*
 * The pieces of MetricsListen and `sshtermctl top` that need no daemon: the
 * HTTP request-head parser, the latency histogram, Prometheus label
 * escaping, the HTTP server against a stub renderer over loopback, and
 * top's parsers of `stats --prometheus` and `sessions --json`. (The daemon
 * end to end: tests/e2e/daemon_metrics.sh.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_top.h"
#include "control/histo.h"
#include "control/http_req.h"
#include "control/metrics.h"
#include "control/metrics_http.h"
#include "crypto/err.h"
#include "tests/unit/test.h"

static int parse(const char *s, struct st_http_req *rq)
{
	return st_http_req_parse((const uint8_t *)s, strlen(s), rq);
}

static void test_http_req(void)
{
	struct st_http_req rq;

	CHECK_OK(parse("GET /metrics HTTP/1.1\r\nHost: a:1\r\nAccept: */*\r\n\r\n", &rq));
	CHECK(strcmp(rq.method, "GET") == 0 && strcmp(rq.path, "/metrics") == 0);
	CHECK_INT(rq.minor, 1);
	CHECK_INT(rq.headers, 2);
	CHECK_INT(rq.extra, 0);
	CHECK_OK(parse("HEAD /metrics?name[]=x HTTP/1.0\n\n", &rq)); /* bare LF, query dropped */
	CHECK(strcmp(rq.method, "HEAD") == 0 && strcmp(rq.path, "/metrics") == 0);
	CHECK_INT(rq.minor, 0);
	CHECK_OK(parse("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &rq));
	CHECK_INT(rq.extra, 3);

	/* Every prefix of a good head needs more; none is an error. */
	const char *good = "GET /metrics HTTP/1.1\r\nUser-Agent: Prometheus/2.42\r\n\r\n";
	for (size_t n = 0; n < strlen(good); n++) {
		struct st_http_req t;
		int r = st_http_req_parse((const uint8_t *)good, n, &t);
		if (r != ST_ERR_AGAIN)
			st_test_fail(__FILE__, __LINE__, "prefix %zu: %d", n, r);
	}
	static const char *const badv[] = {
		"hello\r\n\r\n", "GET\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/2.0\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n", "GET /metrics HTTP/1.12\r\n\r\n",
		"GET /me trics HTTP/1.1\r\n\r\n", "GET /m\x7f HTTP/1.1\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", "GET /metrics HTTP/1.1\r\nA: \x01\r\n\r\n",
		"GETGETGETGETGETGET /metrics HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		rq.minor = 7;
		int r = parse(badv[i], &rq);
		if (r != ST_ERR_FORMAT)
			st_test_fail(__FILE__, __LINE__, "'%s': %d, want ST_ERR_FORMAT", badv[i], r);
		CHECK_INT(rq.minor, 7); /* untouched */
	}

	/* Caps: a head as large as the cap, too many headers, a long target. */
	static char big[ST_HTTP_REQ_MAX + 64];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	CHECK_ERR(parse(big, &rq), ST_ERR_NO_SPACE);
	char many[4096] = "GET / HTTP/1.1\r\n";
	for (int i = 0; i <= ST_HTTP_HEADERS_MAX; i++)
		strcat(many, "A: b\r\n");
	strcat(many, "\r\n");
	CHECK_ERR(parse(many, &rq), ST_ERR_NO_SPACE);
	char target[ST_HTTP_TARGET_MAX + 64] = "GET /";
	memset(target + 5, 'p', ST_HTTP_TARGET_MAX);
	strcpy(target + 5 + ST_HTTP_TARGET_MAX, " HTTP/1.1\r\n\r\n");
	CHECK_ERR(parse(target, &rq), ST_ERR_FORMAT);
}

static void test_histo(void)
{
	struct st_histo a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	st_histo_observe(&a, 0);
	st_histo_observe(&a, 1000);     /* on a bound: in it (le) */
	st_histo_observe(&a, 1001);
	st_histo_observe(&a, 60000000); /* past the last: +Inf only */
	CHECK_INT(st_histo_cumulative(&a, 0), 2);
	CHECK_INT(st_histo_cumulative(&a, 1), 3);
	CHECK_INT(st_histo_cumulative(&a, ST_HISTO_NBOUNDS - 1), 3);
	CHECK_INT(st_histo_cumulative(&a, ST_HISTO_NBOUNDS), 4);
	CHECK_INT(a.count, 4);
	CHECK_INT(a.sum_us, 60002001);
	st_histo_observe(&b, 5000);
	st_histo_add(&b, &a);
	CHECK_INT(b.count, 5);
	CHECK_INT(st_histo_cumulative(&b, 2), 4);
	for (unsigned i = 1; i < ST_HISTO_NBOUNDS; i++)
		CHECK(st_histo_bounds_us[i] > st_histo_bounds_us[i - 1]);
}

static void test_label_escape(void)
{
	struct st_buf b;

	CHECK_OK(st_buf_alloc(&b, 64, 64));
	CHECK_OK(st_metrics_label_escape(&b, "a\"b\\c\nd"));
	CHECK(st_buf_avail(&b) == 10 && memcmp(st_buf_ptr(&b), "a\\\"b\\\\c\\nd", 10) == 0);
	st_buf_free(&b);
	CHECK_OK(st_buf_alloc(&b, 4, 4));
	CHECK_ERR(st_metrics_label_escape(&b, "abcdef"), ST_ERR_NO_SPACE);
	st_buf_free(&b);
}

static int stub_fail;
static int stub_render(void *ctx, struct st_buf *out)
{
	(void)ctx;
	if (stub_fail)
		return ST_ERR_INTERNAL;
	return st_buf_put_bytes(out, "# TYPE sshterm_x gauge\nsshterm_x 1\n", 35);
}

/* Sends req to the server, runs its loop until the answer is complete; the answer in ans. */
static void exchange(struct st_metrics_http *m, const char *req, char *ans, size_t anssz)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(st_metrics_http_port(m))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ans[0] = '\0';
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		st_test_fail(__FILE__, __LINE__, "connect");
		if (fd >= 0)
			close(fd);
		return;
	}
	(void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
	for (int i = 0; i < 2000; i++) { /* bounded: 2 s */
		struct pollfd p = {st_metrics_http_fd(m), POLLIN, 0};
		if (poll(&p, 1, 1) > 0)
			st_metrics_http_run(m);
		ssize_t r = recv(fd, ans + got, anssz - 1 - got, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			got += (size_t)r;
	}
	ans[got] = '\0';
	close(fd);
}

static void test_http_server(void)
{
	struct st_metrics_http *m = NULL;
	char ans[4096];

	CHECK_ERR(st_metrics_http_open("nohost", 0, stub_render, NULL, &m), ST_ERR_INVALID_ARGUMENT);
	CHECK(m == NULL);
	CHECK_OK(st_metrics_http_open("127.0.0.1", 0, stub_render, NULL, &m));
	if (m == NULL)
		return;
	CHECK(st_metrics_http_port(m) != 0);
	exchange(m, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", ans, sizeof(ans));
	CHECK(strncmp(ans, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(ans, "Content-Type: text/plain; version=0.0.4") != NULL);
	CHECK(strstr(ans, "Content-Length: 35\r\n") != NULL);
	CHECK(strstr(ans, "Connection: close\r\n") != NULL);
	CHECK(strstr(ans, "\r\n\r\n# TYPE sshterm_x gauge\nsshterm_x 1\n") != NULL);
	exchange(m, "HEAD /metrics HTTP/1.0\r\n\r\n", ans, sizeof(ans));
	CHECK(strncmp(ans, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(ans, "\r\n\r\n") != NULL && strstr(ans, "\r\n\r\n")[4] == '\0');
	exchange(m, "GET / HTTP/1.1\r\n\r\n", ans, sizeof(ans));
	CHECK(strncmp(ans, "HTTP/1.1 404 ", 13) == 0);
	exchange(m, "DELETE /metrics HTTP/1.1\r\n\r\n", ans, sizeof(ans));
	CHECK(strncmp(ans, "HTTP/1.1 405 ", 13) == 0 && strstr(ans, "Allow: GET, HEAD\r\n") != NULL);
	exchange(m, "GET /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", ans, sizeof(ans));
	CHECK(strncmp(ans, "HTTP/1.1 400 ", 13) == 0);
	exchange(m, "\x16\x03\x01\x02\x05\x01\n\n", ans, sizeof(ans)); /* a TLS hello */
	CHECK(strncmp(ans, "HTTP/1.1 400 ", 13) == 0);
	stub_fail = 1;
	exchange(m, "GET /metrics HTTP/1.1\r\n\r\n", ans, sizeof(ans));
	CHECK(strncmp(ans, "HTTP/1.1 500 ", 13) == 0);
	stub_fail = 0;
	CHECK_INT(st_metrics_http_answered(m), 7);
	st_metrics_http_close(m);
	st_metrics_http_close(NULL);
}

static void test_top_parsers(void)
{
	static const char prom[] =
		"# HELP sshterm_worker_rx_bytes_total x\n"
		"# TYPE sshterm_worker_rx_bytes_total counter\n"
		"sshterm_worker_rx_bytes_total{worker=\"0\"} 1000\n"
		"sshterm_worker_rx_bytes_total{worker=\"2\"} 3000\n"
		"sshterm_worker_busy_cycles_total{worker=\"2\"} 77\n"
		"sshterm_worker_drops_total{worker=\"0\",reason=\"TCP_CSUM\"} 5\n"
		"sshterm_control_events_total{event=\"AUTH_ACCEPTED\"} 12\n"
		"sshterm_control_disconnects_total{reason=\"VERSION\"} 2\n"
		"sshterm_control_disconnects_total{reason=\"MALFORMED\"} 3\n"
		"sshterm_login_latency_seconds_sum 0.125000\n";
	struct st_top_sample s;

	memset(&s, 0, sizeof(s));
	CHECK_OK(st_top_parse_prom(prom, sizeof(prom) - 1, &s));
	CHECK_INT(s.nworkers, 3);
	CHECK(s.w[0].rx_bytes == 1000 && s.w[2].rx_bytes == 3000 && s.w[2].busy == 77);
	CHECK(s.auth_ok == 12 && s.disconnects == 5);
	s.auth_ok = 99;
	CHECK_ERR(st_top_parse_prom("x{worker=\"0\"} 1a\n", 17, &s), ST_ERR_FORMAT);
	CHECK_ERR(st_top_parse_prom("sshterm_worker_rx_bytes_total{worker=\"999\"} 1\n", 47, &s),
		  ST_ERR_FORMAT);
	CHECK_ERR(st_top_parse_prom("novalue\n", 8, &s), ST_ERR_FORMAT);
	CHECK(s.auth_ok == 99); /* untouched on error */
	/* A label block that just fills the parser's buffer (found by fuzz_http). */
	char lb[512] = "sshterm_x{";
	memset(lb + 10, 'a', 382);
	strcpy(lb + 392, "} 1\n");
	CHECK_ERR(st_top_parse_prom(lb, strlen(lb), &s), ST_ERR_FORMAT);

	static const char js[] =
		"[{\"id\":3,\"user\":\"al\\\"ice\",\"peer\":\"198.18.0.1\",\"port\":40000,\"worker\":0,"
		"\"age_s\":12,\"algorithms\":\"curve25519-sha256 aes128-ctr\",\"channels\":1,"
		"\"bytes_in\":100,\"bytes_out\":23,\"packets_in\":1,\"packets_out\":2,"
		"\"key_exchanges\":1},\n{\"id\":9,\"user\":\"\",\"peer\":\"::1\",\"port\":1}]\n";
	struct st_top_sess rows[4];
	size_t n = 0;
	CHECK_OK(st_top_parse_sessions(js, sizeof(js) - 1, rows, 4, &n));
	CHECK_INT(n, 2);
	CHECK(rows[0].id == 3 && rows[0].bytes == 123 && rows[0].age_s == 12 && rows[0].port == 40000);
	CHECK(strcmp(rows[0].user, "al\"ice") == 0 && strcmp(rows[0].peer, "198.18.0.1") == 0);
	CHECK(strcmp(rows[0].algs, "curve25519-sha256 aes128-ctr") == 0);
	CHECK(rows[1].id == 9 && rows[1].user[0] == '\0');
	CHECK_OK(st_top_parse_sessions("[]\n", 3, rows, 4, &n));
	CHECK_INT(n, 0);
	static const char *const badj[] = {
		"", "[", "[{}]", "[{\"id\":}]", "[{\"id\":1}", "[{\"id\":1}]x", "{\"id\":1}",
		"[{\"id\":1,}]", "[{\"u\":\"\\q\"}]", "[{\"u\":\"\\u12\"}]", "[{\"id\":99999999999999999999}]",
		"[{\"u\":\"a\nb\"}]",
	};
	for (size_t i = 0; i < sizeof(badj) / sizeof(badj[0]); i++) {
		n = 77;
		if (st_top_parse_sessions(badj[i], strlen(badj[i]), rows, 4, &n) != ST_ERR_FORMAT ||
		    n != 77)
			st_test_fail(__FILE__, __LINE__, "'%s' accepted", badj[i]);
	}
}

int main(void)
{
	RUN(test_http_req);
	RUN(test_histo);
	RUN(test_label_escape);
	RUN(test_http_server);
	RUN(test_top_parsers);
	return st_test_done("metrics");
}
