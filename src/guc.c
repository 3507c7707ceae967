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

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "compat.h"
#include "execjson.h"

/* GUC variables */
char	   *execjson_allow_prefixes = NULL;
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
