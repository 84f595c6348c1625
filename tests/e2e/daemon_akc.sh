#!/usr/bin/env bash
# AuthorizedKeysCommand end to end with OpenSSH's ssh: keys of users without
# an authorized_keys file come from a script run as AuthorizedKeysCommandUser
# nobody with sshd's tokens; a failing, a hanging (timed out, its process
# group killed) and a flooding (output over the cap) script deny; options and
# from= in the output apply; a user with a normal authorized_keys logs in
# while another user's command hangs; a second login hits the cache; the
# shutdown kills a running command. Configuration errors name the file.
#   tests/e2e/daemon_akc.sh [BUILD_DIR]
# Prints "daemon_akc: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_akc "${1:-build}"
SSHOPTS+=(-o IdentitiesOnly=yes)

daemon_keys || exit 1
# nobody must reach the script: $T itself is private (host keys, 0600, stay so).
chmod 711 "$T"
A=$T/akc
mkdir -m 755 "$A"
: > "$A/calls.log"
chmod 666 "$A/calls.log"
cut -d' ' -f1,2 "$T/id_other.pub" > "$A/daemon.keys"
cut -d' ' -f1,2 "$T/id_ecdsa.pub" > "$A/lp.key"
chmod 644 "$A/daemon.keys" "$A/lp.key"
cat > "$A/keys.sh" <<'SCRIPT'
#!/bin/sh
# daemon_akc.sh's AuthorizedKeysCommand: USER UID HOME FP TYPE KEY
D=$(dirname "$0")
echo "call user=$1 uid=$2 home=$3 fp=$4 type=$5 key=$6 runas=$(id -u) path=$PATH" >> "$D/calls.log"
case "$1" in
daemon) echo "# keys of daemon"; echo "not a key line"; cat "$D/daemon.keys" ;;
bin) echo "partial output"; exit 3 ;;
sys) sleep 37; echo late ;;
games) head -c 1100000 /dev/zero | tr '\0' 'x' ;;
lp) printf 'restrict,from="198.18.0.1" %s\n' "$(cat "$D/lp.key")" ;;
man) printf 'from="203.0.113.0/24" %s\n' "$(cat "$D/lp.key")" ;;
esac
SCRIPT
chmod 755 "$A/keys.sh"
AKC=("AuthorizedKeysCommand $A/keys.sh %u %U %h %f %t %k" "AuthorizedKeysCommandUser nobody"
	"AuthorizedKeysCommandTimeout 6" "AuthorizedKeysCommandCacheTime 60" "DefaultService echo")

# Configuration errors, with the file and line.
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
conf_refused() { # name want-in-message config-lines...
	local name=$1 want=$2
	shift 2
	daemon_config "$@"
	if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -t >/dev/null 2>"$T/b.err"; then
		bad "$name is refused"
	elif grep -q "sshterm.conf" "$T/b.err" && grep -q -- "$want" "$T/b.err"; then
		ok "$name is refused: $(grep -m1 "sshterm.conf" "$T/b.err" | head -c 140 | sed "s#$T/##g")"
	else
		bad "$name message" "$(cat "$T/b.err")"
	fi
}
conf_refused "a command without AuthorizedKeysCommandUser" "needs AuthorizedKeysCommandUser" \
	"AuthorizedKeysCommand $A/keys.sh %u"
conf_refused "a relative command" "sshterm.conf:1: AuthorizedKeysCommand: 'keys.sh' is not an absolute path" \
	"AuthorizedKeysCommand keys.sh %u" "AuthorizedKeysCommandUser nobody"
conf_refused "an unknown token" "unknown token %Q" \
	"AuthorizedKeysCommand $A/keys.sh %Q" "AuthorizedKeysCommandUser nobody"
conf_refused "a zero timeout" "AuthorizedKeysCommandTimeout" \
	"AuthorizedKeysCommandTimeout 0"

daemon_config "${AKC[@]}"
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -T 2>&1 | grep -E "^authorizedkeyscommand" > "$T/dump"
grep -qx "authorizedkeyscommand $A/keys.sh %u %U %h %f %t %k" "$T/dump" &&
	grep -qx "authorizedkeyscommanduser nobody" "$T/dump" &&
	grep -qx "authorizedkeyscommandtimeout 6" "$T/dump" &&
	grep -qx "authorizedkeyscommandcachetime 60" "$T/dump" &&
	ok "-T prints the four keywords" || bad "-T prints the keywords" "$(cat "$T/dump")"

start_daemon || { bad "daemon start"; finish; }
akc() { daemon_stat "authorized_keys_command.$1"; }
# Four helper threads, on the control threads' CPUs (off the workers' cores). The
# control socket is up before the threads are named: look for up to 5 s.
for _ in $(seq 1 50); do
	helpers=0 aff_ok=1
	ctl_aff=$(for t in /proc/$DPID/task/*; do [ "$(cat "$t/comm" 2>/dev/null)" = st-ctl-0 ] &&
		grep Cpus_allowed_list "$t/status"; done)
	for t in /proc/$DPID/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		st-akc-*) helpers=$((helpers + 1))
			[ "$(grep Cpus_allowed_list "$t/status")" = "$ctl_aff" ] || aff_ok=0 ;;
		esac
	done
	[ "$helpers" = 4 ] && [ -n "$ctl_aff" ] && break
	sleep 0.1
done
[ "$helpers" = 4 ] && [ "$aff_ok" = 1 ] && [ -n "$ctl_aff" ] &&
	ok "4 helper threads st-akc-N on the control CPUs (${ctl_aff##*:	})" ||
	bad "helper threads" "helpers=$helpers affinity same as st-ctl-0: $aff_ok ($ctl_aff)"
login() { sshc "$@" echo </dev/null >/dev/null 2>&1; }

# Keys from the command, with sshd's tokens, run as nobody.
login daemon "$T/id_other" && ok "daemon logs in with a key the command lists" ||
	bad "daemon logs in with a key the command lists"
fp=$(ssh-keygen -lf "$T/id_other.pub" | awk '{print $2}')
b64=$(awk '{print $2}' "$T/id_other.pub")
grep -qF "call user=daemon uid=1 home=/usr/sbin fp=$fp type=ssh-ed25519 key=$b64 runas=65534 path=/usr/bin:/bin" "$A/calls.log" &&
	ok "the command got %u %U %h %f %t %k, ran as nobody with PATH only" ||
	bad "tokens and user" "$(tail -2 "$A/calls.log")"
grep -q "Accepted publickey for daemon from $PEER port [0-9]* ssh2: ED25519 $fp" "$T/daemon.log" &&
	ok "Accepted line for the command's key" || bad "Accepted line"
grep -q "AuthorizedKeysCommand:2: line skipped" "$T/daemon.log" &&
	ok "a bad line of the output is skipped with its line number" || bad "bad output line logged"
login daemon "$T/id_user" && bad "a key the command does not list is denied" ||
	ok "a key the command does not list is denied"

# Failures deny, with the reason in the log and a counter.
login bin "$T/id_other" && bad "a failing command denies" || ok "a failing command denies"
grep -q "error: AuthorizedKeysCommand $A/keys.sh bin .* failed for bin: exited with status 3" "$T/daemon.log" &&
	ok "the exit status is logged" || bad "exit status logged" "$(grep AuthorizedKeysCommand "$T/daemon.log" | tail -2)"
check "FAIL_EXIT counted" "$(akc FAIL_EXIT)" 1
login games "$T/id_other" && bad "output over 1 MiB denies" || ok "output over 1 MiB denies"
grep -q "failed for games: output over 1048576 bytes, killed" "$T/daemon.log" &&
	ok "oversize is logged" || bad "oversize logged"
check "FAIL_OVERSIZE counted" "$(akc FAIL_OVERSIZE)" 1

# authorized_keys options in the output apply.
login lp "$T/id_ecdsa" && ok "restrict,from= matching the client accepts" || bad "from= matching accepts"
login man "$T/id_ecdsa" && bad "from= not matching denies" || ok "from= not matching denies"
grep -q "AuthorizedKeysCommand:1: key matched but from= does not allow" "$T/daemon.log" &&
	ok "the from= refusal is logged" || bad "from= refusal logged"

# One user's command hangs; another user logs in meanwhile; the hang times out.
t0=$(date +%s.%N)
login sys "$T/id_other" &
HANG=$!
PIDS+=($HANG)
for _ in $(seq 1 50); do grep -q "user=sys" "$A/calls.log" && break; sleep 0.1; done
t1=$(date +%s.%N)
login alice "$T/id_user" && alice=ok || alice=failed
t2=$(date +%s.%N)
during=$(akc FAIL_TIMEOUT)
# The proof: alice's login is done while sys's command still runs (not timed out yet).
if [ "$alice" = ok ] && [ "$during" = 0 ] && awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b - a < 6) }'; then
	ok "alice (authorized_keys file) logs in while sys's command hangs ($(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s)"
else
	bad "alice logs in while the command hangs" "alice=$alice timeouts=$during"
fi
wait "$HANG" && hang=ok || hang=denied
t3=$(date +%s.%N)
if [ "$hang" = denied ] && awk -v a="$t0" -v b="$t3" 'BEGIN { exit !(b - a >= 6 && b - a < 40) }'; then
	ok "the hanging command times out after 6 s and denies"
else
	bad "hanging command times out" "$hang after $(awk -v a="$t0" -v b="$t3" 'BEGIN { print b - a }') s"
fi
check "FAIL_TIMEOUT counted" "$(akc FAIL_TIMEOUT)" 1
grep -q "failed for sys: timed out after 6 s, killed" "$T/daemon.log" && ok "the timeout is logged" ||
	bad "timeout logged"
for _ in $(seq 1 20); do pgrep -f "sleep 37" >/dev/null || break; sleep 0.1; done
pgrep -f "sleep 37" >/dev/null && bad "the command's children are killed with it" ||
	ok "the command's children are killed with it (process group)"
zombies=$(ps -o stat= --ppid "$DPID" | grep -c Z)
check "no zombie children" "$zombies" 0

# The cache: the same expanded command line again is not run again.
runs=$(akc RUNS)
hits=$(akc CACHE_HIT)
login daemon "$T/id_other" && ok "a second login of daemon works" || bad "second login of daemon"
# ssh asks first (no signature), then signs: two lookups, both from the cache.
check "the second login's two lookups are cache hits" "$(( $(akc CACHE_HIT) - hits ))" 2
check "and runs no command" "$(( $(akc RUNS) - runs ))" 0
ctl stats | grep -q "AKC_CACHE_HIT" && ctl stats | grep -q "AKC_FAIL_TIMEOUT" &&
	ok "sshtermctl stats shows the AKC_ counters" || bad "stats text shows AKC_"
ctl stats --prometheus | grep -q 'sshterm_authorized_keys_command_total{event="CACHE_HIT"} [1-9]' &&
	ok "Prometheus metrics carry them" || bad "Prometheus AKC metrics"
/usr/bin/python3 - "/var/run/dpdk/$DPDK_PREFIX/dpdk_telemetry.v2" <<'PYEOF' && ok "DPDK telemetry /sshterm/control carries them" || bad "telemetry AKC counters"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/sshterm/control")
c = json.loads(s.recv(65536))["/sshterm/control"]
assert c["AKC_CACHE_HIT"] >= 2 and c["AKC_FAIL_TIMEOUT"] == 1 and c["AKC_RUNS"] > 0, c
PYEOF

# A reload changes the command's settings for new logins; the cache key has the user in it.
sed -i 's/^AuthorizedKeysCommandUser nobody$/AuthorizedKeysCommandUser daemon/' "$T/sshterm.conf"
runs=$(akc RUNS)
ctl reload >/dev/null && login daemon "$T/id_other" && ok "a login after a reload to AuthorizedKeysCommandUser daemon" ||
	bad "login after the reload"
tail -1 "$A/calls.log" | grep -q "user=daemon .* runas=1 " && check "it ran again, as daemon (uid 1)" "$(( $(akc RUNS) - runs ))" 1 ||
	bad "ran as daemon after the reload" "$(tail -1 "$A/calls.log" | cut -c1-80)"

# Shutdown while a command runs: it is killed, the daemon stops in time.
login sys "$T/id_other" &
PIDS+=($!)
for _ in $(seq 1 50); do [ "$(grep -c "user=sys" "$A/calls.log")" -ge 2 ] && break; sleep 0.1; done
pgrep -f "sleep 37" >/dev/null && ok "a second hanging command runs" || bad "second hanging command runs"
stop_daemon
for _ in $(seq 1 20); do pgrep -f "sleep 37" >/dev/null || break; sleep 0.1; done
pgrep -f "sleep 37" >/dev/null && bad "the shutdown kills the running command" ||
	ok "the shutdown kills the running command"
wait
finish
