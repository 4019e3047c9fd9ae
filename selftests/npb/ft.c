// SPDX-License-Identifier: GPL-2.0
/*
 * FT, 3-D fast Fourier transform: the NPB kernel that solves a diffusion
 * equation u_t = alpha nabla^2 u in spectral space.
 *
 * Written from the NPB specification (RNR-91-002, NAS-95-020): the
 * initial field U0 holds complex random numbers (randlc, seed 314159265,
 * a = 5^13; real then imaginary part of each point, the first index
 * fastest). V = DFT(U0); then for t = 1..6,
 * W_t(k) = exp(-4 alpha pi^2 |k|^2 t) V(k) with alpha = 1e-6 and each
 * index k taken in [-n/2, n/2); X_t = the unnormalised inverse DFT of W_t;
 * checksum_t = (1/N) sum_{j=1}^{1024} X_t(j mod nx, 3j mod ny, 5j mod nz).
 * Verified: every checksum's real and imaginary parts within a relative
 * 1e-12 of the published values. Class S: 64 x 64 x 64; W: 128 x 128 x 32.
 * The transforms are our own radix-2 FFTs along each dimension.
 */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "randlc.h"
#include "results.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define SEED 314159265ULL
#define ALPHA 1.0e-6
#define STEPS 6
#define CHECKSUM_POINTS 1024

struct ft_class {
	int nx, ny, nz;
	double ref_re[STEPS], ref_im[STEPS];
};

static const struct ft_class class_s = {
	64, 64, 64,
	{ 5.546087004964e+02, 5.546385409189e+02, 5.546148406171e+02,
	  5.545423607415e+02, 5.544255039624e+02, 5.542683411902e+02 },
	{ 4.845363331978e+02, 4.865304269511e+02, 4.883910722336e+02,
	  4.901273169046e+02, 4.917475857993e+02, 4.932597244941e+02 },
};

static const struct ft_class class_w = {
	128, 128, 32,
	{ 5.673612178944e+02, 5.631436885271e+02, 5.594024089970e+02,
	  5.560698047020e+02, 5.530898991250e+02, 5.504159734538e+02 },
	{ 5.293246849175e+02, 5.282149986629e+02, 5.270996558037e+02,
	  5.260027904925e+02, 5.249400845633e+02, 5.239212247086e+02 },
};

/* what a 1-D transform of length n needs */
struct fft_plan {
	int n, log2n;
	double complex *roots;  /* exp(-2 pi i k / n), k < n / 2 */
};

static void plan_init(struct fft_plan *p, int n)
{
	p->n = n;
	p->log2n = 0;
	while ((1 << p->log2n) < n)
		p->log2n++;
	p->roots = npb_alloc(n / 2 * sizeof(double complex));
	for (int k = 0; k < n / 2; k++) {
		double angle = -2.0 * M_PI * k / n;

		p->roots[k] = CMPLX(cos(angle), sin(angle));
	}
}

/*
 * In-place radix-2 transform of a[0..n-1]: forward (sign -1) or
 * unnormalised inverse (sign +1).
 */
static void fft_line(double complex *a, const struct fft_plan *p, int sign)
{
	int n = p->n;

	for (int i = 0, j = 0; i < n; i++) {
		if (i < j) {
			double complex t = a[i];
			a[i] = a[j];
			a[j] = t;
		}
		int bit = n >> 1;
		while (j & bit) {
			j ^= bit;
			bit >>= 1;
		}
		j |= bit;
	}
	for (int len = 2; len <= n; len *= 2) {
		int stride = n / len;

		for (int start = 0; start < n; start += len) {
			for (int k = 0; k < len / 2; k++) {
				double complex w = p->roots[k * stride];
				if (sign > 0)
					w = conj(w);
				double complex even = a[start + k];
				double complex odd = w * a[start + k + len / 2];

				a[start + k] = even + odd;
				a[start + k + len / 2] = even - odd;
			}
		}
	}
}

struct field {
	int nx, ny, nz;
	double complex *v;      /* v[(k * ny + j) * nx + i] */
};

/* transform every line of f along one dimension, through a buffer */
static void fft_dimension(struct field *f, int dim, const struct fft_plan *p,
			  int sign, double complex *line)
{
	long stride_of[3] = { 1, f->nx, (long)f->nx * f->ny };
	int size_of[3] = { f->nx, f->ny, f->nz };
	long stride = stride_of[dim];
	int len = size_of[dim];
	/* the other two dimensions, in order */
	int a = dim == 0 ? 1 : 0, b = dim == 2 ? 1 : 2;

	for (int ib = 0; ib < size_of[b]; ib++) {
		for (int ia = 0; ia < size_of[a]; ia++) {
			double complex *base = f->v + ia * stride_of[a] + ib * stride_of[b];

			for (int t = 0; t < len; t++)
				line[t] = base[t * stride];
			fft_line(line, p, sign);
			for (int t = 0; t < len; t++)
				base[t * stride] = line[t];
		}
	}
}

static void fft3d(struct field *f, struct fft_plan plans[3], int sign,
		  double complex *line)
{
	for (int dim = 0; dim < 3; dim++)
		fft_dimension(f, dim, &plans[dim], sign, line);
}

static void initial_conditions(struct field *f)
{
	long plane = (long)f->nx * f->ny;
	double *r = npb_alloc(2 * plane * sizeof(double));
	uint64_t seed = SEED;

	for (int k = 0; k < f->nz; k++) {
		vranlc(2 * plane, &seed, NPB_A, r);
		for (long p = 0; p < plane; p++)
			f->v[k * plane + p] = CMPLX(r[2 * p], r[2 * p + 1]);
	}
	free(r);
}

/* the signed frequency of index i of n: in [-n/2, n/2) */
static int frequency(int i, int n)
{
	return i < n / 2 ? i : i - n;
}

/* decay[p] = exp(-4 alpha pi^2 |k|^2): one time step of the solution */
static void decay_factors(double *decay, int nx, int ny, int nz)
{
	double ap = -4.0 * ALPHA * M_PI * M_PI;

	for (int k = 0; k < nz; k++) {
		int kk = frequency(k, nz);
		for (int j = 0; j < ny; j++) {
			int jj = frequency(j, ny);
			for (int i = 0; i < nx; i++) {
				int ii = frequency(i, nx);

				decay[((long)k * ny + j) * nx + i] =
					exp(ap * (ii * ii + jj * jj + kk * kk));
			}
		}
	}
}

static double complex checksum(const struct field *f)
{
	double complex sum = 0.0;

	for (int j = 1; j <= CHECKSUM_POINTS; j++) {
		int i = j % f->nx, jj = 3 * j % f->ny, k = 5 * j % f->nz;

		sum += f->v[((long)k * f->ny + jj) * f->nx + i];
	}
	return sum / ((double)f->nx * f->ny * f->nz);
}

int main(int argc, char **argv)
{
	char cls = parse_class(argc, argv, "ft");
	if (!cls)
		return 2;

	const struct ft_class *c = cls == 'S' ? &class_s : &class_w;
	long total = (long)c->nx * c->ny * c->nz;
	struct field spectrum = { c->nx, c->ny, c->nz, NULL };
	struct field x = spectrum;
	struct fft_plan plans[3];
	int longest = c->nx > c->ny ? c->nx : c->ny;

	if (c->nz > longest)
		longest = c->nz;
	spectrum.v = npb_alloc(total * sizeof(double complex));
	x.v = npb_alloc(total * sizeof(double complex));
	double *decay = npb_alloc(total * sizeof(double));
	double complex *line = npb_alloc(longest * sizeof(double complex));

	printf("\n NAS Parallel Benchmarks (hetmig selftests) - FT Benchmark\n\n");
	printf(" Size                : %4dx%4dx%4d\n", c->nx, c->ny, c->nz);
	printf(" Iterations          :     %7d\n\n", STEPS);

	plan_init(&plans[0], c->nx);
	plan_init(&plans[1], c->ny);
	plan_init(&plans[2], c->nz);
	decay_factors(decay, c->nx, c->ny, c->nz);
	initial_conditions(&spectrum);
	fft3d(&spectrum, plans, -1, line);

	int verified = 1;
	for (int t = 1; t <= STEPS; t++) {
		for (long p = 0; p < total; p++) {
			spectrum.v[p] *= decay[p];
			x.v[p] = spectrum.v[p];
		}
		fft3d(&x, plans, +1, line);

		double complex sum = checksum(&x);
		double re = c->ref_re[t - 1], im = c->ref_im[t - 1];
		int ok = fabs((creal(sum) - re) / re) <= 1e-12 &&
			 fabs((cimag(sum) - im) / im) <= 1e-12;

		printf(" T = %5d     Checksum = %20.10e %20.10e%s\n", t,
		       creal(sum), cimag(sum), ok ? "" : "  (wrong)");
		verified &= ok;
	}

	struct npb_result r = {
		.name = "FT", .cls = cls, .size = { c->nx, c->ny, c->nz },
		.iterations = STEPS, .operation = "floating point",
		.verified = verified,
	};
	print_results(&r);
	printf(verified ? " VERIFICATION SUCCESSFUL\n" : " VERIFICATION FAILED\n");
	for (int d = 0; d < 3; d++)
		free(plans[d].roots);
	free(spectrum.v);
	free(x.v);
	free(decay);
	free(line);
	return verified ? 0 : 1;
}
