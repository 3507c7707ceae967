/*
 * lean -- test/programs/ok.c without the C library (x86-64 Linux only).
 *
 * Reads stdin to EOF and answers {"ok":true}, like ok, but with raw system
 * calls and no libc start-up code.  `make bench` uses it to tell the cost
 * of starting a program (which on some virtual machines is mostly libc's
 * start-up: CPUID and cache probing trap to the hypervisor) from the cost
 * of what exec_run does around it.
 *
 * Build: gcc -O2 -static -nostdlib -fno-stack-protector -o lean lean.c
 */
#if defined(__x86_64__) && defined(__linux__)

#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_EXIT_GROUP 231

static long
sys3(long n, long a, long b, long c)
{
	long		ret;

	__asm__ volatile ("syscall"
					  : "=a" (ret)
					  : "a" (n), "D" (a), "S" (b), "d" (c)
					  : "rcx", "r11", "memory");
	return ret;
}

void		_start(void);

void
_start(void)
{
	char		buf[4096];
	static const char answer[] = "{\"ok\":true}";
	long		n;

	/* read to EOF (a negative return is an error, EINTR included) */
	do
		n = sys3(SYS_READ, 0, (long) buf, sizeof(buf));
	while (n > 0);
	n = sys3(SYS_WRITE, 1, (long) answer, sizeof(answer) - 1);
	sys3(SYS_EXIT_GROUP, n == sizeof(answer) - 1 ? 0 : 1, 0, 0);
	for (;;)
		;
}

#else

/* Not x86-64 Linux: run-bench.sh does not build this file. */
typedef int lean_unsupported;

#endif
