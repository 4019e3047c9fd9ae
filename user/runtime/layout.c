// SPDX-License-Identifier: GPL-2.0
/*
 * aarch64 only: keep every mapping but the stack below 2^47, where x86_64
 * can map it too. arm64 places top-down mmaps near the stack, above
 * x86_64's 47-bit limit; the legacy (bottom-up) layout starts them at
 * TASK_SIZE/4 instead. The layout is chosen at exec, so the program
 * re-executes itself once with ADDR_COMPAT_LAYOUT (which exec keeps).
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <unistd.h>

extern char **__environ;

#define NOINST __attribute__((no_instrument_function))

/* musl calls constructors without arguments: argv is found below environ,
 * where the kernel put it (argc, argv[], NULL, envp[]). */
NOINST static char **find_argv(void)
{
	char **term = __environ - 1;	/* argv's NULL terminator */
	uintptr_t n;

	if (*term)
		return NULL;
	/* argc is the word before argv[0]: the only word here that equals the
	 * number of entries up to the terminator (the rest are pointers). */
	for (n = 0; n < 65536; n++)
		if ((uintptr_t)term[-1 - (long)n] == n)
			return term - n;
	return NULL;
}

/* On both ISAs, so that both have the same constructors (.init_array). */
NOINST __attribute__((constructor)) static void hetmig_low_layout(void)
{
	int cur;
	char **argv;

#if !defined(__aarch64__)
	return;
#endif
	cur = personality(0xffffffff);
	if (cur < 0 || (cur & ADDR_COMPAT_LAYOUT) || getenv("HETMIG_NO_REEXEC"))
		return;
	argv = find_argv();
	if (!argv || personality(cur | ADDR_COMPAT_LAYOUT) < 0)
		return;
	execve("/proc/self/exe", argv, __environ);
	/* exec failed: run on in the default layout (not movable to x86_64). */
	personality(cur);
}
