/*
 * The control plane's PROXY protocol policy (control/conn_proxy.c), one
 * connection at a time: ProxyProtocol off / accept / require against
 * ProxyProtocolFrom, the peer address a header gives (st_ctl_conn_peer),
 * bad and out-of-order headers, and the log lines and counters of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/conn.h"
#include "dataplane/ssh/planes.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;

struct bed {
	struct st_ctl_conn *c;
	struct st_ctl_stats stats;
	unsigned ndown, nclose;
	char log[4096];
	size_t loglen;
};

static const struct st_conn_handle H = {.worker = 0, .gen = 1, .slot = 3};

static int sink(void *ctx, struct st_plane_msg *m)
{
	struct bed *b = ctx;
	b->ndown++;
	if (m->type == ST_DOWN_CLOSE)
		b->nclose++;
	st_plane_msg_free(m);
	return ST_OK;
}

static void logfn(void *ctx, int level, const char *line)
{
	struct bed *b = ctx;
	(void)level;
	int n = snprintf(b->log + b->loglen, sizeof(b->log) - b->loglen, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(b->log) - b->loglen)
		b->loglen += (size_t)n;
}

static void up(struct bed *b, enum st_plane_type t, const void *data, size_t len)
{
	struct st_plane_msg *m = st_plane_msg_new(t, H, data, (uint32_t)len);
	CHECK(m != NULL);
	if (m != NULL)
		CHECK_OK(st_ctl_conn_input(b->c, m));
}

/* A connection from tcp_peer port 40000 to 198.18.0.2 port 22, OPEN delivered. */
static void open_bed(struct bed *b, const char *tcp_peer)
{
	static struct st_plane_sink s;
	static struct st_ctl_log l;

	memset(b, 0, sizeof(*b));
	s = (struct st_plane_sink){sink, b};
	l = (struct st_ctl_log){logfn, b};
	b->c = st_ctl_conn_new(&fx.cfg, H, &s, &l, &b->stats);
	CHECK(b->c != NULL);
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_OPEN, H, NULL, 0);
	snprintf(m->u.open.peer_ip, sizeof(m->u.open.peer_ip), "%s", tcp_peer);
	snprintf(m->u.open.local_ip, sizeof(m->u.open.local_ip), "198.18.0.2");
	m->u.open.peer_port = 40000;
	m->u.open.local_port = 22;
	CHECK_OK(st_ctl_conn_input(b->c, m));
}

static void close_bed(struct bed *b)
{
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_CLOSED, H, NULL, 0);
	st_ctl_conn_input(b->c, m);
	st_ctl_conn_free(b->c);
}

static const char V1[] = "PROXY TCP4 198.18.7.7 198.18.0.2 4242 22\r\n";
static const char VL[] = "SSH-2.0-OpenSSH_9.6";

static void set_mode(enum st_ctl_proxy_mode mode)
{
	fx.cfg.proxy_mode = mode;
	CHECK_OK(st_ctl_config_set_proxy_from(&fx.cfg, "198.18.0.1/32,fd00::/8"));
}

static void test_accept_header(void)
{
	struct bed b;
	const char *ip;
	uint16_t port;

	set_mode(ST_PROXY_ACCEPT);
	open_bed(&b, "198.18.0.1");
	CHECK_INT(st_ctl_conn_peer(b.c, &ip, &port), 0); /* a header may still come */
	up(&b, ST_UP_PROXY, V1, strlen(V1));
	CHECK_INT(st_ctl_conn_peer(b.c, &ip, &port), 1);
	CHECK(strcmp(ip, "198.18.7.7") == 0);
	CHECK_INT(port, 4242);
	CHECK_INT(b.stats.v[ST_CTL_PROXY_ACCEPTED], 1);
	CHECK(strstr(b.log, "Connection from 198.18.7.7 port 4242 on 198.18.0.2 port 22 via PROXY v1 "
			    "from 198.18.0.1 port 40000") != NULL);
	up(&b, ST_UP_VERSION, VL, strlen(VL));
	CHECK(!st_ctl_conn_closing(b.c));
	/* a second header, or one after the identification line, is refused */
	up(&b, ST_UP_PROXY, V1, strlen(V1));
	CHECK(st_ctl_conn_closing(b.c));
	CHECK_INT(b.stats.v[ST_CTL_DISC_INTERNAL], 1);
	CHECK(strstr(b.log, "Disconnecting 198.18.7.7 port 4242: PROXY header out of order") != NULL);
	close_bed(&b);

	/* accept without a header: the TCP peer, final at the identification line */
	open_bed(&b, "fd00::5");
	up(&b, ST_UP_VERSION, VL, strlen(VL));
	CHECK_INT(st_ctl_conn_peer(b.c, &ip, &port), 1);
	CHECK(strcmp(ip, "fd00::5") == 0);
	CHECK(!st_ctl_conn_closing(b.c));
	close_bed(&b);

	/* an unlisted source connects normally, final at once, but may not send a header */
	open_bed(&b, "198.18.0.3");
	CHECK_INT(st_ctl_conn_peer(b.c, &ip, &port), 1);
	up(&b, ST_UP_PROXY, V1, strlen(V1));
	CHECK(st_ctl_conn_closing(b.c));
	CHECK_INT(b.stats.v[ST_CTL_DISC_PROXY_UNLISTED], 1);
	CHECK(strcmp(ip, "198.18.0.3") == 0);
	CHECK(strstr(b.log, "PROXY header from a source not in ProxyProtocolFrom") != NULL);
	close_bed(&b);
}

static void test_off_refuses_headers(void)
{
	struct bed b;

	set_mode(ST_PROXY_OFF);
	open_bed(&b, "198.18.0.1");
	up(&b, ST_UP_PROXY, V1, strlen(V1));
	CHECK(st_ctl_conn_closing(b.c));
	CHECK_INT(b.stats.v[ST_CTL_DISC_PROXY_UNLISTED], 1);
	CHECK(strstr(b.log, "(ProxyProtocol off)") != NULL);
	close_bed(&b);
	/* and an ordinary connection is untouched */
	open_bed(&b, "198.18.0.1");
	up(&b, ST_UP_VERSION, VL, strlen(VL));
	CHECK(!st_ctl_conn_closing(b.c));
	CHECK_INT(b.stats.v[ST_CTL_PROXY_ACCEPTED], 0);
	close_bed(&b);
}

static void test_require(void)
{
	struct bed b;
	const char *ip;
	uint16_t port;

	set_mode(ST_PROXY_REQUIRE);
	open_bed(&b, "198.18.0.3"); /* unlisted: refused at OPEN */
	CHECK(st_ctl_conn_closing(b.c));
	CHECK_INT(b.stats.v[ST_CTL_DISC_PROXY_UNLISTED], 1);
	CHECK(strstr(b.log, "ProxyProtocol require: source not in ProxyProtocolFrom") != NULL);
	close_bed(&b);

	open_bed(&b, "198.18.0.1"); /* listed, no header */
	CHECK(!st_ctl_conn_closing(b.c));
	up(&b, ST_UP_VERSION, VL, strlen(VL));
	CHECK(st_ctl_conn_closing(b.c));
	CHECK_INT(b.stats.v[ST_CTL_DISC_PROXY_MISSING], 1);
	close_bed(&b);

	/* v2 LOCAL: accepted, the connection keeps its own address */
	static const uint8_t local[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
					  0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00};
	open_bed(&b, "198.18.0.1");
	up(&b, ST_UP_PROXY, local, sizeof(local));
	up(&b, ST_UP_VERSION, VL, strlen(VL));
	CHECK(!st_ctl_conn_closing(b.c));
	CHECK_INT(st_ctl_conn_peer(b.c, &ip, &port), 1);
	CHECK(strcmp(ip, "198.18.0.1") == 0);
	CHECK_INT(port, 40000);
	close_bed(&b);
}

static void test_bad_headers(void)
{
	static const char *bad[] = {
		"PROXY TCP4 198.18.7.7 198.18.0.2 4242\r\n",
		"PROXY TCP6 198.18.7.7 198.18.0.2 4242 22\r\n",
		"PROXY TCP4 198.18.7.7 198.18.0.2 4242 22\n",
		"PROXY TCP4 198.18.7.7 198.18.0.2 4242 22",   /* truncated then given up */
		"\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\x00",          /* v2 over a UNIX socket */
		"PROXZ",
	};
	static const size_t len[] = {0, 0, 0, 0, 16, 0};

	set_mode(ST_PROXY_ACCEPT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bed b;
		const char *ip;
		uint16_t port;
		open_bed(&b, "198.18.0.1");
		up(&b, ST_UP_PROXY, bad[i], len[i] ? len[i] : strlen(bad[i]));
		if (!st_ctl_conn_closing(b.c) || b.stats.v[ST_CTL_DISC_PROXY_BAD] != 1 || b.nclose != 1)
			st_test_fail(__FILE__, __LINE__, "bad header %zu not refused", i);
		CHECK(strstr(b.log, "bad PROXY header (") != NULL);
		st_ctl_conn_peer(b.c, &ip, &port);
		CHECK(strcmp(ip, "198.18.0.1") == 0); /* nothing of it was taken */
		/* what the worker sends after is dropped */
		up(&b, ST_UP_VERSION, VL, strlen(VL));
		CHECK_INT(b.nclose, 1);
		close_bed(&b);
	}
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	RUN(test_accept_header);
	RUN(test_off_refuses_headers);
	RUN(test_require);
	RUN(test_bad_headers);
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_proxy");
}
