/*
 * PROXY protocol from the front (ProxyProtocol, ProxyProtocolFrom): the
 * policy for one connection. The worker hands up the header bytes it framed
 * (ST_UP_PROXY); here they are parsed (control/proxyhdr.h), the TCP peer is
 * checked against ProxyProtocolFrom, and an accepted header's source becomes
 * the connection's peer address for everything after it: logs, from= in
 * authorized_keys, per-source limits and `sshtermctl sessions` (the shard
 * reads it through st_ctl_conn_peer()).
 *
 * To backends: a Service with proxy-protocol=v2 gets a v2 header built here
 * (ctl_proxy_backend_header), carried to the worker in the ATTACH_SERVICE
 * message and written before any channel data (dataplane/ssh/service.c).
 *
 * State lives in struct st_ctl_conn, owned by the control thread of the
 * connection's shard, like the rest of conn.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Text address to header bytes; 0 or -1. A v4 address next to a v6 one is written v4-mapped. */
static int addr_bytes(const char *ip, int want6, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!want6)
		return inet_pton(AF_INET, ip, out) == 1 ? 0 : -1;
	if (inet_pton(AF_INET6, ip, out) == 1)
		return 0;
	if (inet_pton(AF_INET, ip, out + 12) != 1)
		return -1;
	out[10] = out[11] = 0xff;
	return 0;
}

int ctl_proxy_backend_header(struct st_ctl_conn *c, struct st_plane_msg *m, const char *cmd,
			     size_t len)
{
	struct st_proxyhdr h;
	struct st_proxyhdr_tlv t[5];
	size_t n = 0, ntlv = 0;
	uint8_t *buf;

	if (m->u.service.kind != ST_SERVICE_BACKEND)
		return ST_OK;
	const struct st_ctl_service *sv = st_ctl_config_service(c->cfg, m->u.service.name);
	if (sv == NULL || !sv->proxy_v2)
		return ST_OK;
	memset(&h, 0, sizeof(h));
	int v6 = strchr(c->peer_ip, ':') != NULL || strchr(c->local_ip, ':') != NULL;
	h.family = v6 ? ST_PROXYHDR_INET6 : ST_PROXYHDR_INET;
	if (addr_bytes(c->peer_ip, v6, h.src) != 0 || addr_bytes(c->local_ip, v6, h.dst) != 0)
		h.family = ST_PROXYHDR_NONE; /* not an IP peer (tests): a LOCAL header */
	h.src_port = c->peer_port;
	h.dst_port = c->local_port;
	if (len > ST_SERVICE_ARGS_MAX)
		len = ST_SERVICE_ARGS_MAX;
	t[ntlv++] = (struct st_proxyhdr_tlv){ST_PP2_TYPE_USER, (const uint8_t *)c->user,
					      (uint16_t)strlen(c->user)};
	if (c->key_fp[0] != '\0')
		t[ntlv++] = (struct st_proxyhdr_tlv){ST_PP2_TYPE_KEY_FP, (const uint8_t *)c->key_fp,
						      (uint16_t)strlen(c->key_fp)};
	t[ntlv++] = (struct st_proxyhdr_tlv){ST_PP2_TYPE_COMMAND, (const uint8_t *)cmd, (uint16_t)len};
	if (c->cert_fp[0] != '\0') {
		t[ntlv++] = (struct st_proxyhdr_tlv){ST_PP2_TYPE_CERT_FP, (const uint8_t *)c->cert_fp,
						      (uint16_t)strlen(c->cert_fp)};
		t[ntlv++] = (struct st_proxyhdr_tlv){ST_PP2_TYPE_CERT_ID, (const uint8_t *)c->cert_id,
						      (uint16_t)strlen(c->cert_id)};
	}
	if ((buf = malloc(ST_PROXYHDR_MAX)) == NULL)
		return ST_ERR_ALLOC;
	if (st_proxyhdr_v2_build(&h, t, ntlv, buf, ST_PROXYHDR_MAX, &n) != ST_PROXYHDR_OK) {
		free(buf); /* cannot happen: user, fingerprints, key id and command are bounded far below */
		return ST_ERR_INTERNAL;
	}
	free(m->data);
	m->data = buf;
	m->len = (uint32_t)n;
	return ST_OK;
}
