// SPDX-License-Identifier: GPL-2.0
/*
 * EP, "embarrassingly parallel": the NPB kernel that turns 2^(M+1)
 * uniform pseudorandom numbers into pairs of Gaussian deviates by the
 * Marsaglia polar method, and tallies them in square annuli.
 *
 * Written from the NPB specification (RNR-91-002, NAS-95-020): with the
 * seed 271828183 and a = 5^13, generate r_1 .. r_2n (n = 2^M), set
 * x_j = 2 r_2j-1 - 1, y_j = 2 r_2j - 1; for every pair with
 * t_j = x_j^2 + y_j^2 <= 1 form X = x_j sqrt(-2 log t_j / t_j) and
 * Y = y_j sqrt(-2 log t_j / t_j), sum X and Y and count the pairs with
 * l <= max(|X|, |Y|) < l + 1 for l = 0..9. Class S is M = 24, W is M = 25.
 * Verified: both sums within a relative 1e-8 of the published values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "randlc.h"
#include "results.h"

#define SEED 271828183ULL
#define ANNULI 10
#define BATCH_PAIRS (1L << 16)  /* pairs generated at a time */

struct tally {
	double sx, sy;          /* sums of the X and of the Y deviates */
	long count[ANNULI];     /* pairs per square annulus */
};

/* Turn npairs uniform pairs into Gaussian pairs and add them to t. */
static void gaussian_pairs(const double *uniform, long npairs, struct tally *t)
{
	for (long j = 0; j < npairs; j++) {
		double x = 2.0 * uniform[2 * j] - 1.0;
		double y = 2.0 * uniform[2 * j + 1] - 1.0;
		double r2 = x * x + y * y;

		if (r2 <= 1.0) {
			double f = sqrt(-2.0 * log(r2) / r2);
			double gx = x * f, gy = y * f;
			int l = (int)fmax(fabs(gx), fabs(gy));

			t->count[l]++;
			t->sx += gx;
			t->sy += gy;
		}
	}
}

static int verify(char cls, const struct tally *t)
{
	double sx_ref, sy_ref;

	if (cls == 'S') {
		sx_ref = -3.247834652034740e+3;
		sy_ref = -6.958407078382297e+3;
	} else {
		sx_ref = -2.863319731645753e+3;
		sy_ref = -6.320053679109499e+3;
	}
	return fabs((t->sx - sx_ref) / sx_ref) <= 1e-8 &&
	       fabs((t->sy - sy_ref) / sy_ref) <= 1e-8;
}

int main(int argc, char **argv)
{
	char cls = parse_class(argc, argv, "ep");
	if (!cls)
		return 2;

	int m = cls == 'S' ? 24 : 25;
	long pairs = 1L << m;
	double *uniform = malloc(2 * BATCH_PAIRS * sizeof(double));
	struct tally t = { 0 };
	uint64_t x = SEED;

	if (!uniform) {
		perror("malloc");
		return 2;
	}
	printf("\n NAS Parallel Benchmarks (hetmig selftests) - EP Benchmark\n\n");
	printf(" Number of random numbers generated: %ld\n", 2 * pairs);

	for (long done = 0; done < pairs; done += BATCH_PAIRS) {
		vranlc(2 * BATCH_PAIRS, &x, NPB_A, uniform);
		gaussian_pairs(uniform, BATCH_PAIRS, &t);
	}
	free(uniform);

	long gaussian = 0;
	for (int l = 0; l < ANNULI; l++)
		gaussian += t.count[l];

	int verified = verify(cls, &t);
	printf(" EP Benchmark Results:\n\n");
	printf(" N = 2^%5d\n", m);
	printf(" No. Gaussian Pairs = %15ld\n", gaussian);
	/* 10 digits: the last ones depend on rounding (fused multiply-add on aarch64) */
	printf(" Sums = %20.9e %20.9e\n", t.sx, t.sy);
	printf(" Counts:\n");
	for (int l = 0; l < ANNULI; l++)
		printf("%3d%15ld\n", l, t.count[l]);

	struct npb_result r = {
		.name = "EP", .cls = cls, .size = { 2 * pairs, 0, 0 },
		.iterations = 0, .operation = "Random numbers generated",
		.verified = verified,
	};
	print_results(&r);
	printf(verified ? " VERIFICATION SUCCESSFUL\n" : " VERIFICATION FAILED\n");
	return verified ? 0 : 1;
}
