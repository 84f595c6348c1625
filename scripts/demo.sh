#!/usr/bin/env bash
# The one-command demo: sshterm on a TAP port inside a private network
# namespace (no NIC, no hugepages).
#   scripts/demo.sh start [BUILD_DIR]   (make run)
#   scripts/demo.sh stop                (make stop)
# The TAP is sshterm's own kernel TAP port (TapInterface: virtio-net headers,
# whole TSO and GSO packets through the kernel); DEMO_PORT=net_tap runs it on
# DPDK's net_tap PMD instead (one system call per frame).
# Creates, under ./demo/: a host key, a demo user key, authorized_keys,
# known_hosts and sshterm.conf; the namespace "sshterm-demo" where the TAP
# interface sttap0 gets 198.18.0.1/24 and sshterm answers on 198.18.0.2:22.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
NS=sshterm-demo
TAP=sttap0
ADDR=198.18.0.2
PEER=198.18.0.1
D="$here/demo"
B="$here/${2:-build}"

stop() {
	if [ -f "$D/sshterm.pid" ]; then
		pid=$(cat "$D/sshterm.pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$D/sshterm.pid"
	fi
	ip netns del "$NS" 2>/dev/null || true
}

start() {
	stop
	mkdir -p "$D/authorized_keys"
	[ -f "$D/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C sshterm-demo-host -f "$D/ssh_host_ed25519_key"
	[ -f "$D/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C demo -f "$D/id_ed25519"
	cp "$D/id_ed25519.pub" "$D/authorized_keys/demo"
	echo "$ADDR $(cut -d' ' -f1,2 "$D/ssh_host_ed25519_key.pub")" > "$D/known_hosts"
	cat > "$D/sshterm.conf" <<EOF
# sshterm demo configuration (scripts/demo.sh)
Address $ADDR/24
Port 22
HostKey $D/ssh_host_ed25519_key
AuthorizedKeysFile $D/authorized_keys/%u
DefaultService echo
ControlSocket /run/sshterm.sock
# An idle worker sleeps on the TAP queue instead of taking a core.
WorkerIdle sleep
EOF
	port=()
	if [ "${DEMO_PORT:-}" = net_tap ]; then
		port=(--vdev="net_tap0,iface=$TAP")
	else
		echo "TapInterface $TAP" >> "$D/sshterm.conf"
	fi
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	# sshterm creates the TAP interface inside the namespace it runs in.
	# setsid + stdin from /dev/null: the daemon must not belong to this terminal.
	setsid ip netns exec "$NS" "$B/sshterm" --no-huge -m 512 --no-pci --no-shconf --file-prefix sshterm-demo -l 0 \
		"${port[@]}" -- -e -f "$D/sshterm.conf" \
		</dev/null >"$D/sshterm.log" 2>&1 &
	echo $! > "$D/sshterm.pid"
	for _ in $(seq 1 100); do
		ip -n "$NS" link show "$TAP" >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! ip -n "$NS" link show "$TAP" >/dev/null 2>&1; then
		echo "demo: sshterm did not start; its log:" >&2
		cat "$D/sshterm.log" >&2
		stop
		exit 1
	fi
	ip -n "$NS" addr add "$PEER/24" dev "$TAP"
	ip -n "$NS" link set "$TAP" up
	# Ready when it says so (mbuf pools without hugepages take a moment).
	for _ in $(seq 1 300); do
		grep -q "Server listening" "$D/sshterm.log" 2>/dev/null && break
		kill -0 "$(cat "$D/sshterm.pid")" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "Server listening" "$D/sshterm.log" 2>/dev/null; then
		echo "demo: sshterm did not become ready; its log:" >&2
		cat "$D/sshterm.log" >&2
		stop
		exit 1
	fi
	cat <<EOF

sshterm is running in network namespace $NS on $ADDR port 22 (log: demo/sshterm.log).
Try, from $here:

  ip netns exec $NS ssh -i demo/id_ed25519 -o UserKnownHostsFile=demo/known_hosts demo@$ADDR 'source 1G' | wc -c
  head -c 100M /dev/urandom | ip netns exec $NS ssh -i demo/id_ed25519 -o UserKnownHostsFile=demo/known_hosts demo@$ADDR sink
  echo hello | ip netns exec $NS ssh -i demo/id_ed25519 -o UserKnownHostsFile=demo/known_hosts demo@$ADDR echo
  $B/sshtermctl status
  $B/sshtermctl sessions
  $B/sshtermctl stats

Stop it with: make stop
EOF
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop [BUILD_DIR]" >&2; exit 2 ;;
esac
