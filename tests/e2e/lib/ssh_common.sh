# Shared helpers for tests/e2e/ssh_*.sh (sourced, not run).
#
# Every test: a private mktemp dir, host keys (ed25519, ecdsa, rsa) and user
# keys made by ssh-keygen there, build/sshterm-harness on 127.0.0.1 with a
# kernel-picked port, all processes and files removed on exit (trap). Every
# client call runs under `timeout`; every wait loop is bounded.
#
#   e2e_init NAME BUILD_DIR      sets T (temp dir), HARNESS, traps
#   e2e_keys                     host keys + user keys + per-user authorized_keys
#   start_harness VAR [args...]  starts a harness; VAR_PORT, VAR_PID, VAR_LOG
#   sshc PORT USER KEY [ssh args...]   OpenSSH client with strict host checking
#   ok NAME / bad NAME [why]     record a result
#   e2e_finish                   prints "NAME: N passed, N failed", exits

set -u

e2e_init() {
	E2E_NAME=$1
	local b=${2:-build}
	E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
	HARNESS=$(cd "$E2E_ROOT/$b" 2>/dev/null && pwd)/sshterm-harness
	E2E_PASS=0
	E2E_FAIL=0
	E2E_PIDS=()
	T=$(mktemp -d "${TMPDIR:-/tmp}/sshterm-e2e.XXXXXX")
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	E2E_T0=$(date +%s)
	if [ ! -x "$HARNESS" ]; then
		echo "missing $HARNESS (make first)"
		echo "$E2E_NAME: 0 passed, 1 failed"
		exit 1
	fi
}

# Stops one child process: SIGTERM, SIGKILL after 5 s; reaps it. Returns its status.
stop_pid() {
	local p=$1 st
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 1 100); do
		st=$(ps -o stat= -p "$p" 2>/dev/null)
		case "$st" in "" | Z*) break ;; esac
		sleep 0.05
	done
	case "$st" in "" | Z*) ;; *) kill -KILL "$p" 2>/dev/null ;; esac
	wait "$p" 2>/dev/null
}

e2e_cleanup() {
	local p
	for p in "${E2E_PIDS[@]}"; do
		stop_pid "$p"
	done
	rm -rf "$T"
}

ok() {
	E2E_PASS=$((E2E_PASS + 1))
	echo "  ok   $1"
}

bad() {
	E2E_FAIL=$((E2E_FAIL + 1))
	echo "  FAIL $1${2:+: $2}"
}

# check NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "expected '$2', got '$3'"; fi
}

# Stops every process we started (SIGTERM, bounded wait) and fails the test
# if a harness log holds a sanitizer report (ASan/LSan/UBSan builds).
e2e_stop_all() {
	local p
	for p in "${E2E_PIDS[@]}"; do
		stop_pid "$p"
	done
	E2E_PIDS=()
}

e2e_finish() {
	e2e_stop_all
	local f
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		if grep -q "AddressSanitizer\|LeakSanitizer\|runtime error:" "$f"; then
			bad "sanitizer report in $(basename "$f")" "$(grep -m3 "Sanitizer\|runtime error" "$f")"
		fi
	done
	echo "  ($(( $(date +%s) - E2E_T0 )) s)"
	echo "$E2E_NAME: $E2E_PASS passed, $E2E_FAIL failed"
	[ "$E2E_FAIL" -eq 0 ]
	exit $?
}

# Host keys, user keys and one authorized_keys file per test user
# ($T/ak/<user>; the harness is given -a "$T/ak/%u").
e2e_keys() {
	mkdir -p "$T/ak"
	ssh-keygen -q -t ed25519 -N '' -C host-ed25519 -f "$T/hk_ed25519" || return 1
	ssh-keygen -q -t ecdsa -b 256 -N '' -C host-ecdsa -f "$T/hk_ecdsa" || return 1
	ssh-keygen -q -t rsa -b 2048 -N '' -C host-rsa -f "$T/hk_rsa" || return 1
	ssh-keygen -q -t ed25519 -N '' -C user -f "$T/id_user" || return 1
	ssh-keygen -q -t ed25519 -N '' -C other -f "$T/id_other" || return 1
	cp "$T/id_user.pub" "$T/ak/good"
	chmod 600 "$T"/hk_* "$T"/id_*
}

# known_hosts naming every host key for 127.0.0.1:port
e2e_known_hosts() { # port file
	local k
	: >"$2"
	for k in ed25519 ecdsa rsa; do
		echo "[127.0.0.1]:$1 $(cut -d' ' -f1,2 "$T/hk_$k.pub")" >>"$2"
	done
}

# start_harness VAR [extra harness args]
start_harness() {
	local var=$1
	shift
	local log="$T/$var.log" pf="$T/$var.port"
	"$HARNESS" -h "$T/hk_ed25519" -h "$T/hk_ecdsa" -h "$T/hk_rsa" -a "$T/ak/%u" \
		-p 0 -w "$pf" "$@" 2>"$log" &
	local pid=$!
	E2E_PIDS+=("$pid")
	for _ in $(seq 1 100); do
		[ -s "$pf" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$pf" ]; then
		echo "harness did not start:"
		cat "$log"
		return 1
	fi
	printf -v "${var}_PORT" '%s' "$(cat "$pf")"
	printf -v "${var}_PID" '%s' "$pid"
	printf -v "${var}_LOG" '%s' "$log"
	e2e_known_hosts "$(cat "$pf")" "$T/$var.known_hosts"
}

# Stops a harness with SIGTERM and checks it exited 0 within 5 s.
stop_harness() { # pid
	stop_pid "$1"
}

# sshc PORT USER KEY KNOWN_HOSTS [ssh args...] -- runs OpenSSH ssh (60 s cap).
sshc() {
	local port=$1 user=$2 key=$3 kh=$4
	shift 4
	timeout 120 ssh -F /dev/null -p "$port" -l "$user" -i "$key" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" \
		-o GlobalKnownHostsFile=/dev/null -o LogLevel="${SSH_LOGLEVEL:-ERROR}" "$@"
}

# The `source` service's stream (dataplane/ssh/service.h): AES-128-CTR
# keystream, zero key, zero initial counter block. gen_source BYTES
gen_source() {
	openssl enc -aes-128-ctr -K 00000000000000000000000000000000 \
		-iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null | head -c "$1"
}

sha() { sha256sum | cut -d' ' -f1; }
