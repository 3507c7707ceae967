# 017_policy_integrity.pl -- what the DBA configured binds every session:
# no action of a role with only EXECUTE yields a session whose execjson.*
# settings differ from the configured ones (finding 1 of the 1.1 review),
# and without shared_preload_libraries nothing runs at all.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;
use Time::HiRes ();

my $dir = test_dir();

# ---------------------------------------------------------------------
# Without shared_preload_libraries: every call is exec_not_preloaded.
{
	my $node = PostgreSQL::Test::Cluster->new('lazy');
	$node->init;
	$node->append_conf('postgresql.conf', "execjson.allow_prefixes = '$dir/bin'");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION execjson');
	my $tag = unique_tag('lazy');
	my ($ret, $out, $err) = $node->psql('postgres',
		exec_sql(xj_request([ 'tag', $tag, 'print', '1' ])),
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($ret, 0, 'not preloaded: exec_run fails');
	is(sqlstate_of($err), '55000', 'not preloaded: SQLSTATE 55000');
	is(error_code_of($err), 'exec_not_preloaded', 'not preloaded: code exec_not_preloaded');
	like($err, qr/HINT:\s+Add execjson to shared_preload_libraries/,
		'not preloaded: the HINT says what to add');
	my $value = $node->safe_psql('postgres',
		'SELECT exec_try(' . sql_literal(encode_json_text(xj_request([ 'print', '1' ]))) . ") #>> '{error,code}'");
	is($value, 'exec_not_preloaded', 'not preloaded: exec_try returns it as a value');
	$node->stop;
}

# ---------------------------------------------------------------------
# Preloaded, with a policy that differs from every compiled-in default.
my $node = start_node('integrity', join("\n",
	"log_statement = none",
	"execjson.log_executions = on",
	"execjson.rlimit_cpu = 2",
	"execjson.max_stdout_bytes = '1kB'"));
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	GRANT EXECUTE ON FUNCTION exec_run(jsonb), exec_try(jsonb) TO app;
	CREATE DATABASE appdb OWNER app;
});
$node->safe_psql('appdb', 'CREATE EXTENSION execjson; GRANT EXECUTE ON FUNCTION exec_try(jsonb) TO app');

my %configured = (
	'execjson.allow_prefixes' => "$dir/bin",
	'execjson.log_executions' => 'on',
	'execjson.rlimit_cpu' => '2s',
	'execjson.max_stdout_bytes' => '1kB',
);
my $show_sql = join(' UNION ALL ',
	map { "SELECT '$_', current_setting('$_')" } sort keys %configured);

# settings_as_app DB, [PGOPTIONS] -- the execjson settings a session of app
# sees: a hashref, or undef if the session could not start (stderr too).
sub settings_as_app
{
	my ($db, $options) = @_;
	local $ENV{PGOPTIONS} = $options if defined $options;
	my ($ret, $out, $err) = $node->psql($db, $show_sql,
		extra_params => [ '-U', 'app', '-F', '=', '-A', '-t' ]);
	return (undef, $err) if $ret != 0;
	my %seen = map { split /=/, $_, 2 } split /\n/, $out;
	return (\%seen, $err);
}

my ($seen, $err) = settings_as_app('postgres');
is_deeply($seen, \%configured, 'a plain session of app has the configured settings');

# Startup options: refused, never a session with other settings.
($seen, $err) = settings_as_app('postgres',
	'-c execjson.allow_prefixes=/ -c execjson.log_executions=off -c execjson.rlimit_cpu=-1 -c execjson.max_stdout_bytes=1GB');
ok(!defined $seen || is_deeply($seen, \%configured),
	'startup options: no session with other settings');
like($err, qr/permission denied to set parameter "execjson\./,
	'startup options: the server refuses them');

# SET, set_config, ALTER ROLE on itself, ALTER DATABASE as its owner, and a
# function's SET clause: each refused.
for my $case (
	[ 'SET', 'postgres', q{SET execjson.max_stdout_bytes = '1GB'} ],
	[ 'set_config', 'postgres', q{SELECT set_config('execjson.log_executions', 'off', false)} ],
	[ 'ALTER ROLE on itself', 'postgres', q{ALTER ROLE app SET execjson.allow_prefixes = '/'} ],
	[ 'ALTER DATABASE as owner', 'appdb', q{ALTER DATABASE appdb SET execjson.rlimit_cpu = -1} ],
	[ 'function SET clause', 'appdb',
		q{CREATE FUNCTION widen() RETURNS text LANGUAGE sql SET execjson.allow_prefixes = '/' AS 'SELECT 1::text'} ])
{
	my ($name, $db, $sql) = @$case;
	my ($ret, $out, $e) = $node->psql($db, $sql, extra_params => [ '-U', 'app' ]);
	isnt($ret, 0, "$name: refused");
	like($e, qr/permission denied to set parameter/, "$name: permission denied");
}
($seen, $err) = settings_as_app('appdb');
is_deeply($seen, \%configured, 'after all that, app still has the configured settings');

# The first call of a session inside a parallel operation: a PARALLEL SAFE
# wrapper around exec_try, run in a parallel worker.
$node->safe_psql('postgres', q{
	CREATE FUNCTION in_worker(r jsonb) RETURNS jsonb LANGUAGE plpgsql PARALLEL SAFE AS $$
	BEGIN
		RETURN jsonb_build_object(
			'pid', pg_backend_pid(),
			'allow_prefixes', current_setting('execjson.allow_prefixes'),
			'log_executions', current_setting('execjson.log_executions'),
			'rlimit_cpu', current_setting('execjson.rlimit_cpu'),
			'max_stdout_bytes', current_setting('execjson.max_stdout_bytes'),
			'result', exec_try(r));
	END $$;
	GRANT EXECUTE ON FUNCTION in_worker(jsonb) TO app;
});
my $version = $node->safe_psql('postgres', 'SHOW server_version_num');
my $force = $version >= 160000 ? 'debug_parallel_query' : 'force_parallel_mode';
my $offset = -s $node->logfile;
my $request = sql_literal(encode_json_text(xj_request([ 'out', 2000 ])));
my ($ret, $out, $e) = $node->psql('postgres',
	"SET $force = on; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
	  . "SELECT pg_backend_pid(); SELECT in_worker($request)",
	extra_params => [ '-U', 'app', '-A', '-t' ]);
is($ret, 0, 'parallel: the query runs') or diag($e);
my ($leader, $wjson) = split /\n/, $out, 2;
my $w = decode_json_text($wjson);
isnt($w->{pid}, $leader, 'parallel: the call ran in a parallel worker');
is_deeply(
	{ map { ("execjson.$_" => $w->{$_}) } qw(allow_prefixes log_executions rlimit_cpu max_stdout_bytes) },
	\%configured, 'parallel: the worker has the configured settings');
is($w->{result}{error}{code}, 'exec_stdout_too_large',
	'parallel: the configured stdout cap applies in the worker');
my $logged = 0;
for (1 .. 200)
{
	my $log = slurp_file($node->logfile);
	$logged = substr($log, $offset) =~ /execjson call: \{"role": "app"/;
	last if $logged;
	Time::HiRes::sleep(0.01);
}
ok($logged, 'parallel: the call has its audit line');

# A reload reaches every session: the check hook of allow_prefixes must not
# fail in a session whose client encoding cannot show a configured path
# (an entry through a symlink draws a warning; "\x{e9}" has no KOI8R form).
{
	my $tmp = PostgreSQL::Test::Utils::tempdir('reload');
	chmod 0755, $tmp;
	mkdir "$tmp/d\xc3\xa9" or die "mkdir: $!";
	symlink("$tmp/d\xc3\xa9", "$tmp/lnk") or die "symlink: $!";
	$node->append_conf('postgresql.conf',
		"execjson.allow_prefixes = '$dir/bin, $tmp/lnk'\nexecjson.allow_env = 'KEPT'");
	$node->reload;
	local $ENV{PGCLIENTENCODING} = 'KOI8R';
	my $session = ExecJsonTest::Session->new($node);
	my ($before) = $session->query('SHOW execjson.allow_env');
	is($before, "KEPT\n", 'reload: the session starts with the configured allow_env');
	$node->append_conf('postgresql.conf', "execjson.allow_env = ''");
	$node->reload;
	my $after;
	for (1 .. 100)
	{
		($after) = $session->query('SHOW execjson.allow_env');
		last if $after eq "\n";
		Time::HiRes::sleep(0.05);
	}
	is($after, "\n", 'reload: the KOI8R session gets the new allow_env');
	$session->quit;
}

$node->stop;
done_testing();
