// SPDX-License-Identifier: GPL-2.0
// Unix sockets that are no plain pair (user/src/fds/unix_sockets.h): a
// stopped child's listeners (a path, an abstract name), a connection one
// of them accepted, a bound datagram socket with its queue and a socket
// connected to it, shut down and orphaned stream sockets, captured and
// made again here after the child is gone (its path files stale); a
// listener with a connection not accepted refused; a path where a live
// listener is refused.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "capture.h"
#include "fds/tree_files.h"
#include "fds/unix_sockets.h"
#include "image_bytes.h"
#include "reaped_child.h"
#include "stopped_child.h"

namespace hetmig {
namespace {

using testing::finish;
using testing::fd_of;
using testing::stopped_child;

// A socket address of NAME (a path, or '\0' and an abstract name).
socklen_t address(const std::string &name, sockaddr_un &a)
{
	a = {};
	a.sun_family = AF_UNIX;
	std::memcpy(a.sun_path, name.data(), name.size());
	return socklen_t(offsetof(sockaddr_un, sun_path) + name.size());
}

int bound(int type, const std::string &name)
{
	sockaddr_un a;
	int fd = socket(AF_UNIX, type, 0);
	return fd >= 0 && !bind(fd, reinterpret_cast<sockaddr *>(&a), address(name, a)) ? fd : -1;
}

int connected(int type, const std::string &name)
{
	sockaddr_un a;
	int fd = socket(AF_UNIX, type, 0);
	return fd >= 0 && !connect(fd, reinterpret_cast<sockaddr *>(&a), address(name, a)) ? fd
											   : -1;
}

const UnixSocket *socket_of(const Image &img, int fd)
{
	const OpenFile *f = fd_of(img, fd);
	for (const auto &s : img.unix_sockets)
		if (f && s.inode == f->unix_socket)
			return &s;
	return nullptr;
}

class UnixSockets : public ::testing::Test {
protected:
	void SetUp() override
	{
		char dir[] = "/tmp/hetmig-unix-XXXXXX";
		ASSERT_TRUE(mkdtemp(dir));
		dir_ = dir;
		abstract_ = std::string(1, '\0') + "hetmig-test-" + std::to_string(getpid());
	}
	void TearDown() override
	{
		for (const char *f : {"/listen", "/dgram", "/live"})
			unlink((dir_ + f).c_str());
		rmdir(dir_.c_str());
	}
	std::string dir_, abstract_;
};

TEST_F(UnixSockets, CapturedFromAStoppedChildAndMadeAgain)
{
	const std::string listen_path = dir_ + "/listen", dgram_path = dir_ + "/dgram";
	const std::string abstract = abstract_;
	pid_t pid = stopped_child(
		[&] {
			// 3 listens at the path, 4 at the abstract name; 5 is a
			// client of 3, 6 what 3 accepted; 7 a datagram socket at
			// a path, 8 connected to it; 9, 10 a pair shut down; 11
			// a stream socket whose peer closed.
			int sp[2], orphan[2];
			if (bound(SOCK_STREAM, listen_path) != 3 || listen(3, 7) ||
			    chmod(listen_path.c_str(), 0604) ||
			    bound(SOCK_SEQPACKET, abstract) != 4 || listen(4, 3) ||
			    connected(SOCK_STREAM, listen_path) != 5 ||
			    accept(3, nullptr, nullptr) != 6 || write(5, "to6", 3) != 3 ||
			    write(6, "to5!", 4) != 4 || bound(SOCK_DGRAM, dgram_path) != 7 ||
			    connected(SOCK_DGRAM, dgram_path) != 8 || send(8, "one", 3, 0) != 3 ||
			    send(8, "two", 3, 0) != 3 ||
			    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || sp[0] != 9 ||
			    shutdown(9, SHUT_RD) || socketpair(AF_UNIX, SOCK_STREAM, 0, orphan) ||
			    orphan[0] != 11 || write(12, "z", 1) != 1 || close(12))
				_exit(10);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild child{pid};
	Image img;
	auto r = capture_files(pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	if (!r && r.error().describe().find("unix_diag") != std::string::npos)
		GTEST_SKIP() << r.error().describe();
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	EXPECT_TRUE(img.unix_pairs.empty());
	ASSERT_EQ(img.unix_sockets.size(), 9u);
	const UnixSocket *l = socket_of(img, 3), *a = socket_of(img, 4), *c = socket_of(img, 5),
			 *acc = socket_of(img, 6), *d = socket_of(img, 7), *dc = socket_of(img, 8),
			 *sh = socket_of(img, 9), *o = socket_of(img, 11);
	ASSERT_TRUE(l && a && c && acc && d && dc && sh && o);
	EXPECT_EQ(l->state, 10);
	EXPECT_EQ(l->name, listen_path);
	EXPECT_EQ(l->backlog, 7);
	EXPECT_EQ(l->mode, 0604u);
	EXPECT_FALSE(l->deleted);
	EXPECT_EQ(a->name, abstract);
	EXPECT_EQ(a->type, SOCK_SEQPACKET);
	EXPECT_EQ(c->peer, acc->inode);
	EXPECT_EQ(acc->peer, c->inode);
	EXPECT_EQ(acc->name, listen_path);
	EXPECT_TRUE(c->name.empty());
	ASSERT_EQ(acc->queued.size(), 1u);
	EXPECT_EQ(std::string(acc->queued[0].begin(), acc->queued[0].end()), "to6");
	ASSERT_EQ(d->queued.size(), 2u);
	EXPECT_EQ(d->senders, std::vector<std::string>(2));
	EXPECT_EQ(dc->peer, d->inode);
	EXPECT_EQ(sh->shutdown, 1);
	EXPECT_EQ(socket_of(img, 10)->shutdown, 2);
	EXPECT_EQ(o->peer, 0u);
	EXPECT_EQ(o->shutdown, 3);
	EXPECT_EQ(finish(child), 0);

	// Made again here, the child gone: its files are stale.
	auto made = fds::UnixSocketMaker::make(img.unix_sockets, 200,
					       {img.uid, getuid(), img.gid, getgid()});
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	auto fd = [&](int n) {
		auto got = made->take(*fd_of(img, n));
		EXPECT_TRUE(got.has_value()) << got.error().describe();
		return fds::UniqueFd(got.value_or(-1));
	};
	fds::UniqueFd fl = fd(3), fa = fd(4), fc = fd(5), facc = fd(6), fdg = fd(7), fdc = fd(8),
		      fs0 = fd(9), fs1 = fd(10), fo = fd(11);
	struct stat st;
	ASSERT_EQ(stat(listen_path.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0604u);
	char buf[16] = {};
	EXPECT_EQ(recv(facc.get(), buf, sizeof(buf), MSG_DONTWAIT), 3);
	EXPECT_EQ(recv(fc.get(), buf, sizeof(buf), MSG_DONTWAIT), 4);
	EXPECT_EQ(std::string(buf, 4), "to5!");
	sockaddr_un name;
	socklen_t len = sizeof(name);
	ASSERT_EQ(getsockname(facc.get(), reinterpret_cast<sockaddr *>(&name), &len), 0);
	EXPECT_STREQ(name.sun_path, listen_path.c_str());
	// New clients reach both listeners by name.
	fds::UniqueFd n1(connected(SOCK_STREAM, listen_path)), n2(connected(SOCK_SEQPACKET, abstract));
	EXPECT_GE(n1.get(), 0);
	EXPECT_GE(n2.get(), 0);
	fds::UniqueFd a1(accept(fl.get(), nullptr, nullptr)), a2(accept(fa.get(), nullptr, nullptr));
	EXPECT_GE(a1.get(), 0);
	EXPECT_GE(a2.get(), 0);
	EXPECT_EQ(recv(fdg.get(), buf, sizeof(buf), MSG_DONTWAIT), 3);
	EXPECT_EQ(recv(fdg.get(), buf, sizeof(buf), MSG_DONTWAIT), 3);
	EXPECT_EQ(std::string(buf, 3), "two");
	EXPECT_EQ(send(fdc.get(), "x", 1, 0), 1);
	EXPECT_EQ(recv(fdg.get(), buf, sizeof(buf), MSG_DONTWAIT), 1);
	// 9 reads nothing more; 10 cannot write.
	EXPECT_EQ(recv(fs0.get(), buf, sizeof(buf), MSG_DONTWAIT), 0);
	EXPECT_EQ(send(fs1.get(), "x", 1, MSG_NOSIGNAL), -1);
	EXPECT_EQ(send(fs0.get(), "y", 1, MSG_NOSIGNAL), 1);
	EXPECT_EQ(recv(fo.get(), buf, sizeof(buf), MSG_DONTWAIT), 1);
	EXPECT_EQ(buf[0], 'z');
	EXPECT_EQ(recv(fo.get(), buf, sizeof(buf), MSG_DONTWAIT), 0);
}

// A name relative to the directory it was bound in, and a path whose
// file was unlinked: the first bound there again, from wherever the
// restore runs, the second bound and unlinked again, and the file that is
// at its path meanwhile left as it was.
TEST_F(UnixSockets, RelativeAndDeletedPathsAreBoundAsTheyWere)
{
	const std::string dir = dir_;
	pid_t pid = stopped_child(
		[&] {
			if (chdir(dir.c_str()) || bound(SOCK_DGRAM, "listen") != 3 ||
			    bound(SOCK_STREAM, dir + "/live") != 4 || listen(4, 1) ||
			    unlink((dir + "/live").c_str()))
				_exit(10);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild child{pid};
	Image img;
	auto r = capture_files(pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	const UnixSocket *rel = socket_of(img, 3), *gone = socket_of(img, 4);
	ASSERT_TRUE(rel && gone);
	EXPECT_EQ(rel->name, "listen");
	EXPECT_EQ(rel->base, dir);
	EXPECT_FALSE(rel->deleted);
	EXPECT_EQ(gone->name, dir + "/live");
	EXPECT_TRUE(gone->deleted);
	EXPECT_EQ(finish(child), 0);

	int other = open((dir + "/live").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
	ASSERT_EQ(write(other, "mine", 4), 4);
	close(other);
	auto made = fds::UnixSocketMaker::make(img.unix_sockets, 200,
					       {img.uid, getuid(), img.gid, getgid()});
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	fds::UniqueFd mr(made->take(*fd_of(img, 3)).value_or(-1)),
		mg(made->take(*fd_of(img, 4)).value_or(-1));
	sockaddr_un name{};
	socklen_t len = sizeof(name);
	ASSERT_EQ(getsockname(mr.get(), reinterpret_cast<sockaddr *>(&name), &len), 0);
	EXPECT_STREQ(name.sun_path, "listen");
	struct stat st;
	EXPECT_EQ(stat((dir + "/listen").c_str(), &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	len = sizeof(name);
	ASSERT_EQ(getsockname(mg.get(), reinterpret_cast<sockaddr *>(&name), &len), 0);
	EXPECT_EQ(std::string(name.sun_path), dir + "/live");
	ASSERT_EQ(stat((dir + "/live").c_str(), &st), 0);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_size, 4);
	int backlog = -1;
	len = sizeof(backlog);
	EXPECT_EQ(getsockopt(mg.get(), SOL_SOCKET, SO_ACCEPTCONN, &backlog, &len), 0);
	EXPECT_EQ(backlog, 1);
}

// Connections a listener has not accepted: carried when their clients are
// the process's and wrote nothing yet (connected again, in order);
// refused when a client wrote, or is elsewhere. A path where a live
// listener is, or a regular file, is not taken over.
TEST_F(UnixSockets, PendingConnectionsAndLiveNamesAreChecked)
{
	const std::string abstract = abstract_;
	pid_t pid = stopped_child(
		[&] {
			if (bound(SOCK_STREAM, abstract) != 3 || listen(3, 4) ||
			    connected(SOCK_STREAM, abstract) != 4 ||
			    connected(SOCK_STREAM, abstract) != 5)
				_exit(10);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild child{pid};
	Image img;
	auto r = capture_files(pid, img);
	if (!r && r.error().describe().find("unix_diag") != std::string::npos)
		GTEST_SKIP() << r.error().describe();
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	const UnixSocket *l = socket_of(img, 3), *c1 = socket_of(img, 4), *c2 = socket_of(img, 5);
	ASSERT_TRUE(l && c1 && c2);
	EXPECT_EQ(l->pending, (std::vector<uint64_t>{c1->inode, c2->inode}));
	EXPECT_EQ(finish(child), 0);
	auto made = fds::UnixSocketMaker::make(img.unix_sockets, 200,
					       {img.uid, getuid(), img.gid, getgid()});
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	fds::UniqueFd ml(made->take(*fd_of(img, 3)).value_or(-1)),
		mc1(made->take(*fd_of(img, 4)).value_or(-1)),
		mc2(made->take(*fd_of(img, 5)).value_or(-1));
	fds::UniqueFd a1(accept4(ml.get(), nullptr, nullptr, SOCK_NONBLOCK)),
		a2(accept4(ml.get(), nullptr, nullptr, SOCK_NONBLOCK));
	ASSERT_GE(a1.get(), 0);
	ASSERT_GE(a2.get(), 0);
	char buf[4];
	EXPECT_EQ(send(mc1.get(), "1", 1, 0), 1);
	EXPECT_EQ(send(mc2.get(), "2", 1, 0), 1);
	EXPECT_EQ(recv(a1.get(), buf, 4, 0), 1);
	EXPECT_EQ(buf[0], '1');
	EXPECT_EQ(recv(a2.get(), buf, 4, 0), 1);
	EXPECT_EQ(buf[0], '2');
	for (auto *fd : {&ml, &mc1, &mc2, &a1, &a2})
		fd->reset();

	const std::string other = abstract + "-wrote";
	pid = stopped_child(
		[&] {
			if (bound(SOCK_STREAM, other) != 3 || listen(3, 4) ||
			    connected(SOCK_STREAM, other) != 4 || write(4, "x", 1) != 1)
				_exit(10);
		},
		[] { return 0; });
	ASSERT_GT(pid, 0);
	hetmig::testing::ReapedChild wrote{pid};
	Image img2;
	r = capture_files(pid, img2);
	ASSERT_FALSE(r.has_value());
	std::string why = r.error().describe();
	EXPECT_NE(why.find("fd 3 is socket:["), std::string::npos) << why;
	EXPECT_NE(why.find("with 1 connection it has not accepted yet"), std::string::npos) << why;
	EXPECT_NE(why.find("a client in the process wrote"), std::string::npos) << why;
	EXPECT_EQ(finish(wrote), 0);

	// A path where a listener lives is not taken over.
	const std::string live = dir_ + "/live";
	fds::UniqueFd listener(bound(SOCK_STREAM, live));
	ASSERT_GE(listener.get(), 0);
	ASSERT_EQ(listen(listener.get(), 1), 0);
	UnixSocket s;
	s.inode = 77, s.type = SOCK_STREAM, s.state = 10, s.name = live, s.mode = 0600;
	auto here = fds::check_unix_names_here({s});
	ASSERT_FALSE(here.has_value());
	EXPECT_NE(here.error().describe().find(live + " is a unix socket that a process here "
					       "listens on"), std::string::npos)
		<< here.error().describe();
	auto live_made = fds::UnixSocketMaker::make({s}, 200, {0, getuid(), 0, getgid()});
	ASSERT_FALSE(live_made.has_value());
	EXPECT_EQ(live_made.error().code, EADDRINUSE);
	// A regular file neither.
	listener.reset();
	unlink(live.c_str());
	close(open(live.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	here = fds::check_unix_names_here({s});
	ASSERT_FALSE(here.has_value());
	EXPECT_NE(here.error().describe().find("is here and is no socket"), std::string::npos);
	unlink(live.c_str());
}

// A tree's: a listener two children share (a prefork daemon's), and a
// connection it accepted, whose ends are one in each child, with bytes
// queued; made again by the restorer once both are gone.
TEST_F(UnixSockets, ATreesListenerAndConnectionAreMadeOnce)
{
	const std::string abstract = abstract_ + "-tree";
	int l = bound(SOCK_STREAM, abstract);
	ASSERT_GE(l, 0);
	ASSERT_EQ(listen(l, 4), 0);
	int c = connected(SOCK_STREAM, abstract);
	int a = accept(l, nullptr, nullptr);
	ASSERT_TRUE(c >= 0 && a >= 0 && write(c, "hi", 2) == 2);
	ASSERT_TRUE(dup2(l, 20) == 20 && dup2(a, 21) == 21 && dup2(c, 22) == 22);
	for (int fd : {l, a, c})
		close(fd);
	auto stopped = [](std::initializer_list<std::pair<int, int>> moves) {
		pid_t pid = fork();
		if (pid == 0) {
			for (auto [from, to] : moves)
				dup2(from, to);
			close_range(3, 9, 0);
			close_range(12, ~0U, 0);
			raise(SIGSTOP);
			_exit(0);
		}
		int status;
		return waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status) ? pid : -1;
	};
	pid_t r = stopped({{20, 10}, {21, 11}}), w = stopped({{20, 10}, {22, 11}});
	for (int fd : {20, 21, 22})
		close(fd);
	ASSERT_GT(r, 0);
	ASSERT_GT(w, 0);
	hetmig::testing::ReapedChild rc{r}, wc{w};
	std::vector<pid_t> pids = {r, w};
	Image root, member;
	root.pid = uint32_t(r);
	member.pid = uint32_t(w);
	auto got = capture_files(r, root, pids);
	if (got)
		got = capture_files(w, member, pids);
	if (!got && got.error().code == EPERM)
		GTEST_SKIP() << got.error().describe();
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	root.members.push_back(std::move(member));
	auto tree = fds::capture_tree_files(root);
	ASSERT_TRUE(tree.has_value()) << tree.error().describe();
	EXPECT_TRUE(root.unix_sockets.empty());
	ASSERT_EQ(root.tree_sockets.size(), 3u);
	ASSERT_EQ(root.tree_files.size(), 3u);
	const OpenFile *lr = fd_of(root, 10), *lw = fd_of(root.members[0], 10),
		       *ar = fd_of(root, 11), *cw = fd_of(root.members[0], 11);
	ASSERT_TRUE(lr && lw && ar && cw);
	EXPECT_EQ(lr->tree_file, lw->tree_file);
	EXPECT_GE(ar->tree_file, 0);
	EXPECT_GE(cw->tree_file, 0);
	EXPECT_FALSE(fds::tree_files_problem(root).has_value());
	for (pid_t pid : {r, w})
		kill(pid, SIGKILL);
	rc.wait();
	wc.wait();

	auto made = fds::make_tree_files(root, {}, [](const Image &) {
		return std::pair{getuid(), getgid()};
	});
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	int ml = (*made)[size_t(lr->tree_file)].get(), ma = (*made)[size_t(ar->tree_file)].get(),
	    mc = (*made)[size_t(cw->tree_file)].get();
	char buf[8] = {};
	EXPECT_EQ(recv(ma, buf, sizeof(buf), MSG_DONTWAIT), 2);
	EXPECT_EQ(send(mc, "x", 1, 0), 1);
	EXPECT_EQ(recv(ma, buf, sizeof(buf), MSG_DONTWAIT), 1);
	fds::UniqueFd n(connected(SOCK_STREAM, abstract));
	EXPECT_GE(n.get(), 0);
	fds::UniqueFd acc(accept4(ml, nullptr, nullptr, SOCK_NONBLOCK));
	EXPECT_GE(acc.get(), 0);
}

} // namespace
} // namespace hetmig
