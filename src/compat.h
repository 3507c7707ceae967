/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The PostgreSQL-version differences execjson cares about, in one place.
 *
 * execjson builds against PostgreSQL 13 to 18.  Every #if on
 * PG_VERSION_NUM lives here, so that the rest of the code reads as if
 * there were only one version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EXECJSON_COMPAT_H
#define EXECJSON_COMPAT_H

#include "postgres.h"

#include "storage/latch.h"
#if PG_VERSION_NUM >= 180000
#include "storage/waiteventset.h"	/* WaitEventSet got a header of its own */
#endif
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#else
#include "pgstat.h"				/* PG_WAIT_EXTENSION before 14 */
#endif

/*
 * CreateWaitEventSet takes a MemoryContext before 17 and a ResourceOwner
 * from 17 on.  execjson keeps one wait set for the backend's life: in
 * TopMemoryContext, owned by no ResourceOwner (17+ allocates it in
 * TopMemoryContext and, without an owner, leaves it alone at transaction
 * end).
 */
#if PG_VERSION_NUM >= 170000
#define execjson_create_backend_wait_event_set(nevents) \
	CreateWaitEventSet(NULL, (nevents))
#else
#define execjson_create_backend_wait_event_set(nevents) \
	CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

/*
 * The "extra" of a GUC check hook: malloc'd before 16, guc_malloc'd from
 * 16 on (GUC memory became palloc'd in a context of its own).
 */
#if PG_VERSION_NUM >= 160000
#define execjson_guc_malloc(size) guc_malloc(LOG, (size))
#else
#define execjson_guc_malloc(size) malloc(size)
#endif

/*
 * MarkGUCPrefixReserved appeared in 15; before, EmitWarningsOnPlaceholders
 * only warned about placeholders.
 */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * pg_noreturn (18+) replaced pg_attribute_noreturn(); it goes in front of
 * the declaration, where GCC's attribute works as well.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * Shared memory is requested from shmem_request_hook from 15 on, directly
 * in _PG_init before.
 */
#if PG_VERSION_NUM >= 150000
#define EXECJSON_SHMEM_REQUEST_HOOK 1
#endif

/* The role pg_read_all_stats: DEFAULT_ROLE_READ_ALL_STATS before 14. */
#if PG_VERSION_NUM < 140000
#define ROLE_PG_READ_ALL_STATS DEFAULT_ROLE_READ_ALL_STATS
#endif

/* fmgr.h declares _PG_init from 16 on. */
#if PG_VERSION_NUM < 160000
extern void _PG_init(void);
#endif

/*
 * The wait event shown in pg_stat_activity while a program runs: a custom
 * "ExecJsonProgram" from 17 on, the generic "Extension" before.
 */
#if PG_VERSION_NUM >= 170000
static inline uint32
execjson_wait_event(void)
{
	static uint32 wait_event = 0;

	if (wait_event == 0)
		wait_event = WaitEventExtensionNew("ExecJsonProgram");
	return wait_event;
}
#else
#define execjson_wait_event() PG_WAIT_EXTENSION
#endif

#endif							/* EXECJSON_COMPAT_H */
