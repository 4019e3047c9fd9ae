// SPDX-License-Identifier: GPL-2.0
// The vdso comparison of a move within one ISA (kernel_vdso.h, KernelVdso):
// what Msg::kKernel carries, and the refusal that names both kernels.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "capture.h"
#include "rebuild.h"

namespace hetmig {
namespace {

const std::string kDigest(64, 'a');

KernelVdso kernel(const std::string &release, const std::string &digest = kDigest)
{
	return {release, 8192, 16384, digest};
}

TEST(KernelVdso, SameBytesAndSizesPass)
{
	// The release is for messages only: equal vdsos under other names run.
	EXPECT_TRUE(check_same_vdso(kernel("6.1.0-57-amd64"), kernel("6.1.0-57-amd64")));
	EXPECT_TRUE(check_same_vdso(kernel("6.1.0-57-amd64"), kernel("6.1.0-58-amd64")));
}

TEST(KernelVdso, AnotherVdsoNamesBothKernels)
{
	auto r = check_same_vdso(kernel("6.1.0-57-amd64"),
				 kernel("6.12.95+deb13-amd64", std::string(64, 'b')));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EXDEV);
	EXPECT_EQ(r.error().context,
		  "the destination's kernel (6.12.95+deb13-amd64) has another vdso than the "
		  "source's (6.1.0-57-amd64): a process moves only between machines on the "
		  "same kernel build");
}

TEST(KernelVdso, AnySizeDifferenceRefuses)
{
	KernelVdso here = kernel("b");
	here.vdso_size += 4096;
	EXPECT_FALSE(check_same_vdso(kernel("a"), here));
	here = kernel("b");
	here.vvar_size += 4096;
	EXPECT_FALSE(check_same_vdso(kernel("a"), here));
}

TEST(KernelVdso, SameReleaseOtherBuildSaysSo)
{
	auto r = check_same_vdso(kernel("6.1.0-57-amd64"),
				 kernel("6.1.0-57-amd64", std::string(64, 'c')));
	ASSERT_FALSE(r);
	EXPECT_NE(r.error().context.find("the source's (6.1.0-57-amd64, the same release "
					 "but another build)"),
		  std::string::npos);
}

TEST(KernelVdso, AnImageRecordsTheSourcesKernel)
{
	Image img;
	img.kernel_release = "6.1.0-57-amd64";
	img.vdso_size = 8192;
	img.vvar_size = 16384;
	img.vdso_digest = kDigest;
	auto k = kernel_vdso_of(img);
	EXPECT_EQ(k.release, img.kernel_release);
	EXPECT_EQ(k.vdso_size, img.vdso_size);
	EXPECT_EQ(k.vvar_size, img.vvar_size);
	EXPECT_EQ(k.digest, img.vdso_digest);
}

TEST(KernelVdso, TextRoundTrips)
{
	for (const std::string release : {"6.12.95+deb13-amd64", "6.1.0 with spaces", ""}) {
		auto k = kernel(release);
		auto back = parse_kernel_vdso(kernel_vdso_text(k));
		ASSERT_TRUE(back) << release;
		EXPECT_EQ(back->release, k.release);
		EXPECT_EQ(back->vdso_size, k.vdso_size);
		EXPECT_EQ(back->vvar_size, k.vvar_size);
		EXPECT_EQ(back->digest, k.digest);
	}
}

TEST(KernelVdso, MalformedTextIsRefused)
{
	for (const char *bad : {"", "nothex 8192 16384 r", "abcd 8192", "abcd x 16384 r"}) {
		auto k = parse_kernel_vdso(bad);
		ASSERT_FALSE(k) << bad;
		EXPECT_EQ(k.error().code, EBADMSG);
	}
}

TEST(KernelVdso, ThisKernelsMatchesItself)
{
	auto k = this_kernel_vdso();
	ASSERT_TRUE(k) << k.error().describe();
	utsname uts;
	ASSERT_EQ(uname(&uts), 0);
	EXPECT_EQ(k->release, uts.release);
	EXPECT_GT(k->vdso_size, 0u);
	EXPECT_EQ(k->digest.size(), 64u);
	EXPECT_TRUE(check_same_vdso(*k, *k));
	auto again = this_kernel_vdso();
	ASSERT_TRUE(again);
	EXPECT_EQ(again->digest, k->digest);
}

// What a sender describes (its own vdso) is what capture records of the
// process it moves (that process's, read from its memory): here another
// program, exec'd, dynamically linked.
TEST(KernelVdso, AnotherProcessHasThisKernelsVdso)
{
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		execlp("sleep", "sleep", "30", (char *)nullptr);
		_exit(127);
	}
	uint64_t start = 0, end = 0;
	for (int i = 0; i < 200 && !end; i++) {
		usleep(10000);
		std::ifstream m("/proc/" + std::to_string(child) + "/maps");
		bool exec_done = false;
		for (std::string line; std::getline(m, line);) {
			exec_done |= line.find("/sleep") != std::string::npos;
			if (line.ends_with("[vdso]"))
				std::sscanf(line.c_str(), "%lx-%lx", &start, &end);
		}
		if (!exec_done)
			end = 0;
	}
	ASSERT_NE(end, 0u) << "no [vdso] in the child's maps";
	auto theirs = memory_digest(child, start, end - start);
	kill(child, SIGKILL);
	waitpid(child, nullptr, 0);
	ASSERT_TRUE(theirs) << theirs.error().describe();
	auto mine = this_kernel_vdso();
	ASSERT_TRUE(mine);
	EXPECT_EQ(end - start, mine->vdso_size);
	EXPECT_EQ(*theirs, mine->digest);
}

} // namespace
} // namespace hetmig
