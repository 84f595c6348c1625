/*
 * Connection protocol policy (RFC 4254) on the control plane: global
 * requests (all refused: keepalive@openssh.com gets REQUEST_FAILURE, as
 * OpenSSH answers it; tcpip-forward is not offered; no-more-sessions@openssh.com
 * is honoured: later session opens are refused), CHANNEL_OPEN of
 * "session" and "direct-tcpip" (PermitOpen and the key's permitopen= /
 * no-port-forwarding / restrict), and session channel requests that pick a
 * service. Confirmed channels are handed to the worker's fast path with
 * ST_DOWN_BIND_CHANNEL; channel ids are ours, freed on ST_UP_CHANNEL_CLOSED.
 *
 * Services (`exec "<name> [args]"`, `subsystem <name>`, `shell` = the
 * DefaultService; a forced command= from authorized_keys overrides all
 * three): `sink`, `source <bytes>` (suffix K, M, G: powers of 1024), `echo`,
 * or a configured `Service NAME HOST:PORT`.
 */
#ifndef ST_CONTROL_CHANNELS_H
#define ST_CONTROL_CHANNELS_H

#include <stdint.h>

#include "control/config.h"
#include "dataplane/ssh/planes.h"

/*
 * Resolves a command line to a service: fills kind, source_bytes, name, host
 * and port of *out (the u.service part of an ATTACH message; local_id and
 * want_exit_status are left alone).
 * Returns ST_OK; ST_ERR_NOT_FOUND for an unknown service name;
 * ST_ERR_FORMAT for bad arguments (source without a valid size, arguments
 * to sink/echo/backends, an over-long line).
 */
int st_ctl_service_resolve(const struct st_ctl_config *cfg, const char *cmd, size_t len,
			   struct st_plane_msg *out);

/* "123", "64K", "256M", "1G" (powers of 1024) -> bytes. ST_ERR_FORMAT otherwise. */
int st_ctl_parse_size(const char *s, size_t len, uint64_t *out);

#endif
