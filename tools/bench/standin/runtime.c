/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stand-in runtime (see hetmig.h here): every function entry is a
 * point through -finstrument-functions, as in the design; the exit hook
 * that -finstrument-functions also calls is empty. Nothing sets `pending`,
 * so __hetmig_park is never reached; it exists so the branch is real.
 */
#include <stdlib.h>

#include "hetmig.h"

struct hetmig_standin_rt __hetmig_rt;

__attribute__((no_instrument_function, noinline))
int __hetmig_park(void)
{
	abort();
}

__attribute__((no_instrument_function))
void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)fn;
	(void)site;
	hetmig_point();
}

__attribute__((no_instrument_function))
void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
}
