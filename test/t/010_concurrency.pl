# 010_concurrency.pl -- many sessions calling at once.
#
# 8 sessions x 200 calls at the same time (pgbench): every call returns
# its own session's answer (no crossed pipes, no lost child), no call
# fails, and nothing is left behind.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $CLIENTS = 8;
my $CALLS_PER_CLIENT = 200;

my $node = start_node('concurrency', 'max_connections = 20');
my $tag = unique_tag('concurrency');
my $xjtool = xjtool_path();
my $ok = ok_path();

# Each script divides by zero -- and so fails its client -- unless the
# answer is exactly the one expected.  xjtool echoes an input unique to the
# client and the call.
my $echo_script = <<"SQL";
\\set n random(1, 1000000000)
SELECT 1 / (exec_run(jsonb_build_object(
	'kind', 'run_program_v1', 'program_path', '$xjtool',
	'argv', jsonb_build_array('tag', '$tag', 'echo'),
	'stdin_json', jsonb_build_object('client', :client_id, 'n', :n)))
	= jsonb_build_object('client', :client_id, 'n', :n))::int;
SQL
my $ok_script = <<"SQL";
SELECT 1 / (exec_run(jsonb_build_object(
	'kind', 'run_program_v1', 'program_path', '$ok'))
	= '{"ok": true}')::int;
SQL

# write_script NAME, TEXT -- a pgbench script file; returns its path.
sub write_script
{
	my ($name, $text) = @_;
	my $path = $node->basedir . "/$name.sql";
	append_to_file($path, $text);
	return $path;
}

my @cmd = (
	'pgbench', '-n', '-c', $CLIENTS, '-j', 2, '-t', $CALLS_PER_CLIENT,
	'-f', write_script('echo', $echo_script) . '@3',
	'-f', write_script('ok', $ok_script) . '@1',
	'-h', $node->host, '-p', $node->port, 'postgres');

my ($out, $err) = ('', '');
my $t0 = now_s();
my $status = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err,
	IPC::Run::timeout(300));
my $elapsed = elapsed_ms($t0);
my $total = $CLIENTS * $CALLS_PER_CLIENT;

ok($status, 'pgbench exits 0');
like($out, qr/number of transactions actually processed: $total\/$total/,
	"all $total calls completed");
# (pgbench reports failed transactions from PostgreSQL 15 on.)
unlike($out, qr/number of failed transactions: [1-9]/, 'no call failed');
unlike($err, qr/error|abort/i, 'no client reported an error') or diag($err);
diag("$total calls from $CLIENTS sessions in $elapsed ms");

assert_no_leftovers($node, $tag, 'after the concurrent calls');

$node->stop;
done_testing();
