--
-- exit_status: how the program's exit and its stdout become the result
-- (SPEC sections 4.7, 4.8, 5)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- exit 0 with JSON on stdout: the JSON, as jsonb
SELECT try(req(ARRAY['print', '{"b": [1, 2], "a": "x"}']));
SELECT try(req(ARRAY['print', E' \n\t{"padded": true} \n']));
SELECT try(req(ARRAY['print', '42']));
SELECT try(req(ARRAY['print', '"a string"']));
SELECT try(req(ARRAY['print', 'false']));
-- JSON null is a jsonb null, not SQL NULL
SELECT exec_run(req(ARRAY['print', 'null'])) IS NULL AS is_sql_null,
       exec_run(req(ARRAY['print', 'null'])) = 'null'::jsonb AS is_json_null;
-- output written in many pieces is put together
SELECT try(req(ARRAY['print', '[', 'sleep', '20', 'print', '1,', 'sleep', '20', 'print', '2]']));
-- a large answer
SELECT length(exec_run(req(ARRAY['jsonstr', '1000000'])) #>> '{}') AS chars;

-- a non-zero exit status: exec_failed with the exit code
SELECT try(req(ARRAY['print', '{"ok": true}', 'exit', '1']));
SELECT try(req(ARRAY['exit', '3']));
SELECT try(req(ARRAY['exit', '255']));
-- killed by a signal: exec_failed with the signal
SELECT try(req(ARRAY['kill', '9']));
SELECT try(req(ARRAY['kill', '15']));
SELECT try(req(ARRAY['print', '{}', 'kill', '6']));

-- stdout that is not JSON: exec_stdout_invalid_json, and the detail never
-- quotes what the program wrote
SELECT try(req(ARRAY['print', 'secret-token-1234']));
SELECT try(req(ARRAY['print', '{"a": 1} trailing']));
SELECT try(req(ARRAY['print', '{"a": secret-token-1234}']));
SELECT try(req(ARRAY['print', '']));
SELECT try(req(ARRAY['print', '   ']));
-- the raw error a client sees: no token, no parser message, no context
\set SHOW_CONTEXT always
SELECT exec_run(req(ARRAY['print', '{"a": secret-token-1234}']));
SELECT exec_run(req(ARRAY['print', '"secret\u0000token"']));
-- no CONTEXT either: a PL/pgSQL statement line would quote the request
DO $$ BEGIN PERFORM exec_run('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/xjtool", "argv": ["exit", "3"], "stdin_json": "secret-payload-5678"}'); END $$;
DO $$ BEGIN EXECUTE format('SELECT exec_run(%L)', '{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/xjtool", "argv": ["exit", "3"], "stdin_json": "secret-payload-5678"}'); END $$;
-- nor for PostgreSQL's own errors on the way out of exec_run (a cancel)
SET statement_timeout = '200ms';
DO $$ BEGIN PERFORM exec_run('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/xjtool", "argv": ["sleep", "5000"], "stdin_json": "secret-payload-5678"}'); END $$;
RESET statement_timeout;
\set SHOW_CONTEXT errors
-- input the JSON lexer passes but jsonb refuses
SELECT try(req(ARRAY['print', '"secret\u0000token"']));
SELECT try(req(ARRAY['print', '1e1000000']));
SELECT try(req(ARRAY['print', '[-1e1000000]']));
SELECT try(req(ARRAY['print', '"\ud800"']));
-- nesting deeper than the stack allows
SELECT try(req(ARRAY['nest', '200000']));
-- not UTF-8: a lone continuation byte, a truncated sequence, an overlong form
SELECT try(req(ARRAY['bytes', '22ff22']));
SELECT try(req(ARRAY['bytes', '22c322']));
SELECT try(req(ARRAY['bytes', '22c0af22']));
-- a NUL byte in stdout
SELECT try(req(ARRAY['bytes', '7b7d007b7d']));
SELECT try(req(ARRAY['bytes', '7b7d00']));
-- valid UTF-8 passes through
SELECT exec_run(req(ARRAY['bytes', '22c3a9e282acf09f988022'])) = to_jsonb(U&'\00e9\20ac\+01f600'::text) AS utf8_ok;

-- the backend is fine after all of this
SELECT try(req(ARRAY['print', '"still here"']));
