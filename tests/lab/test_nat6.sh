#!/bin/bash
# NAT66 end to end (issue 14): the director rewrites VIP6 -> RIP6 and back
# (pseudo-header checksums); real servers route back through it and see
# the client's own IPv6 address. Beside an IPv4 NAT service on the same
# director, with its IPv6 and IPv4 forwarding off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start nat6

# nginx logs the peer's address first. The lab's readiness probes (from
# the director) are in the logs already: start them afresh (nginx appends).
for f in "$LABDIR"/rs*/access.log; do : >"$f"; done
v6_common -m
# Every IPv6 request came from the client's address (NAT66 rewrites the
# destination only): 30 + the 1 MiB download, nothing from another source.
n=$(cat "$LABDIR"/rs*/access.log 2>/dev/null | grep -c "^$CLIENT_IP6 ")
check "the real servers saw the client's IPv6 address ($CLIENT_IP6) in $n requests" test "$n" -ge 31
n=$(cat "$LABDIR"/rs*/access.log 2>/dev/null | grep -vc -e "^$CLIENT_IP6 " -e "^$CLIENT_IP ")
check_eq "and no request from any other address (the director's $DIRECTOR_IP6_RS)" 0 "$n"
v6_save_restore
kill_pid "$XLBD_PID"
