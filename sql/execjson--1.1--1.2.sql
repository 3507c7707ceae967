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

--
-- pg_stat_execjson (issue 13): what each program cost, per role, database
-- and canonical program path.  Needs shared_preload_libraries = 'execjson'.
--
CREATE FUNCTION pg_stat_execjson(
    OUT userid oid,
    OUT dbid oid,
    OUT program_path text,
    OUT calls bigint,
    OUT errors bigint,
    OUT errors_by_code jsonb,
    OUT cancels bigint,
    OUT total_exec_time double precision,
    OUT min_exec_time double precision,
    OUT max_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT stddev_exec_time double precision,
    OUT user_cpu_time double precision,
    OUT system_cpu_time double precision,
    OUT max_rss_kb bigint,
    OUT stdin_bytes bigint,
    OUT stdout_bytes bigint,
    OUT stderr_bytes bigint,
    OUT stats_since timestamp with time zone)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_stat_execjson'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Everyone may read it: the function returns other roles' rows only to
-- superusers and members of pg_read_all_stats.
CREATE VIEW pg_stat_execjson AS SELECT * FROM pg_stat_execjson();
GRANT SELECT ON pg_stat_execjson TO PUBLIC;

CREATE FUNCTION pg_stat_execjson_info(
    OUT dealloc bigint,
    OUT stats_reset timestamp with time zone)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_stat_execjson_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pg_stat_execjson_info AS SELECT * FROM pg_stat_execjson_info();
GRANT SELECT ON pg_stat_execjson_info TO PUBLIC;

CREATE FUNCTION pg_stat_execjson_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_stat_execjson_reset'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
REVOKE ALL ON FUNCTION pg_stat_execjson_reset() FROM PUBLIC;
