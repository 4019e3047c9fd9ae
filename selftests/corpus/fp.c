/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fp: double-precision arithmetic and libm. Simpson integration of libm
 * functions through a function pointer, Newton's method against sqrt(),
 * a Leibniz series for pi, a Mandelbrot escape count and a small matrix
 * power, with doubles and floats live in frames across migration points.
 * No long double (README.md): it is 80-bit x87 on x86_64 and binary128 on
 * aarch64 and cannot be carried.
 *
 * Results are printed with %.9g: the two ISAs' musl libm may differ in the
 * last bit for some inputs (aarch64 libm is built with fused multiply-add)
 * and the test compares the outputs as text.
 */
#include <math.h>
#include <stdio.h>

#include "corpus.h"

typedef double (*real_fn)(double);

static double bump(double x)
{
	double e;

	e = exp(-x * x);
	return e * cos(3.0 * x);
}

static double logistic(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

static double simpson(real_fn f, double a, double b, int n)
{
	double h = (b - a) / n, sum, y;
	int i;

	y = f(a);
	sum = y;
	y = f(b);
	sum += y;
	for (i = 1; i < n; i++) {
		y = f(a + i * h);
		sum += (i % 2 ? 4.0 : 2.0) * y;
	}
	return sum * h / 3.0;
}

static double newton_sqrt(double v, int steps)
{
	double x = v > 1.0 ? v / 2.0 : 1.0;
	int i;

	for (i = 0; i < steps; i++)
		x = 0.5 * (x + v / x);
	return x;
}

static int escape(double cr, double ci, int limit)
{
	double zr = 0.0, zi = 0.0, t;
	int n;

	for (n = 0; n < limit && zr * zr + zi * zi <= 4.0; n++) {
		t = zr * zr - zi * zi + cr;
		zi = 2.0 * zr * zi + ci;
		zr = t;
	}
	return n;
}

static void matmul(const double *a, const double *b, double *out, int n)
{
	int i, j, k;
	double s;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			s = 0.0;
			for (k = 0; k < n; k++)
				s += a[i * n + k] * b[k * n + j];
			out[i * n + j] = s;
		}
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	static const real_fn fns[] = { sin, bump, logistic, sqrt };
	static const char *const names[] = { "sin", "bump", "logistic", "sqrt" };
	double m[16], p[16], t[16], area, root, pi = 0.0, err = 0.0;
	float fsum = 0.0f;
	long i, k, points = 0;
	int x, y, e, f;

	for (f = 0; f < 4; f++) {
		area = simpson(fns[f], 0.0, 2.0, 20000 * (int)scale);
		printf("integral of %s over [0,2] = %.9g\n", names[f], area);
	}
	for (i = 1; i <= 20000 * scale; i++) {
		CORPUS_POINT();
		root = newton_sqrt((double)i, 30);
		err += fabs(root - sqrt((double)i));
		fsum += (float)(root / (i + 1.0));
	}
	printf("newton vs sqrt total error %.3g float sum %.6g\n", err, (double)fsum);
	for (k = 0; k < 6000000 * scale; k++)
		pi += (k % 2 ? -4.0 : 4.0) / (2.0 * k + 1.0);
	printf("leibniz pi %.9f\n", pi);
	for (y = 0; y < 120; y++)
		for (x = 0; x < 160 * scale; x++) {
			e = escape(-2.0 + 2.6 * x / (160.0 * scale), -1.2 + 2.4 * y / 120.0, 300);
			points += e;
		}
	printf("mandelbrot iterations %ld\n", points);
	for (i = 0; i < 16; i++)
		m[i] = p[i] = (i % 5 == 0) ? 1.0 : 0.01 * (double)(i + 1);
	for (i = 0; i < 30; i++) {
		matmul(p, m, t, 4);
		for (k = 0; k < 16; k++)
			p[k] = t[k] / (1.0 + t[0]);
	}
	printf("matrix p[0] %.9g p[5] %.9g p[15] %.9g pow %.9g\n",
	       p[0], p[5], p[15], pow(p[3], 0.25));
	return 0;
}
