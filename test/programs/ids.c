/*
 * ids -- print the real and effective user ids as JSON: {"uid": U, "euid": E}.
 *
 * Installed setuid root by the tests, to check that a program run by
 * execjson gains no privileges (PR_SET_NO_NEW_PRIVS).  It does nothing
 * else, so the setuid copy is harmless.
 */
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	printf("{\"uid\": %d, \"euid\": %d}", (int) getuid(), (int) geteuid());
	return 0;
}
