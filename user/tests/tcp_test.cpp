// SPDX-License-Identifier: GPL-2.0
// TCP and UDP sockets (user/src/fds/tcp.h, udp.h): their records in the
// image (format 5,
// read back whole; mislabelled or impossible ones refused), the send
// queue's split and the queues' first sequence numbers; and, as root
// (TCP_REPAIR needs CAP_NET_ADMIN), a stopped child's loopback listener
// and connection captured with their queues and left working, and made
// again in this process with every byte.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <linux/hetmig.h>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "fds/tcp.h"
#include "fds/unix_pairs.h"
#include "image_bytes.h"
#include "stopped_child.h"

namespace hetmig {
namespace {

using testing::decode;
using testing::encode;
using testing::expect_refused;
using testing::fd_of;
using testing::finish;
using testing::one_process;
using testing::stopped_child;
using testing::version_of;

std::vector<uint8_t> bytes_of(const std::string &s)
{
	return {s.begin(), s.end()};
}

InetAddress inet(int family, const char *text, uint16_t port)
{
	InetAddress a;
	a.family = family;
	inet_pton(family, text, a.addr.data());
	a.port = port;
	return a;
}

InetAddress v4(const char *text, uint16_t port)
{
	return inet(AF_INET, text, port);
}

InetAddress v6(const char *text, uint16_t port)
{
	return inet(AF_INET6, text, port);
}

OpenFile tcp_file(int fd, TcpSocket s)
{
	OpenFile f;
	f.fd = fd;
	f.path = strf("socket:[%d]", 900 + fd);
	f.flags = O_RDWR;
	f.tcp = std::move(s);
	return f;
}

// A process with a listener on 10.0.0.5:80, an IPv6 connection with bytes
// queued both ways and a dup of it.
Image tcp_image()
{
	Image img = one_process(42);
	TcpSocket l;
	l.state = TCP_LISTEN;
	l.local = v4("10.0.0.5", 80);
	l.backlog = 128;
	l.reuseaddr = true;
	img.files.push_back(tcp_file(3, l));
	img.files.back().flags |= O_NONBLOCK;
	TcpSocket c;
	c.state = TCP_ESTABLISHED;
	c.local = v6("fe80::1", 4000);
	c.local.scope_id = 2;
	c.peer = v6("fe80::2", 39422);
	c.peer.scope_id = 2;
	c.nodelay = c.keepalive = c.v6only = true;
	c.keepidle = 60;
	c.keepintvl = 10;
	c.keepcnt = 5;
	c.sndbuf = 87040;
	c.rcvbuf = 131072;
	TcpConnection t;
	t.send_seq = 5;		// the send queue wraps around 2^32
	t.send_queue = bytes_of("sent-unacked|never-sent");
	t.unsent = 10;
	t.recv_seq = 777;
	t.recv_queue = bytes_of("to be read");
	t.mss = 1440;
	t.options = TCPI_OPT_SACK | TCPI_OPT_WSCALE | TCPI_OPT_TIMESTAMPS;
	t.snd_wscale = 7;
	t.rcv_wscale = 9;
	t.timestamp = 123456;
	t.has_window = true;
	t.snd_wl1 = 700;
	t.snd_wnd = 65535;
	t.max_window = 65535;
	t.rcv_wnd = 64000;
	t.rcv_wup = 770;
	c.connection = t;
	img.files.push_back(tcp_file(4, c));
	UdpSocket u;
	u.local = v4("10.0.0.5", 53);
	u.peer = v4("10.0.0.9", 5353);
	u.reuseaddr = u.broadcast = true;
	OpenFile udp = tcp_file(5, TcpSocket{});
	udp.tcp.reset();
	udp.udp = u;
	img.files.push_back(udp);
	OpenFile dup;
	dup.fd = 7;
	dup.path = img.files.back().path;
	dup.flags = O_RDWR | O_CLOEXEC;
	dup.dup_of = 4;
	img.files.push_back(dup);
	return img;
}

TEST(TcpImage, SocketsReadBackInFormat5)
{
	auto bytes = encode(tcp_image(), false);
	EXPECT_EQ(version_of(bytes), kImageFormatInet);
	EXPECT_EQ(kImageFormatInet, 5u);
	auto got = decode(bytes);
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	ASSERT_EQ(got->files.size(), 4u);
	const TcpSocket &l = *got->files[0].tcp;
	EXPECT_EQ(l.state, TCP_LISTEN);
	EXPECT_EQ(fds::address_text(l.local), "10.0.0.5:80");
	EXPECT_EQ(l.backlog, 128);
	EXPECT_TRUE(l.reuseaddr);
	EXPECT_FALSE(l.connection);
	EXPECT_EQ(got->files[0].flags & O_NONBLOCK, O_NONBLOCK);
	ASSERT_TRUE(got->files[1].tcp && got->files[1].tcp->connection);
	const TcpSocket &c = *got->files[1].tcp;
	const TcpSocket want = *tcp_image().files[1].tcp;
	EXPECT_EQ(fds::address_text(c.local), "[fe80::1]:4000");
	EXPECT_EQ(fds::address_text(c.peer), "[fe80::2]:39422");
	EXPECT_EQ(c.local.scope_id, 2u);
	EXPECT_TRUE(c.nodelay && c.keepalive && c.v6only && !c.reuseaddr);
	EXPECT_EQ(c.keepidle, 60);
	EXPECT_EQ(c.keepintvl, 10);
	EXPECT_EQ(c.keepcnt, 5);
	EXPECT_EQ(c.sndbuf, 87040u);
	EXPECT_EQ(c.rcvbuf, 131072u);
	const TcpConnection &t = *c.connection, &w = *want.connection;
	EXPECT_EQ(t.send_seq, w.send_seq);
	EXPECT_EQ(t.recv_seq, w.recv_seq);
	EXPECT_EQ(t.send_queue, w.send_queue);
	EXPECT_EQ(t.unsent, w.unsent);
	EXPECT_EQ(t.recv_queue, w.recv_queue);
	EXPECT_EQ(t.mss, w.mss);
	EXPECT_EQ(t.options, w.options);
	EXPECT_EQ(t.snd_wscale, 7);
	EXPECT_EQ(t.rcv_wscale, 9);
	EXPECT_EQ(t.timestamp, w.timestamp);
	EXPECT_TRUE(t.has_window);
	EXPECT_EQ(t.snd_wl1, w.snd_wl1);
	EXPECT_EQ(t.snd_wnd, w.snd_wnd);
	EXPECT_EQ(t.max_window, w.max_window);
	EXPECT_EQ(t.rcv_wnd, w.rcv_wnd);
	EXPECT_EQ(t.rcv_wup, w.rcv_wup);
	ASSERT_TRUE(got->files[2].udp);
	const UdpSocket &u = *got->files[2].udp;
	EXPECT_EQ(fds::address_text(u.local), "10.0.0.5:53");
	EXPECT_EQ(fds::address_text(u.peer), "10.0.0.9:5353");
	EXPECT_TRUE(u.reuseaddr && u.broadcast && !u.reuseport && !u.v6only);
	EXPECT_EQ(got->files[3].dup_of, 4);
	EXPECT_FALSE(got->files[3].tcp);
	// A UDP socket alone makes format 5 too.
	Image udp_only = tcp_image();
	udp_only.files = {udp_only.files[2]};
	EXPECT_EQ(version_of(encode(udp_only, false)), kImageFormatInet);

	// Without TCP sockets one process is still written as format 2.
	Image plain = tcp_image();
	plain.files.clear();
	EXPECT_EQ(version_of(encode(plain, false)), kImageFormatSingle);
	// A tree member's socket makes the tree's image format 5.
	Image tree = plain;
	tree.members.push_back(tcp_image());
	tree.members[0].pid = tree.members[0].threads[0].tid = 43;
	EXPECT_EQ(version_of(encode(tree, false)), kImageFormatInet);
}

TEST(TcpImage, MislabelledOrImpossibleSocketsAreRefused)
{
	expect_refused(tcp_image(), "a TCP or UDP socket in a format 1 to 4 image", 4);
	Image img = tcp_image();
	img.files[1].tcp->connection->unsent = 100;
	expect_refused(img, "fd 4: a TCP socket with queues out of range");
	img = tcp_image();
	img.files[1].tcp->connection.reset();
	expect_refused(img, "fd 4: a TCP socket whose connection does not match its state");
	img = tcp_image();
	img.files[0].tcp->connection = TcpConnection{};
	expect_refused(img, "fd 3: a TCP socket whose connection does not match its state");
	img = tcp_image();
	img.files[0].tcp->state = TCP_SYN_SENT;
	expect_refused(img, "fd 3: a TCP socket in another state");
	img = tcp_image();
	img.files[0].tcp->local.family = AF_UNIX;
	expect_refused(img, "fd 3: a TCP socket of another address family");
	img = tcp_image();
	img.files[1].tcp->peer = v4("10.0.0.9", 5);
	expect_refused(img, "fd 4: a TCP socket connected without both addresses");
	img = tcp_image();
	img.files[1].tcp->connection->rcv_wscale = 15;
	expect_refused(img, "fd 4: a TCP socket with a window scale out of range");
	img = tcp_image();
	img.files[2].udp->peer = v6("::1", 53);
	expect_refused(img, "fd 5: a UDP socket connected to a peer of another family");
	img = tcp_image();
	img.files[2].udp->local.family = AF_UNIX;
	expect_refused(img, "fd 5: a UDP socket of another address family");
	img = tcp_image();
	img.files[2].tcp = TcpSocket{};
	expect_refused(img, "fd 5: a UDP socket that is something else too");
	img = tcp_image();
	img.files[0].eventfd = EventCounter{};
	expect_refused(img, "fd 3: a TCP socket that is something else too");
}

// A UDP-Lite socket's protocol and checksum coverage, a UDP socket's
// shutdown state and IP_FREEBIND (of TCP sockets too) are optional keys: read back as written, absent
// in an older image (a UDP socket open both ways); out of range refused.
TEST(TcpImage, UdpLiteAndShutdownReadBack)
{
	Image img = tcp_image();
	img.files[2].udp->protocol = IPPROTO_UDPLITE;
	img.files[2].udp->send_cscov = 20;
	img.files[2].udp->recv_cscov = 8;
	img.files[2].udp->shutdown = 2;
	img.files[2].udp->freebind = true;
	img.files[0].tcp->freebind = true;
	auto got = decode(encode(img, false));
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	const UdpSocket &u = *got->files[2].udp;
	EXPECT_EQ(u.protocol, IPPROTO_UDPLITE);
	EXPECT_EQ(u.send_cscov, 20);
	EXPECT_EQ(u.recv_cscov, 8);
	EXPECT_EQ(u.shutdown, 2);
	EXPECT_TRUE(u.freebind);
	EXPECT_TRUE(got->files[0].tcp->freebind);
	got = decode(encode(tcp_image(), false));
	ASSERT_TRUE(got.has_value());
	EXPECT_EQ(got->files[2].udp->protocol, IPPROTO_UDP);
	EXPECT_EQ(got->files[2].udp->shutdown, 0);
	EXPECT_FALSE(got->files[2].udp->freebind);
	EXPECT_FALSE(got->files[0].tcp->freebind);
	img.files[2].udp->protocol = IPPROTO_ICMP;
	expect_refused(img, "fd 5: a UDP socket of a protocol other than UDP and UDP-Lite");
	img = tcp_image();
	img.files[2].udp->shutdown = 4;
	expect_refused(img, "fd 5: a UDP socket shut down in no direction a socket has");
	img = tcp_image();
	img.files[2].udp->send_cscov = 8;
	expect_refused(img, "fd 5: a UDP socket with a UDP-Lite checksum coverage");
}

TEST(TcpQueues, TheSendQueueSplitsIntoSentAndNeverSent)
{
	const Image img = tcp_image();
	const TcpConnection &c = *img.files[1].tcp->connection;
	auto parts = fds::split_send_queue(c);
	EXPECT_EQ(std::string(parts.sent.begin(), parts.sent.end()), "sent-unacked|");
	EXPECT_EQ(std::string(parts.unsent.begin(), parts.unsent.end()), "never-sent");
	// TCP_QUEUE_SEQ names where each queue starts, modulo 2^32.
	EXPECT_EQ(fds::send_queue_start(c), uint32_t(5 - 23));
	EXPECT_EQ(fds::recv_queue_start(c), 767u);
	TcpConnection none;
	none.send_queue = bytes_of("abc");
	parts = fds::split_send_queue(none);
	EXPECT_EQ(parts.sent.size(), 3u);
	EXPECT_TRUE(parts.unsent.empty());
	none.unsent = 3;
	parts = fds::split_send_queue(none);
	EXPECT_TRUE(parts.sent.empty());
	EXPECT_EQ(parts.unsent.size(), 3u);
}

// Loopback sockets of a stopped child, numbered from 3: a listener (its
// receive buffer small, so the connection's window closes), a client
// connected to it and the server end it accepted, with "abcdef" queued
// to the server, "xy" to the client, and the client's send queue filled
// until the kernel takes no more. WRITTEN (shared memory) says how much.
void loopback_sockets(long *written)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), small = 4096, one = 1;
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (l != 3 || setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, reinterpret_cast<sockaddr *>(&a), sizeof(a)) || listen(l, 4) ||
	    getsockname(l, reinterpret_cast<sockaddr *>(&a), &len))
		_exit(10);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	pollfd p{l, POLLIN, 0};
	if (c != 4 || setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) ||
	    connect(c, reinterpret_cast<sockaddr *>(&a), sizeof(a)) || poll(&p, 1, 5000) != 1 ||
	    accept(l, nullptr, nullptr) != 5 || fcntl(c, F_SETFL, O_NONBLOCK) ||
	    write(c, "abcdef", 6) != 6 || write(5, "xy", 2) != 2)
		_exit(11);
	*written = 6;
	char chunk[1024];
	for (int idle = 0; idle < 3;) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = char('A' + (size_t(*written) - 6 + i) % 26);
		ssize_t n = write(c, chunk, sizeof(chunk));
		if (n > 0) {
			*written += n;
			idle = 0;
		} else {
			idle++;
			usleep(50000);
		}
	}
}

// Reads LEN bytes of FD, waiting up to 10 s.
std::string read_all(int fd, size_t len)
{
	std::string out;
	char buf[4096];
	while (out.size() < len) {
		pollfd p{fd, POLLIN, 0};
		if (poll(&p, 1, 10000) != 1)
			break;
		ssize_t n = recv(fd, buf, std::min(sizeof(buf), len - out.size()), MSG_DONTWAIT);
		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			break;
		if (n > 0)
			out.append(buf, size_t(n));
	}
	return out;
}

std::string expected_stream(long written)
{
	std::string s = "abcdef";
	while (long(s.size()) < written)
		s += char('A' + (s.size() - 6) % 26);
	return s;
}

long *shared_long()
{
	static long *v = static_cast<long *>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
						  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	return v;
}

InetAddress from_in(const sockaddr_in &in)
{
	InetAddress a;
	a.family = AF_INET;
	std::memcpy(a.addr.data(), &in.sin_addr, 4);
	a.port = ntohs(in.sin_port);
	return a;
}

TEST(TcpLive, AStoppedChildsConnectionIsCapturedAndLeftWorking)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "TCP_REPAIR needs CAP_NET_ADMIN";
	long *written = shared_long();
	pid_t pid = stopped_child([&] { loopback_sockets(written); },
				  [&] {
					  // Every byte as before the capture, and the
					  // connection and listener working.
					  std::string want = expected_stream(*written);
					  return read_all(5, want.size()) == want &&
							 read_all(4, 2) == "xy" &&
							 write(5, "z", 1) == 1 && read_all(4, 1) == "z"
						 ? 0
						 : 1;
				  });
	ASSERT_GT(pid, 0);
	testing::ReapedChild child{pid};
	Image img;
	{
		// Without a holder a connection is refused, naming it.
		auto r = capture_files(pid, img);
		ASSERT_FALSE(r.has_value());
		EXPECT_NE(r.error().describe().find("fd 4 is a TCP connection 127.0.0.1:"),
			  std::string::npos) << r.error().describe();
		EXPECT_NE(r.error().describe().find("only a frozen process's connections"),
			  std::string::npos) << r.error().describe();
	}
	img = Image{};
	fds::TcpRepair repair;
	auto r = capture_files(pid, img, {}, &repair);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	const OpenFile *l = fd_of(img, 3), *c = fd_of(img, 4), *s = fd_of(img, 5);
	ASSERT_TRUE(l && c && s && l->tcp && c->tcp && s->tcp);
	EXPECT_EQ(l->tcp->state, TCP_LISTEN);
	EXPECT_EQ(l->tcp->backlog, 4);
	EXPECT_TRUE(l->tcp->reuseaddr);
	EXPECT_EQ(l->flags & O_NONBLOCK, O_NONBLOCK);
	ASSERT_TRUE(c->tcp->connection && s->tcp->connection);
	EXPECT_EQ(fds::address_text(c->tcp->peer), fds::address_text(l->tcp->local));
	EXPECT_EQ(fds::address_text(s->tcp->peer), fds::address_text(c->tcp->local));
	// What the client wrote is in the server's receive queue, or never
	// sent from its own send queue; "xy" waits at the client.
	const TcpConnection &cc = *c->tcp->connection, &sc = *s->tcp->connection;
	std::string at_server(sc.recv_queue.begin(), sc.recv_queue.end());
	std::string from_client(cc.send_queue.begin(), cc.send_queue.end());
	EXPECT_EQ(at_server + from_client, expected_stream(*written));
	EXPECT_GT(cc.unsent, 0u);
	EXPECT_EQ(std::string(cc.recv_queue.begin(), cc.recv_queue.end()), "xy");
	EXPECT_EQ(cc.send_seq - uint32_t(cc.send_queue.size()), sc.recv_seq);
	EXPECT_TRUE(repair.check_unchanged().has_value());
	repair.release();
	EXPECT_EQ(finish(child), 0);
}

TEST(TcpLive, AConnectionIsMadeAgainWithEveryByte)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "TCP_REPAIR needs CAP_NET_ADMIN";
	long *written = shared_long();
	pid_t pid = stopped_child([&] { loopback_sockets(written); }, [] { return 0; });
	ASSERT_GT(pid, 0);
	testing::ReapedChild child{pid};
	Image img;
	{
		fds::TcpRepair repair;
		auto r = capture_files(pid, img, {}, &repair);
		ASSERT_TRUE(r.has_value()) << r.error().describe();
		// The source dies with its connections in repair mode: nothing
		// reaches the other end, and the ports are free again.
		kill(pid, SIGKILL);
		child.wait();
		repair.drop();
	}
	auto made = fds::TcpMaker::make(img.files, 100, getuid(), getgid());
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	int fds[3];
	for (int i = 0; i < 3; i++) {
		auto fd = made->take(*fd_of(img, 3 + i));
		ASSERT_TRUE(fd.has_value()) << fd.error().describe();
		fds[i] = *fd;
	}
	for (const auto &rel : fds::tcp_releases(getpid(), img)) {
		fds::TcpRelease mine = rel;
		mine.fd = rel.fd == 4 ? fds[1] : fds[2];
		auto r = fds::leave_repair(mine);
		ASSERT_TRUE(r.has_value()) << r.error().describe();
	}
	fcntl(fds[1], F_SETFL, 0);
	std::string want = expected_stream(*written);
	EXPECT_EQ(read_all(fds[2], want.size()), want);
	EXPECT_EQ(read_all(fds[1], 2), "xy");
	EXPECT_EQ(write(fds[2], "late", 4), 4);
	EXPECT_EQ(read_all(fds[1], 4), "late");
	sockaddr_in a{}, b{};
	socklen_t len = sizeof(a);
	getsockname(fds[1], reinterpret_cast<sockaddr *>(&a), &len);
	EXPECT_EQ(fds::address_text(from_in(a)), fds::address_text(fd_of(img, 4)->tcp->local));
	// The listener accepts again, on its port.
	int n = socket(AF_INET, SOCK_STREAM, 0);
	len = sizeof(b);
	getsockname(fds[0], reinterpret_cast<sockaddr *>(&b), &len);
	EXPECT_EQ(connect(n, reinterpret_cast<sockaddr *>(&b), sizeof(b)), 0);
	pollfd p{fds[0], POLLIN, 0};
	EXPECT_EQ(poll(&p, 1, 5000), 1);
	int accepted = accept(fds[0], nullptr, nullptr);
	EXPECT_GE(accepted, 0);
	for (int fd : {n, accepted, fds[0], fds[1], fds[2]})
		close(fd);
}

// This process's sockets FDS as capture_files describes them.
std::vector<OpenFile> own_sockets(std::initializer_list<int> fds)
{
	std::vector<OpenFile> files;
	for (int fd : fds) {
		char link[64] = {};
		std::string path = "/proc/self/fd/" + std::to_string(fd);
		EXPECT_GT(readlink(path.c_str(), link, sizeof(link) - 1), 0);
		OpenFile f;
		f.fd = fd;
		f.path = link;
		f.flags = O_RDWR;
		f.unix_socket = fds::socket_inode(f.path);
		files.push_back(f);
	}
	return files;
}

// What the kernel takes in repair mode after the capture would be lost
// with the source: check_unchanged says so, and called off, nothing is.
TEST(TcpLive, BytesOrConnectionsArrivingAfterTheCaptureCallTheMoveOff)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "TCP_REPAIR needs CAP_NET_ADMIN";
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	ASSERT_EQ(bind(l, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	ASSERT_EQ(listen(l, 4), 0);
	ASSERT_EQ(getsockname(l, reinterpret_cast<sockaddr *>(&a), &len), 0);
	ASSERT_EQ(connect(c, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	int s = accept(l, nullptr, nullptr);
	ASSERT_GE(s, 0);
	ASSERT_EQ(write(c, "before", 6), 6);
	auto files = own_sockets({l, s});
	fds::TcpRepair repair;
	auto captured = fds::capture_tcp(getpid(), files, &repair);
	ASSERT_TRUE(captured.has_value()) << captured.error().describe();
	EXPECT_TRUE(repair.check_unchanged().has_value());
	ASSERT_EQ(write(c, "after", 5), 5);	// taken in repair mode, acknowledged
	usleep(100000);
	auto r = repair.check_unchanged();
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, EAGAIN);
	EXPECT_NE(r.error().describe().find("received 5 more bytes"), std::string::npos)
		<< r.error().describe();
	repair.release();
	EXPECT_EQ(read_all(s, 11), "beforeafter");
	EXPECT_EQ(write(s, "ok", 2), 2);	// out of repair mode again
	EXPECT_EQ(read_all(c, 2), "ok");

	// A connection that waits at a listener after the capture.
	files = own_sockets({l});
	ASSERT_TRUE(fds::capture_tcp(getpid(), files, &repair).has_value());
	int late = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(connect(late, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	r = repair.check_unchanged();
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("got 1 connection while the process was frozen"),
		  std::string::npos) << r.error().describe();
	repair.release();
	for (int fd : {l, c, s, late})
		close(fd);
}

// A UDP socket bound and connected, one only bound, one neither: captured
// and made again with their addresses and options; one with datagrams
// queued refused (they would come from the restorer), one that gets a
// datagram after the capture calls the move off; a raw socket refused.
TEST(UdpLive, SocketsAreCapturedAndMadeAgain)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "a raw socket needs CAP_NET_RAW";
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	int w = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_EQ(setsockopt(u, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)), 0);
	ASSERT_EQ(setsockopt(v, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ASSERT_EQ(bind(v, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	ASSERT_EQ(getsockname(v, reinterpret_cast<sockaddr *>(&a), &len), 0);
	ASSERT_EQ(connect(u, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	auto files = own_sockets({u, v, w});
	fds::TcpRepair repair;
	auto r = fds::capture_tcp(getpid(), files, &repair);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	ASSERT_TRUE(files[0].udp && files[1].udp && files[2].udp);
	EXPECT_EQ(files[0].unix_socket, 0u);
	EXPECT_TRUE(files[0].udp->broadcast);
	EXPECT_EQ(fds::address_text(files[0].udp->peer), fds::address_text(from_in(a)));
	EXPECT_NE(files[0].udp->local.port, 0);
	EXPECT_TRUE(files[1].udp->reuseaddr);
	EXPECT_EQ(files[1].udp->peer.port, 0);
	EXPECT_EQ(files[2].udp->local.port, 0);
	EXPECT_TRUE(repair.check_unchanged().has_value());
	// A datagram to v after the capture would be lost with the source.
	ASSERT_EQ(send(u, "late", 4, 0), 4);
	auto changed = repair.check_unchanged();
	ASSERT_FALSE(changed.has_value());
	EXPECT_NE(changed.error().describe().find("received datagrams while the process was frozen"),
		  std::string::npos) << changed.error().describe();
	repair.release();
	// ... and one queued is refused at the capture.
	files = own_sockets({v});
	r = fds::capture_tcp(getpid(), files, nullptr);
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find(strf("fd %d is a UDP socket bound to 127.0.0.1:", v)),
		  std::string::npos) << r.error().describe();
	EXPECT_NE(r.error().describe().find("with datagrams queued"), std::string::npos);
	char buf[8];
	ASSERT_EQ(recv(v, buf, sizeof(buf), 0), 4);

	// Made again, once the originals are gone: bound where they were,
	// connected, with their options.
	files = own_sockets({u, v, w});
	ASSERT_TRUE(fds::capture_tcp(getpid(), files, nullptr).has_value());
	for (int fd : {u, v, w})
		close(fd);
	for (auto &f : files)
		f.fd += 200;
	auto made = fds::TcpMaker::make(files, 300, getuid(), getgid());
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	int mu = *made->take(files[0]), mv = *made->take(files[1]), mw = *made->take(files[2]);
	ASSERT_EQ(send(mu, "again", 5, 0), 5);
	ASSERT_EQ(recv(mv, buf, sizeof(buf), 0), 5);
	int on = 0;
	len = sizeof(on);
	EXPECT_EQ(getsockopt(mu, SOL_SOCKET, SO_BROADCAST, &on, &len), 0);
	EXPECT_EQ(on, 1);
	EXPECT_EQ(getsockopt(mv, SOL_SOCKET, SO_REUSEADDR, &on, &len), 0);
	EXPECT_EQ(on, 1);
	sockaddr_in b{};
	len = sizeof(b);
	EXPECT_EQ(getsockname(mv, reinterpret_cast<sockaddr *>(&b), &len), 0);
	EXPECT_EQ(b.sin_port, a.sin_port);
	for (int fd : {mu, mv, mw})
		close(fd);

	// UDP-Lite with its checksum coverage, and two sockets shut down in a
	// direction each (zdtm's socket_udplite, socket_udp_shutdown), one of
	// them never bound (poll tells its state).
	int lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE), cscov = 20;
	int rd = socket(AF_INET, SOCK_DGRAM, 0), wr = socket(AF_INET, SOCK_DGRAM, 0);
	int never = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_GE(lite, 0);
	ASSERT_EQ(setsockopt(lite, IPPROTO_UDPLITE, 10 /* UDPLITE_SEND_CSCOV */, &cscov,
			     sizeof(cscov)), 0);
	ASSERT_EQ(setsockopt(rd, SOL_IP, IP_FREEBIND, &one, sizeof(one)), 0);	// sk-freebind
	a.sin_port = 0;
	ASSERT_EQ(bind(lite, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	ASSERT_EQ(bind(rd, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	len = sizeof(a);
	ASSERT_EQ(getsockname(rd, reinterpret_cast<sockaddr *>(&a), &len), 0);
	ASSERT_EQ(connect(wr, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
	shutdown(rd, SHUT_RD);	// not connected: ENOTCONN, and shut down
	ASSERT_EQ(shutdown(wr, SHUT_WR), 0);
	shutdown(never, SHUT_RDWR);
	files = own_sockets({lite, rd, wr, never});
	r = fds::capture_tcp(getpid(), files, nullptr);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	ASSERT_TRUE(files[0].udp && files[1].udp && files[2].udp && files[3].udp);
	EXPECT_EQ(files[0].udp->protocol, IPPROTO_UDPLITE);
	EXPECT_EQ(files[0].udp->send_cscov, 20);
	EXPECT_EQ(files[1].udp->shutdown, 1);
	EXPECT_TRUE(files[1].udp->freebind);
	EXPECT_FALSE(files[0].udp->freebind);
	EXPECT_EQ(files[2].udp->shutdown, 2);
	EXPECT_EQ(files[3].udp->shutdown, 3);
	for (int fd : {lite, rd, wr, never})
		close(fd);
	for (auto &f : files)
		f.fd += 200;
	made = fds::TcpMaker::make(files, 300, getuid(), getgid());
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	int ml = *made->take(files[0]), mrd = *made->take(files[1]), mwr = *made->take(files[2]);
	int mnever = *made->take(files[3]);
	len = sizeof(on);
	EXPECT_EQ(getsockopt(ml, SOL_SOCKET, SO_PROTOCOL, &on, &len), 0);
	EXPECT_EQ(on, IPPROTO_UDPLITE);
	EXPECT_EQ(getsockopt(ml, IPPROTO_UDPLITE, 10, &on, &len), 0);
	EXPECT_EQ(on, 20);
	EXPECT_EQ(getsockopt(mrd, SOL_IP, IP_FREEBIND, &on, &len), 0);
	EXPECT_EQ(on, 1);
	EXPECT_EQ(send(mwr, "x", 1, MSG_NOSIGNAL), -1);
	EXPECT_EQ(errno, EPIPE);
	pollfd polled[] = {{mrd, POLLRDHUP, 0}, {mwr, POLLRDHUP, 0}, {mnever, POLLRDHUP, 0}};
	ASSERT_EQ(poll(polled, 3, 0), 2);
	EXPECT_EQ(polled[0].revents, POLLRDHUP);
	EXPECT_EQ(polled[1].revents, 0);
	EXPECT_TRUE(polled[2].revents & POLLHUP);
	for (int fd : {ml, mrd, mwr, mnever})
		close(fd);

	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ASSERT_GE(raw, 0);
	files = own_sockets({raw});
	r = fds::capture_tcp(getpid(), files, nullptr);
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("an IPv4 socket of protocol 1 (ICMP): only TCP, UDP and "
					    "UDP-Lite sockets and unix sockets can be carried"),
		  std::string::npos) << r.error().describe();
	close(raw);
}

} // namespace
} // namespace hetmig
