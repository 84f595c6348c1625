#!/usr/bin/env bash
# MetricsListen (Prometheus text on a kernel socket in the daemon's network
# namespace), `sshtermctl stats --prometheus` and `sshtermctl top`
# (control/metrics.h, metrics_http.h, ctl_top.h).
#   tests/e2e/daemon_metrics.sh [BUILD_DIR]
# Checks:
#  1. MetricsListen errors are start-up errors with file:line; the daemon
#     logs where it serves.
#  2. GET /metrics: 200, Content-Type text/plain; version=0.0.4, Content-Length,
#     Connection: close; `promtool check metrics` (Debian's prometheus
#     package, which scripts/install-deps.sh installs) accepts it;
#     the same families as `sshtermctl stats --prometheus`.
#  3. Values move after logins, a failed login and a 32 MiB transfer: rx
#     packets and bytes, AUTH_ACCEPTED, AUTH_FAILED, the login-latency
#     histogram (count, +Inf bucket, sum > 0).
#  4. HEAD has no body; 404 for another path, 405 for POST, 400 for garbage,
#     431 for an oversized head; 40 concurrent scrapes all answered.
#  5. 100 silent clients (more than the 64 slots): the control socket still
#     answers at once, they are dropped after their 2 s, and /metrics answers
#     again.
#  6. sshtermctl top: -n 3 without a terminal prints 3 lines; in tmux the
#     screen shows the worker table and the running session (user, peer).
# shellcheck source=tests/e2e/lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_metrics "${1:-build}"
daemon_keys || exit 1
MPORT=9810
URL="http://127.0.0.1:$MPORT/metrics"
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
fetch() { # url [curl args...] -> body on stdout, headers in $T/hdr
	local u=$1
	shift
	timeout 10 ip netns exec "$NS" curl -sS --max-time 5 -D "$T/hdr" "$@" "$u"
}
metric() { # file name-with-labels -> value (0 when absent)
	awk -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' "$1"
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# ---- 1. configuration ----
for v in "MetricsListen 127.0.0.1" "MetricsListen 127.0.0.1:0" "MetricsListen nohost:9100"; do
	daemon_config "$v"
	if "$BIN/sshterm" "${EALT[@]}" -- -f "$T/sshterm.conf" -t >"$T/bad.out" 2>&1; then
		bad "'$v' refused"
	else
		grep -q "sshterm.conf:1: MetricsListen" "$T/bad.out" && ok "'$v' refused, with file:line" ||
			bad "'$v' message" "$(head -2 "$T/bad.out")"
	fi
done
daemon_config "MetricsListen 127.0.0.1:$MPORT" "DefaultService echo"
start_daemon || { bad "daemon starts with MetricsListen"; finish; }
grep -q "Prometheus metrics on http://127.0.0.1:$MPORT/metrics" "$T/daemon.log" &&
	ok "the daemon logs where it serves metrics" || bad "metrics log line" "$(grep -i metrics "$T/daemon.log")"

# ---- 2. the exposition ----
fetch "$URL" > "$T/m0.txt" || bad "GET /metrics" "$(cat "$T/hdr" 2>/dev/null)"
tr -d '\r' < "$T/hdr" > "$T/h0"
check "GET /metrics: 200" "$(head -1 "$T/h0" | cut -d' ' -f2)" 200
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/h0" && ok "Content-Type text/plain; version=0.0.4" ||
	bad "Content-Type" "$(grep -i content-type "$T/h0")"
check "Content-Length is the body's size" "$(awk -F': ' 'tolower($1) == "content-length" { print $2 }' "$T/h0")" \
	"$(stat -c %s "$T/m0.txt")"
grep -qi '^Connection: close' "$T/h0" && ok "Connection: close" || bad "Connection: close"
if command -v promtool >/dev/null 2>&1; then
	if promtool check metrics < "$T/m0.txt" > "$T/promtool.out" 2>&1; then
		ok "promtool check metrics accepts /metrics"
	else
		bad "promtool check metrics" "$(head -5 "$T/promtool.out")"
	fi
else
	bad "promtool is not installed (scripts/install-deps.sh installs the prometheus package)"
fi
ctl stats --prometheus > "$T/c0.txt" || bad "sshtermctl stats --prometheus"
fam() { grep '^# TYPE' "$1" | sort; }
check "stats --prometheus has the same families as /metrics" "$(fam "$T/c0.txt" | md5sum)" "$(fam "$T/m0.txt" | md5sum)"
n=$(grep -c '^# TYPE' "$T/m0.txt")
[ "$n" -ge 40 ] && ok "$n metric families" || bad "metric families" "$n"
bad_names=$(grep -v '^#' "$T/m0.txt" | grep -cv '^sshterm_[a-z0-9_]*\({[^}]*}\)\? [0-9.e+]*$')
check "every sample is sshterm_NAME{labels} VALUE" "$bad_names" 0
bad_ctr=$(grep '^# TYPE .* counter$' "$T/m0.txt" | awk '{ print $3 }' | grep -cv '_total$')
check "every counter ends in _total" "$bad_ctr" 0
grep -q '^sshterm_worker_drops_total{worker="0",reason="TCP_CSUM"} ' "$T/m0.txt" &&
	ok "drops by reason per worker" || bad "drops by reason"
grep -q '^sshterm_crypto_backend_info{backend="' "$T/m0.txt" && ok "crypto backend counters" ||
	bad "crypto backend"
grep -q '^sshterm_control_disconnects_total{reason="LOGIN_GRACE"} ' "$T/m0.txt" &&
	ok "control-plane disconnect reasons" || bad "disconnect reasons"
grep -q '^sshterm_src_refused_penalty_total ' "$T/m0.txt" && ok "per-source counters" ||
	bad "per-source counters"

# ---- 3. values move ----
for i in 1 2 3; do
	r=$(echo "hello $i" | TMO=30 sshc alice "$T/id_user" echo 2>/dev/null)
	check "login $i" "$r" "hello $i"
done
echo x | TMO=30 sshc alice "$T/id_other" echo >/dev/null 2>&1
got=$(stream $((32 << 20)) 0102030405060708090a0b0c0d0e0f10 | TMO=120 sshc alice "$T/id_user" sink | cut -d' ' -f1)
check "32 MiB into sink" "$got" $((32 << 20))
sleep 0.3 # one publication period of the workers and shards
fetch "$URL" > "$T/m1.txt" || bad "second GET /metrics"
for k in 'sshterm_worker_rx_packets_total{worker="0"}' 'sshterm_worker_rx_bytes_total{worker="0"}' \
	'sshterm_worker_busy_cycles_total{worker="0"}' 'sshterm_worker_sessions_total{worker="0"}'; do
	a=$(metric "$T/m0.txt" "$k") b=$(metric "$T/m1.txt" "$k")
	gt "$b" "$a" && ok "$k moved ($a -> $b)" || bad "$k moved" "$a -> $b"
done
rxb=$(metric "$T/m1.txt" 'sshterm_worker_rx_bytes_total{worker="0"}')
gt "$rxb" $((32 << 20)) && ok "rx bytes cover the transfer ($rxb)" || bad "rx bytes" "$rxb"
acc=$(metric "$T/m1.txt" 'sshterm_control_events_total{event="AUTH_ACCEPTED"}')
[ "$acc" -ge 4 ] && ok "AUTH_ACCEPTED counts the logins ($acc)" || bad "AUTH_ACCEPTED" "$acc"
fl=$(metric "$T/m1.txt" 'sshterm_control_events_total{event="AUTH_FAILED"}')
[ "$fl" -ge 1 ] && ok "AUTH_FAILED counts the refused key ($fl)" || bad "AUTH_FAILED" "$fl"
hc=$(metric "$T/m1.txt" sshterm_login_latency_seconds_count)
check "login latency histogram: one observation per login" "$hc" "$acc"
check "login latency +Inf bucket equals the count" \
	"$(metric "$T/m1.txt" 'sshterm_login_latency_seconds_bucket{le="+Inf"}')" "$hc"
hs=$(metric "$T/m1.txt" sshterm_login_latency_seconds_sum)
gt "$hs" 0 && ok "login latency sum > 0 ($hs s for $hc logins)" || bad "latency sum" "$hs"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics < "$T/m1.txt" >/dev/null 2>&1 && ok "promtool accepts it after traffic" ||
		bad "promtool after traffic" "$(promtool check metrics < "$T/m1.txt" 2>&1 | head -3)"
fi

# ---- 4. the HTTP edges ----
fetch "http://127.0.0.1:$MPORT/other" -o /dev/null
check "another path: 404" "$(head -1 "$T/hdr" | cut -d' ' -f2)" 404
fetch "$URL" -X POST -d x=1 -o /dev/null
check "POST with a body: 405" "$(head -1 "$T/hdr" | cut -d' ' -f2)" 405
raw() { # bytes to send [body] -> status code [and the body's size]
	printf '%s' "$1" > "$T/raw.in"
	shift
	timeout 10 ip netns exec "$NS" python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(open(sys.argv[2], "rb").read())
d = b""
while True:
    try:
        c = s.recv(65536)
    except ConnectionResetError:
        break
    if not c:
        break
    d += c
head, _, body = d.partition(b"\r\n\r\n")
print((d.split(b" ")[1].decode() if d.startswith(b"HTTP/1.1 ") else "none") +
      (" body=%d" % len(body) if len(sys.argv) > 3 else ""))' "$MPORT" "$T/raw.in" "$@"
}
check "HEAD: 200 and no body" "$(raw $'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n' body)" "200 body=0"
check "a GET with a body: 400" "$(raw $'GET /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab')" 400
check "garbage: 400" "$(raw $'hello there\r\n\r\n')" 400
check "HTTP/2.0 request line: 400" "$(raw $'GET /metrics HTTP/2.0\r\n\r\n')" 400
check "a 9000-byte head: 431" "$(raw "GET /metrics HTTP/1.1"$'\r\n'"X-Pad: $(head -c 9000 /dev/zero | tr '\0' a)"$'\r\n\r\n')" 431
check "HTTP/1.0 with a query string: 200" "$(raw $'GET /metrics?x=1 HTTP/1.0\r\n\r\n')" 200
PAR=()
for i in $(seq 1 40); do
	timeout 20 ip netns exec "$NS" curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' "$URL" >> "$T/par" &
	PAR+=($!)
done
wait "${PAR[@]}" # not a bare wait: the daemon is a child too
check "40 concurrent scrapes all answered 200" "$(grep -c '^200$' "$T/par")" 40

# ---- 5. silent clients ----
timeout 20 ip netns exec "$NS" python3 -c '
import socket, sys, time
s = []
for i in range(100):
    try:
        s.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
print(len(s), flush=True)
time.sleep(4)' "$MPORT" > "$T/idle.out" &
IDLE=$!
PIDS+=($IDLE)
sleep 0.7
t0=$(date +%s%N)
ctl status > /dev/null && t1=$(date +%s%N) && ms=$(((t1 - t0) / 1000000))
[ "${ms:-9999}" -lt 500 ] && ok "control socket answers in $ms ms with 100 silent HTTP clients" ||
	bad "control socket while HTTP clients stall" "${ms:-none} ms"
sleep 2.5 # their 2 s are up: the server dropped them
code=$(timeout 10 ip netns exec "$NS" curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$URL")
check "/metrics answers again once the silent clients were dropped" "$code" 200
wait $IDLE 2>/dev/null

# ---- 6. sshtermctl top ----
out=$(ctl top -d 0.3 -n 3)
check "top without a terminal: 3 lines for -n 3" "$(echo "$out" | grep -c 'workers=1 gbps=')" 3
echo "   $(echo "$out" | tail -1)"
ctl top -d 0 >/dev/null 2>&1
check "top -d 0 is a usage error" "$?" 2
# A session that stays open (echo service, stdin held) while top runs in tmux.
(sleep 20 | TMO=30 sshc alice "$T/id_user" echo >/dev/null 2>&1) &
HOLD=$!
PIDS+=($HOLD)
for _ in $(seq 1 100); do
	ctl sessions | grep -q alice && break
	sleep 0.1
done
if command -v tmux >/dev/null 2>&1; then
	TS=st-top-$$
	tmux -L "$TS" new-session -d -s "$TS" -x 160 -y 40 \
		"$BIN/sshtermctl -s $T/ctl.sock top -d 0.5 -n 40; echo top-exited; sleep 5" 2>"$T/tmux.err" ||
		bad "tmux session" "$(cat "$T/tmux.err")"
	found=0
	for _ in $(seq 1 50); do
		sleep 0.2
		tmux -L "$TS" capture-pane -p -t "$TS" > "$T/pane.txt" 2>/dev/null || continue
		grep -q '^WORKER ' "$T/pane.txt" && grep -q 'alice' "$T/pane.txt" && { found=1; break; }
	done
	grep -q '^WORKER .*GBIT/S .*PACKETS/S .*BUSY% .*CYC/BYTE' "$T/pane.txt" &&
		ok "top in tmux: the worker table header" || bad "top header" "$(head -8 "$T/pane.txt")"
	grep -qE '^0 +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9]+' "$T/pane.txt" &&
		ok "top in tmux: worker 0's row" || bad "worker row" "$(head -8 "$T/pane.txt")"
	grep -qE "^[0-9]+ +alice +$PEER:[0-9]+ " "$T/pane.txt" &&
		ok "top in tmux: the running session (user, peer)" || bad "session row" "$(cat "$T/pane.txt")"
	grep -q 'logins/s' "$T/pane.txt" && ok "top in tmux: logins/s and failures/s" || bad "top rates"
	[ "$found" = 1 ] || sed 's/^/   | /' "$T/pane.txt" | head -20
	[ -n "${SHOW_TOP:-}" ] && sed 's/^/   | /' "$T/pane.txt" | head -12
	tmux -L "$TS" send-keys -t "$TS" q
	for _ in $(seq 1 20); do # -n 40 at 0.5 s would take 20 s: only 'q' ends it this soon
		sleep 0.1
		tmux -L "$TS" capture-pane -p -t "$TS" > "$T/pane2.txt" 2>/dev/null
		grep -q '^top-exited' "$T/pane2.txt" && break
	done
	grep -q '^top-exited' "$T/pane2.txt" && ok "top in tmux quits on 'q'" ||
		bad "top quits on 'q'" "$(tail -3 "$T/pane2.txt")"
	tmux -L "$TS" kill-server 2>/dev/null
else
	bad "tmux is installed (scripts/install-deps.sh)"
fi
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

stop_daemon
grep -q "sshterm: exit$" "$T/daemon.log" && ok "daemon exits cleanly" || bad "clean exit" "$(tail -3 "$T/daemon.log")"
finish
