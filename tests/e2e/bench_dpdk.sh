#!/usr/bin/env bash
# sshterm-bench's DPDK transport: the load generator on sshterm's own TCP stack
# over net_memif, against the daemon at the other end of the memif. No kernel
# network is involved; both processes run in a private namespace anyway.
#   tests/e2e/bench_dpdk.sh [BUILD_DIR]
# shellcheck source=tests/e2e/lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"
daemon_init bench_dpdk "${1:-build}"
ADDR=198.18.1.2 # the daemon's memif address (known_hosts is written for it)
GENADDR=198.18.1.3
daemon_keys || exit 1
daemon_config "WorkerIdle sleep" "MaxStartups 100:30:200"
[ -x "$BIN/sshterm-bench" ] || { bad "build has sshterm-bench"; finish; }

EAL=("${EAL_SOCK[@]}")
SOCK="$T/memif.sock"
if start_daemon_socket "net_memif0,role=server,socket=$SOCK,socket-abstract=no" "$SOCK"; then
	ok "daemon up on net_memif"
else
	bad "daemon up on net_memif"
	finish
fi

# The generator's core: the other one where there are two.
GL=$(($(nproc) > 1 ? 1 : 0))
gen() { # mode [args...]; the generator's DPDK arguments go last
	timeout 90 ip netns exec "$NS" "$BIN/sshterm-bench" "$@" --dpdk "$GENADDR/24" "${EAL[@]}" \
		-m 512 --file-prefix "$DPDK_PREFIX_CHECK" -l "$GL" \
		--vdev="net_memif0,role=client,socket=$SOCK,socket-abstract=no" 2>>"$T/gen.err"
}
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>/dev/null; }
KH=(-i "$T/id_user" -o UserKnownHostsFile="$T/known_hosts")

# 1. handshakes
gen handshake -n 60 -c 8 --json "${KH[@]}" alice@$ADDR > "$T/hs.json"
rc=$?
check "handshake exit status" "$rc" 0
check "handshake: 60 done" "$(jget "$T/hs.json" 'd["handshakes"]')" 60
check "handshake: no failures" "$(jget "$T/hs.json" 'len(d["failures"])')" 0
check "handshake: transport dpdk" "$(jget "$T/hs.json" 'd["transport"]')" dpdk
check "handshake: host key verified" "$(jget "$T/hs.json" 'd["hostkey_verified"]')" True
r=$(jget "$T/hs.json" 'd["handshakes_per_s"] > 0 and d["latency_ms"]["p50"] > 0')
check "handshake: rate and latency reported" "$r" True
check "daemon saw 60 logins" "$(grep -c 'Accepted publickey for alice from 198.18.1.3' "$T/daemon.log")" 60

# 2. bulk down / up / echo, data checked by the generator
for d in down up echo; do
	gen bulk -d $d -b 8M --cipher aes128-gcm@openssh.com --json "${KH[@]}" alice@$ADDR > "$T/bk-$d.json"
	rc=$?
	check "bulk $d: exit status" "$rc" 0
	check "bulk $d: 8 MiB moved" "$(jget "$T/bk-$d.json" 'd["bytes"]')" $((8 << 20))
	check "bulk $d: no failures" "$(jget "$T/bk-$d.json" 'len(d["failures"])')" 0
done
gen bulk -d down -b 4M -c 3 --cipher chacha20-poly1305@openssh.com --json "${KH[@]}" alice@$ADDR > "$T/bk3.json"
check "bulk down, 3 sessions, chacha20: all bytes" "$(jget "$T/bk3.json" 'd["bytes"]')" $((12 << 20))

# 3. hold
gen hold -n 20 -t 1 --json "${KH[@]}" alice@$ADDR > "$T/hold.json"
check "hold: 20 sessions held" "$(jget "$T/hold.json" 'd["sessions"]')" 20

# 4. refusals reach the report, not a crash
gen handshake -n 3 --json -i "$T/id_user" -o UserKnownHostsFile="$T/wrong_known_hosts" \
	alice@$ADDR > "$T/wrong.json"
rc=$?
check "wrong host key: exit status 1" "$rc" 1
r=$(jget "$T/wrong.json" '[k for k in d["failures"]][0]')
case $r in *"host key verification failed"*) ok "wrong host key: reason" ;; *) bad "wrong host key: reason" "$r" ;; esac
gen handshake -n 2 --json -i "$T/id_other" -o UserKnownHostsFile="$T/known_hosts" alice@$ADDR > "$T/deny.json"
r=$(jget "$T/deny.json" '[k for k in d["failures"]][0]')
case $r in *"permission denied"*) ok "unauthorized key: permission denied" ;; *) bad "unauthorized key" "$r" ;; esac
gen handshake -n 2 --json -p 2222 --timeout 5 "${KH[@]}" alice@$ADDR > "$T/refused.json"
r=$(jget "$T/refused.json" '[k for k in d["failures"]][0]')
case $r in *refused*) ok "closed port: connection refused" ;; *) bad "closed port" "$r" ;; esac
gen handshake -n 1 --json --bogus "${KH[@]}" alice@$ADDR > /dev/null
check "bad option: usage error" "$?" 2

# 5. the daemon stayed healthy, and the generator printed its own dataplane counters
check "daemon alive" "$(kill -0 "$DPID" 2>/dev/null && echo yes)" yes
grep -q "worker0 rx_pkts=" "$T/gen.err" && ok "generator dataplane counters printed" ||
	bad "generator dataplane counters printed"
stop_daemon
finish
