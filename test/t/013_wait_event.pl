# 013_wait_event.pl -- while a backend waits for its program,
# pg_stat_activity shows execjson's wait event: ExecJsonProgram on 17+,
# the generic Extension before.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('wait_event');
my $control = ExecJsonTest::Session->new($node);
my $worker = ExecJsonTest::Session->new($node);
my $backend = $worker->backend_pid;

my $tag = unique_tag('waitevent');
my $mark = $worker->start_query(
	exec_sql(xj_request([ 'tag', $tag, 'sleep', '60000' ], timeout_ms => 120000)));
my @pids = wait_until_tagged($tag, 1, 30);
is(scalar(@pids), 1, 'the program runs');

my $expected = $control->query_value('SHOW server_version_num') >= 170000 ? 'Extension|ExecJsonProgram' : 'Extension|Extension';
my $seen = '';
for (1 .. 500)
{
	$seen = $control->query_value(
		"SELECT wait_event_type || '|' || wait_event FROM pg_stat_activity WHERE pid = $backend");
	last if $seen eq $expected;
	Time::HiRes::sleep(0.01);
}
is($seen, $expected, 'pg_stat_activity shows the wait event');

$control->query_value("SELECT pg_cancel_backend($backend)");
my ($out, $err) = $worker->finish_mark($mark, $HANG_SECS);
like($err, qr/57014/, 'the call is cancelled');
assert_no_leftovers($node, $tag, 'wait event');

$worker->quit;
$control->quit;
$node->stop;
done_testing();
