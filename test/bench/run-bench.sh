#!/bin/bash
# run-bench.sh -- `make bench`: from a fresh Debian 12 machine, as root,
# install what is missing, build and install execjson, start one throwaway
# cluster (port 54339) and measure exec_run against its floors and the
# other ways of running a program from SQL.  Prints a table and writes
# test/bench/results/<timestamp>.json.  Timings are reported, never
# asserted: the exit status says only whether the measurements could be
# made.
#
# The measurements are in bench.py; the floor program (floor.c) and the
# diagnostic program without libc (lean.c) are built in a temporary
# directory, not in the tree.
#
# Environment: BENCH_ROUNDS (default 10), BENCH_SECONDS (the 1-client
# pgbench run mixing exec_run and the query floor, default 4), BENCH_PORT
# (default 54339), BENCH_NO_BUILD=1 to use the execjson and test programs
# already installed, BENCH_ONLY=stats to measure only the cost of
# pg_stat_execjson (stats_track on against off; about a minute),
# BENCH_ONLY=batch only the trivial call, exec_run's own overhead and the
# batches, BENCH_ONLY_SANDBOX=1 only the sandbox levels.
source "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make bench runs as root (it installs packages and runs the server as postgres)" >&2
	exit 1
fi

bench_start=$(date +%s.%N)
BENCH_PORT=${BENCH_PORT:-54339}
BENCHDIR=$SRCDIR/test/bench

install_base_deps
install_packages python3 "postgresql-$PG_MAJOR-plsh" "postgresql-plpython3-$PG_MAJOR"
if [ -z "${BENCH_NO_BUILD:-}" ]; then
	build_and_install
fi

work=$(mktemp -d /tmp/execjson-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
	stop_cluster "$work/cluster"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The floor program is built here, not in the tree: `make clean` removes
# test/bench/floor, and another build may be running there.
log "building the floor program"
gcc -O2 -Wall -Wextra -Werror -o "$work/floor" "$BENCHDIR/floor.c"

# The diagnostic program without libc (x86-64 Linux only), as $work/bin/ok.
lean=
install -d -m 755 "$work/bin"
if [ "$(uname -m)" = x86_64 ] &&
	gcc -O2 -Wall -Wextra -Werror -static -nostdlib -fno-stack-protector \
		-o "$work/bin/ok" "$BENCHDIR/lean.c"; then
	chmod 755 "$work/bin/ok"
	lean=$work/bin/ok
fi

start_cluster "$work/cluster" "$BENCH_PORT"
export PGBIN

setup_seconds=$(awk -v a="$(date +%s.%N)" -v b="$bench_start" 'BEGIN { print a - b }')

/usr/bin/python3 "$BENCHDIR/bench.py" \
	--floor "$work/floor" \
	--workdir "$work" \
	--test-dir "$EXECJSON_TEST_DIR" \
	--results-dir "$BENCHDIR/results" \
	--srcdir "$SRCDIR" \
	--so "$("$PG_CONFIG" --pkglibdir)/execjson.so" \
	--setup-seconds "$setup_seconds" \
	${lean:+--lean "$lean"}
