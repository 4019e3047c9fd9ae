// SPDX-License-Identifier: GPL-2.0
/*
 * epollclosed: an epoll with entries whose fds were closed since, their
 * files open at other fds, for dump_restore.sh (what zdtm's epoll and
 * epoll01 do): an entry is the file and the number it was added under,
 * and outlives that number.
 *
 * usage: epollclosed
 *
 * Its epoll P watches, each for EPOLLIN with a data word of its own:
 *   A  the read end of pipe A, added as a dup at fd 700, which it closed
 *   B  the read end of pipe B, added as a dup at fd 701, which it closed
 *      and then used again for pipe C's read end (close-on-exec)
 *   C  pipe C's read end at 701, added there too (live)
 *   L  pipe A's read end at its own fd (live)
 * It prints "epollclosed: ready" and waits for SIGTERM. Then a byte
 * written to each pipe in turn is reported with its data words only (A's
 * twice: the stale entry and the live one), fd 700 is still closed, and
 * fd 701 is still pipe C's read end with its close-on-exec flag. It prints
 * "epollclosed: intact" and exits 0, or names the first that is not and
 * exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#define D_A 0xa0a0ull
#define D_B 0xb0b0ull
#define D_C 0xc0c0ull
#define D_L 0x1010ull

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int bad(const char *what, const char *why)
{
	printf("epollclosed: %s: %s\n", what, why);
	return 1;
}

static int add(int ep, int fd, uint64_t data)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The data words P reports now, as a bit each (A 1, B 2, C 4, L 8; 16 for
 * any other), or -1. */
static int reported(int ep)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, 1000), seen = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		seen |= evs[i].data.u64 == D_A ? 1 : evs[i].data.u64 == D_B ? 2
		      : evs[i].data.u64 == D_C ? 4 : evs[i].data.u64 == D_L ? 8 : 16;
	return seen;
}

/* Writes a byte to W, checks that P reports SEEN, and reads it from R. */
static int fires(int ep, int w, int r, int seen)
{
	char c;

	if (write(w, "x", 1) != 1 || reported(ep) != seen || read(r, &c, 1) != 1)
		return 0;
	return reported(ep) == 0;
}

int main(void)
{
	int p, a[2], b[2], c[2];
	struct stat st, cs;

	signal(SIGTERM, on_term);
	p = epoll_create1(0);
	if (p < 0 || pipe(a) || pipe(b) || pipe(c) ||
	    dup2(a[0], 700) != 700 || add(p, 700, D_A) || close(700) ||
	    dup2(b[0], 701) != 701 || add(p, 701, D_B) || close(701) ||
	    dup3(c[0], 701, O_CLOEXEC) != 701 || add(p, 701, D_C) || add(p, a[0], D_L)) {
		perror("epollclosed: setting up");
		return 2;
	}
	printf("epollclosed: ready (fds P %d A %d B %d C %d)\n", p, a[0], b[0], c[0]);
	fflush(stdout);
	while (!done)
		usleep(100000);

	if (reported(p) != 0)
		return bad("the epoll", "reports a target that is not ready");
	if (!fires(p, a[1], a[0], 1 | 8))
		return bad("pipe A", "not reported with its two entries' data alone");
	if (!fires(p, b[1], b[0], 2))
		return bad("pipe B", "not reported with the closed entry's data alone");
	if (!fires(p, c[1], c[0], 4))
		return bad("pipe C", "not reported with its data alone");
	if (fcntl(700, F_GETFD) >= 0 || errno != EBADF)
		return bad("fd 700", "open, where it was closed");
	if (fstat(701, &st) || fstat(c[0], &cs) || st.st_ino != cs.st_ino ||
	    fcntl(701, F_GETFD) != FD_CLOEXEC)
		return bad("fd 701", "not pipe C's read end, close-on-exec");
	printf("epollclosed: intact\n");
	return 0;
}
