/*
 * swapshim -- an LD_PRELOAD library for the server in test 018: it makes
 * the race between execjson's check of a program and its open() of it
 * happen every time, instead of once in a while.
 *
 * When the server calls access() on a path whose last component is
 * "swap-me", the shim first exchanges that entry with "swap-fifo" in the
 * same directory (renameat2 RENAME_EXCHANGE), then answers.  execjson
 * checks the program with stat() and access() and opens it right after:
 * the open then finds the FIFO where the checked regular file was.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int
access(const char *path, int mode)
{
	static int	(*real_access) (const char *, int) = NULL;
	size_t		len = strlen(path);
	const char *name = "/swap-me";
	size_t		namelen = strlen(name);

	if (real_access == NULL)
		real_access = (int (*) (const char *, int)) dlsym(RTLD_NEXT, "access");
	if (len > namelen && len < PATH_MAX &&
		strcmp(path + len - namelen, name) == 0)
	{
		char		fifo[PATH_MAX + 16];

		snprintf(fifo, sizeof(fifo), "%.*s/swap-fifo",
				 (int) (len - namelen), path);
		(void) syscall(SYS_renameat2, AT_FDCWD, fifo, AT_FDCWD, path,
					   RENAME_EXCHANGE);
	}
	return real_access(path, mode);
}
