--
-- resource_limits: what the child may use (execjson.rlimit_*), no new
-- privileges, and executing exactly the file that was checked
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- no new privileges, always: a setuid-root program keeps the server's ids
SELECT exec_run(req(ARRAY['state'])) ->> 'no_new_privs' AS no_new_privs;
SELECT r->'uid' = r->'euid' AS same_ids, (r->>'euid')::int <> 0 AS not_root
FROM exec_run('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/ids-setuid"}') AS r;

-- unset by default: the program has the server's limits
SELECT exec_run(req(ARRAY['open-files', '100']));
SELECT exec_run(req(ARRAY['fork']));

-- RLIMIT_NOFILE: 10 open files, 3 of them the pipes
SET execjson.rlimit_nofile = 10;
SELECT exec_run(req(ARRAY['open-files', '100']));
-- 4: the pipes and one more, which the dynamic loader needs to start the
-- program (the limit is set after the child's own fd moves)
SET execjson.rlimit_nofile = 4;
SELECT exec_run(req(ARRAY['open-files', '100']));
RESET execjson.rlimit_nofile;

-- RLIMIT_AS
SET execjson.rlimit_as = '200MB';
SHOW execjson.rlimit_as;
SELECT exec_run(req(ARRAY['alloc', '20']));
SELECT exec_run(req(ARRAY['alloc', '400']));
RESET execjson.rlimit_as;

-- RLIMIT_NPROC counts every process of the server's OS user: with 1 the
-- program cannot fork
SET execjson.rlimit_nproc = 1;
SELECT exec_run(req(ARRAY['fork']));
RESET execjson.rlimit_nproc;

-- RLIMIT_FSIZE: writing past it kills the program with SIGXFSZ (25)
SET execjson.rlimit_fsize = '4kB';
SELECT try(req(ARRAY['write-file', '4096', 'print', '"fits"']));
SELECT try(req(ARRAY['write-file', '4097', 'print', '"too big"']));
RESET execjson.rlimit_fsize;

-- RLIMIT_CPU: SIGXCPU (24) at the limit (SIGKILL a second later)
SET execjson.rlimit_cpu = '1s';
SELECT try(req(ARRAY['burn'], '{"timeout_ms": 20000}'));
RESET execjson.rlimit_cpu;

SET execjson.rlimit_cpu = -2;

-- the program is executed through the file that was checked; a "#!" script
-- still works, by its path
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/script", "argv": ["a b", "c"]}');
-- a program the server may execute but not read
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/xjtool-xonly", "argv": ["argv0"]}');
