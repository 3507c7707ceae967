# 026_sandbox_clone_limits.pl -- a sandboxed spawn whose clone() fails
# because the server's OS user is out of processes (EAGAIN) or memory
# (ENOMEM) is exec_spawn_failed, like a plain spawn's; only a refusal of
# the namespaces (EPERM, ENOSPC, ...) is exec_sandbox_unavailable.
#
# The server runs with test/programs/cloneshim.c preloaded: its clone()
# into a new user namespace fails with the errno in XJ_CLONE_ERRNO.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use Errno ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $marker = "/tmp/execjson-clone-$$";
unlink($marker);

my $node;
{
	local $ENV{LD_PRELOAD} = test_dir() . '/cloneshim.so';
	local $ENV{XJ_CLONE_ERRNO} = Errno::EAGAIN;
	$node = start_node('sandbox_clone_limits', "execjson.sandbox = 'processes'");
}

# code_of -- the error code of a call that would create the marker.
sub code_of
{
	my ($ret, $out, $err) = $node->psql('postgres',
		exec_sql(xj_request([ 'create', $marker ])));
	return error_code_of($err) // "no error: $out";
}

is(code_of(), 'exec_spawn_failed', 'clone() out of processes (EAGAIN): exec_spawn_failed');
ok(!-e $marker, 'the program did not run');

for my $case ([ 'ENOMEM', Errno::ENOMEM, 'exec_spawn_failed' ],
	[ 'EPERM', Errno::EPERM, 'exec_sandbox_unavailable' ])
{
	my ($name, $errno, $code) = @$case;
	{
		local $ENV{LD_PRELOAD} = test_dir() . '/cloneshim.so';
		local $ENV{XJ_CLONE_ERRNO} = $errno;
		$node->restart;
	}
	is(code_of(), $code, "clone() failing with $name: $code");
	ok(!-e $marker, 'the program did not run');
}

$node->stop;
unlink($marker);
done_testing();
