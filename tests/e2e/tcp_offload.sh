#!/usr/bin/env bash
# Offloads and MTU over net_tap against the kernel's TCP: 64 MiB into
# `discard` (kernel -> stack: GRO merges what the kernel sends) and 64 MiB out
# of `chargen` (stack -> kernel: TSO packets the port cuts up), SHA-256 checked
# on both ends, at MTU 1500 and 1280 with offloads on and off (--no-offload),
# and at 576 with them on (net_tap cuts a TSO packet into 64 segments at most).
# The TSO / GRO counters must move when on and stay at zero when off. An MTU
# the port cannot do (9000: net_tap in DPDK 22.11 takes frames up to 1522
# bytes) must stop start-up with a message that names it. Each round gets its
# own namespace and service; everything is bounded in time.
source "$(dirname "$0")/lib.sh"
BYTES=$((64 << 20))
PAT_SHA=$(python3 "$HERE/tcpclient.py" sha $BYTES)

# teardown between rounds: the service is stopped, its namespace and EAL files go
end_round() {
	stop_svc
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "/var/run/dpdk/st$$"
}

# round MTU on|off
round() {
	local mtu=$1 mode=$2 tag="MTU $1, offloads $2" extra=() out
	if [ "$mode" = off ]; then extra=(--no-offload); else extra=(--gro); fi
	start_svc --mtu "$mtu" --discard 9 --chargen 19 --chargen-bytes $BYTES "${extra[@]}"
	# the kernel side at the same MTU (the port set it already; this makes sure)
	nsx ip link set "$TAP" mtu "$mtu"
	port_line=$(grep "dataplane: port" "$WORK/svc.err")
	echo "   $port_line"
	check "$tag: port set to mtu=$mtu" grep -q "mtu=$mtu " <<<"$port_line"
	check "$tag: kernel side at MTU $mtu" nsx sh -c "ip link show $TAP | grep -q 'mtu $mtu '"
	if [ "$mode" = on ]; then
		check "$tag: TSO and GRO on" grep -q "tso=1 gro=1" <<<"$port_line"
	else
		check "$tag: TSO and GRO off" grep -q "tso=0 gro=0" <<<"$port_line"
	fi

	out=$(nst 60 $PY --timeout 50 send $STACK_IP 9 $BYTES)
	echo "   client: $out"
	check "$tag: 64 MiB to discard: client sent all" grep -q "tx=$BYTES tx_sha256=$PAT_SHA" <<<"$out"
	out=$(nst 60 $PY --timeout 50 recv $STACK_IP 19)
	echo "   client: $out"
	check "$tag: 64 MiB from chargen: SHA-256 matches" grep -q "rx=$BYTES rx_sha256=$PAT_SHA" <<<"$out"
	stop_svc
	check "$tag: discard received 64 MiB with the client's SHA-256" \
		grep -q "conn discard .* rx=$BYTES rx_sha256=$PAT_SHA" "$WORK/svc.out"
	check "$tag: chargen sent 64 MiB with that SHA-256" \
		grep -q "conn chargen .* tx=$BYTES tx_sha256=$PAT_SHA" "$WORK/svc.out"
	local tso=$(counter TCP_TSO_OUT) segs=$(counter TCP_TSO_SEGS) gro=$(counter RX_GRO_MERGED)
	echo "   counters: TCP_TSO_OUT=$tso TCP_TSO_SEGS=$segs RX_GRO_MERGED=$gro" \
		"TCP_DATA_SEGS_OUT=$(counter TCP_DATA_SEGS_OUT) TCP_RETRANS=$(counter TCP_RETRANS)"
	if [ "$mode" = on ]; then
		check "$tag: TSO packets sent ($tso, cut into $segs segments)" test "$tso" -gt 0 -a "$segs" -gt "$tso"
		check "$tag: GRO merged received packets ($gro)" test "$gro" -gt 0
	else
		check "$tag: no TSO, no GRO" test "$tso" -eq 0 -a "$gro" -eq 0
	fi
	check "$tag: service exited cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
	end_round
}

round 1500 on
round 1500 off
round 1280 on
round 1280 off
round 576 on

# An MTU the port cannot do: start-up stops and says why.
ip netns add "$NS"
timeout --kill-after=5 60 ip netns exec "$NS" "$SVC" -l "$LCORE" --no-huge -m 512 --no-pci --no-shconf \
	--file-prefix=st$$ --no-telemetry --log-level=lib.eal:error --vdev="net_tap0,iface=$TAP" -- \
	--ip $STACK_IP/24 --mtu 9000 --discard 9 >"$WORK/svc.out" 2>"$WORK/svc.err"
rc=$?
grep "MTU" "$WORK/svc.err" | sed 's/^/   /'
check "MTU 9000 on net_tap: start-up fails" test "$rc" -ne 0
check "MTU 9000 on net_tap: the message names the port and the MTU" \
	grep -q "cannot do MTU 9000" "$WORK/svc.err"
ip netns del "$NS" 2>/dev/null
rm -rf "/var/run/dpdk/st$$"
finish
