/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reduce: a parallel reduction with 2 to 8 threads. An array of integers
 * and one of doubles, filled from the corpus generator, are cut into one
 * block per thread; each thread reduces its block (sum, sum of squares
 * modulo a prime, minimum, maximum, a double sum) into its own slot, and
 * the main thread joins them and combines the slots in thread order. The
 * blocks and the order of combination depend on the thread count only, so
 * the output does too (the double sums are the same whatever thread ends
 * first). Threads wait for each other only at join.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "corpus.h"

#define MAX_THREADS 8
#define PRIME 1000000007UL

struct part {
	const unsigned *ints;
	const double *dbl;
	size_t lo, hi;
	unsigned long sum, sq;
	unsigned min, max;
	double dsum;
};

static unsigned long square_mod(unsigned v)
{
	return (unsigned long)v * v % PRIME;
}

static void reduce_range(struct part *p, size_t lo, size_t hi)
{
	size_t i;
	unsigned long s;

	for (i = lo; i < hi; i++) {
		p->sum += p->ints[i];
		s = square_mod(p->ints[i]);
		p->sq = (p->sq + s) % PRIME;
		if (p->ints[i] < p->min)
			p->min = p->ints[i];
		if (p->ints[i] > p->max)
			p->max = p->ints[i];
		p->dsum += p->dbl[i];
	}
}

static void *reducer(void *arg)
{
	struct part *p = arg;
	size_t at;

	p->min = ~0u;
	/* In chunks, with a point between them: a long block is no
	 * call-free loop. */
	for (at = p->lo; at < p->hi; at += 256) {
		reduce_range(p, at, at + 256 < p->hi ? at + 256 : p->hi);
		CORPUS_POINT();
	}
	return p;
}

static void one_round(const unsigned *ints, const double *dbl, size_t n, int threads)
{
	struct part parts[MAX_THREADS] = { 0 };
	pthread_t th[MAX_THREADS];
	unsigned long sum = 0, sq = 0;
	unsigned min = ~0u, max = 0;
	double dsum = 0;
	void *ret;
	int t;

	for (t = 0; t < threads; t++) {
		parts[t].ints = ints;
		parts[t].dbl = dbl;
		parts[t].lo = n * (size_t)t / (size_t)threads;
		parts[t].hi = n * (size_t)(t + 1) / (size_t)threads;
		if (pthread_create(&th[t], NULL, reducer, &parts[t]))
			exit(1);
	}
	for (t = 0; t < threads; t++) {
		pthread_join(th[t], &ret);
		if (ret != &parts[t])
			exit(2);
		sum += parts[t].sum;
		sq = (sq + parts[t].sq) % PRIME;
		if (parts[t].min < min)
			min = parts[t].min;
		if (parts[t].max > max)
			max = parts[t].max;
		dsum += parts[t].dsum;
	}
	printf("%d threads: sum %lu, squares mod p %lu, min %u, max %u, doubles %.9g\n",
	       threads, sum, sq, min, max, dsum);
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	size_t n = (size_t)(40000 * scale), i;
	unsigned *ints = malloc(n * sizeof(*ints));
	double *dbl = malloc(n * sizeof(*dbl));
	int threads, round;

	if (!ints || !dbl)
		return 1;
	for (i = 0; i < n; i++) {
		ints[i] = corpus_rand();
		dbl[i] = (double)(corpus_rand() % 100000) / 1024.0;
	}
	for (round = 0; round < 3; round++) {
		for (threads = 2; threads <= MAX_THREADS; threads++)
			one_round(ints, dbl, n, threads);
		for (i = 0; i < n; i += 7)
			ints[i] ^= (unsigned)(i * 2654435761u);
	}
	free(ints);
	free(dbl);
	return 0;
}
