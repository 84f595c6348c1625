/*
 * sshterm: the SSH terminator daemon.
 *
 *   sshterm [DPDK EAL args] -- [-f sshterm.conf] [-d] [-e] [-t] [-G] [-m SESSIONS]
 *
 *   -f FILE      configuration (default /etc/sshterm/sshterm.conf)
 *   -d           debug logging (LogLevel DEBUG) to stderr
 *   -e           log to stderr instead of syslog (as sshd -e)
 *   -T           print the effective configuration (as sshd -T), then exit
 *   -C SPEC      with -T: connection parameters user=,addr=,host=,laddr=,lport=
 *   -t           test mode: check the configuration and host keys, then exit
 *   -G           generate the HostKey files that do not exist yet (type from the
 *                file name: "rsa" -> RSA 3072, "ecdsa" -> ECDSA P-256, else
 *                Ed25519), then go on; existing keys are never touched
 *   -m SESSIONS  session slots per worker (default 1024, at most MAX_SESSIONS).
 *                Each slot preallocates its session, a backend connection and
 *                two TCP connections (client and backend) in DPDK memory, about
 *                12 KiB; pages are touched as slots are used, but EAL's -m must
 *                hold them all (e.g. 100,000 slots: -m 4096 with --no-huge)
 *
 * Tests only: SSHTERM_TEST_FAULT_RX / SSHTERM_TEST_FAULT_TX in the environment
 * turn on the fault injector on received / transmitted frames, e.g.
 * "drop=20,dup=10,reorder=10,seed=7" (per mille; dataplane/fault.h): this
 * kernel has no netem, so tests inject loss here. A bad spec stops start-up;
 * an active one is announced on stderr. Unset, nothing is installed.
 *
 * The EAL arguments pick the port (e.g. --vdev=net_tap0,iface=sshterm0 with
 * --no-huge) and the worker lcores (-l). Port 0 is used. Each worker lcore
 * runs the userspace TCP and the SSH worker side (dataplane/ssh/sshapp.c);
 * the control plane runs on its own thread (control/ctlplane.c).
 * SIGINT/SIGTERM: disconnect sessions politely and exit. SIGHUP: reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <syslog.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include "control/conffile.h"
#include "control/ctlplane.h"
#include "control/conf_dump.h"
#include "control/log.h"
#include "control/sdnotify.h"
#include "control/telemetry.h"
#include "crypto/backend.h"
#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/keyfile.h"
#include "crypto/mlkem_evp.h"
#include "crypto/provider.h"
#include "dataplane/crypto/cryptodev.h"
#include "dataplane/dp.h"
#include "dataplane/ssh/service.h"
#include "dataplane/ssh/sshapp.h"
#include "dataplane/tcp/tcp_cc.h"

#define DEFAULT_CONF "/etc/sshterm/sshterm.conf"
#define RING_SIZE 4096
/* Slots per worker. Slot indexes and generations are 32 bits (planes.h), TCP
 * handles name at most 2^24 - 1 connections per worker and each session may
 * hold two (client and backend), so 2^23 would be the hard limit; 2^20 keeps
 * the preallocated tables (about 12 GiB at this size) within reach of a
 * machine while leaving ten times the 100,000-session goal. */
#define MAX_SESSIONS (1ul << 20)

static struct st_ctlplane cp;
static volatile int dp_quit;
/* The workers' copy of our identification line: `reload` replaces and frees
 * configurations, so workers must not point into one. */
static char version_line[ST_CTL_VERSION_MAX];

static int ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return ST_ERR_FORMAT;
	*out = ntohl(a.s_addr);
	return ST_OK;
}

/* Adds one listener; ST_ERR_NO_SPACE past ST_SSHAPP_MAX_LISTEN. */
static int listen_add(struct st_sshapp *app, const struct dp_ip *a, uint16_t port)
{
	for (unsigned i = 0; i < app->n_listen; i++)
		if (dp_ip_eq(&app->listen_addr[i], a) && app->listen_ports[i] == port)
			return ST_OK; /* "ListenAddress ::" and the address itself */
	if (app->n_listen == ST_SSHAPP_MAX_LISTEN) {
		fprintf(stderr, "sshterm: more than %u listening address:port pairs\n",
			ST_SSHAPP_MAX_LISTEN);
		return ST_ERR_NO_SPACE;
	}
	app->listen_addr[app->n_listen] = *a;
	app->listen_ports[app->n_listen++] = port;
	return ST_OK;
}

/*
 * The listeners: each ListenAddress (its port, or every Port), which must be
 * an address of the port or its family's unspecified address; none given,
 * every Port on each address the port has (dual stack with both families).
 */
static int listeners(const struct st_daemon_conf *conf, const struct dp_cfg *cfg,
		     struct st_sshapp *app)
{
	struct dp_ip v4 = dp_ip_v4(cfg->ip), any6;

	memset(&any6, 0, sizeof(any6));
	app->listen_port = conf->ports[0];
	for (unsigned i = 0; i < conf->n_listen; i++) {
		struct dp_ip a;
		int v6;

		if (dp_ip_parse(conf->listen[i].addr, &a) != 0) {
			fprintf(stderr, "sshterm: ListenAddress %s: not an address\n",
				conf->listen[i].addr);
			return ST_ERR_FORMAT;
		}
		v6 = !dp_ip_is_v4(&a);
		if (dp_ip_is_any(&a))
			a = v6 ? any6 : dp_ip_v4(0);
		if (v6 ? dp_ip_is_any(&cfg->ip6) : cfg->ip == 0) {
			fprintf(stderr, "sshterm: ListenAddress %s: the port has no %s Address\n",
				conf->listen[i].addr, v6 ? "IPv6" : "IPv4");
			return ST_ERR_FORMAT;
		}
		if (!dp_ip_is_any(&a) && !dp_ip_eq(&a, v6 ? &cfg->ip6 : &v4)) {
			fprintf(stderr, "sshterm: ListenAddress %s: not the port's Address\n",
				conf->listen[i].addr);
			return ST_ERR_FORMAT;
		}
		if (i == 0 && conf->listen[i].port != 0)
			app->listen_port = conf->listen[i].port;
		for (unsigned k = 0; k < conf->n_ports; k++) {
			uint16_t p = conf->listen[i].port ? conf->listen[i].port : conf->ports[k];

			if (listen_add(app, &a, p) != ST_OK)
				return ST_ERR_NO_SPACE;
			if (conf->listen[i].port)
				break;
		}
	}
	if (conf->n_listen == 0)
		for (unsigned k = 0; k < conf->n_ports; k++) {
			struct dp_ip a0 = dp_ip_v4(0);

			if (cfg->ip != 0 && listen_add(app, &a0, conf->ports[k]) != ST_OK)
				return ST_ERR_NO_SPACE;
			if (!dp_ip_is_any(&cfg->ip6) && listen_add(app, &any6, conf->ports[k]) != ST_OK)
				return ST_ERR_NO_SPACE;
		}
	return ST_OK;
}

/* -G: creates each configured HostKey that does not exist yet. */
static int generate_missing_hostkeys(const struct st_daemon_conf *conf)
{
	for (unsigned i = 0; i < conf->n_hostkey_paths; i++) {
		const char *path = conf->hostkey_paths[i];
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		enum st_key_type type = ST_KEY_ED25519;
		int bits = 0, r;
		struct st_key *k = NULL;
		char fp[ST_KEY_FP_SIZE];

		if (access(path, F_OK) == 0)
			continue;
		if (strstr(base, "ecdsa") != NULL)
			type = ST_KEY_ECDSA_P256, bits = 256;
		else if (strstr(base, "rsa") != NULL)
			type = ST_KEY_RSA, bits = 3072;
		if ((r = st_key_generate(type, bits, &k)) != ST_OK ||
		    (r = st_keyfile_write_private(k, path, "sshterm host key")) != ST_OK) {
			fprintf(stderr, "sshterm: -G: %s: %s\n", path,
				r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
			st_key_free(k);
			return r;
		}
		st_key_fingerprint_sha256(k, fp, sizeof(fp));
		fprintf(stderr, "sshterm: generated host key %s (%s %s)\n", path,
			st_key_type_label(k), fp);
		st_key_free(k);
	}
	return ST_OK;
}

/* A test-only fault spec from the environment (dataplane/fault.h); says so when it is bad. */
static int fault_env(const char *var, struct dp_fault_cfg *out)
{
	int r = dp_fault_getenv(var, out);

	if (r != ST_OK)
		fprintf(stderr, "sshterm: %s=\"%s\": bad fault spec (test only; e.g. "
				"drop=20,dup=10,reorder=10,corrupt=5,seed=7)\n",
			var, getenv(var));
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: sshterm [EAL args] -- [-f sshterm.conf] [-d] [-e] [-t] [-T [-C SPEC]] "
			"[-G] [-m SESSIONS]\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = DEFAULT_CONF;
	struct dp_fault_cfg fault_rx, fault_tx;
	int debug = 0, log_stderr = 0, test_only = 0, dump = 0, gen_keys = 0, opt, r;
	const char *conn_spec = NULL;
	unsigned long max_sessions = 1024;
	char err[ST_CONF_ERR_MAX];
	struct st_conf_ref *conf_ref;
	struct st_daemon_conf *conf;
	struct st_sshapp app;
	struct dp_cfg cfg;
	struct dp_ctx *dp = NULL;

	/* Signals go to the admin thread's signalfd: blocked in every thread,
	 * so before EAL creates any. */
	if (st_ctlplane_block_signals() != ST_OK) {
		fprintf(stderr, "sshterm: cannot block signals: %s\n", strerror(errno));
		return 1;
	}
	int n = dp_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "sshterm: EAL initialisation failed (see above)\n");
		return 1;
	}
	argc -= n;
	argv += n;
	optind = 1;
	while ((opt = getopt(argc, argv, "f:detTC:Gm:h")) != -1) {
		switch (opt) {
		case 'f':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			log_stderr = 1;
			break;
		case 't':
			test_only = 1;
			break;
		case 'T':
			dump = 1;
			break;
		case 'C':
			conn_spec = optarg;
			break;
		case 'G':
			gen_keys = 1;
			break;
		case 'm': {
			char *end;

			errno = 0;
			max_sessions = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    max_sessions == 0 || max_sessions > MAX_SESSIONS) {
				fprintf(stderr, "sshterm: -m %s: must be 1..%lu sessions per worker\n",
					optarg, MAX_SESSIONS);
				return 1;
			}
			break;
		}
		default:
			usage();
			return 1;
		}
	}
	/* Tests only (dataplane/fault.h): a bad spec is a start-up error, not a silent no-op. */
	if (fault_env("SSHTERM_TEST_FAULT_RX", &fault_rx) != ST_OK ||
	    fault_env("SSHTERM_TEST_FAULT_TX", &fault_tx) != ST_OK)
		return 1;

	if ((conf_ref = st_conf_ref_new()) == NULL)
		return 1;
	conf = &conf_ref->conf;
	if (st_daemon_conf_load(conf, conf_path, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "sshterm: %s\n", err);
		return 1;
	}
	if (gen_keys && generate_missing_hostkeys(conf) != ST_OK)
		return 1;
	if (st_daemon_conf_load_hostkeys(conf, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "sshterm: %s%s\n", err,
			strstr(err, "No such file") != NULL ? " (sshterm -G generates missing host keys)"
							     : "");
		return 1;
	}
	if (conf->address[0] == '\0' && conf->address6[0] == '\0') {
		fprintf(stderr, "sshterm: %s: no Address configured (e.g. Address 198.18.0.2/24 "
				"or Address fd00:18::2/64)\n",
			conf_path);
		return 1;
	}
	if (conf->crypto_provider[0] != '\0' &&
	    st_crypto_provider_load(conf->crypto_provider, 0, NULL, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "sshterm: %s: %s\n", conf_path, err);
		return 1;
	}
	if (conf->crypto_engine[0] != '\0' &&
	    st_crypto_engine_load(conf->crypto_engine, 0, NULL, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "sshterm: %s: %s\n", conf_path, err);
		return 1;
	}
	/* One cryptodev queue pair per lcore: each worker binds its own at start. */
	if (conf->crypto_backend == ST_CONF_CRYPTO_CRYPTODEV &&
	    (r = st_cryptodev_setup(conf->crypto_device[0] ? conf->crypto_device : NULL,
				    (uint16_t)rte_lcore_count(), NULL)) != ST_OK) {
		fprintf(stderr, "sshterm: %s: CryptoBackend cryptodev %s: %s\n", conf_path,
			conf->crypto_device[0] ? conf->crypto_device : "(first device)",
			st_err_str(r));
		return 1;
	}
	if (conf->crypto_backend == ST_CONF_CRYPTO_CRYPTODEV) {
		struct st_cryptodev_info ci;
		if (st_cryptodev_info(&ci) == ST_OK && conf->crypto_mode == ST_CONF_CRYPTO_MODE_CPU &&
		    !ci.cpu_crypto) {
			fprintf(stderr, "sshterm: %s: CryptoMode cpu: %s (%s) has no CPU crypto\n",
				conf_path, ci.name, ci.driver);
			return 1;
		}
		/* CryptoMode ops: the enqueue/dequeue path, sealed across loop passes. */
		st_cryptodev_force_ops(conf->crypto_mode == ST_CONF_CRYPTO_MODE_OPS);
	}
	if (dump) {
		/* No Match blocks exist: -C is checked, and applies to nothing yet. */
		struct st_conf_conn_spec spec;
		if (conn_spec != NULL &&
		    st_conf_conn_spec_parse(conn_spec, &spec, err, sizeof(err)) != 0) {
			fprintf(stderr, "sshterm: %s\n", err);
			return 1;
		}
		return st_daemon_conf_dump(conf, stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
	}
	if (test_only) {
		printf("%s: configuration OK, %u host key(s)\n", conf_path, conf->ctl.n_hostkeys);
		return 0;
	}

	memset(&cfg, 0, sizeof(cfg));
	tcp_cfg_defaults(&cfg.tcp);
	if (conf->address[0] != '\0')
		ipv4(conf->address, &cfg.ip);
	cfg.prefix_len = conf->prefix_len;
	if (conf->gateway[0] != '\0')
		ipv4(conf->gateway, &cfg.gateway);
	if (conf->address6[0] != '\0')
		(void)dp_ip_parse(conf->address6, &cfg.ip6); /* checked by the config parser */
	cfg.prefix6 = conf->prefix6;
	if (conf->gateway6[0] != '\0')
		(void)dp_ip_parse(conf->gateway6, &cfg.gateway6);
	cfg.quit = &dp_quit;
	cfg.on_start = st_sshapp_start;
	cfg.on_poll = st_sshapp_poll;
	cfg.on_stop = st_sshapp_stop;
	cfg.can_sleep = st_sshapp_can_sleep;
	cfg.crypto_cycles = st_record_thread_cycles;
	cfg.service_cycles = st_service_thread_cycles;
	cfg.idle_sleep_ms = conf->worker_idle_ms;
	cfg.arp_reachable_ms = conf->neigh_reachable_s * 1000u;
	cfg.tcp.cc_algo = conf->tcp_congestion == ST_CONF_TCP_NEWRENO ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
	cfg.tcp.rcvbuf_max = conf->tcp_rcvwin_max; /* autotuning's cap; the scale follows it */
	cfg.tcp.sndbuf_max = conf->tcp_sndbuf_max;
	cfg.mtu = conf->ctl.mtu; /* MTU; tcp.mss follows it (dp_create) */
	cfg.vtap_ifname = conf->tap_interface[0] ? conf->tap_interface : NULL;
	cfg.app_arg = &app;
	cfg.rx_fault = fault_rx;
	cfg.tx_fault = fault_tx;
	if (cfg.tcp.max_conns < 2 * max_sessions)
		cfg.tcp.max_conns = (uint32_t)(2 * max_sessions); /* clients + backends */

	memset(&app, 0, sizeof(app));
	if (listeners(conf, &cfg, &app) != ST_OK)
		return 1;
	app.max_sessions = (uint32_t)max_sessions;
	app.wcfg.be = conf->crypto_backend == ST_CONF_CRYPTO_CRYPTODEV ? &st_crypto_backend_cryptodev
								       : &st_crypto_backend_evp;
	snprintf(version_line, sizeof(version_line), "%s", conf->ctl.version);
	app.wcfg.version = version_line;
	app.wcfg.rekey_bytes = conf->ctl.rekey_bytes;
	app.wcfg.rekey_seconds = conf->ctl.rekey_seconds;

	if ((r = dp_create(&cfg, &dp)) != ST_OK) {
		fprintf(stderr, "sshterm: dataplane: %s%s\n", st_err_str(r),
			r == ST_ERR_ALLOC ? " (the session and TCP tables grow with -m SESSIONS: "
					    "give EAL more memory with its -m, or ask for fewer)"
					  : "");
		return 1;
	}
	if ((r = st_sshapp_init(&app, dp_nb_workers(dp), RING_SIZE)) != ST_OK) {
		fprintf(stderr, "sshterm: rings: %s\n", st_err_str(r));
		return 1;
	}
	cp.conf_path = conf_path;
	cp.first_conf = conf_ref; /* from here on reached through cp.confs */
	cp.app = &app;
	cp.dp = dp;
	cp.nb_workers = dp_nb_workers(dp);
	cp.max_sessions = (uint32_t)max_sessions;
	/* sshd's rule: syslog, unless -e (or -d) keeps the lines on stderr. */
	cp.log.to_syslog = !(debug || log_stderr);
	cp.log.facility = conf->syslog_facility;
	cp.log.max_prio = debug ? ST_LOGLEVEL_DEBUG : conf->log_level;
	cp.log_forced = debug;
	st_log_open(&cp.log);
	cp.dp_quit = &dp_quit;
	if ((r = st_ctlplane_init(&cp, err, sizeof(err))) != ST_OK) {
		fprintf(stderr, "sshterm: control plane: %s\n", err);
		return 1;
	}
	if (st_telemetry_register(&cp) != ST_OK)
		fprintf(stderr, "sshterm: DPDK telemetry endpoints not registered\n");
	if ((r = st_ctlplane_start(&cp, err, sizeof(err))) != ST_OK) {
		fprintf(stderr, "sshterm: %s\n", err);
		return 1;
	}
	st_ctlplane_logf(&cp, LOG_DEBUG, "ML-KEM-768: %s%s",
			 st_mlkem768_evp_available() ? "OpenSSL provider " : "built in",
			 st_mlkem768_evp_available() ? st_mlkem768_evp_provider() : "");
	for (unsigned i = 0; i < app.n_listen; i++) {
		char at[DP_IP_STRLEN];
		struct dp_ip a = app.listen_addr[i];

		/* sshd's wording, one line per address (the unspecified ones named by the port's). */
		if (dp_ip_is_any(&a))
			a = dp_ip_is_v4(&a) ? dp_ip_v4(cfg.ip) : cfg.ip6;
		st_ctlplane_logf(&cp, LOG_INFO, "Server listening on %s port %u (%u worker%s, %u "
				 "control thread%s).", dp_ip_str(&a, at, sizeof(at)),
				 app.listen_ports[i], cp.nb_workers, cp.nb_workers == 1 ? "" : "s",
				 cp.nshards, cp.nshards == 1 ? "" : "s");
	}
	{
		char state[160];
		snprintf(state, sizeof(state), "READY=1\nMAINPID=%d\nSTATUS=listening on %s port %u",
			 (int)getpid(), conf->n_listen ? conf->listen[0].addr
						       : conf->address[0] ? conf->address : conf->address6,
			 app.listen_port);
		if (st_sdnotify(state) < 0)
			st_ctlplane_logf(&cp, LOG_ERR, "sd_notify to NOTIFY_SOCKET failed");
	}
	conf = NULL; /* a reload may free it */

	/* Returns once the control plane has closed the sessions, or at once when a
	 * worker could not start (it said why). */
	int run = dp_run(dp);
	if (run != ST_OK)
		st_ctlplane_quit(&cp);

	st_telemetry_unregister();
	st_ctlplane_join(&cp);
	dp_destroy(dp);
	if (app.wcfg.be == &st_crypto_backend_cryptodev)
		st_cryptodev_teardown(); /* every session is gone with the workers */
	st_sshapp_fini(&app);
	rte_eal_cleanup();
	fprintf(stderr, "sshterm: exit%s\n", run == ST_OK ? "" : " (a worker did not start)");
	return run == ST_OK ? 0 : 1;
}
