/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  The error table of execjson: every error a call can end in.
 *
 * Each error has a stable machine-readable code, a SQLSTATE, a fixed
 * message and a category.  exec_raise() reports one with an errdetail
 * that is a JSON object a client can parse:
 *
 *	 {"code": "exec_failed", "category": "unknown", "retryable": false,
 *	  "details": {...}}
 *
 * Nothing here ever carries program output or request payload: callers
 * add only the facts listed in the README's error table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EXECJSON_ERRORS_H
#define EXECJSON_ERRORS_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "compat.h"

typedef enum ExecErrorCode
{
	EXEC_REQUEST_INVALID,
	EXEC_PROGRAM_NOT_ALLOWED,
	EXEC_PROGRAM_MISSING,
	EXEC_PROGRAM_NOT_EXECUTABLE,
	EXEC_STDIN_TOO_LARGE,
	EXEC_SPAWN_FAILED,
	EXEC_TIMEOUT,
	EXEC_FAILED,
	EXEC_STDIN_WRITE_FAILED,
	EXEC_STDOUT_TOO_LARGE,
	EXEC_STDERR_TOO_LARGE,
	EXEC_STDOUT_INVALID_JSON,
	EXEC_NOT_PRELOADED,
	EXEC_ENV_NOT_ALLOWED,
	EXEC_SANDBOX_UNAVAILABLE
} ExecErrorCode;

#define EXEC_LAST_ERROR_CODE EXEC_SANDBOX_UNAVAILABLE

/*
 * ExecErrorDetails collects the "details" object of one error.  Keys are
 * fixed strings; values are paths, integers or null, never payload.
 */
typedef struct ExecErrorDetails
{
	StringInfoData buf;
	int			nfields;
} ExecErrorDetails;

extern void exec_details_init(ExecErrorDetails *details);
extern void exec_details_add_string(ExecErrorDetails *details,
									const char *key, const char *value);
extern void exec_details_add_db_string(ExecErrorDetails *details,
									   const char *key, const char *value);
extern void exec_details_add_int64(ExecErrorDetails *details,
								   const char *key, int64 value);
extern void exec_details_add_null(ExecErrorDetails *details, const char *key);

/*
 * ExecRaisedError -- the last error exec_raise_msg() raised.  A caller that
 * catches errors clears "raised" first; if it is set in PG_CATCH and the
 * SQLSTATE matches, the error being handled is this one.  details is the
 * "details" object as JSON text, closed; the strings live in the memory
 * context that was current when the error was raised.
 */
typedef struct ExecRaisedError
{
	bool		raised;
	ExecErrorCode code;
	const char *message;
	const char *details;
} ExecRaisedError;

extern ExecRaisedError exec_last_error;

/*
 * exec_error_position -- when > 0, exec_raise() and friends add
 * "position": N to the details (exec_run_many sets it around each
 * element's steps).
 */
extern int	exec_error_position;

extern bool exec_error_is_ours(const ErrorData *edata);
extern bool exec_error_blames_input(int sqlerrcode);

extern const char *exec_error_code_name(ExecErrorCode code);
extern const char *exec_error_category(ExecErrorCode code);
extern int	exec_error_sqlstate(ExecErrorCode code);

pg_noreturn extern void exec_raise(ExecErrorCode code, ExecErrorDetails *details);
pg_noreturn extern void exec_raise_msg(ExecErrorCode code, const char *message,
									   ExecErrorDetails *details);
pg_noreturn extern void exec_raise_hint(ExecErrorCode code,
										ExecErrorDetails *details,
										const char *hint);
pg_noreturn extern void exec_raise_request_invalid(const char *message,
												   const char *field);

#endif							/* EXECJSON_ERRORS_H */
