/*
 * sshtermctl: the operator CLI. Talks to a running sshterm over its control
 * socket (ControlSocket, default /run/sshterm.sock).
 *
 *   sshtermctl [-s SOCKET] status | sessions | session ID | kill ID |
 *              stats [--json | --prometheus] | reload | rekey ID | help |
 *              top [-d SECONDS] [-n ITERATIONS]
 *
 * Every command also takes --json; stats also --prometheus (the text
 * MetricsListen serves); top is control/ctl_top.h. Exit status: 0 success, 1 the daemon
 * answered with an error or could not be reached, 2 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/conffile.h"
#include "control/ctl_top.h"
#include "control/ctlsock.h"
#include "crypto/buf.h"
#include "crypto/err.h"

#define ID_MAX 40

struct cmd_spec {
	const char *name;
	int takes_id; /* 1: exactly one session id */
	const char *what;
};

static const struct cmd_spec cmds[] = {
	{"status", 0, "daemon state: uptime, workers, ports, sessions"},
	{"sessions", 0, "one line per session"},
	{"session", 1, "everything about one session"},
	{"kill", 1, "disconnect a session"},
	{"stats", 0, "per-worker counters, drops, crypto backend (--prometheus: text format)"},
	{"reload", 0, "re-read authorized_keys and host keys"},
	{"rekey", 1, "start a key exchange on a session"},
	{"help", 0, "the daemon's list of commands"},
	{"top", 0, "live view: workers, sessions by throughput (-d SECONDS, -n COUNT)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sshtermctl [-s SOCKET] COMMAND [ARG] [--json]\n"
		   "       sshtermctl [-s SOCKET] stats --prometheus\n"
		   "       sshtermctl [-s SOCKET] top [-d SECONDS] [-n COUNT]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %-4s %s\n", cmds[i].name, cmds[i].takes_id ? "ID" : "",
			cmds[i].what);
	fprintf(f, "\nSOCKET defaults to %s\n", ST_CONF_DEFAULT_SOCKET);
}

/* Session ids are short tokens of letters, digits and ":._-". */
static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == ':' || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *sock = ST_CONF_DEFAULT_SOCKET;
	const struct cmd_spec *spec = NULL;
	const char *id = NULL;
	int json = 0, prom = 0, opt;

	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0)
			spec = &cmds[i];
	if (spec == NULL) {
		fprintf(stderr, "sshtermctl: unknown command '%s'\n\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (strcmp(spec->name, "top") == 0)
		return st_ctl_top_main(sock, argc - optind, argv + optind);
	for (int i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--prometheus") == 0 && strcmp(spec->name, "stats") == 0) {
			prom = 1;
		} else if (spec->takes_id && id == NULL) {
			id = argv[i];
		} else {
			fprintf(stderr, "sshtermctl: %s: unexpected argument '%s'\n", spec->name,
				argv[i]);
			return 2;
		}
	}
	if (spec->takes_id && id == NULL) {
		fprintf(stderr, "sshtermctl: %s needs a session ID (see 'sshtermctl sessions')\n",
			spec->name);
		return 2;
	}
	if (id != NULL && !valid_id(id)) {
		fprintf(stderr, "sshtermctl: '%s' is not a session ID\n", id);
		return 2;
	}

	char line[128];
	if (json && prom) {
		fprintf(stderr, "sshtermctl: stats: --json or --prometheus, not both\n");
		return 2;
	}
	snprintf(line, sizeof(line), "%s%s%s%s%s", spec->name, id ? " " : "", id ? id : "",
		 json ? " --json" : "", prom ? " --prometheus" : "");
	struct st_buf ans;
	if (st_buf_alloc(&ans, 4096, ST_CTLSOCK_ANSWER_MAX) != ST_OK)
		return 1;
	int r = st_ctlsock_request(sock, line, 10000, &ans);
	if (r == ST_ERR_SYSTEM) {
		fprintf(stderr, "sshtermctl: cannot reach sshterm at %s: %s (is it running?)\n",
			sock, strerror(errno));
		return 1;
	}
	if (r != ST_OK) {
		fprintf(stderr, "sshtermctl: %s: %s\n", sock,
			r == ST_ERR_AGAIN ? "no answer in 10 s" : st_err_str(r));
		return 1;
	}
	const char *a = (const char *)st_buf_ptr(&ans);
	size_t n = st_buf_avail(&ans);
	if (n >= 3 && memcmp(a, "ok\n", 3) == 0) {
		fwrite(a + 3, 1, n - 3, stdout);
		st_buf_free(&ans);
		return 0;
	}
	if (n >= 7 && memcmp(a, "error: ", 7) == 0)
		fprintf(stderr, "sshtermctl: %.*s", (int)(n - 7), a + 7);
	else
		fprintf(stderr, "sshtermctl: malformed answer from %s\n", sock);
	st_buf_free(&ans);
	return 1;
}
