/*
 * Control plane user authentication: none, publickey query (PK_OK), good and
 * bad signatures for every key type and algorithm, hostbound, wrong
 * algorithms, unknown users, authorized_keys options, MaxAuthTries,
 * LoginGraceTime, user/service changes and the OpenSSH-style log lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/conn.h"
#include "control/userauth.h"
#include "crypto/buf.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;

/* Bed through the kex and service request. */
static void ready(struct sc_bed *b)
{
	struct sc_opts o = {.strict = 1, .ext_info = 1};
	CHECK_OK(sc_bed_init(b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(b));
	CHECK_INT(sc_service_userauth(b), SSH_MSG_SERVICE_ACCEPT);
}

static void test_none(void)
{
	struct sc_bed b;
	const uint8_t *p;
	ready(&b);
	CHECK_OK(sc_send(&b, (const uint8_t[]){SSH_MSG_USERAUTH_REQUEST, 0, 0, 0, 5, 'a', 'l', 'i',
					       'c', 'e', 0, 0, 0, 14, 's', 's', 'h', '-', 'c',
					       'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n', 0, 0,
					       0, 4, 'n', 'o', 'n', 'e'},
			 36));
	size_t n = sc_recv(&b, &p);
	static const uint8_t want[] = {SSH_MSG_USERAUTH_FAILURE, 0, 0, 0, 9, 'p', 'u', 'b', 'l',
				       'i', 'c', 'k', 'e', 'y', 0};
	CHECK_INT(n, sizeof(want));
	if (n == sizeof(want))
		CHECK_MEM(p, want, sizeof(want));
	/* "none" does not count as a failure */
	for (int i = 0; i < 10; i++)
		CHECK_INT(sc_auth_none(&b, "alice"), SSH_MSG_USERAUTH_FAILURE);
	CHECK(!b.closed);
	CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 0);
	/* but requests of any kind are capped */
	for (int i = 11; i < ST_USERAUTH_REQUESTS_MAX; i++)
		CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_QUERY),
			  SSH_MSG_USERAUTH_PK_OK);
	CHECK(!b.closed);
	CHECK_INT(sc_auth_none(&b, "alice"), SSH_MSG_DISCONNECT);
	CHECK_INT(b.stats.v[ST_CTL_DISC_AUTH_TRIES], 1);
	sc_bed_free(&b);
}

static const struct {
	int which; /* 0 ed, 1 ec, 2 rsa */
	const char *alg;
	const char *label;
} good[] = {
	{0, "ssh-ed25519", "ED25519"},
	{1, "ecdsa-sha2-nistp256", "ECDSA"},
	{2, "rsa-sha2-256", "RSA"},
	{2, "rsa-sha2-512", "RSA"},
};

static const struct st_key *ukey(int which)
{
	return which == 0 ? fx.user_ed : which == 1 ? fx.user_ec : fx.user_rsa;
}

static void test_pk_ok(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct sc_bed b;
		const uint8_t *p;
		struct st_buf pb, blob;
		const uint8_t *a, *k;
		size_t al, kl;
		ready(&b);
		CHECK_INT(sc_auth_pubkey(&b, "alice", ukey(good[i].which), good[i].alg,
					 SC_AUTH_QUERY),
			  SSH_MSG_USERAUTH_PK_OK);
		sc_bed_free(&b);

		ready(&b);
		struct st_buf o;
		CHECK_OK(st_buf_alloc(&o, 1024, 65536));
		CHECK_OK(sc_build_pubkey(&b, &o, "alice", ukey(good[i].which), good[i].alg,
					 SC_AUTH_QUERY));
		CHECK_OK(sc_sendb(&b, &o));
		st_buf_free(&o);
		size_t n = sc_recv(&b, &p);
		CHECK(n > 0 && p[0] == SSH_MSG_USERAUTH_PK_OK);
		st_buf_from(&pb, p + 1, n - 1);
		CHECK_OK(st_buf_get_string(&pb, &a, &al));
		CHECK_OK(st_buf_get_string(&pb, &k, &kl));
		CHECK_OK(st_buf_end(&pb));
		CHECK(al == strlen(good[i].alg) && memcmp(a, good[i].alg, al) == 0);
		CHECK_OK(st_buf_alloc(&blob, 256, 8192));
		CHECK_OK(st_key_to_blob(ukey(good[i].which), &blob));
		CHECK(kl == st_buf_avail(&blob) && memcmp(k, st_buf_ptr(&blob), kl) == 0);
		st_buf_free(&blob);
		/* a query does not count as a failure and does not authenticate */
		CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 0);
		CHECK(b.authed_user[0] == '\0');
		sc_bed_free(&b);
	}
}

static void test_good_signatures(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		for (int hb = 0; hb <= 1; hb++) {
			struct sc_bed b;
			char line[256];
			ready(&b);
			CHECK_INT(sc_auth_pubkey(&b, "alice", ukey(good[i].which), good[i].alg,
						 hb ? SC_AUTH_HOSTBOUND : SC_AUTH_SIGN),
				  SSH_MSG_USERAUTH_SUCCESS);
			CHECK(strcmp(b.authed_user, "alice") == 0);
			CHECK(strcmp(st_ctl_conn_user(b.ctl), "alice") == 0);
			CHECK_INT(b.stats.v[ST_CTL_AUTH_ACCEPTED], 1);
			snprintf(line, sizeof(line),
				 "Accepted publickey for alice from 192.0.2.7 port 50022 ssh2: %s "
				 "SHA256:",
				 good[i].label);
			CHECK(sc_log_has(&b, line));
			/* later USERAUTH_REQUESTs are ignored (RFC 4252 §5.1) */
			CHECK_INT(sc_auth_none(&b, "alice"), -1);
			CHECK(!b.closed);
			sc_bed_free(&b);
			CHECK(sc_log_has(&b, "Disconnected from user alice 192.0.2.7 port 50022"));
		}
	}
}

static void test_bad_and_wrong(void)
{
	static const struct {
		int which;
		const char *alg;
		enum sc_auth_mode mode;
		const char *user;
	} v[] = {
		{0, "ssh-ed25519", SC_AUTH_BADSIG, "alice"},
		{1, "ecdsa-sha2-nistp256", SC_AUTH_BADSIG, "alice"},
		{2, "rsa-sha2-512", SC_AUTH_BADSIG, "alice"},
		{2, "ssh-rsa", SC_AUTH_SIGN, "alice"},           /* SHA-1 refused */
		{2, "ssh-rsa", SC_AUTH_QUERY, "alice"},
		{0, "rsa-sha2-256", SC_AUTH_SIGN, "alice"},      /* alg/key mismatch */
		{1, "ssh-ed25519", SC_AUTH_SIGN, "alice"},
		{2, "ecdsa-sha2-nistp256", SC_AUTH_QUERY, "alice"},
		{0, "ssh-dss", SC_AUTH_SIGN, "alice"},
		{0, "ssh-ed25519", SC_AUTH_SIGN, "mallory"},     /* unknown user */
		{0, "ssh-ed25519", SC_AUTH_QUERY, "mallory"},
		{0, "ssh-ed25519", SC_AUTH_SIGN, "../alice"},    /* bad names: no lookup */
		{0, "ssh-ed25519", SC_AUTH_SIGN, "al/ice"},
		{0, "ssh-ed25519", SC_AUTH_SIGN, ""},
		{0, "ssh-ed25519", SC_AUTH_SIGN, "-alice"},
		{3, "ssh-ed25519", SC_AUTH_SIGN, "alice"},       /* key not authorized */
		{3, "ssh-ed25519", SC_AUTH_QUERY, "alice"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sc_bed b;
		const struct st_key *k = v[i].which == 3 ? fx.user_other : ukey(v[i].which);
		ready(&b);
		int t = sc_auth_pubkey(&b, v[i].user, k, v[i].alg, v[i].mode);
		if (t != SSH_MSG_USERAUTH_FAILURE)
			st_test_fail(__FILE__, __LINE__, "case %zu: got %d", i, t);
		CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 1);
		CHECK(b.authed_user[0] == '\0');
		CHECK(!b.closed);
		sc_bed_free(&b);
		if (strcmp(v[i].user, "alice") == 0)
			CHECK(sc_log_has(&b, "Connection closed by authenticating user alice "
					     "192.0.2.7 port 50022 [preauth]"));
	}
}

static void test_failed_log_line(void)
{
	struct sc_bed b;
	ready(&b);
	CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_BADSIG),
		  SSH_MSG_USERAUTH_FAILURE);
	CHECK(sc_log_has(&b, "Failed publickey for alice from 192.0.2.7 port 50022 ssh2: ED25519 "
			     "SHA256:"));
	sc_bed_free(&b);
}

static void test_hostbound_wrong_hostkey(void)
{
	struct sc_bed b;
	ready(&b);
	b.hostkey_blob[b.hostkey_blob_len - 1] ^= 1;
	CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_HOSTBOUND),
		  SSH_MSG_USERAUTH_FAILURE);
	sc_bed_free(&b);
}

static void test_max_auth_tries(void)
{
	struct sc_bed b;
	ready(&b);
	for (int i = 0; i < 5; i++)
		CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_other, "ssh-ed25519", SC_AUTH_SIGN),
			  SSH_MSG_USERAUTH_FAILURE);
	CHECK(!b.closed);
	CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_BADSIG),
		  SSH_MSG_DISCONNECT);
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE);
	CHECK_INT(b.close_reason, ST_CLOSE_AUTH_FAILED);
	CHECK_INT(b.stats.v[ST_CTL_DISC_AUTH_TRIES], 1);
	CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 6);
	CHECK(sc_log_has(&b, "Disconnecting authenticating user alice 192.0.2.7 port 50022: Too "
			     "many authentication failures [preauth]"));
	sc_bed_free(&b);

	/* other methods count too */
	ready(&b);
	static const uint8_t pw[] = {SSH_MSG_USERAUTH_REQUEST, 0, 0, 0, 1, 'a', 0, 0, 0, 14, 's',
				     's', 'h', '-', 'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o',
				     'n', 0, 0, 0, 8, 'p', 'a', 's', 's', 'w', 'o', 'r', 'd', 0,
				     0, 0, 0, 1, 'x'};
	for (int i = 0; i < 6; i++)
		CHECK_OK(sc_send(&b, pw, sizeof(pw)));
	CHECK(b.closed);
	CHECK_INT(b.stats.v[ST_CTL_DISC_AUTH_TRIES], 1);
	sc_bed_free(&b);
}

static void test_login_grace(void)
{
	struct sc_bed b;
	ready(&b);
	st_ctl_conn_tick(b.ctl, 1000 + 119);
	CHECK(!b.closed);
	st_ctl_conn_tick(b.ctl, 1000 + 120);
	sc_pump(&b);
	CHECK(b.closed);
	CHECK_INT(b.close_reason, ST_CLOSE_LOGIN_GRACE);
	CHECK_INT(b.stats.v[ST_CTL_DISC_LOGIN_GRACE], 1);
	CHECK_INT(sc_next_type(&b), SSH_MSG_DISCONNECT);
	sc_bed_free(&b);

	/* authenticated connections are not affected */
	ready(&b);
	CHECK_INT(sc_auth_pubkey(&b, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_SIGN),
		  SSH_MSG_USERAUTH_SUCCESS);
	st_ctl_conn_tick(b.ctl, 1000 + 100000);
	CHECK(!b.closed);
	sc_bed_free(&b);

	/* grace also runs before the version exchange completes */
	struct sc_opts o = {0};
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	st_ctl_conn_tick(b.ctl, 5000);
	sc_pump(&b);
	CHECK(b.closed);
	sc_bed_free(&b);
}

static void test_user_or_service_change(void)
{
	struct sc_bed b;
	ready(&b);
	CHECK_INT(sc_auth_none(&b, "alice"), SSH_MSG_USERAUTH_FAILURE);
	CHECK_INT(sc_auth_pubkey(&b, "bob", fx.user_ed, "ssh-ed25519", SC_AUTH_SIGN),
		  SSH_MSG_DISCONNECT);
	CHECK_INT(b.stats.v[ST_CTL_DISC_AUTH_CHANGE], 1);
	sc_bed_free(&b);

	ready(&b);
	static const uint8_t svc[] = {SSH_MSG_USERAUTH_REQUEST, 0, 0, 0, 1, 'a', 0, 0, 0, 3, 'f',
				      'o', 'o', 0, 0, 0, 4, 'n', 'o', 'n', 'e'};
	CHECK_OK(sc_send(&b, svc, sizeof(svc)));
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_SERVICE_NOT_AVAILABLE);
	sc_bed_free(&b);
}

static void test_service_and_order(void)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1};
	/* unknown service */
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	static const uint8_t sr[] = {SSH_MSG_SERVICE_REQUEST, 0, 0, 0, 14, 's', 's', 'h', '-',
				     'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n'};
	CHECK_OK(sc_send(&b, sr, sizeof(sr)));
	CHECK(b.closed);
	CHECK_INT(b.close_code, SSH_DISCONNECT_SERVICE_NOT_AVAILABLE);
	CHECK_INT(b.stats.v[ST_CTL_DISC_SERVICE], 1);
	sc_bed_free(&b);

	/* userauth without the service request */
	CHECK_OK(sc_bed_init(&b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(&b));
	CHECK_INT(sc_auth_none(&b, "alice"), SSH_MSG_DISCONNECT);
	CHECK_INT(b.stats.v[ST_CTL_DISC_UNEXPECTED], 1);
	sc_bed_free(&b);

	/* channel open before authentication */
	ready(&b);
	uint32_t sid;
	CHECK_INT(sc_open_session(&b, 0, &sid), SSH_MSG_DISCONNECT);
	CHECK_INT(b.stats.v[ST_CTL_DISC_UNEXPECTED], 1);
	sc_bed_free(&b);

	/* a second SERVICE_REQUEST */
	ready(&b);
	CHECK_INT(sc_service_userauth(&b), SSH_MSG_DISCONNECT);
	sc_bed_free(&b);
}

static void test_long_user_name(void)
{
	struct sc_bed b;
	char user[300];
	memset(user, 'a', sizeof(user));
	user[256] = '\0';
	ready(&b);
	CHECK_INT(sc_auth_none(&b, user), SSH_MSG_DISCONNECT);
	CHECK_INT(b.close_code, SSH_DISCONNECT_ILLEGAL_USER_NAME);
	sc_bed_free(&b);
	/* 64..255 bytes: a plain failure, no lookup */
	user[100] = '\0';
	ready(&b);
	CHECK_INT(sc_auth_pubkey(&b, user, fx.user_ed, "ssh-ed25519", SC_AUTH_SIGN),
		  SSH_MSG_USERAUTH_FAILURE);
	sc_bed_free(&b);
	CHECK(st_userauth_name_ok("alice", 5));
	CHECK(!st_userauth_name_ok("a b", 3));
	CHECK(!st_userauth_name_ok(".x", 2));
}

static void test_authkeys_options(void)
{
	static const struct {
		const char *opts;
		int ok;
	} v[] = {
		{"expiry-time=\"20000101\"", 0},
		{"expiry-time=\"99990101\"", 1},
		{"from=\"10.0.0.0/8\"", 0},
		{"from=\"192.0.2.0/24\"", 1},
		{"from=\"!192.0.2.7,*\"", 0},
		{"environment=\"A=B\"", 0}, /* unsupported option: line ignored */
		{"restrict", 1},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sc_bed b;
		CHECK_OK(sc_authkey_add(&fx, "carol", v[i].opts, fx.user_ed, 0));
		ready(&b);
		int t = sc_auth_pubkey(&b, "carol", fx.user_ed, "ssh-ed25519", SC_AUTH_SIGN);
		if (t != (v[i].ok ? SSH_MSG_USERAUTH_SUCCESS : SSH_MSG_USERAUTH_FAILURE))
			st_test_fail(__FILE__, __LINE__, "%s: got %d", v[i].opts, t);
		sc_bed_free(&b);
	}
}

/* Reads a user's authorized_keys file of the fixture into out. */
static void read_authkeys(const char *user, char *out, size_t outsz)
{
	char path[256];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s.keys", fx.dir, user);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(out, 1, outsz - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

/*
 * dev-tunnels-ssh names its RSA user key "rsa-sha2-512" both as the
 * algorithm and inside the key blob. Like OpenSSH, that blob is the RSA key:
 * an "ssh-rsa" authorized_keys line grants it, PK_OK echoes the blob as
 * sent, a good signature (over the blob as sent) is accepted and a bad one
 * refused. Other blobs under those names are still refused.
 */
static void test_rsa_sha2_blob_type(void)
{
	static const struct {
		const char *blob_type, *alg;
	} v[] = {
		{"rsa-sha2-512", "rsa-sha2-512"},
		{"rsa-sha2-256", "rsa-sha2-256"},
		{"rsa-sha2-512", "rsa-sha2-256"},
	};
	char fp[ST_KEY_FP_SIZE], line[256], keys[8192];

	/* dave's authorized_keys holds one line, of type ssh-rsa */
	CHECK_OK(sc_authkey_add(&fx, "dave", NULL, fx.user_rsa, 0));
	read_authkeys("dave", keys, sizeof(keys));
	CHECK(strncmp(keys, "ssh-rsa ", 8) == 0 && strchr(keys, '\n') == strrchr(keys, '\n'));
	CHECK_OK(st_key_fingerprint_sha256(fx.user_rsa, fp, sizeof(fp)));

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sc_bed b;
		const uint8_t *p, *a, *k;
		size_t n, al, kl;
		struct st_buf o, pb, want;

		/* the blob as it goes out: the RSA blob under the other name */
		CHECK_OK(st_buf_alloc(&want, 256, 8192));
		CHECK_OK(st_buf_put_cstring(&want, v[i].blob_type));
		{
			struct st_buf full;
			const uint8_t *nm;
			size_t nl;
			CHECK_OK(st_buf_alloc(&full, 256, 8192));
			CHECK_OK(st_key_to_blob(fx.user_rsa, &full));
			CHECK_OK(st_buf_get_string(&full, &nm, &nl));
			CHECK(nl == 7 && memcmp(nm, "ssh-rsa", 7) == 0);
			CHECK_OK(st_buf_put_bytes(&want, st_buf_ptr(&full), st_buf_avail(&full)));
			st_buf_free(&full);
		}

		/* query: PK_OK with algorithm and blob exactly as sent */
		ready(&b);
		b.o.pk_blob_type = v[i].blob_type;
		CHECK_OK(st_buf_alloc(&o, 1024, 65536));
		CHECK_OK(sc_build_pubkey(&b, &o, "dave", fx.user_rsa, v[i].alg, SC_AUTH_QUERY));
		CHECK_OK(sc_sendb(&b, &o));
		st_buf_free(&o);
		n = sc_recv(&b, &p);
		CHECK(n > 0 && p[0] == SSH_MSG_USERAUTH_PK_OK);
		if (n > 0 && p[0] == SSH_MSG_USERAUTH_PK_OK) {
			st_buf_from(&pb, p + 1, n - 1);
			CHECK_OK(st_buf_get_string(&pb, &a, &al));
			CHECK_OK(st_buf_get_string(&pb, &k, &kl));
			CHECK_OK(st_buf_end(&pb));
			CHECK(al == strlen(v[i].alg) && memcmp(a, v[i].alg, al) == 0);
			CHECK(kl == st_buf_avail(&want) && memcmp(k, st_buf_ptr(&want), kl) == 0);
		}
		CHECK(!sc_log_has(&b, "cannot decode key"));
		sc_bed_free(&b);
		st_buf_free(&want);

		/* good signature: accepted, logged as the RSA key it is */
		ready(&b);
		b.o.pk_blob_type = v[i].blob_type;
		CHECK_INT(sc_auth_pubkey(&b, "dave", fx.user_rsa, v[i].alg, SC_AUTH_SIGN),
			  SSH_MSG_USERAUTH_SUCCESS);
		CHECK(strcmp(b.authed_user, "dave") == 0);
		CHECK_INT(b.stats.v[ST_CTL_AUTH_ACCEPTED], 1);
		snprintf(line, sizeof(line),
			 "Accepted publickey for dave from 192.0.2.7 port 50022 ssh2: RSA %s", fp);
		CHECK(sc_log_has(&b, line));
		sc_bed_free(&b);

		/* hostbound too */
		ready(&b);
		b.o.pk_blob_type = v[i].blob_type;
		CHECK_INT(sc_auth_pubkey(&b, "dave", fx.user_rsa, v[i].alg, SC_AUTH_HOSTBOUND),
			  SSH_MSG_USERAUTH_SUCCESS);
		sc_bed_free(&b);

		/* bad signature: refused */
		ready(&b);
		b.o.pk_blob_type = v[i].blob_type;
		CHECK_INT(sc_auth_pubkey(&b, "dave", fx.user_rsa, v[i].alg, SC_AUTH_BADSIG),
			  SSH_MSG_USERAUTH_FAILURE);
		CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 1);
		CHECK_INT(b.stats.v[ST_CTL_AUTH_ACCEPTED], 0);
		CHECK(b.authed_user[0] == '\0');
		snprintf(line, sizeof(line),
			 "Failed publickey for dave from 192.0.2.7 port 50022 ssh2: RSA %s", fp);
		CHECK(sc_log_has(&b, line));
		sc_bed_free(&b);
	}

	/* refused: an RSA key dave has not listed, an Ed25519 key under the RSA
	 * name, the RSA key under an unknown name or with a non-RSA algorithm */
	struct st_key *other_rsa = NULL;
	CHECK_OK(st_key_generate(ST_KEY_RSA, 2048, &other_rsa));
	static const struct {
		int which; /* 0: other RSA key, 1: user_ed, 2: user_rsa */
		const char *blob_type, *alg, *log;
	} bad[] = {
		{0, "rsa-sha2-512", "rsa-sha2-512", "Failed publickey for dave"},
		{1, "rsa-sha2-512", "rsa-sha2-512", "cannot decode key for dave"},
		{2, "rsa-sha2-1024", "rsa-sha2-512", "cannot decode key for dave"},
		{2, "ssh-ed25519", "rsa-sha2-512", "cannot decode key for dave"},
		{2, "rsa-sha2-512", "ssh-ed25519", "does not match signature algorithm"},
		{2, "rsa-sha2-512", "ssh-rsa", "signature algorithm ssh-rsa not allowed"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sc_bed b;
		const struct st_key *k = bad[i].which == 0   ? other_rsa
					 : bad[i].which == 1 ? fx.user_ed
							     : fx.user_rsa;
		if (k == NULL)
			continue;
		ready(&b);
		b.o.pk_blob_type = bad[i].blob_type;
		int t = sc_auth_pubkey(&b, "dave", k, bad[i].alg, SC_AUTH_SIGN);
		if (t != SSH_MSG_USERAUTH_FAILURE)
			st_test_fail(__FILE__, __LINE__, "bad case %zu: got %d", i, t);
		CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 1);
		CHECK(b.authed_user[0] == '\0');
		if (!sc_log_has(&b, bad[i].log))
			st_test_fail(__FILE__, __LINE__, "bad case %zu: no log \"%s\"", i,
				     bad[i].log);
		sc_bed_free(&b);
	}
	st_key_free(other_rsa);
}

int main(void)
{
	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	RUN(test_none);
	RUN(test_pk_ok);
	RUN(test_good_signatures);
	RUN(test_bad_and_wrong);
	RUN(test_failed_log_line);
	RUN(test_hostbound_wrong_hostkey);
	RUN(test_max_auth_tries);
	RUN(test_login_grace);
	RUN(test_user_or_service_change);
	RUN(test_service_and_order);
	RUN(test_long_user_name);
	RUN(test_authkeys_options);
	RUN(test_rsa_sha2_blob_type);
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_auth");
}
