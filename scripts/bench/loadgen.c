/*
 * SSH load generator: the handshake, bulk and hold modes of sshterm-bench
 * (see loadgen.h for the transport interface, usage() for the options).
 *
 * Structure:
 *   - lg_main() parses the command line, loads the user key and the host
 *     key policy, resolves the target, checks the engine configuration once,
 *     starts one thread per -j and prints progress while they run, then
 *     merges their statistics and prints the report.
 *   - Each thread runs one loop: start connections while the mode allows
 *     (refill), poll the transport (which calls lg_on_*), run timers every
 *     LG_TICK_MS (timeouts, the hold release, lingering sockets), then close
 *     the slots that ended. A thread owns its slots, engines, statistics and
 *     latency samples; the only shared state is a handful of atomics (the
 *     "connections started" counter of COUNT runs, the hold barrier, the
 *     progress figures that the main thread reads, the stop flag).
 *   - Per connection: one client engine (control/client/sshc.h). After every
 *     event, conn_settle() moves the connection on: report our own failures
 *     to the engine, notice state changes, move channel data for the mode,
 *     flush the engine's output to the transport, feed input held back
 *     earlier, and end the connection on SSHC_DONE (output flushed) or
 *     SSHC_FAILED. Engine callbacks only record; they never call back into
 *     the engine.
 *   - After SSHC_DONE the socket lingers (up to LG_LINGER_MS) until the
 *     server closes its side, so that the server, not the generator, holds
 *     the TIME_WAIT state: a long handshake run would otherwise run out of
 *     local ports. Lingering slots do not count towards the concurrency.
 *
 * Timeouts (--timeout S, default 30): a connection fails with "timeout" when
 * S seconds pass without progress: a change of engine state or, in bulk
 * mode, channel data moved. In hold mode the hold itself does not count.
 *
 * Hold: every session is held from the moment the last of the N sessions
 * opened (or failed before opening) for -t seconds, so that all N are open
 * together for that long; then each is closed with st_sshc_close().
 *
 * Source addresses (--source ADDR[,ADDR|ADDR-ADDR...], kernel sockets only):
 * one local address reaches one server address and port from at most the
 * local port range's worth of connections (28,232 by default), so a hold of
 * 100,000 sessions spreads them over several local addresses, bound before
 * connect() round-robin (loadgen_sock.c). The addresses must already be on
 * an interface; a bad list or an address that is not ours is a usage error.
 */
#define _GNU_SOURCE
#include "scripts/bench/loadgen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "control/client/hostkey_check.h"
#include "crypto/err.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/keyfile.h"

#define LG_CHUNK (64u * 1024u)      /* keystream generated / compared per step */
#define LG_WRITES_PER_PUMP 64       /* st_sshc_write() calls per connection per event */
#define LG_TICK_MS 50               /* timer resolution of a thread's loop */
#define LG_LINGER_MS 2000           /* waiting for the server's close after DONE */
#define LG_SETTLE_ROUNDS 4          /* held-back input retries per event */
#define LG_DISC_CODES 32            /* DISCONNECT reason codes counted one by one */
#define LG_MAX_THREADS 256
#define LG_MAX_CONC 1000000u

static const struct lg_transport *const lg_transports[] = {
	&lg_transport_sock,
	&lg_transport_dpdk,
};

enum lg_mode { LG_HANDSHAKE, LG_BULK, LG_HOLD };
enum lg_dir { LG_UP, LG_DOWN, LG_ECHO };
enum lg_policy { LG_KNOWN_HOSTS, LG_FINGERPRINT, LG_INSECURE };

struct lg_opts {
	enum lg_mode mode;
	const char *mode_name;
	unsigned conc;         /* -c (0: not given) */
	uint64_t count;        /* -n (0: not given) */
	double seconds;        /* -t (0: not given) */
	unsigned threads;      /* -j */
	const char *keyfile;   /* -i */
	const char *user;      /* -l, user@ */
	char *host;            /* without brackets */
	uint16_t port;
	enum lg_policy policy;
	const char *known_hosts;
	const char *fingerprint;
	const char *ciphers, *macs, *kex, *hostkey_algs;
	enum lg_dir dir;
	int dir_given, bytes_given;
	uint64_t bytes;        /* -b */
	int verify;
	int json;
	int allow_fail;
	double timeout;
	unsigned max_startups; /* 0: unlimited */
	const char *transport;
	const char *sources;   /* --source (kernel sockets), NULL: the kernel's choice */
	char *command;         /* joined, or the mode's default */
};

/* Plain per-thread counters; merged by the main thread after the join. */
struct lg_stats {
	uint64_t completed, failed, interrupted;
	uint64_t fail[SSHC_FAIL_COUNT];
	uint64_t disc[LG_DISC_CODES + 1]; /* last: any other code */
	char example[SSHC_FAIL_COUNT][160];
	uint64_t established;             /* hold: sessions that opened */
	uint64_t bytes_up, bytes_down;    /* channel payload, all sessions */
	uint64_t payload;                 /* bulk: per-session payload of every session */
	uint64_t input_held;              /* times st_sshc_input() took less than offered */
	uint32_t *lat_us;                 /* handshake: connect start to DONE */
	size_t nlat, caplat;
	double *rate;                     /* bulk: per-session Gbit/s */
	size_t nrate, caprate;
	uint64_t t_last_end;              /* ns, last connection ended */
	struct st_sshc_info info;
	int have_info;
};

/* What the main thread reads for the progress line (owner stores, relaxed). */
struct lg_progress {
	atomic_uint_fast64_t done, failed, bytes, opened;
};

enum lg_phase { CONN_FREE, CONN_ACTIVE, CONN_LINGER, CONN_CLOSING };

struct lg_conn {
	struct lg_thread *t;
	struct st_sshc *s;
	uint32_t slot;
	uint8_t phase;
	uint8_t tp_open;      /* the transport holds a connection for the slot */
	uint8_t connected;
	uint8_t tp_broken;    /* send failed: nothing more goes out */
	uint8_t saw_eof;
	uint8_t opened;
	uint8_t handshaking;  /* counted in t->handshaking */
	uint8_t counted_ready;/* hold barrier */
	uint8_t eof_sent;
	uint8_t closing;      /* hold: st_sshc_close() sent */
	uint8_t paused;       /* reading paused: stash holds input */
	uint8_t max_state;
	enum st_sshc_state last_state;
	uint64_t t_start, t_open, t_done, deadline;
	uint64_t sent, recvd;
	struct st_hash_ctx h_sent, h_recv;
	enum st_sshc_fail pend; /* a failure of ours for the engine (data check) */
	char pend_text[120];
	uint8_t *stash;         /* input the engine did not take yet */
	size_t stash_off, stash_len;
	char reply[128];        /* bulk up: the sink's answer line */
	size_t reply_len;
	char errline[100];      /* first bytes of stderr */
	size_t errline_len;
	struct st_sshc_config cfg;
};

struct lg_run;

struct lg_thread {
	struct lg_run *run;
	unsigned id;
	pthread_t tid;
	void *tctx;
	uint32_t nslots;
	uint32_t conc;         /* this thread's share of the concurrency */
	uint32_t max_startups; /* this thread's share; 0: unlimited */
	struct lg_conn *conns;
	uint32_t *free_slots, nfree;
	uint32_t *closing, nclosing;
	uint32_t active;       /* connections with an engine */
	uint32_t handshaking;  /* of these, not yet open */
	uint32_t lingering;
	int can_start;
	int hold_released;
	int err;
	uint64_t now;          /* ns, refreshed after every poll */
	uint64_t next_tick;
	EVP_CIPHER_CTX *ks;    /* AES-128-CTR, zero key: the data stream */
	uint8_t *gen, *cmp;    /* LG_CHUNK each */
	struct lg_stats st;
	struct lg_progress prog;
} __attribute__((aligned(64)));

struct lg_run {
	struct lg_opts o;
	struct lg_target tgt;
	const struct lg_transport *tp;
	void *gctx;
	struct st_key *key;
	struct st_known_hosts *kh;
	char hostkey_algs[512];
	struct st_sshc_config cfg; /* template; each connection copies it */
	uint64_t total;            /* connections to make (not for -t runs) */
	int timed;
	uint64_t t0, t_end, timeout_ns, hold_ns;
	atomic_uint_fast64_t started;
	atomic_uint_fast64_t hold_ready;
	atomic_uint_fast64_t all_open_ns;
	atomic_int threads_left;
	unsigned nthreads;
	struct lg_thread *th;
};

/* Set by SIGINT/SIGTERM: stop starting, end what runs, report. */
static atomic_int lg_stop;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t ms_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

static const char *state_name(enum st_sshc_state s)
{
	switch (s) {
	case SSHC_VERSION: return "version exchange";
	case SSHC_KEX: return "key exchange";
	case SSHC_AUTH: return "authentication";
	case SSHC_CHANNEL: return "channel open";
	case SSHC_OPEN: return "session open";
	case SSHC_DONE: return "done";
	case SSHC_FAILED: return "failed";
	}
	return "?";
}

/* ---------------- the data stream ---------------- */

/*
 * n bytes of the AES-128-CTR keystream (zero key, zero IV, 128-bit
 * big-endian counter) from byte offset pos into out: what sshterm's source
 * service sends and what up/echo send. The counter is set from pos, so one
 * context per thread serves every connection.
 */
static int ks_gen(struct lg_thread *t, uint64_t pos, uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0}, skip[16] = {0};
	uint64_t blk = pos / 16;
	int outl;

	for (int i = 0; i < 8; i++)
		iv[15 - i] = (uint8_t)(blk >> (8 * i));
	if (EVP_EncryptInit_ex(t->ks, NULL, NULL, NULL, iv) != 1)
		return ST_ERR_CRYPTO;
	if (pos % 16 != 0 && EVP_EncryptUpdate(t->ks, skip, &outl, skip, (int)(pos % 16)) != 1)
		return ST_ERR_CRYPTO;
	memset(out, 0, n);
	if (n > 0 && EVP_EncryptUpdate(t->ks, out, &outl, out, (int)n) != 1)
		return ST_ERR_CRYPTO;
	return ST_OK;
}

/* ---------------- statistics ---------------- */

static void stats_fail(struct lg_thread *t, enum st_sshc_fail f, uint32_t code, const char *text)
{
	struct lg_stats *st = &t->st;

	if (f <= SSHC_FAIL_NONE || f >= SSHC_FAIL_COUNT)
		f = SSHC_FAIL_INTERNAL;
	st->failed++;
	st->fail[f]++;
	if (f == SSHC_FAIL_DISCONNECT)
		st->disc[code < LG_DISC_CODES ? code : LG_DISC_CODES]++;
	if (st->example[f][0] == '\0' && text != NULL)
		snprintf(st->example[f], sizeof(st->example[f]), "%s", text[0] ? text : "-");
	atomic_store_explicit(&t->prog.failed, st->failed, memory_order_relaxed);
}

static void push_u32(uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		uint32_t *p = realloc(*a, nc * sizeof(**a));
		if (p == NULL)
			return; /* a sample less; the counters stay right */
		*a = p;
		*cap = nc;
	}
	(*a)[(*n)++] = v;
}

static void push_dbl(double **a, size_t *n, size_t *cap, double v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		double *p = realloc(*a, nc * sizeof(**a));
		if (p == NULL)
			return;
		*a = p;
		*cap = nc;
	}
	(*a)[(*n)++] = v;
}

/* ---------------- connections ---------------- */

static void conn_settle(struct lg_conn *c);

static size_t tx_pending(const struct lg_conn *c)
{
	const uint8_t *p;
	size_t n;

	st_sshc_tx_peek(c->s, &p, &n);
	return n;
}

static void conn_pend(struct lg_conn *c, enum st_sshc_fail f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_pend(struct lg_conn *c, enum st_sshc_fail f, const char *fmt, ...)
{
	va_list ap;

	if (c->pend != SSHC_FAIL_NONE)
		return;
	c->pend = f;
	va_start(ap, fmt);
	vsnprintf(c->pend_text, sizeof(c->pend_text), fmt, ap);
	va_end(ap);
}

/* Engine callbacks: they record, never call into the engine. */
static void ev_data(void *ctx, const uint8_t *p, size_t n, int ext)
{
	struct lg_conn *c = ctx;
	struct lg_thread *t = c->t;
	const struct lg_opts *o = &t->run->o;
	uint64_t pos = c->recvd;

	if (ext) {
		size_t room = sizeof(c->errline) - 1 - c->errline_len;
		size_t k = n < room ? n : room;
		for (size_t i = 0; i < k; i++)
			c->errline[c->errline_len++] =
				(p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : ' ';
		c->errline[c->errline_len] = '\0';
		return;
	}
	c->recvd += n;
	t->st.bytes_down += n;
	atomic_store_explicit(&t->prog.bytes, t->st.bytes_up + t->st.bytes_down,
			      memory_order_relaxed);
	if (o->mode != LG_BULK)
		return;
	c->deadline = t->now + t->run->timeout_ns;
	switch (o->dir) {
	case LG_UP: {
		size_t room = sizeof(c->reply) - 1 - c->reply_len;
		size_t k = n < room ? n : room;
		memcpy(c->reply + c->reply_len, p, k);
		c->reply_len += k;
		c->reply[c->reply_len] = '\0';
		break;
	}
	case LG_DOWN:
		if (c->recvd > o->bytes) {
			conn_pend(c, SSHC_FAIL_VERIFY, "received more than the %" PRIu64 " bytes asked for",
				  o->bytes);
			break;
		}
		if (!o->verify || c->pend != SSHC_FAIL_NONE)
			break;
		for (size_t off = 0; off < n;) {
			size_t k = n - off < LG_CHUNK ? n - off : LG_CHUNK;
			if (ks_gen(t, pos + off, t->cmp, k) != ST_OK) {
				conn_pend(c, SSHC_FAIL_INTERNAL, "keystream generation failed");
				break;
			}
			if (memcmp(t->cmp, p + off, k) != 0) {
				size_t i = 0;
				while (i < k && t->cmp[i] == p[off + i])
					i++;
				conn_pend(c, SSHC_FAIL_VERIFY,
					  "received data differs from the source stream at byte %" PRIu64,
					  pos + off + i);
				break;
			}
			off += k;
		}
		break;
	case LG_ECHO:
		if (c->recvd > o->bytes) {
			conn_pend(c, SSHC_FAIL_VERIFY, "echo returned more than the %" PRIu64 " bytes sent",
				  o->bytes);
			break;
		}
		if (o->verify && st_hash_update(&c->h_recv, p, n) != ST_OK)
			conn_pend(c, SSHC_FAIL_INTERNAL, "SHA-256 failed");
		break;
	}
}

/* Starts one connection in a free slot. */
static void conn_start(struct lg_thread *t)
{
	struct lg_run *run = t->run;
	const struct lg_opts *o = &run->o;
	uint32_t slot = t->free_slots[--t->nfree];
	struct lg_conn *c = &t->conns[slot];
	int r;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->slot = slot;
	c->cfg = run->cfg;
	c->cfg.ctx = c;
	c->last_state = SSHC_VERSION;
	c->t_start = mono_ns();
	c->deadline = t->now + run->timeout_ns;
	c->phase = CONN_ACTIVE;
	t->active++;
	t->handshaking++;
	c->handshaking = 1;
	if ((r = st_sshc_new(&c->cfg, &c->s)) != ST_OK) {
		/* Checked once at start, so only memory can be short here. */
		char text[96];
		snprintf(text, sizeof(text), "engine: %s", st_err_str(r));
		c->s = NULL;
		stats_fail(t, SSHC_FAIL_INTERNAL, 0, text);
		t->active--;
		t->handshaking--;
		c->phase = CONN_FREE;
		t->free_slots[t->nfree++] = slot;
		t->st.t_last_end = mono_ns();
		return;
	}
	if (o->mode == LG_BULK && o->verify) {
		if ((o->dir == LG_UP || o->dir == LG_ECHO) && st_hash_init(&c->h_sent, ST_HASH_SHA256) != ST_OK)
			conn_pend(c, SSHC_FAIL_INTERNAL, "SHA-256 init failed");
		if (o->dir == LG_ECHO && st_hash_init(&c->h_recv, ST_HASH_SHA256) != ST_OK)
			conn_pend(c, SSHC_FAIL_INTERNAL, "SHA-256 init failed");
	}
	r = run->tp->connect(t->tctx, slot);
	if (r == ST_OK) {
		c->tp_open = 1;
		return;
	}
	{
		int e = errno;
		char text[160];
		snprintf(text, sizeof(text), "connect to %s port %u: %s", o->host, (unsigned)o->port,
			 r == ST_ERR_CONN_REFUSED ? "Connection refused" : strerror(e));
		st_sshc_fail(c->s, r == ST_ERR_CONN_REFUSED ? SSHC_FAIL_REFUSED : SSHC_FAIL_IO, r, text);
	}
	conn_settle(c);
}

/* Engine output to the transport, as much as it takes now. */
static void conn_flush(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const uint8_t *p;
	size_t n, sent;
	int r;

	if (!c->connected || c->tp_broken)
		return;
	for (;;) {
		st_sshc_tx_peek(c->s, &p, &n);
		if (n == 0)
			return;
		sent = 0;
		r = t->run->tp->send(t->tctx, c->slot, p, n, &sent);
		if (sent > 0)
			st_sshc_tx_consume(c->s, sent);
		if (r != ST_OK) {
			int e = errno;
			enum st_sshc_state s = st_sshc_state(c->s);
			c->tp_broken = 1;
			if (s != SSHC_DONE && s != SSHC_FAILED) {
				char text[120];
				snprintf(text, sizeof(text), "send: %s", strerror(e));
				st_sshc_fail(c->s, SSHC_FAIL_IO, r, text);
			}
			return;
		}
		if (sent < n)
			return; /* the transport calls lg_on_writable() */
	}
}

/* up / echo: channel data, as much as the engine takes now. */
static void conn_upload(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const struct lg_opts *o = &t->run->o;

	for (int i = 0; i < LG_WRITES_PER_PUMP && c->sent < o->bytes; i++) {
		size_t want = o->bytes - c->sent < LG_CHUNK ? (size_t)(o->bytes - c->sent) : LG_CHUNK;
		long w;

		if (ks_gen(t, c->sent, t->gen, want) != ST_OK) {
			conn_pend(c, SSHC_FAIL_INTERNAL, "keystream generation failed");
			return;
		}
		w = st_sshc_write(c->s, t->gen, want);
		if (w < 0)
			return; /* the sticky failure ends the connection */
		if (w > 0) {
			if (o->verify && st_hash_update(&c->h_sent, t->gen, (size_t)w) != ST_OK)
				conn_pend(c, SSHC_FAIL_INTERNAL, "SHA-256 failed");
			c->sent += (uint64_t)w;
			t->st.bytes_up += (uint64_t)w;
			c->deadline = t->now + t->run->timeout_ns;
		}
		if ((size_t)w < want) {
			/* Window closed or the engine's buffer full: give the transport what is queued. */
			size_t before = tx_pending(c);
			conn_flush(c);
			size_t after = tx_pending(c);
			if ((w == 0 && after == before) || after > 0)
				break;
		}
	}
	atomic_store_explicit(&t->prog.bytes, t->st.bytes_up + t->st.bytes_down,
			      memory_order_relaxed);
	if (c->sent == o->bytes && !c->eof_sent) {
		if (st_sshc_send_eof(c->s) == ST_OK)
			c->eof_sent = 1;
	}
}

/* The session opened (exec accepted). */
static void conn_opened(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	struct lg_run *run = t->run;

	c->opened = 1;
	c->t_open = mono_ns();
	if (c->handshaking) {
		c->handshaking = 0;
		t->handshaking--;
	}
	if (run->o.mode == LG_HOLD) {
		t->st.established++;
		atomic_store_explicit(&t->prog.opened, t->st.established, memory_order_relaxed);
		c->deadline = UINT64_MAX; /* the hold does not time out */
		if (!c->counted_ready) {
			c->counted_ready = 1;
			if (atomic_fetch_add(&run->hold_ready, 1) + 1 == run->total)
				atomic_store(&run->all_open_ns, mono_ns());
		}
	}
	/* Like ssh -n: commands that read stdin see its end. */
	if (run->o.mode == LG_HANDSHAKE || (run->o.mode == LG_BULK && run->o.dir == LG_DOWN)) {
		if (st_sshc_state(c->s) == SSHC_OPEN && st_sshc_send_eof(c->s) == ST_OK)
			c->eof_sent = 1;
	}
}

static void hex32(const uint8_t *md, char *out)
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The checks of a session that reached SSHC_DONE: SSHC_FAIL_NONE when it passed. */
static enum st_sshc_fail conn_check_done(struct lg_conn *c, char *text, size_t sz)
{
	const struct lg_opts *o = &c->t->run->o;
	int es = st_sshc_exit_status(c->s);
	uint8_t md[32], md2[32];
	char hex[65];

	if (c->pend != SSHC_FAIL_NONE) {
		snprintf(text, sz, "%s", c->pend_text);
		return c->pend;
	}
	if (es > 0) {
		snprintf(text, sz, "exit status %d%s%s", es, c->errline_len ? ": " : "", c->errline);
		return SSHC_FAIL_EXIT_STATUS;
	}
	if (o->mode == LG_HOLD && !c->closing) {
		snprintf(text, sz, "session ended by the server during the hold");
		return SSHC_FAIL_CLOSED;
	}
	if (o->mode != LG_BULK)
		return SSHC_FAIL_NONE;
	switch (o->dir) {
	case LG_UP:
		if (c->sent != o->bytes) {
			snprintf(text, sz, "channel closed after %" PRIu64 " of %" PRIu64 " bytes sent",
				 c->sent, o->bytes);
			return SSHC_FAIL_VERIFY;
		}
		if (o->verify && c->reply_len > 0) {
			/* sshterm's sink answers "<bytes> <sha256 hex>"; cat > /dev/null says nothing. */
			unsigned long long nb = 0;
			char got[65] = "";
			if (st_hash_final(&c->h_sent, md, sizeof(md)) != ST_OK) {
				snprintf(text, sz, "SHA-256 failed");
				return SSHC_FAIL_INTERNAL;
			}
			hex32(md, hex);
			if (sscanf(c->reply, "%llu %64[0-9a-f]", &nb, got) != 2 || nb != o->bytes ||
			    strcmp(got, hex) != 0) {
				snprintf(text, sz, "server counted \"%.80s\", sent %" PRIu64 " %.16s...",
					 c->reply, c->sent, hex);
				return SSHC_FAIL_VERIFY;
			}
		}
		return SSHC_FAIL_NONE;
	case LG_DOWN:
		if (c->recvd != o->bytes) {
			snprintf(text, sz, "received %" PRIu64 " of %" PRIu64 " bytes", c->recvd, o->bytes);
			return SSHC_FAIL_VERIFY;
		}
		return SSHC_FAIL_NONE;
	case LG_ECHO:
		if (c->sent != o->bytes || c->recvd != o->bytes) {
			snprintf(text, sz, "sent %" PRIu64 ", echoed %" PRIu64 " of %" PRIu64 " bytes",
				 c->sent, c->recvd, o->bytes);
			return SSHC_FAIL_VERIFY;
		}
		if (o->verify) {
			if (st_hash_final(&c->h_sent, md, sizeof(md)) != ST_OK ||
			    st_hash_final(&c->h_recv, md2, sizeof(md2)) != ST_OK) {
				snprintf(text, sz, "SHA-256 failed");
				return SSHC_FAIL_INTERNAL;
			}
			if (memcmp(md, md2, sizeof(md)) != 0) {
				snprintf(text, sz, "SHA-256 of the echoed bytes differs from what was sent");
				return SSHC_FAIL_VERIFY;
			}
		}
		return SSHC_FAIL_NONE;
	}
	return SSHC_FAIL_NONE;
}

static int fail_lingers(enum st_sshc_fail f)
{
	return f != SSHC_FAIL_REFUSED && f != SSHC_FAIL_IO && f != SSHC_FAIL_TIMEOUT &&
	       f != SSHC_FAIL_CLOSED;
}

/*
 * Frees the engine and everything per connection; the slot lingers (waits
 * for the server's close), or is queued for closing, or is free at once when
 * the transport holds nothing.
 */
static void conn_release(struct lg_conn *c, int linger)
{
	struct lg_thread *t = c->t;

	if (c->s != NULL && c->max_state >= SSHC_AUTH && !t->st.have_info) {
		t->st.info = *st_sshc_info(c->s);
		t->st.have_info = 1;
	}
	st_sshc_free(c->s);
	c->s = NULL;
	st_hash_ctx_free(&c->h_sent);
	st_hash_ctx_free(&c->h_recv);
	free(c->stash);
	c->stash = NULL;
	c->stash_len = c->stash_off = 0;
	t->active--;
	if (c->handshaking) {
		c->handshaking = 0;
		t->handshaking--;
	}
	if (t->run->o.mode == LG_HOLD && !c->counted_ready) {
		c->counted_ready = 1;
		if (atomic_fetch_add(&t->run->hold_ready, 1) + 1 == t->run->total)
			atomic_store(&t->run->all_open_ns, mono_ns());
	}
	t->st.t_last_end = mono_ns();
	atomic_store_explicit(&t->prog.done, t->st.completed, memory_order_relaxed);
	if (!c->tp_open) {
		c->phase = CONN_FREE;
		t->free_slots[t->nfree++] = c->slot;
		return;
	}
	if (linger && c->connected && !c->tp_broken && !c->saw_eof) {
		c->phase = CONN_LINGER;
		c->deadline = t->now + (uint64_t)LG_LINGER_MS * 1000000u;
		t->lingering++;
		if (c->paused) {
			c->paused = 0;
			t->run->tp->read_pause(t->tctx, c->slot, 0);
		}
		return;
	}
	c->phase = CONN_CLOSING;
	t->closing[t->nclosing++] = c->slot;
}

static void conn_end_ok(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const struct lg_opts *o = &t->run->o;
	char text[160] = "";
	enum st_sshc_fail f = conn_check_done(c, text, sizeof(text));

	if (o->mode == LG_BULK)
		t->st.payload += o->dir == LG_UP ? c->sent : c->recvd;
	if (f != SSHC_FAIL_NONE) {
		stats_fail(t, f, 0, text);
	} else {
		t->st.completed++;
		if (o->mode == LG_HANDSHAKE) {
			push_u32(&t->st.lat_us, &t->st.nlat, &t->st.caplat,
				 (uint32_t)((c->t_done - c->t_start) / 1000u));
		} else if (o->mode == LG_BULK) {
			uint64_t bytes = o->dir == LG_UP ? c->sent : c->recvd;
			uint64_t dt = c->t_done > c->t_open ? c->t_done - c->t_open : 1;
			push_dbl(&t->st.rate, &t->st.nrate, &t->st.caprate, (double)bytes * 8.0 / (double)dt);
		}
	}
	conn_release(c, 1);
}

static void conn_end_failed(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const struct st_sshc_failure *f = st_sshc_failure(c->s);
	enum st_sshc_fail reason = f->reason;

	if (t->run->o.mode == LG_BULK)
		t->st.payload += t->run->o.dir == LG_UP ? c->sent : c->recvd;
	stats_fail(t, reason, f->disconnect_code, f->text);
	conn_flush(c); /* best effort: the DISCONNECT the engine queued */
	conn_release(c, fail_lingers(reason));
}

/* Moves the connection on after any event (see the file comment). */
static void conn_settle(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const struct lg_opts *o = &t->run->o;
	enum st_sshc_state s;

	if (c->phase != CONN_ACTIVE)
		return;
	for (int round = 0; round < LG_SETTLE_ROUNDS; round++) {
		s = st_sshc_state(c->s);
		if (c->pend != SSHC_FAIL_NONE && s != SSHC_DONE && s != SSHC_FAILED) {
			st_sshc_fail(c->s, c->pend, ST_OK, c->pend_text);
			s = st_sshc_state(c->s);
		}
		if (s != c->last_state) {
			if (s != SSHC_FAILED && s > c->max_state)
				c->max_state = (uint8_t)s;
			c->last_state = s;
			c->deadline = t->now + t->run->timeout_ns;
			if ((s == SSHC_OPEN || s == SSHC_DONE) && !c->opened)
				conn_opened(c);
			if (s == SSHC_DONE)
				c->t_done = mono_ns();
		}
		if (s == SSHC_OPEN && o->mode == LG_BULK && (o->dir == LG_UP || o->dir == LG_ECHO)) {
			/*
			 * Upload until the window closes or the socket is full. A flush
			 * after conn_upload can drain the engine's buffer completely
			 * (the socket took everything, so no writable event will come)
			 * while the window is still open: write again then, or the
			 * session waits forever for a WINDOW_ADJUST the server owes
			 * nothing for.
			 */
			for (int k = 0; k < LG_WRITES_PER_PUMP; k++) {
				uint64_t before = c->sent;
				conn_upload(c);
				conn_flush(c);
				if (c->sent == before || tx_pending(c) > 0)
					break;
			}
		} else {
			conn_flush(c);
		}
		if (c->stash == NULL || st_sshc_state(c->s) == SSHC_FAILED)
			break;
		/* Input held back: the engine may take it now that its output moved. */
		size_t used = 0;
		(void)st_sshc_input(c->s, c->stash + c->stash_off, c->stash_len - c->stash_off, &used);
		c->stash_off += used;
		if (c->stash_off == c->stash_len) {
			free(c->stash);
			c->stash = NULL;
			c->stash_off = c->stash_len = 0;
			if (c->paused) {
				c->paused = 0;
				t->run->tp->read_pause(t->tctx, c->slot, 0);
			}
		} else if (used == 0) {
			break;
		}
	}
	s = st_sshc_state(c->s);
	if (s == SSHC_DONE && (c->tp_broken || c->saw_eof || tx_pending(c) == 0 || !c->connected)) {
		if (c->t_done == 0)
			c->t_done = mono_ns();
		conn_end_ok(c);
	} else if (s == SSHC_FAILED) {
		conn_end_failed(c);
	}
}

/* Ends a connection without counting it (SIGINT, a thread error). */
static void conn_abort(struct lg_conn *c)
{
	c->t->st.interrupted++;
	conn_release(c, 0);
}

static int phase_ret(const struct lg_conn *c)
{
	return (c->phase == CONN_ACTIVE || c->phase == CONN_LINGER) ? LG_CONTINUE : LG_STOP;
}

static struct lg_conn *conn_of(struct lg_thread *t, uint32_t slot)
{
	return slot < t->nslots ? &t->conns[slot] : NULL;
}

/* A lingering slot is done: close it. */
static void linger_end(struct lg_conn *c)
{
	c->t->lingering--;
	c->phase = CONN_CLOSING;
	c->t->closing[c->t->nclosing++] = c->slot;
}

/* ---------------- transport callbacks ---------------- */

int lg_on_connected(struct lg_thread *t, uint32_t slot)
{
	struct lg_conn *c = conn_of(t, slot);

	if (c == NULL || c->phase != CONN_ACTIVE)
		return LG_STOP;
	c->connected = 1;
	conn_settle(c);
	return phase_ret(c);
}

int lg_on_data(struct lg_thread *t, uint32_t slot, const uint8_t *p, size_t n)
{
	struct lg_conn *c = conn_of(t, slot);
	size_t used = 0;
	int r;

	if (c == NULL)
		return LG_STOP;
	if (c->phase == CONN_LINGER)
		return LG_CONTINUE; /* after DONE: discard */
	if (c->phase != CONN_ACTIVE)
		return LG_STOP;
	if (c->stash != NULL) {
		/* Only if the transport delivered while paused: keep the order. */
		uint8_t *q = realloc(c->stash, c->stash_len + n);
		if (q == NULL) {
			st_sshc_fail(c->s, SSHC_FAIL_INTERNAL, ST_ERR_ALLOC, "out of memory");
		} else {
			memcpy(q + c->stash_len, p, n);
			c->stash = q;
			c->stash_len += n;
		}
		conn_settle(c);
		return phase_ret(c);
	}
	r = st_sshc_input(c->s, p, n, &used);
	if (r == ST_OK && used < n) {
		if ((c->stash = malloc(n - used)) == NULL) {
			st_sshc_fail(c->s, SSHC_FAIL_INTERNAL, ST_ERR_ALLOC, "out of memory");
		} else {
			memcpy(c->stash, p + used, n - used);
			c->stash_off = 0;
			c->stash_len = n - used;
			c->paused = 1;
			t->st.input_held++;
			t->run->tp->read_pause(t->tctx, slot, 1);
		}
	}
	conn_settle(c);
	return phase_ret(c);
}

int lg_on_writable(struct lg_thread *t, uint32_t slot)
{
	struct lg_conn *c = conn_of(t, slot);

	if (c == NULL)
		return LG_STOP;
	if (c->phase == CONN_ACTIVE)
		conn_settle(c);
	return phase_ret(c);
}

int lg_on_eof(struct lg_thread *t, uint32_t slot)
{
	struct lg_conn *c = conn_of(t, slot);

	if (c == NULL)
		return LG_STOP;
	if (c->phase == CONN_LINGER) {
		linger_end(c);
		return LG_STOP;
	}
	if (c->phase != CONN_ACTIVE)
		return LG_STOP;
	c->saw_eof = 1;
	/* Input held back still counts: give it to the engine first. */
	if (c->stash != NULL) {
		size_t used = 0;
		(void)st_sshc_input(c->s, c->stash + c->stash_off, c->stash_len - c->stash_off, &used);
	}
	st_sshc_input_eof(c->s);
	conn_settle(c);
	if (c->phase == CONN_ACTIVE) {
		/* Neither done nor failed after EOF: the engine should have failed it. */
		st_sshc_fail(c->s, SSHC_FAIL_CLOSED, ST_ERR_EOF, "connection closed by server");
		conn_settle(c);
	}
	return phase_ret(c);
}

int lg_on_error(struct lg_thread *t, uint32_t slot, enum st_sshc_fail reason, int err_no)
{
	struct lg_conn *c = conn_of(t, slot);
	char text[160];

	if (c == NULL)
		return LG_STOP;
	if (c->phase == CONN_LINGER) {
		linger_end(c);
		return LG_STOP;
	}
	if (c->phase != CONN_ACTIVE)
		return LG_STOP;
	c->tp_broken = 1;
	if (c->connected)
		snprintf(text, sizeof(text), "%s", err_no ? strerror(err_no) : st_sshc_fail_text(reason));
	else
		snprintf(text, sizeof(text), "connect to %s port %u: %s", t->run->o.host,
			 (unsigned)t->run->o.port, err_no ? strerror(err_no) : st_sshc_fail_text(reason));
	st_sshc_fail(c->s, reason,
		     reason == SSHC_FAIL_REFUSED ? ST_ERR_CONN_REFUSED
		     : reason == SSHC_FAIL_TIMEOUT ? ST_ERR_TIMEOUT
		     : err_no == ECONNRESET ? ST_ERR_CONN_RESET : ST_ERR_SYSTEM,
		     text);
	conn_settle(c);
	return phase_ret(c);
}

/* ---------------- the thread loop ---------------- */

static void thread_refill(struct lg_thread *t)
{
	struct lg_run *run = t->run;
	uint32_t budget = t->conc;

	while (t->can_start && t->active < t->conc && t->nfree > 0 && budget-- > 0) {
		if (t->max_startups && t->handshaking >= t->max_startups)
			break;
		if (atomic_load_explicit(&lg_stop, memory_order_relaxed)) {
			t->can_start = 0;
			break;
		}
		if (run->timed) {
			if (t->now >= run->t_end) {
				t->can_start = 0;
				break;
			}
		} else if (atomic_fetch_add_explicit(&run->started, 1, memory_order_relaxed) >= run->total) {
			t->can_start = 0;
			break;
		}
		conn_start(t);
	}
}

static void thread_tick(struct lg_thread *t)
{
	struct lg_run *run = t->run;
	int stop = atomic_load_explicit(&lg_stop, memory_order_relaxed) || t->err;
	uint64_t all_open = run->o.mode == LG_HOLD ? atomic_load(&run->all_open_ns) : 0;
	int release = 0;

	if (all_open != 0 && !t->hold_released && mono_ns() >= all_open + run->hold_ns) {
		t->hold_released = 1;
		release = 1;
	}
	if (stop)
		t->can_start = 0;
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct lg_conn *c = &t->conns[i];

		if (c->phase == CONN_LINGER) {
			if (stop || t->now >= c->deadline)
				linger_end(c);
			continue;
		}
		if (c->phase != CONN_ACTIVE)
			continue;
		if (c->stash != NULL && !stop)
			conn_settle(c); /* held-back input: the engine may take it now */
		if (c->phase != CONN_ACTIVE)
			continue;
		if (stop) {
			conn_abort(c);
			continue;
		}
		if (release && c->opened && !c->closing && st_sshc_state(c->s) == SSHC_OPEN) {
			c->closing = 1;
			c->deadline = t->now + run->timeout_ns;
			(void)st_sshc_close(c->s);
			conn_settle(c);
			continue;
		}
		if (t->now >= c->deadline) {
			char text[120];
			enum st_sshc_state s = st_sshc_state(c->s);
			if (!c->connected)
				snprintf(text, sizeof(text), "connect to %s port %u timed out", run->o.host,
					 (unsigned)run->o.port);
			else
				snprintf(text, sizeof(text), "no progress for %.0f s in %s", run->o.timeout,
					 state_name(s));
			st_sshc_fail(c->s, SSHC_FAIL_TIMEOUT, ST_ERR_TIMEOUT, text);
			conn_settle(c);
		}
	}
}

static void thread_close_slots(struct lg_thread *t)
{
	for (uint32_t i = 0; i < t->nclosing; i++) {
		uint32_t slot = t->closing[i];
		t->run->tp->close(t->tctx, slot);
		t->conns[slot].phase = CONN_FREE;
		t->conns[slot].tp_open = 0;
		t->free_slots[t->nfree++] = slot;
	}
	t->nclosing = 0;
}

static void *thread_main(void *arg)
{
	struct lg_thread *t = arg;
	struct lg_run *run = t->run;

	t->now = mono_ns();
	t->next_tick = t->now + (uint64_t)LG_TICK_MS * 1000000u;
	for (;;) {
		int timeout_ms;

		thread_refill(t);
		if (t->active == 0 && !t->can_start)
			break;
		timeout_ms = t->next_tick > t->now ? (int)((t->next_tick - t->now + 999999u) / 1000000u) : 0;
		if (run->tp->poll(t->tctx, timeout_ms) != ST_OK && !t->err) {
			t->err = 1;
			fprintf(stderr, "thread %u: poll: %s\n", t->id, strerror(errno));
		}
		t->now = mono_ns();
		if (t->now >= t->next_tick || t->err) {
			thread_tick(t);
			t->next_tick = t->now + (uint64_t)LG_TICK_MS * 1000000u;
		}
		thread_close_slots(t);
	}
	/* Sockets still lingering: close them now, the run is over. */
	for (uint32_t i = 0; i < t->nslots; i++)
		if (t->conns[i].phase == CONN_LINGER)
			linger_end(&t->conns[i]);
	thread_close_slots(t);
	atomic_fetch_sub(&run->threads_left, 1);
	return NULL;
}

static int thread_setup(struct lg_run *run, struct lg_thread *t, unsigned id)
{
	static const uint8_t zero[16];
	const struct lg_opts *o = &run->o;
	unsigned n = run->nthreads;
	int r;

	t->run = run;
	t->id = id;
	t->conc = o->conc / n + (id < o->conc % n ? 1 : 0);
	if (o->max_startups)
		t->max_startups = (o->max_startups + n - 1) / n;
	t->nslots = t->conc * 2; /* room for lingering sockets */
	t->can_start = t->conc > 0;
	t->conns = calloc(t->nslots, sizeof(*t->conns));
	t->free_slots = calloc(t->nslots, sizeof(*t->free_slots));
	t->closing = calloc(t->nslots, sizeof(*t->closing));
	t->gen = malloc(LG_CHUNK);
	t->cmp = malloc(LG_CHUNK);
	t->ks = EVP_CIPHER_CTX_new();
	if (t->conns == NULL || t->free_slots == NULL || t->closing == NULL || t->gen == NULL ||
	    t->cmp == NULL || t->ks == NULL)
		return ST_ERR_ALLOC;
	if (EVP_EncryptInit_ex(t->ks, EVP_aes_128_ctr(), NULL, zero, zero) != 1)
		return ST_ERR_CRYPTO;
	for (uint32_t i = 0; i < t->nslots; i++)
		t->free_slots[t->nfree++] = t->nslots - 1 - i;
	if ((r = run->tp->thread_init(run->gctx, &run->tgt, t, t->nslots, &t->tctx)) != ST_OK)
		return r;
	return ST_OK;
}

static void thread_free(struct lg_run *run, struct lg_thread *t)
{
	if (t->tctx != NULL)
		run->tp->thread_fini(t->tctx);
	free(t->conns);
	free(t->free_slots);
	free(t->closing);
	free(t->gen);
	free(t->cmp);
	EVP_CIPHER_CTX_free(t->ks);
	free(t->st.lat_us);
	free(t->st.rate);
}

/* ---------------- report ---------------- */

struct lg_result {
	struct lg_stats st; /* merged (samples concatenated) */
	double wall_s, cpu_user_s, cpu_sys_s, rss_mib;
	double open_all_s;  /* hold */
	int interrupted;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in ms. */
static double pct_ms(const uint32_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)ceil(q * (double)n);
	if (i < 1)
		i = 1;
	return (double)v[i - 1] / 1000.0;
}

static void merge(struct lg_run *run, struct lg_result *res)
{
	struct lg_stats *m = &res->st;
	size_t nlat = 0, nrate = 0;

	memset(res, 0, sizeof(*res));
	for (unsigned i = 0; i < run->nthreads; i++) {
		nlat += run->th[i].st.nlat;
		nrate += run->th[i].st.nrate;
	}
	m->lat_us = nlat ? malloc(nlat * sizeof(*m->lat_us)) : NULL;
	m->rate = nrate ? malloc(nrate * sizeof(*m->rate)) : NULL;
	for (unsigned i = 0; i < run->nthreads; i++) {
		const struct lg_stats *s = &run->th[i].st;
		m->completed += s->completed;
		m->failed += s->failed;
		m->interrupted += s->interrupted;
		m->established += s->established;
		m->bytes_up += s->bytes_up;
		m->bytes_down += s->bytes_down;
		m->payload += s->payload;
		m->input_held += s->input_held;
		for (int f = 0; f < SSHC_FAIL_COUNT; f++) {
			m->fail[f] += s->fail[f];
			if (m->example[f][0] == '\0')
				memcpy(m->example[f], s->example[f], sizeof(m->example[f]));
		}
		for (int d = 0; d <= LG_DISC_CODES; d++)
			m->disc[d] += s->disc[d];
		if (m->lat_us != NULL) {
			memcpy(m->lat_us + m->nlat, s->lat_us, s->nlat * sizeof(*s->lat_us));
			m->nlat += s->nlat;
		}
		if (m->rate != NULL) {
			memcpy(m->rate + m->nrate, s->rate, s->nrate * sizeof(*s->rate));
			m->nrate += s->nrate;
		}
		if (s->t_last_end > m->t_last_end)
			m->t_last_end = s->t_last_end;
		if (!m->have_info && s->have_info) {
			m->info = s->info;
			m->have_info = 1;
		}
	}
	if (m->lat_us != NULL)
		qsort(m->lat_us, m->nlat, sizeof(*m->lat_us), cmp_u32);
	if (m->rate != NULL)
		qsort(m->rate, m->nrate, sizeof(*m->rate), cmp_dbl);
	res->wall_s = m->t_last_end > run->t0 ? (double)(m->t_last_end - run->t0) / 1e9 : 0;

	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		res->cpu_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
		res->cpu_sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		res->rss_mib = (double)ru.ru_maxrss / 1024.0;
	}
	uint64_t ao = atomic_load(&run->all_open_ns);
	res->open_all_s = ao > run->t0 ? (double)(ao - run->t0) / 1e9 : 0;
	res->interrupted = atomic_load(&lg_stop) != 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* "host key verification failed", "disconnected by server (code 2)". */
static void fail_key(int f, int code, char *out, size_t sz)
{
	if (code < 0)
		snprintf(out, sz, "%s", st_sshc_fail_text((enum st_sshc_fail)f));
	else if (code < LG_DISC_CODES)
		snprintf(out, sz, "%s (code %d)", st_sshc_fail_text((enum st_sshc_fail)f), code);
	else
		snprintf(out, sz, "%s (other code)", st_sshc_fail_text((enum st_sshc_fail)f));
}

/* Calls fn for each (key, count, example) of the failures table. */
static void each_failure(const struct lg_stats *m,
			 void (*fn)(void *arg, const char *key, uint64_t n, const char *ex), void *arg)
{
	char key[96];

	for (int f = 1; f < SSHC_FAIL_COUNT; f++) {
		if (m->fail[f] == 0)
			continue;
		if (f == SSHC_FAIL_DISCONNECT) {
			for (int d = 0; d <= LG_DISC_CODES; d++) {
				if (m->disc[d] == 0)
					continue;
				fail_key(f, d, key, sizeof(key));
				fn(arg, key, m->disc[d], m->example[f]);
			}
			continue;
		}
		fail_key(f, -1, key, sizeof(key));
		fn(arg, key, m->fail[f], m->example[f]);
	}
}

struct json_ctx {
	FILE *f;
	int first;
	int examples;
};

static void json_fail_one(void *arg, const char *key, uint64_t n, const char *ex)
{
	struct json_ctx *j = arg;

	fputs(j->first ? "" : ",", j->f);
	j->first = 0;
	json_str(j->f, key);
	fputc(':', j->f);
	if (j->examples)
		json_str(j->f, ex);
	else
		fprintf(j->f, "%" PRIu64, n);
}

static void human_fail_one(void *arg, const char *key, uint64_t n, const char *ex)
{
	FILE *f = arg;
	fprintf(f, "  %8" PRIu64 "  %s", n, key);
	if (ex[0])
		fprintf(f, "  (%s)", ex);
	fputc('\n', f);
}

static const char *policy_name(enum lg_policy p)
{
	return p == LG_KNOWN_HOSTS ? "known_hosts" : p == LG_FINGERPRINT ? "fingerprint" : "insecure";
}

static const char *dir_name(enum lg_dir d)
{
	return d == LG_UP ? "up" : d == LG_DOWN ? "down" : "echo";
}

static double gbit(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes * 8.0 / s / 1e9 : 0;
}

static void report_json(const struct lg_run *run, const struct lg_result *res)
{
	const struct lg_opts *o = &run->o;
	const struct lg_stats *m = &res->st;
	const struct st_sshc_info *in = &m->info;
	FILE *f = stdout;
	struct json_ctx j = {f, 1, 0};

	fputs("{\"mode\":", f);
	json_str(f, o->mode_name);
	fputs(",\"transport\":", f);
	json_str(f, run->tp->name);
	fputs(",\"host\":", f);
	json_str(f, o->host);
	fprintf(f, ",\"port\":%u,\"user\":", (unsigned)o->port);
	json_str(f, o->user);
	fputs(",\"command\":", f);
	json_str(f, o->command);
	fprintf(f, ",\"concurrency\":%u,\"threads\":%u", o->conc, run->nthreads);
	fprintf(f, ",\"connections\":%" PRIu64 ",\"completed\":%" PRIu64 ",\"failed\":%" PRIu64
		   ",\"interrupted\":%" PRIu64,
		m->completed + m->failed + m->interrupted, m->completed, m->failed, m->interrupted);
	switch (o->mode) {
	case LG_HANDSHAKE:
		fprintf(f, ",\"handshakes\":%" PRIu64 ",\"handshakes_per_s\":%.2f", m->completed,
			res->wall_s > 0 ? (double)m->completed / res->wall_s : 0);
		fprintf(f, ",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
			pct_ms(m->lat_us, m->nlat, 0.50), pct_ms(m->lat_us, m->nlat, 0.90),
			pct_ms(m->lat_us, m->nlat, 0.99), pct_ms(m->lat_us, m->nlat, 1.0));
		if (run->timed)
			fprintf(f, ",\"duration_s\":%.3f", o->seconds);
		break;
	case LG_BULK:
		fputs(",\"direction\":", f);
		json_str(f, dir_name(o->dir));
		fprintf(f, ",\"sessions\":%" PRIu64 ",\"bytes_per_session\":%" PRIu64
			   ",\"bytes\":%" PRIu64 ",\"bytes_up\":%" PRIu64 ",\"bytes_down\":%" PRIu64,
			run->total, o->bytes, m->payload, m->bytes_up, m->bytes_down);
		fprintf(f, ",\"gbit_per_s\":%.3f,\"per_session_gbit_per_s\":%.3f"
			   ",\"per_session_gbit_per_s_min\":%.3f,\"per_session_gbit_per_s_max\":%.3f",
			gbit(m->payload, res->wall_s), m->nrate ? m->rate[m->nrate / 2] : 0.0,
			m->nrate ? m->rate[0] : 0.0, m->nrate ? m->rate[m->nrate - 1] : 0.0);
		fprintf(f, ",\"verify\":%s", o->verify ? "true" : "false");
		break;
	case LG_HOLD:
		fprintf(f, ",\"sessions\":%" PRIu64 ",\"established\":%" PRIu64
			   ",\"open_all_s\":%.3f,\"hold_s\":%.3f",
			run->total, m->established, res->open_all_s, (double)run->hold_ns / 1e9);
		break;
	}
	fputs(",\"failures\":{", f);
	each_failure(m, json_fail_one, &j);
	fputs("},\"failure_examples\":{", f);
	j.first = 1;
	j.examples = 1;
	each_failure(m, json_fail_one, &j);
	fprintf(f, "},\"hostkey_verified\":%s,\"hostkey_policy\":",
		o->policy == LG_INSECURE ? "false" : "true");
	json_str(f, policy_name(o->policy));
	fputs(",\"kex\":", f);
	json_str(f, m->have_info ? in->kex : "");
	fputs(",\"hostkey_alg\":", f);
	json_str(f, m->have_info ? in->hostkey_alg : "");
	fputs(",\"cipher\":", f);
	json_str(f, m->have_info ? in->cipher_c2s : "");
	fputs(",\"mac\":", f);
	json_str(f, m->have_info ? in->mac_c2s : "");
	fputs(",\"server_version\":", f);
	json_str(f, m->have_info ? in->server_version : "");
	fprintf(f, ",\"rekeys_first_session\":%u,\"input_held\":%" PRIu64,
		m->have_info ? in->rekeys : 0, m->input_held);
	fprintf(f, ",\"wall_s\":%.3f,\"cpu_s\":%.3f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f"
		   ",\"rss_mib\":%.1f}\n",
		res->wall_s, res->cpu_user_s + res->cpu_sys_s, res->cpu_user_s, res->cpu_sys_s,
		res->rss_mib);
}

static void report_human(const struct lg_run *run, const struct lg_result *res)
{
	const struct lg_opts *o = &run->o;
	const struct lg_stats *m = &res->st;
	const struct st_sshc_info *in = &m->info;
	FILE *f = stdout;

	fprintf(f, "sshterm-bench %s: %s@%s port %u, command \"%s\"%s\n", o->mode_name, o->user,
		o->host, (unsigned)o->port, o->command, res->interrupted ? " (interrupted)" : "");
	if (o->policy == LG_INSECURE)
		fprintf(f, "  host key         NOT VERIFIED (--insecure)\n");
	else if (o->policy == LG_FINGERPRINT)
		fprintf(f, "  host key         checked against fingerprint %s\n", o->fingerprint);
	else
		fprintf(f, "  host key         checked against known_hosts %s\n", o->known_hosts);
	if (m->have_info)
		fprintf(f, "  negotiated       %s, %s, %s%s%s\n  server           %s\n", in->kex,
			in->hostkey_alg, in->cipher_c2s, in->mac_c2s[0] ? ", " : "", in->mac_c2s,
			in->server_version);
	fprintf(f, "  concurrency      %u on %u thread%s (transport %s)\n", o->conc, run->nthreads,
		run->nthreads == 1 ? "" : "s", run->tp->name);
	fprintf(f, "  connections      %" PRIu64 " (%" PRIu64 " ok, %" PRIu64 " failed",
		m->completed + m->failed + m->interrupted, m->completed, m->failed);
	if (m->interrupted)
		fprintf(f, ", %" PRIu64 " interrupted", m->interrupted);
	fprintf(f, ")\n  wall time        %.3f s\n", res->wall_s);
	switch (o->mode) {
	case LG_HANDSHAKE:
		fprintf(f, "  handshakes/s     %.1f\n", res->wall_s > 0 ? (double)m->completed / res->wall_s : 0);
		if (m->nlat == 0)
			fprintf(f, "  latency ms       - (no handshake completed)\n");
		else
			fprintf(f, "  latency ms       p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
				pct_ms(m->lat_us, m->nlat, 0.50), pct_ms(m->lat_us, m->nlat, 0.90),
				pct_ms(m->lat_us, m->nlat, 0.99), pct_ms(m->lat_us, m->nlat, 1.0));
		break;
	case LG_BULK:
		fprintf(f, "  direction        %s, %" PRIu64 " bytes per session, data check %s\n",
			dir_name(o->dir), o->bytes, o->verify ? "on" : "off");
		fprintf(f, "  bytes            %" PRIu64 " (up %" PRIu64 ", down %" PRIu64 ")\n",
			m->payload, m->bytes_up, m->bytes_down);
		fprintf(f, "  throughput       %.3f Gbit/s total\n", gbit(m->payload, res->wall_s));
		if (m->nrate)
			fprintf(f, "  per session      %.3f Gbit/s median (min %.3f, max %.3f)\n",
				m->rate[m->nrate / 2], m->rate[0], m->rate[m->nrate - 1]);
		break;
	case LG_HOLD:
		fprintf(f, "  established      %" PRIu64 " of %" PRIu64 " sessions\n", m->established,
			run->total);
		fprintf(f, "  time to open all %.3f s, then held %.1f s\n", res->open_all_s,
			(double)run->hold_ns / 1e9);
		break;
	}
	fprintf(f, "  client CPU       %.2f s (user %.2f, sys %.2f), max RSS %.1f MiB\n",
		res->cpu_user_s + res->cpu_sys_s, res->cpu_user_s, res->cpu_sys_s, res->rss_mib);
	if (m->failed == 0) {
		fprintf(f, "  failures         none\n");
	} else {
		fprintf(f, "  failures\n");
		each_failure(m, human_fail_one, f);
	}
}

/* Once a second on a terminal: rate, done, errors. */
static void progress_line(const struct lg_run *run, double el, uint64_t *last_done,
			  uint64_t *last_bytes)
{
	uint64_t done = 0, failed = 0, bytes = 0, opened = 0;

	for (unsigned i = 0; i < run->nthreads; i++) {
		const struct lg_progress *p = &run->th[i].prog;
		done += atomic_load_explicit(&p->done, memory_order_relaxed);
		failed += atomic_load_explicit(&p->failed, memory_order_relaxed);
		bytes += atomic_load_explicit(&p->bytes, memory_order_relaxed);
		opened += atomic_load_explicit(&p->opened, memory_order_relaxed);
	}
	switch (run->o.mode) {
	case LG_HANDSHAKE:
		fprintf(stderr, "\r[%6.1f s] %8" PRIu64 " done %6" PRIu64 " failed %9.1f/s   ", el,
			done, failed, (double)(done - *last_done));
		break;
	case LG_BULK:
		fprintf(stderr, "\r[%6.1f s] %7.3f Gbit/s %6" PRIu64 " done %6" PRIu64 " failed   ", el,
			gbit(bytes - *last_bytes, 1.0), done, failed);
		break;
	case LG_HOLD:
		fprintf(stderr, "\r[%6.1f s] %8" PRIu64 " open %6" PRIu64 " failed %6" PRIu64 " closed   ",
			el, opened, failed, done);
		break;
	}
	*last_done = done;
	*last_bytes = bytes;
}

/* ---------------- command line ---------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sshterm-bench handshake|bulk|hold [-c CONCURRENCY] [-n COUNT | -t SECONDS]\n"
		"         [-j THREADS] [-i KEYFILE] [-p PORT] [-l USER] [-o UserKnownHostsFile=FILE]\n"
		"         [-o StrictHostKeyChecking=no] [--fingerprint SHA256:...] [--insecure]\n"
		"         [--cipher NAME] [--mac NAME] [--kex NAME] [--hostkey-alg NAME]\n"
		"         [-d up|down|echo] [-b BYTES[K|M|G]] [--no-verify] [--timeout SECONDS]\n"
		"         [--max-startups N] [--source ADDR[,ADDR|ADDR-ADDR...]] [--json] [--allow-fail]\n"
		"         [user@]host [COMMAND] [--dpdk ADDR/PREFIX EAL-ARGS...]\n"
		"  handshake  -c connections at once, -n in all (100) or for -t seconds; each runs\n"
		"             COMMAND (default \"source 0\"; \"true\" for OpenSSH) and closes\n"
		"  bulk       -c sessions (1), each moving -b bytes (1G) -d up (\"sink\"), down\n"
		"             (\"source BYTES\") or echo (\"echo\"), checked unless --no-verify\n"
		"  hold       -c/-n sessions (100) running COMMAND (\"sink\"), all held open -t\n"
		"             seconds (10) after the last one opened, then closed\n"
		"  --source   bind each connection to the next of these local addresses,\n"
		"             round-robin (e.g. 198.18.0.16-198.18.0.23 or 10.0.0.5,10.0.0.6;\n"
		"             ranges IPv4 only, 1024 addresses at most); one address reaches\n"
		"             one server port from at most ip_local_port_range connections\n"
		"             (~28k by default). Kernel sockets only; the addresses must be\n"
		"             on an interface already\n"
		"  --dpdk     run on sshterm's own TCP stack on a DPDK port instead of kernel\n"
		"             sockets: the generator's address (ADDR/PREFIX[,mtu=N], MTU 1500\n"
		"             by default), then EAL arguments (e.g. -l 1 --no-huge\n"
		"             --vdev=net_memif0,role=client,socket=PATH); one lcore\n"
		"             (dataplane worker) per -j thread\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v > 0) || v > 1e7)
		return -1;
	*out = v;
	return 0;
}

#define USAGE_ERR(...)                                              \
	do {                                                        \
		fprintf(stderr, "sshterm-bench %s: ", o->mode_name); \
		fprintf(stderr, __VA_ARGS__);                       \
		fputc('\n', stderr);                                \
		return 2;                                           \
	} while (0)

/* ssh -o Key=Value (or "Key Value"). */
static int parse_o(struct lg_opts *o, const char *arg, int *kh_given, int *shk_no)
{
	char key[64];
	const char *v;
	size_t kl = strcspn(arg, "= \t");

	if (kl == 0 || kl >= sizeof(key) || arg[kl] == '\0')
		USAGE_ERR("-o %s: expected Key=Value", arg);
	memcpy(key, arg, kl);
	key[kl] = '\0';
	v = arg + kl;
	v += strspn(v, " \t");
	if (*v == '=')
		v++;
	v += strspn(v, " \t");
	if (*v == '\0')
		USAGE_ERR("-o %s: missing value", arg);
	if (strcasecmp(key, "UserKnownHostsFile") == 0) {
		o->known_hosts = v;
		*kh_given = 1;
	} else if (strcasecmp(key, "StrictHostKeyChecking") == 0) {
		if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0)
			*shk_no = 1;
		else if (strcasecmp(v, "yes") != 0)
			USAGE_ERR("-o StrictHostKeyChecking=%s: only yes or no", v);
	} else if (strcasecmp(key, "Port") == 0) {
		uint64_t p;
		if (parse_u64(v, &p) != 0 || p == 0 || p > 65535)
			USAGE_ERR("-o Port=%s: not a port", v);
		o->port = (uint16_t)p;
	} else if (strcasecmp(key, "User") == 0) {
		o->user = v;
	} else if (strcasecmp(key, "IdentityFile") == 0) {
		o->keyfile = v;
	} else if (strcasecmp(key, "Ciphers") == 0) {
		o->ciphers = v;
	} else if (strcasecmp(key, "MACs") == 0) {
		o->macs = v;
	} else if (strcasecmp(key, "KexAlgorithms") == 0) {
		o->kex = v;
	} else if (strcasecmp(key, "HostKeyAlgorithms") == 0) {
		o->hostkey_algs = v;
	} else if (strcasecmp(key, "ConnectTimeout") == 0) {
		if (parse_secs(v, &o->timeout) != 0)
			USAGE_ERR("-o ConnectTimeout=%s: not a positive number of seconds", v);
	} else {
		USAGE_ERR("-o %s: option not supported (UserKnownHostsFile, StrictHostKeyChecking, "
			  "Port, User, IdentityFile, Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms, "
			  "ConnectTimeout)", key);
	}
	return 0;
}

enum {
	OPT_FINGERPRINT = 256,
	OPT_INSECURE,
	OPT_CIPHER,
	OPT_MAC,
	OPT_KEX,
	OPT_HOSTKEY_ALG,
	OPT_NO_VERIFY,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_ALLOW_FAIL,
	OPT_MAX_STARTUPS,
	OPT_TRANSPORT,
	OPT_SOURCE,
	OPT_HELP,
};

static int parse_args(struct lg_opts *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{"fingerprint", required_argument, NULL, OPT_FINGERPRINT},
		{"insecure", no_argument, NULL, OPT_INSECURE},
		{"cipher", required_argument, NULL, OPT_CIPHER},
		{"mac", required_argument, NULL, OPT_MAC},
		{"kex", required_argument, NULL, OPT_KEX},
		{"hostkey-alg", required_argument, NULL, OPT_HOSTKEY_ALG},
		{"no-verify", no_argument, NULL, OPT_NO_VERIFY},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"json", no_argument, NULL, OPT_JSON},
		{"allow-fail", no_argument, NULL, OPT_ALLOW_FAIL},
		{"max-startups", required_argument, NULL, OPT_MAX_STARTUPS},
		{"transport", required_argument, NULL, OPT_TRANSPORT},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	int kh_given = 0, shk_no = 0, ch, r;
	uint64_t v;
	char *dest;
	size_t cmdlen = 0;

	o->threads = 1;
	o->port = 22;
	o->verify = 1;
	o->timeout = 30;
	o->bytes = 1ull << 30;
	o->transport = "sock";
	/* Everything after --dpdk is the DPDK transport's: ADDR/PREFIX, then EAL arguments. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dpdk") != 0)
			continue;
		if (lg_dpdk_configure(argc - i - 1, argv + i + 1) != ST_OK)
			return 2;
		o->transport = "dpdk";
		argc = i;
		break;
	}
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "+c:n:t:j:i:p:l:o:d:b:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (parse_u64(optarg, &v) != 0 || v == 0 || v > LG_MAX_CONC)
				USAGE_ERR("-c %s: must be 1..%u", optarg, LG_MAX_CONC);
			o->conc = (unsigned)v;
			break;
		case 'n':
			if (parse_u64(optarg, &v) != 0 || v == 0)
				USAGE_ERR("-n %s: must be a positive count", optarg);
			o->count = v;
			break;
		case 't':
			if (parse_secs(optarg, &o->seconds) != 0)
				USAGE_ERR("-t %s: must be a positive number of seconds", optarg);
			break;
		case 'j':
			if (parse_u64(optarg, &v) != 0 || v == 0 || v > LG_MAX_THREADS)
				USAGE_ERR("-j %s: must be 1..%d", optarg, LG_MAX_THREADS);
			o->threads = (unsigned)v;
			break;
		case 'i':
			o->keyfile = optarg;
			break;
		case 'p':
			if (parse_u64(optarg, &v) != 0 || v == 0 || v > 65535)
				USAGE_ERR("-p %s: not a port", optarg);
			o->port = (uint16_t)v;
			break;
		case 'l':
			o->user = optarg;
			break;
		case 'o':
			if ((r = parse_o(o, optarg, &kh_given, &shk_no)) != 0)
				return r;
			break;
		case 'd':
			if (strcmp(optarg, "up") == 0)
				o->dir = LG_UP;
			else if (strcmp(optarg, "down") == 0)
				o->dir = LG_DOWN;
			else if (strcmp(optarg, "echo") == 0)
				o->dir = LG_ECHO;
			else
				USAGE_ERR("-d %s: must be up, down or echo", optarg);
			o->dir_given = 1;
			break;
		case 'b':
			if (parse_bytes(optarg, &o->bytes) != 0 || o->bytes == 0)
				USAGE_ERR("-b %s: must be a positive byte count (suffix K, M, G)", optarg);
			o->bytes_given = 1;
			break;
		case OPT_FINGERPRINT:
			if (strncmp(optarg, "SHA256:", 7) != 0 || optarg[7] == '\0')
				USAGE_ERR("--fingerprint %s: expected SHA256:<base64> (ssh-keygen -lf)", optarg);
			o->fingerprint = optarg;
			break;
		case OPT_INSECURE:
			shk_no = 1;
			break;
		case OPT_CIPHER:
			o->ciphers = optarg;
			break;
		case OPT_MAC:
			o->macs = optarg;
			break;
		case OPT_KEX:
			o->kex = optarg;
			break;
		case OPT_HOSTKEY_ALG:
			o->hostkey_algs = optarg;
			break;
		case OPT_NO_VERIFY:
			o->verify = 0;
			break;
		case OPT_TIMEOUT:
			if (parse_secs(optarg, &o->timeout) != 0)
				USAGE_ERR("--timeout %s: must be a positive number of seconds", optarg);
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_ALLOW_FAIL:
			o->allow_fail = 1;
			break;
		case OPT_MAX_STARTUPS:
			if (parse_u64(optarg, &v) != 0 || v > LG_MAX_CONC)
				USAGE_ERR("--max-startups %s: must be 0..%u", optarg, LG_MAX_CONC);
			o->max_startups = (unsigned)v;
			break;
		case OPT_TRANSPORT:
			o->transport = optarg;
			break;
		case OPT_SOURCE:
			if (*optarg == '\0')
				USAGE_ERR("--source: expected ADDR[,ADDR...] or ADDR-ADDR");
			o->sources = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc)
		USAGE_ERR("missing destination [user@]host");
	dest = argv[optind++];
	{
		char *at = strrchr(dest, '@');
		if (at != NULL) {
			*at = '\0';
			if (o->user == NULL)
				o->user = dest;
			dest = at + 1;
		}
		size_t dl = strlen(dest);
		if (dl >= 2 && dest[0] == '[' && dest[dl - 1] == ']') {
			dest[dl - 1] = '\0';
			dest++;
		}
		if (*dest == '\0')
			USAGE_ERR("empty host name");
		o->host = dest;
	}
	for (int i = optind; i < argc; i++)
		cmdlen += strlen(argv[i]) + 1;
	if (cmdlen > 0) {
		if ((o->command = malloc(cmdlen)) == NULL)
			USAGE_ERR("out of memory");
		o->command[0] = '\0';
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(o->command, " ");
			strcat(o->command, argv[i]);
		}
	}

	/* Host key policy: exactly one. */
	if ((o->fingerprint != NULL) + shk_no + kh_given > 1)
		USAGE_ERR("choose one host key policy: known_hosts (-o UserKnownHostsFile), "
			  "--fingerprint, or --insecure (-o StrictHostKeyChecking=no)");
	o->policy = o->fingerprint ? LG_FINGERPRINT : shk_no ? LG_INSECURE : LG_KNOWN_HOSTS;

	if (o->sources != NULL && strcmp(o->transport, "sock") != 0)
		USAGE_ERR("--source is an option of kernel sockets; with --dpdk the address is "
			  "the one given there");

	/* Mode rules. */
	if (o->mode != LG_BULK && (o->dir_given || o->bytes_given))
		USAGE_ERR("-d and -b are options of bulk");
	switch (o->mode) {
	case LG_HANDSHAKE:
		if (o->count && o->seconds > 0)
			USAGE_ERR("-n and -t exclude each other");
		if (o->conc == 0)
			o->conc = 1;
		if (o->seconds == 0 && o->count == 0)
			o->count = 100;
		break;
	case LG_BULK:
		if (o->seconds > 0)
			USAGE_ERR("-t is not an option of bulk (each session moves -b bytes)");
		if (o->conc == 0)
			o->conc = 1;
		if (o->count == 0)
			o->count = o->conc;
		break;
	case LG_HOLD:
		if (o->conc && o->count && o->conc != o->count)
			USAGE_ERR("-c and -n both give the number of sessions of hold: use one");
		if (o->count == 0)
			o->count = o->conc ? o->conc : 100;
		if (o->count > LG_MAX_CONC)
			USAGE_ERR("-n %" PRIu64 ": at most %u sessions", o->count, LG_MAX_CONC);
		o->conc = (unsigned)o->count;
		if (o->seconds == 0)
			o->seconds = 10;
		break;
	}
	if (o->threads > o->conc)
		o->threads = o->conc;
	if (o->command == NULL) {
		char buf[64];
		const char *def = "sink";
		if (o->mode == LG_HANDSHAKE)
			def = "source 0";
		else if (o->mode == LG_BULK && o->dir == LG_DOWN)
			def = buf;
		else if (o->mode == LG_BULK && o->dir == LG_ECHO)
			def = "echo";
		snprintf(buf, sizeof(buf), "source %" PRIu64, o->bytes);
		if ((o->command = strdup(def)) == NULL)
			USAGE_ERR("out of memory");
	}
	if (o->user == NULL || o->user[0] == '\0') {
		const char *u = getenv("USER");
		struct passwd *pw;
		if ((u == NULL || *u == '\0') && (pw = getpwuid(getuid())) != NULL)
			u = pw->pw_name;
		if (u == NULL || *u == '\0')
			USAGE_ERR("no user name: use -l USER or user@host");
		o->user = u;
	}
	return 0;
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && *h != '\0')
		return h;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : "/";
}

/* The user key: -i, else the first of ~/.ssh/id_{ed25519,ecdsa,rsa} that exists. */
static int load_key(struct lg_run *run, char *path, size_t pathsz)
{
	struct lg_opts *o = &run->o;
	static const char *const names[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
	int r;

	if (o->keyfile != NULL) {
		snprintf(path, pathsz, "%s", o->keyfile);
		if ((r = st_keyfile_load_private(path, &run->key)) != ST_OK)
			USAGE_ERR("%s: %s", path, r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, pathsz, "%s/.ssh/%s", home_dir(), names[i]);
		r = st_keyfile_load_private(path, &run->key);
		if (r == ST_OK)
			return 0;
		if (r == ST_ERR_SYSTEM && errno == ENOENT)
			continue;
		USAGE_ERR("%s: %s", path, r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
	}
	USAGE_ERR("no user key: none of ~/.ssh/id_ed25519, id_ecdsa, id_rsa exists (use -i KEYFILE)");
}

static int namelist_has(const char *list, const char *name, size_t len)
{
	const char *p = list;

	while (*p) {
		size_t l = strcspn(p, ",");
		if (l == len && strncmp(p, name, len) == 0)
			return 1;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Like ssh(1): host key algorithms that known_hosts can verify go first. */
static void order_hostkey_algs(struct lg_run *run)
{
	const char *def = ST_SSHC_DEFAULT_HOSTKEY_ALGS, *p = def;
	char known[256] = "";
	size_t n;

	st_known_hosts_algs(run->kh, run->o.host, run->o.port, def, known, sizeof(known));
	if (known[0] == '\0')
		return;
	snprintf(run->hostkey_algs, sizeof(run->hostkey_algs), "%s", known);
	n = strlen(run->hostkey_algs);
	while (*p) {
		size_t l = strcspn(p, ",");
		if (!namelist_has(known, p, l) && n + l + 2 < sizeof(run->hostkey_algs)) {
			run->hostkey_algs[n++] = ',';
			memcpy(run->hostkey_algs + n, p, l);
			n += l;
			run->hostkey_algs[n] = '\0';
		}
		p += l;
		if (*p == ',')
			p++;
	}
	run->o.hostkey_algs = run->hostkey_algs;
}

static int resolve(struct lg_run *run)
{
	struct lg_opts *o = &run->o;
	struct addrinfo hints, *res = NULL;
	char port[8];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)o->port);
	if ((r = getaddrinfo(o->host, port, &hints, &res)) != 0 || res == NULL)
		USAGE_ERR("%s: %s", o->host, r ? gai_strerror(r) : "no address");
	if (res->ai_addrlen > sizeof(run->tgt.addr)) {
		freeaddrinfo(res);
		USAGE_ERR("%s: address too long", o->host);
	}
	memcpy(&run->tgt.addr, res->ai_addr, res->ai_addrlen);
	run->tgt.addrlen = res->ai_addrlen;
	run->tgt.host = o->host;
	run->tgt.port = o->port;
	freeaddrinfo(res);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&lg_stop, 1);
}

/* RLIMIT_NOFILE to the hard limit: hold mode keeps thousands of sockets. */
static void raise_nofile(const struct lg_run *run)
{
	struct rlimit rl;
	uint64_t need = (uint64_t)run->o.conc * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		fprintf(stderr, "sshterm-bench: warning: open file limit %llu is below the %" PRIu64
				" this run may need\n",
			(unsigned long long)rl.rlim_cur, need);
}

static void run_free(struct lg_run *run)
{
	if (run->th != NULL) {
		for (unsigned i = 0; i < run->nthreads; i++)
			thread_free(run, &run->th[i]);
		free(run->th);
	}
	if (run->gctx != NULL && run->tp->fini != NULL)
		run->tp->fini(run->gctx);
	st_key_free(run->key);
	st_known_hosts_free(run->kh);
	free(run->o.command);
}

int lg_main(int argc, char **argv)
{
	struct lg_run *run;
	struct lg_opts *o;
	struct lg_result res;
	char keypath[4096], khpath[4096];
	int r, rc = 1;
	unsigned started = 0;

	if ((run = calloc(1, sizeof(*run))) == NULL)
		return 1;
	o = &run->o;
	o->mode_name = argv[0];
	if (strcmp(argv[0], "handshake") == 0)
		o->mode = LG_HANDSHAKE;
	else if (strcmp(argv[0], "bulk") == 0)
		o->mode = LG_BULK;
	else if (strcmp(argv[0], "hold") == 0)
		o->mode = LG_HOLD;
	else {
		usage(stderr);
		free(run);
		return 2;
	}
	if ((rc = parse_args(o, argc, argv)) != 0)
		goto out;
	rc = 2;
	for (size_t i = 0; i < sizeof(lg_transports) / sizeof(lg_transports[0]); i++)
		if (strcmp(lg_transports[i]->name, o->transport) == 0)
			run->tp = lg_transports[i];
	if (run->tp == NULL) {
		fprintf(stderr, "sshterm-bench %s: --transport %s: unknown (sock)\n", o->mode_name,
			o->transport);
		goto out;
	}
	if (load_key(run, keypath, sizeof(keypath)) != 0)
		goto out;
	if (o->policy == LG_KNOWN_HOSTS) {
		unsigned bad = 0;
		if (o->known_hosts == NULL) {
			snprintf(khpath, sizeof(khpath), "%s/.ssh/known_hosts", home_dir());
			o->known_hosts = khpath;
		}
		r = st_known_hosts_load(o->known_hosts, &run->kh, &bad);
		if (r != ST_OK) {
			fprintf(stderr, "sshterm-bench %s: known_hosts %s: %s (or use --fingerprint / "
					"--insecure)\n",
				o->mode_name, o->known_hosts,
				r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
			goto out;
		}
		if (bad > 0)
			fprintf(stderr, "sshterm-bench: %s: %u malformed line(s) skipped\n", o->known_hosts, bad);
		if (o->hostkey_algs == NULL)
			order_hostkey_algs(run);
	}
	if (resolve(run) != 0)
		goto out;
	if (o->sources != NULL &&
	    lg_sock_configure_sources(o->sources, run->tgt.addr.ss_family) != ST_OK)
		goto out; /* rc 2: a usage error, said above */

	run->cfg.user = o->user;
	run->cfg.key = run->key;
	run->cfg.kex = o->kex;
	run->cfg.hostkey_algs = o->hostkey_algs;
	run->cfg.ciphers = o->ciphers;
	run->cfg.macs = o->macs;
	run->cfg.host = o->host;
	run->cfg.port = o->port;
	run->cfg.hostkey.known_hosts = run->kh;
	run->cfg.hostkey.fingerprint = o->fingerprint;
	run->cfg.hostkey.insecure = o->policy == LG_INSECURE;
	run->cfg.command = o->command;
	run->cfg.ev.data = ev_data;
	{
		/* One engine up front, so that a bad name fails the run, not every connection. */
		struct st_sshc *probe = NULL;
		if ((r = st_sshc_new(&run->cfg, &probe)) != ST_OK) {
			fprintf(stderr, "sshterm-bench %s: client configuration refused: %s "
					"(check --cipher, --mac, --kex, --hostkey-alg)\n",
				o->mode_name, st_err_str(r));
			goto out;
		}
		st_sshc_free(probe);
	}

	run->total = o->count;
	run->timed = o->mode == LG_HANDSHAKE && o->seconds > 0;
	run->timeout_ns = ms_ns(o->timeout);
	run->hold_ns = o->mode == LG_HOLD ? ms_ns(o->seconds) : 0;
	run->nthreads = o->threads;
	atomic_init(&run->started, 0);
	atomic_init(&run->hold_ready, 0);
	atomic_init(&run->all_open_ns, 0);
	atomic_init(&run->threads_left, 0);
	raise_nofile(run);

	rc = 1;
	if (run->tp->init != NULL && (r = run->tp->init(&run->tgt, run->nthreads, &run->gctx)) != ST_OK) {
		fprintf(stderr, "sshterm-bench: transport %s: %s\n", run->tp->name, st_err_str(r));
		goto out;
	}
	if ((run->th = aligned_alloc(64, sizeof(*run->th) * run->nthreads)) == NULL)
		goto out;
	memset(run->th, 0, sizeof(*run->th) * run->nthreads);
	for (unsigned i = 0; i < run->nthreads; i++) {
		if ((r = thread_setup(run, &run->th[i], i)) != ST_OK) {
			fprintf(stderr, "sshterm-bench: thread setup: %s\n",
				r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
			goto out;
		}
	}

	{
		struct sigaction sa;
		sigset_t block, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		/* Workers leave the signals to this thread. */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		run->t0 = mono_ns();
		run->t_end = run->t0 + (run->timed ? ms_ns(o->seconds) : 0);
		atomic_store(&run->threads_left, (int)run->nthreads);
		for (unsigned i = 0; i < run->nthreads; i++) {
			if (pthread_create(&run->th[i].tid, NULL, thread_main, &run->th[i]) != 0) {
				fprintf(stderr, "sshterm-bench: pthread_create: %s\n", strerror(errno));
				atomic_store(&lg_stop, 1);
				atomic_fetch_sub(&run->threads_left, (int)(run->nthreads - i));
				break;
			}
			started++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}

	{
		int tty = isatty(STDERR_FILENO);
		uint64_t next = run->t0 + 1000000000u, last_done = 0, last_bytes = 0;
		int printed = 0;
		while (atomic_load(&run->threads_left) > 0) {
			struct timespec ts = {0, 50 * 1000000};
			nanosleep(&ts, NULL);
			uint64_t now = mono_ns();
			if (tty && now >= next) {
				progress_line(run, (double)(now - run->t0) / 1e9, &last_done, &last_bytes);
				printed = 1;
				next += 1000000000u;
			}
		}
		if (printed)
			fputc('\n', stderr);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(run->th[i].tid, NULL);

	merge(run, &res);
	if (o->json)
		report_json(run, &res);
	else
		report_human(run, &res);
	fflush(stdout);
	if (res.interrupted)
		rc = 130;
	else if (res.st.failed > 0 && !o->allow_fail)
		rc = 1;
	else if (started < run->nthreads)
		rc = 1;
	else
		rc = 0;
	free(res.st.lat_us);
	free(res.st.rate);
out:
	run_free(run);
	free(run);
	return rc;
}
