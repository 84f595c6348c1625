#!/usr/bin/env bash
# Congestion control benchmark (not a test): the userspace stack sends N bytes
# (chargen) to a kernel receiver over net_tap under CUBIC and NewReno, with
# added round-trip delay (the fault injector's RX delay line holds the ACKs)
# and loss on the stack's sending side. Prints one line per run and the median
# throughput per case.
#   scripts/bench-tcp-cc.sh [BUILD_DIR] [BYTES] [ROUNDS]
# Cases: delay 0/50/150 ms x loss 0/1% (tx drop=10 per mille).
set -u
BUILD=${1:-build}
BYTES=${2:-$((64 << 20))}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh" "$BUILD"
declare -A RES

one() { # cc delay_ms drop_pm -> prints MB/s
	local cc=$1 d=$2 l=$3 rx=seed=1 tx=seed=2 t0 t1 out
	[ "$d" -gt 0 ] && rx="delay=$d,seed=1"
	[ "$l" -gt 0 ] && tx="drop=$l,seed=2"
	start_svc --chargen 19 --chargen-bytes "$BYTES" --sndbuf $((32 << 20)) --cc "$cc" \
		--fault-rx "$rx" --fault-tx "$tx" --mbufs 65536
	t0=$(date +%s.%N)
	out=$(nst 600 $PY --timeout 590 recv $STACK_IP 19)
	t1=$(date +%s.%N)
	stop_svc
	ip netns del "$NS" 2>/dev/null
	rm -rf "/var/run/dpdk/st$$"
	if ! grep -q "rx=$BYTES " <<<"$out"; then
		echo "0"
		return
	fi
	python3 -c "print('%.1f' % ($BYTES / 1e6 / ($t1 - $t0)))"
}


for r in $(seq 1 "$ROUNDS"); do
	for d in 0 50 150; do
		for l in 0 10; do
			for cc in cubic newreno; do
				v=$(one "$cc" "$d" "$l")
				echo "round $r delay ${d}ms loss $((l / 10))% $cc: $v MB/s"
				RES[$cc,$d,$l]="${RES[$cc,$d,$l]:-} $v"
			done
		done
	done
done
echo "median MB/s over $ROUNDS rounds, $((BYTES >> 20)) MiB from the stack:"
for d in 0 50 150; do
	for l in 0 10; do
		line="delay ${d}ms loss $((l / 10))%:"
		for cc in cubic newreno; do
			# shellcheck disable=SC2086
			m=$(printf '%s\n' ${RES[$cc,$d,$l]} | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
			line="$line $cc $m"
		done
		echo "  $line"
	done
done
