# 003_terminate.pl -- FATAL while a program runs: pg_terminate_backend,
# and postmaster death.
#
# A FATAL skips PG_FINALLY; the backend's exit callback must still kill
# the program's whole process group (the death signal alone would miss
# anything the program forked) and reap it.  The server carries on.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('terminate');
my $control = ExecJsonTest::Session->new($node);

# terminate_case NAME, ARGV, WANT -- run xjtool with ARGV (after a fresh
# tag) in a new session, wait for WANT processes to carry the tag,
# terminate the backend.
sub terminate_case
{
	my ($name, $argv, $want) = @_;
	my $tag = unique_tag('terminate');
	my $victim = ExecJsonTest::Session->new($node);
	my $backend = $victim->backend_pid;
	$victim->start_query(
		exec_sql(xj_request([ 'tag', $tag, @$argv ], timeout_ms => 120000)));
	my @pids = wait_until_tagged($tag, $want, 30);
	is(scalar(@pids), $want, "$name: the program runs");

	my $t0 = now_s();
	is($control->query_value("SELECT pg_terminate_backend($backend)"),
		't', "$name: pg_terminate_backend succeeds");
	my @alive = wait_tagged_gone($tag, 2);
	diag("$name: terminate-to-programs-gone " . elapsed_ms($t0) . ' ms');
	is("@alive", '', "$name: the program and its children are gone");
	ok($victim->wait_exit($HANG_SECS), "$name: the session ends");
	like($victim->stderr, qr/57P01|terminating connection/,
		"$name: the client is told the connection was terminated");
	ok(!defined proc_stat($backend) || proc_stat($backend)->{state} eq 'Z',
		"$name: the backend exited");
	assert_no_leftovers($node, $tag, $name);
	is($control->query_value(
			exec_sql({ kind => 'run_program_v1', program_path => ok_path() })),
		'{"ok": true}',
		"$name: the server still runs exec_run");
	return;
}

terminate_case('terminate during a sleeping program', [ 'sleep', '60000' ], 1);
terminate_case('terminate during a program ignoring signals',
	[ 'ignore-signals', 'sleep', '60000' ], 1);
terminate_case('terminate during a program with a grandchild',
	[ 'ignore-signals', 'grandchild', '60000', 'sleep', '60000' ], 2);

$control->quit;

# wait_pids_gone SECS, PIDS -- wait until none of PIDS is alive.
sub wait_pids_gone
{
	my ($secs, @pids) = @_;
	my $deadline = now_s() + $secs;
	while (grep { kill(0, $_) } @pids)
	{
		return 0 if now_s() > $deadline;
		Time::HiRes::sleep(0.02);
	}
	return 1;
}

# Postmaster death: the backend, waiting for its program, leaves at once
# (WL_EXIT_ON_PM_DEATH) through the same exit callback.
{
	my $name = 'postmaster death during a program with a grandchild';
	my $tag = unique_tag('pmdeath');
	my $victim = ExecJsonTest::Session->new($node);
	$victim->start_query(exec_sql(xj_request(
		[ 'tag', $tag, 'ignore-signals', 'grandchild', '60000', 'sleep', '60000' ],
		timeout_ms => 120000)));
	is(scalar(wait_until_tagged($tag, 2, 30)), 2, "$name: the program runs");

	my @server_pids = node_postgres_pids($node);
	my $t0 = now_s();
	$node->kill9;
	my @alive = wait_tagged_gone($tag, 2);
	diag("$name: postmaster-death-to-programs-gone " . elapsed_ms($t0) . ' ms');
	is("@alive", '', "$name: the program and its children are gone");
	$victim->wait_exit($HANG_SECS);

	# Every process of the old server must be gone before a new one starts.
	ok(wait_pids_gone(30, @server_pids), "$name: the old server's processes exit");
	$node->start;
	is($node->safe_psql('postgres',
			exec_sql({ kind => 'run_program_v1', program_path => ok_path() })),
		'{"ok": true}',
		"$name: the cluster starts again and runs exec_run");
	assert_no_leftovers($node, $tag, $name);
}

$node->stop;
done_testing();
