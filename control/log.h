/*
 * Where the daemon's log lines go and which ones: sshd's LogLevel and
 * SyslogFacility (sshd_config(5)).
 *
 * Lines are OpenSSH's ("Accepted publickey for ...", "Disconnected from
 * ..."), so fail2ban's stock sshd filter and log tooling read them. They go to
 * syslog (journald under systemd) with the configured facility, or to stderr
 * with `sshterm -e` (and -d), as "sshterm[PID]: LINE".
 *
 * Ownership: a struct st_log is filled once at start-up (and LogLevel again on
 * reload) by the main thread and then only read; syslog(3) and stdio are
 * thread-safe, so every control thread logs through it directly.
 */
#ifndef ST_CONTROL_LOG_H
#define ST_CONTROL_LOG_H

/* LogLevel thresholds: the highest syslog priority number still logged. */
#define ST_LOGLEVEL_QUIET (-1) /* nothing */
#define ST_LOGLEVEL_FATAL 2    /* LOG_CRIT */
#define ST_LOGLEVEL_ERROR 3    /* LOG_ERR */
#define ST_LOGLEVEL_INFO 6     /* LOG_INFO: the default */
#define ST_LOGLEVEL_DEBUG 7    /* LOG_DEBUG */

struct st_log {
	int max_prio;   /* an ST_LOGLEVEL_*: lines of a higher priority number are dropped */
	int to_syslog;  /* 1: syslog(3), 0: stderr */
	int facility;   /* LOG_AUTH etc. (SyslogFacility; default AUTH as sshd) */
};

/*
 * LogLevel NAME: QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2,
 * DEBUG3 (ASCII case-insensitive). VERBOSE logs what INFO does (sshterm logs
 * key fingerprints at INFO already); the DEBUG levels are one level.
 * Returns 0 and *max_prio, or -1 for another name.
 */
int st_log_level_from_name(const char *name, int *max_prio);

/* The LogLevel name of a threshold ("INFO", ...). */
const char *st_log_level_name(int max_prio);

/*
 * SyslogFacility NAME: DAEMON, USER, AUTH, AUTHPRIV, LOCAL0..LOCAL7 (case-
 * insensitive). Returns 0 and *facility (LOG_* value), or -1.
 */
int st_log_facility_from_name(const char *name, int *facility);

/* The SyslogFacility name of a LOG_* facility value ("AUTH", ...). */
const char *st_log_facility_name(int facility);

/* Opens syslog with ident "sshterm" when l->to_syslog. */
void st_log_open(const struct st_log *l);

/* Writes one line (no newline) at syslog priority prio, when l lets it through. */
void st_log_line(const struct st_log *l, int prio, const char *line);

#endif
