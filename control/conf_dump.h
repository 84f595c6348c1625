/*
 * `sshterm -T`: the effective configuration, as `sshd -T` prints it: one
 * line per keyword, the keyword in lower case, then its value(s) after
 * defaults and the file were applied. Repeatable keywords print one line per
 * value. Every keyword the parser knows is printed (a unit test checks it
 * through st_daemon_conf_keyword()).
 */
#ifndef ST_CONTROL_CONF_DUMP_H
#define ST_CONTROL_CONF_DUMP_H

#include <stdio.h>

#include "control/conffile.h"

/*
 * Connection parameters of `-T -C user=U,addr=A,...`. sshterm has no Match
 * blocks, so they change nothing yet; they are parsed (and a bad one is an
 * error) so that scripts written against sshd -T -C work.
 */
struct st_conf_conn_spec {
	char user[64];
	char addr[64];
	char host[256];
	char laddr[64];
	unsigned lport;
};

/* Parses "user=alice,addr=198.18.0.9,host=x,laddr=...,lport=22". 0, or -1 with err filled. */
int st_conf_conn_spec_parse(const char *s, struct st_conf_conn_spec *out, char *err,
			    size_t errsz);

/* Writes the effective configuration of c. Returns 0, or -1 on a write error. */
int st_daemon_conf_dump(const struct st_daemon_conf *c, FILE *out);

#endif
