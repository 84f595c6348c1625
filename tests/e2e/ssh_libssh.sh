#!/usr/bin/env bash
# The daemon against libssh 0.10 as the client (build/libssh-client, from
# tests/e2e/libssh_client.c): DPDK TAP port in a private network namespace
# (198.18.0.0/15 only), the client in the same namespace.
#   tests/e2e/ssh_libssh.sh [BUILD_DIR]
# Covers: the handshake; with ed25519, ecdsa-sha2-nistp256 and rsa user keys,
# 4 MiB of random data through `echo` and 8 MiB from `source`, by SHA-256, and
# the remote exit status; the kex, cipher, MAC and host key algorithms libssh
# and the daemon share; a wrong known_hosts entry, an unknown host and an
# unauthorized key refused. If libssh cannot complete the first handshake the
# rest is not run (it all needs one) and the failure names libssh's error.
# Prints "ssh_libssh: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init ssh_libssh "${1:-build}"
LC=$BIN/libssh-client
if [ ! -x "$LC" ]; then
	bad "libssh-client is built" "no $LC (libssh-dev missing? scripts/install-deps.sh, then make)"
	finish
fi

daemon_keys || exit 1
daemon_config
if ! start_daemon; then
	cat "$T/daemon.log"
	bad "daemon starts"
	finish
fi
ok "daemon starts on a TAP port in namespace $NS"

# libssh-client as alice in the namespace, bounded by TMO seconds (default 60);
# known_hosts $KH (default $T/known_hosts).
lsc() { # key command [libssh-client options...]
	local k=$1 cmd=$2
	shift 2
	timeout "${TMO:-60}" ip netns exec "$NS" "$LC" -i "$k" -k "${KH:-$T/known_hosts}" "$@" \
		"alice@$ADDR" "$cmd"
}
sha() { sha256sum | cut -d' ' -f1; }

# ---- the handshake ----
r=$(echo hello | TMO=30 lsc "$T/id_user" echo -v 2>"$T/probe.err")
rc=$?
if [ "$r" != hello ] || [ "$rc" -ne 0 ]; then
	bad "libssh $(pkg-config --modversion libssh 2>/dev/null) completes the handshake and runs echo" \
		"exit $rc; libssh-client said: $(grep -v '^\[' "$T/probe.err" | head -c 400)"
	ctl stats --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {}
for w in d["workers"]:
    for k, v in w.get("closes", {}).items():
        c[k] = c.get(k, 0) + v
print("    daemon close reasons:", ", ".join("%s %d" % kv for kv in c.items() if kv[1]) or "none")
' 2>/dev/null
	echo "    (no handshake with libssh: the remaining checks need one and were not run)"
	finish
fi
ok "libssh $(pkg-config --modversion libssh 2>/dev/null) completes the handshake and runs echo"
sed -n 's/^libssh-client: /    negotiated: /p' "$T/probe.err"

# ---- bulk data per user key type, by SHA-256 ----
M4=4194304
M8=8388608
head -c $M4 /dev/urandom > "$T/random"
want_echo=$(sha < "$T/random")
want_source=$(source_sha $M8)
for kt in ed25519:id_user ecdsa:id_ecdsa rsa:id_rsa; do
	t=${kt%%:*}
	k=$T/${kt#*:}
	got=$( { TMO=120 lsc "$k" echo < "$T/random"; echo $? > "$T/rc"; } 2>"$T/echo.err" | sha)
	check "$t user key: 4 MiB of random data through echo (SHA-256, exit 0)" \
		"$got exit $(cat "$T/rc")" "$want_echo exit 0"
	[ "$got" = "$want_echo" ] || head -c 300 "$T/echo.err"
	got=$( { TMO=120 lsc "$k" "source 8M" </dev/null; echo $? > "$T/rc"; } 2>"$T/src.err" | sha)
	check "$t user key: source 8M (SHA-256, exit 0)" "$got exit $(cat "$T/rc")" "$want_source exit 0"
	[ "$got" = "$want_source" ] || head -c 300 "$T/src.err"
done
n=0
for l in ED25519 ECDSA RSA; do
	grep -q "Accepted publickey for alice from $PEER port [0-9]* ssh2: $l SHA256:" "$T/daemon.log" &&
		n=$((n + 1))
done
check "daemon logs 'Accepted publickey' for ED25519, ECDSA and RSA" "$n" 3

# ---- algorithms: each one requested alone, the negotiated one reported by libssh ----
alg_one() { # label expected-in-report client-options...
	local label=$1 want=$2
	shift 2
	local r
	r=$(echo "a-$label" | TMO=30 lsc "$T/id_user" echo -v "$@" 2>"$T/alg.err")
	if [ "$r" = "a-$label" ] && grep -q -- "$want" "$T/alg.err"; then
		ok "algorithm $label"
	else
		bad "algorithm $label" "$(grep -v '^\[' "$T/alg.err" | head -c 300)"
	fi
}
for x in curve25519-sha256 curve25519-sha256@libssh.org ecdh-sha2-nistp256 \
	diffie-hellman-group14-sha256 diffie-hellman-group16-sha512; do
	alg_one "kex=$x" "kex $x," -x "$x"
done
for c in aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com; do
	alg_one "cipher=$c" "cipher $c/$c," -c "$c"
done
for cm in aes128-ctr:hmac-sha2-256 aes256-ctr:hmac-sha2-512-etm@openssh.com; do
	c=${cm%%:*}
	m=${cm#*:}
	alg_one "$c+$m" "cipher $c/$c, mac $m/$m$" -c "$c" -m "$m"
done
for hk in ssh-ed25519:ssh-ed25519 ecdsa-sha2-nistp256:ecdsa-sha2-nistp256 \
	rsa-sha2-512:ssh-rsa rsa-sha2-256:ssh-rsa; do
	h=${hk%%:*}
	alg_one "hostkey=$h" "hostkey ${hk#*:}," -H "$h"
done

# ---- refusals ----
refused() { # label expected-message key [libssh-client options...]
	local label=$1 want=$2 k=$3
	shift 3
	echo x | TMO=30 lsc "$k" echo "$@" >/dev/null 2>"$T/ref.err"
	local rc=$?
	if [ "$rc" -eq 255 ] && grep -q "$want" "$T/ref.err"; then
		ok "$label"
	else
		bad "$label" "exit $rc: $(head -c 300 "$T/ref.err")"
	fi
}
KH=$T/wrong_known_hosts refused "a wrong known_hosts entry is refused (host key mismatch)" \
	"HOST KEY MISMATCH" "$T/id_user"
: > "$T/empty_known_hosts"
KH=$T/empty_known_hosts refused "a host not in known_hosts is refused" "UNKNOWN HOST" "$T/id_user"
refused "a key not in authorized_keys is refused" "publickey authentication as alice refused" \
	"$T/id_other"

stop_daemon
finish
