#!/bin/bash
# xlbd under valgrind (memcheck), in the DR lab, through its whole life:
# start with --rules, configuration by xlbctl (adds, edits, deletes,
# timeouts, zeroing, save/restore), HTTP and UDP traffic from the client,
# a server deleted with live connections, then SIGTERM. Passes only if
# memcheck reports no error and no definite leak (--error-exitcode) and the
# heap summary says nothing was lost.
#
# Runs the plain build (valgrind cannot run an ASan binary): under
# `make test SAN=1` it builds build/xlbd first. Suppressions (libbpf/libxdp
# internals only, each explained): tests/lab/valgrind.supp.
. "$(dirname "$0")/lib.sh"
lab_init

VB=$ROOT/build
if ! command -v valgrind >/dev/null; then fail "valgrind is installed"; exit 1; fi
if [ "$(cd "$B" && pwd)" != "$VB" ]; then
	# make test SAN=1: B is the instrumented tree; build the plain daemon.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$ROOT" --no-print-directory SAN=0 BUILD=build build/xlbd build/xlbctl ||
		{ fail "plain build/xlbd builds"; exit 1; }
fi
for f in "$VB/xlbd" "$VB/xlbctl"; do
	[ -x "$f" ] || { fail "$f is not built (run make)"; exit 1; }
done

lab_up dr || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
VGLOG=$T/valgrind.log
X() { "$VB/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
set -- $RS_NAMES; N2=$2

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
-A -u $VIP:$UDP_PORT -s ring
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -g -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -g -w 1
RULES

# 1. Start: memcheck is slow to start (BPF load, libxdp), give it 60 s.
t0=$(date +%s)
ip netns exec "$DIRECTOR_NS" valgrind --tool=memcheck --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite \
	--error-exitcode=99 --num-callers=30 \
	--suppressions="$ROOT/tests/lab/valgrind.supp" --log-file="$VGLOG" \
	"$VB/xlbd" --socket "$S" -i "$DIRECTOR_IF" --rules "$T/rules" >>"$LOG" 2>&1 &
VG_PID=$!
lab_on_exit "kill_pid $VG_PID KILL"
if ! wait_for 60 X -L -n; then
	fail "xlbd under valgrind answers on its socket within 60 s"
	tail -n 30 "$LOG" "$VGLOG"; exit 1
fi
ok "xlbd under valgrind answers on its socket after $(( $(date +%s) - t0 )) s"
# xdp_on: an XDP program on the director's interface (0), none (1), `ip`
# failed (2): the negative check at the end cannot pass on a broken `ip`.
xdp_on() {
	local out
	out=$(ip -n "$DIRECTOR_NS" link show "$DIRECTOR_IF") || return 2
	grep -q xdp <<<"$out"
}
xdp_off() { xdp_on; [ $? -eq 1 ]; }
check "xlbd attached its XDP program" xdp_on

# 2. Configuration: every kind of change the control plane has.
check "add a TCP service" X -A -t "$VIP:8080" -s ring
check "add a real server to it (NAT)" X -a -t "$VIP:8080" -r "$RS1:80" -m -w 2
check "add a second one (TUN)" X -a -t "$VIP:8080" -r "$RS2:8080" -i -w 1
check "edit a real server's weight" X -e -t "$VIP:8080" -r "$RS1:80" -m -w 5
check "make the service persistent" X -E -t "$VIP:8080" -s ring -p 120
check "delete a real server" X -d -t "$VIP:8080" -r "$RS2:8080"
check "add a third server to the live TCP service" X -a -t "$VIP:80" -r "$RS3:80" -g -w 1
check "set timeouts" X --set 900 120 300
X -S -n >"$T/saved"
check "save lists the services" grep -q -- "-A -t $VIP:8080" "$T/saved"
check "clear everything" X -C
check_eq "nothing is left" "" "$(X -S -n)"
check "restore the saved configuration" X -R <"$T/saved"
check_eq "restore gives back what was saved" "$(cat "$T/saved")" "$(X -S -n)"
check "delete a service" X -D -t "$VIP:8080"

# 3. Traffic through the daemon under valgrind.
C http "$VIP" 80 --count 30 --timeout 5 >"$T/http.txt"
check_eq "30 HTTP requests all answered" 30 "$(answers "$T/http.txt")"
C udp "$VIP" "$UDP_PORT" --sport 41000 --count 20 >"$T/udp.txt"
check_eq "20 UDP requests all answered" 20 "$(answers "$T/udp.txt")"
want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
got=$(C http "$VIP" 80 --path "/$(basename "$BIG_FILE")" --timeout 20 | awk '{print $2, $3}')
check_eq "1 MiB download arrives intact" "$want 1048576" "$got"
check "connections are listed" bash -c "'$VB/xlbctl' --socket '$S' -L -n -c | grep -q '^TCP'"
X -L -n --stats >/dev/null
check "zero the counters" X -Z

# A server deleted with live entries (they are flushed), then UDP again.
check "delete a UDP server with live entries" X -d -u "$VIP:$UDP_PORT" -r "$RS2:$UDP_PORT"
C udp "$VIP" "$UDP_PORT" --sport 41000 --count 20 >"$T/udp2.txt"
check_eq "UDP still answered after the delete" 20 "$(answers "$T/udp2.txt")"
check_eq "and never by the deleted server" 0 "$(grep -c " $N2\$" "$T/udp2.txt")"
check "clear everything" X -C

# 4. SIGTERM: xlbd frees everything and exits 0; memcheck then reports.
kill -TERM "$VG_PID"
n=600
while [ "$n" -gt 0 ] && kill -0 "$VG_PID" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
if kill -0 "$VG_PID" 2>/dev/null; then
	fail "xlbd under valgrind exits within 60 s of SIGTERM"
else
	wait "$VG_PID"; rc=$?
	check_eq "xlbd exits 0 and memcheck found no error or definite leak (99 = found)" 0 "$rc"
fi
check "xlbd logged its exit" grep -q "exiting" "$LOG"
check "xlbd left its XDP program attached" xdp_on
check "xlbd --detach removes it" \
	ip netns exec "$DIRECTOR_NS" "$VB/xlbd" --socket "$S" --detach -i "$DIRECTOR_IF"
check "and it is gone" xdp_off

echo "---- valgrind summary ----"
sed -n 's/^==[0-9]*== //p' "$VGLOG" | grep -E "total heap usage|in use at exit|lost:|reachable:|ERROR SUMMARY|All heap blocks"
check "memcheck ran to its summary" grep -q "ERROR SUMMARY" "$VGLOG"
check "ERROR SUMMARY: 0 errors" grep -q "ERROR SUMMARY: 0 errors" "$VGLOG"
if grep -q "All heap blocks were freed" "$VGLOG"; then
	ok "all heap blocks were freed"
else
	for kind in "definitely lost" "indirectly lost" "possibly lost"; do
		check "$kind: 0 bytes" grep -q "$kind: 0 bytes" "$VGLOG"
	done
fi
if [ "$LAB_FAILS" -ne 0 ]; then
	echo "---- valgrind log (first 150 lines) ----"; sed -n 1,150p "$VGLOG"
	echo "---- xlbd log ----"; tail -n 20 "$LOG"
fi
echo "test took $(( $(date +%s) - t0 )) s after the lab was up"
