/* Channel fast path: flow control, EOF/CLOSE orders, peer violations, services. */
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/hash.h"
#include "dataplane/ssh/channel.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/test.h"

/* ---- a fake tx that records every payload ---- */

#define MAXMSG 4096
struct fake_tx {
	uint8_t buf[70000];
	uint8_t *msgs[MAXMSG];
	size_t lens[MAXMSG];
	unsigned n;
	unsigned room;          /* packets accepted before NO_SPACE; ~0u: unlimited */
	uint32_t closed[16];
	unsigned n_closed;
};

static int ftx_begin(void *ctx, size_t max, uint8_t **p)
{
	struct fake_tx *f = ctx;
	if (f->room == 0 || f->n == MAXMSG || max > sizeof(f->buf))
		return ST_ERR_NO_SPACE;
	*p = f->buf;
	return ST_OK;
}

static int ftx_commit(void *ctx, size_t len)
{
	struct fake_tx *f = ctx;
	f->msgs[f->n] = malloc(len);
	memcpy(f->msgs[f->n], f->buf, len);
	f->lens[f->n++] = len;
	if (f->room != ~0u)
		f->room--;
	return ST_OK;
}

static void ftx_closed(void *ctx, uint32_t id)
{
	struct fake_tx *f = ctx;
	if (f->n_closed < 16)
		f->closed[f->n_closed++] = id;
}

static void ftx_reset(struct fake_tx *f)
{
	for (unsigned i = 0; i < f->n; i++)
		free(f->msgs[i]);
	f->n = 0;
}

static struct fake_tx *ftx_new(void)
{
	struct fake_tx *f = calloc(1, sizeof(*f));
	f->room = ~0u;
	return f;
}

static void ftx_free(struct fake_tx *f)
{
	ftx_reset(f);
	free(f);
}

static void table_init(struct st_chan_table *t, struct fake_tx *f)
{
	struct st_chan_tx tx = { .begin = ftx_begin, .commit = ftx_commit, .closed = ftx_closed,
				 .ctx = f };
	st_chan_table_init(t, &tx, NULL, NULL);
}

static int bind(struct st_chan_table *t, uint32_t id, uint32_t lwin, uint32_t lmax, uint32_t rwin,
		uint32_t rmax)
{
	struct st_chan_bind b = { .local_id = id, .remote_id = id + 100, .local_window = lwin,
				  .local_max_packet = lmax, .remote_window = rwin,
				  .remote_max_packet = rmax };
	return st_chan_bind(t, &b);
}

static int attach(struct st_chan_table *t, uint32_t id, enum st_service_kind kind, uint64_t n)
{
	struct st_service_params p = { .kind = kind, .source_bytes = n };
	return st_chan_attach(t, id, &p, "test", 1);
}

/* Peer -> us messages. */
static int in_data(struct st_chan_table *t, uint32_t id, const uint8_t *d, size_t n, int *handled)
{
	uint8_t *m = malloc(9 + n);
	int r;
	m[0] = SSH_MSG_CHANNEL_DATA;
	st_poke_u32(m + 1, id);
	st_poke_u32(m + 5, (uint32_t)n);
	memcpy(m + 9, d, n);
	r = st_chan_input(t, m, 9 + n, handled);
	free(m);
	return r;
}

static int in_simple(struct st_chan_table *t, uint8_t type, uint32_t id)
{
	uint8_t m[5];
	int h;
	m[0] = type;
	st_poke_u32(m + 1, id);
	return st_chan_input(t, m, 5, &h);
}

static int in_adjust(struct st_chan_table *t, uint32_t id, uint32_t v)
{
	uint8_t m[9];
	int h;
	m[0] = SSH_MSG_CHANNEL_WINDOW_ADJUST;
	st_poke_u32(m + 1, id);
	st_poke_u32(m + 5, v);
	return st_chan_input(t, m, 9, &h);
}

static int is_exit_status(const uint8_t *m, size_t len, uint32_t rid, uint32_t status)
{
	return len == 1 + 4 + 4 + 11 + 1 + 4 && m[0] == SSH_MSG_CHANNEL_REQUEST &&
	       st_peek_u32(m + 1) == rid && memcmp(m + 9, "exit-status", 11) == 0 && m[20] == 0 &&
	       st_peek_u32(m + 21) == status;
}

static void test_unbound_not_handled(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	int h = 1;
	uint8_t d[4] = { 1, 2, 3, 4 };

	table_init(&t, f);
	CHECK_OK(in_data(&t, 7, d, 4, &h));
	CHECK_INT(h, 0);
	uint8_t req[5] = { SSH_MSG_CHANNEL_REQUEST, 0, 0, 0, 0 };
	CHECK_OK(bind(&t, 0, 1000, 100, 1000, 100));
	h = 1;
	CHECK_OK(st_chan_input(&t, req, sizeof(req), &h));
	CHECK_INT(h, 0); /* requests go to the control plane */
	CHECK_ERR(bind(&t, 0, 1000, 100, 1000, 100), ST_ERR_STATE);
	CHECK_ERR(bind(&t, 1, 0, 100, 1000, 100), ST_ERR_INVALID_ARGUMENT);
	for (uint32_t i = 1; i < ST_CHAN_MAX; i++)
		CHECK_OK(bind(&t, i, 1000, 100, 1000, 100));
	CHECK_ERR(bind(&t, 99, 1000, 100, 1000, 100), ST_ERR_NO_SPACE);
	CHECK_INT(f->n, 0);
	st_chan_table_free(&t);
	ftx_free(f);
}

/* A pool of two channels: what a table takes past its inline one, and gives back. */
struct two_pool {
	struct st_chan obj[2];
	uint8_t used[2];
	unsigned gets, puts;
};

static void *two_get(void *ctx)
{
	struct two_pool *p = ctx;

	for (unsigned i = 0; i < 2; i++)
		if (!p->used[i]) {
			p->used[i] = 1;
			p->gets++;
			return &p->obj[i];
		}
	return NULL;
}

static void two_put(void *ctx, void *chan)
{
	struct two_pool *p = ctx;

	for (unsigned i = 0; i < 2; i++)
		if (chan == &p->obj[i])
			p->used[i] = 0;
	p->puts++;
}

static void test_channels_past_the_first_from_the_pool(void)
{
	struct fake_tx *f = ftx_new();
	struct two_pool tp;
	struct st_chan_pool pool = { two_get, two_put, &tp };
	struct st_chan_tx tx = { .begin = ftx_begin, .commit = ftx_commit, .closed = ftx_closed,
				 .ctx = f };
	struct st_chan_table t;

	memset(&tp, 0, sizeof(tp));
	st_chan_table_init(&t, &tx, NULL, &pool);
	CHECK_OK(bind(&t, 0, 1000, 100, 1000, 100));
	CHECK_INT(tp.gets, 0); /* the first one is inline */
	CHECK(st_chan_find(&t, 0) == &t.first);
	CHECK_OK(bind(&t, 1, 1000, 100, 1000, 100));
	CHECK_OK(bind(&t, 2, 1000, 100, 1000, 100));
	CHECK_INT(tp.gets, 2);
	/* the pool is empty: the table has free slots but the bind fails */
	CHECK_ERR(bind(&t, 3, 1000, 100, 1000, 100), ST_ERR_NO_SPACE);
	CHECK_OK(attach(&t, 1, ST_SERVICE_ECHO, 0));
	st_chan_table_free(&t);
	CHECK_INT(tp.puts, 2);
	CHECK_INT(tp.used[0] + tp.used[1], 0);
	/* the inline storage is used again first after a release */
	st_chan_table_init(&t, &tx, NULL, &pool);
	CHECK_OK(bind(&t, 5, 1000, 100, 1000, 100));
	CHECK_OK(bind(&t, 6, 1000, 100, 1000, 100));
	CHECK(st_chan_find(&t, 6) != &t.first);
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_receive_window_and_adjust(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[100];
	int h;

	table_init(&t, f);
	st_test_fill(d, sizeof(d), 1);
	CHECK_OK(bind(&t, 3, 400, 100, 0, 100));
	CHECK_OK(attach(&t, 3, ST_SERVICE_SINK, 0));
	/* 100 + 99: under half of 400 consumed: no adjust yet */
	CHECK_OK(in_data(&t, 3, d, 100, &h));
	CHECK_INT(h, 1);
	CHECK_OK(in_data(&t, 3, d, 99, &h));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 0);
	CHECK_OK(in_data(&t, 3, d, 1, &h));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 1);
	CHECK_INT(f->msgs[0][0], SSH_MSG_CHANNEL_WINDOW_ADJUST);
	CHECK_INT(st_peek_u32(f->msgs[0] + 1), 103);
	CHECK_INT(st_peek_u32(f->msgs[0] + 5), 200);
	/* The whole window may be used again: 400 bytes fine, 401 not. */
	for (int i = 0; i < 4; i++)
		CHECK_OK(in_data(&t, 3, d, 100, &h));
	CHECK_ERR(in_data(&t, 3, d, 1, &h), ST_ERR_STATE);
	CHECK_INT(t.cnt[ST_CHAN_CNT_WINDOW_EXCEEDED], 1);
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_receive_max_packet(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[101] = { 0 };
	int h;

	table_init(&t, f);
	CHECK_OK(bind(&t, 1, 4000, 100, 0, 100));
	CHECK_OK(in_data(&t, 1, d, 100, &h));
	CHECK_ERR(in_data(&t, 1, d, 101, &h), ST_ERR_PACKET_TOO_LARGE);
	CHECK_INT(t.cnt[ST_CHAN_CNT_MAX_PACKET_EXCEEDED], 1);
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_malformed(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t m[16];
	int h;

	table_init(&t, f);
	CHECK_OK(bind(&t, 1, 4000, 100, 0, 100));
	/* DATA whose string runs past the end */
	m[0] = SSH_MSG_CHANNEL_DATA;
	st_poke_u32(m + 1, 1);
	st_poke_u32(m + 5, 10);
	CHECK_ERR(st_chan_input(&t, m, 12, &h), ST_ERR_FORMAT);
	/* EOF with trailing bytes */
	m[0] = SSH_MSG_CHANNEL_EOF;
	CHECK_ERR(st_chan_input(&t, m, 6, &h), ST_ERR_FORMAT);
	/* WINDOW_ADJUST truncated */
	m[0] = SSH_MSG_CHANNEL_WINDOW_ADJUST;
	CHECK_ERR(st_chan_input(&t, m, 7, &h), ST_ERR_FORMAT);
	/* EXTENDED_DATA without its string */
	m[0] = SSH_MSG_CHANNEL_EXTENDED_DATA;
	st_poke_u32(m + 5, 1);
	CHECK_ERR(st_chan_input(&t, m, 9, &h), ST_ERR_FORMAT);
	/* every truncation of a valid DATA message is rejected, never accepted */
	uint8_t ok[12] = { SSH_MSG_CHANNEL_DATA, 0, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c' };
	for (size_t l = 5; l < sizeof(ok); l++)
		CHECK_ERR(st_chan_input(&t, ok, l, &h), ST_ERR_FORMAT);
	CHECK_OK(st_chan_input(&t, ok, sizeof(ok), &h));
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_adjust_overflow(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;

	table_init(&t, f);
	CHECK_OK(bind(&t, 1, 4000, 100, 0xfffffff0u, 100));
	CHECK_OK(in_adjust(&t, 1, 0xf));
	CHECK_ERR(in_adjust(&t, 1, 1), ST_ERR_STATE);
	CHECK_INT(t.cnt[ST_CHAN_CNT_WINDOW_OVERFLOW], 1);
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_data_after_eof(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[4] = { 0 };
	int h;

	table_init(&t, f);
	CHECK_OK(bind(&t, 1, 4000, 100, 0, 100));
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_EOF, 1));
	CHECK_ERR(in_data(&t, 1, d, 4, &h), ST_ERR_STATE);
	st_chan_table_free(&t);
	ftx_free(f);
}

/* source: never more than the peer's window or max packet; then exit-status, EOF, CLOSE. */
static void test_send_window_and_max_packet(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint64_t total = 0;

	table_init(&t, f);
	CHECK_OK(bind(&t, 2, 1000, 100, 100, 30));
	CHECK_OK(attach(&t, 2, ST_SERVICE_SOURCE, 250));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 4); /* 30 30 30 10 */
	for (unsigned i = 0; i < f->n; i++) {
		CHECK_INT(f->msgs[i][0], SSH_MSG_CHANNEL_DATA);
		CHECK_INT(st_peek_u32(f->msgs[i] + 1), 102);
		CHECK(st_peek_u32(f->msgs[i] + 5) <= 30);
		CHECK_INT(f->lens[i], 9 + st_peek_u32(f->msgs[i] + 5));
		total += st_peek_u32(f->msgs[i] + 5);
	}
	CHECK_INT(total, 100);
	ftx_reset(f);
	CHECK_OK(st_chan_pump(&t)); /* window exhausted: nothing */
	CHECK_INT(f->n, 0);
	CHECK_OK(in_adjust(&t, 2, 1000));
	CHECK_OK(st_chan_pump(&t));
	total = 0;
	unsigned i = 0;
	while (i < f->n && f->msgs[i][0] == SSH_MSG_CHANNEL_DATA)
		total += st_peek_u32(f->msgs[i++] + 5);
	CHECK_INT(total, 150);
	CHECK_INT(f->n, i + 3);
	if (f->n == i + 3) {
		CHECK(is_exit_status(f->msgs[i], f->lens[i], 102, 0));
		CHECK_INT(f->msgs[i + 1][0], SSH_MSG_CHANNEL_EOF);
		CHECK_INT(f->msgs[i + 2][0], SSH_MSG_CHANNEL_CLOSE);
	}
	ftx_reset(f);
	CHECK_INT(f->n_closed, 0);
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_CLOSE, 2));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 0); /* no second CLOSE */
	CHECK_INT(f->n_closed, 1);
	CHECK_INT(f->closed[0], 2);
	CHECK(st_chan_find(&t, 2) == NULL);
	CHECK_INT(t.n_open, 0);
	st_chan_table_free(&t);
	ftx_free(f);
}

/* source N produces the documented stream (AES-128-CTR keystream, zero key and counter). */
static void test_source_stream(void)
{
	static const char *want =
		"cbe2b262041a8db47d844bcaccfaa76de692ca1410e9920198b250445175e1b8";
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	struct st_hash_ctx h = { 0 };
	uint8_t md[32], w[32];
	uint64_t total = 0;

	table_init(&t, f);
	CHECK_OK(bind(&t, 0, 1000, 100, 1u << 20, 32768));
	CHECK_OK(attach(&t, 0, ST_SERVICE_SOURCE, 1u << 20));
	CHECK_OK(st_chan_pump(&t));
	CHECK_OK(st_hash_init(&h, ST_HASH_SHA256));
	for (unsigned i = 0; i < f->n && f->msgs[i][0] == SSH_MSG_CHANNEL_DATA; i++) {
		st_hash_update(&h, f->msgs[i] + 9, f->lens[i] - 9);
		total += f->lens[i] - 9;
	}
	CHECK_OK(st_hash_final(&h, md, sizeof(md)));
	st_hash_ctx_free(&h);
	CHECK_INT(total, 1u << 20);
	st_test_unhex(want, w, sizeof(w));
	CHECK_MEM(md, w, 32);
	st_chan_table_free(&t);
	ftx_free(f);
}

/* sink: the line after EOF, then exit-status 0, EOF, CLOSE; peer CLOSE releases. */
static void test_sink_eof_close(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[1000];
	uint8_t md[32];
	char line[128], hex[65];
	int h;

	table_init(&t, f);
	st_test_fill(d, sizeof(d), 7);
	st_hash(ST_HASH_SHA256, d, sizeof(d), md);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(line, sizeof(line), "1000 %s\n", hex);

	CHECK_OK(bind(&t, 5, 4096, 1000, 4096, 32768));
	/* data before attach is held, then delivered */
	CHECK_OK(in_data(&t, 5, d, 400, &h));
	CHECK_OK(attach(&t, 5, ST_SERVICE_SINK, 0));
	CHECK_OK(in_data(&t, 5, d + 400, 600, &h));
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_EOF, 5));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 4);
	if (f->n == 4) {
		CHECK_INT(f->msgs[0][0], SSH_MSG_CHANNEL_DATA);
		CHECK_INT(f->lens[0] - 9, strlen(line));
		CHECK_MEM(f->msgs[0] + 9, line, strlen(line));
		CHECK(is_exit_status(f->msgs[1], f->lens[1], 105, 0));
		CHECK_INT(f->msgs[2][0], SSH_MSG_CHANNEL_EOF);
		CHECK_INT(f->msgs[3][0], SSH_MSG_CHANNEL_CLOSE);
	}
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_CLOSE, 5));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n_closed, 1);
	st_chan_table_free(&t);
	ftx_free(f);
}

/* Peer closes first: we answer CLOSE only (no EOF/exit-status), channel released. */
static void test_peer_close_first(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;

	table_init(&t, f);
	CHECK_OK(bind(&t, 1, 4096, 1000, 4096, 32768));
	CHECK_OK(attach(&t, 1, ST_SERVICE_ECHO, 0));
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_CLOSE, 1));
	/* anything after CLOSE is a violation */
	CHECK_ERR(in_simple(&t, SSH_MSG_CHANNEL_EOF, 1), ST_ERR_STATE);
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 1);
	CHECK_INT(f->msgs[0][0], SSH_MSG_CHANNEL_CLOSE);
	CHECK_INT(f->n_closed, 1);
	CHECK_INT(t.n_open, 0);
	/* the id is free again */
	CHECK_OK(bind(&t, 1, 4096, 1000, 4096, 32768));
	st_chan_table_free(&t);
	ftx_free(f);
}

/* Peer EOF, then CLOSE before we finish; echo returns what it got. */
static void test_echo_and_tx_backpressure(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[3000], got[3000];
	size_t ngot = 0;
	int h;

	table_init(&t, f);
	st_test_fill(d, sizeof(d), 3);
	CHECK_OK(bind(&t, 1, 4096, 1000, 10000, 700));
	CHECK_OK(attach(&t, 1, ST_SERVICE_ECHO, 0));
	f->room = 2; /* tx fills after two packets */
	/* echo reflects as data comes: 700 + 300 bytes of the first packet go
	 * at once, the rest waits in the hold ring */
	for (int i = 0; i < 3; i++)
		CHECK_OK(in_data(&t, 1, d + 1000 * i, 1000, &h));
	CHECK_INT(f->n, 2);
	CHECK_INT(st_chan_find(&t, 1)->ring_len, 2000);
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_EOF, 1));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 2);
	CHECK(st_chan_blocked(&t));
	for (int round = 0; round < 20 && st_chan_blocked(&t); round++) {
		f->room = 1;
		CHECK_OK(st_chan_pump(&t));
	}
	CHECK(!st_chan_blocked(&t));
	unsigned i;
	for (i = 0; i < f->n && f->msgs[i][0] == SSH_MSG_CHANNEL_DATA; i++) {
		size_t l = f->lens[i] - 9;
		CHECK(l <= 700);
		if (ngot + l <= sizeof(got))
			memcpy(got + ngot, f->msgs[i] + 9, l);
		ngot += l;
	}
	CHECK_INT(ngot, 3000);
	CHECK_MEM(got, d, 3000);
	/* after the peer's EOF no WINDOW_ADJUST; then exit-status, EOF, CLOSE */
	CHECK_INT(f->n, i + 3);
	if (f->n == i + 3) {
		CHECK(is_exit_status(f->msgs[i], f->lens[i], 101, 0));
		CHECK_INT(f->msgs[i + 1][0], SSH_MSG_CHANNEL_EOF);
		CHECK_INT(f->msgs[i + 2][0], SSH_MSG_CHANNEL_CLOSE);
	}
	st_chan_table_free(&t);
	ftx_free(f);
}

/* A service that stops consuming: the ring holds the rest, no WINDOW_ADJUST until consumed. */
static void test_backpressure_withholds_adjust(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	static uint8_t d[32768];
	uint32_t adjusted = 0;
	int h;

	table_init(&t, f);
	st_test_fill(d, sizeof(d), 9);
	/* the peer's window for our output is 0: echo cannot send, so it takes nothing */
	CHECK_OK(bind(&t, 1, 1u << 20, 32768, 0, 32768));
	CHECK_OK(attach(&t, 1, ST_SERVICE_ECHO, 0));
	for (int i = 0; i < 32; i++) /* the whole 1 MiB window */
		CHECK_OK(in_data(&t, 1, d, sizeof(d), &h));
	CHECK_ERR(in_data(&t, 1, d, 1, &h), ST_ERR_STATE);
	CHECK_OK(st_chan_pump(&t));
	for (unsigned i = 0; i < f->n; i++)
		if (f->msgs[i][0] == SSH_MSG_CHANNEL_WINDOW_ADJUST)
			adjusted += st_peek_u32(f->msgs[i] + 5);
	/* echo took nothing: nothing granted, the whole window held */
	CHECK_INT(adjusted, 0);
	struct st_chan *c = st_chan_find(&t, 1);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_INT(c->ring_len, 1u << 20);
		CHECK_INT(c->local_window + c->ring_len + c->credit, 1u << 20);
	}
	/* the peer opens its window: echo drains, input flows, window comes back */
	ftx_reset(f);
	CHECK_OK(in_adjust(&t, 1, 1u << 30));
	/* one pump must move everything: the held input is reflected as the
	 * window allows, without waiting for another event */
	CHECK_OK(st_chan_pump(&t));
	uint64_t out = 0;
	for (unsigned i = 0; i < f->n; i++) {
		if (f->msgs[i][0] == SSH_MSG_CHANNEL_WINDOW_ADJUST)
			adjusted += st_peek_u32(f->msgs[i] + 5);
		else if (f->msgs[i][0] == SSH_MSG_CHANNEL_DATA)
			out += f->lens[i] - 9;
	}
	CHECK_INT(out, 1u << 20);
	CHECK(adjusted >= (1u << 19));
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_attach_errors(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	struct st_service_params p = { .kind = ST_SERVICE_BACKEND, .host = "127.0.0.1", .port = 1 };

	table_init(&t, f);
	CHECK_ERR(attach(&t, 4, ST_SERVICE_SINK, 0), ST_ERR_NOT_FOUND);
	CHECK_OK(bind(&t, 4, 4096, 1000, 4096, 32768));
	/* no connector: the backend cannot start; the channel closes with status 1 */
	CHECK_ERR(st_chan_attach(&t, 4, &p, "db", 1), ST_ERR_NOT_FOUND);
	CHECK_ERR(attach(&t, 4, ST_SERVICE_SINK, 0), ST_ERR_STATE);
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 3);
	if (f->n == 3) {
		CHECK(is_exit_status(f->msgs[0], f->lens[0], 104, 1));
		CHECK_INT(f->msgs[1][0], SSH_MSG_CHANNEL_EOF);
		CHECK_INT(f->msgs[2][0], SSH_MSG_CHANNEL_CLOSE);
	}
	st_chan_table_free(&t);
	ftx_free(f);
}

/* Late WINDOW_ADJUST / EOF for a channel closed both ways: ignored until rebound. */
static void test_late_messages_after_close(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t adj[9] = { SSH_MSG_CHANNEL_WINDOW_ADJUST, 0, 0, 0, 6, 0, 0, 1, 0 };
	uint8_t eof[5] = { SSH_MSG_CHANNEL_EOF, 0, 0, 0, 6 };
	uint8_t d[1] = { 0 };
	int h;

	table_init(&t, f);
	CHECK_OK(bind(&t, 6, 4096, 1000, 4096, 32768));
	CHECK_OK(attach(&t, 6, ST_SERVICE_SOURCE, 10));
	CHECK_OK(st_chan_pump(&t));
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_CLOSE, 6));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n_closed, 1);
	h = 0;
	CHECK_OK(st_chan_input(&t, adj, sizeof(adj), &h));
	CHECK_INT(h, 1);
	h = 0;
	CHECK_OK(st_chan_input(&t, eof, sizeof(eof), &h));
	CHECK_INT(h, 1);
	CHECK_INT(t.cnt[ST_CHAN_CNT_LATE_AFTER_CLOSE], 2);
	/* data is not tolerated here: the control plane decides */
	CHECK_OK(in_data(&t, 6, d, 1, &h));
	CHECK_INT(h, 0);
	/* a never-bound id is not tolerated either */
	eof[4] = 9;
	CHECK_OK(st_chan_input(&t, eof, sizeof(eof), &h));
	CHECK_INT(h, 0);
	/* rebinding the id makes it a live channel again */
	CHECK_OK(bind(&t, 6, 4096, 1000, 4096, 32768));
	CHECK_OK(in_simple(&t, SSH_MSG_CHANNEL_EOF, 6));
	CHECK_ERR(in_simple(&t, SSH_MSG_CHANNEL_EOF + 1, 6), ST_OK); /* CLOSE */
	CHECK_ERR(in_simple(&t, SSH_MSG_CHANNEL_CLOSE, 6), ST_ERR_STATE);
	st_chan_table_free(&t);
	ftx_free(f);
}

/* ---- a backend's prefix (PROXY v2 header) goes out before any channel data ---- */

static struct {
	uint8_t out[256];
	size_t n;
	size_t per_write; /* bytes a write takes (0: still connecting) */
	int shut_at;      /* bytes written when shutdown_write came, -1: not yet */
} rc;
static int rc_token;

static int rc_connect(void *ctx, const char *host, uint16_t port, void *owner, void **conn)
{
	(void)ctx, (void)host, (void)port, (void)owner;
	*conn = &rc_token;
	return ST_OK;
}
static int rc_write(void *conn, const uint8_t *p, size_t n, size_t *w)
{
	(void)conn;
	size_t k = n < rc.per_write ? n : rc.per_write;
	if (k > sizeof(rc.out) - rc.n)
		k = sizeof(rc.out) - rc.n;
	memcpy(rc.out + rc.n, p, k);
	rc.n += k;
	*w = k;
	return ST_OK;
}
static int rc_read(void *conn, uint8_t *p, size_t cap, size_t *n, int *eof)
{
	(void)conn, (void)p, (void)cap;
	*n = 0;
	*eof = 0;
	return ST_OK;
}
static int rc_shutdown(void *conn)
{
	(void)conn;
	rc.shut_at = (int)rc.n;
	return ST_OK;
}
static void rc_close(void *conn)
{
	(void)conn;
}
static const struct st_connector_ops rc_ops = {rc_connect, rc_write, rc_read, rc_shutdown, rc_close,
					       NULL};

static void test_backend_prefix(void)
{
	struct st_connector conn = {&rc_ops, NULL};
	struct st_service_env env = {.connector = &conn, .owner = NULL};
	static const uint8_t pre[] = "HEADER-0123456789";
	struct st_service_params p = {.kind = ST_SERVICE_BACKEND, .host = "198.18.0.1", .port = 7000,
				      .prefix = pre, .prefix_len = sizeof(pre) - 1};
	struct st_service sv;
	uint8_t buf[64];
	size_t used = 0, n = 0;

	memset(&rc, 0, sizeof(rc));
	rc.shut_at = -1;
	CHECK_OK(st_service_start(&sv, &p, &env));
	/* connecting: nothing goes, the data waits */
	CHECK_OK(st_service_data(&sv, (const uint8_t *)"data", 4, &used));
	CHECK_INT(used, 0);
	CHECK_INT(rc.n, 0);
	/* three bytes a write: the prefix first, in pieces, then the data */
	rc.per_write = 3;
	for (int i = 0; i < 20 && used == 0; i++)
		CHECK_OK(st_service_data(&sv, (const uint8_t *)"data", 4, &used));
	CHECK(rc.n >= sizeof(pre) - 1);
	CHECK_MEM(rc.out, pre, sizeof(pre) - 1);
	CHECK_INT(used, 3);
	CHECK_MEM(rc.out + sizeof(pre) - 1, "dat", 3);
	st_service_close(&sv);

	/* the peer's EOF before the prefix went out waits for it; produce() flushes */
	memset(&rc, 0, sizeof(rc));
	rc.shut_at = -1;
	CHECK_OK(st_service_start(&sv, &p, &env));
	CHECK_OK(sv.ops->on_eof(&sv));
	CHECK_INT(rc.shut_at, -1);
	rc.per_write = 5;
	for (int i = 0; i < 10 && rc.shut_at < 0; i++)
		CHECK_OK(st_service_produce(&sv, buf, sizeof(buf), &n));
	CHECK_INT(rc.shut_at, (int)sizeof(pre) - 1);
	CHECK_MEM(rc.out, pre, sizeof(pre) - 1);
	st_service_close(&sv);

	/* an oversized prefix is refused at start */
	static uint8_t big[ST_SERVICE_PREFIX_MAX + 1];
	p.prefix = big;
	p.prefix_len = sizeof(big);
	CHECK_ERR(st_service_start(&sv, &p, &env), ST_ERR_INVALID_ARGUMENT);
}

/* ---- deferred confirmation (direct-tcpip: confirm once the backend is up) ---- */

static int fc_state_value = ST_ERR_AGAIN; /* what the fake backend reports */
static uint32_t failed_id;
static int failed_err;
static int fc_conn_token;

static int fc_connect(void *ctx, const char *host, uint16_t port, void *owner, void **conn)
{
	(void)ctx, (void)host, (void)port, (void)owner;
	*conn = &fc_conn_token;
	return ST_OK;
}
static int fc_write(void *conn, const uint8_t *p, size_t n, size_t *w)
{
	(void)conn, (void)p;
	*w = fc_state_value == ST_OK ? n : 0;
	return ST_OK;
}
static int fc_read(void *conn, uint8_t *p, size_t cap, size_t *n, int *eof)
{
	(void)conn, (void)p, (void)cap;
	*n = 0;
	*eof = 0;
	return ST_OK;
}
static int fc_shutdown(void *conn)
{
	(void)conn;
	return ST_OK;
}
static void fc_close(void *conn)
{
	(void)conn;
}
static int fc_state(void *conn)
{
	(void)conn;
	return fc_state_value;
}
static const struct st_connector_ops fc_ops = {fc_connect, fc_write, fc_read, fc_shutdown,
					       fc_close, fc_state};

static void on_connect_failed(void *ctx, uint32_t id, int err)
{
	(void)ctx;
	failed_id = id;
	failed_err = err;
}

static void deferred_table(struct st_chan_table *t, struct fake_tx *f,
			   const struct st_connector *conn)
{
	struct st_chan_tx tx = { .begin = ftx_begin, .commit = ftx_commit, .closed = ftx_closed,
				 .connect_failed = on_connect_failed, .ctx = f };
	struct st_service_env env = { .connector = conn, .owner = NULL };
	st_chan_table_init(t, &tx, &env, NULL);
}

static void test_deferred_confirm(void)
{
	struct st_connector conn = {&fc_ops, NULL};
	struct st_chan_table t;
	struct fake_tx *f = ftx_new();
	struct st_chan_bind b = { .local_id = 3, .remote_id = 77, .local_window = 65536,
				  .local_max_packet = 32768, .remote_window = 65536,
				  .remote_max_packet = 32768, .confirm_on_connect = 1 };
	struct st_service_params p = { .kind = ST_SERVICE_BACKEND, .host = "198.18.0.1",
				       .port = 7000 };

	fc_state_value = ST_ERR_AGAIN;
	deferred_table(&t, f, &conn);
	CHECK_OK(st_chan_bind(&t, &b));
	CHECK_OK(st_chan_attach(&t, 3, &p, "direct-tcpip", 0));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, 0); /* still connecting: nothing towards the peer */
	fc_state_value = ST_OK;
	CHECK_OK(st_chan_pump(&t));
	CHECK(f->n >= 1);
	if (f->n >= 1) {
		CHECK_INT(f->lens[0], 17);
		CHECK_INT(f->msgs[0][0], SSH_MSG_CHANNEL_OPEN_CONFIRMATION);
		CHECK_INT(st_peek_u32(f->msgs[0] + 1), 77);
		CHECK_INT(st_peek_u32(f->msgs[0] + 5), 3);
		CHECK_INT(st_peek_u32(f->msgs[0] + 9), 65536);
		CHECK_INT(st_peek_u32(f->msgs[0] + 13), 32768);
	}
	/* Confirmed once only. */
	unsigned n = f->n;
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(f->n, n);
	st_chan_table_free(&t);
	ftx_free(f);
}

static void test_deferred_refused(void)
{
	struct st_connector conn = {&fc_ops, NULL};
	struct st_chan_table t;
	struct fake_tx *f = ftx_new();
	struct st_chan_bind b = { .local_id = 5, .remote_id = 9, .local_window = 65536,
				  .local_max_packet = 32768, .remote_window = 65536,
				  .remote_max_packet = 32768, .confirm_on_connect = 1 };
	struct st_service_params p = { .kind = ST_SERVICE_BACKEND, .host = "198.18.0.1",
				       .port = 7001 };

	fc_state_value = ST_ERR_AGAIN;
	failed_id = 0;
	deferred_table(&t, f, &conn);
	CHECK_OK(st_chan_bind(&t, &b));
	CHECK_OK(st_chan_attach(&t, 5, &p, "direct-tcpip", 0));
	CHECK_OK(st_chan_pump(&t));
	fc_state_value = ST_ERR_CONN_REFUSED;
	CHECK_OK(st_chan_pump(&t));
	/* No EOF/CLOSE for a channel the peer never saw confirmed; reported instead. */
	CHECK_INT(f->n, 0);
	CHECK_INT(failed_id, 5);
	CHECK_ERR(failed_err, ST_ERR_CONN_REFUSED);
	CHECK(st_chan_find(&t, 5) == NULL);
	/* The id can be bound again. */
	CHECK_OK(st_chan_bind(&t, &b));
	st_chan_table_free(&t);
	ftx_free(f);
}


/* CHANNEL_DATA built in buf, offered split into pieces at the given cut points. */
static int in_data_split(struct st_chan_table *t, uint32_t id, const uint8_t *d, size_t n,
			 const size_t *cuts, unsigned ncuts, int *handled)
{
	uint8_t *m = malloc(9 + n);
	struct st_seg segs[16];
	size_t at = 0;
	unsigned k = 0;
	int r;

	m[0] = SSH_MSG_CHANNEL_DATA;
	st_poke_u32(m + 1, id);
	st_poke_u32(m + 5, (uint32_t)n);
	memcpy(m + 9, d, n);
	for (unsigned i = 0; i <= ncuts && k < 16; i++) {
		size_t end = i < ncuts ? cuts[i] : 9 + n;
		segs[k].p = m + at;
		segs[k].len = (uint32_t)(end - at);
		at = end;
		k++;
	}
	r = st_chan_input_segs(t, segs, k, 9 + n, handled);
	free(m);
	return r;
}

/*
 * Scattered payloads (opened in place in receive mbufs) give the same
 * results as contiguous ones at every cut inside the header and the data,
 * and small messages that straddle a cut are handled too.
 */
static void test_segs_input(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[300], md[32], want[32];
	struct st_hash_ctx h0;
	int h, bad = 0;

	st_test_fill(d, sizeof(d), 11);
	table_init(&t, f);
	CHECK_OK(bind(&t, 2, 1u << 20, 1000, 4096, 32768));
	CHECK_OK(attach(&t, 2, ST_SERVICE_SINK, 0));
	memset(&h0, 0, sizeof(h0)); /* st_hash_init wants a zeroed (or freed) context */
	st_hash_init(&h0, ST_HASH_SHA256);
	for (size_t c1 = 1; c1 < 9 + sizeof(d); c1++) {
		size_t cuts[2] = {c1, c1 + (9 + sizeof(d) - c1) / 2};
		unsigned nc = cuts[1] > c1 && cuts[1] < 9 + sizeof(d) ? 2 : 1;
		if (in_data_split(&t, 2, d, sizeof(d), cuts, nc, &h) != ST_OK || !h)
			bad++;
		st_hash_update(&h0, d, sizeof(d));
	}
	CHECK_INT(bad, 0);
	/* the sink saw every byte, in order */
	CHECK_INT(st_chan_find(&t, 2)->svc.bytes_in, (9 + sizeof(d) - 1) * sizeof(d));
	st_hash_final(&h0, want, sizeof(want));
	st_hash_ctx_free(&h0);
	{
		struct st_hash_ctx hc;
		memset(&hc, 0, sizeof(hc));
		CHECK_OK(st_hash_ctx_copy(&hc, &st_chan_find(&t, 2)->svc.u.sink.hash));
		st_hash_final(&hc, md, sizeof(md));
		st_hash_ctx_free(&hc);
	}
	CHECK_MEM(md, want, 32);
	/* a WINDOW_ADJUST split across two pieces */
	{
		uint8_t m[9];
		struct st_seg v[2] = {{m, 3}, {m + 3, 6}};
		uint32_t before = st_chan_find(&t, 2)->remote_window;
		m[0] = SSH_MSG_CHANNEL_WINDOW_ADJUST;
		st_poke_u32(m + 1, 2);
		st_poke_u32(m + 5, 1000);
		CHECK_OK(st_chan_input_segs(&t, v, 2, 9, &h));
		CHECK(h);
		CHECK_INT(st_chan_find(&t, 2)->remote_window, before + 1000);
	}
	/* a wrong data length is malformed; an unknown channel is not ours */
	{
		uint8_t m[20];
		struct st_seg v[2] = {{m, 7}, {m + 7, 13}};
		m[0] = SSH_MSG_CHANNEL_DATA;
		st_poke_u32(m + 1, 2);
		st_poke_u32(m + 5, 12);
		CHECK_ERR(st_chan_input_segs(&t, v, 2, 20, &h), ST_ERR_FORMAT);
		st_poke_u32(m + 1, 77);
		CHECK_OK(st_chan_input_segs(&t, v, 2, 20, &h));
		CHECK(!h);
	}
	st_chan_table_free(&t);
	ftx_free(f);
}

/* The hold ring exists only while input waits, and goes after an empty tick. */
static void test_ring_lazy(void)
{
	struct fake_tx *f = ftx_new();
	struct st_chan_table t;
	uint8_t d[500];
	int h;

	st_test_fill(d, sizeof(d), 4);
	table_init(&t, f);
	CHECK_OK(bind(&t, 3, 8192, 1000, 4096, 32768));
	CHECK(st_chan_find(&t, 3)->ring == NULL);
	CHECK_OK(in_data(&t, 3, d, sizeof(d), &h)); /* before attach: held */
	CHECK(st_chan_find(&t, 3)->ring != NULL);
	CHECK_INT(st_chan_find(&t, 3)->ring_len, sizeof(d));
	st_chan_table_shrink(&t); /* not empty: kept */
	CHECK(st_chan_find(&t, 3)->ring != NULL);
	CHECK_OK(attach(&t, 3, ST_SERVICE_SINK, 0));
	CHECK_OK(st_chan_pump(&t));
	CHECK_INT(st_chan_find(&t, 3)->ring_len, 0);
	CHECK_INT(st_chan_find(&t, 3)->svc.bytes_in, sizeof(d));
	st_chan_table_shrink(&t); /* empty once: kept one tick */
	CHECK(st_chan_find(&t, 3)->ring != NULL);
	st_chan_table_shrink(&t);
	CHECK(st_chan_find(&t, 3)->ring == NULL);
	/* echo with an open window holds nothing: the bytes go back as they come */
	CHECK_OK(bind(&t, 4, 8192, 1000, 4096, 32768));
	CHECK_OK(attach(&t, 4, ST_SERVICE_ECHO, 0));
	ftx_reset(f);
	CHECK_OK(in_data(&t, 4, d, 100, &h));
	CHECK(st_chan_find(&t, 4)->ring == NULL);
	CHECK_INT(f->n, 1);
	if (f->n == 1) {
		CHECK_INT(f->msgs[0][0], SSH_MSG_CHANNEL_DATA);
		CHECK_INT(f->lens[0], 9 + 100);
		CHECK_MEM(f->msgs[0] + 9, d, 100);
	}
	CHECK_INT(st_chan_find(&t, 4)->svc.bytes_out, 100);
	st_chan_table_free(&t);
	ftx_free(f);
}

int main(void)
{
	RUN(test_unbound_not_handled);
	RUN(test_segs_input);
	RUN(test_ring_lazy);
	RUN(test_receive_window_and_adjust);
	RUN(test_receive_max_packet);
	RUN(test_malformed);
	RUN(test_adjust_overflow);
	RUN(test_data_after_eof);
	RUN(test_send_window_and_max_packet);
	RUN(test_source_stream);
	RUN(test_sink_eof_close);
	RUN(test_peer_close_first);
	RUN(test_echo_and_tx_backpressure);
	RUN(test_backpressure_withholds_adjust);
	RUN(test_attach_errors);
	RUN(test_late_messages_after_close);
	RUN(test_backend_prefix);
	RUN(test_deferred_confirm);
	RUN(test_deferred_refused);
	RUN(test_channels_past_the_first_from_the_pool);
	return st_test_done("test_channel");
}
