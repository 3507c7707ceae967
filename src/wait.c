/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  Run the child: feed its stdin, drain its stdout and stderr, wait for
 *	  it to exit (step 5 of a call), and make sure it is gone afterwards.
 *
 * All waiting happens in one WaitEventSet over the pipes, a pidfd that
 * becomes readable when the child exits, the backend's latch and
 * postmaster death, with the call's timeout.  CHECK_FOR_INTERRUPTS() runs
 * on every wake-up, so query cancel, statement_timeout and
 * pg_terminate_backend act within milliseconds.  The pipes are
 * non-blocking: the backend never blocks outside that wait, but for the
 * reaping of a child already SIGKILLed or exited, bounded (REAP_BOUND_MS).
 *
 * Whatever way the call ends -- normal exit, timeout, a stream over its
 * cap, cancel, an error, or a FATAL that skips PG_FINALLY -- the child's
 * whole process group is killed with SIGKILL and the child is reaped.
 *
 * State kept across calls: "active", the resources of the one call a
 * backend can run at a time, so that the exit callback can find them;
 * exec_call_stats, what the audit line reports; and a scratch buffer
 * stderr is drained into.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"

#include "compat.h"
#include "errors.h"
#include "execjson.h"
#include "sandbox.h"

/* How much to read from a pipe at a time, and per wake-up. */
#define READ_CHUNK 65536
#define READS_PER_WAKEUP 16

/*
 * stdout is read straight into its buffer, which starts small and grows
 * geometrically, keeping at least this much room for a read: a small answer
 * then costs no large allocation.  (A 64 kB palloc is a malloc of its own;
 * freeing it trims the heap with brk(), which, once a vfork() child has run
 * on another CPU with the backend's memory map, flushes TLBs there.)
 */
#define STDOUT_MIN_ROOM 4096

/* stderr is drained and dropped into one buffer for the backend's life. */
static char stderr_scratch[READ_CHUNK];

/*
 * Without a pidfd (kernels before 5.3, other systems) the child's exit is
 * polled with waitid() at this interval, or at the short one once both
 * output pipes are at EOF and the exit is near.
 */
#define EXIT_POLL_MS 10
#define EXIT_POLL_SHORT_MS 1

/* user_data tags of the wait events */
#define TAG_STDIN ((void *) 1)
#define TAG_STDOUT ((void *) 2)
#define TAG_STDERR ((void *) 3)
#define TAG_EXIT ((void *) 4)

/*
 * ActiveChild -- the resources of the running call.  -1 / NULL when not
 * held.  pid stays set until the child is reaped.
 */
typedef struct ActiveChild
{
	pid_t		pid;
	int			pidfd;
	int			stdin_fd;		/* parent's ends of the pipes */
	int			stdout_fd;
	int			stderr_fd;
	int			child_fds[3];	/* child's ends, until spawned */
	int			exec_fd;		/* the program file, until spawned */
	WaitEventSet *set;
	bool		reap_failed;	/* waitpid() failed: the status is unknown */
} ActiveChild;

static ActiveChild active = {-1, -1, -1, -1, -1, {-1, -1, -1}, -1, NULL, false};

ExecCallStats exec_call_stats;

static bool exit_callback_registered = false;

/*
 * How long reap() waits for a SIGKILLed child to be gone.  A process in
 * uninterruptible sleep (D state) does not die at once, and the pid 1 of a
 * sandbox is gone only once every process of its namespace is: the
 * backend does not hang on it, but warns and reaps it later.
 */
#define REAP_BOUND_MS 500

/*
 * lingering -- children SIGKILLed but not yet gone, reaped with WNOHANG
 * at the next call and at backend exit.  Never lost: past the array's
 * size, reap() waits without a bound instead.
 */
#define MAX_LINGERING 32
static pid_t lingering[MAX_LINGERING];
static int	nlingering = 0;

static int64 now_ns(void);

/*
 * track_fd -- tell fd.c about an fd the call opened (it then keeps the
 * backend's total under max_files_per_process by closing cached files).
 * Returns fd; -1 is passed through.
 */
static int
track_fd(int fd)
{
	if (fd >= 0)
		ReserveExternalFD();
	return fd;
}

/*
 * close_fd -- close a tracked *fd if open and mark it closed.
 */
static void
close_fd(int *fd)
{
	if (*fd >= 0)
	{
		close(*fd);
		ReleaseExternalFD();
		*fd = -1;
	}
}

/*
 * reap_lingering -- reap, without waiting, the children an earlier reap()
 * left behind.
 */
static void
reap_lingering(void)
{
	int			i = 0;

	while (i < nlingering)
	{
		pid_t		r = waitpid(lingering[i], NULL, WNOHANG);

		if (r == 0 || (r < 0 && errno == EINTR))
			i++;
		else
			lingering[i] = lingering[--nlingering];
	}
}

/*
 * gone_within -- wait up to ms for the SIGKILLed child to have exited
 * (without reaping it): on its pidfd, else by polling.
 */
static bool
gone_within(int ms)
{
	struct timespec tick = {0, 1000000};
	int64		deadline = now_ns() + (int64) ms * 1000000;

	for (;;)
	{
		int64		left = deadline - now_ns();

		if (active.pidfd >= 0)
		{
			struct pollfd pfd = {active.pidfd, POLLIN, 0};
			int			r = poll(&pfd, 1, left > 0 ? (int) (left / 1000000) : 0);

			if (r > 0)
				return true;
			if (r < 0 && errno != EINTR)
				return true;	/* let waitpid() decide */
		}
		else
		{
			siginfo_t	info;

			memset(&info, 0, sizeof(info));
			if (waitid(P_PID, active.pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
			{
				if (errno != EINTR)
					return true;
			}
			else if (info.si_pid == active.pid)
				return true;
			if (left > 0)
				nanosleep(&tick, NULL);
		}
		if (left <= 0)
			return false;
	}
}

/*
 * reap -- reap the child, SIGKILLing its process group first when kill_first.
 *
 * The group is killed before the leader is reaped: while the leader is
 * not reaped its pid, and so the group id, cannot be reused.  After the
 * SIGKILL the wait is bounded (REAP_BOUND_MS): a child not gone by then
 * is left to reap_lingering(), with a WARNING.  Returns the wait status.
 */
static int
reap(bool kill_first)
{
	int			status = 0;

	if (active.pid > 0)
	{
		if (kill_first && kill(-active.pid, SIGKILL) != 0)
			(void) kill(active.pid, SIGKILL);
		if (kill_first && nlingering < MAX_LINGERING &&
			!gone_within(REAP_BOUND_MS))
		{
			lingering[nlingering++] = active.pid;
			active.pid = -1;
			active.reap_failed = true;
			exec_call_stats.reaped = false;
			ereport(WARNING,
					(errmsg("execjson: a program did not end within %d ms of SIGKILL", REAP_BOUND_MS),
					 errdetail("It will be reaped later; a process in uninterruptible sleep delays it."),
					 errhidestmt(true), errhidecontext(true)));
			return status;
		}
		while (waitpid(active.pid, &status, 0) < 0)
		{
			if (errno != EINTR)
			{
				/* Cannot happen unless SIGCHLD is ignored: no status. */
				active.reap_failed = true;
				break;
			}
		}
		active.pid = -1;
		exec_call_stats.reaped = !active.reap_failed;
		exec_call_stats.wait_status = status;
	}
	return status;
}

/*
 * release_all -- kill and reap the child, close every fd, free the wait
 * event set.  Safe to call more than once.
 *
 * free_set is false from the exit callback: by then the transaction's
 * resources may already have been released, and the process is ending.
 */
static void
release_all(bool free_set)
{
	int			i;

	reap(true);
	close_fd(&active.pidfd);
	close_fd(&active.stdin_fd);
	close_fd(&active.stdout_fd);
	close_fd(&active.stderr_fd);
	for (i = 0; i < 3; i++)
		close_fd(&active.child_fds[i]);
	close_fd(&active.exec_fd);
	if (active.set != NULL)
	{
		if (free_set)
			FreeWaitEventSet(active.set);
		active.set = NULL;
	}
}

/*
 * exec_child_on_exit -- before_shmem_exit callback: a FATAL error
 * (pg_terminate_backend, postmaster death) skips PG_FINALLY, so the child
 * is killed here.
 */
static void
exec_child_on_exit(int code, Datum arg)
{
	release_all(false);
	reap_lingering();
}

/*
 * exec_child_register_exit_callback -- register exec_child_on_exit once
 * per backend.  Called before the first child starts.
 */
void
exec_child_register_exit_callback(void)
{
	if (!exit_callback_registered)
	{
		before_shmem_exit(exec_child_on_exit, (Datum) 0);
		exit_callback_registered = true;
	}
}

/*
 * fd_above_stdio -- move a close-on-exec fd to a number >= 3 if it is not,
 * so that dup2() onto 0, 1, 2 in the child never clobbers it.
 */
static int
fd_above_stdio(int fd)
{
	int			moved;

	if (fd < 0 || fd >= 3)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

/*
 * make_pipe -- a pipe whose both ends are close-on-exec and >= 3.
 */
static bool
make_pipe(int *read_end, int *write_end)
{
	int			fds[2];

	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	*read_end = track_fd(fd_above_stdio(fds[0]));
	*write_end = track_fd(fd_above_stdio(fds[1]));
	return *read_end >= 0 && *write_end >= 0;
}

/*
 * set_nonblocking -- make one of our pipe ends non-blocking.  A fresh pipe
 * end has no other status flag to keep, so no F_GETFL first.
 */
static bool
set_nonblocking(int fd)
{
	return fcntl(fd, F_SETFL, O_NONBLOCK) == 0;
}

/*
 * now_ns -- monotonic clock in nanoseconds.
 */
static int64
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * raise_internal -- exec_failed with "program execution failed", for an
 * unexpected failure of a system call on the backend's side.
 */
pg_noreturn static void
raise_internal(const char *program_path)
{
	ExecErrorDetails details;

	exec_details_init(&details);
	exec_details_add_string(&details, "program_path", program_path);
	exec_details_add_null(&details, "exit_code");
	exec_details_add_null(&details, "signal");
	exec_raise_msg(EXEC_FAILED, "program execution failed", &details);
}

/*
 * raise_too_large -- exec_stdout_too_large or exec_stderr_too_large.
 */
pg_noreturn static void
raise_too_large(bool is_stdout, const char *program_path, int cap,
				int64 bytes)
{
	ExecErrorDetails details;

	exec_details_init(&details);
	exec_details_add_string(&details, "program_path", program_path);
	exec_details_add_int64(&details,
						   is_stdout ? "max_stdout_bytes" : "max_stderr_bytes",
						   cap);
	exec_details_add_int64(&details,
						   is_stdout ? "stdout_bytes" : "stderr_bytes",
						   bytes);
	exec_raise(is_stdout ? EXEC_STDOUT_TOO_LARGE : EXEC_STDERR_TOO_LARGE,
			   &details);
}

/*
 * CallState -- progress of one call through the wait loop.
 */
typedef struct CallState
{
	const char *program_path;
	const char *stdin_data;
	int			stdin_len;
	int			stdin_off;
	ExecOutcome *outcome;
	bool		set_dirty;		/* the set of open fds changed */
} CallState;

/*
 * write_stdin -- write as much pending stdin as the pipe takes; close it
 * when all is written or the program stopped reading.
 */
static void
write_stdin(CallState *cs)
{
	while (cs->stdin_off < cs->stdin_len)
	{
		ssize_t		n = write(active.stdin_fd, cs->stdin_data + cs->stdin_off,
							  cs->stdin_len - cs->stdin_off);

		if (n > 0)
		{
			cs->stdin_off += n;
			exec_call_stats.stdin_bytes = cs->stdin_off;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EPIPE: the program closed its stdin; anything else: an error */
		cs->outcome->stdin_errno = (n < 0) ? errno : EIO;
		break;
	}
	close_fd(&active.stdin_fd);
	cs->set_dirty = true;
}

/*
 * read_output -- read what is available on stdout or stderr, enforcing the
 * cap at once.  With drain, read until the pipe is empty, else at most
 * READS_PER_WAKEUP chunks so that interrupts are checked in between.
 */
static void
read_output(CallState *cs, bool is_stdout, bool drain)
{
	int		   *fd = is_stdout ? &active.stdout_fd : &active.stderr_fd;
	int			cap = is_stdout ? execjson_max_stdout_bytes : execjson_max_stderr_bytes;
	int			reads;

	for (reads = 0; *fd >= 0 && (drain || reads < READS_PER_WAKEUP); reads++)
	{
		int64		have;
		int64		room;
		char	   *dest;
		ssize_t		n;

		have = is_stdout ? cs->outcome->stdout_buf.len : exec_call_stats.stderr_bytes;
		/* Read at most one byte past the cap: enough to know it is passed. */
		room = Min((int64) READ_CHUNK, (int64) cap + 1 - have);
		if (is_stdout)
		{
			StringInfo	buf = &cs->outcome->stdout_buf;

			/* Grow geometrically, but never past cap + 1 bytes. */
			if (buf->maxlen - buf->len - 1 < STDOUT_MIN_ROOM)
				enlargeStringInfo(buf, (int) Min((int64) Max(buf->len, STDOUT_MIN_ROOM),
												 (int64) cap + 1 - buf->len));
			room = Min(room, (int64) (buf->maxlen - buf->len - 1));
			dest = buf->data + buf->len;
		}
		else
			dest = stderr_scratch;

		n = read(*fd, dest, room);
		if (n > 0)
		{
			if (is_stdout)
			{
				cs->outcome->stdout_buf.len += n;
				cs->outcome->stdout_buf.data[cs->outcome->stdout_buf.len] = '\0';
				exec_call_stats.stdout_bytes = cs->outcome->stdout_buf.len;
			}
			else
				exec_call_stats.stderr_bytes += n;
			if (have + n > cap)
				raise_too_large(is_stdout, cs->program_path, cap, have + n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			raise_internal(cs->program_path);
		/* EOF */
		close_fd(fd);
		cs->set_dirty = true;
	}
}

/*
 * child_has_exited -- has the child exited (without reaping it)?  Used
 * only when there is no pidfd.
 */
static bool
child_has_exited(void)
{
	siginfo_t	info;

	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, active.pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno != EINTR;
	return info.si_pid == active.pid;
}

/*
 * build_wait_set -- a new WaitEventSet over what is still open.
 */
static void
build_wait_set(void)
{
	if (active.set != NULL)
	{
		FreeWaitEventSet(active.set);
		active.set = NULL;
	}
	active.set = execjson_create_wait_event_set(6);
	AddWaitEventToSet(active.set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	/* As WaitLatch() does: a single-user backend has no postmaster. */
	if (IsUnderPostmaster)
		AddWaitEventToSet(active.set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	if (active.stdin_fd >= 0)
		AddWaitEventToSet(active.set, WL_SOCKET_WRITEABLE, active.stdin_fd, NULL, TAG_STDIN);
	if (active.stdout_fd >= 0)
		AddWaitEventToSet(active.set, WL_SOCKET_READABLE, active.stdout_fd, NULL, TAG_STDOUT);
	if (active.stderr_fd >= 0)
		AddWaitEventToSet(active.set, WL_SOCKET_READABLE, active.stderr_fd, NULL, TAG_STDERR);
	if (active.pidfd >= 0)
		AddWaitEventToSet(active.set, WL_SOCKET_READABLE, active.pidfd, NULL, TAG_EXIT);
}

/*
 * wait_for_exit -- the wait loop: feed stdin, drain stdout and stderr,
 * until the child exits.  Raises exec_timeout at the deadline and the
 * too-large errors as soon as a cap is passed.
 */
static void
wait_for_exit(CallState *cs, int timeout_ms)
{
	int64		deadline = now_ns() + (int64) timeout_ms * 1000000;
	WaitEvent	events[6];

	for (;;)
	{
		int64		remaining_ns;
		long		wait_ms;
		int			nevents;
		int			i;
		bool		exited = false;

		if (cs->set_dirty || active.set == NULL)
		{
			build_wait_set();
			cs->set_dirty = false;
		}

		remaining_ns = deadline - now_ns();
		if (remaining_ns <= 0)
		{
			ExecErrorDetails details;

			/* Kill before building the error, so the report waits for nothing. */
			reap(true);
			exec_details_init(&details);
			exec_details_add_string(&details, "program_path", cs->program_path);
			exec_details_add_int64(&details, "timeout_ms", timeout_ms);
			exec_raise(EXEC_TIMEOUT, &details);
		}
		/* Round up, so as not to wake just before the deadline and spin. */
		wait_ms = (long) ((remaining_ns + 999999) / 1000000);
		if (active.pidfd < 0)
			wait_ms = Min(wait_ms, (active.stdout_fd < 0 && active.stderr_fd < 0) ?
						  EXIT_POLL_SHORT_MS : EXIT_POLL_MS);

		nevents = WaitEventSetWait(active.set, wait_ms, events, lengthof(events),
								   execjson_wait_event());

		for (i = 0; i < nevents; i++)
		{
			WaitEvent  *ev = &events[i];

			if (ev->events & WL_LATCH_SET)
				ResetLatch(MyLatch);
			else if (ev->user_data == TAG_STDIN)
			{
				if (active.stdin_fd >= 0)
					write_stdin(cs);
			}
			else if (ev->user_data == TAG_STDOUT)
				read_output(cs, true, false);
			else if (ev->user_data == TAG_STDERR)
				read_output(cs, false, false);
			else if (ev->user_data == TAG_EXIT)
				exited = true;
		}

		CHECK_FOR_INTERRUPTS();

		if (exited || (active.pidfd < 0 && child_has_exited()))
			return;
	}
}

/*
 * raise_spawn_failed -- exec_spawn_failed for the program.
 */
pg_noreturn static void
raise_spawn_failed(const char *program_path)
{
	ExecErrorDetails details;

	exec_details_init(&details);
	exec_details_add_string(&details, "program_path", program_path);
	exec_raise(EXEC_SPAWN_FAILED, &details);
}

/*
 * start_child -- open the checked program file, make the pipes, spawn.
 */
static void
start_child(ExecSpawnSpec *spec)
{
	bool		is_script;
	int			spawn_errno;
	int			spawn_step;
	pid_t		pid;
	int			i;

	active.exec_fd = track_fd(fd_above_stdio(exec_program_open(spec->path,
																&is_script)));
	if (active.exec_fd < 0)
	{
		/* It was there a moment ago: the path changed under us. */
		if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
			exec_raise(EXEC_PROGRAM_NOT_ALLOWED, NULL);
		raise_spawn_failed(spec->path);
	}
	spec->exec_fd = is_script ? -1 : active.exec_fd;

	if (!make_pipe(&active.child_fds[0], &active.stdin_fd) ||
		!make_pipe(&active.stdout_fd, &active.child_fds[1]) ||
		!make_pipe(&active.stderr_fd, &active.child_fds[2]))
		raise_internal(spec->path);
	for (i = 0; i < 3; i++)
		spec->fds[i] = active.child_fds[i];

	pid = exec_spawn(spec, &spawn_errno, &spawn_step);
	active.pid = pid;
	for (i = 0; i < 3; i++)
		close_fd(&active.child_fds[i]);
	close_fd(&active.exec_fd);
	if (pid < 0)
	{
		active.pid = -1;
		if (spawn_step != SANDBOX_STEP_NONE)
			exec_sandbox_raise_unavailable(spec->path, spawn_step, spawn_errno);
		raise_spawn_failed(spec->path);
	}
	exec_call_stats.pid = pid;

	if (!set_nonblocking(active.stdin_fd) ||
		!set_nonblocking(active.stdout_fd) ||
		!set_nonblocking(active.stderr_fd))
		raise_internal(spec->path);

#ifdef SYS_pidfd_open
	active.pidfd = track_fd((int) syscall(SYS_pidfd_open, pid, 0));
#endif
}

/*
 * exec_run_child -- run the program spec describes (path, argv with
 * argv[0], envp, limits), stdin_data on its stdin, and fill *outcome.
 *
 * Returns after the program exited and was reaped; what is left of its
 * process group has been killed.  Raises exec_spawn_failed,
 * exec_timeout, exec_stdout_too_large, exec_stderr_too_large, exec_failed
 * (internal failure), and whatever CHECK_FOR_INTERRUPTS() raises; the
 * child is killed and reaped before any of them propagates.
 */
void
exec_run_child(ExecSpawnSpec *spec, const char *stdin_data, int stdin_len,
			   int timeout_ms, ExecOutcome *outcome)
{
	CallState	cs;

	Assert(active.pid < 0);
	active.reap_failed = false;
	if (nlingering > 0)
		reap_lingering();

	memset(outcome, 0, sizeof(*outcome));
	initStringInfo(&outcome->stdout_buf);

	cs.program_path = spec->path;
	cs.stdin_data = stdin_data;
	cs.stdin_len = stdin_len;
	cs.stdin_off = 0;
	cs.outcome = outcome;
	cs.set_dirty = false;

	PG_TRY();
	{
		start_child(spec);

		/* Most stdin fits the pipe: write it before the first wait. */
		write_stdin(&cs);

		wait_for_exit(&cs, timeout_ms);

		/*
		 * The program has exited (it is not reaped yet, so its process group
		 * id cannot be reused): kill what is left of its group, take what it
		 * wrote, then reap it.
		 */
		(void) kill(-active.pid, SIGKILL);
		close_fd(&active.stdin_fd);
		read_output(&cs, true, true);
		read_output(&cs, false, true);
		outcome->wait_status = reap(false);
		if (active.reap_failed)
			raise_internal(spec->path);
	}
	PG_FINALLY();
	{
		release_all(true);
	}
	PG_END_TRY();
}
