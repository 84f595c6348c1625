/*
 * The daemon's configuration file, in sshd_config style.
 *
 * One keyword per line, case-insensitive, then its arguments separated by
 * white space ("Keyword=value" also works); arguments may be double-quoted;
 * lines whose first non-blank character is '#' and empty lines are comments.
 * Unknown keywords, missing or extra arguments and bad values are errors that
 * name file:line. Keywords that may repeat: Port, ListenAddress, HostKey,
 * HostCertificate, Service, PermitOpen (which also takes several words). For the others the
 * first occurrence wins, as in sshd.
 *
 * Algorithm lists (KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms) accept
 * OpenSSH's modifiers: "+a,b" appends to the default list, "-a,b*" removes
 * (wildcards allowed), "^a,b" puts at the front.
 *
 * Host key files are recorded at parse time and loaded by
 * st_daemon_conf_load_hostkeys(), so that `reload` can read them again.
 */
#ifndef ST_CONTROL_CONFFILE_H
#define ST_CONTROL_CONFFILE_H

#include <stddef.h>
#include <stdint.h>

#include "control/config.h"
#include "control/srclimit.h"

#define ST_CONF_MAX_LISTEN 8
#define ST_CONF_MAX_PORTS 8
#define ST_CONF_ERR_MAX 512
#define ST_CONF_DEFAULT_SOCKET "/run/sshterm.sock"

struct st_conf_listen {
	char addr[ST_IP_STR]; /* "" = the interface address */
	uint16_t port;        /* 0 = every Port */
};

enum st_conf_crypto_backend {
	ST_CONF_CRYPTO_EVP,
	ST_CONF_CRYPTO_CRYPTODEV,
};

#define ST_CONF_MAX_CONTROL_THREADS 64
/* KexThreads: most, and "auto" (the default: as many as the control threads, at least 2). */
#define ST_CONF_MAX_KEX_THREADS 64
#define ST_CONF_KEX_THREADS_AUTO (~0u)
/* NeighborReachableTime: default and most, seconds. */
#define ST_CONF_NEIGH_REACHABLE_DEFAULT 30
#define ST_CONF_NEIGH_REACHABLE_MAX 3600
#define ST_CONF_MAX_CONTROL_CPUS 256

/* CryptoMode: how a cryptodev runs the record ciphers. */
enum st_conf_crypto_mode {
	ST_CONF_CRYPTO_MODE_AUTO, /* CPU crypto where the device has it, else enqueue/dequeue */
	ST_CONF_CRYPTO_MODE_OPS,  /* enqueue/dequeue (asynchronous) even on a CPU-crypto device */
	ST_CONF_CRYPTO_MODE_CPU,  /* CPU crypto; a device without it is a start-up error */
};

/* TCPCongestion: the userspace TCP's congestion control (dataplane/tcp/tcp_cc.h). */
#define ST_CONF_TCP_RCVWIN_MIN (256u << 10) /* the initial window */
#define ST_CONF_TCP_RCVWIN_MAX (512u << 20)
#define ST_CONF_TCP_RCVWIN_DEFAULT (16u << 20)

enum st_conf_tcp_cc {
	ST_CONF_TCP_CUBIC,   /* CUBIC with HyStart++ (the default) */
	ST_CONF_TCP_NEWRENO, /* NewReno */
};

struct st_daemon_conf {
	struct st_ctl_config ctl; /* what the control plane uses */

	uint16_t ports[ST_CONF_MAX_PORTS]; /* Port; default 22 */
	unsigned n_ports;
	struct st_conf_listen listen[ST_CONF_MAX_LISTEN]; /* ListenAddress */
	unsigned n_listen;

	char hostkey_paths[ST_CTL_MAX_HOSTKEYS][ST_CTL_PATH_MAX]; /* HostKey */
	unsigned n_hostkey_paths;
	char hostcert_paths[ST_CTL_MAX_HOSTKEYS][ST_CTL_PATH_MAX]; /* HostCertificate */
	unsigned n_hostcert_paths;

	char address[ST_IP_STR];  /* Address: the interface's IPv4 address, "" for none */
	uint8_t prefix_len;       /* ... and prefix length */
	char gateway[ST_IP_STR];  /* Gateway, "" for none */
	char address6[ST_IP_STR]; /* Address: the interface's IPv6 address, "" for none */
	uint8_t prefix6;          /* ... and prefix length */
	char gateway6[ST_IP_STR]; /* Gateway (IPv6), "" for none */
	char control_socket[108]; /* ControlSocket (sun_path size) */

	unsigned max_startups_begin; /* MaxStartups start:rate:full */
	unsigned max_startups_rate;
	unsigned max_startups_full;

	enum st_conf_crypto_backend crypto_backend;  /* CryptoBackend */
	char crypto_device[64];                      /* cryptodev name, "" = first */
	enum st_conf_crypto_mode crypto_mode;        /* CryptoMode */
	char crypto_provider[128];                   /* CryptoProvider NAME[:props] */
	char crypto_engine[64];                      /* CryptoEngine ID */
	char tap_interface[16];  /* TapInterface: the kernel TAP port (dataplane/vtap.h), "" for none */
	unsigned worker_idle_ms; /* WorkerIdle: sleep after this many ms without packets, 0 = poll */
	uint32_t neigh_reachable_s; /* NeighborReachableTime, seconds (ARP and ND entries) */
	enum st_conf_tcp_cc tcp_congestion; /* TCPCongestion */
	/* TCPReceiveWindowMax: what a TCP receive window may grow to (dataplane/tcp/
	 * tcp_rcvbuf.c), ST_CONF_TCP_RCVWIN_MIN..MAX; 16 MiB. The minimum keeps it fixed */
	uint32_t tcp_rcvwin_max;
	/* TCPSendBufferMax: what a TCP send buffer may grow to (tcp_sndbuf.c), the same range */
	uint32_t tcp_sndbuf_max;
	/* PerSourceNetBlockSize, PerSourceMaxStartups, PerSourcePenalties,
	 * PerSourcePenaltyExemptList, PerSourceKexRate (control/srclimit.h) */
	struct st_srclimit_conf srclimit;
	unsigned control_threads; /* ControlThreads: control-plane threads (shards), 1.. */
	uint16_t control_cpus[ST_CONF_MAX_CONTROL_CPUS]; /* ControlCpus: where they run */
	unsigned n_control_cpus;  /* 0: DPDK's control cpuset (the CPUs no lcore uses) */
	/* KexThreads: key-exchange helper threads (control/kex_pool.h), 0..64 (0: the
	 * control threads compute their key exchanges), or ST_CONF_KEX_THREADS_AUTO */
	unsigned kex_threads;
	int log_level;            /* LogLevel, an ST_LOGLEVEL_* (control/log.h); INFO */
	int syslog_facility;      /* SyslogFacility, a LOG_* facility; AUTH */
	/* MetricsListen ADDR:PORT: Prometheus /metrics on a kernel TCP socket
	 * (control/metrics_http.h); metrics_port 0: off (the default, and "none") */
	char metrics_addr[ST_IP_STR];
	uint16_t metrics_port;
};

/* The i-th keyword the parser knows (its canonical spelling), NULL past the last. */
const char *st_daemon_conf_keyword(unsigned i);

/* Defaults for everything (no host keys, no listeners beyond Port 22). */
int st_daemon_conf_init(struct st_daemon_conf *c);

/* Frees what the config owns (host keys) and wipes it. */
void st_daemon_conf_free(struct st_daemon_conf *c);

/*
 * Parses `len` bytes of configuration text; `name` is used in messages.
 * Returns ST_OK, or ST_ERR_FORMAT / ST_ERR_ALG_UNSUPPORTED / ST_ERR_NO_SPACE
 * ... with "name:line: what" in err[errsz]. `c` must come from
 * st_daemon_conf_init(); on error its contents are unspecified but freeable.
 */
int st_daemon_conf_parse(struct st_daemon_conf *c, const char *text, size_t len,
			 const char *name, char *err, size_t errsz);

/* Reads and parses a file (cap 1 MiB). ST_ERR_SYSTEM when it cannot be read. */
int st_daemon_conf_load(struct st_daemon_conf *c, const char *path, char *err, size_t errsz);

/*
 * Loads every HostKey file into c->ctl, then every HostCertificate file
 * (control/hostcert.h: each attached to the HostKey it certifies). At least
 * one HostKey is required: a config without HostKey is an error ("no HostKey
 * configured"). Errors name the file: "path: key is protected by a
 * passphrase (not supported)", "path: not a host certificate", ...
 */
int st_daemon_conf_load_hostkeys(struct st_daemon_conf *c, char *err, size_t errsz);

#endif
