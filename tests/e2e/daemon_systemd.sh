#!/usr/bin/env bash
# Installing and running sshterm as a service:
#  - `make install` into a scratch root: binaries, man pages, the example
#    configuration (not overwritten on a second install) and the systemd unit
#    with its paths filled in; `systemd-analyze verify` accepts the unit;
#  - the sd_notify protocol for real against a stand-in notification socket
#    (tests/e2e/lib/notify_listener.py): READY=1 once listening, WATCHDOG=1 at
#    half of WATCHDOG_USEC, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
#    SIGTERM; no NOTIFY_SOCKET, no messages;
#  - where systemd runs (PID 1), the daemon under systemd-run as Type=notify
#    reaches "active"; elsewhere (containers, CI) that part is skipped and said so.
#   tests/e2e/daemon_systemd.sh [BUILD_DIR]
# Prints "daemon_systemd: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_systemd "${1:-build}"
B=${1:-build}

# ---- make install ----
R=$T/root
if make -s -C "$ROOT" B="$B" install PREFIX="$R/usr" SYSCONFDIR="$R/etc" UNITDIR="$R/lib/systemd/system" \
	>"$T/install.log" 2>&1; then
	ok "make install into a scratch root"
else
	bad "make install" "$(tail -5 "$T/install.log")"
fi
miss=
for f in usr/sbin/sshterm usr/bin/sshtermctl usr/bin/sshterm-bench usr/share/man/man8/sshterm.8 \
	usr/share/man/man8/sshtermctl.8 usr/share/man/man5/sshterm.conf.5 etc/sshterm/sshterm.conf \
	etc/default/sshterm lib/systemd/system/sshterm.service etc/fail2ban/filter.d/sshterm.conf; do
	[ -f "$R/$f" ] || miss="$miss $f"
done
check "installed files" "${miss:-none missing}" "none missing"
U=$R/lib/systemd/system/sshterm.service
check "unit paths filled in" "$(grep -c '@[A-Z]*@' "$U")" 0
grep -q "^ExecStart=$R/usr/sbin/sshterm " "$U" && grep -q "^Type=notify" "$U" &&
	ok "unit runs the installed daemon as Type=notify" || bad "unit ExecStart/Type" "$(grep -E '^(ExecStart|Type)=' "$U")"
echo "# changed by the operator" >> "$R/etc/sshterm/sshterm.conf"
make -s -C "$ROOT" B="$B" install PREFIX="$R/usr" SYSCONFDIR="$R/etc" UNITDIR="$R/lib/systemd/system" \
	>>"$T/install.log" 2>&1
grep -q "changed by the operator" "$R/etc/sshterm/sshterm.conf" &&
	ok "a second install keeps the operator's configuration" || bad "configuration overwritten"
# The example configuration parses, with the test's host keys in place of those made on the target.
daemon_keys || exit 1
sed -e "s#^HostKey /etc/sshterm/ssh_host_\([a-z0-9]*\)_key#HostKey $T/host_\1#" \
	-e "s#^ControlSocket .*#ControlSocket $T/ex.sock#" "$R/etc/sshterm/sshterm.conf" > "$T/example.conf"
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/example.conf" -t >/dev/null 2>"$T/ex.err" &&
	ok "the example configuration is valid" || bad "example configuration" "$(cat "$T/ex.err")"
if command -v systemd-analyze >/dev/null; then
	# man: lookups of Documentation= need the installed pages on MANPATH.
	if MANPATH="$R/usr/share/man" systemd-analyze verify "$U" >"$T/verify.log" 2>&1; then
		ok "systemd-analyze verify accepts the unit"
	else
		bad "systemd-analyze verify" "$(grep -v '^$' "$T/verify.log" | tail -3)"
	fi
else
	bad "systemd-analyze is not installed (scripts/install-deps.sh installs systemd)"
fi

# ---- sd_notify against a stand-in socket ----
daemon_config "DefaultService echo"
NS_SOCK=$T/notify.sock
/usr/bin/python3 "$ROOT/tests/e2e/lib/notify_listener.py" "$NS_SOCK" "$T/notify.log" 40 &
LP=$!
PIDS+=($LP)
for _ in $(seq 1 50); do [ -S "$NS_SOCK" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$NS_SOCK WATCHDOG_USEC=400000 start_daemon || { bad "daemon start"; finish; }
for _ in $(seq 1 100); do grep -q "READY=1" "$T/notify.log" 2>/dev/null && break; sleep 0.1; done
grep -q "^READY=1|MAINPID=$DPID|STATUS=listening on $ADDR port 22" "$T/notify.log" &&
	ok "READY=1 with MAINPID and STATUS once listening" || bad "READY=1" "$(head -3 "$T/notify.log")"
check "logins work under notification" "$(echo hi | sshc alice "$T/id_user" echo 2>&1)" hi
sleep 1.2
w=$(grep -c "^WATCHDOG=1$" "$T/notify.log")
[ "$w" -ge 2 ] && ok "WATCHDOG=1 at half of WATCHDOG_USEC ($w in about 1.5 s)" || bad "WATCHDOG=1 count" "$w"
kill -HUP "$DPID"
for _ in $(seq 1 50); do [ "$(grep -c '^READY=1$' "$T/notify.log")" -ge 1 ] && break; sleep 0.1; done
grep -A1 "^RELOADING=1$" "$T/notify.log" | grep -q "^READY=1$" &&
	ok "SIGHUP: RELOADING=1 then READY=1" || bad "reload notification" "$(tail -3 "$T/notify.log")"
stop_daemon
for _ in $(seq 1 30); do grep -q "^STOPPING=1$" "$T/notify.log" && break; sleep 0.1; done
grep -q "^STOPPING=1$" "$T/notify.log" && ok "STOPPING=1 at shutdown" || bad "STOPPING=1"
kill "$LP" 2>/dev/null

# Without NOTIFY_SOCKET nothing is sent and nothing fails.
: > "$T/notify.log"
/usr/bin/python3 "$ROOT/tests/e2e/lib/notify_listener.py" "$NS_SOCK" "$T/notify.log" 20 &
LP=$!
PIDS+=($LP)
start_daemon || { bad "daemon start without NOTIFY_SOCKET"; finish; }
check "without NOTIFY_SOCKET the daemon runs" "$(echo hi | sshc alice "$T/id_user" echo 2>&1)" hi
stop_daemon
check "without NOTIFY_SOCKET no notification" "$(wc -l < "$T/notify.log")" 0
kill "$LP" 2>/dev/null

# ---- under systemd itself, where it runs ----
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
	unit=st-test-$$
	ip netns pids "$NS" >/dev/null 2>&1 || { ip netns add "$NS" && ip -n "$NS" link set lo up; }
	systemd-run --unit "$unit" -p Type=notify -p NotifyAccess=main -p WatchdogSec=10 \
		ip netns exec "$NS" "$BIN/sshterm" --no-huge -m 512 --no-pci --no-shconf \
		--file-prefix "$DPDK_PREFIX" -l 0 --vdev="net_tap0,iface=$TAP" -- -e -f "$T/sshterm.conf" \
		>"$T/systemd-run.log" 2>&1
	check "systemd: Type=notify service active" "$(systemctl is-active "$unit" 2>&1)" active
	systemctl stop "$unit" 2>/dev/null
	systemctl reset-failed "$unit" 2>/dev/null
else
	echo "  skip systemd is not running here (no /run/systemd/system): the unit was checked statically"
fi
finish
