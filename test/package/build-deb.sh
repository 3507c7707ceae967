#!/bin/bash
# build-deb.sh -- `make deb`: build the Debian package
# postgresql-NN-execjson_VERSION_ARCH.deb, on Debian as root, for every
# PostgreSQL major that debian/pgversions allows and the system supports
# (on Debian 12: 15).
#
#   1. the working tree (tracked and untracked files, not the ignored ones)
#      is copied to build/deb/execjson-VERSION;
#   2. debian/control is regenerated there (pg_buildext updatecontrol);
#   3. the build dependencies are installed from Debian's archive
#      (apt-get build-dep on that directory: debhelper,
#      postgresql-server-dev-all, build-essential);
#   4. dpkg-buildpackage -b builds the binary packages; they land in
#      build/deb/ and the copy is removed.
#
# The checkout is never written to but build/ (ignored by git).
# Prints the path of the .deb on its last line.
set -euo pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# install_packages, log
source "$SRCDIR/test/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make deb runs as root (it installs the build dependencies)" >&2
	exit 1
fi

OUT=$SRCDIR/build/deb
install_packages dpkg-dev
version=$(dpkg-parsechangelog -l "$SRCDIR/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
work=$OUT/execjson-$version

log "copying the tree to $work"
rm -rf "$work"
mkdir -p "$work"
if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRCDIR" &&
		git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' p; do
			[ -e "$p" ] || [ -L "$p" ] && printf '%s\0' "$p"
		done |
		tar --null -T - -cf -) | tar -C "$work" -xf -
else
	(cd "$SRCDIR" && tar --exclude=.git --exclude=./build -cf - .) | tar -C "$work" -xf -
fi
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# pg_buildext comes with postgresql-server-dev-all, a build dependency.
install_packages postgresql-server-dev-all
(cd "$work" && pg_buildext updatecontrol)

log "installing the build dependencies (apt-get build-dep)"
if ! (cd "$work" && dpkg-checkbuilddeps >/dev/null 2>&1); then
	[ -n "${EXECJSON_APT_UPDATED:-}" ] || apt-get update -qq
	(cd "$work" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq ./ >/dev/null)
fi

versions=$(cd "$work" && pg_buildext supported-versions | tr '\n' ' ')
log "dpkg-buildpackage for PostgreSQL ${versions% }"
rm -f "$OUT"/postgresql-*-execjson*_"$version"_"$arch".deb "$OUT"/execjson_"$version"_*
(cd "$work" && dpkg-buildpackage -b -us -uc >"$OUT/build.log" 2>&1) || {
	tail -n 60 "$OUT/build.log" >&2
	echo "make deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
	exit 1
}
# dpkg-buildpackage writes next to the source directory, that is in $OUT.
ls -1 "$OUT"/*_"$version"_"$arch".deb >&2
for v in $versions; do
	deb=$OUT/postgresql-${v}-execjson_${version}_${arch}.deb
	[ -f "$deb" ] || { echo "make deb: $deb was not built" >&2; exit 1; }
done
echo "$deb"
