/* SPDX-License-Identifier: GPL-2.0 */
/*
 * callbacks: function pointers held in globals, on the heap, in locals and
 * in a struct of operations; callbacks with a context pointer; our own
 * merge sort with comparators (its frames and the comparator's are ours,
 * so migration may happen inside them); an event queue whose handlers
 * queue further events. Code pointers mean the same on both builds, so
 * they carry over unchanged.
 *
 * No qsort() here: its comparator runs under qsort's frame, which is libc's
 * and which the converter cannot rebuild, and `hetmig check` refuses every
 * call of qsort (it does not look at which comparator is passed, so even a
 * no_instrument_function comparator that calls nothing is refused). Our
 * own msort() does the sorting; refused/qsort.c is the qsort program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

typedef long (*binop)(long, long);
typedef void (*visit_fn)(long value, void *ctx);
typedef int (*cmp_fn)(const void *, const void *, void *ctx);

struct shape_ops {
	const char *name;
	long (*area)(long a, long b);
	long (*perimeter)(long a, long b);
};

static long rect_area(long a, long b) { return a * b; }
static long rect_perimeter(long a, long b) { return 2 * (a + b); }
static long tri_area(long a, long b) { return a * b / 2; }
static long tri_perimeter(long a, long b) { return a + b + (a > b ? a : b); }

static const struct shape_ops shapes[] = {
	{ "rect", rect_area, rect_perimeter },
	{ "tri", tri_area, tri_perimeter },
};

static long op_add(long a, long b) { return a + b; }
static long op_xor(long a, long b) { return a ^ b; }
static long op_mix(long a, long b) { return a * 31 + b; }

/* A global table of code pointers. */
static binop ops[] = { op_add, op_xor, op_mix };

static long reduce(const long *v, int n, binop f, long init)
{
	long acc = init, next;
	int i;

	for (i = 0; i < n; i++) {
		next = f(acc, v[i]);
		acc = next;
	}
	return acc;
}

static void each(const long *v, int n, visit_fn fn, void *ctx)
{
	int i;

	for (i = 0; i < n; i++)
		fn(v[i], ctx);
}

struct stats {
	long count, sum, max;
};

static void collect(long value, void *ctx)
{
	struct stats *s = ctx;

	s->count++;
	s->sum += value;
	if (value > s->max)
		s->max = value;
}

static int by_value(const void *a, const void *b, void *ctx)
{
	long x = *(const long *)a, y = *(const long *)b;

	(void)ctx;
	return (x > y) - (x < y);
}

static int by_low_digits(const void *a, const void *b, void *ctx)
{
	long m = *(const long *)ctx;
	long x = *(const long *)a % m, y = *(const long *)b % m;

	return (x > y) - (x < y);
}

/* Our own stable merge sort: recursion with a callback at the leaves. */
static void msort(long *v, long *tmp, int n, cmp_fn cmp, void *ctx)
{
	int half = n / 2, i = 0, j, k = 0, c;

	if (n < 2)
		return;
	msort(v, tmp, half, cmp, ctx);
	msort(v + half, tmp, n - half, cmp, ctx);
	j = half;
	while (i < half && j < n) {
		c = cmp(&v[i], &v[j], ctx);
		if (c <= 0)
			tmp[k++] = v[i++];
		else
			tmp[k++] = v[j++];
	}
	while (i < half)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, (size_t)n * sizeof(*v));
}

static int descending(const void *a, const void *b, void *ctx)
{
	long x = *(const long *)a, y = *(const long *)b;

	(void)ctx;
	return (y > x) - (y < x);
}

/* An event queue on the heap; handlers are stored in the events. */
struct event;
typedef void (*handler)(struct event *ev, long *total);
struct event {
	handler fn;
	long arg;
	struct event *next;
};
static struct event *queue_head, **queue_tail = &queue_head;

static void post(handler fn, long arg)
{
	struct event *ev = malloc(sizeof(*ev));

	if (!ev)
		abort();
	ev->fn = fn;
	ev->arg = arg;
	ev->next = NULL;
	*queue_tail = ev;
	queue_tail = &ev->next;
}

static void on_leaf(struct event *ev, long *total)
{
	*total += ev->arg;
}

static void on_split(struct event *ev, long *total)
{
	*total += 1;
	if (ev->arg > 1) {
		post(on_split, ev->arg / 2);
		post(on_split, ev->arg - ev->arg / 2);
	} else {
		post(on_leaf, ev->arg * 7);
	}
}

static long run_queue(void)
{
	long total = 0;
	struct event *ev;

	while (queue_head) {
		CORPUS_POINT();
		ev = queue_head;
		queue_head = ev->next;
		if (!queue_head)
			queue_tail = &queue_head;
		ev->fn(ev, &total);
		free(ev);
	}
	return total;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	int n = 4000, i, r;
	long *v = malloc(n * sizeof(*v)), *tmp = malloc(n * sizeof(*v));
	long modulus = 100, acc, area, per, total;
	struct stats st;
	binop chosen;
	unsigned x;

	if (!v || !tmp)
		return 1;
	for (r = 0; r < 24 * scale; r++) {
		for (i = 0; i < n; i++) {
			x = corpus_rand();
			v[i] = x % 100000;
		}
		chosen = ops[r % 3];
		acc = reduce(v, n, chosen, r);
		memset(&st, 0, sizeof(st));
		each(v, n, collect, &st);
		msort(v, tmp, n, by_low_digits, &modulus);
		msort(v, tmp, n, by_value, NULL);
		printf("round %d: reduce %ld count %ld sum %ld max %ld min %ld median %ld\n",
		       r, acc, st.count, st.sum, st.max, v[0], v[n / 2]);
		msort(v, tmp, n, descending, NULL);
		printf("round %d: descending first %ld last %ld\n", r, v[0], v[n - 1]);
		area = shapes[r % 2].area(v[1] % 100, v[2] % 100);
		per = shapes[r % 2].perimeter(v[1] % 100, v[2] % 100);
		printf("round %d: %s area %ld perimeter %ld\n", r, shapes[r % 2].name, area, per);
		post(on_split, 500 + r);
		total = run_queue();
		printf("round %d: events total %ld\n", r, total);
	}
	free(v);
	free(tmp);
	return 0;
}
