# 030_plproxy.pl -- scaling out with PL/Proxy: a proxy node routes calls
# to two partition nodes, each running execjson under its own policy.
#
# The recipe of the README's "Scaling out" section, on three clusters:
#   - keyed calls (RUN ON hashtext(key)) land on the partition the hash
#     says: each partition's audit log shows exactly its own calls;
#   - RUN ON ALL runs the call once on each partition;
#   - an execjson error on a partition reaches the proxy's client with its
#     SQLSTATE, and its DETAIL JSON intact behind PL/Proxy's "Remote
#     detail: " prefix (the message gets PL/Proxy's "REMOTE ERROR" prefix);
#     neither the request nor the program's output appears in it;
#   - a cancel and a statement_timeout on the proxy stop the programs on
#     both partitions: no survivor, no zombie on any node.
#
# Needs postgresql-NN-plproxy (Debian); skipped where it is not installed.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use ExecJsonTest;

my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
my $pgmajor = `pg_config --version`;
($pgmajor) = $pgmajor =~ /(\d+)/;
plan skip_all => "PL/Proxy is not installed (postgresql-$pgmajor-plproxy: "
  . "$sharedir/extension/plproxy.control is missing)"
  unless -f "$sharedir/extension/plproxy.control";

my $secret = 'PLPROXYSECRET' . $$;

# The partitions: execjson with the audit log on, and the role the proxy
# connects as, which may run programs through the partition function only.
my @parts;
for my $i (0, 1)
{
	my $p = start_node("part$i",
		"log_statement = none\nexecjson.log_executions = on\n"
		  . "execjson.max_stdout_bytes = '64kB'");
	$p->safe_psql('postgres', q{
		CREATE ROLE xj_remote LOGIN;
		-- the partition function: what a keyed call runs on its partition
		CREATE FUNCTION exec_run_keyed(key text, request jsonb)
		RETURNS jsonb LANGUAGE sql VOLATILE STRICT
		AS 'SELECT exec_run(request)';
		REVOKE EXECUTE ON FUNCTION exec_run_keyed(text, jsonb) FROM PUBLIC;
		GRANT EXECUTE ON FUNCTION exec_run(jsonb), exec_run_keyed(text, jsonb) TO xj_remote;
	});
	push @parts, $p;
}

# The proxy: PL/Proxy, the cluster as a foreign server, the proxy
# functions, an application role.  It needs no execjson of its own.
my $proxy = PostgreSQL::Test::Cluster->new('proxy');
$proxy->init;
$proxy->append_conf('postgresql.conf', 'log_statement = none');
$proxy->start;

# libpq connection strings of the partitions (unix sockets, trust auth).
sub partconn
{
	my ($p) = @_;
	return 'host=' . $p->host . ' port=' . $p->port . ' dbname=postgres';
}

$proxy->safe_psql('postgres', sprintf(q{
	CREATE EXTENSION plproxy;
	CREATE SERVER execjson_cluster FOREIGN DATA WRAPPER plproxy
		OPTIONS (connection_lifetime '1800', p0 %s, p1 %s);
	CREATE ROLE app LOGIN;
	CREATE USER MAPPING FOR app SERVER execjson_cluster OPTIONS (user 'xj_remote');
	GRANT USAGE ON FOREIGN SERVER execjson_cluster TO app;

	-- keyed: one partition, chosen by the key's hash
	CREATE FUNCTION exec_run_keyed(key text, request jsonb)
	RETURNS jsonb LANGUAGE plproxy AS $$
		CLUSTER 'execjson_cluster';
		RUN ON hashtext(key);
	$$;
	-- broadcast: every partition, one row each
	CREATE FUNCTION exec_run_all(request jsonb)
	RETURNS SETOF jsonb LANGUAGE plproxy AS $$
		CLUSTER 'execjson_cluster';
		RUN ON ALL;
		SELECT exec_run(request);
	$$;
	REVOKE EXECUTE ON FUNCTION exec_run_keyed(text, jsonb), exec_run_all(jsonb) FROM PUBLIC;
	GRANT EXECUTE ON FUNCTION exec_run_keyed(text, jsonb), exec_run_all(jsonb) TO app;
}, sql_literal(partconn($parts[0])), sql_literal(partconn($parts[1]))));

# audit_lines NODE, OFFSET -- the parsed audit lines of NODE's log after OFFSET.
sub audit_lines
{
	my ($node, $offset) = @_;
	my $log = slurp_file($node->logfile);
	my @lines;
	for my $line (split /\n/, substr($log, $offset))
	{
		next unless $line =~ /LOG:\s+execjson call: (\{.*\})\s*$/;
		push @lines, decode_json_text($1);
	}
	return @lines;
}

# wait_audit NODE, OFFSET, COUNT -- wait (the logger is asynchronous) until
# NODE logged COUNT audit lines after OFFSET; returns them.
sub wait_audit
{
	my ($node, $offset, $count) = @_;
	my @lines;
	for (1 .. 300)
	{
		@lines = audit_lines($node, $offset);
		last if @lines >= $count;
		Time::HiRes::sleep(0.01);
	}
	return @lines;
}

# as_app SQL -- run SQL on the proxy as the application role; (ret, out, err).
sub as_app
{
	my ($sql) = @_;
	return $proxy->psql('postgres', "SET ROLE app; $sql",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
}

# ---------------------------------------------------------------------
# Keyed calls land on the partition hashtext(key) & 1 names.  Each call's
# stdin is a string of a length of its own, so the audit lines' stdin_bytes
# say which call each partition ran.
{
	my @offsets = map { -s $_->logfile } @parts;
	my (%expect, %by_size);
	for my $k (1 .. 12)
	{
		my $key = "customer-$k";
		my $payload = 'x' x (100 + $k);
		my $size = length(encode_json_text($payload));
		my $part = $proxy->safe_psql('postgres',
			'SELECT hashtext(' . sql_literal($key) . ') & 1');
		push @{ $expect{$part} }, $size;
		$by_size{$size} = $key;

		my ($ret, $out, $err) = as_app('SELECT exec_run_keyed('
			  . sql_literal($key) . ', '
			  . sql_literal(encode_json_text(xj_request(['echo'], stdin_json => $payload)))
			  . '::jsonb)');
		is($ret, 0, "keyed call $key succeeds") or diag($err);
		is($out, encode_json_text($payload), "keyed call $key returns the program's answer");
	}
	ok(@{ $expect{0} || [] } && @{ $expect{1} || [] },
		'the 12 keys hash to both partitions');
	for my $i (0, 1)
	{
		my $n = scalar @{ $expect{$i} || [] };
		my @lines = wait_audit($parts[$i], $offsets[$i], $n);
		is_deeply(
			[ sort { $a <=> $b } map { $_->{stdin_bytes} } @lines ],
			[ sort { $a <=> $b } @{ $expect{$i} || [] } ],
			"partition $i ran exactly the keys that hash to it ($n calls)");
		is_deeply([ sort keys %{ { map { $_->{role} => 1 } @lines } } ],
			['xj_remote'], "partition $i ran them as the mapped role");
	}
}

# ---------------------------------------------------------------------
# RUN ON ALL: one call on each partition.
{
	my @offsets = map { -s $_->logfile } @parts;
	my ($ret, $out, $err) = as_app('SELECT * FROM exec_run_all('
		  . sql_literal(encode_json_text(xj_request([ 'print', '{"all": 1}' ])))
		  . '::jsonb)');
	is($ret, 0, 'RUN ON ALL succeeds') or diag($err);
	is($out, qq({"all": 1}\n{"all": 1}), 'RUN ON ALL: one row from each partition');
	for my $i (0, 1)
	{
		my @lines = wait_audit($parts[$i], $offsets[$i], 1);
		is(scalar(@lines), 1, "RUN ON ALL: partition $i ran the call once");
	}
}

# ---------------------------------------------------------------------
# Errors: SQLSTATE and DETAIL JSON come through; no payload or output.
{
	# exec_failed: exit 3, with the secret in argv, stdin and the output
	my ($ret, $out, $err) = as_app('SELECT exec_run_keyed(\'k\', '
		  . sql_literal(encode_json_text(xj_request(
				[ 'print', '"' . $secret . '"', 'eprint', $secret, 'exit', '3' ],
				stdin_json => $secret)))
		  . '::jsonb)');
	isnt($ret, 0, 'exec_failed on a partition fails the proxy call');
	is(sqlstate_of($err), '38000', 'exec_failed: SQLSTATE 38000 reaches the proxy client');
	like($err, qr/ERROR:\s+38000: (?:public\.)?exec_run_keyed\(2\): \[postgres\] REMOTE ERROR: program exited with non-zero status/,
		"exec_failed: the message behind PL/Proxy's prefix");
	my ($detail) = $err =~ /^DETAIL:\s+Remote detail: (\{.*\})\s*$/m;
	ok(defined $detail, 'exec_failed: DETAIL is "Remote detail: " and the JSON');
	my $d = eval { decode_json_text($detail) };
	is($d && $d->{code}, 'exec_failed', 'exec_failed: the DETAIL JSON parses, code exec_failed');
	is($d && $d->{details}{exit_code}, 3, 'exec_failed: details.exit_code intact');
	is($d && $d->{details}{program_path}, xjtool_path(), 'exec_failed: details.program_path intact');
	unlike($err, qr/\Q$secret\E/, 'exec_failed: neither request nor output in the error');

	# the partition's own policy: its output cap (64kB) is the partition's
	($ret, $out, $err) = as_app('SELECT exec_run_keyed(\'k\', '
		  . sql_literal(encode_json_text(xj_request([ 'jsonstr', 70000 ])))
		  . '::jsonb)');
	is(sqlstate_of($err), '54000', "the partition's stdout cap applies: 54000");
	($detail) = $err =~ /^DETAIL:\s+Remote detail: (\{.*\})\s*$/m;
	$d = eval { decode_json_text($detail // '') };
	is($d && $d->{code}, 'exec_stdout_too_large', 'stdout cap: code exec_stdout_too_large');
	is($d && $d->{details}{max_stdout_bytes}, 65536, "stdout cap: the partition's cap in the details");

	# a program outside a partition's allow-list
	($ret, $out, $err) = as_app(q{SELECT * FROM exec_run_all('{"kind": "run_program_v1", "program_path": "/bin/true"}')});
	is(sqlstate_of($err), '42501', 'not allowed on the partitions: 42501 through RUN ON ALL');
	like($err, qr/^DETAIL:\s+Remote detail: \{"code": "exec_program_not_allowed"/m,
		'not allowed: the DETAIL JSON');

	# without the grant on the proxy, the application role cannot call
	$proxy->safe_psql('postgres', 'CREATE ROLE stranger LOGIN');
	($ret, $out, $err) = $proxy->psql('postgres',
		"SET ROLE stranger; SELECT exec_run_keyed('k', '{}')");
	like($err, qr/permission denied for function exec_run_keyed/,
		'a role without EXECUTE on the proxy function cannot call');
}

# ---------------------------------------------------------------------
# Cancel and statement_timeout on the proxy stop the programs on both
# partitions.
my $session = ExecJsonTest::Session->new($proxy);
my $control = ExecJsonTest::Session->new($proxy);
$session->query_value('SET ROLE app');

# stop_case NAME, HOW -- a RUN ON ALL call whose program sleeps a minute
# (ignoring SIGINT and SIGTERM) on both partitions, stopped by HOW
# ('cancel' or 'timeout').
sub stop_case
{
	my ($name, $how) = @_;
	my $tag = unique_tag("plproxy-$how");
	$session->query_value("SET statement_timeout = '1500ms'") if $how eq 'timeout';
	my $mark = $session->start_query('SELECT * FROM exec_run_all('
		  . sql_literal(encode_json_text(xj_request(
				[ 'tag', $tag, 'ignore-signals', 'sleep', 60000 ],
				timeout_ms => 120000)))
		  . '::jsonb)');
	my @pids = wait_until_tagged($tag, 2, 30);
	is(scalar(@pids), 2, "$name: the program runs on both partitions");
	if ($how eq 'cancel')
	{
		$control->query_value('SELECT pg_cancel_backend(' . $session->backend_pid . ')');
	}
	ok($session->wait_for('err', qr/ERROR/, 30), "$name: the proxy's client gets an error");
	my ($out, $err) = $session->finish_mark($mark, 30);
	is(sqlstate_of($err), '57014', "$name: 57014 on the proxy");
	my @left = wait_tagged_gone($tag, $HANG_SECS);
	is("@left", '', "$name: no program survives on any partition");
	for my $i (0, 1)
	{
		assert_no_leftovers($parts[$i], $tag, "$name, partition $i");
	}
	my @z = wait_no_zombies($proxy, 2);
	is(join('; ', @z), '', "$name: no zombie on the proxy");
	$session->query_value('RESET statement_timeout') if $how eq 'timeout';
	is($session->query_value('SELECT * FROM exec_run_all('
			  . sql_literal(encode_json_text(xj_request([ 'print', '1' ])))
			  . '::jsonb)'),
		"1\n1", "$name: the proxy session calls the partitions again");
}

stop_case('cancel on the proxy', 'cancel');
stop_case('statement_timeout on the proxy', 'timeout');

$session->quit;
$control->quit;
$proxy->stop;
$_->stop for @parts;
done_testing();
