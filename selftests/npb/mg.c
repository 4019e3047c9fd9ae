// SPDX-License-Identifier: GPL-2.0
/*
 * MG, multigrid: the NPB kernel that solves a discrete Poisson problem
 * on a periodic n x n x n grid with V-cycles.
 *
 * Written from the NPB specification (RNR-91-002, NAS-95-020): v is 0
 * except +1 at the ten points of largest and -1 at the ten of smallest
 * random value (randlc, seed 314159265, a = 5^13, drawn over the grid
 * with the first index fastest); u = 0; then niter times
 * r = v - A u, u = u + M r, where M is one V-cycle: restrict the residual
 * down to a 2x2x2 grid with P, smooth with S there, then on each finer
 * grid interpolate the correction with Q, form the residual and smooth.
 * A, S and P are 27-point stencils given by four coefficients, for the
 * centre, the 6 faces, the 12 edges and the 8 corners:
 *   A = (-8/3, 0, 1/6, 1/12), S = (-3/8, 1/32, -1/64, 0) (classes S, W),
 *   P = (1/2, 1/4, 1/8, 1/16); Q is trilinear interpolation.
 * A coarse point k lies on fine point 2k+1 (counting interior points from
 * 0). Verified: the L2 norm of the final residual,
 * sqrt(sum r^2 / n^3), within a relative 1e-8 of the published value.
 * Class S: n = 32, 4 iterations; W (NPB 3): n = 128, 4 iterations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "randlc.h"
#include "results.h"

#define SEED 314159265ULL
#define EXTREMES 10

/*
 * A grid of n^3 points with one ghost layer on each side, periodic:
 * (n + 2)^3 values, the first index fastest; interior indices 1..n.
 */
struct grid {
	int n, m;               /* m = n + 2 */
	double *v;
};

#define AT(g, i, j, k) ((g)->v[((long)(k) * (g)->m + (j)) * (g)->m + (i)])

static const double stencil_a[4] = { -8.0 / 3.0, 0.0, 1.0 / 6.0, 1.0 / 12.0 };
static const double stencil_s[4] = { -3.0 / 8.0, 1.0 / 32.0, -1.0 / 64.0, 0.0 };
static const double stencil_p[4] = { 1.0 / 2.0, 1.0 / 4.0, 1.0 / 8.0, 1.0 / 16.0 };

static void grid_init(struct grid *g, int n)
{
	long size = (long)(n + 2) * (n + 2) * (n + 2);

	g->n = n;
	g->m = n + 2;
	g->v = calloc(size, sizeof(double));
	if (!g->v) {
		perror("calloc");
		exit(2);
	}
}

static void grid_zero(struct grid *g)
{
	memset(g->v, 0, (size_t)g->m * g->m * g->m * sizeof(double));
}

/* fill the ghost layer from the opposite faces (periodic boundary) */
static void exchange(struct grid *g)
{
	int n = g->n;

	for (int k = 1; k <= n; k++)
		for (int j = 1; j <= n; j++) {
			AT(g, 0, j, k) = AT(g, n, j, k);
			AT(g, n + 1, j, k) = AT(g, 1, j, k);
		}
	for (int k = 1; k <= n; k++)
		for (int i = 0; i <= n + 1; i++) {
			AT(g, i, 0, k) = AT(g, i, n, k);
			AT(g, i, n + 1, k) = AT(g, i, 1, k);
		}
	for (int j = 0; j <= n + 1; j++)
		for (int i = 0; i <= n + 1; i++) {
			AT(g, i, j, 0) = AT(g, i, j, n);
			AT(g, i, j, n + 1) = AT(g, i, j, 1);
		}
}

/*
 * out = c applied to in, at every interior point of out; the point
 * (i, j, k) of out reads the neighbourhood of (step i, step j, step k)
 * of in: step 1 on one grid, step 2 to restrict to the next coarser grid.
 */
static void apply_stencil(const struct grid *in, struct grid *out,
			  const double c[4], int step)
{
	int n = out->n;

	for (int k = 1; k <= n; k++) {
		for (int j = 1; j <= n; j++) {
			for (int i = 1; i <= n; i++) {
				int x = step * i, y = step * j, z = step * k;
				double centre = AT(in, x, y, z);
				double faces =
					AT(in, x - 1, y, z) + AT(in, x + 1, y, z) +
					AT(in, x, y - 1, z) + AT(in, x, y + 1, z) +
					AT(in, x, y, z - 1) + AT(in, x, y, z + 1);
				double edges =
					AT(in, x - 1, y - 1, z) + AT(in, x + 1, y - 1, z) +
					AT(in, x - 1, y + 1, z) + AT(in, x + 1, y + 1, z) +
					AT(in, x - 1, y, z - 1) + AT(in, x + 1, y, z - 1) +
					AT(in, x - 1, y, z + 1) + AT(in, x + 1, y, z + 1) +
					AT(in, x, y - 1, z - 1) + AT(in, x, y + 1, z - 1) +
					AT(in, x, y - 1, z + 1) + AT(in, x, y + 1, z + 1);
				double corners =
					AT(in, x - 1, y - 1, z - 1) + AT(in, x + 1, y - 1, z - 1) +
					AT(in, x - 1, y + 1, z - 1) + AT(in, x + 1, y + 1, z - 1) +
					AT(in, x - 1, y - 1, z + 1) + AT(in, x + 1, y - 1, z + 1) +
					AT(in, x - 1, y + 1, z + 1) + AT(in, x + 1, y + 1, z + 1);

				AT(out, i, j, k) = c[0] * centre + c[1] * faces +
						   c[2] * edges + c[3] * corners;
			}
		}
	}
	exchange(out);
}

/* r = v - A u (r may be v); work is a grid of u's size */
static void residual(const struct grid *u, const struct grid *v,
		     struct grid *r, struct grid *work)
{
	long size = (long)u->m * u->m * u->m;

	apply_stencil(u, work, stencil_a, 1);
	for (long p = 0; p < size; p++)
		r->v[p] = v->v[p] - work->v[p];
}

/* u = u + S r */
static void smooth(const struct grid *r, struct grid *u, struct grid *work)
{
	long size = (long)u->m * u->m * u->m;

	apply_stencil(r, work, stencil_s, 1);
	for (long p = 0; p < size; p++)
		u->v[p] += work->v[p];
}

/*
 * fine = fine + Q coarse: trilinear interpolation. Fine index f lies on
 * coarse index f / 2 when f is even and halfway between (f - 1) / 2 and
 * (f + 1) / 2 when it is odd (ghost layers included), so the value there
 * is the mean of the eight corners (i0|i1, j0|j1, k0|k1), with repeats.
 */
static void interpolate(const struct grid *coarse, struct grid *fine)
{
	int n = fine->n;

	for (int k = 1; k <= n; k++) {
		int k0 = k / 2, k1 = (k + 1) / 2;

		for (int j = 1; j <= n; j++) {
			int j0 = j / 2, j1 = (j + 1) / 2;

			for (int i = 1; i <= n; i++) {
				int i0 = i / 2, i1 = (i + 1) / 2;
				double sum =
					AT(coarse, i0, j0, k0) + AT(coarse, i1, j0, k0) +
					AT(coarse, i0, j1, k0) + AT(coarse, i1, j1, k0) +
					AT(coarse, i0, j0, k1) + AT(coarse, i1, j0, k1) +
					AT(coarse, i0, j1, k1) + AT(coarse, i1, j1, k1);

				AT(fine, i, j, k) += 0.125 * sum;
			}
		}
	}
	exchange(fine);
}

struct hierarchy {
	int levels;             /* level l has 2^(l+1) points a side */
	struct grid *u, *r, *work;
};

/*
 * One V-cycle, u = u + M r, on the finest level (u[top], r[top]); the
 * coarser levels hold the restricted residuals and their corrections.
 */
static void v_cycle(struct hierarchy *h, const struct grid *v)
{
	int top = h->levels - 1;

	for (int l = top; l > 0; l--)
		apply_stencil(&h->r[l], &h->r[l - 1], stencil_p, 2);

	grid_zero(&h->u[0]);
	smooth(&h->r[0], &h->u[0], &h->work[0]);
	for (int l = 1; l < top; l++) {
		grid_zero(&h->u[l]);
		interpolate(&h->u[l - 1], &h->u[l]);
		residual(&h->u[l], &h->r[l], &h->r[l], &h->work[l]);
		smooth(&h->r[l], &h->u[l], &h->work[l]);
	}
	interpolate(&h->u[top - 1], &h->u[top]);
	residual(&h->u[top], v, &h->r[top], &h->work[top]);
	smooth(&h->r[top], &h->u[top], &h->work[top]);
}

struct extreme {
	double value;
	int i, j, k;
};

/* keep the EXTREMES largest (sign 1) or smallest (sign -1) values seen */
static void consider(struct extreme *best, int sign, double value,
		     int i, int j, int k)
{
	if (sign * value <= sign * best[EXTREMES - 1].value)
		return;
	int at = EXTREMES - 1;
	while (at > 0 && sign * value > sign * best[at - 1].value) {
		best[at] = best[at - 1];
		at--;
	}
	best[at] = (struct extreme){ value, i, j, k };
}

/* v: +1 at the ten largest random values, -1 at the ten smallest */
static void make_source(struct grid *v)
{
	int n = v->n;
	double *line = malloc(n * sizeof(double));
	struct extreme high[EXTREMES], low[EXTREMES];
	uint64_t seed = SEED;

	if (!line) {
		perror("malloc");
		exit(2);
	}
	for (int e = 0; e < EXTREMES; e++) {
		high[e] = (struct extreme){ -1.0, 0, 0, 0 };
		low[e] = (struct extreme){ 2.0, 0, 0, 0 };
	}
	for (int k = 1; k <= n; k++) {
		for (int j = 1; j <= n; j++) {
			vranlc(n, &seed, NPB_A, line);
			for (int i = 1; i <= n; i++) {
				consider(high, 1, line[i - 1], i, j, k);
				consider(low, -1, line[i - 1], i, j, k);
			}
		}
	}
	free(line);
	grid_zero(v);
	for (int e = 0; e < EXTREMES; e++) {
		AT(v, high[e].i, high[e].j, high[e].k) = 1.0;
		AT(v, low[e].i, low[e].j, low[e].k) = -1.0;
	}
	exchange(v);
}

static double norm2(const struct grid *r)
{
	int n = r->n;
	double sum = 0.0;

	for (int k = 1; k <= n; k++)
		for (int j = 1; j <= n; j++)
			for (int i = 1; i <= n; i++)
				sum += AT(r, i, j, k) * AT(r, i, j, k);
	return sqrt(sum / ((double)n * n * n));
}

int main(int argc, char **argv)
{
	char cls = parse_class(argc, argv, "mg");
	if (!cls)
		return 2;

	int n = cls == 'S' ? 32 : 128;
	int niter = 4;
	double reference = cls == 'S' ? 0.5307707005734e-04 : 0.6467329375339e-05;
	struct hierarchy h;
	struct grid v;

	printf("\n NAS Parallel Benchmarks (hetmig selftests) - MG Benchmark\n\n");
	printf(" Size: %4dx%4dx%4d  (class %c)\n", n, n, n, cls);
	printf(" Iterations: %5d\n\n", niter);

	h.levels = 0;
	for (int side = n; side >= 2; side /= 2)
		h.levels++;
	h.u = malloc(h.levels * sizeof(struct grid));
	h.r = malloc(h.levels * sizeof(struct grid));
	h.work = malloc(h.levels * sizeof(struct grid));
	if (!h.u || !h.r || !h.work) {
		perror("malloc");
		return 2;
	}
	for (int l = 0; l < h.levels; l++) {
		grid_init(&h.u[l], 2 << l);
		grid_init(&h.r[l], 2 << l);
		grid_init(&h.work[l], 2 << l);
	}
	grid_init(&v, n);

	int top = h.levels - 1;
	struct grid *u = &h.u[top], *r = &h.r[top];

	make_source(&v);
	residual(u, &v, r, &h.work[top]);
	printf(" Initial residual norm = %14.8e\n", norm2(r));
	for (int it = 1; it <= niter; it++) {
		v_cycle(&h, &v);
		residual(u, &v, r, &h.work[top]);
		printf("  iter %3d\n", it);
	}

	double rnm2 = norm2(r);
	int verified = fabs(rnm2 - reference) / reference <= 1e-8;
	printf("\n L2 Norm is  %20.10e\n", rnm2);
	printf(" Reference   %20.10e\n", reference);

	struct npb_result res = {
		.name = "MG", .cls = cls, .size = { n, n, n },
		.iterations = niter, .operation = "floating point",
		.verified = verified,
	};
	print_results(&res);
	printf(verified ? " VERIFICATION SUCCESSFUL\n" : " VERIFICATION FAILED\n");
	for (int l = 0; l < h.levels; l++) {
		free(h.u[l].v);
		free(h.r[l].v);
		free(h.work[l].v);
	}
	free(h.u);
	free(h.r);
	free(h.work);
	free(v.v);
	return verified ? 0 : 1;
}
