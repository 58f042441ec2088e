#!/bin/sh
# Runs every tests/lab/test_*.sh (real xlbd, real namespaces, real traffic)
# and prints "N passed, N failed". Lab tests need root; without it they are
# reported SKIPPED, loudly, and never counted as passed.
set -u
cd "$(dirname "$0")/../.."

tests=$(ls tests/lab/test_*.sh 2>/dev/null || true)
if [ -z "$tests" ]; then
	echo "lab: no lab tests yet"
	echo "0 passed, 0 failed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "*****************************************************************"
	echo "* SKIPPED: lab tests need root (namespaces, XDP, AF_XDP).        *"
	echo "* Run 'sudo make test' to run them.                              *"
	echo "*****************************************************************"
	n=$(echo "$tests" | wc -l)
	echo "0 passed, 0 failed, $n skipped"
	exit 0
fi

pass=0; fail=0; failed=""
for t in $tests; do
	name=$(basename "$t" .sh)
	log=${XLB_BUILD:-build}/lab/$name.log
	mkdir -p "${XLB_BUILD:-build}/lab"
	start=$(date +%s)
	if timeout 600 "$t" >"$log" 2>&1; then
		pass=$((pass + 1)); res=PASS
	else
		fail=$((fail + 1)); res=FAIL; failed="$failed $name"
	fi
	printf '[%s] %s (%ss)\n' "$res" "$name" "$(( $(date +%s) - start ))"
	if [ "$res" = FAIL ]; then
		echo "---- last lines of $log ----"
		tail -n 40 "$log"
		echo "----"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
