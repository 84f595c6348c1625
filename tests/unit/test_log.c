/* LogLevel, SyslogFacility and the log line sink (control/log.c), and their keywords. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "control/conffile.h"
#include "control/log.h"
#include "tests/unit/test.h"

static void test_level_names(void)
{
	static const struct {
		const char *name;
		int want;
	} ok[] = {
		{"QUIET", ST_LOGLEVEL_QUIET}, {"fatal", ST_LOGLEVEL_FATAL},
		{"Error", ST_LOGLEVEL_ERROR}, {"INFO", ST_LOGLEVEL_INFO},
		{"VERBOSE", ST_LOGLEVEL_INFO}, {"DEBUG", ST_LOGLEVEL_DEBUG},
		{"DEBUG1", ST_LOGLEVEL_DEBUG}, {"debug3", ST_LOGLEVEL_DEBUG},
	};
	int v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 99;
		CHECK(st_log_level_from_name(ok[i].name, &v) == 0);
		CHECK(v == ok[i].want);
	}
	CHECK(st_log_level_from_name("DEBUG4", &v) == -1);
	CHECK(st_log_level_from_name("", &v) == -1);
	CHECK(strcmp(st_log_level_name(ST_LOGLEVEL_ERROR), "ERROR") == 0);
}

static void test_facility_names(void)
{
	int f = -1;

	CHECK(st_log_facility_from_name("AUTH", &f) == 0 && f == LOG_AUTH);
	CHECK(st_log_facility_from_name("authpriv", &f) == 0 && f == LOG_AUTHPRIV);
	CHECK(st_log_facility_from_name("LOCAL7", &f) == 0 && f == LOG_LOCAL7);
	CHECK(st_log_facility_from_name("DAEMON", &f) == 0 && f == LOG_DAEMON);
	CHECK(st_log_facility_from_name("LOCAL8", &f) == -1);
	CHECK(st_log_facility_from_name("KERN", &f) == -1);
	CHECK(strcmp(st_log_facility_name(LOG_LOCAL3), "LOCAL3") == 0);
}

/* What st_log_line writes to stderr (through a temporary file). */
static void capture(const struct st_log *l, int prio, const char *line, char *out, size_t outsz)
{
	char path[] = "/tmp/st-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);

	out[0] = '\0';
	if (fd < 0 || saved < 0) {
		CHECK(!"temporary file");
		return;
	}
	fflush(stderr);
	dup2(fd, 2);
	st_log_line(l, prio, line);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, out, outsz - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

static void test_thresholds(void)
{
	struct st_log l = {ST_LOGLEVEL_INFO, 0, LOG_AUTH};
	char out[256], want[128];

	snprintf(want, sizeof(want), "sshterm[%d]: Accepted publickey for x\n", (int)getpid());
	capture(&l, LOG_INFO, "Accepted publickey for x", out, sizeof(out));
	CHECK(strcmp(out, want) == 0);
	capture(&l, LOG_DEBUG, "debug line", out, sizeof(out));
	CHECK(out[0] == '\0');
	l.max_prio = ST_LOGLEVEL_ERROR;
	capture(&l, LOG_INFO, "info line", out, sizeof(out));
	CHECK(out[0] == '\0');
	capture(&l, LOG_ERR, "error line", out, sizeof(out));
	CHECK(strstr(out, "error line") != NULL);
	l.max_prio = ST_LOGLEVEL_QUIET;
	capture(&l, LOG_ERR, "error line", out, sizeof(out));
	CHECK(out[0] == '\0');
}

static void test_keywords(void)
{
	struct st_daemon_conf c;
	char err[ST_CONF_ERR_MAX];
	static const char good[] = "LogLevel VERBOSE\nSyslogFacility LOCAL2\n";
	static const char bad1[] = "LogLevel LOUD\n";
	static const char bad2[] = "SyslogFacility MAIL7\n";

	st_daemon_conf_init(&c);
	CHECK(c.log_level == ST_LOGLEVEL_INFO && c.syslog_facility == LOG_AUTH);
	CHECK(st_daemon_conf_parse(&c, good, strlen(good), "t.conf", err, sizeof(err)) == ST_OK);
	CHECK(c.log_level == ST_LOGLEVEL_INFO && c.syslog_facility == LOG_LOCAL2);
	st_daemon_conf_free(&c);
	st_daemon_conf_init(&c);
	CHECK(st_daemon_conf_parse(&c, bad1, strlen(bad1), "t.conf", err, sizeof(err)) != ST_OK);
	CHECK(strstr(err, "t.conf:1") != NULL && strstr(err, "LOUD") != NULL);
	st_daemon_conf_free(&c);
	st_daemon_conf_init(&c);
	CHECK(st_daemon_conf_parse(&c, bad2, strlen(bad2), "t.conf", err, sizeof(err)) != ST_OK);
	CHECK(strstr(err, "MAIL7") != NULL);
	st_daemon_conf_free(&c);
}

int main(void)
{
	RUN(test_level_names);
	RUN(test_facility_names);
	RUN(test_thresholds);
	RUN(test_keywords);
	return st_test_done("test_log");
}
