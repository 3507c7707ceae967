# 028_stats.pl -- pg_stat_execjson at the process level: counts under
# concurrency, the child's CPU time, cancel / statement_timeout /
# termination, eviction at execjson.stats_max, the stats file across a
# clean restart (and not across a crash), the upgrade from 1.1, and the
# error without shared_preload_libraries.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use File::Copy ();
use IPC::Run ();
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('stats',
	"max_connections = 20\nlog_statement = none\nrestart_after_crash = on");
my $xjtool = xjtool_path();
my $ok = ok_path();

# row PATH -- the superuser's view of PATH's row as a hash (undef if none).
sub row
{
	my ($path) = @_;
	my $out = $node->safe_psql('postgres', qq{
		SELECT coalesce(sum(calls), 0), coalesce(sum(errors), 0), coalesce(sum(cancels), 0),
		       coalesce(sum(user_cpu_time), 0), coalesce(sum(system_cpu_time), 0),
		       coalesce(max(max_rss_kb), 0), coalesce(max(stats_since)::text, ''), count(*),
		       coalesce(max(errors_by_code::text), ''), coalesce(sum(total_exec_time), 0)
		FROM pg_stat_execjson WHERE program_path = '$path'});
	my @f = split /\|/, $out;
	return undef unless $f[7];
	return {
		calls => $f[0], errors => $f[1], cancels => $f[2], user_cpu => $f[3],
		system_cpu => $f[4], max_rss_kb => $f[5], stats_since => $f[6],
		errors_by_code => $f[8], total_exec_time => $f[9],
	};
}

sub reset_stats { $node->safe_psql('postgres', 'SELECT pg_stat_execjson_reset()'); }

# ---------------------------------------------------------------------
# 8 sessions at once: every call counted once

{
	reset_stats();
	my ($clients, $per_client) = (8, 40);
	my $script = $node->basedir . '/stats.sql';
	append_to_file($script, <<"SQL");
SELECT exec_run(jsonb_build_object('kind', 'run_program_v1', 'program_path', '$ok'));
SELECT exec_try(jsonb_build_object('kind', 'run_program_v1', 'program_path', '$xjtool',
	'argv', jsonb_build_array('exit', '3')));
SQL
	my ($out, $err) = ('', '');
	my $status = IPC::Run::run(
		[
			'pgbench', '-n', '-c', $clients, '-j', 2, '-t', $per_client,
			'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
	my $total = $clients * $per_client;
	ok($status, 'concurrent: pgbench exits 0') or diag($err);
	like($out, qr/actually processed: $total\/$total/, "concurrent: $total transactions");
	my $okrow = row($ok);
	my $xjrow = row($xjtool);
	is($okrow->{calls}, $total, "concurrent: $total calls of ok counted");
	is($okrow->{errors}, 0, 'concurrent: no error of ok');
	is($xjrow->{calls}, $total, "concurrent: $total calls of the failing program counted");
	is($xjrow->{errors}, $total, 'concurrent: each of them an error');
	is($xjrow->{errors_by_code}, qq({"exec_failed": $total}), 'concurrent: by code');
}

# ---------------------------------------------------------------------
# The child's CPU time and peak RSS: in the view and in the audit line

{
	reset_stats();
	my $offset = -s $node->logfile;
	my $answer = $node->safe_psql('postgres',
		'SET execjson.log_executions = on; '
		  . exec_sql(xj_request([ 'spin', '400' ])));
	my ($cpu_us) = $answer =~ /"cpu_us": (\d+)/;
	ok($cpu_us && $cpu_us >= 400000, "cpu: the program burned ${\ ($cpu_us // 0)} us");
	my $r = row($xjtool);
	my $seen_ms = $r->{user_cpu} + $r->{system_cpu};
	my $burned_ms = ($cpu_us // 0) / 1000;
	diag("cpu: program says $burned_ms ms, pg_stat_execjson $seen_ms ms");
	ok(abs($seen_ms - $burned_ms) <= 0.2 * $burned_ms,
		'cpu: user + system CPU time within 20 % of what the program burned');
	ok($r->{user_cpu} > $r->{system_cpu}, 'cpu: a busy loop is user time');

	my $line;
	for (1 .. 200)
	{
		my $log = substr(slurp_file($node->logfile), $offset);
		($line) = $log =~ /execjson call: (\{[^\n]*\})/;
		last if $line;
		Time::HiRes::sleep(0.01);
	}
	my $l = decode_json_text($line // '{}');
	my $line_ms = (($l->{user_cpu_us} // 0) + ($l->{system_cpu_us} // 0)) / 1000;
	ok(abs($line_ms - $burned_ms) <= 0.2 * $burned_ms,
		"cpu: the audit line's CPU time ($line_ms ms) within 20 %");
	ok(($l->{max_rss_kb} // 0) > 0, 'cpu: the audit line has the peak RSS');

	$node->safe_psql('postgres', exec_sql(xj_request([ 'alloc', '64' ])));
	$r = row($xjtool);
	ok($r->{max_rss_kb} >= 64 * 1024,
		"rss: the peak RSS ($r->{max_rss_kb} kB) holds the 64 MB the program touched");
}

# ---------------------------------------------------------------------
# Cancel, statement_timeout and termination are counted as cancels

{
	reset_stats();
	my $control = ExecJsonTest::Session->new($node);

	my $tag = unique_tag('stats-cancel');
	my $s = ExecJsonTest::Session->new($node);
	my $mark = $s->start_query(exec_sql(xj_request([ 'tag', $tag, 'sleep', '60000' ])));
	ok(scalar(wait_until_tagged($tag, 1, 30)), 'cancel: the program runs');
	$control->query_value('SELECT pg_cancel_backend(' . $s->backend_pid . ')');
	my (undef, $err) = $s->finish_mark($mark, $HANG_SECS);
	like($err, qr/57014/, 'cancel: the call is cancelled');

	($err) = ($s->query("SET statement_timeout = '300ms'; "
		  . exec_sql(xj_request([ 'sleep', '60000' ]))))[1];
	like($err, qr/57014/, 'statement_timeout: the call is cancelled');
	$s->quit;

	my $r = row($xjtool);
	is($r->{calls}, 2, 'cancel, statement_timeout: two calls');
	is($r->{cancels}, 2, 'cancel, statement_timeout: two cancels');
	is($r->{errors}, 0, 'cancel, statement_timeout: not errors');

	$tag = unique_tag('stats-terminate');
	my $victim = ExecJsonTest::Session->new($node);
	# The session's first call is not counted (stats_track off): the
	# termination of a later one must still be counted after the reap.
	$victim->query_value('SET execjson.stats_track = off; '
		  . exec_sql({ kind => 'run_program_v1', program_path => $ok })
		  . '; RESET execjson.stats_track');
	$victim->start_query(exec_sql(xj_request([ 'tag', $tag, 'spin', '60000' ])));
	ok(scalar(wait_until_tagged($tag, 1, 30)), 'terminate: the program runs');
	Time::HiRes::sleep(0.5);
	$control->query_value('SELECT pg_terminate_backend(' . $victim->backend_pid . ')');
	ok($victim->wait_exit($HANG_SECS), 'terminate: the session ends');
	# The backend records the call in its exit callback: wait for it.
	for (1 .. 500)
	{
		$r = row($xjtool);
		last if $r->{calls} == 3;
		Time::HiRes::sleep(0.01);
	}
	is($r->{calls}, 3, 'terminate: the call is counted');
	is($r->{cancels}, 3, 'terminate: as a cancel');
	is($r->{errors}, 0, 'terminate: not as an error');
	ok($r->{user_cpu} >= 50, "terminate: the killed program's CPU time is counted ($r->{user_cpu} ms)");
	assert_no_leftovers($node, $tag, 'terminate');

	# The same for a batch, in a session whose first call was a batch: each
	# running program is counted as cancelled, with the CPU it burned.
	$tag = unique_tag('stats-terminate-batch');
	$victim = ExecJsonTest::Session->new($node);
	$victim->query('SELECT count(*) FROM exec_try_many(ARRAY['
		  . sql_literal(encode_json_text({ kind => 'run_program_v1', program_path => $ok }))
		  . '::jsonb])');
	my $spin = sql_literal(encode_json_text(xj_request([ 'tag', $tag, 'spin', '60000' ])));
	my $before = row($xjtool);
	$victim->start_query("SELECT count(*) FROM exec_try_many(ARRAY[$spin, $spin]::jsonb[], 2)");
	ok(scalar(wait_until_tagged($tag, 2, 30)), 'terminate mid-batch: both programs run');
	Time::HiRes::sleep(0.5);
	$control->query_value('SELECT pg_terminate_backend(' . $victim->backend_pid . ')');
	ok($victim->wait_exit($HANG_SECS), 'terminate mid-batch: the session ends');
	for (1 .. 500)
	{
		$r = row($xjtool);
		last if $r->{calls} == $before->{calls} + 2;
		Time::HiRes::sleep(0.01);
	}
	is($r->{calls} - $before->{calls}, 2, 'terminate mid-batch: both programs are counted');
	is($r->{cancels} - $before->{cancels}, 2, 'terminate mid-batch: as cancels');
	ok($r->{user_cpu} - $before->{user_cpu} >= 100,
		sprintf("terminate mid-batch: their CPU time is counted (%.0f ms)", $r->{user_cpu} - $before->{user_cpu}));
	assert_no_leftovers($node, $tag, 'terminate mid-batch');
	$control->quit;
}

# ---------------------------------------------------------------------
# The stats file: kept across a clean restart, not across a crash

{
	reset_stats();
	$node->safe_psql('postgres', exec_sql({ kind => 'run_program_v1', program_path => $ok }))
	  for 1 .. 3;
	my $before = row($ok);
	my $info_before = $node->safe_psql('postgres',
		'SELECT dealloc, stats_reset FROM pg_stat_execjson_info');
	$node->restart;
	my $after = row($ok);
	is($after->{calls}, 3, 'clean restart: the calls are kept');
	is($after->{stats_since}, $before->{stats_since}, 'clean restart: stats_since is kept');
	is($after->{total_exec_time}, $before->{total_exec_time}, 'clean restart: the times are kept');
	is($node->safe_psql('postgres', 'SELECT dealloc, stats_reset FROM pg_stat_execjson_info'),
		$info_before, 'clean restart: pg_stat_execjson_info is kept');
	ok(!-e $node->data_dir . '/pg_stat/execjson.stat',
		'clean restart: the file is removed once read');

	# A crash (a backend killed): the server reinitializes shared memory,
	# and the counters, possibly inconsistent, are discarded.
	my $s = ExecJsonTest::Session->new($node);
	my $pid = $s->backend_pid;
	kill 'KILL', $pid;
	$s->wait_exit($HANG_SECS);
	$node->poll_query_until('postgres', 'SELECT true')
	  or die 'the server did not come back after the crash';
	is(row($ok), undef, 'crash restart: the counters are gone');

	# An immediate shutdown (a crash for the data, but the postmaster exits
	# normally): as pg_stat_statements, the counters are written and kept.
	$node->safe_psql('postgres', exec_sql({ kind => 'run_program_v1', program_path => $ok }));
	$node->stop('immediate');
	$node->start;
	my $imm = row($ok);
	is($imm ? $imm->{calls} : 0, 1, 'immediate shutdown: the counters are kept, as pg_stat_statements keeps them');
}

# ---------------------------------------------------------------------
# The upgrade from 1.1 creates the views; the counters are the server's

{
	$node->safe_psql('postgres', q{
		DROP EXTENSION execjson;
		CREATE EXTENSION execjson VERSION '1.1';
	});
	is($node->safe_psql('postgres', q{SELECT to_regclass('pg_stat_execjson') IS NULL}),
		't', 'upgrade: no view in 1.1');
	$node->safe_psql('postgres', 'ALTER EXTENSION execjson UPDATE');
	is($node->safe_psql('postgres',
			qq{SELECT calls FROM pg_stat_execjson WHERE program_path = '$ok'}),
		'1', 'upgrade: after ALTER EXTENSION UPDATE the view shows the counters');
	is($node->safe_psql('postgres', 'SELECT dealloc FROM pg_stat_execjson_info'),
		'0', 'upgrade: pg_stat_execjson_info exists');
}

$node->stop;

# ---------------------------------------------------------------------
# Eviction at execjson.stats_max

{
	my $bindir = PostgreSQL::Test::Utils::tempdir('stats_bin');
	chmod 0755, $bindir;
	for my $i (0 .. 14)
	{
		File::Copy::copy($ok, "$bindir/ok$i") or die "copy: $!";
		chmod 0755, "$bindir/ok$i";
	}
	my $small = PostgreSQL::Test::Cluster->new('stats_small');
	$small->init;
	$small->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'execjson'",
		"execjson.allow_prefixes = '$bindir'",
		'execjson.stats_max = 10',
		'log_statement = none'));
	$small->start;
	$small->safe_psql('postgres', 'CREATE EXTENSION execjson');
	my $call = sub {
		my ($i) = @_;
		return exec_sql({ kind => 'run_program_v1', program_path => "$bindir/ok$i" });
	};
	$small->safe_psql('postgres', join(";\n", map { $call->(0) } 1 .. 20));
	$small->safe_psql('postgres', join(";\n", map { $call->($_) } 1 .. 9));
	is($small->safe_psql('postgres', 'SELECT count(*), sum(calls) FROM pg_stat_execjson'),
		'10|29', 'eviction: 10 rows, the table is full');
	is($small->safe_psql('postgres', 'SELECT dealloc FROM pg_stat_execjson_info'),
		'0', 'eviction: nothing evicted yet');
	$small->safe_psql('postgres', join(";\n", map { $call->($_) } 10 .. 14));
	is($small->safe_psql('postgres', 'SELECT count(*) <= 10 FROM pg_stat_execjson'),
		't', 'eviction: never more than stats_max rows');
	is($small->safe_psql('postgres', 'SELECT dealloc >= 1 FROM pg_stat_execjson_info'),
		't', 'eviction: counted in pg_stat_execjson_info');
	is($small->safe_psql('postgres',
			"SELECT calls FROM pg_stat_execjson WHERE program_path = '$bindir/ok0'"),
		'20', 'eviction: the most used row stays');
	is($small->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_execjson WHERE program_path = '$bindir/ok14'"),
		'1', 'eviction: the newest row is there');
	$small->stop;
}

# ---------------------------------------------------------------------
# Without shared_preload_libraries: a clear error with a HINT

{
	my $plain = PostgreSQL::Test::Cluster->new('stats_nopreload');
	$plain->init;
	$plain->start;
	$plain->safe_psql('postgres', 'CREATE EXTENSION execjson');
	for my $sql ('SELECT * FROM pg_stat_execjson', 'SELECT * FROM pg_stat_execjson_info',
		'SELECT pg_stat_execjson_reset()')
	{
		my ($ret, $out, $err) = $plain->psql('postgres', $sql,
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
		like($err, qr/55000: execjson must be loaded at server start/,
			"no preload: $sql raises exec_not_preloaded");
		like($err, qr/HINT:\s+Add execjson to shared_preload_libraries/,
			"no preload: $sql says what to add");
	}
	$plain->stop;
}

done_testing();
