# 004_backend_kill.pl -- SIGKILL of a backend while its program runs.
#
# No exit callback runs in a SIGKILLed backend; the death signal
# (PR_SET_PDEATHSIG) kills its program.  The crash restart that follows
# ends every other backend without exit callbacks either (quickdie), so
# their programs must die the same way.  The cluster recovers and serves
# exec_run again.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

# The test framework turns restart_after_crash off; this test needs it.
my $node = start_node('backend_kill', 'restart_after_crash = on');

# start_program SESSION, TAG, ARGV -- start xjtool with ARGV in SESSION;
# returns the pid of the program (a child of the session's backend).
sub start_program
{
	my ($session, $tag, @argv) = @_;
	$session->start_query(
		exec_sql(xj_request([ 'tag', $tag, @argv ], timeout_ms => 120000)));
	my @pids = wait_until_tagged($tag, 1, 30);
	return child_of($session->backend_pid, @pids);
}

# recover -- wait until the cluster accepts connections again.
sub recover
{
	return $node->poll_query_until('postgres', 'SELECT true');
}

my $victim = ExecJsonTest::Session->new($node);
my $bystander = ExecJsonTest::Session->new($node);
my $victim_tag = unique_tag('sigkill');
my $bystander_tag = unique_tag('bystander');

my $program = start_program($victim, $victim_tag, 'ignore-signals', 'sleep', '60000');
my $other_program =
  start_program($bystander, $bystander_tag, 'ignore-signals', 'sleep', '60000');
ok(defined $program && defined $other_program, 'both programs run');

my $t0 = now_s();
ok(kill('KILL', $victim->backend_pid), 'SIGKILL the backend');
my @alive = wait_tagged_gone($victim_tag, 2);
is("@alive", '', 'the program of a SIGKILLed backend is gone within 2 s');
diag('SIGKILL-to-program-gone ' . elapsed_ms($t0) . ' ms');

@alive = wait_tagged_gone($bystander_tag, 2);
is("@alive", '',
	'the program of a backend ended by the crash restart is gone within 2 s');

ok(recover(), 'the cluster recovers');
$victim->wait_exit($HANG_SECS);
$bystander->wait_exit($HANG_SECS);
assert_no_leftovers($node, $victim_tag, 'after SIGKILL of the backend');
assert_no_leftovers($node, $bystander_tag, 'after the crash restart');

is( $node->safe_psql('postgres',
		exec_sql({ kind => 'run_program_v1', program_path => ok_path() })),
	'{"ok": true}',
	'the recovered cluster serves exec_run');

# A grandchild of the program is not the backend's child: nothing can
# kill it when the backend itself is SIGKILLed (the death signal is not
# inherited across fork).  Documented, not promised.
TODO:
{
	local $TODO = 'no process can clean up after a SIGKILLed backend';
	my $session = ExecJsonTest::Session->new($node);
	my $tag = unique_tag('orphan');
	$session->start_query(
		exec_sql(xj_request([ 'tag', $tag, 'grandchild', '3000', 'sleep', '60000' ],
				timeout_ms => 120000)));
	wait_until_tagged($tag, 2, 30);
	kill('KILL', $session->backend_pid);
	my @orphans = wait_tagged_gone($tag, 1);
	is("@orphans", '', 'a grandchild dies with a SIGKILLed backend');
	recover();
	$session->wait_exit($HANG_SECS);
}

$node->stop;
done_testing();
