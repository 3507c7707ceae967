#!/bin/bash
# chroot-package.sh build SRCDIR
# chroot-package.sh test SRCDIR DEB
#   -- the chroot side of `make test-package`, started by
# run-package-test.sh in a private mount namespace ("build": make the cached
# chroot if it is missing or stale) and then in private mount and network
# namespaces ("test": the test itself, offline).
#
# The chroot: $EXECJSON_MATRIX_CACHE/bookworm-package, built on first use
# (debootstrap --variant=minbase bookworm, then postgresql-15; the
# autopkgtest's Depends from debian/tests/control downloaded into apt's
# cache, not installed), in a temporary directory renamed into place when
# complete.  The test runs on a tmpfs overlay over it, so the cache is
# never changed.  All mounts are made in this namespace: they die with it,
# and the trap unmounts them on every path anyway.
set -euo pipefail

MODE=$1
SRCDIR=$2
DEB=${3:-}
CACHE=$EXECJSON_MATRIX_CACHE
MIRROR=$EXECJSON_MATRIX_MIRROR
SECURITY_MIRROR=$EXECJSON_MATRIX_SECURITY_MIRROR
SUITE=bookworm
ROOT=$CACHE/$SUITE-package
TMPROOT=
WORK=

log() { printf '==> %s\n' "$*" >&2; }

# What the chroot holds: the server, nothing of ours.
PACKAGES=(postgresql-15)
# What the autopkgtest needs on top of the package (downloaded only).
TEST_DEPS=$(sed -n 's/^Depends:[[:space:]]*//p' "$SRCDIR/debian/tests/control" |
	tr ',' '\n' | sed 's/[[:space:]]//g' | grep -v '^@$' | grep . | tr '\n' ' ')
RECIPE="execjson package chroot 4: suite=$SUITE mirror=$MIRROR security=$SECURITY_MIRROR packages=${PACKAGES[*]} download=$TEST_DEPS"
STAMP=.execjson-package-recipe

PRISTINE=(env --default-signal)
CHROOT_ENV=(/usr/bin/env -i
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive)

in_chroot() {
	local dir=$1
	shift
	"${PRISTINE[@]}" chroot "$dir" "${CHROOT_ENV[@]}" "$@"
}

mounts_below() {
	findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r
}

unmount_all() {
	local t
	for t in $(mounts_below "$1"); do
		umount "$t" 2>/dev/null || umount -l "$t" || true
	done
}

# kill_chroot DIR -- end every process whose root is DIR (a server left
# running by a failed step): TERM, then KILL.
kill_chroot() {
	local dir=$1 sig p link pids i
	for sig in TERM KILL; do
		pids=
		for p in /proc/[0-9]*; do
			link=$(readlink "$p/root" 2>/dev/null) || continue
			[ "$link" = "$dir" ] && pids="$pids ${p#/proc/}"
		done
		[ -z "$pids" ] && return 0
		# shellcheck disable=SC2086
		kill -s "$sig" $pids 2>/dev/null || true
		for i in $(seq 30); do
			sleep 0.1
			pids_left=0
			for p in $pids; do [ -d "/proc/$p" ] && pids_left=1; done
			[ $pids_left = 0 ] && break
		done
	done
}

cleanup() {
	local d
	trap '' INT TERM HUP
	for d in $TMPROOT ${WORK:+$WORK/merged}; do
		[ -d "$d" ] || continue
		kill_chroot "$d"
		unmount_all "$d"
	done
	if [ -n "$WORK" ]; then
		unmount_all "$WORK"
		rm -rf "$WORK"
	fi
	[ -z "$TMPROOT" ] || rm -rf --one-file-system "$TMPROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mount_chroot() {
	local dir=$1
	mount -t proc proc "$dir/proc" &&
		mount --bind /dev "$dir/dev" &&
		mount --bind /dev/pts "$dir/dev/pts" &&
		mount -t tmpfs -o mode=1777,nosuid,nodev shm "$dir/dev/shm"
}

# build_chroot -- debootstrap, then apt-get install and download.
build_chroot() {
	local t0=$SECONDS
	TMPROOT=$(mktemp -d "$CACHE/.$SUITE-package.building.XXXXXX")
	chmod 755 "$TMPROOT"
	log "building the $SUITE package-test chroot (debootstrap --variant=minbase)"
	"${PRISTINE[@]}" debootstrap --variant=minbase "$SUITE" "$TMPROOT" "$MIRROR" >"$TMPROOT.log" 2>&1 || {
		tail -n 30 "$TMPROOT.log" >&2
		echo "debootstrap $SUITE failed" >&2
		exit 1
	}
	rm -f "$TMPROOT.log"
	unmount_all "$TMPROOT"
	printf '#!/bin/sh\nexit 101\n' >"$TMPROOT/usr/sbin/policy-rc.d"
	chmod 755 "$TMPROOT/usr/sbin/policy-rc.d"
	{
		echo 'APT::Install-Recommends "false";'
		echo 'APT::Install-Suggests "false";'
		# keep what apt downloads: the test installs from it, offline
		echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";'
		apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|ftp::Proxy) ' || true
	} >"$TMPROOT/etc/apt/apt.conf.d/90package-test"
	# As a Debian 12 installation has them: the point releases and the
	# security updates (PostgreSQL's minor releases come through both, and
	# a package built on an up-to-date system depends on the newest).
	cat >"$TMPROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SOURCES
	cp -L /etc/resolv.conf "$TMPROOT/etc/resolv.conf"
	mount_chroot "$TMPROOT"
	log "installing ${PACKAGES[*]}; downloading $TEST_DEPS"
	"${PRISTINE[@]}" chroot "$TMPROOT" "${CHROOT_ENV[@]}" apt-get update -q >/dev/null
	"${PRISTINE[@]}" chroot "$TMPROOT" "${CHROOT_ENV[@]}" apt-get install -y -q "${PACKAGES[@]}" >/dev/null
	# Debian's stock configuration (createcluster.conf untouched), less the
	# "main" cluster the install made: the test makes its own.
	in_chroot "$TMPROOT" pg_dropcluster 15 main
	# shellcheck disable=SC2086
	"${PRISTINE[@]}" chroot "$TMPROOT" "${CHROOT_ENV[@]}" apt-get install -y -q --download-only $TEST_DEPS >/dev/null
	kill_chroot "$TMPROOT"
	unmount_all "$TMPROOT"
	echo "$RECIPE" >"$TMPROOT/$STAMP"
	rm -rf --one-file-system "$ROOT"
	mv -T "$TMPROOT" "$ROOT"
	TMPROOT=
	log "built the $SUITE package-test chroot in $((SECONDS - t0))s"
}

chroot_is_usable() {
	[ -z "${EXECJSON_MATRIX_REBUILD:-}" ] &&
		[ -f "$ROOT/$STAMP" ] &&
		[ "$(cat "$ROOT/$STAMP")" = "$RECIPE" ] &&
		[ -z "$(find "$ROOT/$STAMP" -mtime "+$EXECJSON_MATRIX_MAX_AGE_DAYS")" ]
}

# main_build -- make the cached chroot if it is missing or stale.
main_build() {
	local d
	# Half-built chroots of interrupted runs (we hold the package lock).
	for d in "$CACHE"/.$SUITE-package.building.*; do
		[ -e "$d" ] || continue
		unmount_all "$d"
		rm -rf --one-file-system "$d"
	done
	if chroot_is_usable; then
		log "using the cached chroot $ROOT"
	else
		build_chroot
	fi
}

case $MODE in
build)
	main_build
	exit 0
	;;
test) ;;
*)
	echo "chroot-package.sh: unknown mode $MODE" >&2
	exit 2
	;;
esac

# The test, offline (run-package-test.sh gave us a network namespace of
# our own: only a loopback, brought up for the clusters).
chroot_is_usable || { echo "no usable chroot at $ROOT" >&2; exit 1; }
ip link set lo up

# The throwaway overlay: lower = the cached chroot, upper on a tmpfs.
WORK=$(mktemp -d /tmp/execjson-package.XXXXXX)
mount -t tmpfs -o mode=755 tmpfs "$WORK"
mkdir "$WORK/upper" "$WORK/work" "$WORK/merged"
mount -t overlay overlay \
	-o "lowerdir=$ROOT,upperdir=$WORK/upper,workdir=$WORK/work" "$WORK/merged"
M=$WORK/merged
mount_chroot "$M"

# The tree (tracked and untracked files, not ignored ones) and the .deb.
mkdir -p "$M/build/execjson"
if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRCDIR" &&
		git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' p; do
			[ -e "$p" ] || [ -L "$p" ] && printf '%s\0' "$p"
		done |
		tar --null -T - -cf -) | tar -C "$M/build/execjson" -xf -
else
	(cd "$SRCDIR" && tar --exclude=.git --exclude=./build -cf - .) | tar -C "$M/build/execjson" -xf -
fi
cp "$DEB" "$M/build/"

rc=0
# Entered with pivot_root, not chroot: the kernel refuses a chrooted
# process a new user namespace, which execjson.sandbox (tested by the
# regression suite) needs.
"${PRISTINE[@]}" timeout -k 10 900 unshare --mount --propagation private -- /bin/sh -c \
	'mount --rbind "$1" "$1" && cd "$1" && pivot_root . mnt && shift && exec "$@"' \
	enter-root "$M" "${CHROOT_ENV[@]}" \
	TEST_DEPS="$TEST_DEPS" \
	bash /build/execjson/test/package/in-chroot.sh "/build/$(basename "$DEB")" || rc=$?
exit $rc
