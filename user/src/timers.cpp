// SPDX-License-Identifier: GPL-2.0
#include "timers.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "inject.h"

namespace hetmig {

namespace {

// The kernel's struct sigevent on x86_64 and arm64.
struct KernelSigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;
	int32_t pad[11];
};
static_assert(sizeof(KernelSigevent) == 64);

constexpr int kSigevSignal = 0, kSigevNone = 1, kSigevThread = 2, kSigevThreadId = 4;

uint64_t ns_of(const timespec &t)
{
	return uint64_t(t.tv_sec) * 1000000000 + uint64_t(t.tv_nsec);
}

timespec timespec_of(uint64_t ns)
{
	return {time_t(ns / 1000000000), long(ns % 1000000000)};
}

uint64_t us_of(const timeval &t)
{
	return uint64_t(t.tv_sec) * 1000000 + uint64_t(t.tv_usec);
}

timeval timeval_of(uint64_t us)
{
	return {time_t(us / 1000000), suseconds_t(us % 1000000)};
}

// No POSIX timer of a restored process may be created past this id: ids
// are handed out in order, so reaching one takes a create and a delete for
// every id below it.
constexpr int32_t kMostTimerId = 1 << 20;

} // namespace

Result<std::vector<PosixTimer>> parse_proc_timers(const std::string &text, pid_t pid,
						  std::span<const uint32_t> tids)
{
	std::vector<PosixTimer> timers;
	std::istringstream in(text);
	auto bad = [&](const std::string &line) {
		return fail(EPROTO, strf("/proc/%d/timers: unexpected line \"%s\"", pid,
					 line.c_str()));
	};
	for (std::string line; std::getline(in, line);) {
		if (line.starts_with("ID: ")) {
			PosixTimer t;
			t.id = std::atoi(line.c_str() + 4);
			timers.push_back(t);
			continue;
		}
		if (timers.empty())
			return bad(line);
		PosixTimer &t = timers.back();
		char kind[16], whom[8];
		int target;
		if (line.starts_with("signal: ")) {
			// "signal: 10/0000000000000000": number and sigev_value.
			const char *slash = std::strchr(line.c_str(), '/');
			t.signal = std::atoi(line.c_str() + 8);
			t.value = slash ? std::strtoull(slash + 1, nullptr, 16) : 0;
		} else if (std::sscanf(line.c_str(), "notify: %15[a-z]/%7[a-z].%d", kind, whom,
				       &target) == 3) {
			std::string k = kind;
			t.notify = k == "signal" ? kSigevSignal : k == "none" ? kSigevNone
				 : k == "thread" ? kSigevThread : -1;
			if (t.notify < 0)
				return bad(line);
			if (std::string(whom) == "tid") {
				// SIGEV_THREAD_ID, or glibc's SIGEV_THREAD, which
				// signals a helper thread of its own: made again
				// for that thread, by its place among the threads.
				auto at = std::find(tids.begin(), tids.end(), uint32_t(target));
				if (target != pid && at == tids.end())
					return fail(EOPNOTSUPP, strf(
						"POSIX timer %d notifies thread %d alone "
						"(SIGEV_THREAD_ID), which is not a thread "
						"of process %d", t.id, target, pid));
				t.thread = target == pid ? 0 : uint32_t(at - tids.begin());
				t.notify |= kSigevThreadId;
			}
		} else if (line.starts_with("ClockID: ")) {
			t.clock = std::atoi(line.c_str() + 9);
			// A negative clock is a CPU-time clock of a given
			// process or thread (clock_getcpuclockid).
			if (t.clock < 0)
				return fail(EOPNOTSUPP, strf(
					"POSIX timer %d counts the CPU time of a given process "
					"or thread (clock %d): it cannot be carried", t.id,
					t.clock));
		} else {
			return bad(line);
		}
	}
	std::sort(timers.begin(), timers.end(),
		  [](const PosixTimer &a, const PosixTimer &b) { return a.id < b.id; });
	for (const PosixTimer &t : timers)
		if (t.id < 0 || t.id > kMostTimerId)
			return fail(EOPNOTSUPP, strf("POSIX timer %d: ids above %d cannot be "
						     "made again", t.id, kMostTimerId));
	return timers;
}

Result<Timers> capture_timers(pid_t pid, std::span<const uint32_t> tids)
{
	Timers timers;
	const std::string path = "/proc/" + std::to_string(pid) + "/timers";
	std::ifstream file(path);
	if (!file)
		return fail(errno ? errno : ENOENT,
			    strf("cannot list the POSIX timers of process %d (%s needs a "
				 "kernel with CONFIG_CHECKPOINT_RESTORE)", pid, path.c_str()));
	std::stringstream text;
	text << file.rdbuf();
	auto posix = parse_proc_timers(text.str(), pid, tids);
	if (!posix)
		return std::unexpected(posix.error());
	timers.posix = std::move(*posix);

	// A seccomp filter may kill the process for a call it would never
	// make itself: it is suspended while ours are made, which needs
	// CAP_SYS_ADMIN, or the dump is refused before anything is lost.
	std::string seccomp;
	std::ifstream status("/proc/" + std::to_string(pid) + "/status");
	for (std::string line; std::getline(status, line);)
		if (line.starts_with("Seccomp:"))
			std::istringstream(line.substr(8)) >> seccomp;
	if (seccomp == "1")
		return fail(EOPNOTSUPP, strf("process %d runs in seccomp strict mode: its "
					     "timers cannot be read", pid));
	bool suspended = seccomp == "2";
	if (suspended && ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_SUSPEND_SECCOMP))
		return fail(errno, strf("process %d has a seccomp filter, which might kill it "
					"for the system calls that read its timers; suspending "
					"it (PTRACE_O_SUSPEND_SECCOMP) needs CAP_SYS_ADMIN", pid));
	struct Resume {
		pid_t pid;
		bool on;
		~Resume() { if (on) ptrace(PTRACE_SETOPTIONS, pid, 0, 0); }
	} resume{pid, suspended};  // the Seizure's options: none

	auto calls = RemoteSyscalls::in(pid, pid);
	if (!calls)
		return std::unexpected(calls.error());
	auto failed = [&](const char *what, long ret) {
		return fail(int(-ret), strf("%s in process %d", what, pid));
	};
	for (int which = 0; which < 3; which++) {
		itimerval it{};
		auto r = calls->call(SYS_getitimer, {uint64_t(which)}, 1,
				     {reinterpret_cast<uint8_t *>(&it), sizeof(it)});
		if (!r)
			return std::unexpected(r.error());
		if (*r < 0)
			return failed("getitimer", *r);
		timers.itimers[size_t(which)] = {us_of(it.it_interval), us_of(it.it_value)};
	}
	for (PosixTimer &t : timers.posix) {
		itimerspec its{};
		auto r = calls->call(SYS_timer_gettime, {uint64_t(t.id)}, 1,
				     {reinterpret_cast<uint8_t *>(&its), sizeof(its)});
		if (!r)
			return std::unexpected(r.error());
		if (*r < 0)
			return failed(strf("timer_gettime of POSIX timer %d", t.id).c_str(), *r);
		t.interval_ns = ns_of(its.it_interval);
		t.remaining_ns = ns_of(its.it_value);
	}
	auto slack = calls->call(SYS_prctl, {PR_GET_TIMERSLACK});
	if (!slack)
		return std::unexpected(slack.error());
	if (*slack < 0)
		return failed("prctl(PR_GET_TIMERSLACK)", *slack);
	timers.slack_ns = uint64_t(*slack);
	return timers;
}

Result<void> restore_timers(const Timers &timers, std::span<const pid_t> tids)
{
	// Ids come from a counter of the process that only grows, deletes
	// or not: every id below a wanted one is created and deleted again.
	for (const PosixTimer &t : timers.posix) {
		KernelSigevent sev{};
		sev.value = t.value;
		sev.signo = t.signal;
		sev.notify = t.notify;
		if (t.notify & kSigevThreadId)
			sev.tid = t.thread && t.thread < tids.size() ? int32_t(tids[t.thread])
								      : int32_t(gettid());
		for (int32_t tries = 0;; tries++) {
			int id = -1;
			if (syscall(SYS_timer_create, t.clock, &sev, &id))
				return fail(errno, strf("creating POSIX timer %d (clock %d, signal %d)",
							t.id, t.clock, t.signal));
			if (id == t.id)
				break;
			syscall(SYS_timer_delete, id);
			if (id > t.id || tries > kMostTimerId)
				return fail(EEXIST, strf("POSIX timer %d: this kernel gave id %d "
							 "instead", t.id, id));
		}
		if (!t.remaining_ns)
			continue;
		itimerspec its = {timespec_of(t.interval_ns), timespec_of(t.remaining_ns)};
		if (syscall(SYS_timer_settime, t.id, 0, &its, nullptr))
			return fail(errno, strf("arming POSIX timer %d", t.id));
	}
	for (int which = 0; which < 3; which++) {
		auto [interval, value] = timers.itimers[size_t(which)];
		// A periodic ITIMER_REAL whose SIGALRM is pending shows nothing
		// left: the kernel starts it again when the signal is taken, and
		// the signal comes along (pending_signals.h). Here nothing would:
		// it restarts a whole interval, as the timerfd's does.
		if (!value)
			value = interval;
		if (!value)
			continue;
		itimerval it = {timeval_of(interval), timeval_of(value)};
		if (setitimer(which, &it, nullptr))
			return fail(errno, strf("setitimer(%d)", which));
	}
	// 0 would mean "the default", which the process already has.
	if (timers.slack_ns && prctl(PR_SET_TIMERSLACK, timers.slack_ns, 0, 0, 0))
		return fail(errno, strf("setting the timer slack to %llu ns",
					(unsigned long long)timers.slack_ns));
	return {};
}

} // namespace hetmig
