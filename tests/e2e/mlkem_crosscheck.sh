#!/usr/bin/env bash
# ML-KEM-768 against an independent implementation: the npm package
# @noble/post-quantum (pinned in tests/crosscheck/package.json, installed by
# scripts/install-deps.sh), over MLKEM_ROUNDS random seeds (default 200), in
# both directions (tests/crosscheck/mlkem_crosscheck.mjs says what is compared).
#   tests/e2e/mlkem_crosscheck.sh [BUILD_DIR]
set -u
B=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
tool=$(cd "$root/$B" 2>/dev/null && pwd)/st-mlkem-tool
cd "$root/tests/crosscheck" || exit 1
fail_now() {
	echo "mlkem_crosscheck: $1"
	echo "mlkem_crosscheck: 0 passed, 1 failed"
	exit 1
}
[ -x "$tool" ] || fail_now "$B/st-mlkem-tool missing (make B=$B $B/st-mlkem-tool)"
command -v node >/dev/null 2>&1 || fail_now "node not installed (scripts/install-deps.sh)"
# @noble/post-quantum 0.4.1 (pinned: later versions need node >= 20.19, Debian 12 has 18) runs
# on node 18 and later.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
	fail_now "node $(node --version) is older than the 18 that @noble/post-quantum 0.4.1 needs"
fi
if [ ! -d node_modules/@noble/post-quantum ]; then
	npm install --ignore-scripts --omit=optional --no-audit --no-fund --silent >/dev/null 2>&1 ||
		fail_now "npm install failed (run scripts/install-deps.sh)"
fi
timeout 300 node mlkem_crosscheck.mjs "$tool" "${MLKEM_ROUNDS:-200}"
