#include "control/channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/conn_internal.h"
#include "crypto/err.h"
#include "dataplane/ssh/msg.h"

#define SSH_OPEN_ADMINISTRATIVELY_PROHIBITED 1
#define SSH_OPEN_CONNECT_FAILED 2
#define SSH_OPEN_UNKNOWN_CHANNEL_TYPE 3
#define SSH_OPEN_RESOURCE_SHORTAGE 4

#define CTL_CHANNELS_MAX 1024

int st_ctl_parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	size_t i;

	if (len == 0)
		return ST_ERR_FORMAT;
	switch (s[len - 1]) {
	case 'K': case 'k':
		mul = 1ull << 10;
		len--;
		break;
	case 'M': case 'm':
		mul = 1ull << 20;
		len--;
		break;
	case 'G': case 'g':
		mul = 1ull << 30;
		len--;
		break;
	default:
		break;
	}
	if (len == 0 || len > 15)
		return ST_ERR_FORMAT;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ST_ERR_FORMAT;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (UINT64_MAX >> 30))
		return ST_ERR_FORMAT;
	*out = v * mul;
	return ST_OK;
}

int st_ctl_service_resolve(const struct st_ctl_config *cfg, const char *cmd, size_t len,
			   struct st_plane_msg *out)
{
	char name[ST_SERVICE_NAME_MAX];
	const char *args;
	size_t nl = 0, al;
	uint64_t bytes = 0;

	while (len > 0 && cmd[0] == ' ')
		cmd++, len--;
	while (len > 0 && cmd[len - 1] == ' ')
		len--;
	if (len == 0 || len >= ST_SERVICE_ARGS_MAX)
		return ST_ERR_FORMAT;
	for (size_t i = 0; i < len; i++)
		if (cmd[i] < 0x20 || cmd[i] > 0x7e)
			return ST_ERR_FORMAT;
	while (nl < len && cmd[nl] != ' ')
		nl++;
	if (nl >= sizeof(name))
		return ST_ERR_NOT_FOUND;
	memcpy(name, cmd, nl);
	name[nl] = '\0';
	args = cmd + nl;
	al = len - nl;
	while (al > 0 && args[0] == ' ')
		args++, al--;

	if (strcmp(name, "sink") == 0 || strcmp(name, "echo") == 0) {
		if (al != 0)
			return ST_ERR_FORMAT;
		out->u.service.kind = name[0] == 's' ? ST_SERVICE_SINK : ST_SERVICE_ECHO;
	} else if (strcmp(name, "source") == 0) {
		if (st_ctl_parse_size(args, al, &bytes) != 0)
			return ST_ERR_FORMAT;
		out->u.service.kind = ST_SERVICE_SOURCE;
	} else {
		const struct st_ctl_service *sv = st_ctl_config_service(cfg, name);
		if (sv == NULL)
			return ST_ERR_NOT_FOUND;
		if (al != 0)
			return ST_ERR_FORMAT;
		out->u.service.kind = ST_SERVICE_BACKEND;
		snprintf(out->u.service.host, sizeof(out->u.service.host), "%s", sv->host);
		out->u.service.port = sv->port;
	}
	out->u.service.source_bytes = bytes;
	snprintf(out->u.service.name, sizeof(out->u.service.name), "%s", name);
	return ST_OK;
}

int ctl_channels_init(struct st_ctl_conn *c)
{
	uint32_t n = c->cfg->max_channels;

	if (n == 0)
		n = 1;
	if (n > CTL_CHANNELS_MAX)
		n = CTL_CHANNELS_MAX;
	if ((c->chans = calloc(n, sizeof(*c->chans))) == NULL)
		return ST_ERR_ALLOC;
	c->nchans = n;
	return ST_OK;
}

void ctl_channels_free(struct st_ctl_conn *c)
{
	free(c->chans);
	c->chans = NULL;
	c->nchans = 0;
}

static struct ctl_chan *chan_get(struct st_ctl_conn *c, uint32_t id)
{
	if (id >= c->nchans || c->chans[id].kind == CHAN_FREE)
		return NULL;
	return &c->chans[id];
}

static int chan_alloc(struct st_ctl_conn *c, uint32_t *id)
{
	for (uint32_t i = 0; i < c->nchans; i++)
		if (c->chans[i].kind == CHAN_FREE) {
			*id = i;
			return ST_OK;
		}
	return ST_ERR_NO_SPACE;
}

void ctl_channel_closed(struct st_ctl_conn *c, uint32_t local_id)
{
	if (chan_get(c, local_id) == NULL) {
		ctl_logf(c, ST_LOG_DEBUG, "CHANNEL_CLOSED for unknown channel %u", local_id);
		return;
	}
	memset(&c->chans[local_id], 0, sizeof(c->chans[local_id]));
}

static int open_failure(struct st_ctl_conn *c, uint32_t peer, uint32_t reason, const char *text);

void ctl_backend_failed(struct st_ctl_conn *c, uint32_t local_id, int err)
{
	struct ctl_chan *ch = chan_get(c, local_id);

	ctl_logf(c, ST_LOG_INFO, "channel %u: backend connect failed: %s", local_id,
		 st_err_str(err));
	if (ch == NULL || !ch->pending)
		return;
	uint32_t peer = ch->remote_id;
	memset(ch, 0, sizeof(*ch));
	int r = open_failure(c, peer, SSH_OPEN_CONNECT_FAILED, "connect failed");
	if (r != 0)
		(void)ctl_fail(c, ST_CTL_DISC_RESOURCES, SSH_DISCONNECT_BY_APPLICATION,
			       ST_CLOSE_RESOURCES, "out of resources");
}

static int send_u32_msg(struct st_ctl_conn *c, uint8_t type, uint32_t v)
{
	uint8_t pl[5];
	struct st_buf b;
	int r;

	st_buf_wrap(&b, pl, sizeof(pl));
	if ((r = st_buf_put_u8(&b, type)) != 0 || (r = st_buf_put_u32(&b, v)) != 0)
		return r;
	return ctl_send(c, &b);
}

int ctl_h_global_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	const uint8_t *name;
	size_t nl;
	int want, r;
	uint8_t fail = SSH_MSG_REQUEST_FAILURE;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_string(&b, &name, &nl)) != 0 || (r = st_buf_get_bool(&b, &want)) != 0)
		return r;
	/* Request-specific data is not parsed: nothing is granted. */
	if (nl == 28 && memcmp(name, "no-more-sessions@openssh.com", 28) == 0)
		c->no_more_sessions = 1; /* honoured, but answered like any request */
	if (nl == 13 && memcmp(name, "tcpip-forward", 13) == 0)
		ctl_logf(c, ST_LOG_INFO, "refused remote port forwarding for %s", c->user);
	if (!want)
		return ST_OK;
	return ctl_emit(c, ctl_msg(c, ST_DOWN_SEND, &fail, 1));
}

static int open_failure(struct st_ctl_conn *c, uint32_t peer, uint32_t reason, const char *text)
{
	uint8_t pl[256];
	struct st_buf b;
	int r;

	ctl_count(c, ST_CTL_CHANNEL_REFUSED);
	st_buf_wrap(&b, pl, sizeof(pl));
	if ((r = st_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN_FAILURE)) != 0 ||
	    (r = st_buf_put_u32(&b, peer)) != 0 || (r = st_buf_put_u32(&b, reason)) != 0 ||
	    (r = st_buf_put_cstring(&b, text)) != 0 || (r = st_buf_put_cstring(&b, "")) != 0)
		return r;
	return ctl_send(c, &b);
}

/*
 * BIND_CHANNEL then CONFIRMATION for a channel in slot id; with `deferred`
 * only the BIND (the worker confirms once its backend is connected). The
 * BIND goes first: the worker runs in parallel and may seal and send the
 * CONFIRMATION before it sees a BIND queued after it, and the peer's first
 * data would then reach a worker that does not know the channel yet.
 */
static int confirm(struct st_ctl_conn *c, uint32_t id, uint32_t peer, uint32_t win, uint32_t maxp,
		   int deferred)
{
	uint8_t pl[17];
	struct st_buf b;
	struct st_plane_msg *m;
	int r;

	if ((m = ctl_msg(c, ST_DOWN_BIND_CHANNEL, NULL, 0)) == NULL)
		return ST_ERR_ALLOC;
	m->u.bind.confirm_on_connect = (uint8_t)deferred;
	m->u.bind.local_id = id;
	m->u.bind.remote_id = peer;
	m->u.bind.local_window = c->cfg->channel_window;
	m->u.bind.window_max = c->cfg->channel_window_max;
	m->u.bind.local_max_packet = c->cfg->channel_max_packet;
	m->u.bind.remote_window = win;
	m->u.bind.remote_max_packet = maxp;
	ctl_count(c, ST_CTL_CHANNEL_OPENED);
	if ((r = ctl_emit(c, m)) != 0 || deferred)
		return r;
	st_buf_wrap(&b, pl, sizeof(pl));
	if ((r = st_buf_put_u8(&b, SSH_MSG_CHANNEL_OPEN_CONFIRMATION)) != 0 ||
	    (r = st_buf_put_u32(&b, peer)) != 0 || (r = st_buf_put_u32(&b, id)) != 0 ||
	    (r = st_buf_put_u32(&b, c->cfg->channel_window)) != 0 ||
	    (r = st_buf_put_u32(&b, c->cfg->channel_max_packet)) != 0)
		return r;
	return ctl_send(c, &b);
}

int ctl_h_channel_open(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	const uint8_t *type, *host, *orig;
	size_t tl, hl, ol;
	uint32_t peer, win, maxp, port, oport, id;
	char hbuf[ST_HOST_MAX];
	int r;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_string(&b, &type, &tl)) != 0 || (r = st_buf_get_u32(&b, &peer)) != 0 ||
	    (r = st_buf_get_u32(&b, &win)) != 0 || (r = st_buf_get_u32(&b, &maxp)) != 0)
		return r;
	if (tl == 7 && memcmp(type, "session", 7) == 0) {
		if ((r = st_buf_end(&b)) != 0)
			return r;
		if (c->no_more_sessions) {
			ctl_logf(c, ST_LOG_INFO, "refused session for %s after no-more-sessions",
				 c->user);
			return open_failure(c, peer, SSH_OPEN_ADMINISTRATIVELY_PROHIBITED,
					    "no more sessions");
		}
		if (chan_alloc(c, &id) != 0)
			return open_failure(c, peer, SSH_OPEN_RESOURCE_SHORTAGE, "too many channels");
		c->chans[id].kind = CHAN_SESSION;
		c->chans[id].remote_id = peer;
		return confirm(c, id, peer, win, maxp, 0);
	}
	if (tl == 12 && memcmp(type, "direct-tcpip", 12) == 0) {
		struct st_plane_msg *m;
		if ((r = st_buf_get_string(&b, &host, &hl)) != 0 ||
		    (r = st_buf_get_u32(&b, &port)) != 0 ||
		    (r = st_buf_get_string(&b, &orig, &ol)) != 0 ||
		    (r = st_buf_get_u32(&b, &oport)) != 0 || (r = st_buf_end(&b)) != 0)
			return r;
		int ok = hl > 0 && hl < sizeof(hbuf) && port > 0 && port <= 65535;
		for (size_t i = 0; ok && i < hl; i++)
			if (host[i] <= 0x20 || host[i] > 0x7e)
				ok = 0;
		if (ok) {
			memcpy(hbuf, host, hl);
			hbuf[hl] = '\0';
			ok = st_ctl_config_permitopen_allows(c->cfg, hbuf, (uint16_t)port) &&
			     st_authkey_permitopen_allows(&c->opts, hbuf, (uint16_t)port);
		}
		if (!ok) {
			ctl_logf(c, ST_LOG_INFO, "refused direct-tcpip for %s to %.*s port %u", c->user,
				 (int)(hl > 64 ? 64 : hl), (const char *)host, port);
			return open_failure(c, peer, SSH_OPEN_ADMINISTRATIVELY_PROHIBITED,
					    "open denied");
		}
		if (chan_alloc(c, &id) != 0)
			return open_failure(c, peer, SSH_OPEN_RESOURCE_SHORTAGE, "too many channels");
		c->chans[id].kind = CHAN_DIRECT_TCPIP;
		c->chans[id].remote_id = peer;
		c->chans[id].attached = 1;
		c->chans[id].pending = c->cfg->direct_tcpip_confirm_on_connect;
		if ((r = confirm(c, id, peer, win, maxp, c->chans[id].pending)) != 0)
			return r;
		if ((m = ctl_msg(c, ST_DOWN_ATTACH_SERVICE, NULL, 0)) == NULL)
			return ST_ERR_ALLOC;
		m->u.service.local_id = id;
		m->u.service.kind = ST_SERVICE_BACKEND;
		snprintf(m->u.service.name, sizeof(m->u.service.name), "direct-tcpip");
		snprintf(m->u.service.host, sizeof(m->u.service.host), "%s", hbuf);
		m->u.service.port = (uint16_t)port;
		return ctl_emit(c, m);
	}
	return open_failure(c, peer, SSH_OPEN_UNKNOWN_CHANNEL_TYPE, "unknown channel type");
}

/* exec / shell / subsystem: resolve and attach. */
static int start_service(struct st_ctl_conn *c, struct ctl_chan *ch, uint32_t id,
			 const char *cmd, size_t len, int want)
{
	struct st_plane_msg *m;
	int r;

	if (ch->kind != CHAN_SESSION || ch->attached)
		goto refuse;
	if (c->opts.command != NULL) {
		cmd = c->opts.command;
		len = strlen(cmd);
	}
	if ((m = ctl_msg(c, ST_DOWN_ATTACH_SERVICE, NULL, 0)) == NULL)
		return ST_ERR_ALLOC;
	if (st_ctl_service_resolve(c->cfg, cmd, len, m) != 0) {
		st_plane_msg_free(m);
		ctl_logf(c, ST_LOG_INFO, "channel %u: unknown service \"%.*s\" for %s", id,
			 (int)(len > 64 ? 64 : len), cmd, c->user);
		goto refuse;
	}
	m->u.service.local_id = id;
	m->u.service.want_exit_status = 1;
	if ((r = ctl_proxy_backend_header(c, m, cmd, len)) != ST_OK) {
		st_plane_msg_free(m);
		return r;
	}
	ch->attached = 1;
	if (want && (r = send_u32_msg(c, SSH_MSG_CHANNEL_SUCCESS, ch->remote_id)) != 0) {
		st_plane_msg_free(m);
		return r;
	}
	return ctl_emit(c, m);
refuse:
	return want ? send_u32_msg(c, SSH_MSG_CHANNEL_FAILURE, ch->remote_id) : ST_OK;
}

static int reply(struct st_ctl_conn *c, struct ctl_chan *ch, int want, int ok)
{
	if (!want)
		return ST_OK;
	return send_u32_msg(c, ok ? SSH_MSG_CHANNEL_SUCCESS : SSH_MSG_CHANNEL_FAILURE,
			    ch->remote_id);
}

static int is(const uint8_t *s, size_t l, const char *lit)
{
	return l == strlen(lit) && memcmp(s, lit, l) == 0;
}

int ctl_h_channel_request(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	const uint8_t *type, *s1, *s2, *s3;
	size_t tl, l1, l2, l3;
	uint32_t id, u;
	int want, flag, r;
	struct ctl_chan *ch;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_u32(&b, &id)) != 0 || (r = st_buf_get_string(&b, &type, &tl)) != 0 ||
	    (r = st_buf_get_bool(&b, &want)) != 0)
		return r;
	if ((ch = chan_get(c, id)) == NULL)
		return ctl_fail(c, ST_CTL_DISC_CHANNEL, SSH_DISCONNECT_PROTOCOL_ERROR,
				ST_CLOSE_PROTOCOL, "channel request for unknown channel %u", id);
	if (is(type, tl, "exec") || is(type, tl, "subsystem")) {
		if ((r = st_buf_get_string(&b, &s1, &l1)) != 0 || (r = st_buf_end(&b)) != 0)
			return r;
		return start_service(c, ch, id, (const char *)s1, l1, want);
	}
	if (is(type, tl, "shell")) {
		if ((r = st_buf_end(&b)) != 0)
			return r;
		return start_service(c, ch, id, c->cfg->default_service,
				     strlen(c->cfg->default_service), want);
	}
	if (is(type, tl, "pty-req")) {
		if ((r = st_buf_get_string(&b, &s1, &l1)) != 0 || (r = st_buf_get_u32(&b, &u)) != 0 ||
		    (r = st_buf_get_u32(&b, &u)) != 0 || (r = st_buf_get_u32(&b, &u)) != 0 ||
		    (r = st_buf_get_u32(&b, &u)) != 0 || (r = st_buf_get_string(&b, &s2, &l2)) != 0 ||
		    (r = st_buf_end(&b)) != 0)
			return r;
		int ok = ch->kind == CHAN_SESSION && !ch->pty && !c->opts.no_pty;
		if (ok)
			ch->pty = 1;
		return reply(c, ch, want, ok);
	}
	if (is(type, tl, "env")) {
		if ((r = st_buf_get_string(&b, &s1, &l1)) != 0 ||
		    (r = st_buf_get_string(&b, &s2, &l2)) != 0 || (r = st_buf_end(&b)) != 0)
			return r;
		return reply(c, ch, want, 0);
	}
	if (is(type, tl, "window-change")) {
		for (int i = 0; i < 4; i++)
			if ((r = st_buf_get_u32(&b, &u)) != 0)
				return r;
		if ((r = st_buf_end(&b)) != 0)
			return r;
		return reply(c, ch, want, ch->kind == CHAN_SESSION);
	}
	if (is(type, tl, "signal")) {
		if ((r = st_buf_get_string(&b, &s1, &l1)) != 0 || (r = st_buf_end(&b)) != 0)
			return r;
		return reply(c, ch, want, 0);
	}
	if (is(type, tl, "exit-status")) {
		if ((r = st_buf_get_u32(&b, &u)) != 0 || (r = st_buf_end(&b)) != 0)
			return r;
		return reply(c, ch, want, 0);
	}
	if (is(type, tl, "exit-signal")) {
		if ((r = st_buf_get_string(&b, &s1, &l1)) != 0 ||
		    (r = st_buf_get_bool(&b, &flag)) != 0 ||
		    (r = st_buf_get_string(&b, &s2, &l2)) != 0 ||
		    (r = st_buf_get_string(&b, &s3, &l3)) != 0 || (r = st_buf_end(&b)) != 0)
			return r;
		return reply(c, ch, want, 0);
	}
	/* x11-req, auth-agent-req@openssh.com, eow@openssh.com, unknown: refused. */
	return reply(c, ch, want, 0);
}

int ctl_h_channel_unbound(struct st_ctl_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct st_buf b;
	uint32_t id;
	int r;

	(void)seq;
	st_buf_from(&b, p + 1, len - 1);
	if ((r = st_buf_get_u32(&b, &id)) != 0)
		return r;
	return ctl_fail(c, ST_CTL_DISC_CHANNEL, SSH_DISCONNECT_PROTOCOL_ERROR, ST_CLOSE_PROTOCOL,
			"message %u for unknown channel %u", p[0], id);
}
