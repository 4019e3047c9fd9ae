// SPDX-License-Identifier: GPL-2.0
/*
 * Where the kernel put this process's mappings. On aarch64 the runtime
 * re-executes the program once with the legacy layout, so every mapping
 * but the stack (and the kernel's vectors page) must be below 2^47, where
 * x86_64 can map it too. Prints one verdict line and the offenders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>

int main(void)
{
	char line[512];
	FILE *maps;
	int bad = 0;
	void *anon = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *big = malloc(4 << 20);	/* musl: an mmap of its own */

	printf("personality ADDR_COMPAT_LAYOUT: %s\n",
	       personality(0xffffffff) & ADDR_COMPAT_LAYOUT ? "set" : "clear");
	maps = fopen("/proc/self/maps", "r");
	if (!maps || anon == MAP_FAILED || !big)
		return 1;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || strstr(line, "[stack]") ||
		    strstr(line, "[vsyscall]"))
			continue;
		if (hi > 1ul << 47) {
			printf("above 2^47: %s", line);
			bad++;
		}
	}
	fclose(maps);
	printf("mappings but the stack below 2^47: %s\n", bad ? "no" : "yes");
	return 0;
}
