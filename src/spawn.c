/*-------------------------------------------------------------------------
 *
 * spawn.c
 *	  Start the program (step 4 of a call) without duplicating the
 *	  backend's address space.
 *
 * vfork() lends the backend's memory and stack to the child until it
 * calls execve() or _exit(), so starting a program costs the same in a
 * backend with 10 MB or 10 GB of private memory.  The price is that the
 * child, until execve(), is a different world:
 *
 *	  CHILD SIDE RULES: only async-signal-safe system calls; no PostgreSQL
 *	  code (no palloc, no ereport, no elog); write no memory but the
 *	  ChildArgs it was given; never return from child_exec().
 *
 * Everything the child needs (argv, envp, fds, the signal set) is prepared
 * by the parent before the child is made.  An exec failure reaches the
 * parent as an errno in ChildArgs.
 *
 * The child gets: fds 0, 1, 2 and nothing else; every signal at its
 * default disposition and an empty signal mask; a process group of its
 * own; "/" as working directory; SIGKILL if the backend dies and no new
 * privileges through setuid programs (Linux); the resource limits of the
 * execjson.rlimit_* GUCs.  It executes the program file the parent opened
 * and checked (execveat), not whatever its path names by then.
 *
 * The child is made with clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD): vfork()'s
 * borrowed memory and suspended parent, on a stack of the child's own,
 * and the child's pidfd for the parent in the same call.  With
 * execjson.sandbox, CLONE_NEW... flags add new namespaces the child sets
 * up (sandbox.c, child side) before everything else; the program is then
 * pid 1 of its pid namespace.  A failing sandbox step reaches the parent
 * as the step and its errno, and the call fails: never an unsandboxed run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "miscadmin.h"

#include "compat.h"
#include "execjson.h"
#include "sandbox.h"

/* Everything the child may touch. */
typedef struct ChildArgs
{
	const ExecSpawnSpec *spec;
	struct rlimit limits[EXEC_MAX_RLIMITS];
	int			max_fd;			/* close fds up to this one if close_range fails */
	pid_t		parent_pid;
	sigset_t	empty_mask;
	const ExecSandboxPlan *sandbox; /* NULL: no sandbox */
	const ExecSignalPlan *signals;	/* NULL: reset every signal */
	volatile int exec_errno;	/* set by the child if execve() fails */
	volatile int sandbox_step;	/* set by the child if a sandbox step fails */
} ChildArgs;

/* The stack of a cloned child, with a guard page below. */
#define CHILD_STACK_SIZE (256 * 1024)

/*
 * The raw rt_sigaction(sig, act, oldact, sigsetsize), for the signals
 * glibc's sigaction() refuses (its own, 32 and 33).  The kernel's sigset
 * has _NSIG bits.  sparc and alpha take one more argument: no raw call.
 */
#if defined(__linux__) && defined(SYS_rt_sigaction) && defined(_NSIG) && \
	!defined(__sparc__) && !defined(__alpha__)
#define RAW_SIGACTION 1
#define KERNEL_SIGSET_SIZE ((size_t) (_NSIG / 8))
#endif

/* The fd the program file is moved to in the child, when executed by fd. */
#define CHILD_EXEC_FD 3

/*
 * child_exec -- the child side, between vfork() and execve().
 *
 * See the CHILD SIDE RULES in the file header.
 */
pg_noreturn static void
child_exec(ChildArgs *args)
{
	const ExecSpawnSpec *spec = args->spec;
	struct sigaction dfl;
	int			first_to_close = 3;
	int			nsignals;
	int			sig;
	int			i;

#ifdef __linux__
	if (args->sandbox)
	{
		int			step;
		int			err = 0;

		/*
		 * In a new pid namespace getppid() is 0: the death signal first, and
		 * the check that the backend is still there comes after the fds are
		 * closed (below).
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		{
			args->sandbox_step = SANDBOX_STEP_PDEATHSIG;
			goto fail;
		}
		step = exec_sandbox_child_setup(args->sandbox, &err);
		if (step != 0)
		{
			args->sandbox_step = step;
			args->exec_errno = err ? err : EINVAL;
			_exit(127);
		}
	}
#endif

	/*
	 * Signals back to their default disposition: every one, or those of
	 * the parent's plan (a batch's).  The signals stay blocked (the parent
	 * blocked them all before vfork) until the mask is emptied just before
	 * execve(), so no backend handler can run here.  sigaction() on SIGKILL
	 * and SIGSTOP fails harmlessly.
	 */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	nsignals = args->signals ? args->signals->nsignals : NSIG - 1;
	for (i = 0; i < nsignals; i++)
	{
		sig = args->signals ? args->signals->signals[i] : i + 1;
		if (sigaction(sig, &dfl, NULL) == 0 || sig == SIGKILL || sig == SIGSTOP)
			continue;
#ifdef RAW_SIGACTION

		/*
		 * glibc's sigaction() refuses the signals glibc reserves (32 and 33),
		 * yet a server can inherit them ignored -- one started by GNU make
		 * 4.3 on Debian 12 does -- and "ignored" survives execve().  The
		 * kernel's sigaction, all zeros, is SIG_DFL with no flags and an
		 * empty mask, whatever its layout.
		 */
		{
			unsigned long kernel_sa[8];

			memset(kernel_sa, 0, sizeof(kernel_sa));
			(void) syscall(SYS_rt_sigaction, sig, kernel_sa, NULL,
						   KERNEL_SIGSET_SIZE);
		}
#endif
	}

	if (setpgid(0, 0) != 0)
		goto fail;

#ifdef __linux__
	/* Die with the backend, and cover the race with its exit. */
	if (!args->sandbox)
	{
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			goto fail;
		if (getppid() != args->parent_pid)
			_exit(127);
	}
	/* A setuid program gains no privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail;
#endif

	if (chdir("/") != 0)
		goto fail;

	/* The pipes become 0, 1, 2 (dup2 clears their close-on-exec flag). */
	for (i = 0; i < 3; i++)
		if (dup2(spec->fds[i], i) < 0)
			goto fail;

	/* The program file, if executed by fd, moves to 3, still close-on-exec. */
	if (spec->exec_fd >= 0)
	{
		if (spec->exec_fd != CHILD_EXEC_FD &&
			dup3(spec->exec_fd, CHILD_EXEC_FD, O_CLOEXEC) < 0)
			goto fail;
		first_to_close = CHILD_EXEC_FD + 1;
	}

	/* Close everything else the backend has open. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned int) first_to_close, ~0U, 0) != 0)
#endif
	{
		int			fd;

		for (fd = first_to_close; fd <= args->max_fd; fd++)
			(void) close(fd);
	}

#ifdef __linux__
	if (args->sandbox)
	{
		/*
		 * Is the backend still there?  Now that our copy of the stdin pipe's
		 * write end is closed, the backend (suspended until we exec) holds
		 * the only one: if the pipe has no writer, the backend has exited,
		 * perhaps before the death signal was set.  If it exits after this
		 * check, it closes its fds before it looks for children to signal,
		 * and so sees the death signal set above.
		 */
		struct pollfd pfd;

		pfd.fd = 0;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLHUP | POLLERR)) != 0)
			_exit(127);
	}
#endif

	/*
	 * Resource limits last: a low RLIMIT_NOFILE must not stop the fd moves
	 * above; fds already open stay valid.
	 */
	for (i = 0; i < spec->nlimits; i++)
		if (setrlimit(spec->limits[i].resource, &args->limits[i]) != 0)
			goto fail;

	if (sigprocmask(SIG_SETMASK, &args->empty_mask, NULL) != 0)
		goto fail;

#if defined(SYS_execveat) && defined(AT_EMPTY_PATH)
	if (spec->exec_fd >= 0)
	{
		syscall(SYS_execveat, CHILD_EXEC_FD, "", spec->argv, spec->envp,
				AT_EMPTY_PATH);
		/* No execveat (old kernel, or a seccomp filter): by path, then. */
		if (errno != ENOSYS && errno != EPERM)
			goto fail;
	}
#endif
	execve(spec->path, spec->argv, spec->envp);

fail:
	args->exec_errno = errno ? errno : EINVAL;
	_exit(127);
}

/*
 * vfork_child -- vfork() and run child_exec() in the child.
 *
 * Kept apart so that no local of the caller lives across vfork().
 */
static pg_noinline pid_t
vfork_child(ChildArgs *args)
{
	pid_t		pid = vfork();

	if (pid == 0)
		child_exec(args);
	return pid;
}

#ifdef __linux__
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/*
 * clone_entry -- the cloned child's start: child_exec().
 */
static int
clone_entry(void *arg)
{
	child_exec((ChildArgs *) arg);
}

/*
 * clone_child -- clone() the child, into the sandbox plan's new namespaces
 * if there is one, sharing the backend's memory and suspending it until
 * the child execs or exits, like vfork(); the child runs on a stack of its
 * own (allocated once per backend), as clone() requires.  CLONE_PIDFD
 * gives the backend the child's pidfd in the same system call, in
 * *pidfd (-1 if the kernel gave none).  Returns the pid, or -1 with errno
 * set and *step saying what failed; -1 and errno ENOMEM without a step if
 * the stack could not be had.
 */
static pg_noinline pid_t
clone_child(ChildArgs *args, int *step, int *pidfd)
{
	static char *stack = NULL;
	static bool pidfd_refused = false;
	int			flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	bool		einval = false;
	pid_t		pid;

	*pidfd = -1;
	if (stack == NULL)
	{
		char	   *mem = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
							   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

		if (mem == MAP_FAILED)
			return -1;
		/* A guard page: an overflow faults instead of writing memory. */
		if (mprotect(mem, 4096, PROT_NONE) != 0)
		{
			munmap(mem, CHILD_STACK_SIZE);
			errno = ENOMEM;
			return -1;
		}
		stack = mem;
	}
	if (args->sandbox)
	{
		flags |= args->sandbox->clone_flags;
		*step = SANDBOX_STEP_CLONE;
	}
	if (!pidfd_refused)
	{
		pid = clone(clone_entry, stack + CHILD_STACK_SIZE, flags | CLONE_PIDFD,
					args, pidfd);
		if (pid >= 0)
			return pid;
		/* A failed clone() may have written an fd number it took back. */
		*pidfd = -1;
		if (errno == EINVAL)
			einval = true;
		else if (errno != EMFILE && errno != ENFILE)
			return -1;
	}

	/*
	 * CLONE_PIDFD refused (EINVAL), or no fd left for the pidfd (a spawn
	 * did not need one before): clone without it, and wait.c opens the
	 * pidfd if it can, or polls.  (A kernel that predates the flag ignores
	 * it, and *pidfd stays -1.)  A refusal is remembered only once the
	 * clone without the flag worked.
	 */
	pid = clone(clone_entry, stack + CHILD_STACK_SIZE, flags, args);
	if (pid >= 0 && einval)
		pidfd_refused = true;
	return pid;
}
#endif

/*
 * add_limit -- add one resource limit to spec, unless value is -1 (unset).
 */
static void
add_limit(ExecSpawnSpec *spec, int resource, int value, rlim_t unit)
{
	if (value < 0)
		return;
	Assert(spec->nlimits < EXEC_MAX_RLIMITS);
	spec->limits[spec->nlimits].resource = resource;
	spec->limits[spec->nlimits].value = (rlim_t) value * unit;
	spec->nlimits++;
}

/*
 * exec_spawn_add_limits -- the resource limits the execjson.rlimit_* GUCs
 * ask for.
 */
void
exec_spawn_add_limits(ExecSpawnSpec *spec)
{
	spec->nlimits = 0;
	add_limit(spec, RLIMIT_CPU, execjson_rlimit_cpu, 1);
	add_limit(spec, RLIMIT_AS, execjson_rlimit_as, 1024);
	add_limit(spec, RLIMIT_NOFILE, execjson_rlimit_nofile, 1);
#ifdef RLIMIT_NPROC
	add_limit(spec, RLIMIT_NPROC, execjson_rlimit_nproc, 1);
#endif
	add_limit(spec, RLIMIT_FSIZE, execjson_rlimit_fsize, 1024);
}

/*
 * How many times code execjson does not control may have run in this
 * backend: another library's emit_log_hook after a log line, the error
 * context callbacks of a caught error.  Such code could change a signal's
 * disposition; execjson's own code and what it calls of PostgreSQL's
 * between two spawns do not.
 */
static uint64 foreign_code_runs = 0;

/*
 * exec_spawn_note_foreign_code -- code execjson does not control may run
 * (or has run): a signal plan made before is out of date.
 */
void
exec_spawn_note_foreign_code(void)
{
	foreign_code_runs++;
}

/*
 * exec_spawn_plan_is_current -- was plan made since code execjson does not
 * control last ran?
 */
bool
exec_spawn_plan_is_current(const ExecSignalPlan *plan)
{
	return plan->made_at == foreign_code_runs;
}

/*
 * exec_spawn_plan_signals -- learn which signals a child must set back to
 * SIG_DFL: those the backend catches or ignores now.
 *
 * A signal at SIG_DFL needs nothing.  One the backend catches must be
 * reset, or its handler could run in the child, in the backend's memory,
 * between the unblocking of signals and execve(); one it ignores, because
 * "ignored" survives execve().  A batch plans once for all its elements
 * (62 queries, not 64 resets per element in the child), and again after
 * foreign code may have run; exec_spawn() resets every signal for a plan
 * that is out of date.
 */
void
exec_spawn_plan_signals(ExecSignalPlan *plan)
{
	int			sig;

	plan->made_at = foreign_code_runs;
	plan->nsignals = 0;
	for (sig = 1; sig < NSIG; sig++)
	{
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) == 0)
		{
			if (sa.sa_handler == SIG_DFL)
				continue;
		}
#ifdef RAW_SIGACTION
		else
		{
			/*
			 * glibc's own signals (32 and 33), which its sigaction() will not
			 * report: the kernel's sigaction of a signal never set is all
			 * zeros, whatever its layout; any other is reset.
			 */
			unsigned long kernel_sa[8];
			bool		untouched = false;
			size_t		i;

			memset(kernel_sa, 0, sizeof(kernel_sa));
			if (syscall(SYS_rt_sigaction, sig, NULL, kernel_sa,
						KERNEL_SIGSET_SIZE) == 0)
			{
				untouched = true;
				for (i = 0; i < lengthof(kernel_sa); i++)
					if (kernel_sa[i] != 0)
						untouched = false;
			}
			if (untouched)
				continue;
		}
#endif
		plan->signals[plan->nsignals++] = sig;
	}
}

/*
 * exec_spawn -- start the program spec describes.
 *
 * The fds in spec must be >= 3 and close-on-exec.  Returns the child's
 * pid, which is also its process group id; or -1 with *spawn_errno set if
 * the program could not be started (the child, if any, has then been
 * reaped), and *sandbox_step set to the ExecSandboxStep that failed if it
 * was the sandbox (else SANDBOX_STEP_NONE).
 *
 * The child is clone()d with CLONE_VM | CLONE_VFORK, which is vfork() on
 * a stack of its own, and with CLONE_PIDFD: *pidfd is then its pidfd
 * (close-on-exec, the caller's to close), or -1 if the kernel gave none.
 * With spec->sandbox, the clone also makes new namespaces (sandbox.c); the
 * program is then pid 1 of its pid namespace.
 */
pid_t
exec_spawn(const ExecSpawnSpec *spec, int *spawn_errno, int *sandbox_step,
		   int *pidfd)
{
	ChildArgs	args;
	sigset_t	all;
	sigset_t	old;
	struct rlimit rl;
	pid_t		pid;
	int			save_errno;
	int			i;

	/*
	 * The highest fd the child closes when close_range() is missing.  A
	 * backend's RLIMIT_NOFILE does not change, so it is read once.
	 */
	static int	max_fd = 0;

	if (max_fd == 0)
	{
		max_fd = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			max_fd = (int) Min(rl.rlim_cur, (rlim_t) 65536);
	}

	args.spec = spec;
	/* A plan made before foreign code ran may be wrong: every signal then. */
	args.signals = spec->signals && exec_spawn_plan_is_current(spec->signals) ?
		spec->signals : NULL;
	args.parent_pid = MyProcPid;
	args.exec_errno = 0;
	args.sandbox = spec->sandbox;
	args.sandbox_step = SANDBOX_STEP_NONE;
	*sandbox_step = SANDBOX_STEP_NONE;
	sigemptyset(&args.empty_mask);
	args.max_fd = max_fd;

	/*
	 * Limits: soft and hard alike, never above the current hard limit.  The
	 * CPU limit's hard limit is a second later, so that the program gets
	 * SIGXCPU before SIGKILL.
	 */
	for (i = 0; i < spec->nlimits; i++)
	{
		rlim_t		value = spec->limits[i].value;
		rlim_t		hard = value;

		if (spec->limits[i].resource == RLIMIT_CPU)
			hard = value + 1;
		if (getrlimit(spec->limits[i].resource, &rl) == 0 &&
			rl.rlim_max != RLIM_INFINITY)
		{
			value = Min(value, rl.rlim_max);
			hard = Min(hard, rl.rlim_max);
		}
		args.limits[i].rlim_cur = value;
		args.limits[i].rlim_max = hard;
	}

	/*
	 * Block every signal across vfork(): a handler must not run in the
	 * child while it borrows the backend's memory.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
#ifdef __linux__
	pid = clone_child(&args, sandbox_step, pidfd);
	/* Without a stack of its own (out of memory), vfork() needs none. */
	if (pid < 0 && errno == ENOMEM && !args.sandbox)
		pid = vfork_child(&args);
#else
	*pidfd = -1;
	pid = vfork_child(&args);
#endif
	save_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (pid < 0)
	{
		*spawn_errno = save_errno;
		/* Out of processes or memory: not the sandbox's refusal. */
		if (save_errno == EAGAIN || save_errno == ENOMEM)
			*sandbox_step = SANDBOX_STEP_NONE;
		return -1;
	}
	*sandbox_step = SANDBOX_STEP_NONE;

	if (args.exec_errno != 0)
	{
		/* The child has already _exit()ed; reap it. */
		if (*pidfd >= 0)
			close(*pidfd);
		*pidfd = -1;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		*spawn_errno = args.exec_errno;
		*sandbox_step = args.sandbox_step;
		return -1;
	}

	*spawn_errno = 0;
	return pid;
}
