# 020_sandbox_processes.pl -- execjson.sandbox = 'processes': the program
# is pid 1 of new user, pid, ipc and uts namespaces, with the server's uid
# and gid.
#
# Every process of a call ends with it -- daemonized (setsid) ones
# included, which without the sandbox escape the process-group kill --
# after a normal end, a timeout, a cancel and the backend's SIGKILL; and
# the program can signal no process of the server.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

# The test framework turns restart_after_crash off; the SIGKILL case needs it.
my $node = start_node('sandbox_processes',
	"execjson.sandbox = 'processes'\nrestart_after_crash = on");

# run_json ARGV -- run xjtool with ARGV; the decoded result, or undef
# (with the error in a diag).
sub run_json
{
	my (@argv) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', exec_sql(xj_request([@argv])));
	if ($ret != 0)
	{
		diag("xjtool @argv: $err");
		return undef;
	}
	return decode_json_text($out);
}

# postmaster_pid -- from postmaster.pid.
sub postmaster_pid
{
	my ($pid) = slurp_file($node->data_dir . '/postmaster.pid') =~ /^(\d+)/;
	return $pid;
}

# what the program sees of itself
my $r = run_json('pid');
is($r && $r->{pid}, 1, 'the program is pid 1 of its namespace');
is($r && $r->{ppid}, 0, 'its parent is outside its namespace');
my $in_pid_ns = $r && $r->{pid} == 1;

$r = run_json('ids');
is($r && $r->{uid}, $<, "the program's uid is the server's");
is($r && $r->{euid}, $<, "the program's euid is the server's");
my ($gid) = split(' ', $();
is($r && $r->{gid}, $gid, "the program's gid is the server's");

# signals: the postmaster is not even visible (same uid, so without the
# sandbox kill(pid, 0) succeeds)
my $pm = postmaster_pid();
$r = run_json('kill-pid', $pm, 0);
isnt($r && $r->{kill}, 'ok', 'kill() of the postmaster from inside fails');
is($r && $r->{kill}, 'ESRCH', 'the postmaster does not exist in there');

# kill(-1, SIGKILL) from inside: run only in a pid namespace (outside one
# it would kill every process of the server's OS user on this machine).
SKIP:
{
	skip 'not in a pid namespace: kill(-1, SIGKILL) would be destructive', 3
	  unless $in_pid_ns;
	$r = run_json('kill-all');
	ok(defined $r, 'a program running kill(-1, SIGKILL) returns');
	is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still serves queries');
	is(postmaster_pid(), $pm, 'the postmaster is the same');
}

# xjtool's 'daemon': a double-forked, setsid() process sleeping a minute,
# with the call ended in each way in turn; nothing of it may be left.
my $session = ExecJsonTest::Session->new($node);

{
	my $tag = unique_tag('daemon-normal');
	my ($out, $err) = $session->query(
		exec_sql(xj_request([ 'tag', $tag, 'daemon', '60000' ])));
	like($out, qr/"daemon": \d+/, 'normal end: the program daemonized a process');
	assert_no_leftovers($node, $tag, 'normal end with a daemon');
}

{
	my $tag = unique_tag('daemon-timeout');
	my ($out, $err) = $session->query(
		exec_sql(xj_request([ 'tag', $tag, 'daemon', '60000', 'sleep', '60000' ],
				timeout_ms => 500)));
	is(error_code_of($err), 'exec_timeout', 'timeout: exec_timeout');
	assert_no_leftovers($node, $tag, 'timeout with a daemon');
}

{
	my $tag = unique_tag('daemon-cancel');
	my $mark = $session->start_query(
		exec_sql(xj_request([ 'tag', $tag, 'daemon', '60000', 'sleep', '60000' ],
				timeout_ms => 120000)));
	my @pids = wait_until_tagged($tag, 2, 30);
	is(scalar(@pids), 2, 'cancel: the program and its daemon run');
	$node->safe_psql('postgres',
		'SELECT pg_cancel_backend(' . $session->backend_pid . ')');
	my ($out, $err) = $session->finish_mark($mark, 30);
	like($err, qr/canceling statement due to user request/, 'cancel: 57014');
	assert_no_leftovers($node, $tag, 'cancel with a daemon');
}

# the backend SIGKILLed: no exit callback runs; pid 1 dies of its death
# signal, and the namespace with it
{
	my $victim = ExecJsonTest::Session->new($node);
	my $tag = unique_tag('daemon-sigkill');
	$victim->start_query(
		exec_sql(xj_request([ 'tag', $tag, 'daemon', '60000', 'sleep', '60000' ],
				timeout_ms => 120000)));
	my @pids = wait_until_tagged($tag, 2, 30);
	is(scalar(@pids), 2, 'backend SIGKILL: the program and its daemon run');
	ok(kill('KILL', $victim->backend_pid), 'SIGKILL the backend');
	my @alive = wait_tagged_gone($tag, 2);
	is("@alive", '', 'backend SIGKILL: the daemon is gone too');
	$node->poll_query_until('postgres', 'SELECT true');
	$victim->wait_exit($HANG_SECS);
	assert_no_leftovers($node, $tag, 'backend SIGKILL with a daemon');
	$session->quit;
	$session = undef;
}

# the program's other outcomes are unchanged
$session = ExecJsonTest::Session->new($node);
{
	my ($out, $err) = $session->query(exec_sql(xj_request([ 'exit', '3' ])));
	my $d = error_detail_of($err);
	is($d && $d->{details}{exit_code}, 3, 'exit status 3 is reported');
	($out, $err) = $session->query(
		exec_sql(xj_request([ 'echo' ], stdin_json => { a => [ 1, 2 ] })));
	chomp $out;
	is($out, '{"a": [1, 2]}', 'stdin and stdout as usual');
}

# no nested user namespace: in one the program would have every
# capability again
{
	my ($out, $err) = $session->query(exec_sql(xj_request([ 'userns' ])));
	like($out, qr/"userns": "(ENOSPC|EPERM|EUSERS)"/,
		'the program cannot make a user namespace');
	unlike($out, qr/"ok"/, 'not even a nested one');
}

# without the sandbox a daemon escapes the call: what the tests above
# would see if the namespaces were missing
{
	my $tag = unique_tag('daemon-nosandbox');
	my ($out, $err) = $session->query("SET execjson.sandbox = ''; "
		  . exec_sql(xj_request([ 'tag', $tag, 'daemon', '60000' ])));
	my ($daemon) = $out =~ /"daemon": (\d+)/;
	my @alive = wait_until_tagged($tag, 1, 2);
	is(scalar(@alive), 1, 'without the sandbox, the daemon outlives the call');
	kill('KILL', @alive) if @alive;
	wait_tagged_gone($tag, 2);
}

# (without the sandbox, what the kernel allows the server's OS user)
{
	my ($out) = $session->query(exec_sql(xj_request([ 'userns' ])));
	note("without the sandbox: $out");
}

$session->quit;
$node->stop;
done_testing();
