#!/usr/bin/env bash
# Bad input never crashes or hangs the worker: malformed Ethernet/ARP/IPv4/
# ICMP/TCP frames (hand-made ones, then random bytes) are counted under drop
# reasons, and service goes on. Also RFC 5961: a SYN on an established
# 4-tuple gets a challenge ACK and the connection survives.
source "$(dirname "$0")/lib.sh"
RAW="python3 $HERE/rawpkt.py"

start_svc --discard 9 --echo 7
MAC=$(grep -o 'mac=[0-9A-Fa-f:]*' "$WORK/svc.err" | head -1 | cut -d= -f2)

out=$(nst 60 $RAW junk "$TAP" "$MAC" 20000)
echo "   $out"
sleep 0.5
check "service still running after 20000 malformed frames" kill -0 "$SVC_PID"
check "ICMP echo still answered" nst 10 ping -q -c 2 -i 0.2 -W 2 $STACK_IP
out=$(nst 60 $PY --timeout 50 many $STACK_IP 7 10 65536)
check "echo still works ($out)" grep -q "conns=10 ok=10 bad=0" <<<"$out"

# RFC 5961 4.2: SYN on an established connection -> challenge ACK, connection lives on.
cat >"$WORK/hold.py" <<'PYEOF'
import socket, sys, time, os
s = socket.create_connection((sys.argv[1], 7), timeout=20)
print(s.getsockname()[1], flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
s.sendall(b"still-alive" * 100)
got = b""
while len(got) < 1100:
    b = s.recv(4096)
    if not b:
        break
    got += b
print("ok" if got == b"still-alive" * 100 else "bad", flush=True)
PYEOF
nst 40 python3 "$WORK/hold.py" $STACK_IP "$WORK/go" >"$WORK/hold.out" 2>&1 &
HOLD=$!
for _ in $(seq 1 100); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
PORT=$(head -1 "$WORK/hold.out")
nst 10 $RAW synchal $STACK_IP 7 "$PORT" >/dev/null
sleep 0.3
touch "$WORK/go"
wait $HOLD
check "connection survives a SYN on its 4-tuple" grep -q "^ok" "$WORK/hold.out"

stop_svc
check "service exited cleanly" grep -q "tcpsvc: exit" "$WORK/svc.out"
check "challenge ACK sent" test "$(counter TCP_CHALLENGE_ACKS)" -ge 1
for r in ETH_TYPE ARP_MALFORMED ARP_NOT_US ARP_OP IP_SHORT IP_VERSION IP_HLEN IP_LEN IP_CSUM IP_FRAG \
	IP_SRC IP_PROTO ICMP_SHORT ICMP_CSUM ICMP_TYPE TCP_SHORT TCP_HLEN TCP_CSUM TCP_OPT TCP_FLAGS TCP_NO_CONN; do
	check "counted under drop reason $r" test "$(counter "$r")" -ge 1
done
check "RST sent for a closed port" test "$(counter TCP_RST_SENT)" -ge 1
finish
