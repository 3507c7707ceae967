--
-- upgrade: an installed 1.0 moves to the current version with ALTER EXTENSION ... UPDATE
--
DROP EXTENSION execjson;
CREATE EXTENSION execjson VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'execjson';
SELECT proname FROM pg_proc WHERE proname IN ('exec_run', 'exec_try', 'exec_run_many', 'exec_try_many') ORDER BY 1;

ALTER EXTENSION execjson UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'execjson';
SELECT proname, NOT EXISTS (SELECT 1 FROM aclexplode(proacl) a WHERE a.grantee = 0) AS public_revoked
FROM pg_proc WHERE proname IN ('exec_run', 'exec_try', 'exec_run_many', 'exec_try_many') ORDER BY 1;

SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
SELECT exec_try(req(ARRAY['print', '"updated"']));
SELECT exec_try(req(ARRAY['exit', '2'])) -> 'error' ->> 'code' AS code;
SELECT * FROM exec_try_many(ARRAY[req(ARRAY['print', '"batch after update"']), NULL]);
