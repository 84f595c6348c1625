/*
 * `sshtermctl top` (ctl_top.h): samples over the control socket, rates from
 * two samples, and a screen or one line per interval.
 */
#include "control/ctl_top.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control/ctlsock.h"
#include "crypto/buf.h"
#include "crypto/err.h"

#define TOP_SESS_MAX 100000
#define TOP_REQ_TIMEOUT_MS 5000

/* ---- `stats --prometheus` ---- */

/* The value of label `key` in "{a=\"x\",b=\"y\"}" (ours: no escapes in these labels). */
static int label(const char *labels, const char *key, char *out, size_t outsz)
{
	char pat[40];
	snprintf(pat, sizeof(pat), "%s=\"", key);
	const char *p = strstr(labels, pat);
	if (p == NULL)
		return ST_ERR_NOT_FOUND;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (e == NULL || (size_t)(e - p) >= outsz)
		return ST_ERR_FORMAT;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return ST_OK;
}

/* One sample line: "name{labels} value" or "name value". */
static int prom_line(const char *l, size_t n, struct st_top_sample *s)
{
	char line[512], name[128], labels[384] = "", val[64];

	if (n == 0 || l[0] == '#')
		return ST_OK;
	if (n >= sizeof(line))
		return ST_ERR_FORMAT;
	memcpy(line, l, n);
	line[n] = '\0';
	size_t k = strcspn(line, "{ ");
	if (k == 0 || k >= sizeof(name) || line[k] == '\0')
		return ST_ERR_FORMAT;
	memcpy(name, line, k);
	name[k] = '\0';
	const char *rest = line + k;
	if (*rest == '{') {
		const char *e = strchr(rest, '}');
		if (e == NULL || (size_t)(e - rest) + 1 >= sizeof(labels))
			return ST_ERR_FORMAT;
		memcpy(labels, rest, (size_t)(e - rest + 1));
		labels[e - rest + 1] = '\0';
		rest = e + 1;
	}
	if (*rest != ' ' || strlen(rest + 1) >= sizeof(val) || rest[1] == '\0')
		return ST_ERR_FORMAT;
	snprintf(val, sizeof(val), "%s", rest + 1);
	char *end;
	double v = strtod(val, &end);
	if (*end != '\0')
		return ST_ERR_FORMAT;

	char lv[64];
	if (strncmp(name, "sshterm_worker_", 15) == 0 && label(labels, "worker", lv, sizeof(lv)) == ST_OK) {
		char *e2;
		unsigned long w = strtoul(lv, &e2, 10);
		if (*e2 != '\0' || w >= ST_TOP_MAX_WORKERS)
			return ST_ERR_FORMAT;
		if (w + 1 > s->nworkers)
			s->nworkers = (unsigned)w + 1;
		const char *f = name + 15;
		if (strcmp(f, "rx_bytes_total") == 0)
			s->w[w].rx_bytes = v;
		else if (strcmp(f, "tx_bytes_total") == 0)
			s->w[w].tx_bytes = v;
		else if (strcmp(f, "rx_packets_total") == 0)
			s->w[w].rx_pkts = v;
		else if (strcmp(f, "tx_packets_total") == 0)
			s->w[w].tx_pkts = v;
		else if (strcmp(f, "busy_cycles_total") == 0)
			s->w[w].busy = v;
		else if (strcmp(f, "idle_cycles_total") == 0)
			s->w[w].idle = v;
		else if (strcmp(f, "sessions") == 0)
			s->w[w].sessions = v;
		return ST_OK;
	}
	if (strcmp(name, "sshterm_control_events_total") == 0 &&
	    label(labels, "event", lv, sizeof(lv)) == ST_OK) {
		if (strcmp(lv, "AUTH_ACCEPTED") == 0)
			s->auth_ok = v;
		else if (strcmp(lv, "AUTH_FAILED") == 0)
			s->auth_failed = v;
		else if (strcmp(lv, "KEX_DONE") == 0)
			s->kex = v;
	} else if (strcmp(name, "sshterm_control_disconnects_total") == 0) {
		s->disconnects += v;
	} else if (strcmp(name, "sshterm_maxstartups_dropped_total") == 0) {
		s->startups_dropped = v;
	} else if (strcmp(name, "sshterm_control_sessions") == 0) {
		s->sessions = v;
	}
	return ST_OK;
}

int st_top_parse_prom(const char *text, size_t len, struct st_top_sample *s)
{
	struct st_top_sample tmp;
	struct st_buf b;
	int r = ST_OK;

	memset(&tmp, 0, sizeof(tmp));
	tmp.t = s->t;
	st_buf_from(&b, text, len);
	while (st_buf_avail(&b) > 0 && r == ST_OK) {
		const uint8_t *p = st_buf_ptr(&b), *line;
		const uint8_t *nl = memchr(p, '\n', st_buf_avail(&b));
		size_t n = nl != NULL ? (size_t)(nl - p) : st_buf_avail(&b);
		if ((r = st_buf_get_raw(&b, &line, n)) != ST_OK)
			break;
		if (nl != NULL)
			st_buf_skip(&b, 1);
		r = prom_line((const char *)line, n, &tmp);
	}
	if (r != ST_OK)
		return ST_ERR_FORMAT;
	*s = tmp;
	return ST_OK;
}

/* ---- `sessions --json`: an array of flat objects of strings and numbers ---- */

static int peek(struct st_buf *b)
{
	return st_buf_avail(b) > 0 ? *st_buf_ptr(b) : -1;
}

static void skip_ws(struct st_buf *b)
{
	int c;
	while ((c = peek(b)) == ' ' || c == '\n' || c == '\r' || c == '\t')
		st_buf_skip(b, 1);
}

static int expect(struct st_buf *b, uint8_t want)
{
	uint8_t c;
	skip_ws(b);
	if (st_buf_get_u8(b, &c) != ST_OK || c != want)
		return ST_ERR_FORMAT;
	return ST_OK;
}

/* A JSON string into out (truncated to outsz - 1; \uXXXX outside ASCII becomes '?'). */
static int json_string(struct st_buf *b, char *out, size_t outsz)
{
	size_t k = 0;
	uint8_t c;

	if (expect(b, '"') != ST_OK)
		return ST_ERR_FORMAT;
	for (;;) {
		if (st_buf_get_u8(b, &c) != ST_OK || c < 0x20)
			return ST_ERR_FORMAT;
		if (c == '"')
			break;
		if (c == '\\') {
			if (st_buf_get_u8(b, &c) != ST_OK)
				return ST_ERR_FORMAT;
			if (c == 'u') {
				uint8_t h[4];
				unsigned v = 0;
				if (st_buf_get_bytes(b, h, 4) != ST_OK)
					return ST_ERR_FORMAT;
				for (int i = 0; i < 4; i++) {
					int d = h[i] >= '0' && h[i] <= '9'   ? h[i] - '0'
						: h[i] >= 'a' && h[i] <= 'f' ? h[i] - 'a' + 10
						: h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 10
									     : -1;
					if (d < 0)
						return ST_ERR_FORMAT;
					v = v * 16 + (unsigned)d;
				}
				c = v >= 0x20 && v < 0x7f ? (uint8_t)v : '?';
			} else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f') {
				c = ' ';
			} else if (c != '"' && c != '\\' && c != '/') {
				return ST_ERR_FORMAT;
			}
		}
		if (k + 1 < outsz)
			out[k++] = (char)c;
	}
	out[k] = '\0';
	return ST_OK;
}

static int json_number(struct st_buf *b, unsigned long long *v)
{
	unsigned long long x = 0;
	int digits = 0, c;

	skip_ws(b);
	while ((c = peek(b)) >= '0' && c <= '9') {
		if (x > (~0ull - 9) / 10)
			return ST_ERR_FORMAT;
		x = x * 10 + (unsigned)(c - '0');
		digits++;
		st_buf_skip(b, 1);
	}
	if (digits == 0)
		return ST_ERR_FORMAT;
	*v = x;
	return ST_OK;
}

static int json_row(struct st_buf *b, struct st_top_sess *row)
{
	struct st_top_sess t;
	unsigned long long in = 0, outb = 0;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = expect(b, '{')) != ST_OK)
		return r;
	skip_ws(b);
	if (peek(b) == '}')
		return ST_ERR_FORMAT;
	for (;;) {
		char key[32], sval[128];
		unsigned long long n = 0;
		if ((r = json_string(b, key, sizeof(key))) != ST_OK || (r = expect(b, ':')) != ST_OK)
			return r;
		skip_ws(b);
		int is_str = peek(b) == '"';
		if ((r = is_str ? json_string(b, sval, sizeof(sval)) : json_number(b, &n)) != ST_OK)
			return r;
		if (is_str && strcmp(key, "user") == 0)
			snprintf(t.user, sizeof(t.user), "%.*s", (int)sizeof(t.user) - 1, sval);
		else if (is_str && strcmp(key, "peer") == 0)
			snprintf(t.peer, sizeof(t.peer), "%.*s", (int)sizeof(t.peer) - 1, sval);
		else if (is_str && strcmp(key, "algorithms") == 0)
			snprintf(t.algs, sizeof(t.algs), "%.*s", (int)sizeof(t.algs) - 1, sval);
		else if (!is_str && strcmp(key, "id") == 0)
			t.id = n;
		else if (!is_str && strcmp(key, "port") == 0)
			t.port = n <= 65535 ? (unsigned)n : 0;
		else if (!is_str && strcmp(key, "age_s") == 0)
			t.age_s = n;
		else if (!is_str && strcmp(key, "bytes_in") == 0)
			in = n;
		else if (!is_str && strcmp(key, "bytes_out") == 0)
			outb = n;
		skip_ws(b);
		uint8_t c;
		if (st_buf_get_u8(b, &c) != ST_OK)
			return ST_ERR_FORMAT;
		if (c == '}')
			break;
		if (c != ',')
			return ST_ERR_FORMAT;
	}
	t.bytes = in + outb;
	*row = t;
	return ST_OK;
}

int st_top_parse_sessions(const char *text, size_t len, struct st_top_sess *rows, size_t max,
			  size_t *n)
{
	struct st_buf b;
	size_t k = 0;
	uint8_t c;

	st_buf_from(&b, text, len);
	if (expect(&b, '[') != ST_OK)
		return ST_ERR_FORMAT;
	skip_ws(&b);
	if (peek(&b) == ']') {
		st_buf_skip(&b, 1);
	} else {
		for (;;) {
			struct st_top_sess row;
			if (json_row(&b, &row) != ST_OK)
				return ST_ERR_FORMAT;
			if (k < max)
				rows[k++] = row;
			skip_ws(&b);
			if (st_buf_get_u8(&b, &c) != ST_OK)
				return ST_ERR_FORMAT;
			if (c == ']')
				break;
			if (c != ',')
				return ST_ERR_FORMAT;
		}
	}
	skip_ws(&b);
	if (st_buf_avail(&b) != 0)
		return ST_ERR_FORMAT;
	*n = k;
	return ST_OK;
}

/* ---- sampling ---- */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One command's body (after "ok\n") in ans. ST_OK or an error with a message on stderr. */
static int ask(const char *sock, const char *cmd, struct st_buf *ans)
{
	st_buf_reset(ans);
	int r = st_ctlsock_request(sock, cmd, TOP_REQ_TIMEOUT_MS, ans);
	if (r == ST_ERR_SYSTEM) {
		fprintf(stderr, "sshtermctl: cannot reach sshterm at %s: %s\n", sock, strerror(errno));
		return r;
	}
	if (r != ST_OK) {
		fprintf(stderr, "sshtermctl: %s: %s\n", sock, st_err_str(r));
		return r;
	}
	if (st_buf_avail(ans) < 3 || memcmp(st_buf_ptr(ans), "ok\n", 3) != 0) {
		fprintf(stderr, "sshtermctl: %s: %.*s", cmd, (int)st_buf_avail(ans),
			(const char *)st_buf_ptr(ans));
		return ST_ERR_FORMAT;
	}
	st_buf_skip(ans, 3);
	return ST_OK;
}

struct top {
	const char *sock;
	struct st_buf ans;
	struct st_top_sample prev, cur;
	struct st_top_sess *sess, *psess; /* this sample's rows, the previous (sorted by id) */
	size_t nsess, npsess;
	double *rate;                      /* bytes/s per row of sess */
};

static int sample(struct top *t)
{
	int r;

	t->cur.t = mono_s();
	if ((r = ask(t->sock, "stats --prometheus", &t->ans)) != ST_OK)
		return r;
	if (st_top_parse_prom((const char *)st_buf_ptr(&t->ans), st_buf_avail(&t->ans), &t->cur) !=
	    ST_OK) {
		fprintf(stderr, "sshtermctl: top: malformed stats --prometheus answer\n");
		return ST_ERR_FORMAT;
	}
	if ((r = ask(t->sock, "sessions --json", &t->ans)) != ST_OK)
		return r;
	if (st_top_parse_sessions((const char *)st_buf_ptr(&t->ans), st_buf_avail(&t->ans), t->sess,
				  TOP_SESS_MAX, &t->nsess) != ST_OK) {
		fprintf(stderr, "sshtermctl: top: malformed sessions --json answer\n");
		return ST_ERR_FORMAT;
	}
	return ST_OK;
}

static int by_id(const void *a, const void *b)
{
	const struct st_top_sess *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Bytes/s of each session against the previous sample (new ones: their average so far). */
static void session_rates(struct top *t, double dt)
{
	for (size_t i = 0; i < t->nsess; i++) {
		struct st_top_sess *s = &t->sess[i];
		const struct st_top_sess *p =
			bsearch(s, t->psess, t->npsess, sizeof(*s), by_id);
		if (p != NULL && dt > 0 && s->bytes >= p->bytes)
			t->rate[i] = (double)(s->bytes - p->bytes) / dt;
		else
			t->rate[i] = s->age_s > 0 ? (double)s->bytes / (double)s->age_s : (double)s->bytes;
	}
}

static struct top *sort_ctx;
static int by_rate(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	double x = sort_ctx->rate[i], y = sort_ctx->rate[j];
	return x > y ? -1 : x < y ? 1 : by_id(&sort_ctx->sess[i], &sort_ctx->sess[j]);
}

struct totals {
	double gbps, pps, busy, logins, kex, failures;
};

static double d(double a, double b) { return a > b ? a - b : 0; }

static struct totals totals(const struct top *t, double dt)
{
	struct totals x = {0, 0, 0, 0, 0, 0};
	double busy = 0, all = 0;

	for (unsigned w = 0; w < t->cur.nworkers; w++) {
		x.gbps += (d(t->cur.w[w].rx_bytes, t->prev.w[w].rx_bytes) +
			   d(t->cur.w[w].tx_bytes, t->prev.w[w].tx_bytes)) * 8 / dt / 1e9;
		x.pps += (d(t->cur.w[w].rx_pkts, t->prev.w[w].rx_pkts) +
			  d(t->cur.w[w].tx_pkts, t->prev.w[w].tx_pkts)) / dt;
		busy += d(t->cur.w[w].busy, t->prev.w[w].busy);
		all += d(t->cur.w[w].busy, t->prev.w[w].busy) + d(t->cur.w[w].idle, t->prev.w[w].idle);
	}
	x.busy = all > 0 ? 100 * busy / all : 0;
	x.logins = d(t->cur.auth_ok, t->prev.auth_ok) / dt;
	x.kex = d(t->cur.kex, t->prev.kex) / dt;
	x.failures = (d(t->cur.auth_failed, t->prev.auth_failed) +
		      d(t->cur.disconnects, t->prev.disconnects) +
		      d(t->cur.startups_dropped, t->prev.startups_dropped)) / dt;
	return x;
}

static void line_mode(const struct top *t, double dt)
{
	struct totals x = totals(t, dt);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	printf("%s workers=%u gbps=%.3f pps=%.0f busy=%.1f%% sessions=%zu logins/s=%.1f kex/s=%.1f "
	       "failures/s=%.1f\n",
	       when, t->cur.nworkers, x.gbps, x.pps, x.busy, t->nsess, x.logins, x.kex, x.failures);
	fflush(stdout);
}

static void screen(struct top *t, double dt, int rows, int cols)
{
	struct totals x = totals(t, dt);
	char line[1024];
	int used = 0;

	/* Home, then each line cleared to its end; the rest of the screen cleared at the end. */
	fputs("\033[H", stdout);
#define OUT(...)                                                                        \
	do {                                                                            \
		snprintf(line, sizeof(line), __VA_ARGS__);                              \
		if (cols > 0 && (int)strlen(line) > cols)                               \
			line[cols] = '\0';                                              \
		fputs(line, stdout);                                                    \
		fputs("\033[K\n", stdout);                                             \
		used++;                                                                 \
	} while (0)
	time_t now = time(NULL);
	struct tm tm;
	char when[32];
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	OUT("sshterm top - %s  every %.1f s  sessions %zu  logins/s %.1f  kex/s %.1f  failures/s %.1f",
	    when, dt, t->nsess, x.logins, x.kex, x.failures);
	OUT("total %.3f Gbit/s  %.0f packets/s  busy %.1f%%", x.gbps, x.pps, x.busy);
	OUT("%s", "");
	fputs("\033[7m", stdout);
	OUT("%-7s %10s %12s %7s %10s %9s", "WORKER", "GBIT/S", "PACKETS/S", "BUSY%", "CYC/BYTE",
	    "SESSIONS");
	fputs("\033[0m", stdout);
	for (unsigned w = 0; w < t->cur.nworkers; w++) {
		double bytes = d(t->cur.w[w].rx_bytes, t->prev.w[w].rx_bytes) +
			       d(t->cur.w[w].tx_bytes, t->prev.w[w].tx_bytes);
		double busy = d(t->cur.w[w].busy, t->prev.w[w].busy);
		double all = busy + d(t->cur.w[w].idle, t->prev.w[w].idle);
		double pk = d(t->cur.w[w].rx_pkts, t->prev.w[w].rx_pkts) +
			    d(t->cur.w[w].tx_pkts, t->prev.w[w].tx_pkts);
		OUT("%-7u %10.3f %12.0f %7.1f %10.2f %9.0f", w, bytes * 8 / dt / 1e9, pk / dt,
		    all > 0 ? 100 * busy / all : 0, bytes > 0 ? busy / bytes : 0,
		    t->cur.w[w].sessions);
	}
	OUT("%s", "");
	fputs("\033[7m", stdout);
	OUT("%-7s %-12s %-22s %12s %8s  %s", "ID", "USER", "PEER", "BYTES/S", "AGE", "ALGORITHMS");
	fputs("\033[0m", stdout);
	size_t *order = malloc((t->nsess ? t->nsess : 1) * sizeof(*order));
	if (order != NULL) {
		for (size_t i = 0; i < t->nsess; i++)
			order[i] = i;
		sort_ctx = t;
		qsort(order, t->nsess, sizeof(*order), by_rate);
		for (size_t k = 0; k < t->nsess && used < rows - 1; k++) {
			const struct st_top_sess *s = &t->sess[order[k]];
			char peer[64], age[24];
			snprintf(peer, sizeof(peer), "%s:%u", s->peer, s->port);
			unsigned long long a = s->age_s;
			if (a >= 3600)
				snprintf(age, sizeof(age), "%lluh%02llum", a / 3600, a % 3600 / 60);
			else
				snprintf(age, sizeof(age), "%llum%02llus", a / 60, a % 60);
			OUT("%-7llu %-12s %-22s %12.0f %8s  %s", s->id, s->user[0] ? s->user : "(auth)",
			    peer, t->rate[order[k]], age, s->algs);
		}
		free(order);
	}
#undef OUT
	fputs("\033[J", stdout);
	fflush(stdout);
}

/* ---- the loop ---- */

static volatile sig_atomic_t top_quit;
static void on_sig(int sig)
{
	(void)sig;
	top_quit = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: sshtermctl [-s SOCKET] top [-d SECONDS] [-n ITERATIONS]\n");
}

static int parse_args(int argc, char **argv, double *delay, long *iters)
{
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			*delay = strtod(argv[++i], &end);
			if (*end != '\0' || !(*delay >= 0.1 && *delay <= 3600))
				return ST_ERR_FORMAT;
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			*iters = strtol(argv[++i], &end, 10);
			if (*end != '\0' || *iters < 0 || argv[i][0] == '\0')
				return ST_ERR_FORMAT;
		} else {
			return ST_ERR_FORMAT;
		}
	}
	return ST_OK;
}

/* Waits up to `s` seconds; 1 when the user pressed q (terminal input only). */
static int wait_key(double s, int keys)
{
	double until = mono_s() + s;

	while (!top_quit) {
		double left = until - mono_s();
		if (left <= 0)
			return 0;
		struct pollfd p = {STDIN_FILENO, POLLIN, 0};
		int n = poll(&p, keys ? 1 : 0, (int)(left * 1000) + 1);
		if (n > 0 && (p.revents & POLLIN)) {
			char c;
			if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
				return 1;
			if (p.revents & POLLHUP)
				keys = 0;
		}
	}
	return 1;
}

int st_ctl_top_main(const char *sock, int argc, char **argv)
{
	double delay = 1;
	long iters = 0;
	struct top t;
	struct termios saved;
	int tty = isatty(STDOUT_FILENO), keys = 0, rc = 1;

	if (parse_args(argc, argv, &delay, &iters) != ST_OK) {
		usage();
		return 2;
	}
	memset(&t, 0, sizeof(t));
	t.sock = sock;
	t.sess = calloc(TOP_SESS_MAX, sizeof(*t.sess));
	t.psess = calloc(TOP_SESS_MAX, sizeof(*t.psess));
	t.rate = calloc(TOP_SESS_MAX, sizeof(*t.rate));
	if (t.sess == NULL || t.psess == NULL || t.rate == NULL ||
	    st_buf_alloc(&t.ans, 65536, ST_CTLSOCK_ANSWER_MAX) != ST_OK) {
		fprintf(stderr, "sshtermctl: out of memory\n");
		goto out;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (sample(&t) != ST_OK)
		goto out;
	if (tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	if (tty)
		fputs("\033[?25l\033[H\033[2J", stdout); /* hide the cursor, clear */
	rc = 0;
	for (long i = 0; iters == 0 || i < iters; i++) {
		if (wait_key(delay, keys))
			break;
		t.prev = t.cur;
		memcpy(t.psess, t.sess, t.nsess * sizeof(*t.sess));
		t.npsess = t.nsess;
		qsort(t.psess, t.npsess, sizeof(*t.psess), by_id);
		if (sample(&t) != ST_OK) {
			rc = 1;
			break;
		}
		double dt = t.cur.t - t.prev.t;
		if (dt <= 0)
			dt = delay;
		session_rates(&t, dt);
		if (tty) {
			struct winsize ws;
			int rows = 24, cols = 0;
			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
				rows = ws.ws_row;
				cols = ws.ws_col;
			}
			screen(&t, dt, rows, cols);
		} else {
			line_mode(&t, dt);
		}
	}
	if (tty)
		fputs("\033[?25h", stdout); /* the cursor back; the last screen stays */
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
out:
	fflush(stdout);
	st_buf_free(&t.ans);
	free(t.sess);
	free(t.psess);
	free(t.rate);
	return rc;
}
