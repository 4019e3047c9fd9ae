// SPDX-License-Identifier: GPL-2.0
/*
 * Loop points and ivopts (the plugin's part 6), read from gcc's dumps by
 * cc-test: a call-free nest gets its point in the outer loop and ivopts
 * rewrites the inner one; a loop with a call in it is hidden from ivopts.
 * The markers name the lines cc-test looks for.
 */
extern void report(int value);

double row_sums(const double *a, int rows, int cols, double *out)
{
	double total = 0;

	for (int r = 0; r < rows; r++) { /* OUTER */
		double s = 0;

		for (int c = 0; c < cols; c++) /* INNER */
			s += a[r * cols + c];
		out[r] = s;
		total += s;
	}
	return total;
}

void report_all(const int *v, int n)
{
	for (int i = 0; i < n; i++) /* CALLS */
		report(v[i] * 3);
}

__attribute__((noinline)) void fill(double *line, int n);

/* Each iteration of STEPS calls fill(), a function of the program, whose
 * entry is a point: the copy loop in it needs none, and ivopts rewrites it. */
void scale_rows(double *a, const double *line, int rows, int cols)
{
	for (int r = 0; r < rows; r++) { /* STEPS */
		fill((double *)line, cols);
		for (int c = 0; c < cols; c++) /* COPY */
			a[r * cols + c] = line[c] * 2;
	}
}

void fill(double *line, int n)
{
	for (int i = 0; i < n; i++) /* FILL */
		line[i] = i;
}
