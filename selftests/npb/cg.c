// SPDX-License-Identifier: GPL-2.0
/*
 * CG, conjugate gradient: the NPB kernel that estimates the smallest
 * eigenvalue of a large sparse symmetric positive definite matrix by
 * inverse power iteration, each inverse applied by 25 steps of
 * unpreconditioned conjugate gradient.
 *
 * Written from the NPB specification (RNR-91-002, NAS-95-020):
 * A = sum_i omega_i x_i x_i^T + (rcond - shift) I, where x_i is a sparse
 * vector of nonzer random entries at random positions (values and
 * positions from randlc, seed 314159265, a = 5^13, after one discarded
 * draw) with entry i set to 1/2, and omega_i = rcond^((i-1)/n),
 * rcond = 0.1. Starting from x = (1, ..., 1): solve A z = x by CG,
 * zeta = shift + 1 / (x . z), x = z / |z|; niter times. Verified: zeta of
 * the last iteration within a relative 1e-10 of the published value.
 * Class S: n = 1400, nonzer = 7, shift = 10; W: n = 7000, nonzer = 8,
 * shift = 12; 15 iterations each.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "randlc.h"
#include "results.h"

#define SEED 314159265ULL
#define RCOND 0.1
#define CG_STEPS 25

struct cg_class {
	int n, nonzer, niter;
	double shift, zeta_ref;
};

static const struct cg_class class_s = { 1400, 7, 15, 10.0, 8.5971775078648 };
static const struct cg_class class_w = { 7000, 8, 15, 12.0, 10.362595087124 };

/* compressed sparse rows */
struct csr {
	int n;
	int *row_start;         /* n + 1 */
	int *col;
	double *val;
};

/* a sparse vector: count entries at index[], value[] */
struct sparse_vector {
	int count;
	int *index;
	double *value;
};

/*
 * nonzer random entries at distinct random positions in [0, n): each
 * entry draws a value, then a position scaled to the power of two at or
 * above n; positions past n and repeated positions are drawn again.
 */
static void random_sparse_vector(struct sparse_vector *v, int n, int nonzer,
				 uint64_t *seed, char *taken)
{
	int pow2 = 1;

	while (pow2 < n)
		pow2 *= 2;
	v->count = 0;
	while (v->count < nonzer) {
		double value = randlc(seed, NPB_A);
		double where = randlc(seed, NPB_A);
		int i = (int)(pow2 * where);

		if (i >= n || taken[i])
			continue;
		taken[i] = 1;
		v->index[v->count] = i;
		v->value[v->count] = value;
		v->count++;
	}
	for (int k = 0; k < v->count; k++)
		taken[v->index[k]] = 0;
}

/* v[i] = value, appending the entry when v has none at i */
static void set_entry(struct sparse_vector *v, int i, double value)
{
	for (int k = 0; k < v->count; k++) {
		if (v->index[k] == i) {
			v->value[k] = value;
			return;
		}
	}
	v->index[v->count] = i;
	v->value[v->count] = value;
	v->count++;
}

/* sort one row's entries by column, summing the entries of one column */
static int merge_row(int *col, double *val, int count)
{
	for (int k = 1; k < count; k++) {
		int c = col[k];
		double v = val[k];
		int j = k - 1;

		while (j >= 0 && col[j] > c) {
			col[j + 1] = col[j];
			val[j + 1] = val[j];
			j--;
		}
		col[j + 1] = c;
		val[j + 1] = v;
	}
	int out = 0;
	for (int k = 0; k < count; k++) {
		if (out > 0 && col[out - 1] == col[k]) {
			val[out - 1] += val[k];
		} else {
			col[out] = col[k];
			val[out] = val[k];
			out++;
		}
	}
	return out;
}

static void make_matrix(struct csr *a, const struct cg_class *c)
{
	int n = c->n;
	int per_vector = c->nonzer + 1;
	struct sparse_vector *vecs = npb_alloc(n * sizeof(*vecs));
	char *taken = calloc(n, 1);
	uint64_t seed = SEED;

	if (!taken) {
		perror("calloc");
		exit(2);
	}
	randlc(&seed, NPB_A);   /* the specification discards one draw */
	for (int i = 0; i < n; i++) {
		vecs[i].index = npb_alloc(per_vector * sizeof(int));
		vecs[i].value = npb_alloc(per_vector * sizeof(double));
		random_sparse_vector(&vecs[i], n, c->nonzer, &seed, taken);
		set_entry(&vecs[i], i, 0.5);
	}
	free(taken);

	/* every outer product x_i x_i^T puts count_i entries in each of its rows */
	int *row_len = calloc(n, sizeof(int));
	if (!row_len) {
		perror("calloc");
		exit(2);
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < vecs[i].count; k++)
			row_len[vecs[i].index[k]] += vecs[i].count;
	for (int i = 0; i < n; i++)
		row_len[i]++;   /* the diagonal shift */

	a->n = n;
	a->row_start = npb_alloc((n + 1) * sizeof(int));
	a->row_start[0] = 0;
	for (int i = 0; i < n; i++)
		a->row_start[i + 1] = a->row_start[i] + row_len[i];
	a->col = npb_alloc(a->row_start[n] * sizeof(int));
	a->val = npb_alloc(a->row_start[n] * sizeof(double));

	int *fill = row_len;    /* reused: entries placed so far per row */
	for (int i = 0; i < n; i++)
		fill[i] = 0;
	double omega = 1.0;
	double ratio = pow(RCOND, 1.0 / n);
	for (int i = 0; i < n; i++) {
		const struct sparse_vector *v = &vecs[i];

		for (int p = 0; p < v->count; p++) {
			int row = v->index[p];
			double scale = omega * v->value[p];

			for (int q = 0; q < v->count; q++) {
				int at = a->row_start[row] + fill[row]++;

				a->col[at] = v->index[q];
				a->val[at] = scale * v->value[q];
			}
		}
		omega *= ratio;
	}
	for (int i = 0; i < n; i++) {
		int at = a->row_start[i] + fill[i]++;

		a->col[at] = i;
		a->val[at] = RCOND - c->shift;
	}

	/* merge duplicates and compact the rows */
	int out = 0;
	for (int i = 0; i < n; i++) {
		int start = a->row_start[i];
		int count = merge_row(a->col + start, a->val + start,
				      a->row_start[i + 1] - start);

		for (int k = 0; k < count; k++) {
			a->col[out + k] = a->col[start + k];
			a->val[out + k] = a->val[start + k];
		}
		a->row_start[i] = out;
		out += count;
	}
	a->row_start[n] = out;

	for (int i = 0; i < n; i++) {
		free(vecs[i].index);
		free(vecs[i].value);
	}
	free(vecs);
	free(row_len);
}

static void multiply(const struct csr *a, const double *x, double *y)
{
	for (int i = 0; i < a->n; i++) {
		double sum = 0.0;

		for (int k = a->row_start[i]; k < a->row_start[i + 1]; k++)
			sum += a->val[k] * x[a->col[k]];
		y[i] = sum;
	}
}

static double dot(int n, const double *x, const double *y)
{
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += x[i] * y[i];
	return sum;
}

struct cg_work {
	double *p, *q, *r;
};

/*
 * CG_STEPS steps of conjugate gradient on A z = x from z = 0; returns the
 * norm of the residual x - A z.
 */
static double conjugate_gradient(const struct csr *a, const double *x,
				 double *z, struct cg_work *w)
{
	int n = a->n;
	double *p = w->p, *q = w->q, *r = w->r;

	for (int i = 0; i < n; i++) {
		z[i] = 0.0;
		r[i] = x[i];
		p[i] = x[i];
	}
	double rho = dot(n, r, r);

	for (int step = 0; step < CG_STEPS; step++) {
		multiply(a, p, q);
		double alpha = rho / dot(n, p, q);
		for (int i = 0; i < n; i++) {
			z[i] += alpha * p[i];
			r[i] -= alpha * q[i];
		}
		double rho_old = rho;
		rho = dot(n, r, r);
		double beta = rho / rho_old;
		for (int i = 0; i < n; i++)
			p[i] = r[i] + beta * p[i];
	}

	multiply(a, z, r);
	double sum = 0.0;
	for (int i = 0; i < n; i++) {
		double d = x[i] - r[i];
		sum += d * d;
	}
	return sqrt(sum);
}

int main(int argc, char **argv)
{
	char cls = parse_class(argc, argv, "cg");
	if (!cls)
		return 2;

	const struct cg_class *c = cls == 'S' ? &class_s : &class_w;
	int n = c->n;
	struct csr a;
	struct cg_work w;

	printf("\n NAS Parallel Benchmarks (hetmig selftests) - CG Benchmark\n\n");
	printf(" Size: %11d\n", n);
	printf(" Iterations: %5d\n", c->niter);

	make_matrix(&a, c);
	printf(" Nonzeros: %12d\n\n", a.row_start[n]);

	double *x = npb_alloc(n * sizeof(double));
	double *z = npb_alloc(n * sizeof(double));
	w.p = npb_alloc(n * sizeof(double));
	w.q = npb_alloc(n * sizeof(double));
	w.r = npb_alloc(n * sizeof(double));

	for (int i = 0; i < n; i++)
		x[i] = 1.0;
	double zeta = 0.0;
	double worst_rnorm = 0.0;
	printf("   iteration                 zeta\n");
	for (int it = 1; it <= c->niter; it++) {
		double rnorm = conjugate_gradient(&a, x, z, &w);
		double xz = dot(n, x, z);
		double zz = dot(n, z, z);

		zeta = c->shift + 1.0 / xz;
		printf("    %5d     %20.10e\n", it, zeta);
		worst_rnorm = fmax(worst_rnorm, rnorm);
		double scale = 1.0 / sqrt(zz);
		for (int i = 0; i < n; i++)
			x[i] = scale * z[i];
	}

	int verified = fabs((zeta - c->zeta_ref) / c->zeta_ref) <= 1e-10;
	/* ||x - A z|| is near rounding level: its digits differ by ISA */
	printf("\n Residuals %s 1e-10\n", worst_rnorm < 1e-10 ? "below" : "NOT below");
	printf(" Zeta is    %20.10e\n", zeta);
	printf(" Reference  %20.10e\n", c->zeta_ref);

	struct npb_result r = {
		.name = "CG", .cls = cls, .size = { n, 0, 0 },
		.iterations = c->niter, .operation = "floating point",
		.verified = verified,
	};
	print_results(&r);
	printf(verified ? " VERIFICATION SUCCESSFUL\n" : " VERIFICATION FAILED\n");
	free(x);
	free(z);
	free(w.p);
	free(w.q);
	free(w.r);
	free(a.row_start);
	free(a.col);
	free(a.val);
	return verified ? 0 : 1;
}
