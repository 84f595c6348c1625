/*
 * sshterm-harness: TEST HARNESS ONLY, NOT THE PRODUCT DAEMON.
 *
 * Runs the control plane (control/conn.h) and the worker-side session
 * (dataplane/ssh/wsess.h) of each connection in one process, on kernel TCP
 * sockets bound to 127.0.0.1, so that real SSH clients can talk to the
 * engine before the DPDK dataplane exists. The planes talk only through
 * in-process FIFOs of struct st_plane_msg, the same messages the daemon will
 * carry on per-worker rings. Backend services use kernel sockets
 * (tests/harness/sockconn.h). The product daemon is `sshterm` (dataplane).
 *
 *   sshterm-harness -h hostkey [-h hostkey ...] [-a authorized_keys_pattern]
 *       [-p port] [-w portfile] [-S name=host:port ...] [-d default_service]
 *       [-r bytes[:seconds]] [-m max_connections] [-K kex] [-C ciphers]
 *       [-M macs] [-H hostkey_algs] [-O permitopen] [-v]
 *
 * -p 0 picks a free port; -w writes the port number to a file once listening.
 * Log lines (OpenSSH format) go to stderr; -v adds debug lines, -v -v one
 * line per message between the planes. SIGTERM or
 * SIGINT: every session is closed and the process exits 0 after printing its
 * counters.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control/config.h"
#include "control/conn.h"
#include "crypto/backend.h"
#include "crypto/err.h"
#include "dataplane/ssh/wsess.h"
#include "tests/harness/sockconn.h"

#define MQ_CAP 8192
#define INBUF 65536
#define MAX_CONNS_HARD 256

/* A bounded FIFO of plane messages (one direction of one connection). */
struct mq {
	struct st_plane_msg *m[MQ_CAP];
	unsigned head, n;
};

static int mq_push(void *ctx, struct st_plane_msg *m)
{
	struct mq *q = ctx;

	if (q->n == MQ_CAP) {
		st_plane_msg_free(m);
		return ST_ERR_NO_SPACE;
	}
	q->m[(q->head + q->n) % MQ_CAP] = m;
	q->n++;
	return ST_OK;
}

static struct st_plane_msg *mq_pop(struct mq *q)
{
	struct st_plane_msg *m;

	if (q->n == 0)
		return NULL;
	m = q->m[q->head];
	q->head = (q->head + 1) % MQ_CAP;
	q->n--;
	return m;
}

struct hconn {
	int fd;
	struct st_wsess ws;
	struct st_ctl_conn *ctl;
	struct mq up, down;
	uint8_t in[INBUF];
	size_t in_off, in_len;
	uint8_t in_eof;
	uint8_t write_failed;
};

static volatile sig_atomic_t quit;
static int verbose;
static struct st_wsess_worker_stats wstats;
static struct st_ctl_stats cstats;
static struct st_sockconn_set backends;
static struct hconn *conns[MAX_CONNS_HARD];
static unsigned max_conns = 64;
static uint16_t next_gen = 1;
static uint64_t refused_conns;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_line(void *ctx, int level, const char *line)
{
	(void)ctx;
	if (level >= ST_LOG_DEBUG && !verbose)
		return;
	fprintf(stderr, "sshterm-harness[%d]: %s\n", (int)getpid(), line);
}

/* -v -v: one line per plane message, for debugging the protocol between planes. */
static void trace_msg(const struct hconn *c, const char *dir, const struct st_plane_msg *m)
{
	uint32_t id = 0;
	int sub = m->len > 0 ? m->data[0] : -1;

	if (verbose < 2)
		return;
	if (m->type == ST_DOWN_BIND_CHANNEL)
		id = m->u.bind.local_id;
	else if (m->type == ST_DOWN_ATTACH_SERVICE)
		id = m->u.service.local_id;
	else if (m->type == ST_UP_CHANNEL_CLOSED)
		id = m->u.channel_closed.local_id;
	else if (m->len >= 5 && sub >= 90 && sub <= 100)
		id = (uint32_t)m->data[1] << 24 | (uint32_t)m->data[2] << 16 |
		     (uint32_t)m->data[3] << 8 | m->data[4];
	fprintf(stderr, "sshterm-harness[%d]: trace slot %u %s type %d msg %d id %u len %u\n",
		(int)getpid(), c->ws.handle.slot, dir, (int)m->type, sub, id, m->len);
}

/* Delivers queued messages both ways until both queues are empty. */
static void shuttle(struct hconn *c)
{
	struct st_plane_msg *m;
	unsigned rounds = 0;

	while ((c->up.n > 0 || c->down.n > 0) && rounds++ < 100000) {
		while ((m = mq_pop(&c->up)) != NULL) {
			trace_msg(c, "up", m);
			int r = st_ctl_conn_input(c->ctl, m);
			if (r != ST_OK && verbose)
				fprintf(stderr, "harness: control input: %s\n", st_err_str(r));
		}
		while ((m = mq_pop(&c->down)) != NULL) {
			trace_msg(c, "down", m);
			(void)st_wsess_down(&c->ws, m);
		}
	}
}

/* Writes as much of the session's tx as the socket takes. */
static void flush_tx(struct hconn *c)
{
	for (int i = 0; i < 256 && !c->write_failed; i++) {
		const uint8_t *p;
		size_t n;
		ssize_t w;

		st_wsess_tx_peek(&c->ws, &p, &n);
		if (n == 0)
			break;
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			c->write_failed = 1;
			st_wsess_peer_gone(&c->ws);
			break;
		}
		st_wsess_tx_consume(&c->ws, (size_t)w); /* may pump: more output */
		shuttle(c);
	}
}

/* Offers held input to the session. */
static void feed(struct hconn *c)
{
	while (c->in_off < c->in_len) {
		size_t used = 0;
		(void)st_wsess_input(&c->ws, c->in + c->in_off, c->in_len - c->in_off, &used);
		c->in_off += used;
		shuttle(c);
		if (used == 0)
			break;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
}

static void conn_free(unsigned idx)
{
	struct hconn *c = conns[idx];

	st_wsess_free(&c->ws);
	shuttle(c);
	st_ctl_conn_free(c->ctl);
	/* Anything still queued goes away with the connection. */
	struct st_plane_msg *m;
	while ((m = mq_pop(&c->up)) != NULL)
		st_plane_msg_free(m);
	while ((m = mq_pop(&c->down)) != NULL)
		st_plane_msg_free(m);
	close(c->fd);
	free(c);
	conns[idx] = NULL;
}

static void accept_one(int lfd, const struct st_ctl_config *cfg, const struct st_ctl_log *log,
		       const struct st_wsess_config *wcfg)
{
	struct sockaddr_in peer, local;
	socklen_t pl = sizeof(peer), ll = sizeof(local);
	char pip[ST_IP_STR], lip[ST_IP_STR];
	unsigned idx, count = 0;
	struct hconn *c;
	int fd, one = 1;

	fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (idx = 0; idx < MAX_CONNS_HARD; idx++)
		count += conns[idx] != NULL;
	for (idx = 0; idx < MAX_CONNS_HARD && conns[idx] != NULL; idx++)
		;
	if (count >= max_conns || idx == MAX_CONNS_HARD) {
		refused_conns++;
		fprintf(stderr, "sshterm-harness[%d]: drop connection: max connections (%u)\n",
			(int)getpid(), max_conns);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	getsockname(fd, (struct sockaddr *)&local, &ll);
	inet_ntop(AF_INET, &peer.sin_addr, pip, sizeof(pip));
	inet_ntop(AF_INET, &local.sin_addr, lip, sizeof(lip));
	c->fd = fd;
	struct st_conn_handle h = { .worker = 0, .gen = next_gen++, .slot = idx };
	struct st_plane_sink up = { .deliver = mq_push, .ctx = &c->up };
	struct st_plane_sink down = { .deliver = mq_push, .ctx = &c->down };
	if (st_wsess_init(&c->ws, wcfg, h, &up, &wstats, now_ms()) != ST_OK) {
		close(fd);
		free(c);
		return;
	}
	if ((c->ctl = st_ctl_conn_new(cfg, h, &down, log, &cstats)) == NULL) {
		st_wsess_free(&c->ws);
		struct st_plane_msg *m;
		while ((m = mq_pop(&c->up)) != NULL)
			st_plane_msg_free(m);
		close(fd);
		free(c);
		return;
	}
	conns[idx] = c;
	st_ctl_conn_tick(c->ctl, now_ms() / 1000);
	(void)st_wsess_open(&c->ws, pip, ntohs(peer.sin_port), lip, ntohs(local.sin_port));
	shuttle(c);
	flush_tx(c);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (end == s || (*end != '\0' && *end != ':'))
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sshterm-harness -h hostkey [-h ...] [-a authorized_keys] [-p port]\n"
		"       [-w portfile] [-S name=host:port] [-d default_service] [-r bytes[:secs]]\n"
		"       [-m max_conns] [-K kex] [-C ciphers] [-M macs] [-H hostkey_algs]\n"
		"       [-O permitopen] [-v]\n"
		"TEST HARNESS ONLY: not the sshterm daemon.\n");
	exit(2);
}

static void die_cfg(const char *what, const char *arg, int r)
{
	fprintf(stderr, "sshterm-harness: %s %s: %s\n", what, arg, st_err_str(r));
	exit(1);
}

static void print_stats(void)
{
	fprintf(stderr, "sshterm-harness[%d]: stats sessions=%llu refused=%llu rekeys_due=%llu\n",
		(int)getpid(), (unsigned long long)wstats.sessions,
		(unsigned long long)refused_conns, (unsigned long long)wstats.rekeys_due);
	for (int i = 0; i < ST_CLOSE_REASON_COUNT; i++)
		if (wstats.closes[i] != 0)
			fprintf(stderr, "sshterm-harness[%d]: stats close \"%s\" %llu\n",
				(int)getpid(), st_close_reason_str(i),
				(unsigned long long)wstats.closes[i]);
	for (int i = 0; i < ST_WDROP_COUNT; i++)
		if (wstats.drops[i] != 0)
			fprintf(stderr, "sshterm-harness[%d]: stats drop \"%s\" %llu\n",
				(int)getpid(), st_wsess_drop_str(i),
				(unsigned long long)wstats.drops[i]);
	for (int i = 0; i < ST_CHAN_CNT_COUNT; i++)
		if (wstats.chan[i] != 0)
			fprintf(stderr, "sshterm-harness[%d]: stats channel \"%s\" %llu\n",
				(int)getpid(), st_chan_counter_str(i),
				(unsigned long long)wstats.chan[i]);
	for (int i = 0; i < ST_CTL_COUNTER_COUNT; i++)
		if (cstats.v[i] != 0)
			fprintf(stderr, "sshterm-harness[%d]: stats control %s %llu\n",
				(int)getpid(), st_ctl_counter_name(i),
				(unsigned long long)cstats.v[i]);
}

int main(int argc, char **argv)
{
	static struct st_ctl_config cfg;
	static struct pollfd pfd[1 + MAX_CONNS_HARD + MAX_CONNS_HARD * 4];
	static struct st_sockconn *pbk[MAX_CONNS_HARD * 4];
	struct st_wsess_config wcfg;
	struct st_ctl_log log = { .fn = log_line, .ctx = NULL };
	const char *portfile = NULL;
	uint64_t rekey_bytes = 0, last_sec = 0;
	uint32_t rekey_secs = 0;
	int have_rekey = 0;
	unsigned port = 0;
	int opt, r, lfd;

	signal(SIGPIPE, SIG_IGN);
	st_ctl_config_init(&cfg);
	while ((opt = getopt(argc, argv, "h:a:p:w:S:d:r:m:K:C:M:H:O:v")) != -1) {
		switch (opt) {
		case 'h':
			if ((r = st_ctl_config_add_hostkey_file(&cfg, optarg)) != ST_OK)
				die_cfg("host key", optarg, r);
			break;
		case 'a':
			if ((r = st_ctl_config_set_authorized_keys_file(&cfg, optarg)) != ST_OK)
				die_cfg("authorized keys", optarg, r);
			break;
		case 'p':
			port = (unsigned)atoi(optarg);
			break;
		case 'w':
			portfile = optarg;
			break;
		case 'S': {
			char name[ST_SERVICE_NAME_MAX];
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || (size_t)(eq - optarg) >= sizeof(name))
				usage();
			memcpy(name, optarg, (size_t)(eq - optarg));
			name[eq - optarg] = '\0';
			if ((r = st_ctl_config_add_service(&cfg, name, eq + 1)) != ST_OK)
				die_cfg("service", optarg, r);
			break;
		}
		case 'd':
			if ((r = st_ctl_config_set_default_service(&cfg, optarg)) != ST_OK)
				die_cfg("default service", optarg, r);
			break;
		case 'r': {
			const char *colon = strchr(optarg, ':');
			if (parse_size(optarg, &rekey_bytes) != 0)
				usage();
			rekey_secs = colon != NULL ? (uint32_t)atoi(colon + 1) : 0;
			have_rekey = 1;
			break;
		}
		case 'm':
			max_conns = (unsigned)atoi(optarg);
			if (max_conns == 0 || max_conns > MAX_CONNS_HARD)
				max_conns = MAX_CONNS_HARD;
			break;
		case 'K':
			if ((r = st_ctl_config_set_kex(&cfg, optarg)) != ST_OK)
				die_cfg("kex", optarg, r);
			break;
		case 'C':
			if ((r = st_ctl_config_set_ciphers(&cfg, optarg)) != ST_OK)
				die_cfg("ciphers", optarg, r);
			break;
		case 'M':
			if ((r = st_ctl_config_set_macs(&cfg, optarg)) != ST_OK)
				die_cfg("macs", optarg, r);
			break;
		case 'H':
			if ((r = st_ctl_config_set_hostkey_algs(&cfg, optarg)) != ST_OK)
				die_cfg("hostkey algorithms", optarg, r);
			break;
		case 'O':
			if ((r = st_ctl_config_add_permitopen(&cfg, optarg)) != ST_OK)
				die_cfg("permitopen", optarg, r);
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (cfg.n_hostkeys == 0)
		usage();
	if (have_rekey) {
		cfg.rekey_bytes = rekey_bytes;
		cfg.rekey_seconds = rekey_secs;
	}

	memset(&wcfg, 0, sizeof(wcfg));
	wcfg.be = &st_crypto_backend_evp;
	wcfg.version = NULL; /* the control plane sends ST_DOWN_VERSION_LINE */
	wcfg.rekey_bytes = cfg.rekey_bytes;
	wcfg.rekey_seconds = cfg.rekey_seconds;
	st_sockconn_set_init(&backends, MAX_CONNS_HARD * 4);
	wcfg.connector = &backends.connector;

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 64) != 0) {
		perror("sshterm-harness: listen");
		return 1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	fprintf(stderr, "sshterm-harness[%d]: Server listening on 127.0.0.1 port %u.\n",
		(int)getpid(), ntohs(sa.sin_port));
	if (portfile != NULL) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
		FILE *f = fopen(tmp, "w");
		if (f == NULL || fprintf(f, "%u\n", ntohs(sa.sin_port)) < 0 || fclose(f) != 0 ||
		    rename(tmp, portfile) != 0) {
			perror("sshterm-harness: port file");
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	while (!quit) {
		unsigned np = 0, nb = 0, cidx[MAX_CONNS_HARD];
		uint64_t t = now_ms();

		/* clocks */
		for (unsigned i = 0; i < MAX_CONNS_HARD; i++) {
			struct hconn *c = conns[i];
			if (c == NULL)
				continue;
			st_wsess_tick(&c->ws, t);
			if (t / 1000 != last_sec)
				st_ctl_conn_tick(c->ctl, t / 1000);
			shuttle(c);
			feed(c);
			flush_tx(c);
			if (st_wsess_done(&c->ws) || (c->in_eof && c->in_len == 0)) {
				if (c->in_eof)
					st_wsess_peer_gone(&c->ws);
				conn_free(i);
			}
		}
		last_sec = t / 1000;

		pfd[np].fd = lfd;
		pfd[np].events = POLLIN;
		np++;
		for (unsigned i = 0; i < MAX_CONNS_HARD; i++) {
			struct hconn *c = conns[i];
			const uint8_t *p;
			size_t n;
			if (c == NULL)
				continue;
			st_wsess_tx_peek(&c->ws, &p, &n);
			pfd[np].fd = c->fd;
			pfd[np].events = (short)((c->in_len == 0 ? POLLIN : 0) | (n > 0 ? POLLOUT : 0));
			pfd[np].revents = 0;
			cidx[np - 1] = i;
			np++;
		}
		unsigned nconn = np - 1;
		for (struct st_sockconn *b = backends.head; b != NULL && nb < MAX_CONNS_HARD * 4;
		     b = b->next) {
			short ev = st_sockconn_events(b);
			if (ev == 0)
				continue;
			pfd[np].fd = b->fd;
			pfd[np].events = ev;
			pfd[np].revents = 0;
			pbk[nb++] = b;
			np++;
		}
		if (poll(pfd, np, 100) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			break;
		}
		if (pfd[0].revents & POLLIN)
			for (int k = 0; k < 16; k++)
				accept_one(lfd, &cfg, &log, &wcfg);
		for (unsigned k = 0; k < nconn; k++) {
			struct pollfd *p = &pfd[1 + k];
			struct hconn *c = conns[cidx[k]];
			if (c == NULL || p->revents == 0)
				continue;
			if (p->revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t got = recv(c->fd, c->in, INBUF, MSG_DONTWAIT);
				if (got > 0) {
					c->in_off = 0;
					c->in_len = (size_t)got;
					feed(c);
				} else if (got == 0 ||
					   (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
					c->in_eof = 1;
				}
			}
			flush_tx(c);
		}
		/* Backend events: note them all first (a pump may close backends). */
		unsigned char kick[MAX_CONNS_HARD] = { 0 };
		for (unsigned k = 0; k < nb; k++) {
			struct pollfd *p = &pfd[1 + nconn + k];
			if (p->revents == 0)
				continue;
			st_sockconn_ready(pbk[k], p->revents);
			for (unsigned i = 0; i < MAX_CONNS_HARD; i++)
				if (conns[i] != NULL && &conns[i]->ws == pbk[k]->owner)
					kick[i] = 1;
		}
		for (unsigned i = 0; i < MAX_CONNS_HARD; i++) {
			if (!kick[i] || conns[i] == NULL)
				continue;
			st_wsess_pump(&conns[i]->ws);
			shuttle(conns[i]);
			flush_tx(conns[i]);
		}
	}

	for (unsigned i = 0; i < MAX_CONNS_HARD; i++) {
		if (conns[i] == NULL)
			continue;
		st_wsess_close(&conns[i]->ws, ST_CLOSE_SHUTDOWN, 0);
		shuttle(conns[i]);
		flush_tx(conns[i]);
		conn_free(i);
	}
	close(lfd);
	print_stats();
	st_ctl_config_free(&cfg);
	return 0;
}
