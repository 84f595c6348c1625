#!/usr/bin/env bash
# NeighborReachableTime reaches the dataplane. A session on a Service
# backend (a kernel TCP echo server in the namespace: an active connection,
# which asks the neighbor cache for every segment) sends a line a second for
# 8 s and gets them back; then nothing is sent for 5 s. With 2s the worker's
# ARP entry for the namespace, no longer in use, is deleted once 2 s old
# (ARP_EXPIRED; while in use it was refreshed instead, ARP_REFRESH, printed);
# with the default 30 s it stays. `sshterm -T` prints the value. About 35 s.
#   tests/e2e/daemon_neigh.sh [BUILD_DIR]
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_neigh "${1:-build}"
daemon_keys || exit 1

# wstat NAME: worker 0's counter NAME (0 when it is not listed)
wstat() {
	ctl stats --json | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["workers"][0]["counters"].get(sys.argv[1], 0))' "$1"
}

# trickle: 8 lines, one a second, through the backend; prints how many came back
trickle() {
	(for i in 1 2 3 4 5 6 7 8; do echo "line $i"; sleep 1; done) |
		TMO=40 sshc alice "$T/id_user" kecho 2>/dev/null | wc -l
}

# One backend for both daemons, on the wildcard address: the TAP and PEER go with each daemon.
cp "$ROOT/tests/e2e/echo_server.py" "$T/echo_server.py"
ip netns pids "$NS" >/dev/null 2>&1 || { ip netns add "$NS" && ip -n "$NS" link set lo up; }
nsx python3 "$T/echo_server.py" 0.0.0.0 7000 &
PIDS+=($!)
for _ in $(seq 1 50); do nsx ss -ltn 2>/dev/null | grep -q ":7000 " && break; sleep 0.1; done

EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
for reach in 2s default; do
	if [ "$reach" = default ]; then
		daemon_config "Service kecho $PEER:7000"
		want=30
	else
		daemon_config "Service kecho $PEER:7000" "NeighborReachableTime $reach"
		want=2
	fi
	"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -T >"$T/dump" 2>/dev/null
	check "-T prints neighborreachabletime ($reach)" \
		"$(grep '^neighborreachabletime ' "$T/dump")" "neighborreachabletime $want"
	start_daemon || { bad "daemon start ($reach)"; finish; }
	check "$reach: 8 lines through the backend, one a second" "$(trickle)" 8
	e0=$(wstat ARP_EXPIRED)
	sleep 5
	e1=$(wstat ARP_EXPIRED)
	echo "   $reach: ARP_REFRESH $(wstat ARP_REFRESH), ARP_EXPIRED $e0 -> $e1 over 5 s idle"
	if [ "$reach" = default ]; then
		check "30 s: the idle entry is kept for 5 s" "$((e1 - e0))" 0
	else
		[ $((e1 - e0)) -ge 1 ] && ok "2 s: the idle entry expired within 5 s" ||
			bad "2 s: ARP_EXPIRED after 5 s idle" "$e0 -> $e1"
	fi
	stop_daemon
done
finish
