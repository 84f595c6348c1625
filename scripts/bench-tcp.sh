#!/usr/bin/env bash
# TCP dataplane benchmark (not a test): worker cycles per packet / per byte for
# a 1 GiB bulk transfer over net_tap (kernel TCP on the other side) and over
# net_memif between two sshterm-tcpsvc processes, and connections per second
# (open + close) on one worker over memif.
#   scripts/bench-tcp.sh [BUILD_DIR]
# "cycles" are TSC cycles of busy poll passes (passes that moved packets);
# "stack" excludes the time inside the PMD's rx/tx burst calls (for TAP those
# are read()/write() system calls into the kernel, which dominate).
set -u
B=$(cd "${1:-build}" && pwd)
SVC=$B/sshterm-tcpsvc
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="python3 $ROOT/tests/e2e/tcpclient.py"
NS=st_bench_$$
TAP=stb$$
SOCK=/tmp/st_bench_$$.sock
WORK=$(mktemp -d /tmp/bench-tcp.XXXXXX)
EAL="--no-huge -m 512 --no-pci --no-shconf --no-telemetry --log-level=lib.eal:error"
NCPU=$(nproc)
L1=$((NCPU - 1))
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 1
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -f "$SOCK"
	rm -rf "$WORK"
}
trap cleanup EXIT

stats() { # file label
	local f=$1
	echo "  $2:"
	grep -E "^total (rx_pkts|cycles_per|stack_cycles)" "$f" | sed 's/^total /    /'
}
wait_gone() { for _ in $(seq 1 "$2"); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; }

echo "== TCP dataplane benchmark ($(date -u +%F), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"

# ---- net_tap: kernel TCP <-> stack ----
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" "$SVC" -l $L1 $EAL --file-prefix=stb$$ --vdev="net_tap0,iface=$TAP" -- \
	--ip 198.18.0.2/24 --discard 9 --chargen 19 --chargen-bytes 1G --quiet --no-hash >"$WORK/tap.out" 2>&1 &
SP=$!
pids+=($SP)
for _ in $(seq 1 300); do ip netns exec "$NS" ip link show "$TAP" >/dev/null 2>&1 && grep -q ready "$WORK/tap.out" && break; sleep 0.1; done
ip netns exec "$NS" ip addr add 198.18.0.1/24 dev "$TAP"
ip netns exec "$NS" ip link set "$TAP" txqueuelen 10000 up
ip netns exec "$NS" ping -c 1 -W 2 198.18.0.2 >/dev/null
t0=$(date +%s.%N)
timeout 150 ip netns exec "$NS" $PY --timeout 140 send 198.18.0.2 9 1073741824 >/dev/null
t1=$(date +%s.%N)
timeout 150 ip netns exec "$NS" $PY --timeout 140 recv 198.18.0.2 19 >/dev/null
t2=$(date +%s.%N)
kill -TERM $SP
wait_gone $SP 100
echo "net_tap, 1 GiB kernel->stack (discard) in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s, 1 GiB stack->kernel (chargen) in $(awk "BEGIN{printf \"%.2f\", $t2 - $t1}") s"
stats "$WORK/tap.out" "worker (both transfers)"
ip netns del "$NS"

# ---- net_memif: two stacks ----
rm -f "$SOCK"
"$SVC" -l $L1 $EAL --file-prefix=stbs$$ --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no -- \
	--ip 198.18.1.1/24 --discard 9 --quiet --no-hash --syn-backlog 4096 >"$WORK/msrv.out" 2>&1 &
SRV=$!
pids+=($SRV)
for _ in $(seq 1 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
timeout 120 "$SVC" -l 0 $EAL --file-prefix=stbc$$ --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no -- \
	--ip 198.18.1.2/24 --connect 198.18.1.1:9 --conns 1 --send 1G --quiet --no-hash \
	--connect-delay-ms 2000 >"$WORK/mcli.out" 2>&1
kill -TERM $SRV
wait_gone $SRV 100
echo "net_memif, 1 GiB stack->stack: $(grep -o 'seconds=[0-9.]*' "$WORK/mcli.out")"
stats "$WORK/mcli.out" "sender worker"
stats "$WORK/msrv.out" "receiver worker"

rm -f "$SOCK"
"$SVC" -l $L1 $EAL --file-prefix=stbs2$$ --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no -- \
	--ip 198.18.1.1/24 --discard 9 --quiet --no-hash --syn-backlog 4096 >"$WORK/csrv.out" 2>&1 &
SRV=$!
pids+=($SRV)
for _ in $(seq 1 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
timeout 120 "$SVC" -l 0 $EAL --file-prefix=stbc2$$ --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no -- \
	--ip 198.18.1.2/24 --connect 198.18.1.1:9 --conns 50000 --parallel 32 --send 0 --tw-ms 100 \
	--max-conns 65536 --quiet --no-hash --connect-delay-ms 2000 >"$WORK/ccli.out" 2>&1
kill -TERM $SRV
wait_gone $SRV 100
echo "net_memif, connections (open + close, 32 in parallel) on one worker each side:"
grep -E "^clients" "$WORK/ccli.out" | sed 's/^/    /'
stats "$WORK/csrv.out" "server worker"
