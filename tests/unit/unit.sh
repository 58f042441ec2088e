#!/bin/bash
# Runs the Criterion unit tests: unit.sh UNIT-BINARY [criterion args...].
# As root every test runs. Without root the tests that need it (BPF, network
# namespaces) skip themselves; Criterion only shows skips with --verbose, so
# here they are listed and counted in a banner: never a silent pass.
set -u
if [ "$(id -u)" -eq 0 ]; then
	exec "$@"
fi
log=$(mktemp)
"$@" --verbose >"$log" 2>&1
rc=$?
grep -v -E '^\[(RUN |PASS)\]|^\[====\] Running ' "$log"
n=$(grep -c '^\[SKIP\]' "$log")
rm -f "$log"
if [ "$n" -gt 0 ]; then
	echo "*****************************************************************"
	printf '* SKIPPED: %-4s unit tests need root (BPF, network namespaces). *\n' "$n"
	echo "* Run 'sudo make test' to run them.                             *"
	echo "*****************************************************************"
fi
exit "$rc"
