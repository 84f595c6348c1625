#!/usr/bin/env bash
# daemon_pool.sh with the daemon's record crypto on crypto_openssl0, a cryptodev
# driven through its enqueue/dequeue path (a stand-in for a hardware device): seal
# pool sharing and flood isolation must hold there too. See DAEMON_CRYPTODEV in
# lib/daemon.sh.
#   tests/e2e/daemon_pool_cryptodev.sh [BUILD_DIR]
DAEMON_CRYPTODEV=crypto_openssl0 exec bash "$(dirname "$0")/daemon_pool.sh" "$@"
