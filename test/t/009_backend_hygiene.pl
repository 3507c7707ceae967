# 009_backend_hygiene.pl -- a backend is left as it was found.
#
# After 2,000 calls mixing successes and every kind of error (request and
# policy errors, spawn failure, timeout, non-zero exit, signal, caps,
# invalid JSON, query cancel), the backend has the same open fds (no pipe,
# pidfd or program file left open) and the same memory
# (pg_backend_memory_contexts) as before them.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('backend_hygiene');
my $session = ExecJsonTest::Session->new($node);
my $backend = $session->backend_pid;
my $server_version = $session->query_value('SHOW server_version_num');
my $dir = test_dir();

my $CALLS = 2000;
my $CANCELS = 20;
my $TAG = unique_tag('hygiene');

# mix_request ARGV, %FIELDS -- a request for xjtool, tagged.
sub mix_request
{
	my ($argv, %fields) = @_;
	return xj_request([ 'tag', $TAG, @$argv ], %fields);
}

# Small caps, so that the cap errors are cheap; every success fits them.
$session->query_value($_) for (
	'SET execjson.max_stdin_bytes = 1000',
	'SET execjson.max_stdout_bytes = 1000',
	'SET execjson.max_stderr_bytes = 1000');

# try_exec: one call; 'ok' or the code of the error it raised.
$session->query_value(<<'SQL');
CREATE FUNCTION try_exec(req jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	PERFORM exec_run(req);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	IF detail LIKE '{%' THEN
		RETURN detail::jsonb ->> 'code';
	END IF;
	RETURN SQLSTATE;
END $$
SQL

# The mix: name, request, expected outcome.
my @cases = (
	[ 'success', { kind => 'run_program_v1', program_path => ok_path() }, 'ok' ],
	[ 'echo', mix_request(['echo'], stdin_json => { a => [ 1, 'two' ] }), 'ok' ],
	[ 'grandchild', mix_request([ 'grandchild', '10000' ]), 'ok' ],
	[ 'invalid request', { kind => 'run_program_v0' }, 'exec_request_invalid' ],
	[ 'not allowed', { kind => 'run_program_v1', program_path => '/bin/true' },
		'exec_program_not_allowed' ],
	[ 'missing', { kind => 'run_program_v1', program_path => "$dir/bin/no-such" },
		'exec_program_missing' ],
	[ 'not executable',
		{ kind => 'run_program_v1', program_path => "$dir/bin/not-executable" },
		'exec_program_not_executable' ],
	[ 'stdin too large', mix_request(['drain'], stdin_json => 'x' x 2000),
		'exec_stdin_too_large' ],
	[ 'spawn failure', { kind => 'run_program_v1', program_path => "$dir/bin/garbage" },
		'exec_spawn_failed' ],
	[ 'timeout', mix_request([ 'sleep', '10000' ], timeout_ms => 5), 'exec_timeout' ],
	[ 'exit 3', mix_request([ 'exit', '3' ]), 'exec_failed' ],
	[ 'signal', mix_request([ 'kill', '9' ]), 'exec_failed' ],
	[ 'stdout too large', mix_request(['flood-out']), 'exec_stdout_too_large' ],
	[ 'stderr too large', mix_request(['flood-err']), 'exec_stderr_too_large' ],
	[ 'invalid JSON', mix_request([ 'print', 'not json' ]), 'exec_stdout_invalid_json' ],
);

$session->query_value(
	'CREATE TEMP TABLE mix (name text, req jsonb, expected text)');
$session->query_value('INSERT INTO mix VALUES '
	  . join(', ',
		map { '(' . sql_literal($_->[0]) . ', ' . sql_literal(encode_json_text($_->[1])) . ', '
			  . sql_literal($_->[2]) . ')' } @cases));

# run_mix ROUNDS -- every case ROUNDS times, interleaved; returns the
# cases whose outcome was not the expected one, and the number of calls.
sub run_mix
{
	my ($rounds) = @_;
	my $result = $session->query_value(<<"SQL");
SELECT count(*) || ' ' || coalesce(string_agg(DISTINCT name || ': ' || got, ', ')
	FILTER (WHERE got IS DISTINCT FROM expected), '')
FROM (SELECT name, expected, try_exec(req) AS got
	FROM generate_series(1, $rounds) round, mix
	ORDER BY round, name) calls
SQL
	my ($calls, $wrong) = split(/ /, $result, 2);
	return ($wrong, $calls);
}

# run_cancels N -- N calls ended by statement_timeout (57014, which an
# EXCEPTION block does not catch as OTHERS); returns how many ended so.
sub run_cancels
{
	my ($n) = @_;
	my $canceled = 0;
	$session->query_value("SET statement_timeout = '20ms'");
	for (1 .. $n)
	{
		my ($out, $err) =
		  $session->query(exec_sql(mix_request([ 'ignore-signals', 'sleep', '10000' ])));
		$canceled++ if (sqlstate_of($err) // '') eq '57014';
	}
	$session->query_value('RESET statement_timeout');
	return $canceled;
}

# backend_fds -- "fd -> target" of every fd the backend has open, but
# relation files: PostgreSQL opens and closes those itself as it reads
# the catalogs (its virtual file descriptors, bounded by
# max_files_per_process), and none of them is execjson's.  An epoll
# instance is "epoll -> ...", without its number: execjson's wait set is
# made anew now and then, and its fd may then have another number (one
# epoll fd more would still show).
sub backend_fds
{
	my $data_dir = $node->data_dir;
	opendir(my $dh, "/proc/$backend/fd") or die "cannot list /proc/$backend/fd: $!";
	my @fds = sort { $a <=> $b } grep { /^\d+$/ } readdir($dh);
	closedir($dh);
	my @open;
	for my $fd (@fds)
	{
		my $target = readlink("/proc/$backend/fd/$fd") // '?';
		next if $target =~ m{^\Q$data_dir\E/(base|global)/};
		push @open, ($target eq 'anon_inode:[eventpoll]' ? 'epoll' : $fd) . " -> $target";
	}
	return sort @open;
}

# backend_memory -- total bytes and number of the backend's memory
# contexts, once two readings in a row agree (the first reading after a
# different statement can still hold that statement's memory).
sub backend_memory
{
	return undef if $server_version < 140000;
	my $previous = '';
	for (1 .. 5)
	{
		my $reading = $session->query_value(
			'SELECT sum(total_bytes) || \' bytes in \' || count(*) || \' contexts\''
			  . ' FROM pg_backend_memory_contexts');
		return $reading if $reading eq $previous;
		$previous = $reading;
	}
	return $previous;
}

# backend_contexts -- "name/ident" => total bytes of each memory context
# (for a report when the totals differ).
sub backend_contexts
{
	return {} if $server_version < 140000;
	my %sizes;
	for my $line (split /\n/, $session->query_value(
		"SELECT name || '/' || coalesce(ident, '') || '|' || sum(total_bytes)"
		  . ' FROM pg_backend_memory_contexts GROUP BY name, ident'))
	{
		my ($context, $bytes) = split /\|/, $line;
		$sizes{$context} = $bytes;
	}
	return \%sizes;
}

# context_changes BEFORE -- the contexts whose size differs from BEFORE now.
sub context_changes
{
	my ($before) = @_;
	my $after = backend_contexts();
	my %names = map { $_ => 1 } keys %$before, keys %$after;
	return join("\n",
		map { "$_: " . ($before->{$_} // 'none') . ' -> ' . ($after->{$_} // 'none') }
		grep { ($before->{$_} // -1) != ($after->{$_} // -1) } sort keys %names);
}

# Warm up: load the library, compile try_exec, fill the caches.
my ($wrong, $calls) = run_mix(1);
is($wrong, '', 'warm-up: every case has the expected outcome');
run_cancels(2);

my @fds_before = backend_fds();
my $memory_before = backend_memory();
my $contexts_before = backend_contexts();

my $rounds = int(($CALLS - $CANCELS) / @cases) + 1;
my $t0 = now_s();
($wrong, $calls) = run_mix($rounds);
my $canceled = run_cancels($CANCELS);
diag(sprintf('%d calls and %d cancels in %s ms', $calls, $CANCELS, elapsed_ms($t0)));
is($wrong, '', "$calls calls: every case has the expected outcome");
is($canceled, $CANCELS, "$CANCELS calls ended by statement_timeout");

my @fds_after = backend_fds();
my $memory_after = backend_memory();
diag("backend fds before: " . scalar(@fds_before) . ', after: ' . scalar(@fds_after));
diag("backend memory before: $memory_before; after: $memory_after")
  if defined $memory_before;
is_deeply(\@fds_after, \@fds_before,
	'the backend has the same fds open after the calls');
SKIP:
{
	skip 'pg_backend_memory_contexts appeared in PostgreSQL 14', 1
	  unless defined $memory_before;
	is($memory_after, $memory_before,
		'the backend has the same memory after the calls')
	  or diag("contexts that changed:\n" . context_changes($contexts_before));
}
assert_no_leftovers($node, $TAG, 'after the calls');

$session->quit;
$node->stop;
done_testing();
