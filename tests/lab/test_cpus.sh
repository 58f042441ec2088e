#!/bin/bash
# CPU placement is the operator's: xlbd runs only on the CPUs it was
# started with (taskset, systemd's CPUAffinity=, a cpuset) or chose with
# --cpus, every thread of it, workers round robin over them; a --cpus that
# is garbage or names a CPU outside the allowed set is refused.
#
# xlbd serves one end of a veth pair with 2 queues (2 workers).
. "$(dirname "$0")/lib.sh"
lab_init

NQ=2 N1=${P}-c1 N2=${P}-c2 IF=${P}ca
for ns in $N1 $N2; do
	lab_on_exit "ip netns del $ns"
	ip netns add "$ns" || { fail "create namespace $ns"; exit 1; }
	ip -n "$ns" link set lo up
done
ip link add $IF numtxqueues $NQ numrxqueues $NQ netns $N1 type veth \
	peer name ${P}cb numtxqueues $NQ numrxqueues $NQ netns $N2
ip -n $N1 link set $IF up
ip -n $N2 link set ${P}cb up
NCPU=$(nproc)

# start_xlbd NAME [prefix command...] -- [xlbd args...]: xlbd in N1 (exec'd
# through the prefix, so $! is xlbd itself); sets PID, waits for its socket.
start_xlbd() {
	local name=$1 pre=(); shift
	while [ "$1" != -- ]; do pre+=("$1"); shift; done; shift
	S=$T/$name.sock LOG=$T/$name.log
	ip netns exec $N1 "${pre[@]}" "$B/xlbd" --socket "$S" -i $IF "$@" >"$LOG" 2>&1 &
	PID=$!
	lab_on_exit "kill_pid $PID"
	wait_for 15 "$B/xlbctl" --socket "$S" -L -n || { cat "$LOG"; return 1; }
}

# allowed PID: "comm cpus" for every thread of PID.
allowed() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "$(cat "$t/comm") $(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status")"
	done
}

# only_cpu NAME CPU: every thread of xlbd (PID) is allowed CPU alone.
only_cpu() {
	local a
	a=$(allowed "$PID"); echo "$a" | tr '\n' ' '; echo
	check_eq "$1: xlbd has its 2 workers" 2 "$(grep -c '^xlb-w' <<<"$a")"
	check_eq "$1: every xlbd thread is allowed only CPU $2" \
		"$(wc -l <<<"$a") x $2" "$(awk '{ print $2 }' <<<"$a" | sort | uniq -c | awk '{ print $1 " x " $2 }')"
}

if [ "$NCPU" -lt 2 ]; then
	fail "this test needs 2 CPUs (nproc says $NCPU)"
	exit 1
fi
start_xlbd taskset taskset -c 1 -- || fail "taskset -c 1 xlbd starts"
check_eq "the PID is xlbd's own" xlbd "$(cat /proc/$PID/comm)"
only_cpu "taskset -c 1" 1
check "it says where its workers run" grep -q "round robin over CPU(s) 1$" "$LOG"
kill_pid "$PID"

start_xlbd cpus1 -- --cpus 1 || fail "xlbd --cpus 1 starts"
only_cpu "--cpus 1" 1
kill_pid "$PID"

# Round robin: with CPUs 0-1, worker 0 on 0 and worker 1 on 1; the control
# thread may use both.
start_xlbd rr -- --cpus 0-1 || fail "xlbd --cpus 0-1 starts"
a=$(allowed "$PID"); echo "$a" | tr '\n' ' '; echo
check_eq "--cpus 0-1: worker 0 on CPU 0" "xlb-w0 0" "$(grep '^xlb-w0 ' <<<"$a")"
check_eq "--cpus 0-1: worker 1 on CPU 1" "xlb-w1 1" "$(grep '^xlb-w1 ' <<<"$a")"
check_eq "--cpus 0-1: the control thread on both" "xlbd 0-1" "$(grep '^xlbd ' <<<"$a")"
kill_pid "$PID"

# refused CASE EXPECTED-MESSAGE [prefix...] -- ARGS: exits 1 at once with
# the message, and attaches nothing.
refused() {
	local what=$1 msg=$2 pre=() rc=0; shift 2
	while [ "$1" != -- ]; do pre+=("$1"); shift; done; shift
	ip netns exec $N1 timeout 20 "${pre[@]}" "$B/xlbd" --socket "$T/bad.sock" -i $IF "$@" \
		>"$T/bad.log" 2>&1 || rc=$?
	cat "$T/bad.log"
	check_eq "$what: refused (exit 1)" 1 "$rc"
	check "$what: says why" grep -qF -- "$msg" "$T/bad.log"
}
# What the earlier runs left on the link (nothing, or their program kept
# attached across a stop): the refused runs must not change it.
xdp_before=$(ip -n $N1 -o link show $IF | grep -o 'prog/xdp id [0-9]*' || true)
refused "--cpus x" '--cpus: "x": a list of CPU numbers and ranges, e.g. 0-3,8,10-11' -- --cpus x
refused "--cpus 1-" '--cpus: "1-": a list of CPU numbers and ranges' -- --cpus 1-
refused "--cpus 3-1" '--cpus: "3-1": a list of CPU numbers and ranges' -- --cpus 3-1
refused "--cpus 1,,2" '--cpus: "1,,2": a list of CPU numbers and ranges' -- --cpus 1,,2
refused "--cpus 99999" '--cpus: "99999": CPU numbers go up to 1023' -- --cpus 99999
refused "taskset -c 1 + --cpus 0-1" '--cpus 0-1: CPU 0 not allowed (xlbd may run on 1)' \
	taskset -c 1 -- --cpus 0-1
links=$(ip -n $N1 -o link show $IF)
check "ip shows the served link" grep -q "$IF" <<<"$links"
check_eq "the refused runs attached nothing (XDP: ${xdp_before:-none})" "$xdp_before" \
	"$(grep -o 'prog/xdp id [0-9]*' <<<"$links" || true)"
