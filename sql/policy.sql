--
-- policy: execjson.allow_prefixes and the resolution of program_path
-- (SPEC sections 3 and 4.2)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- a program under the prefix runs; argv[0] is the canonical path
SELECT try(req(ARRAY['argv0']));

-- the GUCs (the library is loaded now), their defaults, and that only a
-- superuser may set them (execjson.stats_max: only at server start)
SELECT name, boot_val, unit, context, vartype
FROM pg_settings WHERE name LIKE 'execjson.%' ORDER BY name;

-- component by component: "bin" does not admit "binfoo"
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/binfoo/xjtool", "argv": ["argv0"]}');
-- a trailing slash on the prefix changes nothing
SET execjson.allow_prefixes = '/tmp/execjson-test/bin/';
SELECT try(req(ARRAY['argv0']));
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/binfoo/xjtool", "argv": ["argv0"]}');
-- "/" admits everything
SET execjson.allow_prefixes = '/';
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/binfoo/xjtool", "argv": ["argv0"]}');
-- a list, with blanks around entries
SET execjson.allow_prefixes = '/nix/store/ , /tmp/execjson-test/binfoo,/opt/none';
SHOW execjson.allow_prefixes;
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/binfoo/xjtool", "argv": ["argv0"]}');
SELECT try(req(ARRAY['argv0']));
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- symlinks: the canonical path decides, both ways
-- inside the prefix, pointing outside: not allowed
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/link-outside"}');
-- outside the prefix, pointing inside: allowed, and runs as the canonical path
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/outside/link-inside", "argv": ["argv0"]}');
-- ".." is resolved before the check
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/../outside/xjtool", "argv": ["argv0"]}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/outside/../bin/xjtool", "argv": ["argv0"]}');

-- missing: reported as missing only inside the allow-list
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-program"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/dangling"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-dir/x"}');
-- outside, missing and existing files look the same: no existence oracle
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/outside/no-such-program"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/outside/xjtool"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/etc/passwd"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/etc/no-such-file"}');
-- nor through a symlinked directory inside the prefix that leads out
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/outside-dir/no-such-program"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/outside-dir/xjtool"}');
-- nor through ".." from inside the prefix
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/../outside/no-such-program"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/../../../etc/no-such-file"}');

-- not executable by the server's OS user: a plain file, a directory
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/not-executable"}');
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/subdir"}');

-- executable, but execve() refuses it: the errno reaches the backend
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/garbage"}');

-- an empty list: nothing runs
SET execjson.allow_prefixes = '';
SELECT try(req(ARRAY['argv0']));
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin/no-such-program"}');
SET execjson.allow_prefixes = ' , ';
SELECT try(req(ARRAY['argv0']));

-- a relative entry is rejected by the check hook
SET execjson.allow_prefixes = 'tmp/execjson-test/bin';
SET execjson.allow_prefixes = '/tmp/execjson-test/bin,./bin';
SHOW execjson.allow_prefixes;

-- an entry that goes through a symlink draws a WARNING: no canonical path
-- can lie under it
SET execjson.allow_prefixes = '/tmp/execjson-test/bin-link';
SELECT try('{"kind": "run_program_v1", "program_path": "/tmp/execjson-test/bin-link/xjtool", "argv": ["argv0"]}');
-- an entry that does not exist (yet) draws none
SET execjson.allow_prefixes = '/nix/store';

RESET execjson.allow_prefixes;
