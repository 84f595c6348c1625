#!/usr/bin/env bash
# Windows that follow the path, with a real client: OpenSSH `ssh` uploads
# into `sink` over a TAP port while the fault injector's RX delay line adds
# 100 ms to everything sshterm receives. The session's windows, sampled from
# `sshtermctl sessions --json` during the transfer, must grow past the
# initial ones (TCP 256 KiB, channel 2 MiB) and stay within the 16 MiB caps;
# the bytes arrive intact (sink's SHA-256). With TCPReceiveWindowMax 256K and
# ChannelWindowMax 2M the windows stay fixed. Rates are printed, not checked.
#   tests/e2e/daemon_bdp.sh [BUILD_DIR]
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_bdp "${1:-build}"
daemon_keys || { bad "keys"; finish; }
BYTES=$((48 << 20))
KEY=0102030405060708090a0b0c0d0e0f10
want=$(stream $BYTES $KEY | sha256sum | cut -d' ' -f1)

# Samples the session's windows every 0.2 s (at most 120 s) into $1 while the upload runs.
sample() { # file
	for _ in $(seq 1 600); do
		ctl sessions --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for x in json.load(sys.stdin):
    if x.get("chan_window"):
        print(x["chan_window"], x["tcp_rcv_wnd"], x["rtt_ms"], x["chan_window_grown"])
' >>"$1" 2>/dev/null
		sleep 0.2
	done
}

# One upload of BYTES; prints "sha seconds" and leaves the samples in $T/win.
upload() {
	: >"$T/win"
	sample "$T/win" &
	local spid=$! t0 t1 got
	t0=$(date +%s.%N)
	got=$(stream $BYTES $KEY | TMO=150 sshc alice "$T/id_user" sink | cut -d' ' -f2)
	t1=$(date +%s.%N)
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	echo "$got $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
}

maxcol() { awk -v c="$1" 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$T/win"; }
mincol() { awk -v c="$1" 'NR == 1 || $c < m { m = $c } END { print m + 0 }' "$T/win"; }

# ---- the defaults: both windows grow ----
daemon_config
if SSHTERM_TEST_FAULT_RX=delay=100,seed=1 start_daemon; then
	ok "daemon starts with a 100 ms RX delay line"
	read -r got secs < <(upload)
	check "48 MiB into sink over 100 ms (SHA-256)" "$got" "$want"
	echo "   $((BYTES >> 20)) MiB in $secs s; samples (chan_window tcp_rcv_wnd rtt_ms grown), last:" \
		"$(tail -1 "$T/win")"
	n=$(wc -l <"$T/win")
	[ "$n" -ge 3 ] && ok "the session was sampled during the upload ($n samples)" ||
		bad "the session was sampled during the upload" "$n samples"
	rtt=$(maxcol 3)
	[ "$rtt" -ge 95 ] && [ "$rtt" -le 1000 ] && ok "its RTT is the delay line's ($rtt ms)" ||
		bad "its RTT is the delay line's" "$rtt ms"
	tw=$(maxcol 2)
	[ "$tw" -gt 262144 ] && [ "$tw" -le 16777216 ] &&
		ok "the TCP receive window grew past 256 KiB, within 16 MiB ($tw)" ||
		bad "the TCP receive window grew within its cap" "max $tw"
	cw=$(maxcol 1)
	[ "$cw" -gt 2097152 ] && [ "$cw" -le 16777216 ] &&
		ok "the channel window grew past 2 MiB, within 16 MiB ($cw, $(maxcol 4) steps)" ||
		bad "the channel window grew within its cap" "max $cw"
	[ "$(mincol 1)" -ge 2097152 ] && ok "the channel window never fell below 2 MiB while sending" ||
		bad "the channel window never fell below 2 MiB" "min $(mincol 1)"
	g=$(daemon_stat 'workers.*.counters.TCP_RCVWND_GROWN' 2>/dev/null || echo 0)
	[ "${g:-0}" -gt 0 ] && ok "TCP_RCVWND_GROWN counted ($g)" || bad "TCP_RCVWND_GROWN counted" "$g"
	stop_daemon
else
	bad "daemon starts with a 100 ms RX delay line" "$(tail -3 "$T/daemon.log")"
fi

# ---- fixed windows: the minimums keep them where they start ----
daemon_config "TCPReceiveWindowMax 256K" "ChannelWindowMax 2M"
if SSHTERM_TEST_FAULT_RX=delay=100,seed=1 start_daemon; then
	ok "daemon starts with fixed windows"
	BYTES=$((8 << 20))
	want=$(stream $BYTES $KEY | sha256sum | cut -d' ' -f1)
	read -r got secs < <(upload)
	check "8 MiB into sink with fixed windows (SHA-256)" "$got" "$want"
	echo "   $((BYTES >> 20)) MiB in $secs s"
	[ -s "$T/win" ] && [ "$(maxcol 1)" = 2097152 ] && [ "$(mincol 1)" = 2097152 ] &&
		[ "$(maxcol 2)" = 262144 ] &&
		ok "windows stayed at 2 MiB / 256 KiB" ||
		bad "windows stayed fixed" "chan $(mincol 1)..$(maxcol 1) tcp max $(maxcol 2)"
	stop_daemon
else
	bad "daemon starts with fixed windows" "$(tail -3 "$T/daemon.log")"
fi
finish
