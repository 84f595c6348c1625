/*
 * libssh-client: a small SSH client on libssh, for the end-to-end tests (an
 * implementation independent of OpenSSH, paramiko and dropbear).
 *
 *   libssh-client [-p PORT] [-l USER] -i KEY -k KNOWN_HOSTS [-c CIPHERS]
 *       [-m MACS] [-x KEX] [-H HOSTKEY_ALGS] [-t CONNECT_TIMEOUT_S] [-v]
 *       [USER@]HOST COMMAND...
 *
 * Connects, checks the server's host key against KNOWN_HOSTS only (no global
 * file, no ~/.ssh/config) and refuses anything but an exact match, logs in
 * with the private key KEY, opens a session channel and execs COMMAND (the
 * arguments joined by spaces). stdin is streamed to the channel, with EOF
 * after the last byte; the channel's data goes to stdout and its extended
 * data to stderr. The algorithm lists are OpenSSH-style comma-separated
 * lists, set for both directions.
 *
 * Exit status: the remote command's exit status; 255 on any error (connect,
 * host key, authentication, channel), with one line on stderr naming it;
 * also 255 when the channel closes without an exit-status.
 * -v prints the negotiated algorithms on stderr; -vv and -vvv also turn on
 * libssh's protocol and packet logs.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#define EXIT_ERR   255
#define IO_CHUNK   32768u
#define CMD_MAX    4096u
#define POLL_MS    50

struct opts {
	const char *host;
	const char *user;
	const char *key;
	const char *known_hosts;
	const char *ciphers;
	const char *macs;
	const char *kex;
	const char *hostkeys;
	unsigned port;
	long timeout_s;
	int verbose;
	char cmd[CMD_MAX];
};

static void usage(void)
{
	fprintf(stderr, "usage: libssh-client [-p PORT] [-l USER] -i KEY -k KNOWN_HOSTS [-c CIPHERS]\n"
			"         [-m MACS] [-x KEX] [-H HOSTKEY_ALGS] [-t SECONDS] [-v]\n"
			"         [USER@]HOST COMMAND...\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;
	char *end;

	memset(o, 0, sizeof(*o));
	o->port = 22;
	o->timeout_s = 20;
	while ((c = getopt(argc, argv, "+p:l:i:k:c:m:x:H:t:v")) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			o->port = (unsigned)strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->port == 0 || o->port > 65535)
				return -1;
			break;
		case 'l': o->user = optarg; break;
		case 'i': o->key = optarg; break;
		case 'k': o->known_hosts = optarg; break;
		case 'c': o->ciphers = optarg; break;
		case 'm': o->macs = optarg; break;
		case 'x': o->kex = optarg; break;
		case 'H': o->hostkeys = optarg; break;
		case 't':
			errno = 0;
			o->timeout_s = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->timeout_s <= 0)
				return -1;
			break;
		case 'v': o->verbose++; break;
		default: return -1;
		}
	}
	if (o->key == NULL || o->known_hosts == NULL || argc - optind < 2)
		return -1;

	/* [USER@]HOST; -l wins over USER@ as in OpenSSH. */
	char *host = argv[optind++];
	char *at = strrchr(host, '@');
	if (at != NULL) {
		*at = '\0';
		if (o->user == NULL)
			o->user = host;
		host = at + 1;
	}
	o->host = host;
	if (o->user == NULL || *o->user == '\0' || *o->host == '\0')
		return -1;

	size_t len = 0;
	for (int i = optind; i < argc; i++) {
		int n = snprintf(o->cmd + len, sizeof(o->cmd) - len, "%s%s", len ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(o->cmd) - len) {
			fprintf(stderr, "libssh-client: command longer than %u bytes\n", CMD_MAX - 1);
			return -1;
		}
		len += (size_t)n;
	}
	return 0;
}

static int set_opt(ssh_session s, enum ssh_options_e what, const void *val, const char *name)
{
	if (ssh_options_set(s, what, val) != SSH_OK) {
		fprintf(stderr, "libssh-client: option %s: %s\n", name, ssh_get_error(s));
		return -1;
	}
	return 0;
}

static int configure(ssh_session s, const struct opts *o)
{
	bool no = false;
	int verbosity = SSH_LOG_NOLOG;

	if (o->verbose > 2)
		verbosity = SSH_LOG_PACKET;
	else if (o->verbose > 1)
		verbosity = SSH_LOG_PROTOCOL;

	if (set_opt(s, SSH_OPTIONS_PROCESS_CONFIG, &no, "ProcessConfig") != 0 ||
	    set_opt(s, SSH_OPTIONS_HOST, o->host, "Host") != 0 ||
	    set_opt(s, SSH_OPTIONS_PORT, &o->port, "Port") != 0 ||
	    set_opt(s, SSH_OPTIONS_USER, o->user, "User") != 0 ||
	    set_opt(s, SSH_OPTIONS_TIMEOUT, &o->timeout_s, "Timeout") != 0 ||
	    set_opt(s, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts, "KnownHosts") != 0 ||
	    set_opt(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null", "GlobalKnownHosts") != 0 ||
	    set_opt(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity, "LogVerbosity") != 0)
		return -1;
	if (o->ciphers != NULL &&
	    (set_opt(s, SSH_OPTIONS_CIPHERS_C_S, o->ciphers, "Ciphers") != 0 ||
	     set_opt(s, SSH_OPTIONS_CIPHERS_S_C, o->ciphers, "Ciphers") != 0))
		return -1;
	if (o->macs != NULL && (set_opt(s, SSH_OPTIONS_HMAC_C_S, o->macs, "MACs") != 0 ||
				set_opt(s, SSH_OPTIONS_HMAC_S_C, o->macs, "MACs") != 0))
		return -1;
	if (o->kex != NULL && set_opt(s, SSH_OPTIONS_KEY_EXCHANGE, o->kex, "KexAlgorithms") != 0)
		return -1;
	if (o->hostkeys != NULL &&
	    set_opt(s, SSH_OPTIONS_HOSTKEYS, o->hostkeys, "HostKeyAlgorithms") != 0)
		return -1;
	return 0;
}

/* The server's host key must be the one known_hosts names for this host (and port). */
static int verify_host(ssh_session s, const struct opts *o)
{
	enum ssh_known_hosts_e st = ssh_session_is_known_server(s);

	switch (st) {
	case SSH_KNOWN_HOSTS_OK:
		return 0;
	case SSH_KNOWN_HOSTS_CHANGED:
		fprintf(stderr,
			"libssh-client: HOST KEY MISMATCH: the key of %s:%u differs from the one "
			"in %s; refusing to connect\n",
			o->host, o->port, o->known_hosts);
		return -1;
	case SSH_KNOWN_HOSTS_OTHER:
		fprintf(stderr,
			"libssh-client: HOST KEY MISMATCH: %s:%u offered a key type that %s does "
			"not list for it; refusing to connect\n",
			o->host, o->port, o->known_hosts);
		return -1;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		fprintf(stderr,
			"libssh-client: UNKNOWN HOST: no entry for %s:%u in %s; refusing to connect\n",
			o->host, o->port, o->known_hosts);
		return -1;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		fprintf(stderr, "libssh-client: host key check failed: %s\n", ssh_get_error(s));
		return -1;
	}
}

static int authenticate(ssh_session s, const struct opts *o)
{
	ssh_key key = NULL;
	int r;

	if (ssh_pki_import_privkey_file(o->key, NULL, NULL, NULL, &key) != SSH_OK) {
		fprintf(stderr, "libssh-client: cannot read private key %s\n", o->key);
		return -1;
	}
	r = ssh_userauth_publickey(s, NULL, key);
	ssh_key_free(key);
	if (r != SSH_AUTH_SUCCESS) {
		fprintf(stderr, "libssh-client: publickey authentication as %s refused%s%s\n", o->user,
			r == SSH_AUTH_ERROR ? ": " : "", r == SSH_AUTH_ERROR ? ssh_get_error(s) : "");
		return -1;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Copies everything buffered on one stream of the channel to fd. Returns 1 at
 * the remote EOF, 0 when nothing more is there now, -1 on error.
 */
static int drain(ssh_channel ch, int is_stderr, int fd, char *buf)
{
	for (;;) {
		int n = ssh_channel_read_nonblocking(ch, buf, IO_CHUNK, is_stderr);
		if (n == SSH_EOF)
			return 1;
		if (n < 0)
			return -1;
		if (n == 0)
			return ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch) ? 1 : 0;
		if (write_all(fd, buf, (size_t)n) != 0) {
			fprintf(stderr, "libssh-client: write to fd %d: %s\n", fd, strerror(errno));
			return -1;
		}
	}
}

/*
 * stdin -> channel and channel -> stdout/stderr at the same time. Writes never
 * exceed the peer's window, so the loop never blocks on one direction while
 * the other fills up; it waits in poll() on the socket and stdin.
 */
static int pump(ssh_session s, ssh_channel ch)
{
	char *buf = malloc(IO_CHUNK);
	int in_eof = 0, out_eof = 0, err_eof = 0, r = -1;

	if (buf == NULL)
		return -1;
	while (!(out_eof && err_eof)) {
		int d;
		if (!out_eof) {
			if ((d = drain(ch, 0, STDOUT_FILENO, buf)) < 0)
				goto fail;
			out_eof = d;
		}
		if (!err_eof) {
			if ((d = drain(ch, 1, STDERR_FILENO, buf)) < 0)
				goto fail;
			err_eof = d;
		}
		if (out_eof && err_eof)
			break;

		uint32_t win = in_eof ? 0 : ssh_channel_window_size(ch);
		struct pollfd pfd[2] = {
			{ .fd = ssh_get_fd(s), .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		int np = (!in_eof && win > 0) ? 2 : 1;
		if (poll(pfd, (nfds_t)np, POLL_MS) < 0 && errno != EINTR) {
			fprintf(stderr, "libssh-client: poll: %s\n", strerror(errno));
			goto out;
		}
		if (np == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			size_t want = win < IO_CHUNK ? win : IO_CHUNK;
			ssize_t n = read(STDIN_FILENO, buf, want);
			if (n < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "libssh-client: read stdin: %s\n", strerror(errno));
				goto out;
			}
			if (n == 0) {
				in_eof = 1;
				if (ssh_channel_send_eof(ch) != SSH_OK)
					goto fail;
			} else if (n > 0 && ssh_channel_write(ch, buf, (uint32_t)n) != n) {
				goto fail;
			}
		}
	}
	r = 0;
	goto out;
fail:
	fprintf(stderr, "libssh-client: channel: %s\n", ssh_get_error(s));
out:
	free(buf);
	return r;
}

static void print_algorithms(ssh_session s)
{
	ssh_key hk = NULL;
	const char *hkt = "?";

	if (ssh_get_server_publickey(s, &hk) == SSH_OK)
		hkt = ssh_key_type_to_char(ssh_key_type(hk));
	fprintf(stderr, "libssh-client: kex %s, hostkey %s, cipher %s/%s, mac %s/%s\n",
		ssh_get_kex_algo(s) ? ssh_get_kex_algo(s) : "?", hkt ? hkt : "?",
		ssh_get_cipher_out(s) ? ssh_get_cipher_out(s) : "?",
		ssh_get_cipher_in(s) ? ssh_get_cipher_in(s) : "?",
		ssh_get_hmac_out(s) ? ssh_get_hmac_out(s) : "?",
		ssh_get_hmac_in(s) ? ssh_get_hmac_in(s) : "?");
	ssh_key_free(hk);
}

int main(int argc, char **argv)
{
	struct opts o;
	ssh_session s = NULL;
	ssh_channel ch = NULL;
	int status = EXIT_ERR, connected = 0;

	if (parse_args(argc, argv, &o) != 0) {
		usage();
		return EXIT_ERR;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((s = ssh_new()) == NULL) {
		fprintf(stderr, "libssh-client: ssh_new failed\n");
		return EXIT_ERR;
	}
	if (configure(s, &o) != 0)
		goto out;
	if (ssh_connect(s) != SSH_OK) {
		fprintf(stderr, "libssh-client: connection to %s:%u failed (handshake): %s\n", o.host,
			o.port, ssh_get_error(s));
		goto out;
	}
	connected = 1;
	if (o.verbose)
		print_algorithms(s);
	if (verify_host(s, &o) != 0 || authenticate(s, &o) != 0)
		goto out;
	if ((ch = ssh_channel_new(s)) == NULL || ssh_channel_open_session(ch) != SSH_OK) {
		fprintf(stderr, "libssh-client: session channel refused: %s\n", ssh_get_error(s));
		goto out;
	}
	if (ssh_channel_request_exec(ch, o.cmd) != SSH_OK) {
		fprintf(stderr, "libssh-client: exec '%s' refused: %s\n", o.cmd, ssh_get_error(s));
		goto out;
	}
	if (pump(s, ch) != 0)
		goto out;
	int es = ssh_channel_get_exit_status(ch);
	if (es < 0 || es > 255)
		fprintf(stderr, "libssh-client: channel closed without an exit status\n");
	else
		status = es;
out:
	if (ch != NULL) {
		if (ssh_channel_is_open(ch))
			ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	if (connected)
		ssh_disconnect(s);
	ssh_free(s);
	return status;
}
