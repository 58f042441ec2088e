#!/bin/bash
# Control plane, end to end: a real xlbd on a temporary socket, driven by
# xlbctl with ipvsadm's commands. Checks ipvsadm's layouts character for
# character, save/restore round trips (including ipvsadm-save output with
# -s wlc; -R all or nothing, as one batch, bigger than a datagram), edits that keep unnamed fields, every error (message, exit
# status, tables unchanged), timeouts, zeroing, permissions (SO_PEERCRED,
# socket mode, --group), garbage on the socket, --rules at start, SIGTERM.
#
# Run as root (tests/lab/run.sh). Exit 0 = every check passed.
. "$(dirname "$0")/lib.sh"
lab_init

CTL=$B/xlbctl
XLBD=$B/xlbd
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then fail "needs root"; exit 1; fi
for f in "$CTL" "$XLBD"; do
	[ -x "$f" ] || { fail "$f is not built (run make)"; exit 1; }
done

# The temp dir must be reachable (x) by nobody, so that only the socket's
# own mode and xlbd's SO_PEERCRED check stand between nobody and xlbd.
chmod 0711 "$T"
SOCK=$T/xlb.sock
XLBD_PID=

# xlbd attaches XDP and AF_XDP to its interface: give it the loopback of a
# namespace of this test's own (generic XDP: lo has no native XDP).
NS=$P-ctl
ip netns add "$NS" || { fail "cannot create namespace $NS"; exit 1; }
lab_on_exit "ip netns del '$NS'"
ip -n "$NS" link set lo up

start_xlbd() {
	ip netns exec "$NS" "$XLBD" -i lo --xdp-mode skb --socket "$SOCK" "$@" >>"$T/xlbd.log" 2>&1 &
	XLBD_PID=$!
	lab_on_exit "kill_pid $XLBD_PID"
	if ! wait_for 5 test -S "$SOCK"; then
		fail "xlbd did not create $SOCK; log:"; cat "$T/xlbd.log"
		exit 1
	fi
}

stop_xlbd() {
	kill -TERM "$XLBD_PID"
	wait "$XLBD_PID"
	STOP_RC=$?
	XLBD_PID=
}

ctl() { "$CTL" --socket "$SOCK" "$@"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# Text between the heredoc lines, with a trailing '|' marking where each
# line ends (ipvsadm's columns leave trailing blanks).
text() { sed 's/|$//'; }

# run CMD...: sets OUT, ERR, RC.
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# expect_error "what" status "message part" cmd...: cmd fails with that
# exit status, says that on stderr, and -S -n is unchanged.
expect_error() {
	local what=$1 status=$2 msg=$3; shift 3
	local before after
	before=$(ctl -S -n)
	run "$@"
	after=$(ctl -S -n)
	if [ "$RC" -ne "$status" ]; then
		fail "$what: exit status $RC, expected $status (stderr: $ERR)"
	elif [[ "$ERR" != *"$msg"* ]]; then
		fail "$what: stderr '$ERR' does not say '$msg'"
	elif [ "$before" != "$after" ]; then
		fail "$what: tables changed"; echo "$before"; echo "--"; echo "$after"
	else
		ok "$what: exit $status, '$ERR', tables unchanged"
	fi
}

# ---- daemon not running -------------------------------------------------
run ctl -L -n
check_eq "xlbctl without xlbd exits 3" 3 "$RC"
check_eq "xlbctl without xlbd names the socket" \
	"xlbctl: cannot connect to $SOCK: No such file or directory (is xlbd running?)" "$ERR"
run env XLB_SOCKET="$SOCK" "$CTL" -L -n
check_eq "XLB_SOCKET names the socket" \
	"xlbctl: cannot connect to $SOCK: No such file or directory (is xlbd running?)" "$ERR"

start_xlbd

# ---- empty table ---------------------------------------------------------
run ctl -L -n
check_eq "-L -n on an empty table exits 0" 0 "$RC"
HEADER=$(printf '%s\n' "$OUT" | head -n 1)
if [[ "$HEADER" =~ ^IP\ Virtual\ Server\ version\ 1\.2\.1\ \(size=[0-9]+\)$ ]]; then
	ok "version line: $HEADER"
else
	fail "version line '$HEADER'"
fi
check_eq "-L -n of an empty table" "$(text <<EOF
$HEADER
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
EOF
)" "$OUT"
check_eq "bare xlbctl lists like -L (empty: no names to resolve)" "$OUT" "$(ctl)"

# ---- services and servers of every method --------------------------------
check "add TCP service (default scheduler)" ctl -A -t 10.0.0.1:80
check "add persistent TCP service (-p = 300)" ctl -A -t 10.0.0.1:443 -s ring -p
check "add persistent UDP service with mask" ctl --add-service --udp-service 10.0.0.2:53 -p 60 -M 255.255.255.0
check "add DR server (default method, port from the service)" ctl -a -t 10.0.0.1:80 -r 10.0.1.1
check "add NAT server on another port" ctl -a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3
check "add TUN server with weight 0" ctl -a -t 10.0.0.1:80 -r 10.0.1.3 -i -w 0
check "add DR server with weight 65535" ctl -a -t 10.0.0.1:443 -r 10.0.1.1:443 -g -w 65535
check "add NAT server to the UDP service" ctl --add-server -u 10.0.0.2:53 --real-server 10.0.1.4:5353 --masquerading --weight 2

LIST=$(text <<EOF
$HEADER
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 ring
  -> 10.0.1.1:80                  Route   1      0          0         |
  -> 10.0.1.2:8080                Masq    3      0          0         |
  -> 10.0.1.3:80                  Tunnel  0      0          0         |
TCP  10.0.0.1:443 ring persistent 300
  -> 10.0.1.1:443                 Route   65535  0          0         |
UDP  10.0.0.2:53 ring persistent 60 mask 255.255.255.0
  -> 10.0.1.4:5353                Masq    2      0          0         |
EOF
)
check_eq "-L -n matches ipvsadm's layout" "$LIST" "$(ctl -L -n)"
check_eq "-Ln (bundled) is the same" "$LIST" "$(ctl -Ln)"

SAVE=$(text <<'EOF'
-A -t 10.0.0.1:80 -s ring
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 0 --tun-type ipip
-A -t 10.0.0.1:443 -s ring -p 300
-a -t 10.0.0.1:443 -r 10.0.1.1:443 -g -w 65535
-A -u 10.0.0.2:53 -s ring -p 60 -M 255.255.255.0
-a -u 10.0.0.2:53 -r 10.0.1.4:5353 -m -w 2
EOF
)
check_eq "-S -n matches ipvsadm-save's format" "$SAVE" "$(ctl -S -n)"

check_eq "-L -n -t lists one service (no version line)" "$(text <<EOF
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:443 ring persistent 300
  -> 10.0.1.1:443                 Route   65535  0          0         |
EOF
)" "$(ctl -L -n -t 10.0.0.1:443)"

check_eq "-L -n --stats layout" "$(text <<EOF
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.0.0.1:443                        0        0        0        0        0
  -> 10.0.1.1:443                        0        0        0        0        0
EOF
)" "$(ctl -L -n --stats -t 10.0.0.1:443)"

check_eq "-L -n --rate layout" "$(text <<EOF
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
UDP  10.0.0.2:53                         0        0        0        0        0
  -> 10.0.1.4:5353                       0        0        0        0        0
EOF
)" "$(ctl -L -n --rate -u 10.0.0.2:53)"

check_eq "-L -n -c layout (no connections without traffic)" "$(text <<'EOF'
IPVS connection entries
pro expire state       source             virtual            destination
EOF
)" "$(ctl -L -n -c)"

# ---- save, clear, restore --------------------------------------------------
ctl -S -n >"$T/saved"
check "-C clears" ctl -C
check_eq "after -C the table is empty" "" "$(ctl -S -n)"
run ctl -R <"$T/saved"
check_eq "-R of -S output exits 0" "0:" "$RC:$ERR"
check_eq "-R restores identical -S output" "$SAVE" "$(ctl -S -n)"
check_eq "-R restores identical -L output" "$LIST" "$(ctl -L -n)"

# ipvsadm-save -n output from a kernel IPVS, with its default scheduler.
check "-C before ipvsadm-save input" ctl -C
run ctl -R <<'EOF'
# Generated by ipvsadm-save
-A -t 207.175.44.110:80 -s wlc -p 300 -M 255.255.255.0
-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.2:80 -g -w 0
-A -u 207.175.44.110:53 -s wlc
-a -u 207.175.44.110:53 -r 192.168.10.1:53 -g -w 5
-A -t 207.175.44.111:443 -s rr
-a -t 207.175.44.111:443 -r 192.168.10.3:443 -i -w 1
EOF
check_eq "ipvsadm-save input with -s wlc restores" 0 "$RC"
check_eq "no warning: every IPVS scheduler exists" "" "$ERR"
check_eq "ipvsadm-save input keeps its schedulers" "$(text <<'EOF'
-A -t 207.175.44.110:80 -s wlc -p 300 -M 255.255.255.0
-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.2:80 -g -w 0
-A -t 207.175.44.111:443 -s rr
-a -t 207.175.44.111:443 -r 192.168.10.3:443 -i -w 1 --tun-type ipip
-A -u 207.175.44.110:53 -s wlc
-a -u 207.175.44.110:53 -r 192.168.10.1:53 -g -w 5
EOF
)" "$(ctl -S -n)"
check_eq "its -L -n (ipvsadm's ANCHORS example)" "$(text <<EOF
$HEADER
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  207.175.44.110:80 wlc persistent 300 mask 255.255.255.0
  -> 192.168.10.1:80              Masq    1      0          0         |
  -> 192.168.10.2:80              Route   0      0          0         |
TCP  207.175.44.111:443 rr
  -> 192.168.10.3:443             Tunnel  1      0          0         |
UDP  207.175.44.110:53 wlc
  -> 192.168.10.1:53              Route   5      0          0         |
EOF
)" "$(ctl -L -n)"

check "-C, then restore the first set" ctl -C
ctl -R <"$T/saved"

# ---- edits keep what they do not name --------------------------------------
check "-E sets vnodes only" ctl -E -t 10.0.0.1:443 --vnodes 40
check_eq "-E kept persistence, -S shows --vnodes" "-A -t 10.0.0.1:443 -s ring -p 300 --vnodes 40" \
	"$(ctl -S -n | grep -- '-A -t 10.0.0.1:443')"
check "-E -p 0 turns persistence off" ctl -E -t 10.0.0.1:443 -p 0
check_eq "-E -p 0 kept vnodes" "-A -t 10.0.0.1:443 -s ring --vnodes 40" \
	"$(ctl -S -n | grep -- '-A -t 10.0.0.1:443')"
check "-E -p 120 turns it back on" ctl -E -t 10.0.0.1:443 -p 120 --vnodes 160
check_eq "-E -p 120" "-A -t 10.0.0.1:443 -s ring -p 120" "$(ctl -S -n | grep -- '-A -t 10.0.0.1:443')"
check "-e changes the weight of a NAT server" ctl -e -t 10.0.0.1:80 -r 10.0.1.2:8080 -w 7
check_eq "-e kept masquerading and the port" "-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 7" \
	"$(ctl -S -n | grep -- '-r 10.0.1.2:8080')"
check "-e changes the method of a server" ctl -e -t 10.0.0.1:80 -r 10.0.1.3 -g
check_eq "-e kept the weight" "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 0" \
	"$(ctl -S -n | grep -- '-r 10.0.1.3:80')"
check "-e stores thresholds" ctl -e -t 10.0.0.1:80 -r 10.0.1.3 -x 100 -y 10
check_eq "-S shows thresholds" "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 0 -x 100 -y 10" \
	"$(ctl -S -n | grep -- '-r 10.0.1.3:80')"
check "-d deletes a server" ctl -d -t 10.0.0.1:80 -r 10.0.1.3
check "-D deletes a service" ctl -D -t 10.0.0.1:443
check_eq "after -d and -D" "$(text <<'EOF'
-A -t 10.0.0.1:80 -s ring
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 7
-A -u 10.0.0.2:53 -s ring -p 60 -M 255.255.255.0
-a -u 10.0.0.2:53 -r 10.0.1.4:5353 -m -w 2
EOF
)" "$(ctl -S -n)"

# ---- errors: message, status, nothing changed ------------------------------
expect_error "duplicate service" 2 "exists" ctl -A -t 10.0.0.1:80
expect_error "edit of an unknown service" 2 "10.9.9.9:80" ctl -E -t 10.9.9.9:80 -p
expect_error "delete of an unknown service" 2 "10.9.9.9:80" ctl -D -t 10.9.9.9:80
expect_error "server for an unknown service" 2 "10.9.9.9:80" ctl -a -t 10.9.9.9:80 -r 10.0.1.1
expect_error "duplicate server" 2 "exists" ctl -a -t 10.0.0.1:80 -r 10.0.1.1
expect_error "edit of an unknown server" 2 "10.0.9.9" ctl -e -t 10.0.0.1:80 -r 10.0.9.9 -w 2
expect_error "delete of an unknown server" 2 "10.0.9.9" ctl -d -t 10.0.0.1:80 -r 10.0.9.9
expect_error "weight out of range" 1 "xlbctl: weight 70000 out of range 0..65535" \
	ctl -a -t 10.0.0.1:80 -r 10.0.1.9 -w 70000
expect_error "DR port mismatch" 1 "real server port 8080 differs from the service port 80" \
	ctl -a -t 10.0.0.1:80 -r 10.0.1.9:8080 -g
expect_error "TUN port mismatch" 1 "tunnelling (-i) cannot change the port" \
	ctl -a -t 10.0.0.1:80 -r 10.0.1.9:8080 -i
expect_error "-e -g onto a NAT server on another port" 1 "direct routing (-g) cannot change the port" \
	ctl -e -t 10.0.0.1:80 -r 10.0.1.2:8080 -g -w 7
expect_error "unknown scheduler" 1 "xlbctl: unknown scheduler 'fancy' (known schedulers: ring, rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)" \
	ctl -A -t 10.0.0.5:80 -s fancy
expect_error "bad address" 1 "bad service address '10.0.0.300'" ctl -A -t 10.0.0.300:80
expect_error "bad port" 1 "bad service port '70000'" ctl -A -t 10.0.0.1:70000
# IPv6 (issue 14): xlbd forwards IPv6 services (ctl_server.h XLB_CTL_IPV6);
# a real server must be of its service's family.
check "IPv6 service accepted by xlbd" ctl -A -t '[2001:db8::1]:80'
expect_error "IPv6 real server of an IPv4 service refused" 2 "across address families" \
	ctl -a -t 10.0.0.1:80 -r '[2001:db8::11]:80'
check "-R with an IPv6 service and server" ctl -R <<'EOF'
-A -t [2001:db8::2]:80 -s wrr -p 300 -M 64
-a -t [2001:db8::2]:80 -r [2001:db8::11]:80 -g -w 1
EOF
ctl -S -n >"$T/save6.txt" 2>&1
check "-S -n saves the IPv6 server" grep -qF -- '-a -t [2001:db8::2]:80 -r [2001:db8::11]:80 -g -w 1' "$T/save6.txt"
check "delete the first IPv6 service again" ctl -D -t '[2001:db8::1]:80'
check "delete the second IPv6 service again" ctl -D -t '[2001:db8::2]:80'
expect_error "malformed IPv6 address" 1 "expected [IPv6 address]:port" ctl -A -t '[2001:db8::1]80'
expect_error "unknown option" 1 "unknown option '--bogus'" ctl -A -t 10.0.0.5:80 --bogus
expect_error "two commands" 1 "multiple commands specified" ctl -A -a -t 10.0.0.5:80
expect_error "missing -r" 1 "needs the 'real-server' option" ctl -a -t 10.0.0.1:80
expect_error "--set with 2 values" 1 "--set needs 3 timeout values" ctl --set 1 2
expect_error "-R with a bad line: nothing applied" 1 "line 3: weight 70000 out of range" \
	ctl -R <<'EOF'
-A -t 10.0.0.7:80
# comment
-a -t 10.0.0.7:80 -r 10.0.1.1 -w 70000
EOF
expect_error "-R refused by xlbd on line 1" 2 "-R: line 1:" ctl -R <<'EOF'
-A -t 10.0.0.1:80
-A -t 10.0.0.8:80
EOF
# -R is one batch in xlbd: a refused line leaves the lines before it unapplied.
expect_error "-R refused by xlbd on line 3: lines 1-2 not applied either" 2 "-R: line 3:" \
	ctl -R <<'EOF'
-A -t 10.0.0.8:80

-A -t 10.0.0.1:80
EOF
expect_error "-R whose line 5 duplicates line 1: nothing applied" 2 \
	"xlbctl: -R: line 5: service 10.0.0.20:80/tcp already exists (nothing applied)" \
	ctl -R <<'EOF'
-A -t 10.0.0.20:80 -s ring
-a -t 10.0.0.20:80 -r 10.0.1.1:80 -g -w 1
# line 3 is a comment
-A -u 10.0.0.21:53
-A -t 10.0.0.20:80 -s ring
-a -u 10.0.0.21:53 -r 10.0.1.2:53 -g -w 1
EOF


# ---- timeouts and zero -------------------------------------------------------
check_eq "default timeouts" "Timeout (tcp tcpfin udp): 900 120 300" "$(ctl -L --timeout)"
check "--set 1000 100 200" ctl --set 1000 100 200
check_eq "-L --timeout after --set" "Timeout (tcp tcpfin udp): 1000 100 200" "$(ctl -L --timeout)"
check "--set 0 0 250 changes only udp" ctl --set 0 0 250
check_eq "0 leaves a timeout unchanged" "Timeout (tcp tcpfin udp): 1000 100 250" "$(ctl -L --timeout)"
check "-Z zeroes all" ctl -Z
check "-Z -t zeroes one service" ctl -Z -t 10.0.0.1:80
expect_error "-Z of an unknown service" 2 "10.9.9.9:80" ctl -Z -t 10.9.9.9:80

# ---- permissions -----------------------------------------------------------
check_eq "socket mode without --group is 0600" "600" "$(stat -c %a "$SOCK")"
run as_nobody "$CTL" --socket "$SOCK" -L -n
check_eq "nobody cannot connect to a 0600 socket (exit 3)" 3 "$RC"
case $ERR in *"Permission denied"*) ok "nobody is told: $ERR" ;;
	*) fail "nobody's error: '$ERR'" ;; esac
# With the file mode opened by hand, xlbd's own SO_PEERCRED check remains.
chmod 0666 "$SOCK"
before=$(ctl -S -n)
run as_nobody "$CTL" --socket "$SOCK" -A -t 10.0.0.9:80
check_eq "xlbd refuses a change from nobody (exit 2)" 2 "$RC"
case $ERR in *"ermi"*|*"not permitted"*) ok "nobody's change refused: $ERR" ;;
	*) fail "nobody's change refused with: '$ERR'" ;; esac
run as_nobody "$CTL" --socket "$SOCK" -C
check_eq "xlbd refuses -C from nobody" 2 "$RC"
run as_nobody "$CTL" --socket "$SOCK" --set 1 1 1
check_eq "xlbd refuses --set from nobody" 2 "$RC"
check_eq "tables unchanged by nobody" "$before" "$(ctl -S -n)"
run as_nobody "$CTL" --socket "$SOCK" -S -n
check_eq "nobody may read when the file mode lets it" "0:$before" "$RC:$OUT"

# ---- garbage on the socket ---------------------------------------------------
before=$(ctl -S -n)
if "$PY" "$HERE/ctl_garbage.py" "$SOCK" >"$T/garbage" 2>&1; then
	ok "garbage: every malformed request answered with an error ($(grep '^summary' "$T/garbage"))"
else
	fail "garbage:"; cat "$T/garbage"
fi
check "xlbd is alive after garbage" kill -0 "$XLBD_PID"
check_eq "tables unchanged by garbage" "$before" "$(ctl -S -n)"
check_eq "xlbd still answers" "Timeout (tcp tcpfin udp): 1000 100 250" "$(ctl -L --timeout)"

# ---- SIGTERM -------------------------------------------------------------------
stop_xlbd
check_eq "SIGTERM: xlbd exits 0" 0 "$STOP_RC"
check "SIGTERM: socket removed" test ! -e "$SOCK"

# ---- --group -----------------------------------------------------------------
GRP=xlb$P
if groupadd "$GRP"; then
	lab_on_exit "groupdel '$GRP'"
	GID=$(getent group "$GRP" | cut -d: -f3)
	start_xlbd --group "$GRP"
	check_eq "socket mode with --group is 0660" "660" "$(stat -c %a "$SOCK")"
	check_eq "socket group is --group" "$GRP" "$(stat -c %G "$SOCK")"
	run setpriv --reuid=65534 --regid="$GID" --clear-groups "$CTL" --socket "$SOCK" -A -t 10.0.0.9:80
	check_eq "a member of --group (primary gid) can change tables" "0:" "$RC:$ERR"
	run setpriv --reuid=65534 --regid=65534 --groups="$GID" "$CTL" --socket "$SOCK" -a -t 10.0.0.9:80 -r 10.0.1.1
	check_eq "a member of --group (supplementary) can change tables" "0:" "$RC:$ERR"
	run as_nobody "$CTL" --socket "$SOCK" -D -t 10.0.0.9:80
	check_eq "a non-member cannot even connect" 3 "$RC"
	check_eq "the member's changes are there" "$(text <<'EOF'
-A -t 10.0.0.9:80 -s ring
-a -t 10.0.0.9:80 -r 10.0.1.1:80 -g -w 1
EOF
)" "$(ctl -S -n)"
	stop_xlbd
	check_eq "SIGTERM with --group: exit 0" 0 "$STOP_RC"
else
	fail "groupadd $GRP failed"
fi

# ---- --rules at start -----------------------------------------------------------
printf '%s\n' "# rules for xlbd" "$SAVE" >"$T/rules"
start_xlbd --rules "$T/rules"
check_eq "xlbd --rules starts with those tables" "$SAVE" "$(ctl -S -n)"
stop_xlbd
check_eq "SIGTERM after --rules: exit 0" 0 "$STOP_RC"

printf '%s\n' "-A -t 10.0.0.1:80" "# two" "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -g" >"$T/bad.rules"
timeout 10 ip netns exec "$NS" "$XLBD" -i lo --xdp-mode skb --socket "$SOCK" --rules "$T/bad.rules" >"$T/bad.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "line 3" "$T/bad.log"; then
	ok "xlbd refuses a bad rules file (exit $rc): $(head -n 1 "$T/bad.log")"
else
	fail "bad rules file: exit $rc, log: $(cat "$T/bad.log")"
fi
check "no socket left by the refused start" test ! -e "$SOCK"

printf '%s\n' "-A -t 10.0.0.1:80" "-A -t 10.0.0.1:80" >"$T/dup.rules"
timeout 10 ip netns exec "$NS" "$XLBD" -i lo --xdp-mode skb --socket "$SOCK" --rules "$T/dup.rules" >"$T/dup.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "line 2" "$T/dup.log"; then
	ok "xlbd refuses rules its tables refuse (exit $rc): $(head -n 1 "$T/dup.log")"
else
	fail "duplicate in rules file: exit $rc, log: $(cat "$T/dup.log")"
fi

# ---- a restore bigger than a datagram ------------------------------------------
# 2,000 services with 3 servers each (8,000 rules, several 64 KiB datagrams),
# on a daemon of its own: clearing 6,000 servers is slow in the datapath's
# connection-table sweep, so this ends with SIGTERM rather than -C.
for ((i = 0; i < 2000; i++)); do
	vip=10.2.$((i / 250)).$((i % 250 + 1)):80
	echo "-A -t $vip -s ring"
	for s in 1 2 3; do echo "-a -t $vip -r 10.3.0.$s:8080 -m -w $s"; done
done >"$T/big.rules"
{ cat "$T/big.rules"; echo "-A -t 10.2.0.1:80"; } >"$T/big-dup.rules"
: >"$T/xlbd.log"
start_xlbd
expect_error "8,000 rules with line 8001 duplicating line 1: nothing applied" 2 \
	"xlbctl: -R: line 8001: service 10.2.0.1:80/tcp already exists (nothing applied)" \
	ctl -R <"$T/big-dup.rules"
run ctl -R <"$T/big.rules"
check_eq "-R of 2,000 services x 3 servers ($(wc -c <"$T/big.rules") bytes) exits 0" "0:" "$RC:$ERR"
check_eq "-S -n gives back all 8,000 rules" "$(cat "$T/big.rules")" "$(ctl -S -n)"
check_eq "xlbd applied them as one change" 1 \
	"$(grep -c 'batch of 8000 requests applied as one change' "$T/xlbd.log")"
stop_xlbd
check_eq "SIGTERM with 8,000 rules: exit 0" 0 "$STOP_RC"
