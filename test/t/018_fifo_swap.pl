# 018_fifo_swap.pl -- opening the checked program never blocks and opens
# only a regular file: a FIFO that took the program's place between the
# check and the open (in a directory the server's OS user can write) is
# exec_program_not_executable at once, never a backend stuck in open()
# beyond the reach of cancel (finding 5 of the 1.1 review).
#
# A batch keeps a program file open for the elements that run it in a
# row, but a program renamed over its path meanwhile is what the next
# elements run.
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

# A batch opens a program file once for the elements that run it in a
# row, but not past a replacement: a program renamed over the path while
# the batch runs is what the next elements run (as single calls would).
{
	my $name = 'program replaced during a batch';
	my $tag = unique_tag('replaced');
	File::Copy::copy(xjtool_path(), "$swapdir/batch-prog") or die "copy: $!";
	chmod 0755, "$swapdir/batch-prog";
	File::Copy::copy(ok_path(), "$swapdir/batch-new") or die "copy: $!";
	chmod 0755, "$swapdir/batch-new";
	my $req = sql_literal(encode_json_text(
		{ kind => 'run_program_v1', program_path => "$swapdir/batch-prog",
		  argv => [ 'tag', $tag, 'sleep', '1000' ] }));
	my $session = ExecJsonTest::Session->new($node);
	my $mark = $session->start_query(
		"SELECT string_agg(position || ':' || coalesce(result #>> '{value,ok}', result #>> '{error,code}'), ' ' ORDER BY position) "
		  . "FROM exec_try_many(ARRAY[$req, $req, $req]::jsonb[], 1)");
	my @first = wait_until_tagged($tag, 1, 30);
	is(scalar(@first), 1, "$name: the first element runs the old program");
	rename("$swapdir/batch-new", "$swapdir/batch-prog") or die "rename: $!";
	my ($out, $err) = $session->finish_mark($mark, 30);
	$out =~ s/\s+$//;
	is($out, '1:exec_stdout_invalid_json 2:true 3:true',
		"$name: the next elements run the new one ($err)");
	$session->quit;
	assert_no_leftovers($node, $tag, $name);
}

$node->stop;
done_testing();
