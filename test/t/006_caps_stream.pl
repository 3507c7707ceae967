# 006_caps_stream.pl -- stdout and stderr caps against endless writers.
#
# The cap error comes as soon as a stream passes its cap -- not at the
# timeout, not after draining the stream to its end -- and the program is
# killed and reaped.  A stream exactly at its cap is accepted.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('caps_stream');
my $session = ExecJsonTest::Session->new($node);

# The most one read can take past the cap (wait.c reads 64 KiB at a time).
my $READ_SLACK = 65536;
my $TIMEOUT_MS = 20000;

# run_argv TAG, ARGV -- run xjtool with ARGV (after TAG) under a long
# timeout; returns (stdout, stderr, elapsed ms).
sub run_argv
{
	my ($tag, $argv) = @_;
	return $session->timed_query(
		exec_sql(xj_request([ 'tag', $tag, @$argv ], timeout_ms => $TIMEOUT_MS)),
		$TIMEOUT_MS / 1000 + 30);
}

# cap_case NAME, STREAM, CAP, ARGV -- ARGV makes STREAM ('stdout' or
# 'stderr') pass CAP; expect exec_STREAM_too_large at once.
sub cap_case
{
	my ($name, $stream, $cap, $argv) = @_;
	my $tag = unique_tag('cap');
	$session->query_value("SET execjson.max_${stream}_bytes = $cap");
	my ($out, $err, $elapsed) = run_argv($tag, $argv);
	$session->query_value("RESET execjson.max_${stream}_bytes");
	my $detail = error_detail_of($err);
	my $bytes = $detail && $detail->{details}{"${stream}_bytes"};

	is(sqlstate_of($err), '54000', "$name: SQLSTATE 54000");
	is($detail && $detail->{code}, "exec_${stream}_too_large",
		"$name: exec_${stream}_too_large");
	is($detail && $detail->{details}{"max_${stream}_bytes"}, $cap,
		"$name: details name the cap");
	ok(defined $bytes && $bytes > $cap && $bytes <= $cap + $READ_SLACK,
		"$name: reported as soon as the cap is passed (${stream}_bytes "
		  . ($bytes // 'undef') . ')');
	cmp_ok($elapsed, '<', $HANG_SECS * 1000, "$name: not at the timeout");
	diag("$name: cap error after $elapsed ms");
	assert_no_leftovers($node, $tag, $name);
	return;
}

my $MiB = 1024 * 1024;

cap_case('endless stdout, default cap', 'stdout', $MiB, ['flood-out']);
cap_case('endless stderr, default cap', 'stderr', $MiB, ['flood-err']);
cap_case('endless stdout, 1000-byte cap', 'stdout', 1000, ['flood-out']);
cap_case('endless stderr, 1000-byte cap', 'stderr', 1000, ['flood-err']);
cap_case('endless stdout from a program ignoring signals',
	'stdout', $MiB, [ 'ignore-signals', 'flood-out' ]);
cap_case('endless stdout while a grandchild holds the pipes',
	'stdout', $MiB, [ 'grandchild', '60000', 'flood-out' ]);
cap_case('stdout one byte over the cap, then a long sleep',
	'stdout', $MiB, [ 'out', $MiB + 1, 'sleep', '60000' ]);
cap_case('stderr one byte over the cap, then a long sleep',
	'stderr', $MiB, [ 'err', $MiB + 1, 'sleep', '60000' ]);
cap_case('stdout of 0 bytes allowed, one byte written',
	'stdout', 0, [ 'print', '1', 'sleep', '60000' ]);

# exactly_at_cap NAME, ARGV, CHECK -- ARGV writes exactly the cap.
sub exactly_at_cap
{
	my ($name, $argv, $check) = @_;
	my $tag = unique_tag('atcap');
	my ($out, $err) = run_argv($tag, $argv);
	is($err, '', "$name: no error");
	$check->($out);
	assert_no_leftovers($node, $tag, $name);
	return;
}

exactly_at_cap('stdout exactly at the default cap', [ 'jsonstr', $MiB ],
	sub { is(length($_[0]), $MiB + 1, 'stdout exactly at the default cap: returned whole'); });
exactly_at_cap('stderr exactly at the default cap',
	[ 'err', $MiB, 'print', '{"done": true}' ],
	sub { is($_[0], qq({"done": true}\n), 'stderr exactly at the default cap: result'); });

$session->quit;
$node->stop;
done_testing();
