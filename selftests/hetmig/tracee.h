/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A target process for the selftests, and the ptrace steps that make it
 * readable through hetmig: PTRACE_SEIZE and PTRACE_INTERRUPT every thread,
 * then wait for each to stop.
 */
#ifndef HETMIG_SELFTEST_TRACEE_H
#define HETMIG_SELFTEST_TRACEE_H

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACEE_MAX_THREADS 64

struct tracee {
	pid_t pid;
	int nthreads;
	pid_t tids[TRACEE_MAX_THREADS];
};

static int tracee_started;

static void *tracee_spin(void *arg)
{
	volatile unsigned long *counter = arg;
	sigset_t set;

	/* Give each extra thread a sigmask of its own to be read back. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	__atomic_add_fetch(&tracee_started, 1, __ATOMIC_SEQ_CST);
	for (;;)
		(*counter)++;
	return NULL;
}

/*
 * Forks a child that runs SETUP (if any), starts EXTRA spinning threads,
 * tells the parent it is ready and spins. Returns the child's pid.
 */
static inline pid_t tracee_start(int extra, void (*setup)(void))
{
	static unsigned long counters[TRACEE_MAX_THREADS];
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		pthread_t th;
		int i;

		close(ready[0]);
		if (setup)
			setup();
		for (i = 0; i < extra; i++)
			pthread_create(&th, NULL, tracee_spin, &counters[i]);
		/* ready means every thread runs with its own mask set */
		while (__atomic_load_n(&tracee_started, __ATOMIC_SEQ_CST) < extra)
			sched_yield();
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			counters[TRACEE_MAX_THREADS - 1]++;
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

static inline int tracee_list_threads(struct tracee *t)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	t->nthreads = 0;
	while ((d = readdir(dir)) && t->nthreads < TRACEE_MAX_THREADS)
		if (d->d_name[0] != '.')
			t->tids[t->nthreads++] = atoi(d->d_name);
	closedir(dir);
	return 0;
}

/* Seizes every thread; with INTERRUPT, also stops each and waits for it. */
static inline int tracee_seize(struct tracee *t, int interrupt)
{
	int i, status;

	if (tracee_list_threads(t))
		return -1;
	for (i = 0; i < t->nthreads; i++) {
		if (ptrace(PTRACE_SEIZE, t->tids[i], 0, 0))
			return -errno;
		if (!interrupt)
			continue;
		if (ptrace(PTRACE_INTERRUPT, t->tids[i], 0, 0))
			return -errno;
		if (waitpid(t->tids[i], &status, __WALL) != t->tids[i] ||
		    !WIFSTOPPED(status))
			return -ECHILD;
	}
	return 0;
}

static inline void tracee_detach(struct tracee *t)
{
	int i;

	for (i = 0; i < t->nthreads; i++)
		ptrace(PTRACE_DETACH, t->tids[i], 0, 0);
}

/*
 * Kills the tracee and reaps it. Threads we trace must each be reaped by
 * us (__WALL) before the leader's exit can be reported at all.
 */
static inline void tracee_kill(struct tracee *t)
{
	int i;

	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		for (i = 0; i < t->nthreads; i++)
			if (t->tids[i] != t->pid)
				waitpid(t->tids[i], NULL, __WALL);
		waitpid(t->pid, NULL, __WALL);
	}
	t->pid = 0;
	t->nthreads = 0;
}

#endif /* HETMIG_SELFTEST_TRACEE_H */
