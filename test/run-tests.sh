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
# META.json well-formed, its version the same as execjson.control's and
# debian/changelog's (test/package/check-meta.pl).
log "check-meta"
perl "$SRCDIR/test/package/check-meta.pl" "$SRCDIR"
build_and_install
# EXECJSON_SKIP_LINT=1: no cppcheck (make test-matrix: the lint does not
# depend on the PostgreSQL version, and older cppchecks disagree).
if [ -z "${EXECJSON_SKIP_LINT:-}" ]; then
	install_packages cppcheck
	log "cppcheck"
	make -C "$SRCDIR" -s PG_CONFIG="$PG_CONFIG" lint
fi

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

# pg_regress, pg_regress in the sandbox, then TAP: each runs whatever
# the others gave.
log "running pg_regress and TAP tests"
status=0
runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
	make -C "$work/src" -s PG_CONFIG="$PG_CONFIG" \
	EXECJSON_TEST_DIR="$EXECJSON_TEST_DIR" TAP_TESTS= \
	installcheck || status=$?

# pg_regress again, in the sandbox the README recommends: the same
# expected output (see REGRESS_SANDBOX in the Makefile).
{
	log "running pg_regress with execjson.sandbox = 'filesystem,network'"
	runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
		psql -X -q -v ON_ERROR_STOP=1 -d postgres -c \
		"ALTER SYSTEM SET execjson.sandbox = 'filesystem,network'" -c \
		"ALTER SYSTEM SET execjson.sandbox_paths = '/usr,/lib,/lib64,/bin'" -c \
		"SELECT pg_reload_conf()" >/dev/null || status=$?
	# the server really runs programs in the sandbox now: as pid 1
	pid=$(runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
		psql -X -At -d postgres -c "CREATE EXTENSION IF NOT EXISTS execjson" -c \
		"SELECT exec_run('{\"kind\": \"run_program_v1\", \"program_path\": \"$EXECJSON_TEST_DIR/bin/xjtool\", \"argv\": [\"pid\"]}')->>'pid'" |
		tail -n 1) || pid=
	if [ "$pid" != 1 ]; then
		echo "the sandboxed server did not run the program as pid 1 (got '$pid')" >&2
		status=1
	fi
	runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
		make -C "$work/src" -s PG_CONFIG="$PG_CONFIG" \
		EXECJSON_TEST_DIR="$EXECJSON_TEST_DIR" installcheck-sandbox || status=$?
}

runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
	make -C "$work/src" -s PG_CONFIG="$PG_CONFIG" \
	EXECJSON_TEST_DIR="$EXECJSON_TEST_DIR" PROVE_FLAGS="--timer -I test/perl" \
	REGRESS= installcheck || status=$?

if [ $status -ne 0 ]; then
	for f in "$work/src/regression.diffs" "$work/src/sandbox_check/regression.diffs"; do
		[ -f "$f" ] && { echo "---- $f"; cat "$f"; }
	done
	# TAP logs: tmp_check/log, or log/ on 16+ when TESTLOGDIR is not set.
	for f in "$work"/src/tmp_check/log/regress_log_* "$work"/src/log/regress_log_*; do
		[ -f "$f" ] && { echo "---- $f (last 40 lines)"; tail -n 40 "$f"; }
	done
	echo "make test: FAILED" >&2
	exit $status
fi
echo "make test: all tests passed"
