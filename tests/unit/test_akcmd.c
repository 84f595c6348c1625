/*
 * Unit tests for AuthorizedKeysCommand: command line splitting and tokens
 * (control/akcmd.c), the child runner with real children (/bin/sh,
 * /bin/sleep: exit, signal, timeout, output cap, exec failure, user switch,
 * descriptors, reaping; control/akc_run.c), the result cache
 * (control/akc_cache.c) and the helper pool (control/akc_pool.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control/akc_cache.h"
#include "control/akc_pool.h"
#include "control/akc_run.h"
#include "control/akcmd.h"
#include "tests/unit/test.h"

static const struct st_akc_tokens toks = {"alice", "1001", "/home/alice", "SHA256:abc+/",
					  "AAAAC3Nz", "ssh-ed25519"};

/* Expands cmd; returns the code and the args joined by '|' in out. */
static int exp_join(const char *cmd, char *out, size_t outsz)
{
	struct st_akc_argv a;
	char why[ST_AKC_WHY_SIZE];
	int r = st_akc_expand(cmd, &toks, &a, why, sizeof(why));

	out[0] = '\0';
	if (r != ST_OK) {
		snprintf(out, outsz, "ERR:%s", why);
		return r;
	}
	size_t o = 0;
	for (size_t i = 0; i < a.argc; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "|" : "", a.argv[i]);
	CHECK(a.argv[a.argc] == NULL);
	/* line holds the args back to back with their NULs */
	size_t len = 0;
	for (size_t i = 0; i < a.argc; i++)
		len += strlen(a.argv[i]) + 1;
	CHECK(len == a.line_len);
	st_akc_argv_free(&a);
	return r;
}

static void test_split(void)
{
	char o[512];

	CHECK_INT(exp_join("/bin/echo a  b\tc", o, sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/bin/echo|a|b|c") == 0);
	CHECK_INT(exp_join("  /bin/sh -c 'echo \"x y\"; exit 1'  ", o, sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/bin/sh|-c|echo \"x y\"; exit 1") == 0);
	CHECK_INT(exp_join("/bin/x \"a b\"'c d'e", o, sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/bin/x|a bc de") == 0);
	CHECK_INT(exp_join("/bin/x a\\ b \\'q \"in\\\"side\" 'it\\'s' \"back\\\\slash\" \"\\n\"", o,
			   sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/bin/x|a b|'q|in\"side|it's|back\\slash|\\n") == 0);
	CHECK_INT(exp_join("/bin/x '' \"\"", o, sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/bin/x||") == 0);
	/* errors */
	CHECK_INT(exp_join("/bin/x 'open", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK(strstr(o, "unterminated") != NULL);
	CHECK_INT(exp_join("/bin/x \"open", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK_INT(exp_join("/bin/x trail\\", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK_INT(exp_join("", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK_INT(exp_join("   \t ", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK_INT(exp_join("bin/echo x", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK(strstr(o, "absolute") != NULL);
	CHECK_INT(exp_join("'' x", o, sizeof(o)), ST_ERR_FORMAT);
	/* argument cap */
	char many[4096] = "/bin/x";
	for (int i = 1; i < ST_AKC_ARGS_MAX; i++)
		strcat(many, " a");
	CHECK_INT(exp_join(many, o, sizeof(o)), ST_OK);
	strcat(many, " a");
	CHECK_INT(exp_join(many, o, sizeof(o)), ST_ERR_STRING_TOO_LARGE);
	CHECK(st_akc_expand(NULL, &toks, NULL, NULL, 0) == ST_ERR_INVALID_ARGUMENT);
}

static void test_tokens(void)
{
	char o[512];

	CHECK_INT(exp_join("/usr/bin/lookup %u %U %h %f %k %t %% 100%%", o, sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/usr/bin/lookup|alice|1001|/home/alice|SHA256:abc+/|AAAAC3Nz|"
			"ssh-ed25519|%|100%") == 0);
	CHECK_INT(exp_join("/x/%u/bin -u=%u,%t", o, sizeof(o)), ST_OK);
	CHECK(strcmp(o, "/x/alice/bin|-u=alice,ssh-ed25519") == 0);
	/* a token's value is one argument even with blanks in it */
	struct st_akc_tokens sp = toks;
	sp.home = "/home/a b";
	struct st_akc_argv a;
	CHECK_INT(st_akc_expand("/bin/ls %h", &sp, &a, NULL, 0), ST_OK);
	CHECK(a.argc == 2 && strcmp(a.argv[1], "/home/a b") == 0);
	char shown[16];
	st_akc_argv_show(&a, shown, sizeof(shown));
	CHECK(strcmp(shown, "/bin/ls /home/a") == 0); /* cut to the buffer */
	st_akc_argv_free(&a);
	st_akc_argv_free(&a); /* zeroed: fine twice */
	/* unknown, trailing, missing */
	CHECK_INT(exp_join("/bin/x %C", o, sizeof(o)), ST_ERR_FORMAT);
	CHECK(strstr(o, "%C") != NULL);
	CHECK_INT(exp_join("/bin/x 5%", o, sizeof(o)), ST_ERR_FORMAT);
	sp.fp = NULL;
	CHECK_INT(st_akc_expand("/bin/x %f", &sp, &a, NULL, 0), ST_ERR_FORMAT);
	/* a token cannot make argv[0] relative: checked after expansion */
	sp = toks;
	sp.user = "rel";
	CHECK_INT(st_akc_expand("%u/x", &sp, &a, NULL, 0), ST_ERR_FORMAT);
	/* expanded size cap */
	char *big = malloc(ST_AKC_LINE_MAX);
	CHECK(big != NULL);
	memset(big, 'k', ST_AKC_LINE_MAX - 1);
	big[ST_AKC_LINE_MAX - 1] = '\0';
	sp.key_b64 = big;
	CHECK_INT(st_akc_expand("/bin/x %k", &sp, &a, NULL, 0), ST_ERR_STRING_TOO_LARGE);
	free(big);
	/* config-time check */
	char why[ST_AKC_WHY_SIZE];
	CHECK_INT(st_akc_check("/usr/local/bin/keys %u %f", why, sizeof(why)), ST_OK);
	CHECK_INT(st_akc_check("keys %u", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK_INT(st_akc_check("/bin/keys %Z", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK(strstr(why, "unknown token %Z") != NULL);
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static uint64_t ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static enum st_akc_status run_sh(const char *script, unsigned timeout_ms, size_t cap, char **out,
				 size_t *len, int *detail)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	struct st_akc_run_opts o = {0, 0, 0, timeout_ms, cap, NULL};

	*out = NULL;
	return st_akc_run(argv, &o, out, len, detail);
}

/* No child of ours is left, running or zombie. */
static int no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static void test_run(void)
{
	char *out;
	size_t len;
	int detail;
	unsigned fds = open_fds();

	CHECK_INT(run_sh("echo ssh-ed25519 AAAA x; echo second", 5000, 1024, &out, &len, &detail),
		  ST_AKC_OK);
	CHECK(out != NULL && len == 26 && strcmp(out, "ssh-ed25519 AAAA x\nsecond\n") == 0);
	free(out);
	/* empty output is a success with "" */
	CHECK_INT(run_sh("exit 0", 5000, 1024, &out, &len, &detail), ST_AKC_OK);
	CHECK(out != NULL && len == 0 && out[0] == '\0');
	free(out);
	/* exit status, signal */
	CHECK_INT(run_sh("echo partial; exit 3", 5000, 1024, &out, &len, &detail), ST_AKC_EXIT);
	CHECK_INT(detail, 3);
	CHECK_INT(run_sh("kill -TERM $$", 5000, 1024, &out, &len, &detail), ST_AKC_SIGNAL);
	CHECK_INT(detail, 15);
	/* the environment is PATH only; stdin is /dev/null; cwd is / */
	CHECK_INT(run_sh("env | sort | tr '\\n' ' '; read x && echo READ; pwd", 5000, 1024, &out,
			 &len, &detail), ST_AKC_OK);
	CHECK(out != NULL && strcmp(out, "PATH=/usr/bin:/bin PWD=/ /\n") == 0);
	free(out);
	/* only 0, 1, 2 reach the child, even from a descriptor opened without O_CLOEXEC */
	int leak = open("/dev/null", O_RDONLY);
	CHECK(leak > 2);
	char script[256];
	snprintf(script, sizeof(script),
		 "n=0; for f in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 %d; do "
		 "[ -e /proc/$$/fd/$f ] && n=$((n+1)); done; echo $n", leak);
	CHECK_INT(run_sh(script, 5000, 1024, &out, &len, &detail), ST_AKC_OK);
	CHECK(out != NULL && strcmp(out, "3\n") == 0);
	free(out);
	close(leak);
	/* exec failures, told apart from exit statuses */
	char *nx[] = {"/nonexistent/akc", NULL};
	struct st_akc_run_opts o = {0, 0, 0, 5000, 1024, NULL};
	CHECK_INT(st_akc_run(nx, &o, &out, &len, &detail), ST_AKC_EXEC);
	CHECK_INT(detail, ENOENT);
	char *dir[] = {"/tmp", NULL};
	CHECK_INT(st_akc_run(dir, &o, &out, &len, &detail), ST_AKC_EXEC);
	CHECK_INT(detail, EACCES);
	CHECK(no_children());
	CHECK_INT(open_fds(), fds);
}

static void test_timeout_and_cap(void)
{
	char *out;
	size_t len;
	int detail;
	unsigned fds = open_fds();

	/* a real /bin/sleep child, killed at the deadline */
	char *sl[] = {"/bin/sleep", "30", NULL};
	struct st_akc_run_opts o = {0, 0, 0, 300, 1024, NULL};
	uint64_t t0 = ms();
	CHECK_INT(st_akc_run(sl, &o, &out, &len, &detail), ST_AKC_TIMEOUT);
	uint64_t dt = ms() - t0;
	CHECK(dt >= 300 && dt < 5000);
	/* the shell's own children are in its group: killed with it, no EOF wait */
	t0 = ms();
	CHECK_INT(run_sh("sleep 30; echo late", 300, 1024, &out, &len, &detail), ST_AKC_TIMEOUT);
	CHECK(ms() - t0 < 5000);
	/* stdout closed but the child keeps running: still the deadline */
	t0 = ms();
	CHECK_INT(run_sh("exec >/dev/null; sleep 30", 300, 1024, &out, &len, &detail),
		  ST_AKC_TIMEOUT);
	CHECK(ms() - t0 < 5000);
	/* output cap: exactly the cap passes, one byte more fails */
	CHECK_INT(run_sh("head -c 4096 /dev/zero", 5000, 4096, &out, &len, &detail), ST_AKC_OK);
	CHECK(len == 4096);
	free(out);
	CHECK_INT(run_sh("head -c 4097 /dev/zero", 5000, 4096, &out, &len, &detail),
		  ST_AKC_OVERSIZE);
	/* an endless writer is stopped at the cap, long before its deadline */
	t0 = ms();
	CHECK_INT(run_sh("yes ssh-ed25519 AAAA", 20000, ST_AKC_OUTPUT_MAX, &out, &len, &detail),
		  ST_AKC_OVERSIZE);
	CHECK(ms() - t0 < 5000);
	/* a stop request kills a running child */
	int stop = 1;
	o.stop = &stop;
	o.timeout_ms = 20000;
	t0 = ms();
	CHECK_INT(st_akc_run(sl, &o, &out, &len, &detail), ST_AKC_STOPPED);
	CHECK(ms() - t0 < 5000);
	CHECK(no_children());
	CHECK_INT(open_fds(), fds);
}

static void test_switch_user(void)
{
	struct passwd *pw = getpwnam("nobody");
	char *out;
	size_t len;
	int detail;
	char *id[] = {"/usr/bin/id", "-u", NULL};

	if (geteuid() != 0 || pw == NULL) {
		printf("test_switch_user: skipped (needs root and user nobody)\n");
		return;
	}
	struct st_akc_run_opts o = {1, pw->pw_uid, pw->pw_gid, 5000, 1024, NULL};
	CHECK_INT(st_akc_run(id, &o, &out, &len, &detail), ST_AKC_OK);
	char want[32];
	snprintf(want, sizeof(want), "%u\n", (unsigned)pw->pw_uid);
	CHECK(out != NULL && strcmp(out, want) == 0);
	free(out);
	char *groups[] = {"/usr/bin/id", "-G", NULL};
	CHECK_INT(st_akc_run(groups, &o, &out, &len, &detail), ST_AKC_OK);
	snprintf(want, sizeof(want), "%u\n", (unsigned)pw->pw_gid);
	CHECK(out != NULL && strcmp(out, want) == 0); /* root's groups are gone */
	free(out);
}

static void test_cache(void)
{
	struct st_akc_cache c;
	char *out;
	size_t len;

	st_akc_cache_init(&c);
	CHECK_INT(st_akc_cache_get(&c, "k\0a", 3, 1000, &out, &len), 0);
	CHECK_INT(st_akc_cache_put(&c, "k\0a", 3, "line\n", 5, 10, 1000), ST_OK);
	CHECK_INT(st_akc_cache_get(&c, "k\0a", 3, 1000, &out, &len), 1);
	CHECK(len == 5 && strcmp(out, "line\n") == 0);
	free(out);
	/* keys differ by the argument boundary */
	CHECK_INT(st_akc_cache_get(&c, "ka\0", 3, 1000, &out, &len), 0);
	/* expiry: 10 s */
	CHECK_INT(st_akc_cache_get(&c, "k\0a", 3, 10999, &out, &len), 1);
	free(out);
	CHECK_INT(st_akc_cache_get(&c, "k\0a", 3, 11000, &out, &len), 0);
	CHECK_INT(st_akc_cache_count(&c), 0);
	/* replace */
	CHECK_INT(st_akc_cache_put(&c, "k", 1, "a", 1, 10, 0), ST_OK);
	CHECK_INT(st_akc_cache_put(&c, "k", 1, "bb", 2, 10, 0), ST_OK);
	CHECK_INT(st_akc_cache_count(&c), 1);
	CHECK_INT(st_akc_cache_get(&c, "k", 1, 0, &out, &len), 1);
	CHECK(len == 2 && strcmp(out, "bb") == 0);
	free(out);
	/* bounded count: the soonest to expire goes */
	for (unsigned i = 0; i < ST_AKC_CACHE_ENTRIES + 10; i++) {
		char key[32];
		snprintf(key, sizeof(key), "key%u", i);
		CHECK_INT(st_akc_cache_put(&c, key, strlen(key), "x", 1, 100 + i, 0), ST_OK);
	}
	CHECK_INT(st_akc_cache_count(&c), ST_AKC_CACHE_ENTRIES);
	CHECK_INT(st_akc_cache_get(&c, "k", 1, 0, &out, &len), 0);     /* ttl 10: first out */
	CHECK_INT(st_akc_cache_get(&c, "key0", 4, 0, &out, &len), 0);  /* next soonest */
	CHECK_INT(st_akc_cache_get(&c, "key265", 6, 0, &out, &len), 1);
	free(out);
	/* bounded bytes */
	size_t big = ST_AKC_CACHE_BYTES / 4;
	char *blob = calloc(1, big + 1);
	CHECK(blob != NULL);
	CHECK_INT(st_akc_cache_put(&c, "b", 1, blob, big, 10, 0), ST_ERR_NO_SPACE);
	for (unsigned i = 0; i < 6; i++) {
		char key[8];
		snprintf(key, sizeof(key), "b%u", i);
		CHECK_INT(st_akc_cache_put(&c, key, strlen(key), blob, big - 8, 1000 + i, 0), ST_OK);
	}
	CHECK(c.bytes <= ST_AKC_CACHE_BYTES);
	CHECK_INT(st_akc_cache_get(&c, "b5", 2, 0, &out, &len), 1);
	CHECK(len == big - 8);
	free(out);
	free(blob);
	CHECK_INT(st_akc_cache_put(&c, "z", 1, "x", 1, 0, 0), ST_ERR_INVALID_ARGUMENT);
	st_akc_cache_fini(&c);
}

/* ---- the pool ---- */

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static struct st_akc_job *done_jobs[64];
static unsigned ndone;

static void on_done(void *ctx, struct st_akc_job *j)
{
	(void)ctx;
	pthread_mutex_lock(&done_mu);
	if (ndone < 64)
		done_jobs[ndone++] = j;
	else
		st_akc_job_free(j);
	pthread_mutex_unlock(&done_mu);
}

static unsigned wait_done(unsigned n, unsigned timeout_ms)
{
	uint64_t end = ms() + timeout_ms;
	unsigned got;

	for (;;) {
		pthread_mutex_lock(&done_mu);
		got = ndone;
		pthread_mutex_unlock(&done_mu);
		if (got >= n || ms() >= end)
			return got;
		usleep(10000);
	}
}

static void reset_done(void)
{
	for (unsigned i = 0; i < ndone; i++)
		st_akc_job_free(done_jobs[i]);
	ndone = 0;
}

static struct st_akc_job *job(const char *cmd, uint32_t timeout_s, uint32_t cache_s, uint64_t id)
{
	struct passwd *pw = getpwuid(geteuid());
	struct st_akc_job *j = st_akc_job_new("AAAAC3NzaC1");

	CHECK(j != NULL && pw != NULL);
	snprintf(j->command, sizeof(j->command), "%s", cmd);
	snprintf(j->runas, sizeof(j->runas), "%s", pw->pw_name);
	snprintf(j->user, sizeof(j->user), "%s", pw->pw_name);
	snprintf(j->fp, sizeof(j->fp), "SHA256:fp");
	snprintf(j->key_type, sizeof(j->key_type), "ssh-ed25519");
	j->timeout_s = timeout_s;
	j->cache_s = cache_s;
	j->done = on_done;
	j->id = id;
	return j;
}

static struct st_akc_job *by_id(uint64_t id)
{
	for (unsigned i = 0; i < ndone; i++)
		if (done_jobs[i]->id == id)
			return done_jobs[i];
	return NULL;
}

static void test_pool(void)
{
	struct st_akc_pool p;
	uint64_t v[ST_AKC_COUNTER_COUNT];
	struct passwd *pw = getpwuid(geteuid());
	unsigned fds = open_fds();

	CHECK(pw != NULL);
	st_akc_pool_init(&p);
	struct st_akc_job *early = job("/bin/echo x", 5, 0, 99);
	CHECK_INT(st_akc_pool_submit(&p, early), ST_ERR_STATE); /* not started */
	st_akc_job_free(early);
	CHECK_INT(st_akc_pool_start(&p, 2, NULL), ST_OK);

	/* tokens reach the child; a hanging command does not hold the other helper */
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sleep 30", 3, 0, 1)), ST_OK);
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/echo %u %U %h %t %f %k", 5, 0, 2)), ST_OK);
	CHECK_INT(wait_done(1, 2800), 1); /* before the sleeper's 3 s are up */
	pthread_mutex_lock(&done_mu);
	struct st_akc_job *j = by_id(2);
	CHECK(j != NULL && st_akc_job_ok(j));
	char want[512];
	snprintf(want, sizeof(want), "%s %u %s ssh-ed25519 SHA256:fp AAAAC3NzaC1\n", pw->pw_name,
		 (unsigned)pw->pw_uid, pw->pw_dir);
	CHECK(j != NULL && j->out != NULL && strcmp(j->out, want) == 0);
	CHECK(j != NULL && strncmp(j->shown, "/bin/echo ", 10) == 0);
	pthread_mutex_unlock(&done_mu);
	CHECK_INT(wait_done(2, 8000), 2);
	j = by_id(1);
	CHECK(j != NULL && !st_akc_job_ok(j) && j->run == ST_AKC_TIMEOUT);
	CHECK(j != NULL && strstr(j->why, "timed out") != NULL);
	reset_done();

	/* failures by reason */
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/false", 5, 0, 3)), ST_OK);
	CHECK_INT(st_akc_pool_submit(&p, job("/nonexistent/x", 5, 0, 4)), ST_OK);
	struct st_akc_job *nouser = job("/bin/echo", 5, 0, 5);
	snprintf(nouser->user, sizeof(nouser->user), "no-such-user-akc");
	CHECK_INT(st_akc_pool_submit(&p, nouser), ST_OK);
	struct st_akc_job *norunas = job("/bin/echo", 5, 0, 6);
	snprintf(norunas->runas, sizeof(norunas->runas), "no-such-user-akc");
	CHECK_INT(st_akc_pool_submit(&p, norunas), ST_OK);
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/echo %C", 5, 0, 7)), ST_OK);
	CHECK_INT(wait_done(5, 5000), 5);
	CHECK(by_id(3) != NULL && by_id(3)->run == ST_AKC_EXIT && by_id(3)->detail == 1);
	/* /nonexistent fails the ownership check before any fork */
	CHECK(by_id(4) != NULL && by_id(4)->status == ST_AKC_JOB_UNSAFE);
	CHECK(by_id(5) != NULL && by_id(5)->status == ST_AKC_JOB_NOUSER);
	CHECK(by_id(5) != NULL && strstr(by_id(5)->why, "no such user") != NULL);
	CHECK(by_id(6) != NULL && by_id(6)->status == ST_AKC_JOB_NOUSER);
	CHECK(by_id(7) != NULL && by_id(7)->status == ST_AKC_JOB_EXPAND);
	reset_done();

	/* a group/world-writable program is refused */
	char prog[] = "/tmp/st-akc-prog-XXXXXX";
	int fd = mkstemp(prog);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, "#!/bin/sh\necho ok\n", 18) == 18);
		close(fd);
		chmod(prog, 0777);
		CHECK_INT(st_akc_pool_submit(&p, job(prog, 5, 0, 8)), ST_OK);
		CHECK_INT(wait_done(1, 5000), 1);
		CHECK(by_id(8) != NULL && by_id(8)->status == ST_AKC_JOB_UNSAFE);
		CHECK(by_id(8) != NULL && strstr(by_id(8)->why, "writable") != NULL);
		reset_done();
		chmod(prog, 0755);
		CHECK_INT(st_akc_pool_submit(&p, job(prog, 5, 0, 9)), ST_OK);
		CHECK_INT(wait_done(1, 5000), 1);
		CHECK(by_id(9) != NULL && st_akc_job_ok(by_id(9)) &&
		      strcmp(by_id(9)->out, "ok\n") == 0);
		reset_done();
		unlink(prog);
	}

	/* cache: the second call with the same expanded line does not run */
	st_akc_pool_counters(&p, v);
	uint64_t runs0 = v[ST_AKC_C_RUNS];
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sh -c 'echo $$'", 5, 60, 10)), ST_OK);
	CHECK_INT(wait_done(1, 5000), 1);
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sh -c 'echo $$'", 5, 60, 11)), ST_OK);
	CHECK_INT(wait_done(2, 5000), 2);
	CHECK(by_id(10) != NULL && by_id(11) != NULL && st_akc_job_ok(by_id(11)));
	CHECK(by_id(11) != NULL && by_id(11)->cached && !by_id(10)->cached);
	CHECK(by_id(10) != NULL && by_id(11) != NULL && by_id(10)->out != NULL &&
	      by_id(11)->out != NULL && strcmp(by_id(10)->out, by_id(11)->out) == 0);
	/* another expanded line is another entry; no cache time: always runs */
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sh -c 'echo $$' x", 5, 60, 12)), ST_OK);
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sh -c 'echo $$'", 5, 0, 13)), ST_OK);
	CHECK_INT(wait_done(4, 5000), 4);
	CHECK(by_id(12) != NULL && !by_id(12)->cached && by_id(13) != NULL && !by_id(13)->cached);
	reset_done();
	st_akc_pool_counters(&p, v);
	CHECK_INT(v[ST_AKC_C_RUNS] - runs0, 3);
	CHECK_INT(v[ST_AKC_C_CACHE_HIT], 1);
	CHECK_INT(v[ST_AKC_C_CACHE_MISS], 2);
	CHECK_INT(v[ST_AKC_C_FAIL_TIMEOUT], 1);
	CHECK_INT(v[ST_AKC_C_FAIL_EXIT], 1);
	CHECK_INT(v[ST_AKC_C_FAIL_NOUSER], 2);
	CHECK_INT(v[ST_AKC_C_FAIL_EXPAND], 1);
	CHECK_INT(v[ST_AKC_C_FAIL_UNSAFE], 2);
	CHECK_INT(v[ST_AKC_C_FAIL_STOPPED], 1);

	/* the same command line run as another user is another cache entry */
	if (geteuid() == 0 && getpwnam("nobody") != NULL) {
		struct st_akc_job *other = job("/bin/sh -c 'echo $$'", 5, 60, 14);
		snprintf(other->runas, sizeof(other->runas), "nobody");
		CHECK_INT(st_akc_pool_submit(&p, other), ST_OK);
		CHECK_INT(wait_done(1, 5000), 1);
		CHECK(by_id(14) != NULL && st_akc_job_ok(by_id(14)) && !by_id(14)->cached);
		reset_done();
	}

	/* stop: running children killed and reaped, waiting jobs completed */
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sleep 30", 30, 0, 20)), ST_OK);
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sleep 30", 30, 0, 21)), ST_OK);
	CHECK_INT(st_akc_pool_submit(&p, job("/bin/sleep 30", 30, 0, 22)), ST_OK);
	usleep(200000);
	uint64_t t0 = ms();
	st_akc_pool_stop(&p);
	CHECK(ms() - t0 < 5000);
	CHECK_INT(wait_done(3, 100), 3);
	for (uint64_t id = 20; id <= 22; id++)
		CHECK(by_id(id) != NULL && by_id(id)->run == ST_AKC_STOPPED);
	reset_done();
	CHECK(no_children());
	struct st_akc_job *late = job("/bin/echo", 5, 0, 23);
	CHECK_INT(st_akc_pool_submit(&p, late), ST_ERR_STATE);
	st_akc_job_free(late);
	st_akc_pool_stop(&p);
	CHECK_INT(open_fds(), fds);
	CHECK(strcmp(st_akc_counter_name(ST_AKC_C_CACHE_HIT), "CACHE_HIT") == 0);
	CHECK(strcmp(st_akc_counter_name(ST_AKC_COUNTER_COUNT), "unknown") == 0);
}

static void test_pool_busy(void)
{
	struct st_akc_pool p;
	uint64_t v[ST_AKC_COUNTER_COUNT];
	unsigned ok = 0, busy = 0;

	st_akc_pool_init(&p);
	CHECK_INT(st_akc_pool_start(&p, 1, NULL), ST_OK);
	for (unsigned i = 0; i < ST_AKC_QUEUE_MAX + 3; i++) {
		struct st_akc_job *j = job("/bin/sleep 30", 30, 0, 100 + i);
		int r = st_akc_pool_submit(&p, j);
		if (r == ST_OK)
			ok++;
		else {
			CHECK_INT(r, ST_ERR_NO_SPACE);
			st_akc_job_free(j);
			busy++;
		}
	}
	CHECK(ok >= ST_AKC_QUEUE_MAX && ok <= ST_AKC_QUEUE_MAX + 1 && busy >= 2);
	st_akc_pool_counters(&p, v);
	CHECK_INT(v[ST_AKC_C_FAIL_BUSY], busy);
	st_akc_pool_stop(&p);
	pthread_mutex_lock(&done_mu);
	unsigned got = ndone;
	pthread_mutex_unlock(&done_mu);
	CHECK(got == 64); /* on_done keeps 64 and frees the rest */
	reset_done();
	CHECK(no_children());
}

int main(void)
{
	RUN(test_split);
	RUN(test_tokens);
	RUN(test_run);
	RUN(test_timeout_and_cap);
	RUN(test_switch_user);
	RUN(test_cache);
	RUN(test_pool);
	RUN(test_pool_busy);
	return st_test_done("test_akcmd");
}
