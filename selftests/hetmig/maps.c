// SPDX-License-Identifier: GPL-2.0
/*
 * GET_VMAS against /proc/PID/maps for a process with file, anonymous,
 * shared, guard, heap and stack mappings, and a map of thousands of VMAs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/mman.h>

#include "hetmig_nl.h"
#include "tracee.h"
#include "kselftest_harness.h"

#define MAX_VMAS 12000
#define MANY_VMAS 5000

struct vma {
	uint64_t start, end, pgoff, inode;
	uint32_t prot, flags, kind, major, minor;
	char path[256];	/* file path, or special name, or "" */
};

struct vma_list {
	int n;
	struct vma *v;
};

static void collect_vma(struct nlattr **tb, void *arg)
{
	struct vma_list *l = arg;
	struct vma *v;

	if (l->n >= MAX_VMAS)
		return;
	v = &l->v[l->n++];
	memset(v, 0, sizeof(*v));
	v->start = nla_get_u64(tb[HETMIG_A_VMA_START]);
	v->end = nla_get_u64(tb[HETMIG_A_VMA_END]);
	v->prot = nla_get_u32(tb[HETMIG_A_VMA_PROT]);
	v->flags = nla_get_u32(tb[HETMIG_A_VMA_FLAGS]);
	v->kind = nla_get_u32(tb[HETMIG_A_VMA_KIND]);
	v->pgoff = nla_get_u64(tb[HETMIG_A_VMA_PGOFF]);
	if (tb[HETMIG_A_VMA_PATH])
		snprintf(v->path, sizeof(v->path), "%s",
			 (char *)nla_data(tb[HETMIG_A_VMA_PATH]));
	if (tb[HETMIG_A_VMA_NAME])
		snprintf(v->path, sizeof(v->path), "%s",
			 (char *)nla_data(tb[HETMIG_A_VMA_NAME]));
	if (tb[HETMIG_A_VMA_INODE])
		v->inode = nla_get_u64(tb[HETMIG_A_VMA_INODE]);
	if (tb[HETMIG_A_VMA_DEV_MAJOR])
		v->major = nla_get_u32(tb[HETMIG_A_VMA_DEV_MAJOR]);
	if (tb[HETMIG_A_VMA_DEV_MINOR])
		v->minor = nla_get_u32(tb[HETMIG_A_VMA_DEV_MINOR]);
}

/* The line /proc/PID/maps prints for V. */
static void format_maps_line(const struct vma *v, char *out, size_t size)
{
	const char *name = v->path;

	if (v->kind == HETMIG_VMA_HEAP)
		name = "[heap]";
	else if (v->kind == HETMIG_VMA_STACK)
		name = "[stack]";
	snprintf(out, size, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu %s",
		 (unsigned long long)v->start, (unsigned long long)v->end,
		 v->prot & HETMIG_PROT_READ ? 'r' : '-',
		 v->prot & HETMIG_PROT_WRITE ? 'w' : '-',
		 v->prot & HETMIG_PROT_EXEC ? 'x' : '-',
		 v->flags & HETMIG_VMA_F_MAYSHARE ? 's' : 'p',
		 (unsigned long long)v->pgoff, v->major, v->minor,
		 (unsigned long long)v->inode, name);
}

/* /proc/PID/maps with the padding before the name squeezed to one space. */
static int read_proc_maps(pid_t pid, char ***lines)
{
	char path[64], buf[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	*lines = calloc(MAX_VMAS, sizeof(char *));
	while (fgets(buf, sizeof(buf), f) && n < MAX_VMAS) {
		char range[64], perms[8], off[32], dev[16], name[300] = "";
		unsigned long long ino;

		buf[strcspn(buf, "\n")] = 0;
		if (sscanf(buf, "%63s %7s %31s %15s %llu %299[^\n]", range, perms,
			   off, dev, &ino, name) < 5)
			continue;
		/* The gate page is no VMA of the process: nothing to move. */
		if (!strcmp(name, "[vsyscall]"))
			continue;
		if (asprintf(&(*lines)[n], "%s %s %s %s %llu %s", range, perms,
			     off, dev, ino, name) < 0)
			break;
		n++;
	}
	fclose(f);
	return n;
}

static char file_path[] = "/tmp/hetmig-maps-XXXXXX";

/* Runs in the tracee: one of every kind of mapping. */
static void mapping_zoo(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open(file_path, O_RDWR);
	char *p;

	/* file, private, read-only, at an offset */
	mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, page);
	/* file, shared, writable */
	mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* anonymous shared */
	mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/* anonymous private with a guard page in the middle */
	p = mmap(NULL, 5 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p + 2 * page, page, PROT_NONE);
	/* executable anonymous */
	mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* grow the heap */
	free(malloc(1));
	sbrk(8 * page);
	close(fd);
}

/* Runs in the tracee: MANY_VMAS mappings that cannot merge. */
static void many_vmas(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, MANY_VMAS * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	for (i = 0; i < MANY_VMAS; i += 2)
		mprotect(p + i * page, page, PROT_READ);
}

/*
 * Runs in the tracee: many VMAs, and a helper that shares the address space
 * (CLONE_VM, but not a thread, so it is not stopped with the tracee) and
 * keeps changing the map.
 */
static int churn(void *arg)
{
	long page = sysconf(_SC_PAGESIZE);

	/* gone when the tracee is killed at teardown */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		munmap(p, page);
	}
	return 0;
}

static void many_vmas_changing(void)
{
	static char stack[65536];

	many_vmas();
	clone(churn, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
}

FIXTURE(maps) {
	struct nl_sock *sk;
	int family;
	struct tracee t;
	struct nl_answer a;
	struct vma_list l;
};

FIXTURE_SETUP(maps)
{
	int fd;

	memset(&self->a, 0, sizeof(self->a));
	self->sk = hetmig_socket(&self->family);
	ASSERT_NE(NULL, self->sk);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	self->l.n = 0;
	self->l.v = calloc(MAX_VMAS, sizeof(*self->l.v));
	ASSERT_NE(NULL, self->l.v);
	fd = mkstemp(file_path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * sysconf(_SC_PAGESIZE)));
	close(fd);
	self->a.on_reply = collect_vma;
	self->a.arg = &self->l;
}

FIXTURE_TEARDOWN(maps)
{
	tracee_kill(&self->t);
	unlink(file_path);
	free(self->l.v);
	nl_socket_free(self->sk);
}

static void compare_with_proc(struct __test_metadata *_metadata,
			      FIXTURE_DATA(maps) *self)
{
	char **lines, mine[512];
	int n, i;

	n = read_proc_maps(self->t.pid, &lines);
	ASSERT_LT(0, n);
	EXPECT_EQ(n, self->l.n);
	for (i = 0; i < n && i < self->l.n; i++) {
		format_maps_line(&self->l.v[i], mine, sizeof(mine));
		if (mine[strlen(mine) - 1] == ' ')
			mine[strlen(mine) - 1] = 0;
		if (lines[i][strlen(lines[i]) - 1] == ' ')
			lines[i][strlen(lines[i]) - 1] = 0;
		EXPECT_STREQ(lines[i], mine);
		free(lines[i]);
	}
	free(lines);
}

TEST_F(maps, every_kind_equals_proc_maps)
{
	int i, kinds[8] = {}, shared = 0, guard = 0;

	self->t.pid = tracee_start(1, mapping_zoo);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_VMAS, self->t.pid), &self->a));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
	EXPECT_EQ(0, self->a.intr);
	compare_with_proc(_metadata, self);

	for (i = 0; i < self->l.n; i++) {
		struct vma *v = &self->l.v[i];

		if (v->kind < 8)
			kinds[v->kind]++;
		shared += !!(v->flags & HETMIG_VMA_F_SHARED);
		guard += v->prot == 0;
	}
	EXPECT_LT(0, kinds[HETMIG_VMA_FILE]);
	EXPECT_LT(0, kinds[HETMIG_VMA_ANON]);
	/* the bss can touch the heap; /proc names both [heap] then */
	EXPECT_LE(1, kinds[HETMIG_VMA_HEAP]);
	EXPECT_EQ(1, kinds[HETMIG_VMA_STACK]);
	EXPECT_LE(2, kinds[HETMIG_VMA_SPECIAL]);	/* [vdso], [vvar] */
	EXPECT_LE(2, shared);
	EXPECT_LE(1, guard);
}

TEST_F(maps, thousands_of_vmas_dump_completely)
{
	self->t.pid = tracee_start(0, many_vmas);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_VMAS, self->t.pid), &self->a));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
	EXPECT_LT(MANY_VMAS, self->l.n);
	/* many messages: the dump really went over several skbs */
	EXPECT_LT(MANY_VMAS, self->a.replies);
	compare_with_proc(_metadata, self);
}

/* A dump that spans a change of the map says so. */
TEST_F(maps, a_changing_map_sets_dump_intr)
{
	int attempt, interrupted = 0;

	self->t.pid = tracee_start(0, many_vmas_changing);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	for (attempt = 0; attempt < 5 && !interrupted; attempt++) {
		self->l.n = 0;
		memset(&self->a, 0, sizeof(self->a));
		self->a.on_reply = collect_vma;
		self->a.arg = &self->l;
		ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
					HETMIG_CMD_GET_VMAS, self->t.pid), &self->a));
		ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
		interrupted = self->a.intr;
	}
	EXPECT_TRUE(interrupted);
	TH_LOG("NLM_F_DUMP_INTR seen after %d dump(s)", attempt);
}

TEST_HARNESS_MAIN
