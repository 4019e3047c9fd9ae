/* SPDX-License-Identifier: GPL-2.0 */
/*
 * natural.c: C as people write it, which rule 1 of README.md used to
 * forbid: results of calls combined in one expression (fib(n - 1) +
 * fib(n - 2)), calls as arguments of calls, several results printed by one
 * printf, a recursive quicksort whose pivot index waits across a call, and
 * a small evaluator that combines the values of recursive calls. Every one
 * keeps a value across a call that only hetmig-cc's plugin names.
 */
#include <stdio.h>
#include <string.h>

#include "corpus.h"

static long fib(int n)
{
	if (n < 2)
		return n;
	return fib(n - 1) + fib(n - 2);
}

static long square(long x)
{
	return x * x;
}

static long cube(long x)
{
	return x * x * x;
}

static long mix(long a, long b, long c)
{
	return a * 31 + b * 7 + c;
}

static int partition(unsigned *v, int lo, int hi)
{
	unsigned pivot = v[(lo + hi) / 2];
	int i = lo - 1, j = hi + 1;

	for (;;) {
		do
			i++;
		while (v[i] < pivot);
		do
			j--;
		while (v[j] > pivot);
		if (i >= j)
			return j;
		unsigned t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static void quicksort(unsigned *v, int lo, int hi)
{
	if (lo >= hi)
		return;
	int p = partition(v, lo, hi);

	quicksort(v, lo, p);
	quicksort(v, p + 1, hi);
}

/* A prefix expression over digits and + - * (e.g. "*+12-93"). */
static long eval(const char **s)
{
	char c = *(*s)++;

	switch (c) {
	case '+':
		return eval(s) + eval(s);
	case '-':
		return eval(s) - eval(s);
	case '*':
		return eval(s) * eval(s);
	default:
		return c - '0';
	}
}

static void make_expression(char *out, int depth)
{
	if (depth == 0) {
		*out++ = '0' + corpus_rand() % 10;
		*out = 0;
		return;
	}
	*out = "+-*"[corpus_rand() % 3];
	make_expression(out + 1, depth - 1);
	make_expression(out + strlen(out), depth - 1);
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	static unsigned v[4096];
	static char text[1 << 12];
	unsigned long check = 0;
	long round;

	for (round = 0; round < 20 * scale; round++) {
		CORPUS_POINT();
		printf("fib %ld %ld\n", fib(24) + fib(23), fib(25));
		printf("%ld %ld %ld\n", square(round + 3), cube(round + 2),
		       mix(square(2), cube(3), fib(10)));
		for (int i = 0; i < 4096; i++)
			v[i] = corpus_rand() % 100000;
		quicksort(v, 0, 4095);
		for (int i = 1; i < 4096; i++)
			check += v[i] >= v[i - 1] ? v[i] % 7 : 1000000;
		for (int e = 0; e < 20; e++) {
			const char *p = text;

			make_expression(text, 8);
			check = check * 3 + (unsigned long)eval(&p);
		}
		printf("round %ld check %lu\n", round, check);
	}
	return 0;
}
