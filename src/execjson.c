/*-------------------------------------------------------------------------
 *
 * execjson.c
 *	  The module: its loading and the SQL entry points exec_run(jsonb) and
 *	  exec_try(jsonb), which take a call through its steps.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <sys/wait.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"
#include "sandbox.h"
#include "stats.h"

PG_MODULE_MAGIC;

extern char **environ;

PG_FUNCTION_INFO_V1(exec_run);
PG_FUNCTION_INFO_V1(exec_try);

/*
 * execjson_preloaded -- was the library loaded at server start?
 *
 * Loaded later (by the first call of a session), a GUC would be defined
 * in that session only, where a value an unprivileged role supplied for the
 * placeholder (a startup option, a SET) is refused when re-applied, and the
 * setting falls back to its compiled-in default instead of what the DBA
 * configured; loaded first inside a parallel operation, no setting can be
 * applied at all.  So without shared_preload_libraries nothing runs.
 */
static bool execjson_preloaded = false;

/*
 * CallInProgress -- the call a backend is running, for what must still be
 * done when it ends in a FATAL (which skips PG_CATCH): its audit line, and
 * keeping the request out of the log lines of that FATAL.  The role names
 * are taken when the call starts, when the audit log is on: a role dropped
 * meanwhile has none.
 */
typedef struct CallInProgress
{
	bool		active;
	instr_time	start;
	char		role[NAMEDATALEN];
	char		session_role[NAMEDATALEN];
	int			fatal_sqlerrcode;	/* of a FATAL seen during the call, or 0 */
	bool		batch;			/* a batch: batch.c logs and counts its programs */
} CallInProgress;

static CallInProgress call = {false};

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * DETAIL_PREFIX -- how the DETAIL of every execjson error starts (errors.c).
 */
#define DETAIL_PREFIX "{\"code\": \"exec_"

/*
 * execjson_emit_log -- emit_log_hook: no log line written while a call
 * runs carries the statement or a context line (either may quote the
 * request) -- a FATAL's included, which PG_CATCH never sees -- and neither
 * does an execjson error re-raised in a parallel leader on behalf of its
 * worker.  A FATAL is noted for the call's audit line, and every line for
 * a batch's signal plan: the hooks it calls next may be any library's.
 */
static void
execjson_emit_log(ErrorData *edata)
{
	if (call.active ||
		(edata->detail != NULL &&
		 strncmp(edata->detail, DETAIL_PREFIX, strlen(DETAIL_PREFIX)) == 0))
	{
		edata->hide_stmt = true;
		edata->hide_ctx = true;
	}
	if (call.active && edata->elevel >= FATAL)
		call.fatal_sqlerrcode = edata->sqlerrcode;
	exec_spawn_note_foreign_code();
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * _PG_init -- define the GUCs (guc.c), note how the library was loaded,
 * install the log hook, and, when preloaded, ask for the statistics'
 * shared memory (stats.c).
 */
void
_PG_init(void)
{
	/*
	 * A single-user backend (not under a postmaster) counts as preloaded:
	 * its only user is the superuser the OS user who owns the data
	 * directory named, so no setting of it can be another role's.  (On
	 * PostgreSQL 13 the flag is not set when a single-user backend loads
	 * the library.)
	 */
	execjson_preloaded = process_shared_preload_libraries_in_progress ||
		!IsUnderPostmaster;
	exec_define_gucs();
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = execjson_emit_log;
	if (execjson_preloaded)
		exec_stats_init();
}

/*
 * exec_require_preload -- exec_not_preloaded unless the library was loaded
 * at server start.
 */
void
exec_require_preload(void)
{
	if (!execjson_preloaded)
		exec_raise_hint(EXEC_NOT_PRELOADED, NULL,
						"Add execjson to shared_preload_libraries in postgresql.conf and restart the server.");
}

/*
 * build_argv -- argv[0] is the canonical path, then the request's argv.
 */
static char **
build_argv(const char *canonical, const ExecRequest *req)
{
	char	  **argv = palloc(sizeof(char *) * (req->argc + 2));

	argv[0] = (char *) canonical;
	memcpy(&argv[1], req->argv, sizeof(char *) * req->argc);
	argv[req->argc + 1] = NULL;
	return argv;
}

/*
 * env_name_matches -- does "NAME=value" entry have the name of override
 * (also "NAME=value")?
 */
static bool
env_name_matches(const char *entry, const char *override)
{
	const char *eq = strchr(override, '=');
	size_t		namelen = eq - override;

	return strncmp(entry, override, namelen) == 0 && entry[namelen] == '=';
}

/*
 * build_envp -- the child's environment: the request's env, on top of the
 * server's when execjson.inherit_environment is on.
 */
static char **
build_envp(const ExecRequest *req)
{
	char	  **envp;
	int			n = 0;
	int			count = 0;
	int			i;

	if (!execjson_inherit_environment)
		return req->env;

	while (environ[count])
		count++;
	envp = palloc(sizeof(char *) * (count + req->nenv + 1));
	for (i = 0; i < count; i++)
	{
		int			j;
		bool		overridden = false;

		for (j = 0; j < req->nenv && !overridden; j++)
			overridden = env_name_matches(environ[i], req->env[j]);
		if (!overridden)
			envp[n++] = environ[i];
	}
	for (i = 0; i < req->nenv; i++)
		envp[n++] = req->env[i];
	envp[n] = NULL;
	return envp;
}

/*
 * raise_exit_status -- exec_failed for a program that exited non-zero or
 * was killed by a signal.
 */
pg_noreturn static void
raise_exit_status(const char *canonical, int status)
{
	ExecErrorDetails details;

	exec_details_init(&details);
	exec_details_add_string(&details, "program_path", canonical);
	if (WIFEXITED(status))
	{
		exec_details_add_int64(&details, "exit_code", WEXITSTATUS(status));
		exec_details_add_null(&details, "signal");
	}
	else
	{
		exec_details_add_null(&details, "exit_code");
		exec_details_add_int64(&details, "signal",
							   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	exec_raise(EXEC_FAILED, &details);
}

/*
 * io_error_kind -- a stable name for a stdin write errno.
 */
static const char *
io_error_kind(int err)
{
	switch (err)
	{
		case EIO:
			return "io_error";
		case ENOSPC:
			return "no_space";
		case EBADF:
			return "bad_descriptor";
		case EFAULT:
			return "bad_address";
		default:
			return "other";
	}
}

/*
 * exec_prepare -- steps 1 to 3 of a call: validate the request, resolve
 * the program (through cache when given: consecutive elements of a batch
 * that name the same program_path share one resolution, and all share one
 * plan of the signals to reset), serialize stdin, prepare the spawn.  Sets
 * stats->program_path once resolved.
 */
void
exec_prepare(Jsonb *request, ExecPrepared *prep, ExecCallStats *stats,
			 ExecResolveCache *cache)
{
	ExecRequest *req = &prep->req;
	ExecSpawnSpec *spec = &prep->spec;
	int64		stdin_bytes;

	exec_require_preload();
	exec_request_parse(request, req);
	exec_policy_check_env(req);
	if (cache && cache->program_path &&
		strcmp(cache->program_path, req->program_path) == 0)
		spec->path = pstrdup(cache->canonical); /* the cache's copy may go */
	else
	{
		spec->path = exec_policy_resolve(req->program_path);
		if (cache)
		{
			if (cache->program_path)
			{
				pfree(cache->program_path);
				pfree(cache->canonical);
			}
			cache->program_path = MemoryContextStrdup(cache->cxt, req->program_path);
			cache->canonical = MemoryContextStrdup(cache->cxt, spec->path);
		}
	}
	stats->program_path = spec->path;

	initStringInfo(&prep->stdin_text);
	stdin_bytes = exec_stdin_serialize(&req->stdin_json, &prep->stdin_text,
									   execjson_max_stdin_bytes);
	if (stdin_bytes > execjson_max_stdin_bytes)
	{
		ExecErrorDetails details;

		exec_details_init(&details);
		exec_details_add_string(&details, "program_path", spec->path);
		exec_details_add_int64(&details, "max_stdin_bytes", execjson_max_stdin_bytes);
		exec_details_add_int64(&details, "stdin_bytes", stdin_bytes);
		exec_raise(EXEC_STDIN_TOO_LARGE, &details);
	}

	spec->argv = build_argv(spec->path, req);
	spec->envp = build_envp(req);
	exec_spawn_add_limits(spec);
	spec->signals = NULL;
	if (cache)
	{
		if (!cache->signals_planned ||
			!exec_spawn_plan_is_current(&cache->signals))
		{
			exec_spawn_plan_signals(&cache->signals);
			cache->signals_planned = true;
		}
		spec->signals = &cache->signals;
	}
	exec_sandbox_check_settings(spec->path);
	spec->sandbox = exec_sandbox_plan();
	stats->sandbox = spec->sandbox ? spec->sandbox->flags : 0;
}

/*
 * exec_conclude -- the last step of a call whose program exited: decide
 * the outcome in the order of the contract (a cap passed has been raised
 * by wait.c already): a stdin write error other than a broken pipe, a
 * non-zero exit or a signal, stdout that is not JSON; else stdout as jsonb.
 */
Jsonb *
exec_conclude(ExecPrepared *prep, ExecOutcome *outcome)
{
	if (outcome->stdin_errno != 0 && outcome->stdin_errno != EPIPE)
	{
		ExecErrorDetails details;

		exec_details_init(&details);
		exec_details_add_string(&details, "program_path", prep->spec.path);
		exec_details_add_string(&details, "io_error_kind",
								io_error_kind(outcome->stdin_errno));
		exec_raise(EXEC_STDIN_WRITE_FAILED, &details);
	}

	if (!(WIFEXITED(outcome->wait_status) && WEXITSTATUS(outcome->wait_status) == 0))
		raise_exit_status(prep->spec.path, outcome->wait_status);

	return exec_stdout_parse(&outcome->stdout_buf, prep->spec.path);
}

/*
 * exec_call -- one call: validate, resolve, serialize, spawn, wait,
 * conclude.
 */
static Jsonb *
exec_call(Jsonb *request)
{
	ExecPrepared prep;
	ExecOutcome outcome;

	exec_prepare(request, &prep, &exec_call_stats, NULL);
	exec_run_child(&prep.spec, prep.stdin_text.data, prep.stdin_text.len,
				   prep.req.timeout_ms, &outcome);
	return exec_conclude(&prep, &outcome);
}

/*
 * exec_log_execution -- the audit line of execjson.log_executions, as JSON:
 *
 *	 execjson call: {"role": ..., "session_role": ..., "program_path": ...,
 *	   "pid": ...,
 *	   "duration_ms": ..., "outcome": ..., "exit_code": ..., "signal": ...,
 *	   "stdin_bytes": ..., "stdout_bytes": ..., "stderr_bytes": ...,
 *	   "sandbox": ..., "user_cpu_us": ..., "system_cpu_us": ...,
 *	   "max_rss_kb": ...}
 *
 * with "position": N after "session_role" for a program of a batch
 * (position > 0).  sandbox is "none" or the namespaces the call ran in
 * ("processes,filesystem,network").
 *
 * role is the current user, session_role the session's (they differ under
 * SET ROLE or in a SECURITY DEFINER function); null for a role that was
 * dropped.  outcome is "ok", an execjson error code, or "error:SQLSTATE"
 * for any other error (e.g. "error:57014" for a cancel, "error:57P01" for
 * a termination).  The CPU times and peak RSS are the program's (wait4),
 * null if it was not reaped.
 */
void
exec_log_execution(const ExecCallStats *st, instr_time start,
				   const char *outcome, int position)
{
	ExecErrorDetails line;
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);

	exec_details_init(&line);
	exec_details_add_db_string(&line, "role", call.role);
	exec_details_add_db_string(&line, "session_role", call.session_role);
	if (position > 0)
		exec_details_add_int64(&line, "position", position);
	exec_details_add_string(&line, "program_path", st->program_path);
	if (st->pid > 0)
		exec_details_add_int64(&line, "pid", st->pid);
	else
		exec_details_add_null(&line, "pid");
	exec_details_add_int64(&line, "duration_ms",
						   (int64) INSTR_TIME_GET_MILLISEC(duration));
	exec_details_add_string(&line, "outcome", outcome);
	if (st->reaped && WIFEXITED(st->wait_status))
		exec_details_add_int64(&line, "exit_code", WEXITSTATUS(st->wait_status));
	else
		exec_details_add_null(&line, "exit_code");
	if (st->reaped && WIFSIGNALED(st->wait_status))
		exec_details_add_int64(&line, "signal", WTERMSIG(st->wait_status));
	else
		exec_details_add_null(&line, "signal");
	exec_details_add_int64(&line, "stdin_bytes", st->stdin_bytes);
	exec_details_add_int64(&line, "stdout_bytes", st->stdout_bytes);
	exec_details_add_int64(&line, "stderr_bytes", st->stderr_bytes);
	exec_details_add_string(&line, "sandbox", exec_sandbox_describe(st->sandbox));
	if (st->reaped)
	{
		exec_details_add_int64(&line, "user_cpu_us",
							   (int64) (st->user_cpu_ms * 1000.0 + 0.5));
		exec_details_add_int64(&line, "system_cpu_us",
							   (int64) (st->system_cpu_ms * 1000.0 + 0.5));
		exec_details_add_int64(&line, "max_rss_kb", st->max_rss_kb);
	}
	else
	{
		exec_details_add_null(&line, "user_cpu_us");
		exec_details_add_null(&line, "system_cpu_us");
		exec_details_add_null(&line, "max_rss_kb");
	}
	appendStringInfoChar(&line.buf, '}');

	ereport(LOG,
			(errmsg("execjson call: %s", line.buf.data),
			 errhidestmt(true),
			 errhidecontext(true)));
}

/*
 * exec_outcome_of_error -- the "outcome" of the audit line for the error
 * edata just caught: the execjson error code, or "error:SQLSTATE".
 */
const char *
exec_outcome_of_error(const ErrorData *edata)
{
	if (exec_error_is_ours(edata))
		return exec_error_code_name(exec_last_error.code);
	return psprintf("error:%s", unpack_sql_state(edata->sqlerrcode));
}

/*
 * set_role_name -- copy the name of role into buf ("" if it has none).
 */
static void
set_role_name(char *buf, Oid role)
{
	const char *name = GetUserNameFromId(role, true);

	strlcpy(buf, name ? name : "", NAMEDATALEN);
}

/*
 * exec_call_on_exit -- before_shmem_exit callback: a call cut short by a
 * FATAL (pg_terminate_backend, postmaster death) still gets its audit line.
 */
static void
exec_call_on_exit(int code, Datum arg)
{
	int			sqlerrcode = call.fatal_sqlerrcode ?
		call.fatal_sqlerrcode : ERRCODE_ADMIN_SHUTDOWN;

	if (call.active && call.batch)
		exec_batch_on_exit(sqlerrcode);
	else if (call.active && execjson_log_executions)
		exec_log_execution(&exec_call_stats, call.start,
						   psprintf("error:%s", unpack_sql_state(sqlerrcode)), 0);
	call.active = false;
}

/*
 * exec_begin_call -- note the call (or batch) that starts, for the exit
 * callback, the log hook and the audit line.  exec_end_call() notes its
 * end, on every path but a FATAL.
 */
void
exec_begin_call(bool batch)
{
	static bool exit_callback_registered = false;

	/*
	 * The exit callbacks run in the reverse order of registration: these two
	 * are registered before wait.c's (at its first program), so they run
	 * after it, once every program has been killed and reaped.
	 */
	if (!exit_callback_registered)
	{
		exec_stats_register_exit_callback();
		before_shmem_exit(exec_call_on_exit, (Datum) 0);
		exit_callback_registered = true;
	}
	INSTR_TIME_SET_CURRENT(call.start);
	/* Only the audit line needs them (log_executions cannot change mid-call). */
	if (execjson_log_executions)
	{
		set_role_name(call.role, GetUserId());
		set_role_name(call.session_role, GetSessionUserId());
	}
	call.fatal_sqlerrcode = 0;
	call.batch = batch;
	call.active = true;
}

/*
 * exec_end_call -- the call exec_begin_call() noted has ended.
 */
void
exec_end_call(void)
{
	call.active = false;
}

/*
 * exec_call_guarded -- exec_call, counted in pg_stat_execjson (stats.c),
 * with the audit line when execjson.log_executions is on, and with every
 * error that propagates out of it -- execjson's own, and PostgreSQL's (a
 * cancel, say) -- stripped of the STATEMENT and CONTEXT lines, which may
 * quote the request.  The error is otherwise unchanged (a cancel stays
 * 57014).  The call is counted before its error propagates; a FATAL that
 * skips PG_CATCH is counted by stats.c's exit callback.
 */
static Jsonb *
exec_call_guarded(Jsonb *request)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	instr_time	start;
	Jsonb	   *volatile result = NULL;

	memset(&exec_call_stats, 0, sizeof(exec_call_stats));
	exec_last_error.raised = false;
	exec_error_position = 0;
	exec_begin_call(false);
	start = call.start;
	exec_stats_begin();

	PG_TRY();
	{
		result = exec_call(request);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		exec_end_call();
		edata = CopyErrorData();
		FlushErrorState();
		{
			int			code;
			ExecStatsOutcome outcome = exec_stats_of_error(edata, &code);

			exec_stats_end(outcome, code);
		}
		if (execjson_log_executions)
			exec_log_execution(&exec_call_stats, start,
							   exec_outcome_of_error(edata), 0);
		edata->hide_stmt = true;
		edata->hide_ctx = true;
		edata->context = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();

	exec_end_call();
	exec_stats_end(EXEC_STATS_OK, 0);
	if (execjson_log_executions)
		exec_log_execution(&exec_call_stats, start, "ok", 0);
	/* cppcheck-suppress nullPointer ; set in PG_TRY, which it cannot follow */
	return result;
}

/*
 * exec_run -- SQL: exec_run(request jsonb) RETURNS jsonb.
 *
 * Runs the program the request names and returns its stdout as jsonb;
 * every failure is an ERROR (see errors.c).
 */
Datum
exec_run(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(exec_call_guarded(PG_GETARG_JSONB_P(0)));
}

/*
 * exec_error_value -- {"ok": false, "error": {...}} for the execjson error
 * just caught.  Built as text from execjson's own strings and parsed.
 */
Jsonb *
exec_error_value(void)
{
	ExecErrorDetails value;
	ExecErrorCode code = exec_last_error.code;

	exec_details_init(&value);
	exec_details_add_string(&value, "code", exec_error_code_name(code));
	exec_details_add_string(&value, "category", exec_error_category(code));
	appendStringInfoString(&value.buf, ", \"retryable\": false");
	exec_details_add_string(&value, "message", exec_last_error.message);
	exec_details_add_string(&value, "sqlstate",
							unpack_sql_state(exec_error_sqlstate(code)));
	appendStringInfoString(&value.buf, ", \"details\": ");
	appendStringInfoString(&value.buf, exec_last_error.details);
	appendStringInfoChar(&value.buf, '}');

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											  CStringGetDatum(psprintf("{\"ok\": false, \"error\": %s}",
																	   value.buf.data))));
}

/*
 * exec_ok_value -- {"ok": true, "value": result}.
 */
Jsonb *
exec_ok_value(Jsonb *result)
{
	JsonbParseState *state = NULL;
	JsonbValue	key;
	JsonbValue	v;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	key.type = jbvString;
	key.val.string.val = "ok";
	key.val.string.len = 2;
	pushJsonbValue(&state, WJB_KEY, &key);
	v.type = jbvBool;
	v.val.boolean = true;
	pushJsonbValue(&state, WJB_VALUE, &v);
	key.val.string.val = "value";
	key.val.string.len = 5;
	pushJsonbValue(&state, WJB_KEY, &key);
	if (JB_ROOT_IS_SCALAR(result))
		JsonbExtractScalar(&result->root, &v);
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &result->root;
		v.val.binary.len = VARSIZE(result) - VARHDRSZ;
	}
	pushJsonbValue(&state, WJB_VALUE, &v);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * exec_try -- SQL: exec_try(request jsonb) RETURNS jsonb.
 *
 * The same call as exec_run, but an execjson error comes back as a value,
 * {"ok": false, "error": {"code", "category", "retryable", "message",
 * "sqlstate", "details"}}, and a result as {"ok": true, "value": ...}.
 * Any other error (query cancel, statement_timeout, out of memory) still
 * raises, and termination still ends the session.
 *
 * Catching without a subtransaction is safe here because an execjson error
 * is raised only at points where the call holds nothing but memory in the
 * current context: by then wait.c has already killed and reaped the child
 * and closed its fds (PG_FINALLY), and no lock, buffer or snapshot is held.
 */
Datum
exec_try(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = PG_GETARG_JSONB_P(0);
	MemoryContext oldcontext = CurrentMemoryContext;
	Jsonb	   *volatile result = NULL;
	volatile bool failed = false;

	PG_TRY();
	{
		result = exec_ok_value(exec_call_guarded(request));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		if (!exec_error_is_ours(edata))
		{
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FreeErrorData(edata);
		FlushErrorState();
		failed = true;
	}
	PG_END_TRY();

	if (failed)
		PG_RETURN_JSONB_P(exec_error_value());
	PG_RETURN_JSONB_P(result);
}
