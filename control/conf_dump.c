#include "control/conf_dump.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "control/log.h"

int st_conf_conn_spec_parse(const char *s, struct st_conf_conn_spec *out, char *err,
			    size_t errsz)
{
	struct st_conf_conn_spec c;
	char buf[512], *save = NULL, *kv;

	memset(&c, 0, sizeof(c));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errsz, "-C: too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL || eq == kv) {
			snprintf(err, errsz, "-C: expected key=value, got '%s'", kv);
			return -1;
		}
		*eq++ = '\0';
		char *dst = NULL;
		size_t dsz = 0;
		if (strcmp(kv, "user") == 0) {
			dst = c.user;
			dsz = sizeof(c.user);
		} else if (strcmp(kv, "addr") == 0) {
			dst = c.addr;
			dsz = sizeof(c.addr);
		} else if (strcmp(kv, "host") == 0) {
			dst = c.host;
			dsz = sizeof(c.host);
		} else if (strcmp(kv, "laddr") == 0) {
			dst = c.laddr;
			dsz = sizeof(c.laddr);
		} else if (strcmp(kv, "lport") == 0) {
			char *end;
			unsigned long p = strtoul(eq, &end, 10);
			if (*eq == '\0' || *end != '\0' || p == 0 || p > 65535) {
				snprintf(err, errsz, "-C: bad lport '%s'", eq);
				return -1;
			}
			c.lport = (unsigned)p;
			continue;
		} else {
			snprintf(err, errsz, "-C: unknown key '%s' (user, addr, host, laddr, lport)",
				 kv);
			return -1;
		}
		if (strlen(eq) >= dsz) {
			snprintf(err, errsz, "-C: %s too long", kv);
			return -1;
		}
		memcpy(dst, eq, strlen(eq) + 1);
	}
	/* Addresses must be addresses, as sshd checks them. */
	const char *addrs[2] = {c.addr, c.laddr};
	for (int i = 0; i < 2; i++) {
		unsigned char tmp[16];
		if (addrs[i][0] != '\0' && inet_pton(AF_INET, addrs[i], tmp) != 1 &&
		    inet_pton(AF_INET6, addrs[i], tmp) != 1) {
			snprintf(err, errsz, "-C: '%s' is not an address", addrs[i]);
			return -1;
		}
	}
	*out = c;
	return 0;
}

/* Seconds as sshd -T prints durations: plain seconds. */
static void kv_u(FILE *o, const char *k, unsigned long long v)
{
	fprintf(o, "%s %llu\n", k, v);
}

static void kv_s(FILE *o, const char *k, const char *v)
{
	fprintf(o, "%s %s\n", k, v[0] != '\0' ? v : "none");
}

static void dump_srclimit(const struct st_srclimit_conf *s, FILE *o)
{
	fprintf(o, "persourcenetblocksize %u:%u\n", s->netblock4, s->netblock6);
	if (s->max_startups == 0)
		kv_s(o, "persourcemaxstartups", "");
	else
		kv_u(o, "persourcemaxstartups", s->max_startups);
	if (!s->penalties)
		fprintf(o, "persourcepenalties no\n");
	else
		fprintf(o, "persourcepenalties crash:%us authfail:%us noauth:%us grace-exceeded:%us "
			   "max:%us min:%us max-sources4:%u max-sources6:%u overflow:%s overflow6:%s\n",
			s->penalty_s[ST_SRCLIMIT_PENALTY_CRASH], s->penalty_s[ST_SRCLIMIT_PENALTY_AUTHFAIL],
			s->penalty_s[ST_SRCLIMIT_PENALTY_NOAUTH], s->penalty_s[ST_SRCLIMIT_PENALTY_GRACE],
			s->penalty_max_s, s->penalty_min_s, s->max_sources4, s->max_sources6,
			s->overflow4 == ST_SRCLIMIT_OVERFLOW_DENY_ALL ? "deny-all" : "permissive",
			s->overflow6 == ST_SRCLIMIT_OVERFLOW_DENY_ALL ? "deny-all" : "permissive");
	kv_s(o, "persourcepenaltyexemptlist", s->exempt);
	if (s->kex_rate_ms == 0)
		kv_s(o, "persourcekexrate", "");
	else
		fprintf(o, "persourcekexrate %u:%u\n", s->kex_rate_ms, s->kex_burst_ms);
}

int st_daemon_conf_dump(const struct st_daemon_conf *c, FILE *o)
{
	const struct st_ctl_config *k = &c->ctl;

	for (unsigned i = 0; i < c->n_ports; i++)
		kv_u(o, "port", c->ports[i]);
	for (unsigned i = 0; i < c->n_listen; i++) {
		const char *a = c->listen[i].addr[0] ? c->listen[i].addr : c->address;
		int v6 = strchr(a, ':') != NULL;
		if (c->listen[i].port != 0)
			fprintf(o, "listenaddress %s%s%s:%u\n", v6 ? "[" : "", a, v6 ? "]" : "",
				c->listen[i].port);
		else
			fprintf(o, "listenaddress %s\n", a);
	}
	/* No ListenAddress: every address the port has (dual stack when it has both). */
	if (c->n_listen == 0)
		for (unsigned i = 0; i < c->n_ports; i++) {
			if (c->address[0] != '\0' || c->address6[0] == '\0')
				fprintf(o, "listenaddress %s:%u\n",
					c->address[0] ? c->address : "0.0.0.0", c->ports[i]);
			if (c->address6[0] != '\0')
				fprintf(o, "listenaddress [%s]:%u\n", c->address6, c->ports[i]);
		}
	fprintf(o, "address %s/%u\n", c->address[0] ? c->address : "none", c->prefix_len);
	if (c->address6[0] != '\0')
		fprintf(o, "address %s/%u\n", c->address6, c->prefix6);
	kv_s(o, "gateway", c->gateway);
	if (c->gateway6[0] != '\0')
		kv_s(o, "gateway", c->gateway6);
	for (unsigned i = 0; i < c->n_hostkey_paths; i++)
		kv_s(o, "hostkey", c->hostkey_paths[i]);
	for (unsigned i = 0; i < c->n_hostcert_paths; i++)
		kv_s(o, "hostcertificate", c->hostcert_paths[i]);
	if (c->n_hostcert_paths == 0)
		kv_s(o, "hostcertificate", "");
	kv_s(o, "authorizedkeysfile", k->authorized_keys_file);
	kv_s(o, "trustedusercakeys", k->trusted_user_ca_keys);
	kv_s(o, "authorizedprincipalsfile", k->authorized_principals_file);
	kv_s(o, "revokedkeys", k->revoked_keys);
	kv_s(o, "authorizedkeyscommand", k->akc_command);
	kv_s(o, "authorizedkeyscommanduser", k->akc_user);
	kv_u(o, "authorizedkeyscommandtimeout", k->akc_timeout);
	kv_u(o, "authorizedkeyscommandcachetime", k->akc_cache_time);
	kv_s(o, "kexalgorithms", k->kex_algs);
	kv_s(o, "hostkeyalgorithms", k->hostkey_algs);
	kv_s(o, "casignaturealgorithms", k->ca_sig_algs);
	kv_s(o, "ciphers", k->ciphers);
	kv_s(o, "macs", k->macs);
	kv_u(o, "maxauthtries", k->max_auth_tries);
	fprintf(o, "maxstartups %u:%u:%u\n", c->max_startups_begin, c->max_startups_rate,
		c->max_startups_full);
	kv_u(o, "logingracetime", k->login_grace_time);
	fprintf(o, "rekeylimit %llu %u\n", (unsigned long long)k->rekey_bytes, k->rekey_seconds);
	kv_u(o, "channelwindowmax", k->channel_window_max);
	fprintf(o, "loglevel %s\n", st_log_level_name(c->log_level));
	fprintf(o, "syslogfacility %s\n", st_log_facility_name(c->syslog_facility));
	if (c->metrics_port == 0)
		fprintf(o, "metricslisten none\n");
	else if (strchr(c->metrics_addr, ':') != NULL)
		fprintf(o, "metricslisten [%s]:%u\n", c->metrics_addr, c->metrics_port);
	else
		fprintf(o, "metricslisten %s:%u\n", c->metrics_addr, c->metrics_port);
	switch (k->permitopen_mode) {
	case ST_PERMITOPEN_NONE:
		fprintf(o, "permitopen none\n");
		break;
	case ST_PERMITOPEN_ANY:
		fprintf(o, "permitopen any\n");
		break;
	case ST_PERMITOPEN_LIST:
		fprintf(o, "permitopen");
		for (unsigned i = 0; i < k->n_permitopen; i++) {
			const struct st_ctl_permitopen *p = &k->permitopen[i];
			if (p->port == 0)
				fprintf(o, " %s:*", p->host);
			else
				fprintf(o, " %s:%u", p->host, p->port);
		}
		fprintf(o, "\n");
		break;
	}
	for (unsigned i = 0; i < k->n_services; i++) {
		const struct st_ctl_service *s = &k->services[i];
		int v6 = strchr(s->host, ':') != NULL;
		fprintf(o, "service %s %s%s%s:%u%s\n", s->name, v6 ? "[" : "", s->host, v6 ? "]" : "",
			s->port, s->proxy_v2 ? " proxy-protocol=v2" : "");
	}
	if (k->n_services == 0)
		kv_s(o, "service", "");
	kv_s(o, "defaultservice", k->default_service);
	fprintf(o, "proxyprotocol %s\n", k->proxy_mode == ST_PROXY_REQUIRE  ? "require"
					  : k->proxy_mode == ST_PROXY_ACCEPT ? "accept"
									     : "off");
	kv_s(o, "proxyprotocolfrom", k->proxy_from[0] ? k->proxy_from : "none");
	kv_s(o, "controlsocket", c->control_socket);
	if (c->crypto_backend == ST_CONF_CRYPTO_CRYPTODEV)
		fprintf(o, "cryptobackend cryptodev%s%s\n", c->crypto_device[0] ? " " : "",
			c->crypto_device);
	else
		fprintf(o, "cryptobackend evp\n");
	fprintf(o, "cryptomode %s\n",
		c->crypto_mode == ST_CONF_CRYPTO_MODE_OPS   ? "ops"
		: c->crypto_mode == ST_CONF_CRYPTO_MODE_CPU ? "cpu"
							    : "auto");
	kv_s(o, "cryptoprovider", c->crypto_provider);
	kv_s(o, "cryptoengine", c->crypto_engine);
	fprintf(o, "neighborreachabletime %u\n", c->neigh_reachable_s);
	if (c->worker_idle_ms == 0)
		fprintf(o, "workeridle poll\n");
	else
		fprintf(o, "workeridle sleep %u\n", c->worker_idle_ms);
	kv_u(o, "mtu", k->mtu);
	fprintf(o, "tcpcongestion %s\n", c->tcp_congestion == ST_CONF_TCP_NEWRENO ? "newreno" : "cubic");
	kv_u(o, "tcpreceivewindowmax", c->tcp_rcvwin_max);
	kv_u(o, "tcpsendbuffermax", c->tcp_sndbuf_max);
	kv_s(o, "tapinterface", c->tap_interface);
	kv_u(o, "controlthreads", c->control_threads);
	if (c->kex_threads == ST_CONF_KEX_THREADS_AUTO)
		fprintf(o, "kexthreads auto\n");
	else
		kv_u(o, "kexthreads", c->kex_threads);
	if (c->n_control_cpus == 0) {
		fprintf(o, "controlcpus none\n");
	} else {
		fprintf(o, "controlcpus ");
		for (unsigned i = 0; i < c->n_control_cpus; i++)
			fprintf(o, "%s%u", i ? "," : "", c->control_cpus[i]);
		fprintf(o, "\n");
	}
	dump_srclimit(&c->srclimit, o);
	return ferror(o) ? -1 : 0;
}
