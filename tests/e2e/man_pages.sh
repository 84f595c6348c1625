#!/usr/bin/env bash
# The manual pages: sshterm(8), sshterm.conf(5), sshtermctl(8).
#  - `mandoc -T lint` reports nothing but cross references to pages this
#    machine lacks (sshd_config(5) and the like, from its manual database);
#  - sshterm.conf.5 is what scripts/man-conf.py makes from docs/OPERATIONS.md
#    (tests/unit/test_conf_docs.c checks that every parser keyword is there);
#  - sshtermctl.8 describes every command that `sshtermctl -h` lists, and
#    sshterm.8 every option of the daemon's getopt string.
#   tests/e2e/man_pages.sh [BUILD_DIR]
# Prints "man_pages: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
B=${1:-build}
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/     /'; fail=$((fail + 1)); }

PAGES="docs/man/sshterm.8 docs/man/sshterm.conf.5 docs/man/sshtermctl.8"
if command -v mandoc >/dev/null; then
	for p in $PAGES; do
		out=$(mandoc -T lint "$p" 2>&1 | grep -v -e 'referenced manual not found' -e 'mandoc.db')
		[ -z "$out" ] && ok "mandoc -T lint $p" || bad "mandoc -T lint $p" "$out"
	done
else
	bad "mandoc is not installed (scripts/install-deps.sh installs it)"
fi

if python3 scripts/man-conf.py docs/OPERATIONS.md > /tmp/man_pages.$$ 2>&1 &&
	cmp -s /tmp/man_pages.$$ docs/man/sshterm.conf.5; then
	ok "sshterm.conf.5 is up to date with docs/OPERATIONS.md"
else
	bad "sshterm.conf.5 differs from what scripts/man-conf.py makes (run it)" \
		"$(diff /tmp/man_pages.$$ docs/man/sshterm.conf.5 | head -6)"
fi
rm -f /tmp/man_pages.$$

# sshtermctl -h: "  NAME  [ID]  what" lines under "commands:".
cmds=$("$B/sshtermctl" -h | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && $1 != "commands:" {print $1}')
missing=
for c in $cmds; do
	grep -q "^\.It Cm $c\( \|$\)" docs/man/sshtermctl.8 || missing="$missing $c"
done
[ -n "$cmds" ] && [ -z "$missing" ] && ok "sshtermctl.8 describes every command ($(echo $cmds | wc -w))" ||
	bad "sshtermctl.8 lacks commands:${missing:- (none listed by -h)}"

# The daemon's options, from its getopt string in the source.
opts=$(sed -n 's/.*getopt(argc, argv, "\([^"]*\)").*/\1/p' dataplane/sshterm_main.c | head -1 | tr -d ':+')
missing=
for ((i = 0; i < ${#opts}; i++)); do
	o=${opts:i:1}
	grep -q "^\.It Fl $o\( \|$\)" docs/man/sshterm.8 || missing="$missing -$o"
done
[ -n "$opts" ] && [ -z "$missing" ] && ok "sshterm.8 describes every option (-$opts)" ||
	bad "sshterm.8 lacks options:${missing:- (no getopt string found)}"

echo "man_pages: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
