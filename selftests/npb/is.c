// SPDX-License-Identifier: GPL-2.0
/*
 * IS, integer sort: the NPB kernel that ranks a large set of small
 * integer keys, ten times, and finally sorts them.
 *
 * Written from the NPB specification (RNR-91-002, NAS-95-020, and the
 * NPB 2/3 class parameters): N = 2^n keys in [0, B_max) with
 * B_max = 2^b, key_i = floor(B_max/4 * (r_4i + r_4i+1 + r_4i+2 + r_4i+3))
 * from randlc with seed 314159265 and a = 5^13. Iteration i (1..10)
 * first sets key_i = i and key_(i+10) = B_max - i, then ranks every key
 * (the rank of a key is the number of keys smaller than it). Partial
 * verification: the ranks of five keys at published indices against
 * published ranks, shifted by the iteration number as NPB prescribes for
 * each class; full verification: the keys, placed by their ranks, are in
 * order. Class S: n = 16, b = 11; W: n = 20, b = 16.
 */
#include <stdio.h>
#include <stdlib.h>

#include "randlc.h"
#include "results.h"

#define SEED 314159265ULL
#define ITERATIONS 10
#define TESTS 5

struct is_class {
	int keys_log2, max_key_log2;
	long test_index[TESTS];     /* where the tested keys are */
	long test_rank[TESTS];      /* their published ranks */
	int direction[TESTS];       /* +1: the rank grows with the iteration */
	int shift[TESTS];           /* added to the iteration number */
};

static const struct is_class class_s = {
	16, 11,
	{ 48427, 17148, 23627, 62548, 4431 },
	{ 0, 18, 346, 64917, 65463 },
	{ +1, +1, +1, -1, -1 },
	{ 0, 0, 0, 0, 0 },
};

static const struct is_class class_w = {
	20, 16,
	{ 357773, 934767, 875723, 898999, 404505 },
	{ 1249, 11698, 1039987, 1043896, 1048018 },
	{ +1, +1, -1, -1, -1 },
	{ -2, -2, 0, 0, 0 },
};

static void generate_keys(int *keys, long n, int max_key)
{
	uint64_t seed = SEED;
	double scale = max_key / 4;

	for (long i = 0; i < n; i++) {
		double sum = randlc(&seed, NPB_A);
		sum += randlc(&seed, NPB_A);
		sum += randlc(&seed, NPB_A);
		sum += randlc(&seed, NPB_A);
		keys[i] = (int)(scale * sum);
	}
}

/*
 * Count the keys of each value and turn the counts into a running sum:
 * afterwards below[k] is the number of keys smaller than k, so that
 * below[key] is the rank of key.
 */
static void rank_keys(const int *keys, long n, long *below, int max_key)
{
	for (int k = 0; k <= max_key; k++)
		below[k] = 0;
	for (long i = 0; i < n; i++)
		below[keys[i] + 1]++;
	for (int k = 1; k <= max_key; k++)
		below[k] += below[k - 1];
}

static int partial_verify(const struct is_class *c, const int *keys,
			  const long *below, int iteration)
{
	int passed = 0;

	for (int t = 0; t < TESTS; t++) {
		int key = keys[c->test_index[t]];
		long expected = c->test_rank[t] +
				c->direction[t] * iteration + c->shift[t];

		if (below[key] == expected)
			passed++;
		else
			printf(" Failed partial verification: iteration %d, test key %d\n",
			       iteration, t);
	}
	return passed;
}

/* Place every key at its rank and check that the result is in order. */
static int full_verify(const int *keys, long n, long *below, long *checksum)
{
	int *sorted = malloc(n * sizeof(int));
	long out_of_order = 0;

	if (!sorted) {
		perror("malloc");
		exit(2);
	}
	for (long i = 0; i < n; i++)
		sorted[below[keys[i]]++] = keys[i];
	*checksum = 0;
	for (long i = 0; i < n; i++) {
		if (i > 0 && sorted[i - 1] > sorted[i])
			out_of_order++;
		*checksum = (*checksum * 31 + sorted[i]) % 1000000007L;
	}
	free(sorted);
	if (out_of_order)
		printf(" Full verification: %ld keys out of order\n", out_of_order);
	return out_of_order == 0;
}

int main(int argc, char **argv)
{
	char cls = parse_class(argc, argv, "is");
	if (!cls)
		return 2;

	const struct is_class *c = cls == 'S' ? &class_s : &class_w;
	long n = 1L << c->keys_log2;
	int max_key = 1 << c->max_key_log2;
	int *keys = malloc(n * sizeof(int));
	long *below = malloc((max_key + 1) * sizeof(long));

	if (!keys || !below) {
		perror("malloc");
		return 2;
	}
	printf("\n NAS Parallel Benchmarks (hetmig selftests) - IS Benchmark\n\n");
	printf(" Size:  %ld  (class %c)\n", n, cls);
	printf(" Iterations:   %d\n", ITERATIONS);

	generate_keys(keys, n, max_key);

	int passed = 0;
	for (int it = 1; it <= ITERATIONS; it++) {
		printf("        %d\n", it);
		keys[it] = it;
		keys[it + ITERATIONS] = max_key - it;
		rank_keys(keys, n, below, max_key);
		passed += partial_verify(c, keys, below, it);
	}

	long checksum;
	rank_keys(keys, n, below, max_key);
	passed += full_verify(keys, n, below, &checksum);
	printf(" Sorted keys checksum = %ld\n", checksum);

	int verified = passed == TESTS * ITERATIONS + 1;
	struct npb_result r = {
		.name = "IS", .cls = cls, .size = { n, 0, 0 },
		.iterations = ITERATIONS, .operation = "keys ranked",
		.verified = verified,
	};
	print_results(&r);
	printf(verified ? " VERIFICATION SUCCESSFUL\n" : " VERIFICATION FAILED\n");
	free(keys);
	free(below);
	return verified ? 0 : 1;
}
