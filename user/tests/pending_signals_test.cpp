// SPDX-License-Identifier: GPL-2.0
// Pending signals (pending_signals.h): a stopped child's shared and own
// queues read in order with their siginfo, nothing taken off them; queued
// again in another stopped child by that child's own thread, so that kill's
// SI_USER and tgkill's SI_TKILL, which the kernel refuses from any other
// process, come out as they went in.
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <gtest/gtest.h>

#include "pending_signals.h"
#include "reaped_child.h"
#include "seizure.h"

namespace hetmig {
namespace {

sigset_t tested()
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN + 1);
	return set;
}

siginfo_t info_of(const SigInfo &bytes)
{
	siginfo_t info;
	static_assert(sizeof(info) == sizeof(SigInfo));
	std::memcpy(&info, bytes.data(), sizeof(info));
	return info;
}

// A child that blocks the tested signals, runs BODY, says so on a pipe and
// waits, and exits with what CHECK returns once it is let go.
template <typename Body, typename Check>
pid_t child(Body body, Check check)
{
	int ready[2];
	if (pipe(ready))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t set = tested();
		sigprocmask(SIG_BLOCK, &set, nullptr);
		body();
		(void)!write(ready[1], "r", 1);
		_exit(check());
	}
	close(ready[1]);
	char c;
	bool said = read(ready[0], &c, 1) == 1;
	close(ready[0]);
	return said ? pid : -1;
}

// A signal of SET taken without waiting, its siginfo as the kernel gave
// it: glibc's sigtimedwait shows SI_TKILL as SI_USER.
int take(const sigset_t &set, siginfo_t &info)
{
	timespec none = {0, 0};
	return int(syscall(SYS_rt_sigtimedwait, &set, &info, &none, 8));
}

// Captured from one child, queued in another, and taken there in the
// kernel's order (its own queue first, then the process's, lower numbers
// first, real-time ones in the order they came) with their siginfo.
TEST(PendingSignals, CapturedAndQueuedAgainInAnotherProcess)
{
	pid_t source_pid = -1;
	pid_t source = child(
		[&] {
			union sigval v;
			v.sival_int = 11;
			sigqueue(getpid(), SIGRTMIN + 1, v);
			v.sival_int = 22;
			sigqueue(getpid(), SIGRTMIN + 1, v);
			kill(getpid(), SIGUSR1);
			syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
		},
		[] {
			for (;;)
				pause();
			return 0;
		});
	ASSERT_GT(source, 0);
	hetmig::testing::ReapedChild reap_source{source};
	source_pid = source;
	auto seized = Seizure::stop(source);
	if (!seized && seized.error().code == EPERM)
		GTEST_SKIP() << "ptrace is not permitted here";
	ASSERT_TRUE(seized.has_value()) << seized.error().describe();
	ThreadState main;
	main.tid = uint32_t(source);
	Image img;
	img.threads = {main};
	auto p = capture_pending_signals(source, img.threads);
	ASSERT_TRUE(p.has_value()) << p.error().describe();
	ASSERT_EQ(p->shared.size(), 3u);
	EXPECT_EQ(info_of(p->shared[0]).si_signo, SIGRTMIN + 1);
	EXPECT_EQ(info_of(p->shared[0]).si_value.sival_int, 11);
	EXPECT_EQ(info_of(p->shared[0]).si_code, SI_QUEUE);
	EXPECT_EQ(info_of(p->shared[1]).si_value.sival_int, 22);
	EXPECT_EQ(info_of(p->shared[2]).si_signo, SIGUSR1);
	EXPECT_EQ(info_of(p->shared[2]).si_code, SI_USER);
	EXPECT_EQ(info_of(p->shared[2]).si_pid, source);
	ASSERT_EQ(p->threads.size(), 1u);
	EXPECT_EQ(p->threads[0].first, uint32_t(source));
	ASSERT_EQ(p->threads[0].second.size(), 1u);
	EXPECT_EQ(info_of(p->threads[0].second[0]).si_signo, SIGUSR2);
	EXPECT_EQ(info_of(p->threads[0].second[0]).si_code, SI_TKILL);
	// Nothing was taken: read again, the same.
	auto again = capture_pending_signals(source, img.threads);
	ASSERT_TRUE(again.has_value());
	EXPECT_EQ(again->shared, p->shared);
	img.pending_signals = *p;

	pid_t dest = child([] {}, [source_pid] {
		// Wait for the four, then take them one by one.
		sigset_t set = tested(), pending;
		for (int i = 0; i < 500; i++) {
			sigpending(&pending);
			if (sigismember(&pending, SIGUSR2) && sigismember(&pending, SIGUSR1) &&
			    sigismember(&pending, SIGRTMIN + 1))
				break;
			usleep(10000);
		}
		const struct {
			int sig, code, value;
		} want[] = {{SIGUSR2, SI_TKILL, 0}, {SIGUSR1, SI_USER, 0},
			    {SIGRTMIN + 1, SI_QUEUE, 11}, {SIGRTMIN + 1, SI_QUEUE, 22}};
		for (size_t i = 0; i < std::size(want); i++) {
			siginfo_t info;
			int got = take(set, info);
			if (got != want[i].sig ||
			    info.si_code != want[i].code || info.si_pid != source_pid ||
			    (want[i].code == SI_QUEUE && info.si_value.sival_int != want[i].value))
				return 10 + int(i);
		}
		siginfo_t info;
		return take(set, info) == -1 ? 0 : 20;
	});
	ASSERT_GT(dest, 0);
	hetmig::testing::ReapedChild reap_dest{dest};
	{
		auto held = Seizure::stop(dest);
		ASSERT_TRUE(held.has_value()) << held.error().describe();
		auto r = queue_pending_signals(dest, {dest}, img);
		ASSERT_TRUE(r.has_value()) << r.error().describe();
	}
	int status = reap_dest.wait();
	ASSERT_TRUE(WIFEXITED(status)) << status;
	EXPECT_EQ(WEXITSTATUS(status), 0) << "10 + n: the nth signal differs, 20: one more";
}

// A signal pending without an entry (the kernel's fast path, or a full
// queue) gets the entry the kernel would deliver: SI_USER, no sender;
// SIGKILL and SIGSTOP are left out.
TEST(PendingSignals, QueuesAreCompletedAsTheKernelDelivers)
{
	SigInfo rt{}, kill_{};
	rt[0] = 35;
	kill_[0] = SIGKILL;
	uint64_t pending = (1ull << (SIGHUP - 1)) | (1ull << 34) | (1ull << (SIGKILL - 1)) |
			   (1ull << (SIGSTOP - 1));
	auto q = completed({rt, kill_}, pending);
	ASSERT_EQ(q.size(), 2u);
	EXPECT_EQ(q[0], rt);
	siginfo_t hup = info_of(q[1]);
	EXPECT_EQ(hup.si_signo, SIGHUP);
	EXPECT_EQ(hup.si_code, SI_USER);
	EXPECT_EQ(hup.si_pid, 0);
	EXPECT_EQ(hup.si_errno, 0);
}

} // namespace
} // namespace hetmig
