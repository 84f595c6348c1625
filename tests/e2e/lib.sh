# Shared helpers for the dataplane end-to-end tests (sourced, not run).
# Each test gets its own network namespace; sshterm-tcpsvc runs inside it on a
# net_tap port whose kernel side is 198.18.0.1/24; the stack is 198.18.0.2.
set -u
B=${1:-build}
B=$(cd "$B" && pwd)
SVC=$B/sshterm-tcpsvc
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=$(basename "$0" .sh)
NS=st_${NAME#tcp_}_$$
NS=${NS:0:15}
TAP=stt$$
TAP=${TAP:0:15}
WORK=$(mktemp -d /tmp/${NAME}.XXXXXX)
SVC_PID=
PASS=0
FAIL=0
KERNEL_IP=198.18.0.1
# the last CPU for the poll-mode worker (the kernel side and clients share the rest)
LCORE=$(( $(nproc) - 1 ))
STACK_IP=198.18.0.2

cleanup() {
	if [ -n "$SVC_PID" ] && kill -0 "$SVC_PID" 2>/dev/null; then
		kill -TERM "$SVC_PID" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$SVC_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SVC_PID" 2>/dev/null
	fi
	# any process still inside the namespace
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "/var/run/dpdk/st$$" # the EAL runtime directory of --file-prefix=st$$
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { # description, command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
finish() {
	echo "$NAME: $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

nsx() { ip netns exec "$NS" "$@"; }

# start_svc [tcpsvc args...]: starts the service in the namespace and waits for the tap.
start_svc() {
	ip netns add "$NS" || { bad "netns add"; finish; }
	nsx ip link set lo up
	# LCORE "0,1" is a core list (-l); "0@0,1@1,2@0" maps lcores onto CPUs (--lcores)
	local lc=(-l "$LCORE")
	case $LCORE in *@*) lc=(--lcores="$LCORE") ;; esac
	ip netns exec "$NS" "$SVC" "${lc[@]}" --no-huge -m 512 --no-pci --no-shconf --file-prefix=st$$ --no-telemetry \
		--log-level=lib.eal:error --vdev="net_tap0,iface=$TAP" -- \
		--ip $STACK_IP/24 "$@" >"$WORK/svc.out" 2>"$WORK/svc.err" &
	SVC_PID=$!
	# EAL start-up (512 MiB without hugepages) takes a few seconds on a busy box
	for _ in $(seq 1 600); do
		nsx ip link show "$TAP" >/dev/null 2>&1 && grep -q "tcpsvc: ready" "$WORK/svc.out" && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! nsx ip link show "$TAP" >/dev/null 2>&1; then
		bad "tap interface did not appear"
		cat "$WORK/svc.err" "$WORK/svc.out"
		finish
	fi
	nsx ip addr add $KERNEL_IP/24 dev "$TAP"
	# a deeper kernel->DPDK queue: hundreds of kernel senders burst at once
	nsx ip link set "$TAP" txqueuelen 10000
	nsx ip link set "$TAP" up
	# kernel side settles (and learns the stack's MAC) with a few pings
	nsx ping -c 1 -W 2 $STACK_IP >/dev/null 2>&1 || nsx ping -c 1 -W 2 $STACK_IP >/dev/null 2>&1
}

# start_svc_afpacket [tcpsvc args...]: the same on net_af_packet over a veth pair;
# $TAP is the kernel's end (198.18.0.1), the stack's end is $TAP-d.
start_svc_afpacket() {
	ip netns add "$NS" || { bad "netns add"; finish; }
	nsx ip link set lo up
	nsx ip link add "$TAP" type veth peer name "${TAP}d"
	# the kernel must put real checksums on what it sends (no offload across AF_PACKET)
	nsx ethtool -K "$TAP" tx off >/dev/null 2>&1
	nsx ip link set "${TAP}d" up
	nsx ip addr add $KERNEL_IP/24 dev "$TAP"
	nsx ip link set "$TAP" up
	ip netns exec "$NS" "$SVC" -l "$LCORE" --no-huge -m 512 --no-pci --no-shconf --file-prefix=st$$ --no-telemetry \
		--log-level=lib.eal:error --vdev="net_af_packet0,iface=${TAP}d" -- \
		--ip $STACK_IP/24 "$@" >"$WORK/svc.out" 2>"$WORK/svc.err" &
	SVC_PID=$!
	for _ in $(seq 1 600); do
		grep -q "tcpsvc: ready" "$WORK/svc.out" && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "tcpsvc: ready" "$WORK/svc.out"; then
		bad "service did not start"
		cat "$WORK/svc.err" "$WORK/svc.out"
		finish
	fi
	nsx ping -c 1 -W 2 $STACK_IP >/dev/null 2>&1 || nsx ping -c 1 -W 2 $STACK_IP >/dev/null 2>&1
}

# stop_svc: SIGTERM and wait (bounded); output stays in $WORK/svc.out
stop_svc() {
	[ -n "$SVC_PID" ] || return 0
	kill -TERM "$SVC_PID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$SVC_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SVC_PID" 2>/dev/null
	wait "$SVC_PID" 2>/dev/null
	SVC_PID=
}

# counter NAME: sum of "worker* ctr.NAME=" or "drop.NAME=" over workers from svc.out
counter() {
	grep -E "^total (ctr|drop)\.$1=" "$WORK/svc.out" | head -1 | sed 's/.*=//' | grep . || echo 0
}

# nst SECONDS command...: bounded command inside the namespace
nst() {
	local t=$1
	shift
	timeout --kill-after=5 "$t" ip netns exec "$NS" "$@"
}
PY="python3 $HERE/tcpclient.py"

# wait_listening FILE: until the kernel-side server printed "listening" (bounded)
wait_listening() {
	for _ in $(seq 1 300); do
		grep -q listening "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
