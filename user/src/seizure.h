// SPDX-License-Identifier: GPL-2.0
// Stopping every thread of a process with ptrace, the way hetmig.ko wants
// its targets (uapi/linux/hetmig.h): PTRACE_SEIZE, PTRACE_INTERRUPT, wait.
// The threads are let go (PTRACE_DETACH) when the Seizure is destroyed, and
// ptrace lets them go by itself if this process dies.
#pragma once

#include <sys/types.h>
#include <vector>

#include "error.h"

namespace hetmig {

class Seizure {
public:
	// Stops every thread of PID. Threads that appear meanwhile are caught
	// by reading the thread list again until it holds no new one.
	static Result<Seizure> stop(pid_t pid);

	Seizure(Seizure &&other) noexcept
		: pid_(other.pid_), tids_(std::move(other.tids_)) { other.tids_.clear(); }
	Seizure &operator=(Seizure &&) = delete;
	Seizure(const Seizure &) = delete;
	~Seizure() { release(); }

	pid_t pid() const { return pid_; }
	const std::vector<pid_t> &tids() const { return tids_; }

	// Reaps threads of ours that exited (a SIGKILL while stopped); returns
	// true once the whole process is gone.
	bool reap_exited();

	// Lets every thread run on exactly where it stopped.
	void release();

	// Forgets the threads (they were killed and reaped).
	void forget() { tids_.clear(); }

private:
	explicit Seizure(pid_t pid) : pid_(pid) {}
	pid_t pid_;
	std::vector<pid_t> tids_;
};

} // namespace hetmig
