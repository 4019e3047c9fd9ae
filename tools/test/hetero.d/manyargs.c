/* SPDX-License-Identifier: GPL-2.0 */
/*
 * manyargs.c: calls that pass arguments on the stack (more than 6 integer
 * arguments on x86_64, 8 on aarch64), like NPB's 18-argument results
 * printer. The callee's stack parameters live in its caller's outgoing
 * argument area; the converter rebuilds that area from the callee's
 * parameters (Documentation/heterogeneous.md, "Stack-passed arguments").
 * Every call site verifies (hetmig check) at -O0, so the process can move
 * at any of its points: many of them are the entry of a function whose
 * stack parameters are still exactly as its caller stored them.
 *
 * - spread(): 10 arguments, recursive; a pointer to one of its own stack
 *   parameters (`*keep`) is passed down, so a pointer into a caller's
 *   outgoing area must follow it.
 * - report(): 18 arguments of mixed kinds (ints, doubles, a string, a
 *   char), NPB's c_print_results shape; calls a function of its own with
 *   a stack parameter read after the call.
 * Output depends only on the arguments: a moved run prints the same.
 */
#include <stdio.h>

static long mix(long a, long b)
{
	return a * 31 + b;
}

static long spread(long a, long b, long c, long d, long e, long f, long g, long h,
		   long *keep, long depth)
{
	long r;

	if (depth == 0)
		return mix(mix(a, b), mix(c, d)) + mix(mix(e, f), mix(g, h)) + *keep;
	/* g, h, keep, depth are on the stack on x86_64; keep, depth on aarch64 */
	r = spread(b, c, d, e, f, g, h, a + depth, &g, depth - 1);
	r = mix(r, g + h);
	*keep += 1;
	return mix(r, depth);
}

static double weigh(double x, int n)
{
	return x * n + 0.5;
}

static long report(const char *name, char klass, int n1, int n2, int n3, int niter,
		   double t, double mops, const char *optype, int verified,
		   const char *npbversion, const char *compiletime, const char *cc,
		   const char *clink, const char *c_lib, const char *c_inc,
		   const char *cflags, int check)
{
	double w;
	long sum = 7;

	w = weigh(mops, n1);
	printf("%s class %c size %d x %d x %d iterations %d\n", name, klass, n1, n2, n3, niter);
	printf("time %.2f mops %.2f (%s) weight %.2f\n", t, mops, optype, w);
	printf("verification %s, version %s, built %s\n", verified ? "SUCCESSFUL" : "FAILED",
	       npbversion, compiletime);
	printf("%s %s %s %s %s check %d\n", cc, clink, c_lib, c_inc, cflags, check);
	sum = spread(n1, n2, n3, niter, check, verified, klass, (long)w, &sum, 3);
	printf("spread %ld\n", sum);
	return sum + check;
}

int main(void)
{
	long total = 0;
	int i;

	for (i = 0; i < 6; i++) {
		long keep = i;

		total = mix(total, spread(1, 2, 3, 4, 5, 6, 7, 8, &keep, 4 + i));
		total = mix(total, keep);
		total = mix(total, report("MANYARGS", 'S', 32 + i, 32, 16, 4 * i, 1.25 * i,
					  100.5 + i, "ops/s", i & 1, "3.4", "2026-12-06",
					  "hetmig-cc", "ld", "musl", "-I.", "-O0", 1000 + i));
	}
	printf("total %ld\n", total);
	return 0;
}
