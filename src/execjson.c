/*-------------------------------------------------------------------------
 *
 * execjson.c
 *	  The module: its GUCs (the DBA's policy) and the SQL entry point
 *	  exec_run(jsonb), which takes a call through its steps.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <sys/wait.h>

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"

PG_MODULE_MAGIC;

/* GUC variables */
char	   *execjson_allow_prefixes = NULL;
int			execjson_max_stdin_bytes = 1024 * 1024;
int			execjson_max_stdout_bytes = 1024 * 1024;
int			execjson_max_stderr_bytes = 1024 * 1024;
bool		execjson_inherit_environment = false;

extern char **environ;

PG_FUNCTION_INFO_V1(exec_run);

/*
 * _PG_init -- define the GUCs, all superuser-only, and reserve the prefix.
 *
 * A value an unprivileged role set on a placeholder before the library
 * was loaded is re-applied here with that role's privileges, so it is
 * refused with a WARNING and never takes effect.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("execjson.allow_prefixes",
							   "Comma-separated absolute directories that programs run by exec_run must lie under.",
							   "Compared with the program's canonical path, component by component. Empty: no program may run.",
							   &execjson_allow_prefixes,
							   "/nix/store/",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   execjson_check_allow_prefixes,
							   execjson_assign_allow_prefixes,
							   NULL);

	DefineCustomIntVariable("execjson.max_stdin_bytes",
							"Largest serialized stdin_json exec_run writes to a program.",
							NULL,
							&execjson_max_stdin_bytes,
							1024 * 1024, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.max_stdout_bytes",
							"Largest stdout exec_run accepts from a program; more kills it.",
							NULL,
							&execjson_max_stdout_bytes,
							1024 * 1024, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.max_stderr_bytes",
							"Largest stderr exec_run drains (and discards) from a program; more kills it.",
							NULL,
							&execjson_max_stderr_bytes,
							1024 * 1024, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("execjson.inherit_environment",
							 "Whether programs run by exec_run start from the server's environment.",
							 "Off: a program's environment is exactly the request's env. On: the server's environment, overridden by env.",
							 &execjson_inherit_environment,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("execjson");
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
 * exec_run -- SQL: exec_run(request jsonb) RETURNS jsonb.
 *
 * Validate, resolve, serialize, spawn, wait; then decide the outcome in
 * the order of the contract: a cap passed (raised by wait.c as soon as it
 * happens), a stdin write error other than a broken pipe, a non-zero exit
 * or a signal, stdout that is not JSON; else stdout as jsonb.
 */
Datum
exec_run(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = PG_GETARG_JSONB_P(0);
	ExecRequest req;
	char	   *canonical;
	StringInfoData stdin_text;
	ExecOutcome outcome;
	Jsonb	   *result;

	exec_request_parse(request, &req);
	canonical = exec_policy_resolve(req.program_path);

	initStringInfo(&stdin_text);
	exec_stdin_serialize(&req.stdin_json, &stdin_text);
	if (stdin_text.len > execjson_max_stdin_bytes)
	{
		ExecErrorDetails details;

		exec_details_init(&details);
		exec_details_add_string(&details, "program_path", canonical);
		exec_details_add_int64(&details, "max_stdin_bytes", execjson_max_stdin_bytes);
		exec_details_add_int64(&details, "stdin_bytes", stdin_text.len);
		exec_raise(EXEC_STDIN_TOO_LARGE, &details);
	}

	exec_child_register_exit_callback();
	exec_run_child(canonical, build_argv(canonical, &req), build_envp(&req),
				   stdin_text.data, stdin_text.len, req.timeout_ms, &outcome);

	if (outcome.stdin_errno != 0 && outcome.stdin_errno != EPIPE)
	{
		ExecErrorDetails details;

		exec_details_init(&details);
		exec_details_add_string(&details, "program_path", canonical);
		exec_details_add_string(&details, "io_error_kind",
								io_error_kind(outcome.stdin_errno));
		exec_raise(EXEC_STDIN_WRITE_FAILED, &details);
	}

	if (!(WIFEXITED(outcome.wait_status) && WEXITSTATUS(outcome.wait_status) == 0))
		raise_exit_status(canonical, outcome.wait_status);

	result = exec_stdout_parse(&outcome.stdout_buf, canonical);
	PG_RETURN_JSONB_P(result);
}
