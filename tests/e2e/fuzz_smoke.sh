#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/) and runs each for 15 seconds with
# a fixed seed: record layer, wire buffer, key blobs/lines/signatures, key files,
# control plane, client engine, HTTP heads, the dataplane's packet input.
set -u
cd "$(dirname "$0")/../.." || exit 1
if ! make -s fuzz >/tmp/sshterm-fuzz-build.log 2>&1; then
	cat /tmp/sshterm-fuzz-build.log
	echo "fuzz_smoke: 0 passed, 1 failed"
	exit 1
fi
tests/fuzz/smoke.sh build-fuzz 15
