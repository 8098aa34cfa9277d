#!/bin/sh
# Run one libFuzzer harness of a fuzz build (see fuzz/meson.build) for a
# number of seconds over its seed corpus, with its dictionary, and print
# one line of what it did. Exits non-zero if the harness found a crash,
# a leak, undefined behaviour or a hang; the input that did it is saved
# under BUILD/fuzz/run/NAME/crashes/.
#
# With "smoke" the run starts afresh from the seed corpus in
# BUILD/fuzz/smoke/NAME, so its cost does not grow with what earlier
# runs found (libFuzzer replays its whole corpus before it looks at the
# clock), and it does not share files with a long run going on.
#   usage: fuzz/run-fuzzer.sh BUILD NAME SECONDS [smoke]
set -eu

if [ $# -ne 3 ] && { [ $# -ne 4 ] || [ "$4" != smoke ]; }; then
	echo "usage: $0 BUILD NAME SECONDS [smoke]" >&2
	exit 64
fi
build=$1
name=$2
secs=$3
src=$(cd "$(dirname "$0")" && pwd)
exe=$build/fuzz/fuzz-$name
# New inputs go to the build folder: the seed corpus in the tree stays
# small and hand-made, and is only read.
work=$build/fuzz/run/$name
if [ $# -eq 4 ]; then
	work=$build/fuzz/smoke/$name
	rm -rf "$work"
fi
mkdir -p "$work/corpus" "$work/crashes"
log=$work/log

set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/crashes/"
if [ -f "$src/$name.dict" ]; then
	set -- "$@" -dict="$src/$name.dict"
fi
# Undefined behaviour aborts (-fno-sanitize-recover) with a stack.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
"$exe" "$@" "$work/corpus" "$src/corpus/$name" >"$log" 2>&1 || status=$?

# libFuzzer's last status line: "#N DONE cov: C ft: F corp: ... exec/s: E"
last=$(grep -a -E '^#[0-9]+' "$log" | tail -n 1 || true)
execs=$(printf '%s\n' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
field() {
	printf '%s\n' "$last" |
	    awk -v k="$1:" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'
}
printf 'fuzz-%s: %s s, %s execs, %s exec/s, cov: %s, ft: %s, corp: %s\n' \
    "$name" "$secs" "${execs:-?}" "$(field exec/s)" "$(field cov)" \
    "$(field ft)" "$(field corp)"
if [ "$status" -ne 0 ]; then
	echo "fuzz-$name: FAILED (exit $status); log $log:" >&2
	grep -a -E -A 40 '^==[0-9]+==|runtime error|ERROR: libFuzzer' "$log" |
	    head -n 60 >&2 || tail -n 40 "$log" >&2
	ls "$work/crashes" >&2
	[ $# -eq 3 ] || echo "(a smoke run: $work is removed by the next one)" >&2
	exit 1
fi
