/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/test/hetero.d/retry.c: a program whose first migration points do
 * not convert and whose next one does, for hetero-test's cases of `hetmig
 * send` trying later points (--max-points). Built with `hetmig-cc
 * --warn-only --no-plugin` (the plugin would give the temporary a home):
 * hetmig check refuses one call site, main's
 * `sum = base(7) + refused_region(REFUSED)`, where base's result is kept
 * across the second call in a temporary no variable describes.
 *
 * Deterministic whatever the timing: the program passes a point only once
 * a request is pending, so every request parks it at a known point.
 *   1. refused_region prints its first line (flushed): the test's cue to
 *      start `hetmig send`. Then REFUSED points, each reached once a
 *      request is there: main is at the refused site below each of them,
 *      so the converter refuses every one and send asks again.
 *   2. main waits for the next request, then calls safe_region as a whole
 *      statement: its entry is the point where the move happens. Then it
 *      works on, with calls, on whichever machine it now runs.
 * `retry WAIT` waits up to WAIT seconds for the first request and 30 s
 * for each later one; without WAIT (an unmoved run) it waits for none.
 * When send gives up (__hetmig_park returns -errno) or no request comes
 * in time, the program stops waiting and runs on: its output is the same
 * either way, as if it had never been asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hetmig.h>

#define REFUSED 3
#define NOINST __attribute__((no_instrument_function))

static int waiting, first_wait;

/* No migration point in here: it only waits for `pending` to be set. */
NOINST static void await_request(int seconds)
{
	struct timespec ms = { 0, 1000000 }, t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (waiting && !__hetmig_rt.pending) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
		    seconds * 1000L) {
			waiting = 0;	/* nobody asked: run on unasked */
			break;
		}
		nanosleep(&ms, NULL);
	}
}

static long base(int x)
{
	return 1000L * x;
}

static long refused_region(int n)
{
	long acc = 1;
	int i, r;

	printf("refused region: %d points\n", n);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		await_request(i ? 30 : first_wait);
		r = hetmig_point();
		if (r < 0)
			waiting = 0;	/* send gave up: no more requests */
		acc = acc * 31 + i;
	}
	return acc;
}

static long step(long v)
{
	return v % 2 ? 3 * v + 1 : v / 2;
}

static int steps_to_one(long v)
{
	int n = 0;
	long next;

	while (v != 1) {
		next = step(v);
		v = next;
		n++;
	}
	return n;
}

static long safe_region(long seed)
{
	long total = 0, v;
	int i, n;

	waiting = 0;
	for (i = 0; i < 12; i++) {
		v = seed + i;
		n = steps_to_one(v);
		printf("%ld takes %d steps\n", v, n);
		total += n;
	}
	return total;
}

int main(int argc, char **argv)
{
	long sum, total;

	first_wait = argc > 1 ? atoi(argv[1]) : 0;
	waiting = first_wait > 0;
	sum = base(7) + refused_region(REFUSED);
	printf("sum %ld\n", sum);
	await_request(30);
	total = safe_region(sum);
	printf("total %ld\n", total);
	return 0;
}
