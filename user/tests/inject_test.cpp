// SPDX-License-Identifier: GPL-2.0
// RemoteSyscalls on a child of the test: a system call made by a stopped
// thread for us returns what the thread itself would get, and leaves the
// thread as it was: registers, signal mask, the stack below its stack
// pointer, and a system call it was blocked in, which carries on.
#include <csignal>
#include <cstring>
#include <elf.h>
#include <gtest/gtest.h>

#include "reaped_child.h"
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "seizure.h"

namespace {

volatile sig_atomic_t go_on;

// Arms ITIMER_REAL far ahead (its SIGALRM would end the child), blocks
// SIGUSR2, says so on READY and then, as IN_SYSCALL says, reads a byte
// from FD (stopped inside a system call) or spins until SIGUSR1 (stopped
// in user space). Exits with 42 when the timer and the mask are as they
// were set and the byte read is 'x'.
[[noreturn]] void child_main(int fd, int ready, bool in_syscall)
{
	struct sigaction sa = {};
	sa.sa_handler = [](int) { go_on = 1; };
	sigaction(SIGUSR1, &sa, nullptr);
	itimerval it = {{7, 0}, {100, 0}};
	setitimer(ITIMER_REAL, &it, nullptr);
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, nullptr);
	(void)!write(ready, "r", 1);
	char c = 'x';
	if (in_syscall) {
		if (read(fd, &c, 1) != 1)
			_exit(1);
	} else {
		while (!go_on)
			;
	}
	getitimer(ITIMER_REAL, &it);
	sigset_t now;
	sigprocmask(SIG_BLOCK, nullptr, &now);
	bool ok = c == 'x' && it.it_interval.tv_sec == 7 && it.it_value.tv_sec > 50 &&
		  sigismember(&now, SIGUSR2) && !sigismember(&now, SIGUSR1);
	_exit(ok ? 42 : 2);
}

void run_case(bool in_syscall)
{
	int pipefd[2], ready[2];
	ASSERT_EQ(pipe(pipefd), 0);
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		close(pipefd[1]);
		child_main(pipefd[0], ready[1], in_syscall);
	}
	close(pipefd[0]);
	close(ready[1]);
	hetmig::testing::ReapedChild reap{child};
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	usleep(100000);  // into its read, or its loop
	{
		auto s = hetmig::Seizure::stop(child);
		if (!s && s.error().code == EPERM)
			GTEST_SKIP() << "ptrace is not permitted here";
		ASSERT_TRUE(s.has_value()) << s.error().describe();

		user_regs_struct before, after;
		iovec iov{&before, sizeof(before)};
		ASSERT_EQ(ptrace(PTRACE_GETREGSET, child, NT_PRSTATUS, &iov), 0);
		uint8_t stack_before[512], stack_after[512];
#if defined(__x86_64__)
		uint64_t sp = before.rsp;
#else
		uint64_t sp = before.sp;
#endif
		iovec local{stack_before, sizeof(stack_before)};
		iovec remote{reinterpret_cast<void *>(sp - sizeof(stack_before)),
			     sizeof(stack_before)};
		ASSERT_EQ(process_vm_readv(child, &local, 1, &remote, 1, 0),
			  ssize_t(sizeof(stack_before)));

		auto calls = hetmig::RemoteSyscalls::in(child, child);
		ASSERT_TRUE(calls.has_value()) << calls.error().describe();
		auto pid = calls->call(SYS_getpid);
		ASSERT_TRUE(pid.has_value()) << pid.error().describe();
		EXPECT_EQ(*pid, child);
		itimerval it{};
		auto got = calls->call(SYS_getitimer, {ITIMER_REAL}, 1,
				       {reinterpret_cast<uint8_t *>(&it), sizeof(it)});
		ASSERT_TRUE(got.has_value()) << got.error().describe();
		EXPECT_EQ(*got, 0);
		EXPECT_EQ(it.it_interval.tv_sec, 7);
		EXPECT_GT(it.it_value.tv_sec, 50);
		auto bad = calls->call(SYS_getitimer, {99}, 1,
				       {reinterpret_cast<uint8_t *>(&it), sizeof(it)});
		ASSERT_TRUE(bad.has_value()) << bad.error().describe();
		EXPECT_EQ(*bad, -EINVAL);

		iov = {&after, sizeof(after)};
		ASSERT_EQ(ptrace(PTRACE_GETREGSET, child, NT_PRSTATUS, &iov), 0);
		EXPECT_EQ(std::memcmp(&before, &after, sizeof(before)), 0)
			<< "the registers changed";
		local = {stack_after, sizeof(stack_after)};
		ASSERT_EQ(process_vm_readv(child, &local, 1, &remote, 1, 0),
			  ssize_t(sizeof(stack_after)));
		EXPECT_EQ(std::memcmp(stack_before, stack_after, sizeof(stack_before)), 0)
			<< "the stack below the stack pointer changed";
	}  // let go
	if (in_syscall)
		ASSERT_EQ(write(pipefd[1], "x", 1), 1);
	else
		kill(child, SIGUSR1);
	close(pipefd[1]);
	int status = reap.wait();
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status)) << "status 0x" << std::hex << status;
	EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(RemoteSyscalls, ThreadInUserSpaceRunsOnUnharmed)
{
	run_case(false);
}

// read(2) was interrupted by the stop; it must be restarted, not fail.
TEST(RemoteSyscalls, ThreadInASystemCallRestartsIt)
{
	run_case(true);
}

} // namespace
