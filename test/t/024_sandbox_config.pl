# 024_sandbox_config.pl -- an invalid execjson.sandbox, sandbox_paths or
# allow_prefixes in postgresql.conf never weakens the policy: PostgreSQL
# would otherwise keep the default (no sandbox; /nix/store/) with only a
# WARNING in the log.  The value is taken as "invalid" and every call
# fails closed: exec_sandbox_unavailable (step "configuration") for the
# sandbox settings, nothing allowed for allow_prefixes.  SET and ALTER
# SYSTEM still reject invalid values.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $marker = "/tmp/execjson-config-$$";
unlink($marker);

my $node = start_node('sandbox_config',
	"execjson.sandbox = 'filesystem,netwrok'");

# call_fails_closed WHAT, [SESSION] -- the program (which would create the
# marker) is refused with step "configuration", and did not run.
sub call_fails_closed
{
	my ($what, $session) = @_;
	my $sql = exec_sql(xj_request([ 'create', $marker ]));
	my $err;
	if ($session)
	{
		(undef, $err) = $session->query($sql);
	}
	else
	{
		(undef, undef, $err) = $node->psql('postgres', $sql,
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	}
	my $d = error_detail_of($err);
	is($d && $d->{code}, 'exec_sandbox_unavailable', "$what: exec_sandbox_unavailable");
	is($d && $d->{details}{step}, 'configuration', "$what: step configuration");
	is($d && $d->{details}{errno}, 'EINVAL', "$what: errno EINVAL");
	like($err, qr/HINT:.*Fix execjson\.sandbox/, "$what: a hint to fix the setting");
	ok(!-e $marker, "$what: the program did not run");
	unlink($marker);
	return;
}

call_fails_closed('a typo in execjson.sandbox at server start');
like(slurp_file($node->logfile),
	qr/LOG:\s+invalid value for parameter "execjson.sandbox" in the server's configuration/,
	'the log says why');
is($node->safe_psql('postgres', 'SHOW execjson.sandbox'), 'filesystem,netwrok',
	'the setting is the configured one, not the default');

# interactive and ALTER SYSTEM: still an error
my ($ret, $out, $err) = $node->psql('postgres', "SET execjson.sandbox = 'netwrok'");
like($err, qr/ERROR:.*invalid value for parameter "execjson.sandbox"/,
	'SET rejects an invalid value');
($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET execjson.sandbox = 'netwrok'");
like($err, qr/ERROR:.*invalid value for parameter "execjson.sandbox"/,
	'ALTER SYSTEM rejects an invalid value');
($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET execjson.sandbox_paths = 'usr'");
like($err, qr/ERROR:.*invalid value for parameter "execjson.sandbox_paths"/,
	'ALTER SYSTEM rejects an invalid sandbox_paths');
($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET execjson.allow_prefixes = 'bin'");
like($err, qr/ERROR:.*invalid value for parameter "execjson.allow_prefixes"/,
	'ALTER SYSTEM rejects a relative allow_prefixes entry');

# fixed and reloaded: programs run again
$node->append_conf('postgresql.conf', "execjson.sandbox = ''");
$node->reload;
my $session = ExecJsonTest::Session->new($node);
my $ok = ExecJsonTest::poll(10, 0.05, sub {
	my ($o) = $session->query(exec_sql({ kind => 'run_program_v1', program_path => ok_path() }));
	my $done = $o =~ /"ok": true/;
	return ($done, $done ? 1 : ());
});
ok($ok, 'with the setting fixed, programs run');

# a typo reloaded into a running session: that session fails closed too
$node->append_conf('postgresql.conf', "execjson.sandbox = 'processes,netwrok'");
$node->reload;
my $seen = ExecJsonTest::poll(10, 0.05, sub {
	my $v = $session->query_value('SHOW execjson.sandbox');
	my $done = $v eq 'processes,netwrok';
	return ($done, $done ? 1 : ());
});
ok($seen, 'a running session takes the reloaded value');
call_fails_closed('a typo reloaded into a running session', $session);
call_fails_closed('a typo reloaded, a new session');
$session->quit;

# sandbox_paths: a relative entry
$node->append_conf('postgresql.conf',
	"execjson.sandbox = 'filesystem'\nexecjson.sandbox_paths = '/usr,lib'");
$node->restart;
call_fails_closed('a relative execjson.sandbox_paths entry at server start');
like(slurp_file($node->logfile),
	qr/LOG:\s+invalid value for parameter "execjson.sandbox_paths" in the server's configuration/,
	'the log says why');

# allow_prefixes: a relative entry allows nothing (not the default /nix/store/)
$node->append_conf('postgresql.conf',
	"execjson.sandbox = ''\nexecjson.sandbox_paths = ''\n"
	  . "execjson.allow_prefixes = '" . test_dir() . "/bin, bin'");
$node->restart;
is($node->safe_psql('postgres', 'SHOW execjson.allow_prefixes'),
	test_dir() . '/bin, bin',
	'allow_prefixes is the configured value, not the default /nix/store/');
($ret, $out, $err) = $node->psql('postgres',
	exec_sql(xj_request([ 'create', $marker ])));
is(error_code_of($err), 'exec_program_not_allowed',
	'a relative allow_prefixes entry: no program may run, not even one under a valid entry');
ok(!-e $marker, 'the program did not run');
like(slurp_file($node->logfile),
	qr/LOG:\s+invalid value for parameter "execjson.allow_prefixes" in the server's configuration/,
	'the log says why');

$node->stop;
unlink($marker);
done_testing();
