# 016_no_fork.pl -- the backend starts programs without duplicating its
# address space (SPEC 4.4): every process it creates during a call is a
# vfork() or a clone with CLONE_VM, never a plain fork().  Checked with
# strace on the backend; skipped where strace cannot attach.
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
	[ $strace, '-f', '-e', 'trace=fork,vfork,clone,clone3', '-o', $trace,
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
$tracer->signal('INT');
$tracer->finish;

my @creations = grep { /\b(?:fork|vfork|clone3?)\(/ } split /\n/, slurp_file($trace);
ok(scalar(@creations) >= 1, 'the trace shows the program being started')
  or diag(slurp_file($trace));
my @copies = grep { !/\bvfork\(/ && !/CLONE_VM/ } @creations;
is(join("\n", @copies), '', 'no process was created by copying the backend');

$session->quit;
$node->stop;
done_testing();
