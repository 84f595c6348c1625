#!/usr/bin/env bash
# Two poll-mode workers on a two-queue net_tap port: each worker has its own
# queue pair, connection table and timers; the kernel spreads flows over the
# TAP queues, and every connection must live on exactly one worker (the
# kernel's TAP queue choice is not a Toeplitz RSS: a SYN on a queue whose
# worker does not own the flow is handed to its owner, dataplane/mq.h;
# active opens from every worker are in tcp_mq.sh). Both
# CPUs busy-poll here, so the kernel and the clients get little CPU: sizes
# are kept small.
source "$(dirname "$0")/lib.sh"
if [ "$(nproc)" -lt 2 ]; then
	echo "only one CPU: skipped"
	finish
fi
LCORE=0,1
BYTES=$((32 << 20))

start_svc --echo 7 --discard 9 --chargen 19 --chargen-bytes $BYTES
PAT_SHA=$(nst 30 $PY sha $BYTES)
out=$(nst 150 $PY --timeout 140 many $STACK_IP 7 200 65536)
echo "   many: $out"
check "200 concurrent echo connections over two workers" grep -q "conns=200 ok=200 bad=0" <<<"$out"
out=$(nst 150 $PY --timeout 140 send $STACK_IP 9 $BYTES)
check "32 MiB to discard" grep -q "tx=$BYTES tx_sha256=$PAT_SHA" <<<"$out"
t0=$(date +%s)
out=$(nst 150 $PY --timeout 140 recv $STACK_IP 19)
echo "   chargen: $out ($(($(date +%s) - t0)) s)"
check "32 MiB from chargen, SHA-256 matches" grep -q "rx=$BYTES rx_sha256=$PAT_SHA" <<<"$out"
stop_svc
check "port set up with two queues" grep -q "queues=2" "$WORK/svc.err"
a0=$(grep -E "^worker0 ctr.TCP_ACCEPTED=" "$WORK/svc.out" | cut -d= -f2)
a1=$(grep -E "^worker1 ctr.TCP_ACCEPTED=" "$WORK/svc.out" | cut -d= -f2)
echo "   accepted: worker0 ${a0:-0}, worker1 ${a1:-0}"
check "both workers accepted connections" test "${a0:-0}" -ge 1 -a "${a1:-0}" -ge 1
check "all 202 connections accepted once" test $((${a0:-0} + ${a1:-0})) -eq 202
check "discard side got the bytes intact" grep -q "conn discard .* rx=$BYTES rx_sha256=$PAT_SHA" "$WORK/svc.out"
check "service exited cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
finish
