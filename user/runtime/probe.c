// SPDX-License-Identifier: GPL-2.0
/*
 * Linked by `hetmig-cc --latency-probe` only. HETMIG_LATENCY_PROBE=MS in the
 * environment then measures how long a request to move takes to reach a
 * migration point. A thread of the runtime's asks every MS milliseconds
 * (pending 1, as `hetmig send` does), waits until the program parks, notes
 * the time in between and lets it go on at once (the point returns 0). At
 * exit it prints the count, median and maximum to stderr. For measurement
 * only (selftests/npb/latency-suite): the program is then multi-threaded,
 * which `hetmig send` refuses. The sites hetmig check refuses are points
 * here too (no one writes __hetmig_unproven).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hetmig.h"

#define NOINST __attribute__((no_instrument_function))
#define PROBE_MAX 100000

static uint64_t probe_ns[PROBE_MAX];
static volatile unsigned probe_count;
static int probe_running;

NOINST static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

NOINST static void *probe(void *arg)
{
	long ms = (long)(intptr_t)arg;
	struct timespec period = { ms / 1000, (ms % 1000) * 1000000 };
	/* Poll, not spin: on a machine with fewer cores than runnable threads
	 * a spinning probe takes the program's core (measured: a constant
	 * 5.9 ms, the scheduler's slice, on 2 cores). */
	struct timespec poll = { 0, 10000 };

	for (;;) {
		nanosleep(&period, NULL);
		uint64_t t0 = now_ns();

		__atomic_store_n(&__hetmig_rt.pending, 1, __ATOMIC_SEQ_CST);
		while (!__atomic_load_n(&__hetmig_rt.parked, __ATOMIC_SEQ_CST))
			nanosleep(&poll, NULL);
		uint64_t t1 = now_ns();

		__hetmig_rt.result = 0;
		__atomic_store_n(&__hetmig_rt.pending, 0, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&__hetmig_rt.parked, __ATOMIC_SEQ_CST))
			nanosleep(&poll, NULL);
		if (probe_count < PROBE_MAX)
			probe_ns[probe_count++] = t1 - t0;
	}
	return NULL;
}

/* Shell sort: no qsort, whose comparator the verifier would count as a
 * program function libc calls back. */
NOINST static void sort_ns(uint64_t *v, unsigned n)
{
	for (unsigned gap = n / 2; gap; gap /= 2)
		for (unsigned i = gap; i < n; i++)
			for (unsigned j = i; j >= gap && v[j - gap] > v[j]; j -= gap) {
				uint64_t t = v[j];

				v[j] = v[j - gap];
				v[j - gap] = t;
			}
}

/* A destructor, not atexit(): the same at exit, without a handler
 * registered through libc. */
NOINST __attribute__((destructor)) static void report(void)
{
	unsigned n = probe_count;

	if (!probe_running)
		return;
	if (!n) {
		fprintf(stderr, "hetmig latency probe: no request reached a point\n");
		return;
	}
	sort_ns(probe_ns, n);
	fprintf(stderr, "hetmig latency probe: %u requests, median %.1f us, max %.1f us\n", n,
		probe_ns[n / 2] / 1e3, probe_ns[n - 1] / 1e3);
}

NOINST __attribute__((constructor)) static void probe_start(void)
{
	const char *s = getenv("HETMIG_LATENCY_PROBE");
	long ms = s ? atol(s) : 0;
	pthread_t t;

	if (ms <= 0)
		return;
	if (pthread_create(&t, NULL, probe, (void *)(intptr_t)ms) == 0)
		probe_running = 1;
}
