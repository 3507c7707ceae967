--
-- limits: the byte caps, the timeout, and the order of outcomes
-- (SPEC sections 3, 4.3, 4.6, 4.8)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';

-- max_stdin_bytes caps the serialized stdin_json: a 98-character string
-- is 100 bytes with its quotes
SET execjson.max_stdin_bytes = 100;
SELECT try(req(ARRAY['drain', 'print', '"read"'], jsonb_build_object('stdin_json', repeat('a', 98))));
SELECT try(req(ARRAY['drain', 'print', '"read"'], jsonb_build_object('stdin_json', repeat('a', 99))));
-- checked before anything runs: this program would fail if it ran
SELECT try(req(ARRAY['exit', '5'], jsonb_build_object('stdin_json', repeat('a', 99))));
-- the cap counts UTF-8 bytes: 49 two-byte characters are 100 bytes
SELECT try(req(ARRAY['drain', 'print', '"read"'], jsonb_build_object('stdin_json', repeat(U&'\00e9', 49))));
SELECT try(req(ARRAY['drain', 'print', '"read"'], jsonb_build_object('stdin_json', repeat(U&'\00e9', 50))));
-- a large stdin_json is refused without being written out in full: the
-- size counted when the cap was passed (a string is counted whole,
-- escapes included) ...
SELECT try(req(ARRAY['drain'], jsonb_build_object('stdin_json', repeat(E'\x01', 1000000))));
-- ... and the rest of a container is not counted
SELECT try(req(ARRAY['drain'], jsonb_build_object('stdin_json', jsonb_build_array(repeat('a', 60), repeat('b', 60), repeat('c', 60)))));
RESET execjson.max_stdin_bytes;

-- max_stdout_bytes: exactly N bytes pass, N + 1 do not
SET execjson.max_stdout_bytes = 100;
SELECT length(exec_run(req(ARRAY['jsonstr', '100'])) #>> '{}') AS chars;
SELECT try(req(ARRAY['jsonstr', '101']));
-- ... also where stdout's buffer is full and grows (at 1023, 8191 and
-- 16383 bytes): every byte is read, and the cap still counts exactly
RESET execjson.max_stdout_bytes;
SELECT n, length(exec_run(req(ARRAY['jsonstr', n::text])) #>> '{}') = n - 2 AS whole
FROM unnest(ARRAY[1022, 1023, 1024, 1025, 8190, 8191, 8192, 8193, 16383, 16384, 70000]) n;
SET execjson.max_stdout_bytes = 1023;
SELECT length(exec_run(req(ARRAY['jsonstr', '1023'])) #>> '{}') AS chars;
SELECT try(req(ARRAY['jsonstr', '1024']));
SET execjson.max_stdout_bytes = 1024;
SELECT length(exec_run(req(ARRAY['jsonstr', '1024'])) #>> '{}') AS chars;
SELECT try(req(ARRAY['jsonstr', '1025']));
SET execjson.max_stdout_bytes = 100;
-- an endless writer is stopped at the cap, not at the timeout
SELECT try(req(ARRAY['flood-out'], '{"timeout_ms": 60000}'));
SET execjson.max_stdout_bytes = 0;
SELECT try(req(ARRAY['print', '{}']));
RESET execjson.max_stdout_bytes;

-- max_stderr_bytes: stderr is drained and dropped, up to its cap
SET execjson.max_stderr_bytes = 100;
SELECT try(req(ARRAY['err', '100', 'print', '{"stderr": "dropped"}']));
SELECT try(req(ARRAY['err', '101', 'print', '{}']));
SELECT try(req(ARRAY['flood-err'], '{"timeout_ms": 60000}'));
RESET execjson.max_stderr_bytes;

-- the caps take units
SET execjson.max_stdout_bytes = '2MB';
SHOW execjson.max_stdout_bytes;
SELECT setting FROM pg_settings WHERE name = 'execjson.max_stdout_bytes';
SET execjson.max_stdout_bytes = -1;
RESET execjson.max_stdout_bytes;

-- timeout_ms: the program is killed and the call fails
SELECT try(req(ARRAY['sleep', '10000'], '{"timeout_ms": 200}'));
SELECT try(req(ARRAY['ignore-signals', 'sleep', '10000'], '{"timeout_ms": 200}'));
-- a program that ends in time is not affected
SELECT try(req(ARRAY['sleep', '10', 'print', '"in time"'], '{"timeout_ms": 10000}'));

-- the order of outcomes: a stream over its cap first ...
SET execjson.max_stdout_bytes = 100;
SET execjson.max_stderr_bytes = 100;
SELECT try(req(ARRAY['out', '101', 'exit', '3']));
SELECT try(req(ARRAY['err', '101', 'exit', '3']));
RESET execjson.max_stdout_bytes;
RESET execjson.max_stderr_bytes;
-- ... then the exit status, before stdout is looked at
SELECT try(req(ARRAY['print', 'not json', 'exit', '3']));
-- a program that does not read its stdin and exits 0 is fine, even when
-- the input does not fit the pipe (the backend gets a broken pipe)
SELECT try(req(ARRAY['close-stdin', 'sleep', '50', 'print', '"did not read"'],
               jsonb_build_object('stdin_json', repeat('a', 300000))));
-- ... but exiting non-zero is still exec_failed
SELECT try(req(ARRAY['close-stdin', 'sleep', '50', 'exit', '4'],
               jsonb_build_object('stdin_json', repeat('a', 300000))));
