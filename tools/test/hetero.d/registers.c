/* SPDX-License-Identifier: GPL-2.0 */
/*
 * registers.c: hetero-test's -O1 program. Built with -O1, gcc keeps its
 * values in callee-saved registers across calls (aarch64 keeps `scale`
 * in d8, x86_64 in the frame), and every call site verifies (hetmig
 * check), so it can move at any of its points. No loops (their
 * invariants would be temporaries in registers) and main takes no
 * arguments (they would be entry values on every stack).
 */
#include <stdio.h>

/* noinline: hetmig-cc inlines leaf functions; these stay calls, whose
 * callers keep values across them. */
__attribute__((noinline)) static long mix(long a, long b)
{
	return a * 31 + b;
}

__attribute__((noinline)) static double quarter(long v)
{
	return (double)v / 4;
}

static long walk(long depth, long seed)
{
	long acc = seed * 3 + depth;
	double scale;
	long r;

	if (depth == 0)
		return mix(acc, seed);
	scale = quarter(depth);
	r = walk(depth - 1, acc ^ depth);
	acc = mix(acc, r);
	return acc + (long)(scale * 8) - depth + (seed & 1);
}

static long rounds(long i, long total)
{
	long next;

	if (i == 200)
		return total;
	next = walk(12, i);
	total = mix(total, next);
	if (i % 20 == 0)
		printf("%ld %ld\n", i, total);
	return rounds(i + 1, total);
}

int main(void)
{
	long total = rounds(0, 0);

	printf("total %ld\n", total);
	return 0;
}
