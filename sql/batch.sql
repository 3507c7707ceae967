--
-- exec_run_many / exec_try_many: a batch of requests from one statement,
-- up to max_parallel programs at a time (extension version 1.2)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- declared like exec_run (but not strict: max_parallel may be NULL), and
-- not executable by PUBLIC
SELECT proname, provolatile, proisstrict, proparallel, proretset,
       pg_get_function_arguments(oid) AS arguments,
       pg_get_function_result(oid) AS result,
       NOT EXISTS (SELECT 1 FROM aclexplode(proacl) a WHERE a.grantee = 0) AS public_revoked
FROM pg_proc WHERE proname IN ('exec_run_many', 'exec_try_many') ORDER BY 1;
SELECT name, setting, min_val, max_val, context FROM pg_settings
WHERE name = 'execjson.max_parallel';

-- one row per element, in position order; a NULL element gives NULL
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '1']), NULL,
                                  req(ARRAY['print', '"three"']),
                                  req(ARRAY['echo'], '{"stdin_json": {"four": [4]}}')]);
-- in position order even when later elements finish first
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['sleep', '300', 'print', '1']),
                                  req(ARRAY['print', '2']),
                                  NULL,
                                  req(ARRAY['sleep', '100', 'print', '4']),
                                  req(ARRAY['print', '5'])], 4);
SELECT * FROM exec_try_many(ARRAY[req(ARRAY['sleep', '200', 'print', '1']),
                                  req(ARRAY['exit', '2']),
                                  req(ARRAY['print', '3'])], 3);
-- positions count from 1 whatever the array's lower bound
SELECT * FROM exec_run_many('[5:6]={"{\"kind\": \"run_program_v1\", \"program_path\": \"/tmp/execjson-test/bin/ok\"}",NULL}'::jsonb[]);

-- an empty array gives no rows; so does a NULL array
SELECT count(*) FROM exec_run_many('{}');
SELECT count(*) FROM exec_try_many('{}', 2);
SELECT count(*) FROM exec_run_many(NULL);
SELECT count(*) FROM exec_try_many(NULL, 2);
SELECT * FROM exec_try_many(ARRAY[NULL, NULL]::jsonb[]);

-- many elements, one slot after another
SELECT count(*), min(position), max(position),
       bool_and(result = to_jsonb(position)) AS all_right,
       bool_and(position = ordinality) AS in_order
FROM exec_run_many(ARRAY(SELECT req(ARRAY['print', n::text]) FROM generate_series(1, 200) n), 8)
     WITH ORDINALITY;

-- the wait set is made anew when it is full (about every 170
-- programs): a program running across that goes on being watched -- its
-- stdin fed (more than a pipe holds), its output read, its exit seen --
-- or it would time out
SELECT count(*) AS programs,
       bool_and(result = jsonb_build_object('ok', true, 'value',
                                            CASE WHEN position = 1
                                                 THEN to_jsonb(repeat('x', 200000))
                                                 ELSE '{}' END)) AS all_right
FROM exec_try_many(ARRAY[req(ARRAY['sleep', '1000', 'echo'],
                             jsonb_build_object('timeout_ms', 5000,
                                                'stdin_json', repeat('x', 200000)))] ||
                   array_fill(req(ARRAY['print', '{}']), ARRAY[400]), 2);

-- results past work_mem spill to disk, in the tuplestore and in the sort
-- that puts results coming before an earlier position's in order (the
-- first element finishes last)
SET work_mem = '64kB';
SELECT count(*), bool_and(position = ordinality) AS in_order,
       bool_and(length(result #>> '{}') = 998) AS all_right
FROM exec_run_many(ARRAY[req(ARRAY['sleep', '300', 'jsonstr', '1000'])] ||
                   ARRAY(SELECT req(ARRAY['jsonstr', '1000']) FROM generate_series(2, 400)), 8)
     WITH ORDINALITY;
RESET work_mem;

-- max_parallel: at most that many programs at once (each program counts
-- its running peers); a larger argument is capped to execjson.max_parallel;
-- NULL means execjson.max_parallel; below 1 is exec_request_invalid
SELECT max((result->>'peers')::int) AS most_at_once
FROM exec_run_many(array_fill(req(ARRAY['peers', '/tmp/execjson-batch-peers', '250']), ARRAY[6]), 2);
SET execjson.max_parallel = 3;
SELECT max((result->>'peers')::int) AS most_at_once
FROM exec_run_many(array_fill(req(ARRAY['peers', '/tmp/execjson-batch-peers', '250']), ARRAY[7]), 64);
SELECT max((result->'value'->>'peers')::int) AS most_at_once
FROM exec_try_many(array_fill(req(ARRAY['peers', '/tmp/execjson-batch-peers', '250']), ARRAY[7]), NULL);
SELECT max((result->'value'->>'peers')::int) AS most_at_once
FROM exec_try_many(array_fill(req(ARRAY['peers', '/tmp/execjson-batch-peers', '250']), ARRAY[7]));
SELECT max((result->>'peers')::int) AS most_at_once
FROM exec_run_many(array_fill(req(ARRAY['peers', '/tmp/execjson-batch-peers', '250']), ARRAY[4]), 1);
RESET execjson.max_parallel;
SET execjson.max_parallel = 0;
SET execjson.max_parallel = 65;
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '1'])], 0);
SELECT * FROM exec_try_many(ARRAY[req(ARRAY['print', '1'])], -1);

-- exec_try_many: every element's value is what exec_try gives for it
CREATE TEMP TABLE mixed (r jsonb);
INSERT INTO mixed VALUES
  (req(ARRAY['print', '{"a": 1}'])),
  ('[]'),
  (req() || '{"timeout_ms": 0}'),
  (req() || '{"unknown": 1}'),
  ('{"kind": "run_program_v1", "program_path": "/etc/passwd"}'),
  ('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-program"}'),
  ('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/not-executable"}'),
  ('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/garbage"}'),
  (req(ARRAY['sleep', '5000'], '{"timeout_ms": 100}')),
  (req(ARRAY['exit', '3'])),
  (req(ARRAY['kill', '9'])),
  (req(ARRAY['flood-out'])),
  (req(ARRAY['print', 'not json'])),
  (NULL),
  (req(ARRAY['print', '"last"']));
SET execjson.max_stdout_bytes = 1000;
SELECT m.position, m.result
FROM exec_try_many(ARRAY(SELECT r FROM mixed), 4) m;
SELECT count(*) AS elements,
       count(*) FILTER (WHERE m.result IS NOT DISTINCT FROM exec_try(u.r)) AS same_as_exec_try
FROM exec_try_many(ARRAY(SELECT r FROM mixed), 4) m
JOIN unnest(ARRAY(SELECT r FROM mixed)) WITH ORDINALITY u(r, position) USING (position);
RESET execjson.max_stdout_bytes;

-- exec_run_many: every element is validated and resolved before any
-- program starts: an invalid or refused element raises its error, with its
-- position, and nothing ran (the first element would have made a file)
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['touch', '/tmp/execjson-batch-started']),
                                  req(ARRAY['print', '2']),
                                  req() || '{"timeout_ms": "soon"}']);
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['touch', '/tmp/execjson-batch-started']),
                                  '{"kind": "run_program_v1", "program_path": "/etc/passwd"}']);
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['touch', '/tmp/execjson-batch-started']),
                                  NULL,
                                  '{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-program"}']);
SET execjson.max_stdin_bytes = 10;
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['touch', '/tmp/execjson-batch-started']),
                                  req(ARRAY['drain'], '{"stdin_json": "more than ten bytes"}')]);
RESET execjson.max_stdin_bytes;
SELECT pg_stat_file('/tmp/execjson-batch-started', true) IS NULL AS nothing_started;
-- the first failure of a program raises its error with its position;
-- exec_run's DETAIL otherwise
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['sleep', '100', 'print', '1']),
                                  req(ARRAY['exit', '3']),
                                  req(ARRAY['sleep', '60000'])], 3);
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '1']),
                                  req(ARRAY['sleep', '5000'], '{"timeout_ms": 50}')], 2);
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '1']), req(ARRAY['print', 'secret-token-1234'])]);
-- the session goes on
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '"after"'])]);

-- query cancel and statement_timeout still raise (57014), also in
-- exec_try_many
SET statement_timeout = '300ms';
SELECT * FROM exec_try_many(ARRAY[req(ARRAY['sleep', '10000']), req(ARRAY['sleep', '10000'])]);
RESET statement_timeout;

-- the typical statement: run every pending job, 8 at a time, and write
-- each result back
CREATE TEMP TABLE jobs (id serial PRIMARY KEY, request jsonb, result jsonb, done bool DEFAULT false);
INSERT INTO jobs (request) SELECT req(ARRAY['print', n::text, 'exit', (n % 5 = 0)::int::text])
FROM generate_series(1, 20) n;
WITH pending AS (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(request ORDER BY id) AS requests
  FROM jobs WHERE NOT done
)
UPDATE jobs SET result = r.result, done = true
FROM pending, exec_try_many(pending.requests, 8) r
WHERE jobs.id = pending.ids[r.position];
SELECT count(*) FILTER (WHERE result->>'ok' = 'true' AND result->'value' = to_jsonb(id)) AS ok,
       count(*) FILTER (WHERE result->'error'->>'code' = 'exec_failed') AS failed,
       count(*) FILTER (WHERE NOT done) AS pending
FROM jobs;

-- privileges: EXECUTE is granted role by role
CREATE ROLE regress_execjson_batch LOGIN;
SET ROLE regress_execjson_batch;
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '1'])]);
SELECT * FROM exec_try_many(ARRAY[req(ARRAY['print', '1'])]);
RESET ROLE;
GRANT EXECUTE ON FUNCTION exec_run_many(jsonb[], int), exec_try_many(jsonb[], int)
  TO regress_execjson_batch;
SET ROLE regress_execjson_batch;
SELECT * FROM exec_run_many(ARRAY[req(ARRAY['print', '"granted"'])]);
SELECT * FROM exec_try_many(ARRAY[req(ARRAY['print', '"granted"'])]);
-- and cannot raise its own max_parallel
SET execjson.max_parallel = 64;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION exec_run_many(jsonb[], int), exec_try_many(jsonb[], int)
  FROM regress_execjson_batch;
DROP ROLE regress_execjson_batch;
