#!/bin/bash
# Runs the Criterion unit tests: unit.sh UNIT-BINARY [criterion args...].
# Criterion reports skipped tests only with --verbose, so the run is always
# verbose (into a log; the per-test RUN/PASS lines are left out of what is
# shown) and the skips are listed and counted: never a silent pass.
# Without root the tests that need it (BPF, network namespaces) skip
# themselves: a SKIPPED banner, the run still passes. Under CI (CI=true,
# run as root, where nothing has a reason to skip) any skip fails the run.
# Tests left out by --filter are reported "Test is disabled": with a
# --filter those are not counted; without one they are (a test disabled
# in the source is a skip like any other).
set -u
filtered=0
for a in "$@"; do
	case $a in --filter|--filter=*) filtered=1 ;; esac
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Shown as it runs (a SAN=1 run takes minutes), kept whole in the log.
"$@" --verbose 2>&1 | tee "$log" | grep --line-buffered -v -E '^\[(RUN |PASS)\]|^\[====\] Running '
rc=${PIPESTATUS[0]}
if [ "$filtered" = 1 ]; then
	n=$(grep '^\[SKIP\]' "$log" | grep -c -v ': Test is disabled$')
else
	n=$(grep -c '^\[SKIP\]' "$log")
fi
if ! grep -q '^\[====\] Synthesis:' "$log"; then
	echo "unit: the test binary did not reach its summary (exit $rc)"
	[ "$rc" -ne 0 ] || rc=1
fi
if [ "$n" -gt 0 ]; then
	echo "*****************************************************************"
	printf '* SKIPPED: %-4s unit tests (listed above with [SKIP]).          *\n' "$n"
	if [ "$(id -u)" -ne 0 ]; then
		echo "* They need root (BPF, network namespaces): 'sudo make test'.  *"
	fi
	if [ "${CI:-}" = true ]; then
		echo "* CI=true: a skipped test fails the run.                        *"
		[ "$rc" -ne 0 ] || rc=1
	fi
	echo "*****************************************************************"
fi
exit "$rc"
