#!/usr/bin/env bash
# fail2ban over the daemon's log, as an operator would set it up:
#  - the daemon logs good logins (one after a refused key), failed logins (keys
#    that are not authorized, up to MaxAuthTries), closes before
#    authentication (a client that gives up, one that only sends its version)
#    and MaxStartups drops;
#  - the log gets syslog's timestamp and host name (what /var/log/auth.log or
#    the journal would hold);
#  - Debian's stock sshd filter under sshterm's name
#    (`sshd[_daemon=sshterm, mode=aggressive]`) takes every failed-login and
#    preauth-close line as a failure, or as part of one;
#  - the filter sshterm ships (scripts/install/fail2ban/sshterm.conf: the sshd
#    filter plus MaxStartups drops, which Debian 12's sshd filter has no rule
#    for) takes every failure line, drops included;
#  - no line of a good login is a failure.
#   tests/e2e/daemon_fail2ban.sh [BUILD_DIR]
# Prints "daemon_fail2ban: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_fail2ban "${1:-build}"
if ! command -v fail2ban-regex >/dev/null; then
	bad "fail2ban-regex is not installed (scripts/install-deps.sh installs fail2ban)"
	finish
fi
daemon_keys || { bad "keys"; finish; }
daemon_config "MaxAuthTries 2" "MaxStartups 3:100:3" "LoginGraceTime 30" "LogLevel VERBOSE"
start_daemon || { bad "daemon start"; finish; }

check "a good login" "$(echo hi | sshc alice "$T/id_user" echo 2>&1)" hi
# A user whose agent offers a key that is not authorized before the right one.
check "a good login after a refused key" \
	"$(echo hi | sshc alice "$T/id_other" -i "$T/id_user" -o IdentitiesOnly=yes echo 2>&1)" hi
# Three keys, none authorized: the second failure hits MaxAuthTries.
sshc bob "$T/id_other" -i "$T/wrong_host" -i "$T/id_ecdsa" -o IdentitiesOnly=yes \
	-o PreferredAuthentications=publickey true >/dev/null 2>&1
# One key that is not authorized: the client gives up before MaxAuthTries.
sshc carol "$T/id_other" -o IdentitiesOnly=yes true >/dev/null 2>&1
# Unauthenticated connections: one sends its version and hangs up, three
# hold MaxStartups' slots and the next two are dropped.
timeout 60 ip netns exec "$NS" /usr/bin/python3 - "$ADDR" <<'EOF'
import socket, sys, time
addr = sys.argv[1]
def conn():
    s = socket.create_connection((addr, 22), timeout=10)
    s.sendall(b"SSH-2.0-f2b_test\r\n")
    s.recv(256)
    return s
conn().close()
held = [conn() for _ in range(3)]
time.sleep(0.5)
for _ in range(2):
    s = socket.create_connection((addr, 22), timeout=10)
    try:
        s.recv(256)  # the server closes it at once
    except OSError:
        pass
    s.close()
for s in held:
    s.close()
EOF
sleep 1
stop_daemon

# Syslog's view of the lines: "Dec  2 13:05:01 host sshterm[PID]: ...".
stamp=$(date '+%b %e %H:%M:%S')
awk -v d="$stamp" '/^sshterm\[[0-9]+\]: / { print d " appliance " $0 }' "$T/daemon.log" > "$T/auth.log"
# The good logins' lines (alice), the refused key before the accepted one included.
grep -E 'for alice from' "$T/auth.log" > "$T/good"
check "the second good login first offered a refused key" "$(grep -c 'Failed publickey for alice' "$T/good")" 1
grep -E 'Failed publickey|maximum authentication attempts|Connection closed by .*\[preauth\]|Disconnected from .*\[preauth\]' \
	"$T/auth.log" | grep -v 'for alice from' > "$T/want-stock"
grep -E 'past MaxStartups' "$T/auth.log" > "$T/want-drops"
check "failed-login and preauth-close lines logged (8 or more)" "$(($(wc -l < "$T/want-stock") >= 8))" 1
check "MaxStartups drops logged" "$(wc -l < "$T/want-drops")" 2
grep -q "maximum authentication attempts exceeded for bob from $PEER port" "$T/auth.log" &&
	ok "sshd's MaxAuthTries line" || bad "no 'maximum authentication attempts exceeded' line"

# The lines fail2ban takes as failures, with the helper lines of each
# connection's failure (fail2ban-regex -o msg), and one line per failure (-o ip).
failures() { # filter output-file
	fail2ban-regex -o msg "$T/auth.log" "$1" > "$2" 2>&1
	fail2ban-regex -o ip "$T/auth.log" "$1" > "$T/f2b.ip" 2>&1
}
unmatched() { # wanted-lines failure-lines: prints the wanted lines fail2ban did not take
	local l n=0
	while IFS= read -r l; do
		grep -qxF -- "$l" "$2" || { n=$((n + 1)); echo "missed: ${l#* appliance }"; }
	done < "$1"
	return "$n"
}

failures "sshd[_daemon=sshterm, mode=aggressive]" "$T/m-stock"
if miss=$(unmatched "$T/want-stock" "$T/m-stock"); then
	ok "stock sshd filter takes every failed-login and preauth-close line ($(wc -l < "$T/want-stock"))"
else
	bad "stock sshd filter" "$miss"
fi
if grep -qxF -f "$T/good" "$T/m-stock"; then
	bad "good logins counted as failures" "$(grep -xF -f "$T/good" "$T/m-stock" | head -2)"
else
	ok "no line of a good login is a failure, not even its refused key"
fi

# The shipped filter, next to the stock ones as an operator installs it.
F=$T/fail2ban
mkdir -p "$F/filter.d"
cp -r /etc/fail2ban/filter.d/. "$F/filter.d/"
cp "$ROOT/scripts/install/fail2ban/sshterm.conf" "$F/filter.d/sshterm.conf"
failures "$F/filter.d/sshterm.conf" "$T/m-ours"
cat "$T/want-stock" "$T/want-drops" > "$T/want-all"
if miss=$(unmatched "$T/want-all" "$T/m-ours"); then
	ok "sshterm's filter takes every failure line, MaxStartups drops too ($(wc -l < "$T/want-all"))"
else
	bad "sshterm's filter" "$miss"
fi
grep -qxF -f "$T/good" "$T/m-ours" && bad "sshterm's filter counts good logins" ||
	ok "sshterm's filter does not count good logins"
# One failure per failed connection: MaxAuthTries, the client that gave up,
# 4 closes before authentication, 2 drops.
n=$(grep -c "^$PEER$" "$T/f2b.ip")
[ "$n" -ge 8 ] && ok "$n failures of $PEER: past the default maxretry (5)" ||
	bad "failures of $PEER counted" "$n, want 8 or more"
finish
