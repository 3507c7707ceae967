# 015_request_secrecy.pl -- the request's payload never reaches the server
# log through an error: not in STATEMENT, not in CONTEXT (a PL/pgSQL
# "SQL statement" line quotes a literal request), not for execjson's own
# errors and not for PostgreSQL's own errors on the way out of exec_run (a
# statement_timeout).
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

# log_statement = none: the test cluster logs every statement by default.
my $node = start_node('request_secrecy', "log_statement = none\nlog_min_messages = debug1");
my $secret = 'REQSECRET' . $$;

sub literal_request
{
	my ($argv) = @_;
	return sql_literal(encode_json_text(xj_request($argv, stdin_json => $secret)));
}

my @cases = (
	[ 'execjson error, literal in a DO block',
		'DO $$ BEGIN PERFORM exec_run(' . literal_request([ 'exit', '3' ]) . '); END $$' ],
	[ 'execjson error, EXECUTE format(%L)',
		q{DO $$ BEGIN EXECUTE format('SELECT exec_run(%L)', } . literal_request([ 'exit', '3' ]) . '); END $$' ],
	[ 'execjson error, plain SELECT',
		'SELECT exec_run(' . literal_request([ 'exit', '3' ]) . ')' ],
	[ 'statement_timeout, literal in a DO block',
		"SET statement_timeout = '200ms'; DO \$\$ BEGIN PERFORM exec_run("
		  . literal_request([ 'sleep', '5000' ]) . '); END $$' ],
);

for my $case (@cases)
{
	my ($name, $sql) = @$case;
	my ($ret, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-v', 'VERBOSITY=verbose', '-v', 'SHOW_CONTEXT=always' ]);
	isnt($ret, 0, "$name: the call fails");
	unlike($err, qr/\Q$secret\E/, "$name: the client's error does not quote the request");
}

# An execjson error raised in a parallel worker (a PARALLEL SAFE wrapper)
# is re-raised by the leader, which would log its statement.
$node->safe_psql('postgres', q{
	CREATE FUNCTION wrapped(r jsonb) RETURNS jsonb LANGUAGE plpgsql PARALLEL SAFE
	AS $$ BEGIN RETURN exec_run(r); END $$;
});
my $version = $node->safe_psql('postgres', 'SHOW server_version_num');
my $force = $version >= 160000 ? 'debug_parallel_query' : 'force_parallel_mode';
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET $force = on; SELECT wrapped(" . literal_request([ 'exit', '3' ]) . ')');
	isnt($ret, 0, 'parallel worker: the call fails');
	like($err, qr/parallel worker/, 'parallel worker: it ran in a worker');
	unlike($err, qr/\Q$secret\E/, 'parallel worker: the client\'s error does not quote the request');
}

my $log = slurp_file($node->logfile);
like($log, qr/program exited with non-zero status/, 'the errors are in the log');
unlike($log, qr/\Q$secret\E/, 'the request is nowhere in the server log');

$node->stop;
done_testing();
