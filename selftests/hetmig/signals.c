// SPDX-License-Identifier: GPL-2.0
/*
 * signals: a process with signals pending, for dump_restore.sh: blocked
 * standard and real-time signals, queued to the process and to each of
 * its two threads, with their siginfo.
 *
 * usage: signals
 *
 * Both threads block SIGHUP, SIGUSR1, SIGUSR2 and SIGRTMIN+1 to +4 and
 * handle them (SA_SIGINFO, every signal blocked in the handler, so one is
 * taken at a time, in the kernel's order). Then, before the dump:
 *   the process:    SIGRTMIN+3 (sigqueue, 33), SIGRTMIN+1 (11), SIGRTMIN+1
 *                   (22), SIGUSR1 (kill)
 *   the main thread: SIGRTMIN+4 (pthread_sigqueue, 55), SIGRTMIN+4 (66),
 *                   SIGHUP (raise: tgkill)
 *   the other:      SIGRTMIN+2 (pthread_sigqueue, 44), SIGUSR2
 *                   (pthread_kill)
 * It prints "signals: ready" and waits for SIGTERM. Then the main thread
 * unblocks them and takes, in this order, its own (SIGHUP, SIGRTMIN+4 55,
 * SIGRTMIN+4 66) and the process's (SIGUSR1, SIGRTMIN+1 11, SIGRTMIN+1 22,
 * SIGRTMIN+3 33); the other thread then unblocks them and takes its own
 * (SIGUSR2, SIGRTMIN+2 44) and nothing else. Each with its si_code
 * (SI_TKILL, SI_QUEUE, SI_USER) and the source's pid as sender. It prints
 * "signals: intact" and exits 0, or names the first that is not and
 * exits 1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct taken {
	int sig, code, value, pid, by_main;
};

static volatile sig_atomic_t done, count, other_go, other_done;
static struct taken got[32];
static pthread_t main_thread;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (count < 32)
		got[count] = (struct taken){sig, si->si_code, si->si_value.sival_int, si->si_pid,
					    pthread_equal(pthread_self(), main_thread)};
	count++;
}

static sigset_t tested(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (int i = 1; i <= 4; i++)
		sigaddset(&set, SIGRTMIN + i);
	return set;
}

static void *other(void *arg)
{
	sigset_t set = tested();

	(void)arg;
	while (!other_go)
		usleep(10000);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	other_done = 1;
	return NULL;
}

static int queue(pid_t pid, int sig, int value)
{
	union sigval v = {.sival_int = value};

	return sigqueue(pid, sig, v);
}

static int thread_queue(pthread_t t, int sig, int value)
{
	union sigval v = {.sival_int = value};

	return pthread_sigqueue(t, sig, v);
}

int main(void)
{
	struct sigaction sa;
	sigset_t set = tested(), all;
	pid_t pid = getpid();
	pthread_t t;
	const struct taken want[] = {
		{SIGHUP, SI_TKILL, 0, pid, 1},
		{SIGRTMIN + 4, SI_QUEUE, 55, pid, 1},
		{SIGRTMIN + 4, SI_QUEUE, 66, pid, 1},
		{SIGUSR1, SI_USER, 0, pid, 1},
		{SIGRTMIN + 1, SI_QUEUE, 11, pid, 1},
		{SIGRTMIN + 1, SI_QUEUE, 22, pid, 1},
		{SIGRTMIN + 3, SI_QUEUE, 33, pid, 1},
		{SIGUSR2, SI_TKILL, 0, pid, 0},
		{SIGRTMIN + 2, SI_QUEUE, 44, pid, 0},
	};
	const int n = sizeof(want) / sizeof(want[0]);

	main_thread = pthread_self();
	signal(SIGTERM, on_term);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < 65; sig++)
		if (sigismember(&set, sig) == 1 && sigaction(sig, &sa, NULL)) {
			perror("signals: sigaction");
			return 2;
		}
	/* The other thread blocks them all, SIGTERM included. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (pthread_create(&t, NULL, other, NULL)) {
		perror("signals: pthread_create");
		return 2;
	}
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	if (queue(pid, SIGRTMIN + 3, 33) || queue(pid, SIGRTMIN + 1, 11) ||
	    queue(pid, SIGRTMIN + 1, 22) || kill(pid, SIGUSR1) ||
	    thread_queue(main_thread, SIGRTMIN + 4, 55) ||
	    thread_queue(main_thread, SIGRTMIN + 4, 66) || raise(SIGHUP) ||
	    thread_queue(t, SIGRTMIN + 2, 44) || pthread_kill(t, SIGUSR2)) {
		perror("signals: sending");
		return 2;
	}
	printf("signals: ready (pid %d)\n", pid);
	fflush(stdout);
	while (!done)
		usleep(100000);

	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (count != 7) {
		printf("signals: the main thread took %d signals, not 7\n", (int)count);
		return 1;
	}
	other_go = 1;
	pthread_join(t, NULL);
	if (count != n) {
		printf("signals: %d signals in all, not %d\n", (int)count, n);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (memcmp(&got[i], &want[i], sizeof(want[i]))) {
			printf("signals: signal %d was %d (code %d, value %d, from %d, %s), "
			       "not %d (code %d, value %d, from %d, %s)\n", i, got[i].sig,
			       got[i].code, got[i].value, got[i].pid,
			       got[i].by_main ? "main" : "other", want[i].sig, want[i].code,
			       want[i].value, want[i].pid, want[i].by_main ? "main" : "other");
			return 1;
		}
	printf("signals: intact\n");
	return 0;
}
