// SPDX-License-Identifier: GPL-2.0
/*
 * tcp: a process holding TCP sockets with bytes queued in them, for
 * tcp.sh. Its checks print TAP lines ("ok - NAME", "not ok - NAME # why"),
 * which tcp.sh numbers.
 *
 * usage: tcp PEER_PORT [refuse]     the process that is moved
 *        tcp peer                   its peer, which is not moved
 *        tcp hold PORT              holds 127.0.0.1:PORT (a listener)
 *
 * The moved process opens (fds in this order):
 *   L   a listener on 127.0.0.1 (any port), SO_REUSEADDR, backlog 7,
 *       non-blocking, its receive buffer 16 KiB (what it accepts inherits)
 *   L6  a listener on [::1] (any port), IPV6_V6ONLY, close-on-exec; only
 *       where the machine has ::1
 *   C   connected to L, TCP_NODELAY, SO_KEEPALIVE, non-blocking,
 *       SO_LINGER 7 s, SO_PRIORITY 3; L has a receive timeout of 2.5 s
 *   S   accepted from L
 *   P   connected to the peer, which sent it PEER_BYTES it leaves unread
 *   UA  a UDP socket on 127.0.0.1 (any port) connected to UB
 *   UB  a UDP socket on 127.0.0.1 (any port), SO_REUSEADDR
 * C writes a pattern until the kernel takes no more: S's receive queue
 * holds what its 16 KiB window let through, C's send queue the rest (never
 * sent). S writes S_BYTES to C, P writes "hello" to the peer, neither
 * read. With "refuse" it also holds a unix socket connected to the peer's
 * (a dump refuses it after the TCP sockets were captured). It prints
 * "tcp: ready (port N port6 M)" and waits for SIGTERM. Then: S reads every
 * byte C wrote, in order, and C the S_BYTES; new bytes flow both ways; L
 * and L6 accept a new connection; P reads the peer's bytes and "pong",
 * and writes "ping"; UA and UB exchange datagrams; the addresses, ports
 * and options are as they were.
 * It ends with "tcp: intact" (exit 0) or "tcp: broken" (exit 1).
 *
 * Between two machines (tools/test/tcp-send-test) the peer listens on
 * $HETMIG_TCP_PEER (default 127.0.0.1) at port $HETMIG_TCP_PORT (default
 * any), and P is bound to $HETMIG_TCP_LOCAL (default: the kernel's
 * choice) before it connects to the peer's address.
 *
 * The peer listens (above) and on the abstract unix address
 * "hetmig-tcp-peer", prints "peer: ready (port N)", accepts one
 * TCP connection, sends it PEER_BYTES and waits for SIGTERM. Then the
 * connection must still be open (no FIN or RST came while the other end
 * moved), "hello" must be there to read; it writes "pong", reads "ping"
 * and prints "peer: intact" or "peer: broken".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_BYTES 2000
#define PEER_BYTES 1500
#define MAX_WRITTEN (1 << 20)

static volatile sig_atomic_t done;
static unsigned char buf[MAX_WRITTEN];
static int failed;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void check(int ok, const char *name, const char *why)
{
	if (ok) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s # %s\n", name, why);
		failed = 1;
	}
}

static unsigned char byte_at(long i)
{
	return (unsigned char)(i * 151 + 7);
}

static void wait_term(void)
{
	while (!done)
		usleep(100000);
}

/* Reads exactly LEN bytes of FD into OUT, waiting up to 20 s: 0 or -1. */
static int read_exactly(int fd, unsigned char *out, long len)
{
	long got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 20000) != 1)
			return -1;
		n = recv(fd, out + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* Whether connection FD is open both ways: no FIN or RST came. */
static int alive(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	return !getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len) &&
	       info.tcpi_state == TCP_ESTABLISHED;
}

/* Whether FD has nothing more to read now (and is not closed). */
static int drained(int fd)
{
	unsigned char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static int listener(int family, int reuse, int v6only, int rcvbuf, int flags)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, SOCK_STREAM | flags, 0);

	if (fd < 0)
		return -1;
	if ((reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse))) ||
	    (v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only))) ||
	    (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))))
		return -1;
	if (family == AF_INET ? bind(fd, (struct sockaddr *)&in, sizeof(in))
			      : bind(fd, (struct sockaddr *)&in6, sizeof(in6)))
		return -1;
	if (listen(fd, 7))
		return -1;
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin6_port);	/* at the same offset in sockaddr_in */
}

static int connect_to(int family, int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET ? connect(fd, (struct sockaddr *)&in, sizeof(in))
			      : connect(fd, (struct sockaddr *)&in6, sizeof(in6))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int abstract_unix(int listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen("hetmig-tcp-peer");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path + 1, "hetmig-tcp-peer");
	if (fd < 0)
		return -1;
	if (listening ? bind(fd, (struct sockaddr *)&a, len) || listen(fd, 1)
		      : connect(fd, (struct sockaddr *)&a, len))
		return -1;
	return fd;
}

/* A listener FD still takes a connection of FAMILY, which carries a byte. */
static int accepts(int fd, int family)
{
	int c = connect_to(family, port_of(fd)), a = -1, ok;
	struct pollfd p = { fd, POLLIN, 0 };
	unsigned char x = 0;

	if (c < 0 || poll(&p, 1, 10000) != 1)
		return 0;
	a = accept(fd, NULL, NULL);
	ok = a >= 0 && write(c, "a", 1) == 1 && read_exactly(a, &x, 1) == 0 && x == 'a';
	close(c);
	close(a);
	return ok;
}

static int flag(int fd, int level, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, opt, &v, &len) ? -1 : v;
}

/* $NAME, or FALLBACK. */
static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

/* A TCP listener on $HETMIG_TCP_PEER:$HETMIG_TCP_PORT. */
static int peer_listener(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons(atoi(env_or("HETMIG_TCP_PORT", "0"))) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, env_or("HETMIG_TCP_PEER", "127.0.0.1"), &in.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&in, sizeof(in)) || listen(fd, 1))
		return -1;
	return fd;
}

/* P: from $HETMIG_TCP_LOCAL (if set) to the peer at PORT. */
static int connect_to_peer(int port)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	const char *local = getenv("HETMIG_TCP_LOCAL");
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, env_or("HETMIG_TCP_PEER", "127.0.0.1"), &to.sin_addr) != 1)
		return -1;
	if (local && (inet_pton(AF_INET, local, &from.sin_addr) != 1 ||
		      bind(fd, (struct sockaddr *)&from, sizeof(from))))
		return -1;
	/* Another machine's peer may not listen yet: up to a minute. */
	for (int i = 0; connect(fd, (struct sockaddr *)&to, sizeof(to)); i++) {
		if ((errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH &&
		     errno != ETIMEDOUT) || i == 300) {
			close(fd);
			return -1;
		}
		usleep(200000);
	}
	return fd;
}

static int peer(void)
{
	int l = peer_listener(), u = abstract_unix(1), c;
	unsigned char in[16];

	if (l < 0 || u < 0) {
		perror("peer: listening");
		return 2;
	}
	printf("peer: ready (port %d)\n", port_of(l));
	fflush(stdout);
	c = accept(l, NULL, NULL);
	for (int i = 0; i < PEER_BYTES; i++)
		buf[i] = byte_at(i + 99);
	if (c < 0 || write(c, buf, PEER_BYTES) != PEER_BYTES) {
		perror("peer: accepting");
		return 2;
	}
	wait_term();
	check(alive(c), "tcp.peer_connection_open_after_the_move",
	      "it was closed or reset");
	check(read_exactly(c, in, 5) == 0 && !memcmp(in, "hello", 5),
	      "tcp.peer_reads_what_was_queued", "not \"hello\"");
	check(write(c, "pong", 4) == 4, "tcp.peer_writes", "write failed");
	check(read_exactly(c, in, 4) == 0 && !memcmp(in, "ping", 4), "tcp.peer_reads_new_bytes",
	      "not \"ping\"");
	printf("peer: %s\n", failed ? "broken" : "intact");
	return failed;
}

static int hold(int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) || listen(fd, 1)) {
		perror("hold: bind");
		return 2;
	}
	printf("hold: ready\n");
	fflush(stdout);
	wait_term();
	return 0;
}

int main(int argc, char **argv)
{
	int one = 1, three = 3, sndbuf = 16384, l, l6, c, s, p, u = -1, ua, ub;
	struct linger linger_7 = { 1, 7 };
	struct timeval timeout = { 2, 500000 };
	struct sockaddr_in ua_local, ub_local;
	struct sockaddr_in6 c_local, c_peer, s_local, s_peer, a;
	socklen_t len;
	long written = 0;
	ssize_t n;

	signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "peer"))
		return peer();
	if (argc > 2 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[2]));
	if (argc < 2) {
		fprintf(stderr, "usage: tcp PEER_PORT [refuse] | tcp peer | tcp hold PORT\n");
		return 2;
	}
	l = listener(AF_INET, 1, 0, 16384, SOCK_NONBLOCK);
	l6 = listener(AF_INET6, 0, 1, 0, SOCK_CLOEXEC);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || c < 0 || setsockopt(c, SOL_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) ||
	    setsockopt(c, SOL_SOCKET, SO_LINGER, &linger_7, sizeof(linger_7)) ||
	    setsockopt(c, SOL_SOCKET, SO_PRIORITY, &three, sizeof(three)) ||
	    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout))) {
		perror("tcp: setting up");
		return 2;
	}
	{
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port_of(l)),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct pollfd pl = { l, POLLIN, 0 };

		if (connect(c, (struct sockaddr *)&to, sizeof(to)) || poll(&pl, 1, 10000) != 1 ||
		    (s = accept(l, NULL, NULL)) < 0) {
			perror("tcp: connecting");
			return 2;
		}
	}
	p = connect_to_peer(atoi(argv[1]));
	if (p < 0 || read_exactly(p, buf, 1) || fcntl(c, F_SETFL, O_NONBLOCK)) {
		perror("tcp: connecting to the peer");
		return 2;
	}
	ua = socket(AF_INET, SOCK_DGRAM, 0);
	ub = socket(AF_INET, SOCK_DGRAM, 0);
	ub_local = (struct sockaddr_in){ .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ua_local = ub_local;
	len = sizeof(ub_local);
	if (ua < 0 || ub < 0 || setsockopt(ub, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ub, (struct sockaddr *)&ub_local, sizeof(ub_local)) ||
	    getsockname(ub, (struct sockaddr *)&ub_local, &len) ||
	    bind(ua, (struct sockaddr *)&ua_local, sizeof(ua_local)) ||
	    connect(ua, (struct sockaddr *)&ub_local, sizeof(ub_local)) ||
	    getsockname(ua, (struct sockaddr *)&ua_local, &len)) {
		perror("tcp: UDP sockets");
		return 2;
	}
	/* The peer's bytes are all there before the dump. */
	usleep(200000);
	if (argc > 2 && !strcmp(argv[2], "refuse") && (u = abstract_unix(0)) < 0) {
		perror("tcp: connecting to the peer's unix socket");
		return 2;
	}
	for (long i = 0; i < MAX_WRITTEN; i++)
		buf[i] = byte_at(i);
	/* Until the kernel takes no more: then the window is closed. */
	for (int idle = 0; idle < 5 && written < MAX_WRITTEN;) {
		n = write(c, buf + written, 4096 < MAX_WRITTEN - written ? 4096 : MAX_WRITTEN - written);
		if (n > 0) {
			written += n;
			idle = 0;
		} else {
			idle++;
			usleep(100000);
		}
	}
	for (int i = 0; i < S_BYTES; i++)
		buf[MAX_WRITTEN - S_BYTES + i] = byte_at(i + 5);
	if (write(s, buf + MAX_WRITTEN - S_BYTES, S_BYTES) != S_BYTES || write(p, "hello", 5) != 5) {
		perror("tcp: writing");
		return 2;
	}
	len = sizeof(c_local);
	getsockname(c, (struct sockaddr *)&c_local, &len);
	len = sizeof(c_peer);
	getpeername(c, (struct sockaddr *)&c_peer, &len);
	len = sizeof(s_local);
	getsockname(s, (struct sockaddr *)&s_local, &len);
	len = sizeof(s_peer);
	getpeername(s, (struct sockaddr *)&s_peer, &len);
	printf("tcp: ready (port %d port6 %d written %ld fds L %d L6 %d C %d S %d P %d U %d "
	       "UA %d UB %d)\n", port_of(l), l6 < 0 ? 0 : port_of(l6), written, l, l6, c, s, p, u,
	       ua, ub);
	wait_term();

	/* What was queued before the move, in order, and nothing more. */
	{
		static unsigned char got[MAX_WRITTEN];
		int same = read_exactly(s, got, written) == 0;

		for (long i = 0; same && i < written; i++)
			same = got[i] == byte_at(i);
		check(same && drained(s), "tcp.queued_bytes_arrive_in_order",
		      "S did not read exactly what C had written");
		same = read_exactly(c, got, S_BYTES) == 0;
		for (int i = 0; same && i < S_BYTES; i++)
			same = got[i] == byte_at(i + 5);
		check(same && drained(c), "tcp.queued_bytes_the_other_way",
		      "C did not read exactly what S had written");
		same = read_exactly(p, got, PEER_BYTES - 1) == 0;
		for (int i = 0; same && i < PEER_BYTES - 1; i++)
			same = got[i] == byte_at(i + 1 + 99);
		same = same && read_exactly(p, got, 4) == 0 && !memcmp(got, "pong", 4);
		check(same, "tcp.peer_bytes_arrive", "P did not read the peer's bytes and \"pong\"");
		check(write(p, "ping", 4) == 4, "tcp.writes_to_the_peer", "write failed");
	}
	{
		unsigned char x[4];

		check(write(c, "ping", 4) == 4 && read_exactly(s, x, 4) == 0 && !memcmp(x, "ping", 4) &&
		      write(s, "pong", 4) == 4 && read_exactly(c, x, 4) == 0 && !memcmp(x, "pong", 4),
		      "tcp.new_bytes_flow_both_ways", "ping/pong between C and S failed");
	}
	{
		struct sockaddr_in at;
		unsigned char x[8];
		socklen_t alen = sizeof(at);
		int same = !getsockname(ua, (struct sockaddr *)&at, &alen) &&
			   at.sin_port == ua_local.sin_port;

		alen = sizeof(at);
		same = same && !getsockname(ub, (struct sockaddr *)&at, &alen) &&
		       at.sin_port == ub_local.sin_port && flag(ub, SOL_SOCKET, SO_REUSEADDR) == 1;
		check(same, "tcp.udp_addresses_and_options", "a UDP socket's port or option changed");
		check(send(ua, "dgram", 5, 0) == 5 && read_exactly(ub, x, 5) == 0 && !memcmp(x, "dgram", 5) &&
		      sendto(ub, "back", 4, 0, (struct sockaddr *)&ua_local, sizeof(ua_local)) == 4 &&
		      read_exactly(ua, x, 4) == 0 && !memcmp(x, "back", 4),
		      "tcp.udp_datagrams_both_ways", "UA and UB no longer exchange datagrams");
	}
	check(accepts(l, AF_INET), "tcp.listener_accepts", "no new connection on L");
	if (l6 >= 0)
		check(accepts(l6, AF_INET6), "tcp.ipv6_listener_accepts", "no new connection on L6");
	else
		printf("ok - tcp.ipv6_listener_accepts # SKIP this machine has no ::1\n");
	len = sizeof(a);
	check(!getsockname(c, (struct sockaddr *)&a, &len) && !memcmp(&a, &c_local, len) &&
	      !getpeername(c, (struct sockaddr *)&a, &len) && !memcmp(&a, &c_peer, len) &&
	      !getsockname(s, (struct sockaddr *)&a, &len) && !memcmp(&a, &s_local, len) &&
	      !getpeername(s, (struct sockaddr *)&a, &len) && !memcmp(&a, &s_peer, len),
	      "tcp.same_addresses_and_ports", "a connection's addresses changed");
	check((fcntl(l, F_GETFL) & O_NONBLOCK) && !(fcntl(l, F_GETFD) & FD_CLOEXEC) &&
	      (fcntl(c, F_GETFL) & O_NONBLOCK) && !(fcntl(s, F_GETFL) & O_NONBLOCK) &&
	      (l6 < 0 || (fcntl(l6, F_GETFD) & FD_CLOEXEC)),
	      "tcp.fd_flags_as_they_were", "O_NONBLOCK or FD_CLOEXEC changed");
	/* S inherited L's SO_REUSEADDR; leaving repair mode clears it. */
	check(flag(l, SOL_SOCKET, SO_REUSEADDR) == 1 && flag(c, SOL_TCP, TCP_NODELAY) == 1 &&
	      flag(c, SOL_SOCKET, SO_KEEPALIVE) == 1 && flag(s, SOL_SOCKET, SO_REUSEADDR) == 1 &&
	      flag(c, SOL_SOCKET, SO_REUSEADDR) == 0 &&
	      (l6 < 0 || flag(l6, IPPROTO_IPV6, IPV6_V6ONLY) == 1),
	      "tcp.options_as_they_were", "SO_REUSEADDR, TCP_NODELAY, SO_KEEPALIVE or V6ONLY differ");
	{
		struct linger lg = { 0, 0 };
		struct timeval tv = { 0, 0 };
		socklen_t lg_len = sizeof(lg), tv_len = sizeof(tv);

		check(!getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &lg_len) && lg.l_onoff &&
		      lg.l_linger == 7 && flag(c, SOL_SOCKET, SO_PRIORITY) == 3 &&
		      !getsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, &tv_len) && tv.tv_sec == 2 &&
		      tv.tv_usec == 500000 && flag(s, SOL_SOCKET, SO_PRIORITY) == 0,
		      "tcp.socket_options_as_they_were",
		      "SO_LINGER, SO_PRIORITY or SO_RCVTIMEO differ");
	}
	printf("tcp: %s\n", failed ? "broken" : "intact");
	return failed;
}
