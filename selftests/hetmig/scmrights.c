// SPDX-License-Identifier: GPL-2.0
/*
 * scmrights: a process with descriptors in flight (SCM_RIGHTS) in its
 * unix sockets' queues, for dump_restore.sh: the way a daemon hands a
 * connection or a pipe to a worker that has not taken it yet.
 *
 * usage: scmrights [file PATH]
 *
 * It opens a datagram pair D0, D1 and queues at D1, in this order:
 *   "plain"   no descriptor
 *   "reader"  the read end of pipe A, whose read end it closed; A holds
 *             "abc", its write end stays at fd AW
 *   "both"    both ends of pipe B, closed in the process, B holding
 *             "hello" (one message, two descriptors)
 *   "own"     its eventfd E (at 7), which it keeps
 *   "last"    no descriptor
 * and at a datagram socket N bound to an abstract name, from an unnamed
 * socket connected to it, "named" with the read end of pipe C (closed in
 * the process, C holding "xy", its write end at CW). It prints
 * "scmrights: ready" and waits for SIGTERM. Then it receives them in
 * order: each message with its descriptors, "abc" then what it writes
 * through AW read from the received end of A, "hello" and a write and
 * read through B's received ends, the eventfd's counter moved through the
 * received E (one file), "xy" through C's. It prints "scmrights: intact"
 * and exits 0, or names the first that is not and exits 1.
 *
 * With "file PATH", "reader" carries PATH opened for reading (and
 * closed) instead: a regular file no fd holds, which a dump refuses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int bad(const char *what, const char *why)
{
	printf("scmrights: %s: %s\n", what, why);
	return 1;
}

static int send_fds(int sock, const char *text, const int *fds, int n)
{
	char control[CMSG_SPACE(2 * sizeof(int))] = {0};
	struct iovec iov = {(void *)text, strlen(text)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n) {
		struct cmsghdr *c;

		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == (ssize_t)strlen(text) ? 0 : -1;
}

/* Receives a message that must read TEXT, with N descriptors into FDS. */
static int recv_fds(int sock, const char *text, int *fds, int n)
{
	char control[CMSG_SPACE(4 * sizeof(int))];
	char buf[64];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			    .msg_controllen = sizeof(control)};
	struct cmsghdr *c;
	ssize_t got = recvmsg(sock, &mh, MSG_DONTWAIT);
	int have = 0;

	if (got != (ssize_t)strlen(text) || memcmp(buf, text, (size_t)got))
		return bad(text, "not the message queued next");
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			have = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (have == n)
				memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		}
	if (have != n || (mh.msg_flags & MSG_CTRUNC))
		return bad(text, "not the descriptors that were in flight with it");
	return 0;
}

/* Whether reading R gives BEFORE, then what is written through W. */
static int pipe_through(int r, int w, const char *before)
{
	char buf[16] = {0};
	size_t len = strlen(before);

	if (read(r, buf, sizeof(buf)) != (ssize_t)len || memcmp(buf, before, len))
		return 0;
	if (write(w, "+", 1) != 1 || read(r, buf, sizeof(buf)) != 1 || buf[0] != '+')
		return 0;
	return 1;
}

int main(int argc, char **argv)
{
	const char *file = argc > 2 && !strcmp(argv[1], "file") ? argv[2] : NULL;
	int d[2], a[2], b[2], c[2], e, n, u, got[2];
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	socklen_t len;
	uint64_t count;

	signal(SIGTERM, on_term);
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "hetmig-scmrights-%d",
		 (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  strlen(addr.sun_path + 1));
	e = eventfd(5, 0);
	if (e < 0 || dup2(e, 7) != 7 || close(e) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, d) || pipe(a) || pipe(b) || pipe(c) ||
	    write(a[1], "abc", 3) != 3 || write(b[1], "hello", 5) != 5 ||
	    write(c[1], "xy", 2) != 2) {
		perror("scmrights: setting up");
		return 2;
	}
	e = 7;
	n = socket(AF_UNIX, SOCK_DGRAM, 0);
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (n < 0 || u < 0 || bind(n, (struct sockaddr *)&addr, len) ||
	    connect(u, (struct sockaddr *)&addr, len)) {
		perror("scmrights: a named socket");
		return 2;
	}
	if (file) {
		close(a[0]);
		if ((a[0] = open(file, O_RDONLY)) < 0) {
			perror("scmrights: opening the file");
			return 2;
		}
	}
	if (send_fds(d[0], "plain", NULL, 0) || send_fds(d[0], "reader", &a[0], 1) ||
	    send_fds(d[0], "both", b, 2) || send_fds(d[0], "own", &e, 1) ||
	    send_fds(d[0], "last", NULL, 0) || send_fds(u, "named", &c[0], 1)) {
		perror("scmrights: sending");
		return 2;
	}
	close(a[0]);
	close(b[0]);
	close(b[1]);
	close(c[0]);
	printf("scmrights: ready (fds D0 %d D1 %d AW %d E %d N %d U %d CW %d)\n", d[0], d[1],
	       a[1], e, n, u, c[1]);
	fflush(stdout);
	while (!done)
		usleep(100000);

	if (recv_fds(d[1], "plain", NULL, 0) || recv_fds(d[1], "reader", got, 1))
		return 1;
	if (!file && !pipe_through(got[0], a[1], "abc"))
		return bad("reader", "the received end is not pipe A's read end with its bytes");
	if (recv_fds(d[1], "both", got, 2))
		return 1;
	if (!pipe_through(got[0], got[1], "hello"))
		return bad("both", "the received ends are not pipe B's with its bytes");
	if (recv_fds(d[1], "own", got, 1))
		return 1;
	count = 3;
	if (write(got[0], &count, 8) != 8 || read(e, &count, 8) != 8 || count != 8)
		return bad("own", "the received eventfd is not the process's own");
	if (recv_fds(d[1], "last", NULL, 0))
		return 1;
	if (recv(d[1], &count, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		return bad("the pair", "more messages than were queued");
	if (recv_fds(n, "named", got, 1))
		return 1;
	if (!pipe_through(got[0], c[1], "xy"))
		return bad("named", "the received end is not pipe C's read end with its bytes");
	if (send(d[1], "z", 1, 0) != 1 || recv(d[0], &count, 8, MSG_DONTWAIT) != 1 ||
	    send(u, "z", 1, 0) != 1 || recv(n, &count, 8, MSG_DONTWAIT) != 1)
		return bad("the sockets", "no longer connected");
	printf("scmrights: intact\n");
	return 0;
}
