// SPDX-License-Identifier: GPL-2.0
/*
 * pipes: a process holding descriptors that are made anew on a restore,
 * for dump_restore.sh. A daemon wakes its own event loop through a
 * self-pipe or an eventfd and keeps its timeouts in timerfds; /dev/zero
 * and /dev/urandom are the same on every machine.
 *
 * usage: pipes
 *
 * It opens:
 *   R, W  a pipe, R non-blocking, with 3001 bytes written to W and not read
 *   D     a dup of W, close-on-exec
 *   Q, V  a second pipe, empty, its capacity raised to 1 MiB
 *   O     the read end of a pipe whose write end it closed after writing
 *         77 bytes (a reader waiting for the rest and EOF)
 *   B     the write end of a pipe whose read end it closed (SIGPIPE
 *         ignored)
 *   E     an eventfd at 5; S an eventfd in semaphore mode at 3 (both
 *         non-blocking)
 *   Z, F, U  /dev/zero, /dev/full, /dev/urandom
 *   T1    a timerfd (CLOCK_MONOTONIC) due in an hour; T2 one every 50 ms
 *         that has expired and was not read (non-blocking); T3 one never
 *         armed, close-on-exec
 * prints "pipes: ready (fds ...)" and waits for SIGTERM. Then it checks
 * them: R reads back the 3001 bytes exactly and then nothing, still
 * non-blocking; W and D write into the pipe, are one open file (a flag set
 * through D shows on W) and D alone is close-on-exec; Q holds nothing and
 * has its capacity; O reads its 77 bytes and then end of file; a write to
 * B fails with EPIPE; E reads 5 once, S reads 1 three times; Z reads zeros,
 * F fails writes with ENOSPC, U reads; T1 is due in less than an hour
 * (but not in less than 50 minutes) and not periodic, T2 has an expiry to
 * read, its 50 ms, and expires again, T3 is unarmed and close-on-exec.
 * It prints "pipes: intact" and
 * exits 0, or names the first that is not and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define BUFFERED 3001
#define CAPACITY (1 << 20)

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static unsigned char byte_at(int i)
{
	return (unsigned char)(i * 131 + 7);
}

static int bad(const char *what, const char *why)
{
	printf("pipes: %s: %s\n", what, why);
	return 1;
}

/* Whether a non-blocking read of FD finds nothing (8 bytes: an eventfd
 * refuses less). */
static int drained(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN;
}

static int reads(int fd, uint64_t want)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) && v == want;
}

int main(void)
{
	static unsigned char buf[BUFFERED + 1];
	struct itimerspec in_an_hour = {{0, 0}, {3600, 0}};
	struct itimerspec every_50ms = {{0, 50000000}, {0, 1000}}, t;
	struct pollfd again;
	int p[2], q[2], o[2], b[2], d, e, s, z, f, u, t1, t2, t3, n;
	uint64_t ticks;

	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) || pipe(q) || pipe(o) || pipe(b)) {
		perror("pipes: pipe");
		return 2;
	}
	for (int i = 0; i < BUFFERED; i++)
		buf[i] = byte_at(i);
	d = fcntl(p[1], F_DUPFD_CLOEXEC, 0);
	e = eventfd(5, EFD_NONBLOCK);
	s = eventfd(3, EFD_NONBLOCK | EFD_SEMAPHORE);
	z = open("/dev/zero", O_RDONLY);
	f = open("/dev/full", O_WRONLY);
	u = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	t1 = timerfd_create(CLOCK_MONOTONIC, 0);
	t2 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	t3 = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) || write(p[1], buf, BUFFERED) != BUFFERED ||
	    fcntl(q[1], F_SETPIPE_SZ, CAPACITY) != CAPACITY || d < 0 || e < 0 || s < 0 ||
	    z < 0 || f < 0 || u < 0 || t1 < 0 || t2 < 0 || t3 < 0 ||
	    timerfd_settime(t1, 0, &in_an_hour, NULL) ||
	    timerfd_settime(t2, 0, &every_50ms, NULL) || write(o[1], buf, 77) != 77 ||
	    close(o[1]) || close(b[0])) {
		perror("pipes: setting up");
		return 2;
	}
	printf("pipes: ready (fds R %d W %d D %d Q %d V %d O %d B %d E %d S %d Z %d F %d "
	       "U %d T1 %d T2 %d T3 %d)\n", p[0], p[1], d, q[0], q[1], o[0], b[1], e, s, z, f,
	       u, t1, t2, t3);
	fflush(stdout);
	/*
	 * Not pause(): one that a dump's ptrace stop interrupted is made again
	 * when the process goes on, and a SIGTERM that comes before that (a
	 * test sends it as soon as `dump --keep` returns) runs its handler and
	 * leaves the loop in pause() for good. A short sleep looks again.
	 */
	while (!done)
		usleep(100000);

	if (!(fcntl(p[0], F_GETFL) & O_NONBLOCK))
		return bad("the read end", "no longer non-blocking");
	memset(buf, 0, sizeof(buf));
	n = read(p[0], buf, sizeof(buf));
	if (n != BUFFERED)
		return bad("the pipe", n < 0 ? strerror(errno) : "not the 3001 bytes it held");
	for (int i = 0; i < BUFFERED; i++)
		if (buf[i] != byte_at(i))
			return bad("the pipe", "its bytes differ");
	if (!drained(p[0]))
		return bad("the pipe", "more than the bytes it held");
	if (write(p[1], "w", 1) != 1 || write(d, "d", 1) != 1 || read(p[0], buf, 3) != 2 ||
	    memcmp(buf, "wd", 2))
		return bad("the write ends", "writes do not come out of the read end");
	if (fcntl(p[1], F_GETFD) & FD_CLOEXEC || !(fcntl(d, F_GETFD) & FD_CLOEXEC))
		return bad("the write ends", "close-on-exec not as it was");
	if (fcntl(d, F_SETFL, O_NONBLOCK) || !(fcntl(p[1], F_GETFL) & O_NONBLOCK))
		return bad("the dup of the write end", "no longer one open file with it");

	if (fcntl(q[0], F_GETPIPE_SZ) != CAPACITY || ioctl(q[0], FIONREAD, &n) || n)
		return bad("the empty pipe", "not empty, or another capacity");

	memset(buf, 0, sizeof(buf));
	if (read(o[0], buf, sizeof(buf)) != 77 || memcmp(buf, "\x07\x8a", 2) ||
	    read(o[0], buf, 1) != 0)
		return bad("the pipe without a writer", "not its 77 bytes and then end of file");
	if (write(b[1], "x", 1) != -1 || errno != EPIPE)
		return bad("the pipe without a reader", "a write did not fail with EPIPE");

	if (!reads(e, 5) || !drained(e))
		return bad("the eventfd", "its counter is not 5");
	if (!reads(s, 1) || !reads(s, 1) || !reads(s, 1) || !drained(s))
		return bad("the semaphore eventfd", "not a semaphore at 3");

	if (read(z, buf, 16) != 16 || buf[0] || memcmp(buf, buf + 1, 15))
		return bad("/dev/zero", "no zeros");
	if (write(f, "x", 1) != -1 || errno != ENOSPC)
		return bad("/dev/full", "a write did not fail with ENOSPC");
	if (read(u, buf, 16) != 16 || !(fcntl(u, F_GETFD) & FD_CLOEXEC))
		return bad("/dev/urandom", "unreadable, or no longer close-on-exec");

	if (timerfd_gettime(t1, &t) || t.it_value.tv_sec >= 3600 || t.it_value.tv_sec < 3000 ||
	    t.it_interval.tv_sec || t.it_interval.tv_nsec)
		return bad("the timerfd due in an hour", "not due within the hour, or periodic");
	if (read(t2, &ticks, sizeof(ticks)) != sizeof(ticks) || !ticks)
		return bad("the periodic timerfd", "no expiry to read");
	again.fd = t2;
	again.events = POLLIN;
	if (timerfd_gettime(t2, &t) || t.it_interval.tv_sec || t.it_interval.tv_nsec != 50000000 ||
	    poll(&again, 1, 5000) != 1)
		return bad("the periodic timerfd", "not every 50 ms any more");
	if (timerfd_gettime(t3, &t) || t.it_value.tv_sec || t.it_value.tv_nsec ||
	    !(fcntl(t3, F_GETFD) & FD_CLOEXEC))
		return bad("the unarmed timerfd", "armed, or no longer close-on-exec");
	printf("pipes: intact\n");
	return 0;
}
