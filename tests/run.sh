#!/usr/bin/env bash
# Runs every test program and prints one closing line "N passed, N failed".
#   tests/run.sh [--unit-only] [BUILD_DIR]
# Unit tests are the binaries BUILD_DIR/tests/test_*; end-to-end tests are the
# executable tests/e2e/*.sh and tests/e2e/*.py. Each prints its own
# "<name>: N passed, N failed" line; a program that dies without one, or exits
# non-zero, counts as one more failure.
set -u
unit_only=0
if [ "${1:-}" = "--unit-only" ]; then unit_only=1; shift; fi
B=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 1

total_pass=0
total_fail=0
failed_names=()
# What failed, repeated at the end: a CI log may keep only its head and tail.
fail_report=$(mktemp)
timings=$(mktemp)

run_one() { # name, timeout seconds, command...
	local name=$1 limit=$2
	shift 2
	local log
	log=$(mktemp)
	echo "== $name"
	local t0=$SECONDS
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	echo "$((SECONDS - t0)) $name" >> "$timings"
	local line p f
	line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/.*(^|: )([0-9]+) passed, ([0-9]+) failed.*/\2/')
		f=$(echo "$line" | sed -E 's/.*(^|: )([0-9]+) passed, ([0-9]+) failed.*/\3/')
	else
		p=0
		f=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "   $name exited with status $rc"
		f=1
	fi
	dpdk_sweep
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		{
			echo "-- $name (exit $rc):"
			grep -E '^ *(FAIL|not ok)' "$log" | head -n 20
		} >> "$fail_report"
	fi
	rm -f "$log"
}

shopt -s nullglob
# DPDK runtime directories (/run/dpdk/<file-prefix>) that a test leaves
# behind (a crash, a kill) are removed after it; those there before are kept,
# and so is one a live process still maps (a DPDK process started meanwhile by
# something else on this machine) or has a socket bound in (its telemetry).
dpdk_before=$(ls /run/dpdk 2>/dev/null | sort)
dpdk_sweep() {
	local d
	for d in $(comm -13 <(printf '%s\n' $dpdk_before) <(ls /run/dpdk 2>/dev/null | sort)); do
		grep -qs "/run/dpdk/$d/" /proc/net/unix /proc/[0-9]*/maps && continue
		rm -rf "/run/dpdk/$d"
	done
}
trap dpdk_sweep EXIT
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" 600 "$t"
done

if [ "$unit_only" -eq 0 ]; then
	for t in tests/e2e/*.sh tests/e2e/*.py; do
		[ -x "$t" ] || continue
		run_one "e2e/$(basename "$t")" 1200 "$t" "$B"
	done
fi

echo "slowest: $(sort -rn "$timings" | head -n 8 | awk '{printf "%s %ss  ", $2, $1}')(all: ${SECONDS}s)"
if [ "${#failed_names[@]}" -gt 0 ]; then
	cat "$fail_report"
	echo "failing: ${failed_names[*]}"
fi
rm -f "$fail_report" "$timings"
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ]
