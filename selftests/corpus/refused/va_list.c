/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "no va_list live across a migration point". `ap` is live across
 * the call of weigh(): va_list is a 24-byte struct on x86_64 and a 32-byte
 * one on aarch64 pointing into register save areas of different layouts.
 *
 * expect-refusal: live va_list
 */
#include <stdarg.h>
#include <stdio.h>

static long weigh(long v)
{
	return v * 3 + 1;
}

static long sum(int n, ...)
{
	va_list ap;
	long s = 0, v, w;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		v = va_arg(ap, long);
		w = weigh(v);
		s += w;
	}
	va_end(ap);
	return s;
}

int main(void)
{
	long s;

	s = sum(4, 1L, 2L, 3L, 4L);
	printf("%ld\n", s);
	return 0;
}
