/* The sshd_config-style configuration file (control/conffile.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/conffile.h"
#include "tests/unit/test.h"

static int parse(struct st_daemon_conf *c, const char *text, char *err)
{
	st_daemon_conf_init(c);
	return st_daemon_conf_parse(c, text, strlen(text), "test.conf", err, ST_CONF_ERR_MAX);
}

static void test_full_config(void)
{
	static const char text[] =
		"# sshterm demo\n"
		"\n"
		"Port 2222\n"
		"  ListenAddress 198.18.0.2\n"
		"ListenAddress [::1]:2200\n"
		"ListenAddress 127.0.0.1:22\n"
		"HostKey /etc/sshterm/ssh_host_ed25519_key\n"
		"HostKey \"/etc/sshterm/host key rsa\"\n"
		"AuthorizedKeysFile /etc/sshterm/keys/%u\n"
		"KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256\n"
		"Ciphers=aes128-gcm@openssh.com\n"
		"MACs hmac-sha2-256-etm@openssh.com\n"
		"HostKeyAlgorithms ssh-ed25519\n"
		"MaxAuthTries 3\n"
		"MaxStartups 10:30:60\n"
		"LoginGraceTime 1m30s\n"
		"RekeyLimit 512M 1h\n"
		"PermitOpen 198.18.0.1:5432 198.18.0.1:*\n"
		"Service db 198.18.0.1:5432\n"
		"DefaultService source 1G\n"
		"Address 198.18.0.2/24\n"
		"Gateway 198.18.0.1\n"
		"ControlSocket /run/sshterm-test.sock\n"
		"CryptoBackend cryptodev crypto_aesni_gcm0\n"
		"CryptoProvider default:provider=default\n"
		"WorkerIdle sleep 25\n"
		"TCPCongestion NewReno\n"
		"NeighborReachableTime 2m\n"
		"port 2223\n"; /* keywords are case-insensitive; Port repeats */
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, text, err));
	if (err[0])
		printf("    %s\n", err);
	CHECK_INT(c.n_ports, 2);
	CHECK_INT(c.ports[0], 2222);
	CHECK_INT(c.ports[1], 2223);
	CHECK_INT(c.n_listen, 3);
	CHECK(strcmp(c.listen[0].addr, "198.18.0.2") == 0 && c.listen[0].port == 0);
	CHECK(strcmp(c.listen[1].addr, "::1") == 0 && c.listen[1].port == 2200);
	CHECK(strcmp(c.listen[2].addr, "127.0.0.1") == 0 && c.listen[2].port == 22);
	CHECK_INT(c.n_hostkey_paths, 2);
	CHECK(strcmp(c.hostkey_paths[1], "/etc/sshterm/host key rsa") == 0);
	CHECK(strcmp(c.ctl.authorized_keys_file, "/etc/sshterm/keys/%u") == 0);
	CHECK(strcmp(c.ctl.kex_algs, "curve25519-sha256,ecdh-sha2-nistp256") == 0);
	CHECK(strcmp(c.ctl.ciphers, "aes128-gcm@openssh.com") == 0);
	CHECK(strcmp(c.ctl.macs, "hmac-sha2-256-etm@openssh.com") == 0);
	CHECK(strcmp(c.ctl.hostkey_algs, "ssh-ed25519") == 0);
	CHECK_INT(c.ctl.max_auth_tries, 3);
	CHECK_INT(c.max_startups_begin, 10);
	CHECK_INT(c.max_startups_rate, 30);
	CHECK_INT(c.max_startups_full, 60);
	CHECK_INT(c.ctl.login_grace_time, 90);
	CHECK(c.ctl.rekey_bytes == 512ull << 20);
	CHECK_INT(c.ctl.rekey_seconds, 3600);
	CHECK_INT(c.ctl.n_permitopen, 2);
	CHECK_INT(c.ctl.n_services, 1);
	CHECK(st_ctl_config_service(&c.ctl, "db") != NULL);
	CHECK(strcmp(c.ctl.default_service, "source 1G") == 0);
	CHECK(strcmp(c.address, "198.18.0.2") == 0 && c.prefix_len == 24);
	CHECK(strcmp(c.gateway, "198.18.0.1") == 0);
	CHECK(strcmp(c.control_socket, "/run/sshterm-test.sock") == 0);
	CHECK_INT(c.crypto_backend, ST_CONF_CRYPTO_CRYPTODEV);
	CHECK(strcmp(c.crypto_device, "crypto_aesni_gcm0") == 0);
	CHECK(strcmp(c.crypto_provider, "default:provider=default") == 0);
	CHECK_INT(c.worker_idle_ms, 25);
	CHECK_INT(c.tcp_congestion, ST_CONF_TCP_NEWRENO);
	CHECK_INT(c.neigh_reachable_s, 120);
	st_daemon_conf_free(&c);
}

static void test_defaults_and_first_wins(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];
	CHECK_OK(parse(&c, "MaxAuthTries 2\nMaxAuthTries 5\n", err));
	CHECK_INT(c.ctl.max_auth_tries, 2);
	CHECK_INT(c.n_ports, 1);
	CHECK_INT(c.ports[0], 22);
	CHECK(strcmp(c.control_socket, ST_CONF_DEFAULT_SOCKET) == 0);
	CHECK_INT(c.crypto_backend, ST_CONF_CRYPTO_EVP);
	CHECK_INT(c.worker_idle_ms, 0); /* WorkerIdle poll */
	CHECK_INT(c.tcp_congestion, ST_CONF_TCP_CUBIC);
	CHECK_INT(c.neigh_reachable_s, ST_CONF_NEIGH_REACHABLE_DEFAULT);
	st_daemon_conf_free(&c);
}

static void test_algorithm_modifiers(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, "Ciphers -aes*-ctr\n", err));
	CHECK(strcmp(c.ctl.ciphers, "aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
				    "chacha20-poly1305@openssh.com") == 0);
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c, "Ciphers ^chacha20-poly1305@openssh.com\n", err));
	CHECK(strncmp(c.ctl.ciphers, "chacha20-poly1305@openssh.com,aes128-gcm", 40) == 0);
	CHECK(strstr(c.ctl.ciphers + 10, "chacha20") == NULL); /* not listed twice */
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c, "KexAlgorithms -diffie-hellman-*\n", err));
	CHECK(strstr(c.ctl.kex_algs, "diffie") == NULL);
	CHECK(strstr(c.ctl.kex_algs, "curve25519-sha256") != NULL);
	st_daemon_conf_free(&c);

	/* the default starts with the post-quantum hybrids; a pattern removes them */
	CHECK_OK(parse(&c, "Port 22\n", err));
	{
		static const char pq[] = "mlkem768x25519-sha256,sntrup761x25519-sha512,"
					 "sntrup761x25519-sha512@openssh.com,curve25519-sha256,";
		CHECK(strncmp(c.ctl.kex_algs, pq, sizeof(pq) - 1) == 0);
	}
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "KexAlgorithms -mlkem768x25519-sha256,sntrup761x25519-sha512*\n", err));
	CHECK(strncmp(c.ctl.kex_algs, "curve25519-sha256,", 18) == 0);
	CHECK(strstr(c.ctl.kex_algs, "sntrup") == NULL && strstr(c.ctl.kex_algs, "mlkem") == NULL);
	st_daemon_conf_free(&c);

	/* CASignatureAlgorithms: sshd's list form; only plain signature algorithm names */
	CHECK_OK(parse(&c, "Port 22\n", err));
	CHECK(strcmp(c.ctl.ca_sig_algs, ST_CTL_DEFAULT_CA_SIG_ALGS) == 0);
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "CASignatureAlgorithms -rsa-sha2-*\n", err));
	CHECK(strcmp(c.ctl.ca_sig_algs, "ssh-ed25519,ecdsa-sha2-nistp256") == 0);
	st_daemon_conf_free(&c);
	CHECK(parse(&c, "CASignatureAlgorithms ssh-rsa\n", err) != ST_OK); /* SHA-1: unknown here */
	CHECK(strstr(err, "CASignatureAlgorithms") != NULL);
	CHECK(parse(&c, "CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com\n", err) != ST_OK);

	CHECK_OK(parse(&c, "MACs +hmac-sha2-512\n", err)); /* already present: no change */
	CHECK(strstr(c.ctl.macs, "hmac-sha2-512,") != NULL || strstr(c.ctl.macs, "hmac-sha2-512") != NULL);
	st_daemon_conf_free(&c);
}

/* Every error names file:line and says what is wrong. */
static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *want; /* substring of the message */
	} v[] = {
		{"Port 22\nFrobnicate yes\n", "test.conf:2: unknown keyword 'Frobnicate'"},
		{"Port 0\n", "test.conf:1: Port: bad port number '0'"},
		{"Port 65536\n", "bad port number"},
		{"Port\n", "Port: expected 1 argument(s), got 0"},
		{"Port 22 23\n", "expected 1 argument(s), got 2"},
		{"ListenAddress 10.0.0.300\n", "is not an IP address"},
		{"ListenAddress 1.2.3.4:99999\n", "bad port"},
		{"ListenAddress [::1\n", "missing ']'"},
		{"Ciphers aes128-cbc\n", "Ciphers:"},
		{"Ciphers -*\n", "Ciphers:"},
		{"KexAlgorithms diffie-hellman-group1-sha1\n", "KexAlgorithms:"},
		{"MaxAuthTries 0\n", "MaxAuthTries: expected 1..1000"},
		{"MaxAuthTries -1\n", "MaxAuthTries"},
		{"MaxStartups 10:30\n", "MaxStartups"},
		{"MaxStartups 50:30:10\n", "start <= full"},
		{"LoginGraceTime 2x\n", "LoginGraceTime: bad time"},
		{"LoginGraceTime 99999999999\n", "LoginGraceTime: bad time"},
		{"RekeyLimit 1T\n", "RekeyLimit: bad size"},
		{"RekeyLimit 1G forever\n", "RekeyLimit: bad time"},
		{"Address 198.18.0.2\n", "Address: expected ADDRESS/PREFIX"},
		{"Address 198.18.0.2/33\n", "Address: bad"},
		{"Gateway example.com\n", "Gateway:"},
		{"Address fd00:18::2\n", "Address: expected ADDRESS/PREFIX"},
		{"Address fd00:18::2/129\n", "Address: bad IPv6 prefix"},
		{"Address fd00:18::2/0\n", "Address: bad IPv6 prefix"},
		{"Address ff02::1/64\n", "not a unicast IPv6 address"},
		{"Address ::/64\n", "not a unicast IPv6 address"},
		{"Address ::ffff:198.18.0.2/120\n", "not a unicast IPv6 address"},
		{"Address fd00::2/64\nAddress fd00::3/64\n", "test.conf:2: Address: one IPv6 address per port"},
		{"Address 198.18.0.2/24\nAddress 198.18.0.3/24\n", "Address: one IPv4 address per port"},
		{"Gateway fd00::1\nGateway fd00::9\n", "Gateway: one per address family"},
		{"Gateway ff02::2\n", "Gateway: 'ff02::2' is not a unicast address"},
		{"ControlSocket relative.sock\n", "ControlSocket: needs an absolute path"},
		{"CryptoBackend qat\n", "CryptoBackend: expected"},
		{"WorkerIdle nap\n", "WorkerIdle: expected 'poll' or 'sleep [MS]'"},
		{"TCPCongestion bbr\n", "TCPCongestion: expected 'cubic' or 'newreno', got 'bbr'"},
		{"TCPCongestion\n", "TCPCongestion"},
		{"NeighborReachableTime 0\n", "NeighborReachableTime: expected 1s..3600s, got '0'"},
		{"NeighborReachableTime 2h\n", "NeighborReachableTime: expected 1s..3600s, got '2h'"},
		{"NeighborReachableTime soon\n", "NeighborReachableTime: expected"},
		{"WorkerIdle poll 5\n", "WorkerIdle: expected"},
		{"WorkerIdle sleep 0\n", "MS must be 1..60000"},
		{"WorkerIdle sleep -3\n", "MS must be 1..60000"},
		{"WorkerIdle sleep 10ms\n", "MS must be 1..60000"},
		{"HostKey \"unterminated\n", "unterminated quote"},
		{"Service db\n", "Service: expected 2 to 3 arguments, got 1"},
		{"Service db 198.18.0.1:5432 proxy-protocol=v1\n", "unknown option 'proxy-protocol=v1'"},
		{"Service db 198.18.0.1:5432 proxy-protocol=v2 x\n", "expected 2 to 3 arguments, got 4"},
		{"ProxyProtocol yes\n", "ProxyProtocol: expected off, accept or require"},
		{"ProxyProtocolFrom 198.18.0.0/33\n", "ProxyProtocolFrom: "},
		{"ProxyProtocolFrom 198.18.*\n", "expected comma-separated IPv4/IPv6"},
		{"ProxyProtocolFrom !198.18.0.1\n", "ProxyProtocolFrom: "},
		{"ProxyProtocolFrom 198.18.0.1,\n", "ProxyProtocolFrom: "},
		{"ProxyProtocolFrom 198.18.0.1,,::1\n", "ProxyProtocolFrom: "},
		{"ProxyProtocolFrom fd00::/129\n", "ProxyProtocolFrom: "},
		{"ProxyProtocolFrom host.example\n", "ProxyProtocolFrom: "},
		{"AuthorizedKeysFile a b\n", "only one file"},
		{"PerSourceNetBlockSize 33\n", "PerSourceNetBlockSize: expected V4[:V6]"},
		{"PerSourceNetBlockSize 24:129\n", "PerSourceNetBlockSize: expected"},
		{"PerSourceNetBlockSize 24:\n", "PerSourceNetBlockSize: expected"},
		{"PerSourceNetBlockSize /24\n", "PerSourceNetBlockSize: expected"},
		{"PerSourceMaxStartups 0\n", "PerSourceMaxStartups: expected 'none' or 1..1000000"},
		{"PerSourceMaxStartups lots\n", "PerSourceMaxStartups: expected"},
		{"PerSourcePenalties maybe\n", "PerSourcePenalties: expected yes, no or KEYWORD:VALUE"},
		{"PerSourcePenalties crash:2x\n", "PerSourcePenalties: crash: bad duration '2x'"},
		{"PerSourcePenalties authfail:\n", "PerSourcePenalties: authfail: bad duration"},
		{"PerSourcePenalties frobnicate:1s\n", "PerSourcePenalties: unknown keyword 'frobnicate'"},
		{"PerSourcePenalties max-sources4:0\n", "PerSourcePenalties: max-sources4: expected 1.."},
		{"PerSourcePenalties max-sources6:-1\n", "max-sources6: expected"},
		{"PerSourcePenalties overflow:deny\n", "overflow: expected permissive or deny-all"},
		{"PerSourcePenalties overflow6:allow\n", "overflow6: expected permissive or deny-all"},
		{"PerSourcePenalties max:10s\n", "max (10s) is less than min (15s)"},
		{"PerSourcePenalties\n", "PerSourcePenalties: expected at least 1 argument(s), got 0"},
		{"PerSourcePenaltyExemptList 192.0.2.0/33\n", "PerSourcePenaltyExemptList: '192.0.2.0/33': mask length"},
		{"PerSourcePenaltyExemptList 192.0.2.0/8\n", "host part"},
		{"PerSourcePenaltyExemptList example.com\n", "not an address, CIDR block or wildcard"},
		{"PerSourcePenaltyExemptList 10.0.0.1 10.0.0.2\n", "PerSourcePenaltyExemptList: expected 1 argument(s), got 2"},
		{"PerSourceKexRate 0\n", "PerSourceKexRate: expected 'none' or RATE[:BURST]"},
		{"PerSourceKexRate 1001\n", "PerSourceKexRate: expected"},
		{"PerSourceKexRate 50:0\n", "PerSourceKexRate: BURST must be 1..60000 ms"},
		{"PerSourceKexRate 50:1s\n", "BURST must be"},
		{"MetricsListen 127.0.0.1\n", "MetricsListen: expected 'ADDR:PORT' or 'none'"},
		{"MetricsListen 127.0.0.1:0\n", "MetricsListen: bad port '0'"},
		{"MetricsListen 127.0.0.1:65536\n", "MetricsListen: bad port"},
		{"MetricsListen 127.0.0.1:\n", "MetricsListen: bad port ''"},
		{"MetricsListen localhost:9100\n", "MetricsListen: 'localhost' is not an IP address"},
		{"MetricsListen [::1\n", "MetricsListen: expected '[ADDR]:PORT'"},
		{"MetricsListen [::1]9100\n", "MetricsListen: expected '[ADDR]:PORT'"},
		{"MetricsListen ::1:9100\n", "MetricsListen: expected 'ADDR:PORT'"},
		{"MetricsListen [1.2.3.4]:80\n", "is not an IP address"},
		{"MetricsListen 1.2.3.4:80 5.6.7.8:80\n", "MetricsListen: expected 1 argument(s)"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct st_daemon_conf c;
		char err[ST_CONF_ERR_MAX];
		int r = parse(&c, v[i].text, err);
		CHECK(r != ST_OK);
		if (strstr(err, v[i].want) == NULL || strncmp(err, "test.conf:", 10) != 0)
			st_test_fail(__FILE__, __LINE__, "'%s' -> '%s', wanted '%s'", v[i].text, err,
				     v[i].want);
		st_daemon_conf_free(&c);
	}
}

/* The per-source keywords (control/srclimit.h): defaults are OpenSSH 9.8's. */
/* One IPv4 and one IPv6 Address per port, a Gateway of each family, IPv6 listeners. */
static void test_dual_stack(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_ERR(parse(&c,
			"Address fd00:18::2/64\nAddress 198.18.0.2/24\nGateway fd00:18::1\n"
			"Gateway 198.18.0.1\nListenAddress [::]:2222\nListenAddress 0.0.0.0\n",
			err),
		  ST_OK);
	CHECK(strcmp(c.address, "198.18.0.2") == 0);
	CHECK_INT(c.prefix_len, 24);
	CHECK(strcmp(c.address6, "fd00:18::2") == 0);
	CHECK_INT(c.prefix6, 64);
	CHECK(strcmp(c.gateway, "198.18.0.1") == 0);
	CHECK(strcmp(c.gateway6, "fd00:18::1") == 0);
	CHECK_INT(c.n_listen, 2);
	CHECK(strcmp(c.listen[0].addr, "::") == 0);
	CHECK_INT(c.listen[0].port, 2222);
	CHECK(strcmp(c.listen[1].addr, "0.0.0.0") == 0);
	st_daemon_conf_free(&c);
	/* IPv6 only */
	CHECK_ERR(parse(&c, "Address fd00:18::2/64\n", err), ST_OK);
	CHECK(c.address[0] == '\0');
	CHECK(strcmp(c.address6, "fd00:18::2") == 0);
	st_daemon_conf_free(&c);
}

static void test_proxy_protocol(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, "Port 22\nService db 198.18.0.1:5432\n", err));
	CHECK_INT(c.ctl.proxy_mode, ST_PROXY_OFF);
	CHECK(c.ctl.proxy_from[0] == '\0');
	CHECK_INT(c.ctl.services[0].proxy_v2, 0);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "198.18.0.1"), 0);
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c,
		       "ProxyProtocol accept\n"
		       "ProxyProtocolFrom 198.18.0.0/30,fd00::1,fd01::/16\n"
		       "Service db 198.18.0.1:5432 proxy-protocol=v2\n"
		       "Service web [fd00::1]:80\n",
		       err));
	CHECK_INT(c.ctl.proxy_mode, ST_PROXY_ACCEPT);
	CHECK(strcmp(c.ctl.proxy_from, "198.18.0.0/30,fd00::1,fd01::/16") == 0);
	CHECK_INT(c.ctl.services[0].proxy_v2, 1);
	CHECK_INT(c.ctl.services[1].proxy_v2, 0);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "198.18.0.3"), 1);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "198.18.0.4"), 0);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "fd00::1"), 1);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "fd00::2"), 0);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "fd01:1::9"), 1);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "::ffff:198.18.0.2"), 1);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "garbage"), 0);
	/* off lists nobody, whatever ProxyProtocolFrom says */
	c.ctl.proxy_mode = ST_PROXY_OFF;
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "198.18.0.3"), 0);
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c, "ProxyProtocol REQUIRE\nProxyProtocolFrom none\n", err));
	CHECK_INT(c.ctl.proxy_mode, ST_PROXY_REQUIRE);
	CHECK_INT(st_ctl_config_proxy_listed(&c.ctl, "198.18.0.3"), 0);
	st_daemon_conf_free(&c);
}

static void test_persource(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, "Port 22\n", err));
	CHECK_INT(c.srclimit.netblock4, 32);
	CHECK_INT(c.srclimit.netblock6, 128);
	CHECK_INT(c.srclimit.max_startups, 0);
	CHECK_INT(c.srclimit.penalties, 1);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_CRASH], 90);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_AUTHFAIL], 5);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_NOAUTH], 1);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_GRACE], 20);
	CHECK_INT(c.srclimit.penalty_max_s, 600);
	CHECK_INT(c.srclimit.penalty_min_s, 15);
	CHECK_INT(c.srclimit.max_sources4, 65536);
	CHECK_INT(c.srclimit.max_sources6, 65536);
	CHECK_INT(c.srclimit.overflow4, ST_SRCLIMIT_OVERFLOW_PERMISSIVE);
	CHECK_INT(c.srclimit.overflow6, ST_SRCLIMIT_OVERFLOW_PERMISSIVE);
	CHECK(c.srclimit.exempt[0] == '\0');
	CHECK_INT(c.srclimit.kex_rate_ms, 0); /* PerSourceKexRate none by default */
	CHECK_INT(c.srclimit.kex_burst_ms, 0);
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c,
		       "PerSourceNetBlockSize 24:56\n"
		       "PerSourceMaxStartups 3\n"
		       "PerSourcePenalties crash:2m authfail:10s noauth:2 grace-exceeded:1m30s "
		       "max:1h min:30s max-sources4:1024 max-sources6:512 overflow:deny-all\n"
		       "PerSourcePenaltyExemptList 127.0.0.1,::1,198.18.0.0/15,10.1.*\n"
		       "PerSourceKexRate 100:5000\n"
		       "PerSourceMaxStartups 9\n", /* first occurrence wins */
		       err));
	if (err[0])
		printf("    %s\n", err);
	CHECK_INT(c.srclimit.netblock4, 24);
	CHECK_INT(c.srclimit.netblock6, 56);
	CHECK_INT(c.srclimit.max_startups, 3);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_CRASH], 120);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_AUTHFAIL], 10);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_NOAUTH], 2);
	CHECK_INT(c.srclimit.penalty_s[ST_SRCLIMIT_PENALTY_GRACE], 90);
	CHECK_INT(c.srclimit.penalty_max_s, 3600);
	CHECK_INT(c.srclimit.penalty_min_s, 30);
	CHECK_INT(c.srclimit.max_sources4, 1024);
	CHECK_INT(c.srclimit.max_sources6, 512);
	CHECK_INT(c.srclimit.overflow4, ST_SRCLIMIT_OVERFLOW_DENY_ALL);
	CHECK_INT(c.srclimit.overflow6, ST_SRCLIMIT_OVERFLOW_DENY_ALL); /* follows overflow */
	CHECK(strcmp(c.srclimit.exempt, "127.0.0.1,::1,198.18.0.0/15,10.1.*") == 0);
	CHECK_INT(c.srclimit.kex_rate_ms, 100);
	CHECK_INT(c.srclimit.kex_burst_ms, 5000);
	/* The parsed config makes a table. */
	struct st_srclimit t;
	CHECK_OK(st_srclimit_init(&t, &c.srclimit));
	st_srclimit_free(&t);
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c,
		       "PerSourceNetBlockSize 16\n"
		       "PerSourceMaxStartups none\n"
		       "PerSourcePenalties no overflow:deny-all overflow6:permissive\n"
		       "PerSourceKexRate none\n",
		       err));
	CHECK_INT(c.srclimit.netblock4, 16);
	CHECK_INT(c.srclimit.netblock6, 128);
	CHECK_INT(c.srclimit.max_startups, 0);
	CHECK_INT(c.srclimit.penalties, 0);
	CHECK_INT(c.srclimit.overflow4, ST_SRCLIMIT_OVERFLOW_DENY_ALL);
	CHECK_INT(c.srclimit.overflow6, ST_SRCLIMIT_OVERFLOW_PERMISSIVE);
	CHECK_INT(c.srclimit.kex_rate_ms, 0);
	st_daemon_conf_free(&c);

	/* RATE alone: BURST is 20 x RATE (capped at 60 s); yes after no enables again. */
	CHECK_OK(parse(&c, "PerSourceKexRate 10\nPerSourcePenalties no yes\n", err));
	CHECK_INT(c.srclimit.kex_rate_ms, 10);
	CHECK_INT(c.srclimit.kex_burst_ms, 200);
	CHECK_INT(c.srclimit.penalties, 1);
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "PerSourceKexRate=1000\n", err));
	CHECK_INT(c.srclimit.kex_burst_ms, 20000);
	st_daemon_conf_free(&c);
}

/* MetricsListen: off by default, ADDR:PORT, [V6]:PORT, none; first one wins. */
static void test_metrics_listen(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, "Port 22\n", err));
	CHECK_INT(c.metrics_port, 0);
	CHECK(c.metrics_addr[0] == '\0');
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "MetricsListen 127.0.0.1:9810\nMetricsListen 10.0.0.1:1\n", err));
	CHECK(strcmp(c.metrics_addr, "127.0.0.1") == 0);
	CHECK_INT(c.metrics_port, 9810);
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "metricslisten=[::1]:65535\n", err));
	CHECK(strcmp(c.metrics_addr, "::1") == 0);
	CHECK_INT(c.metrics_port, 65535);
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "MetricsListen none\n", err));
	CHECK_INT(c.metrics_port, 0);
	st_daemon_conf_free(&c);
}

/* TCPReceiveWindowMax, ChannelWindowMax: sizes with suffixes, in range, defaults 16M. */
static void test_window_caps(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, "Port 22\n", err));
	CHECK_INT(c.tcp_rcvwin_max, 16u << 20);
	CHECK_INT(c.tcp_sndbuf_max, 16u << 20);
	CHECK_INT(c.ctl.channel_window_max, 16u << 20);
	CHECK_INT(c.ctl.channel_window, 2u << 20);
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "TCPReceiveWindowMax 64M\nChannelWindowMax=256m\nTCPSendBufferMax 512M\n",
			 err));
	CHECK_INT(c.tcp_rcvwin_max, 64u << 20);
	CHECK_INT(c.tcp_sndbuf_max, 512u << 20);
	CHECK_INT(c.ctl.channel_window_max, 256u << 20);
	st_daemon_conf_free(&c);
	/* the minimums (the initial windows: fixed windows) */
	CHECK_OK(parse(&c, "tcpreceivewindowmax 256K\nchannelwindowmax 2097152\n", err));
	CHECK_INT(c.tcp_rcvwin_max, 256u << 10);
	CHECK_INT(c.ctl.channel_window_max, 2u << 20);
	st_daemon_conf_free(&c);
	static const char *const bad[] = {
		"TCPReceiveWindowMax 255K\n", "TCPReceiveWindowMax 513M\n", "TCPReceiveWindowMax 1G\n",
		"TCPReceiveWindowMax 16Q\n",  "TCPReceiveWindowMax -1\n",   "TCPReceiveWindowMax\n",
		"ChannelWindowMax 1M\n",      "ChannelWindowMax 257M\n",    "ChannelWindowMax 99999G\n",
		"ChannelWindowMax 16M 32M\n",  "TCPSendBufferMax 100K\n",     "TCPSendBufferMax 1G\n",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(parse(&c, bad[i], err), ST_ERR_FORMAT);
		CHECK(strstr(err, "test.conf:1:") != NULL);
		st_daemon_conf_free(&c);
	}
	CHECK_ERR(parse(&c, "ChannelWindowMax 1M\n", err), ST_ERR_FORMAT);
	CHECK(strstr(err, "ChannelWindowMax") != NULL && strstr(err, "2048K..256M") != NULL);
	st_daemon_conf_free(&c);
}

static void test_authorized_keys_command(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];

	CHECK_OK(parse(&c, "Port 22\n", err));
	CHECK(c.ctl.akc_command[0] == '\0' && c.ctl.akc_user[0] == '\0');
	CHECK_INT(c.ctl.akc_timeout, 5);
	CHECK_INT(c.ctl.akc_cache_time, 0);
	st_daemon_conf_free(&c);
	/* the rest of the line; single quotes kept, a double-quoted word with blanks re-quoted */
	CHECK_OK(parse(&c, "AuthorizedKeysCommand /bin/sh -c 'echo %u  %f' \"a b\" \"\"\n"
			   "AuthorizedKeysCommandUser nobody\nAuthorizedKeysCommandTimeout 1m\n"
			   "AuthorizedKeysCommandCacheTime 2h\n", err));
	CHECK(strcmp(c.ctl.akc_command, "/bin/sh -c 'echo %u %f' \"a b\" \"\"") == 0);
	CHECK(strcmp(c.ctl.akc_user, "nobody") == 0);
	CHECK_INT(c.ctl.akc_timeout, 60);
	CHECK_INT(c.ctl.akc_cache_time, 7200);
	st_daemon_conf_free(&c);
	CHECK_OK(parse(&c, "AuthorizedKeysCommand none\n", err));
	CHECK(c.ctl.akc_command[0] == '\0');
	st_daemon_conf_free(&c);
	/* errors name file:line */
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"AuthorizedKeysCommand /usr/bin/keys %u\n", "needs AuthorizedKeysCommandUser"},
		{"Port 22\nAuthorizedKeysCommand keys %u\n", "test.conf:2: AuthorizedKeysCommand: 'keys' is not an absolute path"},
		{"AuthorizedKeysCommand /k %x\n", "test.conf:1: AuthorizedKeysCommand: unknown token %x"},
		{"AuthorizedKeysCommand /k 'open\n", "unterminated ' quote"},
		{"AuthorizedKeysCommandUser\n", "expected 1 argument"},
		{"AuthorizedKeysCommandUser ro/ot\n", "bad user name"},
		{"AuthorizedKeysCommandUser -x\n", "bad user name"},
		{"AuthorizedKeysCommandTimeout 0\n", "test.conf:1: AuthorizedKeysCommandTimeout"},
		{"AuthorizedKeysCommandTimeout 11m\n", "AuthorizedKeysCommandTimeout"},
		{"AuthorizedKeysCommandTimeout soon\n", "AuthorizedKeysCommandTimeout"},
		{"AuthorizedKeysCommandCacheTime 2d\n", "AuthorizedKeysCommandCacheTime"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(&c, bad[i].text, err);
		CHECK(r != ST_OK);
		if (strstr(err, bad[i].want) == NULL)
			st_test_fail(__FILE__, __LINE__, "'%s': got '%s'", bad[i].text, err);
		st_daemon_conf_free(&c);
	}
	/* too long */
	char big[2200];
	int n = snprintf(big, sizeof(big), "AuthorizedKeysCommand /k");
	while (n < 2000) /* 20 words of 100 bytes: under the line and word limits, over the command's */
		n += snprintf(big + n, sizeof(big) - (size_t)n, " %099d", n);
	snprintf(big + n, sizeof(big) - (size_t)n, "\n");
	CHECK(parse(&c, big, err) != ST_OK);
	CHECK(strstr(err, "longer than") != NULL);
	st_daemon_conf_free(&c);
}

/* Garbage, long lines and NULs give errors, never crashes. */
static void test_hostile_input(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];
	size_t n = 10000;
	char *big = malloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	CHECK_ERR(parse(&c, big, err), ST_ERR_FORMAT);
	CHECK(strstr(err, "longer than") != NULL);
	st_daemon_conf_free(&c);

	st_daemon_conf_init(&c);
	CHECK_ERR(st_daemon_conf_parse(&c, "Port 22\0x\n", 10, "t", err, sizeof(err)),
		  ST_ERR_FORMAT);
	st_daemon_conf_free(&c);

	for (int seed = 0; seed < 200; seed++) {
		char buf[300];
		st_test_fill(buf, sizeof(buf), (uint64_t)seed);
		st_daemon_conf_init(&c);
		(void)st_daemon_conf_parse(&c, buf, sizeof(buf), "fuzz", err, sizeof(err));
		st_daemon_conf_free(&c);
	}
	/* Many words on one line */
	char words[2000] = "PermitOpen";
	for (int i = 0; i < 100; i++)
		strcat(words, " a:1");
	CHECK(parse(&c, words, err) != ST_OK);
	st_daemon_conf_free(&c);
	free(big);
}

static void test_hostkeys(void)
{
	char dir[] = "/tmp/sshterm-conf-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(st_test_sh("ssh-keygen -q -t ed25519 -N '' -f %s/hk >/dev/null", dir), 0);
	CHECK_INT(st_test_sh("ssh-keygen -q -t ed25519 -N secret -f %s/enc >/dev/null", dir), 0);
	char text[512], err[ST_CONF_ERR_MAX];
	struct st_daemon_conf c;

	snprintf(text, sizeof(text), "HostKey %s/hk\n", dir);
	CHECK_OK(parse(&c, text, err));
	CHECK_OK(st_daemon_conf_load_hostkeys(&c, err, sizeof(err)));
	CHECK_INT(c.ctl.n_hostkeys, 1);
	st_daemon_conf_free(&c);

	CHECK_OK(parse(&c, "Port 22\n", err));
	CHECK(st_daemon_conf_load_hostkeys(&c, err, sizeof(err)) != ST_OK);
	CHECK(strstr(err, "no HostKey") != NULL);
	st_daemon_conf_free(&c);

	snprintf(text, sizeof(text), "HostKey %s/enc\n", dir);
	CHECK_OK(parse(&c, text, err));
	CHECK_ERR(st_daemon_conf_load_hostkeys(&c, err, sizeof(err)), ST_ERR_KEY_ENCRYPTED);
	CHECK(strstr(err, "/enc: key is protected by a passphrase") != NULL);
	st_daemon_conf_free(&c);

	snprintf(text, sizeof(text), "HostKey %s/missing\n", dir);
	CHECK_OK(parse(&c, text, err));
	CHECK_ERR(st_daemon_conf_load_hostkeys(&c, err, sizeof(err)), ST_ERR_SYSTEM);
	CHECK(strstr(err, "No such file") != NULL);
	st_daemon_conf_free(&c);

	/* HostCertificate: attached to the HostKey it certifies; bad ones name the file. */
	CHECK_INT(st_test_sh("cd %s && ssh-keygen -q -t ed25519 -N '' -f ca >/dev/null && "
			     "ssh-keygen -q -t ecdsa -N '' -f hk2 >/dev/null && "
			     "ssh-keygen -q -s ca -h -I h -n x hk.pub && cp hk.pub u.pub && "
			     "ssh-keygen -q -s ca -I u -n x u.pub && cp hk2.pub o.pub && "
			     "ssh-keygen -q -s ca -h -I o o.pub", dir), 0);
	snprintf(text, sizeof(text), "HostKey %s/hk\nHostKey %s/hk2\nHostCertificate %s/hk-cert.pub\n",
		 dir, dir, dir);
	CHECK_OK(parse(&c, text, err));
	CHECK_OK(st_daemon_conf_load_hostkeys(&c, err, sizeof(err)));
	CHECK(c.ctl.hostcerts[0] != NULL && c.ctl.hostcert_len[0] > 100);
	CHECK(c.ctl.hostcerts[1] == NULL);
	st_daemon_conf_free(&c);
	static const struct {
		const char *file, *want;
		int code;
	} bad[] = {
		{ "u-cert.pub", "u-cert.pub: not a host certificate", ST_ERR_KEY_TYPE_MISMATCH },
		{ "o-cert.pub", "o-cert.pub: matches no HostKey", ST_ERR_NOT_FOUND },
		{ "hk.pub", "hk.pub: not a certificate", ST_ERR_KEY_TYPE_UNKNOWN },
		{ "nope-cert.pub", "nope-cert.pub: No such file or directory", ST_ERR_SYSTEM },
		{ "hk-cert.pub\nHostCertificate %s/hk-cert.pub", "same HostKey",
		  ST_ERR_INVALID_ARGUMENT },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[300];
		snprintf(line, sizeof(line), bad[i].file, dir);
		snprintf(text, sizeof(text), "HostKey %s/hk\nHostCertificate %s/%s\n", dir, dir, line);
		CHECK_OK(parse(&c, text, err));
		CHECK_ERR(st_daemon_conf_load_hostkeys(&c, err, sizeof(err)), bad[i].code);
		if (strstr(err, bad[i].want) == NULL)
			st_test_fail(__FILE__, __LINE__, "%s: got '%s'", bad[i].want, err);
		st_daemon_conf_free(&c);
	}

	CHECK_ERR(st_daemon_conf_load(&c, "/nonexistent/sshterm.conf", err, sizeof(err)),
		  ST_ERR_SYSTEM);
	st_test_sh("rm -rf %s", dir);
}

int main(void)
{
	RUN(test_full_config);
	RUN(test_defaults_and_first_wins);
	RUN(test_algorithm_modifiers);
	RUN(test_errors);
	RUN(test_persource);
	RUN(test_dual_stack);
	RUN(test_proxy_protocol);
	RUN(test_metrics_listen);
	RUN(test_window_caps);
	RUN(test_authorized_keys_command);
	RUN(test_hostile_input);
	RUN(test_hostkeys);
	return st_test_done("conffile");
}
