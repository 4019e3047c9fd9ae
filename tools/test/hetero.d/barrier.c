// SPDX-License-Identifier: GPL-2.0
/*
 * A thread in a blocking call the runtime does not know
 * (tools/test/hetero-test, issue 17): a worker waits in
 * pthread_barrier_wait for most of the run while the main thread works
 * with points. A move asked for meanwhile parks the main thread but not
 * the worker; send must refuse naming the worker and the call it is in
 * (a futex wait), and the program must run on to its usual output.
 */
#include <hetmig.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_barrier_t barrier;

static unsigned long step(unsigned long x)
{
	return x * 6364136223846793005UL + 1442695040888963407UL;
}

static void *waiter(void *arg)
{
	pthread_barrier_wait(&barrier);
	return arg;
}

int main(void)
{
	unsigned long x = 1, i;
	pthread_t t;

	pthread_barrier_init(&barrier, NULL, 2);
	if (pthread_create(&t, NULL, waiter, NULL))
		return 1;
	/* Time for the worker to pass its entry (a point) and reach the
	 * barrier: a one-CPU guest may not run it before main's 100th point. */
	usleep(300000);
	/* step() is a leaf, which hetmig-cc inlines: the loop's points are
	 * its own. */
	for (i = 0; i < 3000000; i++) {
		x = step(x);
		hetmig_point();
	}
	pthread_barrier_wait(&barrier);
	pthread_join(t, NULL);
	printf("barrier: %016lx\n", x);
	return 0;
}
