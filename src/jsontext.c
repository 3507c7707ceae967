/*-------------------------------------------------------------------------
 *
 * jsontext.c
 *	  JSON text on the pipes: stdin_json out (step 3 of a call) and the
 *	  program's stdout back in (the last step).
 *
 * Both sides of the pipe speak UTF-8.  stdin_json is written as compact
 * JSON text and converted from the database encoding; stdout must be
 * valid UTF-8 and valid JSON that jsonb accepts, and is converted to the
 * database encoding.  Whatever goes wrong while reading stdout ends as
 * exec_stdout_invalid_json: PostgreSQL's own error for it would quote the
 * offending bytes, and those are program output.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "errors.h"
#include "execjson.h"

/*
 * append_escaped -- append len bytes of s as a JSON string literal, with
 * the escapes PostgreSQL's escape_json() uses.
 */
static void
append_escaped(StringInfo out, const char *s, int len)
{
	static const char hex[] = "0123456789abcdef";
	const char *end = s + len;
	const char *run = s;		/* start of bytes not yet copied */
	const char *p;

	/* The common case, nothing to escape: one check for room, one copy. */
	for (p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c < 0x20 || c == '"' || c == '\\')
			break;
	}
	if (p == end)
	{
		char	   *dst;

		enlargeStringInfo(out, len + 2);
		dst = out->data + out->len;
		dst[0] = '"';
		memcpy(dst + 1, s, len);
		dst[len + 1] = '"';
		out->len += len + 2;
		out->data[out->len] = '\0';
		return;
	}

	enlargeStringInfo(out, len + 2);
	out->data[out->len++] = '"';
	for (s = p; s < end; s++)
	{
		unsigned char c = (unsigned char) *s;
		char		esc[6];
		int			esclen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;

		appendBinaryStringInfo(out, run, s - run);
		run = s + 1;
		esc[0] = '\\';
		switch (c)
		{
			case '"':
				esc[1] = '"';
				break;
			case '\\':
				esc[1] = '\\';
				break;
			case '\b':
				esc[1] = 'b';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			case '\t':
				esc[1] = 't';
				break;
			default:
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				esclen = 6;
				break;
		}
		appendBinaryStringInfo(out, esc, esclen);
	}
	appendBinaryStringInfo(out, run, s - run);
	appendStringInfoCharMacro(out, '"');
}

/*
 * append_scalar -- append one scalar jsonb value as JSON text.
 */
static void
append_scalar(StringInfo out, const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			appendBinaryStringInfo(out, "null", 4);
			break;
		case jbvBool:
			if (v->val.boolean)
				appendBinaryStringInfo(out, "true", 4);
			else
				appendBinaryStringInfo(out, "false", 5);
			break;
		case jbvString:
			append_escaped(out, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			{
				char	   *num;

				num = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(v->val.numeric)));
				appendStringInfoString(out, num);
				pfree(num);
				break;
			}
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/*
 * append_container -- append a jsonb array or object as compact JSON text.
 */
static void
append_container(StringInfo out, JsonbContainer *container)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbIteratorToken tok;
	JsonbValue	v;
	bool		first = true;	/* no comma before the next item */

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (v.val.array.rawScalar)
					break;
				if (!first)
					appendStringInfoCharMacro(out, ',');
				appendStringInfoCharMacro(out, '[');
				first = true;
				break;
			case WJB_BEGIN_OBJECT:
				if (!first)
					appendStringInfoCharMacro(out, ',');
				appendStringInfoCharMacro(out, '{');
				first = true;
				break;
			case WJB_KEY:
				if (!first)
					appendStringInfoCharMacro(out, ',');
				append_escaped(out, v.val.string.val, v.val.string.len);
				appendStringInfoCharMacro(out, ':');
				first = true;	/* the value follows the colon directly */
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (!first)
					appendStringInfoCharMacro(out, ',');
				append_scalar(out, &v);
				first = false;
				break;
			case WJB_END_ARRAY:
				if (!v.val.array.rawScalar)
					appendStringInfoCharMacro(out, ']');
				first = false;
				break;
			case WJB_END_OBJECT:
				appendStringInfoCharMacro(out, '}');
				first = false;
				break;
			case WJB_DONE:
				break;
		}
	}
}

/*
 * exec_stdin_serialize -- write value into out as compact UTF-8 JSON text.
 *
 * value is a scalar or a jbvBinary container, as the request iterator
 * hands it over.
 */
void
exec_stdin_serialize(const JsonbValue *value, StringInfo out)
{
	if (value->type == jbvBinary)
		append_container(out, value->val.binary.data);
	else
		append_scalar(out, value);

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		char	   *converted = pg_server_to_any(out->data, out->len, PG_UTF8);

		if (converted != out->data)
		{
			resetStringInfo(out);
			appendStringInfoString(out, converted);
			pfree(converted);
		}
	}
}

/*
 * error_is_about_the_input -- may an error raised while parsing stdout be
 * blamed on the program's output?
 *
 * Query cancel and termination (class 57), resource exhaustion (53) and
 * internal errors (XX) are not about the input and keep propagating.
 */
static bool
error_is_about_the_input(int sqlerrcode)
{
	char		class0 = PGUNSIXBIT(sqlerrcode);
	char		class1 = PGUNSIXBIT(sqlerrcode >> 6);

	if (class0 == '5' && (class1 == '7' || class1 == '3'))
		return false;
	if (class0 == 'X' && class1 == 'X')
		return false;
	return true;
}

/*
 * exec_stdout_parse -- the program's stdout as jsonb.
 *
 * out holds the bytes exactly as read (it is modified).  Raises
 * exec_stdout_invalid_json for anything that is not valid UTF-8 JSON that
 * jsonb can store in the database encoding; the parser's own error, which
 * quotes the input, is discarded.
 */
Jsonb *
exec_stdout_parse(StringInfo out, const char *program_path)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	volatile bool invalid = false;
	Jsonb	   *volatile result = NULL;

	/* jsonb_in takes a C string: an embedded NUL would cut the input. */
	if (out->len == 0 ||
		memchr(out->data, '\0', out->len) != NULL ||
		!pg_verify_mbstr(PG_UTF8, out->data, out->len, true))
		invalid = true;

	if (!invalid)
	{
		PG_TRY();
		{
			char	   *text = out->data;

			if (GetDatabaseEncoding() != PG_UTF8)
				text = pg_any_to_server(out->data, out->len, PG_UTF8);
			result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														CStringGetDatum(text)));
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcontext);
			edata = CopyErrorData();
			if (!error_is_about_the_input(edata->sqlerrcode))
			{
				FreeErrorData(edata);
				PG_RE_THROW();
			}
			FreeErrorData(edata);
			FlushErrorState();
			invalid = true;
		}
		PG_END_TRY();
	}

	if (invalid)
	{
		ExecErrorDetails details;

		exec_details_init(&details);
		exec_details_add_string(&details, "program_path", program_path);
		exec_raise(EXEC_STDOUT_INVALID_JSON, &details);
	}
	return result;
}
