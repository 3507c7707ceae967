--
-- env_policy: execjson.allow_env names what a request's env may set; the
-- default, empty, allows nothing (an allowed #! script given BASH_ENV,
-- or any program given LD_PRELOAD, runs code the DBA never allowed)
--
SET execjson.allow_prefixes = '/tmp/execjson-test/bin';
SHOW execjson.allow_env;

-- by default no name may be set; the error does not name the variable
SELECT try(req(ARRAY['state'], '{"env": {"BASH_ENV": "/dev/stdin"}}'));
SELECT try(req(ARRAY['state'], '{"env": {"LD_PRELOAD": "/tmp/x.so"}}'));
SELECT try(req(ARRAY['state'], '{"env": {"LANG": "C.UTF-8"}}'));
-- an empty env needs no permission
SELECT exec_run(req(ARRAY['state'], '{"env": {}}')) -> 'env' AS env;
-- nothing ran: the refusal comes before the program starts
SELECT try(req(ARRAY['state', 'exit', '3'], '{"env": {"SECRET_NAME_XYZ": "1"}}'));

-- exact names
SET execjson.allow_env = 'LANG, TZ';
SELECT exec_run(req(ARRAY['state'], '{"env": {"LANG": "C.UTF-8", "TZ": "UTC"}}')) -> 'env' AS env;
SELECT try(req(ARRAY['state'], '{"env": {"LANG": "C.UTF-8", "LANGUAGE": "x"}}'));
SELECT try(req(ARRAY['state'], '{"env": {"LAN": "x"}}'));
SELECT try(req(ARRAY['state'], '{"env": {"lang": "x"}}'));

-- prefixes
SET execjson.allow_env = 'APP_*,LC_*';
SELECT exec_run(req(ARRAY['state'], '{"env": {"APP_MODE": "fast", "LC_ALL": "C", "APP_": "empty suffix"}}')) -> 'env' AS env;
SELECT try(req(ARRAY['state'], '{"env": {"APP": "x"}}'));
SELECT try(req(ARRAY['state'], '{"env": {"XAPP_MODE": "x"}}'));

-- any name
SET execjson.allow_env = '*';
SELECT exec_run(req(ARRAY['state'], '{"env": {"ANYTHING": "goes"}}')) -> 'env' AS env;

-- entries the check hook refuses
SET execjson.allow_env = 'A=B';
SET execjson.allow_env = 'A*B';
SET execjson.allow_env = '*A';
SHOW execjson.allow_env;

-- inherit_environment is the DBA's own environment: allow_env does not
-- filter it, only what a request adds
RESET execjson.allow_env;
SET execjson.inherit_environment = on;
SELECT (SELECT count(*) FROM jsonb_object_keys(exec_run(req(ARRAY['state'])) -> 'env')) > 0 AS server_env_inherited;
SELECT try(req(ARRAY['state'], '{"env": {"PATH": "/tmp"}}'));
RESET execjson.inherit_environment;

-- only a superuser changes it
CREATE ROLE regress_execjson_env LOGIN;
GRANT EXECUTE ON FUNCTION exec_run(jsonb) TO regress_execjson_env;
SET ROLE regress_execjson_env;
SET execjson.allow_env = '*';
SELECT set_config('execjson.allow_env', '*', false);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION exec_run(jsonb) FROM regress_execjson_env;
DROP ROLE regress_execjson_env;
