/* SPDX-License-Identifier: GPL-2.0 */
/*
 * deep: the process tools/bench/hetero moves. `deep DEPTH HEAP_KIB
 * [THREADS]` fills HEAP_KIB of heap, recurses DEPTH frames (each frame a
 * migration point holding locals) and then spins at the bottom forever,
 * with a migration point in the loop (hetmig-cc inlines the leaf `spin`,
 * which takes its entry point with it: without the explicit point the
 * bench's moves found none). With THREADS > 1, THREADS - 1 more threads do
 * the same on stacks of their own. It prints "ready" once
 * every thread is at its bottom, so the bench moves it with exactly DEPTH
 * + a few frames on each stack.
 */
#include <hetmig.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned long sink;
static int threads = 1, depth = 16;
static volatile int at_bottom;

static unsigned long spin(unsigned long x)
{
	return x * 6364136223846793005UL + 1442695040888963407UL;
}

static unsigned long descend(int level, unsigned long seed)
{
	unsigned long mine = seed * 31 + (unsigned long)level;
	unsigned long x;

	if (level < depth)
		return descend(level + 1, mine) + mine;
	if (__atomic_add_fetch(&at_bottom, 1, __ATOMIC_SEQ_CST) == threads) {
		printf("ready\n");
		fflush(stdout);
	}
	for (x = mine;; x = spin(x)) {
		sink = x;
		hetmig_point();
	}
	return x;
}

static void *thread(void *arg)
{
	return (void *)descend(0, (unsigned long)arg);
}

int main(int argc, char **argv)
{
	size_t heap = (argc > 2 ? (size_t)atol(argv[2]) : 1024) << 10;
	char *mem = malloc(heap);
	pthread_t t;
	int i;

	depth = argc > 1 ? atoi(argv[1]) : 16;
	threads = argc > 3 ? atoi(argv[3]) : 1;
	if (!mem)
		return 1;
	memset(mem, 0x5a, heap);
	for (i = 1; i < threads; i++)
		if (pthread_create(&t, NULL, thread, (void *)(unsigned long)i))
			return 1;
	sink = descend(0, (unsigned long)mem[heap - 1]);
	return 0;
}
