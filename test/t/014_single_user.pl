# 014_single_user.pl -- exec_run works in a single-user backend
# (postgres --single), which has no postmaster to watch.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use ExecJsonTest;

my $node = start_node('single_user');
$node->stop;

my $request = encode_json_text(
	{ kind => 'run_program_v1', program_path => ok_path() });
my $input = "SELECT exec_run('$request'::jsonb);\n";
my ($out, $err) = ('', '');
IPC::Run::run(
	[ 'postgres', '--single', '-D', $node->data_dir, 'postgres' ],
	'<' => \$input, '>' => \$out, '2>' => \$err,
	IPC::Run::timeout(60));

like($out, qr/exec_run = "\{"ok": true\}"/, 'exec_run answers in single-user mode');
unlike($out . $err, qr/ERROR/, 'no error in single-user mode');

done_testing();
