#!/usr/bin/env bash
# ML-KEM-768 constant-time check under valgrind memcheck (st-mlkem-tool ct):
# d, z, m and the secret parts of dk (dk_pke, z) are marked undefined with
# VALGRIND_MAKE_MEM_UNDEFINED, then keygen, encaps, decaps of a valid and of a
# modified ciphertext run; any branch or memory index that depends on them is
# a memcheck error ("Conditional jump or move depends on uninitialised value",
# "Use of uninitialised value of size N"), and --error-exitcode=1 fails the run.
# Declassified on purpose: ek (public; rho inside keygen), ct after encaps,
# and the shared secrets only where the tool compares them. OpenSSL's SHA3 and
# SHAKE run on the undefined data too (no exclusion was needed).
# A negative control (st-mlkem-tool ct-leak) must be flagged, so a valgrind
# that ignores the client requests cannot pass silently.
#   tests/e2e/mlkem_ct.sh [BUILD_DIR]
set -u
B=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
tool=$B/st-mlkem-tool
pass=0
fail=0
ok() { echo "  ok   $1"; pass=$((pass + 1)); }
bad() { echo "  FAIL $1"; fail=$((fail + 1)); }

if ! command -v valgrind >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null 2>&1
	fi
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "mlkem_ct: SKIP: valgrind is not installed and could not be installed"
	echo "mlkem_ct: 0 passed, 0 failed"
	exit 0
fi
if [ ! -x "$tool" ]; then
	bad "$tool missing (make B=$B $tool)"
	echo "mlkem_ct: $pass passed, $fail failed"
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# 1. The real check: 20 rounds with fresh random secrets.
if timeout 300 valgrind -q --error-exitcode=1 --track-origins=yes "$tool" ct 20 >"$log" 2>&1 &&
	grep -q '20 rounds, 0 wrong results (under valgrind)' "$log"; then
	ok "keygen/encaps/decaps: no secret-dependent branch or index (20 rounds)"
else
	cat "$log"
	bad "constant-time check"
fi

# 2. The negative control must be caught.
if timeout 60 valgrind -q --error-exitcode=1 "$tool" ct-leak >"$log" 2>&1; then
	cat "$log"
	bad "negative control was not flagged"
elif grep -q 'Conditional jump or move depends on uninitialised value' "$log"; then
	ok "negative control flagged"
else
	cat "$log"
	bad "negative control failed for another reason"
fi

echo "mlkem_ct: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
