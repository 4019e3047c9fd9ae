// SPDX-License-Identifier: GPL-2.0
/*
 * Every way of naming the wrong process, and malformed requests, for the
 * commands that read a process: each gets its errno and an extack message.
 * Also: an unprivileged user cannot read another user's process, and ten
 * thousand bad requests leave the module's memory use where it was.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/prctl.h>

#include "hetmig_nl.h"
#include "tracee.h"
#include "kselftest_harness.h"

FIXTURE(bad) {
	struct nl_sock *sk;
	int family;
	struct nl_answer a;
};

FIXTURE_SETUP(bad)
{
	memset(&self->a, 0, sizeof(self->a));
	self->sk = hetmig_socket(&self->family);
	ASSERT_NE(NULL, self->sk);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
}

FIXTURE_TEARDOWN(bad)
{
	nl_socket_free(self->sk);
}

FIXTURE_VARIANT(bad) {
	int cmd;
};

FIXTURE_VARIANT_ADD(bad, get_regs) { .cmd = HETMIG_CMD_GET_REGS };
FIXTURE_VARIANT_ADD(bad, get_mm) { .cmd = HETMIG_CMD_GET_MM };
FIXTURE_VARIANT_ADD(bad, get_vmas) { .cmd = HETMIG_CMD_GET_VMAS };
FIXTURE_VARIANT_ADD(bad, get_signals) { .cmd = HETMIG_CMD_GET_SIGNALS };

static void ask(struct __test_metadata *_metadata, FIXTURE_DATA(bad) *self,
		int cmd, unsigned int pid)
{
	memset(&self->a, 0, sizeof(self->a));
	ASSERT_EQ(0, hetmig_transact(self->sk,
			hetmig_pid_request(self->family, cmd, pid), &self->a));
}

#define EXPECT_REFUSED(err, text) do {					\
	EXPECT_EQ(-(err), self->a.error);				\
	EXPECT_NE(NULL, strstr(self->a.extack_msg, text))		\
		TH_LOG("extack: '%s'", self->a.extack_msg);		\
	EXPECT_EQ(0, self->a.replies);					\
} while (0)

TEST_F(bad, nonexistent_pid)
{
	ask(_metadata, self, variant->cmd, 4194303);	/* PID_MAX_LIMIT - 1 */
	EXPECT_REFUSED(ESRCH, "no such process");
}

TEST_F(bad, pid_zero)
{
	ask(_metadata, self, variant->cmd, 0);
	EXPECT_REFUSED(EINVAL, "pid out of range");
}

TEST_F(bad, kernel_thread)
{
	ask(_metadata, self, variant->cmd, 2);	/* kthreadd */
	EXPECT_REFUSED(EINVAL, "kernel thread");
}

TEST_F(bad, the_caller_itself)
{
	ask(_metadata, self, variant->cmd, getpid());
	EXPECT_REFUSED(EINVAL, "caller itself");
}

TEST_F(bad, a_zombie)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	ASSERT_LT(0, pid);
	/* wait until it is a zombie, without reaping it */
	ASSERT_EQ(0, waitid(P_PID, pid, NULL, WEXITED | WNOWAIT));
	ask(_metadata, self, variant->cmd, pid);
	EXPECT_REFUSED(ESRCH, "zombie");
	waitpid(pid, NULL, 0);
}

TEST_F(bad, an_untraced_process)
{
	struct tracee t = {};

	t.pid = tracee_start(0, NULL);
	ASSERT_LT(0, t.pid);
	ask(_metadata, self, variant->cmd, t.pid);
	EXPECT_REFUSED(EPERM, "not traced by the caller");
	tracee_kill(&t);
}

TEST_F(bad, missing_pid)
{
	int dump = variant->cmd == HETMIG_CMD_GET_REGS ||
		   variant->cmd == HETMIG_CMD_GET_VMAS ? NLM_F_DUMP : 0;

	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_request(self->family,
				variant->cmd, dump), &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(bad, oversized_pid)
{
	int dump = variant->cmd == HETMIG_CMD_GET_REGS ||
		   variant->cmd == HETMIG_CMD_GET_VMAS ? NLM_F_DUMP : 0;
	struct nl_msg *msg = hetmig_request(self->family, variant->cmd, dump);

	ASSERT_EQ(0, nla_put_u64(msg, HETMIG_A_PID, 1));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "invalid attribute length"));
}

TEST_F(bad, unknown_attribute)
{
	struct nl_msg *msg = hetmig_pid_request(self->family, variant->cmd, 1);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_MAX + 1, 0));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
}

/* Another user's process: ptrace refuses, and so does hetmig. */
TEST_F(bad, unprivileged_caller)
{
	struct tracee root_owned = {};
	int status;
	pid_t pid;

	root_owned.pid = tracee_start(0, NULL);
	ASSERT_LT(0, root_owned.pid);
	pid = fork();
	if (pid == 0) {
		struct nl_answer a = {};
		struct tracee mine = {};
		int family, bad = 0;
		struct nl_sock *sk;

		/* a uid change makes a process undumpable; undo that */
		if (setgid(65534) || setuid(65534) ||
		    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
			_exit(100);
		sk = hetmig_socket(&family);
		if (!sk || family < 0)
			_exit(101);
		/* ptrace itself says no ... */
		if (ptrace(PTRACE_SEIZE, root_owned.pid, 0, 0) == 0 || errno != EPERM)
			bad |= 1;
		/* ... and so does hetmig */
		hetmig_transact(sk, hetmig_pid_request(family, variant->cmd,
				root_owned.pid), &a);
		if (a.error != -EPERM)
			bad |= 2;
		/* while its own process it may read, once it traces it */
		mine.pid = tracee_start(0, NULL);
		if (mine.pid <= 0 || tracee_seize(&mine, 1))
			bad |= 4;
		memset(&a, 0, sizeof(a));
		hetmig_transact(sk, hetmig_pid_request(family, variant->cmd,
				mine.pid), &a);
		if (a.error || !a.replies)
			bad |= 8;
		tracee_kill(&mine);
		_exit(bad);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	tracee_kill(&root_owned);
}

static long slab_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Bad requests of every kind, many times, to every command that reads a
 * process: nothing may pile up.
 */
static int bad_request(struct nl_sock *sk, int family, int i)
{
	static const int cmds[] = {
		HETMIG_CMD_GET_REGS, HETMIG_CMD_GET_MM, HETMIG_CMD_GET_VMAS,
		HETMIG_CMD_GET_SIGNALS,
	};
	/* none, a kernel thread, the caller, an untraced process (init) */
	const unsigned int pids[] = { 4194303, 2, getpid(), 1 };
	struct nl_answer a = {};

	if (hetmig_transact(sk, hetmig_pid_request(family, cmds[i % 4],
					pids[(i / 4) % 4]), &a))
		return -1;
	return a.error ? 0 : -1;
}

/* A fixture only for the timeout: minutes under a KASAN kernel in TCG. */
FIXTURE(many) {
};

FIXTURE_SETUP(many)
{
}

FIXTURE_TEARDOWN(many)
{
}

TEST_F_TIMEOUT(many, ten_thousand_bad_requests_leak_nothing, 600)
{
	long before, after;
	struct nl_sock *sk;
	int i, family, bad = 0;

	sk = hetmig_socket(&family);
	ASSERT_NE(NULL, sk);
	if (family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	/* warm the caches first so their growth does not count */
	for (i = 0; i < 1200; i++)
		bad += bad_request(sk, family, i) != 0;
	before = slab_kib();
	for (i = 0; i < 10000; i++)
		bad += bad_request(sk, family, i) != 0;
	after = slab_kib();
	nl_socket_free(sk);
	EXPECT_EQ(0, bad);
	TH_LOG("slab before %ld kB, after %ld kB", before, after);
	/*
	 * Under KASAN freed objects wait in a quarantine and slab usage only
	 * grows; there kmemleak (make check-debug) is the leak check.
	 */
	if (access("/sys/kernel/debug/kasan", F_OK) == 0 ||
	    access("/sys/kernel/debug/kmemleak", F_OK) == 0)
		SKIP(return, "debug kernel: kmemleak checks leaks instead");
	/* a leak of one small object per request would be >= 300 kB */
	EXPECT_LT(after - before, 256);
}

TEST_HARNESS_MAIN
