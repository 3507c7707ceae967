--
-- exec_try: the same call as exec_run, with execjson's errors as values
-- (extension version 1.1)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- declared like exec_run, and not executable by PUBLIC
SELECT proname, provolatile, proisstrict, proparallel,
       NOT EXISTS (SELECT 1 FROM aclexplode(proacl) a WHERE a.grantee = 0) AS public_revoked
FROM pg_proc WHERE proname = 'exec_try';
SELECT exec_try(NULL) IS NULL AS null_in_null_out;

-- a result: {"ok": true, "value": ...}
SELECT exec_try(req(ARRAY['print', '{"a": [1, 2]}']));
SELECT exec_try(req(ARRAY['print', '42']));
SELECT exec_try(req(ARRAY['print', 'null']));
SELECT exec_try(req(ARRAY['echo'], '{"stdin_json": "x"}'));

-- every execjson error: {"ok": false, "error": {...}}
SELECT exec_try('[]');
SELECT exec_try(req() || '{"timeout_ms": 0}');
SELECT exec_try('{"kind": "run_program_v1", "program_path": "/etc/passwd"}');
SELECT exec_try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-program"}');
SELECT exec_try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/not-executable"}');
SET execjson.max_stdin_bytes = 10;
SELECT exec_try(req(ARRAY['drain'], '{"stdin_json": "more than ten bytes"}'));
RESET execjson.max_stdin_bytes;
SELECT exec_try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/garbage"}');
SELECT exec_try(req(ARRAY['sleep', '5000'], '{"timeout_ms": 100}'));
SELECT exec_try(req(ARRAY['exit', '3']));
SELECT exec_try(req(ARRAY['kill', '9']));
SET execjson.max_stdout_bytes = 10;
SELECT exec_try(req(ARRAY['flood-out']));
RESET execjson.max_stdout_bytes;
SET execjson.max_stderr_bytes = 10;
SELECT exec_try(req(ARRAY['err', '11', 'print', '{}']));
RESET execjson.max_stderr_bytes;
SELECT exec_try(req(ARRAY['print', 'secret-token-1234']));

-- one failing row does not lose the others
SELECT n, exec_try(req(ARRAY['print', n::text, 'exit', (n % 2)::text])) AS result
FROM generate_series(1, 4) AS n;
SELECT count(*) FILTER (WHERE r->>'ok' = 'true') AS ok,
       count(*) FILTER (WHERE r->'error'->>'code' = 'exec_failed') AS failed
FROM (SELECT exec_try(req(ARRAY['print', n::text, 'exit', (n % 3 = 0)::int::text])) AS r
      FROM generate_series(1, 30) AS n) s;

-- query cancel and statement_timeout still raise, and the program is
-- still killed
SET statement_timeout = '300ms';
SELECT exec_try(req(ARRAY['sleep', '10000']));
RESET statement_timeout;
SELECT exec_try(req(ARRAY['print', '"after the cancel"']));
