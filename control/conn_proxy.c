/*
 * PROXY protocol from the front (ProxyProtocol, ProxyProtocolFrom): the
 * policy for one connection. The worker hands up the header bytes it framed
 * (ST_UP_PROXY); here they are parsed (control/proxyhdr.h), the TCP peer is
 * checked against ProxyProtocolFrom, and an accepted header's source becomes
 * the connection's peer address for everything after it: logs, from= in
 * authorized_keys, per-source limits and `sshtermctl sessions` (the shard
 * reads it through st_ctl_conn_peer()).
 *
 * State lives in struct st_ctl_conn, owned by the control thread of the
 * connection's shard, like the rest of conn.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "control/conn_internal.h"
#include "control/proxyhdr.h"
#include "crypto/err.h"
#include "dataplane/ssh/msg.h"

int ctl_proxy_open(struct st_ctl_conn *c)
{
	memcpy(c->tcp_peer_ip, c->peer_ip, sizeof(c->tcp_peer_ip));
	c->tcp_peer_port = c->peer_port;
	c->proxy_listed = (uint8_t)st_ctl_config_proxy_listed(c->cfg, c->peer_ip);
	c->peer_final = !c->proxy_listed;
	if (c->cfg->proxy_mode == ST_PROXY_REQUIRE && !c->proxy_listed)
		return ctl_fail(c, ST_CTL_DISC_PROXY_UNLISTED, SSH_DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT,
				ST_CLOSE_REFUSED,
				"ProxyProtocol require: source not in ProxyProtocolFrom");
	return ST_OK;
}

int ctl_proxy_header(struct st_ctl_conn *c, const struct st_plane_msg *m)
{
	struct st_proxyhdr h;
	char src[ST_IP_STR], dst[ST_IP_STR];
	int r;

	if (!c->proxy_listed)
		return ctl_fail(c, ST_CTL_DISC_PROXY_UNLISTED, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_REFUSED, "PROXY header from a source not in ProxyProtocolFrom%s",
				c->cfg->proxy_mode == ST_PROXY_OFF ? " (ProxyProtocol off)" : "");
	if (c->proxy_seen || c->have_version)
		return ctl_fail(c, ST_CTL_DISC_INTERNAL, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_INTERNAL, "PROXY header out of order");
	if ((r = st_proxyhdr_parse(m->data, m->len, &h)) != ST_PROXYHDR_OK)
		return ctl_fail(c, ST_CTL_DISC_PROXY_BAD, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_PROTOCOL, "bad PROXY header (%u bytes): %s", m->len,
				st_proxyhdr_err_str(r));
	c->proxy_seen = 1;
	c->peer_final = 1;
	ctl_count(c, ST_CTL_PROXY_ACCEPTED);
	if (h.family == ST_PROXYHDR_NONE) {
		/* LOCAL / UNKNOWN: the connection speaks for itself (a health check). */
		ctl_logf(c, ST_LOG_INFO, "PROXY v%d header from %s port %u: LOCAL, addresses kept",
			 h.version, c->tcp_peer_ip, c->tcp_peer_port);
		return ST_OK;
	}
	int af = h.family == ST_PROXYHDR_INET ? AF_INET : AF_INET6;
	if (inet_ntop(af, h.src, src, sizeof(src)) == NULL ||
	    inet_ntop(af, h.dst, dst, sizeof(dst)) == NULL)
		return ctl_fail(c, ST_CTL_DISC_PROXY_BAD, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_PROTOCOL, "bad PROXY header: unprintable address");
	memcpy(c->peer_ip, src, sizeof(c->peer_ip));
	c->peer_port = h.src_port;
	memcpy(c->local_ip, dst, sizeof(c->local_ip));
	c->local_port = h.dst_port;
	ctl_logf(c, ST_LOG_INFO, "Connection from %s port %u on %s port %u via PROXY v%d from %s port %u",
		 c->peer_ip, c->peer_port, c->local_ip, c->local_port, h.version, c->tcp_peer_ip,
		 c->tcp_peer_port);
	return ST_OK;
}

int ctl_proxy_version(struct st_ctl_conn *c)
{
	if (c->proxy_listed && !c->proxy_seen && c->cfg->proxy_mode == ST_PROXY_REQUIRE)
		return ctl_fail(c, ST_CTL_DISC_PROXY_MISSING, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_REFUSED, "ProxyProtocol require: no PROXY header");
	c->peer_final = 1;
	return ST_OK;
}
