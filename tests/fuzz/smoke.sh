#!/usr/bin/env bash
# Runs every libFuzzer harness for a bounded time with a fixed seed.
#   tests/fuzz/smoke.sh FUZZ_BUILD_DIR SECONDS_EACH
# Prints "fuzz: N passed, N failed"; a crash, leak or timeout fails that harness
# and leaves its reproducer (crash-*) in FUZZ_BUILD_DIR/artifacts.
set -u
B=${1:-build-fuzz}
S=${2:-15}
SEEDS=$(dirname "$0")/corpus
mkdir -p "$B/artifacts"
pass=0
fail=0
for f in "$B"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="$B/corpus/$name"
	mkdir -p "$corpus"
	# committed seeds (tests/fuzz/corpus/NAME without fuzz_), read but not written
	seeds=()
	[ -d "$SEEDS/${name#fuzz_}" ] && seeds=("$SEEDS/${name#fuzz_}")
	if timeout $((S + 60)) "$f" -seed=1 -max_total_time="$S" -print_final_stats=1 -max_len=70000 -rss_limit_mb=2048 \
		-timeout=10 -artifact_prefix="$B/artifacts/$name-" "$corpus" "${seeds[@]}" >"$B/$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "  ok   $name ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$B/$name.log" | grep -Eo '[0-9]+' || echo '?') runs)"
	else
		fail=$((fail + 1))
		echo "  FAIL $name"
		tail -n 30 "$B/$name.log"
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
