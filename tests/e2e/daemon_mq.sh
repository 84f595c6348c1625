#!/usr/bin/env bash
# The daemon on a multi-queue port: two workers, then four on the two CPUs
# (EAL --lcores maps two lcores onto each), on a net_tap port with one queue
# per worker. 16 OpenSSH sessions at once each run the named Service kecho,
# a kernel TCP echo backend: every session's backend connection is opened by
# the worker that owns the session (its source port chosen so the backend's
# answers belong to that worker), 2 MiB go through each and come back exact
# (SHA-256). The backend's MAC, learned by one worker from the kernel's own
# ARP request, is shared with every worker, so none has to ask; no connection
# is reset. About 35 s.
#   tests/e2e/daemon_mq.sh [BUILD_DIR]
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_mq "${1:-build}"
if [ "$(nproc)" -lt 2 ]; then
	echo "only one CPU: skipped"
	finish
fi
daemon_keys || exit 1
daemon_config "Service kecho $PEER:7000" "DefaultService echo" "MaxStartups 100" "WorkerIdle sleep 1"
M=16
BYTES=$((2 << 20))

cp "$ROOT/tests/e2e/echo_server.py" "$T/echo_server.py" # a kernel TCP echo backend

# wstat W NAME: worker W's counter or drop NAME (0 when it is not listed)
wstat() {
	ctl stats --json | /usr/bin/python3 -c '
import json, sys
w = json.load(sys.stdin)["workers"][int(sys.argv[1])]
print(w["counters"].get(sys.argv[2], w["drops"].get(sys.argv[2], 0)))' "$1" "$2"
}

run_workers() { # W LCORES
	local W=$1 i k good=0 per_ok=1 used=0 shared_ok=1 learned=0 resets=0 rq=0 ho=0
	LCORES=$2
	echo "-- $W workers (lcores $LCORES)"
	# 128 session slots per worker: four workers' tables fit the test's 512 MiB of EAL memory
	start_daemon -m 128
	sleep 0.5
	if ! kill -0 "$DPID" 2>/dev/null || ! ctl status >/dev/null 2>&1; then
		bad "$W: daemon starts with $W workers" "$(tail -3 "$T/daemon.log")"
		DPID=
		return
	fi
	grep -q "queues=$W " "$T/daemon.log" && ok "$W: port set up with $W queues" ||
		bad "$W: port set up with $W queues" "$(grep queues= "$T/daemon.log" | tail -1)"
	# the backend (started once the TAP is up: it binds the TAP's address)
	if [ -z "${ECHO_PID:-}" ]; then
		nsx python3 "$T/echo_server.py" "$PEER" 7000 &
		ECHO_PID=$!
		PIDS+=($ECHO_PID)
		sleep 0.5
	fi
	for k in $(seq 1 $M); do
		key=$(printf '%032x' $((k * 7919)))
		(stream $BYTES "$key" | TMO=120 sshc alice "$T/id_user" kecho | head -c $BYTES | sha256sum |
			cut -d' ' -f1 > "$T/got.$W.$k") 2>/dev/null &
	done
	wait_for=$(($(date +%s) + 150))
	for k in $(seq 1 $M); do
		while [ ! -s "$T/got.$W.$k" ] && [ "$(date +%s)" -lt $wait_for ]; do sleep 0.2; done
	done
	for k in $(seq 1 $M); do
		key=$(printf '%032x' $((k * 7919)))
		[ "$(cat "$T/got.$W.$k" 2>/dev/null)" = "$(stream $BYTES "$key" | sha256sum | cut -d' ' -f1)" ] &&
			good=$((good + 1))
	done
	check "$W: $M sessions through the kecho backend, 2 MiB each, SHA-256 exact" "$good" "$M"
	for i in $(seq 0 $((W - 1))); do
		local acc con
		acc=$(wstat "$i" TCP_ACCEPTED)
		con=$(wstat "$i" TCP_CONNECTED)
		echo "   worker$i: sessions(accepted)=$acc backends(connected)=$con" \
			"arp learned=$(wstat "$i" ARP_LEARNED) shared_in=$(wstat "$i" ARP_SHARED_IN)" \
			"requests=$(wstat "$i" ARP_REQUESTS_SENT) handoff in=$(wstat "$i" TCP_HANDOFF_IN)"
		[ "$acc" -eq "$con" ] || per_ok=0
		[ "$acc" -gt 0 ] && used=$((used + 1))
		[ "$(wstat "$i" ARP_LEARNED)" -gt 0 ] && learned=$((learned + 1))
		[ "$(wstat "$i" ARP_LEARNED)" -gt 0 ] || [ "$(wstat "$i" ARP_SHARED_IN)" -gt 0 ] || shared_ok=0
		resets=$((resets + $(wstat "$i" TCP_RESET_RCVD)))
		rq=$((rq + $(wstat "$i" ARP_REQUESTS_SENT) - $(wstat "$i" ARP_REFRESH)))
		ho=$((ho + $(wstat "$i" TCP_HANDOFF_IN)))
	done
	check "$W: every worker opened one backend per session it owns (sessions on $used workers)" \
		"$per_ok" 1
	[ "$used" -ge 2 ] && ok "$W: sessions and backends on more than one worker" ||
		bad "$W: sessions and backends on more than one worker" "$used"
	[ "$learned" -ge 1 ] && [ "$shared_ok" = 1 ] &&
		ok "$W: the backend's MAC learned on $learned worker(s), shared with the rest ($rq requests)" ||
		bad "$W: the backend's MAC learned and shared" "learned on $learned, shared_ok=$shared_ok"
	# The kernel asked for the daemon's MAC before its first connection; that request taught
	# the worker whose queue it reached, and the post taught the rest.
	check "$W: no worker had to send an ARP request for it (refreshes aside)" "$rq" 0
	check "$W: no connection reset by a peer" "$resets" 0
	echo "   segments handed over: $ho"
	stop_daemon
	ok "$W: daemon stopped"
}

run_workers 2 "0,1"
run_workers 4 "0@0,1@1,2@0,3@1"
finish
