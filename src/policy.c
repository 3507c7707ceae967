/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  What a request may do (step 2 of a call): which programs may run
 *	  (execjson.allow_prefixes and the resolution of program_path) and
 *	  which environment variables it may set (execjson.allow_env).
 *
 * The canonical (realpath) program path must lie under an allowed prefix,
 * compared component by component.  A path that does not resolve is
 * reported as missing only when the path as written lies under a prefix,
 * so that callers cannot probe which files exist elsewhere.
 *
 * The checked file is then opened without following any symlink, and the
 * child executes that open file, so that swapping a path component between
 * the check and the exec cannot run another file.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__linux__) && defined(SYS_openat2)
#include <linux/openat2.h>
#endif

#include "access/parallel.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"

/*
 * The parsed value of execjson.allow_prefixes (entries without trailing
 * '/', except "/") and of execjson.allow_env, kept as the GUCs' "extra" so
 * that a call does not parse the lists again.
 */
static const ExecGucList *allow_prefixes = NULL;
static const ExecGucList *allow_env = NULL;

/*
 * ascii_text -- s with every byte outside printable ASCII written as \xNN:
 * a message that quotes a path must reach any client encoding and the log
 * as valid text.
 */
static char *
ascii_text(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c < 0x20 || c >= 0x7f)
			appendStringInfo(&buf, "\\x%02x", c);
		else
			appendStringInfoChar(&buf, c);
	}
	return buf.data;
}

/*
 * check_prefix_entry -- an allow_prefixes entry must be an absolute path;
 * its trailing slashes are dropped.
 */
static bool
check_prefix_entry(const char *item, size_t *len)
{
	if (item[0] != '/')
	{
		GUC_check_errdetail("Entry \"%s\" is not an absolute path.",
							ascii_text(pnstrdup(item, *len)));
		return false;
	}
	if (*len >= MAXPGPATH)
	{
		GUC_check_errdetail("An entry is longer than %d bytes.", MAXPGPATH - 1);
		return false;
	}
	while (*len > 1 && item[*len - 1] == '/')
		(*len)--;
	return true;
}

/*
 * execjson_check_allow_prefixes -- GUC check hook.
 *
 * Rejects a relative entry (from the configuration file: accepts it as
 * an empty list, so that no program may run); warns about an entry that
 * exists but is not canonical (it goes through a symlink, or has "." or
 * ".." components), because no canonical program path can lie under it.
 * Empty entries are ignored.  Builds the parsed list as *extra.
 *
 * The warning goes to whoever set the value interactively (SET, ALTER
 * ... SET), and once to the log when the postmaster reads the
 * configuration file.  Never from a backend re-reading the file or a
 * parallel worker restoring the value: an ERROR there (a client encoding
 * that cannot show the path, say) would abort the reload in that session
 * half-way, and it would keep the old settings.
 */
bool
execjson_check_allow_prefixes(char **newval, void **extra, GucSource source)
{
	ExecGucList *list = exec_guc_list_parse(*newval, check_prefix_entry);
	int			elevel;
	int			i;

	if (list == NULL)
	{
		/*
		 * Invalid in the configuration file: nothing may run, rather than
		 * the default's /nix/store/ (see guc.c).
		 */
		if (!exec_accept_invalid_setting(source))
			return false;
		exec_log_invalid_setting("execjson.allow_prefixes",
								 "No program may run (exec_program_not_allowed) until it is fixed.");
		list = exec_guc_list_parse("", check_prefix_entry);
		if (list == NULL)
			return false;
	}
	if (source >= PGC_S_INTERACTIVE && !InitializingParallelWorker)
		elevel = WARNING;
	else if (!IsUnderPostmaster)
		elevel = LOG;
	else
		elevel = 0;
	for (i = 0; elevel != 0 && i < list->count; i++)
	{
		char		resolved[PATH_MAX];

		if (realpath(list->items[i].str, resolved) != NULL &&
			strcmp(resolved, list->items[i].str) != 0)
			ereport(elevel,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("execjson.allow_prefixes entry \"%s\" is not a canonical path",
							ascii_text(list->items[i].str)),
					 errdetail("It resolves to \"%s\"; program paths are compared after resolving symlinks, so no program can match this entry.",
							   ascii_text(resolved)),
					 errhint("List the canonical path instead.")));
	}
	*extra = list;
	return true;
}

/*
 * execjson_assign_allow_prefixes -- GUC assign hook: adopt the parsed list.
 */
void
execjson_assign_allow_prefixes(const char *newval, void *extra)
{
	allow_prefixes = (const ExecGucList *) extra;
}

/*
 * check_env_entry -- an allow_env entry is a name, a prefix ending in '*',
 * or '*' alone, in printable ASCII (a request's names are compared after
 * their conversion to UTF-8, an entry's bytes as they are); a name never
 * holds '='.
 */
static bool
check_env_entry(const char *item, size_t *len)
{
	const char *star = memchr(item, '*', *len);
	size_t		i;

	for (i = 0; i < *len; i++)
		if ((unsigned char) item[i] < 0x20 || (unsigned char) item[i] >= 0x7f)
		{
			GUC_check_errdetail("Entry \"%s\" is not printable ASCII.",
								ascii_text(pnstrdup(item, *len)));
			return false;
		}

	if (memchr(item, '=', *len) != NULL)
	{
		GUC_check_errdetail("Entry \"%.*s\" contains \"=\".", (int) *len, item);
		return false;
	}
	if (star != NULL && star != item + *len - 1)
	{
		GUC_check_errdetail("Entry \"%.*s\" has a \"*\" that is not its last character.",
							(int) *len, item);
		return false;
	}
	return true;
}

/*
 * execjson_check_allow_env -- GUC check hook: builds the parsed list.
 */
bool
execjson_check_allow_env(char **newval, void **extra, GucSource source)
{
	ExecGucList *list = exec_guc_list_parse(*newval, check_env_entry);

	if (list == NULL)
		return false;
	*extra = list;
	return true;
}

/*
 * execjson_assign_allow_env -- GUC assign hook: adopt the parsed list.
 */
void
execjson_assign_allow_env(const char *newval, void *extra)
{
	allow_env = (const ExecGucList *) extra;
}

/*
 * env_name_is_allowed -- may a request set the variable "NAME=value"
 * entry names?
 */
static bool
env_name_is_allowed(const char *entry)
{
	size_t		namelen = strchr(entry, '=') - entry;
	int			i;

	if (allow_env == NULL)
		return false;
	for (i = 0; i < allow_env->count; i++)
	{
		const char *item = allow_env->items[i].str;
		size_t		len = allow_env->items[i].len;

		if (item[len - 1] == '*')
		{
			if (namelen >= len - 1 && memcmp(entry, item, len - 1) == 0)
				return true;
		}
		else if (namelen == len && memcmp(entry, item, len) == 0)
			return true;
	}
	return false;
}

/*
 * exec_policy_check_env -- exec_env_not_allowed unless execjson.allow_env
 * allows every name of the request's env.  The details do not name the
 * variable: it is request payload.
 */
void
exec_policy_check_env(const ExecRequest *req)
{
	int			i;

	for (i = 0; i < req->nenv; i++)
		if (!env_name_is_allowed(req->env[i]))
			exec_raise(EXEC_ENV_NOT_ALLOWED, NULL);
}

/*
 * exec_policy_prefix_count -- how many entries execjson.allow_prefixes has.
 */
int
exec_policy_prefix_count(void)
{
	return allow_prefixes ? allow_prefixes->count : 0;
}

/*
 * exec_policy_prefix -- entry i of execjson.allow_prefixes (no trailing
 * slash but for "/"), for the sandbox to bind.
 */
const char *
exec_policy_prefix(int i)
{
	Assert(allow_prefixes && i >= 0 && i < allow_prefixes->count);
	return allow_prefixes->items[i].str;
}

/*
 * path_is_under -- does path lie under prefix, component by component?
 *
 * prefix has no trailing slash (except "/" itself).  "/a/b" is under "/a"
 * and under "/a/b"; "/a/bc" is not under "/a/b".
 */
static bool
path_is_under(const char *path, size_t pathlen, const char *prefix,
			  size_t prefixlen)
{
	if (prefixlen == 1 && prefix[0] == '/')
		return path[0] == '/';
	if (pathlen < prefixlen || memcmp(path, prefix, prefixlen) != 0)
		return false;
	return path[prefixlen] == '\0' || path[prefixlen] == '/';
}

/*
 * path_is_allowed -- does path lie under one of the allowed prefixes?
 */
static bool
path_is_allowed(const char *path)
{
	size_t		len = strlen(path);
	int			i;

	if (allow_prefixes == NULL)
		return false;
	for (i = 0; i < allow_prefixes->count; i++)
		if (path_is_under(path, len, allow_prefixes->items[i].str,
						  allow_prefixes->items[i].len))
			return true;
	return false;
}

/*
 * path_has_dot_components -- does an absolute path contain "." or ".."
 * components?  Such a path "as written" is not taken to lie under a
 * prefix: "/allowed/../etc/x" names a file outside it.
 */
static bool
path_has_dot_components(const char *path)
{
	const char *p = path;

	while (*p)
	{
		const char *start;
		size_t		len;

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		len = p - start;
		if ((len == 1 && start[0] == '.') ||
			(len == 2 && start[0] == '.' && start[1] == '.'))
			return true;
	}
	return false;
}

/*
 * missing_path_is_allowed -- for a path that does not resolve: would it lie
 * under an allowed prefix once its longest existing ancestor is resolved?
 *
 * Without this, a symlink under a prefix that points elsewhere ("etc ->
 * /etc") would let a caller tell missing files from existing ones there.
 */
static bool
missing_path_is_allowed(const char *path)
{
	char		ancestor[PATH_MAX];
	char		resolved[PATH_MAX];
	size_t		len = strlen(path);

	if (len >= sizeof(ancestor))
		return false;
	memcpy(ancestor, path, len + 1);

	while (len > 0)
	{
		char	   *slash;
		const char *rest;

		/* Drop the last component. */
		ancestor[len] = '\0';
		slash = strrchr(ancestor, '/');
		if (slash == NULL)
			return false;
		len = slash - ancestor;
		rest = path + len;		/* "/x/y", what the ancestor leaves out */
		*slash = '\0';

		if (realpath(len > 0 ? ancestor : "/", resolved) != NULL)
		{
			size_t		rlen = strlen(resolved);

			if (rlen == 1)		/* "/": do not double the slash */
				rlen = 0;
			if (rlen + strlen(rest) >= sizeof(resolved))
				return false;
			strcpy(resolved + rlen, rest);
			return path_is_allowed(resolved);
		}
	}
	return false;
}

#if defined(__linux__) && defined(SYS_openat2)
/*
 * path_is_plain -- is path written as realpath() writes paths: absolute,
 * without "." or ".." components, "//" or a trailing "/"?
 */
static bool
path_is_plain(const char *path)
{
	size_t		len = strlen(path);

	return path[0] == '/' && len < PATH_MAX && path[len - 1] != '/' &&
		strstr(path, "//") == NULL && !path_has_dot_components(path);
}
#endif

/*
 * path_is_canonical -- is path its own realpath()?  It is when it is
 * plain and names a file reached through no symlink, which one openat2()
 * that refuses symlinks shows, in place of realpath()'s readlink() of
 * every component.  False when that cannot be shown (any error, or no
 * openat2): realpath() decides then.  O_PATH opens nothing for I/O, so
 * this does not block on a FIFO.
 */
static bool
path_is_canonical(const char *path)
{
#if defined(__linux__) && defined(SYS_openat2)
	struct open_how how;
	int			fd;

	if (!path_is_plain(path))
		return false;
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS;
	fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return false;
	close(fd);
	return true;
#else
	return false;
#endif
}

/*
 * exec_policy_resolve -- resolve program_path and check it against policy.
 *
 * Returns the canonical path (palloc'd) of a program the server may run,
 * or raises exec_program_not_allowed, exec_program_missing or
 * exec_program_not_executable.
 */
char *
exec_policy_resolve(const char *program_path)
{
	char		canonical[PATH_MAX];
	struct stat st;

	if (path_is_allowed(program_path) && path_is_canonical(program_path))
		strlcpy(canonical, program_path, sizeof(canonical));
	else
	{
		if (realpath(program_path, canonical) == NULL)
		{
			/*
			 * Does not resolve.  Say "missing" only inside the allow-list,
			 * as written and once what exists of it is resolved, so the
			 * error tells nothing about files outside it.
			 */
			if (!path_has_dot_components(program_path) &&
				path_is_allowed(program_path) &&
				missing_path_is_allowed(program_path))
				exec_raise(EXEC_PROGRAM_MISSING, NULL);
			exec_raise(EXEC_PROGRAM_NOT_ALLOWED, NULL);
		}
		if (!path_is_allowed(canonical))
			exec_raise(EXEC_PROGRAM_NOT_ALLOWED, NULL);
	}

	if (stat(canonical, &st) != 0 || !S_ISREG(st.st_mode) ||
		access(canonical, X_OK) != 0)
		exec_raise(EXEC_PROGRAM_NOT_EXECUTABLE, NULL);

	return pstrdup(canonical);
}

/*
 * open_no_symlinks -- open path, failing (ELOOP) if any component of it is
 * a symlink.  path is canonical, so none should be: if one is now, the
 * path changed after it was checked.
 */
static int
open_no_symlinks(const char *path, int flags)
{
#if defined(__linux__) && defined(SYS_openat2)
	struct open_how how;
	int			fd;

	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.resolve = RESOLVE_NO_SYMLINKS;
	fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	/* No openat2 (before Linux 5.6, or a seccomp filter): fall back. */
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
#endif
	/* Before Linux 5.6: at least the last component must not be a symlink. */
	return open(path, flags | O_NOFOLLOW);
}

/*
 * exec_program_open -- open the canonical path of a checked program for
 * execution by its fd (close-on-exec).
 *
 * The open never blocks and the file must still be a regular file: if a
 * FIFO, socket or device took the checked file's place, opening it
 * without O_NONBLOCK would hang the backend beyond the reach of cancel.
 * Such a file gives -1 with errno EACCES.
 *
 * Sets *is_script when the file starts with "#!": a script is executed by
 * its path instead, since its interpreter opens it by name (through
 * /dev/fd, which the close-on-exec fd would not reach).  A program the
 * server may execute but not read is opened with O_PATH.  Returns -1 with
 * errno set on failure.
 */
int
exec_program_open(const char *canonical, bool *is_script)
{
	int			fd;
	char		magic[2];
	struct stat st;

	*is_script = false;
	fd = open_no_symlinks(canonical, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
#ifdef O_PATH
	if (fd < 0 && errno == EACCES)
		fd = open_no_symlinks(canonical, O_PATH | O_CLOEXEC);
#endif
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		errno = EACCES;
		return -1;
	}
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!')
		*is_script = true;
	return fd;
}
