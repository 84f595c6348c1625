#!/usr/bin/env bash
# The daemon over IPv6 (dataplane/nd.c, TCP with two-family tuples) on a TAP
# port in a private namespace: fd00::/8 and 198.18.0.0/15 only.
#   tests/e2e/daemon_ipv6.sh [BUILD_DIR]      (DAEMON_VTAP=1: the kernel TAP port)
# Covers: duplicate address detection at start (the probe counted, the address
# usable after it), ICMPv6 echo (ping -6), OpenSSH over IPv6 with BYTES_6
# (default 1 GiB) from the `source` service and 256 MiB through `echo`, both
# checked by SHA-256; the OpenSSH-style log line and `sshtermctl sessions`
# naming the peer as fd00:18::1; a dual-stack listener (IPv4 and IPv6 logins
# to the same daemon); a named Service and ssh -W to a kernel backend over
# IPv6; Neighbor Discovery with a neighbor that moves (the namespace's MAC
# changes during a transfer, with an unsolicited NA: the cache follows, the
# transfer completes); malformed IPv6 / ICMPv6 / ND frames each dropped and
# counted under its own reason, the daemon still answering after them; then the
# daemon with an IPv6 Address only: logins over IPv6, IPv4 and ARP not answered.
# Prints "daemon_ipv6: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_ipv6 "${1:-build}"
ADDR6=fd00:18::2
PEER6=fd00:18::1
BYTES_6=${BYTES_6:-1073741824}

daemon_keys || exit 1
for t in ed25519 ecdsa rsa; do
	echo "$ADDR6 $(cut -d' ' -f1,2 "$T/host_$t.pub")"
done >> "$T/known_hosts"
echo "from=\"fd00:18::/64\" $(cat "$T/id_user.pub")" > "$T/ak/v6only"
daemon_config "Address $ADDR6/64" "Service kecho6 [$PEER6]:7000" "PermitOpen [$PEER6]:7000" \
	"DefaultService echo"
sshc6() { ADDR=$ADDR6 sshc "$@"; }
w_ctr() { daemon_stat "workers.*.counters.$1" 2>/dev/null || echo 0; }
w_drop() { daemon_stat "workers.*.drops.$1" 2>/dev/null || echo 0; }
# On a failure: the workers' drops and counters, and the namespace's view of the link.
diag() {
	[ -S "$T/ctl.sock" ] || return 0
	ctl stats --json 2>/dev/null | python3 2>/dev/null -c 'import json, sys
for w in json.load(sys.stdin)["workers"]:
    print("    worker %d drops %s" % (w["worker"], w["drops"]))
    print("    worker %d counters %s" % (w["worker"], w["counters"]))'
	nsx ip -6 neigh show dev "$TAP" | sed 's/^/    neigh: /'
	ip -n "$NS" -br addr show dev "$TAP" | sed 's/^/    addr: /'
}
bad() { FAIL=$((FAIL + 1)); echo "  FAIL $1${2:+: $2}"; diag; }
# N echo requests all answered; one retry, so that a worker descheduled for
# seconds on a machine shared with other busy-polling daemons is not a loss.
ping6_all() { # name count
	local out
	out=$(nsx ping -6 -c "$2" -i 0.2 -W 5 "$ADDR6" 2>&1)
	echo "$out" | grep -q " 0% packet loss" ||
		out=$(nsx ping -6 -c "$2" -i 0.2 -W 5 "$ADDR6" 2>&1)
	echo "$out" | grep -q " 0% packet loss" && ok "$1" || bad "$1" "$out"
}

"$BIN/sshterm" --no-huge -m 64 --no-pci --no-shconf --no-telemetry --file-prefix "$DPDK_PREFIX_CHECK" \
	--log-level=lib.eal:error -- -e -f "$T/sshterm.conf" -T 2>"$T/dump.err" > "$T/dump"
grep -qx "address $ADDR6/64" "$T/dump" && grep -qx "listenaddress \[$ADDR6\]:22" "$T/dump" &&
	grep -qx "listenaddress $ADDR:22" "$T/dump" &&
	ok "-T: both addresses, listeners on both families" ||
	bad "-T" "$(grep -i addr "$T/dump") $(head -c 300 "$T/dump.err")"

if ! start_daemon; then
	cat "$T/daemon.log"
	bad "daemon starts"
	finish
fi
ok "daemon starts with $ADDR/24 and $ADDR6/64"
# nodad: the namespace's own address is usable at once (ours runs DAD, the subject here).
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "net.ipv6.conf.$TAP.disable_ipv6=0" 2>/dev/null
ip -n "$NS" addr add "$PEER6/64" dev "$TAP" nodad
grep -q "Server listening on $ADDR6 port 22" "$T/daemon.log" &&
	grep -q "Server listening on $ADDR port 22" "$T/daemon.log" &&
	ok "listening on both families (log)" || bad "listening log lines" "$(grep listening "$T/daemon.log")"

# ---- DAD, ping ----
# The address is ours once DAD passed (1 s): pinging before would make the
# namespace's kernel mark us unreachable for a while (we may not answer NS for
# a tentative address, RFC 4862).
for _ in $(seq 1 100); do [ "$(w_ctr ND_DAD_DONE)" -ge 1 ] && break; sleep 0.1; done
check "duplicate address detection passed" "$(w_ctr ND_DAD_DONE)" 1
pinged=
for _ in $(seq 1 20); do
	nsx ping -6 -c 1 -W 1 "$ADDR6" >/dev/null 2>&1 && { pinged=1; break; }
	sleep 0.5
done
check "duplicate address detection probe sent" "$(w_ctr ND_DAD_SENT)" 1
check "no DAD conflict" "$(w_ctr ND_DAD_CONFLICT)" 0
[ -n "$pinged" ] && ok "ping -6 answered after DAD" || bad "ping -6 answered after DAD"
ping6_all "ping -6: 5 of 5" 5
r=$(w_ctr ICMP6_ECHO_REPLIES)
[ "$r" -ge 6 ] && ok "ICMP6_ECHO_REPLIES counted ($r)" || bad "ICMP6_ECHO_REPLIES" "$r"
nsx ping -6 -c 2 -i 0.2 -W 5 -I "$TAP" ff02::1 >/dev/null 2>&1
for _ in $(seq 1 30); do [ "$(w_ctr ICMP6_ECHO_REPLIES)" -gt "$r" ] && break; sleep 0.1; done
r2=$(w_ctr ICMP6_ECHO_REPLIES)
[ "$r2" -gt "$r" ] && ok "ping -6 to all-nodes answered" || bad "ping -6 ff02::1" "$r -> $r2"
[ "$(w_ctr ND_NA_SENT)" -ge 1 ] && [ "$(w_ctr ND_LEARNED)" -ge 1 ] &&
	ok "the namespace's NS answered (NA), its address learnt" ||
	bad "NS/NA" "na=$(w_ctr ND_NA_SENT) learned=$(w_ctr ND_LEARNED)"
nsx ip -6 neigh show "$ADDR6" dev "$TAP" | grep -Eq "lladdr [0-9a-f:]+ (REACHABLE|STALE|DELAY|PROBE)" &&
	ok "the namespace resolved $ADDR6 by ND" || bad "kernel neighbor entry" "$(nsx ip -6 neigh)"
DMAC=$(nsx ip -6 neigh show "$ADDR6" dev "$TAP" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')

# ---- OpenSSH over IPv6 ----
r=$(echo hello6 | TMO=30 sshc6 alice "$T/id_user" echo 2>"$T/e1")
check "ssh over IPv6: echo" "$r" hello6
want=$(source_sha "$BYTES_6")
t0=$(date +%s.%N)
got=$(TMO=600 sshc6 alice "$T/id_user" "source $BYTES_6" | sha256sum | cut -d' ' -f1)
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
check "$((BYTES_6 >> 20)) MiB from source over IPv6, SHA-256 ($secs s)" "$got" "$want"
want=$(stream 268435456 6666666666666666666666666666666f | sha256sum | cut -d' ' -f1)
got=$(stream 268435456 6666666666666666666666666666666f | TMO=300 sshc6 alice "$T/id_user" echo |
	head -c 268435456 | sha256sum | cut -d' ' -f1)
check "256 MiB through echo over IPv6 (both directions), SHA-256" "$got" "$want"
# TSO over IPv6 only where the port cuts IPv6: the kernel TAP port does (GSO_TCPV6), net_tap's
# software GSO does not (it would send 64 KiB frames whole). Only IPv6 traffic so far.
tso=$(w_ctr TCP_TSO_OUT)
if [ -n "${DAEMON_VTAP:-}" ]; then
	[ "$tso" -gt 0 ] && ok "IPv6 segments sent as TSO packets on the kernel TAP port ($tso)" ||
		bad "TSO over IPv6 on the kernel TAP port" "$tso"
else
	grep -q "tso=1 .*tso6=0" "$T/daemon.log" && [ "$tso" = 0 ] &&
		ok "no TSO for IPv6 on net_tap (its GSO is IPv4 only)" || bad "no IPv6 TSO on net_tap" "$tso"
fi
grep -q "Accepted publickey for alice from $PEER6 port [0-9]* ssh2: ED25519 SHA256:" "$T/daemon.log" &&
	ok "log: 'Accepted publickey for alice from $PEER6 port N ssh2'" ||
	bad "IPv6 Accepted publickey log line" "$(grep Accepted "$T/daemon.log" | tail -2)"
r=$(echo ok6 | TMO=30 sshc6 v6only "$T/id_user" echo 2>/dev/null)
check "from=\"fd00:18::/64\" matches the IPv6 peer" "$r" ok6
(sleep 4 | TMO=30 sshc6 alice "$T/id_user" echo >/dev/null 2>&1) &
PIDS+=($!)
listed=
for _ in $(seq 1 30); do
	ctl sessions 2>/dev/null | grep -q "$PEER6" && { listed=1; break; }
	sleep 0.2
done
[ -n "$listed" ] && ok "sshtermctl sessions names the peer $PEER6" ||
	bad "sshtermctl sessions" "$(ctl sessions 2>&1 | head -5)"

# ---- dual stack ----
r4=$(echo four | TMO=30 sshc alice "$T/id_user" echo 2>/dev/null)
r6=$(echo six | TMO=30 sshc6 alice "$T/id_user" echo 2>/dev/null)
[ "$r4" = four ] && [ "$r6" = six ] && ok "dual stack: IPv4 and IPv6 logins to the same daemon" ||
	bad "dual stack" "v4='$r4' v6='$r6'"
r=$(echo v4 | TMO=30 sshc v6only "$T/id_user" echo 2>/dev/null)
[ -z "$r" ] && ok "from=\"fd00:18::/64\" refuses the IPv4 peer" || bad "from= over IPv4" "$r"

# ---- backends over IPv6 ----
cp "$ROOT/tests/e2e/echo_server.py" "$T/echo_server.py"
nsx python3 "$T/echo_server.py" "$PEER6" 7000 &
PIDS+=($!)
for _ in $(seq 1 50); do nsx ss -ltn 2>/dev/null | grep -q "\[$PEER6\]:7000" && break; sleep 0.1; done
want=$(stream 10485760 7777777777777777777777777777777f | sha256sum | cut -d' ' -f1)
got=$(stream 10485760 7777777777777777777777777777777f | TMO=60 sshc6 alice "$T/id_user" kecho6 |
	head -c 10485760 | sha256sum | cut -d' ' -f1)
check "named Service [fd00:18::1]:7000 -> kernel backend over IPv6 (10 MiB)" "$got" "$want"
got=$(stream 10485760 7777777777777777777777777777777f | TMO=60 sshc alice "$T/id_user" -W "[$PEER6]:7000" |
	head -c 10485760 | sha256sum | cut -d' ' -f1)
check "ssh -W [fd00:18::1]:7000 (direct-tcpip to IPv6, client over IPv4; 10 MiB)" "$got" "$want"
if echo x | TMO=20 sshc6 alice "$T/id_user" -W "[$PEER6]:7001" >/dev/null 2>&1; then
	bad "ssh -W to an IPv6 target not in PermitOpen is refused"
else
	ok "ssh -W to an IPv6 target not in PermitOpen is refused"
fi

# ---- a neighbor that moves ----
learned0=$(w_ctr ND_LEARNED)
nsx sysctl -qw "net.ipv6.conf.$TAP.ndisc_notify=1"
# Long enough (1 GiB, several seconds here) that both changes land inside it.
MOVE=1073741824
want=$(source_sha $MOVE)
(TMO=300 sshc6 alice "$T/id_user" "source $MOVE" | sha256sum | cut -d' ' -f1 > "$T/move.sha") &
mpid=$!
for _ in $(seq 1 50); do ctl sessions 2>/dev/null | grep -q "$PEER6" && break; sleep 0.1; done
sleep 0.5
ip -n "$NS" link set "$TAP" address 02:5e:00:00:66:01
sleep 0.5
ip -n "$NS" link set "$TAP" address 02:5e:00:00:66:02
during=no
kill -0 $mpid 2>/dev/null && during=yes # still running after both changes
wait $mpid
check "a transfer continues while the neighbor's MAC changes twice (1 GiB, SHA-256)" \
	"$(cat "$T/move.sha")" "$want"
check "the MAC changed while that transfer ran" "$during" yes
learned1=$(w_ctr ND_LEARNED)
[ "$learned1" -gt "$learned0" ] && ok "the unsolicited NAs updated the neighbor cache ($learned0 -> $learned1)" ||
	bad "ND_LEARNED after the MAC changes" "$learned0 -> $learned1"
# The kernel flushes its neighbor entries when its MAC changes: the first ping
# after the move may race its new resolution, so one try to settle first.
nsx ping -6 -c 1 -W 2 "$ADDR6" >/dev/null 2>&1
ping6_all "ping -6 after the move" 3
r=$(echo moved | TMO=30 sshc6 alice "$T/id_user" echo 2>/dev/null)
check "a new IPv6 login after the move" "$r" moved

# ---- malformed frames ----
if [ -n "$DMAC" ]; then
	nsx python3 "$ROOT/tests/e2e/rawpkt6.py" junk6 "$TAP" "$DMAC" "$PEER6" "$ADDR6" 3 > "$T/junk6.out" 2>&1
	# the workers publish their counters every few ms: wait for the last kind's
	for _ in $(seq 1 50); do [ "$(w_drop IP6_SRC)" -ge 3 ] && break; sleep 0.1; done
	for kv in frag:IP6_FRAG routing:IP6_ROUTING badopt:IP6_OPT trunc:IP6_LEN nshop:ND_HOPLIMIT \
		nszero:ND_OPT_ZERO nstrunc:ND_OPT_TRUNC icmpsum:ICMP6_CSUM mapped:IP6_SRC; do
		k=${kv%%:*}
		d=${kv#*:}
		n=$(w_drop "$d")
		[ "$n" -ge 3 ] && ok "$k frames dropped as $d ($n)" ||
			bad "$k frames dropped as $d" "got $n; sender: $(grep "^$k=" "$T/junk6.out")"
	done
	ping6_all "still answering after the malformed frames" 2
else
	bad "the daemon's MAC from the namespace's neighbor table"
fi

stop_daemon

# ---- an IPv6-only port ----
grep -v "^Address $ADDR/" "$T/sshterm.conf" > "$T/v6only.conf"
rm -f "$T/ctl.sock"
if CONF=$T/v6only.conf start_daemon; then
	nsx sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=0" 2>/dev/null
	ip -n "$NS" addr add "$PEER6/64" dev "$TAP" nodad
	for _ in $(seq 1 100); do [ "$(w_ctr ND_DAD_DONE)" -ge 1 ] && break; sleep 0.1; done
	grep -q "Server listening on $ADDR6 port 22" "$T/daemon.log" && ok "IPv6 only: listening on $ADDR6" ||
		bad "IPv6 only: listening line"
	r=$(echo only6 | TMO=30 sshc6 alice "$T/id_user" echo 2>/dev/null)
	check "IPv6 only: ssh over IPv6" "$r" only6
	nsx ping -c 1 -W 1 "$ADDR" >/dev/null 2>&1 && bad "IPv6 only: IPv4 not answered" ||
		ok "IPv6 only: IPv4 not answered"
	[ "$(w_drop ARP_NOT_US)" -ge 1 ] && ok "IPv6 only: ARP for $ADDR counted as ARP_NOT_US" ||
		bad "IPv6 only: ARP_NOT_US" "$(w_drop ARP_NOT_US)"
	stop_daemon
else
	bad "IPv6 only: daemon starts" "$(tail -5 "$T/daemon.log")"
fi
finish
