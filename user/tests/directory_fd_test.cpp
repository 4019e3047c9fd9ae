// SPDX-License-Identifier: GPL-2.0
// Directory file descriptors on the destination (check_directory_here):
// one at position 0 needs only a directory at its path; one read part-way
// needs the same directory, unchanged, since its position is a cookie of
// the file system's; a missing one is named.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "capture.h"
#include "rebuild.h"

namespace hetmig {
namespace {

struct TempDir {
	std::string path;
	TempDir()
	{
		char tmpl[] = "/tmp/hetmig-dir-XXXXXX";
		EXPECT_NE(mkdtemp(tmpl), nullptr);
		path = tmpl;
		for (const char *name : {"a", "b", "c"})
			std::ofstream(path + "/" + name) << name;
	}
	~TempDir() { std::filesystem::remove_all(path); }
	// As capture describes an fd of it at POSITION.
	OpenFile as_fd(int fd, uint64_t position) const
	{
		struct stat st {};
		EXPECT_EQ(stat(path.c_str(), &st), 0);
		OpenFile f;
		f.fd = fd;
		f.path = path;
		f.flags = O_RDONLY | O_DIRECTORY;
		f.offset = position;
		f.size = uint64_t(st.st_size);
		f.mtime_ns = mtime_ns(st);
		f.directory = true;
		f.inode = uint64_t(st.st_ino);
		return f;
	}
};

TEST(DirectoryFd, TheSameDirectoryIsAccepted)
{
	TempDir dir;
	EXPECT_TRUE(check_directory_here(dir.as_fd(4, 0)).has_value());
	auto r = check_directory_here(dir.as_fd(4, 3));
	EXPECT_TRUE(r.has_value()) << r.error().describe();
}

TEST(DirectoryFd, AChangedDirectoryIsRefusedOnlyWhenReadPartWay)
{
	TempDir dir;
	OpenFile at_start = dir.as_fd(4, 0), read = dir.as_fd(5, 3);
	// A new entry: another mtime, and on most file systems another size.
	usleep(10000);
	std::ofstream(dir.path + "/d") << "d";
	EXPECT_TRUE(check_directory_here(at_start).has_value());
	auto r = check_directory_here(read);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ESTALE);
	EXPECT_NE(r.error().describe().find("directory " + dir.path +
					    " of the process (fd 5) was read up to position 3"),
		  std::string::npos) << r.error().describe();
}

TEST(DirectoryFd, AnotherDirectoryAtThePathIsRefusedWhenReadPartWay)
{
	TempDir dir;
	OpenFile at_start = dir.as_fd(4, 0), read = dir.as_fd(5, 3);
	// Another inode (made while the first exists, so not its number
	// again) in its place, with the first's size and mtime.
	std::string other = dir.path + ".other";
	ASSERT_EQ(mkdir(other.c_str(), 0700), 0);
	std::filesystem::remove_all(dir.path);
	ASSERT_EQ(rename(other.c_str(), dir.path.c_str()), 0);
	struct stat st {};
	ASSERT_EQ(stat(dir.path.c_str(), &st), 0);
	ASSERT_NE(uint64_t(st.st_ino), read.inode);
	read.size = uint64_t(st.st_size);
	read.mtime_ns = mtime_ns(st);
	EXPECT_TRUE(check_directory_here(at_start).has_value());
	auto r = check_directory_here(read);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ESTALE);
}

TEST(DirectoryFd, AMissingDirectoryIsNamed)
{
	TempDir dir;
	OpenFile f = dir.as_fd(7, 0);
	f.path += "/gone";
	auto r = check_directory_here(f);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ENOENT);
	EXPECT_EQ(r.error().describe(), "directory " + f.path +
						" of the process (fd 7) is missing here "
						"(No such file or directory)");
}

TEST(DirectoryFd, AFileWhereTheDirectoryWasIsRefused)
{
	TempDir dir;
	OpenFile f = dir.as_fd(4, 0);
	f.path += "/a";
	auto r = check_directory_here(f);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ENOTDIR);
}

} // namespace
} // namespace hetmig
