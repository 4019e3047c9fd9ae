// SPDX-License-Identifier: GPL-2.0
/*
 * GET_REGS, GET_MM and GET_VMAS against what ptrace and /proc report for
 * the same stopped process, and the errors for every kind of bad target.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "hetmig_nl.h"
#include "tracee.h"
#include "kselftest_harness.h"

#define MAX_RECORDS 512

/* One message of a GET_REGS dump. */
struct regs_record {
	uint32_t tid;
	uint32_t note;		/* 0 for the thread's own message */
	uint64_t sigmask, tp, clear_child_tid, robust_list;
	uint32_t ss_flags;
	int len;
	unsigned char data[16384];
};

struct regs_dump {
	int n;
	struct regs_record *r;
};

static void collect_regs(struct nlattr **tb, void *arg)
{
	struct regs_dump *d = arg;
	struct regs_record *r;

	if (d->n >= MAX_RECORDS || !tb[HETMIG_A_TID])
		return;
	r = &d->r[d->n++];
	memset(r, 0, sizeof(*r));
	r->tid = nla_get_u32(tb[HETMIG_A_TID]);
	if (tb[HETMIG_A_REGSET_NOTE] && tb[HETMIG_A_REGSET_DATA]) {
		r->note = nla_get_u32(tb[HETMIG_A_REGSET_NOTE]);
		r->len = nla_len(tb[HETMIG_A_REGSET_DATA]);
		if (r->len > (int)sizeof(r->data))
			r->len = -1;
		else
			memcpy(r->data, nla_data(tb[HETMIG_A_REGSET_DATA]), r->len);
		return;
	}
	if (tb[HETMIG_A_SIGMASK])
		r->sigmask = nla_get_u64(tb[HETMIG_A_SIGMASK]);
	if (tb[HETMIG_A_THREAD_POINTER])
		r->tp = nla_get_u64(tb[HETMIG_A_THREAD_POINTER]);
	if (tb[HETMIG_A_CLEAR_CHILD_TID])
		r->clear_child_tid = nla_get_u64(tb[HETMIG_A_CLEAR_CHILD_TID]);
	if (tb[HETMIG_A_ROBUST_LIST])
		r->robust_list = nla_get_u64(tb[HETMIG_A_ROBUST_LIST]);
	if (tb[HETMIG_A_ALTSTACK_FLAGS])
		r->ss_flags = nla_get_u32(tb[HETMIG_A_ALTSTACK_FLAGS]);
	r->len = tb[HETMIG_A_ARCH] ? 0 : -2;
}

static int getregset(pid_t tid, int note, void *buf, size_t size)
{
	struct iovec iov = { buf, size };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)note, &iov))
		return -errno;
	return iov.iov_len;
}

/* The thread pointer as ptrace reports it. */
static uint64_t ptrace_tp(pid_t tid)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;

	if (getregset(tid, NT_PRSTATUS, &regs, sizeof(regs)) < 0)
		return 0;
	return regs.fs_base;
#elif defined(__aarch64__)
	uint64_t tls[2] = {};

	if (getregset(tid, NT_ARM_TLS, tls, sizeof(tls)) < 0)
		return 0;
	return tls[0];
#endif
}

static uint64_t proc_sigblk(pid_t pid, pid_t tid)
{
	char path[96], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return ~0ULL;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
}

/* Runs in the tracee: an alternate stack and some signal dispositions. */
static void altstack_setup(void)
{
	static char stack[65536];
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof(stack) };
	struct sigaction sa = { .sa_sigaction = on_usr1,
				.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };

	sigaltstack(&ss, NULL);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE(stopped) {
	struct nl_sock *sk;
	int family;
	struct tracee t;
	struct nl_answer a;
	struct regs_dump d;
};

FIXTURE_SETUP(stopped)
{
	memset(&self->a, 0, sizeof(self->a));
	self->sk = hetmig_socket(&self->family);
	ASSERT_NE(NULL, self->sk);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	self->d.n = 0;
	self->d.r = calloc(MAX_RECORDS, sizeof(*self->d.r));
	ASSERT_NE(NULL, self->d.r);
	self->t.pid = tracee_start(3, altstack_setup);
	ASSERT_LT(0, self->t.pid);
	ASSERT_EQ(0, tracee_seize(&self->t, 1));
	ASSERT_EQ(4, self->t.nthreads);
}

FIXTURE_TEARDOWN(stopped)
{
	tracee_kill(&self->t);
	free(self->d.r);
	nl_socket_free(self->sk);
}

/* GET_REGS of the tracee into self->d; the test stops if it fails. */
static void dump_regs(struct __test_metadata *_metadata,
		      FIXTURE_DATA(stopped) *self)
{
	self->a.on_reply = collect_regs;
	self->a.arg = &self->d;
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_REGS, self->t.pid), &self->a));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
}

TEST_F(stopped, regs_equal_ptrace_getregset)
{
	static unsigned char buf[16384];
	int i, j, threads = 0, compared = 0;

	dump_regs(_metadata, self);
	EXPECT_EQ(0, self->a.intr);

	for (i = 0; i < self->d.n; i++) {
		struct regs_record *r = &self->d.r[i];

		ASSERT_LE(0, r->len);
		if (!r->note) {
			threads++;
			EXPECT_EQ(ptrace_tp(r->tid), r->tp);
			EXPECT_NE(0, r->tp);
			continue;
		}
		/* Byte for byte what ptrace gives for the same set. */
		memset(buf, 0, sizeof(buf));
		int len = getregset(r->tid, r->note, buf, sizeof(buf));

		if (len < 0)
			continue;	/* a set ptrace does not offer */
		EXPECT_EQ(len, r->len) TH_LOG("note %#x of %u", r->note, r->tid);
		EXPECT_EQ(0, memcmp(buf, r->data, len))
			TH_LOG("note %#x of %u differs", r->note, r->tid);
		if (r->note == NT_PRSTATUS || r->note == NT_PRFPREG)
			compared++;
	}
	EXPECT_EQ(self->t.nthreads, threads);
	/* Every thread has at least its general and FP/SIMD registers. */
	EXPECT_EQ(2 * self->t.nthreads, compared);
	for (j = 0; j < self->t.nthreads; j++) {
		int found = 0;

		for (i = 0; i < self->d.n; i++)
			found |= !self->d.r[i].note && self->d.r[i].tid == self->t.tids[j];
		EXPECT_TRUE(found) TH_LOG("thread %d missing", self->t.tids[j]);
	}
}

/* What the C library registered for each thread, as get_robust_list(2) says. */
TEST_F(stopped, thread_bookkeeping_pointers)
{
	int i, threads = 0;

	dump_regs(_metadata, self);
	for (i = 0; i < self->d.n; i++) {
		struct regs_record *r = &self->d.r[i];
		void *head = NULL;
		size_t len = 0;

		if (r->note)
			continue;
		threads++;
		ASSERT_EQ(0, syscall(SYS_get_robust_list, r->tid, &head, &len));
		EXPECT_EQ((uint64_t)(uintptr_t)head, r->robust_list);
		EXPECT_NE(0, r->robust_list);
		/* glibc gives every thread a tid word to clear at exit */
		EXPECT_NE(0, r->clear_child_tid);
	}
	EXPECT_EQ(4, threads);
}

TEST_F(stopped, sigmask_and_altstack)
{
	int i, threads = 0;

	dump_regs(_metadata, self);
	for (i = 0; i < self->d.n; i++) {
		struct regs_record *r = &self->d.r[i];

		if (r->note)
			continue;
		threads++;
		EXPECT_EQ(proc_sigblk(self->t.pid, r->tid), r->sigmask);
		if (r->tid == (uint32_t)self->t.pid) {
			/* the main thread set an alternate stack, unused */
			EXPECT_EQ(0, r->ss_flags);
			EXPECT_EQ(0, r->sigmask & (1ULL << (SIGUSR1 - 1)));
		} else {
			EXPECT_EQ(SS_DISABLE, r->ss_flags);
			EXPECT_NE(0, r->sigmask & (1ULL << (SIGUSR1 - 1)));
		}
	}
	EXPECT_EQ(4, threads);
}

struct mm_fields {
	uint64_t v[HETMIG_A_MAX + 1];
	int present[HETMIG_A_MAX + 1];
	unsigned char auxv[1024];
	int auxv_len;
};

static void collect_mm(struct nlattr **tb, void *arg)
{
	struct mm_fields *m = arg;
	int a;

	for (a = HETMIG_A_MM_START_CODE; a <= HETMIG_A_MM_ENV_END; a++)
		if (tb[a]) {
			m->v[a] = nla_get_u64(tb[a]);
			m->present[a] = 1;
		}
	if (tb[HETMIG_A_MM_AUXV] && nla_len(tb[HETMIG_A_MM_AUXV]) <= 1024) {
		m->auxv_len = nla_len(tb[HETMIG_A_MM_AUXV]);
		memcpy(m->auxv, nla_data(tb[HETMIG_A_MM_AUXV]), m->auxv_len);
	}
}

TEST_F(stopped, mm_layout_equals_proc)
{
	static const int stat_field[] = {
		[HETMIG_A_MM_START_CODE] = 26, [HETMIG_A_MM_END_CODE] = 27,
		[HETMIG_A_MM_START_STACK] = 28, [HETMIG_A_MM_START_DATA] = 45,
		[HETMIG_A_MM_END_DATA] = 46, [HETMIG_A_MM_START_BRK] = 47,
		[HETMIG_A_MM_ARG_START] = 48, [HETMIG_A_MM_ARG_END] = 49,
		[HETMIG_A_MM_ENV_START] = 50, [HETMIG_A_MM_ENV_END] = 51,
	};
	struct mm_fields m = {};
	char path[64], stat[2048], *p;
	unsigned long long vals[64] = {};
	unsigned char auxv[1024];
	int fd, n, field, a, len;

	self->a.on_reply = collect_mm;
	self->a.arg = &m;
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_MM, self->t.pid), &self->a));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);

	snprintf(path, sizeof(path), "/proc/%d/stat", self->t.pid);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	ASSERT_LT(0, n);
	stat[n] = 0;
	/*
	 * Fields count from 1; the comm (2) may hold spaces, so start after
	 * its ')', and skip the state letter (3).
	 */
	p = strrchr(stat, ')') + 4;
	for (field = 4; field < 64 && *p; field++)
		vals[field] = strtoull(p, &p, 10);
	for (a = HETMIG_A_MM_START_CODE; a <= HETMIG_A_MM_ENV_END; a++) {
		ASSERT_TRUE(m.present[a]);
		if (a < (int)(sizeof(stat_field) / sizeof(stat_field[0])) && stat_field[a])
			EXPECT_EQ(vals[stat_field[a]], m.v[a]) TH_LOG("attr %d", a);
	}
	EXPECT_LE(m.v[HETMIG_A_MM_START_BRK], m.v[HETMIG_A_MM_BRK]);

	snprintf(path, sizeof(path), "/proc/%d/auxv", self->t.pid);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	len = read(fd, auxv, sizeof(auxv));
	close(fd);
	ASSERT_LT(0, len);
	EXPECT_EQ(len, m.auxv_len);
	EXPECT_EQ(0, memcmp(auxv, m.auxv, len));
}

struct dispositions {
	int n;
	struct {
		uint32_t sig;
		uint64_t handler, flags, mask, restorer;
	} sa[65];
};

/* Several HETMIG_A_SIGACTION nests: walk the message's attributes. */
static void collect_signals(struct nl_msg *msg, void *arg)
{
	struct nlattr *attr, *sa[HETMIG_SA_MAX + 1];
	struct dispositions *d = arg;
	int rem;

	nlmsg_for_each_attr(attr, nlmsg_hdr(msg), GENL_HDRLEN, rem) {
		if (nla_type(attr) != HETMIG_A_SIGACTION || d->n >= 65)
			continue;
		if (nla_parse_nested(sa, HETMIG_SA_MAX, attr, NULL))
			continue;
		d->sa[d->n].sig = nla_get_u32(sa[HETMIG_SA_SIGNAL]);
		d->sa[d->n].handler = nla_get_u64(sa[HETMIG_SA_HANDLER]);
		d->sa[d->n].flags = nla_get_u64(sa[HETMIG_SA_FLAGS]);
		d->sa[d->n].mask = nla_get_u64(sa[HETMIG_SA_MASK]);
		d->sa[d->n].restorer = nla_get_u64(sa[HETMIG_SA_RESTORER]);
		d->n++;
	}
}

TEST_F(stopped, signal_dispositions)
{
	struct dispositions d = {};
	int i, usr1 = -1, pipe_ = -1;

	self->a.on_msg = collect_signals;
	self->a.arg = &d;
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_SIGNALS, self->t.pid), &self->a));
	ASSERT_EQ(0, self->a.error) TH_LOG("%s", self->a.extack_msg);
	for (i = 0; i < d.n; i++) {
		if (d.sa[i].sig == SIGUSR1)
			usr1 = i;
		if (d.sa[i].sig == SIGPIPE)
			pipe_ = i;
		EXPECT_NE(SIGTERM, d.sa[i].sig);	/* default: not listed */
	}
	ASSERT_LE(0, usr1);
	ASSERT_LE(0, pipe_);
	/* fork keeps addresses: the tracee's handler is ours */
	EXPECT_EQ((uint64_t)(uintptr_t)on_usr1, d.sa[usr1].handler);
	EXPECT_EQ(SA_SIGINFO | SA_RESTART | SA_ONSTACK,
		  d.sa[usr1].flags & (SA_SIGINFO | SA_RESTART | SA_ONSTACK));
	EXPECT_EQ(1ULL << (SIGUSR2 - 1), d.sa[usr1].mask);
#if defined(__x86_64__)
	EXPECT_NE(0, d.sa[usr1].restorer);	/* glibc's __restore_rt */
#endif
	EXPECT_EQ((uint64_t)(uintptr_t)SIG_IGN, d.sa[pipe_].handler);
}

TEST_F(stopped, running_thread_is_busy)
{
	struct tracee other = {};

	other.pid = tracee_start(1, NULL);
	ASSERT_LT(0, other.pid);
	ASSERT_EQ(0, tracee_seize(&other, 0));	/* seized, not stopped */
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_REGS, other.pid), &self->a));
	EXPECT_EQ(-EBUSY, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "not in a ptrace stop"));
	tracee_kill(&other);
}

TEST_F(stopped, dump_after_detach_is_refused)
{
	tracee_detach(&self->t);
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_pid_request(self->family,
				HETMIG_CMD_GET_VMAS, self->t.pid), &self->a));
	EXPECT_EQ(-EPERM, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "not traced by the caller"));
}

TEST_HARNESS_MAIN
