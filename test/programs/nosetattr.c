/*
 * nosetattr -- an LD_PRELOAD library for the server in test 025: the
 * kernel seems to lack mount_setattr(2), as before Linux 5.12 or under a
 * seccomp filter that answers ENOSYS.  syscall(SYS_mount_setattr, ...)
 * fails with ENOSYS; every other system call goes through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/*
 * syscall -- ENOSYS for mount_setattr, else the C library's syscall().
 * The callers pass at most six long-sized arguments.
 */
long
syscall(long number,...)
{
	static long (*real_syscall) (long,...) = NULL;
	va_list		ap;
	long		a[6];
	int			i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_mount_setattr)
	{
		errno = ENOSYS;
		return -1;
	}
	if (real_syscall == NULL)
		real_syscall = (long (*) (long,...)) dlsym(RTLD_NEXT, "syscall");
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
