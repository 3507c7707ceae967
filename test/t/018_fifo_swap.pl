# 018_fifo_swap.pl -- opening the checked program never blocks and opens
# only a regular file: a FIFO that took the program's place between the
# check and the open (in a directory the server's OS user can write) is
# exec_program_not_executable at once, never a backend stuck in open()
# beyond the reach of cancel (finding 5 of the 1.1 review).
#
# The server runs with test/programs/swapshim.c preloaded, which swaps
# "swap-me" with "swap-fifo" whenever the server calls access() on
# "swap-me" -- between execjson's check and its open, every time.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Copy ();
use POSIX ();
use ExecJsonTest;

my $swapdir = PostgreSQL::Test::Utils::tempdir('swap');
chmod 0755, $swapdir;

my $node;
{
	local $ENV{LD_PRELOAD} = test_dir() . '/swapshim.so';
	$node = start_node('fifo_swap',
		"execjson.allow_prefixes = '" . test_dir() . "/bin, $swapdir'");
}

File::Copy::copy(ok_path(), "$swapdir/prog") or die "copy: $!";
chmod 0755, "$swapdir/prog";
POSIX::mkfifo("$swapdir/fifo", 0755) or die "mkfifo: $!";

sub request_for
{
	my ($name) = @_;
	return sql_literal(encode_json_text(
		{ kind => 'run_program_v1', program_path => "$swapdir/$name" }));
}

# outcome NAME -- the code exec_try gives for the program NAME in the swap
# directory, or "ran"; undef if the backend did not answer in time.
sub outcome
{
	my ($name) = @_;
	my $timed_out = 0;
	my ($ret, $out, $err) = $node->psql('postgres',
		'SELECT coalesce(exec_try(' . request_for($name) . "::jsonb) #>> '{error,code}', 'ran')",
		timeout => $HANG_SECS * 2, timed_out => \$timed_out);
	return (!$timed_out && $ret == 0) ? $out : undef;
}

is(outcome('prog'), 'ran', 'a regular file runs');
is(outcome('fifo'), 'exec_program_not_executable', 'a FIFO is not executable');

# The race, every time: checked as a regular file, a FIFO when opened.
File::Copy::copy(ok_path(), "$swapdir/swap-me") or die "copy: $!";
chmod 0755, "$swapdir/swap-me";
POSIX::mkfifo("$swapdir/swap-fifo", 0755) or die "mkfifo: $!";
my $t0 = now_s();
is(outcome('swap-me'), 'exec_program_not_executable',
	'a FIFO swapped in after the check: not executable');
ok(-p "$swapdir/swap-me", 'the swap did happen between the check and the open');
note(sprintf('answered in %.1f ms', elapsed_ms($t0)));

assert_no_leftovers($node, 'no-tag', 'after the swap');
$node->stop;
done_testing();
