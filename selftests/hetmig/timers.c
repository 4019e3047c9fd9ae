// SPDX-License-Identifier: GPL-2.0
/*
 * timers: a process with timers, for dump_restore.sh. Only a process can
 * read its own timers, so a restore that forgot them leaves a process that
 * never wakes.
 *
 * usage: timers
 *
 * It arms ITIMER_REAL (200 ms, every 200 ms; SIGALRM counted), creates
 * three POSIX timers with timer_create(2) and keeps two, so the kept ids
 * have a gap between them:
 *   0  CLOCK_REALTIME, SIGEV_NONE, one shot in 1000 s (never fires)
 *   1  deleted again
 *   2  CLOCK_MONOTONIC, SIGUSR1 with sigev_value 77, every 100 ms (counted)
 * sets its timer slack to 123456 ns, prints "timers: ready" and waits for
 * SIGTERM. Then it checks that timer 0 still has between 900 and 1000 s
 * left, that there is no timer 1, that timer 2 repeats every 100 ms, that
 * both counters go on increasing for a second, that every SIGUSR1 carried
 * the value 77, and that the slack and the itimer's interval are as set.
 * It prints "timers: intact" and exits 0, or names the first that is not
 * and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SLACK_NS 123456

static volatile sig_atomic_t done, alarms, usr1s, bad_values;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_usr1(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	usr1s++;
	if (info->si_value.sival_int != 77)
		bad_values++;
}

/* The kernel's timer ids, through the system calls themselves. */
static int create(clockid_t clock, int notify, int signo, int value)
{
	struct sigevent sev;
	int id = -1;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_int = value;
	if (syscall(SYS_timer_create, clock, &sev, &id))
		return -1;
	return id;
}

static int arm(int id, long interval_ms, long value_ms)
{
	struct itimerspec its = {
		{interval_ms / 1000, interval_ms % 1000 * 1000000},
		{value_ms / 1000, value_ms % 1000 * 1000000},
	};
	return syscall(SYS_timer_settime, id, 0, &its, NULL);
}

static int gettime(int id, struct itimerspec *its)
{
	return syscall(SYS_timer_gettime, id, its);
}

static int differs(const char *what)
{
	printf("timers: %s\n", what);
	return 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = {{0, 200000}, {0, 200000}};
	struct itimerspec its;
	int once, gone, every;

	setvbuf(stdout, NULL, _IONBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);

	once = create(CLOCK_REALTIME, SIGEV_NONE, 0, 0);
	gone = create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR2, 0);
	every = create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 77);
	if (once != 0 || gone != 1 || every != 2 || syscall(SYS_timer_delete, gone) ||
	    arm(once, 0, 1000000) || arm(every, 100, 100) ||
	    setitimer(ITIMER_REAL, &it, NULL) || prctl(PR_SET_TIMERSLACK, SLACK_NS)) {
		perror("timers: setting up");
		return 1;
	}
	printf("timers: ready\n");
	while (!done)
		pause();

	int a0 = alarms, u0 = usr1s;
	if (gettime(once, &its))
		return differs("timer 0 is gone");
	if (its.it_value.tv_sec >= 1000 || its.it_value.tv_sec < 900)
		return differs("timer 0 lost its time");
	if (gettime(gone, &its) == 0 || errno != EINVAL)
		return differs("timer 1 is back");
	if (gettime(every, &its))
		return differs("timer 2 is gone");
	if (its.it_interval.tv_sec != 0 || its.it_interval.tv_nsec != 100000000)
		return differs("timer 2 lost its interval");
	if (prctl(PR_GET_TIMERSLACK) != SLACK_NS)
		return differs("the timer slack changed");
	if (getitimer(ITIMER_REAL, &it) || it.it_interval.tv_usec != 200000)
		return differs("the itimer lost its interval");
	sleep_ms(1000);
	if (alarms <= a0)
		return differs("no SIGALRM after the restore");
	if (usr1s <= u0)
		return differs("no SIGUSR1 from timer 2 after the restore");
	if (bad_values)
		return differs("SIGUSR1 came with another sigev_value");
	printf("timers: intact\n");
	return 0;
}
