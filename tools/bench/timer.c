/* SPDX-License-Identifier: GPL-2.0 */
/*
 * timer PROG ARGS...: run PROG once with its stdout on /dev/null and print
 * the wall time from fork to exit in microseconds, or "failed" when it
 * does not exit 0. Static musl, built per ISA by tools/bench/points, so
 * the aarch64 guest (busybox, no nanosecond date) can time runs too.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	pid_t pid;
	int status, null;

	if (argc < 2) {
		fprintf(stderr, "usage: timer PROG ARGS...\n");
		return 64;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
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
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("failed\n");
		return 1;
	}
	printf("%ld\n", (long)((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000));
	return 0;
}
