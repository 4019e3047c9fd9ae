/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stand-in for user/runtime's hetmig.h, for tools/bench/points and the
 * plain-compiler mode of tools/test/corpus-test only. It has the cost the
 * design gives a migration point (Documentation/heterogeneous.md: one load
 * of __hetmig_rt.pending and a branch; the park call only when a request
 * is pending) but can never park: nothing sets `pending`. Measurements
 * with the real runtime replace it once hetmig-cc links user/runtime.
 */
#ifndef HETMIG_H
#define HETMIG_H

struct hetmig_standin_rt {
	volatile int pending;
};
extern struct hetmig_standin_rt __hetmig_rt;
int __hetmig_park(void);

#define hetmig_point()                              \
	do {                                        \
		if (__builtin_expect(__hetmig_rt.pending, 0)) \
			__hetmig_park();            \
	} while (0)

#endif
