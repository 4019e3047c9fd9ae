// SPDX-License-Identifier: GPL-2.0
// Named pipes (user/src/fds/fifos.h): a stopped child's FIFO captured with
// its bytes, which stay in it; one a process outside holds too refused
// naming it; made again here with its bytes and capacity, each fd opened
// with its flags without waiting for the other side; a FIFO that holds
// bytes here already, or a path that is no FIFO, refused; and the image's
// checks of them.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "fds/fifos.h"
#include "image_bytes.h"
#include "stopped_child.h"

namespace hetmig {
namespace {

using testing::decode;
using testing::encode;
using testing::fd_of;

// A directory of its own, removed with what is in it.
struct TempDir {
	std::string path;
	TempDir()
	{
		char tmpl[] = "/tmp/hetmig-fifos-XXXXXX";
		path = mkdtemp(tmpl) ? tmpl : "";
	}
	~TempDir()
	{
		std::error_code ec;
		if (!path.empty())
			std::filesystem::remove_all(path, ec);
	}
};

int queued(int fd)
{
	int n = -1;
	return ioctl(fd, FIONREAD, &n) ? -1 : n;
}

TEST(Fifos, AFifoIsCapturedWithItsBytesLeftInIt)
{
	TempDir dir;
	std::string path = dir.path + "/control";
	ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
	testing::ReapedChild child(testing::stopped_child(
		[&] {
			int fd = open(path.c_str(), O_RDWR);
			if (fd < 0 || dup2(fd, 9) != 9 || write(9, "abc", 3) != 3)
				_exit(10);
			close(fd);
		},
		[] { return queued(9) == 3 ? 0 : 1; }));
	ASSERT_GT(child.pid, 0);
	Image img;
	auto r = capture_files(child.pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	const OpenFile *f = fd_of(img, 9);
	ASSERT_TRUE(f);
	EXPECT_TRUE(f->fifo);
	EXPECT_EQ(f->path, path);
	EXPECT_EQ(f->flags & O_ACCMODE, O_RDWR);
	ASSERT_EQ(img.fifos.size(), 1u);
	EXPECT_EQ(img.fifos[0].path, path);
	EXPECT_EQ(img.fifos[0].data, (std::vector<uint8_t>{'a', 'b', 'c'}));
	EXPECT_GT(img.fifos[0].capacity, 0u);
	EXPECT_EQ(testing::finish(child), 0);	// its bytes still in it
}

TEST(Fifos, AFifoAProcessOutsideHoldsTooIsRefusedNamingIt)
{
	TempDir dir;
	std::string path = dir.path + "/shared";
	ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
	// A second child, not moved, holds it too (not the test: a dumper's
	// own descriptors are no one's).
	testing::ReapedChild other(testing::stopped_child(
		[&] { (void)!open(path.c_str(), O_RDWR); }, [] { return 0; }));
	ASSERT_GT(other.pid, 0);
	testing::ReapedChild child(testing::stopped_child(
		[&] {
			int fd = open(path.c_str(), O_RDWR);
			if (fd < 0 || dup2(fd, 9) != 9)
				_exit(10);
			close(fd);
		},
		[] { return 0; }));
	ASSERT_GT(child.pid, 0);
	Image img;
	auto r = capture_files(child.pid, img);
	if (!r && r.error().code == EPERM)
		GTEST_SKIP() << r.error().describe();
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, EOPNOTSUPP);
	std::string why = r.error().describe();
	EXPECT_NE(why.find(strf("fd 9 is the FIFO %s, which process %d holds too", path.c_str(),
				other.pid)), std::string::npos) << why;
}

TEST(Fifos, AFifoIsMadeAgainWithItsBytesAndEachFdsFlags)
{
	TempDir dir;
	std::string path = dir.path + "/f";
	ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
	std::vector<FifoState> fifos = {{path, 1 << 17, {'h', 'e', 'l', 'l', 'o'}}};
	OpenFile reader, writer;
	reader.fd = 5, reader.path = path, reader.flags = O_RDONLY, reader.fifo = true;
	writer.fd = 6, writer.path = path, writer.flags = O_WRONLY | O_CLOEXEC, writer.fifo = true;
	fds::UniqueFd r, w;
	{
		fds::FifoOpener opener(100);
		ASSERT_TRUE(opener.fill(fifos).has_value());
		// Neither waits for the other side: the opener's keeper is both.
		auto rfd = opener.open_end(reader), wfd = opener.open_end(writer);
		ASSERT_TRUE(rfd.has_value()) << rfd.error().describe();
		ASSERT_TRUE(wfd.has_value()) << wfd.error().describe();
		r = fds::UniqueFd(*rfd);
		w = fds::UniqueFd(*wfd);
	}
	EXPECT_LT(r.get(), 100);
	EXPECT_EQ(fcntl(r.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
	EXPECT_EQ(fcntl(w.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
	EXPECT_EQ(fcntl(w.get(), F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(r.get(), F_GETPIPE_SZ), 1 << 17);
	// Non-blocking from here: a FIFO made without its bytes fails the
	// reads below (EAGAIN) instead of hanging the suite.
	ASSERT_EQ(fcntl(r.get(), F_SETFL, O_NONBLOCK), 0);
	char buf[8] = {};
	EXPECT_EQ(read(r.get(), buf, sizeof(buf)), 5);
	EXPECT_STREQ(buf, "hello");
	ASSERT_EQ(write(w.get(), "x", 1), 1);
	EXPECT_EQ(read(r.get(), buf, sizeof(buf)), 1);

	// Bytes in it here already (a process here has it open): refused, the
	// carried bytes not added to them.
	ASSERT_EQ(write(w.get(), "yz", 2), 2);
	fds::FifoOpener again(100);
	auto full = again.fill(fifos);
	ASSERT_FALSE(full.has_value());
	EXPECT_EQ(full.error().code, EBUSY);
	EXPECT_NE(full.error().describe().find("holds 2 bytes here already"), std::string::npos)
		<< full.error().describe();
	EXPECT_EQ(queued(r.get()), 2);

	// A path that is no FIFO here.
	std::string plain = dir.path + "/plain";
	close(open(plain.c_str(), O_CREAT | O_WRONLY, 0600));
	fds::FifoOpener wrong(100);
	auto no = wrong.fill({{plain, 65536, {}}});
	ASSERT_FALSE(no.has_value());
	EXPECT_NE(no.error().describe().find("is no FIFO here"), std::string::npos)
		<< no.error().describe();
}

TEST(Fifos, TheImageChecksItsFifos)
{
	Image img = testing::one_process(100);
	OpenFile f;
	f.fd = 3, f.path = "/run/ctl", f.flags = O_RDWR, f.fifo = true;
	img.files.push_back(f);
	img.fifos = {{"/run/ctl", 65536, {'a'}}};
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->fifos.size(), 1u);
	EXPECT_EQ(back->fifos[0].path, "/run/ctl");
	EXPECT_EQ(back->fifos[0].capacity, 65536u);
	EXPECT_EQ(back->fifos[0].data, std::vector<uint8_t>{'a'});
	const OpenFile *got = fd_of(*back, 3);
	ASSERT_TRUE(got);
	EXPECT_TRUE(got->fifo);

	auto corrupted = [](const Image &bad) {
		auto r = decode(encode(bad, false));
		return !r && r.error().describe().find("corrupted image") != std::string::npos;
	};
	Image orphan = img;
	orphan.fifos[0].path = "/run/other";	// no fd holds it
	EXPECT_TRUE(corrupted(orphan));
	Image overfull = img;
	overfull.fifos[0].capacity = 0;
	EXPECT_TRUE(corrupted(overfull));
	Image twice = img;
	twice.fifos.push_back(twice.fifos[0]);
	EXPECT_TRUE(corrupted(twice));
	Image both = img;
	both.files[0].pipe = 7;
	EXPECT_TRUE(corrupted(both));
}

} // namespace
} // namespace hetmig
