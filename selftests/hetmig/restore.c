// SPDX-License-Identifier: GPL-2.0
/*
 * The rebuild commands on their own: RESTORE_MM refuses every malformed
 * plan and an untraced caller without touching the caller's memory;
 * WRITE_PAGES writes a stopped tracee's memory, read-only pages included,
 * and only that; SET_THREAD writes registers and thread state that read
 * back the same through ptrace and /proc. (The whole rebuild is tested
 * through the companion: dump_restore.sh and tools/test/migrate-test.)
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "hetmig_nl.h"
#include "tracee.h"
#include "kselftest_harness.h"

static const int mm_fields[] = {
	HETMIG_A_MM_START_CODE, HETMIG_A_MM_END_CODE, HETMIG_A_MM_START_DATA,
	HETMIG_A_MM_END_DATA, HETMIG_A_MM_START_BRK, HETMIG_A_MM_BRK,
	HETMIG_A_MM_START_STACK, HETMIG_A_MM_ARG_START, HETMIG_A_MM_ARG_END,
	HETMIG_A_MM_ENV_START, HETMIG_A_MM_ENV_END,
};

/* How a RESTORE_MM request is spoiled. */
enum spoil {
	WELL_FORMED_BUT_UNTRACED,
	NO_MAPPINGS,
	MISALIGNED,
	OVERLAPPING,
	MISSING_FIELD,
	CLOSED_FD,
	OVER_THE_VDSO,
	UNKNOWN_VMA_FLAG,
	UNMAPPABLE_FD,
	N_SPOILS,
};

static void put_vma(struct nl_msg *msg, uint64_t start, uint64_t end,
		    uint32_t flags, int fd)
{
	struct nlattr *nest = nla_nest_start(msg, HETMIG_A_VMA);

	nla_put_u64(msg, HETMIG_A_VMA_START, start);
	nla_put_u64(msg, HETMIG_A_VMA_END, end);
	nla_put_u32(msg, HETMIG_A_VMA_PROT, HETMIG_PROT_READ);
	if (flags)
		nla_put_u32(msg, HETMIG_A_VMA_FLAGS, flags);
	if (fd >= 0)
		nla_put_u32(msg, HETMIG_A_VMA_FD, fd);
	nla_nest_end(msg, nest);
}

static unsigned long vdso_start(void)
{
	unsigned long start, end, found = 0;
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2)
			found = start;
	if (f)
		fclose(f);
	return found;
}

static int pipe_fd = -1;	/* a descriptor mmap(2) refuses */

static struct nl_msg *restore_request(int family, enum spoil how)
{
	struct nl_msg *msg = hetmig_request(family, HETMIG_CMD_RESTORE_MM, 0);
	uint64_t base = 0x10000000;
	unsigned int i;

	for (i = 0; i < sizeof(mm_fields) / sizeof(mm_fields[0]); i++)
		if (how != MISSING_FIELD || i != 3)
			nla_put_u64(msg, mm_fields[i], base);
	switch (how) {
	case NO_MAPPINGS:
		break;
	case MISALIGNED:
		put_vma(msg, base + 12, base + 8192, 0, -1);
		break;
	case OVERLAPPING:
		put_vma(msg, base, base + 8192, 0, -1);
		put_vma(msg, base + 4096, base + 16384, 0, -1);
		break;
	case CLOSED_FD:
		put_vma(msg, base, base + 4096, 0, 999);
		break;
	case OVER_THE_VDSO:
		put_vma(msg, vdso_start(), vdso_start() + 4096, 0, -1);
		break;
	case UNMAPPABLE_FD:
		put_vma(msg, base, base + 4096, 0, pipe_fd);
		break;
	case UNKNOWN_VMA_FLAG:
		put_vma(msg, base, base + 4096, HETMIG_VMA_F_HUGETLB, -1);
		break;
	default:
		put_vma(msg, base, base + 4096, 0, -1);
	}
	return msg;
}

static const struct {
	int error;
	const char *text;
} expected[N_SPOILS] = {
	[WELL_FORMED_BUT_UNTRACED] = { -EPERM, "not traced" },
	[NO_MAPPINGS] = { -EINVAL, "no mappings" },
	[MISALIGNED] = { -EINVAL, "page-aligned" },
	[OVERLAPPING] = { -EINVAL, "overlap" },
	[MISSING_FIELD] = { -EINVAL, "field is missing" },
	[CLOSED_FD] = { -EBADF, "not open" },
	[OVER_THE_VDSO] = { -EEXIST, "vdso" },
	[UNKNOWN_VMA_FLAG] = { -EINVAL, "" },
	[UNMAPPABLE_FD] = { -ENODEV, "cannot be mapped" },
};

/*
 * A child sends every spoiled RESTORE_MM about itself, traced (or not,
 * for the first) by its parent; it checks each answer and that it still
 * runs its own code with its memory intact, and exits with a bit per
 * failed case.
 */
static int restorer_child(int untraced_only)
{
	static volatile int canary = 0x5a5a;
	struct nl_answer a;
	int family, failed = 0, i;
	struct nl_sock *sk = hetmig_socket(&family);
	int fds[2];

	if (!sk || family < 0 || pipe(fds))
		return 1 << 30;
	pipe_fd = fds[0];
	for (i = untraced_only ? 0 : 1; i < (untraced_only ? 1 : N_SPOILS); i++) {
		memset(&a, 0, sizeof(a));
		if (hetmig_transact(sk, restore_request(family, i), &a) ||
		    a.error != expected[i].error ||
		    !strstr(a.extack_msg, expected[i].text)) {
			fprintf(stderr, "# spoil %d: error %d '%s'\n", i, a.error,
				a.extack_msg);
			failed |= 1 << i;
		}
		if (canary != 0x5a5a)
			failed |= 1 << 29;
	}
	nl_socket_free(sk);
	return failed;
}

FIXTURE(rebuild) {
	struct nl_sock *sk;
	int family;
	struct tracee t;
	struct nl_answer a;
};

FIXTURE_SETUP(rebuild)
{
	memset(&self->t, 0, sizeof(self->t));
	memset(&self->a, 0, sizeof(self->a));
	self->sk = hetmig_socket(&self->family);
	ASSERT_NE(NULL, self->sk);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
}

FIXTURE_TEARDOWN(rebuild)
{
	tracee_kill(&self->t);
	nl_socket_free(self->sk);
}

TEST_F(rebuild, restore_mm_refuses_an_untraced_caller)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(restorer_child(1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(rebuild, restore_mm_refuses_bad_plans_and_changes_nothing)
{
	int go[2], status, failed;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		failed = restorer_child(0);
		/* exit codes are 8 bits: fold the case bits into "failed" */
		_exit(failed ? 1 : 0);
	}
	close(go[0]);
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, __WALL));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static void write_pages(FIXTURE_DATA(rebuild) *self, uint64_t addr,
			const void *buf, uint64_t len)
{
	struct nl_msg *msg = hetmig_pid_request(self->family,
						HETMIG_CMD_WRITE_PAGES,
						self->t.pid);

	nla_put_u64(msg, HETMIG_A_PAGES_ADDR, addr);
	nla_put_u64(msg, HETMIG_A_PAGES_BUF, (uintptr_t)buf);
	nla_put_u64(msg, HETMIG_A_PAGES_LEN, len);
	memset(&self->a, 0, sizeof(self->a));
	hetmig_transact(self->sk, msg, &self->a);
}

static char *ro_page, *rw_page;

static void map_pages(void)
{
	if (rw_page)
		return;
	rw_page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_page = rw_page + 4096;
	memset(rw_page, 'a', 8192);
	mprotect(ro_page, 4096, PROT_READ);
}

TEST_F(rebuild, write_pages_writes_read_only_memory_too)
{
	char buf[8192], back[8192];
	struct iovec local = { back, sizeof(back) }, remote;

	map_pages();	/* before the fork: the tracee has them at the same place */
	self->t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	/* the child's addresses are ours: fork copied the layout */
	memset(buf, 'z', sizeof(buf));
	write_pages(self, (uintptr_t)rw_page, buf, sizeof(buf));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);

	remote.iov_base = rw_page;
	remote.iov_len = sizeof(back);
	ASSERT_EQ(sizeof(back), process_vm_readv(self->t.pid, &local, 1,
						 &remote, 1, 0));
	EXPECT_EQ(0, memcmp(buf, back, sizeof(buf)));
}

TEST_F(rebuild, write_pages_refuses_unmapped_and_oversized_ranges)
{
	char buf[4096] = {};

	self->t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	write_pages(self, 4096, buf, sizeof(buf));
	EXPECT_EQ(-EFAULT, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "not mapped"));
	write_pages(self, 0x10000, buf, 2ULL << 30);
	EXPECT_EQ(-EINVAL, self->a.error);
	write_pages(self, 0x10000, (void *)8, sizeof(buf));
	EXPECT_EQ(-EFAULT, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "buffer is not readable"));
}

TEST_F(rebuild, write_pages_needs_the_tracer)
{
	char buf[4096] = {};

	self->t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, self->t.pid);
	write_pages(self, 0x10000, buf, sizeof(buf));
	EXPECT_EQ(-EPERM, self->a.error);
}

static struct nl_msg *set_thread(FIXTURE_DATA(rebuild) *self, pid_t tid)
{
	struct nl_msg *msg = hetmig_pid_request(self->family,
						HETMIG_CMD_SET_THREAD,
						self->t.pid);

	nla_put_u32(msg, HETMIG_A_TID, tid);
	return msg;
}

static void put_regset(struct nl_msg *msg, uint32_t note, void *data, int len)
{
	struct nlattr *nest = nla_nest_start(msg, HETMIG_A_REGSET);

	nla_put_u32(msg, HETMIG_A_REGSET_NOTE, note);
	nla_put(msg, HETMIG_A_REGSET_DATA, len, data);
	nla_nest_end(msg, nest);
}

#if defined(__x86_64__)
#define TP_NOTE NT_PRSTATUS
#define TP_WORD 21	/* fs_base in user_regs_struct */
#else
#define TP_NOTE NT_ARM_TLS
#define TP_WORD 0	/* tpidr_el0 */
#endif

static long get_regset(pid_t tid, uint32_t note, uint64_t *words, size_t size)
{
	struct iovec iov = { words, size };

	if (ptrace(PTRACE_GETREGSET, tid, note, &iov))
		return -errno;
	return iov.iov_len;
}

TEST_F(rebuild, set_thread_writes_what_ptrace_reads_back)
{
	uint64_t regs[64] = {}, back[64] = {}, head, len;
	char status_line[128], path[64];
	struct nl_msg *msg;
	long n;
	FILE *f;

	self->t.pid = tracee_start(1, NULL);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	pid_t tid = self->t.tids[self->t.nthreads - 1];

	n = get_regset(tid, TP_NOTE, regs, sizeof(regs));
	ASSERT_LT(0, n);
	regs[TP_WORD] = 0x12345000;	/* a new thread pointer */
	msg = set_thread(self, tid);
	put_regset(msg, TP_NOTE, regs, n);
	nla_put_u64(msg, HETMIG_A_SIGMASK, 1ULL << (SIGUSR2 - 1) |
					   1ULL << (SIGKILL - 1));
	nla_put_u64(msg, HETMIG_A_ROBUST_LIST, 0x7000);
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);

	ASSERT_EQ(n, get_regset(tid, TP_NOTE, back, sizeof(back)));
	EXPECT_EQ(0x12345000, back[TP_WORD]);
	EXPECT_EQ(0, memcmp(regs, back, n));
	/* SIGKILL stays deliverable whatever the image says */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", self->t.pid, tid);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(status_line, sizeof(status_line), f))
		if (!strncmp(status_line, "SigBlk:", 7))
			break;
	fclose(f);
	EXPECT_EQ(1ULL << (SIGUSR2 - 1), strtoull(status_line + 7, NULL, 16));
	ASSERT_EQ(0, syscall(SYS_get_robust_list, tid, &head, &len));
	EXPECT_EQ(0x7000, head);
}

TEST_F(rebuild, set_thread_refuses_bad_sets_before_writing_any)
{
	uint64_t regs[64] = {}, back[64] = {};
	struct nl_msg *msg;
	long n;

	self->t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	n = get_regset(self->t.pid, TP_NOTE, regs, sizeof(regs));
	ASSERT_LT(0, n);
	regs[TP_WORD] ^= 0x1000;

	/* a good set followed by an unknown one: neither is written */
	msg = set_thread(self, self->t.pid);
	put_regset(msg, TP_NOTE, regs, n);
	put_regset(msg, 0x7777, regs, 8);
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "no such register set"));
	ASSERT_EQ(n, get_regset(self->t.pid, TP_NOTE, back, sizeof(back)));
	EXPECT_NE(regs[TP_WORD], back[TP_WORD]);

	/* part of a register */
	msg = set_thread(self, self->t.pid);
	put_regset(msg, NT_PRSTATUS, regs, 3);
	memset(&self->a, 0, sizeof(self->a));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "wrong size"));

	/* a thread of another process */
	msg = set_thread(self, getpid());
	memset(&self->a, 0, sizeof(self->a));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-ESRCH, self->a.error);
}

#if defined(__x86_64__)
#define MODE_WORD 17		/* cs in user_regs_struct */
#define TO_32BIT(w) 0x23	/* the ia32 user code segment */
#else
#define MODE_WORD 33		/* pstate in user_pt_regs */
#define TO_32BIT(w) ((w) | 0x10)	/* PSR_MODE32_BIT */
#endif

/*
 * The SET_THREAD that crashed the x86_64 kernel (issue 18), sent by an
 * unprivileged user about its own tracee: its NT_PRSTATUS asks for 32-bit
 * mode, its NT_PRFPREG follows. Refused with a message, nothing written;
 * the same sets unspoiled are accepted. Returns a bit per failed check.
 */
static __attribute__((noinline)) int mode_change_as(uid_t uid)
{
	uint64_t regs[64] = {}, fp[128] = {}, back[64] = {};
	struct tracee t = {};
	struct nl_answer a = {};
	struct nl_msg *msg;
	struct nl_sock *sk;
	int family, failed = 0;
	long n, nfp;

	if (setgid(uid) || setuid(uid) || prctl(PR_SET_DUMPABLE, 1))
		return 1 << 0;
	sk = hetmig_socket(&family);
	t.pid = tracee_start(0, NULL);
	if (!sk || family < 0 || t.pid <= 0 || tracee_seize(&t, 1))
		return 1 << 1;
	n = get_regset(t.pid, NT_PRSTATUS, regs, sizeof(regs));
	nfp = get_regset(t.pid, NT_PRFPREG, fp, sizeof(fp));
	if (n <= MODE_WORD * 8 || nfp <= 0)
		return 1 << 2;
	regs[MODE_WORD] = TO_32BIT(regs[MODE_WORD]);

	msg = hetmig_pid_request(family, HETMIG_CMD_SET_THREAD, t.pid);
	nla_put_u32(msg, HETMIG_A_TID, t.pid);
	put_regset(msg, NT_PRSTATUS, regs, n);
	put_regset(msg, NT_PRFPREG, fp, nfp);
	if (hetmig_transact(sk, msg, &a) || a.error != -EINVAL ||
	    !strstr(a.extack_msg, "64-bit user mode")) {
		fprintf(stderr, "# mode change: error %d '%s'\n", a.error, a.extack_msg);
		failed |= 1 << 3;
	}
	if (get_regset(t.pid, NT_PRSTATUS, back, sizeof(back)) != n ||
	    back[MODE_WORD] == regs[MODE_WORD])
		failed |= 1 << 4;

	/* The thread's own sets, as read: accepted for the same user. */
	msg = hetmig_pid_request(family, HETMIG_CMD_SET_THREAD, t.pid);
	nla_put_u32(msg, HETMIG_A_TID, t.pid);
	put_regset(msg, NT_PRSTATUS, back, n);
	put_regset(msg, NT_PRFPREG, fp, nfp);
	memset(&a, 0, sizeof(a));
	if (hetmig_transact(sk, msg, &a) || a.error) {
		fprintf(stderr, "# own sets: error %d '%s'\n", a.error, a.extack_msg);
		failed |= 1 << 5;
	}
	tracee_kill(&t);
	nl_socket_free(sk);
	return failed;
}

TEST_F(rebuild, set_thread_refuses_a_mode_change_from_an_unprivileged_user)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(mode_change_as(1000));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
