#!/usr/bin/env bash
# Prepares a physical NIC for sshterm (DPDK) and gives it back to the kernel.
#   scripts/bind-nic.sh status
#   scripts/bind-nic.sh bind PCI_ADDR [HUGEPAGES_MB]   e.g. bind 0000:3b:00.0 2048
#   scripts/bind-nic.sh unbind PCI_ADDR KERNEL_DRIVER  e.g. unbind 0000:3b:00.0 ice
# bind: loads vfio-pci, refuses an interface that is up or carries a route (so the
# management link is never taken away), binds the device with dpdk-devbind.py and
# reserves hugepages with dpdk-hugepages.py. Then run sshterm with `-a PCI_ADDR`
# instead of the TAP vdev (docs/OPERATIONS.md).
set -eu
DEVBIND=$(command -v dpdk-devbind.py || true)
HUGE=$(command -v dpdk-hugepages.py || true)
die() { echo "bind-nic: $*" >&2; exit 1; }
[ -n "$DEVBIND" ] || die "dpdk-devbind.py not found (Debian package dpdk; scripts/install-deps.sh)"

valid_pci() { [[ $1 =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]]; }

case "${1:-}" in
status)
	"$DEVBIND" --status-dev net
	[ -n "$HUGE" ] && "$HUGE" --show
	;;
bind)
	pci=${2:-}
	mb=${3:-1024}
	valid_pci "$pci" || die "expected a PCI address like 0000:3b:00.0, got '$pci'"
	[[ $mb =~ ^[0-9]+$ ]] || die "hugepage memory must be a number of MiB"
	[ -e "/sys/bus/pci/devices/$pci" ] || die "no PCI device $pci"
	# Never take an interface that is in use by the kernel.
	for ifdir in /sys/bus/pci/devices/$pci/net/*; do
		[ -e "$ifdir" ] || continue
		ifname=$(basename "$ifdir")
		if ip -o link show "$ifname" | grep -q "state UP"; then
			die "$ifname ($pci) is up; take it down first if it is really unused"
		fi
		if ip route show dev "$ifname" 2>/dev/null | grep -q .; then
			die "$ifname ($pci) carries routes; refusing"
		fi
	done
	modprobe vfio-pci
	"$DEVBIND" --bind=vfio-pci "$pci"
	if [ -n "$HUGE" ]; then
		"$HUGE" --setup "${mb}M"
	fi
	echo "bind-nic: $pci bound to vfio-pci; run sshterm with: -a $pci -l <cores> --"
	;;
unbind)
	pci=${2:-}
	drv=${3:-}
	valid_pci "$pci" || die "expected a PCI address like 0000:3b:00.0, got '$pci'"
	[[ $drv =~ ^[a-z0-9_]+$ ]] || die "expected the kernel driver name (e.g. ice, mlx5_core, ixgbe)"
	"$DEVBIND" --bind="$drv" "$pci"
	echo "bind-nic: $pci given back to $drv"
	;;
*)
	sed -n '2,9p' "$0" >&2
	exit 2
	;;
esac
