#!/usr/bin/env bash
# Liveness of the daemon under clients that push back, stall or attack: each
# check here failed on a build without the fix it covers.
#   tests/e2e/daemon_stalls.sh [BUILD_DIR]
# - Downloads to a client that sends nothing while it reads (paramiko with a
#   1 GiB window: no window adjust, no data): 64 MiB from `source` and from a
#   backend that only writes, within a generous bound.
# - Uploads into a backend that only reads, checked by SHA-256 on the backend:
#   64 MiB through a Service, `ssh -W` and `ssh -L`, and 3 MB as 1001-byte
#   CHANNEL_DATA messages; a download from a write-only backend to a slow reader.
# - No TCP segment the stack sends has a bad checksum (the kernel peer's
#   TcpInCsumErrors stays 0) across those odd-sized writes.
# - 1100 connections the server closes (junk version lines) leave a normal
#   login possible.
# - 80 connections of one-byte out-of-order segments beyond a hole, while a
#   canary session moves 16 MiB: the canary's bytes are intact, logins succeed
#   during and right after, no mbuf allocation fails.
# - Connections that advertise a zero window and go silent free their session
#   slots at LoginGraceTime, and their TCP connections go at the close deadline.
# - Past the session limit (-m), a login is refused at once and counted.
# Prints "daemon_stalls: N passed, N failed".
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_stalls "${1:-build}"
daemon_keys || { bad "keys"; finish; }
HERE=$ROOT/tests/e2e
PY=/usr/bin/python3 # Debian's, with paramiko and cryptography
MIB=$((1 << 20))

daemon_config "Service rd $PEER:7001" "Service wr $PEER:7002" \
	"PermitOpen $PEER:7001 $PEER:7002" "MaxStartups 400"
start_daemon || { bad "daemon starts"; finish; }
ok "daemon starts"

nsx $PY "$HERE/lib/backends.py" rd "$PEER" 7001 "$T/rd.log" &
PIDS+=($!)
nsx $PY "$HERE/lib/backends.py" wr "$PEER" 7002 $((64 * MIB)) &
PIDS+=($!)
for _ in $(seq 1 50); do nsx ss -ltn | grep -q ":7002 " && break; sleep 0.1; done
csum_errors() { nsx nstat -az TcpInCsumErrors | awk '/TcpInCsumErrors/ {print $2}'; }
csum0=$(csum_errors)

pexec() { # mode cmd [args]: paramiko in the namespace as alice
	timeout 120 ip netns exec "$NS" $PY "$HERE/lib/paramiko_exec.py" "$ADDR" alice "$T/id_user" \
		"$T/known_hosts" "$@"
}
# Waits (bounded) for the rd backend's line number N and prints it.
rd_line() {
	for _ in $(seq 1 300); do
		[ "$(wc -l <"$T/rd.log" 2>/dev/null || echo 0)" -ge "$1" ] && break
		sleep 0.1
	done
	sed -n "${1}p" "$T/rd.log" 2>/dev/null
}

# ---- downloads to a client that sends nothing ----
want=$(source_sha $((64 * MIB)))
within "64 MiB from source to a client that never writes" 20 "$(pexec read 'source 64M')" \
	$((64 * MIB)) "$want"
within "64 MiB from a write-only backend to a client that never writes" 20 "$(pexec read wr)" \
	$((64 * MIB)) "$want"
got=$(TMO=120 sshc alice "$T/id_user" wr </dev/null |
	$PY -c 'import hashlib, sys, time
h, n = hashlib.sha256(), 0
while True:
    d = sys.stdin.buffer.read(256 * 1024)
    if not d:
        break
    h.update(d); n += len(d)
    time.sleep(0.02)  # a slow reader: about 12 MB/s
print(n, h.hexdigest())')
check "64 MiB from a write-only backend to a slow reader (SHA-256)" "$got" "$((64 * MIB)) $want"

# ---- uploads into a read-only backend ----
head -c $((64 * MIB)) /dev/urandom >"$T/up"
up_sha=$(sha256sum <"$T/up" | cut -d' ' -f1)
line=0
TMO=120 sshc alice "$T/id_user" rd <"$T/up" >/dev/null 2>"$T/err"
line=$((line + 1))
check "64 MiB upload through a Service: the backend got every byte" "$(rd_line $line)" \
	"$((64 * MIB)) $up_sha"
TMO=120 sshc alice "$T/id_user" -W "$PEER:7001" <"$T/up" >/dev/null 2>>"$T/err"
line=$((line + 1))
check "64 MiB upload through ssh -W: the backend got every byte" "$(rd_line $line)" \
	"$((64 * MIB)) $up_sha"
TMO=150 sshc alice "$T/id_user" -N -o ExitOnForwardFailure=yes -L "127.0.0.1:17001:$PEER:7001" \
	2>>"$T/err" &
LPID=$!
PIDS+=($LPID)
for _ in $(seq 1 100); do nsx ss -ltn | grep -q "127.0.0.1:17001 " && break; sleep 0.1; done
timeout 120 ip netns exec "$NS" nc -N 127.0.0.1 17001 <"$T/up" >/dev/null
line=$((line + 1))
check "64 MiB upload through ssh -L: the backend got every byte" "$(rd_line $line)" \
	"$((64 * MIB)) $up_sha"
kill "$LPID" 2>/dev/null
out=$(pexec send rd 3000000 1001)
line=$((line + 1))
read -r n s _ <<<"$out"
check "3 MB as 1001-byte CHANNEL_DATA messages reach the backend" "$(rd_line $line)" "3000000 $s"
check "the sender of 1001-byte messages saw the channel close" "$n" 3000000

# ---- checksums of everything the stack sent to the kernel ----
csum1=$(csum_errors)
check "no segment with a bad TCP checksum reached the kernel (TcpInCsumErrors)" \
	"$((csum1 - csum0))" 0
echo "   checksums done in software for odd-length pieces: $(daemon_stat workers.0.counters.TCP_CSUM_SW 2>/dev/null || echo 0)"

# ---- 1100 connections that the server closes, then a login ----
nsx $PY - "$ADDR" <<'EOF'
import socket, sys, threading
done = [0]
def junk(k):
    for i in range(k):
        s = socket.create_connection((sys.argv[1], 22), timeout=10)
        try:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 20)
            while s.recv(4096):  # the server closes first: TIME_WAIT is on its side
                pass
        except OSError:
            pass
        s.close()
        done[0] += 1
ts = [threading.Thread(target=junk, args=(110,)) for _ in range(10)]
[t.start() for t in ts]
[t.join(120) for t in ts]
print("junk connections closed by the server:", done[0])
EOF
r=$(echo hello | TMO=30 sshc alice "$T/id_user" echo 2>&1)
check "a login succeeds after 1100 connections closed by the server" "$r" hello
echo "   TIME_WAIT now: $(daemon_stat workers.0.tcp.time_wait)"

# ---- one-byte out-of-order segments from 80 connections, with a canary ----
head -c $((16 * MIB)) /dev/urandom >"$T/canary"
(TMO=120 sshc alice "$T/id_user" echo <"$T/canary" | sha256sum | cut -d' ' -f1 >"$T/canary.sha") &
CPID=$!
timeout 60 ip netns exec "$NS" $PY "$HERE/rawtcp.py" ooo "$TAP" "$ADDR" 22 80 1500 20 \
	>"$T/ooo.out" 2>&1 &
OPID=$!
for _ in $(seq 1 100); do grep -q "ooo: established" "$T/ooo.out" && break; sleep 0.1; done
r=$(echo during | TMO=30 sshc alice "$T/id_user" echo 2>&1)
check "a login succeeds during the out-of-order flood" "$r" during
wait "$OPID"
echo "   $(tail -n 1 "$T/ooo.out")"
grep -q "ooo: established=80 segments=" "$T/ooo.out" && ok "80 flooding connections were established" ||
	bad "80 flooding connections were established" "$(cat "$T/ooo.out")"
r=$(echo after | TMO=30 sshc alice "$T/id_user" echo 2>&1)
check "a login succeeds right after the flood" "$r" after
wait "$CPID"
check "the canary session's 16 MiB came back intact" "$(cat "$T/canary.sha")" \
	"$(sha256sum <"$T/canary" | cut -d' ' -f1)"
check "no mbuf allocation failed" "$(daemon_stat workers.0.drops.NO_MBUF 2>/dev/null || echo 0)" 0
echo "   out-of-order drops: full $(daemon_stat workers.0.drops.TCP_OOO_FULL 2>/dev/null || echo 0)," \
	"worker memory $(daemon_stat workers.0.drops.TCP_OOO_MEM 2>/dev/null || echo 0)"
stop_daemon

# ---- zero-window silent clients, then the session limit ----
daemon_config "LoginGraceTime 3" "MaxStartups 400"
start_daemon -m 16 || { bad "daemon restarts with -m 16"; finish; }
# ---- a client that comes back on a 4-tuple still in TIME_WAIT, from a new MAC ----
r=$(timeout 30 ip netns exec "$NS" $PY "$HERE/rawtcp.py" reuse "$TAP" "$ADDR" 22 2>&1 | tail -n 1)
check "a reused 4-tuple in TIME_WAIT: ACK to the new MAC, RST taken, SYN accepted" "$r" \
	"reuse: closed=1 tw_ack=1 synack=1"
timeout 60 ip netns exec "$NS" $PY "$HERE/rawtcp.py" zerowin "$TAP" "$ADDR" 22 12 40 \
	>"$T/zw.out" 2>&1 &
ZPID=$!
PIDS+=($ZPID)
for _ in $(seq 1 100); do grep -q "zerowin: established" "$T/zw.out" && break; sleep 0.1; done
check "12 zero-window connections established" "$(cat "$T/zw.out")" "zerowin: established=12"
sleep 1
held=$(daemon_stat workers.0.sessions)
check "they hold 12 session slots" "$held" 12
t0=$(date +%s)
for _ in $(seq 1 100); do [ "$(daemon_stat workers.0.sessions)" = 0 ] && break; sleep 0.1; done
check "their slots are free by LoginGraceTime + 4 s" "$(daemon_stat workers.0.sessions)" 0
echo "   freed $(($(date +%s) - t0)) s after the check began; drain timeouts:" \
	"$(daemon_stat workers.0.app.CLOSE_DRAIN_TIMEOUT)"
for _ in $(seq 1 300); do [ "$(daemon_stat workers.0.tcp.orphans)" = 0 ] && break; sleep 0.1; done
check "their TCP connections are gone by the close deadline" "$(daemon_stat workers.0.tcp.orphans)" 0
echo "   aborted at the close deadline: $(daemon_stat workers.0.counters.TCP_CLOSE_TIMEOUT 2>/dev/null || echo 0)"
kill "$ZPID" 2>/dev/null

# The 16 holders must log in: 3 s of grace is too short for 16 logins at once on a loaded
# machine (timed-out holders would free slots for the 17th). New connections take the
# reloaded LoginGraceTime.
daemon_config "LoginGraceTime 60" "MaxStartups 400"
ctl reload >/dev/null || bad "reload with LoginGraceTime 60"
mkfifo "$T/hold"
exec 7<>"$T/hold" # keeps the holders' stdin open until the end of the test
for i in $(seq 1 16); do
	TMO=60 sshc alice "$T/id_user" sink <"$T/hold" >/dev/null 2>&1 &
	PIDS+=($!)
done
authed16() { # all 16 holders authenticated (their channels open)
	ctl sessions --json 2>/dev/null | /usr/bin/python3 -c "
import json,sys
sys.exit(0 if sum(1 for x in json.load(sys.stdin) if x['user']=='alice' and x['channels']>=1) == 16 else 1)"
}
for _ in $(seq 1 300); do authed16 && break; sleep 0.1; done
check "16 sessions fill the slots" "$(daemon_stat workers.0.sessions)" 16
authed16 && ok "all 16 are logged in" || bad "all 16 are logged in" "$(ctl sessions 2>&1 | tail -3)"
cap0=$(daemon_stat workers.0.drops.TCP_LISTEN_CAP 2>/dev/null || echo 0)
s0=$(date +%s%N)
echo x | TMO=20 sshc alice "$T/id_user" echo >/dev/null 2>"$T/full.err"
rc=$?
ms=$((($(date +%s%N) - s0) / 1000000))
if [ $rc -ne 0 ] && grep -q "refused" "$T/full.err" && [ $ms -lt 3000 ]; then
	ok "the 17th login is refused at once ($ms ms)"
else
	bad "the 17th login is refused at once" "rc=$rc after $ms ms: $(cat "$T/full.err")"
fi
# The worker publishes its counters a moment later (stats are snapshots): up to 3 s.
for _ in $(seq 1 30); do
	cap1=$(daemon_stat workers.0.drops.TCP_LISTEN_CAP 2>/dev/null || echo 0)
	[ "$cap1" -gt "$cap0" ] && break
	sleep 0.1
done
check "the refusal is counted (TCP_LISTEN_CAP)" "$((cap1 > cap0))" 1
exec 7>&-
stop_daemon
finish
