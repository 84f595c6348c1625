/*
 * The control plane's composition and its admin thread: shards started on
 * the control CPUs, the control socket, signals through a signalfd, reloads,
 * and the polite shutdown. See ctlplane.h for who owns what.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "control/ctlplane.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "control/ctlsock.h"
#include "control/metrics.h"
#include "control/metrics_http.h"
#include "control/sdnotify.h"
#include "crypto/err.h"

#define SHUTDOWN_GRACE_MS 3000

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void st_ctlplane_log(void *ctx, int level, const char *line)
{
	const struct st_ctlplane *cp = ctx;
	struct st_log l = {ST_LOGLEVEL_INFO, 0, LOG_AUTH};

	if (cp != NULL) {
		l = cp->log;
		l.max_prio = __atomic_load_n(&cp->log.max_prio, __ATOMIC_RELAXED);
	}
	st_log_line(&l, level, line);
}

void st_ctlplane_logf(struct st_ctlplane *cp, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st_ctlplane_log(cp, level, line);
}

unsigned st_ctlplane_sessions(struct st_ctlplane *cp, unsigned *authed)
{
	unsigned n = 0, a = 0;

	for (unsigned k = 0; k < cp->nshards; k++) {
		struct st_ctl_shard_pub p;
		st_ctl_shard_read_pub(&cp->shards[k], &p);
		n += p.sessions;
		a += p.authed;
	}
	if (authed != NULL)
		*authed = a;
	return n;
}

void st_ctlplane_stats(struct st_ctlplane *cp, struct st_ctl_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < cp->nshards; k++) {
		struct st_ctl_shard_pub p;
		st_ctl_shard_read_pub(&cp->shards[k], &p);
		for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
			out->v[c] += p.stats.v[c];
	}
}

int st_ctlplane_reload(struct st_ctlplane *cp, char *err, size_t errsz)
{
	struct st_conf_ref *n = st_conf_ref_new();
	int r;

	if (n == NULL) {
		snprintf(err, errsz, "out of memory");
		return ST_ERR_ALLOC;
	}
	if ((r = st_daemon_conf_load(&n->conf, cp->conf_path, err, errsz)) != ST_OK ||
	    (r = st_daemon_conf_load_hostkeys(&n->conf, err, errsz)) != ST_OK) {
		st_daemon_conf_free(&n->conf);
		free(n);
		return r;
	}
	unsigned keys = n->conf.ctl.n_hostkeys;
	if (!cp->log_forced)
		__atomic_store_n(&cp->log.max_prio, n->conf.log_level, __ATOMIC_RELAXED);
	st_confs_replace(&cp->confs, n); /* n may be gone once a shard moved on: use keys */
	st_ctlplane_logf(cp, LOG_INFO, "Received reload: %u host key(s) loaded from %s", keys,
			 cp->conf_path);
	return ST_OK;
}

int st_ctlplane_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return ST_ERR_SYSTEM;
	signal(SIGPIPE, SIG_IGN);
	return ST_OK;
}

void st_ctlplane_quit(struct st_ctlplane *cp)
{
	__atomic_store_n(&cp->quit, 1, __ATOMIC_RELEASE);
}

/* The signalfd is readable: SIGHUP reloads, SIGINT and SIGTERM shut down. */
static void on_signal(void *ctx)
{
	struct st_ctlplane *cp = ctx;
	struct signalfd_siginfo si;

	while (read(cp->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char err[ST_CONF_ERR_MAX];
			st_sdnotify("RELOADING=1");
			if (st_ctlplane_reload(cp, err, sizeof(err)) != ST_OK)
				st_ctlplane_logf(cp, LOG_ERR, "reload failed, old configuration kept: %s",
						 err);
			st_sdnotify("READY=1");
		} else {
			st_ctlplane_quit(cp);
		}
	}
}

/*
 * Every session closed on the control side, every worker slot free, and TCP
 * done delivering the DISCONNECT and FIN (the slot is freed when the bytes are
 * handed to TCP, before they are sent).
 */
static int all_closed(struct st_ctlplane *cp)
{
	unsigned n = st_ctlplane_sessions(cp, NULL);

	for (unsigned w = 0; w < cp->nb_workers; w++) {
		struct st_sshapp_stats as;
		struct st_wsess_worker_stats ws;
		st_sshapp_worker_stats(cp->app, w, &as, &ws);
		n += as.sessions_active + as.tcp_orphans;
	}
	return n == 0;
}

static void *admin_thread(void *arg)
{
	struct st_ctlplane *cp = arg;
	/* systemd's watchdog: pet it at half the interval it asked for, from the
	 * thread that also answers operators (a stuck admin thread stops it). */
	uint64_t wd_ms = st_sdnotify_watchdog_usec() / 2000, wd_next = mono_ms();

	while (!__atomic_load_n(&cp->quit, __ATOMIC_ACQUIRE)) {
		st_ctlsock_poll(cp->sock, 100);
		if (wd_ms > 0 && mono_ms() >= wd_next) {
			st_sdnotify("WATCHDOG=1");
			wd_next = mono_ms() + wd_ms;
		}
	}

	/* Shutdown: the workers disconnect every session politely, then stop. */
	st_sdnotify("STOPPING=1");
	st_ctlplane_logf(cp, LOG_INFO, "Received signal; terminating.");
	__atomic_store_n(&cp->app->stopping, 1, __ATOMIC_RELEASE);
	uint64_t deadline = mono_ms() + SHUTDOWN_GRACE_MS;
	struct timespec pause = {0, 1000000};
	while (!all_closed(cp) && mono_ms() < deadline)
		nanosleep(&pause, NULL);
	*cp->dp_quit = 1;
	return NULL;
}

static int render_metrics(void *ctx, struct st_buf *out)
{
	return st_metrics_render(ctx, out);
}

/* MetricsListen: the HTTP server joins the admin thread's poll loop. */
static int metrics_open(struct st_ctlplane *cp, const struct st_daemon_conf *c, char *err,
			size_t errsz)
{
	int r;

	if (c->metrics_port == 0)
		return ST_OK;
	r = st_metrics_http_open(c->metrics_addr, c->metrics_port, render_metrics, cp, &cp->metrics);
	if (r == ST_OK)
		r = st_ctlsock_add_event_fd(cp->sock, st_metrics_http_fd(cp->metrics),
					    st_metrics_http_run, cp->metrics);
	if (r != ST_OK) {
		snprintf(err, errsz, "MetricsListen %s%s%s:%u: %s",
			 strchr(c->metrics_addr, ':') ? "[" : "", c->metrics_addr,
			 strchr(c->metrics_addr, ':') ? "]" : "", c->metrics_port,
			 r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return r;
	}
	st_ctlplane_logf(cp, LOG_INFO, "Prometheus metrics on http://%s%s%s:%u/metrics",
			 strchr(c->metrics_addr, ':') ? "[" : "", c->metrics_addr,
			 strchr(c->metrics_addr, ':') ? "]" : "", st_metrics_http_port(cp->metrics));
	return ST_OK;
}

int st_ctlplane_init(struct st_ctlplane *cp, char *err, size_t errsz)
{
	const struct st_daemon_conf *c = &cp->first_conf->conf;
	sigset_t set;
	int r;

	cp->started = time(NULL);
	cp->sig_fd = -1;
	st_confs_init(&cp->confs, cp->first_conf);
	cp->first_conf = NULL;
	c = &cp->confs.current->conf;
	pthread_mutex_init(&cp->src_lock, NULL);
	st_akc_pool_init(&cp->akc);
	st_kex_pool_init(&cp->kexp);
	if ((r = st_srclimit_init(&cp->src, &c->srclimit)) != ST_OK) {
		snprintf(err, errsz, "per-source limits: %s", st_err_str(r));
		return r;
	}
	cp->nshards = c->control_threads ? c->control_threads : 1;
	if (cp->nshards > cp->nb_workers)
		cp->nshards = cp->nb_workers; /* a shard owns at least one worker */
	/*
	 * auto: as many kex threads as shards, so that the key-exchange CPU the
	 * shards had stays available, and at least 2, so that one long job (an
	 * RSA-4096 signature, a group18 modexp) does not hold the others.
	 */
	cp->kex_threads = c->kex_threads;
	if (cp->kex_threads == ST_CONF_KEX_THREADS_AUTO)
		cp->kex_threads = cp->nshards > 2 ? cp->nshards : 2;
	if (cp->kex_threads > ST_KEX_THREADS_MAX)
		cp->kex_threads = ST_KEX_THREADS_MAX;
	cp->shards = calloc(cp->nshards, sizeof(*cp->shards));
	if (cp->shards == NULL) {
		snprintf(err, errsz, "out of memory");
		return ST_ERR_ALLOC;
	}
	for (unsigned k = 0; k < cp->nshards; k++)
		if ((r = st_ctl_shard_init(&cp->shards[k], cp, k)) != ST_OK) {
			snprintf(err, errsz, "control thread %u: %s", k, st_err_str(r));
			return r;
		}
	if ((r = st_ctlsock_open(c->control_socket, &cp->sock)) != ST_OK) {
		snprintf(err, errsz, "%s: %s", c->control_socket,
			 r == ST_ERR_STATE ? "another sshterm is listening there"
			 : r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return r;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if ((cp->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		snprintf(err, errsz, "signalfd: %s", strerror(errno));
		return ST_ERR_SYSTEM;
	}
	st_ctlsock_add_event_fd(cp->sock, cp->sig_fd, on_signal, cp);
	st_ctl_admin_register(cp);
	return metrics_open(cp, c, err, errsz);
}

/* AuthorizedKeysCommand and kex helpers run (and fork) on DPDK's control CPUs like the shards. */
static int spawn_ctrl_thread(pthread_t *th, const char *name, void *(*fn)(void *), void *arg)
{
	return rte_ctrl_thread_create(th, name, NULL, fn, arg);
}

int st_ctlplane_start(struct st_ctlplane *cp, char *err, size_t errsz)
{
	const struct st_daemon_conf *c = &cp->confs.current->conf;

	if (st_akc_pool_start(&cp->akc, ST_AKC_THREADS, spawn_ctrl_thread) != ST_OK) {
		snprintf(err, errsz, "AuthorizedKeysCommand helper threads: %s", strerror(errno));
		return ST_ERR_SYSTEM;
	}
	if (cp->kex_threads > 0 &&
	    st_kex_pool_start(&cp->kexp, cp->kex_threads, 0, spawn_ctrl_thread) != ST_OK) {
		snprintf(err, errsz, "kex helper threads: %s", strerror(errno));
		return ST_ERR_SYSTEM;
	}
	for (unsigned k = 0; k < cp->nshards; k++) {
		int cpu = c->n_control_cpus ? (int)c->control_cpus[k % c->n_control_cpus] : -1;
		if (st_ctl_shard_start(&cp->shards[k], cpu) != ST_OK) {
			char where[32] = "";
			if (cpu >= 0)
				snprintf(where, sizeof(where), " on CPU %d", cpu);
			snprintf(err, errsz, "control thread %u%s: %s", k, where, strerror(errno));
			return ST_ERR_SYSTEM;
		}
	}
	if (pthread_create(&cp->admin, NULL, admin_thread, cp) != 0) {
		snprintf(err, errsz, "admin thread: %s", strerror(errno));
		return ST_ERR_SYSTEM;
	}
	cp->admin_started = 1;
	/* Names for top(1) and for benchmarks that read their CPU time from /proc. */
	(void)pthread_setname_np(cp->admin, "st-admin");
	return ST_OK;
}

void st_ctlplane_join(struct st_ctlplane *cp)
{
	if (cp->admin_started)
		pthread_join(cp->admin, NULL);
	cp->admin_started = 0;
	/* Children killed and reaped, waiting jobs answered, before the shards go. */
	st_akc_pool_stop(&cp->akc);
	/* Key exchanges running finish, waiting ones come back as stopped (the shards
	 * still run and take them, or st_ctl_shard_stop drops them). */
	st_kex_pool_stop(&cp->kexp);
	/* The workers have stopped: no shard has anything left to move. */
	for (unsigned k = 0; cp->shards != NULL && k < cp->nshards; k++)
		st_ctl_shard_stop(&cp->shards[k]);
	free(cp->shards);
	cp->shards = NULL;
	st_ctlsock_close(cp->sock);
	cp->sock = NULL;
	st_metrics_http_close(cp->metrics);
	cp->metrics = NULL;
	if (cp->sig_fd >= 0)
		close(cp->sig_fd);
	cp->sig_fd = -1;
	st_confs_fini(&cp->confs);
	st_srclimit_free(&cp->src);
	pthread_mutex_destroy(&cp->src_lock);
}
