#!/usr/bin/env bash
# The kernel TAP port (TapInterface; dataplane/vtap.h): the daemon's frames cross
# the TAP with a virtio-net header, so TSO packets go to the kernel whole and the
# kernel's GSO packets come back whole.
#   tests/e2e/daemon_vtap.sh [BUILD_DIR]
# Checks: the port comes up; 256 MiB down (OpenSSH, by the source keystream's
# SHA-256) and up (sink's SHA-256) go as TSO packets and received GSO packets
# (counters); echo both ways; MTU 9000 on the TAP; two workers on a two-queue TAP
# with 8 sessions at once; the interface taken down mid-transfer drops frames
# visibly (TAP_WRITE) and the transfer completes once it is up again; bad
# TapInterface values and the fault injector are start-up errors.
# shellcheck source=tests/e2e/lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_vtap "${1:-build}"
daemon_keys || exit 1
DAEMON_VTAP=1
daemon_config "WorkerIdle sleep"
EALT=(--no-huge -m 256 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" -l 0)

# 1. Configuration errors, before anything runs (sshterm -t checks the file).
for v in "a/b" "0123456789abcdef" ".." "x:y"; do
	printf 'TapInterface %s\n' "$v" > "$T/bad.conf"
	grep -v '^TapInterface' "$T/sshterm.conf" >> "$T/bad.conf"
	if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/bad.conf" -t >"$T/bad.out" 2>&1; then
		bad "TapInterface '$v' refused"
	else
		grep -q "bad.conf:1: TapInterface" "$T/bad.out" && ok "TapInterface '$v' refused, with file:line" ||
			bad "TapInterface '$v' message" "$(head -2 "$T/bad.out")"
	fi
done

start_daemon || { bad "daemon starts on TapInterface $TAP"; finish; }
grep -q "port $TAP (kernel TAP, virtio-net header) queues=1 tx_csum=1 tso=1" "$T/daemon.log" &&
	ok "daemon up on the kernel TAP port, offloads on" ||
	bad "daemon up on the kernel TAP port" "$(grep dataplane: "$T/daemon.log")"
ctr() { daemon_stat "workers.*.counters.$1" 2>/dev/null || echo 0; }

# 2. Bulk both ways and echo, exact bytes, whole TSO/GSO packets across the TAP.
want=$(source_sha $((256 << 20)))
got=$(TMO=120 sshc alice "$T/id_user" "source 256M" | sha256sum | cut -d' ' -f1)
check "256 MiB down (SHA-256 of the source keystream)" "$got" "$want"
t=$(ctr TCP_TSO_OUT)
s=$(ctr TCP_TSO_SEGS)
[ "$t" -gt 0 ] && [ "$s" -gt $((t * 4)) ] && ok "down went as TSO packets ($t packets, $s segments)" ||
	bad "down went as TSO packets" "TSO_OUT=$t TSO_SEGS=$s"
head -c $((256 << 20)) /dev/urandom > "$T/data"
want=$(sha256sum < "$T/data" | cut -d' ' -f1)
got=$(TMO=120 sshc alice "$T/id_user" sink < "$T/data" | awk '{print $2}')
check "256 MiB up (sink's SHA-256)" "$got" "$want"
g=$(ctr TAP_RX_GSO)
[ "$g" -gt 0 ] && ok "the kernel's GSO packets came in whole ($g)" || bad "GSO packets received" "$g"
head -c $((32 << 20)) "$T/data" > "$T/data32"
want=$(sha256sum < "$T/data32" | cut -d' ' -f1)
got=$(TMO=120 sshc alice "$T/id_user" echo < "$T/data32" | sha256sum | cut -d' ' -f1)
check "32 MiB through echo" "$got" "$want"
check "no TCP checksum or length drops" "$(($(daemon_stat 'workers.*.drops.TCP_CSUM' 2>/dev/null || echo 0) + \
	$(daemon_stat 'workers.*.drops.IP_LEN' 2>/dev/null || echo 0)))" 0

# 3. The interface taken down mid-transfer: writes are refused and counted, TCP
# retransmits once it is back, and the bytes arrive whole.
want=$(source_sha $((64 << 20)))
# The client reads at about 32 MiB/s, so the transfer lasts 2 s whatever the
# machine's speed, and the TAP goes down in its middle.
# An idle session, killed while the TAP is down: its disconnect is a write the
# daemon must make then (the transfer alone may have nothing to send while down:
# everything acked and the client's window closed).
( (sleep 60 & echo $! > "$T/idle.pid"; wait) | TMO=70 sshc alice "$T/id_user" sink >/dev/null 2>&1) &
PIDS+=($!)
isid=
for _ in $(seq 1 150); do
	isid=$(ctl sessions 2>/dev/null | awk '$2 == "alice" { print $1; exit }')
	[ -n "$isid" ] && break
	sleep 0.2
done
base=$(ctr TCP_DATA_SEGS_OUT)
(TMO=120 sshc alice "$T/id_user" "source 64M" |
	python3 -c 'import sys,time
i, o = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = i.read(65536)
    if not b:
        break
    o.write(b)
    time.sleep(0.002)' | sha256sum | cut -d' ' -f1 > "$T/flap.sha") &
FP=$!
PIDS+=($FP)
# Down only once this transfer's data flows: the counter is the daemon's total, so it must grow
# past what the sections above sent (a link taken down before the client's SYN leaves the
# daemon nothing to write).
# Bounded at 30 s: on a loaded machine the login alone can take seconds.
for _ in $(seq 1 600); do [ "$(ctr TCP_DATA_SEGS_OUT)" -gt $((base + 200)) ] && break; sleep 0.05; done
w0=$(daemon_stat 'workers.*.drops.TAP_WRITE' 2>/dev/null || echo 0)
ip -n "$NS" link set "$TAP" down
# Down for at least 2.5 s, and until the daemon wrote to the downed TAP (at most 10 s): with no
# ACKs coming back, a retransmission timeout (1 s before any RTT sample, RFC 6298; longer
# when a loaded machine measured long RTTs) is what makes the daemon write.
sleep 2.5
[ -n "$isid" ] && ctl kill "$isid" >/dev/null 2>&1
for _ in $(seq 1 75); do
	[ "$(daemon_stat 'workers.*.drops.TAP_WRITE' 2>/dev/null || echo 0)" -gt "$w0" ] && break
	sleep 0.1
done
ip -n "$NS" link set "$TAP" up
ip -n "$NS" addr add "$PEER/24" dev "$TAP" 2>/dev/null # (kept across down/up; in case)
wait $FP
kill "$(cat "$T/idle.pid")" 2>/dev/null # its stdin ends, so does the client
check "64 MiB with the TAP down for 2.5 s meanwhile" "$(cat "$T/flap.sha")" "$want"
w=$(daemon_stat 'workers.*.drops.TAP_WRITE' 2>/dev/null || echo 0)
[ "$w" -gt 0 ] && ok "writes to the downed TAP counted (TAP_WRITE $w)" || bad "TAP_WRITE counted" "$w"
stop_daemon

# 4. MTU 9000 on the TAP: the kernel side follows, frames are jumbo, bytes exact.
daemon_config "MTU 9000"
start_daemon || { bad "daemon starts at MTU 9000 on TapInterface"; finish; }
check "kernel side of the TAP at MTU 9000" "$(ip netns exec "$NS" cat /sys/class/net/"$TAP"/mtu)" 9000
want=$(source_sha $((64 << 20)))
got=$(TMO=120 sshc alice "$T/id_user" "source 64M" | sha256sum | cut -d' ' -f1)
check "64 MiB down at MTU 9000" "$got" "$want"
t=$(ctr TCP_TSO_OUT)
s=$(ctr TCP_TSO_SEGS)
b=$(daemon_stat 'workers.*.tx_bytes')
[ "$s" -gt 0 ] && [ $((b / s)) -gt 4000 ] && ok "segments of about $((b / s)) bytes" ||
	bad "jumbo segments" "tx_bytes=$b TSO_SEGS=$s"
stop_daemon

# 5. Two workers on a two-queue TAP: 8 sessions at once, each exact.
daemon_config "WorkerIdle sleep" "MaxStartups 64"
LCORES=0,1 start_daemon || { bad "daemon starts with two workers on TapInterface"; finish; }
grep -q "port $TAP (kernel TAP, virtio-net header) queues=2" "$T/daemon.log" &&
	ok "two queues, one per worker" || bad "two queues" "$(grep dataplane: "$T/daemon.log")"
want=$(source_sha $((16 << 20)))
PP=()
for i in $(seq 1 8); do
	(TMO=120 sshc alice "$T/id_user" "source 16M" | sha256sum | cut -d' ' -f1 > "$T/p$i.sha") &
	PP+=($!)
done
PIDS+=("${PP[@]}")
for p in "${PP[@]}"; do wait "$p"; done
n=0
for i in $(seq 1 8); do [ "$(cat "$T/p$i.sha")" = "$want" ] && n=$((n + 1)); done
check "8 parallel downloads of 16 MiB on two workers, all exact" "$n" 8
w0=$(daemon_stat 'workers.0.counters.TCP_ACCEPTED' 2>/dev/null || echo 0)
w1=$(daemon_stat 'workers.1.counters.TCP_ACCEPTED' 2>/dev/null || echo 0)
echo "   connections per worker: $w0 / $w1 (the kernel picks the queue by its flow hash)"
[ $((w0 + w1)) -ge 8 ] && ok "connections accepted across the workers ($w0 + $w1)" ||
	bad "connections accepted" "$w0 + $w1"
stop_daemon
finish
