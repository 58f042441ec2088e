#!/bin/sh
# Build the Debian package with Debian's tools (dpkg-buildpackage, dh) and
# leave it in OUTDIR (default build/deb): `make deb` runs this.
#
#   scripts/deb.sh [-f] [OUTDIR]     -f: rebuild even if the .deb is current
#
# dpkg-buildpackage writes its results into the parent of the source tree,
# so the tree is copied to OUTDIR/src (tracked and untracked-but-not-ignored
# files; no build/) and built there: nothing lands outside OUTDIR, and the
# checkout's own build/ is never mixed with the package's. The .deb is
# reused when no file of the tree is newer than it and the tree has the
# same files (OUTDIR/sources lists those it was built from).
set -eu
cd "$(dirname "$0")/.."

force=0
if [ "${1:-}" = -f ]; then force=1; shift; fi
out=${1:-build/deb}

for t in dpkg-buildpackage dpkg-parsechangelog dh; do
	command -v "$t" >/dev/null || { echo "deb: $t not found (make deps)" >&2; exit 1; }
done

version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$out/xlb_${version}_${arch}.deb

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files --cached --others --exclude-standard)
else
	files=$(find . -path ./build -prune -o -path ./build-san -prune -o -path ./.git -prune -o -type f -print)
fi

# shellcheck disable=SC2086
files=$(for f in $files; do [ -f "$f" ] && echo "$f"; done | sort)

if [ "$force" = 0 ] && [ -f "$deb" ] && [ -f "$out/sources" ]; then
	if [ "$files" != "$(cat "$out/sources")" ]; then
		newer="the list of files"
	else
		# shellcheck disable=SC2086
		newer=$(find $files -prune -newer "$deb" | head -n 1)
	fi
	if [ -z "$newer" ]; then
		echo "deb: $deb is current"
		exit 0
	fi
	echo "deb: rebuilding ($newer changed)"
fi

mkdir -p "$out"
rm -rf "$out/src" "$out"/xlb_* "$out"/xlb-dbgsym_* "$out/sources"
mkdir "$out/src"
echo "$files" | tar -cf - -T - | tar -xf - -C "$out/src"

log=$out/build.log
echo "deb: dpkg-buildpackage -us -uc -b in $out/src (log: $log)"
start=$(date +%s)
if ! (cd "$out/src" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "deb: dpkg-buildpackage failed (full log: $log)" >&2
	exit 1
fi
rm -rf "$out/src"
echo "$files" >"$out/sources"
echo "deb: built $deb in $(( $(date +%s) - start )) s"
