#!/usr/bin/env bash
# The stack on net_af_packet over a veth pair (no TAP): ICMP, 64 MiB each way
# against the kernel's TCP, checked by SHA-256.
source "$(dirname "$0")/lib.sh"
BYTES=$((64 << 20))

start_svc_afpacket --discard 9 --chargen 19 --chargen-bytes $BYTES
check "port is net_af_packet" grep -q "net_af_packet" "$WORK/svc.err"
check "ICMP echo answered" nst 10 ping -q -c 2 -i 0.2 -W 2 $STACK_IP
PAT_SHA=$(nst 30 $PY sha $BYTES)
out=$(nst 100 $PY --timeout 90 send $STACK_IP 9 $BYTES)
check "64 MiB to discard" grep -q "tx=$BYTES tx_sha256=$PAT_SHA" <<<"$out"
out=$(nst 100 $PY --timeout 90 recv $STACK_IP 19)
check "64 MiB from chargen, SHA-256 matches" grep -q "rx=$BYTES rx_sha256=$PAT_SHA" <<<"$out"
stop_svc
check "discard side got the bytes intact" grep -q "conn discard .* rx=$BYTES rx_sha256=$PAT_SHA" "$WORK/svc.out"
check "service exited cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
finish
