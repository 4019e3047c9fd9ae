// SPDX-License-Identifier: GPL-2.0
/*
 * signalfd: a process that takes its signals through a signalfd, for
 * dump_restore.sh.
 *
 * usage: signalfd
 *
 * It blocks SIGUSR1 and SIGRTMIN+5, opens a signalfd for them
 * (non-blocking, close-on-exec), queues SIGRTMIN+5 with the value 77 and
 * sends itself SIGUSR1 with kill(2), and reads nothing yet. It prints
 * "signalfd: ready" and waits for SIGTERM. Then the signalfd reads
 * SIGUSR1 (SI_USER, from the process's pid before the move), then
 * SIGRTMIN+5 (SI_QUEUE, 77), then nothing; its flags are as they were and
 * its fdinfo's mask holds those two signals. It prints "signalfd: intact"
 * and exits 0, or names the first that is not and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int bad(const char *what, const char *why)
{
	printf("signalfd: %s: %s\n", what, why);
	return 1;
}

/* The sigmask: line of the signalfd's fdinfo. */
static unsigned long long fdinfo_mask(int fd)
{
	char path[64], line[128];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "sigmask: %llx", &mask) == 1)
			break;
	if (f)
		fclose(f);
	return mask;
}

int main(void)
{
	struct signalfd_siginfo si;
	union sigval v = {.sival_int = 77};
	pid_t pid = getpid();
	unsigned long long want;
	sigset_t set;
	int sfd;

	signal(SIGTERM, on_term);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 5);
	want = (1ull << (SIGUSR1 - 1)) | (1ull << (SIGRTMIN + 5 - 1));
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || sfd < 0 || sigqueue(pid, SIGRTMIN + 5, v) ||
	    kill(pid, SIGUSR1)) {
		perror("signalfd: setting up");
		return 2;
	}
	printf("signalfd: ready (fd %d)\n", sfd);
	fflush(stdout);
	while (!done)
		usleep(100000);

	if (!(fcntl(sfd, F_GETFL) & O_NONBLOCK) || !(fcntl(sfd, F_GETFD) & FD_CLOEXEC))
		return bad("the signalfd", "its flags are not as they were");
	if (fdinfo_mask(sfd) != want)
		return bad("the signalfd", "it reads other signals than it did");
	if (read(sfd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR1 ||
	    si.ssi_code != SI_USER || si.ssi_pid != (unsigned)pid)
		return bad("the signalfd", "SIGUSR1 from kill(2) is not read first");
	if (read(sfd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != (unsigned)SIGRTMIN + 5 ||
	    si.ssi_code != SI_QUEUE || si.ssi_int != 77)
		return bad("the signalfd", "SIGRTMIN+5 with 77 is not read next");
	if (read(sfd, &si, sizeof(si)) != -1 || errno != EAGAIN)
		return bad("the signalfd", "more than the two signals");
	printf("signalfd: intact\n");
	return 0;
}
