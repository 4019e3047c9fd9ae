// SPDX-License-Identifier: GPL-2.0
/*
 * A program that moves itself: hetmig_migrate(DEST) on the same ISA
 * (tools/test/hetero.d/self.sh sends it to a receiver on its own machine).
 * It prints what the call returned and a sum computed before the call, so
 * that the state it carried shows.
 *
 * usage: migrate_self DEST
 */
#include <stdio.h>

#include <hetmig.h>

static unsigned long sum_to(unsigned long n)
{
	unsigned long s = 0, i;

	for (i = 1; i <= n; i++)
		s += i * i;
	return s;
}

int main(int argc, char **argv)
{
	unsigned long sum = sum_to(1000);
	int r;

	if (argc < 2)
		return 64;
	printf("before: sum %lu\n", sum);
	fflush(stdout);
	r = hetmig_migrate(argv[1]);
	printf("hetmig_migrate returned %d: %s; sum %lu\n", r,
	       r == HETMIG_ON_X86_64 ? "on x86_64" : r == HETMIG_ON_AARCH64 ? "on aarch64" :
	       r < 0 ? "not moved" : "?", sum);
	return 0;
}
