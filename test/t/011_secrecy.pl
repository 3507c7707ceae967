# 011_secrecy.pl -- no program output and no request payload in errors or
# in the server log.
#
# Programs write a secret token to stdout (as invalid JSON, or as valid
# JSON before failing) and to stderr, and fail in every way; requests
# carry the token as payload.  The token must appear nowhere in what the
# client gets (message, detail, hint, context) and nowhere in the server
# log.  The token is computed by the server (md5 of a seed), so the SQL
# text, which the log records, never contains it.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use Digest::MD5 qw(md5_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ExecJsonTest;

my $node = start_node(
	'secrecy', join("\n",
		'log_min_messages = debug1',
		'log_error_verbosity = verbose',
		'log_min_error_statement = debug1'));
my $session = ExecJsonTest::Session->new($node);
$session->query_value('SET client_min_messages = debug1');
$session->query_value('SET execjson.max_stdin_bytes = 100000');

# error_fields: every field of the error a request raises, as PL/pgSQL
# sees them (and so would any client library).
$session->query_value(<<'SQL');
CREATE FUNCTION error_fields(req jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text; detail text; hint text; context text; state text;
BEGIN
	PERFORM exec_run(req);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
		hint = PG_EXCEPTION_HINT, context = PG_EXCEPTION_CONTEXT,
		state = RETURNED_SQLSTATE;
	RETURN concat_ws(E'\n', state, msg, detail, hint, context);
END $$
SQL

my $TAG = unique_tag('secrecy');
my $seed_counter = 0;
my @all_tokens;

# secret -- a new token: (SQL expression computing it, the token).
sub secret
{
	my $seed = sprintf('xj-seed-%d-%d', $$, ++$seed_counter);
	my $token = md5_hex($seed);
	push @all_tokens, $token;
	return ("md5('$seed')", $token);
}

# request_sql ARGV_SQL, %FIELDS_SQL -- an SQL jsonb expression of an
# xjtool request whose argv is the tag then ARGV_SQL (SQL expressions) and
# whose other fields are SQL expressions.
sub request_sql
{
	my ($argv_sql, %fields_sql) = @_;
	my $sql = "jsonb_build_object('kind', 'run_program_v1', "
	  . "'program_path', " . sql_literal(xjtool_path()) . ', '
	  . "'argv', jsonb_build_array('tag', '$TAG', $argv_sql)";
	$sql .= ", '$_', $fields_sql{$_}" for sort keys %fields_sql;
	return "$sql)";
}

# secrecy_case NAME, CODE, REQUEST_BUILDER -- REQUEST_BUILDER->(TOKEN_SQL)
# is the request's SQL; the call must fail with CODE and show no token.
sub secrecy_case
{
	my ($name, $code, $builder) = @_;
	my ($token_sql, $token) = secret();
	my $request = $builder->($token_sql);

	my ($out, $err) = $session->query("SELECT exec_run($request)");
	is(error_code_of($err), $code, "$name: fails with $code");
	unlike("$out$err", qr/$token/i, "$name: no token in what psql shows");

	my $fields = $session->query_value("SELECT error_fields($request)");
	like($fields, qr/\Q$code\E/, "$name: PL/pgSQL sees $code");
	unlike($fields, qr/$token/i,
		"$name: no token in message, detail, hint or context");
	return;
}

# Control: the token does reach the program and back, so the searches
# below would find it if it leaked.
{
	my ($token_sql, $token) = secret();
	like(
		$session->query_value(
			'SELECT exec_run(' . request_sql("'print', '\"' || $token_sql || '\"'") . ')'),
		qr/$token/,
		'control: a successful call returns the token the program printed');
}

secrecy_case('stdout not JSON, stderr, exit 3', 'exec_failed',
	sub { request_sql("'print', $_[0], 'eprint', $_[0], 'exit', '3'") });
secrecy_case('stdout valid JSON, stderr, exit 3', 'exec_failed',
	sub { request_sql("'print', '[\"' || $_[0] || '\"]', 'eprint', $_[0], 'exit', '3'") });
secrecy_case('stdout and stderr, killed by a signal', 'exec_failed',
	sub { request_sql("'print', $_[0], 'eprint', $_[0], 'kill', '9'") });
secrecy_case('bare word after valid JSON start, exit 0', 'exec_stdout_invalid_json',
	sub { request_sql("'print', '{\"k\": ' || $_[0], 'eprint', $_[0]") });
secrecy_case('bare word, exit 0', 'exec_stdout_invalid_json',
	sub { request_sql("'print', $_[0], 'eprint', $_[0]") });
secrecy_case('unterminated string, exit 0', 'exec_stdout_invalid_json',
	sub { request_sql("'print', '\"' || $_[0], 'eprint', $_[0]") });
secrecy_case('token then invalid UTF-8, exit 0', 'exec_stdout_invalid_json',
	sub { request_sql("'print', '\"' || $_[0], 'bytes', 'ff22'") });
secrecy_case('token then an escape of an invalid code point', 'exec_stdout_invalid_json',
	sub { request_sql("'print', '[\"' || $_[0] || '\\ud800x\"]'") });
secrecy_case('token then a NUL byte', 'exec_stdout_invalid_json',
	sub { request_sql("'print', '\"' || $_[0], 'bytes', '0022'") });
secrecy_case('token then a number out of range', 'exec_stdout_invalid_json',
	sub { request_sql("'print', '[\"' || $_[0] || '\", 1e999999999]'") });
secrecy_case('token on stdout past the cap', 'exec_stdout_too_large',
	sub { request_sql("'print', $_[0], 'flood-out'") });
secrecy_case('token on stderr past the cap', 'exec_stderr_too_large',
	sub { request_sql("'eprint', $_[0], 'flood-err'") });
secrecy_case('token in stdin_json, program fails', 'exec_failed',
	sub { request_sql("'drain', 'exit', '3'", stdin_json => "jsonb_build_object('k', $_[0])") });
secrecy_case('token in stdin_json over the cap', 'exec_stdin_too_large',
	sub { request_sql("'drain'", stdin_json => "repeat($_[0], 10000)") });
secrecy_case('token in an argv element of the wrong type', 'exec_request_invalid',
	sub { request_sql("jsonb_build_object($_[0], $_[0])") });
secrecy_case('token as the name of an unknown field', 'exec_request_invalid',
	sub { request_sql("'print', '1'") . " || jsonb_build_object($_[0], 1)" });
secrecy_case('token in an env name', 'exec_request_invalid',
	sub { request_sql("'print', '1'", env => "jsonb_build_object($_[0] || '=', 'x')") });
secrecy_case('token in an env value of the wrong type', 'exec_request_invalid',
	sub { request_sql("'print', '1'", env => "jsonb_build_object('X', jsonb_build_array($_[0]))") });

assert_no_leftovers($node, $TAG, 'after the failing calls');

$session->quit;
$node->stop;

my $log = slurp_file($node->logfile);
like($log, qr/exec_stdout_invalid_json/, 'the server log records the errors');
my @leaked = grep { $log =~ /$_/i } @all_tokens;
is(scalar(@leaked), 0, 'no token in the server log')
  or diag('leaked: ' . join(', ', @leaked));

done_testing();
