#include "control/log.h"

#include <stdio.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

static const struct {
	const char *name;
	int max_prio;
} levels[] = {
	{"QUIET", ST_LOGLEVEL_QUIET}, {"FATAL", ST_LOGLEVEL_FATAL}, {"ERROR", ST_LOGLEVEL_ERROR},
	{"INFO", ST_LOGLEVEL_INFO},   {"VERBOSE", ST_LOGLEVEL_INFO}, {"DEBUG", ST_LOGLEVEL_DEBUG},
	{"DEBUG1", ST_LOGLEVEL_DEBUG}, {"DEBUG2", ST_LOGLEVEL_DEBUG}, {"DEBUG3", ST_LOGLEVEL_DEBUG},
};

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{"DAEMON", LOG_DAEMON}, {"USER", LOG_USER},     {"AUTH", LOG_AUTH},
	{"AUTHPRIV", LOG_AUTHPRIV}, {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1},
	{"LOCAL2", LOG_LOCAL2}, {"LOCAL3", LOG_LOCAL3}, {"LOCAL4", LOG_LOCAL4},
	{"LOCAL5", LOG_LOCAL5}, {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int st_log_level_from_name(const char *name, int *max_prio)
{
	for (size_t i = 0; i < NELEM(levels); i++)
		if (strcasecmp(name, levels[i].name) == 0) {
			*max_prio = levels[i].max_prio;
			return 0;
		}
	return -1;
}

const char *st_log_level_name(int max_prio)
{
	for (size_t i = 0; i < NELEM(levels); i++)
		if (levels[i].max_prio == max_prio)
			return levels[i].name;
	return "INFO";
}

int st_log_facility_from_name(const char *name, int *facility)
{
	for (size_t i = 0; i < NELEM(facilities); i++)
		if (strcasecmp(name, facilities[i].name) == 0) {
			*facility = facilities[i].facility;
			return 0;
		}
	return -1;
}

const char *st_log_facility_name(int facility)
{
	for (size_t i = 0; i < NELEM(facilities); i++)
		if (facilities[i].facility == facility)
			return facilities[i].name;
	return "AUTH";
}

void st_log_open(const struct st_log *l)
{
	if (l->to_syslog)
		openlog("sshterm", LOG_PID | LOG_NDELAY, l->facility);
}

void st_log_line(const struct st_log *l, int prio, const char *line)
{
	if (prio > l->max_prio)
		return;
	if (l->to_syslog)
		syslog(prio, "%s", line);
	else
		fprintf(stderr, "sshterm[%d]: %s\n", (int)getpid(), line);
}
