/*
 * systemd's readiness protocol (sd_notify(3), without libsystemd): datagrams
 * such as "READY=1" to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
 * an abstract name written with a leading '@'). Without $NOTIFY_SOCKET every
 * call is a no-op, so the daemon behaves the same outside systemd.
 *
 * Used by: the main thread (READY=1 once listening), the admin thread
 * (WATCHDOG=1, RELOADING=1 / READY=1 around a reload, STOPPING=1). The socket
 * is opened per message: these are rare, and no state is shared.
 */
#ifndef ST_CONTROL_SDNOTIFY_H
#define ST_CONTROL_SDNOTIFY_H

#include <stdint.h>

/*
 * Sends state (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET.
 * Returns 1 when sent, 0 when there is no $NOTIFY_SOCKET, -1 on an error
 * (a bad or too long address, a failed socket or send).
 */
int st_sdnotify(const char *state);

/*
 * The watchdog interval systemd asks for ($WATCHDOG_USEC, honoured only when
 * $WATCHDOG_PID is unset or this process), in microseconds; 0 when none.
 */
uint64_t st_sdnotify_watchdog_usec(void);

#endif
