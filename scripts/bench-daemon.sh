#!/usr/bin/env bash
# sshterm against OpenSSH sshd, measured side by side with one load generator
# (sshterm-bench), in one run and one network namespace. A benchmark: nothing
# passes or fails.
#
#   scripts/bench-daemon.sh [BUILD_DIR] [REPS] [SECONDS] [BULK_MIB] [HOLD_COUNTS]
#     REPS         repetitions of every point; medians are reported (3)
#     SECONDS      length of each handshake run (5)
#     BULK_MIB     bytes of each bulk transfer, MiB (1024)
#     HOLD_COUNTS  held-session counts for the memory figures ("1000 10000"; 100000 works:
#                  several source addresses and generator processes, below)
#   Environment: SERVERS (a subset of "sshterm/tap sshterm/vtap sshterm/memif sshd"), CONCS (handshake
#     concurrencies, "1 16 64"), CRYPTO_BACKEND (sshterm's CryptoBackend, e.g. "cryptodev
#     crypto_aesni_gcm0"; default evp), CIPHERS and DIRS (the bulk points: "aes128-gcm@openssh.com
#     chacha20-poly1305@openssh.com" and "up down"; DIRS may add "echo": BULK_MIB each way through
#     sshterm's echo or sshd's `cat`, per byte echoed). Bulk also prints the workers' cycles per byte split into PMD
#     (rx/tx bursts), SSH layer, record crypto, the service (source/sink) and TCP/rest
#     (sshtermctl stats --json). CTL_CPU=N puts sshterm's control thread on CPU N
#     (ControlCpus) instead of the worker's CPU.
#
# Servers, all in the namespace st-bench-PID:
#   sshterm/tap    sshterm on DPDK's net_tap at 198.18.0.2; load over kernel sockets
#   sshterm/vtap   sshterm on its own kernel TAP port (TapInterface: virtio-net headers, whole
#                  TSO/GSO packets) at 198.18.3.2, the demo's port; load over kernel sockets
#   sshterm/memif  a second sshterm on net_memif at 198.18.1.2; load from the generator's
#                  own DPDK TCP stack on the other end of the memif (no kernel in the path)
#   sshd           OpenSSH sshd on the kernel side of the TAP, 198.18.0.1:2222
# On a machine with N cores the servers run on core 0 and the generator on the others
# (taskset), so a server's CPU is never shared with the load.
#
# Server CPU:
#   sshd     the CPU of the listener and of every process it starts: a cpuacct cgroup made for
#            the run (cpuacct.usage), else utime+stime+cutime+cstime from /proc/PID/stat
#            (which misses session processes that are not reaped up the tree);
#   sshterm  the control threads' CPU (/proc/PID/task/*/comm = st-ctl-K, st-admin) plus the
#            workers' busy TSC cycles from `sshtermctl stats --json`, converted to seconds.
# Worker busy share ("wrk busy"): the workers' busy TSC cycles over the run's wall time; near
# 100% means the server, not the generator, was the limit.
# Memory per held session:
#   sshd     the growth of the summed PSS (smaps_rollup) of all sshd processes;
#   sshterm  the growth of VmRSS (with --no-huge the DPDK heap is ordinary memory, so RSS
#            includes the DPDK memory in use), and its whole VmRSS while the sessions are held
#            (that includes the slot and TCP tables, preallocated for the largest count, and
#            the mbuf pools).
#   The generator binds its connections round-robin to NSRC local addresses (--source), so that
#   100,000 sessions to one server address and port do not run out of local ports: 198.18.0.16
#   onwards on the namespace's side of the TAP, one per 20,000 sessions of the largest count,
#   with the namespace's ip_local_port_range widened to 10000-65535. A count larger than the
#   open-file limit allows one process (ulimit -n, less 1,024) is split over several generator
#   processes, each holding its share.
set -eu
B=${1:-build}
REPS=${2:-3}
SECS=${3:-5}
MIB=${4:-1024}
HOLDS=${5:-"1000 10000"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$B"
NS=st-bench-$$
TAP=stb$$
T=$(mktemp -d /tmp/sshterm-bench.XXXXXX)
PY=/usr/bin/python3
DPID=
VPID=
MPID=
SPID=
CG=
# The login user: a system account with /bin/sh, made for the run. sshd runs every command
# through the user's shell, and root's bash would read ~/.bashrc for each one (bash does when
# started by sshd); that would measure the shell start-up, not the server.
BUSER=stbench
MADE_USER=
cleanup() {
	for p in $DPID $VPID $MPID $SPID; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 1
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
	for _ in $(seq 1 50); do [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break; sleep 0.1; done
	ip netns del "$NS" 2>/dev/null || true
	[ -n "$MADE_USER" ] && userdel "$BUSER" 2>/dev/null
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$T" /var/run/dpdk/stbd$$ /var/run/dpdk/stbm$$ /var/run/dpdk/stbg$$ /var/run/dpdk/stbv$$
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NCPU=$(nproc)
SRV_CPU=0
GEN_CPUS=1-$((NCPU - 1))
# CTL_CPU=N: sshterm's control thread on CPU N (ControlCpus), its process allowed there too;
# by default it shares the worker's CPU (the process is confined to SRV_CPU).
SRV_SET=$SRV_CPU${CTL_CPU:+,$CTL_CPU}
[ "$NCPU" -ge 2 ] || GEN_CPUS=0
GEN_LCORE=$((NCPU - 1))
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if ! id "$BUSER" >/dev/null 2>&1; then
	useradd --system --shell /bin/sh --home-dir /nonexistent --no-create-home -p '*' "$BUSER"
	MADE_USER=1
fi
ssh-keygen -q -t ed25519 -N '' -f "$T/host"
ssh-keygen -q -t ed25519 -N '' -f "$T/user"
mkdir -p "$T/ak" /run/sshd
cp "$T/user.pub" "$T/ak/$BUSER"
chmod 755 "$T" "$T/ak" # sshd reads authorized_keys as the user
chmod 644 "$T/ak/$BUSER"
SERVERS=${SERVERS:-"sshterm/tap sshterm/vtap sshterm/memif sshd"} # a subset may be named in the environment
for a in 198.18.0.2 198.18.1.2 198.18.3.2; do
	cat > "$T/sshterm-$a.conf" <<EOF
Address $a/24
HostKey $T/host
AuthorizedKeysFile $T/ak/%u
ControlSocket $T/ctl-$a.sock
MaxStartups 1000:30:2000
WorkerIdle sleep
EOF
	[ -n "${CTL_CPU:-}" ] && echo "ControlCpus $CTL_CPU" >> "$T/sshterm-$a.conf"
	# CRYPTO_BACKEND="cryptodev crypto_aesni_gcm0" runs sshterm's record crypto on a cryptodev
	[ -n "${CRYPTO_BACKEND:-}" ] && echo "CryptoBackend $CRYPTO_BACKEND" >> "$T/sshterm-$a.conf"
done
VTAP=stv$$
echo "TapInterface $VTAP" >> "$T/sshterm-198.18.3.2.conf"
cat > "$T/sshd_config" <<EOF
Port 2222
ListenAddress 198.18.0.1
HostKey $T/host
AuthorizedKeysFile $T/ak/%u
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $T/sshd.pid
StrictModes no
MaxStartups 1000:30:2000
MaxSessions 10
LogLevel ERROR
EOF
HK=$(cut -d' ' -f1,2 "$T/host.pub")
printf '198.18.0.2 %s\n198.18.1.2 %s\n198.18.3.2 %s\n[198.18.0.1]:2222 %s\n' "$HK" "$HK" "$HK" "$HK" \
	> "$T/known_hosts"

MAXH=$(for h in $HOLDS; do echo "$h"; done | sort -n | tail -1)
MAXH=${MAXH:-0}
MAXS=$((MAXH + 512))
# DPDK memory of the TAP daemon: its tables take about 12 KiB per slot, the sessions what they
# hold; with --no-huge only the pages in use count, so be generous (48 KiB a slot, 4 GiB at least).
DMEM=$((2048 + MAXS * 48 / 1024))
[ "$DMEM" -ge 4096 ] || DMEM=4096
# Local source addresses for hold: one per 20,000 sessions of the largest count (at most 64).
NSRC=$((MAXH / 20000 + 1))
[ "$NSRC" -le 64 ] || NSRC=64
SRC_LO=198.18.0.16
SRC_HI=198.18.0.$((16 + NSRC - 1))
EAL="--no-huge --no-pci --no-shconf --no-telemetry --log-level=lib.eal:error"
ip netns add "$NS"
ip -n "$NS" link set lo up
# This namespace's own port range (per namespace): 55,536 ports per source address.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65535"
ip netns exec "$NS" taskset -c $SRV_SET "$BIN/sshterm" $EAL -m "$DMEM" --file-prefix "stbd$$" -l $SRV_CPU \
	--vdev="net_tap0,iface=$TAP" -- -e -f "$T/sshterm-198.18.0.2.conf" -m "$MAXS" \
	</dev/null >"$T/sshterm-tap.log" 2>&1 &
DPID=$!
ip netns exec "$NS" taskset -c $SRV_SET "$BIN/sshterm" $EAL -m 1024 --file-prefix "stbm$$" -l $SRV_CPU \
	--vdev="net_memif0,role=server,socket=$T/memif.sock,socket-abstract=no" -- \
	-e -f "$T/sshterm-198.18.1.2.conf" </dev/null >"$T/sshterm-memif.log" 2>&1 &
MPID=$!
case " $SERVERS " in *" sshterm/vtap "*)
	ip netns exec "$NS" taskset -c $SRV_SET "$BIN/sshterm" $EAL -m 1024 --file-prefix "stbv$$" \
		-l $SRV_CPU -- -e -f "$T/sshterm-198.18.3.2.conf" </dev/null >"$T/sshterm-vtap.log" 2>&1 &
	VPID=$!
	;;
esac
# (a large EAL -m takes a few seconds to map; give up after 60 s or when the daemon is gone)
for _ in $(seq 1 600); do
	ip -n "$NS" link show "$TAP" >/dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || { echo "sshterm/tap did not start:"; tail -5 "$T/sshterm-tap.log"; exit 1; }
	sleep 0.1
done
ip -n "$NS" addr add 198.18.0.1/24 dev "$TAP"
for i in $(seq 16 $((16 + NSRC - 1))); do ip -n "$NS" addr add "198.18.0.$i/32" dev "$TAP"; done
ip -n "$NS" link set "$TAP" up
if [ -n "$VPID" ]; then
	for _ in $(seq 1 300); do ip -n "$NS" link show "$VTAP" >/dev/null 2>&1 && break; sleep 0.1; done
	ip -n "$NS" addr add 198.18.3.1/24 dev "$VTAP"
	ip -n "$NS" link set "$VTAP" up
fi
ip netns exec "$NS" taskset -c $SRV_CPU /usr/sbin/sshd -D -f "$T/sshd_config" </dev/null \
	>"$T/sshd.log" 2>&1 &
SPID=$!
# sshd and everything it forks from now on in a cgroup of its own, for its CPU time.
CG=/sys/fs/cgroup/cpuacct/st-bench-$$
if mkdir "$CG" 2>/dev/null && echo "$SPID" > "$CG/cgroup.procs" 2>/dev/null; then :; else
	rmdir "$CG" 2>/dev/null
	CG=
fi
for _ in $(seq 1 600); do
	[ -S "$T/ctl-198.18.0.2.sock" ] && [ -S "$T/ctl-198.18.1.2.sock" ] &&
		{ [ -z "$VPID" ] || [ -S "$T/ctl-198.18.3.2.sock" ]; } && break
	sleep 0.1
done
sleep 1

CLK=$(getconf CLK_TCK)
TSC_HZ=$(awk '/^cpu MHz/ { printf "%.0f", $4 * 1e6; exit }' /proc/cpuinfo)
BENCH=(ip netns exec "$NS" taskset -c "$GEN_CPUS" "$BIN/sshterm-bench")
COMMON=(-i "$T/user" -o UserKnownHostsFile="$T/known_hosts" --json --allow-fail)
DPDK_ARGS=(--dpdk 198.18.1.3/24 $EAL -m 2048 --file-prefix "stbg$$" -l "$GEN_LCORE"
	--vdev="net_memif0,role=client,socket=$T/memif.sock,socket-abstract=no")

# CPU seconds of a process and its reaped children.
proc_cpu() { awk -v c="$CLK" '{ printf "%.4f", ($14 + $15 + $16 + $17) / c }' "/proc/$1/stat"; }
# sshterm: control thread CPU + workers' busy cycles, in seconds.
sshterm_cpu() { # pid ctl-socket
	local ctl busy
	ctl=0
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		st-ctl-* | st-admin)
			ctl=$(awk -v c="$CLK" -v s="$ctl" '{ printf "%.4f", s + ($14 + $15) / c }' "$t/stat")
			;;
		esac
	done
	busy=$("$BIN/sshtermctl" -s "$2" stats --json |
		$PY -c 'import json,sys; print(sum(w["busy_cycles"] for w in json.load(sys.stdin)["workers"]))')
	awk -v a="$ctl" -v b="$busy" -v hz="$TSC_HZ" 'BEGIN { printf "%.4f", a + b / hz }'
}
# sshd's session processes are counted once the listener has reaped them: wait for that.
settle() { # server
	[ "$1" = sshd ] || return 0
	for _ in $(seq 1 100); do [ -z "$(pgrep -P "$SPID")" ] && return 0; sleep 0.1; done
}
# Busy cycles of an sshterm server's workers (0 for sshd).
split_of() { # server: busy, pmd, app, crypto, service cycles of its workers ("0 0 0 0 0" for sshd)
	local sock
	case $1 in
	sshterm/tap) sock="$T/ctl-198.18.0.2.sock" ;;
	sshterm/memif) sock="$T/ctl-198.18.1.2.sock" ;;
	sshterm/vtap) sock="$T/ctl-198.18.3.2.sock" ;;
	*) echo 0 0 0 0 0; return ;;
	esac
	"$BIN/sshtermctl" -s "$sock" stats --json | $PY -c 'import json,sys
w = json.load(sys.stdin)["workers"]
print(*(sum(x[k] for x in w) for k in ("busy_cycles", "io_cycles", "app_cycles", "crypto_cycles", "service_cycles")))'
}
busy_of() { # server
	local sock
	case $1 in
	sshterm/tap) sock="$T/ctl-198.18.0.2.sock" ;;
	sshterm/memif) sock="$T/ctl-198.18.1.2.sock" ;;
	sshterm/vtap) sock="$T/ctl-198.18.3.2.sock" ;;
	*) echo 0; return ;;
	esac
	"$BIN/sshtermctl" -s "$sock" stats --json |
		$PY -c 'import json,sys; print(sum(w["busy_cycles"] for w in json.load(sys.stdin)["workers"]))'
}
server_cpu() { # server
	case $1 in
	sshterm/tap) sshterm_cpu "$DPID" "$T/ctl-198.18.0.2.sock" ;;
	sshterm/memif) sshterm_cpu "$MPID" "$T/ctl-198.18.1.2.sock" ;;
	sshterm/vtap) sshterm_cpu "$VPID" "$T/ctl-198.18.3.2.sock" ;;
	sshd) if [ -n "$CG" ]; then awk '{ printf "%.4f", $1 / 1e9 }' "$CG/cpuacct.usage"; else
		proc_cpu "$SPID"; fi ;;
	esac
}
# The generator's command line for a server: transport, target.
target() { # server
	case $1 in
	sshterm/tap) echo "$BUSER@198.18.0.2" ;;
	sshterm/memif) echo "$BUSER@198.18.1.2" ;;
	sshterm/vtap) echo "$BUSER@198.18.3.2" ;;
	sshd) echo "-p 2222 $BUSER@198.18.0.1" ;;
	esac
}
dpdk_for() { [ "$1" = sshterm/memif ] && echo "${DPDK_ARGS[@]}" || true; }
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; } # FILE EXPR [ARGS]
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "# sshterm vs OpenSSH sshd, side by side with sshterm-bench"
echo "# $(date -u +%F), $(uname -r), $NCPU cores: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "# $0 $*  (REPS=$REPS SECONDS=$SECS BULK_MIB=$MIB HOLDS=\"$HOLDS\")"
echo "# $(/usr/sbin/sshd -V 2>&1 | head -1 || true)"
echo "# servers on CPU $SRV_CPU, generator on CPUs $GEN_CPUS; medians of $REPS runs"
echo "# sshd CPU from $([ -n "$CG" ] && echo "the cgroup $CG" || echo "/proc/$SPID/stat (no cpuacct cgroup)")"
echo

echo "## Handshakes (connect, curve25519-sha256, ssh-ed25519 host key checked, publickey ed25519, exec, close)"
printf "%-14s %4s %12s %9s %9s %9s %11s %9s %7s\n" server c "handshakes/s" "p50 ms" "p99 ms" "max ms" \
	"CPU ms/hs" "wrk busy" failed
for c in ${CONCS:-1 16 64}; do # CONCS: a subset of the handshake points
	for s in $SERVERS; do
		cmd=$([ $s = sshd ] && echo true || echo "source 0")
		: > "$T/hs.txt"
		for r in $(seq 1 "$REPS"); do
			c0=$(server_cpu $s)
			w0=$(busy_of $s)
			# shellcheck disable=SC2046
			"${BENCH[@]}" handshake -c $c -t "$SECS" "${COMMON[@]}" $(target $s) "$cmd" \
				$(dpdk_for $s) > "$T/hs.json" 2>"$T/hs.err" || true
			settle $s
			c1=$(server_cpu $s)
			w1=$(busy_of $s)
			if ! json "$T/hs.json" 'd["handshakes_per_s"]' >/dev/null 2>&1; then
				echo "  ($s c=$c: no result: $(tail -1 "$T/hs.err"))"
				continue
			fi
			json "$T/hs.json" '"".join("  (%s c=%s: %d x %s)\n" % (sys.argv[3], sys.argv[4], v, k) for k, v in d["failures"].items())' $s $c | sed '/^$/d' >&2
			json "$T/hs.json" '"%s %s %s %s %s %s %s" % (d["handshakes_per_s"], d["latency_ms"]["p50"], d["latency_ms"]["p99"], d["latency_ms"]["max"], d["handshakes"], sum(d["failures"].values()), d["wall_s"])' \
				| awk -v a="$c0" -v b="$c1" -v w0="$w0" -v w1="$w1" -v hz="$TSC_HZ" '{ printf "%s %s %s %s %.3f %s %.1f\n", $1, $2, $3, $4, ($5 > 0 ? (b - a) * 1000 / $5 : 0), $6, (w1 - w0) / hz / $7 * 100 }' >> "$T/hs.txt"
		done
		[ -s "$T/hs.txt" ] || continue
		printf "%-14s %4s %12.0f %9.2f %9.2f %9.2f %11.3f %8s%% %7.0f\n" $s $c \
			"$(cut -d' ' -f1 "$T/hs.txt" | median)" "$(cut -d' ' -f2 "$T/hs.txt" | median)" \
			"$(cut -d' ' -f3 "$T/hs.txt" | median)" "$(cut -d' ' -f4 "$T/hs.txt" | median)" \
			"$(cut -d' ' -f5 "$T/hs.txt" | median)" "$(cut -d' ' -f7 "$T/hs.txt" | median)" \
			"$(cut -d' ' -f6 "$T/hs.txt" | median)"
		cut -d' ' -f1,5 "$T/hs.txt" | sed "s|^|$s $c |" >> "$T/hs-all.txt"
	done
done
echo

BYTES=$((MIB * 1048576))
echo "## Bulk: $MIB MiB per transfer, one session"
printf "%-14s %-30s %-5s %8s %10s %12s %9s\n" server cipher dir "wall s" "Gbit/s" "CPU s/GiB" "wrk busy"
for cipher in ${CIPHERS:-aes128-gcm@openssh.com chacha20-poly1305@openssh.com}; do
	for dir in ${DIRS:-up down}; do
		for s in $SERVERS; do
			if [ $s = sshd ]; then
				if [ $dir = up ]; then cmd='cat > /dev/null'; elif [ $dir = echo ]; then cmd=cat; else
					cmd="head -c $BYTES /dev/zero | openssl enc -aes-128-ctr -K 00000000000000000000000000000000 -iv 00000000000000000000000000000000"
				fi
			else
				case $dir in up) cmd=sink ;; echo) cmd=echo ;; *) cmd="source $BYTES" ;; esac
			fi
			: > "$T/bk.txt"
			: > "$T/cpb.txt"
			for r in $(seq 1 "$REPS"); do
				c0=$(server_cpu $s)
				w0=$(busy_of $s)
				sp0=$(split_of $s)
				# shellcheck disable=SC2046
				"${BENCH[@]}" bulk -d $dir -b "$BYTES" --cipher $cipher "${COMMON[@]}" \
					$(target $s) "$cmd" $(dpdk_for $s) > "$T/bk.json" 2>"$T/bk.err" || true
				settle $s
				c1=$(server_cpu $s)
				w1=$(busy_of $s)
				sp1=$(split_of $s)
				# worker cycles per byte moved: all, PMD, SSH layer less crypto, record crypto, TCP and the rest
				echo "$sp0 $sp1" | awk -v b="$BYTES" '{ printf "%.3f %.3f %.3f %.3f %.3f %.3f\n", ($6-$1)/b, ($7-$2)/b, (($8-$3)-($9-$4)-($10-$5))/b, ($9-$4)/b, ($10-$5)/b, (($6-$1)-($7-$2)-($8-$3))/b }' >> "$T/cpb.txt"
				if ! json "$T/bk.json" 'd["gbit_per_s"]' >/dev/null 2>&1; then
					echo "  ($s $cipher $dir: no result: $(tail -1 "$T/bk.err"))"
					continue
				fi
				json "$T/bk.json" '"%s %s" % (d["wall_s"], d["gbit_per_s"])' |
					awk -v a="$c0" -v b="$c1" -v m="$MIB" -v w0="$w0" -v w1="$w1" -v hz="$TSC_HZ" '{ printf "%s %s %.3f %.1f\n", $1, $2, (b - a) * 1024 / m, (w1 - w0) / hz / $1 * 100 }' >> "$T/bk.txt"
			done
			[ -s "$T/bk.txt" ] || continue
			printf "%-14s %-30s %-5s %8.2f %10.2f %12.3f %8s%%\n" $s $cipher $dir \
				"$(cut -d' ' -f1 "$T/bk.txt" | median)" "$(cut -d' ' -f2 "$T/bk.txt" | median)" \
				"$(cut -d' ' -f3 "$T/bk.txt" | median)" "$(cut -d' ' -f4 "$T/bk.txt" | median)"
			echo "$s $cipher $dir $(cut -d' ' -f2 "$T/bk.txt" | median) $(cut -d' ' -f3 "$T/bk.txt" | median)" >> "$T/bk-all.txt"
			[ $s = sshd ] || echo "$s $cipher $dir $(for k in 1 2 3 4 5 6; do cut -d' ' -f$k "$T/cpb.txt" | median; done | tr '\n' ' ')" >> "$T/cpb-all.txt"
		done
	done
done
echo

echo "## Worker cycles per byte in bulk (medians): all = PMD + SSH layer + record crypto + service + TCP/rest"
echo "# (service: the benchmark's source or sink itself: source's AES-CTR stream, sink's SHA-256)"
printf "%-14s %-30s %-5s %7s %7s %7s %7s %7s %7s\n" server cipher dir all pmd ssh crypto service tcp+rest
[ -s "$T/cpb-all.txt" ] && while read -r s c d a p h k v r; do
	printf "%-14s %-30s %-5s %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f\n" "$s" "$c" "$d" "$a" "$p" "$h" "$k" "$v" "$r"
done < "$T/cpb-all.txt"
echo

# Memory: sshd's PSS over all its processes, sshterm's RSS.
sshd_pss_kib() {
	local sum=0 p v
	for p in $(pgrep -x sshd); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mem_of() { [ "$1" = sshd ] && sshd_pss_kib || rss_kib "$DPID"; }
established() { # server
	if [ "$1" = sshd ]; then pgrep -fc "^sshd: $BUSER@notty" || true; else
		"$BIN/sshtermctl" -s "$T/ctl-198.18.0.2.sock" status --json |
			$PY -c 'import json,sys; print(json.load(sys.stdin)["sessions"])' 2>/dev/null || echo 0
	fi
}
echo "## Memory per held session (authenticated, channel open running a command that waits)"
echo "# sessions from $SRC_LO-$SRC_HI ($NSRC source addresses); daemon -m $MAXS slots, EAL -m $DMEM"
# One generator process holds at most FDS_PER sessions (one socket each, under ulimit -n).
FDS_PER=$(($(ulimit -n) - 1024))
[ "$FDS_PER" -ge 1000 ] || FDS_PER=1000
printf "%-14s %8s %12s %14s %12s %12s %6s\n" server sessions "held" "KiB/session" "RSS0 MiB" \
	"RSS MiB" procs
for n in $HOLDS; do
	for s in $SERVERS; do
		case $s in sshterm/memif | sshterm/vtap) continue ;; esac # measured on net_tap and sshd
		if [ $s = sshd ] && [ -s "$T/mem-sshd" ]; then
			# 10k sshd sessions are 20k processes: only if the memory is there (x1.5)
			per=$(cat "$T/mem-sshd")
			avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
			if [ "$(awk -v p="$per" -v n="$n" -v a="$avail" 'BEGIN { print (p * n * 1.5 < a) }')" != 1 ]; then
				printf "%-14s %8s %12s %14s\n" $s $n "skipped" "(needs ~$(awk -v p="$per" -v n="$n" 'BEGIN { printf "%.0f", p * n / 1048576 }') GiB)"
				continue
			fi
		fi
		cmd=$([ $s = sshd ] && echo 'sleep 3600' || echo sink)
		np=$(((n + FDS_PER - 1) / FDS_PER))
		ms=$((64 / np))
		[ "$ms" -ge 8 ] || ms=8
		m0=$(mem_of $s)
		HPS=
		for k in $(seq 1 "$np"); do
			share=$((n / np + (k <= n % np ? 1 : 0)))
			# shellcheck disable=SC2046
			"${BENCH[@]}" hold -n "$share" --max-startups "$ms" -t 3600 --timeout 120 \
				--source "$SRC_LO-$SRC_HI" "${COMMON[@]}" $(target $s) "$cmd" \
				> "$T/hold-$k.json" 2>"$T/hold-$k.err" &
			HPS="$HPS $!"
		done
		got=0
		t0=$(date +%s)
		# bounded: 300 s, plus 1 s per 200 sessions (100,000: 800 s)
		for _ in $(seq 1 $((600 + n / 100))); do
			got=$(established $s)
			[ "$got" -ge "$n" ] && break
			alive=0
			for p in $HPS; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ $alive = 1 ] || break
			sleep 0.5
		done
		t1=$(date +%s)
		sleep 2
		got=$(established $s)
		m1=$(mem_of $s)
		for p in $HPS; do kill -INT "$p" 2>/dev/null || true; done
		for p in $HPS; do wait "$p" 2>/dev/null || true; done
		for k in $(seq 1 "$np"); do
			if ! json "$T/hold-$k.json" 'd["sessions"]' >/dev/null 2>&1; then
				echo "  ($s n=$n: generator $k: no result: $(tail -1 "$T/hold-$k.err"))" >&2
				continue
			fi
			json "$T/hold-$k.json" '"".join("  (%s n=%s: %d x %s)\n" % (sys.argv[3], sys.argv[4], v, k) for k, v in d["failures"].items())' $s $n | sed '/^$/d' >&2
		done
		per=$(awk -v a="$m0" -v b="$m1" -v n="$got" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "nan" }')
		printf "%-14s %8s %12s %14s %12.0f %12.0f %6s   (open in %s s)\n" $s $n "$got" "$per" \
			"$(awk -v a="$m0" 'BEGIN { print a / 1024 }')" "$(awk -v a="$m1" 'BEGIN { print a / 1024 }')" \
			"$np" $((t1 - t0))
		echo "$s $n $per" >> "$T/mem-all.txt"
		[ $s = sshd ] && [ "$got" -gt 0 ] && echo "$per" > "$T/mem-sshd"
		# let the sessions go before the next point
		for _ in $(seq 1 $((120 + n / 500))); do [ "$(established $s)" -le 0 ] && break; sleep 0.5; done
	done
done
echo

echo "## Ratios (sshterm / sshd; CPU and memory: sshd / sshterm, so > 1 means sshterm is better)"
$PY - "$T" <<'EOF'
import collections, statistics, sys, os
t = sys.argv[1]
def rows(f):
    p = os.path.join(t, f)
    return [l.split() for l in open(p)] if os.path.exists(p) else []
hs = collections.defaultdict(list)
for s, c, rate, cpu in rows("hs-all.txt"):
    hs[(s, c)].append((float(rate), float(cpu)))
SRV = ("sshterm/tap", "sshterm/vtap", "sshterm/memif")
print("%-34s %14s %14s %14s" % ("point", "tap vs sshd", "vtap vs sshd", "memif vs sshd"))
for c in ("1", "16", "64"):
    d = hs.get(("sshd", c))
    if not d:
        continue
    dr = statistics.median(x[0] for x in d); dc = statistics.median(x[1] for x in d)
    out = []
    for s in SRV:
        v = hs.get((s, c))
        out.append(("%.1fx / %.1fx" % (statistics.median(x[0] for x in v) / dr if dr else 0,
                                     dc / statistics.median(x[1] for x in v) if statistics.median(x[1] for x in v) else 0)) if v else "-")
    print("%-34s %14s %14s %14s" % ("handshakes/s, CPU/hs  c=%s" % c, *out))
bk = {(s, c, d): (float(g), float(cpu)) for s, c, d, g, cpu in rows("bk-all.txt")}
for c in ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"):
    for d in ("up", "down"):
        ref = bk.get(("sshd", c, d))
        if not ref:
            continue
        out = []
        for s in SRV:
            v = bk.get((s, c, d))
            out.append("%.2fx / %.2fx" % (v[0] / ref[0], ref[1] / v[1] if v[1] else 0) if v else "-")
        print("%-34s %14s %14s %14s" % ("Gbit/s, CPU/GiB  %s %s" % (c.split("@")[0], d), *out))
mem = {(s, n): p for s, n, p in rows("mem-all.txt")}
for (s, n), p in sorted(mem.items()):
    if s == "sshd" and ("sshterm/tap", n) in mem and p != "nan" and mem[("sshterm/tap", n)] != "nan":
        print("%-34s %14s" % ("memory/session  %s sessions" % n, "%.2fx" % (float(p) / float(mem[("sshterm/tap", n)]))))
EOF
echo
echo "# sshterm/tap worker after the run:"
"$BIN/sshtermctl" -s "$T/ctl-198.18.0.2.sock" stats | head -4
