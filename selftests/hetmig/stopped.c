// SPDX-License-Identifier: GPL-2.0
/*
 * stopped: a process whose child is stopped (SIGSTOP), for dump_restore.sh,
 * which moves the two and tells us to check (SIGTERM), as CRIU's zdtm
 * test "stopped" does.
 *
 * We fork C, which reads one byte from a pipe and exits 0 if it is 'x'.
 * We stop C (SIGSTOP), see it stopped without taking the report
 * (waitid WNOWAIT), send it SIGSTOP again, to the process and to its
 * thread (zdtm's stopped12: both stay pending while it is stopped), then
 * write the 'x': a C that ran would take it. "stopped: ready".
 *
 * On SIGTERM: waitpid(C, WUNTRACED | WCONTINUED) must report C stopped by
 * SIGSTOP, the byte must still be in the pipe (C ran no code), and once
 * continued (SIGCONT) C must take it and exit 0. "stopped: intact" and
 * exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t term;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void on_alarm(int sig)
{
	static const char msg[] = "stopped: no report of the child within 60 s\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static int check(pid_t child, int wr)
{
	int status, queued = -1;

	/* A child that was let go would read the byte and exit instead. */
	signal(SIGALRM, on_alarm);
	alarm(60);
	if (waitpid(child, &status, WUNTRACED | WCONTINUED) != child) {
		perror("stopped: waitpid");
		return 1;
	}
	if (!WIFSTOPPED(status)) {
		printf("stopped: the child is not stopped (status 0x%x)\n", status);
		return 1;
	}
	if (WSTOPSIG(status) != SIGSTOP) {
		printf("stopped: the child was stopped by signal %d, not SIGSTOP\n",
		       WSTOPSIG(status));
		return 1;
	}
	if (ioctl(wr, FIONREAD, &queued) || queued != 1) {
		printf("stopped: %d bytes in the pipe, not 1: the child ran\n", queued);
		return 1;
	}
	kill(child, SIGCONT);
	if (waitpid(child, &status, 0) != child) {
		perror("stopped: waitpid after SIGCONT");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("stopped: once continued, the child ended with status 0x%x\n", status);
		return 1;
	}
	return 0;
}

int main(void)
{
	siginfo_t info = { 0 };
	int p[2], ret;
	pid_t child;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	if (pipe(p))
		return perror("stopped: pipe"), 1;
	child = fork();
	if (child < 0)
		return perror("stopped: fork"), 1;
	if (child == 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == 'x' ? 0 : 2);
	}
	close(p[0]);
	kill(child, SIGSTOP);
	if (waitid(P_PID, child, &info, WSTOPPED | WNOWAIT))
		return perror("stopped: waitid"), 1;
	kill(child, SIGSTOP);
	syscall(SYS_tkill, child, SIGSTOP);
	if (write(p[1], "x", 1) != 1)
		return perror("stopped: write"), 1;
	printf("stopped: ready\n");
	while (!term)
		pause();
	ret = check(child, p[1]);
	if (!ret)
		printf("stopped: intact\n");
	return ret;
}
