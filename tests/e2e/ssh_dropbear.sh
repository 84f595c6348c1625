#!/usr/bin/env bash
# dropbear's dbclient (Debian 2022.83: chacha20-poly1305, aes128/256-ctr,
# hmac-sha2-256) against build/sshterm-harness on 127.0.0.1: the user key
# converted with `dropbearconvert openssh dropbear`, host key checked against
# a prepared ~/.ssh/known_hosts (dropbear matches the host name without the
# port) and refused for a wrong one; 256 MiB through sink, from source and
# through echo, checked by SHA-256; each cipher dbclient has.
. "$(dirname "$0")/lib/ssh_common.sh"
e2e_init ssh_dropbear "${1:-build}"
e2e_keys || { bad keys; e2e_finish; }
start_harness H || { bad harness; e2e_finish; }
dropbearconvert openssh dropbear "$T/id_user" "$T/id_user.db" >/dev/null 2>&1 ||
	{ bad "dropbearconvert"; e2e_finish; }
mkdir -p "$T/home/.ssh" "$T/wrong/.ssh"
for k in ed25519 ecdsa rsa; do
	echo "127.0.0.1 $(cut -d' ' -f1,2 "$T/hk_$k.pub")"
done >"$T/home/.ssh/known_hosts"
ssh-keygen -q -t ed25519 -N '' -f "$T/hk_wrong"
echo "127.0.0.1 $(cut -d' ' -f1,2 "$T/hk_wrong.pub")" >"$T/wrong/.ssh/known_hosts"

# stdin is always a file or /dev/null: dbclient must never find a prompt to answer.
DB() { HOME="$T/home" timeout 120 dbclient -i "$T/id_user.db" -p "$H_PORT" good@127.0.0.1 "$@"; }

BIG=$((256 * 1024 * 1024))
head -c "$BIG" /dev/urandom >"$T/big"
want=$(sha <"$T/big")
check_eq "sink 256 MiB" "$BIG $want" "$(DB sink <"$T/big" 2>"$T/err")"
check_eq "echo 256 MiB" "$want" "$(DB echo <"$T/big" 2>>"$T/err" | sha)"
check_eq "source 256 MiB" "$(gen_source "$BIG" | sha)" "$(DB source "$BIG" </dev/null 2>>"$T/err" | sha)"

head -c $((4 * 1024 * 1024)) "$T/big" >"$T/small"
want=$(sha <"$T/small")
for cm in chacha20-poly1305@openssh.com/hmac-sha2-256 aes128-ctr/hmac-sha2-256 \
	aes256-ctr/hmac-sha2-256; do
	c=${cm%%/*}
	m=${cm#*/}
	check_eq "echo 4 MiB $c $m" "$want" "$(DB -c "$c" -m "$m" echo <"$T/small" 2>>"$T/err" | sha)"
done

out=$(HOME="$T/wrong" timeout 30 dbclient -i "$T/id_user.db" -p "$H_PORT" good@127.0.0.1 echo \
	</dev/null 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -qi "mismatch\|Didn't validate"; then
	ok "wrong known_hosts refused"
else
	bad "wrong known_hosts refused" "rc=$rc $out"
fi
e2e_finish
