# Shared helpers for lab tests (sourced, bash). Each test:
#   . "$(dirname "$0")/lib.sh"
#   lab_init            # unique prefix $P, temp dir $T, cleanup trap
#   lab_on_exit 'cmd'   # registered cleanups run in reverse order, even on failure
#   check "what" cmd... / check_eq "what" expected actual / fail "why"
# A test exits 0 only if every check passed.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build
LAB_FAILS=0
LAB_CHECKS=0
_lab_cleanups=()

lab_on_exit() { _lab_cleanups+=("$1"); }

_lab_cleanup() {
	local i
	for ((i = ${#_lab_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_lab_cleanups[$i]}" >/dev/null 2>&1 || true
	done
}

_lab_exit() {
	local rc=$?
	_lab_cleanup
	if [ "$rc" -eq 0 ] && [ "$LAB_FAILS" -ne 0 ]; then rc=1; fi
	echo "== $(basename "$0"): $LAB_CHECKS checks, $LAB_FAILS failed"
	exit "$rc"
}

lab_init() {
	# Short unique prefix: interface names are limited to 15 characters.
	P="x$(printf '%04x' $(( ($$ + RANDOM) % 65536 )))"
	T=$(mktemp -d "/tmp/xlb-lab-$P.XXXXXX")
	lab_on_exit "rm -rf '$T'"
	trap _lab_exit EXIT
	trap 'exit 130' INT TERM
}

ok()   { LAB_CHECKS=$((LAB_CHECKS + 1)); echo "ok   - $*"; }
fail() { LAB_CHECKS=$((LAB_CHECKS + 1)); LAB_FAILS=$((LAB_FAILS + 1)); echo "FAIL - $*"; }

# check "description" command args...: passes when the command succeeds.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what (command: $*)"; fi
}

# check_eq "description" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		fail "$1"
		echo "  expected: $(printf '%s' "$2" | head -c 2000)"
		echo "  actual:   $(printf '%s' "$3" | head -c 2000)"
	fi
}

# wait_for SECONDS cmd...: poll (10 per second) until cmd succeeds.
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# Kill a process we started, by PID only, and wait for it.
kill_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	local n=50
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
