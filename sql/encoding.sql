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

\c contrib_regression
DROP DATABASE execjson_latin1;
