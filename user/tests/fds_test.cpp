// SPDX-License-Identifier: GPL-2.0
// Descriptors that are not opened again by path alone (user/src/fds/),
// captured and rebuilt: /dev/zero and the other devices that are the same
// everywhere must be the same device on the destination; an eventfd is
// made again with its counter and mode, and the probe that tells the mode
// on 6.1 leaves the counter as it was. A child's self-pipe is captured
// with both its ends and its exact buffered bytes, which stay in the
// child's pipe (with its eventfd and /dev/zero beside it); a pipe that
// leads out of the process is refused at fd 3 and up, naming the process
// at its other end, and left to the receiver as a standard stream; a pipe
// is made again with its capacity, bytes and flags. A timerfd's timer is
// read from fdinfo, and made again rearmed relative with its unread
// expiries.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "image_bytes.h"
#include "fds/devices.h"
#include "fds/eventfd.h"
#include "fds/owner.h"
#include "fds/pipes.h"
#include "fds/timerfd.h"

namespace hetmig {
namespace {

using testing::fd_of;

TEST(Devices, ADeviceMustBeTheSameDeviceHere)
{
	OpenFile zero;
	zero.fd = 7;
	zero.path = "/dev/zero";
	zero.flags = O_RDONLY;
	zero.rdev = makedev(1, 5);
	EXPECT_TRUE(fds::check_device_here(zero).has_value());
	auto fd = fds::open_device(zero);
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	close(*fd);
	zero.rdev = makedev(1, 9);
	auto r = fds::check_device_here(zero);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ENODEV);
	EXPECT_FALSE(fds::open_device(zero).has_value());
	struct stat st;
	ASSERT_EQ(stat("/dev/zero", &st), 0);
	EXPECT_FALSE(fds::same_everywhere_device("/dev/zero.copy", st));
	EXPECT_EQ(fds::same_everywhere_device("/dev/zero", st), uint64_t(makedev(1, 5)));
}

uint64_t own_eventfd_count(int fd)
{
	std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
	for (std::string line; std::getline(info, line);)
		if (line.starts_with("eventfd-count:"))
			return std::stoull(line.substr(14), nullptr, 16);
	return ~0ull;
}

// 6.1 does not print eventfd-semaphore: capture reads and writes back.
TEST(Eventfd, TheProbeTellsTheModeAndLeavesTheCounter)
{
	for (bool semaphore : {false, true})
		for (uint64_t count : {0, 1, 2, 5}) {
			int fd = eventfd(unsigned(count), EFD_NONBLOCK |
							  (semaphore ? EFD_SEMAPHORE : 0));
			ASSERT_GE(fd, 0);
			auto mode = fds::probe_mode(fd, count);
			ASSERT_TRUE(mode.has_value()) << mode.error().describe();
			EXPECT_EQ(*mode, semaphore) << "count " << count;
			EXPECT_EQ(own_eventfd_count(fd), count) << "semaphore " << semaphore;
			close(fd);
		}
}

TEST(Eventfd, AnEventfdIsMadeAgainWithItsCounterAndMode)
{
	OpenFile f;
	f.fd = 6;
	f.flags = O_RDWR | O_NONBLOCK;
	f.eventfd = EventCounter{5, true};
	auto fd = fds::make_eventfd(f);
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	fds::UniqueFd e(*fd);
	uint64_t v = 0;
	EXPECT_EQ(read(e.get(), &v, 8), 8);
	EXPECT_EQ(v, 1u);
	EXPECT_EQ(own_eventfd_count(e.get()), 4u);
	EXPECT_EQ(fcntl(e.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	f.eventfd = EventCounter{~0ull - 1, false};  // above what eventfd(2) takes
	auto big = fds::make_eventfd(f);
	ASSERT_TRUE(big.has_value()) << big.error().describe();
	EXPECT_EQ(own_eventfd_count(*big), ~0ull - 1);
	close(*big);
}

constexpr size_t kBuffered = 3001;

std::vector<uint8_t> pattern(size_t n)
{
	std::vector<uint8_t> v(n);
	for (size_t i = 0; i < n; i++)
		v[i] = uint8_t(i * 131 + 7);
	return v;
}

// A forked child that stopped itself (SIGSTOP) once set up; killed when
// the test ends unless it was waited for.
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
	// Its exit status after SIGCONT, or -1.
	int finish()
	{
		kill(pid, SIGCONT);
		int status;
		pid_t w = waitpid(pid, &status, 0);
		pid = -1;
		return w > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	}
};

// In a forked child: FD at 9 and no other descriptor above 2, then stopped
// (SIGSTOP) for the test to capture; exits 10 if FD cannot be moved.
[[noreturn]] void stop_holding_only_fd9(int fd)
{
	if (fd < 0 || dup2(fd, 9) != 9)
		_exit(10);
	close_range(3, 8, 0);
	close_range(10, ~0U, 0);
	raise(SIGSTOP);
	_exit(0);
}

// The child of SelfPipe: stdout a pipe to the test, then fd 3 and 4 a
// pipe holding kBuffered bytes (fd 3 non-blocking), fd 5 a dup of fd 4
// (close-on-exec), fd 6 a semaphore eventfd at 7, fd 7 /dev/zero. Once
// continued it exits 0 if the pipe still holds exactly those bytes and
// the eventfd its 7.
[[noreturn]] void self_pipe_child(int out)
{
	dup2(out, 1);
	close_range(3, ~0U, 0);
	int fds[2];
	if (pipe2(fds, 0) || fds[0] != 3 || fcntl(3, F_SETFL, O_NONBLOCK))
		_exit(10);
	auto bytes = pattern(kBuffered);
	if (write(4, bytes.data(), bytes.size()) != ssize_t(bytes.size()))
		_exit(11);
	if (dup3(4, 5, O_CLOEXEC) != 5 || eventfd(7, EFD_SEMAPHORE) != 6 ||
	    open("/dev/zero", O_RDONLY) != 7)
		_exit(12);
	raise(SIGSTOP);
	std::vector<uint8_t> back(kBuffered + 1);
	if (read(3, back.data(), back.size()) != ssize_t(kBuffered) ||
	    !std::equal(bytes.begin(), bytes.end(), back.begin()) ||
	    read(3, back.data(), 1) != -1 || errno != EAGAIN)
		_exit(13);
	uint64_t one;
	for (int i = 0; i < 7; i++)
		if (read(6, &one, 8) != 8 || one != 1)
			_exit(14);
	_exit(0);
}

TEST(Pipes, ASelfPipeIsCapturedWithItsBytesLeftInPlace)
{
	int out[2];
	ASSERT_EQ(pipe(out), 0);
	Child child;
	child.pid = fork();
	ASSERT_GE(child.pid, 0);
	if (child.pid == 0)
		self_pipe_child(out[1]);
	close(out[1]);
	ASSERT_TRUE(child.stopped());

	Image img;
	auto r = capture_files(child.pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << "no ptrace access to a child here: " << r.error().describe();
	ASSERT_TRUE(r.has_value()) << r.error().describe();

	const OpenFile *read_end = fd_of(img, 3), *write_end = fd_of(img, 4),
		       *dup = fd_of(img, 5), *counter = fd_of(img, 6), *zero = fd_of(img, 7);
	ASSERT_TRUE(read_end && write_end && dup && counter && zero);
	ASSERT_NE(read_end->pipe, 0u);
	EXPECT_EQ(write_end->pipe, read_end->pipe);
	EXPECT_EQ(dup->pipe, read_end->pipe);
	EXPECT_EQ(read_end->flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC), O_RDONLY | O_NONBLOCK);
	EXPECT_EQ(write_end->flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC), O_WRONLY);
	EXPECT_EQ(dup->flags & (O_ACCMODE | O_CLOEXEC), O_WRONLY | O_CLOEXEC);
	EXPECT_EQ(dup->dup_of, 4);
	EXPECT_EQ(write_end->dup_of, -1);
	ASSERT_EQ(img.pipes.size(), 1u);
	EXPECT_EQ(img.pipes[0].inode, read_end->pipe);
	EXPECT_EQ(img.pipes[0].data, pattern(kBuffered));
	int probe[2];
	ASSERT_EQ(pipe(probe), 0);
	EXPECT_EQ(img.pipes[0].capacity, uint32_t(fcntl(probe[0], F_GETPIPE_SZ)));
	close(probe[0]);
	close(probe[1]);

	ASSERT_TRUE(counter->eventfd.has_value());
	EXPECT_EQ(counter->eventfd->count, 7u);
	EXPECT_TRUE(counter->eventfd->semaphore);
	EXPECT_EQ(zero->rdev, uint64_t(makedev(1, 5)));
	EXPECT_FALSE(zero->made_anew());

	// stdout, a pipe to this test: the receiver's, as a terminal would be.
	const OpenFile *stdout_ = fd_of(img, 1);
	ASSERT_TRUE(stdout_);
	EXPECT_TRUE(stdout_->std_stream);
	EXPECT_EQ(stdout_->pipe, 0u);

	EXPECT_EQ(child.finish(), 0) << "the child's pipe or eventfd changed";
	close(out[0]);
}

TEST(Pipes, APipeToAProcessLeftBehindIsRefusedNamingIt)
{
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	Child child;
	child.pid = fork();
	ASSERT_GE(child.pid, 0);
	if (child.pid == 0)
		stop_holding_only_fd9(fds[0]);
	close(fds[0]);
	ASSERT_TRUE(child.stopped());
	Image img;
	auto r = capture_files(child.pid, img);
	close(fds[1]);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, EOPNOTSUPP);
	std::string why = r.error().describe();
	EXPECT_NE(why.find("fd 9 is pipe:["), std::string::npos) << why;
	EXPECT_NE(why.find(strf("whose write end process %d (", getpid())), std::string::npos)
		<< why;
}

// A namespace descriptor of the process's own is carried as that kind of
// namespace (zdtm's proc-self); a /proc file of the process (or its tree)
// is carried with the pid it names, to be opened again once the tree
// exists (child_opened_proc, memfd02); another process's /proc file is
// opened again by its path (zdtm's pid_file holds /proc/1/status).
TEST(Files, NamespacesAndProcFilesOfTheProcessAreCarried)
{
	for (const char *path : {"/proc/self/ns/net", "/proc/self/stat", "/proc/1/status"}) {
		Child child;
		child.pid = fork();
		ASSERT_GE(child.pid, 0);
		if (child.pid == 0)
			stop_holding_only_fd9(open(path, O_RDONLY));
		ASSERT_TRUE(child.stopped());
		Image img;
		auto r = capture_files(child.pid, img);
		if (!r && r.error().code == EPERM)
			GTEST_SKIP() << r.error().describe();
		ASSERT_TRUE(r.has_value()) << path << ": " << r.error().describe();
		const OpenFile *f = testing::fd_of(img, 9);
		ASSERT_TRUE(f);
		if (std::string(path).find("/ns/") != std::string::npos) {
			EXPECT_EQ(f->ns, "net");
			EXPECT_TRUE(f->path.starts_with("net:[")) << f->path;
		} else if (std::string(path) == "/proc/self/stat") {
			EXPECT_EQ(f->proc_pid, child.pid);
			EXPECT_EQ(f->path, strf("/proc/%d/stat", child.pid));
		} else {
			EXPECT_EQ(f->path, path);
			EXPECT_EQ(f->proc_pid, 0);
			EXPECT_TRUE(f->ns.empty());
		}
	}
}

// An O_PATH descriptor of a symbolic link is carried with the link's
// target (zdtm's symlink); one whose link was deleted is refused, naming
// it.
TEST(Files, AnOPathSymlinkIsCarriedWithItsTarget)
{
	char dir[] = "/tmp/hetmig-symlink-XXXXXX";
	ASSERT_TRUE(mkdtemp(dir));
	std::string link = std::string(dir) + "/link";
	ASSERT_EQ(symlink("somewhere/else", link.c_str()), 0);
	for (bool deleted : {false, true}) {
		Child child;
		int fd = open(link.c_str(), O_PATH | O_NOFOLLOW);
		ASSERT_GE(fd, 0);
		child.pid = fork();
		ASSERT_GE(child.pid, 0);
		if (child.pid == 0)
			stop_holding_only_fd9(fd);
		close(fd);
		ASSERT_TRUE(child.stopped());
		if (deleted)
			unlink(link.c_str());
		Image img;
		auto r = capture_files(child.pid, img);
		if (!r && r.error().code == EPERM)
			GTEST_SKIP() << r.error().describe();
		if (deleted) {
			ASSERT_FALSE(r.has_value());
			EXPECT_NE(r.error().describe().find("fd 9 is the symbolic link " + link),
				  std::string::npos) << r.error().describe();
			continue;
		}
		ASSERT_TRUE(r.has_value()) << r.error().describe();
		const OpenFile *f = testing::fd_of(img, 9);
		ASSERT_TRUE(f && f->symlink);
		EXPECT_EQ(*f->symlink, "somewhere/else");
		EXPECT_EQ(f->path, link);
		EXPECT_EQ(f->size, 14u);
		EXPECT_TRUE(f->flags & O_PATH);
	}
	rmdir(dir);
}

// An fd's owner (F_SETOWN, F_SETSIG) is carried when it moves: the process
// itself; one that stays (here the test, its parent) is refused, naming
// it (zdtm's file_fown).
TEST(Files, AnOwnerIsCarriedWhenItMoves)
{
	for (bool self : {true, false}) {
		int fds[2];
		ASSERT_EQ(pipe(fds), 0);
		pid_t parent = getpid();
		Child child;
		child.pid = fork();
		ASSERT_GE(child.pid, 0);
		if (child.pid == 0) {
			if (fcntl(fds[0], F_SETOWN, self ? getpid() : parent) ||
			    fcntl(fds[0], F_SETSIG, SIGUSR2))
				_exit(11);
			stop_holding_only_fd9(fds[0]);
		}
		close(fds[0]);
		close(fds[1]);
		ASSERT_TRUE(child.stopped());
		auto owner = fds::capture_owner(child.pid, 9, {});
		if (!owner && owner.error().code == EPERM)
			GTEST_SKIP() << owner.error().describe();
		if (!self) {
			ASSERT_FALSE(owner.has_value());
			EXPECT_EQ(owner.error().code, EOPNOTSUPP);
			EXPECT_NE(owner.error().describe().find(
					  strf("fd 9 signals process %d when it is ready", parent)),
				  std::string::npos) << owner.error().describe();
			continue;
		}
		ASSERT_TRUE(owner.has_value()) << owner.error().describe();
		ASSERT_TRUE(*owner);
		EXPECT_EQ((*owner)->type, F_OWNER_PID);
		EXPECT_EQ((*owner)->id, child.pid);
		EXPECT_EQ((*owner)->signal, SIGUSR2);
		// Made again on another description here, as our own.
		OpenFile f;
		f.fd = 9;
		f.flags = O_RDONLY | O_ASYNC;
		f.owner = *owner;
		int again[2];
		ASSERT_EQ(pipe(again), 0);
		auto r = fds::restore_owner(again[0], f, child.pid);
		ASSERT_TRUE(r.has_value()) << r.error().describe();
		EXPECT_EQ(fcntl(again[0], F_GETOWN), getpid());
		EXPECT_EQ(fcntl(again[0], F_GETSIG), SIGUSR2);
		EXPECT_TRUE(fcntl(again[0], F_GETFL) & O_ASYNC);
		close(again[0]);
		close(again[1]);
	}
}

// The new kinds' keys (`ns`, `symlink`, `proc_pid`, `owner`) read back as
// written; one that contradicts the file or is out of range is refused.
TEST(Files, NamespaceSymlinkProcAndOwnerReadBack)
{
	Image img = testing::one_process(4242);
	OpenFile ns, link, procf;
	ns.fd = 3;
	ns.path = "net:[4026531840]";
	ns.ns = "net";
	ns.owner = FileOwner{F_OWNER_PID, 4242, SIGIO};
	link.fd = 4;
	link.path = "/tmp/dir/link";
	link.flags = O_PATH | O_NOFOLLOW;
	link.symlink = "target";
	procf.fd = 5;
	procf.path = "/proc/4242/maps";
	procf.proc_pid = 4242;
	procf.offset = 4096;
	procf.flags = O_RDONLY | O_ASYNC;
	img.files = {ns, link, procf};
	auto got = testing::decode(testing::encode(img, false));
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	ASSERT_EQ(got->files.size(), 3u);
	EXPECT_EQ(got->files[0].ns, "net");
	ASSERT_TRUE(got->files[0].owner);
	EXPECT_EQ(got->files[0].owner->type, F_OWNER_PID);
	EXPECT_EQ(got->files[0].owner->id, 4242);
	EXPECT_EQ(got->files[0].owner->signal, SIGIO);
	ASSERT_TRUE(got->files[1].symlink);
	EXPECT_EQ(*got->files[1].symlink, "target");
	EXPECT_EQ(got->files[2].proc_pid, 4242);
	EXPECT_FALSE(got->files[2].owner);

	Image bad = img;
	bad.files[0].ns = "bogus";
	testing::expect_refused(bad, "fd 3: a namespace of no kind this hetmig knows");
	bad = img;
	bad.files[1].flags = O_RDONLY;
	testing::expect_refused(bad, "fd 4: a symbolic link that is no O_PATH descriptor");
	bad = img;
	bad.files[2].proc_pid = 17;
	testing::expect_refused(bad, "fd 5: a /proc file whose path names another process");
	bad = img;
	bad.files[2].directory = true;
	testing::expect_refused(bad, "fd 5: a namespace, symbolic link or /proc file that is "
				     "something else too");
	bad = img;
	bad.files[0].owner->type = 7;
	testing::expect_refused(bad, "fd 3: an owner out of range");
}

// A process in a chroot is refused, naming its root (zdtm's chroot was
// restored outside it); one at the file system's root is not.
TEST(Files, AChrootIsRefused)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "chroot needs CAP_SYS_CHROOT";
	char dir[] = "/tmp/hetmig-chroot-XXXXXX";
	ASSERT_TRUE(mkdtemp(dir));
	Child child;
	child.pid = fork();
	ASSERT_GE(child.pid, 0);
	if (child.pid == 0) {
		if (chroot(dir))
			_exit(10);
		raise(SIGSTOP);
		_exit(0);
	}
	ASSERT_TRUE(child.stopped());
	auto r = check_root(child.pid);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, EOPNOTSUPP);
	EXPECT_NE(r.error().describe().find(strf("process %d runs in %s (chroot)", child.pid, dir)),
		  std::string::npos) << r.error().describe();
	EXPECT_TRUE(check_root(getpid()).has_value());
	rmdir(dir);
}

// A pipe one of whose ends was closed everywhere (a reader waiting for
// end of file: zdtm's pstree, chroot; a writer whose reader went) is
// carried with that end closed: the reader's bytes with it, the writer's
// none.
TEST(Pipes, APipeWithOneEndClosedEverywhereIsCarriedSo)
{
	for (bool reader : {true, false}) {
		Child child;
		child.pid = fork();
		ASSERT_GE(child.pid, 0);
		if (child.pid == 0) {
			int p[2];
			if (pipe(p) || write(p[1], "abc", 3) != 3)
				_exit(10);
			close(p[reader ? 1 : 0]);
			stop_holding_only_fd9(p[reader ? 0 : 1]);
		}
		ASSERT_TRUE(child.stopped());
		Image img;
		auto r = capture_files(child.pid, img);
		if (!r && r.error().code == EPERM)
			GTEST_SKIP() << r.error().describe();
		ASSERT_TRUE(r.has_value()) << r.error().describe();
		const OpenFile *end = nullptr;
		for (const auto &f : img.files)
			if (f.fd == 9)
				end = &f;
		ASSERT_TRUE(end);
		ASSERT_EQ(img.pipes.size(), 1u);
		EXPECT_EQ(end->pipe, img.pipes[0].inode);
		EXPECT_EQ(end->flags & O_ACCMODE, reader ? O_RDONLY : O_WRONLY);
		std::vector<uint8_t> bytes = {'a', 'b', 'c'};
		EXPECT_EQ(img.pipes[0].data, reader ? bytes : std::vector<uint8_t>());
	}
}

TEST(Pipes, APipeIsMadeAgainWithItsCapacityBytesAndFlags)
{
	PipeState state{777, 1 << 17, pattern(kBuffered)};
	std::vector<PipeState> pipes = {state};
	OpenFile r, w, other;
	r.fd = 10, r.pipe = 777, r.flags = O_RDONLY | O_NONBLOCK;
	w.fd = 11, w.pipe = 777, w.flags = O_WRONLY;
	other.fd = 12, other.pipe = 777, other.flags = O_WRONLY | O_CLOEXEC;
	fds::PipeMaker maker(pipes, 200);
	auto rfd = maker.open_end(r), wfd = maker.open_end(w), ofd = maker.open_end(other);
	ASSERT_TRUE(rfd && wfd && ofd);
	fds::UniqueFd rd(*rfd), wr(*wfd), ot(*ofd);
	EXPECT_LT(rd.get(), 200);
	EXPECT_EQ(fcntl(rd.get(), F_GETPIPE_SZ), 1 << 17);
	EXPECT_EQ(fcntl(rd.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	EXPECT_EQ(fcntl(wr.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
	EXPECT_EQ(fcntl(wr.get(), F_GETFD), 0);
	EXPECT_EQ(fcntl(ot.get(), F_GETFD), FD_CLOEXEC);
	std::vector<uint8_t> back(kBuffered + 1);
	EXPECT_EQ(read(rd.get(), back.data(), back.size()), ssize_t(kBuffered));
	back.resize(kBuffered);
	EXPECT_EQ(back, state.data);
	// Both write ends write into it.
	EXPECT_EQ(write(wr.get(), "a", 1), 1);
	EXPECT_EQ(write(ot.get(), "b", 1), 1);
	char two[3] = {};
	EXPECT_EQ(read(rd.get(), two, 3), 2);
	EXPECT_STREQ(two, "ab");
}

double seconds(const timespec &t)
{
	return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

TEST(Timerfd, TimersAreReadFromFdinfo)
{
	fds::UniqueFd armed(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	fds::UniqueFd fired(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	ASSERT_GE(armed.get(), 0);
	ASSERT_GE(fired.get(), 0);
	itimerspec in_100s{{2, 0}, {100, 0}}, at_once{{10, 0}, {0, 1000}};
	ASSERT_EQ(timerfd_settime(armed.get(), 0, &in_100s, nullptr), 0);
	ASSERT_EQ(timerfd_settime(fired.get(), 0, &at_once, nullptr), 0);
	usleep(20000);
	auto a = fds::capture_timerfd(getpid(), armed.get());
	auto f = fds::capture_timerfd(getpid(), fired.get());
	ASSERT_TRUE(a && f);
	EXPECT_EQ(a->clockid, CLOCK_MONOTONIC);
	EXPECT_EQ(a->ticks, 0u);
	EXPECT_GE(a->value.sec, 98u);
	EXPECT_LE(a->value.sec, 99u);
	EXPECT_EQ(a->interval.sec, 2u);
	EXPECT_EQ(a->interval.nsec, 0u);
	// Expired and not read: nothing remains, the read rearms it.
	EXPECT_EQ(f->ticks, 1u);
	EXPECT_EQ(f->value.sec + f->value.nsec, 0u);
	EXPECT_EQ(f->interval.sec, 10u);
	uint64_t ticks = 0;
	EXPECT_EQ(read(fired.get(), &ticks, 8), 8);  // still there
	EXPECT_EQ(ticks, 1u);
}

TEST(Timerfd, ATimerIsMadeAgainRearmedRelative)
{
	OpenFile f;
	f.fd = 9;
	f.flags = O_RDWR | O_NONBLOCK | O_CLOEXEC;
	f.timerfd = TimerState{CLOCK_MONOTONIC, 0, 3, {0, 0}, {10, 0}};
	auto fd = fds::make_timerfd(f);
	if (!fd && fd.error().code == ENOTTY)
		GTEST_SKIP() << "no TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE) here";
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	fds::UniqueFd timer(*fd);
	EXPECT_EQ(fcntl(timer.get(), F_GETFD), FD_CLOEXEC);
	itimerspec now{};
	ASSERT_EQ(timerfd_gettime(timer.get(), &now), 0);
	// Expired unread: a whole interval again, and its 3 expiries.
	EXPECT_GT(seconds(now.it_value), 9.5);
	EXPECT_EQ(now.it_interval.tv_sec, 10);
	uint64_t ticks = 0;
	EXPECT_EQ(read(timer.get(), &ticks, 8), 8);
	EXPECT_EQ(ticks, 3u);

	// Absolute: at the clock's now plus what remained, still absolute.
	f.timerfd = TimerState{CLOCK_REALTIME, TFD_TIMER_ABSTIME, 0, {50, 0}, {0, 0}};
	auto abs = fds::make_timerfd(f);
	ASSERT_TRUE(abs.has_value()) << abs.error().describe();
	fds::UniqueFd absolute(*abs);
	ASSERT_EQ(timerfd_gettime(absolute.get(), &now), 0);
	EXPECT_GT(seconds(now.it_value), 49.0);
	EXPECT_LE(seconds(now.it_value), 50.0);
	auto back = fds::capture_timerfd(getpid(), absolute.get());
	ASSERT_TRUE(back.has_value());
	EXPECT_EQ(back->settime_flags, TFD_TIMER_ABSTIME);

	// Disarmed: stays so.
	f.timerfd = TimerState{CLOCK_BOOTTIME, 0, 0, {0, 0}, {0, 0}};
	auto off = fds::make_timerfd(f);
	ASSERT_TRUE(off.has_value()) << off.error().describe();
	fds::UniqueFd disarmed(*off);
	ASSERT_EQ(timerfd_gettime(disarmed.get(), &now), 0);
	EXPECT_EQ(seconds(now.it_value), 0.0);
}

} // namespace
} // namespace hetmig
