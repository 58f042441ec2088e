#!/bin/sh
# Runs every tests/lab/test_*.sh (real xlbd, real namespaces, real traffic)
# and prints "N passed, N failed, N skipped". Lab tests need root; without
# it they are reported SKIPPED, loudly, and never counted as passed. A test
# that exits 77 (lab_skip in lib.sh) is SKIPPED too. Under CI (CI=true) a
# skip of either kind fails the run: CI runs as root, where nothing may skip.
set -u
cd "$(dirname "$0")/../.."

# XLB_LAB_TESTS="test_dr test_nat" runs only those (default: every one).
if [ -n "${XLB_LAB_TESTS:-}" ]; then
	tests=$(for n in $XLB_LAB_TESTS; do echo "tests/lab/${n%.sh}.sh"; done)
else
	tests=$(ls tests/lab/test_*.sh 2>/dev/null || true)
fi
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
	if [ "${CI:-}" = true ]; then
		echo "lab: CI=true: skipped lab tests fail the run (CI must run as root)"
		exit 1
	fi
	exit 0
fi

# Every test runs with xlbd's default, the fast path on; the mode tests
# run a second time with it off (XLB_FAST_PATH=off through lib.sh's
# xlbd_start), as "NAME[fast-path-off]". XLB_LAB_FP_OFF="" skips that.
fp_off=${XLB_LAB_FP_OFF-test_dr test_nat test_tun test_dr6 test_nat6 test_tun6}
runs=$tests
for n in $fp_off; do
	if echo "$tests" | grep -qx "tests/lab/$n.sh"; then
		runs="$runs
tests/lab/$n.sh:off"
	fi
done

pass=0; fail=0; skip=0; failed=""; skipped=""
for r in $runs; do
	t=${r%:off}
	name=$(basename "$t" .sh)
	fp=
	if [ "$t" != "$r" ]; then fp=off; name="$name[fast-path-off]"; fi
	log=${XLB_BUILD:-build}/lab/$name.log
	mkdir -p "${XLB_BUILD:-build}/lab"
	start=$(date +%s)
	if [ -n "$fp" ]; then
		XLB_FAST_PATH=off timeout 600 "$t" >"$log" 2>&1
	else
		timeout 600 "$t" >"$log" 2>&1
	fi
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); res=PASS
	elif [ "$rc" -eq 77 ]; then
		skip=$((skip + 1)); res=SKIPPED; skipped="$skipped $name"
	else
		fail=$((fail + 1)); res=FAIL; failed="$failed $name"
	fi
	printf '[%s] %s (%ss)\n' "$res" "$name" "$(( $(date +%s) - start ))"
	if [ "$res" = SKIPPED ]; then
		grep -E '^SKIPPED' "$log" | head -n 3
	fi
	if [ "$res" = FAIL ]; then
		echo "---- last lines of $log ----"
		tail -n 40 "$log"
		echo "----"
	fi
done
if [ "$skip" -gt 0 ]; then
	echo "*****************************************************************"
	echo "* SKIPPED lab tests:$skipped"
	[ "${CI:-}" = true ] && echo "* CI=true: a skipped test fails the run."
	echo "*****************************************************************"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] || exit 1
if [ "$skip" -gt 0 ] && [ "${CI:-}" = true ]; then exit 1; fi
exit 0
