// SPDX-License-Identifier: GPL-2.0
/*
 * Points at -O2 (the plugin's "Points"): a loop without calls is a
 * migration point. A second thread plays the companion: once the loop
 * runs, it asks for a move (pending 1) and waits for the process to park;
 * the park's return address must be in spin(), the loop's function, and
 * the result it writes comes back through the point. Then a countdown
 * (pending 3, what HETMIG_PARK_AT sets) must count function entries only:
 * spin()'s loop goes by, the third entry parks.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "hetmig.h"

static volatile int running, done;

/* A call-free loop: its only point is the one the plugin adds. */
__attribute__((noinline)) long spin(long n)
{
	long acc = 0;

	for (long i = 0; i < n; i++) {
		acc = acc * 6364136223846793005L + i;
		if (i == 1000)
			running = 1;
	}
	return acc;
}

__attribute__((noinline)) long entry(long x)
{
	return x + 1;
}

/* -O0: its own waiting loops must not be points (it would park itself). */
__attribute__((optimize("O0"))) static void *companion(void *arg)
{
	(void)arg;
	while (!running)
		;
	__atomic_store_n(&__hetmig_rt.pending, 1, __ATOMIC_SEQ_CST);
	while (!__hetmig_rt.parked)
		;
	uint64_t ra = __hetmig_rt.park_ra;
	uint64_t low = (uint64_t)(uintptr_t)&spin;
	printf("companion: parked %s\n", ra > low && ra < low + 4096 ? "in spin" : "elsewhere");
	__hetmig_rt.result = -7;
	__atomic_store_n(&__hetmig_rt.pending, 0, __ATOMIC_SEQ_CST);
	done = 1;
	return NULL;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, companion, NULL);
	long r = spin(300000000L);
	pthread_join(t, NULL);
	printf("spin: %s, pending %u, parked %u\n", done ? "moved through" : "never parked",
	       __hetmig_rt.pending, __hetmig_rt.parked);

	/* A countdown passes loops by. */
	__atomic_store_n(&__hetmig_rt.pending, 3, __ATOMIC_SEQ_CST);
	r += spin(100000);	/* entry 1: 3 -> 2; its loop: not counted */
	r += entry(r);		/* entry 2: 2 -> 1 */
	printf("countdown: pending %u\n", __hetmig_rt.pending);
	__atomic_store_n(&__hetmig_rt.pending, 0, __ATOMIC_SEQ_CST);
	return r == 42;	/* use r */
}
