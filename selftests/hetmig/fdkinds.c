// SPDX-License-Identifier: GPL-2.0
/*
 * fdkinds: descriptors of kinds zdtm's tests hold (symlink, proc-self,
 * child_opened_proc, memfd02, socket_udplite, socket_udp_shutdown,
 * file_fown, cwd01, unlink_fifo), for dump_restore.sh, which moves us and our child and tells
 * us to check (SIGTERM). DIR: a directory of our own.
 *
 * We hold an O_PATH descriptor of a symbolic link (DIR/link to "target"),
 * our network and UTS namespaces (/proc/self/ns), our own /proc/self/stat
 * read part-way and our child's /proc/PID/status, a UDP-Lite socket bound
 * on 127.0.0.1 with its checksum coverage set, two UDP sockets connected
 * to each other, one shut down for sending and the other for receiving,
 * and a pipe that signals us (F_SETOWN, F_SETSIG SIGUSR1, O_ASYNC) when
 * our child writes into it. Our child's working directory (DIR/gone) was
 * removed. A FIFO holds "fifo" and was deleted (zdtm's unlink_fifo).
 * "fdkinds: ready".
 *
 * On SIGTERM: the link's descriptor is still a link to "target"; the
 * namespace descriptors are the namespaces we are in; the /proc files read
 * on from where they were, ours about us, the child's about the child;
 * the UDP-Lite socket has its address and coverage, and a datagram sent
 * to it arrives; the shut-down sockets refuse to send and to receive as
 * before; the pipe's owner, signal and O_ASYNC are as they were, and our
 * child's write raises SIGUSR1 in us; the child is still in its removed
 * directory (/proc/self/cwd reads as it did); the FIFO, still deleted,
 * holds its bytes once. "fdkinds: intact" and exit 0, or
 * what is not and exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UDPLITE_SEND_CSCOV 10	/* the kernel's include/net/udplite.h */

static volatile sig_atomic_t done, signalled;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	signalled++;
}

static int fail(const char *what)
{
	printf("fdkinds: %s (errno %d)\n", what, errno);
	return 1;
}

static int same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int main(int argc, char **argv)
{
	char link[256], buf[256], stat_head[64], status_path[64];
	struct sockaddr_in lite_addr = loopback(28811), a_addr = loopback(28812),
			   b_addr = loopback(28813);
	int lnk, net, uts, self_stat, kid_status, lite, a, b, p[2], st, fifo;
	pid_t kid;

	if (argc != 2)
		return fail("usage: fdkinds DIR");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	/* The child first: it shares the pipe with us, nothing else. */
	if (pipe(p))
		return fail("pipe");
	kid = fork();
	if (kid == 0) {
		char gone[256], was[512] = "", is[512] = "";

		/* Our working directory, removed (zdtm's cwd01). */
		close(p[0]);
		snprintf(gone, sizeof(gone), "%s/gone", argv[1]);
		if (mkdir(gone, 0700) || chdir(gone) || rmdir(gone) ||
		    readlink("/proc/self/cwd", was, sizeof(was) - 1) <= 0)
			return 3;
		while (!done)
			usleep(20000);
		if (readlink("/proc/self/cwd", is, sizeof(is) - 1) <= 0 || strcmp(was, is) ||
		    access(".", X_OK))
			return 4;
		return write(p[1], "x", 1) == 1 ? 0 : 2;
	}
	snprintf(link, sizeof(link), "%s/link", argv[1]);
	if (symlink("target", link))
		return fail("symlink");
	lnk = open(link, O_PATH | O_NOFOLLOW);
	snprintf(buf, sizeof(buf), "%s/fifo", argv[1]);
	if (mkfifo(buf, 0600))
		return fail("mkfifo");
	fifo = open(buf, O_RDWR | O_NONBLOCK);
	if (fifo < 0 || write(fifo, "fifo", 4) != 4 || unlink(buf))
		return fail("a FIFO with bytes, deleted");
	net = open("/proc/self/ns/net", O_RDONLY);
	uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	self_stat = open("/proc/self/stat", O_RDONLY);
	if (lnk < 0 || net < 0 || uts < 0 || self_stat < 0)
		return fail("opening the link, the namespaces, /proc/self/stat");
	if (read(self_stat, stat_head, 8) != 8)
		return fail("reading /proc/self/stat");
	snprintf(status_path, sizeof(status_path), "/proc/%d/status", kid);
	kid_status = open(status_path, O_RDONLY);
	if (kid < 0 || kid_status < 0)
		return fail("forking, opening the child's status");
	lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	int cscov = 20;

	if (lite < 0 || setsockopt(lite, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &cscov,
				   sizeof(cscov)) ||
	    bind(lite, (struct sockaddr *)&lite_addr, sizeof(lite_addr)))
		return fail("a UDP-Lite socket");
	a = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	b = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	if (a < 0 || b < 0 || bind(a, (struct sockaddr *)&a_addr, sizeof(a_addr)) ||
	    bind(b, (struct sockaddr *)&b_addr, sizeof(b_addr)) ||
	    connect(a, (struct sockaddr *)&b_addr, sizeof(b_addr)) ||
	    connect(b, (struct sockaddr *)&a_addr, sizeof(a_addr)) ||
	    shutdown(a, SHUT_WR) || shutdown(b, SHUT_RD))
		return fail("two UDP sockets shut down");
	if (fcntl(p[0], F_SETOWN, getpid()) || fcntl(p[0], F_SETSIG, SIGUSR1) ||
	    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC))
		return fail("the pipe's owner");
	printf("fdkinds: ready\n");
	while (!done)
		usleep(20000);

	struct stat s;

	if (fstat(lnk, &s) || !S_ISLNK(s.st_mode))
		return fail("the O_PATH descriptor is no symbolic link");
	ssize_t n = readlinkat(lnk, "", buf, sizeof(buf));

	if (n != 6 || memcmp(buf, "target", 6))
		return fail("the symbolic link leads elsewhere");
	if (fstat(fifo, &s) || !S_ISFIFO(s.st_mode) || s.st_nlink ||
	    read(fifo, buf, sizeof(buf)) != 4 || memcmp(buf, "fifo", 4))
		return fail("the deleted FIFO is not one, or its bytes are not there once");
	if (!same_file(net, "/proc/self/ns/net") || !same_file(uts, "/proc/self/ns/uts"))
		return fail("a namespace descriptor is not our namespace");
	if (!(fcntl(uts, F_GETFD) & FD_CLOEXEC) || (fcntl(net, F_GETFD) & FD_CLOEXEC))
		return fail("a namespace descriptor's close-on-exec flag changed");
	char mine[64];

	snprintf(mine, sizeof(mine), "%d (", getpid());
	if (lseek(self_stat, 0, SEEK_CUR) != 8 || pread(self_stat, buf, 64, 0) < 8 ||
	    strncmp(buf, mine, strlen(mine)))
		return fail("/proc/self/stat is not ours, or not at its offset");
	n = read(kid_status, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	char kid_pid[32];

	snprintf(kid_pid, sizeof(kid_pid), "\nPid:\t%d\n", kid);
	if (n <= 0 || !strstr(buf, kid_pid))
		return fail("the child's status is not the child's");
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	int v = 0;

	len = sizeof(v);
	if (getsockopt(lite, SOL_SOCKET, SO_PROTOCOL, &v, &len) || v != IPPROTO_UDPLITE)
		return fail("the UDP-Lite socket is of another protocol");
	len = sizeof(v);
	if (getsockopt(lite, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, &len) || v != 20)
		return fail("the UDP-Lite socket's checksum coverage is lost");
	len = sizeof(got);
	if (getsockname(lite, (struct sockaddr *)&got, &len) || got.sin_port != lite_addr.sin_port)
		return fail("the UDP-Lite socket's address is lost");
	int sender = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);

	if (sender < 0 || sendto(sender, "lite", 4, 0, (struct sockaddr *)&lite_addr,
				 sizeof(lite_addr)) != 4 ||
	    recv(lite, buf, sizeof(buf), 0) != 4 || memcmp(buf, "lite", 4))
		return fail("a datagram to the UDP-Lite socket did not arrive");
	errno = 0;
	if (send(a, "a", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		return fail("the socket shut down for sending sends");
	if (send(b, "b", 1, MSG_NOSIGNAL) != 1 || recv(a, buf, sizeof(buf), MSG_DONTWAIT) != 1)
		return fail("the socket shut down for receiving does not send");
	struct pollfd pa = { a, POLLRDHUP, 0 }, pb = { b, POLLRDHUP, 0 };

	if (poll(&pa, 1, 0) != 0 || poll(&pb, 1, 0) != 1 || !(pb.revents & POLLRDHUP))
		return fail("the sockets' shutdown directions are not the ones they had");
	if (fcntl(p[0], F_GETOWN) != getpid() || fcntl(p[0], F_GETSIG) != SIGUSR1 ||
	    !(fcntl(p[0], F_GETFL) & O_ASYNC))
		return fail("the pipe's owner, signal or O_ASYNC is lost");
	if (kill(kid, SIGTERM) || waitpid(kid, &st, 0) != kid || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		return fail(WIFEXITED(st) && WEXITSTATUS(st) == 4
				    ? "the child's removed working directory is not as it was"
				    : "the child did not write");
	for (int i = 0; i < 100 && !signalled; i++)
		usleep(20000);
	if (!signalled)
		return fail("no SIGUSR1 when the child wrote into the pipe");
	unlink(link);
	printf("fdkinds: intact\n");
	return 0;
}
