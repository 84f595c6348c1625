/*
 * AuthorizedKeysCommand in the control connection (control/conn_akc.c)
 * against the in-memory client, with the real helper pool running real
 * commands: no answer while the command runs, PK_OK / SUCCESS / FAILURE once
 * its job is handed back (options of the output line kept), messages sent meanwhile held and answered in
 * order, failures denied and logged, requests counted once, a connection
 * ended by LoginGraceTime or held input while it waits, stale jobs dropped,
 * no pool at all.
 */
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/akc_pool.h"
#include "control/config.h"
#include "control/conn.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;
static struct st_ctl_config cfg; /* fx.cfg plus the command (shares fx's host keys) */
static struct st_akc_pool pool;
static char me[64];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct st_akc_job *back[16];
static unsigned nback;

static void on_done(void *ctx, struct st_akc_job *j)
{
	(void)ctx;
	pthread_mutex_lock(&mu);
	if (nback < 16)
		back[nback++] = j;
	else
		st_akc_job_free(j);
	pthread_mutex_unlock(&mu);
}

/* The next finished job (5 s at most), or NULL. */
static struct st_akc_job *next_job(void)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&mu);
		if (nback > 0) {
			struct st_akc_job *j = back[0];
			memmove(back, back + 1, --nback * sizeof(back[0]));
			pthread_mutex_unlock(&mu);
			return j;
		}
		pthread_mutex_unlock(&mu);
		usleep(10000);
	}
	return NULL;
}

static const struct st_ctl_akc client = {&pool, on_done, NULL};

static void ready(struct sc_bed *b, const struct st_ctl_akc *a)
{
	struct sc_opts o = {.strict = 1, .ext_info = 1};
	CHECK_OK(sc_bed_init(b, &cfg, &o));
	st_ctl_conn_set_akc(b->ctl, a);
	CHECK_OK(sc_handshake(b));
	CHECK_INT(sc_service_userauth(b), SSH_MSG_SERVICE_ACCEPT);
}

static int send_pubkey(struct sc_bed *b, const struct st_key *k, enum sc_auth_mode mode)
{
	struct st_buf o;
	int r;

	if (st_buf_alloc(&o, 1024, 65536) != 0)
		return -1;
	r = sc_build_pubkey(b, &o, me, k, "ssh-ed25519", mode);
	if (r == 0)
		r = sc_sendb(b, &o);
	st_buf_free(&o);
	return r;
}

/* Hands the next job back to the connection; 0 when none came. */
static int job_back(struct sc_bed *b)
{
	struct st_akc_job *j = next_job();
	if (j == NULL)
		return 0;
	st_ctl_conn_akc_done(b->ctl, j);
	sc_pump(b);
	return 1;
}

static void set_command(const char *fmt, const char *arg)
{
	snprintf(cfg.akc_command, sizeof(cfg.akc_command), fmt, arg);
}

static void test_login(void)
{
	struct sc_bed b;
	struct st_ctl_conn_end e;

	set_command("/bin/cat %s/akc.out", fx.dir);
	ready(&b, &client);
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_QUERY));
	CHECK_INT(sc_next_type(&b), -1); /* nothing while the command runs */
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_PK_OK);
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_SIGN));
	CHECK_INT(sc_next_type(&b), -1);
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_SUCCESS);
	CHECK(strcmp(b.authed_user, me) == 0);
	CHECK(sc_log_has(&b, "Accepted publickey for"));
	st_ctl_conn_end_info(b.ctl, &e);
	CHECK_INT(e.requests, 2); /* the replays are not counted again */
	sc_bed_free(&b);

	/* a key the output does not list: one failure */
	ready(&b, &client);
	CHECK_OK(send_pubkey(&b, fx.user_other, SC_AUTH_QUERY));
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_FAILURE);
	CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 1);
	sc_bed_free(&b);
}

static void test_held_in_order(void)
{
	struct sc_bed b;
	static const uint8_t ign[] = {SSH_MSG_IGNORE, 0, 0, 0, 0};

	set_command("/bin/cat %s/akc.out", fx.dir);
	ready(&b, &client);
	/* query, then (without waiting) an IGNORE and a "none": held behind the query */
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_QUERY));
	CHECK_OK(sc_send(&b, ign, sizeof(ign)));
	struct st_buf o;
	CHECK_OK(st_buf_alloc(&o, 256, 4096));
	CHECK_OK(st_buf_put_u8(&o, SSH_MSG_USERAUTH_REQUEST));
	CHECK_OK(st_buf_put_cstring(&o, me));
	CHECK_OK(st_buf_put_cstring(&o, "ssh-connection"));
	CHECK_OK(st_buf_put_cstring(&o, "none"));
	CHECK_OK(sc_sendb(&b, &o));
	st_buf_free(&o);
	/* and a second key, which needs a second job */
	CHECK_OK(send_pubkey(&b, fx.user_other, SC_AUTH_QUERY));
	CHECK_INT(sc_next_type(&b), -1);
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_PK_OK);
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_FAILURE); /* "none" */
	CHECK_INT(sc_next_type(&b), -1);                       /* user_other: its job runs */
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_FAILURE);
	CHECK(!b.closed);
	sc_bed_free(&b);
}

static void test_failures(void)
{
	struct sc_bed b;

	set_command("/bin/sh -c %s", "'echo partial; exit 4'");
	ready(&b, &client);
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_QUERY));
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_USERAUTH_FAILURE);
	CHECK(sc_log_has(&b, "AuthorizedKeysCommand /bin/sh -c echo partial; exit 4 failed for"));
	CHECK(sc_log_has(&b, "exited with status 4"));
	sc_bed_free(&b);

	/* no pool: denied at once, logged */
	ready(&b, NULL);
	CHECK_INT(sc_auth_pubkey(&b, me, fx.user_ed, "ssh-ed25519", SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_FAILURE);
	CHECK(sc_log_has(&b, "no helper threads"));
	sc_bed_free(&b);

	/* no command: the file alone decides (alice has one) */
	cfg.akc_command[0] = '\0';
	ready(&b, &client);
	CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_PK_OK);
	sc_bed_free(&b);
	ready(&b, &client);
	CHECK_INT(sc_auth_pubkey(&b, me, fx.user_ed, "ssh-ed25519", SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_FAILURE);
	CHECK(!sc_log_has(&b, "AuthorizedKeysCommand"));
	sc_bed_free(&b);
}

static void test_ended_while_waiting(void)
{
	struct sc_bed b;
	static const uint8_t ign[] = {SSH_MSG_IGNORE, 0, 0, 0, 0};

	/* LoginGraceTime ends it; the late job is dropped */
	set_command("/bin/cat %s/akc.out", fx.dir);
	ready(&b, &client);
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_QUERY));
	st_ctl_conn_tick(b.ctl, 1000 + 100000);
	sc_pump(&b);
	CHECK(b.closed);
	CHECK_INT(b.close_reason, ST_CLOSE_LOGIN_GRACE);
	CHECK(job_back(&b));
	CHECK_INT(sc_next_type(&b), SSH_MSG_DISCONNECT);
	CHECK_INT(sc_next_type(&b), -1);
	sc_bed_free(&b);

	/* a job that is not the one it waits for is dropped; too much held input ends it */
	ready(&b, &client);
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_QUERY));
	struct st_akc_job *stale = st_akc_job_new("x");
	CHECK(stale != NULL);
	stale->id = 12345;
	st_ctl_conn_akc_done(b.ctl, stale);
	sc_pump(&b);
	CHECK_INT(sc_next_type(&b), -1);
	for (int i = 0; i < 40 && !b.closed; i++)
		CHECK_OK(sc_send(&b, ign, sizeof(ign)));
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_RESOURCES], 1);
	CHECK(job_back(&b)); /* the real job comes back to a closing connection */
	sc_bed_free(&b);

	/* the session goes away while its job runs: freed with its held input */
	ready(&b, &client);
	CHECK_OK(send_pubkey(&b, fx.user_ed, SC_AUTH_QUERY));
	CHECK_OK(sc_send(&b, ign, sizeof(ign)));
	sc_bed_free(&b);
	struct st_akc_job *j = next_job();
	CHECK(j != NULL);
	st_akc_job_free(j);
}

int main(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char line[1024], path[128];

	if (pw == NULL || sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	cfg = fx.cfg;
	snprintf(cfg.akc_user, sizeof(cfg.akc_user), "%s", me);
	cfg.akc_timeout = 5;
	/* what the command prints: a comment, then user_ed with options */
	CHECK_OK(st_key_format_public_line(fx.user_ed, "akc", line, sizeof(line)));
	snprintf(path, sizeof(path), "%s/akc.out", fx.dir);
	FILE *f = fopen(path, "w");
	if (f == NULL || fprintf(f, "# from the command\nrestrict %s\n", line) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	st_akc_pool_init(&pool);
	if (st_akc_pool_start(&pool, 2, NULL) != ST_OK) {
		fprintf(stderr, "pool start failed\n");
		return 1;
	}
	RUN(test_login);
	RUN(test_held_in_order);
	RUN(test_failures);
	RUN(test_ended_while_waiting);
	st_akc_pool_stop(&pool);
	pthread_mutex_lock(&mu);
	for (unsigned i = 0; i < nback; i++)
		st_akc_job_free(back[i]);
	nback = 0;
	pthread_mutex_unlock(&mu);
	unlink(path);
	memset(&cfg, 0, sizeof(cfg)); /* its host keys are fx's */
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_akc");
}
