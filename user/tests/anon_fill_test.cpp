// SPDX-License-Identifier: GPL-2.0
// AnonymousFill (anon_fill.h): a child's private anonymous memory filled
// through the userfaultfd it made and handed over, as a rebuilt process's
// is; pieces it cannot take come back for the other ways.
#include <gtest/gtest.h>

#include <linux/hetmig.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "anon_fill.h"

namespace {

using hetmig::Image;
using hetmig::Mapping;
using hetmig::PagePiece;

constexpr size_t kPages = 64, kPage = 4096;

// A child with kPages of fresh anonymous memory at *ADDR (page 5 already
// written by itself), which sends its userfaultfd on SOCK and waits for a
// byte on it to exit. Its pid, or -1 when it could make no userfaultfd.
pid_t child_with_memory(int sock, uint64_t *addr)
{
	void *mem = mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	*addr = reinterpret_cast<uint64_t>(mem);
	// The parent keeps no pages there: only the child's copy matters.
	munmap(mem, kPages * kPage);
	pid_t pid = fork();
	if (pid == 0) {
		void *m = mmap(mem, kPages * kPage, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (m == MAP_FAILED)
			_exit(2);
		std::memset(static_cast<char *>(m) + 5 * kPage, 0x55, kPage);
		int uffd = hetmig::make_userfaultfd();
		if (uffd < 0 || !hetmig::send_fd(sock, uffd))
			_exit(3);
		close(uffd);
		char c;
		(void)!read(sock, &c, 1);
		_exit(0);
	}
	return pid;
}

Image image_of(uint64_t addr)
{
	Image img;
	img.page_size = kPage;
	Mapping anon;
	anon.start = addr;
	anon.end = addr + kPages * kPage;
	anon.prot = HETMIG_PROT_READ | HETMIG_PROT_WRITE;
	anon.kind = HETMIG_VMA_ANON;
	img.mappings.push_back(anon);
	return img;
}

TEST(AnonFill, FillsAChildsMemoryAndGivesBackWhatItCannot)
{
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	uint64_t addr = 0;
	pid_t pid = child_with_memory(sv[1], &addr);
	ASSERT_GT(pid, 0);
	int status = 0;
	// Wait for its descriptor (or its end).
	int uffd = -1;
	for (int i = 0; i < 2000 && uffd < 0; i++) {
		uffd = hetmig::receive_fd(sv[0]);
		if (uffd < 0 && waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (uffd < 0)
			usleep(1000);
	}
	if (uffd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, nullptr, 0);
		GTEST_SKIP() << "no userfaultfd here (child status " << status << ")";
	}

	std::vector<uint8_t> want(kPages * kPage);
	for (size_t i = 0; i < want.size(); i++)
		want[i] = uint8_t(i * 7 + i / kPage);
	Image img = image_of(addr);
	// Three pieces in the mapping (page 5 among them, already there) and
	// one outside every private anonymous mapping.
	std::vector<uint8_t> elsewhere(kPage, 0xee);
	std::vector<PagePiece> pieces = {
		{addr, std::span<const uint8_t>(want).first(4 * kPage)},
		{addr + 4 * kPage, std::span<const uint8_t>(want).subspan(4 * kPage, 28 * kPage)},
		// The last page left out: never filled.
		{addr + 32 * kPage, std::span<const uint8_t>(want).subspan(32 * kPage, 31 * kPage)},
		{addr + kPages * kPage, elsewhere},
	};
	std::vector<PagePiece> left;
	{
		hetmig::AnonymousFill fill(uffd, img);
		// What touches the registered range, whole or in part, waits for
		// it to be unregistered (PageWriter); what lies beside it not.
		std::vector<uint8_t> two(2 * kPage);
		EXPECT_TRUE(fill.registered({addr + kPage, elsewhere}));
		EXPECT_TRUE(fill.registered({addr + (kPages - 1) * kPage, two}));
		EXPECT_TRUE(fill.registered({addr - kPage, two}));
		EXPECT_FALSE(fill.registered({addr + kPages * kPage, elsewhere}));
		EXPECT_FALSE(fill.registered({addr - kPage, elsewhere}));
		left = fill.copy(pieces, 2);
	}

	// Back: page 5, which was there, and the piece outside.
	ASSERT_EQ(left.size(), 2u);
	std::sort(left.begin(), left.end(),
		  [](const PagePiece &a, const PagePiece &b) { return a.addr < b.addr; });
	EXPECT_EQ(left[0].addr, addr + 5 * kPage);
	EXPECT_EQ(left[0].bytes.size(), kPage);
	EXPECT_EQ(left[0].bytes.data(), want.data() + 5 * kPage);
	EXPECT_EQ(left[1].addr, addr + kPages * kPage);

	// Every other page holds the image's bytes; page 5 the child's own.
	std::vector<uint8_t> got(want.size());
	iovec local{got.data(), got.size()}, remote{reinterpret_cast<void *>(addr), got.size()};
	ASSERT_EQ(process_vm_readv(pid, &local, 1, &remote, 1, 0), ssize_t(got.size()));
	for (size_t p = 0; p + 1 < kPages; p++) {
		if (p == 5) {
			EXPECT_EQ(got[p * kPage], 0x55);
			continue;
		}
		EXPECT_EQ(std::memcmp(got.data() + p * kPage, want.data() + p * kPage, kPage), 0)
			<< "page " << p;
	}
	EXPECT_EQ(got[(kPages - 1) * kPage], 0);
	// Unregistered: the kernel's access to the page never filled faults
	// it in as usual, not failing on a registered range.
	uint8_t last[kPage];
	std::memset(last, 0x77, sizeof(last));
	iovec l2{last, kPage}, r2{reinterpret_cast<void *>(addr + (kPages - 1) * kPage), kPage};
	EXPECT_EQ(process_vm_writev(pid, &l2, 1, &r2, 1, 0), ssize_t(kPage)) << strerror(errno);
	(void)!write(sv[0], "x", 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
	close(sv[0]);
	close(sv[1]);
}

TEST(AnonFill, WithoutADescriptorEveryPieceComesBack)
{
	std::vector<uint8_t> bytes(kPage, 1);
	Image img = image_of(0x10000000);
	std::vector<PagePiece> pieces = {{0x10000000, bytes}};
	auto left = hetmig::AnonymousFill(-1, img).copy(pieces, 2);
	ASSERT_EQ(left.size(), 1u);
	EXPECT_EQ(left[0].addr, 0x10000000u);
}

} // namespace
