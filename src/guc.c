/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The DBA's policy: execjson's GUCs, all superuser-only.
 *
 * They are defined once, when the postmaster loads the library through
 * shared_preload_libraries, so every session starts with the values the
 * superusers configured and no placeholder an unprivileged role set can
 * stand in for them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "compat.h"
#include "execjson.h"

/* GUC variables */
char	   *execjson_allow_prefixes = NULL;
char	   *execjson_allow_env = NULL;
int			execjson_max_stdin_bytes = 1024 * 1024;
int			execjson_max_stdout_bytes = 1024 * 1024;
int			execjson_max_stderr_bytes = 1024 * 1024;
bool		execjson_inherit_environment = false;
bool		execjson_log_executions = false;
int			execjson_rlimit_cpu = -1;
int			execjson_rlimit_as = -1;
int			execjson_rlimit_nofile = -1;
int			execjson_rlimit_nproc = -1;
int			execjson_rlimit_fsize = -1;
int			execjson_stats_max = 1000;
bool		execjson_stats_track = true;
int			execjson_max_parallel = 4;

/*
 * exec_guc_list_next -- the next comma-separated item of a GUC list value
 * at *p, without its surrounding blanks (possibly empty); NULL at the end.
 * *len is its length; *p moves past it.
 */
const char *
exec_guc_list_next(const char **p, size_t *len)
{
	const char *s = *p;
	const char *comma;
	size_t		l;

	if (s == NULL)
		return NULL;
	comma = strchr(s, ',');
	l = comma ? (size_t) (comma - s) : strlen(s);
	*p = comma ? comma + 1 : NULL;
	while (l > 0 && (*s == ' ' || *s == '\t' || *s == '\n'))
		s++, l--;
	while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n'))
		l--;
	*len = l;
	return s;
}

/*
 * exec_guc_list_parse -- parse a comma-separated GUC value into an
 * ExecGucList allocated as a check hook's "extra" (strings after the
 * array, in the same allocation).
 *
 * Entries are trimmed; empty ones are skipped.  check() validates each
 * entry (setting GUC_check_errdetail and returning false to reject the
 * value) and may shorten it.  Returns NULL if an entry is rejected or
 * memory runs out.
 */
ExecGucList *
exec_guc_list_parse(const char *value, ExecGucListCheck check)
{
	const char *p;
	const char *item;
	size_t		len;
	int			count = 0;
	size_t		strbytes = 0;
	ExecGucList *list = NULL;
	char	   *strings = NULL;
	int			pass;

	if (value == NULL)
		value = "";

	/* Pass 0 validates and sizes, pass 1 copies. */
	for (pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			list = execjson_guc_malloc(offsetof(ExecGucList, items) +
									   sizeof(list->items[0]) * count + strbytes);
			if (list == NULL)
				return NULL;
			strings = (char *) &list->items[count];
			list->count = 0;
		}
		for (p = value; (item = exec_guc_list_next(&p, &len)) != NULL;)
		{
			if (len > 0)
			{
				if (!check(item, &len))
					return NULL;	/* only in pass 0: check is pure */
				if (pass == 0)
				{
					count++;
					strbytes += len + 1;
				}
				else
				{
					memcpy(strings, item, len);
					strings[len] = '\0';
					list->items[list->count].str = strings;
					list->items[list->count].len = len;
					list->count++;
					strings += len + 1;
				}
			}
		}
	}
	return list;
}

/*
 * exec_accept_invalid_setting -- whether a check hook should accept an invalid
 * value from source as "invalid" (every call then fails closed) instead of
 * rejecting it.  Rejecting it would leave the previous value -- at server
 * start, the default: no sandbox -- with only a line in the log.  So:
 * accepted when read from the configuration file (or the command line) by
 * the postmaster, by a backend reloading it (outside any transaction), or
 * restored in a parallel worker; rejected -- an ERROR to the superuser --
 * for SET, ALTER ROLE/DATABASE ... SET (PGC_S_TEST) and ALTER SYSTEM (which
 * validates with PGC_S_FILE, in a backend's transaction).
 */
bool
exec_accept_invalid_setting(GucSource source)
{
	if (source >= PGC_S_INTERACTIVE)
		return false;
	return !IsUnderPostmaster || !IsTransactionState() ||
		InitializingParallelWorker;
}

/*
 * exec_log_invalid_setting -- say, once (from the postmaster), that the
 * configuration file gives name an invalid value that fails every call.
 */
void
exec_log_invalid_setting(const char *name, const char *consequence)
{
	if (IsUnderPostmaster)
		return;
	ereport(LOG,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\" in the server's configuration", name),
			 GUC_check_errdetail_string ?
			 errdetail_internal("%s", GUC_check_errdetail_string) : 0,
			 errhint("%s", consequence)));
}

/*
 * exec_define_gucs -- define the GUCs and reserve the "execjson" prefix.
 */
void
exec_define_gucs(void)
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

	/*
	 * stdin and stdout are held in memory, in one allocation of at most
	 * MaxAllocSize (1 GB), which must also hold one byte past the cap and a
	 * terminating NUL.
	 */
	DefineCustomIntVariable("execjson.max_stdin_bytes",
							"Largest serialized stdin_json exec_run writes to a program.",
							NULL,
							&execjson_max_stdin_bytes,
							1024 * 1024, 0, MaxAllocSize - 2,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.max_stdout_bytes",
							"Largest stdout exec_run accepts from a program; more kills it.",
							NULL,
							&execjson_max_stdout_bytes,
							1024 * 1024, 0, MaxAllocSize - 2,
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

	DefineCustomStringVariable("execjson.allow_env",
							   "Environment variables a request's env may set: names, PREFIX* or *.",
							   "Empty: a request may set none. Variables such as LD_PRELOAD, BASH_ENV or PERL5OPT make an allowed program run other code.",
							   &execjson_allow_env,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   execjson_check_allow_env,
							   execjson_assign_allow_env,
							   NULL);

	DefineCustomBoolVariable("execjson.inherit_environment",
							 "Whether programs run by exec_run start from the server's environment.",
							 "Off: a program's environment is exactly the request's env. On: the server's environment, overridden by env.",
							 &execjson_inherit_environment,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("execjson.log_executions",
							 "Logs one line per exec_run/exec_try call: role, program, pid, duration, outcome, byte counts.",
							 "Never argv, environment, stdin or output.",
							 &execjson_log_executions,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.rlimit_cpu",
							"CPU time a program may use (RLIMIT_CPU); -1: no limit.",
							NULL,
							&execjson_rlimit_cpu,
							-1, -1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.rlimit_as",
							"Address space a program may map (RLIMIT_AS); -1: no limit.",
							NULL,
							&execjson_rlimit_as,
							-1, -1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.rlimit_nofile",
							"Open files a program may have (RLIMIT_NOFILE); -1: no limit.",
							NULL,
							&execjson_rlimit_nofile,
							-1, -1, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.rlimit_nproc",
							"Processes the server's OS user may have when a program forks (RLIMIT_NPROC); -1: no limit.",
							"Counts every process of that user, the server's own included.",
							&execjson_rlimit_nproc,
							-1, -1, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.rlimit_fsize",
							"Largest file a program may write (RLIMIT_FSIZE); -1: no limit.",
							NULL,
							&execjson_rlimit_fsize,
							-1, -1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomStringVariable("execjson.sandbox",
							   "Namespaces programs run in: any of processes, filesystem, network.",
							   "Empty: no sandbox. filesystem and network imply processes. A kernel that refuses them fails the call (exec_sandbox_unavailable).",
							   &execjson_sandbox,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   execjson_check_sandbox,
							   execjson_assign_sandbox,
							   NULL);

	DefineCustomStringVariable("execjson.sandbox_paths",
							   "Comma-separated absolute paths bound read-only into the filesystem sandbox, besides execjson.allow_prefixes.",
							   "A symlink appears as the same symlink; a missing entry is ignored.",
							   &execjson_sandbox_paths,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   execjson_check_sandbox_paths,
							   execjson_assign_sandbox_paths,
							   NULL);

	DefineCustomIntVariable("execjson.sandbox_tmp_bytes",
							"Size of the private /tmp of the filesystem sandbox.",
							NULL,
							&execjson_sandbox_tmp_bytes,
							64 * 1024, 64, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("execjson.max_parallel",
							"Most programs one exec_run_many or exec_try_many call runs at once.",
							"A call's max_parallel argument is capped to this.",
							&execjson_max_parallel,
							4, 1, EXECJSON_MAX_PARALLEL,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/*
	 * Sizes shared memory: set at server start only.  PostgreSQL refuses (a
	 * FATAL) a PGC_POSTMASTER variable defined after start-up, so without
	 * shared_preload_libraries it is not defined (nor is pg_stat_execjson
	 * available).
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("execjson.stats_max",
								"Rows pg_stat_execjson keeps (per role, database and program); the least used are evicted beyond.",
								NULL,
								&execjson_stats_max,
								1000, 10, INT_MAX / 2,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);

	DefineCustomBoolVariable("execjson.stats_track",
							 "Whether calls are counted in pg_stat_execjson.",
							 NULL,
							 &execjson_stats_track,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("execjson");
}
