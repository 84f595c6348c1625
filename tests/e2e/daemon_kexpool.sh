#!/usr/bin/env bash
# The key-exchange helper pool (KexThreads, control/kex_pool.h).
#   tests/e2e/daemon_kexpool.sh [BUILD_DIR]
# Checks:
#  1. KexThreads: bad values are start-up errors with file:line, `sshterm -T`
#     prints it (auto by default), status --json shows the resolved count.
#  2. With an RSA-4096 host key and KexThreads 2, under a key-exchange flood
#     (kexflood.py: diffie-hellman-group16 with random e, free for the
#     flooder) from 4 sources: threads st-kex-0/1 exist and do the work
#     (KEXPOOL_SUBMITTED / COMPLETED / BUSY_NS move), OpenSSH logins with the
#     RSA-4096 host key succeed, a reload (SIGHUP, new configuration) in the
#     middle of the flood breaks nothing, and the daemon stops cleanly.
#  3. The same flood with KexThreads 0: logins succeed, the pool is unused.
#  4. KexThreads 1 and 64 flood connections at a time: the pool's queue (32)
#     fills, the control thread holds exchanges back (KEXPOOL_DEFERRED), logins
#     still succeed.
#  Login latency (median of the logins) with and without the pool is
#  printed, not asserted.
# shellcheck source=tests/e2e/lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"
B=${1:-build}
daemon_init daemon_kexpool "$B"
daemon_keys || exit 1
FLOOD="$ROOT/tests/e2e/kexflood.py"
EALT=(--no-huge -m 256 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" -l 0)
# The RSA host key becomes a 4096-bit one: every RSA signature costs milliseconds.
rm -f "$T/host_rsa" "$T/host_rsa.pub"
ssh-keygen -q -t rsa -b 4096 -N '' -C host-rsa4096 -f "$T/host_rsa" || exit 1
echo "$ADDR $(cut -d' ' -f1,2 "$T/host_rsa.pub")" > "$T/known_rsa"

# ---- 1. configuration ----
daemon_config
for v in "KexThreads 65" "KexThreads -1" "KexThreads x" "KexThreads 2 3"; do
	{ echo "$v"; cat "$T/sshterm.conf"; } > "$T/bad.conf"
	if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/bad.conf" -t >"$T/bad.out" 2>&1; then
		bad "'$v' refused"
	else
		grep -q "bad.conf:1: KexThreads" "$T/bad.out" && ok "'$v' refused, with file:line" ||
			bad "'$v' message" "$(head -2 "$T/bad.out")"
	fi
done
dump() { "$BIN/sshterm" "${EALT[@]}" -- -e -f "$1" -T 2>/dev/null | grep '^kexthreads '; }
check "-T: kexthreads auto by default" "$(dump "$T/sshterm.conf")" "kexthreads auto"
{ echo "KexThreads 0"; cat "$T/sshterm.conf"; } > "$T/k0.conf"
check "-T: kexthreads 0" "$(dump "$T/k0.conf")" "kexthreads 0"

# Logins with the RSA-4096 host key; prints one latency in ms per success.
logins() { # count
	local i t0 t1
	for i in $(seq 1 "$1"); do
		t0=$(date +%s%N)
		if [ "$(echo hi | KNOWN_HOSTS="$T/known_rsa" TMO=60 sshc alice "$T/id_user" \
			-o HostKeyAlgorithms=rsa-sha2-512 echo 2>/dev/null)" = hi ]; then
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000000))
		fi
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }

# One round: daemon with extra config lines, quiet logins, flood, logins under it.
# Sets QUIET_MS, BUSY_MS (medians), NOK (logins that succeeded under the flood).
round() { # config lines...
	: > "$T/daemon.log"
	daemon_config "$@" "PerSourceMaxStartups 40" "MaxStartups 200:30:400"
	start_daemon || { bad "daemon starts ($*)"; return 1; }
	for i in 50 51 52 53; do nsx ip addr add 198.18.0.$i/24 dev "$TAP" 2>/dev/null; done
	QUIET_MS=$(logins 3 | median)
	nsx python3 "$FLOOD" kex $ADDR 22 198.18.0.50,198.18.0.51,198.18.0.52,198.18.0.53 \
		"${FLOOD_CONC:-8}" "${FLOOD_S:-25}" 100000 \
		> "$T/flood.out" 2>&1 &
	FP=$!
	PIDS+=($FP)
	sleep 3
	logins "${BUSY_LOGINS:-5}" > "$T/busy.ms"
	NOK=$(wc -l < "$T/busy.ms")
	BUSY_MS=$(median < "$T/busy.ms")
	if [ -n "${RELOAD:-}" ]; then
		kill -HUP "$DPID"
		sleep 1
		[ "$(logins 1 | wc -l)" = 1 ] && ok "a login after a reload during the flood" ||
			bad "login after reload during the flood"
	fi
	THREADS=$(ls /proc/"$DPID"/task | while read -r t; do cat /proc/"$DPID"/task/"$t"/comm; done |
		grep -c '^st-kex-')
	wait $FP 2>/dev/null
	echo "   kex flood: $(cat "$T/flood.out")"
	# The shards' own CPU (TSC cycles handling messages): the pool moves the kex work off them.
	SHARD_GCYC=$(ctl stats --prometheus |
		awk '/^sshterm_control_cycles_total/ { s += $2 } END { printf "%.1f", s / 1e9 }')
}

# ---- 2. KexThreads 2 ----
RELOAD=1 round "KexThreads 2" || finish
check "threads st-kex-0 and st-kex-1 exist" "$THREADS" 2
check "5 logins (RSA-4096 host key) under the kex flood, KexThreads 2" "$NOK" 5
POOL_QUIET=$QUIET_MS POOL_BUSY=$BUSY_MS POOL_GCYC=$SHARD_GCYC
ctl status --json | /usr/bin/python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["kex_threads"] != 2)' &&
	ok "status --json says kex_threads 2" || bad "status kex_threads"
sub=$(daemon_stat kex_pool.SUBMITTED)
done_=$(daemon_stat kex_pool.COMPLETED)
busy=$(daemon_stat kex_pool.BUSY_NS)
kexd=$(daemon_stat control.KEX_DONE)
[ "$sub" -ge 20 ] && ok "the pool took the key exchanges (KEXPOOL_SUBMITTED $sub)" || bad "SUBMITTED" "$sub"
[ "$done_" -ge "$kexd" ] && ok "every completed kex was computed by the pool (COMPLETED $done_ >= KEX_DONE $kexd)" ||
	bad "COMPLETED" "$done_ vs KEX_DONE $kexd"
[ "$busy" -gt 0 ] && ok "the pool's CPU time is counted (BUSY_NS $busy)" || bad "BUSY_NS" "$busy"
ctl stats | grep -q 'KEXPOOL_SUBMITTED' && ok "sshtermctl stats lists KEXPOOL_* counters" ||
	bad "KEXPOOL_ in stats"
ctl stats --prometheus | grep -q '^sshterm_kex_pool_total{event="COMPLETED"}' &&
	ok "metrics: sshterm_kex_pool_total" || bad "sshterm_kex_pool_total"
echo "   pool: $(ctl stats | grep KEXPOOL_ | tr -s ' ' | tr '\n' ';')"
stop_daemon
grep -qE "Received signal; terminating" "$T/daemon.log" && ! grep -q "Segmentation\|Aborted" "$T/daemon.log" &&
	ok "the daemon stopped cleanly with the pool" || bad "clean stop" "$(tail -3 "$T/daemon.log")"

# ---- 3. KexThreads 0 ----
round "KexThreads 0" || finish
check "threads st-kex-*: none with KexThreads 0" "$THREADS" 0
check "5 logins (RSA-4096 host key) under the kex flood, KexThreads 0" "$NOK" 5
check "the pool is unused with KexThreads 0" "$(daemon_stat kex_pool.SUBMITTED)" 0
INL_QUIET=$QUIET_MS INL_BUSY=$BUSY_MS INL_GCYC=$SHARD_GCYC
stop_daemon

# ---- 4. a full pool queue (one thread, 32 jobs), 64 flood connections at a time ----
FLOOD_CONC=64 FLOOD_S=15 BUSY_LOGINS=2 round "KexThreads 1" || finish
check "2 logins under a flood that fills the kex queue" "$NOK" 2
def=$(daemon_stat kex_pool.DEFERRED)
[ "$def" -ge 1 ] && ok "exchanges held back in the kex queue while the pool was full (DEFERRED $def)" ||
	bad "KEXPOOL_DEFERRED" "$def"
kill -0 "$DPID" 2>/dev/null && ok "daemon alive after the full-queue flood" || bad "daemon alive"
echo "   pool: $(ctl stats | grep KEXPOOL_ | awk '{printf "%s %s; ", $1, $2}')"
echo "   KexThreads 1, 64 at a time: login latency median ${BUSY_MS} ms"
stop_daemon

echo "   login latency, median ms (RSA-4096 host key; 3 quiet, 5 under the flood):"
echo "     KexThreads 2: quiet ${POOL_QUIET}, flood ${POOL_BUSY}; control threads' cycles ${POOL_GCYC} G"
echo "     KexThreads 0: quiet ${INL_QUIET}, flood ${INL_BUSY}; control threads' cycles ${INL_GCYC} G"
finish
