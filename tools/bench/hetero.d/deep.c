/* SPDX-License-Identifier: GPL-2.0 */
/*
 * deep: the process tools/bench/hetero moves. `deep DEPTH HEAP_KIB`
 * fills HEAP_KIB of heap, recurses DEPTH frames (each frame a migration
 * point holding locals) and then spins at the bottom, calling a function
 * (a migration point) forever. It prints "ready" once at the bottom, so
 * the bench moves it with exactly DEPTH + a few frames on its stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned long sink;

static unsigned long spin(unsigned long x)
{
	return x * 6364136223846793005UL + 1442695040888963407UL;
}

static unsigned long descend(int level, int depth, unsigned long seed)
{
	unsigned long mine = seed * 31 + (unsigned long)level;
	unsigned long x;

	if (level < depth)
		return descend(level + 1, depth, mine) + mine;
	printf("ready\n");
	fflush(stdout);
	for (x = mine;; x = spin(x))
		sink = x;
	return x;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 16;
	size_t heap = (argc > 2 ? (size_t)atol(argv[2]) : 1024) << 10;
	char *mem = malloc(heap);

	if (!mem)
		return 1;
	memset(mem, 0x5a, heap);
	sink = descend(0, depth, (unsigned long)mem[heap - 1]);
	return 0;
}
