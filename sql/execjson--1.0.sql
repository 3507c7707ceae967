/* execjson--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION execjson" to load this file. \quit

CREATE FUNCTION exec_run(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'exec_run'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION exec_run(jsonb) IS
'run an allow-listed program (a run_program_v1 request) and return its stdout parsed as JSON';

-- Running programs is a privilege: a superuser grants it role by role.
REVOKE EXECUTE ON FUNCTION exec_run(jsonb) FROM PUBLIC;
