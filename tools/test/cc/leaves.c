/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For tools/test/cc-test: which functions the plugin inlines as leaves
 * (Documentation/heterogeneous.md, the plugin's item 6). square and
 * sum_of_squares (its only calls are to a leaf) are leaves; count_up
 * has a loop and other units may call it, say calls a function that is
 * no leaf, recurse calls itself: those keep their entry points and are
 * not inlined. With optimization, tally (static, a loop, called once) is
 * a loop leaf: inlined into main, its loop's point is main's; twice
 * (the same, called twice) keeps its call and its entry point.
 */
#include <stdio.h>

static long square(long x)
{
	return x * x;
}

long sum_of_squares(long a, long b)
{
	return square(a) + square(b);
}

long count_up(long n)
{
	long s = 0;

	for (long i = 0; i < n; i++)
		s += i;
	return s;
}

void say(long v)
{
	printf("%ld\n", v);
}

long recurse(long n)
{
	return n ? recurse(n - 1) + 1 : 0;
}

static long tally(long n)
{
	long s = 0;

	while (n > 0)
		s += n--;
	return s;
}

static long twice(long n)
{
	long s = 1;

	for (long i = 0; i < n; i++)
		s *= 3;
	return s;
}

int main(int argc, char **argv)
{
	(void)argv;
	say(sum_of_squares(argc, 2) + count_up(argc) + recurse(argc));
	say(tally(argc) + twice(argc) + twice(argc + 1));
	return 0;
}
