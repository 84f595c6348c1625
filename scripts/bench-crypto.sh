#!/usr/bin/env bash
# Record-layer crypto benchmark beside `openssl speed -evp`, same machine, same run.
#   scripts/bench-crypto.sh [BUILD_DIR] [SECONDS]
# Prints our seal/open throughput per suite for 32 KiB packets, then OpenSSL's
# raw EVP throughput for the matching algorithms, then the ratios.
set -eu
B=${1:-build}
S=${2:-2}
bench="$B/sshterm-bench"
[ -x "$bench" ] || { echo "bench-crypto: build $bench first (make)" >&2; exit 1; }

# openssl speed prints the rate in 1000s of bytes per second; returns GB/s.
openssl_gbs() { # evp-name bytes
	openssl speed -seconds "$S" -bytes "$2" -evp "$1" 2>/dev/null |
		awk 'END { v = $NF; sub(/k$/, "", v); printf "%.2f", v * 1000 / 1e9 }'
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bench" crypto --seconds "$S" --size 32768 | tee "$out"

echo
echo "# openssl speed -evp (encryption only, no framing, no MAC for CTR)"
printf "%-20s %6s %9s\n" algorithm size "GB/s"
declare -A ossl
for alg in aes-128-gcm aes-256-gcm chacha20-poly1305 aes-128-ctr; do
	for sz in 16384 32768; do
		v=$(openssl_gbs "$alg" "$sz")
		ossl[$alg/$sz]=$v
		printf "%-20s %6s %9s\n" "$alg" "$sz" "$v"
	done
done

ours() { # suite size -> seal GB/s
	awk -v s="$1" -v z="$2" '$1 == s && $2 == z { print $3 }' "$out" | tail -n 1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }

echo
echo "# ratio: record-layer seal / openssl speed -evp, same run"
printf "%-32s %6s %s\n" suite size ratio
printf "%-32s %6s %s\n" aes128-gcm@openssh.com 32768 \
	"$(ratio "$(ours aes128-gcm@openssh.com 32768)" "${ossl[aes-128-gcm/32768]}")"
printf "%-32s %6s %s\n" aes256-gcm@openssh.com 32768 \
	"$(ratio "$(ours aes256-gcm@openssh.com 32768)" "${ossl[aes-256-gcm/32768]}")"
printf "%-32s %6s %s\n" chacha20-poly1305@openssh.com 32768 \
	"$(ratio "$(ours chacha20-poly1305@openssh.com 32768)" "${ossl[chacha20-poly1305/32768]}")"

# The goal figure: AES-128-GCM at 16 KiB, interleaved runs, best of three each,
# so that a burst of load from another process does not decide it.
best_ours=0
best_ossl=0
for _ in 1 2 3; do
	o=$("$bench" crypto --seconds "$S" --size 16384 --suite aes128-gcm@openssh.com | tail -n 1 | awk '{ print $3 }')
	s=$(openssl_gbs aes-128-gcm 16384)
	best_ours=$(awk -v a="$o" -v b="$best_ours" 'BEGIN { print (a > b) ? a : b }')
	best_ossl=$(awk -v a="$s" -v b="$best_ossl" 'BEGIN { print (a > b) ? a : b }')
done
echo
echo "# goal: aes128-gcm@openssh.com seal at 16384 bytes vs openssl speed -evp aes-128-gcm -bytes 16384"
echo "record layer ${best_ours} GB/s, openssl ${best_ossl} GB/s, ratio $(ratio "$best_ours" "$best_ossl") (best of 3 each)"

# ML-KEM-768 (crypto/mlkem.c): TSC cycles per operation, median of 1000.
if [ -x "$B/st-mlkem-tool" ]; then
	echo
	echo "# ML-KEM-768 (st-mlkem-tool bench)"
	"$B/st-mlkem-tool" bench 1000
fi
