# 023_sandbox_refusal.pl -- a kernel that refuses the sandbox: the call
# fails with exec_sandbox_unavailable (0A000), naming the step and errno,
# and the program does not run.
#
# The server runs in a user namespace of the test's own (its uid and gid
# mapped to themselves) in which user.max_user_namespaces is 0, as a DBA's
# kernel with unprivileged user namespaces turned off would have it.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my ($gid) = split(' ', $();
my $probe = system('unshare', '-U', "--map-user=$<", "--map-group=$gid",
	'--keep-caps', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces');
plan skip_all => 'cannot make a user namespace with max_user_namespaces = 0 here'
  if $probe != 0;

my $node = PostgreSQL::Test::Cluster->new('sandbox_refusal');
$node->init;
my $dir = test_dir();
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'execjson'\n"
	  . "execjson.allow_prefixes = '$dir/bin'\n"
	  . "execjson.sandbox = 'processes'");

# start the server inside the namespace
my $ret = system('unshare', '-U', "--map-user=$<", "--map-group=$gid",
	'--keep-caps', 'sh', '-c',
	'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', 'sh',
	'pg_ctl', '-D', $node->data_dir, '-l', $node->logfile, '-w', 'start');
is($ret, 0, 'the server starts in a user namespace that allows no other');
$node->_update_pid(1);
$node->safe_psql('postgres', 'CREATE EXTENSION execjson');

my $tag = unique_tag('refused');
my $marker = "/tmp/execjson-refused-$$";
unlink($marker);
my ($r, $out, $err) = $node->psql('postgres',
	exec_sql(xj_request([ 'tag', $tag, 'create', $marker ])),
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:\s+0A000: program sandbox is not available/,
	'exec_sandbox_unavailable, SQLSTATE 0A000');
my $d = error_detail_of($err);
is($d && $d->{code}, 'exec_sandbox_unavailable', 'the code');
is($d && $d->{details}{step}, 'clone', 'the step: clone');
is($d && $d->{details}{errno}, 'ENOSPC', 'the errno name');
is($d && $d->{details}{program_path}, xjtool_path(), 'the program path');
like($err, qr/HINT:.*max_user_namespaces/, 'a hint naming the likely cause');
ok(!-e $marker, 'the program did not run');

# exec_try reports it as a value
$out = $node->safe_psql('postgres', 'SELECT exec_try('
	  . sql_literal(encode_json_text(xj_request([ 'create', $marker ])))
	  . ")->'error'->>'code'");
is($out, 'exec_sandbox_unavailable', 'exec_try returns the error');
ok(!-e $marker, 'the program did not run');

# setting the GUC there warns
(undef, $out, $err) = $node->psql('postgres', "SET execjson.sandbox = 'network'");
like($err, qr/WARNING:.*refuse unprivileged user namespaces/,
	'setting execjson.sandbox on such a kernel warns');

# without the sandbox the same server runs programs
is( $node->safe_psql('postgres', "SET execjson.sandbox = ''; "
		  . exec_sql({ kind => 'run_program_v1', program_path => ok_path() })),
	'{"ok": true}',
	'without the sandbox the program runs');

$node->stop;
unlink($marker);
done_testing();
