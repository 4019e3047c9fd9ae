/* SPDX-License-Identifier: GPL-2.0 */
/*
 * loops.c: hetero-test's -O2 program. Loops that call functions, as
 * numeric code has them: gcc -O2 keeps their bounds, the addresses of the
 * globals they update and their counters (counted down, or one ahead) in
 * callee-saved registers that no source variable names. hetmig check
 * proves every site but spread()'s at -O2 (aarch64 turns its index into a
 * pointer scaled from the parameter, which nothing describes), so it
 * moves at any point outside spread(); hetero-test picks points in the
 * others.
 */
#include <stdio.h>

static long total;
static double energy;
static long table[64];

/* noinline: hetmig-cc inlines leaf functions; these stay calls, so that the
 * loops keep values across calls as loops around library calls do. */
__attribute__((noinline)) static long step(long x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static double weight(long i)
{
	return 1.0 / (double)(i + 1);
}

static void accumulate(long rounds)
{
	for (long i = 0; i < rounds; i++)
		total += step(i);
}

static void spread(long base)
{
	for (int i = 0; i < 64; i++)
		table[i] = step(base + i);
}

static long countdown(long n)
{
	long sum = 0;

	while (n-- > 0)
		sum += step(n) & 0xff;
	return sum;
}

static void integrate(long n)
{
	for (long i = 0; i < n; i++)
		energy += weight(i);
}

int main(void)
{
	for (long round = 0; round < 40; round++) {
		accumulate(200);
		spread(round);
		integrate(50);
		total -= countdown(30);
	}
	long check = 0;

	for (int i = 0; i < 64; i++)
		check ^= table[i] << (i % 7);
	printf("total %ld check %ld energy %.6f\n", total, check, energy);
	return 0;
}
