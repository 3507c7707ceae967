/*
 * xjtool -- the program execjson's tests run.
 *
 * Its arguments are a little script, run left to right:
 *
 *   echo            copy stdin to stdout until EOF
 *   drain           read stdin until EOF and drop it
 *   hexin           read stdin until EOF, print it as a JSON string of hex
 *   print S         write S to stdout          eprint S   ... to stderr
 *   bytes HEX       write the bytes spelled in hex to stdout
 *   argv0           print argv[0] as a JSON string
 *   out N           write N bytes 'x' to stdout  err N     ... to stderr
 *   jsonstr N       write a JSON string exactly N bytes long (N >= 2)
 *   nest N          write N '[' then N ']'
 *   flood-out       write to stdout forever    flood-err  ... to stderr
 *   sleep MS        sleep MS milliseconds
 *   ignore-signals  ignore SIGINT, SIGTERM, SIGHUP, SIGQUIT
 *   close-stdin     close fd 0
 *   grandchild MS   fork a child that sleeps MS ms holding stdout and
 *                   stderr open; print {"grandchild": PID}
 *   state           print the process's state as JSON (fds, signal masks,
 *                   process group, cwd, environment)
 *   fork            try to fork; print {"fork": true|false}
 *   burn            use CPU forever
 *   spin MS         use MS ms of CPU time; print {"cpu_us": N}, the CPU
 *                   time (user + system) it has used in all, by getrusage
 *   alloc MB        allocate and touch MB megabytes; print {"alloc": true|false}
 *   open-files N    open /dev/null up to N times; print {"opened": COUNT}
 *   write-file N    write N bytes to a scratch file in /tmp (removed after)
 *   tag WORD        nothing (a marker tests find the process by)
 *   pid             print {"pid": PID, "ppid": PPID} as the process sees them
 *   ids             print {"uid", "gid", "euid", "egid"}
 *   daemon MS       daemonize a grandchild (fork, setsid, fork; it closes
 *                   0-2 and sleeps MS ms); print {"daemon": PID}
 *   kill-pid PID SIG  print {"kill": "ok" or the errno name}
 *   kill-all        kill(-1, SIGKILL); print {"kill_all": "ok" or errno name}
 *   open PATH       open PATH read-only; print {"open": "ok" or errno name}
 *   create PATH     create and write PATH; print {"create": "ok" or errno name}
 *   ls DIR          print {"ls": [the names in DIR]} ([] if unreadable)
 *   connect IP PORT a TCP connection; print {"connect": "ok" or errno name}
 *   ifaces          print {"ifaces": [network interface names]}
 *   touch PATH      create the file PATH (empty)
 *   peers DIR MS    put a file named after its pid in DIR (made if missing)
 *                   for MS ms, counting the files there every 5 ms; print
 *                   {"peers": MOST SEEN} (itself included)
 *   mountflags PATH print {"mountflags": "ro,nosuid,nodev,noexec" -- those
 *                   of these flags the mount at PATH has -- or errno name}
 *   userns          try to make a user namespace (in a child process);
 *                   print {"userns": "ok" or errno name}
 *   inodes N        create up to N empty files in a new directory of /tmp
 *                   (removed after); print {"inodes": COUNT, "error": errno
 *                   name of the first failure or "ok"}
 *   kill SIG        kill itself with signal SIG
 *   exit N          exit with status N
 *
 * Without "exit" it exits 0 at the end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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
			exit(90);
		}
		buf += n;
		len -= n;
	}
}

static void
write_n(int fd, long n, char c)
{
	char		buf[65536];

	memset(buf, c, sizeof(buf));
	while (n > 0)
	{
		size_t		chunk = n > (long) sizeof(buf) ? sizeof(buf) : (size_t) n;

		write_all(fd, buf, chunk);
		n -= chunk;
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Copy stdin to fd (or drop it when fd < 0; hex-encode it when hex). */
static void
copy_stdin(int fd, int hex)
{
	char		buf[65536];
	char		hexbuf[2 * sizeof(buf)];
	static const char digits[] = "0123456789abcdef";
	ssize_t		n;

	while ((n = read(0, buf, sizeof(buf))) != 0)
	{
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			exit(91);
		}
		if (fd < 0)
			continue;
		if (hex)
		{
			for (ssize_t i = 0; i < n; i++)
			{
				hexbuf[2 * i] = digits[(unsigned char) buf[i] >> 4];
				hexbuf[2 * i + 1] = digits[(unsigned char) buf[i] & 15];
			}
			write_all(fd, hexbuf, 2 * n);
		}
		else
			write_all(fd, buf, n);
	}
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The name of an errno value, or "E<number>". */
static const char *
errname(int err)
{
	static char buf[16];

	switch (err)
	{
		case 0: return "ok";
		case EPERM: return "EPERM";
		case ENOENT: return "ENOENT";
		case ESRCH: return "ESRCH";
		case EACCES: return "EACCES";
		case EROFS: return "EROFS";
		case ENOTDIR: return "ENOTDIR";
		case EISDIR: return "EISDIR";
		case ENETUNREACH: return "ENETUNREACH";
		case ECONNREFUSED: return "ECONNREFUSED";
		case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
		case ENOSPC: return "ENOSPC";
		case EINVAL: return "EINVAL";
	}
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

static void
print_result(const char *key, int ok)
{
	printf("{\"%s\": \"%s\"}", key, errname(ok ? 0 : errno));
	fflush(stdout);
}

static void
print_status_field(FILE *out, const char *field)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[512];
	size_t		len = strlen(field);

	while (f && fgets(line, sizeof(line), f))
	{
		if (strncmp(line, field, len) == 0 && line[len] == ':')
		{
			char	   *v = line + len + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			json_string(out, v);
			fclose(f);
			return;
		}
	}
	if (f)
		fclose(f);
	fputs("null", out);
}

static void
print_state(void)
{
	FILE	   *out = stdout;
	DIR		   *d;
	struct dirent *de;
	char		cwd[4096];
	int			first = 1;
	int			dfd;

	fputs("{\"fds\": [", out);
	d = opendir("/proc/self/fd");
	dfd = d ? dirfd(d) : -1;
	while (d && (de = readdir(d)) != NULL)
	{
		if (de->d_name[0] == '.' || atoi(de->d_name) == dfd)
			continue;
		fprintf(out, "%s%s", first ? "" : ", ", de->d_name);
		first = 0;
	}
	if (d)
		closedir(d);
	fputs("], \"sigblk\": ", out);
	print_status_field(out, "SigBlk");
	fputs(", \"sigign\": ", out);
	print_status_field(out, "SigIgn");
	fputs(", \"no_new_privs\": ", out);
	print_status_field(out, "NoNewPrivs");
	fprintf(out, ", \"uid\": %d, \"euid\": %d", (int) getuid(), (int) geteuid());
	fprintf(out, ", \"own_pgrp\": %s", getpgrp() == getpid() ? "true" : "false");
	fputs(", \"cwd\": ", out);
	json_string(out, getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	fputs(", \"env\": {", out);
	first = 1;
	for (char **e = environ; *e; e++)
	{
		char	   *eq = strchr(*e, '=');
		char		name[4096];

		if (!eq || (size_t) (eq - *e) >= sizeof(name))
			continue;
		memcpy(name, *e, eq - *e);
		name[eq - *e] = '\0';
		fputs(first ? "" : ", ", out);
		json_string(out, name);
		fputs(": ", out);
		json_string(out, eq + 1);
		first = 0;
	}
	fputs("}}", out);
	fflush(out);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		const char *cmd = argv[i];
		const char *arg = (i + 1 < argc) ? argv[i + 1] : "0";

		if (strcmp(cmd, "echo") == 0)
			copy_stdin(1, 0);
		else if (strcmp(cmd, "drain") == 0)
			copy_stdin(-1, 0);
		else if (strcmp(cmd, "hexin") == 0)
		{
			write_all(1, "\"", 1);
			copy_stdin(1, 1);
			write_all(1, "\"", 1);
		}
		else if (strcmp(cmd, "print") == 0)
			write_all(1, arg, strlen(arg)), i++;
		else if (strcmp(cmd, "eprint") == 0)
			write_all(2, arg, strlen(arg)), i++;
		else if (strcmp(cmd, "bytes") == 0)
		{
			size_t		len = strlen(arg) / 2;
			char	   *buf = malloc(len + 1);

			for (size_t k = 0; buf && k < len; k++)
			{
				char		pair[3] = {arg[2 * k], arg[2 * k + 1], 0};

				buf[k] = (char) strtol(pair, NULL, 16);
			}
			if (buf)
				write_all(1, buf, len);
			free(buf);
			i++;
		}
		else if (strcmp(cmd, "argv0") == 0)
		{
			json_string(stdout, argv[0]);
			fflush(stdout);
		}
		else if (strcmp(cmd, "out") == 0)
			write_n(1, atol(arg), 'x'), i++;
		else if (strcmp(cmd, "err") == 0)
			write_n(2, atol(arg), 'x'), i++;
		else if (strcmp(cmd, "jsonstr") == 0)
		{
			write_all(1, "\"", 1);
			write_n(1, atol(arg) - 2, 'a');
			write_all(1, "\"", 1);
			i++;
		}
		else if (strcmp(cmd, "nest") == 0)
		{
			write_n(1, atol(arg), '[');
			write_n(1, atol(arg), ']');
			i++;
		}
		else if (strcmp(cmd, "flood-out") == 0)
			for (;;)
				write_n(1, 65536, 'x');
		else if (strcmp(cmd, "flood-err") == 0)
			for (;;)
				write_n(2, 65536, 'x');
		else if (strcmp(cmd, "sleep") == 0)
			sleep_ms(atol(arg)), i++;
		else if (strcmp(cmd, "ignore-signals") == 0)
		{
			signal(SIGINT, SIG_IGN);
			signal(SIGTERM, SIG_IGN);
			signal(SIGHUP, SIG_IGN);
			signal(SIGQUIT, SIG_IGN);
		}
		else if (strcmp(cmd, "close-stdin") == 0)
			close(0);
		else if (strcmp(cmd, "grandchild") == 0)
		{
			pid_t		pid = fork();

			if (pid == 0)
			{
				sleep_ms(atol(arg));
				_exit(0);
			}
			printf("{\"grandchild\": %d}", (int) pid);
			fflush(stdout);
			i++;
		}
		else if (strcmp(cmd, "state") == 0)
			print_state();
		else if (strcmp(cmd, "fork") == 0)
		{
			pid_t		pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			printf("{\"fork\": %s}", pid > 0 ? "true" : "false");
			fflush(stdout);
		}
		else if (strcmp(cmd, "burn") == 0)
		{
			volatile unsigned long n = 0;

			/* (void) n: GCC 16 warns about a volatile set but never read */
			for (;;)
			{
				n++;
				(void) n;
			}
		}
		else if (strcmp(cmd, "spin") == 0)
		{
			struct timespec ts;
			struct rusage ru;
			long		target_ns = atol(arg) * 1000000L;
			volatile unsigned long n = 0;

			do
			{
				for (int k = 0; k < 100000; k++)
				{
					n++;
					(void) n;
				}
				clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
			} while (ts.tv_sec * 1000000000L + ts.tv_nsec < target_ns);
			getrusage(RUSAGE_SELF, &ru);
			printf("{\"cpu_us\": %ld}",
				   (long) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L +
				   ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
			fflush(stdout);
			i++;
		}
		else if (strcmp(cmd, "alloc") == 0)
		{
			size_t		size = (size_t) atol(arg) * 1024 * 1024;
			/* volatile: GCC 16 elides a malloc whose memory is never read */
			char	   *volatile p = malloc(size);

			if (p)
				memset(p, 1, size);
			printf("{\"alloc\": %s}", p ? "true" : "false");
			fflush(stdout);
			free(p);
			i++;
		}
		else if (strcmp(cmd, "open-files") == 0)
		{
			long		opened = 0;

			while (opened < atol(arg) && open("/dev/null", O_RDONLY) >= 0)
				opened++;
			printf("{\"opened\": %ld}", opened);
			fflush(stdout);
			i++;
		}
		else if (strcmp(cmd, "write-file") == 0)
		{
			char		path[64];
			int			fd;

			snprintf(path, sizeof(path), "/tmp/xjtool-fsize.%d", (int) getpid());
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			unlink(path);
			if (fd < 0)
				exit(92);
			write_n(fd, atol(arg), 'x');
			close(fd);
			i++;
		}
		else if (strcmp(cmd, "tag") == 0)
			i++;
		else if (strcmp(cmd, "pid") == 0)
		{
			printf("{\"pid\": %d, \"ppid\": %d}", (int) getpid(), (int) getppid());
			fflush(stdout);
		}
		else if (strcmp(cmd, "ids") == 0)
		{
			printf("{\"uid\": %d, \"gid\": %d, \"euid\": %d, \"egid\": %d}",
				   (int) getuid(), (int) getgid(), (int) geteuid(), (int) getegid());
			fflush(stdout);
		}
		else if (strcmp(cmd, "daemon") == 0)
		{
			int			fds[2];
			pid_t		pid;
			int			daemon_pid = -1;

			if (pipe(fds) != 0)
				exit(93);
			pid = fork();
			if (pid == 0)
			{
				setsid();
				pid = fork();
				if (pid == 0)
				{
					int			me = (int) getpid();

					(void) !write(fds[1], &me, sizeof(me));
					close(fds[0]);
					close(fds[1]);
					close(0);
					close(1);
					close(2);
					sleep_ms(atol(arg));
					_exit(0);
				}
				_exit(0);
			}
			close(fds[1]);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			if (read(fds[0], &daemon_pid, sizeof(daemon_pid)) != sizeof(daemon_pid))
				daemon_pid = -1;
			close(fds[0]);
			printf("{\"daemon\": %d}", daemon_pid);
			fflush(stdout);
			i++;
		}
		else if (strcmp(cmd, "kill-pid") == 0)
		{
			const char *sig = (i + 2 < argc) ? argv[i + 2] : "0";

			print_result("kill", kill((pid_t) atol(arg), atoi(sig)) == 0);
			i += 2;
		}
		else if (strcmp(cmd, "kill-all") == 0)
			print_result("kill_all", kill(-1, SIGKILL) == 0);
		else if (strcmp(cmd, "open") == 0)
		{
			int			fd = open(arg, O_RDONLY);

			print_result("open", fd >= 0);
			if (fd >= 0)
				close(fd);
			i++;
		}
		else if (strcmp(cmd, "create") == 0)
		{
			int			fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			int			ok = fd >= 0 && write(fd, "x", 1) == 1;

			print_result("create", ok);
			if (fd >= 0)
				close(fd);
			i++;
		}
		else if (strcmp(cmd, "ls") == 0)
		{
			DIR		   *d = opendir(arg);
			struct dirent *de;
			int			first = 1;

			fputs("{\"ls\": [", stdout);
			while (d && (de = readdir(d)) != NULL)
			{
				if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
					continue;
				fputs(first ? "" : ", ", stdout);
				json_string(stdout, de->d_name);
				first = 0;
			}
			if (d)
				closedir(d);
			fputs("]}", stdout);
			fflush(stdout);
			i++;
		}
		else if (strcmp(cmd, "connect") == 0)
		{
			const char *port = (i + 2 < argc) ? argv[i + 2] : "0";
			struct sockaddr_in sa;
			int			s = socket(AF_INET, SOCK_STREAM, 0);
			int			ok;

			memset(&sa, 0, sizeof(sa));
			sa.sin_family = AF_INET;
			sa.sin_port = htons((unsigned short) atoi(port));
			inet_pton(AF_INET, arg, &sa.sin_addr);
			ok = s >= 0 && connect(s, (struct sockaddr *) &sa, sizeof(sa)) == 0;
			print_result("connect", ok);
			if (s >= 0)
				close(s);
			i += 2;
		}
		else if (strcmp(cmd, "ifaces") == 0)
		{
			struct if_nameindex *ifs = if_nameindex();
			int			first = 1;

			fputs("{\"ifaces\": [", stdout);
			for (struct if_nameindex *p = ifs; p && p->if_index != 0; p++)
			{
				fputs(first ? "" : ", ", stdout);
				json_string(stdout, p->if_name);
				first = 0;
			}
			if (ifs)
				if_freenameindex(ifs);
			fputs("]}", stdout);
			fflush(stdout);
		}
		else if (strcmp(cmd, "touch") == 0)
		{
			int			fd = open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

			if (fd < 0)
				exit(92);
			close(fd);
			i++;
		}
		else if (strcmp(cmd, "peers") == 0)
		{
			const char *ms = (i + 2 < argc) ? argv[i + 2] : "0";
			char		mine[4096];
			long		most = 0;

			(void) mkdir(arg, 0777);
			snprintf(mine, sizeof(mine), "%s/%d", arg, (int) getpid());
			close(open(mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
			for (long waited = 0; waited <= atol(ms); waited += 5)
			{
				DIR		   *d = opendir(arg);
				struct dirent *de;
				long		count = 0;

				while (d && (de = readdir(d)) != NULL)
					if (de->d_name[0] != '.')
						count++;
				if (d)
					closedir(d);
				if (count > most)
					most = count;
				sleep_ms(5);
			}
			unlink(mine);
			printf("{\"peers\": %ld}", most);
			fflush(stdout);
			i += 2;
		}
		else if (strcmp(cmd, "mountflags") == 0)
		{
			struct statvfs sv;

			if (statvfs(arg, &sv) != 0)
				print_result("mountflags", 0);
			else
			{
				printf("{\"mountflags\": \"%s%s%s%s\"}",
					   (sv.f_flag & ST_RDONLY) ? "ro," : "",
					   (sv.f_flag & ST_NOSUID) ? "nosuid," : "",
					   (sv.f_flag & ST_NODEV) ? "nodev," : "",
					   (sv.f_flag & ST_NOEXEC) ? "noexec," : "");
				fflush(stdout);
			}
			i++;
		}
		else if (strcmp(cmd, "userns") == 0)
		{
			pid_t		pid = fork();
			int			status = 0;

			if (pid == 0)
				_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
			if (pid > 0)
				waitpid(pid, &status, 0);
			errno = pid < 0 ? errno : WEXITSTATUS(status);
			print_result("userns", pid > 0 && errno == 0);
		}
		else if (strcmp(cmd, "inodes") == 0)
		{
			char		dir[64];
			char		path[96];
			long		n = atol(arg);
			long		made = 0;
			int			err = 0;

			snprintf(dir, sizeof(dir), "/tmp/xjtool-inodes.%d", (int) getpid());
			if (mkdir(dir, 0700) != 0)
				err = errno;
			for (; err == 0 && made < n; made++)
			{
				int			fd;

				snprintf(path, sizeof(path), "%s/%ld", dir, made);
				fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
				if (fd < 0)
				{
					err = errno;
					break;
				}
				close(fd);
			}
			printf("{\"inodes\": %ld, \"error\": \"%s\"}", made, errname(err));
			fflush(stdout);
			while (made-- > 0)
			{
				snprintf(path, sizeof(path), "%s/%ld", dir, made);
				unlink(path);
			}
			rmdir(dir);
			i++;
		}
		else if (strcmp(cmd, "kill") == 0)
		{
			signal(atoi(arg), SIG_DFL);
			kill(getpid(), atoi(arg));
			sleep_ms(1000);
			i++;
		}
		else if (strcmp(cmd, "exit") == 0)
			exit(atoi(arg));
		else
		{
			fprintf(stderr, "xjtool: unknown command\n");
			return 99;
		}
	}
	return 0;
}
