#!/usr/bin/env bash
# 500 concurrent connections to `echo` (64 KiB each, checked by SHA-256), then
# every connection slot must be free again.
source "$(dirname "$0")/lib.sh"
N=500
BYTES=65536

start_svc --echo 7 --quiet --tw-ms 1000

out=$(nst 150 $PY --timeout 120 many $STACK_IP 7 $N $BYTES)
echo "   client: $out"
check "$N concurrent echo connections, all bytes back intact" grep -q "conns=$N ok=$N bad=0" <<<"$out"
# the second round reuses the slots
out=$(nst 150 $PY --timeout 120 many $STACK_IP 7 $N 4096)
echo "   client: $out"
check "a second round of $N connections" grep -q "conns=$N ok=$N bad=0" <<<"$out"
sleep 3 # FINs whose last ACK was lost are still being retransmitted for a moment
stop_svc
accepted=$(counter TCP_ACCEPTED)
check "service accepted $((2 * N)) connections (got $accepted)" test "$accepted" -eq $((2 * N))
max_used=$(grep -E "^worker0 tcp conns_used" "$WORK/svc.out" | sed 's/.*conns_max_used=\([0-9]*\).*/\1/')
used=$(grep -E "^worker0 tcp conns_used" "$WORK/svc.out" | sed 's/.*conns_used=\([0-9]*\) .*/\1/')
check "at least $N connections were open at once (max $max_used)" test "${max_used:-0}" -ge $N
check "every connection slot released at the end (used $used)" test "${used:-1}" -eq 0
grep -E "^worker0 tcp|^total (cycles|drop)" "$WORK/svc.out" | sed 's/^/   /'
finish
