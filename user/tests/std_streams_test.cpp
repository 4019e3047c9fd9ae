// SPDX-License-Identifier: GPL-2.0
// Which standard streams a restore carries (a regular file that is here as
// it was, /dev/null) and which become the receiver's choice, with a line
// that says so (settle_std_streams).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "capture.h"
#include "rebuild.h"

namespace hetmig {
namespace {

struct LogFile {
	std::string path;
	LogFile()
	{
		char tmpl[] = "/tmp/hetmig-std-XXXXXX";
		int fd = mkstemp(tmpl);
		EXPECT_GE(fd, 0);
		EXPECT_EQ(write(fd, "line\n", 5), 5);
		close(fd);
		path = tmpl;
	}
	~LogFile() { unlink(path.c_str()); }
	OpenFile as_fd(int fd) const
	{
		struct stat st {};
		EXPECT_EQ(stat(path.c_str(), &st), 0);
		OpenFile f;
		f.fd = fd;
		f.path = path;
		f.flags = O_WRONLY;
		f.offset = 5;
		f.size = uint64_t(st.st_size);
		f.mtime_ns = mtime_ns(st);
		return f;
	}
};

TEST(StdStreams, AFileHereAsItWasIsCarried)
{
	LogFile log;
	Image img;
	img.files = {log.as_fd(1)};
	img.files.push_back(log.as_fd(2));
	img.files[1].dup_of = 1;
	RestorePolicy policy;
	policy.output_path = "/tmp/elsewhere";
	EXPECT_TRUE(settle_std_streams(img, policy).empty());
	EXPECT_FALSE(img.files[0].std_stream);
	EXPECT_FALSE(img.files[1].std_stream);
}

TEST(StdStreams, AChangedFileBecomesTheReceiversChoice)
{
	LogFile log;
	Image img;
	img.files = {log.as_fd(1)};
	std::ofstream(log.path, std::ios::app) << "another line\n";
	RestorePolicy policy;
	policy.output_path = "/tmp/moved.log";
	auto lines = settle_std_streams(img, policy);
	ASSERT_EQ(lines.size(), 1u);
	EXPECT_TRUE(img.files[0].std_stream);
	EXPECT_EQ(lines[0], "stdout was " + log.path +
				    " on the source, which differs here (size or mtime): "
				    "it is now /tmp/moved.log");
}

TEST(StdStreams, AMissingFileAndATerminalAreNamed)
{
	Image img;
	OpenFile in;
	in.fd = 0;
	in.path = "/dev/pts/3";
	in.std_stream = true;
	OpenFile err;
	err.fd = 2;
	err.path = "/var/log/not-here-at-all.log";
	err.size = 10;
	img.files = {in, err};
	RestorePolicy policy;  // stdin and output: ours
	auto lines = settle_std_streams(img, policy);
	ASSERT_EQ(lines.size(), 2u);
	EXPECT_EQ(lines[0], "stdin was /dev/pts/3: it is now the receiver's own");
	EXPECT_EQ(lines[1], "stderr was /var/log/not-here-at-all.log on the source, which is "
			    "missing here: it is now the receiver's own");
	EXPECT_TRUE(img.files[1].std_stream);
}

TEST(StdStreams, AFileSharedWithAProcessLeftBehindIsNamed)
{
	Image img;
	OpenFile out;
	out.fd = 1;
	out.path = "/tmp/self.log";
	out.std_stream = true;
	out.left_behind = "shared with process 42, which stays";
	img.files = {out};
	RestorePolicy policy;
	policy.output_path = "/tmp/moved.log";
	auto lines = settle_std_streams(img, policy);
	ASSERT_EQ(lines.size(), 1u);
	EXPECT_EQ(lines[0], "stdout was /tmp/self.log (shared with process 42, which stays): "
			    "it is now /tmp/moved.log");
}

TEST(StdStreams, DevNullIsCarried)
{
	Image img;
	OpenFile null;
	null.fd = 1;
	null.path = "/dev/null";
	img.files = {null};
	EXPECT_TRUE(settle_std_streams(img, RestorePolicy{}).empty());
	EXPECT_FALSE(img.files[0].std_stream);
}

} // namespace
} // namespace hetmig
