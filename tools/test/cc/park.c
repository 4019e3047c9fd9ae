// SPDX-License-Identifier: GPL-2.0
/*
 * The parking protocol against a companion stand-in.
 * 1. In process: a second thread plays the companion: pending = 3, so the
 *    third migration point parks; it checks parked and the recorded caller
 *    state, writes result and clears pending.
 * 2. hetmig_migrate() with $HETMIG = tools/test/cc/fake-companion, which
 *    does what `hetmig send --parked` does to the runtime block from outside
 *    (process_vm_readv/writev) and makes the move fail with -ENOSYS.
 * 3. hetmig_migrate() with a companion that cannot be executed: -ENOENT,
 *    without parking.
 * 4. Parked for a holder that dies without letting us go (a killed
 *    `hetmig send`): the point returns -ECANCELED by itself.
 * 5. A call site in __hetmig_unproven (what `hetmig send` writes: sites
 *    hetmig check refuses) is no migration point: the points with it on
 *    the stack (point_here's entry and its hetmig_point) go on and leave
 *    the request pending; the same function called from another site
 *    parks at its entry (and, its holder gone, lets itself go).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hetmig.h"

static volatile uint64_t caller_sp, caller_fp;
static volatile int go;

static void *companion(void *arg)
{
	(void)arg;
	__hetmig_rt.pending = 3;
	go = 1;
	while (!__hetmig_rt.parked)
		;
	printf("companion: parked, cfa %s, fp %s\n",
	       __hetmig_rt.park_cfa == caller_sp ? "is the caller's sp" : "WRONG",
	       __hetmig_rt.park_fp == caller_fp ? "is the caller's fp" : "WRONG");
	__hetmig_rt.result = -5;
	__atomic_store_n(&__hetmig_rt.pending, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

static volatile uint64_t recorded_site;

/* RECORD: note where we were called from; else a migration point. */
static __attribute__((noinline)) int point_here(int record)
{
	if (record) {
		recorded_site = (uint64_t)__builtin_return_address(0);
		return 0;
	}
	return hetmig_point();
}

int main(void)
{
	pthread_t t;
	int r1, r2, r3, r;
	uint64_t sp;

#ifdef __x86_64__
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#else
	__asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
	caller_sp = sp;
	caller_fp = (uint64_t)__builtin_frame_address(0);
	setvbuf(stdout, NULL, _IONBF, 0);
	pthread_create(&t, NULL, companion, NULL);
	while (!go)
		;
	r1 = hetmig_point();
	r2 = hetmig_point();
	printf("countdown: %d %d, parked %u, pending %u\n", r1, r2, __hetmig_rt.parked,
	       __hetmig_rt.pending);
	r3 = hetmig_point();
	pthread_join(t, NULL);
	printf("third point returned %d, parked %u\n", r3, __hetmig_rt.parked);

	r = hetmig_migrate("nowhere.example:7117");
	printf("hetmig_migrate via the stand-in: %d (%s), pending %u, parked %u\n", r,
	       r == -ENOSYS ? "-ENOSYS as the stand-in said" : "unexpected",
	       __hetmig_rt.pending, __hetmig_rt.parked);
	setenv("HETMIG", "/nonexistent/hetmig", 1);
	r = hetmig_migrate("nowhere.example:7117");
	printf("hetmig_migrate without a companion: %s, pending %u\n",
	       r == -ENOENT ? "-ENOENT" : "unexpected", __hetmig_rt.pending);

	/* The holder: a grandchild (init reaps it: a zombie would still
	 * answer kill(pid, 0)) that lives 300 ms. */
	int pfd[2];
	pid_t holder = 0, child;

	if (pipe(pfd))
		return 1;
	child = fork();
	if (child == 0) {
		pid_t g = fork();

		if (g == 0) {
			usleep(300000);
			_exit(0);
		}
		(void)!write(pfd[1], &g, sizeof(g));
		_exit(0);
	}
	waitpid(child, NULL, 0);
	if (read(pfd[0], &holder, sizeof(holder)) != sizeof(holder))
		return 1;
	__hetmig_rt.holder = holder;
	__atomic_store_n(&__hetmig_rt.pending, 1, __ATOMIC_SEQ_CST);
	r = hetmig_point();
	printf("holder gone while parked: %s, pending %u, parked %u, holder %d\n",
	       r == -ECANCELED ? "-ECANCELED" : "unexpected", __hetmig_rt.pending,
	       __hetmig_rt.parked, __hetmig_rt.holder);

	/* A holder that is already gone: a point that parks returns at once. */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	int at_site[2];

	for (int i = 0; i < 2; i++) {
		if (i == 1) {
			__hetmig_unproven.ra[0] = recorded_site;
			__hetmig_unproven.count = 1;
			__hetmig_unproven.magic = HETMIG_RT_MAGIC;
			__hetmig_rt.holder = child;
			__atomic_store_n(&__hetmig_rt.pending, 1, __ATOMIC_SEQ_CST);
		}
		at_site[i] = point_here(i == 0);	/* one call site, twice */
	}
	printf("unproven site: point returned %d, pending %u, parked %u, holder %s\n",
	       at_site[1], __hetmig_rt.pending, __hetmig_rt.parked,
	       __hetmig_rt.holder == child ? "kept" : "changed");
	/* Another site: point_here's entry point parks, finds its holder
	 * gone and goes on (-ECANCELED to the hook, which drops it). */
	(void)point_here(0);
	printf("proven site: pending %u, holder %d\n", __hetmig_rt.pending,
	       __hetmig_rt.holder);
	return 0;
}
