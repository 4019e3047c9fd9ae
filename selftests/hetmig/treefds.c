// SPDX-License-Identifier: GPL-2.0
/*
 * treefds: a process tree whose processes share descriptors, for
 * dump_restore.sh, which moves it whole and tells its root to check it
 * (SIGTERM).
 *
 * usage: treefds [FILE]   the tree below, moved; with FILE, P and C1
 *                         also write into FILE through one description
 *        treefds outside  a child X (with a child of its own) reading a
 *                         pipe we write (its fd 3): dump_restore.sh dumps
 *                         X, which must be refused naming us, and X runs
 *                         on
 *
 * The tree: we (P) and two children, C1 and C2.
 *   down   a pipe P -> C1, holding P's kDown bytes at the dump
 *   up     a pipe C1, C2 -> P: one write description both children
 *          inherited; C1's kUp bytes in it at the dump
 *   across a pipe C2 -> C1, made by P, which closed both its ends:
 *          C2's kAcross bytes in it at the dump
 *   last   a pipe whose write end P closed after writing kLast bytes,
 *          before the forks: its read end C1's and C2's, no writer left
 *   event  an eventfd P, C1 and C2 share, at 5 at the dump
 *   sock   a stream socket pair, one end P's, the other C2's: P's
 *          "hello-from-p" queued to C2, C2's kSock bytes queued to P
 *   file   FILE, opened by P before the forks, P's and C1's: "P1" and
 *          "C1" written through it at the dump; "pp" and "cc" after it
 *          must follow them (one offset), not overwrite each other
 * "treefds: ready" once all that is written.
 *
 * After the restore (SIGTERM), each writes a few bytes more into each
 * pipe and socket it writes, and C2 adds 7 to the eventfd; each reader
 * then must read exactly what was in the pipe or socket at the dump
 * followed by what came after (nothing twice, nothing lost: one pipe or
 * pair, not a copy per process), and P must read 5, then C2's 7 (one
 * eventfd); C1 reads "last"'s kLast bytes and then its end of file (its
 * write end stayed closed). C1 and C2 report their
 * verdict through "up" and by their exit status; "up" must then reach its
 * end of file (no stray write end kept by the restore). "treefds:
 * intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kDown = 3001, kUp = 2002, kAcross = 1003, kSock = 5005, kLast = 777, kRecord = 8 };

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
		p[i] = (unsigned char)(i * 7 + seed);
}

static int filled(const unsigned char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return 0;
	return 1;
}

static int write_all(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n) == (ssize_t)n ? 0 : -1;
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
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* End of file on FD within 10 s. */
static int at_eof(int fd)
{
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 10000) == 1 && read(fd, &c, 1) == 0;
}

static int fail(const char *what)
{
	printf("treefds: %s\n", what);
	return 1;
}

/* C1: reads down (P's) and across (C2's), writes "cc" into FILE. Its exit
 * status is its verdict. */
static int child_1(int down, int up, int across, int last, int file)
{
	static unsigned char buf[kDown + 4];

	wait_term();
	if (file >= 0 && write_all(file, "cc", 2))
		return 7;
	if (write_all(up, "c1 ", 3))
		return 2;
	if (read_exactly(down, buf, kDown + 4) || !filled(buf, kDown, 1) ||
	    memcmp(buf + kDown, "more", 4))
		return 3;
	if (read_exactly(across, buf, kAcross + 4) || !filled(buf, kAcross, 3) ||
	    memcmp(buf + kAcross, "post", 4))
		return 4;
	if (read_exactly(last, buf, kLast) || !filled(buf, kLast, 5) || !at_eof(last))
		return 6;
	if (write_all(up, "C1 ok  \n", kRecord))
		return 5;
	return 0;
}

/* C2: writes across and up, 7 into the eventfd, and through its socket;
 * reads P's bytes from it. */
static int child_2(int up, int across, int event, int sock)
{
	uint64_t seven = 7;
	char hello[16];

	wait_term();
	if (write_all(across, "post", 4))
		return 2;
	if (write(event, &seven, 8) != 8)
		return 3;
	if (write_all(sock, "sock", 4))
		return 5;
	if (read_exactly(sock, hello, 16) || memcmp(hello, "hello-from-pback", 16))
		return 6;
	if (write_all(up, "C2 ok  \n", kRecord))
		return 4;
	return 0;
}

static int outside(void)
{
	int p[2];

	if (pipe(p))
		return fail("pipe");
	pid_t x = fork();
	if (x == 0) {
		close(p[1]);
		if (fork() == 0) {
			wait_term();	/* X's own child, holding the read end too */
			_exit(0);
		}
		wait_term();
		char c;
		_exit(read(p[0], &c, 1) == 1 && c == 'x' ? 0 : 1);
	}
	close(p[0]);
	printf("treefds: ready %d\n", x);
	wait_term();
	int st;
	if (write_all(p[1], "x", 1) || kill(x, SIGTERM) || waitpid(x, &st, 0) != x ||
	    !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("X did not run on with its pipe");
	printf("treefds: intact\n");
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char bytes[kSock];	/* the largest of kDown, kUp, kAcross, kSock */
	int down[2], up[2], across[2], last[2], sock[2], event, file = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	if (argc > 1 && !strcmp(argv[1], "outside"))
		return outside();
	event = eventfd(0, 0);
	if (pipe(down) || pipe(up) || pipe(across) || pipe(last) || event < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sock))
		return fail("pipe, eventfd or socketpair");
	fill(bytes, kLast, 5);
	if (write_all(last[1], bytes, kLast) || close(last[1]))
		return fail("writing \"last\"");
	if (argc > 1) {
		file = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (file < 0 || write_all(file, "P1", 2))
			return fail("FILE");
	}
	pid_t c1 = fork();
	if (c1 == 0) {
		close(down[1]);
		close(up[0]);
		close(across[1]);
		close(sock[0]);
		close(sock[1]);
		fill(bytes, kUp, 2);
		if (write_all(up[1], bytes, kUp) || (file >= 0 && write_all(file, "C1", 2)))
			_exit(9);
		raise(SIGSTOP);	/* written: P goes on */
		_exit(child_1(down[0], up[1], across[0], last[0], file));
	}
	pid_t c2 = fork();
	if (c2 == 0) {
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(across[0]);
		close(sock[0]);
		if (file >= 0)
			close(file);
		fill(bytes, kAcross, 3);
		if (write_all(across[1], bytes, kAcross))
			_exit(9);
		fill(bytes, kSock, 4);
		if (write_all(sock[1], bytes, kSock))
			_exit(9);
		raise(SIGSTOP);
		_exit(child_2(up[1], across[1], event, sock[1]));
	}
	close(down[0]);
	close(up[1]);
	close(across[0]);
	close(across[1]);
	close(last[0]);
	close(sock[1]);
	fill(bytes, kDown, 1);
	uint64_t five = 5;
	if (write_all(down[1], bytes, kDown) || write(event, &five, 8) != 8 ||
	    write_all(sock[0], "hello-from-p", 12))
		return fail("writing before the dump");
	/* C1's bytes in "up", and C2's in "across", before we say ready. */
	int st1, st2;
	if (waitpid(c1, &st1, WUNTRACED) != c1 || !WIFSTOPPED(st1) ||
	    waitpid(c2, &st2, WUNTRACED) != c2 || !WIFSTOPPED(st2) ||
	    kill(c1, SIGCONT) || kill(c2, SIGCONT))
		return fail("a child did not write its bytes");
	printf("treefds: ready\n");
	wait_term();

	uint64_t count = 0;
	if (read(event, &count, 8) != 8 || count != 5)
		return fail("the eventfd lost its count or gave it twice");
	if (file >= 0 && write_all(file, "pp", 2))
		return fail("writing into FILE");
	if (write_all(down[1], "more", 4) || write_all(sock[0], "back", 4) ||
	    kill(c1, SIGTERM) || kill(c2, SIGTERM))
		return fail("telling the children");
	static unsigned char sock_bytes[kSock + 4];
	if (read_exactly(sock[0], sock_bytes, sizeof(sock_bytes)) ||
	    !filled(sock_bytes, kSock, 4) || memcmp(sock_bytes + kSock, "sock", 4))
		return fail("C2's bytes through the socket pair came wrong: not one pair");
	struct pollfd p = { .fd = event, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1 || read(event, &count, 8) != 8 || count != 7)
		return fail("C2's 7 did not reach our eventfd: not one eventfd");
	/* C1's bytes from before the dump, once, then what C1 and C2 wrote
	 * after it through their one description, in some order. */
	static unsigned char up_bytes[kUp + 3 + 2 * kRecord + 1];
	char *after = (char *)up_bytes + kUp, *c2_ok;
	if (read_exactly(up[0], up_bytes, sizeof(up_bytes) - 1)) {
		char what[96];
		if (waitpid(c1, &st1, WNOHANG) != c1)
			st1 = -1;
		snprintf(what, sizeof(what), "not all of \"up\" came (C1's status %#x)", st1);
		return fail(what);
	}
	if (!filled(up_bytes, kUp, 2))
		return fail("C1's bytes in \"up\" changed");
	c2_ok = strstr(after, "C2 ok  \n");
	if (!c2_ok)
		return fail("C2's verdict did not come through \"up\"");
	memmove(c2_ok, c2_ok + kRecord, strlen(c2_ok + kRecord) + 1);
	if (strcmp(after, "c1 C1 ok  \n"))
		return fail("C1's writes through \"up\" came wrong");
	if (waitpid(c1, &st1, 0) != c1 || waitpid(c2, &st2, 0) != c2)
		return fail("C1 or C2 is not our child");
	if (!WIFEXITED(st1) || WEXITSTATUS(st1)) {
		char what[64];
		snprintf(what, sizeof(what), "C1 failed (%d): lost or doubled bytes",
			 WIFEXITED(st1) ? WEXITSTATUS(st1) : -1);
		return fail(what);
	}
	if (!WIFEXITED(st2) || WEXITSTATUS(st2)) {
		char what[64];
		snprintf(what, sizeof(what), "C2 failed (%d)",
			 WIFEXITED(st2) ? WEXITSTATUS(st2) : -1);
		return fail(what);
	}
	if (!at_eof(up[0]))
		return fail("\"up\" has more bytes, or a write end the restore kept");
	char text[16] = {};
	if (file >= 0 && (pread(file, text, sizeof(text) - 1, 0) != 8 ||
			  strcmp(text, "P1C1ppcc") || lseek(file, 0, SEEK_CUR) != 8))
		return fail("FILE is not \"P1C1ppcc\" at offset 8: not one offset");
	printf("treefds: intact\n");
	return 0;
}
