// SPDX-License-Identifier: GPL-2.0
/*
 * memhog: a process with SIZE MiB of touched anonymous memory, for the
 * migration benchmarks (tools/bench/migrate). Every page holds a counter
 * and pseudo-random words, so neither zero-page tricks nor compression
 * make the figures look better than a real working set. Prints "ready"
 * once all is written, then sleeps.
 *
 * usage: memhog SIZE_MIB
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
	size_t len = mib << 20, i;
	uint64_t *p, x = 88172645463325252ULL;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		perror("memhog: mmap");
		return 2;
	}
	for (i = 0; i < len / 8; i++) {
		/* a page number, then xorshift words: half compressible */
		if (i % 512 == 0)
			p[i] = i / 512;
		else if (i % 2)
			p[i] = x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		else
			p[i] = i & 0xff;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
