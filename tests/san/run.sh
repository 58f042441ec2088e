#!/bin/sh
# tests/san/run.sh CMD [ARGS...]: run CMD (the unit tests, or the lab runner)
# with ASan + UBSan + LeakSanitizer options for every instrumented process it
# starts, then fail if any of them left a report.
#
# Why reports go to files: Criterion runs each test in a forked child and
# counts a test that leaks at exit as passed; lab tests start xlbd in the
# background and stop it with SIGTERM, so its exit status and stderr are
# never looked at. With log_path every instrumented process writes its own
# report file, <dir>/san.<pid>, only when it has something to say; an empty
# directory after the run means: no leak, no memory error, no UB anywhere.
# (gcc 12's UBSan writes its diagnostic to the process's stderr, i.e. the
# test's log, and only its SUMMARY line, with file:line, to the file; that
# is enough to fail the run. -fno-sanitize-recover makes it fatal anyway.)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
dir=${XLB_SAN_LOGS:-${XLB_BUILD:-$ROOT/build-san}/san-logs/$(basename "$1")}
rm -rf "$dir"
mkdir -p "$dir"
# Lab tests also run the instrumented xlbctl as an unprivileged user.
chmod 1777 "$dir"

common="log_path=$dir/san:print_summary=1"
# detect_leaks is the default on x86-64; spelled out because it is the point.
export ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$ROOT/tests/san/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

"$@"
rc=$?

reports=$(ls "$dir" 2>/dev/null)
if [ -n "$reports" ]; then
	echo "*****************************************************************"
	echo "* sanitizer reports (ASan / LSan / UBSan) in $dir:"
	echo "*****************************************************************"
	for f in $reports; do
		echo "---- $f ----"
		head -n 60 "$dir/$f"
	done
	echo "sanitizers: $(echo "$reports" | wc -w) report(s): FAIL"
	[ "$rc" -ne 0 ] || rc=1
else
	echo "sanitizers: no reports"
fi
exit "$rc"
