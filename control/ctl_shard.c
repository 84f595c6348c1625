/*
 * A control shard's thread: the up rings of its workers in, down messages
 * out (with a backlog when a ring is full), LoginGraceTime ticks over its
 * live sessions, MaxStartups at connection start, and the admin thread's
 * requests. See ctl_shard.h for the ownership rules.
 */
#define _GNU_SOURCE /* pthread_setaffinity_np, pthread_setname_np */
#include "control/ctl_shard.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "control/akc_pool.h"
#include "control/ctl_confs.h"
#include "control/kex_pool.h"
#include "control/ctl_json.h"
#include "control/ctlplane.h"
#include "crypto/err.h"
#include "dataplane/ssh/msg.h"

#define UP_BURST 64
#define TICK_MS 100

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int owns(const struct st_ctl_shard *sh, unsigned w)
{
	return w < sh->cp->nb_workers && st_ctl_shard_of(w, sh->cp->nshards) == sh->index;
}

/* ---- down messages: the ring, or the backlog when it is full ---- */

static struct st_ctl_sess *sess_of(struct st_ctl_shard *sh, struct st_conn_handle h)
{
	if (!owns(sh, h.worker) || h.slot >= sh->cp->max_sessions)
		return NULL;
	struct st_ctl_sess *s = &sh->sess[h.worker][h.slot];
	return s->conn != NULL && s->h.gen == h.gen ? s : NULL;
}

static void kick_worker(struct st_ctl_shard *sh, unsigned w)
{
	dp_idle_kick(dp_worker_get(sh->cp->dp, w)); /* a sleeping worker wakes for it */
}

/* Moves backlogged messages to the ring, oldest first. Returns how many. */
static unsigned backlog_flush(struct st_ctl_shard *sh, unsigned w)
{
	struct st_ctl_backlog *b = &sh->backlog[w];
	unsigned moved = 0;

	while (b->count > 0) {
		struct st_plane_msg *m = b->m[b->head];
		if (rte_ring_sp_enqueue(sh->cp->app->down[w], m) != 0)
			break;
		struct st_ctl_sess *s = sess_of(sh, m->conn);
		if (s != NULL && s->backlogged > 0)
			s->backlogged--;
		b->head = (b->head + 1) % ST_CTL_BACKLOG;
		b->count--;
		moved++;
	}
	if (moved)
		kick_worker(sh, w);
	return moved;
}

static void sess_end(struct st_ctl_shard *sh, struct st_ctl_sess *s);
static void src_close(struct st_ctl_shard *sh, struct st_ctl_sess *s);

/*
 * The sink of every st_ctl_conn of this shard. Order per worker is kept: once
 * something waits in the backlog, later messages queue behind it.
 */
static int down_deliver(void *ctx, struct st_plane_msg *m)
{
	struct st_ctl_shard *sh = ctx;
	unsigned w = m->conn.worker;

	if (!owns(sh, w)) {
		st_plane_msg_free(m);
		return ST_ERR_INVALID_ARGUMENT;
	}
	struct st_ctl_backlog *b = &sh->backlog[w];
	if (b->count == 0 && rte_ring_sp_enqueue(sh->cp->app->down[w], m) == 0) {
		kick_worker(sh, w);
		return ST_OK;
	}
	struct st_ctl_sess *s = sess_of(sh, m->conn);
	if (b->count == ST_CTL_BACKLOG || (s != NULL && s->backlogged >= ST_CTL_BACKLOG_PER_SESS)) {
		/* The worker takes nothing while this session keeps producing: the
		 * session is refused the message, which ends it (conn.c closes on a
		 * sink error), counted. */
		sh->backlog_full++;
		st_plane_msg_free(m);
		return ST_ERR_NO_SPACE;
	}
	b->m[(b->head + b->count) % ST_CTL_BACKLOG] = m;
	b->count++;
	sh->backlogged++;
	if (s != NULL)
		s->backlogged++;
	return ST_OK;
}

/* ---- sessions ---- */

static void sess_end(struct st_ctl_shard *sh, struct st_ctl_sess *s)
{
	struct st_ctlplane *cp = sh->cp;

	if (s->src_tracked)
		src_close(sh, s);
	if (!s->authed)
		__atomic_sub_fetch(&cp->unauth, 1, __ATOMIC_RELAXED);
	else
		sh->nauthed--;
	sh->nsess--;
	st_ctl_conn_free(s->conn);
	s->conn = NULL;
	st_confs_put(&cp->confs, s->conf);
	s->conf = NULL;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sh->live = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/*
 * MaxStartups start:rate:full, as sshd applies it: below `start`
 * unauthenticated connections everything is accepted, from `start` on a new
 * one is refused with probability rate% rising linearly to 100% at `full`.
 * The count is the daemon's (all shards).
 */
static int startup_refused(const struct st_ctlplane *cp, const struct st_daemon_conf *c)
{
	unsigned n = __atomic_load_n(&cp->unauth, __ATOMIC_RELAXED);

	if (n < c->max_startups_begin)
		return 0;
	if (n >= c->max_startups_full)
		return 1;
	unsigned span = c->max_startups_full - c->max_startups_begin;
	unsigned p = c->max_startups_rate +
		     (100 - c->max_startups_rate) * (n - c->max_startups_begin) / (span ? span : 1);
	return (unsigned)(random() % 100) < p;
}

/*
 * Ends a connection with a DISCONNECT before (or instead of) anything else;
 * the worker counts it under reason.
 */
static void disconnect(struct st_ctl_shard *sh, struct st_conn_handle h, enum st_close_reason reason,
		       uint32_t code, const char *text)
{
	uint8_t pl[160];
	struct st_buf b;

	st_buf_wrap(&b, pl, sizeof(pl));
	st_buf_put_u8(&b, SSH_MSG_DISCONNECT);
	st_buf_put_u32(&b, code);
	st_buf_put_cstring(&b, text);
	st_buf_put_cstring(&b, "");
	struct st_plane_msg *c = st_plane_msg_new(ST_DOWN_CLOSE, h, pl, (uint32_t)b.len);
	if (c != NULL) {
		c->u.closed.reason = reason;
		down_deliver(sh, c);
	}
}

/*
 * Refuses a new connection before any key exchange, logged as sshd does
 * ("past MaxStartups", "penalty: failed authentication"); the DISCONNECT
 * says the same to the client.
 */
static void refuse_startup(struct st_ctl_shard *sh, const struct st_plane_msg *m, const char *why)
{
	struct st_ctlplane *cp = sh->cp;

	disconnect(sh, m->conn, ST_CLOSE_REFUSED, SSH_DISCONNECT_TOO_MANY_CONNECTIONS,
		   strcmp(why, "past MaxStartups") == 0 ? "too many unauthenticated connections"
							 : why);
	uint64_t n = __atomic_add_fetch(&cp->startups_dropped, 1, __ATOMIC_RELAXED);
	st_ctlplane_logf(cp, LOG_NOTICE, "drop connection #%llu from [%s]:%u on [%s]:%u %s",
			 (unsigned long long)n, m->u.open.peer_ip, m->u.open.peer_port,
			 m->u.open.local_ip, m->u.open.local_port, why);
}

/* ---- per-source limits (one table for the daemon, control/srclimit.h) ---- */

static int src_open(struct st_ctlplane *cp, const struct st_srclimit_addr *a, const char **why)
{
	pthread_mutex_lock(&cp->src_lock);
	int r = st_srclimit_open(&cp->src, a, mono_ms(), why);
	pthread_mutex_unlock(&cp->src_lock);
	return r;
}

/* The penalty a session earned by how it ended (sshd's rules, srclimit.h). */
static enum st_srclimit_penalty penalty_of(const struct st_ctl_sess *s)
{
	struct st_ctl_conn_end e;

	st_ctl_conn_end_info(s->conn, &e);
	if (e.authed)
		return ST_SRCLIMIT_PENALTY_NONE;
	if (e.we_closed && e.disc == ST_CTL_DISC_LOGIN_GRACE)
		return ST_SRCLIMIT_PENALTY_GRACE;
	if (e.we_closed && e.disc == ST_CTL_DISC_INTERNAL)
		return ST_SRCLIMIT_PENALTY_CRASH;
	if (e.failures > 0 || (e.we_closed && e.disc == ST_CTL_DISC_AUTH_TRIES))
		return ST_SRCLIMIT_PENALTY_AUTHFAIL;
	return ST_SRCLIMIT_PENALTY_NOAUTH;
}

static void src_close(struct st_ctl_shard *sh, struct st_ctl_sess *s)
{
	struct st_ctlplane *cp = sh->cp;
	enum st_srclimit_penalty p = penalty_of(s);
	char block[64];

	pthread_mutex_lock(&cp->src_lock);
	uint32_t secs = st_srclimit_close(&cp->src, &s->src, s->authed, p, mono_ms());
	if (secs != 0 && st_srclimit_netblock_str(&cp->src, &s->src, block, sizeof(block)) != ST_OK)
		snprintf(block, sizeof(block), "%s", s->peer);
	pthread_mutex_unlock(&cp->src_lock);
	if (secs != 0)
		st_ctlplane_logf(cp, LOG_INFO, "%s: activating %s penalty of %u seconds for %s",
				 s->src.family == AF_INET6 ? "ipv6" : "ipv4", block, secs,
				 st_srclimit_penalty_why(p));
	s->src_tracked = 0;
}

static void sess_open(struct st_ctl_shard *sh, struct st_plane_msg *m)
{
	struct st_ctlplane *cp = sh->cp;
	struct st_plane_sink down = {down_deliver, sh};
	struct st_ctl_log log = {st_ctlplane_log, cp};
	struct st_conf_ref *conf = st_confs_get_cached(&cp->confs, &sh->conf);
	struct st_ctl_sess *s = &sh->sess[m->conn.worker][m->conn.slot];

	struct st_srclimit_addr src;
	const char *why = NULL;
	int tracked = 0;

	if (s->conn != NULL)
		sess_end(sh, s); /* the worker reused the slot: the old one is gone */
	if (startup_refused(cp, &conf->conf)) {
		refuse_startup(sh, m, "past MaxStartups");
		st_plane_msg_free(m);
		return;
	}
	/* A load balancer's connection counts for the client its PROXY header names. */
	int pending = st_ctl_config_proxy_listed(&conf->conf.ctl, m->u.open.peer_ip);
	memset(&src, 0, sizeof(src));
	if (!pending && st_srclimit_addr_parse(m->u.open.peer_ip, &src) == ST_OK) {
		int r = src_open(cp, &src, &why);
		if (r > 0) {
			refuse_startup(sh, m, why != NULL ? why : st_srclimit_refusal_str(r));
			st_plane_msg_free(m);
			return;
		}
		tracked = r == ST_OK;
	}
	s->conn = st_ctl_conn_new(&conf->conf.ctl, m->conn, &down, &log, &sh->stats);
	if (s->conn == NULL) {
		struct st_plane_msg *c = st_plane_msg_new(ST_DOWN_CLOSE, m->conn, NULL, 0);
		if (c != NULL)
			down_deliver(sh, c);
		if (tracked) { /* refused for our own reason: no penalty */
			pthread_mutex_lock(&cp->src_lock);
			st_srclimit_close(&cp->src, &src, 0, ST_SRCLIMIT_PENALTY_NONE, mono_ms());
			pthread_mutex_unlock(&cp->src_lock);
		}
		st_plane_msg_free(m);
		return;
	}
	st_ctl_conn_set_akc(s->conn, &sh->akc);
	st_ctl_conn_set_kexp(s->conn, &sh->kexp);
	s->src = src;
	s->src_tracked = (uint8_t)tracked;
	s->src_pending = (uint8_t)pending;
	s->deferred = 0;
	__atomic_add_fetch(&conf->refs, 1, __ATOMIC_RELAXED); /* the session's reference */
	s->conf = conf;
	s->authed = 0;
	s->backlogged = 0;
	__atomic_add_fetch(&cp->unauth, 1, __ATOMIC_RELAXED);
	sh->nsess++;
	s->h = m->conn;
	s->id = __atomic_add_fetch(&cp->next_id, 1, __ATOMIC_RELAXED);
	s->since = time(NULL);
	s->open_us = mono_us();
	snprintf(s->peer, sizeof(s->peer), "%s", m->u.open.peer_ip);
	s->peer_port = m->u.open.peer_port;
	s->prev = NULL;
	s->next = sh->live;
	if (sh->live != NULL)
		sh->live->prev = s;
	sh->live = s;
	st_ctl_conn_input(s->conn, m);
}

/*
 * The client address of a proxied connection is known (st_ctl_conn_peer):
 * it replaces the load balancer's in the session table and is checked and
 * counted by the per-source limits now, as st_srclimit_open() would have
 * been at ST_UP_OPEN.
 */
static void src_late_open(struct st_ctl_shard *sh, struct st_ctl_sess *s)
{
	struct st_ctlplane *cp = sh->cp;
	struct st_srclimit_addr src;
	const char *ip, *why = NULL;
	uint16_t port;

	if (!st_ctl_conn_peer(s->conn, &ip, &port))
		return;
	s->src_pending = 0;
	snprintf(s->peer, sizeof(s->peer), "%s", ip);
	s->peer_port = port;
	if (st_ctl_conn_closing(s->conn) || st_srclimit_addr_parse(s->peer, &src) != ST_OK)
		return;
	int r = src_open(cp, &src, &why);
	if (r > 0) {
		if (why == NULL)
			why = st_srclimit_refusal_str(r);
		disconnect(sh, s->h, ST_CLOSE_REFUSED, SSH_DISCONNECT_TOO_MANY_CONNECTIONS, why);
		const char *lip;
		uint16_t lport;
		st_ctl_conn_local(s->conn, &lip, &lport);
		uint64_t n = __atomic_add_fetch(&cp->startups_dropped, 1, __ATOMIC_RELAXED);
		st_ctlplane_logf(cp, LOG_NOTICE, "drop connection #%llu from [%s]:%u on [%s]:%u %s",
				 (unsigned long long)n, s->peer, s->peer_port, lip, lport, why);
		return;
	}
	s->src = src;
	s->src_tracked = r == ST_OK;
}

static void sess_after_input(struct st_ctl_shard *sh, struct st_ctl_sess *s)
{
	if (s->src_pending)
		src_late_open(sh, s);
	if (!s->authed && st_ctl_conn_user(s->conn) != NULL) {
		s->authed = 1;
		sh->nauthed++;
		st_histo_observe(&sh->auth_latency, mono_us() - s->open_us);
		__atomic_sub_fetch(&sh->cp->unauth, 1, __ATOMIC_RELAXED);
		if (s->src_tracked) {
			pthread_mutex_lock(&sh->cp->src_lock);
			st_srclimit_authed(&sh->cp->src, &s->src);
			pthread_mutex_unlock(&sh->cp->src_lock);
		}
	}
	if (st_ctl_conn_done(s->conn))
		sess_end(sh, s);
}

/* The client's key-exchange message that makes us do the expensive part. */
static int is_kex_init(const struct st_plane_msg *m)
{
	return m->type == ST_UP_PAYLOAD && m->len > 0 && m->data[0] == SSH_MSG_KEX_ECDH_INIT;
}

static void kexq_push(struct st_ctl_shard *sh, struct st_ctl_sess *s, struct st_plane_msg *m)
{
	sh->kexq.m[(sh->kexq.head + sh->kexq.count) % ST_CTL_KEXQ] = m;
	sh->kexq.count++;
	s->deferred++;
}

/* The kex pool is on and its queue is full (a hint: helpers may free room any time). */
static int kex_pool_full(const struct st_ctl_shard *sh)
{
	return sh->kexp.submit != NULL && st_kex_pool_full(&sh->cp->kexp);
}

/*
 * Runs one message of a live session. A key-exchange init is first checked
 * against its source's PerSourceKexRate account (contended: other work is
 * waiting) and charged with the time it took; `from_queue` says it comes
 * from the kex queue (it may not be deferred again behind itself).
 * Returns 0 when it was deferred (queued), 1 when it ran.
 */
static int sess_input(struct st_ctl_shard *sh, struct st_ctl_sess *s, struct st_plane_msg *m,
		      int contended, int from_queue)
{
	struct st_ctlplane *cp = sh->cp;

	if (!from_queue && s->deferred > 0) { /* behind its own deferred key exchange */
		if (sh->kexq.count == ST_CTL_KEXQ) {
			st_plane_msg_free(m);
			disconnect(sh, s->h, ST_CLOSE_RESOURCES, SSH_DISCONNECT_BY_APPLICATION, "server busy");
			return 1;
		}
		kexq_push(sh, s, m);
		return 0;
	}
	/*
	 * The kex pool's queue is full: the exchange waits in the kex queue
	 * (with its session's later messages) until there is room, so that this
	 * thread goes on with cheap work instead of computing it itself. Only
	 * when the kex queue is full too does the connection compute it here.
	 */
	if (is_kex_init(m) && !from_queue && kex_pool_full(sh) && sh->kexq.count < ST_CTL_KEXQ) {
		if (sh->kexq.count == 0)
			sh->kexq.retry_ms = mono_ms();
		kexq_push(sh, s, m);
		st_kex_pool_count(&cp->kexp, ST_KEXP_C_DEFERRED, 1);
		return 0;
	}
	if (!is_kex_init(m) || !s->src_tracked) {
		st_ctl_conn_input(s->conn, m);
		sess_after_input(sh, s);
		return 1;
	}
	uint32_t retry = 0;
	pthread_mutex_lock(&cp->src_lock);
	enum st_srclimit_kex k = st_srclimit_kex_allowed(&cp->src, &s->src, contended, mono_ms(),
							  &retry);
	pthread_mutex_unlock(&cp->src_lock);
	if (k == ST_SRCLIMIT_KEX_REFUSE) {
		st_plane_msg_free(m);
		st_ctlplane_logf(cp, LOG_NOTICE, "refusing key exchange from %s port %u: its source "
				 "used its PerSourceKexRate share", s->peer, s->peer_port);
		disconnect(sh, s->h, ST_CLOSE_REFUSED, SSH_DISCONNECT_TOO_MANY_CONNECTIONS,
			   "too many key exchanges from your network");
		return 1;
	}
	if (k == ST_SRCLIMIT_KEX_DEFER && !from_queue && sh->kexq.count < ST_CTL_KEXQ) {
		if (sh->kexq.count == 0)
			sh->kexq.retry_ms = mono_ms() + retry;
		kexq_push(sh, s, m);
		return 0;
	}
	/* With the kex pool this is only the submission: the pool's CPU time
	 * for the job is charged when it is back (pump_kex). */
	uint64_t t0 = rte_rdtsc();
	st_ctl_conn_input(s->conn, m);
	uint64_t ns = (rte_rdtsc() - t0) * 1000000000ull / rte_get_tsc_hz();
	pthread_mutex_lock(&cp->src_lock);
	st_srclimit_kex_charge(&cp->src, &s->src, ns, mono_ms());
	pthread_mutex_unlock(&cp->src_lock);
	sess_after_input(sh, s);
	return 1;
}

/* The credit of a message taken off the ring goes back to its session (sshapp.h). */
static void credit_back(struct st_ctl_shard *sh, struct st_conn_handle h, uint32_t len)
{
	if (h.worker < sh->cp->nb_workers && h.slot < sh->cp->max_sessions)
		st_sshapp_up_taken(sh->cp->app, h.worker, h.slot, len);
}

static void handle_up(struct st_ctl_shard *sh, struct st_plane_msg *m, int contended)
{
	struct st_ctl_sess *s;
	struct st_conn_handle h = m->conn;
	uint32_t len = m->len;

	if (m->type == ST_UP_OPEN) {
		if (!owns(sh, h.worker) || h.slot >= sh->cp->max_sessions) {
			st_plane_msg_free(m);
			return;
		}
		sess_open(sh, m); /* consumes m */
		credit_back(sh, h, len);
		s = &sh->sess[h.worker][h.slot];
		if (s->conn != NULL)
			sess_after_input(sh, s);
		return;
	}
	if ((s = sess_of(sh, h)) == NULL) {
		st_plane_msg_free(m);
		credit_back(sh, h, len);
		return;
	}
	/* A deferred message keeps its credit until the kex queue runs it. */
	if (sess_input(sh, s, m, contended, 0))
		credit_back(sh, h, len);
}

/*
 * The kex queue: its head runs when nothing else is pending (idle), or once
 * its retry time has come; then everything behind it of the same session
 * follows while it can. Returns the messages handled.
 */
static unsigned kexq_run(struct st_ctl_shard *sh, int other_work)
{
	unsigned done = 0;

	while (sh->kexq.count > 0) {
		if (other_work && mono_ms() < sh->kexq.retry_ms)
			break;
		struct st_plane_msg *m = sh->kexq.m[sh->kexq.head];
		/* Waits for room in the kex pool: its jobs coming back ring the bell. */
		if (is_kex_init(m) && kex_pool_full(sh))
			break;
		struct st_conn_handle h = m->conn;
		uint32_t len = m->len;
		sh->kexq.head = (sh->kexq.head + 1) % ST_CTL_KEXQ;
		sh->kexq.count--;
		done++;
		struct st_ctl_sess *s = sess_of(sh, h);
		if (s == NULL) {
			st_plane_msg_free(m);
			credit_back(sh, h, len);
			continue;
		}
		s->deferred--;
		sess_input(sh, s, m, other_work, 1);
		credit_back(sh, h, len);
		if (other_work)
			sh->kexq.retry_ms = mono_ms() + 1; /* one per ms while others wait */
	}
	return done;
}

/*
 * Whether other sources' work waits next to a key exchange: the burst holds
 * messages of live sessions from at least two net blocks (addresses here:
 * close enough, and cheap). One source alone is never held back: idle CPU
 * is nobody's loss (srclimit.h).
 */
static int burst_has_two_sources(struct st_ctl_shard *sh, void **msgs, unsigned n)
{
	const struct st_srclimit_addr *first = NULL;

	for (unsigned i = 0; i < n; i++) {
		struct st_ctl_sess *s = sess_of(sh, ((struct st_plane_msg *)msgs[i])->conn);
		if (s == NULL || !s->src_tracked)
			continue;
		if (first == NULL)
			first = &s->src;
		else if (memcmp(first, &s->src, sizeof(*first)) != 0)
			return 1;
	}
	return 0;
}

static unsigned pump_up(struct st_ctl_shard *sh)
{
	struct st_ctlplane *cp = sh->cp;
	void *msgs[UP_BURST];
	unsigned work = 0;

	for (unsigned w = sh->index; w < cp->nb_workers; w += cp->nshards) {
		work += backlog_flush(sh, w);
		unsigned n = rte_ring_sc_dequeue_burst(cp->app->up[w], msgs, UP_BURST, NULL);
		if (n == 0)
			continue;
		uint64_t t0 = rte_rdtsc();
		int contended = sh->kexq.count > 0 || burst_has_two_sources(sh, msgs, n);
		for (unsigned i = 0; i < n; i++)
			handle_up(sh, msgs[i], contended);
		sh->ctl_cycles += rte_rdtsc() - t0;
		work += n;
	}
	return work;
}

static void tick(struct st_ctl_shard *sh, uint64_t now_ms)
{
	for (struct st_ctl_sess *s = sh->live, *next; s != NULL; s = next) {
		next = s->next;
		st_ctl_conn_tick(s->conn, now_ms / 1000);
		if (st_ctl_conn_done(s->conn))
			sess_end(sh, s);
	}
	if (sh->index == 0) { /* one shard ages the shared table */
		pthread_mutex_lock(&sh->cp->src_lock);
		st_srclimit_expire(&sh->cp->src, now_ms, 256);
		pthread_mutex_unlock(&sh->cp->src_lock);
	}
}

/* ---- AuthorizedKeysCommand jobs coming back ---- */

/* The pool's done callback, on a helper thread: queue the job, wake the shard. */
static void akc_job_done(void *ctx, struct st_akc_job *job)
{
	struct st_ctl_shard *sh = ctx;
	uint64_t one = 1;

	pthread_mutex_lock(&sh->akc_mu);
	job->next = sh->akc_done;
	__atomic_store_n(&sh->akc_done, job, __ATOMIC_RELEASE); /* pump_akc peeks without the lock */
	pthread_mutex_unlock(&sh->akc_mu);
	(void)!write(sh->bell.fd, &one, sizeof(one));
}

static unsigned pump_akc(struct st_ctl_shard *sh)
{
	struct st_akc_job *list;
	unsigned n = 0;

	if (__atomic_load_n(&sh->akc_done, __ATOMIC_RELAXED) == NULL)
		return 0; /* a racy peek: a job missed now rings the bell */
	pthread_mutex_lock(&sh->akc_mu);
	list = sh->akc_done;
	__atomic_store_n(&sh->akc_done, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&sh->akc_mu);
	for (struct st_akc_job *j = list, *next; j != NULL; j = next, n++) {
		next = j->next;
		j->next = NULL;
		struct st_ctl_sess *s = sess_of(sh, j->h);
		if (s == NULL) { /* the session is gone */
			st_akc_job_free(j);
			continue;
		}
		st_ctl_conn_akc_done(s->conn, j);
		sess_after_input(sh, s);
	}
	return n;
}

/* ---- key exchanges coming back from the kex pool ---- */

/*
 * The connection's submit (st_ctl_conn_set_kexp), on this thread: the job
 * comes back here, holds a reference to the session's configuration (the
 * host key in job->neg is in it) and the source to charge.
 */
static void kex_job_done(void *ctx, struct st_kex_job *job);

static int kex_submit(void *ctx, struct st_kex_job *j)
{
	struct st_ctl_shard *sh = ctx;
	struct st_ctlplane *cp = sh->cp;
	struct st_ctl_sess *s = sess_of(sh, j->h);
	int r;

	if (s == NULL || s->conf == NULL)
		return ST_ERR_STATE;
	j->done = kex_job_done;
	j->done_ctx = sh;
	__atomic_add_fetch(&s->conf->refs, 1, __ATOMIC_RELAXED); /* the job's reference */
	j->ref = s->conf;
	j->src = s->src;
	j->charge = s->src_tracked;
	if ((r = st_kex_pool_submit(&cp->kexp, j)) != ST_OK) {
		st_confs_put(&cp->confs, s->conf);
		j->ref = NULL;
	}
	return r;
}

/* The pool's done callback, on a helper thread: queue the job, wake the shard. */
static void kex_job_done(void *ctx, struct st_kex_job *job)
{
	struct st_ctl_shard *sh = ctx;
	uint64_t one = 1;

	pthread_mutex_lock(&sh->kex_mu);
	job->next = sh->kex_done;
	__atomic_store_n(&sh->kex_done, job, __ATOMIC_RELEASE); /* pump_kex peeks without the lock */
	pthread_mutex_unlock(&sh->kex_mu);
	(void)!write(sh->bell.fd, &one, sizeof(one));
}

static unsigned pump_kex(struct st_ctl_shard *sh)
{
	struct st_ctlplane *cp = sh->cp;
	struct st_kex_job *list, *fifo = NULL;
	unsigned n = 0;

	if (__atomic_load_n(&sh->kex_done, __ATOMIC_RELAXED) == NULL)
		return 0; /* a racy peek: a job missed now rings the bell */
	pthread_mutex_lock(&sh->kex_mu);
	list = sh->kex_done;
	__atomic_store_n(&sh->kex_done, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&sh->kex_mu);
	/* The list is newest first: the oldest exchange is answered first. */
	while (list != NULL) {
		struct st_kex_job *next = list->next;
		list->next = fifo;
		fifo = list;
		list = next;
	}
	for (struct st_kex_job *j = fifo, *next; j != NULL; j = next, n++) {
		next = j->next;
		j->next = NULL;
		struct st_conf_ref *ref = j->ref;
		/* The source pays for the CPU its exchange took, even when it left meanwhile. */
		if (j->charge && j->cpu_ns > 0) {
			pthread_mutex_lock(&cp->src_lock);
			st_srclimit_kex_charge(&cp->src, &j->src, j->cpu_ns, mono_ms());
			pthread_mutex_unlock(&cp->src_lock);
		}
		struct st_ctl_sess *s = sess_of(sh, j->h);
		if (s == NULL) { /* the session is gone */
			st_kex_job_free(j);
			st_kex_pool_count(&cp->kexp, ST_KEXP_C_DISCARDED, 1);
		} else if (!st_ctl_conn_kex_done(s->conn, j)) { /* it ended, or moved on */
			st_kex_pool_count(&cp->kexp, ST_KEXP_C_DISCARDED, 1);
			sess_after_input(sh, s);
		} else {
			sess_after_input(sh, s);
		}
		st_confs_put(&cp->confs, ref); /* after the job's last use of the host key */
	}
	return n;
}

/* ---- requests from the admin thread ---- */

static void session_row(struct st_ctl_shard *sh, struct st_ctl_sess *s, struct st_ctl_req *rq)
{
	struct st_wsess_stats ws;
	const char *user = st_ctl_conn_user(s->conn);
	long age = (long)(time(NULL) - s->since);
	char algs[256];

	if (st_sshapp_session_stats(sh->cp->app, s->h, &ws) != ST_OK)
		memset(&ws, 0, sizeof(ws));
	st_ctl_conn_algorithms(s->conn, algs, sizeof(algs));
	if (rq->json && rq->rows > 0)
		st_bprintf(&rq->out, ",");
	rq->rows++;
	st_ctl_session_row(&rq->out, rq->json, s->id, user, s->peer, s->peer_port, s->h.worker,
			   age, algs, &ws);
}

static struct st_ctl_sess *find_id(struct st_ctl_shard *sh, uint64_t id)
{
	for (struct st_ctl_sess *s = sh->live; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void kill_sess(struct st_ctl_shard *sh, struct st_ctl_sess *s, struct st_ctl_req *rq)
{
	uint8_t pl[128];
	struct st_buf b;

	/* SSH_MSG_DISCONNECT, BY_APPLICATION, description, language tag */
	st_buf_wrap(&b, pl, sizeof(pl));
	st_buf_put_u8(&b, SSH_MSG_DISCONNECT);
	st_buf_put_u32(&b, SSH_DISCONNECT_BY_APPLICATION);
	st_buf_put_cstring(&b, "killed by administrator");
	st_buf_put_cstring(&b, "");
	struct st_plane_msg *m = st_plane_msg_new(ST_DOWN_CLOSE, s->h, pl, (uint32_t)b.len);
	if (m != NULL)
		m->u.closed.reason = ST_CLOSE_ADMIN;
	if (m == NULL || down_deliver(sh, m) != ST_OK) {
		st_bprintf(&rq->out, "could not reach the worker");
		rq->rc = ST_ERR_NO_SPACE;
		return;
	}
	st_ctlplane_logf(sh->cp, LOG_INFO, "Session %llu (%s port %u) killed by administrator",
			 (unsigned long long)s->id, s->peer, s->peer_port);
	st_bprintf(&rq->out, "session %llu: disconnecting\n", (unsigned long long)s->id);
}

static void rekey_sess(struct st_ctl_shard *sh, struct st_ctl_sess *s, struct st_ctl_req *rq)
{
	/* The same path as a RekeyLimit reached on the worker. */
	struct st_plane_msg *m = st_plane_msg_new(ST_UP_REKEY_DUE, s->h, NULL, 0);
	uint64_t id = s->id;

	if (m == NULL) {
		rq->rc = ST_ERR_ALLOC;
		return;
	}
	st_ctl_conn_input(s->conn, m);
	if (st_ctl_conn_done(s->conn)) {
		sess_end(sh, s);
		st_bprintf(&rq->out, "session ended");
		rq->rc = ST_ERR_STATE;
		return;
	}
	st_bprintf(&rq->out, "session %llu: key exchange started\n", (unsigned long long)id);
}

static void serve_req(struct st_ctl_shard *sh, struct st_ctl_req *rq)
{
	struct st_ctl_sess *s;

	rq->rc = ST_OK;
	switch (rq->kind) {
	case ST_CTL_REQ_LIST:
		for (s = sh->live; s != NULL; s = s->next)
			if (rq->id == 0 || s->id == rq->id) {
				rq->found = 1;
				session_row(sh, s, rq);
			}
		break;
	case ST_CTL_REQ_KILL:
	case ST_CTL_REQ_REKEY:
		if ((s = find_id(sh, rq->id)) == NULL)
			break;
		rq->found = 1;
		if (rq->kind == ST_CTL_REQ_KILL)
			kill_sess(sh, s, rq);
		else
			rekey_sess(sh, s, rq);
		break;
	}
	__atomic_store_n(&rq->done, 1, __ATOMIC_RELEASE);
}

static unsigned pump_inbox(struct st_ctl_shard *sh)
{
	void *rq[8];
	unsigned n = rte_ring_sc_dequeue_burst(sh->inbox, rq, 8, NULL);

	for (unsigned i = 0; i < n; i++)
		serve_req(sh, rq[i]);
	return n;
}

int st_ctl_shard_post(struct st_ctl_shard *sh, struct st_ctl_req *rq)
{
	uint64_t one = 1;

	if (rte_ring_mp_enqueue(sh->inbox, rq) != 0)
		return ST_ERR_NO_SPACE;
	(void)!write(sh->bell.fd, &one, sizeof(one));
	return ST_OK;
}

/* ---- published counters ---- */

static void publish(struct st_ctl_shard *sh)
{
	struct st_ctl_shard_pub *p = &sh->pub;

	st_seq_write_begin(&p->sc);
	p->stats = sh->stats;
	p->sessions = sh->nsess;
	p->authed = sh->nauthed;
	p->backlog_full = sh->backlog_full;
	p->backlogged = sh->backlogged;
	p->ctl_cycles = sh->ctl_cycles;
	p->auth_latency = sh->auth_latency;
	st_seq_write_end(&p->sc);
}

void st_ctl_shard_read_pub(const struct st_ctl_shard *sh, struct st_ctl_shard_pub *out)
{
	uint32_t sn;

	do {
		sn = st_seq_read_begin(&sh->pub.sc);
		memcpy(&out->stats, &sh->pub.stats, sizeof(out->stats));
		out->sessions = sh->pub.sessions;
		out->authed = sh->pub.authed;
		out->backlog_full = sh->pub.backlog_full;
		out->backlogged = sh->pub.backlogged;
		out->ctl_cycles = sh->pub.ctl_cycles;
		memcpy(&out->auth_latency, &sh->pub.auth_latency, sizeof(out->auth_latency));
	} while (st_seq_read_retry(&sh->pub.sc, sn));
}

/* ---- the thread ---- */

static void *shard_thread(void *arg)
{
	struct st_ctl_shard *sh = arg;

	sh->last_tick_ms = mono_ms();
	while (!__atomic_load_n(&sh->exit, __ATOMIC_ACQUIRE)) {
		unsigned work = pump_up(sh) + pump_inbox(sh) + pump_akc(sh) + pump_kex(sh);
		work += kexq_run(sh, work != 0);
		uint64_t now = mono_ms();
		if (now - sh->last_tick_ms >= TICK_MS) {
			sh->last_tick_ms = now;
			tick(sh, now);
		}
		if (work || now == sh->last_tick_ms)
			publish(sh);
		if (work)
			continue;
		/*
		 * Idle: sleep on the doorbell up to 1 ms. The flag goes up before
		 * the rings are looked at again, so a message queued in between is
		 * either seen here or rings the bell (sess_io.c up_deliver).
		 */
		__atomic_store_n(&sh->bell.sleeping, 1, __ATOMIC_SEQ_CST);
		if (pump_up(sh) + pump_inbox(sh) + pump_akc(sh) + pump_kex(sh) == 0) {
			struct pollfd pfd = {sh->bell.fd, POLLIN, 0};
			if (poll(&pfd, 1, 1) > 0) {
				uint64_t v;
				(void)!read(sh->bell.fd, &v, sizeof(v));
			}
		}
		__atomic_store_n(&sh->bell.sleeping, 0, __ATOMIC_RELAXED);
	}
	/* Shutdown: the workers have stopped taking messages. */
	for (struct st_ctl_sess *s = sh->live, *next; s != NULL; s = next) {
		next = s->next;
		sess_end(sh, s);
	}
	publish(sh);
	return NULL;
}

int st_ctl_shard_init(struct st_ctl_shard *sh, struct st_ctlplane *cp, unsigned index)
{
	char name[RTE_RING_NAMESIZE];

	memset(sh, 0, sizeof(*sh));
	sh->cp = cp;
	sh->index = index;
	st_seq_init(&sh->pub.sc);
	pthread_mutex_init(&sh->akc_mu, NULL);
	sh->akc.pool = &cp->akc;
	sh->akc.done = akc_job_done;
	sh->akc.ctx = sh;
	pthread_mutex_init(&sh->kex_mu, NULL);
	if (cp->kex_threads > 0) {
		sh->kexp.submit = kex_submit;
		sh->kexp.ctx = sh;
	}
	sh->bell.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sh->bell.fd < 0)
		return ST_ERR_SYSTEM;
	snprintf(name, sizeof(name), "st_ctl_inbox%u", index);
	sh->inbox = rte_ring_create(name, ST_CTL_INBOX, SOCKET_ID_ANY, RING_F_SC_DEQ);
	sh->kexq.m = calloc(ST_CTL_KEXQ, sizeof(*sh->kexq.m));
	if (sh->inbox == NULL || sh->kexq.m == NULL)
		return ST_ERR_ALLOC;
	for (unsigned w = index; w < cp->nb_workers; w += cp->nshards) {
		sh->sess[w] = calloc(cp->max_sessions, sizeof(*sh->sess[w]));
		sh->backlog[w].m = calloc(ST_CTL_BACKLOG, sizeof(*sh->backlog[w].m));
		if (sh->sess[w] == NULL || sh->backlog[w].m == NULL)
			return ST_ERR_ALLOC;
		/* The worker rings this shard's bell when it queues while the shard sleeps. */
		cp->app->ctl_bell[w] = &sh->bell;
	}
	return ST_OK;
}

int st_ctl_shard_start(struct st_ctl_shard *sh, int cpu)
{
	char name[16];

	snprintf(name, sizeof(name), "st-ctl-%u", sh->index);
	/* DPDK's control threads run on the CPUs that no lcore uses (its
	 * control cpuset), so a shard does not share a worker's core. */
	if (rte_ctrl_thread_create(&sh->thread, name, NULL, shard_thread, sh) != 0)
		return ST_ERR_SYSTEM;
	sh->started = 1;
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (pthread_setaffinity_np(sh->thread, sizeof(set), &set) != 0)
			return ST_ERR_SYSTEM;
	}
	return ST_OK;
}

void st_ctl_shard_stop(struct st_ctl_shard *sh)
{
	if (sh->started) {
		__atomic_store_n(&sh->exit, 1, __ATOMIC_RELEASE);
		uint64_t one = 1;
		(void)!write(sh->bell.fd, &one, sizeof(one));
		pthread_join(sh->thread, NULL);
		sh->started = 0;
	}
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++) {
		struct st_ctl_backlog *b = &sh->backlog[w];
		for (; b->m != NULL && b->count > 0; b->count--) {
			st_plane_msg_free(b->m[b->head]);
			b->head = (b->head + 1) % ST_CTL_BACKLOG;
		}
		free(b->m);
		b->m = NULL;
		free(sh->sess[w]);
		sh->sess[w] = NULL;
	}
	for (; sh->kexq.m != NULL && sh->kexq.count > 0; sh->kexq.count--) {
		st_plane_msg_free(sh->kexq.m[sh->kexq.head]);
		sh->kexq.head = (sh->kexq.head + 1) % ST_CTL_KEXQ;
	}
	free(sh->kexq.m);
	sh->kexq.m = NULL;
	/* The pool stopped first (st_ctlplane_join): no job comes back any more. */
	for (struct st_akc_job *j = sh->akc_done, *next; j != NULL; j = next) {
		next = j->next;
		st_akc_job_free(j);
	}
	sh->akc_done = NULL;
	/* The same for key exchanges: the pool has stopped; drop their configurations. */
	for (struct st_kex_job *j = sh->kex_done, *next; j != NULL; j = next) {
		next = j->next;
		st_confs_put(&sh->cp->confs, j->ref);
		st_kex_job_free(j);
		st_kex_pool_count(&sh->cp->kexp, ST_KEXP_C_DISCARDED, 1);
	}
	sh->kex_done = NULL;
	st_confs_put(&sh->cp->confs, sh->conf);
	sh->conf = NULL;
	if (sh->inbox != NULL) {
		void *rq;
		while (rte_ring_dequeue(sh->inbox, &rq) == 0)
			__atomic_store_n(&((struct st_ctl_req *)rq)->done, 1, __ATOMIC_RELEASE);
		rte_ring_free(sh->inbox);
		sh->inbox = NULL;
	}
	if (sh->bell.fd >= 0)
		close(sh->bell.fd);
	sh->bell.fd = -1;
}
