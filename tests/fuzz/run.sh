#!/bin/sh
# Run xlb's libFuzzer targets (built by `make fuzz-build` into build/fuzz/).
#
#   tests/fuzz/run.sh [-b BUILDDIR] [-r] [-t SECONDS] TARGET...
#
#   -r          first replay every kept crasher (tests/fuzz/regress/TARGET/*)
#               and every seed (tests/fuzz/corpus/TARGET/*) once
#   -t SECONDS  then fuzz each target for SECONDS, one process, one job;
#               new inputs go to BUILDDIR/corpus/TARGET (the committed seeds
#               are only read), a crasher to BUILDDIR/artifacts/TARGET/
#
# Prints "TARGET: N execs in T s, C crashes" per target; exits 1 when any
# replay or run failed (crash, leak, sanitizer report, timeout, OOM), with
# the tail of the target's log (the report and its stack) on stderr.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bdir=build/fuzz
replay=0
secs=0
while getopts b:rt: opt; do
	case $opt in
	b) bdir=$OPTARG ;;
	r) replay=1 ;;
	t) secs=$OPTARG ;;
	*) echo "usage: $0 [-b BUILDDIR] [-r] [-t SECONDS] TARGET..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "$0: no target" >&2; exit 2; }

# Exit at the first report (UBSan included), and leaks count (LSan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
now() { date +%s.%N; }

fail() {	# target, log, what
	echo "$1: FAILED ($3); log $2" >&2
	tail -n 60 "$2" >&2
	status=1
}

for t in "$@"; do
	bin=$bdir/$t
	log=$bdir/$t.log
	if [ ! -x "$bin" ]; then
		echo "$t: $bin missing (make fuzz-build)" >&2
		status=1
		continue
	fi

	if [ "$replay" = 1 ]; then
		files=$(find "$here/regress/$t" "$here/corpus/$t" -type f 2>/dev/null | sort)
		n=$(printf '%s\n' "$files" | grep -c . || true)
		if [ "$n" -gt 0 ]; then
			# shellcheck disable=SC2086
			if "$bin" -timeout=10 $files >"$log.replay" 2>&1; then
				nreg=$(find "$here/regress/$t" -type f 2>/dev/null | wc -l)
				echo "$t: replayed $n inputs ($nreg regressions), 0 crashes"
			else
				fail "$t" "$log.replay" "replay"
				continue
			fi
		fi
	fi

	[ "$secs" != 0 ] || continue
	work=$bdir/corpus/$t
	art=$bdir/artifacts/$t
	mkdir -p "$work" "$art"
	before=$(find "$art" -type f | wc -l)
	t0=$(now)
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" \
		"$work" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	t1=$(now)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	crashes=$(( $(find "$art" -type f | wc -l) - before ))
	[ "$rc" = 0 ] || [ "$crashes" -gt 0 ] || crashes=1
	printf '%s: %s execs in %s s, %d crashes\n' "$t" "${execs:-?}" \
		"$(awk "BEGIN { printf \"%.0f\", $t1 - $t0 }")" "$crashes"
	if [ "$rc" != 0 ]; then
		fail "$t" "$log" "exit $rc; input under $art/"
	fi
done
exit $status
