/*
 * Unit tests for the user certificate policy (control/usercert.c) with
 * certificates that ssh-keygen -s makes at test time: trust through
 * TrustedUserCAKeys and cert-authority lines, principals (user name,
 * principals=, AuthorizedPrincipalsFile), validity, critical options and
 * extensions, and the counter each refusal names.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/authkeys.h"
#include "control/config.h"
#include "control/usercert.h"
#include "crypto/cert.h"
#include "tests/unit/test.h"

static char dir[] = "/tmp/st_test_usercert.XXXXXX";
static int gen_ok;

static const char *P(const char *name)
{
	return st_test_path(dir, name);
}

static int sh(const char *cmd)
{
	/* Braces: the redirections apply to the whole command, not its last part. */
	return st_test_sh("cd '%s' && { %s; } </dev/null >/dev/null 2>&1", dir, cmd);
}

/* mk NAME CA OPTS: key c_NAME and its certificate. */
static int mk(const char *name, const char *ca, const char *opts)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "ssh-keygen -q -t ed25519 -N '' -f c_%s && ssh-keygen -q -s %s -I id-%s %s c_%s.pub",
		 name, ca, name, opts, name);
	return sh(cmd);
}

static struct st_cert *load(const char *name)
{
	char path[600], buf[16384];
	struct st_cert *c = NULL;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/c_%s-cert.pub", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (st_cert_parse_line(buf, n, &c) != ST_OK)
		return NULL;
	return c;
}

static int nlogs;
static char lastlog[512];
static void collect(void *ctx, const char *msg)
{
	(void)ctx;
	nlogs++;
	snprintf(lastlog, sizeof(lastlog), "%s", msg);
}

static struct st_ctl_config cfg;

/* Runs the policy for cert NAME as user from ip; returns the code, *why the counter. */
static int decide(const char *name, const char *user, const char *ip,
		  struct st_authkey_opts *o, enum st_ctl_counter *why)
{
	struct st_usercert_req q = { &cfg, user, ip, (uint64_t)time(NULL), collect, NULL };
	struct st_cert *c = load(name);
	int r;

	*why = ST_CTL_COUNTER_COUNT;
	memset(o, 0, sizeof(*o));
	if (c == NULL) {
		st_test_fail(__FILE__, __LINE__, "cannot load certificate %s", name);
		return ST_ERR_INTERNAL;
	}
	r = st_usercert_authorize(&q, c, o, why);
	st_cert_free(c);
	return r;
}

static void setup(void)
{
	if (mkdtemp(dir) == NULL)
		return;
	gen_ok = sh("ssh-keygen -q -t ed25519 -N '' -f ca && ssh-keygen -q -t ed25519 -N '' -f ca2 && "
		    "ssh-keygen -q -t ed25519 -N '' -f ca3 && cp ca.pub trusted && "
		    "printf 'cert-authority,principals=\"ops,dev\" %s\\n' \"$(cat ca2.pub)\" > ak_bob && "
		    "printf 'cert-authority,command=\"echo\" %s\\n' \"$(cat ca3.pub)\" > ak_carol") == 0;
	gen_ok = gen_ok && mk("good", "ca", "-n alice,root") == 0 &&
		 mk("none", "ca", "") == 0 && mk("host", "ca", "-h -n alice") == 0 &&
		 mk("exp", "ca", "-n alice -V 20200101:20200102") == 0 &&
		 mk("fut", "ca", "-n alice -V +1d:+2d") == 0 &&
		 mk("src", "ca", "-n alice -O source-address=198.18.0.0/15,fd00::/8") == 0 &&
		 mk("crit", "ca", "-n alice -O critical:zz=1") == 0 &&
		 mk("fc", "ca", "-n alice -O force-command=sink -O no-pty -O no-port-forwarding") == 0 &&
		 mk("ops", "ca2", "-n ops") == 0 && mk("web", "ca2", "-n web") == 0 &&
		 mk("anon", "ca2", "") == 0 && mk("fc3", "ca3", "-n carol -O force-command=sink") == 0 &&
		 mk("ok3", "ca3", "-n carol") == 0;
	st_ctl_config_init(&cfg);
	st_ctl_config_set_trusted_user_ca_keys(&cfg, P("trusted"));
	snprintf(cfg.authorized_keys_file, sizeof(cfg.authorized_keys_file), "%s/ak_%%u", dir);
}

static void test_trusted_ca(void)
{
	struct st_authkey_opts o;
	enum st_ctl_counter why;

	CHECK_OK(decide("good", "alice", "198.18.0.1", &o, &why));
	CHECK_INT(o.no_pty, 0);
	CHECK_INT(o.no_port_forwarding, 0);
	CHECK(o.command == NULL);
	st_authkey_opts_free(&o);
	CHECK_OK(decide("good", "root", "198.18.0.1", &o, &why));
	st_authkey_opts_free(&o);
	CHECK_ERR(decide("good", "bob", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_PRINCIPAL);
	CHECK_ERR(decide("none", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_PRINCIPAL);
	CHECK_ERR(decide("host", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_NOT_USER);
	CHECK_ERR(decide("exp", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_EXPIRED);
	CHECK_ERR(decide("fut", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_NOT_YET_VALID);
	CHECK_ERR(decide("crit", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_OPTION);
	CHECK(strstr(lastlog, "zz") != NULL);
}

static void test_source_and_options(void)
{
	struct st_authkey_opts o;
	enum st_ctl_counter why;

	CHECK_OK(decide("src", "alice", "198.19.1.1", &o, &why));
	st_authkey_opts_free(&o);
	CHECK_OK(decide("src", "alice", "fd00::5", &o, &why));
	st_authkey_opts_free(&o);
	CHECK_ERR(decide("src", "alice", "10.0.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_SOURCE);
	CHECK_OK(decide("fc", "alice", "198.18.0.1", &o, &why));
	CHECK(o.command != NULL && strcmp(o.command, "sink") == 0);
	CHECK_INT(o.no_pty, 1);
	CHECK_INT(o.no_port_forwarding, 1);
	st_authkey_opts_free(&o);

	static const char *l = "198.18.0.0/15,fd00::/8";
	CHECK_INT(st_usercert_source_ok("198.18.3.4", l, strlen(l)), 1);
	CHECK_INT(st_usercert_source_ok("198.20.0.1", l, strlen(l)), 0);
	CHECK_INT(st_usercert_source_ok("198.18.3.4", "198.18.0.0/33", 13), -1);
	CHECK_INT(st_usercert_source_ok("198.18.3.4", "a,", 2), -1);
	CHECK_INT(st_usercert_source_ok("198.18.3.4", "", 0), -1);
	CHECK_INT(st_usercert_source_ok("198.18.3.4", "*", 1), -1);
}

static void test_cert_authority(void)
{
	struct st_authkey_opts o;
	enum st_ctl_counter why;

	CHECK_OK(decide("ops", "bob", "198.18.0.1", &o, &why));
	CHECK(o.principals != NULL);
	st_authkey_opts_free(&o);
	CHECK_ERR(decide("web", "bob", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_PRINCIPAL);
	/* ca2 is trusted for bob only; no principals at all: principals= still needs one. */
	CHECK_ERR(decide("anon", "bob", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_PRINCIPAL);
	CHECK_ERR(decide("ops", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_CA_UNTRUSTED);
	/* carol's line forces "echo": a certificate forcing "sink" conflicts. */
	CHECK_OK(decide("ok3", "carol", "198.18.0.1", &o, &why));
	CHECK(o.command != NULL && strcmp(o.command, "echo") == 0);
	st_authkey_opts_free(&o);
	CHECK_ERR(decide("fc3", "carol", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_COMMAND);
}

static void test_principals_file(void)
{
	struct st_authkey_opts o;
	enum st_ctl_counter why;
	char pat[600];

	static const char pf[] = "# ops\n\n  web  \nno-pty,permitopen=\"198.18.0.1:80\" alice\nbad=opt root\n";
	st_test_write_file(P("pr_alice"), pf, strlen(pf));
	snprintf(pat, sizeof(pat), "%s/pr_%%u", dir);
	CHECK_OK(st_ctl_config_set_authorized_principals_file(&cfg, pat));
	CHECK_OK(decide("good", "alice", "198.18.0.1", &o, &why));
	CHECK_INT(o.no_pty, 1); /* the line's options apply */
	CHECK_INT(o.npermitopen, 1);
	st_authkey_opts_free(&o);
	/* "none" (no principals) never matches a file line. */
	CHECK_ERR(decide("none", "alice", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_PRINCIPAL);
	/* bob has no file. */
	CHECK_ERR(decide("good", "bob", "198.18.0.1", &o, &why), ST_ERR_NOT_FOUND);
	CHECK_INT(why, ST_CTL_AUTH_CERT_PRINCIPAL);
	CHECK_OK(st_ctl_config_set_authorized_principals_file(&cfg, "none"));
	CHECK_INT(cfg.authorized_principals_file[0], 0);
}

int main(void)
{
	setup();
	if (!gen_ok) {
		st_test_fail(__FILE__, __LINE__, "ssh-keygen could not make the certificates");
	} else {
		RUN(test_trusted_ca);
		RUN(test_source_and_options);
		RUN(test_cert_authority);
		RUN(test_principals_file);
	}
	st_ctl_config_free(&cfg);
	if (getenv("ST_KEEP") == NULL)
		st_test_sh("rm -rf '%s'", dir);
	return st_test_done("test_usercert");
}
