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
 * by the parent before vfork().  An exec failure reaches the parent as an
 * errno in ChildArgs.
 *
 * The child gets: fds 0, 1, 2 and nothing else; every signal at its
 * default disposition and an empty signal mask; a process group of its
 * own; "/" as working directory; SIGKILL if the backend dies (Linux).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "compat.h"
#include "execjson.h"

/* Everything the child may touch. */
typedef struct ChildArgs
{
	const char *path;
	char	   *const *argv;
	char	   *const *envp;
	int			fds[3];			/* become the child's 0, 1, 2; all >= 3 */
	int			max_fd;			/* close fds up to this one if close_range fails */
	pid_t		parent_pid;
	sigset_t	empty_mask;
	volatile int exec_errno;	/* set by the child if execve() fails */
} ChildArgs;

/*
 * child_exec -- the child side, between vfork() and execve().
 *
 * See the CHILD SIDE RULES in the file header.
 */
pg_noreturn static void
child_exec(ChildArgs *args)
{
	struct sigaction dfl;
	int			sig;
	int			i;

	/*
	 * Every signal back to its default disposition.  The signals stay
	 * blocked (the parent blocked them all before vfork) until the mask is
	 * emptied just before execve(), so no backend handler can run here.
	 * sigaction() on SIGKILL, SIGSTOP and libc-internal signals fails
	 * harmlessly.
	 */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void) sigaction(sig, &dfl, NULL);

	if (setpgid(0, 0) != 0)
		goto fail;

#ifdef __linux__
	/* Die with the backend, and cover the race with its exit. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		goto fail;
	if (getppid() != args->parent_pid)
		_exit(127);
#endif

	if (chdir("/") != 0)
		goto fail;

	/* The pipes become 0, 1, 2 (dup2 clears their close-on-exec flag). */
	for (i = 0; i < 3; i++)
		if (dup2(args->fds[i], i) < 0)
			goto fail;

	/* Close everything else the backend has open. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0) != 0)
#endif
	{
		int			fd;

		for (fd = 3; fd <= args->max_fd; fd++)
			(void) close(fd);
	}

	if (sigprocmask(SIG_SETMASK, &args->empty_mask, NULL) != 0)
		goto fail;

	execve(args->path, args->argv, args->envp);

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

/*
 * exec_spawn -- start path with argv and envp, its stdin, stdout and
 * stderr connected to the given fds.
 *
 * The fds must be >= 3 and close-on-exec.  Returns the child's pid, which
 * is also its process group id; or -1 with *spawn_errno set if the program
 * could not be started (the child, if any, has then been reaped).
 */
pid_t
exec_spawn(const char *path, char *const argv[], char *const envp[],
		   int child_stdin, int child_stdout, int child_stderr,
		   int *spawn_errno)
{
	ChildArgs	args;
	sigset_t	all;
	sigset_t	old;
	struct rlimit rl;
	pid_t		pid;
	int			save_errno;

	args.path = path;
	args.argv = argv;
	args.envp = envp;
	args.fds[0] = child_stdin;
	args.fds[1] = child_stdout;
	args.fds[2] = child_stderr;
	args.parent_pid = getpid();
	args.exec_errno = 0;
	sigemptyset(&args.empty_mask);
	args.max_fd = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		args.max_fd = (int) Min(rl.rlim_cur, (rlim_t) 65536);

	/*
	 * Block every signal across vfork(): a handler must not run in the
	 * child while it borrows the backend's memory.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = vfork_child(&args);
	save_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (pid < 0)
	{
		*spawn_errno = save_errno;
		return -1;
	}

	if (args.exec_errno != 0)
	{
		/* The child has already _exit()ed; reap it. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		*spawn_errno = args.exec_errno;
		return -1;
	}

	*spawn_errno = 0;
	return pid;
}
