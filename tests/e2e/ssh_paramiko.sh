#!/usr/bin/env bash
# paramiko 2.12 (only under /usr/bin/python3) against build/sshterm-harness on
# 127.0.0.1: exec sink / source / echo (SHA-256; the source stream generated
# independently with python's `cryptography`), three channels at once on one
# connection, every kex paramiko shares with us, every host key algorithm,
# aes-ctr x hmac-sha2(-etm), and a refused key. paramiko is slow (pure
# Python packetizer): 256 MiB per direction on the default suite, 1 MiB per algorithm row.
. "$(dirname "$0")/lib/ssh_common.sh"
e2e_init ssh_paramiko "${1:-build}"
e2e_keys || { bad keys; e2e_finish; }
start_harness H || { bad harness; e2e_finish; }
# paramiko reads the OpenSSH private key format directly.
cp "$T/id_other" "$T/id_user.other"
out=$(timeout 300 /usr/bin/python3 "$(dirname "$0")/lib/paramiko_client.py" "$H_PORT" good \
	"$T/id_user" "$T/H.known_hosts" $((256 * 1024 * 1024)) 2>&1)
echo "$out"
line=$(echo "$out" | grep -E '^paramiko: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
if [ -z "$line" ]; then
	bad "paramiko client" "no result line"
else
	E2E_PASS=$((E2E_PASS + $(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')))
	E2E_FAIL=$((E2E_FAIL + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
fi
e2e_finish
