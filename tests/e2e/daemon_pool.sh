#!/usr/bin/env bash
# The worker's seal pool (the 32 KiB mbufs that bulk CHANNEL_DATA is sealed
# into) under sessions that stop reading: they may hold only part of it, and
# everyone else keeps being served.
#   tests/e2e/daemon_pool.sh [BUILD_DIR]        (G=40 greedy sessions by default)
# - Pool exhaustion by greedy sessions stalls only them: with -m 128 (a pool
#   of 256, a reserve of 64) G paramiko sessions with a 1 GiB window and a
#   small kernel receive buffer download 16 MiB from `source` each, and the
#   process is SIGSTOPped as soon as every one has data coming, so their TCP
#   windows close with the daemon's send buffers full. While it is stopped:
#   seal mbufs in use never come within 32 of the pool size (sampled all
#   along), TX_SEAL_CAPPED counts the sessions held back, a fresh session
#   downloads 32 MiB with the right SHA-256 within 60 s, and an interactive
#   echo round-trip works. After SIGCONT every greedy session ends with the
#   right bytes and the seal mbufs in use fall back to a few.
# - A session that floods `echo` and never reads (paramiko's default 2 MiB
#   window: the echoed bytes are held back by the SSH window, so its writes
#   stop) does not stall another: a 64 MiB download next to it has the right
#   SHA-256 within 60 s. Its time and that of the same download alone are
#   printed, with their ratio, and not asserted. After the flooding client
#   closes its connection (its unread echo input still queued at the daemon),
#   the session's slot is freed and a login works.
# - No session was closed for lack of resources ("out of resources" under
#   closes); TX_NOMBUF and the drops are printed for information.
# Prints "daemon_pool: N passed, N failed".
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_pool "${1:-build}"
daemon_keys || { bad "keys"; finish; }
HERE=$ROOT/tests/e2e
PY=/usr/bin/python3 # Debian's, with paramiko and cryptography
MIB=$((1 << 20))
G=${G:-40}
SLOTS=128

daemon_config "MaxStartups 200"
start_daemon -m $SLOTS || { bad "daemon starts with -m $SLOTS"; finish; }
ok "daemon starts with -m $SLOTS"

pexec() { # seconds mode cmd [args]: paramiko_exec.py in the namespace as alice
	local s=$1
	shift
	timeout "$s" ip netns exec "$NS" $PY "$HERE/lib/paramiko_exec.py" "$ADDR" alice "$T/id_user" \
		"$T/known_hosts" "$@"
}
# greedy_clients.py in the namespace as alice; run as "${GREEDY[@]}" MODE ARGS &, not
# through a function, so that $! is python itself (ip netns exec execs it).
GREEDY=(ip netns exec "$NS" "$PY" "$HERE/lib/greedy_clients.py" "$ADDR" alice "$T/id_user"
	"$T/known_hosts")
# "<in_use> <size> <TX_SEAL_CAPPED or -> <TX_NOMBUF>": the worker with the most
# seal mbufs in use; the counters summed over the workers ("-": not in this build).
pool_stats() {
	ctl stats --json 2>/dev/null | $PY -c '
import json, sys
ws = json.load(sys.stdin)["workers"]
w = max(ws, key=lambda w: w["seal_mbufs"]["in_use"])
capped = "-" if any("TX_SEAL_CAPPED" not in x["app"] for x in ws) else \
    sum(x["app"]["TX_SEAL_CAPPED"] for x in ws)
print(w["seal_mbufs"]["in_use"], w["seal_mbufs"]["size"], capped,
      sum(x["app"].get("TX_NOMBUF", 0) for x in ws))
' 2>/dev/null || echo "0 0 - 0"
}
# Appends a pool_stats line to $T/samples about every 0.2 s until $T/samples.stop
# exists (at most 600 samples).
sampler() {
	for _ in $(seq 1 600); do
		[ -e "$T/samples.stop" ] && break
		pool_stats >>"$T/samples"
		sleep 0.2
	done
}

# ---- 1. greedy sessions that stop reading ----
size=$(daemon_stat workers.0.seal_mbufs.size)
reserve=$((size / 4))
limit=$((size - 32))
echo "   seal pool $size mbufs, reserve $reserve; in use must stay <= $limit"
want16=$(source_sha $((16 * MIB)))
"${GREEDY[@]}" greedy "$G" $((16 * MIB)) "$want16" >"$T/greedy.out" 2>"$T/greedy.err" &
GPID=$!
PIDS+=("$GPID")
for _ in $(seq 1 900); do # 90 s for G logins
	grep -q '^ready ' "$T/greedy.out" && break
	kill -0 "$GPID" 2>/dev/null || break
	sleep 0.1
done
gpid=$(awk '/^ready / {print $2; exit}' "$T/greedy.out")
if [ -n "$gpid" ] && kill -STOP "$gpid" 2>/dev/null; then
	ok "$G greedy sessions are reading; their process is stopped"
else
	bad "$G greedy sessions are reading" "$(cat "$T/greedy.out" "$T/greedy.err" | tail -n 5)"
	finish
fi
t0=$(date +%s)
: >"$T/samples"
sampler &
SPID=$!
PIDS+=("$SPID")
# Until seal mbufs in use hold still for 5 samples (the greedy sessions are
# blocked on their TCP windows or held by the cap), at least half the pool, 20 s at most.
for _ in $(seq 1 100); do
	sleep 0.2
	[ "$(wc -l <"$T/samples")" -ge 5 ] || continue
	if [ "$(tail -n 5 "$T/samples" | cut -d' ' -f1 | sort -u | wc -l)" = 1 ] &&
		[ "$(tail -n 1 "$T/samples" | cut -d' ' -f1)" -ge $((size / 2)) ]; then
		break
	fi
done
read -r in_use _ capped nombuf <<<"$(tail -n 1 "$T/samples")"
echo "   after $(($(date +%s) - t0)) s: $in_use of $size seal mbufs in use, TX_SEAL_CAPPED $capped," \
	"TX_NOMBUF $nombuf"
if [ "$capped" != "-" ] && [ "$capped" -gt 0 ]; then
	ok "greedy sessions are held back at the reserve (TX_SEAL_CAPPED $capped)"
else
	bad "greedy sessions are held back at the reserve" "TX_SEAL_CAPPED is '$capped'"
fi

want32=$(source_sha $((32 * MIB)))
within "a fresh session downloads 32 MiB from source while the pool is held" 60 \
	"$(pexec 60 read 'source 32M')" $((32 * MIB)) "$want32"
r=$(echo hello | TMO=20 sshc alice "$T/id_user" echo 2>&1)
check "an interactive echo round-trip works while the pool is held" "$r" hello
touch "$T/samples.stop"
wait "$SPID" 2>/dev/null
peak=$(cut -d' ' -f1 "$T/samples" | sort -n | tail -n 1)
echo "   $(wc -l <"$T/samples") samples while stopped; peak $peak in use"
if [ "${peak:-0}" -le "$limit" ]; then
	ok "seal mbufs in use never came near the pool size (peak $peak <= $limit of $size)"
else
	bad "seal mbufs in use never came near the pool size" "peak $peak > $limit of $size"
fi

kill -CONT "$gpid" 2>/dev/null
t0=$(date +%s)
for _ in $(seq 1 1200); do # 120 s for the rest of G x 16 MiB through paramiko
	[ "$(wc -l <"$T/greedy.out")" -ge 2 ] && break
	kill -0 "$GPID" 2>/dev/null || break
	sleep 0.1
done
echo "   the greedy process ended its reads $(($(date +%s) - t0)) s after SIGCONT"
check "all $G greedy sessions end with the right 16 MiB (SHA-256)" \
	"$(sed -n 2p "$T/greedy.out")" "$G ok"
wait "$GPID" 2>/dev/null
for _ in $(seq 1 50); do
	[ "$(pool_stats | cut -d' ' -f1)" -le 8 ] && break
	sleep 0.2
done
in_use=$(pool_stats | cut -d' ' -f1)
if [ "$in_use" -le 8 ]; then
	ok "seal mbufs in use fall back afterwards ($in_use)"
else
	bad "seal mbufs in use fall back afterwards" "$in_use in use"
fi

# ---- 2. a session that floods echo and never reads ----
want64=$(source_sha $((64 * MIB)))
alone=$(pexec 60 read 'source 64M')
within "64 MiB from source alone" 60 "$alone" $((64 * MIB)) "$want64"
"${GREEDY[@]}" flood $((64 * MIB)) >"$T/flood.out" 2>"$T/flood.err" &
FPID=$!
PIDS+=("$FPID")
for _ in $(seq 1 400); do # 40 s: the flood writes for 30 s at most
	[ -s "$T/flood.out" ] && break
	kill -0 "$FPID" 2>/dev/null || break
	sleep 0.1
done
fl=$(head -n 1 "$T/flood.out")
case $fl in
stalled*) ok "the flooding session's writes were stopped by the SSH window ($fl bytes)" ;;
*) bad "the flooding session's writes were stopped by the SSH window" "'$fl' $(tail -n 3 "$T/flood.err")" ;;
esac
beside=$(pexec 60 read 'source 64M')
within "64 MiB from source next to the flooding session" 60 "$beside" $((64 * MIB)) "$want64"
read -r _ _ ta <<<"$alone"
read -r _ _ tb <<<"$beside"
echo "   64 MiB download: alone ${ta:-?} s, next to the flood ${tb:-?} s, ratio" \
	"$(awk -v a="${ta:-0}" -v b="${tb:-0}" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "?" }')"
if kill -0 "$FPID" 2>/dev/null; then
	ok "the flooding session was still open during that download"
else
	bad "the flooding session was still open during that download" "$(cat "$T/flood.out")"
fi
kill -TERM "$FPID" 2>/dev/null
for _ in $(seq 1 100); do
	grep -q '^closed' "$T/flood.out" && break
	kill -0 "$FPID" 2>/dev/null || break
	sleep 0.1
done
wait "$FPID" 2>/dev/null
check "the flooding client closed its connection" "$(tail -n 1 "$T/flood.out")" closed
for _ in $(seq 1 100); do
	[ "$(daemon_stat 'workers.*.sessions')" = 0 ] && break
	sleep 0.1
done
check "the flooding session's slot is free within 10 s of its close" \
	"$(daemon_stat 'workers.*.sessions')" 0
r=$(echo after | TMO=30 sshc alice "$T/id_user" echo 2>&1)
check "a login works after the flooding session closed" "$r" after

# ---- 3. nothing was closed for resources ----
check "no session was closed for lack of resources" \
	"$(daemon_stat 'workers.*.closes.out of resources' 2>/dev/null || echo '?')" 0
read -r _ _ capped nombuf <<<"$(pool_stats)"
echo "   TX_NOMBUF $nombuf, TX_SEAL_CAPPED $capped, drops" \
	"$(ctl stats --json | $PY -c 'import json, sys; print([w["drops"] for w in json.load(sys.stdin)["workers"]])')"
stop_daemon
finish
