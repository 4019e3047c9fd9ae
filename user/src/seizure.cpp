// SPDX-License-Identifier: GPL-2.0
#include "seizure.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <sys/ptrace.h>
#include <sys/wait.h>

namespace hetmig {

namespace {

Result<std::vector<pid_t>> list_threads(pid_t pid)
{
	std::vector<pid_t> tids;
	std::error_code ec;
	auto dir = std::filesystem::directory_iterator(
		"/proc/" + std::to_string(pid) + "/task", ec);
	if (ec)
		return fail(ESRCH, "process " + std::to_string(pid) + " not found");
	for (const auto &entry : dir)
		tids.push_back(std::stoi(entry.path().filename().string()));
	return tids;
}

Error seize_error(int err, pid_t pid)
{
	std::string what = "cannot stop process " + std::to_string(pid);
	if (err == EPERM)
		what += " (ptrace refused: another user's process, Yama "
			"ptrace_scope, or an LSM; root or CAP_SYS_PTRACE may)";
	return Error{err, what, {}, {}};
}

// Waits until thread TID is in the stop that PTRACE_INTERRUPT asked for.
// A thread that dequeued a signal after PTRACE_SEIZE made it a tracee but
// before PTRACE_INTERRUPT reached it reports a signal-delivery-stop
// instead, and that stop takes the place of the interrupt's: the signal is
// off its queue and held by us, and a detach or a capture there would drop
// it. So it is handed back (delivered as if the thread had not been traced:
// a handler frame, the default action, or a group stop) and the thread is
// interrupted again, until it stops with no signal in our hands.
Result<void> wait_interrupted(pid_t pid, pid_t tid)
{
	for (;;) {
		int status;
		if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status))
			return fail(ESRCH, "process " + std::to_string(pid) +
					   " exited while being stopped");
		if (status >> 16 == PTRACE_EVENT_STOP)
			return {};
		if (ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(status)) != 0 ||
		    ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
			return fail(ESRCH, "process " + std::to_string(pid) +
					   " exited while being stopped");
	}
}

} // namespace

Result<Seizure> Seizure::stop(pid_t pid)
{
	Seizure s(pid);
	for (bool grew = true; grew;) {
		auto tids = list_threads(pid);
		if (!tids)
			return std::unexpected(tids.error());
		// Interrupt every new thread first and wait after, so that the
		// threads stop in parallel rather than one after another.
		std::vector<pid_t> fresh;
		for (pid_t tid : *tids) {
			if (std::find(s.tids_.begin(), s.tids_.end(), tid) != s.tids_.end())
				continue;
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
				if (errno == ESRCH)
					continue;  // exited meanwhile
				return std::unexpected(seize_error(errno, pid));
			}
			s.tids_.push_back(tid);
			fresh.push_back(tid);
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
				return std::unexpected(seize_error(errno, pid));
		}
		for (pid_t tid : fresh)
			if (auto r = wait_interrupted(pid, tid); !r)
				return std::unexpected(r.error());
		grew = !fresh.empty();
	}
	if (s.tids_.empty())
		return fail(ESRCH, "process " + std::to_string(pid) + " not found");
	return s;
}

bool Seizure::reap_exited()
{
	int status;
	pid_t tid;
	bool leader_gone = false;
	while ((tid = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
		if (!WIFEXITED(status) && !WIFSIGNALED(status))
			continue;
		std::erase(tids_, tid);
		leader_gone |= tid == pid_;
	}
	return leader_gone || tids_.empty();
}

void Seizure::release()
{
	for (pid_t tid : tids_)
		ptrace(PTRACE_DETACH, tid, 0, 0);
	tids_.clear();
}

} // namespace hetmig
