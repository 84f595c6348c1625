#!/usr/bin/env bash
# The port's RX mbuf pool under connections whose received bytes are not read:
# they may hold only their worker's share of it, and everyone else is served.
#   tests/e2e/daemon_rxpool.sh [BUILD_DIR]     (G=40 greedy sessions by default)
# - `MbufPoolSize 8192` reaches the dataplane (the start-up line says so, with
#   the computed size and its parts) and `sshterm -T` prints it; without the
#   keyword the pool is the computed size.
# - With -m 64, G paramiko sessions (greedy_clients.py: a 1 GiB SSH window and
#   a small kernel receive buffer) run `wr`, a Service whose kernel backend
#   writes 16 MiB as fast as it can, and their process is SIGSTOPped once every
#   one has data coming: their TCP windows close, the daemon's send buffers
#   fill, the sessions stop reading their backends, and the backends' bytes
#   pile up in the backend connections' TCP receive queues (256 KiB or more
#   each: G x 180 mbufs is more than the whole pool). While they are stopped:
#   the mbufs held in TCP receive queues never pass the worker's share
#   (sampled all along), the greedy connections were held back (TCP_RCVMEM or
#   TCP_RCVWIN_POOL_CAPPED), a fresh session sends 32 MiB through `echo` and
#   32 MiB into `sink` with the right SHA-256 each within 60 s, and an
#   interactive echo round-trip works. After SIGCONT every greedy session ends
#   with the right 16 MiB and the held mbufs fall back to a few.
# - No session was closed for lack of resources. The counters are printed.
# Every wait is bounded; performance is printed, never asserted.
# Prints "daemon_rxpool: N passed, N failed".
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_rxpool "${1:-build}"
daemon_keys || { bad "keys"; finish; }
HERE=$ROOT/tests/e2e
PY=/usr/bin/python3 # Debian's, with paramiko and cryptography
MIB=$((1 << 20))
G=${G:-40}
SLOTS=64
POOL=8192
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)

# ---- the keyword ----
daemon_config "Service wr $PEER:7002" "MaxStartups 200"
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -T >"$T/dump" 2>/dev/null
check "-T prints mbufpoolsize auto by default" "$(grep '^mbufpoolsize ' "$T/dump")" "mbufpoolsize auto"
daemon_config "Service wr $PEER:7002" "MaxStartups 200" "MbufPoolSize 100"
if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -t >"$T/bad" 2>&1; then
	bad "MbufPoolSize 100 is refused" "$(cat "$T/bad")"
else
	check "MbufPoolSize 100 is refused" "$(grep -c 'MbufPoolSize: expected' "$T/bad")" 1
fi
daemon_config "Service wr $PEER:7002" "MaxStartups 200" "MbufPoolSize $POOL"
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -T >"$T/dump" 2>/dev/null
check "-T prints mbufpoolsize $POOL" "$(grep '^mbufpoolsize ' "$T/dump")" "mbufpoolsize $POOL"

start_daemon -m $SLOTS || { bad "daemon starts with -m $SLOTS"; finish; }
line=$(grep -m 1 'dataplane: mbuf pool socket' "$T/daemon.log")
echo "   $line"
case $line in
*": $POOL mbufs (configured: MbufPoolSize; computed "*) ok "the pool is MbufPoolSize's $POOL mbufs, logged with its parts" ;;
*) bad "the pool is MbufPoolSize's $POOL mbufs" "'$line'" ;;
esac

nsx $PY "$HERE/lib/backends.py" wr "$PEER" 7002 $((16 * MIB)) &
PIDS+=($!)
for _ in $(seq 1 50); do nsx ss -ltn | grep -q ":7002 " && break; sleep 0.1; done

pexec() { # seconds mode cmd [args]: paramiko_exec.py in the namespace as alice
	local s=$1
	shift
	timeout "$s" ip netns exec "$NS" $PY "$HERE/lib/paramiko_exec.py" "$ADDR" alice "$T/id_user" \
		"$T/known_hosts" "$@"
}
GREEDY=(ip netns exec "$NS" "$PY" "$HERE/lib/greedy_clients.py" "$ADDR" alice "$T/id_user"
	"$T/known_hosts")
# "<held> <share> <TCP_RCVMEM> <TCP_RCVWIN_POOL_CAPPED> <NO_MBUF>": the worker holding the
# most in its TCP receive queues; the counters summed over the workers.
rx_stats() {
	ctl stats --json 2>/dev/null | $PY -c '
import json, sys
ws = json.load(sys.stdin)["workers"]
w = max(ws, key=lambda w: w["tcp"]["rx_held_mbufs"])
s = lambda k, d: sum(x[d].get(k, 0) for x in ws)
print(w["tcp"]["rx_held_mbufs"], w["tcp"]["rx_share_mbufs"], s("TCP_RCVMEM", "drops"),
      s("TCP_RCVWIN_POOL_CAPPED", "counters"), s("NO_MBUF", "drops"))
' 2>/dev/null || echo "0 0 0 0 0"
}
# Appends an rx_stats line to $T/samples about every 0.2 s until $T/samples.stop exists
# (at most 900 samples).
sampler() {
	for _ in $(seq 1 900); do
		[ -e "$T/samples.stop" ] && break
		rx_stats >>"$T/samples"
		sleep 0.2
	done
}
read -r _ share _ _ _ <<<"$(rx_stats)"
echo "   worker share of the pool for TCP receive queues: $share mbufs"
if [ "${share:-0}" -gt 0 ] && [ "$share" -lt "$POOL" ]; then
	ok "the worker's share is part of the pool ($share of $POOL)"
else
	bad "the worker's share is part of the pool" "'$share'"
fi

# ---- greedy sessions whose backends' bytes are not read ----
want16=$(source_sha $((16 * MIB)))
"${GREEDY[@]}" greedy "$G" $((16 * MIB)) "$want16" 131072 wr >"$T/greedy.out" 2>"$T/greedy.err" &
GPID=$!
PIDS+=("$GPID")
for _ in $(seq 1 900); do # 90 s for G logins
	grep -q '^ready ' "$T/greedy.out" && break
	kill -0 "$GPID" 2>/dev/null || break
	sleep 0.1
done
gpid=$(awk '/^ready / {print $2; exit}' "$T/greedy.out")
if [ -n "$gpid" ] && kill -STOP "$gpid" 2>/dev/null; then
	ok "$G greedy sessions are reading from wr; their process is stopped"
else
	bad "$G greedy sessions are reading from wr" "$(cat "$T/greedy.out" "$T/greedy.err" | tail -n 5)"
	finish
fi
t0=$(date +%s)
: >"$T/samples"
sampler &
SPID=$!
PIDS+=("$SPID")
# Until the held mbufs hold still for 5 samples (the backends' queues full or held back), 20 s at most.
for _ in $(seq 1 100); do
	sleep 0.2
	[ "$(wc -l <"$T/samples")" -ge 5 ] || continue
	[ "$(tail -n 5 "$T/samples" | cut -d' ' -f1 | sort -u | wc -l)" = 1 ] && break
done
read -r held _ rcvmem capped nombuf <<<"$(tail -n 1 "$T/samples")"
echo "   after $(($(date +%s) - t0)) s: $held of $share mbufs held in TCP receive queues," \
	"TCP_RCVMEM $rcvmem, TCP_RCVWIN_POOL_CAPPED $capped, NO_MBUF $nombuf"
if [ $((rcvmem + capped)) -gt 0 ]; then
	ok "greedy connections were held back by the pool (TCP_RCVMEM $rcvmem, TCP_RCVWIN_POOL_CAPPED $capped)"
else
	bad "greedy connections were held back by the pool" "TCP_RCVMEM $rcvmem, TCP_RCVWIN_POOL_CAPPED $capped"
fi

want32=$(source_sha $((32 * MIB)))
t1=$(date +%s.%N)
got=$(stream $((32 * MIB)) 00000000000000000000000000000000 |
	TMO=60 sshc alice "$T/id_user" echo | sha256sum | cut -d' ' -f1)
t2=$(date +%s.%N)
check "a fresh session sends 32 MiB through echo (SHA-256) while the pool is held" "$got" "$want32"
got=$(stream $((32 * MIB)) 00000000000000000000000000000000 | TMO=60 sshc alice "$T/id_user" sink)
t3=$(date +%s.%N)
check "a fresh session sends 32 MiB into sink (SHA-256 by the service) while the pool is held" \
	"$got" "$((32 * MIB)) $want32"
echo "   echo $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s," \
	"sink $(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.1f", b - a }') s (not asserted)"
r=$(echo hello | TMO=20 sshc alice "$T/id_user" echo 2>&1)
check "an interactive echo round-trip works while the pool is held" "$r" hello
touch "$T/samples.stop"
wait "$SPID" 2>/dev/null
peak=$(cut -d' ' -f1 "$T/samples" | sort -n | tail -n 1)
echo "   $(wc -l <"$T/samples") samples while stopped; peak $peak held"
# Past the share a connection with nothing queued still takes one segment (so none
# deadlocks): the fresh sessions' few segments may go over it, by a few mbufs.
if [ "${peak:-0}" -le $((share + 64)) ]; then
	ok "mbufs held in TCP receive queues stayed within the worker's share (peak $peak, share $share, +64 slack)"
else
	bad "mbufs held in TCP receive queues stayed within the worker's share" "peak $peak > $share + 64"
fi

kill -CONT "$gpid" 2>/dev/null
t0=$(date +%s)
for _ in $(seq 1 1800); do # 180 s for the rest of G x 16 MiB through paramiko
	[ "$(wc -l <"$T/greedy.out")" -ge 2 ] && break
	kill -0 "$GPID" 2>/dev/null || break
	sleep 0.1
done
echo "   the greedy process ended its reads $(($(date +%s) - t0)) s after SIGCONT"
check "all $G greedy sessions end with the right 16 MiB (SHA-256)" \
	"$(sed -n 2p "$T/greedy.out")" "$G ok"
wait "$GPID" 2>/dev/null
for _ in $(seq 1 50); do
	[ "$(rx_stats | cut -d' ' -f1)" -le 8 ] && break
	sleep 0.2
done
held=$(rx_stats | cut -d' ' -f1)
if [ "$held" -le 8 ]; then
	ok "mbufs held in TCP receive queues fall back afterwards ($held)"
else
	bad "mbufs held in TCP receive queues fall back afterwards" "$held held"
fi
for _ in $(seq 1 100); do
	[ "$(daemon_stat 'workers.*.sessions')" = 0 ] && break
	sleep 0.1
done
check "every greedy session's slot is free within 10 s" "$(daemon_stat 'workers.*.sessions')" 0

check "no session was closed for lack of resources" \
	"$(daemon_stat 'workers.*.closes.out of resources' 2>/dev/null || echo '?')" 0
read -r held share rcvmem capped nombuf <<<"$(rx_stats)"
echo "   TCP_RCVMEM $rcvmem, TCP_RCVWIN_POOL_CAPPED $capped, NO_MBUF $nombuf, drops" \
	"$(ctl stats --json | $PY -c 'import json, sys; print([w["drops"] for w in json.load(sys.stdin)["workers"]])')"
stop_daemon
finish
