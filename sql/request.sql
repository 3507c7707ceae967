--
-- request: the rules of a run_program_v1 request (SPEC section 2)
--
CREATE EXTENSION execjson;
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- req() and try(): see sql/helpers.inc
\i sql/helpers.inc

-- errors as a client sees them: a fixed message, a JSON DETAIL
SELECT exec_run('[]');
SELECT exec_run('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/xjtool", "argv": ["exit", "3"]}');

-- NULL in, NULL out (STRICT)
SELECT exec_run(NULL) IS NULL AS null_in_null_out;

-- the request must be an object
SELECT try('[]');
SELECT try('"run_program_v1"');
SELECT try('42');
SELECT try('null');

-- kind: required, a string, "run_program_v1"
SELECT try('{"program_path": "/tmp/execjson-test/bin/ok"}');
SELECT try('{"kind": 1, "program_path": "/tmp/execjson-test/bin/ok"}');
SELECT try('{"kind": null, "program_path": "/tmp/execjson-test/bin/ok"}');
SELECT try('{"kind": "run_program_v2", "program_path": "/tmp/execjson-test/bin/ok"}');
SELECT try('{"kind": "RUN_PROGRAM_V1", "program_path": "/tmp/execjson-test/bin/ok"}');

-- program_path: required, a string, absolute
SELECT try('{"kind": "run_program_v1"}');
SELECT try('{"kind": "run_program_v1", "program_path": 7}');
SELECT try('{"kind": "run_program_v1", "program_path": ["/bin/true"]}');
SELECT try('{"kind": "run_program_v1", "program_path": "bin/ok"}');
SELECT try('{"kind": "run_program_v1", "program_path": ""}');

-- the smallest valid request
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/ok"}');

-- argv: an array of strings; default []
SELECT try(req() - 'argv' || '{"argv": "echo"}');
SELECT try(req() - 'argv' || '{"argv": ["print", 1]}');
SELECT try(req() - 'argv' || '{"argv": ["print", null]}');
SELECT try(req() - 'argv' || '{"argv": [["print"]]}');
SELECT try(req() - 'argv' || '{"argv": null}');
SELECT try(req() - 'argv' || '{"argv": {"0": "print"}}');
SELECT try(req(ARRAY['print', '["a b", "c\"d"]']));
-- argv strings reach the program unchanged, one argument each
SELECT try(req(ARRAY['print', '" spaces  and \"quotes\" and $HOME *"']));

-- stdin_json: any JSON, written as compact UTF-8 JSON text; null if absent
SELECT try(req(ARRAY['hexin']));
SELECT try(req(ARRAY['hexin'], '{"stdin_json": null}'));
SELECT try(req(ARRAY['hexin'], '{"stdin_json": {"a": [1, 2.50, true], "b": {}}}'));
SELECT convert_from(decode(exec_run(req(ARRAY['hexin'],
         '{"stdin_json": {"a": [1, 2.50, true, null], "b": {}, "c": []}}')) #>> '{}', 'hex'), 'UTF8')
       AS compact_text;
SELECT convert_from(decode(exec_run(req(ARRAY['hexin'],
         jsonb_build_object('stdin_json', E'q"b\\n\n\t\u0001/é'))) #>> '{}', 'hex'), 'UTF8')
       AS escaped_text;
SELECT try(req(ARRAY['echo'], '{"stdin_json": "text"}'));
SELECT try(req(ARRAY['echo'], '{"stdin_json": -1.5e3}'));
SELECT try(req(ARRAY['echo'], '{"stdin_json": [[], {}, [{"k": "v"}]]}'));
-- a round trip through echo gives back the same value
SELECT exec_run(req(ARRAY['echo'], jsonb_build_object('stdin_json', d))) = d AS round_trip
FROM (SELECT jsonb_build_object('n', 1e-20, 's', E'\u2603 \\ "', 'a', jsonb_build_array(1, 'x', NULL, false)) AS d) s;

-- timeout_ms: an integer in 1 .. 2147483647; default 300000.  A valid
-- timeout lets the call go on to the policy check (the path is outside
-- the allow-list), an invalid one stops it here.
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 1}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 2147483647}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 1e3}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 5.00}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 0}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": -1}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 2147483648}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 99999999999999999999}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": 1.5}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": "1000"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/nonexistent", "timeout_ms": null}');

-- env: an object of string to string, names non-empty and without "="
-- (the names a request may set are the DBA's choice: see env_policy)
SET execjson.allow_env = '*';
SELECT try(req(ARRAY['echo'], '{"env": []}'));
SELECT try(req(ARRAY['echo'], '{"env": "A=1"}'));
SELECT try(req(ARRAY['echo'], '{"env": {"A": 1}}'));
SELECT try(req(ARRAY['echo'], '{"env": {"A": null}}'));
SELECT try(req(ARRAY['echo'], '{"env": {"": "x"}}'));
SELECT try(req(ARRAY['echo'], '{"env": {"A=B": "x"}}'));
SELECT try(req(ARRAY['echo'], '{"env": null}'));
-- the environment is exactly env (execjson.inherit_environment is off)
SELECT exec_run(req(ARRAY['state'], '{"env": {"A": "1", "B": "two words", "C": "x=y", "D": ""}}')) -> 'env' AS env;
SELECT exec_run(req(ARRAY['state'])) -> 'env' AS env_default;
RESET execjson.allow_env;

-- unknown fields are rejected, and their names are not echoed
SELECT try(req() || '{"secret_field_name": 1}');
SELECT try(req() || '{"Kind": "run_program_v1"}');
SELECT try(req() || '{"stdin": {}}');
