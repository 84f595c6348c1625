#!/usr/bin/env bash
# daemon_idle.sh on the kernel TAP port (TapInterface): an idle worker sleeps on
# its TAP queue's file descriptor instead of an RX interrupt, and wakes the same
# ways. See DAEMON_VTAP in lib/daemon.sh.
#   tests/e2e/daemon_idle_vtap.sh [BUILD_DIR]
DAEMON_VTAP=1 exec bash "$(dirname "$0")/daemon_idle.sh" "$@"
