/* SPDX-License-Identifier: GPL-2.0 */
/*
 * churn: malloc/free/realloc/calloc churn. 512 slots hold blocks of random
 * size (16 B to 48 KiB, so both musl's small-object groups and mmapped
 * large blocks appear), each filled with a pattern derived from its slot
 * and generation and checked before it is freed or grown. The allocator's
 * state (static data plus heap and mmapped metadata) must carry over as it
 * is: after a move the next malloc continues from the same state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#define SLOTS 512

struct block {
	unsigned char *p;
	size_t size;
	unsigned gen;
};

static struct block slots[SLOTS];

static unsigned char pattern(size_t slot, unsigned gen, size_t i)
{
	return (unsigned char)(slot * 131 + gen * 7 + i * 3);
}

static void fill(size_t slot)
{
	struct block *b = &slots[slot];
	size_t i;
	unsigned char v;

	/* `v = pattern(...)` first: a call is a whole statement (README.md). */
	for (i = 0; i < b->size; i += 61) {
		v = pattern(slot, b->gen, i);
		b->p[i] = v;
	}
}

static unsigned long check(size_t slot)
{
	struct block *b = &slots[slot];
	unsigned long sum = 0;
	size_t i;
	unsigned char want;

	for (i = 0; i < b->size; i += 61) {
		want = pattern(slot, b->gen, i);
		if (b->p[i] != want) {
			printf("slot %zu gen %u byte %zu: corrupt\n", slot, b->gen, i);
			exit(1);
		}
		sum += b->p[i];
	}
	return sum;
}

static size_t pick_size(void)
{
	unsigned r;

	r = corpus_rand();
	if (r % 50 == 0)
		return 16384 + r % 32768;
	return 16 + r % 1024;
}

static void step(unsigned long *sum, unsigned long *stats)
{
	size_t slot, size, i, old;
	unsigned r, gen;
	unsigned char *q, want;
	unsigned long c;

	r = corpus_rand();
	slot = r % SLOTS;
	gen = r >> 20;
	if (slots[slot].p) {
		c = check(slot);
		*sum += c;
	}
	switch ((r >> 9) % 4) {
	case 0:
	case 1:
		free(slots[slot].p);
		size = pick_size();
		slots[slot].p = malloc(size);
		slots[slot].size = size;
		stats[0]++;
		break;
	case 2:
		if (!slots[slot].p)
			return;
		size = pick_size();
		old = slots[slot].size;
		q = realloc(slots[slot].p, size);
		if (!q)
			abort();
		/* The kept prefix keeps the old pattern. */
		for (i = 0; i < old && i < size; i += 61) {
			want = pattern(slot, slots[slot].gen, i);
			if (q[i] != want)
				abort();
		}
		slots[slot].p = q;
		slots[slot].size = size;
		stats[1]++;
		break;
	default:
		free(slots[slot].p);
		size = pick_size();
		slots[slot].p = calloc(1, size);
		slots[slot].size = size;
		if (slots[slot].p)
			for (i = 0; i < size; i += 97)
				if (slots[slot].p[i])
					abort();
		stats[2]++;
		break;
	}
	if (!slots[slot].p)
		abort();
	slots[slot].gen = gen;
	fill(slot);
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	unsigned long sum = 0, stats[3] = { 0, 0, 0 }, c;
	long i;
	size_t s, live = 0, bytes = 0;

	for (i = 0; i < 60000 * scale; i++) {
		CORPUS_POINT();
		step(&sum, stats);
		if (i % 20000 == 19999)
			printf("step %ld: checksum %lu malloc %lu realloc %lu calloc %lu\n",
			       i + 1, sum, stats[0], stats[1], stats[2]);
	}
	for (s = 0; s < SLOTS; s++) {
		if (!slots[s].p)
			continue;
		c = check(s);
		sum += c;
		live++;
		bytes += slots[s].size;
		free(slots[s].p);
	}
	printf("final checksum %lu live %zu bytes %zu\n", sum, live, bytes);
	return 0;
}
