# shellcheck shell=bash
# Shared helpers for the end-to-end tests of the daemon (build/sshterm on a
# DPDK TAP port in a private network namespace). Sourced, not run; the
# harness-based tests use ssh_common.sh instead (the two define some of the
# same names and are not meant to be sourced together).
#
# Network: only 198.18.0.0/15 inside the namespace the test creates (the daemon
# is ADDR, the namespace's own end of the TAP is PEER), or loopback. Every
# client call runs under `timeout`; every wait loop is bounded in count.
#
#   daemon_init NAME [BUILD_DIR]  sets ROOT BIN NS TAP ADDR PEER T DPDK_PREFIX
#                                 DPDK_PREFIX_CHECK, PIDS=() (pids to kill at exit)
#                                 and the cleanup trap; fails the test if the
#                                 build has no sshterm/sshtermctl
#   daemon_keys                   host keys $T/host_{ed25519,ecdsa,rsa}; user keys
#                                 $T/id_user (ed25519), $T/id_ecdsa (nistp256),
#                                 $T/id_rsa (3072), $T/id_other (ed25519, authorized
#                                 nowhere); $T/ak/alice lists id_user, id_ecdsa,
#                                 id_rsa; $T/known_hosts (the three host keys for
#                                 ADDR), $T/wrong_known_hosts (another key for ADDR)
#   daemon_config [LINE...]       writes $T/sshterm.conf: the LINEs first, then
#                                 Address, Port 22, the three HostKeys,
#                                 AuthorizedKeysFile $T/ak/%u, ControlSocket
#                                 $T/ctl.sock, PerSourcePenalties no (the tests
#                                 make hundreds of failing connections from one
#                                 address; daemon_control.sh tests penalties)
#                                 (the first occurrence of a keyword wins, so a
#                                 LINE can replace a default)
#   start_daemon [sshterm args]   starts the daemon (config $CONF, default
#                                 $T/sshterm.conf; extra EAL args $EAL_EXTRA,
#                                 worker lcores $LCORES, default 0: a list
#                                 for -l, or an --lcores map such as 0@0,1@0),
#                                 log $T/daemon.log, pid DPID; waits (30 s at most)
#                                 for the TAP and the control socket; non-zero if
#                                 they never come
#   stop_daemon                   SIGTERM, at most 10 s, then SIGKILL and a failure;
#                                 with DAEMON_CRYPTODEV first checks that the record
#                                 crypto ran there (ops counted, no errors)
#
# DAEMON_CRYPTODEV=DEV in the environment runs the test's daemon with its record
# crypto on that cryptodev vdev (e.g. crypto_openssl0, whose enqueue/dequeue path
# stands in for a hardware device): daemon_config adds CryptoBackend cryptodev DEV
# (and CryptoMode $DAEMON_CRYPTO_MODE when set) and limits Ciphers and MACs to
# suites the cryptodev backend runs (DAEMON_CIPHERS overrides), OpenSSH clients
# ask for AES-GCM first (which that path seals asynchronously), start_daemon adds
# the --vdev, and the test's name says so.
# DAEMON_VTAP=1 runs it on the kernel TAP port instead of net_tap (TapInterface
# $TAP in the config, no --vdev; dataplane/vtap.h).
#   nsx CMD...                    runs CMD in the namespace
#   sshc USER KEY [ssh args...]   OpenSSH ssh in the namespace to USER@ADDR, strict
#                                 host key checking against $T/known_hosts, under
#                                 `timeout ${TMO:-60}`
#   ctl ARGS...                   sshtermctl on the daemon's control socket
#   daemon_stat PATH              one number from `sshtermctl stats --json`: PATH
#                                 is dot-separated, `*` sums over a list, e.g.
#                                 workers.*.rx_packets, crypto.ops
#   stream BYTES KEYHEX           AES-128-CTR keystream under KEYHEX (zero IV)
#   source_sha BYTES              SHA-256 of the `source` service's first BYTES
#   ok NAME / bad NAME [why] / check NAME GOT WANT
#   within NAME LIMIT "BYTES SHA SECONDS" WANT_BYTES WANT_SHA
#                                 ok when the bytes and SHA-256 match and SECONDS < LIMIT
#   finish                        prints the daemon log tail if anything failed,
#                                 then "NAME: N passed, N failed"; exits

set -u

daemon_init() { # name [build dir]
	DAEMON_NAME=$1${DAEMON_CRYPTODEV:+ on $DAEMON_CRYPTODEV}${DAEMON_VTAP:+ on TapInterface}
	local b=${2:-build}
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
	BIN=$(cd "$ROOT/$b" 2>/dev/null && pwd)
	NS=st-dmn-$$
	TAP=stdmn$$
	ADDR=198.18.0.2
	PEER=198.18.0.1
	DPDK_PREFIX=st$$        # the daemon's EAL --file-prefix
	DPDK_PREFIX_CHECK=stt$$ # for short-lived `sshterm -t` runs next to it
	T=$(mktemp -d "${TMPDIR:-/tmp}/sshterm-daemon.XXXXXX")
	PASS=0
	FAIL=0
	PIDS=()
	DPID=
	trap daemon_cleanup EXIT
	trap 'exit 130' INT TERM
	SSHOPTS=(-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/known_hosts"
		-o ConnectTimeout=10 -o LogLevel=ERROR)
	# On a cryptodev, OpenSSH clients prefer AES-GCM (theirs is CTR first): GCM
	# is what an enqueue/dequeue device seals asynchronously; paramiko (no GCM)
	# takes CTR+HMAC, which runs there synchronously. A later -c overrides.
	[ -n "${DAEMON_CRYPTODEV:-}" ] &&
		SSHOPTS+=(-c aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes256-ctr)
	local p
	for p in sshterm sshtermctl; do
		if [ -z "$BIN" ] || [ ! -x "$BIN/$p" ]; then
			echo "missing $ROOT/$b/$p (run make first)"
			echo "$DAEMON_NAME: 0 passed, 1 failed"
			exit 1
		fi
	done
}

# Kills what the test started, the daemon last (SIGTERM, 5 s, SIGKILL), then
# anything left in the namespace; removes the namespace, $T and the DPDK
# runtime directories of both prefixes.
daemon_cleanup() {
	local p
	for p in "${PIDS[@]}" $DPID; do kill -TERM "$p" 2>/dev/null; done
	for p in $DPID; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP_LOG:-}" ] && cp "$T/daemon.log" "$KEEP_LOG" 2>/dev/null
	rm -rf "$T" "/var/run/dpdk/$DPDK_PREFIX" "/var/run/dpdk/$DPDK_PREFIX_CHECK"
}

ok() { PASS=$((PASS + 1)); echo "  ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "  FAIL $1${2:+: $2}"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2' want '$3'"; fi; }
within() { # name seconds-limit "bytes sha seconds" want-bytes want-sha
	local n s t
	read -r n s t <<<"$3"
	if [ "$n $s" = "$4 $5" ] && awk -v t="${t:-999}" -v l="$2" 'BEGIN { exit !(t < l) }'; then
		ok "$1 (${t} s)"
	else
		bad "$1" "got '$3' want '$4 $5' in under $2 s"
	fi
}
finish() {
	if [ "$FAIL" -gt 0 ] && [ -f "$T/daemon.log" ]; then
		echo "---- daemon log (last 40 lines) ----"
		tail -n 40 "$T/daemon.log"
	fi
	echo "$DAEMON_NAME: $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}
nsx() { ip netns exec "$NS" "$@"; }

daemon_keys() {
	local t
	for t in ed25519 ecdsa rsa; do
		ssh-keygen -q -t $t -N '' -C host-$t -f "$T/host_$t" || return 1
	done
	ssh-keygen -q -t ed25519 -N '' -C user -f "$T/id_user" || return 1
	ssh-keygen -q -t ed25519 -N '' -C other -f "$T/id_other" || return 1
	ssh-keygen -q -t ecdsa -b 256 -N '' -C ecdsauser -f "$T/id_ecdsa" || return 1
	ssh-keygen -q -t rsa -b 3072 -N '' -C rsauser -f "$T/id_rsa" || return 1
	mkdir -p "$T/ak"
	cat "$T/id_user.pub" "$T/id_ecdsa.pub" "$T/id_rsa.pub" > "$T/ak/alice"
	for t in ed25519 ecdsa rsa; do
		echo "$ADDR $(cut -d' ' -f1,2 "$T/host_$t.pub")"
	done > "$T/known_hosts"
	ssh-keygen -q -t ed25519 -N '' -f "$T/wrong_host" || return 1
	echo "$ADDR $(cut -d' ' -f1,2 "$T/wrong_host.pub")" > "$T/wrong_known_hosts"
}

daemon_config() { # [extra config lines...]
	{
		[ $# -gt 0 ] && printf '%s\n' "$@"
		[ -n "${DAEMON_VTAP:-}" ] && echo "TapInterface $TAP"
		if [ -n "${DAEMON_CRYPTODEV:-}" ]; then
			echo "CryptoBackend cryptodev $DAEMON_CRYPTODEV"
			[ -n "${DAEMON_CRYPTO_MODE:-}" ] && echo "CryptoMode $DAEMON_CRYPTO_MODE"
			echo "Ciphers ${DAEMON_CIPHERS:-aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes256-ctr}"
			echo "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"
		fi
		cat <<-EOF
			Address $ADDR/24
			Port 22
			HostKey $T/host_ed25519
			HostKey $T/host_ecdsa
			HostKey $T/host_rsa
			AuthorizedKeysFile $T/ak/%u
			ControlSocket $T/ctl.sock
			PerSourcePenalties no
		EOF
	} > "$T/sshterm.conf"
}

# OpenSSH client in the namespace, bounded by TMO seconds (default 60).
# KNOWN_HOSTS=FILE replaces $T/known_hosts: ssh keeps the first value of an
# option, so a later -o UserKnownHostsFile would be ignored.
sshc() { # user key [ssh args...]
	local u=$1 k=$2
	shift 2
	local o=("${SSHOPTS[@]}")
	[ -n "${KNOWN_HOSTS:-}" ] && o=("${o[@]/#UserKnownHostsFile=*/UserKnownHostsFile=$KNOWN_HOSTS}")
	timeout "${TMO:-60}" ip netns exec "$NS" ssh "${o[@]}" -i "$k" "$u@$ADDR" "$@"
}
ctl() { "$BIN/sshtermctl" -s "$T/ctl.sock" "$@"; }

daemon_stat() { # dotted.path (with * summing over lists)
	ctl stats --json | /usr/bin/python3 -c '
import json, sys
def get(v, parts):
    if not parts:
        return v
    p, rest = parts[0], parts[1:]
    if p == "*":
        return sum(get(x, rest) for x in v)
    return get(v[int(p)] if isinstance(v, list) else v[p], rest)
print(get(json.load(sys.stdin), sys.argv[1].split(".")))
' "$1"
}

start_daemon() { # extra sshterm args...
	local port=(--vdev="net_tap0,iface=$TAP")
	[ -n "${DAEMON_VTAP:-}" ] && port=() # TapInterface in the config instead (daemon_config)
	ip netns pids "$NS" >/dev/null 2>&1 || { ip netns add "$NS" && ip -n "$NS" link set lo up; }
	# Not through a shell function: $! must be the daemon itself (ip netns exec execs it).
	# LCORES "0,1" is a core list (-l); "0@0,1@1,2@0" maps lcores onto CPUs (--lcores)
	local lc=(-l "${LCORES:-0}")
	case ${LCORES:-0} in *@*) lc=(--lcores="$LCORES") ;; esac
	ip netns exec "$NS" "$BIN/sshterm" --no-huge -m 512 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX" "${lc[@]}" \
		"${port[@]}" ${DAEMON_CRYPTODEV:+--vdev=$DAEMON_CRYPTODEV} ${EAL_EXTRA:-} \
		-- -e -f "${CONF:-$T/sshterm.conf}" "$@" \
		</dev/null >>"$T/daemon.log" 2>&1 &
	DPID=$!
	# Start-up takes about a second; the bound is for a machine busy with other work.
	for _ in $(seq 1 300); do ip -n "$NS" link show "$TAP" >/dev/null 2>&1 && break; sleep 0.1; done
	ip -n "$NS" addr add "$PEER/24" dev "$TAP" 2>/dev/null
	ip -n "$NS" link set "$TAP" up
	for _ in $(seq 1 300); do [ -S "$T/ctl.sock" ] && break; sleep 0.1; done
	[ -S "$T/ctl.sock" ]
}

stop_daemon() {
	[ -n "$DPID" ] || return 0
	if [ -n "${DAEMON_CRYPTODEV:-}" ] && [ -z "${CONF:-}" ]; then
		local c cb co cf ce
		local ca cs ch cz cx
		c=$(ctl stats --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
c = j["crypto"]
a = {}
for w in j["workers"]:
    for k, v in w.get("app", {}).items():
        a[k] = a.get(k, 0) + v
print("%s %d %d %d %d %d %d %d %d %d" % (c["backend"], c["ops"], c["fallbacks"], c["errors"],
      a.get("TX_CRYPTO_ASYNC", 0), a.get("TX_CRYPTO_SYNC", 0), a.get("TX_CRYPTO_BUSY", 0),
      a.get("TX_CRYPTO_ZOMBIE", 0), a.get("TX_CRYPTO_ERRORS", 0), a.get("RX_CRYPTO_ASYNC", 0)))' 2>/dev/null)
		local cr
		read -r cb co cf ce ca cs ch cz cx cr <<<"$c"
		if [ "${cb:-}" = cryptodev ] && [ "${co:-0}" -gt 0 ] && [ "${ce:-1}" = 0 ]; then
			ok "record crypto ran on $DAEMON_CRYPTODEV ($co ops, $cf on the EVP fallback)"
		else
			bad "record crypto ran on $DAEMON_CRYPTODEV" "stats: ${c:-none}"
		fi
		# An enqueue/dequeue device (crypto_openssl: no CPU crypto) seals GCM
		# asynchronously across loop passes (sess_io.c); none may fail.
		case "$DAEMON_CRYPTODEV${DAEMON_CRYPTO_MODE:+ $DAEMON_CRYPTO_MODE}" in
		crypto_openssl* | *" ops")
			if [ "${ca:-0}" -gt 0 ] && [ "${cx:-1}" = 0 ]; then
				ok "seals ran asynchronously ($ca async, $cs sync, $ch busy retries, $cz zombies; $cr opens async)"
			else
				bad "seals ran asynchronously" "stats: ${c:-none}"
			fi
			;;
		esac
	fi
	kill -TERM "$DPID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID"
		bad "daemon exits on SIGTERM within 10 s"
	fi
	wait "$DPID" 2>/dev/null
	DPID=
}

# The daemon on a socket-backed vdev (memif, vhost-user) in the namespace, for a
# generator on the other end: waits (30 s at most) for the control socket and
# the port's socket SOCK; non-zero if they never come.
EAL_SOCK=(--no-huge --no-pci --no-shconf --no-telemetry --log-level=lib.eal:error)
start_daemon_socket() { # vdev-spec SOCK
	ip netns pids "$NS" >/dev/null 2>&1 || { ip netns add "$NS" && ip -n "$NS" link set lo up; }
	ip netns exec "$NS" "$BIN/sshterm" "${EAL_SOCK[@]}" -m 512 --file-prefix "$DPDK_PREFIX" -l 0 \
		--vdev="$1" -- -e -f "$T/sshterm.conf" </dev/null >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 300); do [ -S "$T/ctl.sock" ] && [ -S "$2" ] && break; sleep 0.1; done
	[ -S "$T/ctl.sock" ] && [ -S "$2" ]
}

# A deterministic byte stream: AES-128-CTR keystream under a key per test.
stream() { # bytes key-hex
	head -c "$1" /dev/zero | openssl enc -aes-128-ctr -K "$2" -iv 00000000000000000000000000000000
}
# The `source` service's stream: the same with the all-zero key (dataplane/ssh/service.h).
source_sha() { stream "$1" 00000000000000000000000000000000 | sha256sum | cut -d' ' -f1; }
