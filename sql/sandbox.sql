--
-- sandbox: the GUCs of the program sandbox (execjson.sandbox,
-- execjson.sandbox_paths, execjson.sandbox_tmp_bytes) and a call in each
-- sandbox.  The process-level guarantees are tested in test/t/02x_sandbox_*.
--
-- Every SHOW follows a SET: make test runs this suite a second time on a
-- server configured with a sandbox.
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
\set VERBOSITY terse

-- execjson.sandbox: a list of processes, filesystem, network
SET execjson.sandbox = 'processes';
SHOW execjson.sandbox;
SET execjson.sandbox = ' Filesystem ,network ';
SHOW execjson.sandbox;
SET execjson.sandbox = '';
SHOW execjson.sandbox;
SET execjson.sandbox = 'bogus';
SET execjson.sandbox = 'processes,files';
SET execjson.sandbox = 'processes;network';

-- execjson.sandbox_paths: absolute paths, not "/" nor /proc; a missing one
-- warns and is ignored
SET execjson.sandbox_paths = '/usr, /lib/';
SHOW execjson.sandbox_paths;
SET execjson.sandbox_paths = 'usr';
SET execjson.sandbox_paths = '/usr/../etc';
SET execjson.sandbox_paths = '/usr//lib';
SET execjson.sandbox_paths = '/';
SET execjson.sandbox_paths = '/proc/self';
SET execjson.sandbox_paths = '/usr,/no/such/directory';
SHOW execjson.sandbox_paths;

-- execjson.sandbox_tmp_bytes: a size, at least 64kB
SET execjson.sandbox_tmp_bytes = '1MB';
SHOW execjson.sandbox_tmp_bytes;
-- (the message of an out-of-range value differs between versions)
DO $$
BEGIN
  SET execjson.sandbox_tmp_bytes = '16kB';
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE '16kB refused: %', SQLSTATE;
END $$;

-- a call in each sandbox: the program is pid 1 of its namespace
SET execjson.sandbox = '';
SELECT exec_run(req(ARRAY['pid'])) ->> 'pid' <> '1' AS not_pid_1;
SET execjson.sandbox = 'processes';
SELECT exec_run(req(ARRAY['pid']));
SET execjson.sandbox_paths = '/usr,/lib,/lib64';
SET execjson.sandbox = 'filesystem';
SELECT exec_run(req(ARRAY['pid']));
SELECT exec_run(req(ARRAY['ls', '/tmp']));
SET execjson.sandbox = 'network';
SELECT exec_run(req(ARRAY['ifaces']));
SET execjson.sandbox = 'filesystem,network';
SELECT exec_run(req(ARRAY['echo']) || '{"stdin_json": {"a": [1, 2]}}');

-- only a superuser may change them
CREATE ROLE regress_execjson_sandbox;
SET ROLE regress_execjson_sandbox;
SET execjson.sandbox = '';
SET execjson.sandbox_paths = '/';
SET execjson.sandbox_tmp_bytes = '1GB';
RESET ROLE;
DROP ROLE regress_execjson_sandbox;
