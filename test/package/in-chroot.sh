#!/bin/bash
# in-chroot.sh DEB -- `make test-package`, inside the throwaway Debian 12
# chroot that holds postgresql-15 and nothing of execjson (run by
# chroot-package.sh, offline: everything installed comes from apt's cache).
#
#   1. apt-get install ./DEB: only the package is added, its Depends are
#      already there (postgresql-15 from the archive);
#   2. a new cluster (pg_createcluster): CREATE EXTENSION execjson works;
#      without shared_preload_libraries a call fails with exec_not_preloaded
#      (55000); with it, as the README tells the DBA, a call runs;
#   3. the autopkgtest, as autopkgtest runs it: its Depends installed, then
#      debian/tests/installcheck from the source tree (the pg_regress suite
#      with pg_buildext installcheck, against the installed package);
#   4. dpkg --purge: no file or directory of the package remains, and
#      nothing named execjson is left under /usr, /etc or /var/lib.
set -euo pipefail

DEB=$1
SRC=/build/execjson
log() { printf '==> [chroot] %s\n' "$*" >&2; }
die() { printf 'package test: %s\n' "$*" >&2; exit 1; }

pkg=$(dpkg-deb -f "$DEB" Package)
ver=$(dpkg-deb -f "$DEB" Version)
major=$(echo "$pkg" | sed -n 's/^postgresql-\([0-9]*\)-execjson$/\1/p')
[ -n "$major" ] || die "unexpected package name $pkg"

# 1. install only the .deb
log "apt-get install $DEB ($pkg $ver)"
dpkg-query -W -f '${Package}\n' | sort >/tmp/before
apt-get install -y -q "$DEB" >/tmp/apt-install.log 2>&1 ||
	{ cat /tmp/apt-install.log; die "apt-get install of the .deb failed"; }
dpkg-query -W -f '${Package}\n' | sort >/tmp/after
added=$(comm -13 /tmp/before /tmp/after | tr '\n' ' ')
[ "$added" = "$pkg " ] || die "installing the .deb added '$added', expected only $pkg"
dpkg-query -W -f '${Status}\n' "$pkg" | grep -q 'install ok installed' ||
	die "$pkg is not installed"
dpkg -L "$pkg" >/tmp/pkg-files
for f in /usr/lib/postgresql/$major/lib/execjson.so \
	/usr/share/postgresql/$major/extension/execjson.control; do
	grep -qx "$f" /tmp/pkg-files || die "$pkg does not ship $f"
done
echo "installed $pkg $ver; added packages: $added"

# 2. a cluster of the packaged PostgreSQL
log "pg_createcluster $major pkgtest; CREATE EXTENSION execjson"
pg_createcluster "$major" pkgtest -p 5499 >/dev/null -- --auth=trust -E UTF8 --locale=C.UTF-8
pg_ctlcluster "$major" pkgtest start
q() { runuser -u postgres -- psql -p 5499 -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
q -c 'CREATE EXTENSION execjson' -c "SELECT extversion FROM pg_extension WHERE extname = 'execjson'" |
	grep -qx "$(sed -n "s/^default_version = '\(.*\)'/\1/p" /usr/share/postgresql/$major/extension/execjson.control)" ||
	die "CREATE EXTENSION execjson did not install the control file's default version"
echo "CREATE EXTENSION execjson: ok"
call=$(cat <<'SQL'
SELECT exec_run(jsonb_build_object('kind', 'run_program_v1',
	'program_path', '/usr/bin/echo', 'argv', jsonb_build_array('{"packaged": true}')))
SQL
)
out=$(q -c '\set VERBOSITY verbose' -c "$call" 2>&1) &&
	die "exec_run ran without shared_preload_libraries: $out"
echo "$out" | grep -q '55000' || die "without preloading, expected SQLSTATE 55000, got: $out"
echo "without shared_preload_libraries: $(echo "$out" | head -n 1)"
# What the README tells the DBA to do: a file in the cluster's conf.d.
cat >/etc/postgresql/$major/pkgtest/conf.d/execjson.conf <<'CONF'
shared_preload_libraries = 'execjson'
execjson.allow_prefixes = '/usr/bin'
CONF
pg_ctlcluster "$major" pkgtest restart
out=$(q -c "$call")
[ "$out" = '{"packaged": true}' ] || die "exec_run through the package returned '$out'"
echo "with shared_preload_libraries: exec_run returned $out"
pg_dropcluster --stop "$major" pkgtest
# (the DBA's file, which pg_dropcluster leaves behind)
rm -rf "/etc/postgresql/$major/pkgtest"

# 3. the autopkgtest
deps=$(sed -n 's/^Depends:[[:space:]]*//p' "$SRC/debian/tests/control" |
	tr ',' '\n' | sed 's/[[:space:]]//g' | grep -v '^@$' | grep . | tr '\n' ' ')
log "autopkgtest: installing its Depends ($deps)"
# shellcheck disable=SC2086
apt-get install -y -q --no-download $deps >/tmp/apt-deps.log 2>&1 ||
	{ tail -n 30 /tmp/apt-deps.log; die "installing the autopkgtest's Depends failed"; }
log "autopkgtest: debian/tests/installcheck"
tests=$(sed -n 's/^Tests:[[:space:]]*//p' "$SRC/debian/tests/control")
export AUTOPKGTEST_TMP
for t in $tests; do
	AUTOPKGTEST_TMP=$(mktemp -d)
	(cd "$SRC" && "debian/tests/$t") 2>&1 | tee /tmp/autopkgtest-$t.log ||
		die "autopkgtest $t failed"
	grep -Eq 'All [0-9]+ tests passed' /tmp/autopkgtest-$t.log ||
		die "autopkgtest $t: no 'All N tests passed' line from pg_regress"
	rm -rf "$AUTOPKGTEST_TMP"
done

# 4. purge
log "dpkg --purge $pkg"
# What the package owned: its files, and its directories no other package owns.
ours=()
while IFS= read -r f; do
	[ "$f" = /. ] && continue
	if [ -d "$f" ] && [ ! -L "$f" ]; then
		owners=$(dpkg-query -S "$f" 2>/dev/null | sed 's/: .*//' | tr ', ' '\n\n' | grep -v "^$pkg\$" | grep . || true)
		[ -n "$owners" ] && continue
	fi
	ours+=("$f")
done </tmp/pkg-files
dpkg --purge "$pkg" >/dev/null
dpkg-query -W -f '${Status}\n' "$pkg" 2>/dev/null | grep -q 'installed' &&
	die "$pkg is still installed after dpkg --purge"
left=()
for f in "${ours[@]}"; do
	[ -e "$f" ] || [ -L "$f" ] && left+=("$f")
done
[ ${#left[@]} -eq 0 ] || die "left after dpkg --purge: ${left[*]}"
stray=$(find /usr /etc /var/lib -name '*execjson*' 2>/dev/null || true)
[ -z "$stray" ] || die "left after dpkg --purge: $stray"
echo "purged: none of the ${#ours[@]} files and directories of $pkg remains"
echo "in-chroot: PASS"
