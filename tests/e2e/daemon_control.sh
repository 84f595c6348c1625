#!/usr/bin/env bash
# The control plane's threads, ownership and per-source limits
# (control/ctlplane.h, ctl_shard.h, srclimit.h).
#   tests/e2e/daemon_control.sh [BUILD_DIR]
# Checks:
#  1. ControlThreads 2 on two workers (a two-queue kernel TAP): both threads
#     run, handshakes land on both workers, bad ControlThreads/ControlCpus
#     values are start-up errors.
#  2. Stress, on the ASan+UBSan build of the daemon (BUILD_DIR-asan, made here
#     when missing): reload, kill, stats, telemetry and sessions --json (valid
#     JSON, every row) in a loop while hundreds of sessions come and go; the
#     daemon answers throughout, stops cleanly, and ASan reports nothing.
#  3. PerSourcePenalties: a source that fails authentication is refused for
#     its penalty time (counted, logged as sshd does), another source is not,
#     and the first one gets in again once the penalty expired.
#  4. Floods: a key-exchange flood (random 4096-bit DH values, which cost the
#     flooder nothing) from 8 sources and a pre-auth slowloris, while a canary
#     streams 256 MiB through echo: the canary's bytes are exact, legitimate
#     logins succeed, the flood is held back (counters), and the canary's
#     throughput with and without the flood is reported (not asserted). A
#     session sending 32 KiB IGNOREs for the control plane at the same time
#     loses no message to a full ring (its credit holds its own input).
# shellcheck source=tests/e2e/lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"
B=${1:-build}
daemon_init daemon_control "$B"
daemon_keys || exit 1
DAEMON_VTAP=1
FLOOD="$ROOT/tests/e2e/kexflood.py"
EALT=(--no-huge -m 256 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" -l 0)

# ---- 1. configuration errors ----
daemon_config "ControlThreads 2"
for v in "ControlThreads 0" "ControlThreads 65" "ControlThreads x" "ControlCpus 3-1" \
	"ControlCpus 1,,2" "ControlCpus -1" "ControlCpus 1024"; do
	{ echo "$v"; grep -v '^Control[TC]' "$T/sshterm.conf"; } > "$T/bad.conf"
	if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/bad.conf" -t >"$T/bad.out" 2>&1; then
		bad "'$v' refused"
	else
		grep -q "bad.conf:1: ${v%% *}" "$T/bad.out" && ok "'$v' refused, with file:line" ||
			bad "'$v' message" "$(head -2 "$T/bad.out")"
	fi
done

# ---- 1. two control threads on two workers ----
LCORES=0,1 start_daemon || { bad "daemon starts with 2 workers and ControlThreads 2"; finish; }
grep -q "(2 workers, 2 control threads)" "$T/daemon.log" && ok "two workers, two control threads" ||
	bad "two control threads" "$(grep listening "$T/daemon.log")"
n=$(ls /proc/"$DPID"/task | while read -r t; do cat /proc/"$DPID"/task/"$t"/comm; done | grep -c '^st-ctl-')
check "threads st-ctl-0 and st-ctl-1 exist" "$n" 2
ctl status --json | /usr/bin/python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["control_threads"] != 2)' &&
	ok "status --json says control_threads 2" || bad "status control_threads"
KH=(-o UserKnownHostsFile="$T/known_hosts" -i "$T/id_user")
timeout 120 ip netns exec "$NS" "$BIN/sshterm-bench" handshake -n 64 -c 8 "${KH[@]}" --json \
	alice@$ADDR > "$T/hs.json" 2>"$T/hs.err"
ok_n=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["handshakes"] if d["failures"] == {} else -1)' "$T/hs.json" 2>/dev/null)
check "64 handshakes over two shards" "$ok_n" 64
w0=$(daemon_stat 'workers.0.counters.TCP_ACCEPTED' 2>/dev/null || echo 0)
w1=$(daemon_stat 'workers.1.counters.TCP_ACCEPTED' 2>/dev/null || echo 0)
echo "   connections per worker (so per control thread): $w0 / $w1"
[ "$w0" -gt 0 ] && [ "$w1" -gt 0 ] && ok "both workers (and so both shards) took connections" ||
	bad "both shards used" "$w0 / $w1"
kex=$(daemon_stat control.KEX_DONE)
[ "$kex" -ge 64 ] && ok "control counters summed over the shards (KEX_DONE $kex)" || bad "KEX_DONE" "$kex"
stop_daemon

# ---- 2. stress under ASan ----
AB="$ROOT/$B-asan"
if [ ! -x "$AB/sshterm" ] || [ "$AB/sshterm" -ot "$BIN/sshterm" ]; then
	make -C "$ROOT" -s B="$B-asan" \
		OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		"$B-asan/sshterm" "$B-asan/sshtermctl" >"$T/asan-build.log" 2>&1 ||
		bad "ASan build of the daemon" "$(tail -3 "$T/asan-build.log")"
fi
if [ -x "$AB/sshterm" ]; then
	daemon_config "ControlThreads 2" "MaxStartups 200:30:400" "PerSourcePenalties no" "LoginGraceTime 5"
	SAVED_BIN=$BIN
	BIN=$AB
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
	if LCORES=0,1 start_daemon; then
		ok "ASan daemon starts (2 workers, 2 control threads)"
		timeout 150 ip netns exec "$NS" "$SAVED_BIN/sshterm-bench" handshake -t 40 -c 12 "${KH[@]}" \
			--allow-fail alice@$ADDR >"$T/st-hs.out" 2>&1 &
		HS=$!
		timeout 150 ip netns exec "$NS" "$SAVED_BIN/sshterm-bench" hold -n 150 -t 15 "${KH[@]}" \
			--allow-fail alice@$ADDR >"$T/st-hold.out" 2>&1 &
		HOLD=$!
		PIDS+=($HS $HOLD)
		fails=0 rounds=0 rows=0
		: > "$T/st-fail"
		failed() { fails=$((fails + 1)); echo "round $rounds: $1" >> "$T/st-fail"; }
		end=$((SECONDS + 35))
		while [ $SECONDS -lt $end ] && [ $rounds -lt 400 ]; do
			rounds=$((rounds + 1))
			ctl stats --json >/dev/null 2>>"$T/st-fail" || failed stats
			ctl status >/dev/null 2>>"$T/st-fail" || failed status
			if ctl sessions --json > "$T/s.json" 2>>"$T/st-fail"; then
				r=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/s.json" 2>/dev/null) ||
					{ failed "sessions JSON"; r=0; }
				[ "$r" -gt "$rows" ] && rows=$r
			else
				failed sessions
			fi
			if [ $((rounds % 10)) -eq 0 ]; then
				ctl reload >/dev/null 2>>"$T/st-fail" || failed reload
				kill -HUP "$DPID"
				id=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[0]["id"] if d else "")' "$T/s.json" 2>/dev/null)
				[ -n "$id" ] && { ctl kill "$id" >/dev/null 2>&1 || true; }
				echo '/sshterm/status' | timeout 5 python3 -c '
import socket,sys,glob
p=glob.glob("/var/run/dpdk/'"$DPDK_PREFIX"'/dpdk_telemetry.v2")
if not p: sys.exit(0)
s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(p[0]); s.recv(4096)
for c in ("/sshterm/status","/sshterm/worker,0","/sshterm/control","/sshterm/crypto"):
    s.send(c.encode()); s.recv(65536)' 2>>"$T/st-fail" || failed telemetry
			fi
		done
		wait $HS $HOLD 2>/dev/null
		check "operator commands answered in $rounds rounds while sessions came and went" "$fails" 0
		[ "$fails" -eq 0 ] || head -5 "$T/st-fail"
		[ "$rows" -ge 100 ] && ok "sessions --json valid with up to $rows rows" || bad "sessions --json rows" "$rows"
		echo "   handshake load: $(tail -1 "$T/st-hs.out")"
		echo "   hold load: $(tail -1 "$T/st-hold.out")"
		kill -0 "$DPID" 2>/dev/null && ok "ASan daemon alive after the stress" || bad "ASan daemon alive"
		stop_daemon
		if grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$T/daemon.log"; then
			bad "no ASan/UBSan report" "$(grep -m3 -E 'ERROR: AddressSanitizer|runtime error:' "$T/daemon.log")"
		else
			ok "no ASan/UBSan report in the daemon log"
		fi
	else
		bad "ASan daemon starts" "$(tail -5 "$T/daemon.log")"
	fi
	BIN=$SAVED_BIN
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# ---- 3. PerSourcePenalties ----
: > "$T/daemon.log"
daemon_config "PerSourcePenalties authfail:4s noauth:1s min:5s max:30s" "MaxAuthTries 1"
start_daemon || { bad "daemon starts with PerSourcePenalties"; finish; }
nsx ip addr add 198.18.0.3/24 dev "$TAP"
nsx ip addr add 198.18.0.4/24 dev "$TAP"
login() { # source address -> prints "hello" on success
	echo hello | TMO=20 sshc alice "$T/id_user" -b "$1" echo 2>/dev/null
}
check "a login from 198.18.0.3 before any penalty" "$(login 198.18.0.3)" hello
for _ in 1 2 3; do
	echo x | TMO=20 sshc alice "$T/id_other" -b 198.18.0.3 echo >/dev/null 2>&1
done
grep -q "ipv4: activating 198.18.0.3/32 penalty of [0-9]* seconds for penalty: failed authentication" \
	"$T/daemon.log" && ok "penalty activated and logged as sshd does" ||
	bad "penalty activation line" "$(grep -i penalty "$T/daemon.log" | tail -2)"
check "the penalised source is refused, even with a good key" "$(login 198.18.0.3)" ""
grep -q "drop connection #[0-9]* from \[198.18.0.3\]:[0-9]* on \[$ADDR\]:22 penalty: failed authentication" \
	"$T/daemon.log" && ok "its drop line names the penalty" || bad "drop line" "$(grep drop "$T/daemon.log" | tail -1)"
check "another source is not affected" "$(login 198.18.0.4)" hello
r=$(daemon_stat per_source.SRC_REFUSED_PENALTY)
[ "$r" -ge 1 ] && ok "SRC_REFUSED_PENALTY counted ($r)" || bad "SRC_REFUSED_PENALTY" "$r"
sleep 13
check "the source gets in again once its penalty expired" "$(login 198.18.0.3)" hello
stop_daemon

# ---- 4. floods next to a canary ----
: > "$T/daemon.log"
daemon_config "MaxStartups 100:30:200" "PerSourceMaxStartups 10" "LoginGraceTime 8" \
	"PerSourceKexRate 20:200" "WorkerIdle sleep"
start_daemon || { bad "daemon starts for the flood test"; finish; }
for i in $(seq 50 57) 60 61; do nsx ip addr add 198.18.0.$i/24 dev "$TAP"; done
srcs=$(seq -s, -f '198.18.0.%g' 50 57)
head -c $((256 << 20)) /dev/urandom > "$T/canary"
want=$(sha256sum < "$T/canary" | cut -d' ' -f1)
canary() { # -> "sha seconds"
	local t0 t1 s
	t0=$(date +%s.%N)
	s=$(TMO=300 sshc alice "$T/id_user" echo < "$T/canary" | sha256sum | cut -d' ' -f1)
	t1=$(date +%s.%N)
	echo "$s $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}
read -r s quiet <<<"$(canary)"
check "canary 256 MiB through echo, no flood" "$s" "$want"
nsx python3 "$FLOOD" kex $ADDR 22 "$srcs" 8 40 4000 > "$T/flood.out" 2>&1 &
FP=$!
nsx python3 "$FLOOD" slowloris $ADDR 22 198.18.0.60 40 30 > "$T/loris.out" 2>&1 &
LP=$!
# One session sending 32 KiB IGNOREs, each for the control plane: its credit
# holds its input whenever the control threads fall behind.
nsx python3 "$FLOOD" ignore $ADDR 22 198.18.0.61 8000 32768 30 > "$T/ign.out" 2>&1 &
IP=$!
PIDS+=($FP $LP $IP)
sleep 3
read -r s busy <<<"$(canary)"
check "canary 256 MiB through echo during the floods, exact" "$s" "$want"
okl=0
for _ in 1 2 3 4 5; do
	[ "$(echo hi | TMO=30 sshc alice "$T/id_user" echo 2>/dev/null)" = hi ] && okl=$((okl + 1))
done
check "legitimate logins during the floods" "$okl" 5
wait $FP $LP $IP 2>/dev/null
echo "   kex flood: $(cat "$T/flood.out")"
echo "   slowloris: $(cat "$T/loris.out")"
echo "   IGNORE flood: $(cat "$T/ign.out"), input held for credit $(daemon_stat 'workers.*.app.UP_CREDIT_HELD') times"
echo "   canary through echo: ${quiet} s alone, ${busy} s under the floods"
st=$(daemon_stat per_source.SRC_REFUSED_STARTUPS)
[ "$st" -ge 1 ] && ok "slowloris held to PerSourceMaxStartups (SRC_REFUSED_STARTUPS $st)" ||
	bad "PerSourceMaxStartups" "$st"
held=$(($(daemon_stat per_source.SRC_KEX_DEFERRED) + $(daemon_stat per_source.SRC_KEX_REFUSED) + \
	$(daemon_stat per_source.SRC_REFUSED_PENALTY)))
[ "$held" -ge 1 ] && ok "the key-exchange flood was held back (deferred, refused or penalised: $held)" ||
	bad "kex flood held back" "$held"

stop_daemon
finish
