# 007_pipe_deadlocks.pl -- pipe deadlock traps.
#
# The backend writes stdin and reads stdout and stderr concurrently: a
# program that fills one pipe before it reads the other, or that never
# reads its stdin at all, does not deadlock the call (it would end at the
# timeout otherwise), and a program that exits 0 without reading its stdin
# is not an error.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('pipe_deadlocks');
my $session = ExecJsonTest::Session->new($node);

my $MiB = 1024 * 1024;
my $TIMEOUT_MS = 20000;

# A JSON string of varied text, exactly 1 MiB (the default max_stdin_bytes)
# as stdin: 1 MiB - 2 characters between its quotes.
my $INPUT_SQL =
  "(SELECT substr(string_agg(md5(i::text), '' ORDER BY i), 1, $MiB - 2)"
  . ' FROM generate_series(1, 32768) i)';

# run_with_input NAME, ARGV, RESULT_SQL -- run xjtool with ARGV (after a
# fresh tag) and the 1 MiB input; RESULT_SQL is an expression over r (the
# result) and s (the input).  Returns (stdout, stderr).
sub run_with_input
{
	my ($name, $argv, $result_sql) = @_;
	my $tag = unique_tag('pipes');
	my $request = xj_request([ 'tag', $tag, @$argv ], timeout_ms => $TIMEOUT_MS);
	my $call = exec_sql_with_stdin($request, 's');
	$call =~ s/^SELECT //;
	my ($out, $err, $elapsed) = $session->timed_query(
		"SELECT $result_sql FROM (SELECT s, $call AS r FROM (SELECT $INPUT_SQL AS s) input) call",
		$TIMEOUT_MS / 1000 + 30);
	diag("$name: $elapsed ms");
	cmp_ok($elapsed, '<', $HANG_SECS * 1000, "$name: no deadlock");
	unlike($err, qr/exec_timeout/, "$name: not ended by the timeout");
	assert_no_leftovers($node, $tag, $name);
	return ($out, $err);
}

# returns_input NAME, ARGV -- the program echoes its stdin somehow.
sub returns_input
{
	my ($name, $argv) = @_;
	my ($out, $err) = run_with_input($name, $argv, '(r = to_jsonb(s))::text');
	is($err, '', "$name: no error");
	is($out, "true\n", "$name: stdout is the 1 MiB input, byte for byte");
	return;
}

# returns_ok NAME, ARGV -- the program answers {"ok": true}.
sub returns_ok
{
	my ($name, $argv) = @_;
	my ($out, $err) = run_with_input($name, $argv, 'r::text');
	is($err, '', "$name: no error");
	is($out, qq({"ok": true}\n), "$name: its answer is the result");
	return;
}

returns_input('echo of 1 MiB stdin back to stdout', ['echo']);
returns_input('900 KB to stderr before reading stdin, then echo',
	[ 'err', '900000', 'echo' ]);
returns_ok('1 MiB stdin to a program that never reads it and exits 0',
	[ 'print', '{"ok": true}' ]);
returns_ok('1 MiB stdin to a program that sleeps, never reads it, exits 0',
	[ 'sleep', '300', 'print', '{"ok": true}' ]);
returns_ok('1 MiB stdin to a program that closes its stdin and exits 0',
	[ 'close-stdin', 'print', '{"ok": true}' ]);

{
	my $name = '1 MiB to stdout before reading 1 MiB stdin';
	my ($out, $err) = run_with_input($name, [ 'jsonstr', $MiB, 'drain' ],
		'length(r #>> \'{}\')');
	is($err, '', "$name: no error");
	is($out, ($MiB - 2) . "\n", "$name: the whole stdout is the result");
}

{
	my $name = '1 MiB stdin to a program that never reads it and exits 3';
	my ($out, $err) = run_with_input($name, [ 'exit', '3' ], 'r::text');
	my $detail = error_detail_of($err);
	is($detail && $detail->{code}, 'exec_failed',
		"$name: exec_failed, not a stdin write failure");
	is($detail && $detail->{details}{exit_code}, 3, "$name: exit_code 3");
}

$session->quit;
$node->stop;
done_testing();
