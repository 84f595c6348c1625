#!/usr/bin/env bash
# sshterm-bench's SSH load generator (handshake, bulk, hold) end to end, over
# kernel sockets inside a private network namespace (198.18.0.0/15 only):
# against the sshterm daemon on a DPDK TAP port (198.18.0.2:22) and against
# OpenSSH sshd on the namespace's side of the TAP (198.18.0.1:2222).
#   tests/e2e/bench_loadgen.sh [BUILD_DIR]
# Covers: a handshake run on 2 threads with --json parsed, bulk up/down/echo
# with the data checks, hold, the three host key policies (known_hosts,
# --fingerprint, --insecure), a wrong host key, --allow-fail, an unauthorized
# key, a refused connection, usage errors, and handshake and bulk down against
# sshd. Prints "bench_loadgen: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init bench_loadgen "${1:-build}"
if [ ! -x "$BIN/sshterm-bench" ]; then
	echo "missing $BIN/sshterm-bench (run make first)"
	echo "bench_loadgen: 0 passed, 1 failed"
	exit 1
fi

daemon_keys || exit 1
# The hold opens its sessions at once: more than MaxStartups' default 10.
daemon_config "MaxStartups 400"
if ! start_daemon; then
	cat "$T/daemon.log"
	bad "daemon starts"
	finish
fi
ok "daemon starts on a TAP port in namespace $NS"

# The load generator in the namespace, bounded in time; key and known_hosts of the test.
lg() { timeout 60 ip netns exec "$NS" "$BIN/sshterm-bench" "$@"; }
KH=(-i "$T/id_user" -o UserKnownHostsFile="$T/known_hosts" --timeout 20)
# jcheck NAME FILE PYTHON-EXPR: the expression over d (the JSON object) must be true.
jcheck() {
	if /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    print("    json:", json.dumps(d)[:600])
    sys.exit(1)
' "$2" "$3"; then ok "$1"; else bad "$1" "$3"; fi
}
# lgrun NAME WANT-RC OUT ARGS...: runs the generator, output to $T/OUT, checks the exit status.
lgrun() {
	local name=$1 want=$2 out=$3
	shift 3
	lg "$@" >"$T/$out" 2>"$T/$out.err"
	local rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$name (exit $rc)"
	else
		bad "$name" "exit $rc, want $want: $(head -c 300 "$T/$out.err") $(head -c 300 "$T/$out")"
	fi
}

# ---- handshake ----
lgrun "handshake -n 20 -c 4 -j 2" 0 hs.json handshake -n 20 -c 4 -j 2 --json "${KH[@]}" alice@$ADDR
jcheck "handshake JSON: 20 handshakes, no failure, verified" "$T/hs.json" \
	'd["mode"] == "handshake" and d["handshakes"] == 20 and d["failures"] == {} and d["hostkey_verified"] is True and d["threads"] == 2 and d["concurrency"] == 4'
jcheck "handshake JSON: rate, latency percentiles, negotiated algorithms, CPU" "$T/hs.json" \
	'd["handshakes_per_s"] > 0 and 0 < d["latency_ms"]["p50"] <= d["latency_ms"]["p90"] <= d["latency_ms"]["p99"] <= d["latency_ms"]["max"] and d["kex"] != "" and d["cipher"] != "" and d["cpu_s"] > 0 and d["wall_s"] > 0'
echo "    ($(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f handshakes/s, p50 %.1f ms, %s %s" % (d["handshakes_per_s"], d["latency_ms"]["p50"], d["kex"], d["cipher"]))' "$T/hs.json" 2>/dev/null))"

lgrun "handshake -t 1 (human report)" 0 hst.txt handshake -t 1 -c 2 "${KH[@]}" -l alice $ADDR
grep -q "handshakes/s" "$T/hst.txt" && grep -q "failures         none" "$T/hst.txt" &&
	ok "human report: handshakes/s and no failures" || bad "human report" "$(cat "$T/hst.txt")"

lgrun "handshake --cipher chacha20-poly1305 --kex ecdh-sha2-nistp256" 0 hsc.json handshake -n 4 --json \
	--cipher chacha20-poly1305@openssh.com --kex ecdh-sha2-nistp256 "${KH[@]}" alice@$ADDR
jcheck "the algorithms asked for are negotiated" "$T/hsc.json" \
	'd["cipher"] == "chacha20-poly1305@openssh.com" and d["kex"] == "ecdh-sha2-nistp256" and d["handshakes"] == 4'

# The hybrid post-quantum kex methods, with the project's own client engine (OpenSSH 9.2 has no
# mlkem768x25519-sha256): handshakes, then bytes both ways (bulk echo, checked) under each.
for k in mlkem768x25519-sha256 sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com; do
	lgrun "handshake --kex $k" 0 "hs_$k.json" handshake -n 4 -c 2 --json --kex "$k" "${KH[@]}" alice@$ADDR
	jcheck "$k negotiated, 4 handshakes, host key verified" "$T/hs_$k.json" \
		"d['kex'] == '$k' and d['handshakes'] == 4 and d['failures'] == {} and d['hostkey_verified'] is True"
done
lgrun "bulk -d echo --kex mlkem768x25519-sha256" 0 bulk_mlkem.json bulk -d echo -b 1M --json \
	--kex mlkem768x25519-sha256 "${KH[@]}" alice@$ADDR
jcheck "bulk echo under mlkem768x25519-sha256: 1 MiB both ways, checked" "$T/bulk_mlkem.json" \
	"d['kex'] == 'mlkem768x25519-sha256' and d['completed'] == 1 and d['bytes'] == 1048576 and d['failures'] == {} and d['verify'] is True"

fp=$(ssh-keygen -lf "$T/host_ed25519.pub" | cut -d' ' -f2)
lgrun "handshake --fingerprint (ed25519 host key)" 0 hsf.json handshake -n 3 --json -i "$T/id_user" \
	--hostkey-alg ssh-ed25519 --fingerprint "$fp" alice@$ADDR
jcheck "fingerprint policy: verified" "$T/hsf.json" \
	'd["hostkey_verified"] is True and d["hostkey_policy"] == "fingerprint" and d["handshakes"] == 3'

lgrun "handshake --insecure" 0 hsi.txt handshake -n 2 -i "$T/id_user" --insecure alice@$ADDR
grep -q "host key         NOT VERIFIED (--insecure)" "$T/hsi.txt" && ok "--insecure is printed" ||
	bad "--insecure is printed" "$(cat "$T/hsi.txt")"
lgrun "handshake -o StrictHostKeyChecking=no --json" 0 hsi.json handshake -n 2 --json -i "$T/id_user" \
	-o StrictHostKeyChecking=no alice@$ADDR
jcheck "insecure: hostkey_verified false" "$T/hsi.json" 'd["hostkey_verified"] is False'

# ---- failures ----
lgrun "a wrong known_hosts key fails" 1 wrong.txt handshake -n 2 -i "$T/id_user" \
	-o UserKnownHostsFile="$T/wrong_known_hosts" --timeout 20 alice@$ADDR
grep -q "host key verification failed" "$T/wrong.txt" && ok "report names host key verification failed" ||
	bad "report names host key verification failed" "$(cat "$T/wrong.txt")"
lgrun "--allow-fail makes it exit 0" 0 wrong.json handshake -n 2 --json --allow-fail -i "$T/id_user" \
	-o UserKnownHostsFile="$T/wrong_known_hosts" --timeout 20 alice@$ADDR
jcheck "failures: 2 x host key verification failed" "$T/wrong.json" \
	'd["failures"] == {"host key verification failed": 2} and d["handshakes"] == 0'

lgrun "an unauthorized key fails" 1 denied.json handshake -n 2 --json -i "$T/id_other" \
	-o UserKnownHostsFile="$T/known_hosts" --timeout 20 alice@$ADDR
jcheck "failures: permission denied" "$T/denied.json" 'd["failures"].get("permission denied") == 2'

# Nothing listens on the namespace's own address at port 2299: the kernel refuses.
lgrun "a closed port fails" 1 refused.json handshake -n 3 -c 3 --json -p 2299 "${KH[@]}" alice@$PEER
jcheck "failures: connection refused" "$T/refused.json" 'd["failures"] == {"connection refused": 3}'

# Hostile or broken servers on the namespace's side: each connection fails with a reason.
cat > "$T/hostile.py" <<'EOF'
import os, socket, sys, threading, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(64)
s.settimeout(120)
def serve(c):
    try:
        if mode == "garbage":
            c.sendall(b"SSH-2.0-hostile\r\n" + os.urandom(65536))
        time.sleep(20)
    except OSError:
        pass
    c.close()
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
nsx python3 "$T/hostile.py" silent $PEER 2301 &
PIDS+=($!)
nsx python3 "$T/hostile.py" garbage $PEER 2302 &
PIDS+=($!)
for p in 2301 2302; do
	for _ in $(seq 1 50); do
		nsx python3 -c "import socket; socket.create_connection(('$PEER', $p), timeout=1)" 2>/dev/null && break
		sleep 0.1
	done
done
lgrun "a silent server times out (--allow-fail)" 0 silent.json handshake -n 2 -c 2 --json --allow-fail \
	--timeout 1 --insecure -i "$T/id_user" -p 2301 alice@$PEER
jcheck "failures: timeout" "$T/silent.json" 'd["failures"] == {"timeout": 2}'
lgrun "garbage after the version line fails each connection" 1 garbage.json handshake -n 3 -c 3 --json \
	--timeout 5 --insecure -i "$T/id_user" -p 2302 alice@$PEER
jcheck "garbage: 3 failures with a reason" "$T/garbage.json" \
	'd["failed"] == 3 and sum(d["failures"].values()) == 3 and "internal error" not in d["failures"]'

lgrun "usage error: unknown option" 2 usage.txt handshake --frobnicate alice@$ADDR
lgrun "usage error: bad -b" 2 usage2.txt bulk -b 12X "${KH[@]}" alice@$ADDR
grep -q "must be a positive byte count" "$T/usage2.txt.err" && ok "usage error message is clear" ||
	bad "usage error message" "$(cat "$T/usage2.txt.err")"
lgrun "usage error: two host key policies" 2 usage3.txt handshake --insecure --fingerprint "$fp" alice@$ADDR

# ---- bulk ----
MB4=4194304
for d in up down echo; do
	lgrun "bulk -d $d -b 4M -c 2" 0 bulk_$d.json bulk -d $d -b 4M -c 2 -j 2 --json "${KH[@]}" alice@$ADDR
	jcheck "bulk $d: 2 sessions, 8 MiB, checked" "$T/bulk_$d.json" \
		"d['mode'] == 'bulk' and d['completed'] == 2 and d['bytes'] == 2 * $MB4 and d['failures'] == {} and d['gbit_per_s'] > 0 and d['per_session_gbit_per_s'] > 0 and d['verify'] is True"
done
echo "    ($(for d in up down echo; do /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%s %.2f Gbit/s" % (d["direction"], d["gbit_per_s"]))' "$T/bulk_$d.json" 2>/dev/null; done | paste -sd, -))"
lgrun "bulk -n 4 -c 2 (4 sessions, 2 at a time)" 0 bulk_n.json bulk -n 4 -c 2 -b 1M --json "${KH[@]}" alice@$ADDR
jcheck "bulk -n 4: 4 sessions" "$T/bulk_n.json" "d['completed'] == 4 and d['bytes'] == 4 * 1048576"
lgrun "bulk down 1 MiB, human report" 0 bulk_h.txt bulk -d down -b 1M "${KH[@]}" alice@$ADDR
grep -q "Gbit/s total" "$T/bulk_h.txt" && ok "human bulk report" || bad "human bulk report" "$(cat "$T/bulk_h.txt")"
# A stream that is not the source stream fails the check: ask for 1 MiB, get the echo of nothing.
lgrun "bulk down: short data fails the check" 1 bulk_short.json bulk -d down -b 1M --json "${KH[@]}" \
	alice@$ADDR "source 1000"
jcheck "failures: data check failed" "$T/bulk_short.json" 'd["failures"] == {"data check failed": 1}'

# ---- hold ----
t0=$SECONDS
lgrun "hold 20 sessions for 2 s" 0 hold.json hold -c 20 -t 2 -j 2 --json "${KH[@]}" alice@$ADDR
jcheck "hold: 20 established, no failure, RSS reported" "$T/hold.json" \
	'd["mode"] == "hold" and d["sessions"] == 20 and d["established"] == 20 and d["failures"] == {} and d["rss_mib"] > 0 and d["wall_s"] >= 2'
[ $((SECONDS - t0)) -lt 20 ] && ok "hold ends in time" || bad "hold ends in time" "$((SECONDS - t0)) s"

# ---- OpenSSH sshd on 198.18.0.1:2222 ----
if [ -x /usr/sbin/sshd ]; then
	cp "$T/id_user.pub" "$T/ak/root"
	cat > "$T/sshd_config" <<-EOF
		Port 2222
		ListenAddress $PEER
		HostKey $T/host_ed25519
		AuthorizedKeysFile $T/ak/%u
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		PidFile $T/sshd.pid
		StrictModes no
		MaxStartups 100
		RekeyLimit 1M
	EOF
	V6=0
	nsx python3 -c "import socket; socket.socket(socket.AF_INET6).bind(('::1', 0))" 2>/dev/null && V6=1
	if [ $V6 = 1 ]; then echo "ListenAddress ::1" >> "$T/sshd_config"; fi
	hk=$(cut -d' ' -f1,2 "$T/host_ed25519.pub")
	printf '[%s]:2222 %s\n[::1]:2222 %s\n' "$PEER" "$hk" "$hk" > "$T/sshd_known_hosts"
	mkdir -p /run/sshd
	ip netns exec "$NS" /usr/sbin/sshd -D -e -f "$T/sshd_config" </dev/null >"$T/sshd.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 50); do
		nsx python3 -c "import socket; socket.create_connection(('$PEER', 2222), timeout=1)" 2>/dev/null && break
		sleep 0.1
	done
	SK=(-i "$T/id_user" -o UserKnownHostsFile="$T/sshd_known_hosts" --timeout 20 -p 2222)
	lgrun "sshd: handshake -n 10 -c 2 true" 0 sshd_hs.json handshake -n 10 -c 2 --json "${SK[@]}" root@$PEER true
	jcheck "sshd: 10 handshakes" "$T/sshd_hs.json" \
		'd["handshakes"] == 10 and d["failures"] == {} and "OpenSSH" in d["server_version"]'
	lgrun "sshd: a failing command counts as a failure" 1 sshd_false.json handshake -n 2 --json "${SK[@]}" \
		root@$PEER false
	jcheck "failures: command failed" "$T/sshd_false.json" 'd["failures"] == {"command failed": 2}'
	lgrun "sshd: bulk down 2 MiB through openssl enc" 0 sshd_down.json bulk -d down -b 2M --json "${SK[@]}" \
		root@$PEER "head -c 2097152 /dev/zero | openssl enc -aes-128-ctr -K 00000000000000000000000000000000 -iv 00000000000000000000000000000000"
	jcheck "sshd: bulk down checked, through server rekeys (RekeyLimit 1M)" "$T/sshd_down.json" \
		"d['completed'] == 1 and d['bytes'] == 2097152 and d['failures'] == {} and d['rekeys_first_session'] >= 1"
	lgrun "sshd: bulk down of the wrong stream fails the check" 1 sshd_zero.json bulk -d down -b 1M --json \
		"${SK[@]}" root@$PEER "head -c 1048576 /dev/zero"
	jcheck "failures: data check failed at byte 0" "$T/sshd_zero.json" \
		'd["failures"] == {"data check failed": 1} and d["failure_examples"]["data check failed"].endswith("at byte 0")'
	if [ $V6 = 1 ]; then
		lgrun "sshd over IPv6 (::1)" 0 sshd_v6.json handshake -n 3 --json "${SK[@]}" root@::1 true
		jcheck "IPv6: 3 handshakes" "$T/sshd_v6.json" 'd["handshakes"] == 3 and d["host"] == "::1"'
	else
		echo "    (no IPv6 loopback in the namespace: IPv6 check skipped)"
	fi
	lgrun "sshd: bulk echo 2 MiB through cat" 0 sshd_echo.json bulk -d echo -b 2M -c 2 --json "${SK[@]}" \
		root@$PEER cat
	jcheck "sshd: bulk echo checked" "$T/sshd_echo.json" "d['completed'] == 2 and d['failures'] == {}"
else
	bad "OpenSSH sshd" "/usr/sbin/sshd missing (scripts/install-deps.sh installs openssh-server)"
fi

ip netns exec "$NS" true && kill -0 "$DPID" 2>/dev/null && ok "the daemon is still running" ||
	bad "the daemon is still running"
finish
