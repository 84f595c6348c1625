#!/usr/bin/env bash
# OpenSSH `ssh` algorithm matrix against build/sshterm-harness (127.0.0.1):
# a covering set, not the full 5x4x11 product: every kex (and the
# @libssh.org alias) with every host key algorithm (known_hosts verification
# each time, StrictHostKeyChecking=yes), and every cipher x MAC combination at
# least once (AEADs ignore the MAC). Each row pushes 8 MiB
# through `echo` and checks the SHA-256 and the algorithms ssh -v reports.
# (256 MiB transfers are in ssh_openssh.sh; here size is kept small for time.)
. "$(dirname "$0")/lib/ssh_common.sh"
e2e_init ssh_matrix "${1:-build}"
e2e_keys || { bad keys; e2e_finish; }
start_harness H || { bad harness; e2e_finish; }

SIZE=$((8 * 1024 * 1024))
head -c "$SIZE" /dev/urandom >"$T/data"
want=$(sha <"$T/data")

# Rows: every kex (with the @libssh.org alias) x every host key algorithm
# once (28 rows with both sntrup761 names); the 11 cipher/MAC combinations are dealt round-robin over
# them, so each appears at least once.
KEXS="curve25519-sha256 curve25519-sha256@libssh.org ecdh-sha2-nistp256 diffie-hellman-group16-sha512 diffie-hellman-group14-sha256 sntrup761x25519-sha512@openssh.com"
# Debian 12's later OpenSSH 9.2 updates also have the RFC 9941 name without @openssh.com.
ssh -Q kex | grep -qx sntrup761x25519-sha512 && KEXS="$KEXS sntrup761x25519-sha512"
HKS="ssh-ed25519 ecdsa-sha2-nistp256 rsa-sha2-512 rsa-sha2-256"
CMS=(aes128-gcm@openssh.com/hmac-sha2-256 aes256-gcm@openssh.com/hmac-sha2-512
	chacha20-poly1305@openssh.com/hmac-sha2-256)
for c in aes128-ctr aes256-ctr; do
	for m in hmac-sha2-256 hmac-sha2-512 hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com; do
		CMS+=("$c/$m")
	done
done
ROWS=""
i=0
for kex in $KEXS; do
	for hk in $HKS; do
		cm=${CMS[$((i % ${#CMS[@]}))]}
		ROWS="$ROWS $kex|$hk|${cm%%/*}|${cm#*/}"
		i=$((i + 1))
	done
done

for row in $ROWS; do
	IFS='|' read -r kex hk cipher mac <<<"$row"
	name="$kex $hk $cipher $mac"
	out=$(SSH_LOGLEVEL=DEBUG1 sshc "$H_PORT" good "$T/id_user" "$T/H.known_hosts" \
		-o KexAlgorithms="$kex" -o HostKeyAlgorithms="$hk" -c "$cipher" -m "$mac" \
		127.0.0.1 echo <"$T/data" 2>"$T/err" | sha)
	if [ "$out" != "$want" ]; then
		bad "$name" "sha mismatch: $(grep -v '^debug' "$T/err" | tail -3)"
		continue
	fi
	sed -i "s/\r$//" "$T/err"
	if ! grep -q "kex: algorithm: $kex$" "$T/err" ||
		! grep -q "kex: host key algorithm: $hk\$" "$T/err" ||
		! grep -q "kex: server->client cipher: $cipher" "$T/err"; then
		bad "$name" "negotiated: $(grep 'kex: ' "$T/err" | head -4 | tr '\n' ' ')"
		continue
	fi
	case $cipher in
	*-ctr) grep -q "kex: server->client cipher: $cipher MAC: $mac" "$T/err" ||
		{ bad "$name" "MAC not negotiated"; continue; } ;;
	esac
	ok "$name"
done

# Something we do not implement is refused cleanly; the server keeps serving.
out=$(SSH_LOGLEVEL=INFO sshc "$H_PORT" good "$T/id_user" "$T/H.known_hosts" -c aes192-ctr \
	127.0.0.1 echo </dev/null 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -qi "no matching cipher"; then
	ok "unsupported cipher refused"
else
	bad "unsupported cipher refused" "rc=$rc $out"
fi
out=$(echo again | sshc "$H_PORT" good "$T/id_user" "$T/H.known_hosts" 127.0.0.1 echo 2>&1)
check_eq "still serving" again "$out"
e2e_finish
