// SPDX-License-Identifier: GPL-2.0
/*
 * fifos: a process and its child holding named pipes, for dump_restore.sh,
 * which moves them whole and tells the parent to check (SIGTERM). A daemon
 * reads commands from a FIFO that scripts write into; two processes talk
 * through FIFOs they opened by name.
 *
 * usage: fifos DIR   (makes DIR/a, DIR/b, DIR/c, DIR/d; removes them at the end)
 *
 * The parent P:
 *   A   DIR/a opened for reading and writing, kA bytes written through it
 *   AR  DIR/a again, read-only and non-blocking (its own open file)
 *   AW  DIR/a again, write-only
 *   B   DIR/b, read-only and non-blocking, its capacity raised to 1 MiB,
 *       nothing in it (a writer came and went)
 *   C   DIR/c read-only: the child writes kC bytes into it through an open
 *       of its own (write-only)
 *   D   DIR/d for reading and writing, opened before the fork: one open
 *       file with the child, P's kD bytes in it
 * "fifos: ready" once all that is written.
 *
 * After the move: AR reads A's kA bytes, then nothing (still non-blocking);
 * a write through AW comes out of AR (one FIFO); B is empty with its
 * capacity; the child writes "post" into C, and P reads kC bytes and
 * "post" (nothing lost, nothing twice: one buffer, carried once); the
 * child reads P's kD bytes from D and exits 0; the four are still FIFOs.
 * "fifos: intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kA = 3001, kC = 2002, kD = 1003, kCapacity = 1 << 20 };

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void wait_term(void)
{
	while (!done)
		usleep(20000);
}

static void fill(unsigned char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 13 + seed);
}

static int filled(const unsigned char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 13 + seed))
			return 0;
	return 1;
}

/* N bytes from FD within 10 s, or -1. */
static int read_exactly(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 10000) != 1)
			return -1;
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int fail(const char *what)
{
	printf("fifos: %s\n", what);
	return 1;
}

static int queued(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) ? -1 : n;
}

/* The child: its kC bytes into C, then after the move "post" into C and
 * P's kD bytes out of D. Its exit status is its verdict. */
static int child(const char *c_path, int d)
{
	static unsigned char buf[kC];
	int c = open(c_path, O_WRONLY);	/* P opens its read end */

	fill(buf, kC, 3);
	if (c < 0 || write(c, buf, kC) != kC)
		return 2;
	raise(SIGSTOP);	/* written: P goes on */
	wait_term();
	if (write(c, "post", 4) != 4)
		return 3;
	if (read_exactly(d, buf, kD) || !filled(buf, kD, 4))
		return 4;
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[kA + kC + 8];
	char a_path[256], b_path[256], c_path[256], d_path[256];
	int a, ar, aw, b, c, d, st;
	pid_t kid;

	if (argc != 2)
		return fail("usage: fifos DIR");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	snprintf(a_path, sizeof(a_path), "%s/a", argv[1]);
	snprintf(b_path, sizeof(b_path), "%s/b", argv[1]);
	snprintf(c_path, sizeof(c_path), "%s/c", argv[1]);
	snprintf(d_path, sizeof(d_path), "%s/d", argv[1]);
	if (mkfifo(a_path, 0600) || mkfifo(b_path, 0600) || mkfifo(c_path, 0600) ||
	    mkfifo(d_path, 0600))
		return fail("mkfifo");
	a = open(a_path, O_RDWR);
	ar = open(a_path, O_RDONLY | O_NONBLOCK);
	aw = open(a_path, O_WRONLY);
	b = open(b_path, O_RDONLY | O_NONBLOCK);
	d = open(d_path, O_RDWR);
	fill(buf, kA, 1);
	if (a < 0 || ar < 0 || aw < 0 || b < 0 || d < 0 || write(a, buf, kA) != kA ||
	    fcntl(b, F_SETPIPE_SZ, kCapacity) != kCapacity)
		return fail("opening and filling A, B and D");
	int b_writer = open(b_path, O_WRONLY);	/* came and went */

	if (b_writer < 0 || close(b_writer))
		return fail("a writer of B");
	kid = fork();
	if (kid == 0) {
		close(a);
		close(ar);
		close(aw);
		close(b);
		_exit(child(c_path, d));
	}
	c = open(c_path, O_RDONLY);	/* waits for the child's write end */
	fill(buf, kD, 4);
	if (kid < 0 || c < 0 || write(d, buf, kD) != kD)
		return fail("forking, opening C, writing D");
	if (waitpid(kid, &st, WUNTRACED) != kid || !WIFSTOPPED(st) || kill(kid, SIGCONT))
		return fail("the child did not write its bytes");
	printf("fifos: ready\n");
	wait_term();

	memset(buf, 0, sizeof(buf));
	if (read(ar, buf, sizeof(buf)) != kA || !filled(buf, kA, 1))
		return fail("A's bytes are not the ones written, or not all of them");
	if (read(ar, buf, 1) != -1 || errno != EAGAIN)
		return fail("A holds more than its bytes, or AR no longer non-blocking");
	if (write(aw, "aw", 2) != 2 || read(ar, buf, 4) != 2 || memcmp(buf, "aw", 2))
		return fail("a write through AW does not come out of AR: not one FIFO");
	if (fcntl(b, F_GETPIPE_SZ) != kCapacity || queued(b) != 0)
		return fail("B is not empty with its capacity");
	if (kill(kid, SIGTERM))
		return fail("telling the child");
	if (read_exactly(c, buf, kC + 4) || !filled(buf, kC, 3) || memcmp(buf + kC, "post", 4))
		return fail("C's bytes did not come once, followed by the child's post");
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		char what[64];

		snprintf(what, sizeof(what), "the child failed (%d): D's bytes lost or doubled",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return fail(what);
	}
	if (queued(d) != 0)
		return fail("D holds more than the child read: its bytes twice");
	const char *paths[] = { a_path, b_path, c_path, d_path };

	for (int i = 0; i < 4; i++) {
		struct stat s;

		if (stat(paths[i], &s) || !S_ISFIFO(s.st_mode))
			return fail("a FIFO is no longer one");
		unlink(paths[i]);
	}
	printf("fifos: intact\n");
	return 0;
}
