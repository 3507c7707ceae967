/*-------------------------------------------------------------------------
 *
 * execjson.h
 *	  What the steps of one exec_run call hand each other.
 *
 * A call goes request.c (validate) -> policy.c (resolve the program) ->
 * jsontext.c (serialize stdin) -> spawn.c (start the child) -> wait.c
 * (feed and drain it under the latch) -> jsontext.c (parse stdout).
 * guc.c holds the GUCs (the DBA's policy); execjson.c the SQL entry points
 * that run the steps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EXECJSON_H
#define EXECJSON_H

#include "postgres.h"

#include <sys/resource.h>
#include <sys/types.h>

#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

/* Default of timeout_ms in a request: five minutes. */
#define EXECJSON_DEFAULT_TIMEOUT_MS 300000

/* GUCs (guc.c) */
extern char *execjson_allow_prefixes;
extern int	execjson_max_stdin_bytes;
extern int	execjson_max_stdout_bytes;
extern int	execjson_max_stderr_bytes;
extern bool execjson_inherit_environment;
extern bool execjson_log_executions;
extern int	execjson_rlimit_cpu;
extern int	execjson_rlimit_as;
extern int	execjson_rlimit_nofile;
extern int	execjson_rlimit_nproc;
extern int	execjson_rlimit_fsize;
extern int	execjson_stats_max;
extern bool execjson_stats_track;

extern void exec_define_gucs(void);

/* execjson.c */
extern void exec_require_preload(void);

/*
 * ExecRequest -- a validated run_program_v1 request.
 *
 * The pointers point into the request's jsonb or into palloc'd memory of
 * the calling context.
 */
typedef struct ExecRequest
{
	const char *program_path;	/* as written; absolute */
	int			argc;			/* number of argv entries */
	char	  **argv;			/* argc strings, no argv[0] */
	JsonbValue	stdin_json;		/* jbvNull when absent */
	int			timeout_ms;		/* 1 .. INT_MAX */
	int			nenv;			/* number of env entries */
	char	  **env;			/* nenv "NAME=value" strings */
} ExecRequest;

/* request.c */
extern void exec_request_parse(Jsonb *request, ExecRequest *req);

/* policy.c */
extern bool execjson_check_allow_prefixes(char **newval, void **extra,
										  GucSource source);
extern void execjson_assign_allow_prefixes(const char *newval, void *extra);
extern char *exec_policy_resolve(const char *program_path);
extern int	exec_program_open(const char *canonical, bool *is_script);

/* jsontext.c */
extern int64 exec_stdin_serialize(const JsonbValue *value, StringInfo out,
								  int max_bytes);
extern Jsonb *exec_stdout_parse(StringInfo out, const char *program_path);

/*
 * ExecSpawnSpec -- everything the child needs, prepared by the parent.
 */
#define EXEC_MAX_RLIMITS 5
typedef struct ExecSpawnSpec
{
	const char *path;			/* canonical path */
	char	   *const *argv;	/* argv[0] included */
	char	   *const *envp;
	int			exec_fd;		/* execute this open file; -1: execute path */
	int			fds[3];			/* become the child's 0, 1, 2; all >= 3 */
	int			nlimits;
	struct
	{
		int			resource;
		rlim_t		value;
	}			limits[EXEC_MAX_RLIMITS];
} ExecSpawnSpec;

/* spawn.c */
extern void exec_spawn_add_limits(ExecSpawnSpec *spec);
extern pid_t exec_spawn(const ExecSpawnSpec *spec, int *spawn_errno);

/*
 * ExecOutcome -- how a run ended, as far as wait.c could see.
 */
typedef struct ExecOutcome
{
	int			wait_status;	/* from wait4() */
	int			stdin_errno;	/* 0, EPIPE, or another write error */
	StringInfoData stdout_buf;	/* everything the program wrote to stdout */
} ExecOutcome;

/*
 * ExecCallStats -- what the audit log line says about a call; kept up to
 * date by wait.c as the call goes (its byte counts are the ones wait.c
 * enforces the caps with), reset by execjson.c at the start of each call.
 */
typedef struct ExecCallStats
{
	const char *program_path;	/* canonical; NULL before resolution */
	pid_t		pid;			/* 0 before spawn */
	bool		reaped;			/* reaped, with a known status */
	int			wait_status;	/* valid when reaped */
	int64		stdin_bytes;
	int64		stdout_bytes;
	int64		stderr_bytes;
	instr_time	spawned_at;		/* valid when pid > 0 */
	/* valid when reaped (else 0): */
	double		run_ms;			/* wall time from spawn to reap */
	double		user_cpu_ms;	/* the child's rusage (wait4) */
	double		system_cpu_ms;
	int64		max_rss_kb;
} ExecCallStats;

extern ExecCallStats exec_call_stats;

/* wait.c */
extern void exec_run_child(ExecSpawnSpec *spec, const char *stdin_data,
						   int stdin_len, int timeout_ms, ExecOutcome *outcome);
extern void exec_child_register_exit_callback(void);

#endif							/* EXECJSON_H */
