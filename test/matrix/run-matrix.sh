#!/bin/bash
# run-matrix.sh -- `make test-matrix`: the suite of `make test` (pg_regress
# and TAP, built with -Werror) on PostgreSQL 13, 17 and 18, each in a Debian
# chroot of the release that ships it:
#
#   PostgreSQL 13   bullseye
#   PostgreSQL 17   trixie
#   PostgreSQL 18   sid
#
# As root, on Debian 12.  For each version, test/matrix/chroot-run.sh runs
# in a private mount namespace (unshare --mount): it builds the chroot if
# the cache has none (debootstrap, then apt-get install), mounts /proc,
# /dev, /dev/pts and a /dev/shm of its own, copies the working tree in, and
# runs the very same test/run-tests.sh there with PG_MAJOR=NN.  Its mounts
# are unmounted by its trap on every path, and could not outlive it anyway:
# the namespace dies with its last process, and the host never sees them.
#
# Chroots are cached in $EXECJSON_MATRIX_CACHE/SUITE (built in a temporary
# directory and renamed when complete, so a half-built one is never used).
#
# Prints one line per version and exits non-zero if any failed.
#
# Environment:
#   EXECJSON_MATRIX            "PG:SUITE ..." to test (default below)
#   EXECJSON_MATRIX_CACHE      chroot cache (default /var/cache/execjson-matrix)
#   EXECJSON_MATRIX_MIRROR     Debian mirror (default http://deb.debian.org/debian)
#   EXECJSON_MATRIX_MAX_AGE_DAYS  rebuild a cached chroot older than this (30)
#   EXECJSON_MATRIX_REBUILD=1  rebuild the chroots whatever their age
#   EXECJSON_MATRIX_TIMEOUT    seconds for one version's test run (1200)
#   EXECJSON_MATRIX_LOGS       where the logs go (default: a new /tmp dir)
#   EXECJSON_MATRIX_PATCHES    patch files (-p1) applied to the copy of the
#                              tree inside each chroot, never to the checkout
#                              (to get past a failure while a fix is pending)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$HERE/../.." && pwd)
# install_packages, log
source "$SRCDIR/test/lib.sh"

MATRIX=${EXECJSON_MATRIX:-"13:bullseye 17:trixie 18:sid"}
export EXECJSON_MATRIX_CACHE=${EXECJSON_MATRIX_CACHE:-/var/cache/execjson-matrix}
export EXECJSON_MATRIX_MIRROR=${EXECJSON_MATRIX_MIRROR:-http://deb.debian.org/debian}
export EXECJSON_MATRIX_MAX_AGE_DAYS=${EXECJSON_MATRIX_MAX_AGE_DAYS:-30}
export EXECJSON_MATRIX_REBUILD=${EXECJSON_MATRIX_REBUILD:-}
export EXECJSON_MATRIX_TIMEOUT=${EXECJSON_MATRIX_TIMEOUT:-1200}
export EXECJSON_MATRIX_PATCHES=${EXECJSON_MATRIX_PATCHES:-}
CACHE=$EXECJSON_MATRIX_CACHE

if [ "$(id -u)" != 0 ]; then
	echo "make test-matrix runs as root (debootstrap, chroot, mount)" >&2
	exit 1
fi

# A patch given by a relative path is relative to where make was run.
patches=()
for p in $EXECJSON_MATRIX_PATCHES; do
	[ -f "$p" ] || { echo "EXECJSON_MATRIX_PATCHES: no such file: $p" >&2; exit 1; }
	patches+=("$(readlink -f "$p")")
done
EXECJSON_MATRIX_PATCHES="${patches[*]}"

install_packages debootstrap util-linux coreutils tar
[ -z "$EXECJSON_MATRIX_PATCHES" ] || install_packages patch

LOGDIR=${EXECJSON_MATRIX_LOGS:-$(mktemp -d /tmp/execjson-matrix-logs.XXXXXX)}
mkdir -p "$LOGDIR" "$CACHE"
chmod 700 "$CACHE"

# One matrix run at a time per cache.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	log "another test-matrix run holds $CACHE/.lock; waiting for it"
	flock 9
fi

# remove_stale -- temporary chroots of runs that were interrupted, and old
# chroots that were replaced.  Only ever in this (the host's) mount
# namespace, where no mount of ours exists: every mount is made in a
# private namespace that dies with chroot-run.sh.  Still, refuse to remove
# anything with a mount below it.
mounts_below() {
	findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1'
}
remove_stale() {
	local d
	for d in "$CACHE"/.*.tmp.* "$CACHE"/.*.old.*; do
		[ -d "$d" ] || continue
		if [ -n "$(mounts_below "$d")" ]; then
			echo "warning: not removing $d: something is mounted below it" >&2
			continue
		fi
		rm -rf --one-file-system "$d" || echo "warning: could not remove all of $d" >&2
	done
}

child=
interrupted() {
	local sig=$1
	trap '' INT TERM HUP
	echo "test-matrix: interrupted (SIG$sig), cleaning up" >&2
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	exit 130
}
finish() {
	remove_stale
	if [ -n "$(mounts_below "$CACHE")" ]; then
		echo "warning: mounts left below $CACHE:" >&2
		mounts_below "$CACHE" >&2
	fi
}
trap finish EXIT
trap 'interrupted INT' INT
trap 'interrupted TERM' TERM
trap 'interrupted HUP' HUP

remove_stale

fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

summary=()
failed=0
passed=0
t_all=$(date +%s)
for entry in $MATRIX; do
	pg=${entry%%:*}
	suite=${entry#*:}
	if [ "$pg" = "$entry" ] || [ -z "$suite" ] || [ -z "$pg" ]; then
		echo "EXECJSON_MATRIX: expected PG:SUITE, got '$entry'" >&2
		exit 2
	fi
	logf=$LOGDIR/pg$pg.log
	result=$LOGDIR/pg$pg.result
	rm -f "$result"
	log "PostgreSQL $pg on $suite (log: $logf)"
	t0=$(date +%s)
	rc=0
	# The child's progress lines go to fd 3 (our stderr), the rest to the
	# log.  Run in the background and wait, so a signal is acted on at once.
	unshare --mount --propagation private -- \
		bash "$HERE/chroot-run.sh" "$pg" "$suite" "$SRCDIR" "$result" \
		3>&2 >"$logf" 2>&1 9>&- &
	child=$!
	wait "$child" || rc=$?
	child=
	elapsed=$(fmt_secs $(($(date +%s) - t0)))
	if [ -s "$result" ]; then
		line=$(head -n 1 "$result")
	else
		line="PostgreSQL $pg: FAIL (chroot-run.sh exited with status $rc before reporting)"
	fi
	line="$line [$elapsed]"
	case $line in
	"PostgreSQL $pg: PASS"*) passed=$((passed + 1)) ;;
	*)
		failed=$((failed + 1))
		# The end of the log from the test run on (not apt's chatter).
		echo "---- PostgreSQL $pg failed; the end of $logf:"
		awk '/^==> build \(-Werror\)/ {n = 0} {buf[n++] = $0} END {for (i = 0; i < n; i++) print buf[i]}' "$logf" |
			tail -n 150 || true
		echo "---- end of PostgreSQL $pg log"
		;;
	esac
	echo "$line"
	summary+=("$line")
done

echo
echo "test-matrix summary ($(fmt_secs $(($(date +%s) - t_all))) in all; logs in $LOGDIR):"
for line in "${summary[@]}"; do
	echo "$line"
done
echo "test-matrix: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
