# ExecJsonTest -- helpers shared by execjson's TAP tests (test/t/*.pl).
#
# The test files load this module with
#
#   use FindBin;
#   use lib $FindBin::RealBin;
#   use ExecJsonTest;
#
# so no PROVE_FLAGS are needed.  It knows:
#
#   - how to start a cluster that runs the test programs
#     (start_node), how to write a request (xj_request, exec_sql);
#   - how to find what a call left behind: processes carrying a tag
#     (xjtool's "tag WORD" command) and zombie children of the node's
#     postgres processes (assert_no_leftovers and friends);
#   - a psql session kept open in the background (ExecJsonTest::Session),
#     for cancels, terminations and before/after measurements.

package ExecJsonTest;

use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(
  test_dir xjtool_path ok_path start_node unique_tag
  xj_request sql_literal exec_sql exec_sql_with_stdin decode_json_text encode_json_text
  tagged_pids wait_until_tagged wait_tagged_gone proc_stat child_of
  node_postgres_pids zombie_children wait_no_zombies assert_no_leftovers
  error_detail_of error_code_of sqlstate_of now_s elapsed_ms $HANG_SECS
);

# The generous bound that catches a hang; never a performance assertion.
our $HANG_SECS = 5;

# Perl strings in the tests are characters; JSON text on the wire is UTF-8.
my $json = JSON::PP->new->utf8->canonical(1);

# test_dir -- where install-test-programs put the programs.
sub test_dir
{
	return $ENV{EXECJSON_TEST_DIR} || '/tmp/execjson-test';
}

sub xjtool_path { return test_dir() . '/bin/xjtool'; }
sub ok_path     { return test_dir() . '/bin/ok'; }

# start_node NAME, [CONF_LINES] -- a running cluster with the extension
# created and the test programs allowed.
sub start_node
{
	my ($name, $conf) = @_;
	my $dir = test_dir();

	BAIL_OUT("test programs not found in $dir/bin (make install-test-programs)")
	  unless -x xjtool_path() && -x ok_path();

	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'execjson'\n"
		  . "execjson.allow_prefixes = '$dir/bin'");
	$node->append_conf('postgresql.conf', $conf) if defined $conf;
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION execjson');
	return $node;
}

# unique_tag PREFIX -- a word no other process on the machine carries.
my $tag_counter = 0;

sub unique_tag
{
	my ($prefix) = @_;
	$tag_counter++;
	return sprintf('xjtag-%s-%d-%d-%d', $prefix, $$, time, $tag_counter);
}

sub encode_json_text { return $json->encode($_[0]); }
sub decode_json_text { return $json->decode($_[0]); }

# xj_request ARGV_ARRAYREF, %FIELDS -- a run_program_v1 request for xjtool
# (argv entries are sent as strings even when they are Perl numbers).
sub xj_request
{
	my ($argv, %fields) = @_;
	return {
		kind => 'run_program_v1',
		program_path => xjtool_path(),
		argv => [ map { "$_" } @$argv ],
		%fields,
	};
}

# sql_literal TEXT -- TEXT as an SQL string literal.
sub sql_literal
{
	my ($text) = @_;
	$text =~ s/'/''/g;
	return "'$text'";
}

# exec_sql REQUEST -- "SELECT exec_run('...'::jsonb)".
sub exec_sql
{
	my ($request) = @_;
	return 'SELECT exec_run('
	  . sql_literal(encode_json_text($request))
	  . '::jsonb)';
}

# exec_sql_with_stdin REQUEST, STDIN_SQL -- like exec_sql, with the SQL
# expression STDIN_SQL as stdin_json (large inputs are built by the server,
# not sent through psql).
sub exec_sql_with_stdin
{
	my ($request, $stdin_sql) = @_;
	return 'SELECT exec_run('
	  . sql_literal(encode_json_text($request))
	  . "::jsonb || jsonb_build_object('stdin_json', $stdin_sql))";
}

# error_detail_of STDERR -- the parsed JSON of the DETAIL line psql
# printed, or undef.
sub error_detail_of
{
	my ($stderr) = @_;
	return undef unless defined $stderr;
	my ($detail) = $stderr =~ /^DETAIL:\s+(\{.*\})\s*$/m;
	return undef unless defined $detail;
	return eval { decode_json_text($detail) };
}

# error_code_of STDERR -- the "code" of the execjson error psql printed
# (the JSON of its DETAIL line), or undef.
sub error_code_of
{
	my ($stderr) = @_;
	my $parsed = error_detail_of($stderr);
	return $parsed ? $parsed->{code} : undef;
}

# sqlstate_of STDERR -- the SQLSTATE of the error psql printed with
# VERBOSITY verbose ("ERROR:  57014: ..."), or undef.
sub sqlstate_of
{
	my ($stderr) = @_;
	return undef unless defined $stderr;
	my ($state) = $stderr =~ /^(?:psql:[^\n]*?)?ERROR:\s+([0-9A-Z]{5}):/m;
	return $state;
}

sub now_s { return Time::HiRes::time(); }

sub elapsed_ms
{
	my ($t0, $t1) = @_;
	$t1 = now_s() unless defined $t1;
	return sprintf('%.1f', ($t1 - $t0) * 1000);
}

# ---------------------------------------------------------------------
# Processes

# read_proc_file PATH -- the contents, or undef if the process is gone.
sub read_proc_file
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return undef;
	local $/;
	my $data = <$fh>;
	close($fh);
	return $data;
}

# proc_stat PID -- { pid, comm, state, ppid, pgrp }, or undef.
sub proc_stat
{
	my ($pid) = @_;
	my $stat = read_proc_file("/proc/$pid/stat");
	return undef unless defined $stat;
	my $close = rindex($stat, ')');
	return undef if $close < 0;
	my $comm = substr($stat, index($stat, '(') + 1, $close - index($stat, '(') - 1);
	my @rest = split(' ', substr($stat, $close + 2));
	return { pid => $pid, comm => $comm, state => $rest[0], ppid => $rest[1], pgrp => $rest[2] };
}

# child_of PARENT, PIDS -- the one of PIDS whose parent is PARENT, or undef.
sub child_of
{
	my ($parent, @pids) = @_;
	for my $pid (@pids)
	{
		my $st = proc_stat($pid);
		return $pid if $st && $st->{ppid} == $parent;
	}
	return undef;
}

sub all_pids
{
	opendir(my $dh, '/proc') or die "cannot read /proc: $!";
	my @pids = grep { /^\d+$/ } readdir($dh);
	closedir($dh);
	return @pids;
}

# tagged_pids TAG -- live (non-zombie) processes one of whose arguments is
# exactly TAG.
sub tagged_pids
{
	my ($tag) = @_;
	my @found;
	for my $pid (all_pids())
	{
		next if $pid == $$;
		my $cmdline = read_proc_file("/proc/$pid/cmdline");
		next unless defined $cmdline && length $cmdline;
		next unless grep { $_ eq $tag } split(/\0/, $cmdline);
		my $st = proc_stat($pid);
		next unless $st && $st->{state} ne 'Z';
		push @found, $pid;
	}
	return sort { $a <=> $b } @found;
}

# poll SECS, INTERVAL, CODE -- call CODE every INTERVAL seconds until it
# says it is done or SECS have passed.  CODE returns (DONE, LIST); poll
# returns the LIST of its last call.
sub poll
{
	my ($secs, $interval, $code) = @_;
	my $deadline = now_s() + $secs;
	while (1)
	{
		my ($done, @list) = $code->();
		return @list if $done || now_s() > $deadline;
		Time::HiRes::sleep($interval);
	}
}

# wait_until_tagged TAG, [COUNT], [SECS] -- wait until at least COUNT
# processes carry TAG; returns their pids (empty list on timeout).
sub wait_until_tagged
{
	my ($tag, $count, $secs) = @_;
	$count = 1 unless defined $count;
	$secs = 30 unless defined $secs;
	my @pids = poll($secs, 0.005,
		sub { my @p = tagged_pids($tag); return (@p >= $count, @p); });
	return @pids >= $count ? @pids : ();
}

# wait_tagged_gone TAG, SECS -- wait up to SECS for every process carrying
# TAG to be gone.  Returns the pids still alive (empty: all gone).
sub wait_tagged_gone
{
	my ($tag, $secs) = @_;
	return poll($secs, 0.01,
		sub { my @p = tagged_pids($tag); return (!@p, @p); });
}

# node_postgres_pids NODE -- the postmaster of NODE and its children.
sub node_postgres_pids
{
	my ($node) = @_;
	my $pidfile = read_proc_file($node->data_dir . '/postmaster.pid');
	return () unless defined $pidfile;
	my ($pm) = $pidfile =~ /^(\d+)/;
	return () unless $pm;
	my @pids = ($pm);
	for my $pid (all_pids())
	{
		my $st = proc_stat($pid);
		push @pids, $pid if $st && $st->{ppid} == $pm;
	}
	return @pids;
}

# zombie_children NODE -- "pid (comm) parent" of every zombie whose parent
# is a postgres process of NODE.
sub zombie_children
{
	my ($node) = @_;
	my %parents = map { $_ => 1 } node_postgres_pids($node);
	my @zombies;
	for my $pid (all_pids())
	{
		my $st = proc_stat($pid);
		next unless $st && $st->{state} eq 'Z' && $parents{ $st->{ppid} };
		push @zombies, "$pid ($st->{comm}) child of $st->{ppid}";
	}
	return @zombies;
}

# wait_no_zombies NODE, SECS -- the zombies still there after SECS (the
# postmaster reaps an exited backend asynchronously; a zombie execjson
# leaves behind stays).
sub wait_no_zombies
{
	my ($node, $secs) = @_;
	return poll($secs, 0.02,
		sub { my @z = zombie_children($node); return (!@z, @z); });
}

# assert_no_leftovers NODE, TAG, NAME -- the check after every scenario:
# no process the call started is alive (a SIGKILLed process gets a
# moment to be torn down) and no zombie child of the node's postgres
# processes exists.
sub assert_no_leftovers
{
	my ($node, $tag, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @alive = wait_tagged_gone($tag, 2);
	is("@alive", '', "$name: no process the call started is alive");
	my @zombies = wait_no_zombies($node, 2);
	is(join('; ', @zombies), '', "$name: no zombie child of a postgres process");
}

# ---------------------------------------------------------------------
# A psql session kept open: queries go in one at a time; the end of each
# is marked on stdout and on stderr.

package ExecJsonTest::Session;

use strict;
use warnings;

use IPC::Run ();
use Test::More;

# new NODE, [TIMEOUT_SECS] -- connect; dies if psql cannot connect.
sub new
{
	my ($class, $node, $timeout) = @_;
	$timeout = 180 unless defined $timeout;
	my $self = bless {
		in => '',
		out => '',
		err => '',
		marks => 0,
		timeout => $timeout,
	}, $class;
	$self->{timer} = IPC::Run::timeout($timeout);
	$self->{run} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'VERBOSITY=verbose', '-v',
			'SHOW_CONTEXT=always', '-d', $node->connstr('postgres'), '-f', '-'
		],
		'<' => \$self->{in},
		'>' => \$self->{out},
		'2>' => \$self->{err},
		$self->{timer});
	$self->{pid} = $self->query_value('SELECT pg_backend_pid()');
	die "psql session did not connect: $self->{err}" unless $self->{pid} =~ /^\d+$/;
	return $self;
}

# backend_pid -- the pid of the session's backend.
sub backend_pid { return $_[0]->{pid}; }

# stderr -- what psql wrote to stderr since the current query was sent.
sub stderr { return $_[0]->{err}; }

# start_query SQL -- start SQL (with a trailing end mark) without waiting.
# Returns the mark to wait for.
sub start_query
{
	my ($self, $sql) = @_;
	my $mark = sprintf('__xj_done_%d__', ++$self->{marks});
	$self->{out} = '';
	$self->{err} = '';
	$self->{timer}->start($self->{timeout});
	$self->{in} .= "$sql;\n\\echo $mark\n\\warn $mark\n";
	$self->{run}->pump_nb;
	return $mark;
}

# wait_for STREAM, REGEX, [SECS] -- pump until $self->{STREAM} matches.
sub wait_for
{
	my ($self, $stream, $regex, $secs) = @_;
	my $deadline = ExecJsonTest::now_s() + (defined $secs ? $secs : $self->{timeout});
	while ($self->{$stream} !~ $regex)
	{
		return 0 if ExecJsonTest::now_s() > $deadline;
		return 0 unless $self->{run}->pumpable;
		eval { $self->{run}->pump_nb; 1 } or return 0;
		Time::HiRes::sleep(0.001) if $self->{$stream} !~ $regex;
	}
	return 1;
}

# finish_mark MARK, [SECS] -- wait for both ends of MARK; returns
# (stdout, stderr) of the query without the marks.
sub finish_mark
{
	my ($self, $mark, $secs) = @_;
	my $done = $self->wait_for('out', qr/\Q$mark\E/, $secs)
	  && $self->wait_for('err', qr/\Q$mark\E/, $secs);
	die "psql session: no end of query within the time limit; stderr: $self->{err}"
	  unless $done;
	my ($out, $err) = ($self->{out}, $self->{err});
	$out =~ s/\Q$mark\E\n?//;
	$err =~ s/\Q$mark\E\n?//;
	return ($out, $err);
}

# query SQL, [SECS] -- run SQL; returns (stdout, stderr).
sub query
{
	my ($self, $sql, $secs) = @_;
	return $self->finish_mark($self->start_query($sql), $secs);
}

# timed_query SQL, [SECS] -- run SQL; returns (stdout, stderr, elapsed ms
# from sending it to the end of its output).
sub timed_query
{
	my ($self, $sql, $secs) = @_;
	my $t0 = ExecJsonTest::now_s();
	my ($out, $err) = $self->query($sql, $secs);
	return ($out, $err, ExecJsonTest::elapsed_ms($t0));
}

# query_value SQL -- run SQL that must succeed; returns its stdout, chomped.
sub query_value
{
	my ($self, $sql) = @_;
	my ($out, $err) = $self->query($sql);
	die "query failed: $sql\n$err" if $err =~ /ERROR/;
	chomp $out;
	return $out;
}

# quit -- end psql.
sub quit
{
	my ($self) = @_;
	$self->{in} .= "\\q\n";
	eval { $self->{run}->finish; 1 } or $self->{run}->kill_kill;
	return;
}

# wait_exit SECS -- wait for psql to end on its own (e.g. its backend was
# terminated); false if it is still running after SECS.
sub wait_exit
{
	my ($self, $secs) = @_;
	my $deadline = ExecJsonTest::now_s() + $secs;
	while ($self->{run}->pumpable)
	{
		return 0 if ExecJsonTest::now_s() > $deadline;
		eval { $self->{run}->pump_nb; 1 } or last;
		Time::HiRes::sleep(0.005);
	}
	eval { $self->{run}->finish; 1 };
	return 1;
}

1;
