--
-- privileges: EXECUTE is granted role by role; only superusers set the
-- policy (SPEC sections 1 and 3)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- the function's declaration
SELECT proname, provolatile, proisstrict, proparallel, prorettype::regtype,
       proacl IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM aclexplode(proacl) a WHERE a.grantee = 0) AS public_revoked
FROM pg_proc WHERE proname = 'exec_run';

-- not a trusted extension: only a superuser may create it
SELECT DISTINCT superuser, trusted FROM pg_available_extension_versions
WHERE name = 'execjson';

CREATE ROLE regress_execjson_user LOGIN;
CREATE ROLE regress_execjson_other LOGIN;
GRANT EXECUTE ON FUNCTION exec_run(jsonb) TO regress_execjson_user;
GRANT EXECUTE ON FUNCTION try(jsonb) TO regress_execjson_user, regress_execjson_other;
-- a superuser may set the policy for a role
ALTER ROLE regress_execjson_user SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- without EXECUTE: permission denied
SET ROLE regress_execjson_other;
SELECT exec_run(req(ARRAY['print', '"no"']));
RESET ROLE;

-- with EXECUTE, it runs, under the superuser's policy
\c - regress_execjson_user
SHOW execjson.allow_prefixes;
SELECT try(req(ARRAY['print', '"granted"']));
-- but the role cannot change the policy
SET execjson.allow_prefixes = '/';
SET execjson.max_stdout_bytes = '1GB';
SET execjson.max_stdin_bytes = '1GB';
SET execjson.max_stderr_bytes = '1GB';
SET execjson.inherit_environment = on;
ALTER ROLE regress_execjson_user SET execjson.allow_prefixes = '/';
SELECT set_config('execjson.allow_prefixes', '/', false);
SHOW execjson.allow_prefixes;

-- in a fresh session (the library is preloaded, so the settings are never
-- mere placeholders) the role's SET is refused at once, and the DBA's values
-- are the ones used
\c - regress_execjson_user
SET execjson.allow_prefixes = '/tmp/execjson-test/outside';
SET execjson.max_stdout_bytes = '1GB';
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/outside/xjtool", "argv": ["print", "\"escaped\""]}');
SHOW execjson.allow_prefixes;
SHOW execjson.max_stdout_bytes;
-- the prefix is reserved: unknown execjson.* names are refused
SET execjson.no_such_setting = 'x';

\c - postgres
ALTER ROLE regress_execjson_user RESET ALL;
REVOKE EXECUTE ON FUNCTION exec_run(jsonb) FROM regress_execjson_user;
REVOKE EXECUTE ON FUNCTION try(jsonb) FROM regress_execjson_user, regress_execjson_other;
DROP ROLE regress_execjson_user;
DROP ROLE regress_execjson_other;
