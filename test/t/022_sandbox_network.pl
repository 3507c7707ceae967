# 022_sandbox_network.pl -- execjson.sandbox = 'network': the program runs
# in a network namespace of its own, where only a loopback interface
# exists: it cannot reach the server's TCP port on 127.0.0.1.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node('sandbox_network', "listen_addresses = '127.0.0.1'");
my $port = $node->port;

# result SANDBOX, ARGV -- xjtool's decoded result with execjson.sandbox
# set to SANDBOX, or undef.
sub result
{
	my ($sandbox, @argv) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET execjson.sandbox = '$sandbox'; " . exec_sql(xj_request([@argv])));
	diag("xjtool @argv: $err") if $ret != 0;
	return $ret == 0 ? decode_json_text($out) : undef;
}

my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	Proto => 'tcp');
ok($sock, "the server listens on 127.0.0.1:$port");
close($sock) if $sock;

my $r = result('', 'connect', '127.0.0.1', $port);
is($r && $r->{connect}, 'ok', 'without the sandbox the program reaches it');

$r = result('network', 'connect', '127.0.0.1', $port);
ok($r && $r->{connect} ne 'ok', 'with network, the connection fails');
diag('connect from the sandbox: ' . ($r ? $r->{connect} : 'no result'));

$r = result('network', 'ifaces');
is_deeply($r && $r->{ifaces}, ['lo'], 'only lo exists');

$r = result('', 'ifaces');
ok($r && grep({ $_ eq 'lo' } @{ $r->{ifaces} }), 'the host has lo too (sanity)');

$node->stop;
done_testing();
