#!/usr/bin/env bash
# Installs every Debian package that building and testing sshterm needs.
# Idempotent, and quiet when everything is already present.
set -eu
PKGS=(
	build-essential pkg-config make
	libssl-dev openssl
	libdpdk-dev dpdk libnuma-dev
	librte-crypto-ipsec-mb23 libipsec-mb1 librte-crypto-openssl23
	openssh-client openssh-server libssh-dev
	python3 python3-paramiko python3-scapy
	dropbear-bin
	clang libclang-rt-14-dev
	valgrind
	iproute2 netcat-openbsd procps coreutils iputils-ping ethtool
	tmux curl # tests/e2e/daemon_metrics.sh: sshtermctl top on a terminal, GET /metrics
)
# promtool (Debian's prometheus package, ~100 MB with the server and its web
# assets) is not installed here: daemon_metrics.sh runs `promtool check metrics`
# where it is present and says SKIP otherwise.
# node and npm: used for the npm ssh2, @noble/post-quantum (ML-KEM) and liboqs (sntrup761) cross-checks. A machine that already has a
# node (e.g. from elsewhere than Debian) keeps it.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

here=$(cd "$(dirname "$0")/.." && pwd)
npm_modules() { # the pinned test-only npm packages (tests/crosscheck/package.json)
	[ -d "$here/tests/crosscheck/node_modules/ssh2" ] &&
		[ -d "$here/tests/crosscheck/node_modules/@noble/post-quantum" ] &&
			[ -d "$here/tests/crosscheck/node_modules/@oqs/liboqs-js" ] && return 0
	(cd "$here/tests/crosscheck" &&
		npm install --ignore-scripts --omit=optional --no-audit --no-fund --silent)
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_modules
