#!/usr/bin/env bash
# Windows that follow the path (a benchmark, not a test): one SSH session
# uploads BYTES to `sink` over net_memif from the load generator's own DPDK TCP
# stack, with DELAY ms added to everything sshterm receives (the test-only
# fault injector's RX delay line, SSHTERM_TEST_FAULT_RX=delay=MS), so the
# round trip is about DELAY ms. Three window setups of the server:
#   fixed    TCPReceiveWindowMax 256K, ChannelWindowMax 2M, TCPSendBufferMax 256K: the
#            windows before autotuning (256 KiB TCP window and send buffer, OpenSSH's
#            2 MiB channel window)
#   chan2M   TCP autotuned (TCPReceiveWindowMax 16M), channel window fixed at 2M:
#            OpenSSH's channel window on our TCP
#   grown    TCPReceiveWindowMax 16M, ChannelWindowMax 16M, TCPSendBufferMax 16M (the
#            defaults)
#   grown64  both 64M (not in the default CASES)
# and, for comparison, window / RTT for OpenSSH's fixed 2 MiB channel window.
# Prints every run, the windows the session reached (sshtermctl session
# --json, sampled during the run) and the median MB/s per case.
#
#   scripts/bench-bdp.sh [BUILD_DIR] [ROUNDS] [GROWN_MIB] [FIXED_MIB]
#     ROUNDS     runs per case (3); medians are reported
#     GROWN_MIB  bytes per run with grown windows, MiB (128)
#     FIXED_MIB  bytes per run with fixed windows, MiB (32: at 150 ms a 256 KiB
#                window moves under 2 MB/s)
#   Environment: DELAYS ("50 150"), CASES ("fixed chan2M grown"),
#     CIPHER (aes128-gcm@openssh.com), SSHTERM_BENCH_SS_ACK_SEGS (64, see below),
#     DIR (up; down: `source` to the generator, whose client grants a fixed 2 MiB
#     window, so that shows sshterm's sending side against an OpenSSH-like client).
# MB/s is the generator's rate from channel open to the last byte (its
# per_session_gbit_per_s: the handshake's round trips are not in it).
# The generator's TCP stands in for the client's. sshterm acknowledges a
# received burst with one ACK (stretch ACKs); Linux's slow start counts every
# segment such an ACK covers, RFC 3465's L = 2 (our stack's default) only two,
# which would make the generator's own slow start the limit on a long path. So
# the generator slow-starts with L = 64 here (SSHTERM_BENCH_SS_ACK_SEGS; 2 puts
# RFC 3465 back).
set -eu
B=${1:-build}
ROUNDS=${2:-3}
GROWN_MIB=${3:-128}
FIXED_MIB=${4:-32}
DELAYS=${DELAYS:-"50 150"}
CASES=${CASES:-"fixed chan2M grown"}
CIPHER=${CIPHER:-aes128-gcm@openssh.com}
DIR=${DIR:-up}
export SSHTERM_BENCH_SS_ACK_SEGS=${SSHTERM_BENCH_SS_ACK_SEGS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$B"
NS=st-bdp-$$
T=$(mktemp -d /tmp/sshterm-bdp.XXXXXX)
PY=/usr/bin/python3
EAL="--no-huge --no-pci --no-shconf --no-telemetry --log-level=lib.eal:error"
SPID=
MPID=
cleanup() {
	[ -n "$MPID" ] && kill "$MPID" 2>/dev/null
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null
	sleep 1
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T" "/var/run/dpdk/stbdps$$" "/var/run/dpdk/stbdpg$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NCPU=$(nproc)
SRV_CPU=0
GEN_LCORE=$((NCPU > 1 ? NCPU - 1 : 0))
USER_NAME=$(id -un)
ssh-keygen -q -t ed25519 -N '' -f "$T/host"
ssh-keygen -q -t ed25519 -N '' -f "$T/user"
mkdir -p "$T/ak"
cp "$T/user.pub" "$T/ak/$USER_NAME"
printf '198.18.1.2 %s\n' "$(cut -d' ' -f1,2 "$T/host.pub")" > "$T/known_hosts"
ip netns add "$NS"
ip -n "$NS" link set lo up

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

start_server() { # case delay_ms
	local tcpmax=16M chmax=16M sndmax=16M
	case $1 in
	fixed) tcpmax=256K chmax=2M sndmax=256K ;;
	chan2M) chmax=2M ;;
	grown64) tcpmax=64M chmax=64M ;;
	esac
	cat > "$T/sshterm.conf" <<EOF
Address 198.18.1.2/24
HostKey $T/host
AuthorizedKeysFile $T/ak/%u
ControlSocket $T/ctl.sock
TCPReceiveWindowMax $tcpmax
ChannelWindowMax $chmax
TCPSendBufferMax $sndmax
EOF
	rm -f "$T/ctl.sock" "$T/memif.sock"
	# BDP_CORE=DIR: a crashing server leaves its core in DIR (core_pattern "core")
	[ -z "${BDP_CORE:-}" ] || { ulimit -c unlimited; cd "$BDP_CORE"; }
	ip netns exec "$NS" env SSHTERM_TEST_FAULT_RX="delay=$2,seed=1" \
		taskset -c $SRV_CPU "$BIN/sshterm" $EAL -m 1024 --file-prefix "stbdps$$" -l $SRV_CPU \
		--vdev="net_memif0,role=server,socket=$T/memif.sock,socket-abstract=no" -- \
		-e -f "$T/sshterm.conf" </dev/null >"$T/sshterm.log" 2>&1 &
	SPID=$!
	cd "$ROOT"
	for _ in $(seq 1 300); do
		[ -S "$T/ctl.sock" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "sshterm did not start:"
	tail -5 "$T/sshterm.log"
	exit 1
}

stop_server() {
	# What the server's TCP saw: drops and the window counters (non-zero ones)
	"$BIN/sshtermctl" -s "$T/ctl.sock" stats 2>/dev/null |
		grep -E 'drop|TCP_RCVWND|TCP_RETRANS|TCP_OOO|FAULT' | grep -v ' 0$' | sed 's/^/    server: /' | head -12 || true
	kill -TERM "$SPID" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || echo "    server: exit status $? (log: $(tail -3 "$T/sshterm.log" | tr '\n' ' '))"
	SPID=
	rm -rf "/var/run/dpdk/stbdps$$"
}

# Samples the session's windows every 0.3 s into $T/win.txt (the last sample that saw it).
monitor() {
	while :; do
		"$BIN/sshtermctl" -s "$T/ctl.sock" sessions --json 2>/dev/null | $PY -c '
import json, sys, time
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
s = d if isinstance(d, list) else d.get("sessions", [])
for x in s:
    if x.get("chan_window"):
        print("chan_window=%d tcp_rcv_wnd=%d tcp_snd_buf=%d rtt_ms=%d grown=%d in=%d t=%.3f" % (
              x["chan_window"], x["tcp_rcv_wnd"], x["tcp_snd_buf"], x["rtt_ms"],
              x["chan_window_grown"], x[sys.argv[1]], time.time()))
' "$([ "$DIR" = down ] && echo bytes_out || echo bytes_in)" > "$T/win.new" && [ -s "$T/win.new" ] && cat "$T/win.new" >> "$T/win.log" && mv "$T/win.new" "$T/win.txt"
		sleep 0.3
	done
}

one() { # case delay_ms bytes -> appends MB/s to $T/res-case-delay
	local c=$1 d=$2 bytes=$3 out mbs
	: > "$T/win.txt"
	: > "$T/win.log"
	monitor &
	MPID=$!
	local cmd=sink
	[ "$DIR" = down ] && cmd="source $bytes"
	out=$(ip netns exec "$NS" taskset -c "$GEN_LCORE" "$BIN/sshterm-bench" bulk -d "$DIR" -b "$bytes" \
		--cipher "$CIPHER" -i "$T/user" -o UserKnownHostsFile="$T/known_hosts" --json \
		--allow-fail --timeout 300 "$USER_NAME@198.18.1.2" "$cmd" \
		--dpdk 198.18.1.3/24 $EAL -m 1024 --file-prefix "stbdpg$$" -l "$GEN_LCORE" \
		--vdev="net_memif0,role=client,socket=$T/memif.sock,socket-abstract=no" 2>"$T/gen.err" ||
		true)
	kill "$MPID" 2>/dev/null || true
	wait "$MPID" 2>/dev/null || true
	MPID=
	rm -rf "/var/run/dpdk/stbdpg$$"
	mbs=$(echo "$out" | $PY -c 'import json,sys
d = json.load(sys.stdin)
r = d.get("per_session_gbit_per_s") or 0
print("%.1f" % (r * 1e9 / 8 / 1e6))' 2>/dev/null ||
		echo 0)
	# The second half's rate, from the samples: past the ramp, what the windows allow.
	half=$($PY - "$T/win.log" "$bytes" <<'PYEOF'
import sys
pts = []
for line in open(sys.argv[1]):
    f = dict(kv.split("=") for kv in line.split())
    pts.append((float(f["t"]), int(f["in"])))
total = int(sys.argv[2])
a = next((p for p in pts if p[1] >= total / 2), None)
b = [p for p in pts if p[1] < total * 0.99]
b = b[-1] if b else None
print("%.1f" % ((b[1] - a[1]) / (b[0] - a[0]) / 1e6) if a and b and b[0] - a[0] > 0.2 else "-")
PYEOF
)
	echo "$mbs" >> "$T/res-$c-$d"
	echo "$half" >> "$T/half-$c-$d"
	printf '  %-7s delay %3s ms  %4d MiB  %7s MB/s (2nd half %5s)  %s\n' "$c" "$d" $((bytes >> 20)) \
		"$mbs" "$half" "$(tail -1 "$T/win.txt" 2>/dev/null | sed 's/ t=.*//')"
	[ "$mbs" != 0 ] || tail -2 "$T/gen.err" | sed 's/^/    /'
	[ -z "${BDP_TRACE:-}" ] || { sed "s/^/    /" "$T/win.log"; }
	rm -f "$T/win.log"
}

echo "## one session, $DIR ($([ "$DIR" = down ] && echo source || echo sink)) over net_memif, $CIPHER, RX delay line on sshterm"
for d in $DELAYS; do
	for c in $CASES; do
		mib=$GROWN_MIB
		[ "$c" = fixed ] && mib=$FIXED_MIB
		# A server per run: DPDK 22.11's memif PMD can crash in rx_burst while a new
		# client (the next generator process) connects to a running server.
		for _ in $(seq 1 "$ROUNDS"); do
			start_server "$c" "$d"
			one "$c" "$d" $((mib << 20))
			stop_server
		done
	done
done
echo
echo "## medians of $ROUNDS, MB/s from channel open (in brackets: the second half's rate);"
echo "## openssh-2M: OpenSSH's 2 MiB channel window / RTT"
printf '%-10s' delay
for c in $CASES; do printf ' %16s' "$c"; done
printf ' %12s\n' openssh-2M
for d in $DELAYS; do
	printf '%-10s' "${d}ms"
	for c in $CASES; do
		printf ' %16s' "$(median < "$T/res-$c-$d") ($(grep -v -- - "$T/half-$c-$d" | median))"
	done
	printf ' %12s\n' "$($PY -c "print('%.1f' % (2 * 1048576 / ($d / 1000) / 1e6))")"
done
