/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "a call that can be on the stack at a migration point is a
 * whole statement". In `return fib(n - 1) + fib(n - 2);` the result of the
 * first call is kept in a register or an unnamed stack slot while the
 * second runs; no DWARF variable describes it, so a frame stopped inside
 * the second call cannot be converted.
 *
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
