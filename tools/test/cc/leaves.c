/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For tools/test/cc-test: which functions the plugin inlines as leaves
 * (Documentation/heterogeneous.md, the plugin's item 6). square and
 * sum_of_squares (its only calls are to a leaf) are leaves; count_up
 * has a loop, say calls a function that is no leaf, recurse calls
 * itself: those keep their entry points and are not inlined.
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

int main(int argc, char **argv)
{
	(void)argv;
	say(sum_of_squares(argc, 2) + count_up(argc) + recurse(argc));
	return 0;
}
