// SPDX-License-Identifier: GPL-2.0
/*
 * NPB's linear congruential generator. The specification computes
 * a * x mod 2^46 in double precision by splitting both factors into
 * 23-bit halves; the same split in 64-bit integers is exact and gives the
 * same sequence.
 */
#include "randlc.h"

#define LOW23 ((UINT64_C(1) << 23) - 1)
#define LOW46 ((UINT64_C(1) << 46) - 1)

static const double two_to_minus_46 = 1.0 / (double)(UINT64_C(1) << 46);

uint64_t lcg_mul(uint64_t a, uint64_t x)
{
	uint64_t a_hi = a >> 23, a_lo = a & LOW23;
	uint64_t x_hi = x >> 23, x_lo = x & LOW23;
	/* a x = a_hi x_hi 2^46 + (a_hi x_lo + a_lo x_hi) 2^23 + a_lo x_lo */
	uint64_t middle = (a_hi * x_lo + a_lo * x_hi) & LOW23;

	return ((middle << 23) + a_lo * x_lo) & LOW46;
}

uint64_t lcg_pow(uint64_t a, uint64_t n)
{
	uint64_t result = 1;

	while (n > 0) {
		if (n & 1)
			result = lcg_mul(result, a);
		a = lcg_mul(a, a);
		n >>= 1;
	}
	return result;
}

double randlc(uint64_t *x, uint64_t a)
{
	*x = lcg_mul(a, *x);
	return (double)*x * two_to_minus_46;
}

void vranlc(long n, uint64_t *x, uint64_t a, double *y)
{
	uint64_t v = *x;

	for (long i = 0; i < n; i++) {
		v = lcg_mul(a, v);
		y[i] = (double)v * two_to_minus_46;
	}
	*x = v;
}
