#!/bin/bash
# run-package-test.sh -- `make test-package`: the Debian package is real.
#
#   1. make deb (test/package/build-deb.sh): postgresql-15-execjson_V_ARCH.deb;
#   2. a Debian 12 (bookworm) minbase chroot holding postgresql-15 and
#      nothing of execjson, cached in $EXECJSON_MATRIX_CACHE/bookworm-package
#      (the matrix's cache; built with debootstrap when missing or stale);
#      the autopkgtest's Depends are downloaded into it, not installed;
#   3. in a private mount and network namespace, a throwaway overlay over
#      that chroot (the cache is never changed by a test run), where
#      test/package/in-chroot.sh installs only the .deb with apt (its
#      Depends come from the archive), creates a cluster, CREATE EXTENSION,
#      runs the autopkgtest (debian/tests/installcheck: the pg_regress
#      suite with pg_buildext installcheck), and purges the package,
#      checking that no file of it remains.
#
# As root, on Debian 12.  Prints "package test: PASS" or exits non-zero.
#
# Environment:
#   EXECJSON_MATRIX_CACHE   chroot cache (default /var/cache/execjson-matrix)
#   EXECJSON_MATRIX_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   EXECJSON_MATRIX_SECURITY_MIRROR  Debian security mirror
#                           (default http://deb.debian.org/debian-security)
#   EXECJSON_MATRIX_MAX_AGE_DAYS  rebuild a cached chroot older than this (30)
#   EXECJSON_MATRIX_REBUILD=1     rebuild the chroot whatever its age
#   EXECJSON_PACKAGE_DEB    test this .deb instead of running make deb
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$HERE/../.." && pwd)
# install_packages, log
source "$SRCDIR/test/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make test-package runs as root (debootstrap, chroot, mount)" >&2
	exit 1
fi

export EXECJSON_MATRIX_CACHE=${EXECJSON_MATRIX_CACHE:-/var/cache/execjson-matrix}
export EXECJSON_MATRIX_MIRROR=${EXECJSON_MATRIX_MIRROR:-http://deb.debian.org/debian}
export EXECJSON_MATRIX_SECURITY_MIRROR=${EXECJSON_MATRIX_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
export EXECJSON_MATRIX_MAX_AGE_DAYS=${EXECJSON_MATRIX_MAX_AGE_DAYS:-30}
export EXECJSON_MATRIX_REBUILD=${EXECJSON_MATRIX_REBUILD:-}

t0=$SECONDS
if [ -n "${EXECJSON_PACKAGE_DEB:-}" ]; then
	deb=$(readlink -f "$EXECJSON_PACKAGE_DEB")
else
	log "make deb"
	deb=$(bash "$HERE/build-deb.sh" | tail -n 1)
fi
[ -f "$deb" ] || { echo "package test: no .deb at '$deb'" >&2; exit 1; }
log "built $deb in $((SECONDS - t0))s"

install_packages debootstrap util-linux iproute2
mkdir -p "$EXECJSON_MATRIX_CACHE"
chmod 700 "$EXECJSON_MATRIX_CACHE"

# One package test at a time per cache (a lock of its own: the matrix's
# runs need not wait for it, and it never touches the matrix's chroots).
exec 9>"$EXECJSON_MATRIX_CACHE/.package.lock"
if ! flock -n 9; then
	log "another package test holds $EXECJSON_MATRIX_CACHE/.package.lock; waiting for it"
	flock 9
fi

# A private mount namespace (the overlay and the chroot's mounts die with
# it) and a private network namespace (the clusters in the chroot cannot
# meet the host's on a port; apt cannot reach the network during the test,
# so the chroot's cache must hold all it installs).
t1=$SECONDS
unshare --mount --propagation private -- \
	bash "$HERE/chroot-package.sh" build "$SRCDIR" 9>&-
log "chroot ready in $((SECONDS - t1))s"
rc=0
unshare --mount --propagation private --net -- \
	bash "$HERE/chroot-package.sh" test "$SRCDIR" "$deb" 9>&- || rc=$?
if [ $rc -ne 0 ]; then
	echo "package test: FAIL" >&2
	exit $rc
fi
log "package test took $((SECONDS - t0))s in all"
echo "package test: PASS"
