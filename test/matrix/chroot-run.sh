#!/bin/bash
# chroot-run.sh PG SUITE SRCDIR RESULT -- one version of `make test-matrix`.
#
# run-matrix.sh starts this in a private mount namespace (unshare --mount
# --propagation private): every mount made here is invisible to the host
# and dies with the namespace.  The trap unmounts them all the same, and
# ends every process still running inside the chroot, on every path.
#
#   1. the chroot: $EXECJSON_MATRIX_CACHE/SUITE if its recipe matches and it
#      is recent enough, else debootstrap + apt-get install into a
#      temporary directory, renamed into place when complete;
#   2. /proc, /dev, /dev/pts and a private /dev/shm mounted in it;
#   3. the working tree (tracked and untracked files, not the ignored
#      ones) copied to /build/execjson in it;
#   4. test/run-tests.sh run there with PG_MAJOR=PG: the build (-Werror),
#      pg_regress and the TAP suite, exactly as `make test` runs them.
#
# Writes one summary line to RESULT.  Progress goes to fd 3, the details to
# stdout (run-matrix.sh sends them to the version's log).
set -uo pipefail

PG=$1
SUITE=$2
SRCDIR=$3
RESULT=$4
CACHE=$EXECJSON_MATRIX_CACHE
MIRROR=$EXECJSON_MATRIX_MIRROR
ROOT=$CACHE/$SUITE
TMPROOT=

# What the chroot holds.  The same list as install_base_deps in
# test/lib.sh, so run-tests.sh finds nothing missing and installs nothing.
# PL/Proxy (test/t/030_plproxy.pl) is in bullseye, trixie and sid; a suite
# without it would need it dropped here (the test then skips).
PACKAGES=(gcc make libc6-dev perl libipc-run-perl procps
	"postgresql-$PG" "postgresql-server-dev-$PG" "postgresql-$PG-plproxy")
# Bump when the way a chroot is made changes: cached ones are then rebuilt.
RECIPE="execjson-matrix chroot 1: suite=$SUITE mirror=$MIRROR packages=${PACKAGES[*]}"
STAMP=.execjson-matrix-recipe

# fd 3: progress (run-matrix.sh's stderr); /dev/null if not given.
{ true >&3; } 2>/dev/null || exec 3>/dev/null
progress() {
	printf '==> PostgreSQL %s: %s\n' "$PG" "$*" >&3
	printf '\n==> %s\n' "$*"
}
result() {
	printf 'PostgreSQL %s: %s\n' "$PG" "$*" >"$RESULT"
}
fail() {
	result "FAIL ($*)"
	exit 1
}

# mounts_below DIR -- mount points at or below DIR, deepest first.
mounts_below() {
	findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r
}

# unmount_all DIR -- unmount everything at or below DIR (ours, and any that
# an interrupted debootstrap left).
unmount_all() {
	local t
	for t in $(mounts_below "$1"); do
		umount "$t" 2>/dev/null || umount -l "$t" || true
	done
}

# chroot_pids DIR -- processes whose root directory is DIR.
chroot_pids() {
	local p link
	for p in /proc/[0-9]*; do
		link=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$link" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

# kill_chroot DIR -- end every process running inside the chroot DIR
# (a server a test left behind, a hung test): TERM, then KILL.
kill_chroot() {
	local dir=$1 sig pids i
	for sig in TERM KILL; do
		pids=$(chroot_pids "$dir")
		[ -z "$pids" ] && return 0
		echo "ending processes left in $dir (SIG$sig): $pids"
		# shellcheck disable=SC2086
		kill -s "$sig" $pids 2>/dev/null
		for i in $(seq 50); do
			[ -z "$(chroot_pids "$dir")" ] && return 0
			sleep 0.1
		done
	done
}

cleanup() {
	local d
	trap '' INT TERM HUP
	stop_step
	for d in "$ROOT" $TMPROOT; do
		[ -d "$d" ] || continue
		kill_chroot "$d"
		unmount_all "$d"
	done
	for d in "$ROOT" $TMPROOT; do
		if [ -n "$(mounts_below "$d")" ]; then
			echo "still mounted below $d:"
			mounts_below "$d"
		fi
	done
}

# group_alive PGID -- whether a live (not zombie) process of process group
# PGID exists.
group_alive() {
	local p stat fields
	for p in /proc/[0-9]*; do
		read -r stat 2>/dev/null <"$p/stat" || continue
		# after "(comm) ": state ppid pgrp ...
		read -r -a fields <<<"${stat##*) }"
		[ "${fields[2]}" = "$1" ] && [ "${fields[0]}" != Z ] && return 0
	done
	return 1
}

# stop_step -- end the running step and everything it started outside the
# chroot (debootstrap's extractors, apt's dpkg): its process group, TERM
# then KILL.
step_pid=
stop_step() {
	local sig i
	[ -n "$step_pid" ] || return 0
	for sig in TERM KILL; do
		kill -s "$sig" -- "-$step_pid" 2>/dev/null || return 0
		for i in $(seq 50); do
			group_alive "$step_pid" || return 0
			sleep 0.1
		done
	done
}
on_signal() {
	trap '' INT TERM HUP
	stop_step
	[ -s "$RESULT" ] || result "FAIL (interrupted)"
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM HUP

# step CMD... -- run CMD in a process group of its own (setsid), in the
# background, and wait for it: a signal reaches on_signal at once, and
# stop_step can end all that CMD started.
step() {
	local rc=0
	setsid "$@" &
	step_pid=$!
	wait "$step_pid" || rc=$?
	step_pid=
	return $rc
}

# Every signal at its default disposition for what runs in the chroot: a
# background job of a script starts with SIGINT and SIGQUIT ignored, and
# the tests check what the programs inherit.
PRISTINE=(env --default-signal)
# The environment inside the chroot: nothing of the caller's but CI.
CHROOT_ENV=(/usr/bin/env -i
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive
	${CI:+CI="$CI"})

# in_chroot DIR CMD... -- CMD inside DIR.
in_chroot() {
	local dir=$1
	shift
	"${PRISTINE[@]}" chroot "$dir" "${CHROOT_ENV[@]}" "$@"
}

# mount_chroot DIR -- what builds and tests need: /proc, /dev, /dev/pts, and
# a /dev/shm of its own (PostgreSQL's dynamic shared memory).
mount_chroot() {
	local dir=$1
	mount -t proc proc "$dir/proc" &&
		mount --bind /dev "$dir/dev" &&
		mount --bind /dev/pts "$dir/dev/pts" &&
		mount -t tmpfs -o mode=1777,nosuid,nodev shm "$dir/dev/shm" &&
		cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
}

# configure_chroot DIR -- before the packages go in: start no service,
# create no "main" cluster, install no documentation, no recommends; the
# host's apt settings that matter for reaching the archive.
configure_chroot() {
	local dir=$1
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	mkdir -p "$dir/etc/postgresql-common"
	echo "create_main_cluster = false" >"$dir/etc/postgresql-common/createcluster.conf"
	cat >"$dir/etc/dpkg/dpkg.cfg.d/90execjson-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
	{
		echo 'APT::Install-Recommends "false";'
		echo 'APT::Install-Suggests "false";'
		# A mirror that lags (or a frozen snapshot) serves Release files
		# past their Valid-Until: follow the host's choice.
		apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|ftp::Proxy) ' || true
	} >"$dir/etc/apt/apt.conf.d/90execjson-matrix"
}

# build_chroot -- debootstrap and install into a temporary directory, then
# rename it into place.
build_chroot() {
	local t0=$SECONDS old
	TMPROOT=$(mktemp -d "$CACHE/.$SUITE.tmp.XXXXXX")
	chmod 755 "$TMPROOT"
	progress "building the $SUITE chroot (debootstrap --variant=minbase)"
	step "${PRISTINE[@]}" debootstrap --variant=minbase "$SUITE" "$TMPROOT" "$MIRROR" ||
		fail "debootstrap $SUITE failed, see the log"
	unmount_all "$TMPROOT"
	configure_chroot "$TMPROOT"
	progress "installing ${PACKAGES[*]} in the $SUITE chroot"
	mount_chroot "$TMPROOT" || fail "mounting /proc, /dev in the new chroot failed"
	step "${PRISTINE[@]}" chroot "$TMPROOT" "${CHROOT_ENV[@]}" apt-get update -q ||
		fail "apt-get update in the $SUITE chroot failed"
	step "${PRISTINE[@]}" chroot "$TMPROOT" "${CHROOT_ENV[@]}" \
		apt-get install -y -q "${PACKAGES[@]}" ||
		fail "apt-get install in the $SUITE chroot failed (is postgresql-$PG in $SUITE?)"
	in_chroot "$TMPROOT" apt-get clean
	kill_chroot "$TMPROOT"
	unmount_all "$TMPROOT"
	[ -z "$(mounts_below "$TMPROOT")" ] || fail "could not unmount below $TMPROOT"
	echo "$RECIPE" >"$TMPROOT/$STAMP"
	if [ -e "$ROOT" ]; then
		# run-matrix.sh removes it, from the host's namespace.
		old=$(mktemp -u "$CACHE/.$SUITE.old.XXXXXX")
		mv -T "$ROOT" "$old"
	fi
	mv -T "$TMPROOT" "$ROOT"
	TMPROOT=
	progress "built the $SUITE chroot in $((SECONDS - t0))s"
}

chroot_is_usable() {
	[ -z "${EXECJSON_MATRIX_REBUILD:-}" ] &&
		[ -f "$ROOT/$STAMP" ] &&
		[ "$(cat "$ROOT/$STAMP")" = "$RECIPE" ] &&
		[ -z "$(find "$ROOT/$STAMP" -mtime "+$EXECJSON_MATRIX_MAX_AGE_DAYS")" ]
}

# copy_tree -- the working tree (tracked and untracked files, not the
# ignored ones: no build products) to /build/execjson in the chroot, with
# EXECJSON_MATRIX_PATCHES applied to the copy.
copy_tree() {
	local dest=$ROOT/build/execjson p
	rm -rf --one-file-system "$ROOT/build"
	mkdir -p "$dest"
	if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$SRCDIR" &&
			git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' p; do
				# skip files deleted from the work tree
				[ -e "$p" ] || [ -L "$p" ] && printf '%s\0' "$p"
			done |
			tar --null -T - -cf -) | tar -C "$dest" -xf - || return 1
	else
		(cd "$SRCDIR" && tar --exclude=.git -cf - .) | tar -C "$dest" -xf - || return 1
	fi
	for p in ${EXECJSON_MATRIX_PATCHES:-}; do
		echo "applying $p to the copy"
		patch -d "$dest" -p1 --batch --forward <"$p" || return 1
	done
}

# summarize LOG RC -- the summary line from run-tests.sh's output.
summarize() {
	local log=$1 rc=$2 regress tap files tests failed_files failed_tests reason err
	regress=$(grep -Eo 'All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests failed' "$log" | tail -n 1)
	case $regress in
	All*) regress=$(echo "$regress" | awk '{print $2 "/" $2}') ;;
	*of*) regress=$(echo "$regress" | awk '{print ($3 - $1) "/" $3}') ;;
	esac
	tap=
	if grep -qE '^Files=[0-9]+, Tests=[0-9]+' "$log"; then
		files=$(grep -Eo '^Files=[0-9]+' "$log" | tail -n 1 | cut -d= -f2)
		tests=$(grep -Eo '^Files=[0-9]+, Tests=[0-9]+' "$log" | tail -n 1 | sed 's/.*Tests=//')
		failed_files=$(grep -cE '^test/t/[^ ]+ +\(Wstat: ' "$log")
		failed_tests=$(grep -E '^test/t/[^ ]+ +\(Wstat: ' "$log" |
			grep -Eo 'Failed: [0-9]+' | awk '{s += $2} END {print s + 0}')
		tap="TAP $((files - failed_files))/$files files, $((tests - failed_tests))/$tests tests"
	fi
	if [ "$rc" -eq 0 ]; then
		result "PASS (regress ${regress:-?}, ${tap:-TAP ?}; $VERSION_INFO)"
		return
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		reason="timed out after ${EXECJSON_MATRIX_TIMEOUT}s"
	elif ! grep -q '^==> running pg_regress and TAP tests' "$log"; then
		err=$(grep -m 1 -E 'error:|Error [0-9]+|^E: ' "$log" | cut -c 1-200)
		if grep -q '^==> building and installing execjson' "$log"; then
			reason="build failed: ${err:-see the log}"
		else
			reason="setup failed: ${err:-see the log}"
		fi
	else
		reason="regress ${regress:-not run}, ${tap:-TAP not run}"
	fi
	result "FAIL ($reason; $VERSION_INFO)"
}

# ---------------------------------------------------------------------

VERSION_INFO="$SUITE"
mkdir -p "$CACHE"
if chroot_is_usable; then
	progress "using the cached $SUITE chroot ($ROOT)"
else
	build_chroot
fi

mount_chroot "$ROOT" || fail "mounting /proc, /dev in $ROOT failed"
pgver=$(in_chroot "$ROOT" "/usr/lib/postgresql/$PG/bin/pg_config" --version 2>/dev/null) ||
	fail "PostgreSQL $PG is not installed in the $SUITE chroot"
VERSION_INFO="$(echo "$pgver" | awk '{print $2}') on $SUITE, gcc $(in_chroot "$ROOT" gcc -dumpfullversion 2>/dev/null || echo '?')"
progress "$pgver in $SUITE: copying the tree"
copy_tree || fail "copying the tree into the chroot failed"

progress "build (-Werror), pg_regress, TAP (test/run-tests.sh with PG_MAJOR=$PG)"
testlog=$(mktemp)
rc=0
# The tests run in a root entered with pivot_root, not chroot: the kernel
# refuses a chrooted process a new user namespace, which execjson.sandbox
# needs.  The host's root stays reachable at /mnt in there (the
# namespace, private to this run, ends with it).
step "${PRISTINE[@]}" timeout -k 30 "$EXECJSON_MATRIX_TIMEOUT" \
	unshare --mount --propagation private -- /bin/sh -c \
	'mount --rbind "$1" "$1" && cd "$1" && pivot_root . mnt && shift && exec "$@"' \
	enter-root "$ROOT" "${PRISTINE[@]}" "${CHROOT_ENV[@]}" PG_MAJOR="$PG" EXECJSON_SKIP_LINT=1 \
	bash /build/execjson/test/run-tests.sh >"$testlog" 2>&1 || rc=$?
cat "$testlog"
summarize "$testlog" "$rc"
rm -f "$testlog"
progress "$(cut -d' ' -f3- "$RESULT")"
[ "$rc" -eq 0 ]
