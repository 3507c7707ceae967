/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  Run the children: feed their stdin, drain their stdout and stderr,
 *	  wait for them to exit (step 5 of a call), and make sure they are gone
 *	  afterwards.  exec_run runs one; a batch (batch.c) up to
 *	  execjson.max_parallel at once.
 *
 * Each running program has a slot: its pid, a pidfd that becomes readable
 * when it exits, the parent's ends of its pipes, and its progress.  All
 * waiting happens in one WaitEventSet of the backend's, over its latch,
 * postmaster death and the pipes and pidfds of every running program,
 * with the nearest deadline of the running programs as timeout.  The
 * program's fds are in that same epoll instance, not in one nested in it:
 * the wake-up of a pipe write then reaches the backend as the kernel's
 * "sync" wake-up, which lets the scheduler put the backend on the CPU of
 * the program that woke it rather than on a CPU busy with another.  The
 * set is made once per backend and kept, so a call costs no set-up of the
 * wait: only its own fds are added, and they leave the epoll instance when
 * they are closed.  A WaitEventSet cannot drop an event, so the set is
 * made anew, with the fds of the programs still running, when it has no
 * room left.  CHECK_FOR_INTERRUPTS() runs on every wake-up, so query
 * cancel, statement_timeout and pg_terminate_backend act within
 * milliseconds.  The backend's ends of the pipes are non-blocking, but for
 * a stdin of at most PIPE_BUF bytes, written whole into its new, empty
 * pipe, which cannot block (start_child): the backend never blocks outside
 * that wait, but for the reaping of a child already SIGKILLed or exited,
 * bounded (REAP_BOUND_MS).
 *
 * Whatever way a program's run ends -- normal exit, timeout, a stream over
 * its cap, cancel, an error, or a FATAL that skips PG_FINALLY -- its whole
 * process group is killed with SIGKILL and it is reaped.  A run that ends
 * for a reason of its own (timeout, cap, internal failure) is ended at
 * once, without disturbing the others, and its error is raised when the
 * caller collects it (exec_child_finish), so that a batch can turn it into
 * a value while other programs keep running.
 *
 * State kept across calls: the slots, so that the exit callback can find
 * them; the wait set; exec_call_stats, what the audit line of exec_run
 * reports; and a scratch buffer stderr is drained into.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/*
 * The wait set keeps the entries of closed fds, which epoll forgets by
 * itself; other ways of waiting would report them forever.
 */
#ifndef __linux__
#error "execjson's wait.c needs Linux (epoll)"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
 * stdout is read straight into its buffer, which starts small (1 kB, where
 * most answers fit) and, when full, grows geometrically by at least this
 * much: a small answer then costs no large allocation.  (A 64 kB palloc
 * is a malloc of its own; freeing it trims the heap with brk(), which,
 * once a vfork() child has run on another CPU with the backend's memory
 * map, flushes TLBs there.)
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

/* What an event of the wait set is about: slot << 8 | kind (its user_data). */
#define KIND_STDIN 1
#define KIND_STDOUT 2
#define KIND_STDERR 3
#define KIND_EXIT 4
#define EVENT_DATA(slot, kind) ((void *) (uintptr_t) (((slot) << 8) | (kind)))

/*
 * The wait set: the latch, postmaster death, and up to 4 fds per program
 * started since the set was made (closed ones stay as dead entries, which
 * epoll, on Linux, never reports); made anew when a program's fds do not
 * fit.  Events taken per wake-up.
 */
#define WAIT_SET_SIZE (2 + 8 * EXECJSON_MAX_PARALLEL)
#define WAIT_EVENTS 32

typedef enum SlotState
{
	SLOT_FREE,					/* holds nothing */
	SLOT_RUNNING,				/* started, not reaped */
	SLOT_DONE					/* reaped, fds closed; outcome final */
} SlotState;

/*
 * ActiveChild -- one slot: the resources and progress of one running
 * program.  -1 / NULL when not held.  pid stays set until the child is
 * reaped.
 */
typedef struct ActiveChild
{
	SlotState	state;
	pid_t		pid;
	int			pidfd;
	int			stdin_fd;		/* parent's ends of the pipes */
	int			stdout_fd;
	int			stderr_fd;
	int			child_fds[3];	/* child's ends, until spawned */
	int			exec_fd;		/* the program file, until spawned */
	bool		reap_failed;	/* wait4() failed: the status is unknown */
	bool		exited;			/* the pidfd said so; not reaped yet */
	const char *program_path;
	const char *stdin_data;
	int			stdin_len;
	int			stdin_off;
	int			timeout_ms;
	int64		started_ns;		/* when spawned (monotonic) */
	int64		deadline_ns;
	ExecOutcome *outcome;
	ExecCallStats *stats;
} ActiveChild;

static ActiveChild children[EXECJSON_MAX_PARALLEL];

/* Slots below this index have been used at least once. */
static int	slots_used = 0;

ExecCallStats exec_call_stats;

/* The backend's wait set, and how many of its entries are taken. */
static WaitEventSet *wait_set = NULL;
static int	wait_set_used = 0;

/* How many fds of the programs are open (each a reserved external fd). */
static int	tracked_fds = 0;

static bool exit_callback_registered = false;

/*
 * A batch opens each program file once (exec_children_hold_programs): the
 * file its last started element executed stays open for the next, as long
 * as they name the same canonical path and the file at that path is still
 * the held one (same device and inode); else the path is opened again, as
 * for a single call, so that a program replaced or removed during a batch
 * is not run from the old file.
 */
static bool holding_programs = false;
static int	held_fd = -1;
static bool held_is_script = false;
static char *held_path = NULL;	/* in TopMemoryContext */
static dev_t held_dev;			/* the held file, to tell it from another */
static ino_t held_ino;			/* one put at its path since */

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
	{
		ReserveExternalFD();
		tracked_fds++;
	}
	return fd;
}

/*
 * close_fd -- close a tracked *fd if open and mark it closed.  A closed fd
 * leaves the wait set's epoll instance by itself: the parent's ends of the
 * pipes and the pidfd are never shared (close-on-exec, and a child closes
 * every fd above 2 before it executes the program).
 */
static void
close_fd(int *fd)
{
	if (*fd >= 0)
	{
		close(*fd);
		ReleaseExternalFD();
		tracked_fds--;
		*fd = -1;
	}
}

/*
 * slot_init -- an empty slot.
 */
static void
slot_init(ActiveChild *c)
{
	memset(c, 0, sizeof(*c));
	c->state = SLOT_FREE;
	c->pid = -1;
	c->pidfd = -1;
	c->stdin_fd = -1;
	c->stdout_fd = -1;
	c->stderr_fd = -1;
	c->child_fds[0] = c->child_fds[1] = c->child_fds[2] = -1;
	c->exec_fd = -1;
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
 * gone_within -- wait up to ms for the SIGKILLed child of slot c to have
 * exited (without reaping it): on its pidfd, else by polling.
 */
static bool
gone_within(ActiveChild *c, int ms)
{
	struct timespec tick = {0, 1000000};
	int64		deadline = now_ns() + (int64) ms * 1000000;

	for (;;)
	{
		int64		left = deadline - now_ns();

		if (c->pidfd >= 0)
		{
			struct pollfd pfd = {c->pidfd, POLLIN, 0};
			int			r = poll(&pfd, 1, left > 0 ? (int) (left / 1000000) : 0);

			if (r > 0)
				return true;
			if (r < 0 && errno != EINTR)
				return true;	/* let wait4() decide */
		}
		else
		{
			siginfo_t	info;

			memset(&info, 0, sizeof(info));
			if (waitid(P_PID, c->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
			{
				if (errno != EINTR)
					return true;
			}
			else if (info.si_pid == c->pid)
				return true;
			if (left > 0)
				nanosleep(&tick, NULL);
		}
		if (left <= 0)
			return false;
	}
}

/*
 * note_usage -- after child c was reaped: its CPU time and peak RSS (from
 * wait4()), and the wall time since it was spawned, into its stats.
 */
static void
note_usage(ActiveChild *c, const struct rusage *ru)
{
	ExecCallStats *st = c->stats;
	instr_time	now;

	if (st == NULL)
		return;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, st->spawned_at);
	st->run_ms = INSTR_TIME_GET_MILLISEC(now);
	st->user_cpu_ms = ru->ru_utime.tv_sec * 1000.0 + ru->ru_utime.tv_usec / 1000.0;
	st->system_cpu_ms = ru->ru_stime.tv_sec * 1000.0 + ru->ru_stime.tv_usec / 1000.0;
	st->max_rss_kb = ru->ru_maxrss;	/* kB on Linux */
}

/*
 * reap -- reap child c, SIGKILLing its process group first when kill_first.
 *
 * The group is killed before the leader is reaped: while the leader is
 * not reaped its pid, and so the group id, cannot be reused.  After the
 * SIGKILL the wait is bounded (REAP_BOUND_MS): a child not gone by then
 * is left to reap_lingering(), with a WARNING.  Returns the wait status.
 */
static int
reap(ActiveChild *c, bool kill_first)
{
	int			status = 0;
	struct rusage ru;

	if (c->pid > 0)
	{
		if (kill_first && kill(-c->pid, SIGKILL) != 0)
			(void) kill(c->pid, SIGKILL);
		if (kill_first && nlingering < MAX_LINGERING &&
			!gone_within(c, REAP_BOUND_MS))
		{
			lingering[nlingering++] = c->pid;
			c->pid = -1;
			c->reap_failed = true;
			if (c->stats)
				c->stats->reaped = false;
			ereport(WARNING,
					(errmsg("execjson: a program did not end within %d ms of SIGKILL", REAP_BOUND_MS),
					 errdetail("It will be reaped later; a process in uninterruptible sleep delays it."),
					 errhidestmt(true), errhidecontext(true)));
			return status;
		}
		memset(&ru, 0, sizeof(ru));
		while (wait4(c->pid, &status, 0, &ru) < 0)
		{
			if (errno != EINTR)
			{
				/* Cannot happen unless SIGCHLD is ignored: no status. */
				c->reap_failed = true;
				break;
			}
		}
		c->pid = -1;
		if (c->stats)
		{
			c->stats->reaped = !c->reap_failed;
			c->stats->wait_status = status;
		}
		note_usage(c, &ru);
	}
	return status;
}

/*
 * close_child_fds -- close every fd slot c holds.
 */
static void
close_child_fds(ActiveChild *c)
{
	int			i;

	close_fd(&c->pidfd);
	close_fd(&c->stdin_fd);
	close_fd(&c->stdout_fd);
	close_fd(&c->stderr_fd);
	for (i = 0; i < 3; i++)
		close_fd(&c->child_fds[i]);
	close_fd(&c->exec_fd);
}

/*
 * release_child -- kill and reap the child of slot c, close its fds, and
 * free the slot.  Safe on a free slot.
 */
static void
release_child(ActiveChild *c)
{
	if (c->state == SLOT_FREE)
		return;
	reap(c, true);
	close_child_fds(c);
	slot_init(c);
}

/*
 * exec_children_release_all -- release every slot: kill and reap every
 * child still running, close every fd.  Safe to call more than once.
 */
void
exec_children_release_all(void)
{
	int			i;

	for (i = 0; i < slots_used; i++)
		release_child(&children[i]);
	exec_children_hold_programs(false);
}

/*
 * drop_held_program -- close the held program file, if any.
 */
static void
drop_held_program(void)
{
	close_fd(&held_fd);
	if (held_path != NULL)
	{
		pfree(held_path);
		held_path = NULL;
	}
}

/*
 * exec_children_hold_programs -- with on, keep the program file a child
 * was started from open for the next child of the same path (a batch);
 * with off, close it and stop.
 */
void
exec_children_hold_programs(bool on)
{
	drop_held_program();
	holding_programs = on;
}

/*
 * exec_child_on_exit -- before_shmem_exit callback: a FATAL error
 * (pg_terminate_backend, postmaster death) skips PG_FINALLY, so the
 * children are killed here.  The wait set goes with the process.
 */
static void
exec_child_on_exit(int code, Datum arg)
{
	exec_children_release_all();
	reap_lingering();
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
 * end has no other status flag to keep, so no F_GETFL first.  (The
 * child's ends stay blocking, as programs expect.)
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
 * end_child -- stop the run of c at once for reason end: kill its process
 * group, reap it, close its fds.  Its error is raised when the caller
 * collects it.
 */
static void
end_child(ActiveChild *c, ExecEnd end, int64 bytes)
{
	reap(c, true);
	close_child_fds(c);
	c->outcome->end = end;
	c->outcome->end_bytes = bytes;
	c->state = SLOT_DONE;
}

/*
 * write_stdin -- write as much pending stdin as the pipe takes; close it
 * when all is written or the program stopped reading.
 */
static void
write_stdin(ActiveChild *c)
{
	while (c->stdin_off < c->stdin_len)
	{
		ssize_t		n = write(c->stdin_fd, c->stdin_data + c->stdin_off,
							  c->stdin_len - c->stdin_off);

		if (n > 0)
		{
			c->stdin_off += n;
			c->stats->stdin_bytes = c->stdin_off;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EPIPE: the program closed its stdin; anything else: an error */
		c->outcome->stdin_errno = (n < 0) ? errno : EIO;
		break;
	}
	close_fd(&c->stdin_fd);
}

/*
 * read_output -- read what is available on stdout or stderr of c,
 * enforcing the cap at once (the run ends there).  With drain, read until
 * the pipe is empty, else at most READS_PER_WAKEUP chunks so that
 * interrupts are checked in between.
 */
static void
read_output(ActiveChild *c, bool is_stdout, bool drain)
{
	int		   *fd = is_stdout ? &c->stdout_fd : &c->stderr_fd;
	int			cap = is_stdout ? execjson_max_stdout_bytes : execjson_max_stderr_bytes;
	int			reads;

	for (reads = 0; *fd >= 0 && (drain || reads < READS_PER_WAKEUP); reads++)
	{
		int64		have;
		int64		room;
		char	   *dest;
		ssize_t		n;

		have = is_stdout ? c->outcome->stdout_buf.len : c->stats->stderr_bytes;
		/* Read at most one byte past the cap: enough to know it is passed. */
		room = Min((int64) READ_CHUNK, (int64) cap + 1 - have);
		if (is_stdout)
		{
			StringInfo	buf = &c->outcome->stdout_buf;

			/*
			 * Read into what room there is; once it is full, grow
			 * geometrically, but never past cap + 1 bytes.
			 */
			if (buf->maxlen - buf->len - 1 <= 0)
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
				c->outcome->stdout_buf.len += n;
				c->outcome->stdout_buf.data[c->outcome->stdout_buf.len] = '\0';
				c->stats->stdout_bytes = c->outcome->stdout_buf.len;
			}
			else
				c->stats->stderr_bytes += n;
			if (have + n > cap)
			{
				end_child(c, is_stdout ? EXEC_END_STDOUT_CAP : EXEC_END_STDERR_CAP,
						  have + n);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
		{
			end_child(c, EXEC_END_INTERNAL, 0);
			return;
		}
		/* EOF */
		close_fd(fd);
	}
}

/*
 * child_has_exited -- has the child of c exited (without reaping it)?
 * Used only when there is no pidfd.
 */
static bool
child_has_exited(ActiveChild *c)
{
	siginfo_t	info;

	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, c->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno != EINTR;
	return info.si_pid == c->pid;
}

/*
 * complete_exit -- the program of c has exited (it is not reaped yet, so
 * its process group id cannot be reused): kill what is left of its group,
 * take what it wrote, then reap it.
 */
static void
complete_exit(ActiveChild *c)
{
	(void) kill(-c->pid, SIGKILL);
	close_fd(&c->stdin_fd);
	read_output(c, true, true);
	if (c->state == SLOT_RUNNING)
		read_output(c, false, true);
	if (c->state != SLOT_RUNNING)
		return;					/* a cap was passed: ended already */
	c->outcome->wait_status = reap(c, false);
	close_child_fds(c);
	c->outcome->end = c->reap_failed ? EXEC_END_INTERNAL : EXEC_END_EXITED;
	c->state = SLOT_DONE;
}

/*
 * watch -- add fd of slot to set, counting the entry in *used; nothing if
 * fd is closed.
 */
static void
watch(WaitEventSet *set, int *used, int slot, int fd, int kind, uint32 events)
{
	if (fd < 0)
		return;
	(*used)++;
	AddWaitEventToSet(set, events, fd, NULL, EVENT_DATA(slot, kind));
}

/*
 * watch_slot -- add the open fds of the program in slot to set.
 */
static void
watch_slot(WaitEventSet *set, int *used, int slot)
{
	ActiveChild *c = &children[slot];

	watch(set, used, slot, c->stdin_fd, KIND_STDIN, WL_SOCKET_WRITEABLE);
	watch(set, used, slot, c->stdout_fd, KIND_STDOUT, WL_SOCKET_READABLE);
	watch(set, used, slot, c->stderr_fd, KIND_STDERR, WL_SOCKET_READABLE);
	watch(set, used, slot, c->pidfd, KIND_EXIT, WL_SOCKET_READABLE);
}

/*
 * new_wait_set -- CreateWaitEventSet(), or NULL if the backend has no fd
 * left for its epoll instance.
 *
 * CreateWaitEventSet() acquires an external fd (fd.c), and refuses once a
 * third of max_safe_fds are taken, after it has allocated the set (which
 * is then lost).  The fds of the running programs are counted there too,
 * and in the middle of a batch there can be hundreds: a new set only
 * replaces the old one, so they are set aside while it is made, and the
 * limit is asked first.
 */
static WaitEventSet *
new_wait_set(void)
{
	WaitEventSet *volatile set = NULL;
	int			n = tracked_fds;
	int			i;

	for (i = 0; i < n; i++)
		ReleaseExternalFD();
	PG_TRY();
	{
		if (AcquireExternalFD())
		{
			ReleaseExternalFD();
			set = execjson_create_backend_wait_event_set(WAIT_SET_SIZE);
		}
	}
	PG_FINALLY();
	{
		for (i = 0; i < n; i++)
			ReserveExternalFD();
	}
	PG_END_TRY();
	return set;
}

/*
 * ensure_wait_set -- make sure the backend's wait set has room for the fds
 * of one more program: make it the first time, and anew (with the fds of
 * the programs running) when it is full.  The old set is freed only once
 * the new one is complete: if that fails, the running programs are still
 * watched, and the program about to start fails (exec_failed), as will
 * the next ones until a set can be made.  The set lives as long as the
 * backend.
 */
static void
ensure_wait_set(void)
{
	WaitEventSet *set;
	int			used = 0;

	if (wait_set != NULL && wait_set_used + 4 <= WAIT_SET_SIZE)
		return;
	set = new_wait_set();
	if (set == NULL)
		elog(ERROR, "execjson: no fd left for a wait set");
	PG_TRY();
	{
		int			i;

		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		used++;
		/* As WaitLatch() does: a single-user backend has no postmaster. */
		if (IsUnderPostmaster)
		{
			AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET,
							  NULL, NULL);
			used++;
		}
		for (i = 0; i < slots_used; i++)
			if (children[i].state == SLOT_RUNNING)
				watch_slot(set, &used, i);
	}
	PG_CATCH();
	{
		FreeWaitEventSet(set);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (wait_set != NULL)
		FreeWaitEventSet(wait_set);
	wait_set = set;
	wait_set_used = used;
}

/*
 * wait_set_step -- run ensure_wait_set() (slot < 0) or watch_slot() of
 * slot; what fails there (no fd left, epoll_create1 or epoll_ctl: out of
 * memory, or of fs.epoll.max_user_watches) is raised as exec_failed for
 * program_path.
 */
static void
wait_set_step(int slot, const char *program_path)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		if (slot < 0)
			ensure_wait_set();
		else
			watch_slot(wait_set, &wait_set_used, slot);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* The cause, for the server log: the client gets exec_failed. */
		ereport(LOG,
				(errmsg("execjson: cannot wait for a program: %s", edata->message)));
		FreeErrorData(edata);
		raise_internal(program_path);
	}
	PG_END_TRY();
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
 * still_held_file -- is the file at path (the held path) still the held
 * file?
 */
static bool
still_held_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == held_dev &&
		st.st_ino == held_ino;
}

/*
 * start_child -- open the checked program file, make the pipes, spawn,
 * write what stdin the pipe takes, watch the rest.  Raises, leaving slot
 * c for the caller to release.
 */
static void
start_child(ActiveChild *c, int slot, ExecSpawnSpec *spec)
{
	bool		is_script;
	int			spawn_errno;
	int			spawn_step;
	int			pidfd;
	pid_t		pid;
	int			i;

	wait_set_step(-1, spec->path);

	if (held_fd >= 0 && strcmp(held_path, spec->path) == 0 &&
		still_held_file(spec->path))
		is_script = held_is_script;
	else
	{
		c->exec_fd = track_fd(fd_above_stdio(exec_program_open(spec->path,
															   &is_script)));
		if (c->exec_fd < 0)
		{
			/* It was there a moment ago: the path changed under us. */
			if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
				exec_raise(EXEC_PROGRAM_NOT_ALLOWED, NULL);
			/* Or it is no longer a regular file (a FIFO, a socket). */
			if (errno == EACCES || errno == ENXIO)
				exec_raise(EXEC_PROGRAM_NOT_EXECUTABLE, NULL);
			raise_spawn_failed(spec->path);
		}
		if (holding_programs)
		{
			struct stat st;

			/* The slot's file becomes the held one. */
			drop_held_program();
			if (fstat(c->exec_fd, &st) == 0)
			{
				held_path = MemoryContextStrdup(TopMemoryContext, spec->path);
				held_dev = st.st_dev;
				held_ino = st.st_ino;
				held_fd = c->exec_fd;
				held_is_script = is_script;
				c->exec_fd = -1;
			}
		}
	}
	spec->exec_fd = is_script ? -1 : (c->exec_fd >= 0 ? c->exec_fd : held_fd);

	if (!make_pipe(&c->child_fds[0], &c->stdin_fd) ||
		!make_pipe(&c->stdout_fd, &c->child_fds[1]) ||
		!make_pipe(&c->stderr_fd, &c->child_fds[2]))
		raise_internal(spec->path);
	for (i = 0; i < 3; i++)
		spec->fds[i] = c->child_fds[i];

	INSTR_TIME_SET_CURRENT(c->stats->spawned_at);
	pid = exec_spawn(spec, &spawn_errno, &spawn_step, &pidfd);
	c->pid = pid;
	c->pidfd = track_fd(fd_above_stdio(pidfd));
	for (i = 0; i < 3; i++)
		close_fd(&c->child_fds[i]);
	close_fd(&c->exec_fd);
	if (pid < 0)
	{
		c->pid = -1;
		if (spawn_step != SANDBOX_STEP_NONE)
			exec_sandbox_raise_unavailable(spec->path, spawn_step, spawn_errno);
		raise_spawn_failed(spec->path);
	}
	c->stats->pid = pid;

	/*
	 * Our ends are non-blocking, except a stdin of at most PIPE_BUF bytes:
	 * written at once below into the new, empty pipe, it fits whole (a
	 * pipe holds at least one page) and so never blocks, and the pipe is
	 * closed after it.  That saves a system call on most calls.
	 */
	if ((c->stdin_len > PIPE_BUF && !set_nonblocking(c->stdin_fd)) ||
		!set_nonblocking(c->stdout_fd) ||
		!set_nonblocking(c->stderr_fd))
		raise_internal(spec->path);

#ifdef SYS_pidfd_open
	if (c->pidfd < 0)
		c->pidfd = track_fd((int) syscall(SYS_pidfd_open, pid, 0));
#endif

	c->started_ns = now_ns();
	c->deadline_ns = c->started_ns + (int64) c->timeout_ms * 1000000;

	/* Most stdin fits the pipe: write it before the first wait. */
	write_stdin(c);

	wait_set_step(slot, spec->path);
}

/*
 * exec_child_start -- start the program spec describes (path, argv with
 * argv[0], envp, limits) with stdin_data on its stdin, in a free slot;
 * returns the slot.  Its run is followed by exec_children_wait() and ends
 * with exec_child_finish(), which fills *outcome (allocated in the current
 * memory context) and raises the run's own errors; stats is kept up to
 * date as it goes.
 *
 * Raises exec_spawn_failed, exec_program_not_allowed (the path changed
 * since it was checked), exec_failed (internal failure); the slot is
 * released before any of them propagates.
 */
int
exec_child_start(ExecSpawnSpec *spec, const char *stdin_data, int stdin_len,
				 int timeout_ms, ExecOutcome *outcome, ExecCallStats *stats)
{
	int			slot;
	ActiveChild *c;

	for (slot = 0; slot < EXECJSON_MAX_PARALLEL; slot++)
		if (slot >= slots_used || children[slot].state == SLOT_FREE)
			break;
	if (slot >= EXECJSON_MAX_PARALLEL)
		elog(ERROR, "execjson: no free child slot");

	if (!exit_callback_registered)
	{
		before_shmem_exit(exec_child_on_exit, (Datum) 0);
		exit_callback_registered = true;
	}
	if (nlingering > 0)
		reap_lingering();

	memset(outcome, 0, sizeof(*outcome));
	initStringInfo(&outcome->stdout_buf);

	c = &children[slot];
	slot_init(c);
	if (slot >= slots_used)
		slots_used = slot + 1;
	c->state = SLOT_RUNNING;
	c->program_path = spec->path;
	c->stdin_data = stdin_data;
	c->stdin_len = stdin_len;
	c->timeout_ms = timeout_ms;
	c->outcome = outcome;
	c->stats = stats;

	PG_TRY();
	{
		start_child(c, slot, spec);
	}
	PG_CATCH();
	{
		release_child(c);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return slot;
}

/*
 * dispatch -- handle one event of a program's fd: feed stdin, drain stdout
 * or stderr, note the exit.
 */
static void
dispatch(const WaitEvent *event)
{
	uintptr_t	data = (uintptr_t) event->user_data;
	int			slot = (int) (data >> 8);
	int			kind = (int) (data & 0xff);
	ActiveChild *c = &children[slot];

	/* An earlier event of this wake-up may have ended the run. */
	if (c->state != SLOT_RUNNING)
		return;
	switch (kind)
	{
		case KIND_STDIN:
			if (c->stdin_fd == event->fd)
				write_stdin(c);
			break;
		case KIND_STDOUT:
			if (c->stdout_fd == event->fd)
				read_output(c, true, false);
			break;
		case KIND_STDERR:
			if (c->stderr_fd == event->fd)
				read_output(c, false, false);
			break;
		case KIND_EXIT:
			if (c->pidfd == event->fd)
				c->exited = true;
			break;
	}
}

/*
 * pid_is_runnable -- is process pid (a child not yet reaped, so the pid is
 * still its own) on a CPU or waiting for one: state R in /proc/PID/stat?
 * False when that cannot be read (no /proc): never a reason to hold back.
 * procfs files are generated on read and never block.
 */
static bool
pid_is_runnable(pid_t pid)
{
	char		path[32];
	char		buf[128];
	char	   *paren;
	ssize_t		n;
	int			fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything but is at most 16 bytes. */
	paren = strrchr(buf, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'R';
}

/*
 * exec_children_runnable -- how many running programs are on a CPU or
 * waiting for one, counting no further than enough.  A program waiting
 * for input, a timer or a child of its own does not count.  One started
 * less than JUST_STARTED_NS ago counts without a look: it is still
 * starting (the loader, the C library's start-up), on a CPU.
 */
#define JUST_STARTED_NS 1000000

int
exec_children_runnable(int enough)
{
	int64		now = now_ns();
	int			n = 0;
	int			i;

	bool		older = false;

	/* The just started first: they may be enough without reading /proc. */
	for (i = 0; i < slots_used && n < enough; i++)
	{
		ActiveChild *c = &children[i];

		if (c->state != SLOT_RUNNING || c->pid <= 0 || c->exited)
			continue;
		if (now - c->started_ns < JUST_STARTED_NS)
			n++;
		else
			older = true;
	}
	for (i = 0; older && i < slots_used && n < enough; i++)
	{
		ActiveChild *c = &children[i];

		if (c->state == SLOT_RUNNING && c->pid > 0 && !c->exited &&
			now - c->started_ns >= JUST_STARTED_NS &&
			pid_is_runnable(c->pid))
			n++;
	}
	return n;
}

/*
 * exec_children_wait -- wait until the run of some started program is
 * over (exited and reaped, or ended by wait.c) and return its slot, for
 * exec_child_finish().  Feeds and drains every running program meanwhile.
 * With max_wait_ms >= 0, returns -1 if no run is over after that long.
 *
 * Raises only what CHECK_FOR_INTERRUPTS() raises (and what the wait
 * itself may raise); the caller then releases every slot.
 */
int
exec_children_wait(int max_wait_ms)
{
	WaitEvent	events[WAIT_EVENTS];
	int64		until = max_wait_ms < 0 ? PG_INT64_MAX :
		now_ns() + (int64) max_wait_ms * 1000000;

	/* A program runs only once its fds are in the set (start_child). */
	if (wait_set == NULL)
		elog(ERROR, "execjson: no wait set");

	for (;;)
	{
		int64		now = now_ns();
		int64		next_deadline = until;
		bool		polling = false;
		bool		near_exit = false;
		bool		any = false;
		long		wait_ms;
		int			nevents;
		int			i;

		for (i = 0; i < slots_used; i++)
		{
			ActiveChild *c = &children[i];

			if (c->state == SLOT_RUNNING &&
				(c->exited || (c->pidfd < 0 && child_has_exited(c))))
				complete_exit(c);
			if (c->state == SLOT_DONE)
				return i;
			if (c->state != SLOT_RUNNING)
				continue;
			if (c->deadline_ns <= now)
			{
				/* Kill at once, so the report waits for nothing. */
				end_child(c, EXEC_END_TIMEOUT, 0);
				return i;
			}
			any = true;
			next_deadline = Min(next_deadline, c->deadline_ns);
			if (c->pidfd < 0)
			{
				polling = true;
				if (c->stdout_fd < 0 && c->stderr_fd < 0)
					near_exit = true;
			}
		}
		if (!any)
			elog(ERROR, "execjson: no program is running");
		if (now >= until)
			return -1;

		/* Round up, so as not to wake just before the deadline and spin. */
		wait_ms = (long) ((next_deadline - now + 999999) / 1000000);
		if (polling)
			wait_ms = Min(wait_ms, near_exit ? EXIT_POLL_SHORT_MS : EXIT_POLL_MS);

		nevents = WaitEventSetWait(wait_set, wait_ms, events, lengthof(events),
								   execjson_wait_event());

		for (i = 0; i < nevents; i++)
		{
			if (events[i].events & WL_LATCH_SET)
				ResetLatch(MyLatch);
			else if (events[i].user_data != NULL)
				dispatch(&events[i]);
		}

		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * exec_child_finish -- collect the run of slot (which exec_children_wait()
 * returned) and free the slot.  Returns if the program exited on its own,
 * its outcome filled; else raises what ended it: exec_timeout,
 * exec_stdout_too_large, exec_stderr_too_large, exec_failed (internal).
 */
void
exec_child_finish(int slot)
{
	ActiveChild *c = &children[slot];
	ExecOutcome *outcome = c->outcome;
	const char *program_path = c->program_path;
	int			timeout_ms = c->timeout_ms;

	Assert(c->state == SLOT_DONE);
	slot_init(c);

	switch (outcome->end)
	{
		case EXEC_END_EXITED:
			return;
		case EXEC_END_TIMEOUT:
			{
				ExecErrorDetails details;

				exec_details_init(&details);
				exec_details_add_string(&details, "program_path", program_path);
				exec_details_add_int64(&details, "timeout_ms", timeout_ms);
				exec_raise(EXEC_TIMEOUT, &details);
			}
		case EXEC_END_STDOUT_CAP:
			raise_too_large(true, program_path, execjson_max_stdout_bytes,
							outcome->end_bytes);
		case EXEC_END_STDERR_CAP:
			raise_too_large(false, program_path, execjson_max_stderr_bytes,
							outcome->end_bytes);
		case EXEC_END_INTERNAL:
			raise_internal(program_path);
	}
}

/*
 * exec_run_child -- run one program (exec_run): spec describes it (path,
 * argv with argv[0], envp, limits), stdin_data goes to its stdin; fill
 * *outcome.
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
	PG_TRY();
	{
		int			slot = exec_child_start(spec, stdin_data, stdin_len,
											timeout_ms, outcome,
											&exec_call_stats);

		if (exec_children_wait(-1) != slot)
			elog(ERROR, "execjson: unexpected child slot");
		exec_child_finish(slot);
	}
	PG_CATCH();
	{
		exec_children_release_all();
		PG_RE_THROW();
	}
	PG_END_TRY();
}
