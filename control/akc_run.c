/* One AuthorizedKeysCommand child: see akc_run.h. Runs on the caller's thread only. */
#define _GNU_SOURCE
#include "control/akc_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define POLL_SLICE_MS 50 /* how soon a stop request is seen */
#define READ_CHUNK 65536

static const char *const status_names[ST_AKC_RUN_STATUS_COUNT] = {
	[ST_AKC_OK] = "ok",           [ST_AKC_EXIT] = "exit",
	[ST_AKC_SIGNAL] = "signal",   [ST_AKC_TIMEOUT] = "timeout",
	[ST_AKC_OVERSIZE] = "oversize", [ST_AKC_EXEC] = "exec",
	[ST_AKC_SETUID] = "setuid",   [ST_AKC_SYSTEM] = "system",
	[ST_AKC_STOPPED] = "stopped",
};

const char *st_akc_status_name(enum st_akc_status s)
{
	return (unsigned)s < ST_AKC_RUN_STATUS_COUNT ? status_names[s] : "unknown";
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What the child reports through the error pipe before it gives up. */
struct child_err {
	int stage; /* 1: user switch, 2: exec, 3: set-up */
	int err;
};

static void child_report(int fd, int stage)
{
	struct child_err e = {stage, errno};
	(void)!write(fd, &e, sizeof(e));
	_exit(127);
}

/* Between fork and exec: async-signal-safe calls only. */
static void child(char *const argv[], const struct st_akc_run_opts *o, int devnull, int out_w,
		  int err_w)
{
	static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	struct sigaction dfl;
	sigset_t none;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		child_report(err_w, 3);
	(void)setpgid(0, 0);
	if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(devnull, 2) < 0)
		child_report(err_w, 3);
	/* Everything else goes at exec (the error pipe too: EOF means exec worked). */
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
		long max = sysconf(_SC_OPEN_MAX);
		if (max < 0 || max > 65536)
			max = 65536;
		for (int fd = 3; fd < max; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	if (o->switch_user) {
		gid_t g = o->gid;
		/* Raw calls: this child has one thread, glibc's all-threads setxid is not wanted. */
		if (syscall(SYS_setgroups, 1, &g) != 0 ||
		    syscall(SYS_setresgid, o->gid, o->gid, o->gid) != 0 ||
		    syscall(SYS_setresuid, o->uid, o->uid, o->uid) != 0)
			child_report(err_w, 1);
	}
	if (chdir("/") != 0)
		child_report(err_w, 3);
	execve(argv[0], argv, envp);
	child_report(err_w, 2);
}

/* Kills the child's process group and reaps the child. */
static void kill_reap(pid_t pid)
{
	int st;

	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

enum st_akc_status st_akc_run(char *const argv[], const struct st_akc_run_opts *o, char **out,
			      size_t *out_len, int *detail)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, devnull = -1;
	enum st_akc_status s = ST_AKC_SYSTEM;
	uint64_t deadline = now_ms() + o->timeout_ms;
	char *buf = NULL;
	size_t len = 0, size = 0;
	pid_t pid = -1;
	int eof = 0;

	*detail = 0;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || pipe2(outp, O_CLOEXEC) != 0 ||
	    pipe2(errp, O_CLOEXEC) != 0) {
		*detail = errno;
		goto out;
	}
	if ((pid = fork()) < 0) {
		*detail = errno;
		goto out;
	}
	if (pid == 0)
		child(argv, o, devnull, outp[1], errp[1]);
	(void)setpgid(pid, pid); /* also here: no window where a kill(-pid) misses */
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
	/* Non-blocking too: another helper's child may hold a copy of the write
	 * end for the instant between its fork and its exec. */
	(void)fcntl(errp[0], F_SETFL, O_NONBLOCK);

	/* Output until EOF, the cap, the deadline or a stop request. */
	while (!eof) {
		uint64_t now = now_ms();
		if (o->stop != NULL && __atomic_load_n(o->stop, __ATOMIC_ACQUIRE)) {
			kill_reap(pid);
			s = ST_AKC_STOPPED;
			goto reaped;
		}
		if (now >= deadline) {
			kill_reap(pid);
			s = ST_AKC_TIMEOUT;
			goto reaped;
		}
		uint64_t left = deadline - now;
		struct pollfd p = {outp[0], POLLIN, 0};
		int n = poll(&p, 1, left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS);
		if (n < 0 && errno != EINTR) {
			*detail = errno;
			kill_reap(pid);
			s = ST_AKC_SYSTEM;
			goto reaped;
		}
		if (n <= 0)
			continue;
		for (;;) {
			if (size - len < READ_CHUNK) {
				size_t nsize = size ? size * 2 : READ_CHUNK * 2;
				if (nsize > o->cap + READ_CHUNK + 1)
					nsize = o->cap + READ_CHUNK + 1;
				if (nsize > size) {
					char *nb = realloc(buf, nsize);
					if (nb == NULL) {
						*detail = ENOMEM;
						kill_reap(pid);
						s = ST_AKC_SYSTEM;
						goto reaped;
					}
					buf = nb;
					size = nsize;
				}
			}
			ssize_t got = read(outp[0], buf + len, size - len - 1);
			if (got > 0) {
				len += (size_t)got;
				if (len > o->cap) {
					kill_reap(pid);
					s = ST_AKC_OVERSIZE;
					goto reaped;
				}
				continue;
			}
			if (got == 0)
				eof = 1;
			else if (errno != EAGAIN && errno != EINTR) {
				*detail = errno;
				kill_reap(pid);
				s = ST_AKC_SYSTEM;
				goto reaped;
			}
			break;
		}
	}

	/*
	 * EOF: the child closed its stdout; wait for its exit up to the
	 * deadline without reaping it (WNOWAIT), so that its pid, the id of
	 * its process group, cannot be reused before the group is killed.
	 */
	int st = 0;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			break;
		int stopping = o->stop != NULL && __atomic_load_n(o->stop, __ATOMIC_ACQUIRE);
		if (stopping || now_ms() >= deadline) {
			kill_reap(pid);
			s = stopping ? ST_AKC_STOPPED : ST_AKC_TIMEOUT;
			goto reaped;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	(void)kill(-pid, SIGKILL); /* whatever it left running in its group */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	struct child_err ce;
	ssize_t got = read(errp[0], &ce, sizeof(ce));
	if (got == (ssize_t)sizeof(ce)) {
		*detail = ce.err;
		s = ce.stage == 1 ? ST_AKC_SETUID : ST_AKC_EXEC;
	} else if (WIFSIGNALED(st)) {
		*detail = WTERMSIG(st);
		s = ST_AKC_SIGNAL;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		*detail = WEXITSTATUS(st);
		s = ST_AKC_EXIT;
	} else {
		s = ST_AKC_OK;
	}
reaped:
	pid = -1;
out:
	if (pid > 0)
		kill_reap(pid);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (devnull >= 0)
		close(devnull);
	if (s == ST_AKC_OK) {
		if (buf == NULL && (buf = malloc(1)) == NULL) {
			*detail = ENOMEM;
			return ST_AKC_SYSTEM;
		}
		buf[len] = '\0';
		*out = buf;
		*out_len = len;
		return s;
	}
	free(buf);
	return s;
}
