#!/usr/bin/env bash
# The same transfers with faults injected in the port layer on both
# directions (seeded): 2% drop, 1% reorder, 1% duplication. Every byte must
# arrive intact (SHA-256) and nothing may stall. The stack's own sending runs
# at the clean runs' 1 GiB (chargen, under CUBIC by default; TCP_CC=newreno
# runs the same under NewReno, which needs far longer); the kernel's sending
# (discard), echo, 100 concurrent echo connections and the active opens to a
# kernel server use smaller sizes to keep the test within its time budget on a
# 2-core TAP setup.
source "$(dirname "$0")/lib.sh"
BYTES=$((64 << 20))
GEN_BYTES=${GEN_BYTES:-$((1 << 30))}
ECHO_BYTES=$((16 << 20))
FAULTS_RX=drop=20,reorder=10,dup=10,seed=11
FAULTS_TX=drop=20,reorder=10,dup=10,seed=12

start_svc --discard 9 --echo 7 --chargen 19 --chargen-bytes $GEN_BYTES ${TCP_CC:+--cc $TCP_CC} \
	--fault-rx $FAULTS_RX --fault-tx $FAULTS_TX \
	--connect $KERNEL_IP:5001 --conns 4 --send $((8 << 20)) --connect-delay-ms -1
nst 150 $PY --timeout 140 server 5001 4 $((4 << 20)) >"$WORK/server.out" 2>&1 &
SRV=$!
wait_listening "$WORK/server.out"
kill -USR1 "$SVC_PID"
PAT_SHA=$(nst 30 $PY sha $BYTES)
GEN_SHA=$(nst 60 $PY sha $GEN_BYTES)

t0=$(date +%s)
out=$(nst 150 $PY --timeout 140 send $STACK_IP 9 $BYTES)
echo "   discard: $out ($(($(date +%s) - t0)) s)"
check "64 MiB to discard under faults: sent" grep -q "tx=$BYTES tx_sha256=$PAT_SHA" <<<"$out"

t0=$(date +%s)
out=$(nst 250 $PY --timeout 240 recv $STACK_IP 19)
echo "   chargen: $out ($(($(date +%s) - t0)) s)"
check "$((GEN_BYTES >> 20)) MiB from chargen under faults: SHA-256 matches" \
	grep -q "rx=$GEN_BYTES rx_sha256=$GEN_SHA" <<<"$out"

t0=$(date +%s)
out=$(nst 150 $PY --timeout 140 echo $STACK_IP 7 $ECHO_BYTES)
echo "   echo: $out ($(($(date +%s) - t0)) s)"
check "16 MiB through echo under faults: identical bytes back" grep -q "eof=1" <<<"$out"

t0=$(date +%s)
out=$(nst 150 $PY --timeout 140 many $STACK_IP 7 100 65536)
echo "   many: $out ($(($(date +%s) - t0)) s)"
check "100 concurrent echo connections under faults" grep -q "conns=100 ok=100 bad=0" <<<"$out"

wait $SRV
UP_SHA=$(nst 30 $PY sha $((8 << 20)))
DOWN_SHA=$(nst 30 $PY sha $((4 << 20)))
cat "$WORK/server.out" | sed "s/^/   server: /"
check "active opens under faults: kernel server got 4 x 8 MiB intact" \
	test "$(grep -c "rx=$((8 << 20)) rx_sha256=$UP_SHA" "$WORK/server.out")" -eq 4

stop_svc
check "discard side saw the same SHA-256" grep -q "conn discard .* rx=$BYTES rx_sha256=$PAT_SHA" "$WORK/svc.out"
check "active opens: 4 x 4 MiB received intact" \
	test "$(grep -c "conn client .* rx=$((4 << 20)) rx_sha256=$DOWN_SHA .*err=ST_OK" "$WORK/svc.out")" -eq 4
check "faults were injected (drops)" test "$(counter FAULT)" -gt 100
check "faults were injected (duplicates)" test "$(counter FAULT_DUP)" -gt 50
check "faults were injected (reordering)" test "$(counter FAULT_REORDER)" -gt 50
check "loss recovery ran" test "$(counter TCP_FAST_RETRANS)" -gt 10
grep -E "^total (ctr\.TCP_(RTO|RETRANS|FAST)|drop\.(FAULT|TCP))" "$WORK/svc.out" | sed 's/^/   /'
finish
