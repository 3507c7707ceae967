--
-- encoding: JSON on the pipes is UTF-8, whatever the database encoding
-- (SPEC section 4.9).  Runs in a LATIN1 database; non-ASCII characters
-- are spelled with escapes so that the client encoding does not matter.
--
CREATE DATABASE execjson_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'
  TEMPLATE template0;
\c execjson_latin1
CREATE EXTENSION execjson;
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
SELECT getdatabaseencoding();

\i sql/helpers.inc

-- stdin_json is converted to UTF-8: e-acute (0xE9 in LATIN1) goes out as C3 A9
SELECT exec_run(req(ARRAY['hexin'], jsonb_build_object('stdin_json', U&'caf\00e9'))) AS stdin_hex;
-- stdout is converted from UTF-8
SELECT exec_run(req(ARRAY['bytes', '22636166c3a922'])) = to_jsonb(U&'caf\00e9'::text) AS stdout_converted;
-- and a round trip gives back the same text
SELECT exec_run(req(ARRAY['echo'], jsonb_build_object('stdin_json', U&'\00e9\00fc\00df'))) #>> '{}' = U&'\00e9\00fc\00df' AS round_trip;
-- a character LATIN1 cannot hold, raw or escaped: exec_stdout_invalid_json
SELECT try(req(ARRAY['bytes', '22e282ac22']));
SELECT try(req(ARRAY['print', '"\u20ac"']));
-- an escape LATIN1 can hold is fine
SELECT exec_run(req(ARRAY['print', '"\u00e9"'])) = to_jsonb(U&'\00e9'::text) AS escape_converted;
-- not UTF-8 (a LATIN1 byte as is): exec_stdout_invalid_json
SELECT try(req(ARRAY['bytes', '22e922']));

-- program_path, argv and env go to the program as UTF-8 too: the file
-- named "caf" + C3 A9 is found from the LATIN1 spelling, and an argv or env
-- value comes back intact only if it went out as UTF-8 (raw LATIN1 bytes
-- would make stdout invalid UTF-8)
SELECT exec_run(jsonb_build_object('kind', 'run_program_v1',
         'program_path', U&'/tmp/execjson-test/bin/caf\00e9',
         'argv', jsonb_build_array('print', '"ran"'))) AS utf8_named_program;
SELECT exec_run(req(ARRAY['print', U&'"\00e9\00fc"'])) #>> '{}' = U&'\00e9\00fc' AS argv_utf8;
SET execjson.allow_env = '*';
SELECT exec_run(req(ARRAY['state'], jsonb_build_object('env', jsonb_build_object('X', U&'\00df')))) -> 'env' ->> 'X' = U&'\00df' AS env_utf8;
RESET execjson.allow_env;
-- the canonical path in details, converted back to LATIN1
SELECT exec_try(jsonb_build_object('kind', 'run_program_v1',
         'program_path', U&'/tmp/execjson-test/bin/caf\00e9',
         'argv', jsonb_build_array('exit', '3'))) #>> '{error,details,program_path}'
       = U&'/tmp/execjson-test/bin/caf\00e9' AS path_converted_back;
-- a canonical path that is not UTF-8: its non-ASCII bytes are escaped
SELECT try(req(ARRAY['exit', '3'], '{"program_path": "/tmp/execjson-test/bin/to-bad"}'));

\c contrib_regression
DROP DATABASE execjson_latin1;

--
-- A request a non-UTF-8 database cannot convert is exec_request_invalid,
-- and no byte of it appears in the error (PostgreSQL's own conversion error
-- would quote them); exec_try returns it as a value.
--
CREATE DATABASE execjson_sql_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'
  TEMPLATE template0;
\c execjson_sql_ascii
CREATE EXTENSION execjson;
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
\set ECHO none
\i sql/helpers.inc
\set ECHO all
SELECT getdatabaseencoding();
SELECT try(req(ARRAY['hexin'], jsonb_build_object('stdin_json', E'\xf0hun')));
SELECT exec_try(req(ARRAY['hexin'], jsonb_build_object('stdin_json', E'\xf0hun'))) -> 'error';
SELECT try(req(ARRAY['print', E'"\xf0hun"']));
SELECT try(jsonb_build_object('kind', 'run_program_v1', 'program_path', E'/tmp/execjson-test/bin/\xf0'));
SET execjson.allow_env = '*';
SELECT try(req(ARRAY['state'], jsonb_build_object('env', jsonb_build_object('X', E'\xf0hun'))));
RESET execjson.allow_env;
-- ASCII and valid UTF-8 go through as they are
SELECT exec_run(req(ARRAY['hexin'], jsonb_build_object('stdin_json', E'caf\xc3\xa9'))) AS stdin_hex;
\c contrib_regression
DROP DATABASE execjson_sql_ascii;

CREATE DATABASE execjson_win1252 ENCODING 'WIN1252' LC_COLLATE 'C' LC_CTYPE 'C'
  TEMPLATE template0;
\c execjson_win1252
CREATE EXTENSION execjson;
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
\set ECHO none
\i sql/helpers.inc
\set ECHO all
SELECT getdatabaseencoding();
-- 0x81 has no character in WIN1252
SELECT try(req(ARRAY['hexin'], jsonb_build_object('stdin_json', E'\x81')));
SELECT try(req(ARRAY['print', E'"\x81"']));
-- 0x80 is the euro sign: E2 82 AC on the pipe
SELECT exec_run(req(ARRAY['hexin'], jsonb_build_object('stdin_json', E'\x80'))) AS stdin_hex;
\c contrib_regression
DROP DATABASE execjson_win1252;

--
-- In a UTF-8 database, a canonical path that is not valid UTF-8 is
-- reported with its bad bytes escaped, so the value can be stored, dumped
-- and restored.
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
SELECT try(req(ARRAY['exit', '3'], '{"program_path": "/tmp/execjson-test/bin/to-bad"}'));
CREATE TABLE execjson_results AS
  SELECT exec_try(req(ARRAY['exit', '3'], '{"program_path": "/tmp/execjson-test/bin/to-bad"}')) AS r;
SELECT r #>> '{error,details,program_path}' AS stored_path,
       r::text::jsonb = r AS text_round_trip
FROM execjson_results;
DROP TABLE execjson_results;
