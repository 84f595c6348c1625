#!/usr/bin/env bash
# A bounded SYN flood on the echo port (spoofed sources inside 198.18.0.0/24, at most 30000
# SYNs or 15 s) while a 256 MiB transfer runs: the transfer finishes intact,
# new connections made during the flood complete through SYN cookies, and the
# connection table and mbuf pool stay bounded.
source "$(dirname "$0")/lib.sh"
BYTES=$((256 << 20))
BACKLOG=64
RAW="python3 $HERE/rawpkt.py"

start_svc --discard 9 --echo 7 --syn-backlog $BACKLOG
rss() { awk '/VmRSS/ {print $2}' /proc/"$SVC_PID"/status; }
PAT_SHA=$(nst 30 $PY sha $BYTES)

nst 170 $PY --timeout 160 send $STACK_IP 9 $BYTES >"$WORK/bulk.out" 2>&1 &
BULK=$!
sleep 1
rss0=$(rss)
nst 30 $RAW synflood $STACK_IP 7 30000 15 >"$WORK/flood.out" 2>&1 &
FLOOD=$!
# the backlog is full once the flood is going (bounded wait)
for _ in $(seq 1 200); do grep -q "synflood started" "$WORK/flood.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.2
out=$(nst 100 $PY --timeout 90 many $STACK_IP 7 20 65536)
echo "   during the flood: $out"
check "20 new connections during the flood complete (echo intact)" grep -q "conns=20 ok=20 bad=0" <<<"$out"
wait $FLOOD
cat "$WORK/flood.out" | sed 's/^/   /'
wait $BULK
rss1=$(rss)
echo "   bulk: $(cat "$WORK/bulk.out")"
check "256 MiB transfer running through the flood finished" grep -q "tx=$BYTES tx_sha256=$PAT_SHA" "$WORK/bulk.out"
echo "   RSS before the flood ${rss0} KiB, after ${rss1} KiB"
check "RSS grew by less than 64 MiB during the flood" test $((rss1 - rss0)) -lt 65536
stop_svc
check "the stack received the 256 MiB intact" grep -q "conn discard .* rx=$BYTES rx_sha256=$PAT_SHA" "$WORK/svc.out"
sent=$(grep -o 'sent=[0-9]*' "$WORK/flood.out" | cut -d= -f2)
check "the flood was sent (${sent:-0} SYNs)" test "${sent:-0}" -ge 5000
check "SYN cookies were sent ($(counter TCP_COOKIES_SENT))" test "$(counter TCP_COOKIES_SENT)" -ge 1000
check "SYN cookies validated for the real clients ($(counter TCP_COOKIES_OK))" test "$(counter TCP_COOKIES_OK)" -ge 20
max_used=$(grep -E "^worker0 tcp conns_used" "$WORK/svc.out" | sed 's/.*conns_max_used=\([0-9]*\).*/\1/')
check "connection table bounded by the backlog (max used $max_used)" test "${max_used:-99999}" -le $((BACKLOG + 20 + 8))
inuse=$(grep -E "^mempool" "$WORK/svc.out" | sed 's/.*in_use=\([0-9]*\).*/\1/')
check "mbufs returned to the pool at exit (in use $inuse: the RX ring's)" test "${inuse:-99999}" -le 1100
grep -E "^total ctr\.TCP_(COOKIES|SYN)|^worker0 tcp" "$WORK/svc.out" | sed 's/^/   /'
finish
