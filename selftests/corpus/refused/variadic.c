/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "no variadic function of the program on the stack at a point".
 * total() takes 9 longs after `n`: x86_64 passes 3 of them in registers
 * (saved by total's prologue in its register save area) and 6 in main's
 * outgoing area, aarch64 7 and 2. Neither the save area nor those stack
 * slots are described by any DWARF variable (only `n` is named), so
 * total() on the stack at a point (its entry is one) cannot be converted.
 * (A function with named parameters passed on the stack is converted:
 * they are DWARF parameters of it, at CFA + N.)
 *
 * expect-refusal: variadic
 */
#include <stdarg.h>
#include <stdio.h>

static long total(int n, ...)
{
	va_list ap;
	long s = 0;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		s += (i + 1) * va_arg(ap, long);
	va_end(ap);
	return s;
}

int main(void)
{
	long r;

	r = total(9, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
	printf("%ld\n", r);
	return 0;
}
