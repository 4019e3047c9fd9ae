/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "no more than 6 integer and 8 floating-point arguments". mix()
 * takes 9 integer arguments: x86_64 passes the last 3 on the stack, in the
 * caller's frame, aarch64 passes 8 in registers and 1 on the stack. The
 * frames differ in shape, so mix() on the stack at a point (its entry is
 * one) cannot be converted.
 *
 * expect-refusal: arguments passed on the stack
 */
#include <stdio.h>

static long mix(long a, long b, long c, long d, long e, long f, long g, long h, long i)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i;
}

int main(void)
{
	long r;

	r = mix(1, 2, 3, 4, 5, 6, 7, 8, 9);
	printf("%ld\n", r);
	return 0;
}
