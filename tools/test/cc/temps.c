// SPDX-License-Identifier: GPL-2.0
/* temps: C as anyone writes it, whose temporaries wait across calls.
 * Without hetmig-cc's plugin each of these keeps a call's result (or a value
 * read before a call) in a callee-saved register no variable describes, and
 * x86_64 and aarch64 evaluate a call's arguments in opposite orders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct big { long a, b, c, d; };

static int fib(int n)
{
	if (n < 2)
		return n;
	return fib(n - 1) + fib(n - 2);		/* fib(n - 1) waits for fib(n - 2) */
}

static int f(int x) { return x * 3 + 1; }
static int g(int y) { return y - 7; }
static long h(long a, long b, long c) { return a * 100 + b * 10 + c; }
static struct big mk(long x) { struct big s = { x, x + 1, x + 2, x + 3 }; return s; }
static long sum4(long a, struct big *s) { return a + s->a + s->b + s->c + s->d; }
struct pair { long a, b; };
static struct pair mkpair(long x) { struct pair p = { x, -x }; return p; }
static long first(struct pair p, long t) { return p.a * 1000 + p.b + t; }

static int order;
static int tick(int v) { order = order * 10 + v; return v; }

int main(int argc, char **argv)
{
	int x = argc > 1 ? atoi(argv[1]) : 5, y = 11;

	printf("fib %d\n", fib(12));
	printf("%d %d\n", f(x), g(y));			/* two results for one call */
	printf("%ld\n", h(f(1), g(2), f(3) + g(4)));
	int z = x > 2 ? f(x) * g(y) : 0;
	printf("%d\n", z + f(z));
	/* one order on both ISAs: left to right */
	printf("%d %d %d order %d\n", tick(1), tick(2), tick(3), order);
	/* an aggregate temporary in the frame across a call: mkpair(6) waits
	 * for f(7) */
	struct big t = mk(4);
	printf("%ld %ld\n", sum4(g(5), &t), first(mkpair(6), f(7)));
	errno = 0;
	strtol("99999999999999999999", NULL, 10);
	int saved = errno;
	printf("errno %d %d\n", saved == ERANGE, errno == ERANGE);
	return 0;
}
