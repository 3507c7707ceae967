#!/bin/bash
# run-tests.sh -- `make test`: from a fresh Debian 12 machine, as root,
# install what is missing, build and install execjson, and run the
# pg_regress suite (against a throwaway cluster) and the TAP suite (each
# test makes its own clusters).  Everything runs as the postgres OS user
# in a copy of the tree it can read; nothing is left behind.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make test runs as root (it installs packages and runs the server as postgres)" >&2
	exit 1
fi

install_base_deps
install_packages cppcheck
build_and_install
log "cppcheck"
make -C "$SRCDIR" -s PG_CONFIG="$PG_CONFIG" lint

work=$(mktemp -d /tmp/execjson-test-run.XXXXXX)
chmod 755 "$work"
cleanup() {
	stop_cluster "$work/cluster"
	rm -rf "$work"
}
trap cleanup EXIT

# A copy of the tree the postgres OS user owns: pg_regress and prove write
# their results next to the tests.
mkdir "$work/src"
(cd "$SRCDIR" && tar --exclude=.git -cf - .) | tar -C "$work/src" -xf -
chown -R postgres: "$work/src"

start_cluster "$work/cluster"

log "running pg_regress and TAP tests"
status=0
runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
	make -C "$work/src" -s PG_CONFIG="$PG_CONFIG" \
	EXECJSON_TEST_DIR="$EXECJSON_TEST_DIR" PROVE_FLAGS="--timer" \
	installcheck || status=$?

if [ $status -ne 0 ]; then
	for f in "$work/src/regression.diffs"; do
		[ -f "$f" ] && { echo "---- $f"; cat "$f"; }
	done
	for f in "$work"/src/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "---- $f (last 40 lines)"; tail -n 40 "$f"; }
	done
	echo "make test: FAILED" >&2
	exit $status
fi
echo "make test: all tests passed"
