/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks, without hetmig-cc's plugin: "a call that can be on the stack at
 * a migration point is a whole statement". In `return fib(n - 1) +
 * fib(n - 2);` the result of the first call is kept in a callee-saved
 * register while the second runs; no DWARF variable describes it, so a
 * frame stopped inside the second call cannot be converted. The plugin
 * gives such a value a named frame slot (tools/test/cc/temps.c); built
 * without it, this checks the verifier's rule.
 *
 * hetmig-cc-flags: --no-plugin
 * expect-refusal: temporary no variable describes
 */
#include <stdio.h>

static long fib(int n)
{
	if (n < 2)
		return n;
	return fib(n - 1) + fib(n - 2);
}

int main(void)
{
	printf("%ld\n", fib(20));
	return 0;
}
