/*-------------------------------------------------------------------------
 *
 * sandbox.c
 *	  The program sandbox: execjson.sandbox, execjson.sandbox_paths and
 *	  execjson.sandbox_tmp_bytes, and the namespaces a program runs in.
 *
 * "processes" starts the program in new user, pid, ipc and uts namespaces
 * with the server's uid and gid mapped to themselves: the program is pid 1
 * of its namespace, so when it ends -- or is SIGKILLed, or the backend
 * dies (PR_SET_PDEATHSIG) -- every process it started ends too, setsid()
 * ones included; and it can signal no process outside its call.
 * "filesystem" adds a mount namespace whose root holds only the
 * allow_prefixes and sandbox_paths directories (read-only), a fresh /proc,
 * a minimal /dev and a private tmpfs /tmp; "network" a network namespace
 * with only a loopback interface.  No helper process and no extra exec:
 * the child that spawn.c clones does it all with system calls before it
 * executes the program.
 *
 * This file has two halves:
 *
 *	  PARENT SIDE: the GUC hooks, and exec_sandbox_plan(), which turns the
 *	  settings into an ExecSandboxPlan with every path and string built, so
 *	  that the child has nothing to compute; and the error the parent raises
 *	  when the child reports a failed step.
 *
 *	  CHILD SIDE: exec_sandbox_child_setup(), run between clone() and
 *	  execve() under spawn.c's CHILD SIDE RULES: only async-signal-safe
 *	  system calls, no PostgreSQL code, write nothing but the locals.  One
 *	  step a function; a failing step returns its ExecSandboxStep and errno.
 *
 * A kernel that refuses a step never gets the program run without the
 * sandbox it was asked for: the call fails with exec_sandbox_unavailable.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"
#include "sandbox.h"

/* Where the new root is first mounted, and where the old root goes. */
#define SANDBOX_ROOT_MOUNTPOINT "/tmp"
#define SANDBOX_OLD_ROOT "/.oldroot"
#define SANDBOX_OLD_ROOT_NAME ".oldroot"

/* Size of the new root's own tmpfs: only directories and mount points. */
#define SANDBOX_ROOT_OPTIONS "mode=0755,size=1m,nr_inodes=4096"

/*
 * Where a backend keeps its skeleton: the directories, files and symlinks
 * of the new root, made once instead of at every call (see
 * skeleton_for()).  On a tmpfs, private to the server's OS user (0700).
 */
#define SANDBOX_SKELETON_TEMPLATE "/dev/shm/execjson-sandbox-XXXXXX"

/*
 * mount_setattr(2) (Linux 5.12) makes a recursive bind read-only at every
 * level and leaves the locked flags alone; the C library may not have it.
 */
#ifndef SYS_mount_setattr
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__) || defined(__arm__)
#define SYS_mount_setattr 442
#endif
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define SANDBOX_MOUNT_ATTR_RDONLY 0x00000001
#define SANDBOX_MOUNT_ATTR_NOSUID 0x00000002
#define SANDBOX_MOUNT_ATTR_NODEV 0x00000004
/* struct mount_attr: attr_set, attr_clr, propagation, userns_fd */
#define SANDBOX_MOUNT_ATTR_WORDS 4

/* ================================================================
 * PARENT SIDE
 * ================================================================
 */

/* GUC variables (defined in guc.c) */
char	   *execjson_sandbox = NULL;
char	   *execjson_sandbox_paths = NULL;
int			execjson_sandbox_tmp_bytes = 64 * 1024;	/* kB */

/* The parsed execjson.sandbox */
static int	sandbox_flags = 0;

/*
 * An invalid value read from the configuration file (see
 * exec_accept_invalid_setting in guc.c) is parsed to this: every call then
 * fails.
 */
#define SANDBOX_SETTING_INVALID (-1)
static bool sandbox_invalid = false;
static bool sandbox_paths_invalid = false;

/*
 * SandboxPaths -- the parsed execjson.sandbox_paths (the GUC's extra).
 * The strings follow the array; none ends in '/'.
 */
typedef struct SandboxPaths
{
	int			count;
	const char *items[FLEXIBLE_ARRAY_MEMBER];
} SandboxPaths;

static const SandboxPaths *sandbox_paths = NULL;

/* The names of ExecSandboxStep, as the error's details give them. */
static const char *const step_names[] = {
	[SANDBOX_STEP_NONE] = "none",
	[SANDBOX_STEP_CLONE] = "clone",
	[SANDBOX_STEP_PDEATHSIG] = "set_parent_death_signal",
	[SANDBOX_STEP_SETGROUPS] = "deny_setgroups",
	[SANDBOX_STEP_UID_MAP] = "write_uid_map",
	[SANDBOX_STEP_GID_MAP] = "write_gid_map",
	[SANDBOX_STEP_MOUNT_ROOT] = "mount_root_tmpfs",
	[SANDBOX_STEP_PIVOT_ROOT] = "pivot_root",
	[SANDBOX_STEP_MKDIR] = "mkdir",
	[SANDBOX_STEP_CREATE_FILE] = "create_mount_point",
	[SANDBOX_STEP_SYMLINK] = "symlink",
	[SANDBOX_STEP_BIND] = "bind",
	[SANDBOX_STEP_REMOUNT_READ_ONLY] = "remount_read_only",
	[SANDBOX_STEP_MOUNT_TMP] = "mount_tmp",
	[SANDBOX_STEP_MOUNT_PROC] = "mount_proc",
	[SANDBOX_STEP_DETACH_OLD_ROOT] = "detach_old_root",
	[SANDBOX_STEP_REMOUNT_ROOT] = "remount_root_read_only",
	[SANDBOX_STEP_CONFIGURATION] = "configuration",
	[SANDBOX_STEP_DISABLE_USERNS] = "disable_user_namespaces",
};

StaticAssertDecl(lengthof(step_names) == SANDBOX_STEP_LAST + 1,
				 "step_names must have one entry per ExecSandboxStep");

/*
 * errno_name -- the symbolic name of an errno value ("EPERM"), for the
 * error's details; "E<number>" for one not listed.
 */
static const char *
errno_name(int err)
{
	switch (err)
	{
#define NAME(e) case e: return #e
			NAME(EPERM);
			NAME(ENOENT);
			NAME(ESRCH);
			NAME(EINTR);
			NAME(EIO);
			NAME(E2BIG);
			NAME(EBADF);
			NAME(EAGAIN);
			NAME(ENOMEM);
			NAME(EACCES);
			NAME(EFAULT);
			NAME(EBUSY);
			NAME(EEXIST);
			NAME(EXDEV);
			NAME(ENODEV);
			NAME(ENOTDIR);
			NAME(EISDIR);
			NAME(EINVAL);
			NAME(ENFILE);
			NAME(EMFILE);
			NAME(ENOSPC);
			NAME(EROFS);
			NAME(EMLINK);
			NAME(ENAMETOOLONG);
			NAME(ENOSYS);
			NAME(ELOOP);
			NAME(EOVERFLOW);
			NAME(EUSERS);
			NAME(EOPNOTSUPP);
#undef NAME
		default:
			return psprintf("E%d", err);
	}
}

/*
 * sandbox_hint -- the likely cause of a refused step, for the HINT.
 */
static const char *
sandbox_hint(int step, int err)
{
	if (step == SANDBOX_STEP_CONFIGURATION)
		return "Fix execjson.sandbox or execjson.sandbox_paths in the server's configuration (the server log says what is wrong) and reload it.";
	if (step == SANDBOX_STEP_CLONE && (err == ENOSPC || err == EUSERS))
		return "The kernel allows no new user namespace: check the sysctl user.max_user_namespaces.";
	if (step == SANDBOX_STEP_CLONE && err == EPERM)
		return "The kernel refuses unprivileged user namespaces: check kernel.unprivileged_userns_clone, a seccomp filter on the server (containers), or a server started by chroot (a user namespace needs a real root; use pivot_root or a container).";
	if (step == SANDBOX_STEP_BIND && err == EINVAL)
		return "Without mount_setattr (Linux 5.12), a path with mounts below it cannot be bound read-only at every level: list the paths without mounts below them in execjson.sandbox_paths, or upgrade the kernel.";
	if (step == SANDBOX_STEP_DISABLE_USERNS)
		return "The sandbox sets user.max_user_namespaces to 0 inside its own user namespace, through the server's /proc/sys, which must be mounted and writable (many containers mount it read-only).";
	if (step == SANDBOX_STEP_MOUNT_PROC && err == EPERM)
		return "A new /proc cannot be mounted where the server's /proc is partly covered by other mounts (as in many containers).";
	if (err == EPERM || err == EACCES)
		return "A security module may restrict unprivileged user namespaces (on Ubuntu, kernel.apparmor_restrict_unprivileged_userns; an AppArmor profile for the server can allow them), or a seccomp filter denies the step.";
	return "See the README's Sandbox section; execjson never runs a program without the sandbox execjson.sandbox asks for.";
}

/*
 * exec_sandbox_raise_unavailable -- exec_sandbox_unavailable for a step of
 * the sandbox that failed with err.
 */
void
exec_sandbox_raise_unavailable(const char *program_path, int step, int err)
{
	ExecErrorDetails details;

	if (step <= SANDBOX_STEP_NONE || step > SANDBOX_STEP_LAST)
		step = SANDBOX_STEP_NONE;
	exec_details_init(&details);
	exec_details_add_string(&details, "program_path", program_path);
	exec_details_add_string(&details, "step", step_names[step]);
	exec_details_add_string(&details, "errno", errno_name(err));
	exec_raise_hint(EXEC_SANDBOX_UNAVAILABLE, &details,
					sandbox_hint(step, err));
}

/*
 * exec_sandbox_check_settings -- exec_sandbox_unavailable (step
 * "configuration", EINVAL) if the configuration file gave execjson.sandbox
 * or execjson.sandbox_paths an invalid value: the policy the DBA meant is
 * unknown, so no program runs.
 */
void
exec_sandbox_check_settings(const char *program_path)
{
	if (sandbox_invalid || sandbox_paths_invalid)
		exec_sandbox_raise_unavailable(program_path, SANDBOX_STEP_CONFIGURATION,
									   EINVAL);
}

/*
 * exec_sandbox_describe -- "none" or the elements of flags, as the audit
 * line gives them ("processes,filesystem").
 */
const char *
exec_sandbox_describe(int flags)
{
	static const char *const names[8] = {
		"none", "processes", "processes,filesystem", "processes,filesystem",
		"processes,network", "processes,network",
		"processes,filesystem,network", "processes,filesystem,network",
	};

	return names[flags & 7];
}

/*
 * exec_sandbox_flags -- the EXEC_SANDBOX_* flags of execjson.sandbox, with
 * what they imply.
 */
int
exec_sandbox_flags(void)
{
	return sandbox_flags;
}

/*
 * read_sysctl -- the integer in a /proc/sys file, or -1 if there is none.
 */
static long
read_sysctl(const char *path)
{
	char		buf[32];
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t		n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * warn_if_refused -- a WARNING when a sysctl says the kernel will refuse
 * unprivileged user namespaces.  A probe only: the kernel decides at each
 * call, and a refusal then fails the call.
 */
static void
warn_if_refused(void)
{
	const char *why = NULL;

	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		why = "user.max_user_namespaces is 0";
	else if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		why = "kernel.unprivileged_userns_clone is 0";
	else if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		why = "kernel.apparmor_restrict_unprivileged_userns is 1";
	if (why)
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("execjson.sandbox is set, but this kernel appears to refuse unprivileged user namespaces"),
				 errdetail("The sysctl %s; every call will fail with exec_sandbox_unavailable.", why),
				 errhint("See the README's Sandbox section.")));
}

/*
 * warn_now -- whether a check hook should warn for a value from source:
 * when a superuser sets it (SET, ALTER ... SET) and when the postmaster
 * reads its configuration, not again in every backend.
 */
static bool
warn_now(GucSource source)
{
	return source >= PGC_S_INTERACTIVE || !IsUnderPostmaster;
}

/*
 * execjson_check_sandbox -- GUC check hook of execjson.sandbox: a list of
 * processes, filesystem, network; filesystem and network imply processes.
 */
bool
execjson_check_sandbox(char **newval, void **extra, GucSource source)
{
	const char *p = *newval ? *newval : "";
	const char *item;
	size_t		len;
	int			flags = 0;
	int		   *result;

	while ((item = exec_guc_list_next(&p, &len)) != NULL)
	{
		if (len == 0)
			continue;
		if (len == 9 && pg_strncasecmp(item, "processes", 9) == 0)
			flags |= EXEC_SANDBOX_PROCESSES;
		else if (len == 10 && pg_strncasecmp(item, "filesystem", 10) == 0)
			flags |= EXEC_SANDBOX_PROCESSES | EXEC_SANDBOX_FILESYSTEM;
		else if (len == 7 && pg_strncasecmp(item, "network", 7) == 0)
			flags |= EXEC_SANDBOX_PROCESSES | EXEC_SANDBOX_NETWORK;
		else
		{
			GUC_check_errdetail("Unrecognized element \"%.*s\"; the elements are processes, filesystem and network.",
								(int) Min(len, 64), item);
			if (!exec_accept_invalid_setting(source))
				return false;
			exec_log_invalid_setting("execjson.sandbox",
									 "Every call fails with exec_sandbox_unavailable until it is fixed.");
			flags = SANDBOX_SETTING_INVALID;
			break;
		}
	}

	result = execjson_guc_malloc(sizeof(int));
	if (result == NULL)
		return false;
	*result = flags;
	*extra = result;

	if (flags > 0 && warn_now(source))
		warn_if_refused();
	return true;
}

/*
 * execjson_assign_sandbox -- GUC assign hook: adopt the parsed flags.
 */
void
execjson_assign_sandbox(const char *newval, void *extra)
{
	int			flags = extra ? *(int *) extra : 0;

	sandbox_invalid = (flags == SANDBOX_SETTING_INVALID);
	sandbox_flags = sandbox_invalid ? 0 : flags;
}

/*
 * path_is_plain -- an absolute path without "." or ".." components or
 * doubled slashes (trailing slashes already removed).
 */
static bool
path_is_plain(const char *path, size_t len)
{
	size_t		i = 0;

	if (len == 0 || path[0] != '/')
		return false;
	while (i < len)
	{
		size_t		start = ++i;	/* after the slash */

		while (i < len && path[i] != '/')
			i++;
		if (i == start && len > 1)
			return false;
		if ((i - start == 1 && path[start] == '.') ||
			(i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
			return false;
	}
	return true;
}

/*
 * path_contains -- is inner the directory outer or under it?
 */
static bool
path_contains(const char *outer, const char *inner)
{
	size_t		len = strlen(outer);

	return strncmp(outer, inner, len) == 0 &&
		(inner[len] == '\0' || inner[len] == '/');
}

/*
 * warn_if_server_path -- a WARNING when the sandbox_paths entry path is, or
 * holds, the data directory or a unix socket directory of the server: a
 * read-only bind still lets a program connect to a socket and write to a
 * FIFO under it, and read what the server's OS user may read.
 */
static void
warn_if_server_path(const char *path)
{
	char		resolved[PATH_MAX];
	char		dir[PATH_MAX];
	const char *what = NULL;

	if (realpath(path, resolved) == NULL)
		return;
	if (DataDir && realpath(DataDir, dir) != NULL && path_contains(resolved, dir))
		what = "data directory";
	if (what == NULL && Unix_socket_directories)
	{
		char	   *raw = pstrdup(Unix_socket_directories);
		List	   *dirs;

		if (SplitDirectoriesString(raw, ',', &dirs))
		{
			ListCell   *lc;

			foreach(lc, dirs)
			{
				const char *d = (const char *) lfirst(lc);

				if (d[0] != '@' && realpath(d, dir) != NULL &&
					path_contains(resolved, dir))
					what = "unix socket directory";
			}
		}
	}
	if (what)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("execjson.sandbox_paths entry \"%s\" exposes the server's %s to sandboxed programs",
						path, what),
				 errdetail("A read-only bind still lets a program connect to the server's sockets, write to FIFOs and read what the server's OS user may read under it."),
				 errhint("Never list the data directory, the socket directories, /run or /var/run, or a directory that holds one of them.")));
}

/*
 * accept_invalid_paths -- for an invalid execjson.sandbox_paths: false
 * (reject it), or, from the configuration file, true with a list marked
 * invalid as *extra: every call then fails (see guc.c).
 */
static bool
accept_invalid_paths(GucSource source, void **extra)
{
	SandboxPaths *result;

	if (!exec_accept_invalid_setting(source))
		return false;
	exec_log_invalid_setting("execjson.sandbox_paths",
							 "Every call fails with exec_sandbox_unavailable until it is fixed.");
	result = execjson_guc_malloc(offsetof(SandboxPaths, items));
	if (result == NULL)
		return false;
	result->count = -1;
	*extra = result;
	return true;
}

/*
 * execjson_check_sandbox_paths -- GUC check hook of
 * execjson.sandbox_paths: absolute, plain paths, not "/" and nothing under
 * /proc (the sandbox's own).  An entry that does not exist draws a
 * WARNING and is ignored (at each call, entries are looked up again).
 */
bool
execjson_check_sandbox_paths(char **newval, void **extra, GucSource source)
{
	const char *p = *newval ? *newval : "";
	const char *item;
	size_t		len;
	int			count = 0;
	size_t		strbytes = 0;
	SandboxPaths *result;
	char	   *strings;

	while ((item = exec_guc_list_next(&p, &len)) != NULL)
	{
		while (len > 1 && item[len - 1] == '/')
			len--;
		if (len == 0)
			continue;
		if (len >= MAXPGPATH)
		{
			GUC_check_errdetail("An entry is longer than %d bytes.", MAXPGPATH - 1);
			return accept_invalid_paths(source, extra);
		}
		if (!path_is_plain(item, len))
		{
			GUC_check_errdetail("Entry \"%.*s\" is not an absolute path without \".\" or \"..\" components.",
								(int) len, item);
			return accept_invalid_paths(source, extra);
		}
		if (len == 1 || (len >= 5 && strncmp(item, "/proc", 5) == 0 &&
						 (len == 5 || item[5] == '/')))
		{
			GUC_check_errdetail("Entry \"%.*s\" cannot be bound into the sandbox: \"/\" would expose everything, and /proc is the sandbox's own.",
								(int) len, item);
			return accept_invalid_paths(source, extra);
		}
		count++;
		strbytes += len + 1;
	}

	result = execjson_guc_malloc(offsetof(SandboxPaths, items) +
								 sizeof(char *) * count + strbytes);
	if (result == NULL)
		return false;
	strings = (char *) &result->items[count];
	result->count = 0;

	p = *newval ? *newval : "";
	while ((item = exec_guc_list_next(&p, &len)) != NULL)
	{
		struct stat st;

		while (len > 1 && item[len - 1] == '/')
			len--;
		if (len == 0)
			continue;
		memcpy(strings, item, len);
		strings[len] = '\0';
		if (lstat(strings, &st) != 0 && warn_now(source))
			ereport(WARNING,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("execjson.sandbox_paths entry \"%s\" does not exist",
							strings),
					 errdetail("It is ignored while it does not exist.")));
		else if (warn_now(source))
			warn_if_server_path(strings);
		result->items[result->count++] = strings;
		strings += len + 1;
	}

	*extra = result;
	return true;
}

/*
 * execjson_assign_sandbox_paths -- GUC assign hook: adopt the parsed list.
 */
void
execjson_assign_sandbox_paths(const char *newval, void *extra)
{
	sandbox_paths = (const SandboxPaths *) extra;
	sandbox_paths_invalid = sandbox_paths && sandbox_paths->count < 0;
}

/*
 * PlanBuilder -- the filesystem steps being built.
 */
typedef struct PlanBuilder
{
	ExecSandboxOp *ops;
	int			nops;
	int			maxops;
} PlanBuilder;

/*
 * add_op -- append one step.
 */
static void
add_op(PlanBuilder *b, ExecSandboxOpKind kind, const char *a, const char *c)
{
	if (b->nops == b->maxops)
	{
		b->maxops *= 2;
		b->ops = repalloc(b->ops, sizeof(ExecSandboxOp) * b->maxops);
	}
	b->ops[b->nops].kind = kind;
	b->ops[b->nops].a = a;
	b->ops[b->nops].b = c;
	b->nops++;
}

/*
 * add_parents -- mkdir steps for every ancestor of path but "/".
 */
static void
add_parents(PlanBuilder *b, const char *path)
{
	const char *slash;

	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/'))
		add_op(b, SANDBOX_OP_MKDIR, pnstrdup(path, slash - path), NULL);
}

/*
 * add_host_path -- the steps that make the host's path appear in the
 * sandbox: the same symlink if it is one, else its canonical target bound
 * read-only at the same path.  A path that does not exist is skipped.
 */
static void
add_host_path(PlanBuilder *b, const char *path)
{
	struct stat st;
	char		resolved[PATH_MAX];

	if (lstat(path, &st) != 0)
		return;
	add_parents(b, path);
	if (S_ISLNK(st.st_mode))
	{
		char		target[PATH_MAX];
		ssize_t		n = readlink(path, target, sizeof(target) - 1);

		if (n <= 0)
			return;
		target[n] = '\0';
		add_op(b, SANDBOX_OP_SYMLINK, pstrdup(target), path);
		return;
	}
	if (realpath(path, resolved) == NULL)
		return;
	add_op(b, S_ISDIR(st.st_mode) ? SANDBOX_OP_MKDIR : SANDBOX_OP_CREATE_FILE,
		   path, NULL);
	add_op(b, SANDBOX_OP_BIND_RO, psprintf(SANDBOX_OLD_ROOT "%s", resolved), path);
}

/*
 * Skeleton -- the backend's skeleton directory: its path, and the steps
 * that made it (to remove it, and to know whether the next plan needs
 * another), in TopMemoryContext.  path is NULL when there is none.
 */
static struct
{
	char	   *path;
	char	   *signature;
	ExecSandboxOp *ops;
	int			nops;
	bool		exit_callback;
} skeleton;

/*
 * in_skeleton -- whether op is made once in the skeleton rather than at
 * every call: the creations, except under /tmp (the call's own tmpfs).
 */
static bool
in_skeleton(const ExecSandboxOp *op)
{
	const char *target;

	if (op->kind == SANDBOX_OP_MKDIR || op->kind == SANDBOX_OP_CREATE_FILE)
		target = op->a;
	else if (op->kind == SANDBOX_OP_SYMLINK)
		target = op->b;
	else
		return false;
	return !(strncmp(target, "/tmp/", 5) == 0);
}

/*
 * remove_skeleton -- remove the skeleton directory (its steps undone in
 * reverse), if there is one.
 */
static void
remove_skeleton(void)
{
	int			i;

	if (skeleton.path == NULL)
		return;
	for (i = skeleton.nops - 1; i >= 0; i--)
	{
		const ExecSandboxOp *op = &skeleton.ops[i];
		char	   *path = psprintf("%s%s", skeleton.path,
									op->kind == SANDBOX_OP_SYMLINK ? op->b : op->a);

		if (op->kind == SANDBOX_OP_MKDIR)
			(void) rmdir(path);
		else
			(void) unlink(path);
		pfree(path);
	}
	{
		char	   *path = psprintf("%s/%s", skeleton.path, SANDBOX_OLD_ROOT_NAME);

		(void) rmdir(path);
		pfree(path);
	}
	(void) rmdir(skeleton.path);
	pfree(skeleton.path);
	pfree(skeleton.signature);
	pfree(skeleton.ops);
	skeleton.path = NULL;
}

/*
 * remove_skeleton_on_exit -- before_shmem_exit callback.
 */
static void
remove_skeleton_on_exit(int code, Datum arg)
{
	remove_skeleton();
}

/*
 * build_skeleton -- make the skeleton ops[0..nops) in a new directory.
 * False if it cannot be made (no /dev/shm, say): the call then builds its
 * root on a tmpfs of its own.
 */
static bool
build_skeleton(const ExecSandboxOp *ops, int nops, const char *signature)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	char	   *dir = pstrdup(SANDBOX_SKELETON_TEMPLATE);
	bool		ok = true;
	int			i;

	if (mkdtemp(dir) == NULL)
	{
		pfree(dir);
		MemoryContextSwitchTo(old);
		return false;
	}
	skeleton.path = dir;
	skeleton.signature = pstrdup(signature);
	skeleton.ops = palloc(sizeof(ExecSandboxOp) * Max(nops, 1));
	skeleton.nops = 0;
	if (!skeleton.exit_callback)
	{
		before_shmem_exit(remove_skeleton_on_exit, (Datum) 0);
		skeleton.exit_callback = true;
	}

	{
		char	   *path = psprintf("%s/%s", dir, SANDBOX_OLD_ROOT_NAME);

		ok = mkdir(path, 0700) == 0;
		pfree(path);
	}
	for (i = 0; ok && i < nops; i++)
	{
		ExecSandboxOp *op = &skeleton.ops[skeleton.nops];
		char	   *path;
		int			fd;

		op->kind = ops[i].kind;
		op->a = pstrdup(ops[i].a);
		op->b = ops[i].b ? pstrdup(ops[i].b) : NULL;
		skeleton.nops++;
		path = psprintf("%s%s", dir, op->kind == SANDBOX_OP_SYMLINK ? op->b : op->a);
		switch (op->kind)
		{
			case SANDBOX_OP_MKDIR:
				ok = mkdir(path, 0755) == 0 || errno == EEXIST;
				break;
			case SANDBOX_OP_CREATE_FILE:
				fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
				ok = fd >= 0;
				if (fd >= 0)
					close(fd);
				break;
			case SANDBOX_OP_SYMLINK:
				ok = symlink(op->a, path) == 0 || errno == EEXIST;
				break;
			default:
				ok = false;
				break;
		}
		pfree(path);
	}
	MemoryContextSwitchTo(old);
	if (!ok)
		remove_skeleton();
	return ok;
}

/*
 * skeleton_for -- the skeleton directory for plan's filesystem steps, made
 * or remade if need be, and the steps left for the child (the mounts, and
 * what goes under /tmp) in plan; or NULL, plan unchanged, if there can be
 * none.
 *
 * The skeleton saves the child a dozen creations per call (each about as
 * dear as a mount).  It is the backend's own, made again when the settings
 * change the steps, removed when the backend exits; bound read-only as the
 * program's root, with the mounts on top.
 */
static const char *
skeleton_for(ExecSandboxPlan *plan)
{
	StringInfoData sig;
	ExecSandboxOp *skel_ops = palloc(sizeof(ExecSandboxOp) * plan->nops);
	ExecSandboxOp *call_ops = palloc(sizeof(ExecSandboxOp) * plan->nops);
	int			nskel = 0;
	int			ncall = 0;
	int			i;

	initStringInfo(&sig);
	for (i = 0; i < plan->nops; i++)
	{
		const ExecSandboxOp *op = &plan->ops[i];

		if (in_skeleton(op))
		{
			skel_ops[nskel++] = *op;
			appendStringInfo(&sig, "%d:%s:%s\n", (int) op->kind, op->a,
							 op->b ? op->b : "");
		}
		else
			call_ops[ncall++] = *op;
	}

	if (skeleton.path == NULL || strcmp(skeleton.signature, sig.data) != 0)
	{
		remove_skeleton();
		if (!build_skeleton(skel_ops, nskel, sig.data))
			return NULL;
	}
	plan->ops = call_ops;
	plan->nops = ncall;
	return skeleton.path;
}

/*
 * have_mount_setattr -- whether the kernel has mount_setattr(2), asked once
 * per backend: a call with an invalid size fails with EINVAL if it does,
 * ENOSYS if it does not (before Linux 5.12, or a seccomp filter).
 */
static bool
have_mount_setattr(void)
{
#ifdef SYS_mount_setattr
	static int	have = -1;

	if (have < 0)
		have = (syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) == 0 ||
				errno != ENOSYS);
	return have;
#else
	return false;
#endif
}

/*
 * exec_sandbox_plan -- the plan for the next call under the current
 * settings, or NULL when execjson.sandbox is empty.  Built in the current
 * memory context.
 */
const ExecSandboxPlan *
exec_sandbox_plan(void)
{
	static const char *const dev_files[] = {"null", "zero", "full", "random", "urandom"};
	ExecSandboxPlan *plan;

	if (sandbox_flags == 0)
		return NULL;

	plan = palloc0(sizeof(ExecSandboxPlan));
	plan->flags = sandbox_flags;
	plan->clone_flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	plan->uid_map_len = snprintf(plan->uid_map, sizeof(plan->uid_map), "%u %u 1\n",
								 (unsigned) geteuid(), (unsigned) geteuid());
	plan->gid_map_len = snprintf(plan->gid_map, sizeof(plan->gid_map), "%u %u 1\n",
								 (unsigned) getegid(), (unsigned) getegid());
	if (sandbox_flags & EXEC_SANDBOX_NETWORK)
		plan->clone_flags |= CLONE_NEWNET;

	if (sandbox_flags & EXEC_SANDBOX_FILESYSTEM)
	{
		PlanBuilder b;
		int			i;

		plan->clone_flags |= CLONE_NEWNS;
		plan->no_mount_setattr = !have_mount_setattr();
		plan->root_options = SANDBOX_ROOT_OPTIONS;
		/*
		 * Inodes bounded too, one per 4 kB (at least 1024): each costs
		 * kernel memory that size= does not count (~1 kB).
		 */
		plan->tmp_options = psprintf("mode=1777,size=%lldk,nr_inodes=%lld",
									 (long long) execjson_sandbox_tmp_bytes,
									 (long long) Max(execjson_sandbox_tmp_bytes / 4, 1024));

		b.maxops = 32;
		b.nops = 0;
		b.ops = palloc(sizeof(ExecSandboxOp) * b.maxops);

		/* /tmp first: paths under /tmp get their mount points in it */
		add_op(&b, SANDBOX_OP_MKDIR, "/tmp", NULL);
		add_op(&b, SANDBOX_OP_MOUNT_TMP, "/tmp", NULL);

		add_op(&b, SANDBOX_OP_MKDIR, "/dev", NULL);
		for (i = 0; i < (int) lengthof(dev_files); i++)
		{
			char	   *dst = psprintf("/dev/%s", dev_files[i]);

			add_op(&b, SANDBOX_OP_CREATE_FILE, dst, NULL);
			add_op(&b, SANDBOX_OP_BIND_DEV, psprintf(SANDBOX_OLD_ROOT "%s", dst), dst);
		}
		add_op(&b, SANDBOX_OP_SYMLINK, "../tmp", "/dev/shm");
		add_op(&b, SANDBOX_OP_SYMLINK, "/proc/self/fd", "/dev/fd");
		add_op(&b, SANDBOX_OP_SYMLINK, "/proc/self/fd/0", "/dev/stdin");
		add_op(&b, SANDBOX_OP_SYMLINK, "/proc/self/fd/1", "/dev/stdout");
		add_op(&b, SANDBOX_OP_SYMLINK, "/proc/self/fd/2", "/dev/stderr");

		/*
		 * An allowed prefix of "/" is not bound: it would expose everything.
		 * The program itself runs anyway, from the file the parent opened.
		 */
		for (i = 0; i < exec_policy_prefix_count(); i++)
			if (strcmp(exec_policy_prefix(i), "/") != 0)
				add_host_path(&b, exec_policy_prefix(i));
		for (i = 0; sandbox_paths && i < sandbox_paths->count; i++)
			add_host_path(&b, sandbox_paths->items[i]);

		add_op(&b, SANDBOX_OP_MKDIR, "/proc", NULL);
		add_op(&b, SANDBOX_OP_MOUNT_PROC, "/proc", NULL);

		plan->ops = b.ops;
		plan->nops = b.nops;
		plan->root_source = skeleton_for(plan);
	}
	return plan;
}

/* ================================================================
 * CHILD SIDE -- between clone() and execve(): the CHILD SIDE RULES of
 * spawn.c apply to everything below.  Each function is one step and
 * returns 0 or the ExecSandboxStep that failed, with *err set.
 * ================================================================
 */

#define FAIL(step) do { *err = errno; return (step); } while (0)

/*
 * write_proc_file -- write len bytes of data to a /proc/self file.
 */
static int
write_proc_file(const char *path, const char *data, int len, int step, int *err)
{
	int			fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		FAIL(step);
	if (write(fd, data, len) != len)
	{
		*err = errno ? errno : EIO;
		close(fd);
		return step;
	}
	close(fd);
	return 0;
}

/*
 * child_map_ids -- the server's uid and gid mapped to themselves; setgroups
 * denied first, as the kernel requires of an unprivileged gid_map.
 */
static int
child_map_ids(const ExecSandboxPlan *plan, int *err)
{
	int			step;

	if ((step = write_proc_file("/proc/self/setgroups", "deny", 4,
								SANDBOX_STEP_SETGROUPS, err)) != 0)
		return step;
	if ((step = write_proc_file("/proc/self/uid_map", plan->uid_map,
								plan->uid_map_len, SANDBOX_STEP_UID_MAP, err)) != 0)
		return step;
	return write_proc_file("/proc/self/gid_map", plan->gid_map,
						   plan->gid_map_len, SANDBOX_STEP_GID_MAP, err);
}

/*
 * child_disable_userns -- no user namespace can be made inside ours: in a
 * nested one the program would have every capability again (mount a
 * tmpfs beyond sandbox_tmp_bytes, make pid and network namespaces).  The
 * sysctl is per user namespace; the program, which is not uid 0 in ours,
 * keeps no capability across execve() to change it back (bubblewrap's
 * --disable-userns does the same).
 */
static int
child_disable_userns(int *err)
{
	return write_proc_file("/proc/sys/user/max_user_namespaces", "0", 1,
						   SANDBOX_STEP_DISABLE_USERNS, err);
}

/*
 * child_make_read_only -- make the bind at path read-only, nosuid, nodev
 * and private (no mount the server makes later under it shows up) at
 * every level: with
 * mount_setattr(), the recursive bind; without it, the bind is not
 * recursive (the kernel refuses, EINVAL, to bind a path with mounts below
 * it that way in a user namespace, so none is left writable), and a
 * remount of it keeps its locked flags (atime mode, nosuid, nodev,
 * noexec), which the kernel otherwise refuses with EPERM.
 */
static int
child_make_read_only(const ExecSandboxPlan *plan, const char *path,
					 bool recursive, int *err)
{
	struct statfs sfs;
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;

#ifdef SYS_mount_setattr
	if (!plan->no_mount_setattr)
	{
		uint64		attr[SANDBOX_MOUNT_ATTR_WORDS] = {
			SANDBOX_MOUNT_ATTR_RDONLY | SANDBOX_MOUNT_ATTR_NOSUID | SANDBOX_MOUNT_ATTR_NODEV,
			0, MS_PRIVATE, 0
		};

		if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0,
					attr, sizeof(attr)) != 0)
			FAIL(SANDBOX_STEP_REMOUNT_READ_ONLY);
		return 0;
	}
#endif
	if (statfs(path, &sfs) != 0)
		FAIL(SANDBOX_STEP_REMOUNT_READ_ONLY);
	if (sfs.f_flags & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sfs.f_flags & ST_NODEV)
		flags |= MS_NODEV;
	if (sfs.f_flags & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sfs.f_flags & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sfs.f_flags & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sfs.f_flags & ST_RELATIME)
		flags |= MS_RELATIME;
	if (mount(NULL, path, NULL, flags, NULL) != 0 ||
		mount(NULL, path, NULL, (recursive ? MS_REC : 0) | MS_PRIVATE, NULL) != 0)
		FAIL(SANDBOX_STEP_REMOUNT_READ_ONLY);
	return 0;
}

/*
 * child_run_op -- one filesystem step of the plan.
 */
static int
child_run_op(const ExecSandboxPlan *plan, const ExecSandboxOp *op, int *err)
{
	int			fd;

	switch (op->kind)
	{
		case SANDBOX_OP_MKDIR:
			if (mkdir(op->a, 0755) != 0 && errno != EEXIST)
				FAIL(SANDBOX_STEP_MKDIR);
			return 0;
		case SANDBOX_OP_CREATE_FILE:
			fd = open(op->a, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
			if (fd < 0 && errno != EEXIST)
				FAIL(SANDBOX_STEP_CREATE_FILE);
			if (fd >= 0)
				close(fd);
			return 0;
		case SANDBOX_OP_SYMLINK:
			if (symlink(op->a, op->b) != 0 && errno != EEXIST)
				FAIL(SANDBOX_STEP_SYMLINK);
			return 0;
		case SANDBOX_OP_BIND_RO:
			if (mount(op->a, op->b, NULL,
					  MS_BIND | (plan->no_mount_setattr ? 0 : MS_REC), NULL) != 0)
				FAIL(SANDBOX_STEP_BIND);
			return child_make_read_only(plan, op->b, true, err);
		case SANDBOX_OP_BIND_DEV:
			if (mount(op->a, op->b, NULL, MS_BIND, NULL) != 0)
				FAIL(SANDBOX_STEP_BIND);
			return 0;
		case SANDBOX_OP_MOUNT_TMP:
			if (mount("tmpfs", op->a, "tmpfs", MS_NOSUID | MS_NODEV,
					  plan->tmp_options) != 0)
				FAIL(SANDBOX_STEP_MOUNT_TMP);
			return 0;
		case SANDBOX_OP_MOUNT_PROC:
			if (mount("proc", op->a, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
					  NULL) != 0)
				FAIL(SANDBOX_STEP_MOUNT_PROC);
			return 0;
	}
	*err = EINVAL;
	return SANDBOX_STEP_MKDIR;
}

/*
 * child_enter_new_root -- the skeleton directory (bound onto itself), or
 * else a tmpfs, becomes the root; the old root is reachable at
 * SANDBOX_OLD_ROOT until child_leave_old_root().
 */
static int
child_enter_new_root(const ExecSandboxPlan *plan, int *err)
{
	/*
	 * Nothing of ours propagates to the server's mounts: a mount namespace
	 * made in a new user namespace has the shared mounts it copied turned
	 * into slaves (the binds are made private below).
	 */
	if (plan->root_source)
	{
		if (mount(plan->root_source, plan->root_source, NULL, MS_BIND, NULL) != 0)
			FAIL(SANDBOX_STEP_MOUNT_ROOT);
		if (chdir(plan->root_source) != 0)
			FAIL(SANDBOX_STEP_PIVOT_ROOT);
	}
	else
	{
		if (mount("tmpfs", SANDBOX_ROOT_MOUNTPOINT, "tmpfs", MS_NOSUID | MS_NODEV,
				  plan->root_options) != 0)
			FAIL(SANDBOX_STEP_MOUNT_ROOT);
		if (chdir(SANDBOX_ROOT_MOUNTPOINT) != 0)
			FAIL(SANDBOX_STEP_PIVOT_ROOT);
		if (mkdir(SANDBOX_OLD_ROOT_NAME, 0700) != 0)
			FAIL(SANDBOX_STEP_MKDIR);
	}
	if (syscall(SYS_pivot_root, ".", SANDBOX_OLD_ROOT_NAME) != 0)
		FAIL(SANDBOX_STEP_PIVOT_ROOT);
	if (chdir("/") != 0)
		FAIL(SANDBOX_STEP_PIVOT_ROOT);
	return 0;
}

/*
 * child_leave_old_root -- detach the old root (and every host mount with
 * it) and make the new root read-only.
 */
static int
child_leave_old_root(const ExecSandboxPlan *plan, int *err)
{
	if (umount2(SANDBOX_OLD_ROOT, MNT_DETACH) != 0)
		FAIL(SANDBOX_STEP_DETACH_OLD_ROOT);
	if (plan->root_source)
		return child_make_read_only(plan, "/", false, err) ? SANDBOX_STEP_REMOUNT_ROOT : 0;
	(void) rmdir(SANDBOX_OLD_ROOT);
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
			  NULL) != 0)
		FAIL(SANDBOX_STEP_REMOUNT_ROOT);
	return 0;
}

/*
 * exec_sandbox_child_setup -- in the cloned child, already in its new
 * namespaces: map the ids, allow no nested user namespace and, for
 * "filesystem", build the new root.
 * Returns 0, or the step that failed with *err set.
 */
int
exec_sandbox_child_setup(const ExecSandboxPlan *plan, int *err)
{
	int			step;
	int			i;

	if ((step = child_map_ids(plan, err)) != 0)
		return step;
	if ((step = child_disable_userns(err)) != 0)
		return step;
	if (!(plan->flags & EXEC_SANDBOX_FILESYSTEM))
		return 0;
	if ((step = child_enter_new_root(plan, err)) != 0)
		return step;
	for (i = 0; i < plan->nops; i++)
		if ((step = child_run_op(plan, &plan->ops[i], err)) != 0)
			return step;
	return child_leave_old_root(plan, err);
}
