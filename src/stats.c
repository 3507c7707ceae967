/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  pg_stat_execjson: what each program cost, per (role, database,
 *	  canonical program path), in shared memory.
 *
 * The same design as pg_stat_statements, on every version 13 to 18: a
 * fixed-size shared hash table (execjson.stats_max entries) under one
 * LWLock, a spinlock per entry for its counters.  A call is recorded once,
 * after it ended (its program is reaped by then): the LWLock is taken
 * shared to find the entry, exclusively only to create one, and no lock is
 * held while a program runs.  When the table is full, the least-used
 * entries are evicted (usage: calls, decaying at each eviction; a new entry
 * starts at the median), and pg_stat_execjson_info counts the evictions.
 *
 * The postmaster writes the table to PGDATA/pg_stat/execjson.stat when it
 * shuts down cleanly and reads it back (then removes it) at startup;
 * after a crash the file is gone and the counters start from zero.
 *
 * Which calls are counted: those whose program passed the policy check
 * (resolved, allowed, executable), whatever their outcome.  A call
 * refused earlier has no canonical path to be counted under (and counting
 * paths as written would let any caller fill the table).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(pg_stat_execjson);
PG_FUNCTION_INFO_V1(pg_stat_execjson_info);
PG_FUNCTION_INFO_V1(pg_stat_execjson_reset);

/* The stats file, and its header (bumped whenever the layout changes). */
#define STATS_FILE PGSTAT_STAT_PERMANENT_DIRECTORY "/execjson.stat"
#define STATS_FILE_MAGIC 0x584a5331	/* "XJS1" */

/* The columns of pg_stat_execjson(). */
#define STATS_COLS 19

/* Eviction, as pg_stat_statements does it. */
#define USAGE_INIT 1.0			/* a new entry's usage, before any eviction */
#define USAGE_DECREASE_FACTOR 0.99	/* decay of every entry at each eviction */
#define EVICT_PERCENT 5			/* evict 5 % of the entries ... */
#define EVICT_MIN 10			/* ... and at least 10, but at most half */

/* One slot per execjson error code, then "other". */
#define NCODES (EXEC_LAST_ERROR_CODE + 1)

/*
 * StatsKey -- what a row is about.  Zero-padded: the hash table compares
 * all of it (memcmp), and stats_key_hash() hashes the ids and the path up
 * to its end.  A canonical path longer than MAXPGPATH - 1 bytes is
 * counted under its first MAXPGPATH - 1 bytes.
 */
typedef struct StatsKey
{
	Oid			userid;
	Oid			dbid;
	char		path[MAXPGPATH];
} StatsKey;

/*
 * StatsCounters -- the counters of a row; times in milliseconds.
 */
typedef struct StatsCounters
{
	int64		calls;
	int64		errors;			/* errors other than cancels */
	int64		cancels;
	int64		by_code[NCODES];	/* errors by execjson code */
	int64		other_errors;	/* errors not execjson's own */
	double		total_time;
	double		min_time;
	double		max_time;
	double		mean_time;
	double		sum_var_time;	/* Welford's sum of squared differences */
	double		user_cpu_time;
	double		system_cpu_time;
	int64		max_rss_kb;
	int64		stdin_bytes;
	int64		stdout_bytes;
	int64		stderr_bytes;
	double		usage;			/* for eviction */
} StatsCounters;

/*
 * StatsEntry -- a row in the shared hash.
 */
typedef struct StatsEntry
{
	StatsKey	key;			/* hash key; must be first */
	StatsCounters counters;		/* under mutex */
	TimestampTz stats_since;	/* when the row was created */
	slock_t		mutex;
} StatsEntry;

/*
 * StatsShared -- the table's global state.
 */
typedef struct StatsShared
{
	LWLock	   *lock;			/* protects the hash table */
	double		median_usage;	/* a new entry's usage; under lock */
	slock_t		mutex;			/* protects what follows */
	int64		dealloc;		/* times entries were evicted */
	TimestampTz stats_reset;	/* last pg_stat_execjson_reset() */
} StatsShared;

static StatsShared *stats_shared = NULL;
static HTAB *stats_hash = NULL;

#ifdef EXECJSON_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * The call being run in this backend, until it is recorded: the exit
 * callback records it if a FATAL (termination, postmaster death) ends the
 * backend first.
 */
static bool call_pending = false;
static bool exit_callback_registered = false;

/*
 * stats_memsize -- the shared memory the table needs.
 */
static Size
stats_memsize(void)
{
	return add_size(MAXALIGN(sizeof(StatsShared)),
					hash_estimate_size(execjson_stats_max, sizeof(StatsEntry)));
}

/*
 * stats_request -- ask for the shared memory and the LWLock.
 */
static void
stats_request(void)
{
	RequestAddinShmemSpace(stats_memsize());
	RequestNamedLWLockTranche("execjson", 1);
}

#ifdef EXECJSON_SHMEM_REQUEST_HOOK
/*
 * stats_shmem_request -- shmem_request_hook (PostgreSQL 15 and later).
 */
static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	stats_request();
}
#endif

/*
 * stats_key_hash -- the hash of a StatsKey: its ids and its path up to the
 * path's end, not the zero padding after it (hashing all MAXPGPATH bytes
 * was most of the cost of counting a call).
 */
static uint32
stats_key_hash(const void *key, Size keysize)
{
	const StatsKey *k = (const StatsKey *) key;
	uint32		h;

	(void) keysize;
	h = hash_bytes((const unsigned char *) k, offsetof(StatsKey, path));
	return hash_combine(h, hash_bytes((const unsigned char *) k->path,
									  strnlen(k->path, MAXPGPATH)));
}

static StatsEntry *entry_enter(const StatsKey *key, TimestampTz since);

/*
 * stats_file_read -- load the stats file, if any, into the empty table,
 * then remove it.  A file that is unreadable or of another layout is
 * logged and ignored.  Runs in the postmaster at startup.
 */
static void
stats_file_read(void)
{
	FILE	   *file;
	uint32		header[3];
	int32		count;
	int32		i;

	file = AllocateFile(STATS_FILE, PG_BINARY_R);
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", STATS_FILE)));
		return;
	}

	if (fread(header, sizeof(header), 1, file) != 1 ||
		header[0] != STATS_FILE_MAGIC ||
		header[1] != sizeof(StatsKey) ||
		header[2] != sizeof(StatsCounters) ||
		fread(&count, sizeof(count), 1, file) != 1)
		goto bad;

	for (i = 0; i < count; i++)
	{
		StatsKey	key;
		StatsCounters counters;
		TimestampTz since;
		StatsEntry *entry;

		if (fread(&key, sizeof(key), 1, file) != 1 ||
			fread(&counters, sizeof(counters), 1, file) != 1 ||
			fread(&since, sizeof(since), 1, file) != 1)
			goto bad;
		key.path[MAXPGPATH - 1] = '\0';
		entry = entry_enter(&key, since);
		if (entry != NULL)
			entry->counters = counters;
	}
	if (fread(&stats_shared->dealloc, sizeof(int64), 1, file) != 1 ||
		fread(&stats_shared->stats_reset, sizeof(TimestampTz), 1, file) != 1)
		goto bad;

	FreeFile(file);
	unlink(STATS_FILE);
	return;

bad:
	ereport(LOG,
			(errmsg("ignoring execjson statistics file \"%s\": unreadable or of another version",
					STATS_FILE)));
	FreeFile(file);
	unlink(STATS_FILE);
}

/*
 * stats_file_write -- on_shmem_exit callback of the postmaster: write the
 * table to the stats file, unless the postmaster exits after a crash
 * (code != 0: the counters may be inconsistent).
 */
static void
stats_file_write(int code, Datum arg)
{
	FILE	   *file;
	HASH_SEQ_STATUS seq;
	StatsEntry *entry;
	uint32		header[3] = {STATS_FILE_MAGIC, sizeof(StatsKey), sizeof(StatsCounters)};
	int32		count;

	if (code != 0 || stats_shared == NULL || stats_hash == NULL)
		return;

	file = AllocateFile(STATS_FILE ".tmp", PG_BINARY_W);
	if (file == NULL)
		goto error;

	count = (int32) hash_get_num_entries(stats_hash);
	if (fwrite(header, sizeof(header), 1, file) != 1 ||
		fwrite(&count, sizeof(count), 1, file) != 1)
		goto error;

	hash_seq_init(&seq, stats_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (fwrite(&entry->key, sizeof(entry->key), 1, file) != 1 ||
			fwrite(&entry->counters, sizeof(entry->counters), 1, file) != 1 ||
			fwrite(&entry->stats_since, sizeof(entry->stats_since), 1, file) != 1)
		{
			hash_seq_term(&seq);
			goto error;
		}
	}
	if (fwrite(&stats_shared->dealloc, sizeof(int64), 1, file) != 1 ||
		fwrite(&stats_shared->stats_reset, sizeof(TimestampTz), 1, file) != 1)
		goto error;

	if (FreeFile(file))
	{
		file = NULL;
		goto error;
	}
	(void) durable_rename(STATS_FILE ".tmp", STATS_FILE, LOG);
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", STATS_FILE ".tmp")));
	if (file)
		FreeFile(file);
	unlink(STATS_FILE ".tmp");
}

/*
 * stats_shmem_startup -- shmem_startup_hook: attach to (or create) the
 * table; in the postmaster, load the stats file and arrange for it to be
 * written at shutdown.
 */
static void
stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	stats_shared = NULL;
	stats_hash = NULL;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats_shared = ShmemInitStruct("execjson stats", sizeof(StatsShared), &found);
	if (!found)
	{
		stats_shared->lock = &(GetNamedLWLockTranche("execjson"))->lock;
		stats_shared->median_usage = USAGE_INIT;
		SpinLockInit(&stats_shared->mutex);
		stats_shared->dealloc = 0;
		stats_shared->stats_reset = GetCurrentTimestamp();
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatsKey);
	info.entrysize = sizeof(StatsEntry);
	info.hash = stats_key_hash;
	stats_hash = ShmemInitHash("execjson stats hash",
							   execjson_stats_max, execjson_stats_max,
							   &info, HASH_ELEM | HASH_FUNCTION);
	LWLockRelease(AddinShmemInitLock);

	/* In the postmaster (or a single-user backend) only: */
	if (!IsUnderPostmaster)
		on_shmem_exit(stats_file_write, (Datum) 0);
	if (!found)
		stats_file_read();
}

/*
 * exec_stats_init -- from _PG_init when loaded by shared_preload_libraries:
 * install the shared memory hooks.
 */
void
exec_stats_init(void)
{
#ifdef EXECJSON_SHMEM_REQUEST_HOOK
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
#else
	stats_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

/*
 * usage_cmp -- qsort comparator: ascending usage.
 */
static int
usage_cmp(const void *a, const void *b)
{
	double		ua = (*(StatsEntry *const *) a)->counters.usage;
	double		ub = (*(StatsEntry *const *) b)->counters.usage;

	return (ua < ub) ? -1 : (ua > ub) ? 1 : 0;
}

/*
 * entries_evict -- evict the least-used entries (EVICT_PERCENT, at least
 * EVICT_MIN, at most half), decay everyone's usage, note the median.
 * Called with the lock held exclusively.  Allocates nothing that can fail
 * with an error: without memory it evicts nothing.
 */
static void
entries_evict(void)
{
	HASH_SEQ_STATUS seq;
	StatsEntry **entries;
	StatsEntry *entry;
	long		n = hash_get_num_entries(stats_hash);
	long		i = 0;
	long		nvictims;

	if (n == 0)
		return;
	entries = palloc_extended(n * sizeof(StatsEntry *), MCXT_ALLOC_NO_OOM);
	if (entries == NULL)
		return;

	hash_seq_init(&seq, stats_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		entries[i++] = entry;
		/* No spinlock: only usage is touched, and only under the lock. */
		entry->counters.usage *= USAGE_DECREASE_FACTOR;
	}
	qsort(entries, i, sizeof(StatsEntry *), usage_cmp);
	stats_shared->median_usage = Max(entries[i / 2]->counters.usage, USAGE_INIT);

	nvictims = Min(Max(EVICT_MIN, i * EVICT_PERCENT / 100), Max(i / 2, 1));
	for (n = 0; n < nvictims; n++)
		hash_search(stats_hash, &entries[n]->key, HASH_REMOVE, NULL);
	pfree(entries);

	SpinLockAcquire(&stats_shared->mutex);
	stats_shared->dealloc++;
	SpinLockRelease(&stats_shared->mutex);
}

/*
 * entry_enter -- the entry of key, created if missing (evicting when the
 * table is full) with stats_since since.  Called with the lock held
 * exclusively (or in the postmaster at startup).  NULL if no entry could be
 * made.
 */
static StatsEntry *
entry_enter(const StatsKey *key, TimestampTz since)
{
	StatsEntry *entry;
	bool		found;

	entry = hash_search(stats_hash, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	if (hash_get_num_entries(stats_hash) >= execjson_stats_max)
		entries_evict();
	entry = hash_search(stats_hash, key, HASH_ENTER_NULL, &found);
	if (entry != NULL && !found)
	{
		memset(&entry->counters, 0, sizeof(entry->counters));
		entry->counters.usage = stats_shared->median_usage;
		entry->stats_since = since;
		SpinLockInit(&entry->mutex);
	}
	return entry;
}

/*
 * stats_on_exit -- before_shmem_exit callback: a call cut short by a FATAL
 * (pg_terminate_backend, postmaster death) is recorded as a cancel.
 * Registered before wait.c's callback, so it runs after it: the program
 * has been killed and reaped, and its usage is known.
 */
static void
stats_on_exit(int code, Datum arg)
{
	if (call_pending)
		exec_stats_end(EXEC_STATS_CANCEL, 0);
}

/*
 * exec_stats_register_exit_callback -- register stats_on_exit once per
 * backend.  execjson.c calls it when the first call or batch begins,
 * whatever stats_track says, so that it always comes before wait.c's
 * callback (registered when the first program starts) and so runs after
 * it.
 */
void
exec_stats_register_exit_callback(void)
{
	if (stats_hash != NULL && !exit_callback_registered)
	{
		before_shmem_exit(stats_on_exit, (Datum) 0);
		exit_callback_registered = true;
	}
}

/*
 * exec_stats_begin -- a call starts (exec_call_stats was just reset): it
 * will be recorded unless execjson.stats_track is off.
 */
void
exec_stats_begin(void)
{
	exec_stats_register_exit_callback();
	call_pending = execjson_stats_track && stats_hash != NULL;
}

/*
 * exec_stats_of_error -- how the statistics count a call that ended in the
 * error edata (just caught): a cancel (57014), or an error under its
 * execjson code (*code; EXEC_STATS_OTHER_ERROR for any other error).
 */
ExecStatsOutcome
exec_stats_of_error(const ErrorData *edata, int *code)
{
	*code = 0;
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		return EXEC_STATS_CANCEL;
	*code = exec_error_is_ours(edata) ? (int) exec_last_error.code :
		EXEC_STATS_OTHER_ERROR;
	return EXEC_STATS_ERROR;
}

/*
 * exec_stats_end -- record the call begun by exec_stats_begin(), described
 * by exec_call_stats, which ended with outcome (and, for an error, code:
 * an ExecErrorCode or EXEC_STATS_OTHER_ERROR).  Never raises an error.
 */
void
exec_stats_end(ExecStatsOutcome outcome, int code)
{
	if (!call_pending)
		return;
	call_pending = false;
	exec_stats_record(&exec_call_stats, outcome, code);
}

/*
 * exec_stats_record -- add one run, described by st, to its row (created
 * if need be).  Not recorded: a run that did not get as far as a checked
 * program (st->program_path NULL), and anything without preload.  Never
 * raises an error.
 */
void
exec_stats_record(const ExecCallStats *st, ExecStatsOutcome outcome, int code)
{
	StatsKey	key;
	StatsEntry *entry;
	StatsCounters *c;
	double		t = st->run_ms;

	if (st->program_path == NULL || stats_hash == NULL)
		return;

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	strlcpy(key.path, st->program_path, sizeof(key.path));

	LWLockAcquire(stats_shared->lock, LW_SHARED);
	entry = hash_search(stats_hash, &key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		LWLockRelease(stats_shared->lock);
		LWLockAcquire(stats_shared->lock, LW_EXCLUSIVE);
		entry = entry_enter(&key, GetCurrentTimestamp());
		if (entry == NULL)
		{
			LWLockRelease(stats_shared->lock);
			return;
		}
	}

	SpinLockAcquire(&entry->mutex);
	c = &entry->counters;
	c->calls++;
	c->usage += 1.0;
	if (outcome == EXEC_STATS_CANCEL)
		c->cancels++;
	else if (outcome == EXEC_STATS_ERROR)
	{
		c->errors++;
		if (code >= 0 && code < NCODES)
			c->by_code[code]++;
		else
			c->other_errors++;
	}
	if (c->calls == 1)
	{
		c->min_time = t;
		c->max_time = t;
		c->mean_time = t;
	}
	else
	{
		double		old_mean = c->mean_time;

		c->mean_time += (t - old_mean) / c->calls;
		c->sum_var_time += (t - old_mean) * (t - c->mean_time);
		if (t < c->min_time)
			c->min_time = t;
		if (t > c->max_time)
			c->max_time = t;
	}
	c->total_time += t;
	c->user_cpu_time += st->user_cpu_ms;
	c->system_cpu_time += st->system_cpu_ms;
	if (st->max_rss_kb > c->max_rss_kb)
		c->max_rss_kb = st->max_rss_kb;
	c->stdin_bytes += st->stdin_bytes;
	c->stdout_bytes += st->stdout_bytes;
	c->stderr_bytes += st->stderr_bytes;
	SpinLockRelease(&entry->mutex);

	LWLockRelease(stats_shared->lock);
}

/*
 * require_shared -- the statistics functions need the shared table:
 * exec_not_preloaded (with its HINT) without it.
 */
static void
require_shared(void)
{
	exec_require_preload();
	if (stats_hash == NULL)
		exec_raise_hint(EXEC_NOT_PRELOADED, NULL,
						"Add execjson to shared_preload_libraries in postgresql.conf and restart the server.");
}

/*
 * errors_by_code -- {"code": count, ...} of the codes seen, as jsonb.
 */
static Datum
errors_by_code(const StatsCounters *c)
{
	StringInfoData buf;
	int			i;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < NCODES; i++)
	{
		if (c->by_code[i] == 0)
			continue;
		appendStringInfo(&buf, "%s\"%s\": " INT64_FORMAT, first ? "" : ", ",
						 exec_error_code_name((ExecErrorCode) i), c->by_code[i]);
		first = false;
	}
	if (c->other_errors > 0)
		appendStringInfo(&buf, "%s\"other\": " INT64_FORMAT, first ? "" : ", ",
						 c->other_errors);
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * pg_stat_execjson -- SQL: the rows of the table the caller may see.
 *
 * Superusers and members of pg_read_all_stats see every row; other roles
 * their own rows only.
 */
Datum
pg_stat_execjson(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcontext;
	HASH_SEQ_STATUS seq;
	StatsEntry *entry;
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);

	require_shared();

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts != STATS_COLS)
		elog(ERROR, "pg_stat_execjson: unexpected return type (run ALTER EXTENSION execjson UPDATE)");

	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	tupstore = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tupstore;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcontext);

	LWLockAcquire(stats_shared->lock, LW_SHARED);
	hash_seq_init(&seq, stats_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[STATS_COLS];
		bool		nulls[STATS_COLS];
		StatsCounters c;
		int			i = 0;

		if (!see_all && entry->key.userid != userid)
			continue;

		SpinLockAcquire(&entry->mutex);
		c = entry->counters;
		SpinLockRelease(&entry->mutex);

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(entry->key.userid);
		values[i++] = ObjectIdGetDatum(entry->key.dbid);
		values[i++] = CStringGetTextDatum(entry->key.path);
		values[i++] = Int64GetDatum(c.calls);
		values[i++] = Int64GetDatum(c.errors);
		values[i++] = errors_by_code(&c);
		values[i++] = Int64GetDatum(c.cancels);
		values[i++] = Float8GetDatum(c.total_time);
		values[i++] = Float8GetDatum(c.min_time);
		values[i++] = Float8GetDatum(c.max_time);
		values[i++] = Float8GetDatum(c.mean_time);
		values[i++] = Float8GetDatum(c.calls > 1 ? sqrt(c.sum_var_time / c.calls) : 0.0);
		values[i++] = Float8GetDatum(c.user_cpu_time);
		values[i++] = Float8GetDatum(c.system_cpu_time);
		values[i++] = Int64GetDatum(c.max_rss_kb);
		values[i++] = Int64GetDatum(c.stdin_bytes);
		values[i++] = Int64GetDatum(c.stdout_bytes);
		values[i++] = Int64GetDatum(c.stderr_bytes);
		values[i++] = TimestampTzGetDatum(entry->stats_since);
		Assert(i == STATS_COLS);

		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
	LWLockRelease(stats_shared->lock);

	return (Datum) 0;
}

/*
 * pg_stat_execjson_info -- SQL: (dealloc, stats_reset).
 */
Datum
pg_stat_execjson_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	require_shared();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pg_stat_execjson_info: return type must be a row type");

	SpinLockAcquire(&stats_shared->mutex);
	values[0] = Int64GetDatum(stats_shared->dealloc);
	values[1] = TimestampTzGetDatum(stats_shared->stats_reset);
	SpinLockRelease(&stats_shared->mutex);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * pg_stat_execjson_reset -- SQL: remove every row; zero the eviction count.
 */
Datum
pg_stat_execjson_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS seq;
	StatsEntry *entry;

	require_shared();

	LWLockAcquire(stats_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, stats_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
		hash_search(stats_hash, &entry->key, HASH_REMOVE, NULL);
	stats_shared->median_usage = USAGE_INIT;
	SpinLockAcquire(&stats_shared->mutex);
	stats_shared->dealloc = 0;
	stats_shared->stats_reset = GetCurrentTimestamp();
	SpinLockRelease(&stats_shared->mutex);
	LWLockRelease(stats_shared->lock);

	PG_RETURN_VOID();
}
