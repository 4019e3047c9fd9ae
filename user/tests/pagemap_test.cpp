// SPDX-License-Identifier: GPL-2.0
// Page counts from /proc/self/pagemap on mappings made here.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagemap.h"

namespace {

const long page = sysconf(_SC_PAGESIZE);

TEST(CountPages, OnlyTouchedAnonymousPagesArePresent)
{
	char *p = static_cast<char *>(mmap(nullptr, 16 * page, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(p, MAP_FAILED);
	madvise(p, 16 * page, MADV_NOHUGEPAGE);
	for (int i : {0, 3, 7, 15})
		p[i * page] = 1;
	auto c = hetmig::count_pages(getpid(), uint64_t(p), uint64_t(p + 16 * page));
	ASSERT_TRUE(c.has_value()) << c.error().describe();
	EXPECT_EQ(c->present, 4u);
	EXPECT_EQ(c->anon, 4u);
	EXPECT_EQ(c->swapped, 0u);
	munmap(p, 16 * page);
}

TEST(CountPages, FilePagesReadAreNotPrivateUntilWritten)
{
	char path[] = "/tmp/hetmig-pagemap-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, 4 * page), 0);
	char *p = static_cast<char *>(mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE, fd, 0));
	ASSERT_NE(p, MAP_FAILED);
	volatile char sink = p[0] + p[page];  // two file pages in
	(void)sink;
	p[2 * page] = 1;                        // one private copy
	auto c = hetmig::count_pages(getpid(), uint64_t(p), uint64_t(p + 4 * page));
	ASSERT_TRUE(c.has_value()) << c.error().describe();
	// fault-around may map more of the file's cached pages than were read
	EXPECT_GE(c->present, 3u);
	EXPECT_EQ(c->anon, 1u);
	munmap(p, 4 * page);
	close(fd);
	unlink(path);
}

TEST(CountPages, MissingProcessIsAnError)
{
	auto c = hetmig::count_pages(4194303, 0, page);
	ASSERT_FALSE(c.has_value());
	EXPECT_EQ(c.error().code, ENOENT);
}

} // namespace
