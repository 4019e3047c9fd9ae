// SPDX-License-Identifier: GPL-2.0
/*
 * SAVE_PAGES, the dump's one copy: a stopped tracee's memory (read-only and
 * PROT_NONE pages included) lands in the caller's file at the offset asked,
 * the reply's sum is the XXH64 of those bytes, nothing else of the file
 * changes; a file that cannot be written at an offset, a bad range and an
 * untraced target are refused with the errno uapi/linux/hetmig.h names.
 * (Dumps use it through the companion: dump_restore.sh.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "hetmig_nl.h"
#include "tracee.h"
#include "kselftest_harness.h"

#define PAGE 4096
#define NPAGES 6	/* rw, rw, ro, none, rw, rw */

static unsigned char *area;

/* Before the fork: the tracee has the same pages at the same place. */
static void map_area(void)
{
	int i;

	if (area)
		return;
	area = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < NPAGES * PAGE; i++)
		area[i] = (unsigned char)(i * 31 + i / PAGE);
	mprotect(area + 2 * PAGE, PAGE, PROT_READ);
	mprotect(area + 3 * PAGE, PAGE, PROT_NONE);
}

FIXTURE(save) {
	struct nl_sock *sk;
	int family;
	struct tracee t;
	struct nl_answer a;
	uint64_t sum;
	int has_sum;
	char path[64];
	int fd;
};

static void take_sum(struct nlattr **tb, void *arg)
{
	FIXTURE_DATA(save) *self = arg;

	if (tb[HETMIG_A_PAGES_SUM]) {
		self->sum = nla_get_u64(tb[HETMIG_A_PAGES_SUM]);
		self->has_sum = 1;
	}
}

static void save_pages_as(FIXTURE_DATA(save) *self, uint64_t addr, uint64_t len,
			  int fd, uint64_t offset, int unsummed)
{
	struct nl_msg *msg = hetmig_pid_request(self->family, HETMIG_CMD_SAVE_PAGES,
						self->t.pid);

	nla_put_u64(msg, HETMIG_A_PAGES_ADDR, addr);
	nla_put_u64(msg, HETMIG_A_PAGES_LEN, len);
	nla_put_u32(msg, HETMIG_A_PAGES_FD, fd);
	nla_put_u64(msg, HETMIG_A_PAGES_FILE_OFFSET, offset);
	if (unsummed)
		nla_put_flag(msg, HETMIG_A_PAGES_UNSUMMED);
	memset(&self->a, 0, sizeof(self->a));
	self->a.on_reply = take_sum;
	self->a.arg = self;
	self->has_sum = 0;
	hetmig_transact(self->sk, msg, &self->a);
}

static void save_pages(FIXTURE_DATA(save) *self, uint64_t addr, uint64_t len,
		       int fd, uint64_t offset)
{
	save_pages_as(self, addr, len, fd, offset, 0);
}

FIXTURE_SETUP(save)
{
	memset(&self->t, 0, sizeof(self->t));
	self->fd = -1;
	self->sk = hetmig_socket(&self->family);
	ASSERT_NE(NULL, self->sk);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	map_area();
	strcpy(self->path, "/tmp/hetmig-save-XXXXXX");
	self->fd = mkstemp(self->path);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(save)
{
	tracee_kill(&self->t);
	nl_socket_free(self->sk);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
}

static void start_stopped(FIXTURE_DATA(save) *self, struct __test_metadata *_metadata)
{
	self->t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
}

TEST_F(save, writes_the_pages_at_the_offset_and_sums_them)
{
	static unsigned char got[NPAGES * PAGE + 2 * PAGE];
	const size_t len = NPAGES * PAGE;

	start_stopped(self, _metadata);
	memset(got, 'x', sizeof(got));
	ASSERT_EQ(sizeof(got), pwrite(self->fd, got, sizeof(got), 0));
	save_pages(self, (uintptr_t)area, len, self->fd, PAGE);
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
	ASSERT_TRUE(self->has_sum);

	ASSERT_EQ(sizeof(got), pread(self->fd, got, sizeof(got), 0));
	/* The tracee's pages, PROT_NONE one included, and only there. */
	mprotect(area + 3 * PAGE, PAGE, PROT_READ);
	EXPECT_EQ(0, memcmp(got + PAGE, area, len));
	EXPECT_EQ(XXH64(area, len, 0), self->sum);
	mprotect(area + 3 * PAGE, PAGE, PROT_NONE);
	EXPECT_EQ('x', got[PAGE - 1]);
	EXPECT_EQ('x', got[PAGE + len]);
	/* The file position is not the caller's business here. */
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(save, unsummed_writes_the_same_and_sends_no_sum)
{
	static unsigned char got[NPAGES * PAGE];

	start_stopped(self, _metadata);
	save_pages_as(self, (uintptr_t)area, 2 * PAGE, self->fd, 0, 1);
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
	EXPECT_FALSE(self->has_sum);
	ASSERT_EQ(2 * PAGE, pread(self->fd, got, sizeof(got), 0));
	EXPECT_EQ(0, memcmp(got, area, 2 * PAGE));
}

TEST_F(save, refuses_files_it_cannot_write_at_an_offset)
{
	int ro, append, pipefd[2];

	start_stopped(self, _metadata);
	ro = open(self->path, O_RDONLY);
	append = open(self->path, O_WRONLY | O_APPEND);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, append);
	ASSERT_EQ(0, pipe(pipefd));

	save_pages(self, (uintptr_t)area, PAGE, ro, 0);
	EXPECT_EQ(-EBADF, self->a.error);
	save_pages(self, (uintptr_t)area, PAGE, append, 0);
	EXPECT_EQ(-EINVAL, self->a.error);
	save_pages(self, (uintptr_t)area, PAGE, pipefd[1], 0);
	EXPECT_EQ(-EINVAL, self->a.error);
	save_pages(self, (uintptr_t)area, PAGE, 1000, 0);
	EXPECT_EQ(-EBADF, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "PAGES_FD"));
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_END));
	close(ro);
	close(append);
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_F(save, refuses_bad_ranges)
{
	start_stopped(self, _metadata);
	save_pages(self, (uintptr_t)area + 1, PAGE, self->fd, 0);
	EXPECT_EQ(-EINVAL, self->a.error);
	save_pages(self, (uintptr_t)area, PAGE + 1, self->fd, 0);
	EXPECT_EQ(-EINVAL, self->a.error);
	save_pages(self, (uintptr_t)area, 0, self->fd, 0);
	EXPECT_EQ(-EINVAL, self->a.error);
	save_pages(self, (uintptr_t)area, 128ULL << 20, self->fd, 0);
	EXPECT_EQ(-EINVAL, self->a.error);
	save_pages(self, PAGE, PAGE, self->fd, 0);
	EXPECT_EQ(-EFAULT, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "not mapped"));
	save_pages(self, (uintptr_t)area, PAGE, self->fd, -1ULL);
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_END));
}

TEST_F(save, needs_the_tracer)
{
	self->t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, self->t.pid);
	save_pages(self, (uintptr_t)area, PAGE, self->fd, 0);
	EXPECT_EQ(-EPERM, self->a.error);
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_END));
}

TEST_HARNESS_MAIN
