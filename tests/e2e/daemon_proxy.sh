#!/usr/bin/env bash
# PROXY protocol end to end. From the front: OpenSSH's ssh logs in through a
# ProxyCommand (tests/e2e/pp_client.py) that sends a v1 or v2 header from an
# allowed source; the header's client address is what `sshtermctl sessions`,
# the log and from= in authorized_keys see. A header from an unlisted source,
# no header under `require`, and truncated, oversize and garbage headers are
# refused with their counters and log lines. To backends (tests/e2e/pp_backend.py): a Service with
# proxy-protocol=v2 gets a v2 header whose addresses and TLVs (user, key
# fingerprint, command) a python3 backend in the namespace checks.
#   tests/e2e/daemon_proxy.sh [BUILD_DIR]
# Prints "daemon_proxy: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_proxy "${1:-build}"
PP=$ROOT/tests/e2e/pp_client.py
OTHER=198.18.0.3 # a second source in the namespace, not in ProxyProtocolFrom
BPORT=7000

daemon_keys || exit 1
echo "from=\"198.18.7.7\" $(cat "$T/id_user.pub")" > "$T/ak/bob"
proxy_conf() { # mode
	daemon_config "ProxyProtocol $1" "ProxyProtocolFrom $PEER/32,fd00::/8" "LoginGraceTime 6" \
		"DefaultService echo" "Service db $PEER:$BPORT proxy-protocol=v2" "Service plain $PEER:$BPORT"
}
proxy_conf accept
start_daemon || { bad "daemon start"; finish; }
ip -n "$NS" addr add "$OTHER/24" dev "$TAP" || { bad "second address"; finish; }
"$BIN/sshterm" --no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" -- -e -f "$T/sshterm.conf" -T 2>/dev/null |
	grep -E '^(proxyprotocol|service db)' > "$T/dump"
grep -q "^proxyprotocol accept" "$T/dump" && grep -q "^proxyprotocolfrom $PEER/32,fd00::/8" "$T/dump" &&
	grep -q "^service db $PEER:$BPORT proxy-protocol=v2" "$T/dump" && ok "sshterm -T prints the PROXY settings" ||
	bad "sshterm -T" "$(cat "$T/dump")"

# via MODE SRC [CLIENT_IP CLIENT_PORT]: ssh options for a login through pp_client.py
via() { echo "ProxyCommand=python3 $PP $1 $2 %h %p ${3:-198.18.7.7} ${4:-4242}"; }
stat() { daemon_stat "$1" 2>/dev/null || echo -1; }

# ---- logins through an allowed load balancer ----
out=$(echo hello-v1 | sshc alice "$T/id_user" -o "$(via v1 "$PEER")" echo 2>&1)
check "login through a v1 header" "$out" "hello-v1"
grep -q "Connection from 198.18.7.7 port 4242 on $ADDR port 22 via PROXY v1 from $PEER port" "$T/daemon.log" &&
	ok "log names the header's client and the load balancer" || bad "log line for v1" "$(grep PROXY "$T/daemon.log" | tail -2)"
grep -q "Accepted publickey for alice from 198.18.7.7 port 4242" "$T/daemon.log" &&
	ok "Accepted line shows the header's address" || bad "Accepted line" "$(grep Accepted "$T/daemon.log" | tail -1)"
out=$(echo hello-v2 | sshc alice "$T/id_user" -o "$(via v2 "$PEER" fd00::77 5555)" echo 2>&1)
check "login through a v2 header with TLVs (IPv6 client)" "$out" "hello-v2"
grep -q "Accepted publickey for alice from fd00::77 port 5555" "$T/daemon.log" &&
	ok "v2 IPv6 client address in the log" || bad "v2 log" "$(grep Accepted "$T/daemon.log" | tail -1)"
out=$(echo hello-local | sshc alice "$T/id_user" -o "$(via local "$PEER")" echo 2>&1)
check "v2 LOCAL keeps the connection's address" "$out" "hello-local"
grep -q "Accepted publickey for alice from $PEER port" "$T/daemon.log" && ok "LOCAL logs the TCP peer" ||
	bad "LOCAL log"
out=$(echo direct | sshc alice "$T/id_user" echo 2>&1)
check "accept: a listed source may also connect without a header" "$out" "direct"
out=$(echo other | sshc alice "$T/id_user" -o "$(via none "$OTHER")" echo 2>&1)
check "accept: an unlisted source connects normally" "$out" "other"

# sessions shows the header's address while a session is up
sleep 6 | sshc alice "$T/id_user" -o "$(via v1 "$PEER" 198.18.9.9 6000)" echo >/dev/null 2>&1 &
HOLD=$!
PIDS+=($HOLD)
for _ in $(seq 1 50); do ctl sessions 2>/dev/null | grep -q alice && break; sleep 0.2; done
ctl sessions 2>/dev/null | grep alice | grep -q "198.18.9.9" && ok "sshtermctl sessions shows the header's address" ||
	bad "sessions" "$(ctl sessions 2>&1 | tail -2)"
ctl sessions --json 2>/dev/null | grep -q '"198.18.9.9"' && ok "sessions --json too" || bad "sessions --json"
wait "$HOLD"

# from= applies to the header's address
out=$(echo bob-ok | sshc bob "$T/id_user" -o "$(via v2 "$PEER" 198.18.7.7 4243)" echo 2>&1)
check "from= matches the header's client address" "$out" "bob-ok"
echo x | sshc bob "$T/id_user" -o "$(via v2 "$PEER" 198.18.7.8 4244)" echo >/dev/null 2>&1 &&
	bad "from= refuses another header address" || ok "from= refuses another header address"
echo x | sshc bob "$T/id_user" echo >/dev/null 2>&1 && bad "from= refuses the load balancer itself" ||
	ok "from= refuses the load balancer itself"

# ---- refusals ----
u0=$(stat control.DISC_PROXY_UNLISTED)
out=$(nsx timeout 40 python3 "$PP" v1probe "$OTHER" "$ADDR" 22)
case $out in closed*) ok "a header from an unlisted source is refused ($out)" ;;
*) bad "unlisted header" "$out" ;; esac
check "DISC_PROXY_UNLISTED counted" "$(stat control.DISC_PROXY_UNLISTED)" "$((u0 + 1))"
grep -q "Disconnecting $OTHER port [0-9]*: PROXY header from a source not in ProxyProtocolFrom" "$T/daemon.log" &&
	ok "unlisted header logged" || bad "unlisted log" "$(grep Disconnecting "$T/daemon.log" | tail -1)"

b0=$(stat control.DISC_PROXY_BAD)
for m in oversize1 oversize2 garbage; do
	t0=$(date +%s)
	out=$(nsx timeout 40 python3 "$PP" $m "$PEER" "$ADDR" 22)
	t1=$(date +%s)
	case $out in closed*) [ $((t1 - t0)) -lt 5 ] && ok "$m header refused at once ($out)" ||
		bad "$m refused at once" "took $((t1 - t0)) s" ;;
	*) bad "$m header refused" "$out" ;; esac
done
check "DISC_PROXY_BAD counted three times" "$(stat control.DISC_PROXY_BAD)" "$((b0 + 3))"
grep -q "bad PROXY header ([0-9]* bytes): header too long" "$T/daemon.log" && grep -q "bad PROXY header.*: bad address" "$T/daemon.log" &&
	ok "bad headers logged with the reason" || bad "bad header log" "$(grep 'bad PROXY' "$T/daemon.log" | tail -3)"
ctl stats 2>/dev/null | grep -q "DISC_PROXY_BAD" && ok "sshtermctl stats lists DISC_PROXY_BAD" || bad "stats text"

g0=$(stat control.DISC_LOGIN_GRACE)
t0=$(date +%s)
out=$(nsx timeout 40 python3 "$PP" trunc "$PEER" "$ADDR" 22)
t1=$(date +%s)
case $out in closed*) [ $((t1 - t0)) -ge 5 ] && [ $((t1 - t0)) -lt 20 ] &&
	ok "a truncated header is dropped after LoginGraceTime ($((t1 - t0)) s)" ||
	bad "truncated header timing" "$((t1 - t0)) s" ;;
*) bad "truncated header" "$out" ;; esac
check "DISC_LOGIN_GRACE counted" "$(stat control.DISC_LOGIN_GRACE)" "$((g0 + 1))"

# ---- require ----
proxy_conf require
ctl reload >/dev/null 2>&1 && ok "reload to ProxyProtocol require" || bad "reload"
m0=$(stat control.DISC_PROXY_MISSING)
u0=$(stat control.DISC_PROXY_UNLISTED)
echo x | sshc alice "$T/id_user" echo >/dev/null 2>&1 && bad "require: no header is refused" ||
	ok "require: no header is refused"
check "DISC_PROXY_MISSING counted" "$(stat control.DISC_PROXY_MISSING)" "$((m0 + 1))"
grep -q "ProxyProtocol require: no PROXY header" "$T/daemon.log" && ok "missing header logged" || bad "missing log"
echo x | sshc alice "$T/id_user" -o "$(via none "$OTHER")" echo >/dev/null 2>&1 &&
	bad "require: an unlisted source is refused" || ok "require: an unlisted source is refused"
check "DISC_PROXY_UNLISTED counted under require" "$(stat control.DISC_PROXY_UNLISTED)" "$((u0 + 1))"
out=$(echo req-ok | sshc alice "$T/id_user" -o "$(via v1 "$PEER")" echo 2>&1)
check "require: a header from a listed source logs in" "$out" "req-ok"
check "PROXY_ACCEPTED counted" "$( [ "$(stat control.PROXY_ACCEPTED)" -ge 7 ] && echo yes)" "yes"


# ---- per-source limits count the header's client, not the load balancer ----
# (per-source limits are read at start-up: restart)
stop_daemon
proxy_conf require
sed -i '1i PerSourceMaxStartups 1' "$T/sshterm.conf"
start_daemon || { bad "daemon restart with PerSourceMaxStartups 1"; finish; }
r0=$(stat per_source.SRC_REFUSED_STARTUPS)
nsx timeout 40 python3 "$PP" v1probe "$PEER" "$ADDR" 22 198.18.5.5 5000 > "$T/hold1" &
H1=$!
PIDS+=($H1)
for _ in $(seq 1 50); do [ "$(stat unauthenticated)" -ge 1 ] && break; sleep 0.1; done
sleep 0.5
t0=$(date +%s)
out=$(nsx timeout 40 python3 "$PP" v1probe "$PEER" "$ADDR" 22 198.18.5.5 5001)
t1=$(date +%s)
case $out in closed*) [ $((t1 - t0)) -lt 4 ] && ok "PerSourceMaxStartups refuses a second connection of the header's client" ||
	bad "second connection of one client" "took $((t1 - t0)) s" ;;
*) bad "second connection of one client" "$out" ;; esac
check "SRC_REFUSED_STARTUPS counted" "$(stat per_source.SRC_REFUSED_STARTUPS)" "$((r0 + 1))"
grep -q "drop connection #[0-9]* from \[198.18.5.5\]:5001 on \[$ADDR\]:22 past PerSourceMaxStartups" "$T/daemon.log" &&
	ok "refusal logged with the header's address, in sshd's format" || bad "refusal log" "$(grep 'drop connection' "$T/daemon.log" | tail -1)"
t0=$(date +%s)
out=$(nsx timeout 40 python3 "$PP" v1probe "$PEER" "$ADDR" 22 198.18.5.6 5002)
t1=$(date +%s)
[ $((t1 - t0)) -ge 4 ] && ok "another client behind the same load balancer is not refused ($((t1 - t0)) s to its grace time)" ||
	bad "another client behind the same load balancer" "closed after $((t1 - t0)) s"
wait "$H1"

# ---- to backends: Service db ... proxy-protocol=v2 ----
nsx python3 "$ROOT/tests/e2e/pp_backend.py" "$PEER" "$BPORT" "$T/backend.out" &
PIDS+=($!)
for _ in $(seq 1 50); do nsx ss -ltn 2>/dev/null | grep -q ":$BPORT " && break; sleep 0.1; done
FP=$(ssh-keygen -lf "$T/id_user.pub" | awk '{print $2}')
out=$(echo backend-data | sshc alice "$T/id_user" -o "$(via v1 "$PEER" 198.18.7.7 4250)" db 2>&1)
check "a proxy-protocol=v2 backend echoes after its header" "$out" "backend-data"
check "the backend's header: client, local address, user, key fingerprint, command" \
	"$(sed -n 1p "$T/backend.out" 2>/dev/null)" "ok 198.18.7.7 4250 $ADDR 22 e0=alice e1=$FP e2=db"
out=$(echo backend-v6 | sshc alice "$T/id_user" -o "$(via v2 "$PEER" fd00::77 5556)" db 2>&1)
check "an IPv6 client reaches the backend" "$out" "backend-v6"
l=$(sed -n 2p "$T/backend.out" 2>/dev/null)
case $l in "ok fd00::77 5556 "*" 22 e0=alice e1=$FP e2=db") ok "IPv6 header to the backend ($l)" ;;
*) bad "IPv6 header to the backend" "$l" ;; esac
echo plain-data | sshc alice "$T/id_user" -o "$(via v1 "$PEER")" plain >/dev/null 2>&1
l=$(sed -n 3p "$T/backend.out" 2>/dev/null)
case $l in "bad short header (11 of 16 bytes)") ok "a Service without the option sends no header" ;;
*) bad "no header without the option" "$l" ;; esac

stop_daemon
finish
