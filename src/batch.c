/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  The SQL entry points exec_run_many(jsonb[], int) and
 *	  exec_try_many(jsonb[], int): a batch of requests run up to
 *	  max_parallel at a time from one statement.
 *
 * Each element goes through the same steps as an exec_run call
 * (execjson.c), its program runs in a slot of wait.c, and every guarantee
 * of a single call holds for each program.  Requests start in position
 * order, as slots free up; results are written to a tuplestore (which
 * spills to disk past work_mem) as they come, so at most max_parallel
 * outputs are in memory at once.  A result that comes before an earlier
 * position's waits in memory until that one is written (at most
 * PENDING_MAX results and work_mem bytes); past that, it and every later
 * result are sorted in at the end (a tuplesort, which spills too).
 *
 * exec_try_many turns each element's execjson error into the value
 * exec_try would return, without a subtransaction, for the reason
 * exec_try gives: an execjson error is raised only where the element
 * holds nothing but memory (its program already killed and reaped and its
 * fds closed by wait.c, or never started); the other programs run on.
 * Any other error (cancel, statement_timeout, out of memory) ends the
 * statement: every program still running is killed and reaped first.
 *
 * exec_run_many validates and resolves every element before it starts
 * any program; the first element that fails ends the batch: every program
 * still running is killed and reaped, and that element's error is raised
 * with "position" in its details.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sched.h>
#include <unistd.h>

#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(exec_run_many);
PG_FUNCTION_INFO_V1(exec_try_many);

/*
 * BatchItem -- one element whose program is running (or being started),
 * with everything of it in its own memory context.
 */
typedef struct BatchItem
{
	int			position;		/* 1-based */
	MemoryContext cxt;
	ExecPrepared prep;
	ExecOutcome outcome;
	ExecCallStats stats;
	instr_time	start;
} BatchItem;

/*
 * PendingResult -- a result that came before an earlier position's, held
 * (copied into the batch's context) until that one is written.
 */
#define PENDING_MAX (2 * EXECJSON_MAX_PARALLEL)

typedef struct PendingResult
{
	int			position;
	bool		isnull;
	Datum		value;
	Size		size;
} PendingResult;

/*
 * Batch -- the state of one exec_run_many / exec_try_many call.
 */
typedef struct Batch
{
	bool		try_mode;		/* exec_try_many */
	int			n;				/* elements */
	Datum	   *elems;
	bool	   *nulls;
	int			max_parallel;
	int			running;
	BatchItem  *items[EXECJSON_MAX_PARALLEL];	/* by wait.c slot */
	MemoryContext cxt;
	ExecResolveCache cache;

	/* output */
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
	int			next_emit;		/* the first position not yet written */
	PendingResult pending[PENDING_MAX];	/* came early; unordered */
	int			npending;
	Size		pending_bytes;
	Tuplesortstate *sort;		/* once pending overflows: the rest */
	TupleTableSlot *sort_slot;
} Batch;

/*
 * put_result -- write the result of position to the tuplestore.
 */
static void
put_result(Batch *b, int position, Datum value, bool isnull)
{
	Datum		values[2];
	bool		nulls[2];

	values[0] = Int32GetDatum(position);
	nulls[0] = false;
	values[1] = value;
	nulls[1] = isnull;
	tuplestore_putvalues(b->tupstore, b->tupdesc, values, nulls);
}

/*
 * sort_result -- put the result of position into the tuplesort, begun
 * the first time.
 */
static void
sort_result(Batch *b, int position, Datum value, bool isnull)
{
	if (b->sort == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(b->cxt);
		AttrNumber	attnum = 1;
		Oid			sortop = Int4LessOperator;
		Oid			collation = InvalidOid;
		bool		nulls_first = false;

		b->sort = tuplesort_begin_heap(b->tupdesc, 1, &attnum, &sortop,
									   &collation, &nulls_first, work_mem,
									   NULL, 0);
		b->sort_slot = MakeSingleTupleTableSlot(b->tupdesc, &TTSOpsMinimalTuple);
		MemoryContextSwitchTo(old);
	}
	ExecClearTuple(b->sort_slot);
	b->sort_slot->tts_values[0] = Int32GetDatum(position);
	b->sort_slot->tts_isnull[0] = false;
	b->sort_slot->tts_values[1] = value;
	b->sort_slot->tts_isnull[1] = isnull;
	ExecStoreVirtualTuple(b->sort_slot);
	tuplesort_puttupleslot(b->sort, b->sort_slot);
}

/*
 * pending_release -- forget pending result i (already written or sorted).
 */
static void
pending_release(Batch *b, int i)
{
	PendingResult *p = &b->pending[i];

	if (!p->isnull)
		pfree(DatumGetPointer(p->value));
	b->pending_bytes -= p->size;
	b->pending[i] = b->pending[--b->npending];
}

/*
 * pending_find -- the index of position's pending result, or -1.
 */
static int
pending_find(const Batch *b, int position)
{
	int			i;

	for (i = 0; i < b->npending; i++)
		if (b->pending[i].position == position)
			return i;
	return -1;
}

/*
 * emit -- the result of position (value is copied if it must wait).
 * The next position's goes straight into the tuplestore, followed by the
 * pending ones it was holding up; an earlier one's waits in pending while
 * there is room; when there is none, pending and every result from then
 * on go to the tuplesort.
 */
static void
emit(Batch *b, int position, Datum value, bool isnull)
{
	Size		size;
	int			i;

	if (b->sort == NULL && position == b->next_emit)
	{
		put_result(b, position, value, isnull);
		b->next_emit++;
		while ((i = pending_find(b, b->next_emit)) >= 0)
		{
			put_result(b, b->next_emit, b->pending[i].value,
					   b->pending[i].isnull);
			pending_release(b, i);
			b->next_emit++;
		}
		return;
	}

	size = isnull ? 0 : datumGetSize(value, false, -1);
	if (b->sort == NULL && b->npending < PENDING_MAX &&
		b->pending_bytes + size <= (Size) work_mem * 1024)
	{
		PendingResult *p = &b->pending[b->npending++];
		MemoryContext old = MemoryContextSwitchTo(b->cxt);

		p->position = position;
		p->isnull = isnull;
		p->value = isnull ? (Datum) 0 : datumCopy(value, false, -1);
		p->size = size;
		b->pending_bytes += size;
		MemoryContextSwitchTo(old);
		return;
	}

	while (b->npending > 0)
	{
		PendingResult *p = &b->pending[b->npending - 1];

		sort_result(b, p->position, p->value, p->isnull);
		pending_release(b, b->npending - 1);
	}
	sort_result(b, position, value, isnull);
}

/*
 * flush_sorted -- append the sorted results, if any, to the tuplestore.
 */
static void
flush_sorted(Batch *b)
{
	/* Every position was emitted: nothing can still be waiting. */
	if (b->npending != 0)
		elog(ERROR, "execjson: %d batch results were never written",
			 b->npending);
	if (b->sort == NULL)
		return;
	tuplesort_performsort(b->sort);
	while (tuplesort_gettupleslot(b->sort, true, false, b->sort_slot, NULL))
	{
		slot_getallattrs(b->sort_slot);
		tuplestore_putvalues(b->tupstore, b->tupdesc, b->sort_slot->tts_values,
							 b->sort_slot->tts_isnull);
	}
	tuplesort_end(b->sort);
	ExecDropSingleTupleTableSlot(b->sort_slot);
	b->sort = NULL;
}

/*
 * item_new -- a BatchItem for position, in a memory context of its own.
 */
static BatchItem *
item_new(Batch *b, int position)
{
	MemoryContext cxt = AllocSetContextCreate(b->cxt, "execjson batch item",
											  ALLOCSET_DEFAULT_SIZES);
	BatchItem  *item = MemoryContextAllocZero(cxt, sizeof(BatchItem));

	item->cxt = cxt;
	item->position = position;
	INSTR_TIME_SET_CURRENT(item->start);
	return item;
}

/*
 * current_batch -- the batch running in this backend, for
 * exec_batch_on_exit(); NULL when none is.
 */
static Batch *current_batch = NULL;

/*
 * item_record -- count an element's program in pg_stat_execjson, as a
 * single call would be: ok (edata NULL), a cancel, or an error.
 */
static void
item_record(BatchItem *item, const ErrorData *edata)
{
	ExecStatsOutcome outcome = EXEC_STATS_OK;
	int			code = 0;

	if (!execjson_stats_track)
		return;
	if (edata != NULL)
		outcome = exec_stats_of_error(edata, &code);
	exec_stats_record(&item->stats, outcome, code);
}

/*
 * item_caught -- in PG_CATCH around an element's steps: log the element's
 * audit line; in exec_try_many, return its execjson error as a value;
 * else re-throw the error, stripped of STATEMENT and CONTEXT as
 * exec_call_guarded does.
 */
static Jsonb *
item_caught(Batch *b, BatchItem *item)
{
	ErrorData  *edata;
	bool		ours;

	MemoryContextSwitchTo(item->cxt);
	/* The error ran the context callbacks of whatever called the batch. */
	exec_spawn_note_foreign_code();
	edata = CopyErrorData();
	FlushErrorState();
	ours = exec_error_is_ours(edata);
	item_record(item, edata);
	if (execjson_log_executions)
		exec_log_execution(&item->stats, item->start,
						   exec_outcome_of_error(edata), item->position);
	if (b->try_mode && ours)
		return exec_error_value();
	edata->hide_stmt = true;
	edata->hide_ctx = true;
	edata->context = NULL;
	ReThrowError(edata);
}

/*
 * start_item -- start the element at index idx, or write its result at
 * once: NULL for a NULL element; in exec_try_many, the error value of an
 * element that fails before its program runs.
 */
static void
start_item(Batch *b, int idx)
{
	BatchItem  *item;
	MemoryContext old;
	Jsonb	   *volatile failure = NULL;

	if (b->nulls[idx])
	{
		emit(b, idx + 1, (Datum) 0, true);
		return;
	}

	item = item_new(b, idx + 1);
	old = MemoryContextSwitchTo(item->cxt);
	exec_last_error.raised = false;
	exec_error_position = b->try_mode ? 0 : item->position;
	PG_TRY();
	{
		int			slot;

		exec_prepare(DatumGetJsonbP(b->elems[idx]), &item->prep, &item->stats,
					 &b->cache);
		slot = exec_child_start(&item->prep.spec, item->prep.stdin_text.data,
								item->prep.stdin_text.len,
								item->prep.req.timeout_ms, &item->outcome,
								&item->stats);
		b->items[slot] = item;
		b->running++;
	}
	PG_CATCH();
	{
		failure = item_caught(b, item);
	}
	PG_END_TRY();
	exec_error_position = 0;
	MemoryContextSwitchTo(old);

	if (failure != NULL)
	{
		emit(b, item->position, JsonbPGetDatum(failure), false);
		MemoryContextDelete(item->cxt);
	}
}

/*
 * finish_item -- collect the element whose program ran in slot: its
 * result (exec_try's value in exec_try_many), or its error.
 */
static void
finish_item(Batch *b, int slot)
{
	BatchItem  *item = b->items[slot];
	MemoryContext old;
	Jsonb	   *volatile value = NULL;

	b->items[slot] = NULL;
	b->running--;

	old = MemoryContextSwitchTo(item->cxt);
	exec_last_error.raised = false;
	exec_error_position = b->try_mode ? 0 : item->position;
	PG_TRY();
	{
		Jsonb	   *result;

		exec_child_finish(slot);
		result = exec_conclude(&item->prep, &item->outcome);
		value = b->try_mode ? exec_ok_value(result) : result;
		item_record(item, NULL);
		if (execjson_log_executions)
			exec_log_execution(&item->stats, item->start, "ok", item->position);
	}
	PG_CATCH();
	{
		value = item_caught(b, item);
	}
	PG_END_TRY();
	exec_error_position = 0;
	MemoryContextSwitchTo(old);

	emit(b, item->position, JsonbPGetDatum(value), false);
	MemoryContextDelete(item->cxt);
}

/*
 * check_all -- exec_run_many: validate and resolve every element, and
 * check its stdin against the cap, before any program starts.  The first
 * that fails raises its error, with its position.
 */
static void
check_all(Batch *b)
{
	MemoryContext cxt = AllocSetContextCreate(b->cxt, "execjson batch check",
											  ALLOCSET_DEFAULT_SIZES);
	int			idx;

	for (idx = 0; idx < b->n; idx++)
	{
		BatchItem  *item;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (b->nulls[idx])
			continue;
		old = MemoryContextSwitchTo(cxt);
		item = palloc0(sizeof(BatchItem));
		item->cxt = cxt;
		item->position = idx + 1;
		INSTR_TIME_SET_CURRENT(item->start);
		exec_last_error.raised = false;
		exec_error_position = item->position;
		PG_TRY();
		{
			exec_prepare(DatumGetJsonbP(b->elems[idx]), &item->prep,
						 &item->stats, &b->cache);
		}
		PG_CATCH();
		{
			(void) item_caught(b, item);
		}
		PG_END_TRY();
		exec_error_position = 0;
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
}

/*
 * usable_cpus -- how many CPUs the backend may run on.
 */
static int
usable_cpus(void)
{
#ifdef CPU_COUNT
	cpu_set_t	set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
#endif
	return (int) Max(sysconf(_SC_NPROCESSORS_ONLN), 1);
}

/*
 * run_all -- start elements in position order while fewer than
 * max_parallel programs run, collect them as they end, until all are done.
 *
 * No more programs are started while as many as the backend has CPUs are
 * running on them (or waiting for one): more would only queue for the
 * CPUs, and the backend, which starts and reaps them, with them.  Programs
 * that wait (for the network, a timer, their own children) do not count,
 * so up to max_parallel of those run at once.  While held back, the
 * running programs are looked at again after HOLD_RECHECK_MS, then after
 * twice as long each time nothing changed, up to HOLD_RECHECK_MAX_MS.
 */
#define HOLD_RECHECK_MS 2
#define HOLD_RECHECK_MAX_MS 16

static void
run_all(Batch *b)
{
	int			next = 0;
	int			cpus = usable_cpus();
	int			recheck_ms = HOLD_RECHECK_MS;

	while (next < b->n || b->running > 0)
	{
		bool		held = false;

		while (next < b->n && b->running < b->max_parallel)
		{
			if (b->running >= cpus && exec_children_runnable(cpus) >= cpus)
			{
				held = true;
				break;
			}
			CHECK_FOR_INTERRUPTS();
			start_item(b, next++);
			recheck_ms = HOLD_RECHECK_MS;
		}
		if (b->running > 0)
		{
			int			slot = exec_children_wait(held ? recheck_ms : -1);

			if (slot >= 0)
				finish_item(b, slot);
			else
				recheck_ms = Min(recheck_ms * 2, HOLD_RECHECK_MAX_MS);
		}
	}
}

/*
 * abort_batch -- in PG_CATCH around the batch: kill and reap every program
 * still running, log their audit lines, and re-throw the error, stripped
 * of STATEMENT and CONTEXT.  A program stopped because the batch ended has
 * "error:SQLSTATE" of the error that ended it as its outcome (57014 for a
 * cancel; the SQLSTATE of the failing element's error in exec_run_many,
 * whose own line has its code).
 */
pg_noreturn static void
abort_batch(Batch *b, MemoryContext cxt)
{
	ErrorData  *edata;
	const char *outcome;
	int			i;

	MemoryContextSwitchTo(cxt);
	exec_end_call();
	current_batch = NULL;
	exec_error_position = 0;
	exec_children_release_all();
	edata = CopyErrorData();
	FlushErrorState();
	/* Programs stopped because the batch ended count as cancelled. */
	for (i = 0; i < EXECJSON_MAX_PARALLEL; i++)
		if (b->items[i] != NULL && execjson_stats_track)
			exec_stats_record(&b->items[i]->stats, EXEC_STATS_CANCEL, 0);
	if (execjson_log_executions)
	{
		outcome = psprintf("error:%s", unpack_sql_state(edata->sqlerrcode));
		for (i = 0; i < EXECJSON_MAX_PARALLEL; i++)
			if (b->items[i] != NULL)
				exec_log_execution(&b->items[i]->stats, b->items[i]->start,
								   outcome, b->items[i]->position);
	}
	edata->hide_stmt = true;
	edata->hide_ctx = true;
	edata->context = NULL;
	ReThrowError(edata);
}

/*
 * exec_batch_on_exit -- from execjson.c's exit callback, after wait.c's
 * has killed and reaped every program: a batch cut short by a FATAL
 * (pg_terminate_backend, postmaster death) still counts each program that
 * was running as cancelled, and logs its audit line with the FATAL's
 * SQLSTATE.
 */
void
exec_batch_on_exit(int sqlerrcode)
{
	Batch	   *b = current_batch;
	int			i;

	current_batch = NULL;
	if (b == NULL)
		return;
	for (i = 0; i < EXECJSON_MAX_PARALLEL; i++)
	{
		BatchItem  *item = b->items[i];

		if (item == NULL)
			continue;
		if (execjson_stats_track)
			exec_stats_record(&item->stats, EXEC_STATS_CANCEL, 0);
		if (execjson_log_executions)
			exec_log_execution(&item->stats, item->start,
							   psprintf("error:%s", unpack_sql_state(sqlerrcode)),
							   item->position);
	}
}

/*
 * init_materialize -- set up the function's result as a tuplestore
 * (materialize mode), in the query's memory.
 */
static void
init_materialize(FunctionCallInfo fcinfo, Batch *b)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	b->tupdesc = CreateTupleDescCopy(tupdesc);
	b->tupstore = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
										false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = b->tupstore;
	rsinfo->setDesc = b->tupdesc;
	MemoryContextSwitchTo(old);
}

/*
 * run_batch -- exec_run_many and exec_try_many.
 *
 * A NULL array gives no rows, as an empty one does.  max_parallel NULL
 * means execjson.max_parallel; more is capped to it; less than 1 is
 * exec_request_invalid.  Elements are numbered from 1 in storage order,
 * whatever the array's bounds and dimensions.
 */
static Datum
run_batch(FunctionCallInfo fcinfo, bool try_mode)
{
	MemoryContext caller = CurrentMemoryContext;
	Batch	   *b;
	ArrayType  *requests;

	b = palloc0(sizeof(Batch));
	b->try_mode = try_mode;
	b->next_emit = 1;
	init_materialize(fcinfo, b);
	if (PG_ARGISNULL(0))
		return (Datum) 0;

	exec_require_preload();
	b->max_parallel = execjson_max_parallel;
	if (!PG_ARGISNULL(1))
	{
		int			asked = PG_GETARG_INT32(1);

		if (asked < 1)
			exec_raise_request_invalid("max_parallel must be at least 1",
									   "max_parallel");
		b->max_parallel = Min(asked, b->max_parallel);
	}
	b->max_parallel = Min(b->max_parallel, EXECJSON_MAX_PARALLEL);

	requests = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(requests, JSONBOID, -1, false, TYPALIGN_INT,
					  &b->elems, &b->nulls, &b->n);
	if (b->n == 0)
		return (Datum) 0;

	b->cxt = AllocSetContextCreate(caller, "execjson batch",
								   ALLOCSET_DEFAULT_SIZES);
	b->cache.cxt = b->cxt;

	exec_begin_call(true);
	current_batch = b;
	PG_TRY();
	{
		if (!try_mode)
			check_all(b);
		exec_children_hold_programs(true);
		run_all(b);
		exec_children_hold_programs(false);
	}
	PG_CATCH();
	{
		abort_batch(b, caller);
	}
	PG_END_TRY();
	exec_end_call();
	current_batch = NULL;

	flush_sorted(b);
	MemoryContextDelete(b->cxt);
	return (Datum) 0;
}

/*
 * exec_run_many -- SQL: exec_run_many(requests jsonb[], max_parallel int
 * DEFAULT NULL) RETURNS TABLE (position int, result jsonb).
 *
 * One row per element, in position order: exec_run's result (NULL for a
 * NULL element).  The first failure kills every program still running and
 * raises that element's error, "position" in its details.
 */
Datum
exec_run_many(PG_FUNCTION_ARGS)
{
	return run_batch(fcinfo, false);
}

/*
 * exec_try_many -- SQL: exec_try_many(requests jsonb[], max_parallel int
 * DEFAULT NULL) RETURNS TABLE (position int, result jsonb).
 *
 * One row per element, in position order: what exec_try would return for
 * it (NULL for a NULL element).
 */
Datum
exec_try_many(PG_FUNCTION_ARGS)
{
	return run_batch(fcinfo, true);
}
