/* execjson--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION execjson UPDATE TO '1.1'" to load this file. \quit

CREATE FUNCTION exec_try(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'exec_try'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION exec_try(jsonb) IS
'like exec_run, but an execjson error comes back as {"ok": false, "error": {...}} and a result as {"ok": true, "value": ...}';

-- The same privilege as exec_run: granted role by role.
REVOKE EXECUTE ON FUNCTION exec_try(jsonb) FROM PUBLIC;
