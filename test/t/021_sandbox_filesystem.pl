# 021_sandbox_filesystem.pl -- execjson.sandbox = 'filesystem': the program
# sees a minimal root: the allow_prefixes and sandbox_paths directories
# read-only, its own /proc, a minimal /dev and a private, empty /tmp.
#
# The programs run from a directory outside /tmp (the mount points of a
# prefix under /tmp would be in the private /tmp), which the test owns and
# can write to, so that "read-only" means the sandbox made it so.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use File::Basename ();
use File::Copy ();
use File::Path ();
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $base = "/var/tmp/execjson-sandbox-$$";
File::Path::rmtree($base);
mkdir($base, 0755) && mkdir("$base/bin", 0755) && mkdir("$base/data", 0755)
  or BAIL_OUT("cannot create $base: $!");
File::Copy::copy(xjtool_path(), "$base/bin/xjtool") or BAIL_OUT("copy: $!");
chmod(0755, "$base/bin/xjtool");
open(my $fh, '>', "$base/data/file") or BAIL_OUT("$base/data/file: $!");
print $fh "data\n";
close($fh);
my $xj = "$base/bin/xjtool";

my $node = start_node('sandbox_filesystem', qq{
execjson.allow_prefixes = '$base/bin'
execjson.sandbox = 'filesystem'
execjson.sandbox_paths = '/usr,/lib,/lib64,$base/data'
});

# run ARGV, [SETTINGS] -- run the copy of xjtool with ARGV after the SQL
# SETTINGS; returns (decoded result or undef, stderr).
sub run
{
	my ($argv, $settings) = @_;
	my $req = { kind => 'run_program_v1', program_path => $xj, argv => $argv };
	my ($ret, $out, $err) = $node->psql('postgres',
		($settings // '') . exec_sql($req));
	return ($ret == 0 ? decode_json_text($out) : undef, $err);
}

sub result_of
{
	my ($r, $err) = run(@_);
	diag("xjtool @{$_[0]}: $err") unless $r;
	return $r;
}

# open_result PATH -- what an open(PATH, O_RDONLY) in the sandbox gives.
sub open_result
{
	my $r = result_of([ 'open', $_[0] ]);
	return $r ? $r->{open} : 'call failed';
}

# the server's own files: each exists on the host, and not in the sandbox
my $pgdata = $node->data_dir;
my $sockdir = $node->host;
my @server_paths = ($pgdata, "$pgdata/global/pg_control", $sockdir,
	'/var/lib/postgresql', '/etc/postgresql');
for my $path (@server_paths)
{
  SKIP:
	{
		skip "$path does not exist on this host", 1 unless -e $path;
		is(open_result($path), 'ENOENT', "$path does not exist in the sandbox");
	}
}

# the server's shared memory segments in /dev/shm
opendir(my $dh, '/dev/shm');
my @segments = grep { /^PostgreSQL\./ } readdir($dh);
closedir($dh);
SKIP:
{
	skip 'no PostgreSQL segment in /dev/shm', 1 unless @segments;
	is(open_result("/dev/shm/$segments[0]"), 'ENOENT',
		'a PostgreSQL shared memory segment of /dev/shm is not there');
}

# the root holds only what the settings name
# (and the empty mount point the server's root was detached from)
my $r = result_of([ 'ls', '/' ]);
is( join(',', sort grep { $_ ne '.oldroot' } @{ $r ? $r->{ls} : [] }),
	join(',', sort(qw(dev proc tmp usr var), grep { -e "/$_" } qw(lib lib64))),
	'the root holds only /dev, /proc, /tmp and the bound paths');

$r = result_of([ 'ls', '/.oldroot' ]);
is_deeply($r && $r->{ls}, [], 'nothing of the server\'s root is left at /.oldroot');

$r = result_of([ 'ls', '/dev' ]);
is( join(',', sort @{ $r ? $r->{ls} : [] }),
	'fd,full,null,random,shm,stderr,stdin,stdout,urandom,zero',
	'a minimal /dev');
is(result_of([ 'open', '/dev/urandom' ])->{open}, 'ok', '/dev/urandom opens');

# /proc: only the call's own processes
$r = result_of([ 'ls', '/proc' ]);
is(join(',', grep { /^\d+$/ } @{ $r ? $r->{ls} : [] }), '1',
	'/proc lists only the program');

# /tmp: writable, empty at the start of each call, gone after
$r = result_of([ 'ls', '/tmp' ]);
is_deeply($r && $r->{ls}, [], '/tmp is empty');
my $marker = "xjmarker-$$";
$r = result_of([ 'create', "/tmp/$marker" ]);
is($r && $r->{create}, 'ok', '/tmp is writable');
ok(!-e "/tmp/$marker", "the file is not in the server's /tmp");
$r = result_of([ 'ls', '/tmp' ]);
is_deeply($r && $r->{ls}, [], "the next call's /tmp is empty again");

# bounded by execjson.sandbox_tmp_bytes
$r = result_of([ 'write-file', '2000000', 'print', '"wrote"' ],
	"SET execjson.sandbox_tmp_bytes = '1MB'; ");
ok(!defined $r, 'a file larger than sandbox_tmp_bytes cannot be written');
$r = result_of([ 'write-file', '500000', 'print', '"wrote"' ],
	"SET execjson.sandbox_tmp_bytes = '1MB'; ");
is($r, 'wrote', 'a smaller one can');

# and so is its number of files: one inode per 4 kB, at least 1024
$r = result_of([ 'inodes', '3000' ], "SET execjson.sandbox_tmp_bytes = '4MB'; ");
ok($r && $r->{inodes} >= 900 && $r->{inodes} <= 1024,
	'/tmp of 4 MB holds about 1024 files') or diag(explain($r));
is($r && $r->{error}, 'ENOSPC', 'then no more');
$r = result_of([ 'inodes', '3000' ], "SET execjson.sandbox_tmp_bytes = '16MB'; ");
is($r && $r->{inodes}, 3000, '/tmp of 16 MB holds 3000 files');

# the bound paths: readable, not writable (the test itself can write there)
ok(-w "$base/bin" && -w "$base/data", 'the host directories are writable by the server');
is(open_result("$base/data/file"), 'ok', 'a file under sandbox_paths is readable');
is(open_result($xj), 'ok', 'a file under an allowed prefix is readable');
$r = result_of([ 'create', "$base/data/new" ]);
is($r && $r->{create}, 'EROFS', 'a directory of sandbox_paths is read-only');
$r = result_of([ 'create', "$base/bin/new" ]);
is($r && $r->{create}, 'EROFS', 'an allowed prefix is read-only');
$r = result_of([ 'create', "/usr/xj-$$" ]);
is($r && $r->{create}, 'EROFS', '/usr is read-only');
$r = result_of([ 'create', "/xj-$$" ]);
is($r && $r->{create}, 'EROFS', 'the root is read-only');
ok(!-e "$base/data/new" && !-e "$base/bin/new", 'nothing was written on the host');

# and nosuid, nodev: no setuid program, no device file under a bound path
for my $path ("$base/data", "$base/bin", '/usr')
{
	$r = result_of([ 'mountflags', $path ]);
	like($r && $r->{mountflags}, qr/^ro,nosuid,nodev,/, "$path is bound read-only, nosuid, nodev");
}

# a dynamically linked program needs its libraries' directories
SKIP:
{
	skip '/lib is not a symlink here', 1 unless -l '/lib';
	$r = result_of([ 'open', '/lib' ]);
	is($r && $r->{open}, 'ok', 'the symlink /lib leads to /usr/lib in the sandbox');
}
my ($none, $err) = run([ 'print', '1' ], "SET execjson.sandbox_paths = ''; ");
is(error_code_of($err), 'exec_spawn_failed',
	'without its libraries a dynamically linked program cannot start');
($r) = run([ 'print', '1' ]);
is($r, 1, 'with sandbox_paths = /usr,/lib,/lib64 it runs');

# the GUCs: a missing entry warns and is ignored
($none, $err) = run([ 'print', '2' ],
	"SET execjson.sandbox_paths = '/usr,/lib,/lib64,/no/such/dir'; ");
like($err, qr/WARNING:.*"\/no\/such\/dir" does not exist/,
	'a missing sandbox_paths entry draws a WARNING');
is($none, 2, 'and is ignored');

# the backend's skeleton of the root: in /dev/shm while the session
# lives, gone when it ends
sub skeletons
{
	opendir(my $d, '/dev/shm') or return ();
	my @s = grep { /^execjson-sandbox-/ } readdir($d);
	closedir($d);
	return sort @s;
}
SKIP:
{
	skip 'no /dev/shm', 2 unless -d '/dev/shm' && -w '/dev/shm';
	my %before = map { $_ => 1 } skeletons();
	my $session = ExecJsonTest::Session->new($node);
	$session->query_value(exec_sql(
		{ kind => 'run_program_v1', program_path => $xj, argv => ['ls', '/'] }));
	my @new = grep { !$before{$_} } skeletons();
	is(scalar(@new), 1, 'the backend keeps one skeleton in /dev/shm');
	$session->quit;
	my @left;
	for (1 .. 200)
	{
		@left = grep { !$before{$_} } skeletons();
		last unless @left;
		Time::HiRes::sleep(0.01);
	}
	is("@left", '', 'the skeleton is removed when the backend exits');
}

# an entry that exposes the server's own files or sockets warns
for my $path ($pgdata, $sockdir, File::Basename::dirname($pgdata))
{
	($none, $err) = run([ 'print', '3' ],
		"SET execjson.sandbox_paths = '/usr,/lib,/lib64,$path'; ");
	like($err, qr/WARNING:.*sandbox_paths entry .* exposes the server's (data|unix socket) directory/,
		"an entry for $path warns");
}
($none, $err) = run([ 'print', '3' ], "SET execjson.sandbox_paths = '/usr,/lib,/lib64,$base/data'; ");
unlike($err, qr/WARNING/, 'another entry does not');

$node->stop;
File::Path::rmtree($base);
done_testing();
