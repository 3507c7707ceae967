# 005_grandchild.pl -- a program that leaves a background grandchild.
#
# The grandchild holds stdout and stderr open after the program exits:
# the call must return as soon as the program exits (not wait for EOF on
# the pipes, which the grandchild holds for a minute), and the grandchild
# must be killed with the rest of the program's process group.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('grandchild');
my $session = ExecJsonTest::Session->new($node);

# The xjtool commands that fork a grandchild sleeping a minute with the
# pipes open.
my @GRANDCHILD = ('grandchild', '60000');

# grandchild_case NAME, ARGV, CHECK -- run xjtool with ARGV (after a fresh
# tag); CHECK->(stdout, stderr) checks the outcome.
sub grandchild_case
{
	my ($name, $argv, $check) = @_;
	my $tag = unique_tag('grandchild');
	my $request = xj_request([ 'tag', $tag, @$argv ], timeout_ms => 60000);

	my ($out, $err, $elapsed) = $session->timed_query(exec_sql($request), 90);
	diag("$name: call returned after $elapsed ms");
	cmp_ok($elapsed, '<', $HANG_SECS * 1000,
		"$name: the call returns when the program exits, not when the pipes close");
	$check->($out, $err);

	my @alive = wait_tagged_gone($tag, 2);
	is("@alive", '', "$name: the grandchild is killed");
	assert_no_leftovers($node, $tag, $name);
	return;
}

grandchild_case(
	'program exits 0 leaving a grandchild',
	[@GRANDCHILD],
	sub {
		my ($out, $err) = @_;
		like($out, qr/^\{"grandchild": \d+\}$/m,
			'program exits 0 leaving a grandchild: its stdout is the result');
		is($err, '', 'program exits 0 leaving a grandchild: no error');
	});

grandchild_case(
	'program exits 3 leaving a grandchild',
	[ @GRANDCHILD, 'exit', '3' ],
	sub {
		my ($out, $err) = @_;
		my $detail = error_detail_of($err);
		is($detail && $detail->{code}, 'exec_failed',
			'program exits 3 leaving a grandchild: exec_failed');
		is($detail && $detail->{details}{exit_code}, 3,
			'program exits 3 leaving a grandchild: exit_code 3');
	});

grandchild_case(
	'program killed by a signal leaving a grandchild',
	[ @GRANDCHILD, 'kill', '9' ],
	sub {
		my ($out, $err) = @_;
		my $detail = error_detail_of($err);
		is($detail && $detail->{code}, 'exec_failed',
			'program killed by a signal leaving a grandchild: exec_failed');
		is($detail && $detail->{details}{signal}, 9,
			'program killed by a signal leaving a grandchild: signal 9');
	});

grandchild_case(
	'grandchild that ignores signals',
	[ 'ignore-signals', @GRANDCHILD ],
	sub { like($_[0], qr/"grandchild"/, 'grandchild that ignores signals: result'); });

$session->quit;
$node->stop;
done_testing();
