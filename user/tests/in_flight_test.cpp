// SPDX-License-Identifier: GPL-2.0
// Descriptors in flight (user/src/fds/in_flight.h): a stopped child's
// datagram pair with a pipe's read end in flight (closed in the child, its
// write end kept), both ends of another pipe (closed), and its own eventfd
// (kept) captured: the ends no fd holds as files of the image at free
// numbers with their pipes' bytes, the eventfd as its fd, each message's
// list; the child still receives every message with its descriptors.
// Refused: descriptors in flight on a stream socket. Made again: the
// messages queued once every fd is in place, in order, each with its
// descriptors (one file with the process's own), the numbers held only
// for them closed. In the image: format 8, a list naming an fd the image
// lacks or with fewer lists than messages is a corrupted image.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "capture.h"
#include "fds/in_flight.h"
#include "fds/unix_pairs.h"
#include "image_bytes.h"
#include "reaped_child.h"
#include "stopped_child.h"

namespace hetmig {
namespace {

using testing::finish;
using testing::fd_of;
using testing::stopped_child;

int send_fds(int sock, const char *text, std::initializer_list<int> fds)
{
	alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
	iovec iov{const_cast<char *>(text), std::strlen(text)};
	msghdr mh{};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fds.size()) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
		cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
		std::memcpy(CMSG_DATA(c), fds.begin(), fds.size() * sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == ssize_t(iov.iov_len) ? 0 : -1;
}

// The next message at SOCK: its text, and its descriptors into FDS.
std::string recv_fds(int sock, std::vector<int> &fds)
{
	alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))];
	char buf[64];
	iovec iov{buf, sizeof(buf)};
	msghdr mh{};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = control;
	mh.msg_controllen = sizeof(control);
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT);
	fds.clear();
	if (n < 0)
		return "";
	for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			fds.push_back(fd);
		}
	return std::string(buf, size_t(n));
}

TEST(InFlight, AStoppedChildsDescriptorsInFlightAreCaptured)
{
	pid_t pid = stopped_child(
		[] {
			// 3, 4 a datagram pair; 5, 6 pipe A; 7 an eventfd; 8, 9 pipe B.
			int d[2], a[2], b[2];
			if (socketpair(AF_UNIX, SOCK_DGRAM, 0, d) || d[0] != 3 || pipe(a) ||
			    a[0] != 5 || eventfd(2, 0) != 7 || pipe(b) || b[0] != 8 ||
			    write(6, "abc", 3) != 3 || write(9, "hello", 5) != 5 ||
			    send_fds(3, "plain", {}) || send_fds(3, "reader", {5}) ||
			    send_fds(3, "own", {7}) || send_fds(3, "both", {8, 9}) ||
			    close(5) || close(8) || close(9))
				_exit(10);
		},
		[] {
			std::vector<int> fds;
			char buf[8] = {};
			if (recv_fds(4, fds) != "plain" || !fds.empty() ||
			    recv_fds(4, fds) != "reader" || fds.size() != 1 ||
			    read(fds[0], buf, 8) != 3 || recv_fds(4, fds) != "own" ||
			    fds.size() != 1 || recv_fds(4, fds) != "both" || fds.size() != 2 ||
			    read(fds[0], buf, 8) != 5)
				return 1;
			return 0;
		});
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild child{pid};
	Image img;
	auto r = capture_files(pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	if (!r && r.error().describe().find("unix_diag") != std::string::npos)
		GTEST_SKIP() << r.error().describe();
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	// Three ends no fd holds, at numbers above the child's.
	std::vector<const OpenFile *> held;
	for (const auto &f : img.files)
		if (f.in_flight)
			held.push_back(&f);
	ASSERT_EQ(held.size(), 3u);
	for (const OpenFile *f : held) {
		EXPECT_GT(f->fd, 7);
		EXPECT_NE(f->pipe, 0u);
		EXPECT_EQ(f->flags & O_CLOEXEC, 0);
	}
	EXPECT_TRUE(std::is_sorted(img.files.begin(), img.files.end(),
				   [](const OpenFile &a, const OpenFile &b) { return a.fd < b.fd; }));
	// Pipe A with its write end at 6 and its bytes; pipe B with both ends
	// in flight and its.
	ASSERT_EQ(img.pipes.size(), 2u);
	for (const auto &p : img.pipes)
		EXPECT_EQ(std::string(p.data.begin(), p.data.end()),
			  p.inode == fd_of(img, 6)->pipe ? "abc" : "hello");
	ASSERT_EQ(img.unix_pairs.size(), 1u);
	const auto &p = img.unix_pairs[0];
	const auto &at4 = p.ends[0].inode == fd_of(img, 4)->unix_socket ? p.ends[0] : p.ends[1];
	const auto &at3 = p.ends[0].inode == fd_of(img, 4)->unix_socket ? p.ends[1] : p.ends[0];
	EXPECT_TRUE(at3.rights.empty());
	ASSERT_EQ(at4.queued.size(), 4u);
	ASSERT_EQ(at4.rights.size(), 4u);
	EXPECT_TRUE(at4.rights[0].empty());
	ASSERT_EQ(at4.rights[1].size(), 1u);
	EXPECT_EQ(fd_of(img, at4.rights[1][0])->pipe, fd_of(img, 6)->pipe);
	EXPECT_TRUE(fd_of(img, at4.rights[1][0])->in_flight);
	EXPECT_EQ(at4.rights[2], std::vector<int>{7});
	ASSERT_EQ(at4.rights[3].size(), 2u);
	EXPECT_EQ(fd_of(img, at4.rights[3][0])->flags & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fd_of(img, at4.rights[3][1])->flags & O_ACCMODE, O_WRONLY);
	EXPECT_EQ(finish(child), 0) << "the child's queue lost its messages or descriptors";
}

TEST(InFlight, DescriptorsInFlightOnAStreamAreRefused)
{
	pid_t pid = stopped_child(
		[] {
			int s[2];
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || s[0] != 3 ||
			    send_fds(3, "x", {3}))
				_exit(10);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild child{pid};
	Image img;
	auto r = capture_files(pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	ASSERT_FALSE(r.has_value());
	std::string why = r.error().describe();
	EXPECT_NE(why.find("fd 4 (socket:["), std::string::npos) << why;
	EXPECT_NE(why.find("has descriptors in flight (SCM_RIGHTS) in its queue, which cannot be "
			   "carried on a stream socket"), std::string::npos) << why;
	EXPECT_EQ(finish(child), 0);
}

// The restore's side, in this process: a pair whose queue at one end
// carries a pipe's read end (at a number held for it only) and an eventfd
// of the process's own.
TEST(InFlight, MessagesAreQueuedAgainWithTheirDescriptors)
{
	int pfd[2];
	ASSERT_EQ(pipe(pfd), 0);
	fds::UniqueFd pr(pfd[0]), pw(pfd[1]), ev(eventfd(0, 0));
	ASSERT_EQ(write(pw.get(), "abc", 3), 3);
	UnixPair p;
	p.type = SOCK_DGRAM;
	p.ends[0] = {31, 0, {}};
	p.ends[1] = {32, 0, {{'a'}, {'b'}, {'c'}}, {{}, {pr.get()}, {ev.get()}}};
	std::vector<UnixPair> pairs = {p};
	OpenFile a, b, held, own;
	a.fd = 60, a.unix_socket = 31, a.flags = O_RDWR;
	b.fd = 61, b.unix_socket = 32, b.flags = O_RDWR;
	held.fd = pr.get(), held.pipe = 1, held.in_flight = true;
	own.fd = ev.get(), own.eventfd = EventCounter{};
	fds::UnixPairMaker maker(pairs, 300);
	auto fa = maker.open_end(a), fb = maker.open_end(b);
	ASSERT_TRUE(fa && fb);
	fds::UniqueFd da(*fa), db(*fb);
	a.fd = da.get(), b.fd = db.get();
	char buf[4];
	EXPECT_EQ(recv(db.get(), buf, sizeof(buf), MSG_DONTWAIT), -1)
		<< "a queue with descriptors in flight filled before every fd is in place";
	auto r = fds::send_in_flight({a, b, held, own}, pairs, {});
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	EXPECT_EQ(fcntl(pfd[0], F_GETFD), -1) << "the number held for the file in flight is open";
	(void)pr.release();
	std::vector<int> got;
	EXPECT_EQ(recv_fds(db.get(), got), "a");
	EXPECT_TRUE(got.empty());
	EXPECT_EQ(recv_fds(db.get(), got), "b");
	ASSERT_EQ(got.size(), 1u);
	fds::UniqueFd reader(got[0]);
	char bytes[4] = {};
	EXPECT_EQ(read(reader.get(), bytes, 4), 3);
	EXPECT_EQ(recv_fds(db.get(), got), "c");
	ASSERT_EQ(got.size(), 1u);
	fds::UniqueFd counter(got[0]);
	uint64_t v = 4;
	ASSERT_EQ(write(counter.get(), &v, 8), 8);
	EXPECT_EQ(read(ev.get(), &v, 8), 8);
	EXPECT_EQ(v, 4u) << "the eventfd received is not the process's own";
}

TEST(InFlight, TheImageKeepsThemInFormat8)
{
	Image img = testing::one_process(1234);
	OpenFile s0, s1, w, r;
	s0.fd = 3, s0.path = "socket:[31]", s0.flags = O_RDWR, s0.unix_socket = 31;
	s1.fd = 4, s1.path = "socket:[32]", s1.flags = O_RDWR, s1.unix_socket = 32;
	w.fd = 5, w.path = "pipe:[77]", w.flags = O_WRONLY, w.pipe = 77;
	r.fd = 6, r.path = "pipe:[77]", r.flags = O_RDONLY, r.pipe = 77, r.in_flight = true;
	img.files = {s0, s1, w, r};
	img.pipes = {{77, 65536, {'a', 'b', 'c'}}};
	UnixPair p;
	p.type = SOCK_DGRAM;
	p.ends[0] = {31, 0, {}};
	p.ends[1] = {32, 0, {{'x'}, {'y'}}, {{}, {6, 3}}};
	img.unix_pairs = {p};
	auto bytes = testing::encode(img, false);
	EXPECT_EQ(testing::version_of(bytes), kImageFormatInFlight);
	auto back = testing::decode(bytes);
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_TRUE(back->files[3].in_flight);
	EXPECT_FALSE(back->files[2].in_flight);
	EXPECT_EQ(back->unix_pairs[0].ends[1].rights, (std::vector<std::vector<int>>{{}, {6, 3}}));
	EXPECT_TRUE(back->unix_pairs[0].ends[0].rights.empty());
	auto corrupted = [&](const Image &bad, const std::string &what) {
		auto got = testing::decode(testing::encode(bad, false));
		ASSERT_FALSE(got.has_value()) << what;
		EXPECT_NE(got.error().describe().find(what), std::string::npos)
			<< got.error().describe();
	};
	Image missing = img;
	missing.unix_pairs[0].ends[1].rights[1][0] = 9;
	corrupted(missing, "fd 9 in flight in a socket's queue, which the image lacks");
	Image short_list = img;
	short_list.unix_pairs[0].ends[1].rights.pop_back();
	corrupted(short_list, "descriptors in flight for messages a socket's queue lacks");
	Image not_a_pipe = img;
	not_a_pipe.files[3].pipe = 0;
	not_a_pipe.files[3].path = "/etc/passwd";
	not_a_pipe.pipes.clear();
	not_a_pipe.files.erase(not_a_pipe.files.begin() + 2);
	not_a_pipe.unix_pairs[0].ends[1].rights[1] = {6};
	corrupted(not_a_pipe, "a file in flight that is no pipe end");
}

} // namespace
} // namespace hetmig
