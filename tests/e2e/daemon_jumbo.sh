#!/usr/bin/env bash
# Jumbo frames end to end: the daemon at MTU 9000 on net_vhost (a vhost-user
# backend, the only virtual PMD in DPDK 22.11 that takes frames over 1518
# bytes), the load generator on sshterm's own TCP stack on net_virtio_user at
# the other end of the socket. Both in a private namespace; no kernel network.
#   tests/e2e/daemon_jumbo.sh [BUILD_DIR]
# Checks: the port comes up at MTU 9000; bulk down, up and echo move exact
# bytes (the generator checks them) in frames larger than 1500 bytes; a peer
# at MTU 1500 gets segments that fit it (MSS from its SYN). net_vhost hands
# the daemon each 9018-byte frame as a chain of 2 KiB mbufs.
# shellcheck source=tests/e2e/lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_jumbo "${1:-build}"
ADDR=198.18.1.2
GENADDR=198.18.1.3
daemon_keys || exit 1
daemon_config "MTU 9000" "WorkerIdle sleep"
[ -x "$BIN/sshterm-bench" ] || { bad "build has sshterm-bench"; finish; }

EAL=("${EAL_SOCK[@]}")
SOCK="$T/vhost.sock"
if start_daemon_socket "net_vhost0,iface=$SOCK" "$SOCK"; then ok "daemon up on net_vhost"; else
	bad "daemon up on net_vhost" "$(tail -3 "$T/daemon.log")"
	finish
fi
grep -q "net_vhost .* mtu=9000" "$T/daemon.log" && ok "port at MTU 9000" ||
	bad "port at MTU 9000" "$(grep dataplane: "$T/daemon.log")"

GL=$(($(nproc) > 1 ? 1 : 0))
gen() { # mtu mode [args...]
	local mtu=$1
	shift
	timeout 120 ip netns exec "$NS" "$BIN/sshterm-bench" "$@" --dpdk "$GENADDR/24,mtu=$mtu" \
		"${EAL[@]}" -m 512 --file-prefix "$DPDK_PREFIX_CHECK" -l "$GL" \
		--vdev="net_virtio_user0,path=$SOCK,queues=1" 2>>"$T/gen.err"
}
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>/dev/null; }
KH=(-i "$T/id_user" -o UserKnownHostsFile="$T/known_hosts")
# Bytes per packet the daemon sent (tx) or received (rx) since the last call for that direction.
declare -A B0=([tx]=0 [rx]=0) P0=([tx]=0 [rx]=0)
frame() { # tx|rx
	local b p
	b=$(daemon_stat "workers.*.$1_bytes")
	p=$(daemon_stat "workers.*.$1_packets")
	echo $(((b - B0[$1]) / (p - P0[$1] > 0 ? p - P0[$1] : 1)))
	B0[$1]=$b
	P0[$1]=$p
}
tx_frame() { frame tx; }
rx_frame() { frame rx; }
tx_frame >/dev/null
rx_frame >/dev/null

# 1. Both ends at 9000: bulk each way and echo, exact bytes, big frames.
for c in aes128-gcm@openssh.com chacha20-poly1305@openssh.com; do
	gen 9000 bulk -d down -b 64M --cipher $c --json "${KH[@]}" alice@$ADDR > "$T/down.json"
	check "down 64 MiB at MTU 9000 ($c): exit status" "$?" 0
	check "down ($c): all bytes, checked" "$(jget "$T/down.json" 'd["bytes"]')" $((64 << 20))
	f=$(tx_frame)
	[ "$f" -gt 4000 ] && ok "down ($c): $f bytes per frame sent" ||
		bad "down ($c): frames larger than 4000 bytes" "$f bytes per frame"
done
gen 9000 bulk -d up -b 64M --json "${KH[@]}" alice@$ADDR > "$T/up.json"
check "up 64 MiB at MTU 9000: exit status" "$?" 0
check "up: all bytes, sink's SHA-256 matched" "$(jget "$T/up.json" 'd["bytes"]')" $((64 << 20))
f=$(rx_frame)
[ "$f" -gt 4000 ] && ok "up: $f bytes per frame received" ||
	bad "up: frames larger than 4000 bytes" "$f bytes per frame"
gen 9000 bulk -d echo -b 32M -c 2 --json "${KH[@]}" alice@$ADDR > "$T/echo.json"
check "echo 2 x 32 MiB at MTU 9000: exit status" "$?" 0
check "echo: all bytes back" "$(jget "$T/echo.json" 'd["bytes"]')" $((64 << 20))

# 2. A peer at MTU 1500: its SYN's MSS bounds what the daemon sends.
tx_frame >/dev/null
gen 1500 bulk -d down -b 32M --json "${KH[@]}" alice@$ADDR > "$T/small.json"
check "peer at MTU 1500: exit status" "$?" 0
check "peer at MTU 1500: all bytes" "$(jget "$T/small.json" 'd["bytes"]')" $((32 << 20))
f=$(tx_frame)
[ "$f" -le 1514 ] && [ "$f" -gt 1000 ] && ok "peer at MTU 1500: $f bytes per frame" ||
	bad "peer at MTU 1500: frames of at most 1514 bytes" "$f"

# 3. Nothing dropped for size, nothing malformed, the daemon stayed up.
check "no drops for oversize or bad frames" \
	"$(ctl stats --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(v for w in d["workers"] for k, v in w["drops"].items()
          if k in ("ETH_SHORT", "IP_SHORT", "IP_LEN", "IP_CSUM", "TCP_SHORT", "TCP_CSUM")))')" 0
check "daemon alive" "$(kill -0 "$DPID" 2>/dev/null && echo yes)" yes
stop_daemon
finish
