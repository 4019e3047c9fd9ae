// SPDX-License-Identifier: GPL-2.0
/*
 * memhog: a process with SIZE MiB of touched anonymous memory, for the
 * migration benchmarks (tools/bench/migrate) and the --live tests
 * (tools/test/migrate-test). Every page holds a counter and pseudo-random
 * words, so neither zero-page tricks nor compression make the figures look
 * better than a real working set. Prints "ready" once all is written.
 *
 * usage: memhog SIZE_MIB [DIRTY_MIB_PER_S [ARRIVED_FILE]]
 *
 * Without DIRTY it then sleeps. With it, it rewrites DIRTY MiB a second,
 * page after page round the whole memory, each page with a new generation
 * (page i, generation g: its words follow from i and g), and counts the
 * rewrites. With ARRIVED_FILE it also checks its whole memory about once a
 * second: every page whole for its generation, and the generations adding
 * up to the count, so a page that a move left stale or a mix of two copies
 * is found. It prints "check N ok, W writes" each time, "memhog: ..." and
 * exits 1 on a bad page, and exits 0 after the first check passed once
 * ARRIVED_FILE exists (the test creates it where the process is meant to
 * arrive, or where it should end).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_WORDS 512		/* words a 4 KiB unit: pages of any size hold whole units */

static uint64_t *mem;
static size_t units;
static uint64_t writes;		/* rewrites so far: the sum of all generations */

static uint64_t word(size_t unit, uint64_t gen, size_t k)
{
	uint64_t x = (unit + 1) * 0x9e3779b97f4a7c15ULL ^ (gen + 1) * 0xbf58476d1ce4e5b9ULL ^ k;

	if (k % 2 == 0)
		return (k ^ gen) & 0xff;	/* half compressible, as the plain mode */
	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	return x ^ x >> 29;
}

static void fill(size_t unit, uint64_t gen)
{
	uint64_t *p = mem + unit * PAGE_WORDS;
	size_t k;

	p[0] = gen;
	p[1] = unit;
	for (k = 2; k < PAGE_WORDS; k++)
		p[k] = word(unit, gen, k);
}

static int check(void)
{
	uint64_t sum = 0;
	size_t u, k;

	for (u = 0; u < units; u++) {
		uint64_t *p = mem + u * PAGE_WORDS;

		if (p[1] != u) {
			printf("memhog: unit %zu says it is unit %llu\n", u, (unsigned long long)p[1]);
			return 1;
		}
		for (k = 2; k < PAGE_WORDS; k++)
			if (p[k] != word(u, p[0], k)) {
				printf("memhog: unit %zu, generation %llu: word %zu differs\n", u,
				       (unsigned long long)p[0], k);
				return 1;
			}
		sum += p[0];
	}
	if (sum != writes) {
		printf("memhog: the generations add up to %llu, %llu writes were made: a "
		       "page is stale\n", (unsigned long long)sum, (unsigned long long)writes);
		return 1;
	}
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int dirty(double mib_per_s, const char *arrived)
{
	double units_per_s = mib_per_s * 256, due = 0, last = now(), since_check = 0;
	size_t cursor = 0;
	unsigned checks = 0;
	struct timespec tick = { 0, 5000000 };

	for (;;) {
		double t = now(), dt = t - last;

		/* a move changes the clock: take a tick's worth, no more */
		if (dt < 0 || dt > 0.1)
			dt = 0.005;
		last = t;
		due += units_per_s * dt;
		since_check += dt;
		while (due >= 1) {
			uint64_t *p = mem + cursor * PAGE_WORDS;

			fill(cursor, p[0] + 1);
			writes++;
			cursor = (cursor + 1) % units;
			due -= 1;
		}
		if (arrived && since_check >= 1) {
			int done = access(arrived, F_OK) == 0;

			since_check = 0;
			if (check())
				return 1;
			printf("check %u ok, %llu writes\n", ++checks, (unsigned long long)writes);
			if (done) {
				printf("checked after the move: ok\n");
				return 0;
			}
			fflush(stdout);
		}
		nanosleep(&tick, NULL);
	}
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
	double rate = argc > 2 ? strtod(argv[2], NULL) : 0;
	size_t len = mib << 20, i;
	uint64_t x = 88172645463325252ULL;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED) {
		perror("memhog: mmap");
		return 2;
	}
	units = len / (PAGE_WORDS * 8);
	if (rate > 0) {
		for (i = 0; i < units; i++)
			fill(i, 0);
	} else {
		for (i = 0; i < len / 8; i++) {
			/* a page number, then xorshift words: half compressible */
			if (i % 512 == 0)
				mem[i] = i / 512;
			else if (i % 2)
				mem[i] = x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			else
				mem[i] = i & 0xff;
		}
	}
	printf("ready\n");
	fflush(stdout);
	if (rate > 0)
		return dirty(rate, argc > 3 ? argv[3] : NULL);
	for (;;)
		pause();
}
