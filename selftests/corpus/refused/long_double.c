/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "no long double". `acc` is a long double live across the call of
 * step(): 80-bit x87 (16 bytes with padding) on x86_64, IEEE binary128 on
 * aarch64; the bytes cannot be carried over and the verifier must refuse.
 *
 * expect-refusal: live long double
 */
#include <stdio.h>

static double step(double x)
{
	return x * 0.5 + 1.0;
}

int main(void)
{
	long double acc = 1.0L;
	double x = 3.0;
	int i;

	for (i = 0; i < 100; i++) {
		x = step(x);
		acc = acc * 1.0001L + x;
	}
	printf("%.6f\n", (double)acc);
	return 0;
}
