#!/bin/sh
# Install the Debian packages xlb needs to build, test and run its lab.
# Idempotent: when everything is present it only asks dpkg and returns.
set -eu

# prometheus: its promtool checks a live --metrics scrape (tests/lab/test_metrics.sh).
# bird2: the ECMP lab's BGP speakers; keepalived: VRRP moves the NAT pair's addresses.
PKGS="build-essential pkg-config make gcc clang llvm
libxdp-dev libbpf-dev libmnl-dev libcriterion-dev libelf-dev zlib1g-dev
debhelper dpkg-dev fakeroot lintian scdoc
bpftool xdp-tools iproute2 ethtool curl socat tcpdump python3-scapy
iperf3 nginx-light procps kmod util-linux iputils-ping systemd strace
libfuzzer-14-dev libclang-rt-14-dev valgrind python3-jsonschema
scdoc groff-base mandoc prometheus bird2 keepalived"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	[ "${1:-}" = "-q" ] || echo "deps: all packages present"
	exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# nginx-light would start a system nginx on :80; keep the lab in charge.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq || echo "deps: apt-get update failed; trying with cached lists" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
