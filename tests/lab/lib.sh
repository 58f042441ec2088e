# Shared helpers for lab tests (sourced, bash). Each test:
#   . "$(dirname "$0")/lib.sh"
#   lab_init            # unique prefix $P, temp dir $T, cleanup trap
#   lab_on_exit 'cmd'   # registered cleanups run in reverse order, even on failure
#   check "what" cmd... / check_eq "what" expected actual / fail "why"
# A test exits 0 only if every check passed.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${XLB_BUILD:-$ROOT/build}  # make SAN=1 points this at build-san
LAB_FAILS=0
LAB_CHECKS=0
_lab_cleanups=()
# ok/fail/check/check_eq count in this shell's variables: run in a subshell
# (a pipeline such as `check ... | grep`, or $(check ...)) their verdict is
# lost and the check cannot fail. _lab_verdict refuses that: it reports
# the misuse on stderr (stdout may be the pipe) and leaves a mark that
# _lab_exit counts as a failure.
LAB_MAIN_PID=$BASHPID
LAB_SUBSHELL_MARK=

lab_on_exit() { _lab_cleanups+=("$1"); }

_lab_cleanup() {
	local i
	for ((i = ${#_lab_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_lab_cleanups[$i]}" >/dev/null 2>&1 || true
	done
}

_lab_exit() {
	local rc=$? n=0
	if [ -n "$LAB_SUBSHELL_MARK" ] && [ -s "$LAB_SUBSHELL_MARK" ]; then
		n=$(wc -l <"$LAB_SUBSHELL_MARK")
		echo "FAIL - $n check(s) ran in a subshell, their results lost:"
		sed 's/^/    /' "$LAB_SUBSHELL_MARK"
		LAB_CHECKS=$((LAB_CHECKS + n)); LAB_FAILS=$((LAB_FAILS + n))
	fi
	_lab_cleanup
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then [ "$LAB_FAILS" -eq 0 ] || rc=1; fi
	echo "== $(basename "$0"): $LAB_CHECKS checks, $LAB_FAILS failed"
	exit "$rc"
}

lab_init() {
	# Short unique prefix: interface names are limited to 15 characters.
	P="x$(printf '%04x' $(( ($$ + RANDOM) % 65536 )))"
	T=$(mktemp -d "/tmp/xlb-lab-$P.XXXXXX")
	lab_on_exit "rm -rf '$T'"
	LAB_SUBSHELL_MARK=$T/.checks-in-subshells
	# A bpffs of this run's own, inherited by every `ip netns exec`
	# (which hides /sys/fs/bpf): xlbd pins the fast path's maps there, so
	# they outlive one xlbd for the next, as /sys/fs/bpf does on a host.
	if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/bpffs" &&
	   mount -t bpf bpf "$T/bpffs" 2>/dev/null; then
		export LIBXDP_BPFFS=$T/bpffs
		lab_on_exit "umount -l '$T/bpffs'"
	fi
	trap _lab_exit EXIT
	trap 'exit 130' INT TERM
}

# _lab_in_main WHAT: true in the test's own shell; in a subshell, says so
# loudly and marks the run failed.
_lab_in_main() {
	[ "$BASHPID" = "$LAB_MAIN_PID" ] && return 0
	echo "FAIL - check '$1' runs in a subshell (pipeline or \$(...)): its result would be lost" >&2
	if [ -n "$LAB_SUBSHELL_MARK" ]; then echo "$1" >>"$LAB_SUBSHELL_MARK"; fi
	return 1
}

ok()   { _lab_in_main "$*"; LAB_CHECKS=$((LAB_CHECKS + 1)); echo "ok   - $*"; }
fail() { _lab_in_main "$*"; LAB_CHECKS=$((LAB_CHECKS + 1)); LAB_FAILS=$((LAB_FAILS + 1)); echo "FAIL - $*"; }

# lab_skip "why": this test cannot run here: says so loudly and exits 77,
# which tests/lab/run.sh reports as SKIPPED (and, under CI=true, fails).
lab_skip() {
	echo "SKIPPED: $(basename "$0"): $*"
	[ "${CI:-}" = true ] && echo "SKIPPED under CI=true: this fails the run"
	exit 77
}

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

# xlbd_start NS SOCK LOG [xlbd args...]: start build/xlbd in namespace NS
# with its control socket at SOCK, logging to LOG; sets XLBD_PID and waits
# until it answers on the socket (the datapath is up by then).
# XLB_FAST_PATH=on|off (default: xlbd's, on) is passed as --fast-path, so
# that run.sh can run the mode tests again with the fast path off.
xlbd_start() {
	local ns=$1 sock=$2 log=$3; shift 3
	if [ -n "${XLB_FAST_PATH:-}" ]; then set -- --fast-path "$XLB_FAST_PATH" "$@"; fi
	ip netns exec "$ns" "$B/xlbd" --socket "$sock" "$@" >>"$log" 2>&1 &
	XLBD_PID=$!
	lab_on_exit "kill_pid $XLBD_PID"
	if ! wait_for 15 "$B/xlbctl" --socket "$sock" -L -n; then
		echo "xlbd did not come up; its log:"; tail -n 30 "$log"
		return 1
	fi
}

# lab_up MODE [args]: bring a netns-lab topology up with this run's prefix,
# register its teardown, and source its env.
lab_up() {
	local mode=$1; shift
	LABDIR=$T/lab
	lab_on_exit "'$ROOT/netns-lab/lab.sh' down --prefix '$P' --dir '$LABDIR'"
	"$ROOT/netns-lab/lab.sh" up "$mode" --prefix "$P" --dir "$LABDIR" "$@" || return 1
	# shellcheck disable=SC1091
	. "$LABDIR/env"
}

# lab_start MODE [lab.sh up args]: lab_init and lab_up MODE (a lab that
# does not come up fails the test and ends it), then the names the xlbd
# tests share: S, xlbd's control socket; LOG, its log (X, C, xlbd_up below
# use them).
lab_start() {
	lab_init
	lab_up "$@" || { fail "lab up"; exit 1; }
	S=$T/xlb.sock
	LOG=$T/xlbd.log
}

# X ARGS: xlbctl on this test's xlbd. C ARGS: client.py in the client's
# namespace.
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }

# xlbd_up RULES [xlbd args...]: xlbd_start in the director's namespace on
# every director interface ($DIRECTOR_IFS), at $S and $LOG, with RULES.
xlbd_up() {
	local rules=$1 i iargs=(); shift
	for i in $DIRECTOR_IFS; do iargs+=(-i "$i"); done
	xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${iargs[@]}" --rules "$rules" "$@"
}

# The fast-path tests' helpers. stream SPORT COUNT RATE: a sequence-
# numbered UDP flow to the VIP, "sent K answered A lost L servers ...".
# field KEY LINE: the word after KEY in LINE. counter GROUP NAME: one
# xlbctl --counters value.
stream() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/fpstream.py" "$VIP" "$UDP_PORT" --sport "$1" --count "$2" --rate "$3" "${@:4}"; }
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }
counter() { X --counters 2>/dev/null | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }

# answers [FILE] [NOT]: how many lines of client.py output ("... answer")
# were answered by a real server (answer rsN), other than NOT if given.
# Count these against what was sent, rather than counting ERROR lines: a
# client that printed nothing has no ERROR lines either.
answers() { awk -v not="${2:-}" '$NF ~ /^rs[0-9]+$/ && $NF != not { n++ } END { print n + 0 }' "${1:-/dev/stdin}"; }

# Count lines of "sport answer" output per answer: "rs1 20\nrs2 21 ...".
tally() { awk '{print $2}' | sort | uniq -c | awk '{print $2, $1}'; }
