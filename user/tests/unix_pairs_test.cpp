// SPDX-License-Identifier: GPL-2.0
// Unix socket pairs (user/src/fds/unix_pairs.h): a stopped child's stream
// and datagram pairs captured with what each end has to read, which stays
// in the child's sockets; a datagram pair with an eventfd in flight that no
// fd holds and a socket whose peer is outside the process refused, naming
// them; a pair made again with its messages, boundaries and flags.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "capture.h"
#include "image_bytes.h"
#include "fds/unix_pairs.h"
#include "reaped_child.h"
#include "stopped_child.h"

namespace hetmig {
namespace {

using testing::finish;
using testing::fd_of;
using testing::stopped_child;

std::string text(const std::vector<uint8_t> &v)
{
	return std::string(v.begin(), v.end());
}

TEST(UnixPairs, AStoppedChildsPairsAreCapturedWithTheirQueues)
{
	pid_t pid = stopped_child(
		[] {
			// 3, 4 a stream pair; 5, 6 a datagram pair.
			int s[2], d[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) || s[0] != 3 ||
			    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, d) || d[0] != 5 ||
			    write(3, "abc", 3) != 3 || write(3, "def", 3) != 3 ||
			    write(4, "xy", 2) != 2 || send(5, "one", 3, 0) != 3 ||
			    send(5, "three", 5, 0) != 5)
				_exit(10);
		},
		[] {
			char buf[16] = {};
			return recv(4, buf, 16, MSG_DONTWAIT) == 6 && !memcmp(buf, "abcdef", 6) &&
					       recv(6, buf, 16, MSG_DONTWAIT) == 3 &&
					       recv(6, buf, 16, MSG_DONTWAIT) == 5
				       ? 0
				       : 1;
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
	ASSERT_EQ(img.unix_pairs.size(), 2u);
	const OpenFile *s0 = fd_of(img, 3), *s1 = fd_of(img, 4), *d0 = fd_of(img, 5);
	ASSERT_TRUE(s0 && s1 && d0 && s0->unix_socket && s1->unix_socket && d0->unix_socket);
	EXPECT_EQ(s0->flags & O_NONBLOCK, O_NONBLOCK);
	EXPECT_EQ(d0->flags & O_CLOEXEC, O_CLOEXEC);
	for (const auto &p : img.unix_pairs) {
		const auto &a = p.ends[0], &b = p.ends[1];
		auto queued_at = [&](uint64_t inode) {
			return a.inode == inode ? a.queued : b.queued;
		};
		if (p.type == SOCK_STREAM) {
			ASSERT_EQ(queued_at(s1->unix_socket).size(), 1u);
			EXPECT_EQ(text(queued_at(s1->unix_socket)[0]), "abcdef");
			ASSERT_EQ(queued_at(s0->unix_socket).size(), 1u);
			EXPECT_EQ(text(queued_at(s0->unix_socket)[0]), "xy");
		} else {
			EXPECT_EQ(p.type, SOCK_DGRAM);
			auto q = queued_at(fd_of(img, 6)->unix_socket);
			ASSERT_EQ(q.size(), 2u);
			EXPECT_EQ(text(q[0]), "one");
			EXPECT_EQ(text(q[1]), "three");
			EXPECT_TRUE(queued_at(d0->unix_socket).empty());
		}
		EXPECT_GT(a.sndbuf, 0u);
	}
	EXPECT_EQ(finish(child), 0) << "the child's sockets lost what was queued";
}

TEST(UnixPairs, DescriptorsInFlightAndPeersOutsideAreRefused)
{
	pid_t pid = stopped_child(
		[] {
			int d[2];
			if (socketpair(AF_UNIX, SOCK_DGRAM, 0, d) || d[0] != 3)
				_exit(10);
			char control[CMSG_SPACE(sizeof(int))] = {};
			iovec iov{const_cast<char *>("fd"), 2};
			msghdr mh{};
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = control;
			mh.msg_controllen = sizeof(control);
			cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			// An eventfd no fd holds once sent: no pipe, not the
			// process's own.
			int fd = eventfd(0, 0);
			memcpy(CMSG_DATA(c), &fd, sizeof(fd));
			if (fd < 0 || sendmsg(3, &mh, 0) != 2 || close(fd))
				_exit(11);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild child{pid};
	Image img;
	auto r = capture_files(pid, img);
	if (!r && r.error().describe().find("unix_diag") != std::string::npos)
		GTEST_SKIP() << r.error().describe();
	ASSERT_FALSE(r.has_value());
	std::string why = r.error().describe();
	EXPECT_NE(why.find("fd 4 (socket:["), std::string::npos) << why;
	EXPECT_NE(why.find("has anon_inode:[eventfd] in flight in its queue (SCM_RIGHTS), which no "
			   "fd of the process holds"), std::string::npos) << why;
	// Said once, with the error's text once (it was doubled).
	EXPECT_EQ(why.find("(fd 4)"), std::string::npos) << why;
	EXPECT_EQ(why.find("not supported)"), why.rfind("not supported)")) << why;
	EXPECT_EQ(finish(child), 0);

	// A pair whose other end a process of its own holds (which dies
	// with it).
	pid = stopped_child(
		[] {
			int s[2];
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || s[0] != 3)
				_exit(10);
			if (fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(3);
				close_range(5, ~0U, 0);  // the test waits for the end of its pipe
				for (;;)
					pause();
			}
			close(4);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild other{pid};
	Image img2;
	r = capture_files(pid, img2);
	ASSERT_FALSE(r.has_value());
	why = r.error().describe();
	EXPECT_NE(why.find("fd 3 is socket:["), std::string::npos) << why;
	EXPECT_NE(why.find("whose peer is not in the process"), std::string::npos) << why;
	EXPECT_EQ(finish(other), 0);
}

TEST(UnixPairs, APairIsMadeAgainWithItsMessages)
{
	UnixPair p;
	p.type = SOCK_DGRAM;
	p.ends[0] = {11, 0, {}};
	p.ends[1] = {12, 0, {{'o', 'n', 'e'}, {'t', 'w', 'o', '!'}}};
	UnixPair st;
	st.type = SOCK_STREAM;
	st.ends[0] = {21, 0, {{'h', 'i'}}};
	st.ends[1] = {22, 0, {}};
	std::vector<UnixPair> pairs = {p, st};
	OpenFile a, b, c;
	a.fd = 50, a.unix_socket = 12, a.flags = O_RDWR | O_NONBLOCK | O_CLOEXEC;
	b.fd = 51, b.unix_socket = 11, b.flags = O_RDWR;
	c.fd = 52, c.unix_socket = 21, c.flags = O_RDWR | O_NONBLOCK;
	fds::UnixPairMaker maker(pairs, 300);
	auto fa = maker.open_end(a), fb = maker.open_end(b), fc = maker.open_end(c);
	ASSERT_TRUE(fa && fb && fc) << (fa ? fb ? fc.error() : fb.error() : fa.error()).describe();
	fds::UniqueFd da(*fa), db(*fb), dc(*fc);
	EXPECT_LT(da.get(), 300);
	EXPECT_EQ(fcntl(da.get(), F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(db.get(), F_GETFD), 0);
	EXPECT_EQ(fcntl(da.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	char buf[8] = {};
	EXPECT_EQ(recv(da.get(), buf, sizeof(buf), MSG_DONTWAIT), 3);
	EXPECT_EQ(std::string(buf, 3), "one");
	EXPECT_EQ(recv(da.get(), buf, sizeof(buf), MSG_DONTWAIT), 4);
	EXPECT_EQ(std::string(buf, 4), "two!");
	EXPECT_EQ(recv(da.get(), buf, sizeof(buf), MSG_DONTWAIT), -1);
	EXPECT_EQ(recv(dc.get(), buf, sizeof(buf), MSG_DONTWAIT), 2);
	// Still a pair: what one end sends, the other reads.
	EXPECT_EQ(send(db.get(), "x", 1, 0), 1);
	EXPECT_EQ(recv(da.get(), buf, sizeof(buf), MSG_DONTWAIT), 1);
}

} // namespace
} // namespace hetmig
