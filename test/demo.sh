#!/bin/bash
# demo.sh -- `make demo`: install what is missing, build and install
# execjson, start a throwaway cluster, show a few exec_run calls, remove
# the cluster.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make demo runs as root (it installs packages and runs the server as postgres)" >&2
	exit 1
fi

install_base_deps
build_and_install

work=$(mktemp -d /tmp/execjson-demo.XXXXXX)
chmod 755 "$work"
trap 'stop_cluster "$work/cluster"; rm -rf "$work"' EXIT
start_cluster "$work/cluster" 54319

log "exec_run on a throwaway PostgreSQL $PG_MAJOR cluster"
"$PGBIN/psql" -X -v ON_ERROR_STOP=0 -e <<SQL
CREATE EXTENSION execjson;
-- the DBA's policy: programs may come from this directory only
ALTER SYSTEM SET execjson.allow_prefixes = '$EXECJSON_TEST_DIR/bin';
SELECT pg_reload_conf();
CREATE ROLE app LOGIN;
GRANT EXECUTE ON FUNCTION exec_run(jsonb), exec_try(jsonb) TO app;
\c - app
-- a program that echoes its stdin: JSON in, JSON out
SELECT exec_run('{"kind": "run_program_v1",
                  "program_path": "$EXECJSON_TEST_DIR/bin/xjtool",
                  "argv": ["echo"],
                  "stdin_json": {"items": [1, 2, 3], "who": "demo"},
                  "timeout_ms": 5000}') AS answer;
-- one call per row
SELECT n, exec_run(jsonb_build_object('kind', 'run_program_v1',
         'program_path', '$EXECJSON_TEST_DIR/bin/xjtool',
         'argv', jsonb_build_array('echo'),
         'stdin_json', jsonb_build_object('n', n))) ->> 'n' AS echoed
FROM generate_series(1, 3) AS n;
-- errors carry a stable code and JSON details, never program output
SELECT exec_run('{"kind": "run_program_v1",
                  "program_path": "$EXECJSON_TEST_DIR/bin/xjtool",
                  "argv": ["print", "secret output", "exit", "3"]}');
SELECT exec_run('{"kind": "run_program_v1", "program_path": "/bin/sh",
                  "argv": ["-c", "id"]}');
SELECT exec_run('{"kind": "run_program_v1",
                  "program_path": "$EXECJSON_TEST_DIR/bin/xjtool",
                  "argv": ["sleep", "10000"], "timeout_ms": 300}');
-- exec_try: errors as values, so one failing row does not abort the query
SELECT n, exec_try(jsonb_build_object('kind', 'run_program_v1',
         'program_path', '$EXECJSON_TEST_DIR/bin/xjtool',
         'argv', jsonb_build_array('print', n::text, 'exit', (n % 2)::text))) AS result
FROM generate_series(1, 3) AS n;
-- env: only the names the DBA allows (execjson.allow_env, empty by default);
-- BASH_ENV would make any bash script run its stdin
SELECT exec_try('{"kind": "run_program_v1",
                  "program_path": "$EXECJSON_TEST_DIR/bin/xjtool",
                  "argv": ["print", "1"], "env": {"BASH_ENV": "/dev/stdin"}}') -> 'error' ->> 'code' AS env_refused;
-- the policy is the DBA's: an application role cannot widen it
SET execjson.allow_prefixes = '/';
SQL
log "demo done; removing the cluster"
