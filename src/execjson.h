/*-------------------------------------------------------------------------
 *
 * execjson.h
 *	  What the steps of one exec_run call hand each other.
 *
 * A call goes request.c (validate) -> policy.c (resolve the program) ->
 * jsontext.c (serialize stdin) -> spawn.c (start the child) -> wait.c
 * (feed and drain it under the latch) -> jsontext.c (parse stdout).
 * execjson.c holds the GUCs and the SQL entry point that runs the steps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EXECJSON_H
#define EXECJSON_H

#include "postgres.h"

#include <sys/types.h>

#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

/* Default of timeout_ms in a request: five minutes. */
#define EXECJSON_DEFAULT_TIMEOUT_MS 300000

/* GUCs (execjson.c) */
extern char *execjson_allow_prefixes;
extern int	execjson_max_stdin_bytes;
extern int	execjson_max_stdout_bytes;
extern int	execjson_max_stderr_bytes;
extern bool execjson_inherit_environment;

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

/* jsontext.c */
extern void exec_stdin_serialize(const JsonbValue *value, StringInfo out);
extern Jsonb *exec_stdout_parse(StringInfo out, const char *program_path);

/* spawn.c */
extern pid_t exec_spawn(const char *path, char *const argv[],
						char *const envp[], int child_stdin, int child_stdout,
						int child_stderr, int *spawn_errno);

/*
 * ExecOutcome -- how a run ended, as far as wait.c could see.
 */
typedef struct ExecOutcome
{
	int			wait_status;	/* from waitpid() */
	int			stdin_errno;	/* 0, EPIPE, or another write error */
	StringInfoData stdout_buf;	/* everything the program wrote to stdout */
	int64		stdin_bytes;	/* bytes written to stdin */
	int64		stderr_bytes;	/* bytes read (and dropped) from stderr */
} ExecOutcome;

/* wait.c */
extern void exec_run_child(const char *canonical_path, char *const argv[],
						   char *const envp[], const char *stdin_data,
						   int stdin_len, int timeout_ms,
						   ExecOutcome *outcome);
extern void exec_child_register_exit_callback(void);

#endif							/* EXECJSON_H */
