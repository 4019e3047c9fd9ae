/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Breaks: "no libc frame under a migration point". qsort() calls the
 * program's comparator, whose entry is a migration point
 * (-finstrument-functions): a process parked there has qsort's frame
 * between two of its own, and libc frames are not converted (their layout
 * is the ISA's own and no DWARF describes them). hetmig check refuses every
 * call of a libc function that calls back (qsort, bsearch, atexit...),
 * whatever callback is passed; sort with a function of the program instead
 * (callbacks.c's msort).
 *
 * expect-refusal: libc frame qsort cannot be rebuilt
 */
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	int v[] = { 5, 3, 9, 1, 7, 2, 8 };
	size_t i;

	qsort(v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), by_value);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		printf("%d ", v[i]);
	printf("\n");
	return 0;
}
