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
 * StdinText -- the JSON text being written, and the byte budget it must
 * stay within.  Once a value would take it past the budget, writing stops:
 * "over" is set and "total" is the size counted so far, that value
 * included, so a huge stdin_json is refused without being written out.
 */
typedef struct StdinText
{
	StringInfo	out;
	int64		budget;
	bool		over;
	int64		total;
} StdinText;

/*
 * needs_escape -- must byte c be escaped in a JSON string?
 */
static inline bool
needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/*
 * escaped_length -- the length of len bytes of s as a JSON string literal.
 */
static int64
escaped_length(const char *s, int len)
{
	int64		n = 2;
	int			i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' ||
			c == '\r' || c == '\t')
			n += 2;
		else if (c < 0x20)
			n += 6;
		else
			n++;
	}
	return n;
}

/*
 * check_budget -- note whether the text has gone past its budget.
 */
static inline void
check_budget(StdinText *w)
{
	if (!w->over && w->out->len > w->budget)
	{
		w->over = true;
		w->total = w->out->len;
	}
}

/*
 * append_escaped -- append len bytes of s as a JSON string literal, with
 * the escapes PostgreSQL's escape_json() uses; or, if it would not fit the
 * budget, only count it.
 */
static void
append_escaped(StdinText *w, const char *s, int len)
{
	static const char hex[] = "0123456789abcdef";
	StringInfo	out = w->out;
	const char *end = s + len;
	const char *run = s;		/* start of bytes not yet copied */
	const char *p;

	if (w->over)
		return;
	if ((int64) out->len + len + 2 > w->budget)
	{
		int64		n = escaped_length(s, len);

		if ((int64) out->len + n > w->budget)
		{
			w->over = true;
			w->total = out->len + n;
			return;
		}
	}

	/* The common case, nothing to escape: one check for room, one copy. */
	for (p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (needs_escape(c))
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

		if (!needs_escape(c))
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
append_scalar(StdinText *w, const JsonbValue *v)
{
	StringInfo	out = w->out;

	if (w->over)
		return;
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
			append_escaped(w, v->val.string.val, v->val.string.len);
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
	check_budget(w);
}

/*
 * append_container -- append a jsonb array or object as compact JSON text.
 */
static void
append_container(StdinText *w, JsonbContainer *container)
{
	StringInfo	out = w->out;
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbIteratorToken tok;
	JsonbValue	v;
	bool		first = true;	/* no comma before the next item */

	while (!w->over && (tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
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
				append_escaped(w, v.val.string.val, v.val.string.len);
				appendStringInfoCharMacro(out, ':');
				first = true;	/* the value follows the colon directly */
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (!first)
					appendStringInfoCharMacro(out, ',');
				append_scalar(w, &v);
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
 * exec_stdin_serialize -- write value into out as compact UTF-8 JSON text,
 * as long as it stays within max_bytes.
 *
 * value is a scalar or a jbvBinary container, as the request iterator
 * hands it over.  Returns the size of the text; if that is more than
 * max_bytes, out holds only part of it and the size is the bytes counted
 * when the budget was passed (in a database that is not UTF-8, possibly
 * counted before conversion).
 */
int64
exec_stdin_serialize(const JsonbValue *value, StringInfo out, int max_bytes)
{
	StdinText	w;
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);

	w.out = out;
	/* Conversion to UTF-8 may grow the text: leave room, measure after. */
	w.budget = utf8 ? max_bytes : (int64) max_bytes * 4;
	w.over = false;
	w.total = 0;

	if (value->type == jbvBinary)
		append_container(&w, value->val.binary.data);
	else
		append_scalar(&w, value);
	check_budget(&w);
	if (w.over)
		return w.total;

	if (!utf8)
	{
		char	   *converted = exec_text_to_utf8(out->data, out->len, "stdin_json");

		if (converted != out->data)
		{
			resetStringInfo(out);
			appendStringInfoString(out, converted);
			pfree(converted);
		}
	}
	return out->len;
}

/*
 * exec_convert_text -- len bytes of s converted from the database encoding
 * to UTF-8 (to_utf8) or from UTF-8 to the database encoding, or NULL if
 * the text cannot be converted.
 *
 * PostgreSQL's own conversion error quotes the offending bytes (request
 * payload or program output): it is discarded.  Any error not about the
 * text (a cancel, out of memory) propagates.
 */
char *
exec_convert_text(const char *s, int len, bool to_utf8)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	char	   *volatile converted = NULL;

	PG_TRY();
	{
		converted = to_utf8 ? pg_server_to_any(s, len, PG_UTF8) :
			pg_any_to_server(s, len, PG_UTF8);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		if (!exec_error_blames_input(edata->sqlerrcode))
			PG_RE_THROW();
		FreeErrorData(edata);
		FlushErrorState();
		converted = NULL;
	}
	PG_END_TRY();
	return converted;
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
			if (!exec_error_blames_input(edata->sqlerrcode))
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
