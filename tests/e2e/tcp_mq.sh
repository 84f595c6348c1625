#!/usr/bin/env bash
# Multi-queue ports: two and four workers on a multi-queue net_tap port (four
# on two CPUs: EAL --lcores maps two lcores onto each, and idle workers sleep).
# Every worker actively opens connections to a kernel server (source ports
# chosen so the flow's owner by the port's RSS model is the opening worker),
# with the bytes checked by SHA-256 both ways; the kernel's MAC is learned by
# the one worker whose queue got its ARP packet and shared with all the
# others, which never ask for it. Kernel clients then open connections to
# the stack: the kernel picks TAP queues by its own hash, so SYNs land on
# workers that do not own them; they are handed to the owner, never answered
# with a RST. A last run with a short ARP reachable time keeps one entry in
# use across its expiry: it is refreshed and no packet waits for ARP.
source "$(dirname "$0")/lib.sh"
if [ "$(nproc)" -lt 2 ]; then
	echo "only one CPU: skipped"
	finish
fi
N=4 # active opens per worker
UP=$((4 << 20))
DOWN=$((1 << 20))
UP_SHA=$($PY sha $UP)
DOWN_SHA=$($PY sha $DOWN)
ECHO_N=64

# wctr WORKER NAME: that worker's counter (ctr. or drop.) from svc.out
wctr() {
	grep -E "^worker$1 (ctr|drop)\.$2=" "$WORK/svc.out" | head -1 | sed 's/.*=//' | grep . || echo 0
}

# new_ns: the previous run's namespace (and its TAP) gone, for start_svc to make a fresh one
new_ns() {
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	for _ in $(seq 1 50); do ip netns list | grep -qw "$NS" || break; sleep 0.1; done
}

run_workers() { # W LCORE-spec
	local W=$1 i learned=0 shared_ok=1 per_ok=1 out rq=0 rf=0 ho_out=0 ho_in=0 ho_full=0 rst
	LCORE=$2
	echo "-- $W workers (lcores $LCORE)"
	start_svc --connect $KERNEL_IP:5001 --conns $N --send $UP --connect-delay-ms -1 --connect-all \
		--echo 7 --idle-sleep-ms 1
	nst 200 $PY --timeout 180 server 5001 $((N * W)) $DOWN >"$WORK/server.out" 2>&1 &
	local SRV=$!
	wait_listening "$WORK/server.out"
	kill -USR1 "$SVC_PID"
	wait $SRV
	out=$(nst 150 $PY --timeout 140 many $STACK_IP 7 $ECHO_N 16384)
	echo "   many: $out"
	# the last client closes reach the service (bounded)
	for _ in $(seq 1 100); do
		[ "$(grep -c '^conn client' "$WORK/svc.out")" -ge $((N * W)) ] && break
		sleep 0.1
	done
	stop_svc
	grep "rss reta" "$WORK/svc.err" | sed 's/^/   /'
	check "$W: port set up with $W queues" grep -q "queues=$W " "$WORK/svc.err"
	check "$W: kernel server got $((N * W)) x 4 MiB with the right SHA-256" \
		test "$(grep -c "rx=$UP rx_sha256=$UP_SHA" "$WORK/server.out")" -eq $((N * W))
	check "$W: stack clients sent 4 MiB and got 1 MiB back, SHA-256 both ways, $((N * W)) times" \
		test "$(grep -c "conn client .* rx=$DOWN rx_sha256=$DOWN_SHA tx=$UP tx_sha256=$UP_SHA err=ST_OK" "$WORK/svc.out")" -eq $((N * W))
	for i in $(seq 0 $((W - 1))); do
		[ "$(wctr $i TCP_CONNECTED)" -eq $N ] || per_ok=0
		[ "$(wctr $i ARP_LEARNED)" -ge 1 ] && learned=$((learned + 1))
		[ "$(wctr $i ARP_LEARNED)" -ge 1 ] || [ "$(wctr $i ARP_SHARED_IN)" -ge 1 ] || shared_ok=0
		rq=$((rq + $(wctr $i ARP_REQUESTS_SENT)))
		rf=$((rf + $(wctr $i ARP_REFRESH)))
		ho_out=$((ho_out + $(wctr $i TCP_HANDOFF_OUT)))
		ho_in=$((ho_in + $(wctr $i TCP_HANDOFF_IN)))
		ho_full=$((ho_full + $(wctr $i HANDOFF_FULL)))
		echo "   worker$i: connected=$(wctr $i TCP_CONNECTED) accepted=$(wctr $i TCP_ACCEPTED)" \
			"arp learned=$(wctr $i ARP_LEARNED) shared_in=$(wctr $i ARP_SHARED_IN)" \
			"requests=$(wctr $i ARP_REQUESTS_SENT) handoff out=$(wctr $i TCP_HANDOFF_OUT)" \
			"in=$(wctr $i TCP_HANDOFF_IN)"
	done
	check "$W: every worker completed its $N active opens" test $per_ok -eq 1
	check "$W: the kernel's MAC was learned from an ARP packet (on $learned worker(s))" test $learned -ge 1
	check "$W: every other worker got it from the learner's post" test $shared_ok -eq 1
	check "$W: no worker had to ask ARP for it ($((rq - rf)) requests beyond refreshes)" test $((rq - rf)) -eq 0
	check "$W: $ECHO_N kernel connections echoed through the stack" grep -q "conns=$ECHO_N ok=$ECHO_N bad=0" <<<"$out"
	check "$W: all $ECHO_N accepted once" test "$(counter TCP_ACCEPTED)" -eq $ECHO_N
	check "$W: wrong-queue segments were handed to their owner ($ho_out out, $ho_in in)" \
		test $ho_out -ge 1 -a $ho_out -eq $((ho_in + ho_full))
	# A wrong-queue segment is never answered with a RST; the owner answers one whose
	# connection is gone (a stray that a queue change delayed past the close), as TCP must.
	rst=$(counter TCP_RST_SENT)
	check "$W: no live connection was reset, RSTs only for closed 4-tuples ($rst sent)" \
		test "$(counter TCP_RESET_RCVD)" -eq 0 -a \
		"$rst" -le $(($(counter TCP_NO_CONN) + $(counter TCP_COOKIE) + $(counter TCP_ACK)))
	check "$W: service exited cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
	cp "$WORK/svc.out" "$WORK/svc.$W.out"
	new_ns
}

# More lcores than the build has workers for is a start-up error that says so.
out=$(timeout 60 "$SVC" --lcores='(0-16)@0' --no-huge -m 256 --no-pci --no-shconf --file-prefix=st$$x \
	--no-telemetry --log-level=lib.eal:error -- --ip $STACK_IP/24 2>&1)
rc=$?
rm -rf "/var/run/dpdk/st$$x"
echo "   17 lcores: $(grep -m1 'at most' <<<"$out")"
check "17 lcores: refused at start-up (exit $rc), naming DP_MAX_WORKERS" \
	test $rc -ne 0 -a -n "$(grep 'at most 16 workers (DP_MAX_WORKERS)' <<<"$out")"

run_workers 2 "0,1"
run_workers 4 "0@0,1@1,2@0,3@1"

# ARP aging while in use: a 300 ms reachable time, connections opened one
# after another from both workers for about a second. The entry for the
# kernel is refreshed before it expires (unicast requests, answered) and no
# packet is dropped for want of ARP.
echo "-- ARP refresh (2 workers, reachable 300 ms)"
LCORE=0,1
C=600
CUP=$((64 << 10))
CDOWN=$((16 << 10))
start_svc --connect $KERNEL_IP:5001 --conns $C --parallel 1 --send $CUP --connect-delay-ms -1 \
	--connect-all --arp-reachable-ms 300 --idle-sleep-ms 1
nst 200 $PY --timeout 180 server 5001 $((2 * C)) $CDOWN >"$WORK/server.out" 2>&1 &
SRV=$!
wait_listening "$WORK/server.out"
kill -USR1 "$SVC_PID"
for _ in $(seq 1 1800); do kill -0 "$SVC_PID" 2>/dev/null || break; sleep 0.1; done
wait $SRV
stop_svc
grep "^clients finished" "$WORK/svc.out" | sed 's/^/   /'
check "refresh: $((2 * C)) sequential connections, SHA-256 checked both ways" \
	test "$(grep -c "rx=$CUP rx_sha256=$($PY sha $CUP)" "$WORK/server.out")" -eq $((2 * C)) -a \
	"$(grep -c "conn client .* rx=$CDOWN rx_sha256=$($PY sha $CDOWN) tx=$CUP .* err=ST_OK" "$WORK/svc.out")" -eq $((2 * C))
echo "   ARP: requests=$(counter ARP_REQUESTS_SENT) refresh=$(counter ARP_REFRESH) learned=$(counter ARP_LEARNED)" \
	"shared_in=$(counter ARP_SHARED_IN) expired=$(counter ARP_EXPIRED)"
check "refresh: the entry in use was refreshed before expiring" test "$(counter ARP_REFRESH)" -ge 1
check "refresh: the refreshes were answered (entry learned again)" test "$(counter ARP_LEARNED)" -ge 2
check "refresh: nothing dropped for want of ARP" test "$(counter ARP_UNRESOLVED)" -eq 0
check "refresh: service exited by itself, cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
finish
