/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For tools/bench/points: a runtime stand-in that counts function entries
 * (the automatic migration points) and prints the count to stderr at exit,
 * so the benchmark can give the overhead per point.
 */
#include <stdio.h>

#include "hetmig.h"

struct hetmig_standin_rt __hetmig_rt;
static unsigned long entries;

__attribute__((no_instrument_function))
int __hetmig_park(void)
{
	return 0;
}

__attribute__((no_instrument_function))
void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)fn;
	(void)site;
	entries++;
}

__attribute__((no_instrument_function))
void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
}

__attribute__((no_instrument_function, destructor))
static void report(void)
{
	fprintf(stderr, "hetmig-points: %lu function entries\n", entries);
}
