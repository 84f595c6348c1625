#!/usr/bin/env bash
# Bulk TCP over net_tap against the kernel's TCP: ICMP echo, 1 GiB into
# `discard`, 1 GiB out of `chargen`, 64 MiB through `echo`, all checked by
# SHA-256 on both ends. Own netns; everything bounded in time.
source "$(dirname "$0")/lib.sh"
GIB=1073741824
ECHO_BYTES=$((64 << 20))

start_svc --discard 9 --echo 7 --chargen 19 --chargen-bytes $GIB

check "ICMP echo answered" nst 10 ping -q -c 3 -i 0.2 -W 2 $STACK_IP
PAT_SHA=$(nst 60 $PY sha $GIB)

out=$(nst 100 $PY --timeout 90 send $STACK_IP 9 $GIB)
echo "   client: $out"
check "1 GiB to discard: client sent all" grep -q "tx=$GIB tx_sha256=$PAT_SHA" <<<"$out"

out=$(nst 100 $PY --timeout 90 recv $STACK_IP 19)
echo "   client: $out"
check "1 GiB from chargen: SHA-256 matches the pattern" grep -q "rx=$GIB rx_sha256=$PAT_SHA" <<<"$out"

out=$(nst 100 $PY --timeout 90 echo $STACK_IP 7 $ECHO_BYTES)
echo "   client: $out"
check "64 MiB through echo: identical bytes back" grep -q "eof=1" <<<"$out"

stop_svc
check "service: discard received 1 GiB with the client's SHA-256" \
	grep -q "conn discard .* rx=$GIB rx_sha256=$PAT_SHA" "$WORK/svc.out"
check "service: chargen sent 1 GiB with that SHA-256" \
	grep -q "conn chargen .* tx=$GIB tx_sha256=$PAT_SHA" "$WORK/svc.out"
ECHO_SHA=$(nst 30 $PY sha $ECHO_BYTES)
check "service: echo received and sent back the same bytes, closed cleanly" \
	grep -q "conn echo .* rx=$ECHO_BYTES rx_sha256=$ECHO_SHA tx=$ECHO_BYTES tx_sha256=$ECHO_SHA err=ST_OK" "$WORK/svc.out"
check "service exited cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
grep -E "^total (cycles|rx_pkts)|^worker0 tcp" "$WORK/svc.out" | sed 's/^/   /'
finish
