#!/bin/bash
# The Debian package: `make deb` (scripts/deb.sh: dpkg-buildpackage -us -uc
# -b from a copy of the tree) builds it, or reuses $B/deb/ when no source
# file is newer. lintian finds no error in it. Unpacked by dpkg into a
# scratch root (dpkg --root, a database of its own), it holds the binaries,
# the decap object, the systemd unit (neither enabled nor started by
# postinst; enabling it works), /etc/default/xlb and /etc/xlb/rules as
# conffiles, both man pages and the bash completion; everything `make
# install` installs is in it; the installed xlbctl runs; purge leaves
# nothing. ~20-45 s with a fresh package build on 2 cores, ~10 s reusing it.
#
# Needs no namespaces; dpkg --root needs root (tests/lab/run.sh).
. "$(dirname "$0")/lib.sh"
lab_init

if [ "$(id -u)" -ne 0 ]; then lab_skip "dpkg --root needs root"; fi
for t in dpkg-buildpackage dh lintian dpkg-deb systemctl; do
	command -v "$t" >/dev/null || { fail "$t missing (make deps)"; exit 1; }
done

OUT=$B/deb
start=$(date +%s)
if ! "$ROOT/scripts/deb.sh" "$OUT"; then
	fail "make deb: the package builds"
	exit 1
fi
ok "make deb: the package builds or is current ($(( $(date +%s) - start )) s)"
version=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
DEB=$OUT/xlb_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
check "the package is $DEB" test -f "$DEB"

# lintian: no error. Warnings are printed, and justified in debian/ or the
# README (tests keep the list honest: a new one shows up here).
lintian --tag-display-limit 0 "$DEB" >"$T/lintian" 2>&1
sed 's/^/    lintian: /' "$T/lintian"
check_eq "lintian reports no error (E:)" "" "$(grep '^E:' "$T/lintian")"

# Contents, as dpkg-deb lists them.
# (field 6 is the path; a symlink's line goes on with "-> target")
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
unit=
for u in /lib/systemd/system/xlbd.service /usr/lib/systemd/system/xlbd.service; do
	grep -qx "$u" "$T/contents" && unit=$u
done
check "the package ships xlbd.service under a systemd unit directory" test -n "$unit"
for f in /usr/sbin/xlbd /usr/sbin/xlbctl /usr/lib/xlb/xlb_decap.bpf.o \
	 /etc/default/xlb /etc/xlb/rules \
	 /usr/share/man/man8/xlbd.8.gz /usr/share/man/man8/xlbctl.8.gz \
	 /usr/share/bash-completion/completions/xlbctl \
	 /usr/share/doc/xlb/copyright /usr/share/doc/xlb/changelog.Debian.gz; do
	check "the package ships $f" grep -qx "$f" "$T/contents"
done

# Everything `make install` (+ install-service) puts under PREFIX=/usr is
# in the package (man pages compressed by dh_compress, the unit possibly
# moved to /lib by debian/rules).
INST=$T/inst
make -s -C "$ROOT" BUILD="$B" install DESTDIR="$INST" PREFIX=/usr >"$T/install.log" 2>&1 ||
	fail "make install DESTDIR=... PREFIX=/usr works ($(tail -n 3 "$T/install.log"))"
if grep -q '^install-service:' "$ROOT/Makefile"; then
	make -s -C "$ROOT" BUILD="$B" install-service DESTDIR="$INST" PREFIX=/usr >>"$T/install.log" 2>&1 ||
		fail "make install-service DESTDIR=... PREFIX=/usr works"
fi
missing=
while read -r f; do
	g=${f%.gz}
	grep -qx "$g" "$T/contents" || grep -qx "$g.gz" "$T/contents" ||
		grep -qx "${g#/usr}" "$T/contents" || missing="$missing $f"
done < <(cd "$INST" && find . ! -type d | sed 's|^\.||' | sort)
check_eq "every file make install installs is in the package" "" "$missing"

# dpkg itself installs it into a scratch root with a database of its own.
# The maintainer scripts run outside that root with DPKG_ROOT set
# (--force-script-chrootless: the root has no shell), as Debian's
# offline-root installs do; deb-systemd-helper then enables the unit
# inside the root. Its libraries are the host's, so --force-depends.
R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
dpkg_r() { dpkg --root="$R" --log=/dev/null --force-depends --force-script-chrootless "$@"; }
if dpkg_r -i "$DEB" >"$T/dpkg.log" 2>&1; then
	ok "dpkg --root installs and configures the package"
else
	fail "dpkg --root installs and configures the package: $(tail -n 5 "$T/dpkg.log")"
fi
check_eq "dpkg records it installed" "install ok installed" \
	"$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status}' xlb 2>&1)"
conffiles=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Conffiles}\n' xlb 2>/dev/null | awk 'NF {print $1}' | sort | tr '\n' ' ')
check_eq "dpkg knows /etc/default/xlb and /etc/xlb/rules as conffiles" \
	"/etc/default/xlb /etc/xlb/rules " "$conffiles"
for f in /usr/sbin/xlbd /usr/sbin/xlbctl; do
	check "$f is installed executable" test -x "$R$f"
	if ldd "$R$f" >"$T/ldd" 2>&1 && ! grep -q 'not found' "$T/ldd"; then
		ok "$f finds all its libraries"
	else
		fail "$f finds all its libraries: $(cat "$T/ldd")"
	fi
done
# ELF e_machine (offset 18) 247 is EM_BPF.
check_eq "the decap object is an eBPF ELF" 247 \
	"$(od -An -tu2 -j18 -N2 "$R/usr/lib/xlb/xlb_decap.bpf.o" 2>/dev/null | tr -d ' ')"
got=$("$R/usr/sbin/xlbctl" -v 2>&1)
check_eq "the installed xlbctl -v runs and says the package's version" \
	"xlbctl ${version%-*} (ipvsadm-compatible, IPVS layout 1.2.1)" "$got"

# Service policy (debian/rules): installing neither enables nor starts
# xlbd (it would put XDP on the example interface of /etc/default/xlb);
# the operator's `systemctl enable` works (offline, with --root), and
# purge takes its link away again.
wants=$R/etc/systemd/system/multi-user.target.wants/xlbd.service
post=$R/var/lib/dpkg/info/xlb.postinst
if [ -n "$unit" ] && [ -f "$post" ] && [ ! -e "$wants" ] && [ ! -L "$wants" ]; then
	ok "installing does not enable xlbd.service"
else
	fail "installing does not enable xlbd.service (unit '$unit', $(ls -l "$wants" 2>&1))"
fi
# shellcheck disable=SC2016 # a literal $_dh_action: dh's start-or-restart
if [ -f "$post" ] && ! grep -Eq 'deb-systemd-invoke (start|\$_dh_action)' "$post"; then
	ok "postinst does not start xlbd on installation"
else
	fail "postinst does not start xlbd on installation ($post)"
fi
systemctl --root="$R" enable xlbd.service >>"$T/dpkg.log" 2>&1
check_eq "systemctl enable (offline) links xlbd.service into multi-user.target" \
	"${unit:-/lib/systemd/system/xlbd.service}" "$(readlink "$wants" 2>&1)"

# Purge takes everything away again: files, conffiles, the enablement.
if dpkg_r --purge xlb >>"$T/dpkg.log" 2>&1; then ok "dpkg --root purges it"; else
	fail "dpkg --root purges it: $(tail -n 5 "$T/dpkg.log")"
fi
left=$(cd "$R" && find . ! -type d ! -path './var/lib/dpkg/*' | sort | tr '\n' ' ')
check_eq "nothing of xlb is left after purge" "" "$left"

exit 0
