/*
 * SSH load generator of sshterm-bench: the modes handshake, bulk and hold
 * (loadgen.c) on a pluggable transport.
 *
 *   sshterm-bench handshake|bulk|hold [options] [user@]host [COMMAND]
 *
 * loadgen.c owns everything SSH- and mode-related: one client engine
 * (control/client/sshc.h) per connection, the event loop of each thread,
 * timeouts, data checks, statistics and the report. A transport only moves
 * bytes: it opens a connection for a slot, sends bytes, closes, and calls
 * back when a connection is up, has bytes, is at EOF or failed.
 *
 * Transports:
 *   - "sock" (loadgen_sock.c): kernel TCP sockets, one epoll set per thread.
 *   - "dpdk" (loadgen_dpdk.c): sshterm's own userspace TCP stack on a DPDK
 *     port (net_memif against a daemon, or a NIC); chosen by `--dpdk`.
 *
 * Threads: loadgen.c runs one loop per thread (pthread). Each thread owns its
 * slots, engines, statistics and its transport state (`tctx`); nothing on
 * the per-connection path is shared between threads, so a transport needs no
 * locks either.
 */
#ifndef ST_SCRIPTS_BENCH_LOADGEN_H
#define ST_SCRIPTS_BENCH_LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "control/client/sshc.h"

/*
 * Entry point: argv[0] is the mode ("handshake", "bulk", "hold").
 * Returns the process exit status: 0 when no connection failed (or
 * --allow-fail), 1 when some did or setup failed, 2 on a usage error,
 * 130 when interrupted.
 */
int lg_main(int argc, char **argv);

/* One thread of the load generator (opaque to transports). */
struct lg_thread;

/* Where to connect: resolved once, before any thread starts. Read-only. */
struct lg_target {
	struct sockaddr_storage addr; /* IPv4 or IPv6, port included */
	socklen_t addrlen;
	const char *host;             /* as given on the command line */
	uint16_t port;
};

/*
 * A transport. Slots are numbered 0..slots-1 per thread; a slot holds at
 * most one connection at a time. Every function is called only from the
 * thread that owns tctx.
 *
 * Callbacks (lg_on_*) are made only from inside poll(). Each returns
 * LG_CONTINUE, or LG_STOP when the load generator is finished with the
 * slot: the transport then makes no further callback for that connection;
 * close() comes later, from outside poll().
 */
struct lg_transport {
	const char *name;

	/* Once per run, before the threads start / after they ended. May be NULL. */
	int (*init)(const struct lg_target *tgt, unsigned threads, void **gctx);
	void (*fini)(void *gctx);

	/* Per thread; slots is the most connections it will hold at once. */
	int (*thread_init)(void *gctx, const struct lg_target *tgt, struct lg_thread *t,
			   uint32_t slots, void **tctx);
	void (*thread_fini)(void *tctx);

	/*
	 * Starts connecting slot to the target. ST_OK: lg_on_connected() or
	 * lg_on_error() follows. Otherwise nothing is left open for the slot:
	 * ST_ERR_CONN_REFUSED, or ST_ERR_SYSTEM with errno set (EMFILE,
	 * EADDRNOTAVAIL, ...).
	 */
	int (*connect)(void *tctx, uint32_t slot);

	/*
	 * Sends up to n bytes of p, *sent how many were taken (all or part;
	 * never blocks). When fewer than n were taken the transport calls
	 * lg_on_writable() once more can go. Before the connection is up,
	 * takes nothing. Returns ST_OK, or ST_ERR_SYSTEM / ST_ERR_CONN_RESET
	 * (errno set) when the connection is broken.
	 */
	int (*send)(void *tctx, uint32_t slot, const uint8_t *p, size_t n, size_t *sent);

	/* Stops (paused = 1) or resumes delivering lg_on_data() for slot. */
	void (*read_pause)(void *tctx, uint32_t slot, int paused);

	/* Closes the slot's connection (any state) and frees the slot. */
	void (*close)(void *tctx, uint32_t slot);

	/*
	 * Waits at most timeout_ms (0: does not wait) for events and makes the
	 * callbacks. Returns ST_OK, or an ST_ERR_* that ends the thread.
	 */
	int (*poll)(void *tctx, int timeout_ms);
};

enum { LG_CONTINUE = 0, LG_STOP = 1 };

/* The connection of slot is up: the load generator starts sending. */
int lg_on_connected(struct lg_thread *t, uint32_t slot);
/* Bytes from the server. p is only valid during the call (all are taken). */
int lg_on_data(struct lg_thread *t, uint32_t slot, const uint8_t *p, size_t n);
/* After a short send(): more may go now. */
int lg_on_writable(struct lg_thread *t, uint32_t slot);
/* The server closed its side. */
int lg_on_eof(struct lg_thread *t, uint32_t slot);
/*
 * The connection failed: reason is SSHC_FAIL_REFUSED, SSHC_FAIL_IO (a
 * transport error) or SSHC_FAIL_TIMEOUT (the transport's own); err_no is
 * the errno behind it, 0 if none.
 */
int lg_on_error(struct lg_thread *t, uint32_t slot, enum st_sshc_fail reason, int err_no);

/* Kernel TCP sockets with epoll (loadgen_sock.c). */
extern const struct lg_transport lg_transport_sock;

/*
 * sshterm's userspace TCP on a DPDK port (loadgen_dpdk.c). The arguments
 * after `--dpdk`: argv[0] is the generator's own ADDR/PREFIX, the rest are
 * EAL arguments. ST_OK or ST_ERR_INVALID_ARGUMENT (message printed).
 */
extern const struct lg_transport lg_transport_dpdk;
int lg_dpdk_configure(int argc, char **argv);

/*
 * The kernel-socket transport's --source list (loadgen_sock.c). spec: ADDR,
 * ADDR-ADDR (IPv4) or a comma-separated list of these; family: the target's.
 * Prints what is wrong and returns ST_ERR_INVALID_ARGUMENT, or ST_OK. Called
 * before any thread starts.
 */
int lg_sock_configure_sources(const char *spec, int family);

#endif
