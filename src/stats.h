/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  pg_stat_execjson: per (role, database, program) statistics of the
 *	  calls, kept in shared memory (stats.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EXECJSON_STATS_H
#define EXECJSON_STATS_H

#include "postgres.h"

#include "execjson.h"

/* How a call ended, as the statistics count it. */
typedef enum ExecStatsOutcome
{
	EXEC_STATS_OK,				/* the program's JSON was returned */
	EXEC_STATS_ERROR,			/* an error other than a cancel */
	EXEC_STATS_CANCEL			/* cancel, statement_timeout, termination */
} ExecStatsOutcome;

/* "other" in errors_by_code: an error that is not one of execjson's. */
#define EXEC_STATS_OTHER_ERROR (-1)

extern void exec_stats_init(void);
extern void exec_stats_register_exit_callback(void);
extern void exec_stats_begin(void);
extern ExecStatsOutcome exec_stats_of_error(const ErrorData *edata, int *code);
extern void exec_stats_end(ExecStatsOutcome outcome, int code);
extern void exec_stats_record(const ExecCallStats *st,
							  ExecStatsOutcome outcome, int code);

#endif							/* EXECJSON_STATS_H */
