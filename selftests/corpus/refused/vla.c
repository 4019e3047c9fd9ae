/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "no alloca or variable-length array in a function that can be on
 * the stack". `buf` has a size known only at run time, so fill()'s frame
 * has no fixed layout and the caller's call of total() happens with the
 * stack pointer moved by a run-time amount.
 *
 * expect-refusal: frame size changes at run time
 */
#include <stdio.h>

static long total(const long *v, int n)
{
	long s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += v[i];
	return s;
}

static long fill(int n)
{
	long buf[n];
	long s;
	int i;

	for (i = 0; i < n; i++)
		buf[i] = i * i;
	s = total(buf, n);
	return s;
}

int main(void)
{
	long s;

	s = fill(37);
	printf("%ld\n", s);
	return 0;
}
