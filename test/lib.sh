# test/lib.sh -- shared by the scripts behind `make test`, `make demo` and
# `make bench`: install what is missing, build and install execjson, run a
# throwaway cluster as the postgres OS user.
#
# Source it; it sets PG_MAJOR, PGBIN, PG_CONFIG and EXECJSON_TEST_DIR.

set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
# Where the test programs are installed; readable by the server's OS user
# (a checkout under /root is not).  The regression tests' expected output
# names this directory.
EXECJSON_TEST_DIR=/tmp/execjson-test
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '==> %s\n' "$*" >&2; }

# install_packages PKG... -- apt-get install the packages not yet installed.
install_packages() {
	local missing=()
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]}; run as root or install them" >&2
		exit 1
	fi
	log "installing ${missing[*]}"
	if [ -z "${EXECJSON_APT_UPDATED:-}" ]; then
		apt-get update -qq
		EXECJSON_APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# install_available PKG... -- install_packages for those of PKG that the
# archive has (apt-cache); say which it has not.  For what a test can do
# without (it then skips, saying why).
install_available() {
	local avail=() p
	for p in "$@"; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			continue
		fi
		if [ -z "${EXECJSON_APT_UPDATED:-}" ] && [ "$(id -u)" = 0 ]; then
			apt-get update -qq
			EXECJSON_APT_UPDATED=1
		fi
		if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
			avail+=("$p")
		else
			log "$p is not in the archive: the tests that need it are skipped"
		fi
	done
	[ ${#avail[@]} -eq 0 ] || install_packages "${avail[@]}"
}

# install_base_deps -- what building and testing execjson needs.
install_base_deps() {
	install_packages gcc make libc6-dev perl libipc-run-perl procps strace \
		"postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
	# PL/Proxy, for the scaling-out test (test/t/030_plproxy.pl).
	install_available "postgresql-$PG_MAJOR-plproxy"
	# Debian creates a "main" cluster on install; the tests do not use it.
	if command -v pg_lsclusters >/dev/null &&
		pg_lsclusters -h 2>/dev/null | awk '$1=="'"$PG_MAJOR"'" && $2=="main" && $4=="online"' | grep -q .; then
		log "stopping Debian's $PG_MAJOR/main cluster (not used by the tests)"
		pg_ctlcluster "$PG_MAJOR" main stop || true
	fi
}

# build_and_install -- build execjson and the test programs, install both.
build_and_install() {
	log "building and installing execjson"
	make -C "$SRCDIR" -s PG_CONFIG="$PG_CONFIG" all test-programs >/dev/null
	make -C "$SRCDIR" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
	make -C "$SRCDIR" -s PG_CONFIG="$PG_CONFIG" install-test-programs \
		EXECJSON_TEST_DIR="$EXECJSON_TEST_DIR" >/dev/null
}

# start_cluster DIR [PORT] -- initdb and start a throwaway cluster owned by
# postgres in DIR (created, chowned), socket in DIR.  Exports PGHOST,
# PGPORT, PGUSER, PGDATABASE for the caller.
start_cluster() {
	local dir=$1 port=${2:-54329}
	mkdir -p "$dir"
	chown postgres: "$dir"
	chmod 700 "$dir"
	runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres \
		--auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
shared_preload_libraries = 'execjson'
execjson.allow_prefixes = '$EXECJSON_TEST_DIR/bin'
CONF
	# Started without the fds this shell may have inherited (a CI runner's
	# or a terminal's pipes), as pg_ctlcluster or systemd would start it: a
	# postmaster keeps what it inherits, and every backend and every
	# program it starts would carry them (a stray fd 251 makes each spawn
	# copy a 256-entry fd table; `make bench` measured that).
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			if [ "$fd" -gt 2 ]; then
				exec {fd}>&-
			fi
		done
		exec runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" \
			-l "$dir/server.log" -w -t 60 start >/dev/null
	)
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

# stop_cluster DIR -- stop the cluster in DIR and remove DIR.
stop_cluster() {
	local dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m immediate \
			-w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
