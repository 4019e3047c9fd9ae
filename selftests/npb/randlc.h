/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The NAS Parallel Benchmarks' pseudorandom number generator, as the NPB
 * specification defines it: x_{k+1} = a * x_k mod 2^46, returning
 * r_k = 2^-46 x_k, with a = 5^13 for every kernel.
 */
#ifndef NPB_RANDLC_H
#define NPB_RANDLC_H

#include <stdint.h>

#define NPB_A 1220703125ULL            /* 5^13 */

/* a * x mod 2^46 (a, x < 2^46) */
uint64_t lcg_mul(uint64_t a, uint64_t x);
/* a^n mod 2^46: the multiplier that jumps n steps ahead */
uint64_t lcg_pow(uint64_t a, uint64_t n);
/* advance *x one step and return the new value scaled to (0, 1) */
double randlc(uint64_t *x, uint64_t a);
/* n steps: y[i] = the i-th new value scaled to (0, 1) */
void vranlc(long n, uint64_t *x, uint64_t a, double *y);

#endif
