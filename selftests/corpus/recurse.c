/* SPDX-License-Identifier: GPL-2.0 */
/*
 * recurse: deep and branching recursion. descend() goes 400 frames deep
 * (every frame a migration point on entry, each holding locals the
 * converter must carry), fib() and hanoi() branch, is_even()/is_odd()
 * recurse mutually, ackermann() goes deep and wide.
 */
#include <stdio.h>

#include "corpus.h"

#define DEPTH 400

static long fib(int n)
{
	long a, b;

	if (n < 2)
		return n;
	a = fib(n - 1);
	b = fib(n - 2);
	return a + b;
}

/* Each level keeps a local that is used after the call returns. */
static unsigned long descend(int level, unsigned long seed)
{
	unsigned long mine = seed * 31 + (unsigned long)level;
	unsigned long below;

	if (level == DEPTH)
		return mine ^ (mine >> 7);
	below = descend(level + 1, mine);
	return below + mine * (unsigned long)(level & 7);
}

static int is_odd(unsigned n);

static int is_even(unsigned n)
{
	int r;

	if (n == 0)
		return 1;
	r = is_odd(n - 1);
	return r;
}

static int is_odd(unsigned n)
{
	int r;

	if (n == 0)
		return 0;
	r = is_even(n - 1);
	return r;
}

static long moves;

static void hanoi(int n, int from, int to, int via)
{
	if (n == 0)
		return;
	hanoi(n - 1, from, via, to);
	moves += from * 3 + to;
	hanoi(n - 1, via, to, from);
}

static unsigned long ackermann(unsigned long m, unsigned long n)
{
	unsigned long inner;

	if (m == 0)
		return n + 1;
	if (n == 0) {
		inner = ackermann(m - 1, 1);
		return inner;
	}
	inner = ackermann(m, n - 1);
	inner = ackermann(m - 1, inner);
	return inner;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	unsigned long sum = 0, d, a;
	long f, i;
	int even, odd;

	for (i = 0; i < 20000 * scale; i++) {
		CORPUS_POINT();
		d = descend(0, (unsigned long)i);
		sum += d;
	}
	printf("descend depth %d x %ld: %lu\n", DEPTH, 20000 * scale, sum);

	for (i = 0; i < scale; i++) {
		f = fib(30);
		printf("fib(30) = %ld\n", f);
	}

	even = is_even(301);
	odd = is_odd(301);
	printf("301 even %d odd %d\n", even, odd);

	for (i = 0; i < scale; i++) {
		moves = 0;
		hanoi(20, 1, 3, 2);
		printf("hanoi(20) weighted moves %ld\n", moves);
	}

	a = ackermann(2, 200);
	printf("ackermann(2, 200) = %lu\n", a);
	return 0;
}
