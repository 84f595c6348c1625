#!/usr/bin/env bash
# WorkerIdle sleep: an idle worker sleeps on its TAP queue's RX interrupt and
# wakes for packets, control-plane work and timers; sessions work as with
# polling (logins, 64 MiB through echo by SHA-256, a rekey, LoginGraceTime).
#   tests/e2e/daemon_idle.sh [BUILD_DIR]
# The CPU the daemon takes while idle is printed, and checked only against
# what a busy-polling worker takes (a whole core): well under half of it.
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_idle "${1:-build}"
daemon_keys || { bad "keys"; finish; }
daemon_config "WorkerIdle sleep 10" "LoginGraceTime 2"
start_daemon || { bad "daemon starts with WorkerIdle sleep"; finish; }
ok "daemon starts with WorkerIdle sleep"
ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
hz=$(getconf CLK_TCK)

r=$(echo hello | TMO=30 sshc alice "$T/id_user" echo 2>&1)
check "a login right after start" "$r" hello
sleep 1
a=$(ticks)
sleep 3
b=$(ticks)
pct=$(((b - a) * 100 / (3 * hz)))
echo "   daemon CPU while idle: ${pct}% of a core over 3 s"
[ "$pct" -lt 50 ] && ok "an idle worker does not spin (${pct}% of a core)" ||
	bad "an idle worker does not spin" "${pct}% of a core"
check "the worker slept" "$(($(daemon_stat workers.0.counters.IDLE_SLEEPS 2>/dev/null || echo 0) > 0))" 1

r=$(echo again | TMO=30 sshc alice "$T/id_user" echo 2>&1)
check "a login wakes the sleeping worker" "$r" again
check "a packet woke it (IDLE_WAKE_RX)" \
	"$(($(daemon_stat workers.0.counters.IDLE_WAKE_RX 2>/dev/null || echo 0) > 0))" 1
head -c $((64 << 20)) /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
got=$(TMO=120 sshc alice "$T/id_user" -o RekeyLimit=16M echo <"$T/data" | sha256sum | cut -d' ' -f1)
check "64 MiB through echo with client rekeys (SHA-256)" "$got" "$want"

# LoginGraceTime runs on the control plane's clock and reaches a sleeping
# worker as a message: the connection must be closed within the grace time.
silent_client() { # connects, sends nothing, prints how the server ended it
	timeout 20 ip netns exec "$NS" /usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 22), timeout=15)
t0 = time.monotonic()
try:
    while s.recv(4096):  # send nothing: the server must end it
        pass
    print("closed after %.0f s" % (time.monotonic() - t0))
except OSError as e:
    print("error:", e)
' "$ADDR" 2>&1
}
out=$(silent_client)
e=${out//[!0-9]/}
if [ "${out%% after*}" = closed ] && [ "${e:-99}" -le 6 ]; then
	ok "a silent client is disconnected at LoginGraceTime by a sleeping worker ($out)"
else
	bad "a silent client is disconnected at LoginGraceTime" "$out"
fi
# The close reaches the worker as a kick only if it was asleep at that moment;
# a timer wake may come first on a loaded machine: a few more tries, bounded.
kicks() { daemon_stat workers.0.counters.IDLE_WAKE_KICK 2>/dev/null || echo 0; }
for _ in 1 2 3; do
	[ "$(kicks)" -gt 0 ] && break
	sleep 1
	silent_client >/dev/null
done
check "control-plane work woke the worker (IDLE_WAKE_KICK)" "$(($(kicks) > 0))" 1
stop_daemon
finish
