#!/bin/sh
# Seed inputs for fuzz_rules: rules files in ipvsadm-save format (as
# `ipvsadm -S -n` and `xlbctl -S` write them) and single command lines.
#   tests/fuzz/gen_rules_seeds.sh tests/fuzz/corpus/fuzz_rules
set -eu
out=${1:-tests/fuzz/corpus/fuzz_rules}
mkdir -p "$out"

cat >"$out/save_dr_nat_tun" <<'EOF'
-A -t 192.168.0.1:80 -s ring
-a -t 192.168.0.1:80 -r 10.0.1.2:80 -g -w 1
-a -t 192.168.0.1:80 -r 10.0.1.3:80 -i -w 2
-A -u 192.168.0.2:53 -s ring -p 300
-a -u 192.168.0.2:53 -r 10.0.1.4:5353 -m -w 3 -x 100 -y 10
EOF

# IPv6 (issue 14): ipvsadm 1.31's [addr]:port and -M as a prefix length.
cat >"$out/ipv6_save" <<'EOF'
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1
-A -t [2001:db8::1]:80 -s wrr -p 300 -M 64
-a -t [2001:db8::1]:80 -r [2001:db8::11]:80 -g -w 1
-a -t [2001:db8::1]:80 -r [2001:db8::12]:8080 -m -w 2
-A -u [2001:db8:0:1::53]:53 -s sh -b sh-port --sorry-server [2001:db8::99]:53
-a -u [2001:db8:0:1::53]:53 -r [fd00::1:53]:5353 -m -w 1
-A -t 2001:db8::2 -s ring -p
EOF

cat >"$out/ipvsadm_save_foreign" <<'EOF'
# from a real LVS director
ipvsadm -A -t 10.10.10.10:443 -s wlc -p 3600 -M 255.255.255.0
ipvsadm -a -t 10.10.10.10:443 -r 10.10.20.1:443 -g -w 100
ipvsadm -a -t 10.10.10.10:443 -r 10.10.20.2:443 -g -w 0

-A -t 10.10.10.11:80 -s rr
-a -t 10.10.10.11:80 -r 10.10.20.3:8080 -m
EOF

cat >"$out/xlbctl_words" <<'EOF'
xlbctl -A -t 192.168.0.1:80 -s ring --vnodes 40
xlbctl -a -t 192.168.0.1:80 -r 10.0.1.2 -g
xlbctl -e -t 192.168.0.1:80 -r 10.0.1.2 -w 7
xlbctl -E -t 192.168.0.1:80 -p 60
xlbctl -d -t 192.168.0.1:80 -r 10.0.1.2
xlbctl -D -t 192.168.0.1:80
EOF

cat >"$out/long_options" <<'EOF'
--add-service --tcp-service 192.168.0.1:80 --scheduler ring --persistent 120 --netmask 255.255.0.0
--add-server --tcp-service 192.168.0.1:80 --real-server 10.0.1.2:80 --gatewaying --weight 5
--add-server --tcp-service 192.168.0.1:80 --real-server 10.0.1.3:80 --ipip --weight 65535
--set 900 120 300
--zero
--clear
EOF

cat >"$out/names" <<'EOF'
-A -t vip.example:http
-a -t vip.example:http -r rs1.example
-a -t vip.example:http -r rs2.example:http -w 2
-A -u localhost:domain
EOF

printf -- '-A -t 192.168.0.1:80 -s ring -p 60 -M 255.255.255.0 --vnodes 4096\n' >"$out/cmd_add_service"
printf -- '-a -t 192.168.0.1:80 -r 10.0.1.2:80 -g -w 65535\n' >"$out/cmd_add_server"
printf -- '-L -n --stats --rate --exact\n' >"$out/cmd_list"
printf -- '-Lnc\n' >"$out/cmd_list_conns"
printf -- '--set 0 60 0\n' >"$out/cmd_set"
printf -- "-A -t '192.168.0.1:80' -s \"ring\"\n" >"$out/quotes"
printf -- '-At192.168.0.1:80 -p60\n-at192.168.0.1:80 -r10.0.1.2:80 -m\n' >"$out/bundled"
printf -- '-A -t 192.168.0.1:80\n-A -t 192.168.0.1:80\n' >"$out/duplicate_service"
printf -- '-a -t 192.168.0.9:80 -r 10.0.1.2\n' >"$out/server_without_service"
