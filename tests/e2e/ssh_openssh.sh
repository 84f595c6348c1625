#!/usr/bin/env bash
# OpenSSH `ssh` 9.2 against build/sshterm-harness (control plane + worker
# session in one process, 127.0.0.1 only): host key verification (good and
# wrong known_hosts), 256 MiB through sink / from source / through echo
# checked by SHA-256, client RekeyLimit=1M during 64 MiB both ways, server
# RekeyLimit, several channels over one connection (ControlMaster), TCP
# backend services (`-S name=host:port`, one refusing: exit status 1),
# direct-tcpip (ssh -W) allowed / refused by PermitOpen, the max-connections
# cap, auth refusals (wrong key, from= mismatch, expired key) and the
# OpenSSH-format auth log line, a non-SSH client line, clean exit on SIGTERM.
. "$(dirname "$0")/lib/ssh_common.sh"
e2e_init ssh_openssh "${1:-build}"
e2e_keys || { bad keys; e2e_finish; }

BIG=$((256 * 1024 * 1024))
MID=$((64 * 1024 * 1024))

# Users: good (id_user), fromok / fromx (from= match / mismatch),
# expired / notexpired (expiry-time in the past / future).
pub=$(cat "$T/id_user.pub")
echo "from=\"127.0.0.1\" $pub" >"$T/ak/fromok"
echo "from=\"10.9.8.7,!127.0.0.1\" $pub" >"$T/ak/fromx"
echo "expiry-time=\"20200101\" $pub" >"$T/ak/expired"
echo "expiry-time=\"20991231\" $pub" >"$T/ak/notexpired"

# A TCP echo backend on 127.0.0.1 for `Service db` (python, bounded life).
cat >"$T/echo_server.py" <<'EOF'
import socket, sys, threading, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(300)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
/usr/bin/python3 "$T/echo_server.py" "$T/backend.port" &
E2E_PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$T/backend.port" ] && break; sleep 0.05; done
BPORT=$(cat "$T/backend.port" 2>/dev/null || echo 1)

start_harness H -S "db=127.0.0.1:$BPORT" -S "nobody=127.0.0.1:1" -O "127.0.0.1:$BPORT" -m 32 ||
	{ bad harness; e2e_finish; }
KH=$T/H.known_hosts
S() { sshc "$H_PORT" good "$T/id_user" "$KH" "$@"; }

# --- host key verification ---
out=$(echo hello | S 127.0.0.1 echo 2>&1)
check_eq "known_hosts ok (echo)" hello "$out"
e2e_known_hosts "$H_PORT" "$T/wrong_kh"
ssh-keygen -q -t ed25519 -N '' -f "$T/hk_wrong"
sed -i "s|$(cut -d' ' -f2 "$T/hk_ed25519.pub")|$(cut -d' ' -f2 "$T/hk_wrong.pub")|" "$T/wrong_kh"
out=$(echo hello | sshc "$H_PORT" good "$T/id_user" "$T/wrong_kh" \
	-o HostKeyAlgorithms=ssh-ed25519 127.0.0.1 echo 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "HOST IDENTIFICATION HAS CHANGED\|verification failed"; then
	ok "wrong known_hosts refused"
else
	bad "wrong known_hosts refused" "rc=$rc out=$out"
fi

# --- 256 MiB sink / source / echo ---
head -c "$BIG" /dev/urandom >"$T/big"
want=$(sha <"$T/big")
t0=$(date +%s.%N)
out=$(S 127.0.0.1 sink <"$T/big")
check_eq "sink 256 MiB" "$BIG $want" "$out"
out=$(S 127.0.0.1 echo <"$T/big" | sha)
check_eq "echo 256 MiB" "$want" "$out"
src_want=$(gen_source "$BIG" | sha)
out=$(S 127.0.0.1 source "$BIG" | sha)
check_eq "source 256 MiB" "$src_want" "$out"
echo "  (256 MiB x3: $(echo "$(date +%s.%N) - $t0" | bc) s)"

# exit status travels (exit-status before CLOSE)
S 127.0.0.1 source 1000 >/dev/null
check_eq "exit status 0" 0 $?

# --- client rekeys: RekeyLimit=1M during 64 MiB each way through echo ---
head -c "$MID" "$T/big" >"$T/mid"
want=$(sha <"$T/mid")
out=$(SSH_LOGLEVEL=DEBUG1 S -o RekeyLimit=1M 127.0.0.1 echo <"$T/mid" 2>"$T/rekey.err" | sha)
check_eq "echo 64 MiB, client RekeyLimit=1M" "$want" "$out"
n=$(grep -c "SSH2_MSG_NEWKEYS received" "$T/rekey.err")
if [ "$n" -ge 24 ]; then ok "dozens of rekeys ($n)"; else bad "dozens of rekeys" "only $n"; fi

# --- server rekeys: harness RekeyLimit 1M ---
start_harness R -r 1M || bad "rekey harness"
out=$(SSH_LOGLEVEL=DEBUG1 sshc "$R_PORT" good "$T/id_user" "$T/R.known_hosts" 127.0.0.1 sink \
	<"$T/mid" 2>"$T/srekey.err")
check_eq "sink 64 MiB, server RekeyLimit=1M" "$MID $want" "$out"
n=$(grep -c "SSH2_MSG_NEWKEYS received" "$T/srekey.err")
if [ "$n" -ge 24 ]; then ok "server-started rekeys ($n)"; else bad "server-started rekeys" "only $n"; fi

# --- several channels on one connection (ControlMaster) ---
ssh -F /dev/null -p "$H_PORT" -l good -i "$T/id_user" -o IdentitiesOnly=yes -o BatchMode=yes \
	-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KH" -o LogLevel=ERROR \
	-M -S "$T/ctl" -N 127.0.0.1 2>/dev/null &
E2E_PIDS+=("$!")
for _ in $(seq 1 100); do [ -S "$T/ctl" ] && break; sleep 0.05; done
M() { timeout 60 ssh -F /dev/null -S "$T/ctl" -o BatchMode=yes 127.0.0.1 "$@"; }
head -c $((8 * 1024 * 1024)) "$T/big" >"$T/small"
want=$(sha <"$T/small")
M sink <"$T/small" >"$T/mc1" &
p1=$!
M echo <"$T/small" >"$T/mc2" &
p2=$!
M source 8388608 >"$T/mc3" &
p3=$!
wait $p1 $p2 $p3
check_eq "mux: sink" "8388608 $want" "$(cat "$T/mc1")"
check_eq "mux: echo" "$want" "$(sha <"$T/mc2")"
check_eq "mux: source" "$(gen_source 8388608 | sha)" "$(sha <"$T/mc3")"
timeout 10 ssh -F /dev/null -S "$T/ctl" -O exit 127.0.0.1 2>/dev/null

# --- TCP backend service (`-S db=127.0.0.1:port`) ---
out=$(S 127.0.0.1 db <"$T/small" | sha)
check_eq "backend service db (8 MiB echo)" "$want" "$out"

# a backend that refuses: the channel ends with exit status 1, the session lives on
S 127.0.0.1 nobody </dev/null >/dev/null 2>&1
check_eq "refused backend: exit status 1" 1 $?

# --- direct-tcpip (ssh -W) to a PermitOpen target, and to one that is not ---
out=$(S -W "127.0.0.1:$BPORT" 127.0.0.1 <"$T/small" | sha)
check_eq "direct-tcpip ssh -W (8 MiB echo)" "$want" "$out"
out=$(S -W "127.0.0.1:1" 127.0.0.1 </dev/null 2>&1)
rc=$?
if [ $rc -ne 0 ]; then ok "direct-tcpip to a non-permitted target refused"; else bad "direct-tcpip refused" "$out"; fi

# --- max connections: -m 1 drops the second connection ---
start_harness C -m 1 || bad "harness -m 1"
ssh -F /dev/null -p "$C_PORT" -l good -i "$T/id_user" -o IdentitiesOnly=yes -o BatchMode=yes \
	-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/C.known_hosts" -o LogLevel=ERROR \
	-M -S "$T/ctl1" -N 127.0.0.1 2>/dev/null &
E2E_PIDS+=("$!")
for _ in $(seq 1 100); do [ -S "$T/ctl1" ] && break; sleep 0.05; done
out=$(sshc "$C_PORT" good "$T/id_user" "$T/C.known_hosts" 127.0.0.1 echo </dev/null 2>&1)
rc=$?
if [ $rc -eq 255 ] && grep -q "max connections (1)" "$C_LOG"; then
	ok "max connections cap"
else
	bad "max connections cap" "rc=$rc $out"
fi
out=$(echo held | timeout 30 ssh -F /dev/null -S "$T/ctl1" -o BatchMode=yes 127.0.0.1 echo 2>&1)
check_eq "the first connection still works" held "$out"

# --- authentication refusals ---
out=$(sshc "$H_PORT" good "$T/id_other" "$KH" 127.0.0.1 echo </dev/null 2>&1)
rc=$?
if [ $rc -eq 255 ] && echo "$out" | grep -q "Permission denied"; then ok "wrong user key refused"; else bad "wrong user key refused" "rc=$rc $out"; fi
out=$(echo x | sshc "$H_PORT" fromok "$T/id_user" "$KH" 127.0.0.1 echo 2>&1)
check_eq "from= match accepted" x "$out"
out=$(sshc "$H_PORT" fromx "$T/id_user" "$KH" 127.0.0.1 echo </dev/null 2>&1)
rc=$?
if [ $rc -eq 255 ] && echo "$out" | grep -q "Permission denied"; then ok "from= mismatch refused"; else bad "from= mismatch refused" "rc=$rc $out"; fi
out=$(sshc "$H_PORT" expired "$T/id_user" "$KH" 127.0.0.1 echo </dev/null 2>&1)
rc=$?
if [ $rc -eq 255 ] && echo "$out" | grep -q "Permission denied"; then ok "expired key refused"; else bad "expired key refused" "rc=$rc $out"; fi
out=$(echo y | sshc "$H_PORT" notexpired "$T/id_user" "$KH" 127.0.0.1 echo 2>&1)
check_eq "unexpired key accepted" y "$out"
if grep -q "Accepted publickey for good from 127.0.0.1 port [0-9]* ssh2: ED25519 SHA256:" "$H_LOG"; then
	ok "OpenSSH-format auth log line"
else
	bad "OpenSSH-format auth log line"
fi

# --- a client that sends a non-SSH line is dropped ---
out=$(timeout 10 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
d = b""
while True:
    x = s.recv(4096)
    if not x: break
    d += x
print(d.decode().strip())' "$H_PORT" 2>&1)
case "$out" in
SSH-2.0-*) ok "non-SSH client line: our version, then closed" ;;
*) bad "non-SSH client line" "$out" ;;
esac

# --- the harness still serves, then exits cleanly on SIGTERM ---
out=$(echo z | S 127.0.0.1 echo 2>&1)
check_eq "still serving" z "$out"
if stop_harness "$H_PID" && grep -q "stats close \"bad protocol version identification\" 1" "$H_LOG"; then
	ok "SIGTERM: clean exit, counters"
else
	bad "SIGTERM: clean exit, counters" "$(tail -5 "$H_LOG")"
fi
e2e_finish
