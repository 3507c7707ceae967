# 025_sandbox_no_setattr.pl -- the filesystem sandbox on a kernel without
# mount_setattr(2) (before Linux 5.12, or a seccomp filter answering
# ENOSYS): a read-only bind must not leave a mount below a bound path
# writable.  Without mount_setattr only the top mount of a bind can be
# made read-only, so binds are not recursive then, and a bound path with a
# mount below it fails closed (exec_sandbox_unavailable, step bind,
# EINVAL) instead of being writable.
#
# The servers run in a user and mount namespace of the test's own, where
# the test mounts a tmpfs below a directory it then binds into the
# sandbox.  test/programs/nosetattr.c, preloaded into the second server,
# makes its mount_setattr() calls fail with ENOSYS.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use Cwd ();
use File::Copy ();
use File::Path ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my ($gid) = split(' ', $();
my @unshare = ('unshare', '-U', '-m', "--map-user=$<", "--map-group=$gid",
	'--keep-caps');
my $probe = system(@unshare, 'sh', '-c', 'mount -t tmpfs tmpfs /tmp');
plan skip_all => 'cannot make a user and mount namespace and mount a tmpfs in it here'
  if $probe != 0;

my $base = "/var/tmp/execjson-nosetattr-$$";
File::Path::rmtree($base);
for my $d ($base, "$base/bin", "$base/data", "$base/data/sub", "$base/plain")
{
	mkdir($d, 0755) or BAIL_OUT("cannot create $d: $!");
}
File::Copy::copy(xjtool_path(), "$base/bin/xjtool") or BAIL_OUT("copy: $!");
chmod(0755, "$base/bin/xjtool");
my $xj = "$base/bin/xjtool";

# Not /usr: it may have mounts below it (the test harness mounts over
# PostgreSQL's directories), which is what makes a bind fail here.  The
# directories of xjtool's libraries instead, and the symlinks leading there.
my %libdirs;
for my $line (split /\n/, `ldd $xj`)
{
	my ($lib) = $line =~ m{(/\S+)\s+\(};
	next unless $lib;
	my $real = Cwd::realpath($lib) or next;
	$real =~ s{/[^/]+$}{};
	$libdirs{$real} = 1;
}
my $libs = join(',', (grep { -e } qw(/lib /lib64 /usr/lib64)), sort keys %libdirs);
note("libraries: $libs");

# start_ns_node NAME, [PRELOAD] -- a server in a new user and mount
# namespace with a tmpfs mounted on $base/data/sub, PRELOAD in LD_PRELOAD.
sub start_ns_node
{
	my ($name, $preload) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'execjson'\n"
		  . "execjson.allow_prefixes = '$base/bin'\n"
		  . "execjson.sandbox = 'filesystem'\n"
		  . "execjson.sandbox_paths = '$libs,$base/plain'");
	local $ENV{LD_PRELOAD} = $preload if defined $preload;
	my $ret = system(@unshare, 'sh', '-c',
		'mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"', 'sh',
		"$base/data/sub", 'pg_ctl', '-D', $node->data_dir, '-l',
		$node->logfile, '-w', 'start');
	is($ret, 0, "$name: the server starts in its namespace");
	$node->_update_pid(1);
	$node->safe_psql('postgres', 'CREATE EXTENSION execjson');
	return $node;
}

# run NODE, ARGV, [SETTINGS] -- (decoded result or undef, stderr).
sub run
{
	my ($node, $argv, $settings) = @_;
	my $req = { kind => 'run_program_v1', program_path => $xj, argv => $argv };
	my ($ret, $out, $err) = $node->psql('postgres',
		($settings // '') . exec_sql($req));
	return ($ret == 0 ? decode_json_text($out) : undef, $err);
}

# create_result NODE, PATH, [SETTINGS] -- what creating PATH in the
# sandbox gives, or the error code of the call.
sub create_result
{
	my ($r, $err) = run($_[0], [ 'create', $_[1] ], $_[2]);
	diag($err) unless $r;
	return $r ? $r->{create} : (error_code_of($err) // "failed: $err");
}

my $with_data = "SET execjson.sandbox_paths = '$libs,$base/data'; ";

# with mount_setattr: the mount below a bound path is read-only too
my $node = start_ns_node('setattr');
is(create_result($node, "$base/plain/x"), 'EROFS', 'with mount_setattr: a bound path is read-only');
is(create_result($node, "$base/data/sub/x", $with_data), 'EROFS',
	'with mount_setattr: a mount below a bound path is read-only');
is(create_result($node, "$base/data/sub/x", "SET execjson.sandbox = ''; "),
	'ok', 'the mount is writable outside the sandbox');
$node->stop;

# without mount_setattr
$node = start_ns_node('no_setattr', test_dir() . '/nosetattr.so');
my ($r, $err) = run($node, [ 'print', '1' ]);
is($r, 1, 'without mount_setattr the sandbox still runs programs');
is(create_result($node, "$base/plain/x"), 'EROFS', 'a bound path is read-only');
is(create_result($node, "$base/bin/x"), 'EROFS', 'an allowed prefix is read-only');
my ($libdir) = sort keys %libdirs;
is(create_result($node, "$libdir/xj-$$"), 'EROFS', 'a library directory is read-only');
is(create_result($node, "/xj-$$"), 'EROFS', 'the root is read-only');
ok(!-e "$base/plain/x" && !-e "$base/bin/x", 'nothing was written on the host');
($r) = run($node, [ 'mountflags', "$base/plain" ]);
like($r && $r->{mountflags}, qr/^ro,nosuid,nodev,/, 'a bound path is read-only, nosuid, nodev');

($r, $err) = run($node, [ 'create', "$base/data/sub/y" ], $with_data);
my $d = error_detail_of($err);
is($d && $d->{code}, 'exec_sandbox_unavailable',
	'a bound path with a mount below it: exec_sandbox_unavailable');
is($d && $d->{details}{step}, 'bind', 'the step: bind');
is($d && $d->{details}{errno}, 'EINVAL', 'the errno: EINVAL');
like($err, qr/HINT:.*mount_setattr/, 'the hint names mount_setattr');
($r) = run($node, [ 'ls', "$base/data/sub" ], "SET execjson.sandbox = ''; ");
is_deeply($r && $r->{ls}, [], 'nothing was written below the bound path');

$node->stop;
File::Path::rmtree($base);
done_testing();
