/* `sshterm -T` (control/conf_dump.c): every keyword printed, values after parsing, -C specs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/conf_dump.h"
#include "tests/unit/test.h"

static char *dump(const char *text)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	st_daemon_conf_init(&c);
	CHECK(st_daemon_conf_parse(&c, text, strlen(text), "t.conf", err, sizeof(err)) == ST_OK);
	CHECK(f != NULL && st_daemon_conf_dump(&c, f) == 0);
	fclose(f);
	st_daemon_conf_free(&c);
	return buf;
}

/* 1 when some line of out starts with "keyword " in lower case. */
static int has_line(const char *out, const char *keyword)
{
	char want[80];
	size_t n = strlen(keyword);

	if (n + 2 > sizeof(want))
		return 0;
	for (size_t i = 0; i < n; i++)
		want[i] = (char)tolower((unsigned char)keyword[i]);
	want[n] = ' ';
	want[n + 1] = '\0';
	if (strncmp(out, want, n + 1) == 0)
		return 1;
	for (const char *p = strchr(out, '\n'); p != NULL; p = strchr(p + 1, '\n'))
		if (strncmp(p + 1, want, n + 1) == 0)
			return 1;
	return 0;
}

static void test_every_keyword(void)
{
	char *out = dump("Address 198.18.0.2/24\nHostKey /etc/sshterm/k\n");
	unsigned n = 0;

	for (unsigned i = 0; st_daemon_conf_keyword(i) != NULL; i++, n++) {
		const char *k = st_daemon_conf_keyword(i);
		if (!has_line(out, k))
			st_test_fail(__FILE__, __LINE__, "-T does not print %s", k);
	}
	CHECK(n >= 30);
	free(out);
}

/* Both families: two address lines, two gateways, listeners on both by default. */
static void test_dual_stack(void)
{
	char *out = dump("Address 198.18.0.2/24\nAddress fd00:18::2/64\nGateway fd00:18::1\n"
			 "Port 2222\n");

	CHECK(strstr(out, "address 198.18.0.2/24\n") != NULL);
	CHECK(strstr(out, "address fd00:18::2/64\n") != NULL);
	CHECK(strstr(out, "gateway none\n") != NULL);
	CHECK(strstr(out, "gateway fd00:18::1\n") != NULL);
	CHECK(strstr(out, "listenaddress 198.18.0.2:2222\n") != NULL);
	CHECK(strstr(out, "listenaddress [fd00:18::2]:2222\n") != NULL);
	free(out);
	out = dump("Address fd00:18::2/64\nListenAddress [::]:22\n");
	CHECK(strstr(out, "address none/0\n") != NULL);
	CHECK(strstr(out, "address fd00:18::2/64\n") != NULL);
	CHECK(strstr(out, "listenaddress [::]:22\n") != NULL);
	free(out);
	out = dump("Address fd00:18::2/64\n");
	CHECK(strstr(out, "listenaddress [fd00:18::2]:22\n") != NULL);
	CHECK(strstr(out, "listenaddress 0.0.0.0") == NULL);
	free(out);
}

static void test_values(void)
{
	char *out = dump("Address 198.18.0.2/24\nPort 2222\nMaxStartups 5:50:20\n"
			 "LoginGraceTime 1m30s\nRekeyLimit 512M 1h\nLogLevel ERROR\n"
			 "SyslogFacility LOCAL3\nPermitOpen 198.18.0.1:5432 198.18.0.1:*\n"
			 "Service db 198.18.0.1:5432\nWorkerIdle sleep 5\nPerSourceMaxStartups 3\n"
			 "PerSourcePenalties no\nKexAlgorithms -sntrup*\nChannelWindowMax 64M\n");
	CHECK(strstr(out, "port 2222\n") != NULL);
	CHECK(strstr(out, "maxstartups 5:50:20\n") != NULL);
	CHECK(strstr(out, "logingracetime 90\n") != NULL);
	CHECK(strstr(out, "rekeylimit 536870912 3600\n") != NULL);
	CHECK(strstr(out, "loglevel ERROR\n") != NULL);
	CHECK(strstr(out, "syslogfacility LOCAL3\n") != NULL);
	CHECK(strstr(out, "permitopen 198.18.0.1:5432 198.18.0.1:*\n") != NULL);
	CHECK(strstr(out, "service db 198.18.0.1:5432\n") != NULL);
	CHECK(strstr(out, "workeridle sleep 5\n") != NULL);
	CHECK(strstr(out, "tcpcongestion cubic\n") != NULL); /* the default */
	CHECK(strstr(out, "tcpreceivewindowmax 16777216\n") != NULL); /* the default */
	CHECK(strstr(out, "tcpsendbuffermax 16777216\n") != NULL);
	CHECK(strstr(out, "channelwindowmax 67108864\n") != NULL);
	CHECK(strstr(out, "persourcemaxstartups 3\n") != NULL);
	CHECK(strstr(out, "persourcepenalties no\n") != NULL);
	CHECK(strstr(out, "sntrup") == NULL);
	free(out);
	out = dump("HostCertificate /etc/sshterm/a-cert.pub\nHostCertificate /etc/sshterm/b-cert.pub\n");
	CHECK(strstr(out, "hostcertificate /etc/sshterm/a-cert.pub\nhostcertificate "
			  "/etc/sshterm/b-cert.pub\n") != NULL);
	free(out);
	out = dump("Port 22\n");
	CHECK(strstr(out, "hostcertificate none\n") != NULL);
	free(out);
}

static void test_conn_spec(void)
{
	struct st_conf_conn_spec s;
	char err[128];

	CHECK(st_conf_conn_spec_parse("user=alice,addr=198.18.0.9,host=h,laddr=198.18.0.2,lport=22",
				      &s, err, sizeof(err)) == 0);
	CHECK(strcmp(s.user, "alice") == 0 && strcmp(s.addr, "198.18.0.9") == 0 && s.lport == 22);
	CHECK(st_conf_conn_spec_parse("addr=fd00::9", &s, err, sizeof(err)) == 0);
	CHECK(st_conf_conn_spec_parse("addr=not-an-ip", &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not an address") != NULL);
	CHECK(st_conf_conn_spec_parse("lport=70000", &s, err, sizeof(err)) == -1);
	CHECK(st_conf_conn_spec_parse("colour=blue", &s, err, sizeof(err)) == -1);
	CHECK(st_conf_conn_spec_parse("user", &s, err, sizeof(err)) == -1);
	CHECK(st_conf_conn_spec_parse("=x", &s, err, sizeof(err)) == -1);
}

int main(void)
{
	RUN(test_every_keyword);
	RUN(test_values);
	RUN(test_dual_stack);
	RUN(test_conn_spec);
	return st_test_done("test_conf_dump");
}
