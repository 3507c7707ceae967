/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  The one table of execjson's error codes, SQLSTATEs and messages, and
 *	  the function that reports them.
 *
 * The README's error table and the regression tests check against this
 * table; change them together.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "errors.h"
#include "execjson.h"

typedef struct ExecErrorInfo
{
	const char *code;			/* stable machine-readable code */
	int			sqlstate;		/* MAKE_SQLSTATE value */
	const char *message;		/* fixed primary message */
	const char *category;		/* "parsing_input" or "unknown" */
} ExecErrorInfo;

/* Indexed by ExecErrorCode; keep in the enum's order. */
static const ExecErrorInfo exec_errors[] = {
	[EXEC_REQUEST_INVALID] = {"exec_request_invalid",
		ERRCODE_INVALID_PARAMETER_VALUE,
	"invalid exec request", "parsing_input"},
	[EXEC_PROGRAM_NOT_ALLOWED] = {"exec_program_not_allowed",
		ERRCODE_INSUFFICIENT_PRIVILEGE,
	"program_path is not allowed by policy", "unknown"},
	[EXEC_PROGRAM_MISSING] = {"exec_program_missing",
		ERRCODE_UNDEFINED_FILE,
	"program_path does not exist", "unknown"},
	[EXEC_PROGRAM_NOT_EXECUTABLE] = {"exec_program_not_executable",
		ERRCODE_INSUFFICIENT_PRIVILEGE,
	"program_path is not executable", "unknown"},
	[EXEC_STDIN_TOO_LARGE] = {"exec_stdin_too_large",
		ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	"stdin_json exceeded maximum size", "parsing_input"},
	[EXEC_SPAWN_FAILED] = {"exec_spawn_failed",
		ERRCODE_SYSTEM_ERROR,
	"failed to spawn program", "unknown"},
	[EXEC_TIMEOUT] = {"exec_timeout",
		ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
	"program execution timed out", "unknown"},
	[EXEC_FAILED] = {"exec_failed",
		ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
	"program exited with non-zero status", "unknown"},
	[EXEC_STDIN_WRITE_FAILED] = {"exec_stdin_write_failed",
		ERRCODE_IO_ERROR,
	"failed to write program stdin", "unknown"},
	[EXEC_STDOUT_TOO_LARGE] = {"exec_stdout_too_large",
		ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	"program stdout exceeded maximum size", "unknown"},
	[EXEC_STDERR_TOO_LARGE] = {"exec_stderr_too_large",
		ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	"program stderr exceeded maximum size", "unknown"},
	[EXEC_STDOUT_INVALID_JSON] = {"exec_stdout_invalid_json",
		ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION,
	"program stdout was not valid JSON", "parsing_input"},
	[EXEC_NOT_PRELOADED] = {"exec_not_preloaded",
		ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
	"execjson must be loaded at server start", "unknown"},
	[EXEC_ENV_NOT_ALLOWED] = {"exec_env_not_allowed",
		ERRCODE_INSUFFICIENT_PRIVILEGE,
	"env is not allowed by policy", "unknown"},
	[EXEC_SANDBOX_UNAVAILABLE] = {"exec_sandbox_unavailable",
		ERRCODE_FEATURE_NOT_SUPPORTED,
	"program sandbox is not available", "unknown"},
};

StaticAssertDecl(lengthof(exec_errors) == EXEC_LAST_ERROR_CODE + 1,
				 "exec_errors must have one entry per ExecErrorCode");

/* The last error exec_raise_msg() raised; see errors.h. */
ExecRaisedError exec_last_error = {false};

/* See errors.h. */
int			exec_error_position = 0;

/*
 * append_escaped_byte -- a byte that is not valid text in the database
 * encoding, as the four characters \xNN (in JSON, "\\xNN").
 */
static void
append_escaped_byte(StringInfo buf, unsigned char c)
{
	appendStringInfo(buf, "\\\\x%02x", c);
}

/*
 * append_json_text -- append len bytes of s, known to be valid in the
 * database encoding (or, with ascii_only, bytes of any encoding of which
 * every non-ASCII byte is to be escaped), as the inside of a JSON string.
 */
static void
append_json_text(StringInfo buf, const char *s, int len, bool ascii_only)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;

	for (; p < end; p++)
	{
		switch (*p)
		{
			case '"':
				appendStringInfoString(buf, "\\\"");
				break;
			case '\\':
				appendStringInfoString(buf, "\\\\");
				break;
			default:
				if (*p < 0x20)
					appendStringInfo(buf, "\\u%04x", *p);
				else if (*p >= 0x80 && ascii_only)
					append_escaped_byte(buf, *p);
				else
					appendStringInfoCharMacro(buf, *p);
				break;
		}
	}
}

/*
 * append_json_string -- append str to buf as a JSON string literal that is
 * valid text in the database encoding.
 *
 * str is text from the operating system or from execjson itself (a path, a
 * code), taken to be UTF-8.  In a UTF-8 database a byte that is not part of
 * valid UTF-8 is written as \xNN; in another database the text is converted,
 * and if it cannot be, every non-ASCII byte is written as \xNN.  So what
 * execjson reports can always be stored, dumped and restored.
 */
static void
append_json_string(StringInfo buf, const char *str)
{
	int			len = strlen(str);

	appendStringInfoCharMacro(buf, '"');
	if (GetDatabaseEncoding() == PG_UTF8)
	{
		const unsigned char *p = (const unsigned char *) str;
		const unsigned char *end = p + len;

		while (p < end)
		{
			int			l = (*p < 0x80) ? 1 : pg_utf_mblen(p);

			if (*p >= 0x80 && (l > end - p || !pg_utf8_islegal(p, l)))
			{
				append_escaped_byte(buf, *p++);
				continue;
			}
			append_json_text(buf, (const char *) p, l, false);
			p += l;
		}
	}
	else
	{
		char	   *converted = NULL;

		if (pg_verify_mbstr(PG_UTF8, str, len, true))
			converted = exec_convert_text(str, len, false);
		if (converted)
			append_json_text(buf, converted, strlen(converted), false);
		else
			append_json_text(buf, str, len, true);
	}
	appendStringInfoCharMacro(buf, '"');
}

/*
 * append_json_db_string -- append str, text of the database (a role name),
 * as a JSON string literal; bytes that are not valid in the database
 * encoding are written as \xNN.  NULL or "" is null.
 */
static void
append_json_db_string(StringInfo buf, const char *str)
{
	int			len = str ? strlen(str) : 0;

	if (len == 0)
	{
		appendStringInfoString(buf, "null");
		return;
	}

	appendStringInfoCharMacro(buf, '"');
	append_json_text(buf, str, len,
					 !pg_verify_mbstr(GetDatabaseEncoding(), str, len, true));
	appendStringInfoCharMacro(buf, '"');
}

/*
 * exec_details_init -- start an empty "details" object.
 */
void
exec_details_init(ExecErrorDetails *details)
{
	initStringInfo(&details->buf);
	appendStringInfoChar(&details->buf, '{');
	details->nfields = 0;
}

static void
details_add_key(ExecErrorDetails *details, const char *key)
{
	if (details->nfields++ > 0)
		appendStringInfoString(&details->buf, ", ");
	append_json_string(&details->buf, key);
	appendStringInfoString(&details->buf, ": ");
}

/*
 * exec_details_add_string -- add "key": "value" (value NULL adds null).
 */
void
exec_details_add_string(ExecErrorDetails *details, const char *key,
						const char *value)
{
	details_add_key(details, key);
	if (value == NULL)
		appendStringInfoString(&details->buf, "null");
	else
		append_json_string(&details->buf, value);
}

/*
 * exec_details_add_db_string -- add "key": "value" for a value that is
 * text of the database (a role name) rather than of the OS.
 */
void
exec_details_add_db_string(ExecErrorDetails *details, const char *key,
						   const char *value)
{
	details_add_key(details, key);
	append_json_db_string(&details->buf, value);
}

/*
 * exec_details_add_int64 -- add "key": value.
 */
void
exec_details_add_int64(ExecErrorDetails *details, const char *key,
					   int64 value)
{
	details_add_key(details, key);
	appendStringInfo(&details->buf, INT64_FORMAT, value);
}

/*
 * exec_details_add_null -- add "key": null.
 */
void
exec_details_add_null(ExecErrorDetails *details, const char *key)
{
	details_add_key(details, key);
	appendStringInfoString(&details->buf, "null");
}

/*
 * exec_error_is_ours -- is edata, caught in PG_CATCH, the error
 * exec_raise_msg() raised last (and not, say, a cancel)?  The caller
 * clears exec_last_error.raised before the code it guards.
 */
bool
exec_error_is_ours(const ErrorData *edata)
{
	return exec_last_error.raised && edata->elevel == ERROR &&
		edata->sqlerrcode == exec_errors[exec_last_error.code].sqlstate;
}

/*
 * exec_error_blames_input -- may an error raised while converting or
 * parsing text be blamed on that text?
 *
 * Only data exceptions (class 22: bad syntax, a byte sequence invalid or
 * untranslatable, a number out of range) and program limits (class 54: a
 * value too large or nested too deeply for jsonb) are.  Anything else --
 * a cancel, running out of memory, a missing conversion, an I/O error --
 * keeps propagating: catching it without a subtransaction could hide a
 * resource still held.
 */
bool
exec_error_blames_input(int sqlerrcode)
{
	char		class0 = PGUNSIXBIT(sqlerrcode);
	char		class1 = PGUNSIXBIT(sqlerrcode >> 6);

	return (class0 == '2' && class1 == '2') || (class0 == '5' && class1 == '4');
}

/*
 * exec_error_code_name -- the stable code of an error, e.g. "exec_failed".
 */
const char *
exec_error_code_name(ExecErrorCode code)
{
	return exec_errors[code].code;
}

/*
 * exec_error_category -- the category of an error, e.g. "parsing_input".
 */
const char *
exec_error_category(ExecErrorCode code)
{
	return exec_errors[code].category;
}

/*
 * exec_error_sqlstate -- the SQLSTATE of an error, as MAKE_SQLSTATE gives it.
 */
int
exec_error_sqlstate(ExecErrorCode code)
{
	return exec_errors[code].sqlstate;
}

/*
 * raise_error -- report an execjson error with a primary message of the
 * caller's choosing (NULL: the table's fixed message) and an optional hint.
 *
 * details may be NULL for an empty details object.  Does not return.
 *
 * The statement (errhidestmt) and the context are left out: either may
 * hold the request, and errors never carry request payload.  The error is also
 * remembered in exec_last_error, for exec_try() to turn into a value.
 */
pg_noreturn static void
raise_error(ExecErrorCode code, const char *message,
			ExecErrorDetails *details, const char *hint)
{
	const ExecErrorInfo *info = &exec_errors[code];
	StringInfoData detail;
	ExecErrorDetails position_only;

	if (exec_error_position > 0)
	{
		if (details == NULL)
		{
			exec_details_init(&position_only);
			details = &position_only;
		}
		exec_details_add_int64(details, "position", exec_error_position);
	}

	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"code\": ");
	append_json_string(&detail, info->code);
	appendStringInfoString(&detail, ", \"category\": ");
	append_json_string(&detail, info->category);
	appendStringInfoString(&detail, ", \"retryable\": false, \"details\": ");
	if (details)
	{
		appendStringInfoChar(&details->buf, '}');	/* close the object */
		appendBinaryStringInfo(&detail, details->buf.data, details->buf.len);
	}
	else
		appendStringInfoString(&detail, "{}");
	appendStringInfoChar(&detail, '}');

	exec_last_error.raised = true;
	exec_last_error.code = code;
	exec_last_error.message = message ? message : info->message;
	exec_last_error.details = details ? details->buf.data : "{}";

	/*
	 * No CONTEXT either: the callers' context lines (a PL/pgSQL "SQL
	 * statement" line, say) may quote the request.  PG_TRY and the
	 * top-level error handler restore error_context_stack.
	 */
	error_context_stack = NULL;
	ereport(ERROR,
			(errcode(info->sqlstate),
			 errmsg_internal("%s", exec_last_error.message),
			 errdetail_internal("%s", detail.data),
			 hint ? errhint("%s", hint) : 0,
			 errhidestmt(true),
			 errhidecontext(true)));
	pg_unreachable();
}

/*
 * exec_raise_msg -- report an execjson error with a primary message of the
 * caller's choosing (NULL: the table's fixed message).
 */
void
exec_raise_msg(ExecErrorCode code, const char *message,
			   ExecErrorDetails *details)
{
	raise_error(code, message, details, NULL);
}

/*
 * exec_raise_hint -- report an execjson error with its fixed message and
 * a HINT saying what to do (execjson's own words, never payload).
 */
void
exec_raise_hint(ExecErrorCode code, ExecErrorDetails *details,
				const char *hint)
{
	raise_error(code, NULL, details, hint);
}

/*
 * exec_raise -- report an execjson error with its fixed message.
 */
void
exec_raise(ExecErrorCode code, ExecErrorDetails *details)
{
	exec_raise_msg(code, NULL, details);
}

/*
 * exec_raise_request_invalid -- report exec_request_invalid with the given
 * message and, if field is not NULL, {"field": field} as details.
 *
 * field must be one of the documented request fields, never a name taken
 * from the request itself.
 */
void
exec_raise_request_invalid(const char *message, const char *field)
{
	ExecErrorDetails details;

	exec_details_init(&details);
	if (field)
		exec_details_add_string(&details, "field", field);
	exec_raise_msg(EXEC_REQUEST_INVALID, message, &details);
}
