// SPDX-License-Identifier: GPL-2.0
/*
 * Parking every thread (issue 17) against an in-process stand-in for the
 * companion: a thread of its own, not instrumented, that calls no wrapped
 * function, so it never parks. Eight threads, each somewhere else: two
 * computing with points, one in a condition wait, one in a mutex wait (the
 * main thread holds the mutex), one in a sleep, one in a pipe read, one
 * in usleep, one in a wait on a condition of CLOCK_MONOTONIC; the main
 * thread in a join.
 * 1. A request (pending 1) parks all nine, each in its own slot of
 *    __hetmig_threads, within a bound; ROUNDS times, the latency from the
 *    request to all parked on stderr (min, median, max). Let go with a
 *    result, each leaves its slot.
 * 2. A ninth worker waits in pthread_barrier_wait, a call the runtime does
 *    not know: the others park, it does not, and the threads not in a
 *    slot are exactly it (what the companion names in its refusal). Let
 *    go, the program runs on and ends as it would have.
 * 3. No condition wakeup is lost to the wrappers' slices (broadcasts()).
 * 4. __hetmig_thread_return ends a thread as musl's start would.
 * 5. A pipe read a signal handler interrupts returns EINTR when the
 *    handler does not restart calls, and goes on to the data when it does
 *    (SA_RESTART), as the read alone would.
 * stdout is the same on every run and ISA; tools/test/cc-test runs it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hetmig.h"

#define WORKERS 8
#define ROUNDS 20
#define NOINST __attribute__((no_instrument_function))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t mono;
static pthread_barrier_t barrier;
static volatile int stop;
static int pipe_fd[2];
static volatile int started;
static volatile long work[2];
static int32_t tids[WORKERS + 2];	/* main, the workers, the barrier's */

static void computing(int i)
{
	while (!stop) {
		work[i]++;
		hetmig_point();
	}
}

static void in_cond(pthread_cond_t *c)
{
	pthread_mutex_lock(&lock);
	while (!stop)
		pthread_cond_wait(c, &lock);
	pthread_mutex_unlock(&lock);
}

static void in_mutex(void)
{
	pthread_mutex_lock(&held);	/* main holds it until the end */
	pthread_mutex_unlock(&held);
}

static void in_sleep(int micro)
{
	struct timespec ts = { 0, 30000000 };

	while (!stop) {
		if (micro)
			usleep(30000);
		else
			nanosleep(&ts, NULL);
	}
}

static void in_read(void)
{
	char c;

	if (read(pipe_fd[0], &c, 1) != 1 || c != 'x')
		abort();
}

static void *worker(void *arg)
{
	long k = (long)arg;

	tids[k + 1] = (int32_t)syscall(SYS_gettid);
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	switch (k) {
	case 0: case 1: computing((int)k); break;
	case 2: in_cond(&cond); break;
	case 3: in_mutex(); break;
	case 4: in_sleep(0); break;
	case 5: in_read(); break;
	case 6: in_sleep(1); break;
	case 7: in_cond(&mono); break;
	}
	return NULL;
}

static void *in_barrier(void *arg)
{
	(void)arg;
	tids[WORKERS + 1] = (int32_t)syscall(SYS_gettid);
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&barrier);
	return NULL;
}

NOINST static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Asks, waits up to LIMIT_MS for WANT threads parked; the time it took,
 * or -1. */
NOINST static double request(unsigned want, double limit_ms)
{
	double t0 = now_ms();

	__atomic_store_n(&__hetmig_rt.pending, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&__hetmig_rt.parked, __ATOMIC_SEQ_CST) < want) {
		if (now_ms() - t0 > limit_ms)
			return -1;
		sched_yield();
	}
	return now_ms() - t0;
}

NOINST static void let_go(int result)
{
	__hetmig_rt.result = result;
	__atomic_store_n(&__hetmig_rt.pending, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&__hetmig_rt.parked, __ATOMIC_SEQ_CST))
		sched_yield();
}

NOINST static int in_a_slot(int32_t tid)
{
	unsigned i;

	for (i = 0; i < HETMIG_THREADS_MAX; i++)
		if (__hetmig_threads.slot[i].tid == tid &&
		    __hetmig_threads.slot[i].state == HETMIG_THREAD_PARKED)
			return 1;
	return 0;
}

/* The first COUNT of the program's threads (tids) not in a slot. The
 * companion reads /proc/PID/task instead; qemu-user has threads of its own
 * there. */
NOINST static int unparked(int count, int32_t *out, int max)
{
	int i, n = 0;

	for (i = 0; i < count; i++)
		if (!in_a_slot(tids[i]) && n < max)
			out[n++] = tids[i];
	return n;
}

/* Insertion sort: qsort's comparator would be a libc frame's callee. */
NOINST static void sort(double *v, int n)
{
	int i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

NOINST static void *companion(void *arg)
{
	int32_t missing[8];
	double ms[ROUNDS];
	int i, n, ok = 1;

	(void)arg;
	while (started < WORKERS)
		sched_yield();
	for (i = 0; i < ROUNDS; i++) {
		ms[i] = request(WORKERS + 1, 5000);
		if (ms[i] < 0 || unparked(WORKERS + 1, missing, 8) != 0)
			ok = 0;
		let_go(-5);
		if (ms[i] < 0)
			break;
	}
	printf("request: all %d threads parked, each in a slot: %s\n", WORKERS + 1,
	       ok ? "yes" : "NO");
	if (ok) {
		sort(ms, ROUNDS);
		fprintf(stderr, "threads: %d threads parked in %.2f / %.2f / %.2f ms "
			"(min / median / max of %d requests)\n", WORKERS + 1, ms[0],
			ms[ROUNDS / 2], ms[ROUNDS - 1], ROUNDS);
	}
	return NULL;
}

NOINST static void *companion_barrier(void *arg)
{
	int32_t missing[8];
	double ms;
	int n;

	(void)arg;
	while (started < WORKERS + 1)
		sched_yield();
	/* Nine park, the tenth cannot. */
	ms = request(WORKERS + 1, 5000);
	if (ms >= 0) {
		double t0 = now_ms();

		while (now_ms() - t0 < 100)
			sched_yield();
	}
	n = unparked(WORKERS + 2, missing, 8);
	printf("unknown call: %u parked, unparked %d: %s\n",
	       __atomic_load_n(&__hetmig_rt.parked, __ATOMIC_SEQ_CST), n,
	       n == 1 && missing[0] == tids[WORKERS + 1] ? "the barrier thread" : "WRONG");
	let_go(-16);
	pthread_barrier_wait(&barrier);
	return NULL;
}

/*
 * 3. Broadcasts to waiters whose 2 ms slices have been timing out: none
 *    may be lost. A wrapper that waited again after a timed-out slice lost
 *    them: eight waiters idle for 2 s missed one broadcast, every run.
 *    GENERATIONS broadcasts, the first ones 0-3 ms apart, the last ones
 *    after 150 ms idle; every waiter sees the last one.
 */
#define GENERATIONS 24
static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gen_cond = PTHREAD_COND_INITIALIZER;
static unsigned generation;

static void *gen_waiter(void *arg)
{
	unsigned seen = 0;

	pthread_mutex_lock(&gen_lock);
	while (seen < GENERATIONS) {
		while (generation == seen)
			pthread_cond_wait(&gen_cond, &gen_lock);
		seen = generation;
	}
	pthread_mutex_unlock(&gen_lock);
	return arg;
}

static void broadcasts(void)
{
	pthread_t w[WORKERS];
	struct timespec ts = { 0, 0 };
	long k;

	for (k = 0; k < WORKERS; k++)
		pthread_create(&w[k], NULL, gen_waiter, NULL);
	for (k = 1; k <= GENERATIONS; k++) {
		ts.tv_nsec = k <= GENERATIONS - 4 ? (k % 4) * 1000000L : 150000000L;
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&gen_lock);
		generation = (unsigned)k;
		pthread_cond_broadcast(&gen_cond);
		pthread_mutex_unlock(&gen_lock);
	}
	for (k = 0; k < WORKERS; k++)
		pthread_join(w[k], NULL);
	printf("broadcasts: %d waiters saw all %d generations\n", WORKERS, GENERATIONS);
}

/*
 * 4. A start routine returning into __hetmig_thread_return (what the
 *    converter makes of its return address into musl's start) ends its
 *    thread with the returned value. [fp + 8] is the frame record's
 *    return address on both ISAs (-O0, frame pointers); not inlined, so
 *    the routine has a frame record of its own.
 */
static __attribute__((noinline)) void *returns_to_runtime(void *arg)
{
	void **record = __builtin_frame_address(0);

	record[1] = (void *)__hetmig_thread_return;
	return (void *)((long)arg + 1);
}

static void thread_return(void)
{
	pthread_t t;
	void *ret = NULL;

	pthread_create(&t, NULL, returns_to_runtime, (void *)41);
	pthread_join(t, &ret);
	printf("thread return: joined with %ld\n", (long)ret);
}

static void finish(pthread_t *th, pthread_t last)
{
	long k;

	pthread_mutex_lock(&lock);
	stop = 1;
	pthread_cond_broadcast(&cond);
	pthread_cond_broadcast(&mono);
	pthread_mutex_unlock(&lock);
	pthread_mutex_unlock(&held);
	if (write(pipe_fd[1], "x", 1) != 1)
		abort();
	for (k = 0; k < WORKERS; k++)
		if (th[k] != last)
			pthread_join(th[k], NULL);
}

static volatile sig_atomic_t alarms;

static NOINST void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Writes once three alarms have come; the alarms are the reader's. */
static void *writes_later(void *arg)
{
	int fd = (int)(long)arg;
	struct timespec ts = { 0, 10000000 };
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (alarms < 3)
		nanosleep(&ts, NULL);
	if (write(fd, "y", 1) != 1)
		abort();
	return NULL;
}

/*
 * A read of a pipe no one writes yet, with an alarm every 50 ms: however
 * late the read starts (a loaded host, qemu-user), an alarm comes while it
 * waits. Without SA_RESTART the first of those ends it with EINTR (nobody
 * writes); with it, the read goes on until a thread writes, after three.
 */
static void interrupted_read(int restart)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } }, off = { { 0, 0 }, { 0, 0 } };
	int fds[2];
	pthread_t t;
	char c = 0;
	ssize_t r;

	if (pipe(fds))
		abort();
	alarms = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	if (restart)
		pthread_create(&t, NULL, writes_later, (void *)(long)fds[1]);
	setitimer(ITIMER_REAL, &it, NULL);
	r = read(fds[0], &c, 1);
	setitimer(ITIMER_REAL, &off, NULL);
	printf("interrupted read, %s: %s\n", restart ? "SA_RESTART" : "no SA_RESTART",
	       r == 1 && c == 'y' ? "the data" : r < 0 && errno == EINTR ? "EINTR" : "other");
	if (restart)
		pthread_join(t, NULL);
	signal(SIGALRM, SIG_DFL);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	pthread_condattr_t a;
	pthread_t th[WORKERS], comp, extra;
	long k;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&mono, &a);
	pthread_barrier_init(&barrier, NULL, 2);
	if (pipe(pipe_fd))
		return 1;
	tids[0] = (int32_t)syscall(SYS_gettid);
	setvbuf(stdout, NULL, _IONBF, 0);
	pthread_mutex_lock(&held);
	for (k = 0; k < WORKERS; k++)
		pthread_create(&th[k], NULL, worker, (void *)k);
	pthread_create(&comp, NULL, companion, NULL);
	pthread_join(comp, NULL);	/* main parks in the join's wrapper */

	pthread_create(&extra, NULL, in_barrier, NULL);
	pthread_create(&comp, NULL, companion_barrier, NULL);
	pthread_join(comp, NULL);
	pthread_join(extra, NULL);

	finish(th, 0);
	broadcasts();
	thread_return();
	interrupted_read(0);
	interrupted_read(1);
	printf("done: every thread ended, pending %u, parked %u\n", __hetmig_rt.pending,
	       __hetmig_rt.parked);
	return 0;
}
