# 019_encoding_log.pl -- in databases that are not UTF-8, a request the
# database cannot convert to UTF-8 is refused without a byte of it in the
# client's error or the server log, and what execjson logs is valid text
# (findings 3 and 4 of the 1.1 review).
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use ExecJsonTest;

my $node = start_node('encoding_log',
	"log_statement = none\nexecjson.log_executions = on\nexecjson.allow_env = '*'");
my $xj = xjtool_path();

for my $case ([ 'SQL_ASCII', 'f0', 'hun' ], [ 'WIN1252', '81', 'zzy' ])
{
	my ($enc, $byte, $rest) = @$case;
	my $db = lc "db_$enc";
	$node->safe_psql('postgres',
		"CREATE DATABASE $db ENCODING '$enc' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
	$node->safe_psql($db, 'CREATE EXTENSION execjson');
	my $value = "E'\\x$byte$rest'";
	for my $field (
		[ 'stdin_json', "jsonb_build_object('kind', 'run_program_v1', 'program_path', '$xj', 'argv', '[\"hexin\"]'::jsonb, 'stdin_json', $value)" ],
		[ 'argv', "jsonb_build_object('kind', 'run_program_v1', 'program_path', '$xj', 'argv', jsonb_build_array('print', $value))" ],
		[ 'env', "jsonb_build_object('kind', 'run_program_v1', 'program_path', '$xj', 'env', jsonb_build_object('V', $value))" ],
		[ 'program_path', "jsonb_build_object('kind', 'run_program_v1', 'program_path', '/tmp/' || $value)" ])
	{
		my ($name, $request) = @$field;
		my $offset = -s $node->logfile;
		my ($ret, $out, $err) = $node->psql($db, "SELECT exec_run($request)",
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
		is(error_code_of($err), 'exec_request_invalid', "$enc, $name: exec_request_invalid");
		is(error_detail_of($err)->{details}{field}, $name, "$enc, $name: the field is named");
		unlike($err, qr/0x$byte|\Q$rest\E/i, "$enc, $name: the client's error quotes nothing of the request");
		my $try = $node->safe_psql($db, "SELECT exec_try($request) #>> '{error,code}'");
		is($try, 'exec_request_invalid', "$enc, $name: exec_try returns a value");
		my $log = substr(slurp_file($node->logfile), $offset);
		unlike($log, qr/0x$byte|\Q$rest\E/i, "$enc, $name: the server log quotes nothing of the request");
	}
}

# A canonical path that is not UTF-8, in the audit line of a UTF-8 database:
# escaped, so the log line is valid UTF-8.
my $offset = -s $node->logfile;
$node->psql('postgres', exec_sql({ kind => 'run_program_v1',
	program_path => test_dir() . '/bin/to-bad', argv => [ 'exit', '3' ] }));
my $line;
for (1 .. 200)
{
	($line) = substr(slurp_file($node->logfile), $offset) =~ /(execjson call: .*)/;
	last if defined $line;
	Time::HiRes::sleep(0.01);
}
ok(defined $line, 'the audit line is written');
like($line // '', qr{"program_path": "\Q@{[test_dir()]}\E/bin/bad-\\\\xff"},
	'the bad byte of the path is escaped in the audit line');
ok(utf8::decode(my $copy = $line // ''), 'the audit line is valid UTF-8');

$node->stop;
done_testing();
