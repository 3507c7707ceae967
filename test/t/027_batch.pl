# 027_batch.pl -- exec_run_many and exec_try_many, process side.
#
# Every guarantee of a single call holds for each program of a batch: at
# most max_parallel programs run at once, and no more busy on CPU than
# the machine has CPUs; query cancel, statement_timeout,
# the first failure of exec_run_many, pg_terminate_backend and a SIGKILL of
# the backend kill every program still running (and what they forked), with
# no survivor and no zombie; a batch whose programs ignore SIGTERM and leave
# a grandchild holding stdout returns when the programs exit; the backend
# keeps the same fds and memory over 100 batches; one audit line per
# program, with its position; the wait event while the batch waits.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('batch', "restart_after_crash = on\nlog_statement = none");
my $victim = ExecJsonTest::Session->new($node);
my $control = ExecJsonTest::Session->new($node);
my $server_version = $control->query_value('SHOW server_version_num');

# batch_sql FUNCTION, REQUESTS, [MAX_PARALLEL] -- "SELECT ... FROM
# FUNCTION(ARRAY[...]::jsonb[], MAX_PARALLEL)"; undef is a NULL element.
sub batch_sql
{
	my ($function, $requests, $max_parallel) = @_;
	return "SELECT position, result FROM $function(ARRAY["
	  . join(', ', map { defined $_ ? sql_literal(encode_json_text($_)) : 'NULL' } @$requests)
	  . ']::jsonb[]'
	  . (defined $max_parallel ? ", $max_parallel" : '') . ')';
}

# sleepers TAG, N, @EXTRA -- N requests for programs that sleep a minute
# (after the xjtool commands @EXTRA), tagged TAG.
sub sleepers
{
	my ($tag, $n, @extra) = @_;
	return [ map { xj_request([ 'tag', $tag, @extra, 'sleep', '60000' ], timeout_ms => 120000) }
		  1 .. $n ];
}

# running_children TAG -- the tagged processes that are children of the
# victim's backend (the programs, not what they forked).
sub running_children
{
	my ($tag) = @_;
	return grep { my $st = proc_stat($_); $st && $st->{ppid} == $victim->backend_pid }
	  tagged_pids($tag);
}

# check_stopped NAME, TAG, MARK, REASON_RE -- the batch ended with 57014
# and REASON_RE, every program (and grandchild) is gone, no zombie, the
# session runs a batch again.
sub check_stopped
{
	my ($name, $tag, $mark, $reason_re) = @_;
	my ($out, $err) = $victim->finish_mark($mark, 30);
	is(sqlstate_of($err), '57014', "$name: the statement fails with 57014");
	like($err, $reason_re, "$name: PostgreSQL's own message");
	is(scalar(running_children($tag)), 0,
		"$name: every program was reaped before the error reached the client");
	assert_no_leftovers($node, $tag, $name);
	is( $victim->query_value(
			batch_sql('exec_run_many',
				[ { kind => 'run_program_v1', program_path => ok_path() } ])),
		'1|{"ok": true}',
		"$name: the session runs a batch again");
}

# --- at most max_parallel at once; the wait event; cancel

{
	my $name = 'cancel mid-batch';
	my $tag = unique_tag('batchcancel');
	my $mark = $victim->start_query(
		batch_sql('exec_try_many', sleepers($tag, 10, 'ignore-signals'), 16));
	my @pids = wait_until_tagged($tag, 4, 30);
	is(scalar(@pids), 4, "$name: max_parallel 16 is capped to execjson.max_parallel (4)");
	# a moment more: no fifth program starts while four run
	Time::HiRes::sleep(0.3);
	my @now = tagged_pids($tag);
	is(scalar(@now), 4, "$name: still 4 programs, no more");
	is( $control->query_value(
			'SELECT wait_event_type || \'/\' || wait_event FROM pg_stat_activity WHERE pid = '
			  . $victim->backend_pid),
		$server_version >= 170000 ? 'Extension/ExecJsonProgram' : 'Extension/Extension',
		"$name: the backend waits on the execjson wait event");
	$control->query_value('SELECT pg_cancel_backend(' . $victim->backend_pid . ')');
	ok($victim->wait_for('err', qr/ERROR/, $HANG_SECS), "$name: the error comes within $HANG_SECS s");
	check_stopped($name, $tag, $mark, qr/canceling statement due to user request/);
}

# --- no more programs on CPU than the backend has CPUs

{
	my $name = 'CPU-bound programs';
	my $tag = unique_tag('batchcpu');
	chomp(my $cpus = `nproc`);
	my $n = $cpus + 4;
  SKIP:
	{
		skip "$name: $cpus CPUs leave no room under the 64 slots", 4 if $n > 64;
		$victim->query_value("SET execjson.max_parallel = $n");
		# Each burns CPU until its timeout: a batch of n at max_parallel n.
		my $requests = [ map { xj_request([ 'tag', $tag, 'burn' ], timeout_ms => 700) } 1 .. $n ];
		my $mark = $victim->start_query(
			'SELECT count(*) FILTER (WHERE result->\'error\'->>\'code\' = \'exec_timeout\') FROM ('
			  . batch_sql('exec_try_many', $requests, $n) . ') b');
		my @first = wait_until_tagged($tag, 1, 30);
		ok(scalar(@first) >= 1, "$name: the batch started");
		# Look at the count for a while: every program burns all along.
		my $most = 0;
		for (1 .. 40)
		{
			my @now = tagged_pids($tag);
			$most = scalar(@now) if @now > $most;
			Time::HiRes::sleep(0.01);
		}
		cmp_ok($most, '<=', $cpus,
			"$name: no more programs run than the $cpus CPUs (most seen: $most of max_parallel $n)");
		my ($out) = $victim->finish_mark($mark, 60);
		$out =~ s/\s+//g;
		is($out, $n, "$name: every program ran, until its timeout");
		assert_no_leftovers($node, $tag, $name);
		$victim->query_value('RESET execjson.max_parallel');
	}
}

{
	my $name = 'cancel of a batch whose programs hold stdout through grandchildren';
	my $tag = unique_tag('batchcancelgc');
	my $mark = $victim->start_query(
		batch_sql('exec_run_many',
			sleepers($tag, 3, 'ignore-signals', 'grandchild', '60000'), 3));
	my @pids = wait_until_tagged($tag, 6, 30);
	is(scalar(@pids), 6, "$name: three programs and their grandchildren run");
	$control->query_value('SELECT pg_cancel_backend(' . $victim->backend_pid . ')');
	check_stopped($name, $tag, $mark, qr/canceling statement due to user request/);
}

# --- statement_timeout

{
	my $name = 'statement_timeout mid-batch';
	my $tag = unique_tag('batchstmt');
	$victim->query_value("SET statement_timeout = '500ms'");
	my $mark = $victim->start_query(
		batch_sql('exec_try_many', sleepers($tag, 6, 'ignore-signals'), 3));
	ok($victim->wait_for('err', qr/ERROR/, $HANG_SECS), "$name: the error comes within $HANG_SECS s");
	check_stopped($name, $tag, $mark, qr/canceling statement due to statement timeout/);
	$victim->query_value('RESET statement_timeout');
}

# --- the first failure of exec_run_many kills the others

{
	my $name = 'first failure of exec_run_many';
	my $tag = unique_tag('batchfail');
	my $requests = sleepers($tag, 3, 'ignore-signals', 'grandchild', '60000');
	push @$requests, xj_request([ 'tag', $tag, 'sleep', '300', 'exit', '3' ]);
	my ($out, $err, $elapsed) = $victim->timed_query(batch_sql('exec_run_many', $requests, 4), 60);
	diag("$name: error after $elapsed ms");
	my $detail = error_detail_of($err);
	is($detail && $detail->{code}, 'exec_failed', "$name: exec_failed");
	is($detail && $detail->{details}{position}, 4, "$name: with the failing position");
	is($detail && $detail->{details}{exit_code}, 3, "$name: and exec_run's details");
	cmp_ok($elapsed, '<', $HANG_SECS * 1000, "$name: does not wait for the others");
	is(scalar(running_children($tag)), 0, "$name: every program was reaped before the error came");
	assert_no_leftovers($node, $tag, $name);
}

# --- programs that ignore SIGTERM and hold stdout through a grandchild

{
	my $name = 'programs ignoring SIGTERM, grandchildren holding stdout';
	my $tag = unique_tag('batchgc');
	my @requests =
	  map { xj_request([ 'tag', $tag, 'ignore-signals', 'grandchild', '60000' ], timeout_ms => 60000) }
	  1 .. 6;
	my ($out, $err, $elapsed) = $victim->timed_query(batch_sql('exec_run_many', \@requests, 3), 90);
	diag("$name: batch returned after $elapsed ms");
	is($err, '', "$name: no error");
	my @rows = split /\n/, $out;
	is(scalar(@rows), 6, "$name: six rows");
	is(scalar(grep { /^\d+\|\{"grandchild": \d+\}$/ } @rows), 6, "$name: each program's stdout");
	cmp_ok($elapsed, '<', $HANG_SECS * 1000,
		"$name: returns when the programs exit, not when their pipes close");
	assert_no_leftovers($node, $tag, $name);
}

# --- audit lines

{
	my $name = 'audit log';
	my $tag = unique_tag('batchaudit');
	my $offset = -s $node->logfile;
	$victim->query_value('SET execjson.log_executions = on');
	my ($out, $err) = $victim->query(
		batch_sql('exec_try_many',
			[ xj_request([ 'tag', $tag, 'print', '1' ]), undef, xj_request([ 'tag', $tag, 'exit', '3' ]),
				{ kind => 'nope' } ],
			2));
	$victim->query_value('RESET execjson.log_executions');
	my @lines;
	for my $line (split /\n/, substr(slurp_file($node->logfile), $offset))
	{
		push @lines, decode_json_text($1) if $line =~ /LOG:\s+execjson call: (\{.*\})\s*$/;
	}
	is( join(', ', map { "$_->{position}:$_->{outcome}" } sort { $a->{position} <=> $b->{position} } @lines),
		'1:ok, 3:exec_failed, 4:exec_request_invalid',
		"$name: one line per program (none for a NULL element), each with its position");
}

# --- pg_terminate_backend mid-batch (FATAL: the exit callback)

{
	my $name = 'pg_terminate_backend mid-batch';
	my $session = ExecJsonTest::Session->new($node);
	my $tag = unique_tag('batchterm');
	# grandchildren: PR_SET_PDEATHSIG alone would kill the programs, not them
	$session->start_query(batch_sql('exec_try_many',
			sleepers($tag, 5, 'ignore-signals', 'grandchild', '60000'), 4));
	is(scalar(wait_until_tagged($tag, 8, 30)), 8, "$name: four programs and their grandchildren run");
	$control->query_value('SELECT pg_terminate_backend(' . $session->backend_pid . ')');
	ok($session->wait_exit($HANG_SECS), "$name: the session ends");
	assert_no_leftovers($node, $tag, $name);
}

# --- fds and memory over 100 batches

{
	my $name = '100 batches';
	my $session = ExecJsonTest::Session->new($node);
	my $backend = $session->backend_pid;
	my $tag = unique_tag('batchhygiene');
	my $dir = test_dir();
	$session->query_value('SET execjson.max_stdout_bytes = 1000');
	my @mix = (
		{ kind => 'run_program_v1', program_path => ok_path() },
		xj_request([ 'tag', $tag, 'echo' ], stdin_json => { a => [ 1, 'two' ] }),
		xj_request([ 'tag', $tag, 'grandchild', '10000' ]),
		{ kind => 'run_program_v0' },
		{ kind => 'run_program_v1', program_path => "$dir/bin/garbage" },
		xj_request([ 'tag', $tag, 'sleep', '10000' ], timeout_ms => 5),
		xj_request([ 'tag', $tag, 'exit', '3' ]),
		xj_request([ 'tag', $tag, 'flood-out' ]),
		xj_request([ 'tag', $tag, 'print', 'not json' ]),
		undef,
	);
	my $try = batch_sql('exec_try_many', \@mix, 4);
	my $run = batch_sql('exec_run_many', [ @mix[ 0 .. 2 ], xj_request([ 'tag', $tag, 'exit', '3' ]) ], 3);
	my $fds = sub {
		opendir(my $dh, "/proc/$backend/fd") or die "cannot list fds: $!";
		my $data_dir = $node->data_dir;
		# an epoll fd without its number: the wait set is made anew now
		# and then (as in 009_backend_hygiene.pl)
		my @open = sort map {
			my $target = readlink("/proc/$backend/fd/$_") // '?';
			($target eq 'anon_inode:[eventpoll]' ? 'epoll' : $_) . " -> $target"
		} grep { /^\d+$/ } readdir($dh);
		closedir($dh);
		return [ grep { !m{-> \Q$data_dir\E/(base|global)/} } @open ];
	};
	my $memory = sub {
		return '' if $server_version < 140000;
		my $previous = '';
		for (1 .. 5)
		{
			my $reading = $session->query_value(
				'SELECT sum(total_bytes) || \' bytes in \' || count(*) || \' contexts\' FROM pg_backend_memory_contexts');
			return $reading if $reading eq $previous;
			$previous = $reading;
		}
		return $previous;
	};
	my $one_round = sub {
		my ($out, $err) = $session->query($try);
		my $ok = $err eq '' && scalar(split /\n/, $out) == 10;
		diag("exec_try_many round: stdout $out, stderr $err") unless $ok;
		($out, $err) = $session->query($run);
		my $code = error_code_of($err) // '';
		diag("exec_run_many round: stderr $err") unless $code eq 'exec_failed';
		return $ok && $code eq 'exec_failed';
	};
	# warm up: load the library, make the backend's wait set, fill caches
	$one_round->() for 1 .. 2;
	$session->query("SET statement_timeout = '50ms'");
	$session->query(batch_sql('exec_try_many', sleepers($tag, 3, 'ignore-signals'), 3));
	$session->query('RESET statement_timeout');
	my $fds_before = $fds->();
	my $memory_before = $memory->();
	my $good = 0;
	for my $i (1 .. 100)
	{
		$good++ if $one_round->();
		if ($i % 20 == 0)
		{
			$session->query("SET statement_timeout = '50ms'");
			$session->query(batch_sql('exec_try_many', sleepers($tag, 3, 'ignore-signals'), 3));
			$session->query('RESET statement_timeout');
		}
	}
	is($good, 100, "$name: every batch had the expected outcome");
	is_deeply($fds->(), $fds_before, "$name: the backend has the same fds open");
	$session->query($try);
	is(join(', ', grep { m{-> \Q$dir\E/bin/} } @{ $fds->() }), '',
		"$name: no program file stays open after a batch");
	SKIP:
	{
		skip 'pg_backend_memory_contexts appeared in PostgreSQL 14', 1 if $server_version < 140000;
		is($memory->(), $memory_before, "$name: the backend has the same memory");
	}
	assert_no_leftovers($node, $tag, $name);
	$session->quit;
}

# --- few fds: the wait set is made anew while many programs run

# The backend's wait set is made anew about every 170 programs, in the
# middle of a batch, while up to max_parallel programs hold 3-4 fds each.
# CreateWaitEventSet() refuses once a third of max_safe_fds are taken by
# such fds: the running programs' fds must not count against the new set,
# which only replaces the old one; and a set that cannot be made must
# leave the old one, so that the programs running are still waited for.
{
	my $name = 'wait set made anew with few fds';
	my $fdnode = start_node('batchfds', "max_files_per_process = 70");
	my $session = ExecJsonTest::Session->new($fdnode);
	my $tag = unique_tag('batchfds');
	my $pid = $session->backend_pid;
	$session->query('SET execjson.max_parallel = 16');
	my $reqs = [ map { xj_request([ 'tag', $tag, 'sleep', '100', 'print', '{}' ], timeout_ms => 30000) }
		  1 .. 300 ];
	my ($out, $err) = $session->query(
		'SELECT count(*) FILTER (WHERE b.result = \'{"ok": true, "value": {}}\') || \'/\' || count(*) FROM ('
		  . batch_sql('exec_try_many', $reqs, 16) . ') b', 60);
	chomp $out;
	is($out, '300/300', "$name: every program ran and was collected");
	is($err, '', "$name: no error");
	($out) = $session->query('SELECT pg_backend_pid()');
	chomp $out;
	is($out, $pid, "$name: the same backend");
	assert_no_leftovers($fdnode, $tag, $name);
	$session->quit;
	$fdnode->stop;
}

# --- SIGKILL of the backend mid-batch

{
	my $name = 'SIGKILL of the backend mid-batch';
	my $session = ExecJsonTest::Session->new($node);
	my $tag = unique_tag('batchsigkill');
	$session->start_query(batch_sql('exec_try_many', sleepers($tag, 6, 'ignore-signals'), 4));
	is(scalar(wait_until_tagged($tag, 4, 30)), 4, "$name: four programs run");
	ok(kill('KILL', $session->backend_pid), "$name: SIGKILL the backend");
	my @alive = wait_tagged_gone($tag, 2);
	is("@alive", '', "$name: every program is gone within 2 s");
	ok($node->poll_query_until('postgres', 'SELECT true'), "$name: the cluster recovers");
	$session->wait_exit($HANG_SECS);
	$victim->wait_exit($HANG_SECS);
	$control->wait_exit($HANG_SECS);
	assert_no_leftovers($node, $tag, $name);
}

$node->stop;
done_testing();
