#!/usr/bin/env bash
# daemon_stalls.sh with the daemon's record crypto on crypto_openssl0, a cryptodev
# driven through its enqueue/dequeue path (a stand-in for a hardware device such as
# QAT): the liveness checks must hold there too. See DAEMON_CRYPTODEV in lib/daemon.sh.
#   tests/e2e/daemon_stalls_cryptodev.sh [BUILD_DIR]
DAEMON_CRYPTODEV=crypto_openssl0 exec bash "$(dirname "$0")/daemon_stalls.sh" "$@"
