#!/usr/bin/env bash
# daemon_ssh.sh with the daemon on the kernel TAP port (TapInterface, virtio-net
# headers: TSO and checksums to and from the kernel; dataplane/vtap.h) instead of
# net_tap: every client, service and shutdown check must hold there too. See
# DAEMON_VTAP in lib/daemon.sh.
#   tests/e2e/daemon_ssh_vtap.sh [BUILD_DIR]
DAEMON_VTAP=1 exec bash "$(dirname "$0")/daemon_ssh.sh" "$@"
