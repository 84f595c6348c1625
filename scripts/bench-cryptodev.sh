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
# One row per suite and size; each cell "GB/s / cycles per byte".
grep '^RESULT' "$out" | awk '
function col(w) {
	if (w == "openssl-speed-evp") return 1
	if (w == "seal/evp") return 2
	if (w == "open/evp") return 3
	if (w == "seal/cryptodev(crypto_aesni_mb)") return 4
	if (w == "open/cryptodev(crypto_aesni_mb)") return 5
	if (w == "seal/cryptodev(crypto_aesni_gcm)") return 6
	if (w == "open/cryptodev(crypto_aesni_gcm)") return 7
	if (w == "raw/crypto_aesni_mb") return 8
	if (w == "raw/crypto_aesni_gcm") return 9
	return 0
}
{
	c = col($2); if (c == 0) next
	key = $3 " | " $4
	if (!(key in seen)) { seen[key] = 1; order[n++] = key }
	cell[key, c] = sprintf("%.2f / %.3f", $5, $6)
}
END {
	print "| suite | size | openssl speed -evp | EVP seal | EVP open | cryptodev(aesni_mb) seal | cryptodev(aesni_mb) open | cryptodev(aesni_gcm) seal | cryptodev(aesni_gcm) open | raw PMD aesni_mb | raw PMD aesni_gcm |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 0; i < n; i++) {
		line = "| " order[i]
		for (c = 1; c <= 9; c++)
			line = line " | " ((order[i], c) in cell ? cell[order[i], c] : "-")
		print line " |"
	}
}' | { read -r h; read -r sep; echo "$h"; echo "$sep"; sort -t'|' -k2,2 -k3,3n; }
