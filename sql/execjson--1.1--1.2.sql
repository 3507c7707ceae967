/* execjson--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION execjson UPDATE TO '1.2'" to load this file. \quit

--
-- Batches (issue 11): many requests from one statement, up to max_parallel
-- programs at a time.  NOT STRICT so that max_parallel may be NULL (the
-- execjson.max_parallel setting); a NULL requests array gives no rows.
--
CREATE FUNCTION exec_run_many(requests jsonb[], max_parallel int DEFAULT NULL)
RETURNS TABLE ("position" int, result jsonb)
AS 'MODULE_PATHNAME', 'exec_run_many'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION exec_run_many(jsonb[], int) IS
'runs every request as exec_run does, up to max_parallel at a time; one row per element in position order; the first failure kills the programs still running and raises its error with its position';

CREATE FUNCTION exec_try_many(requests jsonb[], max_parallel int DEFAULT NULL)
RETURNS TABLE ("position" int, result jsonb)
AS 'MODULE_PATHNAME', 'exec_try_many'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION exec_try_many(jsonb[], int) IS
'runs every request as exec_try does, up to max_parallel at a time; one row per element in position order';

-- The same privilege as exec_run: granted role by role.
REVOKE EXECUTE ON FUNCTION exec_run_many(jsonb[], int) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION exec_try_many(jsonb[], int) FROM PUBLIC;
