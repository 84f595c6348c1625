/*
 * User certificates through the control plane's userauth (control/userauth.c
 * with control/usercert.c) against the in-memory test client: query (PK_OK),
 * signed and hostbound requests with certificates that ssh-keygen -s makes at
 * test time for the fixture's keys, sshd's log line, and refusals counted by
 * reason (expired, principal, host certificate, unknown critical option,
 * garbage, SHA-1 certificate algorithm, a bad signature, a key/algorithm
 * mismatch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/client/sshc_auth.h"
#include "control/config.h"
#include "control/conn.h"
#include "crypto/buf.h"
#include "crypto/cert.h"
#include "crypto/key.h"
#include "dataplane/ssh/msg.h"
#include "tests/unit/sshclient.h"
#include "tests/unit/test.h"

static struct sc_fixture fx;
static int gen_ok;

struct blob {
	uint8_t d[16384];
	size_t n;
};
static struct blob good, expired, wrongp, hostc, crit, rsa_good;

static void ready(struct sc_bed *b)
{
	struct sc_opts o = {.strict = 1, .ext_info = 1};
	CHECK_OK(sc_bed_init(b, &fx.cfg, &o));
	CHECK_OK(sc_handshake(b));
	CHECK_INT(sc_service_userauth(b), SSH_MSG_SERVICE_ACCEPT);
}

/* Writes key's .pub as <dir>/NAME.pub, signs it with ssh-keygen OPTS, loads the blob. */
static int make_cert(const char *name, const struct st_key *key, const char *opts, struct blob *out)
{
	char line[9000], path[256], buf[20000];
	struct st_cert *c = NULL;
	FILE *f;
	size_t n;

	if (st_key_format_public_line(key, NULL, line, sizeof(line)) != ST_OK)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.pub", fx.dir, name);
	strcat(line, "\n");
	st_test_write_file(path, line, strlen(line));
	if (st_test_sh("cd %s && ssh-keygen -q -s ca %s %s.pub </dev/null >/dev/null 2>&1", fx.dir,
		       opts, name) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s-cert.pub", fx.dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (st_cert_parse_line(buf, n, &c) != ST_OK)
		return -1;
	memcpy(out->d, c->blob, c->blob_len);
	out->n = c->blob_len;
	st_cert_free(c);
	return 0;
}

/* A publickey request with cert blob under alg; returns the answer's number. */
static int auth(struct sc_bed *b, const char *user, const struct st_key *key, const char *alg,
		const struct blob *cert, enum sc_auth_mode mode)
{
	struct st_sshc_pubkey_req q;
	struct st_buf o;
	uint8_t sid[sizeof(b->sid)];
	int t = -1;

	memset(&q, 0, sizeof(q));
	memcpy(sid, b->sid, sizeof(sid));
	if (mode == SC_AUTH_BADSIG)
		sid[0] ^= 1;
	q.sid = sid;
	q.sid_len = b->sid_len;
	q.user = user;
	q.key = key;
	q.alg = alg;
	q.blob = cert->d;
	q.blob_len = cert->n;
	q.sign = mode != SC_AUTH_QUERY;
	if (mode == SC_AUTH_HOSTBOUND) {
		q.hostkey = b->hostkey_blob;
		q.hostkey_len = b->hostkey_blob_len;
	}
	if (st_buf_alloc(&o, 1024, 65536) != 0)
		return -1;
	if (st_sshc_auth_pubkey_build(&q, &o) == 0 && sc_sendb(b, &o) == 0)
		t = sc_next_type(b);
	st_buf_free(&o);
	return t;
}

#define ED_CERT "ssh-ed25519-cert-v01@openssh.com"

static void test_accept(void)
{
	struct sc_bed b;

	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &good, SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_PK_OK);
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &good, SC_AUTH_SIGN),
		  SSH_MSG_USERAUTH_SUCCESS);
	CHECK(sc_log_has(&b, "Accepted publickey for alice from "));
	CHECK(sc_log_has(&b, "ssh2: ED25519-CERT SHA256:"));
	CHECK(sc_log_has(&b, " ID id-good (serial 42) CA ED25519 SHA256:"));
	CHECK_INT(b.stats.v[ST_CTL_AUTH_ACCEPTED], 1);
	sc_bed_free(&b);

	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &good, SC_AUTH_HOSTBOUND),
		  SSH_MSG_USERAUTH_SUCCESS);
	sc_bed_free(&b);

	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_rsa, "rsa-sha2-512-cert-v01@openssh.com", &rsa_good,
		       SC_AUTH_SIGN),
		  SSH_MSG_USERAUTH_SUCCESS);
	CHECK(sc_log_has(&b, "ssh2: RSA-CERT SHA256:"));
	sc_bed_free(&b);
	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_rsa, "rsa-sha2-256-cert-v01@openssh.com", &rsa_good,
		       SC_AUTH_SIGN),
		  SSH_MSG_USERAUTH_SUCCESS);
	sc_bed_free(&b);
}

static void test_refuse(void)
{
	static const struct {
		const struct blob *cert;
		const char *alg;
		enum sc_auth_mode mode;
		enum st_ctl_counter ctr; /* ST_CTL_COUNTER_COUNT: only AUTH_FAILED */
		const char *log;
	} v[] = {
		{ &expired, ED_CERT, SC_AUTH_QUERY, ST_CTL_AUTH_CERT_EXPIRED, "has expired" },
		{ &wrongp, ED_CERT, SC_AUTH_QUERY, ST_CTL_AUTH_CERT_PRINCIPAL, "is not a principal" },
		{ &hostc, ED_CERT, SC_AUTH_QUERY, ST_CTL_AUTH_CERT_NOT_USER, "not a user certificate" },
		{ &crit, ED_CERT, SC_AUTH_QUERY, ST_CTL_AUTH_CERT_OPTION, "\"zz-option\"" },
		{ &good, ED_CERT, SC_AUTH_BADSIG, ST_CTL_COUNTER_COUNT, "Failed publickey for alice" },
		{ &good, "ssh-rsa-cert-v01@openssh.com", SC_AUTH_SIGN, ST_CTL_COUNTER_COUNT,
		  "not allowed" },
		{ &rsa_good, ED_CERT, SC_AUTH_QUERY, ST_CTL_COUNTER_COUNT, "does not match" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sc_bed b;
		ready(&b);
		int t = auth(&b, "alice", v[i].cert == &rsa_good ? fx.user_rsa : fx.user_ed, v[i].alg,
			     v[i].cert, v[i].mode);
		if (t != SSH_MSG_USERAUTH_FAILURE)
			st_test_fail(__FILE__, __LINE__, "case %zu: answer %d", i, t);
		CHECK_INT(b.stats.v[ST_CTL_AUTH_FAILED], 1);
		if (v[i].ctr != ST_CTL_COUNTER_COUNT && b.stats.v[v[i].ctr] != 1)
			st_test_fail(__FILE__, __LINE__, "case %zu: %s not counted", i,
				     st_ctl_counter_name(v[i].ctr));
		if (!sc_log_has(&b, v[i].log))
			st_test_fail(__FILE__, __LINE__, "case %zu: no log '%s'", i, v[i].log);
		sc_bed_free(&b);
	}
	/* Garbage and a flipped byte under a certificate algorithm. */
	struct blob g = good;
	g.d[g.n - 5] ^= 1;
	struct sc_bed b;
	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &g, SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_FAILURE);
	g.n = 10;
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &g, SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_FAILURE);
	CHECK_INT(b.stats.v[ST_CTL_AUTH_CERT_INVALID], 2);
	CHECK(!b.closed);
	sc_bed_free(&b);
}

/* CASignatureAlgorithms without the CA's algorithm refuses its certificates; with it, they pass. */
static void test_ca_sig_algs(void)
{
	struct sc_bed b;

	CHECK_OK(st_ctl_config_set_ca_sig_algs(&fx.cfg, "rsa-sha2-512,ecdsa-sha2-nistp256"));
	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &good, SC_AUTH_QUERY),
		  SSH_MSG_USERAUTH_FAILURE);
	CHECK_INT(b.stats.v[ST_CTL_AUTH_CERT_CA_ALG], 1);
	CHECK(sc_log_has(&b, "CA signature algorithm ssh-ed25519 not in CASignatureAlgorithms"));
	CHECK(!b.closed);
	sc_bed_free(&b);
	CHECK_OK(st_ctl_config_set_ca_sig_algs(&fx.cfg, "rsa-sha2-512,ssh-ed25519"));
	ready(&b);
	CHECK_INT(auth(&b, "alice", fx.user_ed, ED_CERT, &good, SC_AUTH_SIGN),
		  SSH_MSG_USERAUTH_SUCCESS);
	sc_bed_free(&b);
	/* Certificate names are not signature algorithms. */
	CHECK(st_ctl_config_set_ca_sig_algs(&fx.cfg, ED_CERT) != ST_OK);
	CHECK_OK(st_ctl_config_set_ca_sig_algs(&fx.cfg, ST_CTL_DEFAULT_CA_SIG_ALGS));
}

int main(void)
{
	char path[256];

	if (sc_fixture_init(&fx) != ST_OK) {
		fprintf(stderr, "fixture setup failed\n");
		return 1;
	}
	gen_ok = st_test_sh("cd %s && ssh-keygen -q -t ed25519 -N '' -f ca >/dev/null", fx.dir) == 0 &&
		 make_cert("good", fx.user_ed, "-I id-good -z 42 -n alice", &good) == 0 &&
		 make_cert("exp", fx.user_ed, "-I id-exp -n alice -V 20200101:20200102", &expired) == 0 &&
		 make_cert("wrongp", fx.user_ed, "-I id-w -n bob", &wrongp) == 0 &&
		 make_cert("host", fx.user_ed, "-I id-h -h -n alice", &hostc) == 0 &&
		 make_cert("crit", fx.user_ed, "-I id-c -n alice -O critical:zz-option=1", &crit) == 0 &&
		 make_cert("rsa", fx.user_rsa, "-I id-r -n alice", &rsa_good) == 0;
	snprintf(path, sizeof(path), "%s/ca.pub", fx.dir);
	if (!gen_ok || st_ctl_config_set_trusted_user_ca_keys(&fx.cfg, path) != ST_OK) {
		st_test_fail(__FILE__, __LINE__, "ssh-keygen could not make the certificates");
	} else {
		RUN(test_accept);
		RUN(test_refuse);
		RUN(test_ca_sig_algs);
	}
	sc_fixture_free(&fx);
	return st_test_done("test_ctl_usercert");
}
