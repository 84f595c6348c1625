/*
 * Runs one AuthorizedKeysCommand child and collects its standard output,
 * synchronously: the caller (a helper thread of control/akc_pool.h, never a
 * control shard) blocks until the child is done, killed or the deadline
 * passed. No state outside the call.
 *
 * The child: fork(), its own process group, signal mask and dispositions
 * reset, stdin and stderr on /dev/null, stdout a pipe, every other
 * descriptor closed on exec, groups/gid/uid switched (when asked) with raw
 * system calls, cwd "/", environment PATH=/usr/bin:/bin only, then
 * execve(argv[0]) (no PATH search, no shell). An exec failure (or a failed
 * setuid) comes back through a close-on-exec pipe, so it is told apart from
 * an exit status.
 *
 * On timeout, oversize output or a stop request the whole process group is
 * killed (SIGKILL) and the child reaped: no zombie is left behind.
 */
#ifndef ST_CONTROL_AKC_RUN_H
#define ST_CONTROL_AKC_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* How a call ended (also the pool's failure counters, akc_pool.h). */
enum st_akc_status {
	ST_AKC_OK = 0,    /* exit status 0: output is the result */
	ST_AKC_EXIT,      /* exit status != 0 (detail: the status) */
	ST_AKC_SIGNAL,    /* killed by a signal (detail: the signal) */
	ST_AKC_TIMEOUT,   /* AuthorizedKeysCommandTimeout passed: killed */
	ST_AKC_OVERSIZE,  /* more output than the cap: killed */
	ST_AKC_EXEC,      /* could not start it (detail: errno) */
	ST_AKC_SETUID,    /* could not become AuthorizedKeysCommandUser (detail: errno) */
	ST_AKC_SYSTEM,    /* pipe/fork/poll failed in the daemon (detail: errno) */
	ST_AKC_STOPPED,   /* the daemon is shutting down: killed */
	ST_AKC_RUN_STATUS_COUNT
};

/* "exit", "signal", "timeout", ... */
const char *st_akc_status_name(enum st_akc_status s);

struct st_akc_run_opts {
	int switch_user;      /* 1: setgroups({gid}), setresgid(gid), setresuid(uid) */
	uid_t uid;
	gid_t gid;
	unsigned timeout_ms;  /* whole call, from fork to reap */
	size_t cap;           /* output bytes accepted; one more fails the call */
	const int *stop;      /* optional: non-zero (read atomically) kills the child */
};

/*
 * Runs argv (argv[0] an absolute path, argv NULL-terminated).
 * Returns the status; *out (malloc'd, NUL-terminated, free() it) and
 * *out_len are set for ST_AKC_OK only; *detail as described above (0
 * otherwise).
 */
enum st_akc_status st_akc_run(char *const argv[], const struct st_akc_run_opts *o, char **out,
			      size_t *out_len, int *detail);

#endif
