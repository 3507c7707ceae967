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

#include <signal.h>
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
extern char *execjson_allow_env;
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
extern char *execjson_sandbox;
extern char *execjson_sandbox_paths;
extern int	execjson_sandbox_tmp_bytes;
extern int	execjson_max_parallel;

/* The most programs one backend runs at once (execjson.max_parallel's maximum). */
#define EXECJSON_MAX_PARALLEL 64
extern int	execjson_stats_max;
extern bool execjson_stats_track;

extern void exec_define_gucs(void);

/*
 * ExecGucList -- a parsed comma-separated GUC value, as a check hook's
 * "extra": count entries, each NUL-terminated.
 */
typedef struct ExecGucList
{
	int			count;
	struct
	{
		const char *str;
		size_t		len;
	}			items[FLEXIBLE_ARRAY_MEMBER];
} ExecGucList;

typedef bool (*ExecGucListCheck) (const char *item, size_t *len);
extern bool exec_accept_invalid_setting(GucSource source);
extern void exec_log_invalid_setting(const char *name,
									 const char *consequence);
extern const char *exec_guc_list_next(const char **p, size_t *len);
extern ExecGucList *exec_guc_list_parse(const char *value,
										ExecGucListCheck check);

/* execjson.c */
extern void exec_require_preload(void);
extern void exec_begin_call(bool batch);
extern void exec_end_call(void);

/* batch.c */
extern void exec_batch_on_exit(int sqlerrcode);

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
extern char *exec_text_to_utf8(const char *s, int len, const char *field);

/* policy.c */
extern bool execjson_check_allow_prefixes(char **newval, void **extra,
										  GucSource source);
extern void execjson_assign_allow_prefixes(const char *newval, void *extra);
extern bool execjson_check_allow_env(char **newval, void **extra,
									 GucSource source);
extern void execjson_assign_allow_env(const char *newval, void *extra);
extern void exec_policy_check_env(const ExecRequest *req);
extern char *exec_policy_resolve(const char *program_path);
extern int	exec_program_open(const char *canonical, bool *is_script);
extern int	exec_policy_prefix_count(void);
extern const char *exec_policy_prefix(int i);

/* sandbox.c (the rest is in sandbox.h) */
extern bool execjson_check_sandbox(char **newval, void **extra,
								   GucSource source);
extern void execjson_assign_sandbox(const char *newval, void *extra);
extern bool execjson_check_sandbox_paths(char **newval, void **extra,
										 GucSource source);
extern void execjson_assign_sandbox_paths(const char *newval, void *extra);
extern int	exec_sandbox_flags(void);

/* jsontext.c */
extern char *exec_convert_text(const char *s, int len, bool to_utf8);
extern int64 exec_stdin_serialize(const JsonbValue *value, StringInfo out,
								  int max_bytes);
extern Jsonb *exec_stdout_parse(StringInfo out, const char *program_path);

/*
 * ExecSpawnSpec -- everything the child needs, prepared by the parent.
 */
#define EXEC_MAX_RLIMITS 5
/*
 * ExecSignalPlan -- the signals a child sets back to SIG_DFL before it
 * executes the program, learned from the backend once for a whole batch:
 * those the backend catches or ignores.  Made anew once code execjson does
 * not control may have run (exec_spawn_note_foreign_code).
 */
typedef struct ExecSignalPlan
{
	uint64		made_at;		/* the foreign code count when it was made */
	int			nsignals;
	int			signals[NSIG];
} ExecSignalPlan;

typedef struct ExecSpawnSpec
{
	const char *path;			/* canonical path */
	char	   *const *argv;	/* argv[0] included */
	char	   *const *envp;
	int			exec_fd;		/* execute this open file; -1: execute path */
	int			fds[3];			/* become the child's 0, 1, 2; all >= 3 */
	const struct ExecSandboxPlan *sandbox;	/* NULL: no sandbox */
	const ExecSignalPlan *signals;	/* NULL: the child resets every signal */
	int			nlimits;
	struct
	{
		int			resource;
		rlim_t		value;
	}			limits[EXEC_MAX_RLIMITS];
} ExecSpawnSpec;

/* spawn.c */
extern void exec_spawn_add_limits(ExecSpawnSpec *spec);
extern void exec_spawn_plan_signals(ExecSignalPlan *plan);
extern bool exec_spawn_plan_is_current(const ExecSignalPlan *plan);
extern void exec_spawn_note_foreign_code(void);
extern pid_t exec_spawn(const ExecSpawnSpec *spec, int *spawn_errno,
						int *sandbox_step, int *pidfd);

/*
 * ExecEnd -- why wait.c stopped a run: the program exited, or wait.c ended
 * it (killed and reaped) for one of the reasons exec_child_finish() raises.
 */
typedef enum ExecEnd
{
	EXEC_END_EXITED,
	EXEC_END_TIMEOUT,
	EXEC_END_STDOUT_CAP,
	EXEC_END_STDERR_CAP,
	EXEC_END_INTERNAL
} ExecEnd;

/*
 * ExecOutcome -- how a run ended, as far as wait.c could see.
 */
typedef struct ExecOutcome
{
	ExecEnd		end;
	int64		end_bytes;		/* the byte count that passed a cap */
	int			wait_status;	/* from wait4() */
	int			stdin_errno;	/* 0, EPIPE, or another write error */
	StringInfoData stdout_buf;	/* everything the program wrote to stdout */
} ExecOutcome;

/*
 * ExecCallStats -- what the audit log line says about a call; kept up to
 * date by wait.c as the call goes (its byte counts are the ones wait.c
 * enforces the caps with), reset by execjson.c at the start of each call.
 * exec_run uses exec_call_stats; a batch has one per program.
 */
typedef struct ExecCallStats
{
	const char *program_path;	/* canonical; NULL before resolution */
	pid_t		pid;			/* 0 before spawn */
	int			sandbox;		/* EXEC_SANDBOX_* flags of the call */
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

/* wait.c: one program (exec_run), or several at once (a batch) */
extern void exec_run_child(ExecSpawnSpec *spec, const char *stdin_data,
						   int stdin_len, int timeout_ms, ExecOutcome *outcome);
extern int	exec_child_start(ExecSpawnSpec *spec, const char *stdin_data,
							 int stdin_len, int timeout_ms,
							 ExecOutcome *outcome, ExecCallStats *stats);
extern int	exec_children_wait(int max_wait_ms);
extern int	exec_children_runnable(int enough);
extern void exec_child_finish(int slot);
extern void exec_children_release_all(void);
extern void exec_children_hold_programs(bool on);

/*
 * ExecPrepared -- a call after steps 1-3 (validated, resolved, stdin
 * serialized), ready to run.
 */
typedef struct ExecPrepared
{
	ExecRequest req;
	ExecSpawnSpec spec;
	StringInfoData stdin_text;
} ExecPrepared;

/*
 * ExecResolveCache -- what a batch learns once for all its elements: the
 * last program_path it resolved and its canonical path (a batch resolves
 * each distinct path once), and the backend's signal dispositions.
 */
typedef struct ExecResolveCache
{
	MemoryContext cxt;			/* where the two strings are kept */
	char	   *program_path;
	char	   *canonical;
	bool		signals_planned;	/* signals is set */
	ExecSignalPlan signals;		/* the signals to reset (see the type) */
} ExecResolveCache;

/* execjson.c: the steps of a call, shared with batch.c */
extern void exec_prepare(Jsonb *request, ExecPrepared *prep,
						 ExecCallStats *stats, ExecResolveCache *cache);
extern Jsonb *exec_conclude(ExecPrepared *prep, ExecOutcome *outcome);
extern void exec_log_execution(const ExecCallStats *st, instr_time start,
							   const char *outcome, int position);
extern const char *exec_outcome_of_error(const ErrorData *edata);
extern Jsonb *exec_ok_value(Jsonb *result);
extern Jsonb *exec_error_value(void);

#endif							/* EXECJSON_H */
