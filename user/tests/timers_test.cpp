// SPDX-License-Identifier: GPL-2.0
// Timers: /proc/PID/timers as the kernel prints it, what can be carried
// of it and what is refused; and a process's own timers read through a
// system call made by its stopped main thread, as a dump reads them.
#include <csignal>
#include <ctime>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <cstddef>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "reaped_child.h"
#include "seizure.h"
#include "timers.h"

namespace hetmig {
namespace {

TEST(Timers, ProcTimersParsed)
{
	auto t = parse_proc_timers("ID: 2\n"
				   "signal: 10/000000000000004d\n"
				   "notify: signal/pid.300\n"
				   "ClockID: 1\n"
				   "ID: 0\n"
				   "signal: 0/0000000000000000\n"
				   "notify: none/pid.300\n"
				   "ClockID: 0\n"
				   "ID: 5\n"
				   "signal: 14/0000000000000000\n"
				   "notify: signal/tid.300\n"
				   "ClockID: 2\n", 300);
	ASSERT_TRUE(t.has_value()) << t.error().describe();
	ASSERT_EQ(t->size(), 3u);
	EXPECT_EQ((*t)[0].id, 0);
	EXPECT_EQ((*t)[0].notify, 1);
	EXPECT_EQ((*t)[1].id, 2);
	EXPECT_EQ((*t)[1].signal, 10);
	EXPECT_EQ((*t)[1].value, 0x4du);
	EXPECT_EQ((*t)[1].clock, 1);
	EXPECT_EQ((*t)[1].notify, 0);
	EXPECT_EQ((*t)[2].notify, 4);	// SIGEV_SIGNAL | SIGEV_THREAD_ID, the main thread
	EXPECT_EQ((*t)[2].clock, 2);
	auto none = parse_proc_timers("", 300);
	ASSERT_TRUE(none.has_value());
	EXPECT_TRUE(none->empty());
}

TEST(Timers, ThreadTimersCarriedOthersAndCpuClocksRefused)
{
	// A timer of thread 301, the second of 300's: carried for that thread;
	// one of a thread the process has not, refused.
	std::vector<uint32_t> tids = {300, 301};
	auto second = parse_proc_timers("ID: 0\nsignal: 32/0000000000000000\n"
					"notify: signal/tid.301\nClockID: 1\n", 300, tids);
	ASSERT_TRUE(second.has_value()) << second.error().describe();
	EXPECT_EQ((*second)[0].notify, 4);
	EXPECT_EQ((*second)[0].thread, 1u);
	auto thread = parse_proc_timers("ID: 0\nsignal: 32/0000000000000000\n"
					"notify: signal/tid.302\nClockID: 1\n", 300, tids);
	ASSERT_FALSE(thread.has_value());
	EXPECT_NE(thread.error().describe().find("notifies thread 302 alone"), std::string::npos)
		<< thread.error().describe();
	auto cpu = parse_proc_timers("ID: 0\nsignal: 10/0000000000000000\n"
				     "notify: signal/pid.300\nClockID: -6\n", 300);
	ASSERT_FALSE(cpu.has_value());
	EXPECT_NE(cpu.error().describe().find("CPU time of a given process"), std::string::npos)
		<< cpu.error().describe();
	auto junk = parse_proc_timers("ID: 0\nwhat: 1\n", 300);
	ASSERT_FALSE(junk.has_value());
	EXPECT_NE(junk.error().describe().find("unexpected line"), std::string::npos);
}

// A child with an itimer, two POSIX timers (ids 0 and 2: 1 deleted) and a
// slack, stopped as a dump stops it: capture_timers reads them all.
TEST(Timers, CapturedFromAStoppedProcess)
{
	if (access("/proc/self/timers", R_OK))
		GTEST_SKIP() << "no /proc/PID/timers (CONFIG_CHECKPOINT_RESTORE)";
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		signal(SIGUSR1, SIG_IGN);
		itimerval it = {{3, 0}, {100, 0}};
		setitimer(ITIMER_REAL, &it, nullptr);
		sigevent sev{};
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = SIGUSR1;
		sev.sigev_value.sival_int = 77;
		int ids[3];
		for (int &id : ids)
			syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
		syscall(SYS_timer_delete, ids[1]);
		itimerspec its = {{0, 250000000}, {200, 0}};
		syscall(SYS_timer_settime, ids[2], 0, &its, nullptr);
		prctl(PR_SET_TIMERSLACK, 77777);
		(void)!write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	hetmig::testing::ReapedChild reap{child};
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	auto s = Seizure::stop(child);
	if (!s && s.error().code == EPERM)
		GTEST_SKIP() << "ptrace is not permitted here";
	ASSERT_TRUE(s.has_value()) << s.error().describe();
	auto t = capture_timers(child);
	ASSERT_TRUE(t.has_value()) << t.error().describe();
	EXPECT_EQ(t->itimers[0].first, 3000000u);
	EXPECT_GT(t->itimers[0].second, 90000000u);
	EXPECT_EQ(t->itimers[1].second, 0u);
	EXPECT_EQ(t->slack_ns, 77777u);
	ASSERT_EQ(t->posix.size(), 2u);
	EXPECT_EQ(t->posix[0].id, 0);
	EXPECT_EQ(t->posix[0].remaining_ns, 0u);
	EXPECT_EQ(t->posix[1].id, 2);
	EXPECT_EQ(t->posix[1].signal, SIGUSR1);
	EXPECT_EQ(t->posix[1].value, 77u);
	EXPECT_EQ(t->posix[1].clock, CLOCK_MONOTONIC);
	EXPECT_EQ(t->posix[1].interval_ns, 250000000u);
	EXPECT_GT(t->posix[1].remaining_ns, 190000000000u);
}

// A process in seccomp strict mode would be killed by the first call made
// for us: it is refused, and runs on.
TEST(Timers, SeccompStrictRefused)
{
	int go[2], ready[2];
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		close(go[1]);
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
		(void)!write(ready[1], "r", 1);	// write is allowed
		char c;
		long ok = read(go[0], &c, 1) == 1 && c == 'g';
		syscall(SYS_exit, ok ? 42 : 2);	// exit_group is not allowed
	}
	close(go[0]);
	close(ready[1]);
	hetmig::testing::ReapedChild reap{child};
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	usleep(100000);  // into its read
	{
		auto s = Seizure::stop(child);
		if (!s && s.error().code == EPERM)
			GTEST_SKIP() << "ptrace is not permitted here";
		ASSERT_TRUE(s.has_value()) << s.error().describe();
		auto t = capture_timers(child);
		ASSERT_FALSE(t.has_value());
		EXPECT_NE(t.error().describe().find("seccomp strict mode"), std::string::npos)
			<< t.error().describe();
	}
	ASSERT_EQ(write(go[1], "g", 1), 1);
	int status = reap.wait();
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status)) << "status 0x" << std::hex << status;
	EXPECT_EQ(WEXITSTATUS(status), 42);
}

// A filter that kills the process for getitimer, which it never calls: the
// filter is suspended while the calls are made for us, and the process
// runs on under it.
TEST(Timers, SeccompFilterSuspended)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "suspending seccomp needs CAP_SYS_ADMIN";
	int go[2], ready[2];
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		close(go[1]);
		itimerval it = {{5, 0}, {100, 0}};
		setitimer(ITIMER_REAL, &it, nullptr);
		sock_filter code[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getitimer, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		sock_fprog prog = {std::size(code), code};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(3);
		(void)!write(ready[1], "r", 1);
		char c;
		_exit(read(go[0], &c, 1) == 1 && c == 'g' ? 42 : 2);
	}
	close(go[0]);
	close(ready[1]);
	hetmig::testing::ReapedChild reap{child};
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	{
		auto s = Seizure::stop(child);
		ASSERT_TRUE(s.has_value()) << s.error().describe();
		auto t = capture_timers(child);
		ASSERT_TRUE(t.has_value()) << t.error().describe();
		EXPECT_EQ(t->itimers[0].first, 5000000u);
	}
	ASSERT_EQ(write(go[1], "g", 1), 1);
	int status = reap.wait();
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status)) << "status 0x" << std::hex << status;
	EXPECT_EQ(WEXITSTATUS(status), 42);
}

// What a dump captured, made again in a fresh process: the same ids, the
// gap left empty, the times and the slack.
TEST(Timers, RestoredWithTheirIds)
{
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		signal(SIGUSR1, SIG_IGN);
		Timers t;
		t.itimers[0] = {3000000, 100000000};
		t.posix = {{0, CLOCK_REALTIME, 0, 1 /* SIGEV_NONE */, 0, 0, 50000000000},
			   {3, CLOCK_MONOTONIC, SIGUSR1, 0, 77, 250000000, 200000000000}};
		t.slack_ns = 77777;
		if (!restore_timers(t))
			_exit(1);
		itimerspec its;
		itimerval it;
		bool ok = !syscall(SYS_timer_gettime, 3, &its) &&
			  its.it_interval.tv_nsec == 250000000 && its.it_value.tv_sec > 190 &&
			  !syscall(SYS_timer_gettime, 0, &its) && its.it_value.tv_sec > 40 &&
			  syscall(SYS_timer_gettime, 1, &its) && errno == EINVAL &&
			  syscall(SYS_timer_gettime, 2, &its) && errno == EINVAL &&
			  !getitimer(ITIMER_REAL, &it) && it.it_interval.tv_sec == 3 &&
			  prctl(PR_GET_TIMERSLACK) == 77777;
		_exit(ok ? 42 : 2);
	}
	int status = 0;
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 42);
}

// A periodic ITIMER_REAL captured while its SIGALRM was pending has
// nothing left (the kernel starts it again when the signal is taken): it
// is made again a whole interval away, not left disarmed.
TEST(Timers, APeriodicItimerWithItsSignalPendingRestarts)
{
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		signal(SIGALRM, SIG_IGN);
		Timers t;
		t.itimers[0] = {200000, 0};
		if (!restore_timers(t))
			_exit(1);
		itimerval it;
		bool ok = !getitimer(ITIMER_REAL, &it) && it.it_interval.tv_usec == 200000 &&
			  (it.it_value.tv_usec || it.it_value.tv_sec);
		_exit(ok ? 42 : 2);
	}
	int status = 0;
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 42);
}

// PR_GET_CHILD_SUBREAPER, which only the process can ask of itself, asked
// by its stopped main thread (zdtm's child_subreaper lost the flag).
TEST(ChildSubreaper, ReadFromTheStoppedProcess)
{
	for (int set : {1, 0}) {
		int ready[2];
		ASSERT_EQ(pipe(ready), 0);
		pid_t child = fork();
		ASSERT_GE(child, 0);
		if (child == 0) {
			close(ready[0]);
			if (set && prctl(PR_SET_CHILD_SUBREAPER, 1))
				_exit(10);
			(void)!write(ready[1], "r", 1);
			for (;;)
				pause();
		}
		close(ready[1]);
		hetmig::testing::ReapedChild reap{child};
		char c;
		ASSERT_EQ(read(ready[0], &c, 1), 1);
		close(ready[0]);
		auto s = Seizure::stop(child);
		if (!s && s.error().code == EPERM)
			GTEST_SKIP() << "ptrace is not permitted here";
		ASSERT_TRUE(s.has_value()) << s.error().describe();
		auto got = child_subreaper_of(child);
		ASSERT_TRUE(got.has_value()) << got.error().describe();
		EXPECT_EQ(*got, bool(set));
	}
}

} // namespace
} // namespace hetmig

