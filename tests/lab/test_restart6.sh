#!/bin/bash
# IPv6 connections survive an xlbd restart (issue 14): the connection
# table's state file holds IPv6 entries (format version 2) and the new
# xlbd adopts them. NAT66: a rate-limited 1 MiB curl -6 download through
# the director across SIGKILL + start arrives intact, and the UDP IPv6
# entries made before the restart are listed (-L -n -c) by the new xlbd
# before any new packet.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start nat6

v6_rules -m >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }
check_eq "30 UDP requests over IPv6 before the restart answered" 30 \
	"$(C udp "$VIP6" "$UDP_PORT" --count 30 | answers /dev/stdin)"
X -L -n -c >"$T/before.txt" 2>&1
nb=$(grep -c "^UDP .*\[$VIP6\]:$UDP_PORT" "$T/before.txt")
check "IPv6 UDP entries listed before the restart ($nb)" test "$nb" -ge 1

want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
curl6 "$BIG_FILE" --limit-rate 200k --max-time 30 -o "$T/big" &
cp=$!
lab_on_exit "kill_pid $cp"
sleep 2
kill -KILL "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null
xlbd_up "$T/rules" -v || { fail "xlbd restarts"; exit 1; }
X -L -n -c >"$T/after.txt" 2>&1
na=$(grep -c "^UDP .*\[$VIP6\]:$UDP_PORT" "$T/after.txt")
check_eq "the restarted xlbd lists the same IPv6 UDP entries before any new packet" \
	"$(grep "^UDP .*\[$VIP6\]:$UDP_PORT" "$T/before.txt" | awk '{print $4, $5, $6}' | sort)" \
	"$(grep "^UDP .*\[$VIP6\]:$UDP_PORT" "$T/after.txt" | awk '{print $4, $5, $6}' | sort)"
check "and adopted them (log)" grep -qE "adopted [1-9]" "$LOG"
wait "$cp"
check_eq "a 1 MiB NAT66 download across SIGKILL + start arrives intact" "$want" \
	"$(sha256sum <"$T/big" | cut -d' ' -f1)"
kill_pid "$XLBD_PID"
