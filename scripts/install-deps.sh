#!/usr/bin/env bash
# Installs every Debian package that building and testing sshterm needs.
# Idempotent, and quiet when everything is already present.
set -eu
PKGS=(
	build-essential pkg-config make
	libssl-dev openssl
	libdpdk-dev dpdk libnuma-dev
	openssh-client openssh-server
	python3 python3-paramiko python3-scapy
	dropbear-bin
	iproute2 netcat-openbsd procps coreutils iputils-ping ethtool
)
missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
