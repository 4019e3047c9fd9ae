// SPDX-License-Identifier: GPL-2.0
// Descriptions a tree's processes share (fds/tree_files.h). Two stopped
// children of the test, one with a pipe's read end and the other with its
// write end (bytes in it), both with one eventfd, each with an end of a
// socket pair, one regular file open at one offset, and the first with a
// self-pipe of its own: the pipe's two ends, the pair's, the eventfd and
// the file become the tree's, once each, the bytes
// read once and left in place, the self-pipe stays the process's. The same pipe with the test holding an end too is
// refused, naming the test. Made again, the pipe's ends are one pipe with
// its bytes, the pair one pair with its queues, the eventfd keeps its
// counter and the file its offset. In the image (format 4, with a socket pair too),
// the shared descriptions read back as they were; format 3 with them,
// and a file naming one the image lacks, are refused.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <linux/hetmig.h>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "capture.h"
#include "fds/tree_files.h"
#include "image_bytes.h"

namespace hetmig {
namespace {

using testing::decode;
using testing::encode;
using testing::expect_refused;
using testing::one_process;
using testing::relabelled;
using testing::version_of;

constexpr size_t kBytes = 1234;

std::vector<uint8_t> pattern(size_t n)
{
	std::vector<uint8_t> v(n);
	for (size_t i = 0; i < n; i++)
		v[i] = uint8_t(i * 13 + 1);
	return v;
}

// A forked child stopped (SIGSTOP) once set up; killed at the end.
struct Child {
	pid_t pid = -1;
	~Child()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
	}
	bool stopped()
	{
		int status;
		return waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status);
	}
};

// Keeps only the fds of KEEP (at their numbers) and stops.
[[noreturn]] void hold_and_stop(std::initializer_list<int> keep)
{
	// Everything else (the test runner's own descriptors too) closed:
	// between the kept ones (ascending), and above the last.
	unsigned from = 3;
	for (int fd : keep) {
		if (unsigned(fd) > from)
			close_range(from, unsigned(fd) - 1, 0);
		from = unsigned(fd) + 1;
	}
	close_range(from, ~0U, 0);
	raise(SIGSTOP);
	pause();
	_exit(0);
}

const OpenFile *fd_of(const Image &img, int fd)
{
	for (const auto &f : img.files)
		if (f.fd == fd)
			return &f;
	return nullptr;
}

// Two children: R holds the read end of a pipe (fd 10) with kBytes in it
// and a self-pipe (11, 12), W its write end (fd 10); both the eventfd at
// fd 13, at 9; each an end of a stream socket pair at fd 14, "to-w"
// queued to W's, kBytes to R's; both a regular file at fd 15, "abcdef"
// read up to its offset 3. With TEST_KEEPS, this test keeps the pipe's
// write end.
struct SharingTree {
	Child r, w;
	int kept = -1;
	std::string path;

	bool make(bool test_keeps)
	{
		int p[2], self[2], sv[2];
		int ev = eventfd(9, 0);
		if (pipe(p) || pipe(self) || ev < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return false;
		auto to_r = pattern(kBytes);
		if (write(sv[1], to_r.data(), to_r.size()) != ssize_t(to_r.size()) ||
		    write(sv[0], "to-w", 4) != 4 || dup2(sv[0], 25) < 0 || dup2(sv[1], 26) < 0)
			return false;
		close(sv[0]);
		close(sv[1]);
		char name[] = "/tmp/hetmig-tree-files-XXXXXX";
		int file = mkstemp(name);
		if (file < 0 || write(file, "abcdef", 6) != 6 || lseek(file, 3, SEEK_SET) != 3 ||
		    dup2(file, 27) < 0)
			return false;
		close(file);
		path = name;
		auto bytes = pattern(kBytes);
		if (write(p[1], bytes.data(), bytes.size()) != ssize_t(bytes.size()) ||
		    write(self[1], "s", 1) != 1)
			return false;
		if (dup2(p[0], 20) < 0 || dup2(p[1], 21) < 0 || dup2(self[0], 22) < 0 ||
		    dup2(self[1], 23) < 0 || dup2(ev, 24) < 0)
			return false;
		for (int fd : {p[0], p[1], self[0], self[1], ev})
			close(fd);
		r.pid = fork();
		if (r.pid == 0) {
			dup2(20, 10), dup2(22, 11), dup2(23, 12), dup2(24, 13), dup2(25, 14);
			dup2(27, 15);
			hold_and_stop({10, 11, 12, 13, 14, 15});
		}
		w.pid = fork();
		if (w.pid == 0) {
			dup2(21, 10), dup2(24, 13), dup2(26, 14), dup2(27, 15);
			hold_and_stop({10, 13, 14, 15});
		}
		for (int fd : {20, 22, 23, 24, 25, 26, 27})
			close(fd);
		if (test_keeps)
			kept = 21;
		else
			close(21);
		return r.pid > 0 && w.pid > 0 && r.stopped() && w.stopped();
	}
	~SharingTree()
	{
		if (kept >= 0)
			close(kept);
		if (!path.empty())
			unlink(path.c_str());
	}
};

// The tree's image: R the root, W its member (as if R had forked W).
Result<Image> capture_two(const SharingTree &t)
{
	std::vector<pid_t> pids = {t.r.pid, t.w.pid};
	Image root, member;
	root.pid = uint32_t(t.r.pid);
	member.pid = uint32_t(t.w.pid);
	if (auto x = capture_files(t.r.pid, root, pids); !x)
		return std::unexpected(x.error());
	if (auto x = capture_files(t.w.pid, member, pids); !x)
		return std::unexpected(x.error());
	root.members.push_back(std::move(member));
	if (auto x = fds::capture_tree_files(root); !x)
		return std::unexpected(x.error());
	return root;
}

TEST(TreeFiles, APipeBetweenTwoProcessesAndTheirEventfdAreTheTrees)
{
	SharingTree t;
	ASSERT_TRUE(t.make(false));
	auto got = capture_two(t);
	if (!got && got.error().code == EPERM)
		GTEST_SKIP() << "no ptrace access to a child here: " << got.error().describe();
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	const Image &root = *got, &member = got->members[0];

	const OpenFile *read_end = fd_of(root, 10), *write_end = fd_of(member, 10),
		       *ev_r = fd_of(root, 13), *ev_w = fd_of(member, 13),
		       *self_r = fd_of(root, 11);
	const OpenFile *sock_r = fd_of(root, 14), *sock_w = fd_of(member, 14);
	const OpenFile *file_r = fd_of(root, 15), *file_w = fd_of(member, 15);
	ASSERT_TRUE(read_end && write_end && ev_r && ev_w && self_r && sock_r && sock_w &&
		    file_r && file_w);
	// Two pipe ends, an eventfd, two sockets, the file.
	ASSERT_EQ(root.tree_files.size(), 6u);
	ASSERT_GE(file_r->tree_file, 0);
	EXPECT_EQ(file_r->tree_file, file_w->tree_file);
	EXPECT_EQ(root.tree_files[size_t(file_r->tree_file)].offset, 3u);
	EXPECT_EQ(root.tree_files[size_t(file_r->tree_file)].path, t.path);
	ASSERT_EQ(root.tree_pipes.size(), 1u);
	EXPECT_EQ(root.tree_pipes[0].data, pattern(kBytes));
	EXPECT_EQ(root.tree_pipes[0].inode, read_end->pipe);
	ASSERT_GE(read_end->tree_file, 0);
	ASSERT_GE(write_end->tree_file, 0);
	EXPECT_NE(read_end->tree_file, write_end->tree_file);
	EXPECT_EQ(root.tree_files[size_t(read_end->tree_file)].flags & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(root.tree_files[size_t(write_end->tree_file)].flags & O_ACCMODE, O_WRONLY);
	ASSERT_GE(ev_r->tree_file, 0);
	EXPECT_EQ(ev_r->tree_file, ev_w->tree_file);	// one description
	ASSERT_TRUE(root.tree_files[size_t(ev_r->tree_file)].eventfd.has_value());
	EXPECT_EQ(root.tree_files[size_t(ev_r->tree_file)].eventfd->count, 9u);
	// The pair: each end the tree's, with what was queued to it.
	ASSERT_GE(sock_r->tree_file, 0);
	ASSERT_GE(sock_w->tree_file, 0);
	ASSERT_EQ(root.tree_pairs.size(), 1u);
	const UnixPair &pair = root.tree_pairs[0];
	EXPECT_EQ(pair.type, SOCK_STREAM);
	for (const auto &e : pair.ends) {
		ASSERT_EQ(e.queued.size(), 1u);
		const std::vector<uint8_t> to_w = {'t', 'o', '-', 'w'};
		EXPECT_EQ(e.queued[0], e.inode == sock_r->unix_socket ? pattern(kBytes) : to_w);
	}
	EXPECT_TRUE(root.unix_pairs.empty());
	EXPECT_TRUE(member.unix_pairs.empty());
	// The self-pipe is the process's own, as without a tree.
	EXPECT_EQ(self_r->tree_file, -1);
	ASSERT_EQ(root.pipes.size(), 1u);
	EXPECT_EQ(root.pipes[0].data, std::vector<uint8_t>{'s'});
	EXPECT_FALSE(fds::tree_files_problem(root).has_value());

	// Left in place: the child's pipe still holds them all.
	fds::UniqueFd pidfd(int(syscall(SYS_pidfd_open, t.r.pid, 0)));
	int copy = int(syscall(SYS_pidfd_getfd, pidfd.get(), 10, 0));
	ASSERT_GE(copy, 0);
	int queued = 0;
	EXPECT_EQ(ioctl(copy, FIONREAD, &queued), 0);
	EXPECT_EQ(queued, int(kBytes));
	close(copy);

	// Made again: one pipe with its bytes, one eventfd with its count.
	auto made = fds::make_tree_files(root, {}, [](const Image &) {
		return std::pair{getuid(), getgid()};
	});
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	ASSERT_EQ(made->size(), 6u);
	// The file at its offset.
	char rest[4] = {};
	EXPECT_EQ(read((*made)[size_t(file_r->tree_file)].get(), rest, 3), 3);
	EXPECT_STREQ(rest, "def");
	int rd = (*made)[size_t(read_end->tree_file)].get();
	int wr = (*made)[size_t(write_end->tree_file)].get();
	ASSERT_EQ(write(wr, "!", 1), 1);
	std::vector<uint8_t> back(kBytes + 2);
	ASSERT_EQ(read(rd, back.data(), back.size()), ssize_t(kBytes + 1));
	EXPECT_EQ(back[kBytes], '!');
	back.resize(kBytes);
	EXPECT_EQ(back, pattern(kBytes));
	uint64_t count = 0;
	EXPECT_EQ(read((*made)[size_t(ev_r->tree_file)].get(), &count, 8), 8);
	EXPECT_EQ(count, 9u);
	// One pair: its queues, and a write through one end read at the other.
	int sr = (*made)[size_t(sock_r->tree_file)].get();
	int sw = (*made)[size_t(sock_w->tree_file)].get();
	std::vector<uint8_t> sent(kBytes + 8);
	ASSERT_EQ(recv(sr, sent.data(), sent.size(), MSG_DONTWAIT), ssize_t(kBytes));
	sent.resize(kBytes);
	EXPECT_EQ(sent, pattern(kBytes));
	char four[5] = {};
	ASSERT_EQ(recv(sw, four, 4, MSG_DONTWAIT), 4);
	EXPECT_STREQ(four, "to-w");
	ASSERT_EQ(send(sr, "back", 4, 0), 4);
	ASSERT_EQ(recv(sw, four, 4, MSG_DONTWAIT), 4);
	EXPECT_STREQ(four, "back");
	// No other write end: once ours is closed, the reader sees its end.
	(*made)[size_t(write_end->tree_file)].reset();
	EXPECT_EQ(read(rd, back.data(), 1), 0);
}

TEST(TreeFiles, AnEndHeldOutsideTheTreeIsRefusedNamingIt)
{
	SharingTree t;
	ASSERT_TRUE(t.make(true));
	auto got = capture_two(t);
	if (!got && got.error().code == EPERM)
		GTEST_SKIP() << got.error().describe();
	ASSERT_FALSE(got.has_value());
	EXPECT_EQ(got.error().code, EOPNOTSUPP);
	std::string why = got.error().describe();
	EXPECT_NE(why.find("fd 10 is pipe:["), std::string::npos) << why;
	EXPECT_NE(why.find(strf("process %d (", getpid())), std::string::npos) << why;
}

// Two stopped children of the test, each holding the test's FD at AT; the
// test closes its own.
struct BothHold {
	Child a, b;

	bool make(int fd, int at)
	{
		for (Child *c : {&a, &b}) {
			c->pid = fork();
			if (c->pid == 0) {
				dup2(fd, at);
				if (at > 2)
					hold_and_stop({at});
				hold_and_stop({});
			}
		}
		close(fd);
		return a.pid > 0 && b.pid > 0 && a.stopped() && b.stopped();
	}

	Result<Image> capture()
	{
		std::vector<pid_t> pids = {a.pid, b.pid};
		Image root, member;
		root.pid = uint32_t(a.pid);
		member.pid = uint32_t(b.pid);
		if (auto x = capture_files(a.pid, root, pids); !x)
			return std::unexpected(x.error());
		if (auto x = capture_files(b.pid, member, pids); !x)
			return std::unexpected(x.error());
		root.members.push_back(std::move(member));
		if (auto x = fds::capture_tree_files(root); !x)
			return std::unexpected(x.error());
		return root;
	}
};

TEST(TreeFiles, APipeWithoutAWriterIsTheTreesUnlessAStream)
{
	// Both hold its read end at fd 10; its write end is closed
	// everywhere: carried with its byte, no write end.
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	close(p[1]);
	BothHold t;
	ASSERT_TRUE(t.make(p[0], 10));
	auto got = t.capture();
	if (!got && got.error().code == EPERM)
		GTEST_SKIP() << got.error().describe();
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	ASSERT_EQ(got->tree_pipes.size(), 1u);
	EXPECT_EQ(got->tree_pipes[0].data, std::vector<uint8_t>{'x'});
	ASSERT_EQ(got->tree_files.size(), 1u);
	EXPECT_EQ(got->tree_files[0].flags & O_ACCMODE, O_RDONLY);
	for (const Image *img : {&*got, &got->members[0]}) {
		const OpenFile *end = fd_of(*img, 10);
		ASSERT_TRUE(end);
		EXPECT_EQ(end->tree_file, 0);
	}

	// The same pipe as both processes' stdin: the receiver's stream.
	ASSERT_EQ(pipe(p), 0);
	close(p[1]);
	BothHold s;
	ASSERT_TRUE(s.make(p[0], 0));
	auto streams = s.capture();
	ASSERT_TRUE(streams.has_value()) << streams.error().describe();
	for (const auto &f : streams->tree_files)
		ADD_FAILURE() << "shared: fd " << f.fd << " " << f.path;
	EXPECT_TRUE(streams->tree_pipes.empty());
	for (const Image *img : {&*streams, &streams->members[0]}) {
		const OpenFile *in = fd_of(*img, 0);
		ASSERT_TRUE(in);
		EXPECT_TRUE(in->std_stream);
		EXPECT_EQ(in->pipe, 0u);
	}
}

TEST(TreeFiles, ASocketWhosePeerIsOutsideTheTreeIsRefusedNamingIt)
{
	// Both hold one end at fd 10; a third child, outside their tree,
	// the other (not the test: a dumper's own copies are no one's).
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	Child outside;
	outside.pid = fork();
	if (outside.pid == 0) {
		dup2(sv[1], 10);
		hold_and_stop({10});
	}
	close(sv[1]);
	ASSERT_TRUE(outside.stopped());
	BothHold t;
	ASSERT_TRUE(t.make(sv[0], 10));
	auto got = t.capture();
	if (!got && got.error().code == EPERM)
		GTEST_SKIP() << got.error().describe();
	if (!got && got.error().describe().find("unix_diag") != std::string::npos)
		GTEST_SKIP() << got.error().describe();
	ASSERT_FALSE(got.has_value());
	std::string why = got.error().describe();
	EXPECT_NE(why.find("fd 10 is socket:["), std::string::npos) << why;
	EXPECT_NE(why.find(strf("whose other end process %d holds too", outside.pid)),
		  std::string::npos) << why;
}

TEST(TreeFiles, APipeIsMadeAsItsFirstHolder)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "made as another user only by root";
	Image root;
	root.pid = 100;
	root.tree_pipes = {{9, 65536, {'a', 'b'}}};
	for (int mode : {O_RDONLY, O_WRONLY}) {
		OpenFile f;
		f.fd = 3 + mode;
		f.path = "pipe:[9]";
		f.flags = mode;
		f.pipe = 9;
		root.tree_files.push_back(f);
		f.tree_file = mode;
		root.files.push_back(f);
	}
	auto made = fds::make_tree_files(root, {}, [](const Image &) {
		return std::pair{uid_t(4321), gid_t(4322)};
	});
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	struct stat st;
	ASSERT_EQ(fstat((*made)[0].get(), &st), 0);
	EXPECT_EQ(st.st_uid, 4321u);
	EXPECT_EQ(st.st_gid, 4322u);
	// And we are ourselves again.
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(fstat(p[0], &st), 0);
	EXPECT_EQ(st.st_uid, 0u);
	close(p[0]);
	close(p[1]);
	char two[3] = {};
	EXPECT_EQ(read((*made)[0].get(), two, 2), 2);
	EXPECT_STREQ(two, "ab");
}

OpenFile end_of(int fd, uint64_t inode, int flags, int32_t shared)
{
	OpenFile f;
	f.fd = fd;
	f.path = strf("pipe:[%llu]", (unsigned long long)inode);
	f.flags = flags;
	f.pipe = inode;
	f.tree_file = shared;
	return f;
}

// A parent and a child with a pipe between them, both holding an eventfd.
Image sharing_image()
{
	Image root = one_process(100);
	Image child = one_process(101);
	child.links.ppid = 100;
	root.tree_pipes = {{555, 65536, pattern(kBytes)}};
	root.tree_files = {end_of(3, 555, O_WRONLY, -1), end_of(3, 555, O_RDONLY | O_NONBLOCK, -1)};
	OpenFile ev;
	ev.fd = 4;
	ev.path = "anon_inode:[eventfd]";
	ev.flags = O_RDWR;
	ev.eventfd = EventCounter{5, true};
	root.tree_files.push_back(ev);
	root.files = {end_of(3, 555, O_WRONLY | O_CLOEXEC, 0)};
	ev.tree_file = 2;
	root.files.push_back(ev);
	child.files = {end_of(3, 555, O_RDONLY | O_NONBLOCK, 1), ev};
	// A socket pair, an end each.
	UnixPair pair;
	pair.type = SOCK_STREAM;
	pair.ends[0] = {700, 4096, {{'a', 'b', 'c'}}};
	pair.ends[1] = {701, 8192, {}};
	root.tree_pairs = {pair};
	for (uint64_t inode : {700, 701}) {
		OpenFile sock;
		sock.fd = 5;
		sock.path = strf("socket:[%llu]", (unsigned long long)inode);
		sock.flags = O_RDWR;
		sock.unix_socket = inode;
		root.tree_files.push_back(sock);
		sock.tree_file = int32_t(root.tree_files.size() - 1);
		(inode == 700 ? root.files : child.files).push_back(sock);
	}
	root.members = {child};
	return root;
}

TEST(TreeFilesImage, SharedDescriptionsReadBackInFormat4)
{
	Image want = sharing_image();
	auto bytes = encode(want, false);
	EXPECT_EQ(version_of(bytes), 4u);
	auto got = decode(bytes);
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	ASSERT_EQ(got->tree_files.size(), 5u);
	ASSERT_EQ(got->tree_pipes.size(), 1u);
	ASSERT_EQ(got->tree_pairs.size(), 1u);
	EXPECT_EQ(got->tree_pairs[0].ends[0].queued.at(0), (std::vector<uint8_t>{'a', 'b', 'c'}));
	EXPECT_EQ(got->tree_pairs[0].ends[1].sndbuf, 8192u);
	EXPECT_EQ(got->members[0].files.at(2).unix_socket, 701u);
	EXPECT_EQ(got->members[0].files.at(2).tree_file, 4);
	EXPECT_EQ(got->tree_pipes[0].data, pattern(kBytes));
	EXPECT_EQ(got->tree_pipes[0].capacity, 65536u);
	EXPECT_EQ(got->tree_files[1].flags, O_RDONLY | O_NONBLOCK);
	EXPECT_EQ(got->tree_files[2].eventfd->count, 5u);
	EXPECT_TRUE(got->tree_files[2].eventfd->semaphore);
	EXPECT_EQ(got->files[0].tree_file, 0);
	EXPECT_EQ(got->files[0].flags, O_WRONLY | O_CLOEXEC);
	ASSERT_EQ(got->members.size(), 1u);
	EXPECT_EQ(got->members[0].files[0].tree_file, 1);
	EXPECT_EQ(got->members[0].files[1].tree_file, 2);
	EXPECT_TRUE(got->members[0].pipes.empty());

	// Without shared descriptions a tree stays format 3.
	Image plain = sharing_image();
	plain.tree_files.clear();
	plain.tree_pipes.clear();
	plain.tree_pairs.clear();
	plain.files.clear();
	plain.members[0].files.clear();
	EXPECT_EQ(version_of(encode(plain, false)), kImageFormatTree);
}

TEST(TreeFilesImage, WrongOrMislabelledSharedDescriptionsAreRefused)
{
	expect_refused(sharing_image(), "in a format 1 to 3 image", 3);
	Image img = sharing_image();
	img.members[0].files[0].tree_file = 7;
	expect_refused(img, "fd 3 of process 101: a shared descriptor the image lacks");
	img = sharing_image();
	img.members[0].files[0].flags = O_WRONLY;  // not the read end it names
	expect_refused(img, "fd 3 of process 101 is not the shared descriptor it names");
	img = sharing_image();
	img.tree_files.erase(img.tree_files.begin() + 1);  // the read end gone
	img.members[0].files.erase(img.members[0].files.begin());
	for (auto *files : {&img.files, &img.members[0].files})
		for (auto &f : *files)
			if (f.tree_file > 1)
				f.tree_file--;
	expect_refused(img, "the tree's pipe:[555] without an end");	// it holds bytes
	img.tree_pipes[0].data.clear();
	EXPECT_TRUE(decode(encode(img, false)).has_value());
	img = sharing_image();
	img.tree_pipes[0].data.resize(70000);
	expect_refused(img, "holding more than it can");
	img = sharing_image();
	img.tree_pipes.clear();
	expect_refused(img, "an end of a pipe the image lacks");
	img = sharing_image();
	img.tree_pairs.clear();
	expect_refused(img, "an end of a socket pair the image lacks");
	img = sharing_image();
	img.members[0].files[2].unix_socket = 700;  // the other end than it names
	expect_refused(img, "fd 5 of process 101 is not the shared descriptor it names");
}

} // namespace
} // namespace hetmig
