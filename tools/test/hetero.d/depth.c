/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For tools/test/hetero-test: a runtime stand-in (with
 * tools/bench/standin/hetmig.h) that numbers every migration point a run
 * passes, function entries and explicit hetmig_point()s alike, in the order
 * the real runtime counts them down (`pending` = N parks at the N-th), and
 * follows how many of the program's frames are on the stack. At exit it
 * prints to stderr
 *	hetmig-depth: POINTS MAX_DEPTH FIRST_POINT_AT_MAX_DEPTH LAST_POINT_AT_IT
 * so the test can ask for a move where the stack is deepest. With
 * HETMIG_DEPTH_UNTIL=N only the first N points count for the depth (a
 * move that must leave room for another one after it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "hetmig.h"

/* pending stays set: every explicit point calls __hetmig_park, which counts. */
struct hetmig_standin_rt __hetmig_rt = { .pending = 1 };
static unsigned long points, depth, max_depth, deepest_at, last_deepest_at;
static unsigned long until = ~0UL;

__attribute__((no_instrument_function, constructor))
static void read_until(void)
{
	const char *s = getenv("HETMIG_DEPTH_UNTIL");

	if (s && *s)
		until = strtoul(s, NULL, 10);
}

__attribute__((no_instrument_function))
int __hetmig_park(void)
{
	points++;
	return 0;
}

__attribute__((no_instrument_function))
void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)fn;
	(void)site;
	points++;
	if (++depth > max_depth && points <= until) {
		max_depth = depth;
		deepest_at = points;
	}
	if (depth == max_depth && points <= until)
		last_deepest_at = points;
}

__attribute__((no_instrument_function))
void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
	depth--;
}

__attribute__((no_instrument_function, destructor))
static void report(void)
{
	fprintf(stderr, "hetmig-depth: %lu %lu %lu %lu\n", points, max_depth, deepest_at,
		last_deepest_at);
}
