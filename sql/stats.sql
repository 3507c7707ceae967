--
-- stats: pg_stat_execjson -- its columns, what is counted, reset,
-- privileges (issue 13)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- the view's columns and types, as pg_stat_statements spells them
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'pg_stat_execjson'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'pg_stat_execjson_info'::regclass AND attnum > 0 ORDER BY attnum;

-- only superusers may reset (EXECUTE revoked from PUBLIC); everyone may
-- read the views
SELECT proname, NOT EXISTS (SELECT 1 FROM aclexplode(proacl) a WHERE a.grantee = 0) AS public_revoked
FROM pg_proc WHERE proname = 'pg_stat_execjson_reset';
SELECT relname, has_table_privilege('public', oid, 'SELECT') AS public_select
FROM pg_class WHERE relname IN ('pg_stat_execjson', 'pg_stat_execjson_info') ORDER BY 1;

-- a reset empties the view, zeroes dealloc and moves stats_reset
SELECT pg_stat_execjson_reset();
SELECT count(*) AS rows_after_reset FROM pg_stat_execjson;
SELECT dealloc, stats_reset BETWEEN clock_timestamp() - interval '1 minute' AND clock_timestamp() AS reset_just_now
FROM pg_stat_execjson_info;

-- not counted: calls refused before a program was checked (no canonical
-- path to count them under)
SELECT try('{"kind": "run_program_v1"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/etc/passwd"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-program"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/not-executable"}');
SELECT count(*) AS rows_after_refused_calls FROM pg_stat_execjson;

-- counted: every call of a checked program, whatever its outcome
-- ("drain" first: every run reads its stdin, so the byte counts are exact)
SELECT exec_run(req(ARRAY['drain', 'print', '1']));
SELECT exec_run(req(ARRAY['drain', 'eprint', 'abc', 'print', '2']));
SELECT exec_try(req(ARRAY['drain', 'print', '3'])) ->> 'ok' AS ok;
SELECT try(req(ARRAY['drain', 'exit', '3']));
SELECT exec_try(req(ARRAY['drain', 'exit', '4'])) -> 'error' ->> 'code' AS code;
SELECT try(req(ARRAY['drain', 'print', 'not-json']));
SELECT try(req(ARRAY['drain', 'sleep', '5000'], '{"timeout_ms": 50}'));
SET execjson.max_stdout_bytes = 10;
SELECT try(req(ARRAY['drain', 'out', '100']));
RESET execjson.max_stdout_bytes;
SET execjson.max_stdin_bytes = 5;
SELECT try(req(ARRAY['drain'], '{"stdin_json": "longer than five"}'));
RESET execjson.max_stdin_bytes;
SET statement_timeout = '200ms';
SELECT exec_run(req(ARRAY['drain', 'sleep', '5000']));
RESET statement_timeout;
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/garbage"}');
-- with execjson.stats_track off, calls are not counted
SET execjson.stats_track = off;
SELECT exec_run(req(ARRAY['drain', 'print', '5']));
RESET execjson.stats_track;

-- 10 calls of xjtool: 3 ok, 6 errors, 1 cancel (statement_timeout)
SELECT program_path, calls, errors, cancels, errors_by_code,
       stdin_bytes, stdout_bytes, stderr_bytes
FROM pg_stat_execjson
WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY program_path;
-- times: the program's wall time (the timed-out and cancelled runs lasted
-- about 50 and 200 ms; the call refused for its stdin ran nothing)
SELECT min_exec_time = 0 AS min_is_the_unrun_call,
       max_exec_time >= 150 AS max_is_the_cancelled_call,
       total_exec_time >= 200 AS total_has_both,
       abs(mean_exec_time - total_exec_time / calls) < 1e-6 AS mean_ok,
       stddev_exec_time > 0 AS stddev_ok,
       max_rss_kb > 0 AS rss_counted,
       stats_since BETWEEN clock_timestamp() - interval '1 minute' AND clock_timestamp() AS since_ok
FROM pg_stat_execjson
WHERE program_path = '/tmp/execjson-test/bin/xjtool' AND userid = (SELECT oid FROM pg_roles WHERE rolname = current_user);

-- the README's queries (their non-deterministic columns checked, not shown)
SELECT program_path, errors, calls, cpu_ms >= 0 AS cpu_ms_ok FROM (
  SELECT program_path, sum(errors) AS errors, sum(calls) AS calls,
         sum(user_cpu_time + system_cpu_time) AS cpu_ms
  FROM pg_stat_execjson
  GROUP BY program_path ORDER BY errors DESC LIMIT 1) q;
SELECT program_path, role, calls, total_ms >= mean_ms AS times_ok FROM (
  SELECT program_path, userid::regrole AS role, calls,
         round(total_exec_time::numeric, 1) AS total_ms,
         round(mean_exec_time::numeric, 2) AS mean_ms,
         round((user_cpu_time + system_cpu_time)::numeric, 1) AS cpu_ms,
         max_rss_kb
  FROM pg_stat_execjson
  ORDER BY total_exec_time DESC LIMIT 10) q;
SELECT program_path, sum(calls) AS calls, sum(errors) AS errors,
       sum(cancels) AS cancels,
       round(100.0 * sum(errors) / nullif(sum(calls), 0), 1) AS error_pct
FROM pg_stat_execjson
GROUP BY program_path ORDER BY error_pct DESC NULLS LAST;
SELECT program_path, e.key AS code, sum(e.value::bigint) AS n
FROM pg_stat_execjson, jsonb_each_text(errors_by_code) AS e
GROUP BY program_path, e.key ORDER BY n DESC, code;

-- privileges: a role sees its own rows only; pg_read_all_stats sees all
CREATE ROLE regress_stats_a;
CREATE ROLE regress_stats_b;
CREATE ROLE regress_stats_reader;
GRANT pg_read_all_stats TO regress_stats_reader;
GRANT EXECUTE ON FUNCTION exec_run(jsonb) TO regress_stats_a, regress_stats_b;
SET ROLE regress_stats_a;
SELECT exec_run(req(ARRAY['drain', 'print', '"a"']));
-- the role cannot stop its calls from being counted
SET execjson.stats_track = off;
RESET ROLE;
SET ROLE regress_stats_b;
SELECT exec_run(req(ARRAY['drain', 'print', '"b"']));
SELECT exec_run(req(ARRAY['drain', 'print', '"b"']));
SELECT r.rolname, s.calls FROM pg_stat_execjson s JOIN pg_roles r ON r.oid = s.userid ORDER BY 1;
SELECT pg_stat_execjson_reset();
SELECT dealloc FROM pg_stat_execjson_info;
RESET ROLE;
SET ROLE regress_stats_reader;
SELECT r.rolname, s.program_path, s.calls FROM pg_stat_execjson s JOIN pg_roles r ON r.oid = s.userid ORDER BY 1, 2;
RESET ROLE;
SELECT r.rolname, s.program_path, s.calls FROM pg_stat_execjson s JOIN pg_roles r ON r.oid = s.userid ORDER BY 1, 2;

-- the reset removes every role's rows
SELECT pg_stat_execjson_reset();
SELECT count(*) AS rows_after_reset FROM pg_stat_execjson;

REVOKE EXECUTE ON FUNCTION exec_run(jsonb) FROM regress_stats_a, regress_stats_b;
DROP ROLE regress_stats_a;
DROP ROLE regress_stats_b;
DROP ROLE regress_stats_reader;

-- a batch counts each of its programs like a single call: successes,
-- errors by code, and programs stopped by the batch's end as cancels
SELECT count(*) FROM exec_try_many(ARRAY[req(ARRAY['print', '1']),
  req(ARRAY['exit', '3']), req(ARRAY['print', '2'])], 2);
SELECT calls, errors, errors_by_code, cancels FROM pg_stat_execjson
WHERE program_path = '/tmp/execjson-test/bin/xjtool';
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['exit', '4']),
  req(ARRAY['sleep', '5000', 'print', '1'])], 2);
SELECT calls, errors, errors_by_code, cancels FROM pg_stat_execjson
WHERE program_path = '/tmp/execjson-test/bin/xjtool';
-- each element keeps its own canonical path, whatever the next one names
SELECT pg_stat_execjson_reset();
SELECT position, result #>> '{error,details,program_path}' AS path
FROM exec_try_many(ARRAY[req(ARRAY['print', '1']),
  req(ARRAY['sleep', '300', 'exit', '3']),
  '{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/./././ok"}'::jsonb], 3);
SELECT program_path, calls, errors FROM pg_stat_execjson ORDER BY 1;
SELECT pg_stat_execjson_reset();
