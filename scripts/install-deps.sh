#!/usr/bin/env bash
# Installs the Debian packages sshterm needs. Idempotent, and quiet when
# everything is already present.
#   scripts/install-deps.sh          building, running and testing (`make test`)
#   scripts/install-deps.sh --run    building and running only (`make run`)
# A failing apt-get or npm prints its own output and the script exits non-zero.
set -eu
mode=test
[ "${1:-}" = "--run" ] && mode=run
# What building and running the daemon needs (and ssh-keygen for its host keys).
PKGS=(
	build-essential pkg-config make
	libssl-dev openssl
	libdpdk-dev dpdk libnuma-dev
	librte-crypto-ipsec-mb23 libipsec-mb1 librte-crypto-openssl23
	openssh-client
	iproute2 procps coreutils
)
if [ "$mode" = test ]; then
	PKGS+=(
		openssh-server libssh-dev
		python3 python3-paramiko python3-scapy
		dropbear-bin
		clang libclang-rt-14-dev
		valgrind
		netcat-openbsd iputils-ping ethtool bc
		tmux curl   # daemon_metrics.sh: sshtermctl top on a terminal, GET /metrics
		prometheus  # daemon_metrics.sh: promtool check metrics
		mandoc      # man_pages.sh: mandoc -T lint
		systemd     # daemon_systemd.sh: systemd-analyze verify
		fail2ban    # daemon_fail2ban.sh: fail2ban-regex with the stock sshd filter
	)
	# node and npm: used for the npm ssh2, @noble/post-quantum (ML-KEM) and liboqs (sntrup761)
	# cross-checks. A machine that already has a node (e.g. from elsewhere than Debian) keeps it.
	command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
	command -v npm >/dev/null 2>&1 || PKGS+=(npm)
fi

here=$(cd "$(dirname "$0")/.." && pwd)
npm_modules() { # the pinned test-only npm packages (tests/crosscheck/package.json)
	[ "$mode" = test ] || return 0
	[ -d "$here/tests/crosscheck/node_modules/ssh2" ] &&
		[ -d "$here/tests/crosscheck/node_modules/@noble/post-quantum" ] &&
			[ -d "$here/tests/crosscheck/node_modules/@oqs/liboqs-js" ] && return 0
	local log
	log=$(mktemp)
	if ! (cd "$here/tests/crosscheck" &&
		npm install --ignore-scripts --omit=optional --no-audit --no-fund --no-progress) >"$log" 2>&1; then
		echo "install-deps: npm install in tests/crosscheck failed:" >&2
		cat "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	npm_modules
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	echo "install-deps: apt-get failed:" >&2
	cat "$log" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
npm_modules
