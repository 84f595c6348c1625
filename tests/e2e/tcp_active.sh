#!/usr/bin/env bash
# Active open: the stack connects to a kernel TCP server in the namespace
# (ARP resolution of the peer, SYN / SYN-ACK from our side), 8 connections
# each sending 32 MiB and receiving 8 MiB, all checked by SHA-256.
source "$(dirname "$0")/lib.sh"
N=8
UP=$((32 << 20))
DOWN=$((8 << 20))

start_svc --connect $KERNEL_IP:5001 --conns $N --send $UP --connect-delay-ms -1
nst 100 $PY --timeout 90 server 5001 $N $DOWN >"$WORK/server.out" 2>&1 &
SRV=$!
wait_listening "$WORK/server.out"
kill -USR1 "$SVC_PID"
# the service exits by itself once every connection has closed
for _ in $(seq 1 900); do kill -0 "$SVC_PID" 2>/dev/null || break; sleep 0.1; done
wait $SRV
stop_svc
UP_SHA=$(nst 30 $PY sha $UP)
DOWN_SHA=$(nst 30 $PY sha $DOWN)
sed 's/^/   server: /' "$WORK/server.out" | head -3
check "kernel server got $N x 32 MiB with the right SHA-256" \
	test "$(grep -c "rx=$UP rx_sha256=$UP_SHA" "$WORK/server.out")" -eq $N
check "stack clients sent $N x 32 MiB" \
	test "$(grep -c "conn client .* tx=$UP tx_sha256=$UP_SHA err=ST_OK" "$WORK/svc.out")" -eq $N
check "stack clients received $N x 8 MiB with the right SHA-256" \
	test "$(grep -c "conn client .* rx=$DOWN rx_sha256=$DOWN_SHA" "$WORK/svc.out")" -eq $N
check "ARP resolved the peer" test "$(counter ARP_LEARNED)" -ge 1
check "$N active opens completed" test "$(counter TCP_CONNECTED)" -eq $N
check "service exited by itself, cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
finish
