/*-------------------------------------------------------------------------
 *
 * request.c
 *	  Validate a run_program_v1 request (step 1 of a call).
 *
 * Every field is checked.  A field of the wrong type is an error, never
 * dropped or defaulted; an unknown field is an error whose details do not
 * repeat the unknown name (it is request payload).
 *
 * What goes to the program -- program_path, argv, env and stdin_json -- goes
 * as UTF-8, converted from the database encoding.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "errors.h"
#include "execjson.h"

#define EXEC_REQUEST_KIND "run_program_v1"

/*
 * jsonb_string_dup -- a NUL-terminated copy of a jbvString.
 *
 * jsonb text cannot hold a NUL character (\u0000 is refused on input), so
 * the copy is the whole string.
 */
static char *
jsonb_string_dup(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * key_is -- does the jsonb key k equal the C string name?
 */
static inline bool
key_is(const JsonbValue *k, const char *name, int namelen)
{
	return k->val.string.len == namelen &&
		memcmp(k->val.string.val, name, namelen) == 0;
}

/*
 * parse_timeout -- timeout_ms must be an integer in 1 .. INT_MAX.
 */
static int
parse_timeout(const JsonbValue *v)
{
	char	   *text;
	char	   *p;
	size_t		ndigits;
	int64		value;

	if (v->type != jbvNumeric)
		exec_raise_request_invalid("timeout_ms must be an integer", "timeout_ms");

	/* numeric_out spells an integral value without exponent: "5", "5.00" */
	text = DatumGetCString(DirectFunctionCall1(numeric_out,
											   NumericGetDatum(v->val.numeric)));
	p = text;
	if (*p == '-')
		p++;
	ndigits = strspn(p, "0123456789");
	if (ndigits == 0 ||
		(p[ndigits] != '\0' &&
		 !(p[ndigits] == '.' && strspn(p + ndigits + 1, "0") == strlen(p + ndigits + 1))))
		exec_raise_request_invalid("timeout_ms must be an integer", "timeout_ms");
	p[ndigits] = '\0';

	/* More than 10 digits is out of range whatever they are. */
	if (text[0] == '-' || ndigits > 10)
		exec_raise_request_invalid("timeout_ms must be between 1 and 2147483647",
								   "timeout_ms");
	value = strtoll(p, NULL, 10);
	if (value < 1 || value > INT_MAX)
		exec_raise_request_invalid("timeout_ms must be between 1 and 2147483647",
								   "timeout_ms");
	pfree(text);
	return (int) value;
}

/*
 * parse_argv -- argv must be an array of strings.
 */
static void
parse_argv(const JsonbValue *v, ExecRequest *req)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			n;
	int			i = 0;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		exec_raise_request_invalid("argv must be an array of strings", "argv");

	n = JsonContainerSize(v->val.binary.data);
	req->argv = palloc(sizeof(char *) * (n + 1));

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (elem.type != jbvString)
			exec_raise_request_invalid("argv must be an array of strings", "argv");
		req->argv[i++] = jsonb_string_dup(&elem);
	}
	req->argv[i] = NULL;
	req->argc = i;
}

/*
 * parse_env -- env must be an object of string to string, names non-empty
 * and without '='.  Builds "NAME=value" strings.
 */
static void
parse_env(const JsonbValue *v, ExecRequest *req)
{
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	val;
	JsonbIteratorToken tok;
	int			n;
	int			i = 0;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		exec_raise_request_invalid("env must be an object of strings", "env");

	n = JsonContainerSize(v->val.binary.data);
	req->env = palloc(sizeof(char *) * (n + 1));

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		char	   *entry;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		Assert(tok == WJB_VALUE);
		if (key.val.string.len == 0)
			exec_raise_request_invalid("env names must not be empty", "env");
		if (memchr(key.val.string.val, '=', key.val.string.len) != NULL)
			exec_raise_request_invalid("env names must not contain \"=\"", "env");
		if (val.type != jbvString)
			exec_raise_request_invalid("env must be an object of strings", "env");

		entry = palloc(key.val.string.len + val.val.string.len + 2);
		memcpy(entry, key.val.string.val, key.val.string.len);
		entry[key.val.string.len] = '=';
		memcpy(entry + key.val.string.len + 1, val.val.string.val,
			   val.val.string.len);
		entry[key.val.string.len + 1 + val.val.string.len] = '\0';
		req->env[i++] = entry;
	}
	req->env[i] = NULL;
	req->nenv = i;
}

/*
 * exec_text_to_utf8 -- len bytes of s, text in the database encoding, as
 * UTF-8 (s itself in a UTF-8 database).
 *
 * Text that cannot be converted is exec_request_invalid naming the field:
 * PostgreSQL's own conversion error quotes the offending bytes, and they
 * are request payload.
 */
char *
exec_text_to_utf8(const char *s, int len, const char *field)
{
	char	   *converted;

	if (GetDatabaseEncoding() == PG_UTF8)
		return (char *) s;

	converted = exec_convert_text(s, len, true);
	if (converted == NULL)
	{
		char	   *message = psprintf("%s cannot be converted to UTF-8", field);

		exec_raise_request_invalid(message, field);
	}
	return converted;
}

/*
 * request_to_utf8 -- program_path, argv and env as UTF-8.
 */
static void
request_to_utf8(ExecRequest *req)
{
	int			i;

	if (GetDatabaseEncoding() == PG_UTF8)
		return;
	req->program_path = exec_text_to_utf8(req->program_path,
										  strlen(req->program_path),
										  "program_path");
	for (i = 0; i < req->argc; i++)
		req->argv[i] = exec_text_to_utf8(req->argv[i], strlen(req->argv[i]),
										 "argv");
	for (i = 0; i < req->nenv; i++)
		req->env[i] = exec_text_to_utf8(req->env[i], strlen(req->env[i]), "env");
}

/*
 * exec_request_parse -- validate request and fill *req.
 *
 * Raises exec_request_invalid on the first problem found.  The strings
 * of *req are UTF-8.
 */
void
exec_request_parse(Jsonb *request, ExecRequest *req)
{
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	val;
	JsonbIteratorToken tok;
	bool		have_kind = false;

	if (!JB_ROOT_IS_OBJECT(request))
		exec_raise_request_invalid("exec request must be a JSON object", NULL);

	memset(req, 0, sizeof(*req));
	req->stdin_json.type = jbvNull;
	req->timeout_ms = EXECJSON_DEFAULT_TIMEOUT_MS;
	req->argv = NULL;
	req->env = NULL;

	it = JsonbIteratorInit(&request->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		Assert(tok == WJB_VALUE);

		if (key_is(&key, "kind", 4))
		{
			if (val.type != jbvString)
				exec_raise_request_invalid("kind must be a string", "kind");
			if (!(val.val.string.len == strlen(EXEC_REQUEST_KIND) &&
				  memcmp(val.val.string.val, EXEC_REQUEST_KIND,
						 val.val.string.len) == 0))
				exec_raise_request_invalid("unsupported exec request kind", "kind");
			have_kind = true;
		}
		else if (key_is(&key, "program_path", 12))
		{
			if (val.type != jbvString)
				exec_raise_request_invalid("program_path must be a string",
										   "program_path");
			if (val.val.string.len == 0 || val.val.string.val[0] != '/')
				exec_raise_request_invalid("program_path must be an absolute path",
										   "program_path");
			req->program_path = jsonb_string_dup(&val);
		}
		else if (key_is(&key, "argv", 4))
			parse_argv(&val, req);
		else if (key_is(&key, "stdin_json", 10))
			req->stdin_json = val;
		else if (key_is(&key, "timeout_ms", 10))
			req->timeout_ms = parse_timeout(&val);
		else if (key_is(&key, "env", 3))
			parse_env(&val, req);
		else
			exec_raise_request_invalid("exec request has an unknown field", NULL);
	}

	if (!have_kind)
		exec_raise_request_invalid("missing kind", "kind");
	if (req->program_path == NULL)
		exec_raise_request_invalid("missing program_path", "program_path");

	if (req->argv == NULL)
	{
		req->argv = palloc(sizeof(char *));
		req->argv[0] = NULL;
	}
	if (req->env == NULL)
	{
		req->env = palloc(sizeof(char *));
		req->env[0] = NULL;
	}
	request_to_utf8(req);
}
