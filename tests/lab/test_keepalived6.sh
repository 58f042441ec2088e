#!/bin/bash
# keepalived's IPv6 configurations through a real xlbd (issue 14 item 4):
# * keepalived's own IPv6 sample (tests/keepalived-samples/, with its
#   SMTP_CHECK) converts, and `xlbctl -R` loads the result into a running
#   xlbd, which saves it back line for line (-S -n);
# * a keepalived.conf for this lab's IPv6 VIP and real servers, each
#   checked by an SMTP_CHECK (translated as a TCP check of the same port),
#   converts and is xlbd's --rules: 30 of 30 curl -6 requests are answered
#   over DR beside the IPv4 service, and every IPv6 server is up by its
#   TCP check (checks run, none failed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start dr6

K=$ROOT/tests/keepalived-samples
(cd "$K" && "$B/xlbctl" --from-keepalived keepalived.conf.IPv6) >"$T/sample.rules" 2>"$T/sample.msgs"
check_eq "keepalived's IPv6 sample converts (exit status 0)" 0 "$?"
check "its SMTP_CHECK is translated with a warning" \
	grep -qF "warning: SMTP_CHECK: xlb has no SMTP check; translated as a TCP check of the same port" "$T/sample.msgs"

# A keepalived.conf for this lab: the IPv6 service with SMTP_CHECKs on
# the web port (host { } blocks, the second naming another host), and
# the IPv4 one beside it.
{
	echo "virtual_server $VIP6 $HTTP_PORT {"
	echo "    delay_loop 1"
	echo "    lb_algo rr"
	echo "    lb_kind DR"
	echo "    protocol TCP"
	for ip in $RS_IPS6; do
		echo "    real_server $ip $HTTP_PORT {"
		echo "        SMTP_CHECK {"
		echo "            connect_timeout 1"
		echo "            retry 1"
		echo "            helo_name lab.example.org"
		echo "            host {"
		echo "                connect_ip $ip"
		echo "            }"
		echo "            host {"
		echo "                connect_ip $DIRECTOR_IP6"
		echo "            }"
		echo "        }"
		echo "    }"
	done
	echo "}"
	echo "virtual_server $VIP $HTTP_PORT {"
	echo "    lb_algo rr"
	echo "    lb_kind DR"
	for ip in $RS_IPS; do
		echo "    real_server $ip $HTTP_PORT {"
		echo "        TCP_CHECK {"
		echo "        }"
		echo "    }"
	done
	echo "}"
} >"$T/keepalived.conf"
"$B/xlbctl" --from-keepalived "$T/keepalived.conf" >"$T/lab.rules" 2>"$T/lab.msgs"
check_eq "a keepalived.conf with an IPv6 service and SMTP_CHECKs converts" 0 "$?"
check "-A -t [$VIP6]:$HTTP_PORT with a TCP check" \
	grep -qE -- "^-A -t \[$VIP6\]:$HTTP_PORT -s rr --check tcp " "$T/lab.rules"
check "the second host of each SMTP_CHECK is named as not checked" \
	grep -qF "SMTP_CHECK: host [$DIRECTOR_IP6]:$HTTP_PORT is not checked" "$T/lab.msgs"

xlbd_up "$T/lab.rules" || { fail "xlbd starts with the converted rules"; cat "$T/lab.rules"; exit 1; }
ok "xlbd starts with the converted rules"
v6_thirty "$T/30.txt"
check_eq "30 of 30 curl -6 requests answered by a real server" 30 "$(grep -c '^rs[0-9]*$' "$T/30.txt")"
n=$(grep '^rs[0-9]*$' "$T/30.txt" | sort -u | wc -l)
check "spread over at least two servers ($n)" test "$n" -ge 2
C http "$VIP" "$HTTP_PORT" --count 10 >"$T/v4.txt"
check_eq "the IPv4 service beside it answers (10 of 10)" 10 "$(answers "$T/v4.txt")"

# Every IPv6 server up by its (translated) check, after checks ran.
up_by_checks() {
	X -L -n --health -t "[$VIP6]:$HTTP_PORT" >"$T/health.txt" 2>&1 || return 1
	[ "$(awk '$1 == "->" && $3 == "up" && $5 > 0' "$T/health.txt" | wc -l)" -eq "$N_SERVERS" ]
}
check "every IPv6 server is up by its TCP check, checks run" wait_for 10 up_by_checks
cat "$T/health.txt"
check_eq "no check failed" 0 "$(counter health failed)"

# The sample's rules into the running xlbd with -R, saved back as given.
check "xlbctl -R loads the converted IPv6 sample" X -R <"$T/sample.rules"
X -S -n >"$T/save.txt" 2>&1
grep -v '^#' "$T/sample.rules" >"$T/sample.lines"
check_eq "the sample gives one service and one real server" 2 "$(wc -l <"$T/sample.lines")"
check_eq "-S -n gives the sample's rules back line for line" \
	"$(cat "$T/sample.lines")" "$(grep -F '[ae00::' "$T/save.txt")"
kill_pid "$XLBD_PID"
