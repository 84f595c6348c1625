/*
 * `sshtermctl top`: a live view of a running daemon, like top(1), over the
 * control socket (nothing runs in the daemon but the ordinary commands).
 *
 * Every interval it asks `stats --prometheus` (control/metrics.h) and
 * `sessions --json`, and shows the differences with the previous answers:
 *   per worker  Gbit/s (rx+tx frames), packets/s, busy %, busy cycles/byte,
 *               sessions
 *   control     logins/s (USERAUTH_SUCCESS), key exchanges/s, failures/s
 *               (failed authentications, control-plane disconnects and
 *               MaxStartups refusals)
 *   sessions    sorted by bytes/s (in+out): id, user, peer, algorithms,
 *               bytes/s, age
 * On a terminal the screen is redrawn with plain ANSI escapes (no curses),
 * as many session rows as fit, and 'q' quits. When stdout is not a terminal
 * it prints one summary line per interval instead.
 *
 *   top [-d SECONDS] [-n ITERATIONS]   -d: 0.1..3600 (default 1); -n: stop
 *                                      after that many refreshes (0: never)
 */
#ifndef ST_CONTROL_CTL_TOP_H
#define ST_CONTROL_CTL_TOP_H

#include <stddef.h>

/* argv[0] is "top". Returns the exit status: 0, 1 (daemon unreachable or an error), 2 (usage). */
int st_ctl_top_main(const char *sock, int argc, char **argv);

/* ---- the parsers, exported for the unit tests ---- */

#define ST_TOP_MAX_WORKERS 64

struct st_top_sample {
	double t;                  /* monotonic seconds */
	unsigned nworkers;         /* highest worker id seen + 1 */
	struct {
		double rx_bytes, tx_bytes, rx_pkts, tx_pkts, busy, idle, sessions;
	} w[ST_TOP_MAX_WORKERS];
	double auth_ok, auth_failed, kex, disconnects, startups_dropped, sessions;
};

/* Fills s (t untouched) from a `stats --prometheus` text. ST_OK or ST_ERR_FORMAT. */
int st_top_parse_prom(const char *text, size_t len, struct st_top_sample *s);

struct st_top_sess {
	unsigned long long id, bytes, age_s;
	unsigned port;
	char user[33], peer[48], algs[96];
};

/*
 * Parses a `sessions --json` array into rows (at most max; *n says how many
 * were stored). ST_OK, ST_ERR_FORMAT (not the array of flat objects the
 * daemon writes).
 */
int st_top_parse_sessions(const char *text, size_t len, struct st_top_sess *rows, size_t max,
			  size_t *n);

#endif
