/* SPDX-License-Identifier: GPL-2.0 */
/*
 * corpus.h: what every corpus program shares (see README.md).
 *
 * Explicit migration points: hetmig_point() comes from the runtime's
 * hetmig.h, which hetmig-cc puts on the include path. A plain compiler
 * (development, benchmarks without points) has no hetmig.h, and
 * -DCORPUS_NO_POINTS drops the explicit points on purpose, so CORPUS_POINT
 * is then nothing. Use it as a statement of its own, never inside an
 * expression: it is a call of __hetmig_park when a request is pending.
 */
#ifndef CORPUS_H
#define CORPUS_H

#include <stdlib.h>

#if !defined(CORPUS_NO_POINTS) && defined(__has_include)
#if __has_include(<hetmig.h>)
#include <hetmig.h>
#define CORPUS_POINT() hetmig_point()
#endif
#endif
#ifndef CORPUS_POINT
#define CORPUS_POINT() ((void)0)
#endif

/*
 * The size of the run: argv[1] if given, else $HETMIG_CORPUS_SCALE, else 1.
 * Work grows linearly with it, so a test can make a program run long
 * enough to be moved mid-way; the output depends on the scale only, never
 * on time.
 */
__attribute__((unused)) static long corpus_scale(int argc, char **argv)
{
	const char *s;
	long v;

	s = argc > 1 ? argv[1] : getenv("HETMIG_CORPUS_SCALE");
	if (!s || !*s)
		return 1;
	v = strtol(s, NULL, 10);
	return v > 0 ? v : 1;
}

/*
 * A small deterministic generator (64-bit LCG, Knuth's MMIX constants);
 * the high bits are the good ones. Same sequence on every ISA.
 */
static unsigned long corpus_rng_state = 88172645463325252UL;

__attribute__((unused)) static unsigned corpus_rand(void)
{
	corpus_rng_state = corpus_rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(corpus_rng_state >> 33);
}

#endif
