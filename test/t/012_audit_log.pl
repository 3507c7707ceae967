# 012_audit_log.pl -- execjson.log_executions writes one LOG line per call
# (role, canonical path, pid, duration, outcome, exit code or signal, byte
# counts) and never argv, env values, stdin or output.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;
use Time::HiRes ();
use IPC::Run ();

# log_statement = none: the test cluster logs every statement by default,
# and statements hold requests.
my $node = start_node('audit', "log_statement = none\nexecjson.allow_env = 'SECRET_ENV'");
my $secret = 'AUDITSECRET' . $$;

# audit_lines_since OFFSET -- the parsed audit lines the log got after OFFSET.
sub audit_lines_since
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile);
	my @lines;
	for my $line (split /\n/, substr($log, $offset))
	{
		next unless $line =~ /LOG:\s+execjson call: (\{.*\})\s*$/;
		push @lines, decode_json_text($1);
	}
	return @lines;
}

# run_logged SQL -- run SQL as the role "auditor" with logging on; returns
# (psql's stderr, the audit lines it caused).
sub run_logged
{
	my ($sql) = @_;
	my $offset = -s $node->logfile;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET execjson.log_executions = on; SET ROLE auditor; $sql");
	# the logger writes asynchronously: wait for the line
	my @lines;
	for (1 .. 200)
	{
		@lines = audit_lines_since($offset);
		last if @lines;
		Time::HiRes::sleep(0.01);
	}
	return ($err, @lines);
}

$node->safe_psql('postgres', q{
	CREATE ROLE auditor;
	GRANT EXECUTE ON FUNCTION exec_run(jsonb), exec_try(jsonb) TO auditor;
});

# off by default: no line
{
	my $offset = -s $node->logfile;
	$node->safe_psql('postgres',
		exec_sql({ kind => 'run_program_v1', program_path => ok_path() }));
	my @lines = audit_lines_since($offset);
	is(scalar(@lines), 0, 'no audit line while execjson.log_executions is off');
}

# a success
{
	my ($err, @lines) = run_logged(exec_sql(xj_request(
		[ 'drain', 'err', '7', 'print', '{"out": "' . $secret . '"}' ],
		stdin_json => { in => $secret },
		env => { SECRET_ENV => $secret })));
	is(scalar(@lines), 1, 'success: one audit line');
	my $l = $lines[0];
	is($l->{role}, 'auditor', 'success: the role');
	is($l->{session_role}, 'postgres', 'success: the session role (it ran SET ROLE)');
	is($l->{program_path}, xjtool_path(), 'success: the canonical path');
	like($l->{pid}, qr/^\d+$/, 'success: the child pid');
	like($l->{duration_ms}, qr/^\d+$/, 'success: the duration');
	is($l->{outcome}, 'ok', 'success: outcome ok');
	is($l->{exit_code}, 0, 'success: exit code 0');
	ok(!defined $l->{signal}, 'success: no signal');
	is($l->{stdin_bytes}, length(encode_json_text({ in => $secret })),
		'success: stdin bytes');
	is($l->{stdout_bytes}, length('{"out": "' . $secret . '"}'),
		'success: stdout bytes');
	is($l->{stderr_bytes}, 7, 'success: stderr bytes');
	is($l->{sandbox}, 'none', 'success: no sandbox');
}

# the sandbox the call ran in
{
	my ($err, @lines) = run_logged(
		"RESET ROLE; SET execjson.sandbox = 'processes'; SET ROLE auditor; "
		  . exec_sql({ kind => 'run_program_v1', program_path => ok_path() }));
	is($lines[0]{sandbox}, 'processes', 'sandbox processes: logged');
	($err, @lines) = run_logged(
		"RESET ROLE; SET execjson.sandbox = 'network,filesystem'; "
		  . "SET execjson.sandbox_paths = '/usr,/lib,/lib64'; SET ROLE auditor; "
		  . exec_sql({ kind => 'run_program_v1', program_path => ok_path() }));
	is($lines[0]{sandbox}, 'processes,filesystem,network',
		'sandbox filesystem,network: logged with what it implies');
}

# a failure: exit code, then a signal, then an error before any spawn
{
	my ($err, @lines) = run_logged(exec_sql(xj_request([ 'exit', '3' ])));
	is($lines[0]{outcome}, 'exec_failed', 'exit 3: outcome exec_failed');
	is($lines[0]{exit_code}, 3, 'exit 3: the exit code');

	($err, @lines) = run_logged(exec_sql(xj_request([ 'kill', '9' ])));
	is($lines[0]{signal}, 9, 'killed: the signal');
	ok(!defined $lines[0]{exit_code}, 'killed: no exit code');

	($err, @lines) = run_logged(exec_sql(
		{ kind => 'run_program_v1', program_path => '/etc/' . $secret }));
	is($lines[0]{outcome}, 'exec_program_not_allowed', 'not allowed: the outcome');
	ok(!defined $lines[0]{program_path}, 'not allowed: no canonical path');
	ok(!defined $lines[0]{pid}, 'not allowed: no pid');
}

# exec_try logs like exec_run, and a cancel is logged with its SQLSTATE
{
	my ($err, @lines) = run_logged('SELECT exec_try('
		  . sql_literal(encode_json_text(xj_request([ 'exit', '4' ])))
		  . ')');
	is($lines[0]{outcome}, 'exec_failed', 'exec_try: logged');

	($err, @lines) = run_logged("SET statement_timeout = '200ms'; "
		  . exec_sql(xj_request([ 'sleep', '10000' ])));
	is($lines[0]{outcome}, 'error:57014', 'statement_timeout: error:57014');
}

# a call cut short by a FATAL (pg_terminate_backend) still has its audit
# line, and the FATAL's log lines do not quote the request
{
	$node->safe_psql('postgres', 'ALTER ROLE auditor LOGIN');
	my $offset = -s $node->logfile;
	my $tag = unique_tag('fatal');
	my $session = ExecJsonTest::Session->new($node);
	$session->query('SET execjson.log_executions = on; SET ROLE auditor');
	$session->start_query(exec_sql(xj_request([ 'tag', $tag, 'print', "\"$secret\"", 'sleep', '20000' ])));
	ok(scalar(wait_until_tagged($tag)), 'terminated: the program runs');
	$node->safe_psql('postgres', 'SELECT pg_terminate_backend(' . $session->backend_pid . ')');
	my @lines;
	for (1 .. 300)
	{
		@lines = audit_lines_since($offset);
		last if @lines;
		Time::HiRes::sleep(0.01);
	}
	is(scalar(@lines), 1, 'terminated: one audit line');
	is($lines[0]{outcome}, 'error:57P01', 'terminated: outcome error:57P01');
	is($lines[0]{role}, 'auditor', 'terminated: the role');
	my $log = substr(slurp_file($node->logfile), $offset);
	like($log, qr/FATAL:  terminating connection/, 'terminated: the FATAL is logged');
	unlike($log, qr/\Q$tag\E/, 'terminated: the request is not in the log');
	assert_no_leftovers($node, $tag, 'terminated');
}

# a role dropped while its call runs: the audit line says null, the server
# keeps running (the name is taken when the call starts)
{
	$node->safe_psql('postgres', q{
		CREATE ROLE doomed LOGIN;
		GRANT EXECUTE ON FUNCTION exec_run(jsonb) TO doomed;
	});
	my $tag = unique_tag('doomed');
	my ($out, $err) = ('', '');
	# log_executions is superuser-only: a superuser turns it on for the role
	$node->safe_psql('postgres', 'ALTER ROLE doomed SET execjson.log_executions = on');
	my $offset = -s $node->logfile;
	my $sql = 'SELECT exec_run(r) IS NOT NULL, pg_relation_size(c.oid) >= 0 FROM (VALUES ('
	  . sql_literal(encode_json_text(xj_request([ 'tag', $tag, 'sleep', '1500', 'print', '1' ])))
	  . '::jsonb)) v(r), (SELECT oid FROM pg_class WHERE relkind = \'r\' LIMIT 2) c';
	my $run = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-U', 'doomed', '-c', $sql ],
		'>', \$out, '2>', \$err);
	ok(scalar(wait_until_tagged($tag)), 'dropped role: the program runs');
	$node->safe_psql('postgres', 'REVOKE EXECUTE ON FUNCTION exec_run(jsonb) FROM doomed; '
		  . 'ALTER ROLE doomed RESET ALL; DROP ROLE doomed');
	$run->finish;
	my ($r, $o, $e) = $node->psql('postgres', 'SELECT 1');
	is($o, '1', 'dropped role: the server answers');
	my $log = substr(slurp_file($node->logfile), $offset);
	unlike($log, qr/terminated by signal/, 'dropped role: no backend crashed');
	my @lines = audit_lines_since($offset);
	ok(scalar(@lines) >= 1, 'dropped role: the calls are logged');
	ok((grep { !defined $_->{role} } @lines) || (grep { ($_->{role} // '') eq 'doomed' } @lines),
		'dropped role: the role is its name or null');
}

# the whole log: never argv, env values, stdin or output, and no STATEMENT
# line after execjson's own errors (the statement holds the request)
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$secret\E/, 'the secret is nowhere in the server log');
like($log, qr/ERROR:  program exited with non-zero status/,
	'execjson errors are logged');
unlike($log, qr/ERROR:  program exited with non-zero status\n[^\n]*STATEMENT:/,
	'but without the statement');

# only a superuser may turn it on or off
my ($ret, $out, $err) = $node->psql('postgres',
	"LOAD 'execjson'; SET ROLE auditor; SET execjson.log_executions = off");
like($err, qr/permission denied to set parameter/,
	'an ordinary role cannot turn the audit log off');

$node->stop;
done_testing();
