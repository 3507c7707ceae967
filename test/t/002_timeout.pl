# 002_timeout.pl -- a request's timeout_ms.
#
# At timeout_ms the program (and anything it forked) is killed and reaped
# and the call fails with exec_timeout soon after the deadline, never
# before it, whether the program sleeps, ignores signals, forked a
# grandchild holding the pipes, or leaves the backend's stdin unread.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('timeout');
my $session = ExecJsonTest::Session->new($node);

# timeout_case NAME, TIMEOUT_MS, ARGV, [STDIN_SQL] -- run xjtool with ARGV
# (after a fresh tag), expecting exec_timeout.  STDIN_SQL, if given, is an
# SQL expression for stdin_json.
sub timeout_case
{
	my ($name, $timeout_ms, $argv, $stdin_sql) = @_;
	my $tag = unique_tag('timeout');
	my $request = xj_request([ 'tag', $tag, @$argv ], timeout_ms => $timeout_ms);
	my $sql =
	  defined $stdin_sql
	  ? exec_sql_with_stdin($request, $stdin_sql)
	  : exec_sql($request);

	my ($out, $err, $elapsed) = $session->timed_query($sql, 60);
	my $detail = error_detail_of($err);

	is(sqlstate_of($err), '38000', "$name: SQLSTATE 38000");
	is($detail && $detail->{code}, 'exec_timeout', "$name: exec_timeout");
	is($detail && $detail->{details}{timeout_ms}, $timeout_ms,
		"$name: details name timeout_ms");
	is($detail && $detail->{details}{program_path}, xjtool_path(),
		"$name: details name the canonical program path");
	cmp_ok($elapsed, '>=', $timeout_ms, "$name: not before the deadline");
	cmp_ok($elapsed, '<', $timeout_ms + $HANG_SECS * 1000,
		"$name: soon after the deadline");
	diag(sprintf('%s: timeout_ms %d, error after %s ms (overshoot %.1f ms)',
			$name, $timeout_ms, $elapsed, $elapsed - $timeout_ms));
	assert_no_leftovers($node, $tag, $name);
	return;
}

timeout_case('timeout of a sleeping program', 500, [ 'sleep', '60000' ]);
timeout_case('timeout of a program ignoring signals',
	500, [ 'ignore-signals', 'sleep', '60000' ]);
timeout_case('timeout of a program with a grandchild holding its pipes',
	500, [ 'ignore-signals', 'grandchild', '60000', 'sleep', '60000' ]);
timeout_case('timeout of a program that never reads its 1 MiB stdin',
	500, [ 'sleep', '60000' ], "repeat('a', 1024 * 1024 - 2)");
timeout_case('timeout of a program that closed its stdin and sleeps',
	300, [ 'close-stdin', 'sleep', '60000' ]);
timeout_case('timeout_ms of 1 ms', 1, [ 'sleep', '60000' ]);

is( $session->query_value(
		exec_sql({ kind => 'run_program_v1', program_path => ok_path(), timeout_ms => 5000 })),
	'{"ok": true}',
	'a program that ends before its timeout_ms is not timed out');

$session->quit;
$node->stop;
done_testing();
