#!/usr/bin/env bash
# The sshterm daemon end to end: DPDK TAP port in a private network namespace
# (198.18.0.0/15 only), real OpenSSH clients, paramiko and dbclient.
#   tests/e2e/daemon_ssh.sh [BUILD_DIR]
# Covers: known_hosts verification (right and wrong host key), 1 GiB through
# sink, source and echo checked by SHA-256, the algorithm
# matrix, dozens of rekeys during a transfer, refused keys (wrong key, from=,
# expired), a named Service and direct-tcpip (ssh -W, ssh -L) to a kernel
# backend in the namespace, 200 concurrent sessions, sshtermctl (status,
# sessions, stats, kill, rekey, reload) while transfers run, and 2% loss
# injected on both directions during a transfer. Everything is removed on
# exit, also on failure. Prints "daemon_ssh: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_ssh "${1:-build}"

# ---- keys, users, configuration ----
daemon_keys || exit 1
echo "from=\"10.9.9.9\" $(cat "$T/id_user.pub")" > "$T/ak/bob"
echo "expiry-time=\"20200101\" $(cat "$T/id_user.pub")" > "$T/ak/carol"
echo "restrict $(cat "$T/id_user.pub")" > "$T/ak/dave"
daemon_config "Service kecho $PEER:7000" "PermitOpen $PEER:7000 $PEER:7002" \
	"DefaultService echo" "MaxStartups 400"

# ---- configuration check and host key generation (-t, -G) ----
sed "s#^HostKey $T/host_ed25519#HostKey $T/gen/ssh_host_ed25519_key#" "$T/sshterm.conf" > "$T/gen.conf"
mkdir -p "$T/gen"
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/gen.conf" -t 2>"$T/t.err"; then
	bad "a missing HostKey is an error"
else
	grep -q "ssh_host_ed25519_key: No such file or directory" "$T/t.err" &&
		ok "a missing HostKey is an error naming the file" || bad "missing HostKey message" "$(cat "$T/t.err")"
fi
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/gen.conf" -t -G >/dev/null 2>"$T/g.err" &&
	[ "$(stat -c %a "$T/gen/ssh_host_ed25519_key")" = 600 ] &&
	ok "-G generates the missing host key (mode 600)" || bad "-G" "$(cat "$T/g.err")"
"$BIN/sshterm" "${EALT[@]}" \
	-- -e -f "$T/sshterm.conf" -t 2>/dev/null | grep -q "configuration OK, 3 host key(s)" &&
	ok "-t checks a good configuration" || bad "-t on a good configuration"
printf 'Address %s/24\nBogusKeyword 1\n' $ADDR > "$T/bad.conf"
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/bad.conf" -t 2>&1 | grep -q "bad.conf:2: unknown keyword 'BogusKeyword'" &&
	ok "an unknown keyword is an error with file:line" || bad "unknown keyword error"
# The test-only fault injector comes from the environment, never from product flags.
if SSHTERM_TEST_FAULT_TX=drop=20,bogus=1 "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -t \
	>/dev/null 2>"$T/f.err"; then
	bad "a bad SSHTERM_TEST_FAULT_TX is a start-up error"
else
	grep -q "SSHTERM_TEST_FAULT_TX=\"drop=20,bogus=1\": bad fault spec" "$T/f.err" &&
		ok "a bad SSHTERM_TEST_FAULT_TX is a start-up error naming it" ||
		bad "bad fault spec message" "$(cat "$T/f.err")"
fi
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -t -R drop=20 >/dev/null 2>&1 &&
	bad "-R is no longer a flag" || ok "-R is no longer a flag (faults: SSHTERM_TEST_FAULT_RX/TX)"

if ! start_daemon; then
	cat "$T/daemon.log"
	bad "daemon starts"
	finish
fi
ok "daemon starts on a TAP port in namespace $NS"
grep -q "fault injection" "$T/daemon.log" && bad "no fault injector without SSHTERM_TEST_FAULT_*" ||
	ok "no fault injector without SSHTERM_TEST_FAULT_*"

# A kernel TCP backend inside the namespace: echoes what it receives.
cp "$ROOT/tests/e2e/echo_server.py" "$T/echo_server.py" # a kernel TCP echo backend
nsx python3 "$T/echo_server.py" "$PEER" 7000 &
PIDS+=($!)

# ---- host key verification ----
r=$(echo hello | TMO=30 sshc alice "$T/id_user" echo 2>"$T/err")
check "known_hosts verification succeeds (echo)" "$r" "hello"
if echo hi | timeout 30 ip netns exec "$NS" ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$T/wrong_known_hosts" -i "$T/id_user" alice@$ADDR echo >/dev/null 2>&1; then
	bad "a wrong known_hosts entry is refused"
else
	ok "a wrong known_hosts entry is refused"
fi

# ---- bulk transfers checked by SHA-256 ----
GIB=1073741824
want=$(source_sha $GIB)
got=$(TMO=180 sshc alice "$T/id_user" "source 1G" | sha256sum | cut -d' ' -f1)
check "1 GiB from source (SHA-256)" "$got" "$want"

want=$(stream $GIB 0102030405060708090a0b0c0d0e0f10 | sha256sum | cut -d' ' -f1)
got=$(stream $GIB 0102030405060708090a0b0c0d0e0f10 | TMO=180 sshc alice "$T/id_user" sink | cut -d' ' -f2)
check "1 GiB into sink (SHA-256 reported by the service)" "$got" "$want"

M256=268435456
want=$(stream $GIB 1111111111111111111111111111111f | sha256sum | cut -d' ' -f1)
got=$(stream $GIB 1111111111111111111111111111111f | TMO=180 sshc alice "$T/id_user" echo | sha256sum | cut -d' ' -f1)
check "1 GiB through echo (SHA-256)" "$got" "$want"

# ---- algorithm matrix (each algorithm at least once) ----
matrix_one() { # label ssh-options...
	local label=$1
	shift
	local r
	r=$(echo "m-$label" | TMO=30 sshc alice "$T/id_user" "$@" echo 2>"$T/merr")
	if [ "$r" = "m-$label" ]; then ok "matrix $label"; else bad "matrix $label" "$(head -c 200 "$T/merr")"; fi
}
for k in sntrup761x25519-sha512@openssh.com curve25519-sha256 curve25519-sha256@libssh.org \
	ecdh-sha2-nistp256 diffie-hellman-group16-sha512 diffie-hellman-group14-sha256; do
	matrix_one "kex=$k" -o KexAlgorithms=$k
done
# Debian 12's later 9.2 updates also know the RFC 9941 name without @openssh.com.
ssh -Q kex | grep -qx sntrup761x25519-sha512 &&
	matrix_one "kex=sntrup761x25519-sha512" -o KexAlgorithms=sntrup761x25519-sha512
# With no option the client's first kex is an sntrup761 name (9.2: the @openssh.com one; Debian's
# deb12u updates put the plain name before it), and our default has both right after
# mlkem768x25519-sha256 (which 9.2 lacks): that name is negotiated, and bytes move both ways.
pqfirst=$(ssh -G -p 22 x 2>/dev/null | awk '$1 == "kexalgorithms" { split($2, a, ","); print a[1] }')
r=$(echo "pq-default" | TMO=30 sshc alice "$T/id_user" -v echo 2>"$T/pqerr")
case $pqfirst in sntrup761x25519-sha512*) ;; *) pqfirst="(not sntrup761: $pqfirst)" ;; esac
tr -d '\r' <"$T/pqerr" | grep -qx "debug1: kex: algorithm: $pqfirst" && [ "$r" = "pq-default" ] &&
	ok "default kex with OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d_ -f2) is $pqfirst, echo both ways" ||
	bad "default kex $pqfirst" "$(grep 'kex: algorithm' "$T/pqerr") r=$r"
for h in ssh-ed25519 ecdsa-sha2-nistp256 rsa-sha2-512 rsa-sha2-256; do
	matrix_one "hostkey=$h" -o HostKeyAlgorithms=$h
done
for c in aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com; do
	matrix_one "cipher=$c" -c $c
done
for c in aes128-ctr aes256-ctr; do
	for m in hmac-sha2-256 hmac-sha2-512 hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com; do
		matrix_one "$c+$m" -c $c -m $m
	done
done
matrix_one "user-key=rsa-sha2-512" -o PubkeyAcceptedAlgorithms=rsa-sha2-512 -i "$T/id_rsa"

# ---- rekeys during a transfer ----
want=$(source_sha 67108864)
got=$(TMO=120 sshc alice "$T/id_user" -o RekeyLimit=1M "source 64M" | sha256sum | cut -d' ' -f1)
check "64 MiB with RekeyLimit=1M (64 client-initiated rekeys)" "$got" "$want"

# ---- refused keys ----
refused() { # label user key
	if echo x | TMO=30 sshc "$2" "$3" echo >/dev/null 2>&1; then bad "$1"; else ok "$1"; fi
}
refused "a key not in authorized_keys is refused" alice "$T/id_other"
refused "from= mismatch is refused" bob "$T/id_user"
refused "an expired key (expiry-time) is refused" carol "$T/id_user"
grep -q "Failed publickey for alice from $PEER" "$T/daemon.log" &&
	ok "OpenSSH-style 'Failed publickey' log line" || bad "OpenSSH-style 'Failed publickey' log line"
grep -q "Accepted publickey for alice from $PEER port [0-9]* ssh2: ED25519 SHA256:" "$T/daemon.log" &&
	ok "OpenSSH-style 'Accepted publickey' log line" || bad "OpenSSH-style 'Accepted publickey' log line"

# ---- backends: named Service, ssh -W, ssh -L ----
want=$(stream 10485760 2222222222222222222222222222222f | sha256sum | cut -d' ' -f1)
got=$(stream 10485760 2222222222222222222222222222222f | TMO=60 sshc alice "$T/id_user" kecho | head -c 10485760 | sha256sum | cut -d' ' -f1)
check "named Service kecho -> kernel backend (10 MiB)" "$got" "$want"
got=$(stream 10485760 2222222222222222222222222222222f | TMO=60 sshc alice "$T/id_user" -W $PEER:7000 | head -c 10485760 | sha256sum | cut -d' ' -f1)
check "ssh -W to a permitted target (10 MiB)" "$got" "$want"
if echo x | TMO=20 sshc alice "$T/id_user" -W $PEER:7001 >/dev/null 2>&1; then
	bad "ssh -W to a target not in PermitOpen is refused"
else
	ok "ssh -W to a target not in PermitOpen is refused"
fi
# Permitted, but nothing listens there: OPEN_FAILURE (connect failed), not an open-then-close.
if echo x | timeout 20 ip netns exec "$NS" ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$T/known_hosts" -o LogLevel=INFO -i "$T/id_user" \
	-W $PEER:7002 alice@$ADDR >/dev/null 2>"$T/w.err"; then
	bad "ssh -W to a closed port fails"
else
	grep -q "open failed: connect failed" "$T/w.err" &&
		ok "ssh -W to a closed port: CHANNEL_OPEN_FAILURE connect failed" ||
		bad "ssh -W to a closed port" "$(cat "$T/w.err")"
fi
if echo x | TMO=20 sshc dave "$T/id_user" -W $PEER:7000 >/dev/null 2>&1; then
	bad "ssh -W refused for a restrict key"
else
	ok "ssh -W refused for a restrict key"
fi
TMO=60 sshc alice "$T/id_user" -N -L 127.0.0.1:17000:$PEER:7000 &
LPID=$!
PIDS+=($LPID)
r=
for _ in $(seq 1 50); do
	r=$(nsx python3 -c "
import socket
s=socket.create_connection(('127.0.0.1',17000),timeout=5)
s.sendall(b'through-L')
print(s.recv(100).decode())" 2>/dev/null) && [ -n "$r" ] && break
	sleep 0.2
done
check "ssh -L forwards to the backend" "$r" "through-L"
pkill -f "17000:$PEER:7000" 2>/dev/null
wait "$LPID" 2>/dev/null

# ---- operator CLI while transfers run ----
TMO=120 sshc alice "$T/id_user" "source 100G" >/dev/null 2>&1 &
KPID=$!
PIDS+=($KPID)
# Until the transfer's channel is open (bounded at 30 s: a loaded machine logs in slowly).
for _ in $(seq 1 150); do
	ctl sessions --json 2>/dev/null | /usr/bin/python3 -c "
import json,sys
s=[x for x in json.load(sys.stdin) if x['user']=='alice']
sys.exit(0 if s and s[-1]['channels']>=1 else 1)" 2>/dev/null && break
	sleep 0.2
done
ctl status > "$T/status" && grep -q "sessions" "$T/status" && ok "sshtermctl status" || bad "sshtermctl status"
ctl sessions > "$T/sessions"
sid=$(awk '$2 == "alice" { id = $1 } END { print id }' "$T/sessions") # the newest
[ -n "$sid" ] && ok "sshtermctl sessions lists the running transfer" || bad "sshtermctl sessions" "$(cat "$T/sessions")"
ctl session "$sid" --json | /usr/bin/python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d['user']=='alice' and d['channels']==1 and d['bytes_out']>0 and 'sntrup761x25519-sha512' in d['algorithms'], d
# the windows: ours at least the initial ones, within the caps (ChannelWindowMax and
# TCPReceiveWindowMax default to 16 MiB); the client's window for our output is open
assert 2097152 <= d['chan_window'] <= 16777216 and 262144 <= d['tcp_rcv_wnd'] <= 16777216, d
assert d['chan_window_peer'] >= 0 and d['tcp_snd_wnd'] > 0 and d['chan_window_grown'] >= 0, d
" && ok "sshtermctl session: user, channels, bytes, algorithms, windows" || bad "sshtermctl session --json"
ctl stats --json > "$T/stats.json" && /usr/bin/python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
w=d['workers'][0]
assert w['rx_packets'] > 0 and w['cycles_per_byte'] > 0 and 'drops' in w
" "$T/stats.json" && ok "sshtermctl stats --json parses with per-worker counters" || bad "sshtermctl stats --json"
/usr/bin/python3 - "/var/run/dpdk/$DPDK_PREFIX/dpdk_telemetry.v2" <<'PYEOF' && ok "DPDK telemetry: /sshterm/status, /sshterm/worker,0, /sshterm/control" || bad "DPDK telemetry endpoints"
import json, socket, sys
def q(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.recv(4096)
    s.send(cmd.encode())
    r = json.loads(s.recv(65536))
    s.close()
    return r
st = q("/sshterm/status")["/sshterm/status"]
w = q("/sshterm/worker,0")["/sshterm/worker"]
c = q("/sshterm/control")["/sshterm/control"]
assert st["workers"] == 1 and st["sessions"] >= 1, st
assert w["rx_packets"] > 0 and w["busy_cycles"] > 0, w
assert c["AUTH_ACCEPTED"] > 0 and c["KEX_DONE"] > 0, c
PYEOF
ctl rekey "$sid" >/dev/null && ok "sshtermctl rekey" || bad "sshtermctl rekey"
sleep 1
r=$(ctl reload) && ok "sshtermctl reload while a transfer runs" || bad "sshtermctl reload" "$r"
sleep 1
kill -0 $KPID 2>/dev/null && ok "the transfer survives rekey and reload" || bad "the transfer survives rekey and reload"
ctl kill "$sid" >/dev/null && ok "sshtermctl kill" || bad "sshtermctl kill"
for _ in $(seq 1 50); do kill -0 $KPID 2>/dev/null || break; sleep 0.1; done
kill -0 $KPID 2>/dev/null && bad "killed session ends" || ok "killed session ends"
sleep 0.3 # the worker publishes its counters every 100 ms
check "the kill is counted as such (close reason ADMIN)" \
	"$(daemon_stat 'workers.*.closes.killed by administrator' 2>/dev/null || echo 0)" 1
ctl session 999999 >/dev/null 2>&1 && bad "unknown session id is an error" || ok "unknown session id is an error"
"$BIN/sshtermctl" -s "$T/nonexistent.sock" status >/dev/null 2>&1
[ $? -eq 1 ] && ok "sshtermctl: daemon not running gives exit 1" || bad "sshtermctl exit status when no daemon"
"$BIN/sshtermctl" -s "$T/ctl.sock" frobnicate >/dev/null 2>&1
[ $? -eq 2 ] && ok "sshtermctl: bad command gives exit 2" || bad "sshtermctl bad command exit status"

# ---- 200 concurrent sessions ----
N=${DAEMON_E2E_SESSIONS:-200}
mkdir -p "$T/conc"
for i in $(seq 1 $N); do
	(sleep 4; echo "c$i") | TMO=120 sshc alice "$T/id_user" echo >"$T/conc/$i" 2>/dev/null &
	PIDS+=($!)
done
sleep 3
peak=$(ctl sessions | tail -n +2 | wc -l)
wait_end=$((SECONDS + 120))
for i in $(seq 1 $N); do
	while [ ! -s "$T/conc/$i" ] && [ $SECONDS -lt $wait_end ]; do sleep 0.2; done
done
good=0
for i in $(seq 1 $N); do [ "$(cat "$T/conc/$i")" = "c$i" ] && good=$((good + 1)); done
check "$N concurrent sessions all answered" "$good" "$N"
echo "    (peak sessions seen by sshtermctl: $peak)"

# ---- paramiko and dbclient ----
cat > "$T/pk.py" <<'EOF'
import hashlib, sys, paramiko
host, key = sys.argv[1], sys.argv[2]
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.RejectPolicy())
c.load_host_keys(sys.argv[3])
c.connect(host, username="alice", key_filename=key, look_for_keys=False, allow_agent=False,
          disabled_algorithms={"pubkeys": []}, timeout=20)
_, out, _ = c.exec_command("source 16M")
h = hashlib.sha256()
while True:
    d = out.read(65536)
    if not d:
        break
    h.update(d)
print(h.hexdigest())
c.close()
EOF
want=$(source_sha 16777216)
got=$(timeout 120 ip netns exec "$NS" /usr/bin/python3 "$T/pk.py" $ADDR "$T/id_user" "$T/known_hosts" 2>"$T/pk.err")
check "paramiko: source 16M (SHA-256)" "$got" "$want"
[ "$got" = "$want" ] || tail -n 5 "$T/pk.err"
if command -v dbclient >/dev/null && command -v dropbearconvert >/dev/null; then
	dropbearconvert openssh dropbear "$T/id_user" "$T/id_user.db" >/dev/null 2>&1
	got=$(echo dropbear-ok | timeout 60 ip netns exec "$NS" dbclient -y -i "$T/id_user.db" alice@$ADDR echo 2>"$T/db.err")
	check "dropbear dbclient: echo" "$got" "dropbear-ok"
	[ "$got" = "dropbear-ok" ] || tail -n 5 "$T/db.err"
fi

# ---- the same clients on the cryptodev backend (ipsec_mb aesni_gcm PMD) ----
stop_daemon
{ cat "$T/sshterm.conf"; echo "CryptoBackend cryptodev crypto_aesni_gcm0"; } > "$T/sshterm-cd.conf"
if CONF="$T/sshterm-cd.conf" EAL_EXTRA="--vdev=crypto_aesni_gcm0" start_daemon; then
	ok "daemon starts with CryptoBackend cryptodev crypto_aesni_gcm0"
	for c in aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com aes128-ctr; do
		matrix_one "cryptodev cipher=$c" -c $c
	done
	want=$(source_sha $M256)
	got=$(TMO=120 sshc alice "$T/id_user" -c aes128-gcm@openssh.com "source 256M" | sha256sum | cut -d' ' -f1)
	check "cryptodev: 256 MiB from source (SHA-256)" "$got" "$want"
	got=$(stream $M256 1111111111111111111111111111111f | TMO=120 sshc alice "$T/id_user" -c aes256-gcm@openssh.com echo | sha256sum | cut -d' ' -f1)
	check "cryptodev: 256 MiB through echo (SHA-256)" "$got" "$(stream $M256 1111111111111111111111111111111f | sha256sum | cut -d' ' -f1)"
	got=$(TMO=120 sshc alice "$T/id_user" -o RekeyLimit=1M -c aes128-gcm@openssh.com "source 32M" | sha256sum | cut -d' ' -f1)
	check "cryptodev: 32 MiB with RekeyLimit=1M" "$got" "$(source_sha 33554432)"
	ctl stats --json > "$T/cd.json"
	# MaxStartups: idle unauthenticated connections fill it; the next ones are refused.
	# (Set low for this daemon only, through a reload.)
	sed -i 's/^MaxStartups .*/MaxStartups 3/' "$T/sshterm-cd.conf"
	ctl reload >/dev/null
	IDLE=()
	for i in 1 2 3 4 5 6; do
		ip netns exec "$NS" timeout 8 python3 -c "
import socket,time
s=socket.create_connection(('$ADDR',22)); time.sleep(6)" 2>/dev/null &
		IDLE+=($!)
	done
	# The idle clients hold on for 6 s: look for the refusals for up to 5 s of that
	# (Python's start-up alone can take a while on a busy machine).
	for _ in $(seq 1 50); do
		sleep 0.1
		ctl stats --json | /usr/bin/python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d['maxstartups_dropped'] >= 1, d
" 2>/dev/null && break
	done
	ctl stats --json | /usr/bin/python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d['maxstartups_dropped'] >= 1 and d['unauthenticated'] <= 3, d
" && ok "MaxStartups refuses unauthenticated connections past its limit" || bad "MaxStartups"
	wait "${IDLE[@]}" 2>/dev/null
	sed -i 's/^MaxStartups .*/MaxStartups 400/' "$T/sshterm-cd.conf"
	ctl reload >/dev/null
	/usr/bin/python3 -c "
import json,sys
c=json.load(open(sys.argv[1]))['crypto']
assert c['backend']=='cryptodev' and c['ops']>0 and c['fallbacks']>0 and c['errors']==0, c
" "$T/cd.json" && ok "stats: cryptodev ops counted, chacha/ctr fallbacks counted" || bad "cryptodev stats" "$(cat "$T/cd.json")"
else
	bad "daemon starts with CryptoBackend cryptodev crypto_aesni_gcm0"
fi

# ---- CryptoMode ops: ipsec_mb on its enqueue/dequeue path, the way hardware runs ----
# AES-GCM is then sealed asynchronously: enqueued at the end of a session's
# pass, dequeued by the worker on a later pass, handed to TCP in order.
stop_daemon
{ cat "$T/sshterm.conf"; echo "CryptoBackend cryptodev crypto_aesni_mb0"; echo "CryptoMode ops"; } > "$T/sshterm-ops.conf"
if CONF="$T/sshterm-ops.conf" EAL_EXTRA="--vdev=crypto_aesni_mb0" start_daemon; then
	ok "daemon starts with CryptoMode ops on crypto_aesni_mb0"
	got=$(TMO=120 sshc alice "$T/id_user" -c aes128-gcm@openssh.com "source 64M" | sha256sum | cut -d' ' -f1)
	check "CryptoMode ops: 64 MiB from source (SHA-256)" "$got" "$(source_sha 67108864)"
	got=$(stream 67108864 2222222222222222222222222222222f | TMO=120 sshc alice "$T/id_user" -c aes256-gcm@openssh.com echo | sha256sum | cut -d' ' -f1)
	check "CryptoMode ops: 64 MiB through echo (SHA-256)" "$got" "$(stream 67108864 2222222222222222222222222222222f | sha256sum | cut -d' ' -f1)"
	got=$(TMO=120 sshc alice "$T/id_user" -o RekeyLimit=1M -c aes128-gcm@openssh.com "source 16M" | sha256sum | cut -d' ' -f1)
	check "CryptoMode ops: 16 MiB with RekeyLimit=1M" "$got" "$(source_sha 16777216)"
	# CTR+HMAC on the op path: synchronous (the device polled within the call)
	got=$(TMO=120 sshc alice "$T/id_user" -c aes128-ctr -m hmac-sha2-256-etm@openssh.com "source 16M" | sha256sum | cut -d' ' -f1)
	check "CryptoMode ops: 16 MiB on aes128-ctr + hmac-sha2-256-etm" "$got" "$(source_sha 16777216)"
	# many sessions' seals interleaved on one queue pair, each in its own order
	mkdir -p "$T/opsc"
	OPIDS=()
	for i in $(seq 1 16); do
		(TMO=120 sshc alice "$T/id_user" -c aes128-gcm@openssh.com "source 4M" | sha256sum | cut -d' ' -f1 >"$T/opsc/$i") &
		OPIDS+=($!)
	done
	wait "${OPIDS[@]}"
	want4=$(source_sha 4194304)
	good=0
	for i in $(seq 1 16); do [ "$(cat "$T/opsc/$i")" = "$want4" ] && good=$((good + 1)); done
	check "CryptoMode ops: 16 concurrent 4 MiB sources (SHA-256)" "$good" 16
	ctl stats --json | /usr/bin/python3 -c "
import json,sys
j=json.load(sys.stdin)
a={}
for w in j['workers']:
    for k,v in w.get('app',{}).items(): a[k]=a.get(k,0)+v
c=j['crypto']
assert a['TX_CRYPTO_ASYNC']>0 and a['RX_CRYPTO_ASYNC']>0 and a['TX_CRYPTO_ERRORS']==0 and c['errors']==0, (a, c)
" && ok "CryptoMode ops: seals and opens ran asynchronously, none failed" || bad "CryptoMode ops stats" "$(ctl stats | grep -i crypto)"
else
	bad "daemon starts with CryptoMode ops on crypto_aesni_mb0"
fi
{ cat "$T/sshterm.conf"; echo "CryptoBackend cryptodev crypto_openssl0"; echo "CryptoMode cpu"; } > "$T/sshterm-cpu.conf"
if ip netns exec "$NS" timeout 60 "$BIN/sshterm" --no-huge -m 512 --no-pci --no-shconf \
	--file-prefix "$DPDK_PREFIX_CHECK" -l 0 --vdev=crypto_openssl0 -- -t -f "$T/sshterm-cpu.conf" >"$T/cpu.err" 2>&1; then
	bad "CryptoMode cpu refused on crypto_openssl0" "it was accepted"
else
	grep -q "CryptoMode cpu: .* has no CPU crypto" "$T/cpu.err" && ok "CryptoMode cpu refused on a device without CPU crypto" ||
		bad "CryptoMode cpu refused on crypto_openssl0" "$(tail -2 "$T/cpu.err")"
fi

# ---- loss injected on both directions ----
stop_daemon
if [ -n "${DAEMON_VTAP:-}" ]; then
	# The injector wraps ethdev queues: on the kernel TAP port it is a start-up error.
	if SSHTERM_TEST_FAULT_RX=drop=20,seed=3 timeout 60 ip netns exec "$NS" "$BIN/sshterm" \
		--no-huge -m 512 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" -l 0 -- \
		-e -f "$T/sshterm.conf" >"$T/fv.err" 2>&1; then
		bad "fault injection refused on TapInterface" "it ran"
	else
		grep -q "the fault injector needs an ethdev port" "$T/fv.err" &&
			ok "fault injection refused on TapInterface, with the reason" ||
			bad "fault injection refused on TapInterface" "$(tail -2 "$T/fv.err")"
	fi
	start_daemon || bad "daemon restarts"
elif SSHTERM_TEST_FAULT_RX=drop=20,seed=3 SSHTERM_TEST_FAULT_TX=drop=20,seed=4 start_daemon; then
	grep -q "test-only fault injection active on port 0 .*rx drop=20,.*tx drop=20," "$T/daemon.log" &&
		ok "fault injection is announced on stderr" || bad "fault injection warning"
	want=$(source_sha 33554432)
	got=$(TMO=180 sshc alice "$T/id_user" "source 32M" | sha256sum | cut -d' ' -f1)
	check "32 MiB from source with 2% loss each way" "$got" "$want"
	ctl stats | grep -q "retransmits [1-9]" && ok "retransmissions are counted" || bad "retransmissions are counted"
	ctl stats | grep -qE "drop FAULT +[1-9]" && ok "injected drops are counted (drop FAULT)" ||
		bad "injected drops are counted" "$(ctl stats | grep -i fault)"
else
	bad "daemon restarts with fault injection"
fi

# ---- clean shutdown ----
TMO=60 sshc alice "$T/id_user" "source 100G" >/dev/null 2>&1 &
SPID=$!
PIDS+=($SPID)
sleep 1
stop_daemon
for _ in $(seq 1 50); do kill -0 $SPID 2>/dev/null || break; sleep 0.1; done
kill -0 $SPID 2>/dev/null && bad "SIGTERM disconnects sessions" || ok "SIGTERM disconnects sessions"
grep -q "Received signal; terminating." "$T/daemon.log" && ok "shutdown is logged" || bad "shutdown is logged"

finish
