// SPDX-License-Identifier: GPL-2.0
/*
 * sockpair: a process holding unix socket pairs with messages queued in
 * them, for dump_restore.sh.
 *
 * usage: sockpair [rights]
 *
 * It opens:
 *   S0, S1  a stream pair, S0 non-blocking: 100000 bytes written to S0
 *           (queued at S1) and "back" written to S1 (queued at S0)
 *   D0, D1  a datagram pair, close-on-exec: "one", "two" and 1000 bytes
 *           sent from D0 (queued at D1, three datagrams)
 * prints "sockpair: ready" and waits for SIGTERM. Then S1 reads back the
 * 100000 bytes exactly and then nothing, S0 reads "back"; D1 reads the
 * three datagrams with their boundaries and then nothing; each pair still
 * carries a message both ways; the flags are as they were. It prints
 * "sockpair: intact" and exits 0, or names the first that is not and
 * exits 1. With "rights", D0 also sends D1 its stream socket S0
 * (SCM_RIGHTS), which a dump carries as the process's own, and the check
 * expects that message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STREAMED 100000

static volatile sig_atomic_t done;
static unsigned char buf[STREAMED + 1];

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int bad(const char *what, const char *why)
{
	printf("sockpair: %s: %s\n", what, why);
	return 1;
}

static unsigned char byte_at(int i)
{
	return (unsigned char)(i * 151 + 3);
}

static int send_fd(int sock, int fd)
{
	char control[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {"fd", 2};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			    .msg_controllen = sizeof(control)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 2 ? 0 : -1;
}

/* Whether a non-blocking read of FD finds nothing. */
static int drained(int fd)
{
	return recv(fd, buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

int main(int argc, char **argv)
{
	int s[2], d[2], rights = argc > 1 && !strcmp(argv[1], "rights");
	static unsigned char big[1000];
	int n, got;

	signal(SIGTERM, on_term);
	for (int i = 0; i < STREAMED; i++)
		buf[i] = byte_at(i);
	memset(big, 0x5a, sizeof(big));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, d) ||
	    fcntl(s[0], F_SETFL, O_NONBLOCK)) {
		perror("sockpair: socketpair");
		return 2;
	}
	for (got = 0; got < STREAMED; got += n)
		if ((n = write(s[0], buf + got, STREAMED - got)) <= 0) {
			perror("sockpair: writing the stream");
			return 2;
		}
	if (write(s[1], "back", 4) != 4 || send(d[0], "one", 3, 0) != 3 ||
	    send(d[0], "two", 3, 0) != 3 || send(d[0], big, sizeof(big), 0) != sizeof(big) ||
	    (rights && send_fd(d[0], s[0]))) {
		perror("sockpair: setting up");
		return 2;
	}
	printf("sockpair: ready (fds S0 %d S1 %d D0 %d D1 %d)\n", s[0], s[1], d[0], d[1]);
	fflush(stdout);
	while (!done)
		usleep(100000);

	for (got = 0; got < STREAMED; got += n) {
		n = recv(s[1], buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n <= 0)
			return bad("the stream pair", "fewer bytes than were queued");
	}
	for (int i = 0; i < STREAMED; i++)
		if (buf[i] != byte_at(i))
			return bad("the stream pair", "its bytes differ");
	if (!drained(s[1]))
		return bad("the stream pair", "more bytes than were queued");
	if (recv(s[0], buf, 16, MSG_DONTWAIT) != 4 || memcmp(buf, "back", 4) || !drained(s[0]))
		return bad("the stream pair", "the other way's bytes differ");
	if (recv(d[1], buf, sizeof(buf), 0) != 3 || memcmp(buf, "one", 3) ||
	    recv(d[1], buf, sizeof(buf), 0) != 3 || memcmp(buf, "two", 3) ||
	    recv(d[1], buf, sizeof(buf), 0) != sizeof(big) || memcmp(buf, big, sizeof(big)))
		return bad("the datagram pair", "its datagrams differ");
	if (rights && recv(d[1], buf, sizeof(buf), 0) != 2)
		return bad("the datagram pair", "the descriptor's message is gone");
	if (!drained(d[1]) || !drained(d[0]))
		return bad("the datagram pair", "more datagrams than were queued");
	if (write(s[1], "x", 1) != 1 || recv(s[0], buf, 2, MSG_DONTWAIT) != 1 ||
	    write(s[0], "y", 1) != 1 || recv(s[1], buf, 2, MSG_DONTWAIT) != 1 ||
	    send(d[1], "z", 1, 0) != 1 || recv(d[0], buf, 2, MSG_DONTWAIT) != 1)
		return bad("the pairs", "no longer connected both ways");
	if (!(fcntl(s[0], F_GETFL) & O_NONBLOCK) || fcntl(s[1], F_GETFL) & O_NONBLOCK ||
	    !(fcntl(d[0], F_GETFD) & FD_CLOEXEC) || fcntl(s[0], F_GETFD) & FD_CLOEXEC)
		return bad("the pairs", "their flags are not as they were");
	printf("sockpair: intact\n");
	return 0;
}
