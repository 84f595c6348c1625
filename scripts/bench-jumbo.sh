#!/usr/bin/env bash
# Worker cycles per byte at MTU 1500 and 9000 over a vhost-user socket pair,
# from the worker's own TSC accounting. A benchmark: nothing passes or fails.
#
#   scripts/bench-jumbo.sh [BUILD_DIR] [REPS] [BULK_MIB]      (3 reps, 512 MiB)
#   Environment: CRYPTO_BACKEND (sshterm's CryptoBackend; default "cryptodev
#   crypto_aesni_gcm0"), MTUS ("1500 9000"), CIPHER (aes128-gcm@openssh.com).
#
# DPDK 22.11's memif and TAP PMDs stop at 1518-byte frames; net_vhost and
# net_virtio_user take jumbo frames. Two ways round, each a fresh daemon per
# run (sshterm's bulk `source` down, then `sink` up, the generator checking
# the bytes):
#   virtio  the daemon on net_virtio_user (server=1), the generator on net_vhost
#           (client=1). A virtio TX queue hands the mbufs' addresses to the other
#           side, as a NIC does: the daemon copies nothing, the vhost side does.
#           In server mode the PMD waits at start-up until the vhost side
#           connects and does not take a second connection (22.11), hence a
#           daemon per run.
#   vhost   the daemon on net_vhost, the generator on net_virtio_user: the
#           daemon's PMD copies every byte into the other side's buffers (as
#           memif does), so its PMD share is a copy's.
# The split (PMD, SSH, record crypto, service, TCP/rest) is the one
# bench-daemon.sh prints; "service" is the benchmark's own source/sink work.
set -eu
B=${1:-build}
REPS=${2:-3}
MIB=${3:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$B"
T=$(mktemp -d /tmp/sshterm-jumbo.XXXXXX)
PY=/usr/bin/python3
DPID=
cleanup() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
	sleep 1
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	rm -rf "$T" /var/run/dpdk/stjd$$ /var/run/dpdk/stjg$$
}
trap cleanup EXIT
trap 'exit 130' INT TERM
NCPU=$(nproc)
GEN=$((NCPU > 1 ? 1 : 0))
EAL="--no-huge --no-pci --no-shconf --no-telemetry --log-level=lib.eal:error"
ssh-keygen -q -t ed25519 -N '' -f "$T/host"
ssh-keygen -q -t ed25519 -N '' -f "$T/user"
mkdir -p "$T/ak"
cp "$T/user.pub" "$T/ak/root"
printf '198.18.1.2 %s\n' "$(cut -d' ' -f1,2 "$T/host.pub")" > "$T/known_hosts"
BYTES=$((MIB * 1048576))
CIPHER=${CIPHER:-aes128-gcm@openssh.com}

# One run: a fresh daemon, one bulk transfer, the daemon's split per byte.
run_one() { # way mtu dir
	local way=$1 mtu=$2 dir=$3 dvdev gvdev cmd
	rm -f "$T/vhost.sock" "$T/ctl.sock"
	cat > "$T/sshterm.conf" <<-EOF
		Address 198.18.1.2/24
		HostKey $T/host
		AuthorizedKeysFile $T/ak/%u
		ControlSocket $T/ctl.sock
		MTU $mtu
		CryptoBackend ${CRYPTO_BACKEND:-cryptodev crypto_aesni_gcm0}
	EOF
	if [ "$way" = virtio ]; then
		dvdev="net_virtio_user0,path=$T/vhost.sock,server=1,queues=1"
		gvdev="net_vhost0,iface=$T/vhost.sock,client=1"
	else
		dvdev="net_vhost0,iface=$T/vhost.sock"
		gvdev="net_virtio_user0,path=$T/vhost.sock,queues=1"
	fi
	taskset -c 0 "$BIN/sshterm" $EAL -m 1024 --file-prefix "stjd$$" -l 0 --vdev="$dvdev" -- \
		-e -f "$T/sshterm.conf" </dev/null >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 100); do [ -S "$T/vhost.sock" ] && break; sleep 0.1; done
	if [ "$dir" = down ]; then cmd="source $BYTES"; else cmd=sink; fi
	# The generator connects the vhost socket; a virtio daemon finishes starting then.
	timeout 120 taskset -c $GEN "$BIN/sshterm-bench" bulk -d "$dir" -b "$BYTES" --cipher "$CIPHER" \
		-i "$T/user" -o UserKnownHostsFile="$T/known_hosts" --json --timeout 30 \
		root@198.18.1.2 "$cmd" --dpdk "198.18.1.3/24,mtu=$mtu" $EAL -m 1024 \
		--file-prefix "stjg$$" -l $GEN --vdev="$gvdev" >"$T/bk.json" 2>"$T/bk.err" || true
	if [ -S "$T/ctl.sock" ] && $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["bytes"] != int(sys.argv[2]))' "$T/bk.json" "$BYTES" 2>/dev/null; then
		"$BIN/sshtermctl" -s "$T/ctl.sock" stats --json | $PY -c '
import json, sys
b = int(sys.argv[1]); g = sys.argv[2]
w = json.load(sys.stdin)["workers"]
s = {k: sum(x[k] for x in w) for k in ("busy_cycles", "io_cycles", "app_cycles", "crypto_cycles", "service_cycles")}
ssh = s["app_cycles"] - s["crypto_cycles"] - s["service_cycles"]
rest = s["busy_cycles"] - s["io_cycles"] - s["app_cycles"]
print("%.3f %.3f %.3f %.3f %.3f %.3f %s" % (s["busy_cycles"] / b, s["io_cycles"] / b, ssh / b, s["crypto_cycles"] / b, s["service_cycles"] / b, rest / b, g))
' "$BYTES" "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["gbit_per_s"])' "$T/bk.json")"
	else
		echo "  ($way MTU $mtu $dir: no result: $(tail -1 "$T/bk.err"))" >&2
	fi
	kill -TERM "$DPID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "# worker cycles per byte, MTU 1500 vs 9000 over vhost-user, $(date -u +%F), $NCPU cores"
echo "# $CIPHER on ${CRYPTO_BACKEND:-cryptodev crypto_aesni_gcm0}, $MIB MiB per run, medians of $REPS"
printf "%-7s %5s %-5s %7s %7s %7s %7s %7s %7s %8s\n" daemon mtu dir all pmd ssh crypto service \
	tcp+rest Gbit/s
for way in virtio vhost; do
	for mtu in ${MTUS:-1500 9000}; do
		for dir in down up; do
			: > "$T/r.txt"
			for _ in $(seq 1 "$REPS"); do run_one $way $mtu $dir >> "$T/r.txt"; done
			[ -s "$T/r.txt" ] || continue
			printf "%-7s %5s %-5s" $way $mtu $dir
			for k in 1 2 3 4 5 6 7; do
				printf " %7s" "$(cut -d' ' -f$k "$T/r.txt" | median)"
			done
			echo
		done
	done
done
