/*
 * floor -- the cost of one exec_run call's process work, outside PostgreSQL.
 *
 * One "call" is what exec_run does around the program, minus PostgreSQL:
 * three pipes, start the program with them as its fds 0, 1, 2 (in a
 * process group of its own, every signal at its default, an empty signal
 * mask, cwd "/", fds >= 3 closed), write the request's stdin, read its
 * stdout and stderr to EOF, reap it.  It is repeated for a fixed time and
 * the rate printed, so that `make bench` can compare exec_run with the
 * cheapest way a C program can do the same work.
 *
 *   floor [-m vfork|spawn] [-t SECONDS] [-p PROCS] [-e FILE] [-w WARMUP] [-S]
 *
 *   -m vfork   vfork() + the child-side steps of src/spawn.c for a single
 *              call (every signal reset to its default) + execve()
 *   -m spawn   posix_spawn() with the equivalent attributes and file actions
 *   -t S       run for S seconds (default 1)
 *   -p N       N processes doing calls concurrently (default 1); the rate
 *              printed is their total
 *   -e FILE    echo mode: run "xjtool echo", write FILE to its stdin and
 *              read it back concurrently (poll), checking the length;
 *              without -e, run "ok" with {"x":1} on stdin and check that it
 *              answered {"ok":true}
 *   -w N       calls before the clock starts (default 20)
 *   -d DIR     where ok and xjtool are (default /tmp/execjson-test/bin)
 *   -S         with -m vfork, as a batch element's child: reset only the
 *              signals found caught or ignored once, at the start (for
 *              comparison; `make bench` does not use it)
 *
 * Prints one line of JSON: method, procs, calls, seconds, us_per_call
 * (wall time per call of one process), calls_per_s (total).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int	use_vfork = 1;
static const char *dir = "/tmp/execjson-test/bin";
static char *echo_data = NULL;
static size_t echo_len = 0;
static char *outbuf = NULL;
static size_t outcap = 0;
static char prog_path[4096];
static char *child_argv[3];
static char *child_envp[1] = {NULL};
static int	plan_signals = 0;
static int	nplanned = 0;
static int	planned[NSIG];

static void
die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the child may touch between vfork() and execve(), as in spawn.c. */
typedef struct ChildArgs
{
	int			fds[3];
	pid_t		parent_pid;
	sigset_t	empty_mask;
	volatile int exec_errno;
} ChildArgs;

static void
__attribute__((noreturn))
child_exec(ChildArgs *args)
{
	struct sigaction dfl;
	int			sig;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (plan_signals)
		for (int i = 0; i < nplanned; i++)
			(void) sigaction(planned[i], &dfl, NULL);
	else
		for (sig = 1; sig < NSIG; sig++)
			(void) sigaction(sig, &dfl, NULL);
	if (setpgid(0, 0) != 0)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		goto fail;
	if (getppid() != args->parent_pid)
		_exit(127);
	if (chdir("/") != 0)
		goto fail;
	for (int i = 0; i < 3; i++)
		if (dup2(args->fds[i], i) < 0)
			goto fail;
	if (syscall(SYS_close_range, 3U, ~0U, 0) != 0)
		goto fail;
	if (sigprocmask(SIG_SETMASK, &args->empty_mask, NULL) != 0)
		goto fail;
	execve(prog_path, child_argv, child_envp);
fail:
	args->exec_errno = errno ? errno : EINVAL;
	_exit(127);
}

static __attribute__((noinline)) pid_t
vfork_child(ChildArgs *args)
{
	pid_t		pid = vfork();

	if (pid == 0)
		child_exec(args);
	return pid;
}

static pid_t
start_vfork(int fds[3])
{
	ChildArgs	args;
	sigset_t	all,
				old;
	pid_t		pid;

	memcpy(args.fds, fds, sizeof(args.fds));
	args.parent_pid = getpid();
	args.exec_errno = 0;
	sigemptyset(&args.empty_mask);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = vfork_child(&args);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		die("vfork");
	if (args.exec_errno != 0)
	{
		errno = args.exec_errno;
		die("execve");
	}
	return pid;
}

static posix_spawnattr_t attr;

static pid_t
start_spawn(int fds[3])
{
	posix_spawn_file_actions_t fa;
	pid_t		pid;
	int			rc;

	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = posix_spawn(&pid, prog_path, &fa, &attr, child_argv, child_envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
	{
		errno = rc;
		die("posix_spawn");
	}
	return pid;
}

static void
init_spawnattr(void)
{
	sigset_t	all,
				none;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
							 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
}

/* pipe with both ends close-on-exec and >= 3 */
static void
make_pipe(int *r, int *w)
{
	int			p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe2");
	for (int i = 0; i < 2; i++)
		if (p[i] < 3)
		{
			int			m = fcntl(p[i], F_DUPFD_CLOEXEC, 3);

			close(p[i]);
			p[i] = m;
		}
	*r = p[0];
	*w = p[1];
}

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, buf, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			die("write");
		}
		buf += n;
		len -= n;
	}
}

/* One call: spawn, feed, drain, reap.  Returns bytes read from stdout. */
static size_t
one_call(void)
{
	int			child[3];
	int			in_w,
				out_r,
				err_r;
	pid_t		pid;
	int			status;
	size_t		got = 0;

	make_pipe(&child[0], &in_w);
	make_pipe(&out_r, &child[1]);
	make_pipe(&err_r, &child[2]);
	pid = use_vfork ? start_vfork(child) : start_spawn(child);
	for (int i = 0; i < 3; i++)
		close(child[i]);

	if (echo_data == NULL)
	{
		/* small request: write it, close, read the answer to EOF */
		static const char req[] = "{\"x\":1}";
		ssize_t		n;

		write_all(in_w, req, sizeof(req) - 1);
		close(in_w);
		while ((n = read(out_r, outbuf + got, outcap - got)) != 0)
		{
			if (n < 0)
			{
				if (errno == EINTR)
					continue;
				die("read");
			}
			got += n;
			if (got == outcap)
				die("stdout too large");
		}
		while ((n = read(err_r, outbuf + got, outcap - got)) > 0)
			;
		if (got != 11 || memcmp(outbuf, "{\"ok\":true}", 11) != 0)
		{
			fprintf(stderr, "floor: unexpected answer\n");
			exit(2);
		}
	}
	else
	{
		/* echo: write and read concurrently */
		size_t		off = 0;
		struct pollfd pfd[3];
		int			open_in = 1,
					open_out = 1,
					open_err = 1;
		char		errbuf[4096];

		fcntl(in_w, F_SETFL, O_NONBLOCK);
		fcntl(out_r, F_SETFL, O_NONBLOCK);
		fcntl(err_r, F_SETFL, O_NONBLOCK);
		while (open_in || open_out || open_err)
		{
			int			nfds = 0;
			int			ii = -1,
						io = -1,
						ie = -1;

			if (open_in)
			{
				pfd[nfds] = (struct pollfd) {in_w, POLLOUT, 0};
				ii = nfds++;
			}
			if (open_out)
			{
				pfd[nfds] = (struct pollfd) {out_r, POLLIN, 0};
				io = nfds++;
			}
			if (open_err)
			{
				pfd[nfds] = (struct pollfd) {err_r, POLLIN, 0};
				ie = nfds++;
			}
			if (poll(pfd, nfds, -1) < 0)
			{
				if (errno == EINTR)
					continue;
				die("poll");
			}
			if (ii >= 0 && pfd[ii].revents)
			{
				ssize_t		n = write(in_w, echo_data + off, echo_len - off);

				if (n > 0)
					off += n;
				else if (n < 0 && errno != EAGAIN && errno != EINTR)
					die("write");
				if (off == echo_len)
				{
					close(in_w);
					open_in = 0;
				}
			}
			if (io >= 0 && pfd[io].revents)
			{
				for (;;)
				{
					ssize_t		n = read(out_r, outbuf + got, outcap - got);

					if (n > 0)
					{
						got += n;
						if (got == outcap)
							die("stdout too large");
						continue;
					}
					if (n == 0)
						open_out = 0;
					else if (errno != EAGAIN && errno != EINTR)
						die("read");
					break;
				}
			}
			if (ie >= 0 && pfd[ie].revents)
			{
				ssize_t		n = read(err_r, errbuf, sizeof(errbuf));

				if (n == 0)
					open_err = 0;
			}
		}
		if (got != echo_len)
		{
			fprintf(stderr, "floor: echo returned %zu bytes of %zu\n", got, echo_len);
			exit(2);
		}
	}
	close(out_r);
	close(err_r);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		fprintf(stderr, "floor: program failed (status %d)\n", status);
		exit(2);
	}
	return got;
}

/* Run calls for secs seconds; return the number done and the elapsed time. */
static long
run_loop(double secs, int warmup, double *elapsed)
{
	long		calls = 0;
	double		t0,
				t;

	for (int i = 0; i < warmup; i++)
		one_call();
	t0 = now();
	do
	{
		for (int i = 0; i < 4; i++)
			one_call();
		calls += 4;
		t = now();
	} while (t - t0 < secs);
	*elapsed = t - t0;
	return calls;
}

int
main(int argc, char **argv)
{
	double		secs = 1.0;
	int			procs = 1;
	int			warmup = 20;
	const char *echo_file = NULL;
	int			opt;
	long		total = 0;
	double		max_elapsed = 0,
				sum_us = 0;

	while ((opt = getopt(argc, argv, "m:t:p:e:w:d:S")) != -1)
	{
		switch (opt)
		{
			case 'm':
				if (strcmp(optarg, "vfork") == 0)
					use_vfork = 1;
				else if (strcmp(optarg, "spawn") == 0)
					use_vfork = 0;
				else
				{
					fprintf(stderr, "floor: -m vfork|spawn\n");
					return 2;
				}
				break;
			case 't':
				secs = atof(optarg);
				break;
			case 'p':
				procs = atoi(optarg);
				break;
			case 'e':
				echo_file = optarg;
				break;
			case 'w':
				warmup = atoi(optarg);
				break;
			case 'S':
				plan_signals = 1;
				break;
			case 'd':
				dir = optarg;
				break;
			default:
				fprintf(stderr, "usage: floor [-m vfork|spawn] [-t S] [-p N] [-e FILE] [-w N] [-d DIR] [-S]\n");
				return 2;
		}
	}
	if (procs < 1 || procs > 64)
		procs = 1;
	if (plan_signals)
	{
		/* what is not at SIG_DFL, as a batch plans (glibc's own two are
		 * planned unasked: the child's sigaction() refuses them anyway) */
		for (int sig = 1; sig < NSIG; sig++)
		{
			struct sigaction sa;

			if (sig == SIGKILL || sig == SIGSTOP)
				continue;
			if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
				continue;
			planned[nplanned++] = sig;
		}
	}

	if (echo_file)
	{
		int			fd = open(echo_file, O_RDONLY);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) != 0)
			die(echo_file);
		echo_len = st.st_size;
		echo_data = malloc(echo_len);
		if (read(fd, echo_data, echo_len) != (ssize_t) echo_len)
			die("read echo file");
		close(fd);
		snprintf(prog_path, sizeof(prog_path), "%s/xjtool", dir);
		child_argv[0] = prog_path;
		child_argv[1] = "echo";
		child_argv[2] = NULL;
		outcap = echo_len + 65536;
	}
	else
	{
		snprintf(prog_path, sizeof(prog_path), "%s/ok", dir);
		child_argv[0] = prog_path;
		child_argv[1] = NULL;
		outcap = 65536;
	}
	outbuf = malloc(outcap);
	/* a backend ignores SIGPIPE; so do we (a write error is then EPIPE) */
	signal(SIGPIPE, SIG_IGN);
	init_spawnattr();

	if (procs == 1)
	{
		double		el;

		total = run_loop(secs, warmup, &el);
		max_elapsed = el;
		sum_us = el * 1e6 / total;
	}
	else
	{
		/* workers start together on a pipe; each reports calls and time */
		int			go[2],
					res[2];
		pid_t		pids[64];

		if (pipe(go) != 0 || pipe(res) != 0)
			die("pipe");
		for (int i = 0; i < procs; i++)
		{
			pids[i] = fork();
			if (pids[i] < 0)
				die("fork");
			if (pids[i] == 0)
			{
				char		c;
				double		el;
				long		n;
				double		msg[2];

				close(go[1]);
				close(res[0]);
				for (int w = 0; w < warmup; w++)
					one_call();
				if (read(go[0], &c, 1) < 0)
					_exit(2);
				n = run_loop(secs, 0, &el);
				msg[0] = n;
				msg[1] = el;
				write_all(res[1], (char *) msg, sizeof(msg));
				_exit(0);
			}
		}
		close(go[0]);
		close(res[1]);
		usleep(100000);			/* let all workers finish warming up */
		close(go[1]);
		for (int i = 0; i < procs; i++)
		{
			double		msg[2];

			if (read(res[0], msg, sizeof(msg)) != sizeof(msg))
			{
				fprintf(stderr, "floor: a worker failed\n");
				return 2;
			}
			total += (long) msg[0];
			if (msg[1] > max_elapsed)
				max_elapsed = msg[1];
			sum_us += msg[1] * 1e6 / msg[0];
		}
		for (int i = 0; i < procs; i++)
			waitpid(pids[i], NULL, 0);
	}

	printf("{\"method\": \"%s\", \"mode\": \"%s\", \"procs\": %d, \"calls\": %ld, "
		   "\"seconds\": %.6f, \"us_per_call\": %.3f, \"calls_per_s\": %.1f}\n",
		   use_vfork ? "vfork" : "posix_spawn", echo_file ? "echo" : "trivial",
		   procs, total, max_elapsed, sum_us / procs,
		   total / max_elapsed);
	return 0;
}
