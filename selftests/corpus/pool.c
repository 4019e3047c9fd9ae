/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pool: a work pool. Four workers take tasks from a shared queue guarded
 * by one mutex and two condition variables (work to do, work done); the
 * main thread adds tasks in batches and waits for each batch to finish.
 * Each task's result goes to its own slot, so the output (printed by the
 * main thread in task order) is the same whatever worker ran what.
 * Workers count their tasks in a __thread counter and keep a
 * pthread_key value, summed at the end: per-thread state that a move must
 * keep. Workers nap (nanosleep) now and then, so a move finds threads in
 * condition waits, mutex waits, sleeps and computing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "corpus.h"

#define WORKERS 4
#define BATCH 64

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a task was added, or stop */
	pthread_cond_t done;		/* a batch's last task ended */
	unsigned next, end;		/* tasks [next, end) wait */
	unsigned pending;		/* tasks of the batch not finished */
	int stop;
	unsigned long *result;		/* one slot per task */
	unsigned long tasks_run;	/* summed from the workers' own counters */
};

static struct pool pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};
static __thread unsigned long my_tasks;
static pthread_key_t weight_key;

/* Collatz steps of every number in [n, n + 64), mixed: a few thousand
 * operations per task, with calls (points) inside. */
static unsigned long collatz(unsigned long n)
{
	unsigned long steps = 0;

	while (n != 1) {
		n = n % 2 ? 3 * n + 1 : n / 2;
		steps++;
	}
	return steps;
}

static unsigned long run_task(unsigned task)
{
	unsigned long acc = 0, s, i;

	for (i = 0; i < 64; i++) {
		s = collatz(task * 64UL + i + 1);
		acc = acc * 31 + s;
		CORPUS_POINT();
	}
	return acc;
}

static void nap(void)
{
	struct timespec ts = { 0, 20000 };

	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	unsigned long *weight = arg, r;
	unsigned task;

	pthread_setspecific(weight_key, weight);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (pool.next == pool.end && !pool.stop)
			pthread_cond_wait(&pool.work, &pool.lock);
		if (pool.next == pool.end)
			break;
		task = pool.next++;
		pthread_mutex_unlock(&pool.lock);
		r = run_task(task);
		my_tasks++;
		if (task % 16 == 0)
			nap();
		pthread_mutex_lock(&pool.lock);
		pool.result[task] = r;
		if (--pool.pending == 0)
			pthread_cond_signal(&pool.done);
	}
	weight = pthread_getspecific(weight_key);
	pool.tasks_run += my_tasks * *weight;
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	unsigned batches = (unsigned)(4 * scale), b, t;
	static unsigned long weights[WORKERS];
	pthread_t th[WORKERS];
	unsigned long sum = 0;
	int i;

	pool.result = calloc((size_t)batches * BATCH, sizeof(*pool.result));
	if (!pool.result || pthread_key_create(&weight_key, NULL))
		return 1;
	for (i = 0; i < WORKERS; i++) {
		weights[i] = 1;
		if (pthread_create(&th[i], NULL, worker, &weights[i]))
			return 1;
	}
	for (b = 0; b < batches; b++) {
		pthread_mutex_lock(&pool.lock);
		pool.end += BATCH;
		pool.pending = BATCH;
		pthread_cond_broadcast(&pool.work);
		while (pool.pending)
			pthread_cond_wait(&pool.done, &pool.lock);
		pthread_mutex_unlock(&pool.lock);
		for (t = b * BATCH; t < (b + 1) * BATCH; t++)
			sum = sum * 1000003 + pool.result[t];
		printf("batch %u: tasks %u-%u, checksum %016lx\n", b, b * BATCH,
		       (b + 1) * BATCH - 1, sum);
		CORPUS_POINT();
	}
	pthread_mutex_lock(&pool.lock);
	pool.stop = 1;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	printf("pool: %u tasks run by %d workers (counted per thread: %lu), checksum %016lx\n",
	       batches * BATCH, WORKERS, pool.tasks_run, sum);
	free(pool.result);
	return 0;
}
