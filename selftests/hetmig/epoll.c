// SPDX-License-Identifier: GPL-2.0
/*
 * epoll: a process whose event loop is an epoll, for dump_restore.sh. A
 * restore that forgot the interest list leaves a daemon that never wakes.
 *
 * usage: epoll [closed | file PATH]
 *
 * Its epoll P (close-on-exec) watches, each with a data word of its own:
 *   E   an eventfd at 1 (EPOLLIN)
 *   R   a pipe's read end with 3 bytes in the pipe (EPOLLIN)
 *   T   a timerfd every 50 ms (EPOLLIN)
 *   ET  an eventfd at 0, edge-triggered (EPOLLIN | EPOLLET)
 *   W   the pipe's write end, one-shot (EPOLLOUT | EPOLLONESHOT), which
 *       fires once before the dump and is disarmed since
 * and a second epoll Q watches P (EPOLLIN). It prints "epoll: ready" and
 * waits for SIGTERM. Then P reports E, R and T with their data within two
 * seconds, and never W nor ET; a write to ET is reported once with its
 * data, and no more until the next; Q reports P with its data. It prints
 * "epoll: intact" and exits 0, or names the first that is not and exits 1.
 *
 * With "closed", P also watches a dup of E that was closed since (its
 * entry lives on with E's file, under a number the process no longer
 * holds), which a dump carries; with "file PATH", P also watches PATH (a
 * device no dump carries, /dev/kmsg), opened for reading and writing,
 * which a dump refuses. The entries report E's data word.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define D_E 0x1111000000000001ull
#define D_R 0x2222000000000002ull
#define D_T 0x3333000000000003ull
#define D_ET 0x4444000000000004ull
#define D_W 0x5555000000000005ull
#define D_P 0x6666000000000006ull

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int bad(const char *what, const char *why)
{
	printf("epoll: %s: %s\n", what, why);
	return 1;
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Bit for each data word the epoll P reports in one wait, or -1. */
static int reported(int ep, int timeout, unsigned *seen)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, timeout);

	for (int i = 0; i < n; i++)
		switch (evs[i].data.u64) {
		case D_E: *seen |= 1; break;
		case D_R: *seen |= 2; break;
		case D_T: *seen |= 4; break;
		case D_ET: *seen |= 8; break;
		case D_W: *seen |= 16; break;
		case D_P: *seen |= 32; break;
		default: *seen |= 64; break;
		}
	return n;
}

int main(int argc, char **argv)
{
	struct itimerspec every_50ms = {{0, 50000000}, {0, 50000000}};
	int p, q, e, et, t, pipefd[2];
	unsigned seen = 0;
	uint64_t one = 1;

	signal(SIGTERM, on_term);
	p = epoll_create1(EPOLL_CLOEXEC);
	q = epoll_create1(0);
	e = eventfd(1, EFD_NONBLOCK);
	et = eventfd(0, EFD_NONBLOCK);
	t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (p < 0 || q < 0 || e < 0 || et < 0 || t < 0 || pipe2(pipefd, O_NONBLOCK) ||
	    write(pipefd[1], "abc", 3) != 3 || timerfd_settime(t, 0, &every_50ms, NULL) ||
	    add(p, e, EPOLLIN, D_E) || add(p, pipefd[0], EPOLLIN, D_R) ||
	    add(p, t, EPOLLIN, D_T) || add(p, et, EPOLLIN | EPOLLET, D_ET) ||
	    add(p, pipefd[1], EPOLLOUT | EPOLLONESHOT, D_W) || add(q, p, EPOLLIN, D_P)) {
		perror("epoll: setting up");
		return 2;
	}
	if (argc > 1 && !strcmp(argv[1], "closed")) {
		int dup_e = dup(e);

		if (dup_e < 0 || add(p, dup_e, EPOLLIN, D_E) || close(dup_e)) {
			perror("epoll: a closed target");
			return 2;
		}
	} else if (argc > 2 && !strcmp(argv[1], "file")) {
		int file = open(argv[2], O_RDWR | O_NONBLOCK);

		if (file < 0 || add(p, file, EPOLLIN, D_E)) {
			perror("epoll: a file");
			return 2;
		}
	}
	/* The one-shot entry fires here, and never again. */
	if (reported(p, 1000, &seen) < 0 || !(seen & 16)) {
		printf("epoll: setting up: the one-shot entry did not fire\n");
		return 2;
	}
	printf("epoll: ready (fds P %d Q %d E %d R %d W %d T %d ET %d)\n", p, q, e,
	       pipefd[0], pipefd[1], t, et);
	fflush(stdout);
	while (!done)
		usleep(100000);

	if (!(fcntl(p, F_GETFD) & FD_CLOEXEC) || fcntl(q, F_GETFD) & FD_CLOEXEC)
		return bad("the epolls", "close-on-exec not as it was");
	seen = 0;
	/* The eventfd and the pipe are always ready, so a wait returns at
	 * once: sleep between waits, so that 2 s pass for the timerfd. */
	for (int i = 0; i < 40 && (seen & 7) != 7; i++) {
		if (reported(p, 50, &seen) < 0)
			return bad("epoll_wait", strerror(errno));
		if ((seen & 7) != 7)
			usleep(50000);
	}
	if ((seen & 7) != 7)
		return bad("the interest list", "the eventfd, the pipe or the timerfd is not "
						"reported with its data");
	if (seen & 16)
		return bad("the one-shot entry", "armed again");
	if (seen & 8)
		return bad("the edge-triggered entry", "reported with nothing to read");
	if (seen & 64)
		return bad("the interest list", "a data word it was not given");
	seen = 0;
	if (write(et, &one, sizeof(one)) != sizeof(one) || reported(p, 1000, &seen) < 1 ||
	    !(seen & 8))
		return bad("the edge-triggered entry", "a write to it is not reported");
	seen = 0;
	if (reported(p, 200, &seen) < 0 || (seen & 8))
		return bad("the edge-triggered entry", "reported twice for one write: not "
						       "edge-triggered any more");
	seen = 0;
	if (reported(q, 1000, &seen) != 1 || seen != 32)
		return bad("the epoll watching the epoll", "it does not report it with its data");
	printf("epoll: intact\n");
	return 0;
}
