/*-------------------------------------------------------------------------
 *
 * sandbox.h
 *	  The program sandbox (execjson.sandbox): what the parent prepares and
 *	  what the child does with it between clone() and execve().
 *
 * The parent (sandbox.c, parent side) turns the GUCs into an
 * ExecSandboxPlan: the clone flags, the id maps, and a list of filesystem
 * steps with every path already built.  The child (sandbox.c, child side)
 * runs the plan with raw system calls only; a failing step is reported
 * back as its ExecSandboxStep and errno, and the parent raises
 * exec_sandbox_unavailable.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EXECJSON_SANDBOX_H
#define EXECJSON_SANDBOX_H

/* Elements of execjson.sandbox */
#define EXEC_SANDBOX_PROCESSES	0x01
#define EXEC_SANDBOX_FILESYSTEM	0x02
#define EXEC_SANDBOX_NETWORK	0x04

/*
 * ExecSandboxStep -- every step the child can fail at; the names are in
 * sandbox.c (step_names) and appear in the error's details.
 */
typedef enum ExecSandboxStep
{
	SANDBOX_STEP_NONE = 0,
	SANDBOX_STEP_CLONE,
	SANDBOX_STEP_PDEATHSIG,
	SANDBOX_STEP_SETGROUPS,
	SANDBOX_STEP_UID_MAP,
	SANDBOX_STEP_GID_MAP,
	SANDBOX_STEP_MOUNT_ROOT,
	SANDBOX_STEP_PIVOT_ROOT,
	SANDBOX_STEP_MKDIR,
	SANDBOX_STEP_CREATE_FILE,
	SANDBOX_STEP_SYMLINK,
	SANDBOX_STEP_BIND,
	SANDBOX_STEP_REMOUNT_READ_ONLY,
	SANDBOX_STEP_MOUNT_TMP,
	SANDBOX_STEP_MOUNT_PROC,
	SANDBOX_STEP_DETACH_OLD_ROOT,
	SANDBOX_STEP_REMOUNT_ROOT,
	SANDBOX_STEP_CONFIGURATION, /* parent side: an invalid setting */
	SANDBOX_STEP_DISABLE_USERNS,
	SANDBOX_STEP_LAST = SANDBOX_STEP_DISABLE_USERNS
} ExecSandboxStep;

/* One filesystem step of the plan. */
typedef enum ExecSandboxOpKind
{
	SANDBOX_OP_MKDIR,			/* mkdir(a), EEXIST ignored */
	SANDBOX_OP_CREATE_FILE,		/* an empty file a, to bind a file onto */
	SANDBOX_OP_SYMLINK,			/* symlink(a = target, b = link path) */
	SANDBOX_OP_BIND_RO,			/* bind a (recursively if it can be made
								 * read-only at every level) onto b,
								 * read-only */
	SANDBOX_OP_BIND_DEV,		/* bind the device file a onto b */
	SANDBOX_OP_MOUNT_TMP,		/* the private tmpfs at a */
	SANDBOX_OP_MOUNT_PROC		/* a fresh proc at a */
} ExecSandboxOpKind;

typedef struct ExecSandboxOp
{
	ExecSandboxOpKind kind;
	const char *a;
	const char *b;
} ExecSandboxOp;

/*
 * ExecSandboxPlan -- everything the child needs, built by the parent.
 */
typedef struct ExecSandboxPlan
{
	int			flags;			/* EXEC_SANDBOX_* */
	int			clone_flags;	/* CLONE_NEW* */
	char		uid_map[64];	/* "uid uid 1\n" */
	int			uid_map_len;
	char		gid_map[64];
	int			gid_map_len;
	const char *root_source;	/* the skeleton directory; NULL: a tmpfs */
	const char *root_options;	/* tmpfs options of the new root */
	const char *tmp_options;	/* tmpfs options of /tmp */
	bool		no_mount_setattr;	/* binds are not recursive (see sandbox.c) */
	int			nops;
	ExecSandboxOp *ops;
} ExecSandboxPlan;

/* parent side */
extern const ExecSandboxPlan *exec_sandbox_plan(void);
extern const char *exec_sandbox_describe(int flags);
extern void exec_sandbox_check_settings(const char *program_path);
pg_noreturn extern void exec_sandbox_raise_unavailable(const char *program_path,
													   int step, int err);

/* child side: CHILD SIDE RULES of spawn.c */
extern int	exec_sandbox_child_setup(const ExecSandboxPlan *plan, int *err);

#endif							/* EXECJSON_SANDBOX_H */
