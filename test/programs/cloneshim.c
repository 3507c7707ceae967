/*
 * cloneshim -- an LD_PRELOAD library for the server in test 026: clone()
 * into a new user namespace (execjson's sandboxed spawn) fails with the
 * errno XJ_CLONE_ERRNO names (a number), as the kernel's does when the
 * server's OS user is out of processes (EAGAIN) or memory (ENOMEM), or
 * refuses user namespaces (EPERM).  Other clone() calls go through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/types.h>

/*
 * clone -- fail a clone with CLONE_NEWUSER if XJ_CLONE_ERRNO is set, else
 * the C library's clone() with the same arguments.
 */
int
clone(int (*fn) (void *), void *stack, int flags, void *arg,...)
{
	static int	(*real_clone) (int (*) (void *), void *, int, void *,...) = NULL;
	const char *fail = getenv("XJ_CLONE_ERRNO");
	va_list		ap;
	pid_t	   *ptid;
	void	   *tls;
	pid_t	   *ctid;

	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if ((flags & CLONE_NEWUSER) && fail && atoi(fail) > 0)
	{
		errno = atoi(fail);
		return -1;
	}
	if (real_clone == NULL)
		real_clone = (int (*) (int (*) (void *), void *, int, void *,...))
			dlsym(RTLD_NEXT, "clone");
	return real_clone(fn, stack, flags, arg, ptid, tls, ctid);
}
