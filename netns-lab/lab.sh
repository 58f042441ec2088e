#!/bin/bash
# netns-lab: LVS topologies in network namespaces on one machine.
#
#   lab.sh up     dr|nat|tun|dr6|nat6|tun6|ecmp [--prefix P] [--servers N] [--dir D] [--one-arm]
#                 [--client-queues N] [--directors N] [--routing bgp|ospf]
#   lab.sh down   [dr|nat|tun|dr6|nat6|tun6|ecmp] [--prefix P] [--dir D]
#   lab.sh status [dr|nat|tun|dr6|nat6|tun6|ecmp] [--prefix P] [--dir D]
#   lab.sh director add|start|crash|kill|stop I [--prefix P] [--dir D]
#
# P (default: $XLB_LAB_PREFIX or "xlb", at most 8 characters: interface
# names are limited to 15) names every namespace "P-*"; D (default
# /tmp/xlb-netns-P) holds the lab's files and "env", a shell file with
# DIRECTOR_NS, DIRECTOR_IF(S), VIP, CLIENT_NS, RS_NS, RS_IPS, ... for tests
# and the demo (NAT, TUN: also DIRECTOR_IF_CLIENT, DIRECTOR_IF_RS,
# DIRECTOR_IP_RS, RS_NET). "up" of an existing lab tears it down first;
# "down" is idempotent. --one-arm (NAT only): the real servers share the
# client's segment and the director has one interface. --client-queues N
# (NAT, TUN): the director's client-side veth (both ends) has N RX and TX
# queues (default 1), over which the client's flows spread. TUN decapsulation:
# XLB_LAB_DECAP=auto|xdp|ipip, XLB_DECAP_OBJ. ecmp: --directors N (default
# 3) directors, each with xlbd and BIRD, behind a BIRD router doing ECMP,
# announcing over BGP (default) or OSPF (--routing ospf);
# "director" acts on director I of an ecmp lab that is up: add (a new one,
# with the same rules; the router learns of it), start (what of it is not
# running), crash (interface down, every process SIGKILL: a machine dying),
# kill (xlbd alone, SIGKILL), stop (xlbd alone, SIGTERM). dr6, nat6, tun6:
# the same topologies dual stack (IPv4 as above plus fd00:<h>::/32, env
# adds VIP6, CLIENT_IP6, DIRECTOR_IP6, RS_IPS6, ...; see topo.sh). Root
# only. See README.md.
set -eu
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"

usage() { sed -n '4,8p' "$0" | sed 's/^# *//' >&2; exit 2; }

[ $# -ge 1 ] || usage
CMD=$1; shift
MODE=dr
LAB_PREFIX=${XLB_LAB_PREFIX:-xlb}
LAB_SERVERS=3
LAB_ARMS=2
LAB_CLIENT_QUEUES=1
LAB_DIRECTORS=3
LABDIR=
DIR_ACTION='' DIR_INDEX=''
if [ "$CMD" = director ]; then
	[ $# -ge 2 ] || usage
	DIR_ACTION=$1 DIR_INDEX=$2; shift 2
	case $DIR_ACTION in add|start|crash|kill|stop) ;; *) usage ;; esac
	case $DIR_INDEX in [1-9]|[1-9][0-9]) ;; *) lab_die "director: index 1 to 99" ;; esac
fi
while [ $# -gt 0 ]; do
	case $1 in
	dr|nat|tun|dr6|nat6|tun6|ecmp) MODE=$1 ;;
	--directors) LAB_DIRECTORS=${2:?}; shift ;;
	--routing) LAB_ECMP_ROUTING=${2:?}; shift ;;
	--prefix) LAB_PREFIX=${2:?}; shift ;;
	--servers) LAB_SERVERS=${2:?}; shift ;;
	--dir) LABDIR=${2:?}; shift ;;
	--one-arm) LAB_ARMS=1 ;;
	--client-queues) LAB_CLIENT_QUEUES=${2:?}; shift ;;
	-h|--help) usage ;;
	*) echo "lab: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
case $LAB_PREFIX in
	[a-z]|[a-z][a-z0-9]|[a-z][a-z0-9][a-z0-9]|[a-z][a-z0-9][a-z0-9][a-z0-9]) ;;
	[a-z][a-z0-9][a-z0-9][a-z0-9][a-z0-9]|[a-z][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]) ;;
	[a-z][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]) ;;
	[a-z][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]) ;;
	*) lab_die "prefix '$LAB_PREFIX': 1 to 8 characters [a-z0-9], starting with a letter" ;;
esac
case $LAB_CLIENT_QUEUES in
	[1-9]|[1-9][0-9]|[1-9][0-9][0-9]) ;;
	*) lab_die "--client-queues: 1 to 999" ;;
esac
[ "$LAB_CLIENT_QUEUES" = 1 ] || [ "${MODE%6}" != dr ] || [ "$CMD" != up ] ||
	lab_die "--client-queues is for NAT and TUN"
case $LAB_DIRECTORS in
	[1-9]|[1-9][0-9]) ;;
	*) lab_die "--directors: 1 to 99" ;;
esac
case $LAB_SERVERS in
	[1-9]|[1-9][0-9]) ;;
	*) lab_die "--servers: 1 to 99" ;;
esac
LABDIR=${LABDIR:-/tmp/xlb-netns-$LAB_PREFIX}
[ "$(id -u)" -eq 0 ] || lab_die "needs root (network namespaces)"
[ "$LAB_ARMS" = 2 ] || [ "${MODE%6}" = nat ] || [ "$CMD" != up ] ||
	lab_die "--one-arm is for NAT only"

case $CMD in
up)
	topo_down
	mkdir -p "$LABDIR"
	: >"$LABDIR/namespaces"
	: >"$LABDIR/pidfiles"
	# A failed "up" leaves nothing behind. An EXIT trap, not ERR: set -e
	# and lab_die leave from inside functions, where ERR traps do not run.
	trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "lab: up failed, cleaning up" >&2; topo_down; fi; exit "$rc"' EXIT
	"topo_${MODE}_up"
	topo_wait_ready
	trap - EXIT
	lab_log "$MODE lab '$LAB_PREFIX' is up; env: $LABDIR/env"
	sed -n 's/^\(DIRECTOR_NS\|DIRECTOR_IFS\?\|DIRECTOR_IP_RS\|VIP6\?\|CLIENT_NS\|RS_IPS6\?\)=/  &/p' "$LABDIR/env"
	;;
down)
	topo_down
	lab_log "lab '$LAB_PREFIX' is down"
	;;
status)
	topo_status
	;;
director)
	[ -f "$LABDIR/env" ] && grep -qx LAB_MODE=ecmp "$LABDIR/env" ||
		lab_die "director: no ecmp lab '$LAB_PREFIX' in $LABDIR"
	case $DIR_ACTION in
	add)
		! grep -qx "$DIR_INDEX" "$LABDIR/directors" || lab_die "director $DIR_INDEX exists"
		ecmp_director_add "$DIR_INDEX"
		# The router first: a BGP open from an unknown neighbour
		# would be refused, and BIRD waits before trying again.
		. "$LABDIR/env"
		ecmp_router_conf
		bird_reconfigure "$ROUTER_DIR"
		ecmp_director_start "$DIR_INDEX"
		;;
	*)
		grep -qx "$DIR_INDEX" "$LABDIR/directors" || lab_die "no director $DIR_INDEX"
		case $DIR_ACTION in
		start) ecmp_director_start "$DIR_INDEX" ;;
		crash) ecmp_director_crash "$DIR_INDEX" ;;
		kill) ecmp_xlbd_kill "$DIR_INDEX" KILL ;;
		stop) ecmp_xlbd_kill "$DIR_INDEX" TERM ;;
		esac
		;;
	esac
	;;
*)
	usage
	;;
esac
