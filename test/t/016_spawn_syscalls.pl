# 016_spawn_syscalls.pl -- how the backend starts a program, seen with
# strace on the backend (skipped where strace cannot attach):
#
# - without duplicating its address space (SPEC 4.4): every process it
#   creates during a call is a vfork() or a clone with CLONE_VM, never a
#   plain fork();
# - executing exactly the file it checked: the program file is opened
#   without following symlinks and executed through that fd (execveat with
#   AT_EMPTY_PATH), while a "#!" script is executed by its path; a batch
#   opens a program once for the elements that run it one after another;
#   a program_path that is already canonical is resolved without realpath();
# - resetting signals: the child of a single call resets every signal; a
#   batch's children reset exactly those the backend catches or ignores,
#   planned once, and planned again after a log line (whose hooks may be
#   any library's code).
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes ();
use ExecJsonTest;

my $strace = `command -v strace 2>/dev/null`;
chomp $strace;
plan skip_all => 'strace is not installed' unless $strace;

my $node = start_node('no_fork');
my $session = ExecJsonTest::Session->new($node);
my $backend = $session->backend_pid;
my $trace = $node->basedir . '/strace.out';

my $tracer = IPC::Run::start(
	[ $strace, '-f', '-e', 'trace=fork,vfork,clone,clone3,execve,execveat,openat2,readlink,rt_sigaction', '-o', $trace,
		'-p', $backend ],
	'>' => \my $out, '2>' => \my $err);
# wait until strace is attached
for (1 .. 500)
{
	last if $err =~ /attached/ || (-s $trace);
	Time::HiRes::sleep(0.01);
	$tracer->pump_nb;
}
if ($err !~ /attached/ && !-s $trace)
{
	$tracer->kill_kill;
	plan skip_all => "strace cannot attach here: $err";
}

is($session->query_value(
		exec_sql({ kind => 'run_program_v1', program_path => ok_path() })),
	'{"ok": true}', 'a call runs under strace');
my $script = test_dir() . '/bin/script';
like($session->query_value(
		exec_sql({ kind => 'run_program_v1', program_path => $script, argv => ['s'] })),
	qr/"script": "s"/, 'a script runs under strace');
my $ok_req = sql_literal(encode_json_text({ kind => 'run_program_v1', program_path => ok_path() }));
my $script_req = sql_literal(
	encode_json_text({ kind => 'run_program_v1', program_path => $script, argv => ['s'] }));
is( $session->query_value(
		"SELECT count(*) FROM exec_run_many(ARRAY[$ok_req, $ok_req, $ok_req, $ok_req, $ok_req, "
		  . "$script_req, $script_req]::jsonb[], 2)"),
	7, 'a batch of five calls of ok and two of the script runs under strace');
# The signals the backend catches or ignores (SigCgt, SigIgn).
my $planned = 0;
for my $field ('SigCgt', 'SigIgn')
{
	my ($mask) = slurp_file("/proc/$backend/status") =~ /^$field:\s*([0-9a-f]+)/m;
	$planned += () = unpack('B*', pack('H*', $mask)) =~ /1/g;
}
$tracer->signal('INT');
$tracer->finish;

my @lines = split /\n/, slurp_file($trace);
my @creations = grep { /\b(?:fork|vfork|clone3?)\(/ } @lines;
ok(scalar(@creations) >= 1, 'the trace shows the program being started')
  or diag(slurp_file($trace));
my @copies = grep { !/\bvfork\(/ && !/CLONE_VM/ } @creations;
is(join("\n", @copies), '', 'no process was created by copying the backend');

my $ok = ok_path();
my @by_fd = grep { /execveat\(\d+, "", \["\Q$ok\E"\].*AT_EMPTY_PATH/ } @lines;
is(scalar(@by_fd), 6, 'the program is executed through the fd that was checked, in the batch too')
  or diag(join("\n", grep { /exec/ } @lines));
my @by_path = grep { /\bexecve\("\Q$ok\E"/ } @lines;
is(scalar(@by_path), 0, 'the program is not executed by its path');
SKIP:
{
	skip 'no openat2 on this kernel', 1
	  unless grep { /openat2\(.*\Q$ok\E/ && !/ENOSYS/ } @lines;
	ok((grep { /openat2\(.*\Q$ok\E.*RESOLVE_NO_SYMLINKS/ } @lines),
		'the program file is opened without following symlinks');
	# opened for execution (not O_PATH, the resolution's): once for the
	# single call, once for the batch's five
	is(scalar(grep { /openat2\(.*"\Q$ok\E"/ && !/O_PATH/ } @lines), 2,
		'a batch opens the program file once for the elements that run it in a row');
	is(scalar(grep { /openat2\(.*"\Q$script\E"/ && !/O_PATH/ } @lines), 2,
		'and the script once too');
	# a path already canonical is resolved by one openat2 refusing symlinks
	my $dir = test_dir();
	is(join("\n", grep { /readlink\("\Q$dir\E/ } @lines), '',
		'a canonical program_path is resolved without readlink of its components');
}
ok((grep { /\bexecve\("\Q$script\E"/ } @lines),
	'a script is executed by its path');

# The signals each child set to SIG_DFL, in the order the children were
# made: two single calls, then the batch's seven.
# (A clone that waits for its child shows as "clone(... <unfinished ...>",
# then "<... clone resumed> ...) = PID".)
my @children = map { /^$backend\s+(?:clone3?\(|<\.\.\. clone3? resumed>).*= (\d+)$/ ? ($1) : () } @lines;
is(scalar(@children), 9, 'nine children were made');
# Only before its execve: the program's own start-up may set signals too
# (bash, as /bin/sh, sets and restores SIGCHLD).
my @resets = map {
	my $pid = $_;
	my %sigs;
	for my $line (@lines)
	{
		last if $line =~ /^$pid\s+execve(?:at)?\(/;
		$sigs{$1} = 1 if $line =~ /^$pid\s+rt_sigaction\((\w+), \{sa_handler=SIG_DFL/;
	}
	scalar(keys %sigs)
} @children;
cmp_ok(scalar(grep { $_ >= 62 } @resets[ 0, 1 ]), '==', 2,
	'the child of a single call resets every signal')
  or diag("signals reset: @resets");
ok($planned > 0 && $planned < 62, 'the backend catches or ignores some signals, not all');
is_deeply([ @resets[ 2 .. 8 ] ], [ ($planned) x 7 ],
	"a batch's children reset exactly the signals the backend catches or ignores")
  or diag("signals reset: @resets; planned: $planned");
my $queries = grep { /^$backend\s+rt_sigaction\(\w+, NULL,/ } @lines;
cmp_ok($queries, '>=', 60, "a batch asks the backend's signals");

# With an audit line after each program, the plan is made again for each
# element: another library's emit_log_hook could have changed a signal.
{
	my $trace2 = $node->basedir . '/strace2.out';
	my $tracer2 = IPC::Run::start(
		[ $strace, '-e', 'trace=rt_sigaction', '-o', $trace2, '-p', $backend ],
		'>' => \my $out2, '2>' => \my $err2);
	for (1 .. 500)
	{
		last if $err2 =~ /attached/ || (-s $trace2);
		Time::HiRes::sleep(0.01);
		$tracer2->pump_nb;
	}
	is( $session->query_value(
			"SET execjson.log_executions = on; SELECT count(*) FROM exec_run_many(ARRAY[$ok_req, $ok_req, $ok_req]::jsonb[], 1)"),
		3, 'a batch of three with audit lines runs under strace');
	$session->query_value('RESET execjson.log_executions');
	$tracer2->signal('INT');
	$tracer2->finish;
	my $queries2 = grep { /rt_sigaction\(\w+, NULL,/ } split /\n/, slurp_file($trace2);
	cmp_ok($queries2, '>=', 3 * $queries,
		'after a log line the plan is made again (once per element here)');
}

$session->quit;
$node->stop;
done_testing();
