# 001_cancel.pl -- query cancel and statement_timeout while a program runs.
#
# A cancel or statement_timeout stops the call within milliseconds, even
# when the program ignores SIGINT and SIGTERM; the client gets
# PostgreSQL's own 57014; the program (and anything it forked) is killed
# and reaped before the error propagates; the session stays usable.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('cancel');
my $victim = ExecJsonTest::Session->new($node);
my $control = ExecJsonTest::Session->new($node);

# sleeper_argv TAG, %opts -- a program that sleeps a minute; with
# ignore_signals it ignores SIGINT, SIGTERM, SIGHUP, SIGQUIT; with
# grandchild it first forks a child that sleeps a minute holding the pipes;
# with big_stdin it gets 1 MiB of stdin it never reads.
sub sleeper_argv
{
	my ($tag, %opts) = @_;
	my @argv = ('tag', $tag);
	push @argv, 'ignore-signals' if $opts{ignore_signals};
	push @argv, 'grandchild', '60000' if $opts{grandchild};
	push @argv, 'sleep', '60000';
	return \@argv;
}

# start_sleeper TAG, %opts -- start the sleeper in the victim session and
# wait until its processes run.  Returns (mark, leader pid).
sub start_sleeper
{
	my ($tag, %opts) = @_;
	my $request = xj_request(sleeper_argv($tag, %opts), timeout_ms => 120000);
	my $mark = $victim->start_query(
		$opts{big_stdin}
		? exec_sql_with_stdin($request, "repeat('a', 1024 * 1024 - 2)")
		: exec_sql($request));
	my @pids = wait_until_tagged($tag, $opts{grandchild} ? 2 : 1, 30);
	BAIL_OUT("program of $tag did not start: " . $victim->stderr) unless @pids;
	return ($mark, child_of($victim->backend_pid, @pids));
}

# check_stopped NAME, TAG, MARK, LEADER, REASON_RE -- the call ended with
# 57014 and REASON_RE, the program was reaped before the error came, the
# session still works.
sub check_stopped
{
	my ($name, $tag, $mark, $leader, $reason_re) = @_;
	my ($out, $err) = $victim->finish_mark($mark, 30);
	is(sqlstate_of($err), '57014', "$name: the query fails with 57014");
	like($err, $reason_re, "$name: PostgreSQL's own message");
	unlike($err, qr/killed by signal|exec_failed/,
		"$name: not reported as a failure of the program");
	ok(!defined proc_stat($leader),
		"$name: the program was reaped before the error reached the client");
	assert_no_leftovers($node, $tag, $name);
	is( $victim->query_value(
			exec_sql({ kind => 'run_program_v1', program_path => ok_path() })),
		'{"ok": true}',
		"$name: the session runs exec_run again");
}

# cancel_case NAME, %opts -- pg_cancel_backend during a sleeper.
sub cancel_case
{
	my ($name, %opts) = @_;
	my $tag = unique_tag('cancel');
	my ($mark, $leader) = start_sleeper($tag, %opts);
	ok(defined $leader, "$name: the program is a child of the backend");

	my $t0 = now_s();
	$control->query_value(
		'SELECT pg_cancel_backend(' . $victim->backend_pid . ')');
	my $arrived = $victim->wait_for('err', qr/ERROR/, $HANG_SECS);
	my $latency = elapsed_ms($t0);
	ok($arrived, "$name: the error comes within $HANG_SECS s");
	diag("$name: cancel-to-error latency $latency ms");

	check_stopped($name, $tag, $mark, $leader,
		qr/canceling statement due to user request/);
}

# statement_timeout_case NAME, %opts -- statement_timeout during a sleeper.
sub statement_timeout_case
{
	my ($name, %opts) = @_;
	my $tag = unique_tag('stmt');
	my $timeout_ms = 300;
	$victim->query_value("SET statement_timeout = '${timeout_ms}ms'");
	my $t0 = now_s();
	my ($mark, $leader) = start_sleeper($tag, %opts);
	my $arrived = $victim->wait_for('err', qr/ERROR/, $HANG_SECS);
	my $elapsed = elapsed_ms($t0);
	ok($arrived, "$name: the error comes within $HANG_SECS s");
	diag(sprintf('%s: statement_timeout %d ms, error after %s ms (latency %.1f ms)',
			$name, $timeout_ms, $elapsed, $elapsed - $timeout_ms));

	check_stopped($name, $tag, $mark, $leader,
		qr/canceling statement due to statement timeout/);
	$victim->query_value('RESET statement_timeout');
}

cancel_case('cancel of a sleeping program');
cancel_case('cancel of a program ignoring SIGINT and SIGTERM',
	ignore_signals => 1);
cancel_case('cancel of a program with a grandchild holding its pipes',
	ignore_signals => 1, grandchild => 1);
cancel_case('cancel while 1 MiB of stdin waits to be written',
	ignore_signals => 1, big_stdin => 1);
statement_timeout_case('statement_timeout of a sleeping program');
statement_timeout_case('statement_timeout of a program ignoring signals',
	ignore_signals => 1);
statement_timeout_case('statement_timeout of a program with a grandchild',
	ignore_signals => 1, grandchild => 1);

$victim->quit;
$control->quit;
$node->stop;
done_testing();
