#!/usr/bin/env bash
# What WorkerIdle sleep costs and saves (a benchmark: nothing passes or fails).
#   scripts/bench-idle.sh [BUILD_DIR] [LOGINS] [ROUNDS]
# One daemon on a DPDK TAP port in a private namespace, run ROUNDS (3) times with
# `WorkerIdle poll` and with `WorkerIdle sleep`, alternating: the daemon's CPU over 5 idle
# seconds, the median of 20 connect-to-identification-line times, then LOGINS (40) sequential
# OpenSSH logins (connect, kex, auth, exec, close), each
# timed from the client's start to its exit, after 200 ms of quiet so the worker is asleep
# when the SYN comes. Prints per round the idle CPU and p50/p99/max login time, and the
# medians over rounds. Client process start-up is in every figure; the difference between
# the two modes is the cost of waking.
set -u
B=${1:-build}
N=${2:-40}
ROUNDS=${3:-3}
. "$(dirname "$0")/../tests/e2e/lib/daemon.sh"
daemon_init bench-idle "$B"
daemon_keys || exit 1
pct() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int((NR - 1) * p / 100) + 1; print a[i]}'; }
run_mode() { # poll | sleep
	daemon_config "WorkerIdle $1" "MaxStartups 400"
	start_daemon || { echo "daemon did not start"; exit 1; }
	echo x | TMO=30 sshc alice "$T/id_user" echo >/dev/null 2>&1 # warm: host key, ARP
	sleep 1
	local a b hz ms=()
	hz=$(getconf CLK_TCK)
	a=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
	sleep 5
	b=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
	# connect + our identification line: a SYN to a sleeping worker and a control round trip
	banner=$(ip netns exec "$NS" /usr/bin/python3 -c '
import socket, sys, time
ts = []
for i in range(20):
    time.sleep(0.2)
    t = time.monotonic()
    s = socket.create_connection((sys.argv[1], 22), timeout=5)
    s.recv(100)
    ts.append((time.monotonic() - t) * 1000)
    s.close()
print("%.2f" % sorted(ts)[10])' "$ADDR")
	: >"$T/lat"
	for _ in $(seq 1 "$N"); do
		sleep 0.2
		s=$(date +%s%N)
		TMO=30 sshc alice "$T/id_user" echo </dev/null >/dev/null 2>&1
		echo $((($(date +%s%N) - s) / 1000)) >>"$T/lat"
	done
	printf '%-6s idle CPU %3d%% of a core   banner p50 %5s ms   login p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms\n' \
		"$1" $(((b - a) * 100 / (5 * hz))) "$banner" \
		"$(echo "scale=1; $(pct 50 <"$T/lat") / 1000" | bc)" \
		"$(echo "scale=1; $(pct 99 <"$T/lat") / 1000" | bc)" \
		"$(echo "scale=1; $(pct 100 <"$T/lat") / 1000" | bc)" | tee -a "$T/rounds"
	stop_daemon
}
for r in $(seq 1 "$ROUNDS"); do
	run_mode poll
	run_mode sleep
done
echo "medians over $ROUNDS rounds:"
med() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for m in poll sleep; do
	printf '%-6s idle CPU %s%%  banner p50 %s ms  login p50 %s ms  p99 %s ms\n' "$m" \
		"$(grep "^$m " "$T/rounds" | awk '{print $4}' | med)" \
		"$(grep "^$m " "$T/rounds" | awk '{print $10}' | med)" \
		"$(grep "^$m " "$T/rounds" | awk '{print $14}' | med)" \
		"$(grep "^$m " "$T/rounds" | awk '{print $17}' | med)"
done
