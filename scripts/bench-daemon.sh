#!/usr/bin/env bash
# sshterm against OpenSSH sshd, same machine, same run (a benchmark: nothing passes or fails).
#   scripts/bench-daemon.sh [BUILD_DIR] [SIZE_MIB] [HANDSHAKES]
# In a private namespace: sshterm on a DPDK TAP port (198.18.0.2), sshd on the kernel side of
# the same interface (198.18.0.1:2222). For aes128-gcm and chacha20-poly1305: SIZE_MIB (2048)
# uploaded and downloaded through each; wall time and server CPU per GiB (sshd: CPU time of
# sshd and its session processes; sshterm: the worker's busy TSC cycles from `sshtermctl stats`
# and the control thread's CPU time). Then HANDSHAKES (100) sequential full handshakes
# (connect, kex, auth, exec, close) against each.
set -eu
B=${1:-build}
MIB=${2:-2048}
HS=${3:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$B"
NS=st-bench-$$
TAP=stb$$
T=$(mktemp -d /tmp/sshterm-bench.XXXXXX)
DPID=
SPID=
cleanup() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null
	sleep 1
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$T/host"
ssh-keygen -q -t ed25519 -N '' -f "$T/user"
mkdir -p "$T/ak"
cp "$T/user.pub" "$T/ak/root"
cat > "$T/sshterm.conf" <<EOF
Address 198.18.0.2/24
HostKey $T/host
AuthorizedKeysFile $T/ak/%u
ControlSocket $T/ctl.sock
EOF
cat > "$T/sshd_config" <<EOF
Port 2222
ListenAddress 198.18.0.1
HostKey $T/host
AuthorizedKeysFile $T/ak/%u
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $T/sshd.pid
StrictModes no
EOF
printf '198.18.0.2 %s\n[198.18.0.1]:2222 %s\n' "$(cut -d' ' -f1,2 "$T/host.pub")" \
	"$(cut -d' ' -f1,2 "$T/host.pub")" > "$T/known_hosts"

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" "$BIN/sshterm" --no-huge -m 1024 --no-pci --no-shconf --file-prefix "b$$" \
	-l 0 --vdev="net_tap0,iface=$TAP" -- -f "$T/sshterm.conf" </dev/null >"$T/sshterm.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do ip -n "$NS" link show "$TAP" >/dev/null 2>&1 && break; sleep 0.1; done
ip -n "$NS" addr add 198.18.0.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up
mkdir -p /run/sshd
ip netns exec "$NS" /usr/sbin/sshd -D -f "$T/sshd_config" </dev/null >"$T/sshd.log" 2>&1 &
SPID=$!
sleep 1

CLK=$(getconf CLK_TCK)
SSH=(ip netns exec "$NS" ssh -o BatchMode=yes -o StrictHostKeyChecking=yes
	-o UserKnownHostsFile="$T/known_hosts" -i "$T/user" -o LogLevel=ERROR)
# CPU seconds of a process plus its reaped children (utime+stime+cutime+cstime).
cpu_of() { awk -v c="$CLK" '{ printf "%.3f", ($14 + $15 + $16 + $17) / c }' "/proc/$1/stat"; }
# sshterm: worker busy cycles (all workers) from the control socket.
busy_cycles() {
	"$BIN/sshtermctl" -s "$T/ctl.sock" stats --json |
		/usr/bin/python3 -c 'import json,sys; print(sum(w["busy_cycles"] for w in json.load(sys.stdin)["workers"]))'
}
TSC_HZ=$(awk '/^cpu MHz/ { printf "%.0f", $4 * 1e6; exit }' /proc/cpuinfo)

run() { # label command... ; prints seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

BYTES=$((MIB * 1048576))
GIB=$(awk -v b=$BYTES 'BEGIN { print b / 1073741824 }')
echo "# sshterm vs OpenSSH sshd, $MIB MiB each way, same namespace, same run ($(nproc) cores)"
printf "%-28s %-9s %8s %10s %12s\n" cipher server "wall s" "MiB/s" "CPU s/GiB"
for c in aes128-gcm@openssh.com chacha20-poly1305@openssh.com; do
	for dir in download upload; do
		# sshterm
		b0=$(busy_cycles)
		c0=$(cpu_of "$DPID")
		if [ $dir = download ]; then
			w=$(run "${SSH[@]}" -c $c root@198.18.0.2 "source $BYTES")
		else
			w=$(run sh -c "head -c $BYTES /dev/zero | ${SSH[*]} -c $c root@198.18.0.2 sink")
		fi
		b1=$(busy_cycles)
		cpu=$(awk -v a="$b0" -v b="$b1" -v hz="$TSC_HZ" -v g="$GIB" 'BEGIN { printf "%.2f", (b - a) / hz / g }')
		printf "%-28s %-9s %8s %10.0f %12s\n" "$c $dir" sshterm "$w" \
			"$(awk -v w="$w" -v m="$MIB" 'BEGIN { print m / w }')" "$cpu"
		# sshd
		s0=$(cpu_of "$SPID")
		if [ $dir = download ]; then
			w=$(run "${SSH[@]}" -p 2222 -c $c root@198.18.0.1 "head -c $BYTES /dev/zero")
		else
			w=$(run sh -c "head -c $BYTES /dev/zero | ${SSH[*]} -p 2222 -c $c root@198.18.0.1 'cat > /dev/null'")
		fi
		sleep 0.5 # the session process is reaped into sshd's counters
		s1=$(cpu_of "$SPID")
		cpu=$(awk -v a="$s0" -v b="$s1" -v g="$GIB" 'BEGIN { printf "%.2f", (b - a) / g }')
		printf "%-28s %-9s %8s %10.0f %12s\n" "$c $dir" sshd "$w" \
			"$(awk -v w="$w" -v m="$MIB" 'BEGIN { print m / w }')" "$cpu"
	done
done

echo
echo "# $HS sequential full handshakes (connect, curve25519 kex, ed25519 host key, publickey auth, exec, close)"
t=$(run sh -c "for i in \$(seq $HS); do ${SSH[*]} root@198.18.0.2 echo </dev/null; done")
printf "sshterm  %6.1f handshakes/s\n" "$(awk -v n=$HS -v t="$t" 'BEGIN { print n / t }')"
t=$(run sh -c "for i in \$(seq $HS); do ${SSH[*]} -p 2222 root@198.18.0.1 true </dev/null; done")
printf "sshd     %6.1f handshakes/s\n" "$(awk -v n=$HS -v t="$t" 'BEGIN { print n / t }')"
echo
echo "# sshterm worker after the run:"
"$BIN/sshtermctl" -s "$T/ctl.sock" stats | head -6
