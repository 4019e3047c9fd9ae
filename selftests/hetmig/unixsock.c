// SPDX-License-Identifier: GPL-2.0
/*
 * unixsock: a process holding named unix sockets, for dump_restore.sh.
 *
 * usage: unixsock DIR          the sockets below, checked after SIGTERM
 *        unixsock DIR listen   only a listener at DIR/listen.sock (the
 *                              stale file replaced), until SIGTERM
 *        unixsock DIR tree     a tree (below), checked after SIGTERM
 *
 * It opens:
 *   L     a stream listener at DIR/listen.sock, backlog 5, its file
 *         given mode 0620
 *   A     a sequenced-packet listener at the abstract name
 *         "@hetmig-unixsock.PID"
 *   C, S  a client of L and the connection L accepted: "ping" queued at
 *         S, "pong!" at C
 *   D     a datagram socket at DIR/dgram.sock with "first" and "second"
 *         queued from an unnamed socket, then "third" from E
 *   E     a datagram socket at "@hetmig-unixsock-e.PID", connected to D
 *   H0,H1 a stream pair, H0 shut down for writing after "bye"
 *   R0,R1 a datagram pair, R0 shut down for reading
 * prints "unixsock: ready (fds ...)" and waits for SIGTERM. Then: the
 * file's mode is 0620; new clients connect to L by path and to A by
 * name and talk both ways; S reads "ping" and C "pong!", and they still
 * talk, S named DIR/listen.sock; D reads its three datagrams in order
 * (the third from E's name) and then nothing, and what E sends; H1 reads
 * "bye" and then its end of file, H0 cannot write; R1 cannot send to R0,
 * R0 can to R1. It prints "unixsock: intact" and exits 0, or names the
 * first that is not and exits 1.
 *
 * The tree: a listener at DIR/tree.sock that we and our child share (a
 * prefork daemon's), the child's client K of it and what we accepted, S:
 * "from-child" queued at S, "from-parent" at K. After SIGTERM S reads
 * "from-child", a new client of the path is accepted, and the child, told
 * to check (SIGTERM), finds "from-parent" at K and the listener still
 * listening in it too, and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t done;
static char dir[80];

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int bad(const char *what, const char *why)
{
	printf("unixsock: %s: %s\n", what, why);
	return 1;
}

/* The address of NAME: a path, or with a leading '@' an abstract name. */
static socklen_t address(const char *name, struct sockaddr_un *a)
{
	size_t len = strlen(name);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name, len);
	if (name[0] == '@')
		a->sun_path[0] = 0;
	return offsetof(struct sockaddr_un, sun_path) + len + (name[0] != '@');
}

static int bound(int type, const char *name)
{
	struct sockaddr_un a;
	socklen_t len = address(name, &a);
	int fd = socket(AF_UNIX, type, 0);

	return fd >= 0 && !bind(fd, (struct sockaddr *)&a, len) ? fd : -1;
}

static int connect_to(int fd, const char *name)
{
	struct sockaddr_un a;
	socklen_t len = address(name, &a);

	return connect(fd, (struct sockaddr *)&a, len);
}

static int client_of(int type, const char *name)
{
	int fd = socket(AF_UNIX, type, 0);

	return fd >= 0 && !connect_to(fd, name) ? fd : -1;
}

/* Whether FD reads exactly WANT now. */
static int reads(int fd, const char *want)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	return n == (ssize_t)strlen(want) && !memcmp(buf, want, n);
}

/* A new client of the listener at NAME talks with what it accepts. */
static int reachable(int listener, int type, const char *name)
{
	int c = client_of(type, name), a;
	int ok;

	if (c < 0)
		return 0;
	a = accept(listener, NULL, NULL);
	ok = a >= 0 && send(c, "hello", 5, 0) == 5 && reads(a, "hello") &&
	     send(a, "back", 4, 0) == 4 && reads(c, "back");
	close(c);
	if (a >= 0)
		close(a);
	return ok;
}

static int tree_child(int l, int k)
{
	int on = 0;
	socklen_t len = sizeof(on);

	while (!done)
		usleep(100000);
	return reads(k, "from-parent") && !getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) &&
	       on ? 0 : 1;
}

static int tree(void)
{
	char path[128];
	int l, k, s, status;
	pid_t child;

	snprintf(path, sizeof(path), "%s/tree.sock", dir);
	unlink(path);
	l = bound(SOCK_STREAM, path);
	if (l < 0 || listen(l, 4)) {
		perror("unixsock: the tree's listener");
		return 2;
	}
	child = fork();
	if (child == 0) {
		k = client_of(SOCK_STREAM, path);
		if (k < 0 || write(k, "from-child", 10) != 10)
			_exit(2);
		_exit(tree_child(l, k));
	}
	s = accept(l, NULL, NULL);
	if (child < 0 || s < 0 || write(s, "from-parent", 11) != 11) {
		perror("unixsock: the tree's connection");
		return 2;
	}
	usleep(200000);  /* the child's bytes in S */
	printf("unixsock: ready (tree, child %d)\n", child);
	fflush(stdout);
	while (!done)
		usleep(100000);
	if (!reads(s, "from-child"))
		return bad("the tree's accepted connection", "its queued bytes differ");
	if (!reachable(l, SOCK_STREAM, path))
		return bad("the tree's listener", "a new client cannot talk with it");
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		return bad("the tree's child", "its client or listener is not as it was");
	printf("unixsock: intact\n");
	return 0;
}

static int listen_only(void)
{
	char path[128];
	int l;

	snprintf(path, sizeof(path), "%s/listen.sock", dir);
	unlink(path);
	l = bound(SOCK_STREAM, path);
	if (l < 0 || listen(l, 1)) {
		perror("unixsock: listening");
		return 2;
	}
	printf("unixsock: listening\n");
	fflush(stdout);
	while (!done)
		usleep(100000);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	char lpath[128], dpath[128], abs_a[64], abs_e[64];
	int l, a, c, s, d, e, u, h[2], r[2];
	struct sockaddr_un from;
	socklen_t len = sizeof(from);
	struct stat st;
	char buf[64];

	if (argc < 2 || strlen(argv[1]) >= sizeof(dir))
		return 2;
	strcpy(dir, argv[1]);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && !strcmp(argv[2], "listen"))
		return listen_only();
	if (argc > 2 && !strcmp(argv[2], "tree"))
		return tree();
	snprintf(lpath, sizeof(lpath), "%s/listen.sock", dir);
	snprintf(dpath, sizeof(dpath), "%s/dgram.sock", dir);
	snprintf(abs_a, sizeof(abs_a), "@hetmig-unixsock.%d", getpid());
	snprintf(abs_e, sizeof(abs_e), "@hetmig-unixsock-e.%d", getpid());
	unlink(lpath);
	unlink(dpath);
	l = bound(SOCK_STREAM, lpath);
	a = bound(SOCK_SEQPACKET, abs_a);
	d = bound(SOCK_DGRAM, dpath);
	e = bound(SOCK_DGRAM, abs_e);
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (l < 0 || a < 0 || d < 0 || e < 0 || u < 0 || listen(l, 5) || listen(a, 3) ||
	    chmod(lpath, 0620) || (c = client_of(SOCK_STREAM, lpath)) < 0 ||
	    (s = accept(l, NULL, NULL)) < 0 || write(c, "ping", 4) != 4 ||
	    write(s, "pong!", 5) != 5 || connect_to(e, dpath) ||
	    sendto(u, "first", 5, 0, (struct sockaddr *)&from, address(dpath, &from)) != 5 ||
	    sendto(u, "second", 6, 0, (struct sockaddr *)&from, address(dpath, &from)) != 6 ||
	    send(e, "third", 5, 0) != 5 || socketpair(AF_UNIX, SOCK_STREAM, 0, h) ||
	    write(h[0], "bye", 3) != 3 || shutdown(h[0], SHUT_WR) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, r) || shutdown(r[0], SHUT_RD)) {
		perror("unixsock: setting up");
		return 2;
	}
	close(u);
	printf("unixsock: ready (fds L %d A %d C %d S %d D %d E %d)\n", l, a, c, s, d, e);
	fflush(stdout);
	while (!done)
		usleep(100000);

	if (stat(lpath, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0620)
		return bad(lpath, "not a socket of mode 0620");
	if (!reachable(l, SOCK_STREAM, lpath))
		return bad("the path listener", "a new client cannot talk with it");
	if (!reachable(a, SOCK_SEQPACKET, abs_a))
		return bad("the abstract listener", "a new client cannot talk with it");
	if (!reads(s, "ping") || !reads(c, "pong!"))
		return bad("the accepted connection", "its queued bytes differ");
	if (write(c, "x", 1) != 1 || !reads(s, "x") || write(s, "y", 1) != 1 || !reads(c, "y"))
		return bad("the accepted connection", "no longer connected both ways");
	if (getsockname(s, (struct sockaddr *)&from, &len) || strcmp(from.sun_path, lpath))
		return bad("the accepted connection", "not named as its listener");
	if (!reads(d, "first") || !reads(d, "second"))
		return bad("the datagram socket", "its first datagrams differ");
	len = sizeof(from);
	memset(&from, 0, sizeof(from));
	if (recvfrom(d, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len) != 5 ||
	    memcmp(buf, "third", 5) || from.sun_path[0] ||
	    len != offsetof(struct sockaddr_un, sun_path) + strlen(abs_e) ||
	    memcmp(from.sun_path + 1, abs_e + 1, strlen(abs_e) - 1))
		return bad("the datagram socket", "its third datagram differs or is not E's");
	if (recv(d, buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		return bad("the datagram socket", "more datagrams than were queued");
	if (send(e, "again", 5, 0) != 5 || !reads(d, "again"))
		return bad("the connected datagram socket", "not connected to D");
	if (!reads(h[1], "bye") || recv(h[1], buf, sizeof(buf), MSG_DONTWAIT) != 0 ||
	    write(h[0], "z", 1) != -1 || errno != EPIPE)
		return bad("the pair shut down for writing", "not as it was");
	if (send(r[1], "w", 1, MSG_DONTWAIT) != -1 || send(r[0], "v", 1, 0) != 1 ||
	    !reads(r[1], "v"))
		return bad("the datagram pair shut down for reading", "not as it was");
	printf("unixsock: intact\n");
	return 0;
}
