#!/usr/bin/env bash
# Crypto offload benchmark (not a test): the record layer on EVP and on DPDK
# cryptodev (ipsec_mb), the raw PMD on the same buffers, and `openssl speed
# -evp` for the same algorithm and sizes, all on one core. Prints a Markdown
# table for docs/PERFORMANCE.md.
#   scripts/bench-cryptodev.sh [BUILD_DIR] [SECONDS]
# dpdk-test-crypto-perf is not in Debian 12's dpdk package; the raw PMD line
# (rte_cryptodev_sym_cpu_crypto_process on 32 buffers, no record layer) of
# sshterm-bench-cryptodev stands in for it.
set -eu
B=${1:-build}
T=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "$here")"
bin="$B/sshterm-bench-cryptodev"
[ -x "$bin" ] || make -s "$bin"
SIZES="1024 16384 32768"
CPU=${BENCH_CPU:-0}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# One core: pin everything to CPU $BENCH_CPU (default 0).
taskset -c "$CPU" "$bin" -t "$T" -s "${SIZES// /,}" >"$out"

ghz=$(awk '/^# TSC/ {print $3}' "$out")
for alg in aes-128-gcm aes-256-gcm; do
	for n in $SIZES; do
		# "AES-128-GCM   4413256.99k": thousands of bytes per second; best of
		# three runs (shared machines), as the C benchmark takes its median burst
		k=$(for _ in 1 2 3; do
			taskset -c "$CPU" openssl speed -evp "$alg" -bytes "$n" -seconds "$T" 2>/dev/null |
				awk -v A="$(echo "$alg" | tr a-z A-Z)" '$1 == A {sub(/k$/, "", $2); print $2}'
		done | sort -g | tail -n 1)
		[ -n "$k" ] || continue
		suite="aes${alg:4:3}-gcm@openssh.com"
		awk -v k="$k" -v n="$n" -v s="$suite" -v g="$ghz" 'BEGIN {
			gbs = k * 1000 / 1e9; printf "RESULT %-26s %-46s %6u %7.2f %6.3f\n",
			"openssl-speed-evp", s, n, gbs, g / gbs }' >>"$out"
	done
done

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), TSC ${ghz} GHz"
echo "OpenSSL: $(openssl version | cut -d' ' -f1-2); DPDK $(pkg-config --modversion libdpdk);" \
	"ipsec-mb $(dpkg-query -W -f='${Version}' libipsec-mb1 2>/dev/null || echo '?')"
echo
echo "| suite | size | what | GB/s | cycles/byte |"
echo "|---|---:|---|---:|---:|"
grep '^RESULT' "$out" | sort -k3,3 -k4,4n -k2,2 |
	awk '{ printf "| %s | %s | %s | %s | %s |\n", $3, $4, $2, $5, $6 }'
