/* SPDX-License-Identifier: GPL-2.0 */
/*
 * timer PROG ARGS...: run PROG once with its stdout on /dev/null and print
 * the CPU time it used (user + system, from wait4's rusage) in
 * microseconds, or "failed" when it does not exit 0. CPU time rather than
 * wall time: the host is shared (2 CPUs, other builds running), and time
 * spent waiting for a CPU is not the program's. Static musl, built per ISA by tools/bench/points, so
 * the aarch64 guest (busybox, no nanosecond date) can time runs too.
 */
/* wait4 is BSD, not POSIX. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	pid_t pid;
	int status, null;

	if (argc < 2) {
		fprintf(stderr, "usage: timer PROG ARGS...\n");
		return 64;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, 1) < 0)
			_exit(127);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		return 1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("failed\n");
		return 1;
	}
	printf("%ld\n", (long)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L +
				ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
	return 0;
}
