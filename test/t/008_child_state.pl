# 008_child_state.pl -- the state a program starts in.
#
# Exactly fds 0, 1, 2; no blocked and no ignored signal (a backend ignores
# SIGPIPE and blocks signals around the spawn), in a single call and in a
# batch; a process group of its own; working directory /; exactly the
# requested environment, or the server's overridden by it with
# execjson.inherit_environment = on.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

# Variables the server inherits from this test, to see them (or not) in
# the program's environment.
$ENV{XJ_SERVER_ONLY} = 'from the server';
$ENV{XJ_OVERRIDDEN} = 'from the server';

my $node = start_node('child_state', "execjson.allow_env = 'XJ_*'");
my $session = ExecJsonTest::Session->new($node);
my $backend = $session->backend_pid;

my $NO_SIGNALS = '0' x 16;
my $TAG = unique_tag('state');

# child_state ENV -- the state xjtool reports when run with ENV (a hashref,
# or undef for no env field).
sub child_state
{
	my ($env) = @_;
	my %fields = (timeout_ms => 10000);
	$fields{env} = $env if defined $env;
	my ($out, $err) = $session->query(exec_sql(xj_request([ 'tag', $TAG, 'state' ], %fields)));
	is($err, '', 'the state program runs') or return {};
	return decode_json_text($out);
}

# proc_status_field PID, FIELD -- a field of /proc/PID/status.
sub proc_status_field
{
	my ($pid, $field) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return undef;
	while (my $line = <$fh>)
	{
		return $1 if $line =~ /^\Q$field\E:\s*(\S+)/;
	}
	return undef;
}

# The backend itself has what the program must not inherit; else the
# checks below would prove nothing.
{
	opendir(my $dh, "/proc/$backend/fd") or die "cannot list /proc/$backend/fd: $!";
	my @fds = grep { /^\d+$/ } readdir($dh);
	cmp_ok(scalar(@fds), '>', 3, 'the backend has fds beyond 0-2');
	isnt(proc_status_field($backend, 'SigIgn'), $NO_SIGNALS,
		'the backend ignores some signals');
}

my $state = child_state(undef);
is_deeply($state->{fds}, [ 0, 1, 2 ], 'only fds 0-2 are open in the program');
is($state->{sigblk}, $NO_SIGNALS, 'no signal is blocked in the program (SigBlk)');
is($state->{sigign}, $NO_SIGNALS, 'no signal is ignored in the program (SigIgn)');
ok($state->{own_pgrp}, 'the program leads a process group of its own');
is($state->{cwd}, '/', 'the program runs in /');
is_deeply($state->{env}, {}, 'without env, the program has an empty environment');

# A batch learns the backend's signal dispositions once and resets only
# those it catches or ignores: its programs start in the same state.
{
	my $request = sql_literal(encode_json_text(xj_request([ 'tag', $TAG, 'state' ], timeout_ms => 10000)));
	my ($out, $err) = $session->query('SELECT result FROM exec_run_many(ARRAY['
		  . join(', ', ($request) x 4)
		  . ']::jsonb[], 2) ORDER BY position');
	is($err, '', 'a batch of state programs runs');
	my @states = map { decode_json_text($_) } split /\n/, $out;
	is(scalar(@states), 4, 'a batch: four states');
	is_deeply([ map { $_->{sigign} } @states ], [ ($NO_SIGNALS) x 4 ],
		'a batch: no signal is ignored in any program (SigIgn)');
	is_deeply([ map { $_->{sigblk} } @states ], [ ($NO_SIGNALS) x 4 ],
		'a batch: no signal is blocked in any program (SigBlk)');
	is_deeply([ map { $_->{fds} } @states ], [ ([ 0, 1, 2 ]) x 4 ],
		'a batch: only fds 0-2 are open in every program');
}

my %request_env = (
	XJ_REQUEST_ONLY => 'from the request',
	XJ_OVERRIDDEN => 'from the request',
	XJ_EMPTY => '',
	XJ_SPECIAL => "quote \" backslash \\ tab \t e-acute \x{e9}",
);
$state = child_state(\%request_env);
is_deeply($state->{env}, \%request_env,
	'with env, the environment is exactly the requested one');
is_deeply($state->{fds}, [ 0, 1, 2 ], 'with env, still only fds 0-2');

$session->query_value('SET execjson.inherit_environment = on');
$state = child_state({});
my %server_env = %{ $state->{env} };
is($server_env{XJ_SERVER_ONLY}, 'from the server',
	'inherit_environment: the server\'s environment is passed on');
is($server_env{PATH}, $ENV{PATH}, 'inherit_environment: PATH is the server\'s');

$state = child_state(\%request_env);
is_deeply($state->{env}, { %server_env, %request_env },
	'inherit_environment: the server\'s environment overridden by env');
is_deeply($state->{fds}, [ 0, 1, 2 ], 'inherit_environment: still only fds 0-2');
$session->query_value('RESET execjson.inherit_environment');

is_deeply(child_state(undef)->{env}, {},
	'inherit_environment off again: an empty environment');

assert_no_leftovers($node, $TAG, 'after the state calls');

$session->quit;
$node->stop;
done_testing();
