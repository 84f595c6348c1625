#!/usr/bin/env bash
# Record layer against independent SSH implementations, same keys:
# paramiko (aes-ctr + hmac-sha2, MtE and EtM) and the npm ssh2 package's own
# JavaScript chacha20-poly1305@openssh.com and aes-gcm@openssh.com.
# Byte-identical ciphertext for the same plaintext packets, and decryption both ways.
set -u
B=${1:-build}
cd "$(dirname "$0")/../crosscheck" || exit 1
tool=$(cd "../../$B" && pwd)/st-record-tool
pass=0
fail=0
tally() { # output of a sub-check
	local line
	line=$(echo "$1" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	echo "$1"
	if [ -z "$line" ]; then fail=$((fail + 1)); return; fi
	pass=$((pass + $(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')))
	fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}
tally "$(/usr/bin/python3 paramiko_crosscheck.py "$tool" 2>&1)"
tally "$(node ssh2_crosscheck.js "$tool" 2>&1)"
echo "crosscheck: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
